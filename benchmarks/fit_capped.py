"""The estimator's two memory figures against the capped-run record (issue 22, item 2).

For every case of ``tests/data/calibration/capped/*.json`` that ran: the estimate's allocated
and reserved peaks and its roomy-card total against the measured ones (the generous run's
``max_memory_allocated`` / ``max_memory_reserved`` and the process's NVML peak plus the
driver's reservation), the least a card must have (``needs_free_bytes``) against the bracket
the card runs put around it, and on every card of 6-24 GB the verdict against the run: a
"fits"/"tight" where the run failed is wrong (the dangerous direction); a "no"/"offload" where
it passed is a needless refusal. Held-out cases (never fitted on) are summarised apart.

    python benchmarks/fit_capped.py            # the table and the summaries
    python benchmarks/fit_capped.py --json     # the rows as JSON
    python benchmarks/fit_capped.py --fit-decode   # refit the SD pipelines' decode figures

``tests/test_capped_verdicts.py`` asserts what this prints: no wrong "fits" on any case and
agreement on every held-out one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

import calibrate_capped_report as report  # noqa: E402

from rigready.assess.estimate import EstimateError, estimate  # noqa: E402
from rigready.assess.estimate.breakdown import driver_reserved_bytes  # noqa: E402
from rigready.assess.estimate.estimator import memory  # noqa: E402
from rigready.assess.estimate.gpu import GpuTarget  # noqa: E402

GIB = 2**30
CARDS = report.CARDS
RUNS_ON = ("fits", "tight")


def verdicts(case: dict[str, Any]) -> dict[int, str]:
    """The estimator's verdict on a typed-in card of each size (``refused``: not walked)."""
    out = {}
    for n in CARDS:
        gpu = GpuTarget(name=f"{n} GiB card", vram_bytes=n * GIB)
        try:
            shape, wl = report.workload_of(case)
            est = estimate(shape, wl, gpu, search=False)
        except (EstimateError, KeyError, ValueError):
            out[n] = "refused"
            continue
        assert est.verdict is not None
        out[n] = est.verdict.status
    return out


def row(name: str, case: dict[str, Any], case_runs: list[dict[str, Any]],
        caps: dict[int, int]) -> dict[str, Any]:
    """One case: figures, bracket, verdicts and their agreement."""
    b = report.bracket(case, case_runs, caps)
    gen = b["generous"] or {}
    try:
        shape, wl = report.workload_of(case)
        m = memory(shape, wl, 24 * GIB)
        refused = None
    except (EstimateError, KeyError, ValueError) as exc:
        m, refused = None, str(exc).splitlines()[0][:120]
    unknown = report.build_transient_cards(case_runs, b["generous"], caps)
    status = {n: s for n, s in b["status"].items() if n not in unknown}
    said = verdicts(case)
    wrong, needless, agree = [], [], []
    for n, seen in status.items():
        v = said[n]
        if v == "refused" or not seen.startswith(("ok", "oom")):
            continue
        runs = seen.startswith("ok")
        agree.append(runs == (v in RUNS_ON))
        if not runs and v in RUNS_ON:
            wrong.append(f"{n} GB: {v}, run failed" + (" (implied)" if "*" in seen else ""))
        if runs and v not in RUNS_ON:
            needless.append(f"{n} GB: {v}, run passed" + (" (implied)" if "*" in seen else ""))
    measured = {k: gen.get(k) for k in ("max_allocated_bytes", "max_reserved_bytes",
                                         "nvml_process_peak_bytes")}
    out: dict[str, Any] = {
        "name": name, "holdout": bool(case.get("holdout")), "family": case.get("family"),
        "refused": refused, "cards": status, "verdicts": said, "wrong_fits": wrong,
        "needless_no": needless, "agree": all(agree) if agree else None,
        "retried": bool((gen.get("allocator") or {}).get("num_alloc_retries"))}
    if m is not None:
        driver = driver_reserved_bytes(24 * GIB)
        out.update(est_allocated=m.allocated, est_reserved=m.reserved,
                   est_process=m.total - driver, needs_free=m.needs_free_bytes - driver)
        for key, est_key in (("max_allocated_bytes", "est_allocated"),
                             ("max_reserved_bytes", "est_reserved"),
                             ("nvml_process_peak_bytes", "est_process")):
            got = measured[key]
            out[f"err_{est_key[4:]}"] = None if not got else (out[est_key] - got) / got
    return out


def _load(paths: list[Path]) -> tuple[dict[str, dict[str, Any]],
                                       dict[str, list[dict[str, Any]]], dict[int, int]]:
    """The records' cases, their runs by case and the card caps."""
    cases, runs, head = report.load(paths)
    return cases, runs, {int(k): int(v) for k, v in head["card_caps_bytes"].items()}


def rows(paths: list[Path]) -> list[dict[str, Any]]:
    """Every job case of the records."""
    cases, runs, caps = _load(paths)
    return [row(name, case, runs.get(name, []), caps) for name, case in cases.items()
            if case.get("kind") in report.JOB_KINDS]


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.1%}"


