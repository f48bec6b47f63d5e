"""A reply's Markdown as one line-based widget: finished blocks rendered once, the tail per update.

Why not Textual's ``Markdown`` widget: it mounts a widget per block (per list item, per
table cell), and every update of a streaming reply re-arranges all of them; a
20,000-token reply is ~1,200 widgets and an update then holds the event loop for half a
second (profiled). Here a reply is one widget whatever its length. Its lines are
Rich renderings of each block (:mod:`hybrid_tui.ui.markdown_blocks` says which blocks are
final), kept per width as segment lines: a finished block is rendered once, and an update
re-renders only the tail and repaints only the lines that changed. Text is never markup:
Rich renders the parsed tokens of already-sanitised text, raw HTML is shown as text and
links as ``text (url)``, never as terminal hyperlinks.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from markdown_it.token import Token
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Heading
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.theme import Theme
from textual.color import Color
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from hybrid_tui.ui.markdown_blocks import Block, BlockSplitter, markdown_parser

#: one parser for every reply (parsing keeps no state between calls)
PARSER = markdown_parser()
#: Pygments styles for code, by whether the theme is dark (the background is the theme's)
CODE_THEMES = {True: "monokai", False: "friendly"}


@dataclass(frozen=True, slots=True)
class Look:
    """What the current app theme means for Markdown: Rich styles, code colours."""

    key: str
    theme: Theme
    code_theme: str
    code_background: str

    @classmethod
    def of(cls, variables: dict[str, str], dark: bool, name: str) -> Look:
        def parse(key: str, fallback: str) -> Color:
            try:
                return Color.parse(variables.get(key) or fallback)
            except Exception:  # a theme without this variable: Textual's own default
                return Color.parse(fallback)

        base = parse("background", "#000000" if dark else "#ffffff")

        def colour(key: str, fallback: str) -> str:
            """The variable as an opaque colour (translucent ones over the background)."""
            return (base + parse(key, fallback)).hex6

        primary = colour("primary", "#0178D4")
        secondary = colour("secondary", primary)
        accent = colour("accent", "#ffa62b")
        warning = colour("warning", "#ffa62b")
        muted = colour("foreground-muted" if "foreground-muted" in variables else "text-muted",
                       "#808080")
        code_bg = colour("surface-darken-1", base.hex6)
        inline_bg = Color.parse(warning).blend(base, 0.82).hex6
        styles = {
            "markdown.paragraph": "none",
            "markdown.text": "none",
            "markdown.em": "italic",
            "markdown.strong": "bold",
            "markdown.s": "strike",
            "markdown.code": f"{warning} on {inline_bg}",
            "markdown.code_block": "none",
            "markdown.block_quote": f"italic {muted}",
            "markdown.hr": muted,
            "markdown.item": "none",
            "markdown.item.bullet": f"bold {accent}",
            "markdown.item.number": f"bold {accent}",
            "markdown.link": f"underline {accent}",
            "markdown.link_url": muted,
            "markdown.h1": f"bold underline {primary}",
            "markdown.h1.border": primary,
            "markdown.h2": f"bold {primary}",
            "markdown.h3": f"bold {secondary}",
            "markdown.h4": f"bold italic {secondary}",
            "markdown.h5": "bold",
            "markdown.h6": "italic",
            "markdown.table.border": muted,
            "markdown.table.header": f"bold {primary}",
            "markdown.kbd": "bold",
        }
        return cls(name, Theme(styles, inherit=True), CODE_THEMES[dark], code_bg)


#: painted lines a reply keeps at most (a few screens): enough that a frame of a growing reply
#: paints only its new lines, not so many that a long reply keeps a ``Strip`` per line
PAINTED_LINES = 400

#: one rendered line: Rich segments (not a ``Strip``: Textual gives every ``Strip`` seven
#: caches, and a reply keeps all its lines; a ``Strip`` is made per line when painted)
Line = list[Segment]


def code_lines(code: str, lang: str, look: Look, width: int, console: Console, *,
               top: bool = True, bottom: bool = True) -> list[Line]:
    """``code`` highlighted on the code background, a padding row above (``top``) and
    below (``bottom``): pieces of one fence put together look like the whole fence (so
    every line is shown, blank ones at the end too; ``code`` is a fence's content, each
    line with its line end)."""
    background = Style(bgcolor=look.code_background)
    lines: list[Line] = []
    if code:
        syntax = Syntax(code.removesuffix("\n"), lang or "text", theme=look.code_theme,
                        word_wrap=True, padding=(0, 1), background_color=look.code_background)
        options = console.options.update_width(width)
        lines = console.render_lines(syntax, options, pad=True)
    return [*([[Segment(" " * width, background)]] if top else []), *lines,
            *([[Segment(" " * width, background)]] if bottom else [])]


class _Heading(Heading):
    """Headings flush left (Rich centres ``#``), like the rest of the reply."""

    LEVEL_ALIGN: ClassVar = dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "left")


