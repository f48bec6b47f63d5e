"""Typed decision signals: built by decide and policy, written as a stable dict, read back."""

from __future__ import annotations

import json

from hybrid_tui.events import Decision, event_to_dict
from hybrid_tui.router.bandit import Bandit
from hybrid_tui.router.classify import classify
from hybrid_tui.router.decide import Candidate
from hybrid_tui.router.policy import choose
from hybrid_tui.router.signals import DecisionSignals

FAST = Candidate("lmstudio", "fast", ("format",), "up", "small", loaded=True)
STRONG = Candidate("ollama", "strong", ("analysis",), "up", "big", loaded=False, queue=1,
                   cooling=False)
COOLING = Candidate("ollama-2", "strong", (), "up", "big", cooling=True, failures=3)


def test_a_choice_carries_every_candidate_with_its_prediction_and_estimate():
    choice = choose(classify("analyze this complex system"), [FAST, STRONG, COOLING],
                    bandit=Bandit())
    signals = choice.signals
    assert [c.name for c in signals.candidates] == ["lmstudio", "ollama", "ollama-2"]
    assert all(c.predicted is not None and c.learned is not None for c in signals.candidates)
    assert signals.candidate("ollama-2").availability == "cooling down (3 failures)"
    assert signals.rule == choice.rule and signals.words == ("analyze",)


def test_the_dict_is_stable_and_reads_back_to_the_same_signals():
    choice = choose(classify("refactor the whole codebase"), [FAST, STRONG, COOLING],
                    bandit=Bandit())
    data = json.loads(json.dumps(choice.signals.to_dict()))
    for key in ("task_type", "complexity", "matches", "contributions", "words", "rule",
                "candidates", "availability", "loaded", "predicted", "bandit", "cooling"):
        assert key in data, key
    again = DecisionSignals.from_dict(data)
    assert again.to_dict() == data


def test_a_decision_event_writes_its_signals_as_that_dict():
    signals = choose(classify("format this"), [FAST, STRONG]).signals
    decision = Decision("lmstudio", "small", "format", "simple", "why", signals=signals)
    line = event_to_dict(decision)
    assert line["event"] == "decision" and line["signals"] == signals.to_dict()
    assert line["id"] == decision.id


def test_a_saved_turn_keeps_its_decision_signals_typed():
    from hybrid_tui.session import Turn, turn_from_record, turn_to_record

    signals = choose(classify("refactor the whole codebase"), [FAST, STRONG],
                     bandit=Bandit()).signals
    decision = Decision("ollama", "big", "refactor", "complex", "why", signals=signals)
    turn = Turn(number=1, prompt="refactor the whole codebase", status="done",
                decision=decision)
    record = json.loads(json.dumps(turn_to_record(turn)))
    back = turn_from_record(record).decision
    assert back is not None and isinstance(back.signals, DecisionSignals)
    assert back.signals.to_dict() == signals.to_dict() and back.id == decision.id


def test_a_classifier_override_is_said_and_read_back():
    signals = DecisionSignals(override_task_type="refactor", override_complexity="")
    data = signals.to_dict()
    assert data["classifier_override"] == {"task_type": "refactor", "complexity": None}
    assert DecisionSignals.from_dict(data).override_task_type == "refactor"
    assert "classifier_override" not in DecisionSignals().to_dict()
