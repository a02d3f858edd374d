"""The results of the Benchmarks page: per run a heading, a bar for each measured figure against
what the catalog expects (coloured by the comparison's verdict) and its notes."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from rigready.assess.bench.compare import Comparison
from rigready.assess.bench.cpu_gemm import CpuGemmResult
from rigready.assess.bench.gpu_gemm import GpuGemmResult
from rigready.assess.bench.records import result_label
from rigready.assess.bench.storage import StorageResult
from rigready.desktop.theme import BAD, GOOD, MUTED, WARN, current_theme
from rigready.desktop.usecases.bench import Outcome

_VERDICT_COLOUR = {"healthy": GOOD, "below": WARN, "investigate": BAD, "unknown": MUTED}


class ResultBar(QWidget):
    """Label, a bar of measured/expected and the figures as text.

    A figure with nothing to compare it with (a storage test's MB/s) has no bar: an empty
    track labelled "no expectation" read as a failed 0 % (issue 23, item 9). Its figures take
    the bar's place.
    """

    def __init__(self, title: str, fraction: float | None, text: str, verdict: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel(title)
        self.title.setMinimumWidth(150)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setValue(round(min(1.0, fraction or 0.0) * 1000))
        self.bar.setTextVisible(True)
        self.bar.setFormat("" if fraction is None else f"{fraction:.0%}")
        colour = _VERDICT_COLOUR.get(verdict, MUTED)[current_theme()]
        self.bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        self.text = QLabel(text)
        self.text.setWordWrap(True)
        row.addWidget(self.title)
        if fraction is None:
            self.bar.setVisible(False)
            row.addWidget(self.text, 3)
        else:
            row.addWidget(self.bar, 1)
            row.addWidget(self.text, 2)


def result_bars(o: Outcome) -> list[ResultBar]:
    """One bar per measured figure of ``o`` against what the catalog expects (storage: the
    four tests, then the drive class)."""
    r = o.result
    compared = {c.subject: c for c in o.comparisons}
    bars: list[ResultBar] = []
    if isinstance(r, CpuGemmResult | GpuGemmResult):
        prefix = "CPU " if isinstance(r, CpuGemmResult) else ""
        for m in r.measurements:
            c: Comparison | None = compared.get(f"{prefix}{m.dtype} GEMM")
            unit, value = ("GFLOP/s", m.gflops) if prefix else (
                "TOPS" if m.dtype == "int8" else "TFLOP/s", m.tflops)
            text = f"{value:,.1f} {unit}" + (
                f" of {m.peak_gflops / (1 if prefix else 1000):,.1f} expected"
                if m.peak_gflops else "")
            if c is not None and c.verdict != "unknown":
                text += f" — {c.verdict}"
            bars.append(ResultBar(f"{prefix or 'GPU '}{m.dtype} (n={m.n})",
                                  m.fraction_of_peak, text,
                                  c.verdict if c else "unknown"))
        if isinstance(r, GpuGemmResult) and r.message:
            bars.append(ResultBar("GPU", None, r.message, "unknown"))
    elif isinstance(r, StorageResult):
        for t in r.results:
            bars.append(ResultBar(f"{t.test} {t.operation}", None,
                                  f"{t.mb_s:,.1f} MB/s, {t.iops:,.0f} IOPS, "
                                  f"{t.latency_us:,.0f} µs", "unknown"))
        for c in o.comparisons:
            bars.append(ResultBar("Drive class", c.fraction, c.sentence, c.verdict))
    return bars


class ResultsList(QWidget):
    """The runs shown on the page, one after another (a placeholder when there are none)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def show_outcomes(self, outcomes: list[Outcome]) -> None:
        """Replace what is shown with these outcomes."""
        while self._layout.count():
            item = self._layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for o in outcomes:
            heading = QLabel(result_label(o.result))
            heading.setStyleSheet("font-weight: 600;")
            heading.setWordWrap(True)
            self._layout.addWidget(heading)
            for bar in result_bars(o):
                self._layout.addWidget(bar)
            for line in (*o.notes, *o.result.warnings):
                note = QLabel(f"• {line}")
                note.setWordWrap(True)
                note.setStyleSheet(f"color: {MUTED[current_theme()]};")
                self._layout.addWidget(note)
        if not outcomes:
            placeholder = QLabel(
                "No results yet: tick the benchmarks above and press Start. This PC's "
                "latest saved results show here too.")
            placeholder.setObjectName("results-placeholder")
            placeholder.setWordWrap(True)
            placeholder.setStyleSheet(f"color: {MUTED[current_theme()]};")
            self._layout.addWidget(placeholder)
        self._layout.addStretch(1)
