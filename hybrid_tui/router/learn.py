"""Learning from outcomes: what counts as a success, the bandit and speed estimates kept in
memory, and the user's ratings.

Outcomes are kept per reply by :class:`hybrid_tui.store.Store`. :class:`Learner` reads them
once (the first time a decision needs them: one aggregate query plus the last few hundred
replies' speeds) and then writes every new outcome through to the store and to its
in-memory :class:`~hybrid_tui.router.bandit.Bandit` and
:class:`~hybrid_tui.router.predict.SpeedModel`, so a decision never touches SQLite.

A reply is a success when it was not escalated or cancelled, its code check did not fail, and
its confidence reached the threshold; a user's ``+`` / ``-`` overrides that verdict. A request
that failed (refused, HTTP error, died mid-reply) is recorded but teaches the bandit nothing:
that is the server's availability, which health and cooldowns handle, not answer quality.
The HumanEval pass rates ``hybrid-tui benchmark`` stored are read with the outcomes: they set
the bandit's prior for code (:mod:`hybrid_tui.router.bandit`).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hybrid_tui.bench.results import BenchmarkStore
from hybrid_tui.errors import StoreError, UsageError
from hybrid_tui.router.bandit import Bandit
from hybrid_tui.router.predict import SpeedModel

if TYPE_CHECKING:
    from hybrid_tui.store import Outcome, Store

log = logging.getLogger(__name__)

#: replies whose speeds are replayed into the estimates at start-up
SPEED_HISTORY = 500

Stats = Mapping[str, tuple[int, int]]
"""backend name -> (successes, total) for one (task type, complexity)."""


def is_success(
    confidence: float | None,
    threshold: float,
    *,
    escalated: bool,
    failed: bool,
    cancelled: bool = False,
    code_check: str | None = None,
) -> bool:
    """A reply succeeded when it did not fail, was not escalated or cancelled, its code
    check did not fail, and it scored >= threshold (or was not scored)."""
    if failed or escalated or cancelled or code_check == "failed":
        return False
    return confidence is None or confidence >= threshold


class Learner:
    """Reads and records outcomes, or does nothing with them when learning is off.

    Speeds are measured either way (they are facts about this session, not learning) but
    only kept across restarts when learning is on. A store that cannot be read or written
    (disk full, read-only) never breaks a reply: the problem is logged once and learning
    carries on in memory.
    """

    def __init__(self, store: Store | None, *, enabled: bool, threshold: float) -> None:
        self.store = store if enabled else None
        self.enabled = enabled and store is not None
        self.threshold = threshold
        self.bandit = Bandit()
        self.speeds = SpeedModel()
        self._loaded = False
        self._warned = False

    def load(self) -> None:
        """Read what earlier sessions learned, and the HumanEval pass rates ``hybrid-tui
        benchmark`` stored (once; later calls do nothing)."""
        if self._loaded:
            return
        self._loaded = True
        if not self.enabled or self.store is None:
            return
        try:
            counts = self.store.all_outcome_stats()
            speeds = self.store.recent_speeds(SPEED_HISTORY)
        except StoreError as exc:
            self._warn(exc)
            return
        try:
            pass_rates = BenchmarkStore(self.store.path).pass_rates()
        except (sqlite3.Error, OSError) as exc:  # the benchmark's tables: a prior, not vital
            self._warn(exc)
            pass_rates = {}
        self.bandit.load(counts)
        self.bandit.load_pass_rates(pass_rates)
        for row in speeds:
            self.speeds.observe(
                row["backend"],
                row["task_type"],
                ttft_ms=row["ttft_ms"],
                tokens=row["tokens"],
                tokens_per_s=row["tokens_per_s"],
                load_ms=row["load_ms"],
                cold=bool(row["cold"]),
            )

    def stats(self, task_type: str, complexity: str) -> dict[str, tuple[int, int]]:
        """``{backend: (successes, total)}`` for one bucket; empty when learning is off."""
        if not self.enabled:
            return {}
        self.load()
        return self.bandit.counts((task_type, complexity))

    def record(self, outcome: Outcome) -> tuple[bool, int | None]:
        """Record one reply: its verdict, its speed; returns (success, store row id; None
        when learning is off or the store failed)."""
        o = outcome
        success = is_success(
            o.confidence, self.threshold, escalated=o.escalated, failed=o.failed,
            cancelled=o.cancelled, code_check=o.code_check,
        )  # fmt: skip
        if not o.failed and not o.cancelled:
            self.speeds.observe(
                o.backend, o.task_type, ttft_ms=o.ttft_ms, tokens=o.tokens,
                tokens_per_s=o.tokens_per_s, load_ms=o.load_ms, cold=o.cold,
            )  # fmt: skip
        if not self.enabled or self.store is None:
            return success, None
        self.load()
        if not o.failed:  # a server failure says nothing about the quality of its answers
            self.bandit.add((o.task_type, o.complexity), o.backend, success)
        try:
            row = self.store.record_outcome(o, success=success)
        except StoreError as exc:
            self._warn(exc)
            return success, None
        return success, row

    def rate(self, positive: bool, reply_id: int | None = None) -> str:
        """Record the user's verdict on a reply (None: the last one any process recorded);
        returns a one-line confirmation. Raises :class:`UsageError` when there is nothing
        to rate."""
        if not self.enabled or self.store is None:
            raise UsageError(
                "learning is off (routing.learning_enabled: false): no reply was recorded, "
                "so there is nothing to rate"
            )
        self.load()
        # a store that cannot be used raises StoreError: one line, exit 1 in the CLI
        row = self.store.last_reply() if reply_id is None else self.store.outcome(reply_id)
        if row is None:
            what = "no reply has been recorded yet" if reply_id is None else (
                f"there is no reply {reply_id}")
            raise UsageError(f"nothing to rate: {what}")
        if row["failed"]:
            raise UsageError(f"nothing to rate: reply {row['id']} failed before it ended")
        self.store.set_feedback(int(row["id"]), 1 if positive else -1)
        bucket = (row["task_type"], row["complexity"])
        counts = self.store.outcome_stats(*bucket)
        self.bandit.set_counts(bucket, counts)
        good, total = counts.get(row["backend"], (0, 0))
        sign = "+" if positive else "-"
        model = f" · {row['model']}" if row["model"] else ""
        return (
            f"rated reply {row['id']} {sign} ({row['backend']}{model}, {row['complexity']} "
            f"{row['task_type']}): {row['backend']} now has {good}/{total} good replies for "
            f"{row['complexity']} {row['task_type']}"
        )

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("routing history unavailable: %s", exc)
            self._warned = True
