"""Runs prompts through the router service, one at a time, folding events into the session.

Data flows one way: ``RouterService.submit`` events -> :func:`hybrid_tui.session.apply` (the
model) -> the turn's view, the routing log and saving. Each prompt runs in its own Textual
worker (group ``prompt``, exclusive); prompts sent meanwhile wait in a FIFO queue, shown as
queued. A prompt keeps running when the user switches to another chat: its events fold into
its own session, and into a view only while one is on screen. Cancelling the worker (Esc)
raises ``CancelledError`` inside ``submit``'s stream, whose cleanup closes the HTTP response;
the ``aclosing`` wrapper covers the case where the worker was suspended in our own code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.worker import Worker

from hybrid_tui.errors import HybridError
from hybrid_tui.events import (
    Decision,
    Done,
    Error,
    Escalation,
    Event,
    Failover,
    Fallback,
    Thinking,
    Token,
    Waiting,
    event_to_dict,
)
from hybrid_tui.safetext import excerpt
from hybrid_tui.session import AskOther, Cancelled, Change, Session, Turn, apply
from hybrid_tui.ui.widgets.routing_log import LogEntry
from hybrid_tui.ui.widgets.turn_text import FORCE_WORDS
from hybrid_tui.units import fmt_confidence, fmt_tps

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp
    from hybrid_tui.ui.widgets.turn import TurnView

log = logging.getLogger(__name__)

#: the longest the token loop holds the event loop before letting others run: a frame or a
#: flush that falls due meanwhile waits this long on top of its own time
YIELD_EVERY = 1 / 200


def _detail(event: Any) -> dict[str, Any]:
    """The event as a dict for the log's detail view, minus the (possibly huge) reply text."""
    try:
        data = event_to_dict(event)
    except TypeError:
        data = {"event": getattr(event, "event", type(event).__name__), "repr": repr(event)}
    data.pop("text", None)
    data.pop("partial", None)
    return data


@dataclass(eq=False, slots=True)
class Job:
    """One prompt to answer: a turn of a chat, and how (``other``: ask this backend again
    for a finished turn, keeping the first reply)."""

    session: Session
    turn: Turn
    other: str | None = None


