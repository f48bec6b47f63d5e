"""``SimServer``: one simulated server (Ollama or LM Studio) on a loopback port.

It owns the listening socket, the connections, the FIFO generation slots and the counters
tests read (``in_flight``, ``max_in_flight``, ``requests``, ``cancelled``); the wire format
lives in :mod:`hybrid_tui.sim.ollama` and :mod:`hybrid_tui.sim.openai`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

from hybrid_tui.sim.engine import SlotGate, forever
from hybrid_tui.sim.http import BadRequest, Connection, Listener, Request, Response, Splitter
from hybrid_tui.sim.knobs import Fault, SimKnobs

log = logging.getLogger(__name__)

KINDS = {"ollama": "ollama", "openai": "openai", "lmstudio": "openai"}
#: keep the logs bounded in a long --demo session
_LOG_MAX = 10_000


class Routes(Protocol):
    """A wire protocol's request handler."""

    async def handle(self, req: Request, resp: Response) -> None: ...


class SimServer:
    """A simulated ``kind`` server ("ollama" or "openai", i.e. LM Studio) on ``host:port``.

    ``port=0`` picks a free port; :attr:`url` is valid after :meth:`start`. Knobs may be
    changed at any time; assigning ``knobs.fault`` takes effect at once (``refuse`` closes
    the port and drops open connections; clearing it reopens the same port).
    """

    def __init__(
        self,
        kind: str,
        knobs: SimKnobs | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        name: str | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown simulator kind {kind!r}; use 'ollama' or 'openai'")
        self.kind = KINDS[kind]
        self.name = name or ("ollama" if self.kind == "ollama" else "lmstudio")
        self.host = host
        #: inference requests received and not finished (queued ones included)
        self.in_flight = 0
        self.max_in_flight = 0
        #: inference request bodies (parsed JSON), in arrival order
        self.requests: list[dict[str, Any]] = []
        #: inference requests whose client hung up before the reply ended
        self.cancelled = 0
        #: inference replies with status 200 whose HTTP response ended cleanly
        self.completed = 0
        #: every request as "METHOD /path", in arrival order
        self.hits: list[str] = []
        self._gate = SlotGate(lambda: self.knobs.effective_parallel(self.kind))
        self._listener = Listener(self._on_connect, host, port)
        self._conns: dict[asyncio.Task[None], Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reopen: asyncio.Task[None] | None = None
        self._knobs: SimKnobs | None = None
        self.knobs = knobs if knobs is not None else SimKnobs()
        self.routes: Routes = self._make_routes()

    def _make_routes(self) -> Routes:
        if self.kind == "ollama":
            from hybrid_tui.sim.ollama import OllamaRoutes

            return OllamaRoutes(self)
        from hybrid_tui.sim.openai import LMStudioRoutes

        return LMStudioRoutes(self)

    # -- knobs ---------------------------------------------------------------------------

    @property
    def knobs(self) -> SimKnobs:
        assert self._knobs is not None
        return self._knobs

    @knobs.setter
    def knobs(self, knobs: SimKnobs) -> None:
        if self._knobs is not None and self._on_knob in self._knobs._listeners:
            self._knobs._listeners.remove(self._on_knob)
        knobs.adopt_defaults(self.kind)
        knobs._listeners.append(self._on_knob)
        self._knobs = knobs
        self._on_knob("fault")

    def _on_knob(self, _name: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            self._sync()
        else:
            loop.call_soon_threadsafe(self._sync)

    def _sync(self) -> None:
        """Make the listening state match the fault, and let waiters in if slots grew."""
        if self._loop is None:
            return
        fault = self.knobs.fault
        if self._reopen is not None and not self._reopen.done():
            self._reopen.add_done_callback(lambda _t: self._sync())
            return
        if fault is not None and fault.kind == "refuse":
            if self._listener.listening:
                self._listener.refuse()
                for task, conn in list(self._conns.items()):
                    conn.shutdown()  # now, so no client reuses a pooled connection
                    task.cancel()
        elif not self._listener.listening:
            self._listener.listen_now()
            self._reopen = self._loop.create_task(self._listener.open())
        self._gate.wake()

    async def set_fault(self, fault: Fault | None) -> None:
        """Set the fault and wait until it is in force (the port reopened, if it was shut)."""
        self.knobs.fault = fault
        if self._reopen is not None:
            await self._reopen

    # -- life cycle ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._listener.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and listen (a ``refuse`` fault set beforehand keeps the port shut)."""
        self._loop = asyncio.get_running_loop()
        fault = self.knobs.fault
        if fault is not None and fault.kind == "refuse":
            self._listener.park()
        else:
            await self._listener.open()

    async def stop(self) -> None:
        """Close the port and every connection; in-progress replies are cancelled."""
        if self._reopen is not None and not self._reopen.done():
            self._reopen.cancel()
        await self._listener.close()
        tasks = list(self._conns)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop = None

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- counters ------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Inference requests waiting for a generation slot."""
        return self._gate.waiting

    @property
    def generating(self) -> int:
        return self._gate.active

    def reset_counters(self) -> None:
        """Forget the logs and counts (``in_flight`` is live and stays)."""
        self.max_in_flight = self.in_flight
        self.requests.clear()
        self.hits.clear()
        self.cancelled = 0
        self.completed = 0

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no inference request is in flight (e.g. after a client hung up)."""
        async with asyncio.timeout(timeout):
            while self.in_flight:
                await asyncio.sleep(0.005)

    # -- used by the protocol modules ----------------------------------------------------

    @contextlib.asynccontextmanager
    async def inference(
        self, req: Request, resp: Response, body: dict[str, Any]
    ) -> AsyncIterator[None]:
        """Account one inference request from arrival to its last byte."""
        req.inference = True
        _append(self.requests, body)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.splitting():
            resp.split = Splitter(seed=len(self.requests))
        try:
            yield
        finally:
            self.in_flight -= 1
            if resp.finished and not resp.aborted and resp.status == 200:
                self.completed += 1

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """A generation slot, first come first served (nothing is sent while waiting)."""
        await self._gate.acquire()
        try:
            yield
        finally:
            self._gate.release()

    def fault(self, *kinds: str) -> Fault | None:
        """The active fault if it is one of ``kinds``."""
        f = self.knobs.fault
        return f if f is not None and f.kind in kinds else None

    def splitting(self) -> bool:
        return self.fault("split_utf8") is not None or "rechunk" in self.knobs.quirks

    async def cold_load(self, model: str) -> bool:
        """Load ``model`` if it is not loaded (taking ``load_delay``); True if it was cold."""
        loaded = self.knobs.loaded
        assert loaded is not None
        if model in loaded:
            return False
        if self.knobs.load_delay > 0:
            await asyncio.sleep(self.knobs.load_delay)
        if model not in loaded:
            loaded.append(model)
        return True

    # -- connections ---------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = Connection(reader, writer)
        self._conns[task] = conn
        try:
            await self._serve(conn)
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            # only stop() and "refuse" cancel a connection; ending quietly keeps asyncio's
            # start_server callback from logging the cancellation as an error
            pass
        finally:
            conn.close()
            self._conns.pop(task, None)

    async def _serve(self, conn: Connection) -> None:
        while True:
            try:
                req = await conn.read_request()
            except BadRequest as exc:
                body = f"400 Bad Request: {exc}".encode()
                await Response(conn).send(400, [("Content-Type", "text/plain")], body)
                return
            if req is None:
                return
            resp = Response(conn, head_only=req.method == "HEAD")
            handler = asyncio.ensure_future(self._dispatch(req, resp))
            if await conn.watch(handler):
                if req.inference:
                    self.cancelled += 1
                return
            exc = handler.exception()
            if exc is not None:
                log.error(
                    "simulator %s: %s %s failed", self.name, req.method, req.path, exc_info=exc
                )
                if not resp.started:
                    body = f"internal error: {exc}".encode()
                    await Response(conn).send(500, [("Content-Type", "text/plain")], body)
                return
            if resp.aborted or resp.close_after or not resp.finished or not req.keep_alive:
                return

    async def _dispatch(self, req: Request, resp: Response) -> None:
        _append(self.hits, f"{req.method} {req.path}")
        if self.fault("blackhole"):
            await forever()
        try:
            if not self._authorized(req):
                await self._unauthorized(req, resp)
                return
            await self.routes.handle(req, resp)
        except (ConnectionError, OSError):
            resp.aborted = True
            if req.inference:
                self.cancelled += 1


    def _authorized(self, req: Request) -> bool:
        key = self.knobs.api_key
        return key is None or req.headers.get("authorization", "") == f"Bearer {key}"

    async def _unauthorized(self, req: Request, resp: Response) -> None:
        """401 in the server's own error shape (``echo_api_key``: repeating the token)."""
        got = req.headers.get("authorization", "")
        text = "unauthorized"
        if "echo_api_key" in self.knobs.quirks:
            text = f"unauthorized: invalid API key in {got!r}" if got else "unauthorized: no key"
        body: dict[str, Any] = {"error": text}
        if self.kind == "openai":
            body = {"error": {"message": text, "type": "invalid_request_error", "param": None,
                              "code": "invalid_api_key"}}
        data = json.dumps(body, separators=(",", ":")).encode()
        await resp.send(401, [("Content-Type", "application/json; charset=utf-8")], data)


def _append(log: list[Any], item: Any) -> None:
    log.append(item)
    if len(log) > _LOG_MAX:
        del log[: _LOG_MAX // 2]


def now_ns() -> int:
    """Wall-clock nanoseconds (for timestamps on the wire)."""
    return time.time_ns()
