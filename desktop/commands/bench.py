"""``rigready bench``: GEMM and storage benchmarks, with a progress bar, saved to the history.

What a result is compared with, saving it and reading the history back are the use cases of
:mod:`rigready.desktop.usecases.bench`, shared with the Benchmarks page; this module adds the
arguments, the progress bar and the printing. Nothing here imports Qt.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from rigready.assess.bench.progress import BenchError, Progress
from rigready.desktop.commands.common import int_between, number_between, print_json
from rigready.desktop.usecases.bench import (
    Outcome,
    detect_this_pc,
    load_history,
    outcome_of,
    save_outcomes,
)
from rigready.desktop.usecases.errors import UsageError

if TYPE_CHECKING:  # the benchmark modules import numpy: load them only when a command runs
    from rigready.assess.bench.compare import Comparison
    from rigready.assess.hardware import RigProfile

R = TypeVar("R")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bench gemm``, ``bench storage``, ``bench all`` and ``bench history``."""
    bench = subparsers.add_parser(
        "bench", help="measure GEMM throughput and storage speed",
        description="Quick benchmarks measured correctly: synchronised GPU timing, random data, "
        "page cache bypassed. Results are saved to the history unless --no-save.")
    sub = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)

    gemm = sub.add_parser("gemm", help="matrix-multiply throughput (CPU and/or GPU)")
    gemm.add_argument("--device", choices=("cpu", "gpu"), help="only this device (default both)")
    mode = gemm.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="each dtype briefly (default)")
    mode.add_argument("--sustained", action="store_true",
                      help="GPU: a 60 s bf16 loop that shows throttling")
    gemm.add_argument("--n", type=int_between(1, MAX_GEMM_N), metavar="N",
                      help=f"matrix size, at most {MAX_GEMM_N} (default: chosen per device); "
                      "refused when it does not fit in memory, its time is said first")
    gemm.add_argument("--allow-long", action="store_true",
                      help="with --n: run even when the estimate is over 2 minutes")
    _common(gemm)
    gemm.set_defaults(func=_run_gemm)

    storage = sub.add_parser("storage", help="CrystalDiskMark's four tests, read and write")
    _storage_args(storage)
    storage.add_argument("--quick", action="store_true", help="256 MiB file, 1 s passes (~25 s)")
    _common(storage)
    storage.set_defaults(func=_run_storage)

    everything = sub.add_parser("all", help="CPU GEMM, GPU GEMM and storage, quick")
    _storage_args(everything)
    _common(everything)
    everything.set_defaults(func=_run_all)

    history = sub.add_parser("history", help="past benchmark runs")
    history.add_argument("--kind", choices=("gemm-cpu", "gemm-gpu", "storage", "measure"),
                         help="only one kind (measure: workloads measured by estimate --measure)")
    history.add_argument("--limit", type=int_between(1, 100_000), default=20, metavar="N")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(func=_run_history)


#: Largest GEMM side: an fp32 65536² matrix is 16 GiB, three of them fill the biggest GPU.
MAX_GEMM_N = 65536
#: Largest storage test file (1 PiB; the free-space check refuses what does not fit).
MAX_SIZE_MIB = 1 << 30
#: Longest timed storage pass (an hour).
MAX_PASS_S = 3600.0


def _storage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", type=Path, metavar="DIR",
                        help="folder to test (default: the model cache, else home)")
    parser.add_argument("--size-mib", type=int_between(1, MAX_SIZE_MIB), metavar="N",
                        help="test file size in MiB")
    parser.add_argument("--force", action="store_true",
                        help="measure even tmpfs, overlay or network filesystems")
    parser.add_argument("--seconds", type=number_between(0, MAX_PASS_S, low_open=True),
                        metavar="S", help=f"length of each timed pass (at most {MAX_PASS_S:g})")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--no-save", action="store_true", help="do not save to the history")


# -- progress ------------------------------------------------------------------------------


