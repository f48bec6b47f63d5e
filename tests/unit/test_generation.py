"""Generation settings as data: checks, merging a chat's override, each protocol's request
shape, the history without thinking, the trim window from num_ctx, and how the thinking and
server figures read in the stats lines."""

from __future__ import annotations

import json

import pytest

from hybrid_tui.backends.ollama import chat_body
from hybrid_tui.backends.openai import request_options
from hybrid_tui.backends.stream_parsers import OpenAIStreamParser
from hybrid_tui.cli_output import summary_line
from hybrid_tui.events import Done
from hybrid_tui.generation import (
    ChatSettings,
    GenerationOptions,
    OptionError,
    check_option,
    check_think,
    options_from,
    settings_from_dict,
)
from hybrid_tui.health import BackendState
from hybrid_tui.router.context_window import window_for
from hybrid_tui.router.messages import build_messages, without_thinking
from hybrid_tui.ui.widgets.turn_text import stats_content
from tests.support import feed

BACKEND = ChatSettings(GenerationOptions(temperature=0.1, max_tokens=2048), None, None)


def test_a_chat_override_replaces_only_what_it_sets():
    chat = ChatSettings(GenerationOptions(temperature=0.7, seed=3), system_prompt="Be terse.",
                        think="low")
    merged = BACKEND.over(chat)
    assert merged.options == GenerationOptions(temperature=0.7, max_tokens=2048, seed=3)
    assert (merged.system_prompt, merged.think) == ("Be terse.", "low")
    assert BACKEND.over(None) is BACKEND
    assert BACKEND.over(ChatSettings()) == BACKEND
    # "" (no system prompt) and think false are values, not "unset"
    off = BACKEND.over(ChatSettings(system_prompt="", think=False))
    assert (off.system_prompt, off.think) == ("", False)


def test_the_values_in_force_read_as_rows():
    assert BACKEND.describe() == [("temperature", "0.1"), ("max_tokens", "2048"),
                                  ("system prompt", "built-in"), ("think", "server default")]
    chat = ChatSettings(GenerationOptions(stop=("###", "END")), "Be terse.\nAlways.", True)
    assert chat.describe() == [("stop", "'###', 'END'"), ("system prompt", "Be terse."),
                               ("think", "on")]
    assert ChatSettings(system_prompt="", think="low").describe()[-2:] == [
        ("system prompt", "none"), ("think", "low")]


def test_settings_come_back_typed_from_json():
    """A stored turn or an ask --json line gives its settings back as ChatSettings."""
    from hybrid_tui.events import Decision, event_to_dict
    from hybrid_tui.session import event_from_dict

    settings = ChatSettings(GenerationOptions(temperature=0.2, stop=("###",), keep_alive="5m"),
                            "Be terse.", "low")
    decision = Decision("ollama", "m", "edit", "simple", "why", settings=settings)
    back = event_from_dict(json.loads(json.dumps(event_to_dict(decision))))
    assert isinstance(back, Decision) and back.settings == settings
    assert settings_from_dict({"options": {"temperature": 9, "seed": 3}, "think": "max",
                               "system_prompt": 5}) == ChatSettings(GenerationOptions(seed=3))
    assert settings_from_dict(None) is None


def test_request_options_carry_only_what_is_set():
    settings = ChatSettings(GenerationOptions(temperature=0.2, stop=("###",)), think=True)
    assert settings.request_options() == {"temperature": 0.2, "stop": ["###"], "think": True}
    assert ChatSettings().request_options() == {}


def test_each_protocol_gets_its_own_shape():
    options = ChatSettings(
        GenerationOptions(temperature=0.3, top_p=0.9, max_tokens=64, seed=7, stop=("END",),
                          num_ctx=16384, keep_alive="10m"),
        think="high",
    ).request_options()
    body = chat_body([{"role": "user", "content": "hi"}], "m", options)
    assert body["options"] == {"temperature": 0.3, "top_p": 0.9, "num_predict": 64, "seed": 7,
                               "stop": ["END"], "num_ctx": 16384}
    assert body["keep_alive"] == "10m" and body["think"] == "high"
    assert request_options(options) == {"temperature": 0.3, "top_p": 0.9, "max_tokens": 64,
                                        "seed": 7, "stop": ["END"], "reasoning_effort": "high"}
    assert request_options({"think": True})["reasoning_effort"] == "medium"
    assert request_options({"think": False})["reasoning_effort"] == "none"


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("temperature", "hot", "expected a number, got a string ('hot')"),
    ("temperature", 2.5, "must be between 0 and 2, got 2.5"),
    ("temperature", float("nan"), "must be a finite number"),
    ("top_p", 0, "must be greater than 0 and at most 1, got 0"),
    ("top_p", True, "expected a number, got a boolean (true)"),
    ("max_tokens", 0, "must be between 1 and 1,000,000, got 0"),
    ("max_tokens", 1.5, "expected a whole number"),
    ("seed", -1, "must be between 0 and"),
    ("num_ctx", 100, "must be between 256 and 16,777,216, got 100"),
    ("stop", 5, "expected a list of strings, got a number (5)"),
    ("stop", [""], "expected a non-empty string"),
    ("stop", ["x"] * 17, "at most 16 stop strings, got 17"),
    ("keep_alive", "soon", "expected a duration such as 5m"),
    ("keep_alive", [], "expected a number, got a list"),
    ("top_k", 5, "unknown option"),
])  # fmt: skip
def test_bad_values_name_the_problem(key, value, problem):
    with pytest.raises(OptionError) as caught:
        check_option(key, value)
    assert caught.value.key.startswith(key)
    assert problem in caught.value.problem


