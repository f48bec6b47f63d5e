"""The session writer against a real store: a chat that went missing is made again with
all its turns in order; a deleted chat's pending turns are forgotten, never saved again."""

from __future__ import annotations

from hybrid_tui.chats import load_chat, new_chat
from hybrid_tui.store import Store
from hybrid_tui.ui.persist import SessionWriter


async def test_a_chat_deleted_elsewhere_is_made_again_with_every_turn_in_order(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    news: list[str] = []
    writer = SessionWriter(store, notice=news.append)
    session = new_chat(store, "work")
    for prompt in ("one", "two"):
        writer.mark(session, session.new_turn(prompt))
        await writer.flush()
    store.delete_session(session.id)  # another instance deleted it
    blocker = new_chat(store, "work")  # and someone took the name meanwhile
    writer.mark(session, session.new_turn("three"))
    await writer.flush()
    assert not writer.dirty and writer.failed is None
    assert session.id not in (None, blocker.id) and session.name == "work (2)"
    assert [t.prompt for t in load_chat(store, session.id).turns] == ["one", "two", "three"]
    assert news == ["work was no longer in the store (it was deleted elsewhere); it is saved "
                    "again as work (2), all 3 turns"]
    store.close()


async def test_a_deleted_chats_pending_turns_are_forgotten(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    writer = SessionWriter(store)
    doomed = new_chat(store, "doomed")
    writer.mark(doomed, doomed.new_turn("not saved yet"))
    writer.forget(doomed)
    store.delete_session(doomed.id)
    await writer.flush()
    assert not writer.dirty
    assert store.session_named("doomed") is None
    store.close()
