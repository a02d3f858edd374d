"""Detected GPU names (as NVML, ROCm and drivers print them) to catalog entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigready.assess.hardware import GpuInfo, GpuVendor
from rigready.assess.match import is_laptop_name, match_gpu, normalize_gpu_name
from rigready.catalog import Catalog, load_catalog

MINI = Path(__file__).parent / "data" / "catalog" / "mini"
GIB = 1024**3
MIB = 1024**2


@pytest.fixture(scope="module")
def mini() -> Catalog:
    return load_catalog(None, builtin_dir=MINI)


@pytest.fixture(scope="module")
def real() -> Catalog:
    return load_catalog(None)


def _gpu(name: str, vram_bytes: int | None, vendor: GpuVendor = "nvidia",
         power: float | None = None) -> GpuInfo:
    return GpuInfo(vendor=vendor, name=name, vram_bytes=vram_bytes, power_limit_w=power)


# name, vendor, VRAM bytes as the driver reports them, power limit, expected mini-catalog id
REAL_NAMES = [
    ("NVIDIA GeForce RTX 3060 Laptop GPU", "nvidia", 6 * GIB, 115, "rtx-3060-laptop"),
    ("NVIDIA H200", "nvidia", 143771 * MIB, 700, "h200"),
    ("NVIDIA H100 80GB HBM3", "nvidia", 81559 * MIB, 700, "h100-sxm"),
    ("AMD Radeon RX 7900 XTX", "amd", 24 * GIB, None, "rx-7900-xtx"),
    ("AMD Radeon RX 7900 XT", "amd", 20 * GIB, None, "rx-7900-xt"),
    ("Tesla T4", "nvidia", 15360 * MIB, 70, "t4"),
    ("NVIDIA A100-SXM4-80GB", "nvidia", 81920 * MIB, 400, "a100-sxm-80gb"),
    ("NVIDIA A100-PCIE-40GB", "nvidia", 40960 * MIB, 250, "a100-pcie-40gb"),
    ("NVIDIA GeForce RTX 3060", "nvidia", 8 * GIB, None, "rtx-3060-8gb"),
    ("NVIDIA GeForce RTX 3060", "nvidia", 12 * GIB, None, "rtx-3060-12gb"),
    ("NVIDIA GeForce RTX 3060 Ti", "nvidia", 8 * GIB, None, "rtx-3060-ti"),
    ("NVIDIA H100 PCIe", "nvidia", 81559 * MIB, 350, "h100-pcie"),
]


@pytest.mark.parametrize(("name", "vendor", "vram", "power", "expected"), REAL_NAMES)
def test_real_names_against_the_test_catalog(
    mini: Catalog, name: str, vendor: GpuVendor, vram: int, power: float | None, expected: str
) -> None:
    m = match_gpu(_gpu(name, vram, vendor, power), mini.gpus)
    assert m.entry is not None, m.reason
    assert m.entry.id == expected, m.reason
    assert m.confidence in ("high", "medium")
    assert m.entry.id in m.reason


def test_normalisation() -> None:
    assert normalize_gpu_name("NVIDIA A100-SXM4-80GB") == ("a100", "sxm4", "80gb")
    assert normalize_gpu_name("NVIDIA GeForce RTX 3060 Laptop GPU") == ("rtx", "3060", "laptop")
    assert normalize_gpu_name("Intel(R) Arc(TM) A770 Graphics") == ("arc", "a770")
    assert normalize_gpu_name("Tesla V100 32 GB") == ("v100", "32gb")
    assert is_laptop_name("NVIDIA GeForce GTX 1660 Ti with Max-Q Design")
    assert not is_laptop_name("NVIDIA GeForce RTX 3060")


def test_longest_fragment_wins(mini: Catalog) -> None:
    ti = match_gpu(_gpu("NVIDIA GeForce RTX 3060 Ti", None), mini.gpus)
    assert ti.entry is not None and ti.entry.id == "rtx-3060-ti"


def test_variant_word_blocks_a_shorter_fragment(mini: Catalog) -> None:
    # No "RTX 3090 Ti" entry: the plain RTX 3090 must not claim it.
    m = match_gpu(_gpu("NVIDIA GeForce RTX 3090 Ti", 24 * GIB), mini.gpus)
    assert m.entry is None and m.confidence == "none"
    assert "using the detected facts" in m.reason


def test_laptop_names_only_match_laptop_entries(mini: Catalog) -> None:
    m = match_gpu(_gpu("NVIDIA GeForce RTX 3090 Laptop GPU", 16 * GIB), mini.gpus)
    assert m.entry is None
    assert "laptop" in m.reason
    desktop = match_gpu(_gpu("NVIDIA GeForce RTX 3060", 12 * GIB), mini.gpus)
    assert desktop.entry is not None and desktop.entry.segment != "laptop"


def test_vram_mismatch_is_low_confidence(mini: Catalog) -> None:
    m = match_gpu(_gpu("NVIDIA GeForce RTX 3090", 12 * GIB), mini.gpus)
    assert m.entry is not None and m.entry.id == "rtx-3090"
    assert m.confidence == "low"
    assert "detected VRAM is used" in m.reason


def test_vendor_must_agree(mini: Catalog) -> None:
    assert match_gpu(_gpu("RX 7900 XTX", 24 * GIB, vendor="nvidia"), mini.gpus).entry is None


def test_unknown_vram_still_matches_with_medium_confidence(mini: Catalog) -> None:
    m = match_gpu(_gpu("NVIDIA GeForce RTX 4090", None), mini.gpus)
    assert m.entry is not None and m.entry.id == "rtx-4090"
    assert m.confidence == "medium"


def test_vram_in_the_name_separates_variants_when_memory_is_unknown(mini: Catalog) -> None:
    m = match_gpu(_gpu("NVIDIA A100 80GB", None), mini.gpus)
    assert m.entry is not None and m.entry.vram_gib == 80


def test_memory_type_breaks_a_tie_without_power_limit(mini: Catalog) -> None:
    m = match_gpu(_gpu("NVIDIA H100 80GB HBM3", 81559 * MIB), mini.gpus)
    assert m.entry is not None and m.entry.id == "h100-sxm"


def test_unmatched_gpu_says_so(mini: Catalog) -> None:
    m = match_gpu(_gpu("NVIDIA GeForce RTX 9999", 48 * GIB), mini.gpus)
    assert not m.matched
    assert "48.0 GiB VRAM" in m.reason and "speed and power unknown" in m.reason


@pytest.mark.parametrize(("name", "vendor", "vram", "power", "words", "vram_gib", "segment"), [
    ("NVIDIA GeForce RTX 3060 Laptop GPU", "nvidia", 6 * GIB, None, "3060", 6, "laptop"),
    ("NVIDIA H200", "nvidia", 143771 * MIB, 700, "H200", 141, "datacenter"),
    ("NVIDIA H100 80GB HBM3", "nvidia", 81559 * MIB, 700, "H100 SXM", 80, "datacenter"),
    ("NVIDIA H100 80GB HBM3", "nvidia", 81559 * MIB, None, "H100 SXM", 80, "datacenter"),
    ("AMD Radeon RX 7900 XTX", "amd", 24 * GIB, None, "7900 XTX", 24, "desktop"),
    ("Tesla T4", "nvidia", 15360 * MIB, 70, "T4", 16, "datacenter"),
    ("NVIDIA A100-SXM4-80GB", "nvidia", 81920 * MIB, 400, "A100", 80, "datacenter"),
    ("NVIDIA GeForce RTX 3060", "nvidia", 8 * GIB, None, "3060", 8, "desktop"),
    ("NVIDIA GeForce RTX 3060", "nvidia", 12 * GIB, None, "3060", 12, "desktop"),
])
def test_real_names_against_the_builtin_catalog(
    real: Catalog, name: str, vendor: GpuVendor, vram: int, power: float | None, words: str,
    vram_gib: float, segment: str,
) -> None:
    m = match_gpu(_gpu(name, vram, vendor, power), real.gpus)
    assert m.entry is not None, m.reason
    assert words in m.entry.name
    assert m.entry.vram_gib == pytest.approx(vram_gib)
    assert m.entry.segment == segment
    assert m.confidence == "high"
