"""Formatting of quantities the way a person reads them (binary sizes, clocks, power)."""

from __future__ import annotations

GIB = 1024**3
MIB = 1024**2


def format_bytes(value: int | float | None, unknown: str = "unknown") -> str:
    """1536 -> '1.5 KiB'; None -> 'unknown'. Binary units, as nvidia-smi and the OS report."""
    if value is None:
        return unknown
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{int(size)} B"
            return f"{size:.1f} {unit}" if size < 100 else f"{size:.0f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_gib(value: int | float | None, unknown: str = "unknown") -> str:
    """Bytes shown in GiB with one decimal: 12884901888 -> '12.0 GiB'."""
    if value is None:
        return unknown
    return f"{value / GIB:.1f} GiB"


def format_mhz(value: float | None, unknown: str = "unknown") -> str:
    """4700 -> '4.70 GHz'; 800 -> '800 MHz'."""
    if value is None:
        return unknown
    return f"{value / 1000:.2f} GHz" if value >= 1000 else f"{value:.0f} MHz"


def format_watts(value: float | None, unknown: str = "unknown") -> str:
    """350.0 -> '350 W'."""
    if value is None:
        return unknown
    return f"{value:.0f} W"
