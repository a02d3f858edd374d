"""What kind of machine this is: desktop, laptop, server or virtual machine (the weighing).

The clues are read by :mod:`rigready.assess.detect.formfactor` (live) or come from a saved profile.

Each clue is read separately and kept as evidence with its source:

* DMI chassis type (``/sys/class/dmi/id/chassis_type``), coded as in the SMBIOS specification
  (DMTF DSP0134, "System Enclosure or Chassis Types"); the groups follow systemd-hostnamed's
  chassis mapping (laptop 8/9/10/14, convertible/tablet 30/31/32, server 17/23/28/29,
  desktop 3/4/6/7/13/35/36);
* a system battery in ``/sys/class/power_supply`` (``type`` Battery, ``scope`` not Device: a
  wireless mouse reports a battery of scope Device);
* virtualization, in the order systemd-detect-virt looks: WSL (``/proc/sys/kernel/osrelease``),
  ``/sys/hypervisor/type``, the DMI vendor strings, then the CPU's ``hypervisor`` flag;
* a mobile GPU chip (PCI device id, :mod:`rigready.assess.mobile_gpus`, or Laptop/Mobile/Max-Q in
  its name);
* the CPU model's suffix (Intel H/HX/HK/HS/U/P/Y/V and G1-G7, AMD U/H/HS/HX: mobile parts;
  Xeon/EPYC: server parts).

A battery or a mobile GPU outweighs a chassis code that says desktop: sending a laptop owner
to buy a desktop card is the worst mistake this program can make, so the safer reading wins and
the conflict is stated. :func:`infer_form_factor` is also used for saved profiles that predate
the form-factor field (only the CPU and GPU clues exist there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rigready.assess.hardware import FormFactor, FormFactorInfo, GpuInfo, RigProfile
from rigready.assess.mobile_gpus import NVIDIA_VENDOR, is_mobile_nvidia

_LAPTOP_CHASSIS = {8: "Portable", 9: "Laptop", 10: "Notebook", 11: "Hand Held",
                   14: "Sub Notebook", 30: "Tablet", 31: "Convertible", 32: "Detachable"}
_DESKTOP_CHASSIS = {3: "Desktop", 6: "Mini Tower", 7: "Tower"}
_COMPACT_CHASSIS = {4: "Low Profile Desktop", 5: "Pizza Box", 13: "All in One",
                    15: "Space-saving", 16: "Lunch Box", 24: "Sealed-case PC", 35: "Mini PC",
                    36: "Stick PC"}
_SERVER_CHASSIS = {17: "Main Server Chassis", 23: "Rack Mount Chassis",
                   25: "Multi-system Chassis", 28: "Blade", 29: "Blade Enclosure"}
_INTEL_MOBILE = re.compile(
    r"\b(?:i[3579]-\d{4,5}|core(?:\(tm\))?\s+(?:ultra\s+)?[3579]\s+\d{3,5})"
    r"(?:h|hx|hk|hs|u|p|y|v|g\d)\b",
    re.IGNORECASE)
_AMD_MOBILE = re.compile(r"\bryzen\s+(?:ai\s+)?\d\s+(?:pro\s+)?(?:\d{4}(?:u|h|hs|hx)\b|"
                         r"(?:hx\s+)?\d{3}\b)", re.IGNORECASE)
_INTEL_DESKTOP = re.compile(r"\bi[3579]-\d{4,5}(?:k|kf|ks|f|t|x|xe|s)?\b", re.IGNORECASE)
_AMD_DESKTOP = re.compile(r"\bryzen\s+\d\s+(?:pro\s+)?\d{4}(?:x3d|xt|x|g|ge|f)?\b",
                          re.IGNORECASE)
_SERVER_CPU = re.compile(r"\b(?:xeon|epyc)\b", re.IGNORECASE)
_LAPTOP_GPU_WORDS = re.compile(r"\b(?:laptop|mobile|max-q)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Clue:
    kind: FormFactor
    text: str
    strong: bool


def chassis_clue(code: int | None) -> _Clue | None:
    """What an SMBIOS chassis type code says (None: Other/Unknown or an unlisted code)."""
    if code is None:
        return None
    for table, kind in ((_LAPTOP_CHASSIS, "laptop"), (_DESKTOP_CHASSIS, "desktop"),
                        (_COMPACT_CHASSIS, "desktop"), (_SERVER_CHASSIS, "server")):
        if code in table:
            return _Clue(kind, f"DMI chassis type {code} ({table[code]})", True)  # type: ignore[arg-type]
    return None


def cpu_clue(model: str | None) -> _Clue | None:
    """What the CPU model's name says about the machine (None: nothing)."""
    if not model:
        return None
    if _SERVER_CPU.search(model):
        return _Clue("server", f"server CPU ({model})", False)
    if _INTEL_MOBILE.search(model) or _AMD_MOBILE.search(model):
        return _Clue("laptop", f"mobile CPU ({model}): a laptop or mini PC", False)
    if _INTEL_DESKTOP.search(model) or _AMD_DESKTOP.search(model):
        return _Clue("desktop", f"desktop CPU ({model})", False)
    return None


