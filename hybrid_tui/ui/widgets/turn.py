"""One conversation turn on screen: the prompt, its routing badge, the reply (or two), stats.

A view of a :class:`~hybrid_tui.session.Turn` and its :class:`~hybrid_tui.session.Reply`
objects: the runner folds each router event into the model, then tells the view what changed.
The view keeps only what drawing needs (text not yet drawn, timers).

Streaming path: ``ReplyView.append`` only buffers text; at most once per frame the buffer is
sanitised and handed to the reply's :class:`ReplyBody`, which renders finished Markdown blocks
once and re-renders only the growing tail (the very first text is shown at once, not a frame
later). Nothing here runs per token except a list append. Thinking text is drawn as plain text
in its own block, dim, expanded while it streams and collapsed when the answer starts.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from hybrid_tui.safetext import sanitize
from hybrid_tui.session import Reply, Turn
from hybrid_tui.ui.export import in_open_fence
from hybrid_tui.ui.widgets.reply_body import ReplyBody
from hybrid_tui.ui.widgets.turn_text import (
    Figures,
    attachment_chips,
    badge_content,
    markdown_literal,
    prompt_content,
    same_figures,
    stats_content,
)

__all__ = [
    "Figures",
    "ReplyView",
    "TurnView",
    "same_figures",
    "stats_content",
]

FRAME = 1 / 60
#: the least a flush waits after a frame, so the loop turns (keys, timers) in between
BETWEEN = 0.002
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


class ThinkingBlock(Static):
    """A reply's thinking: plain text (no Markdown), dim, one label line when collapsed.
    Expanded while the model thinks; collapsed when the answer starts; a click toggles it."""

    def __init__(self, reply: Reply, figures: Figures = same_figures) -> None:
        super().__init__("", classes="thinking", markup=False)
        self.reply = reply
        self._figures = figures
        self.expanded = reply.status == "waiting" and not reply.parts
        self._started = time.monotonic()
        self._seconds: float | None = None
        self._shown = 0

    def on_mount(self) -> None:
        self.show()

    def answer_started(self) -> None:
        """The answer's first text: the thinking time is known and the block folds away."""
        if self._seconds is None:
            self._seconds = time.monotonic() - self._started
        if self.expanded:
            self.expanded = False
        self.show()

    def toggle(self) -> None:
        self.expanded = not self.expanded
        self.show()

    def on_click(self) -> None:
        self.toggle()

    def label(self) -> str:
        reply = self.reply
        seconds = self._seconds
        done = reply.done
        thinking_ms = self._figures("thinking_ms", done.thinking_ms) if done else None
        if thinking_ms is not None:
            seconds = thinking_ms / 1000
        parts = ["thinking"]
        if seconds is not None:
            parts.append(f"{seconds:.0f} s")
        parts.append(f"{reply.thinking_chunks} tokens")
        return " · ".join(parts)

    def show(self) -> None:
        arrow = "▾" if self.expanded else "▸"
        head = Content.styled(f"{arrow} {self.label()}", "italic dim $text-muted")
        if self.expanded:
            text = sanitize(self.reply.thinking)
            self.update(Content.assemble(head, "\n", (text, "dim $text-muted")))
        else:
            hint = "  (click or ctrl+t to show)" if self.reply.thinking_chunks else ""
            self.update(Content.assemble(head, (hint, "$text-muted")))


