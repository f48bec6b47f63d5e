"""The suite does not depend on the developer's shell: colour switches, terminal type and
size, locale and home directories are pinned by ``tests.hermetic`` before Textual loads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.hermetic import PINNED, UNSET, USER_DIRS, pin_environment, pin_interrupt

ROOT = Path(__file__).resolve().parents[2]
#: what a developer's shell might set; each of these once broke or could break a snapshot
HOSTILE = {
    "NO_COLOR": "1",
    "FORCE_COLOR": "1",
    "TERM": "dumb",
    "COLUMNS": "50",
    "LINES": "20",
    "LANG": "C",
    "TEXTUAL_ANIMATIONS": "none",
    "TEXTUAL_DIM_FACTOR": "10",
}


def test_pin_environment_removes_and_pins():
    environ = {**HOSTILE, "PATH": "/bin", "XDG_CONFIG_HOME": "/real/config"}
    pin_environment(environ, "/tmp/home")
    assert not set(UNSET) & set(environ)
    assert not [name for name in environ if name.startswith("TEXTUAL_")]
    assert {k: environ[k] for k in PINNED} == PINNED
    assert environ["HOME"] == "/tmp/home"
    assert all(environ[name].startswith("/tmp/home/") for name in USER_DIRS)
    assert environ["PATH"] == "/bin"


def test_an_ignored_sigint_is_restored():
    """Started in the background, the suite would hand an ignored SIGINT to every child."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        pin_interrupt()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_snapshot_passes_in_a_hostile_shell(tmp_path):
    """One snapshot test run by a fresh pytest under every setting above at once, with
    another home directory: it must match the snapshot taken in a plain environment."""
    home = tmp_path / "home"
    env = {**os.environ, **HOSTILE, "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_DATA_HOME": str(home / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/ui/test_snapshots.py::test_idle_start"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 snapshot passed" in result.stdout
