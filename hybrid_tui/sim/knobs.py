"""The simulators' knobs and faults: plain mutable dataclasses that tests flip at run time.

Assigning ``knobs.fault`` (or ``knobs.parallel``) notifies the servers that use the knobs,
so a ``refuse`` fault closes the listening socket at once and clearing it reopens the port.
Everything else is read afresh by each request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: every fault kind a server understands
FAULT_KINDS = (
    "refuse",
    "blackhole",
    "status",
    "die",
    "error_line",
    "malformed",
    "stall",
    "no_terminator",
    "split_utf8",
)

#: quirks (protocols.md F). LM Studio: error_string, unknown_model_400, no_jit, ignore_model,
#: keepalive_comments, reasoning_content, reasoning, think_tags, usage_always, crlf,
#: overflow_200, overflow_empty, timings (llama.cpp's ``timings`` in the last chunk). Ollama:
#: thinking (every chat model has the capability). Both: rechunk, echo_api_key (a 401
#: repeats the token it was sent, as a careless proxy does: the client must never show it).
QUIRKS = frozenset(
    {
        "error_string",
        "unknown_model_400",
        "no_jit",
        "ignore_model",
        "keepalive_comments",
        "reasoning_content",
        "reasoning",
        "think_tags",
        "usage_always",
        "crlf",
        "overflow_200",
        "overflow_empty",
        "thinking",
        "timings",
        "rechunk",
        "echo_api_key",
    }
)

#: what a fresh simulator lists; these match config.default_backends() preferences
DEFAULT_MODELS: dict[str, list[str]] = {
    "ollama": ["codellama:34b", "qwen2.5:72b", "llama3.2:latest", "nomic-embed-text:latest"],
    "openai": ["qwen2.5-coder-7b-instruct", "text-embedding-nomic-embed-text-v1.5"],
}

#: requests served at once before others queue (Ollama OLLAMA_NUM_PARALLEL, LM Studio
#: "Max Concurrent Predictions")
DEFAULT_PARALLEL = {"ollama": 1, "openai": 4}


@dataclass
class Fault:
    """One injected failure. At most one is active per server (``SimKnobs.fault``).

    ``after_tokens`` counts reply tokens sent before the fault strikes (die, error_line,
    malformed, stall, no_terminator). For ``no_terminator`` 0 means "after all tokens".
    ``status`` is the HTTP code for ``status``; ``message`` overrides the error text.
    """

    kind: str
    after_tokens: int = 0
    status: int = 500
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(FAULT_KINDS)}")


@dataclass
class SimKnobs:
    """Everything a test may change while a simulator runs.

    ``models``/``loaded``/``parallel`` left as None take the kind's defaults when a
    :class:`~hybrid_tui.sim.server.SimServer` adopts the knobs.
    """

    reply: str | None = None
    reply_tokens: int | None = None
    tokens_per_s: float | None = 60.0
    first_token_delay: float = 0.0
    models: list[str] | None = None
    loaded: list[str] | None = None
    fault: Fault | None = None
    quirks: set[str] = field(default_factory=set)
    version: str = "0.12.3"
    #: requests generating at once; None -> the kind's default (Ollama 1, LM Studio 4)
    parallel: int | None = None
    #: seconds a cold (not loaded) model takes to load before its first token
    load_delay: float = 0.0
    #: the context window a model is loaded with (Ollama /api/ps, LM Studio v0)
    context_length: int = 8192
    #: Ollama OLLAMA_MAX_QUEUE: waiting requests beyond this get 503 at once
    max_queue: int = 512
    #: when set, every request must carry ``Authorization: Bearer <api_key>`` or gets 401
    #: (LM Studio's "require API key" setting; a proxy in front of Ollama)
    api_key: str | None = None
    #: Ollama: the models with the "thinking" capability (they reason before answering
    #: unless ``think`` is false); None: the ones whose names say so (qwen3, deepseek-r1...)
    thinking_models: list[str] | None = None
    _listeners: list[Callable[[str], None]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in ("fault", "parallel"):
            for callback in list(self.__dict__.get("_listeners", ())):
                callback(name)

    def adopt_defaults(self, kind: str) -> None:
        """Fill the fields left as None with ``kind``'s defaults."""
        if self.models is None:
            self.models = list(DEFAULT_MODELS[kind])
        if self.loaded is None:
            chat = [m for m in self.models if not is_embedding(m)]
            self.loaded = chat[:1]

    def effective_parallel(self, kind: str) -> int:
        return max(1, self.parallel if self.parallel is not None else DEFAULT_PARALLEL[kind])


def is_embedding(model: str) -> bool:
    """Embedding models are listed but never chat (names say so in both servers)."""
    return "embed" in model.lower()


def parse_fault(spec: str) -> Fault:
    """``KIND[:N]`` from the command line: N is after_tokens, or the status for ``status``."""
    kind, _, arg = spec.partition(":")
    kind = kind.strip().replace("-", "_")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULT_KINDS)}")
    if not arg:
        return Fault(kind)
    try:
        number = int(arg)
    except ValueError:
        raise ValueError(f"fault {kind}: {arg!r} is not a whole number") from None
    if kind == "status":
        return Fault(kind, status=number)
    return Fault(kind, after_tokens=number)
