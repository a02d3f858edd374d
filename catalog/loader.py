"""Read and validate the catalog TOML files (format: ``docs/catalog-format.md``).

Validation is strict and every problem is a :class:`~catalog.errors.CatalogError` naming the file,
the entry and the key: an unknown key (a key without its unit suffix is simply unknown), a value
of the wrong type, a size that is zero or negative, a missing required key, a price without its
date and source, a duplicate id, a reference to an id that does not exist. Nothing else escapes:
any malformed input ends in a ``CatalogError``.

The user's catalog folder (``rigready.catalog.paths.user_catalog_dir()``) uses the same format. Its
entries are added to the built-in ones; an entry whose id already exists replaces the built-in
entry, and the :class:`~catalog.schema.Catalog` lists each replacement in ``overridden``.
"""

from __future__ import annotations

import dataclasses
import enum
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rigready.catalog.checks import check_entry, check_references
from rigready.catalog.convert import convert_entry, label_for
from rigready.catalog.errors import CatalogError
from rigready.catalog.pack import PackInfo, installed_pack
from rigready.catalog.paths import user_catalog_dir
from rigready.catalog.prices import apply_overrides, convert_prices
from rigready.catalog.schema import KINDS, Catalog, KindSpec
from rigready.catalog.userfiles import UserFileError, read_user_bytes

BUILTIN_DATA_DIR = Path(__file__).resolve().parent / "data"
#: Largest catalog file read (the biggest built-in one is a few tens of KiB).
MAX_CATALOG_FILE_BYTES = 4 * 1024 * 1024
_META_KEYS = {"updated": date, "description": str}
_KIND_BY_TABLE = {k.table: k for k in KINDS}


class _Default(enum.Enum):
    USER_DIR = "the user's catalog folder"


#: Marker for "use ``rigready.catalog.paths.user_catalog_dir()``" in :func:`load_catalog`.
DEFAULT_USER_DIR = _Default.USER_DIR


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """One validated catalog file: its meta date and its entries per table name."""

    path: str
    updated: date
    description: str
    entries: dict[str, tuple[Any, ...]]


def shipped_date(folder: Path = BUILTIN_DATA_DIR) -> date:
    """The newest ``[meta] updated`` of the data shipped with rigready (meta only, unvalidated)."""
    newest = date.min
    for path in folder.glob("*.toml"):
        try:
            with path.open("rb") as handle:
                value = tomllib.load(handle).get("meta", {}).get("updated")
        except (OSError, tomllib.TOMLDecodeError, AttributeError):
            continue
        if type(value) is date and value > newest:
            newest = value
    return newest


def active_pack() -> PackInfo | None:
    """The installed data pack when it is newer than the shipped data (else None)."""
    pack = installed_pack()
    if pack is None or pack.date <= shipped_date():
        return None
    return pack


def builtin_files() -> list[Path]:
    """The built-in catalog files: a newer installed data pack's, else the shipped ones."""
    pack = active_pack()
    folder = pack.folder if pack is not None else BUILTIN_DATA_DIR
    return _toml_files(folder, must_exist=True)


def load_catalog(
    user_dir: Path | _Default | None = DEFAULT_USER_DIR,
    *,
    builtin_dir: Path | None = None,
) -> Catalog:
    """Load the built-in catalog plus the user's additions and overrides.

    Args:
        user_dir: a folder (every ``*.toml`` in it) or a single TOML file whose entries add to or
            replace the built-in ones; ``None`` for the built-in catalog alone. By default the
            user's catalog folder in the settings folder, which need not exist.
        builtin_dir: the folder of built-in files (tests point it elsewhere); by default an
            installed data pack newer than the shipped data (``rigready catalog update``), else
            the data shipped with rigready.

    Raises:
        CatalogError: any file is unreadable or invalid, or a reference does not resolve.
    """
    pack = active_pack() if builtin_dir is None else None
    base_dir = builtin_dir if builtin_dir is not None else (
        pack.folder if pack is not None else BUILTIN_DATA_DIR)
    base = [parse_file(p) for p in _toml_files(base_dir, must_exist=True)]
    overlay: list[ParsedFile] = []
    if user_dir is DEFAULT_USER_DIR:
        overlay = [parse_file(p) for p in _toml_files(user_catalog_dir(), must_exist=False)]
    elif isinstance(user_dir, Path):
        overlay = [parse_file(p) for p in _toml_files(user_dir, must_exist=True)]
    result = merge(base, overlay)
    if pack is not None:
        result = dataclasses.replace(result, pack=pack.label)
    return result


def parse_file(path: Path) -> ParsedFile:
    """Read and validate one TOML file (references to other files are checked by :func:`merge`).

    Raises:
        CatalogError: the file is unreadable, not TOML, or not in the catalog format.
    """
    name = str(path)
    try:  # a regular file within the limit: a FIFO or device in the user's folder never hangs
        raw = read_user_bytes(path, limit=MAX_CATALOG_FILE_BYTES)
    except UserFileError as exc:
        raise CatalogError(name, "", "", str(exc).removeprefix(f"{name}: ")) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(name, "", "", "not UTF-8 text (TOML files are UTF-8)") from None
    return parse_text(text, name)


