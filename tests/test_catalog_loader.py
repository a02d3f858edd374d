"""The catalog loader: strict validation, error messages, user overrides, the built-in data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rigready import catalog
from rigready.catalog import CatalogError, load_catalog, parse_text

MINI = Path(__file__).parent / "data" / "catalog" / "mini"

META = '[meta]\nupdated = 2026-11-22\ndescription = "test"\n'

GPU = """
[[gpu]]
id = "rtx-3060-12gb"
name = "NVIDIA GeForce RTX 3060 12 GB"
vendor = "nvidia"
segment = "desktop"
match = ["RTX 3060"]
vram_gib = 12
memory_bandwidth_gb_s = 360
fp32_tflops = 12.7
fp16_tflops = 25.5
tgp_w = 170
power_connectors = ["8-pin"]
pcie_gen = 4
compute_capability = "8.6"
launch_year = 2021
street_price_usd = 280
price_date = 2026-11-01
price_source = "example shop"
spec_source = "research/benchmarks.md"
"""


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))


def _error(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        parse_text(text, "gpus.toml")
    return info.value


def _with(line_from: str, line_to: str) -> str:
    assert line_from in GPU
    return META + GPU.replace(line_from, line_to)


def test_valid_entry_is_typed() -> None:
    parsed = parse_text(META + GPU, "gpus.toml")
    (gpu,) = parsed.entries["gpu"]
    assert isinstance(gpu, catalog.GpuEntry)
    assert gpu.vram_gib == 12.0 and isinstance(gpu.vram_gib, float)
    assert gpu.match == ("RTX 3060",)
    assert gpu.price_date == date(2026, 11, 1)
    assert gpu.bf16_tflops is None  # omitted optional
    assert gpu.half_tflops == 25.5
    assert parsed.updated == date(2026, 11, 22)


def test_message_names_file_entry_and_field() -> None:
    err = _error(_with("vram_gib = 12", 'vram_gib = "12 GB"'))
    assert (err.path, err.entry, err.field) == ("gpus.toml", "rtx-3060-12gb", "vram_gib")
    assert str(err).startswith("gpus.toml: entry rtx-3060-12gb: vram_gib: must be a number")


def test_key_without_unit_is_unknown_with_a_hint() -> None:
    err = _error(_with("vram_gib = 12", "vram = 12"))
    assert err.field == "vram"
    assert "unknown key" in err.problem and "vram_gib" in err.problem


@pytest.mark.parametrize(("old", "new", "field", "words"), [
    ("vram_gib = 12", "vram_gib = 0", "vram_gib", "above zero"),
    ("tgp_w = 170", "tgp_w = -170", "tgp_w", "above zero"),
    ("pcie_gen = 4", "pcie_gen = 4.0", "pcie_gen", "whole number"),
    ("pcie_gen = 4", "pcie_gen = 9", "pcie_gen", "at most"),
    ('vendor = "nvidia"', 'vendor = "nvidea"', "vendor", "one of"),
    ('match = ["RTX 3060"]', "match = []", "match", "at least one"),
    ('match = ["RTX 3060"]', 'match = "RTX 3060"', "match", "array"),
    ("price_date = 2026-11-01", 'price_date = "2026-11-01"', "price_date", "TOML date"),
    ("price_date = 2026-11-01", "price_date = 2026-11-01T10:00:00", "price_date", "TOML date"),
    ("fp16_tflops = 25.5", "fp16_tflops = nan", "fp16_tflops", "finite"),
    ('power_connectors = ["8-pin"]', 'power_connectors = ["8pin"]', "power_connectors[0]",
     "one of"),
    ('compute_capability = "8.6"', 'compute_capability = "sm86"', "compute_capability",
     "8.6"),
])
def test_wrong_values_are_rejected(old: str, new: str, field: str, words: str) -> None:
    err = _error(_with(old, new))
    assert err.field == field
    assert words in err.problem


def test_missing_required_key() -> None:
    err = _error(_with("tgp_w = 170\n", ""))
    assert (err.entry, err.field, err.problem) == ("rtx-3060-12gb", "tgp_w", "missing required key")


@pytest.mark.parametrize("drop", ["price_date = 2026-11-01\n", 'price_source = "example shop"\n'])
def test_price_needs_date_and_source(drop: str) -> None:
    err = _error(_with(drop, ""))
    assert err.field == drop.split(" ")[0]
    assert "street_price_usd" in err.problem


def test_launch_price_alone_also_needs_date() -> None:
    text = _with("street_price_usd = 280\nprice_date = 2026-11-01\n", "launch_price_usd = 329\n")
    err = _error(text)
    assert err.field == "price_date"


def test_bad_id_is_named_by_position() -> None:
    err = _error(_with('id = "rtx-3060-12gb"', 'id = "RTX 3060"'))
    assert (err.entry, err.field) == ("gpu[0]", "id")


def test_duplicate_id_in_one_file() -> None:
    with pytest.raises(CatalogError) as info:
        catalog.merge([parse_text(META + GPU + GPU, "gpus.toml")])
    assert info.value.field == "id" and "duplicate" in info.value.problem


def test_duplicate_id_across_builtin_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(META + GPU)
    (tmp_path / "b.toml").write_text(META + GPU)
    with pytest.raises(CatalogError) as info:
        load_catalog(None, builtin_dir=tmp_path)
    assert info.value.path.endswith("b.toml")
    assert "a.toml" in info.value.problem


def test_dangling_cloud_gpu_id(tmp_path: Path) -> None:
    (tmp_path / "gpus.toml").write_text(META + GPU)
    (tmp_path / "cloud.toml").write_text(META + """
