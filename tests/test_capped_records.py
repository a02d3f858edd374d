"""The capped-run records of issue 22 (``benchmarks/calibrate_capped.py``) hold what the estimator
work needs: versions, the method, the card caps, and for every case its uncapped figures and the
card runs that bracket it (complete or not: the first record ran out of its time budget before
every case was bracketed, and the README says which and why). These test the records and the
report's reading of them; only the last one asks anything of the estimator."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import calibrate_capped as cc  # noqa: E402
import calibrate_capped_grid as grid  # noqa: E402
import calibrate_capped_report as report  # noqa: E402

DATA = Path(__file__).parent / "data" / "calibration"
RECORDS = sorted((DATA / "capped").glob("*.json"))
GIB = 2**30
JOB_KINDS = ("lm", "vision", "diffusion", "dit")


def _docs() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in RECORDS]


def _runs() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(doc, run) for doc in _docs() for run in doc["runs"]]


def test_a_record_is_committed() -> None:
    assert RECORDS, "tests/data/calibration/capped/ holds no record"


def test_records_exist_with_versions_and_method() -> None:
    for doc in _docs():
        assert doc["schema"] == "rigready.calibration.capped"
        assert doc["gpu"]["name"] and doc["gpu"]["driver"] and doc["gpu"]["total_bytes"]
        soft = doc["software"]
        for name in ("torch", "transformers", "peft", "diffusers", "torch_cuda"):
            assert soft.get(name), name
        # bitsandbytes where a run of the document quantizes (a re-measure may have none)
        if any(c.get("spec", {}).get("precision") == "nf4" or c.get("kind") == "fsdp"
               for c in doc["cases"].values()):
            assert soft.get("bitsandbytes")
        assert "set_per_process_memory_fraction" in doc["method"]
        assert doc["date"] and doc["cards_gib"] == list(cc.CARDS)


def test_versions_captured_beside_the_record_agree_with_it() -> None:
    """The lead's capture on the machine (date, nvidia-smi, then torch, CUDA, transformers,
    peft, bitsandbytes, diffusers, accelerate as the libraries report them) names the same GPU,
    driver and versions as the record's own metadata."""
    for path, doc in zip(RECORDS, _docs(), strict=True):
        text = path.with_name(path.stem + "-versions.txt").read_text(encoding="utf-8")
        soft, gpu = doc["software"], doc["gpu"]
        assert gpu["name"] in text and f"Driver Version: {gpu['driver']}" in text
        captured = _captured_versions(text)
        assert captured["torch"].split("+")[0] == soft["torch"]
        assert captured["cuda"] == soft["torch_cuda"]
        for name in ("transformers", "peft", "bitsandbytes", "diffusers", "accelerate",
                     "python"):
            assert captured.get(name, soft.get(name)) == soft.get(name), name
        assert doc["date"][:10] in path.stem


#: The version lines of the captures: the first call printed torch, CUDA, transformers, peft,
#: bitsandbytes, diffusers and accelerate; the second Python, torch, CUDA, transformers,
#: peft, diffusers and bitsandbytes (and then the CPU count); the re-measure Python, torch,
#: CUDA, transformers and peft.
_CAPTURE_ORDERS = (
    ("torch", "cuda", "transformers", "peft", "bitsandbytes", "diffusers", "accelerate"),
    ("python", "torch", "cuda", "transformers", "peft", "diffusers", "bitsandbytes"),
    ("python", "torch", "cuda", "transformers", "peft"),
)


def _captured_versions(text: str) -> dict[str, str]:
    """The capture's version line (the one naming torch's CUDA build), by library."""
    line = next(ln for ln in text.splitlines() if "+cu" in ln and "|" not in ln).split()
    order = next(o for o in _CAPTURE_ORDERS if ("+cu" in line[0]) == (o[0] == "torch")
                 and len(o) == len(line))
    return dict(zip(order, line, strict=True))


def test_card_caps_are_the_card_less_reservation_and_the_measured_context() -> None:
    for doc in _docs():
        caps = {int(k): v for k, v in doc["card_caps_bytes"].items()}
        context = doc["context_bytes_for_caps"]
        assert 0.1 * GIB < context < 1.5 * GIB
        probe = next(r for r in doc["runs"] if r["role"] == "context")["result"]
        assert context == max(s["beside_allocator_bytes"] for s in probe["stages"])
        assert sorted(caps) == list(cc.CARDS)
        for card, cap in caps.items():
            assert cap == cc.card_cap(card, context)
            assert card * GIB - 0.5 * GIB - context < cap < card * GIB - context


def test_every_card_run_names_its_cap_and_outcome() -> None:
    card_runs = [(d, r) for d, r in _runs() if r.get("card_gib")]
    assert len(card_runs) >= 20
    for doc, run in card_runs:
        assert run["cap_bytes"] == doc["card_caps_bytes"][str(run["card_gib"])]
        res = run["result"]
        assert res["status"] in ("ok", "oom", "error", "timeout", "crashed"), run["name"]
        if res["status"] == "ok":
            # a pass under a cap never reserved more than the cap
            assert res["max_reserved_bytes"] <= run["cap_bytes"], run["name"]
        if res["status"] == "oom":
            assert res.get("oom_tried_bytes") or res.get("error"), run["name"]


def test_failed_runs_hit_the_cap_they_were_given() -> None:
    """PyTorch's message names the allowed memory: the cap, to its two decimals of GiB."""
    ooms = [(d, r) for d, r in _runs() if r["result"]["status"] == "oom"]
    assert ooms
    for _, run in ooms:
        allowed = run["result"]["oom_allowed_bytes"]
        assert abs(allowed - run["cap_bytes"]) <= 0.006 * GIB, run["name"]


