"""System memory: totals always; type, speed and slots from the DMI tables where exposed.

Totals come from ``/proc/meminfo`` on Linux (what psutil reads there too) and from psutil on
other systems. DMI details come from the udev database without root, else from ``dmidecode``
when running as root; a virtual machine often has no DMI memory tables at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable

from rigready.assess.detect._fs import SysRoot
from rigready.assess.detect.dmi import DmiMemory, is_soldered, parse_dmidecode, parse_udev_memory
from rigready.assess.hardware import MemoryInfo

UDEV_DMI = "run/udev/data/+dmi:id"
DmidecodeRunner = Callable[[], str | None]

_HINT = "run 'sudo dmidecode -t 17' or add them to a saved profile"


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as ``{key: bytes}`` (values are written in kB)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return out


def run_dmidecode() -> str | None:
    """``dmidecode -t 16,17`` output when running as root with dmidecode installed, else None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    exe = shutil.which("dmidecode")
    if exe is None:
        return None
    result = subprocess.run([exe, "-t", "16,17"], capture_output=True, text=True, timeout=10,
                            check=False)
    return result.stdout if result.returncode == 0 else None


def probe_memory(
    fs: SysRoot, dmidecode: DmidecodeRunner | None = None
) -> tuple[MemoryInfo, list[str]]:
    """Detect memory below ``fs``.

    Args:
        fs: the root to read.
        dmidecode: returns ``dmidecode -t 16,17`` text or None; used only when the udev database
            has no memory entries. Defaults to :func:`run_dmidecode` for a live probe and to
            "not available" for a fixture tree.
    """
    warnings: list[str] = []
    sources: dict[str, str] = {}
    total, available = _totals(fs, sources, warnings)

    dmi: DmiMemory | None = None
    udev_text = fs.text(UDEV_DMI)
    if udev_text is not None:
        dmi = parse_udev_memory(udev_text)
    dmidecode_tried = False
    if dmi is None:
        runner = dmidecode if dmidecode is not None else (run_dmidecode if fs.live else None)
        if runner is not None:
            dmidecode_tried = True
            try:
                text = runner()
            except (OSError, subprocess.SubprocessError) as exc:
                warnings.append(f"Memory: dmidecode failed ({exc})")
                text = None
            dmi = parse_dmidecode(text) if text else None

    if dmi is None:
        warnings.append(_why_no_dmi(fs, udev_text is not None, dmidecode_tried))
        return MemoryInfo(total_bytes=total, available_bytes=available, sources=sources), warnings
    return _summarise(dmi, total, available, sources, warnings), warnings


def _totals(fs: SysRoot, sources: dict[str, str],
            warnings: list[str]) -> tuple[int | None, int | None]:
    text = fs.text("proc/meminfo")
    if text is not None:
        info = parse_meminfo(text)
        total, available = info.get("MemTotal"), info.get("MemAvailable")
        source = "/proc/meminfo"
    elif fs.live:
        import psutil

        vm = psutil.virtual_memory()
        total, available = int(vm.total), int(vm.available)
        source = "psutil"
    else:
        total = available = None
        source = ""
    for key, value in (("total_bytes", total), ("available_bytes", available)):
        if value is not None:
            sources[key] = source
        else:
            warnings.append(f"Memory: {key.split('_')[0]} memory unknown")
    return total, available


def _why_no_dmi(fs: SysRoot, udev_file: bool, dmidecode_tried: bool) -> str:
    what = "Memory type/speed/slots"
    if not fs.exists("sys/firmware/dmi") and not fs.exists("sys/class/dmi/id"):
        return (f"{what}: this system exposes no DMI tables (usual in virtual machines); "
                "add them to a saved profile")
    root = fs.live and hasattr(os, "geteuid") and os.geteuid() == 0
    if root and shutil.which("dmidecode") is None:
        return (f"{what}: no udev DMI memory data, and dmidecode is not installed (running as "
                "root); install dmidecode or add them to a saved profile")
    if dmidecode_tried and root:
        return f"{what}: neither the udev database nor dmidecode list memory devices"
    source = "no udev DMI memory data" if not udev_file else "the udev DMI entry lists no memory"
    return f"{what}: not exposed without root ({source}); {_HINT}"


def _summarise(dmi: DmiMemory, total: int | None, available: int | None,
               sources: dict[str, str], warnings: list[str]) -> MemoryInfo:
    modules = dmi.modules
    src = dmi.source
    types = Counter(m.type for m in modules if m.type)
    mem_type: str | None = None
    if types:
        mem_type = types.most_common(1)[0][0]
        sources["type"] = src
        if len(types) > 1:
            warnings.append(f"Memory: modules of different types ({', '.join(sorted(types))})")
    elif modules:
        if dmi.out_of_spec_types:
            warnings.append(
                "Memory type: the DMI decoder printed '<OUT OF SPEC>' (an older systemd that "
                f"predates DDR5/LPDDR5 names); {_HINT}")
        else:
            warnings.append(f"Memory type: not named in the DMI tables; {_HINT}")
    speeds = [m.speed_mts for m in modules if m.speed_mts]
    speed = min(speeds) if speeds else None
    if speed is not None:
        sources["speed_mts"] = f"{src} (configured speed, slowest module)"
    elif modules:
        warnings.append("Memory speed: not given in the DMI tables")
    slots_used = len(modules) if dmi.slots_total is not None or modules else None
    if slots_used is not None:
        sources["slots_used"] = src
    if dmi.slots_total is not None:
        sources["slots_total"] = src
    if dmi.max_capacity_bytes is not None:
        sources["max_capacity_bytes"] = src
    soldered: bool | None = None
    if modules:
        flags = [is_soldered(m) for m in modules]
        soldered = all(flags)
        sources["soldered"] = f"{src} (form factor / type)"
        if any(flags) and not soldered:
            warnings.append("Memory: part of the memory is soldered, the rest is in slots")
    if modules:
        sources["modules"] = src
    return MemoryInfo(total_bytes=total, available_bytes=available, type=mem_type,
                      speed_mts=speed, slots_used=slots_used, slots_total=dmi.slots_total,
                      max_capacity_bytes=dmi.max_capacity_bytes, soldered=soldered,
                      modules=modules, sources=sources)
