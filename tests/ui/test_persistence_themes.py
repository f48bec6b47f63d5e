"""Pilot tests: turns saved as they stream, --resume, and YAML themes."""

from __future__ import annotations

from hybrid_tui import locations
from hybrid_tui.store import Store
from hybrid_tui.ui import prefs
from hybrid_tui.ui.themes import load_themes
from tests.ui.helpers import SIZE, config_for, wait_for


async def test_turns_are_saved_while_streaming_and_resumed(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 240
    lmstudio_sim.knobs.tokens_per_s = 200.0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        turn = await app.send("format this code: saved", force="lmstudio")
        await wait_for(pilot, lambda: bool(turn.replies) and turn.replies[0].chunks > 40)
        # within a flush interval or two the partial reply is on disk, before the end
        store = Store()
        session = store.last_session_id()

        def saved_partial() -> bool:
            rows = store.load_session(session)
            return bool(rows) and rows[0]["status"] == "streaming" and len(rows[0]["reply"]) > 0

        await wait_for(pilot, saved_partial, timeout=3, what="partial reply saved")
        await wait_for(pilot, lambda: app.idle)
        answer = turn.answer
        store.close()

    lmstudio_sim.knobs.tokens_per_s = None
    resumed = make_app(resume=True)
    async with resumed.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(resumed.conversation.turns), what="restored")
        (restored,) = resumed.conversation.turns
        assert restored.prompt == "format this code: saved"
        assert restored.status == "done"
        assert restored.answer == answer
        assert restored.replies[0].body.source == answer
        assert restored.turn.decision is not None and restored.turn.decision.forced
        assert any("Opened chat" in notice for notice in resumed.notices)
        # the next prompt carries the resumed turn as history
        await resumed.send("format this code: next", force="lmstudio")
        await wait_for(pilot, lambda: resumed.idle)
        roles = [m["role"] for m in lmstudio_sim.requests[-1]["messages"]]
        assert roles.count("assistant") == 1


async def test_a_bad_theme_file_is_skipped_with_a_notification(make_app):
    themes_dir = locations.user_themes_dir()
    themes_dir.mkdir(parents=True)
    (themes_dir / "broken.yaml").write_text("name: broken\nprimary: [not, a, colour\n")
    (themes_dir / "typo.yaml").write_text("name: typo\nprimary: '#112233'\nbackgruond: '#000'\n")
    (themes_dir / "mine.yaml").write_text("name: mine\nprimary: '#336699'\ndark: false\n")
    app = make_app()
    async with app.run_test(size=SIZE):
        problems = [n for n in app.notices if "Skipped theme file" in n]
        assert len(problems) == 2
        assert any("broken.yaml" in n for n in problems)
        assert any("typo.yaml" in n and "backgruond" in n for n in problems)
        assert "mine" in app.available_themes and "hybrid-light" in app.available_themes
        assert app.theme == "hybrid-dark"


async def test_theme_from_config_and_palette_choice_is_remembered(make_app, lmstudio_sim,
                                                                   ollama_sim):
    config = config_for(lmstudio_sim.url, ollama_sim.url, theme="hybrid-light")
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "hybrid-light"
        app.choose_theme("hybrid-high-contrast")
        await pilot.pause()
        assert prefs.load_state().theme == "hybrid-high-contrast"
    again = make_app(config)
    async with again.run_test(size=SIZE):
        assert again.theme == "hybrid-high-contrast"
    # editing ui.theme in the config wins over the remembered choice
    edited = make_app(config_for(lmstudio_sim.url, ollama_sim.url, theme="hybrid-dark"))
    async with edited.run_test(size=SIZE):
        assert edited.theme == "hybrid-dark"


def test_shipped_themes_are_valid_and_distinct():
    themes = load_themes([locations.builtin_themes_dir()])
    assert themes.problems == ()
    assert {"hybrid-dark", "hybrid-light", "hybrid-high-contrast"} <= set(themes.themes)
    assert themes.themes["hybrid-light"].dark is False
    assert themes.themes["hybrid-high-contrast"].background == "#000000"


async def test_a_failing_save_is_kept_retried_and_shown(make_app, lmstudio_sim, monkeypatch):
    from hybrid_tui.errors import StoreError
    from hybrid_tui.ui import persist

    monkeypatch.setattr(persist, "FIRST_BACKOFF", 0.05)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        store = app.store
        real = store.save_turn
        failing = {"on": True}

        def save_turn(*args, **kwargs):
            if failing["on"]:
                raise StoreError("could not save the turn: disk full", transient=True)
            return real(*args, **kwargs)

        monkeypatch.setattr(store, "save_turn", save_turn)
        await app.send("format this code: kept", force="lmstudio")
        await wait_for(pilot, lambda: app.idle)
        await wait_for(pilot, lambda: app.writer.failed is not None, what="reported")
        assert any("not saved yet" in n and "disk full" in n for n in app.notices)
        assert "not saved yet" in str(app.hint.render())
        assert app.writer.pending == 1  # kept, not dropped
        failing["on"] = False
        await wait_for(pilot, lambda: app.writer.failed is None and not app.writer.dirty,
                       timeout=10, what="saved after all")
        assert any("Saving works again" in n for n in app.notices)
        rows = store.load_session(app.session.id)
        assert [r["prompt"] for r in rows] == ["format this code: kept"]
        assert rows[0]["status"] == "done"
