"""Help: what the screen shows and every key, in one place (F1). The keys come from the one
action table (:mod:`hybrid_tui.keymap`) with the user's ``ui.keys`` applied."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from hybrid_tui.keymap import Action, actions_with, display_key

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

{keys}

In the routing log, select a row (Enter or click) for the full decision: the words that set
the task type, what made up the complexity, and every backend side by side (available,
model loaded, predicted queue, first token and total time, what it has learned).

A pasted text longer than 20,000 characters shows as a chip (⟦pasted … characters⟧) and is
sent whole; control characters show as symbols (␛) and are sent as typed.

## In a prompt

`@strong`, `@fast` or `@<backend>` as the first word sends that one prompt there (the badge
says "forced by prefix"). `@path/to/file` attaches a file (Tab completes the path;
`.gitignore` is respected): its text goes with the prompt, fenced and labelled with its path.
"""

#: keys that belong to the prompt or to Textual, not to an action of ours
FIXED_KEYS = (
    ("Enter", "send the prompt (while one runs, it queues)"),
    ("ctrl+j / shift+enter", "new line in the prompt"),
    ("↑ / ↓", "earlier prompts (cursor on the first / last line)"),
    ("Tab", "complete an @path in the prompt"),
    ("ctrl+p", "every command (themes, exports, copy, save a code block)"),
    ("ctrl+q", "quit"),
)


def keys_table(actions: tuple[Action, ...]) -> str:
    rows = [("Key", "Does"), ("---", "---"), *FIXED_KEYS,
            *((display_key(a.key), a.help) for a in actions)]
    return "\n".join(f"| {key} | {does} |" for key, does in rows)


def help_text(keys: dict[str, str] | None = None) -> str:
    return HELP.replace("{keys}", keys_table(actions_with(keys)))


class HelpScreen(ModalScreen[None]):
    """A modal with :data:`HELP`; any of Esc, q, F1 closes it."""

    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close")]

    def __init__(self, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box") as box:
            box.border_title = "hybrid-tui help"
            box.border_subtitle = "esc to close"
            with VerticalScroll():
                yield Markdown(help_text(self.keys))
