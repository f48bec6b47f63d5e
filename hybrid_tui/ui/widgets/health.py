"""The health sidebar: one card per backend (any number; the column scrolls), fed by the
health monitor's listener and a one-second tick.

A card says: up / down / degraded, or "cooling down 12 s" (a live countdown) after failures
in a row; the endpoint, with a warning when it is plain http to another machine; latency,
model count and learned speed; the model the router would use and whether it is loaded or
cold (the first reply will wait for a load); the queue when requests wait; the last error;
"checked 12 s ago · next in 18 s". Ages come from the app's injectable clock and the moment a
probe was heard, and timing figures pass through ``figures``, so snapshots stay still.

In a narrow terminal the sidebar is a compact strip instead (:attr:`HealthSidebar.compact`):
one line per backend (state, latency, the model and whether it is loaded), the full cards one
key away (:attr:`HealthSidebar.expanded`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from hybrid_tui.config import insecure_endpoint
from hybrid_tui.health import BackendState
from hybrid_tui.safetext import excerpt
from hybrid_tui.ui.widgets.turn import Figures, same_figures
from hybrid_tui.units import fmt_ms, fmt_tps

STATUS_STYLE = {
    "up": ("●", "up", "$text-success"),
    "down": ("●", "down", "$text-error"),
    "degraded": ("◐", "degraded", "$text-warning"),
    "unknown": ("○", "checking…", "$text-muted"),
}


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
    """True for a plain-http endpoint that is not on this machine (traffic readable on the
    way); the config's own rule."""
    return insecure_endpoint(endpoint)


