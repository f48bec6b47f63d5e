"""Chats in the store: open one by name or the last used, list them, export one.

The TUI, ``--resume``/``--session``, ``hybrid-tui sessions`` and ``hybrid-tui export`` all go
through here, so a chat reads the same everywhere. Nothing here imports textual.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

from hybrid_tui.generation import ChatSettings, settings_from_dict
from hybrid_tui.safetext import sanitize
from hybrid_tui.session import RECORD_SCHEMA, Session, Turn, turn_from_record, turn_to_record
from hybrid_tui.store import Store
from hybrid_tui.units import fmt_confidence, fmt_ms, fmt_tps

ExportFormat = Literal["md", "json"]


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """One line of the chats list."""

    id: int
    name: str
    turns: int
    created: float
    last_used: float
    backends: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "turns": self.turns,
                "created": self.created, "last_used": self.last_used,
                "backends": list(self.backends)}


def list_chats(store: Store) -> list[ChatSummary]:
    """Every chat, most recently used first."""
    return [ChatSummary(s["id"], s["name"], s["turns"], s["created"], s["updated"],
                        tuple(s["backends"])) for s in store.sessions()]


def load_chat(store: Store, session_id: int) -> Session:
    """A stored chat with all its turns (records of every schema version load)."""
    info = store.session_info(session_id)
    if info is None:
        raise KeyError(session_id)
    session = _session_from(info)
    for row in store.load_session(session_id):
        turn = turn_from_record(row.get("meta") or {}, row=row)
        turn.id = int(row["id"])
        if turn.number <= (session.turns[-1].number if session.turns else 0):
            turn.number = session.turns[-1].number + 1 if session.turns else 1
        session.turns.append(turn)
    return session


def _session_from(info: dict[str, Any]) -> Session:
    stored = info.get("settings") or {}
    pin = stored.get("pin")
    return Session(
        name=info["name"], id=info["id"], created=info["created"], updated=info["updated"],
        pin=pin if isinstance(pin, str) and pin else None,
        settings=settings_from_dict(stored.get("generation")) or ChatSettings(),
    )


def new_chat(store: Store, name: str = "") -> Session:
    session_id = store.new_session(name)
    return _session_from(store.session_info(session_id) or {
        "id": session_id, "name": name, "created": time.time(), "updated": time.time()})


def open_chat(store: Store, *, name: str | None = None, resume: bool = False) -> Session:
    """The chat called ``name`` (created when there is none), else the last used one
    (``resume``), else a new chat."""
    if name:
        found = store.session_named(name)
        return load_chat(store, found) if found is not None else new_chat(store, name)
    if resume:
        last = store.last_session_id()
        if last is not None:
            return load_chat(store, last)
    return new_chat(store)


def find_chat(store: Store, name: str) -> Session:
    """The chat called ``name`` (or with that id); KeyError when there is none."""
    found = store.session_named(name)
    if found is None and name.isdigit() and store.session_info(int(name)) is not None:
        found = int(name)
    if found is None:
        raise KeyError(name)
    return load_chat(store, found)


def session_settings(session: Session) -> dict[str, Any]:
    """What the store keeps of a chat besides its turns."""
    return {"pin": session.pin, "generation": dataclasses.asdict(session.settings)}


def save_turn_fields(turn: Turn) -> dict[str, Any]:
    """``Store.save_turn`` keyword arguments for ``turn``: the record in ``meta``, and the
    final answer and who gave it in their own columns (for listings and older readers)."""
    final = turn.replies[-1] if turn.replies else None
    return {
        "prompt": turn.prompt,
        "reply": final.text if final else "",
        "backend": final.backend if final else "",
        "model": final.model if final else "",
        "status": turn.status,
        "meta": turn_to_record(turn),
    }


# -- exports -------------------------------------------------------------------------------


def export_chat(session: Session, fmt: ExportFormat, *, now: float | None = None) -> str:
    """The whole chat as Markdown or JSON (a ``schema`` number and every turn record)."""
    now = time.time() if now is None else now
    if fmt == "json":
        return json.dumps({
            "schema": RECORD_SCHEMA, "name": session.name, "created": session.created,
            "last_used": session.updated, "exported": now,
            "settings": session_settings(session),
            "turns": [turn_to_record(turn) for turn in session.turns],
        }, ensure_ascii=False, indent=2) + "\n"
    return transcript_markdown(session, now=now)


def transcript_markdown(session: Session, *, now: float) -> str:
    """The chat as one Markdown document; sanitised like the screen, since a file someone
    later ``cat``s must not be able to drive their terminal either."""
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(now))
    out = [f"# {sanitize(session.name or 'hybrid-tui transcript')}", "", f"_exported {stamp}_", ""]
    for turn in session.turns:
        out += [f"## {turn.number}. You ({turn.stamp})", ""]
        if turn.force and turn.force_source:
            out += [f"_forced to {sanitize(turn.force)} ({turn.force_source})_", ""]
        for attachment in turn.attachments:
            out += [f"_attached: {sanitize(attachment.path)} ({attachment.size:,} bytes)_", ""]
        out += [sanitize(turn.prompt), ""]
        if turn.decision is not None:
            out += [f"> {sanitize(turn.decision.reason)}", ""]
        for reply in turn.replies:
            if reply.escalation is not None:
                out += [f"**↑ escalated to {sanitize(reply.backend)}: "
                        f"{sanitize(reply.escalation.reason)}**", ""]
            elif reply.asked_other:
                out += ["**asked the other model**", ""]
            out += [f"**{sanitize(reply.backend)}** · {sanitize(reply.model)}", ""]
            if reply.thinking:
                out += ["<details><summary>thinking</summary>", "", sanitize(reply.thinking), "",
                        "</details>", ""]
            out += [sanitize(reply.marked_text), ""]
            if reply.done is not None:
                out += [f"_{sanitize(stats_line(reply))}_", ""]
            elif reply.status not in ("done", ""):
                note = f" {sanitize(reply.end_note)}" if reply.end_note else ""
                out += [f"_({reply.status}{note})_", ""]
        if turn.error:
            out += [f"_error: {sanitize(turn.error)}_", ""]
    return "\n".join(out).rstrip() + "\n"


def stats_line(reply: Any) -> str:
    """The reply's figures in one plain line (exports and the CLI)."""
    done = reply.done
    parts = [f"TTFT {fmt_ms(done.ttft_ms)}", f"{done.tokens} tokens", fmt_tps(done.tokens_per_s)]
    if done.confidence is not None:
        parts.append(f"confidence {fmt_confidence(done.confidence)}")
    parts.append(f"total {fmt_ms(done.total_ms)}")
    if reply.rating is not None:
        parts.append("rated good" if reply.rating else "rated bad")
    return " · ".join(parts)
