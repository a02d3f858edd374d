"""Linux native asynchronous I/O through ctypes: a true queue depth from one Python thread.

CrystalDiskMark's "Q32T1" means one thread keeping 32 requests in flight; KDiskMark runs fio with
``ioengine=libaio, iodepth=32``. The standard library cannot do that, but the kernel's AIO system
calls (``io_setup``, ``io_submit``, ``io_getevents``, ``io_destroy``) need no library: they are
called here through libc's ``syscall()``. With ``O_DIRECT`` they are truly asynchronous; without
it they complete synchronously, so the storage benchmark falls back to threads then (see
:mod:`rigready.assess.bench.storage_io`).

Structure layouts follow ``linux/aio_abi.h`` (little-endian: ``aio_key`` before ``aio_rw_flags``).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import sys
import time
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from rigready.assess.bench.signals import signals_deferred
from rigready.assess.bench.storage_io import ALIGN, PassStats, StorageTest, TestFile

#: (io_setup, io_destroy, io_getevents, io_submit) system call numbers per machine.
_SYSCALLS = {"x86_64": (206, 207, 208, 209), "aarch64": (0, 1, 4, 2)}
_PREAD, _PWRITE = 0, 1


class _Iocb(ctypes.Structure):
    _fields_ = (
        ("aio_data", ctypes.c_uint64), ("aio_key", ctypes.c_uint32),
        ("aio_rw_flags", ctypes.c_uint32), ("aio_lio_opcode", ctypes.c_uint16),
        ("aio_reqprio", ctypes.c_int16), ("aio_fildes", ctypes.c_uint32),
        ("aio_buf", ctypes.c_uint64), ("aio_nbytes", ctypes.c_uint64),
        ("aio_offset", ctypes.c_int64), ("aio_reserved2", ctypes.c_uint64),
        ("aio_flags", ctypes.c_uint32), ("aio_resfd", ctypes.c_uint32),
    )


class _IoEvent(ctypes.Structure):
    _fields_ = (
        ("data", ctypes.c_uint64), ("obj", ctypes.c_uint64), ("res", ctypes.c_int64),
        ("res2", ctypes.c_int64),
    )


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Aio:
    """The four system calls, bound once."""

    def __init__(self) -> None:
        if not sys.platform.startswith("linux") or platform.machine() not in _SYSCALLS:
            raise OSError(38, "Linux native AIO is not available on this system")
        if ctypes.sizeof(_Iocb) != 64 or ctypes.sizeof(_IoEvent) != 32:
            raise OSError(38, "unexpected AIO structure sizes")
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.libc.syscall.restype = ctypes.c_long
        self.setup, self.destroy, self.getevents, self.submit = _SYSCALLS[platform.machine()]

    def call(self, number: int, *args: Any) -> int:
        result = int(self.libc.syscall(number, *args))
        if result < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"AIO system call {number} failed: {os.strerror(err)}")
        return result


_AVAILABLE: bool | None = None


def aio_available() -> bool:
    """Whether ``io_setup`` works here (not blocked by a sandbox); checked once per process."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            aio = _Aio()
            ctx = ctypes.c_ulong(0)
            aio.call(aio.setup, 1, ctypes.byref(ctx))
            aio.call(aio.destroy, ctx)
            _AVAILABLE = True
        except OSError:
            _AVAILABLE = False
    return _AVAILABLE


