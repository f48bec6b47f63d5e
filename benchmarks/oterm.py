"""oterm: the anchor, measured in the same run. oterm 0.26.1 and hybrid-tui, each in a
private tmux server (160x50), against the same simulated Ollama serving the same fixed
reply (3,000 and 20,000 tokens, unlimited rate, no first-token delay): launch to first
screen, and Enter to the reply's last token on screen; hybrid-tui's rate as a ratio of
oterm's (target ≥ 50×).

Opt-in (``python -m benchmarks oterm``; not part of a default run): oterm is installed into
its own venv when the row is asked for (:mod:`benchmarks.otermenv`).

Per run and app: a fresh app (oterm with a fresh data dir and HOME) in a fresh tmux
server. The clock of *launch to first screen* starts when tmux is asked to start the app
and stops at the first capture showing its header title (oterm's splash animation is
turned off in its config). oterm then gets a chat the way a user makes one (ctrl+n, the
model typed into the dialog, Save); hybrid-tui is ready once its backend is up. After a
one-second settle the prompt is typed, the clock of *Enter to last token* starts as
``send-keys Enter`` is issued and stops at the first capture showing the reply's last
token, a word found nowhere else. Both apps use model ``codellama:34b`` of one simulated
Ollama, each over the protocol it ships with (hybrid-tui ``/api/chat``, oterm
``/v1/chat/completions``), with Textual's scroll animations off (see TERMINAL). Runs
alternate the apps' order; one warm-up run per app, before the first size, is discarded. A
last token not on screen within CAP seconds ends the run: the sample is the cap (a lower
bound), and a note says so.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from benchmarks.common import Figure, Row, Settings, Target, say
from benchmarks.otermenv import VERSION, default_venv, ensure, oterm_env
from benchmarks.simproc import SimProcess, child_env
from benchmarks.startup import command
from benchmarks.tmuxapp import COLS, LINES, RELATIVE, Polls, TmuxApp
from hybrid_tui.sim.replies import reply_for
from hybrid_tui.sim.tokens import count_tokens

PROMPT = "write a quicksort in python"
MODEL = "codellama:34b"
#: the reply's last token: one simulator token (letters only, 8 at most), nowhere else
SENTINEL = "Zqxfinis"
#: plain words (one token each) that pad the reply to its exact length
_FILLER = ("that", "is", "the", "whole", "answer", "and", "each", "step", "was", "shown")
#: seconds between "ready" and typing the prompt, for both apps alike
SETTLE = 1.0
#: seconds an app may take from Enter to the last token before the run is cut short
CAP = 720.0
#: seconds between two keys that move oterm's focus
STEP = 0.3
#: both apps' terminal settings. Textual's scroll animations off: with them, oterm scrolls
#: to the end over one second after each piece and stops following once the reply grows
#: faster than that (at unlimited rate within the first screenful), so its last token
#: would never reach the screen without the reader scrolling
TERMINAL = {"TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none"}


def reply_text(tokens: int) -> str:
    """A code-shaped Markdown reply of exactly ``tokens`` simulator tokens: whole copies of
    the simulator's own quicksort answer (fences balanced), a paragraph of plain words to
    pad, and SENTINEL alone as the last paragraph."""
    canned = reply_for(PROMPT)
    copies = max(0, (tokens - 16) // (count_tokens(canned) + 2))
    head = "\n\n".join([canned] * copies)
    words = max(1, tokens - count_tokens(head) - 5)
    for _ in range(4):
        filler = " ".join(_FILLER[i % len(_FILLER)] for i in range(words))
        text = f"{head}\n\n{filler}\n\n{SENTINEL}" if head else f"{filler}\n\n{SENTINEL}"
        missing = tokens - count_tokens(text)
        if missing == 0:
            return text
        words += missing
        if words < 1:
            break
    raise ValueError(f"no {tokens}-token reply with this shape")


class App(Protocol):
    """How one app is started and brought to an empty prompt in a tmux pane."""

    name: str

    def launch(self, pane: TmuxApp, polls: Polls) -> float:
        """Start the app; seconds from launch to its first screen."""
        ...

    def open_chat(self, pane: TmuxApp) -> None:
        """From the first screen to a prompt that sends on Enter."""
        ...


class HybridTui:
    """The installed ``hybrid-tui`` with a config whose only backend is the simulated
    Ollama, model codellama:34b, no reply length cap (oterm sets none either)."""

    name = "hybrid-tui"

    def __init__(self, ollama: str, tmp: Path) -> None:
        self.config = tmp / "hybrid-tui.yaml"
        # no reply cap (options: {}): a 20,000-token reply is past the default max_tokens
        self.config.write_text(
            f"backends:\n  ollama:\n    endpoint: {ollama}\n    models: [{MODEL}]\n"
            "    options: {}\n"
        )

    def launch(self, pane: TmuxApp, polls: Polls) -> float:
        env = child_env(**TERMINAL)
        env.pop("TMUX", None)
        start = pane.launch([*command(), "--config", str(self.config)], env)
        shown = pane.wait(lambda s: "hybrid-tui" in s, "hybrid-tui's first screen", 60,
                          since=start, polls=polls)
        return shown - start

    def open_chat(self, pane: TmuxApp) -> None:
        pane.wait(lambda s: "● up" in s, "hybrid-tui's backend up")


class Oterm:
    """oterm from its venv, a fresh HOME and data dir per launch; a new chat made with
    its keys: ctrl+n, Tab to the model field, the model's name, Tab (oterm then asks the
    server about the model), shift+Tab four times to the Save button, Enter."""

    name = "oterm"
    title = "oterm — the terminal LLM client"

    def __init__(self, venv: Path, ollama: str, tmp: Path) -> None:
        self.venv = venv
        self.ollama = ollama
        self.tmp = tmp

    def launch(self, pane: TmuxApp, polls: Polls) -> float:
        home = Path(tempfile.mkdtemp(prefix="oterm-home-", dir=self.tmp))
        env = {**oterm_env(home, self.ollama), **TERMINAL}
        start = pane.launch([str(self.venv / "bin" / "oterm")], env)
        shown = pane.wait(lambda s: self.title in s, "oterm's first screen", 120, since=start,
                          polls=polls)
        return shown - start

    def open_chat(self, pane: TmuxApp) -> None:
        pane.wait(lambda s: "Welcome to oterm!" in s, "oterm's start screen")
        pane.keys("C-n")
        pane.wait(lambda s: "Type model name" in s and MODEL in s, "oterm's new-chat dialog")
        # Tab, the name and Tab sent in one burst left the field empty (seen in tmux), so
        # each focus move waits STEP as a typist would
        _step(pane, "Tab")
        pane.type(MODEL)
        pane.wait(lambda s: "Type model name" not in s, "the model typed into oterm's dialog")
        _step(pane, "Tab")
        info = re.compile(rf"Model: {re.escape(MODEL)}\s+Size: \d")
        pane.wait(lambda s: info.search(s) is not None, "oterm's model info")
        for key in ("BTab", "BTab", "BTab", "BTab", "Enter"):
            _step(pane, key)
        pane.wait(lambda s: f"model: {MODEL}" in s, "oterm's new chat")


def _step(pane: TmuxApp, key: str) -> None:
    pane.keys(key)
    time.sleep(STEP)


@dataclass(slots=True)
class Run:
    """One fresh app's two times; ``finished`` False when the last token was not on screen
    within the cap (``enter`` is then the cap: a lower bound)."""

    launch: float
    enter: float
    finished: bool = True


def once(app: App, pane: TmuxApp, polls: Polls, cap: float) -> Run:
    """One fresh app: launch to first screen, then Enter to the last token on screen."""
    launched = app.launch(pane, polls)
    app.open_chat(pane)
    time.sleep(SETTLE)
    pane.type(PROMPT)
    time.sleep(0.3)
    start = time.perf_counter()
    pane.keys("Enter")
    try:
        end = pane.wait(lambda s: SENTINEL in s, f"{app.name}'s last token", cap,
                        since=start, polls=polls)
    except TimeoutError:
        return Run(launched, cap, finished=False)
    return Run(launched, end - start)


def run(settings: Settings) -> Row:
    sizes = (settings.size(3_000, 300), settings.size(20_000, 2_000))
    row = Row("oterm", f"oterm {VERSION} vs hybrid-tui, tmux {COLS}x{LINES}, same simulated "
              f"Ollama reply of {' and '.join(f'{n:,}' for n in sizes)} tokens")
    tmux = shutil.which("tmux")
    if tmux is None:
        row.skipped = "tmux is not installed"
        return row
    venv = Path(settings.oterm_venv) if settings.oterm_venv else default_venv()
    skip = ensure(venv, install=settings.oterm_install)
    if skip is not None:
        row.skipped = skip
        return row
    load_before = os.getloadavg()
    polls = {"hybrid-tui": Polls(), "oterm": Polls()}
    launches: dict[str, list[float]] = {"hybrid-tui": [], "oterm": []}
    with tempfile.TemporaryDirectory(prefix="hybrid-tui-oterm-") as name:
        tmp = Path(name)
        for size_index, n in enumerate(sizes):
            reply = tmp / f"reply-{n}.md"
            reply.write_text(reply_text(n), encoding="utf-8")
            enter: dict[str, list[float]] = {"hybrid-tui": [], "oterm": []}
            with SimProcess(reply_file=reply) as sim:
                apps: list[App] = [HybridTui(sim.ollama, tmp), Oterm(venv, sim.ollama, tmp)]
                # one warm-up per app (imports cached, pages in memory), before the first size
                first = 0 if size_index == 0 else 1
                for i in range(first, settings.runs + 1):
                    for app in apps if i % 2 == 0 else apps[::-1]:
                        with TmuxApp(tmux, tmp / "tmux.sock") as pane:
                            got = once(app, pane, polls[app.name], CAP)
                        say(f"   {app.name}, {n:,} tokens, run {i}"
                            f"{' (warm-up)' if i == 0 else ''}: launch {got.launch:.2f} s, "
                            f"Enter to last token {got.enter:.2f} s"
                            f"{'' if got.finished else ' (not finished: the cap)'}")
                        if not got.finished:
                            row.notes.append(
                                f"{app.name} did not show the last of {n:,} tokens within "
                                f"{CAP:g} s in run {i}: that sample is the cap, a lower bound")
                        if i:
                            launches[app.name].append(got.launch)
                            enter[app.name].append(got.enter)
            _add_size(row, n, enter)
    row.add(Figure("oterm: launch to first screen", "s", launches["oterm"]))
    row.add(Figure("hybrid-tui: launch to first screen", "s", launches["hybrid-tui"],
                   reference="oterm: launch to first screen"))
    load_after = os.getloadavg()
    row.notes += [
        "screen captured every "
        + "; ".join(f"{name} {p.median_ms():.1f} ms (median; p99 {p.p99_ms():.1f} ms)"
                    for name, p in polls.items())
        + f" in the timed waits (the pause grows to {RELATIVE:.1%} of the time elapsed): "
        "the resolution of the times here",
        f"load average {_load(load_before)} before, {_load(load_after)} after "
        f"({os.cpu_count()} cores)",
        f"both apps: model {MODEL} of one simulated Ollama, unlimited rate; hybrid-tui over "
        "/api/chat, oterm over /v1/chat/completions; first screen = the header title; "
        "TEXTUAL_ANIMATIONS=none for both",
    ]
    return row
def _add_size(row: Row, n: int, enter: dict[str, list[float]]) -> None:
    ours = f"hybrid-tui: Enter to last token, {n:,} tok"
    theirs = f"oterm: Enter to last token, {n:,} tok"
    row.add(Figure(theirs, "s", enter["oterm"]))
    row.add(Figure(ours, "s", enter["hybrid-tui"], reference=theirs))
    rate_theirs = f"oterm: rate, {n:,} tok"
    row.add(Figure(rate_theirs, "tok/s", [n / s for s in enter["oterm"]]))
    row.add(Figure(f"hybrid-tui: rate, {n:,} tok", "tok/s",
                   [n / s for s in enter["hybrid-tui"]], reference=rate_theirs,
                   targets=(Target(">=", 50, on="ratio"),)))


def _load(avg: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in avg)
