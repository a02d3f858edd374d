"""The "Readiness" page: the tier ladder with this PC on it, the component tiers, the 0-100
score and a verdict per AI task with its reason and fix."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Slot,
)
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from assess.hardware import RigProfile
from assess.score import COMPONENT_NAMES, Readiness, TaskVerdict, assess_readiness
from assess.score_tasks import VERDICTS, Verdict
from catalog import Catalog, CatalogError
from desktop.commands.score import measured_for
from desktop.context import AppContext
from desktop.theme import ACCENT, BAD, GOOD, MUTED, PAGE_TITLE_STYLE, WARN, current_theme
from desktop.widgets.card import Card

_Index = QModelIndex | QPersistentModelIndex
_SEVERITY = {"not ready": 0, "unknown": 1, "limited": 2, "ready": 3}


def verdict_colour(verdict: Verdict) -> str:
    """The theme colour of a verdict: green ready, amber limited, red not ready, grey unknown."""
    palette = {"ready": GOOD, "limited": WARN, "not ready": BAD, "unknown": MUTED}[verdict]
    return palette[current_theme()]


class TaskTableModel(QAbstractTableModel):
    """One row per AI task: task, verdict (coloured), reason, fix. Sortable by any column."""

    HEADERS = ("Task", "Verdict", "Why", "Smallest fix")

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[TaskVerdict] = []

    def set_verdicts(self, verdicts: tuple[TaskVerdict, ...]) -> None:
        """Replace every row."""
        self.beginResetModel()
        self._rows = list(verdicts)
        self.endResetModel()

    def verdict_at(self, row: int) -> TaskVerdict:
        """The verdict shown in ``row``."""
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """One row per task."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        """Task, verdict, why, fix."""
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Column titles."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Text, the verdict's colour and weight, and every check as the tooltip."""
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.task, row.verdict, row.reason, row.fix or "—")[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QColor(verdict_colour(row.verdict))
        if role == Qt.ItemDataRole.FontRole and col == 1:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(row.reasons)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column; the verdict column sorts by severity, worst first."""
        def key(t: TaskVerdict) -> tuple[int, str]:
            if column == 1:
                return (_SEVERITY[t.verdict], t.task)
            return (0, (t.task, t.verdict, t.reason, t.fix)[column].lower())

        self.layoutAboutToBeChanged.emit()
        self._rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


class TierLadder(QFrame):
    """The tiers top to bottom, "below entry" last; this PC's row is highlighted."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("ladder")
        self.setStyleSheet("QFrame#ladder { border: 1px solid palette(mid); border-radius: 10px;"
                           " background: palette(base); }")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 10, 12, 10)
        self._layout.setSpacing(4)
        title = QLabel("Tier ladder")
        title.setStyleSheet("font-size: 16px; font-weight: 600;")
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
            budget = ""
            if low is not None:
                budget = f"  ${low:,.0f}" + (f"–{high:,.0f}" if high else "+")
            text = f"{rank}  {name}{budget}"
            if parts:
                text += f"\n     {', '.join(parts)}"
            here = rank == result.overall_rank
            if here:
                text = "▶ " + text + "   ← this PC"
            label = QLabel(text)
            label.setWordWrap(True)
            if here:
                label.setStyleSheet(f"border: 2px solid {ACCENT[theme]}; border-radius: 6px;"
                                    " padding: 6px; font-weight: 600;")
            else:
                label.setStyleSheet(f"padding: 6px; color: {MUTED[theme] if not parts else ''};")
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
        title = QLabel("Readiness")
        title.setStyleSheet(PAGE_TITLE_STYLE)
        header.addWidget(title)
        header.addStretch(1)
        self.score_label = QLabel("")
        self.score_label.setStyleSheet("font-size: 28px; font-weight: 700;")
        header.addWidget(self.score_label)
        layout.addLayout(header)
        self.summary = QLabel("No profile yet: detect this PC or open a saved profile.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.weakest = QLabel("")
        self.weakest.setWordWrap(True)
        self.weakest.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.weakest)

        top = QHBoxLayout()
        self.ladder = TierLadder()
        self.ladder.setMinimumWidth(260)
        top.addWidget(self.ladder)
        self._cards_host = QWidget()
        self._cards = QGridLayout(self._cards_host)
        self._cards.setContentsMargins(0, 0, 0, 0)
        self._cards.setSpacing(10)
        top.addWidget(self._cards_host, 1)
        layout.addLayout(top)
        self.component_cards: dict[str, Card] = {}

        self.counts = QLabel("")
        self.counts.setStyleSheet("font-weight: 600;")
        layout.addWidget(self.counts)
        self.model = TaskTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(True)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 240)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # worst verdicts first
        layout.addWidget(self.table, 1)
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(f"color: {MUTED[current_theme()]};")
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.notes)

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
            self.summary.setStyleSheet(f"color: {BAD[current_theme()]};")
            self.model.set_verdicts(())
            return
        self.summary.setStyleSheet("")
        measured = measured_for(profile, self.context.database_path)
        self.show_result(assess_readiness(profile, catalog, measured), catalog)

    def show_result(self, result: Readiness, catalog: Catalog) -> None:
        """Fill every part of the page from an assessment."""
        self.result = result
        self.score_label.setText(f"{result.score} / 100")
        self.score_label.setToolTip("\n".join(
            f"{p.name}: {p.points:.1f} of {p.max_points:g} ({p.detail})"
            for p in result.score_parts))
        self.summary.setText(f"Overall tier: {result.overall_tier_name} · AI-readiness score "
                             f"{result.score} of 100 (hover the score for its parts)")
        if result.weakest:
            names = ", ".join(COMPONENT_NAMES[c] for c in result.weakest)
            self.weakest.setText(f"Weakest link: {names}. To lift it: {result.lift or '—'}")
        else:
            self.weakest.setText("Every known component is at the top tier.")
        self.ladder.show_ladder(catalog, result)
        self._show_components(result)
        counts = {v: sum(t.verdict == v for t in result.tasks) for v in VERDICTS}
        self.counts.setText("AI tasks: " + " · ".join(
            f"<span style='color:{verdict_colour(v)}'>{counts[v]} {v}</span>" for v in VERDICTS))
        self.model.set_verdicts(result.tasks)
        head = self.table.horizontalHeader()
        self.model.sort(head.sortIndicatorSection(), head.sortIndicatorOrder())
        self.table.resizeRowsToContents()
        self.notes.setText("\n".join(f"• {r}" for r in result.reasons))

    def _show_components(self, result: Readiness) -> None:
        for card in self.component_cards.values():
            self._cards.removeWidget(card)
            card.deleteLater()
        self.component_cards = {}
        for i, comp in enumerate(result.components):
            card = Card(COMPONENT_NAMES[comp.component], comp.tier_name)
            card.add_row("Has", comp.summary)
            card.add_row("To lift it", comp.lift or "already at the top tier")
            card.setToolTip("\n".join(comp.reasons))
            self._cards.addWidget(card, i // 2, i % 2)
            self.component_cards[comp.component] = card
