"""The prompt pane: a multi-line input with recall, and the forced-backend control beside it."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import TextArea

NEWLINE_KEYS = frozenset({"ctrl+j", "shift+enter", "alt+enter"})


class PromptInput(TextArea):
    """Enter sends; ctrl+j (or shift+enter where reported) inserts a newline; up on the first
    line / down on the last line walk through earlier prompts."""

    @dataclass
    class Submitted(Message):
        """The user pressed Enter. ``text`` is what was typed (possibly blank)."""

        input: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            return self.input

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            compact=True,
            placeholder=Content.styled(
                "Ask something…  (Enter sends, ctrl+j adds a line)", "$text-muted"
            ),
        )
        #: prompts sent, oldest first (``history`` is TextArea's undo history)
        self.sent: list[str] = []
        self._recall: int | None = None
        self._draft = ""

    def on_mount(self) -> None:
        # A blinking cursor makes every frame different; headless runs (tests) keep it still.
        self.cursor_blink = not self.app.is_headless

    def remember(self, text: str) -> None:
        """Add a sent prompt to the recall list (no immediate duplicates)."""
        if text and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
        self._recall = None

    def _show(self, text: str, *, at_end: bool) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end if at_end else (0, len(self.document[0])))

    def _recall_older(self) -> bool:
        if not self.sent:
            return False
        if self._recall is None:
            self._draft = self.text
            self._recall = len(self.sent)
        if self._recall == 0:
            return True
        self._recall -= 1
        self._show(self.sent[self._recall], at_end=False)
        return True

    def _recall_newer(self) -> bool:
        if self._recall is None:
            return False
        self._recall += 1
        if self._recall >= len(self.sent):
            self._recall = None
            self._show(self._draft, at_end=True)
        else:
            self._show(self.sent[self._recall], at_end=True)
        return True

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        handled = False
        if key == "enter":
            self.post_message(self.Submitted(self, self.text))
            handled = True
        elif key in NEWLINE_KEYS:
            start, end = self.selection
            self._replace_via_keyboard("\n", start, end)
            handled = True
        elif key == "up" and self.cursor_at_first_line:
            handled = self._recall_older()
        elif key == "down" and self.cursor_at_last_line:
            handled = self._recall_newer()
        if handled:
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)


class ForceToggle(Widget, can_focus=False):
    """Which backend answers the next prompt: ``auto`` or a backend by name. Click cycles."""

    value: reactive[str] = reactive("auto", layout=True)

    @dataclass
    class Changed(Message):
        toggle: ForceToggle
        value: str

    def __init__(self, choices: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = ["auto", *[c for c in choices if c != "auto"]]
        self.tooltip = "Which backend answers: Auto routes each prompt (ctrl+b cycles)"

    def render(self) -> Content:
        label = "Auto" if self.value == "auto" else self.value
        style = "bold $text-accent" if self.value == "auto" else "bold $text-warning"
        return Content.assemble(("route ", "$text-muted"), (label, style), ("  ⇄", "$text-muted"))

    def watch_value(self, value: str) -> None:
        self.set_class(value != "auto", "-forced")
        self.post_message(self.Changed(self, value))

    def validate_value(self, value: str) -> str:
        return value if value in self.choices else "auto"

    def cycle(self) -> str:
        """Move to the next choice and return it."""
        index = self.choices.index(self.value) if self.value in self.choices else 0
        self.value = self.choices[(index + 1) % len(self.choices)]
        return self.value

    @property
    def force(self) -> str | None:
        """What the router's ``submit(force=...)`` takes: None for auto."""
        return None if self.value == "auto" else self.value

    def on_click(self) -> None:
        self.cycle()
