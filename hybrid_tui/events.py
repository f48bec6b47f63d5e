"""Events the router service emits for one submitted prompt, in order.

A plain prompt: ``Decision``, ``Token``*, ``Done``.
Fallback before the first token: ``Decision``, ``Fallback``, ``Token``*, ``Done``.
Escalation: ``Decision``, ``Token``*, ``Done`` (fast, low confidence), ``Escalation``,
``Token``*, ``Done`` (strong, ``escalated=True``).
Failure: ... ``Error`` (always last). Every stream ends with ``Done`` or ``Error``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar


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
    #: the signals behind the decision (keywords, scores, availability, history)
    signals: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Token:
    """Reply text as it arrived (may be several model tokens coalesced)."""

    event: ClassVar[str] = "token"
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


@dataclass(frozen=True, slots=True)
class Error:
    """Nothing (more) could be answered. ``partial`` keeps any text that arrived."""

    event: ClassVar[str] = "error"
    message: str
    backend: str | None = None
    kind: str = "error"
    partial: str = ""


Event = Decision | Token | Fallback | Escalation | Done | Error


def event_to_dict(ev: Event) -> dict[str, Any]:
    """A JSON-ready dict with the ``event`` key first."""
    return {"event": ev.event, **asdict(ev)}
