"""routing: how good the router's choices are, against an oracle that knows the truth.

``python -m benchmarks routing [--json]``. Two simulated worlds, each with backends of known
per-task-type success probabilities, speeds and queueing (:class:`World`, :data:`SUCCESS`):

- ``two backends`` (the seed's world): ``lmstudio`` (fast tier) and ``ollama`` (strong tier),
  the default config's two;
- ``three backends``: ``lmstudio`` plus two Ollama hosts, ``ollama-a`` and ``ollama-b`` (the
  second starts with its model unloaded), to show queue- and load-aware routing.

In each world 1,000 prompts of mixed task types and complexities are drawn from a fixed seed
(one more seed per extra run), and these routers see the same prompts and the same dice:

- ``random``: a backend uniformly at random among those available;
- ``static``: the seed's decision matrix (:mod:`benchmarks.seed`: its fast and complex
  task-type lists, complex -> Ollama, the rest by a history lookup that never finds a record,
  so Ollama), given the prompt's true task type and complexity; in the three-backend world
  the seed's one Ollama endpoint is the first Ollama host;
- ``ours``: :func:`hybrid_tui.router.policy.choose` with the real
  :class:`~hybrid_tui.router.bandit.Bandit` (Thompson sampling) and
  :class:`~hybrid_tui.router.predict.SpeedModel`, fed only what the app would see;
- ``oracle``: knows the success probabilities and the true service times;
- for reference, ``greedy``: ``ours`` without exploration (posterior means, no draws).

How outcomes are simulated (in-process, on a simulated clock; no HTTP, so 1,000 prompts take
well under a second): prompts arrive with exponential gaps (mean :data:`MEAN_GAP_S`); each
backend serves ``slots`` requests at once in FIFO order; a reply takes the backend's first
token time plus its length (drawn around the task type's mean) over its tok/s, plus a cold
load when its model is not in memory (an idle Ollama model is unloaded after
:data:`KEEP_ALIVE_S`, as Ollama does). A reply is good with the backend's probability for
the task type and complexity (one uniform draw per prompt, shared by every router, so they
face the same luck). ``ours`` learns from each outcome as the app does (bandit verdict, TTFT,
tok/s, Ollama's ``load_duration``) and sees the queues and loaded state the health monitor
and limiters would show.

The value of sending a prompt to a backend is the user's, as the router is configured:
P(good reply) minus ``slowdown_cost`` (0.1) per doubling of the expected completion time over
the fastest backend's; a medium prompt may not wait more than ``max_slowdown`` (4×) times the
fast tier's time on the strong tier (the oracle obeys that setting too). Regret per prompt is
the oracle's expected value minus the chosen backend's (a strong answer ruled out by
``max_slowdown`` is worth no more than the best fast one), both in the state the router left
the queues in; the figures are its sum over the run (``regret_ratio`` = ours / random's), the
share of prompts sent to the strong tier, the mean completion time, and how often the
learned choice (posterior means, no exploration) matches the oracle's once a task type has
been seen 100 times (exactly, and within 0.05 of the oracle's value: a near-tie).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks import seed
from benchmarks.common import Figure, Row, Settings, Target
from hybrid_tui.router.bandit import Bandit, PassRate
from hybrid_tui.router.classify import Classification
from hybrid_tui.router.decide import Candidate
from hybrid_tui.router.policy import Settings as Policy
from hybrid_tui.router.policy import choose, time_cost
from hybrid_tui.router.predict import SpeedModel

SEED = 20_250_806
PROMPTS = 1_000
MEAN_GAP_S = 8.0
#: an idle Ollama model is unloaded after this (OLLAMA_KEEP_ALIVE, 5 minutes)
KEEP_ALIVE_S = 300.0
#: the learned choice is compared with the oracle's once a task type was seen this often
LEARNED_AFTER = 100
#: a learned choice this close to the oracle's value counts as a near agreement
NEAR = 0.05
POLICY = Policy(max_slowdown=4.0, slowdown_cost=0.1)


@dataclass(frozen=True, slots=True)
class SimBackend:
    """A backend's truth: tier, config task types, speed, parallel slots, cold-load time,
    and its model's HumanEval result (what ``hybrid-tui benchmark`` stored for it)."""

    name: str
    tier: str
    task_types: tuple[str, ...]
    ttft_s: float
    tokens_per_s: float
    slots: int
    load_s: float
    loaded: bool
    reports_load: bool  # Ollama says its load_duration; LM Studio does not
    model: str = "model"
    humaneval: PassRate | None = None


