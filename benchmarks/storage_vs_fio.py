"""Compare rigready's Python storage engine with fio on the same file and machine.

Usage: ``python benchmarks/storage_vs_fio.py [--path DIR] [--size-mib 512] [--seconds 3]
[--repeats 3]`` (needs ``fio`` on PATH, e.g. ``apt-get install fio``).

For each CrystalDiskMark test (SEQ1M Q8T1, SEQ1M Q1T1, RND4K Q32T1, RND4K Q1T1) and direction, on
one test file of random data created by rigready's engine, it runs ``repeats`` rounds of:

* rigready AIO engine (the default): one time-based pass of ``--seconds`` after a 1 s warm-up
  (``rigready.assess.bench.storage_aio``), against fio ``--ioengine=libaio --iodepth=Q --numjobs=1``
  (what KDiskMark runs, and CrystalDiskMark's Q/T meaning);
* rigready threads engine (the fallback, ``rigready.assess.bench.storage_io``), against fio
  ``--ioengine=psync --numjobs=Q --iodepth=1`` (threads too);

all with O_DIRECT, time-based, ``end_fsync`` for writes, interleaved round by round so that drift
of the disk affects all four alike. It prints the median MB/s of each, the ratios, and fio's own
spread across rounds (the noise floor of the machine). The file is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))

from rigready.assess.bench.storage_aio import aio_available, run_pass_aio
from rigready.assess.bench.storage_io import CDM_TESTS, StorageTest, TestFile, random_pool, run_pass
from rigready.assess.bench.storage_target import bench_file_name, check_target

MIB = 1024**2


def rigready_pass(tf: TestFile, test: StorageTest, write: bool, seconds: float,
                  pool: Any, aio: bool) -> tuple[float, float, float]:
    """(MB/s, IOPS, mean latency µs) of one warm-up + one timed pass."""
    for duration in (1.0, seconds):
        gen = (run_pass_aio(tf, test, write, duration, pool) if aio else
               run_pass(tf, test, write, duration, pool))
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            stats = stop.value
    return stats.mb_s, stats.iops, stats.latency_us


def fio_pass(path: str, size: int, test: StorageTest, write: bool, seconds: float,
             engine: str) -> tuple[float, float, float]:
    """(MB/s, IOPS, mean latency µs) of one fio run on the same file."""
    rw = ("write" if write else "read") if test.sequential else (
        "randwrite" if write else "randread")
    threads = engine == "psync"
    cmd = [
        "fio", "--name=cmp", f"--filename={path}", f"--size={size}", "--direct=1",
        f"--ioengine={engine}", f"--iodepth={1 if threads else test.queue_depth}",
        f"--numjobs={test.queue_depth if threads else 1}", f"--rw={rw}",
        f"--bs={test.block_bytes}", "--time_based", f"--runtime={seconds}", "--ramp_time=1",
        "--norandommap", "--randrepeat=0", "--group_reporting", "--output-format=json",
        "--thread",
    ]
    if write:
        cmd.append("--end_fsync=1")
    if threads and test.sequential:
        # numjobs share no offsets in fio; give each job its own slice of the file
        cmd.append(f"--offset_increment={size // test.queue_depth}")
        cmd[3] = f"--size={size // test.queue_depth}"
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    job = json.loads(done.stdout)["jobs"][0]["write" if write else "read"]
    return job["bw_bytes"] / 1e6, job["iops"], job["lat_ns"]["mean"] / 1000.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", type=Path, default=Path.home())
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--force", action="store_true",
                        help="allow tmpfs (to measure the engines' own ceiling at RAM speed)")
    args = parser.parse_args()
    if shutil.which("fio") is None:
        print("fio is not installed (apt-get install fio)", file=sys.stderr)
        return 2
    target = check_target(args.path, args.size_mib * MIB, force=args.force)
    version = subprocess.run(["fio", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {target.folder} ({target.fs_type} on {target.device}), {args.size_mib} MiB file, "
          f"{args.seconds} s passes, median of {args.repeats}; {version}; "
          f"{os.cpu_count()} CPUs", flush=True)
    tf = TestFile(target.folder / bench_file_name(os.getpid()), args.size_mib * MIB)
    rng = np.random.default_rng()
    rows: list[tuple[str, str, float, float, float, float, float]] = []  # name, op, 4 MB/s, lat
    try:
        tf.open()
        for _ in tf.fill(rng):
            pass
        pool = random_pool(rng)
        use_aio = tf.direct and aio_available()
        print(f"# O_DIRECT: {tf.direct}; AIO engine: {use_aio}", flush=True)
        print("| test | op | rigready AIO MB/s | fio libaio MB/s | ratio | fio libaio spread | "
              "rigready threads MB/s | fio psync xQ MB/s | ratio | rigready lat µs | "
              "fio lat µs |")
        print("|" + "---|" * 11)
        for write in (False, True):
            for test in CDM_TESTS:
                ours, aio, thr, sync, ours_lat, aio_lat = [], [], [], [], [], []
                for _ in range(args.repeats):
                    mb, _iops, lat = rigready_pass(tf, test, write, args.seconds, pool, use_aio)
                    ours.append(mb)
                    ours_lat.append(lat)
                    mb, _iops, lat = fio_pass(tf.path, tf.size_bytes, test, write, args.seconds,
                                              "libaio")
                    aio.append(mb)
                    aio_lat.append(lat)
                    thr.append(rigready_pass(tf, test, write, args.seconds, pool, False)[0])
                    sync.append(fio_pass(tf.path, tf.size_bytes, test, write, args.seconds,
                                         "psync")[0])
                m = [statistics.median(v) for v in (ours, aio, thr, sync, ours_lat, aio_lat)]
                op = "write" if write else "read"
                spread = f"{min(aio):,.0f}-{max(aio):,.0f}"
                rows.append((test.name, op, m[0], m[1], m[2], m[3], m[4]))
                print(f"| {test.name} | {op} | {m[0]:,.1f} | {m[1]:,.1f} | {m[0] / m[1]:.2f} | "
                      f"{spread} | {m[2]:,.1f} | {m[3]:,.1f} | {m[2] / m[3]:.2f} | "
                      f"{m[4]:,.0f} | {m[5]:,.0f} |", flush=True)
        pool.close()
    finally:
        tf.remove()
    within = sum(1 for r in rows if abs(r[2] / r[3] - 1) <= 0.15)
    within_threads = sum(1 for r in rows if abs(r[4] / r[5] - 1) <= 0.15)
    print(f"# AIO engine within 15% of fio libaio: {within}/{len(rows)}; threads engine within "
          f"15% of fio psync: {within_threads}/{len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
