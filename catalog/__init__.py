"""The hardware catalog: GPUs, CPUs, RAM kits, drives, PSUs, tiers, AI tasks, models and cloud
offers, from TOML files in ``catalog/data`` plus the user's additions.

Use :func:`default_catalog` (loaded once per process) or :func:`load_catalog`. The file format is
described in ``docs/catalog-format.md``; bad files raise :class:`CatalogError`.
"""

from __future__ import annotations

from functools import cache

from rigready.catalog.errors import CatalogError
from rigready.catalog.loader import (
    BUILTIN_DATA_DIR,
    DEFAULT_USER_DIR,
    entry_counts,
    load_catalog,
    merge,
    parse_document,
    parse_file,
    parse_text,
)
from rigready.catalog.schema import (
    KINDS,
    Catalog,
    CloudOfferEntry,
    CpuEntry,
    DriveEntry,
    GpuEntry,
    KindSpec,
    ModelEntry,
    PsuEntry,
    RamKitEntry,
    TaskEntry,
    TierEntry,
)


@cache
def default_catalog() -> Catalog:
    """The built-in plus user catalog, loaded on first use and kept for the process.

    Raises:
        CatalogError: a catalog file is invalid (the error is raised again on the next call).
    """
    return load_catalog()


__all__ = [
    "BUILTIN_DATA_DIR",
    "DEFAULT_USER_DIR",
    "KINDS",
    "Catalog",
    "CatalogError",
    "CloudOfferEntry",
    "CpuEntry",
    "DriveEntry",
    "GpuEntry",
    "KindSpec",
    "ModelEntry",
    "PsuEntry",
    "RamKitEntry",
    "TaskEntry",
    "TierEntry",
    "default_catalog",
    "entry_counts",
    "load_catalog",
    "merge",
    "parse_document",
    "parse_file",
    "parse_text",
]
