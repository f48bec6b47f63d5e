"""The package list in pyproject.toml is explicit (themes are mapped from the top level),
so a new subpackage that is not listed would silently be missing from ``pip install .``."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_subpackage_is_listed_in_pyproject():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "hybrid_tui").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    missing = found - listed
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


def test_shipped_themes_are_packaged():
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert mapping["package-dir"]["hybrid_tui.themes"] == "themes"
    assert "*.yaml" in mapping["package-data"]["hybrid_tui.themes"]