def summary(table: list[dict[str, Any]], key: str) -> str:
    """Median |error|, worst |error| and the worst under-estimate of ``key`` over the cases
    measured (process peaks of runs whose allocator retried are lower bounds: left out)."""
    errs = [r[key] for r in table if r.get(key) is not None
            and not (key != "err_allocated" and r["retried"])]
    if not errs:
        return f"{key}: no case"
    median = statistics.median(abs(e) for e in errs)
    return (f"{key}: {len(errs)} cases, median |error| {median:.1%}, worst |error| "
            f"{max(abs(e) for e in errs):.1%}, worst under {min(errs):+.1%}")


def fit_decode(paths: list[Path]) -> dict[str, float]:
    """Grid-fit ``pipeline.VAE_DECODE_PER_IMAGE``, ``VAE_DECODE_ONCE`` and
    ``DECODE_ALLOCATED_SHARE`` on the fitted (not held-out) SD 1.5 / SDXL sampling jobs: the
    fewest squared errors of the allocated and the roomy-card (process) peaks, among the values
    that under-estimate neither by more than 3% and give no wrong verdict on any card; the
    held-out jobs are printed, never scored."""
    from rigready.assess.estimate.image import pipeline as pipe

    cases, runs, caps = _load(paths)
    names = [n for n, c in cases.items() if c.get("kind") == "diffusion"
             and c.get("method") == "inference"]

    shipped = (pipe.VAE_DECODE_PER_IMAGE, pipe.VAE_DECODE_ONCE, pipe.DECODE_ALLOCATED_SHARE)

    def evaluate(values: tuple[float, float, float]) -> list[dict[str, Any]]:
        pipe.VAE_DECODE_PER_IMAGE, pipe.VAE_DECODE_ONCE, pipe.DECODE_ALLOCATED_SHARE = values
        return [row(n, cases[n], runs.get(n, []), caps) for n in names]

    best: tuple[float, tuple[float, float, float]] | None = None
    for per_image in (x / 20 for x in range(30, 71)):
        for once in (x / 5 for x in range(11)):
            for share in (x / 20 for x in range(6, 15)):
                table = evaluate((per_image, once, share))
                if any(r["wrong_fits"] or r["needless_no"] for r in table):
                    continue
                fitted = [r for r in table if not r["holdout"]]
                errs = [r[k] for r in fitted for k in ("err_allocated", "err_process")]
                if min(errs) < -0.03:
                    continue
                loss = sum(e * e for e in errs)
                if best is None or loss < best[0]:
                    best = (loss, (per_image, once, share))
    if best is None:
        raise SystemExit("no values pass: every grid point under-estimates or misjudges a card")
    for r in evaluate(best[1]):
        print(f"  {r['name']:<28} {'held out' if r['holdout'] else '':<9} allocated "
              f"{_pct(r['err_allocated'])}  process {_pct(r['err_process'])}")
    evaluate(shipped)  # leave the module as the code ships it
    return dict(zip(("VAE_DECODE_PER_IMAGE", "VAE_DECODE_ONCE", "DECODE_ALLOCATED_SHARE"),
                    best[1], strict=True))


def main(argv: list[str] | None = None) -> int:
    """Print the table and the summaries (or, with ``--fit-decode``, the refit)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--fit-decode", action="store_true")
    args = parser.parse_args(argv)
    paths = args.records or sorted(report.RECORDS.glob("*.json"))
    if args.fit_decode:
        print(fit_decode(paths))
        return 0
    table = rows(paths)
    if args.json:
        print(json.dumps(table, indent=1, default=str))
        return 0
    print("| case | held out | allocated est / err | reserved err | process err | needs free "
          "GiB | runs 6..24 | says 6..24 | wrong |")
    print("|---|---|---|---|---|---|---|---|---|")
    letters = {"fits": "F", "tight": "T", "offload": "O", "no": "N", "refused": "-"}
    for r in sorted(table, key=lambda r: (r["family"] or "", r["name"])):
        runs = " ".join(report._mark(r["cards"].get(n)) for n in CARDS)
        says = " ".join(letters[r["verdicts"][n]] for n in CARDS)
        alloc = "refused" if r["refused"] else \
            f"{r['est_allocated'] / GIB:.2f} / {_pct(r.get('err_allocated'))}"
        need = "-" if r["refused"] else f"{r['needs_free'] / GIB:.2f}"
        wrong = "; ".join([*(f"**{w}**" for w in r["wrong_fits"]), *r["needless_no"]]) or "-"
        print(f"| {r['name']} | {'yes' if r['holdout'] else ''} | {alloc} | "
              f"{_pct(r.get('err_reserved'))} | {_pct(r.get('err_process'))} | {need} | "
              f"{runs} | {says} | {wrong} |")
    print()
    for part, pick in (("all", lambda r: True), ("held out", lambda r: r["holdout"]),
                       ("fitted on", lambda r: not r["holdout"])):
        sel = [r for r in table if pick(r)]
        print(f"{part}: {sum(bool(r['wrong_fits']) for r in sel)} cases with a wrong fit, "
              f"{sum(bool(r['needless_no']) for r in sel)} with a needless refusal, "
              f"{sum(r['agree'] is True for r in sel)} of "
              f"{sum(r['agree'] is not None for r in sel)} judged cases agree on every card")
        for key in ("err_allocated", "err_reserved", "err_process"):
            print("  " + summary(sel, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
