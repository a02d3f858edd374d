"""The model list of the "Can I run it?" page: the catalog's models, filtered as the user types
by the same words the name resolver compares."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from rigready.assess.names import normalize_name

#: Item data role holding a catalog model's search words.
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1


def search_key(text: str) -> str:
    """Text as the name resolver compares it, joined: "Llama-3.1 8B" -> "llama3.18b"."""
    return "".join(normalize_name(text))


def fill_models(model_list: QListWidget, catalog: Any | None) -> None:
    """A row per catalog model (its id in ``UserRole``), with the words the filter compares."""
    for entry in getattr(catalog, "models", ()):
        item = QListWidgetItem(f"{entry.name}  ({entry.params / 1e9:.2f}B)")
        item.setToolTip(item.text())  # the whole name where the list is narrow
        item.setData(Qt.ItemDataRole.UserRole, entry.id)
        # what the filter compares: the resolver's words of the name, id and repo
        item.setData(SEARCH_ROLE, search_key(f"{item.text()} {entry.id} "
                                             f"{getattr(entry, 'hf_repo', '') or ''}"))
        model_list.addItem(item)


def visible_items(model_list: QListWidget) -> list[QListWidgetItem]:
    """The rows the filter leaves shown."""
    rows = (model_list.item(i) for i in range(model_list.count()))
    return [item for item in rows if item is not None and not item.isHidden()]


def filter_models(model_list: QListWidget, text: str) -> bool:
    """Hide the rows ``text`` does not match; whether something was typed and nothing
    matches (the page then drops its answer)."""
    needle = text.lower().strip()
    key = search_key(text)
    for i in range(model_list.count()):
        item = model_list.item(i)
        item.setHidden(bool(needle) and needle not in item.text().lower()
                       and key not in str(item.data(SEARCH_ROLE)))
    return bool(needle) and not visible_items(model_list)


def clear_selection(model_list: QListWidget) -> None:
    """No row current or selected, without telling the page."""
    model_list.blockSignals(True)
    model_list.setCurrentRow(-1)
    model_list.clearSelection()
    model_list.blockSignals(False)
