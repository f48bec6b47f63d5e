"""The routing-decision log: one row per event (decision, loading — at most one per turn,
for a cold model —, fallback, failover, escalation, done, error, cancelled), selectable for
the full decision, exportable as JSON Lines.

The table shows the newest :data:`SHOWN_ROWS` events; every event stays in
:attr:`RoutingLog.entries` (the export and the decision screen read them). Textual's
``DataTable`` caches each cell it paints under a key that changes with every added row, up to
10,000 cells, so a log that grew forever would keep ~10 MB of stale renders for a long
session and every full garbage collection would walk them: every :data:`TRIM_EVERY` rows
the table is rebuilt with the newest rows (``clear`` drops its caches).

The columns share the panel's width (:func:`column_widths`): in a narrow terminal the least
telling ones give way so the reason always has room. In a short terminal the log is a ticker
(:attr:`RoutingLog.ticker`): no header, the newest row only.
"""

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


@dataclass(frozen=True, slots=True)
class Column:
    """A log column: the width below which it says nothing useful, the width it can use
    (0: any, for the reason), how long it stays when the width is short (higher stays
    longer), and a shorter label for when the column is narrower than its label."""

    key: str
    label: str
    least: int
    most: int
    keep: int
    short: str = ""

    def heading(self, width: int) -> str:
        return self.label if len(self.label) <= width or not self.short else self.short


COLUMNS = (
    Column("time", "Time", 8, 8, keep=1),
    Column("event", "Event", 10, 10, keep=7),
    Column("prompt", "Prompt", 10, 20, keep=4),
    Column("task", "Task · complexity", 10, 21, keep=2, short="Task"),
    Column("backend", "Backend", 8, 9, keep=6),
    Column("routing", "Routing", 7, 20, keep=3),
    Column("outcome", "Outcome", 10, 22, keep=5),
    Column("reason", "Reason", 24, 0, keep=8),
)
PADDING = 1
#: the newest events the table shows (the rest stay in ``entries``: export, details)
SHOWN_ROWS = 200
#: rows added beyond :data:`SHOWN_ROWS` before the table is rebuilt without the oldest
TRIM_EVERY = 25
#: the reason grows to this width before the other columns grow past their least
REASON_FIRST = 30
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


def column_widths(available: int) -> list[tuple[Column, int]]:
    """The columns that fit in ``available`` cells (padding included) and their widths.

    Columns give way lowest ``keep`` first until the rest fit at their least width; the
    reason is never dropped. Spare room goes to the reason up to :data:`REASON_FIRST`, then
    to the other columns up to the width they can use, the longest-kept first, and what is
    left to the reason again."""

    def need(columns: list[Column]) -> int:
        return sum(c.least + 2 * PADDING for c in columns)

    shown = list(COLUMNS)
    for column in sorted(COLUMNS, key=lambda c: c.keep):
        if need(shown) <= available or column.key == "reason":
            break
        shown.remove(column)
    widths = {c.key: c.least for c in shown}
    spare = max(0, available - need(shown))
    first = min(spare, max(0, REASON_FIRST - widths["reason"]))
    widths["reason"] += first
    spare -= first
    for column in sorted(shown, key=lambda c: -c.keep):
        more = min(spare, max(0, column.most - column.least))
        widths[column.key] += more
        spare -= more
    left = available - sum(width + 2 * PADDING for width in widths.values())
    widths["reason"] = max(1, widths["reason"] + left)  # narrower than the reason's least: cut
    return [(c, widths[c.key]) for c in shown]


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
        self._columns: list[tuple[Column, int]] = []
        self._ticker = False

    def on_mount(self) -> None:
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    @property
    def ticker(self) -> bool:
        """One line: the newest row, no header (for a short terminal)."""
        return self._ticker

    @ticker.setter
    def ticker(self, value: bool) -> None:
        if value == self._ticker:
            return  # a resize that keeps the mode leaves the cursor where the user put it
        self._ticker = value
        self.set_class(value, "-ticker")
        self.show_header = not value
        if value and self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    def _rebuild(self) -> None:
        """(Re)create the columns for the current width, then the newest rows; the cursor
        stays on the event it was on while that is still shown."""
        cursor = self.entry_index(self.cursor_row)
        self.clear(columns=True)
        # the vertical scrollbar's room is kept free: rows that overflow later would
        # otherwise push the last column out of sight
        available = self.content_region.width - self.styles.scrollbar_size_vertical
        self._columns = column_widths(available)
        for column, width in self._columns:
            self.add_column(column.heading(width), key=column.key, width=width)
        first = self.first_shown
        for index in range(first, len(self.entries)):
            self._add_row(index, self.entries[index])
        if self.entries:
            row = cursor - first if cursor is not None else 0
            self.move_cursor(row=min(max(row, 0), self.row_count - 1), animate=False)

    @property
    def first_shown(self) -> int:
        """The index in :attr:`entries` of the table's first row."""
        return max(0, len(self.entries) - SHOWN_ROWS)

    def entry_index(self, row: int) -> int | None:
        """The index in :attr:`entries` of the table's ``row``, None when there is none."""
        if not 0 <= row < self.row_count:
            return None
        return int(self.ordered_rows[row].key.value or 0)

    def _colour(self, variable: str) -> str:
        """A theme colour as a Rich style (cells are Rich Text, which knows no $variables)."""
        return self.app.theme_variables.get(variable, "")

    def _column_cell(self, entry: LogEntry, key: str, width: int) -> Text:
        """The cell of column ``key`` for ``entry``, cut to ``width``."""
        if key == "time":
            return Text(entry.clock_text, style="dim")
        if key == "event":
            colour = self._colour(EVENT_COLOUR.get(entry.event, ""))
            return Text(entry.event, style=f"bold {colour}", no_wrap=True, overflow="ellipsis")
        if key == "routing":
            warning = self._colour("text-warning")
            routing = Text.assemble(
                ("forced", f"bold {warning}") if entry.forced else ("auto", "dim"),
                (f" · {short_route(entry.route)}" if entry.route else "", warning),
                no_wrap=True, overflow="ellipsis",
            )
            routing.truncate(width, overflow="ellipsis")
            return routing
        if key == "task":
            return _cell(" · ".join(x for x in (entry.task_type, entry.complexity) if x), width)
        if key == "backend":
            return _cell(entry.backend, width, "bold")
        if key == "reason":
            return _cell(entry.reason, width, "italic dim")
        return _cell(entry.prompt if key == "prompt" else entry.outcome, width)

    def _add_row(self, index: int, entry: LogEntry) -> None:
        cells = [self._column_cell(entry, column.key, width) for column, width in self._columns]
        self.add_row(*cells, key=str(index))

    def add(self, entry: LogEntry) -> None:
        """Append a row; follow the newest row unless the user is browsing the table."""
        self.entries.append(entry)
        if self.row_count >= SHOWN_ROWS + TRIM_EVERY:
            self._rebuild()
        else:
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
