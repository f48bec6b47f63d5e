"""The decision matrix, one test per branch, and the learning rules it leans on."""

from __future__ import annotations

import pytest

from hybrid_tui.errors import UsageError
from hybrid_tui.router.classify import Classification, classify
from hybrid_tui.router.decide import Candidate, check_force, decide
from hybrid_tui.router.learn import is_success

# the default config's two backends
LM = Candidate("lmstudio", "fast", ("template", "edit", "format", "boilerplate"), "up", "qwen")
OL = Candidate("ollama", "strong", ("analysis", "planning", "complex", "multi-file"), "up", "cl")
# the same two without task types, so the tier rules decide
FAST = Candidate("lmstudio", "fast", (), "up")
STRONG = Candidate("ollama", "strong", (), "up")


def cls(task_type: str, complexity: str = "simple", *, multi_file: bool = False):
    return Classification(task_type=task_type, complexity=complexity, multi_file=multi_file)


def down(c: Candidate) -> Candidate:
    return Candidate(c.name, c.tier, c.task_types, "down", c.model)


def with_status(c: Candidate, status: str) -> Candidate:
    return Candidate(c.name, c.tier, c.task_types, status, c.model)


# -- the two examples from the issue --------------------------------------------------------


def test_format_goes_to_lmstudio() -> None:
    choice = decide(classify("format this code"), [LM, OL])
    assert choice.backend == "lmstudio"
    assert choice.rule == "task-types"
    assert choice.reason == "simple format → lmstudio (fast tier, configured for format)"
    assert not choice.forced


def test_complex_analysis_goes_to_ollama() -> None:
    choice = decide(classify("analyze this complex system architecture"), [LM, OL])
    assert choice.backend == "ollama"
    assert (
        choice.reason == "complex analysis → ollama (strong tier, configured for analysis, complex)"
    )
    assert choice.signals.rule == "task-types"
    assert [(c.name, c.status) for c in choice.signals.candidates] == [
        ("lmstudio", "up"), ("ollama", "up")]
    assert choice.signals.words == ("analyze",)


# -- 1. forced ----------------------------------------------------------------------------


def test_forced_backend_wins_over_everything() -> None:
    choice = decide(cls("analysis", "complex"), [LM, OL], force="lmstudio")
    assert (choice.backend, choice.rule, choice.forced) == ("lmstudio", "forced", True)
    assert choice.reason == "forced by user (lmstudio)"


def test_forced_backend_is_tried_even_when_down() -> None:
    choice = decide(cls("format"), [LM, down(OL)], force="ollama")
    assert choice.backend == "ollama" and choice.forced


def test_forced_tier_picks_an_available_backend_of_that_tier() -> None:
    second_fast = Candidate("llamacpp", "fast", (), "up")
    choice = decide(cls("analysis", "complex"), [down(LM), second_fast, OL], force="fast")
    assert (choice.backend, choice.rule, choice.forced) == ("llamacpp", "forced-tier", True)
    assert choice.reason == "fast tier forced by user (llamacpp)"


def test_forced_tier_all_down_still_tries_the_first() -> None:
    choice = decide(cls("format"), [LM, down(OL)], force="strong")
    assert choice.backend == "ollama" and choice.rule == "forced-tier"


def test_forced_tier_without_such_backend_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no strong-tier backend is enabled"):
        decide(cls("format"), [LM], force="strong")


def test_forced_unknown_backend_is_a_usage_error_with_a_suggestion() -> None:
    with pytest.raises(UsageError, match="did you mean 'ollama'") as info:
        decide(cls("format"), [LM, OL], force="olama")
    assert "enabled: lmstudio, ollama" in str(info.value)
    with pytest.raises(UsageError):
        check_force("disabled-one", [LM, OL])


@pytest.mark.parametrize("force", [None, "", "auto"])
def test_auto_or_no_force_routes(force: str | None) -> None:
    check_force(force, [LM, OL])
    choice = decide(classify("format this code"), [LM, OL], force=force)
    assert choice.backend == "lmstudio" and not choice.forced


def test_no_candidates_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no backend is enabled"):
        decide(cls("format"), [])


# -- 2. default provider (soft force) ------------------------------------------------------


def test_default_provider_acts_as_soft_force() -> None:
    choice = decide(cls("format"), [LM, OL], default_provider="ollama")
    assert (choice.backend, choice.rule, choice.forced) == ("ollama", "default-provider", False)
    assert choice.reason == "default provider is ollama (config)"


def test_default_provider_down_falls_through_to_routing() -> None:
    third = Candidate("llamacpp", "fast", (), "up")
    choice = decide(cls("format"), [LM, down(OL), third], default_provider="ollama")
    assert choice.backend == "lmstudio" and choice.rule == "task-types"


def test_unknown_default_provider_is_ignored_and_noted() -> None:
    choice = decide(cls("format"), [LM, OL], default_provider="vllm")
    assert choice.backend == "lmstudio"
    assert choice.signals.default_provider_ignored == "vllm"


# -- 3. only one available -------------------------------------------------------------------


def test_only_one_up() -> None:
    choice = decide(classify("analyze this complex system architecture"), [LM, down(OL)])
    assert (choice.backend, choice.rule) == ("lmstudio", "only-up")
    assert choice.reason == "only lmstudio is up"


def test_only_one_not_yet_probed_counts_as_available() -> None:
    choice = decide(cls("format"), [with_status(LM, "unknown"), down(OL)])
    assert choice.backend == "lmstudio"
    assert choice.reason == "only lmstudio may be up (not probed yet)"


