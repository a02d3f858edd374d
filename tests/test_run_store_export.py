"""Runs in the monitor database (additive migration v1 -> v2), ``rigready history --runs``,
the Prometheus run metrics, the Grafana dashboard, notifications and the estimator link."""

from __future__ import annotations

import io
import json
import math
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rigready.monitor.exporter import (
    GPU_METRICS,
    HOST_METRICS,
    RUN_METRICS,
    RUN_THROUGHPUT,
    Exporter,
)
from rigready.monitor.schema import MIGRATIONS
from rigready.monitor.store import Store
from rigready.monitor.store_runs import ProgressRow
from rigready.monitor.training.events import RunEnded, RunMetrics
from rigready.monitor.training.notify import (
    Notice,
    Notifier,
    command_argv,
    command_env,
    desktop_argv,
    split_command,
)
from rigready.monitor.training.tracker import RunInfo, RunTracker

ROOT = Path(__file__).resolve().parent.parent


def test_a_v1_database_gains_the_run_tables_and_keeps_its_sessions(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with Store(db, migrations=MIGRATIONS[:1]) as old:
        sid = old.start_session(label="before", host="h", interval_s=1.0, started=1.0)
    with Store(db) as store:
        assert store.schema_version() == len(MIGRATIONS) == 2
        assert [s.label for s in store.sessions()] == ["before"] and store.run(sid) is None
        store.start_run(sid, label="lora", command=("python", "train.py"), started=1.0)
        store.add_run_metrics(sid, RunMetrics(time=2.0, step=3, loss=math.nan, grad_norm=math.inf,
                                              learning_rate=1e-4, extra=(("acc", 0.5),)))
        store.add_run_progress(sid, ProgressRow(2.0, 3, 10, 1.5, 4.7, 2**30, 99.0))
        store.update_run(sid, outcome="crashed", exit_code=1, steps=3, last_lines=["boom"])
        store.commit()
    with Store(db, readonly=True) as store:
        run = store.run(sid)
        assert run is not None and run.outcome == "crashed" and run.command == ("python",
                                                                                "train.py")
        (m,) = store.run_metrics(sid)
        assert m.loss is not None and math.isnan(m.loss) and m.grad_norm == math.inf
        assert m.extra == (("acc", 0.5),) and store.run_progress(sid)[0].eta_s == 4.7
        out = io.StringIO()
        store.export_session_json(sid, out)
        document = json.loads(out.getvalue())
        assert document["run"]["last_lines"] == ["boom"]
        assert document["run_metrics"][0]["loss"] == "nan"  # JSON has no NaN
        csv_out = io.StringIO()
        store.export_session_csv(sid, csv_out)
        assert csv_out.getvalue().splitlines()[0].endswith("run_learning_rate,run_grad_norm")
    conn = sqlite3.connect(db)
    assert {"runs", "run_metrics", "run_progress"} <= {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_v1_database_reads_without_migrating(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with Store(db, migrations=MIGRATIONS[:1]) as old:
        sid = old.start_session(label="before", host="h", interval_s=1.0, started=1.0)
    with Store(db, readonly=True) as store:  # 'history' and a replay on a file not migrated
        assert store.schema_version() == 1 and store.runs() == [] and store.run(sid) is None
        assert store.run_metrics(sid) == [] and [s.id for s in store.sessions()] == [sid]


def test_history_lists_runs_and_details(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with Store(db) as store:
        sid = store.start_session(label="r", host="h", interval_s=1.0, started=100.0)
        store.start_run(sid, label="r", command=("python", "t.py"), started=100.0)
        store.update_run(sid, outcome="finished", exit_code=0, steps=300, total_steps=300,
                         final_loss=0.83, ended=162.0, peak_process_vram_bytes=5 * 2**30,
                         comparison={"estimate_peak_bytes": 6 * 2**30,
                                     "measured_peak_bytes": 5 * 2**30, "saved": True})
        store.end_session(sid, 162.0)

    def history(*words: str) -> str:
        return subprocess.run([sys.executable, "-m", "rigready.desktop.cli", "history", "--db",
                               str(db), *words], capture_output=True, text=True, check=True,
                              timeout=60).stdout

    runs = history("--runs")
    assert re.search(r"finished\s+0\s+300/300\s+0.83\s+5.00\s+r", runs), runs
    assert "[run finished, step 300]" in history()
    details = history("--session", str(sid))
    assert "estimate 6.00 GiB vs measured 5.00 GiB" in details and "kept as a measurement" in \
        details


def test_exporter_publishes_run_metrics_with_a_run_label() -> None:
    tracker = RunTracker(RunInfo("lora r16", ("python",), 0.0, session_id=4))
    from rigready.monitor.training.events import ProcessTick, RunProgress

    for i in range(1, 40):
        tracker.apply(RunProgress(time=float(i), step=i * 2, total=200, rate=2.0))
    tracker.apply(RunMetrics(time=40.0, step=78, loss=1.25, throughput=900.0,
                             throughput_unit="tokens/s"))
    tracker.apply(ProcessTick(time=40.0, alive=True, process_vram_bytes=3 * 2**30))
    exporter = Exporter(hostname="box")
    exporter.update_run(tracker.snapshot(40.0))
    from prometheus_client import generate_latest

    text = generate_latest(exporter.registry).decode()
    assert 'rigready_run_step{Hostname="box",run="lora r16"} 78.0' in text
    assert 'rigready_run_loss{Hostname="box",run="lora r16"} 1.25' in text
    assert re.search(r'rigready_run_eta_seconds\{Hostname="box",run="lora r16"\} \d', text)
    assert 'rigready_run_throughput{Hostname="box",run="lora r16",unit="tokens/s"} 900.0' in text
    tracker.apply(RunEnded(time=50.0, outcome="finished", exit_code=0))
    exporter.update_run(tracker.snapshot(50.0))
    assert 'rigready_run_running{Hostname="box",run="lora r16"} 0.0' in generate_latest(
        exporter.registry).decode()


def test_grafana_dashboard_is_importable_and_names_real_metrics() -> None:
    dashboard = json.loads((ROOT / "packaging" / "grafana" / "rigready-dashboard.json")
                           .read_text())
    assert dashboard["title"] and dashboard["schemaVersion"] >= 30 and dashboard["uid"]
    known = {s.name for s in GPU_METRICS} | {n for n, _, _ in HOST_METRICS} | {
        n for n, _, _ in RUN_METRICS} | {RUN_THROUGHPUT}
    used = set()
    for panel in dashboard["panels"]:
        assert {"id", "type", "title", "gridPos"} <= set(panel)
        for target in panel.get("targets", []):
            used |= set(re.findall(r"\b(DCGM_FI_\w+|rigready_\w+)", target["expr"]))
    assert used and used <= known, used - known
    assert {"rigready_run_loss", "rigready_run_eta_seconds", "rigready_run_throughput",
            "DCGM_FI_DEV_GPU_UTIL"} <= used


def _notice(message: str) -> Notice:
    return Notice(kind="run_crashed", state="raised", title="Crashed", message=message,
                  level="bad", time=1.0, step=7, label="lora")


def test_notify_command_gets_hostile_text_as_one_argument(tmp_path: Path) -> None:
    hostile = "x'; rm -rf / #$(reboot) `id` \"q\" \n next"
    words = split_command("notify.sh --title {title} '{message}' {step}")
    argv = command_argv(words, _notice(hostile))
    assert argv == ["notify.sh", "--title", "Crashed", hostile, "7"]
    env = command_env(_notice(hostile), base={})
    assert env["RIGREADY_ALERT_MESSAGE"] == hostile and env["RIGREADY_ALERT_KIND"] == \
        "run_crashed"
    script = tmp_path / "hook.py"
    out = tmp_path / "seen.json"
    script.write_text(f"import json, os, sys\njson.dump([sys.argv[1:], os.environ["
                      f"'RIGREADY_ALERT_MESSAGE']], open({str(out)!r}, 'w'))\n")
    notifier = Notifier(command=(sys.executable, str(script), "{message}"), desktop=False)
    notifier.notify(_notice(hostile))
    notifier.reap(10.0)
    assert json.loads(out.read_text()) == [[hostile], hostile]


def test_desktop_notification_only_with_a_session_and_a_tool() -> None:
    which = {"notify-send": "/usr/bin/notify-send"}.get
    bus = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"}
    argv = desktop_argv(_notice("boom"), which, bus)
    assert argv is not None and argv[0] == "/usr/bin/notify-send" and argv[-1] == "boom"
    assert desktop_argv(_notice("boom"), which, {}) is None  # over SSH: no session bus
    assert desktop_argv(_notice("boom"), lambda name: None, bus) is None
    gdbus = desktop_argv(_notice("boom"), {"gdbus": "/usr/bin/gdbus"}.get, bus)
    assert gdbus is not None and "org.freedesktop.Notifications.Notify" in gdbus


def test_estimator_link_compares_and_keeps_the_measurement(tmp_path: Path) -> None:
    import argparse

    from rigready.desktop.commands.estimate import add_run_arguments, add_workload_arguments
    from rigready.desktop.commands.run_link import close_loop, describe_job, steady_step_seconds

    parser = argparse.ArgumentParser()
    add_workload_arguments(parser)
    add_run_arguments(parser)
    args = parser.parse_args(["--method", "lora", "--batch", "4", "--seq", "512"])
    args.model, args.gpu, args.profile, args.gpus = "7B", "RTX 4090", None, 1
    link = describe_job(args)
    assert link.job["method"] == "lora" and link.job["estimate_peak_bytes"] > 0
    assert link.oom_advice and "GiB" in link.oom_advice[0]
    tracker = RunTracker(RunInfo(None, ("t",), 0.0))
    from rigready.monitor.training.events import ProcessTick, RunProgress

    for i in range(60):
        tracker.apply(RunProgress(time=float(i), step=i * 2, total=120))
    tracker.apply(ProcessTick(time=60.0, alive=True, process_vram_bytes=15 * 2**30))
    tracker.apply(RunEnded(time=61.0, outcome="finished", exit_code=0))
    step_s = steady_step_seconds(tracker.progress_points)
    assert step_s == pytest.approx(0.5)
    comparison, problem = close_loop(link, tracker.snapshot(61.0), step_s, tmp_path / "h.db")
    assert problem is None and comparison["saved"] and comparison["measured_step_seconds"] == 0.5
    with Store(tmp_path / "h.db", readonly=True) as store:
        (saved,) = store.list_bench_results(kind="measure")
    assert saved.result["status"] == "ok" and saved.result["peak_bytes"] == 15 * 2**30
