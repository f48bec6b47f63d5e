"""The one small interface every backend kind implements, and the values it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from hybrid_tui.config import BackendConfig

Message = dict[str, str]
"""A chat message: ``{"role": "system"|"user"|"assistant", "content": str}``."""


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model a server lists."""

    name: str
    loaded: bool = False
    #: "llm" or "embedding" (embedding models are never chosen for chat)
    type: str = "llm"
    size: int | None = None
    context_length: int | None = None


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One probe of one backend. ``ok`` False means down; ``error`` says why in one line."""

    ok: bool
    latency_ms: float | None = None
    version: str | None = None
    models: tuple[ModelInfo, ...] = ()
    error: str | None = None
    #: refused | connect-timeout | dns | timeout | http | other, when not ok
    error_kind: str | None = None
    #: the server said which models are loaded (Ollama /api/ps, LM Studio /api/v0), so a
    #: model not marked loaded really is cold
    loaded_known: bool = False

    @property
    def loaded(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models if m.loaded)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Some reply text as it arrived. ``reasoning`` True for thinking/reasoning text."""

    text: str
    reasoning: bool = False


@dataclass(frozen=True, slots=True)
class StreamStats:
    """The end of a successful stream, measured the same way for every kind.

    Client-side figures: ``ttft_ms`` (request sent to the first answer text; reasoning
    does not count, it has ``thinking_ttft_ms``), ``total_ms``,
    ``tokens`` (the server's completion count when given, else the number of text chunks),
    ``tokens_per_s`` (tokens over the time from first to last chunk; None when unknown).
    Server figures are kept as given, None when absent.
    """

    model: str
    ttft_ms: float | None
    total_ms: float
    tokens: int
    tokens_per_s: float | None
    finish_reason: str | None = None
    server_prompt_tokens: int | None = None
    server_completion_tokens: int | None = None
    server_tokens_per_s: float | None = None
    server_load_ms: float | None = None
    #: Ollama's own timings in ms: prompt evaluation (the warm part of the first token)
    #: and generation (``eval_duration``)
    server_prompt_eval_ms: float | None = None
    server_eval_ms: float | None = None
    #: reasoning: request sent to its first text, first text to the answer's start (or to
    #: the last reasoning text), and its tokens (the server's count when given, else chunks)
    thinking_ttft_ms: float | None = None
    thinking_ms: float | None = None
    thinking_tokens: int = 0
    #: lenient-parse notes, e.g. "skipped 1 malformed line"
    warnings: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


StreamItem = TextDelta | StreamStats


class Backend(ABC):
    """One configured server. Stateless apart from config and the shared HTTP client."""

    kind: str = ""

    def __init__(self, config: BackendConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client

    @property
    def name(self) -> str:
        return self.config.name

    @abstractmethod
    async def health(self, timeout: float = 5.0) -> HealthReport:
        """Probe the server, all of it bounded by ``timeout`` seconds. Never raises."""

    @abstractmethod
    async def models(self) -> list[ModelInfo]:
        """Every model the server lists, with loaded state where the server tells it.

        Raises a :class:`~hybrid_tui.errors.BackendError` subclass on failure."""

    async def loaded_models(self) -> list[str]:
        """Names of the models in memory now."""
        return [m.name for m in await self.models() if m.loaded]

    @abstractmethod
    def stream_chat(
        self,
        messages: Sequence[Message],
        model: str,
        options: dict[str, Any] | None = None,
    ) -> AsyncIterator[StreamItem]:
        """Stream a chat reply: ``TextDelta`` items, then exactly one ``StreamStats`` last.

        Waits up to ``config.timeout`` s for the first token; raises a typed
        :class:`~hybrid_tui.errors.BackendError` (with ``partial`` text when some arrived).
        Closing the iterator (or cancelling the task) closes the HTTP stream."""

    def pick_model(
        self, available: Sequence[ModelInfo], *, prefer_loaded: bool = False
    ) -> str | None:
        """The first ``config.models`` entry the server lists (case-insensitive substring),
        preferring a loaded match; else the first listed chat model; None if none.

        ``prefer_loaded``: a loaded model that matches *any* entry beats an unloaded match of
        an earlier one (every listed model is fit for the backend's tier, and a cold load
        costs seconds to minutes); with no entries, the first loaded chat model wins."""
        chat = [m for m in available if m.type != "embedding"]
        if prefer_loaded:
            loaded = [m for m in chat if m.loaded]
            for wanted in self.config.models:
                w = wanted.lower()
                hit = next((m for m in loaded if w in m.name.lower()), None)
                if hit is not None:
                    return hit.name
            if not self.config.models and loaded:
                return loaded[0].name
        for wanted in self.config.models:
            w = wanted.lower()
            matches = [m for m in chat if w in m.name.lower()]
            if matches:
                loaded = [m for m in matches if m.loaded]
                return (loaded or matches)[0].name
        return chat[0].name if chat else None
