"""Compressed bodies: a server may gzip or deflate what it sends (a reverse proxy in front of
a remote Ollama often does). They must read as plain ones do, and a compression bomb must
not get around the read bounds: inflated bytes count against the same limits, and no single
read may inflate to more than a small piece."""

from __future__ import annotations

import asyncio
import functools
import gzip
import tracemalloc
import zlib

import pytest

from hybrid_tui.backends.bodies import ACCEPT_ENCODING
from hybrid_tui.backends.transport import JSON_BODY_LIMIT, make_client
from hybrid_tui.errors import ProtocolError, ResponseTooLarge
from tests.hostile import RawRequest, RawServer
from tests.integration.test_network_bounds import (
    CONTENT_TYPE,
    KINDS,
    MiB,
    backend_at,
    chunk,
    reply,
)

#: what one network read of a bomb inflated to before reads were bounded: ~64 MB
BOMB_MB = 128


@pytest.fixture
async def client():
    async with make_client(timeout=10.0) as c:
        yield c


def compressed_answer(body: bytes, encoding: str, content_type: str):
    async def answer(server: RawServer, request: RawRequest, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Encoding: "
                     f"{encoding}\r\nContent-Length: {len(body)}\r\n\r\n".encode())  # fmt: skip
        # in network-sized pieces, as a real server's writes arrive
        for start in range(0, len(body), 65536):
            writer.write(body[start : start + 65536])
            await writer.drain()

    return answer


@functools.cache
def bomb(opening: bytes) -> bytes:
    """``opening`` then BOMB_MB MB of one byte, gzipped: about 1/1000 of that on the wire."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"a" * MiB
    parts = [z.compress(opening)]
    parts += [z.compress(block) for _ in range(BOMB_MB)]
    parts.append(z.flush())
    return b"".join(parts)


async def failing(error: type[Exception], coro) -> tuple[Exception, int]:
    """The error ``coro`` raises, and the most memory Python held while it ran."""
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            await coro
        return info.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw deflate"])
async def test_a_compressed_stream_reads_as_a_plain_one(kind, encoding, client):
    plain = b"".join(chunk(kind, word) for word in ("def ", "f", "():", " pass")) + chunk(
        kind, done=True
    )
    if encoding == "gzip":
        body = gzip.compress(plain, mtime=0)
    else:
        z = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS if encoding == "deflate" else -15)
        body = z.compress(plain) + z.flush()
    answer = compressed_answer(body, encoding.split()[-1], CONTENT_TYPE[kind])
    async with RawServer(answer) as server:
        text, stats = await reply(backend_at(kind, server.url, client))
    assert text == "def f(): pass"
    assert stats.finish_reason == "stop"


async def test_our_client_asks_only_for_encodings_it_can_bound(client):
    body = gzip.compress(b'{"models": []}', mtime=0)
    answer = compressed_answer(body, "gzip", "application/json")
    async with RawServer(answer) as server:
        models = await backend_at("ollama", server.url, client).get_json("/api/tags", 5.0)
    assert models == {"models": []}
    assert server.requests[0].headers["accept-encoding"] == ACCEPT_ENCODING


@pytest.mark.parametrize("kind", KINDS)
async def test_a_gzip_bomb_in_a_stream_is_cut_at_the_line_limit(kind, client):
    answer = compressed_answer(bomb(b""), "gzip", CONTENT_TYPE[kind])
    async with RawServer(answer) as server:
        error, peak = await failing(ResponseTooLarge, reply(backend_at(kind, server.url, client)))
    assert "longer than 1,048,576 bytes" in error.message
    assert peak < 16 * MiB, peak


async def test_a_gzip_bomb_as_a_json_body_is_refused_at_its_limit(client):
    answer = compressed_answer(bomb(b'{"models":['), "gzip", "application/json")
    async with RawServer(answer) as server:
        backend = backend_at("ollama", server.url, client)
        error, peak = await failing(ResponseTooLarge, backend.get_json("/api/tags", 10.0))
    assert f"more than {JSON_BODY_LIMIT:,} bytes" in error.message
    assert peak < JSON_BODY_LIMIT + 16 * MiB, peak


@pytest.mark.parametrize(
    ("encoding", "body", "says"),
    [("br", b"\x0b\x02\x80{}\x03", "an encoding we did not ask for (br; we accept gzip, deflate)"),
     ("gzip, gzip", gzip.compress(gzip.compress(b"{}", mtime=0), mtime=0),
      "encoding we did not ask for"),
     ("gzip", b"\x1f\x8b\x08\x00not gzip at all", "gzip body does not decode")],
    ids=["brotli", "gzip twice", "not gzip"],
)  # fmt: skip
@pytest.mark.parametrize("kind", KINDS)
async def test_a_body_we_cannot_decode_is_one_typed_error(kind, encoding, body, says, client):
    answer = compressed_answer(body, encoding, CONTENT_TYPE[kind])
    async with RawServer(answer) as server:
        with pytest.raises(ProtocolError) as info:
            await reply(backend_at(kind, server.url, client))
    assert says in info.value.message
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(f"raw-{kind}: ")


def test_the_bomb_is_small_on_the_wire():
    """The attack is real: a few hundred KB that would inflate to BOMB_MB MB."""
    assert len(bomb(b"")) < BOMB_MB * MiB // 500
