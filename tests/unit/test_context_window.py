"""Fitting a chat into a model's context window: estimates, what is kept, where the window
figure comes from."""

from __future__ import annotations

import pytest

from hybrid_tui.backends.base import ModelInfo
from hybrid_tui.health import BackendState
from hybrid_tui.router.context_window import (
    DEFAULT_CONTEXT_LENGTH,
    KIND_DEFAULTS,
    MIN_RESERVE,
    PER_MESSAGE,
    PER_REQUEST,
    Window,
    estimate_messages,
    estimate_tokens,
    fit_messages,
    reply_reserve,
    split_turns,
    window_for,
)
from hybrid_tui.router.messages import SYSTEM_PROMPT, build_messages, continuation
from hybrid_tui.router.signals import ContextSignal


def chat(turns: int, size: int = 700) -> list[dict[str, str]]:
    """``turns`` earlier question/answer pairs, each message about ``size`` characters."""
    out = []
    for i in range(turns):
        out.append({"role": "user", "content": f"question {i} " + "q" * size})
        out.append({"role": "assistant", "content": f"answer {i} " + "a" * size})
    return out


def contents(messages) -> list[str]:
    return [m["content"] for m in messages]


# -- estimates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"), [("", 0), ("a", 1), ("abcdefg", 2), ("abcdefgh", 3), ("x" * 350, 100)]
)
def test_estimate_is_characters_over_three_and_a_half_rounded_up(text, tokens) -> None:
    assert estimate_tokens(text) == tokens


def test_a_request_costs_its_texts_plus_a_few_tokens_per_message() -> None:
    messages = [{"role": "system", "content": "x" * 35}, {"role": "user", "content": "y" * 7}]
    assert estimate_messages(messages) == PER_REQUEST + 2 * PER_MESSAGE + 10 + 2


@pytest.mark.parametrize(
    ("window", "max_tokens", "reserve"),
    [
        (8192, None, 2048),  # a quarter of the window
        (1024, None, MIN_RESERVE),  # but at least 512
        (600, None, 300),  # and never more than half the window
        (8192, 1000, 1000),  # a capped reply needs only its cap
        (8192, 6000, 4096),
        (8192, 0, 2048),  # 0 means "no cap"
    ],
)
def test_reply_reserve(window, max_tokens, reserve) -> None:
    assert reply_reserve(window, max_tokens) == reserve


# -- what is kept --------------------------------------------------------------------------


def test_split_keeps_turns_together_and_the_current_prompt_with_its_continuation() -> None:
    history = [{"role": "assistant", "content": "hello"}, *chat(2, 5)]
    messages = continuation(build_messages("now", history=history), "partial")
    head, turns, tail = split_turns(messages)
    assert contents(head) == [SYSTEM_PROMPT]
    assert [contents(t) for t in turns] == [
        ["hello"],  # a reply without its question is a turn of its own
        ["question 0 qqqqq", "answer 0 aaaaa"],
        ["question 1 qqqqq", "answer 1 aaaaa"],
    ]
    assert contents(tail) == ["now", "partial"]


def test_a_short_chat_is_sent_whole() -> None:
    messages = build_messages("hi", history=chat(3))
    fit = fit_messages(messages, Window(8192, "loaded"))
    assert fit.messages == messages
    assert (fit.kept, fit.dropped) == (3, 0)
    assert fit.tokens == estimate_messages(messages) <= fit.budget


def test_the_oldest_turns_go_first_and_the_rest_fits_the_budget() -> None:
    history = chat(40)  # 80 messages of ~200 tokens: far over a 4096 window
    context = [("notes.md", "n" * 1400)]
    messages = build_messages("the current prompt", context, history)
    fit = fit_messages(messages, Window(4096, "loaded"))
    assert fit.budget == 4096 - 1024
    assert 0 < fit.kept < 40 and fit.kept + fit.dropped == 40
    assert fit.tokens == estimate_messages(fit.messages) <= fit.budget
    # one more turn would not have fitted
    next_older = history[2 * fit.dropped - 2 : 2 * fit.dropped]
    assert fit.tokens + estimate_messages(next_older) - PER_REQUEST > fit.budget
    sent = contents(fit.messages)
    assert sent[0] == SYSTEM_PROMPT
    assert sent[-1] == messages[-1]["content"]  # the prompt with its context file, whole
    assert "n" * 1400 in sent[-1] and sent[-1].endswith("the current prompt")
    # the newest turns, in order, as whole pairs
    assert sent[1:-1] == contents(history[2 * fit.dropped :])
    assert sent[1].startswith(f"question {fit.dropped} ")


def test_a_history_bringing_its_own_system_prompt_keeps_it() -> None:
    history = [{"role": "system", "content": "be terse"}, *chat(30)]
    fit = fit_messages(build_messages("q", history=history), Window(2048, "loaded"))
    assert fit.dropped > 0
    assert fit.messages[0] == {"role": "system", "content": "be terse"}
    assert fit.messages[1]["role"] == "user"


