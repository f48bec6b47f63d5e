"""The full story of one routing-log row: its fields, then the decision explained in
sections (task type, complexity, the candidates side by side, other signals), with the raw
event data folded away at the bottom."""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Collapsible, Static

from hybrid_tui.generation import settings_from_dict
from hybrid_tui.router.signals import DecisionSignals
from hybrid_tui.safetext import sanitize
from hybrid_tui.ui.explain import Explanation, Rows, explain
from hybrid_tui.ui.widgets.routing_log import LogEntry, describe

COLUMN_TITLES = {"backend": "Backend", "status": "Availability", "loaded": "Model",
                 "queue": "Queue", "ttft": "First token", "total": "Predicted total",
                 "learned": "Learned (mean)"}


def decision_of(entry: LogEntry) -> dict[str, Any]:
    """The decision behind ``entry``: the event itself for a ``decision`` row, else the
    summary every other row carries (empty when the turn had no decision)."""
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    if entry.event == "decision":
        return {"id": detail.get("id"), "backend": entry.backend, "model": entry.model,
                "forced": entry.forced, "reason": entry.reason,
                "signals": detail.get("signals") or {}, "settings": detail.get("settings")}
    decision = detail.get("decision")
    return decision if isinstance(decision, dict) else {}


def rows_content(rows: Rows, width: int = 18) -> Content:
    """``label  value`` lines, labels right-aligned and muted; values literal."""
    return Content("\n").join(
        Content.assemble((f"{label:>{width}}  ", "$text-muted"), sanitize(value))
        for label, value in rows
    )


def candidates_table(explanation: Explanation) -> Table:
    """The candidates side by side (Rich cells from ``Text``: never markup)."""
    table = Table(box=None, pad_edge=False, padding=(0, 2), show_edge=False,
                  header_style="bold")
    columns = explanation.columns
    for column in columns:
        table.add_column(COLUMN_TITLES.get(column, column), no_wrap=True)
    for row in explanation.candidates:
        style = "bold" if row.get("backend", "").startswith("▸") else ""
        table.add_row(*(Text(sanitize(row.get(c, "–")), style=style) for c in columns))
    return table


class DecisionScreen(ModalScreen[None]):
    """Modal detail view of a :class:`LogEntry`. Esc, q or Enter closes it."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close"),
    ]

    def __init__(self, entry: LogEntry) -> None:
        super().__init__(classes="detail-screen")
        self.entry = entry
        decision = decision_of(entry)
        # the log keeps the decision as JSON data (it is exported and saved with the session)
        self.explanation = explain(
            DecisionSignals.from_dict(decision.get("signals")),
            backend=str(decision.get("backend") or ""),
            model=str(decision.get("model") or ""),
            forced=decision.get("forced") if isinstance(decision.get("forced"), bool) else None,
            reason=str(decision.get("reason") or ""),
            decision_id=str(decision.get("id") or ""),
        )

    def _section(self, title: str, body: Any, section_id: str) -> ComposeResult:
        yield Static(Content.styled(title, "bold $text-primary"), classes="detail-heading")
        yield Static(body, id=section_id, classes="detail-section")

    def compose(self) -> ComposeResult:
        entry, why = self.entry, self.explanation
        detail = json.dumps(entry.detail, indent=2, sort_keys=True, default=str,
                            ensure_ascii=False)
        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        with Vertical(id="detail-box") as box:
            box.border_title = f"{entry.event} · turn {entry.turn}"
            box.border_subtitle = "esc to close"
            with VerticalScroll():
                yield Static(Content(describe(entry)), id="detail-fields", markup=False)
                if why.summary:
                    yield from self._section("Why this backend", rows_content(why.summary),
                                             "detail-summary")
                if why.task:
                    yield from self._section("Task type", rows_content(why.task),
                                             "detail-task")
                if why.complexity:
                    yield from self._section("Complexity", rows_content(why.complexity),
                                             "detail-complexity")
                if why.candidates:
                    yield from self._section("Candidates", candidates_table(why),
                                             "detail-candidates")
                if why.tiers:
                    yield from self._section("Learned tiers (Thompson sampling)",
                                             rows_content(why.tiers), "detail-tiers")
                if why.other:
                    yield from self._section("Other signals", rows_content(why.other),
                                             "detail-other")
                settings = settings_from_dict(decision_of(entry).get("settings"))
                if settings is not None:
                    yield from self._section("Settings in force", rows_content(
                        settings.describe()), "detail-settings")
                if not (why.task or why.complexity or why.candidates):
                    yield Static(Content.styled("No routing signals for this event.",
                                                "$text-muted"), classes="detail-section")
                with Collapsible(title="Raw event data (JSON)", collapsed=True,
                                 id="detail-raw"):
                    yield Static(
                        Syntax(sanitize(detail), "json", theme=theme,
                               background_color="default", word_wrap=True),
                        id="detail-json",
                    )
