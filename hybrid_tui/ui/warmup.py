"""Work the first prompt would otherwise pay for, done before it is typed.

Timed in tmux on the first prompt of a fresh app (Enter to the last of 3,000 tokens on
screen), two first-use costs fell inside the first reply:

- Textual parses its whole stylesheet again the first time it mounts a widget class with
  CSS of its own (17–36 ms on the UI loop, before the request was even sent): the reply's
  body. :class:`StylePreload` composes one hidden instance of each such class with the
  first screen, so their CSS is parsed with the rest, then leaves.
- Pygments compiles a language's lexer (its regular expressions) the first time a code
  block in that language is highlighted (Python: 20–80 ms, in the middle of the stream).
  :func:`compile_lexers` does that for the languages of :data:`LEXERS` in a worker thread
  once the first screen is up: the UI loop only gives up the GIL between bytecodes, so a
  key press waits at most Python's switch interval (5 ms), never a whole compile.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.syntax import Syntax
from textual.widget import Widget

#: languages whose lexers are compiled while the app is idle: the ones coding prompts
#: most often get answers in (a reply in another language compiles its lexer when first
#: highlighted, as before)
LEXERS = ("python", "bash", "javascript", "typescript", "json")


class StylePreload(Widget):
    """Hidden instances of widget classes that are mounted only later (by a prompt): composed
    with the first screen, their CSS is parsed with the rest of the stylesheet; removed once
    mounted (the CSS stays with the app)."""

    def __init__(self, *widgets: Widget) -> None:
        super().__init__(*widgets)
        self.display = False

    async def on_mount(self) -> None:
        await self.remove()


def compile_lexers(names: Iterable[str] = LEXERS) -> list[str]:
    """Compile the Pygments lexer of each language, as Rich's ``Syntax`` gets it for a code
    block (once per process: Pygments keeps the compiled rules on the lexer class).
    Returns the names it found."""
    return [name for name in names if Syntax("", name).lexer is not None]
