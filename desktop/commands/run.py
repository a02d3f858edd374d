"""``rigready run [options] -- COMMAND [ARGS...]``: run a training and follow it.

The command runs on a pseudo-terminal (:mod:`rigready.monitor.training.wrapper`): its output
looks as it does without rigready (tqdm redraws in place, colours kept, every byte passed
through in order), Ctrl-C and signals reach it, and rigready exits with its status (128 + N for
signal N; 127 when the command does not exist). Meanwhile rigready reads a copy of the output
(tqdm progress, Trainer log dicts), samples the GPU as ``rigready monitor`` does (with the run's
own VRAM), raises run-aware alerts (NaN, loss spike, stalled, finished, crashed, VRAM nearly
full, throttling) on stderr, as desktop notifications and through ``--notify-cmd``, and keeps
the run in the monitor database (``rigready history``). ``--model``/``--method``... describe the
job as for ``rigready estimate``: the run is then compared with the estimate and kept as a
measurement (:mod:`.run_link`). Nothing rigready does can stop or slow the training.
"""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import Any

from rigready.desktop.commands.common import output_file
from rigready.desktop.commands.run_support import (
    Following,
    add_follow_arguments,
    make_following,
    now,
    open_capture,
    set_up,
    start_exporter,
    stderr_say,
    summary_line,
)
from rigready.desktop.usecases.errors import UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` subcommand."""
    from rigready.desktop.commands.estimate import add_run_arguments, add_workload_arguments

    p = subparsers.add_parser(
        "run", help="run a training command and follow it (progress, loss, ETA, alerts)",
        description="Run COMMAND on a pseudo-terminal, its output unchanged, and follow it: "
        "progress, loss, ETA, its GPU memory, alerts (NaN, spike, stalled, finished, crashed), "
        "saved to the monitor database. Options go before '--'. Exit status: the command's.",
    )
    p.add_argument("--label", metavar="TEXT", help="name of this run, e.g. 'lora r16'")
    p.add_argument("--db", type=Path, metavar="PATH",
                   help="SQLite database (default: rigready's data folder)")
    p.add_argument("--interval", type=float, default=1.0, metavar="S",
                   help="seconds between GPU samples, 0.2-60 (default 1)")
    p.add_argument("--capture", type=output_file, metavar="FILE",
                   help="also write the output stream with timestamps (JSON lines) to FILE")
    p.add_argument("--force", action="store_true", help="with --capture: replace FILE")
    p.add_argument("--prometheus", metavar="HOST:PORT",
                   help="serve /metrics: dcgm-exporter GPU names plus rigready_run_* metrics")
    p.add_argument("--watch", type=Path, metavar="DIR",
                   help="also follow the run's log folder (TensorBoard events, "
                   "trainer_state.json, metrics.csv)")
    p.add_argument("--quiet", action="store_true", help="no alert lines on stderr")
    add_follow_arguments(p)
    job = p.add_argument_group(
        "the job (optional; as for 'rigready estimate'): compare with the estimate and keep "
        "the measurement")
    job.add_argument("--model", metavar="MODEL", help="the model being trained")
    add_workload_arguments(job)  # type: ignore[arg-type]  # a group takes the same calls
    add_run_arguments(job)  # type: ignore[arg-type]
    p.set_defaults(method=None, gpu=None, profile=None, gpus=1, vram_gib=None, free_gib=None,
                   ram_gib=None, func=_run)
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")


def _command(args: argparse.Namespace) -> list[str]:
    words = list(args.argv)
    if words and words[0] == "--":
        words = words[1:]
    if not words:
        raise UsageError("no command to run: rigready run [options] -- COMMAND [ARGS...]")
    return words


def _check(args: argparse.Namespace) -> None:
    from rigready.monitor.sampler import SamplerError, validate_interval

    try:
        validate_interval(args.interval)
    except SamplerError as exc:
        raise UsageError(f"--interval: {exc}") from None
    if args.model is None and args.method is not None:
        raise UsageError("--method describes the job of --model; give --model too")
    if args.model is not None and args.method is None:
        raise UsageError("--model needs --method (lora, qlora, full...), as for estimate")
    if args.watch is not None and not args.watch.is_dir():
        raise UsageError(f"--watch: {args.watch} is not a folder")


def _run(args: argparse.Namespace) -> int:
    from rigready.catalog.paths import database_path
    from rigready.monitor.training.tracker import RunInfo
    from rigready.monitor.training.wrapper import LaunchError, PtyRun, main_thread_only

    argv = _command(args)
    _check(args)
    say = stderr_say("rigready run")
    db_path: Path = args.db or database_path()
    capture = open_capture(args.capture, args.force, protect=(db_path,))  # refused before any work
    exporter = start_exporter(args.prometheus, say)
    holder: dict[str, Following] = {}

    def on_output(data: bytes, t: float) -> None:
        holder["follow"].recorder.feed_output(data, t)

    main_thread_only()
    child = PtyRun(argv, on_output=on_output, on_problem=lambda text: say(f"warning: {text}"))
    started = now()
    try:
        pid = child.start()  # before any thread: the fork runs a small function in the child
    except LaunchError as exc:
        if exporter is not None:
            exporter.close()
        if capture is not None:
            capture.close()
        say(f"error: {exc}")
        return exc.status
    info = RunInfo(label=args.label, command=tuple(argv), started=started, pid=pid)
    follow = make_following(info, args, say, capture=capture, db_path=db_path,
                            exporter=exporter, run_fields={"cwd": os.getcwd()})
    holder["follow"] = follow
    link_box: dict[str, Any] = {}
    setup = threading.Thread(target=_set_up, args=(follow, args, db_path, link_box, say),
                             name="rigready-run-setup", daemon=True)
    setup.start()
    watcher_stop = threading.Event()
    if args.watch is not None:
        threading.Thread(target=_watch_folder, args=(follow, args.watch, watcher_stop, say),
                         name="rigready-run-watch", daemon=True).start()
    ended = child.pump()
    watcher_stop.set()
    return _finish(follow, ended, started, link_box, db_path, capture, say, child.cpu_seconds)


def _set_up(follow: Following, args: argparse.Namespace, db_path: Path,
            link_box: dict[str, Any], say: Any) -> None:
    if args.model is not None:
        link_box["link"] = _describe(args, say)
        link = link_box["link"]
        if link is not None:
            follow.recorder.add_run_fields(job=link.job)
            follow.recorder.set_oom_advice(link.oom_advice)
    set_up(follow, db_path=db_path, interval_s=args.interval, label=args.label)


def _describe(args: argparse.Namespace, say: Any) -> Any:
    from rigready.desktop.commands.run_link import EstimateError, describe_job

    try:
        return describe_job(args)
    except (EstimateError, UsageError) as exc:
        say(f"warning: --model: {exc}; the run is followed without its estimate")
    except Exception as exc:  # noqa: BLE001 - the estimate must never stop the run
        say(f"warning: no estimate for --model ({exc!r}); the run goes on")
    return None


def _watch_folder(follow: Following, folder: Path, stop: threading.Event, say: Any) -> None:
    from rigready.monitor.training.watch import RunWatcher, WatchError

    try:
        watcher = RunWatcher(folder)
    except WatchError as exc:
        say(f"warning: --watch: {exc}")
        return
    told = 0
    while not stop.wait(1.0):
        try:
            follow.recorder.feed_events(watcher.poll())
        except Exception as exc:  # noqa: BLE001 - a log reader must not stop the run
            say(f"warning: --watch stopped: {exc!r}")
            return
        for line in watcher.notices[told:]:
            say(line)
        told = len(watcher.notices)


def _finish(follow: Following, ended: Any, started: float, link_box: dict[str, Any],
            db_path: Path, capture: Any, say: Any, child_cpu: float = 0.0) -> int:
    import signal as signals

    from rigready.monitor.training.events import Outcome, RunEnded

    outcome: Outcome
    if ended.exit_code == 0 and ended.signal is None:
        outcome = "finished"
    elif ended.signal == signals.SIGINT or (
            ended.forwarded is not None and ended.signal == ended.forwarded):
        outcome = "interrupted"
    elif ended.signal is not None:
        outcome = "killed"
    else:
        outcome = "crashed"
    run_end = RunEnded(time=ended.time, outcome=outcome, exit_code=ended.exit_code,
                       signal=ended.signal, duration_s=ended.time - started)
    follow.ready.wait(30.0)
    snap = follow.recorder.finish(run_end)
    follow.close()
    if capture is not None:
        try:
            capture.close()
        except OSError as exc:
            say(f"warning: the capture file could not be finished: {exc.strerror}")
    link = link_box.get("link")
    if link is not None:
        _close_loop(link, follow, snap, say)
    elif snap.hints is not None:
        _told(follow, snap, say)
    say(summary_line(snap, follow.session_id, follow.db_path))
    _log_cost(follow, snap, child_cpu)
    status: int = ended.status
    return status


def _told(follow: Following, snap: Any, say: Any) -> None:
    """Without --model: the job as the run told it, and the estimate where it allows one."""
    from rigready.desktop.commands.run_told import told_job

    try:
        told = told_job(snap.hints, _this_gpu())
    except Exception as exc:  # noqa: BLE001 - the run is over; say it and exit with its status
        say(f"warning: could not describe the job from what the run printed: {exc!r}")
        return
    peak = snap.process_vram_peak_bytes
    for line in told.lines(peak):
        say(line)
    if follow.session_id is not None and follow.db_path is not None:
        _store_comparison(follow.db_path, follow.session_id, None, say, job=told.record(peak))


def _this_gpu() -> Any:
    """This PC's GPU as the estimator sees it (None without one, or when unread)."""
    from types import SimpleNamespace

    from rigready.catalog import default_catalog
    from rigready.desktop.commands.estimate import runs_on

    args = SimpleNamespace(gpu=None, profile=None, vram_gib=None, free_gib=None, ram_gib=None)
    try:
        return runs_on(args, default_catalog()).gpu  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - an estimate without the GPU is still one
        return None


def _log_cost(follow: Following, snap: Any, pump_cpu: float) -> None:
    """What following the run cost, in rigready.log (``benchmarks/run_wrapper_cost.py``)."""
    import logging

    stats = follow.recorder.stats
    logging.getLogger("rigready.monitor.training").info(
        "run cost: pass-through %.3f s CPU, parsing %.3f s, recorder %.3f s, over %.1f s",
        pump_cpu, stats.parse_seconds, stats.cpu_seconds, snap.elapsed_s)


def _close_loop(link: Any, follow: Following, snap: Any, say: Any) -> None:
    from rigready.desktop.commands.run_link import close_loop, steady_step_seconds

    step_s = steady_step_seconds(follow.recorder.tracker.progress_points)
    try:
        comparison, problem = close_loop(link, snap, step_s, follow.db_path)
    except Exception as exc:  # noqa: BLE001 - the run is over; say it and exit with its status
        say(f"warning: could not compare with the estimate: {exc!r}")
        return
    if problem:
        say(f"warning: {problem}")
    est, got = comparison["estimate_peak_bytes"], comparison["measured_peak_bytes"]
    if got:
        say(f"estimate {est / 2**30:.2f} GiB vs measured {got / 2**30:.2f} GiB (the run's own "
            f"VRAM peak)" + (f"; step {step_s:.3f} s measured" if step_s else "")
            + ("; saved as a measurement for later estimates" if comparison.get("saved")
               else ""))
    if follow.session_id is not None and follow.db_path is not None:
        _store_comparison(follow.db_path, follow.session_id, comparison, say)


def _store_comparison(db_path: Path, session_id: int, comparison: dict[str, Any] | None,
                      say: Any, job: dict[str, Any] | None = None) -> None:
    from rigready.monitor.store import Store, StoreError

    fields: dict[str, Any] = {} if comparison is None else {"comparison": comparison}
    if job is not None:
        fields["job"] = job
    try:
        with Store(db_path) as store:
            store.update_run(session_id, **fields)
    except (StoreError, OSError) as exc:
        say(f"warning: the comparison was not saved: {exc}")
