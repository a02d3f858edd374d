"""``rigready monitor --watch DIR``: follow a run through its log folder, with no wrapper.

The folder is read by :class:`rigready.monitor.training.watch.RunWatcher` (TensorBoard events,
``trainer_state.json``, Lightning ``metrics.csv``); the GPU is sampled as ``rigready monitor``
does; progress, ETA and run alerts are printed (one line every ``--interval`` seconds, or JSON
lines with ``--jsonl``) and kept in the database as a run. Ctrl-C, SIGTERM, ``--duration`` or,
with ``--exit-when-done``, the Trainer's closing summary end it. A folder with no logs says what
was looked for and keeps watching (``--exit-if-empty``: exit status 1 instead).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from rigready.desktop.commands.run_support import (
    make_following,
    set_up,
    start_exporter,
    stderr_say,
    summary_line,
)
from rigready.desktop.usecases.errors import UsageError
from rigready.monitor.training.run_alerts import duration_text
from rigready.monitor.training.tracker import RunInfo, RunSnapshot


def add_watch_arguments(p: argparse.ArgumentParser) -> None:
    """``--watch`` and its options on the ``monitor`` parser."""
    from rigready.desktop.commands.run_support import add_follow_arguments

    p.add_argument("--watch", type=Path, metavar="DIR",
                   help="follow a training run's log folder (TensorBoard events, "
                   "trainer_state.json, Lightning metrics.csv) with no wrapper")
    p.add_argument("--exit-if-empty", action="store_true",
                   help="with --watch: exit (status 1) when DIR holds no training logs, "
                   "instead of waiting for them")
    p.add_argument("--exit-when-done", action="store_true",
                   help="with --watch: stop once the run logs its closing summary "
                   "(HF Trainer's train_runtime)")
    p.add_argument("--quiet", action="store_true", help="with --watch: no alert lines")
    add_follow_arguments(p)


def progress_text(snap: RunSnapshot) -> str:
    """One line: step/total (percent), loss, eval loss, rate, ETA, the run's VRAM."""
    if snap.step is None:
        return "waiting for the first record"
    parts = [f"step {snap.step}" + (f"/{snap.total} ({100 * (snap.fraction or 0):.0f}%)"
                                    if snap.total else "")]
    if snap.loss is not None:
        parts.append(f"loss {snap.loss:.4g}")
    if snap.eval_loss is not None:
        parts.append(f"eval {snap.eval_loss:.4g}")
    if snap.throughput is not None:
        parts.append(f"{snap.throughput:.3g} {snap.throughput_unit}")
    if snap.eta_s is not None:
        parts.append(f"ETA {duration_text(snap.eta_s)}")
    if snap.process_vram_bytes:
        parts.append(f"run VRAM {snap.process_vram_bytes / 2**30:.2f} GiB")
    return "  ".join(parts)


def run_watch(args: argparse.Namespace) -> int:
    """The ``--watch`` mode of ``rigready monitor``."""
    from rigready.catalog.paths import database_path
    from rigready.monitor.training.watch import RunWatcher, WatchError

    say = stderr_say("rigready monitor")
    folder: Path = args.watch
    try:
        watcher = RunWatcher(folder)
        found = watcher.rescan()
    except WatchError as exc:
        raise UsageError(f"--watch: {exc}") from None
    if found.empty:
        say(watcher.looked_for() + ("" if args.exit_if_empty else "; watching"))
        if args.exit_if_empty:
            return 1
    else:
        say(f"following {folder}: {len(found.tensorboard)} TensorBoard file(s), "
            f"{len(found.trainer_state)} trainer_state.json, {len(found.csv)} metrics.csv")
    db_path: Path = args.db or database_path()
    exporter = start_exporter(args.prometheus, say)
    info = RunInfo(label=args.label, command=(str(folder.resolve()),), started=time.time(),
                   source="watch")
    follow = make_following(info, args, say, capture=None, db_path=db_path, exporter=exporter,
                            run_fields={"cwd": str(folder.resolve())})
    set_up(follow, db_path=db_path, interval_s=args.interval, label=args.label)
    stop = threading.Event()
    stopping = [s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in stopping}
    try:
        _loop(args, watcher, follow, stop, say, found.empty)
    except KeyboardInterrupt:
        say("stopping (interrupted)")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    snap = follow.recorder.finish(None)
    follow.close()
    say(summary_line(snap, follow.session_id, follow.db_path))
    return 0


def _loop(args: argparse.Namespace, watcher: Any, follow: Any, stop: threading.Event,
          say: Any, empty: bool) -> None:
    deadline = None if args.duration is None else time.monotonic() + args.duration
    told = 0
    next_line = time.monotonic()
    while not stop.is_set():
        if deadline is not None and time.monotonic() >= deadline:
            return
        events = watcher.poll()
        follow.recorder.feed_events(events)
        for line in watcher.notices[told:]:
            say(line)
        told = len(watcher.notices)
        if empty and not watcher.found.empty:
            empty = False
            say(f"training logs appeared in {watcher.folder}")
        if args.exit_when_done and any(getattr(e, "kind", "") == "summary" for e in events):
            time.sleep(min(1.5, args.interval))  # let the recorder take the last records
            return
        if time.monotonic() >= next_line:
            next_line = time.monotonic() + max(args.interval, 1.0)
            snap = follow.recorder.snapshot()
            if snap is not None:
                _print(snap, args.jsonl)
        stop.wait(min(1.0, args.interval))


def _print(snap: RunSnapshot, jsonl: bool) -> None:
    if jsonl:
        print(json.dumps({"type": "run", "step": snap.step, "total": snap.total,
                          "loss": snap.loss, "eval_loss": snap.eval_loss,
                          "eta_s": snap.eta_s, "rate": snap.rate,
                          "process_vram_bytes": snap.process_vram_bytes,
                          "time": snap.time}), flush=True)
    else:
        clock = time.strftime("%H:%M:%S", time.localtime(snap.time))
        print(f"{clock}  {progress_text(snap)}", flush=True)
