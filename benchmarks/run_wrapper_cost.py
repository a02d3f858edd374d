"""What ``rigready run`` costs a training (issue 21 targets: under 1% of one core at 100 log
lines a second, under 5 ms added latency per line).

A child prints ``--rate`` lines a second for ``--seconds`` (tqdm redraws ending in ``\\r`` and
Trainer log dicts, alternating, each its own write), each stamped with its ``time.time()``. This
script reads the child's terminal output through a pty, stamps each line on arrival, and
compares the latency with the child read directly against the child under ``rigready run``.

CPU, as shares of one core:

- (a) **parsing and pass-through** (the target's quantity): the pump thread's CPU (poll, read,
  write, the hand-over to the recorder) plus the recorder's parsing of the output (with the
  tracker and alert engine it feeds), as ``rigready run`` measures them itself
  (``time.thread_time``) and logs at the end (``run cost:`` in ``$RIGREADY_HOME/logs/
  rigready.log``), over the run's length;
- (b) **the whole process**, read with psutil from 5 s after its start (imports done) to the
  child's end: (a) plus the 1 Hz GPU sampler (the synthetic provider here,
  RIGREADY_FAKE_PROVIDER=1), the process-tree readings, the snapshots and SQLite;
- the main thread alone (psutil's per-thread times), which any version of rigready has: the
  pass-through part of (a) for a tree that does not log its cost.

    python benchmarks/run_wrapper_cost.py [--seconds 30] [--rate 100] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import pty
import re
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
        cpu_from_s: float | None = None) -> tuple[list[float], float | None, float | None]:
    """Latencies of ``argv``'s stamped lines, and (when asked) the process's and its main
    thread's CPU shares of one core."""
    import psutil

    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=slave, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    share: list[float] = []
    if cpu_from_s is not None:
        me = psutil.Process(proc.pid)

        def main_thread() -> float:
            return next((t.user_time + t.system_time for t in me.threads() if t.id == proc.pid),
                        0.0)

        def watch() -> None:
            time.sleep(cpu_from_s)
            try:
                c0, m0, t0 = sum(me.cpu_times()[:2]), main_thread(), time.monotonic()
                last = (c0, m0, t0)
                while proc.poll() is None:
                    last = (sum(me.cpu_times()[:2]), main_thread(), time.monotonic())
                    time.sleep(0.2)
            except psutil.Error:
                pass
            wall = max(1e-9, last[2] - t0)
            share.extend([(last[0] - c0) / wall, (last[1] - m0) / wall])

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
    try:
        lines = read_lines(master, proc)
    finally:
        os.close(master)
        proc.wait()
    if cpu_from_s is not None:
        watcher.join(5)
    return lines, (share[0] if share else None), (share[1] if share else None)


_COST = re.compile(r"run cost: pass-through ([0-9.]+) s CPU, parsing ([0-9.]+) s, recorder "
                   r"([0-9.]+) s, over ([0-9.]+) s")


def logged_cost(home: Path) -> tuple[float, float, float] | None:
    """(pass-through, parsing, whole recorder) as shares of one core, from the run's log."""
    try:
        text = (home / "logs" / "rigready.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = _COST.findall(text)
    if not found:
        return None
    pump, parse, recorder, wall = (float(x) for x in found[-1])
    wall = max(wall, 1e-9)
    return pump / wall, parse / wall, recorder / wall


def once(child: list[str], tmp: Path, i: int) -> dict[str, float | None]:
    """One direct and one wrapped run; the figures of the pair."""
    base, _, _ = run(child)
    home = tmp / f"home{i}"
    env = dict(os.environ, RIGREADY_FAKE_PROVIDER="1", RIGREADY_HOME=str(home))
    wrapped, cpu, main_cpu = run([sys.executable, "-m", "rigready.desktop.cli", "run", "--db",
                                  str(tmp / f"db{i}.sqlite3"), "--no-desktop-notify", "--quiet",
                                  "--", *child], env, cpu_from_s=5.0)
    cost = logged_cost(home)

    def p99(xs: list[float]) -> float:
        return sorted(xs)[int(0.99 * (len(xs) - 1))]

    med = statistics.median
    return {"lines_direct": len(base), "lines_wrapped": len(wrapped),
            "added_median_ms": 1000 * (med(wrapped) - med(base)),
            "added_p99_ms": 1000 * (p99(wrapped) - p99(base)),
            "direct_p99_ms": 1000 * p99(base),
            "passthrough_pct": None if cost is None else 100 * cost[0],
            "parsing_pct": None if cost is None else 100 * cost[1],
            "a_pct": None if cost is None else 100 * (cost[0] + cost[1]),
            "recorder_pct": None if cost is None else 100 * cost[2],
            "main_thread_pct": None if main_cpu is None else 100 * main_cpu,
            "b_pct": None if cpu is None else 100 * cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0, help="lines per second")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs (medians shown)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "child.py"
        script.write_text(CHILD)
        child = [sys.executable, str(script), str(args.rate), str(args.seconds)]
        for i in range(args.repeat):
            rows.append(once(child, Path(tmp), i))

    def show(key: str) -> str:
        values = [r[key] for r in rows if r[key] is not None]
        if not values:
            return "n/a"
        text = f"{statistics.median(values):.2f}"  # type: ignore[type-var]
        return text if len(values) == 1 else f"{text} (of {', '.join(f'{v:.2f}' for v in values)})"

    print(f"lines read: direct {show('lines_direct')}, wrapped {show('lines_wrapped')} "
          f"(printed {int(args.rate * args.seconds)}); {len(rows)} pair(s), medians")
    print(f"added by rigready run: median {show('added_median_ms')} ms, p99 "
          f"{show('added_p99_ms')} ms per line (direct p99 {show('direct_p99_ms')} ms)")
    print(f"(a) parsing + pass-through: {show('a_pct')}% of one core at {args.rate:g} lines/s "
          f"(pass-through {show('passthrough_pct')}%, parsing {show('parsing_pct')}%)")
    print(f"(b) whole rigready process (steady, after start-up): {show('b_pct')}% of one core "
          f"(main thread {show('main_thread_pct')}%, recorder thread {show('recorder_pct')}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
