"""What the user can do with the session: export it, copy from it, rate its replies, start
it over.

A mixin of :class:`~hybrid_tui.ui.app.HybridApp`, kept apart so the app module stays about
layout, lifecycle and wiring.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING

from textual.content import Content

from hybrid_tui import locations
from hybrid_tui.errors import HybridError
from hybrid_tui.ui.export import (
    last_code_block,
    transcript_markdown,
    write_export,
)
from hybrid_tui.ui.guard import guarded
from hybrid_tui.ui.past import export_record
from hybrid_tui.ui.persist import TranscriptWriter
from hybrid_tui.ui.safe import sanitize

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp
    from hybrid_tui.ui.widgets.turn import ReplyView, TurnView

    _Base = HybridApp
else:
    _Base = object


class SessionActions(_Base):
    """Exports, copies, ratings and "clear conversation" (keys and command palette)."""

    def _exports_dir(self) -> Path:
        return locations.data_dir() / "exports"

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
        conversation = self.conversation
        records = [*(past.export for past in conversation.past),
                   *(export_record(turn) for turn in conversation.turns)]
        text = transcript_markdown(records, title="hybrid-tui transcript", now=self.clock())
        try:
            path = write_export(self._exports_dir(), "transcript", ".md", text, self.clock())
        except OSError as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        self.notify(f"Transcript exported to {path}", title="Exported", markup=False,
                    timeout=10)

    def _last_reply_text(self) -> str | None:
        for turn in reversed(self.conversation.turns):
            for reply in reversed(turn.replies):
                if reply.text:
                    return reply.text
        return None

    @guarded
    def action_copy_reply(self) -> None:
        text = self._last_reply_text()
        if not text:
            self.notify("No reply to copy yet.", markup=False)
            return
        self.copy_to_clipboard(sanitize(text))
        self.notify(f"Copied the last reply ({len(text)} characters).", markup=False)

    @guarded
    def action_copy_code(self) -> None:
        code = last_code_block(self._last_reply_text() or "")
        if code is None:
            self.notify("The last reply has no code block.", markup=False)
            return
        self.copy_to_clipboard(sanitize(code))
        self.notify(f"Copied the last code block ({len(code.splitlines())} lines).",
                    markup=False)

    @guarded
    async def action_show_earlier(self) -> None:
        shown = await self.conversation.show_earlier()
        if not shown:
            self.notify("Every turn of this session is on screen.", markup=False)

    @guarded
    async def action_clear_conversation(self) -> None:
        """Stop everything, empty the screen and history, start a new stored session."""
        await self.runner.stop_all()
        await self.flush_transcript()
        await self.conversation.clear()
        self.writer, _ = TranscriptWriter.open(self.store, resume=False)
        self._turns = 0
        self.prompt_input.can_rate = False
        self.update_hint(Content.styled("Conversation cleared.", "$text-muted"))

    # -- feedback --------------------------------------------------------------------------

    def last_finished_reply(self) -> tuple[TurnView, ReplyView] | None:
        """The most recent reply that came to its end (the one ``+`` / ``-`` rate)."""
        for turn in reversed(self.conversation.turns):
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
        rate = getattr(self.service, "rate", None)
        if rate is None:
            self.notify("This router cannot record feedback.", severity="warning",
                        markup=False)
            return
        reply_id = getattr(reply.done, "reply_id", None)
        if reply_id is None and self.config.routing.learning_enabled:
            # rate(None) would pick "the last reply any process recorded": not this one
            self.notify("This reply was not recorded (the history store could not be "
                        "written), so it cannot be rated.", title="Not rated",
                        severity="warning", markup=False)
            return
        try:
            message = rate(positive, reply_id)
            if inspect.isawaitable(message):
                message = await message
        except HybridError as exc:
            self.notify(str(exc), title="Not rated", severity="warning", markup=False)
            return
        reply.rate(positive)
        self.persist(turn)
        shown = message if isinstance(message, str) and message.strip() else (
            f"{reply.backend}'s reply recorded as {word}")
        self.notify(f"Turn {turn.number}: {shown}", title=f"Rated {word}", markup=False)
