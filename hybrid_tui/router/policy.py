"""Choose the backend for a prompt: the fixed rules, refined by what the router has learned,
by predicted completion times and by which models are loaded. Pure: no I/O, no clock.

1. :func:`~hybrid_tui.router.decide.decide` applies the fixed rules (forced backend or tier,
   default provider, only one up, config ``task_types``, tier defaults). A forced backend,
   the default provider, or a lone available backend is final.
2. The tier. With learning on and at least :data:`~hybrid_tui.router.bandit.MIN_EVIDENCE`
   outcomes in the prompt's (task type, complexity) bucket, each available tier draws a
   success rate from its Beta posterior (the tier's members pooled; the fixed rules' tier
   starts at a favoured prior) and pays ``slowdown_cost`` per doubling of its predicted time
   over the fastest tier's (only once every compared backend has been timed); the highest
   value wins. A tier is drawn for (explored) only while it has at least
   :data:`EXPLORE_CHANCE` of being worth more than the tier believed best; otherwise the
   posterior means decide. Before that evidence exists, the fixed rules' tier stands.
3. A medium prompt headed for the strong tier goes to the fast tier when the strong tier's
   predicted time is more than ``max_slowdown`` times the fast tier's (both measured).
4. The member: among the available backends of the tier, the one with the lowest predicted
   completion time (queue, cold load, first token, generation); the fixed rules' pick, then
   config order, break ties.

Every choice carries typed ``signals`` (:class:`~hybrid_tui.router.signals.DecisionSignals`)
and a reason in words. Without a random generator the choice is greedy (posterior means, no
exploration).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from hybrid_tui.router.bandit import (
    CODE_TASK_TYPES,
    MIN_EVIDENCE,
    Bandit,
    Estimate,
    PassRate,
    code_gaps,
    prior_mean,
)
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.decide import Candidate, Choice, _with_cooling, decide
from hybrid_tui.router.predict import Prediction, SpeedModel
from hybrid_tui.router.signals import DecisionSignals, TierSignal

#: rules of :func:`decide` whose choice is final
FINAL_RULES = frozenset({"forced", "default-provider", "only-up"})
#: seconds added to both sides before comparing times: sub-second gaps hardly matter
TIME_FLOOR_S = 1.0
#: a tier is explored only while it has at least this chance of being worth more than the
#: one believed best: a draw from a tier that is almost surely worse costs a reply and
#: hardly changes what is believed
EXPLORE_CHANCE = 0.1

_NO_SPEEDS = SpeedModel()


@dataclass(frozen=True, slots=True)
class Settings:
    """The routing knobs the policy reads (from ``RoutingConfig``)."""

    default_provider: str = "auto"
    max_slowdown: float = 4.0
    slowdown_cost: float = 0.1


def priors(
    cls: Classification, candidates: Sequence[Candidate], favoured_tier: str, bandit: Bandit
) -> dict[str, float]:
    """Every candidate's prior success rate for this prompt's bucket
    (:func:`~hybrid_tui.router.bandit.prior_mean`: the fixed rules' tier, the complexity,
    and for code the HumanEval pass rates of the candidates' models)."""
    gaps: dict[str, float] = {}
    if cls.task_type in CODE_TASK_TYPES:
        rates: dict[str, PassRate] = {}
        for c in candidates:
            rate = bandit.pass_rate(c.name, c.model)
            if rate is not None:
                rates[c.name] = rate
        gaps = code_gaps(rates)
    return {c.name: prior_mean(c.tier, favoured_tier, cls.complexity, gaps.get(c.name, 0.0))
            for c in candidates}


def time_cost(seconds: float, fastest: float, per_doubling: float) -> float:
    """What waiting ``seconds`` instead of ``fastest`` costs in success probability."""
    if per_doubling <= 0:
        return 0.0
    return per_doubling * math.log2((seconds + TIME_FLOOR_S) / (fastest + TIME_FLOOR_S))


def predictions(
    cls: Classification, candidates: Sequence[Candidate], speeds: SpeedModel | None
) -> dict[str, Prediction]:
    """Every candidate's predicted completion time for this prompt."""
    model = speeds or _NO_SPEEDS
    return {
        c.name: model.predict(
            c.name, c.tier, cls.task_type, ahead=c.queue, slots=c.slots,
            cold=c.loaded is False, busy_s=c.busy_s, queued_tasks=c.queued_tasks,
        )
        for c in candidates
    }


def choose(
    cls: Classification,
    candidates: Sequence[Candidate],
    *,
    force: str | None = None,
    settings: Settings | None = None,
    bandit: Bandit | None = None,
    speeds: SpeedModel | None = None,
    rng: random.Random | None = None,
) -> Choice:
    """The backend for a classified prompt (see the module docstring).

    ``bandit`` None means learning is off; ``rng`` None means no exploration. Raises
    :class:`~hybrid_tui.errors.UsageError` like :func:`decide`.
    """
    settings = settings or Settings()
    by_name = {c.name: c for c in candidates}
    # 1. the fixed rules
    static = decide(cls, candidates, force=force, default_provider=settings.default_provider)
    static_tier = by_name[static.backend].tier
    # 2. every candidate's predicted time and learned estimate, into the signals
    bucket = (cls.task_type, cls.complexity)
    predicted = predictions(cls, candidates, speeds)
    prior = priors(cls, candidates, static_tier, bandit) if bandit is not None else {}
    said = tuple(
        c.signal(predicted[c.name],
                 bandit.estimate(bucket, (c.name,), prior[c.name]) if bandit else None)
        for c in candidates
    )
    learned = _Learned(None)

    def done(choice: Choice) -> Choice:
        signals = DecisionSignals(
            cls, choice.rule, choice.forced, said, learned.tiers, learned.learning,
            learned.speed, static.signals.default_provider_ignored, static.signals.none_up,
        )
        return Choice(choice.backend, choice.reason, signals, choice.forced, choice.rule)

    # 3. filters: a final rule, nothing available, or a forced tier (its fastest member)
    available = [c for c in candidates if c.available]
    if static.rule in FINAL_RULES or not available:
        return done(static)
    if static.rule == "forced-tier":
        tier_members = [c for c in available if c.tier == force]
        if len(tier_members) < 2:
            return done(static)
        pick = _fastest(tier_members, predicted, static.backend)
        reason = _member_reason(static.reason, pick, by_name[static.backend], predicted)
        return done(replace(static, backend=pick.name, reason=reason))

    # 4. the tier: the fixed rules', or what was learned, or fast when strong is too slow
    what = f"{cls.complexity} {cls.task_type}"
    tiers = list(dict.fromkeys(c.tier for c in available))
    members = {t: _fastest([c for c in available if c.tier == t], predicted, static.backend)
               for t in tiers}
    tier, rule, reason = static_tier if static_tier in members else tiers[0], static.rule, ""
    if bandit is not None and len(tiers) > 1:
        learned = _learned_tier(bucket, what, members, available, predicted, bandit, rng,
                                static_tier, settings.slowdown_cost, prior)
        if learned.tier is not None:
            tier = learned.tier
            if tier != static_tier:
                rule, reason = learned.rule, learned.reason
    if cls.complexity == "medium" and tier == "strong" and "fast" in members:
        slow = _too_slow(members, predicted, settings.max_slowdown)
        if slow is not None:
            tier, rule = "fast", "slowdown"
            reason = f"{what}: {slow} → {members['fast'].name} (fast tier)"

    # 5. the pick: the tier's fastest member
    pick = members[tier]
    if not reason:
        if pick.name == static.backend:
            return done(static)
        base = by_name[static.backend]
        if base.tier == tier:
            reason = _member_reason(static.reason, pick, base, predicted)
        else:  # the fixed rules' backend is not available in its tier any more
            reason = f"{what} → {tier} tier ({pick.name})"
    cooling = [c for c in candidates if c.cooling]
    if cooling:
        reason = _with_cooling(reason, cooling, pick, rule)
    return done(Choice(pick.name, reason, forced=static.forced, rule=rule))


@dataclass(frozen=True, slots=True)
class _Learned:
    """The learned comparison of tiers: the tier it favours (None: not enough evidence),
    the rule and reason when that overrules the fixed rules, and what goes in the signals."""

    tier: str | None
    rule: str = ""
    reason: str = ""
    tiers: tuple[TierSignal, ...] = ()
    learning: str = ""
    speed: str = ""


def _learned_tier(
    bucket: tuple[str, str],
    what: str,
    members: dict[str, Candidate],
    available: list[Candidate],
    predicted: dict[str, Prediction],
    bandit: Bandit,
    rng: random.Random | None,
    static_tier: str,
    per_doubling: float,
    prior: dict[str, float],
) -> _Learned:
    """The tier by Thompson sampling over pooled tier posteriors, minus the time cost."""
    tiers = list(members)
    names = {t: tuple(c.name for c in available if c.tier == t) for t in tiers}
    evidence = bandit.evidence(bucket, [n for group in names.values() for n in group])
    if evidence < MIN_EVIDENCE:
        return _Learned(None, learning=f"{evidence} of {MIN_EVIDENCE} outcomes needed before "
                                       "it decides")
    estimates: dict[str, Estimate] = {
        t: bandit.estimate(bucket, names[t], prior[members[t].name]) for t in tiers
    }
    times = {t: predicted[members[t].name].total_s for t in tiers}
    timed = all(predicted[members[t].name].measured for t in tiers)
    fastest = min(times.values())
    costs = {t: time_cost(times[t], fastest, per_doubling) if timed else 0.0 for t in tiers}

    def value(t: str, *, sampled: bool) -> float:
        e = estimates[t]
        return (e.draw if sampled and e.draw is not None else e.mean) - costs[t]

    believed = max(
        tiers, key=lambda t: (value(t, sampled=False), t == static_tier, -tiers.index(t))
    )
    note = ""
    if rng is not None:
        rival, chance = "", -1.0
        for t in tiers:
            if t != believed:
                c = _chance_better(estimates[t], estimates[believed],
                                   costs[believed] - costs[t])
                if c > chance:
                    rival, chance = t, c
        if chance >= EXPLORE_CHANCE:
            estimates = {t: e.sampled(rng) for t, e in estimates.items()}
        else:
            note = (f"not exploring: the {rival} tier has a {chance:.0%} chance of doing "
                    f"better here (below {EXPLORE_CHANCE:.0%})")
    tier = max(tiers, key=lambda t: (value(t, sampled=True), t == static_tier, -tiers.index(t)))
    said = tuple(
        TierSignal(t, members[t].name, round(estimates[t].mean, 3), estimates[t].samples,
                   None if estimates[t].draw is None else round(estimates[t].draw, 3),
                   round(costs[t], 3), round(value(t, sampled=True), 3))
        for t in tiers
    )
    speed = "" if timed else "not every backend timed yet: learned quality alone decides"
    if tier == static_tier:
        return _Learned(tier, tiers=said, learning=note, speed=speed)
    other = static_tier if static_tier in estimates else next(t for t in tiers if t != tier)
    mine, theirs = estimates[tier], estimates[other]
    faster = ""
    if costs[other] > costs[tier]:
        faster = f", and is {times[other] / max(times[tier], 1e-3):.1f}× faster"
    if believed == tier:
        reason = (f"{what}: learned that the {tier} tier does as well or better "
                  f"({mine.successes}/{mine.samples} good, mean {mine.mean:.2f} vs "
                  f"{theirs.successes}/{theirs.samples}, mean {theirs.mean:.2f}{faster}) "
                  f"→ {members[tier].name}")
        return _Learned(tier, "learned", reason, said, learning=note, speed=speed)
    reason = (f"{what}: exploring the {tier} tier (Thompson draw {mine.draw or 0:.2f} vs "
              f"{theirs.draw or 0:.2f}; means {mine.mean:.2f} vs {theirs.mean:.2f}) "
              f"→ {members[tier].name}")
    return _Learned(tier, "explore", reason, said, speed=speed)


def _chance_better(rival: Estimate, best: Estimate, head_start: float) -> float:
    """The chance that ``rival`` is worth more than ``best``: that its success rate plus
    ``head_start`` (the time cost it saves; negative when it is the slower one) is above
    ``best``'s, from a normal approximation of the two Beta posteriors."""
    spread = math.sqrt(rival.variance + best.variance)
    z = (rival.mean + head_start - best.mean) / max(spread, 1e-9)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _too_slow(
    members: dict[str, Candidate], predicted: dict[str, Prediction], limit: float
) -> str | None:
    """Why the strong tier is too slow for a medium prompt, or None."""
    strong, fast = predicted[members["strong"].name], predicted[members["fast"].name]
    if not (strong.measured and fast.measured):
        return None
    if strong.total_s <= limit * max(fast.total_s, 1e-3):
        return None
    return (f"the strong tier is predicted to take {strong.total_s:.1f} s vs {fast.total_s:.1f} s"
            f" on the fast tier (over {limit:g}× slower{_why_slow(strong)})")


def _why_slow(p: Prediction) -> str:
    parts = []
    if p.queue_s > 0:
        parts.append(f"{p.ahead} ahead in its queue")
    if p.load_s > 0:
        parts.append("its model is not loaded")
    return f": {' and '.join(parts)}" if parts else ""


def _fastest(
    group: list[Candidate], predicted: dict[str, Prediction], preferred: str
) -> Candidate:
    """The member with the lowest predicted time; ``preferred``, then config order, on ties
    (times within 5% count as equal)."""
    best = min(predicted[c.name].total_s for c in group)
    close = [c for c in group if predicted[c.name].total_s <= best * 1.05 + 1e-9]
    return next((c for c in close if c.name == preferred), close[0])


def _member_reason(
    base_reason: str, pick: Candidate, static: Candidate, predicted: dict[str, Prediction]
) -> str:
    """``base_reason`` with why another member of the same tier answers instead."""
    mine, theirs = predicted[pick.name], predicted[static.name]
    why = _why_slow(theirs)
    return (f"{base_reason}; {pick.name} answers instead, predicted {mine.total_s:.1f} s vs "
            f"{theirs.total_s:.1f} s on {static.name}{why}")
