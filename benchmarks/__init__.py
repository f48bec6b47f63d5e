"""The hybrid-tui benchmark suite: ``python -m benchmarks [NAME ...] [--quick] [--json]``.

One module per row (BENCHMARKS.md lists them with their targets), each with
``run(settings) -> Row``; shared pieces
in :mod:`benchmarks.common` (figures, statistics, machine facts, output),
:mod:`benchmarks.simproc` (the simulators in a child process), :mod:`benchmarks.replay`,
:mod:`benchmarks.proxy` and :mod:`benchmarks.appkit` (instruments). Run from the repository
root; it is not an installed package. Results and how to read them: ``BENCHMARKS.md``.
"""

#: every benchmark, in the order a full run takes them
ROWS = ("stream", "tui", "ttft", "router", "startup", "askpipe", "resume", "memory",
        "responsive", "tmux", "routing", "judgment")
#: rows run only when named: oterm installs a third-party app (into its own venv)
OPT_IN = ("oterm",)
