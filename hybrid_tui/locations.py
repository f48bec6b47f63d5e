"""Every path the app uses, in one place. Nothing is created at import time."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "hybrid-tui"


def config_dir() -> Path:
    """User config dir (``config.yaml``, ``themes/``). ``HYBRID_TUI_CONFIG_DIR`` overrides."""
    override = os.environ.get("HYBRID_TUI_CONFIG_DIR")
    return Path(override) if override else user_config_path(APP)


def data_dir() -> Path:
    """User data dir (SQLite stores, exports). ``HYBRID_TUI_DATA_DIR`` overrides (tests)."""
    override = os.environ.get("HYBRID_TUI_DATA_DIR")
    return Path(override) if override else user_data_path(APP)


def config_file() -> Path:
    return config_dir() / "config.yaml"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def store_file() -> Path:
    """The SQLite database: routing outcomes and transcripts."""
    return data_dir() / "hybrid-tui.sqlite3"


def ensure_data_dir() -> Path:
    """The data dir, created (or tightened) so only its owner can read what is in it."""
    from hybrid_tui.private_files import private_dir

    return private_dir(data_dir())


def builtin_themes_dir() -> Path:
    """Shipped YAML themes: repo ``themes/``, installed as ``hybrid_tui.themes``."""
    import importlib.util

    spec = importlib.util.find_spec("hybrid_tui.themes")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "themes"