def gpu_is_mobile(gpu: GpuInfo) -> bool:
    """Whether a GPU is a mobile (laptop) chip, by PCI device id or by name."""
    if _LAPTOP_GPU_WORDS.search(gpu.name):
        return True
    vendor, device = _split_id(gpu.pci_device_id)
    return vendor == NVIDIA_VENDOR and device is not None and is_mobile_nvidia(device)


def _split_id(text: str | None) -> tuple[int | None, int | None]:
    if not text or ":" not in text:
        return None, None
    vendor, _, device = text.partition(":")
    try:
        return int(vendor, 16), int(device, 16)
    except ValueError:
        return None, None


def infer_form_factor(*, chassis_type: int | None = None, battery: bool | None = None,
                      virtualization: str | None = None, thunderbolt: bool | None = None,
                      cpu_model: str | None = None, gpus: Sequence[GpuInfo] = (),
                      sources: dict[str, str] | None = None) -> FormFactorInfo:
    """Weigh the clues into one form factor, keeping each clue as evidence."""
    src = dict(sources or {})
    evidence: list[str] = []
    chassis = chassis_clue(chassis_type)
    clues: list[_Clue] = []
    if virtualization not in (None, "none", "wsl"):
        clues.append(_Clue("vm", f"virtual machine ({virtualization})", True))
    if chassis is not None:
        clues.append(chassis)
    if battery:
        clues.append(_Clue("laptop", "a system battery", True))
    mobile = [g.name for g in gpus if not g.integrated and gpu_is_mobile(g)]
    if mobile:
        clues.append(_Clue("laptop", f"mobile GPU chip ({mobile[0]})", True))
    cpu = cpu_clue(cpu_model)
    if cpu is not None:
        clues.append(cpu)
    evidence.extend(f"{c.kind}: {c.text}" for c in clues)
    if virtualization == "wsl":
        evidence.append("Windows Subsystem for Linux: the host PC's chassis cannot be read")
    kind = _decide(clues, virtualization == "wsl", evidence)
    compact = chassis_type in _COMPACT_CHASSIS if chassis_type is not None else None
    src.setdefault("kind", "inferred from " + ", ".join(dict.fromkeys(
        c.text.split(" (")[0] for c in clues)) if clues else "no clue")
    return FormFactorInfo(kind=kind, chassis_type=chassis_type, battery=battery,
                          virtualization=virtualization, thunderbolt=thunderbolt,
                          compact=compact, evidence=tuple(evidence), sources=src)


def _decide(clues: list[_Clue], wsl: bool, evidence: list[str]) -> FormFactor:
    if any(c.kind == "vm" for c in clues):
        return "vm"
    laptop_strong = [c for c in clues if c.kind == "laptop" and c.strong]
    strong = [c for c in clues if c.strong]
    if laptop_strong:
        others = {c.kind for c in strong if c.kind != "laptop"}
        if others:
            evidence.append(f"conflict: {', '.join(sorted(others))} by chassis, laptop by "
                            "battery or GPU; taken as a laptop (the safe reading)")
        return "laptop"
    if strong:
        return strong[0].kind
    if wsl:
        return "unknown"
    weak = {c.kind for c in clues}
    return weak.pop() if len(weak) == 1 else "unknown"


def form_factor_of(profile: RigProfile) -> FormFactorInfo:
    """The profile's form factor; when it says ``unknown``, what its CPU and GPUs tell."""
    info = profile.form_factor
    if info.kind != "unknown":
        return info
    guess = infer_form_factor(chassis_type=info.chassis_type, battery=info.battery,
                              virtualization=info.virtualization,
                              thunderbolt=info.thunderbolt, cpu_model=profile.cpu.model,
                              gpus=profile.gpus, sources=info.sources)
    return guess if guess.kind != "unknown" else info
