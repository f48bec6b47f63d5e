"""The Thompson-sampling bandit: posteriors, draws, the learned tier choice, and its
persistence in the SQLite store (write-through, read once, ratings)."""

from __future__ import annotations

import random

import pytest

from hybrid_tui.bench.results import BenchmarkStore
from hybrid_tui.bench.runner import ProblemResult
from hybrid_tui.errors import UsageError
from hybrid_tui.router.bandit import (
    MAX_EVIDENCE,
    MIN_EVIDENCE,
    PASS_RATE_SHARE,
    PRIOR_FAST_COMPLEX,
    PRIOR_FAVOURED,
    PRIOR_OTHER,
    PRIOR_WEIGHT,
    Bandit,
    PassRate,
    posterior,
    prior_mean,
)
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.decide import Candidate
from hybrid_tui.router.learn import Learner, is_success
from hybrid_tui.router.policy import EXPLORE_CHANCE, choose, priors
from hybrid_tui.router.signals import DecisionSignals
from hybrid_tui.store import Outcome, Store
from hybrid_tui.ui.explain import explain

FAST = Candidate("lmstudio", "fast", ("format",), "up", "small")
STRONG = Candidate("ollama", "strong", ("analysis", "complex"), "up", "big")
REFACTOR = ("refactor", "medium")


def cls(task_type: str, complexity: str) -> Classification:
    return Classification(task_type=task_type, complexity=complexity)


def test_posterior_is_prior_plus_evidence() -> None:
    alpha, beta = posterior(0, 0, 0.8)
    assert (alpha, beta) == pytest.approx((PRIOR_WEIGHT * 0.8, PRIOR_WEIGHT * 0.2))
    alpha, beta = posterior(7, 10, 0.5)
    assert (alpha, beta) == pytest.approx((PRIOR_WEIGHT * 0.5 + 7, PRIOR_WEIGHT * 0.5 + 3))


def test_evidence_is_capped_keeping_the_rate() -> None:
    alpha, beta = posterior(3 * MAX_EVIDENCE, 4 * MAX_EVIDENCE, 0.5)
    real = alpha + beta - PRIOR_WEIGHT
    assert real == pytest.approx(MAX_EVIDENCE)
    assert (alpha - PRIOR_WEIGHT * 0.5) / real == pytest.approx(0.75)


def test_counts_per_bucket_and_arm() -> None:
    bandit = Bandit()
    for good in (True, True, False):
        bandit.add(REFACTOR, "ollama", good)
    bandit.add(REFACTOR, "lmstudio", False)
    bandit.add(("edit", "simple"), "lmstudio", True)
    assert bandit.counts(REFACTOR) == {"ollama": (2, 3), "lmstudio": (0, 1)}
    assert bandit.evidence(REFACTOR) == 4
    assert bandit.evidence(REFACTOR, ["lmstudio"]) == 1
    assert bandit.counts(("planning", "complex")) == {}
    bandit.set_counts(REFACTOR, {"ollama": (5, 5)})
    assert bandit.counts(REFACTOR) == {"ollama": (5, 5)}
    assert sorted(bandit.buckets()) == [("edit", "simple"), REFACTOR]


def test_estimate_pools_names_and_draws_only_with_a_generator() -> None:
    bandit = Bandit({REFACTOR: {"a": (3, 4), "b": (1, 4)}})
    pooled = bandit.estimate(REFACTOR, ("a", "b"), 0.5)
    assert (pooled.successes, pooled.samples, pooled.draw) == (4, 8, None)
    assert pooled.mean == pytest.approx((2 + 4) / (4 + 8))
    drawn = bandit.estimate(REFACTOR, ("a",), 0.5, random.Random(7))
    again = bandit.estimate(REFACTOR, ("a",), 0.5, random.Random(7))
    assert drawn.draw is not None and 0 < drawn.draw < 1 and drawn.draw == again.draw
    assert drawn.as_signal()["samples"] == 4 and "draw" in drawn.as_signal()


