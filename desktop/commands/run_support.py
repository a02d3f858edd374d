"""What ``rigready run`` and ``rigready monitor --watch`` share: the options about alerts and
output, and following a run (the sampler for GPU samples and the session, the recorder, the
Prometheus exporter, alert lines on stderr, desktop notifications, ``--notify-cmd``).

Everything here runs beside the training and never stops it: the database, the exporter's
port after start, a notification command, each failure is one line on stderr and the run goes
on.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rigready.desktop.commands.common import positive_float
from rigready.desktop.usecases.errors import UsageError
from rigready.monitor.alerts import ALERT_KINDS, AlertConfig, AlertEvent
from rigready.monitor.training.notify import Notice, Notifier, NotifyError, split_command
from rigready.monitor.training.run_alerts import (
    RUN_ALERT_TITLES,
    RunAlert,
    RunAlertConfig,
    duration_text,
)
from rigready.monitor.training.tracker import RunInfo, RunSnapshot

GPU_ALERT_TITLES = {"temperature": "GPU hot", "thermal_throttle": "Thermal throttling",
                    "power_throttle": "Power throttling", "vram": "VRAM nearly full",
                    "stalled": "GPU idle"}


def add_follow_arguments(p: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``monitor --watch``."""
    p.add_argument("--notify-cmd", metavar="CMD",
                   help="run CMD on each alert (split like a shell, never run by one; "
                   "{kind} {title} {message} {label} {step} are replaced, and "
                   "RIGREADY_ALERT_* variables set)")
    p.add_argument("--no-desktop-notify", action="store_true",
                   help="no desktop notifications (notify-send / gdbus)")
    p.add_argument("--stall-minutes", type=positive_float, default=10.0, metavar="N",
                   help="alert when the run makes no progress for N minutes while idle "
                   "(default 10)")
    p.add_argument("--spike-factor", type=float, default=3.0, metavar="F",
                   help="alert when the loss rises above F times its recent median "
                   "(default 3)")


def alert_config(args: argparse.Namespace) -> RunAlertConfig:
    """Run alert thresholds from the options.

    Raises:
        UsageError: A spike factor of 1.5 or less (the clear threshold is 1.5).
    """
    if not args.spike_factor > 1.5:
        raise UsageError(f"--spike-factor must be above 1.5, got {args.spike_factor:g}")
    return RunAlertConfig(spike_factor=args.spike_factor,
                          stall_after_s=args.stall_minutes * 60.0)


def notifier(args: argparse.Namespace, say: Callable[[str], None]) -> Notifier:
    """The notifier the options ask for.

    Raises:
        UsageError: A ``--notify-cmd`` that cannot be split into words.
    """
    command = None
    if args.notify_cmd is not None:
        try:
            command = split_command(args.notify_cmd)
        except NotifyError as exc:
            raise UsageError(str(exc)) from None
    return Notifier(command=command, desktop=not args.no_desktop_notify, on_problem=say)


def notice_of(alert: RunAlert | AlertEvent, label: str | None) -> Notice:
    """A run or GPU alert as one notice."""
    if isinstance(alert, RunAlert):
        return Notice(kind=alert.kind, state=alert.state, title=RUN_ALERT_TITLES[alert.kind],
                      message=alert.message, level=alert.level, time=alert.time,
                      step=alert.step, label=label)
    level = "bad" if alert.kind in ("temperature", "thermal_throttle") else "warn"
    return Notice(kind=alert.kind, state=alert.state, title=GPU_ALERT_TITLES[alert.kind],
                  message=alert.message, level=level if alert.state == "raised" else "ok",
                  time=alert.time, label=label)


def open_capture(path: Path | None, force: bool,
                 protect: Iterable[Path | None] = ()) -> IO[str] | None:
    """The ``--capture`` file, opened for writing after the one writer's checks
    (:func:`rigready.catalog.userfiles.output_target`): an existing file only with ``force``,
    and never, even with it, the run's database (``protect``), rigready's own files or any
    SQLite database. It is written as the run goes, so it is opened in place, not renamed
    over at the end.

    Raises:
        UsageError: It exists (without ``--force``) or cannot be created.
        UserFileError: It names a file no output may replace.
    """
    if path is None:
        return None
    from rigready.catalog.userfiles import output_target

    target = output_target(path, force=force, protect=protect)
    try:
        return target.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


@dataclass(slots=True)
class Following:
    """One followed run: its recorder, and (once set up) the sampler and the exporter."""

    recorder: Any
    notifier: Notifier
    say: Callable[[str], None]
    quiet: bool = False
    sampler: Any = None
    exporter: Any = None
    session_id: int | None = None
    db_path: Path | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def on_alert(self, alert: RunAlert | AlertEvent) -> None:
        """Say an alert on stderr and notify (raised ones; a clear is said only)."""
        notice = notice_of(alert, self.recorder.info.label)
        if not self.quiet:
            mark = "cleared" if notice.state == "cleared" else notice.title
            self.say(f"[{mark}] {notice.message}")
            if isinstance(alert, RunAlert) and alert.kind == "run_crashed":
                for line in alert.detail[-6:]:
                    self.say(f"    {line}")
        if notice.state == "raised":
            self.notifier.notify(notice)

    def on_snapshot(self, snap: RunSnapshot) -> None:
        """Publish to the exporter."""
        if self.exporter is not None:
            self.exporter.update_run(snap)

    def close(self, wait_notify_s: float = 3.0) -> None:
        """Stop the sampler and the exporter; give notification commands a moment."""
        self.ready.wait(30.0)
        if self.sampler is not None:
            self.sampler.close()
        if self.exporter is not None:
            self.exporter.close()
        self.notifier.reap(wait_notify_s)