def parse_text(text: str, name: str = "<catalog>") -> ParsedFile:
    """Validate TOML text in the catalog format; ``name`` is used in error messages.

    Raises:
        CatalogError: the text is not TOML, or not in the catalog format.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(name, "", "", f"not valid TOML ({exc})") from None
    except (RecursionError, ValueError, TypeError) as exc:  # pathological nesting or input
        raise CatalogError(name, "", "", f"not valid TOML ({type(exc).__name__})") from None
    return parse_document(data, name)


def parse_document(data: object, name: str = "<catalog>") -> ParsedFile:
    """Validate an already parsed TOML document (a mapping of table names to values).

    Raises:
        CatalogError: the structure is not in the catalog format.
    """
    if not isinstance(data, Mapping):
        raise CatalogError(name, "", "", "the document must be a table of tables")
    if "meta" not in data:
        raise CatalogError(name, "", "meta", "missing the [meta] table (updated, description)")
    updated, description = _parse_meta(data["meta"], name)
    entries: dict[str, tuple[Any, ...]] = {}
    for key, value in data.items():
        if key == "meta":
            continue
        spec = _KIND_BY_TABLE.get(key) if isinstance(key, str) else None
        if spec is None:
            known = ", ".join(k.table for k in KINDS)
            raise CatalogError(name, "", str(key), f"unknown table (expected one of: {known})")
        entries[spec.table] = _parse_entries(spec, value, name)
    return ParsedFile(name, updated, description, entries)


def merge(base: Sequence[ParsedFile], overlay: Sequence[ParsedFile] = ()) -> Catalog:
    """Combine validated files into a :class:`Catalog`.

    Ids must be unique per kind within ``base`` and within ``overlay``; an ``overlay`` entry
    with the id of a ``base`` entry replaces it. References (``tier.example_gpus``,
    ``cloud_offer.gpu_id``) are checked against the combined catalog.

    Raises:
        CatalogError: a duplicate id or a dangling reference.
    """
    merged: dict[str, dict[str, Any]] = {k.table: {} for k in KINDS}
    origin: dict[tuple[str, str], str] = {}
    overridden: list[str] = []
    for layer, files in (("base", base), ("overlay", overlay)):
        seen: dict[tuple[str, str], str] = {}
        for parsed in files:
            for table, entries in parsed.entries.items():
                for entry in entries:
                    key = (table, entry.id)
                    if key in seen:
                        raise CatalogError(parsed.path, entry.id, "id",
                                           f"duplicate {table} id (first defined in {seen[key]})")
                    seen[key] = parsed.path
                    if layer == "overlay" and entry.id in merged[table]:
                        overridden.append(f"{table} {entry.id}: replaced by {parsed.path}")
                    merged[table][entry.id] = entry
                    origin[key] = parsed.path
    rates = tuple(merged["exchange_rate"].values())
    convert_prices(merged, rates, origin)
    apply_overrides(merged, tuple(merged["price_override"].values()), rates, origin)
    catalog_values: dict[str, Any] = {}
    for spec in KINDS:
        values = tuple(merged[spec.table].values())
        if spec.table == "tier":
            values = tuple(sorted(values, key=lambda t: t.rank))
        catalog_values[spec.attribute] = values
    files = [*base, *overlay]
    result = Catalog(
        **catalog_values,
        updated=max((f.updated for f in files), default=date.min),
        files=tuple(f.path for f in files),
        overridden=tuple(overridden),
    )
    check_references(result, origin)
    return result


def _toml_files(path: Path, *, must_exist: bool) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        try:
            return sorted(p for p in path.iterdir() if p.suffix == ".toml" and p.is_file())
        except OSError as exc:
            raise CatalogError(str(path), "", "",
                               f"cannot list the folder ({exc.strerror or exc})") from None
    if must_exist:
        raise CatalogError(str(path), "", "", "no such file or folder")
    return []


def _parse_meta(meta: object, name: str) -> tuple[date, str]:
    if not isinstance(meta, Mapping):
        raise CatalogError(name, "", "meta", "must be a table: [meta]")
    for key in meta:
        if key not in _META_KEYS:
            raise CatalogError(name, "", f"meta.{key}", "unknown key (meta has updated, "
                               "description)")
    for key in _META_KEYS:
        if key not in meta:
            raise CatalogError(name, "", f"meta.{key}", "missing required key")
    updated, description = meta["updated"], meta["description"]
    if type(updated) is not date:
        raise CatalogError(name, "", "meta.updated", "must be a TOML date such as 2026-11-22 "
                           "(no quotes, no time)")
    if not isinstance(description, str) or not description.strip():
        raise CatalogError(name, "", "meta.description", "must be a non-empty string")
    return updated, description


def _parse_entries(spec: KindSpec, value: object, name: str) -> tuple[Any, ...]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise CatalogError(name, "", spec.table,
                           f"must be an array of tables: [[{spec.table}]]")
    out = []
    for index, raw in enumerate(value):
        label = label_for(spec.table, index, raw)
        entry = convert_entry(spec.cls, raw, name, label)
        check_entry(entry, name)
        out.append(entry)
    return tuple(out)


def entry_counts(catalog: Catalog) -> dict[str, int]:
    """Entries per kind, keyed by the plural word ``rigready catalog list`` uses."""
    return {spec.plural: len(getattr(catalog, spec.attribute)) for spec in KINDS}


def iter_tables() -> Iterable[KindSpec]:
    """The kinds of entry the catalog knows, in the order of the format document."""
    return iter(KINDS)
