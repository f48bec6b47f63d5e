"""Runs prompts through the router service, one at a time, and turns events into view changes.

Data flows one way: ``RouterService.submit`` events -> :class:`TurnView` / routing log /
transcript. Each prompt runs in its own Textual worker (group ``prompt``, exclusive); prompts
sent meanwhile wait in a FIFO queue, shown as queued. Cancelling the worker (Esc) raises
``CancelledError`` inside ``submit``'s stream, whose cleanup closes the HTTP response; the
``aclosing`` wrapper covers the case where the worker was suspended in our own code instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import aclosing, suppress
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.worker import Worker

from hybrid_tui.errors import HybridError
from hybrid_tui.events import (
    Decision,
    Done,
    Error,
    Escalation,
    Failover,
    Fallback,
    Token,
    Waiting,
    event_to_dict,
)
from hybrid_tui.ui.safe import excerpt, sanitize
from hybrid_tui.ui.widgets.routing_log import LogEntry
from hybrid_tui.ui.widgets.turn import ReplyView, TurnView

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp

log = logging.getLogger(__name__)

#: the longest the token loop holds the event loop before letting a frame through
YIELD_EVERY = 1 / 60


def _detail(event: Any) -> dict[str, Any]:
    """The event as a dict for the log's detail view, minus the (possibly huge) reply text."""
    try:
        data = event_to_dict(event)
    except TypeError:
        data = {"event": getattr(event, "event", type(event).__name__), "repr": repr(event)}
    data.pop("text", None)
    data.pop("partial", None)
    return data


