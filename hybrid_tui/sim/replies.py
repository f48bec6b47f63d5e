"""Deterministic, code-shaped Markdown answers for the simulators, one shape per prompt type.

Each answer is 150-600 tokens, uses fenced code blocks with a language tag for code prompts,
and contains a few multi-byte characters (—, →) so byte-splitting faults have something to
split. The same prompt always gives the same answer.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from hybrid_tui.sim.tokens import fit_tokens, tokenize

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#.-]*")


def _words(prompt: str) -> set[str]:
    return {w.lower().rstrip(".") for w in _WORD.findall(prompt)}


def _topic(prompt: str, default: str = "this") -> str:
    """A short, plain-text echo of the prompt (letters, digits and spaces only)."""
    words = re.findall(r"[A-Za-z0-9]+", prompt)[:8]
    return " ".join(words) if words else default


def _language(words: set[str]) -> str:
    for lang, names in (
        ("rust", {"rust"}),
        ("go", {"go", "golang"}),
        ("javascript", {"javascript", "js", "node", "typescript", "ts"}),
    ):
        if words & names:
            return lang
    return "python"


_QUICKSORT = {
    "python": '''\
        def quicksort(items: list[int]) -> list[int]:
            """Return a new sorted list (not in place)."""
            if len(items) <= 1:
                return items
            pivot = items[len(items) // 2]
            smaller = [x for x in items if x < pivot]
            equal = [x for x in items if x == pivot]
            larger = [x for x in items if x > pivot]
            return quicksort(smaller) + equal + quicksort(larger)


        if __name__ == "__main__":
            print(quicksort([33, 10, 55, 71, 29, 3, 18, 42]))
        ''',
    "javascript": """\
        function quicksort(items) {
          if (items.length <= 1) return items;
          const pivot = items[Math.floor(items.length / 2)];
          const smaller = items.filter((x) => x < pivot);
          const equal = items.filter((x) => x === pivot);
          const larger = items.filter((x) => x > pivot);
          return [...quicksort(smaller), ...equal, ...quicksort(larger)];
        }

        console.log(quicksort([33, 10, 55, 71, 29, 3, 18, 42]));
        """,
    "rust": """\
        fn quicksort<T: PartialOrd + Clone>(items: &[T]) -> Vec<T> {
            if items.len() <= 1 {
                return items.to_vec();
            }
            let pivot = items[items.len() / 2].clone();
            let smaller: Vec<T> = items.iter().filter(|x| **x < pivot).cloned().collect();
            let equal: Vec<T> = items.iter().filter(|x| **x == pivot).cloned().collect();
            let larger: Vec<T> = items.iter().filter(|x| **x > pivot).cloned().collect();
            let mut out = quicksort(&smaller);
            out.extend(equal);
            out.extend(quicksort(&larger));
            out
        }
        """,
    "go": """\
        func quicksort(items []int) []int {
            if len(items) <= 1 {
                return items
            }
            pivot := items[len(items)/2]
            var smaller, equal, larger []int
            for _, x := range items {
                switch {
                case x < pivot:
                    smaller = append(smaller, x)
                case x == pivot:
                    equal = append(equal, x)
                default:
                    larger = append(larger, x)
                }
            }
            out := append(quicksort(smaller), equal...)
            return append(out, quicksort(larger)...)
        }
        """,
}


def _quicksort(words: set[str]) -> str:
    lang = _language(words)
    code = textwrap.dedent(_QUICKSORT[lang]).rstrip()
    return (
        f"Here is a clear, idiomatic quicksort in {lang.capitalize()}:\n\n"
        f"```{lang}\n{code}\n```\n\n"
        "How it works:\n\n"
        "1. **Base case** — a list of zero or one element is already sorted.\n"
        "2. **Pivot** — take the middle element; this avoids the worst case on input "
        "that is already sorted.\n"
        "3. **Partition** — split into smaller / equal / larger; keeping the *equal* "
        "group makes duplicates cheap.\n"
        "4. **Recurse** → concatenate the sorted parts.\n\n"
        "Complexity: O(n log n) on average, O(n²) in the worst case, and O(n) extra "
        "memory because this version builds new lists. For an in-place variant, use "
        "Lomuto or Hoare partitioning over index ranges."
    )


def _refactor(prompt: str) -> str:
    return (
        f"Refactoring *{_topic(prompt, 'the function')}*: the loop mixes parsing, "
        "validation and I/O. Pull each concern into its own function and make the "
        "happy path read top to bottom.\n\n"
        "```diff\n"
        "--- a/app/orders.py\n"
        "+++ b/app/orders.py\n"
        "@@ -1,22 +1,27 @@\n"
        "-def process(path):\n"
        "-    f = open(path)\n"
        "-    rows = []\n"
        "-    for line in f.readlines():\n"
        "-        parts = line.strip().split(',')\n"
        "-        if len(parts) == 3:\n"
        "-            if parts[2] != '':\n"
        "-                rows.append((parts[0], parts[1], float(parts[2])))\n"
        "-    total = 0\n"
        "-    for r in rows:\n"
        "-        total = total + r[2]\n"
        "-    f.close()\n"
        "-    return rows, total\n"
        "+from dataclasses import dataclass\n"
        "+from pathlib import Path\n"
        "+\n"
        "+\n"
        "+@dataclass(frozen=True)\n"
        "+class Order:\n"
        "+    customer: str\n"
        "+    item: str\n"
        "+    amount: float\n"
        "+\n"
        "+\n"
        "+def parse_order(line: str) -> Order | None:\n"
        '+    """One CSV line → an Order, or None when the line is incomplete."""\n'
        "+    customer, item, amount = (line.strip().split(',') + ['', '', ''])[:3]\n"
        "+    return Order(customer, item, float(amount)) if amount else None\n"
        "+\n"
        "+\n"
        "+def process(path: Path) -> tuple[list[Order], float]:\n"
        "+    with path.open() as f:\n"
        "+        orders = [o for o in map(parse_order, f) if o is not None]\n"
        "+    return orders, sum(o.amount for o in orders)\n"
        "```\n\n"
        "What changed:\n\n"
        "- `with` closes the file even when parsing raises.\n"
        "- `Order` replaces the positional tuple, so callers read `o.amount`, not `r[2]`.\n"
        "- `parse_order` is pure and easy to unit-test on its own.\n"
        "- `sum()` replaces the manual accumulator — same result, less noise."
    )


def _architecture(prompt: str) -> str:
    return (
        f"## Architecture analysis: {_topic(prompt, 'the system')}\n\n"
        "### Components\n\n"
        "- **API gateway** — terminates TLS, authenticates, and routes to services.\n"
        "- **Order service** — owns the order lifecycle; writes to its own database.\n"
        "- **Inventory service** — reserves stock; exposes a narrow gRPC interface.\n"
        "- **Event bus** — carries `OrderPlaced` → `StockReserved` → `OrderConfirmed`.\n\n"
        "### Data flow\n\n"
        "```text\n"
        "client → gateway → order-service ──(OrderPlaced)──▶ bus\n"
        "                                      bus ──▶ inventory-service\n"
        "inventory-service ──(StockReserved)──▶ bus ──▶ order-service\n"
        "```\n\n"
        "### Risks\n\n"
        "1. **Dual writes**: the order service writes its row and publishes an event in "
        "two steps. A crash in between loses the event. Use a transactional outbox.\n"
        "2. **Chatty synchronous calls** on the hot path add latency at p99; prefer "
        "events or batch the lookups.\n"
        "3. **Shared database tables** between services couple their deploys — each "
        "service should own its schema.\n\n"
        "### Recommendations\n\n"
        "```python\n"
        "def place_order(tx, order):\n"
        "    tx.insert('orders', order.row())\n"
        "    tx.insert('outbox', {'type': 'OrderPlaced', 'payload': order.to_json()})\n"
        "    # a relay publishes outbox rows after commit, at least once\n"
        "```\n\n"
        "Start with the outbox (highest risk, smallest change), then add idempotency "
        "keys on the consumers so redelivered events are harmless."
    )


def _format(prompt: str) -> str:
    code = None
    fence = re.search(r"```[\w+-]*\n(.*?)```", prompt, re.DOTALL)
    if fence:
        code = fence.group(1)
    elif "\n" in prompt.strip():
        code = prompt.split("\n", 1)[1]
    if code and code.strip():
        lines = [line.rstrip().replace("\t", "    ") for line in code.strip("\n").splitlines()]
        body = "\n".join(lines)
    else:
        body = textwrap.dedent(
            """\
            def calculate_total(items: list[dict], tax_rate: float = 0.2) -> float:
                subtotal = sum(item["price"] * item["quantity"] for item in items)
                discount = 0.1 * subtotal if subtotal > 100 else 0.0
                return round((subtotal - discount) * (1 + tax_rate), 2)


            class Cart:
                def __init__(self) -> None:
                    self.items: list[dict] = []

                def add(self, name: str, price: float, quantity: int = 1) -> None:
                    self.items.append({"name": name, "price": price, "quantity": quantity})

                def total(self) -> float:
                    return calculate_total(self.items)"""
        )
    return (
        "Here is the code, formatted (PEP 8, 4-space indents, trailing white space "
        "removed):\n\n"
        f"```python\n{body}\n```\n\n"
        "Changes — behaviour is unchanged:\n\n"
        "- consistent 4-space indentation, tabs replaced;\n"
        "- one blank line between methods and two between top-level definitions;\n"
        "- spaces around operators and after commas;\n"
        "- no trailing white space, and a final newline.\n\n"
        "To keep it this way, run a formatter on save: `ruff format` (or `black`) "
        "gives the same result on every machine, so reviews show only real changes."
    )


def _tests(prompt: str) -> str:
    return (
        f"Here is a pytest module for *{_topic(prompt, 'the code')}*:\n\n"
        "```python\n"
        "import pytest\n\n"
        "from app.cart import Cart, calculate_total\n\n\n"
        "@pytest.fixture\n"
        "def cart() -> Cart:\n"
        "    c = Cart()\n"
        '    c.add("pen", 2.50, quantity=4)\n'
        '    c.add("notebook", 7.00)\n'
        "    return c\n\n\n"
        "def test_total_includes_tax(cart: Cart) -> None:\n"
        "    assert cart.total() == pytest.approx(20.40)\n\n\n"
        "def test_empty_cart_costs_nothing() -> None:\n"
        "    assert Cart().total() == 0\n\n\n"
        "@pytest.mark.parametrize(\n"
        '    ("price", "quantity", "expected"),\n'
        "    [(10.0, 1, 12.0), (50.0, 2, 120.0), (120.0, 1, 129.6)],\n"
        ")\n"
        "def test_discount_above_100(price: float, quantity: int, expected: float) -> None:\n"
        '    items = [{"name": "x", "price": price, "quantity": quantity}]\n'
        "    assert calculate_total(items) == pytest.approx(expected)\n\n\n"
        "def test_negative_quantity_is_rejected() -> None:\n"
        "    with pytest.raises(ValueError):\n"
        '        Cart().add("pen", 2.50, quantity=-1)\n'
        "```\n\n"
        "Notes:\n\n"
        "- The fixture keeps each test independent — no shared mutable state.\n"
        "- `pytest.approx` avoids float rounding surprises.\n"
        "- The last test documents behaviour the code does not have yet → it fails "
        "until `Cart.add` validates its input, which is the point."
    )


def _debug(prompt: str) -> str:
    return (
        f"Let's debug *{_topic(prompt, 'the error')}*. The traceback points at a value "
        "that is `None` where a list was expected — the function returns early on one "
        "path without a value.\n\n"
        "```python\n"
        "def load_users(path):\n"
        "    if not path.exists():\n"
        "        return  # ← returns None, callers then iterate over it\n"
        "    with path.open() as f:\n"
        "        return [line.strip() for line in f if line.strip()]\n"
        "```\n\n"
        "Fix: return an empty list (or raise) on every path, and say so in the "
        "signature:\n\n"
        "```python\n"
        "def load_users(path: Path) -> list[str]:\n"
        "    if not path.exists():\n"
        "        return []\n"
        "    with path.open() as f:\n"
        "        return [line.strip() for line in f if line.strip()]\n"
        "```\n\n"
        "To confirm: run the failing case under `python -X dev -m pytest -x` and add a "
        "test for the missing-file path so the bug stays fixed."
    )


def _generic(prompt: str) -> str:
    return (
        f"Sure — here is how I would approach *{_topic(prompt)}*.\n\n"
        "1. **Clarify the goal**: write down the input, the output and one example.\n"
        "2. **Start small**: a single function that handles the common case.\n"
        "3. **Test it**: one test for the example, one for an edge case.\n"
        "4. **Iterate** → handle errors and the remaining cases.\n\n"
        "A minimal starting point:\n\n"
        "```python\n"
        "def solve(data: list[str]) -> dict[str, int]:\n"
        '    """Count how often each word occurs, ignoring case."""\n'
        "    counts: dict[str, int] = {}\n"
        "    for line in data:\n"
        "        for word in line.lower().split():\n"
        "            counts[word] = counts.get(word, 0) + 1\n"
        "    return counts\n"
        "```\n\n"
        "If you share the code you have so far, I can point at the exact lines to change."
    )


def reply_for(prompt: str, model: str = "") -> str:
    """A deterministic Markdown answer shaped by what the prompt asks for (a HumanEval
    problem gets a completion whose quality depends on ``model``: see humaneval_replies)."""
    from hybrid_tui.sim.humaneval_replies import humaneval_reply

    completion = humaneval_reply(prompt, model)
    if completion is not None:
        return completion
    words = _words(prompt)
    if words & {"quicksort", "sort", "sorting"}:
        return _quicksort(words)
    if words & {"refactor", "refactoring", "clean", "cleanup"}:
        return _refactor(prompt)
    if words & {"analyze", "analyse", "analysis", "architecture", "design", "plan"}:
        return _architecture(prompt)
    if words & {"format", "formatting", "prettify", "reformat", "indent"}:
        return _format(prompt)
    if words & {"test", "tests", "unittest", "pytest", "testing"}:
        return _tests(prompt)
    if words & {"debug", "bug", "error", "traceback", "fix", "crash"}:
        return _debug(prompt)
    return _generic(prompt)


def thinking_for(messages: list[Any]) -> str:
    """A reasoning model's trace before its answer to a chat (deterministic per prompt)."""
    prompt = _last_user(messages)
    return (
        f"The user asks about {_topic(prompt, 'some code')}. I should answer with working "
        "code and a short explanation. Edge cases first: empty input, a single item, "
        "duplicates. Then the plain version, then what it costs."
    )


