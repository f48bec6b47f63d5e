"""The end of a reply: the ``Done`` event (scored, its code checked) and the
:class:`~hybrid_tui.store.Outcome` the learner records for it, including replies that failed
or were cancelled half-way."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hybrid_tui.backends.base import StreamStats
from hybrid_tui.backends.transport import EMPTY_REPLY
from hybrid_tui.events import Done
from hybrid_tui.router.attempt import Chain, Reply
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.score import score_reply
from hybrid_tui.store import Outcome


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one reply ended, as far as its verdict goes: scored (``confidence``), sent on to
    the strong tier (``escalated``), failed by its server, closed by the user, or with code
    that did not pass its check."""

    confidence: float | None = None
    escalated: bool = False
    failed: bool = False
    cancelled: bool = False
    code_check: str | None = None


FAILED = Verdict(failed=True)
CANCELLED = Verdict(cancelled=True)

#: a server-reported load time at least this long was a cold load (a model already in
#: memory reports a few milliseconds of scheduling)
COLD_LOAD_MS = 500.0


@dataclass(frozen=True, slots=True)
class Finished:
    """A ``Done`` event and the verdict of its code check ("ok", "failed" or None)."""

    done: Done
    code_check: str | None


def finish(
    cls: Classification,
    prompt: str,
    reply: Reply,
    *,
    escalated: bool,
    scoring: bool,
    chain: Chain | None = None,
    cold: bool = False,
) -> Finished:
    """The ``Done`` event for ``reply`` (joined to ``chain``'s text after a failover).

    Only the answer is scored: reasoning never reaches ``reply.parts``. ``cold``: the
    backend did not have the model in memory, for a server that reports no load time."""
    stats = reply.stats
    ttft = stats.ttft_ms if stats else None
    rate = stats.tokens_per_s if stats else None
    tokens = stats.tokens if stats else len(reply.parts)
    total_ms = stats.total_ms if stats else (time.perf_counter() - reply.started) * 1000
    warnings = stats.warnings if stats else ()
    text = reply.text
    if chain is not None and chain.parts:  # a failover: one reply from two backends
        text = chain.text + text
        ttft = chain.ttft_ms
        tokens += chain.tokens
        if chain.started is not None:
            total_ms = (time.perf_counter() - chain.started) * 1000
        # a continuation may rightly add nothing: that is no sign of a context overflow
        warnings = tuple(w for w in warnings if w != EMPTY_REPLY)
    confidence: float | None = None
    notes: tuple[str, ...] = ()
    verdict: str | None = None
    if scoring:
        scored = score_reply(
            text, ttft_ms=ttft, tokens_per_s=rate, task_type=cls.task_type, prompt=prompt
        )
        confidence, notes, verdict = scored.confidence, scored.notes, scored.code.verdict
    done = Done(
        backend=reply.backend,
        model=(stats.model if stats and stats.model else reply.model),
        ttft_ms=ttft,
        tokens=tokens,
        tokens_per_s=rate,
        confidence=confidence,
        escalated=escalated,
        total_ms=total_ms,
        text=text,
        task_type=cls.task_type,
        complexity=cls.complexity,
        finish_reason=stats.finish_reason if stats else None,
        confidence_notes=notes,
        warnings=warnings,
        failover_from=chain.stopped if chain is not None and chain.parts else None,
        fallback_from=chain.fallback_from if chain is not None else None,
        **_figures(stats, cold),
    )
    return Finished(done, verdict)


def _figures(stats: StreamStats | None, cold: bool) -> dict[str, Any]:
    """``Done``'s reasoning and server figures from the stream's stats."""
    if stats is None:
        return {"cold_load": cold}
    load = stats.server_load_ms
    return {
        "thinking_ttft_ms": stats.thinking_ttft_ms,
        "thinking_ms": stats.thinking_ms,
        "thinking_tokens": stats.thinking_tokens,
        "server_tokens_per_s": stats.server_tokens_per_s,
        "server_prompt_ms": stats.server_prompt_eval_ms,
        "server_prompt_tokens": stats.server_prompt_tokens,
        "server_load_ms": load,
        "cold_load": load >= COLD_LOAD_MS if load is not None else cold,
    }


def outcome_of(
    cls: Classification, reply: Reply, verdict: Verdict, *, decision_id: str,
    forced: bool = False, cold: bool = False,
) -> Outcome:
    """The :class:`Outcome` the learner records for ``reply``."""
    stats = reply.stats
    tps = None
    if stats is not None:
        # the server's own decode speed (Ollama eval_count/eval_duration) beats the client's
        tps = stats.server_tokens_per_s or stats.tokens_per_s
    return Outcome(
        task_type=cls.task_type,
        complexity=cls.complexity,
        backend=reply.backend,
        model=reply.model,
        confidence=verdict.confidence,
        escalated=verdict.escalated,
        failed=verdict.failed,
        cancelled=verdict.cancelled,
        forced=forced,
        code_check=verdict.code_check,
        ttft_ms=stats.ttft_ms if stats else reply.ttft_ms,
        tokens_per_s=tps,
        tokens=stats.tokens if stats else (len(reply.parts) or None),
        total_ms=stats.total_ms if stats else None,
        load_ms=stats.server_load_ms if stats else None,
        cold=cold,
        decision_id=decision_id,
    )
