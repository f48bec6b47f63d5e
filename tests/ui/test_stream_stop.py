"""Regression: a reply that ended in the same tick as its first flush was marked cancelled.

``MarkdownStream.stop()`` cancels its writer task and awaits it; a task cancelled before it
first ran re-raises CancelledError in the caller, so the prompt's worker took the end of a
finished reply for Esc (seen as a turn stuck "streaming" after a dozen fast turns).
"""

from __future__ import annotations

import asyncio
import contextlib

from textual.app import App, ComposeResult
from textual.widgets import Markdown

from hybrid_tui.ui.widgets.turn import stop_stream


class _One(App[None]):
    def compose(self) -> ComposeResult:
        yield Markdown()


async def test_stopping_a_stream_that_never_ran_is_not_our_cancellation():
    app = _One()
    async with app.run_test():
        md = app.query_one(Markdown)
        stream = Markdown.get_stream(md)  # its task is created but has not run yet
        await stop_stream(stream)  # must not raise CancelledError into the caller
        assert asyncio.current_task() is not None
        assert not asyncio.current_task().cancelling()


async def test_a_real_cancellation_still_propagates():
    app = _One()
    async with app.run_test():
        md = app.query_one(Markdown)

        async def stop_then_wait() -> None:
            stream = Markdown.get_stream(md)
            await stream.write("some text")
            await stop_stream(stream)
            await asyncio.sleep(10)

        task = asyncio.create_task(stop_then_wait())
        await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()
