"""What ``rigready run`` costs a training (issue 21 targets: under 1% of one core at 100 log
lines a second, under 5 ms added latency per line).

A child prints ``--rate`` lines a second for ``--seconds`` (tqdm redraws ending in ``\\r`` and
Trainer log dicts, alternating), each stamped with its ``time.time()``. This script reads the
child's terminal output through a pty, stamps each line on arrival, and compares the latency
with the child read directly against the child under ``rigready run``. The rigready process's
CPU is read with psutil between 5 s after its start (imports done) and the child's end; its
sampler uses the synthetic provider (RIGREADY_FAKE_PROVIDER=1), so the figure is the
pass-through, parsing, recording to SQLite and a 1 Hz sampler.

    python benchmarks/run_wrapper_cost.py [--seconds 30] [--rate 100]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CHILD = r"""
import sys, time
rate, seconds = float(sys.argv[1]), float(sys.argv[2])
n = int(rate * seconds)
start = time.time()
for i in range(n):
    now = time.time()
    if i % 2:
        line = ("{'loss': '%.4f', 'grad_norm': '0.5', 'learning_rate': '1e-4', 'epoch': '0.1'}"
                " @%.6f\n" % (1.0 / (i + 1), now))
    else:
        line = " %3d%%|#####     | %d/%d [00:01<00:01,  5.00it/s] @%.6f\r" % (
            100 * i // n, i, n, now)
    sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(max(0.0, start + (i + 1) / rate - time.time()))
"""


def read_lines(fd: int, proc: subprocess.Popen[bytes]) -> list[float]:
    """Latencies (s) of every stamped line read from ``fd`` until the process ends."""
    buffer = b""
    latencies = []
    while True:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        arrived = time.time()
        buffer += data
        *parts, buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        for part in parts:
            if b" @" in part:
                try:
                    latencies.append(arrived - float(part.rsplit(b" @", 1)[1]))
                except ValueError:
                    continue
    return latencies


def run(argv: list[str], env: dict[str, str] | None = None,
        cpu_from_s: float | None = None) -> tuple[list[float], float | None]:
    """Latencies of ``argv``'s stamped lines, and its CPU share of one core (when asked)."""
    import psutil

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    share: list[float] = []
    if cpu_from_s is not None:
        me = psutil.Process(proc.pid)

        def watch() -> None:
            time.sleep(cpu_from_s)
            try:
                c0, t0 = sum(me.cpu_times()[:2]), time.monotonic()
                last = (c0, t0)
                while proc.poll() is None:
                    last = (sum(me.cpu_times()[:2]), time.monotonic())
                    time.sleep(0.2)
            except psutil.Error:
                pass
            share.append((last[0] - c0) / max(1e-9, last[1] - t0))

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    try:
        lines = read_lines(master, proc)
    finally:
        os.close(master)
        proc.wait()
    if cpu_from_s is not None:
        watcher.join(5)
    return lines, (share[0] if share else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0, help="lines per second")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "child.py"
        script.write_text(CHILD)
        child = [sys.executable, str(script), str(args.rate), str(args.seconds)]
        base, _ = run(child)
        env = dict(os.environ, RIGREADY_FAKE_PROVIDER="1")
        wrapped, cpu = run([sys.executable, "-m", "rigready.desktop.cli", "run", "--db",
                            str(Path(tmp) / "db.sqlite3"), "--no-desktop-notify", "--quiet",
                            "--", *child], env, cpu_from_s=5.0)

    def p99(xs: list[float]) -> float:
        return sorted(xs)[int(0.99 * (len(xs) - 1))]

    med = statistics.median
    print(f"lines read: direct {len(base)}, wrapped {len(wrapped)} "
          f"(printed {int(args.rate * args.seconds)})")
    print(f"latency direct  median {1000 * med(base):.2f} ms, p99 {1000 * p99(base):.2f} ms")
    print(f"latency wrapped median {1000 * med(wrapped):.2f} ms, p99 {1000 * p99(wrapped):.2f} ms")
    print(f"added by rigready run: median {1000 * (med(wrapped) - med(base)):.2f} ms, "
          f"p99 {1000 * (p99(wrapped) - p99(base)):.2f} ms per line")
    if cpu is not None:
        print(f"rigready process CPU (steady, after start-up): {100 * cpu:.2f}% of one core at "
              f"{args.rate:g} lines/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
