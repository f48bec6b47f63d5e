"""One rule for how figures read, in the TUI and the CLI."""

from __future__ import annotations

import math

import pytest

from hybrid_tui.cli_output import summary_line
from hybrid_tui.events import Done
from hybrid_tui.ui.widgets.turn_text import stats_content
from hybrid_tui.units import fmt_confidence, fmt_ms, fmt_rate, fmt_seconds, fmt_size, fmt_tps


@pytest.mark.parametrize(("ms", "shown"), [
    (None, "–"), (math.nan, "–"), (-3.0, "0 ms"), (0.0, "0 ms"), (12.4, "12 ms"),
    (850.0, "850 ms"), (999.4, "999 ms"), (999.6, "1.00 s"), (1520.0, "1.52 s"),
    (9_994.0, "9.99 s"), (9_996.0, "10.0 s"), (12_345.0, "12.3 s"), (99_960.0, "100 s"),
    (125_000.0, "125 s"),
])
def test_durations(ms, shown):
    assert fmt_ms(ms) == shown
    assert fmt_seconds(None if ms is None else ms / 1000) == shown


@pytest.mark.parametrize(("rate", "number"), [
    (None, "–"), (math.inf, "–"), (0.0, "0.0"), (85.33, "85.3"), (99.94, "99.9"),
    (99.96, "100"), (120.4, "120"), (25_590.7, "25591"),
])
def test_rates(rate, number):
    assert fmt_rate(rate) == number
    assert fmt_tps(rate) == f"{number} tok/s"


def test_confidence_and_size():
    assert fmt_confidence(0.8249) == "0.82" and fmt_confidence(None) == "–"
    assert fmt_size(None) == "" and fmt_size(512) == "512 B" and fmt_size(4_100_000_000) == "4.1 GB"


def test_the_tui_and_the_cli_say_the_same_figure_alike():
    """The TUI's stats line and the CLI's summary line show one reply's figures alike."""
    done = Done(backend="b", model="m", ttft_ms=1500.0, tokens=412, tokens_per_s=120.4,
                confidence=0.8249, escalated=False, total_ms=61_000.0)
    tui = stats_content(done).plain
    cli = summary_line(done)
    for figure in ("TTFT 1.50 s", "120 tok/s", "confidence 0.82"):
        assert figure in tui and figure in cli
    assert "total 61.0 s" in tui