def test_a_card_that_passed_is_larger_than_every_card_that_failed() -> None:
    """Per case, over every capped run of every call (generous and card runs): more room never
    failed where less room passed. Timeouts say nothing either way."""
    _, runs_by_case, _ = report.load(RECORDS)
    checked = 0
    for name, runs in runs_by_case.items():
        capped = [(r["cap_bytes"], r["result"]["status"]) for r in runs
                  if r.get("cap_bytes") and r["role"] != "speed"]
        passed = [c for c, s in capped if s == "ok"]
        failed = [c for c, s in capped if s == "oom"]
        if passed and failed:
            checked += 1
            assert min(passed) > max(failed), name
    assert checked >= 15


def test_uncapped_figures_of_every_measured_case() -> None:
    generous = [(d, r) for d, r in _runs() if r["role"].startswith("generous")
                and r["result"]["status"] == "ok"]
    assert len(generous) >= 15
    for _, run in generous:
        res = run["result"]
        assert res["max_allocated_bytes"] <= res["max_reserved_bytes"] <= run["cap_bytes"]
        assert "num_alloc_retries" in res["allocator"]


def test_held_out_cases_are_marked_as_the_grid_defines_and_about_a_third() -> None:
    defined = {c["name"]: c["holdout"] for c in grid.recorded()}
    for doc in _docs():
        cases = [c for c in doc["cases"].values() if c["kind"] in JOB_KINDS]
        marked = {c["name"]: bool(c.get("holdout")) for c in cases}
        # a re-measure (``--only``) holds some of the grid's cases, marked as the grid marks them
        assert marked.items() <= defined.items()
    held = [n for n, h in defined.items() if h]
    assert 0.2 <= len(held) / len(defined) <= 0.45
    measured = {r["name"] for _, r in _runs() if r["result"]["status"] == "ok"}
    assert len([n for n, h in defined.items() if h and n in measured]) >= 8


@pytest.mark.parametrize("family", ["t5", "whisper", "gemma3-vision", "diffusion-transformer"])
def test_families_refused_today_were_measured(family: str) -> None:
    ok = [r for d, r in _runs() if d["cases"][r["name"]].get("family") == family
          and r["result"]["status"] == "ok"]
    assert ok, family


def test_the_readme_names_every_case_without_a_complete_bracket() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    cases, runs, head = report.load(RECORDS)
    caps = {int(k): int(v) for k, v in head["card_caps_bytes"].items()}
    for name, case in cases.items():
        if case["kind"] in JOB_KINDS and \
                not report.bracket(case, runs.get(name, []), caps)["complete"]:
            assert f"`{name}`" in readme, name


# ------------------------------------------------------------ the report's reading of runs

CAPS = {n: int((n - 0.95) * GIB) for n in cc.CARDS}


def test_card_status_implies_from_smaller_and_larger_caps() -> None:
    ev = [(CAPS[12], "oom"), (CAPS[16], "ok"), (int(17 * GIB), "ok"), (CAPS[20], "timeout")]
    got = report.card_status(ev, CAPS)
    assert got == {6: "oom*", 8: "oom*", 10: "oom*", 12: "oom", 16: "ok", 20: "ok*", 24: "ok*"}
    # a timeout with nothing to imply stays a timeout
    assert report.card_status([(CAPS[20], "timeout")], CAPS) == {20: "timeout"}


def test_wrong_verdicts_in_both_directions_measured_and_implied() -> None:
    status = {8: "oom*", 10: "oom", 12: "ok", 16: "ok*"}
    verdicts = {6: "no", 8: "tight", 10: "fits", 12: "offload", 16: "no", 20: "fits",
                24: "fits"}
    bad_fit, bad_no = report.wrong_verdicts(status, verdicts)
    assert bad_fit == ["8 GB: says tight, run failed (implied)", "10 GB: says fits, run failed"]
    assert bad_no == ["12 GB: says offload, run passed", "16 GB: says no, run passed (implied)"]


def test_bracket_is_complete_only_between_neighbouring_cards() -> None:
    case = {"name": "x", "reserve_gib": 14}

    def run(card: int | None, status: str, cap: int | None = None) -> dict[str, Any]:
        return {"name": "x", "role": f"card-{card}" if card else "generous", "card_gib": card,
                "cap_bytes": cap or CAPS[card or 24], "result": {"status": status}}

    done = report.bracket(case, [run(None, "ok", 14 * GIB), run(12, "oom"), run(16, "ok")],
                          CAPS)
    assert (done["min_pass"], done["max_fail"], done["complete"]) == (16, 12, True)
    gap = report.bracket(case, [run(None, "ok", 14 * GIB), run(10, "oom"), run(16, "ok")],
                         CAPS)
    assert not gap["complete"] and "never started" in gap["why"]
    assert report.bracket(case, [run(None, "ok", 5 * GIB)], CAPS)["complete"]  # runs on 6 GB


def test_today_no_fits_verdict_where_a_capped_run_failed() -> None:
    """The dangerous direction (issue 22's target): today's estimator says "fits" or "tight"
    on no card where the capped run failed, measured or implied."""
    table = report.rows(RECORDS)
    names = {r["name"] for r in table}
    assert len(names) == len(table)
    assert {c["name"] for c in grid.capped()} <= names <= {c["name"] for c in grid.recorded()}
    assert [w for r in table for w in r["wrong_fits"]] == []
