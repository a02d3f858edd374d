"""Step time of an image classifier from its kernels, the way
:mod:`rigready.assess.estimate.language.speed` does it for language models.

The layer walk (:mod:`rigready.assess.estimate.image.vision`) notes every conv and Linear of a
forward pass and the operations the forward dispatches; the GPU's time is then the sum of

- each conv as an implicit GEMM (rows = batch x output pixels, inner = in channels x kernel
  area, outer = out channels) and each Linear, through :func:`kernels.gemm_seconds` (the roofline
  with the efficiency the measured GEMM sweep gives that precision and shape): forward, and in
  training the input and weight gradients (backward = 2x forward); a conv narrower than a
  tensor-core tile (128 channels) leaves the rest of the tile idle; beside its MMAs a
  tensor-core conv spends a fitted share of time (NCHW transposes, im2col addressing,
  epilogues) that a slower MMA rate does not lengthen: a TF32 conv adds what the same conv
  in bf16 would, so fp32 ResNet-50 is not twice as slow as the 16-bit one with TF32 on; that
  time runs at the SMs' own pace (:func:`simt_scale`, 1 on the H100 / H200 the share was
  fitted on), so on a consumer card, whose tensor cores are slow beside the rest of its SMs,
  a conv runs near its GEMM roofline (the Stable Diffusion UNet's convs,
  :mod:`rigready.assess.estimate.image.unet_speed`, go through the same summation);
- depthwise convs (EfficientNet, ConvNeXt) as memory-bound: their input and output tensors
  moved at bandwidth, times a fitted slowdown (cuDNN's depthwise kernels stay far below copy
  bandwidth);
- ViT's attention at the SDPA throughput measured at the shortest swept sequence;
- the elementwise work (BN/LN, activations, residual adds, casts) as traffic proportional to
  what the step saves for backward, autocast's weight casts and fused AdamW's reads and writes,
  all at the measured copy bandwidth;

and the host's time is a per-step cost plus a cost per dispatched operation (Python, autograd,
launches), counting under autocast the cast of every conv's and Linear's weight to bf16 (one
more operation per layer each forward, which an fp32 or bf16 model does not dispatch). CUDA's
launches are asynchronous, so the two overlap: a step is the longer of them
plus a fitted share of the shorter, the rule :mod:`rigready.assess.estimate.language.speed`
uses. A step the host paces is why fp32 ResNet-50 took the same 20.2 / 20.1 ms on an H100 and
an H200 (43% more bandwidth), and why ViT-L/16 at batch 16 (562 operations) took twice as long
as ViT-B/16 at batch 64 (286) with less GPU work.

Convs in fp32 run as TF32 (cuDNN's default in PyTorch: ``torch.backends.cudnn.allow_tf32`` is
on); fp32 Linears do not (PyTorch's matmul default) and run at the fp32 peak; ``Workload.tf32``
turns either switch (measured on the H100: ResNet-50 fp32 20.2 ms a step by default, 44.2 ms
with TF32 off; ViT-B/16 fp32 97.0 ms by default, 39.4 ms with matmuls in TF32 too). Each dtype
runs at the target GPU's own peak for it. The fitted constants were fitted on the non-held-out
vision cases of ``tests/data/calibration/vision-speed/h200-2026-12-01.json``
and on the H100 speed phase of ``tests/data/calibration/capped``
(``benchmarks/fit_image_memory.py --fit-kernels``; grid: fewest cases outside 0.8-1.25x, then
the worst ratio, then the squared log ratios); the held-out cases are only checked.
"""

from __future__ import annotations

from collections.abc import Mapping

from rigready.assess.estimate import kernels
from rigready.assess.estimate.image import vision as vis
from rigready.assess.estimate.inputs import Workload

