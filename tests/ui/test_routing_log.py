"""The routing log's table shows the newest events; every event stays for export and details."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from hybrid_tui.ui.widgets import routing_log as routing_log_module
from hybrid_tui.ui.widgets.routing_log import LogEntry, RoutingLog


class LogApp(App[None]):
    """The log below a prompt that has the focus, as in the app."""

    def compose(self) -> ComposeResult:
        yield Input()
        yield RoutingLog(id="log")


def _entry(turn: int) -> LogEntry:
    return LogEntry(at=0.0, event="decision", turn=turn, prompt=f"prompt {turn}")


@pytest.fixture(autouse=True)
def _small_table(monkeypatch) -> None:
    """Five rows shown, rebuilt every three more."""
    monkeypatch.setattr(routing_log_module, "SHOWN_ROWS", 5)
    monkeypatch.setattr(routing_log_module, "TRIM_EVERY", 3)


async def test_the_table_keeps_the_newest_rows_and_the_log_every_entry():
    app = LogApp()
    async with app.run_test(size=(120, 20)) as pilot:
        log = app.query_one(RoutingLog)
        for turn in range(1, 21):
            log.add(_entry(turn))
            assert log.row_count <= 5 + 3
        await pilot.pause()
        assert [e.turn for e in log.entries] == list(range(1, 21))  # export reads these
        assert log.row_count >= 5
        first = log.entry_index(0)
        assert first is not None and log.entries[first].turn == 20 - log.row_count + 1
        # the cursor follows the newest row, and a row opens its own entry
        assert log.entry_index(log.cursor_row) == 19
        row_key = log.ordered_rows[0].key.value
        assert log.entry_for(row_key) is log.entries[first]


async def test_a_trim_keeps_the_cursor_on_the_event_the_user_is_reading():
    app = LogApp()
    async with app.run_test(size=(120, 20)) as pilot:
        log = app.query_one(RoutingLog)
        for turn in range(1, 8):
            log.add(_entry(turn))
        log.focus()
        await pilot.pause()
        log.move_cursor(row=log.row_count - 2, animate=False)
        reading = log.entry_index(log.cursor_row)
        log.add(_entry(8))  # the table is rebuilt here
        await pilot.pause()
        assert log.row_count == 5
        assert log.entry_index(log.cursor_row) == reading
