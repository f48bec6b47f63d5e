"""The simulators' pure parts: tokenizer, replies, faults from the command line, byte
splitting, Go-style JSON and timestamps, model metadata."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybrid_tui.config import default_backends
from hybrid_tui.sim import Fault, SimKnobs, parse_fault, reply_for, tokenize
from hybrid_tui.sim.catalog import meta
from hybrid_tui.sim.http import Splitter
from hybrid_tui.sim.knobs import DEFAULT_MODELS
from hybrid_tui.sim.ollama import go_json, normalise, parse_keep_alive, rfc3339nano
from hybrid_tui.sim.replies import reply_pieces
from hybrid_tui.sim.tokens import fit_tokens

# -- tokens ------------------------------------------------------------------------------


@given(st.text())
def test_tokens_join_back_to_the_text(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_tokens_look_like_model_tokens() -> None:
    pieces = tokenize("def quicksort(items):\n    return extraordinarily")
    assert pieces[:4] == ["def", " qui", "ckso", "rt"]
    assert "\n" in pieces and "    " in pieces and "(" in pieces
    assert all(len(p) <= 8 for p in pieces)


def test_fit_tokens_repeats_or_trims() -> None:
    pieces = tokenize("one two three")
    assert fit_tokens(pieces, 2) == ["one", " two"]
    longer = fit_tokens(pieces, 10)
    assert len(longer) == 10 and longer[3:5] == ["\n", "\n"]
    assert fit_tokens(pieces, 0) == []


# -- replies -----------------------------------------------------------------------------

PROMPTS = {
    "write quicksort in python": "```python",
    "quicksort in rust please": "```rust",
    "refactor this function": "```diff",
    "analyze this complex system architecture": "## ",
    "format this code": "```python",
    "write unit tests for the cart": "```python",
    "debug this crash": "```python",
    "how do I start a side project?": "```python",
}


@pytest.mark.parametrize("prompt", PROMPTS)
def test_replies_are_code_shaped_and_realistic_length(prompt: str) -> None:
    reply = reply_for(prompt)
    assert reply == reply_for(prompt)  # deterministic
    assert 150 <= len(tokenize(reply)) <= 600
    assert PROMPTS[prompt] in reply
    assert reply.count("```") % 2 == 0  # every fence is closed
    assert any(ord(c) > 0x7F for c in reply)  # something for split_utf8 to cut


def test_replies_differ_by_prompt_type() -> None:
    assert len({reply_for(p) for p in PROMPTS}) == len(PROMPTS)


def test_format_reply_echoes_the_given_code_cleaned_up() -> None:
    reply = reply_for("format this code:\n```js\nlet x=1;   \n\tif (x) {y()}\n```")
    assert "let x=1;\n    if (x) {y()}" in reply


def test_words_match_whole_words_only() -> None:
    assert "```diff" not in reply_for("the tests in the prefactor module")  # not "refactor"


# -- knobs and faults --------------------------------------------------------------------


def test_parse_fault_forms() -> None:
    assert parse_fault("die:60") == Fault("die", after_tokens=60)
    assert parse_fault("status:503") == Fault("status", status=503)
    assert parse_fault("error-line:3") == Fault("error_line", after_tokens=3)
    assert parse_fault("refuse") == Fault("refuse")
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault("explode")
    with pytest.raises(ValueError, match="whole number"):
        parse_fault("die:soon")
    with pytest.raises(ValueError):
        Fault("nope")


def test_default_models_match_the_default_config_preferences() -> None:
    backends = default_backends()
    lm, ol = DEFAULT_MODELS["openai"], DEFAULT_MODELS["ollama"]
    assert backends["lmstudio"].models[0] in lm[0]
    assert backends["ollama"].models[0] == ol[0]
    assert "qwen2.5:72b" in ol and any("embed" in m for m in lm) and any("embed" in m for m in ol)


def test_knobs_fill_kind_defaults_and_notify_on_fault() -> None:
    knobs = SimKnobs(models=["a:latest", "nomic-embed-text:latest"])
    knobs.adopt_defaults("ollama")
    assert knobs.loaded == ["a:latest"]
    seen: list[str] = []
    knobs._listeners.append(seen.append)
    knobs.fault = Fault("refuse")
    knobs.reply = "x"
    assert seen == ["fault"]
    assert SimKnobs().effective_parallel("ollama") == 1
    assert SimKnobs().effective_parallel("openai") == 4


# -- byte splitting ----------------------------------------------------------------------


@given(st.lists(st.text(min_size=1), min_size=1, max_size=8), st.integers(0, 1000))
def test_splitter_keeps_every_byte_in_order(parts: list[str], seed: int) -> None:
    splitter = Splitter(seed=seed)
    out = b""
    for part in parts:
        out += b"".join(f for f, _ in splitter.feed(part.encode()))
    out += splitter.flush()
    assert out == "".join(parts).encode()


def test_splitter_cuts_inside_characters_and_between_cr_lf() -> None:
    data = 'data: {"c":"é→🙂"}\r\n\r\n'.encode()
    fragments = [f for f, _ in Splitter(seed=1).feed(data)]
    ends = set()
    pos = 0
    for f in fragments:
        pos += len(f)
        ends.add(pos)
    for i in range(1, len(data)):
        if 0x80 <= data[i] < 0xC0 or data[i - 1 : i + 1] == b"\r\n":
            assert i in ends, f"no cut at {i}"


# -- Ollama details ----------------------------------------------------------------------


def test_go_json_is_compact_and_escapes_html() -> None:
    out = go_json({"a": "<b>&é", "n": [1, 2]})
    assert out == '{"a":"\\u003cb\\u003e\\u0026é","n":[1,2]}'.encode()
    assert json.loads(out) == {"a": "<b>&é", "n": [1, 2]}


def test_rfc3339nano_trims_trailing_zeros_like_go() -> None:
    assert rfc3339nano(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"
    assert rfc3339nano(1_700_000_000_120_000_000) == "2023-11-14T22:13:20.12Z"
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, 300.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("30s", 30.0),
        (120, 120.0),
        ("0", 0.0),
        (-1, -1.0),
        ("-1m", -60.0),
        ("250ms", 0.25),
    ],
)
def test_keep_alive_values(value: object, seconds: float) -> None:
    assert parse_keep_alive(value) == pytest.approx(seconds)


def test_keep_alive_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_keep_alive("soon")


def test_model_names_normalise_the_latest_tag() -> None:
    assert normalise("llama3.2") == normalise("llama3.2:latest") == "llama3.2:latest"
    assert normalise("user/model") == "user/model:latest"
    assert normalise("codellama:34b") == "codellama:34b"


def test_model_metadata_is_plausible() -> None:
    big, small, emb = (
        meta("codellama:34b"),
        meta("qwen2.5-coder-7b-instruct"),
        meta("nomic-embed-text:latest"),
    )
    assert big.parameter_size == "34B" and small.parameter_size == "7B"
    assert big.size > small.size > emb.size > 0
    assert emb.embedding and not big.embedding
    assert re.fullmatch(r"[0-9a-f]{64}", big.digest)
    assert meta("llama3.2:latest").trained_context == 131072


def test_reply_pieces_force_the_length_exactly() -> None:
    chat = [{"role": "user", "content": "write quicksort"}]
    for n in (1, 7, 40, 900):
        assert len(reply_pieces(chat, tokens=n)) == n
    assert "".join(reply_pieces(chat)) == reply_for("write quicksort")


@pytest.mark.parametrize("cut", [0, 1, 57, 200])
def test_reply_pieces_continue_after_an_assistant_prefix(cut: int) -> None:
    full = reply_for("write quicksort")
    chat = [
        {"role": "user", "content": "write quicksort"},
        {"role": "assistant", "content": full[:cut]},
    ]
    rest = "".join(reply_pieces(chat))
    assert full[:cut] + rest == full
    if cut:
        assert len(rest) == len(full) - cut  # only the rest, not the whole answer again


def test_reply_pieces_ignore_a_foreign_assistant_prefix() -> None:
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Nope"}]
    assert "".join(reply_pieces(chat, fixed="Yes indeed")) == "Yes indeed"
