"""The chats list (F2): every chat with its turns and when it was last used; type to search,
Enter opens, ``r`` renames, ``d`` deletes (after a yes), ``n`` starts a new one."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from hybrid_tui.chats import ChatSummary
from hybrid_tui.safetext import sanitize


def when(ts: float, now: float) -> str:
    """A short "last used": ``14:05`` today, else ``Mar 12``."""
    if time.strftime("%Y-%m-%d", time.localtime(ts)) == time.strftime(
            "%Y-%m-%d", time.localtime(now)):
        return time.strftime("%H:%M", time.localtime(ts))
    return time.strftime("%b %d", time.localtime(ts))


def chat_option(chat: ChatSummary, *, current: bool, now: float) -> Option:
    used = ", ".join(chat.backends) or "no replies yet"
    label = Content.assemble(
        ("● " if current else "  ", "$text-accent"),
        (sanitize(chat.name), "bold"),
        (f"   {chat.turns} turn{'s' if chat.turns != 1 else ''} · {when(chat.last_used, now)}"
         f" · {sanitize(used)}", "$text-muted"),
    )
    return Option(label, id=str(chat.id))


class ChatsScreen(ModalScreen[None]):
    """Switch, search, rename and delete chats."""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+r", "rename", "Rename", priority=True),
        Binding("ctrl+d", "delete", "Delete", priority=True),
        Binding("ctrl+n", "new", "New chat", priority=True),
    ]

    def __init__(self, chats: list[ChatSummary], *, current: int | None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.chats = chats
        self.current = current
        self.clock = clock
        #: "rename" or "delete" while the line under the list asks for it
        self.mode: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="chats-box") as box:
            box.border_title = "Chats"
            box.border_subtitle = "Enter open · ctrl+r rename · ctrl+d delete · ctrl+n new · esc"
            yield Input(placeholder="search chats…", id="chats-search")
            yield OptionList(id="chats-list")
            with Horizontal(id="chats-ask"):
                yield Static("", id="chats-question")
                yield Input(id="chats-answer")

    def on_mount(self) -> None:
        self.query_one("#chats-ask").display = False
        self._fill("")
        self.query_one("#chats-search", Input).focus()

    @property
    def listing(self) -> OptionList:
        return self.query_one("#chats-list", OptionList)

    def _fill(self, query: str) -> None:
        words = query.lower().split()
        now = self.clock()
        shown = [c for c in self.chats if all(w in c.name.lower() for w in words)]
        listing = self.listing
        listing.clear_options()
        listing.add_options([chat_option(c, current=c.id == self.current, now=now)
                             for c in shown])
        if shown:
            listing.highlighted = 0

    @on(Input.Changed, "#chats-search")
    def _search(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#chats-search")
    async def _open_highlighted(self) -> None:
        await self._open(self.selected)

    @on(OptionList.OptionSelected, "#chats-list")
    async def _selected(self, event: OptionList.OptionSelected) -> None:
        await self._open(self._chat(event.option.id))

    def _chat(self, option_id: str | None) -> ChatSummary | None:
        return next((c for c in self.chats if str(c.id) == option_id), None)

    @property
    def selected(self) -> ChatSummary | None:
        listing = self.listing
        if listing.highlighted is None or not listing.option_count:
            return None
        return self._chat(listing.get_option_at_index(listing.highlighted).id)

    async def _open(self, chat: ChatSummary | None) -> None:
        if chat is None:
            return
        self.dismiss()
        await self.app.switch_chat(chat.id)  # type: ignore[attr-defined]

    def _ask(self, mode: str, question: str, answer: str = "") -> None:
        self.mode = mode
        self.query_one("#chats-question", Static).update(question)
        ask = self.query_one("#chats-ask")
        ask.display = True
        field = self.query_one("#chats-answer", Input)
        field.value = answer
        field.focus()

    def action_rename(self) -> None:
        chat = self.selected
        if chat is not None:
            self._ask("rename", f"New name for {chat.name}: ", chat.name)

    def action_delete(self) -> None:
        chat = self.selected
        if chat is not None:
            self._ask("delete", f"Delete {chat.name} and its {chat.turns} turns? Type yes: ")

    async def action_new(self) -> None:
        self.dismiss()
        await self.app.run_action("new_chat")

    def action_close(self) -> None:
        if self.mode is not None:
            self._end_question()
            return
        self.dismiss()

    def _end_question(self) -> None:
        self.mode = None
        self.query_one("#chats-ask").display = False
        self.query_one("#chats-search", Input).focus()

    @on(Input.Submitted, "#chats-answer")
    async def _answered(self, event: Input.Submitted) -> None:
        event.stop()
        chat, mode = self.selected, self.mode
        if chat is None or mode is None:
            self._end_question()
            return
        app = self.app
        if mode == "rename":
            problem = await app.rename_chat(chat.id, event.value)  # type: ignore[attr-defined]
            if problem:
                self.query_one("#chats-question", Static).update(
                    Content.styled(f"{problem}. New name: ", "$text-error"))
                return
            self.chats = [ChatSummary(c.id, " ".join(event.value.split()), c.turns, c.created,
                                      c.last_used, c.backends) if c.id == chat.id else c
                          for c in self.chats]
        elif mode == "delete":
            if event.value.strip().lower() not in ("y", "yes"):
                self._end_question()
                return
            await app.delete_chat(chat.id)  # type: ignore[attr-defined]
            self.chats = [c for c in self.chats if c.id != chat.id]
            self.current = app.session.id  # type: ignore[attr-defined]
        self._end_question()
        self._fill(self.query_one("#chats-search", Input).value)
