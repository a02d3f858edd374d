"""The loss chart's smoothing (monitor/training/tracker.py): TensorBoard's debiased moving
average, and the same numbers when a live series is extended a point at a time."""

from __future__ import annotations

import math

import numpy as np

from rigready.monitor.training.tracker import Smoother, smooth


def reference(values: list[float], weight: float = 0.6) -> list[float]:
    """TensorBoard's formula written out: last = last*w + (1-w)*v; shown last / (1 - w^n)."""
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight ** n))
    return out


def test_smooth_is_tensorboards_debiased_average() -> None:
    values = [2.0, 1.0, math.nan, 4.0, 3.0]
    got = smooth(np.array(values))
    assert np.allclose(got, reference(values), equal_nan=True)
    assert got[0] == 2.0  # debiased: the first point is itself, not 0.4 of it


def test_extending_gives_the_numbers_of_one_pass() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(3.0, 1.0, 500)
    values[[0, 7, 250]] = np.nan
    smoother = Smoother()
    for n in (0, 1, 2, 9, 10, 300, 499, 500):
        assert np.allclose(smoother.extend(values[:n]), smooth(values[:n]), equal_nan=True), n
    again = smoother.extend(values[:20])  # a shorter series: a new one, started again
    assert np.allclose(again, smooth(values[:20]), equal_nan=True)
