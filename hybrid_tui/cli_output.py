"""Rendering for the headless CLI: making untrusted text terminal-safe, the one-line reply
summary, start-up hints, and the stderr console. Imports rich only when something is printed."""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from hybrid_tui.events import Decision, Done, Escalation, Failover, Fallback, Waiting

PROG = "hybrid-tui"
#: table width when stdout is not a terminal
PIPED_WIDTH = 160

_ESC, _BEL, _ST8 = "\x1b", "\x07", "\x9c"
#: 8-bit C1 introducers: CSI, and the string controls DCS, SOS, OSC, PM, APC
_C1_CSI = "\x9b"
_C1_STRINGS = "\x90\x98\x9d\x9e\x9f"
#: after ESC, these start a control string that runs to BEL or ST (ESC \\)
_ESC_STRINGS = "]PX^_"
#: a control string longer than this is treated as never terminated: text shows again
MAX_CONTROL_STRING = 4096

_TEXT, _AFTER_ESC, _ESC_INTER, _CSI, _STRING, _STRING_ESC = range(6)
#: every character the state machine does anything but copy, for the fast path
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class TerminalSanitizer:
    """Removes terminal control sequences from streamed text, chunk by chunk.

    Model output is untrusted: an escape sequence can clear the screen, set the window title,
    plant a hyperlink or rewrite the clipboard. This drops CSI and other ESC sequences, OSC/DCS/
    APC/PM/SOS strings (7- and 8-bit forms), C0 controls except newline and tab, carriage
    returns, DEL and C1 controls. State survives between :meth:`feed` calls, so a sequence split
    across two chunks is removed the same as a whole one.
    """

    def __init__(self) -> None:
        self._state = _TEXT
        self._string_len = 0

    def feed(self, text: str) -> str:
        """The printable part of ``text``, given everything fed before it."""
        if self._state == _TEXT and not _CONTROL.search(text):
            return text  # the common case, on the per-token path: nothing to take out
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
        code = ord(ch)
        if ch == _ESC:
            self._state = _AFTER_ESC
        elif ch == _C1_CSI:
            self._state = _CSI
        elif ch in _C1_STRINGS:
            self._begin_string()
        elif ch in "\n\t" or (code >= 0x20 and code != 0x7F and not 0x80 <= code <= 0x9F):
            out.append(ch)
        # everything else (other C0 controls, \r, DEL, C1 controls) is dropped

    def _begin_string(self) -> None:
        self._state = _STRING
        self._string_len = 0

    def _abort(self, ch: str, out: list[str]) -> None:
        """A malformed sequence: drop what was read of it and read ``ch`` as text."""
        self._state = _TEXT
        self._text(ch, out)


def strip_control(text: str) -> str:
    """``text`` without terminal control sequences (for one complete string)."""
    return TerminalSanitizer().feed(text)


# --------------------------------------------------------------------------- figures


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.1f} s" if ms >= 10_000 else f"{ms:.0f} ms"


def fmt_rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1f}"