class TurnRunner:
    """The prompt queue and the one running prompt."""

    def __init__(self, app: HybridApp) -> None:
        self.app = app
        self.queue: deque[TurnView] = deque()
        self.running: TurnView | None = None
        self.worker: Worker[None] | None = None
        self._yielded = 0.0

    # -- queue -----------------------------------------------------------------------------

    def enqueue(self, turn: TurnView) -> None:
        self.queue.append(turn)
        self.pump()

    def pump(self) -> None:
        """Start the next queued prompt if none is running."""
        if self.running is None and self.queue:
            turn = self.queue.popleft()
            self.running = turn
            self.worker = self.app.run_worker(
                self._run(turn), name=f"prompt-{turn.number}", group="prompt",
                exclusive=True, exit_on_error=False,
            )
        self.app.update_hint()

    def cancel(self) -> bool:
        """Stop the running prompt (Esc). Returns False when nothing was running."""
        if self.worker is None or self.worker.is_finished:
            return False
        self.worker.cancel()
        return True

    async def stop_all(self) -> None:
        """Drop the queue and stop the running prompt, waiting until it has wound down."""
        self.queue.clear()
        worker = self.worker
        if worker is not None and not worker.is_finished:
            worker.cancel()
            with suppress(Exception):
                await worker.wait()

    def drop_queue(self) -> list[TurnView]:
        dropped = list(self.queue)
        self.queue.clear()
        return dropped

    @property
    def busy(self) -> bool:
        return self.running is not None or bool(self.queue)

    # -- one prompt ------------------------------------------------------------------------

    def history_before(self, turn: TurnView) -> list[dict[str, str]]:
        """Chat history: prompt and final answer of every finished turn before ``turn``."""
        conversation = self.app.conversation
        messages: list[dict[str, str]] = []
        # turns no longer on screen come first; both kinds have prompt, status and answer
        for earlier in (*conversation.past, *conversation.turns):
            if earlier is turn:
                break
            if earlier.status == "done" and earlier.answer:
                messages.append({"role": "user", "content": earlier.prompt})
                messages.append({"role": "assistant", "content": earlier.answer})
        return messages

    async def _run(self, turn: TurnView) -> None:
        app = self.app
        app.gc_pause.hold()  # no full collection pauses the stream (gcpause.py)
        try:
            turn.routing()
            if app.service is None:
                raise HybridError("the router service is not running")
            stream: AsyncIterator[Any] = app.service.submit(
                turn.prompt, history=self.history_before(turn), force=turn.force
            )
            async with aclosing(stream):  # type: ignore[type-var]
                async for event in stream:
                    await self.apply(turn, event)
            if turn.status not in ("done", "failed"):
                await self.fail(turn, "the reply ended without finishing", kind="stream")
        except asyncio.CancelledError:
            await self.end_reply(turn, "cancelled", "— stopped with esc")
            turn.status = "cancelled"
            self.add_log(turn, "cancelled", outcome=self._tokens_text(turn) + " kept")
            raise
        except HybridError as exc:
            await self.fail(turn, str(exc), kind=getattr(exc, "kind", "error"))
        except Exception as exc:  # a bug below us must not take the app down
            log.exception("prompt %s failed", turn.number)
            await self.fail(turn, f"unexpected {type(exc).__name__}: {exc}", kind="bug")
        finally:
            app.gc_pause.release()
            app.persist(turn)
            self.running = None
            self.worker = None
            app.call_later(self.pump)
            app.call_later(app.flush_transcript)

    def _tokens_text(self, turn: TurnView) -> str:
        reply = turn.current
        return f"{reply.chunks} tokens" if reply is not None else "no tokens"

    async def end_reply(self, turn: TurnView, status: str, message: str) -> None:
        reply = turn.current
        if reply is None:
            reply = await turn.start_reply("", "")
        if reply.done is None:
            await reply.end(status, message)

    async def fail(self, turn: TurnView, message: str, *, kind: str = "error") -> None:
        """The turn failed: partial text stays, a notification and a log line say why."""
        await self.end_reply(turn, "failed", f"— {sanitize(message)}")
        turn.set_error(message)
        turn.status = "failed"
        self.add_log(turn, "error", outcome=excerpt(message, 80), extra={"kind": kind})
        self.app.notify(excerpt(message, 200), title="Reply failed", severity="error",
                        markup=False)

    # -- events ----------------------------------------------------------------------------

    async def apply(self, turn: TurnView, event: Any) -> None:
        """One router event -> the view, the routing log and the transcript."""
        app = self.app
        if isinstance(event, Token):
            reply = turn.current or await turn.start_reply(event.backend, "")
            reply.append(event.text)
            app.persist(turn)
            if reply.wait_state is not None:  # the first token ends a wait
                reply.stop_waiting()
                app.update_hint()
            # A fast server can have the whole reply buffered: without a yield now and then
            # this loop would hold the event loop and no frame would be drawn until the end.
            now = time.monotonic()
            if now - self._yielded > YIELD_EVERY:
                self._yielded = now
                await asyncio.sleep(0)
            return
        elif isinstance(event, Decision):
            turn.set_decision(event)
            await turn.start_reply(event.backend, event.model)
            dropped = event.history_dropped
            self.add_log(turn, "decision", event, outcome=(
                # to fit the model's context window (the decision's detail says how it was
                # worked out: signals["context"])
                f"{dropped} old turn{'s' if dropped != 1 else ''} left out"
                if dropped else ""))
        elif isinstance(event, Waiting):
            await self._waiting(turn, event)
        elif isinstance(event, Fallback):
            turn.set_fallback(event)
            self.add_log(turn, "fallback", event, backend=event.to_backend, model=event.model,
                         route=f"fallback {event.from_backend} → {event.to_backend}",
                         reason=event.reason)
        elif isinstance(event, Done):
            await self._done(turn, event)
        elif isinstance(event, Escalation):
            note = Content.assemble(
                ("↑ escalated", "bold $text-secondary"),
                f" to {sanitize(event.to_backend)} · {sanitize(event.model)}",
                (f"  confidence {event.confidence:.2f} < {event.threshold:.2f} — "
                 f"{sanitize(event.reason)}", "$text-muted"),
            )
            await turn.start_reply(event.to_backend, event.model, note=note, escalated=True)
            self.add_log(turn, "escalation", event, backend=event.to_backend, model=event.model,
                         route=f"escalated {event.from_backend} → {event.to_backend}",
                         outcome=f"confidence {event.confidence:.2f} < {event.threshold:.2f}",
                         reason=event.reason)
        elif isinstance(event, Failover):
            turn.set_failover(event)
            route = f"failover {event.from_backend} → {event.to_backend}"
            self.add_log(turn, "failover", event, backend=event.to_backend, model=event.model,
                         route=route, outcome=f"{event.tokens_so_far} tokens kept",
                         reason=event.reason)
            app.update_hint()
        elif isinstance(event, Error):
            reply = turn.current
            if reply is not None and event.partial and not reply.text:
                reply.append(event.partial)
            await self.fail(turn, event.message, kind=event.kind)
        else:
            await self._other(turn, event)
        app.persist(turn)

    async def _waiting(self, turn: TurnView, event: Waiting) -> None:
        """A wait before text: said in the reply's status line and the hint line; a cold
        model load also gets one routing-log row (queues and slow first tokens do not)."""
        reply = turn.current or await turn.start_reply(event.backend, event.model)
        reply.waiting(event.state, event.elapsed_s)
        self.app.update_hint()
        if event.state == "loading model" and not turn.logged_loading:
            turn.logged_loading = True
            backend = self.app.config.backends.get(event.backend)
            limit = f" (waiting up to {backend.timeout:g} s)" if backend is not None else ""
            self.add_log(turn, "loading", event, backend=event.backend, model=event.model,
                         outcome="cold start",
                         reason=f"{event.model or 'the model'} is not in memory on "
                         f"{event.backend}; it is loading{limit}")

    async def _done(self, turn: TurnView, done: Done) -> None:
        reply = turn.current or await turn.start_reply(done.backend, done.model)
        await reply.finish(done, self.app.figures)
        turn.status = "done"
        self.app.prompt_input.can_rate = True
        rate = self.app.figures("tokens_per_s", done.tokens_per_s)
        parts = [f"{rate:.{1 if rate < 100 else 0}f} tok/s" if rate is not None
                 else f"{done.tokens} tok"]
        if done.confidence is not None:
            parts.append(f"conf {done.confidence:.2f}")
        outcome = " · ".join(parts)
        route = "escalated" if done.escalated else None
        if getattr(done, "failover_from", None):
            route = f"failover {done.failover_from} → {done.backend}"
        self.add_log(turn, "done", done, backend=done.backend, model=done.model, outcome=outcome,
                     route=route)

    async def _other(self, turn: TurnView, event: Any) -> None:
        """Events added after this view was written: kept in the log, never lost."""
        name = str(getattr(event, "event", type(event).__name__))
        self.add_log(turn, name, event, reason=str(getattr(event, "reason", "") or ""))

    # -- log -------------------------------------------------------------------------------

    def add_log(
        self,
        turn: TurnView,
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
        """One routing-log row for ``turn``, filled from its decision where not given."""
        d = turn.decision
        fallback = turn.fallback
        default_route = (
            f"fallback {fallback.from_backend} → {fallback.to_backend}" if fallback else ""
        )
        if turn.failover is not None:
            default_route = f"failover {turn.failover.from_backend} → {turn.failover.to_backend}"
        detail = _detail(event) if event is not None else {}
        if name != "decision" and d is not None:
            detail = {**detail, "decision": {"id": getattr(d, "id", None),
                                              "backend": d.backend, "model": d.model,
                                              "forced": d.forced, "reason": d.reason,
                                              "signals": d.signals}}
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


def turn_record(turn: TurnView) -> dict[str, Any]:
    """``Store.save_turn`` fields for ``turn``: final answer in ``reply``, the rest in meta."""
    replies = turn.replies
    final = replies[-1] if replies else None
    meta: dict[str, Any] = {
        "number": turn.number,
        "stamp": turn.stamp,
        "force": turn.force,
        "decision": asdict(turn.decision) if turn.decision else None,
        "fallback": asdict(turn.fallback) if turn.fallback else None,
        "failover": asdict(turn.failover) if turn.failover else None,
        "error": turn.error,
        "replies": [
            {
                "backend": r.backend,
                "model": r.model,
                "status": r.status,
                "escalated": r.escalated,
                "done": asdict(replace(r.done, text="")) if r.done else None,
                "marks": [list(mark) for mark in r.marks],
                "rating": r.rating,
                # the last reply's text is the ``reply`` column; earlier ones are kept here
                "text": r.text if r is not final else None,
            }
            for r in replies
        ],
    }
    return {
        "prompt": turn.prompt,
        "reply": final.text if final else "",
        "backend": final.backend if final else "",
        "model": final.model if final else "",
        "status": turn.status,
        "meta": meta,
    }


async def restore_turn(turn: TurnView, record: dict[str, Any], figures: Any) -> None:
    """Rebuild a mounted ``turn`` from a stored record (``--resume``)."""
    meta = record.get("meta") or {}
    try:
        if meta.get("decision"):
            turn.set_decision(Decision(**meta["decision"]))
        if meta.get("fallback"):
            turn.set_fallback(Fallback(**meta["fallback"]))
        if meta.get("failover"):
            turn.failover = Failover(**meta["failover"])
    except TypeError:
        pass  # an older record shape: the badge stays plain
    replies = meta.get("replies") or [
        {"backend": record.get("backend", ""), "model": record.get("model", ""),
         "status": record.get("status", ""), "done": None, "text": None}
    ]
    for index, data in enumerate(replies):
        last = index == len(replies) - 1
        text = record.get("reply", "") if last else (data.get("text") or "")
        reply: ReplyView = await turn.start_reply(
            data.get("backend", ""), data.get("model", ""), escalated=bool(data.get("escalated"))
        )
        _append_marked(reply, text, data.get("marks"))
        if isinstance(data.get("rating"), bool):
            reply.rating = data["rating"]
        done = data.get("done")
        if done:
            try:
                await reply.finish(Done(**{**done, "text": text}), figures)
                continue
            except TypeError:
                pass
        status = data.get("status") or record.get("status", "")
        if status in ("cancelled", "failed", "done"):
            await reply.end(status, "")
        else:
            await reply.end("failed", "— interrupted: the app stopped before this reply finished")
    status = record.get("status", "")
    turn.error = meta.get("error")
    turn.status = status if status in ("done", "cancelled", "failed") else "failed"


def _append_marked(reply: ReplyView, text: str, marks: Any) -> None:
    """Put ``text`` back into ``reply`` with its failover markers where they were."""
    at = 0
    for mark in marks if isinstance(marks, list) else []:
        try:
            offset, marker = int(mark[0]), str(mark[1])
        except (TypeError, ValueError, IndexError):
            continue
        if at <= offset <= len(text):
            reply.append(text[at:offset])
            reply.mark(marker)
            at = offset
    reply.append(text[at:])
