"""What the user can do with the session: export it, copy from it, start it over.

A mixin of :class:`~hybrid_tui.ui.app.HybridApp`, kept apart so the app module stays about
layout, lifecycle and wiring.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.content import Content

from hybrid_tui import locations
from hybrid_tui.ui.export import (
    ReplyRecord,
    TurnRecord,
    last_code_block,
    transcript_markdown,
    write_export,
)
from hybrid_tui.ui.persist import TranscriptWriter
from hybrid_tui.ui.safe import sanitize

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp

    _Base = HybridApp
else:
    _Base = object


class SessionActions(_Base):
    """Exports, copies and "clear conversation" (command palette and ctrl+e)."""

    def _exports_dir(self) -> Path:
        return locations.data_dir() / "exports"

    def action_export_log(self) -> None:
        try:
            path = self.routing_log.export(self._exports_dir(), self.clock())
        except OSError as exc:
            self.notify(f"Export failed: {exc}", severity="error", markup=False)
            return
        n = len(self.routing_log.entries)
        self.notify(f"Routing log ({n} events) exported to {path}", title="Exported",
                    markup=False, timeout=10)

    def action_export_transcript(self) -> None:
        records = [
            TurnRecord(
                number=t.number, stamp=t.stamp, prompt=t.prompt, status=t.status,
                badge=t.decision.reason if t.decision else "", error=t.error or "",
                replies=[ReplyRecord(r.backend, r.model, r.text, r.status) for r in t.replies],
            )
            for t in self.conversation.turns
        ]
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

    def action_copy_reply(self) -> None:
        text = self._last_reply_text()
        if not text:
            self.notify("No reply to copy yet.", markup=False)
            return
        self.copy_to_clipboard(sanitize(text))
        self.notify(f"Copied the last reply ({len(text)} characters).", markup=False)

    def action_copy_code(self) -> None:
        code = last_code_block(self._last_reply_text() or "")
        if code is None:
            self.notify("The last reply has no code block.", markup=False)
            return
        self.copy_to_clipboard(sanitize(code))
        self.notify(f"Copied the last code block ({len(code.splitlines())} lines).",
                    markup=False)

    async def action_clear_conversation(self) -> None:
        """Stop everything, empty the screen and history, start a new stored session."""
        await self.runner.stop_all()
        await self.flush_transcript()
        await self.conversation.clear()
        self.writer, _ = TranscriptWriter.open(self.store, resume=False)
        self._turns = 0
        self.update_hint(Content.styled("Conversation cleared.", "$text-muted"))
