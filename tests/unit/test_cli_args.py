"""The CLI without servers: argument parsing, prompt/context input, --backend checks, output
sanitising, the summary line, event rendering and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hybrid_tui.cli import build_parser, main
from hybrid_tui.cli_ask import AskRenderer, read_context, read_prompt, resolve_force
from hybrid_tui.cli_output import summary_line
from hybrid_tui.config import default_config, load_config
from hybrid_tui.errors import UsageError
from hybrid_tui.events import Decision, Done, Error, Escalation, Fallback, Token
from hybrid_tui.safetext import TerminalSanitizer, strip_control

# --------------------------------------------------------------------------- parsing


def test_ask_arguments():
    args = build_parser().parse_args(
        ["ask", "format", "this", "--backend", "ollama", "--json", "--context", "a.py",
         "--context", "b.py", "--raw"])
    assert args.command == "ask"
    assert args.prompt == ["format", "this"]
    assert args.backend == "ollama"
    assert args.json and args.raw and not args.fast
    assert args.context == ["a.py", "b.py"]
    assert args.config is None


@pytest.mark.parametrize(
    "argv",
    [["--config", "x.yaml", "ask", "hi"], ["ask", "hi", "--config", "x.yaml"],
     ["--config", "x.yaml", "status"], ["models", "--config", "x.yaml"]],
)
def test_config_flag_before_or_after_the_command(argv):
    assert build_parser().parse_args(argv).config == "x.yaml"


def test_no_command_means_tui_with_global_flags():
    args = build_parser().parse_args(["--demo", "--resume"])
    assert args.command is None and args.demo and args.resume


@pytest.mark.parametrize(
    "argv",
    [["ask"], ["ask", "hi", "--fast", "--backend", "ollama"], ["ask", "hi", "--bogus"],
     ["frobnicate"], ["status", "extra"]],
    ids=["no-prompt", "fast-and-backend", "unknown-flag", "unknown-command", "extra-arg"],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_every_command_is_advertised(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("ask", "status", "models", "doctor", "benchmark", "fine-tune"):
        assert name in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("hybrid-tui 0.")


# --------------------------------------------------------------------------- prompt + context


def test_prompt_words_are_joined():
    assert read_prompt(["format", "this", "code"]) == "format this code"


def test_prompt_from_stdin_keeps_binary_as_text():
    prompt = read_prompt(["-"], stdin=io.BytesIO(b"fix \xff this\n\x01"))
    assert prompt == "fix \ufffd this\n\x01"


@pytest.mark.parametrize("words", [[""], ["   ", "\t"]])
def test_empty_prompt_is_a_usage_error(words):
    with pytest.raises(UsageError, match="empty"):
        read_prompt(words)


def test_empty_stdin_is_a_usage_error():
    with pytest.raises(UsageError, match="empty"):
        read_prompt(["-"], stdin=io.BytesIO(b" \n"))


def test_context_file(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("def f():\n    return 1\n", encoding="utf-8")
    assert read_context(str(path)) == (str(path), "def f():\n    return 1\n")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing.py", "not found"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "x.bin").write_bytes(b"\x7fELF\x00\x00") and p / "x.bin", "binary"),
    ],
    ids=["missing", "directory", "binary"],
)
def test_bad_context_file(tmp_path, make, expected):
    with pytest.raises(UsageError) as err:
        read_context(str(make(tmp_path)))
    assert expected in str(err.value)
    assert "context file" in str(err.value)


# --------------------------------------------------------------------------- --backend / --fast


def test_resolve_force():
    config = default_config(env={})
    assert resolve_force(config, None, False) is None
    assert resolve_force(config, None, True) == "fast"
    assert resolve_force(config, "ollama", False) == "ollama"
    assert resolve_force(config, "auto", False) == "auto"
    assert resolve_force(config, "strong", False) == "strong"


def test_unknown_backend_lists_the_names():
    with pytest.raises(UsageError) as err:
        resolve_force(default_config(env={}), "olama", False)
    assert "'olama'" in str(err.value)
    assert "lmstudio, ollama" in str(err.value)


def test_disabled_backend_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("backends:\n  lmstudio: {enabled: false}\n  ollama: {}\n")
    with pytest.raises(UsageError, match="disabled"):
        resolve_force(load_config(path, env={}), "lmstudio", False)


# --------------------------------------------------------------------------- exit codes in-process


def test_config_error_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("routing:\n  escalation_treshold: 0.5\n")
    assert main(["ask", "hi", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hybrid-tui: error: ")
    assert "escalation_treshold" in err and "escalation_threshold" in err
    assert len(err.splitlines()) == 1


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.yaml"), "status"]) == 2
    assert "not found" in capsys.readouterr().err


def test_empty_prompt_exits_2_before_reading_config(tmp_path, capsys):
    assert main(["ask", " ", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "empty" in capsys.readouterr().err


def test_unknown_backend_exits_2(capsys):
    assert main(["ask", "hi", "--backend", "nope"]) == 2
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_missing_context_exits_2(tmp_path, capsys):
    assert main(["ask", "hi", "--context", str(tmp_path / "gone.py")]) == 2
    assert "gone.py: not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- sanitising

HOSTILE = [
    ("clear", "a\x1b[2Jb", "ab"),
    ("colour", "\x1b[1;31mred\x1b[0m", "red"),
    ("title-bel", "x\x1b]0;pwned\x07y", "xy"),
    ("title-st", "x\x1b]2;pwned\x1b\\y", "xy"),
    ("osc8-link", "\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("dcs", "a\x1bP1$r0m\x1b\\b", "ab"),
    ("apc", "a\x1b_payload\x1b\\b", "ab"),
    ("c1-csi", "a\x9b2Jb", "ab"),
    ("c1-osc", "a\x9d0;t\x9cb", "ab"),
    ("reset", "a\x1bcb", "ab"),
    ("charset", "a\x1b(Bb", "ab"),
    ("bell-backspace-cr", "a\x07\x08b\r\nc", "ab\nc"),
    ("del-and-nul", "a\x7f\x00b", "ab"),
    ("keeps-text", "tabs\tand\nnewlines, üñí ✓ [bold red]x[/]", "tabs\tand\nnewlines, üñí ✓ "
     "[bold red]x[/]"),
    ("malformed-csi", "a\x1b[12\nb", "a\nb"),
    ("esc-esc", "a\x1b\x1b[31mb", "ab"),
]


@pytest.mark.parametrize(("text", "expected"), [h[1:] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_strip_control(text, expected):
    assert strip_control(text) == expected


def test_unterminated_control_string_gives_text_back_after_a_bound():
    text = "a\x1b]0;" + "x" * 5000 + "\nvisible"
    assert strip_control(text).endswith("visible")
    assert strip_control(text).startswith("a")


@given(st.lists(st.sampled_from([h[1] for h in HOSTILE]), max_size=6), st.data())
def test_any_split_gives_the_same_output(pieces, data):
    text = "".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    sanitizer = TerminalSanitizer()
    assert "".join(sanitizer.feed(c) for c in chunks) == strip_control(text)
    assert "\x1b" not in strip_control(text)


# --------------------------------------------------------------------------- rendering

DECISION = Decision(backend="lmstudio", model="qwen2.5-coder-7b", task_type="format",
                    complexity="simple", reason="format is a fast-tier task")


def done(backend="lmstudio", model="qwen2.5-coder-7b", **kw):
    values = dict(ttft_ms=120.0, tokens=10, tokens_per_s=55.5, confidence=0.9, escalated=False,
                  total_ms=300.0)
    values.update(kw)
    return Done(backend=backend, model=model, **values)


def test_summary_line_has_every_figure():
    line = summary_line(done(), DECISION)
    for part in ("lmstudio", "qwen2.5-coder-7b", "format is a fast-tier task", "TTFT 120 ms",
                 "55.5 tok/s", "confidence 0.90"):
        assert part in line


def test_summary_line_escalation_and_fallback():
    esc = Escalation(from_backend="lmstudio", to_backend="ollama", model="qwen2.5:72b",
                     confidence=0.3, threshold=0.7, reason="low confidence")
    fb = Fallback(from_backend="lmstudio", to_backend="ollama", model="m", reason="refused")
    line = summary_line(done("ollama", confidence=None, ttft_ms=None), DECISION, escalation=esc,
                        fallback=fb)
    assert "escalated from lmstudio" in line
    assert line.endswith("escalated from lmstudio · fallback from lmstudio")
    assert "TTFT –" in line and "confidence –" in line


def test_summary_line_strips_hostile_model_names():
    assert "\x1b" not in summary_line(done(model="m\x1b]0;t\x07"), None)


def test_renderer_streams_sanitised_text_and_exits_0(capsys):
    out = io.StringIO()
    r = AskRenderer(out)
    for ev in (DECISION, Token("hello \x1b[2J"), Token("\x1b]0;t"), Token("\x07world"), done()):
        r.handle(ev)
    assert out.getvalue() == "hello world\n"
    assert r.finish() == 0
    assert "lmstudio" in capsys.readouterr().err


def test_renderer_raw_keeps_control_sequences():
    out = io.StringIO()
    r = AskRenderer(out, raw=True)
    r.handle(Token("a\x1b[31mb\n"))
    r.handle(done())
    assert out.getvalue() == "a\x1b[31mb\n"


def test_renderer_error_exits_1_and_keeps_partial(capsys):
    out = io.StringIO()
    r = AskRenderer(out)
    r.handle(DECISION)
    r.handle(Token("partial"))
    r.handle(Error(message="lmstudio is down; start it", partial="partial"))
    assert r.finish() == 1
    assert out.getvalue() == "partial\n"
    assert "hybrid-tui: error: lmstudio is down; start it" in capsys.readouterr().err


def test_renderer_json_prints_only_json_lines(capsys):
    out = io.StringIO()
    r = AskRenderer(out, as_json=True)
    events = [DECISION, Token("x\x1b[2J"), done()]
    for ev in events:
        r.handle(ev)
    assert r.finish() == 0
    lines = out.getvalue().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["decision", "token", "done"]
    assert json.loads(lines[1])["text"] == "x\x1b[2J"  # JSON escapes it; the consumer decides
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- start-up cost


def test_ask_help_does_not_import_textual_or_httpx():
    code = (
        "import sys, contextlib, io\n"
        "import hybrid_tui.cli as cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['ask', '--help'])\n"
        "print(sorted(m for m in ('textual', 'httpx', 'rich', 'yaml') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the TUI entry


def test_no_command_opens_the_tui_with_config_and_flags(tmp_path, monkeypatch):
    """The wiring only: a stand-in ``hybrid_tui.ui.app`` records how it was called."""
    import types

    calls = []
    fake = types.ModuleType("hybrid_tui.ui.app")
    fake.run_app = lambda **kw: calls.append(kw) or 0
    monkeypatch.setitem(sys.modules, "hybrid_tui.ui.app", fake)
    path = tmp_path / "c.yaml"
    path.write_text("ui: {theme: hybrid-light}\n")
    assert main(["--config", str(path), "--demo", "--resume"]) == 0
    [call] = calls
    assert call["config"].ui.theme == "hybrid-light"
    assert call["demo"] is True and call["resume"] is True


def test_missing_tui_is_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hybrid_tui.ui.app", None)  # import now fails
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "terminal UI is not available" in err and len(err.strip().splitlines()) == 1


def test_unexpected_error_is_one_line_with_debug_hint(monkeypatch, capsys):
    import types

    fake = types.ModuleType("hybrid_tui.ui.app")

    def broken(**kw):
        raise RuntimeError("boom")

    fake.run_app = broken
    monkeypatch.setitem(sys.modules, "hybrid_tui.ui.app", fake)
    monkeypatch.delenv("HYBRID_TUI_DEBUG", raising=False)
    assert main([]) == 1
    err = capsys.readouterr().err
    assert "unexpected RuntimeError: boom" in err and "HYBRID_TUI_DEBUG=1" in err
    assert "Traceback" not in err
    monkeypatch.setenv("HYBRID_TUI_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main([])


# --------------------------------------------------------------------------- status table


@pytest.mark.parametrize("width", [80, 160])
def test_status_table_holds_every_backend_at_any_width(width):
    from rich.console import Console

    from hybrid_tui.cli_status import backend_record, status_table

    config = default_config(env={})
    records = [backend_record(b, None) for b in config.backends.values()]
    console = Console(width=width, record=True, color_system=None)
    console.print(status_table(records, width=width))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= width
    for name in ("lmstudio", "ollama", "unknown", "http://localhost:11434"):
        assert name in text
    assert ("kind" in text) == (width >= 120)  # narrow: kind and tier stack under the name


def test_status_record_warns_about_plain_http_to_another_machine(tmp_path):
    from hybrid_tui.cli_status import backend_record

    path = tmp_path / "c.yaml"
    path.write_text("backends:\n  box: {kind: ollama, endpoint: 'http://gpu-box:11434'}\n")
    [record] = [backend_record(b, None) for b in load_config(path, env={}).backends.values()]
    assert record["warnings"] and "unencrypted" in record["warnings"][0]
    local = backend_record(default_config(env={}).backends["ollama"], None)
    assert local["warnings"] == []


def test_session_and_resume_reach_the_app(monkeypatch):
    import hybrid_tui.ui.app as app_module
    from hybrid_tui.cli import build_parser, main

    seen: dict = {}
    monkeypatch.setattr(app_module, "run_app",
                        lambda config, **kw: seen.update(kw) or 0)
    assert main(["--session", "refactor"]) == 0
    assert seen["session"] == "refactor" and not seen["resume"]
    assert main(["--resume"]) == 0 and seen["resume"] and seen["session"] is None
    with pytest.raises(SystemExit) as stop:  # one or the other
        build_parser().parse_args(["--resume", "--session", "x"])
    assert stop.value.code == 2