class ReplyView(Vertical):
    """One model reply, streamed as Markdown, with who answered above and stats below."""

    def __init__(self, reply: Reply, *, figures: Figures = same_figures) -> None:
        escalated = reply.escalated or reply.asked_other
        super().__init__(classes="reply -escalated" if escalated else "reply")
        self.reply = reply
        self._figures = figures
        self._pending: list[str] = []
        self._shown_chars = 0
        self._held_cr = ""
        #: a flush is due: after the next frame, or (for the first text) as the next callback
        self._flush_due = False
        self._last_flush = 0.0
        self._sealed = False
        #: updates of the body made (at most one per frame)
        self.flushes = 0
        self._wait_since = 0.0
        self._wait_timer: Timer | None = None
        self._thinking_due = False
        # kept, not queried: updated per flush, and still there while the app shuts down
        self._body = ReplyBody(classes="reply-body")
        self._stats = Static(Content.styled("waiting for the first token…", "$text-muted"),
                             classes="reply-stats")
        self._thinking: ThinkingBlock | None = None
        self._note = Static(note_content(reply), classes="reply-note", markup=False)
        if reply.thinking_chunks:
            self._thinking = ThinkingBlock(reply, figures)
        if reply.status in ("done", "cancelled", "failed"):
            # a reply from the store: drawn whole, once
            self._pending.append(self._display_text())
            self._sealed = True

    def compose(self) -> ComposeResult:
        if self.reply.escalated or self.reply.asked_other:
            yield self._note
        if self._thinking is not None:
            yield self._thinking
        yield self._body
        yield self._stats

    def on_mount(self) -> None:
        if self._sealed:
            self._body.append(sanitize("".join(self._pending)))
            self._pending.clear()
            self.show_end()

    def _display_text(self) -> str:
        """The reply's text with each failover marker where it happened, as drawn."""
        reply = self.reply
        text, out, at = reply.text, [], 0
        for offset, marker in reply.marks:
            out += [text[at:offset], marker_markdown(text[:offset], marker)]
            at = offset
        return "".join([*out, text[at:]])

    # -- for the runner and tests ------------------------------------------------------------

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def backend(self) -> str:
        return self.reply.backend

    @property
    def status(self) -> str:
        return self.reply.status

    @property
    def chunks(self) -> int:
        return self.reply.chunks

    @property
    def settled(self) -> bool:
        """Everything received so far has been handed to the body."""
        return not self._pending and not self._flush_due

    @property
    def body(self) -> ReplyBody:
        return self._body

    @property
    def thinking(self) -> ThinkingBlock | None:
        return self._thinking

    def _set_stats(self, content: Content, *, layout: bool = True) -> None:
        self._stats.update(content, layout=layout)

    # -- streaming ---------------------------------------------------------------------------

    def append(self, text: str) -> None:
        """Buffer streamed text; schedule one flush for the next frame if none is pending."""
        if self._sealed or not text:
            return
        self._pending.append(text)
        self._schedule()

    def thinking_arrived(self) -> None:
        """More thinking text is in the model: shown with the next frame."""
        if self._thinking is None:
            self._thinking = ThinkingBlock(self.reply, self._figures)
            self.mount(self._thinking, before=self._body)
        self.stop_waiting()
        if not self._thinking_due:
            self._thinking_due = True
            self.set_timer(FRAME, self._show_thinking, name="reply-thinking")

    def _show_thinking(self) -> None:
        self._thinking_due = False
        if self._thinking is not None and self._thinking.is_attached:
            self._thinking.show()
            if not self.reply.parts:
                self._set_stats(Content.styled(
                    f"thinking · {self.reply.thinking_chunks} tokens", "$text-accent"),
                    layout=False)

    def toggle_thinking(self) -> bool:
        if self._thinking is None:
            return False
        self._thinking.toggle()
        return True

    def _schedule(self) -> None:
        """One flush per frame; the first text of a reply goes out at once (the user is
        waiting for it), later text joins whatever else arrives until the screen has drawn
        the last flush. The flush then runs in a callback of its own, never in the same
        turn of the event loop as drawing a frame: each of the two is a long callback while
        a reply streams fast, and back to back they held the loop for as long as both."""
        if self._flush_due or self._sealed:
            return
        self._flush_due = True
        if self._shown_chars:
            self.call_after_refresh(self._after_frame)
        else:
            self.call_next(self._flush)

    def _after_frame(self) -> None:
        """The last flush is on screen (or the screen is not drawing: a dialog is open over
        it); the next one no sooner than a frame after the last."""
        wait = FRAME - (time.monotonic() - self._last_flush)
        # a timer even when the frame took longer than FRAME: call_after_refresh callbacks
        # run in the same turn of the loop as the frame, and a key that arrived meanwhile
        # should be handled between the two (a sealed reply's flush does nothing either way)
        self.set_timer(max(wait, BETWEEN), self._flush, name="reply-flush")

    def mark(self, marker: str) -> None:
        """A display-only line where another backend took over (never part of the text)."""
        self._pending.append(marker_markdown(self.reply.text, marker))
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
        self._flush_due = False
        if self._sealed or not self._pending or not self.is_attached:
            return
        self._last_flush = time.monotonic()
        chunk = self._take_pending()
        self.stop_waiting()
        if self._thinking is not None:
            self._thinking.answer_started()
        # one short line replacing one short line: no relayout needed
        self._set_stats(Content.styled(f"streaming · {self.reply.chunks} tokens",
                                       "$text-accent"), layout=False)
        self.flushes += 1
        self.body.append(chunk)

    def _close(self) -> None:
        """Stop streaming: whatever is still buffered goes to the body."""
        self.stop_waiting()
        self._flush_due = False
        self._sealed = True
        if self._pending or self._held_cr:
            self.body.append(self._take_pending())
        if self._thinking is not None:
            self._thinking.answer_started()

    def finished(self) -> None:
        """The model says the reply is complete: final render and the stats line."""
        reply = self.reply
        if not self._shown_chars and not self._pending and reply.parts:
            self._pending.append(reply.text)
        self._close()
        self.show_end()

    def ended(self) -> None:
        """The reply stopped early (cancelled or failed); what arrived stays."""
        self._close()
        self.show_end()

    def show_end(self) -> None:
        """The stats line of a reply that came to its end, however it did."""
        reply = self.reply
        if reply.done is not None:
            self._set_stats(stats_content(reply.done, self._figures, reply.rating))
            return
        style = {"cancelled": "$text-warning", "failed": "$text-error"}.get(reply.status,
                                                                               "$text-muted")
        tokens = f" after {reply.chunks} tokens" if reply.chunks else " before the first token"
        self._set_stats(Content.assemble((f"{reply.status}{tokens}", f"bold {style}"),
                                         " " + sanitize(reply.end_note)))

    def restyle_stats(self, figures: Figures) -> None:
        self._figures = figures
        if self.reply.done is not None:
            self.show_end()

    def waiting(self) -> None:
        """Nothing (more) yet, and why (the reply's ``wait``): shown in the status line with
        a live count of seconds until text flows."""
        if self._sealed or self.reply.wait is None:
            return
        self._wait_since = time.monotonic()
        self._show_wait()
        if self._wait_timer is None:
            self._wait_timer = self.set_interval(1.0, self._show_wait, name="reply-wait")

    def _show_wait(self) -> None:
        wait = self.reply.wait
        if wait is None:
            self.stop_waiting()
            return
        seconds = wait.elapsed_s + time.monotonic() - self._wait_since
        parts: list[str | tuple[str, str]] = []
        if self.reply.chunks:  # a failover: the next backend has not started yet
            parts.append((f"streaming · {self.reply.chunks} tokens · {self.reply.backend} ",
                          "$text-accent"))
        parts += [(f"{wait.state}…", "$text-warning"),
                  (f"{WAIT_HINT.get(wait.state, '')}  {seconds:.0f} s", "$text-muted")]
        self._set_stats(Content.assemble(*parts), layout=False)

    def stop_waiting(self) -> None:
        """Text is flowing (or the reply ended): no more waiting notice."""
        if self._wait_timer is not None:
            self._wait_timer.stop()
            self._wait_timer = None

    @property
    def wait_state(self) -> str | None:
        wait = self.reply.wait
        return wait.state if wait is not None else None


