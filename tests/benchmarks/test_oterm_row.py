"""The opt-in oterm row's plumbing, without oterm: it is left out of a default run, is
skipped (saying why) when oterm is missing and may not be installed, builds a reply whose
last token is unique, keeps oterm's run private, and drives hybrid-tui in tmux to the
reply's last token. Nothing here installs oterm or measures time against a target."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import OPT_IN, ROWS, otermenv
from benchmarks.oterm import SENTINEL, HybridTui, once, reply_text
from benchmarks.otermenv import VERSION, ensure, oterm_env
from benchmarks.simproc import SimProcess
from benchmarks.tmuxapp import Polls, TmuxApp
from hybrid_tui.sim.tokens import count_tokens, tokenize

ROOT = Path(__file__).resolve().parents[2]


def bench(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_oterm_is_opt_in() -> None:
    assert "oterm" in OPT_IN and "oterm" not in ROWS


def test_the_row_is_skipped_when_oterm_is_missing_and_may_not_be_installed(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "no-oterm-here"
    done = bench("oterm", "--oterm-venv", str(venv), "--no-oterm-install", "--json",
                 tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    row = json.loads(done.stdout.strip().splitlines()[-1])["rows"]["oterm"]
    assert row["error"] is None and row["figures"] == []
    if shutil.which("tmux") is None:
        assert row["skipped"] == "tmux is not installed"
    else:
        assert f"oterm {VERSION} is not installed in {venv}" in row["skipped"]
        assert "--no-oterm-install" in row["skipped"]
    assert not venv.exists()  # nothing was installed
    assert "skipped:" in done.stdout


def test_an_unknown_row_names_the_opt_in_ones(tmp_path: Path) -> None:
    done = bench("nosuchrow", tmp=tmp_path)
    assert done.returncode == 2 and "oterm" in done.stderr.splitlines()[-1]


def test_ensure_without_install_says_why(tmp_path: Path) -> None:
    reason = ensure(tmp_path / "venv", install=False)
    assert reason is not None and "no oterm" in reason and VERSION in reason


def test_ensure_installs_the_pinned_oterm_into_its_own_venv_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commands only (no network): a venv at the given path, then pip install of
    exactly oterm==VERSION with that venv's python."""
    venv = tmp_path / "venv"
    ran: list[list[str]] = []
    versions = iter([None, VERSION])
    monkeypatch.setattr(otermenv, "installed", lambda _venv: next(versions))
    monkeypatch.setattr(otermenv, "_run", lambda argv, timeout: ran.append(argv))
    assert ensure(venv, install=True) is None
    assert ran[0] == [sys.executable, "-m", "venv", str(venv)]
    assert ran[1][0] == str(venv / "bin" / "python")
    assert ran[1][1:4] == ["-m", "pip", "install"] and ran[1][-1] == f"oterm=={VERSION}"
    said = capsys.readouterr().err
    assert f"installing oterm=={VERSION}" in said and str(venv) in said


@pytest.mark.parametrize("tokens", [300, 3_000, 20_000])
def test_the_reply_has_exactly_its_tokens_and_ends_with_the_sentinel(tokens: int) -> None:
    text = reply_text(tokens)
    assert count_tokens(text) == tokens
    assert tokenize(text)[-1] == SENTINEL and text.count(SENTINEL) == 1
    assert text.count("```") % 2 == 0  # every code fence is closed before the sentinel


def test_oterm_runs_private_and_offline(tmp_path: Path) -> None:
    env = oterm_env(tmp_path, "http://127.0.0.1:4321")
    assert env["OLLAMA_HOST"] == "127.0.0.1:4321"
    for key in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "OTERM_DATA_DIR"):
        assert env[key].startswith(str(tmp_path)), key
    config = json.loads((Path(env["OTERM_DATA_DIR"]) / "config.json").read_text())
    assert config == {"splash-screen": False}
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == "http://127.0.0.1:9"
    assert "127.0.0.1" in env["NO_PROXY"] and "PYTHONPATH" not in env


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_hybrid_tui_is_driven_in_tmux_to_the_last_token(tmp_path: Path) -> None:
    reply = tmp_path / "reply.md"
    reply.write_text(reply_text(300), encoding="utf-8")
    polls = Polls()
    with SimProcess(reply_file=reply) as sim, TmuxApp(shutil.which("tmux") or "tmux",
                                                     tmp_path / "t.sock") as pane:
        got = once(HybridTui(sim.ollama, tmp_path), pane, polls, cap=60)
    assert got.finished and got.launch > 0 and got.enter > 0
    assert polls.intervals and polls.median_ms() > 0