class TurnRunner:
    """The prompt queue and the one running prompt."""

    def __init__(self, app: HybridApp) -> None:
        self.app = app
        self.queue: deque[Job] = deque()
        self.running: Job | None = None
        self.worker: Worker[None] | None = None
        self._yielded = 0.0
        #: turns whose cold model load has its routing-log row already
        self._logged_loading: set[Turn] = set()

    # -- queue -----------------------------------------------------------------------------

    def enqueue(self, session: Session, turn: Turn, *, other: str | None = None) -> None:
        self.queue.append(Job(session, turn, other))
        self.pump()

    def pump(self) -> None:
        """Start the next queued prompt if none is running."""
        if self.running is None and self.queue:
            job = self.queue.popleft()
            self.running = job
            self.worker = self.app.run_worker(
                self._run(job), name=f"prompt-{job.turn.number}", group="prompt",
                exclusive=True, exit_on_error=False,
            )
        self.app.update_hint()

    def cancel(self) -> bool:
        """Stop the running prompt (Esc). Returns False when nothing was running."""
        if self.worker is None or self.worker.is_finished:
            return False
        self.worker.cancel()
        return True

    async def stop_all(self, session: Session | None = None) -> None:
        """Drop the queued prompts (of ``session``, else all) and stop the running one if it
        is one of them, waiting until it has wound down."""
        self.drop_queue(session)
        running = self.running
        worker = self.worker
        if (worker is not None and not worker.is_finished and running is not None
                and (session is None or running.session is session)):
            worker.cancel()
            with suppress(Exception):
                await worker.wait()

    def drop_queue(self, session: Session | None = None) -> list[Job]:
        dropped = [job for job in self.queue if session is None or job.session is session]
        self.queue = deque(job for job in self.queue if job not in dropped)
        return dropped

    @property
    def busy(self) -> bool:
        return self.running is not None or bool(self.queue)

    def running_turn(self) -> Turn | None:
        return self.running.turn if self.running is not None else None

    # -- one prompt ------------------------------------------------------------------------

    def view(self, job: Job) -> TurnView | None:
        """The turn's view while its chat is on screen, else None."""
        return self.app.conversation.view_of(job.turn)

    async def _run(self, job: Job) -> None:
        app = self.app
        session, turn = job.session, job.turn
        app.gc_pause.hold()  # no full collection pauses the stream (gcpause.py)
        try:
            if job.other is None:
                session.start(turn)
            else:
                session.active = turn
                await self._fold(job, AskOther(job.other))
            await self._redraw(job)
            if app.service is None:
                raise HybridError("the router service is not running")
            stream: AsyncIterator[Event] = app.service.submit(
                turn.prompt,
                context=[a.as_context() for a in turn.attachments],
                history=session.history_before(turn),
                force=job.other or turn.force,
                settings=session.settings,
            )
            async with aclosing(stream):  # type: ignore[type-var]
                async for event in stream:
                    await self.apply(job, event)
            if turn.status not in ("done", "failed"):
                await self.apply(job, Error("the reply ended without finishing", kind="stream"))
        except asyncio.CancelledError:
            await self._fold(job, Cancelled())
            reply = turn.current
            kept = f"{reply.chunks} tokens" if reply is not None else "no tokens"
            self.add_log(job, "cancelled", outcome=kept + " kept")
            raise
        except HybridError as exc:
            await self.apply(job, Error(str(exc), kind=getattr(exc, "kind", "error")))
        except Exception as exc:  # a bug below us must not take the app down
            log.exception("prompt %s failed", turn.number)
            await self.apply(job, Error(f"unexpected {type(exc).__name__}: {exc}", kind="bug"))
        finally:
            app.gc_pause.release()
            session.active = None
            app.persist(session, turn)
            self._logged_loading.discard(turn)
            self.running = None
            self.worker = None
            app.call_later(self.pump)
            app.call_later(app.flush_transcript)
            app.call_later(app.turn_ended, session, turn)

    async def _fold(self, job: Job, event: Any) -> Change:
        """Fold ``event`` into the model, then bring the view (if shown) up to date."""
        change = apply(job.session, event)
        view = self.view(job)
        if view is not None:
            await self._show(view, change)
        return change

    async def _show(self, view: TurnView, change: Change) -> None:
        """Tell the view what one event changed."""
        kind, reply = change.kind, change.reply
        if kind in ("decision", "reply"):
            if reply is not None:
                await view.add_reply(reply)
            view.refresh_badge()
            return
        reply_view = view.view_of(reply)
        if reply is not None and reply_view is None:
            reply_view = await view.add_reply(reply)
        if kind == "wait" and reply_view is not None:
            reply_view.waiting()
        elif kind == "badge":
            view.refresh_badge()
            failover = view.turn.failover
            if reply_view is not None and reply is not None and reply.marks and failover:
                reply_view.mark(reply.marks[-1][1])
        elif kind == "finished" and reply_view is not None:
            reply_view.finished()
            view.refresh_badge()
        elif kind == "ended":
            if reply_view is not None:
                reply_view.ended()
            view.refresh_badge()
        elif kind == "thinking" and reply_view is not None:
            reply_view.thinking_arrived()

    async def _redraw(self, job: Job) -> None:
        view = self.view(job)
        if view is not None:
            view.refresh_badge()

    # -- events ----------------------------------------------------------------------------

    async def apply(self, job: Job, event: Any) -> None:
        """One router event -> the model, the view, the routing log and saving."""
        app = self.app
        if isinstance(event, Token):
            change = apply(job.session, event)
            view = self.view(job)
            if view is not None:
                reply_view = view.current
                if reply_view is None or reply_view.reply is not change.reply:
                    reply_view = view.view_of(change.reply) or await view.add_reply(
                        change.reply)  # type: ignore[arg-type]
                reply_view.append(event.text)
            app.persist(job.session, job.turn)
            if change.reply is not None and change.reply.chunks == 1:
                app.update_hint()  # the first token ends a wait
            # A fast server can have the whole reply buffered: without a yield now and then
            # this loop would hold the event loop and no frame would be drawn until the end.
            now = time.monotonic()
            if now - self._yielded > YIELD_EVERY:
                self._yielded = now
                await asyncio.sleep(0)
            return
        if isinstance(event, Thinking):
            await self._fold(job, event)
            app.persist(job.session, job.turn)
            now = time.monotonic()
            if now - self._yielded > YIELD_EVERY:
                self._yielded = now
                await asyncio.sleep(0)
            return
        await self._fold(job, event)
        turn = job.turn
        if isinstance(event, Decision):
            dropped = event.history_dropped
            said = [FORCE_WORDS[turn.force_source]] if turn.force_source in (
                "prefix", "pin", "next") and job.other is None else []
            if dropped:  # to fit the model's context window (signals.context says how)
                said.append(f"{dropped} old turn{'s' if dropped != 1 else ''} left out")
            self.add_log(job, "decision", event, outcome=" · ".join(said))
        elif isinstance(event, Waiting):
            self._waiting(job, event)
        elif isinstance(event, Fallback):
            self.add_log(job, "fallback", event, backend=event.to_backend, model=event.model,
                         route=f"fallback {event.from_backend} → {event.to_backend}",
                         reason=event.reason)
        elif isinstance(event, Done):
            self._done(job, event)
        elif isinstance(event, Escalation):
            self.add_log(job, "escalation", event, backend=event.to_backend, model=event.model,
                         route=f"escalated {event.from_backend} → {event.to_backend}",
                         outcome=f"confidence {event.confidence:.2f} < {event.threshold:.2f}",
                         reason=event.reason)
        elif isinstance(event, Failover):
            route = f"failover {event.from_backend} → {event.to_backend}"
            self.add_log(job, "failover", event, backend=event.to_backend, model=event.model,
                         route=route, outcome=f"{event.tokens_so_far} tokens kept",
                         reason=event.reason)
            app.update_hint()
        elif isinstance(event, Error):
            self.add_log(job, "error", outcome=excerpt(event.message, 80),
                         extra={"kind": event.kind})
            app.notify(excerpt(event.message, 200), title="Reply failed", severity="error",
                       markup=False)
        app.persist(job.session, turn)

    def _waiting(self, job: Job, event: Waiting) -> None:
        """A wait before text: said in the reply's status line and the hint line; a cold
        model load also gets one routing-log row (queues and slow first tokens do not)."""
        self.app.update_hint()
        if event.state == "loading model" and job.turn not in self._logged_loading:
            self._logged_loading.add(job.turn)
            backend = self.app.config.backends.get(event.backend)
            limit = f" (waiting up to {backend.timeout:g} s)" if backend is not None else ""
            self.add_log(job, "loading", event, backend=event.backend, model=event.model,
                         outcome="cold start",
                         reason=f"{event.model or 'the model'} is not in memory on "
                         f"{event.backend}; it is loading{limit}")

    def _done(self, job: Job, done: Done) -> None:
        self.app.prompt_input.can_rate = True
        rate = self.app.figures("tokens_per_s", done.tokens_per_s)
        parts = [fmt_tps(rate) if rate is not None else f"{done.tokens} tok"]
        if done.confidence is not None:
            parts.append(f"conf {fmt_confidence(done.confidence)}")
        outcome = " · ".join(parts)
        route = "escalated" if done.escalated else ("asked other" if job.other else None)
        if done.failover_from:
            route = f"failover {done.failover_from} → {done.backend}"
        self.add_log(job, "done", done, backend=done.backend, model=done.model, outcome=outcome,
                     route=route)

    # -- log -------------------------------------------------------------------------------

    def add_log(
        self,
        job: Job,
        name: str,
        event: Any = None,
        *,
        backend: str | None = None,
        model: str | None = None,
        route: str | None = None,
        outcome: str = "",
        reason: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> LogEntry:
        """One routing-log row for the job's turn, filled from its decision where not given."""
        turn = job.turn
        d = turn.decision
        reply = turn.current
        if job.other is not None and reply is not None and reply.decision is not None:
            d = reply.decision  # the second opinion's own routing
            route = route if route is not None else "asked other"
        fallback = turn.fallback
        default_route = (
            f"fallback {fallback.from_backend} → {fallback.to_backend}" if fallback else ""
        )
        if turn.failover is not None:
            default_route = f"failover {turn.failover.from_backend} → {turn.failover.to_backend}"
        detail = _detail(event) if event is not None else {}
        if name != "decision" and d is not None:
            detail = {**detail, "decision": {**_detail(d), "event": "decision"}}
        if turn.force_source is not None:
            detail["forced_by"] = turn.force_source
        entry = LogEntry(
            at=self.app.clock(),
            event=name,
            turn=turn.number,
            prompt=excerpt(turn.prompt, 120),
            task_type=d.task_type if d else "",
            complexity=d.complexity if d else "",
            backend=backend if backend is not None else (
                fallback.to_backend if fallback else (d.backend if d else "")),
            model=model if model is not None else (d.model if d else ""),
            forced=bool(d.forced) if d else bool(turn.force),
            route=route if route is not None else default_route,
            outcome=outcome,
            reason=reason if reason is not None else (d.reason if d else ""),
            detail={**detail, **(extra or {})},
        )
        self.app.routing_log.add(entry)
        return entry