def test_good_values_are_cleaned():
    assert check_option("temperature", 0) == 0.0
    assert check_option("max_tokens", 2048.0) == 2048
    assert check_option("stop", "###") == ("###",)
    assert check_option("keep_alive", "1h30m") == "1h30m"
    assert check_option("keep_alive", "-1") == -1.0
    assert check_option("keep_alive", 300) == 300.0
    assert [check_think(v) for v in (True, False, "Low", "high")] == [True, False, "low", "high"]
    with pytest.raises(OptionError, match="expected true, false, low, medium, high"):
        check_think("max")
    assert options_from({"seed": 1, "top_p": None}) == GenerationOptions(seed=1)
    with pytest.raises(OptionError, match="unknown option"):
        options_from({"temprature": 1})


def test_the_history_never_carries_a_reasoning_trace():
    history = [{"role": "user", "content": "q"},
               {"role": "assistant", "content": "<think>secret plan</think>\n\nThe answer.",
                "thinking": "more secret"}]
    sent = build_messages("next", history=history, system=None)
    assert sent[1] == {"role": "assistant", "content": "The answer."}
    assert "secret" not in json.dumps(sent)
    assert without_thinking("code mentions <think> later") == "code mentions <think> later"


def test_num_ctx_is_the_window_on_ollama_only():
    ollama = BackendState("ollama", "http://x", "ollama", "strong")
    lmstudio = BackendState("lms", "http://x", "openai", "fast")
    configured = window_for(ollama, "m", 16384)
    assert (configured.tokens, configured.source) == (16384, "configured")
    assert window_for(ollama, "m").source == "default"
    assert window_for(lmstudio, "m", 16384).source == "default"


def test_llama_cpp_timings_and_reasoning_token_counts_are_read():
    chunk = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
             "timings": {"prompt_n": 31, "prompt_ms": 61.5, "predicted_n": 38,
                         "predicted_ms": 498.7, "predicted_per_second": 76.2}}
    usage = {"choices": [], "usage": {"prompt_tokens": 31, "completion_tokens": 38,
                                      "completion_tokens_details": {"reasoning_tokens": 20}}}
    parser = OpenAIStreamParser()
    feed(parser, [f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(usage)}\n\n"
                  "data: [DONE]\n\n".encode()])
    assert parser.server_tokens_per_s == 76.2 and parser.reasoning_tokens == 20
    assert parser.extra["prompt_eval_ms"] == 61.5 and parser.extra["eval_ms"] == 498.7


DONE = Done(backend="ollama", model="qwen3:8b", ttft_ms=1200.0, tokens=412, tokens_per_s=85.3,
            confidence=0.82, escalated=False, total_ms=1520.0, thinking_ttft_ms=80.0,
            thinking_ms=1100.0, thinking_tokens=40, server_tokens_per_s=88.14,
            server_prompt_ms=35.0, server_prompt_tokens=31, server_load_ms=5102.3,
            cold_load=True)


def test_the_stats_line_puts_server_figures_beside_the_clients():
    assert stats_content(DONE).plain == (
        "first thought 80 ms  ·  TTFT 1.20 s  ·  412 tokens  ·  85.3 tok/s (server 88.1, "
        "prompt 35 ms)  ·  cold load 5.10 s  ·  confidence 0.82  ·  total 1.52 s")
    prompt_only = Done(backend="b", model="m", ttft_ms=120.0, tokens=9, tokens_per_s=9.0,
                       confidence=None, escalated=False, total_ms=200.0, server_prompt_ms=12.0)
    assert "9.0 tok/s (prompt 12 ms)  ·  confidence" in stats_content(prompt_only).plain
    plain = Done(backend="b", model="m", ttft_ms=120.0, tokens=9, tokens_per_s=None,
                 confidence=None, escalated=False, total_ms=200.0)
    assert stats_content(plain).plain == (
        "TTFT 120 ms  ·  9 tokens  ·  – tok/s  ·  confidence –  ·  total 200 ms")


def test_the_ask_summary_names_thinking_server_figures_and_a_cold_load():
    line = summary_line(DONE)
    assert ("TTFT 1.20 s · first thought 80 ms · thought 1.10 s · 40 tokens · 85.3 tok/s · "
            "server 88.1 tok/s · prompt 35 ms (31 tokens) · cold load 5.10 s") in line
