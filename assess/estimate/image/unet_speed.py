"""One Stable Diffusion UNet sampling step from its kernels, the way
:mod:`rigready.assess.estimate.image.speed` times a classifier.

The UNet walk (:func:`rigready.assess.estimate.image.diffusion.walk_unet`) notes every conv and
Linear of the forward, its attentions, the elements its elementwise kernels move and the
operations it dispatches, module by module. With classifier-free guidance the UNet runs on
twice the batch's latents. The GPU's time is the sum of

- each conv (implicit GEMM) and Linear through :func:`speed.gemms_seconds`: the roofline at the
  measured GEMM efficiency, plus the time a tensor-core conv spends beside its MMAs
  (``speed.CONV_SHARE``, fitted on the classifiers), which runs at the SMs' own pace
  (:func:`speed.simt_scale`): large on Hopper, whose tensor cores outrun the rest of the SM,
  small on consumer cards, whose fp16 rate with fp32 accumulation is a sixth of Hopper's on a
  similar number of SMs;
- each attention as a fused (flash) kernel: its MMAs at the GEMM rate with the head dimension
  padded to FlashAttention's 32-wide buckets (SD 1.5's 40-wide heads run as 64), plus the
  softmax's work per score beside them, at the SMs' pace too; the two together reach
  ``sampling.ATTENTION_EFFICIENCY`` of the peak at head dimension 64 on the calibration GPU;
- the elementwise kernels (GroupNorm, SiLU, GELU, adds, reshaping copies) as fp16 traffic at
  the measured copy bandwidth;

and the host's time is a per-step cost plus a cost per dispatched operation. CUDA launches are
asynchronous, so the step is the longer of the two plus a fitted share of the shorter (the
rule :func:`speed.overlapped` applies to classifiers). None of the GPU's constants is new: the
three fitted here (per step, per operation, the share) come from the H200's measured UNet
steps (``benchmarks/fit_image_memory.py --fit-sd``; held-out cases only checked), and the
published consumer-card figures are only checked against (``benchmarks/published_sd_speed.py``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from rigready.assess.estimate import kernels
from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import sampling
from rigready.assess.estimate.image import speed as image_speed
from rigready.assess.estimate.inputs import Workload

#: Fitted (see the module docstring): the host's fixed cost of one UNet call (the timestep's
#: tensor, the scheduler's update, the closing synchronisation) ...
SAMPLING_STEP_S = 0.027
#: ... its cost per operation the forward dispatches (``UNetWalk.ops``: Python, diffusers'
#: module calls, the launch): the fit leaves it at zero, as the three fitted H200 steps cannot
#: tell it from the fixed cost (SD 1.5 at batch 1, 1,260 operations, took 35 ms; SDXL at
#: 1024 px, 3,631 operations and three times the GPU work, 62 ms), so the host's whole time
#: sits in the fixed cost above, which over-states a fast desktop CPU's (see the README's
#: published figures: batch 1 on consumer cards comes out 1.4-1.8x slow) ...
SAMPLING_OP_S = 0.0
#: ... and the share of the shorter of host and GPU time that does not overlap the longer
#: (every UNet call starts on an idle GPU and ends in a synchronisation, and its small
#: low-resolution blocks leave the GPU waiting on the host between the large ones).
SAMPLING_SERIAL_SHARE = 0.65
#: Not fitted: FlashAttention compiles its kernels for head dimensions in steps of 32 and pads
#: a head up to the next one.
FLASH_HEAD_STEP = 32


def attention_seconds(attention: list[tuple[int, int, int, int]], rows: int, dtype: str,
                      peaks: Mapping[str, float]) -> float:
    """Fused attention forward over ``(queries, keys, heads, head_dim)`` per row, ``rows``
    rows, in ``dtype``: MMAs at the GEMM rate, the softmax beside them at the SMs' pace (see
    the module docstring)."""
    peak = peaks[dtype] * 1e12
    mma = kernels.GEMM_EFFICIENCY.get(dtype, 0.7) * peak
    # the softmax's time per score on the calibration GPU, from its fused attention's share at
    # head dimension 64 (4 x 64 MMA flops a score): what that share leaves beside the MMAs
    ref_peak = kernels.REF_TFLOPS["bf16"] * 1e12
    per_score = 4 * 64 * (1 / sampling.ATTENTION_EFFICIENCY
                          - 1 / kernels.GEMM_EFFICIENCY["bf16"]) / ref_peak
    beside = per_score * image_speed.simt_scale(peaks)
    t = 0.0
    for q, k, h, d in attention:
        scores = float(rows) * q * k * h
        padded = -(-d // FLASH_HEAD_STEP) * FLASH_HEAD_STEP
        t += scores * (4 * padded / mma + beside)
    return t


def unet_gpu_seconds(w: dif.UNetWalk, wl: Workload, peaks: Mapping[str, float],
                     bandwidth_gb_s: float) -> float:
    """The GPU's time for one UNet forward of ``wl.batch`` latents walked as ``w``."""
    t = image_speed.gemms_seconds(w.gemms, wl, peaks, bandwidth_gb_s)
    t += attention_seconds(w.attention, wl.batch, image_speed.gemm_dtype("linear", wl), peaks)
    e = 4 if wl.resolved_precision == "fp32" else 2
    return t + e * wl.batch * w.elementwise / (
        kernels.BANDWIDTH_EFFICIENCY * bandwidth_gb_s * 1e9)


def unet_host_seconds(w: dif.UNetWalk) -> float:
    """The host's time to dispatch one UNet forward."""
    return SAMPLING_STEP_S + SAMPLING_OP_S * w.ops


def unet_step_seconds(w: dif.UNetWalk, wl: Workload, peaks: Mapping[str, float],
                      bandwidth_gb_s: float) -> float:
    """One sampling step of ``wl.batch`` images: the UNet on the guided and unguided latents
    (classifier-free guidance doubles the rows) on a GPU of ``peaks`` (dense TFLOP/s by dtype)
    and ``bandwidth_gb_s``, the host's dispatch overlapping it.

    Raises:
        KeyError: the GPU has no figure for a dtype the step needs.
    """
    guided = dataclasses.replace(wl, batch=2 * wl.batch)
    gpu = unet_gpu_seconds(w, guided, peaks, bandwidth_gb_s)
    return image_speed.overlapped(gpu, unet_host_seconds(w), SAMPLING_SERIAL_SHARE)
