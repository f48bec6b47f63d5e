"""The routing-decision log: one row per event (decision, loading — at most one per turn,
for a cold model —, fallback, failover, escalation, done, error, cancelled), selectable for
the full decision, exportable as JSON Lines."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from hybrid_tui.private_files import open_private
from hybrid_tui.safetext import excerpt, sanitize

#: (key, label, width); the last column (reason) takes what is left of the panel's width
COLUMNS = (
    ("time", "Time", 8),
    ("event", "Event", 10),
    ("prompt", "Prompt", 20),
    ("task", "Task · complexity", 21),
    ("backend", "Backend", 9),
    ("routing", "Routing", 20),
    ("outcome", "Outcome", 22),
    ("reason", "Reason", 0),
)
PADDING = 1
MIN_REASON = 20
#: event -> the theme variable its name is drawn in
EVENT_COLOUR = {
    "decision": "text-primary",
    "fallback": "text-warning",
    "escalation": "text-secondary",
    "failover": "text-warning",
    "loading": "text-warning",
    "done": "text-success",
    "error": "text-error",
    "cancelled": "text-warning",
}


@dataclass(slots=True)
class LogEntry:
    """One routing event, as shown in the log, exported, and opened in the detail screen."""

    at: float
    event: str
    turn: int
    prompt: str
    task_type: str = ""
    complexity: str = ""
    backend: str = ""
    model: str = ""
    forced: bool = False
    route: str = ""
    outcome: str = ""
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def clock_text(self) -> str:
        return time.strftime("%H:%M:%S", time.localtime(self.at))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, with an ISO-8601 local timestamp."""
        data = asdict(self)
        data["at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.at))
        return data


def short_route(route: str) -> str:
    """``fallback ollama → lmstudio`` -> ``↯ ollama→lmstudio`` for the narrow column."""
    return (route.replace("fallback ", "↯ ").replace("escalated ", "↑ ")
            .replace("failover ", "⤷ ").replace(" → ", "→"))


def _cell(text: str, width: int, style: str = "") -> Text:
    """A table cell: sanitised, one line, cut to ``width`` — never parsed as markup."""
    return Text(excerpt(text, width), style=style, no_wrap=True, overflow="ellipsis")


class RoutingLog(DataTable[Text]):
    """A table of :class:`LogEntry` rows; Enter or a click on a row posts ``RowSelected``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=True,
                         cell_padding=PADDING)
        self.entries: list[LogEntry] = []
        self.border_title = "Routing log"

    def on_mount(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    def _reason_width(self) -> int:
        fixed = sum(width + 2 * PADDING for _, _, width in COLUMNS[:-1])
        return max(MIN_REASON, self.scrollable_content_region.width - fixed - 2 * PADDING - 1)

    def _rebuild(self) -> None:
        """(Re)create the columns for the current width, then every row."""
        row = self.cursor_row
        self.clear(columns=True)
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width or self._reason_width())
        for index, entry in enumerate(self.entries):
            self._add_row(index, entry)
        if self.entries:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1), animate=False)

    def _colour(self, variable: str) -> str:
        """A theme colour as a Rich style (cells are Rich Text, which knows no $variables)."""
        return self.app.theme_variables.get(variable, "")

    def _add_row(self, index: int, entry: LogEntry) -> None:
        warning = self._colour("text-warning")
        routing = Text.assemble(
            ("forced", f"bold {warning}") if entry.forced else ("auto", "dim"),
            (f" · {short_route(entry.route)}" if entry.route else "", warning),
            no_wrap=True, overflow="ellipsis",
        )
        routing.truncate(20, overflow="ellipsis")
        task = " · ".join(x for x in (entry.task_type, entry.complexity) if x)
        self.add_row(
            Text(entry.clock_text, style="dim"),
            Text(entry.event, style=f"bold {self._colour(EVENT_COLOUR.get(entry.event, ''))}"),
            _cell(entry.prompt, 20),
            _cell(task, 21),
            _cell(entry.backend, 9, "bold"),
            routing,
            _cell(entry.outcome, 22),
            _cell(entry.reason, self._reason_width(), "italic dim"),
            key=str(index),
        )

    def add(self, entry: LogEntry) -> None:
        """Append a row; follow the newest row unless the user is browsing the table."""
        self.entries.append(entry)
        self._add_row(len(self.entries) - 1, entry)
        self.border_subtitle = f"{len(self.entries)} events · enter: details · ctrl+e: export"
        if not self.has_focus:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def restyle(self) -> None:
        """Rebuild every row in the current theme's colours (after a theme change)."""
        self._rebuild()

    def entry_for(self, row_key: str | None) -> LogEntry | None:
        try:
            return self.entries[int(row_key or "")]
        except (ValueError, IndexError):
            return None

    def clear_entries(self) -> None:
        self.entries.clear()
        self.clear()
        self.border_subtitle = ""

    def export(self, directory: Path, now: float) -> Path:
        """Write every entry as one JSON object per line; return the file's path."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        path = directory / f"routing-log-{stamp}.jsonl"
        with open_private(path) as out:
            for entry in self.entries:
                out.write(json.dumps(entry.to_json(), ensure_ascii=False, default=str) + "\n")
        return path


def describe(entry: LogEntry) -> str:
    """A safe multi-line description of ``entry`` for the detail screen."""
    rows = [
        ("time", entry.clock_text),
        ("event", entry.event),
        ("turn", str(entry.turn)),
        ("prompt", entry.prompt),
        ("task type", entry.task_type),
        ("complexity", entry.complexity),
        ("backend", f"{entry.backend}  {entry.model}".strip()),
        ("forced", "yes" if entry.forced else "no (auto)"),
        ("escalation / fallback", entry.route or "–"),
        ("outcome", entry.outcome or "–"),
        ("reason", entry.reason or "–"),
    ]
    return "\n".join(f"{k:>22}  {sanitize(v)}" for k, v in rows)
