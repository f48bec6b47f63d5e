"""Predicted completion times (queue, cold load, first token, generation) and how they steer
the choice: the fastest member of a tier, a loaded model over a cold one, and the
``max_slowdown`` rule for medium prompts."""

from __future__ import annotations

import pytest

from hybrid_tui.router.classify import Classification
from hybrid_tui.router.decide import Candidate
from hybrid_tui.router.policy import Settings, choose, time_cost
from hybrid_tui.router.predict import (
    ALPHA,
    DEFAULT_LOAD_S,
    DEFAULT_TOKENS_PER_S,
    DEFAULT_TTFT_S,
    SpeedModel,
)


def cls(task_type: str, complexity: str) -> Classification:
    return Classification(task_type=task_type, complexity=complexity)


def timed(model: SpeedModel, name: str, *, ttft_ms: float, tps: float, tokens: int = 300,
          task: str = "debugging", times: int = 3) -> None:
    for _ in range(times):
        model.observe(name, task, ttft_ms=ttft_ms, tokens=tokens, tokens_per_s=tps)


def test_defaults_before_anything_is_measured() -> None:
    p = SpeedModel().predict("ollama", "strong", "analysis")
    assert not p.measured and p.queue_s == 0 and p.load_s == 0
    assert p.ttft_s == DEFAULT_TTFT_S["strong"]
    assert p.decode_s == pytest.approx(600 / DEFAULT_TOKENS_PER_S["strong"])
    assert p.total_s == pytest.approx(p.ttft_s + p.decode_s)
    signal = p.as_signal()
    assert set(signal) >= {"queue_s", "load_s", "ttft_s", "decode_s", "total_s", "measured"}


def test_running_averages_weight_the_newest_reply() -> None:
    model = SpeedModel()
    model.observe("lm", "edit", ttft_ms=100, tokens=200, tokens_per_s=100)
    model.observe("lm", "edit", ttft_ms=300, tokens=400, tokens_per_s=50)
    p = model.predict("lm", "fast", "edit")
    assert p.measured
    assert p.ttft_s == pytest.approx(0.1 + ALPHA * (0.3 - 0.1))
    assert p.tokens == round(200 + ALPHA * 200)
    assert p.tokens_per_s == pytest.approx(100 + ALPHA * (50 - 100))
    assert model.tokens_per_s("lm") == pytest.approx(p.tokens_per_s)


def test_an_unseen_task_type_uses_the_backends_overall_figures() -> None:
    model = SpeedModel()
    model.observe("lm", "edit", ttft_ms=200, tokens=100, tokens_per_s=80)
    p = model.predict("lm", "fast", "analysis")
    assert p.ttft_s == pytest.approx(0.2) and p.tokens_per_s == pytest.approx(80)
    assert p.tokens == 600  # no analysis reply seen yet: the default length


def test_cold_load_learned_from_ollamas_load_duration() -> None:
    model = SpeedModel()
    model.observe("ol", "edit", ttft_ms=5400, tokens=50, tokens_per_s=30, load_ms=5000,
                  cold=True)
    assert model.load_s("ol") == pytest.approx(5.0)
    warm = model.predict("ol", "strong", "edit")
    cold = model.predict("ol", "strong", "edit", cold=True)
    assert warm.ttft_s == pytest.approx(0.4)  # the load is not part of the warm first token
    assert cold.load_s == pytest.approx(5.0) and cold.total_s == pytest.approx(warm.total_s + 5)
    # a warm reply's small load_duration is not a load
    model.observe("ol", "edit", ttft_ms=400, tokens=50, tokens_per_s=30, load_ms=3)
    assert model.load_s("ol") == pytest.approx(5.0)


def test_cold_load_learned_from_a_slow_first_token_when_the_server_does_not_say() -> None:
    model = SpeedModel()
    model.observe("lm", "edit", ttft_ms=200, tokens=50, tokens_per_s=90)
    model.observe("lm", "edit", ttft_ms=3200, tokens=50, tokens_per_s=90, cold=True)
    assert model.load_s("lm") == pytest.approx(3.0)
    assert model.predict("lm", "fast", "edit").ttft_s == pytest.approx(0.2)
    assert SpeedModel().predict("x", "fast", "edit", cold=True).load_s == DEFAULT_LOAD_S


