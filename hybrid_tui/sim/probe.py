"""A raw HTTP/1.1 client for checking the simulators' bytes: framing, chunk boundaries and
when the first byte arrived. httpx hides exactly these things, so tests use this instead."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawResponse:
    """What came back, as bytes. ``chunks`` are the chunked-encoding payloads in order."""

    head: bytes = b""
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    body: bytes = b""
    #: the response ended properly (chunked terminator, or Content-Length satisfied)
    complete: bool = False
    #: the server closed the connection
    closed: bool = False
    #: seconds from sending the request to the first response byte (None: nothing came)
    first_byte_s: float | None = None
    #: reading stopped because nothing arrived for ``idle`` seconds
    idled: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def header_names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def json(self) -> Any:
        return json.loads(self.body)

    def lines(self) -> list[bytes]:
        """The body split after each ``\\n`` (the NDJSON lines, endings kept)."""
        return self.body.splitlines(keepends=True)


def build_request(
    method: str, path: str, host: str, body: Any = None, headers: dict[str, str] | None = None
) -> bytes:
    data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Accept: */*"]
    hdrs = dict(headers or {})
    if body is not None:
        hdrs.setdefault("Content-Type", "application/json")
        hdrs.setdefault("Content-Length", str(len(data)))
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


async def raw_request(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    max_chunks: int | None = None,
    idle: float | None = None,
) -> RawResponse:
    """Send one request on a fresh connection and read the response as bytes.

    ``max_chunks`` stops after that many body chunks and hangs up (a client cancelling).
    ``idle`` stops reading (``idled`` True) when no byte arrives for that long.
    Raises ``TimeoutError`` if the response does not end within ``timeout``.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    out = RawResponse()
    buf = bytearray()
    started = time.perf_counter()

    async def more() -> bool:
        try:
            async with asyncio.timeout(idle):
                data = await reader.read(65536)
        except TimeoutError:
            out.idled = True
            return False
        except ConnectionError:
            data = b""
        if not data:
            out.closed = True
            return False
        if out.first_byte_s is None:
            out.first_byte_s = time.perf_counter() - started
        buf.extend(data)
        return True

    try:
        writer.write(build_request(method, path, f"{host}:{port}", body, headers))
        await writer.drain()
        async with asyncio.timeout(timeout):
            await _read(out, buf, more, method == "HEAD", max_chunks)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return out


async def _read(
    out: RawResponse, buf: bytearray, more: Any, head_only: bool, max_chunks: int | None
) -> None:
    while b"\r\n\r\n" not in buf:
        if not await more():
            return
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    out.head = head + b"\r\n\r\n"
    lines = head.decode("latin-1").split("\r\n")
    out.status = int(lines[0].split(" ")[1])
    out.headers = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in lines[1:])]
    if head_only:
        out.complete = True
        return
    if (out.header("transfer-encoding") or "").lower() == "chunked":
        await _read_chunks(out, buf, more, max_chunks)
        return
    length = int(out.header("content-length") or 0)
    while len(buf) < length:
        if not await more():
            out.body = bytes(buf)
            return
    out.body = bytes(buf[:length])
    out.complete = True


async def _read_chunks(out: RawResponse, buf: bytearray, more: Any, max_chunks: int | None) -> None:
    body = bytearray()
    try:
        while True:
            while b"\r\n" not in buf:
                if not await more():
                    return
            size_line, _, rest = bytes(buf).partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                if not await more():
                    return
                _, _, rest = bytes(buf).partition(b"\r\n")
            if rest[size : size + 2] != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
            buf[:] = rest[size + 2 :]
            if size == 0:
                out.complete = True
                return
            out.chunks.append(rest[:size])
            body += rest[:size]
            if max_chunks is not None and len(out.chunks) >= max_chunks:
                return
    finally:
        out.body = bytes(body)
