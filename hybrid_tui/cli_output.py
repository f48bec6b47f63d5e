"""Rendering for the headless CLI: the one-line reply summary, start-up hints, and the stderr
console. Untrusted text is stripped of control sequences (:mod:`hybrid_tui.safetext`). Imports
rich only when something is printed."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from hybrid_tui.safetext import strip_control
from hybrid_tui.units import fmt_confidence, fmt_ms, fmt_seconds, fmt_tps

if TYPE_CHECKING:
    from rich.console import Console

    from hybrid_tui.events import Decision, Done, Escalation, Failover, Fallback, Waiting

PROG = "hybrid-tui"
#: table width when stdout is not a terminal
PIPED_WIDTH = 160


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
    parts.append(fmt_tps(done.tokens_per_s))
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
        out.append(f"server {fmt_tps(done.server_tokens_per_s)}")
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
    return strip_control(f"{who}: {ev.state}… ({fmt_seconds(ev.elapsed_s)})")


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
