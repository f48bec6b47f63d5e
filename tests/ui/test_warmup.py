"""What a first prompt would pay for is done before it: the reply body's CSS is parsed with
the first screen, the common code highlighters compile in a thread once it is up, and the
full garbage collection owed after a reply waits until its last frame is drawn."""

from __future__ import annotations

import gc
import threading

from pygments.lexer import RegexLexer
from pygments.lexers import find_lexer_class_by_name

from hybrid_tui.ui import app as app_module
from hybrid_tui.ui.warmup import LEXERS, StylePreload, compile_lexers
from tests.ui.helpers import SIZE, settle, wait_for


def test_compile_lexers_compiles_each_known_language_and_skips_unknown_ones() -> None:
    assert compile_lexers(["python", "no-such-language", "json"]) == ["python", "json"]
    assert compile_lexers() == list(LEXERS)
    for name in LEXERS:
        lexer = find_lexer_class_by_name(name)  # the class, without making a lexer
        if issubclass(lexer, RegexLexer):
            # Pygments keeps a lexer's compiled rules on its class once one has been made
            assert "_tokens" in lexer.__dict__


async def test_a_first_prompt_adds_no_css_to_parse(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply = "Here:\n\n```python\nprint(1)\n```\n"
    app = make_app(store=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sidebar.status_of("lmstudio") == "up", what="up")
        await settle(pilot)
        assert not app.query(StylePreload)  # gone once mounted
        sources = set(app.stylesheet.source)
        assert any(name == "ReplyBody.DEFAULT_CSS" for _, name in sources)
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: app.idle, what="idle")
        await settle(pilot)
        (turn,) = app.conversation.turns
        assert turn.status == "done"
        # a widget class new to the stylesheet would have added its CSS: a full re-parse
        assert set(app.stylesheet.source) == sources


async def test_lexers_compile_in_a_thread_after_the_first_screen(make_app, monkeypatch):
    calls: list[tuple[bool, bool]] = []

    def spy() -> list[str]:
        calls.append((threading.current_thread() is threading.main_thread(),
                      app.screen.is_mounted))
        return compile_lexers()

    monkeypatch.setattr(app_module, "compile_lexers", spy)
    app = make_app(store=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(calls), what="the warm-up")
    assert calls == [(False, True)]


async def test_the_gc_hold_ends_after_the_replys_last_frame(make_app, lmstudio_sim):
    lmstudio_sim.knobs.reply_tokens = 40
    app = make_app(store=None)
    before = gc.get_threshold()
    held_at_end: list[bool] = []
    ended = app.turn_ended
    app.turn_ended = lambda session, turn: (held_at_end.append(app.gc_pause.held),  # type: ignore[method-assign]
                                            ended(session, turn))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sidebar.status_of("lmstudio") == "up", what="up")
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: bool(held_at_end), what="the prompt's end")
        # the runner has finished; the reply's last frame is not drawn yet
        assert held_at_end == [True]
        await settle(pilot)
        assert not app.gc_pause.held
        assert gc.get_threshold() == before


async def test_a_prompt_sent_before_the_last_frame_releases_the_previous_hold_first(
        make_app, lmstudio_sim):
    """Back to back (the next prompt sent as soon as the last one ends): the holds do not
    overlap, so the thresholds come back between the two prompts as before."""
    lmstudio_sim.knobs.reply_tokens = 20
    app = make_app(store=None)
    calls: list[str] = []
    pause = app.gc_pause
    hold, release = pause.hold, pause.release
    pause.hold = lambda: (calls.append("hold"), hold())[1]  # type: ignore[method-assign]
    pause.release = lambda: (calls.append("release"), release())[1]  # type: ignore[method-assign]
    ended = app.turn_ended
    sent: list[bool] = []

    def next_prompt(session, turn) -> None:
        ended(session, turn)
        if not sent:  # queued from the first prompt's end, before its last frame is drawn
            sent.append(True)
            second = session.new_turn("format this code: y=2", stamp="09:30:01",
                                      force="lmstudio", force_source="cli")
            app.runner.enqueue(session, second)

    app.turn_ended = next_prompt  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sidebar.status_of("lmstudio") == "up", what="up")
        await app.send("format this code: x=1", force="lmstudio")
        await wait_for(pilot, lambda: len(app.session.turns) == 2 and app.idle,
                       what="both prompts")
        await settle(pilot)
        assert [t.status for t in app.session.turns] == ["done", "done"]
    assert calls == ["hold", "release", "hold", "release"]
