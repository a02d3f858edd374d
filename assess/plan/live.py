"""Live cloud GPU offers from the Vast.ai marketplace, opt-in, cached, with a catalog fallback.

Vast.ai's offer search (``POST /api/v0/bundles/`` with the query as JSON, as the current vast-cli
``search_offers`` sends it; answer ``{"offers": [...]}``) needs an API key (docs.vast.ai, "All
requests require an API key"), read from ``VAST_API_KEY``; no account-free marketplace API with GPU
offers was found. Each row gives the GPU model (``gpu_name``, ``gpu_ram`` in MB), ``num_gpus``, the
on-demand price of the whole offer (``dph_total``, USD/h) and the lowest interruptible bid
(``min_bid``, USD/h). GPU names are mapped to catalog GPUs with the catalog's matching
(``rigready.assess.match``); rows that match nothing are dropped and counted. The cheapest on-demand
and spot offer per GPU and count is kept.

The answer is cached in the user's cache folder with its fetch time; a fresh cache (under an
hour) is used without a request, and when a request fails an older cache is used with its age,
else the caller keeps the catalog's offers. ``RIGREADY_VAST_URL`` points the client elsewhere
(tests use a local server).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rigready.assess.hardware import GpuInfo, GpuVendor
from rigready.assess.match import match_gpu
from rigready.catalog import Catalog, CloudOfferEntry, GpuEntry
from rigready.catalog.netfetch import NetError, fetch_bytes
from rigready.catalog.paths import cache_dir, config_dir
from rigready.catalog.userfiles import UserFileError, write_user_file
from rigready.catalog.userjson import parse_json_bytes, read_user_json

DEFAULT_URL = "https://console.vast.ai/api/v0/bundles/"
URL_ENV = "RIGREADY_VAST_URL"
KEY_ENV = "VAST_API_KEY"
TIMEOUT_S = 4.0
FRESH = timedelta(hours=1)
_MAX_BYTES = 8 * 2**20
#: Rentable, verified machines, cheapest first (the CLI's default filters).
_QUERY = {"verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True},
          "rented": {"eq": False}, "type": "on-demand", "order": [["dph_total", "asc"]],
          "limit": 1000, "allocated_storage": 5.0}


@dataclass(frozen=True, slots=True)
class LiveOffers:
    """What a fetch produced: offers (empty on failure), when they were fetched, and a note."""

    offers: tuple[CloudOfferEntry, ...]
    fetched_at: datetime | None
    note: str


def cache_path() -> Path:
    """Where the last answer is kept."""
    return cache_dir() / "vast-offers.json"


def _request(url: str, key: str, timeout_s: float) -> Any:
    """The marketplace's answer within ``timeout_s`` in all (name lookup, connect and the whole
    body) and at most :data:`_MAX_BYTES`, through the deadline every network client of rigready
    shares (:mod:`rigready.catalog.netfetch`): ``urlopen``'s timeout bounds each socket read
    only, so a server sending a byte every few seconds held ``plan --online`` for two minutes.

    Raises:
        NetError: no complete answer in time (the message names the server), too large, an
            HTTP error or no connection.
        UserFileError: the answer is not JSON (or nested absurdly deep).
    """
    body = json.dumps(_QUERY, separators=(",", ":")).encode()
    answer = fetch_bytes(url, seconds=timeout_s, max_bytes=_MAX_BYTES, method="POST", data=body,
                         headers={"Authorization": f"Bearer {key}",
                                  "Content-Type": "application/json",
                                  "Accept": "application/json"})
    return parse_json_bytes(answer, "the answer")


def _rows(payload: object) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get("offers"), list):
        raise ValueError("the answer has no 'offers' list")
    return [r for r in payload["offers"] if isinstance(r, Mapping)]


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value > 0 and value == value and value < 1e6 else None


def _entry_for(row: Mapping[str, Any], catalog: Catalog) -> GpuEntry | None:
    raw = row.get("gpu_name")
    if not isinstance(raw, str) or not raw.strip():
        return None
    name = raw.replace("_", " ")  # the marketplace's query syntax writes RTX_4090
    ram_mb = _number(row.get("gpu_ram"))
    vendor: GpuVendor = ("amd" if "radeon" in name.lower()
                         or name.upper().startswith(("RX ", "MI")) else "nvidia")
    gpu = GpuInfo(vendor=vendor, name=name,
                  vram_bytes=int(ram_mb * 2**20) if ram_mb is not None else None)
    return match_gpu(gpu, catalog.gpus).entry


def parse_offers(payload: object, catalog: Catalog, fetched_at: datetime,
                 ) -> tuple[list[CloudOfferEntry], int]:
    """The cheapest on-demand and spot offer per catalog GPU and GPU count, and how many rows
    matched no catalog GPU.

    Raises:
        ValueError: the payload is not the marketplace's shape.
    """
    best: dict[tuple[str, int, bool], tuple[float, Mapping[str, Any]]] = {}
    unmatched = 0
    for row in _rows(payload):
        count = row.get("num_gpus")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64:
            continue
        entry = _entry_for(row, catalog)
        if entry is None:
            unmatched += 1
            continue
        for spot, key in ((False, "dph_total"), (True, "min_bid")):
            price = _number(row.get(key))
            if price is None:
                continue
            slot = (entry.id, count, spot)
            if slot not in best or price < best[slot][0]:
                best[slot] = (price, row)
    when = fetched_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    offers = []
    for (gpu_id, count, spot), (price, row) in sorted(best.items()):
        kind = "spot (interruptible)" if spot else "on demand"
        offers.append(CloudOfferEntry(
            id=f"vast-live-{gpu_id}-{count}x{'-spot' if spot else ''}", provider="vast.ai",
            instance=f"{count}x {row.get('gpu_name')} ({kind}, live)", gpu_id=gpu_id,
            gpu_count=count, usd_per_hour=round(price, 4),
            vcpus=int(c) if (c := _number(row.get("cpu_cores_effective"))) else None,
            ram_gib=round(r / 1024, 1) if (r := _number(row.get("cpu_ram"))) else None,
            spot=spot, price_date=fetched_at.astimezone(UTC).date(),
            price_kind="spot" if spot else "on-demand",
            price_source=f"Vast.ai marketplace, live offer {row.get('id', '?')} fetched {when}; "
            "storage and bandwidth are billed on top"))
    return offers, unmatched


def _read_cache(path: Path) -> tuple[datetime, object] | None:
    """The cached answer and its time; None when missing or unusable (a FIFO or a folder in its
    place, absurd nesting, not JSON: the safe reader refuses them at once)."""
    try:
        data: Any = read_user_json(path, limit=_MAX_BYTES + 4096)
        fetched = datetime.fromisoformat(data["fetched_at"])
        if fetched.tzinfo is None:
            return None
        return fetched, data["answer"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, fetched: datetime, answer: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_user_file(path, json.dumps({"fetched_at": fetched.isoformat(),
                                          "answer": answer}), force=True, app_file=True)
    except (OSError, UserFileError):
        pass  # a cache that cannot be written only costs a request next time


def fetch_live_offers(catalog: Catalog, *, now: datetime | None = None,
                      env: Mapping[str, str] | None = None,
                      timeout_s: float = TIMEOUT_S) -> LiveOffers:
    """Current offers from the marketplace (or the cache), never raising.

    On any failure the offers are empty (or the older cache's) and the note says what happened,
    so the caller keeps the catalog's offers.
    """
    environ = os.environ if env is None else env
    moment = now or datetime.now(UTC)
    path = cache_path()
    cached = _read_cache(path)
    if cached is not None and timedelta(0) <= moment - cached[0] < FRESH:
        return _from_answer(catalog, cached[0], cached[1], "cached")
    key = environ.get(KEY_ENV, "").strip()
    url = environ.get(URL_ENV, "").strip() or DEFAULT_URL
    if not key:
        why = f"{KEY_ENV} is not set (Vast.ai's offer search needs an API key)"
    else:
        try:
            answer = _request(url, key, timeout_s)
            _rows(answer)
        except (NetError, ValueError) as exc:
            why = f"could not fetch {url} ({exc})"
        else:
            _write_cache(path, moment, answer)
            return _from_answer(catalog, moment, answer, "fetched")
    if cached is not None:
        live = _from_answer(catalog, cached[0], cached[1], "cached")
        return LiveOffers(live.offers, live.fetched_at, f"{why}; using the copy fetched "
                          f"{cached[0].astimezone(UTC):%Y-%m-%d %H:%M} UTC")
    return LiveOffers((), None, f"{why}; using the catalog's offers")


def _from_answer(catalog: Catalog, fetched: datetime, answer: object, how: str) -> LiveOffers:
    try:
        offers, unmatched = parse_offers(answer, catalog, fetched)
    except ValueError as exc:
        return LiveOffers((), None, f"the marketplace answer was not understood ({exc}); "
                          "using the catalog's offers")
    skipped = f", {unmatched} rows with GPUs not in the catalog skipped" if unmatched else ""
    return LiveOffers(tuple(offers), fetched, f"{len(offers)} Vast.ai offers {how} "
                      f"{fetched.astimezone(UTC):%Y-%m-%d %H:%M} UTC{skipped}")


def with_offers(catalog: Catalog, offers: Sequence[CloudOfferEntry]) -> Catalog:
    """The catalog with live offers added to its own."""
    import dataclasses

    return dataclasses.replace(catalog, cloud_offers=(*catalog.cloud_offers, *offers))


def with_live_offers(catalog: Catalog) -> tuple[Catalog, str]:
    """The catalog plus live offers when they can be had, and a note saying what happened."""
    live = fetch_live_offers(catalog)
    return with_offers(catalog, live.offers), live.note


_SETTING = "live_cloud_offers"


def settings_path() -> Path:
    """The small JSON settings file for prices (in the settings folder; CLI and window share it)."""
    return config_dir() / "prices.json"


def online_enabled() -> bool:
    """Whether the user turned live cloud offers on (off by default, and when unreadable)."""
    try:  # a FIFO, a folder or absurd nesting in its place reads as "off", never hangs
        data = read_user_json(settings_path(), limit=64 * 1024)
    except UserFileError:
        return False
    return isinstance(data, dict) and data.get(_SETTING) is True


def set_online(enabled: bool) -> None:
    """Turn live cloud offers on or off (written through a temporary file and a rename).

    Raises:
        OSError: the settings folder cannot be written.
    """
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # temp file, fsync, rename (nothing left behind on a full disk)
        write_user_file(path, json.dumps({_SETTING: enabled}), force=True, app_file=True)
    except UserFileError as exc:
        raise OSError(str(exc)) from None