def test_thompson_draws_favour_the_better_arm_but_still_explore() -> None:
    bandit = Bandit({REFACTOR: {"good": (18, 20), "bad": (4, 20)}})
    rng = random.Random(3)
    wins = sum(
        bandit.estimate(REFACTOR, ("good",), 0.5, rng).draw
        > bandit.estimate(REFACTOR, ("bad",), 0.5, rng).draw
        for _ in range(2000)
    )
    assert wins > 1900  # a clear record wins nearly always
    close = Bandit({REFACTOR: {"a": (2, 3), "b": (1, 3)}})
    a_wins = sum(
        close.estimate(REFACTOR, ("a",), 0.5, rng).draw
        > close.estimate(REFACTOR, ("b",), 0.5, rng).draw
        for _ in range(2000)
    )
    assert 1000 < a_wins < 1800  # thin evidence: the other arm is still tried


def test_priors_come_from_the_fixed_rules() -> None:
    assert prior_mean("strong", "strong") == PRIOR_FAVOURED
    assert prior_mean("fast", "strong") == PRIOR_OTHER
    assert prior_mean("strong", "fast", "simple") == PRIOR_OTHER
    bandit = Bandit()
    choice = choose(cls("analysis", "medium"), [FAST, STRONG], bandit=bandit)
    learned = {c.name: c.learned for c in choice.signals.candidates}
    assert learned["ollama"].mean == PRIOR_FAVOURED
    assert learned["lmstudio"].mean == PRIOR_OTHER
    assert learned["lmstudio"].samples == 0


def test_the_fast_tier_starts_low_on_complex_prompts() -> None:
    assert prior_mean("fast", "strong", "complex") == PRIOR_FAST_COMPLEX < PRIOR_OTHER
    assert prior_mean("fast", "fast", "complex") == PRIOR_FAVOURED  # the config says fast
    choice = choose(cls("analysis", "complex"), [FAST, STRONG], bandit=Bandit())
    assert choice.signals.candidate("lmstudio").learned.mean == PRIOR_FAST_COMPLEX


def test_humaneval_pass_rates_move_the_prior_for_code_only() -> None:
    fast = Candidate("lmstudio", "fast", (), "up", "qwen2.5-coder-7b")
    strong = Candidate("ollama", "strong", (), "up", "codellama:34b")
    bandit = Bandit()
    bandit.load_pass_rates({("lmstudio", "qwen2.5-coder-7b"): PassRate(73, 164),
                            ("ollama", "codellama:34b"): PassRate(131, 164)})
    rates = {"lmstudio": (73 + 1) / 166, "ollama": (131 + 1) / 166}
    gap = (rates["ollama"] - rates["lmstudio"]) / 2  # each model's distance from the mean
    assert PASS_RATE_SHARE == 0.5  # half the gap (README)
    code = priors(cls("refactor", "medium"), [fast, strong], "strong", bandit)
    assert code["ollama"] == pytest.approx(PRIOR_FAVOURED + PASS_RATE_SHARE * gap)
    assert code["lmstudio"] == pytest.approx(PRIOR_OTHER - PASS_RATE_SHARE * gap)
    prose = priors(cls("analysis", "medium"), [fast, strong], "strong", bandit)
    assert prose == {"ollama": PRIOR_FAVOURED, "lmstudio": PRIOR_OTHER}
    # a publisher prefix on the served name still matches; an unmeasured model does not
    assert bandit.pass_rate("lmstudio", "lmstudio-community/qwen2.5-coder-7b") is not None
    assert bandit.pass_rate("lmstudio", "gemma-2b") is None
    one = Bandit()
    one.load_pass_rates({("ollama", "codellama:34b"): PassRate(131, 164)})
    alone = priors(cls("refactor", "medium"), [fast, strong], "strong", one)
    assert alone == {"ollama": PRIOR_FAVOURED, "lmstudio": PRIOR_OTHER}  # nothing to compare


# -- the learned tier choice ----------------------------------------------------------------


def test_fixed_rules_stand_until_a_bucket_has_evidence() -> None:
    bandit = Bandit({REFACTOR: {"lmstudio": (MIN_EVIDENCE - 1, MIN_EVIDENCE - 1)}})
    choice = choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit, rng=random.Random(0))
    assert (choice.backend, choice.rule) == ("ollama", "medium-default")
    assert "outcomes needed" in choice.signals.learning


def test_clear_evidence_overrules_the_fixed_rules() -> None:
    bandit = Bandit({REFACTOR: {"lmstudio": (12, 12), "ollama": (1, 10)}})
    choice = choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit, rng=random.Random(0))
    assert (choice.backend, choice.rule) == ("lmstudio", "learned")
    assert choice.reason.startswith(
        "medium refactor: learned that the fast tier does as well or better (12/12 good"
    )
    assert choice.signals.tiers[0].tier == "fast" and choice.signals.tiers[0].samples == 12
    greedy = choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit)
    assert greedy.backend == "lmstudio" and greedy.signals.tiers[0].draw is None


