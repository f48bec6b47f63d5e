"""The routing row's varied worlds (``python -m benchmarks.routing_worlds``): every variant
runs and leaves the routing module's world as it found it. No figure is asserted."""

from __future__ import annotations

import copy

import pytest

from benchmarks import routing as R
from benchmarks import routing_worlds as W


@pytest.mark.parametrize("label", list(W.VARIANTS))
def test_a_variant_changes_the_world_only_while_it_runs(label: str) -> None:
    success, gap, worlds = copy.deepcopy(R.SUCCESS), R.MEAN_GAP_S, R.WORLDS
    with W._restored():
        changed = W.VARIANTS[label]()
        assert {w.name for w in changed} == {w.name for w in worlds}
    assert (success, gap, worlds) == (R.SUCCESS, R.MEAN_GAP_S, R.WORLDS)


def test_measure_gives_the_routing_rows_figures() -> None:
    ratio, worst = W.measure(R.WORLDS[0], runs=1)
    assert 0 < ratio < 1 and 0 <= worst <= 100
