"""The signals behind one routing decision, as data.

What the classifier saw, every candidate backend as the decision saw it (availability, loaded
model, predicted time, learned estimate), the learned comparison of tiers, the rule that
decided, and the context window the chat history was fitted to. Built in order by
:func:`~hybrid_tui.router.decide.decide` (classification, candidates, rule),
:func:`~hybrid_tui.router.policy.choose` (predictions, estimates, tiers) and the router
service (the context window); read by ``ui/explain.py``.

:meth:`DecisionSignals.to_dict` is the stable JSON shape (``ask --json``, the routing log,
saved sessions); :meth:`DecisionSignals.from_dict` reads such a dict back, keeping what it
recognises (a record from an older or newer version may lack or add keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hybrid_tui.router.bandit import Estimate
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.predict import Prediction


@dataclass(frozen=True, slots=True)
class CandidateSignal:
    """One enabled backend as the decision saw it."""

    name: str
    tier: str = ""
    #: up | down | unknown | degraded (from the health monitor)
    status: str = "unknown"
    model: str | None = None
    #: the model is in memory (True), known not to be (False), or unknown
    loaded: bool | None = None
    #: skipped after ``failures`` failed requests in a row
    cooling: bool = False
    failures: int = 0
    predicted: Prediction | None = None
    #: this backend's own posterior in the prompt's bucket (None: learning is off)
    learned: Estimate | None = None

    @property
    def availability(self) -> str:
        """The status in words: ``up``, or ``cooling down (3 failures)``."""
        return f"cooling down ({self.failures} failures)" if self.cooling else self.status


@dataclass(frozen=True, slots=True)
class TierSignal:
    """One tier in the learned comparison (Thompson sampling)."""

    tier: str
    #: the tier's member that would answer (the fastest predicted)
    backend: str
    mean: float
    samples: int
    #: the Thompson draw that took part (None: no exploration)
    draw: float | None
    #: success probability given up for the tier's predicted time
    time_cost: float
    value: float


@dataclass(frozen=True, slots=True)
class ContextSignal:
    """The context window the chat history was fitted to, and what was left out."""

    context_length: int
    #: configured | loaded | trained | default (see ``context_window.Window``)
    source: str
    budget: int
    estimated_tokens: int
    turns_kept: int
    turns_dropped: int


def _unclassified() -> Classification:
    return Classification(task_type="general", complexity="simple")


@dataclass(frozen=True, slots=True)
class DecisionSignals:
    """Everything a decision was based on (see the module docstring)."""

    classification: Classification = field(default_factory=_unclassified)
    #: which rule decided: forced, forced-tier, default-provider, only-up, task-types,
    #: strong-tier, fast-tier, medium-default, learned, explore, slowdown
    rule: str = ""
    forced: bool = False
    #: every enabled backend, in config order
    candidates: tuple[CandidateSignal, ...] = ()
    #: the learned comparison of tiers, when one was made
    tiers: tuple[TierSignal, ...] = ()
    #: why the learned comparison was not made yet ("2 of 3 outcomes needed ..."), or why
    #: it did not explore ("not exploring: the fast tier has a 3% chance ...")
    learning: str = ""
    #: a caveat on the predicted times ("not every backend timed yet ...")
    speed: str = ""
    #: a configured default provider that names no enabled backend
    default_provider_ignored: str = ""
    #: no backend was up: the pick is tried anyway
    none_up: bool = False
    #: set by the service once the model is known
    context: ContextSignal | None = None
    #: what the user set instead of the classifier's verdict (``ask --task-type``,
    #: ``--complexity``; "" when not set)
    override_task_type: str = ""
    override_complexity: str = ""

    @property
    def words(self) -> tuple[str, ...]:
        """The words that set the task type."""
        cls = self.classification
        return cls.matches.get(cls.task_type, ())

    def candidate(self, name: str) -> CandidateSignal | None:
        return next((c for c in self.candidates if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape: one key per signal, per-candidate signals keyed by name."""
        cls = self.classification
        out: dict[str, Any] = {
            "task_type": cls.task_type,
            "complexity": cls.complexity,
            "matches": {k: list(v) for k, v in cls.matches.items()},
            "type_scores": dict(cls.type_scores),
            "complexity_score": cls.complexity_score,
            "contributions": dict(cls.contributions),
            "multi_file": cls.multi_file,
            "complexity_words": list(cls.complexity_words),
            "simplicity_words": list(cls.simplicity_words),
            "words": list(self.words),
            "rule": self.rule,
            "forced": self.forced,
            "candidates": {c.name: c.status for c in self.candidates},
            "tiers_of": {c.name: c.tier for c in self.candidates},
            "availability": {c.name: c.availability for c in self.candidates},
            "loaded": {c.name: {"model": c.model, "loaded": c.loaded} for c in self.candidates},
        }
        cooling = {c.name: c.failures for c in self.candidates if c.cooling}
        if cooling:
            out["cooling"] = cooling
        predicted = {c.name: c.predicted.as_signal() for c in self.candidates if c.predicted}
        if predicted:
            out["predicted"] = predicted
        learned = {c.name: c.learned.as_signal() for c in self.candidates if c.learned}
        if learned:
            out["bandit"] = learned
        if self.tiers:
            out["tiers"] = {t.tier: {"backend": t.backend, "mean": t.mean, "samples": t.samples,
                                     "draw": t.draw, "time_cost": t.time_cost, "value": t.value}
                            for t in self.tiers}
        for key in ("learning", "speed", "default_provider_ignored"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.none_up:
            out["none_up"] = True
        if self.override_task_type or self.override_complexity:
            out["classifier_override"] = {"task_type": self.override_task_type or None,
                                          "complexity": self.override_complexity or None}
        if self.context is not None:
            c = self.context
            out["context"] = {
                "context_length": c.context_length, "source": c.source, "budget": c.budget,
                "estimated_tokens": c.estimated_tokens, "turns_kept": c.turns_kept,
                "turns_dropped": c.turns_dropped,
            }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DecisionSignals:
        """Signals from :meth:`to_dict`'s shape; what is missing or of the wrong type is
        left at its default (a record written by another version)."""
        d = _map(data)
        names = list(_map(d.get("candidates")))
        for key in ("availability", "loaded", "predicted", "bandit"):
            names += [n for n in _map(d.get(key)) if n not in names]
        tiers_of, statuses = _map(d.get("tiers_of")), _map(d.get("candidates"))
        loaded, cooling = _map(d.get("loaded")), _map(d.get("cooling"))
        predicted, learned = _map(d.get("predicted")), _map(d.get("bandit"))
        candidates = tuple(
            CandidateSignal(
                name=str(n), tier=_str(tiers_of.get(n)), status=_str(statuses.get(n), "unknown"),
                model=_str(_map(loaded.get(n)).get("model")) or None,
                loaded=_bool(_map(loaded.get(n)).get("loaded")),
                cooling=n in cooling, failures=_int(cooling.get(n)),
                predicted=_prediction(predicted.get(n)), learned=_estimate(learned.get(n)),
            )
            for n in names
        )
        tiers = tuple(
            TierSignal(str(t), _str(v.get("backend")), _num(v.get("mean")),
                       _int(v.get("samples")), _opt_num(v.get("draw")),
                       _num(v.get("time_cost")), _num(v.get("value")))
            for t, v in ((t, _map(v)) for t, v in _map(d.get("tiers")).items())
        )
        ctx = _map(d.get("context"))
        context = ContextSignal(
            _int(ctx.get("context_length")), _str(ctx.get("source")), _int(ctx.get("budget")),
            _int(ctx.get("estimated_tokens")), _int(ctx.get("turns_kept")),
            _int(ctx.get("turns_dropped")),
        ) if ctx else None
        classification = Classification(
            task_type=_str(d.get("task_type"), "general"),
            complexity=_str(d.get("complexity"), "simple"),
            matches={str(k): tuple(str(w) for w in v) for k, v in _map(d.get("matches")).items()
                     if isinstance(v, list | tuple)},
            type_scores={str(k): _num(v) for k, v in _map(d.get("type_scores")).items()},
            complexity_score=_num(d.get("complexity_score")),
            contributions={str(k): _num(v) for k, v in _map(d.get("contributions")).items()},
            multi_file=bool(d.get("multi_file")),
            complexity_words=_words(d.get("complexity_words")),
            simplicity_words=_words(d.get("simplicity_words")),
        )
        override = _map(d.get("classifier_override"))
        return cls(
            override_task_type=_str(override.get("task_type")),
            override_complexity=_str(override.get("complexity")),
            classification=classification, rule=_str(d.get("rule")),
            forced=bool(d.get("forced")), candidates=candidates, tiers=tiers,
            learning=_str(d.get("learning")), speed=_str(d.get("speed")),
            default_provider_ignored=_str(d.get("default_provider_ignored")),
            none_up=bool(d.get("none_up")), context=context,
        )  # fmt: skip


def _prediction(value: Any) -> Prediction | None:
    p = _map(value)
    if not p:
        return None
    return Prediction(
        queue_s=_num(p.get("queue_s")), load_s=_num(p.get("load_s")),
        ttft_s=_num(p.get("ttft_s")), decode_s=_num(p.get("decode_s")),
        ahead=_int(p.get("ahead")), measured=bool(p.get("measured")),
        tokens=_int(p.get("tokens")), tokens_per_s=_num(p.get("tokens_per_s")),
    )  # fmt: skip


def _estimate(value: Any) -> Estimate | None:
    e = _map(value)
    if not e:
        return None
    return Estimate(mean=_num(e.get("mean")), samples=_int(e.get("samples")),
                    successes=_int(e.get("successes")), alpha=0.0, beta=0.0,
                    draw=_opt_num(e.get("draw")))


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _num(value: Any) -> float:
    return _opt_num(value) or 0.0


def _opt_num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _words(value: Any) -> tuple[str, ...]:
    return tuple(str(w) for w in value) if isinstance(value, list | tuple) else ()
