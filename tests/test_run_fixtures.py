"""The run parsers against output captured from the real libraries (tests/data/training):
every logged step recorded against the Trainer's own log_history, NaN at the first NaN step,
ETA error at 25 % and 50 % of a steady run, Lightning's bars, a SIGKILLed run."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from rigready.monitor.training.eta import EtaEstimator
from rigready.monitor.training.events import RunMetrics, RunProgress
from rigready.monitor.training.run_alerts import RunAlertEngine
from tests.helpers.training import DATA, log_history, replay


def _kind(entry: dict[str, float]) -> str:
    if "train_runtime" in entry:
        return "summary"
    return "eval" if "eval_loss" in entry else "train"


def _same(a: float | None, b: float) -> bool:
    if a is None:
        return False
    if math.isnan(b):
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=2e-3, abs_tol=1e-9)  # printed with 4 significant digits


@pytest.mark.parametrize("name", ["hf_steady", "hf_nan"])
def test_every_logged_step_is_recorded_as_the_trainer_logged_it(name: str) -> None:
    events, _ = replay(name)
    got = [(m.step, m.kind, m) for m in events if isinstance(m, RunMetrics)]
    history = log_history(name)
    assert [(e["step"], _kind(e)) for e in history] == [(s, k) for s, k, _ in got]
    for entry, (_, kind, m) in zip(history, got, strict=True):
        if kind == "train":
            assert _same(m.loss, entry["loss"]) and _same(m.grad_norm, entry["grad_norm"])
            assert _same(m.learning_rate, entry["learning_rate"])
        elif kind == "eval":
            assert _same(m.eval_loss, entry["eval_loss"])
        else:
            assert _same(m.loss, entry["train_loss"])
            assert _same(m.throughput, entry["train_samples_per_second"])


def test_progress_reaches_the_trainer_total() -> None:
    events, _ = replay("hf_steady")
    bars = [e for e in events if isinstance(e, RunProgress)]
    assert bars[-1].step == bars[-1].total == 120
    assert all(b.total == 120 for b in bars)  # the nested eval bar (4 batches) is never taken


def test_nan_alert_at_the_first_logged_nan_step() -> None:
    events, _ = replay("hf_nan")
    first_nan = next(e["step"] for e in log_history("hf_nan")
                     if any(isinstance(v, float) and math.isnan(v) for v in e.values()))
    engine = RunAlertEngine()
    raised = [a for e in events for a in engine.update(e) if a.kind == "loss_nan"]
    assert len(raised) == 1 and raised[0].step == first_nan == 3
    assert "gradient norm is nan" in raised[0].message


def test_eta_is_within_ten_percent_of_the_real_end_from_a_quarter_of_the_run() -> None:
    # the steady run (its step time is a sleep); the CPU-captured HF run is not steady on a
    # shared 2-core machine (its rate doubled half-way), its ETA is measured on the GPU
    events, _ = replay("tqdm_loop")
    bars = [e for e in events if isinstance(e, RunProgress)]
    total = bars[-1].total
    assert total
    end = next(b.time for b in bars if b.step >= total)
    start = bars[0].time
    eta = EtaEstimator()
    errors = {}
    for b in bars:
        eta.observe(b.time, b.step, b.total)
        for mark in (0.25, 0.5):
            if mark not in errors and b.step >= mark * total:
                est = eta.estimate(b.time)
                assert est is not None
                errors[mark] = abs(est.end_time - end) / (end - start)
    assert errors[0.25] < 0.10 and errors[0.5] < 0.10, errors


def test_eta_counts_down_without_jumping_each_step() -> None:
    events, _ = replay("tqdm_loop")
    eta = EtaEstimator()
    shown = []
    for b in (e for e in events if isinstance(e, RunProgress)):
        eta.observe(b.time, b.step, b.total)
        est = eta.estimate(b.time)
        if est is not None and b.step >= 30:
            shown.append((b.time, est.end_time))
    moves = [abs(b[1] - a[1]) for a, b in itertools.pairwise(shown)]
    run_length = shown[-1][0] - shown[0][0]
    assert max(moves) < 0.05 * run_length  # the predicted end never leaps by 5% of the run


def test_lightning_rich_bar_is_read_as_progress_over_every_epoch() -> None:
    events, _ = replay("lightning_rich")
    bars = [e for e in events if isinstance(e, RunProgress)]
    assert {b.source for b in bars} == {"rich"}
    assert bars[-1].step == bars[-1].total == 60  # 3 epochs x 20 batches
    assert [b.step for b in bars] == sorted(b.step for b in bars)


def test_lightning_tqdm_bar_gives_the_loss_from_its_postfix() -> None:
    events, _ = replay("lightning_tqdm")
    losses = [m for m in events if isinstance(m, RunMetrics) and m.loss is not None]
    assert losses and all(m.source == "postfix" for m in losses)
    bars = [e for e in events if isinstance(e, RunProgress)]
    assert bars[-1].epoch == 2 and bars[-1].step == 20  # "Epoch 2": no epoch count, per epoch


def test_killed_run_keeps_its_last_lines_and_step() -> None:
    events, parser = replay("tqdm_kill")
    bars = [e for e in events if isinstance(e, RunProgress)]
    assert 50 <= bars[-1].step < 61 and bars[-1].total == 300
    assert any("step 50 loss" in line for line in parser.last_lines())


def test_fixture_versions_are_recorded() -> None:
    versions = json.loads((DATA / "versions.json").read_text())
    assert versions["transformers"].startswith("5.") and "tensorboard" in versions
