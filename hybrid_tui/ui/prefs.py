"""Small UI state remembered between runs (the chosen theme), in ``config_dir()/ui-state.json``.

Kept apart from ``config.yaml`` on purpose: the app never rewrites the user's config file.
Precedence for the theme: a choice made in the app wins, until the user edits ``ui.theme`` in
the config to something else (then the config wins again).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from hybrid_tui import locations


def state_file() -> Path:
    return locations.config_dir() / "ui-state.json"


@dataclass(slots=True)
class UIState:
    """What the app remembers. ``config_theme`` is ``ui.theme`` as it was when chosen."""

    theme: str | None = None
    config_theme: str | None = None

    def theme_for(self, configured: str) -> str:
        """The theme to start with, given the config's ``ui.theme``."""
        if self.theme and self.config_theme == configured:
            return self.theme
        return configured


def load_state(path: Path | None = None) -> UIState:
    """The remembered state; a missing or unreadable file is an empty state, never an error."""
    path = path or state_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return UIState()
    if not isinstance(data, dict):
        return UIState()
    return UIState(
        theme=data.get("theme") if isinstance(data.get("theme"), str) else None,
        config_theme=(
            data.get("config_theme") if isinstance(data.get("config_theme"), str) else None
        ),
    )


def save_state(state: UIState, path: Path | None = None) -> None:
    """Write atomically (temp file + rename); raises OSError if the directory is unusable."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
