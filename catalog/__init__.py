"""The hardware catalog: GPUs, CPUs, RAM kits, drives, PSUs, tiers, AI tasks, models and cloud
offers, from TOML files in ``catalog/data`` plus the user's additions.

Use :func:`default_catalog` (loaded once per process) or :func:`load_catalog`. The file format is
described in ``docs/catalog-format.md``; bad files raise :class:`CatalogError`.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each name of this package is defined. They are imported on first use (PEP 562), not
#: with the package: ``rigready.catalog.paths`` or ``.errors`` alone (the CLI's start-up, the log
#: file) must not parse the schema and the loader, about half of ``rigready detect``'s imports.
_LAZY = {
    "CatalogError": "rigready.catalog.errors",
    **dict.fromkeys(("BUILTIN_DATA_DIR", "DEFAULT_USER_DIR", "entry_counts", "load_catalog",
                     "merge", "parse_document", "parse_file", "parse_text"),
                    "rigready.catalog.loader"),
    **dict.fromkeys(("KINDS", "Catalog", "CloudOfferEntry", "CpuEntry", "DriveEntry", "GpuEntry",
                     "KindSpec", "ModelEntry", "PsuEntry", "RamKitEntry", "TaskEntry",
                     "TierEntry"), "rigready.catalog.schema"),
}


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module on first use and keep it in the package."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


@cache
def default_catalog() -> Catalog:
    """The built-in plus user catalog, loaded on first use and kept for the process.

    Raises:
        CatalogError: a catalog file is invalid (the error is raised again on the next call).
    """
    from rigready.catalog.loader import load_catalog

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
