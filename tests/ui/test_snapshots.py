"""Snapshot tests (pytest-textual-snapshot): the screens a user sees, pixel for pixel.

Deterministic by construction: fixed terminal size, no cursor blink (headless), a frozen
clock for every wall time and age, fixed timing figures, simulators with fixed replies at
unlimited speed (in a thread, since the snapshot runs the app on its own loop), and the
default endpoints ``localhost:1234``/``localhost:11434`` routed to the simulators' ephemeral
ports. Every test waits for the app to be idle (or for a stalled stream to settle) first.

Update after an intended change: ``pytest tests/ui/test_snapshots.py --snapshot-update``,
then look at the SVGs in ``tests/ui/__snapshots__/``.
"""

from __future__ import annotations

import asyncio

from hybrid_tui.config import RoutingConfig
from hybrid_tui.sim import Fault
from hybrid_tui.ui.app import HybridApp
from tests.ui.helpers import (
    SIZE,
    config_for,
    fixed_figures,
    frozen_clock,
    redirecting_factory,
    settle,
    wait_for,
)

FAST_REPLY = """\
Here is a tidier version, with type hints and a docstring:

```python
def total(items: list[float], tax: float = 0.2) -> float:
    \"\"\"Sum the items and add tax.\"\"\"
    subtotal = sum(items)
    return round(subtotal * (1 + tax), 2)
```

- `sum` replaces the manual loop
- the tax rate is a parameter with a default
"""

STRONG_REPLY = """\
## Plan

1. **Split the monolith** along the billing boundary first: it has the fewest callers.
2. Put a queue between orders and billing so either side can be deployed alone.
3. Move reads before writes; keep the old path behind a flag until the numbers match.

```text
orders ──▶ queue ──▶ billing
```
"""

FORMAT = "format this code: def total(items): ..."
PLAN = "analyze this complex system architecture and plan a migration to services"


def make_app(sims, *, theme: str = "hybrid-dark", routing: RoutingConfig | None = None,
             **kwargs) -> HybridApp:
    lmstudio, ollama, thread = sims
    thread.start()
    config = config_for("http://localhost:1234", "http://localhost:11434", theme=theme,
                        routing=routing)
    factory = redirecting_factory({1234: lmstudio.port, 11434: ollama.port})
    return HybridApp(config, service_factory=factory, clock=frozen_clock, figures=fixed_figures,
                     **kwargs)


def statuses(app: HybridApp) -> set[str]:
    return {app.sidebar.status_of(name) for name in ("lmstudio", "ollama")}


async def ready(pilot, *, expect: set[str] | None = None) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: statuses(app) == (expect or {"up"}), what="health")
    # a slow first probe on a busy machine says "down" then "back up": not part of the screen
    app.clear_notifications()
    await settle(pilot)


async def ask(pilot, prompt: str, force: str | None = None) -> None:
    app = pilot.app
    await app.send(prompt, force=force)
    await wait_for(pilot, lambda: app.idle, what="idle")
    await settle(pilot)


async def one_prompt(pilot) -> None:
    """Both backends up, then a formatting prompt answered by the fast backend."""
    await ready(pilot)
    await ask(pilot, FORMAT)


async def three_prompts(pilot) -> None:
    """Auto to the fast tier, auto to the strong tier, and one forced to ollama."""
    await one_prompt(pilot)
    await ask(pilot, PLAN)
    await ask(pilot, "explain this function", force="ollama")


async def ollama_down(pilot) -> None:
    """LM Studio up, Ollama (refusing connections) seen down."""
    await wait_for(pilot, lambda: pilot.app.sidebar.status_of("ollama") == "down")
    await ready(pilot, expect={"up", "down"})


def test_idle_start(snap_compare, sims):
    """Welcome text, both backends up, empty routing log."""
    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=ready)


def test_finished_turn_with_stats(snap_compare, sims):
    """A prompt answered by the fast backend: badge, Markdown with code, stats line."""
    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=one_prompt)


