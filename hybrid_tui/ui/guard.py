"""No traceback on screen: an exception in one of our handlers becomes a notification and a
log record, and the app carries on.

Textual ends the app on any exception that escapes a message handler, an action or a worker
started with ``exit_on_error=True``, and prints the traceback to the terminal. We do not
override that (it is private machinery); instead every handler and action of ours is wrapped
in :func:`guarded`, and every worker runs with ``exit_on_error=False`` and reports through
:func:`report` (``HybridApp.on_worker_state_changed``).

``run_app`` also sends the package's log records to a file (:func:`log_to_file`), so "see the
log" names a real place.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, TypeVar

from hybrid_tui import locations
from hybrid_tui.private_files import create_private, private_dir
from hybrid_tui.safetext import excerpt

log = logging.getLogger("hybrid_tui.ui")

F = TypeVar("F", bound=Callable[..., Any])
LOG_NAME = "hybrid-tui.log"
LOG_BYTES = 1_000_000


def log_file() -> Path:
    return locations.data_dir() / LOG_NAME


def report(node: Any, what: str, exc: BaseException) -> None:
    """Log ``exc`` with its traceback and tell the user in one line."""
    log.error("%s failed", what, exc_info=exc)
    app = getattr(node, "app", node)
    message = f"{what} failed: {type(exc).__name__}: {exc}"
    try:
        app.notify(excerpt(message, 300) + f" (details in {log_file()})", title="Error",
                   severity="error", markup=False, timeout=15)
    except Exception:  # no app to tell (shutting down): the log has it
        log.exception("could not show an error notification")


def guarded(handler: F) -> F:
    """``handler`` (a method: event handler or action, sync or async) with its exceptions
    turned into :func:`report`. Cancellation passes through."""
    what = handler.__name__.removeprefix("_").removeprefix("action_").replace("_", " ")

    if inspect.iscoroutinefunction(handler):

        @functools.wraps(handler)
        async def run_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await handler(self, *args, **kwargs)
            except Exception as exc:
                report(self, what, exc)
                return None

        return run_async  # type: ignore[return-value]

    @functools.wraps(handler)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as exc:
            report(self, what, exc)
            return None

    return run  # type: ignore[return-value]


def log_to_file() -> Path | None:
    """Append the package's warnings and errors to :func:`log_file` (rotated at 1 MB).
    Returns the path, or None when the file cannot be opened (nothing is logged then)."""
    path = log_file()
    try:
        create_private(private_dir(path.parent) / path.name)
        handler = RotatingFileHandler(path, maxBytes=LOG_BYTES, backupCount=1,
                                      encoding="utf-8")
    except OSError:
        return None
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("hybrid_tui").addHandler(handler)
    return path
