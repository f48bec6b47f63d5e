"""The store's files are private, a busy or full database is waited out or reported, and an
unreadable file is moved aside: the attacks and accidents of a shared machine."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from hybrid_tui import locations
from hybrid_tui.store import Outcome, Store, StoreError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask():
    """The umask most systems ship (files 0644, directories 0755)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_data_dir_and_every_database_file_are_private(loose_umask) -> None:
    with Store() as store:
        session = store.new_session()
        store.save_turn(session, None, prompt="my secret plan", reply="noted")
        path = store.path
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()  # while the connection is open
        assert mode(locations.data_dir()) == 0o700
        assert {mode(path), mode(wal), mode(shm)} == {0o600}


def test_files_of_an_older_version_are_tightened_on_open(loose_umask) -> None:
    data = locations.data_dir()
    data.mkdir(mode=0o755)
    path = locations.store_file()
    old = sqlite3.connect(path)  # as the old code made it: 0644, WAL files 0644
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t (x)")
    old.commit()
    assert mode(path) == 0o644 and mode(Path(f"{path}-wal")) == 0o644
    with Store() as store:
        store.new_session()
        assert mode(data) == 0o700
        assert {mode(path), mode(Path(f"{path}-wal")), mode(Path(f"{path}-shm"))} == {0o600}
    old.close()


def test_an_unreadable_file_is_moved_aside_and_a_fresh_one_used(tmp_path) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(b"this is not a database\n" * 50)
    notices: list[str] = []
    with Store(path, notice=notices.append) as store:
        session = store.new_session()
        store.save_turn(session, None, prompt="p", reply="r")
        aside = store.moved_aside
        assert aside is not None and aside.parent == tmp_path
        assert aside.name.startswith("s.sqlite3.corrupt-")
        assert aside.read_bytes() == b"this is not a database\n" * 50  # nothing lost
        assert len(notices) == 1 and str(aside) in notices[0] and "\n" not in notices[0]
        assert store.integrity_check() == "ok"
    with Store(path) as again:  # the fresh file is a normal store from now on
        assert again.last_session_id() == session and again.moved_aside is None


@pytest.fixture
def held(tmp_path):
    """A second connection holding the write lock of the store's file until released."""
    path = tmp_path / "s.sqlite3"
    with Store(path) as store:
        store.new_session()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    yield path, other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


def test_a_lock_held_past_the_busy_timeout_is_waited_out(held) -> None:
    path, other = held
    releaser = threading.Timer(0.4, lambda: other.execute("COMMIT"))
    notices: list[str] = []
    store = Store(path, busy_timeout=0.05, retry_for=5.0, notice=notices.append)
    releaser.start()
    try:
        turn = store.save_turn(1, None, prompt="p", reply="r")
    finally:
        releaser.join()
    assert store.retries >= 1
    assert len(notices) == 1 and "lock" in notices[0] and "\n" not in notices[0]
    assert [t["id"] for t in store.load_session(1)] == [turn]
    store.close()


def test_a_save_that_still_fails_raises_store_error_and_can_be_repeated(held) -> None:
    path, other = held
    store = Store(path, busy_timeout=0.05, retry_for=0.3, notice=lambda _line: None)
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        store.save_turn(1, None, prompt="p", reply="r")
    assert 0.25 <= time.monotonic() - started < 3
    error = caught.value
    assert error.transient and str(path) in str(error) and "\n" not in str(error)
    assert "lock" in str(error) and "tried" in str(error)
    other.execute("COMMIT")
    assert store.load_session(1) == []  # nothing half-written
    store.save_turn(1, None, prompt="p", reply="r")  # the caller's retry
    assert [t["prompt"] for t in store.load_session(1)] == ["p"]
    store.close()


def test_a_full_disk_is_retried_then_reported_and_saving_resumes(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3", retry_for=0.3, notice=lambda _line: None)
    session = store.new_session()
    # SQLite's own page limit stands in for a full disk: both end in SQLITE_FULL
    db = sqlite3.connect(store.path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    store.open()
    conn = store._conn
    assert conn is not None
    conn.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(StoreError) as caught:
        store.save_turn(session, None, prompt="x" * 100_000, reply="")
    assert caught.value.transient and "disk is full" in str(caught.value)
    assert store.retries >= 1
    conn.execute("PRAGMA max_page_count=1073741823")  # space is back
    turn = store.save_turn(session, None, prompt="x" * 100_000, reply="")
    assert [t["id"] for t in store.load_session(session)] == [turn]
    store.close()


def test_two_stores_on_one_file_write_at_once(tmp_path) -> None:
    path = tmp_path / "s.sqlite3"
    stores = [Store(path, busy_timeout=0.01, notice=lambda _line: None) for _ in range(2)]
    errors: list[BaseException] = []

    def work(store: Store) -> None:
        try:
            session = store.new_session()
            for i in range(60):
                turn = store.save_turn(session, None, prompt=f"p{i}", reply="")
                store.save_turn(session, turn, prompt=f"p{i}", reply="done", status="done")
                store.record_outcome(Outcome("edit", "simple", "b"), success=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert stores[0].outcome_stats("edit", "simple") == {"b": (120, 120)}
    for store in stores:
        store.close()


def test_benchmark_results_made_first_are_private_too(loose_umask) -> None:
    from hybrid_tui.bench.results import BenchmarkStore

    assert BenchmarkStore().pass_rates() == {}  # a read creates nothing
    assert not locations.store_file().exists()
    BenchmarkStore().save_run("HumanEval", 0, [])
    assert mode(locations.store_file()) == 0o600 and mode(locations.data_dir()) == 0o700
