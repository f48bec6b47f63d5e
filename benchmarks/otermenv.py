"""oterm, the anchor the oterm row measures us against: its own venv, and a private,
offline environment to run it in.

oterm is never a dependency of this project: the row installs exactly ``oterm==0.26.1``
with pip into a venv of its own (by default under the user cache dir, reused by later
runs) and says so before it does; ``--no-oterm-install`` turns that off and the row is
skipped instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from platformdirs import user_cache_path

from benchmarks.common import say

VERSION = "0.26.1"
#: a port nothing listens on: oterm's update check (pypi.org) fails at once through it
_NO_PROXY_PORT = 9


def default_venv() -> Path:
    return user_cache_path("hybrid-tui") / f"oterm-{VERSION}"


def installed(venv: Path) -> str | None:
    """The oterm version installed in ``venv``, or None."""
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('oterm'))"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def ensure(venv: Path, *, install: bool) -> str | None:
    """Make ``venv`` hold oterm VERSION (installing it if allowed); None when it does,
    else why the row is skipped. A failed install raises (the row reports it)."""
    found = installed(venv)
    if found == VERSION:
        return None
    if not install:
        have = f"oterm {found}" if found else "no oterm"
        return (f"oterm {VERSION} is not installed in {venv} ({have}; installing it was "
                "turned off with --no-oterm-install)")
    say(f"oterm: installing oterm=={VERSION} with pip into its own venv {venv} "
        "(once; later runs reuse it)")
    if not (venv / "bin" / "python").exists():
        _run([sys.executable, "-m", "venv", str(venv)], timeout=300)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
          "--disable-pip-version-check", f"oterm=={VERSION}"], timeout=1800)
    found = installed(venv)
    if found != VERSION:
        raise RuntimeError(f"pip installed oterm {found} into {venv}, not {VERSION}")
    return None


def _run(argv: list[str], timeout: float) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-600:]}")


def oterm_env(home: Path, ollama: str) -> dict[str, str]:
    """oterm's environment: the simulated Ollama, and a throw-away HOME and data dir (so
    its chats, config and logs stay out of the user's), with the splash animation off;
    every proxy variable points at a dead local port so nothing it does leaves the
    machine (its start-up asks pypi.org for a newer version), loopback excepted."""
    data = home / "data" / "oterm"
    data.mkdir(parents=True, exist_ok=True)
    (data / "config.json").write_text(json.dumps({"splash-screen": False}))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TMUX", "OLLAMA_URL",
                        "OLLAMA_API_KEY")}
    dead = f"http://127.0.0.1:{_NO_PROXY_PORT}"
    host = ollama.removeprefix("http://").rstrip("/")
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        OTERM_DATA_DIR=str(data),
        OLLAMA_HOST=host,
        HTTP_PROXY=dead, HTTPS_PROXY=dead, ALL_PROXY=dead,
        http_proxy=dead, https_proxy=dead, all_proxy=dead,
        NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
    )
    return env
