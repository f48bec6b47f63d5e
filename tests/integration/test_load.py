"""Load and durability: 100 prompts at once through one router service, and the SQLite store
surviving a ``kill -9`` of a process that is writing outcomes and transcripts."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

import pytest

from hybrid_tui.config import Config
from hybrid_tui.events import Done, Token, Waiting
from hybrid_tui.router.service import RouterService
from hybrid_tui.sim import SimKnobs, SimServer, SimThread
from tests.integration.test_router import collect

N = 100
#: each reply: the first 16 tokens of the simulators' generic answer, which echo the prompt
REPLY_TOKENS = 16


def prompt(i: int) -> str:
    return f"please answer item {i}"


async def test_a_hundred_prompts_at_once(make_config, lmstudio_sim, ollama_sim) -> None:
    lm, ol = lmstudio_sim, ollama_sim
    for sim in (lm, ol):
        sim.knobs.tokens_per_s = 2000  # replies overlap: the caps, not speed, set the pace
        sim.knobs.reply_tokens = REPLY_TOKENS
        sim.knobs.parallel = 8  # the servers would take more: only our limits hold back
    config: Config = make_config(lmstudio=lm.url, ollama=ol.url)
    caps = {"lmstudio": config.backends["lmstudio"].max_concurrent,
            "ollama": config.backends["ollama"].max_concurrent}
    assert caps == {"lmstudio": 3, "ollama": 1}
    target = {i: ("lmstudio", "ollama")[i % 2] for i in range(N)}

    async with RouterService(config, poll=False) as service:
        results = await asyncio.gather(
            *(collect(service.submit(prompt(i), force=target[i])) for i in range(N))
        )
        assert all(limiter.active == 0 for limiter in service.limiters.values())

    # all 100 complete, each with its own answer (no reply crossed over to another prompt)
    for i, events in enumerate(results):
        done = events[-1]
        assert isinstance(done, Done), (i, done)
        assert done.backend == target[i]
        assert f"item {i}*" in done.text
        assert done.text == "".join(ev.text for ev in events if isinstance(ev, Token))
    # none lost or duplicated at the servers, and never more at once than our caps
    for name, sim in (("lmstudio", lm), ("ollama", ol)):
        arrived = [body["messages"][-1]["content"] for body in sim.requests]
        wanted = [prompt(i) for i in range(N) if target[i] == name]
        assert Counter(arrived) == Counter(wanted)
        assert sim.max_in_flight <= caps[name]
        # FIFO per backend: requests start in the order they were submitted (requests
        # started together may reach the server a hair apart, never further than the cap)
        for position, text in enumerate(arrived):
            assert abs(wanted.index(text) - position) < caps[name], (name, position, text)
    assert lm.max_in_flight == 3  # the cap, not a lack of demand, limited it
    assert [b["messages"][-1]["content"] for b in ol.requests] == [
        prompt(i) for i in range(N) if target[i] == "ollama"
    ]
    queued = [ev for events in results for ev in events if isinstance(ev, Waiting)]
    assert {ev.state for ev in queued} <= {"queued", "waiting for first token"}
    assert sum(ev.state == "queued" for ev in queued) >= N // 2


# --------------------------------------------------------------------------- kill -9

WRITER = r"""
import asyncio, sys
from dataclasses import replace
from hybrid_tui.config import Config, HealthConfig, default_backends
from hybrid_tui.router.service import RouterService
from hybrid_tui.store import Store

async def main(lm_url, ol_url):
    backends = default_backends()
    backends["lmstudio"] = replace(backends["lmstudio"], endpoint=lm_url)
    backends["ollama"] = replace(backends["ollama"], endpoint=ol_url)
    config = Config(backends=backends, health=HealthConfig(timeout=2.0))
    store = Store()
    session = store.new_session("kill -9 test")
    async with RouterService(config, poll=False, store=store) as service:
        answered = 0

        async def one(i):
            nonlocal answered
            prompt = ("format item %d" if i % 2 else "analyze complex system %d") % i
            turn = store.save_turn(session, None, prompt=prompt, reply="", status="streaming")
            text = ""
            async for ev in service.submit(prompt):
                if ev.event == "token":
                    text += ev.text
                    store.save_turn(session, turn, prompt=prompt, reply=text, status="streaming")
            store.save_turn(session, turn, prompt=prompt, reply=text, status="done")
            answered += 1
            print(answered, flush=True)

        i = 0
        while True:
            await asyncio.gather(*(one(i + k) for k in range(4)))
            i += 4

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_store_survives_kill_9_while_writing(tmp_path) -> None:
    lm = SimServer("openai", SimKnobs(tokens_per_s=None, reply_tokens=20))
    ol = SimServer("ollama", SimKnobs(tokens_per_s=None, reply_tokens=20))
    data = tmp_path / "data"
    env = {**os.environ, "HYBRID_TUI_DATA_DIR": str(data)}
    with SimThread([lm, ol]):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, lm.url, ol.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
        )
        try:
            answered = 0
            deadline = time.monotonic() + 60
            while answered < 24 and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                answered = int(line)
            assert answered >= 24, proc.stderr.read() if proc.poll() is not None else answered
            proc.send_signal(signal.SIGKILL)  # mid-write: replies are streaming right now
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL

    path = data / "hybrid-tui.sqlite3"
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        outcomes = db.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]
        done = db.execute("SELECT COUNT(*) FROM turns WHERE status = 'done'").fetchone()[0]
    finally:
        db.close()
    # every reply the writer reported finished was committed before it said so
    assert outcomes >= answered and done >= answered
    from hybrid_tui.store import Store

    with Store(path) as store:  # and the app opens it again as usual
        assert store.integrity_check() == "ok"
        assert sum(n for _, n in store.outcome_stats("format", "simple").values()) > 0