def test_queue_wait_honours_the_slots() -> None:
    model = SpeedModel()
    timed(model, "ol", ttft_ms=1000, tps=20, tokens=180)  # 10 s per reply
    assert model.predict("ol", "strong", "debugging", ahead=0, slots=1).queue_s == 0
    one = model.predict("ol", "strong", "debugging", ahead=1, slots=1)
    three = model.predict("ol", "strong", "debugging", ahead=3, slots=1)
    assert one.queue_s == pytest.approx(5.0)  # the one in flight is half done
    assert three.queue_s == pytest.approx(25.0)
    assert model.predict("ol", "strong", "debugging", ahead=2, slots=3).queue_s == 0
    # two slots free after 5 s; the three waiting start at 5, 5 and 15 s; ours at 15 s
    assert model.predict("ol", "strong", "debugging", ahead=5, slots=2).queue_s == pytest.approx(
        15.0
    )


def test_queue_wait_uses_how_long_the_requests_in_service_have_run() -> None:
    model = SpeedModel()
    timed(model, "ol", ttft_ms=1000, tps=20, tokens=180)  # 10 s per reply
    nearly_done = model.predict("ol", "strong", "debugging", ahead=1, slots=1, busy_s=(8.0,))
    just_begun = model.predict("ol", "strong", "debugging", ahead=1, slots=1, busy_s=(1.0,))
    overdue = model.predict("ol", "strong", "debugging", ahead=1, slots=1, busy_s=(30.0,))
    assert (nearly_done.queue_s, just_begun.queue_s) == pytest.approx((2.0, 9.0))
    assert overdue.queue_s == pytest.approx(1.0)  # a tenth of a reply: it is nearly done
    # one waiting behind the one in service: that one's remaining 2 s plus a whole reply
    assert model.predict("ol", "strong", "debugging", ahead=2, slots=1,
                         busy_s=(8.0,)).queue_s == pytest.approx(12.0)


def test_queue_wait_uses_each_queued_requests_own_task_type() -> None:
    model = SpeedModel()
    timed(model, "ol", ttft_ms=1000, tps=20, tokens=180, task="format")  # 10 s
    timed(model, "ol", ttft_ms=1000, tps=20, tokens=580, task="analysis")  # 30 s
    # an analysis 5 s into its reply, a reformat waiting behind it: 25 s left, then 10 s
    mixed = model.predict("ol", "strong", "edit", ahead=2, slots=1, busy_s=(5.0,),
                          queued_tasks=("analysis", "format"))
    assert mixed.queue_s == pytest.approx(35.0)
    # the other way round: 5 s left of the reformat, then a whole analysis
    flipped = model.predict("ol", "strong", "edit", ahead=2, slots=1, busy_s=(5.0,),
                            queued_tasks=("format", "analysis"))
    assert flipped.queue_s == pytest.approx(35.0)
    two_reformats = model.predict("ol", "strong", "edit", ahead=2, slots=1, busy_s=(5.0,),
                                  queued_tasks=("format", "format"))
    assert two_reformats.queue_s == pytest.approx(15.0)
    # a request of unknown task type takes the backend's mean reply time
    unknown = model.predict("ol", "strong", "edit", ahead=1, slots=1, queued_tasks=("",))
    assert unknown.queue_s == pytest.approx(model.predict(
        "ol", "strong", "edit", ahead=1, slots=1).queue_s)


def test_summary_per_backend() -> None:
    model = SpeedModel()
    timed(model, "lm", ttft_ms=250, tps=90)
    model.observe("ol", "edit", ttft_ms=5400, tokens=50, tokens_per_s=30, load_ms=5000,
                  cold=True)
    summary = model.summary()
    assert summary["lm"] == {"ttft_s": 0.25, "replies": 3, "tokens_per_s": 90.0}
    assert summary["ol"]["load_s"] == 5.0


