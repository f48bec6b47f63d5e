"""A routing decision's signals (:class:`~hybrid_tui.router.signals.DecisionSignals`) turned
into sections a person reads: the task type and the words that set it, the complexity score
and what it is made of, one row per candidate backend (availability, loaded model, predicted
queue / load / first token / total time, the learned estimate), the learned comparison of
tiers, and the router's notes. Values come back as plain strings (the screen sanitises them
and never parses them as markup).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hybrid_tui.router.signals import CandidateSignal, DecisionSignals
from hybrid_tui.units import fmt_seconds

Rows = list[tuple[str, str]]

COLUMNS = ("backend", "status", "loaded", "queue", "ttft", "total", "learned")


@dataclass(slots=True)
class Explanation:
    """The sections of one decision, each a list of (label, value) rows, and the table."""

    summary: Rows = field(default_factory=list)
    task: Rows = field(default_factory=list)
    complexity: Rows = field(default_factory=list)
    #: one dict per candidate backend, keyed by :data:`COLUMNS` (missing -> "–")
    candidates: list[dict[str, str]] = field(default_factory=list)
    #: the learned comparison of tiers (Thompson sampling), when the router made one
    tiers: Rows = field(default_factory=list)
    other: Rows = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The table's columns that have a value in at least one row (backend always)."""
        used = [c for c in COLUMNS if any(row.get(c, "–") != "–" for row in self.candidates)]
        return ["backend", *(c for c in used if c != "backend")]


def explain(
    signals: DecisionSignals, *, backend: str = "", forced: bool | None = None,
    reason: str = "", model: str = "", decision_id: str = "",
) -> Explanation:
    """Read ``signals`` into an :class:`Explanation`; ``backend``, ``forced``, ``reason``,
    ``model`` and ``decision_id`` come from the decision itself."""
    out = Explanation()
    out.summary = _summary(signals, backend=backend, model=model, forced=forced,
                           reason=reason, decision_id=decision_id)
    out.task = _task(signals)
    out.complexity = _complexity(signals)
    out.candidates = [_row(c, chosen=backend) for c in signals.candidates]
    out.tiers = [
        (f"{t.tier} → {t.backend}",
         ", ".join(part for part in (
             f"mean {t.mean:.2f}", f"samples {t.samples}",
             f"draw {t.draw:.2f}" if t.draw is not None else "",
             f"time cost {t.time_cost:.2f}", f"value {t.value:.2f}") if part))
        for t in signals.tiers
    ]
    out.other = _other(signals)
    return out


# --------------------------------------------------------------------------- sections


def _summary(sig: DecisionSignals, *, backend: str, model: str, forced: bool | None,
             reason: str, decision_id: str) -> Rows:
    rows: Rows = []
    if backend:
        rows.append(("chosen", f"{backend}  {model}".strip()))
    if reason:
        rows.append(("reason", reason))
    is_forced = sig.forced if forced is None else forced
    rows.append(("forced", "yes, by the user" if is_forced else "no (routed)"))
    if sig.rule:
        rows.append(("rule", sig.rule))
    override = ", ".join(part for part in (sig.override_task_type, sig.override_complexity)
                         if part)
    if override:
        rows.append(("classifier", f"overridden by the user ({override})"))
    if decision_id:
        rows.append(("decision id", decision_id))
    return rows


def _task(sig: DecisionSignals) -> Rows:
    cls = sig.classification
    rows: Rows = [("task type", cls.task_type)]
    words = sig.words
    rows.append(("set by", _words(words) if words else "no keyword matched (the default)"))
    if cls.task_type in cls.type_scores:
        rows.append(("score", f"{cls.type_scores[cls.task_type]:.2f}"))
    others = [t for t in cls.type_scores if t != cls.task_type]
    if others:
        parts = []
        for name in sorted(others, key=lambda t: -cls.type_scores[t]):
            said = _words(cls.matches.get(name, ()))
            parts.append(f"{name} ({cls.type_scores[name]:.2f})" + (f": {said}" if said else ""))
        rows.append(("also matched", "; ".join(parts)))
    return rows


def _complexity(sig: DecisionSignals) -> Rows:
    cls = sig.classification
    rows: Rows = [("complexity", cls.complexity), ("score", f"{cls.complexity_score:.2f}")]
    for name, value in sorted(cls.contributions.items(), key=lambda kv: -abs(kv[1])):
        rows.append((f"  {name}", f"{value:+.2f}"))
    if cls.complexity_words:
        rows.append(("complexity words", _words(cls.complexity_words)))
    if cls.simplicity_words:
        rows.append(("simplicity words", _words(cls.simplicity_words)))
    if cls.multi_file:
        rows.append(("multi-file", "yes"))
    return rows


def _row(c: CandidateSignal, *, chosen: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "–")
    row["backend"] = ("▸ " if c.name == chosen else "  ") + c.name
    row["status"] = c.availability
    if c.loaded is not None:
        row["loaded"] = "loaded" if c.loaded else "cold — will load"
    if c.learned is not None:
        e = c.learned
        row["learned"] = (f"{e.mean:.2f} (prior only)" if e.samples == 0
                          else f"{e.mean:.2f} ({e.successes}/{e.samples} good)")
    p = c.predicted
    if p is None:
        return row
    row["queue"] = (f"{duration(p.queue_s)} ({p.ahead} ahead)" if p.ahead > 0
                    else "none" if p.queue_s == 0 else duration(p.queue_s))
    row["ttft"] = duration(p.ttft_s)
    row["total"] = duration(p.total_s) + ("" if p.measured else " (guess)")
    if p.load_s > 0 and c.loaded is not None:
        row["loaded"] += f" ({duration(p.load_s)})"
    return row


def _other(sig: DecisionSignals) -> Rows:
    rows: Rows = []
    if sig.learning:
        rows.append(("learning", sig.learning))
    if sig.speed:
        rows.append(("speed", sig.speed))
    if sig.default_provider_ignored:
        rows.append(("default provider ignored",
                     f"{sig.default_provider_ignored} (not an enabled backend)"))
    if sig.none_up:
        rows.append(("no backend up", "the pick is tried anyway"))
    if sig.context is not None:
        c = sig.context
        rows.append(("context window",
                     f"{c.context_length:,} tokens ({c.source}); budget {c.budget:,}, "
                     f"sent ~{c.estimated_tokens:,}; {c.turns_kept} earlier turns kept, "
                     f"{c.turns_dropped} left out"))
    return rows


# --------------------------------------------------------------------------- formatting


def duration(seconds: float) -> str:
    """A predicted time for display (the shared rule: ``850 ms``, ``2.40 s``)."""
    return fmt_seconds(seconds)


def _words(words: tuple[str, ...]) -> str:
    return ", ".join(f"“{w}”" for w in words[:12]) + (" …" if len(words) > 12 else "")
