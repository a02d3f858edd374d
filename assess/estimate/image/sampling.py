"""Time of text-to-image sampling with a diffusion transformer (SD3.5, FLUX.1), and what loading
models as needed adds to any pipeline.

A transformer step is its matmuls at the measured GEMM efficiency (every token through every
Linear but the adaptive-norm ones, which see one timestep vector), the joint attention at
fused attention's share of peak, and, for weights stored small (float8, GGUF), the traffic of
up-casting every layer to bf16 (read the stored weight, write and read the bf16 copy). An image
is its steps, the T5 encoder's pass and the VAE decode.

With models loaded as needed (``offload="model"``), every component is copied to the GPU once
an image: diffusers' ``enable_model_cpu_offload`` moved them at 1.4 GB/s on the H100 machine
(three runs: SD3.5 Large fp8 1.49, FLUX.1-dev fp8 1.40, FLUX.1-schnell fp8 1.39 GB/s: pageable
host memory, one tensor at a time, far below the PCIe 5 link); the link's own rate caps it on a
slower bus. ComfyUI and Forge keep a model on the GPU between images when it fits beside the
next, which this does not count (a per-image upper bound).
"""

from __future__ import annotations

from rigready.assess.estimate import kernels
from rigready.assess.estimate.image import diffusion as dif
from rigready.assess.estimate.image import dit
from rigready.assess.estimate.image import pipeline as pipe
from rigready.assess.estimate.inputs import Workload

#: Fused attention's share of the bf16 peak (the language family's figure).
ATTENTION_EFFICIENCY = 0.35
#: Fixed cost of one transformer step (scheduler, Python, launches), seconds.
DIT_STEP_OVERHEAD_S = 0.01
#: The VAE's share of the dense peak (its convs, GroupNorms and SiLUs at full resolution, in
#: the dtype it runs in: fp32 runs its convs as TF32), fitted on Stable Diffusion's H200
#: sampling calls: what each took beyond its measured UNet steps, less the text encoders
#: (``benchmarks/fit_image_memory.py --fit-sd``; the held-out case not used).
VAE_EFFICIENCY = 0.21
#: Measured rate of diffusers' model-offload copies, GB/s (see the module docstring).
OFFLOAD_COPY_GB_S = 1.42


def dit_step_seconds(spec: dit.DitSpec, wl: Workload, side: int, peak_tflops: float,
                     bandwidth_gb_s: float) -> float:
    """One transformer step for ``wl.batch`` images on a GPU of ``peak_tflops`` (bf16) and
    ``bandwidth_gb_s``."""
    matmul, attn = dit.step_flops(spec, side, wl.batch)
    t = matmul / (kernels.GEMM_EFFICIENCY["bf16"] * peak_tflops * 1e12)
    t += attn / (ATTENTION_EFFICIENCY * peak_tflops * 1e12)
    if wl.weights:
        params, _ = dit.walk_params(spec.transformer)
        stored = dit.transformer_bytes(spec, wl.weights, 2)
        t += (stored + 4 * params) / (kernels.BANDWIDTH_EFFICIENCY * bandwidth_gb_s * 1e9)
    return t + DIT_STEP_OVERHEAD_S


def dit_image_seconds(spec: dit.DitSpec, wl: Workload, side: int, peak_tflops: float,
                      bandwidth_gb_s: float) -> tuple[float, float]:
    """(one sampling run of ``wl.batch`` images, one transformer step)."""
    step = dit_step_seconds(spec, wl, side, peak_tflops, bandwidth_gb_s)
    rows = wl.batch * (2 if spec.cfg else 1)
    t5 = 2.0 * dit.t5_encoder_params() * rows * spec.t5_tokens / (
        kernels.GEMM_EFFICIENCY["bf16"] * peak_tflops * 1e12)
    decode = vae_seconds(wl.batch * dif.walk_vae(side, 16).decode_macs,
                         peak_tflops)
    return wl.sampling_steps * step + t5 + decode, step


def vae_seconds(macs: float, peak_tflops: float) -> float:
    """A VAE decode or encode of ``macs`` multiply-accumulates (every image of the batch) on a
    GPU of ``peak_tflops`` in the dtype the VAE runs in."""
    return 2.0 * macs / (VAE_EFFICIENCY * peak_tflops * 1e12)


def offload_seconds(parts: list[pipe.Component], pcie_gb_s: float | None) -> float:
    """Copying every component to the GPU once (models loaded as needed)."""
    rate = min(OFFLOAD_COPY_GB_S, pcie_gb_s or OFFLOAD_COPY_GB_S)
    return sum(c.weights for c in parts) / (rate * 1e9)
