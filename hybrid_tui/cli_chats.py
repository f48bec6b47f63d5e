"""``hybrid-tui sessions`` and ``hybrid-tui export``: the chats the app keeps, from the shell.

Both read the store through :mod:`hybrid_tui.chats` (the same code as the TUI), never write
to it, and never import textual.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hybrid_tui.chats import ChatSummary, export_chat, find_chat, list_chats
from hybrid_tui.cli_output import console, message, quiet_logging
from hybrid_tui.config import load_config
from hybrid_tui.errors import UsageError
from hybrid_tui.private_files import open_private
from hybrid_tui.safetext import strip_control


def _store():  # type: ignore[no-untyped-def]
    from hybrid_tui import locations
    from hybrid_tui.store import Store

    return Store(locations.store_file())


def run_sessions(args: argparse.Namespace) -> int:
    """The ``sessions`` command: a table (or JSON) of every chat, last used first."""
    load_config(args.config)  # a bad config is still exit 2, as for every command
    quiet_logging()
    with _store() as store:
        chats = list_chats(store)
    if args.json:
        sys.stdout.write(json.dumps([c.as_dict() for c in chats], indent=2) + "\n")
        return 0
    if not chats:
        message("no chats yet: open the app (hybrid-tui) and send a prompt", style="dim")
        return 0
    console().print(chats_table(chats))
    return 0


def chats_table(chats: list[ChatSummary]):  # type: ignore[no-untyped-def]
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for title in ("name", "turns", "last used", "backends used"):
        table.add_column(title, justify="right" if title == "turns" else "left")
    for chat in chats:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(chat.last_used))
        table.add_row(Text(strip_control(chat.name)), str(chat.turns), used,
                      Text(strip_control(", ".join(chat.backends)) or "–"))
    return table


def run_export(args: argparse.Namespace) -> int:
    """The ``export`` command: one chat as Markdown or JSON, to stdout or a new file."""
    load_config(args.config)
    quiet_logging()
    with _store() as store:
        try:
            session = find_chat(store, args.name)
        except KeyError:
            names = ", ".join(c.name for c in list_chats(store)[:10]) or "none yet"
            raise UsageError(f"no chat called {args.name!r} (chats: {names})") from None
    text = export_chat(session, args.format)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    path = Path(args.output).expanduser()
    try:
        with open_private(path, exclusive=True) as out:  # never over an existing file
            out.write(text)
    except FileExistsError:
        raise UsageError(f"{path} exists; choose another file (nothing was written)") from None
    message(f"wrote {session.name} ({len(session.turns)} turns, {args.format}) to {path}",
            style="dim")
    return 0
