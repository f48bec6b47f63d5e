"""@backend and @path in prompts, reading attached files, completing paths; the key table."""

from __future__ import annotations

import pytest

from hybrid_tui.attachments import (
    MAX_ATTACHMENT_BYTES,
    AttachmentError,
    common_prefix,
    complete_path,
    parse_prompt,
    read_attachment,
)
from hybrid_tui.keymap import ACTIONS, actions_with, key_problem, keymap_problems

BACKENDS = ("lmstudio", "ollama")


def test_a_leading_backend_or_tier_forces_the_prompt_and_is_taken_off(tmp_path):
    for typed, force in (("@strong explain this", "strong"), ("@FAST  explain this", "fast"),
                         ("  @ollama explain this", "ollama")):
        parsed = parse_prompt(typed, BACKENDS, cwd=tmp_path)
        assert (parsed.text, parsed.force, parsed.paths) == ("explain this", force, ())
    # not first, or not a backend: plain text
    assert parse_prompt("explain @strong", BACKENDS, cwd=tmp_path).force is None
    assert parse_prompt("@dataclass\nclass A: ...", BACKENDS, cwd=tmp_path).text == (
        "@dataclass\nclass A: ...")


def test_at_path_attaches_existing_files_and_refuses_missing_ones(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("x = 1\n")
    parsed = parse_prompt("@strong explain @src/app.py, then @src/app.py again", BACKENDS,
                          cwd=tmp_path)
    assert parsed.force == "strong"
    assert parsed.text == "explain src/app.py, then src/app.py again"
    assert parsed.paths == ("src/app.py",)
    with pytest.raises(AttachmentError, match=r"src/missing\.py: no such file"):
        parse_prompt("look at @src/missing.py", BACKENDS, cwd=tmp_path)
    # an e-mail address or a decorator is not a file
    assert parse_prompt("mail me@host.org", BACKENDS, cwd=tmp_path).paths == ()


def test_reading_an_attachment_checks_size_and_binary(tmp_path):
    good = tmp_path / "a.py"
    good.write_text("def f():\n    return 1\n")
    attachment = read_attachment("a.py", cwd=tmp_path)
    assert (attachment.path, attachment.size) == ("a.py", good.stat().st_size)
    (tmp_path / "big.txt").write_bytes(b"x" * (MAX_ATTACHMENT_BYTES + 1))
    (tmp_path / "bin").write_bytes(b"\x7fELF\x00\x01")
    for name, said in (("big.txt", "larger than the limit"), ("bin", "binary"),
                       ("nope", "not found"), (".", "is a directory")):
        with pytest.raises(AttachmentError, match=said):
            read_attachment(name, cwd=tmp_path)


def test_completion_respects_gitignore_and_hidden_files(tmp_path):
    (tmp_path / ".gitignore").write_text("build/\n*.log\n")
    for name in ("src/app.py", "src/api.py", "build/out.py", "debug.log", ".env", "setup.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert complete_path("", cwd=tmp_path) == ["setup.py", "src/"]
    assert complete_path("src/a", cwd=tmp_path) == ["src/api.py", "src/app.py"]
    assert complete_path("b", cwd=tmp_path) == []
    assert complete_path(".e", cwd=tmp_path) == [".env"]
    assert common_prefix(["src/api.py", "src/app.py"]) == "src/ap"


def test_the_key_table_spells_each_key_once_and_checks_remaps():
    keys = [a.key for a in ACTIONS]
    assert len(keys) == len(set(keys)) and len({a.name for a in ACTIONS}) == len(ACTIONS)
    assert key_problem("ctrl+b") is None and key_problem("f12") is None
    assert key_problem("escape,q") is None
    assert "unknown key" in (key_problem("ctrl+nope") or "")
    assert "unknown modifier" in (key_problem("hyperctrl+b") or "")
    assert keymap_problems({"new_chat": "ctrl+x"}) == []
    assert "unknown action" in keymap_problems({"launch": "f5"})[0]
    remapped = {a.name: a.key for a in actions_with({"new_chat": "f6"})}
    assert remapped["new_chat"] == "f6" and remapped["help"] == "f1"


def test_the_example_config_names_every_action():
    from pathlib import Path

    from hybrid_tui.keymap import BY_NAME

    text = (Path(__file__).parent.parent.parent / "config.example.yaml").read_text()
    listed = text.split("Names:", 1)[1].split(". Keys as", 1)[0]
    names = {n.strip(" #\n") for n in listed.replace("\n", " ").split(",")}
    assert {n.strip() for n in names} == set(BY_NAME)
