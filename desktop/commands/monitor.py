"""``rigready monitor`` (log GPUs and host without a display) and ``rigready history``.

``monitor`` samples every ``--interval`` seconds into the SQLite database as one session, prints
one line per tick (or one JSON object per line with ``--jsonl``), optionally serves Prometheus
``/metrics`` with dcgm-exporter names, and stops after ``--duration`` or on Ctrl-C / SIGTERM,
closing the session. Every signal that would otherwise end the process with the session open
ends it like Ctrl-C (:func:`stop_signals`): the session closes, queued samples are stored (or
counted as lost) and the final count is printed. A pause (SIGSTOP, Ctrl-Z) is recorded by the
sampler as a gap with its length and shown here. Test-only: ``RIGREADY_FAKE_PROVIDER=1``
replaces the hardware by a synthetic GPU (used by the crash tests).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any

from rigready.assess.units import GIB
from rigready.desktop.commands.common import input_file, positive_float
from rigready.desktop.commands.history import register_history
from rigready.desktop.usecases.errors import UsageError
from rigready.monitor.alerts import AlertEvent
from rigready.monitor.sample import GpuSample, Sample
from rigready.monitor.store_read import EventRecord

_Item = Sample | AlertEvent | EventRecord
#: Signals never turned into a clean stop: uncatchable (SIGKILL, SIGSTOP); suspend (SIGTSTP,
#: SIGTTIN, SIGTTOU: the sampler records the pause as a gap); ignored unless handled (SIGCHLD,
#: SIGCONT, SIGURG, SIGWINCH); and faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP,
#: SIGSYS): a Python handler never runs for a real fault, and the crash handler reports it;
#: the next start then reports the unclosed session.
_NOT_STOPS = frozenset(getattr(signal, name) for name in (
    "SIGKILL", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGCHLD", "SIGCONT", "SIGURG",
    "SIGWINCH", "SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP", "SIGSYS")
    if hasattr(signal, name))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``monitor`` and ``history`` subcommands."""
    parser = subparsers.add_parser(
        "monitor", help="log GPU and host readings to the database (no display needed)",
        description="Sample GPUs (NVML, amdgpu) and the host every INTERVAL seconds into one "
        "session of the database. Ctrl-C stops and closes the session.",
    )
    parser.add_argument("--interval", type=float, default=1.0, metavar="S",
                        help="seconds between samples, 0.2-60 (default 1)")
    parser.add_argument("--duration", type=positive_float, metavar="S",
                        help="stop after S seconds (default: until Ctrl-C)")
    parser.add_argument("--db", type=input_file, metavar="PATH",
                        help="SQLite database (default: rigready's data folder)")
    parser.add_argument("--jsonl", action="store_true",
                        help="print one JSON object per sample (and per alert) instead of text")
    parser.add_argument("--label", metavar="TEXT", help="name of this session, e.g. 'lora run 3'")
    parser.add_argument("--prometheus", metavar="HOST:PORT",
                        help="serve /metrics with dcgm-exporter names (host defaults to "
                        "127.0.0.1; use 0.0.0.0:9400 to let other machines scrape)")
    parser.add_argument("--pcie", action="store_true",
                        help="also read PCIe throughput (NVML, on a background thread)")
    parser.set_defaults(func=_run_monitor)
    register_history(subparsers)


def _gib(value: int | None) -> str:
    return "?" if value is None else f"{value / GIB:.1f}"


def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "?" if value is None else fmt.format(value)


def format_gpu(g: GpuSample) -> str:
    """One GPU on one line: utilisation, temperature, power, VRAM, SM clock, throttling."""
    power = f"{_num(g.power_w)}/{_num(g.power_limit_w)} W"
    text = (f"GPU{g.index} {_num(g.utilization_pct)}% {_num(g.temperature_c)}°C {power} "
            f"{_gib(g.memory_used_bytes)}/{_gib(g.memory_total_bytes)} GiB "
            f"SM {_num(g.sm_clock_mhz)} MHz")
    reasons = [r for r in g.throttle_reasons or () if r != "gpu_idle"]
    return text + (f" [{', '.join(reasons)}]" if reasons else "")


def format_sample(sample: Sample) -> str:
    """A tick as one human-readable line."""
    clock = time.strftime("%H:%M:%S", time.localtime(sample.time))
    host = sample.host
    parts = [format_gpu(g) for g in sample.gpus] or ["no GPU readings"]
    ram = f"{_gib(host.ram_used_bytes)}/{_gib(host.ram_total_bytes)}"
    cpu = f"CPU {_num(host.cpu_pct)}% RAM {ram} GiB"
    return f"{clock}  " + "  ".join(parts) + f"  | {cpu}"