#: the HumanEval shares the project's simulated models are built to pass (README: about 45 %
#: for the small "LM Studio" model, 80 % for the big "Ollama" one), over the 164 problems
SMALL_MODEL_PASSES = PassRate(74, 164)
BIG_MODEL_PASSES = PassRate(131, 164)

_FAST_TYPES = ("template", "edit", "format", "boilerplate")
_STRONG_TYPES = ("analysis", "planning", "complex", "multi-file")
LMSTUDIO = SimBackend("lmstudio", "fast", _FAST_TYPES, 0.3, 90.0, 2, 6.0, True, False,
                      "qwen2.5-coder-7b", SMALL_MODEL_PASSES)


@dataclass(frozen=True, slots=True)
class World:
    """A scenario: its backends in config order, and which one the seed calls Ollama."""

    name: str
    backends: tuple[SimBackend, ...]
    seed_ollama: str


WORLDS = (
    World("two backends", (
        LMSTUDIO,
        SimBackend("ollama", "strong", _STRONG_TYPES, 0.9, 28.0, 1, 20.0, True, True,
                   "codellama:34b", BIG_MODEL_PASSES),
    ), "ollama"),
    World("three backends", (
        LMSTUDIO,
        SimBackend("ollama-a", "strong", _STRONG_TYPES, 0.9, 28.0, 1, 20.0, True, True,
                   "codellama:34b", BIG_MODEL_PASSES),
        SimBackend("ollama-b", "strong", _STRONG_TYPES, 1.0, 24.0, 1, 25.0, False, True,
                   "codellama:34b", BIG_MODEL_PASSES),
    ), "ollama-a"),
)  # fmt: skip
#: task type -> (share of prompts, mean reply tokens)
TASKS = {
    "format": (0.20, 150),
    "edit": (0.25, 200),
    "debugging": (0.20, 350),
    "refactor": (0.15, 400),
    "analysis": (0.20, 600),
}
COMPLEXITY_MIX = (("simple", 0.4), ("medium", 0.4), ("complex", 0.2))
#: tier -> task type -> success probability of a simple prompt; minus the complexity penalty
SUCCESS = {
    "fast": {"format": 0.95, "edit": 0.90, "debugging": 0.70, "refactor": 0.75, "analysis": 0.55},
    "strong": {"format": 0.95, "edit": 0.93, "debugging": 0.90, "refactor": 0.90,
               "analysis": 0.90},
}
PENALTY = {
    "fast": {"simple": -0.03, "medium": 0.10, "complex": 0.35},
    "strong": {"simple": -0.02, "medium": 0.0, "complex": 0.08},
}


def p_good(b: SimBackend, task: str, complexity: str) -> float:
    return min(0.98, max(0.02, SUCCESS[b.tier][task] - PENALTY[b.tier][complexity]))


@dataclass(frozen=True, slots=True)
class Prompt:
    arrival: float
    task: str
    complexity: str
    tokens: int
    luck: float  # the reply is good when luck < p


def draw_prompts(n: int, seed: int) -> list[Prompt]:
    """``n`` prompts: arrival times, task type, complexity, true length, luck."""
    rng = random.Random(seed)
    tasks, weights = zip(*((t, w) for t, (w, _) in TASKS.items()), strict=True)
    kinds, kind_weights = zip(*COMPLEXITY_MIX, strict=True)
    clock, out = 0.0, []
    for _ in range(n):
        clock += rng.expovariate(1 / MEAN_GAP_S)
        task = rng.choices(tasks, weights)[0]
        mean = TASKS[task][1]
        out.append(Prompt(clock, task, rng.choices(kinds, kind_weights)[0],
                          max(1, round(mean * rng.uniform(0.6, 1.4))), rng.random()))
    return out