def run_pass_aio(
    tf: TestFile,
    test: StorageTest,
    write: bool,
    duration_s: float,
    pool: mmap.mmap,
    poll_s: float = 0.2,
    clock_ns: Callable[[], int] = time.perf_counter_ns,
) -> Generator[float, None, PassStats]:
    """One time-based pass with ``test.queue_depth`` requests in flight; yields elapsed fraction.

    Same contract as :func:`rigready.assess.bench.storage_io.run_pass`. Closing the generator waits
    for the requests in flight (``io_destroy`` blocks until they end) before buffers are freed.

    The hot loop touches the request and event arrays through int64 memoryviews rather than
    ctypes attributes (several times cheaper per field), and draws random offsets from numpy in
    batches, so the engine spends a few microseconds of Python per request.
    """
    aio = _Aio()
    depth, block = test.queue_depth, test.block_bytes
    blocks = tf.size_bytes // block
    if blocks < depth:
        raise ValueError("the test file is smaller than one block per request in flight")
    ctx = ctypes.c_ulong(0)
    aio.call(aio.setup, depth, ctypes.byref(ctx))
    buffers = mmap.mmap(-1, depth * block)
    anchors: list[Any] = [ctypes.c_char.from_buffer(buffers), ctypes.c_char.from_buffer(pool)]
    read_base, pool_base = (ctypes.addressof(a) for a in anchors)
    pool_slots = (len(pool) - block) // ALIGN
    iocbs = (_Iocb * depth)()
    for i, c in enumerate(iocbs):
        c.aio_data = i
        c.aio_lio_opcode = _PWRITE if write else _PREAD
        c.aio_fildes = tf.fd
        c.aio_buf = read_base + i * block
        c.aio_nbytes = block
    first = ctypes.addressof(iocbs)
    ptrs = (ctypes.c_uint64 * depth)(*(first + 64 * i for i in range(depth)))
    again = (ctypes.c_uint64 * depth)()
    events = (_IoEvent * depth)()
    cb = memoryview(iocbs).cast("B").cast("q")  # 8 int64 per request: buf at 3, offset at 5
    ev = memoryview(events).cast("B").cast("q")  # 4 int64 per event: data, obj, res, res2
    resubmit = memoryview(again).cast("B").cast("Q")
    wait = _Timespec(0, int(min(poll_s, 0.1) * 1e9))
    rng = np.random.default_rng()
    submitted = [0] * depth
    offsets: list[int] = []
    sources: list[int] = []
    seq_next = 0
    if not write:
        tf.drop_cache()
    ops = lat = 0
    submit, getevents = aio.submit, aio.getevents
    syscall = aio.libc.syscall  # called directly in the loop: every microsecond shows at Q32
    wait_ref = ctypes.byref(wait)
    ctx_id = ctypes.c_ulong(ctx.value)  # 64-bit: a plain int would pass as a 32-bit C int
    try:
        start = clock_ns()
        end = start + int(duration_s * 1e9)
        last = next_yield = start
        for i in range(depth):
            if test.sequential:
                cb[i * 8 + 5] = seq_next
                seq_next = (seq_next + block) % (blocks * block)
            else:
                cb[i * 8 + 5] = int(rng.integers(blocks)) * block
            if write:
                cb[i * 8 + 3] = pool_base + int(rng.integers(pool_slots)) * ALIGN
            submitted[i] = start
        inflight = aio.call(submit, ctx, depth, ptrs)
        if inflight != depth:
            raise OSError(11, f"io_submit accepted {inflight} of {depth} requests")
        while inflight:
            got = syscall(getevents, ctx_id, 1, depth, events, wait_ref)
            if got < 0:
                err = ctypes.get_errno()
                if err == 4:  # EINTR: a signal arrived; its Python handler runs after this line
                    continue
                raise OSError(err, f"io_getevents failed: {os.strerror(err)}")
            now = clock_ns()
            k = 0
            for j in range(got):
                i, res = ev[j * 4], ev[j * 4 + 2]
                inflight -= 1
                if res != block:
                    err = -res if res < 0 else 5
                    raise OSError(err, f"{'write' if write else 'read'} failed at offset "
                                       f"{cb[i * 8 + 5]}: {os.strerror(err)}")
                ops += 1
                lat += now - submitted[i]
                last = now
                if now < end:
                    if test.sequential:
                        cb[i * 8 + 5] = seq_next
                        seq_next = (seq_next + block) % (blocks * block)
                    else:
                        if not offsets:
                            offsets = (rng.integers(0, blocks, 4096) * block).tolist()
                        cb[i * 8 + 5] = offsets.pop()
                    if write:
                        if not sources:
                            sources = (pool_base + rng.integers(0, pool_slots, 4096) * ALIGN
                                       ).tolist()
                        cb[i * 8 + 3] = sources.pop()
                    submitted[i] = now
                    resubmit[k] = ptrs[i]
                    k += 1
            if k:
                added = syscall(submit, ctx_id, k, again)
                if added != k:
                    err = ctypes.get_errno() if added < 0 else 11
                    raise OSError(err, f"io_submit accepted {added} of {k} requests")
                inflight += added
            if now >= next_yield:
                next_yield = now + int(poll_s * 1e9)
                yield min(1.0, (now - start) / 1e9 / duration_s)
        if write:
            os.fdatasync(tf.fd)
            last = clock_ns()  # the final flush counts, as fio's end_fsync=1
    finally:
        # No signal may cut this short: a KeyboardInterrupt between these lines would leave
        # the anchors exported, and closing the pool later would raise BufferError.
        with signals_deferred():
            aio.call(aio.destroy, ctx)  # blocks until requests still in flight have ended
            cb.release()
            ev.release()
            resubmit.release()
            anchors.clear()
            del anchors
            buffers.close()
    return PassStats(ops=ops, bytes=ops * block, elapsed_s=max(last - start, 1) / 1e9,
                     latency_sum_s=lat / 1e9)
