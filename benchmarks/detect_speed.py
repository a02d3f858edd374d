"""How long hardware detection takes: ``detect_rig()`` in-process and the whole CLI process.

    python benchmarks/detect_speed.py [--runs N] [--json FILE]

Prints the median (and min/max) of N runs of:

* ``detect_rig()`` called in this process. The first call is shown apart: it loads NVML once
  for the process (a no-op without an NVIDIA driver).
* ``python -m rigready.desktop.cli detect`` as a fresh process (interpreter start, imports,
  detection,
  report), and ``rigready detect`` the same way when the console script is on PATH.

Target (issue 2, item 8): ``rigready detect`` under 1 s on a 2-core machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)
sys.path.insert(0, str(REPO / "build" / "pkgroot"))


def _stats(samples: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(samples), "min_s": min(samples),
            "max_s": max(samples), "runs": len(samples)}


def time_in_process(runs: int) -> tuple[float, dict[str, float]]:
    """Seconds of the first detect_rig() call, and stats of the following ones."""
    from rigready.assess.detect import detect_rig

    start = time.perf_counter()
    detect_rig()
    first = time.perf_counter() - start
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        detect_rig()
        samples.append(time.perf_counter() - start)
    return first, _stats(samples)


def time_process(cmd: list[str], runs: int) -> dict[str, float]:
    """Stats of running ``cmd`` as a new process (output discarded) ``runs`` times."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - start)
    return _stats(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    first, warm = time_in_process(args.runs)
    results: dict[str, object] = {
        "machine": f"{platform.node()} ({os.cpu_count()} logical CPUs, {platform.machine()})",
        "python": platform.python_version(), "detect_rig_first_call_s": first, "detect_rig": warm,
        "cli_module": time_process([sys.executable, "-m", "rigready.desktop.cli", "detect"],
        args.runs),
    }
    script = shutil.which("rigready")
    if script is not None:
        results["cli_script"] = time_process([script, "detect"], args.runs)

    print(f"machine: {results['machine']}, Python {results['python']}")
    print(f"detect_rig() first call:          {first * 1000:8.1f} ms (loads NVML once)")
    for key, label in (("detect_rig", "detect_rig() later calls"),
                       ("cli_module", "python -m rigready.desktop.cli detect"),
                       ("cli_script", "rigready detect")):
        if key in results:
            s = results[key]
            assert isinstance(s, dict)
            print(f"{label + ':':34}{s['median_s'] * 1000:8.1f} ms median "
                  f"(min {s['min_s'] * 1000:.1f}, max {s['max_s'] * 1000:.1f}, {s['runs']} runs)")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
