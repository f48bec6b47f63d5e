"""Files the user asks for: the transcript as Markdown, and code blocks out of a reply.

Exports are sanitised like the screen: a file someone later ``cat``s must not be able to
drive their terminal either.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from hybrid_tui.private_files import write_private
from hybrid_tui.safetext import sanitize

FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True, slots=True)
class ReplyRecord:
    """One reply of a turn, as exported."""

    backend: str
    model: str
    text: str
    status: str
    stats: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One turn, as exported."""

    number: int
    stamp: str
    prompt: str
    badge: str
    status: str
    replies: list[ReplyRecord] = field(default_factory=list)
    error: str = ""


def code_blocks(markdown: str) -> list[str]:
    """The contents of every fenced code block, in order (an unclosed last fence counts)."""
    blocks: list[str] = []
    fence: str | None = None
    lines: list[str] = []
    for line in markdown.split("\n"):
        if fence is None:
            opening = FENCE_OPEN.match(line)
            if opening:
                fence, lines = opening.group(1), []
            continue
        closing = line.strip()
        if len(closing) >= len(fence) and set(closing) == {fence[0]}:
            blocks.append("\n".join(lines))
            fence = None
        else:
            lines.append(line)
    if fence is not None:
        blocks.append("\n".join(lines))
    return blocks


def in_open_fence(markdown: str) -> bool:
    """True when ``markdown`` ends inside a fenced code block that is not closed yet."""
    fence: str | None = None
    for line in markdown.split("\n"):
        if fence is None:
            opening = FENCE_OPEN.match(line)
            if opening:
                fence = opening.group(1)
            continue
        closing = line.strip()
        if len(closing) >= len(fence) and set(closing) == {fence[0]}:
            fence = None
    return fence is not None


def last_code_block(markdown: str) -> str | None:
    blocks = code_blocks(markdown)
    return blocks[-1] if blocks else None


def transcript_markdown(turns: list[TurnRecord], *, title: str, now: float) -> str:
    """The whole conversation as one Markdown document."""
    out = [f"# {title}", "", f"_exported {time.strftime('%Y-%m-%d %H:%M', time.localtime(now))}_",
           ""]
    for turn in turns:
        out += [f"## {turn.number}. You ({turn.stamp})", "", sanitize(turn.prompt), ""]
        if turn.badge:
            out += [f"> {sanitize(turn.badge)}", ""]
        for reply in turn.replies:
            if reply.note:
                out += [f"**{sanitize(reply.note)}**", ""]
            out += [f"**{sanitize(reply.backend)}** · {sanitize(reply.model)}", "",
                    sanitize(reply.text), ""]
            if reply.stats:
                out += [f"_{sanitize(reply.stats)}_", ""]
            if reply.status not in ("done", ""):
                out += [f"_({reply.status})_", ""]
        if turn.error:
            out += [f"_error: {sanitize(turn.error)}_", ""]
    return "\n".join(out).rstrip() + "\n"


def write_export(directory: Path, stem: str, suffix: str, text: str, now: float) -> Path:
    """Write ``text`` to ``directory/<stem>-<timestamp><suffix>``; return the path."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    return write_private(directory / f"{stem}-{stamp}{suffix}", text)
