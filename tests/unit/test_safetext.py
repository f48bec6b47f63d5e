"""Terminal-safe text: the TUI's visible stand-ins and the CLI's stripping agree on what is
unsafe, because both come from one definition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybrid_tui.safetext import UNSAFE, UNSAFE_RANGES, TerminalSanitizer, sanitize, strip_control

UNSAFE_CHARS = [chr(c) for a, b in UNSAFE_RANGES for c in range(a, b + 1)]
#: text that mixes the unsafe characters with ordinary, wide and right-to-left letters
TEXT = st.text(st.one_of(st.sampled_from(UNSAFE_CHARS), st.sampled_from("ab [m;0\\]\n\t"),
                         st.characters(codec="utf-8")), max_size=40)


def is_unsafe(ch: str) -> bool:
    return any(a <= ord(ch) <= b for a, b in UNSAFE_RANGES)


@pytest.mark.parametrize("ch", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_bidi_overrides_are_unsafe_for_both(ch):
    """A right-to-left override can make code read other than it runs: the TUI shows it,
    the CLI drops it."""
    text = f"access = 'user{ch} // admin'"
    assert strip_control(text) == text.replace(ch, "")
    assert sanitize(text) == text.replace(ch, f"<U+{ord(ch):04X}>")


@given(st.characters(codec="utf-8"))
def test_every_character_is_judged_alike(ch):
    """One character alone: both renderings change it exactly when it is unsafe."""
    assert (sanitize(ch) != ch) == (strip_control(ch) != ch) == is_unsafe(ch)


@given(TEXT)
def test_both_renderings_agree_on_what_is_unsafe(text):
    """Text is left alone by both or changed by both, and neither leaves anything unsafe
    behind; what the CLI keeps is safe for the TUI as it is."""
    safe = not UNSAFE.search(text)
    assert (sanitize(text) == text) == safe == (strip_control(text) == text)
    assert not UNSAFE.search(sanitize(text))
    stripped = strip_control(text)
    assert not UNSAFE.search(stripped)
    assert sanitize(stripped) == stripped


@given(TEXT, st.data())
def test_streamed_stripping_matches_whole(text, data):
    """The stateful stripper gives the same text however a stream is cut (the fast path for
    clean chunks included)."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    stripper = TerminalSanitizer()
    assert "".join(stripper.feed(c) for c in chunks) == strip_control(text)


def test_crlf_is_a_line_end_for_both():
    assert sanitize("a\r\nb") == strip_control("a\r\nb") == "a\nb"
    assert sanitize("a\rb") == "a\u240db" and strip_control("a\rb") == "ab"
