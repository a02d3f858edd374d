"""Write the rig test set's hand-written profiles (run from the repository root).

    .venv/bin/python tests/data/rigs/make_rigs.py

Each is a realistic hobbyist or cloud machine in the shape ``rigready detect --json`` prints:
GPU memory as NVML or amdgpu report it (an RTX 3060 12 GB reports 12,288 MiB), the form-factor
clues a live probe would read (DMI chassis type, battery, hypervisor, Thunderbolt), and the PCI
device id NVML gives (the RTX 2060 laptop's TU106M, 10de:1f15, is named "GeForce RTX 2060" by
NVML). Every fact's source is "user": these are spec-sheet machines, not captures. The two
captured machines of the set (the H100 VM and the CPU-only VM) are the real profiles in
tests/data/profiles/. The questions asked of every rig are in questions.toml.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rigready.assess.hardware import (
    CpuInfo,
    Disk,
    FormFactorInfo,
    GpuInfo,
    MemoryInfo,
    MemoryModule,
    RigProfile,
    SystemInfo,
)
from rigready.assess.profile import profile_to_json

GIB = 1024**3
MIB = 1024**2
HERE = Path(__file__).resolve().parent / "profiles"
CREATED = "2026-12-01T00:00:00+00:00"
AVX2 = ("avx", "avx2", "fma", "f16c")


def _user(obj: object) -> dict[str, str]:
    assert dataclasses.is_dataclass(obj)
    skip = {"sources", "name", "index", "integrated", "vendor", "modules", "mount_points", "kind",
            "evidence"}
    return {f.name: "user" for f in dataclasses.fields(obj)
            if f.name not in skip and getattr(obj, f.name) not in (None, ())}


def _src(obj: object) -> object:
    return dataclasses.replace(obj, sources=_user(obj))  # type: ignore[type-var]


def cpu(model: str, cores: int, threads: int, boost: float, per_cycle: int = 32,
        vendor: str = "GenuineIntel") -> CpuInfo:
    return _src(CpuInfo(model=model, vendor=vendor, architecture="x86_64", physical_cores=cores,
                        logical_cores=threads, max_clock_mhz=boost, flags=AVX2,
                        fp32_flops_per_cycle=per_cycle))  # type: ignore[return-value]


def ram(total_gib: float, kind: str | None, sticks: int = 0, slots: int | None = None,
        form: str = "DIMM", soldered: bool | None = False, speed: int | None = None,
        max_gib: int | None = None) -> MemoryInfo:
    each = total_gib / sticks if sticks else 0
    modules = tuple(MemoryModule(locator=f"{form} {i}", size_bytes=int(each * GIB), type=kind,
                                 speed_mts=speed, form_factor=form) for i in range(sticks))
    reported = int(total_gib * GIB * 0.975)  # firmware and the kernel keep a little
    return _src(MemoryInfo(total_bytes=reported, available_bytes=int(reported * 0.8), type=kind,
                           speed_mts=speed, slots_used=sticks or None, slots_total=slots,
                           max_capacity_bytes=max_gib * GIB if max_gib else None,
                           soldered=soldered, modules=modules))  # type: ignore[return-value]


def disk(kind: str, size_gb: float, free_gb: float, name: str = "nvme0n1",
         gen: int | None = 4) -> Disk:
    return _src(Disk(name=name, model=None, total_bytes=int(size_gb * 1e9),
                     kind=kind, pcie_gen=gen if kind == "nvme" else None,  # type: ignore[arg-type]
                     pcie_width=4 if kind == "nvme" else None, mount_points=("/",),
                     free_bytes=int(free_gb * 1e9)))  # type: ignore[return-value]


def gpu(name: str, vram_mib: float | None, power_w: float | None, device: str | None,
        index: int = 0, vendor: str = "nvidia", gen: int | None = 4, width: int | None = 16,
        nvlink: int | None = 0, cc: str | None = None, integrated: bool = False) -> GpuInfo:
    return _src(GpuInfo(vendor=vendor, name=name, index=index,  # type: ignore[arg-type]
                        vram_bytes=int(vram_mib * MIB) if vram_mib else None,
                        integrated=integrated, compute_capability=cc, power_limit_w=power_w,
                        pcie_gen_max=gen, pcie_gen_current=gen, pcie_width_max=width,
                        pcie_width_current=width, pci_device_id=device,
                        nvlink_links=nvlink if vendor == "nvidia" and not integrated else None))  # type: ignore[return-value]


def form(kind: str, chassis: int | None, battery: bool | None, virt: str | None,
         thunderbolt: bool | None, evidence: tuple[str, ...]) -> FormFactorInfo:
    info = FormFactorInfo(kind=kind, chassis_type=chassis, battery=battery,  # type: ignore[arg-type]
                          virtualization=virt, thunderbolt=thunderbolt, evidence=evidence)
    return _src(info)  # type: ignore[return-value]


DESKTOP = form("desktop", 3, False, "none", None, ("desktop: DMI chassis type 3 (Desktop)",))


def rig(name: str, c: CpuInfo, m: MemoryInfo, disks: tuple[Disk, ...],
        gpus: tuple[GpuInfo, ...], f: FormFactorInfo = DESKTOP) -> None:
    profile = RigProfile(cpu=c, memory=m, storage=disks, gpus=gpus,
                         system=SystemInfo(os="Ubuntu 24.04", python="3.12.3"), form_factor=f,
                         warnings=(f"hand-written profile ({name}): spec-sheet figures",),
                         created=CREATED)
    (HERE / f"{name}.json").write_text(profile_to_json(profile), encoding="utf-8")


def main() -> None:
    HERE.mkdir(exist_ok=True)
    rig("gtx1060-desktop", cpu("Intel(R) Core(TM) i5-8400 CPU @ 2.80GHz", 6, 6, 4000),
        ram(16, "DDR4", 2, 4, speed=2666, max_gib=64), (disk("sata-ssd", 500, 300, "sda"),),
        (gpu("NVIDIA GeForce GTX 1060 6GB", 6144, 120, "10de:1c03", gen=3, cc="6.1"),))
    rig("rtx2060-laptop", cpu("Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", 6, 12, 5000),
        ram(16, "DDR4", 2, 2, form="SODIMM", speed=2933, max_gib=64),
        (disk("nvme", 512, 250, gen=3),),
        (gpu("NVIDIA GeForce RTX 2060", 6144, 90, "10de:1f15", gen=3, cc="7.5"),
         gpu("Intel(R) UHD Graphics", None, None, "8086:9bc4", index=1, vendor="intel",
             integrated=True)),
        form("laptop", 10, True, "none", False,
             ("laptop: DMI chassis type 10 (Notebook)", "laptop: a system battery")))
    rig("rtx3060-8gb-desktop", cpu("AMD Ryzen 5 5600X 6-Core Processor", 6, 12, 4600,
                                   vendor="AuthenticAMD"),
        ram(32, "DDR4", 2, 4, speed=3200, max_gib=128), (disk("nvme", 1000, 600),),
        (gpu("NVIDIA GeForce RTX 3060", 8192, 170, "10de:2487", cc="8.6"),))
    rig("rtx3060-12gb-desktop", cpu("12th Gen Intel(R) Core(TM) i5-12400F", 6, 12, 4400),
        ram(32, "DDR4", 2, 4, speed=3200, max_gib=128), (disk("nvme", 1000, 600),),
        (gpu("NVIDIA GeForce RTX 3060", 12288, 170, "10de:2504", cc="8.6"),))
    rig("rtx3060-vram-unread", cpu("12th Gen Intel(R) Core(TM) i5-12400F", 6, 12, 4400),
        ram(32, "DDR4", 2, 4, speed=3200, max_gib=128), (disk("nvme", 1000, 600),),
        (gpu("NVIDIA GeForce RTX 3060", None, None, None, gen=None, width=None, nvlink=None),))
    rig("rtx3060ti-desktop", cpu("AMD Ryzen 7 5700X 8-Core Processor", 8, 16, 4600,
                                 vendor="AuthenticAMD"),
        ram(32, "DDR4", 2, 4, speed=3200, max_gib=128), (disk("nvme", 1000, 500),),
        (gpu("NVIDIA GeForce RTX 3060 Ti", 8192, 200, "10de:2486", cc="8.6"),))
    rig("rtx4060ti-16gb-desktop", cpu("13th Gen Intel(R) Core(TM) i5-13400F", 10, 16, 4600),
        ram(32, "DDR5", 2, 4, speed=5600, max_gib=192), (disk("nvme", 2000, 1200),),
        (gpu("NVIDIA GeForce RTX 4060 Ti", 16380, 165, "10de:2805", width=8, cc="8.9"),))
    rig("rtx4070super-desktop", cpu("AMD Ryzen 7 7700X 8-Core Processor", 8, 16, 5400,
                                    vendor="AuthenticAMD"),
        ram(32, "DDR5", 2, 4, speed=6000, max_gib=192), (disk("nvme", 2000, 1400),),
        (gpu("NVIDIA GeForce RTX 4070 SUPER", 12282, 220, "10de:2783", cc="8.9"),))
    rig("rtx3090-desktop", cpu("AMD Ryzen 9 5900X 12-Core Processor", 12, 24, 4800,
                               vendor="AuthenticAMD"),
        ram(64, "DDR4", 2, 4, speed=3600, max_gib=128), (disk("nvme", 2000, 1300),),
        (gpu("NVIDIA GeForce RTX 3090", 24576, 350, "10de:2204", cc="8.6"),))
    rig("rtx4090-desktop", cpu("13th Gen Intel(R) Core(TM) i9-13900K", 24, 32, 5800),
        ram(64, "DDR5", 2, 4, speed=6000, max_gib=192), (disk("nvme", 4000, 2500),),
        # 23.6 GiB: what a 24 GB card can report once the driver has taken its share
        (gpu("NVIDIA GeForce RTX 4090", 23.6 * 1024, 450, "10de:2684", cc="8.9"),))
    dual = (gpu("NVIDIA GeForce RTX 3090", 24576, 350, "10de:2204", cc="8.6", nvlink=4),
            gpu("NVIDIA GeForce RTX 3090", 24576, 350, "10de:2204", index=1, cc="8.6",
                nvlink=4))
    rig("dual-rtx3090-nvlink", cpu("AMD Ryzen Threadripper 3960X 24-Core Processor", 24, 48,
                                   4500, vendor="AuthenticAMD"),
        ram(128, "DDR4", 4, 8, speed=3200, max_gib=256), (disk("nvme", 4000, 3000),), dual)
    pcie = tuple(dataclasses.replace(g, nvlink_links=0, pcie_width_current=8) for g in dual)
    rig("dual-rtx3090-pcie", cpu("AMD Ryzen 9 5950X 16-Core Processor", 16, 32, 4900,
                                 vendor="AuthenticAMD"),
        ram(128, "DDR4", 4, 4, speed=3200, max_gib=128), (disk("nvme", 4000, 3000),), pcie)
    rig("rx7900xtx-desktop", cpu("AMD Ryzen 7 7800X3D 8-Core Processor", 8, 16, 5000,
                                 vendor="AuthenticAMD"),
        ram(32, "DDR5", 2, 4, speed=6000, max_gib=192), (disk("nvme", 2000, 1500),),
        (gpu("AMD Radeon RX 7900 XTX", 24560, 355, "1002:744c", vendor="amd", nvlink=None),))
    rig("igpu-laptop", cpu("12th Gen Intel(R) Core(TM) i7-1260P", 12, 16, 4700),
        ram(16, "LPDDR5", soldered=True, speed=4800), (disk("nvme", 512, 300),),
        (gpu("Intel(R) Iris(R) Xe Graphics", None, None, "8086:46a6", vendor="intel",
             integrated=True),),
        form("laptop", 10, True, "none", True,
             ("laptop: DMI chassis type 10 (Notebook)", "laptop: a system battery")))
    vm = form("vm", 1, False, "kvm", None, ("vm: virtual machine (kvm)",))
    rig("a100-vm", cpu("AMD EPYC 7V13 64-Core Processor", 24, 24, 3700, vendor="AuthenticAMD"),
        ram(220, None), (disk("virtual", 1000, 800, "vda"),),
        (gpu("NVIDIA A100-SXM4-80GB", 81920, 400, "10de:20b2", cc="8.0", nvlink=None),), vm)
    rig("h200-vm-2vcpu", cpu("Intel(R) Xeon(R) Platinum 8480+", 2, 2, 3800, per_cycle=64),
        ram(512, None), (disk("virtual", 500, 450, "vda"),),
        (gpu("NVIDIA H200", 143771, 700, "10de:2335", gen=5, cc="9.0", nvlink=None),), vm)


if __name__ == "__main__":
    main()
