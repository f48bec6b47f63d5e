"""The TUI on a damaged database file: the file is moved aside and the session is saved to
a fresh one (not silently left unsaved)."""

from __future__ import annotations

from hybrid_tui import locations
from hybrid_tui.store import Store
from tests.ui.helpers import SIZE, wait_for


async def test_the_tui_moves_a_damaged_store_aside_and_saves_to_a_fresh_one(make_app):
    path = locations.store_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all\n" * 40)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await app.send("format this code: x = 1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
    (aside,) = path.parent.glob(f"{path.name}.corrupt-*")
    assert aside.read_bytes() == b"not a database at all\n" * 40
    with Store() as store:
        session = store.last_session_id()
        assert session is not None
        rows = store.load_session(session)
    assert [r["prompt"] for r in rows] == ["format this code: x = 1"]
    assert rows[0]["status"] == "done"
