"""The window and the CLI answer the same question the same way (issue 15, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QObject, QSettings, Signal

from rigready.catalog import default_catalog
from rigready.desktop.cli import main
from rigready.desktop.defaults import DEFAULT_BUDGET_USD, default_checkpointing
from rigready.desktop.pages.can_i_run import CanIRunPage
from rigready.desktop.widgets.upgrade_steps import ConstraintsStep, GoalStep

pytestmark = pytest.mark.gui
GTX1660 = str(Path(__file__).parents[1] / "data/profiles/hobbyist/desktop-gtx1660-16gb-ddr4.json")


class FakeContext(QObject):
    profile_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.profile = None

    def catalog(self):  # type: ignore[no-untyped-def]
        return default_catalog()


def _cli_estimate(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["estimate", *args, "--json"]) == 0
    data: dict = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    return data


@pytest.mark.parametrize("method", ["lora", "qlora", "full", "inference"])
def test_can_i_run_and_estimate_give_the_same_gib(method: str, qtbot,  # type: ignore[no-untyped-def]
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    page = CanIRunPage(FakeContext())
    qtbot.addWidget(page)
    page.form.method.setCurrentText(method)
    page.select_model("llama-3.1-8b")
    gpu_index = next(i for i, g in enumerate(page._gpus)
                     if g is not None and g.name == "NVIDIA GeForce RTX 4090")
    page.form.gpu.setCurrentIndex(gpu_index)
    assert page.result is not None
    assert page.result.workload.checkpointing is default_checkpointing(method)
    cli = _cli_estimate(capsys, "llama-3.1-8b", "--method", method, "--gpu", "rtx-4090")
    assert cli["precision"] == page.result.workload.resolved_precision
    assert cli["total_gib"] == pytest.approx(page.result.memory.total / 2**30, abs=0.001)


def test_lora_of_an_8b_has_checkpointing_off_in_both(qtbot) -> None:  # type: ignore[no-untyped-def]
    # The issue: the GUI carried QLoRA's checkpointing over to LoRA (20.5 GiB), the CLI not (29.2)
    page = CanIRunPage(FakeContext())
    qtbot.addWidget(page)
    assert page.form.method.currentText() == "qlora" and page.form.checkpointing.isChecked()
    page.form.method.setCurrentText("lora")
    assert not page.form.checkpointing.isChecked()
    assert page.form.precision.itemText(0) == "default (bf16)"


def test_wizard_goal_uses_the_same_checkpointing_and_budget(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    goal = GoalStep(default_catalog(), settings)
    qtbot.addWidget(goal)
    goal.method.setCurrentText("lora")
    assert not goal.checkpointing.isChecked()
    goal.method.setCurrentText("qlora")
    assert goal.checkpointing.isChecked()
    constraints = ConstraintsStep(settings)
    qtbot.addWidget(constraints)
    assert constraints.budget.value() == DEFAULT_BUDGET_USD


def test_plan_without_budget_uses_the_wizards_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "llama-3.1-8b", "--method", "qlora", "--profile", GTX1660,
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["budget_usd"] == DEFAULT_BUDGET_USD