@dataclass(slots=True)
class Server:
    """One backend's queue and memory on the simulated clock."""

    spec: SimBackend
    free_at: list[float] = field(default_factory=list)  # when each slot frees up
    ends: list[float] = field(default_factory=list)  # ends of accepted requests
    starts: list[float] = field(default_factory=list)  # their starts (same order)
    tasks: list[str] = field(default_factory=list)  # their task types (same order)
    loaded_at: float | None = None  # when the model is (or will be) in memory
    last_end: float = 0.0

    def __post_init__(self) -> None:
        self.free_at = [0.0] * self.spec.slots
        self.loaded_at = 0.0 if self.spec.loaded else None

    def settle(self, now: float) -> None:
        """Unload an idle model whose keep-alive ran out."""
        if (self.loaded_at is not None and self.loaded_at <= now and self.spec.reports_load
                and self.last_end + KEEP_ALIVE_S < now and all(e <= now for e in self.ends)):
            self.loaded_at = None
        kept = [(s, e, t) for s, e, t in zip(self.starts, self.ends, self.tasks, strict=True)
                if e > now]
        self.starts = [s for s, _, _ in kept]
        self.ends = [e for _, e, _ in kept]
        self.tasks = [t for _, _, t in kept]

    def busy_for(self, now: float) -> tuple[float, ...]:
        """How long each request in service now has run (what the app's limiter knows)."""
        return tuple(now - s for s, e in zip(self.starts, self.ends, strict=True)
                     if s <= now < e)

    def loaded(self, now: float) -> bool:
        return self.loaded_at is not None and self.loaded_at <= now

    def start_at(self, now: float) -> float:
        return max(now, min(self.free_at))

    def service(self, start: float, tokens: float) -> tuple[float, bool]:
        """(seconds from start to the last token, whether it pays a cold load)."""
        cold = self.loaded_at is None or self.loaded_at > start
        load = 0.0
        if self.loaded_at is None:
            load = self.spec.load_s
        elif self.loaded_at > start:
            load = self.loaded_at - start
        return load + self.spec.ttft_s + tokens / self.spec.tokens_per_s, cold

    def expected_total(self, now: float, tokens: float) -> float:
        start = self.start_at(now)
        return start - now + self.service(start, tokens)[0]

    def serve(self, now: float, tokens: int, task: str) -> tuple[float, bool, float]:
        """Accept a request: (end time, cold, load seconds)."""
        start = self.start_at(now)
        seconds, cold = self.service(start, tokens)
        load = 0.0
        if self.loaded_at is None:
            self.loaded_at = start + self.spec.load_s
            load = self.spec.load_s
        end = start + seconds
        i = self.free_at.index(min(self.free_at))
        self.free_at[i] = end
        self.ends.append(end)
        self.starts.append(start)
        self.tasks.append(task)
        self.last_end = max(self.last_end, end)
        return end, cold, load


Router = Callable[[Classification, list[Candidate]], str]


@dataclass(slots=True)
class Run:
    """One router's pass over the prompts."""

    name: str
    regret: float = 0.0
    strong: int = 0
    completion: list[float] = field(default_factory=list)
    #: task type -> [exact agreements, near agreements, comparisons] of the learned choice
    #: once LEARNED_AFTER prompts of the type were seen
    agree: dict[str, list[int]] = field(default_factory=dict)


def values(servers: dict[str, Server], prompt: Prompt) -> dict[str, float]:
    """Each backend's true expected value for ``prompt`` now (see the module docstring)."""
    mean = TASKS[prompt.task][1]
    times = {n: s.expected_total(prompt.arrival, mean) for n, s in servers.items()}
    fastest = min(times.values())
    out = {n: p_good(s.spec, prompt.task, prompt.complexity)
           - time_cost(times[n], fastest, POLICY.slowdown_cost) for n, s in servers.items()}
    if prompt.complexity == "medium":
        fast = {n: t for n, t in times.items() if servers[n].spec.tier == "fast"}
        best_fast = max(out[n] for n in fast)
        for n, t in times.items():
            if servers[n].spec.tier == "strong" and t > POLICY.max_slowdown * min(fast.values()):
                # the user's max_slowdown: such a late answer is worth no more than the fast one
                out[n] = min(out[n], best_fast - 1e-9)
    return out


def candidates(servers: dict[str, Server], now: float) -> list[Candidate]:
    """The backends as the router sees them: all up, loaded state, our own queues, how
    long the requests in service have run and what each queued request asks."""
    return [
        Candidate(s.spec.name, s.spec.tier, s.spec.task_types, "up", s.spec.model,
                  loaded=s.loaded(now), queue=len(s.ends), slots=s.spec.slots,
                  busy_s=s.busy_for(now), queued_tasks=tuple(s.tasks))
        for s in servers.values()
    ]


def static_pick(world: World, cls: Classification) -> str:
    """The seed's matrix: its Ollama is the world's first Ollama host."""
    pick = seed.decide(cls.task_type, cls.complexity)
    return world.seed_ollama if pick == seed.STRONG else pick