class HealthCard(Static):
    """One backend: status word and colour, endpoint, latency, models, poll timing."""

    def __init__(self, name: str, endpoint: str, kind: str, tier: str, slots: int = 1) -> None:
        super().__init__(classes="health-card -unknown", markup=False)
        self.backend = name
        #: requests it serves at once (``max_concurrent``): more than that are waiting
        self.slots = max(1, slots)
        self.endpoint = endpoint
        self.kind = kind
        self.tier = tier
        self.state: BackendState | None = None
        self.heard_at: float | None = None
        #: seconds to the next probe when ``next_check`` was last heard, and when (app clock)
        self._next_in: float | None = None
        self._next_heard = 0.0
        self._lines = 0
        #: one line (the strip) instead of the full card, its name padded to this width
        self.compact = False
        self.name_width = len(name)
        self.border_title = name

    def show(self, state: BackendState, heard_at: float) -> None:
        """Take a new ``BackendState``, heard at ``heard_at`` on the app clock. Ages count
        from the last probe heard: a state that only changed otherwise (a failed request, a
        queue) keeps them."""
        old = self.state
        if old is None or self.heard_at is None or old.last_checked != state.last_checked:
            self.heard_at = heard_at
        if old is None or old.next_check != state.next_check:
            # a wall-clock instant, turned into "seconds from now" once, when heard: the
            # countdown then runs on the app's clock (frozen in snapshots)
            self._next_in = None if state.next_check is None else state.next_check - time.time()
            self._next_heard = heard_at
        self.state = state
        status = state.status if state.status in STATUS_STYLE else "unknown"
        for name in STATUS_STYLE:
            self.set_class(name == status, f"-{name}")
        self.set_class(self.cooldown_left() is not None, "-cooling")

    def cooldown_left(self) -> float | None:
        """Seconds of cooldown left (live), None when the backend is not cooling down."""
        return None if self.state is None else self.state.cooldown_left

    def _timing(self, now: float, interval: float) -> Content:
        state = self.state
        if state is None or state.last_checked is None or self.heard_at is None:
            return Content.styled("not checked yet", "$text-muted")
        if self._next_in is not None:
            remaining = max(0, round(self._next_in - (now - self._next_heard)))
        else:
            remaining = max(0, round(self.heard_at + interval - now))
        text = f"checked {ago(now - self.heard_at)} · next in {remaining} s"
        return Content.styled(text, "$text-muted")

    def _status(self, status: str, figures: Figures) -> tuple[str, str, str]:
        """(symbol, word, style): the status, or the live cooldown that overrides it."""
        left = self.cooldown_left()
        if left is None:
            return STATUS_STYLE[status]
        shown = figures("cooldown_s", left) or left
        return "◔", f"cooling down {math.ceil(shown)} s", "$text-warning"

    def _headline(self, status: str, figures: Figures) -> Content:
        dot, word, style = self._status(status, figures)
        return Content.assemble((f"{dot} {word}", f"bold {style}"),
                                ("   " + f"{self.kind} · {self.tier}", "$text-muted"))

    def _model_lines(self, state: BackendState, figures: Figures) -> list[Content]:
        """Latency, model count and learned speed; the model the router would use and
        whether it is in memory; what is in memory. Each line fits the card (40 cells)."""
        first: list[str | tuple[str, str]] = [
            ("latency ", "$text-muted"), fmt_ms(figures("latency_ms", state.latency_ms)),
            (" · ", "$text-muted"), f"{len(state.models)} models"]
        if state.predicted_tps is not None:
            speed = figures("tokens_per_s", state.predicted_tps) or state.predicted_tps
            first += [(" · ", "$text-muted"), "~" + fmt_tps(speed)]
        lines = [Content.assemble(*first),
                 Content.assemble(("model   ", "$text-muted"),
                                  excerpt(state.chosen_model or "no chat model", 32))]
        loaded_now = state.chosen_loaded
        if loaded_now is True:
            lines.append(Content.styled("        ✓ loaded", "$text-success"))
        elif loaded_now is False:
            lines.append(Content.styled("        ○ cold — will load", "$text-warning"))
        loaded = ", ".join(state.loaded) if state.loaded else "none"
        lines.append(Content.assemble(("loaded  ", "$text-muted"), excerpt(loaded, 32)))
        return lines

    def _strip_line(self, status: str, figures: Figures) -> Content:
        """The card in one line: ``● lmstudio  up · 12 ms · qwen2.5-coder-7b ✓``."""
        dot, word, style = self._status(status, figures)
        name = excerpt(self.backend, 16).ljust(self.name_width)
        parts: list[str | tuple[str, str]] = [
            (f"{dot} ", f"bold {style}"), (name, "bold"), "  ", (word, style)]
        state = self.state
        if state is not None and status in ("up", "degraded") and self.cooldown_left() is None:
            parts += [(" · ", "$text-muted"), fmt_ms(figures("latency_ms", state.latency_ms)),
                      (" · ", "$text-muted"),
                      (excerpt(state.chosen_model or "no chat model", 40), "$text-secondary")]
            loaded_now = state.chosen_loaded
            if loaded_now is True:
                parts.append((" ✓ loaded", "$text-success"))
            elif loaded_now is False:
                parts.append((" ○ cold", "$text-warning"))
        elif state is not None and status == "down" and state.last_error:
            parts += [(" · ", "$text-muted"), (excerpt(state.last_error, 60), "$text-error")]
        return Content.assemble(*parts)

    def redraw(self, now: float, figures: Figures = same_figures, interval: float = 30.0) -> None:
        state = self.state
        status = state.status if state is not None and state.status in STATUS_STYLE else "unknown"
        if self.compact:
            self.update(self._strip_line(status, figures), layout=self._lines != 1)
            self._lines = 1
            return
        lines: list[Content] = [
            self._headline(status, figures),
            Content.styled(excerpt(self.endpoint, 40), "$text-secondary"),
        ]
        if insecure_endpoint(self.endpoint):
            lines.append(Content.styled("⚠ plain http to another machine: prompts and "
                                        "replies travel unencrypted", "$text-warning"))
        if state is not None and status in ("up", "degraded"):
            lines += self._model_lines(state, figures)
        queue = 0 if state is None else state.queue
        if queue > 0:
            running, waiting = min(queue, self.slots), max(0, queue - self.slots)
            said = f"{running} running" + (f" · {waiting} waiting" if waiting else "")
            lines.append(Content.assemble(("queue   ", "$text-muted"),
                                          (said, "$text-warning" if waiting else "$text-accent")))
        if state is not None:
            if state.detail and status == "degraded":
                lines.append(Content.styled(excerpt(state.detail, 80), "$text-warning"))
            if state.last_error and status == "down":
                lines.append(Content.styled(excerpt(state.last_error, 80), "$text-error"))
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
        slots: dict[str, int] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._backends = backends
        self._slots = slots or {}
        self.interval = interval
        self.clock = clock
        self.figures = figures
        self.border_title = "Backends"
        self._compact = False
        self._expanded = False

    def compose(self) -> ComposeResult:
        yield Static(Content.styled("BACKENDS", "bold $text-muted"), classes="sidebar-title")
        for name, endpoint, kind, tier in self._backends:
            yield HealthCard(name, endpoint, kind, tier, self._slots.get(name, 1))

    def on_mount(self) -> None:
        self._restyle()

    @property
    def compact(self) -> bool:
        """The terminal is too narrow for the cards: one line per backend (the strip)."""
        return self._compact

    @compact.setter
    def compact(self, value: bool) -> None:
        if value == self._compact:
            return
        self._compact = value
        if not value:  # back to a wide terminal: a later narrow one starts with the strip
            self._expanded = False
        self._restyle()

    @property
    def expanded(self) -> bool:
        """The full cards are shown although the terminal is narrow."""
        return self._expanded

    @expanded.setter
    def expanded(self, value: bool) -> None:
        self._expanded = value
        self._restyle()

    def _restyle(self) -> None:
        strip = self._compact and not self._expanded
        self.set_class(strip, "-compact")
        now = self.clock()
        cards = self.cards.values()
        width = max((min(16, len(card.backend)) for card in cards), default=0)
        for card in cards:
            card.compact, card.name_width = strip, width
            card.redraw(now, self.figures, self.interval)

    @property
    def cards(self) -> dict[str, HealthCard]:
        return {card.backend: card for card in self.query(HealthCard)}

    def update_state(self, state: BackendState) -> None:
        """A ``BackendState`` from the monitor (listener callback or initial read)."""
        card = self.cards.get(state.name)
        if card is not None:
            now = self.clock()
            card.show(state, now)
            card.redraw(now, self.figures, self.interval)

    def tick(self, states: Mapping[str, BackendState] | None = None) -> None:
        """Refresh the relative times and countdowns, taking any newer ``states`` (name ->
        ``BackendState``) on the way."""
        now = self.clock()
        for name, card in self.cards.items():
            state = (states or {}).get(name)
            if state is not None and state is not card.state:
                card.show(state, now)
            card.redraw(now, self.figures, self.interval)

    def status_of(self, name: str) -> str:
        card = self.cards.get(name)
        return card.state.status if card is not None and card.state is not None else "unknown"