#: Fused attention in a ViT (197 tokens): forward + backward at the rate the SDPA sweep measured
#: at its shortest sequence (1024 tokens, head 64, not causal: 201 TFLOPS, 0.20 of the bf16
#: peak); shorter sequences are not faster. fp32 attention: half the fp32 peak (as ``speed``).
VIT_ATTENTION_EFFICIENCY = 0.20
#: Fitted (see the module docstring): bytes of elementwise traffic per 4 bytes per element
#: saved for backward in a training step ...
ELEMENTWISE_TRAFFIC = 8.0
#: ... cuDNN's convs over the GEMM rate of their implicit-GEMM shape: on tensor cores in 16
#: bits, whose kernels want NHWC tensors and pay transposes on the NCHW ones torchvision
#: leaves (NVIDIA's "Convolutional Layers User's Guide", tensor layouts; TF32 convs add the
#: same time beside their slower MMAs, see ``classifier_seconds``), and on the fp32 (SIMT)
#: path ...
CONV_SHARE = 0.4
CONV_SHARE_FP32 = 0.6
#: ... the same in an inference pass, per element the training walk would save ...
ELEMENTWISE_INFER = 1.0
#: ... depthwise convs' time over their bandwidth-bound time (kept from the earlier fit) ...
DEPTHWISE_SLOWDOWN = 20.0
#: ... and the host's dispatch time: per step, and per operation the forward dispatches
#: (``host_ops``: the walk's and autocast's weight casts) per training step (forward and
#: autograd's backward) or per inference pass.
STEP_OVERHEAD_S = 0.002
OP_TRAIN_S = 0.00009
OP_INFER_S = 0.00001
#: Not fitted: the output tile of a tensor-core GEMM kernel (128 columns in cuDNN's and
#: CUTLASS's Hopper and Ampere implicit-GEMM convs); a conv with fewer output channels leaves
#: the rest of each tile idle, so it runs at ``channels / 128`` of the rate (ResNet's 64-channel
#: convs, EfficientNet's narrow projections).
CONV_TILE = 128
#: Fitted with the rest: the share of the shorter of host and GPU time that does not overlap
#: the longer (the step's start before the GPU has work, the loss, the optimizer step and the
#: closing synchronisation run one after the other; searched from 0.1, as zero would claim a
#: perfect overlap).
HOST_SERIAL_SHARE = 0.2


def gemm_dtype(kind: str, wl: Workload) -> str:
    """The dtype a conv or Linear of an image model runs in: fp32 convolutions as TF32 unless
    ``wl.tf32`` is ``off`` (cuDNN's default in PyTorch), fp32 matmuls as TF32 only when it is
    ``all`` (PyTorch's matmul default is full fp32)."""
    precision = wl.resolved_precision
    if precision == "fp32":
        if kind == "conv" or kind == "depthwise":
            return "fp32" if wl.tf32 == "off" else "tf32"
        return "tf32" if wl.tf32 == "all" else "fp32"
    return "fp16" if "fp16" in precision else "bf16"


def scaled_peaks(scale: float) -> dict[str, float]:
    """The calibration GPU's dense peaks times ``scale`` (a GPU ``scale`` times as fast)."""
    return {dt: v * scale for dt, v in kernels.REF_TFLOPS.items()}


def host_ops(w: vis.Walk, wl: Workload) -> int:
    """Operations the host dispatches per forward: the walk's, and under autocast the cast of
    each weight to bf16 for the convs and Linears the walk counts as layers and the small convs
    it does not time (autocast caches a cast only within one forward; a bf16 or fp32 model has
    none)."""
    amp = wl.resolved_precision.startswith("amp")
    return w.ops + (w.layers + w.small_convs if amp else 0)


def _mma_rate(dt: str, peaks: Mapping[str, float]) -> float:
    """A GEMM's rate in ``dt`` (its share of the dtype's peak), FLOP/s; the 16-bit rate
    where the GPU has no bf16 figure."""
    if dt not in peaks:
        dt = "fp16" if "fp16" in peaks else next(iter(peaks))
    return kernels.GEMM_EFFICIENCY.get(dt, 0.6) * peaks[dt] * 1e12


def simt_scale(peaks: Mapping[str, float]) -> float:
    """How much faster the target's 16-bit tensor cores are than its other arithmetic (fp32
    on the CUDA cores), relative to the calibration GPU's: the time a conv or fused attention
    spends beside its MMAs (addressing, transposes, epilogues, softmax) runs on the SMs'
    other units, so it follows the fp32 rate, not the tensor rate. 1 on an H100 or H200; about
    0.14 on an RTX 4090 or 3090 (fp16 tensor rate with fp32 accumulation halved against
    Hopper's, similar SM counts and clocks, so a conv there runs near its GEMM roofline);
    about 1.1 on an A100 (Hopper-like tensor rate, a third of its fp32). 1 where the target has
    no fp32 figure."""
    if "fp32" not in peaks or "bf16" not in peaks:
        return 1.0
    return (peaks["bf16"] / kernels.REF_TFLOPS["bf16"]) * \
        (kernels.REF_TFLOPS["fp32"] / peaks["fp32"])


