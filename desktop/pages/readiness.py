"""The "Readiness" page: the answer first (score, tier, the weakest link in one sentence), the
tier ladder and the component tiers, then a verdict per AI task with its why and fix on demand."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.hardware import RigProfile
from rigready.assess.score import COMPONENT_NAMES, Readiness
from rigready.catalog import Catalog, CatalogError
from rigready.desktop.context import AppContext
from rigready.desktop.theme import ACCENT, BAD, MUTED, WARN, current_theme, page_title
from rigready.desktop.usecases.readiness import assess
from rigready.desktop.widgets.card import Card
from rigready.desktop.widgets.elided_label import ElidedLabel
from rigready.desktop.widgets.rate_note import RateNote
from rigready.desktop.widgets.task_list import TaskList, TaskTableModel, verdict_colour

__all__ = ["ReadinessPage", "TaskTableModel", "TierLadder", "verdict_colour"]
_SUMMARY_STYLE = "font-size: 15px; font-weight: 600;"

class TierLadder(QFrame):
    """The tiers top to bottom, "below entry" last; this PC's row is highlighted."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("ladder")
        self.setStyleSheet("QFrame#ladder { border: 1px solid palette(mid); border-radius: 10px;"
                           " background: palette(base); }")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(10, 8, 10, 8)
        self._layout.setSpacing(2)
        title = QLabel("Tier ladder")
        title.setStyleSheet("font-size: 14px; font-weight: 600;")
        self._layout.addWidget(title)
        #: The row labels by rank, for tests and screenshots.
        self.rows: dict[int, QLabel] = {}

    def show_ladder(self, catalog: Catalog, result: Readiness) -> None:
        """Rebuild the rows for ``result``."""
        for label in self.rows.values():
            self._layout.removeWidget(label)
            label.deleteLater()
        self.rows = {}
        theme = current_theme()
        ranks: list[tuple[int, str, float | None, float | None]] = [
            (t.rank, t.name, t.budget_min_usd, t.budget_max_usd)
                 for t in sorted(catalog.tiers, key=lambda t: -t.rank)]
        ranks.append((0, "Below entry", None, None))
        for rank, name, low, high in ranks:
            parts = [COMPONENT_NAMES[c.component] for c in result.components if c.rank == rank]
            here = rank == result.overall_rank
            text = f"{rank}  {name.split(' - ')[0]}"  # "Enthusiast", the full name in the tooltip
            if parts:
                text += f" · {', '.join(parts)}"
            if here:
                text += "  ← this PC"
            label = QLabel(text)
            label.setWordWrap(True)
            budget = ""
            if low is not None:
                budget = f" (${low:,.0f}" + (f"–{high:,.0f})" if high else "+)")
            label.setToolTip(f"{name}{budget}")
            if here:
                label.setStyleSheet(f"border: 2px solid {ACCENT[theme]}; border-radius: 6px;"
                                    " padding: 2px 6px; font-weight: 600;")
            else:
                muted = MUTED[theme] if not parts else ""
                label.setStyleSheet(f"padding: 2px 8px; color: {muted};")
            self.rows[rank] = label
            self._layout.addWidget(label)


