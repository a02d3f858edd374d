"""PCI helpers shared by the GPU and NVMe probes: link speeds and ``pci.ids`` names."""

from __future__ import annotations

import re

from rigready.assess.detect._fs import SysRoot

#: Transfer rate per lane -> PCIe generation.
_GT_TO_GEN = {2.5: 1, 5.0: 2, 8.0: 3, 16.0: 4, 32.0: 5, 64.0: 6, 128.0: 7}
_GT = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*GT/s")
PCI_IDS_PATHS = ("usr/share/hwdata/pci.ids", "usr/share/misc/pci.ids", "usr/share/pci.ids")


def pcie_gen(speed: str | None) -> int | None:
    """``"16.0 GT/s PCIe"`` -> 4, ``"8 GT/s"`` -> 3; None for ``"Unknown"`` or missing."""
    if not speed:
        return None
    match = _GT.search(speed)
    if not match:
        return None
    return _GT_TO_GEN.get(float(match.group(1)))


def pcie_width(width: str | None) -> int | None:
    """``"16"`` or ``"x16"`` -> 16; None for 0, 255 (unknown) or missing."""
    if not width:
        return None
    digits = width.strip().lstrip("xX")
    if not digits.isdigit():
        return None
    value = int(digits)
    return value if 0 < value < 64 else None


def pcie_link(fs: SysRoot, device: str) -> tuple[int | None, int | None, int | None, int | None]:
    """(gen max, gen current, width max, width current) from a PCI device folder in sysfs."""
    return (
        pcie_gen(fs.text(f"{device}/max_link_speed")),
        pcie_gen(fs.text(f"{device}/current_link_speed")),
        pcie_width(fs.text(f"{device}/max_link_width")),
        pcie_width(fs.text(f"{device}/current_link_width")),
    )


def pci_ids_name(fs: SysRoot, vendor: int, device: int) -> tuple[str | None, str | None]:
    """Vendor and device names from the pci.ids database, if one is installed below ``fs``.

    Only the lines of one vendor are examined, so the lookup costs a single pass over the file.
    """
    for rel in PCI_IDS_PATHS:
        text = fs.raw(rel)
        if text is None:
            continue
        vendor_key = f"{vendor:04x}"
        device_key = f"\t{device:04x}"
        vendor_name: str | None = None
        for line in text.splitlines():
            if vendor_name is None:
                if line.startswith(vendor_key + " "):
                    vendor_name = line[4:].strip()
                continue
            if line and not line.startswith("\t") and not line.startswith("#"):
                break  # next vendor
            if line.startswith(device_key + " "):
                return vendor_name, line[len(device_key):].strip()
        return vendor_name, None
    return None, None
