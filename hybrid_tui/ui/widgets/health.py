"""The health sidebar: one card per backend, fed by the health monitor's listener.

Cards re-render when a state arrives; a one-second tick only refreshes the relative times
("checked 12 s ago · next in 18 s"), computed from the app's injectable clock and the moment
the state was heard, so frozen-clock snapshots stay still.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hybrid_tui.ui.safe import excerpt, sanitize
from hybrid_tui.ui.widgets.turn import Figures, fmt_ms, same_figures

STATUS_STYLE = {
    "up": ("●", "up", "$text-success"),
    "down": ("●", "down", "$text-error"),
    "degraded": ("◐", "degraded", "$text-warning"),
    "unknown": ("○", "checking…", "$text-muted"),
}
LOOPBACK = ("localhost", "127.", "[::1]", "::1")


def ago(seconds: float) -> str:
    """``just now`` / ``12 s`` / ``3 min`` / ``2 h``."""
    s = max(0, round(seconds))
    if s < 1:
        return "just now"
    if s < 90:
        return f"{s} s ago"
    if s < 5400:
        return f"{round(s / 60)} min ago"
    return f"{round(s / 3600)} h ago"


def plain_remote_http(endpoint: str) -> bool:
    """True for a plain-http endpoint that is not on this machine (traffic readable on the way)."""
    if not endpoint.startswith("http://"):
        return False
    host = endpoint[len("http://"):]
    return not host.startswith(LOOPBACK)


class HealthCard(Static):
    """One backend: status word and colour, endpoint, latency, models, poll timing."""

    def __init__(self, name: str, endpoint: str, kind: str, tier: str) -> None:
        super().__init__(classes="health-card -unknown", markup=False)
        self.backend = name
        self.endpoint = endpoint
        self.kind = kind
        self.tier = tier
        self.state: Any = None
        self.heard_at: float | None = None
        self._lines = 0
        self.border_title = name

    def show(self, state: Any, heard_at: float) -> None:
        """Take a new ``BackendState``, heard at ``heard_at`` on the app clock."""
        self.state = state
        self.heard_at = heard_at
        status = state.status if state.status in STATUS_STYLE else "unknown"
        for name in STATUS_STYLE:
            self.set_class(name == status, f"-{name}")

    def _timing(self, now: float, interval: float) -> Content:
        state = self.state
        if state is None or state.last_checked is None or self.heard_at is None:
            return Content.styled("not checked yet", "$text-muted")
        due = interval
        if state.next_check is not None:
            due = max(0.0, state.next_check - state.last_checked)
        remaining = max(0, round(self.heard_at + due - now))
        text = f"checked {ago(now - self.heard_at)} · next in {remaining} s"
        return Content.styled(text, "$text-muted")

    def redraw(self, now: float, figures: Figures = same_figures, interval: float = 30.0) -> None:
        state = self.state
        status = state.status if state is not None and state.status in STATUS_STYLE else "unknown"
        dot, word, style = STATUS_STYLE[status]
        cooling = getattr(state, "cooldown_until", None)
        lines: list[Content] = [
            Content.assemble((f"{dot} {word}", f"bold {style}"),
                             ("   " + f"{self.kind} · {self.tier}", "$text-muted")),
            Content.styled(sanitize(self.endpoint), "$text-secondary"),
        ]
        if plain_remote_http(self.endpoint):
            lines.append(Content.styled("⚠ plain http to another machine", "$text-warning"))
        if state is not None and status in ("up", "degraded"):
            latency = figures("latency_ms", state.latency_ms)
            model = state.chosen_model or "no chat model"
            loaded = ", ".join(state.loaded) if state.loaded else "none"
            lines += [
                Content.assemble(("latency ", "$text-muted"), fmt_ms(latency),
                                 ("  ·  ", "$text-muted"), f"{len(state.models)} models"),
                Content.assemble(("model   ", "$text-muted"), excerpt(model, 34)),
                Content.assemble(("loaded  ", "$text-muted"), excerpt(loaded, 34)),
            ]
        if state is not None:
            detail = getattr(state, "detail", None)
            if detail and status == "degraded":
                lines.append(Content.styled(excerpt(detail, 80), "$text-warning"))
            if state.last_error and status == "down":
                lines.append(Content.styled(excerpt(state.last_error, 80), "$text-error"))
        if isinstance(cooling, (int, float)) and cooling > now:
            lines.append(Content.styled(f"cooling down {round(cooling - now)} s", "$text-warning"))
        lines.append(self._timing(now, interval))
        # Same number of lines (the common case: only the ages changed): no relayout, which
        # would re-measure every widget on screen, long replies included.
        self.update(Content("\n").join(lines), layout=len(lines) != self._lines)
        self._lines = len(lines)


class HealthSidebar(VerticalScroll, can_focus=False):
    """A card per enabled backend, in config order."""

    def __init__(
        self,
        backends: list[tuple[str, str, str, str]],
        *,
        interval: float,
        clock: Callable[[], float],
        figures: Figures = same_figures,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._backends = backends
        self.interval = interval
        self.clock = clock
        self.figures = figures
        self.border_title = "Backends"

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("BACKENDS", "bold $text-muted"), classes="sidebar-title")
        for name, endpoint, kind, tier in self._backends:
            yield HealthCard(name, endpoint, kind, tier)

    def on_mount(self) -> None:
        now = self.clock()
        for card in self.cards.values():
            card.redraw(now, self.figures, self.interval)

    @property
    def cards(self) -> dict[str, HealthCard]:
        return {card.backend: card for card in self.query(HealthCard)}

    def update_state(self, state: Any) -> None:
        """A ``BackendState`` from the monitor (listener callback or initial read)."""
        card = self.cards.get(state.name)
        if card is not None:
            now = self.clock()
            card.show(state, now)
            card.redraw(now, self.figures, self.interval)

    def tick(self) -> None:
        """Refresh the relative times only."""
        now = self.clock()
        for card in self.cards.values():
            card.redraw(now, self.figures, self.interval)

    def status_of(self, name: str) -> str:
        card = self.cards.get(name)
        return card.state.status if card is not None and card.state is not None else "unknown"
