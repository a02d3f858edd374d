"""The readiness score is monotone: more VRAM, more RAM, faster storage or a faster GPU (or CPU)
never lowers it. Checked on the small test catalog and on the built-in one."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rigready.assess.hardware import DiskKind, RigProfile
from rigready.assess.score import MeasuredPerformance, assess_readiness
from rigready.assess.score_facts import card_stem
from rigready.catalog import Catalog, load_catalog
from tests.score_helpers import GIB, MINI, disk, gpu, rig

CATALOGS = {"mini": load_catalog(None, builtin_dir=MINI), "builtin": load_catalog(None)}
NAMES = [
    None, "NVIDIA GeForce RTX 3060", "NVIDIA GeForce RTX 3060 Laptop GPU",
    "NVIDIA GeForce GTX 1660", "NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 4090",
    "NVIDIA H200", "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "Tesla T4",
    "NVIDIA GeForce RTX 9999",
]
KINDS: list[DiskKind] = ["hdd", "sata-ssd", "nvme", "virtual", "usb", "unknown"]
ORDERED_KINDS: list[DiskKind] = ["hdd", "sata-ssd", "nvme"]
settings.register_profile("score", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])

optional_speed = st.none() | st.floats(1, 2000)


@st.composite
def rigs(draw: st.DrawFn) -> tuple[RigProfile, MeasuredPerformance]:
    name = draw(st.sampled_from(NAMES))
    gpus = () if name is None else (gpu(name, draw(st.none() | st.floats(1, 200))),)
    disks = tuple(disk(draw(st.sampled_from(KINDS)), draw(st.floats(16, 20000)),
                       draw(st.none() | st.floats(0, 1000)), name=f"d{i}")
                  for i in range(draw(st.integers(0, 3))))
    profile = rig(gpus, ram_gib=draw(st.none() | st.floats(1, 1024)),
                  cores=draw(st.none() | st.integers(1, 128)),
                  clock_mhz=draw(st.none() | st.floats(800, 6000)),
                  disks=disks or (disk("unknown", None),))
    measured = MeasuredPerformance(
        gpu_bf16_tflops=draw(optional_speed) if gpus else None,
        cpu_fp32_gflops=draw(st.none() | st.floats(1, 20000)),
        storage_seq_read_mb_s=draw(st.none() | st.floats(10, 15000)),
    )
    return profile, measured


def _score(cat: Catalog, profile: RigProfile, measured: MeasuredPerformance) -> int:
    return assess_readiness(profile, cat, measured).score


@pytest.mark.parametrize("which", sorted(CATALOGS))
@settings(settings.get_profile("score"))
@given(base=rigs(), factor=st.floats(1.0, 8.0))
def test_more_vram_never_lowers(which: str, base: tuple[RigProfile, MeasuredPerformance],
                                factor: float) -> None:
    profile, measured = base
    if not profile.gpus or profile.gpus[0].vram_bytes is None:
        return
    g = profile.gpus[0]
    bigger = dataclasses.replace(g, vram_bytes=int((g.vram_bytes or 0) * factor))
    more = dataclasses.replace(profile, gpus=(bigger,))
    cat = CATALOGS[which]
    assert _score(cat, more, measured) >= _score(cat, profile, measured)


@pytest.mark.parametrize("which", sorted(CATALOGS))
@settings(settings.get_profile("score"))
@given(base=rigs(), extra_gib=st.floats(0, 512))
def test_more_ram_never_lowers(which: str, base: tuple[RigProfile, MeasuredPerformance],
                               extra_gib: float) -> None:
    profile, measured = base
    mem = profile.memory
    total = (mem.total_bytes or 0) + int(extra_gib * GIB)
    more = dataclasses.replace(profile, memory=dataclasses.replace(mem, total_bytes=total))
    cat = CATALOGS[which]
    assert _score(cat, more, measured) >= _score(cat, profile, measured)


def _one_size(cat: Catalog, name: str) -> bool:
    return len({g.vram_gib for g in cat.gpus if card_stem(g.name) == card_stem(name)}) == 1


@pytest.mark.parametrize("which", sorted(CATALOGS))
@settings(settings.get_profile("score"))
@given(base=rigs(), faster=st.floats(1.0, 10.0), data=st.data())
def test_faster_storage_never_lowers(which: str, base: tuple[RigProfile, MeasuredPerformance],
                                     faster: float, data: st.DataObject) -> None:
    profile, measured = base
    cat = CATALOGS[which]
    before = _score(cat, profile, measured)
    # A faster measured read...
    if measured.storage_seq_read_mb_s is not None:
        quicker = dataclasses.replace(
            measured, storage_seq_read_mb_s=measured.storage_seq_read_mb_s * faster)
        assert _score(cat, profile, quicker) >= before
    # ...or a disk of a faster kind.
    disks = list(profile.storage)
    i = data.draw(st.integers(0, len(disks) - 1))
    if disks[i].kind in ORDERED_KINDS:
        rank = ORDERED_KINDS.index(disks[i].kind)
        new_kind = data.draw(st.sampled_from(ORDERED_KINDS[rank:]))
        disks[i] = dataclasses.replace(disks[i], kind=new_kind)
        assert _score(cat, dataclasses.replace(profile, storage=tuple(disks)), measured) >= before


@pytest.mark.parametrize("which", sorted(CATALOGS))
@settings(settings.get_profile("score"))
@given(base=rigs(), faster=st.floats(1.0, 20.0), data=st.data())
def test_faster_gpu_never_lowers(which: str, base: tuple[RigProfile, MeasuredPerformance],
                                 faster: float, data: st.DataObject) -> None:
    profile, measured = base
    cat = CATALOGS[which]
    before = _score(cat, profile, measured)
    if measured.gpu_bf16_tflops is not None:
        quicker = dataclasses.replace(measured, gpu_bf16_tflops=measured.gpu_bf16_tflops * faster)
        assert _score(cat, profile, quicker) >= before
    elif profile.gpus:
        # Swap in a catalog model at least as fast, keeping the detected VRAM (where VRAM is
        # not detected, the catalog's figure counts, so the new model must not have less, and
        # must not be a name sold with several memory sizes, whose VRAM then stays unknown).
        facts = assess_readiness(profile, cat, measured).facts
        current, vram = facts.gpu_half_tflops or 0.0, facts.vram_gib or 0.0
        detected = profile.gpus[0].vram_bytes is not None
        options = [g for g in cat.gpus if g.half_tflops >= current and g.segment != "laptop"
                   and (detected or (g.vram_gib >= vram and _one_size(cat, g.name)))]
        if not options:
            return
        choice = data.draw(st.sampled_from(options))
        swapped = dataclasses.replace(profile.gpus[0], name=choice.name,
                                      vendor=choice.vendor)
        after = _score(cat, dataclasses.replace(profile, gpus=(swapped,)), measured)
        assert after >= before


@pytest.mark.parametrize("which", sorted(CATALOGS))
@settings(settings.get_profile("score"))
@given(base=rigs(), extra=st.integers(0, 64))
def test_more_cpu_cores_never_lowers(which: str, base: tuple[RigProfile, MeasuredPerformance],
                                     extra: int) -> None:
    profile, measured = base
    if profile.cpu.physical_cores is None:
        return
    more = dataclasses.replace(profile, cpu=dataclasses.replace(
        profile.cpu, physical_cores=profile.cpu.physical_cores + extra))
    cat = CATALOGS[which]
    assert _score(cat, more, measured) >= _score(cat, profile, measured)


def test_adding_a_gpu_never_lowers() -> None:
    cat = CATALOGS["mini"]
    one = rig((gpu("NVIDIA GeForce RTX 4090", 24),))
    two = rig((gpu("NVIDIA GeForce RTX 4090", 24), gpu("NVIDIA GeForce GTX 1660", 6, index=1)))
    assert assess_readiness(two, cat).score >= assess_readiness(one, cat).score