def note_content(reply: Reply) -> Content:
    """The line above an escalated reply or one the user asked the other model for."""
    escalation = reply.escalation
    if escalation is not None:
        return Content.assemble(
            ("↑ escalated", "bold $text-secondary"),
            f" to {sanitize(escalation.to_backend)} · {sanitize(escalation.model)}",
            (f"  confidence {escalation.confidence:.2f} < {escalation.threshold:.2f} — "
             f"{sanitize(escalation.reason)}", "$text-muted"),
        )
    if reply.asked_other:
        return Content.assemble(("⇄ asked the other model", "bold $text-secondary"),
                                f" · {sanitize(reply.backend)}",
                                ("  both replies are kept; this one counts from now on",
                                 "$text-muted"))
    return Content.assemble(("↑ escalated", "bold $text-secondary"),
                            f" to {sanitize(reply.backend)}")


def marker_markdown(text_before: str, marker: str) -> str:
    """A failover marker as Markdown placed so the text keeps its shape: inside a code block
    still open, a plain line of the block; mid-line, its own line between hard breaks (a
    list item or paragraph stays one); at a line end, appended there; after a blank line,
    its own paragraph."""
    shown = f"*{markdown_literal(marker)}*"
    if in_open_fence(text_before):
        return f"{marker}\n" if text_before.endswith("\n") else f"\n{marker}\n"
    if not text_before.strip() or text_before.endswith("\n\n"):
        return f"{shown}\n\n"
    if text_before.endswith("\n"):
        return f"{shown}\\\n"
    return f"\\\n{shown}\\\n"


