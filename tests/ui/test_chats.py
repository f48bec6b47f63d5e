"""Pilot tests: several chats, per-prompt control, files as context, asking the other model,
saving a code block, reading back while a reply streams, and keys from the action table."""

from __future__ import annotations

from hybrid_tui.config import UIConfig
from hybrid_tui.store import Store
from hybrid_tui.ui.screens.chats import ChatsScreen
from hybrid_tui.ui.screens.help import HelpScreen
from hybrid_tui.ui.screens.save import SaveCodeScreen
from tests.ui.helpers import SIZE, card_status, config_for, settle, wait_for

COMPLEX = "analyze this complex system architecture and plan a migration"


async def _ask(app, pilot, text: str, **kw):
    view = await app.send(text, **kw)
    await wait_for(pilot, lambda: app.idle, timeout=30)
    return view


async def test_two_chats_keep_their_own_history_and_come_back_after_a_restart(
        make_app, lmstudio_sim):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ask(app, pilot, "format this code: alpha", force="lmstudio")
        first = app.session
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.session is not first, what="new chat")
        assert app.conversation.turns == [] and app.conversation.query("#welcome")
        await _ask(app, pilot, "format this code: beta", force="lmstudio")
        sent = lmstudio_sim.requests[-1]["messages"]
        assert "alpha" not in str(sent)  # the new chat has its own history
        second = app.session
        # switch back with the chats list: search, Enter
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatsScreen), what="chats")
        screen = app.screen
        assert screen.listing.option_count == 2
        await pilot.press(*first.name)
        await settle(pilot)
        assert screen.listing.option_count == 1
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session.id == first.id, what="switched")
        assert [t.prompt for t in app.conversation.turns] == ["format this code: alpha"]
        await _ask(app, pilot, "format this code: gamma", force="lmstudio")
        history = str(lmstudio_sim.requests[-1]["messages"])
        assert "alpha" in history and "beta" not in history
        first_id, second_name = first.id, second.name

    # after a restart: --session NAME opens that chat, --resume the last used one
    again = make_app(session_name=second_name)
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [t.prompt for t in again.conversation.turns] == ["format this code: beta"]
    resumed = make_app(resume=True)
    async with resumed.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert resumed.session.id == first_id
        assert [t.prompt for t in resumed.conversation.turns] == [
            "format this code: alpha", "format this code: gamma"]


async def test_rename_and_delete_a_chat_from_the_list(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ask(app, pilot, "format this code: x", force="lmstudio")
        keep = app.session
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.session is not keep)
        doomed = app.session
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatsScreen))
        screen = app.screen
        # the highlighted chat is the newest (doomed); rename it
        assert screen.selected is not None and screen.selected.id == doomed.id
        await pilot.press("ctrl+r")
        answer = screen.query_one("#chats-answer")
        answer.value = "scratch"
        await pilot.press("enter")
        await settle(pilot)
        assert Store().session_info(doomed.id)["name"] == "scratch"
        assert app.session.name == "scratch"
        # delete asks first; anything but yes keeps it
        await pilot.press("ctrl+d")
        answer.value = "no"
        await pilot.press("enter")
        await settle(pilot)
        assert Store().session_info(doomed.id) is not None
        await pilot.press("ctrl+d")
        answer.value = "yes"
        await pilot.press("enter")
        await settle(pilot)
        names = [s["name"] for s in Store().sessions()]
        assert "scratch" not in names and keep.name in names
        assert app.session.name != "scratch" and not app.session.turns  # a fresh chat


