"""Real servers for the opt-in ``real_server`` tests: llama.cpp's Python server and a LiteLLM
proxy, each a subprocess on a free loopback port (its output in a log file beside its
config). llama.cpp's server (and the model writer) run on the Python named in
``HYBRID_TUI_REAL_SERVER_PYTHON``, else the Python running the tests (``pip install -e
'.[test,real-server]'``); LiteLLM on ``HYBRID_TUI_LITELLM_PYTHON``, else that same Python.
When a piece is missing, the tests that need it skip and say which.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.real_server.tiny_model import MODELS

PYTHON_ENV = "HYBRID_TUI_REAL_SERVER_PYTHON"
#: LiteLLM's proxy cannot share a venv with hybrid-tui (it pins rich<14): its own Python
LITELLM_PYTHON_ENV = "HYBRID_TUI_LITELLM_PYTHON"
#: generous: the first start imports a lot on a shared 2-core machine
START_TIMEOUT = 180.0
HERE = Path(__file__).parent
LOG_TAIL = 2000


def server_python() -> str:
    """The interpreter that runs llama.cpp's server and writes the models."""
    return os.environ.get(PYTHON_ENV) or sys.executable


def litellm_python() -> str:
    """The interpreter that runs the LiteLLM proxy."""
    return os.environ.get(LITELLM_PYTHON_ENV) or server_python()


def missing(*modules: str, python: str | None = None, env: str = PYTHON_ENV) -> str | None:
    """Why ``modules`` cannot be imported by ``python`` (:func:`server_python` by default,
    chosen by the variable ``env``), or None when they can."""
    python = python or server_python()
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)"
    try:
        done = subprocess.run(
            [python, "-c", code, *modules], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {python}: {exc}"
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    return (
        f"{python} cannot import {', '.join(modules)} ({last}); install it there "
        f"or set {env} to a Python that has it (README: Against real servers)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ServerProcess:
    """A server subprocess in its own process group, its output in ``log``."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return text[-LOG_TAIL:]

    def wait_ready(self, path: str, headers: dict[str, str] | None = None) -> None:
        """Block until GET ``path`` answers 200, or fail with the server's log."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            try:
                if httpx.get(self.url + path, headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {START_TIMEOUT:g} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def start(
    name: str,
    args: list[str],
    port: int,
    workdir: Path,
    env: dict[str, str] | None = None,
    python: str | None = None,
) -> ServerProcess:
    """Run ``python args...`` (:func:`server_python` by default) in ``workdir``, logging to
    ``workdir/<name>.log``."""
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [python or server_python(), *args],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    return ServerProcess(name, f"http://127.0.0.1:{port}", process, log)


def make_models(out_dir: Path) -> None:
    """Write the tiny GGUF models (see ``tiny_model.py``) into ``out_dir``."""
    subprocess.run(
        [server_python(), str(HERE / "tiny_model.py"), str(out_dir)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


#: the endless model gets a larger window, so its reply lasts long enough to cancel (a
#: token costs more the larger the window: about a second for the whole reply here)
ENDLESS_CTX = 1024


def llama_config(models_dir: Path, port: int, n_ctx: int, **server: object) -> dict:
    """A llama_cpp.server config file: every tiny model under its alias, ``n_ctx`` each
    (the endless one :data:`ENDLESS_CTX`)."""
    return {
        "host": "127.0.0.1",
        "port": port,
        **server,
        "models": [
            {
                "model": str(models_dir / f"{alias}.gguf"),
                "model_alias": alias,
                "n_ctx": ENDLESS_CTX if alias == "tiny-endless" else n_ctx,
                "n_threads": 1,
                "n_threads_batch": 1,
                "verbose": False,
            }
            for alias in MODELS
        ],
    }


def start_llama(workdir: Path, models_dir: Path, n_ctx: int, **server: object) -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server with every tiny model, ready to answer."""
    port = free_port()
    cfg = workdir / f"llama-{port}.json"
    cfg.write_text(json.dumps(llama_config(models_dir, port, n_ctx, **server)), "utf-8")
    proc = start("llama_cpp.server", ["-m", "llama_cpp.server", "--config_file", str(cfg)],
                 port, workdir)  # fmt: skip
    proc.wait_ready("/v1/models")
    return proc


#: LiteLLM fetches its model cost map from the network at start unless told not to
LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def start_litellm(workdir: Path, config: dict, master_key: str) -> ServerProcess:
    """``litellm --config`` (the proxy) on a free loopback port, ready to answer."""
    port = free_port()
    cfg = workdir / f"litellm-{port}.yaml"
    cfg.write_text(json.dumps(config), "utf-8")  # JSON is YAML
    args = ["-m", "litellm.proxy.proxy_cli", "--config", str(cfg),
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    proc = start("litellm", args, port, workdir, LITELLM_ENV, litellm_python())
    proc.wait_ready("/v1/models", {"Authorization": f"Bearer {master_key}"})
    return proc
