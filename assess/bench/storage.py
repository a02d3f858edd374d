"""Storage benchmark: CrystalDiskMark's four tests, read and write, in plain Python.

SEQ1M Q8T1, SEQ1M Q1T1, RND4K Q32T1 and RND4K Q1T1 (``benchmarks.md`` B1-B4) run on a test file
of random data with ``O_DIRECT`` (page cache bypassed); each test is time-based: a discarded
warm-up pass, then timed passes, reporting the best pass (CrystalDiskMark's convention) with the
median alongside. MB/s are decimal (10^6 bytes), as CrystalDiskMark shows. Queue depth comes from
Linux native AIO where available (one thread, Q requests in flight), else from Q threads.

The test file is always removed: ``finally:`` on success, error, disk full and cancel
(``generator.close()``); Ctrl-C arrives as KeyboardInterrupt in the same ``finally:``; SIGTERM,
SIGHUP and SIGQUIT are turned into SystemExit while the benchmark runs on the main thread, and
signals are held back while that cleanup runs (:mod:`rigready.assess.bench.signals`); an ``atexit``
hook catches interpreter exit; and files left by a killed process (SIGKILL) are removed at the next
start.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import statistics
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rigready.assess.bench.progress import BenchError, Clock, Progress
from rigready.assess.bench.signals import signals_deferred, stop_signals_raise
from rigready.assess.bench.storage_aio import aio_available, run_pass_aio
from rigready.assess.bench.storage_io import (
    CDM_TESTS,
    MIB,
    IoCall,
    PassStats,
    StorageTest,
    TestFile,
    random_pool,
    run_pass,
)
from rigready.assess.bench.storage_target import (
    check_target,
    default_folder,
    is_disk_full,
)

DEGRADED_LABEL = "cache bypass degraded"
QD_NOTE = ("queue depth emulated with one thread per outstanding I/O (os.preadv/os.pwritev), "
           "like fio numjobs=Q iodepth=1")
AIO_NOTE = ("queue depth through Linux native AIO (io_submit/io_getevents via ctypes): one "
            "thread keeps Q requests in flight, like fio ioengine=libaio iodepth=Q")
Engine = Literal["auto", "aio", "threads"]


@dataclass(frozen=True, slots=True)
class StorageTestResult:
    """One test in one direction: the best pass, with the median of the passes."""

    test: str
    operation: str  # "read" or "write"
    block_bytes: int
    queue_depth: int
    mb_s: float
    iops: float
    latency_us: float
    mb_s_median: float
    passes: int
    bytes_moved: int


@dataclass(frozen=True, slots=True)
class StorageResult:
    """The four tests, read and write, on one folder."""

    folder: str
    filesystem: str | None
    device: str | None
    file_size_bytes: int
    direct_io: bool
    #: "cache bypass degraded" when O_DIRECT was refused, else None.
    label: str | None
    forced: bool
    quick: bool
    results: tuple[StorageTestResult, ...]
    elapsed_s: float
    warnings: tuple[str, ...] = ()
    note: str = QD_NOTE
    #: "linux-aio" (one thread, true queue depth) or "threads" (one thread per request).
    engine: str = "threads"

    def find(self, test: str, operation: str) -> StorageTestResult | None:
        """The result of ``test`` (``"SEQ1M Q8T1"``) in ``operation`` (``"read"``/``"write"``)."""
        return next((r for r in self.results if r.test == test and r.operation == operation),
                    None)


_LIVE: set[str] = set()
_LIVE_LOCK = threading.Lock()


def _remove_live_files() -> None:
    with _LIVE_LOCK:
        paths = list(_LIVE)
        _LIVE.clear()
    for path in paths:
        with contextlib.suppress(OSError):
            os.unlink(path)


atexit.register(_remove_live_files)


def default_storage_folder() -> Path:
    """The folder measured when the user names none (the model cache, else home)."""
    return default_folder(os.environ, Path.home())


def run_storage(
    folder: Path | None = None,
    size_mib: int | None = None,
    quick: bool = False,
    force: bool = False,
    tests: tuple[StorageTest, ...] = CDM_TESTS,
    warmup_s: float | None = None,
    pass_s: float | None = None,
    passes: int | None = None,
    clock: Clock = time.perf_counter,
    preadv: IoCall = os.preadv,
    pwritev: IoCall = os.pwritev,
    mountinfo_text: str | None = None,
    engine: Engine = "auto",
) -> Generator[Progress, None, StorageResult]:
    """Run the storage tests; yields progress, returns a :class:`StorageResult`.

    Args:
        folder: where to put the test file (default :func:`default_storage_folder`).
        size_mib: test file size (default 1024, quick 256).
        quick: shorter passes and a smaller file (about 25 s on a working disk).
        force: measure even a memory, layered or network filesystem.
        tests: which tests (CrystalDiskMark's four by default); each runs read, then write.
        warmup_s: discarded warm-up pass per test (default 1.0, quick 0.25).
        pass_s: length of each timed pass (default 3.0, quick 1.0).
        passes: timed passes per test (default 3, quick 2).
        clock: monotonic seconds (for the elapsed total).
        preadv: the read call (tests inject failures).
        pwritev: the write call (tests inject a full disk).
        mountinfo_text: ``/proc/self/mountinfo`` contents (read live when None).
        engine: ``"auto"`` uses Linux native AIO when the file is opened with O_DIRECT and the
            system allows it, else threads; ``"aio"`` requires AIO; ``"threads"`` forces threads
            (``preadv``/``pwritev`` apply to the threads engine only).

    Raises:
        BenchError: bad folder or size, a refused filesystem, too little free space, the disk
            filled up, or the platform has no positional vector I/O.
    """
    if not hasattr(os, "preadv") or not hasattr(os, "pwritev"):
        raise BenchError("the storage benchmark needs os.preadv/os.pwritev (Linux)")
    size = (size_mib if size_mib is not None else (256 if quick else 1024)) * MIB
    warm = warmup_s if warmup_s is not None else (0.25 if quick else 1.0)
    each = pass_s if pass_s is not None else (1.0 if quick else 3.0)
    count = passes if passes is not None else (2 if quick else 3)
    if each <= 0 or count <= 0 or warm < 0:
        raise BenchError("pass length and pass count must be above zero")
    smallest = max(t.block_bytes * t.queue_depth for t in tests) if tests else MIB
    if 0 < size < smallest:
        raise BenchError(f"the test file must be at least {smallest // MIB} MiB "
                         f"(one block per outstanding I/O), got {size // MIB} MiB")
    target = check_target(folder or default_storage_folder(), size, force, mountinfo_text)
    warnings = list(target.warnings)
    stale = target.stale_removed
    if stale:
        warnings.append(f"removed {len(stale)} test file(s) left by an earlier run that stopped")
    started = clock()
    tf = TestFile(target.file, size)
    rng = np.random.default_rng()
    pool = None
    stop_signals = stop_signals_raise()
    try:
        stop_signals.__enter__()  # SIGTERM, SIGHUP, SIGQUIT: SystemExit, so finally: runs
        with _LIVE_LOCK:
            _LIVE.add(tf.path)
        tf.open()
        if not tf.direct:
            warnings.append(f"{DEGRADED_LABEL}: {tf.note}; reads follow posix_fadvise(DONTNEED) "
                            "and writes end with fdatasync, but the page cache may still help")
        use_aio = engine != "threads" and tf.direct and aio_available()
        if engine == "aio" and not use_aio:
            raise BenchError("Linux native AIO is not available here (needs Linux, O_DIRECT and "
                             "io_setup); use the threads engine")
        total_steps = 1 + 2 * len(tests)
        for frac in tf.fill(rng, pwritev=pwritev):
            yield Progress(frac / total_steps,
                           f"writing the {size // MIB} MiB test file ({frac:.0%})")
        pool = random_pool(rng)
        results: list[StorageTestResult] = []
        step = 1
        for write in (False, True):
            for test in tests:
                op = "write" if write else "read"
                label = f"{test.name} {op}"
                runs: list[PassStats] = []
                plan = ([warm] if warm > 0 else []) + [each] * count
                for k, seconds in enumerate(plan):
                    timed = k > 0 or warm <= 0
                    what = "warm-up" if not timed else f"pass {len(runs) + 1}/{count}"
                    gen = (run_pass_aio(tf, test, write, seconds, pool) if use_aio else
                           run_pass(tf, test, write, seconds, pool, preadv=preadv,
                                    pwritev=pwritev))
                    stats = yield from _forward(gen, step, k, plan, total_steps,
                                                f"{label}: {what}")
                    if timed:
                        runs.append(stats)
                step += 1
                results.append(_summarize(test, op, runs))
        yield Progress(1.0, "storage benchmark done; removing the test file")
        return StorageResult(
            folder=str(target.folder), filesystem=target.fs_type, device=target.device,
            file_size_bytes=tf.size_bytes, direct_io=tf.direct,
            label=None if tf.direct else DEGRADED_LABEL, forced=force, quick=quick,
            results=tuple(results), elapsed_s=clock() - started, warnings=tuple(warnings),
            note=AIO_NOTE if use_aio else QD_NOTE, engine="linux-aio" if use_aio else "threads",
        )
    except OSError as exc:
        if is_disk_full(exc):
            raise BenchError(f"the disk holding {target.folder} filled up during the test; "
                             "the test file was removed") from None
        raise
    finally:
        try:
            with signals_deferred():  # a second Ctrl-C must not cut the cleanup short
                tf.remove()  # the user's disk space first
                with _LIVE_LOCK:
                    _LIVE.discard(tf.path)
                if pool is not None:
                    with contextlib.suppress(BufferError):  # still exported: GC frees it
                        pool.close()
        finally:
            stop_signals.__exit__(None, None, None)


def _forward(gen: Generator[float, None, PassStats], step: int, k: int, plan: list[float],
             total_steps: int, message: str) -> Generator[Progress, None, PassStats]:
    """Turn a pass's elapsed fractions into overall progress; closes the pass on exit."""
    done_before = sum(plan[:k])
    try:
        while True:
            frac = next(gen)
            within = (done_before + frac * plan[k]) / sum(plan)
            yield Progress((step + within) / total_steps, message)
    except StopIteration as stop:
        result: PassStats = stop.value
        return result
    finally:
        gen.close()


def _summarize(test: StorageTest, operation: str, runs: list[PassStats]) -> StorageTestResult:
    best = max(runs, key=lambda r: r.mb_s)
    return StorageTestResult(
        test=test.name, operation=operation, block_bytes=test.block_bytes,
        queue_depth=test.queue_depth, mb_s=best.mb_s, iops=best.iops,
        latency_us=best.latency_us, mb_s_median=statistics.median(r.mb_s for r in runs),
        passes=len(runs), bytes_moved=sum(r.bytes for r in runs),
    )