def test_agreeing_evidence_keeps_the_fixed_reason() -> None:
    bandit = Bandit({REFACTOR: {"ollama": (9, 10), "lmstudio": (1, 6)}})
    choice = choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit, rng=random.Random(0))
    assert (choice.backend, choice.rule) == ("ollama", "medium-default")
    assert choice.reason == "medium refactor → strong tier (ollama)"


def test_exploring_says_so() -> None:
    bandit = Bandit({REFACTOR: {"ollama": (3, 4), "lmstudio": (0, 0)}})
    reasons = set()
    rng = random.Random(11)
    for _ in range(200):
        choice = choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit, rng=rng)
        reasons.add(choice.rule)
        if choice.rule == "explore":
            assert choice.backend == "lmstudio"
            assert choice.reason.startswith("medium refactor: exploring the fast tier (Thompson")
    assert {"explore", "medium-default"} <= reasons


def test_a_tier_almost_surely_worse_is_not_explored_and_the_signals_say_why() -> None:
    bandit = Bandit({REFACTOR: {"ollama": (45, 50), "lmstudio": (3, 30)}})
    rng = random.Random(5)
    choices = [choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit, rng=rng)
               for _ in range(200)]
    assert {(c.backend, c.rule) for c in choices} == {("ollama", "medium-default")}
    first = choices[0].signals
    assert first.learning == ("not exploring: the fast tier has a 0% chance of doing better "
                              f"here (below {EXPLORE_CHANCE:.0%})")
    assert all(t.draw is None for t in first.tiers)
    assert ("learning", first.learning) in explain(first, backend="ollama").other
    assert DecisionSignals.from_dict(first.to_dict()).learning == first.learning


def test_a_rival_with_a_fair_chance_is_still_drawn_for() -> None:
    # four replies each, one bad on each side: either could be the better one
    bandit = Bandit({REFACTOR: {"ollama": (3, 4), "lmstudio": (3, 4)}})
    choice = choose(cls(*REFACTOR), [FAST, STRONG], bandit=bandit, rng=random.Random(2))
    assert all(t.draw is not None for t in choice.signals.tiers)
    assert not choice.signals.learning


def test_forced_and_only_up_ignore_the_bandit() -> None:
    bandit = Bandit({REFACTOR: {"lmstudio": (30, 30), "ollama": (0, 30)}})
    forced = choose(cls(*REFACTOR), [FAST, STRONG], force="ollama", bandit=bandit,
                    rng=random.Random(0))
    assert (forced.backend, forced.rule, forced.forced) == ("ollama", "forced", True)
    assert forced.signals.forced is True
    assert all(c.learned is not None for c in forced.signals.candidates)
    down = Candidate("lmstudio", "fast", ("format",), "down", "small")
    only = choose(cls(*REFACTOR), [down, STRONG], bandit=bandit, rng=random.Random(0))
    assert (only.backend, only.rule) == ("ollama", "only-up")


def test_success_rule_counts_cancellation_and_code_check() -> None:
    assert is_success(0.9, 0.7, escalated=False, failed=False)
    assert not is_success(0.9, 0.7, escalated=False, failed=False, cancelled=True)
    assert not is_success(0.9, 0.7, escalated=False, failed=False, code_check="failed")
    assert is_success(0.9, 0.7, escalated=False, failed=False, code_check="ok")


# -- persistence --------------------------------------------------------------------------


def _learner(path) -> Learner:
    return Learner(Store(path), enabled=True, threshold=0.7)


