"""A chat's settings (F3): its system prompt, generation options and thinking, over each
backend's own from the config. An empty field keeps the backend's value; a value that does
not check is named in one line and nothing is kept until it is fixed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static, TextArea

from hybrid_tui.generation import (
    OPTION_KEYS,
    THINK_LEVELS,
    ChatSettings,
    OptionError,
    options_from,
)
from hybrid_tui.session import Session

#: what each option field says about itself
HINTS = {
    "temperature": "0–2 (low: focused)",
    "top_p": "0–1",
    "max_tokens": "reply length cap",
    "seed": "repeatable replies",
    "stop": "comma-separated",
    "num_ctx": "Ollama: context window",
    "keep_alive": "Ollama: e.g. 5m",
}
THINK_CHOICES = [("server default", "default"), ("on", "on"), ("off", "off"),
                 *((level, level) for level in THINK_LEVELS)]


def shown(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ", ".join(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def think_value(choice: object) -> bool | str | None:
    return {"default": None, "on": True, "off": False}.get(str(choice), str(choice))


class ChatSettingsScreen(ModalScreen[ChatSettings | None]):
    """Edits the chat's settings; ctrl+s keeps them, esc leaves them as they were."""

    BINDINGS = [
        Binding("ctrl+s", "keep", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        settings = self.session.settings
        values = settings.options.values()
        think = settings.think
        current = "default" if think is None else ("on" if think is True else
                                                   "off" if think is False else str(think))
        with Vertical(id="settings-box") as box:
            box.border_title = f"Settings of {self.session.name}"
            box.border_subtitle = "ctrl+s save · esc cancel"
            yield Static(Content.styled(
                "System prompt (empty: the backend's). Sent first with every prompt of this "
                "chat:", "$text-muted"))
            yield TextArea(settings.system_prompt or "", id="settings-system",
                           soft_wrap=True, show_line_numbers=False)
            yield Static(Content.styled("Options (empty: the backend's from the config):",
                                        "$text-muted"))
            with Grid(id="settings-options"):
                for key in OPTION_KEYS:
                    yield Static(key, classes="settings-label")
                    yield Input(shown(values.get(key)), placeholder=HINTS.get(key, ""),
                                id=f"option-{key}", classes="settings-input")
                yield Static("think", classes="settings-label")
                yield Select(THINK_CHOICES, value=current, allow_blank=False,
                             id="settings-think")
            yield Static("", id="settings-problem")

    def on_mount(self) -> None:
        self.query_one("#settings-system", TextArea).focus()

    def read(self) -> ChatSettings:
        """The settings as filled in; OptionError names the first bad field."""
        raw: dict[str, object] = {}
        for key in OPTION_KEYS:
            text = self.query_one(f"#option-{key}", Input).value.strip()
            if not text:
                continue
            if key == "stop":
                raw[key] = [part.strip() for part in text.split(",") if part.strip()]
            elif key in ("max_tokens", "seed", "num_ctx"):
                try:
                    raw[key] = int(text)
                except ValueError:
                    raise OptionError(key, f"expected a whole number, got {text!r}") from None
            elif key == "keep_alive":
                raw[key] = text
            else:
                try:
                    raw[key] = float(text)
                except ValueError:
                    raise OptionError(key, f"expected a number, got {text!r}") from None
        prompt = self.query_one("#settings-system", TextArea).text.strip()
        think = think_value(self.query_one("#settings-think", Select).value)
        return ChatSettings(options_from(raw), prompt or None, think)

    def action_keep(self) -> None:
        try:
            settings = self.read()
        except OptionError as exc:
            self.query_one("#settings-problem", Static).update(
                Content.styled(str(exc), "$text-error"))
            return
        self.dismiss(settings)

    def action_cancel(self) -> None:
        self.dismiss(None)
