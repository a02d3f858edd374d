"""Can I run it?: the model box takes catalog names, Hub ids and config.json paths; the GPU box
takes any catalog GPU by typing (issue 13, item 6). Hub look-ups hit a fake Hub on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytestqt = pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QFileDialog  # noqa: E402
from pytestqt.qtbot import QtBot  # noqa: E402

from rigready.assess.estimate import hub as hub_module  # noqa: E402
from rigready.desktop.pages.can_i_run import CanIRunPage  # noqa: E402
from tests.gui.test_can_i_run import CONFIGS, FakeContext, _rig  # noqa: E402
from tests.helpers.fake_hub import (  # noqa: E402
    FakeHub,
    FakeRepo,
    hub_serving,
    silent_server,
)

pytestmark = pytest.mark.gui
QWEN_CONFIG = (CONFIGS / "qwen2.5-0.5b.json").read_bytes()


@pytest.fixture
def hub(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    repos = {
        "acme/tiny-qwen": FakeRepo({"config.json": QWEN_CONFIG}, safetensors={"BF16": 494_032_768}),
        "acme/gated": FakeRepo({"config.json": QWEN_CONFIG}, gated=True),
    }
    with hub_serving(repos, monkeypatch) as served:
        yield served


@pytest.fixture
def page(qtbot: QtBot, hub_env: Path) -> CanIRunPage:
    widget = CanIRunPage(FakeContext(_rig(12)))
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    return widget


def _type_model(page: CanIRunPage, text: str) -> None:
    page.search.setText(text)
    QTest.keyClick(page.search, Qt.Key.Key_Return)


@pytest.mark.usefixtures("hub")
def test_a_hub_id_is_fetched_off_the_gui_thread_with_progress(
        qtbot: QtBot, page: CanIRunPage) -> None:
    _type_model(page, "acme/tiny-qwen")
    assert page.hub_bar.running and not page.hub_bar.isHidden()  # returned before the answer
    assert "acme/tiny-qwen" in page.hub_bar.label.text()
    qtbot.waitUntil(lambda: page.shape is not None and page.shape.name == "acme/tiny-qwen",
                    timeout=10_000)
    assert page.hub_bar.isHidden() and page.result is not None and page.error is None
    assert page.shape is not None and page.shape.params == 494_032_768
    assert "acme/tiny-qwen: 0.49B parameters" in page.model_label.text()


@pytest.mark.usefixtures("hub")
def test_a_gated_hub_model_shows_what_to_do(qtbot: QtBot, page: CanIRunPage) -> None:
    _type_model(page, "https://huggingface.co/acme/gated")
    qtbot.waitUntil(lambda: page.error is not None and "is gated" in page.error, timeout=10_000)
    assert "accept its licence" in page.answer.details.text()
    assert page.answer.verdict.text() == "Cannot estimate"


def test_cancel_stops_waiting_and_ignores_the_late_answer(
        qtbot: QtBot, page: CanIRunPage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "HUB_TIMEOUT_S", 1.0)
    with silent_server() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        page.select_model("llama-3.2-1b")
        before = page.shape
        page.select_model("acme/stalled")
        worker = page.hub_bar.worker
        assert worker is not None and page.hub_bar.running
        QTest.mouseClick(page.hub_bar.cancel_button, Qt.MouseButton.LeftButton)
        assert page.hub_bar.isHidden() and not page.hub_bar.running
        assert worker.wait(10)  # the request times out on its own; its answer is dropped
    qtbot.wait(100)
    assert page.shape is before and page.error is None and page.result is not None


def test_catalog_names_repo_ids_and_paths_need_no_network(
        qtbot: QtBot, page: CanIRunPage) -> None:
    # HF_ENDPOINT is a closed port here: any Hub request would fail
    _type_model(page, "meta-llama/Llama-3.1-8B")
    assert not page.hub_bar.running and page.shape is not None
    assert page.shape.name == "llama-3.1-8b"
    _type_model(page, "Qwen/Qwen2.5-7B-Instruct")
    assert page.shape.name == "qwen2.5-7b" and not page.hub_bar.running
    _type_model(page, str(CONFIGS / "gpt2.json"))
    assert page.shape.name == "gpt2" and page.shape.num_layers == 12


def test_the_filter_ignores_case_and_punctuation(page: CanIRunPage) -> None:
    page.search.setText("LLAMA3.1 8b")
    shown = [page.model_list.item(i).data(Qt.ItemDataRole.UserRole)
             for i in range(page.model_list.count()) if not page.model_list.item(i).isHidden()]
    assert shown == ["llama-3.1-8b"]


def test_config_dialog_opens_without_blocking_and_loads_the_file(
        qtbot: QtBot, page: CanIRunPage) -> None:
    QTest.mouseClick(page.open_button, Qt.MouseButton.LeftButton)  # returns: open(), not exec()
    dialog = page.config_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert dialog.windowModality() == Qt.WindowModality.WindowModal
    dialog.fileSelected.emit(str(CONFIGS / "llama-3.2-1b.json"))
    assert page.shape is not None and page.shape.name == "llama-3.2-1b"
    dialog.reject()


def test_gpu_box_takes_a_typed_catalog_gpu(qtbot: QtBot, page: CanIRunPage) -> None:
    edit = page.form.gpu.lineEdit()
    assert edit is not None
    edit.clear()
    QTest.keyClicks(edit, "NVIDIA GeForce RTX 4090")
    assert any("RTX 4090" in s for s in page.form.gpu_search.suggestions())
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert page.result is not None and page.result.gpu is not None
    assert page.result.gpu.name == "NVIDIA GeForce RTX 4090"
    edit.clear()
    QTest.keyClicks(edit, "h200")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert page.result.gpu is not None and page.result.gpu.name == "NVIDIA H200 141 GB"


def test_an_ambiguous_gpu_lists_its_candidates_and_keeps_the_choice(
        qtbot: QtBot, page: CanIRunPage) -> None:
    chosen = page.form.gpu.currentIndex()
    edit = page.form.gpu.lineEdit()
    assert edit is not None
    edit.clear()
    QTest.keyClicks(edit, "rtx-3060")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert page.form.gpu.currentIndex() == chosen
    assert "several catalog GPUs" in page.form.gpu_hint.text()
    assert not page.form.gpu_hint.isHidden()
    listed = page.form.gpu_search.suggestions()
    assert "(rtx-3060-12gb)" in listed[0] and "(rtx-3060-8gb)" in listed[1]
    page.form.gpu_search.completer.activated.emit(listed[1])
    assert page.result is not None and page.result.gpu is not None
    assert page.result.gpu.name == "NVIDIA GeForce RTX 3060 8 GB"
    assert page.form.gpu_hint.text() == "" and page.form.gpu_hint.isHidden()


# --- issue 23, item 8: the Hub and GPU boxes behave ------------------------------------------

def test_a_look_up_in_progress_says_so_and_cancel_goes_back(
        qtbot: QtBot, page: CanIRunPage, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a look-up ran the heading said "No match... Press Enter" (and the old verdict
    could stay on screen)."""
    monkeypatch.setattr(hub_module, "HUB_TIMEOUT_S", 1.0)
    with silent_server() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        before = page.shape
        page.search.setText("acme/stalled")
        assert page.answer.verdict.text() == "Not in the catalog: press Enter"
        QTest.keyClick(page.search, Qt.Key.Key_Return)
        assert page.hub_bar.running
        assert page.answer.verdict.text() == "Looking it up on the Hugging Face Hub…"
        assert "acme/stalled" in page.answer.details.text()
        assert page.result is None and page.shape is None and not page.answer.bar.parts
        assert not page.answer.measure_bar.button.isEnabled()
        worker = page.hub_bar.worker
        assert worker is not None
        QTest.mouseClick(page.hub_bar.cancel_button, Qt.MouseButton.LeftButton)
        assert worker.wait(10)
    assert page.shape is before is not None and page.result is not None  # back where it was


