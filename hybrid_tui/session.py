"""The conversation as data: chats (:class:`Session`), their turns and replies, and the one
reducer, :func:`apply`, that folds router events into them.

Everything that needs to know what happened reads this model: the chat history sent with the
next prompt, the TUI's widgets (they render it and keep nothing it lacks), saving and
``--resume``, exports, ``hybrid-tui sessions`` and ``ask``. Nothing here imports textual.

A turn is stored as a versioned record (:func:`turn_to_record`, :data:`RECORD_SCHEMA`);
:func:`turn_from_record` also reads the records that versions before the schema number wrote.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, assert_never, get_args

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
from hybrid_tui.generation import ChatSettings, settings_from_dict
from hybrid_tui.router.messages import user_content
from hybrid_tui.router.signals import DecisionSignals

#: the shape of a stored turn record; records without a ``schema`` key are version 2
RECORD_SCHEMA = 3

TurnStatus = Literal["queued", "routing", "streaming", "done", "cancelled", "failed"]
ReplyStatus = Literal["waiting", "streaming", "done", "cancelled", "failed"]
#: how a turn's backend was forced: a leading ``@name`` in the prompt, the backend control
#: for one prompt, a pinned backend, the command line, or "ask the other model"
ForceSource = Literal["prefix", "next", "pin", "cli", "other"]
#: a turn in one of these states will not change any more
FINISHED: frozenset[str] = frozenset({"done", "cancelled", "failed"})
_TURN_STATUSES = frozenset(get_args(TurnStatus))
_REPLY_STATUSES = frozenset(get_args(ReplyStatus))
_FORCE_SOURCES = frozenset(get_args(ForceSource))


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a prompt (``@path`` in the TUI, ``--context`` in ``ask``)."""

    path: str
    size: int
    text: str

    def as_context(self) -> tuple[str, str]:
        """The router's ``(label, text)`` context pair."""
        return self.path, self.text