async def test_at_strong_and_at_path_in_the_prompt(make_app, lmstudio_sim, ollama_sim, tmp_path):
    (tmp_path / "util.py").write_text("def helper():\n    return 42\n")
    app = make_app(cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        app.prompt_input.insert("@strong format this code: @util")
        await pilot.press("tab")  # completes the path
        assert app.prompt_input.text == "@strong format this code: @util.py"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.idle)
        await settle(pilot)
        (view,) = app.conversation.turns
        turn = view.turn
        assert (turn.force, turn.force_source) == ("strong", "prefix")
        assert turn.prompt == "format this code: util.py"
        assert [(a.path, a.size) for a in turn.attachments] == [("util.py", 28)]
        chips = str(view.query_one(".chips").render())
        assert "util.py" in chips and "28 B" in chips
        assert "forced by prefix" in str(view.query_one(".badge").render())
        assert lmstudio_sim.requests == []
        sent = ollama_sim.requests[-1]["messages"][-1]["content"]
        assert "File: util.py" in sent and "return 42" in sent
        # a missing file: one clear line, nothing sent, the prompt kept as typed
        app.prompt_input.insert("explain @nowhere/x.py")
        await pilot.press("enter")
        await settle(pilot)
        assert "no such file" in str(app.hint.render())
        assert app.prompt_input.text == "explain @nowhere/x.py"
        assert len(app.conversation.turns) == 1 and len(ollama_sim.requests) == 1


async def test_asking_the_other_model_keeps_both_replies(make_app, lmstudio_sim, ollama_sim):
    lmstudio_sim.knobs.reply = "Use a loop."
    ollama_sim.knobs.reply = "```python\nprint(sum(range(10)))\n```"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "ollama") == "up")
        view = await _ask(app, pilot, "format this code: total", force="lmstudio")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: len(view.turn.replies) == 2 and app.idle, what="other")
        await settle(pilot)
        first, second = view.turn.replies
        assert (first.backend, second.backend) == ("lmstudio", "ollama")
        assert second.asked_other and second.status == "done"
        assert first.rating is False  # asking again teaches the router like a bad rating
        assert view.turn.answer.startswith("```python")
        assert "asked the other model" in str(view.replies[1].query_one(".reply-note").render())
        assert [e.event for e in app.routing_log.entries][-2:] == ["decision", "done"]
        assert app.routing_log.entries[-1].route == "asked other"


async def test_saving_a_code_block_never_overwrites_unasked(make_app, lmstudio_sim, tmp_path):
    lmstudio_sim.knobs.reply = "Here:\n```python\nprint('saved')\n```\n"
    app = make_app(cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _ask(app, pilot, "format this code: p", force="lmstudio")
        assert any("block 1" in label for label, _ in app.code_block_choices())
        app.action_save_code()
        await wait_for(pilot, lambda: isinstance(app.screen, SaveCodeScreen))
        await pilot.press(*"out/p.py", "enter")
        await settle(pilot)
        assert (tmp_path / "out" / "p.py").read_text() == "print('saved')\n"
        (tmp_path / "out" / "p.py").write_text("mine\n")
        app.action_save_code()
        await wait_for(pilot, lambda: isinstance(app.screen, SaveCodeScreen))
        await pilot.press(*"out/p.py", "enter")
        await settle(pilot)
        assert isinstance(app.screen, SaveCodeScreen)  # asks first
        await pilot.press(*"no", "enter")
        assert (tmp_path / "out" / "p.py").read_text() == "mine\n"
        await pilot.press(*"out/p.py", "enter", *"yes", "enter")
        await settle(pilot)
        assert (tmp_path / "out" / "p.py").read_text() == "print('saved')\n"
        assert not isinstance(app.screen, SaveCodeScreen)


async def test_page_up_reads_back_while_a_reply_streams(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 3000
    lmstudio_sim.knobs.tokens_per_s = 400.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        view = await app.send("format this code: long", force="lmstudio")
        conversation = app.conversation
        await wait_for(pilot, lambda: conversation.max_scroll_y > 20, what="overflow")
        assert app.focused is app.prompt_input
        await pilot.press("pageup")
        await pilot.pause(0.1)
        held = conversation.scroll_y
        assert held < conversation.max_scroll_y
        chunks = view.turn.current.chunks
        await wait_for(pilot, lambda: view.turn.current.chunks > chunks + 100, what="more")
        await pilot.pause(0.4)
        assert conversation.scroll_y == held  # not yanked back
        assert app.below.display  # "new text below"
        await pilot.press("ctrl+end")
        await pilot.pause(0.4)
        assert conversation.scroll_y >= conversation.max_scroll_y - 1
        assert not app.below.display
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.idle)


async def test_ui_keys_rebind_an_action_everywhere(make_app, lmstudio_sim, ollama_sim):
    config = config_for(lmstudio_sim.url, ollama_sim.url)
    config = type(config)(routing=config.routing, backends=config.backends,
                          health=config.health, ui=UIConfig(keys={"new_chat": "f6"}))
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        before = app.session
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.session is not before, what="new chat on f6")
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = app.screen.query_one("Markdown").source
        assert "| F6 | start a new chat" in help_text
        assert "| ctrl+n |" not in help_text