def test_time_cost_per_doubling() -> None:
    assert time_cost(10, 10, 0.1) == 0
    assert time_cost(21, 10, 0.1) == pytest.approx(0.1)  # (21+1)/(10+1) = 2
    assert time_cost(0.05, 0.01, 0.1) < 0.01  # sub-second gaps hardly matter
    assert time_cost(100, 1, 0.0) == 0


# -- how predictions steer the choice --------------------------------------------------------

FAST = Candidate("lmstudio", "fast", ("format",), "up", "small", loaded=True, slots=3)
STRONG_A = Candidate("ollama-a", "strong", ("analysis", "complex"), "up", "big", loaded=True)
STRONG_B = Candidate("ollama-b", "strong", ("analysis", "complex"), "up", "big", loaded=True)


def test_the_fastest_member_of_the_tier_answers() -> None:
    busy = Candidate("ollama-a", "strong", ("analysis", "complex"), "up", "big", loaded=True,
                     queue=2)
    choice = choose(cls("analysis", "complex"), [FAST, busy, STRONG_B])
    assert choice.backend == "ollama-b"
    assert choice.reason.startswith("complex analysis → ollama-a (strong tier, configured for")
    assert "; ollama-b answers instead, predicted" in choice.reason
    assert "on ollama-a: 2 ahead in its queue" in choice.reason
    assert choice.signals.candidate("ollama-a").predicted.ahead == 2
    # equal predictions: the fixed rules' pick (config order) stays
    assert choose(cls("analysis", "complex"), [FAST, STRONG_A, STRONG_B]).backend == "ollama-a"


def test_a_loaded_model_beats_a_cold_one_of_the_same_tier() -> None:
    cold = Candidate("ollama-a", "strong", ("analysis", "complex"), "up", "big", loaded=False)
    choice = choose(cls("analysis", "complex"), [FAST, cold, STRONG_B])
    assert choice.backend == "ollama-b"
    assert "its model is not loaded" in choice.reason
    cold_one = choice.signals.candidate("ollama-a")
    assert (cold_one.model, cold_one.loaded) == ("big", False)
    assert cold_one.predicted.load_s == DEFAULT_LOAD_S


def test_forced_tier_takes_its_fastest_member() -> None:
    busy = Candidate("ollama-a", "strong", (), "up", "big", loaded=True, queue=3)
    choice = choose(cls("format", "simple"), [FAST, busy, STRONG_B], force="strong")
    assert (choice.backend, choice.rule, choice.forced) == ("ollama-b", "forced-tier", True)


def test_a_medium_prompt_leaves_a_much_slower_strong_tier() -> None:
    model = SpeedModel()
    timed(model, "lmstudio", ttft_ms=200, tps=100)  # ~3.2 s
    timed(model, "ollama-a", ttft_ms=800, tps=25)  # ~12.8 s, 15.2 with one ahead
    busy = Candidate("ollama-a", "strong", (), "up", "big", loaded=True, queue=1)
    settings = Settings(max_slowdown=4.0)
    choice = choose(cls("debugging", "medium"), [FAST, busy], speeds=model, settings=settings)
    assert (choice.backend, choice.rule) == ("lmstudio", "slowdown")
    assert choice.reason.startswith("medium debugging: the strong tier is predicted to take")
    assert "(over 4× slower: 1 ahead in its queue) → lmstudio (fast tier)" in choice.reason
    # not for complex prompts, not within the limit, not when speeds are unknown
    complex_ = choose(cls("debugging", "complex"), [FAST, busy], speeds=model, settings=settings)
    assert complex_.backend == "ollama-a"
    idle = Candidate("ollama-a", "strong", (), "up", "big", loaded=True)
    assert choose(cls("debugging", "medium"), [FAST, idle], speeds=model,
                  settings=settings).backend == "ollama-a"
    assert choose(cls("debugging", "medium"), [FAST, busy], speeds=SpeedModel(),
                  settings=settings).backend == "ollama-a"
    lenient = Settings(max_slowdown=10.0)
    assert choose(cls("debugging", "medium"), [FAST, busy], speeds=model,
                  settings=lenient).backend == "ollama-a"
