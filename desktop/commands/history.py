"""``rigready history``: list logged sessions (or, with ``--runs``, the training runs followed by
``rigready run`` / ``monitor --watch``), summarise one (with its run), or export it to CSV/JSON
(a run's metrics included).

Registered by :mod:`rigready.desktop.commands.monitor`. Opens the database read-only, so it works
while ``rigready monitor`` or the window is still writing to it. Says what was lost: a damaged
write-ahead log (found now, or reported by a monitor start), sessions whose monitor was killed
(state "unclosed", with what the database and the lock file tell about them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from rigready.catalog.userfiles import atomic_output, output_target
from rigready.desktop.commands.common import input_file, output_file, positive_int
from rigready.desktop.usecases.errors import UsageError
from rigready.monitor.training.run_alerts import duration_text

if TYPE_CHECKING:  # sqlite-utils takes ~100 ms to import: load the store only when a command runs
    from rigready.monitor.sample import Sample
    from rigready.monitor.store import RunRecord, SessionInfo, Store
    from rigready.monitor.training.loss_truth import LossTruth


def register_history(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``history`` subcommand."""
    parser = subparsers.add_parser(
        "history", help="list logged monitor sessions, or export one",
        description="Without --session: list the sessions. With --session ID: summarise it, "
        "or with --export write it as CSV or JSON (to --output or stdout).",
    )
    parser.add_argument("--db", type=input_file, metavar="PATH",
                        help="SQLite database (default: rigready's data folder)")
    parser.add_argument("--session", type=positive_int, metavar="ID", help="one session")
    parser.add_argument("--runs", action="store_true",
                        help="list the training runs (rigready run, monitor --watch)")
    parser.add_argument("--export", choices=("csv", "json"), help="export the session")
    parser.add_argument("--output", type=output_file, metavar="FILE", help="write the export here")
    parser.add_argument("--force", action="store_true",
                        help="with --output: replace FILE if it exists")
    parser.set_defaults(func=_run_history)


def _open(path: Path) -> Store:
    from rigready.monitor.store import Store, StoreError

    if not path.exists():
        raise UsageError(f"no monitor database at {path}; run 'rigready monitor' first")
    try:
        return Store(path, readonly=True)
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def _run_history(args: argparse.Namespace) -> int:
    from rigready.catalog.paths import database_path
    from rigready.monitor.store import StoreError
    from rigready.monitor.store_lock import monitor_running

    if args.export and args.session is None:
        raise UsageError("--export needs --session ID (see 'rigready history' for the ids)")
    if args.output and not args.export:
        raise UsageError("--output needs --export csv|json")
    path: Path = args.db or database_path()
    if args.output is not None:  # refused before the database is even opened
        output_target(args.output, force=args.force)
    running = monitor_running(path)
    store = _open(path)
    for notice in store.notices:
        print(f"rigready history: warning: {notice}", file=sys.stderr)
    try:
        if args.session is None and args.runs:
            every_run = store.runs()
            print(render_runs(every_run, _loss_truths(store, every_run)))
        elif args.session is None:
            sessions = store.sessions()
            runs = {r.session_id: r for r in store.runs()}
            print(render_sessions(sessions, running=running, runs=runs))
            for line in _losses(store, sessions, running):
                print(f"note: {line}")
        elif args.export:
            _export(store, args.session, args.export, args.output, args.force)
        else:
            info = store.session(args.session)
            print(render_summary(info, store.session_samples(args.session),
                                 [f"{_clock(e.time)}  {e.kind:<9} {e.state:<7} {e.message}"
                                  for e in store.events_between(float("-inf"), float("inf"),
                                                                session_id=args.session)]))
            run = store.run(args.session)
            if run is not None:
                from rigready.monitor.training.loss_truth import loss_truth

                records = store.run_metrics(args.session)
                print(render_run(run, len(records), loss_truth(records)))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    return 0


def _losses(store: Store, sessions: list[SessionInfo], running: bool) -> list[str]:
    """What was lost: what monitor starts reported (damaged logs, sessions never closed,
    saved samples missing), then what the database and the lock file say now."""
    from rigready.monitor.store_lock import read_record
    from rigready.monitor.store_session import LOST_EVENT, UNCLOSED_EVENT, WAL_EVENT, losses

    names = (WAL_EVENT, UNCLOSED_EVENT, LOST_EVENT)
    events = [e for e in store.events_between(float("-inf"), float("inf"))
              if e.kind == "gap" and e.name in names]
    told = {e.session_id for e in events if e.name == UNCLOSED_EVENT}
    lines = [f"{_clock(e.time)} UTC: {e.message}" for e in events]
    lines += [loss.message for loss in losses(sessions, read_record(store.path), running=running)
              if loss.session_id not in told or loss.event != UNCLOSED_EVENT]
    return lines


