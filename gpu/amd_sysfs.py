"""AMD GPUs through the amdgpu driver's sysfs and hwmon files (no ROCm needed), as a GpuDoor.

Discovery follows btop's ROCm-free fallback: ``/sys/class/drm/cardN`` (digits only) whose
``device/vendor`` is 0x1002 and whose driver is amdgpu. Detection also asks about one PCI
function directly (:meth:`AmdSysfs.device_at`), so a card whose driver is not loaded is found and
its missing memory size says why. Which files a card has is probed once and kept until
:meth:`AmdSysfs.reset`. Units per the kernel's amdgpu documentation: temperatures in m°C, power
in µW, VRAM in bytes, ``pp_dpm_*`` in MHz with ``*`` marking the current level. Power comes from
``power1_average`` or, where only that exists, ``power1_input`` (tools that ignored it showed
0 W). A card whose ``device/power/runtime_status`` says ``suspended`` is not read, so polling
never wakes it. amdgpu sysfs lists no per-process memory and no throttle reasons: those are
None with the reason (amdsmi, later, is a door of its own beside this one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigready.gpu.types import (
    DEFAULT_GROUPS,
    SAMPLE_FIELDS,
    DisplayState,
    GpuDevice,
    GpuFacts,
    GpuReading,
    ProcessList,
    Unknown,
    fact_names,
    fill_unknown,
)

_AMD_VENDOR = 0x1002
_DPM_LINE = re.compile(r"^\s*\w+:\s*(\d+)\s*mhz\s*(\*)?\s*$", re.IGNORECASE)
_NOT_HERE = Unknown("not_offered", "amdgpu sysfs does not report it")
_ASLEEP = Unknown("asleep", "runtime-suspended: not polled while asleep")


def parse_dpm(text: str) -> tuple[float | None, float | None]:
    """(current, maximum) MHz from a ``pp_dpm_sclk``/``pp_dpm_mclk`` listing; None if absent."""
    current: float | None = None
    highest: float | None = None
    for line in text.splitlines():
        match = _DPM_LINE.match(line)
        if not match:
            continue
        mhz = float(match.group(1))
        highest = mhz if highest is None else max(highest, mhz)
        if match.group(2):
            current = mhz
    return current, highest


@dataclass(slots=True)
class _Card:
    #: ``/sys/class/drm/cardN``; None for a PCI function asked about directly.
    card: Path | None
    #: The PCI function's folder (``cardN/device``).
    device: Path
    label: str
    hwmon: Path | None = None
    sensor: str = "temp1"
    files: dict[str, Path] = field(default_factory=dict)


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii", errors="replace").strip()


def _optional(path: Path) -> str | None:
    try:
        return _read(path)
    except OSError:
        return None


def _uevent(device: Path) -> dict[str, str]:
    lines = (_optional(device / "uevent") or "").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _driver(device: Path) -> str | None:
    link = device / "driver"
    if link.is_symlink():
        return link.resolve().name
    return _uevent(device).get("DRIVER")


class AmdSysfs:
    """AMD GPUs read from amdgpu sysfs below ``root`` (``/`` live, a fixture tree in tests)."""

    def __init__(self, root: Path = Path("/"), *, drm: Path | None = None) -> None:
        """Point the door at a filesystem; nothing is read until the first question.

        Args:
            root: The folder holding ``sys`` (``/`` for this PC).
            drm: The ``/sys/class/drm`` folder, when it is not below ``root`` (fixtures).
        """
        self._drm = drm if drm is not None else root / "sys" / "class" / "drm"
        self._cards: dict[str, _Card] = {}

    @property
    def name(self) -> str:
        """Door name used in notes and logs."""
        return "amdgpu"

    def status(self) -> Unknown | None:
        """None when an amdgpu card is there; else why not."""
        if self.devices():
            return None
        return Unknown("no_device", f"no amdgpu card under {self._drm}")

    def devices(self) -> tuple[GpuDevice, ...]:
        """amdgpu cards, in ``cardN`` order (looked for afresh on every call)."""
        try:
            entries = sorted(self._drm.iterdir(), key=lambda p: p.name)
        except OSError:
            return ()
        found: list[GpuDevice] = []
        for entry in entries:
            number = entry.name[4:]
            if entry.name.startswith("card") and number.isdigit() \
                    and self._is_amdgpu(entry / "device"):
                found.append(GpuDevice("amd", len(found), str(entry)))
        return tuple(found)

    def device_at(self, pci_function: Path, index: int = 0) -> GpuDevice:
        """The GPU whose PCI function folder is ``pci_function`` (bound to amdgpu or not)."""
        return GpuDevice("amd", index, str(pci_function))

    def reset(self) -> None:
        """Forget which files each card has (they are probed again on the next question)."""
        self._cards.clear()

    @staticmethod
    def _is_amdgpu(device: Path) -> bool:
        try:
            if int(_read(device / "vendor"), 16) != _AMD_VENDOR:
                return False
        except (OSError, ValueError):
            return False
        return _driver(device) == "amdgpu"

    # -- probing -----------------------------------------------------------------------

    def _card(self, device: GpuDevice) -> _Card:
        card = self._cards.get(device.key)
        if card is None:
            card = self._probe(Path(device.key))
            self._cards[device.key] = card
        return card

    @staticmethod
    def _probe(path: Path) -> _Card:
        is_card = path.name.startswith("card") and (path / "device").is_dir()
        device = path / "device" if is_card else path
        card = _Card(path if is_card else None, device, path.name)
        hwmons = sorted((device / "hwmon").glob("hwmon*"))
        card.hwmon = hwmons[0] if hwmons else None
        if card.hwmon is not None:
            for label in sorted(card.hwmon.glob("temp*_label")):
                if _optional(label) == "edge":
                    card.sensor = label.name.removesuffix("_label")
        wanted: dict[str, Path | None] = {
            "gpu_busy_percent": device / "gpu_busy_percent",
            "mem_busy_percent": device / "mem_busy_percent",
            "mem_info_vram_used": device / "mem_info_vram_used",
            "mem_info_vram_total": device / "mem_info_vram_total",
            "pp_dpm_sclk": device / "pp_dpm_sclk",
            "pp_dpm_mclk": device / "pp_dpm_mclk",
            "runtime_status": device / "power" / "runtime_status",
        }
        if card.hwmon is not None:
            power = next((card.hwmon / n for n in ("power1_average", "power1_input")
                          if (card.hwmon / n).is_file()), None)
            wanted.update({f"{card.sensor}_input": card.hwmon / f"{card.sensor}_input",
                           "power": power, "power1_cap": card.hwmon / "power1_cap",
                           "pwm1": card.hwmon / "pwm1"})
        card.files = {k: p for k, p in wanted.items() if p is not None and p.is_file()}
        return card

    # -- reading -----------------------------------------------------------------------

    def _text(self, card: _Card, key: str) -> str | Unknown:
        path = card.files.get(key)
        if path is None:
            return Unknown("not_supported", f"no sysfs file {key}")
        try:
            return _read(path)
        except OSError as exc:
            if not card.device.exists():
                return Unknown("gpu_lost", f"{card.label} disappeared ({exc})")
            if isinstance(exc, PermissionError):
                return Unknown("no_permission", f"{key}: {exc}")
            return Unknown("error", f"{key}: {exc}")

    def _number(self, card: _Card, key: str, scale: float = 1.0) -> float | Unknown:
        text = self._text(card, key)
        if isinstance(text, Unknown):
            return text
        try:
            return float(text) * scale
        except ValueError:
            return Unknown("error", f"unexpected content {text!r} in {key}")

    def facts(self, device: GpuDevice) -> GpuFacts:
        """Name, ids, VRAM and GTT size, power cap, temperature limits, top clocks."""
        card = self._card(device)
        values: dict[str, Any] = {}
        unknown: dict[str, Unknown] = {}

        def put(key: str, value: Any) -> None:
            if isinstance(value, Unknown):
                unknown[key] = value
            elif value is not None:
                values[key] = value

        uevent = _uevent(card.device)
        product = _optional(card.device / "product_name")
        put("name", product or (f"AMD GPU ({card.label})" if card.card else
                                Unknown("not_supported", "no sysfs file product_name")))
        put("uuid", _optional(card.device / "unique_id")
            or Unknown("not_supported", "no sysfs file unique_id"))
        put("pci_bus_id", uevent.get("PCI_SLOT_NAME") or (None if card.card else card.label))
        put("pci_ids", self._pci_ids(card.device, uevent))
        driver_ok = _driver(card.device) == "amdgpu"
        for key, file in (("memory_total_bytes", "mem_info_vram_total"),
                          ("shared_memory_bytes", "mem_info_gtt_total")):
            raw = _optional(card.device / file)
            if raw is not None and raw.isdigit():
                put(key, int(raw))
            else:
                put(key, Unknown("driver_not_loaded", "amdgpu driver not loaded") if not driver_ok
                    else Unknown("not_supported", f"amdgpu does not report {file}"))
        put("power_limit_w", self._power_cap(card.device))
        if card.hwmon is not None:
            for key, suffix in (("temp_slowdown_c", "crit"), ("temp_shutdown_c", "emergency")):
                file = f"{card.sensor}_{suffix}"
                raw = _optional(card.hwmon / file) or ""
                put(key, int(raw) / 1000.0 if raw.lstrip("-").isdigit()
                    else Unknown("not_supported", f"no hwmon file {file}"))
        for key, file in (("sm_clock_max_mhz", "pp_dpm_sclk"),
                          ("memory_clock_max_mhz", "pp_dpm_mclk")):
            put(key, parse_dpm(_optional(card.device / file) or "")[1]
                or Unknown("not_supported", f"no clock levels in {file}"))
        fill_unknown(values, unknown, fact_names(), _NOT_HERE)
        return GpuFacts(device=device, unknown=unknown, **values)

    @staticmethod
    def _pci_ids(device: Path, uevent: dict[str, str]) -> tuple[int, int] | None:
        try:
            return int(_read(device / "vendor"), 16), int(_read(device / "device"), 16)
        except (OSError, ValueError):
            vendor, _, dev = uevent.get("PCI_ID", "").partition(":")
            try:
                return int(vendor, 16), int(dev, 16)
            except ValueError:
                return None

    @staticmethod
    def _power_cap(device: Path) -> float | Unknown:
        for hwmon in sorted((device / "hwmon").glob("hwmon*"), key=lambda p: p.name):
            raw = _optional(hwmon / "power1_cap")
            if raw and raw.isdigit() and int(raw):
                return int(raw) / 1_000_000
        return Unknown("not_supported", "no power cap in hwmon (power1_cap)")

    def sample(self, device: GpuDevice, groups: Iterable[str] | None = None) -> GpuReading:
        """Read ``groups`` now; a runtime-suspended card is not touched (values stay None)."""
        card = self._card(device)
        wanted = list(DEFAULT_GROUPS if groups is None else groups)
        names = [n for g in wanted for n in SAMPLE_FIELDS[g]]
        values: dict[str, Any] = {}
        unknown: dict[str, Unknown] = {}
        if self._text(card, "runtime_status") == "suspended":
            return GpuReading(device=device, unknown=dict.fromkeys(names, _ASLEEP))
        raw: dict[str, float | Unknown | None] = {}
        if "utilization" in wanted:
            raw["utilization_pct"] = self._number(card, "gpu_busy_percent")
            raw["memory_utilization_pct"] = self._number(card, "mem_busy_percent")
        if "memory" in wanted:
            raw["memory_used_bytes"] = self._number(card, "mem_info_vram_used")
            raw["memory_total_bytes"] = self._number(card, "mem_info_vram_total")
        if "temperature" in wanted:
            raw["temperature_c"] = self._number(card, f"{card.sensor}_input", 1e-3)
        if "power" in wanted:
            raw["power_w"] = self._number(card, "power", 1e-6)
        if "power_limit" in wanted:
            raw["power_limit_w"] = self._number(card, "power1_cap", 1e-6)
        for group, key, file in (("sm_clock", "sm_clock_mhz", "pp_dpm_sclk"),
                                 ("memory_clock", "memory_clock_mhz", "pp_dpm_mclk")):
            if group in wanted:
                text = self._text(card, file)
                raw[key] = text if isinstance(text, Unknown) else parse_dpm(text)[0]
        if "fan" in wanted:
            raw["fan_pct"] = self._fan(card)
        for key, value in raw.items():
            if isinstance(value, Unknown):
                unknown[key] = value
            elif value is not None:
                values[key] = value
        if "utilization_pct" in values:
            values["utilization_pct"] = min(max(values["utilization_pct"], 0.0), 100.0)
        for key in ("memory_used_bytes", "memory_total_bytes"):
            if key in values:
                values[key] = int(values[key])
        fill_unknown(values, unknown, names, _NOT_HERE)
        return GpuReading(device=device, unknown=unknown, **values)

    def _fan(self, card: _Card) -> float | Unknown:
        pwm = self._number(card, "pwm1")
        if isinstance(pwm, Unknown) or card.hwmon is None:
            return pwm
        top = _optional(card.hwmon / "pwm1_max")
        return 100.0 * pwm / (int(top) if top and top.isdigit() and int(top) else 255)

    def processes(self, device: GpuDevice) -> ProcessList:
        """Not listed by amdgpu sysfs: None with the reason."""
        return ProcessList(device, None, Unknown(
            "not_offered", "amdgpu sysfs lists no per-process memory"))

    def display(self, device: GpuDevice) -> DisplayState:
        """From the DRM connectors of the card (``cardN-DP-1/status``, ``.../enabled``)."""
        card = self._card(device)
        if card.card is None:
            why = Unknown("not_supported", "no DRM card for this PCI function")
            return DisplayState(device, unknown={"connected": why, "active": why})
        connectors = sorted(self._drm.glob(f"{card.label}-*"))
        status = [_optional(c / "status") for c in connectors]
        enabled = [_optional(c / "enabled") for c in connectors]
        values: dict[str, bool] = {}
        unknown: dict[str, Unknown] = {}
        values["connected"] = any(s == "connected" for s in status)
        if connectors and all(e is None for e in enabled):
            unknown["active"] = Unknown("not_supported", "no connector 'enabled' file")
        else:
            values["active"] = any(e == "enabled" for e in enabled)
        return DisplayState(device, unknown=unknown, **values)
