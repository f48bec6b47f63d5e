"""Terminal-safe text: one definition of the characters that must never reach a terminal
raw, and two renderings of them.

Model output, server replies and pasted prompts are untrusted: an ``ESC`` can retitle the
window, clear the screen or plant an OSC 8 link, a C1 ``CSI`` (0x9b) does the same in one
byte, and the bidirectional embeddings, overrides and isolates can make code read other than
it runs ("Trojan Source"). The unsafe characters are every C0 control but newline and tab,
DEL, every C1 control, U+202A..U+202E and U+2066..U+2069.

- :func:`sanitize` / :func:`excerpt` (the TUI) replace each with a visible stand-in, so the
  reader sees *that* something odd arrived, not its effect.
- :func:`strip_control` / :class:`TerminalSanitizer` (the CLI, whose output may be piped or
  copied) remove them, together with the escape sequence or control string each one starts,
  statefully, so a sequence split across streamed chunks goes the same as a whole one.

Markup is a separate concern: callers never pass this text through a markup parser.
"""

from __future__ import annotations

import re

#: the unsafe characters, as inclusive code-point ranges
UNSAFE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08),  # C0 before tab
    (0x0B, 0x1F),  # C0 after newline, including CR and ESC
    (0x7F, 0x9F),  # DEL and C1 (CSI 0x9b, OSC 0x9d, ...)
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2066, 0x2069),  # bidi isolates
)
UNSAFE = re.compile("[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in UNSAFE_RANGES) + "]")


def _stand_in(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)  # the "Control Pictures" block: ESC -> U+241B
    if code == 0x7F:
        return "\u2421"  # DEL
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


_STAND_INS = {code: _stand_in(code) for a, b in UNSAFE_RANGES for code in range(a, b + 1)}


def sanitize(text: str) -> str:
    """``text`` with every unsafe character replaced by a visible stand-in.

    ``\\r\\n`` becomes ``\\n`` first (Windows line ends are not an attack); a lone ``\\r`` is
    shown as U+240D. Fast path: text without anything unsafe is returned unchanged.
    """
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if not UNSAFE.search(text):
        return text
    return text.translate(_STAND_INS)


def excerpt(text: str, width: int = 48) -> str:
    """One safe line of at most ``width`` characters, whitespace collapsed, ``…`` if cut."""
    line = " ".join(sanitize(text).split())
    return line if len(line) <= width else line[: max(1, width - 1)].rstrip() + "…"


# --------------------------------------------------------------------------- stripping

_ESC, _BEL, _ST8 = "\x1b", "\x07", "\x9c"
#: 8-bit C1 introducers: CSI, and the string controls DCS, SOS, OSC, PM, APC
_C1_CSI = "\x9b"
_C1_STRINGS = "\x90\x98\x9d\x9e\x9f"
#: after ESC, these start a control string that runs to BEL or ST (ESC \\)
_ESC_STRINGS = "]PX^_"
#: a control string longer than this is treated as never terminated: text shows again
MAX_CONTROL_STRING = 4096

_TEXT, _AFTER_ESC, _ESC_INTER, _CSI, _STRING, _STRING_ESC = range(6)


class TerminalSanitizer:
    """Removes unsafe characters, and the sequences they start, from streamed text.

    This drops CSI and other ESC sequences, OSC/DCS/APC/PM/SOS strings (7- and 8-bit forms)
    and every other unsafe character (see the module docstring). State survives between
    :meth:`feed` calls, so a sequence split across two chunks is removed the same as a whole
    one.
    """

    def __init__(self) -> None:
        self._state = _TEXT
        self._string_len = 0

    def feed(self, text: str) -> str:
        """The printable part of ``text``, given everything fed before it."""
        if self._state == _TEXT and not UNSAFE.search(text):
            return text  # the common case: a chunk of plain model output
        out: list[str] = []
        for ch in text:
            self._step(ch, out)
        return "".join(out)

    def _step(self, ch: str, out: list[str]) -> None:
        state = self._state
        if state == _TEXT:
            self._text(ch, out)
        elif state == _AFTER_ESC:
            if ch == "[":
                self._state = _CSI
            elif ch in _ESC_STRINGS:
                self._begin_string()
            elif "\x20" <= ch <= "\x2f":
                self._state = _ESC_INTER
            elif "\x30" <= ch <= "\x7e":
                self._state = _TEXT  # a two-character escape such as ESC c (reset)
            else:
                self._abort(ch, out)
        elif state == _ESC_INTER:
            if "\x30" <= ch <= "\x7e":
                self._state = _TEXT
            elif not "\x20" <= ch <= "\x2f":
                self._abort(ch, out)
        elif state == _CSI:
            if "\x40" <= ch <= "\x7e":
                self._state = _TEXT  # the final byte
            elif not "\x20" <= ch <= "\x3f":
                self._abort(ch, out)
        elif state == _STRING:
            self._string_len += 1
            if ch in (_BEL, _ST8):
                self._state = _TEXT
            elif ch == _ESC:
                self._state = _STRING_ESC
            elif self._string_len > MAX_CONTROL_STRING:
                self._state = _TEXT
        else:  # _STRING_ESC: ESC \ ends the string; ESC anything-else starts a new sequence
            self._state = _TEXT if ch == "\\" else _AFTER_ESC
            if ch != "\\":
                self._step(ch, out)

    def _text(self, ch: str, out: list[str]) -> None:
        if ch == _ESC:
            self._state = _AFTER_ESC
        elif ch == _C1_CSI:
            self._state = _CSI
        elif ch in _C1_STRINGS:
            self._begin_string()
        elif ord(ch) not in _STAND_INS:
            out.append(ch)
        # every other unsafe character (C0 controls, \r, DEL, C1, bidi controls) is dropped

    def _begin_string(self) -> None:
        self._state = _STRING
        self._string_len = 0

    def _abort(self, ch: str, out: list[str]) -> None:
        """A malformed sequence: drop what was read of it and read ``ch`` as text."""
        self._state = _TEXT
        self._text(ch, out)


def strip_control(text: str) -> str:
    """``text`` without unsafe characters or the sequences they start (one whole string)."""
    return TerminalSanitizer().feed(text)
