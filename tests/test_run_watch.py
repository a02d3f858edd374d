"""``--watch``: the folder watcher on captured runs (TensorBoard events through tensorboard's
own reader, trainer_state.json, metrics.csv), growing and broken files, missing folders."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from rigready.monitor.training.events import RunHints, RunMetrics, RunProgress
from rigready.monitor.training.watch import RunWatcher, WatchError
from rigready.monitor.training.watch_sources import CsvSource, TrainerStateSource
from tests.helpers.training import DATA, log_history


def _metrics(events: Sequence[object]) -> list[RunMetrics]:
    return [e for e in events if isinstance(e, RunMetrics)]


def test_tensorboard_events_give_every_logged_step(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    src = DATA / "hf_steady" / "out" / "runs"
    shutil.copytree(src, tmp_path / "runs")
    watcher = RunWatcher(tmp_path, clock=lambda: 0.0)
    events = watcher.poll() + watcher.poll()
    got = [(m.step, m.kind) for m in _metrics(events)]
    want = [(e["step"], "summary" if "train_runtime" in e else
             "eval" if "eval_loss" in e else "train") for e in log_history("hf_steady")]
    assert got == want
    hints = [e for e in events if isinstance(e, RunHints)]
    assert any(h.total_steps == 120 and h.batch_per_device == 8 for h in hints)


def test_a_growing_event_file_is_tailed_and_a_cut_record_waited_for(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    source = next((DATA / "hf_steady" / "out" / "runs").rglob("events.out.tfevents.*"))
    data = source.read_bytes()
    target = tmp_path / source.name
    target.write_bytes(data[: len(data) // 2 + 7])  # ends inside a record
    watcher = RunWatcher(tmp_path, clock=lambda: 0.0)
    first = _metrics(watcher.poll() + watcher.poll())
    with target.open("ab") as handle:
        handle.write(data[len(data) // 2 + 7:])
    rest = _metrics(watcher.poll() + watcher.poll())
    steps = [m.step or 0 for m in first + rest]
    assert steps == sorted(steps) and len(steps) == len(set((m.step, m.kind)
                                                            for m in first + rest))
    assert len(first + rest) == len(log_history("hf_steady"))
    assert not watcher.notices


def test_a_corrupt_event_file_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    (tmp_path / "events.out.tfevents.1.host.1.0").write_bytes(b"\x00garbage" * 100)
    watcher = RunWatcher(tmp_path, clock=lambda: 0.0)
    for _ in range(8):
        assert _metrics(watcher.poll()) == []
    assert len(watcher.notices) == 1 and "not a complete TensorBoard record" in \
        watcher.notices[0]


def test_trainer_state_without_tensorboard_and_a_half_written_file(tmp_path: Path) -> None:
    state = DATA / "hf_nan" / "out" / "trainer_state.json"
    target = tmp_path / "trainer_state.json"
    text = state.read_text()
    target.write_text(text[: len(text) // 2])  # the Trainer rewrites it, not atomically
    source = TrainerStateSource(target)
    assert source.poll() == []
    target.write_text(text)
    events = source.poll()
    metrics = _metrics(events)
    assert len(metrics) == len(log_history("hf_nan"))
    first_nan = next(m for m in metrics if m.non_finite())
    assert first_nan.step == 3 and math.isnan(first_nan.grad_norm or 0.0)
    assert [e.total for e in events if isinstance(e, RunProgress)] == [40]


def test_metrics_csv_appends_partial_lines_and_rewrites(tmp_path: Path) -> None:
    rows = (DATA / "lightning_tqdm" / "out" / "lightning_logs" / "version_0" /
            "metrics.csv").read_bytes().splitlines(keepends=True)
    path = tmp_path / "metrics.csv"
    path.write_bytes(b"".join(rows[:3]) + rows[3][:5])  # a line still being written
    source = CsvSource(path)
    first = _metrics(source.poll())
    assert len(first) == 2
    path.write_bytes(b"".join(rows))
    second = _metrics(source.poll())
    assert len(first) + len(second) == len(rows) - 1
    wider = rows[0].rstrip(b"\r\n") + b",extra\r\n"  # Lightning rewrites with a wider header
    path.write_bytes(wider + b"".join(r.rstrip(b"\r\n") + b",1\r\n" for r in rows[1:])
                     + b"0,99,1.5,,1\r\n")
    third = _metrics(source.poll())
    assert [(m.step, m.loss) for m in third] == [(100, 1.5)]  # Lightning counts from 0


def test_missing_empty_and_unreadable_folders(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WatchError, match="does not exist"):
        RunWatcher(tmp_path / "nope")
    empty = RunWatcher(tmp_path)
    assert empty.rescan().empty
    assert "events.out.tfevents.*, trainer_state.json, metrics.csv" in empty.looked_for()
    import os

    def denied(path: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "scandir", denied)
    with pytest.raises(WatchError, match="Permission denied"):
        empty.rescan()


def test_a_new_run_folder_takes_over(tmp_path: Path) -> None:
    old = tmp_path / "lightning_logs" / "version_0"
    old.mkdir(parents=True)
    (old / "metrics.csv").write_text("epoch,step,train_loss\n0,4,9.0\n")
    watcher = RunWatcher(tmp_path, clock=lambda: 0.0, rescan_s=0.0)
    assert [m.loss for m in _metrics(watcher.poll())] == [9.0]
    new = tmp_path / "lightning_logs" / "version_1"
    new.mkdir()
    (new / "metrics.csv").write_text("epoch,step,train_loss\n0,4,1.0\n0,9,0.5\n")
    import os

    os.utime(new / "metrics.csv", (2e9, 2e9))
    assert [m.loss for m in _metrics(watcher.poll())] == [1.0, 0.5]
    assert any("following a new run" in n for n in watcher.notices)


@pytest.mark.parametrize(("folder", "flag", "code", "text"), [
    ("missing", "", 2, "does not exist"),
    ("empty", "--exit-if-empty", 1, "looked up to 5 folders down"),
])
def test_cli_bad_folders(tmp_path: Path, folder: str, flag: str, code: int, text: str) -> None:
    (tmp_path / "empty").mkdir()
    cmd = [sys.executable, "-m", "rigready.desktop.cli", "monitor", "--watch",
           str(tmp_path / folder), "--db", str(tmp_path / "db.sqlite3")] + ([flag] if flag else [])
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == code and text in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_cli_follows_a_finished_trainer_folder(tmp_path: Path) -> None:
    shutil.copytree(DATA / "hf_steady" / "out", tmp_path / "out")
    import os

    env = dict(os.environ, RIGREADY_FAKE_PROVIDER="1")
    cmd = [sys.executable, "-m", "rigready.desktop.cli", "monitor", "--watch",
           str(tmp_path / "out"), "--db", str(tmp_path / "db.sqlite3"), "--exit-when-done",
           "--no-desktop-notify", "--duration", "30"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False,
                            env=env)
    assert result.returncode == 0, result.stderr
    out = subprocess.run([sys.executable, "-m", "rigready.desktop.cli", "history", "--db",
                          str(tmp_path / "db.sqlite3"), "--session", "1", "--export", "json"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    document = json.loads(out)
    assert document["run"]["source"] == "watch" and document["run"]["steps"] == 120
    assert len(document["run_metrics"]) == len(log_history("hf_steady"))