def fmt_confidence(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def fmt_size(size: int | None) -> str:
    if not size:
        return ""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def summary_line(
    done: Done,
    decision: Decision | None = None,
    *,
    fallback: Fallback | None = None,
    escalation: Escalation | None = None,
) -> str:
    """The one stderr line after a reply: who answered, why, and how fast/how sure."""
    parts = [done.backend, done.model]
    if decision is not None and decision.reason:
        parts.append(decision.reason)
    parts.append(f"TTFT {fmt_ms(done.ttft_ms)}")
    parts += thinking_figures(done)
    parts.append(f"{fmt_rate(done.tokens_per_s)} tok/s")
    parts += server_figures(done)
    parts.append(f"confidence {fmt_confidence(done.confidence)}")
    if escalation is not None:
        parts.append(f"escalated from {escalation.from_backend}")
    if fallback is not None:
        parts.append(f"fallback from {fallback.from_backend}")
    if done.failover_from:
        parts.append(f"failover from {done.failover_from}")
    return strip_control(" · ".join(p for p in parts if p))


def thinking_figures(done: Done) -> list[str]:
    """``first thought 80 ms``, ``thought 1.2 s · 40 tokens``: nothing when the model did
    not think."""
    if not done.thinking_tokens and done.thinking_ttft_ms is None:
        return []
    return [f"first thought {fmt_ms(done.thinking_ttft_ms)}",
            f"thought {fmt_ms(done.thinking_ms)} · {done.thinking_tokens} tokens"]


def server_figures(done: Done) -> list[str]:
    """What the server measured itself, where it says: ``server 88.1 tok/s``,
    ``prompt 35 ms (31 tokens)``, ``cold load 5.1 s``."""
    out = []
    if done.server_tokens_per_s is not None:
        out.append(f"server {fmt_rate(done.server_tokens_per_s)} tok/s")
    if done.server_prompt_ms is not None:
        tokens = done.server_prompt_tokens
        out.append(f"prompt {fmt_ms(done.server_prompt_ms)}"
                   + (f" ({tokens} tokens)" if tokens is not None else ""))
    if done.cold_load:
        out.append("cold load" + (f" {fmt_ms(done.server_load_ms)}"
                                  if done.server_load_ms is not None else ""))
    return out


def waiting_line(ev: Waiting) -> str:
    """What the wait before a first token is about: ``lmstudio · qwen…: loading model…``."""
    who = f"{ev.backend} · {ev.model}" if ev.model else ev.backend
    return strip_control(f"{who}: {ev.state}… ({ev.elapsed_s:.1f} s)")


def failover_line(ev: Failover) -> str:
    """The marker where a second backend takes over a reply."""
    return strip_control(f"⤷ failover {ev.from_backend} → {ev.to_backend}: {ev.reason}")


# --------------------------------------------------------------------------- consoles

_consoles: dict[bool, Console] = {}


def console(*, stderr: bool = False) -> Console:
    """A shared rich Console for stdout (tables) or stderr (messages); never reads markup."""
    if stderr not in _consoles:
        from rich.console import Console

        # no file=: rich then writes to whatever sys.stdout/sys.stderr is at print time.
        # Piped tables get room (rich would assume 80 columns) unless $COLUMNS says otherwise.
        stream = sys.stderr if stderr else sys.stdout
        piped = not stream.isatty() and "COLUMNS" not in os.environ
        # markup=False: a string printed here is shown as it is, even one that holds server
        # text (tables and messages build Text objects anyway)
        _consoles[stderr] = Console(stderr=stderr, highlight=False, soft_wrap=stderr,
                                    markup=False, width=PIPED_WIDTH if piped else None)
    return _consoles[stderr]


def message(text: str, *, style: str | None = None) -> None:
    """One line on stderr (untrusted parts already in ``text`` are made safe here)."""
    from rich.text import Text

    console(stderr=True).print(Text(strip_control(text), style=style or ""))


def error(text: str) -> None:
    """``hybrid-tui: error: <text>`` on stderr, as one line."""
    from rich.text import Text

    line = Text(f"{PROG}: ")
    line.append("error:", style="bold red")
    line.append(" " + strip_control(" ".join(text.split("\n"))))
    console(stderr=True).print(line)


def quiet_logging() -> None:
    """Keep log records (and their tracebacks) off the terminal: the user gets one clear
    message per problem instead. ``HYBRID_TUI_DEBUG=1`` shows warnings and tracebacks."""
    import logging

    debug = os.environ.get("HYBRID_TUI_DEBUG", "") not in ("", "0")
    for name in ("hybrid_tui", "asyncio"):
        logger = logging.getLogger(name)
        if logger.handlers:
            continue
        # a handler of its own keeps Python's last-resort stderr printer away; records still
        # propagate to the root logger, which has no handler in a plain CLI process
        logger.addHandler(logging.StreamHandler() if debug else logging.NullHandler())


def write_json_line(obj: Any, out: TextIO | None = None) -> None:
    """One JSON object on one line, flushed (a consumer can act on each event at once)."""
    import json

    stream = out or sys.stdout
    stream.write(json.dumps(obj, default=str) + "\n")
    stream.flush()
