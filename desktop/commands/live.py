"""The live-offers setting and the plan's use of it (Qt-free; the window shares it)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from assess.plan.live import fetch_live_offers, with_offers
from catalog import Catalog
from catalog.paths import config_dir

_KEY = "live_cloud_offers"


def settings_path() -> Path:
    """The small JSON settings file for prices (in the settings folder)."""
    return config_dir() / "prices.json"


def online_enabled() -> bool:
    """Whether the user turned live cloud offers on (off by default, and when unreadable)."""
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get(_KEY) is True


def set_online(enabled: bool) -> None:
    """Turn live cloud offers on or off (atomic write).

    Raises:
        OSError: the settings folder cannot be written.
    """
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({_KEY: enabled}), encoding="utf-8")
    os.replace(tmp, path)


def with_live_offers(catalog: Catalog) -> tuple[Catalog, str]:
    """The catalog plus live offers when they can be had, and a note saying what happened."""
    live = fetch_live_offers(catalog)
    return with_offers(catalog, live.offers), live.note
