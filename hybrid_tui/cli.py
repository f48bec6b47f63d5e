"""Command line: argument parsing and the headless commands; the TUI is imported lazily.

``hybrid-tui`` opens the TUI; ``ask``, ``status`` and ``models`` run without it and never
import textual (start-up time). Exit codes: 0 ok, 1 no backend could answer, 2 usage or
config error, 130 interrupted. Errors are one line on stderr, never a traceback
(``HYBRID_TUI_DEBUG=1`` shows it for unexpected ones).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hybrid_tui import __version__
from hybrid_tui.errors import ConfigError, HybridError, UsageError

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
    parser.add_argument("--resume", action="store_true", help="reopen the last session")
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
                     help="add a text file as context (repeatable)")
    ask.add_argument("--json", action="store_true",
                     help="print every event as one JSON object per line, nothing else")
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
    return parser


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
    code = run_app(config=config, demo=args.demo, resume=args.resume)
    return code if isinstance(code, int) else 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "ask":
        from hybrid_tui.cli_ask import run_ask

        return run_ask(args)
    if args.command == "status":
        from hybrid_tui.cli_status import run_status

        return run_status(args)
    if args.command == "models":
        from hybrid_tui.cli_status import run_models

        return run_models(args)
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
