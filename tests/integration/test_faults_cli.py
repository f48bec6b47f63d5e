"""The fault-injection suite through the CLI as a user (or a script) runs it:
``python -m hybrid_tui ask --json`` in a subprocess, against both simulators on ephemeral
loopback ports, one test per fault per backend kind; then the same faults in text mode, and
bad prompts (1 MB, binary, undecodable argv).

Exit codes (hybrid_tui.cli_ask): 0 answered, also after a fallback or failover; 1 no backend
could answer or the reply failed mid-way with nobody left (the partial reply stays on stdout);
2 usage. Each case asserts: no traceback, one clear message, the other backend used when up,
and the transcript on stdout holds everything that arrived.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_tui.sim import Fault, SimServer, SimThread, reply_for
from tests.integration.test_faults_router import AFTER, CASES, KINDS, MIDSTREAM, OTHER, PROMPT

RUN_TIMEOUT = 60  # generous for a loaded machine; a run takes well under a second
FAULTY_TIMEOUT = 1  # first-token deadline of the faulty backend (seconds)


@pytest.fixture
def sims(threaded_sims):
    servers = {"lmstudio": threaded_sims.lmstudio, "ollama": threaded_sims.ollama}
    return threaded_sims.thread, servers


def write_config(tmp_path: Path, servers: dict[str, SimServer], faulty: str,
                 timeout: float = FAULTY_TIMEOUT) -> Path:
    """Both simulators; ``faulty`` waits ``timeout`` s for a first token, the other 10 s."""
    path = tmp_path / "config.yaml"
    lines = ["routing:", "  stall_timeout: 0.5", "backends:"]
    for name in ("lmstudio", "ollama"):
        first = timeout if name == faulty else 10
        lines += [f"  {name}:", f"    endpoint: {servers[name].url}", f"    timeout: {first}"]
    lines += ["health:", "  timeout: 0.5", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def ask(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "hybrid_tui", "ask", *args],
        input=stdin, capture_output=True, timeout=RUN_TIMEOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )


def events_of(result: subprocess.CompletedProcess[bytes]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def tokens(events: list[dict], backend: str | None = None) -> str:
    return "".join(e["text"] for e in events
                   if e["event"] == "token" and backend in (None, e["backend"]))


def set_fault(thread: SimThread, server: SimServer, fault: Fault | None) -> None:
    thread.run(server.set_fault(fault))


@pytest.mark.parametrize("fault", list(CASES))
@pytest.mark.parametrize("kind", KINDS)
def test_ask_json_with_the_other_backend_up(tmp_path, sims, kind: str, fault: str) -> None:
    thread, servers = sims
    case = CASES[fault]
    timeout = FAULTY_TIMEOUT
    if fault == "slow-first-token":
        # a notice after a quarter of the 2 s timeout, the token well before the timeout
        timeout = 2
        servers[kind].knobs.first_token_delay = 0.9
    set_fault(thread, servers[kind], case.fault)
    config = write_config(tmp_path, servers, kind, timeout)
    result = ask(PROMPT[kind], "--json", "--config", str(config))

    assert b"Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""  # --json: stdout carries everything, stderr only a failure
    events = events_of(result)
    done = events[-1]
    assert done["event"] == "done"
    assert done["text"] == tokens(events) == reply_for(PROMPT[kind])
    names = [e["event"] for e in events]
    words = case.says.get(kind) or case.says.get("any", "")

    if fault in ("refuse", "blackhole"):
        # the first probe already found it down: the other backend is chosen at once
        assert events[0]["backend"] == OTHER[kind]
        assert events[0]["signals"]["candidates"][kind] == "down"
        assert done["backend"] == OTHER[kind]
    elif case.outcome == "fallback":
        fallback = events[names.index("fallback")]
        assert (fallback["from_backend"], fallback["to_backend"]) == (kind, OTHER[kind])
        assert words in fallback["reason"]
        assert done["backend"] == OTHER[kind] and done["fallback_from"] == kind
    elif case.outcome == "failover":
        failover = events[names.index("failover")]
        assert (failover["from_backend"], failover["to_backend"]) == (kind, OTHER[kind])
        assert failover["tokens_so_far"] == AFTER and words in failover["reason"]
        assert done["backend"] == OTHER[kind] and done["failover_from"] == kind
        assert done["text"] == tokens(events, kind) + tokens(events, OTHER[kind])
    else:
        assert done["backend"] == kind and "fallback" not in names and "failover" not in names
        if fault == "malformed":
            assert words in done["warnings"]
        if fault == "slow-first-token":
            assert [e["state"] for e in events if e["event"] == "waiting"] == [words]


@pytest.mark.parametrize("fault", MIDSTREAM)
@pytest.mark.parametrize("kind", KINDS)
def test_ask_json_midstream_fault_with_nobody_left(tmp_path, sims, kind: str, fault: str) -> None:
    thread, servers = sims
    set_fault(thread, servers[OTHER[kind]], Fault("refuse"))
    set_fault(thread, servers[kind], CASES[fault].fault)
    result = ask(PROMPT[kind], "--json", "--config", str(write_config(tmp_path, servers, kind)))

    assert b"Traceback" not in result.stderr
    assert result.returncode == 1
    err = result.stderr.decode().strip()
    assert err.startswith(f"hybrid-tui: error: {kind} failed mid-reply: ")
    assert len(err.splitlines()) == 1 and "the partial reply is kept" in err
    events = events_of(result)
    error = events[-1]
    assert error["event"] == "error" and error["kind"] == "stream"
    assert error["partial"] == tokens(events) and error["partial"]
    assert reply_for(PROMPT[kind]).startswith(error["partial"])


@pytest.mark.parametrize("fault", ["http-404", "http-503"])
@pytest.mark.parametrize("kind", KINDS)
def test_ask_json_fault_before_any_token_with_nobody_left(tmp_path, sims, kind, fault) -> None:
    thread, servers = sims
    set_fault(thread, servers[OTHER[kind]], Fault("refuse"))
    set_fault(thread, servers[kind], CASES[fault].fault)
    result = ask(PROMPT[kind], "--json", "--config", str(write_config(tmp_path, servers, kind)))
    assert b"Traceback" not in result.stderr
    assert result.returncode == 1
    err = result.stderr.decode().strip()
    assert err.startswith("hybrid-tui: error: no backend could answer: ")
    assert len(err.splitlines()) == 1
    assert (CASES[fault].says.get(kind) or "") in err
    assert [e["event"] for e in events_of(result)] == ["decision", "error"]


# --------------------------------------------------------------------------- text mode


def test_failover_in_text_mode_keeps_one_continuous_reply(tmp_path, sims) -> None:
    thread, servers = sims
    set_fault(thread, servers["ollama"], Fault("die", after_tokens=60))
    prompt = PROMPT["ollama"]
    result = ask(prompt, "--config", str(write_config(tmp_path, servers, "ollama")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().rstrip("\n") == reply_for(prompt).rstrip("\n")
    err = result.stderr.decode().splitlines()
    assert b"Traceback" not in result.stderr
    assert err[0].startswith("⤷ failover ollama → lmstudio: ollama failed after 60 tokens (")
    assert err[-1].startswith("lmstudio · ") and err[-1].endswith("failover from ollama")
    assert len(err) == 2


def test_http_500_falls_back_in_text_mode(tmp_path, sims) -> None:
    thread, servers = sims
    set_fault(thread, servers["ollama"], Fault("status", status=500))
    prompt = PROMPT["ollama"]
    result = ask(prompt, "--config", str(write_config(tmp_path, servers, "ollama")))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().rstrip("\n") == reply_for(prompt).rstrip("\n")
    [summary] = result.stderr.decode().splitlines()
    assert summary.startswith("lmstudio · ") and summary.endswith("fallback from ollama")


def test_loading_model_is_said_in_text_mode(tmp_path, sims) -> None:
    _thread, servers = sims
    servers["ollama"].knobs.loaded = []
    servers["ollama"].knobs.load_delay = 0.2
    config = write_config(tmp_path, servers, "none")
    result = ask(PROMPT["ollama"], "--config", str(config))
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode().splitlines()
    assert err[0].startswith("ollama · codellama:34b: loading model… (")
    assert err[-1].startswith("ollama · ")


# --------------------------------------------------------------------------- bad prompts

MEGABYTE = ("print('hello, world')  # a long paste\n" * 27_000)[:1_000_000].encode()


def test_one_megabyte_prompt_from_stdin_is_answered(tmp_path, sims) -> None:
    _thread, servers = sims
    config = write_config(tmp_path, servers, "none")
    result = ask("-", "--backend", "ollama", "--json", "--config", str(config), stdin=MEGABYTE)
    assert result.returncode == 0, result.stderr
    assert events_of(result)[-1]["event"] == "done"
    assert servers["ollama"].requests[-1]["messages"][-1]["content"].encode() == MEGABYTE


def test_one_megabyte_prompt_over_the_context_shows_the_servers_words(tmp_path, sims) -> None:
    thread, servers = sims
    set_fault(thread, servers["ollama"], Fault("refuse"))
    config = write_config(tmp_path, servers, "none")
    result = ask("-", "--config", str(config), stdin=MEGABYTE)
    assert result.returncode == 1 and result.stdout == b""
    [line] = result.stderr.decode().splitlines()
    assert line.startswith("hybrid-tui: error: no backend could answer: ")
    assert "Trying to keep the first" in line and "context window" in line
    assert b"Traceback" not in result.stderr


def test_binary_stdin_and_undecodable_argv_are_sent_as_text(tmp_path, sims) -> None:
    _thread, servers = sims
    config = str(write_config(tmp_path, servers, "none"))
    blob = bytes(range(1, 256)) + b"\x00 end"
    result = ask("-", "--backend", "lmstudio", "--json", "--config", config, stdin=blob)
    assert result.returncode == 0, result.stderr
    sent = servers["lmstudio"].requests[-1]["messages"][-1]["content"]
    assert sent == blob.decode("utf-8", "replace")
    result = ask(b"fix \xff\xfe this", "--backend", "lmstudio", "--json", "--config", config)
    assert result.returncode == 0, result.stderr
    assert servers["lmstudio"].requests[-1]["messages"][-1]["content"] == "fix \ufffd\ufffd this"
