"""The full story of one routing-log row: every field, and the decision's signals."""

from __future__ import annotations

import json

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from hybrid_tui.ui.safe import sanitize
from hybrid_tui.ui.widgets.routing_log import LogEntry, describe


class DecisionScreen(ModalScreen[None]):
    """Modal detail view of a :class:`LogEntry`. Esc, q or Enter closes it."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close"),
    ]

    def __init__(self, entry: LogEntry) -> None:
        super().__init__(classes="detail-screen")
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        detail = json.dumps(entry.detail, indent=2, sort_keys=True, default=str,
                            ensure_ascii=False)
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        with Vertical(id="detail-box") as box:
            box.border_title = f"{entry.event} · turn {entry.turn}"
            box.border_subtitle = "esc to close"
            with VerticalScroll():
                yield Static(Content(describe(entry)), id="detail-fields", markup=False)
                yield Static(Content.styled("signals and event data", "bold $text-primary"),
                             classes="detail-heading")
                yield Static(
                    Syntax(sanitize(detail), "json", theme=theme, background_color="default",
                           word_wrap=True),
                    id="detail-json",
                )
