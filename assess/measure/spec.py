"""What one measurement runs: the model's config and the workload, as plain JSON-ready data."""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import Any

#: The software stack the runner drives (and whose memory the estimator models).
STACK = {
    "inference": ("torch", "transformers"),
    "full": ("torch", "transformers"),
    "lora": ("torch", "transformers", "peft"),
    "qlora": ("torch", "transformers", "peft", "bitsandbytes"),
}
#: Runner tasks: the model class built from the config and the inputs the steps get.
TASKS = ("causal-lm", "seq-cls", "masked-lm", "seq2seq", "speech-seq2seq", "image-text")


@dataclass(frozen=True, slots=True)
class MeasureSpec:
    """One workload to build and run (names as in :class:`rigready.assess.estimate.Workload`)."""

    name: str
    config: dict[str, Any]
    method: str  # inference | full | lora | qlora
    precision: str  # fp32 | amp-bf16 | bf16 | nf4 (QLoRA, or 4-bit inference)
    batch: int
    seq: int
    task: str = "causal-lm"  # one of TASKS
    new_tokens: int = 0
    checkpointing: bool = False
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    attn: str = "sdpa"
    optimizer: str = "adamw"
    #: Training steps (the first is a warm-up: optimizer states appear there).
    steps: int = 4
    #: Decoder (label) tokens of an encoder-decoder task (seq2seq, speech-seq2seq).
    target_seq: int = 0
    #: Cap on what PyTorch's caching allocator may reserve, bytes
    #: (``torch.cuda.set_per_process_memory_fraction``): "a card with this much free".
    #: None: no cap.
    cap_bytes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists for tuples)."""
        out = asdict(self)
        out["lora_targets"] = list(self.lora_targets)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MeasureSpec:
        """Rebuild from :meth:`to_dict`.

        Raises:
            ValueError: a field is missing or unknown.
        """
        body = dict(data)
        try:
            body["lora_targets"] = tuple(body.get("lora_targets", ("q_proj", "v_proj")))
            return cls(**body)
        except TypeError as exc:
            raise ValueError(f"bad measurement spec: {exc}") from None


def missing_packages(method: str, precision: str = "") -> list[str]:
    """The Python packages this method needs that are not installed (no import is done)."""
    names = STACK.get(method, STACK["lora"])
    if precision == "nf4" and "bitsandbytes" not in names:
        names = (*names, "bitsandbytes")
    return [name for name in names if importlib.util.find_spec(name) is None]
