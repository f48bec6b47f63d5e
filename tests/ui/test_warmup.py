"""What a first prompt would pay for is done before it: the reply body's CSS is parsed with
the first screen, and the common code highlighters compile in a thread once it is up."""

from __future__ import annotations

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
