"""`hybrid-tui doctor` as a user runs it, against the simulators on ephemeral loopback ports:
both up (exit 0), both down (exit 1, naming `ollama serve` and the LM Studio server), a
black-holed server (a timeout, told apart from a refusal), missing models, a bad config
(exit 2 naming the file), and the JSON form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hybrid_tui.cli_doctor import diagnose, start_fix
from hybrid_tui.config import default_backends
from hybrid_tui.health import BackendState
from hybrid_tui.sim import Fault
from tests.support import dead_url

TIMEOUT = 60


@pytest.fixture
def sims(threaded_sims):
    return (threaded_sims.lmstudio, threaded_sims.ollama)




def write_config(tmp_path: Path, lmstudio: str, ollama: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"backends:\n  lmstudio:\n    endpoint: {lmstudio}\n  ollama:\n    endpoint: {ollama}\n"
        + extra + "health:\n  timeout: 1.5\n",
        encoding="utf-8",
    )
    return path


def doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hybrid_tui", "doctor", *args],
        capture_output=True, text=True, timeout=TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def test_both_up_exits_0_with_versions_models_and_picks(sims, tmp_path):
    lmstudio, ollama = sims
    config = write_config(tmp_path, lmstudio.url, ollama.url)
    done = doctor("--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert str(config) in out and "valid" in out
    assert "version 0.12.3" in out  # the Ollama simulator's version
    assert "router's pick: codellama:34b" in out
    assert "router's pick: qwen2.5-coder-7b-instruct" in out
    assert "usable" in out.splitlines()[-1]


def test_both_down_exits_1_and_names_the_fixes(tmp_path):
    config = write_config(tmp_path, dead_url(), dead_url())
    done = doctor("--config", str(config))
    assert done.returncode == 1
    out = done.stdout
    assert out.count("connection refused") == 2
    assert "ollama serve" in out
    assert "lms server start" in out and "LM Studio's server" in out
    assert "2 of 2 enabled backends not usable" in out


def test_one_down_is_enough_for_exit_1(sims, tmp_path):
    lmstudio, _ = sims
    config = write_config(tmp_path, lmstudio.url, dead_url())
    done = doctor("--config", str(config), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    by_name = {b["name"]: b for b in report["backends"]}
    assert by_name["lmstudio"]["usable"] is True
    assert by_name["ollama"]["usable"] is False
    assert by_name["ollama"]["error_kind"] == "refused"
    assert report["ok"] is False


def test_a_black_holed_server_is_a_timeout_not_a_refusal(sims, tmp_path):
    lmstudio, ollama = sims
    ollama.knobs.fault = Fault("blackhole")
    config = write_config(tmp_path, lmstudio.url, ollama.url)
    done = doctor("--config", str(config), "--json")
    assert done.returncode == 1
    ollama_report = next(b for b in json.loads(done.stdout)["backends"] if b["name"] == "ollama")
    assert ollama_report["error_kind"] == "timeout"
    finding = ollama_report["findings"][0]
    assert "no answer in time" in finding["text"] and "restart" in finding["fix"]


def test_a_missing_preferred_model_says_which_to_pull(sims, tmp_path):
    lmstudio, ollama = sims
    extra = "    models: [codellama:70b]\n"
    config = write_config(tmp_path, lmstudio.url, ollama.url + "\n" + extra.rstrip("\n"))
    done = doctor("--config", str(config))
    assert done.returncode == 0, done.stdout  # still usable: the router takes another model
    assert "ollama pull codellama:70b" in done.stdout


def test_no_chat_model_is_a_problem_with_the_pull_command(sims, tmp_path):
    lmstudio, ollama = sims
    ollama.knobs.models = ["nomic-embed-text:latest"]
    ollama.knobs.loaded = []
    config = write_config(tmp_path, lmstudio.url, ollama.url)
    done = doctor("--config", str(config), "--json")
    assert done.returncode == 1
    ollama_report = next(b for b in json.loads(done.stdout)["backends"] if b["name"] == "ollama")
    assert ollama_report["reachable"] is True and ollama_report["usable"] is False
    assert "ollama pull codellama:34b" in ollama_report["findings"][0]["fix"]


def test_an_invalid_config_exits_2_naming_the_file_and_key(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("backends:\n  ollama:\n    timeot: 3\n", encoding="utf-8")
    done = doctor("--config", str(config))
    assert done.returncode == 2
    assert str(config) in done.stdout
    assert "timeot" in done.stdout and "timeout" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    as_json = json.loads(doctor("--config", str(config), "--json").stdout)
    assert as_json["config"]["valid"] is False and "timeot" in as_json["config"]["problem"]


def test_a_disabled_backend_is_not_counted(sims, tmp_path):
    _, ollama = sims
    config = write_config(tmp_path, dead_url() + "\n    enabled: false", ollama.url)
    done = doctor("--config", str(config))
    assert done.returncode == 0, done.stdout
    assert "disabled in the config" in done.stdout


def _state(name: str, kind: str, error: str) -> BackendState:
    return BackendState(name=name, endpoint="", kind="", tier="", status="down",
                        last_error=error, error_kind=kind)


def test_each_failure_kind_gets_its_own_words_and_fix():
    backends = default_backends()
    texts = {}
    for kind in ("refused", "connect-timeout", "dns", "timeout", "http"):
        report = diagnose(backends["ollama"], _state("ollama", kind, "boom"))
        assert not report.usable
        finding = report.findings[0]
        assert finding.level == "problem" and finding.fix
        texts[kind] = finding.text
    assert "refused" in texts["refused"]
    assert "timed out" in texts["connect-timeout"]
    assert "resolve" in texts["dns"]
    assert "no answer in time" in texts["timeout"]
    assert "error" in texts["http"]
    assert len(set(texts.values())) == 5


def test_the_start_command_follows_the_configured_port():
    backends = default_backends()
    assert start_fix(backends["ollama"]) == "run `ollama serve`"
    assert "lms server start --port 1234" in start_fix(backends["lmstudio"])
    moved = replace(backends["ollama"], endpoint="http://127.0.0.1:9999")
    assert "OLLAMA_HOST=127.0.0.1:9999 ollama serve" in start_fix(moved)


def test_a_plain_http_remote_endpoint_is_warned_about():
    remote = replace(default_backends()["lmstudio"], endpoint="http://gpu-box.example:1234")
    report = diagnose(remote, None)  # not probed: nothing is sent anywhere
    assert any("unencrypted" in f.text for f in report.findings if f.level == "warning")


def test_an_http_error_with_a_key_configured_points_at_the_key_first():
    """LiteLLM without a database answers a wrong key with a 400 and a missing one with a
    500: with a key configured, checking it is the first fix, the endpoint the second."""
    proxy = replace(default_backends()["lmstudio"], name="team", api_key_env="TEAM_KEY")
    for error in ("HTTP 400: No connected db.", "HTTP 500: Internal Server Error"):
        fix = diagnose(proxy, _state("team", "http", error)).findings[-1].fix or ""
        assert fix.startswith("check that $TEAM_KEY holds a key this server accepts"), fix
        assert "OpenAI-compatible server" in fix
    keyless = replace(proxy, api_key_env=None)
    fix = diagnose(keyless, _state("team", "http", "HTTP 401: invalid api key")).findings[-1].fix
    assert fix == ("the server wants a key: export it in a variable and name that in "
                   "backends.team.api_key_env")  # fmt: skip
    fix = diagnose(keyless, _state("team", "http", "HTTP 404: no such page")).findings[-1].fix
    assert fix and fix.startswith("check that http://localhost:1234 is an OpenAI-compatible")
