"""detect_rig(): probes isolated from each other, the profile round trip, the committed profiles."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import rigready.assess.detect as detect
from rigready.assess.detect import detect_rig
from rigready.assess.hardware import CpuInfo
from rigready.assess.profile import load_profile, profile_from_dict, profile_to_dict
from rigready.gpu.types import Unknown
from rigready.gpu.vendor import VendorUnavailable

DATA = Path(__file__).parent / "data"
CPU_ONLY = DATA / "detect" / "cpu-only-vm-2026-11-22"
NO_NVML = VendorUnavailable("nvml", Unknown(
    "library_not_found", "no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"))


def _clock() -> datetime:
    return datetime(2026, 11, 22, 3, 40, tzinfo=UTC)


def test_captured_tree_round_trips_through_the_profile() -> None:
    profile = detect_rig(root=CPU_ONLY, nvml=NO_NVML, clock=_clock)
    assert profile.created == "2026-11-22T03:40:00+00:00"
    assert profile.origin == "detected"
    again = profile_from_dict(json.loads(json.dumps(profile_to_dict(profile))))
    assert again.cpu == profile.cpu and again.storage == profile.storage
    assert again.warnings == profile.warnings


def test_a_failing_probe_becomes_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fs: object) -> tuple[CpuInfo, list[str]]:
        raise ValueError("unexpected cpuinfo layout")

    monkeypatch.setattr(detect, "probe_cpu", broken)
    profile = detect_rig(root=CPU_ONLY, nvml=NO_NVML, clock=_clock)
    assert profile.cpu == CpuInfo()
    assert profile.warnings[0] == "CPU: detection failed (ValueError: unexpected cpuinfo layout)"
    assert profile.memory.total_bytes is not None  # the other probes still ran
    assert [d.name for d in profile.storage] == ["vda"]


def test_cpu_only_profile_committed_from_this_machine() -> None:
    profile = load_profile(DATA / "profiles" / "cpu-only-2026-11-22.json")
    assert profile.gpus == ()
    assert profile.cpu.model == "AMD EPYC" and profile.cpu.logical_cores == 2
    assert "avx512f" in profile.cpu.flags
    assert profile.storage[0].kind == "virtual" and "/" in profile.storage[0].mount_points
    assert any("no NVIDIA driver found" in w for w in profile.warnings)
    # The live probe of the machine and the probe of its captured tree agree.
    tree = detect_rig(root=CPU_ONLY, nvml=NO_NVML)
    assert tree.cpu == profile.cpu
    assert (tree.memory.total_bytes, tree.storage[0].total_bytes) == (
        profile.memory.total_bytes, profile.storage[0].total_bytes)
