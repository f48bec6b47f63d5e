"""A tiny HTTP/1.1 server on ``asyncio.start_server`` with full control of bytes and timing.

Why not a framework: the simulators must delay the status line, flush every chunk on its
own, cut the byte stream anywhere, drop the connection without a chunked terminator, and
notice a client hanging up while nothing is being written. Keep-alive, ``Content-Length``
and chunked request bodies are supported; pipelining is tolerated, not optimised.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
#: the pause after a forced cut, so a client really sees separate reads; after MAX_PAUSES
#: in one response the fragments still go out as separate chunks, just without pausing
FRAGMENT_PAUSE = 0.001
MAX_PAUSES = 32


class BadRequest(Exception):
    """The client sent something that is not HTTP/1.1; answered with 400 and a close."""


@dataclass
class Request:
    """One parsed request. Header names are lower case."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes = b""
    #: set by a handler for inference requests, so a hang-up is counted as a cancellation
    inference: bool = False

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return conn == "keep-alive"
        return conn != "close"


Handler = Callable[[Request, "Response"], Awaitable[None]]


class Connection:
    """Buffered reads from one client socket, with a pending read kept across requests.

    While a handler runs, :meth:`watch` keeps one read outstanding: an EOF there means the
    client hung up, and the handler is cancelled at once (even if it is only sleeping).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._buf = bytearray()
        self._pending: asyncio.Task[bytes] | None = None
        self._eof = False

    async def _fill(self) -> bool:
        """Read more bytes into the buffer; False at EOF or on a reset."""
        if self._eof:
            return False
        task = self._pending or asyncio.ensure_future(self.reader.read(65536))
        self._pending = None
        try:
            data = await task
        except (ConnectionError, OSError):
            data = b""
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    async def read_request(self) -> Request | None:
        """The next request, or None when the client closed the connection cleanly."""
        while b"\r\n\r\n" not in self._buf:
            if len(self._buf) > MAX_HEAD:
                raise BadRequest("request head too large")
            if not await self._fill():
                if self._buf.strip():
                    raise BadRequest("connection closed mid-request")
                return None
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        self._buf = bytearray(rest)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest(f"bad request line {lines[0][:80]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise BadRequest(f"bad header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        req = Request(parts[0].upper(), parts[1], parts[2], headers)
        if "chunked" in headers.get("transfer-encoding", "").lower():
            req.body = await self._read_chunked_body()
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise BadRequest("bad Content-Length") from None
            if length < 0 or length > MAX_BODY:
                raise BadRequest("bad Content-Length")
            req.body = await self._read_exactly(length)
        return req

    async def _read_exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not await self._fill():
                raise BadRequest("connection closed mid-body")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    async def _read_line(self) -> bytes:
        while b"\r\n" not in self._buf:
            if len(self._buf) > MAX_HEAD or not await self._fill():
                raise BadRequest("bad chunked body")
        line, _, rest = bytes(self._buf).partition(b"\r\n")
        self._buf = bytearray(rest)
        return line

    async def _read_chunked_body(self) -> bytes:
        body = bytearray()
        while True:
            size_line = (await self._read_line()).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BadRequest("bad chunk size") from None
            if size == 0:
                while await self._read_line():  # trailers, then the blank line
                    pass
                return bytes(body)
            body += await self._read_exactly(size)
            await self._read_exactly(2)
            if len(body) > MAX_BODY:
                raise BadRequest("body too large")

    async def watch(self, handler: asyncio.Task[None]) -> bool:
        """Wait for ``handler``; True if the client hung up first (the handler is cancelled)."""
        try:
            while not handler.done():
                if self._eof:  # the handler closed the connection itself (e.g. "die")
                    await asyncio.wait({handler})
                    break
                if self._pending is None:
                    self._pending = asyncio.ensure_future(self.reader.read(65536))
                await asyncio.wait({handler, self._pending}, return_when=asyncio.FIRST_COMPLETED)
                if handler.done() or not self._pending.done():
                    continue
                if self._pending.cancelled():  # close() was called while a read was pending
                    self._pending, self._eof = None, True
                    continue
                if not await self._fill():
                    handler.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await handler
                    return True
        except asyncio.CancelledError:
            handler.cancel()
            raise
        return False

    def shutdown(self) -> None:
        """Send FIN right now (``close`` only takes effect on the next loop iteration)."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self.writer.close()


@dataclass
class Splitter:
    """Re-chunks a byte stream: cuts inside every multi-byte UTF-8 character, between every
    ``\\r`` and ``\\n``, and at pseudo-random offsets (seeded, so a run can be replayed).

    The tail after the last cut is held back and joins the next write, so fragments also
    straddle line and event boundaries.
    """

    seed: int = 0
    _held: bytearray = field(default_factory=bytearray)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """Complete fragments, each with a flag: True when the cut was a forced one."""
        self._held += data
        out: list[tuple[bytes, bool]] = []
        start = 0
        next_random = self._rng.randint(1, 48)
        for i in range(1, len(self._held)):
            byte, prev = self._held[i], self._held[i - 1]
            forced = (0x80 <= byte < 0xC0) or (prev == 0x0D and byte == 0x0A)
            if forced or i - start >= next_random:
                out.append((bytes(self._held[start:i]), forced))
                start = i
                next_random = self._rng.randint(1, 48)
        del self._held[:start]
        return out

    def flush(self) -> bytes:
        data = bytes(self._held)
        self._held.clear()
        return data


