"""The decision detail: a routing-log row's signals explained in sections (task type and its
words, complexity and its parts, the candidates side by side), also when read back from a
record of another shape."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Collapsible, Static

from hybrid_tui.router.bandit import Estimate
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.predict import Prediction
from hybrid_tui.router.signals import CandidateSignal, DecisionSignals, TierSignal
from hybrid_tui.ui.explain import explain
from hybrid_tui.ui.screens.decision import DecisionScreen
from tests.ui.helpers import SIZE, card_status, settle, wait_for

COMPLEX = "analyze this complex system architecture and plan a migration"


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def _open_row(pilot, row: int) -> DecisionScreen:
    app = pilot.app
    app.routing_log.focus()
    app.routing_log.move_cursor(row=row)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DecisionScreen), what="detail")
    await settle(pilot)
    return app.screen


async def test_a_decision_row_explains_itself_in_sections(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        await app.send(COMPLEX)
        await wait_for(pilot, lambda: app.idle)
        screen = await _open_row(pilot, 0)
        assert screen.entry.event == "decision"
        summary = _text(screen, "#detail-summary")
        assert "ollama" in summary and "no (routed)" in summary
        assert screen.entry.detail["id"] in summary  # the Decision's own id
        task = _text(screen, "#detail-task")
        assert screen.entry.task_type in task and "set by" in task and "“" in task
        complexity = _text(screen, "#detail-complexity")
        assert "complex" in complexity and "hard problem" in complexity
        table = screen.query_one("#detail-candidates", Static).content
        columns = [c.header for c in table.columns]
        assert columns[:3] == ["Backend", "Availability", "Model"]
        assert {"Queue", "First token", "Predicted total", "Learned (mean)"} <= set(columns)
        cells = [[str(cell) for cell in c._cells] for c in table.columns]
        assert [name.strip() for name in cells[0]] == ["lmstudio", "▸ ollama"]
        assert all("loaded" in cell for cell in cells[2])
        raw = screen.query_one("#detail-raw", Collapsible)
        assert raw.collapsed  # the raw data is there, folded away
        await pilot.press("escape")
        assert not isinstance(app.screen, DecisionScreen)


async def test_other_rows_show_the_decision_behind_them(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        screen = await _open_row(pilot, 1)
        assert screen.entry.event == "done"
        summary = _text(screen, "#detail-summary")
        assert "lmstudio" in summary and "yes, by the user" in summary
        assert "format" in _text(screen, "#detail-task")


def _signals() -> DecisionSignals:
    cls = Classification(
        task_type="debugging", complexity="complex",
        matches={"debugging": ("fix", "bug"), "analysis": ("analyze",)},
        type_scores={"debugging": 4.0, "analysis": 3.0}, complexity_score=4.5,
        contributions={"hard problem": 4.0, "length": 0.5}, complexity_words=("race condition",),
    )
    return DecisionSignals(
        classification=cls, rule="learned", learning="3 of 3 outcomes",
        candidates=(
            CandidateSignal("lmstudio", "fast", "up", "qwen", True,
                            predicted=Prediction(0.0, 0.0, 0.4, 2.0, ahead=0, measured=True),
                            learned=Estimate(0.62, 13, 8, 9.0, 5.0)),
            CandidateSignal("ollama", "strong", "up", "codellama:34b", False, cooling=True,
                            failures=3,
                            predicted=Prediction(12.0, 8.0, 1.5, 30.0, ahead=2, measured=False),
                            learned=Estimate(0.8, 0, 0, 3.2, 0.8)),
        ),
        tiers=(TierSignal("fast", "lmstudio", 0.62, 13, None, 0.0, 0.62),),
    )  # fmt: skip


def test_explain_reads_the_router_signals():
    why = explain(_signals(), backend="lmstudio", model="qwen", forced=False,
                  reason="learned that the fast tier does as well")
    assert ("set by", "“fix”, “bug”") in why.task
    assert ("also matched", "analysis (3.00): “analyze”") in why.task
    assert ("  hard problem", "+4.00") in why.complexity
    assert ("complexity words", "“race condition”") in why.complexity
    lm, ol = why.candidates
    assert lm["backend"] == "▸ lmstudio" and ol["backend"] == "  ollama"
    assert ol["status"] == "cooling down (3 failures)"
    assert lm["loaded"] == "loaded" and ol["loaded"] == "cold — will load (8.00 s)"
    assert ol["queue"] == "12.0 s (2 ahead)" and lm["queue"] == "none"
    assert lm["ttft"] == "400 ms" and lm["total"] == "2.40 s" and ol["total"] == "51.5 s (guess)"
    assert lm["learned"] == "0.62 (8/13 good)" and ol["learned"] == "0.80 (prior only)"
    assert why.tiers == [("fast → lmstudio", "mean 0.62, samples 13, time cost 0.00, value 0.62")]
    assert why.other == [("learning", "3 of 3 outcomes")]
    assert ("rule", "learned") in why.summary


def test_signals_survive_the_json_round_trip():
    signals = _signals()
    again = DecisionSignals.from_dict(json.loads(json.dumps(signals.to_dict())))
    assert explain(again, backend="lmstudio") == explain(signals, backend="lmstudio")


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"predicted": "soon", "bandit": [1, 2], "loaded": {"x": None}},
        {"candidates": {"a": {"weird": True}}, "predicted": {"a": {"total_s": "n/a"}}},
        {"contributions": {"length": "long"}, "matches": ["not", "a", "mapping"]},
        {"task_type": "edit", "words": "edit", "history": {"a": [3, 4]}},
    ],
)
def test_a_record_of_another_shape_still_reads(data):
    why = explain(DecisionSignals.from_dict(data), backend="a")
    for row in why.candidates:
        assert set(row) >= {"backend", "status", "total", "learned"}
    rows = why.summary + why.task + why.complexity + why.tiers + why.other
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rows)


def test_the_decision_id_is_shown():
    why = explain(DecisionSignals(), backend="a", decision_id="0123456789ab")
    assert ("decision id", "0123456789ab") in why.summary
