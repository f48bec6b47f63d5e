"""The generation keys of a backend (options, system_prompt, system_prompt_file, think):
what a good file gives, and every bad value through the command line: exit 2, one line on
stderr naming the file and the key, nothing sent."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hybrid_tui.cli import main
from hybrid_tui.config import DEFAULT_OPTIONS, load_config, parse_config_text
from hybrid_tui.generation import ChatSettings, GenerationOptions


def ollama(body: str) -> str:
    return "backends:\n  ollama:\n" + "".join(f"    {line}\n" for line in body.splitlines())


def lmstudio(body: str) -> str:
    return "backends:\n  lmstudio:\n" + "".join(f"    {line}\n" for line in body.splitlines())


CASES = [
    # (id, file content, the key named, words of the problem)
    ("options-scalar", ollama("options: 3"), "backends.ollama.options", "expected a mapping"),
    ("options-unknown", ollama("options:\n  temprature: 1"), "backends.ollama.options",
     "unknown key 'temprature' (did you mean 'temperature'?)"),
    ("temperature-type", ollama("options:\n  temperature: warm"),
     "backends.ollama.options.temperature", "expected a number, got a string ('warm')"),
    ("temperature-range", ollama("options:\n  temperature: 3"),
     "backends.ollama.options.temperature", "must be between 0 and 2, got 3"),
    ("top-p-type", lmstudio("options:\n  top_p: [1]"), "backends.lmstudio.options.top_p",
     "expected a number, got a list"),
    ("top-p-range", lmstudio("options:\n  top_p: 1.5"), "backends.lmstudio.options.top_p",
     "must be greater than 0 and at most 1, got 1.5"),
    ("max-tokens-type", ollama("options:\n  max_tokens: lots"),
     "backends.ollama.options.max_tokens", "expected a whole number"),
    ("max-tokens-range", ollama("options:\n  max_tokens: 0"),
     "backends.ollama.options.max_tokens", "must be between 1 and 1,000,000, got 0"),
    ("seed-type", lmstudio("options:\n  seed: 1.5"), "backends.lmstudio.options.seed",
     "expected a whole number, got a number (1.5)"),
    ("seed-range", lmstudio("options:\n  seed: -4"), "backends.lmstudio.options.seed",
     "must be between 0 and"),
    ("stop-type", ollama("options:\n  stop: {a: 1}"), "backends.ollama.options.stop",
     "expected a list of strings, got a mapping"),
    ("stop-item", ollama("options:\n  stop: [END, 3]"), "backends.ollama.options.stop[1]",
     "expected a non-empty string, got a number (3)"),
    ("stop-range", ollama("options:\n  stop: [" + ", ".join(["x"] * 17) + "]"),
     "backends.ollama.options.stop", "at most 16 stop strings, got 17"),
    ("num-ctx-type", ollama("options:\n  num_ctx: big"), "backends.ollama.options.num_ctx",
     "expected a whole number"),
    ("num-ctx-range", ollama("options:\n  num_ctx: 64"), "backends.ollama.options.num_ctx",
     "must be between 256 and 16,777,216, got 64"),
    ("num-ctx-openai", lmstudio("options:\n  num_ctx: 8192"),
     "backends.lmstudio.options.num_ctx", "only an Ollama backend takes this"),
    ("keep-alive-type", ollama("options:\n  keep_alive: true"),
     "backends.ollama.options.keep_alive", "expected a number, got a boolean (true)"),
    ("keep-alive-value", ollama("options:\n  keep_alive: a while"),
     "backends.ollama.options.keep_alive", "expected a duration such as 5m"),
    ("keep-alive-openai", lmstudio("options:\n  keep_alive: 5m"),
     "backends.lmstudio.options.keep_alive", "only an Ollama backend takes this"),
    ("system-prompt-type", ollama("system_prompt: [be, nice]"), "backends.ollama.system_prompt",
     "expected text, got a list"),
    ("system-prompt-both", ollama("system_prompt: hi\nsystem_prompt_file: p.txt"),
     "backends.ollama.system_prompt_file", "not both"),
    ("system-prompt-file-type", ollama("system_prompt_file: 3"),
     "backends.ollama.system_prompt_file", "expected a string, got a number (3)"),
    ("system-prompt-file-missing", ollama("system_prompt_file: nowhere.txt"),
     "backends.ollama.system_prompt_file", "file not found"),
    ("think-type", ollama("think: 1"), "backends.ollama.think",
     "expected true, false, low, medium, high; got a number (1)"),
    ("think-level", lmstudio("think: max"), "backends.lmstudio.think",
     "expected true, false, low, medium, high; got a string ('max')"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "problem"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_bad_generation_key_exits_2_naming_it(tmp_path, capsys, text, key, problem) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["ask", "hello", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1, err
    assert err.startswith(f"hybrid-tui: error: {path}: {key}: "), err
    assert problem in err, err


def test_a_real_process_says_it_in_one_line(tmp_path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(ollama("options:\n  temperature: 9"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "hybrid_tui", "ask", "hi", "--config",
                             str(path)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"hybrid-tui: error: {path}: backends.ollama.options.temperature: must be between 0 "
        "and 2, got 9 (line 4)"]


def test_the_built_in_backends_ask_for_the_seed_values() -> None:
    config = parse_config_text("", env={})
    for backend in config.backends.values():
        assert backend.options == DEFAULT_OPTIONS == GenerationOptions(temperature=0.1,
                                                                       max_tokens=2048)
        assert backend.settings == ChatSettings(DEFAULT_OPTIONS, None, None)


def test_every_generation_key_is_read(tmp_path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "review.md").write_text("\ufeffReview like a senior.\n",
                                                    encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(
        "backends:\n"
        "  ollama:\n"
        "    options: {temperature: 0.4, top_p: 0.95, max_tokens: 512, seed: 42,\n"
        "              stop: '###', num_ctx: 16384, keep_alive: 30m}\n"
        "    system_prompt_file: prompts/review.md\n"
        "    think: true\n"
        "  lmstudio:\n"
        "    options: {}\n"
        "    system_prompt: ''\n"
        "    think: Medium\n", encoding="utf-8")
    config = load_config(path, env={})
    ol, lm = config.backends["ollama"], config.backends["lmstudio"]
    assert ol.options == GenerationOptions(temperature=0.4, top_p=0.95, max_tokens=512, seed=42,
                                           stop=("###",), num_ctx=16384, keep_alive="30m")
    assert (ol.system_prompt, ol.think) == ("Review like a senior.", True)
    # given options replace the defaults: nothing is sent that the file does not ask for
    assert lm.options == GenerationOptions()
    assert (lm.system_prompt, lm.think) == ("", "medium")


def test_the_example_file_documents_the_generation_keys() -> None:
    from tests.unit.test_config import REPO

    text = (REPO / "config.example.yaml").read_text(encoding="utf-8")
    for key in ("options:", "temperature: 0.1", "max_tokens: 2048", "# top_p:", "# seed:",
                "# stop:", "# num_ctx:", "# keep_alive:", "# system_prompt:",
                "system_prompt_file", "# think:", "reasoning_effort"):
        assert key in text, key
