"""This PC shows which programs hold each GPU's memory and whether the GPU drives the display
(issue 22, item 1), read through rigready.gpu's NVML door (a fake module here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6")

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from rigready.assess.hardware import SystemInfo
from rigready.desktop.context import AppContext
from rigready.desktop.pages.this_pc import ThisPcPage
from rigready.gpu.nvml import set_nvml_door
from tests.helpers.fake_pynvml import FakePynvml, door, h100_like
from tests.test_gpu_memory_usecase import GIB, NAMES, PROFILE

pytestmark = pytest.mark.gui


@pytest.fixture
def fake_gpu() -> Iterator[FakePynvml]:
    gpu = h100_like(name="NVIDIA GeForce RTX 3060", uuid="GPU-3060", display_mode=1,
                    display_active=1, gprocs=[(1234, int(0.41 * GIB)), (4321, int(0.73 * GIB))],
                    procs=[])
    fake = FakePynvml([gpu])
    old = set_nvml_door(door(fake, process_name=lambda pid: NAMES.get(pid)))
    try:
        yield fake
    finally:
        set_nvml_door(old)


@pytest.fixture
def context(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    return AppContext(settings=settings, db_path=tmp_path / "db.sqlite3")


def _gpu_rows(page: ThisPcPage) -> dict[str, str]:
    card = next(c for c in page.cards if c.title_label.text() == "NVIDIA GeForce RTX 3060")
    return card.row_texts()


def test_this_pcs_gpu_card_lists_the_programs_on_it(fake_gpu: FakePynvml, context: AppContext,
                                                     qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    context.set_profile(PROFILE)  # detected here
    rows = _gpu_rows(page)
    assert rows["Drives a display"] == "yes: the desktop shares its memory"
    held = rows["Programs on it"].splitlines()
    assert held[0] == "firefox (pid 4321): 748 MiB" and held[1] == "Xorg (pid 1234): 420 MiB"
    assert held[-1] == "1.1 GiB held by 2 programs (read now)"


def test_the_list_is_read_again_when_the_page_comes_back(fake_gpu: FakePynvml,
                                                         context: AppContext,
                                                         qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    context.set_profile(PROFILE)
    fake_gpu.gpus[0]["gprocs"] = []  # the browser and the desktop session closed
    page.refresh_memory_use()
    assert _gpu_rows(page)["Programs on it"] == "none (read now)"


def test_another_pcs_profile_says_its_programs_are_not_read_here(
        fake_gpu: FakePynvml, context: AppContext, qtbot: QtBot) -> None:
    page = ThisPcPage(context)
    qtbot.addWidget(page)
    context.set_profile(replace(PROFILE, origin="/home/me/friend.json",
                                system=SystemInfo(hostname="friends-pc")))
    assert not page.this_pc
    rows = _gpu_rows(page)
    assert rows["Programs on it"] == "unknown" and rows["Drives a display"] == "unknown"
    label = page.memory_labels[0][1]
    assert "read on that PC" in label.toolTip()
    assert fake_gpu.calls.get("nvmlDeviceGetGraphicsRunningProcesses", 0) == 0
