"""The command palette (ctrl+p): every app action by name, themes included."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp

Command = tuple[str, str, Callable[[], object]]


def app_commands(app: HybridApp) -> list[Command]:
    """(name, help, callback) for everything the palette offers, in display order."""
    commands: list[Command] = []
    for choice in app.force_choices:
        label = "Auto (let the router choose)" if choice == "auto" else choice
        commands.append(
            (f"Force backend: {label}", "Which backend answers the next prompts",
             partial(app.set_force, choice))
        )
    commands += [
        ("Refresh health", "Check every backend now (ctrl+r)", app.action_refresh_health),
        ("Clear conversation", "Start over: empty the screen and the chat history",
         app.action_clear_conversation),
        ("Show earlier turns", "Put back on screen the turns a long session took off it",
         app.action_show_earlier),
        ("Export transcript (Markdown)", "Write the conversation to a .md file",
         app.action_export_transcript),
        ("Export routing log (JSON Lines)", "Write the routing log to a .jsonl file (ctrl+e)",
         app.action_export_log),
        ("Copy last reply", "Copy the last reply to the clipboard", app.action_copy_reply),
        ("Copy last code block", "Copy the last code block of the last reply",
         app.action_copy_code),
        ("Toggle sidebar", "Show or hide the backends sidebar (ctrl+s)",
         app.action_toggle_sidebar),
        ("Toggle routing log", "Show or hide the routing log (ctrl+l)", app.action_toggle_log),
        ("Rate last reply good", "Tell the router the last reply was good (+)",
         partial(app.action_rate, True)),
        ("Rate last reply bad", "Tell the router the last reply was bad (-)",
         partial(app.action_rate, False)),
        ("Help", "Keys and how routing works (F1)", app.action_help),
    ]
    for name in app.theme_names:
        commands.append(
            (f"Change theme: {name}", "Switch colours (remembered)",
             partial(app.choose_theme, name))
        )
    return commands


class HybridCommands(Provider):
    """Fuzzy-matches :func:`app_commands`."""

    def _commands(self) -> list[Command]:
        from hybrid_tui.ui.app import HybridApp

        return app_commands(self.app) if isinstance(self.app, HybridApp) else []

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