class ReadinessPage(QWidget):
    """Where this PC stands and what it can do; follows ``context.profile_changed``."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.context = context
        self.result: Readiness | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 12)
        layout.setSpacing(10)
        header = QHBoxLayout()
        title = page_title("Readiness")
        header.addWidget(title)
        header.addStretch(1)
        self.score_label = QLabel("")
        self.score_label.setStyleSheet("font-size: 28px; font-weight: 700;")
        header.addWidget(self.score_label)
        layout.addLayout(header)
        self.summary = QLabel("No profile yet: detect this PC or open a saved profile.")
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet(_SUMMARY_STYLE)
        layout.addWidget(self.summary)
        self.weakest = QLabel("")
        self.weakest.setWordWrap(True)
        self.weakest.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.weakest)

        top = QHBoxLayout()
        self.ladder = TierLadder()
        self.ladder.setFixedWidth(250)
        top.addWidget(self.ladder, 0, Qt.AlignmentFlag.AlignTop)
        self._cards_host = QWidget()
        self._cards = QGridLayout(self._cards_host)
        self._cards.setContentsMargins(0, 0, 0, 0)
        self._cards.setSpacing(8)
        top.addWidget(self._cards_host, 1, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        self.component_cards: dict[str, Card] = {}

        self.tasks = TaskList()
        #: The list's parts, for tests and for pages that read them.
        self.model = self.tasks.model
        self.table = self.tasks.table
        self.counts = self.tasks.counts
        layout.addWidget(self.tasks, 1)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(f"color: {MUTED[current_theme()]};")
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes.setVisible(False)
        layout.addWidget(self.notes)
        #: The age of each old price the fixes name, said once for the whole page (never in
        #: every fix that names the card): one line, every warning in its tooltip.
        self.price_note = ElidedLabel("")
        self.price_note.setVisible(False)
        layout.addWidget(self.price_note)
        #: How the fixes' prices were converted (hidden in USD), as on the Upgrade page.
        self.rate_note = RateNote(compact=True)  # one line: the task list needs the height
        layout.addWidget(self.rate_note)

        context.profile_changed.connect(self.show_profile)
        if context.profile is not None:
            self.show_profile(context.profile)

    @Slot(object)
    def show_profile(self, profile: RigProfile) -> None:
        """Score ``profile`` against the catalog and show the result."""
        try:
            catalog = self.context.catalog()
        except CatalogError as exc:
            self.result = None
            self.score_label.setText("")
            self.summary.setText(f"The catalog could not be loaded: {exc}")
            self.summary.setStyleSheet(f"{_SUMMARY_STYLE} color: {BAD[current_theme()]};")
            self.tasks.set_verdicts(())
            return
        self.summary.setStyleSheet(_SUMMARY_STYLE)
        result, view = assess(profile, catalog, self.context.database_path)
        self.show_result(result, catalog)
        self.rate_note.show_view(view)

    @Slot()
    def measurements_changed(self) -> None:
        """Benchmark results were saved: score the shown profile again with them (a storage
        benchmark classes an unknown disk; a GPU benchmark replaces the catalog's speed)."""
        if self.context.profile is not None:
            self.show_profile(self.context.profile)

    def show_result(self, result: Readiness, catalog: Catalog) -> None:
        """Fill every part of the page from an assessment."""
        self.result = result
        self.score_label.setText(f"{result.score} / 100")
        self.score_label.setToolTip("\n".join(
            f"{p.name}: {p.points:.1f} of {p.max_points:g} ({p.detail})"
            for p in result.score_parts))
        self.summary.setText(f"Overall tier: {result.overall_text()}")
        self.summary.setToolTip("AI-readiness score " + str(result.score) + " of 100; hover the "
                                "score for its parts")
        self.weakest.setText(weakest_sentence(result))
        self.ladder.show_ladder(catalog, result)
        self._show_components(result)
        self.tasks.set_verdicts(result.tasks)
        self.notes.setText("How this is worked out: hover here, or see the README's "
                           "\u201cHow the readiness score works\u201d")
        self.notes.setToolTip("\n".join(f"• {r}" for r in result.reasons))
        self.notes.setVisible(bool(result.reasons))
        self._show_price_warnings(result.price_warnings)

    def _show_price_warnings(self, warnings: tuple[str, ...]) -> None:
        """One line for every old price the fixes name (each warning once, in the tooltip)."""
        self.price_note.setVisible(bool(warnings))
        self.price_note.set_full_text(
            f"Old prices in the fixes, check before you buy: {'; '.join(warnings)}"
            if warnings else "")
        self.price_note.setStyleSheet(f"color: {WARN[current_theme()]};")

    def _show_components(self, result: Readiness) -> None:
        for card in self.component_cards.values():
            self._cards.removeWidget(card)
            card.deleteLater()
        self.component_cards = {}
        for i, comp in enumerate(result.components):
            # "Enthusiast", not "Enthusiast - Serious Development": one line per card
            card = Card(COMPONENT_NAMES[comp.component], comp.tier_name.split(" - ")[0])
            card.compact(comp.summary)
            # the weakest link's lift is the sentence above; the others' in the tooltip
            card.setToolTip("\n".join([*comp.reasons,
                                       f"To lift it: {comp.lift or 'already at the top tier'}"]))
            self._cards.addWidget(card, i // 2, i % 2)
            self.component_cards[comp.component] = card


def weakest_sentence(result: Readiness) -> str:
    """The weakest link and what would lift it, as one sentence."""
    if not result.weakest:
        return "Every known component is at the top tier."
    names = " and ".join(COMPONENT_NAMES[c] for c in result.weakest)
    lift = result.lift.rstrip(".")
    if not lift:
        return f"Weakest link: {names}."
    return f"Weakest link: {names} — {lift}."