def test_degraded_counts_as_available() -> None:
    choice = decide(cls("analysis", "complex"), [LM, with_status(OL, "degraded")])
    assert choice.backend == "ollama"


def test_none_up_still_routes_and_says_so() -> None:
    choice = decide(cls("format"), [down(LM), down(OL)])
    assert choice.backend == "lmstudio"
    assert choice.reason.endswith("; no backend is up, trying anyway")
    assert choice.signals.none_up is True


def test_unknown_health_counts_as_available_for_routing() -> None:
    choice = decide(
        cls("analysis", "complex"), [with_status(LM, "unknown"), with_status(OL, "unknown")]
    )
    assert choice.backend == "ollama" and choice.rule == "task-types"


# -- 4. task types --------------------------------------------------------------------------


def test_task_type_listed_by_a_backend() -> None:
    choice = decide(cls("edit", "medium"), [LM, OL])
    assert choice.backend == "lmstudio"
    assert choice.reason == "medium edit → lmstudio (fast tier, configured for edit)"


def test_multi_file_label_matches() -> None:
    choice = decide(cls("refactor", "medium", multi_file=True), [LM, OL])
    assert choice.backend == "ollama"
    assert "configured for multi-file" in choice.reason


def test_complex_work_of_a_fast_task_type_prefers_the_strong_match() -> None:
    # "format" is lmstudio's, "complex" is ollama's: complex work goes to the strong tier
    choice = decide(cls("format", "complex"), [LM, OL])
    assert choice.backend == "ollama" and choice.rule == "task-types"


def test_direct_task_type_match_wins_when_no_strong_match() -> None:
    a = Candidate("a", "fast", ("complex",), "up")
    b = Candidate("b", "fast", ("format",), "up")
    choice = decide(cls("format", "complex"), [a, b])
    assert choice.backend == "b"


def test_config_order_breaks_task_type_ties() -> None:
    a = Candidate("a", "fast", ("format",), "up")
    b = Candidate("b", "fast", ("format",), "up")
    assert decide(cls("format"), [a, b]).backend == "a"
    assert decide(cls("format"), [b, a]).backend == "b"


# -- 5. strong tier --------------------------------------------------------------------------


def test_complex_goes_to_strong_tier() -> None:
    choice = decide(cls("refactor", "complex"), [FAST, STRONG])
    assert (choice.backend, choice.rule) == ("ollama", "strong-tier")
    assert choice.reason == "complex refactor → strong tier (ollama)"


@pytest.mark.parametrize("task_type", ["analysis", "planning"])
def test_strong_task_types_go_to_strong_tier_even_when_simple(task_type: str) -> None:
    choice = decide(cls(task_type, "simple"), [FAST, STRONG])
    assert (choice.backend, choice.rule) == ("ollama", "strong-tier")


def test_multi_file_goes_to_strong_tier() -> None:
    choice = decide(cls("edit", "simple", multi_file=True), [FAST, STRONG])
    assert (choice.backend, choice.rule) == ("ollama", "strong-tier")


def test_strong_wanted_but_no_strong_backend() -> None:
    other_fast = Candidate("llamacpp", "fast", (), "up")
    choice = decide(cls("debugging", "complex"), [FAST, other_fast])
    assert choice.backend == "lmstudio"
    assert choice.reason == "complex debugging → strong tier wanted, none available; using lmstudio"


# -- 6. fast tier ----------------------------------------------------------------------------


@pytest.mark.parametrize("task_type", ["debugging", "refactor", "general", "template"])
def test_simple_goes_to_fast_tier(task_type: str) -> None:
    choice = decide(cls(task_type, "simple"), [STRONG, FAST])
    assert (choice.backend, choice.rule) == ("lmstudio", "fast-tier")
    assert choice.reason == f"simple {task_type} → fast tier (lmstudio)"


# -- 7. medium: defaults per task type ---------------------------------------------------


@pytest.mark.parametrize(
    ("task_type", "backend"),
    [
        ("template", "lmstudio"),
        ("format", "lmstudio"),
        ("edit", "lmstudio"),
        ("boilerplate", "lmstudio"),
        ("general", "lmstudio"),
        ("refactor", "ollama"),
        ("debugging", "ollama"),
    ],
)
def test_medium_defaults_per_task_type(task_type: str, backend: str) -> None:
    choice = decide(cls(task_type, "medium"), [FAST, STRONG])
    assert (choice.backend, choice.rule) == (backend, "medium-default")


# -- learning rules ---------------------------------------------------------------------


def test_success_rule() -> None:
    assert is_success(0.9, 0.7, escalated=False, failed=False)
    assert is_success(None, 0.7, escalated=False, failed=False)
    assert not is_success(0.5, 0.7, escalated=False, failed=False)
    assert not is_success(0.9, 0.7, escalated=True, failed=False)
    assert not is_success(0.9, 0.7, escalated=False, failed=True)


def test_the_nothing_answered_message_names_each_endpoint_once():
    from hybrid_tui.errors import BackendUnavailable
    from hybrid_tui.router.messages import nobody_answered

    url = "http://127.0.0.1:41234"
    exc = BackendUnavailable(f"connection refused at {url} (is the server running?)")
    text = nobody_answered({"lmstudio": ("openai", url)}, {"lmstudio": exc}, {})
    assert text.count(url) == 1
    assert "connection refused" in text and "lms server start" in text
