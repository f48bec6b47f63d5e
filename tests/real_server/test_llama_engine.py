"""The router engine against a real llama.cpp server (llama-cpp-python on CPU) serving the
tiny models of ``tiny_model.py``: streaming, cancelling mid-stream, context overflow, more
requests than the server has slots, and reasoning text."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.base import TextDelta
from hybrid_tui.events import Done, Error, Token
from hybrid_tui.router.service import RouterService
from tests.real_server.conftest import N_CTX, llama_config
from tests.real_server.tiny_model import reply_text
from tests.support import collect

pytestmark = pytest.mark.real_server

PROMPT = "format this code: x=1"
MESSAGES = [{"role": "user", "content": PROMPT}]


def tokens(events: list) -> str:
    return "".join(ev.text for ev in events if isinstance(ev, Token))


async def test_streams_the_models_reply(llama):
    async with RouterService(llama_config(llama.url), poll=False) as service:
        events = await collect(service.submit(PROMPT, force="llama"))
    done = events[-1]
    assert isinstance(done, Done), events[-1]
    assert tokens(events) == done.text == reply_text("tiny-coder")
    assert done.model == "tiny-coder"
    assert done.finish_reason == "stop"
    # one SSE chunk per model token: the reply streamed, it did not arrive in one piece
    assert sum(isinstance(ev, Token) for ev in events) > 5
    assert done.ttft_ms is not None and done.tokens_per_s is not None
    assert not done.warnings, done.warnings


async def test_think_tags_become_reasoning(llama):
    """llama-cpp-python sends no ``reasoning_content``: a reasoning model's ``<think>`` block
    arrives inside ``content`` and is split off on our side, never part of the answer."""
    config = llama_config(llama.url, "tiny-thinker")
    async with httpx.AsyncClient() as client:
        backend = make_backend(config.backends["llama"], client)
        items = [item async for item in backend.stream_chat(MESSAGES, "tiny-thinker")]
    deltas = [item for item in items if isinstance(item, TextDelta)]
    assert "".join(d.text for d in deltas if d.reasoning) == "The user wants a greeting."
    assert "".join(d.text for d in deltas if not d.reasoning) == "Hello there."
    async with RouterService(config, poll=False) as service:
        events = await collect(service.submit(PROMPT, force="llama"))
    done = events[-1]
    assert isinstance(done, Done), events[-1]
    assert done.text == "Hello there."


async def test_cancel_mid_stream_closes_the_stream(llama):
    """Closing the event stream closes the HTTP stream, and the server notices."""
    before = llama.tail().count("Disconnected from client")
    async with RouterService(llama_config(llama.url, "tiny-endless"), poll=False) as service:
        stream = service.submit(PROMPT, force="llama")
        seen = 0
        async for ev in stream:
            if isinstance(ev, Token):
                seen += 1
                if seen == 3:
                    break
        await stream.aclose()
        deadline = time.monotonic() + 10
        while llama.tail().count("Disconnected from client") == before:
            assert time.monotonic() < deadline, llama.tail()
            await asyncio.sleep(0.05)
        # the server is free again: the next reply is whole
        events = await collect(service.submit(PROMPT, force="llama"))
    assert isinstance(events[-1], Done), events[-1]


async def test_context_overflow_is_reported_plainly(llama):
    prompt = "format this code: " + "x = 1; " * N_CTX
    async with RouterService(llama_config(llama.url), poll=False) as service:
        events = await collect(service.submit(prompt, force="llama"))
    err = events[-1]
    assert isinstance(err, Error), events[-1]
    assert "context" in err.message.lower(), err.message
    assert str(N_CTX) in err.message, err.message


async def _three_at_once(url: str, max_concurrent: int) -> list:
    config = llama_config(url, "tiny-endless", max_concurrent=max_concurrent)
    async with RouterService(config, poll=False) as service:
        runs = [collect(service.submit(f"{PROMPT} #{i}", force="llama")) for i in range(3)]
        return [events[-1] for events in await asyncio.gather(*runs)]


async def test_more_requests_than_slots_queue_on_a_queueing_server(llama_queueing):
    """With ``interrupt_requests: false`` the server takes one request at a time and the
    others wait for the lock: all three replies arrive whole."""
    ends = await _three_at_once(llama_queueing.url, max_concurrent=3)
    assert all(isinstance(end, Done) and end.finish_reason == "length" for end in ends), ends


async def test_an_interrupted_reply_is_never_taken_for_a_finished_one(llama):
    """By default the server ends a running reply when another request arrives. Each reply
    is then either whole, or an error that says it was cut short, never a short 'done'."""
    ends = await _three_at_once(llama.url, max_concurrent=3)
    for end in ends:
        if isinstance(end, Done):
            assert end.finish_reason == "length", end
        else:
            assert isinstance(end, Error) and "cut the reply short" in end.message, end
    assert sum(isinstance(end, Error) for end in ends) >= 1, ends


async def test_our_queue_keeps_an_interrupting_server_whole(llama):
    """``max_concurrent: 1`` (the README's advice for this server) queues on our side."""
    ends = await _three_at_once(llama.url, max_concurrent=1)
    assert all(isinstance(end, Done) and end.finish_reason == "length" for end in ends), ends


async def _probe_during_a_reply(url: str) -> tuple[list, float]:
    """A health probe sent while a reply streams: the reply's events and the probe's time."""
    async with RouterService(llama_config(url, "tiny-endless"), poll=False) as service:
        events = []
        async for ev in service.submit(PROMPT, force="llama"):
            events.append(ev)
            if sum(isinstance(e, Token) for e in events) == 3:
                start = time.perf_counter()
                await service.health.refresh(["llama"])
                probe_s = time.perf_counter() - start
    return events, probe_s


async def test_a_health_probe_interrupts_a_reply_on_the_default_server(llama):
    """``GET /v1/models`` takes the model lock too: by default it cuts the running reply."""
    events, _ = await _probe_during_a_reply(llama.url)
    assert isinstance(events[-1], Error) and "cut the reply short" in events[-1].message


async def test_a_health_probe_waits_for_the_reply_on_a_queueing_server(llama_queueing):
    """With ``interrupt_requests: false`` the probe waits until the reply has ended."""
    events, probe_s = await _probe_during_a_reply(llama_queueing.url)
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "length"
    assert probe_s > 0.5  # the reply still had thousands of tokens to go


async def test_polling_health_does_not_interrupt_a_reply_on_the_default_server(llama):
    """Probed every 50 ms, the default server would cut the reply at the first poll; a
    backend that is answering our request is not probed until the reply has ended."""
    from dataclasses import replace

    from hybrid_tui.config import HealthConfig

    config = llama_config(llama.url, "tiny-endless")
    config = replace(config, health=HealthConfig(interval=0.05, timeout=10.0))
    async with RouterService(config, poll=True) as service:
        start = time.perf_counter()
        events = await collect(service.submit(PROMPT, force="llama"))
        took = time.perf_counter() - start
    assert isinstance(events[-1], Done) and events[-1].finish_reason == "length", events[-1]
    assert took > 0.2  # long enough for several polls to have been due
