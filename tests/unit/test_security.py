"""Security: API keys never leave the process except in the Authorization header, plain http
to another machine is flagged, and model output never reaches the terminal as control codes.

Server-facing parts speak real HTTP to the simulators on loopback; CLI parts run
``python -m hybrid_tui`` in a subprocess and grep everything it wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_tui.backends import make_backend
from hybrid_tui.backends.http_errors import REDACTED, http_error, redact, redact_error
from hybrid_tui.config import BackendConfig
from hybrid_tui.sim import Fault, SimKnobs, SimServer, tokenize

RUN_TIMEOUT = 60


# --------------------------------------------------------------------------- redaction (pure)


def test_redact_replaces_every_occurrence_and_keeps_the_rest() -> None:
    assert redact("key sk-1 and sk-1 again", ("sk-1",)) == f"key {REDACTED} and {REDACTED} again"
    assert redact("nothing here", ("sk-1", "")) == "nothing here"
    err = http_error(401, b'{"error":"invalid API key sk-SECRET-9"}', backend="lm")
    redact_error(err, ("sk-SECRET-9",))
    assert "sk-SECRET-9" not in err.message and "sk-SECRET-9" not in str(err)
    assert str(err) == f"lm: HTTP 401: invalid API key {REDACTED}"


# --------------------------------------------------------------------------- the key, in-process


@pytest.fixture
def planted(monkeypatch) -> str:
    key = f"sk-PLANTED-{secrets.token_hex(8)}"
    monkeypatch.setenv("HT_TEST_API_KEY", key)
    return key


@pytest.mark.parametrize("kind", ["openai", "ollama"])
async def test_the_key_is_sent_as_a_bearer_token(planted, kind) -> None:
    import httpx

    knobs = SimKnobs(tokens_per_s=None, api_key=planted, reply="hello")
    async with SimServer(kind, knobs) as sim, httpx.AsyncClient() as client:
        cfg = BackendConfig(name="b", kind=kind, endpoint=sim.url, api_key_env="HT_TEST_API_KEY")
        backend = make_backend(cfg, client)
        report = await backend.health(timeout=2)
        assert report.ok, report.error
        model = backend.pick_model(report.models)
        items = [item async for item in backend.stream_chat([{"role": "user", "content": "x"}],
                                                            model or "")]
    assert "".join(getattr(i, "text", "") for i in items) == "hello"
    assert planted not in json.dumps(sim.requests)  # only ever in the header


@pytest.mark.parametrize("kind", ["openai", "ollama"])
async def test_a_server_echoing_the_key_back_never_gets_it_shown(planted, kind) -> None:
    import httpx

    from hybrid_tui.errors import BackendError

    knobs = SimKnobs(tokens_per_s=None, api_key="sk-the-right-one", quirks={"echo_api_key"})
    async with SimServer(kind, knobs) as sim, httpx.AsyncClient() as client:
        cfg = BackendConfig(name="b", kind=kind, endpoint=sim.url, api_key_env="HT_TEST_API_KEY",
                            models=("m",))
        backend = make_backend(cfg, client)
        report = await backend.health(timeout=2)
        with pytest.raises(BackendError) as err:
            async for _ in backend.stream_chat([{"role": "user", "content": "x"}], "m"):
                pass
    assert not report.ok and "HTTP 401" in (report.error or "")
    for text in (report.error or "", err.value.message, str(err.value)):
        assert planted not in text and REDACTED in text


# --------------------------------------------------------------------------- the key, CLI


@pytest.fixture
def sims(threaded_sims):
    return (threaded_sims.thread, threaded_sims.lmstudio, threaded_sims.ollama)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "hybrid_tui", *args], capture_output=True,
                          timeout=RUN_TIMEOUT, env={**os.environ, "NO_COLOR": "1", **env})


def test_a_planted_key_appears_in_no_output_file_or_message(tmp_path, sims) -> None:
    thread, lmstudio, ollama = sims
    key = f"sk-PLANTED-{secrets.token_hex(8)}"
    lmstudio.knobs.api_key = "sk-the-right-one"  # ours is wrong: 401s that echo it back
    lmstudio.knobs.quirks.add("echo_api_key")
    config = tmp_path / "config.yaml"
    config.write_text(
        "backends:\n"
        f"  lmstudio:\n    endpoint: {lmstudio.url}\n    api_key_env: HT_TEST_API_KEY\n"
        f"  ollama:\n    endpoint: {ollama.url}\n"
        "health:\n  timeout: 2\n", encoding="utf-8")
    data = tmp_path / "data"
    env = {"HT_TEST_API_KEY": key, "HYBRID_TUI_DATA_DIR": str(data)}
    c = str(config)
    runs = [
        run("status", "--config", c, env=env),
        run("status", "--json", "--config", c, env=env),
        run("models", "--json", "--config", c, env=env),
        run("ask", "format this code", "--config", c, env=env),
        run("ask", "format this code", "--json", "--backend", "lmstudio", "--config", c, env=env),
        run("ask", "format this code", "--backend", "lmstudio", "--config", c,
            env={**env, "HYBRID_TUI_DEBUG": "1"}),
    ]
    thread.run(ollama.set_fault(Fault("refuse")))
    runs.append(run("ask", "format this code", "--backend", "lmstudio", "--config", c, env=env))
    # with the right key the request goes through: the key really is sent
    lmstudio.knobs.api_key = key
    runs.append(run("ask", "format this code", "--backend", "lmstudio", "--json", "--config", c,
                    env=env))

    assert [r.returncode for r in runs] == [0, 0, 0, 0, 0, 0, 1, 0]
    status = json.loads(runs[1].stdout)["backends"]
    assert "HTTP 401" in status[0]["last_error"] and REDACTED in status[0]["last_error"]
    assert REDACTED.encode() in runs[6].stderr  # the one error line, with the key blanked
    assert json.loads(runs[-1].stdout.splitlines()[-1])["backend"] == "lmstudio"
    outputs = b"".join(r.stdout + r.stderr for r in runs)
    files = [config, *data.rglob("*")]
    assert any(f.name.startswith("hybrid-tui.sqlite3") for f in files)
    for blob in [outputs, *(f.read_bytes() for f in files if f.is_file())]:
        assert key.encode() not in blob
        assert b"Traceback" not in blob
    assert key not in json.dumps(lmstudio.requests)


# --------------------------------------------------------------------------- plain http


def test_status_warns_about_plain_http_to_another_machine(tmp_path, sims) -> None:
    _thread, lmstudio, ollama = sims
    config = tmp_path / "config.yaml"
    # the remote backend is disabled, so the test never sends a byte off this machine
    config.write_text(
        "backends:\n"
        f"  lmstudio:\n    endpoint: {lmstudio.url}\n"
        f"  ollama:\n    endpoint: {ollama.url}\n"
        "  gpu-box:\n    kind: ollama\n    endpoint: http://192.0.2.10:11434\n"
        "    enabled: false\n", encoding="utf-8")
    result = run("status", "--config", str(config), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    warnings = [ln for ln in result.stderr.decode().splitlines() if ln.startswith("warning:")]
    assert warnings == ["warning: gpu-box: plain http to another machine: prompts and replies "
                        "travel unencrypted"]
    as_json = run("status", "--json", "--config", str(config), env={})
    records = {r["name"]: r for r in json.loads(as_json.stdout)["backends"]}
    assert records["gpu-box"]["warnings"] and records["lmstudio"]["warnings"] == []


# --------------------------------------------------------------------------- model output

HOSTILE = (
    "[bold red]x[/] ok \x1b]0;evil title\x07 clear\x1b[2J \x1b]8;;http://evil\x1b\\link"
    "\x1b]8;;\x1b\\ c1:\x9b31mred\x9d0;t2\x9c nel\x85 dcs\x1bP+q544e\x1b\\ "
    "clip\x1b]52;c;aGVsbG8=\x07 end\n"
)
SAFE = "[bold red]x[/] ok  clear link c1:red nel dcs clip end\n"


def ask_config(tmp_path: Path, lmstudio: SimServer, ollama: SimServer) -> str:
    path = tmp_path / "config.yaml"
    path.write_text("backends:\n"
                    f"  lmstudio:\n    endpoint: {lmstudio.url}\n"
                    f"  ollama:\n    endpoint: {ollama.url}\n", encoding="utf-8")
    return str(path)


def test_ask_shows_markup_literally_and_strips_every_control_sequence(tmp_path, sims) -> None:
    _thread, lmstudio, ollama = sims
    lmstudio.knobs.reply = HOSTILE
    c = ask_config(tmp_path, lmstudio, ollama)
    clean = run("ask", "say it", "--backend", "lmstudio", "--config", c, env={})
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.decode() == SAFE
    for blob in (clean.stdout, clean.stderr):
        text = blob.decode()
        assert not any(ch == "\x1b" or "\x80" <= ch <= "\x9f" or ch == "\x07" for ch in text)

    raw = run("ask", "say it", "--backend", "lmstudio", "--raw", "--config", c, env={})
    assert raw.stdout.decode() == HOSTILE  # --raw: exactly what the model sent

    as_json = run("ask", "say it", "--backend", "lmstudio", "--json", "--config", c, env={})
    assert not any(b in as_json.stdout for b in (b"\x1b", b"\x07", "\x9b".encode()))
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert events[-1]["text"] == HOSTILE  # escaped in JSON, intact for the consumer


def test_an_escape_sequence_cut_by_a_failover_is_still_removed(tmp_path, sims) -> None:
    """The first backend dies inside a title-setting sequence; the second one finishes it:
    the sequence is removed as a whole and the text on both sides stays."""
    thread, lmstudio, ollama = sims
    reply = "before \x1b]0;pwned title\x07after the failover\n"
    for server in (lmstudio, ollama):
        server.knobs.reply = reply
    pieces = tokenize(reply)
    cut = next(i for i, p in enumerate(pieces) if "pwned" in p) + 1
    assert "\x07" not in "".join(pieces[:cut])  # the sequence is open when the server dies
    thread.run(ollama.set_fault(Fault("die", after_tokens=cut)))
    c = ask_config(tmp_path, lmstudio, ollama)
    result = run("ask", "analyze this complex system architecture", "--config", c, env={})
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == "before after the failover\n"
    assert "failover ollama → lmstudio" in result.stderr.decode()
