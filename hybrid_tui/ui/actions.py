"""What the user can do with the chats: start, switch, rename and delete them; export, copy
and save from them; rate replies; ask the other model.

A mixin of :class:`~hybrid_tui.ui.app.HybridApp`, kept apart so the app module stays about
layout, lifecycle and wiring. Every action reads the session model, never a widget.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from textual.content import Content

from hybrid_tui import locations
from hybrid_tui.chats import export_chat, list_chats, load_chat, new_chat
from hybrid_tui.errors import HybridError
from hybrid_tui.generation import ChatSettings
from hybrid_tui.safetext import excerpt, sanitize
from hybrid_tui.session import Reply, Session, Turn
from hybrid_tui.ui.export import code_blocks, last_code_block, write_export
from hybrid_tui.ui.guard import guarded

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp

    _Base = HybridApp
else:
    _Base = object


class SessionActions(_Base):
    """Chats, exports, copies, ratings and asking the other model (keys and palette)."""

    def _exports_dir(self) -> Path:
        return locations.data_dir() / "exports"

    # -- exports and copies ------------------------------------------------------------------

    @guarded
    def action_export_log(self) -> None:
        try:
            path = self.routing_log.export(self._exports_dir(), self.clock())
        except OSError as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        n = len(self.routing_log.entries)
        self.notify(f"Routing log ({n} events) exported to {path}", title="Exported",
                    markup=False, timeout=10)

    @guarded
    def action_export_transcript(self) -> None:
        text = export_chat(self.session, "md", now=self.clock())
        try:
            path = write_export(self._exports_dir(), "transcript", ".md", text, self.clock())
        except OSError as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"Transcript exported to {path}", title="Exported", markup=False,
                    timeout=10)

    def _last_reply(self) -> Reply | None:
        for turn in reversed(self.session.turns):
            for reply in reversed(turn.replies):
                if reply.parts:
                    return reply
        return None

    @guarded
    def action_copy_reply(self) -> None:
        reply = self._last_reply()
        if reply is None:
            self.notify("No reply to copy yet.", markup=False)
            return
        text = reply.text
        self.copy_to_clipboard(sanitize(text))
        self.notify(f"Copied the last reply ({len(text)} characters).", markup=False)

    @guarded
    def action_copy_code(self) -> None:
        reply = self._last_reply()
        code = last_code_block(reply.text if reply else "")
        if code is None:
            self.notify("The last reply has no code block.", markup=False)
            return
        self.copy_to_clipboard(sanitize(code))
        self.notify(f"Copied the last code block ({len(code.splitlines())} lines).",
                    markup=False)

    def code_block_choices(self) -> list[tuple[str, str]]:
        """(label, code) for every code block of the last replies, newest first (the
        palette's "Save code block" entries)."""
        out: list[tuple[str, str]] = []
        for turn in reversed(self.session.turns[-5:]):
            for reply in reversed(turn.replies):
                for index, code in enumerate(code_blocks(reply.text), start=1):
                    first = excerpt(code.strip().split("\n", 1)[0] if code.strip() else "", 40)
                    lines = len(code.splitlines())
                    out.append((f"turn {turn.number} · {reply.backend} · block {index} "
                                f"({lines} lines): {first}", code))
        return out

    @guarded
    def action_save_code(self, code: str | None = None) -> None:
        """Ask for a path and write a code block there (never over a file unconfirmed)."""
        from hybrid_tui.ui.screens.save import SaveCodeScreen

        if code is None:
            reply = self._last_reply()
            code = last_code_block(reply.text if reply else "")
        if code is None:
            self.notify("The last reply has no code block.", markup=False)
            return
        self.push_screen(SaveCodeScreen(code, cwd=self.cwd))

    @guarded
    async def action_show_earlier(self) -> None:
        shown = await self.conversation.show_earlier()
        if not shown:
            self.notify("Every turn of this chat is on screen.", markup=False)

    # -- chats -------------------------------------------------------------------------------

    @guarded
    async def action_new_chat(self) -> None:
        """A new, empty chat; the current one stays in the chats list."""
        await self.flush_transcript()
        if self.store is not None and self.writer.store is not None:
            try:
                session = new_chat(self.store)
            except Exception as exc:
                self.notify(f"Could not start a saved chat: {exc}", severity="error",
                            markup=False)
                return
        else:
            session = Session(name=f"chat {len(self._open_chats) + 1}")
        self._open_chats[session.id or id(session)] = session
        await self.show_chat(session)
        self.update_hint(Content.assemble("New chat ", (session.name, "bold")))

    async def action_clear_conversation(self) -> None:
        """Start over: stop this chat's prompts and open a new chat (the old one is kept;
        delete it in the chats list)."""
        await self.runner.stop_all(self.session)
        await self.action_new_chat()

    @guarded
    def action_chats(self) -> None:
        from hybrid_tui.ui.screens.chats import ChatsScreen

        if self.store is None or self.writer.store is None:
            self.notify("Chats are not being saved, so there is no list of them.",
                        severity="warning", markup=False)
            return
        self.push_screen(ChatsScreen(list_chats(self.store), current=self.session.id,
                                     clock=self.clock))

    async def switch_chat(self, session_id: int) -> None:
        """Show the chat ``session_id`` (loaded from the store, or the open one)."""
        await self.flush_transcript()
        session = self._open_chats.get(session_id)
        running = self.runner.running
        if session is None and running is not None and running.session.id == session_id:
            session = running.session
        if session is None:
            assert self.store is not None
            session = load_chat(self.store, session_id)
            self._open_chats[session_id] = session
        if self.store is not None and self.writer.store is not None:
            with suppress(Exception):  # "last used" is a nicety; saving reports its own
                self.store.update_session(session_id, touch=True)
        await self.show_chat(session)
        self.update_hint(Content.assemble("Chat ", (session.name, "bold"),
                                          f" · {len(session.turns)} turns"))

    async def rename_chat(self, session_id: int, name: str) -> str | None:
        """Rename a chat; returns the problem when the name cannot be used."""
        name = " ".join(name.split())
        if not name:
            return "a chat needs a name"
        assert self.store is not None
        try:
            self.store.update_session(session_id, name=name)
        except ValueError as exc:
            return str(exc)
        for session in (self.session, *self._open_chats.values()):
            if session.id == session_id:
                session.name = name
        self.show_title()
        return None

    async def delete_chat(self, session_id: int) -> None:
        """Delete a chat (confirmed by the caller); deleting the one on screen opens a new
        one."""
        assert self.store is not None
        target = self._open_chats.pop(session_id, None)
        if target is None and self.session.id == session_id:
            target = self.session
        if target is not None:
            await self.runner.stop_all(target)
            self.writer.forget(target)  # or its pending saves would make it again
        self.store.delete_session(session_id)
        if self.session.id == session_id:
            await self.action_new_chat()

    # -- per-turn actions --------------------------------------------------------------------

    def last_finished_reply(self) -> tuple[Turn, Reply] | None:
        """The most recent reply that came to its end (the one ``+`` / ``-`` rate)."""
        for turn in reversed(self.session.turns):
            for reply in reversed(turn.replies):
                if reply.done is not None:
                    return turn, reply
        return None

    @guarded
    async def action_rate(self, positive: bool) -> None:
        """Tell the router whether the last reply was good (``+``) or bad (``-``)."""
        found = self.last_finished_reply()
        word = "good" if positive else "bad"
        if found is None:
            self.notify("No finished reply to rate yet.", markup=False)
            return
        turn, reply = found
        if reply.rating is positive:
            self.notify(f"Turn {turn.number}'s reply is already rated {word}.", markup=False)
            return
        if self.service is None:
            self.notify("The router is not running.", severity="warning", markup=False)
            return
        assert reply.done is not None
        reply_id = reply.done.reply_id
        if reply_id is None and self.config.routing.learning_enabled:
            # rate(None) would pick "the last reply any process recorded": not this one
            self.notify("This reply was not recorded (the history store could not be "
                        "written), so it cannot be rated.", title="Not rated",
                        severity="warning", markup=False)
            return
        try:
            message = self.service.rate(positive, reply_id)
        except HybridError as exc:
            self.notify(str(exc), title="Not rated", severity="warning", markup=False)
            return
        reply.rating = positive
        view = self.conversation.view_of(turn)
        reply_view = view.view_of(reply) if view is not None else None
        if reply_view is not None:
            reply_view.show_end()
        self.persist(self.session, turn)
        shown = message if isinstance(message, str) and message.strip() else (
            f"{reply.backend}'s reply recorded as {word}")
        self.notify(f"Turn {turn.number}: {shown}", title=f"Rated {word}", markup=False)

    def other_backend(self, reply: Reply) -> str | None:
        """The backend to ask instead of ``reply``'s: one of the other tier, up first."""
        backends = self.backends
        tiers = {b.name: b.tier for b in backends}
        tier = tiers.get(reply.backend)
        others = [b.name for b in backends if b.name != reply.backend and b.tier != tier]
        others = others or [b.name for b in backends if b.name != reply.backend]
        states = self.service.health.states() if self.service is not None else {}
        up = [n for n in others if (state := states.get(n)) is None or state.status != "down"]
        return (up or others or [None])[0]

    @guarded
    async def action_ask_other(self) -> None:
        """Ask the last finished turn's prompt again on the other tier; both replies stay on
        the turn, and the router learns from it as from a bad rating of the first."""
        found = self.last_finished_reply()
        if found is None:
            self.notify("No finished reply to ask the other model about.", markup=False)
            return
        turn, reply = found
        if turn.status not in ("done", "cancelled", "failed") or self.runner.running_turn() is turn:
            self.notify("That turn is still running.", markup=False)
            return
        other = self.other_backend(reply)
        if other is None:
            self.notify("There is no other backend to ask.", severity="warning", markup=False)
            return
        if reply.rating is None and reply.done is not None and reply.done.reply_id is not None:
            try:
                if self.service is not None:
                    self.service.rate(False, reply.done.reply_id)
                reply.rating = False
            except HybridError:
                pass
        self.runner.enqueue(self.session, turn, other=other)
        self.update_hint(Content.assemble("Asking ", (other, "bold"), f" turn {turn.number}'s "
                                          "prompt too; both replies stay on the turn"))

    @guarded
    def action_toggle_thinking(self) -> None:
        for view in reversed(self.conversation.turns):
            for reply_view in reversed(view.replies):
                if reply_view.toggle_thinking():
                    return
        self.notify("No reply with thinking on screen.", markup=False)

    @guarded
    def action_chat_settings(self) -> None:
        from hybrid_tui.ui.screens.settings import ChatSettingsScreen

        self.push_screen(ChatSettingsScreen(self.session), self._settings_chosen)

    def _settings_chosen(self, settings: ChatSettings | None) -> None:
        if settings is None:
            return
        self.session.settings = settings
        self.save_chat_settings()
        rows = ", ".join(f"{k} {v}" for k, v in settings.describe())
        self.notify(f"Chat settings saved; from the next prompt: {rows}", markup=False)
