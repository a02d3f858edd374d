"""What an image model's figure assumes (software stack, recipe, runtime) and how far it can be
off: the stacks measured in ``tests/data/calibration/vision-speed/``.
"""

from __future__ import annotations

from rigready.assess.estimate.inputs import Workload

#: Image classifiers and diffusion pipelines (tests/data/calibration/vision-speed/): worst
#: under-estimate 5.5% (SDXL sampling, held out), rounded up.
IMAGE_ERROR_BAND = 0.06


def assumptions(wl: Workload, diffusion: bool) -> dict[str, str]:
    """The stack, recipe and runtime an image model's figure describes (``diffusion``: a Stable
    Diffusion pipeline, else a classifier)."""
    if diffusion:
        stack = "PyTorch 2.11 + diffusers 0.42 + Transformers 5.17 (CLIP text encoders)"
        if wl.training:
            recipe = ("train_text_to_image_lora: frozen bf16 UNet, VAE and text encoders, fp32 "
                      f"LoRA rank {wl.lora_rank} on to_q/to_k/to_v/to_out.0, bf16 autocast, AdamW"
                      + (", unet.enable_gradient_checkpointing()" if wl.checkpointing else ""))
        else:
            recipe = (f"{wl.resolved_precision} pipeline, classifier-free guidance (UNet batch "
                      "2x), VAE decode at the end (SDXL's in fp32 when the pipeline is fp16)")
        runtime = "a diffusers pipeline with every part on the GPU (no CPU offload)"
    else:
        stack = "PyTorch 2.11 + torchvision 0.26"
        recipe = ({"amp-bf16": "fp32 weights and AdamW states, bf16 autocast",
                   "fp32": "fp32 weights, gradients and AdamW states (cuDNN convolutions in TF32)"}
                  .get(wl.resolved_precision, f"{wl.resolved_precision} weights and states")
                  if wl.training else f"{wl.resolved_precision} model in inference_mode")
        runtime = ("one training step (cross-entropy)" if wl.training else
                   "one forward pass of the batch")
    return {"stack": stack, "recipe": recipe, "runtime": runtime}
