"""Help → About: the version, the catalog's dates, folders and the dependencies' licences.

The facts are gathered by pure functions (tested without a window); :class:`AboutDialog` shows
them. Licences come from the installed packages' metadata (``License-Expression``, else a short
``License`` field, else the ``License ::`` classifiers), with :data:`FALLBACK_LICENCES` for a
package whose metadata says nothing or is missing (a source checkout that was never installed).
"""

from __future__ import annotations

import html
import importlib.metadata as metadata
import platform
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rigready.catalog import BUILTIN_DATA_DIR, Catalog, CatalogError
from rigready.catalog.loader import active_pack
from rigready.catalog.money import PriceView, today
from rigready.catalog.paths import config_dir, data_dir
from rigready.catalog.prices import price_of
from rigready.desktop.context import AppContext
from rigready.desktop.logging_setup import current_log_file, log_file_path

DISTRIBUTION = "rigready"
ICON_PATH = Path(__file__).resolve().parent / "resources" / "rigready.svg"
DESCRIPTION = ("Can this PC run, fine-tune or train an AI model? Detect, score, plan upgrades, "
               "benchmark and monitor.")

#: Licences of rigready's direct runtime dependencies as their own metadata declared them for the
#: versions in pyproject.toml (checked 2026-11-22), for when the installed metadata is missing.
FALLBACK_LICENCES: dict[str, str] = {
    "pyside6-essentials": "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only",
    "shiboken6": "LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only",
    "pyqtgraph": "MIT",
    "nvidia-ml-py": "BSD",
    "psutil": "BSD-3-Clause",
    "py-cpuinfo": "MIT",
    "sqlite-utils": "Apache-2.0",
    "numpy": "BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0",
    "platformdirs": "MIT",
    "prometheus-client": "Apache-2.0 AND BSD-2-Clause",
}
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_MAX_LICENCE_FIELD = 80


@dataclass(frozen=True, slots=True)
class DependencyLicence:
    """One runtime dependency and its licence.

    Attributes:
        name: the package name as it spells itself.
        version: the installed version, or None when it is not installed.
        licence: the licence text shown.
        source: where the licence came from (``License-Expression``, ``License``,
            ``classifiers``, ``rigready's table`` or ``unknown``).
        required_by: None for a direct dependency of rigready, else the package that needs it.
    """

    name: str
    version: str | None
    licence: str
    source: str
    required_by: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogFileDate:
    """The ``[meta] updated`` date of one catalog file (None when it cannot be read)."""

    name: str
    updated: date | None
    builtin: bool


def app_version() -> str:
    """rigready's installed version, or ``"unknown"`` for a source tree that was not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


def normalize(name: str) -> str:
    """The comparable form of a package name (PEP 503): lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str | None:
    """The package a requirement line names; None when it only applies to an extra."""
    spec, _, marker = requirement.partition(";")
    if "extra" in marker:
        return None
    match = _NAME.match(spec)
    return match.group(1) if match else None


def licence_from_fields(expression: str | None, licence: str | None,
                        classifiers: Sequence[str]) -> tuple[str, str] | None:
    """Pick a licence from metadata fields: ``(licence, source)``, or None when none says.

    A ``License`` field holding a whole licence text is reduced to its first line when that line
    is short; ``UNKNOWN`` counts as nothing.
    """
    if expression and expression.strip():
        return expression.strip(), "License-Expression"
    if licence:
        lines = [line.strip() for line in licence.strip().splitlines() if line.strip()]
        first = lines[0] if lines else ""
        if first and first.upper() != "UNKNOWN" and len(first) <= _MAX_LICENCE_FIELD:
            return first, "License"
    names = [c.split("::")[-1].strip() for c in classifiers if c.startswith("License ::")]
    names = [n for n in names if n and n != "OSI Approved"]
    if names:
        return " / ".join(dict.fromkeys(names)), "classifiers"
    return None


def _field(meta: metadata.PackageMetadata, key: str) -> str | None:
    values = meta.get_all(key) or []
    return str(values[0]) if values else None


def _describe(name: str, required_by: str | None) -> DependencyLicence:
    try:
        meta = metadata.metadata(name)
    except metadata.PackageNotFoundError:
        fallback = FALLBACK_LICENCES.get(normalize(name))
        return DependencyLicence(name, None, fallback or "unknown",
                                 "rigready's table" if fallback else "unknown", required_by)
    shown = _field(meta, "Name") or name
    found = licence_from_fields(_field(meta, "License-Expression"), _field(meta, "License"),
                                [str(c) for c in meta.get_all("Classifier") or []])
    if found is None:
        fallback = FALLBACK_LICENCES.get(normalize(name))
        found = (fallback, "rigready's table") if fallback else ("unknown", "unknown")
    return DependencyLicence(shown, _field(meta, "Version"), found[0], found[1], required_by)


def _requirements(name: str) -> list[str]:
    try:
        lines = metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []
    return [n for n in (requirement_name(line) for line in lines) if n is not None]


def dependency_licences(root: str = DISTRIBUTION) -> tuple[DependencyLicence, ...]:
    """Every runtime dependency of ``root`` (direct first, then what they need), with licences.

    Extras (test tools) are left out. When ``root`` itself is not installed, its direct
    dependencies are taken from :data:`FALLBACK_LICENCES`.
    """
    try:
        metadata.distribution(root)
        direct = _requirements(root)
    except metadata.PackageNotFoundError:
        direct = list(FALLBACK_LICENCES)
    queue: list[tuple[str, str | None]] = [(name, None) for name in direct]
    seen = {normalize(root)}
    out: list[DependencyLicence] = []
    while queue:
        name, parent = queue.pop(0)
        if normalize(name) in seen:
            continue
        seen.add(normalize(name))
        entry = _describe(name, parent)
        out.append(entry)
        if entry.version is not None:
            queue.extend((child, entry.name) for child in _requirements(name))
    return tuple(out)


