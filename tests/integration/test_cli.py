"""The CLI as a user runs it: `python -m hybrid_tui ...` in a subprocess, against the
simulated LM Studio and Ollama on ephemeral loopback ports, configured by a file in tmp_path.
A "stopped" server is a loopback port nobody listens on."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import dead_url

TIMEOUT = 60  # generous: a shared 2-core machine; real runs take about a second


@pytest.fixture
def sims(threaded_sims):
    return (threaded_sims.lmstudio, threaded_sims.ollama)




def write_config(tmp_path: Path, *, lmstudio: str, ollama: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "backends:\n"
        f"  lmstudio:\n    endpoint: {lmstudio}\n    timeout: 10\n"
        f"  ollama:\n    endpoint: {ollama}\n    timeout: 10\n"
        "health:\n  timeout: 3\n" + extra,
        encoding="utf-8",
    )
    return path


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybrid_tui", *args],
        input=stdin, capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def table_rows(stdout: str) -> dict[str, list[str]]:
    """Each backend's row of the (wide, borderless) status table: its non-empty cells."""
    rows: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in ("lmstudio", "ollama") and cells[0] not in rows:
            rows[cells[0]] = cells
    return rows


def json_events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def config_for(tmp_path: Path, sims) -> Path:
    lmstudio, ollama = sims
    return write_config(tmp_path, lmstudio=lmstudio.url, ollama=ollama.url)


# --------------------------------------------------------------------------- status / models


def test_status_shows_both_up(tmp_path, sims):
    result = run_cli("status", "--config", str(config_for(tmp_path, sims)))
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {"lmstudio", "ollama"}
    for name, cells in rows.items():
        assert cells[4] == "up", (name, cells)  # backend, kind, tier, endpoint, status, ...
        assert cells[6], "the model it would use"
    assert sims[0].url in result.stdout and sims[1].url in result.stdout


def test_status_json(tmp_path, sims):
    result = run_cli("--config", str(config_for(tmp_path, sims)), "status", "--json")
    assert result.returncode == 0, result.stderr
    records = {r["name"]: r for r in json.loads(result.stdout)["backends"]}
    assert records["lmstudio"]["status"] == records["ollama"]["status"] == "up"
    assert records["ollama"]["kind"] == "ollama" and records["ollama"]["tier"] == "strong"
    assert records["ollama"]["chosen_model"] in records["ollama"]["models"]
    assert records["lmstudio"]["model_count"] == len(records["lmstudio"]["models"]) > 0
    assert records["lmstudio"]["latency_ms"] is not None


def test_status_with_both_stopped_exits_1_and_says_how_to_start(tmp_path):
    config = write_config(tmp_path, lmstudio=dead_url(), ollama=dead_url())
    result = run_cli("status", "--config", str(config))
    assert result.returncode == 1
    assert [cells[4] for cells in table_rows(result.stdout).values()] == ["down", "down"]
    assert "ollama serve" in result.stderr and "lms server start" in result.stderr


def test_status_does_not_import_textual(tmp_path, sims):
    code = (
        "import sys, hybrid_tui.cli as cli\n"
        f"rc = cli.main(['--config', {str(config_for(tmp_path, sims))!r}, 'status', '--json'])\n"
        "print('RESULT', rc, 'textual' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.stdout.splitlines()[-1] == "RESULT 0 False", result.stderr


def test_models_json_marks_loaded_and_pick(tmp_path, sims):
    result = run_cli("models", "--json", "--config", str(config_for(tmp_path, sims)))
    assert result.returncode == 0, result.stderr
    for record in json.loads(result.stdout)["backends"]:
        assert record["status"] == "up"
        picked = [m["name"] for m in record["models"] if m["chosen"]]
        assert picked == [record["chosen_model"]]
        assert any(m["loaded"] for m in record["models"])


def test_models_table(tmp_path, sims):
    result = run_cli("models", "--config", str(config_for(tmp_path, sims)))
    assert result.returncode == 0, result.stderr
    assert "← router's pick" in result.stdout and "loaded" in result.stdout
    assert "qwen2.5-coder" in result.stdout


# --------------------------------------------------------------------------- ask


@pytest.mark.parametrize("backend", ["ollama", "lmstudio"])
def test_ask_forced_backend_streams_to_the_end(tmp_path, sims, backend):
    reply = "def add(a, b):\n    return a + b\n"
    for server in sims:
        server.knobs.reply = reply
    result = run_cli("ask", "write an add function", "--backend", backend,
                     "--config", str(config_for(tmp_path, sims)))
    assert result.returncode == 0, result.stderr
    assert result.stdout == reply
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"{backend} · ")
    assert "TTFT" in summary and "tok/s" in summary and "confidence" in summary


