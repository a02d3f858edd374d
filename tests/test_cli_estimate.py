"""``rigready estimate`` end to end (catalog GPUs, config files, errors)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigready.desktop.cli import main

CONFIGS = Path(__file__).parent / "data" / "hf_configs"


def test_readable_report(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["estimate", "llama-3.2-1b", "--method", "lora", "--gpu", "rtx-4090",
                 "--batch", "4", "--seq", "1024", "--dataset-tokens", "1000000"])
    out = capsys.readouterr().out
    assert code == 0
    for text in ("Peak GPU memory", "activations", "Verdict on NVIDIA GeForce RTX 4090",
                 "largest batch", "tokens/s", "kWh"):
        assert text in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["estimate", str(CONFIGS / "mistral-7b-v0.1.json"), "--method", "full",
                 "--gpu", "rtx-4090", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["verdict"] == "no" and data["suggestions"]
    assert data["total_gib"] > 24


def test_profile_gpu(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rigready.assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo
    from rigready.assess.profile import save_profile

    rig = RigProfile(cpu=CpuInfo(), memory=MemoryInfo(total_bytes=32 * 2**30), storage=(),
                     gpus=(GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                                   vram_bytes=12 * 2**30),), system=SystemInfo())
    path = tmp_path / "rig.json"
    save_profile(rig, path)
    assert main(["estimate", "7B", "--profile", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gpu"] == "NVIDIA GeForce RTX 3060" and data["verdict"] in ("offload", "no")


@pytest.mark.parametrize(("args", "problem"), [
    (["nonexistent-model"], "unknown model"),
    (["llama-3.2-1bb"], "did you mean llama-3.2-1b"),
    (["7B", "--batch", "0"], "batch size must be above zero"),
    (["7B", "--seq", "-4"], "sequence length must be above zero"),
    (["7B", "--gpu", "rtx-4091"], "unknown GPU"),
    (["7B", "--epochs", "0", "--gpu", "rtx-4090"], "epochs"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], problem: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error:") and problem in err[0]


def test_unsupported_and_unreadable_config(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "mamba"}')
    assert main(["estimate", str(bad), "--gpu", "rtx-4090"]) == 2
    assert "not supported" in capsys.readouterr().err
    bad.write_text('{"model_type": "whisper"}')  # walked now, but not without its sizes
    assert main(["estimate", str(bad), "--gpu", "rtx-4090"]) == 2
    assert "are needed" in capsys.readouterr().err
    bad.write_text("{oops")
    assert main(["estimate", str(bad), "--gpu", "rtx-4090"]) == 2
    assert "not a valid config.json" in capsys.readouterr().err


def test_qlora_checkpoints_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    def total(*extra: str) -> float:
        assert main(["estimate", "llama-3.1-8b", "--method", "qlora", "--gpu", "rtx-3060-12gb",
                     "--json", *extra]) == 0
        return float(json.loads(capsys.readouterr().out)["total_gib"])

    default, on, off = total(), total("--checkpointing"), total("--no-checkpointing")
    assert default == on  # peft's prepare_model_for_kbit_training turns it on
    assert off > on  # without it the activations of all 32 layers stay alive
    assert main(["estimate", "llama-3.1-8b", "--method", "lora", "--gpu", "rtx-3060-12gb",
                 "--json"]) == 0
    lora = json.loads(capsys.readouterr().out)["breakdown_gib"]["activations"]
    assert main(["estimate", "llama-3.1-8b", "--method", "lora", "--gpu", "rtx-3060-12gb",
                 "--json", "--checkpointing"]) == 0
    assert json.loads(capsys.readouterr().out)["breakdown_gib"]["activations"] < lora


def test_a_pc_without_a_gpu_gets_a_yes_or_no_and_offload_never_says_batch_0(
        capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    from rigready.desktop.cli import main

    cpu_only = Path(__file__).parent / "data" / "profiles" / "cpu-only-2026-11-22.json"
    assert main(["estimate", "llama-3.2-1b", "--profile", str(cpu_only)]) == 0
    out = capsys.readouterr().out
    assert "\nNo GPU: Yes, on the CPU: needs about" in out
    assert main(["estimate", "llama-3.2-1b", "--method", "qlora", "--profile",
                 str(cpu_only)]) == 0
    assert "No GPU: No: 4-bit and 8-bit (bitsandbytes) need a GPU" in capsys.readouterr().out
    assert main(["estimate", "llama-3.1-8b", "--method", "lora", "--gpu", "rtx-4090"]) == 0
    out = capsys.readouterr().out
    assert "OFFLOAD" in out and "batch that fits: 0" not in out
    assert "even batch 1 does not fit in VRAM alone" in out


def test_json_without_a_gpu_has_the_cpu_yes_or_no(capsys: pytest.CaptureFixture[str]) -> None:
    """``--json`` on a CPU-only PC carries the CPU answer the text output gives (``cpu``)."""
    cpu_only = Path(__file__).parent / "data" / "profiles" / "cpu-only-2026-11-22.json"
    assert main(["estimate", "llama-3.2-1b", "--profile", str(cpu_only)]) == 0
    text = capsys.readouterr().out
    assert main(["estimate", "llama-3.2-1b", "--profile", str(cpu_only), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gpu"] is None and data["verdict"] is None
    cpu = data["cpu"]
    assert cpu["verdict"] in ("fits", "tight") and cpu["answer"].startswith("Yes, on the CPU")
    assert f"No GPU: {cpu['answer']}" in text
    assert 0 < cpu["ram_needed_gib"] <= cpu["ram_available_gib"]
    assert main(["estimate", "llama-3.2-1b", "--method", "qlora", "--profile", str(cpu_only),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cpu"]["verdict"] == "no"
    assert main(["estimate", "llama-3.2-1b", "--gpu", "rtx-4090", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cpu"] is None  # a GPU verdict instead
