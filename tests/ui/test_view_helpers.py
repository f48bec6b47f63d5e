"""Unit tests for the view's pure helpers: sanitising, themes, exports, remembered state."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hybrid_tui.events import Done, Failover
from hybrid_tui.safetext import excerpt, sanitize
from hybrid_tui.ui import prefs
from hybrid_tui.ui.export import (
    ReplyRecord,
    TurnRecord,
    code_blocks,
    in_open_fence,
    transcript_markdown,
)
from hybrid_tui.ui.themes import ThemeFileError, load_theme_file, load_themes
from hybrid_tui.ui.widgets.prompt import sent_text, shown_text
from hybrid_tui.ui.widgets.routing_log import short_route
from hybrid_tui.ui.widgets.turn import stats_content
from hybrid_tui.ui.widgets.turn_text import (
    PROMPT_CHARS,
    failover_cause,
    failover_marker,
    prompt_content,
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text\n\tindented", "plain text\n\tindented"),
        ("\x1b[2J", "␛[2J"),
        ("\x1b]0;title\x07", "␛]0;title␇"),
        ("\x1b]8;;http://x\x1b\\link", "␛]8;;http://x␛\\link"),
        ("a\r\nb", "a\nb"),
        ("a\rb", "a␍b"),
        ("nul\x00 del\x7f csi\x9b", "nul␀ del␡ csi\\x9b"),
        ("\u202eevil", "<U+202E>evil"),
        ("[bold red]x[/]", "[bold red]x[/]"),  # markup is not our business here: kept
    ],
)
def test_sanitize_makes_control_codes_visible(raw, shown):
    assert sanitize(raw) == shown


def test_excerpt_is_one_safe_line():
    assert excerpt("one\ntwo   three\x1b", 40) == "one two three␛"
    assert excerpt("x" * 100, 10) == "x" * 9 + "…"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: t\nprimary: [oops\n", "not valid YAML (line"),
        ("- a list\n", "expected a mapping"),
        ("primary: '#fff'\n", "name: required"),
        ("name: t\n", "primary: required"),
        ("name: t\nprimary: '#fff'\nsurfase: '#000'\n", "unknown key 'surfase'"),
        ("name: t\nprimary: not-a-colour\n", "'not-a-colour' is not a colour"),
        ("name: t\nprimary: '#fff'\ndark: maybe\n", "dark: expected true or false"),
        ("name: t\nprimary: '#fff'\nvariables: [1]\n", "variables: expected a mapping"),
    ],
)
def test_bad_theme_files_say_what_is_wrong(tmp_path, text, problem):
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(ThemeFileError) as err:
        load_theme_file(path)
    assert str(err.value).startswith("bad.yaml: ") and problem in str(err.value)


def test_load_themes_skips_bad_files_and_later_dirs_override(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    _write(first, "one.yaml", "name: one\nprimary: '#111111'\n")
    _write(second, "one.yml", "name: one\nprimary: '#222222'\ndark: false\n")
    _write(second, "broken.yaml", "name: [\n")
    themes = load_themes([first, second, tmp_path / "missing"])
    assert themes.themes["one"].primary == "#222222" and themes.themes["one"].dark is False
    assert len(themes.problems) == 1 and "broken.yaml" in themes.problems[0]


def test_code_blocks_in_order_including_an_unclosed_one():
    text = "a\n```py\nx = 1\n```\nb\n~~~\ny\n~~~~\n````\nz\n```\nstill z\n````\n```\nopen"
    assert code_blocks(text) == ["x = 1", "y", "z\n```\nstill z", "open"]


def test_transcript_markdown_is_sanitised():
    turns = [
        TurnRecord(number=1, stamp="09:30:00", prompt="hi\x1b[2J", badge="reason", status="done",
                   replies=[ReplyRecord("lmstudio", "m", "answer\x07", "done")]),
    ]
    text = transcript_markdown(turns, title="t", now=0)
    assert "\x1b" not in text and "\x07" not in text
    assert "hi␛[2J" in text and "answer␇" in text and "**lmstudio**" in text


def test_stats_line_and_durations():
    done = Done(backend="b", model="m", ttft_ms=120.4, tokens=412, tokens_per_s=85.33,
                confidence=0.8249, escalated=False, total_ms=1520.0)
    line = stats_content(done).plain
    assert line == ("TTFT 120 ms  ·  412 tokens  ·  85.3 tok/s  ·  confidence 0.82  ·  "
                    "total 1.52 s")


def test_short_route():
    assert short_route("fallback ollama → lmstudio") == "↯ ollama→lmstudio"
    assert short_route("escalated lmstudio → ollama") == "↑ lmstudio→ollama"


def test_ui_state_round_trip_and_precedence(tmp_path):
    path = tmp_path / "state.json"
    assert prefs.load_state(path) == prefs.UIState()
    prefs.save_state(prefs.UIState(theme="mine", config_theme="hybrid-dark"), path)
    state = prefs.load_state(path)
    assert state.theme_for("hybrid-dark") == "mine"
    assert state.theme_for("hybrid-light") == "hybrid-light"  # the config was edited since
    path.write_text("not json")
    assert prefs.load_state(path) == prefs.UIState()


def _failover(reason: str, kind: str = "stream") -> Failover:
    return Failover(from_backend="ollama", to_backend="lmstudio", model="m",
                    tokens_so_far=60, reason=reason, error_kind=kind)


def test_failover_marker_names_both_and_the_cause():
    said = _failover("ollama failed after 60 tokens (connection dropped (eof)); lmstudio "
                     "continues the reply")
    assert failover_cause(said) == "connection dropped (eof)"
    assert failover_marker(said) == (
        "⤷ ollama failed after 60 tokens (connection dropped (eof)) — lmstudio continues")
    # another wording: the error kind stands in; control codes never pass
    assert failover_cause(_failover("it broke", "stall")) == "stall"
    assert "\x1b" not in failover_marker(_failover("x\x1b[2J", ""))


def test_stats_line_names_both_backends_and_shows_the_rating_first():
    done = Done(backend="lmstudio", model="m", ttft_ms=120.0, tokens=90, tokens_per_s=85.3,
                confidence=0.9, escalated=False, total_ms=1520.0, failover_from="ollama")
    assert stats_content(done).plain.endswith("total 1.52 s  ·  ollama ⤷ lmstudio")
    assert stats_content(done, rating=True).plain.startswith("👍  TTFT")
    assert stats_content(done, rating=False).plain.startswith("👎  TTFT")


def test_a_long_prompt_is_cut_for_display_only():
    prompt = "x" * 10_000
    shown = prompt_content(prompt, "09:30:00", None).plain
    assert shown.endswith(f"… ({10_000 - PROMPT_CHARS:,} more characters)")
    lines = "\n".join(f"line {i}" for i in range(100))
    shown = prompt_content(lines, "09:30:00", "ollama").plain
    assert "line 39" in shown and "line 40" not in shown and "more characters)" in shown
    assert prompt_content("short", "t", None).plain == "You  t\nshort"


def test_open_fences():
    assert in_open_fence("text\n```python\nx = 1")
    assert not in_open_fence("text\n```python\nx = 1\n```\nafter")
    assert in_open_fence("~~~~\n```\nstill in the tilde block")
    assert not in_open_fence("no code at all")


@pytest.mark.parametrize(
    "text",
    ["plain", "esc \x1b]0;t\x07 c1 \x9b bidi \u202e\u2066 del \x7f", "tab\tnl\n", ""],
)
def test_prompt_stand_ins_round_trip(text):
    shown = shown_text(text)
    assert sent_text(shown) == text
    # nothing a terminal would act on: C0 but newline and tab, DEL, C1, bidi overrides
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", shown)


def test_carriage_returns_become_line_ends_in_the_prompt():
    assert shown_text("a\r\nb\rc") == "a\nb\nc"
