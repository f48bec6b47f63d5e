"""One conversation turn: the prompt, its routing badge, the reply (or two), and stats.

Streaming path: ``ReplyView.append`` only buffers text; at most once per frame the buffer is
sanitised and handed to the reply's :class:`ReplyBody`, which renders finished Markdown blocks
once and re-renders only the growing tail (the very first text is shown at once, not a frame
later). Nothing here runs per token except a list append.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Static

from hybrid_tui.events import Decision, Done, Failover, Fallback
from hybrid_tui.ui.export import in_open_fence
from hybrid_tui.ui.safe import sanitize
from hybrid_tui.ui.widgets.reply_body import ReplyBody
from hybrid_tui.ui.widgets.turn_text import (
    Figures,
    badge_content,
    failover_marker,
    fmt_ms,
    markdown_literal,
    prompt_content,
    same_figures,
    stats_content,
)

__all__ = [
    "Figures",
    "ReplyView",
    "TurnView",
    "fmt_ms",
    "same_figures",
    "stats_content",
]

FRAME = 1 / 60
#: turn status -> (theme variable, alpha) of its left rail
RAIL_COLOUR = {
    "queued": ("foreground", 0.3),
    "routing": ("accent", 0.5),
    "streaming": ("accent", 1.0),
    "done": ("primary", 0.6),
    "cancelled": ("warning", 1.0),
    "failed": ("error", 1.0),
}
#: what each wait says after its name, in the reply's status line
WAIT_HINT = {
    "loading model": " (a cold start can take a while)",
    "queued": " (behind other requests to this backend)",
}


class ReplyView(Vertical):
    """One model reply, streamed as Markdown, with who answered above and stats below."""

    def __init__(
        self, backend: str, model: str, *, note: Content | None = None, escalated: bool = False
    ) -> None:
        super().__init__(classes="reply -escalated" if escalated else "reply")
        self.escalated = escalated
        self.backend = backend
        self.model = model
        self._note = note
        self._raw: list[str] = []
        self._shown_chars = 0
        self._pending: list[str] = []
        self._held_cr = ""
        self._flush_timer: Timer | None = None
        #: a flush is due: on the timer, or (for the first text) as the next callback
        self._flush_due = False
        self._sealed = False
        #: Token events received, and updates of the body made (at most one per frame)
        self.chunks = 0
        self.flushes = 0
        self.status = "waiting"
        self.done: Done | None = None
        #: where another backend took over: (offset in ``text``, marker line)
        self.marks: list[tuple[int, str]] = []
        #: the user's verdict (``+`` / ``-``), None before one
        self.rating: bool | None = None
        #: what the reply is waiting for (``Waiting.state``), None once text flows
        self.wait_state: str | None = None
        self._wait_base = 0.0
        self._wait_since = 0.0
        self._wait_timer: Timer | None = None
        self._figures: Figures = same_figures
        # kept, not queried: updated per flush, and still there while the app shuts down
        self._body = ReplyBody(classes="reply-body")
        self._stats = Static(Content.styled("waiting for the first token…", "$text-muted"),
                             classes="reply-stats")

    def compose(self) -> ComposeResult:
        if self._note is not None:
            yield Static(self._note, classes="reply-note", markup=False)
        yield self._body
        yield self._stats

    @property
    def text(self) -> str:
        """Everything the model sent, as received (for history, transcript and store)."""
        return "".join(self._raw)

    @property
    def marked_text(self) -> str:
        """:attr:`text` with each failover marker on its own line where it happened (for
        exports: the reader sees where the second backend took over)."""
        text, out, at = self.text, [], 0
        for offset, marker in self.marks:
            out += [text[at:offset], f"\n\n{marker}\n\n"]
            at = offset
        return "".join([*out, text[at:]])

    @property
    def settled(self) -> bool:
        """Everything received so far has been handed to the Markdown widget."""
        return not self._pending and not self._flush_due

    @property
    def body(self) -> ReplyBody:
        return self._body

    def _set_stats(self, content: Content, *, layout: bool = True) -> None:
        self._stats.update(content, layout=layout)

    def append(self, text: str) -> None:
        """Buffer streamed text; schedule one flush for the next frame if none is pending."""
        if self._sealed or not text:
            return
        self._raw.append(text)
        self._pending.append(text)
        self.chunks += 1
        self._schedule()

    def _schedule(self) -> None:
        """One flush per frame; the first text of a reply goes out at once (the user is
        waiting for it), later text joins whatever else arrives within the frame."""
        if self._flush_due or self._sealed:
            return
        self._flush_due = True
        if self._shown_chars:
            self._flush_timer = self.set_timer(FRAME, self._flush, name="reply-flush")
        else:
            self.call_next(self._flush)

    def mark(self, marker: str) -> None:
        """A display-only line in the reply where another backend took over (never part of
        :attr:`text`). Placed so the Markdown keeps its shape: inside a code block still
        open, a plain line of the block; mid-line, its own line between hard breaks (a list
        item or paragraph stays one); at a line end, appended there; after a blank line,
        its own paragraph."""
        text = self.text
        self.marks.append((len(text), marker))
        shown = f"*{markdown_literal(marker)}*"
        if in_open_fence(text):
            line = f"{marker}\n" if text.endswith("\n") else f"\n{marker}\n"
        elif not text.strip() or text.endswith("\n\n"):
            line = f"{shown}\n\n"
        elif text.endswith("\n"):
            line = f"{shown}\\\n"
        else:
            line = f"\\\n{shown}\\\n"
        self._pending.append(line)
        self._schedule()

    def _take_pending(self) -> str:
        """Sanitised pending text; a trailing CR is held back in case its LF comes next."""
        chunk = self._held_cr + "".join(self._pending)
        self._pending.clear()
        self._held_cr = ""
        if chunk.endswith("\r") and not self._sealed:
            chunk, self._held_cr = chunk[:-1], "\r"
        chunk = sanitize(chunk)
        self._shown_chars += len(chunk)
        return chunk

    def _flush(self) -> None:
        self._flush_timer = None
        self._flush_due = False
        if self._sealed or not self._pending:
            return
        chunk = self._take_pending()
        if self.status == "waiting":
            self.status = "streaming"
        self.stop_waiting()
        # one short line replacing one short line: no relayout needed
        self._set_stats(Content.styled(f"streaming · {self.chunks} tokens", "$text-accent"),
                        layout=False)
        self.flushes += 1
        self.body.append(chunk)

    async def _close(self) -> None:
        """Stop streaming: whatever is still buffered goes to the body."""
        self.stop_waiting()
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._flush_due = False
        self._sealed = True
        if self._pending or self._held_cr:
            self.body.append(self._take_pending())

    async def finish(self, done: Done, figures: Figures = same_figures) -> None:
        """The reply is complete: final render and the stats line."""
        self.done = done
        if not self._raw and done.text:
            self._raw.append(done.text)
            self._pending.append(done.text)
        self._figures = figures
        await self._close()
        self.status = "done"
        self._set_stats(stats_content(done, figures, self.rating))

    def rate(self, positive: bool) -> None:
        """Show the user's rating next to the stats (the router records it)."""
        self.rating = positive
        if self.done is not None:
            self._set_stats(stats_content(self.done, self._figures, positive))

    async def end(self, status: str, message: str) -> None:
        """The reply stopped early (``cancelled`` or ``failed``); what arrived stays."""
        await self._close()
        self.status = status
        style = {"cancelled": "$text-warning", "failed": "$text-error"}.get(status, "$text-muted")
        tokens = f" after {self.chunks} tokens" if self.chunks else " before the first token"
        self._set_stats(Content.assemble((f"{status}{tokens}", f"bold {style}"), " " + message))

    def waiting(self, state: str, elapsed_s: float) -> None:
        """Nothing (more) yet, and why: ``queued``, ``loading model``, ``waiting for first
        token``. Shown in the status line with a live count of seconds until text flows."""
        if self._sealed:
            return
        self.wait_state = state
        self._wait_base, self._wait_since = elapsed_s, time.monotonic()
        self._show_wait()
        if self._wait_timer is None:
            self._wait_timer = self.set_interval(1.0, self._show_wait, name="reply-wait")

    def _show_wait(self) -> None:
        state = self.wait_state
        if state is None:
            return
        seconds = self._wait_base + time.monotonic() - self._wait_since
        parts: list[str | tuple[str, str]] = []
        if self.chunks:  # a failover: the next backend has not started yet
            parts.append((f"streaming · {self.chunks} tokens · {self.backend} ", "$text-accent"))
        parts += [(f"{state}…", "$text-warning"),
                  (f"{WAIT_HINT.get(state, '')}  {seconds:.0f} s", "$text-muted")]
        self._set_stats(Content.assemble(*parts), layout=False)

    def stop_waiting(self) -> None:
        """Text is flowing (or the reply ended): no more waiting notice."""
        self.wait_state = None
        if self._wait_timer is not None:
            self._wait_timer.stop()
            self._wait_timer = None

    def took_over(self, backend: str, model: str, marker: str) -> None:
        """Another backend continues this reply from here (mid-stream failover)."""
        self.backend, self.model = backend, model
        self.mark(marker)


