"""Streamed Markdown cut into finished blocks and a live tail.

A reply arrives a few characters at a time. Re-parsing and re-laying out the whole reply on
every update costs time that grows with the reply (profiled: ~1,200 Textual
widgets for a 20,000-token reply, all re-arranged on each update). Markdown's block structure
settles as it streams: once a later top-level block has started, every block before it is
final (a paragraph, list, table or closed fence cannot change after the next block begins).
So :class:`BlockSplitter` keeps only the *tail* (the last top-level block, still growing)
to re-parse, and hands each finished block out once, already parsed, to be rendered once.

A fenced code block that stays open for long is cut into pieces at line boundaries so the
tail stays short: the piece is shown exactly as the same lines of the whole fence would be
(no padding between pieces). The only thing lost at a cut is syntax-highlighting state
carried across it (e.g. inside a multi-line string), never text.

Not handled (rare in model output): link reference definitions used *before* they are
defined elsewhere in the reply, and a single list or paragraph that grows for thousands of
lines (it stays in the tail, re-parsed per update, which is still bounded by the flush rate).
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

#: an open fence with more complete lines than this is cut, keeping the tail short (the
#: tail is highlighted again on every update: 40 lines cost ~2 ms, measured in the tui row)
FENCE_PIECE_LINES = 16


def markdown_parser() -> MarkdownIt:
    """GFM without raw HTML: model-written HTML is shown as text, never dropped or rendered."""
    return MarkdownIt("gfm-like", {"html": False})


@dataclass(slots=True)
class Block:
    """One top-level Markdown block (``tokens``), or a piece of a fenced code block
    (``code``; ``tokens`` is None). ``code`` is like a fence token's content: each line
    ends with a line end (the last one of a fence still open may not), so the pieces of a
    fence put together are its code."""

    tokens: list[Token] | None
    code: str = ""
    lang: str = ""
    #: a code piece that opens its fence (a padding row above it)
    top: bool = True
    #: a code piece that closes its fence (a padding row below it)
    bottom: bool = True
    #: continues the previous block directly (no blank line between them)
    joined: bool = False


def top_level_groups(tokens: list[Token]) -> list[list[Token]]:
    """``tokens`` (a markdown-it block stream) as one list per top-level block."""
    groups: list[list[Token]] = []
    start = 0
    for index, token in enumerate(tokens):
        if token.level != 0:
            continue
        if token.nesting == 1:
            start = index
        elif token.nesting == 0:
            groups.append([token])
        else:
            groups.append(tokens[start : index + 1])
    return groups


def _fence_closed(token: Token, lines: list[str], cut: int = 0) -> bool:
    """Whether the fence ``token`` has its closing line (``token.map`` counts ``cut`` lines
    more than ``lines`` holds)."""
    start, end = (line - cut for line in token.map or (0, 0))
    if end - 1 <= start or end - 1 >= len(lines):
        return False
    closing = lines[end - 1].strip()
    marker = token.markup[:1]
    return bool(marker) and len(closing) >= len(token.markup) and set(closing) == {marker}


class BlockSplitter:
    """Feed streamed Markdown; get back the blocks that just became final, and the tail."""

    def __init__(self, parser: MarkdownIt) -> None:
        self._parser = parser
        self._tail = ""
        #: the tail starts with a fence continued from an earlier piece (its opening line
        #: was put back in front so the rest still parses as code)
        self._continued = False
        #: the last text ended with CR: a LF starting the next one ends the same line
        self._after_cr = False

    def feed(self, text: str) -> tuple[list[Block], list[Block]]:
        """Add ``text``; return (blocks that became final, the tail's blocks as of now)."""
        if text:
            if self._after_cr and text[0] == "\n":
                text = text[1:]
            self._after_cr = text.endswith("\r")
        self._tail += text.replace("\r\n", "\n").replace("\r", "\n")
        lines = self._tail.split("\n")
        groups = top_level_groups(self._parser.parse(self._tail))
        # a block that starts on the last, unfinished line may yet join the one before it
        # ("2" becoming item "2." of the list above): that one is not final either
        live = 2 if len(groups) >= 2 and _first_line(groups[-1]) >= len(lines) - 1 else 1
        finished: list[Block] = []
        cut = 0
        if len(groups) > live:
            finished = [self._block(group, first=index == 0)
                        for index, group in enumerate(groups[:-live])]
            cut = _first_line(groups[-live])
            lines = lines[cut:]
            self._tail = "\n".join(lines)
            self._continued = False
            groups = groups[-live:]
        if len(groups) == 1:
            piece = self._cut_open_fence(groups[0][0], lines, cut)
            if piece is not None:
                finished.append(piece)
                groups = top_level_groups(self._parser.parse(self._tail))
        tail = [self._block(group, first=index == 0) for index, group in enumerate(groups)]
        return finished, tail

    def _block(self, group: list[Token], *, first: bool) -> Block:
        joined = first and self._continued
        token = group[0]
        if len(group) == 1 and token.type == "fence":
            return Block(None, code=token.content, lang=_lang(token), top=not joined,
                         joined=joined)
        return Block(group, joined=joined)

    def _cut_open_fence(self, token: Token, lines: list[str], cut: int) -> Block | None:
        """If ``token`` is an open fence grown past :data:`FENCE_PIECE_LINES` complete
        lines, take those lines out as a piece and keep only the opening line and the last
        (incomplete) line in the tail. ``cut``: lines dropped from the tail since the parse."""
        if token.type != "fence" or token.level != 0:
            return None
        start = (token.map or (0, 0))[0] - cut
        if not 0 <= start < len(lines) or _fence_closed(token, lines, cut):
            return None
        code = lines[start + 1 : -1]
        if len(code) <= FENCE_PIECE_LINES:
            return None
        opening = lines[start]
        indent = len(opening) - len(opening.lstrip(" "))
        if indent:
            code = [_dedent(line, indent) for line in code]
        piece = Block(None, code="".join(f"{line}\n" for line in code), lang=_lang(token),
                      top=not self._continued, bottom=False, joined=self._continued)
        self._tail = f"{opening}\n{lines[-1]}"
        self._continued = True
        return piece


def _first_line(group: list[Token]) -> int:
    return (group[0].map or (0, 0))[0]


def _lang(token: Token) -> str:
    return token.info.strip().partition(" ")[0]


def _dedent(line: str, indent: int) -> str:
    """``line`` without up to ``indent`` leading spaces (as CommonMark does inside a fence
    whose opening line was indented)."""
    stripped = line.lstrip(" ")
    return line[min(indent, len(line) - len(stripped)) :]
