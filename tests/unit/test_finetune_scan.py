"""Reading a project for fine-tune: the .gitignore matcher, the directory walk and its counts,
the profile's size budget, and the JSONL training set."""

from __future__ import annotations

import json
import os

import pytest

from hybrid_tui.finetune.dataset import write_dataset
from hybrid_tui.finetune.gitignore import GitIgnore, parse_line
from hybrid_tui.finetune.profile import build_profile
from hybrid_tui.finetune.scan import MAX_FILE_BYTES, scan


def ignores(text: str, path: str, is_dir: bool = False, base: str = "") -> bool:
    rules = GitIgnore()
    rules.add(text, base)
    return rules.ignored(path, is_dir)


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "expected"),
    [
        ("*.log", "debug.log", False, True),
        ("*.log", "deep/down/debug.log", False, True),
        ("*.log", "debug.log.txt", False, False),
        ("/build", "build", True, True),
        ("/build", "src/build", True, False),
        ("build/", "src/build", True, True),
        ("build/", "build", False, False),  # a file named build is not a directory
        ("doc/*.txt", "doc/notes.txt", False, True),
        ("doc/*.txt", "doc/server/notes.txt", False, False),  # * does not cross /
        ("doc/**/*.txt", "doc/server/api/notes.txt", False, True),
        ("doc/**/*.txt", "doc/notes.txt", False, True),  # **/ also matches no directory
        ("**/logs", "a/b/logs", True, True),
        ("logs/**", "logs/x/y.txt", False, True),
        ("logs/**", "logs", True, False),
        ("*.log\n!keep.log", "keep.log", False, False),
        ("!keep.log\n*.log", "keep.log", False, True),  # the last matching line wins
        ("file?.txt", "file1.txt", False, True),
        ("file?.txt", "file10.txt", False, False),
        ("[abc].py", "b.py", False, True),
        ("[!abc].py", "b.py", False, False),
        ("[!abc].py", "d.py", False, True),
        ("\\#notes", "#notes", False, True),
        ("# a comment\n\n", "# a comment", False, False),
        ("\\!important", "!important", False, True),
        ("trailing   ", "trailing", False, True),
        ("*", "anything/at/all", False, True),
    ],
)
def test_gitignore_patterns(patterns, path, is_dir, expected):
    assert ignores(patterns, path, is_dir) is expected


def test_a_nested_gitignore_applies_below_its_directory_and_overrides():
    rules = GitIgnore()
    rules.add("*.tmp\n")
    rules.add("!keep.tmp\n/local.txt\n", base="pkg")
    assert rules.ignored("other.tmp")
    assert rules.ignored("pkg/x.tmp")
    assert not rules.ignored("pkg/keep.tmp")
    assert rules.ignored("pkg/local.txt")
    assert not rules.ignored("local.txt")
    assert not rules.ignored("pkg/sub/local.txt")  # anchored to pkg/


def test_blank_and_comment_lines_are_not_rules():
    assert parse_line("") is None
    assert parse_line("   ") is None
    assert parse_line("# comment") is None
    rule = parse_line("!/src/*.py")
    assert rule is not None and rule.negated and rule.pattern == "src/*.py"


@pytest.fixture
def project(tmp_path):
    """A small project with things to skip."""
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text('"""The package."""\n')
    (root / "pkg" / "core.py").write_text(
        '"""Core logic."""\n\n\n'
        "def parse_order(line: str) -> dict:\n"
        '    """Turn one CSV line into an order."""\n'
        "    customer, item = line.split(',')\n"
        '    return {"customer": customer, "item": item}\n\n\n'
        "class OrderBook:\n"
        '    """Orders by customer."""\n\n'
        "    def add(self, line: str) -> None:\n"
        "        self.last = parse_order(line)\n"
    )
    (root / "pkg" / "cli.py").write_text(
        "from pkg.core import parse_order\n\n\n"
        "def main(argv: list[str]) -> int:\n"
        '    """Entry point."""\n'
        "    for line in argv:\n"
        "        print(parse_order(line))\n"
        "    return 0\n"
    )
    (root / "README.md").write_text("# Orders\n\nA tiny order parser for the shop.\n")
    (root / ".gitignore").write_text("secrets.env\nbuild/\n*.log\n")
    (root / "secrets.env").write_text("TOKEN=abc\n")
    (root / "debug.log").write_text("noise\n")
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("x = 1\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (root / "blob.dat").write_bytes(b"abc\x00def")
    (root / "huge.py").write_text("# big\n" * (MAX_FILE_BYTES // 6 + 10))
    (root / "node_modules").mkdir()
    (root / "node_modules" / "dep.js").write_text("module.exports = 1;\n")
    os.symlink(root / "pkg" / "core.py", root / "link.py")
    return root


def test_scan_reads_text_files_and_counts_every_skip(project):
    result = scan(project)
    paths = [f.path for f in result.files]
    assert paths == [".gitignore", "README.md", "pkg/__init__.py", "pkg/cli.py", "pkg/core.py"]
    # secrets.env, debug.log, build/, node_modules/ ignored; logo.png and blob.dat binary
    assert result.skipped["ignored"] == 4
    assert result.skipped["binary"] == 2
    assert result.skipped["too_large"] == 1
    assert result.skipped["symlink"] == 1
    summary = result.summary()
    assert "read 5 text files" in summary and "4 ignored" in summary and "2 binary" in summary


def test_scan_stops_at_the_file_limit(project):
    full = scan(project)
    result = scan(project, max_files=2)
    assert [f.path for f in result.files] == [f.path for f in full.files][:2]
    # every regular file after the limit is counted as not read, whatever it holds
    readable = len(full.files) + full.skipped["binary"] + full.skipped["too_large"]
    assert result.skipped["limit"] == readable - 2


def test_profile_names_languages_layout_conventions_and_key_apis(project):
    profile = build_profile(scan(project), name="orders")
    text = profile.text
    assert '"orders"' in text
    assert "A tiny order parser for the shop." in text
    assert "Python 100%" in text
    assert "pkg/" in text
    assert "4 spaces" in text
    # parse_order is used by another file, so it ranks above main
    assert text.index("def parse_order(line: str) -> dict") < text.index("def main(")
    assert "secrets" not in text and "TOKEN" not in text


@pytest.mark.parametrize("budget", [400, 900, 3000])
def test_profile_stays_within_its_budget(project, budget):
    profile = build_profile(scan(project), budget=budget)
    assert 0 < len(profile.text) <= budget


def test_dataset_is_chat_format_jsonl(project, tmp_path):
    stats = write_dataset(scan(project), tmp_path / "train.jsonl", name="orders")
    lines = (tmp_path / "train.jsonl").read_text().splitlines()
    assert stats.examples == len(lines) >= 2
    rows = [json.loads(line) for line in lines]
    for row in rows:
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert all(isinstance(m["content"], str) and m["content"] for m in row["messages"])
    answers = "\n".join(row["messages"][2]["content"] for row in rows)
    assert "def parse_order(line: str) -> dict:" in answers
    assert "class OrderBook:" in answers
