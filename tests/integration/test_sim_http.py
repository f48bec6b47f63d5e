"""The simulators' HTTP/1.1 layer: keep-alive, pipelining, chunked request bodies, bad input."""

from __future__ import annotations

import asyncio
import json

import pytest

from hybrid_tui.sim import SimKnobs, SimServer


@pytest.fixture
async def server():
    async with SimServer("ollama", SimKnobs(tokens_per_s=None, reply="ok")) as s:
        yield s


async def exchange(server: SimServer, raw: bytes, *, half_close: bool = False) -> bytes:
    """Send ``raw`` on one connection; read until the server closes (or 0.3 s of quiet)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(raw)
    if half_close:
        writer.write_eof()
    await writer.drain()
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 0.3):
            data += chunk
    except TimeoutError:
        pass
    writer.close()
    return data


async def test_two_pipelined_requests_on_one_connection(server: SimServer) -> None:
    req = b"GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n"
    data = await exchange(server, req + req)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert data.count(b'{"version":"0.12.3"}') == 2


async def test_connection_close_is_honoured(server: SimServer) -> None:
    data = await exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"Ollama is running")


async def test_chunked_request_body(server: SimServer) -> None:
    body = json.dumps(
        {"model": "codellama:34b", "stream": False, "messages": [{"role": "user", "content": "hi"}]}
    ).encode()
    half = len(body) // 2
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        half,
        body[:half],
        len(body) - half,
        body[half:],
    )
    raw = (
        b"POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + chunked
    )
    data = await exchange(server, raw)
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert json.loads(payload)["message"]["content"] == "ok"
    assert server.requests[-1]["messages"][0]["content"] == "hi"


@pytest.mark.parametrize(
    "raw",
    [
        b"NONSENSE\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"POST /api/chat HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
    ],
)
async def test_bad_requests_get_400_and_a_close(server: SimServer, raw: bytes) -> None:
    data = await exchange(server, raw)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_client_closing_mid_request_is_harmless(server: SimServer) -> None:
    raw = b"POST /api/chat HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"
    data = await exchange(server, raw, half_close=True)
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    r = await exchange(server, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert r.endswith(b"Ollama is running")


async def test_stop_ends_open_connections(server: SimServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await reader.readuntil(b"Ollama is running")
    await server.stop()
    assert await asyncio.wait_for(reader.read(), 2) == b""  # closed by the server
    writer.close()
