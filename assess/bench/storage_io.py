"""The storage benchmark's test file and its portable I/O engine (threads).

The preferred engine is Linux native AIO (:mod:`rigready.assess.bench.storage_aio`): one thread with
N requests in flight, like fio's libaio. Where that is unavailable (buffered fallback, sandboxes,
other systems) a queue depth of N is emulated here with N threads, each issuing one blocking
``os.preadv``/``os.pwritev`` at a time (the GIL is released inside the system call): fio's
``numjobs=N, iodepth=1``. At high queue depths on few CPU cores the threads contend for the GIL, so
this engine reads low there (``benchmarks/README.md`` has the comparison with fio). Sequential tests
share one offset cursor (DiskSpd's ``-si``), so eight threads keep eight consecutive 1 MiB blocks in
flight like a Q8 sequential stream. Random tests pick a uniformly random 4 KiB-aligned offset per
operation. Buffers come from anonymous ``mmap`` (page-aligned), as ``O_DIRECT`` requires.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ALIGN = 4096
MIB = 1024**2
POOL_BYTES = 16 * MIB
IoCall = Callable[[int, list[Any], int], int]


@dataclass(frozen=True, slots=True)
class StorageTest:
    """One CrystalDiskMark test: block size, queue depth (threads = 1, as CDM's T1)."""

    name: str
    block_bytes: int
    queue_depth: int
    sequential: bool


CDM_TESTS: tuple[StorageTest, ...] = (
    StorageTest("SEQ1M Q8T1", MIB, 8, True),
    StorageTest("SEQ1M Q1T1", MIB, 1, True),
    StorageTest("RND4K Q32T1", 4096, 32, False),
    StorageTest("RND4K Q1T1", 4096, 1, False),
)


@dataclass(frozen=True, slots=True)
class PassStats:
    """What one time-based pass did."""

    ops: int
    bytes: int
    elapsed_s: float
    latency_sum_s: float

    @property
    def mb_s(self) -> float:
        """Decimal megabytes per second, as CrystalDiskMark shows."""
        return self.bytes / self.elapsed_s / 1e6 if self.elapsed_s > 0 else 0.0

    @property
    def iops(self) -> float:
        """Operations per second."""
        return self.ops / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def latency_us(self) -> float:
        """Mean completion time of one operation, microseconds."""
        return self.latency_sum_s / self.ops * 1e6 if self.ops else 0.0


def aligned_buffer(size: int) -> mmap.mmap:
    """A zero-filled, page-aligned buffer of ``size`` bytes (a multiple of 4096)."""
    return mmap.mmap(-1, size)


def random_pool(rng: np.random.Generator, size: int = POOL_BYTES) -> mmap.mmap:
    """An aligned buffer full of random bytes (incompressible write data)."""
    pool = aligned_buffer(size)
    pool[:] = rng.bytes(size)
    return pool


class TestFile:
    """The test file, opened with ``O_DIRECT`` where the filesystem allows it.

    Without ``O_DIRECT`` (refused by the filesystem, or not Linux) the file is opened buffered
    and ``direct`` is False: reads are then preceded by ``posix_fadvise(DONTNEED)`` and writes
    end with ``fdatasync``, and the result is labelled "cache bypass degraded".
    """

    __test__ = False  # not a pytest test class

    def __init__(self, path: Path | str, size_bytes: int) -> None:
        self.path = str(path)
        self.size_bytes = size_bytes - size_bytes % MIB
        self.fd = -1
        self.direct = False
        self.note = ""

    def open(self) -> None:
        """Create the file exclusively (never follow a symlink or reuse a file)."""
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        direct = getattr(os, "O_DIRECT", 0)
        if direct:
            try:
                self.fd = os.open(self.path, flags | direct, 0o600)
                self.direct = True
            except OSError as exc:
                if exc.errno != 22:  # EINVAL = O_DIRECT refused; anything else is real
                    raise
                self.note = "the filesystem refused O_DIRECT"
        if self.fd < 0:
            self.fd = os.open(self.path, flags, 0o600)
            if sys.platform == "darwin":
                import fcntl

                fcntl.fcntl(self.fd, 48, 1)  # F_NOCACHE: no new cache pages for this file
            elif not self.note:
                self.note = "this system has no O_DIRECT"
        if self.direct:
            probe = aligned_buffer(ALIGN)
            try:
                os.pwritev(self.fd, [probe], 0)
            except OSError as exc:
                if exc.errno != 22:
                    raise
                self._reopen_buffered()
            finally:
                probe.close()

    def _reopen_buffered(self) -> None:
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
        self.direct = False
        self.note = "the filesystem accepted O_DIRECT at open but refused direct writes"

    def fill(self, rng: np.random.Generator, chunk: int = 4 * MIB,
             pwritev: IoCall = os.pwritev) -> Generator[float, None, None]:
        """Write random data over the whole file; yields the fraction written."""
        buf = aligned_buffer(chunk)
        try:
            offset = 0
            while offset < self.size_bytes:
                length = min(chunk, self.size_bytes - offset)
                buf[:length] = rng.bytes(length)
                view = memoryview(buf)[:length]
                try:
                    written = pwritev(self.fd, [view], offset)
                finally:
                    view.release()
                if written != length:
                    raise OSError(28, "short write while creating the test file")
                offset += length
                yield offset / self.size_bytes
            os.fsync(self.fd)
        finally:
            buf.close()

    def drop_cache(self) -> None:
        """Ask the kernel to forget cached pages of the file (buffered mode only)."""
        if not self.direct and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self.fd, 0, 0, os.POSIX_FADV_DONTNEED)

    def close(self) -> None:
        """Close the descriptor (idempotent)."""
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def remove(self) -> None:
        """Close and delete the file (idempotent, never raises for a missing file)."""
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class _Cursor:
    """Shared sequential offset, wrapping at the end of the file."""

    def __init__(self, size: int, block: int, on_wrap: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._size = size - size % block
        self._block = block
        self._on_wrap = on_wrap

    def take(self) -> int:
        with self._lock:
            offset = self._next
            self._next += self._block
            if self._next >= self._size:
                self._next = 0
                self._on_wrap()
            return offset


def run_pass(
    tf: TestFile,
    test: StorageTest,
    write: bool,
    duration_s: float,
    pool: mmap.mmap,
    poll_s: float = 0.2,
    preadv: IoCall = os.preadv,
    pwritev: IoCall = os.pwritev,
    clock_ns: Callable[[], int] = time.perf_counter_ns,
) -> Generator[float, None, PassStats]:
    """One time-based pass of ``test``; yields the elapsed fraction at least every ``poll_s``.

    Closing the generator (or an exception in it) stops and joins every thread before returning,
    so the caller can remove the file safely.
    """
    block, depth = test.block_bytes, test.queue_depth
    if tf.size_bytes < block * depth:
        raise ValueError("the test file is smaller than one block per thread")
    if not write:
        tf.drop_cache()
    cursor = _Cursor(tf.size_bytes, block, tf.drop_cache if not write else (lambda: None))
    blocks = tf.size_bytes // block
    pool_slots = (len(pool) - block) // ALIGN
    barrier = threading.Barrier(depth + 1)
    deadline = [0]
    stats: list[tuple[int, int, int]] = [(0, 0, 0)] * depth
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(slot: int) -> None:
        rnd = random.Random()
        own = None if write else aligned_buffer(block)
        ops = lat = last = 0
        try:
            barrier.wait()
            end = deadline[0]
            while not stop.is_set():
                t0 = clock_ns()
                if t0 >= end:
                    break
                offset = cursor.take() if test.sequential else rnd.randrange(blocks) * block
                if write:
                    start = rnd.randrange(pool_slots) * ALIGN
                    with memoryview(pool)[start:start + block] as view:
                        done = pwritev(tf.fd, [view], offset)
                else:
                    done = preadv(tf.fd, [own], offset)
                last = clock_ns()
                if done != block:
                    raise OSError(5, f"short {'write' if write else 'read'} at offset {offset}")
                ops += 1
                lat += last - t0
        except threading.BrokenBarrierError:
            return
        except BaseException as exc:  # noqa: BLE001 - reported on the caller's thread
            errors.append(exc)
            stop.set()
        finally:
            stats[slot] = (ops, lat, last)
            if own is not None:
                own.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"rigready-io-{i}", daemon=True)
               for i in range(depth)]
    for t in threads:
        t.start()
    try:
        deadline[0] = clock_ns() + int(duration_s * 1e9)  # read by workers after the barrier
        barrier.wait()
        start = clock_ns()
        while True:
            alive = [t for t in threads if t.is_alive()]
            if not alive:
                break
            alive[0].join(poll_s)
            yield min(1.0, (clock_ns() - start) / 1e9 / duration_s)
        if errors:
            raise errors[0]
        end = max((s[2] for s in stats), default=start)
        if write:
            os.fdatasync(tf.fd) if hasattr(os, "fdatasync") else os.fsync(tf.fd)
            end = clock_ns()  # the final flush counts, as fio's end_fsync=1
    finally:
        stop.set()
        barrier.abort()
        for t in threads:
            t.join()
    ops = sum(s[0] for s in stats)
    return PassStats(ops=ops, bytes=ops * block, elapsed_s=max(end - start, 1) / 1e9,
                     latency_sum_s=sum(s[1] for s in stats) / 1e9)
