"""Shared test set-up: every test gets its own empty rigready home (settings, data, logs)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def rigready_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point ``RIGREADY_HOME`` at a fresh folder so no test reads or writes the user's own files."""
    home = tmp_path_factory.mktemp("rigready-home")
    monkeypatch.setenv("RIGREADY_HOME", str(home))
    # prices in USD whatever the test machine's locale (tests that need another set their own)
    monkeypatch.setenv("RIGREADY_LOCALE", "en_US.UTF-8")
    return home


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated Hugging Face Hub set-up (private cache, no token, no real Hub reachable);
    returns the cache folder."""
    from tests.helpers.fake_hub import isolate_hub

    return isolate_hub(tmp_path, monkeypatch)
