"""The exchange-rate note under converted prices: which rate, its date, and whether it is old.

The CLI and the shopping list print :meth:`rigready.catalog.money.PriceView.notes` once under an
answer; this label shows the same lines on a page. It is hidden when prices are in USD (no note),
muted when the rate is within the catalog's limit, and amber with a ⚠ when it is older, like a stale
price on a plan card.
"""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QLabel, QWidget

from rigready.catalog.money import PriceView
from rigready.desktop.theme import MUTED, WARN, current_theme


class RateNote(QLabel):
    """Small text saying how the prices on the page were converted (or why they were not)."""

    def __init__(self, parent: QWidget | None = None, *, compact: bool = False) -> None:
        """``compact``: one line (:meth:`PriceView.short_note`), the whole note in the tooltip,
        for a page where every line of height counts."""
        super().__init__(parent)
        self.compact = compact
        self.setObjectName("rate_note")
        self.setWordWrap(True)
        self.hide()

    def show_view(self, view: PriceView | None) -> None:
        """Show ``view``'s notes; hide when there are none (USD, or nothing priced)."""
        notes = view.notes() if view is not None else []
        if not notes:
            self.setText("")
            self.hide()
            return
        old = bool(view and view.rate_warning())
        colour = (WARN if old else MUTED)[current_theme()]
        mark = "⚠ " if old else ""
        shown = [view.short_note()] if self.compact and view is not None else notes
        self.setText(f"<span style='color:{colour}; font-size:11px'>{mark}"
                     + "<br>".join(escape(n) for n in shown) + "</span>")
        self.setToolTip("\n".join(notes))
        self.show()
