"""One upgrade plan as a card: why it is shown, what to buy, the total, the goal after the
upgrade, and every compatibility check as a pass / fail / check badge."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from rigready.assess.plan import Plan
from rigready.assess.plan.result import verdict_text
from rigready.catalog.money import PriceView, view_or_usd
from rigready.desktop.theme import ACCENT, BAD, GOOD, MUTED, WARN, current_theme

STATUS_LABEL = {"pass": "pass", "fail": "fail", "unverified": "check"}
#: Why a check got its badge, for the badge's tooltip.
STATUS_REASON = {"pass": "pass: checked against this PC's known facts",
                 "fail": "fail: this part does not work in this PC as it is",
                 "unverified": "check: rigready cannot read this fact; confirm it yourself"}
#: Why the planner shows a plan, one short phrase per label (assess.plan.planner picks them).
LABEL_REASON = {"cheapest": "the lowest total that reaches the goal",
                "best value": "the most speed per dollar",
                "best within budget": "the fastest plan within your budget",
                "nearest": "nothing reaches the goal within your budget; this is the cheapest "
                           "that does",
                "does not reach the goal": "shown only to say what stops it: do not buy it",
                "no upgrade needed": "this PC already reaches the goal",
                "tight fit": "this PC reaches the goal, with little memory to spare"}


def label_reasons(labels: tuple[str, ...]) -> str:
    """Why a plan has its labels: the reason alone for one label (the label is just above
    it), ``cheapest: the lowest total ...; best value: ...`` for several."""
    reasons = [LABEL_REASON.get(label, "chosen by the planner") for label in labels]
    if len(labels) == 1:
        return reasons[0][:1].upper() + reasons[0][1:]
    return "; ".join(f"{label}: {reason}" for label, reason in zip(labels, reasons, strict=True))


def status_colour(status: str) -> str:
    """Green pass, red fail, amber unverified (in the current theme)."""
    palette = {"pass": GOOD, "fail": BAD, "unverified": WARN}.get(status, MUTED)
    return palette[current_theme()]


def verdict_colour(verdict: str, reached: bool) -> str:
    """Green when the goal is reached, amber for tight or offload, red otherwise."""
    theme = current_theme()
    if reached:
        return (WARN if verdict == "tight" else GOOD)[theme]
    return (WARN if verdict == "offload" else BAD)[theme]


def _badge(text: str, colour: str) -> QLabel:
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet(f"background: {colour}; color: white; border-radius: 8px;"
                        " padding: 1px 7px; font-size: 11px; font-weight: 600;")
    label.setFixedHeight(18)
    return label


class PlanCard(QFrame):
    """A plan, laid out to be compared side by side with others.

    Every part shows its price kind and "as of DATE" (amber when older than the catalog's
    limit); "I found it for…" under each part emits :attr:`price_found` with its catalog id.
    """

    #: (catalog id, part name): the user wants to enter the price they found.
    price_found = Signal(str, str)

    def __init__(self, plan: Plan, parent: QWidget | None = None,
                 view: PriceView | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.view = view_or_usd(view)
        theme = current_theme()
        self.setObjectName("plancard")
        edge = ACCENT[theme] if "best within budget" in plan.labels else "palette(mid)"
        self.setStyleSheet(f"QFrame#plancard {{ border: 1px solid {edge}; border-radius: 10px;"
                           " background: palette(base); }")
        self.setMinimumWidth(300)
        box = QVBoxLayout(self)
        box.setContentsMargins(14, 12, 14, 12)
        box.setSpacing(6)
        self.labels_label = QLabel(" · ".join(plan.labels).upper())
        self.labels_label.setStyleSheet(f"color: {ACCENT[theme]}; font-size: 11px;"
                                        " font-weight: 700; letter-spacing: 1px;")
        box.addWidget(self.labels_label)
        self.reason_label = QLabel(label_reasons(plan.labels))
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet(f"color: {MUTED[theme]}; font-size: 11px;")
        self.reason_label.setVisible(bool(plan.labels))
        box.addWidget(self.reason_label)
        self.title_label = QLabel(plan.title)
        self.title_label.setWordWrap(True)
        self.title_label.setStyleSheet("font-size: 15px; font-weight: 600;")
        box.addWidget(self.title_label)
        over = (f"  <span style='color:{BAD[theme]}; font-size:12px'>"
                f"${plan.over_budget_usd:,.0f} over budget</span>" if plan.over_budget_usd else "")
        self.total_label = QLabel(f"<span style='font-size:22px; font-weight:700'>"
                                  f"{escape(self.view.money(plan.total_usd))}</span>{over}")
        box.addWidget(self.total_label)
        self.items_label = QLabel(self._items_html())
        self.items_label.setWordWrap(True)
        self.items_label.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.items_label)
        self.found_buttons: list[QPushButton] = []
        for item in plan.items:
            found = QPushButton(f"I found the {item.label or item.kind} for…")
            found.setFlat(True)
            found.setStyleSheet(f"color: {ACCENT[theme]}; font-size: 11px; text-align: left;")
            found.setToolTip(f"Enter the price you found for {item.name}; plans use it from "
                             "now on, marked 'your price'")
            found.clicked.connect(lambda _=False, i=item: self.price_found.emit(i.catalog_id,
                                                                               i.name))
            box.addWidget(found)
            self.found_buttons.append(found)
        a = plan.after
        sizes = (f" — {a.total_gib:.1f} of {a.vram_gib:.1f} GiB"
                 if a.total_gib is not None and a.vram_gib is not None else "")
        speed = f", {a.tokens_per_s:,.0f} tok/s" if a.tokens_per_s else ""
        self.after_label = QLabel(f"After: <b style='color:{verdict_colour(a.verdict, a.reached)}'>"
                                  f"{escape(verdict_text(a.verdict))}</b>{sizes}{speed}")
        self.after_label.setWordWrap(True)
        box.addWidget(self.after_label)
        if plan.viable and plan.items:  # "Your PC as it is" has nothing to buy
            ready = ("<b>Ready to buy</b>" if plan.ready_to_buy else
                     "<b>Not ready to buy</b> — check first: "
                     + escape(", ".join(c.name for c in plan.risks)))
            colour = (GOOD if plan.ready_to_buy else WARN)[theme]
            self.ready_label = QLabel(f"<span style='color:{colour}'>{ready}</span>")
            self.ready_label.setWordWrap(True)
            box.addWidget(self.ready_label)
        if plan.verified_goal:
            goal = QLabel(f"Re-verified against: {escape(plan.verified_goal)}")
            goal.setWordWrap(True)
            goal.setStyleSheet(f"color: {MUTED[theme]}; font-size: 11px;")
            box.addWidget(goal)
        if plan.break_even_hours is not None:
            be = QLabel(f"Buying beats renting after {plan.break_even_hours:,.0f} h of use")
            be.setStyleSheet(f"color: {MUTED[theme]}; font-size: 12px;")
            box.addWidget(be)
        self.check_badges: list[tuple[str, str, QLabel]] = []
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(5)
        grid.setColumnStretch(1, 1)
        for row, check in enumerate(plan.checks):
            badge = _badge(STATUS_LABEL[check.status], status_colour(check.status))
            badge.setFixedWidth(54)
            badge.setToolTip(STATUS_REASON.get(check.status, check.status))
            text = QLabel(f"<b>{escape(check.name)}</b>: {escape(check.detail)}")
            text.setWordWrap(True)
            text.setStyleSheet("font-size: 11px;")
            text.setToolTip(check.detail)
            grid.addWidget(badge, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(text, row, 1)
            self.check_badges.append((check.name, check.status, badge))
        box.addLayout(grid)
        box.addStretch(1)

    def _items_html(self) -> str:
        if not self.plan.items:
            return f"<i style='color:{MUTED[current_theme()]}'>nothing to buy</i>"
        theme = current_theme()
        rows = []
        for item in self.plan.items:
            warn = self.view.warning(item.price)
            colour = WARN[theme] if warn else MUTED[theme]
            note = f"<br>⚠ {escape(warn)}" if warn else ""
            rows.append(f"<tr><td style='padding-right:8px'>{escape(item.name)}<br>"
                        f"<span style='color:{colour}; font-size:11px'>"
                        f"{item.kind}, {escape(self.view.label(item.price))}{note}</span></td>"
                        f"<td align='right'><b>{escape(self.view.money(item.price_usd))}</b>"
                        "</td></tr>")
        return f"<table width='100%'>{''.join(rows)}</table>"

    def check_rows(self) -> list[tuple[str, str]]:
        """(check name, status) of every check shown (for tests)."""
        return [(name, status) for name, status, _ in self.check_badges]
