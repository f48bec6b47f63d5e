"""Tiny llama-architecture GGUF models for the real-server tests, written with ``gguf``.

Each model is a real llama network (token embedding, one transformer block, RMS norm, output
matrix) with an SPM tokenizer, small enough to write in milliseconds. Its weights are chosen
rather than trained: the block's output projections are zero, so the residual stream is the
token embedding and the next token depends only on the last one, and the output matrix maps each
reply token to the next with a margin no sampler setting can overturn. So every model writes
one fixed reply whatever the prompt, which lets the tests check the protocol exactly while the
server does all its usual work (tokenize, chat template, decode, sample, detokenize, stream).

Prompt text tokenizes one character per token (no merges are reachable), so a prompt's token
count is about its length in characters: that is how the tests overflow a small ``n_ctx``.

Run as a script with the Python that has ``gguf``: ``python tiny_model.py OUT_DIR`` writes
one ``<alias>.gguf`` per entry of :data:`MODELS`. Importing this module needs neither ``gguf``
nor ``numpy`` (the tests read the replies from it; the writer may live in another venv).
"""

from __future__ import annotations

import string
import sys
from pathlib import Path

#: each model's reply, one vocabulary piece per token ("▁" is a space, as in SPM vocabularies)
CODER = [
    "Here", "▁is", "▁a", "▁tiny", "▁function:", "\n\n```python\n", "def", "▁add(a,", "▁b):",
    "\n▁▁▁▁return", "▁a▁+▁b", "\n```\n",
]  # fmt: skip
THINKER = ["<think>", "The▁user", "▁wants", "▁a▁greeting.", "</think>", "Hello", "▁there."]
#: the endless model repeats these until ``max_tokens`` or the context window ends the reply
ENDLESS = ["▁tick", "▁tock"]

#: alias -> (reply pieces, whether the reply repeats instead of ending)
MODELS: dict[str, tuple[list[str], bool]] = {
    "tiny-coder": (CODER, False),
    "tiny-thinker": (THINKER, False),
    "tiny-endless": (ENDLESS, True),
}

TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
N_EMBD = 64
N_HEAD = 4
N_FF = 64
N_CTX_TRAIN = 4096
#: the winning logit is MARGIN * sqrt(N_EMBD) = 40 against 0 for every other token
MARGIN = 5.0
UNK, BOS, EOS = 0, 1, 2
#: gguf.TokenType values
NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6


def vocabulary() -> tuple[list[str], list[int]]:
    """Special tokens, the 256 byte-fallback tokens, printable characters, then every piece."""
    tokens = ["<unk>", "<s>", "</s>"]
    types = [UNKNOWN, CONTROL, CONTROL]
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [BYTE] * 256
    chars = [c for c in string.printable if c not in string.whitespace] + ["▁"]
    pieces = [p for reply, _ in MODELS.values() for p in reply]
    for text in chars + pieces:
        if text not in tokens:
            tokens.append(text)
            types.append(NORMAL)
    return tokens, types


def write_model(path: Path, reply: list[str], repeats: bool) -> None:
    """One model at ``path`` whose every reply is ``reply`` (forever when ``repeats``)."""
    import gguf
    import numpy as np

    tokens, types = vocabulary()
    ids = [tokens.index(p) for p in reply]
    n_vocab = len(tokens)
    # class 0 is every token outside the reply (the prompt); reply token i is class i + 1
    embed = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    embed[:, 0] = 1.0
    for i, tok in enumerate(ids):
        embed[tok, 0] = 0.0
        embed[tok, i + 1] = 1.0
    out = np.zeros((n_vocab, N_EMBD), dtype=np.float32)
    out[ids[0], 0] = MARGIN
    for i in range(len(ids)):
        nxt = ids[i + 1] if i + 1 < len(ids) else (ids[0] if repeats else EOS)
        out[nxt, i + 1] = MARGIN

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(path.stem)
    w.add_context_length(N_CTX_TRAIN)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(1)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_dimension_count(N_EMBD // N_HEAD)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * n_vocab)
    w.add_token_types(types)
    w.add_unk_token_id(UNK)
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_chat_template(TEMPLATE)

    zeros = np.zeros
    w.add_tensor("token_embd.weight", embed)
    w.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    w.add_tensor("output.weight", out)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{name}.weight", zeros((N_EMBD, N_EMBD), dtype=np.float32))
    w.add_tensor("blk.0.ffn_gate.weight", zeros((N_FF, N_EMBD), dtype=np.float32))
    w.add_tensor("blk.0.ffn_up.weight", zeros((N_FF, N_EMBD), dtype=np.float32))
    w.add_tensor("blk.0.ffn_down.weight", zeros((N_EMBD, N_FF), dtype=np.float32))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def reply_text(alias: str) -> str:
    """The text ``alias`` writes (one pass of it for the endless model)."""
    return "".join(MODELS[alias][0]).replace("▁", " ")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: tiny_model.py OUT_DIR", file=sys.stderr)
        return 2
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    for alias, (reply, repeats) in MODELS.items():
        write_model(out_dir / f"{alias}.gguf", reply, repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
