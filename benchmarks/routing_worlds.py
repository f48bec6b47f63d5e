"""Routing quality in worlds other than the routing row's: a check against tuning the policy
to the one simulated world (``python -m benchmarks.routing_worlds [--runs N]``).

Each variant changes one thing of the routing row's world (:mod:`benchmarks.routing`: its
success tables, the backends' speeds, how often prompts arrive) and runs the same routers
on it; the figures are the routing row's (``regret_ratio``, worst task type's learned =
oracle). Not a row of ``python -m benchmarks``: the variants have no targets. To compare two
trees, run this file with each tree first on ``PYTHONPATH`` (it only uses what both
``benchmarks.routing`` versions have).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from benchmarks import routing as R

#: a world change: it edits the routing module's tables and returns the worlds to run in
Variant = Callable[[], tuple["R.World", ...]]


def _shift(tier: str, by: float) -> None:
    R.SUCCESS[tier] = {t: min(0.98, max(0.02, p + by)) for t, p in R.SUCCESS[tier].items()}


def _speeds(fast: float, strong: float) -> tuple[R.World, ...]:
    def change(b: R.SimBackend) -> R.SimBackend:
        scale = (fast / 90.0) if b.tier == "fast" else (strong / 28.0)
        return replace(b, tokens_per_s=b.tokens_per_s * scale)

    return tuple(replace(w, backends=tuple(change(b) for b in w.backends)) for w in R.WORLDS)


def _gap(seconds: float) -> tuple[R.World, ...]:
    R.MEAN_GAP_S = seconds
    return R.WORLDS


def _table(fast: dict[str, float], strong: dict[str, float]) -> tuple[R.World, ...]:
    R.SUCCESS["fast"], R.SUCCESS["strong"] = fast, strong
    return R.WORLDS


def _fast_close() -> tuple[R.World, ...]:
    R.SUCCESS["fast"] = {t: p - 0.04 for t, p in R.SUCCESS["strong"].items()}
    return R.WORLDS


def _fast_weak() -> tuple[R.World, ...]:
    _shift("fast", -0.15)
    return R.WORLDS


VARIANTS: dict[str, Variant] = {
    "as in the routing row": lambda: R.WORLDS,
    "prompts every 4 s": lambda: _gap(4.0),
    "prompts every 20 s": lambda: _gap(20.0),
    "fast tier 0.04 below strong everywhere": _fast_close,
    "fast tier 0.15 worse": _fast_weak,
    "other success table": lambda: _table(
        {"format": 0.85, "edit": 0.70, "debugging": 0.80, "refactor": 0.60, "analysis": 0.75},
        {"format": 0.90, "edit": 0.90, "debugging": 0.85, "refactor": 0.88, "analysis": 0.80},
    ),
    "speeds 50 / 40 tok/s": lambda: _speeds(50.0, 40.0),
    "speeds 120 / 12 tok/s": lambda: _speeds(120.0, 12.0),
}


@contextmanager
def _restored() -> Iterator[None]:
    """Put the routing module's tables back after a variant changed them."""
    success = {tier: dict(table) for tier, table in R.SUCCESS.items()}
    gap = R.MEAN_GAP_S
    try:
        yield
    finally:
        R.SUCCESS.clear()
        R.SUCCESS.update(success)
        R.MEAN_GAP_S = gap


def measure(world: R.World, runs: int) -> tuple[float, float]:
    """(median regret_ratio, median worst-type learned = oracle %) over ``runs`` seeds."""
    ratios, worst = [], []
    for i in range(runs):
        prompts = R.draw_prompts(R.PROMPTS, R.SEED + i)
        ours = R.simulate("ours", prompts, R.SEED + 1000 + i, world)
        rand = R.simulate("random", prompts, R.SEED + 1000 + i, world)
        ratios.append(ours.regret / rand.regret)
        worst.append(100 * min(t[0] / t[2] for t in ours.agree.values() if t[2]))
    return statistics.median(ratios), statistics.median(worst)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.routing_worlds",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10, help="seeds per world (default 10)")
    args = p.parse_args(argv)
    print(f"{'variant':42} {'world':15} {'regret_ratio':>12} {'worst type':>10}")
    for label, variant in VARIANTS.items():
        with _restored():
            for world in variant():
                ratio, worst = measure(world, args.runs)
                print(f"{label:42} {world.name:15} {ratio:12.3f} {worst:9.1f}%", flush=True)


if __name__ == "__main__":
    main()
