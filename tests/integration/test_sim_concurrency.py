"""Concurrency accounting, FIFO queueing, cancellation and knobs changed at run time."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from hybrid_tui.sim import SimKnobs, SimServer
from hybrid_tui.sim.probe import raw_request

OLLAMA_CHAT = "/api/chat"
LMS_CHAT = "/v1/chat/completions"


def chat(kind: str, n: int) -> dict:
    """A numbered chat body for ``kind`` (the number shows up in ``requests``)."""
    msg = [{"role": "user", "content": f"request {n}"}]
    if kind == "ollama":
        return {"model": "codellama:34b", "messages": msg}
    return {"model": "qwen2.5-coder-7b-instruct", "messages": msg, "stream": True}


def path(kind: str) -> str:
    return OLLAMA_CHAT if kind == "ollama" else LMS_CHAT


def arrival_order(server: SimServer) -> list[int]:
    """The request numbers in the order the server received them."""
    return [int(b["messages"][0]["content"].split()[1]) for b in server.requests]


async def sample(server: SimServer, seen: list[int]) -> None:
    """Record how many requests are generating, every few milliseconds (until cancelled)."""
    while True:
        seen.append(server.generating)
        await asyncio.sleep(0.005)


async def until(condition, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def test_ollama_queues_fifo_with_no_bytes_while_waiting() -> None:
    knobs = SimKnobs(tokens_per_s=200, reply_tokens=20)  # about 0.1 s per reply
    async with SimServer("ollama", knobs) as server:
        done: list[int] = []
        firsts: dict[int, float | None] = {}

        async def one(n: int) -> None:
            r = await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", n))
            assert r.complete
            firsts[n] = r.first_byte_s
            done.append(n)

        seen: list[int] = []
        watcher = asyncio.ensure_future(sample(server, seen))
        await asyncio.gather(*(one(n) for n in range(3)))
        watcher.cancel()
        assert server.max_in_flight == 3  # all three were in flight at the server...
        assert max(seen) == 1  # ...but one generated at a time,
        assert done == arrival_order(server)  # in arrival order,
        order = arrival_order(server)
        # and the later ones got no byte at all (not even a status line) while waiting
        assert firsts[order[2]] >= 0.15  # two replies of 19 gaps at 5 ms came first
        assert server.in_flight == 0 and server.completed == 3


async def test_queue_order_is_first_come_first_served() -> None:
    knobs = SimKnobs(tokens_per_s=None, reply="ok", first_token_delay=0.05)
    async with SimServer("ollama", knobs) as server:
        done: list[int] = []

        async def one(n: int) -> None:
            await asyncio.sleep(n * 0.005)
            await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", n))
            done.append(n)

        await asyncio.gather(*(one(n) for n in range(5)))
        assert done == arrival_order(server) and sorted(done) == [0, 1, 2, 3, 4]


async def test_lmstudio_serves_four_at_once_by_default() -> None:
    knobs = SimKnobs(tokens_per_s=None, reply="ok", first_token_delay=0.3)
    async with SimServer("openai", knobs) as server:
        seen: list[int] = []
        watcher = asyncio.ensure_future(sample(server, seen))
        await asyncio.gather(
            *(raw_request(server.url, "POST", LMS_CHAT, chat("openai", n)) for n in range(6))
        )
        watcher.cancel()
        assert max(seen) == 4 and server.max_in_flight == 6


async def test_parallel_can_change_at_run_time() -> None:
    knobs = SimKnobs(tokens_per_s=None, reply="ok", first_token_delay=0.5)
    async with SimServer("ollama", knobs) as server:
        tasks = [
            asyncio.ensure_future(raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", n)))
            for n in range(3)
        ]
        await until(lambda: server.queued == 2)
        assert server.generating == 1
        server.knobs.parallel = 3  # the waiting two start at once
        assert server.generating == 3 and server.queued == 0
        await asyncio.gather(*tasks)


async def test_max_queue_gives_503() -> None:
    knobs = SimKnobs(tokens_per_s=None, reply="ok", first_token_delay=0.5, max_queue=1)
    async with SimServer("ollama", knobs) as server:
        first, second = (
            asyncio.ensure_future(raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", n)))
            for n in range(2)
        )
        await until(lambda: server.queued == 1)
        third = await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", 2))
        assert third.status == 503
        assert third.json() == {
            "error": "server busy, please try again.  maximum pending requests exceeded"
        }
        assert (await first).complete and (await second).complete


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_client_hang_up_is_counted_and_stops_generation(kind: str) -> None:
    knobs = SimKnobs(tokens_per_s=100, reply_tokens=500)  # would take 5 s
    async with SimServer(kind, knobs) as server:
        r = await raw_request(server.url, "POST", path(kind), chat(kind, 0), max_chunks=3)
        assert len(r.chunks) == 3
        await server.wait_idle(timeout=2)
        assert server.cancelled == 1 and server.completed == 0 and server.in_flight == 0


@pytest.mark.parametrize("kind", ["ollama", "openai"])
async def test_hang_up_while_queued_frees_the_place(kind: str) -> None:
    knobs = SimKnobs(tokens_per_s=None, reply="ok", first_token_delay=0.5, parallel=1)
    async with SimServer(kind, knobs) as server:
        first = asyncio.ensure_future(raw_request(server.url, "POST", path(kind), chat(kind, 0)))
        await until(lambda: server.generating == 1)
        with pytest.raises(TimeoutError):
            await raw_request(server.url, "POST", path(kind), chat(kind, 1), timeout=0.2)
        assert (await first).complete
        await server.wait_idle()
        assert server.cancelled == 1 and server.queued == 0 and server.generating == 0


async def test_httpx_stream_close_cancels_at_the_server() -> None:
    knobs = SimKnobs(tokens_per_s=200, reply_tokens=1000)
    async with SimServer("openai", knobs) as server, httpx.AsyncClient() as client:
        async with client.stream("POST", server.url + LMS_CHAT, json=chat("openai", 0)) as resp:
            async for _line in resp.aiter_lines():
                break
        await server.wait_idle(timeout=2)
        assert server.cancelled == 1


async def test_knobs_change_between_requests() -> None:
    async with SimServer("ollama", SimKnobs(tokens_per_s=None)) as server:

        async def text() -> str:
            r = await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", 0))
            return "".join(json.loads(x)["message"]["content"] for x in r.lines())

        assert (await text()).startswith("Sure")  # the canned reply for this prompt
        server.knobs.reply = "changed"
        assert await text() == "changed"
        server.knobs.models = ["only:latest"]
        server.knobs.loaded = []
        r = await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", 0))
        assert r.status == 404
        tags = (await raw_request(server.url, "GET", "/api/tags")).json()
        assert [m["name"] for m in tags["models"]] == ["only:latest"]


async def test_tokens_per_s_paces_the_stream() -> None:
    knobs = SimKnobs(tokens_per_s=100, reply_tokens=21)
    async with SimServer("ollama", knobs) as server:
        loop = asyncio.get_running_loop()
        start = loop.time()
        r = await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", 0))
        paced_s = loop.time() - start
        assert r.complete and len(r.chunks) == 22  # one flushed chunk per token, then done
        assert paced_s >= 0.18  # 20 gaps at 100 tok/s; sleeping can only make it longer
        final = json.loads(r.lines()[-1])
        assert final["eval_duration"] >= 180_000_000
        server.knobs.tokens_per_s = None  # unlimited, but still one write per token
        fast = await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", 1))
        assert fast.complete and len(fast.chunks) == 22


async def test_reset_counters() -> None:
    async with SimServer("ollama", SimKnobs(tokens_per_s=None, reply="x")) as server:
        await raw_request(server.url, "POST", OLLAMA_CHAT, chat("ollama", 0))
        assert server.requests and server.hits and server.completed == 1
        server.reset_counters()
        assert not server.requests and not server.hits and server.completed == 0
        assert server.max_in_flight == 0
