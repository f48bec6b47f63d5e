"""Every network read has a bound: each attack below is run against the real client over
loopback HTTP (a raw server sends the hostile bytes) and must fail cleanly, fast, with a typed
error, without holding the connection or the memory it asks for."""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc

import httpx
import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.base import Backend, StreamStats, TextDelta
from hybrid_tui.backends.transport import JSON_BODY_LIMIT
from hybrid_tui.config import BackendConfig
from hybrid_tui.errors import BackendTimeout, ResponseTooLarge, TruncatedStream
from tests.hostile import PIECE, Answer, RawRequest, RawServer, head

KINDS = ["ollama", "openai"]
MESSAGES = [{"role": "user", "content": "hi"}]
CONTENT_TYPE = {"ollama": "application/x-ndjson", "openai": "text/event-stream"}
MiB = 1024 * 1024


def chunk(kind: str, text: str = "", *, thinking: str = "", done: bool = False) -> bytes:
    """One wire chunk as each server writes it (protocols.md A.7 and E.2)."""
    if kind == "ollama":
        message = {"role": "assistant", "content": text}
        if thinking:
            message["thinking"] = thinking
        obj = {"model": "m", "created_at": "2026-03-02T10:15:31.482913Z", "message": message,
               "done": done}  # fmt: skip
        if done:
            obj.update(done_reason="stop", eval_count=2, eval_duration=1000)
        return json.dumps(obj).encode() + b"\n"
    delta = {"reasoning_content": thinking} if thinking else {"content": text}
    obj = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
           "choices": [{"index": 0, "delta": {} if done else delta,
                        "finish_reason": "stop" if done else None}]}  # fmt: skip
    event = b"data: " + json.dumps(obj).encode() + b"\n\n"
    return event + b"data: [DONE]\n\n" if done else event


#: bytes that carry no text: what a server may send to keep a connection open
KEEP_ALIVE = {"ollama": chunk("ollama", ""), "openai": b": keep-alive\n\n"}


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


def backend_at(kind: str, url: str, client: httpx.AsyncClient, **changes) -> Backend:
    changes.setdefault("timeout", 5.0)
    config = BackendConfig(name=f"raw-{kind}", kind=kind, endpoint=url, **changes)
    return make_backend(config, client)


async def reply(backend: Backend, options=None) -> tuple[str, StreamStats]:
    """The answer text (reasoning left out) and the stats of one streamed reply."""
    text, stats = [], []
    async for item in backend.stream_chat(MESSAGES, "m", options):
        if isinstance(item, TextDelta):
            if not item.reasoning:
                text.append(item.text)
        else:
            stats.append(item)
    return "".join(text), stats[0]


# ---- stream lines -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_an_endless_line_is_cut_off_at_the_limit_and_the_connection_closed(kind, client):
    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        opening = b'{"x":"' if kind == "ollama" else b'data: {"x":"'
        writer.write(head(CONTENT_TYPE[kind]) + chunk(kind, "Hello") + opening)
        await server.pour(writer, PIECE, total=32 * MiB)  # one 32 MiB line, never ended

    async with RawServer(answer) as server:
        backend = backend_at(kind, server.url, client, max_line_bytes=256 * 1024)
        start = time.perf_counter()
        with pytest.raises(ResponseTooLarge) as info:
            await reply(backend)
        assert time.perf_counter() - start < 3.0
        assert info.value.partial == "Hello"
        assert info.value.message.startswith("response too large: ")
        assert "longer than 262,144 bytes" in info.value.message
        await asyncio.wait_for(server.cut.wait(), 10)  # the client hung up: writes fail
        assert server.sent < 32 * MiB


