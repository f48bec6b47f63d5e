"""The output pane: every turn of the session, following the stream while the reader is at
the bottom (Textual's anchor: scrolling up releases it, scrolling back to the end restores it).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hybrid_tui.ui.widgets.turn import TurnView

WELCOME = Content.assemble(
    ("Ask for code, a fix, a plan.", "bold $text-primary"),
    "\n\n",
    ("Each prompt goes to the backend that suits it: quick edits and boilerplate to the fast\n"
     "model, analysis and planning to the strong one. The badge above every reply says which\n"
     "answered and why; the routing log below keeps the whole story.\n\n", "$text-muted"),
    ("Enter", "bold $text-accent"), (" send   ", "$text-muted"),
    ("ctrl+j", "bold $text-accent"), (" new line   ", "$text-muted"),
    ("ctrl+b", "bold $text-accent"), (" choose backend   ", "$text-muted"),
    ("esc", "bold $text-accent"), (" stop a reply\n", "$text-muted"),
    ("+ / -", "bold $text-accent"), (" rate a reply   ", "$text-muted"),
    ("ctrl+p", "bold $text-accent"), (" all commands", "$text-muted"),
)


class Conversation(VerticalScroll):
    """A scrolling column of :class:`TurnView` widgets."""

    def compose(self) -> ComposeResult:
        yield Static(WELCOME, id="welcome")


    @property
    def turns(self) -> list[TurnView]:
        return list(self.query(TurnView))

    async def add_turn(self, turn: TurnView) -> TurnView:
        """Mount ``turn`` at the end and jump there (a new prompt re-attaches the reader)."""
        self.query("#welcome").remove()
        await self.mount(turn)
        self.anchor()  # follow the stream from now on (until the reader scrolls up)
        self.scroll_end(animate=False)
        return turn

    async def clear(self) -> None:
        """Remove every turn and show the welcome text again."""
        self.anchor(False)
        await self.remove_children()
        await self.mount(Static(WELCOME, id="welcome"))
