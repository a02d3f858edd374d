"""Parsers for the DMI (SMBIOS) memory tables: the udev database and ``dmidecode -t 16,17``.

systemd's ``dmi_memory_id`` helper decodes SMBIOS types 16 (physical memory array) and 17
(memory device) into udev properties, stored world-readable in ``/run/udev/data/+dmi:id``::

    E:MEMORY_ARRAY_MAX_CAPACITY=68719476736
    E:MEMORY_DEVICE_0_SIZE=17179869184
    E:MEMORY_DEVICE_0_TYPE=DDR4
    E:MEMORY_DEVICE_0_FORM_FACTOR=SODIMM
    E:MEMORY_DEVICE_1_PRESENT=0

so memory type, speed and slots are known without root. ``dmidecode`` (root) prints the same
tables as text. Older systemd releases print DDR5 and LPDDR5 as ``<OUT OF SPEC>`` because their
type table stops at HBM2; that label is kept as "unknown", never read as a type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rigready.assess.hardware import MemoryModule

OUT_OF_SPEC = "<OUT OF SPEC>"
_NOT_A_VALUE = {"", "unknown", "not specified", "other", "none", "not provided",
                OUT_OF_SPEC.lower()}
_DEVICE_KEY = re.compile(r"MEMORY_DEVICE_(\d+)_([A-Z_]+)")
_SIZE = re.compile(r"([0-9]+)\s*(bytes|kB|KB|MB|GB|TB)", re.IGNORECASE)
_UNITS = {"bytes": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


@dataclass(frozen=True, slots=True)
class DmiMemory:
    """What the DMI tables say about memory, before it is summarised into ``MemoryInfo``."""

    modules: tuple[MemoryModule, ...]
    slots_total: int | None
    max_capacity_bytes: int | None
    #: Populated modules whose type the decoder could not name (``<OUT OF SPEC>``).
    out_of_spec_types: int
    source: str


_PROPERTY = re.compile(r"(?:E:\s*)?([A-Z][A-Z0-9_]*)=(.*)")


def parse_udev_properties(text: str) -> dict[str, str]:
    """Udev properties as a dict.

    Accepts the database file (``E:KEY=VALUE``), ``udevadm info`` (``E: KEY=VALUE``) and
    ``udevadm info -q property`` (``KEY=VALUE``); other lines (``S:``, ``I:``, ``P:``...) are
    ignored.
    """
    props: dict[str, str] = {}
    for line in text.splitlines():
        match = _PROPERTY.fullmatch(line.strip())
        if match:
            props[match.group(1)] = match.group(2).strip()
    return props


def parse_udev_memory(text: str) -> DmiMemory | None:
    """Memory facts from ``/run/udev/data/+dmi:id``; None when it holds no memory entries."""
    props = parse_udev_properties(text)
    devices: dict[int, dict[str, str]] = {}
    for key, value in props.items():
        match = _DEVICE_KEY.fullmatch(key)
        if match:
            devices.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if not devices and "MEMORY_ARRAY_NUM_DEVICES" not in props:
        return None
    modules: list[MemoryModule] = []
    out_of_spec = 0
    for index in sorted(devices):
        dev = devices[index]
        size = _int(dev.get("SIZE"))
        if dev.get("PRESENT") == "0" or not size:
            continue
        raw_type = dev.get("TYPE", "")
        out_of_spec += raw_type == OUT_OF_SPEC
        modules.append(MemoryModule(
            locator=_clean(dev.get("LOCATOR")),
            size_bytes=size,
            type=_clean(raw_type),
            speed_mts=_int(dev.get("CONFIGURED_SPEED_MTS")) or _int(dev.get("SPEED_MTS")),
            form_factor=_clean(dev.get("FORM_FACTOR")),
            part_number=_clean(dev.get("PART_NUMBER")),
        ))
    slots = len(devices) or _int(props.get("MEMORY_ARRAY_NUM_DEVICES"))
    return DmiMemory(tuple(modules), slots, _int(props.get("MEMORY_ARRAY_MAX_CAPACITY")),
                     out_of_spec, "udev dmi")


def parse_dmidecode(text: str) -> DmiMemory | None:
    """Memory facts from ``dmidecode -t 16,17`` output; None when it lists no memory."""
    records = _dmidecode_records(text)
    arrays = [r for r in records if r.get("_title") == "Physical Memory Array"
              and r.get("Use", "System Memory") == "System Memory"]
    devices = [r for r in records if r.get("_title") == "Memory Device"]
    if not arrays and not devices:
        return None
    modules: list[MemoryModule] = []
    out_of_spec = 0
    for dev in devices:
        size = parse_dmi_size(dev.get("Size"))
        if not size:
            continue
        raw_type = dev.get("Type", "")
        out_of_spec += raw_type == OUT_OF_SPEC or raw_type.startswith("<OUT OF SPEC")
        speed = dev.get("Configured Memory Speed") or dev.get("Configured Clock Speed")
        modules.append(MemoryModule(
            locator=_clean(dev.get("Locator")),
            size_bytes=size,
            type=_clean(raw_type) if not raw_type.startswith("<") else None,
            speed_mts=_leading_int(speed) or _leading_int(dev.get("Speed")),
            form_factor=_clean(dev.get("Form Factor")),
            part_number=_clean(dev.get("Part Number")),
        ))
    capacities = [parse_dmi_size(a.get("Maximum Capacity")) for a in arrays]
    max_capacity = sum(c for c in capacities if c) or None
    slots = len(devices) or sum(_leading_int(a.get("Number Of Devices")) or 0 for a in arrays)
    return DmiMemory(tuple(modules), slots or None, max_capacity, out_of_spec, "dmidecode")


def parse_dmi_size(text: str | None) -> int | None:
    """``"16 GB"``, ``"16384 MB"``, ``"2 TB"`` -> bytes; None for "No Module Installed" etc."""
    if not text:
        return None
    match = _SIZE.search(text)
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def is_soldered(module: MemoryModule) -> bool:
    """Soldered memory: form factor "Row Of Chips" or an LPDDR type (never socketed)."""
    form = (module.form_factor or "").lower()
    kind = (module.type or "").upper()
    return form == "row of chips" or kind.startswith("LPDDR")


def _dmidecode_records(text: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("Handle "):
            current = {}
            records.append(current)
            continue
        if current is None or not line.strip():
            continue
        if not line.startswith("\t"):
            current["_title"] = line.strip()
        elif not line.startswith("\t\t") and ":" in line:
            key, _, value = line.strip().partition(":")
            current[key.strip()] = value.strip()
    return records


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in _NOT_A_VALUE else value


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value.strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _leading_int(value: str | None) -> int | None:
    if not value:
        return None
    match = re.match(r"\s*([0-9]+)", value)
    return int(match.group(1)) or None if match else None