@pytest.mark.parametrize("kind", KINDS)
async def test_a_reply_that_never_ends_is_cut_off_at_max_reply_bytes(kind, client):
    """Every line short and full of text, so neither the line bound nor the stall timeout
    stops it: the reply's whole size does, and the text that came is kept."""
    words = chunk(kind, "tick tock " * 50)

    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head(CONTENT_TYPE[kind]))
        await server.pour(writer, words * 100, total=64 * MiB)

    async with RawServer(answer) as server:
        backend = backend_at(kind, server.url, client, max_reply_bytes=MiB)
        with pytest.raises(ResponseTooLarge) as info:
            await reply(backend)
        assert "the reply passed 1,048,576 bytes (max_reply_bytes)" in info.value.message
        assert info.value.partial.startswith("tick tock ")
        assert 0.8 * MiB < len(words) * len(info.value.partial) / 500 <= 1.1 * MiB
        await asyncio.wait_for(server.cut.wait(), 10)
        assert server.sent < 64 * MiB


@pytest.mark.parametrize("kind", KINDS)
async def test_a_line_just_under_the_limit_is_read(kind, client):
    big = "x" * (200 * 1024)

    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head(CONTENT_TYPE[kind]) + chunk(kind, big) + chunk(kind, done=True))

    async with RawServer(answer) as server:
        backend = backend_at(kind, server.url, client, max_line_bytes=256 * 1024)
        text, _stats = await reply(backend)
    assert text == big


async def test_an_sse_event_of_endless_data_lines_is_cut_off(client):
    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head(CONTENT_TYPE["openai"]) + chunk("openai", "Hello"))
        await server.pour(writer, b"data: " + b"y" * 1000 + b"\n", total=32 * MiB)

    async with RawServer(answer) as server:
        backend = backend_at("openai", server.url, client, max_line_bytes=64 * 1024)
        with pytest.raises(ResponseTooLarge) as info:
            await reply(backend)
        assert info.value.partial == "Hello"
        await asyncio.wait_for(server.cut.wait(), 10)


# ---- stall timeout counts text, not bytes ------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_keep_alive_bytes_forever_after_the_first_token_count_as_a_stall(kind, client):
    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head(CONTENT_TYPE[kind]) + chunk(kind, "Hello"))
        await server.pour(writer, KEEP_ALIVE[kind], pause=0.02)

    async with RawServer(answer) as server:
        start = time.perf_counter()
        with pytest.raises(BackendTimeout) as info:
            await reply(backend_at(kind, server.url, client), {"stall_timeout": 0.4})
        assert time.perf_counter() - start < 3.0
        assert info.value.partial == "Hello"
        assert "stalled" in info.value.message
        assert server.sent > 0  # keep-alives really were sent meanwhile
        await asyncio.wait_for(server.cut.wait(), 10)


@pytest.mark.parametrize("kind", KINDS)
async def test_reasoning_tokens_are_progress_too(kind, client):
    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(head(CONTENT_TYPE[kind]))
        for _ in range(8):  # 0.8 s of thinking, a token every 0.1 s, keep-alives between
            writer.write(chunk(kind, thinking="hmm ") + KEEP_ALIVE[kind])
            await writer.drain()
            await asyncio.sleep(0.1)
        writer.write(chunk(kind, "42") + chunk(kind, done=True))

    async with RawServer(answer) as server:
        text, _stats = await reply(backend_at(kind, server.url, client), {"stall_timeout": 0.4})
    assert text == "42"


# ---- JSON bodies ----------------------------------------------------------------------------


def endless_json(opening: bytes, claimed: int = 200 * MiB) -> Answer:
    """An answer: a JSON body that claims ``claimed`` bytes and pours blanks to fill them."""

    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % claimed + opening)  # fmt: skip
        await server.pour(writer, b" " * 65536, total=claimed)

    return answer


@pytest.mark.parametrize(
    ("kind", "path"),
    [("ollama", "/api/tags"), ("ollama", "/api/ps"), ("ollama", "/api/show"),
     ("openai", "/v1/models"), ("openai", "/api/v0/models")],
)  # fmt: skip
async def test_a_huge_json_body_is_refused_without_reading_it(kind, path, client):
    async with RawServer(endless_json(b'{"models":[')) as server:
        backend = backend_at(kind, server.url, client)
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge) as info:
                await backend.get_json(path, 10.0)  # type: ignore[attr-defined]
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert f"more than {JSON_BODY_LIMIT:,} bytes" in info.value.message
        assert peak < 4 * JSON_BODY_LIMIT, peak
        await asyncio.wait_for(server.cut.wait(), 10)
        assert server.sent < 200 * MiB


