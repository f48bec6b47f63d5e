"""A Beta-Bernoulli Thompson-sampling bandit per (task type, complexity).

An arm is a backend; its evidence is the count of good and bad outcomes of its replies in
that bucket (a reply is good when it was not escalated, failed or cancelled, its confidence
and code check passed, or the user rated it ``+``). The posterior of an arm is

    Beta(PRIOR_WEIGHT * prior + successes, PRIOR_WEIGHT * (1 - prior) + failures)

where ``prior`` (:func:`prior_mean`) comes from what is known before any reply:

- the configuration: the tier the fixed rules would send the prompt to starts at
  :data:`PRIOR_FAVOURED`, the other at :data:`PRIOR_OTHER` — except the fast tier on a complex
  prompt, :data:`PRIOR_FAST_COMPLEX`: the rules send complex prompts to the strong tier
  because small models fail them more often, and until its own replies say otherwise the
  bandit believes that (trying the fast tier on every complex bucket was most of its regret);
- the HumanEval benchmark (``hybrid-tui benchmark``), for task types whose answer is code
  (:data:`CODE_TASK_TYPES`): each backend's prior moves by half of how far its model's
  measured pass rate lies from the mean over the candidate backends measured (``code_gap``:
  a model 20 points above that mean starts 0.1 higher, one 20 points below 0.1 lower; see
  :data:`PASS_RATE_SHARE`; nothing moves unless two backends were measured). Half, because
  HumanEval grades standalone functions against tests, a proxy for the user's own prompts;
  and the prior stays worth :data:`PRIOR_WEIGHT` replies, so a handful of the user's
  outcomes outweigh it.

Buckets are independent (moving a bucket's prior towards the same backend's record on other
task types of that complexity was tried and routed worse: see BENCHMARKS.md). Evidence is
capped at :data:`MAX_EVIDENCE` outcomes per arm (scaled down, keeping the rate) so a model
that got better or worse is relearned in weeks, not years.

Everything here is in memory and cheap (a dict lookup and one ``random.betavariate`` per arm):
the store is read once and written through by :class:`hybrid_tui.router.learn.Learner`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: prior success rate of a backend the fixed rules pick (config task_types, tier rules)
PRIOR_FAVOURED = 0.8
#: prior success rate of any other backend
PRIOR_OTHER = 0.5
#: prior success rate of the fast tier on a complex prompt the rules send to the strong tier
PRIOR_FAST_COMPLEX = 0.3
#: task types whose reply is code, where HumanEval pass rates inform the prior
CODE_TASK_TYPES = frozenset({"template", "boilerplate", "edit", "refactor", "debugging"})
#: how much of a model's HumanEval pass-rate gap (to the measured backends' mean) moves its prior
PASS_RATE_SHARE = 0.5
#: how many outcomes the prior is worth
PRIOR_WEIGHT = 4.0
#: evidence beyond this many outcomes per arm is scaled down (recent behaviour matters)
MAX_EVIDENCE = 200
#: outcomes a bucket needs (over all its arms) before sampling may overrule the fixed rules
MIN_EVIDENCE = 3

Bucket = tuple[str, str]
"""(task type, complexity)."""


def prior_mean(
    tier: str, favoured_tier: str, complexity: str = "medium", code_gap: float = 0.0
) -> float:
    """The prior success rate of a backend (or tier) in one bucket; ``code_gap`` is its
    HumanEval pass-rate gap to the measured backends' mean (0 when not measured, or the task
    type's answer is not code). See the module docstring."""
    if tier == favoured_tier:
        base = PRIOR_FAVOURED
    elif tier == "fast" and complexity == "complex":
        base = PRIOR_FAST_COMPLEX
    else:
        base = PRIOR_OTHER
    return min(0.95, max(0.05, base + PASS_RATE_SHARE * code_gap))


@dataclass(frozen=True, slots=True)
class PassRate:
    """A model's HumanEval result on one backend: problems passed of those attempted."""

    passed: int
    attempted: int

    @property
    def rate(self) -> float:
        """Smoothed (a uniform prior), so one lucky problem is not 100 %."""
        return (self.passed + 1) / (self.attempted + 2)


def code_gaps(rates: Mapping[str, PassRate]) -> dict[str, float]:
    """Each backend's pass rate minus the mean over the backends measured (backend -> gap);
    backends without a rate are left out. Needs two measured backends to say anything."""
    if len(rates) < 2:
        return {}
    mean = sum(r.rate for r in rates.values()) / len(rates)
    return {name: r.rate - mean for name, r in rates.items()}


