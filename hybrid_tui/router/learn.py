"""Learning from outcomes: what counts as a success, and when history is strong enough to use.

Outcomes are kept per (task type, complexity, backend) by :class:`hybrid_tui.store.Store`.
A backend's success rate is smoothed with a uniform prior, (s + 1) / (n + 2), so two lucky
answers do not outweigh a long record; history only decides once the favoured backend has
:data:`MIN_SAMPLES` outcomes and beats the runner-up by :data:`MIN_MARGIN`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hybrid_tui.store import Store

log = logging.getLogger(__name__)

#: outcomes the favoured backend needs before history decides
MIN_SAMPLES = 3
#: smoothed success rates closer than this are a tie (history then says nothing)
MIN_MARGIN = 0.05

Stats = Mapping[str, tuple[int, int]]
"""backend name -> (successes, total) for one (task type, complexity)."""


def smoothed_rate(successes: int, total: int) -> float:
    """Success rate with a uniform prior: 0.5 with no data, the raw rate in the long run."""
    return (successes + 1) / (total + 2)


def is_success(
    confidence: float | None, threshold: float, *, escalated: bool, failed: bool
) -> bool:
    """A reply succeeded when it did not fail, was not escalated and scored >= threshold."""
    if failed or escalated:
        return False
    return confidence is None or confidence >= threshold


def favoured(
    history: Stats, names: Sequence[str], *, min_samples: int = MIN_SAMPLES
) -> tuple[str, str] | None:
    """The backend among ``names`` that history favours, with the evidence in words.

    Returns ``(name, "8/10 vs 3/9")`` or None when the data is too thin or too close.
    """
    if len(names) < 2:
        return None
    ranked = sorted(names, key=lambda n: (-smoothed_rate(*history.get(n, (0, 0))), names.index(n)))
    best, runner_up = ranked[0], ranked[1]
    best_s, best_n = history.get(best, (0, 0))
    other_s, other_n = history.get(runner_up, (0, 0))
    if best_n < min_samples:
        return None
    if smoothed_rate(best_s, best_n) - smoothed_rate(other_s, other_n) < MIN_MARGIN:
        return None
    return best, f"{best_s}/{best_n} vs {other_s}/{other_n}"


class Learner:
    """Reads and records outcomes, or does nothing when learning is off.

    A store that cannot be read or written (disk full, read-only) never breaks a reply: the
    problem is logged once and learning carries on without it.
    """

    def __init__(self, store: Store | None, *, enabled: bool, threshold: float) -> None:
        self.store = store if enabled else None
        self.enabled = enabled and store is not None
        self.threshold = threshold
        self._warned = False

    def stats(self, task_type: str, complexity: str) -> dict[str, tuple[int, int]]:
        """History for one (task type, complexity); empty when learning is off."""
        if not self.enabled or self.store is None:
            return {}
        try:
            return self.store.outcome_stats(task_type, complexity)
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc)
            return {}

    def record(
        self,
        *,
        task_type: str,
        complexity: str,
        backend: str,
        model: str,
        confidence: float | None,
        escalated: bool = False,
        failed: bool = False,
        ttft_ms: float | None = None,
        tokens_per_s: float | None = None,
    ) -> bool:
        """Record one reply's outcome; returns whether it counted as a success."""
        success = is_success(confidence, self.threshold, escalated=escalated, failed=failed)
        if not self.enabled or self.store is None:
            return success
        try:
            self.store.record_outcome(
                task_type=task_type,
                complexity=complexity,
                backend=backend,
                model=model,
                success=success,
                confidence=confidence,
                escalated=escalated,
                failed=failed,
                ttft_ms=ttft_ms,
                tokens_per_s=tokens_per_s,
            )
        except (sqlite3.Error, OSError) as exc:
            self._warn(exc)
        return success

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("routing history unavailable: %s", exc)
            self._warned = True
