"""The prompt pane: a multi-line input with recall, and the forced-backend control beside it.

Whatever is typed or pasted is sent exactly, but two things never reach the text area as is:

- control characters and bidi overrides (a pasted escape sequence would otherwise be drawn
  to the terminal raw): the area holds a visible stand-in for each (``␛``),
  :attr:`PromptInput.value` maps them back;
- pastes longer than :data:`LARGE_PASTE` characters (a text area re-wraps a long line on
  every key, which at 1 MB takes seconds): the area holds a short chip such as
  ``⟦pasted 1,000,000 characters #1⟧`` and :attr:`PromptInput.value` puts the text back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import TextArea
from textual.widgets.text_area import Edit, EditResult

NEWLINE_KEYS = frozenset({"ctrl+j", "shift+enter", "alt+enter"})
#: pastes longer than this are held aside and shown as a chip
LARGE_PASTE = 20_000
#: keys that rate the last reply when the prompt is empty
RATE_KEYS = {"+": True, "-": False}

# Characters that must not reach the terminal -> one visible stand-in each, and back:
# C0 controls and DEL -> their Control Pictures (ESC -> ␛); C1 controls (0x9b is CSI) and
# the bidi overrides that can disguise text -> private-use characters (drawn as a box).
# Newline and tab are text; CR is a line end. Pasting those private-use characters
# themselves would send the control they stand for: a price for a reversible mapping.
_C0 = [c for c in range(0x20) if chr(c) not in "\n\t"]
_HIDDEN = [*range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_TO_SHOWN = {**{c: 0x2400 + c for c in _C0}, 0x7F: 0x2421,
             **{c: 0xF700 + (c & 0xFF) for c in _HIDDEN}}
_TO_SENT = {shown: raw for raw, shown in _TO_SHOWN.items()}
_CHIP = re.compile(r"⟦pasted [\d,]+ characters #\d+⟧")


def shown_text(text: str) -> str:
    """``text`` as the text area holds it: line ends normalised, control characters shown."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_TO_SHOWN)


def sent_text(text: str) -> str:
    """The inverse of :func:`shown_text` for the control characters."""
    return text.translate(_TO_SENT)


