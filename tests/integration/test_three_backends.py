"""More than two backends: two Ollama hosts (strong tier) and one LM Studio (fast tier),
each a real simulator on loopback. The router picks among the up members of a tier by
predicted time (a loaded model, a shorter queue), and ``status`` / ``ask --json`` show all
of them with their loaded models and predicted times."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hybrid_tui.config import load_config
from hybrid_tui.events import Done, Escalation
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import SimKnobs, SimServer, SimThread
from tests.support import collect

COMPLEX = "analyze this complex system architecture"
TIMEOUT = 60


def write_config(tmp_path: Path, lmstudio: str, ollama: str, ollama2: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "backends:\n"
        f"  lmstudio:\n    endpoint: {lmstudio}\n    timeout: 10\n"
        f"  ollama:\n    endpoint: {ollama}\n    timeout: 10\n"
        "  ollama-2:\n    kind: ollama\n"
        f"    endpoint: {ollama2}\n    tier: strong\n    models: [codellama:34b]\n"
        "    task_types: [analysis, planning, complex, multi-file]\n    timeout: 10\n"
        "health:\n  timeout: 3\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
async def three() -> AsyncIterator[tuple[SimServer, SimServer, SimServer]]:
    """LM Studio, and two Ollama hosts with the same models; only the second has its model
    in memory."""
    lm = SimServer("openai", SimKnobs(tokens_per_s=None))
    ol = SimServer("ollama", SimKnobs(tokens_per_s=None, loaded=[]))
    ol2 = SimServer("ollama", SimKnobs(tokens_per_s=None), name="ollama-2")
    async with lm, ol, ol2:
        yield lm, ol, ol2


@pytest.fixture
async def router(tmp_path, three) -> AsyncIterator[RouterService]:
    lm, ol, ol2 = three
    config = load_config(write_config(tmp_path, lm.url, ol.url, ol2.url))
    async with RouterService(config, poll=False) as service:
        yield service


async def test_a_complex_prompt_goes_to_the_strong_host_with_its_model_loaded(router, three):
    _, ol, ol2 = three
    states = router.health.states()
    assert list(states) == ["lmstudio", "ollama", "ollama-2"]
    assert [s.chosen_loaded for s in states.values()] == [True, False, True]
    events = await collect(router.submit(COMPLEX))
    decision = events[0]
    assert decision.backend == "ollama-2"
    assert decision.reason.startswith("complex analysis → ollama (strong tier, configured for")
    assert "; ollama-2 answers instead, predicted" in decision.reason
    assert decision.reason.endswith("on ollama: its model is not loaded")
    assert decision.signals.to_dict()["loaded"]["ollama"]["loaded"] is False
    assert decision.signals.to_dict()["predicted"]["ollama"]["load_s"] > 0
    assert decision.signals.to_dict()["predicted"]["ollama-2"]["load_s"] == 0
    assert set(decision.signals.to_dict()["bandit"]) == {"lmstudio", "ollama", "ollama-2"}
    assert isinstance(events[-1], Done) and events[-1].backend == "ollama-2"
    assert ol.requests == [] and len(ol2.requests) == 1


async def test_a_busy_host_hands_the_next_prompt_to_its_tier_mate(router, three):
    _, ol, ol2 = three
    ol.knobs.loaded = ["codellama:34b"]
    await router.health.refresh()  # both strong hosts now have the model in memory
    ol2.knobs.tokens_per_s = ol.knobs.tokens_per_s = 50
    ol2.knobs.reply_tokens = ol.knobs.reply_tokens = 40
    first = asyncio.create_task(collect(router.submit(COMPLEX)))
    for _ in range(400):
        if router.health.state("ollama").queue:
            break
        await asyncio.sleep(0.005)
    second = await collect(router.submit(COMPLEX))
    done_first = (await first)[-1]
    assert done_first.backend == "ollama"  # config order on a tie
    assert second[0].backend == "ollama-2"
    assert "ollama: 1 ahead in its queue" in second[0].reason
    assert len(ol.requests) == len(ol2.requests) == 1


async def test_escalation_goes_to_the_strong_host_predicted_first(router, three):
    lm, ol, _ol2 = three
    lm.knobs.reply = "I'm sorry, but as an AI I cannot help with that."
    events = await collect(router.submit("write a quicksort"))
    escalation = next(ev for ev in events if isinstance(ev, Escalation))
    assert escalation.to_backend == "ollama-2"  # ollama would load its model first
    assert events[-1].backend == "ollama-2" and ol.requests == []


# -- the CLI against three servers ----------------------------------------------------------


@pytest.fixture
def threaded_three(tmp_path):
    lm = SimServer("openai", SimKnobs(tokens_per_s=None))
    ol = SimServer("ollama", SimKnobs(tokens_per_s=None))
    ol2 = SimServer("ollama", SimKnobs(tokens_per_s=None, loaded=[]), name="ollama-2")
    thread = SimThread([lm, ol, ol2])
    thread.start()
    try:
        yield write_config(tmp_path, lm.url, ol.url, ol2.url)
    finally:
        thread.stop()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybrid_tui", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_status_and_ask_show_all_three(threaded_three):
    status = run_cli("status", "--json", "--config", str(threaded_three))
    assert status.returncode == 0, status.stderr
    records = {r["name"]: r for r in json.loads(status.stdout)["backends"]}
    assert list(records) == ["lmstudio", "ollama", "ollama-2"]
    assert all(r["status"] == "up" for r in records.values())
    assert records["ollama"]["loaded"] == ["codellama:34b"] and records["ollama"]["chosen_loaded"]
    assert records["ollama-2"]["loaded"] == [] and records["ollama-2"]["chosen_loaded"] is False
    assert records["lmstudio"]["loaded"] == ["qwen2.5-coder-7b-instruct"]
    assert {r["tier"] for r in records.values()} == {"fast", "strong"}

    table = run_cli("status", "--config", str(threaded_three))
    assert table.returncode == 0, table.stderr
    assert "ollama-2" in table.stdout and "(not loaded)" in table.stdout
    assert "(loaded)" in table.stdout

    ask = run_cli("ask", COMPLEX, "--json", "--config", str(threaded_three))
    assert ask.returncode == 0, ask.stderr
    lines = [json.loads(line) for line in ask.stdout.splitlines()]
    decision = lines[0]
    assert decision["event"] == "decision" and decision["backend"] == "ollama"
    signals = decision["signals"]
    assert signals["loaded"] == {
        "lmstudio": {"model": "qwen2.5-coder-7b-instruct", "loaded": True},
        "ollama": {"model": "codellama:34b", "loaded": True},
        "ollama-2": {"model": "codellama:34b", "loaded": False},
    }
    for name in ("lmstudio", "ollama", "ollama-2"):
        assert signals["predicted"][name]["total_s"] > 0
    assert signals["predicted"]["ollama-2"]["load_s"] > 0
    done = lines[-1]
    assert done["event"] == "done" and done["backend"] == "ollama"
    assert isinstance(done["reply_id"], int)
