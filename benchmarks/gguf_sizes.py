"""Print the GGUF size estimate against every published file size in
``tests/data/gguf/published_sizes.csv`` (run from the repository root)."""

from __future__ import annotations

import csv
from pathlib import Path

from rigready.assess.estimate.language.gguf import gguf_size
from rigready.assess.estimate.shapes import shape_from_entry
from rigready.catalog import default_catalog

TABLE = Path(__file__).parents[1] / "tests" / "data" / "gguf" / "published_sizes.csv"


def main() -> None:
    """One line per model x quant: estimate, published, difference."""
    cat = default_catalog()
    lines = [line for line in TABLE.read_text().splitlines() if not line.startswith("#")]
    worst = 0.0
    print(f"{'model':16} {'quant':7} {'estimate GB':>11} {'published GB':>12} {'diff':>7}")
    for row in csv.DictReader(lines):
        shape = shape_from_entry(cat.model(row["catalog_model"]))
        est = gguf_size(shape, row["quant"], imatrix=row["imatrix"] == "yes").total_bytes / 1e9
        pub = float(row["size_gb"])
        diff = (est - pub) / pub
        worst = max(worst, abs(diff))
        print(f"{row['catalog_model']:16} {row['quant']:7} {est:11.2f} {pub:12.2f} {diff:+7.2%}")
    print(f"worst difference {worst:.2%}")


if __name__ == "__main__":
    main()
