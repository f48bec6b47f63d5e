"""A first-in, first-out concurrency limit per backend.

``asyncio.Semaphore`` lets a newcomer take a slot that was just released ahead of tasks already
waiting; here a released slot is handed straight to the oldest waiter, so requests start in the
order they were submitted. Waiting never fails and has no deadline of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress


class FifoLimiter:
    """At most ``limit`` holders at once; the rest wait in arrival order."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        #: slots held now
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: when each holder of a slot taken through :meth:`slot` got it (monotonic), and
        #: what it asked (a task type), in the order they got it
        self._started: dict[object, tuple[float, str]] = {}
        #: what each request waiting in :meth:`slot` asked, in arrival order
        self._asking: dict[object, str] = {}
        #: called after every change of ``active`` or ``waiting`` (the health sidebar's
        #: queue figure); must be cheap and must not raise
        self.on_change: Callable[[], None] | None = None

    @property
    def queue(self) -> int:
        """Requests in flight plus requests waiting."""
        return self.active + self.waiting

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def waiting(self) -> int:
        """Requests queued for a slot."""
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        """Wait for a slot (FIFO). Cancelling while queued gives up the place in line."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            self._changed()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self._changed()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled: pass it on
            else:
                with suppress(ValueError):
                    self._waiters.remove(fut)
                self._changed()
            raise

    def release(self) -> None:
        """Give the slot to the oldest waiter, or free it."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # ``active`` stays: the slot changes hands
                self._changed()
                return
        self.active -= 1
        self._changed()

    def busy_for(self) -> tuple[float, ...]:
        """Seconds each request holding a slot (through :meth:`slot`) has held it: with the
        expected service time, how soon a slot frees up."""
        if not self._started:
            return ()
        now = time.monotonic()
        return tuple(now - t for t, _ in self._started.values())

    def task_types(self) -> tuple[str, ...]:
        """What each request in :meth:`slot` asked: the holders first (in the order of
        :meth:`busy_for`), then the waiting ones in line; with the expected time of each,
        how long a newcomer waits."""
        if not self._started and not self._asking:
            return ()
        holding = tuple(task for _, task in self._started.values())
        return holding + tuple(self._asking.values())

    @asynccontextmanager
    async def slot(self, task_type: str = "") -> AsyncIterator[None]:
        """``async with limiter.slot(task_type):`` holds one slot for the block;
        ``task_type`` (what the request asks) tells the router how long it will hold it."""
        token = object()
        self._asking[token] = task_type
        try:
            await self.acquire()
        finally:
            del self._asking[token]
        self._started[token] = (time.monotonic(), task_type)
        try:
            yield
        finally:
            del self._started[token]
            self.release()
