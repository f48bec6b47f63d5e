"""The README's "Teams: several hosts" examples are valid: each hybrid-tui config loads, and
the LiteLLM config has the shape ``litellm --config`` reads (the real proxy runs on such a
config in ``tests/real_server/test_litellm.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hybrid_tui.config import load_config

README = Path(__file__).resolve().parents[2] / "README.md"


def team_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Teams: several hosts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def test_the_hybrid_tui_examples_load(tmp_path):
    configs = [b for b in team_blocks() if not b.startswith("# litellm")]
    assert len(configs) == 2
    names = []
    for i, block in enumerate(configs):
        path = tmp_path / f"config{i}.yaml"
        path.write_text(block, encoding="utf-8")
        names.append(list(load_config(path, env={}).backends))
    assert names == [["gpu-a", "gpu-b", "laptop"], ["team"]]
    team = load_config(path, env={}).backends["team"]
    assert team.kind == "openai" and team.api_key_env == "TEAM_KEY"


def test_the_litellm_example_lists_one_alias_over_two_hosts():
    (block,) = [b for b in team_blocks() if b.startswith("# litellm")]
    proxy = yaml.safe_load(block)
    aliases = [row["model_name"] for row in proxy["model_list"]]
    assert aliases == ["team-coder", "team-coder", "team-strong"]
    assert proxy["general_settings"]["master_key"].startswith("sk-")