@dataclass(frozen=True, slots=True)
class Estimate:
    """One arm's posterior: its mean, the real outcomes behind it, and (when sampled) the
    draw that took part in the decision."""

    mean: float
    samples: int
    successes: int
    alpha: float
    beta: float
    draw: float | None = None

    @property
    def variance(self) -> float:
        n = self.alpha + self.beta
        return self.alpha * self.beta / (n * n * (n + 1.0))

    def sampled(self, rng: random.Random) -> Estimate:
        """This estimate with a Thompson draw from its posterior."""
        return Estimate(self.mean, self.samples, self.successes, self.alpha, self.beta,
                        rng.betavariate(self.alpha, self.beta))

    def as_signal(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = {
            "mean": round(self.mean, 3),
            "samples": self.samples,
            "successes": self.successes,
        }
        if self.draw is not None:
            out["draw"] = round(self.draw, 3)
        return out


def posterior(successes: float, total: float, prior: float) -> tuple[float, float]:
    """(alpha, beta) of an arm with ``successes`` of ``total`` and prior mean ``prior``."""
    failures = max(total - successes, 0.0)
    if total > MAX_EVIDENCE:
        scale = MAX_EVIDENCE / total
        successes, failures = successes * scale, failures * scale
    return PRIOR_WEIGHT * prior + successes, PRIOR_WEIGHT * (1.0 - prior) + failures


class Bandit:
    """Outcome counts per bucket and arm, with Thompson draws and posterior means."""

    def __init__(self, counts: Mapping[Bucket, Mapping[str, tuple[int, int]]] | None = None):
        #: bucket -> backend -> [successes, total]
        self._counts: dict[Bucket, dict[str, list[int]]] = {}
        #: (backend, model) -> its HumanEval result
        self._pass_rates: dict[tuple[str, str], PassRate] = {}
        if counts:
            self.load(counts)

    def load_pass_rates(self, rates: Mapping[tuple[str, str], PassRate]) -> None:
        """Replace the HumanEval results (as :meth:`BenchmarkStore.pass_rates` gives)."""
        self._pass_rates = dict(rates)

    def pass_rate(self, backend: str, model: str | None) -> PassRate | None:
        """The HumanEval result of ``model`` on ``backend`` (publisher prefixes allowed)."""
        # imported here: the decision's signals (and so every event) import this module,
        # and the HTTP layer should load only when a backend is used
        from hybrid_tui.backends.transport import same_model

        if not model:
            return None
        return next((r for (b, m), r in self._pass_rates.items()
                     if b == backend and m and same_model(m, model)), None)

    def load(self, counts: Mapping[Bucket, Mapping[str, tuple[int, int]]]) -> None:
        """Replace everything with ``counts`` (as :meth:`Store.all_outcome_stats` gives)."""
        self._counts = {
            bucket: {name: [int(s), int(n)] for name, (s, n) in arms.items()}
            for bucket, arms in counts.items()
        }

    def add(self, bucket: Bucket, backend: str, success: bool, *, count: int = 1) -> None:
        """Count one outcome (``count=-1`` takes one back, for a changed verdict)."""
        arm = self._counts.setdefault(bucket, {}).setdefault(backend, [0, 0])
        arm[1] = max(arm[1] + count, 0)
        if success:
            arm[0] = min(max(arm[0] + count, 0), arm[1])

    def set_counts(self, bucket: Bucket, arms: Mapping[str, tuple[int, int]]) -> None:
        """Replace one bucket's counts (re-read from the store after a rating)."""
        self._counts[bucket] = {name: [int(s), int(n)] for name, (s, n) in arms.items()}

    def counts(self, bucket: Bucket) -> dict[str, tuple[int, int]]:
        """``{backend: (successes, total)}`` for one bucket."""
        return {name: (s, n) for name, (s, n) in self._counts.get(bucket, {}).items()}

    def buckets(self) -> list[Bucket]:
        return sorted(self._counts)

    def evidence(self, bucket: Bucket, names: Iterable[str] | None = None) -> int:
        """Outcomes recorded in ``bucket`` (for ``names`` only, when given)."""
        arms = self._counts.get(bucket, {})
        if names is None:
            return sum(n for _, n in arms.values())
        return sum(arms[name][1] for name in names if name in arms)

    def estimate(
        self,
        bucket: Bucket,
        names: Iterable[str],
        prior: float,
        rng: random.Random | None = None,
    ) -> Estimate:
        """The pooled posterior of ``names`` (one backend, or a tier's members) with
        ``prior``; with ``rng``, also a Thompson draw from it."""
        arms = self._counts.get(bucket, {})
        successes = total = 0
        for name in names:
            arm = arms.get(name)
            if arm is not None:
                successes += arm[0]
                total += arm[1]
        alpha, beta = posterior(successes, total, prior)
        draw = rng.betavariate(alpha, beta) if rng is not None else None
        return Estimate(alpha / (alpha + beta), total, successes, alpha, beta, draw)
