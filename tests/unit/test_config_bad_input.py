"""Bad configuration through the command line: every invalid shape exits 2 with ONE line on
stderr naming the file, the key and the problem, and nothing is sent anywhere. (The loader's
own messages are covered case by case in test_config.py; this is the user's view, including
the routing keys for failover and cooldowns.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hybrid_tui.cli import main
from hybrid_tui.config import default_config, parse_config_text

CASES = [
    # (id, file content, the key named (None: the file as a whole), words of the problem)
    ("yaml-syntax", "routing:\n  default_provider: [auto\n", None, "YAML syntax error at line 3"),
    ("yaml-tab", "health:\n\tinterval: 5\n", None, "indent with spaces, not tabs"),
    ("duplicate-key", "health:\n  timeout: 1\n  timeout: 2\n", None, "duplicate key 'timeout'"),
    ("top-list", "- routing\n", None, "got a list"),
    ("top-scalar", "42\n", None, "got a number (42)"),
    ("nul-bytes", "routing:\n  \x00\n", None, "NUL bytes"),
    ("unknown-section", "routnig: {}\n", None, "unknown key 'routnig' (did you mean 'routing'?)"),
    ("unknown-routing-key", "routing:\n  stall_timout: 5\n", "routing",
     "unknown key 'stall_timout' (did you mean 'stall_timeout'?)"),
    ("unknown-backend-key", "backends:\n  ollama:\n    max_concurent: 2\n", "backends.ollama",
     "unknown key 'max_concurent'"),
    ("unknown-health-key", "health:\n  intervall: 5\n", "health", "unknown key 'intervall'"),
    ("unknown-ui-key", "ui:\n  colour: red\n", "ui", "unknown key 'colour'"),
    ("timeout-string", "backends:\n  ollama:\n    timeout: ten\n", "backends.ollama.timeout",
     "expected a number, got a string ('ten')"),
    ("enabled-string", "backends:\n  ollama:\n    enabled: 'yes'\n", "backends.ollama.enabled",
     "expected true or false"),
    ("models-scalar", "backends:\n  ollama:\n    models: qwen\n", "backends.ollama.models",
     "expected a list of strings"),
    ("threshold-range", "routing:\n  escalation_threshold: 2\n", "routing.escalation_threshold",
     "must be between 0 and 1, got 2"),
    ("interval-zero", "health:\n  interval: 0\n", "health.interval", "must be greater than 0"),
    ("health-timeout-negative", "health:\n  timeout: -1\n", "health.timeout",
     "must be greater than 0, got -1"),
    ("backend-timeout-negative", "backends:\n  lmstudio:\n    timeout: -3\n",
     "backends.lmstudio.timeout", "must be greater than 0"),
    ("max-concurrent-zero", "backends:\n  ollama:\n    max_concurrent: 0\n",
     "backends.ollama.max_concurrent", "must be at least 1, got 0"),
    ("max-concurrent-negative", "backends:\n  ollama:\n    max_concurrent: -2\n",
     "backends.ollama.max_concurrent", "must be at least 1, got -2"),
    ("unknown-kind", "backends:\n  box:\n    kind: vllm\n    endpoint: http://127.0.0.1:9\n",
     "backends.box.kind", "unknown kind 'vllm' (did you mean 'openai'?)"),
    ("unknown-tier", "backends:\n  ollama:\n    tier: medium\n", "backends.ollama.tier",
     "unknown tier 'medium'"),
    ("unknown-provider", "routing:\n  default_provider: gpt4\n", "routing.default_provider",
     "unknown provider 'gpt4'"),
    ("endpoint-no-scheme", "backends:\n  ollama:\n    endpoint: 127.0.0.1:11434\n",
     "backends.ollama.endpoint", "no scheme"),
    ("stall-zero", "routing:\n  stall_timeout: 0\n", "routing.stall_timeout",
     "must be greater than 0, got 0"),
    ("stall-string", "routing:\n  stall_timeout: fast\n", "routing.stall_timeout",
     "expected a number"),
    ("cooldown-failures-zero", "routing:\n  cooldown_failures: 0\n", "routing.cooldown_failures",
     "must be at least 1, got 0"),
    ("cooldown-failures-fraction", "routing:\n  cooldown_failures: 2.5\n",
     "routing.cooldown_failures", "expected a whole number"),
    ("cooldown-seconds-negative", "routing:\n  cooldown_seconds: -30\n",
     "routing.cooldown_seconds", "must be greater than 0, got -30"),
    ("backends-empty", "backends: {}\n", "backends", "no backends configured"),
    ("all-disabled", "backends:\n  ollama:\n    enabled: false\n", "backends",
     "every backend is disabled"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "problem"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["ask", "status"])
def test_bad_config_exits_2_with_one_line(tmp_path, capsys, command, text, key, problem) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(text.encode())
    argv = ["ask", "hello"] if command == "ask" else ["status"]
    assert main([*argv, "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1, err
    line = err.strip()
    prefix = f"hybrid-tui: error: {path}: " + (f"{key}: " if key else "")
    assert line.startswith(prefix), line
    assert problem in line, line
    assert "Traceback" not in err


def test_there_are_at_least_twenty_cases() -> None:
    assert len(CASES) >= 20


def test_a_missing_or_unreadable_file_exits_2(tmp_path, capsys) -> None:
    assert main(["status", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.strip().endswith("nope.yaml: config file not found")
    assert main(["status", "--config", str(tmp_path)]) == 2
    assert "is a directory, not a config file" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_means_the_defaults(text) -> None:
    config = parse_config_text(text, env={})
    assert config.routing == default_config(env={}).routing
    assert config.backends == default_config(env={}).backends


def test_the_failover_keys_are_read(tmp_path) -> None:
    config = parse_config_text(
        "routing:\n  stall_timeout: 2.5\n  cooldown_failures: 5\n  cooldown_seconds: 60\n",
        env={})
    r = config.routing
    assert (r.stall_timeout, r.cooldown_failures, r.cooldown_seconds) == (2.5, 5, 60.0)


@pytest.mark.parametrize("case", ["nul-bytes", "top-list", "cooldown-failures-zero"])
def test_a_real_process_exits_2_without_a_traceback(tmp_path, case) -> None:
    text = next(c[1] for c in CASES if c[0] == case)
    path = tmp_path / "config.yaml"
    path.write_bytes(text.encode())
    for how in (["--config", str(path)], []):
        env = {**os.environ, "HYBRID_TUI_CONFIG": str(path)}
        result = subprocess.run([sys.executable, "-m", "hybrid_tui", "ask", "hi", *how],
                                capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode == 2
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert str(path) in result.stderr