def gemms_seconds(gemms: list[tuple[int, int, int, str]], wl: Workload,
                  peaks: Mapping[str, float], bandwidth_gb_s: float) -> float:
    """The convs and Linears ``gemms`` (``(rows per image, k, n, kind)``, as the walks note
    them) of ``wl.batch`` images, forward, and in training the two gradients.

    Raises:
        KeyError: the GPU has no figure for a dtype the step needs.
    """
    p = wl.resolved_precision
    e = 4 if p == "fp32" else 2
    b, train = wl.batch, wl.training
    bw = kernels.BANDWIDTH_EFFICIENCY * bandwidth_gb_s * 1e9
    beside = simt_scale(peaks)
    t = 0.0
    dw_bytes = 0.0
    for rows, k, n, kind in gemms:
        m = b * rows
        if kind == "depthwise":  # read the input, write the output; backward twice that
            dw_bytes += (3 if train else 1) * 2 * e * m * n
            continue
        dt = gemm_dtype(kind, wl)
        peak = peaks[dt]
        # forward (output m x n) and weight gradient (k x n) fill tiles n wide; the input
        # gradient (m x k) k wide: only tensor-core kernels tile this way
        tile_n, tile_k = (1.0, 1.0) if dt == "fp32" or kind != "conv" else \
            (max(1.0, CONV_TILE / n), max(1.0, CONV_TILE / k))
        g = tile_n * kernels.gemm_seconds(m, k, n, dt, peak, bandwidth_gb_s, e)
        if train:  # input gradient and weight gradient
            g += tile_k * kernels.gemm_seconds(m, n, k, dt, peak, bandwidth_gb_s, e)
            g += tile_n * kernels.gemm_seconds(k, m, n, dt, peak, bandwidth_gb_s, e)
        if kind == "conv" and dt == "fp32":
            g /= CONV_SHARE_FP32
        elif kind == "conv":
            # the time a tensor-core conv spends beside its MMAs (NCHW transposes, im2col
            # addressing, epilogues) does not shrink with a slower MMA rate: a TF32 conv adds
            # what a 16-bit one would, not twice it; it runs at the SMs' own pace, so a card
            # whose tensor cores are slow beside the rest of the SM (consumer cards) hides it
            g += (1 / CONV_SHARE - 1) * g * _mma_rate(dt, peaks) / _mma_rate("bf16", peaks) \
                * beside
        t += g
    return t + DEPTHWISE_SLOWDOWN * dw_bytes / bw


def classifier_seconds(w: vis.Walk, wl: Workload, peaks: Mapping[str, float],
                       bandwidth_gb_s: float) -> float:
    """Seconds of one training step (or inference pass) of ``wl.batch`` images walked as
    ``w`` on a GPU of ``peaks`` (dense TFLOP/s by dtype) and ``bandwidth_gb_s``.

    Raises:
        KeyError: the GPU has no figure for a dtype the step needs.
    """
    p = wl.resolved_precision
    b, train = wl.batch, wl.training
    bw = kernels.BANDWIDTH_EFFICIENCY * bandwidth_gb_s * 1e9
    t = gemms_seconds(w.gemms, wl, peaks, bandwidth_gb_s)
    passes = 3.5 if train else 1.0  # flash forward + backward, as ``speed``
    attn_rate = (0.5 * peaks[gemm_dtype("linear", wl)] if p == "fp32" else
                 VIT_ATTENTION_EFFICIENCY * peaks[gemm_dtype("linear", wl)]) * 1e12
    t += sum(4.0 * b * h * tok * tok * hd * passes for tok, h, hd in w.attention) / attn_rate
    # elementwise kernels on NCHW tensors compute in fp32 and are bound by elements, not
    # bytes: a bf16 step's BN/ReLU take about as long per element as an fp32 one's
    elems = sum(w.saved.values())
    traffic = (ELEMENTWISE_TRAFFIC if train else ELEMENTWISE_INFER) * 4.0 * b * elems
    if train:
        master = 2 if p in ("bf16", "fp16") else 4
        traffic += 7 * master * w.params  # fused AdamW: read p, g, m, v; write p, m, v
        if p.startswith("amp"):
            traffic += 6 * w.params  # fp32 -> bf16 weight casts each forward
    t += traffic / bw
    # CUDA launches are asynchronous: the host queues kernels while the GPU runs earlier ones,
    # so a step takes the longer of the two and a share of the shorter (measured: fp32
    # ResNet-50 with TF32 took 20.2 ms on the H100 and 20.1 ms on the H200, whose 43% more
    # bandwidth bought nothing: the host set the pace; a sum over-predicted it 1.3-1.5x)
    host = STEP_OVERHEAD_S + (OP_TRAIN_S if train else OP_INFER_S) * host_ops(w, wl)
    return overlapped(t, host)


def overlapped(gpu_s: float, host_s: float, serial: float | None = None) -> float:
    """A step whose host queues kernels while the GPU runs earlier ones: the longer of the two
    plus ``serial`` (default ``HOST_SERIAL_SHARE``) of the shorter."""
    share = HOST_SERIAL_SHARE if serial is None else serial
    return max(gpu_s, host_s) + share * min(gpu_s, host_s)
