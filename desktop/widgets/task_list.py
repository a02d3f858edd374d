"""The Readiness page's AI tasks: one line per task with a verdict chip, sortable and filterable,
and a detail pane with the why and the fix of the selected task."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QFont, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from rigready.assess.score import TaskVerdict
from rigready.assess.score_tasks import VERDICTS, Verdict
from rigready.desktop.theme import BAD, GOOD, MUTED, WARN, current_theme

_Index = QModelIndex | QPersistentModelIndex
#: Worst first when sorted ascending by verdict.
SEVERITY = {"not ready": 0, "unknown": 1, "limited": 2, "ready": 3}
#: The filter choices above the list: label, verdicts shown.
FILTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("All tasks", VERDICTS),
    ("Not ready or limited", ("not ready", "limited")),
    *((v.capitalize(), (v,)) for v in VERDICTS),
)
VERDICT_COLUMN = 1
#: From this width on, the detail pane goes beside the list.
WIDE_PX = 1250
#: Task rows the list shows at least: on a short window (1024x640) the detail pane moves beside
#: the list rather than leave fewer rows than this under it.
MIN_ROWS = 8


def verdict_colour(verdict: Verdict | str) -> str:
    """The theme colour of a verdict: green ready, amber limited, red not ready, grey unknown."""
    palette = {"ready": GOOD, "limited": WARN, "not ready": BAD}.get(verdict, MUTED)
    return palette[current_theme()]


class TaskTableModel(QAbstractTableModel):
    """One row per AI task: task, verdict, why, fix (the list shows the first two)."""

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
        """The verdict in model row ``row``."""
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
        """Text, the verdict's colour, a sort key, and every check as the tooltip."""
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.task, row.verdict, row.reason, row.fix or "—")[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == VERDICT_COLUMN:
            return QColor(verdict_colour(row.verdict))
        if role == Qt.ItemDataRole.UserRole:  # sort key: worst verdict first, then the name
            if col == VERDICT_COLUMN:
                return f"{SEVERITY[row.verdict]}{row.task.lower()}"
            return str((row.task, row.verdict, row.reason, row.fix)[col]).lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(row.reasons)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the rows themselves (the list sorts through its proxy)."""
        def key(t: TaskVerdict) -> tuple[int, str]:
            if column == VERDICT_COLUMN:
                return (SEVERITY[t.verdict], t.task)
            return (0, (t.task, t.verdict, t.reason, t.fix)[column].lower())

        self.layoutAboutToBeChanged.emit()
        self._rows.sort(key=key, reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()


class TaskFilter(QSortFilterProxyModel):
    """Shows the tasks whose verdict is chosen and whose name or texts contain the search."""

    def __init__(self) -> None:
        super().__init__()
        self.verdicts: tuple[str, ...] = VERDICTS
        self.needle = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filter(self, verdicts: tuple[str, ...], needle: str) -> None:
        """Apply a verdict filter and a search text."""
        begin = getattr(self, "beginFilterChange", None)  # Qt 6.10+; older: invalidate
        if callable(begin):
            begin()
        self.verdicts, self.needle = verdicts, needle.strip().lower()
        if callable(begin):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        """Verdict chosen and search text found in the task, why or fix."""
        model = self.sourceModel()
        if not isinstance(model, TaskTableModel):
            return True
        row = model.verdict_at(source_row)
        if row.verdict not in self.verdicts:
            return False
        return not self.needle or any(self.needle in text.lower()
                                      for text in (row.task, row.reason, row.fix))


class VerdictChip(QStyledItemDelegate):
    """Paints a verdict as a rounded chip in its colour with the word in white."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        """The selection background, then the chip."""
        self.initStyleOption(option, index)
        style = option.widget.style() if option.widget is not None else None
        text = str(index.data() or "")
        option.text = ""
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter,
                              option.widget)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(option.font)
        font.setBold(True)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.9))
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(text) + 16
        height = painter.fontMetrics().height() + 4
        rect = QRectF(option.rect.x() + 6, option.rect.center().y() - height / 2 + 1,
                      width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(verdict_colour(text)))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(QColor("#ffffff" if current_theme() == "light" else "#111316"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:
        """Room for the widest verdict word (rows stay compact: eight fit at 1024x640)."""
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width(), 110), hint.height() + 2)


class TaskDetail(QFrame):
    """The selected task: name, verdict, why, the smallest fix and every check."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("taskdetail")
        self.setStyleSheet("QFrame#taskdetail { border: 1px solid palette(mid);"
                           " border-radius: 10px; background: palette(base); }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        self.body = QLabel("Select a task to see why and what would fix it.")
        self.body.setWordWrap(True)
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.body)
        layout.addWidget(scroll)
        self.task: TaskVerdict | None = None

    def show_task(self, task: TaskVerdict | None) -> None:
        """Fill the pane for ``task`` (a hint when none is selected)."""
        self.task = task
        if task is None:
            self.body.setText("Select a task to see why and what would fix it.")
            return
        colour = verdict_colour(task.verdict)
        muted = MUTED[current_theme()]
        checks = "".join(f"<li>{escape(r)}</li>" for r in task.reasons)
        fix = escape(task.fix) if task.fix else "Nothing: it is ready."
        self.body.setText(
            f"<b>{escape(task.task)}</b> — <span style='color:{colour}; font-weight:700'>"
            f"{escape(task.verdict)}</span><br><b>Why:</b> {escape(task.reason)}<br>"
            f"<b>Fix:</b> {fix}<p style='color:{muted}; margin-top:6px'>Every check:</p>"
            f"<ul style='color:{muted}; margin-top:0'>{checks}</ul>")

    def retheme(self, _theme: str) -> None:
        """Re-render the colours for a new theme."""
        self.show_task(self.task)


class TaskList(QWidget):
    """Filter row, the task list (verdict chip and task name) and the detail pane."""

    #: The task shown in the detail pane (None when the selection is cleared).
    selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.counts = QLabel("")
        self.counts.setStyleSheet("font-weight: 600;")
        bar.addWidget(self.counts, 1)
        self.verdict_filter = QComboBox()
        for label, _verdicts in FILTERS:
            self.verdict_filter.addItem(label)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter tasks")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(220)
        bar.addWidget(self.verdict_filter)
        bar.addWidget(self.search)
        layout.addLayout(bar)
        self.model = TaskTableModel()
        self.proxy = TaskFilter()
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        # the style's default row (30 px) left three rows at 1024x640: a chip and a line of text
        # need the font's height and a few pixels
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 9)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setItemDelegateForColumn(VERDICT_COLUMN, VerdictChip(self.table))
        head = self.table.horizontalHeader()
        head.moveSection(VERDICT_COLUMN, 0)  # the chip first, the name after it
        head.setSectionResizeMode(VERDICT_COLUMN, QHeaderView.ResizeMode.Fixed)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(VERDICT_COLUMN, 112)
        for hidden in (2, 3):
            self.table.setColumnHidden(hidden, True)
        self.table.sortByColumn(VERDICT_COLUMN, Qt.SortOrder.AscendingOrder)  # worst first
        self.detail = TaskDetail()
        # The detail pane sits under the list (full-width task names, why and fix in two or
        # three lines); beside it once the window is wide (see resizeEvent).
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        # room for the name, the why and the fix without scrolling at 1024x640 (it showed three
        # lines there, and "Fix:" needed a scroll)
        self.detail.setMinimumHeight(120)
        layout.addWidget(self.splitter, 1)
        self.verdict_filter.currentIndexChanged.connect(self._refilter)
        self.search.textChanged.connect(self._refilter)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Detail beside the list when there is room for both, or when under it would leave
        fewer than :data:`MIN_ROWS` rows; under it otherwise."""
        super().resizeEvent(event)
        wide = self.width() >= WIDE_PX
        wanted = (Qt.Orientation.Horizontal if wide or self._rows_if_stacked() < MIN_ROWS
                  else Qt.Orientation.Vertical)
        if self.splitter.orientation() != wanted:
            self.splitter.setOrientation(wanted)
            if wanted == Qt.Orientation.Horizontal:  # the why and fix need room to read
                width = max(1, self.splitter.width())
                self.splitter.setSizes([width * 56 // 100, width * 44 // 100])

    def _rows_if_stacked(self) -> int:
        """How many rows the list would show with the detail pane under it."""
        row = max(1, self.table.verticalHeader().defaultSectionSize())
        header = self.table.horizontalHeader().sizeHint().height()
        room = (self.splitter.height() - self.detail.minimumHeight()
                - self.splitter.handleWidth() - header - 2 * self.table.frameWidth())
        return room // row

    def set_verdicts(self, verdicts: tuple[TaskVerdict, ...]) -> None:
        """Show these tasks, keep the filter, and select the first (worst) one."""
        selected = self.detail.task.task_id if self.detail.task else None
        self.model.set_verdicts(verdicts)
        counts = {v: sum(t.verdict == v for t in verdicts) for v in VERDICTS}
        self.counts.setText("AI tasks: " + " · ".join(
            f"<span style='color:{verdict_colour(v)}'>{counts[v]} {v}</span>" for v in VERDICTS)
            if verdicts else "")
        self._select(selected)

    def _select(self, task_id: str | None) -> None:
        rows = [self.proxy.mapToSource(self.proxy.index(r, 0)).row()
                for r in range(self.proxy.rowCount())]
        ids = [self.model.verdict_at(r).task_id for r in rows]
        row = ids.index(task_id) if task_id in ids else 0
        if rows:
            self.table.selectRow(row)
            self.table.setCurrentIndex(self.proxy.index(row, 0))
        else:
            self.detail.show_task(None)

    @Slot()
    def _refilter(self, *_args: object) -> None:
        _label, verdicts = FILTERS[max(0, self.verdict_filter.currentIndex())]
        self.proxy.set_filter(verdicts, self.search.text())
        self._select(self.detail.task.task_id if self.detail.task else None)

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        task = (self.model.verdict_at(self.proxy.mapToSource(current).row())
                if current.isValid() else None)
        self.detail.show_task(task)
        self.selected.emit(task)

    def visible_tasks(self) -> list[TaskVerdict]:
        """The tasks the list shows, in its order (for tests)."""
        return [self.model.verdict_at(self.proxy.mapToSource(self.proxy.index(r, 0)).row())
                for r in range(self.proxy.rowCount())]
