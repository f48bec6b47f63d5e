"""router: decision overhead per prompt over 10,000 varied prompts (deterministic, seeded).

Two figures per percentile: ``RouterService.route()`` as a prompt pays it (classify, the
learned history from SQLite with some recorded outcomes in it, decide), and the pure
functions alone (``classify`` + ``decide``). No I/O to any backend; health is "unknown",
which the decision treats as available.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from benchmarks.common import Figure, Row, Settings, Target, percentile
from benchmarks.simproc import config_for
from hybrid_tui.config import Config
from hybrid_tui.router.classify import classify
from hybrid_tui.router.decide import decide
from hybrid_tui.router.service import RouterService
from hybrid_tui.store import Outcome

SEED = 20_240_601
#: a prompt and its context files
Case = tuple[str, tuple[tuple[str, str], ...]]

_VERBS = (
    "format", "reformat", "edit", "rename", "fix", "debug", "refactor", "restructure",
    "analyze", "analyse", "review", "explain", "plan", "design", "write", "generate",
    "scaffold", "create", "convert", "optimize", "document", "test", "migrate", "summarise",
)
_OBJECTS = (
    "this function", "the class below", "a REST API", "the parser", "this SQL query",
    "a quicksort in rust", "the build script", "the whole system architecture",
    "this React component", "a CLI with argparse", "the failing test", "this regex",
    "a Dockerfile", "the database schema", "a boilerplate Flask app", "the config loader",
)
_QUALIFIERS = (
    "", "quickly", "please", "across multiple files", "step by step", "in detail",
    "with type hints", "for production", "keeping the behaviour", "it's a complex one",
    "simple change only", "and explain the trade-offs", "using async", "for the whole repo",
)
_CODE = (
    "def add(a, b):\n    return a + b\n",
    "for (let i = 0; i < n; i++) { total += xs[i]; }\n",
    "SELECT id, name FROM users WHERE created > NOW() - INTERVAL '1 day';\n",
    "fn main() { println!(\"héllo → wörld\"); }\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n",
)


def prompts(n: int, seed: int = SEED) -> list[Case]:
    """``n`` (prompt, context) pairs: 2 words to a few KB, with code, context files and
    non-ASCII text in varying measure. The same seed gives the same list."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = [rng.choice(_VERBS), rng.choice(_OBJECTS)]
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            words.append(rng.choice(_QUALIFIERS))
        text = " ".join(w for w in words if w)
        if rng.random() < 0.3:
            text = text.capitalize() + "?"
        if rng.random() < 0.4:
            code = "".join(rng.choice(_CODE) for _ in range(rng.choice((1, 2, 5, 20, 60))))
            text += f"\n\n```\n{code}```"
        context: tuple[tuple[str, str], ...] = ()
        if rng.random() < 0.15:
            body = "".join(rng.choice(_CODE) for _ in range(rng.randint(5, 80)))
            context = tuple((f"src/file{i}.py", body) for i in range(rng.randint(1, 4)))
        out.append((text, context))
    return out


def run(settings: Settings) -> Row:
    n = settings.size(10_000, 1_000)
    row = Row("router", f"decision overhead over {n:,} varied prompts")
    cases = prompts(n)
    config = config_for("http://127.0.0.1:9", "http://127.0.0.1:9")
    service = RouterService(config, poll=False)
    try:
        _seed_history(service, settings.size(2_000, 200))
        route = _timed_route(service)
        pure = _timed_pure(service)
        routes = [route(cases) for _ in range(settings.runs + 1)][1:]
        pures = [pure(cases) for _ in range(settings.runs + 1)][1:]
    finally:
        if service.store is not None:
            service.store.close()
    for label, samples in (("route()", routes), ("classify + decide", pures)):
        row.add(Figure(f"{label} p50", "µs", [percentile(s, 50) for s in samples],
                       targets=(Target("<=", 100),)))
        row.add(Figure(f"{label} p99", "µs", [percentile(s, 99) for s in samples],
                       targets=(Target("<=", 1000),)))
    row.notes.append(f"seed {SEED}; route() reads the learned history from SQLite "
                     f"({settings.size(2_000, 200):,} outcomes recorded first)")
    return row


def _seed_history(service: RouterService, count: int) -> None:
    rng = random.Random(SEED + 1)
    for _ in range(count):
        service.learner.record(Outcome(
            task_type=rng.choice(("format", "edit", "analysis", "general", "refactor")),
            complexity=rng.choice(("simple", "medium", "complex")),
            backend=rng.choice(("lmstudio", "ollama")), model="m",
            confidence=rng.random(), ttft_ms=100.0, tokens_per_s=50.0,
        ))


def _timed_route(service: RouterService) -> Callable[[list[Case]], list[float]]:
    def once(cases: list[Case]) -> list[float]:
        clock = time.perf_counter_ns
        out = []
        for text, context in cases:
            start = clock()
            service.route(text, context)
            out.append((clock() - start) / 1000)
        return out

    return once


def _timed_pure(service: RouterService) -> Callable[[list[Case]], list[float]]:
    candidates = service.candidates()
    config: Config = service.config

    def once(cases: list[Case]) -> list[float]:
        clock = time.perf_counter_ns
        out = []
        for text, context in cases:
            start = clock()
            decide(classify(text, context), candidates,
                   default_provider=config.routing.default_provider)
            out.append((clock() - start) / 1000)
        return out

    return once
