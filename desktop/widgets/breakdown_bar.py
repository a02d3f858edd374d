"""A stacked horizontal bar of a memory breakdown against the GPU's VRAM line (QPainter)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: One colour per part, in the order of MemoryBreakdown.parts().
PART_COLOURS = {
    "context": "#94a3b8", "weights": "#2563eb", "gradients": "#7c3aed", "optimizer": "#db2777",
    "activations": "#ea580c", "logits": "#ca8a04", "kv_cache": "#0d9488", "reserve": "#cbd5e1",
}
GIB = 1024**3


class BreakdownBar(QWidget):
    """Draws ``parts`` (name -> bytes) left to right, a vertical line at ``vram`` bytes and a
    marker above the bar at ``need``, the least memory free the job needs (the parts add up to
    what nvidia-smi shows on a roomy card; on a smaller card PyTorch gives back its cache)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parts: dict[str, int] = {}
        self.vram: int | None = None
        self.need: int | None = None
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: D102 - Qt override
        return QSize(480, 72)

    def set_data(self, parts: dict[str, int], vram: int | None,
                 need: int | None = None) -> None:
        """Show new figures (repaints once); ``need``: the least memory free the job needs
        (None: no marker)."""
        self.parts = {k: max(0, v) for k, v in parts.items()}
        self.vram = vram
        total = sum(self.parts.values())
        self.need = need if need is not None and 0 < need < total - 0.05 * GIB else None
        tip = [f"{k.replace('_', ' ')}: {v / GIB:.2f} GiB" for k, v in self.parts.items() if v]
        tip.append(f"total: {total / GIB:.2f} GiB (as nvidia-smi shows on a larger card)")
        if self.need is not None:
            tip.append(f"needs free: {self.need / GIB:.2f} GiB (the least a card must have)")
        if vram:
            tip.append(f"VRAM: {vram / GIB:.1f} GiB")
        self.setToolTip("\n".join(tip))
        self.update()

    def segments(self) -> list[tuple[str, float, float]]:
        """(name, x, width) of each drawn segment, in widget pixels."""
        total = sum(self.parts.values())
        scale_max = max(total, self.vram or 0) or 1
        usable = max(1.0, self.width() - 16.0)
        x = 8.0
        out = []
        for name, value in self.parts.items():
            w = usable * value / scale_max
            if w > 0:
                out.append((name, x, w))
            x += w
        return out

    def vram_x(self) -> float | None:
        """Where the VRAM line is drawn."""
        if not self.vram:
            return None
        scale_max = max(sum(self.parts.values()), self.vram) or 1
        return 8.0 + max(1.0, self.width() - 16.0) * self.vram / scale_max

    def need_x(self) -> float | None:
        """Where the "needs free" marker is drawn (None: no marker)."""
        if self.need is None:
            return None
        scale_max = max(sum(self.parts.values()), self.vram or 0) or 1
        return 8.0 + max(1.0, self.width() - 16.0) * self.need / scale_max

    def need_label_rect(self) -> QRectF | None:
        """Where "needs X free" goes: above the bar, beside its marker."""
        mark = self.need_x()
        if mark is None or self.need is None:
            return None
        width = self.fontMetrics().horizontalAdvance(self.need_label()) + 2
        left = mark + 4 if mark + 4 + width <= self.width() else mark - 4 - width
        return QRectF(max(0.0, left), 0.0, width, 13.0)

    def need_label(self) -> str:
        """The text beside the "needs free" marker."""
        return f"needs {self.need / GIB:.1f} free" if self.need is not None else ""

    def vram_label(self) -> str:
        """The text beside the VRAM line."""
        return f"VRAM {self.vram / GIB:.0f} GiB" if self.vram else ""

    def vram_label_rect(self) -> QRectF | None:
        """Where the VRAM label goes: under the bar, beside the line (right of it when there is
        room, else left), so the line never crosses its own text."""
        line = self.vram_x()
        if line is None:
            return None
        width = self.fontMetrics().horizontalAdvance(self.vram_label()) + 2
        left = line + 5 if line + 5 + width <= self.width() else line - 5 - width
        return QRectF(max(0.0, left), self.height() - 14.0, width, 14.0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: D102 - Qt override
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        top, height = 14.0, self.height() - 28.0
        for name, x, w in self.segments():
            painter.fillRect(QRectF(x, top, w, height), QColor(PART_COLOURS.get(name, "#888")))
        line = self.vram_x()
        if line is not None:
            pen = QPen(self.palette().text().color())
            pen.setWidth(2)
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(int(line), 4, int(line), int(top + height + 2))
            rect = self.vram_label_rect()
            if rect is not None:
                painter.drawText(rect, Qt.AlignmentFlag.AlignVCenter, self.vram_label())
        mark = self.need_x()
        need_rect = self.need_label_rect()
        if mark is not None and need_rect is not None:
            pen = QPen(self.palette().text().color())
            pen.setWidth(2)
            painter.setPen(pen)
            painter.drawLine(int(mark), 2, int(mark), int(top + height * 0.5))
            painter.drawText(need_rect, Qt.AlignmentFlag.AlignVCenter, self.need_label())
        painter.end()
