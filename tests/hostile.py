"""A raw HTTP server on loopback for attacks no well-behaved simulator makes: endless lines,
keep-alive bytes forever, huge or dripping JSON bodies, a proxy that records its visitors.

Each connection's request is read (head and ``Content-Length`` body), then ``answer(server,
request, writer)`` writes whatever bytes it likes. ``sent`` counts the bytes written through
:meth:`RawServer.pour`, and ``cut`` is set when a write fails because the client hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

PIECE = b"a" * 65536


@dataclass(frozen=True)
class RawRequest:
    """What the client sent: ``target`` is the path, or the absolute URL a proxy is sent."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[["RawServer", RawRequest, asyncio.StreamWriter], Awaitable[None]]


def head(content_type: str, extra: str = "") -> bytes:
    """A 200 status line and headers with no length: the body runs until the connection closes."""
    return (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra}"
            "Connection: close\r\n\r\n").encode()  # fmt: skip


class RawServer:
    """``async with RawServer(answer) as server``: listening on ``server.url``."""

    def __init__(self, answer: Answer, host: str = "127.0.0.1") -> None:
        self.answer = answer
        self.host = host
        self.requests: list[RawRequest] = []
        self.sent = 0
        self.cut = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self.host}:{port}"

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        await self._server.wait_closed()

    async def pour(self, writer: asyncio.StreamWriter, data: bytes, *, total: int = 1 << 40,
                   pause: float = 0.0) -> None:  # fmt: skip
        """Write ``data`` again and again until ``total`` bytes or the client hangs up."""
        written = 0
        while written < total:
            writer.write(data)
            await writer.drain()
            written += len(data)
            self.sent += len(data)
            if pause:
                await asyncio.sleep(pause)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            request = RawRequest(method, target, headers, body)
            self.requests.append(request)
            await self.answer(self, request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.cut.set()
        except asyncio.CancelledError:
            pass  # the server is closing: a handler cancelled at the top ends quietly
        finally:
            self._tasks.discard(task)
            writer.close()
