"""startup: process start to the first frame of ``hybrid-tui --demo`` in a 160x50 pseudo
terminal, and ``hybrid-tui ask --help`` (which must not import textual), against
``python -c "import textual"``.

The TUI runs in a pty it owns; the first frame is the moment the app's title (drawn in the
header, the top row of every full frame) arrives on the terminal side. The app is then
asked to quit with ctrl+q, and killed if it does not. Config and data dirs are throw-away.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import ROOT, Figure, Row, Settings, Target
from benchmarks.simproc import child_env, end_process

#: text every full frame of the app draws near its start (the header title)
TITLE = b"hybrid-tui"
COLS, LINES = 160, 50


def command() -> list[str]:
    """The installed console script next to this interpreter, else ``-m hybrid_tui``."""
    script = Path(sys.executable).with_name("hybrid-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hybrid_tui"]


def run(settings: Settings) -> Row:
    row = Row("startup", "process start to first frame (--demo, pty 160x50); ask --help")
    runs = settings.runs
    tui = [first_frame() for _ in range(runs + 1)][1:]
    ask = [_timed([*command(), "ask", "--help"]) for _ in range(runs + 1)][1:]
    textual = [_timed([sys.executable, "-c", "import textual"]) for _ in range(runs + 1)][1:]
    bare = [_timed([sys.executable, "-c", "pass"]) for _ in range(runs + 1)][1:]
    imports = _imports_textual([*command(), "ask", "--help"])
    row.add(Figure("TUI first frame (--demo)", "s", tui, targets=(Target("<=", 1.0),)))
    row.add(Figure("ask --help", "s", ask, reference='python -c "import textual"',
                   targets=(Target("<=", 0.3),)))
    row.add(Figure('python -c "import textual"', "s", textual))
    row.add(Figure('python -c "pass"', "s", bare))
    row.add(Figure("ask --help imports textual (1 = yes)", "", [1.0 if imports else 0.0],
                   targets=(Target("<=", 0),)))
    row.notes.append(f"command: {' '.join(command())}; the first frame is when the header "
                     "title reaches the terminal")
    return row


def _timed(argv: list[str]) -> float:
    return run_timed(argv)[0]


def run_timed(argv: list[str], timeout: float = 60) -> tuple[float, str]:
    """Wall seconds from spawn to exit of ``argv`` (output captured), and its stdout; a
    non-zero exit is a RuntimeError with the end of its stderr."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=child_env(), capture_output=True,
                          timeout=timeout, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: "
                           f"{done.stderr.decode(errors='replace').strip()[-300:]}")
    return elapsed, done.stdout.decode("utf-8", errors="replace")


def _imports_textual(argv: list[str]) -> bool:
    """Whether the command loads any textual module (``python -X importtime``)."""
    if argv[0] != sys.executable:
        argv = [sys.executable, "-m", "hybrid_tui", *argv[1:]]
    done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], cwd=ROOT,
                          env=child_env(), capture_output=True, timeout=60, check=False)
    return any(line.split("|")[-1].strip().split(".")[0] == "textual"
               for line in done.stderr.decode(errors="replace").splitlines()
               if line.startswith("import time:"))


def first_frame(timeout: float = 20.0, *, args: tuple[str, ...] = ("--demo",),
                marker: bytes = TITLE, env: dict[str, str] | None = None,
                on_seen: Callable[[int], None] | None = None) -> float:
    """Seconds from spawning ``hybrid-tui ARGS`` in a pty until ``marker`` (default: the
    header title of the first frame) reaches the terminal; ``on_seen(pid)`` then runs
    before the app is asked to quit."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLS, 0, 0))
    env = env or child_env()
    env.update(TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(LINES))
    start = time.perf_counter()
    proc = subprocess.Popen([*command(), *args], cwd=ROOT, env=env, stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen: float | None = None
    output = b""
    try:
        while seen is None and time.perf_counter() - start < timeout:
            data = _read(master, 0.05)
            if data is None:
                break
            output += data
            if marker in output:
                seen = time.perf_counter()
        if seen is not None and on_seen is not None:
            on_seen(proc.pid)
    finally:
        _quit(proc, master)
    if seen is None:
        tail = output[-300:].decode(errors="replace")
        raise RuntimeError(f"no first frame within {timeout:g} s (exit {proc.returncode}): "
                           f"{tail!r}")
    return seen - start


def _read(fd: int, wait: float) -> bytes | None:
    """What the terminal side has now (b"" if nothing yet); None once the app has gone."""
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return b""
    try:
        return os.read(fd, 1 << 16) or None
    except OSError:
        return None


def _quit(proc: subprocess.Popen[bytes], master: int) -> None:
    """ctrl+q, reading the terminal meanwhile (a full pty would block the app); then kill."""
    try:
        os.write(master, b"\x11")
        end = time.monotonic() + 5
        while proc.poll() is None and time.monotonic() < end:
            if _read(master, 0.05) is None:
                break
        if proc.poll() is None:
            end_process(proc)
    finally:
        os.close(master)
