"""``hybrid-tui ask``: one prompt through the router service, streamed to stdout as it arrives.

Reply text goes to stdout (control sequences stripped unless ``--raw``: model output is
untrusted); one summary line goes to stderr, and so do the notes on the way: waits before the
first token ("loading model…") and the marker where another backend took over a reply that
failed mid-way (the text on stdout stays one continuous reply). A reasoning model's thinking
is left out, or with ``--show-thinking`` streamed to stderr, dimmed (always sanitised).
``--json`` prints every event as one JSON line on stdout instead (``thinking`` events before
the answer's ``token`` events), and stderr carries only a final error.

The events fold into the same session model as the TUI's (:mod:`hybrid_tui.session`), so a
prompt's story (every fallback, failover and escalation) reads the same in both. A leading
``@fast``/``@strong``/``@<backend>`` forces the prompt, ``@path`` attaches a file, as in the TUI.

Exit 0 answered (also after a fallback or a failover), 1 no backend could answer or the reply
failed mid-way with no backend left to continue it (the partial reply stays on stdout),
2 usage or config error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import aclosing
from typing import TYPE_CHECKING, BinaryIO, TextIO

from hybrid_tui.attachments import parse_prompt, read_attachment, read_attachments
from hybrid_tui.cli_output import (
    console,
    error,
    failover_line,
    message,
    quiet_logging,
    summary_line,
    waiting_line,
    write_json_line,
)
from hybrid_tui.config import RESERVED_NAMES, Config, load_config
from hybrid_tui.errors import UsageError
from hybrid_tui.events import (
    Done,
    Error,
    Escalation,
    Event,
    Failover,
    Thinking,
    Token,
    Waiting,
    event_to_dict,
)
from hybrid_tui.safetext import TerminalSanitizer
from hybrid_tui.session import Attachment, Session, Turn, apply

if TYPE_CHECKING:
    from hybrid_tui.router.service import RouterService

#: the longest reply text waits in stdout's buffer (one frame at 60 Hz)
FLUSH_EVERY = 1 / 60



def read_prompt(words: list[str], stdin: BinaryIO | None = None) -> str:
    """The prompt from the command line (words joined), or from stdin when it is ``-``."""
    if words == ["-"]:
        if stdin is None:
            if sys.stdin is None:
                raise UsageError("the prompt is '-' but there is no stdin to read it from")
            if sys.stdin.isatty():
                message("reading the prompt from stdin; end it with Ctrl-D", style="dim")
            stdin = sys.stdin.buffer
        prompt = stdin.read().decode("utf-8", errors="replace")
    else:
        # undecodable bytes in argv arrive as lone surrogates: decode them as stdin would
        prompt = " ".join(words).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if not prompt.strip():
        raise UsageError("the prompt is empty; nothing was sent")
    return prompt


def read_context(name: str) -> tuple[str, str]:
    """A ``--context`` file as ``(label, text)``; missing, unreadable, too big or binary ->
    UsageError (the same checks as ``@path`` in a prompt)."""
    return read_attachment(name, what="context file").as_context()


def resolve_force(config: Config, backend: str | None, fast: bool) -> str | None:
    """The router's ``force`` for ``--backend``/``--fast``; an unknown name is a UsageError."""
    if fast:
        return "fast"
    if backend is None:
        return None
    if backend in RESERVED_NAMES:
        return backend
    known = config.backends.get(backend)
    if known is None:
        raise UsageError(f"unknown backend {backend!r} (configured: {', '.join(config.backends)}"
                         "; or auto, fast, strong)")
    if not known.enabled:
        raise UsageError(f"backend {backend!r} is disabled in the config (enabled: "
                         f"{', '.join(b.name for b in config.enabled_backends())})")
    return backend