class TurnView(Vertical):
    """A prompt and everything it produced: a view of one :class:`Turn`."""

    def __init__(self, turn: Turn, *, figures: Figures = same_figures) -> None:
        super().__init__(classes="turn")
        self.turn = turn
        self._figures = figures
        self._views: list[ReplyView] = [ReplyView(r, figures=figures) for r in turn.replies]
        self._badge = Static(self._badge_content(), classes="badge")

    def compose(self) -> ComposeResult:
        turn = self.turn
        yield Static(prompt_content(turn.prompt, turn.stamp, turn.force, turn.force_source),
                     classes="prompt")
        if turn.attachments:
            yield Static(attachment_chips(turn.attachments), classes="chips")
        yield self._badge
        # the replies are the turn's own children, not in a box of their own: every
        # container around a streaming reply grows with it and is repainted whole each frame
        yield from self._views

    def on_mount(self) -> None:
        self.paint()

    # -- what tests and the runner read ------------------------------------------------------

    @property
    def number(self) -> int:
        return self.turn.number

    @property
    def prompt(self) -> str:
        return self.turn.prompt

    @property
    def status(self) -> str:
        return self.turn.status

    @property
    def answer(self) -> str:
        return self.turn.answer

    @property
    def replies(self) -> list[ReplyView]:
        return list(self._views)

    @property
    def current(self) -> ReplyView | None:
        """The reply being streamed (kept, not queried: this is on the per-token path)."""
        return self._views[-1] if self._views else None

    def view_of(self, reply: Reply | None) -> ReplyView | None:
        if reply is None:
            return None
        current = self.current
        if current is not None and current.reply is reply:
            return current
        return next((v for v in self._views if v.reply is reply), None)

    # -- drawing -----------------------------------------------------------------------------

    def paint(self) -> None:
        """Colour the left rail by status. An inline style, not a CSS class: a class change
        restyles every descendant, and a long reply has thousands."""
        variable, alpha = RAIL_COLOUR.get(self.turn.status, RAIL_COLOUR["queued"])
        value = self.app.theme_variables.get(variable)
        if value:
            self.styles.border_left = ("outer", Color.parse(value).with_alpha(alpha))

    def _badge_content(self) -> Content:
        turn = self.turn
        if turn.decision is not None:
            return badge_content(turn.decision, turn.fallback, turn.failover, turn.force_source)
        if turn.error:
            return Content.styled(sanitize(turn.error), "$text-error")
        if turn.status == "routing":
            return Content.styled("routing…", "$text-muted")
        if turn.status == "queued":
            return Content.styled("queued — runs after the current prompt", "$text-muted")
        return Content.styled(turn.status, "$text-muted")

    def refresh_badge(self) -> None:
        self._badge.update(self._badge_content())
        self.paint()

    async def add_reply(self, reply: Reply) -> ReplyView:
        """Mount the view of a new reply (the first, an escalated or asked-for second one)."""
        view = ReplyView(reply, figures=self._figures)
        after = self._views[-1] if self._views else self._badge
        self._views.append(view)
        await self.mount(view, after=after)
        self.paint()
        return view

    def restyle(self, figures: Figures) -> None:
        self._figures = figures
        for view in self._views:
            view.restyle_stats(figures)