class _Code(CodeBlock):
    """A fence inside a list or quote: the same look as a top-level one."""

    look: Look

    @classmethod
    def create(cls, markdown: RichMarkdown, token: Token) -> _Code:
        block = cls(token.info.strip().partition(" ")[0] or "text", markdown.code_theme)
        block.look = markdown.look  # type: ignore[attr-defined]
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in code_lines(str(self.text), self.lexer_name, self.look,
                               options.max_width, console):
            yield from line
            yield Segment.line()


class _BlockMarkdown(RichMarkdown):
    """Rich's Markdown renderer over tokens we already parsed (with our parser: GFM, raw
    HTML as text), with our headings and code blocks, links shown as text."""

    elements: ClassVar = {**RichMarkdown.elements, "heading_open": _Heading, "fence": _Code,
                          "code_block": _Code}

    look: Look

    @classmethod
    def of(cls, tokens: list[Token], look: Look) -> _BlockMarkdown:
        """A block's tokens to render. A copy of one instance per look: Rich's
        ``Markdown.__init__`` builds a markdown-it parser for its source every time (about
        a millisecond, a tenth of a fast stream's rendering), and our tokens are parsed."""
        block = copy(_markdown_for(look))
        block.parsed = _plain_autolinks(tokens)
        return block


@lru_cache(maxsize=8)
def _markdown_for(look: Look) -> _BlockMarkdown:
    markdown = _BlockMarkdown("", code_theme=look.code_theme, hyperlinks=False)
    markdown.look = look
    return markdown


def _plain_autolinks(tokens: list[Token]) -> list[Token]:
    """Bare URLs (``http://…``, ``<…>``) as plain text: as a link they would read
    ``url (url)``, the address twice."""
    for token in tokens:
        if token.children:
            token.children = [child for child in token.children
                              if not (child.type in ("link_open", "link_close")
                                      and child.info == "auto")]
    return tokens


def render_block(block: Block, look: Look, width: int, console: Console) -> list[Strip]:
    """One block as lines of ``width`` cells at most."""
    return [Strip(line) for line in block_lines(block, look, width, console)]


def block_lines(block: Block, look: Look, width: int, console: Console) -> list[Line]:
    """:func:`render_block` as plain segment lists."""
    if block.tokens is None:
        return code_lines(block.code, block.lang, look, width, console, top=block.top,
                          bottom=block.bottom)
    options = console.options.update(width=width, highlight=False, markup=False)
    with console.use_theme(look.theme):
        lines = console.render_lines(_BlockMarkdown.of(block.tokens, look), options, pad=False)
    # Rich separates elements with an empty line, before some and after others: we do that
    start, end = 0, len(lines)
    while start < end and not Segment.get_line_length(lines[start]):
        start += 1
    while end > start and not Segment.get_line_length(lines[end - 1]):
        end -= 1
    return lines[start:end]


def paint(line: Line | Strip, y: int, width: int, style: Style) -> Strip:
    """``strip`` as line ``y`` of a widget ``width`` cells wide: under the widget's
    ``style``, padded, each segment with its offset (for text selection).

    What ``strip.apply_style(style).crop_extend(...).apply_offsets(0, y)`` gives, without
    keeping the intermediate strips: Textual's ``Strip`` caches every derived strip in
    the one it came from, and a reply's lines live as long as the reply, so those chains
    (three strips, each with seven caches, per line shown) were most of a reply's memory.
    """
    cells = Segment.get_line_length(line) if isinstance(line, list) else line.cell_length
    if cells > width:
        line, cells = Strip(line).crop(0, width), width
    segments: list[Segment] = []
    x = 0
    for text, own, _control in line:
        segments.append(Segment(text, (style + own if own else style)
                                + Style.from_meta({"offset": (x, y)})))
        x += len(text)
    if cells < width:
        segments.append(Segment(" " * (width - cells),
                                style + Style.from_meta({"offset": (x, y)})))
    return Strip(segments, width)