class AskRenderer:
    """Folds router events into a one-turn session and prints them; knows the exit code
    when the stream ends."""

    def __init__(self, out: TextIO, *, raw: bool = False, as_json: bool = False,
                 turn: Turn | None = None, show_thinking: bool = False) -> None:
        self.out = out
        self.as_json = as_json
        self.show_thinking = show_thinking and not as_json
        self.sanitizer = None if raw else TerminalSanitizer()
        #: the thinking on stderr is always made safe (it is never the reply asked for)
        self.thinking_sanitizer = TerminalSanitizer()
        self._thinking_open = False
        self.session = Session(name="ask")
        if turn is None:
            turn = self.session.new_turn("")
        else:
            self.session.turns.append(turn)
        self.turn = turn
        self.session.start(turn)
        self._at_line_start = True
        self._flush_due: asyncio.TimerHandle | None = None
        self._held: list[str] = []

    @property
    def done(self) -> Done | None:
        reply = self.turn.current
        return reply.done if reply is not None else None

    @property
    def failovers(self) -> list[Failover]:
        return self.turn.failovers

    def handle(self, ev: Event) -> None:
        if self.as_json:
            write_json_line(event_to_dict(ev), self.out)
        apply(self.session, ev)
        if isinstance(ev, Token):
            if not self.as_json:
                if self._thinking_open:
                    self.end_thinking()
                self._write(ev.text)
            return
        if isinstance(ev, Thinking):
            if self.show_thinking:
                self._think(ev.text)
            return
        self.end_thinking()
        if isinstance(ev, Failover):
            if not self.as_json:
                self._note(failover_line(ev), "yellow")
        elif isinstance(ev, Waiting):
            if not self.as_json:
                self._note(waiting_line(ev), "dim")
        elif isinstance(ev, Escalation):
            if not self.as_json:
                self.end_line()
                message(f"escalating to {ev.to_backend}: {ev.reason}", style="yellow")
        elif isinstance(ev, Done):
            self.end_line()
            if self.sanitizer is not None:  # a sequence left open must not eat the next reply
                self.sanitizer = TerminalSanitizer()
        elif isinstance(ev, Error):
            self.end_line()

    def _write(self, text: str) -> None:
        """Reply text out at once to the stream's buffer; flushed at most every
        :data:`FLUSH_EVERY` seconds (a flush per token is a system call per token, which at
        thousands of tokens a second costs more than the rest of ``ask`` together)."""
        if self.sanitizer is not None:
            text = self.sanitizer.feed(text)
        if text:
            # kept here, not in stdout's own buffer: that one is gone when the user's
            # shell sets PYTHONUNBUFFERED, and every write would be a system call again
            self._held.append(text)
            self._at_line_start = text.endswith("\n")
            if self._flush_due is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:  # not streaming from a loop (tests): no batching
                    self.flush()
                    return
                self._flush_due = loop.call_later(FLUSH_EVERY, self.flush)

    def flush(self) -> None:
        """Everything held goes out now."""
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None
        if self._held:
            self.out.write("".join(self._held))
            self._held.clear()
        self.out.flush()

    def _think(self, text: str) -> None:
        """Thinking as it streams: dimmed on stderr, on lines of its own."""
        from rich.text import Text

        text = self.thinking_sanitizer.feed(text)
        if not text:
            return
        if not self._thinking_open:
            self.flush()  # any reply text so far, before the thinking that follows it
            if not self._at_line_start and _shared_terminal(self.out):
                sys.stderr.write("\n")
        stream = console(stderr=True)
        stream.print(Text(text, style="dim"), end="")
        stream.file.flush()
        self._thinking_open = not text.endswith("\n")

    def end_thinking(self) -> None:
        """End the thinking's last line before anything else is written."""
        if self._thinking_open:
            console(stderr=True).print()
            self._thinking_open = False
            self.thinking_sanitizer = TerminalSanitizer()

    def _note(self, text: str, style: str) -> None:
        """A note on stderr, on a line of its own when both streams share a terminal (the
        reply on stdout is not touched: piped, it stays one continuous text)."""
        self.flush()  # the reply so far, before the note about it
        if not self._at_line_start and _shared_terminal(self.out):
            sys.stderr.write("\n")
            sys.stderr.flush()
        message(text, style=style)

    def end_line(self) -> None:
        """Finish the reply's last line so the next message starts on its own."""
        self.end_thinking()
        if not self._at_line_start and not self.as_json:
            self._held.append("\n")
        self.flush()
        self._at_line_start = True

    def finish(self) -> int:
        """Print the summary (or the error) on stderr and return the exit code."""
        self.flush()
        turn = self.turn
        done = self.done
        if turn.status == "failed" and turn.error:
            error(turn.error)
        elif done is not None and not self.as_json:
            escalation = next((r.escalation for r in turn.replies if r.escalation), None)
            message(summary_line(done, turn.decision, fallback=turn.fallback,
                                 escalation=escalation), style="dim")
        elif done is None:
            error("the reply ended without an answer or an error")
        return 0 if done is not None and turn.status == "done" else 1


def _shared_terminal(out: TextIO) -> bool:
    try:
        return out.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


async def stream_reply(service: RouterService, renderer: AskRenderer, *,
                       task_type: str | None = None, complexity: str | None = None) -> None:
    """Feed every event of the renderer's turn to it; cancelling closes the stream."""
    turn = renderer.turn
    stream = service.submit(turn.prompt, context=[a.as_context() for a in turn.attachments],
                            force=turn.force, task_type=task_type, complexity=complexity)
    async with aclosing(stream) as events:
        async for ev in events:
            renderer.handle(ev)


async def _ask(config: Config, renderer: AskRenderer, args: argparse.Namespace) -> None:
    from hybrid_tui.router.service import RouterService

    async with RouterService(config, poll=False) as service:
        await stream_reply(service, renderer, task_type=args.task_type,
                           complexity=args.complexity)


def ask_turn(config: Config, typed: str, args: argparse.Namespace) -> Turn:
    """The prompt as a turn: ``@backend`` and ``@path`` taken apart as in the TUI, the
    ``--context`` files attached, ``--backend``/``--fast`` applied (a leading ``@backend``
    wins, as it names this very prompt)."""
    parsed = parse_prompt(typed, [b.name for b in config.enabled_backends()])
    if not parsed.text.strip():
        raise UsageError("the prompt is empty after the @-words; nothing was sent")
    context: list[Attachment] = [read_attachment(n, what="context file")
                                 for n in args.context or ()]
    attachments = (*context, *read_attachments(parsed.paths))
    force = resolve_force(config, args.backend, args.fast)
    source = "prefix" if parsed.force else ("cli" if force else None)
    return Turn(1, parsed.text, force=parsed.force or force, force_source=source,
                attachments=attachments)


def run_ask(args: argparse.Namespace) -> int:
    """The ``ask`` command: validate everything, then stream one reply."""
    typed = read_prompt(args.prompt)
    config = load_config(args.config)
    turn = ask_turn(config, typed, args)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a non-UTF-8 terminal gets '?', not a crash
    quiet_logging()
    renderer = AskRenderer(sys.stdout, raw=args.raw, as_json=args.json, turn=turn,
                           show_thinking=args.show_thinking)
    try:
        asyncio.run(_ask(config, renderer, args))
    except KeyboardInterrupt:
        renderer.end_line()
        message("interrupted; the reply above is incomplete", style="yellow")
        return 130
    return renderer.finish()
