"""Pilot tests of the line-based reply widget: it shows what it was fed, follows theme and
width, gives selected text back, stays one widget however long the reply, and (through
``ReplyView``) never lets a control character reach the screen."""

from __future__ import annotations

import asyncio
import re
import time

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Offset
from textual.screen import ModalScreen
from textual.selection import Selection
from textual.strip import Strip

from hybrid_tui.events import Done
from hybrid_tui.ui.markdown_blocks import BlockSplitter, markdown_parser
from hybrid_tui.ui.widgets.reply_body import Look, ReplyBody, render_block
from tests.ui.helpers import OneReplyApp, settle, wait_for

SIZE = (80, 24)
CODE = "```python\nx = 1\n```\n"
#: what must never reach the text: C0 controls but LF and TAB, DEL, C1 controls
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: and what must never reach a line on screen: any of those, LF and TAB too
UNSAFE_ON_SCREEN = re.compile("[\x00-\x1f\x7f-\x9f]")


class BodyApp(App):
    """One reply body in a scrolling pane, as in the conversation."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ReplyBody()

    @property
    def body(self) -> ReplyBody:
        return self.query_one(ReplyBody)


def lines_of(body: ReplyBody) -> list[Strip]:
    return [body.render_line(y) for y in range(body.line_count)]


def everything(body: ReplyBody) -> str:
    selected = body.get_selection(Selection(None, None))
    assert selected is not None
    return selected[0]


def whole(body: ReplyBody, text: str) -> str:
    """``text`` fed in one piece and rendered at the body's width, as selectable text."""
    look = Look.of(body.app.theme_variables, body.app.current_theme.dark, body.app.theme)
    out: list[str] = []
    finished, tail = BlockSplitter(markdown_parser()).feed(text)
    for block in finished + tail:
        if out and not block.joined:
            out.append("")
        out += [s.text.rstrip() for s in render_block(block, look, body.size.width,
                                                      body.app.console)]
    return "\n".join(out).rstrip("\n")  # (a selection ends at the last line with text)


def background_of(strip: Strip) -> str | None:
    colours = {s.style.bgcolor.name for s in strip if s.style and s.style.bgcolor}
    assert len(colours) == 1, colours
    return colours.pop()


async def test_appended_pieces_show_as_the_whole_text() -> None:
    pieces = ["# Title\n\nSome ", "text and ", "more text.\n\n- one\n- t", "wo\n\n",
              CODE, "| a | b |\n|---|---|\n| c | d |\n", "\nDone."]
    app = BodyApp()
    async with app.run_test(size=SIZE) as pilot:
        body = app.body
        counts = []
        for index, piece in enumerate(pieces):
            body.append(piece)
            await pilot.pause()
            assert body.source == "".join(pieces[: index + 1])
            counts.append(body.line_count)
        assert counts == sorted(counts) and counts[-1] > counts[0]
        assert body.size.height == body.line_count
        assert everything(body) == whole(body, body.source)
        body.update("Replaced.")
        await pilot.pause()
        assert body.source == "Replaced."
        assert everything(body) == "Replaced."
        assert body.size.height == body.line_count == 1


async def test_a_line_that_grows_in_place_is_painted_again() -> None:
    """Painted lines are kept (a growing reply asks for every visible line each frame);
    a line the new text changed, at the same line count, must not be served stale."""
    app = BodyApp()
    async with app.run_test(size=SIZE) as pilot:
        body = app.body
        body.append("First paragraph.\n\nSecond.\n\nHello")
        await pilot.pause()
        first, last = body.render_line(0), body.render_line(4)
        assert last.text.strip() == "Hello"
        body.append(" world")
        await pilot.pause()
        assert body.line_count == 5
        assert body.render_line(4).text.strip() == "Hello world"
        assert body.render_line(0) is first  # the finished block: painted once
        body.update("Other.")
        await pilot.pause()
        assert body.render_line(0).text.strip() == "Other."


async def test_a_theme_switch_repaints_code_in_the_new_colours() -> None:
    app = BodyApp()
    app.theme = "textual-dark"
    async with app.run_test(size=SIZE) as pilot:
        body = app.body
        body.append(f"Intro.\n\n{CODE}")
        await pilot.pause()
        row = next(y for y, strip in enumerate(lines_of(body)) if "x = 1" in strip.text)
        dark = background_of(body.render_line(row))
        app.theme = "textual-light"
        await settle(pilot)
        look = Look.of(app.theme_variables, app.current_theme.dark, app.theme)
        light = background_of(body.render_line(row))
        assert light != dark
        assert light == look.code_background.lower()
        body.restyle()  # the explicit way gives the same
        await pilot.pause()
        assert background_of(body.render_line(row)) == light


async def test_a_narrower_terminal_rewraps_the_lines() -> None:
    paragraph = " ".join(f"word{i}" for i in range(120))
    app = BodyApp()
    async with app.run_test(size=SIZE) as pilot:
        body = app.body
        body.append(f"{paragraph}\n\n{CODE}")
        await pilot.pause()
        wide = body.line_count
        await pilot.resize_terminal(40, 24)
        await settle(pilot)
        assert body.size.width < 40
        assert body.line_count > wide
        assert body.size.height == body.line_count
        assert all(strip.cell_length == body.size.width for strip in lines_of(body))
        assert everything(body) == whole(body, body.source)
        assert re.findall(r"word\d+", everything(body)) == paragraph.split()


