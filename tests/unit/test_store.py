"""The SQLite store: outcomes, sessions and turns, durability settings."""

from __future__ import annotations

import sqlite3

import pytest

from hybrid_tui import locations
from hybrid_tui.errors import ChatMissing
from hybrid_tui.router.learn import Learner
from hybrid_tui.store import SCHEMA_VERSION, Outcome, Store, StoreError


def test_nothing_is_created_until_first_use() -> None:
    store = Store()
    assert store.path == locations.store_file()
    assert not store.path.exists()
    assert not locations.data_dir().exists()
    assert store.last_session_id() is None
    assert store.path.exists()
    store.close()


def test_wal_mode_and_integrity(tmp_path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        store.new_session()
        assert store.integrity_check() == "ok"
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_outcome_stats_per_key(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    for success in (True, True, False):
        store.record_outcome(Outcome("refactor", "medium", "ollama"), success=success)
    store.record_outcome(Outcome("refactor", "medium", "lmstudio"), success=False)
    store.record_outcome(Outcome("refactor", "simple", "lmstudio"), success=True)
    store.record_outcome(Outcome("edit", "medium", "lmstudio"), success=True)
    assert store.outcome_stats("refactor", "medium") == {"lmstudio": (0, 1), "ollama": (2, 3)}
    assert store.outcome_stats("refactor", "simple") == {"lmstudio": (1, 1)}
    assert store.outcome_stats("planning", "complex") == {}
    store.close()


def test_outcomes_survive_reopening(tmp_path) -> None:
    path = tmp_path / "s.sqlite3"
    with Store(path) as first:
        first.record_outcome(
            Outcome("edit", "simple", "lmstudio", "qwen", confidence=0.9, ttft_ms=12.5,
                    tokens_per_s=40.0),
            success=True,
        )
    with Store(path) as second:
        assert second.outcome_stats("edit", "simple") == {"lmstudio": (1, 1)}


def test_sessions_and_turns(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    assert store.last_session_id() is None
    s1 = store.new_session()
    s2 = store.new_session("second")
    assert s2 > s1 and store.last_session_id() == s2

    turn = store.save_turn(s2, None, prompt="hi", reply="", backend="lmstudio", status="streaming")
    for partial in ("Hel", "Hello", "Hello!"):
        assert store.save_turn(s2, turn, prompt="hi", reply=partial, status="streaming") == turn
    store.save_turn(
        s2,
        turn,
        prompt="hi",
        reply="Hello!",
        backend="lmstudio",
        model="qwen",
        status="done",
        meta={"confidence": 0.9, "escalated": False},
    )
    other = store.save_turn(s2, None, prompt="again", reply="ok", status="done", meta={})
    store.save_turn(s1, None, prompt="elsewhere", reply="", status="error")

    turns = store.load_session(s2)
    assert [t["id"] for t in turns] == [turn, other]
    first = turns[0]
    assert (first["prompt"], first["reply"], first["status"]) == ("hi", "Hello!", "done")
    assert (first["backend"], first["model"]) == ("lmstudio", "qwen")
    assert first["meta"] == {"confidence": 0.9, "escalated": False}
    assert first["updated"] >= first["created"]
    assert [t["prompt"] for t in store.load_session(s1)] == ["elsewhere"]
    assert store.load_session(9999) == []
    store.close()


def test_save_turn_with_an_unknown_id_inserts_it(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    session = store.new_session()
    assert store.save_turn(session, 42, prompt="p", reply="r", status="done") == 42
    assert [t["id"] for t in store.load_session(session)] == [42]
    store.close()


def test_untrusted_text_round_trips(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    session = store.new_session()
    nasty = "[bold red]x[/] \x1b]0;title\x07 \x1b[2J '); DROP TABLE turns; -- \x00 é 🙂"
    turn = store.save_turn(session, None, prompt=nasty, reply=nasty, meta={"k": nasty})
    loaded = store.load_session(session)[0]
    assert loaded["id"] == turn
    assert loaded["prompt"] == loaded["reply"] == loaded["meta"]["k"] == nasty
    store.close()


def test_learner_records_success_by_threshold(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    learner = Learner(store, enabled=True, threshold=0.7)
    key = {"task_type": "edit", "complexity": "medium", "backend": "lmstudio", "model": "m"}
    assert learner.record(Outcome(**key, confidence=0.9))[0] is True
    assert learner.record(Outcome(**key, confidence=0.5))[0] is False
    assert learner.record(Outcome(**key, confidence=0.9, escalated=True))[0] is False
    assert learner.record(Outcome(**key, confidence=None, failed=True))[0] is False
    # the failed request is kept but teaches nothing about answer quality
    assert learner.stats("edit", "medium") == {"lmstudio": (1, 3)}
    store.close()


def test_learning_disabled_touches_nothing(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    learner = Learner(store, enabled=False, threshold=0.7)
    learner.record(Outcome("edit", "simple", "a", "m", confidence=1.0))
    assert learner.stats("edit", "simple") == {}
    assert not store.path.exists()


def test_learner_survives_an_unusable_store(tmp_path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    learner = Learner(Store(blocker / "s.sqlite3"), enabled=True, threshold=0.7)
    assert learner.stats("edit", "simple") == {}
    assert learner.record(Outcome("edit", "simple", "a", "m", confidence=0.9))[0]


def test_a_turn_of_a_chat_not_in_the_store_is_refused(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    with pytest.raises(ChatMissing) as caught:
        store.save_turn(12345, None, prompt="p", reply="r")
    assert isinstance(caught.value, StoreError) and not caught.value.transient
    assert str(caught.value) == f"chat 12345 is not in {store.path}"
    with store._lock:  # the foreign key holds under the check too
        assert store._conn is not None
        with pytest.raises(sqlite3.IntegrityError):
            store._conn.execute("INSERT INTO turns (session_id, created, updated) VALUES (1, 0, 0)")
    store.close()


def test_a_deleted_chats_id_is_never_given_to_a_new_one(tmp_path) -> None:
    """A save still on its way for a deleted chat, or a --resume pointing at it, must not
    land in the next chat made: ids are not reused, also after the file is reopened."""
    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        first, newest = store.new_session(), store.new_session()
        store.delete_session(newest)
        store.delete_session(first)
    with Store(path) as store:
        made = store.new_session()
        assert made == newest + 1
        assert store.session_named(f"chat-{made}") == made
        assert store.session_named(f"chat-{newest}") is None
