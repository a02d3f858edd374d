"""The figures of the training-monitor proof (issue 21, item 7) from what
benchmarks/training_monitor_proof.sh left in its work folder: every logged step against the
Trainer's own log_history, ETA error at 25 % and 50 % of the steady run, NaN and crash alert
latency (from the ``--notify-cmd`` hook's own clock), the wrapper's overhead, and what
``--watch`` recorded. Prints the report and writes it as JSON.

    python benchmarks/training_proof_report.py WORK_DIR OUT.json
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from rigready.monitor.store import Store
from rigready.monitor.training.capture import read_capture
from rigready.monitor.training.events import RunEvent, RunMetrics, RunProgress
from rigready.monitor.training.replay import replay_capture, shown_eta_errors


def replay(capture: Path) -> list[RunEvent]:
    """The capture's events, each at its chunk's time."""
    return replay_capture(capture)[0]


def _kind(entry: dict[str, Any]) -> str:
    return "summary" if "train_runtime" in entry else "eval" if "eval_loss" in entry else "train"


def steps_vs_history(job: Path) -> dict[str, Any]:
    """Logged records recorded from the stream vs the Trainer's log_history."""
    history = json.loads((job / "out" / "trainer_state.json").read_text())["log_history"]
    got = [(m.step, m.kind, m.loss) for m in replay(job / "capture.jsonl")
           if isinstance(m, RunMetrics)]
    want = [(e["step"], _kind(e)) for e in history]
    same = [(s, k) for s, k, _ in got] == want
    return {"log_history": len(want), "recorded": len(got), "all_match": same}


def eta_errors(job: Path) -> dict[str, Any]:
    """ETA error (share of the run) at 25 % and 50 % of the steps, as a screen showed it: the
    events through a RunTracker, its snapshot read once a second (``shown_eta_errors``)."""
    events = replay(job / "capture.jsonl")
    bars = [e for e in events if isinstance(e, RunProgress)]
    if not bars or not bars[-1].total:
        return {"error": "no progress bar with a total"}
    total = bars[-1].total
    end = next(b.time for b in bars if b.step >= total)
    start = next(b.time for b in bars if b.step >= 1)
    errors = shown_eta_errors(events, (0.25, 0.5))
    out: dict[str, Any] = {"run_s": round(end - start, 2), "steps": total}
    for mark in (0.25, 0.5):
        error = errors.get(mark)
        out[f"at_{int(mark * 100)}pct"] = None if error is None else round(error, 4)
    return out


def alert_times(work: Path) -> list[tuple[str, str, float]]:
    """(job label, alert kind, emitted at) from the --notify-cmd hook's log."""
    out = []
    log = work / "alerts.log"
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split("\t")
        if len(parts) >= 3:
            out.append((parts[0], parts[1], float(parts[2])))
    return out


def nan_latency(job: Path, alerts: list[tuple[str, str, float]]) -> dict[str, Any]:
    """Seconds from the first logged NaN reaching the wrapper to the alert's hook running."""
    history = json.loads((job / "out" / "trainer_state.json").read_text())["log_history"]
    first = next((e["step"] for e in history
                  if any(isinstance(v, float) and math.isnan(v) for v in e.values())), None)
    seen = next((m for m in replay(job / "capture.jsonl")
                 if isinstance(m, RunMetrics) and m.non_finite()), None)
    emitted = next((t for label, kind, t in alerts if label == job.name and kind == "loss_nan"),
                   None)
    return {"first_nan_step_log_history": first,
            "alert_step": None if seen is None else seen.step,
            "latency_s": None if seen is None or emitted is None else round(emitted - seen.time, 3)}


def crash_latency(job: Path, alerts: list[tuple[str, str, float]]) -> dict[str, Any]:
    """Seconds from the job's SIGKILL (its own clock, printed just before) to the alert's hook."""
    killed = None
    for _, data in read_capture(job / "capture.jsonl"):
        m = re.search(rb"killing myself at ([0-9.]+)", data)
        if m:
            killed = float(m[1])
    emitted = next((t for label, kind, t in alerts
                    if label == job.name and kind == "run_crashed"), None)
    return {"killed_at": killed, "alert_at": emitted,
            "latency_s": None if killed is None or emitted is None else round(emitted - killed, 3)}


def overhead(work: Path) -> dict[str, Any]:
    """train_runtime of the same HF job with and without the wrapper."""
    out: dict[str, Any] = {}
    for name in ("hf_steady", "hf_bare"):
        path = work / name / "out" / "trainer_state.json"
        if path.exists():
            history = json.loads(path.read_text())["log_history"]
            runtime = next((e["train_runtime"] for e in history if "train_runtime" in e), None)
            out[f"{name}_train_runtime_s"] = runtime
    a, b = out.get("hf_steady_train_runtime_s"), out.get("hf_bare_train_runtime_s")
    if a and b:
        out["overhead_pct"] = round(100 * (a - b) / b, 2)
    return out


def stored(db: Path) -> list[dict[str, Any]]:
    """The runs a database holds, with their metric counts."""
    if not db.exists():
        return []
    with Store(db, readonly=True) as store:
        return [{**r.to_dict(), "metrics": len(store.run_metrics(r.session_id)),
                 "alerts": [f"{e.name} {e.state}" for e in store.events_between(
                     -math.inf, math.inf, session_id=r.session_id) if e.kind == "alert"]}
                for r in store.runs()]


def main() -> int:
    work, out = Path(sys.argv[1]), Path(sys.argv[2])
    alerts = alert_times(work)
    report: dict[str, Any] = {}
    for name in ("hf_steady", "hf_nan"):
        if (work / name / "out" / "trainer_state.json").exists():
            report[f"{name}_steps"] = steps_vs_history(work / name)
    for name in ("hf_steady", "tqdm_loop"):
        if (work / name / "capture.jsonl").exists():
            report[f"{name}_eta"] = eta_errors(work / name)
    if (work / "hf_nan").exists():
        report["nan_alert"] = nan_latency(work / "hf_nan", alerts)
    if (work / "tqdm_kill").exists():
        report["crash_alert"] = crash_latency(work / "tqdm_kill", alerts)
    report["overhead"] = overhead(work)
    report["runs_wrapper"] = [{k: r[k] for k in ("label", "outcome", "exit_code", "signal",
                                                 "steps", "total_steps", "final_loss",
                                                 "peak_process_vram_bytes", "metrics",
                                                 "alerts")} for r in stored(work / "run.sqlite3")]
    report["runs_watch"] = [{k: r[k] for k in ("label", "steps", "total_steps", "final_loss",
                                               "metrics", "alerts")}
                            for r in stored(work / "watch.sqlite3")]
    report["alert_hook_log"] = alerts
    out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
