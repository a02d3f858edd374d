"""No useless fix: a change that makes the job fit by making it pointless is never offered.

The estimator's searches find the largest sequence, batch or image that fits; some of those are
not worth running at all. Below these floors the answer is "it does not fit", with what does
(a smaller model, a 4-bit route, a rental, a card), never the shrunken job.
"""

from __future__ import annotations

from collections.abc import Iterable

from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.result import Suggestion

#: Shortest sequence (prompt, or training sample) worth offering: 512 tokens. Shorter cuts most
#: training samples (an instruction and its answer, a chat turn, a code function run to several
#: hundred tokens) and leaves a chat no room for its answer; BERT-style encoders were trained
#: at 512. rigready's judgement, stated wherever a change is refused for it.
MIN_USEFUL_SEQ = 512
#: Smallest training batch worth offering for an image classifier: 8. BatchNorm's batch
#: statistics are noisy below it, and such a batch leaves most of a GPU idle.
MIN_USEFUL_IMAGE_BATCH = 8


def why_useless(shape: ModelShape, asked: Workload, changed: Workload) -> str | None:
    """Why ``changed`` would make ``asked`` pointless (None: it is a fair change)."""
    if shape.image is None and changed.seq_len < min(asked.seq_len, MIN_USEFUL_SEQ):
        return (f"a sequence of {changed.seq_len:,} tokens is below the {MIN_USEFUL_SEQ}-token "
                "floor: too short for real prompts or training samples")
    if shape.kind == "diffusion":
        native = shape.image_size or 0
        side = changed.image_size or native
        if side < min(asked.image_size or native, native):
            return (f"{side} px is below {shape.name}'s native {native} px: the images come "
                    "out broken, not smaller")
    elif shape.image is not None and changed.training and changed.batch < min(
            asked.batch, MIN_USEFUL_IMAGE_BATCH):
        return (f"a batch of {changed.batch} is below {MIN_USEFUL_IMAGE_BATCH}: BatchNorm "
                "statistics turn noisy and the GPU sits mostly idle")
    return None


def useful(shape: ModelShape, asked: Workload,
           suggestions: Iterable[Suggestion]) -> tuple[Suggestion, ...]:
    """``suggestions`` without the ones that make the job pointless (a suggestion whose changed
    workload is unknown is kept)."""
    return tuple(s for s in suggestions
                 if s.workload is None or why_useless(shape, asked, s.workload) is None)


def useful_seq(shape: ModelShape, seq: int | None) -> bool:
    """Whether a longest sequence that fits is worth naming (a language model's)."""
    return seq is None or shape.image is not None or seq >= MIN_USEFUL_SEQ