class ReplyBody(Widget):
    """A reply's text as Markdown, fed as it streams (:meth:`append`), one widget in all."""

    ALLOW_SELECT = True
    DEFAULT_CSS = """
    ReplyBody {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._splitter = BlockSplitter(PARSER)
        self._source: list[str] = []
        self._finished: list[Block] = []
        self._tail: list[Block] = []
        #: rendered lines of ``_finished[:_done_blocks]`` at ``_width`` under ``_look``
        self._lines: list[Line] = []
        self._done_blocks = 0
        self._tail_lines: list[Line] = []
        self._tail_stale = True
        self._width = 0
        self._look: Look | None = None
        #: the widget's own Rich style (colours from CSS), kept until the styles change
        self._style: Style | None = None
        #: line y as last painted (:func:`paint`), at ``_width`` under ``_style``: a reply
        #: that grows changes size every frame, and Textual then asks for every visible line
        #: again, though only the new ones at the bottom changed
        self._painted: dict[int, Strip] = {}

    @property
    def source(self) -> str:
        """Everything shown, as Markdown source."""
        return "".join(self._source)

    @property
    def line_count(self) -> int:
        return len(self._lines) + len(self._tail_lines)

    def append(self, text: str) -> None:
        """Add streamed text: finished blocks are rendered once, the tail again; only the
        lines from the first changed one are repainted (a new layout only if the height
        changed)."""
        if not text:
            return
        self._source.append(text)
        finished, self._tail = self._splitter.feed(text)
        self._finished += finished
        self._tail_stale = True
        if not self._width or self._look is None:
            self.refresh(layout=True)
            return
        before = self.line_count
        first_changed = len(self._lines)
        self._render(self._width)
        self._painted = {y: strip for y, strip in self._painted.items() if y < first_changed}
        if self.line_count != before:
            self.refresh(layout=True)
        else:
            self.refresh(Region(0, first_changed, self._width, before - first_changed))

    def update(self, text: str) -> None:
        """Show ``text`` instead of whatever was there."""
        self._splitter = BlockSplitter(PARSER)
        self._source.clear()
        self._finished.clear()
        self._tail.clear()
        self.restyle()
        self.append(text)

    def restyle(self) -> None:
        """The theme changed (or the text was replaced): render everything again."""
        self._lines.clear()
        self._done_blocks = 0
        self._tail_lines.clear()
        self._tail_stale = True
        self._look = None
        self._painted.clear()
        self.refresh(layout=True)

    def _current_look(self) -> Look:
        app = self.app
        name = app.theme
        if self._look is None or self._look.key != name:
            theme = app.current_theme
            self._look = _looks(app.theme_variables, theme.dark, name)
        return self._look

    def _render(self, width: int) -> None:
        """Bring the rendered lines up to date for ``width`` and the app's theme."""
        used = self._look
        look = self._current_look()
        if width != self._width or look is not used:
            self._width = width
            self._lines.clear()
            self._done_blocks = 0
            self._tail_stale = True
            self._painted.clear()
        console = self.app.console
        for block in self._finished[self._done_blocks :]:
            self._add(self._lines, block, look, width, console, first=not self._lines)
        self._done_blocks = len(self._finished)
        if self._tail_stale:
            self._tail_lines = []
            for block in self._tail:
                self._add(self._tail_lines, block, look, width, console,
                          first=not self._lines and not self._tail_lines)
            self._tail_stale = False

    @staticmethod
    def _add(lines: list[Line], block: Block, look: Look, width: int, console: Console, *,
             first: bool) -> None:
        if not first and not block.joined:
            lines.append([])
        lines += block_lines(block, look, width, console)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width <= 0:
            return 0
        self._render(width)
        return self.line_count

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style = None
        self._painted.clear()

    def drop_painted(self) -> None:
        """Forget the painted lines (the reply scrolled away or leaves the screen)."""
        self._painted.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self._style
        if style is None:  # the same for every line: worked out once per style change
            style = self._style = self.rich_style
        if width != self._width or self._look is None or self._look.key != self.app.theme:
            self._render(width)  # resized, or a new theme: render the lines again
        done = len(self._lines)
        try:
            line = self._lines[y] if y < done else self._tail_lines[y - done]
        except IndexError:
            return Strip.blank(width, style)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            strip = Strip(line)
            start, end = span
            end = strip.cell_length if end == -1 else end
            highlight = self.screen.get_component_rich_style("screen--selection")
            strip = Strip.join([strip.crop(0, start),
                                strip.crop(start, end).apply_style(highlight),
                                strip.crop(end)])
            return paint(strip, y, width, style)
        painted = self._painted.get(y)
        if painted is None:
            if len(self._painted) >= PAINTED_LINES:
                self._painted.clear()
            painted = self._painted[y] = paint(line, y, width, style)
        return painted

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        text = "\n".join("".join(segment.text for segment in line).rstrip()
                         for line in [*self._lines, *self._tail_lines])
        return selection.extract(text), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()


_LOOKS: dict[tuple[str, int], Look] = {}


def _looks(variables: dict[str, str], dark: bool, name: str) -> Look:
    """One :class:`Look` per theme (and variant of it), shared by every reply."""
    key = (name, hash(tuple(sorted(variables.items()))))
    look = _LOOKS.get(key)
    if look is None:
        look = _LOOKS[key] = Look.of(variables, dark, name)
    return look
