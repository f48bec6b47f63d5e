"""``SimThread``: simulators on their own event loop in a daemon thread (``--demo``, and
tests that drive a CLI subprocess or a synchronous client)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from hybrid_tui.sim.server import SimServer

T = TypeVar("T")


class SimThread:
    """Runs ``servers`` in a background thread. :meth:`start` returns once all listen."""

    def __init__(self, servers: list[SimServer]) -> None:
        self.servers = list(servers)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the thread and block until every server is listening (or raise why not)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="hybrid-tui-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simulators did not start in time")
        if self._error is not None:
            self._thread.join(timeout)
            self._thread = None
            raise self._error

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            for server in self.servers:
                await server.start()
        except BaseException as exc:  # report to start(), then unwind
            self._error = exc
            self._ready.set()
            for server in self.servers:
                await server.stop()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            for server in self.servers:
                await server.stop()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 10.0) -> T:
        """Run ``coro`` on the simulators' loop and return its result (from another thread)."""
        if self.loop is None:
            raise RuntimeError("SimThread is not running")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every server and the thread (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self.loop is not None and self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        thread.join(timeout)
        self.loop = None

    def __enter__(self) -> SimThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