async def test_chat_settings_apply_to_this_chat_only(make_app, lmstudio_sim):
    from textual.widgets import Input, Select, TextArea

    from hybrid_tui.ui.screens.settings import ChatSettingsScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: card_status(app, "lmstudio") == "up")
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatSettingsScreen))
        screen = app.screen
        screen.query_one("#settings-system", TextArea).load_text("Answer in haiku.")
        screen.query_one("#option-temperature", Input).value = "9"
        await pilot.press("ctrl+s")
        await settle(pilot)
        problem = str(screen.query_one("#settings-problem").render())
        assert isinstance(app.screen, ChatSettingsScreen) and "temperature" in problem
        screen.query_one("#option-temperature", Input).value = "0.7"
        screen.query_one("#option-stop", Input).value = "END, STOP"
        screen.query_one("#settings-think", Select).value = "off"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChatSettingsScreen))
        assert app.session.settings.options.temperature == 0.7
        await _ask(app, pilot, "format this code: x", force="lmstudio")
        body = lmstudio_sim.requests[-1]
        assert body["temperature"] == 0.7 and body["stop"] == ["END", "STOP"]
        assert body["messages"][0] == {"role": "system", "content": "Answer in haiku."}
        # a new chat starts from the backends' own settings
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: not app.session.turns)
        await _ask(app, pilot, "format this code: y", force="lmstudio")
        body = lmstudio_sim.requests[-1]
        assert body["temperature"] != 0.7 and "haiku" not in str(body["messages"])


async def test_a_store_damaged_mid_session_is_moved_aside_and_the_chat_saved_again(make_app):
    """Nothing on screen is lost when the file goes bad under a running app: the store moves
    it aside and starts a fresh one, the open chat is made again there with all its turns
    in order, and both are said in a notification."""
    from pathlib import Path

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _ask(app, pilot, "format this code: one", force="lmstudio")
        assert app.store is not None
        path, name = app.store.path, app.session.name
        path.write_bytes(b"not a database any more " * 1000)
        for side in ("-wal", "-shm"):
            if Path(f"{path}{side}").exists():
                Path(f"{path}{side}").write_bytes(b"x" * 100)
        await _ask(app, pilot, "format this code: two", force="lmstudio")
        await wait_for(pilot, lambda: not app.writer.dirty and not app.writer.failed,
                       what="saved again")  # fmt: skip
        await wait_for(pilot, lambda: any("saved again" in n for n in app.notices),
                       what="the news")  # fmt: skip
        news = "\n".join(app.notices)
        assert "could not be read as a database" in news and ".corrupt-" in news
        assert f"{name} was no longer in the store" in news
        await _ask(app, pilot, "format this code: three", force="lmstudio")
        await wait_for(pilot, lambda: not app.writer.dirty, what="third saved")
    assert list(path.parent.glob(f"{path.name}.corrupt-*"))
    with Store(path) as fresh:
        chat = fresh.session_named(name)
        assert chat is not None
        assert [t["prompt"] for t in fresh.load_session(chat)] == [
            "format this code: one", "format this code: two", "format this code: three"]
