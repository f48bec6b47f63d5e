"""What a prompt asks for besides its words: a leading ``@backend`` and ``@path`` files.

One module for the TUI and ``ask`` (``ask`` reads ``--context FILE`` with the same code), so a
prompt means the same thing in both. Nothing here imports textual.

- ``@fast``, ``@strong`` or ``@<backend name>`` as the first word forces that one prompt; it
  is taken off the text sent.
- ``@path`` anywhere (a word of its own) attaches that file when it exists; its text goes in
  the user message, fenced and labelled with its path. A word like ``@dataclass`` that names
  no file stays text (pasted code is full of them), but one with a ``/`` that names no file
  is an error: the user meant a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hybrid_tui.errors import UsageError
from hybrid_tui.finetune.gitignore import GitIgnore
from hybrid_tui.session import Attachment

#: a file bigger than this is refused (it would not fit a local model's window anyway)
MAX_ATTACHMENT_BYTES = 1_000_000
#: the tiers every config has, besides the backends' own names
TIERS = ("fast", "strong")
#: an ``@word`` that starts a prompt or stands alone (not an e-mail address)
_MENTION = re.compile(r"(?<!\S)@(?P<word>[^\s@`'\"]+)")
#: completion lists at most this many entries
MAX_COMPLETIONS = 50


class AttachmentError(UsageError):
    """A file named in a prompt cannot be attached; nothing is sent."""


@dataclass(frozen=True, slots=True)
class ParsedPrompt:
    """A prompt as typed, taken apart."""

    #: what is sent: the leading ``@backend`` removed, ``@path`` shown as ``path``
    text: str
    #: a backend or tier named by a leading ``@word``, else None
    force: str | None
    #: the files named with ``@path``, in order, each once
    paths: tuple[str, ...]


def parse_prompt(typed: str, backends: Iterable[str], *, cwd: Path | None = None) -> ParsedPrompt:
    """Split ``typed`` into text, forced backend and attached paths (not read yet)."""
    names = {name.lower(): name for name in (*TIERS, *backends)}
    text = typed
    force = None
    first = _MENTION.match(text.lstrip())
    if first is not None and first.group("word").lower() in names:
        force = names[first.group("word").lower()]
        text = text.lstrip()[first.end():].lstrip()
    base = cwd or Path.cwd()
    paths: list[str] = []

    def attach(match: re.Match[str]) -> str:
        word = match.group("word").rstrip(".,;:!?)")
        tail = match.group("word")[len(word):]
        if (base / word).expanduser().is_file():
            if word not in paths:
                paths.append(word)
            return word + tail
        if "/" in word and word.lower() not in names:
            raise AttachmentError(f"@{word}: no such file (from {base}); nothing was sent")
        return match.group(0)

    text = _MENTION.sub(attach, text)
    return ParsedPrompt(text, force, tuple(paths))


def read_attachment(name: str, *, cwd: Path | None = None,
                    limit: int = MAX_ATTACHMENT_BYTES, what: str = "file") -> Attachment:
    """The file ``name`` (relative to ``cwd``) as an attachment. Missing, a directory, over
    ``limit`` bytes, unreadable or binary: :class:`AttachmentError`, one line."""
    path = (cwd or Path.cwd()) / Path(name).expanduser()
    try:
        if path.is_dir():
            raise AttachmentError(f"{what} {name}: is a directory")
        size = path.stat().st_size
        if size > limit:
            raise AttachmentError(f"{what} {name}: {size:,} bytes, larger than the limit of "
                                  f"{limit:,}; nothing was sent")
        data = path.read_bytes()
    except FileNotFoundError:
        raise AttachmentError(f"{what} {name}: not found") from None
    except OSError as exc:
        raise AttachmentError(f"{what} {name}: cannot read it ({exc.strerror or exc})") from None
    if b"\x00" in data[:8192]:
        raise AttachmentError(f"{what} {name}: looks binary, not text; nothing was sent")
    return Attachment(name, len(data), data.decode("utf-8", errors="replace"))


def read_attachments(paths: Iterable[str], *, cwd: Path | None = None) -> tuple[Attachment, ...]:
    return tuple(read_attachment(p, cwd=cwd) for p in paths)


def complete_path(partial: str, *, cwd: Path | None = None) -> list[str]:
    """Files and folders under ``cwd`` whose path starts with ``partial`` (folders end in
    ``/``), the ones ``.gitignore`` files ignore left out, hidden ones only when asked for."""
    base = cwd or Path.cwd()
    folder, _, stem = partial.rpartition("/")
    directory = base / folder if folder else base
    ignore = GitIgnore()
    _read_gitignores(ignore, base, folder)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return []
    out: list[str] = []
    for entry in entries:
        if not entry.name.startswith(stem) or entry.name == ".git":
            continue
        if entry.name.startswith(".") and not stem.startswith("."):
            continue
        relative = f"{folder}/{entry.name}" if folder else entry.name
        is_dir = entry.is_dir()
        if ignore.ignored(relative, is_dir):
            continue
        out.append(relative + ("/" if is_dir else ""))
        if len(out) >= MAX_COMPLETIONS:
            break
    return out


def _read_gitignores(ignore: GitIgnore, base: Path, folder: str) -> None:
    """The ``.gitignore`` of ``base`` and of each folder down to ``folder``."""
    parts = [p for p in folder.split("/") if p] if folder else []
    for depth in range(len(parts) + 1):
        rel = "/".join(parts[:depth])
        try:
            text = (base / rel / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        ignore.add(text, rel)


def common_prefix(options: list[str]) -> str:
    """The characters every option starts with (what Tab can fill in at once)."""
    if not options:
        return ""
    first, last = min(options), max(options)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]