def _export(store: Store, session: int, kind: str, output: Path | None, force: bool) -> None:
    def write(out: IO[str]) -> int:
        if kind == "csv":
            return store.export_session_csv(session, out)
        return store.export_session_json(session, out)

    if output is None:
        write(sys.stdout)
        return
    store.session(session)  # a missing session is an error before any file is made
    # written beside the target and renamed: a failure leaves an existing file as it was
    with atomic_output(output, force=force, newline="") as out:
        count = write(out)
    print(f"wrote session {session} ({count} {'rows' if kind == 'csv' else 'samples'}) "
          f"to {output}")


def _clock(t: float | None) -> str:
    from rigready.monitor.export import iso_utc

    return "-" if t is None else iso_utc(t)[:19].replace("T", " ")


def render_sessions(sessions: list[SessionInfo], *, running: bool = False,
                    runs: dict[int, RunRecord] | None = None) -> str:
    """The session list as a text table (times in UTC). State: "closed"; "running" (the
    newest open session while a monitor holds the database); "unclosed" (its monitor was
    killed). A training run's outcome stands beside its label."""
    if not sessions:
        return "No sessions yet. Start one with 'rigready monitor'."
    lines = [f"{'ID':>4}  {'started (UTC)':<19}  {'length':>7}  {'samples':>7}  {'state':<8}  "
             f"{'host':<14}  label / GPUs"]
    live = next((s.id for s in sessions if s.ended is None), None) if running else None
    for s in sessions:
        state = ("closed" if s.ended is not None else
                 "running" if s.id == live else "unclosed")
        what = s.label or "-"
        run = (runs or {}).get(s.id)
        if run is not None:
            what += f"  [run {run.outcome}" + (f", step {run.steps}" if run.steps is not None
                                               else "") + "]"
        if s.gpus:
            what += "  (" + "; ".join(s.gpus) + ")"
        length = duration_text(s.duration_s, "-")
        lines.append(f"{s.id:>4}  {_clock(s.started):<19}  {length:>7}  "
                     f"{s.ticks:>7}  {state:<8}  {(s.host or '-')[:14]:<14}  {what}")
    return "\n".join(lines)


def _stat(values: list[float], kind: str) -> str:
    if not values:
        return "?"
    if kind == "mean":
        return f"{sum(values) / len(values):.0f}"
    return f"{max(values):.0f}"


def render_summary(info: SessionInfo, samples: list[Sample], events: list[str]) -> str:
    """One session: who/when, per-GPU mean and peak figures, energy used, and its events."""
    length = duration_text(info.duration_s, "-")
    lines = [f"Session {info.id}: {info.label or '(no label)'} on {info.host or '?'}",
             f"  started {_clock(info.started)} UTC, length {length}, "
             f"{info.ticks} samples every {info.interval_s or 0:g} s"
             + ("" if info.ended is not None else " (not closed: still running or killed)")]
    indexes = sorted({g.index for s in samples for g in s.gpus})
    for index in indexes:
        gpus = [g for s in samples for g in s.gpus if g.index == index]
        util = [g.utilization_pct for g in gpus if g.utilization_pct is not None]
        temp = [g.temperature_c for g in gpus if g.temperature_c is not None]
        power = [g.power_w for g in gpus if g.power_w is not None]
        energy = [g.energy_j for g in gpus if g.energy_j is not None]
        vram = [g.memory_used_pct for g in gpus if g.memory_used_pct is not None]
        used = f"{(energy[-1] - energy[0]) / 3600:.1f} Wh" if len(energy) > 1 else "?"
        lines.append(f"  GPU{index} {gpus[0].name}: utilisation mean {_stat(util, 'mean')}% "
                     f"peak {_stat(util, 'max')}%, temperature peak {_stat(temp, 'max')} °C, "
                     f"power mean {_stat(power, 'mean')} W peak {_stat(power, 'max')} W, "
                     f"VRAM peak {_stat(vram, 'max')}%, energy {used}")
    for note in info.notes:
        lines.append(f"  note: {note}")
    lines.append(f"  events ({len(events)}):" if events else "  no events")
    lines.extend(f"    {e}" for e in events)
    return "\n".join(lines)


