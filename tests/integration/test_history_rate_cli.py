"""``hybrid-tui rate +|-`` and ``hybrid-tui history`` as a user runs them: subprocesses
against the simulators, sharing the test's private data dir with ``ask``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_tui import locations

TIMEOUT = 60


@pytest.fixture
def config(tmp_path, threaded_sims) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "backends:\n"
        f"  lmstudio:\n    endpoint: {threaded_sims.lmstudio.url}\n    timeout: 10\n"
        f"  ollama:\n    endpoint: {threaded_sims.ollama.url}\n    timeout: 10\n"
        "health:\n  timeout: 3\n",
        encoding="utf-8",
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybrid_tui", *args], capture_output=True, text=True,
        timeout=TIMEOUT, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_history_before_anything_was_learned(config):
    result = run_cli("history", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "nothing learned yet" in result.stderr
    assert not locations.store_file().exists()  # reading history creates nothing
    report = json.loads(run_cli("history", "--json", "--config", str(config)).stdout)
    assert report["buckets"] == [] and report["learning_enabled"] is True


def test_nothing_to_rate_and_bad_verdicts_exit_2(config):
    result = run_cli("rate", "+", "--config", str(config))
    assert result.returncode == 2
    assert "nothing to rate: no reply has been recorded yet" in result.stderr
    assert "Traceback" not in result.stderr
    bad = run_cli("rate", "maybe", "--config", str(config))
    assert bad.returncode == 2 and "rate takes + or -" in bad.stderr


def test_ask_then_rate_then_history(config, threaded_sims):
    threaded_sims.lmstudio.knobs.reply = "```python\ndef f():\n    return 1\n```\n"
    ask = run_cli("ask", "format this code", "--config", str(config))
    assert ask.returncode == 0, ask.stderr

    rated = run_cli("rate", "-", "--config", str(config))
    assert rated.returncode == 0, rated.stderr
    line = rated.stdout.strip()
    assert line.startswith("rated reply 1 - (lmstudio · qwen2.5-coder-7b-instruct, simple format)")
    assert line.endswith("lmstudio now has 0/1 good replies for simple format")

    ask_json = run_cli("ask", "analyze this complex system architecture", "--json",
                       "--config", str(config))
    done = [json.loads(x) for x in ask_json.stdout.splitlines()][-1]
    assert done["event"] == "done" and done["backend"] == "ollama"
    up = run_cli("rate", "up", "--reply", str(done["reply_id"]), "--config", str(config))
    assert up.returncode == 0 and up.stdout.startswith(f"rated reply {done['reply_id']} +")
    missing = run_cli("rate", "+", "--reply", "999", "--config", str(config))
    assert missing.returncode == 2 and "there is no reply 999" in missing.stderr

    report = json.loads(run_cli("history", "--json", "--config", str(config)).stdout)
    buckets = {(b["complexity"], b["task_type"]): b for b in report["buckets"]}
    fmt = buckets[("simple", "format")]["backends"][0]
    assert (fmt["backend"], fmt["replies"], fmt["good"], fmt["rated_down"]) == (
        "lmstudio", 1, 0, 1)
    assert fmt["prior"] == 0.8 and fmt["mean"] < 0.8  # the bad rating pulled it down
    analysis = buckets[("complex", "analysis")]
    assert analysis["pick"] == "ollama" and analysis["backends"][0]["rated_up"] == 1
    assert report["speeds"]["lmstudio"]["replies"] == 1
    assert report["speeds"]["ollama"]["tokens_per_s"] > 0

    table = run_cli("history", "--config", str(config))
    assert table.returncode == 0, table.stderr
    assert "what the router has learned" in table.stdout
    assert "simple format" in table.stdout and "← ollama" in table.stdout
    assert "measured speed" in table.stdout


def test_help_lists_the_commands_and_they_do_not_import_textual(config):
    assert {"history", "rate"} <= set(run_cli("--help").stdout.split())
    code = (
        "import sys, hybrid_tui.cli as cli\n"
        f"rc = cli.main(['--config', {str(config)!r}, 'history', '--json'])\n"
        "print('RESULT', rc, 'textual' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.stdout.splitlines()[-1] == "RESULT 0 False", result.stderr
