"""SimThread, demo_servers and ``python -m hybrid_tui.sim`` (a real subprocess)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from hybrid_tui.config import default_backends
from hybrid_tui.sim import Fault, SimKnobs, SimServer, SimThread, demo_servers
from hybrid_tui.sim.demo import build_servers

URL = re.compile(r"^(lmstudio|ollama): (http://127\.0\.0\.1:\d+) ")


def test_simthread_serves_synchronous_clients() -> None:
    servers = [
        SimServer("ollama", SimKnobs(tokens_per_s=None, reply="hi")),
        SimServer("openai", SimKnobs(tokens_per_s=None, reply="hi")),
    ]
    with SimThread(servers) as thread:
        ollama, lms = servers
        assert httpx.get(ollama.url + "/").text == "Ollama is running"
        assert httpx.get(lms.url + "/v1/models").json()["object"] == "list"
        r = httpx.post(
            ollama.url + "/api/chat",
            json={
                "model": "codellama:34b",
                "messages": [{"role": "user", "content": "x"}],
                "stream": False,
            },
        )
        assert r.json()["message"]["content"] == "hi"
        thread.run(ollama.set_fault(Fault("refuse")))
        with pytest.raises(httpx.ConnectError):
            httpx.get(ollama.url + "/")
        thread.run(ollama.set_fault(None))
        assert httpx.get(ollama.url + "/").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(ollama.url + "/", timeout=2)


def test_simthread_reports_a_port_in_use() -> None:
    with SimThread([SimServer("ollama")]) as running:
        taken = running.servers[0].port
        clash = SimThread([SimServer("ollama", port=taken)])
        with pytest.raises(OSError):
            clash.start()


def test_demo_servers_match_the_default_config() -> None:
    lms, ollama = demo_servers()
    prefs = default_backends()
    assert lms.kind == "openai" and ollama.kind == "ollama"
    assert lms.knobs.tokens_per_s > ollama.knobs.tokens_per_s  # small fast, big slow
    assert ollama.knobs.first_token_delay > 0
    assert prefs["lmstudio"].models[0] in lms.knobs.loaded[0]
    assert ollama.knobs.loaded == [prefs["ollama"].models[0]]
    assert "text-embedding-nomic-embed-text-v1.5" in lms.knobs.models
    assert {"qwen2.5:72b", "llama3.2:latest", "nomic-embed-text:latest"} <= set(ollama.knobs.models)


def test_command_line_options() -> None:
    servers = build_servers(
        [
            "--which",
            "ollama",
            "--ollama-port",
            "0",
            "--tokens-per-s",
            "0",
            "--fault",
            "die:60",
            "--fault",
            "lmstudio=status:503",
            "--quirk",
            "thinking",
            "--reply",
            "x",
        ]
    )
    assert [s.name for s in servers] == ["ollama"]
    knobs = servers[0].knobs
    assert knobs.tokens_per_s is None and knobs.reply == "x" and "thinking" in knobs.quirks
    assert knobs.fault == Fault("die", after_tokens=60)
    both = build_servers(["--fault", "lmstudio=status:503", "--first-token-delay", "1"])
    assert [s.knobs.fault for s in both] == [Fault("status", status=503), None]
    assert all(s.knobs.first_token_delay == 1 for s in both)
    with pytest.raises(SystemExit):
        build_servers(["--fault", "explode"])


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hybrid_tui.sim",
            "--lmstudio-port",
            "0",
            "--ollama-port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 20
    assert proc.stdout is not None
    while len(urls) < (1 if "--which" in args else 2) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = URL.match(line)
        assert match, line
        urls[match.group(1)] = match.group(2)
    return proc, urls


def test_python_m_sim_runs_until_sigterm() -> None:
    proc, urls = _start("--tokens-per-s", "0", "--first-token-delay", "0")
    try:
        assert set(urls) == {"lmstudio", "ollama"}
        assert httpx.get(urls["ollama"] + "/api/version").json() == {"version": "0.12.3"}
        with httpx.stream(
            "POST",
            urls["lmstudio"] + "/v1/chat/completions",
            json={
                "model": "qwen2.5-coder-7b-instruct",
                "stream": True,
                "messages": [{"role": "user", "content": "format this code"}],
            },
        ) as r:
            lines = [x for x in r.iter_lines() if x.startswith("data: ")]
        assert lines[-1] == "data: [DONE]"
        assert "```python" in "".join(
            json.loads(x[6:])["choices"][0]["delta"].get("content", "")
            for x in lines[:-1]
            if json.loads(x[6:])["choices"]
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err


def test_python_m_sim_ctrl_c_and_fault() -> None:
    proc, urls = _start("--which", "ollama", "--fault", "status:503")
    try:
        assert set(urls) == {"ollama"}
        r = httpx.post(
            urls["ollama"] + "/api/chat",
            json={"model": "codellama:34b", "messages": [{"role": "user", "content": "x"}]},
        )
        assert r.status_code == 503
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err
