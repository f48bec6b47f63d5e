"""The streamed-Markdown splitter and the block renderer (issue 5's line-based replies).

The central property: however a reply is cut into chunks on the wire, what the reader ends
up seeing is what the whole reply, fed in one piece, looks like; and no word of it is lost.
Then unit cases for the decisions the splitter makes on the way (when a block is final, how
a long open fence is cut) and for what the renderer must never show (markup, hyperlinks).
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import cycle

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual.strip import Strip
from textual.theme import BUILTIN_THEMES

from hybrid_tui.ui.markdown_blocks import (
    FENCE_PIECE_LINES,
    Block,
    BlockSplitter,
    markdown_parser,
)
from hybrid_tui.ui.widgets.reply_body import Look, render_block

WIDTH = 60
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _look(name: str) -> Look:
    theme = BUILTIN_THEMES[name]
    return Look.of(theme.to_color_system().generate(), theme.dark, name)


LOOK = _look("textual-dark")


def console() -> Console:
    return Console(width=WIDTH)


def feed_all(chunks: list[str]) -> tuple[list[Block], list[Block]]:
    """Every finished block handed out over ``chunks``, and the tail after the last one."""
    splitter = BlockSplitter(markdown_parser())
    finished: list[Block] = []
    tail: list[Block] = []
    for chunk in chunks:
        done, tail = splitter.feed(chunk)
        finished += done
    return finished, tail


def strips(blocks: list[Block], width: int = WIDTH) -> list[Strip]:
    """The blocks as ReplyBody shows them: one blank line between blocks, none before a
    block that continues the previous one (a piece of a cut fence)."""
    out: list[Strip] = []
    target = console()
    for block in blocks:
        if out and not block.joined:
            out.append(Strip([]))
        out += render_block(block, LOOK, width, target)
    return out


def shown(chunks: list[str]) -> list[str]:
    finished, tail = feed_all(chunks)
    return [strip.text for strip in strips(finished + tail)]


def in_chunks(text: str, sizes: list[int]) -> list[str]:
    out, at = [], 0
    for size in cycle(sizes):
        if at >= len(text):
            return out
        out.append(text[at : at + size])
        at += size
    return out


# ---- documents: (Markdown source, the words a reader must see) ------------------------------

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=9)
_short = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=5)
Doc = tuple[str, list[str]]


@st.composite
def _inline(draw: st.DrawFn) -> Doc:
    word = draw(_word)
    form = draw(st.sampled_from(["{}", "{}", "{}", "*{}*", "**{}**", "`{}`", "[{}](http://e.io/{})"]))
    return form.format(word, word), [word]


@st.composite
def _words(draw: st.DrawFn, most: int = 8) -> Doc:
    parts = draw(st.lists(_inline(), min_size=1, max_size=most))
    return " ".join(p for p, _ in parts), [w for _, ws in parts for w in ws]


@st.composite
def _paragraph(draw: st.DrawFn) -> Doc:
    lines = draw(st.lists(_words(), min_size=1, max_size=3))
    return "\n".join(s for s, _ in lines), [w for _, ws in lines for w in ws]


@st.composite
def _heading(draw: st.DrawFn) -> Doc:
    text, words = draw(_words(most=5))
    if draw(st.booleans()):
        return f"{'#' * draw(st.integers(1, 6))} {text}", words
    return f"{text}\n{draw(st.sampled_from(['=', '===', '---', '-----']))}", words


@st.composite
def _list(draw: st.DrawFn) -> Doc:
    items = draw(st.lists(_words(most=5), min_size=1, max_size=4))
    gap = "\n\n" if draw(st.booleans()) else "\n"
    if draw(st.booleans()):
        bullet = draw(st.sampled_from("-*+"))
        marks = [f"{bullet} "] * len(items)
    else:
        start, dot = draw(st.integers(1, 12)), draw(st.sampled_from(".)"))
        marks = [f"{start + i}{dot} " for i in range(len(items))]
    return gap.join(m + s for m, (s, _) in zip(marks, items, strict=True)), [
        w for _, ws in items for w in ws
    ]


@st.composite
def _quote(draw: st.DrawFn) -> Doc:
    lines = draw(st.lists(_words(most=6), min_size=1, max_size=3))
    return "\n".join(f"> {s}" for s, _ in lines), [w for _, ws in lines for w in ws]


@st.composite
def _table(draw: st.DrawFn) -> Doc:
    columns = draw(st.integers(2, 3))
    rows = draw(st.lists(st.lists(_short, min_size=columns, max_size=columns),
                         min_size=1, max_size=4))
    text = ["| " + " | ".join(row) + " |" for row in rows]
    text.insert(1, "|" + "---|" * columns)
    # (a blank line after it: a next line would be a row, its extra cells dropped)
    return "\n".join(text) + "\n", [w for row in rows for w in row]


@st.composite
def _fence(draw: st.DrawFn, closed: bool = True) -> Doc:
    marker = draw(st.sampled_from(["```", "~~~", "````"]))
    indent = " " * draw(st.sampled_from([0, 0, 0, 1, 3]))
    info = draw(st.sampled_from(["", "python", "py title=x", "text"]))
    count = draw(st.one_of(st.integers(0, 5), st.integers(FENCE_PIECE_LINES - 2, 95)))
    code: list[str] = []
    words: list[str] = []
    for _ in range(count):
        line = draw(st.one_of(st.just(""), st.lists(_word, min_size=1, max_size=6)))
        lead = " " * draw(st.sampled_from([0, 0, 2, 4]))
        code.append(lead + " ".join(line) if line else "")
        words += line or []
    body = "".join(f"{indent}{line}\n" if line else "\n" for line in code)
    end = f"{indent}{marker}" if closed else ""
    return f"{indent}{marker}{info}\n{body}{end}", words


@st.composite
def _nested(draw: st.DrawFn) -> Doc:
    """A list item or quote holding a fence, or an indented code block, or a rule."""
    kind = draw(st.sampled_from(["- ", "1. ", "> ", "indented", "rule"]))
    if kind == "rule":
        return draw(st.sampled_from(["---", "***", "___"])), []
    code = draw(st.lists(st.lists(_word, min_size=1, max_size=4), min_size=1, max_size=4))
    code_words = [w for line in code for w in line]
    if kind == "indented":
        return "\n".join("    " + " ".join(line) for line in code), code_words
    text, words = draw(_words(most=4))
    pad = "> " if kind == "> " else " " * len(kind)
    inner = "".join(f"{pad}{' '.join(line)}\n" for line in code)
    return f"{kind}{text}\n{pad.rstrip()}\n{pad}```\n{inner}{pad}```", words + code_words


_block = st.one_of(_paragraph(), _heading(), _list(), _quote(), _table(), _fence(), _nested())


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    """A reply: blocks with one to three line ends between them, maybe an open fence at the
    end, maybe a trailing line end, maybe CRLF line ends."""
    blocks = draw(st.lists(_block, min_size=1, max_size=7))
    if draw(st.booleans()):
        blocks.append(draw(_fence(closed=False)))
    text = ""
    for source, _ in blocks:
        text += source + draw(st.sampled_from(["\n", "\n\n", "\n\n", "\n\n\n"]))
    if draw(st.booleans()):
        text = text.rstrip("\n")
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    return text, [w for _, ws in blocks for w in ws]


@SETTINGS
@given(documents(), st.lists(st.integers(1, 50), min_size=1, max_size=40))
def test_any_chunking_shows_the_same_lines_as_one_piece(doc: Doc, sizes: list[int]) -> None:
    text, _ = doc
    assert shown(in_chunks(text, sizes)) == shown([text])


@SETTINGS
@given(documents(), st.lists(st.integers(1, 50), min_size=1, max_size=40))
def test_no_word_is_lost(doc: Doc, sizes: list[int]) -> None:
    text, words = doc
    seen = Counter(re.findall("[a-z]+", "\n".join(shown(in_chunks(text, sizes)))))
    missing = Counter(words) - seen
    assert not missing, f"not shown: {sorted(missing)}"


def test_a_byte_at_a_time_is_the_same_as_one_piece() -> None:
    """The worst chunking, on a reply with a bit of everything (a fixed example beside the
    generated ones, so a failure here reads plainly)."""
    code = "\n".join(f"line {i}" if i % 7 else "" for i in range(3 * FENCE_PIECE_LINES))
    text = (f"# Title\n\nSome *text* and a [link](http://e.io).\n\n1. one\n\n2. two\n\n"
            f"| a | b |\n|---|---|\n| c | d |\n\n```python\n{code}\n```\n\n> quoted\n\nEnd.")
    assert shown(list(text)) == shown([text])
    assert shown(list(text.replace("\n", "\r\n"))) == shown([text])


def test_a_crlf_cut_between_chunks_is_one_line_end() -> None:
    whole = shown(["one\r\ntwo\r\n\r\nthree\r"])
    assert whole == shown(["one\ntwo\n\nthree\n"])
    assert shown(["one\r", "\ntwo\r", "", "\n\r", "\n", "three\r"]) == whole
    assert shown(["one\r", "\r", "two"]) == shown(["one\n\ntwo"])  # CR CR: two ends


# ---- when a block is final -----------------------------------------------------------------


def _types(blocks: list[Block]) -> list[str]:
    return [block.tokens[0].type if block.tokens else "code" for block in blocks]


def _trace(text: str) -> list[tuple[int, list[Block], list[Block]]]:
    """Feed ``text`` a character at a time: (characters fed, finished, tail) per step."""
    splitter = BlockSplitter(markdown_parser())
    return [(i + 1, *splitter.feed(char)) for i, char in enumerate(text)]


def test_a_paragraph_is_final_only_once_a_list_starts() -> None:
    text = "Some words here\n- item one\n- item two\n"
    steps = [(at, done) for at, done, _ in _trace(text) if done]
    assert len(steps) == 1
    at, done = steps[0]
    assert _types(done) == ["paragraph_open"]
    assert done[0].tokens[1].content == "Some words here"
    assert at > text.index("- item")  # not before the list began


def test_a_setext_heading_is_not_frozen_early_as_a_paragraph() -> None:
    text = "Title\n===\n\nAfter it.\n"
    finished = [block for _, done, _ in _trace(text) for block in done]
    assert _types(finished) == ["heading_open"]
    assert finished[0].tokens[0].tag == "h1"
    assert finished[0].tokens[1].content == "Title"


def test_a_next_list_number_does_not_end_the_list() -> None:
    """``2`` after a blank line could be a paragraph, or the start of item ``2.``."""
    for text in ("1. one\n\n2. two\n", "1. one\n\n10. two\n", "1) one\n\n2) two\n\nend\n"):
        assert shown(list(text)) == shown([text]), text
        finished, tail = feed_all(list(text))
        lists = [b for b in finished + tail if b.tokens and b.tokens[0].type.endswith("list_open")]
        assert len(lists) == 1, text


def test_a_header_row_and_delimiter_row_become_a_table() -> None:
    text = "| name | size |\n|------|-----:|\n| a | 1 |\n\nafter\n"
    finished = [block for _, done, _ in _trace(text) for block in done]
    assert _types(finished) == ["table_open"]
    lines = [strip.text for strip in strips(finished)]
    assert any("name" in line and "size" in line for line in lines)
    assert not any("---" in line or "|" in line for line in lines)  # drawn, not shown as text


def test_a_closed_fence_is_final_once_the_next_block_starts() -> None:
    text = "```\ncode\n```\nnext\n"
    steps = [(at, done) for at, done, _ in _trace(text) if done]
    assert [(_types(done), done[0].code) for _, done in steps] == [(["code"], "code\n")]
    assert steps[0][0] > text.index("next")


# ---- long open fences ----------------------------------------------------------------------


def test_an_open_fence_is_cut_into_pieces_that_add_up_to_the_code() -> None:
    lines = [f"    value_{i} = {i}" if i % 9 else "" for i in range(100)]
    opening = "```python\n"
    pieces: list[Block] = []
    splitter = BlockSplitter(markdown_parser())
    tail: list[Block] = []
    for text in [opening, *(f"{line}\n" for line in lines)]:
        done, tail = splitter.feed(text)
        pieces += done
        (live,) = tail
        assert live.tokens is None and live.bottom  # the tail shows the fence's end
        assert len(live.code.splitlines()) <= FENCE_PIECE_LINES + 1  # kept short
    assert len(pieces) >= 2
    first, *rest = pieces
    assert (first.top, first.bottom, first.joined) == (True, False, False)
    assert all((p.top, p.bottom, p.joined) == (False, False, True) for p in rest)
    assert (tail[0].top, tail[0].joined) == (False, True)
    assert all(p.lang == "python" for p in [*pieces, *tail])
    done, tail = splitter.feed("```\nafter\n")
    assert (done[0].top, done[0].bottom, done[0].joined) == (False, True, True)
    assert "".join(p.code for p in [*pieces, done[0]]) == "".join(f"{x}\n" for x in lines)
    assert _types(tail) == ["paragraph_open"]


def test_pieces_show_exactly_the_lines_of_the_whole_fence() -> None:
    """Blank code lines where a cut falls are kept (pieces are not trimmed), and a closing
    line that arrives right after a cut adds no empty code line."""
    lines = ["x = 1"] * FENCE_PIECE_LINES + ["", ""] + ["y = 2"] * 5
    text = "```\n" + "".join(f"{line}\n" for line in lines)
    whole = shown([text + "```\n"])
    assert shown([*text, "``", "`\n"]) == whole
    assert shown([*text, "`", "``", "\n"]) == whole
    exact = "```\n" + "".join(f"{line}\n" for line in lines[: FENCE_PIECE_LINES + 1])
    assert shown([*exact, "``", "`"]) == shown([exact + "```"])


def test_an_indented_fence_is_dedented_like_commonmark() -> None:
    indents = [0, 1, 2, 3, 4, 6]
    lines = [" " * indents[i % len(indents)] + f"row {i}" for i in range(120)]
    text = "  ~~~js\n" + "".join(f"{line}\n" for line in lines) + "  ~~~\n\nafter\n"
    (fence,) = [t for t in markdown_parser().parse(text) if t.type == "fence"]
    finished, _ = feed_all([line + "\n" for line in text.split("\n")[:-1]])
    code = [block for block in finished if block.tokens is None]
    assert len(code) >= 3
    assert "".join(block.code for block in code) == fence.content
    assert code[0].code.startswith("row 0\nrow 1\nrow 2\n row 3\n  row 4\n    row 5\n")


def test_a_fence_with_an_info_string_keeps_its_language_in_every_piece() -> None:
    text = "~~~ruby extra words\n" + "puts 1\n" * 150
    finished, tail = feed_all(in_chunks(text, [7, 13, 29]))
    assert {block.lang for block in [*finished, *tail]} == {"ruby"}


# ---- what is never shown -------------------------------------------------------------------


def test_raw_html_is_shown_as_text() -> None:
    text = "<div>hi</div>\n\nSee <b>bold</b> and <script>alert(1)</script> here.\n"
    lines = shown([text])
    joined = "\n".join(line.rstrip() for line in lines)
    assert "<div>hi</div>" in joined
    assert "<b>bold</b>" in joined
    assert "<script>alert(1)</script>" in joined


def test_a_link_is_text_and_url_never_a_terminal_hyperlink() -> None:
    finished, tail = feed_all(["Read [the docs](https://example.com/guide) now.\n\n"
                               "- [item](http://e.io/x)\n"])
    rendered = strips(finished + tail)
    joined = "\n".join(strip.text for strip in rendered)
    assert "the docs (https://example.com/guide)" in joined
    assert "item (http://e.io/x)" in joined
    segments = [segment for strip in rendered for segment in strip]
    assert segments
    assert all(s.style is None or not s.style.link for s in segments)
    assert all("\x1b" not in s.text for s in segments)


def test_markup_in_text_is_literal() -> None:
    lines = shown(["[bold red]no[/] [link=http://e.io]x[/link]\n"])
    assert "[bold red]no[/] [link=http://e.io]x[/link]" in lines[0]


def test_blocks_never_exceed_the_width() -> None:
    text = ("word " * 40 + "\n\n| " + " | ".join(["cell"] * 6) + " |\n|" + "---|" * 6
            + "\n\n```\n" + "x" * 150 + "\n```\n\n# " + "heading " * 12)
    finished, tail = feed_all([text])
    for width in (20, 45, 60):
        assert all(strip.cell_length <= width for strip in strips(finished + tail, width))


def test_a_bare_url_is_shown_once() -> None:
    lines = shown(["see http://e.io/a, <https://x.io/b> or www.foo.com\n"])
    assert lines[0].rstrip() == "see http://e.io/a, https://x.io/b or www.foo.com"
