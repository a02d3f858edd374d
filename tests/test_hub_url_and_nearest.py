"""A Hub URL behaves like its id, offline too; an unknown Hub id gets the nearest catalog names
(issue 23, item 8: the shared resolver, so the CLI and the window say the same)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rigready.assess.estimate import find_model, resolve_model
from rigready.assess.estimate.hub import HubError, HubRef
from rigready.assess.estimate.resolve import nearest_models, with_nearest
from rigready.catalog import default_catalog
from tests.test_hub import QWEN_CONFIG, _prefill_cache

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("url", [
    "https://huggingface.co/meta-llama/Llama-3.1-8B",
    "https://huggingface.co/meta-llama/Llama-3.1-8B/tree/main",
    "https://hf.co/Qwen/Qwen2.5-7B-Instruct",
])
def test_a_hub_url_of_a_catalog_model_is_that_model_without_the_network(
        hub_env: Path, url: str) -> None:
    models = default_catalog().models
    by_url = find_model(url, models)
    by_id = find_model(url.split("/", 3)[3].split("/tree/")[0], models)
    assert not isinstance(by_url, HubRef) and not isinstance(by_id, HubRef)
    assert by_url.name == by_id.name  # HF_ENDPOINT is a closed port: no request was made


def test_a_url_naming_another_revision_still_asks_the_hub(hub_env: Path) -> None:
    found = find_model("https://huggingface.co/meta-llama/Llama-3.1-8B/tree/refs%2Fpr%2F7",
                       default_catalog().models)
    assert isinstance(found, HubRef) and found.revision == "refs%2Fpr%2F7"


def test_url_and_id_share_the_cache_offline(hub_env: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _prefill_cache(hub_env, "acme/cached-qwen", QWEN_CONFIG)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models = default_catalog().models
    by_id = resolve_model("acme/cached-qwen", models)
    by_url = resolve_model("https://huggingface.co/acme/cached-qwen", models)
    assert by_id.num_layers == by_url.num_layers == 24


def test_an_unknown_hub_id_names_the_nearest_catalog_models(
        hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    models = default_catalog().models
    with pytest.raises(HubError) as caught:
        resolve_model("someone/my-llama-3.1-8b-lora", models)
    text = str(caught.value)
    assert "is not in the Hugging Face cache" in text
    assert text.endswith("nearest in the catalog (no network needed): llama-3.1-8b, "
                         + ", ".join(m.id for m in nearest_models(
                             HubRef("someone/my-llama-3.1-8b-lora"), models)[1:]))
    assert with_nearest("x", HubRef("a/b"), ()) == "x"  # an empty catalog adds nothing


def test_the_cli_says_it_in_one_line(hub_env: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = subprocess.run([sys.executable, "-m", "rigready.desktop", "estimate",
                          "https://huggingface.co/meta-llama/Llama-3.1-8B", "--gpu", "RTX 4090",
                          "--json"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                         check=False, env=env)
    assert run.returncode == 0, run.stderr
    unknown = subprocess.run([sys.executable, "-m", "rigready.desktop", "estimate",
                              "someone/my-llama-3.1-8b-lora"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60, check=False, env=env)
    lines = unknown.stderr.strip().splitlines()
    assert unknown.returncode == 2 and len(lines) == 1
    assert "nearest in the catalog (no network needed): llama-3.1-8b" in lines[0]
