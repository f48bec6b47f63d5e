"""Make untrusted text (model output, pasted prompts) safe to put on a terminal.

Model output must never reach the terminal as control codes: an ``ESC`` could retitle the
window, clear the screen or plant an OSC 8 link. Every C0/C1 control character other than
newline and tab, DEL, and the bidirectional overrides that can disguise code, is replaced by a
visible stand-in, so the user sees *that* something odd arrived, not its effect.

Markup is a separate concern: callers never pass this text through a markup parser (they build
``Content``/``Text`` objects from it), so ``[bold red]x[/]`` stays literal.
"""

from __future__ import annotations

import re

# U+2400..U+241F are the "Control Pictures" for 0x00..0x1F (e.g. ESC -> U+241B).
_C0 = {code: chr(0x2400 + code) for code in range(0x20) if chr(code) not in "\n\t"}
_TABLE: dict[int, str] = {
    **_C0,
    0x7F: "\u2421",  # DEL
    **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)},  # C1, incl. CSI 0x9b
    # bidi embeddings/overrides/isolates ("Trojan Source")
    **{code: f"<U+{code:04X}>" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))},
}
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def sanitize(text: str) -> str:
    """``text`` with every unsafe control character replaced by a visible symbol.

    ``\\r\\n`` becomes ``\\n`` first (Windows line ends are not an attack); a lone ``\\r`` is
    shown as U+240D. Fast path: text without anything unsafe is returned unchanged.
    """
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    if not _UNSAFE.search(text):
        return text
    return text.translate(_TABLE)


def excerpt(text: str, width: int = 48) -> str:
    """One safe line of at most ``width`` characters, whitespace collapsed, ``…`` if cut."""
    line = " ".join(sanitize(text).split())
    return line if len(line) <= width else line[: max(1, width - 1)].rstrip() + "…"
