"""Every step time the records measured with the GPU to itself against the estimate (issue 22,
item 5: within 0.8-1.25x). ``benchmarks/speed_records.py`` prints the same list.

Every case is inside, fitted and held-out alike; the four that were not (fp32 ResNet-50 on the
H100 1.35x, SD 1.5 LoRA at batch 8 with checkpointing 1.25x, the held-out EfficientNet-B3
0.77x and SDXL sampling at batch 2, 768 px 0.79x) came in with the autocast casts, the TF32
convs' non-MMA time, the text encoders and the VAE's walked decode and encode."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rigready.assess.estimate import Workload, estimate
from rigready.assess.estimate.image.shapes import image_shape

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import speed_records as sr  # noqa: E402


@pytest.fixture(scope="module")
def cases() -> list[sr.Case]:
    return sr.measured_alone()


def test_the_records_hold_every_kind_of_step(cases: list[sr.Case]) -> None:
    sources = {source for _, source, _, _ in cases}
    assert len(cases) >= 85
    assert any("speed (H100)" in s for s in sources) and any("mlm" in s for s in sources)


def test_every_case_measured_alone_is_within_target(cases: list[sr.Case]) -> None:
    outside = {label: round(pred / meas, 2) for label, _, pred, meas in cases
               if not sr.LOW <= pred / meas <= sr.HIGH}
    assert outside == {}


def test_every_language_model_training_step_is_within_target(cases: list[sr.Case]) -> None:
    """124M-8B, full / LoRA / QLoRA, H200 and H100: every one inside (the held-out Phi-3-mini
    QLoRA step at 4,096 tokens was 0.77x before sliding-window attention was modelled)."""
    lm = [(label, pred / meas) for label, source, pred, meas in cases
          if "inference" not in label and not any(k in label for k in (
              "resnet", "vit_", "convnext", "efficientnet", "sd15", "sdxl"))]
    assert len(lm) >= 55
    bad = [(label, r) for label, r in lm if not sr.LOW <= r <= sr.HIGH]
    assert bad == []


def test_tf32_is_modelled_as_pytorch_ships_it() -> None:
    """On an Ampere-or-newer card an fp32 CNN's convolutions run in TF32 by default (measured
    2.19x faster than with TF32 off on the H100) and a ViT's Linears do not (measured 2.46x
    faster when the user turns matmul TF32 on)."""
    gpu = sr.h100()

    def step(arch: str, mode: str) -> float:
        wl = Workload(method="full", precision="fp32", batch=32, image_size=224,
                      tf32=mode)  # type: ignore[arg-type]
        t = estimate(image_shape(arch, arch), wl, gpu, search=False).timing.step_seconds
        assert t is not None
        return t

    assert step("resnet50", "off") / step("resnet50", "default") > 1.4
    assert step("vit_b_16", "default") / step("vit_b_16", "all") > 2.0
    assert step("vit_b_16", "default") == pytest.approx(step("vit_b_16", "off"), rel=0.01)