@pytest.mark.parametrize(
    ("prompt", "backend"),
    [("format this code", "lmstudio"), ("analyze this complex system architecture", "ollama")],
)
def test_ask_routes_by_prompt(tmp_path, sims, prompt, backend):
    result = run_cli("ask", prompt, "--json", "--config", str(config_for(tmp_path, sims)))
    assert result.returncode == 0, result.stderr
    events = json_events(result.stdout)
    assert events[0]["event"] == "decision"
    assert events[0]["backend"] == backend
    assert events[0]["reason"]
    assert events[-1]["event"] == "done"
    tokens = "".join(e["text"] for e in events if e["event"] == "token")
    assert tokens and tokens.endswith(events[-1]["text"])


def test_ask_with_ollama_stopped_is_answered_by_lmstudio(tmp_path, sims):
    config = write_config(tmp_path, lmstudio=sims[0].url, ollama=dead_url())
    result = run_cli("ask", "analyze this complex system architecture", "--json",
                     "--config", str(config))
    assert result.returncode == 0, result.stderr
    done = [e for e in json_events(result.stdout) if e["event"] == "done"]
    assert [d["backend"] for d in done] == ["lmstudio"]
    assert sims[0].requests


def test_ask_with_both_stopped_exits_1_naming_both(tmp_path):
    config = write_config(tmp_path, lmstudio=dead_url(), ollama=dead_url())
    result = run_cli("ask", "format this code", "--config", str(config))
    assert result.returncode == 1
    assert result.stdout == ""
    err = result.stderr.strip()
    assert err.startswith("hybrid-tui: error: ")
    assert len(err.splitlines()) == 1
    assert "lmstudio" in err and "ollama" in err
    assert "ollama serve" in err and "lms server start" in err
    assert "Traceback" not in result.stderr


def test_misspelt_config_key_exits_2_naming_it(tmp_path, sims):
    config = write_config(tmp_path, lmstudio=sims[0].url, ollama=sims[1].url,
                          extra="routing:\n  escalation_treshold: 0.5\n")
    result = run_cli("ask", "hi", "--config", str(config))
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "unknown key 'escalation_treshold'" in result.stderr
    assert "did you mean 'escalation_threshold'" in result.stderr
    assert not sims[0].requests and not sims[1].requests


def test_config_from_environment_variable(tmp_path, sims):
    config = config_for(tmp_path, sims)
    result = subprocess.run(
        [sys.executable, "-m", "hybrid_tui", "status", "--json"], capture_output=True,
        text=True, timeout=TIMEOUT, env={**os.environ, "HYBRID_TUI_CONFIG": str(config)})
    assert result.returncode == 0, result.stderr
    assert {r["status"] for r in json.loads(result.stdout)["backends"]} == {"up"}


def test_ask_reads_the_prompt_from_stdin_and_sends_context(tmp_path, sims):
    context = tmp_path / "util.py"
    context.write_text("def helper():\n    return 42  # MARKER\n", encoding="utf-8")
    result = run_cli("ask", "-", "--backend", "ollama", "--context", str(context),
                     "--config", str(config_for(tmp_path, sims)),
                     stdin="explain this helper from stdin\n")
    assert result.returncode == 0, result.stderr
    sent = json.dumps(sims[1].requests[-1])
    assert "explain this helper from stdin" in sent
    assert "MARKER" in sent


def test_empty_stdin_prompt_sends_nothing(tmp_path, sims):
    result = run_cli("ask", "-", "--config", str(config_for(tmp_path, sims)), stdin="  \n")
    assert result.returncode == 2
    assert "empty" in result.stderr
    assert not sims[0].requests and not sims[1].requests


HOSTILE = "ok \x1b]0;pwned\x07\x1b[2J[bold red]x[/] \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\n"


def test_control_sequences_stripped_unless_raw(tmp_path, sims):
    for server in sims:
        server.knobs.reply = HOSTILE
    config = str(config_for(tmp_path, sims))
    clean = run_cli("ask", "say something", "--backend", "lmstudio", "--config", config)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout == "ok [bold red]x[/] link\n"
    assert "\x1b" not in clean.stdout + clean.stderr
    raw = run_cli("ask", "say something", "--backend", "lmstudio", "--raw", "--config", config)
    assert raw.returncode == 0, raw.stderr
    assert raw.stdout == HOSTILE


def test_unknown_backend_exits_2_listing_names(tmp_path, sims):
    result = run_cli("ask", "hi", "--backend", "vllm", "--config", str(config_for(tmp_path, sims)))
    assert result.returncode == 2
    assert "unknown backend 'vllm'" in result.stderr and "lmstudio, ollama" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_stops_cleanly_keeps_output_and_closes_the_stream(tmp_path, sims):
    lmstudio, _ = sims
    lmstudio.knobs.reply = "word " * 400
    lmstudio.knobs.tokens_per_s = 40.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "hybrid_tui", "ask", "write words", "--backend", "lmstudio",
         "--config", str(config_for(tmp_path, sims))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        assert ready, "no output arrived"
        first = os.read(proc.stdout.fileno(), 4096)
        assert first.startswith(b"word")
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    out = (first + rest).decode()
    assert out.startswith("word") and len(out) < len("word " * 400)
    assert b"Traceback" not in err
    deadline = time.monotonic() + 10
    while lmstudio.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lmstudio.in_flight == 0  # the HTTP stream was closed, not left running