def _parse_prometheus(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    from rigready.monitor.exporter import parse_host_port

    try:
        return parse_host_port(text)
    except ValueError as exc:
        raise UsageError(f"--prometheus: {exc}") from None


def _run_monitor(args: argparse.Namespace) -> int:
    from rigready.catalog.paths import database_path
    from rigready.monitor.providers import default_providers
    from rigready.monitor.sampler import Sampler, SamplerError, validate_interval
    from rigready.monitor.store import StoreError

    try:
        interval = validate_interval(args.interval)
    except SamplerError as exc:
        raise UsageError(f"--interval: {exc}") from None
    bind = _parse_prometheus(args.prometheus)
    db_path: Path = args.db or database_path()
    providers, skipped = default_providers(pcie=args.pcie)
    events: queue.Queue[_Item] = queue.Queue()
    exporter = None
    if bind is not None:
        from rigready.monitor.exporter import Exporter

        exporter = Exporter()
        try:
            port = exporter.serve(*bind)
        except OSError as exc:
            raise UsageError(f"cannot serve Prometheus on {args.prometheus}: {exc}") from None
        _err(f"Prometheus metrics on http://{bind[0]}:{port}/metrics")

    def on_sample(sample: Sample) -> None:
        if exporter is not None:
            exporter.update(sample)
        events.put(sample)

    def on_store_problem(problem: str | None) -> None:  # at once, not only in the log
        _err(f"warning: cannot save samples: {problem}; retrying" if problem is not None
             else "saving samples works again; the waiting ones were saved")

    sampler = Sampler(providers, db_path=db_path, interval_s=interval, on_sample=on_sample,
                      on_alert=events.put, on_event=events.put,
                      on_store_problem=on_store_problem)
    for line in skipped:
        _err(f"skipped {line}")
    for note in sampler.notes():
        _err(f"note: {note}")
    stop = threading.Event()
    received: list[int] = []
    # Installed before the session opens: a signal from here on closes it cleanly.
    previous = _catch_stop_signals(stop, received)
    try:
        try:
            session = sampler.start(args.label)
        except StoreError as exc:
            sampler.close()
            if exporter is not None:
                exporter.close()
            raise UsageError(str(exc)) from None
        for notice in sampler.store_notices:
            _err(f"warning: {notice}")
        _err(f"logging session {session} to {db_path} every {interval:g} s"
             + (f" for {args.duration:g} s" if args.duration else "; Ctrl-C stops"))
        cpu0, wall0 = time.process_time(), time.monotonic()
        try:
            why = _pump(events, stop, args, wall0)
            if why is None and received:
                why = f"{_signal_name(received[0])} received"
            if why is not None:
                _err(f"stopping ({why})")
        finally:
            sampler.close()  # still catching: a second signal cannot cut the close short
            if exporter is not None:
                exporter.close()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    wall = max(time.monotonic() - wall0, 1e-9)
    _err(f"session {session} closed: {sampler.ticks} samples in {wall:.1f} s; "
         f"sampler thread CPU {100 * sampler.cpu_seconds / wall:.2f}% of one core, "
         f"whole process {100 * (time.process_time() - cpu0) / wall:.2f}%")
    if sampler.lost_samples:
        raise UsageError(f"{sampler.lost_samples} of {sampler.ticks} samples could not be "
                         f"saved to {db_path}: {sampler.store_problem or 'write failed'}")
    return 0


def stop_signals() -> list[int]:
    """Every signal that would end the monitor with its session open: each stops it like
    Ctrl-C instead (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2, SIGPIPE, SIGALRM, SIGXCPU,
    SIGPWR, the real-time signals, ...; see ``_NOT_STOPS`` for the rest). One that this process
    started with ignored (``nohup`` for SIGHUP, a shell's background job for SIGINT/SIGQUIT)
    stays ignored, as its parent asked; SIGPIPE, which Python itself ignores, stops it."""
    out = []
    for number in sorted(signal.valid_signals()):
        if number in _NOT_STOPS:
            continue
        if number != getattr(signal, "SIGPIPE", None) \
                and signal.getsignal(number) == signal.SIG_IGN:
            continue
        out.append(int(number))
    return out


def _catch_stop_signals(stop: threading.Event, received: list[int]) -> dict[int, Any]:
    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    previous: dict[int, Any] = {}
    for number in stop_signals():
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            old = signal.signal(number, handler)
            previous[number] = signal.SIG_DFL if old is None else old
    return previous


def _signal_name(number: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(number).name
    return signal.strsignal(number) or f"signal {number}"


def _pump(events: queue.Queue[_Item], stop: threading.Event, args: argparse.Namespace,
          wall0: float) -> str | None:
    """Show what the sampler sends until the duration ends or ``stop`` is set; returns why it
    stopped early when the output was closed."""
    deadline = None if args.duration is None else wall0 + args.duration
    while not stop.is_set():
        remaining = 0.5 if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            item = events.get(timeout=min(0.5, remaining))
        except queue.Empty:
            continue
        try:
            _show(item, jsonl=args.jsonl)
        except BrokenPipeError:  # the reader of stdout is gone: stop like SIGPIPE, keep stderr
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return "the output was closed"
    return None


def _show(item: _Item, *, jsonl: bool) -> None:
    if isinstance(item, EventRecord):
        if item.kind == "gap":
            _err(f"warning: {item.message}")
        elif item.kind == "recovered":
            _err(item.message)
        return
    if isinstance(item, AlertEvent):
        if jsonl:
            print(json.dumps({"type": "alert", **asdict(item)}), flush=True)
        else:
            print(f"  ALERT {item.state}: {item.message}", flush=True)
        return
    if jsonl:
        print(json.dumps({"type": "sample", **asdict(item)}), flush=True)
    else:
        print(format_sample(item), flush=True)


def _err(text: str) -> None:
    print(f"rigready monitor: {text}", file=sys.stderr, flush=True)

