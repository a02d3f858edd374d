"""The upgrade wizard's last step, "Buy or rent": the advice in plain words, the live-offers
switch, the cheapest cloud offer that fits and when buying pays off (one card each)."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from rigready.assess.plan import PlanResult
from rigready.assess.plan.export import rent_notes
from rigready.catalog.money import PriceView
from rigready.desktop.theme import ACCENT, GOOD, MUTED, WARN, current_theme
from rigready.desktop.widgets.card import Card
from rigready.desktop.widgets.card_grid import discard
from rigready.desktop.widgets.rate_note import RateNote


class RentStep(QWidget):
    """Step 4 of the upgrade wizard; the page owns the live offers (``live_box`` toggles them)."""

    def __init__(self, live_checked: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        self.advice_label = QLabel()
        self.advice_label.setWordWrap(True)
        self.advice_label.setStyleSheet("font-size: 17px; font-weight: 600; padding: 6px 0;")
        box.addWidget(self.advice_label)
        self.live_box = QCheckBox("Live cloud offers from Vast.ai (needs VAST_API_KEY; "
                                  "off: the catalog's dated offers)")
        self.live_box.setChecked(live_checked)
        box.addWidget(self.live_box)
        self.live_label = QLabel()
        self.live_label.setWordWrap(True)
        self.live_label.setStyleSheet(f"color: {MUTED[current_theme()]}; font-size: 11px;")
        box.addWidget(self.live_label)
        self.rate_note = RateNote()
        box.addWidget(self.rate_note)
        self.row = QHBoxLayout()
        self.row.setSpacing(12)
        box.addLayout(self.row)
        box.addStretch(1)
        self.offer_card: Card | None = None
        self.break_even_card: Card | None = None

    def show_result(self, result: PlanResult, view: PriceView, tight: bool) -> None:
        """Show the advice and the two cards of ``result`` (amber when the fit is ``tight``)."""
        theme = current_theme()
        advice = result.rent.advice
        colour = {"buy": ACCENT, "rent": ACCENT, "use your PC": GOOD}.get(advice.choice, WARN)
        if tight:
            colour = WARN
        self.advice_label.setText(f"<span style='color:{colour[theme]}'>"
                                  f"{escape(advice.text)}</span>")
        self.rate_note.show_view(view)
        for card in (self.offer_card, self.break_even_card):
            if card is not None:
                self.row.removeWidget(card)
                discard(card)
        self.offer_card = self._offer_card(result, view)
        self.break_even_card = self._break_even_card(result, view)
        self.row.addWidget(self.offer_card, 1)
        self.row.addWidget(self.break_even_card, 1)

    @staticmethod
    def _unit(result: PlanResult) -> str:
        return "1,000,000 queries" if result.inference else "One run"

    def _offer_card(self, result: PlanResult, view: PriceView) -> Card:
        offer = result.rent.offer
        if offer is None:
            return Card("Renting", "no cloud offer in the catalog fits this goal")
        card = Card("Cheapest cloud offer that fits", offer.name)
        card.add_row("Price", view.money(offer.usd_per_hour, per_hour=True), offer.price_source)
        card.add_row("As of", view.label(offer.price)
                     + (f" — {w}" if (w := view.warning(offer.price)) else ""))
        card.add_row("GPU", f"{offer.gpu_count}x {offer.gpu_name}")
        hours = (f"{offer.run_hours:,.1f} h, {view.money(offer.run_cost_usd)}"
                 if offer.run_hours is not None and offer.run_cost_usd is not None else None)
        card.add_row(self._unit(result), hours)
        for reason in rent_notes(result.rent, view):
            card.add_row("Note", reason)
        return card

    def _break_even_card(self, result: PlanResult, view: PriceView) -> Card:
        card = Card("When buying pays off", f"at {result.facts.hours:g} h of use a week")
        unit = self._unit(result)
        for plan in result.plans:
            if not plan.items:
                continue
            be = plan.break_even_hours
            if be is None:
                text = ("never (renting is cheaper per hour)" if result.rent.offer
                        else "no offer to compare")
            else:
                weeks = be / result.facts.hours if result.facts.hours else float("inf")
                text = f"after {be:,.0f} h (about {weeks:,.0f} weeks)"
            card.add_row(f"{plan.title} ({view.money(plan.total_usd, whole=True)})", text)
            if plan.run_cost_usd is not None:
                card.add_row(f"  {unit.lower()} at home",
                             f"{view.money(plan.run_cost_usd)} of electricity")
        return card
