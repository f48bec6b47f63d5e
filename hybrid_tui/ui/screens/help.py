"""Help: what the screen shows and every key, in one place (F1)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
## How it works

Every prompt goes to one of your local servers. The **router** picks the fast model
(LM Studio) for quick edits and boilerplate, and the strong one (Ollama) for analysis,
planning and complex work — or whichever is up. The badge above a reply says which
answered and why; a weak fast reply is re-asked on the strong model (**escalated**) and
you keep both. If a server is down, the other one answers (**fallback**); if it stops in
the middle of a reply, another one carries on from where it stopped (**failover**, marked
⤷ in the reply). A server that keeps failing is left alone for a while (**cooling down**).
While nothing has arrived yet, the reply says why: queued, loading model, or waiting for
the first token.

## Keys

| Key | Does |
| --- | --- |
| Enter | send the prompt (while one runs, it queues) |
| ctrl+j / shift+enter | new line in the prompt |
| ↑ / ↓ | earlier prompts (cursor on the first / last line) |
| Esc | stop the running reply (what arrived stays) |
| + / - | rate the last reply good / bad (with the prompt empty): the router learns |
| ctrl+b | cycle the backend: Auto → each server by name |
| ctrl+r | check every backend now |
| ctrl+l | show or hide the routing log |
| ctrl+e | export the routing log (JSON Lines) |
| ctrl+s | show or hide the backends sidebar |
| ctrl+p | all commands: theme, transcript export, copy reply or code, clear |
| F1 | this help |
| ctrl+q | quit |

In the routing log, select a row (Enter or click) for the full decision: the words that set
the task type, what made up the complexity, and every backend side by side (available,
model loaded, predicted queue, first token and total time, what it has learned).

A pasted text longer than 20,000 characters shows as a chip (⟦pasted … characters⟧) and is
sent whole; control characters show as symbols (␛) and are sent as typed.
"""


class HelpScreen(ModalScreen[None]):
    """A modal with :data:`HELP`; any of Esc, q, F1 closes it."""

    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = "hybrid-tui help"
            box.border_subtitle = "esc to close"
            with VerticalScroll():
                yield Markdown(HELP)
