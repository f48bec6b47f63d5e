"""The CLI (``ask``, ``status``, ``doctor`` as subprocesses) and the TUI (Pilot) against a
real llama.cpp server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hybrid_tui.ui.app import HybridApp
from tests.real_server.conftest import llama_config, llama_yaml
from tests.real_server.tiny_model import reply_text
from tests.ui.helpers import SIZE, settle, wait_for

pytestmark = pytest.mark.real_server

TIMEOUT = 120


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybrid_tui", *args],
        capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )  # fmt: skip


def test_ask_streams_the_reply_to_stdout(llama, tmp_path):
    config = llama_yaml(tmp_path / "config.yaml", llama.url)
    done = run_cli("ask", "format this code: x=1", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == reply_text("tiny-coder")
    summary = done.stderr.strip().splitlines()[-1]
    assert summary.startswith("llama · "), summary


def test_ask_names_the_servers_overflow_error(llama, tmp_path):
    config = llama_yaml(tmp_path / "config.yaml", llama.url)
    long_prompt = "format this code: " + "y = 2; " * 600
    done = subprocess.run(
        [sys.executable, "-m", "hybrid_tui", "ask", "-", "--config", str(config)],
        input=long_prompt, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "context" in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr


def test_status_shows_the_server_up_with_its_models(llama, tmp_path):
    config = llama_yaml(tmp_path / "config.yaml", llama.url)
    done = run_cli("status", "--config", str(config))
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.strip().startswith("llama"))
    assert " up " in f" {row} " and "tiny-coder" in row, done.stdout


def test_doctor_finds_the_server_usable(llama, tmp_path):
    config = llama_yaml(tmp_path / "config.yaml", llama.url)
    done = run_cli("doctor", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "router's pick: tiny-coder" in done.stdout
    assert "usable" in done.stdout.splitlines()[-1]


async def test_tui_streams_and_cancels(llama):
    app = HybridApp(llama_config(llama.url, "tiny-endless"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sidebar.status_of("llama") == "up", what="up", timeout=30)
        await app.send("format this code: x=1", force="llama")
        await wait_for(
            pilot,
            lambda: (
                bool(app.conversation.turns[0].replies)
                and app.conversation.turns[0].replies[0].chunks > 5
            ),
            what="tokens",
            timeout=30,
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.idle, what="idle", timeout=30)
        turn = app.conversation.turns[0]
        assert turn.status == "cancelled"
        assert turn.replies[0].text.startswith(" tick tock")
        await app.send("format this code: y=2", force="llama")
        await wait_for(pilot, lambda: app.idle, what="idle", timeout=60)
        await settle(pilot)
        second = app.conversation.turns[1]
        assert second.status == "done", second.status
        assert second.replies[0].text.startswith(" tick tock")