class Response:
    """Writes one response: the head on demand, then whole bodies or flushed chunks.

    ``split`` (a :class:`Splitter`) re-chunks the body bytes; each fragment is its own
    chunk, so even a client that reads fast sees the cuts.
    """

    def __init__(self, conn: Connection, *, head_only: bool = False) -> None:
        self.conn = conn
        self.head_only = head_only
        self.status: int | None = None
        self.chunked = False
        self.finished = False
        self.aborted = False
        self.split: Splitter | None = None
        self._pauses = 0
        #: close the connection after this response (set when the protocol says so)
        self.close_after = False

    @property
    def started(self) -> bool:
        return self.status is not None

    def _head(self, status: int, headers: list[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {status_phrase(status)}"]
        lines += [f"{k}: {v}" for k, v in headers]
        if not any(k.lower() == "date" for k, _ in headers):
            lines.append(f"Date: {formatdate(usegmt=True)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _write(self, data: bytes) -> None:
        self.conn.writer.write(data)
        await self.conn.writer.drain()

    async def send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """A complete response with ``Content-Length``."""
        self.status = status
        head = self._head(status, [*headers, ("Content-Length", str(len(body)))])
        if self.head_only:
            await self._write(head)
        elif self.split is not None:
            await self._write(head)
            await self._write_split(body, chunk=False)
            rest = self.split.flush()
            if rest:
                await self._write(rest)
        else:
            await self._write(head + body)
        self.finished = True

    async def start(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Send the status line and headers of a chunked response."""
        self.status = status
        self.chunked = True
        await self._write(self._head(status, [*headers, ("Transfer-Encoding", "chunked")]))

    async def write(self, data: bytes) -> None:
        """One flushed chunk (or several fragments when splitting)."""
        if not data or self.head_only:
            return
        if self.split is not None:
            await self._write_split(data, chunk=True)
        else:
            await self._write(b"%x\r\n%s\r\n" % (len(data), data))

    async def _write_split(self, data: bytes, *, chunk: bool) -> None:
        assert self.split is not None
        for fragment, forced in self.split.feed(data):
            await self._write(b"%x\r\n%s\r\n" % (len(fragment), fragment) if chunk else fragment)
            if forced and self._pauses < MAX_PAUSES:
                self._pauses += 1
                await asyncio.sleep(FRAGMENT_PAUSE)
            else:
                await asyncio.sleep(0)

    async def flush(self) -> None:
        """Send the bytes a :class:`Splitter` is holding back (before a fault strikes)."""
        if self.split is not None and self.chunked:
            rest = self.split.flush()
            if rest:
                await self._write(b"%x\r\n%s\r\n" % (len(rest), rest))

    async def end(self) -> None:
        """The chunked terminator: the response ended cleanly."""
        await self.flush()
        if not self.head_only:
            await self._write(b"0\r\n\r\n")
        self.finished = True

    async def abort(self) -> None:
        """Close the TCP connection mid-response: what was written still arrives (a crashed
        server's last writes do too), but no chunked terminator ever follows."""
        self.aborted = True
        self.conn.close()


class Listener:
    """A listening socket that can be closed and reopened on the same port.

    While "closed" the port stays bound but not listening, so connects are refused and no
    other process can take the port.
    """

    def __init__(
        self,
        on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
        host: str,
        port: int,
    ) -> None:
        self._on_connect = on_connect
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._parked: socket.socket | None = None

    def _new_socket(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        sock.setblocking(False)
        return sock

    @property
    def listening(self) -> bool:
        return self._server is not None

    async def open(self) -> None:
        if self._server is not None:
            return
        sock = self._parked or self._new_socket()
        self._parked = None
        sock.listen(128)  # connects queue from here on, before asyncio starts accepting
        self._server = await asyncio.start_server(self._on_connect, sock=sock)

    def refuse(self) -> None:
        """Stop listening at once; later connects are refused until :meth:`open`."""
        if self._server is None:
            return
        self._server.close()
        self._server = None
        self._parked = self._new_socket()

    def park(self) -> None:
        """Hold the port without listening (a server started while refusing)."""
        if self._server is None and self._parked is None:
            self._parked = self._new_socket()

    def listen_now(self) -> None:
        """Start queueing connects synchronously (accepting follows via :meth:`open`)."""
        if self._parked is not None:
            self._parked.listen(128)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._parked is not None:
            self._parked.close()
            self._parked = None


def status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
