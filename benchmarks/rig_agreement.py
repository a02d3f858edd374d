"""Print how rigready's answers agree with a careful engineer's on the rig test set.

    .venv/bin/python benchmarks/rig_agreement.py [--all]

Reads tests/data/rigs/questions.toml (18 rigs, task readiness, model fit and upgrade-plan
questions with the expected answer, its reasoning and source) and prints one row per rig,
the totals, agreement and false passes (rigready says go ahead, the engineer says no) apart,
then every disagreement (``--all``: every question).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "build" / "pkgroot"))

from rigready.catalog import default_catalog
from tests.helpers.rig_set import run_all


def main(argv: list[str]) -> int:
    outcomes = run_all(default_catalog())
    rigs = list(dict.fromkeys(o.rig for o in outcomes))
    print(f"{'rig':<24} {'questions':>9} {'agree':>6} {'false pass':>10}")
    for rig in rigs:
        mine = [o for o in outcomes if o.rig == rig]
        print(f"{rig:<24} {len(mine):>9} {sum(o.agrees for o in mine):>6} "
              f"{sum(o.false_pass for o in mine):>10}")
    agree = sum(o.agrees for o in outcomes)
    false = sum(o.false_pass for o in outcomes)
    print(f"{'total':<24} {len(outcomes):>9} {agree:>6} {false:>10}")
    print(f"\nagreement {agree}/{len(outcomes)} = {agree / len(outcomes):.0%}; "
          f"false passes {false}")
    for kind in ("task", "fit", "plan", "route"):
        mine = [o for o in outcomes if o.kind == kind]
        print(f"  {kind:<5} {sum(o.agrees for o in mine)}/{len(mine)} agree, "
              f"{sum(o.false_pass for o in mine)} false passes")
    shown = outcomes if "--all" in argv else [o for o in outcomes if not o.agrees]
    if shown:
        print("\n" + ("every question" if "--all" in argv else "disagreements"))
    for o in shown:
        mark = "FALSE PASS" if o.false_pass else ("ok" if o.agrees else "cautious")
        print(f"  [{mark}] {o.rig}: {o.question}: rigready {o.answer!r}, engineer {o.truth!r}"
              f" - {o.why}")
    return 1 if false else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