def _last_user(messages: list[Any]) -> str:
    return next(
        (
            str(m.get("content") or "")
            for m in reversed(messages)
            if isinstance(m, dict) and m.get("role") == "user"
        ),
        "",
    )


def reply_pieces(
    messages: list[Any], fixed: str | None = None, tokens: int | None = None, model: str = ""
) -> list[str]:
    """The token pieces of the reply to a chat: ``fixed`` or :func:`reply_for` the last
    user message, forced to ``tokens`` pieces when given.

    A chat that ends with an assistant message the reply starts with (a client asking
    another server to continue a reply after a failover) gets only the rest, as a model
    continuing from an assistant prefix would."""
    prompt = _last_user(messages)
    pieces = tokenize(fixed if fixed is not None else reply_for(prompt, model))
    if tokens is not None:
        pieces = fit_tokens(pieces, tokens)
    last = messages[-1] if messages else None
    prefix = str(last.get("content") or "") if isinstance(last, dict) else ""
    if not prefix or last.get("role") != "assistant" or not "".join(pieces).startswith(prefix):
        return pieces
    skipped = 0
    for i, piece in enumerate(pieces):
        if skipped + len(piece) > len(prefix):
            return [piece[len(prefix) - skipped :], *pieces[i + 1 :]]
        skipped += len(piece)
    return []