@pytest.mark.parametrize(("kind", "path"), [("ollama", "/api/tags"), ("openai", "/v1/models")])
async def test_the_health_probe_reports_a_huge_model_list_as_down(kind, path, client):
    opening = b'{"models":[' if kind == "ollama" else b'{"data":['
    async with RawServer(endless_json(opening)) as server:
        report = await backend_at(kind, server.url, client).health(timeout=10.0)
    assert not report.ok
    assert f"GET {path} answered with more than" in (report.error or "")


async def test_a_body_dripping_a_byte_at_a_time_is_bounded_by_the_whole_timeout(client):
    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n{")  # fmt: skip
        await server.pour(writer, b" ", pause=0.05)  # each read well within httpx's timeout

    async with RawServer(answer) as server:
        backend = backend_at("ollama", server.url, client)
        start = time.perf_counter()
        with pytest.raises(BackendTimeout) as info:
            await backend.models(timeout=0.5)  # type: ignore[call-arg]
        assert time.perf_counter() - start < 3.0
        assert "no whole answer within 0.5 s" in info.value.message


@pytest.mark.parametrize("kind", KINDS)
async def test_a_huge_reply_sent_whole_instead_of_streamed_is_refused(kind, client):
    async with RawServer(endless_json(b'{"message":{"content":"')) as server:
        with pytest.raises(ResponseTooLarge) as info:
            await reply(backend_at(kind, server.url, client))
        assert info.value.message.startswith("response too large: ")
        await asyncio.wait_for(server.cut.wait(), 10)
        assert server.sent < 200 * MiB


async def test_asking_again_after_an_empty_reply_is_bounded_too(client):
    """An empty stream is explained by asking again without streaming: a server that drips
    that answer cannot hold the reply open past the backend's timeout."""

    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if json.loads(request.body).get("stream"):
            writer.write(head(CONTENT_TYPE["openai"]))  # and nothing: an empty reply
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000\r\n\r\n{")  # fmt: skip
        await server.pour(writer, b" ", pause=0.05)

    async with RawServer(answer) as server:
        start = time.perf_counter()
        with pytest.raises(TruncatedStream):
            await reply(backend_at("openai", server.url, client, timeout=0.5))
        assert time.perf_counter() - start < 3.0
        assert len(server.requests) == 2


async def test_an_adapter_upload_answered_with_an_endless_body_reads_only_its_bound(
    client, tmp_path
):
    """The blob upload's answer should be empty; a server pouring an endless error body in
    its place is read to a few KB, and the upload fails with one line."""
    from hybrid_tui.backends.transport import HTTPBackend
    from hybrid_tui.errors import BackendError
    from hybrid_tui.finetune.create import Adapter, upload_adapter

    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        if request.method == "HEAD":
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")  # fmt: skip
            return
        writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n\r\n" % (200 * MiB))  # fmt: skip
        await server.pour(writer, PIECE, total=200 * MiB)

    weights = tmp_path / "adapter.gguf"
    weights.write_bytes(b"GGUF" + bytes(1000))
    adapter = Adapter(weights, "sha256:" + "0" * 64, weights.stat().st_size)
    async with RawServer(answer) as server:
        backend = backend_at("ollama", server.url, client)
        assert isinstance(backend, HTTPBackend)
        tracemalloc.start()
        try:
            with pytest.raises(BackendError) as info:
                await upload_adapter(backend, adapter)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        await asyncio.wait_for(server.cut.wait(), 10)
    assert "500" in info.value.message and "\n" not in info.value.message
    assert peak < 8 * MiB, peak
    assert server.sent < 200 * MiB
