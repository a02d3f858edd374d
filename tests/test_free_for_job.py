"""Memory free for the job (issue 22 item 1): what the desktop and other programs hold on the
card, read on this PC through the NVML door, assumed for a saved profile or a catalog card that
drives the display, or said by the user; every verdict compares with what is left."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from rigready.assess.detect.gpu_nvidia import probe_nvidia
from rigready.assess.estimate import Workload, estimate, gpu_from_entry, resolve_model
from rigready.assess.estimate.gpu import (
    DESKTOP_HELD_BYTES,
    GpuTarget,
    gpu_from_info,
    gpu_from_profile,
    with_free_gib,
)
from rigready.assess.hardware import GpuInfo, GpuMemoryHolder, RigProfile
from rigready.assess.profile import (
    load_profile,
    profile_from_dict,
    profile_to_dict,
    with_stated_gpu,
)
from rigready.assess.units import GIB
from rigready.catalog import Catalog, default_catalog
from rigready.desktop.cli import main
from tests.helpers.fake_pynvml import FakePynvml, door

RIGS = Path(__file__).parent / "data" / "rigs" / "profiles"
RTX3060 = RIGS / "rtx3060-12gb-desktop.json"
MIB = 2**20


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


def _card(**overrides: Any) -> dict[str, Any]:
    dev: dict[str, Any] = {"name": "NVIDIA GeForce RTX 3060", "uuid": "GPU-3060",
                           "pci": "00000000:01:00.0", "mem": (0, 12 * GIB),
                           "compute_capability": (8, 6)}
    dev.update(overrides)
    return dev


NAMES = {1201: "Xorg", 1555: "gnome-shell", 4242: "firefox"}


def test_detection_reads_the_programs_holding_memory_and_the_display() -> None:
    fake = FakePynvml([_card(procs=[], display_active=1, display_mode=1,
                             gprocs=[(1201, 400 * MIB), (1555, 90 * MIB), (4242, 700 * MIB)])])
    (gpu,), warnings = probe_nvidia(door(fake, process_name=NAMES.get))
    assert gpu.drives_display is True and gpu.sources["drives_display"] == "nvml"
    assert gpu.memory_holders is not None
    assert [h.name for h in gpu.memory_holders] == ["firefox", "Xorg", "gnome-shell"]
    assert gpu.memory_holders[0].used_bytes == 700 * MIB
    assert gpu.sources["memory_holders"].startswith("nvml")
    # a driver that cannot list them is no warning: the facts stay None
    assert not any("process" in w or "display" in w for w in warnings)


def test_a_driver_that_cannot_list_them_leaves_the_facts_unknown() -> None:
    (gpu,), warnings = probe_nvidia(door(FakePynvml([_card()])))
    assert gpu.drives_display is None and gpu.memory_holders is None
    assert "memory_holders" not in gpu.sources
    assert not any("process" in w or "display" in w for w in warnings)


def _info(**facts: Any) -> GpuInfo:
    return GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060", vram_bytes=12 * GIB,
                   pci_device_id="10de:2504", **facts)


HOLDERS = (GpuMemoryHolder("firefox", 4242, 700 * MIB), GpuMemoryHolder("Xorg", 1201, 400 * MIB))


def test_this_pc_subtracts_what_other_programs_hold_and_names_them(cat: Catalog) -> None:
    target = gpu_from_info(_info(drives_display=True, memory_holders=HOLDERS), cat.gpus,
                           live=True)
    assert target is not None
    assert target.held_bytes == 1100 * MIB
    assert target.job_bytes == 12 * GIB - 1100 * MIB
    note = target.free_note()
    assert "firefox 0.7 GiB, Xorg 0.4 GiB hold the rest" in note
    assert "closing them frees 1.1 GiB" in note


def test_a_saved_profile_keeps_a_desktops_typical_use_unless_it_says_otherwise(
        cat: Catalog) -> None:
    shown = gpu_from_info(_info(drives_display=True, memory_holders=HOLDERS), cat.gpus)
    assert shown is not None and shown.held_bytes == DESKTOP_HELD_BYTES  # not the old list
    assert "give --free-gib" in shown.free_note()
    unknown = gpu_from_info(_info(), cat.gpus)  # a desktop's card: it may drive the display
    assert unknown is not None and unknown.held_bytes == DESKTOP_HELD_BYTES
    headless = gpu_from_info(_info(), cat.gpus, headless=True)  # a VM or server
    assert headless is not None and headless.held_bytes == 0
    second = gpu_from_info(_info(drives_display=False), cat.gpus)
    assert second is not None and second.held_bytes == 0 and second.free_note() == ""
    said = gpu_from_info(_info(drives_display=True, free_for_job_bytes=11 * GIB), cat.gpus)
    assert said is not None and said.job_bytes == 11 * GIB
    assert "the profile says 11.0 GiB are free" in said.held_source


def test_catalog_cards_consumer_keep_the_desktops_share_datacenter_none(cat: Catalog) -> None:
    assert gpu_from_entry(cat.gpu("rtx-4090")).held_bytes == DESKTOP_HELD_BYTES
    assert gpu_from_entry(cat.gpu("h100-sxm")).held_bytes == 0
    assert gpu_from_entry(cat.gpu("rtx-4090"), drives_display=False).held_bytes == 0
    told = with_free_gib(gpu_from_entry(cat.gpu("rtx-4090")), 23.5)
    assert told.job_bytes == int(23.5 * GIB) and "you said 23.5 GiB" in told.held_source
    with pytest.raises(ValueError, match=r"more than the 24\.0 GiB"):
        with_free_gib(told, 30)


def _job_needing(gib: float, cat: Catalog) -> tuple[Any, Workload]:
    """Llama 3.1 8B int8 inference with a 4,096-token prompt: needs about 11.0 GiB free on a
    12 GB card (the least a card must have; nvidia-smi shows about 11.2 on a roomy card)."""
    shape = resolve_model("llama-3.1-8b", cat.models)
    wl = Workload(method="inference", precision="int8", seq_len=4096)
    card = gpu_from_entry(cat.gpu("rtx-3060-12gb"), drives_display=False)
    need = estimate(shape, wl, card).memory.needs_free_bytes / GIB
    assert need == pytest.approx(gib, abs=0.15)
    return shape, wl


def test_a_12_gb_card_driving_the_display_does_not_fit_a_job_needing_11_0_gib(
        cat: Catalog) -> None:
    shape, wl = _job_needing(11.0, cat)
    headless = gpu_from_entry(cat.gpu("rtx-3060-12gb"), drives_display=False)
    desktop = gpu_from_entry(cat.gpu("rtx-3060-12gb"))
    alone = estimate(shape, wl, headless)
    shared = estimate(shape, wl, desktop)
    assert alone.verdict is not None and alone.verdict.status in ("fits", "tight")
    assert shared.verdict is not None and shared.verdict.status not in ("fits", "tight")
    assert shared.gpu is desktop  # the answer is about the card, with what is free on it
    assert shared.verdict.vram_bytes == desktop.vram_bytes
    assert shared.verdict.available_bytes == desktop.job_bytes
    assert any("11.0 of the card's 12.0 GiB are free" in r for r in shared.verdict.reasons)


def test_profiles_without_the_new_facts_still_load_and_the_new_ones_round_trip() -> None:
    old = load_profile(RTX3060)
    assert old.gpus[0].drives_display is None and old.gpus[0].memory_holders is None
    told = with_stated_gpu(old, free_for_job_bytes=10 * GIB)
    gpu = dataclasses.replace(told.gpus[0], drives_display=True, memory_holders=HOLDERS)
    again = profile_from_dict(json.loads(json.dumps(profile_to_dict(
        dataclasses.replace(told, gpus=(gpu,))))))
    assert again.gpus[0] == dataclasses.replace(gpu)
    assert again.gpus[0].sources["free_for_job_bytes"] == "user (--free-gib)"


def test_gpu_from_profile_reads_this_pc_live_and_a_saved_one_typically(cat: Catalog) -> None:
    saved = load_profile(RTX3060)
    gpu = dataclasses.replace(saved.gpus[0], drives_display=True, memory_holders=HOLDERS)
    live = dataclasses.replace(saved, gpus=(gpu,), origin="detected")
    here = gpu_from_profile(live, cat.gpus)
    there = gpu_from_profile(dataclasses.replace(live, origin=str(RTX3060)), cat.gpus)
    assert here is not None and here.held_bytes == 1100 * MIB
    assert there is not None and there.held_bytes == DESKTOP_HELD_BYTES
    vm = dataclasses.replace(saved, form_factor=dataclasses.replace(saved.form_factor,
                                                                    kind="vm"))
    headless = gpu_from_profile(vm, cat.gpus)
    assert headless is not None and headless.held_bytes == 0


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_free_gib_is_used_and_said(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "estimate", "llama-3.1-8b", "--precision", "int8",
                        "--seq", "4096", "--profile", str(RTX3060), "--free-gib", "11.9",
                        "--json")
    data = json.loads(out)
    assert code == 0 and data["vram_gib"] == pytest.approx(11.9, abs=0.01)
    assert data["card_vram_gib"] == pytest.approx(12.0)
    assert "you said" in data["held_source"] or "11.9 GiB" in data["held_source"]
    assert data["verdict"] in ("fits", "tight")
    code, out, _ = _run(capsys, "estimate", "llama-3.1-8b", "--precision", "int8",
                        "--seq", "4096", "--profile", str(RTX3060), "--json")
    data = json.loads(out)
    assert data["vram_gib"] == pytest.approx(11.0, abs=0.01) and data["held_gib"] == 1.0
    assert data["verdict"] not in ("fits", "tight")
    code, _, err = _run(capsys, "estimate", "llama-3.1-8b", "--profile", str(RTX3060),
                        "--free-gib", "13")
    assert code == 2 and "more than the 12 GiB" in err


def test_a_target_without_holders_says_nothing_extra() -> None:
    plain = GpuTarget(name="x", vram_bytes=8 * GIB)
    assert plain.job_bytes == 8 * GIB and plain.free_note() == ""
    assert plain.split_by_layers(2) is plain


def test_with_stated_gpu_refuses_a_pc_without_a_gpu(cat: Catalog) -> None:
    from rigready.assess.profile import ProfileError

    none = dataclasses.replace(load_profile(RTX3060), gpus=())
    with pytest.raises(ProfileError, match="no GPU"):
        with_stated_gpu(none, vram_bytes=8 * GIB)
    assert isinstance(with_stated_gpu(none), RigProfile)
