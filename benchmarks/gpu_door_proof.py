"""Print, as JSON, what rigready's GPU doors read on this machine; exit 0 even without a GPU.

    python3 benchmarks/gpu_door_proof.py [--seconds 2] > gpu_door.json

For each door (NVML, amdgpu sysfs): why it cannot be used, or for every GPU its static facts,
one live reading of every group (PCIe throughput included), the processes holding its memory
(compute and graphics, with names and kinds), whether it drives a display, and every value it
could not read with the kind and the reason. Also: how long the first question took (NVML's
init), how many ``nvmlInit`` calls the whole run made (one, however many users ask), and a
second reading ``--seconds`` later so counters (energy) show they move. Run it on the GPU machine
from a checkout (``packaging/pkgroot.py`` puts ``rigready`` on the path), like
``benchmarks/device_smoke.sh``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import runpy
import sys
import time
from pathlib import Path
from typing import Any

try:
    import rigready.gpu  # noqa: F401 - installed, or a checkout's build/pkgroot on PYTHONPATH
except ImportError:  # a bare checkout (the GPU machine's): link the folders, as device_smoke.sh
    _PKGROOT = Path(__file__).resolve().parent.parent / "packaging" / "pkgroot.py"
    sys.path.insert(0, str(runpy.run_path(str(_PKGROOT))["make_tree"]()))

from rigready.gpu.amd_sysfs import AmdSysfs
from rigready.gpu.nvml import nvml_door
from rigready.gpu.types import SAMPLE_FIELDS, Unknown
from rigready.gpu.vendor import GpuDoor


def _plain(value: Any) -> Any:
    if isinstance(value, Unknown):
        return {"kind": value.kind, "reason": value.reason}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def read_door(door: GpuDoor, seconds: float) -> dict[str, Any]:
    """Everything ``door`` can say, as plain JSON values."""
    start = time.perf_counter()
    status = door.status()
    out: dict[str, Any] = {"door": door.name,
                           "first_question_ms": round(1000 * (time.perf_counter() - start), 2),
                           "status": _plain(status), "gpus": []}
    for device in door.devices():
        t0 = time.perf_counter()
        first = door.sample(device, tuple(SAMPLE_FIELDS))
        sample_ms = 1000 * (time.perf_counter() - t0)
        time.sleep(seconds)
        again = door.sample(device, ("energy", "power", "sm_clock"))
        out["gpus"].append({
            "device": _plain(device),
            "facts": _plain(door.facts(device)),
            "sample": _plain(first),
            "sample_ms": round(sample_ms, 3),
            "sample_again": {"after_s": seconds, "energy_j": again.energy_j,
                             "power_w": again.power_w, "sm_clock_mhz": again.sm_clock_mhz},
            "processes": _plain(door.processes(device)),
            "display": _plain(door.display(device)),
        })
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="wait between the two readings (default 2)")
    args = parser.parse_args()
    report: dict[str, Any] = {"python": sys.version.split()[0], "pid": os.getpid()}
    try:
        import pynvml  # benchmarks may: only to count nvmlInit calls and name the version

        calls = {"n": 0}
        real_init = pynvml.nvmlInit

        def counted_init() -> None:
            calls["n"] += 1
            real_init()

        pynvml.nvmlInit = counted_init
        report["nvidia_ml_py"] = importlib.metadata.version("nvidia-ml-py")
    except ImportError:
        calls = {"n": 0}
        report["nvidia_ml_py"] = None
    doors: list[GpuDoor] = [nvml_door(), AmdSysfs()]
    report["doors"] = []
    for door in doors:
        try:
            report["doors"].append(read_door(door, args.seconds))
        except Exception as exc:  # noqa: BLE001 - a proof reports, it never dies
            report["doors"].append({"door": door.name, "crashed": f"{type(exc).__name__}: {exc}"})
    # every user of the process-wide door asks again: NVML must not be initialised twice
    nvml_door().devices()
    report["nvml_init_calls"] = calls["n"]
    json.dump(report, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
