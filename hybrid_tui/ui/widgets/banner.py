"""The "nothing can answer" banner: shown while every enabled backend is down."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from hybrid_tui.config import BackendConfig


def _how_to_start(backend: BackendConfig) -> Content:
    where = (backend.name, "bold")
    if backend.kind == "ollama":
        return Content.assemble(
            "  • ", where, f" ({backend.endpoint}): run ", ("ollama serve", "bold $text-accent")
        )
    return Content.assemble(
        "  • ", where, f" ({backend.endpoint}): in LM Studio open the Developer tab and start "
        "the server, or run ", ("lms server start", "bold $text-accent"),
    )


def banner_content(backends: list[BackendConfig], interval: float) -> Content:
    """What to do when no backend answers: start them, or try the demo."""
    lines = [
        Content.styled("No backend is reachable — prompts cannot be answered yet.", "bold"),
        *(_how_to_start(b) for b in backends),
        Content.assemble(
            "  • or see the app without any server: ", ("hybrid-tui --demo", "bold $text-accent")
        ),
        Content.styled(
            f"Still checking every {interval:g} s (ctrl+r checks now); this banner goes away "
            "by itself when one comes up.",
            "$text-muted",
        ),
    ]
    return Content("\n").join(lines)


class DownBanner(Static):
    """Hidden unless ``show_down`` is True; its text comes from the configured backends."""

    def __init__(self, backends: list[BackendConfig], interval: float, *, id: str | None = None):
        super().__init__(banner_content(backends, interval), id=id, markup=False)
        self.display = False

    def show_down(self, down: bool) -> None:
        self.display = down
