"""askpipe: ``hybrid-tui ask`` as a whole process, 20,000 tokens at unlimited rate with stdout
a pipe, against a bare httpx script that streams the same reply from the same simulator and
writes each text delta to its stdout.

Both run as child processes started the same way (this interpreter) with stdout a pipe that
the benchmark drains; the figure is wall time from spawn to exit. The bare script is the
client's floor: connect, stream the SSE lines, take ``choices[0].delta.content`` out of each
and write it. Both outputs are checked to hold the same text.
"""

from __future__ import annotations

import sys
import tempfile
import textwrap
from pathlib import Path

from benchmarks.common import Figure, Row, Settings, Target
from benchmarks.simproc import SimProcess
from benchmarks.startup import run_timed

PROMPT = "format this code: def f(a,b): return a+b"
BARE = textwrap.dedent('''
    import json, sys, httpx
    url = sys.argv[1] + "/v1/chat/completions"
    body = {"model": "qwen2.5-coder-7b-instruct", "stream": True,
            "messages": [{"role": "user", "content": sys.argv[2]}]}
    out = sys.stdout
    with httpx.Client(timeout=60) as client:
        with client.stream("POST", url, json=body) as resp:
            for line in resp.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                delta = json.loads(line[6:])["choices"][0].get("delta") or {}
                text = delta.get("content")
                if text:
                    out.write(text)
                    out.flush()
''')


def run(settings: Settings) -> Row:
    tokens = settings.size(20_000, 2_000)
    row = Row("askpipe", f"ask, whole process, {tokens:,} tokens, stdout a pipe, vs bare httpx")
    with SimProcess(reply_tokens=tokens) as sims, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        # options: {} lifts the default reply cap (max_tokens 2048): the reply is longer
        config.write_text(f"backends:\n  lmstudio:\n    endpoint: {sims.lmstudio}\n"
                          "    options: {}\n"
                          f"  ollama:\n    endpoint: {sims.ollama}\n    options: {{}}\n"
                          "routing:\n  learning_enabled: false\n", encoding="utf-8")
        script = Path(tmp) / "bare.py"
        script.write_text(BARE, encoding="utf-8")
        ask = [sys.executable, "-m", "hybrid_tui", "--config", str(config), "ask",
               "--backend", "lmstudio", PROMPT]
        bare = [sys.executable, str(script), sims.lmstudio, PROMPT]
        ours, floor = [], []
        for i in range(settings.runs + 1):  # the first pair warms the simulator and caches
            got_ours, text_ours = run_timed(ask, timeout=120)
            got_bare, text_bare = run_timed(bare, timeout=120)
            if text_ours.strip() != text_bare.strip():
                raise RuntimeError("ask and the bare client printed different text "
                                   f"({len(text_ours)} vs {len(text_bare)} characters)")
            if i:
                ours.append(got_ours)
                floor.append(got_bare)
    ratios = [a / b for a, b in zip(ours, floor, strict=True)]
    row.add(Figure("ask (whole process)", "s", ours))
    row.add(Figure("bare httpx script (whole process)", "s", floor))
    row.add(Figure("ask / bare", "×", ratios, targets=(Target("<=", 1.3),)))
    row.notes.append("both: this interpreter, stdout a pipe drained by the benchmark, the "
                     "simulated LM Studio at unlimited rate; ask with learning off")
    return row
