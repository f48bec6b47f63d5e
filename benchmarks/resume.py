"""resume: ``hybrid-tui --resume`` on a chat of 1,000 turns (each a prompt and a reply of
~2,000 tokens of Markdown with code): process start to the newest turn on screen, in a
160x50 pseudo terminal, and the app's resident memory then.

The store is written beforehand through the same model and store code the app saves with
(:mod:`hybrid_tui.session`, :mod:`hybrid_tui.chats`), into a throw-away data directory.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, Row, Settings, Target
from benchmarks.simproc import child_env
from benchmarks.startup import first_frame

PARAGRAPH = ("The function walks the list once and keeps a running total, so it is "
             "linear in the number of items; the tax is applied at the end. ")
CODE = ("```python\ndef total(items: list[float], tax: float = 0.2) -> float:\n"
        "    subtotal = sum(items)\n    return round(subtotal * (1 + tax), 2)\n```\n\n")


def reply_text(tokens: int) -> str:
    """About ``tokens`` tokens (4 characters each) of prose, code and a list."""
    parts, size = [], 0
    while size < tokens * 4:
        for piece in (PARAGRAPH * 3 + "\n\n", CODE, "- one point\n- another point\n\n"):
            parts.append(piece)
            size += len(piece)
    return "".join(parts)


def seed(data_dir: Path, turns: int, tokens: int) -> None:
    import os

    os.environ["HYBRID_TUI_DATA_DIR"] = str(data_dir)
    from hybrid_tui import locations
    from hybrid_tui.chats import new_chat, save_turn_fields
    from hybrid_tui.events import Decision, Done, Token
    from hybrid_tui.session import apply
    from hybrid_tui.store import Store

    body = reply_text(tokens)
    with Store(locations.store_file()) as store:
        session = new_chat(store, "long chat")
        for i in range(1, turns + 1):
            text = f"{body}That is all for turn {i}.\n"
            turn = session.new_turn(f"format this code: take {i}", stamp="09:30:00")
            session.start(turn)
            for event in (Decision("lmstudio", "m", "format", "simple", "fast tier"),
                          Token(text),
                          Done("lmstudio", "m", 100.0, tokens, 90.0, 0.9, False, 2000.0,
                               text=text)):
                apply(session, event)
            session.active = None
            turn.id = store.save_turn(session.id, None, **save_turn_fields(turn))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(settings: Settings) -> Row:
    turns = settings.size(1000, 30)
    tokens = 2000
    row = Row("resume", f"--resume a chat of {turns:,} turns × ~{tokens:,} tokens")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        start = time.perf_counter()
        seed(data, turns, tokens)
        seeded = time.perf_counter() - start
        size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6
        env = child_env(HYBRID_TUI_DATA_DIR=str(data),
                        HYBRID_TUI_CONFIG_DIR=str(Path(tmp) / "config"))
        marker = f"That is all for turn {turns}.".encode()
        times, rss = [], []
        for i in range(settings.runs + 1):
            got: list[float] = []
            elapsed = first_frame(args=("--resume",), marker=marker, env=dict(env),
                                  on_seen=lambda pid, got=got: got.append(rss_mb(pid)))
            if i:  # the first run warms the file cache
                times.append(elapsed)
                rss.extend(got)
    row.add(Figure("start to the newest turn on screen", "s", times,
                   targets=(Target("<=", 1.0),)))
    row.add(Figure("resident memory then", "MB", rss, targets=(Target("<=", 150),)))
    row.notes.append(f"store {size:.1f} MB, written in {seeded:.1f} s; the marker is the "
                     "last line of the newest reply")
    return row
