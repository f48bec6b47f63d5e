"""The chats from the shell (`sessions`, `export`) and per-prompt control in `ask` (@backend,
@path, --task-type/--complexity), through the real CLI against the simulators."""

from __future__ import annotations

import json

from hybrid_tui import locations
from hybrid_tui.chats import new_chat, save_turn_fields
from hybrid_tui.events import Decision, Done, Thinking, Token
from hybrid_tui.session import apply
from hybrid_tui.store import Store
from tests.integration.test_cli import run_cli, write_config

COMPLEX = "analyze this complex system architecture and plan a migration"


def _stored_chat(store: Store, name: str, prompts: list[tuple[str, str]]) -> None:
    session = new_chat(store, name)
    for prompt, backend in prompts:
        turn = session.new_turn(prompt, stamp="09:30:00")
        session.start(turn)
        for event in (Decision(backend, "m", "edit", "simple", "why"), Thinking("hmm"),
                      Token("answer to " + prompt),
                      Done(backend, "m", 5.0, 3, 10.0, 0.9, False, 50.0,
                           text="answer to " + prompt)):
            apply(session, event)
        turn.id = store.save_turn(session.id, None, **save_turn_fields(turn))


def test_sessions_lists_chats_and_export_writes_them(tmp_path):
    with Store(locations.store_file()) as store:
        _stored_chat(store, "refactor", [("split the module", "ollama")])
        _stored_chat(store, "quick [bold]fixes[/]", [("fix a typo", "lmstudio"),
                                                      ("and another", "lmstudio")])
    listed = run_cli("sessions", "--json")
    assert listed.returncode == 0, listed.stderr
    chats = json.loads(listed.stdout)
    assert [(c["name"], c["turns"], c["backends"]) for c in chats] == [
        ("quick [bold]fixes[/]", 2, ["lmstudio"]), ("refactor", 1, ["ollama"])]
    assert all(c["last_used"] >= c["created"] for c in chats)
    table = run_cli("sessions")
    assert table.returncode == 0 and "quick [bold]fixes[/]" in table.stdout  # never markup

    md = run_cli("export", "refactor")
    assert md.returncode == 0, md.stderr
    assert "split the module" in md.stdout and "answer to split the module" in md.stdout
    assert "<details><summary>thinking</summary>" in md.stdout  # folded away, but kept
    out = tmp_path / "chat.json"
    as_json = run_cli("export", "quick [bold]fixes[/]", "--format", "json", "-o", str(out))
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(out.read_text())
    assert data["schema"] == 3 and [t["prompt"] for t in data["turns"]] == [
        "fix a typo", "and another"]
    again = run_cli("export", "refactor", "-o", str(out))  # never over an existing file
    assert again.returncode == 2 and "exists" in again.stderr
    missing = run_cli("export", "nope")
    assert missing.returncode == 2 and "no chat called 'nope'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_ask_at_strong_forces_that_prompt_and_at_path_attaches_a_file(tmp_path, threaded_sims):
    lmstudio, ollama = threaded_sims.lmstudio, threaded_sims.ollama
    config = write_config(tmp_path, lmstudio=lmstudio.url, ollama=ollama.url)
    code = tmp_path / "snippet.py"
    code.write_text("def add(a, b):\n    return a + b\n")
    result = run_cli("--config", str(config), "ask", "--json",
                     f"@strong format this code: @{code}")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    decision = events[0]
    assert decision["event"] == "decision" and decision["backend"] == "ollama"
    assert decision["forced"]
    sent = ollama.requests[-1]["messages"][-1]["content"]
    assert f"File: {code}" in sent and "return a + b" in sent
    assert sent.rstrip().endswith(f"format this code: {code}")  # "@strong" taken off
    missing = run_cli("--config", str(config), "ask", "explain @nowhere/file.py")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_ask_can_set_the_task_type_and_complexity(tmp_path, threaded_sims):
    lmstudio, ollama = threaded_sims.lmstudio, threaded_sims.ollama
    config = write_config(tmp_path, lmstudio=lmstudio.url, ollama=ollama.url)
    result = run_cli("--config", str(config), "ask", "--json", "--task-type", "planning",
                     "--complexity", "complex", "rename x to y")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout.splitlines()[0])
    assert (decision["task_type"], decision["complexity"]) == ("planning", "complex")
    assert decision["backend"] == "ollama"
    assert decision["reason"].startswith("task type planning and complexity complex given")
    assert decision["signals"]["classifier_override"] == {"task_type": "planning",
                                                          "complexity": "complex"}
    bad = run_cli("--config", str(config), "ask", "--task-type", "poetry", "hi")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_a_bad_key_in_ui_keys_is_a_config_error(tmp_path):
    config = write_config(tmp_path, lmstudio="http://127.0.0.1:9", ollama="http://127.0.0.1:9",
                          extra="ui:\n  keys:\n    new_chat: ctrl+nothing\n")
    result = run_cli("--config", str(config), "status")
    assert result.returncode == 2
    assert "ui.keys.new_chat" in result.stderr and "unknown key 'nothing'" in result.stderr
    unknown = write_config(tmp_path, lmstudio="http://127.0.0.1:9",
                           ollama="http://127.0.0.1:9", extra="ui:\n  keys:\n    fly: f5\n")
    assert "unknown action 'fly'" in run_cli("--config", str(unknown), "status").stderr
