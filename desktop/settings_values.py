"""Reading numbers and flags from ``settings.ini`` defensively (no Qt import needed).

The file is the user's to edit, so every value is checked: a number must be finite and in the
setting's range, else the default is used and a warning logged (a page must always open;
``[upgrade] seq=nan`` once made the Upgrade page impossible to open).
"""

from __future__ import annotations

import logging
import math
from typing import Protocol

log = logging.getLogger("rigready.settings")


class SettingsLike(Protocol):
    """What is read from ``QSettings``."""

    def value(self, key: str, default: object = None) -> object:
        """The stored value of ``key`` or ``default``."""


def setting_number(settings: SettingsLike, key: str, default: float, low: float,
                   high: float) -> float:
    """A finite number in ``[low, high]`` stored under ``key``; ``default`` otherwise."""
    raw = settings.value(key, default)
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if math.isfinite(value) and low <= value <= high:
        return value
    log.warning("settings: %s = %r is not a number from %g to %g; using %g", key, raw, low,
                high, default)
    return default


def setting_int(settings: SettingsLike, key: str, default: int, low: int, high: int) -> int:
    """A whole number in ``[low, high]`` stored under ``key``; ``default`` otherwise."""
    value = setting_number(settings, key, default, low, high)
    if float(value).is_integer():
        return int(value)
    log.warning("settings: %s = %r is not a whole number; using %d", key, value, default)
    return default


def setting_flag(settings: SettingsLike, key: str, default: bool) -> bool:
    """A true/false setting (Qt stores booleans in the ini file as ``true``/``false``)."""
    raw = settings.value(key, default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "false", "0", "no"):
        return raw.strip().lower() in ("true", "1", "yes")
    if raw is not None:
        log.warning("settings: %s = %r is not true or false; using %s", key, raw, default)
    return default
