"""The app fits the terminal it runs in: a strip instead of the sidebar below 110 columns,
a one-line routing-log ticker below 30 rows, log columns that share the width."""

from __future__ import annotations

import re

import pytest

from hybrid_tui.health import BackendState
from hybrid_tui.ui.app import NARROW_COLUMNS, SHORT_ROWS
from hybrid_tui.ui.widgets.health import HealthCard
from hybrid_tui.ui.widgets.routing_log import COLUMNS, PADDING, column_widths
from tests.ui.helpers import SIZE, card_status, settle, wait_for

REASON = next(c for c in COLUMNS if c.key == "reason")


@pytest.mark.parametrize("available", [REASON.least + 2 * PADDING, 40, 75, 115, 155, 300])
def test_log_columns_share_the_width_and_keep_the_reason(available):
    columns = column_widths(available)
    keys = [column.key for column, _ in columns]
    widths = dict((column.key, width) for column, width in columns)
    assert sum(width + 2 * PADDING for width in widths.values()) == available
    assert keys[-1] == "reason" and widths["reason"] >= REASON.least
    assert keys == [c.key for c in COLUMNS if c.key in widths]  # order kept
    assert all(width >= column.least for column, width in columns)


def test_the_least_telling_columns_give_way_first():
    assert [c.key for c, _ in column_widths(75)] == [
        "event", "prompt", "backend", "outcome", "reason"]
    wide = dict((c.key, w) for c, w in column_widths(155))
    assert len(wide) == len(COLUMNS) and wide["outcome"] == 22 and wide["reason"] >= 30


async def test_small_terminal_gets_a_strip_and_a_ticker(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up"
                       and card_status(app, "ollama") == "up", what="both up")
        await app.send("format this code: def f(a,b): return a+b")
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        assert app.sidebar.compact and app.sidebar.has_class("-compact")
        assert all(card.region.height == 1 for card in app.sidebar.cards.values())
        line = str(app.sidebar.cards["lmstudio"].render())
        assert re.fullmatch(r"● lmstudio +up · \d+ ms · qwen\S+ ✓ loaded", line), line
        log = app.routing_log
        assert log.ticker and not log.show_header and log.region.height == 2
        assert log.cursor_row == log.row_count - 1  # the newest event is the one shown
        # the conversation gets most of the screen: 80 columns wide, at least half the rows
        assert app.conversation.region.width >= 76 and app.conversation.region.height >= 12

        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        assert not app.sidebar.compact and not app.sidebar.has_class("-compact")
        assert app.sidebar.cards["lmstudio"].region.height > 3
        assert not log.ticker and log.show_header and log.region.height == 9


async def test_full_cards_are_one_key_away(make_app):
    app = make_app()
    async with app.run_test(size=(NARROW_COLUMNS - 1, SHORT_ROWS - 1)) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up", what="up")
        card = app.sidebar.cards["ollama"]
        assert card.region.height == 1
        await pilot.press("f5")
        await settle(pilot)
        assert app.sidebar.expanded and not app.sidebar.has_class("-compact")
        assert "checked just now" in str(card.render()) and card.region.height > 3
        await pilot.press("f5")
        await settle(pilot)
        assert not app.sidebar.expanded and card.region.height == 1


@pytest.mark.parametrize(("state", "line"), [
    (dict(status="up", latency_ms=12.0, chosen_model="codellama:34b", loaded=("codellama:34b",),
          loaded_known=True), "● ollama  up · 12 ms · codellama:34b ✓ loaded"),
    (dict(status="up", latency_ms=1520.0, chosen_model="codellama:34b", loaded=(),
          loaded_known=True), "● ollama  up · 1.52 s · codellama:34b ○ cold"),
    (dict(status="down", last_error="connection refused\x1b[2J"),
     "● ollama  down · connection refused␛[2J"),
    (dict(status="unknown"), "○ ollama  checking…"),
])
def test_strip_line(state, line):
    """A backend's line in the strip: state, latency, model and whether it is loaded; the
    error when down (made safe)."""
    card = HealthCard("ollama", "http://localhost:11434", "ollama", "strong")
    card.compact = True
    card.show(BackendState("ollama", "http://localhost:11434", "ollama", "strong", **state),
              heard_at=0.0)
    card.redraw(now=0.0)
    assert str(card.render()) == line
