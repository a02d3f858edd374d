"""What rigready's GPU doors and detection read on an H100 (tests/data/device-smoke/h100-2026-12-06,
see its README): benchmarks/gpu_door_proof.py while a training job held the card and again idle,
then `rigready detect --json` and `rigready detect`. Issue 20 item 3 (one door to NVML) and
issue 22 item 1 (per-process GPU memory and the display, read on a real card)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rigready.assess.profile import load_profile
from rigready.desktop.cli import main
from rigready.monitor.store import Store
from tests.helpers.training import H100, copy_database

RUN = Path(__file__).parent / "data" / "device-smoke" / "h100-2026-12-06"
H100_TOTAL = 85_520_809_984  # NVML's total memory of the H100 80GB HBM3
MIB = 2**20


def _door(name: str, door: str = "nvml") -> dict[str, Any]:
    report = json.loads((RUN / name).read_text())
    assert report["nvml_init_calls"] == 1  # one nvmlInit for every question of the process
    found: dict[str, Any] = next(d for d in report["doors"] if d["door"] == door)
    return found


def test_the_door_lists_the_training_process_with_its_memory() -> None:
    nvml = _door("door_during.json")
    assert nvml["status"] is None
    (gpu,) = nvml["gpus"]
    assert gpu["facts"]["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["facts"]["memory_total_bytes"] == H100_TOTAL and gpu["facts"]["unknown"] == {}
    (proc,) = gpu["processes"]["processes"]
    assert proc == {"pid": 589, "name": "python3", "used_memory_bytes": 5_314_183_168,
                    "kind": "compute"}
    assert gpu["processes"]["unknown"] is None
    # the card's used memory is the process's plus what the driver holds with nothing running
    idle_used = _door("door_idle.json")["gpus"][0]["sample"]["memory_used_bytes"]
    used = gpu["sample"]["memory_used_bytes"]
    assert abs(used - proc["used_memory_bytes"] - idle_used) < 16 * MIB
    assert gpu["sample"]["utilization_pct"] > 50 and gpu["sample"]["power_w"] > 300


def test_the_same_job_under_the_wrapper_had_the_same_process_memory(tmp_path: Path) -> None:
    # pid 589 was the proof's hf_bare job (the same LoRA job as hf_steady, without rigready);
    # `rigready run` read hf_steady's process tree through the monitor's provider (the same door)
    with Store(copy_database(f"{H100}/run.sqlite3.gz", tmp_path), readonly=True) as store:
        (steady,) = [r for r in store.runs() if r.label == "hf_steady"]
    (proc,) = _door("door_during.json")["gpus"][0]["processes"]["processes"]
    assert steady.peak_process_vram_bytes == proc["used_memory_bytes"]


def test_counters_move_between_the_two_readings() -> None:
    (gpu,) = _door("door_during.json")["gpus"]
    again = gpu["sample_again"]
    watts = (again["energy_j"] - gpu["sample"]["energy_j"]) / again["after_s"]
    # the mean power over the 2 s lies near the two instant readings (402-440 W)
    assert 0.8 * again["power_w"] < watts < 1.2 * gpu["sample"]["power_w"]


def test_the_idle_card_lists_no_process_and_no_amd_door() -> None:
    (gpu,) = _door("door_idle.json")["gpus"]
    assert gpu["processes"]["processes"] == [] and gpu["processes"]["unknown"] is None
    assert gpu["sample"]["utilization_pct"] == 0.0
    assert gpu["sample"]["memory_used_bytes"] < 1024 * MIB
    assert gpu["sample"]["unknown"] == {"fan_pct": {"kind": "not_supported",
                                                    "reason": "Not Supported"}}
    assert gpu["display"] == {"device": gpu["device"], "connected": True, "active": False,
                              "unknown": {}}
    amd = _door("door_idle.json", "amdgpu")
    assert amd["status"]["kind"] == "no_device" and amd["gpus"] == []


def test_detect_json_from_the_h100_loads_as_a_profile() -> None:
    profile = load_profile(RUN / "detect.json")
    (gpu,) = profile.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3" and gpu.compute_capability == "9.0"
    assert gpu.vram_bytes == H100_TOTAL and gpu.driver_version == "580.159.04"
    # read idle, after the proof: nothing held the card; NVML's display state is "connected,
    # not active" on this VM, so it drives no desktop
    assert gpu.memory_holders == () and gpu.drives_display is False
    assert gpu.sources["memory_holders"].startswith("nvml")
    assert profile.form_factor is not None and profile.form_factor.kind == "vm"


def test_detect_text_from_the_saved_profile_is_what_the_h100_printed(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--profile", str(RUN / "detect.json")]) == 0
    here = capsys.readouterr().out.splitlines()
    there = (RUN / "detect.txt").read_text().splitlines()
    assert there[0] == "rigready report (this PC)"  # the only line that names the source
    assert here[1:] == there[1:]
