"""The training-monitor proof on an H100 (tests/data/training/h100-2026-12-06, see its README):
what rigready recorded there, live, checked against the trainers' own logs, and the captured
output, event files, trainer_state.json and metrics.csv read again by today's parsers. No GPU,
no torch needed; tensorboard for the event-file tests only."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rigready.monitor.store import Store
from rigready.monitor.training.capture import raw_bytes
from rigready.monitor.training.events import RunEvent, RunMetrics, RunProgress
from rigready.monitor.training.watch import RunWatcher
from tests.helpers.training import DATA, H100, copy_database, log_history, replay

RUN = DATA / H100
HF = ["hf_steady", "hf_nan"]
JOBS = ["hf_steady", "hf_nan", "lightning", "tqdm_loop", "tqdm_kill"]


def _kind(entry: dict[str, float]) -> str:
    return "summary" if "train_runtime" in entry else "eval" if "eval_loss" in entry else "train"


def _history(job: str) -> list[tuple[int, str]]:
    return [(int(e["step"]), _kind(e)) for e in log_history(f"{H100}/{job}")]


def _same(a: float | None, b: float, rel: float) -> bool:
    if a is None:
        return False
    return math.isnan(a) if math.isnan(b) else math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)


def _check_values(metrics: list[RunMetrics], job: str, rel: float) -> None:
    """Each record's values against its log_history entry (matched by step and kind)."""
    by_key: dict[tuple[int | None, str], RunMetrics] = {(m.step, m.kind): m for m in metrics}
    for entry in log_history(f"{H100}/{job}"):
        m = by_key[(int(entry["step"]), _kind(entry))]
        if m.kind == "train":
            assert _same(m.loss, entry["loss"], rel) and _same(m.grad_norm, entry["grad_norm"], rel)
            assert _same(m.learning_rate, entry["learning_rate"], rel)
        elif m.kind == "eval":
            assert _same(m.eval_loss, entry["eval_loss"], rel)
        else:
            assert _same(m.loss, entry["train_loss"], rel)


def _runs(db: Path) -> dict[str, Any]:
    """A proof database's runs by label, each with its logged records and alerts."""
    with Store(db, readonly=True) as store:
        return {str(r.label): {"run": r, "metrics": store.run_metrics(r.session_id),
                               "alerts": [e for e in store.events_between(
                                   -math.inf, math.inf, session_id=r.session_id)
                                   if e.kind == "alert"]}
                for r in store.runs()}


@pytest.fixture(scope="module")
def wrapped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The `rigready run` database of the proof."""
    return _runs(copy_database(f"{H100}/run.sqlite3.gz", tmp_path_factory.mktemp("run")))


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The `rigready monitor --watch` database of the proof."""
    return _runs(copy_database(f"{H100}/watch.sqlite3.gz", tmp_path_factory.mktemp("watch")))


def _watch(folder: Path) -> list[RunEvent]:
    """Everything a watcher reads from a finished folder."""
    watcher = RunWatcher(folder, clock=lambda: 0.0)
    events: list[RunEvent] = []
    for _ in range(4):  # a held TensorBoard step is handed on one poll later
        events += watcher.poll()
    assert not watcher.notices
    return events


def test_the_capture_names_the_card_driver_and_libraries() -> None:
    env = json.loads((RUN / "env.json").read_text())
    assert env["gpu"] == "NVIDIA H100 80GB HBM3" and env["driver"] == "580.159.04"
    assert env["transformers"].startswith("5.") and env["tensorboard"] == "2.21.0"
    assert env["torch"] and env["pytorch-lightning"] and env["tqdm"]


@pytest.mark.parametrize("job", JOBS)
def test_the_terminal_got_every_byte_the_wrapper_read(job: str) -> None:
    # stdout.txt (what `rigready run` wrote to the terminal) is not committed, its hash is
    want = json.loads((RUN / "stdout_sha256.json").read_text())[job]
    data = raw_bytes(RUN / job / "capture.jsonl")
    assert len(data) == want["bytes"] and hashlib.sha256(data).hexdigest() == want["sha256"]


@pytest.mark.parametrize("job", HF)
def test_the_wrapper_recorded_every_logged_step_on_the_gpu(job: str,
                                                           wrapped: dict[str, Any]) -> None:
    metrics = wrapped[job]["metrics"]
    assert [(m.step, m.kind) for m in metrics] == _history(job)
    _check_values(metrics, job, rel=2e-3)  # the Trainer prints 4 significant digits
    run = wrapped[job]["run"]
    assert (run.outcome, run.exit_code, run.steps) == ("finished", 0, run.total_steps)


