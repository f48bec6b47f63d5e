"""The part of a reply both simulators share: queueing, cold loads, pacing and faults.

A protocol module builds a :class:`Plan` (what to say) and an :class:`Encoder` (how its wire
format says it); :func:`stream_reply` and :func:`quiet_reply` play the plan out on a
:class:`~hybrid_tui.sim.http.Response`, striking the active fault at its token.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hybrid_tui.sim.http import Response
from hybrid_tui.sim.knobs import Fault, SimKnobs

#: how often the LM Studio ``keepalive_comments`` quirk writes a comment while waiting
KEEPALIVE_EVERY = 0.25
#: faults that strike at a token, inside an inference reply
TOKEN_FAULTS = ("die", "error_line", "malformed", "stall", "no_terminator")


class SlotGate:
    """Strict-FIFO admission to ``limit()`` generation slots (re-read on every change)."""

    def __init__(self, limit: Callable[[], int]) -> None:
        self._limit = limit
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        if self.active < self._limit() and not self.waiting:
            self.active += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # granted and cancelled in the same tick: hand it on
            else:
                self._waiters.remove(fut)
            raise

    def release(self) -> None:
        self.active -= 1
        self.wake()

    def wake(self) -> None:
        while self._waiters and self.active < self._limit():
            fut = self._waiters.popleft()
            if not fut.done():
                self.active += 1
                fut.set_result(None)


@dataclass
class Timing:
    """Monotonic nanosecond marks of one inference request."""

    arrived: int = field(default_factory=time.perf_counter_ns)
    slotted: int = 0  # generation slot taken (the load starts here)
    ready: int = 0  # slot taken and model loaded
    first: int = 0  # first token written
    last: int = 0  # last token written

    def token_sent(self) -> None:
        self.last = time.perf_counter_ns()
        self.first = self.first or self.last

    def durations(self) -> dict[str, int]:
        """Ollama's metric fields (integer ns); the caller omits zeros."""
        end = time.perf_counter_ns()
        ready = self.ready or end
        first = self.first or ready
        return {
            "total_duration": end - self.arrived,
            # Ollama's load_duration is the model load alone, not the wait for a slot
            "load_duration": ready - (self.slotted or self.arrived),
            "prompt_eval_duration": first - ready,
            "eval_duration": (self.last or first) - first,
        }


