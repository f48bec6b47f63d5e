"""The labelled prompt set in tests/data: well-formed, big enough, the splits disjoint, and
the router's tier agreement on the tuning split kept at the level it was tuned to."""

from __future__ import annotations

from benchmarks.judgment import HELD_OUT, TUNING, judge, load, share


def test_both_splits_load_and_hold_at_least_200_distinct_prompts():
    tuning, held_out = load(TUNING), load(HELD_OUT)
    prompts = [c.prompt.strip().lower() for c in tuning + held_out]
    assert len(prompts) >= 200
    assert len(set(prompts)) == len(prompts), "a prompt is labelled twice"
    assert len(held_out) >= 50


def test_every_label_value_is_used_in_both_splits():
    for cases in (load(TUNING), load(HELD_OUT)):
        assert {c.tier for c in cases} == {"fast", "strong"}
        assert {c.complexity for c in cases} == {"simple", "medium", "complex"}
        assert len({c.task_type for c in cases}) == 9
        assert any("\n" in c.prompt for c in cases)


def test_the_router_agrees_with_the_person_on_the_tuning_split():
    """The classifier was tuned to this split; a change that loses agreement shows here. (The
    held-out split is only reported by ``python -m benchmarks judgment``, never asserted.)"""
    verdicts = judge(load(TUNING))
    assert share(verdicts, "tier") >= 95.0
