"""``python -m benchmarks [NAME ...] [--quick] [--json] [--runs N] [--markdown]
[--oterm-venv PATH] [--no-oterm-install]``.

Runs the named rows (default: all but the opt-in ones), prints a table per row as it
finishes, and with ``--json`` one JSON object with every figure, its target and whether it
was met as the last line of stdout. Exit 0 when every row ran (targets missed or not:
timing is reported, never asserted), 1 when a row failed to run, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback

from benchmarks import OPT_IN, ROWS
from benchmarks.common import Row, Settings, markdown, report, say, table
from benchmarks.simproc import scratch_dirs


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure hybrid-tui against its targets in BENCHMARKS.md (simulators on "
        "loopback; nothing leaves the machine).",
    )
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"rows to run (default all): {', '.join(ROWS)}; opt-in, only when "
                   f"named: {', '.join(OPT_IN)}")
    p.add_argument("--quick", action="store_true",
                   help="small sizes and 2 runs: proves the suite works (CI), figures rough")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with every figure as the last line")
    p.add_argument("--runs", type=int, metavar="N", help="timed runs after the warm-up")
    p.add_argument("--markdown", action="store_true",
                   help="also print every figure as a Markdown table (for BENCHMARKS.md)")
    p.add_argument("--oterm-venv", metavar="PATH",
                   help="the oterm row's venv for oterm 0.26.1 (default: under the user "
                   "cache dir); the row pip-installs oterm there when it is missing")
    p.add_argument("--no-oterm-install", action="store_true",
                   help="never install oterm: the oterm row is skipped when it is missing")
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in ROWS + OPT_IN]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; choose from "
                f"{', '.join(ROWS + OPT_IN)}")
    return args


def run_row(name: str, settings: Settings) -> Row:
    """One benchmark; a failure becomes the row's ``error`` (the suite goes on)."""
    say(f"-- {name} …")
    start = time.perf_counter()
    try:
        row: Row = importlib.import_module(f"benchmarks.{name}").run(settings)
    except Exception as exc:
        say(traceback.format_exc())
        row = Row(name, "failed to run", error=f"{type(exc).__name__}: {exc}")
    row.seconds = time.perf_counter() - start
    return row


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    settings = Settings(quick=args.quick, runs_override=args.runs,
                        oterm_venv=args.oterm_venv, oterm_install=not args.no_oterm_install)
    scratch_dirs()
    rows = []
    for name in args.names or ROWS:
        row = run_row(name, settings)
        rows.append(row)
        print(table(row), flush=True)
    result = report(rows, settings, argv)
    missed = [f"{r.name}: {f.name}" for r in rows for f in r.figures if r.met(f) is False]
    print(f"\n{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""),
          flush=True)
    if args.markdown:
        print("\n" + markdown(result), flush=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
