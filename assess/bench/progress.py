"""What every benchmark yields while it runs, and the error type for bad benchmark input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: A monotonic clock in seconds (``time.perf_counter`` in real runs, a fake in tests).
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a benchmark is: ``fraction`` in [0, 1] and a short line saying what it does now."""

    fraction: float
    message: str

    def __post_init__(self) -> None:
        # Clamp rather than raise: progress is advisory and estimated from time budgets.
        object.__setattr__(self, "fraction", min(1.0, max(0.0, float(self.fraction))))


class BenchError(Exception):
    """Bad benchmark input or a refused target (one line for the user; the CLI exits 2)."""