async def test_selection_gives_back_the_selected_text() -> None:
    app = BodyApp()
    async with app.run_test(size=SIZE) as pilot:
        body = app.body
        body.append("Hello world\n\n```\ncode line\n```\n")
        await pilot.pause()
        assert body.get_selection(Selection(Offset(0, 0), Offset(5, 0))) == ("Hello", "\n")
        # the paragraph's end, the blank line, the fence's padding row, into the code
        text, _ = body.get_selection(Selection(Offset(6, 0), Offset(5, 3)))
        assert text == "world\n\n\n code"
        before = body.render_line(0)
        app.screen.selections = {body: Selection(Offset(0, 0), Offset(5, 0))}
        await pilot.pause()
        after = body.render_line(0)
        assert after.text == before.text  # highlighted, not changed
        assert next(iter(after)).style != next(iter(before)).style


async def test_a_long_reply_stays_one_widget() -> None:
    app = BodyApp()
    async with app.run_test(size=SIZE) as pilot:
        body = app.body
        widgets = len(list(app.screen.walk_children()))
        for part in range(100):
            body.append(f"Part {part} says something.\n\n- a\n- b\n\n```\n"
                        + "".join(f"line {part}.{i}\n" for i in range(13)) + "```\n\n")
        await settle(pilot)
        assert body.line_count >= 2000
        assert not body.children
        assert len(list(app.screen.walk_children())) == widgets
        body.parent.scroll_end(animate=False)
        await settle(pilot)
        assert body.render_line(body.line_count - 2).text.strip() == "line 99.12"


async def test_control_characters_never_reach_the_screen() -> None:
    chunks = ["Title\x1b]0;pwned\x07 and \x1b[2J", " csi\x9b31m c1\x85 del\x7f\ttab\n\n",
              "```\nprint('\x1b[31mred')\r", "\n```\n\nlink \x1b]8;;http://e.vil\x1b\\here\r",
              "\nend\x00."]
    app = OneReplyApp()
    async with app.run_test(size=SIZE) as pilot:
        reply = app.reply
        for chunk in chunks:
            app.stream(chunk)
            await pilot.pause()
        app.feed(Done("lmstudio", "model", None, 5, None, None, False, 1.0,
                      text="".join(chunks)))
        await settle(pilot)
        body = reply.body
        assert reply.text == "".join(chunks)  # kept as received
        assert not UNSAFE.search(body.source)
        strips = lines_of(body)
        assert not any(UNSAFE_ON_SCREEN.search(s.text) for strip in strips for s in strip)
        shown = everything(body)
        assert "␛]0;pwned␇" in shown and "␛[2J" in shown and "print('␛[31mred')" in shown
        assert "\\x9b31m" in shown and "\\x85" in shown and "␡" in shown and "end␀." in shown
        assert "link ␛]8;;http://e.vil␛\\here end␀." in shown  # CR, LF: one line end


async def test_tokens_reach_the_body_in_few_updates() -> None:
    tokens = [f"word{i} " if i % 50 else "\n\n" for i in range(1, 600)]
    app = OneReplyApp()
    async with app.run_test(size=SIZE) as pilot:
        reply = app.reply
        for token in tokens:  # all within one frame: one flush for the lot
            app.stream(token)
        await wait_for(pilot, lambda: reply.settled, what="settled")
        await pilot.pause()
        assert reply.body.source == "".join(tokens)
        assert reply.chunks == len(tokens)
        assert reply.flushes <= 2


async def test_a_dialog_over_a_streaming_reply_leaves_it_at_one_update_a_frame() -> None:
    """While a dialog covers the conversation no frame of it is drawn, so "after the
    screen drew the last update" comes at once: the reply still takes text at most once a
    frame (not once per token, each re-rendering the growing tail)."""
    app = OneReplyApp()
    async with app.run_test(size=SIZE) as pilot:
        reply = app.reply
        app.stream("First words.\n\n")
        await wait_for(pilot, lambda: reply.settled, what="the first text")
        app.push_screen(ModalScreen())
        await pilot.pause()
        start = time.monotonic()
        for i in range(120):
            app.stream(f"word{i} ")
            await asyncio.sleep(0.002)
        await wait_for(pilot, lambda: reply.settled, what="settled")
        elapsed = time.monotonic() - start
        assert reply.body.source.endswith("word119 ")
        assert reply.flushes <= 2 + elapsed * 60


async def test_text_after_a_frame_waits_for_the_loop_to_turn_before_it_is_flushed() -> None:
    """Both a frame and a flush are long callbacks while a reply streams fast; a callback
    run after the refresh shares the frame's turn of the loop, so the flush goes through a
    timer even when a frame is already due: a key that came during the frame is handled
    before it."""
    app = OneReplyApp()
    async with app.run_test(size=SIZE) as pilot:
        reply = app.reply
        app.stream("First words.\n\n")
        await wait_for(pilot, lambda: reply.settled, what="the first text")
        await asyncio.sleep(0.05)  # well over a frame since the last flush
        app.stream("more ")
        before = reply.flushes
        reply._after_frame()  # as if the screen had just drawn the last flush
        assert reply.flushes == before  # not in this turn of the loop
        handled: list[int] = []
        asyncio.get_running_loop().call_soon(lambda: handled.append(reply.flushes))
        await wait_for(pilot, lambda: reply.flushes > before, what="the flush")
        assert handled == [before]  # what was already waiting ran first
