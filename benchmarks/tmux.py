"""tmux: as a user sees it. The real app in a real terminal (tmux, 160x50) against the
simulators (child process, unlimited rate): Enter to the last of the reply's tokens on
screen.

Per run: a fresh app in a private tmux server (its own socket: no user session is touched)
with a config file pointing at the simulators; the prompt is typed, the clock starts as
``send-keys Enter`` is issued, and the pane is captured every 50 ms until the finished
reply's stats line (``TTFT … N tokens``, drawn with the final text) is on screen. Skipped
when tmux is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Figure, Row, Settings
from benchmarks.simproc import SimProcess, child_env
from benchmarks.startup import COLS, LINES, command

PROMPT = "format this code for me: def f(a,b): return a+b"
POLL = 0.05


def run(settings: Settings) -> Row:
    tokens = settings.size(20_000, 2_000)
    row = Row("tmux", f"Enter to the last of {tokens:,} tokens on screen, tmux {COLS}x{LINES}")
    tmux = shutil.which("tmux")
    if tmux is None:
        row.skipped = "tmux is not installed"
        return row
    with SimProcess(reply_tokens=tokens) as sim, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            # no reply cap: the reply is longer than the default max_tokens
            f"backends:\n  lmstudio:\n    endpoint: {sim.lmstudio}\n    options: {{}}\n"
            f"  ollama:\n    endpoint: {sim.ollama}\n    options: {{}}\n"
        )
        done = re.compile(rf"TTFT.*\b{tokens:,}\b|TTFT.*\b{tokens}\b tokens")
        seconds = [
            _once(tmux, Path(tmp) / "tmux.sock", config, done)
            for _ in range(settings.runs + 1)
        ][1:]
    row.add(Figure("Enter to last token on screen", "s", seconds))
    row.add(Figure("as tok/s", "tok/s", [tokens / s for s in seconds]))
    row.notes.append(f"pane captured every {POLL * 1000:.0f} ms (resolution); "
                     "the app's own routing picks the backend")
    return row


def _once(tmux: str, sock: Path, config: Path, done: re.Pattern[str]) -> float:
    base = [tmux, "-S", str(sock)]
    env = child_env(TERM="xterm-256color")
    app = " ".join([*command(), "--config", str(config)])
    subprocess.run([*base, "new-session", "-d", "-s", "bench", "-x", str(COLS), "-y",
                    str(LINES), app], env=env, check=True, timeout=20)
    try:
        _wait(base, lambda screen: "hybrid-tui" in screen and "up" in screen, 20.0)
        time.sleep(1.0)  # the first health probes are in
        subprocess.run([*base, "send-keys", "-t", "bench", "-l", PROMPT], check=True,
                       timeout=10)
        time.sleep(0.3)
        start = time.perf_counter()
        subprocess.run([*base, "send-keys", "-t", "bench", "Enter"], check=True, timeout=10)
        end = _wait(base, lambda screen: done.search(screen) is not None, 300.0)
        return end - start
    finally:
        subprocess.run([*base, "kill-server"], capture_output=True, timeout=20, check=False)
        if sock.exists():
            os.unlink(sock)


def _wait(base: list[str], ok: Callable[[str], bool], timeout: float) -> float:
    """Capture the pane every POLL s until ``ok(screen)``; the time it first held."""
    deadline = time.perf_counter() + timeout
    screen = ""
    while time.perf_counter() < deadline:
        screen = subprocess.run([*base, "capture-pane", "-p", "-t", "bench"],
                                capture_output=True, text=True, timeout=10,
                                check=False).stdout
        now = time.perf_counter()
        if ok(screen):
            return now
        time.sleep(POLL)
    raise TimeoutError(f"tmux: condition not met in {timeout:g} s; screen ends "
                       f"{screen.strip()[-300:]!r}")
