"""Pins the environment the suite depends on, before anything imports Textual or Rich.

A developer's shell may set ``NO_COLOR`` (Textual then paints in monochrome), ``TERM=dumb``,
``COLUMNS``/``LINES`` (Rich sizes its consoles from them), another locale, ``TEXTUAL_*``
switches or other ``HOME``/``XDG_*`` directories, and a background start leaves SIGINT
ignored; none of that may change what a test sees.
``textual.constants`` reads ``TEXTUAL_*`` once, at import, and pytest-textual-snapshot imports
Textual when pytest loads its entry-point plugins, so a conftest is too late: this module is
loaded with ``-p tests.hermetic`` (pyproject ``addopts``), which pytest imports before
entry-point plugins. Subprocesses started by tests inherit the same pinned environment.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile

#: variables that change how Rich or Textual render, or where a program reads its settings
UNSET = (
    "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES",
    "JUPYTER_COLUMNS", "JUPYTER_LINES", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "ESCDELAY",
    "HYBRID_TUI_CONFIG", "HYBRID_TUI_DEBUG", "OLLAMA_HOST", "LANGUAGE",
)
PINNED = {
    "TERM": "xterm-256color",
    "COLORTERM": "truecolor",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
}
#: per-user directories: pointed at an empty directory of the run's own
USER_DIRS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")


def pin_environment(environ: os._Environ[str] | dict[str, str], home: str) -> None:
    """Make ``environ`` the suite's fixed environment, with ``home`` as the user's home."""
    for name in [*UNSET, *(n for n in environ if n.startswith("TEXTUAL_"))]:
        environ.pop(name, None)
    environ.update(PINNED)
    environ["HOME"] = home
    for name in USER_DIRS:
        environ[name] = os.path.join(home, name.lower())


def pin_interrupt() -> None:
    """A shell that starts the suite in the background (``pytest &`` in a script, nohup)
    leaves SIGINT ignored, and child processes inherit that: the CLI's ctrl+c tests would
    find their child deaf to it. A Python handler is reset to the default on exec."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_HOME = tempfile.mkdtemp(prefix="hybrid-tui-tests-home-")
pin_environment(os.environ, _HOME)
pin_interrupt()


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)