class TurnView(Vertical):
    """A prompt and everything it produced. ``status`` drives the left-edge colour."""

    status: reactive[str] = reactive("queued")

    def __init__(
        self,
        prompt: str,
        *,
        force: str | None,
        stamp: str,
        number: int,
    ) -> None:
        super().__init__(classes="turn")
        self.prompt = prompt
        self.force = force
        self.stamp = stamp
        self.number = number
        self.decision: Decision | None = None
        self.fallback: Fallback | None = None
        self.failover: Failover | None = None
        self.error: str | None = None
        #: a "loading model" wait has its routing-log row already (one per turn at most)
        self.logged_loading = False
        self._replies: list[ReplyView] = []
        self._badge = Static(Content.styled("queued — runs after the current prompt",
                                            "$text-muted"), classes="badge")
        self._replies_box = Vertical(classes="replies")

    def compose(self) -> ComposeResult:
        yield Static(prompt_content(self.prompt, self.stamp, self.force), classes="prompt")
        yield self._badge
        yield self._replies_box

    def watch_status(self) -> None:
        self.paint()

    def paint(self) -> None:
        """Colour the left rail by status. An inline style, not a CSS class: a class change
        restyles every descendant, and a long reply has thousands."""
        variable, alpha = RAIL_COLOUR.get(self.status, RAIL_COLOUR["queued"])
        value = self.app.theme_variables.get(variable)
        if value:
            self.styles.border_left = ("outer", Color.parse(value).with_alpha(alpha))

    @property
    def replies(self) -> list[ReplyView]:
        return list(self._replies)

    @property
    def current(self) -> ReplyView | None:
        """The reply being streamed (kept, not queried: this is on the per-token path)."""
        return self._replies[-1] if self._replies else None

    @property
    def answer(self) -> str:
        """The reply that counts for the conversation: the last one that finished."""
        done = [r for r in self.replies if r.done is not None]
        return done[-1].text if done else ""

    def _set_badge(self, content: Content) -> None:
        self._badge.update(content)

    def routing(self) -> None:
        self.status = "routing"
        self._set_badge(Content.styled("routing…", "$text-muted"))

    def set_decision(self, decision: Decision) -> None:
        self.decision = decision
        self._set_badge(badge_content(decision))

    def set_fallback(self, fallback: Fallback) -> None:
        self.fallback = fallback
        if self.decision is not None:
            self._set_badge(badge_content(self.decision, fallback))
        reply = self.current
        if reply is not None and reply.status == "waiting":
            reply.backend, reply.model = fallback.to_backend, fallback.model

    def set_failover(self, failover: Failover) -> None:
        """The answering backend died mid-reply; another one continues the same reply."""
        self.failover = failover
        if self.decision is not None:
            self._set_badge(badge_content(self.decision, self.fallback, failover))
        reply = self.current
        if reply is not None:
            reply.took_over(failover.to_backend, failover.model, failover_marker(failover))

    async def start_reply(
        self, backend: str, model: str, note: Content | None = None, *, escalated: bool = False
    ) -> ReplyView:
        """Mount a new reply (the first, or an escalated second one) and return it."""
        reply = ReplyView(backend, model, note=note, escalated=escalated)
        self._replies.append(reply)
        await self._replies_box.mount(reply)
        self.status = "streaming"
        return reply

    def set_error(self, message: str) -> None:
        self.error = message
        if self.decision is None:
            self._set_badge(Content.styled(sanitize(message), "$text-error"))
