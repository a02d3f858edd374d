"""How fast the CLI starts and detects: ``detect_rig()`` in-process and whole CLI processes.

    python benchmarks/detect_speed.py [--runs N] [--rigready PATH] [--json FILE]

Prints the median (and min/max) of N runs of:

* ``detect_rig()`` called in this process. The first call is shown apart: it loads NVML once
  for the process (a no-op without an NVIDIA driver).
* fresh processes, for scale: ``python -c pass`` (the interpreter alone),
  ``python -c "import cpuinfo"`` (py-cpuinfo, the usual way to read the CPU in Python; rigready
  reads ``/proc`` itself on Linux) and ``python -c "import pynvml"`` (NVML's Python binding, which
  ``detect_rig()`` imports on its first call: its share of ``detect``);
* ``rigready --version`` and ``rigready detect --json`` (the console script; ``--rigready``, else
  the one on PATH, else the one beside this Python), and ``python -m rigready.desktop.cli
  detect`` (interpreter start, imports, detection, report).

The processes run in rounds (each command once per round, after one unmeasured warm-up each), so
a slow moment of a shared machine is spread over all of them rather than landing on one. The
processes import rigready from this checkout (``build/pkgroot``, made by
``packaging/pkgroot.py``), whatever is installed.

Targets: issue 2, item 8: ``rigready detect`` under 1 s on a 2-core machine without a GPU;
issue 20, item 6: ``rigready --version`` within 60 ms and ``rigready detect --json`` within
150 ms (median, 2-core machine, bytecode cached).
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
PKGROOT = REPO / "build" / "pkgroot"
sys.path.insert(0, str(REPO))
# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)
sys.path.insert(0, str(PKGROOT))


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


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PKGROOT), str(REPO), env.get("PYTHONPATH")) if p)
    return env


def time_processes(commands: dict[str, list[str]], runs: int) -> dict[str, dict[str, float]]:
    """Stats of running each command as a new process (output discarded) ``runs`` times.

    One unmeasured run of each first (it writes the bytecode caches), then ``runs`` rounds.
    """
    env = _environment()

    def once(cmd: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start

    for cmd in commands.values():
        once(cmd)
    samples: dict[str, list[float]] = {key: [] for key in commands}
    for _ in range(runs):
        for key, cmd in commands.items():
            samples[key].append(once(cmd))
    return {key: _stats(values) for key, values in samples.items()}


def _console_script(given: str | None) -> str | None:
    if given is not None:
        return given
    beside = Path(sys.executable).parent / "rigready"
    return shutil.which("rigready") or (str(beside) if beside.is_file() else None)


LABELS = {
    "detect_rig": "detect_rig() later calls",
    "python_pass": "python -c pass",
    "import_cpuinfo": "python -c 'import cpuinfo'",
    "import_pynvml": "python -c 'import pynvml'",
    "version": "rigready --version",
    "detect_json": "rigready detect --json",
    "cli_module": "python -m rigready.desktop.cli detect",
    "cli_script": "rigready detect",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--rigready", metavar="PATH", help="the rigready console script")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    first, warm = time_in_process(args.runs)
    python = sys.executable
    commands = {"python_pass": [python, "-c", "pass"],
                "import_cpuinfo": [python, "-c", "import cpuinfo"],
                "import_pynvml": [python, "-c", "import pynvml"]}
    script = _console_script(args.rigready)
    if script is not None:
        commands["version"] = [script, "--version"]
        commands["detect_json"] = [script, "detect", "--json"]
    commands["cli_module"] = [python, "-m", "rigready.desktop.cli", "detect"]
    if script is not None:
        commands["cli_script"] = [script, "detect"]
    results: dict[str, object] = {
        "machine": f"{platform.node()} ({os.cpu_count()} logical CPUs, {platform.machine()})",
        "python": platform.python_version(), "detect_rig_first_call_s": first, "detect_rig": warm,
        **time_processes(commands, args.runs),
    }

    print(f"machine: {results['machine']}, Python {results['python']}")
    print(f"{'detect_rig() first call:':40}{first * 1000:8.1f} ms (loads NVML once)")
    for key, label in LABELS.items():
        if key in results:
            s = results[key]
            assert isinstance(s, dict)
            print(f"{label + ':':40}{s['median_s'] * 1000:8.1f} ms median "
                  f"(min {s['min_s'] * 1000:.1f}, max {s['max_s'] * 1000:.1f}, {s['runs']} runs)")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
