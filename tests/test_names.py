"""The name resolver: catalog models and GPUs by the names people type (issue 13, item 1)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigready.assess.estimate import EstimateError, resolve_model
from rigready.assess.hardware import GpuInfo
from rigready.assess.match import match_gpu
from rigready.assess.names import (
    NameLookupError,
    describe_failure,
    find_gpu,
    gpu_resolver,
    model_resolver,
    normalize_name,
)
from rigready.catalog import GpuEntry, ModelEntry, default_catalog

ROOT = Path(__file__).resolve().parent.parent
CAT = default_catalog()
GPUS = gpu_resolver(CAT.gpus)
MODELS = model_resolver(CAT.models)
GIB = 1024**3


def _restyle(text: str, data: st.DataObject) -> str:
    """``text`` as someone might type it: any case, any separator between its words."""
    words = text.split()
    cased = [data.draw(st.sampled_from([w, w.lower(), w.upper(), w.title()])) for w in words]
    seps = [data.draw(st.sampled_from([" ", "-", "_", "  ", " - "])) for _ in cased[1:]]
    return cased[0] + "".join(s + w for s, w in zip(seps, cased[1:], strict=True))


def _gpu_found_as_typed(entry: GpuEntry, texts: tuple[str, ...], data: st.DataObject) -> None:
    for text in texts:
        found = GPUS.resolve(_restyle(text, data))
        assert found.entry is not None and found.entry.id == entry.id, (text, found)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_catalog_gpu_is_found_by_its_id_and_name_however_typed(data: st.DataObject) -> None:
    entry: GpuEntry = data.draw(st.sampled_from(CAT.gpus))
    _gpu_found_as_typed(entry, (entry.id, entry.name, *entry.aliases), data)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_every_gpu_name_is_found_without_or_with_its_vendor_words(data: st.DataObject) -> None:
    entry: GpuEntry = data.draw(st.sampled_from(CAT.gpus))
    brand = {"nvidia": "NVIDIA GeForce", "amd": "AMD Radeon", "intel": "Intel"}[entry.vendor]
    bare = " ".join(normalize_name(entry.name, frozenset({"nvidia", "geforce", "amd", "radeon",
                                                          "intel", "tesla", "gpu"})))
    _gpu_found_as_typed(entry, (bare, f"{brand} {bare}"), data)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_catalog_model_is_found_by_its_id_name_and_repo(data: st.DataObject) -> None:
    entry: ModelEntry = data.draw(st.sampled_from(CAT.models))
    texts = [entry.id, entry.name] + ([entry.hf_repo] if entry.hf_repo else [])
    for text in texts:
        typed = data.draw(st.sampled_from([text, text.lower(), text.upper()]))
        found = MODELS.resolve(typed)
        assert found.entry is not None and found.entry.id == entry.id, (typed, found)
        try:
            assert resolve_model(typed, CAT.models).name == entry.id
        except EstimateError as exc:  # found, but a family the estimator does not model
            assert "unknown" in str(exc) and entry.id in str(exc)


@pytest.mark.parametrize(("typed", "expected"), [
    ("H200", "h200"), ("RTX 4090", "rtx-4090"), ("NVIDIA GeForce RTX 4090", "rtx-4090"),
    ("4090", "rtx-4090"), ("rtx4090", "rtx-4090"), ("RTX 3060 Ti", "rtx-3060-ti"),
    ("NVIDIA GeForce RTX 3060 Laptop GPU", "rtx-3060-laptop-6gb"),
    ("rtx 3060 12gb", "rtx-3060-12gb"), ("Radeon RX 7900 XTX", "rx-7900-xtx"),
    ("T4", "tesla-t4"), ("4060 ti 16 GB", "rtx-4060-ti-16gb"),
])
def test_issue_gpu_names(typed: str, expected: str) -> None:
    assert find_gpu(typed, CAT.gpus).id == expected


def test_laptop_is_a_distinguishing_word() -> None:
    assert find_gpu("RTX 4090", CAT.gpus).segment == "desktop"
    assert find_gpu("RTX 4090 Laptop GPU", CAT.gpus).id == "rtx-4090-laptop-16gb"


def test_ambiguous_gpu_lists_the_candidates_most_common_first() -> None:
    found = GPUS.resolve("rtx-3060")
    assert found.ambiguous and found.entry is None
    assert [e.id for e in found.candidates] == ["rtx-3060-12gb", "rtx-3060-8gb"]
    with pytest.raises(NameLookupError,
                       match=r"several catalog GPUs: rtx-3060-12gb .*rtx-3060-8gb"):
        find_gpu("rtx-3060", CAT.gpus)
    # a form factor left out is ambiguous too, not the first SXM card
    assert {e.id for e in GPUS.resolve("H100").candidates} == {"h100-pcie", "h100-sxm"}


def test_unknown_gpu_gets_ranked_suggestions() -> None:
    found = GPUS.resolve("RTX 3095")
    assert not found.found and not found.ambiguous
    assert found.suggestions[0].id in ("rtx-3090", "rtx-3090-ti")
    assert describe_failure("gpu", found).startswith("unknown GPU 'RTX 3095'; did you mean ")


@pytest.mark.parametrize(("typed", "expected", "how"), [
    ("meta-llama/Llama-3.1-8B", "llama-3.1-8b", "Hugging Face repo"),
    ("Llama 3.1 8B", "llama-3.1-8b", "id"),
    ("llama3.1-8b", "llama-3.1-8b", "id"),
    ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b", "variant of"),
    ("meta-llama/Llama-2-7b-chat-hf", "llama-2-7b", "variant of"),
    ("google/gemma-2-9b-it", "gemma-2-9b", "variant of"),
    ("google/gemma-3-4b-pt", "gemma-3-4b", "variant of"),
    ("meta-llama/Llama-3.3-70B", "llama-3.3-70b", "variant of"),
    ("mixtral 8x7b", "mixtral-8x7b", "id"),
])
def test_issue_model_names(typed: str, expected: str, how: str) -> None:
    found = MODELS.resolve(typed)
    assert found.entry is not None and found.entry.id == expected
    assert found.how == how


def test_a_family_name_with_several_sizes_lists_them() -> None:
    # the catalog holds Mixtral 8x7B and 8x22B: "mixtral" alone picks neither
    found = MODELS.resolve("mixtral")
    assert found.entry is None and found.ambiguous
    assert {e.id for e in found.candidates} == {"mixtral-8x7b", "mixtral-8x22b"}


def test_a_fine_tune_says_whose_figures_it_uses() -> None:
    shape = resolve_model("Qwen/Qwen2.5-7B-Instruct", CAT.models)
    assert shape.name == "qwen2.5-7b"
    assert any("has the architecture of catalog qwen2.5-7b" in n for n in shape.notes)


@dataclass(frozen=True)
class _Model:
    id: str
    name: str
    hf_repo: str | None = None


QWENS = [_Model("qwen2.5-0.5b", "Qwen2.5 0.5B"), _Model("qwen2.5-32b", "Qwen2.5 32B"),
         _Model("qwen2.5-14b", "Qwen2.5 14B"), _Model("llama-3.1-70b", "Llama 3.1 70B"),
         _Model("qwen2.5-7b", "Qwen2.5 7B"), _Model("gemma-2-9b", "Gemma 2 9B")]


def test_suggestions_rank_sizes_by_ratio_not_spelling() -> None:
    ranked = [m.id for m in model_resolver(QWENS).suggest("qwen3-8b")]  # type: ignore[arg-type]
    assert ranked[:2] == ["qwen2.5-7b", "qwen2.5-14b"]
    assert ranked.index("qwen2.5-7b") < ranked.index("qwen2.5-32b")
    assert ranked.index("qwen2.5-14b") < ranked.index("qwen2.5-32b")


def test_ambiguous_and_unknown_models_are_errors_with_what_to_do() -> None:
    with pytest.raises(EstimateError, match=r"several catalog models: llama-3.1-8b"):
        resolve_model("llama 3.1", CAT.models)
    with pytest.raises(EstimateError,
                       match=r"unknown model 'gemma 9 b2x'; did you mean gemma-2-9b"):
        resolve_model("gemma 9 b2x", CAT.models)
    # a parameter count is still a count, not an ambiguous name
    assert not resolve_model("7B", CAT.models).exact


def test_detected_gpu_with_unread_vram_is_ambiguous_not_a_guess() -> None:
    m = match_gpu(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060", vram_bytes=None),
                  CAT.gpus)
    assert m.entry is None and m.ambiguous
    assert [e.id for e in m.candidates] == ["rtx-3060-12gb", "rtx-3060-8gb"]
    assert "VRAM stays unknown" in m.reason
    read = match_gpu(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                             vram_bytes=12 * GIB), CAT.gpus)
    assert read.entry is not None and read.entry.id == "rtx-3060-12gb" and not read.ambiguous


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rigready.desktop", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60, check=False)


def test_cli_takes_gpu_names_and_refuses_ambiguity_with_exit_2() -> None:
    ok = _cli("estimate", "Llama 3.1 8B", "--method", "qlora", "--gpu", "NVIDIA GeForce RTX 4090")
    assert ok.returncode == 0, ok.stderr
    assert "Verdict on NVIDIA GeForce RTX 4090" in ok.stdout
    bad = _cli("estimate", "llama-3.1-8b", "--gpu", "rtx-3060")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "rigready: error: 'rtx-3060' matches several catalog GPUs: rtx-3060-12gb (NVIDIA GeForce "
        "RTX 3060 12 GB), rtx-3060-8gb (NVIDIA GeForce RTX 3060 8 GB); give one of these ids"]


def test_aliases_from_a_users_catalog_addition_are_names_too(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('''
[meta]
updated = 2026-12-01
description = "my additions"

[[gpu]]
id = "rtx-4090"
name = "NVIDIA GeForce RTX 4090"
vendor = "nvidia"
segment = "desktop"
match = ["RTX 4090"]
aliases = ["the big one"]
vram_gib = 24
memory_bandwidth_gb_s = 1008
fp32_tflops = 82.6
tgp_w = 450
power_connectors = ["12vhpwr"]
pcie_gen = 4
launch_year = 2022
spec_source = "test addition: a copy of the built-in entry with an alias"
''', encoding="utf-8")
    from rigready.catalog import load_catalog

    cat = load_catalog(tmp_path)
    assert find_gpu("The Big One", cat.gpus).id == "rtx-4090"
    assert gpu_resolver(cat.gpus).resolve("the-big-one").how == "alias"
