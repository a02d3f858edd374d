"""The answers rigready assumes when the user gives none, shared by the CLI and the window.

One place, so that ``rigready estimate`` / ``rigready plan`` and the Can I run it? and Upgrade
wizard pages answer the same question the same way. No Qt here (the CLI imports it).
"""

from __future__ import annotations

from rigready.assess.estimate import Workload
from rigready.assess.estimate.inputs import METHODS

#: What a plan may spend when the user names no budget (USD): a mid-range graphics card.
DEFAULT_BUDGET_USD = 600.0
_WORKLOAD = Workload()  # the estimator's own defaults, so the two never drift apart
#: Tokens in a prompt or training sample.
DEFAULT_SEQ_LEN = _WORKLOAD.seq_len
#: Micro-batch per GPU.
DEFAULT_BATCH = _WORKLOAD.batch
#: Tokens to generate (inference).
DEFAULT_NEW_TOKENS = _WORKLOAD.new_tokens
DEFAULT_LORA_RANK = _WORKLOAD.lora_rank
DEFAULT_LORA_TARGETS = ",".join(_WORKLOAD.lora_targets)
#: An encoder's head when the user names none: None, the one its config's ``architectures``
#: names (the estimator's own default).
DEFAULT_HEAD = _WORKLOAD.head
#: The label of "no precision chosen" in the window's precision boxes.
DEFAULT_PRECISION_CHOICE = "default"


def default_checkpointing(method: str) -> bool:
    """Gradient checkpointing unless the user says otherwise: on for QLoRA, off otherwise.

    peft's ``prepare_model_for_kbit_training`` turns it on for a quantized base (QLoRA);
    transformers' Trainer leaves it off (``gradient_checkpointing=False``) for LoRA and full
    fine-tuning, and inference has no backward pass to checkpoint.
    """
    return method == "qlora"


def default_precision(method: str) -> str:
    """The precision the estimator assumes for ``method`` when none is chosen."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    return Workload(method=method).resolved_precision  # type: ignore[arg-type]


def precision_choice_label(method: str) -> str:
    """What the window shows for "no precision chosen", e.g. ``default (nf4)``."""
    return f"{DEFAULT_PRECISION_CHOICE} ({default_precision(method)})"
