"""Store.run_rows_after: a live view reads only what a run wrote since it last looked, by row
id (a watched folder's records carry their own, older times)."""

from __future__ import annotations

from pathlib import Path

from rigready.monitor.store import Store
from rigready.monitor.store_runs import ProgressRow
from rigready.monitor.training.events import RunMetrics


def test_only_new_rows_are_read(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with Store(db) as store:
        sid = store.start_session(label="run", host="h", interval_s=1.0, started=100.0)
        other = store.start_session(label="other", host="h", interval_s=1.0, started=100.0)
        store.start_run(sid, label="run", command=("python", "t.py"), started=100.0)
        store.add_run_metrics(sid, RunMetrics(101.0, 5, loss=2.0))
        store.add_run_metrics(other, RunMetrics(101.0, 5, loss=9.0))
        store.add_run_progress(sid, ProgressRow(101.0, 5, 100, 5.0, 19.0, None, 100.0))
        store.add_event(sid, t=101.5, kind="alert", name="loss_spike", state="raised",
                        message="spike")
        store.commit()
    with Store(db, readonly=True) as reader:
        first = reader.run_rows_after(sid)
        assert [m.loss for m in first.metrics] == [2.0]
        assert [p.step for p in first.progress] == [5]
        assert [(e.name, e.state, e.session_id) for e in first.events] == [
            ("loss_spike", "raised", sid)]
        cursors = (first.metrics_after, first.progress_after, first.events_after)
        assert reader.run_rows_after(sid, *cursors).metrics == ()
        with Store(db) as writer:
            # a record read late from a log folder, older than what came before
            writer.add_run_metrics(sid, RunMetrics(90.0, 3, loss=float("nan")))
            writer.add_run_progress(sid, ProgressRow(102.0, 10, 100, 5.0, 18.0, None, 90.0))
            writer.commit()
        again = reader.run_rows_after(sid, *cursors)
        assert [m.step for m in again.metrics] == [3] and again.metrics[0].loss != 2.0
        assert again.metrics[0].loss is not None and again.metrics[0].loss != again.metrics[0].loss
        assert [p.step for p in again.progress] == [10] and again.events == ()
