"""Mid-stream failover, cooldowns and the waits before a first token, through the router
service over real HTTP to the simulators (the fault-by-fault suite is test_faults_router.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from hybrid_tui.config import BackendConfig, Config, RoutingConfig
from hybrid_tui.events import Done, Error, Failover, Token, Waiting
from hybrid_tui.health import BackendState, HealthMonitor
from hybrid_tui.router.classify import classify
from hybrid_tui.router.decide import Candidate, decide
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import Fault, SimKnobs, SimServer, reply_for
from tests.integration.test_router import collect, kinds, text_of, with_backend

COMPLEX = "analyze this complex system architecture"


@pytest.fixture
def sims(lmstudio_sim: SimServer, ollama_sim: SimServer) -> tuple[SimServer, SimServer]:
    return lmstudio_sim, ollama_sim


@pytest.fixture
def config(make_config, sims) -> Config:
    lm, ol = sims
    return make_config(lmstudio=lm.url, ollama=ol.url)


def routing(config: Config, **changes) -> Config:
    return replace(config, routing=replace(config.routing, **changes))


# --------------------------------------------------------------------------- failover


@pytest.mark.parametrize(
    ("fault", "error_kind", "says"),
    [
        ("die", "stream", "connection dropped mid-reply"),
        ("error_line", "stream", "model runner has unexpectedly stopped"),
    ],
)
async def test_ollama_failing_after_60_tokens_is_finished_by_lmstudio(
    config, sims, fault, error_kind, says
) -> None:
    lm, ol = sims
    async with RouterService(config, poll=False) as service:
        await ol.set_fault(Fault(fault, after_tokens=60))
        events = await collect(service.submit(COMPLEX))
        state = service.health.state("ollama")
    assert kinds(events) == ["decision", "token", "failover", "token", "done"]
    failover = next(ev for ev in events if isinstance(ev, Failover))
    assert (failover.from_backend, failover.to_backend) == ("ollama", "lmstudio")
    assert failover.model == "qwen2.5-coder-7b-instruct"
    assert failover.tokens_so_far == 60 and failover.error_kind == error_kind
    assert failover.reason.startswith("ollama failed after 60 tokens (")
    assert says in failover.reason and failover.reason.endswith("lmstudio continues the reply")

    first = [ev for ev in events if isinstance(ev, Token) and ev.backend == "ollama"]
    partial = "".join(ev.text for ev in first)
    assert len(first) == 60 and events.index(failover) == 61  # every ollama token came first
    # the continuation request: the same conversation plus the partial reply as a prefix
    sent = lm.requests[-1]["messages"]
    assert sent[:-1] == ol.requests[-1]["messages"]
    assert sent[-1] == {"role": "assistant", "content": partial}

    done = events[-1]
    assert isinstance(done, Done)
    assert (done.backend, done.failover_from, done.fallback_from) == ("lmstudio", "ollama", None)
    assert done.text == partial + text_of(events, "lmstudio") == reply_for(COMPLEX)
    assert done.tokens == len(reply_for_tokens(COMPLEX))
    assert done.ttft_ms is not None and done.total_ms >= done.ttft_ms
    assert state.status == "down" and state.request_failures == 1 and not state.cooling


def reply_for_tokens(prompt: str) -> list[str]:
    from hybrid_tui.sim import tokenize

    return tokenize(reply_for(prompt))


async def test_stall_fails_over_on_the_stall_timeout(config, sims) -> None:
    _lm, ol = sims
    async with RouterService(routing(config, stall_timeout=0.3), poll=False) as service:
        await ol.set_fault(Fault("stall", after_tokens=10))
        started = time.monotonic()
        events = await collect(service.submit(COMPLEX))
        elapsed = time.monotonic() - started
    failover = next(ev for ev in events if isinstance(ev, Failover))
    assert failover.error_kind == "timeout" and "stalled: nothing for 0.3 s" in failover.reason
    assert events[-1].text == reply_for(COMPLEX)
    assert elapsed < 5  # the stall timeout, not the 5 s first-token timeout, decided


async def test_a_chain_of_three_backends_keeps_every_part(config, sims) -> None:
    """ollama dies, a second Ollama takes over and dies too, LM Studio finishes: two failovers,
    and each continuation carries everything before it."""
    lm, ol = sims
    async with SimServer("ollama", SimKnobs(tokens_per_s=None)) as ol2:
        backends = dict(config.backends)
        backends["ollama2"] = replace(backends["ollama"], name="ollama2", endpoint=ol2.url)
        chained = replace(config, backends=backends)
        async with RouterService(chained, poll=False) as service:
            await ol.set_fault(Fault("die", after_tokens=10))
            await ol2.set_fault(Fault("error_line", after_tokens=7))
            events = await collect(service.submit(COMPLEX))
    failovers = [ev for ev in events if isinstance(ev, Failover)]
    assert [(f.from_backend, f.to_backend, f.tokens_so_far) for f in failovers] == [
        ("ollama", "ollama2", 10),
        ("ollama2", "lmstudio", 17),
    ]
    first, second = text_of(events, "ollama"), text_of(events, "ollama2")
    assert ol2.requests[-1]["messages"][-1]["content"] == first
    assert lm.requests[-1]["messages"][-1]["content"] == first + second
    done = events[-1]
    assert done.backend == "lmstudio" and done.failover_from == "ollama2"
    assert done.text == text_of(events) == reply_for(COMPLEX)


async def test_a_continuation_that_cannot_start_fails_over_again(config, sims) -> None:
    lm, ol = sims
    async with SimServer("openai", SimKnobs(tokens_per_s=None)) as lm2:
        backends = dict(config.backends)
        backends["lmstudio2"] = replace(backends["lmstudio"], name="lmstudio2", endpoint=lm2.url)
        async with RouterService(replace(config, backends=backends), poll=False) as service:
            await ol.set_fault(Fault("die", after_tokens=12))
            await lm.set_fault(Fault("status", status=500))  # after the probe: still "up"
            events = await collect(service.submit(COMPLEX))
    assert kinds(events) == ["decision", "token", "failover", "failover", "token", "done"]
    one, two = (ev for ev in events if isinstance(ev, Failover))
    assert (one.to_backend, two.from_backend) == ("lmstudio", "lmstudio")
    assert two.to_backend == "lmstudio2"
    assert one.tokens_so_far == two.tokens_so_far == 12
    assert "HTTP 500" in two.reason
    assert events[-1].backend == "lmstudio2" and events[-1].text == reply_for(COMPLEX)


async def test_nobody_to_continue_ends_in_one_error_keeping_the_partial(config, sims) -> None:
    _lm, ol = sims
    async with RouterService(config, poll=False) as service:
        service.health.mark_failed("lmstudio", "connection refused", "refused")
        await ol.set_fault(Fault("die", after_tokens=8))
        events = await collect(service.submit(COMPLEX))
    assert kinds(events) == ["decision", "token", "error"]
    error = events[-1]
    assert isinstance(error, Error)
    assert (error.kind, error.backend) == ("stream", "ollama")
    assert error.partial == text_of(events) and len(error.partial) > 10
    assert error.message.startswith("ollama failed mid-reply: connection dropped mid-reply")
    assert error.message.endswith("no other backend could continue it; the partial reply is kept")


async def test_closing_during_a_failover_releases_everything(config, sims) -> None:
    lm, ol = sims
    lm.knobs.tokens_per_s = 20
    async with RouterService(config, poll=False) as service:
        await ol.set_fault(Fault("die", after_tokens=5))
        stream = service.submit(COMPLEX)
        async for ev in stream:
            if isinstance(ev, Token) and ev.backend == "lmstudio":
                break
        await stream.aclose()
        assert service.limiters["lmstudio"].active == service.limiters["ollama"].active == 0
        await lm.wait_idle(timeout=3)
    assert lm.cancelled == 1


# --------------------------------------------------------------------------- cooldown


async def test_three_failures_in_a_row_start_a_cooldown_and_a_success_ends_it(
    config, sims
) -> None:
    _lm, ol = sims
    # learning off: lmstudio's four good fallback answers would otherwise (rightly) start to
    # win complex prompts from the bandit; this test is about the cooldown alone
    cfg = routing(config, cooldown_failures=3, cooldown_seconds=0.6, learning_enabled=False)
    async with RouterService(cfg, poll=False) as service:
        await ol.set_fault(Fault("status", status=500))
        for n in (1, 2, 3):
            events = await collect(service.submit(COMPLEX))
            assert events[0].backend == "ollama"  # a good probe does not hide the failures
            assert events[-1].backend == "lmstudio" and events[-1].fallback_from == "ollama"
            await service.health.refresh()  # the model list still answers: "up"
            state = service.health.state("ollama")
            assert state.status == "up" and state.request_failures == n
        assert state.cooling and 0 < state.cooldown_left <= 0.6
        asked = len(ol.requests)

        events = await collect(service.submit(COMPLEX))
        decision = events[0]
        assert decision.backend == "lmstudio"
        assert decision.reason == "ollama cooling down (3 failures) → lmstudio"
        assert decision.signals.to_dict()["cooling"] == {"ollama": 3}
        assert len(ol.requests) == asked  # skipped: not asked at all

        await ol.set_fault(None)
        await asyncio.sleep(0.65)
        await service.health.refresh()  # the re-probe after the cooldown
        assert not service.health.state("ollama").cooling
        events = await collect(service.submit(COMPLEX))
        assert events[-1].backend == "ollama" and isinstance(events[-1], Done)
        state = service.health.state("ollama")
        assert state.request_failures == 0 and state.cooldown_until is None


async def test_one_more_failure_after_a_cooldown_starts_the_next(config, sims) -> None:
    _lm, ol = sims
    cfg = routing(config, cooldown_failures=2, cooldown_seconds=0.3)
    async with RouterService(cfg, poll=False) as service:
        await ol.set_fault(Fault("status", status=503))
        for _ in range(2):
            await collect(service.submit(COMPLEX))
            await service.health.refresh()
        assert service.health.state("ollama").cooling
        await asyncio.sleep(0.35)
        await service.health.refresh()
        assert not service.health.state("ollama").cooling
        events = await collect(service.submit(COMPLEX))  # tried again, fails once more
        assert events[0].backend == "ollama" and events[-1].backend == "lmstudio"
        assert service.health.state("ollama").cooling


async def test_the_monitor_reprobes_when_a_cooldown_ends(config, sims) -> None:
    from hybrid_tui.backends import make_backend

    async with RouterService(config, poll=False) as service:
        monitor = HealthMonitor(
            {"ollama": make_backend(config.backends["ollama"], service.client)},
            interval=30.0, timeout=2.0, cooldown_failures=1, cooldown_seconds=0.2,
        )
        await monitor.start()
        try:
            seen: list[BackendState] = []
            ended = asyncio.Event()

            def listen(state: BackendState) -> None:
                seen.append(state)
                if state.status == "up" and state.cooldown_until is None:
                    ended.set()

            monitor.mark_failed("ollama", "boom", "http")
            assert monitor.state("ollama").cooling
            monitor.add_listener(listen)
            await asyncio.wait_for(ended.wait(), 5)
            assert monitor.state("ollama").request_failures == 1  # half open
        finally:
            await monitor.stop()


def test_cooling_backends_are_skipped_with_the_reason_in_words() -> None:
    cls = classify(COMPLEX)
    both = [
        Candidate("lmstudio", "fast", ("format",), "up"),
        Candidate("ollama", "strong", ("analysis",), "up", cooling=True, failures=3),
    ]
    choice = decide(cls, both)
    assert choice.backend == "lmstudio" and choice.rule == "only-up"
    assert choice.reason == "ollama cooling down (3 failures) → lmstudio"
    forced = decide(cls, both, force="ollama")  # the user's word still wins
    assert forced.backend == "ollama" and forced.reason == "forced by user (ollama)"
    three = [*both, Candidate("big", "strong", (), "up")]
    choice = decide(cls, three)
    assert choice.backend == "big"
    assert choice.reason.endswith("; ollama cooling down (3 failures)")


def test_status_shows_the_cooldown() -> None:
    from hybrid_tui.cli_status import backend_record

    backend = BackendConfig(name="ollama", kind="ollama", endpoint="http://localhost:11434")
    state = BackendState("ollama", backend.endpoint, "ollama", "strong", status="up",
                         request_failures=3, cooldown_until=time.time() + 12.4)
    record = backend_record(backend, state)
    assert record["status"] == "cooling down 12 s" and 12 <= record["cooldown_s"] <= 12.4


def test_cooldown_keys_have_defaults() -> None:
    r = RoutingConfig()
    assert (r.stall_timeout, r.cooldown_failures, r.cooldown_seconds) == (30.0, 3, 30.0)


# --------------------------------------------------------------------------- waiting


async def test_a_cold_model_is_announced_once_as_loading(config, sims) -> None:
    _lm, ol = sims
    ol.knobs.loaded = []  # nothing in memory: the first reply loads codellama:34b
    ol.knobs.load_delay = 0.3
    async with RouterService(config, poll=False) as service:
        first = await collect(service.submit(COMPLEX))
        second = await collect(service.submit(COMPLEX))
    assert kinds(first) == ["decision", "waiting", "token", "done"]
    waiting = first[1]
    assert isinstance(waiting, Waiting)
    assert (waiting.backend, waiting.model, waiting.state) == ("ollama", "codellama:34b",
                                                              "loading model")
    assert 0 <= waiting.elapsed_s < 1
    assert first[-1].backend == "ollama"  # a cold load is not a failure: no fallback
    assert kinds(second) == ["decision", "token", "done"]  # loaded now


async def test_a_slow_first_token_is_announced_once(config, sims) -> None:
    lm, _ol = sims
    lm.knobs.first_token_delay = 0.5
    async with RouterService(config, poll=False) as service:
        service.first_token_notice = 0.1
        events = await collect(service.submit("format this code"))
    assert kinds(events) == ["decision", "waiting", "token", "done"]
    assert events[1].state == "waiting for first token" and events[1].elapsed_s >= 0.1
    assert events[-1].backend == "lmstudio"


async def test_a_queued_request_says_queued_then_waiting(config, sims) -> None:
    _lm, ol = sims
    ol.knobs.tokens_per_s = 100
    ol.knobs.reply_tokens = 30
    async with RouterService(config, poll=False) as service:
        first = asyncio.create_task(collect(service.submit(COMPLEX)))
        while service.limiters["ollama"].active == 0:
            await asyncio.sleep(0.005)
        second = await collect(service.submit(COMPLEX))
        await first
    waits = [ev.state for ev in second if isinstance(ev, Waiting)]
    assert waits == ["queued", "waiting for first token"]
    assert kinds(second) == ["decision", "waiting", "waiting", "token", "done"]


async def test_closing_while_waiting_for_the_first_token_closes_the_request(config, sims) -> None:
    lm, _ol = sims
    lm.knobs.first_token_delay = 5.0
    async with RouterService(config, poll=False) as service:
        service.first_token_notice = 0.05
        stream = service.submit("format this code")
        async for ev in stream:
            if isinstance(ev, Waiting):
                break
        await stream.aclose()
        assert service.limiters["lmstudio"].active == 0
        await lm.wait_idle(timeout=3)
    assert lm.cancelled == 1 and lm.completed == 0


async def test_cancelling_while_waiting_for_the_first_token(config, sims) -> None:
    lm, _ol = sims
    lm.knobs.first_token_delay = 5.0
    async with RouterService(config, poll=False) as service:
        service.first_token_notice = 0.05
        said = asyncio.Event()

        async def consume() -> None:
            async for ev in service.submit("format this code"):
                if isinstance(ev, Waiting):
                    said.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(said.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert service.limiters["lmstudio"].active == 0
        await lm.wait_idle(timeout=3)
    assert lm.cancelled == 1


async def test_a_forced_cold_backend_still_waits_within_its_timeout(config, sims) -> None:
    lm, _ol = sims
    lm.knobs.loaded = []
    lm.knobs.load_delay = 0.4
    cfg = with_backend(config, "lmstudio", timeout=2.0)
    async with RouterService(cfg, poll=False) as service:
        events = await collect(service.submit("format this code", force="lmstudio"))
    assert [ev.state for ev in events if isinstance(ev, Waiting)] == ["loading model"]
    assert isinstance(events[-1], Done) and events[-1].backend == "lmstudio"
