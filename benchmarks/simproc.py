"""The project's simulators in a child process (``python -m hybrid_tui.sim``), so the server
has its own interpreter and core and does not share the measured client's event loop or
GIL; and the config that points both default backends at them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import IO

from benchmarks.common import ROOT
from hybrid_tui.config import Config, HealthConfig, RoutingConfig, default_backends


def end_process(proc: subprocess.Popen) -> None:
    """Stop a helper process: SIGTERM, SIGKILL after 5 s, and close its stdout pipe."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    if proc.stdout is not None:
        proc.stdout.close()

class SimProcess:
    """Both simulators in a subprocess on ephemeral loopback ports (``python -m
    hybrid_tui.sim``, or :mod:`benchmarks.simserve` when a knob needs it).

    ``args`` are ``python -m hybrid_tui.sim`` flags (``--tokens-per-s 0`` is unlimited).
    By default the first token comes at once and the speed is unlimited."""

    def __init__(self, *args: str, tokens_per_s: float = 0, first_token_delay: float = 0.0,
                 reply_tokens: int | None = None, context_length: int | None = None,
                 reply_file: Path | None = None) -> None:
        self.args = [
            "--lmstudio-port", "0", "--ollama-port", "0",
            "--tokens-per-s", f"{tokens_per_s:g}",
            "--first-token-delay", f"{first_token_delay:g}",
            *(["--reply-tokens", str(reply_tokens)] if reply_tokens else []),
            *args,
        ]
        # knobs the simulator's own command line lacks go through benchmarks.simserve
        self.module = "hybrid_tui.sim"
        if context_length is not None:
            self.module = "benchmarks.simserve"
            self.args += ["--context-length", str(context_length)]
        if reply_file is not None:
            self.module = "benchmarks.simserve"
            self.args += ["--reply-file", str(reply_file)]
        self.urls: dict[str, str] = {}
        self.proc: subprocess.Popen[str] | None = None
        self._stderr: IO[bytes] | None = None

    def start(self, timeout: float = 20.0) -> SimProcess:
        # stderr goes to a file: a pipe nobody reads could fill up and stall the server.
        # It stays open as long as the process runs; stop() closes it.
        self._stderr = stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", self.module, *self.args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env=child_env(),
        )
        # a simulator that never says where it listens is killed, so readline() ends
        timer = threading.Timer(timeout, self.proc.kill)
        timer.start()
        try:
            assert self.proc.stdout is not None
            while len(self.urls) < 2:
                line = self.proc.stdout.readline()
                if not line:
                    self.proc.wait(5)
                    stderr.seek(0)
                    err = stderr.read().decode(errors="replace")
                    raise RuntimeError(f"simulator did not start: {err.strip()[-300:]}")
                name, _, rest = line.partition(":")
                self.urls[name.strip()] = rest.split()[0]
        except BaseException:
            self.stop()
            raise
        finally:
            timer.cancel()
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        end_process(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> SimProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def lmstudio(self) -> str:
        return self.urls["lmstudio"]

    @property
    def ollama(self) -> str:
        return self.urls["ollama"]

    def config(self, **routing: object) -> Config:
        return config_for(self.lmstudio, self.ollama, **routing)


def config_for(lmstudio: str, ollama: str, **routing: object) -> Config:
    """The two default backends at these URLs (first-token timeout 10 s), without the
    default reply cap (max_tokens): the benchmarks stream replies far longer than it."""
    backends = default_backends()
    for name, url in (("lmstudio", lmstudio), ("ollama", ollama)):
        options = replace(backends[name].options, max_tokens=None)
        backends[name] = replace(backends[name], endpoint=url, timeout=10.0, options=options)
    return Config(
        routing=RoutingConfig(**routing),  # type: ignore[arg-type]
        backends=backends,
        health=HealthConfig(interval=30.0, timeout=2.0),
    )


_SCRATCH: tempfile.TemporaryDirectory[str] | None = None


def scratch_dirs() -> None:
    """Point this process (and its children) at throw-away config and data dirs, so no
    benchmark reads the user's config or teaches the user's router anything."""
    global _SCRATCH
    if os.environ.get("HYBRID_TUI_BENCH_SCRATCH"):
        return
    _SCRATCH = tempfile.TemporaryDirectory(prefix="hybrid-tui-bench-")
    base = Path(_SCRATCH.name)
    os.environ["HYBRID_TUI_BENCH_SCRATCH"] = str(base)
    os.environ["HYBRID_TUI_DATA_DIR"] = str(base / "data")
    os.environ["HYBRID_TUI_CONFIG_DIR"] = str(base / "config")
    os.environ.pop("HYBRID_TUI_CONFIG", None)
    os.environ.pop("OLLAMA_HOST", None)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: the scratch dirs, the repo on the path, and
    Python as a user's shell runs it: with its bytecode cache and buffered output (a shell
    that sets PYTHONDONTWRITEBYTECODE or PYTHONUNBUFFERED, as some tool sandboxes do, would
    otherwise make every child recompile its imports and write unbuffered)."""
    env = dict(os.environ)
    for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        env.pop(name, None)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)
    env.update(extra)
    return env
