"""Lightning's Rich bar wraps its metrics onto the next line when they do not fit the terminal;
the wrapper reads them there (tests/data/training/lightning_rich at 100 columns: the loss's
number is on the next line; h100-2026-12-06/lightning at 120 columns: ``val_loss`` is)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rigready.monitor.training.events import RunMetrics
from rigready.monitor.training.stream import StreamParser
from tests.helpers.training import DATA, H100, replay


def _csv(job: str) -> list[dict[str, str]]:
    path = next((DATA / job / "out").rglob("metrics.csv"))
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _metrics(job: str) -> list[RunMetrics]:
    events, _ = replay(job)
    return [e for e in events if isinstance(e, RunMetrics)]


@pytest.mark.parametrize("job", ["lightning_rich", f"{H100}/lightning"])
def test_the_loss_each_epoch_ends_with_is_read_at_that_step(job: str) -> None:
    """The bar shows the step's loss when it redraws (a few times a second, not every step);
    every epoch's last redraw is its last step, which metrics.csv logs too."""
    metrics = [m for m in _metrics(job) if m.loss is not None]
    got = {(m.step, m.loss) for m in metrics}
    last_of_epoch: dict[str, dict[str, str]] = {}
    for row in _csv(job):
        if row["train_loss"]:
            last_of_epoch[row["epoch"]] = row
    assert len(last_of_epoch) >= 3
    for row in last_of_epoch.values():  # metrics.csv counts steps from 0, the bar from 1
        assert (int(row["step"]) + 1, round(float(row["train_loss"]), 3)) in got, row
    assert len({m.step for m in metrics}) >= 20  # and the loss all along, not only at the ends


@pytest.mark.parametrize("job", ["lightning_rich", f"{H100}/lightning"])
def test_every_validation_loss_is_read_from_the_wrapped_line(job: str) -> None:
    got = {m.eval_loss for m in _metrics(job) if m.eval_loss is not None}
    want = {round(float(r["val_loss"]), 3) for r in _csv(job) if r["val_loss"]}
    assert want and want <= got


def test_a_wrapped_line_is_joined_only_after_a_rich_bar() -> None:
    parser = StreamParser(clock=lambda: 1.0)
    bar = "Epoch 0/2  ━━━━━━━━━ 8/20 0:00:00 • 0:00:01 130.25it/s v_num: 0.000 train_loss:   "
    events = parser.feed(f"{bar}\r\n        229.401     \r\x1b[2K\x1b[1A\x1b[2K".encode())
    events += parser.feed(b"plain text 12.5\r\n")  # not after a bar: no metrics
    events += parser.close()
    losses = [m.loss for m in events if isinstance(m, RunMetrics)]
    assert losses == [229.401]


def test_a_bar_without_a_continuation_keeps_its_own_metrics() -> None:
    parser = StreamParser(clock=lambda: 1.0)
    bar = "Epoch 0/2  ━━━━━━━━━ 8/20 0:00:00 • 0:00:01 130.25it/s v_num: 0.000 train_loss: 3.5"
    events = parser.feed(f"{bar}\r\nEpoch finished\r\n".encode()) + parser.close()
    assert [m.loss for m in events if isinstance(m, RunMetrics)] == [3.5]