def _loss(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _loss_truths(store: Store, runs: list[RunRecord]) -> dict[int, LossTruth]:
    """The loss of each run saved without a final one (its records tell whether it went NaN:
    a NaN is stored as no value)."""
    from rigready.monitor.training.loss_truth import loss_truth

    return {r.session_id: loss_truth(store.run_metrics(r.session_id)) for r in runs
            if r.final_loss is None and r.steps}


def _final_loss(run: RunRecord, truth: LossTruth | None) -> str:
    text = None if truth is None else truth.text()
    if text is None:
        return f"final loss {_loss(run.final_loss)}"
    return f"final {text}" if truth is not None and truth.finite else text


def _gib_text(value: int | None) -> str:
    return "-" if not value else f"{value / 2**30:.2f}"


def render_runs(runs: list[RunRecord], truths: dict[int, LossTruth] | None = None) -> str:
    """The training runs as a text table (times in UTC); ``truths``: the loss of runs whose
    final loss is not a number (``NaN@4``: NaN since step 4)."""
    if not runs:
        return ("No training runs yet. Follow one with 'rigready run -- COMMAND' or "
                "'rigready monitor --watch DIR'.")
    lines = [f"{'ID':>4}  {'started (UTC)':<19}  {'length':>7}  {'outcome':<11}  {'exit':>4}  "
             f"{'steps':>11}  {'loss':>8}  {'VRAM GiB':>8}  label / command"]
    for r in runs:
        steps = "-" if r.steps is None else str(r.steps) + (
            f"/{r.total_steps}" if r.total_steps else "")
        status = "-" if r.exit_code is None and r.signal is None else (
            f"s{r.signal}" if r.signal is not None else str(r.exit_code))
        what = r.label or " ".join(" ".join(r.command).split())[:60] or "-"
        truth = (truths or {}).get(r.session_id)
        loss = truth.short() if truth is not None else _loss(r.final_loss)
        length = duration_text(r.duration_s, "-")
        lines.append(f"{r.session_id:>4}  {_clock(r.started):<19}  {length:>7}  "
                     f"{r.outcome:<11}  {status:>4}  {steps:>11}  {loss:>8}  "
                     f"{_gib_text(r.peak_process_vram_bytes):>8}  {what}")
    return "\n".join(lines)


def render_run(run: RunRecord, metrics: int, truth: LossTruth | None = None) -> str:
    """One run's record: command, outcome, steps, loss (``truth``: as its records tell it,
    NaN included), the run's VRAM, estimate vs measured."""
    how = run.outcome + ("" if run.signal is None else f" (signal {run.signal})") + (
        "" if not run.exit_code else f" (exit status {run.exit_code})") + (
        ", out of GPU memory" if run.out_of_memory else "")
    lines = [f"  run: {' '.join(run.command)}",
             f"    {how}; steps {run.steps if run.steps is not None else '-'}"
             + (f" of {run.total_steps}" if run.total_steps else "")
             + f"; {_final_loss(run, truth)}; {metrics} logged records; the run's "
             f"VRAM peak {_gib_text(run.peak_process_vram_bytes)} GiB"
             + (f" of {_gib_text(run.card_vram_total_bytes)}" if run.card_vram_total_bytes
                else "")]
    if run.job and run.job.get("told_by_run"):  # rigready run without --model
        lines.append("    job as the run told it: " + "; ".join(run.job.get("facts") or ["-"]))
        if run.job.get("not_told"):
            lines.append("    not told: " + "; ".join(run.job["not_told"]))
        lines += [f"    estimate {_gib_text(e.get('peak_bytes'))} GiB ({e.get('assumed')}) vs "
                  f"measured {_gib_text(run.job.get('measured_peak_bytes'))} GiB"
                  for e in run.job.get("estimates") or []]
    elif run.job:
        lines.append(f"    job: {run.job.get('model')} {run.job.get('method')} "
                     f"{run.job.get('precision')} batch {run.job.get('batch')} x "
                     f"{run.job.get('seq_len')}")
    c = run.comparison
    if c:
        est, got = c.get("estimate_peak_bytes"), c.get("measured_peak_bytes")
        if est:
            lines.append(f"    estimate {_gib_text(est)} GiB vs measured {_gib_text(got)} GiB"
                         + (f"; step {c['estimate_step_seconds']:.3g} s estimated vs "
                            f"{c['measured_step_seconds']:.3g} s measured"
                            if c.get("estimate_step_seconds") and c.get("measured_step_seconds")
                            else "")
                         + ("; kept as a measurement" if c.get("saved") else ""))
    if run.last_lines and run.outcome in ("crashed", "killed"):
        lines.append("    last output:")
        lines.extend(f"      {line}" for line in run.last_lines[-8:])
    return "\n".join(lines)
