"""A terminal app in a private tmux server, as a user sees it: launched, typed at, and its
screen read with ``tmux capture-pane`` as fast as the machine allows.

Each :class:`TmuxApp` starts its own tmux server on its own socket (no user session is
touched) with one window of ``COLS`` x ``LINES``; the pane stays after the app exits
(``remain-on-exit``) so a crash is reported with its last screen instead of a hang.
Every capture is a ``tmux capture-pane -p`` subprocess (~3–5 ms on a loaded 2-core
machine; tmux's control mode measured no faster here), with ``POLL`` seconds between
captures (more in long timed waits, see :meth:`TmuxApp.wait`); :class:`Polls` keeps the
intervals so a time can be quoted with its resolution.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import percentile

COLS, LINES = 160, 50
#: seconds slept between two captures while waiting for something on screen
POLL = 0.002
#: in a timed wait, the pause between captures as a share of the time elapsed (so the
#: capture interval, the resolution, stays under ~0.2 % of the figure plus one capture)
RELATIVE = 0.002
#: what tmux shows in a pane whose process has exited (with remain-on-exit on)
DEAD = "Pane is dead"


@dataclass(slots=True)
class Polls:
    """The intervals between consecutive captures of the timed waits: the resolution of
    the times read off the screen."""

    intervals: list[float] = field(default_factory=list)

    def median_ms(self) -> float:
        return statistics.median(self.intervals) * 1000 if self.intervals else float("nan")

    def p99_ms(self) -> float:
        return percentile(self.intervals, 99) * 1000


class AppGone(RuntimeError):
    """The app exited (or tmux did) while something was expected on its screen."""


class TmuxApp:
    """One app in its own tmux server; use as a context manager (the server is killed on
    exit)."""

    def __init__(self, tmux: str, sock: Path) -> None:
        self.base = [tmux, "-S", str(sock)]
        self.sock = sock

    def launch(self, argv: list[str], env: dict[str, str]) -> float:
        """Start ``argv`` in a fresh server (whose environment, and so the app's, is
        ``env``); the ``perf_counter()`` just before tmux was asked to."""
        start = time.perf_counter()
        subprocess.run(
            [*self.base, "new-session", "-d", "-s", "bench", "-x", str(COLS), "-y", str(LINES),
             shlex.join(argv), ";", "set-option", "-t", "bench", "remain-on-exit", "on"],
            env=env, check=True, timeout=20, capture_output=True,
        )
        return start

    def screen(self) -> str:
        """The pane's text now (no colours)."""
        done = subprocess.run([*self.base, "capture-pane", "-p", "-t", "bench"],
                              capture_output=True, text=True, timeout=10, check=False)
        if done.returncode != 0:
            raise AppGone(f"tmux capture-pane failed: {done.stderr.strip()}")
        return done.stdout

    def keys(self, *keys: str) -> None:
        """Key names as tmux spells them (``Enter``, ``Tab``, ``BTab``, ``C-n``)."""
        subprocess.run([*self.base, "send-keys", "-t", "bench", *keys], check=True,
                       timeout=10)

    def type(self, text: str) -> None:
        """``text`` typed literally."""
        subprocess.run([*self.base, "send-keys", "-t", "bench", "-l", text], check=True,
                       timeout=10)

    def wait(self, ok: Callable[[str], bool], what: str, timeout: float = 30.0, *,
             since: float | None = None, polls: Polls | None = None) -> float:
        """Capture until ``ok(screen)``; the ``perf_counter()`` right after the capture
        that first showed it.

        A timed wait passes ``since`` (its clock's start): the pause between captures then
        grows to RELATIVE of the time elapsed, so a minute-long wait does not spend a core
        on captures while the 2 ms floor keeps short waits sharp; the intervals go to
        ``polls``."""
        deadline = time.perf_counter() + timeout
        screen = ""
        last: float | None = None
        while True:
            screen = self.screen()
            now = time.perf_counter()
            if last is not None and polls is not None:
                polls.intervals.append(now - last)
            last = now
            if ok(screen):
                return now
            if DEAD in screen:
                raise AppGone(f"the app exited while waiting for {what}; screen:\n"
                              f"{_tail(screen)}")
            if now > deadline:
                raise TimeoutError(f"{what}: not on screen after {timeout:g} s; screen:\n"
                                   f"{_tail(screen)}")
            time.sleep(POLL if since is None else max(POLL, RELATIVE * (now - since)))

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=20,
                       check=False)
        if self.sock.exists():
            os.unlink(self.sock)

    def __enter__(self) -> TmuxApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tail(screen: str, lines: int = 15) -> str:
    rows = [r.rstrip() for r in screen.rstrip().splitlines() if r.strip()]
    return "\n".join(rows[-lines:])
