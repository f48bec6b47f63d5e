"""Save a code block to a file: ask for the path; an existing file is only replaced after a
second, explicit yes."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from hybrid_tui.safetext import excerpt


class SaveCodeScreen(ModalScreen[Path | None]):
    """Asks where to write ``code``; dismissed with the path written, or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, code: str, *, cwd: Path) -> None:
        super().__init__()
        self.code = code
        self.cwd = cwd
        #: the path the user was asked to confirm replacing
        self.confirming: Path | None = None

    def compose(self) -> ComposeResult:
        lines = self.code.count("\n") + 1
        with Vertical(id="save-box") as box:
            box.border_title = "Save code block"
            box.border_subtitle = "Enter save · esc cancel"
            yield Static(Content.assemble(
                (f"{lines} lines: ", "$text-muted"), excerpt(self.code.strip(), 70)))
            yield Static(Content.styled(f"Path (relative to {excerpt(str(self.cwd), 60)}):",
                                        "$text-muted"), id="save-question")
            yield Input(placeholder="e.g. src/quicksort.py", id="save-path")

    def on_mount(self) -> None:
        self.query_one("#save-path", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _say(self, text: str, style: str = "$text-error") -> None:
        self.query_one("#save-question", Static).update(Content.styled(text, style))

    @on(Input.Submitted, "#save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if self.confirming is not None:
            if value.lower() in ("y", "yes"):
                self._write(self.confirming)
            else:
                self.confirming = None
                event.input.value = ""
                self._say("Not replaced. Another path:", "$text-muted")
            return
        if not value:
            self._say("Type a path first.")
            return
        path = (self.cwd / Path(value).expanduser()).resolve()
        if path.is_dir():
            self._say(f"{value} is a folder; name a file.")
            return
        if path.exists():
            self.confirming = path
            event.input.value = ""
            self._say(f"{value} exists. Replace it? Type yes:", "$text-warning")
            return
        self._write(path)

    def _write(self, path: Path) -> None:
        text = self.code if self.code.endswith("\n") else self.code + "\n"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.confirming = None
            self._say(f"Could not write it: {exc.strerror or exc}. Another path:")
            return
        self.app.notify(f"Saved {text.count(chr(10))} lines to {path}", title="Saved",
                        markup=False)
        self.dismiss(path)
