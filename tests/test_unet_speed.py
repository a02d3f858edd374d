"""The Stable Diffusion UNet sampling step from its kernels (``unet_speed``): what the walk
records, the conv and attention time beside the MMAs following the SMs' pace, classifier-free
guidance, the host overlap, and the published-figures check script."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rigready.assess.estimate import kernels
from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import sampling, unet_speed
from rigready.assess.estimate.image import speed as image_speed
from rigready.assess.estimate.image.shapes import DIFFUSION
from rigready.assess.estimate.inputs import Workload

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import published_sd_speed as pub  # noqa: E402


def _wl(batch: int, side: int = 512) -> Workload:
    return Workload(method="inference", precision="fp16", batch=batch, image_size=side)


@pytest.mark.parametrize("model", ["sd15", "sdxl"])
def test_the_recorded_kernels_hold_the_walks_multiply_accumulates(model: str) -> None:
    # the GEMMs and attentions the speed model times are the work the memory model counts,
    # plus what it leaves out as small (cross-attention's k/v on 77 tokens, the stem's
    # Linears, conv_in / conv_out)
    w = dif.walk_unet(DIFFUSION[model].unet, 64)
    recorded = sum(r * k * n for r, k, n, _ in w.gemms) + \
        sum(2 * q * k * h * d for q, k, h, d in w.attention)
    assert w.macs < recorded < 1.04 * w.macs


def test_heads_and_projections_follow_the_configs() -> None:
    sd15, sdxl = (dif.walk_unet(DIFFUSION[m].unet, 64) for m in ("sd15", "sdxl"))
    # SD 1.5: 8 heads at every level (40, 80, 160 wide); SDXL: 64-wide heads
    assert {d for _, _, _, d in sd15.attention} == {40, 80, 160}
    assert {d for _, _, _, d in sdxl.attention} == {64}
    # SD 1.x projects into its transformers with 1x1 convs, SDXL with Linears: only SD 1.5
    # has convs with a 1x1 kernel as wide as its channels
    assert any(k == n and kind == "conv" for _, k, n, kind in sd15.gemms)
    assert not any(k == n and kind == "conv" for _, k, n, kind in sdxl.gemms)
    # SDXL's 70 transformer blocks against SD 1.5's 16 dispatch far more operations
    assert sdxl.ops > 2 * sd15.ops


def test_the_time_beside_the_mmas_follows_the_fp32_rate() -> None:
    ref = image_speed.scaled_peaks(1.0)
    assert image_speed.simt_scale(ref) == pytest.approx(1.0)
    # a card with a sixth of the tensor rate and the same fp32 rate: its convs' and
    # attention's non-MMA time is that much smaller beside their (slower) MMAs
    consumer = {**{dt: v / 6 for dt, v in ref.items()}, "fp32": ref["fp32"]}
    assert image_speed.simt_scale(consumer) == pytest.approx(1 / 6)
    w = dif.walk_unet(DIFFUSION["sd15"].unet, 64)
    # the wide convs (conv_out's 4 channels fill a fraction of a tensor-core tile)
    convs = [g for g in w.gemms if g[3] == "conv" and g[2] >= image_speed.CONV_TILE]
    wl = _wl(8)

    def conv_over_roofline(peaks: dict[str, float]) -> float:
        roofline = sum(kernels.gemm_seconds(8 * r, k, n, "fp16", peaks["fp16"], 1e9)
                       for r, k, n, _ in convs)
        return image_speed.gemms_seconds(convs, wl, peaks, 1e9) / roofline

    # on the calibration GPU the classifiers' fitted share (the fp16 MMAs a little faster
    # than the bf16 ones it was quoted for); on the consumer card a sixth of the extra
    beside = (1 / image_speed.CONV_SHARE - 1) * kernels.GEMM_EFFICIENCY["fp16"] / \
        kernels.GEMM_EFFICIENCY["bf16"]
    assert conv_over_roofline(ref) == pytest.approx(1 + beside, rel=0.02)
    assert conv_over_roofline(consumer) == pytest.approx(1 + beside / 6, rel=0.02)


def test_flash_attention_pads_the_head_dimension() -> None:
    peaks = image_speed.scaled_peaks(1.0)
    # SD 1.5's 40-wide heads take as long as 64-wide ones; 80 runs as 96
    at = unet_speed.attention_seconds
    assert at([(4096, 4096, 8, 40)], 2, "fp16", peaks) == \
        pytest.approx(at([(4096, 4096, 8, 64)], 2, "fp16", peaks))
    assert at([(1024, 1024, 8, 80)], 2, "fp16", peaks) == \
        pytest.approx(at([(1024, 1024, 8, 96)], 2, "fp16", peaks))
    # at head dimension 64 fused attention reaches the family's share of the peak
    flops = 4.0 * 2 * 4096 * 4096 * 8 * 64
    rate = flops / at([(4096, 4096, 8, 64)], 2, "bf16", peaks)
    assert rate == pytest.approx(sampling.ATTENTION_EFFICIENCY * 989e12, rel=1e-6)


def test_guidance_doubles_the_rows_and_the_host_overlaps(
        monkeypatch: pytest.MonkeyPatch) -> None:
    w = dif.walk_unet(DIFFUSION["sd15"].unet, 64)
    peaks, bw = image_speed.scaled_peaks(1.0), kernels.REF_BANDWIDTH_GB_S
    monkeypatch.setattr(unet_speed, "SAMPLING_STEP_S", 0.0)
    monkeypatch.setattr(unet_speed, "SAMPLING_OP_S", 0.0)
    step = unet_speed.unet_step_seconds(w, _wl(2), peaks, bw)
    assert step == pytest.approx(unet_speed.unet_gpu_seconds(w, _wl(4), peaks, bw))
    # a host slower than the GPU sets the pace; a share of the GPU's time adds to it
    monkeypatch.setattr(unet_speed, "SAMPLING_STEP_S", 10 * step)
    assert unet_speed.unet_step_seconds(w, _wl(2), peaks, bw) == pytest.approx(
        10 * step + unet_speed.SAMPLING_SERIAL_SHARE * step)


def test_a_consumer_card_is_faster_than_the_old_flat_share_said() -> None:
    # issue: scaled from the H200 by the dense peak alone, SD 1.5 at batch 16 on a card with a
    # sixth of the tensor rate and the same fp32 rate took six times the H200's GPU time; the
    # conv and attention time beside the MMAs now runs at the card's own (unchanged) pace
    w = dif.walk_unet(DIFFUSION["sd15"].unet, 64)
    ref = image_speed.scaled_peaks(1.0)
    consumer = {**{dt: v / 6 for dt, v in ref.items()}, "fp32": ref["fp32"]}
    bw = kernels.REF_BANDWIDTH_GB_S
    slow = unet_speed.unet_gpu_seconds(w, _wl(32), consumer, bw)
    fast = unet_speed.unet_gpu_seconds(w, _wl(32), ref, bw)
    # slower, since the MMAs take six times as long, but far from six times: on the H200 more
    # than half of the step is spent beside the MMAs, which the card does at the same pace
    assert 2.0 < slow / fast < 0.6 * 6


def test_the_published_points_script_runs_and_parses(tmp_path: Path) -> None:
    points, sources = pub.load()
    assert len(points) >= 11
    assert {p.gpu for p in points} >= {"NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3090",
                                       "NVIDIA GeForce RTX 4080"}
    assert all(s["url"].startswith("https://") for s in sources.values())
    assert all(p.published > 0 and p.estimate > 0 for p in points)
    text = pub.table(points, sources)
    assert text.count("\n| NVIDIA") == len(points)
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.a]\nurl = "https://x"\nwhat = "x"\n\n[[points]]\n'
                   'gpu = "rtx-4090"\nmodel = "sd15"\nimage = 512\nbatch = 1\n'
                   'seconds = 0.02\nsource = "b"\n', "utf-8")
    with pytest.raises(KeyError, match="unknown source"):
        pub.load(bad)
