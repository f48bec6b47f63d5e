"""One measurement in a fresh interpreter: ``python -m benchmarks.child MODULE:FUNC JSON``.

Textual keeps rendering caches (strips, styles) at module level after an app has closed,
about 40,000 objects per 5,000-token app, so in one process every app run leaves a bigger
heap for the next one's full garbage collections to walk: later runs would pause longer than
earlier ones for reasons that have nothing to do with them. Each app run of the tui, ttft
and responsive rows therefore runs here, in its own process: ``FUNC`` is an ``async``
function taking JSON-able keyword arguments and returning a JSON-able result, printed as
the last line of stdout.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
from typing import Any

from benchmarks.common import ROOT
from benchmarks.simproc import child_env


def run_child(target: str, *, timeout: float = 900.0, **kwargs: Any) -> Any:
    """``await MODULE.FUNC(**kwargs)`` in a child process; its result."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", target, json.dumps(kwargs)],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{target} failed ({done.returncode}): "
                           f"{done.stderr.strip()[-600:]}")
    return json.loads(lines[-1])


def main(argv: list[str]) -> int:
    target, args = argv[0], json.loads(argv[1])
    module, _, name = target.partition(":")
    func = getattr(importlib.import_module(module), name)
    print(json.dumps(asyncio.run(func(**args))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
