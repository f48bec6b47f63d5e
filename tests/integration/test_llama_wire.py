"""What a real llama.cpp server (llama-cpp-python) showed us, replayed byte for byte by a
small loopback HTTP server (the simulators do not speak these forms): a reply cut short by
another request (``[DONE]`` with no finish reason), a context overflow that only ends the
stream (the same request not streamed gets the 400), and a keep-alive connection that must
not be reused after such an ending. ``pytest -m real_server`` checks them against the real
server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.base import Backend, StreamStats, TextDelta
from hybrid_tui.config import BackendConfig
from hybrid_tui.errors import ContextOverflow, TruncatedStream

MESSAGES = [{"role": "user", "content": "hi"}]
OVERFLOW = (
    "This model's maximum context length is 512 tokens. However, you requested 4226 tokens "
    "(4225 in the messages, 1 in the completion). Please reduce the length of the messages "
    "or completion."
)


def sse(*deltas: dict, finish: str | None = None) -> bytes:
    """llama-cpp-python's stream: a role chunk, one chunk per delta, the finish chunk when
    ``finish`` is given, then ``[DONE]``."""

    def chunk(delta: dict, reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}
        obj = {"id": "chatcmpl-1", "model": "tiny", "object": "chat.completion.chunk",
               "created": 1, "choices": [choice]}  # fmt: skip
        return f"data: {json.dumps(obj)}\n\n"

    body = chunk({"role": "assistant"}) + "".join(chunk(d) for d in deltas)
    if finish:
        body += chunk({}, finish)
    return (body + "data: [DONE]\n\n").encode()


def response(status: int, ctype: str, body: bytes) -> bytes:
    """A chunked HTTP/1.1 response that keeps the connection open."""
    head = f"HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ntransfer-encoding: chunked\r\n\r\n"
    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b""
    return head.encode() + chunk + b"0\r\n\r\n"


OK = sse({"content": "Hello"}, {"content": " there."}, finish="stop")


@dataclass
class Replayer:
    """Answers each request with ``answer(body, seen_on_this_connection)``; None closes the
    connection without a reply (what llama-cpp-python's server does to a request sent on a
    connection whose previous stream failed)."""

    answer: Callable[[dict, int], bytes | None]
    requests: list[tuple[int, dict]] = field(default_factory=list)
    connections: int = 0
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn, served = self.connections, 0
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))  # fmt: skip
                body = json.loads(await reader.readexactly(length))
                self.requests.append((conn, body))
                out = self.answer(body, served)
                served += 1
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def replay():
    """``await replay(answer)``: a started :class:`Replayer`."""
    made: list[Replayer] = []

    async def start(answer: Callable[[dict, int], bytes | None]) -> Replayer:
        r = Replayer(answer)
        r.server = await asyncio.start_server(r.handle, "127.0.0.1", 0)
        made.append(r)
        return r

    yield start
    for r in made:
        assert r.server is not None
        r.server.close()
        await r.server.wait_closed()


async def stream(backend: Backend) -> tuple[str, StreamStats]:
    text, stats = "", None
    async for item in backend.stream_chat(MESSAGES, "tiny"):
        if isinstance(item, TextDelta):
            text += item.text
        else:
            stats = item
    assert stats is not None
    return text, stats


def backend_at(url: str, client: httpx.AsyncClient) -> Backend:
    config = BackendConfig(name="llama", kind="openai", endpoint=url, timeout=5.0)
    return make_backend(config, client)


async def test_done_without_a_finish_reason_is_a_reply_cut_short(replay):
    cut = sse({"content": "Hel"}, {"content": "lo"})
    server = await replay(lambda body, n: response(200, "text/event-stream", cut))
    async with httpx.AsyncClient() as client:
        with pytest.raises(TruncatedStream) as caught:
            await stream(backend_at(server.url, client))
    assert caught.value.partial == "Hello"
    assert "cut the reply short" in caught.value.message


async def test_an_empty_stream_is_explained_by_the_same_request_not_streamed(replay):
    error = json.dumps({"error": {"message": OVERFLOW, "type": "invalid_request_error",
                                  "code": "context_length_exceeded"}}).encode()  # fmt: skip

    def answer(body: dict, n: int) -> bytes:
        if body["stream"]:
            return response(200, "text/event-stream", b"")
        return response(400, "application/json", error)

    server = await replay(answer)
    async with httpx.AsyncClient() as client:
        with pytest.raises(ContextOverflow) as caught:
            await stream(backend_at(server.url, client))
    assert OVERFLOW in caught.value.message
    (_, first), (_, again) = server.requests
    assert again["stream"] is False and again["max_tokens"] == 1
    assert "stream_options" not in again
    assert again["messages"] == first["messages"] == MESSAGES


async def test_an_empty_stream_with_nothing_to_explain_it_stays_truncated(replay):
    plain = json.dumps({"choices": [{"message": {"content": "H"}, "finish_reason": "length"}]})

    def answer(body: dict, n: int) -> bytes:
        if body["stream"]:
            return response(200, "text/event-stream", b"")
        return response(200, "application/json", plain.encode())

    server = await replay(answer)
    async with httpx.AsyncClient() as client:
        with pytest.raises(TruncatedStream):
            await stream(backend_at(server.url, client))


async def test_a_connection_is_not_reused_after_a_stream_ends_badly(replay):
    cut = sse({"content": "Hel"})
    replies = iter([cut, OK])

    def answer(body: dict, n: int) -> bytes | None:
        return None if n else response(200, "text/event-stream", next(replies))

    server = await replay(answer)
    async with httpx.AsyncClient() as client:
        backend = backend_at(server.url, client)
        with pytest.raises(TruncatedStream):
            await stream(backend)
        text, stats = await stream(backend)
    assert text == "Hello there." and stats.finish_reason == "stop"
    assert [conn for conn, _ in server.requests] == [1, 2]


async def test_a_good_stream_keeps_its_connection(replay):
    server = await replay(lambda body, n: response(200, "text/event-stream", OK))
    async with httpx.AsyncClient() as client:
        backend = backend_at(server.url, client)
        for _ in range(2):
            assert (await stream(backend))[0] == "Hello there."
    assert [conn for conn, _ in server.requests] == [1, 1]