def test_mid_stream(snap_compare, sims):
    """The strong backend stalls after 24 tokens: the reply so far, streaming status."""
    sims[1].knobs.fault = Fault("stall", after_tokens=24)

    async def run(pilot):
        app = pilot.app
        await ready(pilot)
        turn = await app.send(PLAN)
        await wait_for(pilot, lambda: bool(turn.replies) and turn.replies[0].chunks == 24)
        await wait_for(pilot, lambda: turn.replies[0].settled, what="flushed")
        await settle(pilot)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_one_backend_down(snap_compare, sims):
    """Ollama refuses connections: its card says down; the complex prompt goes to lmstudio."""
    sims[1].knobs.fault = Fault("refuse")

    async def run(pilot):
        await ollama_down(pilot)
        await ask(pilot, PLAN)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_routing_log_with_several_decisions(snap_compare, sims):
    """Three prompts: auto to the fast tier, auto to the strong tier, and one forced."""
    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=three_prompts)


def test_light_theme(snap_compare, sims):
    assert snap_compare(make_app(sims, theme="hybrid-light"), terminal_size=SIZE,
                        run_before=one_prompt)


def test_high_contrast_theme(snap_compare, sims):
    assert snap_compare(make_app(sims, theme="hybrid-high-contrast"), terminal_size=SIZE,
                        run_before=one_prompt)


def test_both_down_banner(snap_compare, sims):
    """Nothing reachable: the banner says how to start both servers, or to try --demo."""
    sims[0].knobs.fault = Fault("refuse")
    sims[1].knobs.fault = Fault("refuse")

    async def run(pilot):
        await ready(pilot, expect={"down"})

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_failover_mid_stream(snap_compare, sims):
    """Ollama dies after 20 tokens of the plan; LM Studio continues the same reply: the
    partial text, the marker where it took over, the rest, and both named in the stats."""
    sims[0].knobs.reply = STRONG_REPLY  # the continuation completes the same answer
    sims[1].knobs.fault = Fault("die", after_tokens=20)

    async def run(pilot):
        await ready(pilot)
        await ask(pilot, PLAN)

    assert snap_compare(make_app(sims), terminal_size=SIZE, run_before=run)


def test_cooling_down_sidebar(snap_compare, sims):
    """One failed request puts Ollama in cooldown (cooldown_failures: 1): its card counts
    down (the figure is frozen at 12 s here) and the plan falls back to LM Studio."""

    async def run(pilot):
        app = pilot.app
        await ready(pilot)
        # in force before the prompt: set from this thread, the simulators' thread would shut
        # the pooled connection a moment later, and the request could meet that instead
        await asyncio.to_thread(sims[2].run, sims[1].set_fault(Fault("refuse")))
        await ask(pilot, PLAN)
        await wait_for(pilot, lambda: app.sidebar.cards["ollama"].has_class("-cooling"),
                       what="cooling")
        await settle(pilot)

    routing = RoutingConfig(cooldown_failures=1, cooldown_seconds=30.0)
    assert snap_compare(make_app(sims, routing=routing), terminal_size=SIZE, run_before=run)


# -- smaller terminals: a default 80x24 and a medium 120x32 -------------------------------

SMALL = (80, 24)
MEDIUM = (120, 32)


def test_small_terminal_finished_turn(snap_compare, sims):
    """80x24: the sidebar is a strip (a line per backend), the routing log a one-line
    ticker of the newest event, and the conversation has the rest."""
    assert snap_compare(make_app(sims), terminal_size=SMALL, run_before=one_prompt)


def test_small_terminal_backend_down(snap_compare, sims):
    """80x24 with Ollama refusing connections: its strip line says down and why."""
    sims[1].knobs.fault = Fault("refuse")

    assert snap_compare(make_app(sims), terminal_size=SMALL, run_before=ollama_down)


def test_small_terminal_full_cards(snap_compare, sims):
    """80x24 after asking for the backend cards: the full cards stand in for the strip."""

    async def run(pilot):
        await ready(pilot)
        await pilot.app.run_action("show_backends")
        await settle(pilot)

    assert snap_compare(make_app(sims), terminal_size=SMALL, run_before=run)


def test_medium_terminal_routing_log(snap_compare, sims):
    """120x32: full sidebar, and the log's columns share the width so the reason shows."""
    assert snap_compare(make_app(sims), terminal_size=MEDIUM, run_before=three_prompts)