class ProgressBar:
    """A plain-text progress bar on a terminal; occasional lines when not a terminal."""

    def __init__(self, stream: TextIO | None = None, width: int = 28,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.clock = clock
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = 0
        self._last_line = ""
        self._last_t = float("-inf")

    def update(self, p: Progress) -> None:
        """Redraw (terminal) or print a line when the step changed (at most once a second)."""
        if self.tty:
            filled = round(p.fraction * self.width)
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {p.fraction:4.0%}  {p.message}"
            line = line[:160]
            self.stream.write("\r" + line + " " * max(0, self._shown - len(line)))
            self._shown = len(line)
            self.stream.flush()
            return
        step = p.message.split(":")[0]
        now = self.clock()
        if step != self._last_line and now - self._last_t >= 1.0:
            self.stream.write(f"{p.fraction:4.0%}  {p.message}\n")
            self._last_line, self._last_t = step, now

    def finish(self) -> None:
        """End the bar's line."""
        if self.tty and self._shown:
            self.stream.write("\r" + " " * self._shown + "\r")
            self.stream.flush()
            self._shown = 0


def drive(gen: Generator[Progress, None, R], bar: ProgressBar | None = None) -> R:
    """Run a benchmark generator to its end, showing progress; closes it on any exit."""
    try:
        while True:
            p = next(gen)
            if bar is not None:
                bar.update(p)
    except StopIteration as stop:
        result: R = stop.value
        return result
    finally:
        gen.close()
        if bar is not None:
            bar.finish()


# -- handlers ------------------------------------------------------------------------------


def _bar(args: argparse.Namespace) -> ProgressBar:
    return ProgressBar(sys.stderr)


def _finish(args: argparse.Namespace, outcomes: list[Outcome], profile: RigProfile) -> int:
    from rigready.assess.bench.compare import gpu_speedup
    from rigready.assess.bench.cpu_gemm import CpuGemmResult
    from rigready.assess.bench.fingerprint import profile_fingerprint
    from rigready.assess.bench.gpu_gemm import GpuGemmResult
    from rigready.assess.bench.records import bench_kind, result_label, result_rows, result_to_dict

    fingerprint = profile_fingerprint(profile)
    problems = [] if args.no_save else save_outcomes(outcomes, fingerprint)
    speed = None
    cpu = next((o.result for o in outcomes if isinstance(o.result, CpuGemmResult)), None)
    gpu = next((o.result for o in outcomes if isinstance(o.result, GpuGemmResult)), None)
    if cpu is not None and gpu is not None:
        speed = gpu_speedup(gpu, cpu)
    if args.json:
        print_json({
            "fingerprint": fingerprint,
            "results": [{"kind": bench_kind(o.result), **row}
                        for o in outcomes for row in result_rows(o.result)],
            "runs": [{"kind": bench_kind(o.result), "label": result_label(o.result),
                      "comparisons": [_comparison_dict(c) for c in o.comparisons],
                      "notes": list(o.notes), "record": result_to_dict(o.result)}
                     for o in outcomes],
            "gpu_speedup_over_cpu": None if speed is None else round(speed.factor, 1),
            "saved": not args.no_save and not problems,
        })
    else:
        from rigready.desktop.commands.bench_report import render_outcome

        print("\n\n".join(render_outcome(o) for o in outcomes))
        if speed is not None:
            print(f"\n{speed.sentence}")
    if problems:  # measured and shown, but the history did not get it: say so, and exit 2
        print(f"rigready: error: {'; '.join(problems)}", file=sys.stderr)
        return 2
    return 0


def _comparison_dict(c: Comparison) -> dict[str, Any]:
    return {"subject": c.subject, "measured": round(c.measured, 3), "unit": c.unit,
            "expected": c.expected, "fraction": None if c.fraction is None else round(
                c.fraction, 4), "verdict": c.verdict, "sentence": c.sentence,
            "reasons": list(c.reasons)}


def _check_n(n: int | None) -> None:
    if n is not None and n <= 0:
        raise UsageError(f"--n must be above zero, got {n}")


def _gemm_outcomes(args: argparse.Namespace, profile: RigProfile, device: str | None,
                   sustained: bool) -> list[Outcome]:
    from rigready.assess.bench.cpu_gemm import run_cpu_gemm
    from rigready.assess.bench.gpu_gemm import run_gpu_gemm

    outcomes: list[Outcome] = []
    if getattr(args, "n", None):  # a size the user chose: memory and time checked first
        from rigready.assess.bench.gemm_budget import gemm_budgets

        try:
            budgets = gemm_budgets(args.n, profile, device, sustained=sustained,
                                   allow_long=args.allow_long)
        except BenchError as exc:
            raise UsageError(str(exc)) from None
        for budget in budgets:
            print(f"rigready bench: {budget.sentence()}", file=sys.stderr)
    if device in (None, "cpu"):
        sizes = {"fp32": args.n, "fp64": args.n} if getattr(args, "n", None) else None
        cpu = drive(run_cpu_gemm(profile.cpu, sizes=sizes), _bar(args))
        outcomes.append(outcome_of(cpu, profile))
    if device in (None, "gpu"):
        gpu = drive(run_gpu_gemm("sustained" if sustained else "quick",
                                 n=getattr(args, "n", None)), _bar(args))
        outcomes.append(outcome_of(gpu, profile))
    return outcomes


def _run_gemm(args: argparse.Namespace) -> int:
    _check_n(args.n)
    if args.sustained and args.device == "cpu":
        raise UsageError("--sustained measures the GPU; leave out --device cpu")
    profile = detect_this_pc()
    device = "gpu" if args.sustained else args.device
    return _finish(args, _gemm_outcomes(args, profile, device, args.sustained), profile)


def _storage_outcome(args: argparse.Namespace, profile: RigProfile, quick: bool) -> Outcome:
    from rigready.assess.bench.storage import run_storage

    if args.size_mib is not None and args.size_mib <= 0:
        raise UsageError(f"--size-mib must be above zero, got {args.size_mib}")
    if args.seconds is not None and not args.seconds > 0:
        raise UsageError(f"--seconds must be above zero, got {args.seconds}")
    try:
        result = drive(run_storage(args.path, args.size_mib, quick=quick, force=args.force,
                                   pass_s=args.seconds), _bar(args))
    except BenchError as exc:
        raise UsageError(str(exc)) from None
    return outcome_of(result, profile)


def _run_storage(args: argparse.Namespace) -> int:
    profile = detect_this_pc()
    return _finish(args, [_storage_outcome(args, profile, args.quick)], profile)


def _run_all(args: argparse.Namespace) -> int:
    if args.size_mib is not None and args.size_mib <= 0:
        raise UsageError(f"--size-mib must be above zero, got {args.size_mib}")
    profile = detect_this_pc()
    args.n = None
    outcomes = _gemm_outcomes(args, profile, None, False)
    outcomes.append(_storage_outcome(args, profile, True))
    return _finish(args, outcomes, profile)


def _run_history(args: argparse.Namespace) -> int:
    from rigready.assess.bench.records import result_to_dict

    if args.limit <= 0:
        raise UsageError(f"--limit must be above zero, got {args.limit}")
    rows = load_history(args.kind, args.limit, include_measured=True)
    if args.json:
        print_json([{"created": c, "fingerprint": f, "label": label,
                     "record": None if r is None else result_to_dict(r)}
                    for c, f, label, r in rows])
        return 0
    if not rows:
        print("No benchmark runs saved yet. Run 'rigready bench all'.")
    for created, fingerprint, label, _ in rows:
        print(f"{created}  {fingerprint}  {label}")
    return 0
