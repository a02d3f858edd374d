"""The "Upgrade wizard" page: goal -> constraints -> plans side by side -> buy or rent.

Planning is pure and quick (a few milliseconds, ``benchmarks/plan_speed.py``), so it runs on the
GUI thread whenever a goal, constraint or the profile changes; ``last_plan_ms`` records the time.
Plans can be exported as a Markdown shopping list.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.estimate import EstimateError
from rigready.assess.hardware import RigProfile
from rigready.assess.plan import (
    FactsError,
    PlanError,
    PlanResult,
    plan_upgrades,
    shopping_list_markdown,
)
from rigready.assess.plan.live import (
    LiveOffers,
    fetch_live_offers,
    online_enabled,
    set_online,
    with_offers,
)
from rigready.assess.plan.result import verdict_text
from rigready.assess.plan.verdicts import gpu_words
from rigready.catalog.money import PriceView, today
from rigready.catalog.overrides import parse_price, set_price
from rigready.catalog.userfiles import UserFileError, write_user_file
from rigready.desktop.theme import BAD, GOOD, MUTED, WARN, current_theme, page_title
from rigready.desktop.widgets.card_grid import CardGrid, discard
from rigready.desktop.widgets.plan_card import PlanCard
from rigready.desktop.widgets.rate_note import RateNote
from rigready.desktop.widgets.rent_step import RentStep
from rigready.desktop.widgets.step_bar import StepBar
from rigready.desktop.widgets.upgrade_steps import ConstraintsStep, GoalStep
from rigready.desktop.worker import GeneratorWorker

STEPS = ("Goal", "Constraints", "Plans", "Buy or rent")
PLANS_STEP = 2
_STATUS_COLOUR = {"no upgrade needed": GOOD, "a setting reaches the goal": GOOD, "ok": GOOD,
                  "nothing within budget": WARN, "tight fit": WARN,
                  "blocked": BAD, "no plan reaches the goal": BAD}


def _tight(result: PlanResult) -> bool:
    """A yes only inside the estimate's error band (as it is, or with the setting offered):
    amber, never a plain green."""
    return result.status == "tight fit" or (result.status == "a setting reaches the goal"
                                            and bool(result.settings)
                                            and result.settings[0].verdict != "fits")


def _check_first(result: PlanResult) -> bool:
    """The cheapest plan reaches the goal but is "Not ready to buy until you check…": amber, as
    its card is, not a green headline above an amber card."""
    first = result.plans[0] if result.plans else None
    return first is not None and first.viable and not first.ready_to_buy


class UpgradePage(QWidget):
    """The upgrade wizard."""

    def __init__(self, context: Any, parent: QWidget | None = None,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        super().__init__(parent)
        self.context = context
        self.clock = clock
        self.result: PlanResult | None = None
        self.error: str | None = None
        self.last_plan_ms = 0.0
        self.cards: list[PlanCard] = []
        self._dialog: QFileDialog | None = None
        self.price_dialog: QInputDialog | None = None
        self.view = PriceView(today())
        self.live: LiveOffers | None = None
        self.live_worker: GeneratorWorker | None = None
        settings = getattr(context, "settings", None) or QSettings()
        catalog = self._catalog()
        root = QVBoxLayout(self)
        head = QHBoxLayout()
        title = page_title("Upgrade wizard")
        head.addWidget(title)
        head.addSpacing(16)
        self.steps = StepBar(STEPS)
        self.steps.step_clicked.connect(self.go_to)
        head.addWidget(self.steps, 1)
        root.addLayout(head)
        self.stack = QStackedWidget()
        self.goal_step = GoalStep(catalog, settings)
        self.constraints_step = ConstraintsStep(settings)
        self.stack.addWidget(self.goal_step)
        self.stack.addWidget(self.constraints_step)
        self.stack.addWidget(self._build_plans())
        self.rent_step = RentStep(online_enabled())
        self.rent_step.live_box.toggled.connect(self.set_live)
        self.stack.addWidget(self.rent_step)
        root.addWidget(self.stack, 1)
        foot = QHBoxLayout()
        self.back_button = QPushButton("‹ Back")
        self.back_button.clicked.connect(lambda: self.go_to(self.stack.currentIndex() - 1))
        self.next_button = QPushButton("Next ›")
        self.next_button.clicked.connect(lambda: self.go_to(self.stack.currentIndex() + 1))
        self.export_button = QPushButton("Export shopping list…")
        self.export_button.clicked.connect(self.export_markdown)
        self.status_label = QLabel()
        self.status_label.setStyleSheet(f"color: {MUTED[current_theme()]};")
        foot.addWidget(self.back_button)
        foot.addWidget(self.next_button)
        foot.addSpacing(12)
        foot.addWidget(self.status_label, 1)
        foot.addWidget(self.export_button)
        root.addLayout(foot)
        self.goal_step.changed.connect(self.recompute)
        self.constraints_step.changed.connect(self.recompute)
        signal = getattr(context, "profile_changed", None)
        if signal is not None:
            signal.connect(self._on_profile)
        self.go_to(0)
        if getattr(context, "profile", None) is not None:
            self._on_profile(context.profile)
        else:
            self.recompute()  # says it waits for the hardware

    # ------------------------------------------------------------------ building
    def _build_plans(self) -> QWidget:
        page = QWidget()
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 0, 0, 0)
        self.goal_label = QLabel()
        self.goal_label.setWordWrap(True)
        self.goal_label.setStyleSheet("font-size: 13px;")
        box.addWidget(self.goal_label)
        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        box.addWidget(self.summary_label)
        self.assumptions_label = QLabel()
        self.assumptions_label.setWordWrap(True)
        self.assumptions_label.setStyleSheet(f"color: {MUTED[current_theme()]}; font-size: 11px;")
        box.addWidget(self.assumptions_label)
        self.rate_note = RateNote()  # the exchange rate the prices were converted at
        box.addWidget(self.rate_note)
        # the cards wrap to rows as the width requires (three in a row needed a horizontal
        # scroll bar at 1024x640): the page scrolls down only
        self.card_grid = CardGrid(spacing=12, max_columns=3)
        self.plans_scroll = QScrollArea()
        self.plans_scroll.setWidgetResizable(True)
        self.plans_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.plans_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.plans_scroll.setWidget(self.card_grid)
        box.addWidget(self.plans_scroll, 1)
        self.advice_hint = QLabel()
        self.advice_hint.setWordWrap(True)
        self.advice_hint.setStyleSheet("font-size: 13px; padding-top: 4px;")
        box.addWidget(self.advice_hint)
        return page

    # ------------------------------------------------------------------ navigation
    @Slot(int)
    def go_to(self, index: int) -> None:
        """Show wizard step ``index`` (0 goal, 1 constraints, 2 plans, 3 buy or rent)."""
        index = max(0, min(index, len(STEPS) - 1))
        self.stack.setCurrentIndex(index)
        self.steps.set_current(index)
        self.back_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(STEPS) - 1)

    @property
    def step(self) -> int:
        """The step shown."""
        return self.stack.currentIndex()

    # ------------------------------------------------------------------ data
    def _catalog(self) -> Any | None:
        try:
            return self.context.catalog()
        except Exception:  # noqa: BLE001 - a broken catalog shows as an error, not a crash
            return None

    @Slot(object)
    def _on_profile(self, _profile: RigProfile) -> None:
        # A wizard starts at its first step: the plans are one Next away, already computed.
        self.recompute()

    @Slot()
    def recompute(self) -> None:
        """Plan again for the current goal, constraints and profile; refresh every step."""
        profile = getattr(self.context, "profile", None)
        catalog = self._catalog()
        if profile is None or catalog is None:
            self._show_error("Waiting for this PC's hardware…" if profile is None
                             else "The catalog could not be loaded.")
            return
        start = time.perf_counter()
        self.view = PriceView.from_catalog(catalog)
        if self.rent_step.live_box.isChecked():
            if self.live is None:
                self._fetch_live(catalog)
            else:
                catalog = with_offers(catalog, self.live.offers)
        try:
            self.constraints_step.connectors_error.setText("")
            self.constraints_step.connectors_error.hide()
            goal = self.goal_step.goal()
            facts = self.constraints_step.facts()
            self.result = plan_upgrades(profile, goal, self.constraints_step.budget.value(),
                                        facts, catalog, vendors=self.constraints_step.vendors(),
                                        view=self.view)
            self.last_plan_ms = (time.perf_counter() - start) * 1000
        except FactsError as exc:
            self.constraints_step.connectors_error.setText(
                f"<span style='color:{BAD[current_theme()]}'>{escape(exc.problem)}</span>")
            self.constraints_step.connectors_error.show()
            self._show_error(str(exc))
        except (EstimateError, PlanError, KeyError) as exc:
            self._show_error(str(exc))
        else:
            self.error = None
            self._show(self.result)

    def _show_error(self, message: str) -> None:
        self.error = message
        self.result = None
        self.summary_label.setText(f"<span style='color:{BAD[current_theme()]}'>"
                                   f"{escape(message)}</span>")
        self.goal_step.now_label.setText(escape(message))
        self._set_cards([])
        self.rate_note.show_view(None)
        self.advice_hint.setText("")
        self.export_button.setEnabled(False)

    def _show(self, result: PlanResult) -> None:
        theme = current_theme()
        now = result.now
        have = escape(gpu_words(now.gpu_name, now.vram_gib))
        need = f" — the goal needs {now.total_gib:.1f} GiB" if now.total_gib else ""
        state = (f"<b>{have}</b>" if now.verdict == "no GPU"
                 else f"{have}: <b>{escape(verdict_text(now.verdict))}</b>")
        now_text = f"This PC now: {state}{need}"
        self.goal_step.now_label.setText(now_text)
        budget = f" · budget ${result.budget_usd:,.0f}" if result.budget_usd is not None else ""
        self.goal_label.setText(f"<b>{escape(result.goal_label)}</b>{budget}<br>{now_text}")
        colour = (WARN if _tight(result) or _check_first(result)
                  else _STATUS_COLOUR.get(result.status, MUTED))[theme]
        # the answer's first sentence (the real reason first: a VM, a laptop), then the rest
        rest = result.summary[len(result.headline):].strip()
        self.summary_label.setText(f"<span style='font-size:15px; font-weight:600; "
                                   f"color:{colour}'>{escape(result.headline)}</span>"
                                   + (f"<br>{escape(rest)}" if rest else ""))
        self.assumptions_label.setText("Assumed: " + " · ".join(escape(a)
                                                                for a in result.assumptions))
        cards = [PlanCard(p, view=self.view) for p in result.plans]
        for card in cards:
            card.price_found.connect(self.ask_price)
        self._set_cards(cards)
        self.rate_note.show_view(self.view)
        self.rent_step.show_result(result, self.view, _tight(result))
        self.export_button.setEnabled(bool(result.plans))
        weighed = result.weighed
        self.status_label.setText(f"{weighed[:1].upper()}{weighed[1:]} in "
                                  f"{self.last_plan_ms:.0f} ms")
        self.advice_hint.setText(f"<b>Buy or rent:</b> {escape(result.rent.advice.text)}")

    def _set_cards(self, cards: list[PlanCard]) -> None:
        old = self.card_grid.cards
        self.card_grid.set_cards(list(cards))
        for widget in old:
            discard(widget)
        self.cards = cards

    # ------------------------------------------------------------------ live offers
    @Slot(bool)
    def set_live(self, enabled: bool) -> None:
        """Turn live cloud offers on or off (remembered for the CLI too) and plan again."""
        try:
            set_online(enabled)
        except OSError as exc:
            self.rent_step.live_label.setText(f"Setting not saved: {exc.strerror or exc}")
        if not enabled:
            self.live = None
            self.rent_step.live_label.setText("")
        self.recompute()

    def _fetch_live(self, catalog: Any) -> None:
        """Fetch live offers off the GUI thread (a few seconds at most); plan again when done."""
        if self.live_worker is not None and self.live_worker.running:
            return

        def job() -> Any:
            yield "fetching"
            return fetch_live_offers(catalog)

        self.rent_step.live_label.setText("Fetching live offers…")
        worker = GeneratorWorker(job, self)
        worker.finished.connect(self._live_done)
        worker.errored.connect(
            lambda msg: self.rent_step.live_label.setText(f"Live offers failed: {msg}"))
        self.live_worker = worker
        worker.start()

    @Slot(object)
    def _live_done(self, live: LiveOffers) -> None:
        self.live = live
        self.rent_step.live_label.setText(f"Live cloud offers: {live.note}")
        if self.rent_step.live_box.isChecked():
            self.recompute()

    # ------------------------------------------------------------------ your prices
    @Slot(str, str)
    def ask_price(self, part_id: str, name: str) -> None:
        """Ask for the price the user found for one part (non-blocking dialog)."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("I found it for…")
        dialog.setLabelText(f"The price you found for {name}, in USD (today's date is kept "
                            "with it; plans show it as 'your price'):")
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.textValueSelected.connect(lambda text: self.save_price(part_id, text))
        self.price_dialog = dialog
        dialog.open()

    def save_price(self, part_id: str, text: str) -> bool:
        """Record the user's price and plan again; False (and a message) when it is refused."""
        try:
            value = parse_price(text)
            set_price(part_id, value, today=today(), source="your price (entered in the window)")
        except (ValueError, KeyError, OSError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            self.status_label.setText(f"Price not saved: {message}")
            return False
        reload = getattr(self.context, "reload_catalog", None)
        if reload is not None:
            reload()
        self.recompute()
        self.status_label.setText(f"Your price for {part_id} saved: {self.view.money(value)}")
        return True

    # ------------------------------------------------------------------ export
    @Slot()
    def export_markdown(self) -> None:
        """Ask where to save the shopping list (non-blocking dialog)."""
        if self.result is None:
            return
        dialog = QFileDialog(self, "Export shopping list", "rigready-shopping-list.md",
                             "Markdown (*.md)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("md")
        dialog.fileSelected.connect(lambda path: self.write_shopping_list(Path(path)))
        self._dialog = dialog
        dialog.open()

    def write_shopping_list(self, path: Path) -> bool:
        """Write the current plans as Markdown to ``path``; False (and a message) on failure."""
        if self.result is None:
            return False
        profile = getattr(self.context, "profile", None)
        origin = getattr(profile, "origin", "this PC")
        made = (f"Made by rigready on {self.clock():%Y-%m-%d %H:%M} for "
                f"{'this PC' if origin == 'detected' else origin}.")
        try:  # the save dialog already asked before replacing a file
            write_user_file(path, shopping_list_markdown(self.result, generated=made,
                                                         view=self.view), force=True)
        except UserFileError as exc:
            self.status_label.setText(f"Could not save the shopping list: {exc}")
            return False
        self.status_label.setText(f"Shopping list saved to {path}")
        return True
