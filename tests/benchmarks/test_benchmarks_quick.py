"""CI proof that the benchmark suite works: ``python -m benchmarks --quick --json`` runs every
row against the simulators and reports numeric figures. No time is asserted (the machine is
shared and noisy); only that each row ran and said what it measured."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    """One quick run of the whole suite in a subprocess, from the repository root."""
    scratch = tmp_path_factory.mktemp("bench")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HYBRID_TUI_DATA_DIR"] = str(scratch / "data")
    env["HYBRID_TUI_CONFIG_DIR"] = str(scratch / "config")
    env.pop("HYBRID_TUI_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"no output; stderr: {done.stderr[-2000:]}"
    return done, json.loads(lines[-1])


def test_the_suite_exits_cleanly(quick_run):
    done, result = quick_run
    errors = {n: r["error"] for n, r in result["rows"].items() if r["error"]}
    assert done.returncode == 0, f"rows failed: {errors}\n{done.stderr[-3000:]}"
    assert not errors


def test_every_row_reports_numeric_figures(quick_run):
    from benchmarks import ROWS

    _, result = quick_run
    assert set(result["rows"]) == set(ROWS)
    for name, row in result["rows"].items():
        if row["skipped"]:  # only the tmux row may be skipped, and only without tmux
            assert name == "tmux" and "not installed" in row["skipped"]
            continue
        assert row["figures"], f"{name} has no figures"
        for fig in row["figures"]:
            label = f"{name}: {fig['name']}"
            for key in ("median", "min", "max"):
                value = fig[key]
                assert isinstance(value, (int, float)) and math.isfinite(value), label
            assert fig["min"] <= fig["median"] <= fig["max"], label
            assert fig["runs"] == len(fig["samples"]) >= 1, label
            if fig["targets"]:
                assert isinstance(fig["met"], bool), label
                assert fig["target"], label
            if fig["reference"]:
                assert isinstance(fig["ratio"], (int, float)), label
                assert fig["reference_median"] is not None, label


def test_each_row_has_the_figures_its_target_needs(quick_run):
    _, result = quick_run
    names = {n: {f["name"] for f in r["figures"]} for n, r in result["rows"].items()}
    assert {"router (openai)", "router (ollama)", "bare httpx (openai)"} <= names["stream"]
    assert {"hybrid app", "bare MarkdownStream.write", "longest frame (app)"} <= names["tui"]
    assert {"to token event (openai)", "to token event (ollama)"} <= names["ttft"]
    assert {"route() p50", "route() p99"} <= names["router"]
    assert {"TUI first frame (--demo)", "ask --help"} <= names["startup"]
    assert any(n.startswith("RSS growth, turn 1") for n in names["memory"])
    assert {"streaming at 2,000 tok/s p99", "one backend a black hole p99"} <= names[
        "responsive"
    ]
    assert {"regret_ratio", "regret_ratio (two backends)"} <= names["routing"]
    assert {"tier agreement (tuning)", "tier agreement (held-out)"} <= names["judgment"]


def test_the_report_names_machine_and_command(quick_run):
    _, result = quick_run
    machine = result["machine"]
    assert machine["nproc"] >= 1 and machine["python"] and machine["textual"]
    assert result["command"] == "python -m benchmarks --quick --json"
    assert result["quick"] is True
