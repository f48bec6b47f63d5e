"""A chat's settings (F3): its system prompt, sent first with every prompt of the chat."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from hybrid_tui.session import Session


class ChatSettingsScreen(ModalScreen[str | None]):
    """Edits the chat's system prompt; ctrl+s keeps it, esc leaves it as it was."""

    BINDINGS = [
        Binding("ctrl+s", "keep", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        with Vertical(id="settings-box") as box:
            box.border_title = f"Settings of {self.session.name}"
            box.border_subtitle = "ctrl+s save · esc cancel"
            yield Static(Content.styled(
                "System prompt (empty: the app's default). Sent first with every prompt of "
                "this chat:", "$text-muted"))
            yield TextArea(self.session.system_prompt or "", id="settings-system",
                           soft_wrap=True, show_line_numbers=False)

    def on_mount(self) -> None:
        self.query_one("#settings-system", TextArea).focus()

    def action_keep(self) -> None:
        self.dismiss(self.query_one("#settings-system", TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
