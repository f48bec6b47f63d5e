"""The router service end to end, over real HTTP to the simulators on loopback."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from hybrid_tui.config import Config
from hybrid_tui.errors import BackendTimeout, BackendUnavailable, UsageError
from hybrid_tui.events import Decision, Done, Error, Escalation, Event, Fallback, Token
from hybrid_tui.router.limiter import FifoLimiter
from hybrid_tui.router.messages import build_messages, hint, nobody_answered
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import Fault, SimServer
from hybrid_tui.store import Outcome, Store
from tests.support import collect, dead_url, with_backend

COMPLEX = "analyze this complex system architecture"
APOLOGY = "I'm sorry, but as an AI I cannot help with that."
GOOD_CODE = (
    "Here it is:\n\n```python\ndef parse(text: str) -> list[str]:\n    return text.split()\n```\n"
)


def kinds(events: list[Event]) -> list[str]:
    """Event names with runs of tokens collapsed: ["decision", "token", "done"]."""
    out: list[str] = []
    for ev in events:
        if not (ev.event == "token" and out and out[-1] == "token"):
            out.append(ev.event)
    return out


def text_of(events: list[Event], backend: str | None = None) -> str:
    return "".join(
        ev.text for ev in events if isinstance(ev, Token) and backend in (None, ev.backend)
    )


@pytest.fixture
def sims(lmstudio_sim: SimServer, ollama_sim: SimServer) -> tuple[SimServer, SimServer]:
    return lmstudio_sim, ollama_sim


@pytest.fixture
def config(make_config, sims) -> Config:
    lm, ol = sims
    return make_config(lmstudio=lm.url, ollama=ol.url)


@pytest.fixture
async def router(config: Config) -> AsyncIterator[RouterService]:
    service = RouterService(config, poll=False)
    await service.start()
    try:
        yield service
    finally:
        await service.aclose()


# -- the FIFO limiter (pure logic) ---------------------------------------------------------


async def test_limiter_is_fifo_and_never_exceeds_its_limit() -> None:
    limiter = FifoLimiter(2)
    order: list[int] = []
    peak = 0

    async def job(i: int) -> None:
        nonlocal peak
        async with limiter.slot():
            order.append(i)
            peak = max(peak, limiter.active)
            await asyncio.sleep(0.001 * (i % 3))

    await asyncio.gather(*(job(i) for i in range(12)))
    assert order == list(range(12))
    assert peak == 2 and limiter.active == 0 and limiter.waiting == 0


async def test_limiter_says_how_long_each_holder_has_held_its_slot() -> None:
    limiter = FifoLimiter(2)
    release = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot():
            await release.wait()

    first = asyncio.create_task(hold())
    await asyncio.sleep(0.05)
    second = asyncio.create_task(hold())
    third = asyncio.create_task(hold())  # waits: not counted
    await asyncio.sleep(0.01)
    busy = sorted(limiter.busy_for())
    assert len(busy) == 2 and busy[0] < 0.05 <= busy[1] < 5
    release.set()
    await asyncio.gather(first, second, third)
    assert limiter.busy_for() == ()


async def test_limiter_says_what_each_request_asks_holders_first_then_in_line() -> None:
    limiter = FifoLimiter(1)
    release = asyncio.Event()

    async def hold(task_type: str) -> None:
        async with limiter.slot(task_type):
            await release.wait()

    tasks = []
    for task_type in ("analysis", "format", "edit"):
        tasks.append(asyncio.create_task(hold(task_type)))
        await asyncio.sleep(0)
    assert limiter.task_types() == ("analysis", "format", "edit")
    tasks[1].cancel()  # gives up its place in line
    await asyncio.sleep(0)
    assert limiter.task_types() == ("analysis", "edit")
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert limiter.task_types() == ()


async def test_limiter_cancel_while_queued_gives_up_the_place() -> None:
    limiter = FifoLimiter(1)
    await limiter.acquire()
    queued = asyncio.create_task(limiter.acquire())
    behind = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert limiter.waiting == 2
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    limiter.release()
    await asyncio.wait_for(behind, 1)
    assert limiter.active == 1 and limiter.waiting == 0
    limiter.release()
    assert limiter.active == 0


async def test_limiter_slot_handed_over_then_cancelled_is_passed_on() -> None:
    limiter = FifoLimiter(1)
    await limiter.acquire()
    first = asyncio.create_task(limiter.acquire())
    second = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    limiter.release()  # hands the slot to ``first`` ...
    first.cancel()  # ... which is cancelled before it runs: ``second`` must get it
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)
    assert limiter.active == 1
    limiter.release()
    assert limiter.active == 0


# -- what the router says (pure) -----------------------------------------------------------


def test_messages_keep_a_system_prompt_from_history() -> None:
    history = [{"role": "system", "content": "be terse"}, {"role": "user", "content": "q"}]
    messages = build_messages("next", history=history)
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert messages[0]["content"] == "be terse"
    assert build_messages("x", system=None) == [{"role": "user", "content": "x"}]


def test_failure_advice_per_kind() -> None:
    assert hint("ollama", "refused") == "run `ollama serve`"
    assert hint("openai", "unavailable") == (
        "start LM Studio's server (Developer tab or `lms server start`)"
    )
    assert hint("ollama", "model-not-found", "qwen2.5:72b") == "pull it: `ollama pull qwen2.5:72b`"
    assert hint("openai", "http") is None
    message = nobody_answered(
        {"lmstudio": ("openai", "http://user:s3cret@10.0.0.2:1234"), "ollama": ("ollama", "x")},
        {"ollama": BackendTimeout("no first token within 30 s", backend="ollama")},
        {"lmstudio": ("connection refused", "refused")},
    )
    assert "s3cret" not in message and "lmstudio at http://10.0.0.2:1234 is down" in message
    assert "ollama at x failed (no first token within 30 s)." in message
    refused = BackendUnavailable("connection refused", backend="ollama")
    assert "run `ollama serve`" in nobody_answered(
        {"ollama": ("ollama", "x")}, {"ollama": refused}, {}
    )


# -- routing and streaming --------------------------------------------------------------


async def test_format_goes_to_lmstudio_over_openai_sse(router, sims) -> None:
    lm, ol = sims
    events = await collect(router.submit("format this code"))
    assert kinds(events) == ["decision", "token", "done"]
    decision, done = events[0], events[-1]
    assert isinstance(decision, Decision) and isinstance(done, Done)
    assert (decision.backend, decision.model) == ("lmstudio", "qwen2.5-coder-7b-instruct")
    assert (decision.task_type, decision.complexity) == ("format", "simple")
    assert decision.reason == "simple format → lmstudio (fast tier, configured for format)"
    assert done.backend == "lmstudio" and not done.escalated
    assert done.text == text_of(events) and done.text
    assert done.tokens > 0 and done.ttft_ms is not None and done.confidence is not None
    assert len(lm.requests) == 1 and ol.requests == []
    sent = lm.requests[0]
    assert sent["model"] == "qwen2.5-coder-7b-instruct" and sent["stream"] is True
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][-1] == {"role": "user", "content": "format this code"}


async def test_complex_analysis_goes_to_ollama_over_ndjson(router, sims) -> None:
    lm, ol = sims
    events = await collect(router.submit(COMPLEX))
    assert kinds(events) == ["decision", "token", "done"]
    decision, done = events[0], events[-1]
    assert (decision.backend, decision.model) == ("ollama", "codellama:34b")
    assert (decision.task_type, decision.complexity) == ("analysis", "complex")
    assert done.backend == "ollama" and done.text == text_of(events, "ollama")
    assert all(ev.backend == "ollama" for ev in events if isinstance(ev, Token))
    assert len(ol.requests) == 1 and lm.requests == []


async def test_context_and_history_are_sent(router, sims) -> None:
    lm, _ = sims
    history = [
        {"role": "user", "content": "earlier question"},
        {"role": "assistant", "content": "earlier answer"},
    ]
    context = [("src/app.py", "print('hi')\n"), ("notes.md", "has ``` fences\n")]
    await collect(router.submit("format this code", context, history, force="lmstudio"))
    messages = lm.requests[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1:3] == history
    last = messages[-1]["content"]
    assert last.startswith("File: src/app.py\n```\nprint('hi')\n```\n")
    assert "File: notes.md\n````\nhas ``` fences\n````\n" in last
    assert last.endswith("\nformat this code")


async def test_reasoning_text_is_not_part_of_the_reply(router, sims) -> None:
    lm, _ = sims
    lm.knobs.quirks.add("reasoning_content")
    lm.knobs.reply = GOOD_CODE
    events = await collect(router.submit("format this code"))
    done = events[-1]
    assert isinstance(done, Done)
    assert done.text == text_of(events) == GOOD_CODE


async def test_model_is_looked_up_when_health_is_unknown(config, sims) -> None:
    service = RouterService(config, poll=False)  # never started: health unknown
    try:
        assert service.health.state("lmstudio").status == "unknown"
        events = await collect(service.submit("format this code"))
        assert events[0].model == "qwen2.5-coder-7b-instruct"
        assert isinstance(events[-1], Done)
        assert service.health.state("lmstudio").chosen_model == "qwen2.5-coder-7b-instruct"
    finally:
        await service.aclose()


# -- forcing ----------------------------------------------------------------------------


async def test_forced_backend(router, sims) -> None:
    _lm, ol = sims
    events = await collect(router.submit(COMPLEX, force="lmstudio"))
    decision = events[0]
    assert decision.backend == "lmstudio" and decision.forced
    assert decision.reason == "forced by user (lmstudio)"
    assert isinstance(events[-1], Done) and events[-1].backend == "lmstudio"
    assert ol.requests == []


async def test_forced_backend_gets_no_escalation(router, sims) -> None:
    lm, ol = sims
    lm.knobs.reply = APOLOGY
    events = await collect(router.submit("write a quicksort", force="lmstudio"))
    assert kinds(events) == ["decision", "token", "done"]
    assert events[-1].confidence < router.config.routing.escalation_threshold
    assert ol.requests == []


@pytest.mark.parametrize(("tier", "backend"), [("strong", "ollama"), ("fast", "lmstudio")])
async def test_forced_tier(router, tier: str, backend: str) -> None:
    prompt = "format this code" if tier == "strong" else COMPLEX
    events = await collect(router.submit(prompt, force=tier))
    assert events[0].backend == backend and events[0].forced
    assert events[0].reason == f"{tier} tier forced by user ({backend})"
    assert events[-1].backend == backend


async def test_forcing_an_unknown_backend_fails_at_once(router) -> None:
    with pytest.raises(UsageError, match="unknown or disabled backend 'gpt'"):
        router.submit("hi", force="gpt")


async def test_forcing_a_disabled_backend_is_a_usage_error(config) -> None:
    service = RouterService(with_backend(config, "ollama", enabled=False), poll=False)
    try:
        assert "ollama" not in service.health.states()
        with pytest.raises(UsageError):
            service.submit("hi", force="ollama")
        with pytest.raises(UsageError, match="no strong-tier backend"):
            service.submit("hi", force="strong")
    finally:
        await service.aclose()


# -- fallback ---------------------------------------------------------------------------


async def test_fallback_when_the_chosen_backend_refuses(router, sims) -> None:
    _lm, ol = sims
    await ol.set_fault(Fault("refuse"))  # health still says up: the request finds out
    events = await collect(router.submit(COMPLEX))
    assert kinds(events) == ["decision", "fallback", "token", "done"]
    fallback = events[1]
    assert isinstance(fallback, Fallback)
    assert (fallback.from_backend, fallback.to_backend) == ("ollama", "lmstudio")
    assert fallback.model == "qwen2.5-coder-7b-instruct"
    assert fallback.reason.startswith("ollama failed (")
    assert fallback.reason.endswith("only lmstudio is up")
    assert events[-1].backend == "lmstudio"
    state = router.health.state("ollama")
    assert state.status == "down" and state.last_error


async def test_fallback_on_http_error_before_the_first_token(router, sims) -> None:
    lm, _ol = sims
    await lm.set_fault(Fault("status", status=500))
    events = await collect(router.submit("format this code"))
    assert kinds(events) == ["decision", "fallback", "token", "done"]
    assert (events[1].from_backend, events[1].to_backend) == ("lmstudio", "ollama")
    assert events[-1].backend == "ollama" and events[-1].text


async def test_fallback_from_a_closed_port(make_config, sims) -> None:
    lm, _ = sims
    config = make_config(lmstudio=lm.url, ollama=dead_url())
    service = RouterService(config, poll=False)  # not probed: both unknown, ollama is chosen
    try:
        events = await collect(service.submit(COMPLEX))
        assert kinds(events) == ["decision", "fallback", "token", "done"]
        assert events[0].backend == "ollama" and events[0].model == ""
        assert events[-1].backend == "lmstudio"
    finally:
        await service.aclose()


async def test_a_down_backend_after_probing_is_not_chosen(config, sims) -> None:
    _lm, ol = sims
    await ol.set_fault(Fault("refuse"))
    async with RouterService(config, poll=False) as service:
        assert service.health.state("ollama").status == "down"
        events = await collect(service.submit(COMPLEX))
    assert kinds(events) == ["decision", "token", "done"]
    assert events[0].backend == "lmstudio" and events[0].reason == "only lmstudio is up"


async def test_both_down_names_both_and_how_to_start_them(make_config) -> None:
    config = make_config(lmstudio=dead_url(), ollama=dead_url())
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(COMPLEX))
    assert kinds(events) == ["decision", "error"]
    error = events[-1]
    assert isinstance(error, Error) and error.kind == "unavailable"
    assert error.message.startswith("no backend could answer: ")
    assert "lmstudio at http://127.0.0.1:" in error.message
    assert "ollama at http://127.0.0.1:" in error.message
    assert "start LM Studio's server (Developer tab or `lms server start`)" in error.message
    assert "run `ollama serve`" in error.message


async def test_both_failing_requests_end_in_one_error(router, sims) -> None:
    lm, ol = sims
    await lm.set_fault(Fault("refuse"))
    await ol.set_fault(Fault("refuse"))
    events = await collect(router.submit("format this code"))
    assert kinds(events) == ["decision", "fallback", "error"]
    assert "lmstudio" in events[-1].message and "ollama" in events[-1].message


async def test_failure_after_tokens_keeps_the_partial_reply(router, sims) -> None:
    lm, ol = sims
    await lm.set_fault(Fault("die", after_tokens=5))
    await ol.set_fault(Fault("refuse"))  # nobody to fail over to (see test_failover.py)
    events = await collect(router.submit("format this code"))
    assert kinds(events) == ["decision", "token", "failover", "error"]
    error = events[-1]
    assert error.backend == "lmstudio" and error.partial == text_of(events)
    assert error.kind == "stream"
    assert error.message.startswith("lmstudio failed mid-reply: ")
    assert "no other backend could continue it (ollama: " in error.message
    assert ol.requests == []


# -- escalation -------------------------------------------------------------------------


async def test_low_confidence_fast_reply_escalates_to_strong(router, sims) -> None:
    lm, ol = sims
    lm.knobs.reply = APOLOGY
    events = await collect(router.submit("write a quicksort"))
    assert kinds(events) == ["decision", "token", "done", "escalation", "token", "done"]
    first, final = [ev for ev in events if isinstance(ev, Done)]
    escalation = next(ev for ev in events if isinstance(ev, Escalation))
    assert first.backend == "lmstudio" and not first.escalated and first.text == APOLOGY
    assert first.confidence < 0.7
    assert (escalation.from_backend, escalation.to_backend) == ("lmstudio", "ollama")
    assert escalation.confidence == first.confidence and escalation.threshold == 0.7
    assert final.backend == "ollama" and final.escalated and final.text
    assert final.text == text_of(events, "ollama")
    assert len(ol.requests) == 1
    stats = router.learner.stats("template", "simple")
    assert stats == {"lmstudio": (0, 1), "ollama": (1, 1)}


async def test_no_escalation_when_scoring_is_off(make_config, sims) -> None:
    lm, ol = sims
    lm.knobs.reply = APOLOGY
    config = make_config(lmstudio=lm.url, ollama=ol.url, confidence_scoring=False)
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit("write a quicksort"))
    assert kinds(events) == ["decision", "token", "done"]
    assert events[-1].confidence is None


async def test_no_escalation_when_the_strong_tier_is_down(router, sims) -> None:
    lm, _ol = sims
    lm.knobs.reply = APOLOGY
    router.health.mark_failed("ollama", "gone", "unavailable")
    events = await collect(router.submit("write a quicksort"))
    assert kinds(events) == ["decision", "token", "done"]


# -- concurrency ------------------------------------------------------------------------


async def test_concurrency_cap_is_observed_at_the_simulator(config, sims) -> None:
    lm, _ = sims
    lm.knobs.tokens_per_s = 400
    lm.knobs.reply_tokens = 12
    config = with_backend(config, "lmstudio", max_concurrent=3)
    async with RouterService(config, poll=False) as service:
        results = await asyncio.gather(
            *(collect(service.submit(f"format item {i}", force="lmstudio")) for i in range(10))
        )
        assert service.limiters["lmstudio"].active == 0
    assert all(isinstance(r[-1], Done) and r[-1].backend == "lmstudio" for r in results)
    assert len(lm.requests) == 10
    assert lm.max_in_flight <= 3
    assert lm.max_in_flight >= 2  # the cap, not a lack of demand, limited it


async def test_queued_requests_start_in_fifo_order(router, sims) -> None:
    _, ol = sims
    ol.knobs.tokens_per_s = 400
    ol.knobs.reply_tokens = 8
    prompts = [f"analyze complex system number {i}" for i in range(6)]
    results = await asyncio.gather(*(collect(router.submit(p)) for p in prompts))
    assert all(isinstance(r[-1], Done) for r in results)
    arrived = [body["messages"][-1]["content"] for body in ol.requests]
    assert arrived == prompts
    assert ol.max_in_flight == 1


async def test_the_decision_sees_what_each_queued_request_asks(router, sims) -> None:
    _, ol = sims
    ol.knobs.tokens_per_s = 100
    ol.knobs.reply_tokens = 30
    first = asyncio.create_task(collect(router.submit(COMPLEX)))
    while router.limiters["ollama"].active == 0:
        await asyncio.sleep(0.005)
    ollama = next(c for c in router.candidates() if c.name == "ollama")
    assert ollama.queued_tasks == ("analysis",) and len(ollama.busy_s) == 1
    await first
    ollama = next(c for c in router.candidates() if c.name == "ollama")
    assert ollama.queued_tasks == () and ollama.queue == 0


async def test_a_queued_request_does_not_time_out_because_of_the_cap(config, sims) -> None:
    _, ol = sims
    ol.knobs.tokens_per_s = 50
    ol.knobs.reply_tokens = 20  # ~0.4 s each; three in a row exceed the first-token timeout
    config = with_backend(config, "ollama", timeout=0.5)
    async with RouterService(config, poll=False) as service:
        results = await asyncio.gather(*(collect(service.submit(COMPLEX)) for _ in range(3)))
    assert [r[-1].event for r in results] == ["done"] * 3


# -- cancellation -----------------------------------------------------------------------


async def test_closing_the_stream_releases_the_slot_and_the_connection(router, sims) -> None:
    lm, _ = sims
    lm.knobs.tokens_per_s = 20
    lm.knobs.reply_tokens = 400
    events = router.submit("format this code")
    async for ev in events:
        if isinstance(ev, Token):
            break
    assert router.limiters["lmstudio"].active == 1
    await events.aclose()
    assert router.limiters["lmstudio"].active == 0
    await lm.wait_idle(timeout=3)
    assert lm.cancelled == 1 and lm.completed == 0


async def test_cancelling_the_task_releases_the_slot(router, sims) -> None:
    lm, _ = sims
    lm.knobs.tokens_per_s = 20
    lm.knobs.reply_tokens = 400
    got_token = asyncio.Event()

    async def consume() -> None:
        async for ev in router.submit("format this code"):
            if isinstance(ev, Token):
                got_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_token.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert router.limiters["lmstudio"].active == 0
    await lm.wait_idle(timeout=3)
    assert lm.cancelled == 1
    # the slot is really free: the next request runs to the end
    lm.knobs.tokens_per_s = None
    lm.knobs.reply_tokens = 5
    events = await collect(router.submit("format this code"))
    assert isinstance(events[-1], Done)


async def test_cancelling_a_queued_request_leaves_the_queue_working(router, sims) -> None:
    _, ol = sims
    ol.knobs.tokens_per_s = 100
    ol.knobs.reply_tokens = 30
    first = asyncio.create_task(collect(router.submit(COMPLEX)))
    second = asyncio.create_task(collect(router.submit(COMPLEX)))
    for _ in range(200):
        if router.limiters["ollama"].waiting == 1:
            break
        await asyncio.sleep(0.005)
    assert router.limiters["ollama"].waiting == 1
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert isinstance((await first)[-1], Done)
    third = await collect(router.submit(COMPLEX))
    assert isinstance(third[-1], Done)
    assert len(ol.requests) == 2 and router.limiters["ollama"].active == 0


# -- health never blocks a prompt ---------------------------------------------------------


async def test_a_hanging_probe_does_not_block_a_prompt(router, sims) -> None:
    _lm, ol = sims
    await ol.set_fault(Fault("blackhole"))
    probe = asyncio.create_task(router.health.refresh(["ollama"]))
    events = await asyncio.wait_for(collect(router.submit("format this code")), 5)
    assert isinstance(events[-1], Done)
    assert not probe.done()  # the probe is still waiting for its timeout
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe


# -- learning ---------------------------------------------------------------------------

MEDIUM_REFACTOR = "refactor this parser? and the lexer?"


async def test_learning_persists_across_two_router_instances(config, sims) -> None:
    lm, ol = sims
    lm.knobs.reply = GOOD_CODE
    ol.knobs.reply = APOLOGY  # the strong tier keeps failing this kind of prompt
    async with RouterService(config, poll=False, rng=random.Random(1)) as first:
        decision = (await collect(first.submit(MEDIUM_REFACTOR)))[0]
        assert (decision.complexity, decision.backend) == ("medium", "ollama")  # the default
        assert decision.signals.to_dict()["rule"] == "medium-default"
        for backend in ("lmstudio", "ollama") * 3:
            events = await collect(first.submit(MEDIUM_REFACTOR, force=backend))
            assert (events[-1].confidence >= 0.7) == (backend == "lmstudio")
    assert Store().outcome_stats("refactor", "medium") == {"lmstudio": (3, 3), "ollama": (0, 4)}

    async with RouterService(config, poll=False, rng=random.Random(1)) as second:
        decision = (await collect(second.submit(MEDIUM_REFACTOR)))[0]
    assert decision.backend == "lmstudio"
    assert decision.reason.startswith("medium refactor: learned that the fast tier does as well")
    assert "3/3 good" in decision.reason and "0/4" in decision.reason
    assert decision.signals.to_dict()["rule"] == "learned"
    assert decision.signals.to_dict()["bandit"]["lmstudio"]["samples"] == 3
    assert decision.signals.to_dict()["bandit"]["ollama"]["successes"] == 0


async def test_learning_disabled_neither_records_nor_uses_history(make_config, sims) -> None:
    lm, ol = sims
    store = Store()
    for _ in range(5):
        store.record_outcome(Outcome("refactor", "medium", "lmstudio"), success=True)
    config = make_config(lmstudio=lm.url, ollama=ol.url, learning_enabled=False)
    async with RouterService(config, poll=False) as service:
        assert service.store is None
        events = await collect(service.submit(MEDIUM_REFACTOR))
    assert events[0].backend == "ollama" and events[0].signals.to_dict()["rule"] == "medium-default"
    assert store.outcome_stats("refactor", "medium") == {"lmstudio": (5, 5)}
    store.close()