def test_a_hub_url_of_a_catalog_model_needs_no_network(page: CanIRunPage) -> None:
    # HF_ENDPOINT is a closed port here: the bare id worked offline, the URL failed
    _type_model(page, "https://huggingface.co/meta-llama/Llama-3.1-8B")
    assert not page.hub_bar.running and page.shape is not None
    assert page.shape.name == "llama-3.1-8b" and page.result is not None


@pytest.mark.usefixtures("hub")
def test_an_unknown_hub_id_names_the_nearest_catalog_models(
        qtbot: QtBot, page: CanIRunPage) -> None:
    _type_model(page, "someone/llama-3.1-8b-lora-xyz")
    qtbot.waitUntil(lambda: page.error is not None, timeout=10_000)
    assert page.answer.verdict.text() == "Not found on the Hub"
    text = page.answer.details.text()
    assert "no model 'someone/llama-3.1-8b-lora-xyz'" in text
    assert "nearest in the catalog (no network needed): llama-3.1-8b" in text


def test_an_ambiguous_gpu_clears_the_old_verdict_and_offers_its_choices(
        qtbot: QtBot, page: CanIRunPage) -> None:
    assert page.result is not None  # an answer for the GPU chosen before
    edit = page.form.gpu.lineEdit()
    assert edit is not None
    edit.clear()
    QTest.keyClicks(edit, "RTX 3060")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert page.result is None and page.answer.verdict.text() == "Which GPU?"
    assert not page.answer.bar.parts  # the old bar is gone too
    buttons = [b.text() for b in page.answer.choice_buttons]
    assert buttons == ["NVIDIA GeForce RTX 3060 12 GB (12 GiB)",
                       "NVIDIA GeForce RTX 3060 8 GB (8 GiB)"]
    assert page.answer.choices.isVisibleTo(page)
    assert "rtx-3060-12gb" in page.answer.details.text()  # the sentence says which ids
    page.answer.choice_buttons[1].click()
    assert page.result is not None and page.result.gpu is not None
    assert page.result.gpu.name == "NVIDIA GeForce RTX 3060 8 GB"
    assert not page.answer.choice_buttons and not page.form.gpu_unresolved
    assert page.form.gpu_hint.isHidden()
    # choosing the GPU the box already holds answers again too (no index change)
    edit.clear()
    QTest.keyClicks(edit, "RTX 3060")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert page.result is None
    page.answer.choice_buttons[1].click()
    assert page.result is not None and page.result.gpu is not None
    assert page.result.gpu.name == "NVIDIA GeForce RTX 3060 8 GB"


def test_an_unknown_gpu_name_offers_the_nearest_cards(qtbot: QtBot, page: CanIRunPage) -> None:
    edit = page.form.gpu.lineEdit()
    assert edit is not None
    edit.clear()
    QTest.keyClicks(edit, "RTX 4095")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert page.result is None and "unknown GPU" in page.form.gpu_hint.text()
    assert any("4090" in b.text() for b in page.answer.choice_buttons)


def test_the_gpu_completer_popup_is_as_wide_as_its_names(qtbot: QtBot,
                                                         page: CanIRunPage) -> None:
    """The popup took the narrow box's width: every name was cut (at 1024x640)."""
    page.resize(824, 560)
    page.show()
    qtbot.waitExposed(page)
    edit = page.form.gpu.lineEdit()
    assert edit is not None
    edit.clear()
    QTest.keyClicks(edit, "RTX 40")
    popup = page.form.gpu_search.completer.popup()
    assert popup is not None
    widest = max(popup.fontMetrics().horizontalAdvance(s)
                 for s in page.form.gpu_search.suggestions())
    assert popup.minimumWidth() >= widest > page.form.gpu.width()
    screen = page.form.gpu.screen()
    assert popup.minimumWidth() <= screen.availableGeometry().width()
