"""The fixed rules: which backend answers a classified prompt. A pure function: no I/O, no
clock. (The router applies them through :mod:`hybrid_tui.router.policy`, which refines them
with what it learned, predicted completion times and loaded models; on their own they are the
seed's static matrix, the routing benchmark's ``static`` router.)

The rules, first match wins:

1. a backend forced by the user (even one the health monitor calls down: it is tried and the
   fallback handles a failure), or a forced tier ("fast" / "strong");
2. ``default_provider`` from the config, when that backend is not down (a soft force);
3. only one backend is not down -> it;
4. a backend whose ``task_types`` lists the task type (or "complex" / "multi-file");
5. complex, multi-file, analysis or planning -> the strong tier;
6. simple -> the fast tier;
7. medium -> a default per task type (the fast task types to the fast tier, the rest to the
   strong tier). Where the rules leave a choice, :mod:`hybrid_tui.router.policy` lets what
   was learned decide (the Thompson-sampling bandit replaced the seed's success-ratio rule).

Health "unknown" (not probed yet) and "degraded" count as available; a backend cooling down
after failures in a row does not (the reason then says so: "ollama cooling down (3 failures)
→ lmstudio"). Every choice carries a reason a user can read.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hybrid_tui.config import TIERS
from hybrid_tui.errors import UsageError
from hybrid_tui.router.bandit import Estimate
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.predict import Prediction
from hybrid_tui.router.signals import CandidateSignal, DecisionSignals

#: task types the fast tier serves when nothing else decides
FAST_TASK_TYPES = frozenset({"template", "format", "edit", "boilerplate", "general"})
#: task types that go to the strong tier whatever their complexity
STRONG_TASK_TYPES = frozenset({"analysis", "planning"})


@dataclass(frozen=True, slots=True)
class Candidate:
    """One enabled backend as the decision sees it."""

    name: str
    tier: str
    task_types: tuple[str, ...] = ()
    #: up | down | unknown | degraded (from the health monitor)
    status: str = "unknown"
    model: str | None = None
    #: skipped for a while after ``failures`` failed requests in a row
    cooling: bool = False
    failures: int = 0
    #: ``model`` is in memory (True), known not to be (False: a cold load first), or unknown
    loaded: bool | None = None
    #: our own requests to it now, in flight and waiting (``FifoLimiter``)
    queue: int = 0
    #: requests it serves at once (``max_concurrent``)
    slots: int = 1
    #: seconds each of our requests it is serving now has been running
    busy_s: tuple[float, ...] = ()
    #: the task type of each of our requests to it now: those in service first (in the
    #: order of ``busy_s``), then the waiting ones in line ("" where unknown)
    queued_tasks: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.status != "down" and not self.cooling

    def signal(
        self, predicted: Prediction | None = None, learned: Estimate | None = None
    ) -> CandidateSignal:
        """What the decision's signals say of this backend."""
        return CandidateSignal(self.name, self.tier, self.status, self.model, self.loaded,
                               self.cooling, self.failures, predicted, learned)


@dataclass(frozen=True, slots=True)
class Choice:
    """The backend that answers, the reason in words, and the signals behind it."""

    backend: str
    reason: str
    signals: DecisionSignals = field(default_factory=DecisionSignals)
    #: the user named this backend or tier (no escalation then)
    forced: bool = False
    #: which rule decided: forced, forced-tier, default-provider, only-up, task-types,
    #: strong-tier, fast-tier, medium-default (and from the policy: learned, explore,
    #: slowdown)
    rule: str = ""


