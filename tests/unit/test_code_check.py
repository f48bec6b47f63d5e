"""The code check: Python compiled (never run), JSON/YAML/TOML parsed, brackets balanced,
fences closed; and how a failed check moves the confidence score."""

from __future__ import annotations

import pytest

from hybrid_tui.router.code_check import (
    CHECK_LIMIT,
    bracket_problem,
    check_block,
    check_code,
    extract_blocks,
    json_problem,
)
from hybrid_tui.router.score import BASE, score, score_reply


def block(tag: str, body: str) -> str:
    return f"Here you are:\n\n```{tag}\n{body}\n```\n"


# -- Python ---------------------------------------------------------------------------------


def test_python_compiles_or_says_where_it_breaks() -> None:
    assert check_block("python", "def f(x):\n    return x + 1\n").ok is True
    bad = check_block("py", "def f(x:\n    return x\n")
    assert bad.ok is False and bad.check == "compile" and bad.problem.startswith("line 1")
    assert bad.label == "Python"


def test_python_is_never_executed(tmp_path) -> None:
    marker = tmp_path / "ran"
    source = f"open({str(marker)!r}, 'w').write('x')\nimport os\nos.system('true')\n"
    assert check_block("python", source).ok is True
    assert not marker.exists()


def test_an_interactive_session_is_checked_as_typed() -> None:
    session = ">>> xs = [3, 1, 2]\n>>> sorted(xs)\n[1, 2, 3]\n>>> for x in xs:\n...     print(x)\n"
    assert check_block("pycon", session).ok is True
    assert check_block("python", ">>> def f(:\n").ok is False


# -- data formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ('{"a": [1, 2, {"b": null}]}', True),
        ('{"a": 1,}', True),  # a trailing comma: readers accept it
        ('{\n  // the port\n  "port": 8080\n}', True),  # comments too
        ('{"a": 1}\n{"a": 2}\n', True),  # JSON Lines
        ('{"a": 1', False),
        ("{'a': 1}", False),
        ('{"a": tru}', False),
    ],
)
def test_json(text: str, ok: bool) -> None:
    assert (json_problem(text) is None) is ok
    verdict = check_block("json", text)
    assert verdict.ok is ok and verdict.check == "parse"


def test_a_json_excerpt_is_not_failed() -> None:
    excerpt = '{\n  "name": "app",\n  ...\n}'
    assert check_block("json", excerpt).ok is None


def test_yaml_and_toml() -> None:
    assert check_block("yaml", "a: 1\nb:\n  - x\n  - y\n---\nc: 2\n").ok is True
    bad = check_block("yml", "a: [1, 2\nb: 3\n")
    assert bad.ok is False and bad.label == "YAML"
    assert check_block("toml", '[tool.x]\nname = "y"\nlist = [1, 2]\n').ok is True
    bad = check_block("toml", "[tool.x\nname = 1\n")
    assert bad.ok is False and bad.label == "TOML"


def test_yaml_is_parsed_safely() -> None:
    hostile = "!!python/object/apply:os.system ['echo pwned']\n"
    assert check_block("yaml", hostile).ok is False  # refused, not run


# -- brackets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "body", "ok"),
    [
        ("javascript", "function f(a) {\n  return [a, {b: 1}];\n}", True),
        ("js", "const s = 'a ( in a string';\nconst t = `x ${y} ]`;\n", True),
        ("js", "// a comment with ( and {\nf();", True),
        ("js", "str.replace(/\\(/g, '');", True),  # an escaped bracket in a regex
        ("ts", "function f(a: number {\n  return a;\n}", False),
        ("rust", "fn longest<'a>(x: &'a str) -> &'a str {\n    let c = '{';\n    x\n}", True),
        ("rust", "fn main() {\n    println!(\"hi\");\n", False),
        ("go", "func f() {\n\ts := `raw ( string`\n\t_ = s\n}", True),
        ("c", "int main(void) {\n  char c = '}';\n  /* ( */ return 0;\n}", True),
        ("java", "class A { void f() { g(]; } }", False),
        ("swift", 'let s = """\n  a ( b\n  """\nprint(s)', True),
        ("css", ".a { background: url(http://x/y.png); }", True),
        ("sql", "SELECT count(*) FROM t WHERE name = 'a (b'; -- (", True),
        ("sql", "SELECT count(* FROM t;", False),
    ],
)
def test_brackets(tag: str, body: str, ok: bool) -> None:
    verdict = check_block(tag, body)
    assert verdict.check == "brackets"
    assert verdict.ok is ok, verdict.problem


def test_bracket_problem_names_the_line() -> None:
    assert bracket_problem("f(\n  x\n") == "line 1: '(' is never closed"
    assert bracket_problem("a\nb)\n") == "line 2: unexpected ')'"
    assert bracket_problem('x = "open\n') == "line 1: unterminated string"


def test_excerpts_and_other_languages_are_not_judged() -> None:
    excerpt = "function f() {\n  // ... rest of the code unchanged\n  g();\n  }\n}"
    assert check_block("js", excerpt).ok is None
    for tag in ("bash", "diff", "text", "html", "", "markdown"):
        assert check_block(tag, "case $x in a) echo ( ;; esac").ok is None
    assert check_block("python", "   \n").ok is None
    assert check_block("python", "x = (\n" * (CHECK_LIMIT // 5)).ok is None  # too large


# -- the whole reply ----------------------------------------------------------------------------


def test_blocks_fences_and_verdict() -> None:
    reply = block("python", "x = 1") + block("json", '{"a": 1}') + "```bash\nls\n```\n"
    blocks, closed = extract_blocks(reply)
    assert [t for t, _ in blocks] == ["python", "json", "bash"] and closed
    check = check_code(reply)
    assert check.verdict == "ok" and len(check.checked) == 2 and not check.failures
    unclosed = check_code("```python\nx = 1\n")
    assert unclosed.verdict == "failed" and not unclosed.fences_closed
    assert check_code("no code here").verdict is None
    assert check_code(block("bash", "ls")).verdict is None


def test_a_failed_check_lowers_confidence_under_the_threshold() -> None:
    good, _ = score(block("json", '{"port": 8080}'), task_type="edit")
    bad, notes = score(block("json", '{"port": 8080'), task_type="edit")
    assert good == BASE and bad < 0.7 <= good
    assert any(n.startswith("JSON block does not parse: line 2: Expecting") for n in notes)
    _, notes = score(block("rust", "fn main() {"), task_type="edit")
    assert any(n.startswith("rust block does not balance: line 1") for n in notes)
    scored = score_reply(block("yaml", "a: [1"), task_type="edit")
    assert scored.code.verdict == "failed" and scored.confidence < 0.7


def test_hostile_input_never_raises() -> None:
    deep = "```js\n" + "(" * 20000 + ")" * 20000 + "\n```\n"
    assert check_code(deep).verdict == "ok"
    for tag in ("python", "json", "yaml", "toml", "c"):
        check_block(tag, "\x00\x1b[2J" + "[" * 3000)
    assert check_block("json", "[" * 100_000).ok is None  # over the size limit