@dataclass(eq=False, slots=True)
class Reply:
    """One model reply of a turn: the first, an escalated second one, or the other model's
    answer when the user asked for it. ``eq=False``: replies are identities (views map them)."""

    backend: str
    model: str
    escalated: bool = False
    #: the escalation that started this reply (its confidence, threshold and reason)
    escalation: Escalation | None = None
    #: the user asked the other model for this reply (and the decision that sent it there)
    asked_other: bool = False
    decision: Decision | None = None
    #: the answer text as it arrived, in pieces (joined on demand: ``text``)
    parts: list[str] = field(default_factory=list)
    thinking_parts: list[str] = field(default_factory=list)
    #: characters of answer text so far (``len(text)`` without the join)
    length: int = 0
    #: Token events received
    chunks: int = 0
    thinking_chunks: int = 0
    status: ReplyStatus = "waiting"
    done: Done | None = None
    #: where another backend took over mid-reply: (offset in ``text``, marker sentence)
    marks: list[tuple[int, str]] = field(default_factory=list)
    #: the user's verdict, None before one
    rating: bool | None = None
    #: what the reply waits for before its first text, None once text flows
    wait: Waiting | None = None
    #: why it ended early (``cancelled``/``failed``), shown after the text
    end_note: str = ""

    @property
    def text(self) -> str:
        """The answer as received (failover continuations included, markers not)."""
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""

    @property
    def thinking(self) -> str:
        if len(self.thinking_parts) > 1:
            self.thinking_parts[:] = ["".join(self.thinking_parts)]
        return self.thinking_parts[0] if self.thinking_parts else ""

    @property
    def marked_text(self) -> str:
        """:attr:`text` with each failover marker on a line of its own where it happened
        (exports: the reader sees where the second backend took over)."""
        text, out, at = self.text, [], 0
        for offset, marker in self.marks:
            out += [text[at:offset], f"\n\n{marker}\n\n"]
            at = offset
        return "".join([*out, text[at:]])

    def add_text(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        self.chunks += 1
        if self.status == "waiting":
            self.status = "streaming"
        self.wait = None


@dataclass(eq=False, slots=True)
class Turn:
    """A prompt and everything it produced."""

    number: int
    #: what was sent (a leading ``@backend`` and ``@path`` mentions removed)
    prompt: str
    stamp: str = ""
    #: the backend or tier this prompt was forced to, None when routed
    force: str | None = None
    force_source: ForceSource | None = None
    attachments: tuple[Attachment, ...] = ()
    status: TurnStatus = "queued"
    decision: Decision | None = None
    fallback: Fallback | None = None
    #: every mid-reply takeover, in order
    failovers: list[Failover] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None
    replies: list[Reply] = field(default_factory=list)
    #: the store's row id, None before it is saved
    id: int | None = None

    @property
    def current(self) -> Reply | None:
        """The reply being streamed (the last one)."""
        return self.replies[-1] if self.replies else None

    @property
    def answer(self) -> str:
        """The reply that counts for the conversation: the last one that finished."""
        for reply in reversed(self.replies):
            if reply.done is not None:
                return reply.text
        return ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def failover(self) -> Failover | None:
        return self.failovers[-1] if self.failovers else None

    def user_message(self) -> str:
        """The user message as sent: each attachment fenced and labelled with its path, then
        the prompt (the router builds the same shape from ``context`` pairs)."""
        return user_content(self.prompt, [a.as_context() for a in self.attachments])


@dataclass(eq=False, slots=True)
class Session:
    """One chat: its turns and the choices that belong to it."""

    name: str = ""
    #: the store's row id, None before it is saved
    id: int | None = None
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    turns: list[Turn] = field(default_factory=list)
    #: a backend or tier kept for every prompt until unpinned (None: route)
    pin: str | None = None
    #: a backend or tier for the next prompt only
    next_force: str | None = None
    #: the chat's own generation settings, over each backend's (None values keep those)
    settings: ChatSettings = field(default_factory=ChatSettings)
    #: the turn being answered now (events fold into it)
    active: Turn | None = None

    def new_turn(
        self,
        prompt: str,
        *,
        stamp: str = "",
        force: str | None = None,
        force_source: ForceSource | None = None,
        attachments: tuple[Attachment, ...] = (),
    ) -> Turn:
        """Add a prompt at the end (queued); an explicit ``force`` wins, else the one-prompt
        choice (used up here), else the pin."""
        if force is None and self.next_force is not None:
            force, force_source = self.next_force, "next"
            self.next_force = None
        elif force is None and self.pin is not None:
            force, force_source = self.pin, "pin"
        number = self.turns[-1].number + 1 if self.turns else 1
        turn = Turn(number, prompt, stamp, force, force_source if force else None,
                    attachments)
        self.turns.append(turn)
        self.updated = time.time()
        return turn

    @property
    def in_force(self) -> tuple[str | None, ForceSource | None]:
        """What the next prompt goes to, and why: (None, None) when it is routed."""
        if self.next_force is not None:
            return self.next_force, "next"
        if self.pin is not None:
            return self.pin, "pin"
        return None, None

    def start(self, turn: Turn) -> None:
        """``turn`` is being routed now; the events that follow fold into it."""
        self.active = turn
        turn.status = "routing"

    def history_before(self, turn: Turn) -> list[dict[str, str]]:
        """The chat history for ``turn``: user message and final answer of every earlier
        turn that finished with an answer. Thinking is never part of it."""
        messages: list[dict[str, str]] = []
        for earlier in self.turns:
            if earlier is turn:
                break
            if earlier.status == "done":
                answer = earlier.answer
                if answer:
                    messages.append({"role": "user", "content": earlier.user_message()})
                    messages.append({"role": "assistant", "content": answer})
        return messages

    def backends_used(self) -> list[str]:
        seen: dict[str, None] = {}
        for turn in self.turns:
            for reply in turn.replies:
                if reply.backend and reply.chunks:
                    seen.setdefault(reply.backend, None)
        return list(seen)


# -- the reducer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The user stopped the running prompt: what arrived stays."""

    event: ClassVar[str] = "cancelled"
    note: str = "— stopped with esc"


@dataclass(frozen=True, slots=True)
class AskOther:
    """Ask the same prompt again on another backend; the answer is kept beside the first."""

    event: ClassVar[str] = "ask_other"
    backend: str = ""


SessionEvent = Event | Cancelled | AskOther

ChangeKind = Literal[
    "text", "thinking", "decision", "reply", "wait", "badge", "finished", "ended"
]


@dataclass(frozen=True, slots=True)
class Change:
    """What one event changed, for a view to redraw: ``reply`` is the reply concerned."""

    kind: ChangeKind
    reply: Reply | None = None


def apply(session: Session, event: SessionEvent) -> Change:
    """Fold one event into the session's active turn; returns what changed.

    Token and Thinking events are the hot path (thousands a reply): a list append each."""
    turn = session.active
    if turn is None:
        raise ValueError(f"no prompt is running for a {type(event).__name__} event")
    match event:
        case Token(text=text):
            reply = turn.current or _new_reply(turn, event.backend, "")
            reply.add_text(text)
            return Change("text", reply)
        case Thinking(text=text):
            reply = turn.current or _new_reply(turn, event.backend, "")
            reply.thinking_parts.append(text)
            reply.thinking_chunks += 1
            reply.wait = None
            return Change("thinking", reply)
        case Decision():
            turn.status = "streaming"
            current = turn.current
            if current is not None and current.asked_other and current.decision is None:
                # the second opinion's routing: the turn keeps its first decision
                current.decision = event
                current.backend, current.model = event.backend, event.model
                return Change("badge", current)
            turn.decision = event
            return Change("decision", _new_reply(turn, event.backend, event.model))
        case Waiting():
            reply = turn.current or _new_reply(turn, event.backend, event.model)
            reply.wait = event
            return Change("wait", reply)
        case Fallback():
            turn.fallback = event
            reply = turn.current
            if reply is not None and not reply.parts:
                reply.backend, reply.model = event.to_backend, event.model
            return Change("badge", reply)
        case Failover():
            turn.failovers.append(event)
            reply = turn.current or _new_reply(turn, event.from_backend, "")
            reply.backend, reply.model = event.to_backend, event.model
            reply.marks.append((reply.length, failover_marker(event)))
            return Change("badge", reply)
        case Escalation():
            reply = _new_reply(turn, event.to_backend, event.model, escalated=True)
            reply.escalation = event
            turn.status = "streaming"
            return Change("reply", reply)
        case Done():
            reply = turn.current or _new_reply(turn, event.backend, event.model)
            if not reply.parts and event.text:
                reply.add_text(event.text)
            elif event.text and reply.text == event.text:
                # the event carries the whole answer too: keep one copy of it, not two
                reply.parts[:] = [event.text]
            reply.done, reply.status, reply.wait = event, "done", None
            reply.backend, reply.model = event.backend, event.model or reply.model
            turn.status = "done"
            return Change("finished", reply)
        case Error():
            reply = turn.current
            if reply is not None and event.partial and not reply.parts:
                reply.add_text(event.partial)
            if reply is not None and reply.done is None:
                _end(reply, "failed", f"— {event.message}")
            turn.status, turn.error, turn.error_kind = "failed", event.message, event.kind
            return Change("ended", reply)
        case Cancelled():
            reply = turn.current
            if reply is not None and reply.done is None:
                _end(reply, "cancelled", event.note)
            turn.status = "cancelled"
            return Change("ended", reply)
        case AskOther():
            reply = _new_reply(turn, event.backend, "")
            reply.asked_other = True
            turn.status = "streaming"
            return Change("reply", reply)
        case _:
            assert_never(event)


def _new_reply(turn: Turn, backend: str, model: str, *, escalated: bool = False) -> Reply:
    reply = Reply(backend, model, escalated=escalated)
    turn.replies.append(reply)
    return reply


def _end(reply: Reply, status: ReplyStatus, note: str) -> None:
    reply.status, reply.end_note, reply.wait = status, note, None


def failover_marker(failover: Failover) -> str:
    """``⤷ ollama failed after 60 tokens (connection dropped) — lmstudio continues``."""
    return (f"⤷ {failover.from_backend} failed after {failover.tokens_so_far} tokens "
            f"({failover_cause(failover)}) — {failover.to_backend} continues").replace("\n", " ")


def failover_cause(failover: Failover) -> str:
    """Why the first backend stopped, in a few words: the cause out of the router's
    sentence, else the error kind, else the whole reason."""
    found = _FAILOVER_REASON.search(failover.reason or "")
    if found and found.group("cause").strip():
        return found.group("cause").strip()
    return failover.error_kind or failover.reason or "no reason given"


#: the router's sentence: "<from> failed after <n> tokens (<cause>); <to> continues the reply"
_FAILOVER_REASON = re.compile(r"failed after \d+ tokens \((?P<cause>.*)\);[^;]*$", re.DOTALL)


# -- records -------------------------------------------------------------------------------


def turn_to_record(turn: Turn) -> dict[str, Any]:
    """``turn`` as a JSON-ready record (the store's ``meta``), :data:`RECORD_SCHEMA`."""
    return {
        "schema": RECORD_SCHEMA,
        "number": turn.number,
        "stamp": turn.stamp,
        "prompt": turn.prompt,
        "force": turn.force,
        "force_source": turn.force_source,
        "attachments": [dataclasses.asdict(a) for a in turn.attachments],
        "status": turn.status,
        "decision": _event_dict(turn.decision),
        "fallback": _event_dict(turn.fallback),
        "failovers": [_event_dict(f) for f in turn.failovers],
        "error": turn.error,
        "error_kind": turn.error_kind,
        "replies": [_reply_record(r) for r in turn.replies],
    }


def _reply_record(reply: Reply) -> dict[str, Any]:
    done = dataclasses.replace(reply.done, text="") if reply.done is not None else None
    return {
        "backend": reply.backend,
        "model": reply.model,
        "escalated": reply.escalated,
        "escalation": _event_dict(reply.escalation),
        "asked_other": reply.asked_other,
        "decision": _event_dict(reply.decision),
        "text": reply.text,
        "thinking": reply.thinking,
        "chunks": reply.chunks,
        "status": reply.status,
        "done": _event_dict(done),
        "marks": [[offset, marker] for offset, marker in reply.marks],
        "rating": reply.rating,
        "end_note": reply.end_note,
    }


def _event_dict(event: Any) -> dict[str, Any] | None:
    if event is None:
        return None
    return {k: v for k, v in event_to_dict(event).items() if k != "event"}


def turn_from_record(record: dict[str, Any], *, row: dict[str, Any] | None = None) -> Turn:
    """A turn from its stored record; ``row`` holds the store's columns (prompt, reply,
    backend, model, status), which records of schema 2 need. Lenient: a field of the wrong
    shape is left at its default, never an exception. A turn that was still running when
    its app stopped comes back as failed, saying so."""
    row = row or {}
    if not isinstance(record, dict):
        record = {}
    if record.get("schema") is None:
        record = _upgrade_v2(record, row)
    turn = Turn(
        number=_int(record.get("number"), 0),
        prompt=_str(record.get("prompt", row.get("prompt", ""))),
        stamp=_str(record.get("stamp")),
        force=_str(record.get("force")) or None,
        force_source=_choice(record.get("force_source"), _FORCE_SOURCES),
        attachments=tuple(_attachments(record.get("attachments"))),
        decision=_event(Decision, record.get("decision")),
        fallback=_event(Fallback, record.get("fallback")),
        error=_str(record.get("error")) or None,
        error_kind=_str(record.get("error_kind")) or None,
    )
    turn.failovers = [f for f in (_event(Failover, d) for d in _list(record.get("failovers")))
                      if f is not None]
    turn.replies = [_reply_from(d) for d in _list(record.get("replies")) if isinstance(d, dict)]
    status = record.get("status")
    if status in FINISHED:
        turn.status = status
    else:
        turn.status = "failed"
        turn.error = turn.error or "interrupted: the app stopped before this reply finished"
        for reply in turn.replies:
            if reply.status not in FINISHED:
                _end(reply, "failed", "— interrupted: the app stopped before this reply "
                                      "finished")
    return turn


def _reply_from(data: dict[str, Any]) -> Reply:
    reply = Reply(
        backend=_str(data.get("backend")),
        model=_str(data.get("model")),
        escalated=bool(data.get("escalated")),
        escalation=_event(Escalation, data.get("escalation")),
        asked_other=bool(data.get("asked_other")),
        decision=_event(Decision, data.get("decision")),
        rating=data.get("rating") if isinstance(data.get("rating"), bool) else None,
        end_note=_str(data.get("end_note")),
    )
    text = _str(data.get("text"))
    if text:
        reply.parts, reply.length = [text], len(text)
    thinking = _str(data.get("thinking"))
    if thinking:
        reply.thinking_parts = [thinking]
    reply.chunks = _int(data.get("chunks"), 1 if text else 0)
    reply.status = _choice(data.get("status"), _REPLY_STATUSES) or "failed"
    done = _event(Done, data.get("done"))
    reply.done = dataclasses.replace(done, text=text) if done is not None else None
    for mark in _list(data.get("marks")):
        try:
            offset, marker = int(mark[0]), str(mark[1])
        except (TypeError, ValueError, IndexError):
            continue
        if 0 <= offset <= reply.length:
            reply.marks.append((offset, marker))
    return reply


def _upgrade_v2(meta: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A schema-2 record (the ``meta`` column then, with the final answer in the ``reply``
    column and one ``failover``) in the current shape."""
    replies = [dict(r) for r in _list(meta.get("replies")) if isinstance(r, dict)]
    if not replies and (row.get("reply") or row.get("backend")):
        replies = [{"backend": row.get("backend", ""), "model": row.get("model", ""),
                    "status": row.get("status", ""), "done": None}]
    for index, reply in enumerate(replies):
        if index == len(replies) - 1:
            reply["text"] = row.get("reply", "")
        reply.setdefault("chunks", 1 if reply.get("text") else 0)
        status = reply.get("status") or row.get("status", "")
        reply["status"] = status if status in FINISHED else "failed"
    failover = meta.get("failover")
    return {
        **meta,
        "schema": 2,
        "prompt": row.get("prompt", ""),
        "status": row.get("status", ""),
        "failovers": [failover] if isinstance(failover, dict) else [],
        "replies": replies,
    }


def _event(cls: type[Any], data: Any) -> Any:
    """``cls(**data)`` with unknown keys dropped and JSON lists back to tuples; None when the
    data does not fit."""
    if not isinstance(data, dict):
        return None
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {k: tuple(v) if isinstance(v, list) and k in _TUPLE_FIELDS else v
              for k, v in data.items() if k in names}
    if "settings" in kwargs:  # Decision/Done: the generation settings, typed again
        kwargs["settings"] = settings_from_dict(kwargs["settings"])
    if cls is Decision:  # the signals are kept in their JSON shape
        kwargs["signals"] = DecisionSignals.from_dict(kwargs.get("signals"))
    try:
        return cls(**kwargs)
    except TypeError:
        return None


_TUPLE_FIELDS = frozenset({"confidence_notes", "warnings"})


def _attachments(data: Any) -> list[Attachment]:
    out = []
    for item in _list(data):
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            out.append(Attachment(item["path"], _int(item.get("size"), 0),
                                  _str(item.get("text"))))
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _choice(value: Any, allowed: frozenset[str]) -> Any:
    return value if value in allowed else None


def event_from_dict(data: dict[str, Any]) -> Event | None:
    """An event back from ``event_to_dict`` (``ask --json`` lines); None for an unknown or
    malformed one."""
    kinds: dict[str, type[Any]] = {
        cls.event: cls
        for cls in (Decision, Token, Thinking, Fallback, Failover, Waiting, Escalation, Done,
                    Error)
    }
    cls = kinds.get(str(data.get("event")))
    return _event(cls, {k: v for k, v in data.items() if k != "event"}) if cls else None