def test_a_failover_continuation_stays_at_the_end() -> None:
    messages = continuation(build_messages("q", history=chat(30)), "the reply so far")
    fit = fit_messages(messages, Window(2048, "default"))
    assert fit.dropped > 0
    assert fit.messages[-2:] == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "the reply so far"},
    ]


def test_a_prompt_over_the_budget_goes_whole_without_history() -> None:
    prompt = "p" * 6300  # 1800 tokens: over a 2048 window's budget of 1536, under the window
    fit = fit_messages(build_messages(prompt, history=chat(5)), Window(2048, "loaded"))
    assert (fit.kept, fit.dropped) == (0, 5)
    assert contents(fit.messages) == [SYSTEM_PROMPT, prompt]
    assert fit.tokens > fit.budget


def test_a_prompt_over_the_whole_window_is_never_cut() -> None:
    """The server's own error tells the user (and the router falls back)."""
    prompt = "p" * 40_000
    fit = fit_messages(build_messages(prompt, history=chat(3)), Window(2048, "loaded"))
    assert contents(fit.messages) == [SYSTEM_PROMPT, prompt]
    assert fit.tokens > 2048 and fit.dropped == 3


def test_the_budget_follows_a_reply_cap() -> None:
    messages = build_messages("q", history=chat(60))
    capped = fit_messages(messages, Window(8192, "loaded"), max_tokens=512)
    uncapped = fit_messages(messages, Window(8192, "loaded"))
    assert capped.budget == 8192 - 512 and uncapped.budget == 8192 - 2048
    assert capped.kept > uncapped.kept


def test_signal_names_the_figures() -> None:
    fit = fit_messages(build_messages("q", history=chat(40)), Window(4096, "loaded"))
    assert fit.signal() == ContextSignal(
        context_length=4096,
        source="loaded",
        budget=fit.budget,
        estimated_tokens=fit.tokens,
        turns_kept=fit.kept,
        turns_dropped=fit.dropped,
    )


# -- where the window figure comes from ----------------------------------------------------


def state(kind: str, *models: ModelInfo) -> BackendState:
    return BackendState(name=kind, endpoint="http://127.0.0.1:1", kind=kind, tier="fast",
                        models=models)


def test_a_loaded_model_uses_the_servers_figure() -> None:
    lms = state("openai", ModelInfo("qwen/qwen3-8b", loaded=True, context_length=4096))
    assert window_for(lms, "qwen3-8b") == Window(4096, "loaded", "qwen3-8b")
    ollama = state("ollama", ModelInfo("llama3.2:latest", loaded=True, context_length=32768))
    assert window_for(ollama, "llama3.2") == Window(32768, "loaded", "llama3.2")


def test_a_model_not_loaded_gets_the_default_or_its_smaller_trained_maximum() -> None:
    big = state("openai", ModelInfo("qwen", loaded=False, context_length=131072))
    assert window_for(big, "qwen") == Window(DEFAULT_CONTEXT_LENGTH, "default", "qwen")
    small = state("openai", ModelInfo("tiny", loaded=False, context_length=2048))
    assert window_for(small, "tiny") == Window(2048, "trained", "tiny")


def test_unknown_figures_fall_back_to_the_kinds_default() -> None:
    assert window_for(state("openai"), "qwen").tokens == DEFAULT_CONTEXT_LENGTH
    assert window_for(state("openai"), None) == Window(DEFAULT_CONTEXT_LENGTH, "default")
    cold = state("ollama", ModelInfo("codellama:34b", loaded=False))
    assert window_for(cold, "codellama:34b") == Window(KIND_DEFAULTS["ollama"], "default",
                                                       "codellama:34b")
    loaded_but_silent = state("ollama", ModelInfo("old", loaded=True))  # an older /api/ps
    assert window_for(loaded_but_silent, "old").source == "default"
    other = state("openai", ModelInfo("other", loaded=True, context_length=999))
    assert window_for(other, "qwen").tokens == DEFAULT_CONTEXT_LENGTH


def test_a_model_marked_loaded_by_a_reply_forgets_its_trained_maximum() -> None:
    """LM Studio lists a model it has not loaded with its trained maximum; once a reply has
    loaded it (just in time), that figure is not the window it was loaded with."""
    from hybrid_tui.backends import make_backend
    from hybrid_tui.config import default_backends
    from hybrid_tui.health import HealthMonitor

    backend = make_backend(default_backends()["lmstudio"], client=None)  # type: ignore[arg-type]
    monitor = HealthMonitor({"lmstudio": backend}, interval=30, timeout=1)
    monitor.note_models("lmstudio", [ModelInfo("qwen", loaded=False, context_length=32768)])
    assert window_for(monitor.state("lmstudio"), "qwen").tokens == DEFAULT_CONTEXT_LENGTH
    monitor.note_loaded("lmstudio", "qwen")
    after = monitor.state("lmstudio")
    assert after.models[0].loaded and after.models[0].context_length is None
    assert window_for(after, "qwen") == Window(DEFAULT_CONTEXT_LENGTH, "default", "qwen")
