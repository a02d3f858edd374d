"""Today's estimator against the capped runs: which verdicts would be wrong, in which direction.

Reads the records of ``calibrate_capped.py`` (``tests/data/calibration/capped/*.json``) and, for
every case with a bracket, sets the smallest consumer card it ran on (and the largest it failed
on) beside what the current estimator answers for a card of that size (:func:`judge` on a
``GpuTarget`` of N GiB: "fits"/"tight" let a user start the job, "offload"/"no" do not).
A wrong "fits" (the capped run failed) is the dangerous direction; a "no" where the capped run
passed is a needless refusal. Jobs the estimator cannot walk are listed with its one-line reason.

    python benchmarks/calibrate_capped_report.py            # markdown tables on stdout
    python benchmarks/calibrate_capped_report.py --json     # the same rows as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

from rigready.assess.estimate import EstimateError, Workload  # noqa: E402
from rigready.assess.estimate.gpu import GpuTarget  # noqa: E402
from rigready.assess.estimate.memory import memory  # noqa: E402
from rigready.assess.estimate.model import shape_from_config, with_head  # noqa: E402
from rigready.assess.estimate.verdict import judge  # noqa: E402
from rigready.assess.measure.workload import head_for_task  # noqa: E402

GIB = 2**30
RECORDS = HERE.parent / "tests" / "data" / "calibration" / "capped"
RUNS_ON = ("fits", "tight")


def load(paths: list[Path]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(cases by name, runs by case name) of the record files."""
    cases: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        cases.update(doc["cases"])
        for run in doc["runs"]:
            runs.setdefault(run["name"], []).append(run)
    return cases, runs


def bracket(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Uncapped figures, the smallest card passed and the largest card failed."""
    out: dict[str, Any] = {"generous": None, "min_pass": None, "max_fail": None}
    for run in runs:
        r = run["result"]
        if run["role"].startswith("generous") and r.get("status") == "ok":
            out["generous"] = r
        card = run.get("card_gib")
        if card is None:
            continue
        if r.get("status") == "ok":
            out["min_pass"] = card if out["min_pass"] is None else min(out["min_pass"], card)
        elif r.get("status") == "oom":
            out["max_fail"] = card if out["max_fail"] is None else max(out["max_fail"], card)
    return out


def estimate_total(case: dict[str, Any], card_gib: int) -> tuple[int | None, str, str | None]:
    """(estimated bytes, verdict status, why not estimated) for a card of ``card_gib`` GiB."""
    gpu = GpuTarget(name=f"{card_gib} GiB card", vram_bytes=card_gib * GIB)
    try:
        if case["kind"] == "lm":
            spec = case["spec"]
            cfg = {k: v for k, v in spec["config"].items() if not k.startswith("_")}
            wl = Workload(method=spec["method"], precision=spec["precision"],
                          batch=spec["batch"], seq_len=max(1, spec["seq"]),
                          new_tokens=spec["new_tokens"], checkpointing=spec["checkpointing"],
                          lora_rank=spec["lora_rank"], lora_targets=tuple(spec["lora_targets"]),
                          attention=spec["attn"], head=head_for_task(spec["task"]))
            shape = with_head(shape_from_config(cfg, Path(case["config"]).name), wl.head)
            mem = memory(shape, wl, gpu.vram_bytes)
            return mem.total, judge(shape, wl, mem, gpu).status, None
        if case["kind"] in ("vision", "diffusion"):
            import fit_image_memory as fim

            # the image path gives a total; "runs" when it is inside the card (no band)
            total, _ = fim.estimate_case(case)
            return total, "fits" if total <= gpu.vram_bytes else "no", None
        return None, "refused", f"{case['kind']}: no estimator path for this family"
    except (EstimateError, KeyError, ValueError) as exc:
        return None, "refused", str(exc)[:160]


def rows(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per case: measured bracket and the estimator's answer per card."""
    cases, runs = load(paths)
    out = []
    for name, case in cases.items():
        if case.get("kind") not in ("lm", "vision", "diffusion", "dit"):
            continue
        b = bracket(runs.get(name, []))
        gen = b["generous"] or {}
        cards = sorted({r["card_gib"] for r in runs.get(name, []) if r.get("card_gib")})
        est = {n: estimate_total(case, n) for n in (cards or [24])}
        wrong = []
        for run in runs.get(name, []):
            n, status = run.get("card_gib"), run["result"].get("status")
            if n is None or status not in ("ok", "oom"):
                continue
            verdict = est[n][1]
            if verdict == "refused":
                continue
            if status == "oom" and verdict in RUNS_ON:
                wrong.append(f"{n} GB: says {verdict}, run failed")
            if status == "ok" and verdict not in RUNS_ON:
                wrong.append(f"{n} GB: says {verdict}, run passed")
        first = next(iter(est.values()))
        out.append({"name": name, "family": case.get("family"), "holdout": case.get("holdout"),
                    "max_allocated_gib": _g(gen.get("max_allocated_bytes")),
                    "max_reserved_gib": _g(gen.get("max_reserved_bytes")),
                    "process_peak_gib": _g(gen.get("nvml_process_peak_bytes")),
                    "min_pass_card": b["min_pass"], "max_fail_card": b["max_fail"],
                    "estimate_gib": _g(first[0]), "refused": first[2], "wrong": wrong})
    return out


def _g(value: int | None) -> float | None:
    return None if value is None else round(value / GIB, 2)


def main(argv: list[str] | None = None) -> int:
    """Print the comparison."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = args.records or sorted(RECORDS.glob("*.json"))
    table = rows(paths)
    if args.json:
        print(json.dumps(table, indent=1))
        return 0
    print("| case | held out | alloc GiB | reserved GiB | process GiB | runs on (GB) | fails on "
          "(GB) | estimate GiB | wrong verdicts |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(table, key=lambda r: (r["family"] or "", r["name"])):
        est = r["estimate_gib"] if r["refused"] is None else f"refused: {r['refused'][:60]}"
        print(f"| {r['name']} | {'yes' if r['holdout'] else ''} | {r['max_allocated_gib']} | "
              f"{r['max_reserved_gib']} | {r['process_peak_gib']} | {r['min_pass_card'] or '-'} "
              f"| {r['max_fail_card'] or '-'} | {est} | {'; '.join(r['wrong']) or '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
