"""The plan's words as a user reads them: grammatical advice, a tight fit labelled tight, no
repeated "offload", no "ready to buy" when there is nothing to buy, a clear empty --save."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigready.desktop.cli import main

PROFILES = Path(__file__).parent / "data" / "rigs" / "profiles"


def _plan(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["plan", *args]) == 0
    return capsys.readouterr().out


def test_settings_read_as_sentences_and_label_a_tight_fit_tight(
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _plan(capsys, "llama-3.1-8b", "--method", "lora", "--seq", "2048",
                "--profile", str(PROFILES / "rtx3090-desktop.json"))
    assert "No purchase needed: gradient checkpointing makes it fit" in out
    assert "turn on gradient checkpointing makes" not in out
    settings = [line.strip() for line in out.splitlines() if line.startswith("  [")]
    assert settings, out
    for line in settings:
        if "tight fit" in line:
            assert line.startswith("[tight]"), line
        if line.startswith("[works]"):
            assert ", fits;" in line, line
    offload = [line for line in settings if line.startswith("[ slow] CPU offload")]
    assert len(offload) == 1 and offload[0].count("offload") == 1, offload


def test_nothing_to_buy_is_not_called_ready_to_buy(capsys: pytest.CaptureFixture[str]) -> None:
    out = _plan(capsys, "--tier", "entry", "--profile", str(PROFILES / "rtx4090-desktop.json"))
    assert "Your PC as it is" in out
    assert "ready to buy" not in out


def test_empty_save_path_says_it_is_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detect", "--save", ""]) == 2
    err = capsys.readouterr().err
    assert "the path is empty" in err and "is a folder" not in err
