"""Print how long loading the catalog and scoring a profile take (the Readiness page does both on
the GUI thread, so both should stay well under a frame budget of ~16 ms per score).

    .venv/bin/python benchmarks/readiness_speed.py
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from rigready.assess.profile import load_profile
from rigready.assess.score import assess_readiness
from rigready.catalog import load_catalog

PROFILES = Path(__file__).resolve().parent.parent / "tests" / "data" / "profiles"


def main() -> None:
    loads = []
    for _ in range(5):
        start = time.perf_counter()
        cat = load_catalog(None)
        loads.append(time.perf_counter() - start)
    print(f"catalog load ({len(cat.gpus)} GPUs, {len(cat.tasks)} tasks): "
          f"median {1000 * statistics.median(loads):.1f} ms")
    for path in sorted(PROFILES.rglob("*.json")):
        profile = load_profile(path)
        times = []
        for _ in range(50):
            start = time.perf_counter()
            assess_readiness(profile, cat)
            times.append(time.perf_counter() - start)
        print(f"score {path.name}: median {1000 * statistics.median(times):.2f} ms")


if __name__ == "__main__":
    main()