def catalog_file_dates(paths: Iterable[Path], builtin_dir: Path = BUILTIN_DATA_DIR,
                       ) -> tuple[CatalogFileDate, ...]:
    """The ``[meta] updated`` date of each catalog file (read with tomllib, not validated)."""
    out: list[CatalogFileDate] = []
    for path in paths:
        try:
            with path.open("rb") as handle:
                meta = tomllib.load(handle).get("meta", {})
            value = meta.get("updated") if isinstance(meta, dict) else None
        except (OSError, tomllib.TOMLDecodeError):
            value = None
        updated = value if isinstance(value, date) else None
        out.append(CatalogFileDate(path.stem, updated, path.parent == builtin_dir))
    return tuple(out)


def _loaded(context: AppContext | None) -> Catalog | None:
    if context is None:
        return None
    try:
        return context.catalog()
    except CatalogError:
        return None


def _data_folder(context: AppContext | None) -> Path:
    """The folder the built-in entries came from: a data pack's, or the shipped one."""
    pack = active_pack() if context is not None else None
    return pack.folder if pack is not None else BUILTIN_DATA_DIR


def catalog_paths(context: AppContext | None) -> list[Path]:
    """The files the app's catalog was read from (the built-in ones if it cannot load)."""
    if context is not None:
        try:
            return [Path(p) for p in context.catalog().files]
        except CatalogError:
            pass
    return sorted(BUILTIN_DATA_DIR.glob("*.toml"))


def price_summary(catalog: Catalog | None, on: date | None = None) -> str:
    """What is true about the catalog's prices: their date range, how many are past the
    catalog's age limits, and how many are the user's own ("" without a catalog)."""
    if catalog is None:
        return ""
    view = PriceView(on or today(), tuple(catalog.price_policies))
    entries: list[Any] = [*catalog.gpus, *catalog.cpus, *catalog.ram_kits, *catalog.drives,
                          *catalog.psus, *catalog.cloud_offers]
    prices = [p for p in (price_of(e) for e in entries) if p is not None]
    dated = [p.date for p in prices if p.date is not None]
    if not dated:
        return "no prices"
    old = sum(1 for p in prices if view.warning(p))
    yours = sum(1 for p in prices if p.yours)
    text = (f"{len(prices)} prices dated {min(dated).isoformat()} to {max(dated).isoformat()}; "
            f"{old} older than the catalog's limits (each price shows its date)")
    return text + (f"; {yours} of yours" if yours else "")


def _catalog_html(dates: Sequence[CatalogFileDate], catalog: Catalog | None = None) -> str:
    known = [d.updated for d in dates if d.updated is not None]
    newest = max(known).isoformat() if known else "unknown"
    parts = []
    for entry in dates:
        when = entry.updated.isoformat() if entry.updated else "date unreadable"
        mine = "" if entry.builtin else " (yours)"
        parts.append(f"{html.escape(entry.name)}{mine} {when}")
    pack = (f"data pack {html.escape(catalog.pack)} (rigready catalog update)"
            if catalog is not None and catalog.pack else "the data shipped with this version "
            "(no newer data pack installed)")
    prices = price_summary(catalog)
    return (f"<b>Catalog</b> files last edited {newest}, from {pack}"
            + (f"<br>{html.escape(prices)}" if prices else "")
            + f"<br><small>{' · '.join(parts)}</small>")


class AboutDialog(QDialog):
    """What this rigready is: version, catalog dates, folders and third-party licences."""

    def __init__(self, context: AppContext | None = None, parent: QWidget | None = None,
                 licences: Sequence[DependencyLicence] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About rigready")
        self.setMinimumSize(640, 560)
        self.version = app_version()
        self.licences = tuple(licences) if licences is not None else dependency_licences()
        self.catalog_dates = catalog_file_dates(catalog_paths(context), _data_folder(context))

        icon = QLabel()
        icon.setPixmap(QIcon(str(ICON_PATH)).pixmap(72, 72))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.title = QLabel(f"<h2>rigready {html.escape(self.version)}</h2>"
                            f"<p>{html.escape(DESCRIPTION)}</p>"
                            "<p>rigready is free software under the MIT licence.</p>")
        self.title.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(icon)
        header.addWidget(self.title, 1)

        self.catalog_label = QLabel(_catalog_html(self.catalog_dates, _loaded(context)))
        self.catalog_label.setWordWrap(True)
        logs = current_log_file() or log_file_path()
        folders = (("Settings", config_dir()), ("Data", data_dir()), ("Log file", logs))
        self.folders_label = QLabel("<br>".join(
            f"<b>{name}</b> {html.escape(str(path))}" for name, path in folders))
        self.folders_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.runtime_label = QLabel(
            f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version}")

        self.table = self._licence_table()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.catalog_label)
        layout.addWidget(self.folders_label)
        layout.addWidget(self.runtime_label)
        layout.addWidget(QLabel("<b>Third-party packages</b> (licences from their metadata)"))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def _licence_table(self) -> QTableWidget:
        rows = [*self.licences,
                DependencyLicence("Python", platform.python_version(), "PSF-2.0", "built in"),
                DependencyLicence("Qt", qVersion(), "LGPL-3.0-only", "built in", "PySide6")]
        table = QTableWidget(len(rows), 4)
        table.setHorizontalHeaderLabels(["Package", "Version", "Licence", "Needed by"])
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, entry in enumerate(rows):
            cells = (entry.name, entry.version or "not installed", entry.licence,
                     entry.required_by or "rigready")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"source: {entry.source}" if column == 2 else text)
                table.setItem(row, column, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        return table