class PromptInput(TextArea):
    """Enter sends; ctrl+j (or shift+enter where reported) inserts a newline; up on the first
    line / down on the last line walk through earlier prompts."""

    @dataclass
    class Submitted(Message):
        """The user pressed Enter. ``text`` is what was typed (possibly blank), exactly:
        pasted text in full, control characters as they came."""

        input: PromptInput
        text: str

        @property
        def control(self) -> PromptInput:
            return self.input

    @dataclass
    class Completions(Message):
        """Tab after an ``@path``: the paths that fit (several: none was chosen yet)."""

        input: PromptInput
        word: str
        options: list[str]

        @property
        def control(self) -> PromptInput:
            return self.input

    @dataclass
    class Rate(Message):
        """``+`` or ``-`` in the empty prompt: rate the last reply."""

        input: PromptInput
        positive: bool

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
        #: chip -> the long pasted text it stands for
        self._pastes: dict[str, str] = {}
        #: set by the app while there is a finished reply to rate with ``+`` / ``-``
        self.can_rate = False
        #: ``@path`` completion: the paths that start with what follows the ``@``
        self.completer: Callable[[str], list[str]] | None = None

    def on_mount(self) -> None:
        # A blinking cursor makes every frame different; headless runs (tests) keep it still.
        self.cursor_blink = not self.app.is_headless

    @property
    def value(self) -> str:
        """What the prompt sends: chips expanded, control characters restored."""
        text = sent_text(self.text)
        if self._pastes:
            text = _CHIP.sub(lambda m: self._pastes.get(m.group(), m.group()), text)
        return text

    def edit(self, edit: Edit) -> EditResult:
        """Every change (typing, paste, ``insert``) goes through here: control characters
        are stored as their visible stand-ins, so none reaches the terminal."""
        edit.text = shown_text(edit.text)
        return super().edit(edit)

    def _chip(self, text: str) -> str:
        chip = f"⟦pasted {len(text):,} characters #{len(self._pastes) + 1}⟧"
        self._pastes[chip] = text
        return chip

    async def _on_paste(self, event: events.Paste) -> None:
        if len(event.text) <= LARGE_PASTE or self.read_only:
            return  # TextArea's own handler runs next (handlers run down the MRO)
        event.stop()
        event.prevent_default()
        if result := self._replace_via_keyboard(self._chip(event.text), *self.selection):
            self.move_cursor(result.end_location)

    def _complete(self) -> bool:
        """Complete the ``@path`` before the cursor as far as the matches agree; False when
        there is none there (Tab then moves the focus as usual)."""
        from hybrid_tui.attachments import common_prefix

        row, column = self.cursor_location
        partial = mention_before(self.document[row], column)
        if partial is None or self.completer is None:
            return False
        options = self.completer(partial)
        fill = common_prefix(options)[len(partial):]
        if fill:
            self.insert(fill)
        self.post_message(self.Completions(self, partial + fill, options))
        return True

    def remember(self, text: str) -> None:
        """Add a sent prompt to the recall list (no immediate duplicates)."""
        if text and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
        self._recall = None
        self._pastes.clear()

    def _show(self, text: str, *, at_end: bool) -> None:
        if len(text) > LARGE_PASTE:
            self._pastes.clear()
            text = self._chip(text)
        self.load_text(shown_text(text))
        self.move_cursor(self.document.end if at_end else (0, len(self.document[0])))

    def _recall_older(self) -> bool:
        if not self.sent:
            return False
        if self._recall is None:
            self._draft = self.value
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
            self.post_message(self.Submitted(self, self.value))
            handled = True
        elif event.character in RATE_KEYS and self.can_rate and not self.text:
            self.post_message(self.Rate(self, RATE_KEYS[event.character]))
            handled = True
        elif key == "tab" and self.completer is not None:
            handled = self._complete()
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


def mention_before(line: str, column: int) -> str | None:
    """The ``@word`` that ends at ``column`` of ``line`` (without the ``@``), or None."""
    start = column
    while start > 0 and not line[start - 1].isspace():
        start -= 1
    word = line[start:column]
    return word[1:] if word.startswith("@") else None


class ForceToggle(Widget, can_focus=False):
    """What the next prompt goes to: routed (Auto), a backend for that prompt only, or a
    pinned one. The chat holds the choice; this shows it. A click does what ctrl+b does."""

    label: reactive[tuple[str | None, str | None]] = reactive((None, None), layout=True)

    def __init__(self, choices: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.choices = ["auto", *[c for c in choices if c != "auto"]]
        self.tooltip = ("What the next prompt goes to: Auto routes it; ctrl+b picks a backend "
                        "for the next prompt, F4 pins it")

    def show(self, force: str | None, source: str | None) -> None:
        self.label = (force, source)

    @property
    def value(self) -> str:
        """``auto`` or the backend (or tier) the next prompt goes to."""
        return self.label[0] or "auto"

    def render(self) -> Content:
        force, source = self.label
        if force is None:
            return Content.assemble(("route ", "$text-muted"), ("Auto", "bold $text-accent"),
                                    ("  ⇄", "$text-muted"))
        if source == "pin":
            return Content.assemble(("pinned ", "$text-muted"), (force, "bold $text-warning"),
                                    ("  F4 unpins", "$text-muted"))
        return Content.assemble(("next → ", "$text-muted"), (force, "bold $text-warning"),
                                (" (once)", "$text-muted"))

    def watch_label(self, label: tuple[str | None, str | None]) -> None:
        self.set_class(label[0] is not None, "-forced")
        self.set_class(label[1] == "pin", "-pinned")

    async def on_click(self) -> None:
        await self.app.run_action("cycle_force")
