"""Who holds each GPU's memory, and does it drive the display (issue 22, item 1: This PC's
side), read through rigready.gpu's door over a fake NVML module."""

from __future__ import annotations

import os
from dataclasses import replace

from rigready.assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo
from rigready.desktop.usecases.gpu_memory import gpu_memory_use, is_this_pc
from rigready.gpu.vendor import GpuDoor
from tests.helpers.fake_pynvml import FakePynvml, door, h100_like

GIB = 1024**3
NAMES = {1234: "Xorg", 4321: "firefox", 777: "python3"}


def desktop_gpu_door() -> GpuDoor:
    """An RTX 3060 drawing the desktop: Xorg and firefox on it, a CUDA job and rigready."""
    gpu = h100_like(name="NVIDIA GeForce RTX 3060", uuid="GPU-3060", pci="00000000:01:00.0",
                    display_mode=1, display_active=1,
                    gprocs=[(1234, int(0.41 * GIB)), (4321, int(0.73 * GIB))],
                    procs=[(777, 2 * GIB), (os.getpid(), GIB // 4)])
    return door(FakePynvml([gpu]), process_name=lambda pid: NAMES.get(pid))


PROFILE = RigProfile(cpu=CpuInfo(model="Test CPU"), memory=MemoryInfo(), storage=(),
                     gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                                   uuid="GPU-3060", vram_bytes=12 * GIB),),
                     system=SystemInfo(hostname="testhost"))


def test_this_pc_lists_its_gpu_programs_biggest_first_without_rigready() -> None:
    (use,) = gpu_memory_use(PROFILE, this_pc=True, doors={"nvidia": desktop_gpu_door})
    assert use.drives_display is True and use.when == "read now" and use.why == ""
    assert use.holders is not None
    assert [(h.name, h.pid) for h in use.holders] == [
        ("python3", 777), ("firefox", 4321), ("Xorg", 1234)]
    assert use.holders[2].kind == "graphics" and use.holders[0].kind == "compute"
    assert use.held_bytes == 2 * GIB + int(0.41 * GIB) + int(0.73 * GIB)  # not rigready's


def test_an_unreadable_list_is_none_with_the_drivers_reason() -> None:
    def hidden() -> GpuDoor:
        gpu = h100_like(uuid="GPU-3060", procs=[], gprocs=[])
        del gpu["procs"], gpu["gprocs"]  # the default answer: NVML_ERROR_NOT_SUPPORTED
        return door(FakePynvml([gpu]))

    (use,) = gpu_memory_use(PROFILE, this_pc=True, doors={"nvidia": hidden})
    assert use.holders is None and "Not Supported" in use.why


def test_another_pcs_profile_is_not_read_here() -> None:
    other = replace(PROFILE, origin="/home/me/friend.json")
    calls: list[str] = []

    def never() -> GpuDoor:
        calls.append("opened")
        return desktop_gpu_door()

    (use,) = gpu_memory_use(other, this_pc=False, doors={"nvidia": never})
    assert calls == [] and use.holders is None and "read on that PC" in use.why
    assert use.when == "when the profile was detected"


def test_this_pc_is_a_detection_here_or_a_saved_profile_with_its_fingerprint() -> None:
    from rigready.assess.bench.fingerprint import profile_fingerprint

    saved = replace(PROFILE, origin="/home/me/my-pc.json")
    assert is_this_pc(PROFILE, here=lambda: "nothing alike")  # detected live
    assert is_this_pc(saved, here=lambda: profile_fingerprint(PROFILE))
    assert not is_this_pc(replace(saved, system=SystemInfo(hostname="friends-pc")),
                          here=lambda: profile_fingerprint(PROFILE))
