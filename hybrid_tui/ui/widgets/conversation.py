"""The output pane: a view of one chat's turns, following the stream while the reader is at
the bottom (Textual's anchor: scrolling up releases it, scrolling back to the end restores it).

Only the newest turns are mounted: those whose text fits :data:`OPEN_BUDGET` characters (at
least one, at most :data:`MOUNTED_TURNS`), when a chat opens and after every new prompt.
Every mounted widget costs each frame's layout while a reply streams, and a long session must
stay as fast as a short one (with every turn mounted, turn 100 streamed 15x slower than turn
2; with 25 turns of 2,000-token replies mounted, each frame's layout walked ~250 widgets and
late turns streamed at 0.6x of the first ones). The others are in the session model, as
every turn is (chat history, exports); a line at the top says how many are not shown and
shows them again on a click (or from the command palette).
"""

from __future__ import annotations

import time

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hybrid_tui.session import FINISHED, Session, Turn
from hybrid_tui.ui.widgets.reply_body import ReplyBody
from hybrid_tui.ui.widgets.turn import Figures, TurnView, same_figures

#: the most turns kept mounted; older finished ones are taken off the screen
MOUNTED_TURNS = 25
#: characters of the newest turns kept mounted (about two screens of long replies)
OPEN_BUDGET = 24_000
#: how many earlier turns one click brings back
SHOW_MORE = 20
#: clicks on the "earlier turns" line closer together than this count as one
CLICK_SPAN = 0.5

