"""Files holding prompts, replies or code are the owner's alone, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hybrid_tui.private_files import create_private, open_private, private_dir, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    """The loosest umask: any 0644 or 0755 would show."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_new_files_and_the_directories_made_for_them_are_private(tmp_path) -> None:
    path = write_private(tmp_path / "a" / "b" / "export.md", "transcript")
    assert path.read_text() == "transcript"
    assert mode(path) == 0o600
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700


def test_an_existing_loose_file_is_tightened_and_replaced(tmp_path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("old contents that are longer")
    path.chmod(0o666)
    with open_private(path) as out:
        out.write("new")
    assert path.read_text() == "new" and mode(path) == 0o600


def test_a_users_existing_directory_keeps_its_mode(tmp_path) -> None:
    tmp_path.chmod(0o755)
    write_private(tmp_path / "set.jsonl", "x")
    assert mode(tmp_path) == 0o755


def test_private_dir_tightens_and_create_private_keeps_contents(tmp_path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o777)
    data.chmod(0o777)
    assert private_dir(data) == data and mode(data) == 0o700
    db = data / "db"
    db.write_bytes(b"contents")
    db.chmod(0o644)
    create_private(db)
    assert mode(db) == 0o600 and db.read_bytes() == b"contents"


def test_a_symlink_planted_where_an_export_goes_is_not_followed(tmp_path) -> None:
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "export.md").symlink_to(target)
    with pytest.raises(OSError):
        write_private(tmp_path / "export.md", "x")
    assert target.read_text() == "keep"


def test_ui_exports_are_private(tmp_path) -> None:
    from hybrid_tui.ui.export import write_export

    path = write_export(tmp_path / "exports", "transcript", ".md", "text", 0.0)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_a_shared_sticky_directory_is_never_tightened(tmp_path) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    private_dir(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777


def test_a_store_outside_the_data_dir_leaves_its_directory_alone(tmp_path) -> None:
    from hybrid_tui.store import Store

    tmp_path.chmod(0o755)
    with Store(tmp_path / "s.sqlite3") as store:
        store.new_session()
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "s.sqlite3") == 0o600
    with Store(tmp_path / "new" / "s.sqlite3") as store:
        store.new_session()
    assert mode(tmp_path / "new") == 0o700