@dataclass
class Plan:
    """What one reply says: pieces of text (``reasoning`` flag each) and how it ends."""

    model: str
    pieces: list[tuple[str, bool]]
    prompt_tokens: int
    finish: str = "stop"
    fault: Fault | None = None
    timing: Timing = field(default_factory=Timing)

    @property
    def text(self) -> str:
        return "".join(t for t, r in self.pieces if not r)

    @property
    def reasoning(self) -> str:
        return "".join(t for t, r in self.pieces if r)

    @property
    def completion_tokens(self) -> int:
        return len(self.pieces)

    @property
    def usage(self) -> dict[str, int]:
        """The token counts as OpenAI-style APIs report them."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    def strike_at(self) -> int | None:
        """The token index where the fault strikes, or None."""
        f = self.fault
        if f is None or f.kind not in TOKEN_FAULTS:
            return None
        if f.kind == "no_terminator" and f.after_tokens <= 0:
            return len(self.pieces)
        return min(max(f.after_tokens, 0), len(self.pieces))


class Encoder(Protocol):
    """The bytes of one wire format. Implemented by the Ollama and LM Studio modules."""

    def stream_head(self) -> list[tuple[str, str]]: ...
    def piece(self, plan: Plan, text: str, reasoning: bool, index: int) -> bytes: ...
    def final(self, plan: Plan) -> bytes: ...
    def error_event(self, message: str | None) -> bytes: ...
    def malformed(self, plan: Plan) -> bytes: ...
    def keepalive(self) -> bytes | None: ...
    def body(self, plan: Plan, *, complete: bool) -> bytes: ...
    def json_headers(self) -> list[tuple[str, str]]: ...
    async def send_error(self, resp: Response, status: int, message: str | None) -> None: ...


async def forever() -> None:
    """Wait until cancelled (the client hangs up, or the server stops)."""
    await asyncio.Event().wait()


class Pacer:
    """Sleeps so tokens leave at ``knobs.tokens_per_s`` (read per token; None = no wait)."""

    def __init__(self, knobs: SimKnobs) -> None:
        self.knobs = knobs
        self._due: float | None = None

    async def next(self) -> None:
        loop = asyncio.get_running_loop()
        tps = self.knobs.tokens_per_s
        if not tps or tps <= 0:
            self._due = None
            await asyncio.sleep(0)
            return
        now = loop.time()
        if self._due is None or self._due < now - 0.05:
            self._due = now  # first token, or we fell behind: do not burst to catch up
        else:
            await asyncio.sleep(self._due - now)
        self._due += 1.0 / tps


async def wait_first_token(resp: Response, enc: Encoder, seconds: float) -> None:
    """The pause before the first token: silence, or keep-alive comments when the encoder
    has them (which sends the head early)."""
    comment = enc.keepalive()
    if comment is None:
        if seconds > 0:
            await asyncio.sleep(seconds)
        return
    loop = asyncio.get_running_loop()
    end = loop.time() + max(seconds, 0.0)
    await _send(resp, enc, comment)
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(KEEPALIVE_EVERY, left))
        await resp.write(comment)


async def _send(resp: Response, enc: Encoder, data: bytes) -> None:
    """Write one chunk, sending the head first if it has not gone out yet."""
    if not resp.started:
        await resp.start(200, enc.stream_head())
    await resp.write(data)


async def _strike(resp: Response, enc: Encoder, plan: Plan, fault: Fault) -> bool:
    """Apply ``fault`` at its token in a stream; True when the response ended there."""
    await resp.flush()  # everything before the fault arrives, even when re-chunking
    if fault.kind == "die":
        await resp.abort()
        return True
    if fault.kind == "stall":
        await forever()
    if fault.kind == "error_line" and not resp.started:
        await enc.send_error(resp, 500, fault.message)  # nothing sent yet: a proper status
        return True
    if fault.kind == "malformed":
        await _send(resp, enc, enc.malformed(plan))
        return False
    if fault.kind == "error_line":
        await _send(resp, enc, enc.error_event(fault.message))
    elif not resp.started:  # no_terminator before any token
        await resp.start(200, enc.stream_head())
    await resp.end()  # error_line and no_terminator: a clean end, but no end marker
    return True


async def stream_reply(resp: Response, enc: Encoder, plan: Plan, knobs: SimKnobs) -> None:
    """Play ``plan`` as a stream: one flushed chunk per token, the fault at its token,
    then the end marker. The head goes out with the first bytes (never earlier)."""
    strike, fault = plan.strike_at(), plan.fault
    pacer = Pacer(knobs)
    n = len(plan.pieces)
    for i in range(n + 1):
        if fault is not None and i == strike and await _strike(resp, enc, plan, fault):
            return
        if i == n:
            break
        await pacer.next()
        text, reasoning = plan.pieces[i]
        await _send(resp, enc, enc.piece(plan, text, reasoning, i))
        plan.timing.token_sent()
    await _send(resp, enc, enc.final(plan))
    await resp.end()


async def quiet_reply(resp: Response, enc: Encoder, plan: Plan, knobs: SimKnobs) -> None:
    """Generate at the paced speed without sending, then one JSON body (``stream`` false).
    Faults map onto the single response: die closes it, error_line is a 500, stall never
    answers, malformed sends broken JSON, no_terminator an unfinished object."""
    strike, fault = plan.strike_at(), plan.fault
    pacer = Pacer(knobs)
    for _ in plan.pieces[:strike]:
        await pacer.next()
        plan.timing.token_sent()
    headers = enc.json_headers()
    if fault is None or strike is None:
        await resp.send(200, headers, enc.body(plan, complete=True))
    elif fault.kind == "die":
        await resp.abort()
    elif fault.kind == "error_line":
        await enc.send_error(resp, 500, fault.message)
    elif fault.kind == "stall":
        await forever()
    elif fault.kind == "malformed":
        await resp.send(200, headers, enc.malformed(plan).strip())
    else:  # no_terminator
        await resp.send(200, headers, enc.body(plan, complete=False))
