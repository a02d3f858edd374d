"""GGUF weight sizes against published file sizes (tests/data/gguf/published_sizes.csv)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rigready.assess.estimate import EstimateError
from rigready.assess.estimate.language.gguf import (
    BLOCKS,
    bits_per_weight,
    gguf_size,
    kv_bytes_per_element,
    normalise_quant,
    tensor_type,
)
from rigready.assess.estimate.shapes import shape_from_entry
from rigready.catalog import default_catalog

TABLE = Path(__file__).parent / "data" / "gguf" / "published_sizes.csv"
#: Published sizes are rounded to 10 MB; the estimate counts every tensor, so 1 % is generous.
TOLERANCE = 0.01
CAT = default_catalog()


def _rows() -> list[dict[str, str]]:
    lines = [line for line in TABLE.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


ROWS = _rows()


def test_the_table_has_at_least_ten_pairs_with_sources() -> None:
    assert len(ROWS) >= 10
    assert len({r["catalog_model"] for r in ROWS}) >= 5  # two of them mixtures of experts
    assert all(r["source"] and r["repo"] for r in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['catalog_model']}-{r['quant']}" for r in ROWS])
def test_file_size_matches_published(row: dict[str, str]) -> None:
    shape = shape_from_entry(CAT.model(row["catalog_model"]))
    size = gguf_size(shape, row["quant"], imatrix=row["imatrix"] == "yes").total_bytes / 1e9
    assert size == pytest.approx(float(row["size_gb"]), rel=TOLERANCE)


def test_block_layouts_give_the_known_bits_per_weight() -> None:
    expected = {"Q4_0": 4.5, "Q8_0": 8.5, "Q2_K": 2.625, "Q3_K": 3.4375, "Q4_K": 4.5,
                "Q5_K": 5.5, "Q6_K": 6.5625, "IQ4_XS": 4.25, "MXFP4": 4.25}
    for name, bits in expected.items():
        assert bits_per_weight(name) == bits


def test_medium_mixes_are_bigger_than_the_nominal_type() -> None:
    shape = shape_from_entry(CAT.model("qwen3-8b"))
    q4km = gguf_size(shape, "Q4_K_M").bits_per_weight
    q4ks = gguf_size(shape, "Q4_K_S").bits_per_weight
    assert bits_per_weight("Q4_K") < q4ks < q4km < 5.2


def test_rows_not_a_multiple_of_the_block_fall_back() -> None:
    # gpt-oss's hidden size 2880 is not a multiple of 256: Q4_K falls back to Q5_0
    shape = shape_from_entry(CAT.model("gpt-oss-20b"))
    size = gguf_size(shape, "MXFP4_MOE")
    # MXFP4_MOE: experts at 4.25 bits, the rest Q8_0 (8.5 bits) or F32
    experts = sum(size.expert_bytes)
    assert experts == pytest.approx(24 * 32 * 3 * 2880 * 2880 * 4.25 / 8, rel=1e-6)
    assert size.total_bytes == pytest.approx(experts + (shape.params - 24 * 32 * 3 * 2880 * 2880)
                                             * 8.5 / 8, rel=0.01)
    from rigready.assess.estimate.language.gguf import layer_tensors

    q = layer_tensors(shape, 0)[0]
    assert tensor_type(shape, "Q4_K_M", q) == "Q5_0"


def test_names_and_kv_types() -> None:
    assert normalise_quant("q4_k_m") == "Q4_K_M"
    with pytest.raises(EstimateError, match="unknown quant type"):
        normalise_quant("Q9_K")
    assert kv_bytes_per_element("f16") == 2
    assert kv_bytes_per_element("q8_0") == 34 / 32
    assert kv_bytes_per_element("q4_0") == 18 / 32
    with pytest.raises(EstimateError, match="KV-cache type"):
        kv_bytes_per_element("q3_k")
    assert set(BLOCKS) >= {"Q4_0", "Q8_0", "IQ4_XS"}