[[cloud_offer]]
id = "x"
provider = "p"
instance = "i"
gpu_id = "rtx-9999"
gpu_count = 1
usd_per_hour = 1.5
spot = false
price_date = 2026-11-01
price_source = "s"
""")
    with pytest.raises(CatalogError) as info:
        load_catalog(None, builtin_dir=tmp_path)
    assert (info.value.entry, info.value.field) == ("x", "gpu_id")
    assert info.value.path.endswith("cloud.toml")


def test_dangling_tier_example_gpu(tmp_path: Path) -> None:
    for f in MINI.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text())
    tiers = tmp_path / "tiers.toml"
    tiers.write_text(tiers.read_text().replace('example_gpus = ["rtx-3090"]',
                                               'example_gpus = ["rtx-3080"]', 1))
    with pytest.raises(CatalogError) as info:
        load_catalog(None, builtin_dir=tmp_path)
    assert info.value.entry == "high" and info.value.field == "example_gpus[0]"


def test_file_level_problems() -> None:
    assert _error("not toml = = 1").problem.startswith("not valid TOML")
    assert _error(GPU).field == "meta"
    assert _error(META + "[gpu]\nid = 'x'\n").problem.startswith("must be an array of tables")
    assert "unknown table" in _error(META + "[[gpus]]\nid = 'x'\n").problem
    assert _error('[meta]\nupdated = "2026"\ndescription = "x"\n').field == "meta.updated"


def test_model_kind_requires_transformer_keys() -> None:
    text = META + """
