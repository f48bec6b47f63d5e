"""The ``openai`` kind through a real LiteLLM proxy (``litellm --config``), as teams run one
in front of several GPU hosts: a master key, and model aliases that hide which host and
which model answer. Behind it: two simulated LM Studio hosts under one alias and a
simulated Ollama (with thinking) under another."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.base import StreamStats, TextDelta
from hybrid_tui.config import BackendConfig, Config, HealthConfig, RoutingConfig
from hybrid_tui.events import Done, Token
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import SimKnobs, SimServer, SimThread
from tests.real_server import servers
from tests.support import collect

pytestmark = pytest.mark.real_server

MASTER_KEY = "sk-team-proxy-test"
KEY_ENV = "HYBRID_TUI_TEST_PROXY_KEY"
REPLY = "def add(a, b):\n    return a + b\n"
TIMEOUT = 120


@dataclass
class Team:
    """The proxy and the simulated hosts behind it."""

    proxy: servers.ServerProcess
    fast_hosts: tuple[SimServer, SimServer]
    strong_host: SimServer


def proxy_config(fast: tuple[SimServer, SimServer], strong: SimServer) -> dict:
    """``team-fast``: both LM Studio hosts (LiteLLM balances between them); ``team-strong``:
    the Ollama host through LiteLLM's ``ollama_chat`` provider."""
    fast_model = fast[0].knobs.loaded[0]
    rows = [
        {"model_name": "team-fast",
         "litellm_params": {"model": f"openai/{fast_model}", "api_base": f"{host.url}/v1",
                            "api_key": "unused"}}
        for host in fast
    ] + [
        {"model_name": "team-strong",
         "litellm_params": {"model": f"ollama_chat/{strong.knobs.loaded[0]}",
                            "api_base": strong.url}},
    ]  # fmt: skip
    return {"model_list": rows, "general_settings": {"master_key": MASTER_KEY}}


@pytest.fixture(scope="module")
def team(real_dir: Path) -> Iterator[Team]:
    reason = servers.missing(
        "litellm.proxy.proxy_server",
        python=servers.litellm_python(),
        env=servers.LITELLM_PYTHON_ENV,
    )
    if reason:
        pytest.skip(reason)
    fast = (
        SimServer("openai", SimKnobs(tokens_per_s=None, reply=REPLY), name="gpu-a"),
        SimServer("openai", SimKnobs(tokens_per_s=None, reply=REPLY), name="gpu-b"),
    )
    strong = SimServer("ollama", SimKnobs(tokens_per_s=None, quirks={"thinking"}))
    thread = SimThread([*fast, strong])  # fmt: skip
    thread.start()
    try:
        proxy = servers.start_litellm(real_dir, proxy_config(fast, strong), MASTER_KEY)
        try:
            yield Team(proxy, fast, strong)
        finally:
            proxy.stop()
    finally:
        thread.stop()


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, MASTER_KEY)
    return MASTER_KEY


def proxy_backend(url: str, alias: str = "team-fast") -> BackendConfig:
    return BackendConfig(name="proxy", kind="openai", endpoint=url, models=(alias,),
                         max_concurrent=4, timeout=60.0, api_key_env=KEY_ENV)  # fmt: skip


def proxy_config_for(url: str) -> Config:
    return Config(
        routing=RoutingConfig(escalation_threshold=0.0, learning_enabled=False),
        backends={"proxy": proxy_backend(url)},
        health=HealthConfig(interval=30.0, timeout=10.0),
    )


def write_yaml(path: Path, url: str) -> Path:
    path.write_text(
        "routing:\n  escalation_threshold: 0\n  learning_enabled: false\n"
        f"backends:\n  proxy:\n    kind: openai\n    endpoint: {url}/v1\n"
        f"    models: [team-fast]\n    api_key_env: {KEY_ENV}\n    timeout: 60\n"
        "health:\n  timeout: 10\n",
        encoding="utf-8",
    )
    return path