def start_exporter(text: str | None, say: Callable[[str], None]) -> Any:
    """The Prometheus exporter of ``--prometheus HOST:PORT``, serving; None without it.

    Raises:
        UsageError: A bad address, or one that cannot be bound.
    """
    if text is None:
        return None
    from rigready.monitor.exporter import Exporter, parse_host_port

    try:
        host, port = parse_host_port(text)
    except ValueError as exc:
        raise UsageError(f"--prometheus: {exc}") from None
    exporter = Exporter()
    try:
        bound = exporter.serve(host, port)
    except OSError as exc:
        raise UsageError(f"cannot serve Prometheus on {text}: {exc}") from None
    say(f"Prometheus metrics on http://{host}:{bound}/metrics")
    return exporter


def set_up(follow: Following, *, db_path: Path, interval_s: float, label: str | None) -> None:
    """Start the sampler (a session in ``db_path``; in memory only when the database cannot be
    used) and the recorder on it. Run on a helper thread: the training is not kept waiting."""
    from rigready.monitor.providers import default_providers
    from rigready.monitor.sampler import Sampler
    from rigready.monitor.store import StoreError

    recorder = follow.recorder
    try:
        providers, _skipped = default_providers()
        exporter = follow.exporter

        def on_sample(sample: Any) -> None:
            recorder.feed_sample(sample)
            if exporter is not None:
                exporter.update(sample)

        def on_store_problem(problem: str | None) -> None:
            if problem is not None:
                follow.say(f"warning: cannot save GPU samples: {problem}; retrying, the run "
                           "goes on")

        # the run has its own stall alert; throttling that flickers (a GPU at its power cap)
        # is still sustained throttling
        config = AlertConfig(enabled=frozenset(ALERT_KINDS) - {"stalled"}, throttle_grace_s=3.0)
        sampler = Sampler(providers, db_path=db_path, interval_s=interval_s,
                          on_sample=on_sample, on_alert=recorder.feed_gpu_alert,
                          on_store_problem=on_store_problem, alert_config=config)
        try:
            session = sampler.start(label)
            follow.db_path = db_path
        except StoreError as exc:
            follow.say(f"warning: not recording this run to {db_path}: {exc}; the run goes on")
            sampler = Sampler(providers, db_path=None, interval_s=interval_s,
                              on_sample=on_sample, on_alert=recorder.feed_gpu_alert,
                              alert_config=config)
            session = sampler.start(label)
        follow.sampler = sampler
        follow.session_id = session
        recorder.start(session)
    except Exception as exc:  # noqa: BLE001 - whatever fails, the training goes on
        follow.say(f"warning: GPU sampling could not start ({exc!r}); following the output only")
        if not recorder.started:
            recorder.start(None)
    finally:
        follow.ready.set()


def make_following(info: RunInfo, args: argparse.Namespace, say: Callable[[str], None], *,
                   capture: IO[str] | None, run_fields: dict[str, Any], db_path: Path,
                   exporter: Any = None, oom_advice: tuple[str, ...] = ()) -> Following:
    """A :class:`Following` with its recorder (nothing started yet).

    Raises:
        UsageError: Bad alert or notification options.
    """
    from rigready.monitor.training.recorder import RunRecorder

    config = alert_config(args)
    follow = Following(recorder=None, notifier=notifier(args, say), say=say,
                       quiet=bool(getattr(args, "quiet", False)), exporter=exporter)
    follow.recorder = RunRecorder(
        info, db_path=db_path, config=config, capture=capture, run_fields=run_fields,
        oom_advice=oom_advice, on_alert=follow.on_alert, on_snapshot=follow.on_snapshot,
        on_problem=lambda text: say(f"warning: {text}"))
    return follow


def summary_line(snap: RunSnapshot, session_id: int | None, db_path: Path | None) -> str:
    """The closing line: outcome, steps, final loss, peak VRAM of the run, where it is saved."""
    end = snap.ended
    what = {"finished": "finished", "crashed": "crashed", "killed": "killed",
            "interrupted": "interrupted"}.get(snap.outcome, "ended")
    if end is not None and end.signal is not None:
        what += f" (signal {end.signal})"
    elif end is not None and end.exit_code:
        what += f" (exit status {end.exit_code})"
    parts = [f"{what} after {duration_text(snap.elapsed_s)}"]
    if snap.step is not None:
        parts.append(f"step {snap.step}" + (f"/{snap.total}" if snap.total else ""))
    loss = snap.loss_truth.text()  # "loss NaN since step 4 (...)", never a filtered 0
    if loss is not None:
        parts.append(loss)
    if snap.process_vram_peak_bytes:
        parts.append(f"peak VRAM of the run {snap.process_vram_peak_bytes / 2**30:.2f} GiB")
    if session_id is not None and db_path is not None:
        parts.append(f"saved as session {session_id} ('rigready history --session "
                     f"{session_id}')")
    return ", ".join(parts)


def stderr_say(prefix: str) -> Callable[[str], None]:
    """A function printing ``prefix: text`` lines on stderr (never raising)."""
    lock = threading.Lock()
    try:  # on a terminal, start at column 0 over a half-drawn progress bar and clear it
        start = "\r\x1b[K" if sys.stderr.isatty() else ""
    except (OSError, ValueError):
        start = ""

    def say(text: str) -> None:
        with lock:
            try:
                sys.stderr.write(f"{start}{prefix}: {text}\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    return say


def now() -> float:
    """Wall clock (a seam for tests)."""
    return time.time()
