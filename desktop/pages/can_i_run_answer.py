"""The answer half of the "Can I run it?" page: the verdict, memory against VRAM, the "Measure on
this GPU" row and the details (reasons, what to change, time and energy, how it was worked out).

It shows an :class:`~rigready.assess.estimate.Estimate` (Transformers), a
:class:`~rigready.assess.estimate.language.llamacpp.LlamaCppPlan` (llama.cpp) or an error; the
words the CLI says the same way come from :mod:`rigready.desktop.usecases.answers`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from rigready.assess.estimate import Estimate, speed_lines
from rigready.assess.estimate.answer import Answer
from rigready.assess.estimate.estimator import assumptions, error_band
from rigready.assess.estimate.language.llamacpp import LlamaCppPlan
from rigready.desktop.pages.can_i_run_gguf import STATUS_TONE, plan_head, plan_lines
from rigready.desktop.theme import BAD, GOOD, MUTED, WARN, current_theme
from rigready.desktop.usecases.answers import FirstLine, limits_text
from rigready.desktop.widgets.breakdown_bar import GIB, PART_COLOURS, BreakdownBar
from rigready.desktop.widgets.measure_bar import MeasureBar

VERDICT_TEXT = {"fits": "Fits", "tight": "Tight fit", "offload": "Only with CPU offload",
                "no": "Does not fit"}
_VERDICT_STYLE = "font-size: 18px; font-weight: 600;"
_FIRST_STYLE = "font-size: 14px; font-weight: 600;"


class AnswerPanel:
    """The answer's widgets in one :class:`QVBoxLayout` (``layout``), which the page places."""

    def __init__(self) -> None:
        box = QVBoxLayout()
        self.layout = box
        #: The first line of the answer, the CLI's: yes or no for this card and the route that
        #: works (:func:`rigready.desktop.usecases.answers.first_line`).
        self.first = QLabel()
        self.first.setWordWrap(True)
        self.first.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.first)
        #: The breakdown's head: the verdict and the least memory free the job needs, with
        #: what nvidia-smi shows on a larger card beside it.
        self.verdict = QLabel()
        self.verdict.setStyleSheet(_VERDICT_STYLE)
        self.verdict.setWordWrap(True)
        box.addWidget(self.verdict)
        self.bar = BreakdownBar()
        box.addWidget(self.bar)
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.legend)
        #: A button per candidate when the GPU typed names no single GPU.
        self.choices = QWidget()
        QVBoxLayout(self.choices).setContentsMargins(0, 0, 0, 0)
        self.choices.setVisible(False)
        self.choice_buttons: list[QPushButton] = []
        box.addWidget(self.choices)
        self.measure_bar = MeasureBar()
        box.addWidget(self.measure_bar)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.details)
        box.addWidget(scroll, 1)

    def _head(self, text: str, colour: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"{_VERDICT_STYLE} color: {colour};")

    def _first(self, answer: Answer | None) -> None:
        """The first line (hidden when there is none: an error, a look-up under way)."""
        self.first.setVisible(answer is not None)
        if answer is None:
            self.first.setText("")
            return
        tone = {"yes": GOOD, "tight": WARN, "slow": WARN, "no": BAD}.get(answer.status, MUTED)
        self.first.setText(answer.sentence)
        self.first.setStyleSheet(f"{_FIRST_STYLE} color: {tone[current_theme()]};")

    def show_error(self, message: str, title: str = "Cannot estimate") -> None:
        """No answer: ``title`` in the verdict's place, ``message`` below it."""
        self._clear_choices()
        self._first(None)
        self.legend.setText("")
        self._head(title, BAD[current_theme()])
        self.details.setText(message)
        self.bar.set_data({}, None)
        self.bar.setVisible(False)  # an empty track is no answer: the message comes first
        self.measure_bar.set_available(False, "")

    def show_choices(self, title: str, message: str, labels: Sequence[str],
                     on_pick: Callable[[int], None]) -> None:
        """No answer until one of ``labels`` is picked: a button each (``on_pick`` gets its
        position), ``title`` and ``message`` as :meth:`show_waiting` shows them."""
        self.show_waiting(title, message)
        layout = self.choices.layout()
        assert layout is not None
        for i, label in enumerate(labels):
            button = QPushButton(label)
            button.clicked.connect(lambda _checked=False, at=i: on_pick(at))
            layout.addWidget(button)
            self.choice_buttons.append(button)
        self.choices.setVisible(bool(self.choice_buttons))

    def _clear_choices(self) -> None:
        layout = self.choices.layout()
        assert layout is not None
        for button in self.choice_buttons:
            layout.removeWidget(button)
            button.deleteLater()
        self.choice_buttons = []
        self.choices.setVisible(False)

    def show_waiting(self, title: str, message: str) -> None:
        """No answer yet, and nothing wrong: a look-up under way, a choice to make. ``title`` in
        the verdict's place (muted, not red), ``message`` below it; the old answer is gone."""
        self._clear_choices()
        self._first(None)
        self.legend.setText("")
        self._head(title, MUTED[current_theme()])
        self.details.setText(message)
        self.bar.set_data({}, None)
        self.bar.setVisible(False)  # an empty track is no answer: the message comes first
        self.measure_bar.set_available(False, "")

    def show_plan(self, p: LlamaCppPlan, first: Answer | None = None) -> None:
        """The llama.cpp answer: where the layers go and how fast it decodes (``first``: the
        first line, the CLI's for ``--runtime llama.cpp``)."""
        self._clear_choices()
        self._first(first)
        parts = dict(p.gpu_parts)
        self.bar.set_data(parts, p.gpu.vram_bytes if p.gpu else None)
        self.bar.setVisible(True)
        self.legend.setText(" ".join(
            f"<span style='color:{PART_COLOURS[k]}'>■</span> {k.replace('_', ' ')} "
            f"{v / GIB:.1f}" for k, v in parts.items() if v))
        tone = {"good": GOOD, "warn": WARN, "bad": BAD, "muted": MUTED}[STATUS_TONE[p.status]]
        self._head(plan_head(p), tone[current_theme()])
        self.details.setText("\n".join(plan_lines(p)))

    def show_estimate(self, est: Estimate, cpu: tuple[str, str] | None,
                      first: FirstLine | None = None) -> None:
        """The estimator's answer; ``cpu``: the CPU's (status, sentence) when the PC has no
        GPU (:func:`rigready.desktop.usecases.answers.cpu_answer`), else None; ``first``: the
        first line (it also says when the GPU's memory was not read)."""
        theme = current_theme()
        self._clear_choices()
        self._first(first.answer if first is not None else None)
        m = est.memory
        self.bar.set_data(m.parts(), est.gpu.vram_bytes if est.gpu else None,
                          m.needs_free_bytes)
        self.bar.setVisible(True)
        # each swatch stays with its name: breaks only fall between items
        self.legend.setText(" &nbsp; ".join(
            f"<span style='white-space:nowrap'><span style='color:{PART_COLOURS[k]}'>■</span>"
            f"&nbsp;{k.replace('_', '&nbsp;')}&nbsp;{v / GIB:.1f}</span>"
            for k, v in m.parts().items() if v) + " &nbsp;GiB")
        status: str | None = est.verdict.status if est.verdict else None
        if cpu is not None:
            status = cpu[0]
        colour = {"fits": GOOD, "tight": WARN, "offload": WARN, "no": BAD}.get(status or "",
                                                                             MUTED)[theme]
        if cpu is not None:
            if est.workload.resolved_precision in ("int8", "nf4"):
                head = "No: 4-bit and 8-bit need a GPU"
            else:
                words = {"fits": "Yes, on the CPU", "tight": "Yes, on the CPU (tight)",
                         "no": "No, not on this PC"}.get(cpu[0], "Unknown")
                head = f"{words}: needs {m.allocated / GIB:.1f} GiB of RAM"
        else:
            unread = first is not None and first.unread_gpu
            what = "Memory not read" if unread else VERDICT_TEXT.get(status or "",
                                                                      "No GPU chosen")
            head = f"{what}: needs {m.needs_free_bytes / GIB:.1f} GiB free"
            if m.total - m.needs_free_bytes >= 0.05 * GIB:  # the two figures differ: say both
                head += (f"<br><span style='font-size:12px; font-weight:400'>nvidia-smi shows "
                         f"up to {m.total / GIB:.1f} GiB on a larger card</span>")
        self._head(head, colour)
        self.details.setText("\n".join(details_lines(est, cpu)))


