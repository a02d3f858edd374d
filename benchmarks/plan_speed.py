"""How long one upgrade plan takes (the Upgrade wizard replans on the GUI thread on every change).

Prints the median, 95th percentile and maximum of ``plan_upgrades()`` over the five hobbyist
profiles and a spread of goals (workloads, tiers, tasks) and budgets, and, when PySide6 is
installed, of a full wizard update (plan plus redraw of the cards) offscreen.
Target: under 50 ms per update, else the page would have to plan on a worker thread.
"""

from __future__ import annotations

import os
import statistics
import time
from itertools import product
from pathlib import Path

from rigready.assess.estimate import Workload, resolve_model
from rigready.assess.plan import Goal, RigFacts, TaskGoal, TierGoal, WorkloadGoal, plan_upgrades
from rigready.assess.profile import load_profile
from rigready.catalog import default_catalog

HOBBY = Path(__file__).resolve().parents[1] / "tests" / "data" / "profiles" / "hobbyist"


def _summary(label: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[int(0.95 * (len(samples) - 1))]
    print(f"{label}: median {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms, "
          f"max {samples[-1]:.2f} ms over {len(samples)} runs")


def _goals() -> list[Goal]:
    cat = default_catalog()
    goals: list[Goal] = []
    for model, method in product(("llama-3.2-3b", "llama-3.1-8b", "qwen2.5-14b", "llama-3.1-70b"),
                                 ("inference", "lora", "qlora")):
        wl = Workload(method=method, checkpointing=method != "inference")  # type: ignore[arg-type]
        goals.append(WorkloadGoal(resolve_model(model, cat.models), wl))
    goals += [TierGoal(t) for t in cat.tiers]
    goals += [TaskGoal(t) for t in cat.tasks[:8]]
    return goals


def core() -> None:
    cat = default_catalog()
    profiles = [load_profile(p) for p in sorted(HOBBY.glob("*.json"))]
    facts = (RigFacts(), RigFacts(psu_watts=550, psu_connectors=("8-pin",), clearance_mm=280))
    samples = []
    for profile, goal, budget, fact in product(profiles, _goals(), (300.0, 1500.0), facts):
        start = time.perf_counter()
        plan_upgrades(profile, goal, budget, fact, cat)
        samples.append((time.perf_counter() - start) * 1000)
    _summary("plan_upgrades()", samples)


def gui() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QObject, QSettings, Signal
    from PySide6.QtWidgets import QApplication

    from rigready.desktop.pages.upgrade import UpgradePage

    app = QApplication.instance() or QApplication([])

    class Context(QObject):
        profile_changed = Signal(object)

        def __init__(self) -> None:
            super().__init__()
            self.settings = QSettings("/tmp/rigready-plan-speed.ini", QSettings.Format.IniFormat)
            self.settings.clear()
            self.profile = load_profile(HOBBY / "desktop-gtx1660-16gb-ddr4.json")

        def catalog(self):  # type: ignore[no-untyped-def]
            return default_catalog()

    page = UpgradePage(Context())
    page.resize(1080, 790)
    page.show()
    samples = []
    for budget in range(200, 3200, 100):
        start = time.perf_counter()
        page.constraints_step.budget.setValue(budget)  # replans and redraws the cards
        app.processEvents()
        samples.append((time.perf_counter() - start) * 1000)
    _summary("wizard update (plan + cards)", samples)


if __name__ == "__main__":
    core()
    try:
        import PySide6  # noqa: F401
    except ImportError:
        print("PySide6 not installed: GUI update not measured")
    else:
        gui()
