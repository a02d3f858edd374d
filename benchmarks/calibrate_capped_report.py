"""Today's estimator against the capped runs: which verdicts would be wrong, in which direction.

Reads the records of ``calibrate_capped.py`` (``tests/data/calibration/capped/*.json``) and, for
every case, sets what the capped runs showed (the smallest consumer card it ran on, the largest
it failed on, whether that bracket is complete and, if not, why) beside what the current
estimator answers for a card of each size (:func:`rigready.assess.estimate.estimate` on a
``GpuTarget`` of N GiB, as the CLI answers for a typed-in card: "fits"/"tight" let a user start
the job, "offload"/"no" do not). A wrong "fits" (the capped run failed) is the dangerous
direction; a "no" where the capped run passed is a needless refusal. Each is *measured* (the
card itself was run) or *implied* (a failure on a larger card, or a pass on a smaller one: the
same job under a smaller cap cannot do better). Jobs the estimator cannot walk are listed with
its one-line reason. The speed phase and the FSDP ranks: ``calibrate_capped_phases.py``.

    python benchmarks/calibrate_capped_report.py            # markdown on stdout
    python benchmarks/calibrate_capped_report.py --json     # the same rows as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "build" / "pkgroot"))

from rigready.assess.estimate import EstimateError, Workload, estimate  # noqa: E402
from rigready.assess.estimate.gpu import GpuTarget  # noqa: E402
from rigready.assess.estimate.image.shapes import image_shape  # noqa: E402
from rigready.assess.estimate.model import ModelShape  # noqa: E402
from rigready.assess.estimate.shapes import shape_from_config  # noqa: E402
from rigready.assess.measure.workload import head_for_task  # noqa: E402

GIB = 2**30
RECORDS = HERE.parent / "tests" / "data" / "calibration" / "capped"
CARDS = (6, 8, 10, 12, 16, 20, 24)
RUNS_ON = ("fits", "tight")
#: Kinds the report judges (the rest are the context, speed and FSDP phases).
JOB_KINDS = ("lm", "vision", "diffusion", "dit")
#: One letter per verdict, for the per-card column.
LETTER = {"fits": "F", "tight": "T", "offload": "O", "no": "N", "refused": "-"}


def load(paths: list[Path]) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]],
                                     dict[str, Any]]:
    """(cases by name, runs by case name, the oldest document's header) of the record files,
    oldest record first (so a later re-measurement's runs come after the ones it replaces)."""
    cases: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    head: dict[str, Any] = {}
    docs = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    for doc in sorted(docs, key=lambda d: str(d.get("date", ""))):
        cases.update(doc["cases"])
        for run in doc["runs"]:
            runs.setdefault(run["name"], []).append(run)
        # the first record's header: its card caps are the ones the card runs used (a later
        # call resumed with the same context; a re-measurement's own context may differ)
        head = head or {k: v for k, v in doc.items() if k not in ("runs", "cases", "configs")}
    return cases, runs, head


def evidence(runs: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(allocator cap, status) of every run of a case that had a cap (generous and card runs)."""
    return [(int(r["cap_bytes"]), str(r["result"].get("status"))) for r in runs
            if r.get("cap_bytes") and r["role"] != "speed"]


def card_status(ev: list[tuple[int, str]], caps: dict[int, int]) -> dict[int, str]:
    """Card -> ``ok`` / ``oom`` where a run had exactly its cap, ``ok*`` / ``oom*`` where a run
    under a smaller cap passed or one under a larger cap failed (the same job cannot do worse
    with more room), else ``timeout`` etc. as recorded; cards with no evidence are left out."""
    out: dict[int, str] = {}
    for n in CARDS:
        cap = caps[n]
        own = [s for c, s in ev if c == cap]
        decisive = [s for s in own if s in ("ok", "oom")]  # a timeout of one call says nothing
        if decisive:
            out[n] = decisive[-1]
        elif any(s == "oom" and c >= cap for c, s in ev):
            out[n] = "oom*"
        elif any(s == "ok" and c <= cap for c, s in ev):
            out[n] = "ok*"  # a run of this card that timed out or crashed says nothing
        elif own:
            out[n] = own[0]
    return out


def bracket(case: dict[str, Any], runs: list[dict[str, Any]], caps: dict[int, int]
            ) -> dict[str, Any]:
    """What the runs of one case showed: the generous run's figures (or the failed generous
    run's lower bound), per card what ran or is implied, the smallest card passed, the largest
    card failed, and whether that answers "the least card of 6-24 GB" (``complete``) with the
    reason when it does not."""
    # the newest passing generous run: a re-measurement supersedes the run it repeats
    gen = next((r for r in reversed(runs) if r["role"].startswith("generous")
                and r["result"].get("status") == "ok"), None)
    gen_fail = next((r for r in runs if r["role"].startswith("generous")
                     and r["result"].get("status") == "oom"), None)
    status = card_status(evidence(runs), caps)
    passed = [n for n, s in status.items() if s.startswith("ok")]
    failed = [n for n, s in status.items() if s.startswith("oom")]
    min_pass = min(passed) if passed else None
    max_fail = max(failed) if failed else None
    if min_pass == CARDS[0] or max_fail == CARDS[-1]:
        complete = True
    else:
        complete = (min_pass is not None and max_fail is not None
                    and CARDS.index(min_pass) == CARDS.index(max_fail) + 1)
    lower = None
    if gen_fail is not None:
        r = gen_fail["result"]
        lower = int(r.get("oom_allocated_bytes") or 0) + int(r.get("oom_tried_bytes") or 0)
    return {"generous": gen["result"] if gen else None, "lower_bound": lower,
            "status": status, "min_pass": min_pass, "max_fail": max_fail,
            "need_above": caps[max_fail] if max_fail else None,
            "need_at_most": caps[min_pass] if min_pass else None,
            "complete": complete,
            "why": None if complete else _why_open(case, runs, status, gen, gen_fail, caps)}


def _why_open(case: dict[str, Any], runs: list[dict[str, Any]], status: dict[int, str],
              gen: dict[str, Any] | None, gen_fail: dict[str, Any] | None,
              caps: dict[int, int]) -> str:
    """Why a case has no complete bracket, in words (from its runs alone)."""
    why = _why_not_run(case, runs, status, gen, gen_fail)
    peak = int(((gen or {}).get("result") or {}).get("max_allocated_bytes") or 0)
    below = [n for n in CARDS if caps[n] < peak and n not in status]
    if below:
        n = below[-1]
        why += (f"; its allocated peak ({peak / GIB:.2f} GiB) is above the {n} GB card's cap "
                f"({caps[n] / GIB:.2f}), so it is not expected to pass there (inferred, not run)")
    return why


def _why_not_run(case: dict[str, Any], runs: list[dict[str, Any]], status: dict[int, str],
                 gen: dict[str, Any] | None, gen_fail: dict[str, Any] | None) -> str:
    need = case.get("reserve_gib", 0) + 1.2
    if not runs:
        return (f"never started: waited for {need:.1f} GiB of the shared pool until the capped "
                "phase's deadline")
    if gen is None and gen_fail is not None:
        r = gen_fail["result"]
        return (f"the generous cap ({gen_fail['cap_bytes'] / GIB:.1f} GiB) was too small: out of "
                f"memory in stage '{r.get('stage', '?')}' with "
                f"{(r.get('oom_allocated_bytes') or 0) / GIB:.2f} GiB allocated asking "
                f"{(r.get('oom_tried_bytes') or 0) / 2**20:.0f} MiB more; the retry at twice "
                "the cap never started before the deadline")
    if gen is None:
        return f"generous run {runs[0]['result'].get('status')}"
    if case.get("no_bracket"):
        return "by design: generous run only"
    stuck = [n for n, s in status.items() if not s.startswith(("ok", "oom"))]
    if stuck:
        r = next(r for r in runs if r.get("card_gib") == stuck[0])["result"]
        return (f"card-{stuck[0]} {r.get('status')} ({r.get('error', '')}: the runner's "
                "deadline plus grace, not a hang)")
    if not any(r.get("card_gib") for r in runs):
        return "no card run started before the deadline"
    return "the next card of the walk never started before the deadline"


def workload_of(case: dict[str, Any]) -> tuple[ModelShape, Workload]:
    """The estimator's shape and workload for a recorded case (EstimateError: not walkable)."""
    if case["kind"] == "lm":
        spec = case["spec"]
        cfg = {k: v for k, v in spec["config"].items() if not k.startswith("_")}
        wl = Workload(method=spec["method"], precision=spec["precision"], batch=spec["batch"],
                      seq_len=max(1, spec["seq"]), new_tokens=spec["new_tokens"],
                      checkpointing=spec["checkpointing"], lora_rank=spec["lora_rank"],
                      lora_targets=tuple(spec["lora_targets"]), attention=spec["attn"],
                      head=head_for_task(spec["task"]))
        return shape_from_config(cfg, Path(case["config"]).name), wl
    if case["kind"] == "vision":
        method: Literal["full", "inference"] = (
            "full" if case["method"] == "full" else "inference")
        return image_shape(case["arch"], case["arch"]), Workload(
            method=method, precision=case["precision"], batch=case["batch"],
            image_size=case["image"])
    if case["kind"] == "diffusion":
        # as the children ran them: fp16 pipelines for sampling, bf16 (fp32 adapters) for LoRA
        infer = case["method"] == "inference"
        return image_shape(case["model"], case["model"]), Workload(
            method=case["method"], precision="fp16" if infer else "bf16", batch=case["batch"],
            image_size=case["image"], lora_rank=case.get("rank", 4),
            checkpointing=bool(case.get("checkpointing")),
            sampling_steps=case.get("steps", 30), vae_tiling=bool(case.get("vae_tiling")))
    if case["kind"] == "dit":  # SD3.5 / FLUX.1 as calibrate_dit.py ran them (bf16 compute)
        weights = None if case["variant"] == "bf16" else case["variant"]
        return image_shape(case["model"], case["model"]), Workload(
            method="inference", precision="bf16", batch=case.get("batch", 1),
            image_size=case["image"], sampling_steps=case.get("steps", 2),
            offload=case.get("offload", "none"), weights=weights)
    raise EstimateError(f"{case['kind']}: no estimator path for this kind of case")


def today(case: dict[str, Any], card_gib: int) -> tuple[int | None, str, str | None]:
    """(estimated total bytes, verdict status, why refused) for a card of ``card_gib`` GiB."""
    gpu = GpuTarget(name=f"{card_gib} GiB card", vram_bytes=card_gib * GIB)
    try:
        shape, wl = workload_of(case)
        est = estimate(shape, wl, gpu, search=False)
    except (EstimateError, KeyError, ValueError) as exc:
        return None, "refused", str(exc).splitlines()[0].split(" (supported")[0][:160]
    assert est.verdict is not None  # a GPU was given
    return est.memory.total, est.verdict.status, None


def wrong_verdicts(status: dict[int, str], verdicts: dict[int, str]
                   ) -> tuple[list[str], list[str]]:
    """(wrong "fits", needless "no"): "N GB: says X, run failed/passed", with "(implied)" where
    the card itself was not run (:func:`card_status`)."""
    bad_fit: list[str] = []
    bad_no: list[str] = []
    for n in CARDS:
        verdict, seen = verdicts.get(n, "refused"), status.get(n, "")
        tag = " (implied)" if seen.endswith("*") else ""
        if verdict == "refused":
            continue
        if seen.startswith("oom") and verdict in RUNS_ON:
            bad_fit.append(f"{n} GB: says {verdict}, run failed{tag}")
        if seen.startswith("ok") and verdict not in RUNS_ON:
            bad_no.append(f"{n} GB: says {verdict}, run passed{tag}")
    return bad_fit, bad_no


def _steady_peak(gen: dict[str, Any]) -> int:
    """The job's own peak in the measurement child: the weights or the steps, whichever is more."""
    return max(int(gen.get("weights_allocated_bytes") or 0),
               int(gen.get("max_allocated_bytes") or 0))


def _transient_card(run: dict[str, Any], gen: dict[str, Any] | None,
                    caps: dict[int, int]) -> int | None:
    """The card of a run that failed while building the test model with the job's own peak
    under the cap (None for any other run)."""
    res, n = run["result"], run.get("card_gib")
    # no upper bound from the generous run's build peak: the newest generous run may be a
    # re-measure with the fixed build, whose build never passes the job's own peak
    if n and res.get("status") == "oom" and res.get("stage") == "build" and gen is not None \
            and _steady_peak(gen) < caps[n]:
        return int(n)
    return None


def build_transient_cards(runs: list[dict[str, Any]], gen: dict[str, Any] | None,
                          caps: dict[int, int]) -> set[int]:
    """Cards whose run failed while building the test model with the job's own peak under the
    cap (Gemma 3's head existed untied for a moment in the first call's measurement child, not
    in a real load): the README treats those cards as unknown. The job's peak is the newest
    generous run's, which a re-measure with the fixed build may have replaced: a build that
    fails under a cap above the job's own peak is the build's failure, not the job's."""
    return {n for r in runs if (n := _transient_card(r, gen, caps)) is not None}


def flags(runs: list[dict[str, Any]], gen: dict[str, Any] | None,
          caps: dict[int, int]) -> list[str]:
    """What to keep in mind when reading a case's figures."""
    out = []
    if gen is not None and (gen.get("allocator") or {}).get("num_alloc_retries"):
        out.append("generous cap bound (allocator retried): reserved/process peaks are lower "
                   "bounds")
    for r in runs:
        n = _transient_card(r, gen, caps)
        if n is not None and gen is not None:
            build = int(r["result"].get("build_max_allocated_bytes")
                        or gen.get("build_max_allocated_bytes") or 0) / GIB
            out.append(f"card-{n} failed while building (build peak {build:.2f} GiB in that "
                       f"run's child, job peak {_steady_peak(gen) / GIB:.2f} < cap "
                       f"{caps[n] / GIB:.2f}): the test build's transient, a real load may "
                       "pass")
    return out


def rows(paths: list[Path]) -> list[dict[str, Any]]:
    """One row per case: the runs' bracket and the estimator's answer on every card."""
    cases, runs, head = load(paths)
    caps = {int(k): int(v) for k, v in head.get("card_caps_bytes", {}).items()}
    table = []
    for name, case in cases.items():
        if case.get("kind") not in JOB_KINDS:
            continue
        mine = runs.get(name, [])
        b = bracket(case, mine, caps)
        gen = b["generous"] or {}
        answers = {n: today(case, n) for n in CARDS}
        verdicts = {n: a[1] for n, a in answers.items()}
        unknown = build_transient_cards(mine, b["generous"], caps)
        bad_fit, bad_no = wrong_verdicts(
            {n: st for n, st in b["status"].items() if n not in unknown}, verdicts)
        table.append({
            "name": name, "family": case.get("family"), "holdout": bool(case.get("holdout")),
            "max_allocated_gib": _g(gen.get("max_allocated_bytes")),
            "max_reserved_gib": _g(gen.get("max_reserved_bytes")),
            "process_peak_gib": _g(gen.get("nvml_process_peak_bytes")),
            "lower_bound_gib": _g(b["lower_bound"]),
            "min_pass_card": b["min_pass"], "max_fail_card": b["max_fail"],
            "need_above_gib": _g(b["need_above"]), "need_at_most_gib": _g(b["need_at_most"]),
            "complete": b["complete"], "why_open": b["why"],
            "cards": {str(n): s for n, s in sorted(b["status"].items())},
            "estimate_gib": _g(answers[CARDS[-1]][0]), "refused": answers[CARDS[-1]][2],
            "verdicts": {str(n): v for n, v in verdicts.items()},
            "wrong_fits": bad_fit, "needless_no": bad_no,
            "flags": flags(mine, b["generous"], caps)})
    return table


def order(r: dict[str, Any]) -> tuple[int, str, str]:
    """Wrong "fits" first, then needless "no", then refused families, then the rest."""
    rank = 0 if r["wrong_fits"] else 1 if r["needless_no"] else 2 if r["refused"] else 3
    return rank, r["family"] or "", r["name"]


def _g(value: int | None) -> float | None:
    return None if value is None else round(value / GIB, 2)


def _mark(status: str | None) -> str:
    """One letter per card run: P passed, X failed, p / x implied, t timed out, . none."""
    if not status:
        return "."
    base = {"ok": "P", "oom": "X"}.get(status.rstrip("*"), status[0])
    return base.lower() if status.endswith("*") else base


def _card(r: dict[str, Any], key: str) -> str:
    n = r[key]
    if n is None:
        return "-"
    return f"{n}*" if r["cards"][str(n)].endswith("*") else str(n)


def markdown(table: list[dict[str, Any]]) -> list[str]:
    """The comparison as markdown lines."""
    lines = ["| case | held out | alloc / reserved / process GiB | runs on | fails on | "
             "allocator needs GiB | runs 6..24 | today 6..24 | today's estimate GiB (24 GB card) | "
             "wrong verdicts |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(table, key=order):
        if r["max_allocated_gib"] is not None:
            fig = f"{r['max_allocated_gib']} / {r['max_reserved_gib']} / {r['process_peak_gib']}"
        elif r["lower_bound_gib"] is not None:
            fig = f"> {r['lower_bound_gib']} (generous run failed)"
        else:
            fig = "not run"
        est = r["estimate_gib"] if r["refused"] is None else "refused"
        runs = " ".join(_mark(r["cards"].get(str(n))) for n in CARDS)
        per_card = " ".join(LETTER[r["verdicts"][str(n)]] for n in CARDS)
        wrong = "; ".join([*(f"**{w}**" for w in r["wrong_fits"]), *r["needless_no"]]) or "-"
        runs_on = _card(r, "min_pass_card") + ("" if r["complete"] else " (open)")
        lo, hi = r["need_above_gib"], r["need_at_most_gib"]
        need = ("-" if lo is None and hi is None else f"<= {hi}" if lo is None
                else f"> {lo}" if hi is None else f"({lo}, {hi}]")
        lines.append(f"| {r['name']} | {'yes' if r['holdout'] else ''} | {fig} | {runs_on} | "
                     f"{_card(r, 'max_fail_card')} | {need} | {runs} | {per_card} | {est} | "
                     f"{wrong} |")
    lines += ["", "Allocator needs: the cap of the largest failing card (exclusive) to the cap "
              "of the smallest passing card (what PyTorch's allocator may hold on it). Runs: P "
              "passed, X failed (out of memory), p / x implied by a run under a smaller / larger "
              "cap, t timed out, . not run. Today: F fits, T tight, O offload, N no, - refused. "
              "Open brackets:", ""]
    for r in sorted(table, key=lambda r: (r["family"] or "", r["name"])):
        if not r["complete"]:
            lines.append(f"- {r['name']}: {r['why_open']}")
    notes = [(r["name"], f) for r in table for f in r["flags"]]
    if notes:
        lines += ["", "Flags:", ""] + [f"- {n}: {f}" for n, f in notes]
    refused = sorted({r["refused"] for r in table if r["refused"]})
    if refused:
        lines += ["", "Refused today:", ""] + [f"- {why}" for why in refused]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the comparison."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("records", nargs="*", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    paths = args.records or sorted(RECORDS.glob("*.json"))
    if not paths:
        parser.error(f"no capped-run record in {RECORDS}")
    table = rows(paths)
    if args.json:
        print(json.dumps(sorted(table, key=order), indent=1))
        return 0
    print("\n".join(markdown(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