def details_lines(est: Estimate, cpu: tuple[str, str] | None) -> list[str]:
    """The details below the bar: the verdict's reasons (or the CPU's answer), the limits, what
    the figure assumes, what to change, time and energy, host needs and how."""
    lines = [f"• {cpu[1]}"] if cpu is not None else []
    if est.verdict:
        lines += [f"• {r}" for r in est.verdict.reasons]
        lines.append(f"• {limits_text(est)}")
    a = assumptions(est.workload, est.shape.kind, est.shape.head, est.shape.family)
    lines.append(f"• Assumes {a['stack']}: {a['recipe']}; {a['runtime']}. Measured error "
                 f"band {error_band(est.workload, est.shape.kind, est.shape.family):.0%}.")
    if est.suggestions:
        lines.append("\nTo make it fit:")
        lines += [f"  – {s.change} (needs {(s.needs_free_bytes or s.total_bytes) / GIB:.1f} "
                  f"GiB free, {s.status})" for s in est.suggestions]
    t = est.timing
    lines.append("\nTime and energy" + (f" ({t.runtime})" if t.runtime else "") + ":")
    if est.verdict is not None and est.verdict.status == "no":  # as the CLI says it
        lines.append("  not estimated: the job does not fit this card")
    else:
        lines += [f"  {line}" for line in speed_lines(est)]
    if t.hours is not None:
        energy = (f", {t.energy_kwh:,.1f} kWh, {t.cost_usd:,.2f} USD"
                  if t.energy_kwh is not None and t.cost_usd is not None else "")
        lines.append(f"  {t.hours:,.1f} h for the dataset{energy}")
    lines.append(f"\nSystem RAM {est.host.ram_bytes / GIB:.1f} GiB, disk "
                 f"{est.host.disk_bytes / GIB:.1f} GiB")
    lines.append("\nHow:")
    lines += [f"  {r}" for r in (*est.reasons, *est.timing.reasons)]
    return lines
