"""Events the router service emits for one submitted prompt, in order.

A plain prompt: ``Decision``, ``Token``*, ``Done`` (a thinking model: ``Thinking`` events
before, and sometimes between, the ``Token`` events; never part of ``Done.text``).
Fallback before the first token: ``Decision``, ``Fallback``, ``Token``*, ``Done``.
Failover mid-reply: ``Decision``, ``Token``*, ``Failover``, ``Token``*, ``Done`` (the whole
text, both parts; ``failover_from`` names the backend that stopped).
Escalation: ``Decision``, ``Token``*, ``Done`` (fast, low confidence), ``Escalation``,
``Token``*, ``Done`` (strong, ``escalated=True``).
Waiting: ``Waiting`` may come before the first ``Token`` of any reply (queued behind our own
concurrency limit, a cold model loading, or a slow first token), once per change of state.
Failure: ... ``Error`` (always last). Every stream ends with ``Done`` or ``Error``.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

from hybrid_tui.generation import ChatSettings
from hybrid_tui.router.signals import DecisionSignals


def new_decision_id() -> str:
    """A short id, unique per decision (it ties a routing-log line to its outcome)."""
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True, slots=True)
class Decision:
    """Which backend answers, and why (``reason`` is a sentence a user can read)."""

    event: ClassVar[str] = "decision"
    backend: str
    model: str
    task_type: str
    complexity: str
    reason: str
    forced: bool = False
    #: the signals behind the decision: the classification, every candidate (availability,
    #: loaded model, predicted time, learned estimate), the learned comparison of tiers, the
    #: rule, and the context window (``event_to_dict`` writes them as a stable dict)
    signals: DecisionSignals = field(default_factory=DecisionSignals)
    #: unique per decision
    id: str = field(default_factory=new_decision_id)
    #: earlier turns of the chat left out so the rest fits the chosen model's context
    #: window (the figures are in ``signals.context``)
    history_dropped: int = 0
    #: what is asked of the chosen backend: its config with the chat's override on top
    settings: ChatSettings | None = None


@dataclass(frozen=True, slots=True)
class Token:
    """Reply text as it arrived (may be several model tokens coalesced)."""

    event: ClassVar[str] = "token"
    text: str
    backend: str = ""


@dataclass(frozen=True, slots=True)
class Thinking:
    """Reasoning text a thinking model streams before (or between) its answer: Ollama's
    ``message.thinking``, ``reasoning_content``/``reasoning``, or ``<think>`` in content.
    Never part of the answer, never sent back in the chat history, never scored."""

    event: ClassVar[str] = "thinking"
    text: str
    backend: str = ""


@dataclass(frozen=True, slots=True)
class Fallback:
    """``from_backend`` failed before its first token; ``to_backend`` answers instead."""

    event: ClassVar[str] = "fallback"
    from_backend: str
    to_backend: str
    model: str
    reason: str


@dataclass(frozen=True, slots=True)
class Failover:
    """``from_backend`` failed after ``tokens_so_far`` tokens; ``to_backend`` continues the
    same reply (it is sent the conversation plus the partial reply as an assistant prefix)."""

    event: ClassVar[str] = "failover"
    from_backend: str
    to_backend: str
    model: str
    tokens_so_far: int
    reason: str
    #: the failure's kind (``hybrid_tui.errors``): stream, truncated, timeout, ...
    error_kind: str = ""


#: the states of :class:`Waiting`
WAIT_STATES = ("queued", "loading model", "waiting for first token")


@dataclass(frozen=True, slots=True)
class Waiting:
    """No text yet, and why: ``state`` is one of :data:`WAIT_STATES`. Sent once when a wait
    starts or its state changes (never per tick); the next ``Token`` ends it.
    ``elapsed_s`` counts from the submission of the prompt."""

    event: ClassVar[str] = "waiting"
    backend: str
    model: str
    state: str
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class Escalation:
    """A fast-tier reply scored under the threshold; the strong tier is asked too."""

    event: ClassVar[str] = "escalation"
    from_backend: str
    to_backend: str
    model: str
    confidence: float
    threshold: float
    reason: str


@dataclass(frozen=True, slots=True)
class Done:
    """One reply finished. ``text`` is the whole reply as received."""

    event: ClassVar[str] = "done"
    backend: str
    model: str
    ttft_ms: float | None
    tokens: int
    tokens_per_s: float | None
    confidence: float | None
    escalated: bool
    total_ms: float
    text: str = ""
    task_type: str = ""
    complexity: str = ""
    finish_reason: str | None = None
    confidence_notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: the backend that failed mid-reply before ``backend`` finished it (see ``Failover``)
    failover_from: str | None = None
    #: the backend that failed before its first token (see ``Fallback``)
    fallback_from: str | None = None
    #: the store row of this reply's outcome (``RouterService.rate`` finds it by this);
    #: None when learning is off or the store could not be written
    reply_id: int | None = None
    #: earlier turns of the chat left out to fit this backend's model's context window
    history_dropped: int = 0
    #: reasoning: request sent to its first text (``ttft_ms`` is the answer's), how long
    #: it went on, and its tokens (0: the model did not think)
    thinking_ttft_ms: float | None = None
    thinking_ms: float | None = None
    thinking_tokens: int = 0
    #: the server's own figures where it reports them (Ollama ``eval_*``/``prompt_eval_*``/
    #: ``load_duration``, llama.cpp ``timings``, OpenAI ``usage``); None when it does not
    server_tokens_per_s: float | None = None
    server_prompt_ms: float | None = None
    server_prompt_tokens: int | None = None
    server_load_ms: float | None = None
    #: the model had to be loaded first (the server's load time says so, or, when it does
    #: not report one, the backend had not got it in memory)
    cold_load: bool = False
    #: what was asked of the backend that answered (see ``Decision.settings``)
    settings: ChatSettings | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """Nothing (more) could be answered. ``partial`` keeps any text that arrived."""

    event: ClassVar[str] = "error"
    message: str
    backend: str | None = None
    kind: str = "error"
    partial: str = ""


Event = Decision | Token | Thinking | Fallback | Failover | Waiting | Escalation | Done | Error


def event_to_dict(ev: Event) -> dict[str, Any]:
    """A JSON-ready dict with the ``event`` key first (a decision's signals in their stable
    shape, :meth:`DecisionSignals.to_dict`)."""
    if isinstance(ev, Decision):
        data = asdict(replace(ev, signals=_NO_SIGNALS))  # the rest as any event's
        return {"event": ev.event, **data, "signals": ev.signals.to_dict()}
    return {"event": ev.event, **asdict(ev)}


_NO_SIGNALS = DecisionSignals()
