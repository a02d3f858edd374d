"""The loss after NaN, told one way everywhere (closing line, Finished alert, saved run, history,
exporter, JSON export), on the H100 NaN run (tests/data/training/h100-2026-12-06/hf_nan): the
Trainer logs the NaN loss as 0 from step 4 (its nan-inf filter) while the grad norm is NaN from
step 3; its summary ``train_loss`` averages those zeros (0.3226)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

from rigready.desktop.commands.history import _loss_truths, render_run, render_runs
from rigready.desktop.commands.run_support import summary_line
from rigready.monitor.exporter import RUN_METRICS
from rigready.monitor.store import Store
from rigready.monitor.store_runs import final_fields
from rigready.monitor.training.events import RunEnded, RunMetrics
from rigready.monitor.training.loss_truth import LossWatch, loss_truth
from rigready.monitor.training.run_alerts import RunAlertEngine
from rigready.monitor.training.tracker import RunInfo, RunSnapshot, RunTracker
from tests.helpers.training import H100, log_history, replay

NAN_RUN = f"{H100}/hf_nan"
TOLD = ("loss NaN since step 4 (logged as 0; grad norm NaN since step 3; last finite 6.432 at "
        "step 3)")


def _followed() -> tuple[list[RunMetrics], RunSnapshot, RunAlertEngine, list[str]]:
    events, _ = replay(NAN_RUN)
    tracker = RunTracker(RunInfo("nan", ("train",), events[0].time))
    engine = RunAlertEngine(started=events[0].time)
    said: list[str] = []
    for event in events:
        tracker.apply(event)
        said += [a.message for a in engine.update(event)]
    end = RunEnded(time=events[-1].time, outcome="finished", exit_code=0, duration_s=18.0)
    tracker.apply(end)
    said += [a.message for a in engine.update(end)]
    metrics = [e for e in events if isinstance(e, RunMetrics)]
    return metrics, tracker.snapshot(end.time), engine, said


def test_the_trainer_logged_a_filtered_zero_after_the_nan_grad_norm() -> None:
    history = log_history(NAN_RUN)
    first_bad = next(e for e in history if any(
        isinstance(v, float) and not math.isfinite(v) for v in e.values()))
    assert (first_bad["step"], round(first_bad["loss"], 3)) == (3, 6.432)  # grad norm NaN there
    after = [e["loss"] for e in history if "loss" in e and e["step"] > 3]
    assert after and set(after) == {0.0}
    assert history[-1]["train_loss"] < 1  # the summary averages the zeros in


def test_closing_line_alert_and_snapshot_tell_the_same_truth() -> None:
    _, snap, engine, said = _followed()
    assert snap.loss_truth.text() == TOLD
    assert snap.loss is not None and math.isnan(snap.loss)
    line = summary_line(snap, 2, Path("db"))
    assert TOLD in line and "loss 0," not in line and "0.3226" not in line
    finished = [m for m in said if m.startswith("Finished")]
    assert finished == [f"Finished in 0m18s at step 60, {TOLD}"]
    assert engine.final_loss is not None and math.isnan(engine.final_loss)


def test_the_loss_chart_has_no_filtered_zeros() -> None:
    metrics, snap, _, _ = _followed()
    tracker = RunTracker(snap.info)
    for m in metrics:
        tracker.apply(m)
    steps, values = tracker.series("loss")
    assert not any(v == 0.0 for v in values)
    assert all(math.isnan(v) for s, v in zip(steps, values, strict=True) if s >= 4)


def test_the_exporter_says_nan_and_keeps_the_last_finite_loss() -> None:
    _, snap, _, _ = _followed()
    values = {name: get(snap) for name, _, get in RUN_METRICS}
    loss = values["rigready_run_loss"]
    assert loss is not None and math.isnan(loss)
    assert values["rigready_run_last_finite_loss"] == 6.432


def test_the_saved_run_history_and_export_tell_it_too(tmp_path: Path) -> None:
    metrics, snap, _, _ = _followed()
    with Store(tmp_path / "db.sqlite3") as store:
        session = store.start_session(label="nan", host=None, interval_s=1.0, started=0.0)
        store.start_run(session, label="nan", command=("train",), started=0.0, source="wrapper")
        store.add_run_metrics_many(session, metrics)
        store.update_run(session, **final_fields(snap, snap.loss_truth.final))
        store.commit()
        (run,) = store.runs()
        assert run.final_loss is None  # SQLite keeps NaN as no value; the records say why
        truths = _loss_truths(store, [run])
        table = render_runs([run], truths)
        assert "NaN@4" in table and "6.473" not in table and "0.3226" not in table
        records = store.run_metrics(session)
        assert len(records) == 61
        assert TOLD in render_run(run, len(records), loss_truth(records))
        out = io.StringIO()
        store.export_session_json(session, out)
    document = json.loads(out.getvalue())
    assert document["run"]["loss"] == TOLD


def _record(step: int, loss: float, grad: float = 0.5) -> RunMetrics:
    return RunMetrics(time=float(step), step=step, loss=loss, grad_norm=grad)


def test_a_finite_run_is_its_latest_loss() -> None:
    watch = LossWatch()
    for step in range(1, 6):
        watch.observe(_record(step, 2.0 / step))
    watch.observe(RunMetrics(time=9.0, step=5, kind="summary", loss=0.9))
    assert watch.truth().text() == "loss 0.4" and watch.truth().final == 0.4


def test_one_overflowed_step_then_learning_again_recovers() -> None:
    """fp16 loss scaling: one Inf grad norm, the step skipped, the losses real throughout."""
    watch = LossWatch()
    watch.observe(_record(1, 3.0))
    watch.observe(_record(2, 2.9, grad=math.inf))
    truth = watch.truth()
    assert truth.text() == "loss 2.9 (grad norm Inf since step 2; last finite 2.9 at step 2)"
    assert truth.final == 2.9  # the loss itself never went non-finite
    for step in range(3, 8):
        watch.observe(_record(step, 2.8))
    assert watch.truth().text() == "loss 2.8"


def test_a_nan_loss_printed_as_nan_is_nan() -> None:
    watch = LossWatch()
    watch.observe(_record(1, 3.0))
    watch.observe(_record(2, math.nan, grad=math.nan))
    assert watch.truth().text() == "loss NaN since step 2 (last finite 3 at step 1)"
    assert watch.truth().short() == "NaN@2"
