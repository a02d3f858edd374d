"""The measurement runner's Qt-free parts: specs, the history record, corrections, the CLI.

Torch is not installed here: the child itself ran on an H200
(``tests/data/measure/h200-2026-12-01-estimate-measure.txt``); these tests drive the parent's
logic with a real subprocess that has no torch, and the pure functions with records.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rigready.assess.bench.records import result_from_dict, result_label, result_to_dict
from rigready.assess.estimate import Workload, estimate, resolve_model
from rigready.assess.estimate.gpu import GpuTarget
from rigready.assess.estimate.shapes import shape_from_config_file
from rigready.assess.measure import launch
from rigready.assess.measure.result import MeasuredRun
from rigready.assess.measure.spec import MeasureSpec, missing_packages
from rigready.assess.measure.workload import (
    MeasureError,
    apply_correction,
    config_for,
    correction,
    measure,
    spec_for,
)
from rigready.desktop.cli import main

DATA = Path(__file__).parent / "data"
LLAMA8B = DATA / "hf_configs" / "llama-3.1-8b.json"
TRANSCRIPT = DATA / "measure" / "h200-2026-12-01-estimate-measure.txt"


def _run(**kw: object) -> MeasuredRun:
    base = dict(model="llama-3.1-8b", method="qlora", precision="nf4", batch=1, seq_len=2048,
                new_tokens=0, checkpointing=True, lora_rank=16,
                lora_targets=("q_proj", "v_proj"), status="ok", gpu_name="NVIDIA H200",
                peak_bytes=int(14.77 * 2**30), max_allocated_bytes=int(12.36 * 2**30),
                max_reserved_bytes=int(13.42 * 2**30), step_seconds=0.328,
                estimate_bytes=int(10.94 * 2**30), stack="torch 2.11.0")
    base.update(kw)
    return MeasuredRun(**base)  # type: ignore[arg-type]


def _gpu(gib: float) -> GpuTarget:
    return GpuTarget(name=f"fake {gib:g} GiB", vram_bytes=int(gib * 2**30), bandwidth_gb_s=900.0,
                     dense_tflops={"bf16": 70.0, "fp16": 70.0, "fp32": 35.0}, tgp_w=300.0)


QLORA = Workload(method="qlora", seq_len=2048, checkpointing=True)


def test_spec_uses_the_users_config_and_the_recipe() -> None:
    shape = shape_from_config_file(LLAMA8B)
    cfg = json.loads(LLAMA8B.read_text(encoding="utf-8"))
    spec = spec_for(shape, QLORA, cfg)
    assert spec.config == cfg and spec.method == "qlora" and spec.precision == "nf4"
    assert spec.checkpointing and spec.lora_targets == ("q_proj", "v_proj")
    assert MeasureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    gpt2 = resolve_model(str(DATA / "hf_configs" / "gpt2.json"))
    assert spec_for(gpt2, Workload(method="lora")).lora_targets == ("c_attn",)


def test_a_config_is_written_from_a_shape_when_there_is_none() -> None:
    shape = shape_from_config_file(LLAMA8B)
    cfg = config_for(shape)
    assert cfg["model_type"] == "llama" and cfg["num_key_value_heads"] == 8
    assert cfg["intermediate_size"] == 14336 and cfg["tie_word_embeddings"] is False


@pytest.mark.parametrize(("change", "why"), [
    ({"gpus": 2}, "one GPU"), ({"method": "inference", "precision": "nf4"}, "quantized"),
    ({"optimizer": "sgd", "method": "full"}, "AdamW"), ({"method": "qlora", "precision": "int8"},
                                                       "nf4"),
])
def test_jobs_the_runner_does_not_build_are_refused(change: dict[str, object], why: str) -> None:
    with pytest.raises(MeasureError, match=why):
        spec_for(shape_from_config_file(LLAMA8B), replace(Workload(), **change))  # type: ignore[arg-type]


def test_without_torch_nothing_runs() -> None:
    assert missing_packages("qlora")[:1] == ["torch"]  # torch is not installed for the tests
    run = measure(shape_from_config_file(LLAMA8B), QLORA)
    assert run.status == "unavailable" and "torch" in run.message and run.peak_bytes is None


def test_a_child_that_cannot_start_is_a_result_not_a_hang() -> None:
    spec = spec_for(shape_from_config_file(LLAMA8B), QLORA)
    t0 = __import__("time").monotonic()
    rec = launch.run(spec, device="cuda", timeout_s=60.0, start="subprocess")
    assert __import__("time").monotonic() - t0 < 30
    assert rec["status"] in ("error", "crashed")  # no torch in this interpreter
    assert "torch" in rec.get("error", "") or "No module" in rec.get("error", "")


def test_the_history_record_round_trips() -> None:
    run = _run()
    data = result_to_dict(run)
    assert data["kind"] == "measure"
    assert result_from_dict(json.loads(json.dumps(data))) == run
    assert "14.8 GiB" in result_label(run) and "estimate 10.9" in result_label(run)
    assert "does not fit" in result_label(_run(status="oom", peak_bytes=None))


def test_the_same_job_measured_replaces_the_estimate() -> None:
    shape = shape_from_config_file(LLAMA8B)
    est = estimate(replace(shape, name="llama-3.1-8b"), QLORA, _gpu(15))
    corr = correction([("2026-12-01T21:10:21", _run())], "llama-3.1-8b", QLORA,
                      est.memory.total)
    assert corr is not None and corr.exact and corr.total_bytes == _run().peak_bytes
    fixed = apply_correction(est, corr)
    assert fixed.memory.total == _run().peak_bytes
    assert fixed.verdict is not None and fixed.verdict.status == "tight"  # 14.8 of 15 GiB
    assert any("measured on this GPU 2026-12-01" in r for r in fixed.reasons)


def test_an_out_of_memory_measurement_is_a_no() -> None:
    est = estimate(replace(shape_from_config_file(LLAMA8B), name="llama-3.1-8b"), QLORA,
                   _gpu(80))
    corr = correction([("2026-12-01", _run(status="oom", peak_bytes=None))], "llama-3.1-8b",
                      QLORA, est.memory.total)
    fixed = apply_correction(est, corr)
    assert fixed.verdict is not None and fixed.verdict.status == "no"
    assert "does not fit, measured" in fixed.verdict.reasons[0]


def test_a_similar_job_only_ever_raises_the_estimate() -> None:
    other = replace(QLORA, batch=4)
    high = correction([("d", _run())], "llama-3.1-8b", other, 20 * 2**30)
    assert high is not None and not high.exact and high.total_bytes is not None
    assert high.total_bytes > 20 * 2**30  # measured 35% above its estimate: raised
    low = _run(peak_bytes=9 * 2**30)
    assert correction([("d", low)], "llama-3.1-8b", other, 20 * 2**30) is None
    assert correction([("d", _run())], "mistral-7b", other, 20 * 2**30) is None


def test_cli_measure_without_torch_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(LLAMA8B), "--method", "qlora", "--measure"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error: measuring needs torch")


def test_cli_measure_of_an_image_model_says_it_cannot_be_built_not_what_to_install(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "resnet-50", "--method", "full", "--measure"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be built for a measurement" in err[0], err
    assert "pip install" not in err[0]


def test_cli_measure_on_a_catalog_gpu_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(LLAMA8B), "--measure", "--gpu", "rtx-4090"]) == 2
    assert "this PC's GPU" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["--method", "qlora", "--seq", "0"], ["--method", "qlora", "--batch", "-1"],
    ["--method", "qlora", "--lora-targets", "nope"],
])
def test_impossible_shapes_are_one_line(args: list[str], capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    assert main(["estimate", str(LLAMA8B), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error:")


def test_an_unsupported_family_config_is_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"model_type": "mamba", "hidden_size": 768, "num_hidden_layers": 24,
                               "vocab_size": 50280}), encoding="utf-8")
    assert main(["estimate", str(cfg), "--method", "qlora"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error:") and "mamba" in err[0]


def test_the_h200_transcript_shows_every_answer() -> None:
    text = TRANSCRIPT.read_text(encoding="utf-8")
    assert "peak (as nvidia-smi shows)   14.77 GiB" in text  # QLoRA, measured
    assert "does not fit, measured" in text  # the out-of-memory job
    assert "memory.used [MiB]\n0 MiB" in text  # nothing left held on the GPU
    assert "rigready: error: measuring needs torch" in text and "exit 2" in text


def test_the_h200_transcript_after_the_qlora_correction() -> None:
    text = (DATA / "measure" / "h200-2026-12-01-estimate-measure-after.txt").read_text(
        encoding="utf-8")
    assert "estimate                     14.62 GiB (-1.0%)" in text
    assert '"estimate_error": 0.013' in text
    assert text.rstrip().endswith("NVIDIA H200, 580.159.04, 0 MiB")
