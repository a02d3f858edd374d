"""The run parsers against output captured from the real libraries (tests/data/training, on CPU
and on an H100): every logged step recorded against the Trainer's own log_history, NaN at the
first NaN step, ETA error at 25 % and 50 % of a steady run, Lightning's bars, a SIGKILLed run.
What the H100 run's own records say (databases, --watch, pass-through) is in
test_run_h100_capture.py."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from rigready.monitor.training.eta import EtaEstimator
from rigready.monitor.training.events import RunMetrics, RunProgress
from rigready.monitor.training.replay import shown_eta_errors
from rigready.monitor.training.run_alerts import RunAlertEngine
from tests.helpers.training import DATA, H100, log_history, replay


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


@pytest.mark.parametrize("name", ["hf_steady", "hf_nan", f"{H100}/hf_steady", f"{H100}/hf_nan"])
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


@pytest.mark.parametrize(("name", "total"), [("hf_steady", 120), (f"{H100}/hf_steady", 600)])
def test_progress_reaches_the_trainer_total(name: str, total: int) -> None:
    events, _ = replay(name)
    bars = [e for e in events if isinstance(e, RunProgress)]
    assert bars[-1].step == bars[-1].total == total
    assert all(b.total == total for b in bars)  # the nested eval bar (4 batches) is never taken
    assert [b.step for b in bars] == sorted(b.step for b in bars)


@pytest.mark.parametrize("name", ["hf_nan", f"{H100}/hf_nan"])
def test_nan_alert_at_the_first_logged_nan_step(name: str) -> None:
    events, _ = replay(name)
    first_nan = next(e["step"] for e in log_history(name)
                     if any(isinstance(v, float) and math.isnan(v) for v in e.values()))
    engine = RunAlertEngine()
    raised = [a for e in events for a in engine.update(e) if a.kind == "loss_nan"]
    assert len(raised) == 1 and raised[0].step == first_nan == 3
    assert "gradient norm is nan" in raised[0].message


@pytest.mark.parametrize("name", ["tqdm_loop", f"{H100}/hf_steady", f"{H100}/tqdm_loop"])
def test_eta_is_within_ten_percent_of_the_real_end_from_a_quarter_of_the_run(name: str) -> None:
    # the steady runs, through the tracker as a screen shows them (a snapshot a second); the
    # CPU-captured HF run is not steady on a shared 2-core machine (its rate doubled half-way),
    # its ETA is measured on the GPU
    errors = shown_eta_errors(replay(name)[0], (0.25, 0.5))
    assert set(errors) == {0.25, 0.5}
    assert abs(errors[0.25]) < 0.10 and abs(errors[0.5]) < 0.10, errors


@pytest.mark.parametrize("name", ["tqdm_loop", f"{H100}/hf_steady", f"{H100}/tqdm_loop"])
def test_eta_counts_down_without_jumping_each_step(name: str) -> None:
    events, _ = replay(name)
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


def test_a_stalled_runs_eta_holds_instead_of_counting_down_to_zero() -> None:
    """A steady step a second to step 100 of 200, then nothing: the ETA (about 100 s) must not
    reach zero while the run stands still; it holds near what the steps left take."""
    eta = EtaEstimator(smoothing_s=0.0)
    for step in range(1, 101):
        eta.observe(float(step), step, 200)
    assert eta.estimate(100.0).remaining_s == pytest.approx(100.0)  # type: ignore[union-attr]
    # while steps keep coming on time the countdown is the plain one
    assert eta.estimate(100.5).remaining_s == pytest.approx(99.5)  # type: ignore[union-attr]
    for now in (130.0, 300.0, 1000.0):
        left = eta.estimate(now).remaining_s  # type: ignore[union-attr]
        assert left == pytest.approx(99.0)  # 100 steps left, one of them may be nearly done


def test_a_run_seen_through_its_logs_counts_down_within_a_logged_chunk() -> None:
    """Logged every 10 steps (``--watch`` on trainer_state.json): between two records the ETA
    counts down as usual; only a record overdue by more than a chunk's time holds it."""
    eta = EtaEstimator(smoothing_s=0.0)
    for step in range(10, 110, 10):
        eta.observe(float(step), step, 200)
    assert eta.estimate(105.0).remaining_s == pytest.approx(95.0)  # type: ignore[union-attr]
    assert eta.estimate(110.0).remaining_s == pytest.approx(90.0)  # type: ignore[union-attr]
    assert eta.estimate(500.0).remaining_s == pytest.approx(90.0)  # type: ignore[union-attr]