def decide(
    classification: Classification,
    candidates: Sequence[Candidate],
    *,
    force: str | None = None,
    default_provider: str = "auto",
) -> Choice:
    """Choose among ``candidates`` (enabled backends, in config order).

    Raises :class:`UsageError` when nothing is enabled or ``force`` names no enabled
    backend or tier.
    """
    if not candidates:
        raise UsageError("no backend is enabled in the configuration")
    by_name = {c.name: c for c in candidates}
    cls = classification
    said = tuple(c.signal() for c in candidates)
    what = f"{cls.complexity} {cls.task_type}"
    cooling = [c for c in candidates if c.cooling]
    ignored, none_up = "", False

    def choose(c: Candidate, reason: str, rule: str, *, forced: bool = False) -> Choice:
        if cooling and not forced:
            reason = _with_cooling(reason, cooling, c, rule)
        signals = DecisionSignals(cls, rule, forced, said, default_provider_ignored=ignored,
                                  none_up=none_up)
        return Choice(c.name, reason, signals, forced=forced, rule=rule)

    if force and force != "auto":
        check_force(force, candidates)
        if force in by_name:
            return choose(by_name[force], f"forced by user ({force})", "forced", forced=True)
        tier = [c for c in candidates if c.tier == force]
        pick = next((c for c in tier if c.available), tier[0])
        reason = f"{force} tier forced by user ({pick.name})"
        return choose(pick, reason, "forced-tier", forced=True)

    available = [c for c in candidates if c.available]
    soft = by_name.get(default_provider) if default_provider != "auto" else None
    if soft is not None and soft.available:
        return choose(soft, f"default provider is {soft.name} (config)", "default-provider")
    if soft is None and default_provider != "auto":
        ignored = default_provider
    if len(available) == 1:
        only = available[0]
        state = "is up" if only.status != "unknown" else "may be up (not probed yet)"
        return choose(only, f"only {only.name} {state}", "only-up")

    pool = available or list(candidates)
    suffix = "" if available else "; no backend is up, trying anyway"
    none_up = not available

    labels = cls.labels
    matching = [c for c in pool if labels.intersection(c.task_types)]
    if matching:
        pick = _prefer_for(cls, matching)
        listed = ", ".join(t for t in pick.task_types if t in labels)
        reason = f"{what} → {pick.name} ({pick.tier} tier, configured for {listed}){suffix}"
        return choose(pick, reason, "task-types")

    if cls.complexity == "complex" or cls.multi_file or cls.task_type in STRONG_TASK_TYPES:
        return _tier_choice(choose, pool, "strong", what, "strong-tier", suffix)
    if cls.complexity == "simple":
        return _tier_choice(choose, pool, "fast", what, "fast-tier", suffix)
    tier = "fast" if cls.task_type in FAST_TASK_TYPES else "strong"
    return _tier_choice(choose, pool, tier, what, "medium-default", suffix)


def _with_cooling(reason: str, cooling: list[Candidate], pick: Candidate, rule: str) -> str:
    """``reason`` saying which backends are skipped while they cool down."""
    note = ", ".join(f"{c.name} cooling down ({_failures(c.failures)})" for c in cooling)
    if rule == "only-up" and not pick.cooling:
        return f"{note} → {pick.name}"
    return f"{reason}; {note}"


def _failures(n: int) -> str:
    return "1 failure" if n == 1 else f"{n} failures"


def check_force(force: str | None, candidates: Sequence[Candidate]) -> None:
    """Raise :class:`UsageError` unless ``force`` is None/"auto", an enabled backend's name,
    or a tier that an enabled backend has."""
    if not force or force == "auto":
        return
    names = [c.name for c in candidates]
    if force in names:
        return
    if force in TIERS:
        if not any(c.tier == force for c in candidates):
            raise UsageError(f"no {force}-tier backend is enabled")
        return
    raise UsageError(_unknown_backend(force, names))


def _prefer_for(cls: Classification, matching: list[Candidate]) -> Candidate:
    """Among backends configured for one of the labels: strong for complex or multi-file
    work, else the one configured for the task type itself; config order breaks ties."""
    if cls.complexity == "complex" or cls.multi_file:
        strong = [c for c in matching if c.tier == "strong"]
        if strong:
            return strong[0]
    direct = [c for c in matching if cls.task_type in c.task_types]
    return (direct or matching)[0]


def _tier_choice(
    choose: Callable[[Candidate, str, str], Choice],
    pool: list[Candidate],
    tier: str,
    what: str,
    rule: str,
    suffix: str,
) -> Choice:
    """The first backend of ``tier`` in ``pool``, else the first of any tier, with a reason."""
    in_tier = [c for c in pool if c.tier == tier]
    if in_tier:
        pick = in_tier[0]
        return choose(pick, f"{what} → {tier} tier ({pick.name}){suffix}", rule)
    pick = pool[0]
    reason = f"{what} → {tier} tier wanted, none available; using {pick.name}{suffix}"
    return choose(pick, reason, rule)


def _unknown_backend(force: str, names: list[str]) -> str:
    close = difflib.get_close_matches(force, [*names, *TIERS], n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    enabled = ", ".join(names)
    return f"unknown or disabled backend {force!r}{hint}; enabled: {enabled}; tiers: fast, strong"
