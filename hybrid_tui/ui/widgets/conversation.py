"""The output pane: the turns of the session, following the stream while the reader is at
the bottom (Textual's anchor: scrolling up releases it, scrolling back to the end restores it).

Only the newest :data:`MOUNTED_TURNS` turns stay mounted: every widget on screen costs each
layout time, and a long session must stay as fast as a short one (issue 5: with all turns
mounted, turn 100 streamed 15x slower than turn 2). Older finished turns become
:class:`~hybrid_tui.ui.past.PastTurn` data, still in the chat history and in exports; a
line at the top says how many and shows them again on a click (or from the command palette).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hybrid_tui.ui.past import PastTurn, past_turn
from hybrid_tui.ui.widgets.turn import TurnView

#: rebuilds a mounted turn from its stored record (``runner.restore_turn`` with the figures)
Restore = Callable[[TurnView, dict[str, Any]], Awaitable[None]]

#: turns kept mounted; older finished ones are taken off the screen
MOUNTED_TURNS = 25
#: how many earlier turns one click brings back
SHOW_MORE = 20
#: clicks on the "earlier turns" line closer together than this count as one
CLICK_SPAN = 0.5
#: a turn in one of these states can leave the screen
FINISHED = frozenset({"done", "cancelled", "failed"})

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


def _drop_line_caches(turn: TurnView) -> None:
    """Empty the rendered-line caches of ``turn`` and its widgets.

    Textual keeps every line a widget has painted (a ``Strip`` with seven caches of its
    own) until the widget changes; for a finished reply that is all of its lines, kept
    for the session. Dropped when a new prompt scrolls a turn away (lines seen again are
    painted again, from the reply's own rendered lines) and before a turn leaves the
    screen: Textual 8.2's ``StylesCache.get_inner_outer`` is an ``lru_cache`` on an
    instance method, so its key holds the cache object of up to 1,024 widgets after they
    are gone. Measured: the session grew ~0.7 MB a turn before, and each full garbage
    collection walked every line of every mounted turn."""
    for widget in (turn, *turn.walk_children()):
        widget._styles_cache.clear()


class EarlierTurns(Static):
    """The line at the top standing for the turns taken off the screen."""

    def show_count(self, count: int) -> None:
        more = min(count, SHOW_MORE)
        self.update(Content.assemble(
            (f"▲ {count} earlier turn{'s' if count != 1 else ''} not shown", "bold $text-muted"),
            (" (kept off the screen so a long session stays fast; they are still in the chat "
             "history and in exports) — ", "$text-muted"),
            (f"click to show {more} more", "bold $text-accent"),
        ))

    _last_click = 0.0

    async def on_click(self, event: events.Click) -> None:
        """One click shows one batch: a double click (or a click that reaches the line
        twice) within :data:`CLICK_SPAN` seconds does not take a second one."""
        event.stop()
        now = time.monotonic()
        if now - self._last_click < CLICK_SPAN:
            return
        self._last_click = now
        conversation = self.parent
        if isinstance(conversation, Conversation):
            await conversation.show_earlier()


class Conversation(VerticalScroll):
    """A scrolling column of :class:`TurnView` widgets (the newest ones) and the
    :class:`PastTurn` records of the rest."""

    def __init__(self, *, id: str | None = None, restore: Restore | None = None) -> None:
        """``restore(turn, record)`` rebuilds a mounted turn from its stored record."""
        super().__init__(id=id)
        self.past: list[PastTurn] = []
        self._restore = restore

    def compose(self) -> ComposeResult:
        yield Static(WELCOME, id="welcome")

    @property
    def turns(self) -> list[TurnView]:
        """The turns on screen, oldest first (earlier ones are in :attr:`past`)."""
        return list(self.query_children(TurnView))

    async def add_turn(self, turn: TurnView) -> TurnView:
        """Mount ``turn`` at the end and jump there (a new prompt re-attaches the reader);
        the oldest finished turns leave the screen if there are too many."""
        self.query_children("#welcome").remove()
        for earlier in self.turns:  # scrolled away: their lines are painted again if seen
            _drop_line_caches(earlier)
        await self.mount(turn)
        await self._retire()
        self.anchor()  # follow the stream from now on (until the reader scrolls up)
        self.scroll_end(animate=False)
        return turn

    async def add_past(self, past: PastTurn) -> None:
        """Keep a turn that is never mounted (resuming a long session)."""
        self.query_children("#welcome").remove()
        self.past.append(past)
        await self._show_count()

    async def _retire(self) -> None:
        turns = self.turns
        leaving: list[TurnView] = []
        for turn in turns[: max(0, len(turns) - MOUNTED_TURNS)]:
            if turn.status not in FINISHED:
                break
            leaving.append(turn)
        if not leaving:
            return
        self.past += [past_turn(turn) for turn in leaving]
        for turn in leaving:
            _drop_line_caches(turn)
        await self.remove_children(leaving)
        await self._show_count()

    async def _show_count(self) -> None:
        found = self.query_children(EarlierTurns)
        if not self.past:
            await found.remove()
            return
        line = found.first() if found else None
        if line is None:
            line = EarlierTurns(id="earlier")
            await self.mount(line, before=0)
        line.show_count(len(self.past))

    async def show_earlier(self, count: int | None = None) -> int:
        """Put the newest ``count`` (:data:`SHOW_MORE`) turns of :attr:`past` back on
        screen, above the others; returns how many. The reader's view stays where it was."""
        if not self.past or self._restore is None:
            return 0
        count = SHOW_MORE if count is None else count
        back, self.past = self.past[-count:], self.past[:-count]
        self.anchor(False)
        first = self.turns[0] if self.turns else None
        height = self.virtual_size.height
        views = [TurnView(p.prompt, force=p.record.get("meta", {}).get("force"),
                          stamp=str(p.record.get("meta", {}).get("stamp", "")),
                          number=p.number) for p in back]
        if first is not None:
            await self.mount_all(views, before=first)
        else:
            await self.mount_all(views)
        for view, past in zip(views, back, strict=True):
            await self._restore(view, past.record)
        await self._show_count()
        self.call_after_refresh(self._keep_view, height)
        return len(back)

    def _keep_view(self, height_before: int) -> None:
        """After turns were added above, scroll down by what they added."""
        self.scroll_to(y=self.scroll_y + self.virtual_size.height - height_before,
                       animate=False)

    async def clear(self) -> None:
        """Remove every turn and show the welcome text again."""
        self.anchor(False)
        self.past.clear()
        await self.remove_children()
        await self.mount(Static(WELCOME, id="welcome"))
