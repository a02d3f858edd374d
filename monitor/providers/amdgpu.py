"""AMD provider through the amdgpu driver's sysfs files (no ROCm needed).

Discovery follows btop's ROCm-free fallback: ``/sys/class/drm/cardN`` (digits only) whose
``device/vendor`` is 0x1002 and whose driver is amdgpu. Which files exist is probed once per
card; missing ones are named once in :meth:`AmdgpuProvider.notes`. Units per the kernel's amdgpu
thermal documentation: temperatures in m°C, power in µW, VRAM in bytes, ``pp_dpm_*`` in MHz
with ``*`` marking the current level. Power comes from ``power1_average`` or, where only that
exists, ``power1_input`` (tools that ignored it showed 0 W). A card whose
``device/power/runtime_status`` says ``suspended`` is not touched, so polling never wakes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigready.monitor.providers.base import NoteLog, ProviderError, ProviderUnavailable, Reading
from rigready.monitor.sample import GpuSample

DEFAULT_ROOT = Path("/sys/class/drm")
_AMD_VENDOR = "0x1002"
_DPM_LINE = re.compile(r"^\s*\w+:\s*(\d+)\s*mhz\s*(\*)?\s*$", re.IGNORECASE)


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
    index: int
    card: Path
    name: str
    uuid: str | None
    pci_bus_id: str | None
    files: dict[str, Path] = field(default_factory=dict)
    static: dict[str, Any] = field(default_factory=dict)


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii", errors="replace").strip()


def _is_amdgpu(device: Path) -> bool:
    try:
        if _read(device / "vendor").lower() != _AMD_VENDOR:
            return False
    except OSError:
        return False
    driver = device / "driver"
    if driver.is_symlink() and driver.resolve().name == "amdgpu":
        return True
    try:
        return "DRIVER=amdgpu" in _read(device / "uevent").splitlines()
    except OSError:
        return False


class AmdgpuProvider:
    """AMD GPUs read from amdgpu sysfs; ``root`` is injectable so tests use a fixture tree."""

    def __init__(self, *, root: Path = DEFAULT_ROOT, first_index: int = 0) -> None:
        """Discover the cards and probe which files each one has.

        Args:
            root: The ``/sys/class/drm`` folder (a fixture copy in tests).
            first_index: Index given to the first AMD card (after any NVIDIA GPUs).

        Raises:
            ProviderUnavailable: No amdgpu card under ``root``.
        """
        self._root = root
        self._first_index = first_index
        self._notes = NoteLog("amdgpu")
        self._cards = self._discover()
        if not self._cards:
            raise ProviderUnavailable(f"no amdgpu card under {root}")
        self._broken = False

    @property
    def name(self) -> str:
        """Provider name."""
        return "amdgpu"

    def notes(self) -> tuple[str, ...]:
        """Missing files and other one-time remarks."""
        return self._notes.all()

    def close(self) -> None:
        """Nothing to release (files are opened per read)."""

    def _discover(self) -> list[_Card]:
        try:
            entries = sorted(self._root.iterdir(), key=lambda p: p.name)
        except OSError:
            return []
        cards: list[_Card] = []
        for entry in entries:
            number = entry.name[4:]
            if not entry.name.startswith("card") or not number.isdigit():
                continue
            device = entry / "device"
            if _is_amdgpu(device):
                cards.append(self._probe(len(cards) + self._first_index, entry))
        return cards

    def _probe(self, index: int, card: Path) -> _Card:
        device = card / "device"
        name = self._optional(device / "product_name") or f"AMD GPU ({card.name})"
        uuid = self._optional(device / "unique_id")
        slot = None
        uevent = self._optional(device / "uevent") or ""
        for line in uevent.splitlines():
            if line.startswith("PCI_SLOT_NAME="):
                slot = line.split("=", 1)[1]
        entry = _Card(index, card, name, uuid, slot)
        hwmons = sorted((device / "hwmon").glob("hwmon*"))
        hwmon = hwmons[0] if hwmons else None
        temp = "temp1"
        if hwmon is not None:
            for label in sorted(hwmon.glob("temp*_label")):
                if self._optional(label) == "edge":
                    temp = label.name.removesuffix("_label")
        wanted: dict[str, Path | None] = {
            "busy": device / "gpu_busy_percent",
            "mem_busy": device / "mem_busy_percent",
            "vram_used": device / "mem_info_vram_used",
            "vram_total": device / "mem_info_vram_total",
            "sclk": device / "pp_dpm_sclk",
            "mclk": device / "pp_dpm_mclk",
            "runtime_status": device / "power" / "runtime_status",
            "temp": None if hwmon is None else hwmon / f"{temp}_input",
            "power": None if hwmon is None else self._power_file(hwmon),
            "power_cap": None if hwmon is None else hwmon / "power1_cap",
            "pwm": None if hwmon is None else hwmon / "pwm1",
        }
        for key, path in wanted.items():
            if path is not None and path.is_file():
                entry.files[key] = path
            elif key != "runtime_status":
                self._notes.add(f"{key.replace('_', ' ')}: no sysfs file on GPU {index} ({name})")
        if hwmon is not None:
            for key, suffix in (("temp_slowdown_c", "crit"), ("temp_shutdown_c", "emergency")):
                raw = self._optional(hwmon / f"{temp}_{suffix}")
                entry.static[key] = None if raw is None else int(raw) / 1000.0
            raw_max = self._optional(hwmon / "pwm1_max")
            entry.static["pwm_max"] = int(raw_max) if raw_max else 255
        for key in ("sclk", "mclk"):
            if key in entry.files:
                _, highest = parse_dpm(self._optional(entry.files[key]) or "")
                entry.static[f"{key}_max"] = highest
        return entry

    @staticmethod
    def _power_file(hwmon: Path) -> Path | None:
        for name in ("power1_average", "power1_input"):
            if (hwmon / name).is_file():
                return hwmon / name
        return None

    @staticmethod
    def _optional(path: Path) -> str | None:
        try:
            return _read(path)
        except OSError:
            return None

    def read(self) -> Reading:
        """One reading of every card; rediscovers the cards after a failure."""
        if self._broken:
            self._cards = self._discover()
            if not self._cards:
                raise ProviderError(f"no amdgpu card under {self._root} any more")
            self._broken = False
        return Reading(gpus=tuple(self._read_card(card) for card in self._cards))

    def _value(self, card: _Card, key: str) -> str | None:
        path = card.files.get(key)
        if path is None:
            return None
        try:
            return _read(path)
        except OSError as exc:
            if not card.card.exists():
                self._broken = True
                raise ProviderError(f"GPU {card.index} ({card.name}) disappeared: {exc}") from None
            self._notes.add(f"{key}: read failed on GPU {card.index}: {exc}")
            return None

    def _number(self, card: _Card, key: str, scale: float = 1.0) -> float | None:
        text = self._value(card, key)
        try:
            return None if text is None else float(text) * scale
        except ValueError:
            self._notes.add(f"{key}: unexpected content {text!r} on GPU {card.index}")
            return None

    def _read_card(self, card: _Card) -> GpuSample:
        base = GpuSample(index=card.index, name=card.name, uuid=card.uuid,
                         pci_bus_id=card.pci_bus_id,
                         temp_slowdown_c=card.static.get("temp_slowdown_c"),
                         temp_shutdown_c=card.static.get("temp_shutdown_c"),
                         sm_clock_max_mhz=card.static.get("sclk_max"),
                         memory_clock_max_mhz=card.static.get("mclk_max"))
        if self._value(card, "runtime_status") == "suspended":
            self._notes.add(f"GPU {card.index} is runtime-suspended: not polled while asleep")
            return base
        busy = self._number(card, "busy")
        used = self._number(card, "vram_used")
        total = self._number(card, "vram_total")
        pwm = self._number(card, "pwm")
        sclk = parse_dpm(self._value(card, "sclk") or "")[0]
        mclk = parse_dpm(self._value(card, "mclk") or "")[0]
        return GpuSample(
            index=base.index, name=base.name, uuid=base.uuid, pci_bus_id=base.pci_bus_id,
            utilization_pct=None if busy is None else min(max(busy, 0.0), 100.0),
            memory_utilization_pct=self._number(card, "mem_busy"),
            memory_used_bytes=None if used is None else int(used),
            memory_total_bytes=None if total is None else int(total),
            temperature_c=self._number(card, "temp", 1e-3),
            temp_slowdown_c=base.temp_slowdown_c, temp_shutdown_c=base.temp_shutdown_c,
            power_w=self._number(card, "power", 1e-6),
            power_limit_w=self._number(card, "power_cap", 1e-6),
            sm_clock_mhz=sclk, sm_clock_max_mhz=base.sm_clock_max_mhz,
            memory_clock_mhz=mclk, memory_clock_max_mhz=base.memory_clock_max_mhz,
            fan_pct=None if pwm is None else 100.0 * pwm / card.static.get("pwm_max", 255),
        )
