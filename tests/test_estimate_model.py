"""Model shapes from config.json files, catalog entries and parameter counts."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from rigready.assess.estimate import EstimateError, resolve_model
from rigready.assess.estimate.language.config import parse_param_count, shape_from_param_count
from rigready.assess.estimate.shapes import shape_from_config_file, shape_from_entry

CONFIGS = Path(__file__).parent / "data" / "hf_configs"

# published parameter counts (model cards / research/estimators.md §5), within 1%
PUBLISHED = {
    "gpt2": 124e6, "gpt2-medium": 355e6, "bert-base-uncased": 110e6, "llama-2-7b": 6.74e9,
    "llama-3.2-1b": 1.24e9, "llama-3.2-3b": 3.21e9, "mistral-7b-v0.1": 7.24e9,
    "qwen2.5-0.5b": 0.49e9, "qwen2.5-1.5b": 1.54e9, "phi-3-mini-4k": 3.82e9,
    "gemma-2-2b": 2.61e9, "gemma-2b": 2.51e9, "mixtral-8x7b-v0.1": 46.7e9,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_params_from_real_configs(name: str) -> None:
    shape = shape_from_config_file(CONFIGS / f"{name}.json")
    assert shape.params == pytest.approx(PUBLISHED[name], rel=0.012)
    assert shape.exact


def test_gqa_and_head_dim_are_read() -> None:
    gemma2 = shape_from_config_file(CONFIGS / "gemma-2-2b.json")
    assert (gemma2.head_dim, gemma2.num_kv_heads, gemma2.kv_dim) == (256, 4, 1024)
    qwen = shape_from_config_file(CONFIGS / "qwen2.5-0.5b.json")
    assert qwen.tie_word_embeddings and qwen.kv_dim == 128
    gpt2 = shape_from_config_file(CONFIGS / "gpt2.json")
    assert (gpt2.hidden_size, gpt2.num_layers, gpt2.intermediate_size) == (768, 12, 3072)


def test_moe_counts_all_experts_but_runs_two() -> None:
    mixtral = shape_from_config_file(CONFIGS / "mixtral-8x7b-v0.1.json")
    assert mixtral.is_moe and mixtral.experts_per_token == 2
    assert mixtral.active_params == pytest.approx(12.9e9, rel=0.02)  # Mistral AI: 12.9B active


def test_folder_with_config_json(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text((CONFIGS / "gpt2.json").read_text())
    assert shape_from_config_file(tmp_path).params == shape_from_config_file(
        CONFIGS / "gpt2.json").params


@pytest.mark.parametrize(("text", "problem"), [
    ('{"model_type": "t5", "d_model": 512}', "are needed"),
    ('{"model_type": "mamba", "hidden_size": 512}', "not supported"),
    ("not json", "not a valid config.json"),
    ("[1, 2]", "expected a JSON object"),
    ('{"model_type": "llama", "hidden_size": 64}', "are needed"),
    ('{"model_type": "llama", "hidden_size": 0, "num_hidden_layers": 2, '
     '"num_attention_heads": 2, "vocab_size": 10}', "above zero"),
])
def test_bad_configs_are_one_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(EstimateError, match=problem):
        shape_from_config_file(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(EstimateError, match="cannot read"):
        shape_from_config_file(tmp_path / "nope.json")


@pytest.mark.parametrize(("text", "count"), [
    ("7e9", 7_000_000_000), ("7B", 7_000_000_000), ("1.5b", 1_500_000_000),
    ("350M", 350_000_000), ("125k", 125_000), ("llama", None), ("0", None), ("-3B", None),
])
def test_parse_param_count(text: str, count: int | None) -> None:
    assert parse_param_count(text) == count


@pytest.mark.parametrize("params", [1e8, 1.3e9, 7e9, 13e9, 70e9])
def test_shape_from_count_is_close_and_marked_inexact(params: float) -> None:
    shape = shape_from_param_count(int(params))
    assert shape.params == int(params)
    assert shape.computed_params == pytest.approx(params, rel=0.15)
    assert not shape.exact and shape.notes


@dataclass(frozen=True)
class FakeEntry:
    id: str = "llama-3.2-1b"
    name: str = "Llama 3.2 1B"
    family: str = "llama"
    kind: str = "decoder"
    params: int = 1_235_814_400
    num_layers: int | None = 16
    hidden_size: int | None = 2048
    num_attention_heads: int | None = 32
    num_key_value_heads: int | None = 8
    head_dim: int | None = 64
    intermediate_size: int | None = 8192
    vocab_size: int | None = 128256
    tie_word_embeddings: bool | None = True
    max_position_embeddings: int | None = 131072
    num_experts: int | None = None
    num_experts_per_tok: int | None = None
    hidden_act: str | None = "silu"
    gated_ffn: bool | None = True
    image_size: int | None = None
    patch_size: int | None = None
    arch: str | None = None
    source: str = "config.json"


def test_catalog_entry_matches_its_config() -> None:
    from_entry = shape_from_entry(FakeEntry())
    from_config = shape_from_config_file(CONFIGS / "llama-3.2-1b.json")
    assert from_entry.computed_params == from_config.params == FakeEntry.params
    assert from_entry.kv_dim == from_config.kv_dim


def test_image_entry_is_walked_or_unknown() -> None:
    # an image model is never estimated as a transformer of the same parameter count
    entry = FakeEntry(id="resnet-50", family="resnet", kind="vision-cnn", params=25_557_032,
                      num_layers=None)
    with pytest.raises(EstimateError, match="memory is unknown"):
        shape_from_entry(entry)
    walked = shape_from_entry(replace(entry, arch="resnet50"))
    assert walked.image is not None and walked.params == 25_557_032


def test_resolve_model_by_id_path_and_count() -> None:
    entries = [FakeEntry()]
    assert resolve_model("llama-3.2-1b", entries).name == "llama-3.2-1b"
    assert resolve_model(str(CONFIGS / "gpt2.json"), entries).family == "gpt2"
    assert resolve_model("13B", entries).params == 13_000_000_000
    with pytest.raises(EstimateError, match=r"did you mean llama-3\.2-1b"):
        resolve_model("llama-3.2-1bb", entries)


def test_every_catalog_model_resolves() -> None:
    from rigready.catalog import default_catalog

    cat = default_catalog()
    for entry in cat.models:  # T5, Whisper, SD3.5 and FLUX.1 included (issue 22)
        shape = resolve_model(entry.id, cat.models)
        assert shape.params == entry.params
        if shape.exact and shape.image is None and entry.family not in ("t5", "whisper"):
            # the architecture numbers in the catalog imply the published count
            assert shape.computed_params == pytest.approx(entry.params, rel=0.05), entry.id


def test_config_files_are_the_published_json() -> None:
    for path in CONFIGS.glob("*.json"):
        data = json.loads(path.read_text())
        assert "model_type" in data