@pytest.mark.parametrize("job", HF)
def test_watch_reads_every_logged_step_from_event_files_and_trainer_state(
        job: str, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    shutil.copytree(RUN / job / "out", tmp_path / "out")
    metrics = [e for e in _watch(tmp_path / "out") if isinstance(e, RunMetrics)]
    # a finished folder: trainer_state.json's summary may come before the event file's tail
    assert Counter((m.step, m.kind) for m in metrics) == Counter(_history(job))
    assert {m.source for m in metrics} <= {"tensorboard", "trainer_state"}
    _check_values(metrics, job, rel=1e-6)  # event files hold float32


@pytest.mark.parametrize("job", HF)
def test_watch_recorded_every_logged_step_on_the_gpu(job: str,
                                                     watched: dict[str, Any]) -> None:
    metrics = watched[job]["metrics"]
    assert sorted((m.step, m.kind) for m in metrics) == sorted(_history(job))
    _check_values(metrics, job, rel=1e-6)
    assert watched[job]["run"].source == "watch"


def test_nan_is_flagged_at_the_first_nan_step_by_the_wrapper_and_by_watch(
        wrapped: dict[str, Any], watched: dict[str, Any]) -> None:
    first = next(e["step"] for e in log_history(f"{H100}/hf_nan")
                 if any(isinstance(v, float) and math.isnan(v) for v in e.values()))
    assert first == 3
    for db in (wrapped, watched):
        (nan,) = [a for a in db["hf_nan"]["alerts"] if a.name == "loss_nan"]
        assert nan.state == "raised" and f"is nan at step {first}:" in nan.message
    # the alert hook ran within 2 s of the log line with the NaN reaching the wrapper
    events, _ = replay(f"{H100}/hf_nan")
    seen = next(m for m in events if isinstance(m, RunMetrics) and m.non_finite())
    assert seen.step == first
    hook = _hook_times()
    assert 0 <= hook[("hf_nan", "loss_nan")] - seen.time < 2.0


def _hook_times() -> dict[tuple[str, str], float]:
    """(label, alert) -> when the --notify-cmd hook ran, by its own clock."""
    out = {}
    for line in (RUN / "alerts.log").read_text().splitlines():
        label, kind, at = line.split("\t")
        out[(label, kind)] = float(at)
    return out


def test_the_killed_run_keeps_its_outcome_last_lines_and_step(wrapped: dict[str, Any]) -> None:
    run = wrapped["tqdm_kill"]["run"]
    assert (run.outcome, run.exit_code, run.signal) == ("killed", None, 9)
    events, parser = replay(f"{H100}/tqdm_kill")
    bars = [e for e in events if isinstance(e, RunProgress)]
    # the job printed "step 200" and killed itself; tqdm's last redraw (0.1 s apart) said 176
    assert (bars[-1].step, bars[-1].total) == (run.steps, run.total_steps) == (176, 3000)
    assert parser.last_lines() == run.last_lines  # what the recorder kept live, replayed
    assert run.last_lines[-2] == "step 200 loss 0.00530"
    assert "killing myself at" in run.last_lines[-1]
    (crash,) = wrapped["tqdm_kill"]["alerts"]
    assert crash.name == "run_crashed" and "killed by signal 9" in crash.message
    killed = float(re.findall(r"killing myself at ([0-9.]+)", run.last_lines[-1])[0])
    assert 0 <= _hook_times()[("tqdm_kill", "run_crashed")] - killed < 2.0
    stderr = (RUN / "tqdm_kill" / "stderr.txt").read_text()
    assert "rigready run: killed (signal 9) after 0m08s, step 176/3000" in stderr


def test_lightning_metrics_csv_counts_steps_as_the_bar_does(tmp_path: Path,
                                                            watched: dict[str, Any]) -> None:
    shutil.copytree(RUN / "lightning" / "out", tmp_path / "out")
    events = _watch(tmp_path / "out")
    metrics = [e for e in events if isinstance(e, RunMetrics)]
    rows = (RUN / "lightning" / "out" / "lightning_logs" / "version_0" /
            "metrics.csv").read_text().splitlines()[1:]
    assert len(metrics) == len(rows) == 84
    assert Counter(m.kind for m in metrics) == {"train": 80, "eval": 4}
    assert [m.step for m in metrics if m.kind == "eval"] == [100, 200, 300, 400]
    progress = [e for e in events if isinstance(e, RunProgress)]
    assert progress[-1].step == 400 and progress[-1].total is None  # metrics.csv has no total
    # the same run under the wrapper: the Rich bar said 400/400 and the same final losses
    bars = [e for e in replay(f"{H100}/lightning")[0] if isinstance(e, RunProgress)]
    assert (bars[-1].step, bars[-1].total, bars[-1].epochs) == (400, 400, 4)
    last_train = [m for m in metrics if m.kind == "train"][-1]
    assert last_train.loss == pytest.approx(22.0555, abs=1e-4)
    assert metrics[-1].eval_loss == pytest.approx(183.652, abs=1e-3)
    # recorded on the GPU machine before the CSV's zero-based steps were counted from one
    recorded = watched["lightning"]["metrics"]
    assert [m.step + 1 for m in recorded if m.step is not None] == [m.step for m in metrics]


def test_the_tqdm_loop_is_read_to_its_end(wrapped: dict[str, Any]) -> None:
    events, _ = replay(f"{H100}/tqdm_loop")
    bars = [e for e in events if isinstance(e, RunProgress)]
    assert (bars[-1].step, bars[-1].total, bars[-1].unit) == (1500, 1500, "step")
    assert [b.step for b in bars] == sorted(b.step for b in bars)
    assert bars[-1].rate == pytest.approx(42.99)  # "1500/1500 [00:34<00:00, 42.99step/s, ..."
    losses = [m for m in events if isinstance(m, RunMetrics) and m.loss is not None]
    assert losses[-1].step == 1500 and losses[-1].loss == 0.0046  # the job printed 0.00459
    run = wrapped["tqdm_loop"]["run"]
    assert (run.outcome, run.steps, run.total_steps, run.final_loss) == (
        "finished", 1500, 1500, 0.0046)


def test_the_recorded_runs_hold_the_processes_own_vram(wrapped: dict[str, Any]) -> None:
    card = 85_520_809_984  # NVML's total for the H100 80GB HBM3
    for label in JOBS:
        run = wrapped[label]["run"]
        assert run.card_vram_total_bytes == card
        assert run.peak_process_vram_bytes is not None
        assert 0 < run.peak_process_vram_bytes < card
    # the LoRA job holds about 5 GiB, the small loops about 1 GiB
    assert wrapped["hf_steady"]["run"].peak_process_vram_bytes == 5_314_183_168
    assert wrapped["tqdm_loop"]["run"].peak_process_vram_bytes < 2 * 2**30

