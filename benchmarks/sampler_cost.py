"""CPU cost of the monitor's sampler at 1 Hz, as a percentage of one core (target: under 1 %).

Two figures:

1. *per tick*: ``--ticks`` back-to-back ticks (read providers, judge alerts, write and commit to
   SQLite) timed with the thread CPU clock; at 1 Hz the cost is that many ms per 1000 ms.
2. *real time*: the sampler thread running at ``--interval`` for ``--seconds``; process CPU time
   (every thread, including SQLite) over wall time, and the sampler thread's own CPU time.

``--provider fake`` (default) uses the synthetic provider, so it runs anywhere; ``--provider
real`` uses what this machine has (psutil host + NVML + amdgpu).

    .venv/bin/python benchmarks/sampler_cost.py --seconds 20
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "build" / "pkgroot"))

from rigready.monitor.providers import Provider, default_providers
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.providers.host import HostProvider
from rigready.monitor.sampler import Sampler


def _providers(kind: str) -> tuple[list[Provider], list[str]]:
    if kind == "fake":
        return [HostProvider(), FakeProvider(with_host=False)], []
    return default_providers()


def per_tick(kind: str, ticks: int, db: Path) -> float:
    """Mean thread-CPU milliseconds per tick, including a commit on every tick."""
    providers, _ = _providers(kind)
    sampler = Sampler(providers, db_path=db, interval_s=1.0, commit_every_s=0.0)
    sampler.open_session("per-tick cost")
    try:
        for _ in range(5):  # warm caches, first CPU % reading, SQLite pages
            sampler.tick()
        start = time.thread_time()
        for _ in range(ticks):
            sampler.tick()
        return 1000.0 * (time.thread_time() - start) / ticks
    finally:
        sampler.close_session()
        sampler.close()


def real_time(kind: str, seconds: float, interval: float, db: Path) -> dict[str, float]:
    """Run the sampler thread in real time and measure CPU over wall time."""
    providers, _ = _providers(kind)
    sampler = Sampler(providers, db_path=db, interval_s=interval)
    cpu0, wall0 = time.process_time(), time.monotonic()
    sampler.start("real-time cost")
    time.sleep(seconds)
    sampler.close()
    wall = time.monotonic() - wall0
    return {
        "process_cpu_pct": 100.0 * (time.process_time() - cpu0) / wall,
        "sampler_thread_cpu_pct": 100.0 * sampler.cpu_seconds / wall,
        "ticks": float(sampler.ticks),
        "wall_s": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=("fake", "real"), default="fake")
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    providers, skipped = _providers(args.provider)
    names = [p.name for p in providers]
    notes = [n for p in providers for n in p.notes()]
    for p in providers:
        p.close()
    with tempfile.TemporaryDirectory() as tmp:
        tick_ms = per_tick(args.provider, args.ticks, Path(tmp) / "tick.sqlite3")
        live = real_time(args.provider, args.seconds, args.interval, Path(tmp) / "live.sqlite3")
    print(f"providers: {', '.join(names)}" + (f" (skipped: {'; '.join(skipped)})"
                                               if skipped else ""))
    for note in notes:
        print(f"  note: {note}")
    print(f"per tick: {tick_ms:.3f} ms CPU -> {tick_ms / 10:.3f}% of one core at 1 Hz "
          f"(mean of {args.ticks} ticks, commit every tick)")
    print(f"real time, {live['wall_s']:.0f} s at {args.interval:g} s: sampler thread "
          f"{live['sampler_thread_cpu_pct']:.3f}% of one core, whole process "
          f"{live['process_cpu_pct']:.3f}% ({live['ticks']:.0f} ticks)")
    ok = max(tick_ms / 10, live["sampler_thread_cpu_pct"]) < 1.0
    print(f"target < 1% of one core at 1 Hz: {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"providers": names, "notes": notes,
                                         "per_tick_ms": tick_ms, **live}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
