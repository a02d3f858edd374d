"""Hugging Face Hub look-up (issue 13, item 2) against a local fake Hub and a pre-filled cache:
the real ``huggingface_hub`` client runs, nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigready.assess.estimate import EstimateError, find_model, resolve_model
from rigready.assess.estimate import hub as hub_module
from rigready.assess.estimate.hub import (
    HubError,
    HubRef,
    fetch_hub_model,
    hub_model_job,
    parse_hub_ref,
)
from rigready.catalog import default_catalog
from tests.helpers.fake_hub import (
    COMMIT,
    GOOD_TOKEN,
    FakeHub,
    FakeRepo,
    hub_serving,
    silent_server,
)

ROOT = Path(__file__).resolve().parent.parent
#: A real config.json (Qwen/Qwen2.5-0.5B, copied from its Hugging Face repo).
QWEN_CONFIG = (ROOT / "tests" / "data" / "hf_configs" / "qwen2.5-0.5b.json").read_bytes()
WEIGHTS = b"\0" * 4096


@pytest.fixture
def fake_hub(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    repos = {
        "acme/tiny-qwen": FakeRepo({"config.json": QWEN_CONFIG, "model.safetensors": WEIGHTS},
                                   safetensors={"BF16": 494_032_768}),
        "acme/gated-qwen": FakeRepo({"config.json": QWEN_CONFIG}, gated=True,
                                    safetensors={"BF16": 494_032_768}),
        "acme/awq-qwen": FakeRepo({"config.json": QWEN_CONFIG},
                                  safetensors={"I32": 60_000_000, "F16": 140_000_000}),
        "acme/no-config": FakeRepo({"README.md": b"# weights only"}),
        "acme/no-safetensors": FakeRepo({"config.json": QWEN_CONFIG}),
    }
    with hub_serving(repos, monkeypatch) as served:
        yield served


def _prefill_cache(cache: Path, repo_id: str, config: bytes) -> None:
    """Lay out the Hub cache as huggingface_hub writes it (refs/main -> snapshot)."""
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_bytes(config)


def test_hub_ids_and_urls_are_recognised() -> None:
    assert parse_hub_ref("Qwen/Qwen3-8B") == HubRef("Qwen/Qwen3-8B")
    assert parse_hub_ref("https://huggingface.co/Qwen/Qwen3-8B") == HubRef("Qwen/Qwen3-8B")
    assert parse_hub_ref("https://huggingface.co/org/m/tree/v1.0/sub") == HubRef("org/m", "v1.0")
    assert parse_hub_ref("https://hf.co/org/m/blob/main/config.json") == HubRef("org/m", "main")
    for not_hub in ("./models/config.json", "/abs/path", "llama-3.1-8b", "7B", "a/b/c",
                    "https://example.com/org/m", "https://huggingface.co/datasets/org/d"):
        assert parse_hub_ref(not_hub) is None, not_hub


def test_fetches_only_config_and_counts_never_weights(fake_hub: FakeHub) -> None:
    shape = fetch_hub_model(HubRef("acme/tiny-qwen"))
    assert shape.name == "acme/tiny-qwen"
    assert (shape.num_layers, shape.hidden_size, shape.num_kv_heads) == (24, 896, 2)
    assert shape.params == 494_032_768
    assert any("stored as BF16" in n for n in shape.notes)
    paths = [p for _, p in fake_hub.requests]
    assert any(p.endswith("/config.json") for p in paths)
    assert any(p.startswith("/api/models/acme/tiny-qwen") for p in paths)
    assert not any(p.endswith((".safetensors", ".bin", ".gguf")) for p in paths), paths


def test_second_lookup_is_served_by_the_cache_offline(
        fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    fetch_hub_model(HubRef("acme/tiny-qwen"))
    fake_hub.requests.clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    shape = fetch_hub_model(HubRef("acme/tiny-qwen"))
    assert fake_hub.requests == []
    assert shape.hidden_size == 896
    assert any("computed from config.json (HF_HUB_OFFLINE is set)" in n for n in shape.notes)


def test_prefilled_cache_works_offline_and_a_miss_says_go_online(
        hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _prefill_cache(hub_env, "Qwen/Qwen2.5-0.5B-Cached", QWEN_CONFIG)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert fetch_hub_model(HubRef("Qwen/Qwen2.5-0.5B-Cached")).num_layers == 24
    with pytest.raises(HubError, match=r"^Qwen/Qwen3-8B: config.json is not in the Hugging Face "
                       r"cache and HF_HUB_OFFLINE is set: go online once"):
        fetch_hub_model(HubRef("Qwen/Qwen3-8B"))


def test_cached_config_is_used_when_the_hub_is_unreachable(hub_env: Path) -> None:
    _prefill_cache(hub_env, "acme/cached", QWEN_CONFIG)
    shape = fetch_hub_model(HubRef("acme/cached"))  # HF_ENDPOINT: a closed port
    assert shape.hidden_size == 896
    assert any("no network connection" in n for n in shape.notes)


def test_gated_without_token_says_accept_the_licence_and_log_in(fake_hub: FakeHub) -> None:
    with pytest.raises(HubError) as caught:
        fetch_hub_model(HubRef("acme/gated-qwen"))
    message = str(caught.value)
    assert message == (f"acme/gated-qwen is gated: accept its licence on {fake_hub.url}/acme/"
                       "gated-qwen, then log in with `hf auth login` or set HF_TOKEN, or give "
                       "the path of a config.json")


def test_gated_with_a_token_without_access_says_accept_the_licence(
        fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_fake_not_granted")
    with pytest.raises(HubError, match=r"is gated and your token has no access yet: accept the "
                       r"licence on http://127\.0\.0\.1:\d+/acme/gated-qwen"):
        fetch_hub_model(HubRef("acme/gated-qwen"))
    assert ("GET", "/acme/gated-qwen/resolve/main/config.json") not in fake_hub.requests


def test_gated_with_a_granted_token_works(
        fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", GOOD_TOKEN)
    assert fetch_hub_model(HubRef("acme/gated-qwen")).params == 494_032_768


@pytest.mark.usefixtures("fake_hub")
def test_missing_repo_and_missing_config_each_get_one_line() -> None:
    with pytest.raises(HubError, match=r"^no model 'acme/nope' on the Hugging Face Hub: check "
                       r"the spelling; if it is private, log in"):
        fetch_hub_model(HubRef("acme/nope"))
    with pytest.raises(HubError, match=r"^acme/no-config has no config.json on the Hugging Face "
                       r"Hub .*give the path of a config.json$"):
        fetch_hub_model(HubRef("acme/no-config"))


@pytest.mark.usefixtures("fake_hub")
def test_quantized_or_missing_safetensors_counts_fall_back_to_the_config() -> None:
    awq = fetch_hub_model(HubRef("acme/awq-qwen"))
    assert awq.params == awq.computed_params
    assert any("quantized (I32)" in n for n in awq.notes)
    bare = fetch_hub_model(HubRef("acme/no-safetensors"))
    assert bare.params == bare.computed_params
    assert any("no safetensors weights" in n for n in bare.notes)


@pytest.mark.usefixtures("hub_env")
def test_unreachable_hub_says_go_online() -> None:
    with pytest.raises(HubError, match=r"^cannot reach the Hugging Face Hub at http://127\.0\.0"
                       r"\.1:\d+ \(no network connection\) and acme/x is not in the cache: go "
                       r"online, or give the path of a config.json$"):
        fetch_hub_model(HubRef("acme/x"))


@pytest.mark.usefixtures("hub_env")
def test_a_stalled_hub_times_out_quickly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "HUB_TIMEOUT_S", 0.3)
    with silent_server() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        start = time.monotonic()
        with pytest.raises(HubError, match=r"\(no answer within 0\.3 s\)"):
            fetch_hub_model(HubRef("acme/slow"))
        assert time.monotonic() - start < 5


def test_job_yields_progress_and_can_be_closed_before_the_second_request(
        fake_hub: FakeHub) -> None:
    job = hub_model_job(HubRef("acme/tiny-qwen"))
    assert "config.json" in next(job)
    assert "safetensors" in next(job)
    job.close()  # the GUI's Cancel: no model-info request is made
    assert not any(p.startswith("/api/") for _, p in fake_hub.requests)


def test_find_model_leaves_the_network_to_the_caller(fake_hub: FakeHub) -> None:
    models = default_catalog().models
    assert find_model("acme/brand-new-7b", models) == HubRef("acme/brand-new-7b")
    assert find_model("meta-llama/Llama-3.1-8B", models).name == "llama-3.1-8b"  # type: ignore[union-attr]
    assert fake_hub.requests == []
    assert resolve_model("https://huggingface.co/acme/tiny-qwen", models).name == "acme/tiny-qwen"


def test_unsupported_model_type_on_the_hub_is_an_estimate_error(
        fake_hub: FakeHub) -> None:
    fake_hub.repos["acme/odd"] = FakeRepo({"config.json": json.dumps(
        {"model_type": "rwkv", "hidden_size": 8}).encode()})
    with pytest.raises(EstimateError, match=r"acme/odd: model_type 'rwkv' is not supported"):
        fetch_hub_model(HubRef("acme/odd"))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rigready.desktop", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, check=False, env={**os.environ, **env})


def test_cli_estimates_a_hub_model_and_gives_one_line_for_a_gated_one(
        fake_hub: FakeHub) -> None:
    env = {k: os.environ[k] for k in ("HF_ENDPOINT", "HF_HUB_CACHE", "HF_HOME")}
    ok = _cli(env, "estimate", "acme/tiny-qwen", "--gpu", "RTX 4090", "--json")
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["model"] == "acme/tiny-qwen" and out["params"] == 494_032_768
    assert out["gpu"] is not None
    gated = _cli(env, "estimate", "acme/gated-qwen")
    assert gated.returncode == 2
    lines = gated.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigready: error: acme/gated-qwen is gated:")