def run_cli(*args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop(KEY_ENV, None)
    if key is not None:
        env[KEY_ENV] = key
    return subprocess.run([sys.executable, "-m", "hybrid_tui", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, env=env)  # fmt: skip


async def test_the_engine_streams_through_the_proxy_under_the_alias(team, key):
    async with RouterService(proxy_config_for(team.proxy.url), poll=False) as service:
        events = await collect(service.submit("format this code: x=1", force="proxy"))
    done = events[-1]
    assert isinstance(done, Done), events[-1]
    assert done.text == REPLY == "".join(ev.text for ev in events if isinstance(ev, Token))
    assert done.model == "team-fast" and done.finish_reason == "stop"
    assert not done.warnings, done.warnings


async def test_one_alias_spreads_requests_over_both_hosts(team, key):
    for host in team.fast_hosts:
        host.requests.clear()
    async with RouterService(proxy_config_for(team.proxy.url), poll=False) as service:
        runs = [collect(service.submit(f"format this code: x={i}", force="proxy"))
                for i in range(12)]  # fmt: skip
        ends = [events[-1] for events in await asyncio.gather(*runs)]
    assert all(isinstance(end, Done) and end.text == REPLY for end in ends), ends
    counts = [len(host.requests) for host in team.fast_hosts]
    assert sum(counts) == 12 and min(counts) >= 1, counts


async def test_ollama_thinking_comes_back_as_reasoning_content(team, key):
    """LiteLLM turns Ollama's ``message.thinking`` into ``reasoning_content`` deltas."""
    async with httpx.AsyncClient() as client:
        backend = make_backend(proxy_backend(team.proxy.url, "team-strong"), client)
        items = [item async for item in backend.stream_chat(
            [{"role": "user", "content": "analyze this design"}], "team-strong",
            {"reasoning_effort": "low"})]  # fmt: skip
    deltas = [item for item in items if isinstance(item, TextDelta)]
    reasoning = "".join(d.text for d in deltas if d.reasoning)
    answer = "".join(d.text for d in deltas if not d.reasoning)
    assert reasoning and answer, deltas
    assert team.strong_host.requests[-1].get("think") not in (None, False)
    stats = items[-1]
    assert isinstance(stats, StreamStats) and stats.finish_reason == "stop"


async def test_cancelling_closes_the_stream_to_the_host_behind_the_proxy(team, key):
    host = team.fast_hosts[0]
    other = team.fast_hosts[1]
    for sim in team.fast_hosts:
        sim.knobs.tokens_per_s, sim.knobs.reply_tokens = 50.0, 2000
    try:
        before = host.cancelled + other.cancelled
        async with httpx.AsyncClient() as client:
            backend = make_backend(proxy_backend(team.proxy.url), client)
            stream = backend.stream_chat([{"role": "user", "content": "x"}], "team-fast")
            got = 0
            async for item in stream:
                got += isinstance(item, TextDelta)
                if got == 3:
                    break
            await stream.aclose()
        deadline = asyncio.get_running_loop().time() + 15
        while host.cancelled + other.cancelled == before:
            assert asyncio.get_running_loop().time() < deadline, "the host kept generating"
            await asyncio.sleep(0.05)
    finally:
        for sim in team.fast_hosts:
            sim.knobs.tokens_per_s, sim.knobs.reply_tokens = None, None


def test_status_and_ask_through_the_proxy(team, tmp_path):
    config = write_yaml(tmp_path / "config.yaml", team.proxy.url)
    done = run_cli("status", "--config", str(config), key=MASTER_KEY)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.strip().startswith("proxy"))
    assert " up " in row and "team-fast" in row, done.stdout
    done = run_cli("ask", "format this code: x=1", "--config", str(config), key=MASTER_KEY)
    assert done.returncode == 0, done.stderr
    assert done.stdout == REPLY


@pytest.mark.parametrize("key", [None, "sk-wrong-key"])
def test_without_the_right_key_the_proxy_refuses_and_the_key_is_never_shown(team, tmp_path, key):
    config = write_yaml(tmp_path / "config.yaml", team.proxy.url)
    done = run_cli("doctor", "--config", str(config), key=key)
    assert done.returncode == 1, done.stdout + done.stderr
    # LiteLLM without a database: a missing key is a bare 500, a wrong one a 400
    # "No connected db." (with a database it is a 401); doctor shows what it said
    if key is None:
        assert f"${KEY_ENV}, which is not set" in done.stdout, done.stdout
        assert "HTTP 500: Internal Server Error" in done.stdout, done.stdout
    else:
        assert "HTTP 400: No connected db." in done.stdout, done.stdout
        assert key not in done.stdout + done.stderr
    assert f"check that ${KEY_ENV} holds a key this server accepts" in done.stdout, done.stdout
    assert MASTER_KEY not in done.stdout + done.stderr
