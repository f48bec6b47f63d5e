"""One backend's attempt at a reply: its place in the concurrency queue, the waits before the
first token, and the stream of :class:`~hybrid_tui.events.Thinking` and
:class:`~hybrid_tui.events.Token` events (reasoning and answer text kept apart: only the
answer is in ``Reply.parts``, so only it is scored, continued after a failover, or sent back
in a chat's history).

The waits are told as :class:`~hybrid_tui.events.Waiting` events, once per change of state,
so a view can say "loading model…" instead of looking hung:

- ``queued``: every slot of our own per-backend limit is taken; said before joining the queue;
- ``loading model``: the health monitor knows the model is not in memory; said once the slot
  is ours (the server sends nothing until the load is over);
- ``waiting for first token``: said when the slot comes after a queue, or else when nothing
  has arrived ``notice_after`` seconds after the request went out (by default 2 s, or a
  quarter of the backend's ``timeout`` when that is shorter).

A cold load is not a failure: the backend's own deadline (``timeout``, first token) covers it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from hybrid_tui.backends import Backend, Message, StreamItem, StreamStats, TextDelta
from hybrid_tui.errors import BackendError
from hybrid_tui.events import Thinking, Token, Waiting
from hybrid_tui.router.limiter import FifoLimiter

log = logging.getLogger(__name__)

#: seconds without a first token before a ``waiting for first token`` notice ...
FIRST_TOKEN_NOTICE = 2.0
#: ... or this share of the backend's first-token ``timeout``, when that comes sooner
NOTICE_SHARE = 0.25


@dataclass(slots=True)
class Reply:
    """One backend's reply as it streams: text pieces, reasoning size, the final stats."""

    backend: str
    model: str
    parts: list[str] = field(default_factory=list)
    reasoning_chars: int = 0
    stats: StreamStats | None = None
    #: perf_counter when the slot was taken (the request went out)
    started: float = field(default_factory=time.perf_counter)
    #: perf_counter of the first reply text, None before it
    first_text: float | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def ttft_ms(self) -> float | None:
        """Time to the first text as the router saw it (the backend's own figure is in
        ``stats`` once the reply ends)."""
        return None if self.first_text is None else (self.first_text - self.started) * 1000


@dataclass(slots=True)
class Chain:
    """A reply across backends: the text that earlier attempts sent before they failed
    mid-reply (the next backend continues from it), and where the reply has been."""

    parts: list[str] = field(default_factory=list)
    tokens: int = 0
    #: perf_counter when the first attempt went out, and its time to first text
    started: float | None = None
    ttft_ms: float | None = None
    #: the last backend that failed mid-reply, and why
    stopped: str | None = None
    stopped_error: BackendError | None = None
    fallback_from: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def add(self, reply: Reply, exc: BackendError) -> None:
        """Keep what a failed attempt sent (nothing is lost)."""
        if self.started is None:
            self.started = reply.started
        text = reply.text or exc.partial
        if not text:
            return
        if self.ttft_ms is None:
            self.ttft_ms = reply.ttft_ms
        self.parts.append(text)
        self.tokens += len(reply.parts) or 1
        self.stopped, self.stopped_error = reply.backend, exc


async def stream_attempt(
    backend: Backend,
    limiter: FifoLimiter,
    reply: Reply,
    messages: Sequence[Message],
    *,
    options: dict[str, Any] | None = None,
    cold: bool = False,
    task_type: str = "",
    submitted: float | None = None,
    notice_after: float | None = FIRST_TOKEN_NOTICE,
) -> AsyncIterator[Token | Thinking | Waiting]:
    """Stream ``reply`` from ``backend`` through ``limiter``, one Token (or Thinking) per
    text delta.

    Raises the backend's typed error (any other exception becomes a ``BackendError``); the
    text that arrived is in ``reply.parts``. Closing the iterator closes the HTTP stream and
    gives up the slot or the place in the queue.
    """
    name = reply.backend
    since = time.perf_counter() if submitted is None else submitted

    def waiting(state: str) -> Waiting:
        return Waiting(name, reply.model, state, round(time.perf_counter() - since, 3))

    said: str | None = None
    if limiter.active >= limiter.limit or limiter.waiting:
        said = "queued"
        yield waiting(said)
    async with limiter.slot(task_type):
        reply.started = time.perf_counter()
        if cold:
            said = "loading model"
            yield waiting(said)
        elif said is not None:
            said = "waiting for first token"
            yield waiting(said)
        try:
            items = backend.stream_chat(messages, reply.model, dict(options or {}))
            async with aclosing(items):
                if said is not None or notice_after is None:
                    item = await _first(items)
                else:
                    # the first item is awaited in a task of its own, so the notice can go
                    # out while the request waits (cancelling the task closes the request)
                    first = asyncio.ensure_future(_first(items))
                    try:
                        done, _ = await asyncio.wait({first}, timeout=notice_after)
                        if not done:
                            yield waiting("waiting for first token")
                        item = await first
                    finally:
                        if not first.done():
                            first.cancel()
                            await asyncio.wait({first})
                        if not first.cancelled():
                            first.exception()  # retrieved, so asyncio never logs it
                if item is None:
                    return
                token = _take(reply, item)
                if token is not None:
                    yield token
                async for item in items:
                    token = _take(reply, item)
                    if token is not None:
                        yield token
        except BackendError:
            raise
        except Exception as exc:  # a bug below must not become a traceback for the user
            log.exception("stream from %s failed unexpectedly", name)
            detail = f"unexpected error: {type(exc).__name__}: {exc}"
            raise BackendError(detail, backend=name, partial=reply.text) from exc


async def _first(items: AsyncIterator[StreamItem]) -> StreamItem | None:
    try:
        return await anext(items)
    except StopAsyncIteration:
        return None


def _take(reply: Reply, item: StreamItem) -> Token | Thinking | None:
    """Account one stream item in ``reply``; the event to pass on, if any."""
    if isinstance(item, TextDelta):
        if item.reasoning:
            reply.reasoning_chars += len(item.text)
            return Thinking(item.text, reply.backend) if item.text else None
        if item.text:
            if reply.first_text is None:
                reply.first_text = time.perf_counter()
            reply.parts.append(item.text)
            return Token(item.text, reply.backend)
    elif isinstance(item, StreamStats):
        reply.stats = item
    return None
