"""Two processes on one data directory, and a damaged database file, as the commands meet
them: every command keeps working and says what it did."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hybrid_tui import locations
from tests.support import dead_url

TIMEOUT = 60

#: one app instance: says it has started, then saves turns and outcomes as fast as it can,
#: with a short lock wait so the other writers' locks must be waited out by retrying
WRITER = textwrap.dedent("""
    import pathlib, sys
    from hybrid_tui.store import Outcome, Store
    store = Store(sys.argv[1], busy_timeout=0.02, retry_for=10.0, notice=lambda line: None)
    pathlib.Path(sys.argv[1] + ".started-" + sys.argv[2]).touch()
    session = store.new_session(sys.argv[2])
    for i in range(40):
        turn = store.save_turn(session, None, prompt=f"{sys.argv[2]} {i}", reply="")
        store.save_turn(session, turn, prompt=f"{sys.argv[2]} {i}", reply="ok", status="done")
        store.record_outcome(Outcome("edit", "simple", sys.argv[2]), success=True)
    print(store.retries)
""")

#: a slow writer (a big save, a slow disk): holds the write lock until both writers have
#: started and a little longer, so each of them meets it, then 0.05 s in every 0.15 s until
#: its stdin closes
HOG = textwrap.dedent("""
    import glob, sqlite3, sys, threading, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    db.execute("BEGIN IMMEDIATE")
    print("holding", flush=True)
    while len(glob.glob(sys.argv[1] + ".started-*")) < 2 and not done.is_set():
        time.sleep(0.01)
    time.sleep(0.3)
    db.execute("COMMIT")
    while not done.is_set():
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO sessions (created, title) VALUES (0, 'hog')")
        time.sleep(0.05)
        db.execute("COMMIT")
        time.sleep(0.1)
""")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hybrid_tui", *args], capture_output=True,
                          text=True, timeout=TIMEOUT,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300"})


def test_two_instances_write_one_store_at_once_and_both_keep_working(tmp_path):
    from hybrid_tui.store import Store

    path = tmp_path / "shared.sqlite3"
    with Store(path) as store:
        store.open()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(path)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True, env=env)
    assert hog.stdout is not None and hog.stdout.readline().strip() == "holding"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env) for name in ("first", "second")]  # fmt: skip
    results = [w.communicate(timeout=TIMEOUT) for w in writers]
    hog.communicate(timeout=TIMEOUT)  # closes its stdin: it stops
    for writer, (_out, err) in zip(writers, results, strict=True):
        assert writer.returncode == 0, err
    retries = sum(int(out) for out, _err in results)
    assert retries >= 2  # each met the lock held past its busy timeout, and waited it out
    with Store(path) as store:
        assert store.outcome_stats("edit", "simple") == {"first": (40, 40), "second": (40, 40)}
    db = sqlite3.connect(path)
    saved = db.execute("SELECT s.name, COUNT(*), SUM(t.reply = 'ok') FROM turns t"
                       " JOIN sessions s ON s.id = t.session_id GROUP BY s.name").fetchall()
    db.close()
    assert sorted(saved) == [("first", 40, 40), ("second", 40, 40)]


@pytest.fixture
def garbage() -> Path:
    path = locations.store_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage, not SQLite\n" * 100)
    return path


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"backends:\n  lmstudio:\n    endpoint: {dead_url()}\n"
                    f"  ollama:\n    endpoint: {dead_url()}\nhealth:\n  timeout: 1\n",
                    encoding="utf-8")  # fmt: skip
    return path


def moved_to(stderr: str, store: Path) -> Path:
    """The path the one line about the damaged file names; that line is there once."""
    lines = [ln for ln in stderr.splitlines() if "could not be read as a database" in ln]
    assert len(lines) == 1, stderr
    assert str(store) in lines[0]
    aside = Path(lines[0].split(" moved it to ", 1)[1].split(" and started", 1)[0])
    assert aside.exists() and aside.name.startswith(store.name + ".corrupt-")
    return aside


@pytest.mark.parametrize(
    ("command", "code", "words"),
    [
        (["history"], 0, "nothing learned yet"),
        (["history", "--json"], 0, ""),
        (["rate", "+"], 2, "nothing to rate: no reply has been recorded yet"),
        (["status"], 1, ""),
    ],
)
def test_a_damaged_database_is_moved_aside_for_every_command(garbage, config, command, code,
                                                             words):  # fmt: skip
    done = run_cli(*command, "--config", str(config))
    assert done.returncode == code, done.stderr
    aside = moved_to(done.stderr, garbage)
    assert aside.read_bytes() == b"\x00garbage, not SQLite\n" * 100
    assert words in done.stderr
    assert "DatabaseError" not in done.stderr and "Traceback" not in done.stderr
    if command == ["history", "--json"]:
        assert json.loads(done.stdout)["buckets"] == []
    # a fresh, private file took its place; the next command has nothing to say about it
    assert sqlite3.connect(garbage).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert garbage.stat().st_mode & 0o077 == 0
    again = run_cli(*command, "--config", str(config))
    assert "could not be read" not in again.stderr


def test_ask_on_a_damaged_database_answers_and_records_in_a_fresh_one(garbage, tmp_path,
                                                                     threaded_sims):  # fmt: skip
    config = tmp_path / "sims.yaml"
    config.write_text(f"backends:\n  lmstudio:\n    endpoint: {threaded_sims.lmstudio.url}\n"
                      f"  ollama:\n    endpoint: {threaded_sims.ollama.url}\n",
                      encoding="utf-8")  # fmt: skip
    done = run_cli("ask", "format this code: x=1", "--config", str(config))
    assert done.returncode == 0, done.stderr
    moved_to(done.stderr, garbage)
    from hybrid_tui.store import Store

    with Store(garbage) as store:
        assert store.last_reply() is not None


def test_two_ask_processes_on_one_data_dir_both_record(tmp_path, threaded_sims):
    config = tmp_path / "sims.yaml"
    config.write_text(f"backends:\n  lmstudio:\n    endpoint: {threaded_sims.lmstudio.url}\n"
                      f"  ollama:\n    endpoint: {threaded_sims.ollama.url}\n",
                      encoding="utf-8")  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    asks = [subprocess.Popen([sys.executable, "-m", "hybrid_tui", "ask", f"format this code: {n}",
                              "--config", str(config)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
            for n in ("a = 1", "b = 2")]  # fmt: skip
    for ask in asks:
        _out, err = ask.communicate(timeout=TIMEOUT)
        assert ask.returncode == 0, err
    from hybrid_tui.store import Store

    with Store() as store:
        assert sum(total for _good, total in store.outcome_stats("format", "simple").values()) \
            == 2


def test_a_chat_exported_from_the_shell_is_private_and_never_replaces_a_file(config, tmp_path):
    from hybrid_tui.store import Store

    with Store() as store:
        chat = store.new_session("work")
        store.save_turn(chat, None, prompt="my private plan", reply="noted", status="done")
    out = tmp_path / "shared" / "work.md"
    old = os.umask(0o022)
    try:
        done = run_cli("export", "work", "-o", str(out), "--config", str(config))
    finally:
        os.umask(old)
    assert done.returncode == 0, done.stderr
    assert "my private plan" in out.read_text() and out.stat().st_mode & 0o777 == 0o600
    again = run_cli("export", "work", "-o", str(out), "--config", str(config))
    assert again.returncode == 2 and "exists" in again.stderr
