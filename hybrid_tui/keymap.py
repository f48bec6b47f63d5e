"""Every action a user can take in the app, spelled once: its key, its name in the command
palette, its footer label and its help line. ``BINDINGS``, the palette, the help screen and
the footer are all derived from :data:`ACTIONS`, and ``ui.keys`` in the config rebinds any
action by name. Nothing here imports textual (the config validates keys without it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Action:
    """One thing the user can do. ``action`` is the app's ``action_*`` call (Textual's
    action string); ``key`` a Textual key spec ("ctrl+b", "f1", "escape,q")."""

    name: str
    action: str
    key: str
    #: the footer's label ("" keeps it off the footer)
    footer: str
    #: the palette's entry ("" keeps it off the palette)
    title: str
    #: one line for the palette and the help screen
    help: str
    #: handled before the focused widget sees the key (the prompt would take it otherwise)
    priority: bool = True


ACTIONS: tuple[Action, ...] = (
    Action("cancel", "cancel", "escape", "Stop reply", "Stop the reply",
           "stop the running reply (what arrived stays)", priority=False),
    Action("choose_backend", "cycle_force", "ctrl+b", "Backend",
           "Choose backend for the next prompt",
           "cycle the backend for the next prompt only: Auto → each server by name"),
    Action("pin_backend", "pin_force", "f4", "Pin", "Pin or unpin the backend",
           "keep the chosen backend for every later prompt (again: unpin, back to Auto)"),
    Action("new_chat", "new_chat", "ctrl+n", "New chat", "New chat",
           "start a new chat (the current one is kept)"),
    Action("chats", "chats", "f2", "Chats", "Chats: switch, search, rename, delete",
           "list the chats: switch, search, rename and delete"),
    Action("ask_other", "ask_other", "ctrl+o", "Other model", "Ask the other model",
           "ask the last prompt again on the other tier; both replies stay on the turn"),
    Action("toggle_thinking", "toggle_thinking", "ctrl+t", "", "Show or hide thinking",
           "show or hide the thinking of the last reply"),
    Action("chat_settings", "chat_settings", "f3", "", "Chat settings",
           "this chat's system prompt, generation options and thinking"),
    Action("refresh_health", "refresh_health", "ctrl+r", "Refresh", "Refresh health",
           "check every backend now"),
    Action("toggle_log", "toggle_log", "ctrl+l", "Log", "Toggle routing log",
           "show or hide the routing log"),
    Action("export_log", "export_log", "ctrl+e", "", "Export routing log (JSON Lines)",
           "write the routing log to a .jsonl file"),
    Action("toggle_sidebar", "toggle_sidebar", "ctrl+s", "Sidebar", "Toggle sidebar",
           "show or hide the backends sidebar"),
    Action("backend_cards", "show_backends", "f5", "", "Show the backend cards",
           "the full backend cards in place of the one-line strip of a narrow terminal"),
    Action("scroll_up", "scroll_conversation('page_up')", "pageup", "", "",
           "scroll the conversation up (stops following the reply)"),
    Action("scroll_down", "scroll_conversation('page_down')", "pagedown", "", "",
           "scroll the conversation down"),
    Action("scroll_top", "scroll_conversation('home')", "ctrl+home", "", "",
           "to the top of the conversation"),
    Action("scroll_bottom", "scroll_conversation('end')", "ctrl+end", "", "",
           "to the bottom: follow the reply again"),
    Action("rate_good", "rate(True)", "plus", "", "Rate last reply good",
           "rate the last reply good (with the prompt empty): the router learns",
           priority=False),
    Action("rate_bad", "rate(False)", "minus", "", "Rate last reply bad",
           "rate the last reply bad (with the prompt empty)", priority=False),
    Action("help", "help", "f1", "Help", "Help", "keys and how routing works"),
)

#: key names Textual reports besides single characters and F-keys
NAMED_KEYS = frozenset({
    "escape", "enter", "tab", "backspace", "delete", "insert", "home", "end", "pageup",
    "pagedown", "up", "down", "left", "right", "space", "plus", "minus", "comma",
    "full_stop", "slash", "backslash", "colon", "semicolon", "equals_sign", "question_mark",
    "exclamation_mark", "at", "number_sign", "dollar_sign", "percent_sign", "ampersand",
    "asterisk", "underscore", "left_square_bracket", "right_square_bracket",
    "left_curly_bracket", "right_curly_bracket", "vertical_line", "tilde", "grave_accent",
    "apostrophe", "quotation_mark", "less_than_sign", "greater_than_sign", "circumflex_accent",
    "left_parenthesis", "right_parenthesis",
})
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_FKEY = re.compile(r"f([1-9]|1[0-9]|2[0-4])")
#: printable single characters a key can be
_CHAR = re.compile(r"[a-z0-9]")
BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}


def key_problem(spec: str) -> str | None:
    """Why ``spec`` is not a key Textual can bind ("ctrl+b", "f5", "escape,q"), or None."""
    if not spec or not spec.strip():
        return "is empty"
    for key in spec.split(","):
        parts = key.strip().lower().split("+")
        *mods, base = parts
        bad = [m for m in mods if m not in MODIFIERS]
        if bad:
            return f"{key.strip()!r}: unknown modifier {bad[0]!r} (use ctrl, shift, alt)"
        if not (base in NAMED_KEYS or _FKEY.fullmatch(base) or _CHAR.fullmatch(base)):
            return (f"{key.strip()!r}: unknown key {base!r} (a letter, a digit, f1-f24, or a "
                    "name such as escape, enter, tab, home, pageup)")
    return None


def keymap_problems(keys: Mapping[str, object]) -> list[str]:
    """One message per bad entry of ``ui.keys`` (action name -> key)."""
    problems = []
    for name, spec in keys.items():
        if name not in BY_NAME:
            problems.append(f"unknown action {name!r} (one of {', '.join(BY_NAME)})")
        elif not isinstance(spec, str):
            problems.append(f"{name}: the key must be a string like 'ctrl+b'")
        elif (problem := key_problem(spec)) is not None:
            problems.append(f"{name}: {problem}")
    return problems


def actions_with(keys: Mapping[str, str] | None = None) -> tuple[Action, ...]:
    """:data:`ACTIONS` with the user's ``ui.keys`` applied."""
    keys = keys or {}
    return tuple(replace(a, key=keys[a.name]) if a.name in keys else a for a in ACTIONS)


def display_key(spec: str) -> str:
    """A key as the help and hints show it: ``ctrl+b``, ``F1``, ``Esc``, ``+``."""
    shown = {"escape": "Esc", "plus": "+", "minus": "-", "pageup": "PgUp",
             "pagedown": "PgDn", "enter": "Enter"}
    out = []
    for key in spec.split(","):
        parts = key.strip().split("+")
        parts[-1] = shown.get(parts[-1], parts[-1].upper() if _FKEY.fullmatch(parts[-1])
                              else parts[-1])
        out.append("+".join(parts))
    return " / ".join(out)
