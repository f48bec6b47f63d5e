"""``hybrid-tui ask`` with a reasoning model, as a user runs it (a subprocess against the
simulators): ``--json`` has the thinking events before the answer's tokens and the server's
figures on ``done``; the thinking shows on stderr, dimmed, only with ``--show-thinking``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from hybrid_tui import cli_ask
from hybrid_tui.events import Done, Thinking, Token
from hybrid_tui.sim.replies import thinking_for
from tests.integration.test_cli import json_events, run_cli, write_config

PROMPT = "analyze the architecture of a cache"


@pytest.fixture
def config(tmp_path: Path, threaded_sims) -> Path:
    """Both simulators; every chat model of the Ollama one thinks."""
    threaded_sims.ollama.knobs.thinking_models = ["codellama:34b"]
    return write_config(tmp_path, lmstudio=threaded_sims.lmstudio.url,
                        ollama=threaded_sims.ollama.url)


THOUGHT = thinking_for([{"role": "user", "content": PROMPT}])


def test_json_has_thinking_before_the_tokens_and_the_server_figures(config) -> None:
    result = run_cli("ask", "--config", str(config), "--backend", "ollama", "--json", PROMPT)
    assert result.returncode == 0, result.stderr
    events = json_events(result.stdout)
    names = [e["event"] for e in events]
    assert names[0] == "decision" and names[-1] == "done"
    streamed = [n for n in names if n in ("thinking", "token")]
    assert streamed[0] == "thinking" and streamed.index("token") == streamed.count("thinking")
    assert "".join(e["text"] for e in events if e["event"] == "thinking") == THOUGHT
    done = events[-1]
    assert THOUGHT[:30] not in done["text"]
    for key in ("server_tokens_per_s", "server_prompt_ms", "server_prompt_tokens",
                "thinking_ttft_ms", "ttft_ms"):
        assert isinstance(done[key], int | float), key
    assert done["thinking_tokens"] > 0 and done["cold_load"] is False
    assert done["settings"]["options"] == {"temperature": 0.1, "top_p": None,
                                           "max_tokens": 2048, "seed": None, "stop": None,
                                           "num_ctx": None, "keep_alive": None}
    assert events[0]["settings"] == done["settings"]


def test_thinking_shows_on_stderr_only_when_asked(config) -> None:
    plain = run_cli("ask", "--config", str(config), "--backend", "ollama", PROMPT)
    shown = run_cli("ask", "--config", str(config), "--backend", "ollama", "--show-thinking",
                    PROMPT)
    for result in (plain, shown):
        assert result.returncode == 0, result.stderr
        assert THOUGHT[:30] not in result.stdout
        assert result.stdout.startswith("## Architecture")
    assert THOUGHT[:30] not in plain.stderr
    lines = shown.stderr.splitlines()
    assert lines[0] == THOUGHT  # a line of its own, before the summary
    summary = lines[-1]
    assert summary.startswith("ollama · codellama:34b")
    assert "first thought" in summary and "server" in summary and "prompt" in summary


def test_the_thinking_is_dimmed_and_made_safe(monkeypatch) -> None:
    """On a colour terminal the thinking is dim; a model's control codes never pass."""
    err = io.StringIO()
    terminal = Console(file=err, force_terminal=True, color_system="standard", soft_wrap=True)
    monkeypatch.setattr(cli_ask, "console", lambda stderr=False: terminal)
    out = io.StringIO()
    renderer = cli_ask.AskRenderer(out, show_thinking=True)
    for ev in (Thinking("plan: \x1b]0;pwned\x07step one"), Thinking(", step two"),
               Token("answer"), Done("b", "m", 1.0, 1, None, None, False, 2.0, text="answer")):
        renderer.handle(ev)
    assert out.getvalue() == "answer\n"
    shown = err.getvalue()
    assert "\x1b[2mplan: step one" in shown and ", step two" in shown
    assert "pwned" not in shown and "\x07" not in shown
    assert shown.endswith("\n")  # the answer starts on a line of its own
