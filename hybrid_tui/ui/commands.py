"""The command palette (ctrl+p): every action of the action table by name, then backends,
code blocks to save and themes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content
from textual.markup import escape

from hybrid_tui.keymap import actions_with, display_key

if TYPE_CHECKING:
    from hybrid_tui.ui.app import HybridApp

Command = tuple[str, str, Callable[[], object]]


def app_commands(app: HybridApp) -> list[Command]:
    """(name, help, callback) for everything the palette offers, in display order: the
    action table's entries (with their keys), backends, code blocks, themes."""
    commands: list[Command] = []
    for action in actions_with(app.config.ui.keys):
        if action.title:
            commands.append((action.title, f"{action.help} ({display_key(action.key)})",
                             partial(app.run_action, action.action)))
    for choice in app.force_choices:
        label = "Auto (let the router choose)" if choice == "auto" else choice
        commands.append((f"Force backend: {label}", "Which backend answers the next prompt only",
                         partial(app.set_force, choice)))
        if choice != "auto":
            commands.append((f"Pin backend: {choice}", "Every later prompt goes there",
                             partial(app.set_force, choice, pin=True)))
    commands += [
        ("Show earlier turns", "Put back on screen the turns a long chat took off it",
         app.action_show_earlier),
        ("Export transcript (Markdown)", "Write this chat to a .md file",
         app.action_export_transcript),
        ("Copy last reply", "Copy the last reply to the clipboard", app.action_copy_reply),
        ("Copy last code block", "Copy the last code block of the last reply",
         app.action_copy_code),
    ]
    for label, code in app.code_block_choices():
        commands.append((f"Save code block: {label}", "Write it to a file you name",
                         partial(app.action_save_code, code)))
    for name in app.theme_names:
        commands.append(
            (f"Change theme: {name}", "Switch colours (remembered)",
             partial(app.choose_theme, name))
        )
    return commands


class HybridCommands(Provider):
    """Fuzzy-matches :func:`app_commands`. Names can hold model text (code block labels) and
    backend names: they are shown as plain :class:`Content`, never parsed as markup."""

    def _commands(self) -> list[Command]:
        from hybrid_tui.ui.app import HybridApp

        return app_commands(self.app) if isinstance(self.app, HybridApp) else []

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(Content(name), callback, text=name, help=escape(help_text))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, highlight(matcher, name), callback, text=name,
                          help=escape(help_text))


def highlight(matcher: Matcher, name: str) -> Content:
    """``name`` as plain text with the matched characters styled (Textual's own
    ``Matcher.highlight`` parses its argument as markup)."""
    content = Content(name)
    _, offsets = matcher.fuzzy_search.match(matcher.query, name)
    for offset in offsets:
        if not name[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
