"""What an image model's figure assumes (software stack, recipe, runtime) and how far it can be
off: the stacks measured in ``tests/data/calibration/vision-speed/`` (H200) and
``tests/data/calibration/capped/`` (H100: SD3.5, FLUX.1, model offload).
"""

from __future__ import annotations

from rigready.assess.estimate.inputs import Workload

#: Image classifiers and diffusion pipelines (tests/data/calibration/vision-speed/): worst
#: under-estimate 5.5% (SDXL sampling, held out), rounded up.
IMAGE_ERROR_BAND = 0.06
#: Diffusion transformers and model offload: four runs, one held out; GGUF weights are
#: arithmetic from the file types (never run), so their band is wider.
DIT_ERROR_BAND = 0.08
GGUF_ERROR_BAND = 0.12

_DIT_FAMILIES = ("sd3", "flux")


def error_band(wl: Workload, family: str = "") -> float:
    """How far below the measured need this kind of image job has been (a share of it)."""
    if wl.weights not in (None, "fp8", "fp8-all"):
        return GGUF_ERROR_BAND
    if family in _DIT_FAMILIES or wl.offload == "model" or wl.weights:
        return DIT_ERROR_BAND
    return IMAGE_ERROR_BAND


def _runtime(wl: Workload, dit: bool) -> str:
    """How the pipeline uses the GPU, in words (in a ComfyUI / Forge-class app: what the app
    does on this card, resident while it fits)."""
    app = ("a ComfyUI / Forge-class app, which keeps every part on the GPU while it fits the "
           "memory free for the job, decodes in tiles when short and loads models as needed "
           "when still short; on this card: " if wl.image_runtime == "comfyui" and
           not wl.training else "")
    where = ("models loaded as needed: one component on the GPU at a time, the others in "
             "system RAM (as ComfyUI and Forge run them; diffusers enable_model_cpu_offload)"
             if wl.offload == "model" else
             ("every component on the GPU" if app else
              "a diffusers pipeline with every component on the GPU (no offload)"))
    tiles = "; VAE decode in 512-pixel tiles" if wl.vae_tiling else ""
    weights = ""
    if dit and wl.weights in ("fp8", "fp8-all"):
        weights = ("; transformer weights stored in float8, up-cast to bf16 layer by layer "
                   "(enable_layerwise_casting)" + ("; T5 in float8 too" if wl.weights ==
                                                   "fp8-all" else ""))
    elif dit and wl.weights:
        weights = (f"; transformer from a {wl.weights} GGUF file (city96's), de-quantized layer "
                   "by layer: its memory from the file type's bits per weight, not measured")
    return app + where + tiles + weights


def assumptions(wl: Workload, diffusion: bool, family: str = "") -> dict[str, str]:
    """The stack, recipe and runtime an image model's figure describes (``diffusion``: a
    diffusion pipeline, else a classifier; ``family``: ``sd3`` / ``flux`` for the
    diffusion transformers)."""
    dit = family in _DIT_FAMILIES
    if diffusion and dit:
        stack = "PyTorch 2.11 + diffusers 0.42 + Transformers 5.17 (CLIP and T5-XXL encoders)"
        recipe = (f"{wl.resolved_precision} pipeline, "
                  + ("classifier-free guidance (transformer batch 2x), " if family == "sd3"
                     else "")
                  + "VAE decode in bf16 at the end")
        return {"stack": stack, "recipe": recipe, "runtime": _runtime(wl, True)}
    if diffusion:
        stack = "PyTorch 2.11 + diffusers 0.42 + Transformers 5.17 (CLIP text encoders)"
        if wl.training:
            recipe = ("train_text_to_image_lora: frozen bf16 UNet, VAE and text encoders, fp32 "
                      f"LoRA rank {wl.lora_rank} on to_q/to_k/to_v/to_out.0, bf16 autocast, AdamW"
                      + (", unet.enable_gradient_checkpointing()" if wl.checkpointing else ""))
            runtime = "a diffusers training step with every part on the GPU"
        else:
            recipe = (f"{wl.resolved_precision} pipeline, classifier-free guidance (UNet batch "
                      "2x), VAE decode at the end (SDXL's in fp32 when the pipeline is fp16)")
            runtime = _runtime(wl, False)
        return {"stack": stack, "recipe": recipe, "runtime": runtime}
    stack = "PyTorch 2.11 + torchvision 0.26"
    recipe = ({"amp-bf16": "fp32 weights and AdamW states, bf16 autocast",
               "fp32": "fp32 weights, gradients and AdamW states (cuDNN convolutions in TF32, "
                       "Linear layers in full fp32: PyTorch's defaults)"}
              .get(wl.resolved_precision, f"{wl.resolved_precision} weights and states")
              if wl.training else f"{wl.resolved_precision} model in inference_mode")
    runtime = ("one training step (cross-entropy)" if wl.training else
               "one forward pass of the batch")
    return {"stack": stack, "recipe": recipe, "runtime": runtime}
