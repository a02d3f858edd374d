"""What a lighter fine-tuning stack needs for a job: Unsloth's published tables, and rigready's
own runs of Unsloth (``catalog/data/stacks.toml``; :func:`stack_need`).

The published figures are Unsloth's (VRAM per model size, context per card size), interpolated;
every answer that uses one says "published, not measured here". Rows with ``measured_on`` are
rigready's own runs (``benchmarks/calibrate_unsloth.py``): each counts only for the run's model
and its fine-tunes, at a sequence no longer, on a card with at least the room the run had.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from rigready.assess.estimate.breakdown import driver_reserved_bytes
from rigready.assess.units import GIB

#: rigready's own run of a stack counts for models within this share of its size: the same
#: model and its fine-tunes (Llama 3.1 8B's run answers for Llama 3 8B and the R1 distill, all
#: 8.03B), not Qwen3 8B (8.19B, 2% larger, whose 151,936-token vocabulary adds about 0.4 GiB
#: of embeddings and head the run did not hold). The published tables, per size class, keep
#: their 15%.
MEASURED_PARAMS_TOLERANCE = 0.015


@dataclass(frozen=True, slots=True)
class StackNeed:
    """What a fine-tuning stack publishes for a job of this size (its own figure, never
    measured by rigready)."""

    stack: str
    method: str
    #: Least GPU memory for the model's size, bytes (published GB, interpolated by size).
    need_bytes: int
    #: The longest sequence a card of this size trains at batch 1, per the stack's context
    #: table for a model of this size (None: no table for this size or card).
    max_tokens: int | None
    source: str
    #: rigready's own run of the stack under the memory of a card no larger than what this
    #: one has free: the sequence it ran at (None: no such run of a model this size).
    measured_tokens: int | None = None
    #: That run's card (GiB) and what ran it.
    measured_card_gib: float | None = None
    measured_on: str | None = None
    #: Whether that run was at least as long as the job asked about (a shorter one is named
    #: only as how far the measurement goes).
    measured_covers: bool = False

    @property
    def words(self) -> str:
        """``about 6 GB published, not measured here``, or with rigready's own run: ``about 6
        GB published; measured here: ran at 2,048 tokens on an 8 GB card's memory``."""
        published = f"about {round(self.need_bytes / 1e9, 1):g} GB published"
        if self.measured_tokens is None or self.measured_card_gib is None:
            return published + ", not measured here"
        if not self.measured_covers:  # the yes is the published table's, not our run's
            return (f"{published}; measured here only up to {self.measured_tokens:,} tokens "
                    f"on {card_words(self.measured_card_gib)}'s memory")
        return (f"{published}; measured here: ran at {self.measured_tokens:,} tokens on "
                f"{card_words(self.measured_card_gib)}'s memory")

    def fits(self, job_bytes: int, tokens: int) -> bool:
        """Whether the job fits ``job_bytes`` at ``tokens`` per micro-batch: rigready's own run
        of the stack at that length on a card this size or smaller, or else the published
        figures (the least VRAM, and the context table where there is one)."""
        if self.measured_tokens is not None and tokens <= self.measured_tokens:
            return True
        if self.need_bytes > job_bytes:
            return False
        return self.max_tokens is None or tokens <= self.max_tokens


def stack_need(figures: Iterable[Any], params: int, method: str, job_bytes: int,
               stack: str = "unsloth", tokens: int | None = None) -> StackNeed | None:
    """The published need of ``stack`` for a ``method`` job on a model of ``params``
    parameters, on a card with ``job_bytes`` free (None: no figure for this method or size).

    ``figures`` are the catalog's ``stack_figure`` entries: VRAM per model size (interpolated
    linearly between rows, never beyond the table) and context per card size (for a model
    within 15% of the size a context table was measured on).
    """
    rows = sorted(((f.params_b, f.vram_gb, f.source) for f in figures
                   if f.stack == stack and f.method == method and f.vram_gb is not None),
                  key=lambda r: r[0])
    size = params / 1e9
    if not rows or size > rows[-1][0] * 1.02:
        return None
    need_gb, source = rows[0][1], rows[0][2]
    for (p0, v0, s0), (p1, v1, s1) in pairwise(rows):
        if p0 <= size <= p1:
            need_gb = v0 + (v1 - v0) * (size - p0) / (p1 - p0)
            source = s0 if size - p0 <= p1 - size else s1
            break
    ctx = [f for f in figures if f.stack == stack and f.method == method
           and f.max_context_tokens is not None and abs(f.params_b - size) <= 0.15 * f.params_b]
    published = [f for f in ctx if getattr(f, "measured_on", None) is None]
    # rigready's own runs of the stack under the memory of a card no larger than what this
    # one has free: only what was run counts (Unsloth loads and checkpoints differently with
    # less room, so a run's peak on one card says nothing of a smaller budget)
    ran = [f for f in ctx if getattr(f, "measured_on", None) is not None
           and abs(f.params_b - size) <= MEASURED_PARAMS_TOLERANCE * f.params_b
           and _card_free_bytes(float(f.card_gb)) <= job_bytes]
    # the run nearest the job: the shortest that covers ``tokens``, else the longest there is
    covering = [f for f in ran if tokens is not None and int(f.max_context_tokens) >= tokens]
    best = (min(covering, key=lambda f: (int(f.max_context_tokens), float(f.card_gb)))
            if covering else max(ran, key=lambda f: (int(f.max_context_tokens),
                                                     -float(f.card_gb)), default=None))
    need = StackNeed(stack, method, int(need_gb * 1e9), _context(published, job_bytes), source)
    if best is None:
        return need
    return replace(need, measured_tokens=int(best.max_context_tokens),
                   measured_card_gib=float(best.card_gb), measured_on=str(best.measured_on),
                   measured_covers=bool(covering))


def card_words(card_gib: float) -> str:
    """``an 8 GB card``, ``a 10 GB card``."""
    size = f"{card_gib:g}"
    return f"{'an' if size.startswith(('8', '11', '18')) else 'a'} {size} GB card"


def _card_free_bytes(card_gib: float) -> int:
    """What a card of ``card_gib`` GiB with no display leaves a job (counted as ``job_bytes``
    counts: the driver's own reservation taken off, the CUDA context part of the job): the
    room a capped run of that card had, its allocator cap plus its context."""
    card = int(card_gib * GIB)
    return card - driver_reserved_bytes(card)


def _context(rows: list[Any], job_bytes: int) -> int | None:
    """Longest sequence at ``job_bytes`` by the context table (linear between its cards);
    None when there is no table or the card is outside it; 0 below its smallest card."""
    if not rows:
        return None
    pts = sorted((float(r.card_gb) * 1e9, int(r.max_context_tokens)) for r in rows)
    if job_bytes < pts[0][0]:
        return 0
    for (c0, t0), (c1, t1) in pairwise(pts):
        if c0 <= job_bytes <= c1:
            return int(t0 + (t1 - t0) * (job_bytes - c0) / (c1 - c0))
    return None  # beyond the largest card measured: the VRAM figure decides