WELCOME = Content.assemble(
    ("Ask for code, a fix, a plan.", "bold $text-primary"),
    "\n\n",
    ("Each prompt goes to the backend that suits it: quick edits and boilerplate to the fast "
     "model, analysis and planning to the strong one. The badge above every reply says which "
     "answered and why; the routing log below keeps the whole story.\n\n", "$text-muted"),
    ("Enter", "bold $text-accent"), (" send   ", "$text-muted"),
    ("ctrl+j", "bold $text-accent"), (" new line   ", "$text-muted"),
    ("ctrl+b", "bold $text-accent"), (" choose backend   ", "$text-muted"),
    ("esc", "bold $text-accent"), (" stop a reply\n", "$text-muted"),
    ("+ / -", "bold $text-accent"), (" rate a reply   ", "$text-muted"),
    ("ctrl+p", "bold $text-accent"), (" all commands\n", "$text-muted"),
    ("@strong", "bold $text-accent"), (" / ", "$text-muted"), ("@fast", "bold $text-accent"),
    (" before a prompt forces a tier for it; ", "$text-muted"),
    ("@path", "bold $text-accent"), (" attaches a file", "$text-muted"),
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
        if isinstance(widget, ReplyBody):
            widget.drop_painted()


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


def first_shown(turns: list[Turn], least: int = 1) -> int:
    """Where the mounted turns start: the newest ones whose text fits :data:`OPEN_BUDGET`
    characters (at least ``least``, at most :data:`MOUNTED_TURNS`). Every mounted reply is
    laid out (so rendered) before a chat's first frame, so a chat of long replies opens as
    fast as one of short ones; the rest are one click away."""
    size = 0
    start = len(turns)
    while start > max(0, len(turns) - MOUNTED_TURNS):
        turn = turns[start - 1]
        size += len(turn.prompt) + sum(r.length + len(r.thinking) for r in turn.replies)
        if size > OPEN_BUDGET and start <= len(turns) - least:
            break
        start -= 1
    return start


class Conversation(VerticalScroll):
    """A scrolling column of :class:`TurnView` widgets: the newest turns of one chat."""

    def __init__(self, *, id: str | None = None, figures: Figures = same_figures) -> None:
        super().__init__(id=id)
        #: the reader scrolled up (keys or wheel) and has not come back to the bottom
        self.reading_back = False
        self.session = Session()
        self._figures = figures
        self._views: dict[Turn, TurnView] = {}
        #: turns of the chat not mounted (the oldest ones), as a count from the start
        self._hidden = 0

    def compose(self) -> ComposeResult:
        yield Static(WELCOME, id="welcome")

    def release_anchor(self) -> None:
        self.reading_back = True
        super().release_anchor()

    def anchor(self, anchor: bool = True) -> None:
        if anchor:
            self.reading_back = False
        super().anchor(anchor)

    def on_mouse_scroll_up(self) -> None:
        self.reading_back = True

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.reading_back and new >= self.max_scroll_y:
            self.reading_back = False

    @property
    def turns(self) -> list[TurnView]:
        """The turn views on screen, oldest first."""
        return list(self.query_children(TurnView))

    @property
    def hidden(self) -> int:
        """How many of the chat's turns are not on screen."""
        return self._hidden

    def view_of(self, turn: Turn) -> TurnView | None:
        """The view of ``turn`` while it is on screen (a dict look-up: per-token path)."""
        return self._views.get(turn)

    async def show_session(self, session: Session) -> None:
        """Show ``session``: its newest turns mounted, the rest counted above them."""
        self.anchor(False)
        self.session = session
        self._views.clear()
        await self.remove_children()
        turns = session.turns
        if not turns:
            self._hidden = 0
            await self.mount(Static(WELCOME, id="welcome"))
            return
        self._hidden = first_shown(turns)
        views = [self._make_view(turn) for turn in turns[self._hidden:]]
        await self.mount_all(views)
        await self._show_count()
        self.anchor()
        self.scroll_end(animate=False)

    def _make_view(self, turn: Turn) -> TurnView:
        view = TurnView(turn, figures=self._figures)
        self._views[turn] = view
        return view

    async def add_turn(self, turn: Turn) -> TurnView:
        """Mount the view of a new turn of the shown chat at the end and jump there (a new
        prompt re-attaches the reader); the oldest finished turns leave the screen if there
        are too many."""
        self.query_children("#welcome").remove()
        for earlier in self.turns:  # scrolled away: their lines are painted again if seen
            _drop_line_caches(earlier)
        view = self._make_view(turn)
        await self.mount(view)
        await self._retire()
        self.anchor()  # follow the stream from now on (until the reader scrolls up)
        self.scroll_end(animate=False)
        return view

    async def _retire(self) -> None:
        """Take the oldest finished turns off the screen, as many as :func:`first_shown`
        leaves out of the mounted ones; the turn before the new prompt always stays."""
        views = self.turns
        leaving: list[TurnView] = []
        for view in views[: first_shown([v.turn for v in views], least=2)]:
            if view.turn.status not in FINISHED:
                break
            leaving.append(view)
        if not leaving:
            return
        for view in leaving:
            _drop_line_caches(view)
            self._views.pop(view.turn, None)
        self._hidden += len(leaving)
        await self.remove_children(leaving)
        await self._show_count()

    async def _show_count(self) -> None:
        found = self.query_children(EarlierTurns)
        if not self._hidden:
            await found.remove()
            return
        line = found.first() if found else None
        if line is None:
            line = EarlierTurns(id="earlier")
            await self.mount(line, before=0)
        line.show_count(self._hidden)

    async def show_earlier(self, count: int | None = None) -> int:
        """Put the newest ``count`` (:data:`SHOW_MORE`) hidden turns back on screen, above
        the others; returns how many. The reader's view stays where it was."""
        if not self._hidden:
            return 0
        count = min(self._hidden, SHOW_MORE if count is None else count)
        start = self._hidden - count
        back = self.session.turns[start:self._hidden]
        self.anchor(False)
        first = self.turns[0] if self.turns else None
        height = self.virtual_size.height
        views = [self._make_view(turn) for turn in back]
        if first is not None:
            await self.mount_all(views, before=first)
        else:
            await self.mount_all(views)
        self._hidden = start
        await self._show_count()
        self.call_after_refresh(self._keep_view, height)
        return len(back)

    def _keep_view(self, height_before: int) -> None:
        """After turns were added above, scroll down by what they added."""
        self.scroll_to(y=self.scroll_y + self.virtual_size.height - height_before,
                       animate=False)

    def restyle(self, figures: Figures | None = None) -> None:
        for view in self._views.values():
            view.paint()
            if figures is not None:
                view.restyle(figures)
