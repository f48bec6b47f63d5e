"""The health monitor against the simulators: states, probes, failures, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from hybrid_tui import health as health_module
from hybrid_tui.backends import Backend, HealthReport, ModelInfo, make_backend
from hybrid_tui.config import Config
from hybrid_tui.health import BackendState, HealthMonitor, state_from_report
from hybrid_tui.sim import Fault, SimServer


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def backends(make_config, lmstudio_sim, ollama_sim, client) -> dict[str, Backend]:
    config: Config = make_config(lmstudio=lmstudio_sim.url, ollama=ollama_sim.url)
    return {name: make_backend(cfg, client) for name, cfg in config.backends.items()}


def monitor_for(backends: dict[str, Backend], interval: float = 30.0) -> HealthMonitor:
    return HealthMonitor(backends, interval=interval, timeout=1.0)


async def test_states_start_unknown(backends) -> None:
    monitor = monitor_for(backends)
    states = monitor.states()
    assert list(states) == ["lmstudio", "ollama"]
    assert all(s.status == "unknown" and s.last_checked is None for s in states.values())
    assert states["ollama"].kind == "ollama" and states["ollama"].tier == "strong"


async def test_first_probe_fills_in_both(backends) -> None:
    monitor = monitor_for(backends)
    seen: list[BackendState] = []
    monitor.add_listener(seen.append)
    before = time.time()
    states = await monitor.refresh()
    lm, ol = states["lmstudio"], states["ollama"]
    assert lm.status == "up" and ol.status == "up"
    assert lm.chosen_model == "qwen2.5-coder-7b-instruct" and ol.chosen_model == "codellama:34b"
    assert "codellama:34b" in ol.loaded and ol.version == "0.12.3"
    assert any(m.type == "embedding" for m in ol.models)
    assert lm.latency_ms is not None and lm.latency_ms >= 0
    assert lm.last_checked is not None and lm.last_checked >= before
    assert lm.next_check == pytest.approx(lm.last_checked + 30.0)
    assert {s.name for s in seen} == {"lmstudio", "ollama"}
    assert monitor.state("ollama") == ol


async def test_refused_backend_is_down_with_its_error(backends, ollama_sim: SimServer) -> None:
    await ollama_sim.set_fault(Fault("refuse"))
    monitor = monitor_for(backends)
    states = await monitor.refresh()
    ol = states["ollama"]
    assert ol.status == "down" and not ol.available
    assert ol.error_kind == "refused" and ol.last_error
    assert ol.failures == 1
    assert ol.next_check is not None and ol.next_check - ol.last_checked <= 5.0
    assert states["lmstudio"].status == "up"


async def test_probe_is_bounded_by_the_timeout(backends, ollama_sim: SimServer) -> None:
    await ollama_sim.set_fault(Fault("blackhole"))
    monitor = HealthMonitor(backends, interval=30.0, timeout=0.3)
    start = time.perf_counter()
    states = await monitor.refresh(["ollama"])
    assert time.perf_counter() - start < 3.0  # sanity bound; the probe gives up after 0.3 s
    assert states["ollama"].status == "down" and states["ollama"].error_kind == "timeout"
    assert states["lmstudio"].status == "unknown"  # only the named backend was probed
    await monitor.stop()


async def test_mark_failed_and_mark_ok(backends) -> None:
    monitor = monitor_for(backends)
    await monitor.refresh()
    seen: list[str] = []
    monitor.add_listener(lambda s: seen.append(f"{s.name}:{s.status}"))
    monitor.mark_failed("lmstudio", "connection refused", "unavailable")
    state = monitor.state("lmstudio")
    assert (state.status, state.last_error, state.error_kind) == (
        "down",
        "connection refused",
        "unavailable",
    )
    assert state.next_check is not None and state.next_check - time.time() <= 5.0
    assert state.chosen_model == "qwen2.5-coder-7b-instruct"  # what we knew is kept
    monitor.mark_ok("lmstudio")
    assert monitor.state("lmstudio").status == "up"
    assert monitor.state("lmstudio").failures == 0
    monitor.mark_ok("lmstudio")  # no change, no notification
    assert seen == ["lmstudio:down", "lmstudio:up"]
    monitor.mark_failed("nope", "x")  # unknown names are ignored


async def test_failures_back_off_up_to_the_interval(backends) -> None:
    monitor = HealthMonitor(backends, interval=12.0, timeout=1.0, cooldown_failures=10)
    delays = []
    for _ in range(4):
        monitor.mark_failed("ollama", "boom")
        delays.append(round(monitor.state("ollama").next_check - time.time()))
    assert delays == [5, 10, 12, 12]


async def test_polling_reprobes_sooner_after_a_failure(backends, monkeypatch) -> None:
    monkeypatch.setattr(health_module, "RETRY_AFTER_FAILURE", 0.05)
    monitor = monitor_for(backends, interval=30.0)
    await monitor.start()
    try:
        assert monitor.running
        recovered = asyncio.Event()
        monitor.add_listener(lambda s: s.status == "up" and s.name == "ollama" and recovered.set())
        monitor.mark_failed("ollama", "the request failed", "stream")
        assert monitor.state("ollama").status == "down"
        await asyncio.wait_for(recovered.wait(), 5)
        assert monitor.state("ollama").status == "up"
        assert monitor.state("ollama").last_error is None
    finally:
        await monitor.stop()
    assert not monitor.running


async def test_polls_every_interval(backends, ollama_sim: SimServer) -> None:
    monitor = monitor_for(backends, interval=0.05)
    await monitor.start()
    try:
        ollama_sim.reset_counters()
        async with asyncio.timeout(5):  # a sanity bound; three polls take ~0.15 s
            while ollama_sim.hits.count("GET /api/version") < 3:
                await asyncio.sleep(0.01)
        assert monitor.state("ollama").status == "up"
    finally:
        await monitor.stop()
    polled = len(ollama_sim.hits)
    await asyncio.sleep(0.1)
    assert len(ollama_sim.hits) == polled  # stopped means stopped


async def test_down_then_up_is_seen_by_refresh(backends, lmstudio_sim: SimServer) -> None:
    monitor = monitor_for(backends)
    await lmstudio_sim.set_fault(Fault("refuse"))
    assert (await monitor.refresh(["lmstudio"]))["lmstudio"].status == "down"
    await lmstudio_sim.set_fault(None)
    assert (await monitor.refresh(["lmstudio"]))["lmstudio"].status == "up"


async def test_concurrent_refreshes_share_one_probe(backends, ollama_sim: SimServer) -> None:
    monitor = monitor_for(backends)
    ollama_sim.reset_counters()
    await asyncio.gather(*(monitor.refresh(["ollama"]) for _ in range(5)))
    assert ollama_sim.hits.count("GET /api/version") == 1


async def test_degraded_when_no_chat_model(backends, ollama_sim: SimServer) -> None:
    ollama_sim.knobs.models = ["nomic-embed-text:latest"]
    ollama_sim.knobs.loaded = []
    state = (await monitor_for(backends).refresh(["ollama"]))["ollama"]
    assert state.status == "degraded" and state.available
    assert state.chosen_model is None and state.detail == "no chat model listed"


async def test_degraded_when_the_chosen_model_is_not_loaded(backends, ollama_sim) -> None:
    ollama_sim.knobs.loaded = ["llama3.2:latest"]
    state = (await monitor_for(backends).refresh(["ollama"]))["ollama"]
    assert state.status == "degraded" and state.chosen_model == "codellama:34b"
    assert "codellama:34b is not loaded" in (state.detail or "")


def test_slow_probe_is_degraded(backends) -> None:
    report = HealthReport(ok=True, latency_ms=2500.0, models=(ModelInfo("qwen2.5-coder", True),))
    state = state_from_report(backends["lmstudio"], report, checked=1.0, next_check=31.0)
    assert state.status == "degraded" and state.detail == "slow to answer (2.50 s)"


async def test_a_failing_listener_does_not_stop_the_monitor(backends) -> None:
    monitor = monitor_for(backends)
    monitor.add_listener(lambda s: 1 / 0)
    calls: list[str] = []
    monitor.add_listener(lambda s: calls.append(s.name))
    await monitor.refresh()
    assert sorted(calls) == ["lmstudio", "ollama"]


async def test_note_models_sets_the_choice(backends) -> None:
    monitor = monitor_for(backends)
    monitor.note_models("ollama", [ModelInfo("qwen2.5:72b"), ModelInfo("codellama:34b", True)])
    state = monitor.state("ollama")
    assert state.chosen_model == "codellama:34b" and state.loaded == ("codellama:34b",)


async def test_a_backend_serving_a_reply_is_not_probed_until_the_reply_ends(
    make_config, lmstudio_sim: SimServer, ollama_sim: SimServer
) -> None:
    """llama-cpp-python's server, by default, ends the running reply to answer any new
    request, a health probe too: while a reply streams from a backend last seen up, its
    periodic probe waits (the reply shows it is up), and polling resumes after."""
    from dataclasses import replace

    from hybrid_tui.config import HealthConfig
    from hybrid_tui.events import Done, Token
    from hybrid_tui.router.service import RouterService

    config = make_config(lmstudio=lmstudio_sim.url, ollama=ollama_sim.url)
    config = replace(config, health=HealthConfig(interval=0.05, timeout=1.0))
    ollama_sim.knobs.reply_tokens = 60
    ollama_sim.knobs.tokens_per_s = 150.0  # a 0.4 s reply: eight polls' worth
    async with RouterService(config, poll=True) as service:
        probes_while_streaming = -1
        async for event in service.submit("explain this", force="ollama"):
            if isinstance(event, Token) and probes_while_streaming < 0:
                ollama_sim.reset_counters()
                lmstudio_sim.reset_counters()
                probes_while_streaming = 0
            if isinstance(event, Done):
                probes_while_streaming = sum(h.startswith("GET") for h in ollama_sim.hits)
                other_backend_probes = sum(h.startswith("GET") for h in lmstudio_sim.hits)
        assert probes_while_streaming == 0
        assert other_backend_probes >= 2  # the others are polled as usual
        async with asyncio.timeout(5):
            while not any(h.startswith("GET") for h in ollama_sim.hits):
                await asyncio.sleep(0.01)
