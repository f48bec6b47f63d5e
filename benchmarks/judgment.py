"""judgment: does the router send a prompt to the tier a person would?

``python -m benchmarks judgment``. The labelled prompts in ``tests/data/`` (written for this
project; each with the tier, task type and complexity a person gave it, see the header of
``routing_prompts.yaml``) are classified and routed by the real code — :func:`classify` and
:func:`hybrid_tui.router.policy.choose` over the default config's two backends, both up,
nothing learned yet — and the chosen tier is compared with the person's. Two splits: the
tuning split (the classifier was tuned on it) and the held-out split (never read while
tuning). The seed's classifier and decision matrix (:mod:`benchmarks.seed`) on the same
prompts are the reference.

``python -m benchmarks.judgment`` lists the tuning split's disagreements (for tuning; the
held-out split's only with ``--holdout``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks import seed
from benchmarks.common import Figure, Row, Settings, Target
from hybrid_tui.config import default_config
from hybrid_tui.router.classify import COMPLEXITIES, TASK_TYPES, classify
from hybrid_tui.router.decide import Candidate
from hybrid_tui.router.policy import choose

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
TUNING = DATA / "routing_prompts.yaml"
HELD_OUT = DATA / "routing_prompts_holdout.yaml"
SPLITS = {"tuning": TUNING, "held-out": HELD_OUT}
TIERS = ("fast", "strong")


@dataclass(frozen=True, slots=True)
class Labelled:
    """One prompt and the person's labels."""

    prompt: str
    tier: str
    task_type: str
    complexity: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the router made of one labelled prompt."""

    case: Labelled
    tier: str
    task_type: str
    complexity: str


def load(path: Path) -> list[Labelled]:
    """The labelled prompts of one split; ``ValueError`` names a bad entry."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for i, entry in enumerate(entries, 1):
        case = Labelled(str(entry["prompt"]), entry["tier"], entry["task_type"],
                        entry["complexity"])
        if (case.tier not in TIERS or case.task_type not in TASK_TYPES
                or case.complexity not in COMPLEXITIES or not case.prompt.strip()):
            raise ValueError(f"{path.name}: entry {i} has a bad label: {entry!r}")
        out.append(case)
    return out


def _candidates() -> list[Candidate]:
    config = default_config(env={})
    return [Candidate(name, b.tier, b.task_types, "up", "model", loaded=True)
            for name, b in config.backends.items() if b.enabled]


def judge(cases: list[Labelled]) -> list[Verdict]:
    """Our classifier and routing rules on every case (nothing learned, both backends up)."""
    candidates = _candidates()
    tiers = {c.name: c.tier for c in candidates}
    out = []
    for case in cases:
        cls = classify(case.prompt)
        pick = choose(cls, candidates).backend
        out.append(Verdict(case, tiers[pick], cls.task_type, cls.complexity))
    return out


def judge_seed(cases: list[Labelled]) -> list[Verdict]:
    """The seed's classifier and matrix on every case."""
    tiers = {seed.FAST: "fast", seed.STRONG: "strong"}
    out = []
    for case in cases:
        task, level = seed.task_type(case.prompt), seed.complexity(case.prompt)
        out.append(Verdict(case, tiers[seed.decide(task, level)], task, level))
    return out


def share(verdicts: list[Verdict], field: str) -> float:
    """Per cent of verdicts whose ``field`` equals the person's label."""
    same = sum(getattr(v, field) == getattr(v.case, field) for v in verdicts)
    return 100 * same / len(verdicts)


def run(settings: Settings) -> Row:
    splits = {name: load(path) for name, path in SPLITS.items()}
    sizes = ", ".join(f"{name} {len(cases)}" for name, cases in splits.items())
    row = Row("judgment", f"tier chosen vs a person's, labelled prompts ({sizes})")
    for name, cases in splits.items():
        ours, theirs = judge(cases), judge_seed(cases)
        row.add(Figure(f"tier agreement ({name})", "%", [share(ours, "tier")],
                       reference=f"seed's tier agreement ({name})",
                       targets=(Target(">=", 95),)))
        row.add(Figure(f"seed's tier agreement ({name})", "%", [share(theirs, "tier")]))
        row.add(Figure(f"task type agreement ({name})", "%", [share(ours, "task_type")]))
        row.add(Figure(f"complexity agreement ({name})", "%", [share(ours, "complexity")]))
        misses = [v for v in ours if v.tier != v.case.tier]
        wrong = {"fast": 0, "strong": 0}
        for v in misses:
            wrong[v.tier] += 1
        row.notes.append(f"{name}: {len(misses)} of {len(cases)} tiers differ "
                         f"({wrong['fast']} sent fast that the person sends strong, "
                         f"{wrong['strong']} the other way)")
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.judgment",
                                description="List where the router's tier differs from the "
                                "person's (the tuning split unless --holdout).")
    p.add_argument("--holdout", action="store_true", help="the held-out split instead")
    p.add_argument("--all", action="store_true", help="also task type / complexity misses")
    args = p.parse_args(argv)
    verdicts = judge(load(HELD_OUT if args.holdout else TUNING))
    for v in verdicts:
        c = v.case
        if v.tier != c.tier or (args.all and (v.task_type, v.complexity)
                                != (c.task_type, c.complexity)):
            mark = "TIER" if v.tier != c.tier else "    "
            print(f"{mark} want {c.tier}/{c.task_type}/{c.complexity} got "
                  f"{v.tier}/{v.task_type}/{v.complexity}: {c.prompt[:110]!r}")
    print(f"tier {share(verdicts, 'tier'):.1f} %, task type {share(verdicts, 'task_type'):.1f} %,"
          f" complexity {share(verdicts, 'complexity'):.1f} % of {len(verdicts)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
