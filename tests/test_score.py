"""Tiers, weakest link, the 0-100 score and task verdicts, on the small test catalog."""

from __future__ import annotations

import pytest

from rigready.assess.hardware import RigProfile
from rigready.assess.score import MeasuredPerformance, Readiness, TaskVerdict, assess_readiness
from rigready.catalog import Catalog, load_catalog
from tests.score_helpers import MINI, disk, gpu, rig


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog(None, builtin_dir=MINI)


def _task(result: Readiness, task_id: str) -> TaskVerdict:
    return next(t for t in result.tasks if t.task_id == task_id)


def test_component_tiers_and_weakest_link(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3060", 12),), ram_gib=16, cores=6), cat)
    ranks = {c.component: c.rank for c in r.components}
    # RTX 3060: 12 GiB, 25.5 TFLOPS -> Enthusiast (needs 8 GiB, 20); Professional needs 50.
    assert ranks == {"gpu": 2, "cpu": 2, "ram": 1, "storage": 5}
    assert r.overall_rank == 1 and r.overall_tier_id == "entry"
    assert r.weakest == ("ram",)
    assert "32 GiB RAM" in r.lift and "Enthusiast" in r.lift
    assert any("weakest link is the RAM" in x for x in r.reasons)


def test_no_gpu_is_below_entry_and_names_a_gpu(cat: Catalog) -> None:
    r = assess_readiness(rig(), cat)
    assert r.component("gpu").rank == 0
    assert r.overall_rank == 0 and r.overall_tier_name == "below entry"
    assert r.weakest == ("gpu",)
    assert "GTX 1660" in r.lift
    gpu_parts = [p for p in r.score_parts if p.name.startswith("GPU")]
    assert all(p.points == 0 and p.detail == "no discrete GPU" for p in gpu_parts)


def test_lift_examples_beat_the_current_gpu(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce GTX 1660", 6),)), cat)
    lift = r.component("gpu").lift
    assert "RTX 3060 Ti" in lift and "GTX 1660" not in lift


def test_unknown_component_is_not_counted_but_said(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3090", 24),), ram_gib=None, cores=16,
                             disks=(disk("virtual", 64, 30),)), cat)
    assert r.component("ram").rank is None and r.component("storage").rank is None
    assert r.overall_rank == 4  # GPU: RTX 3090 reaches Enterprise; CPU 16 cores Data Center
    assert any("not counted because unknown: RAM, Storage" in x for x in r.reasons)
    nothing = assess_readiness(rig(ram_gib=None, cores=None, disks=(disk("usb", 64, 1),)), cat)
    # Only the GPU tier (none: rank 0) is known here.
    assert nothing.overall_rank == 0


def test_unmatched_gpu_speed_is_unknown_not_guessed(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 9999", 32),)), cat)
    assert r.component("gpu").rank is None
    assert r.facts.gpu_half_tflops is None
    assert any("no catalog entry matches" in x for x in r.reasons)
    speed = next(p for p in r.score_parts if p.name == "GPU speed")
    assert speed.points == 0 and "unknown" in speed.detail


def test_measured_numbers_win_and_are_named(cat: Catalog) -> None:
    profile = rig((gpu("NVIDIA GeForce RTX 3060", 12),), disks=(disk("virtual", 500, 400),))
    plain = assess_readiness(profile, cat)
    measured = MeasuredPerformance(gpu_bf16_tflops=60.0, cpu_fp32_gflops=300.0,
                                   storage_seq_read_mb_s=3000.0,
                                   storage_rnd4k_q1t1_read_mb_s=50.0, sources=("bench run 7",))
    r = assess_readiness(profile, cat, measured)
    assert r.facts.gpu_half_tflops == 60.0 and r.facts.gpu_speed_measured
    assert r.component("gpu").rank == 3  # 60 TFLOPS measured reaches Professional (50)
    assert plain.component("gpu").rank == 2
    assert r.facts.cpu_gflops == 300.0 and r.facts.storage_read_mb_s == 3000.0
    assert r.component("storage").rank is not None  # the virtual disk is classed by speed
    assert plain.component("storage").rank is None
    text = " ".join(r.reasons)
    assert "measured 60 TFLOPS" in text and "bench run 7" in text
    assert "classed as nvme" in text


def test_score_bounds_and_order(cat: Catalog) -> None:
    h200 = rig((gpu("NVIDIA H200", 140.4, power_w=700),), ram_gib=2048, cores=128,
               clock_mhz=3500, disks=(disk("nvme", 30000, 20000),))
    top = assess_readiness(h200, cat)
    mid = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3060", 12),)), cat)
    low = assess_readiness(rig(ram_gib=8, cores=4, disks=(disk("hdd", 1000, 500),)), cat)
    assert top.score == 100 and top.overall_tier_id == "datacenter"
    assert 0 < low.score < mid.score < top.score
    assert sum(p.max_points for p in top.score_parts) == 100


def test_verdict_not_ready_with_smallest_fix(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3060 Laptop GPU", 6),), ram_gib=16,
                             soldered=True), cat)
    t = _task(r, "image-classification-medium")
    assert t.verdict == "not ready"
    assert "6.0 GiB VRAM is below the 8 GiB minimum" in t.reason
    fix = t.fix
    assert "12 GiB VRAM" in fix and "laptop's GPU cannot be swapped" in fix
    assert "soldered" in fix and "RunPod" in fix


def test_verdict_limited(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3060 Ti", 8),)), cat)
    t = _task(r, "image-classification-medium")
    assert t.verdict == "limited"
    assert "not the 12 GiB recommended" in t.reason
    assert "RTX 3060 12 GB" in t.fix  # cheapest with 12 GiB


def test_verdict_ready_has_no_fix(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3090", 24),), ram_gib=64, cores=16), cat)
    assert all(t.verdict == "ready" and t.fix == "" for t in r.tasks)


def test_cpu_task_ready_without_gpu(cat: Catalog) -> None:
    r = assess_readiness(rig(), cat)
    assert _task(r, "text-classification-classic").verdict == "ready"
    assert _task(r, "image-classification-small").verdict == "not ready"


@pytest.mark.parametrize("profile", [
    rig((gpu("NVIDIA GeForce RTX 9999", None),)),  # VRAM unknown
    rig((gpu("NVIDIA GeForce RTX 3090", 24),), ram_gib=None),
    rig((gpu("NVIDIA GeForce RTX 3090", 24),), disks=(disk("nvme", 2000, None),)),
])
def test_unknown_fact_is_never_a_pass(cat: Catalog, profile: RigProfile) -> None:
    r = assess_readiness(profile, cat)
    small = _task(r, "image-classification-small")
    assert small.verdict == "unknown"
    assert "unknown" in small.reason and small.fix


def test_unknown_fact_that_only_slows_caps_the_task_at_limited(cat: Catalog) -> None:
    # Few cores slow data loading but never stop the job: unknown cores cannot be "ready",
    # and need not be "unknown" either.
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3090", 24),), cores=None), cat)
    small = _task(r, "image-classification-small")
    assert small.verdict == "limited"
    assert "unknown" in small.reason and "physical_cores" in small.fix


def test_not_ready_outranks_unknown(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce GTX 1660", 6),), ram_gib=None), cat)
    t = _task(r, "image-classification-medium")
    assert t.verdict == "not ready"
    assert "RAM" in t.fix  # the unknown fact is in the fix too


def test_slow_disk_limits_a_task_that_wants_nvme(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3090", 24),), ram_gib=64,
                             disks=(disk("hdd", 4000, 3000),)), cat)
    t = _task(r, "image-classification-medium")
    assert t.verdict == "limited"
    assert "NVMe" in t.fix


def test_disk_space_shortfall(cat: Catalog) -> None:
    r = assess_readiness(rig((gpu("NVIDIA GeForce RTX 3090", 24),), ram_gib=64,
                             disks=(disk("nvme", 512, 10),)), cat)
    t = _task(r, "image-classification-small")
    assert t.verdict == "not ready"
    assert "free up or add 10 GB" in t.fix


def test_the_gpu_upgrade_offered_is_never_a_smaller_card() -> None:
    # Issue 15: an RTX 3060 12 GB owner was offered the 8 GB RTX 3060 Ti / 3070 to reach the
    # next tier; a card with less VRAM than the one in the PC is never the fix.
    from pathlib import Path

    from rigready.assess.profile import load_profile
    from rigready.assess.score import assess_readiness
    from rigready.catalog import default_catalog

    cat = default_catalog()
    profile = load_profile(Path(__file__).parent / "data" / "profiles" / "hobbyist"
                           / "desktop-rtx3060-12gb-32gb-ddr4.json")
    result = assess_readiness(profile, cat)
    gpu = next(c for c in result.components if c.component == "gpu")
    offered = gpu.lift.split("such as ", 1)[1].split(" reaches ", 1)[0].split(" or ")
    named = [g for g in cat.gpus if g.name in offered]
    assert named, gpu.lift
    assert all(g.vram_gib >= 12 for g in named), [(g.name, g.vram_gib) for g in named]
    assert "RTX 3060 Ti" not in gpu.lift and "at least 12 GiB" in gpu.lift
