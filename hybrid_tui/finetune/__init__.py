"""``hybrid-tui fine-tune``: what a local user can honestly do to specialise a model.

:mod:`~hybrid_tui.finetune.scan` reads the project (``.gitignore`` respected, see
:mod:`~hybrid_tui.finetune.gitignore`), :mod:`~hybrid_tui.finetune.profile` condenses it
into a system prompt, :mod:`~hybrid_tui.finetune.dataset` writes a chat-format JSONL set for
external LoRA tools, and :mod:`~hybrid_tui.finetune.create` creates the derived Ollama
model. Weights change only when a trained LoRA adapter is supplied; otherwise the new model
is the base model with the project profile as its system prompt.
"""
