"""The one table of NVIDIA clock-event ("throttle") reasons: NVML's bit mask, decoded to names.

The bits are NVML's ``nvmlClocksEventReason*`` constants (the same bits dcgm-exporter decodes in
its clock-events collector). Names follow NVML's wording in snake case, so a chart legend, a log
line or a benchmark verdict reads ``sw_power_cap`` rather than ``0x4``. The monitor, benchmark
telemetry and the NVML door all decode through this module.

These names are stored: monitor samples and events (SQLite, CSV exports) use them as they are.
Benchmark records written before this table was shared used a shorter spelling for five reasons
(``sw_thermal`` for ``sw_thermal_slowdown`` ...); :func:`canonical_reasons` maps those on read.
``gpu_idle`` and ``sw_power_cap`` were spelled the same in both, and are the only reasons in the
committed fixtures (tests/data/monitor, tests/data/bench).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Bit -> name, in NVML's order.
CLOCK_EVENT_BITS: tuple[tuple[int, str], ...] = (
    (0x1, "gpu_idle"),
    (0x2, "applications_clocks_setting"),
    (0x4, "sw_power_cap"),
    (0x8, "hw_slowdown"),
    (0x10, "sync_boost"),
    (0x20, "sw_thermal_slowdown"),
    (0x40, "hw_thermal_slowdown"),
    (0x80, "hw_power_brake_slowdown"),
    (0x100, "display_clock_setting"),
)

#: Reasons that mean "too hot". ``hw_slowdown`` is engaged by temperature or by the power brake;
#: it is listed here because a halving of the clocks is worth a thermal warning either way.
THERMAL_REASONS: frozenset[str] = frozenset(
    {"sw_thermal_slowdown", "hw_thermal_slowdown", "hw_slowdown"}
)
#: Reasons that mean "limited by power".
POWER_REASONS: frozenset[str] = frozenset({"sw_power_cap", "hw_power_brake_slowdown"})
#: Reasons that mean the card ran below the clock it could reach (heat or power).
LIMITING_REASONS: frozenset[str] = THERMAL_REASONS | POWER_REASONS

#: Spellings benchmark records used before the table was shared -> the names above.
LEGACY_NAMES: dict[str, str] = {
    "applications_clocks": "applications_clocks_setting",
    "sw_thermal": "sw_thermal_slowdown",
    "hw_thermal": "hw_thermal_slowdown",
    "hw_power_brake": "hw_power_brake_slowdown",
    "display_clocks": "display_clock_setting",
}

_NAME_TO_BIT = {name: bit for bit, name in CLOCK_EVENT_BITS}
_KNOWN_BITS = sum(bit for bit, _ in CLOCK_EVENT_BITS)
_UNKNOWN_PREFIX = "unknown_0x"


def decode_clock_events(mask: int) -> tuple[str, ...]:
    """Names of the reasons set in an NVML clock-event mask.

    Args:
        mask: The value of ``nvmlDeviceGetCurrentClocksEventReasons``.

    Returns:
        Known reasons in bit order, then one ``unknown_0x...`` entry holding any bits this table
        does not know (newer drivers add bits), so nothing is silently dropped.
    """
    names = [name for bit, name in CLOCK_EVENT_BITS if mask & bit]
    rest = mask & ~_KNOWN_BITS
    if rest:
        names.append(f"{_UNKNOWN_PREFIX}{rest:x}")
    return tuple(names)


def encode_clock_events(names: Iterable[str]) -> int:
    """The NVML bit mask for reason names (the inverse of :func:`decode_clock_events`).

    Legacy spellings (:data:`LEGACY_NAMES`) are accepted.

    Raises:
        ValueError: For a name that is neither known nor an ``unknown_0x...`` entry.
    """
    mask = 0
    for name in canonical_reasons(names):
        if name in _NAME_TO_BIT:
            mask |= _NAME_TO_BIT[name]
        elif name.startswith(_UNKNOWN_PREFIX):
            mask |= int(name[len(_UNKNOWN_PREFIX):], 16)
        else:
            raise ValueError(f"unknown clock-event reason {name!r}")
    return mask


def canonical_reasons(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` with legacy spellings replaced by this table's names, order kept."""
    return tuple(LEGACY_NAMES.get(name, name) for name in names)