[[model]]
id = "tiny"
name = "Tiny"
family = "llama"
kind = "decoder"
params = 1000
num_layers = 2
hidden_size = 64
num_attention_heads = 4
intermediate_size = 128
vocab_size = 100
source = "test"
"""
    err = _error(text)
    assert (err.field, err.entry) == ("tie_word_embeddings", "tiny")


def test_tier_recommended_not_below_minimum() -> None:
    text = (MINI / "tiers.toml").read_text().replace("ram_recommended_gib = 16",
                                                     "ram_recommended_gib = 8", 1)
    err = _error(text)
    assert (err.entry, err.field) == ("entry", "ram_recommended_gib")


def test_mini_catalog_loads_with_lookups() -> None:
    cat = load_catalog(None, builtin_dir=MINI)
    assert cat.gpu("rtx-3090").vram_gib == 24
    assert [t.rank for t in cat.tiers] == [1, 2, 3, 4, 5]
    assert cat.updated == date(2026, 11, 22)
    with pytest.raises(KeyError):
        cat.gpu("no-such-gpu")
    assert catalog.entry_counts(cat)["gpus"] == len(cat.gpus) == 15


def test_user_catalog_overrides_and_adds(tmp_path: Path) -> None:
    user = catalog.paths.user_catalog_dir()
    user.mkdir(parents=True)
    changed = GPU.replace("street_price_usd = 280", "street_price_usd = 199")
    extra = GPU.replace('id = "rtx-3060-12gb"', 'id = "my-card"')
    (user / "mine.toml").write_text(META + changed + extra)
    cat = load_catalog(builtin_dir=MINI)
    assert cat.gpu("rtx-3060-12gb").street_price_usd == 199
    assert cat.gpu("my-card").vram_gib == 12
    assert len(cat.gpus) == 16
    assert len(cat.overridden) == 1
    assert cat.overridden[0].startswith("gpu rtx-3060-12gb: replaced by")
    assert str(user / "mine.toml") in cat.files


def test_broken_user_file_is_a_catalog_error() -> None:
    user = catalog.paths.user_catalog_dir()
    user.mkdir(parents=True)
    (user / "bad.toml").write_text(META + GPU.replace("vram_gib = 12", "vram_gib = -1"))
    with pytest.raises(CatalogError) as info:
        load_catalog(builtin_dir=MINI)
    assert info.value.path.endswith("bad.toml")


def test_missing_folders() -> None:
    with pytest.raises(CatalogError):
        load_catalog(None, builtin_dir=MINI / "nope")
    with pytest.raises(CatalogError):
        load_catalog(MINI / "nope.toml", builtin_dir=MINI)
    assert len(load_catalog(builtin_dir=MINI).gpus) == 15  # no user folder is fine


def test_builtin_catalog_meets_the_issue() -> None:
    cat = load_catalog(None)
    assert len(cat.gpus) >= 40
    assert len(cat.models) >= 25
    assert [t.rank for t in cat.tiers] == [1, 2, 3, 4, 5]
    assert cat.tasks and cat.cpus and cat.ram_kits and cat.drives and cat.psus
    assert cat.cloud_offers
    for gpu in cat.gpus:
        if gpu.street_price_usd is not None or gpu.launch_price_usd is not None:
            assert gpu.price_date is not None and gpu.price_source


def test_default_catalog_is_cached() -> None:
    catalog.default_catalog.cache_clear()
    assert catalog.default_catalog() is catalog.default_catalog()
    catalog.default_catalog.cache_clear()


def test_tier_example_gpu_must_reach_its_own_tier(tmp_path: Path) -> None:
    for f in MINI.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text())
    tiers = tmp_path / "tiers.toml"
    # The GTX 1660 has neither the 24 GiB nor the 16-bit speed of the mini catalog's top tier.
    tiers.write_text(tiers.read_text().replace('example_gpus = ["rtx-3090"]',
                                               'example_gpus = ["gtx-1660"]', 1))
    with pytest.raises(CatalogError) as info:
        load_catalog(None, builtin_dir=tmp_path)
    assert info.value.entry == "high" and info.value.field == "example_gpus[0]"
    assert "below this tier's" in info.value.problem


STACK_MEASURED = META + """
[[stack_figure]]
id = "unsloth-measured"
stack = "unsloth"
method = "qlora"
params_b = 8.03
model = "llama-3.1-8b"
card_gb = 8.0
max_context_tokens = 2048
measured_peak_gib = 6.68
measured_on = "an H100 capped to an 8 GB card's memory"
source = "rigready's measurement"
source_date = 2026-12-06
"""


def test_a_measured_stack_row_carries_its_peak_and_is_a_context_row() -> None:
    entry = parse_text(STACK_MEASURED, "stacks.toml").entries["stack_figure"][0]
    assert entry.measured_on and entry.measured_peak_gib == 6.68
    no_peak = _error_in(STACK_MEASURED.replace("measured_peak_gib = 6.68\n", ""))
    assert no_peak.field == "measured_on" and "measured_peak_gib" in no_peak.problem
    as_vram = STACK_MEASURED.replace('model = "llama-3.1-8b"\ncard_gb = 8.0\n'
                                     'max_context_tokens = 2048\n', "vram_gb = 6.0\n")
    assert _error_in(as_vram).field == "measured_on"
    peak_alone = STACK_MEASURED.replace('measured_on = "an H100 capped to an 8 GB card\'s '
                                        'memory"\n', "")
    assert _error_in(peak_alone).field == "measured_peak_gib"


def _error_in(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as info:
        parse_text(text, "stacks.toml")
    return info.value
