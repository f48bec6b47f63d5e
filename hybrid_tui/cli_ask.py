"""``hybrid-tui ask``: one prompt through the router service, streamed to stdout as it arrives.

Reply text goes to stdout (control sequences stripped unless ``--raw``: model output is
untrusted); one summary line goes to stderr, and so do the notes on the way: waits before the
first token ("loading model…") and the marker where another backend took over a reply that
failed mid-way (the text on stdout stays one continuous reply). ``--json`` prints every event
as one JSON line on stdout instead, and stderr carries only a final error.

Exit 0 answered (also after a fallback or a failover), 1 no backend could answer or the reply
failed mid-way with no backend left to continue it (the partial reply stays on stdout),
2 usage or config error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import aclosing
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO

from hybrid_tui.cli_output import (
    TerminalSanitizer,
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
    Decision,
    Done,
    Error,
    Escalation,
    Event,
    Failover,
    Fallback,
    Token,
    Waiting,
    event_to_dict,
)

if TYPE_CHECKING:
    from hybrid_tui.router.service import RouterService

#: a context file bigger than this is refused (it would not fit any local model's window)
MAX_CONTEXT_BYTES = 8_000_000


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
    """A ``--context`` file as ``(label, text)``; missing, unreadable or binary -> UsageError."""
    path = Path(name).expanduser()
    try:
        if path.is_dir():
            raise UsageError(f"context file {name}: is a directory")
        if path.stat().st_size > MAX_CONTEXT_BYTES:
            raise UsageError(f"context file {name}: larger than {MAX_CONTEXT_BYTES:,} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"context file {name}: not found") from None
    except OSError as exc:
        raise UsageError(f"context file {name}: cannot read it ({exc.strerror or exc})") from None
    if b"\x00" in data[:8192]:
        raise UsageError(f"context file {name}: looks binary, not text")
    return name, data.decode("utf-8", errors="replace")


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
    """Turns router events into output, and knows the exit code when the stream ends."""

    def __init__(self, out: TextIO, *, raw: bool = False, as_json: bool = False) -> None:
        self.out = out
        self.as_json = as_json
        self.sanitizer = None if raw else TerminalSanitizer()
        self.decision: Decision | None = None
        self.fallback: Fallback | None = None
        self.escalation: Escalation | None = None
        self.failovers: list[Failover] = []
        self.done: Done | None = None
        self.error: Error | None = None
        self._at_line_start = True

    def handle(self, ev: Event) -> None:
        if self.as_json:
            write_json_line(event_to_dict(ev), self.out)
        if isinstance(ev, Token):
            if not self.as_json:
                self._write(ev.text)
        elif isinstance(ev, Decision):
            self.decision = ev
        elif isinstance(ev, Fallback):
            self.fallback = ev
        elif isinstance(ev, Failover):
            self.failovers.append(ev)
            if not self.as_json:
                self._note(failover_line(ev), "yellow")
        elif isinstance(ev, Waiting):
            if not self.as_json:
                self._note(waiting_line(ev), "dim")
        elif isinstance(ev, Escalation):
            self.escalation = ev
            if not self.as_json:
                self.end_line()
                message(f"escalating to {ev.to_backend}: {ev.reason}", style="yellow")
        elif isinstance(ev, Done):
            self.done = ev
            self.end_line()
            if self.sanitizer is not None:  # a sequence left open must not eat the next reply
                self.sanitizer = TerminalSanitizer()
        elif isinstance(ev, Error):
            self.error = ev
            self.end_line()

    def _write(self, text: str) -> None:
        if self.sanitizer is not None:
            text = self.sanitizer.feed(text)
        if text:
            self.out.write(text)
            self.out.flush()
            self._at_line_start = text.endswith("\n")

    def _note(self, text: str, style: str) -> None:
        """A note on stderr, on a line of its own when both streams share a terminal (the
        reply on stdout is not touched: piped, it stays one continuous text)."""
        if not self._at_line_start and _shared_terminal(self.out):
            sys.stderr.write("\n")
            sys.stderr.flush()
        message(text, style=style)

    def end_line(self) -> None:
        """Finish the reply's last line so the next message starts on its own."""
        if not self._at_line_start and not self.as_json:
            self.out.write("\n")
            self.out.flush()
        self._at_line_start = True

    def finish(self) -> int:
        """Print the summary (or the error) on stderr and return the exit code."""
        if self.error is not None:
            error(self.error.message)
        elif self.done is not None and not self.as_json:
            message(summary_line(self.done, self.decision, fallback=self.fallback,
                                 escalation=self.escalation), style="dim")
        elif self.done is None:
            error("the reply ended without an answer or an error")
        return 0 if self.done is not None else 1


def _shared_terminal(out: TextIO) -> bool:
    try:
        return out.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


async def stream_reply(service: RouterService, renderer: AskRenderer, prompt: str,
                       context: list[tuple[str, str]], force: str | None) -> None:
    """Feed every event of one prompt to ``renderer``; cancelling closes the stream."""
    async with aclosing(service.submit(prompt, context=context, force=force)) as events:
        async for ev in events:
            renderer.handle(ev)


async def _ask(config: Config, renderer: AskRenderer, prompt: str,
               context: list[tuple[str, str]], force: str | None) -> None:
    from hybrid_tui.router.service import RouterService

    async with RouterService(config, poll=False) as service:
        await stream_reply(service, renderer, prompt, context, force)


def run_ask(args: argparse.Namespace) -> int:
    """The ``ask`` command: validate everything, then stream one reply."""
    prompt = read_prompt(args.prompt)
    context = [read_context(name) for name in args.context or ()]
    config = load_config(args.config)
    force = resolve_force(config, args.backend, args.fast)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")  # a non-UTF-8 terminal gets '?', not a crash
    quiet_logging()
    renderer = AskRenderer(sys.stdout, raw=args.raw, as_json=args.json)
    try:
        asyncio.run(_ask(config, renderer, prompt, context, force))
    except KeyboardInterrupt:
        renderer.end_line()
        message("interrupted; the reply above is incomplete", style="yellow")
        return 130
    return renderer.finish()