def test_outcomes_persist_and_are_read_once(tmp_path) -> None:
    path = tmp_path / "s.sqlite3"
    first = _learner(path)
    key = {"task_type": "refactor", "complexity": "medium", "model": "m"}
    for good in (True, True, True):
        first.record(Outcome(**key, backend="lmstudio", confidence=0.9 if good else 0.2))
    first.record(Outcome(**key, backend="ollama", confidence=0.3))
    first.record(Outcome(**key, backend="ollama", failed=True))  # not a verdict
    first.store.close()

    class CountingStore(Store):
        reads = 0

        def all_outcome_stats(self):
            CountingStore.reads += 1
            return super().all_outcome_stats()

    second = Learner(CountingStore(path), enabled=True, threshold=0.7)
    assert second.stats("refactor", "medium") == {"lmstudio": (3, 3), "ollama": (0, 1)}
    for _ in range(50):
        choose(cls(*REFACTOR), [FAST, STRONG], bandit=second.bandit, rng=random.Random(1))
        second.stats("refactor", "medium")
    second.record(Outcome(**key, backend="lmstudio", confidence=0.95))  # write-through
    assert second.bandit.counts(REFACTOR)["lmstudio"] == (4, 4)
    assert CountingStore.reads == 1
    second.store.close()
    with Store(path) as third:
        assert third.outcome_stats("refactor", "medium")["lmstudio"] == (4, 4)


def test_the_learner_reads_the_stored_humaneval_results(tmp_path) -> None:
    path = tmp_path / "s.sqlite3"
    nothing = _learner(path)
    nothing.load()
    assert nothing.bandit.pass_rate("ollama", "big") is None  # no benchmark run yet
    nothing.store.close()
    results = [ProblemResult(f"HumanEval/{i}", backend, model, i < passed, "ok")
               for backend, model, passed in (("lmstudio", "small", 2), ("ollama", "big", 4))
               for i in range(5)]
    BenchmarkStore(path).save_run("HumanEval", 5, results)
    learner = _learner(path)
    learner.load()
    assert learner.bandit.pass_rate("ollama", "big") == PassRate(4, 5)
    code = priors(cls("debugging", "medium"), [FAST, STRONG], "strong", learner.bandit)
    assert code["ollama"] > PRIOR_FAVOURED and code["lmstudio"] < PRIOR_OTHER
    learner.store.close()


def test_a_rating_overrides_the_verdict_and_persists(tmp_path) -> None:
    path = tmp_path / "s.sqlite3"
    learner = _learner(path)
    success, row = learner.record(Outcome("edit", "simple", "lmstudio", "qwen", 0.95))
    assert success and row is not None
    line = learner.rate(False)  # the last reply
    assert line.startswith(f"rated reply {row} - (lmstudio · qwen, simple edit)")
    assert line.endswith("lmstudio now has 0/1 good replies for simple edit")
    assert learner.bandit.counts(("edit", "simple")) == {"lmstudio": (0, 1)}
    assert learner.rate(True, row).startswith(f"rated reply {row} +")
    assert learner.stats("edit", "simple") == {"lmstudio": (1, 1)}
    learner.store.close()
    again = _learner(path)
    assert again.stats("edit", "simple") == {"lmstudio": (1, 1)}
    assert again.store.outcome(row)["feedback"] == 1
    again.store.close()


def test_nothing_to_rate_is_a_usage_error(tmp_path) -> None:
    learner = _learner(tmp_path / "s.sqlite3")
    with pytest.raises(UsageError, match="no reply has been recorded yet"):
        learner.rate(True)
    with pytest.raises(UsageError, match="there is no reply 42"):
        learner.rate(True, 42)
    _, failed = learner.record(Outcome("edit", "simple", "x", "m", failed=True))
    with pytest.raises(UsageError, match="failed before it ended"):
        learner.rate(True, failed)
    learner.store.close()
    off = Learner(Store(tmp_path / "t.sqlite3"), enabled=False, threshold=0.7)
    with pytest.raises(UsageError, match="learning is off"):
        off.rate(True)


def test_an_old_store_file_is_migrated(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE outcomes (id INTEGER PRIMARY KEY, ts REAL NOT NULL, task_type TEXT NOT"
        " NULL, complexity TEXT NOT NULL, backend TEXT NOT NULL, model TEXT NOT NULL DEFAULT"
        " '', success INTEGER NOT NULL, confidence REAL, escalated INTEGER NOT NULL DEFAULT 0,"
        " failed INTEGER NOT NULL DEFAULT 0, ttft_ms REAL, tokens_per_s REAL);"
        "INSERT INTO outcomes (ts, task_type, complexity, backend, success)"
        " VALUES (1, 'edit', 'simple', 'lmstudio', 1);"
        "PRAGMA user_version=1;"
    )
    conn.close()
    learner = _learner(path)
    assert learner.stats("edit", "simple") == {"lmstudio": (1, 1)}
    assert "rated reply 1 -" in learner.rate(False)
    assert learner.store.integrity_check() == "ok"
    learner.store.close()
