"""Write the hand-written hobbyist profiles in this folder (run from the repository root).

    .venv/bin/python tests/data/profiles/hobbyist/make_profiles.py

They describe typical hobbyist PCs with public spec-sheet figures, not captures of real machines;
every fact's source is "user", as for a profile a person typed in. Sizes are what the OS would
report: a little of the RAM is reserved by the firmware or an integrated GPU.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rigready.assess.hardware import (
    CpuInfo,
    Disk,
    GpuInfo,
    MemoryInfo,
    MemoryModule,
    RigProfile,
    SystemInfo,
)
from rigready.assess.profile import profile_to_json

GIB = 1024**3
HERE = Path(__file__).resolve().parent
CREATED = "2026-11-22T00:00:00+00:00"
NOTE = "hand-written profile of a typical hobbyist PC (spec-sheet figures, not a capture)"


def _user(obj: object) -> dict[str, str]:
    """Mark every known field of a component as typed in by the user."""
    assert dataclasses.is_dataclass(obj)
    skip = {"sources", "name", "index", "integrated", "vendor", "modules", "mount_points", "kind"}
    return {f.name: "user" for f in dataclasses.fields(obj)
            if f.name not in skip and getattr(obj, f.name) not in (None, ())}


def _src(obj: object) -> object:
    return dataclasses.replace(obj, sources=_user(obj))  # type: ignore[type-var]


def _cpu(model: str, vendor: str, cores: int, threads: int, base: float, boost: float,
         l3_mib: int, flags: tuple[str, ...], per_cycle: int) -> CpuInfo:
    return _src(CpuInfo(model=model, vendor=vendor, architecture="x86_64", physical_cores=cores,
                        logical_cores=threads, base_clock_mhz=base, max_clock_mhz=boost,
                        l3_cache_bytes=l3_mib * 1024**2, flags=flags,
                        fp32_flops_per_cycle=per_cycle))  # type: ignore[return-value]


def _dimms(count: int, gib: int, kind: str, speed: int,
           form: str = "DIMM") -> tuple[MemoryModule, ...]:
    return tuple(MemoryModule(locator=f"DIMM {i}", size_bytes=gib * GIB, type=kind,
                              speed_mts=speed, form_factor=form) for i in range(count))


def _disk(name: str, model: str, size_gb: float, kind: str, free_gb: float | None,
          mount: str | None, gen: int | None = None) -> Disk:
    disk = Disk(name=name, model=model, total_bytes=int(size_gb * 1e9), kind=kind,  # type: ignore[arg-type]
                pcie_gen=gen, pcie_width=4 if gen else None,
                mount_points=(mount,) if mount else (),
                free_bytes=int(free_gb * 1e9) if free_gb is not None else None)
    return _src(disk)  # type: ignore[return-value]


def _gpu(name: str, vram_gib: float, power_w: float | None, cc: str | None, index: int = 0,
         vendor: str = "nvidia", integrated: bool = False, pcie: int | None = 4) -> GpuInfo:
    gpu = GpuInfo(vendor=vendor, name=name, index=index,  # type: ignore[arg-type]
                  vram_bytes=int(vram_gib * GIB) if vram_gib else None, integrated=integrated,
                  compute_capability=cc, power_limit_w=power_w,
                  pcie_gen_max=pcie if not integrated else None,
                  pcie_width_max=16 if not integrated and pcie else None)
    return _src(gpu)  # type: ignore[return-value]


_LINUX = SystemInfo(os="Ubuntu 24.04", kernel="6.8", python="3.12.3",
                    sources={"os": "user", "kernel": "user", "python": "user"})
_AVX2 = ("avx2", "fma", "f16c")


def profiles() -> dict[str, RigProfile]:
    """The five hobbyist PCs, by file stem."""
    laptop = RigProfile(
        cpu=_cpu("AMD Ryzen 7 6800H with Radeon Graphics", "AuthenticAMD", 8, 16, 3200, 4700,
                 16, _AVX2, 32),
        memory=_src(MemoryInfo(total_bytes=int(15.2 * GIB), available_bytes=int(11 * GIB),
                               type="LPDDR5", speed_mts=6400, soldered=True,
                               max_capacity_bytes=16 * GIB)),  # type: ignore[arg-type]
        storage=(_disk("nvme0n1", "SK hynix PC711 512GB", 512.1, "nvme", 210, "/", 4),),
        gpus=(_gpu("NVIDIA GeForce RTX 3060 Laptop GPU", 6, 115, "8.6"),
              _gpu("AMD Radeon 680M", 0.5, None, None, index=1, vendor="amd", integrated=True)),
        system=_LINUX, warnings=(NOTE,), created=CREATED)
    gtx1660 = RigProfile(
        cpu=_cpu("Intel(R) Core(TM) i5-9400F CPU @ 2.90GHz", "GenuineIntel", 6, 6, 2900, 4100,
                 9, _AVX2, 32),
        memory=_src(MemoryInfo(total_bytes=int(15.6 * GIB), available_bytes=int(12 * GIB),
                               type="DDR4", speed_mts=2666, slots_used=2, slots_total=4,
                               max_capacity_bytes=64 * GIB, soldered=False,
                               modules=_dimms(2, 8, "DDR4", 2666))),  # type: ignore[arg-type]
        storage=(_disk("sda", "Crucial MX500 500GB", 500.1, "sata-ssd", 180, "/"),
                 _disk("sdb", "Seagate BarraCuda 1TB", 1000.2, "hdd", 640, "/data")),
        gpus=(_gpu("NVIDIA GeForce GTX 1660", 6, 120, "7.5", pcie=3),),
        system=_LINUX, warnings=(NOTE,), created=CREATED)
    rtx3060 = RigProfile(
        cpu=_cpu("AMD Ryzen 5 5600X 6-Core Processor", "AuthenticAMD", 6, 12, 3700, 4600, 32,
                 _AVX2, 32),
        memory=_src(MemoryInfo(total_bytes=int(31.3 * GIB), available_bytes=int(26 * GIB),
                               type="DDR4", speed_mts=3200, slots_used=2, slots_total=4,
                               max_capacity_bytes=128 * GIB, soldered=False,
                               modules=_dimms(2, 16, "DDR4", 3200))),  # type: ignore[arg-type]
        storage=(_disk("nvme0n1", "Samsung SSD 980 1TB", 1000.2, "nvme", 520, "/", 3),
                 _disk("sda", "WDC WD20EZBX 2TB", 2000.4, "hdd", 1500, "/data")),
        gpus=(_gpu("NVIDIA GeForce RTX 3060", 12, 170, "8.6"),),
        system=_LINUX, warnings=(NOTE,), created=CREATED)
    rtx3090 = RigProfile(
        cpu=_cpu("AMD Ryzen 9 5950X 16-Core Processor", "AuthenticAMD", 16, 32, 3400, 4900, 64,
                 _AVX2, 32),
        memory=_src(MemoryInfo(total_bytes=int(62.7 * GIB), available_bytes=int(55 * GIB),
                               type="DDR4", speed_mts=3600, slots_used=4, slots_total=4,
                               max_capacity_bytes=128 * GIB, soldered=False,
                               modules=_dimms(4, 16, "DDR4", 3600))),  # type: ignore[arg-type]
        storage=(_disk("nvme0n1", "Samsung SSD 980 PRO 2TB", 2000.4, "nvme", 1200, "/", 4),
                 _disk("nvme1n1", "WD_BLACK SN850X 1TB", 1000.2, "nvme", 700, "/data", 4)),
        gpus=(_gpu("NVIDIA GeForce RTX 3090", 24, 350, "8.6"),),
        system=_LINUX, warnings=(NOTE,), created=CREATED)
    cpu_only = RigProfile(
        cpu=_cpu("12th Gen Intel(R) Core(TM) i5-12400", "GenuineIntel", 6, 12, 2500, 4400, 18,
                 (*_AVX2, "avx_vnni"), 32),
        memory=_src(MemoryInfo(total_bytes=int(15.5 * GIB), available_bytes=int(12 * GIB),
                               type="DDR4", speed_mts=3200, slots_used=2, slots_total=2,
                               max_capacity_bytes=64 * GIB, soldered=False,
                               modules=_dimms(2, 8, "DDR4", 3200))),  # type: ignore[arg-type]
        storage=(_disk("nvme0n1", "Kingston NV2 500GB", 500.1, "nvme", 300, "/", 3),),
        gpus=(_gpu("Intel UHD Graphics 730", 0, None, None, vendor="intel", integrated=True),),
        system=_LINUX, warnings=(NOTE,), created=CREATED)
    return {
        "laptop-rtx3060-laptop-6gb-16gb-lpddr5": laptop,
        "desktop-gtx1660-16gb-ddr4": gtx1660,
        "desktop-rtx3060-12gb-32gb-ddr4": rtx3060,
        "workstation-rtx3090-64gb": rtx3090,
        "cpu-only-i5-12400-16gb": cpu_only,
    }


def main() -> None:
    """Write every profile as JSON next to this script."""
    for stem, profile in profiles().items():
        (HERE / f"{stem}.json").write_text(profile_to_json(profile), encoding="utf-8")
        print(f"wrote {stem}.json")


if __name__ == "__main__":
    main()