def simulate(name: str, prompts: list[Prompt], dice: int, world: World = WORLDS[1]) -> Run:
    """Route every prompt with router ``name`` in ``world`` and account the regret."""
    rng = random.Random(dice)
    servers = {b.name: Server(b) for b in world.backends}
    bandit, speeds = Bandit(), SpeedModel()
    bandit.load_pass_rates({(b.name, b.model): b.humaneval for b in world.backends
                            if b.humaneval is not None})
    run = Run(name)
    seen: dict[str, int] = {}
    for prompt in prompts:
        for server in servers.values():
            server.settle(prompt.arrival)
        cls = Classification(task_type=prompt.task, complexity=prompt.complexity)
        cands = candidates(servers, prompt.arrival)
        worth = values(servers, prompt)
        best = max(worth, key=lambda n: worth[n])
        if name == "random":
            pick = rng.choice(cands).name
        elif name == "static":
            pick = static_pick(world, cls)
        elif name == "oracle":
            pick = best
        else:
            explore = rng if name == "ours" else None
            pick = choose(cls, cands, settings=POLICY, bandit=bandit, speeds=speeds,
                          rng=explore).backend
            seen[prompt.task] = seen.get(prompt.task, 0) + 1
            if seen[prompt.task] > LEARNED_AFTER:
                learned = choose(cls, cands, settings=POLICY, bandit=bandit, speeds=speeds)
                tally = run.agree.setdefault(prompt.task, [0, 0, 0])
                tally[0] += learned.backend == best
                tally[1] += worth[best] - worth[learned.backend] <= NEAR
                tally[2] += 1
        run.regret += worth[best] - worth[pick]
        server = servers[pick]
        end, cold, load = server.serve(prompt.arrival, prompt.tokens, prompt.task)
        run.completion.append(end - prompt.arrival)
        run.strong += server.spec.tier == "strong"
        good = prompt.luck < p_good(server.spec, prompt.task, prompt.complexity)
        if name in ("ours", "greedy"):
            bandit.add((prompt.task, prompt.complexity), pick, good)
            spec = server.spec
            speeds.observe(
                pick, prompt.task,
                ttft_ms=((load if cold else 0.0) + spec.ttft_s) * 1000, tokens=prompt.tokens,
                tokens_per_s=spec.tokens_per_s,
                load_ms=load * 1000 if cold and spec.reports_load else None, cold=cold,
            )  # fmt: skip
    return run


def run(settings: Settings) -> Row:
    row = Row("routing", f"routing quality over {PROMPTS:,} simulated prompts "
                         f"({len(TASKS)} task types; two worlds: 2 and 3 backends)")
    for world in WORLDS:
        _world_figures(row, world, settings)
    return row


def _world_figures(row: Row, world: World, settings: Settings) -> None:
    names = ("random", "static", "ours", "greedy", "oracle")
    runs: dict[str, list[Run]] = {n: [] for n in names}
    for i in range(settings.runs):
        prompts = draw_prompts(PROMPTS, SEED + i)
        for name in names:
            runs[name].append(simulate(name, prompts, SEED + 1000 + i, world))
    w = world.name
    ratio = [o.regret / r.regret for o, r in zip(runs["ours"], runs["random"], strict=True)]
    # the three-backend world's ratio keeps the plain name the issues and JSON readers know
    name = "regret_ratio" if world is WORLDS[1] else f"regret_ratio ({w})"
    row.add(Figure(name, "×", ratio, targets=(Target("<=", 0.1),),
                   note=f"our regret / random's, {w}"))
    for label, col, target in (("", 0, (Target(">=", 90),)), (" within 0.05", 1, ())):
        worst = [min(t[col] / t[2] for t in r.agree.values() if t[2]) for r in runs["ours"]]
        row.add(Figure(f"learned = oracle after {LEARNED_AFTER}{label} (worst type, {w})",
                       "%", [100 * x for x in worst], targets=target))
    for name in ("ours", "static", "random", "greedy"):
        row.add(Figure(f"cumulative regret ({name}, {w})", "value",
                       [r.regret for r in runs[name]]))
    for name in names:
        row.add(Figure(f"strong-tier share ({name}, {w})", "%",
                       [100 * r.strong / PROMPTS for r in runs[name]]))
    for name in names:
        row.add(Figure(f"mean completion ({name}, {w})", "s",
                       [sum(r.completion) / len(r.completion) for r in runs[name]]))
    for label, col in (("exactly", 0), ("within 0.05", 1)):
        per_type = {t: [100 * r.agree[t][col] / r.agree[t][2] for r in runs["ours"]
                        if r.agree.get(t, [0, 0, 0])[2]] for t in TASKS}
        row.notes.append(
            f"{w}: learned = oracle after {LEARNED_AFTER} ({label}), worst run per type: "
            + ", ".join(f"{t} {min(v):.0f}%" for t, v in per_type.items() if v)
        )
    median = statistics.median(ratio)
    row.notes.append(f"{w}: regret_ratio={median:.4f} (median of {len(ratio)} runs, seeds from "
                     f"{SEED}); value = P(good reply) - 0.1 per doubling of completion time")
