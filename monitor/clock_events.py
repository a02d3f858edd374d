"""NVIDIA clock-event ("throttle") reasons: the NVML bit mask, decoded to names and back.

The bits are NVML's ``nvmlClocksEventReason*`` constants (the same bits dcgm-exporter decodes in
its clock-events collector). Names follow NVML's wording in snake case, so a chart legend or a log
line reads ``sw_power_cap`` rather than ``0x4``.
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

_NAME_TO_BIT = {name: bit for bit, name in CLOCK_EVENT_BITS}
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
    known = sum(bit for bit, _ in CLOCK_EVENT_BITS)
    rest = mask & ~known
    if rest:
        names.append(f"{_UNKNOWN_PREFIX}{rest:x}")
    return tuple(names)


def encode_clock_events(names: Iterable[str]) -> int:
    """The NVML bit mask for reason names (the inverse of :func:`decode_clock_events`).

    Raises:
        ValueError: For a name that is neither known nor an ``unknown_0x...`` entry.
    """
    mask = 0
    for name in names:
        if name in _NAME_TO_BIT:
            mask |= _NAME_TO_BIT[name]
        elif name.startswith(_UNKNOWN_PREFIX):
            mask |= int(name[len(_UNKNOWN_PREFIX):], 16)
        else:
            raise ValueError(f"unknown clock-event reason {name!r}")
    return mask
