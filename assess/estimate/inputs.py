"""What the user asks the estimator: the workload (method, precision, sizes) and its checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Method = Literal["inference", "lora", "qlora", "full"]
Precision = Literal["fp32", "amp-bf16", "amp-fp16", "bf16", "fp16", "int8", "nf4"]
Optimizer = Literal["adamw", "adamw-8bit", "sgd", "adafactor"]
Attention = Literal["sdpa", "eager", "flash"]
#: An encoder's task head: BERT-style masked LM (logits over the vocabulary for every token)
#: or sequence classification (pooler and a small classifier).
Head = Literal["masked-lm", "classification"]
#: How a diffusion pipeline uses the GPU: ``none`` every component resident (a plain diffusers
#: pipeline), ``model`` one component on the GPU at a time, the others in system RAM
#: (``enable_model_cpu_offload``; ComfyUI and Forge load models as needed the same way).
Offload = Literal["none", "model"]
#: How an image-generation job is run. ``diffusers``: a plain pipeline, offload and tiled decode
#: exactly as :attr:`Workload.offload` and :attr:`Workload.vae_tiling` say. ``comfyui``: as
#: ComfyUI / Forge-class apps run it: every component stays on the GPU while that fits the memory
#: free for the job, the VAE decodes in tiles when short, and models are loaded as needed when
#: still short (the given offload and tiling are the least it does).
ImageRuntime = Literal["diffusers", "comfyui"]
#: fp32 jobs: which kernels run as TF32 on Ampere and newer. ``default``: PyTorch's own
#: defaults (cuDNN convolutions in TF32, matmuls in full fp32); ``all``: matmuls too
#: (``torch.backends.cuda.matmul.allow_tf32 = True`` or ``set_float32_matmul_precision("high")``);
#: ``off``: neither (``torch.backends.cudnn.allow_tf32 = False`` as well).
Tf32 = Literal["default", "all", "off"]

METHODS: tuple[str, ...] = get_args(Method)
OFFLOADS: tuple[str, ...] = get_args(Offload)
IMAGE_RUNTIMES: tuple[str, ...] = get_args(ImageRuntime)
TF32_MODES: tuple[str, ...] = get_args(Tf32)
#: Stored formats of a diffusion transformer's weights besides the precision's own: float8
#: with per-layer up-casting (``fp8``; ``fp8-all``: the T5 text encoder too) or a GGUF file
#: type (city96's FLUX/SD3.5 files, de-quantized layer by layer).
DIT_WEIGHTS: tuple[str, ...] = ("fp8", "fp8-all", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q5_1",
                                "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0", "Q3_K_M", "Q3_K_S",
                                "Q2_K")
PRECISIONS: tuple[str, ...] = get_args(Precision)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)
ATTENTIONS: tuple[str, ...] = get_args(Attention)
HEADS: tuple[str, ...] = get_args(Head)


class EstimateError(ValueError):
    """Input the estimator cannot work with (unknown model, bad config.json, bad sizes)."""


@dataclass(frozen=True, slots=True)
class Workload:
    """One job to estimate.

    Precision meanings: ``fp32`` everything in fp32; ``amp-bf16``/``amp-fp16`` fp32 master
    weights, gradients and optimizer states with half-precision compute (autocast); for LoRA the
    frozen base is loaded in half precision and the adapters are fp32 (peft's default); ``bf16``/
    ``fp16`` pure half precision weights, gradients and optimizer states; ``int8``/``nf4``
    bitsandbytes-quantized frozen weights with bf16 compute (inference, or the QLoRA base).
    """

    method: Method = "inference"
    #: None: bf16 for inference and LoRA, amp-bf16 for full, nf4 for QLoRA.
    precision: Precision | None = None
    optimizer: Optimizer = "adamw"
    batch: int = 1
    seq_len: int = 2048
    new_tokens: int = 256
    checkpointing: bool = False
    lora_rank: int = 16
    lora_targets: tuple[str, ...] = ("q_proj", "v_proj")
    attention: Attention = "sdpa"
    image_size: int | None = None
    gpus: int = 1
    #: Diffusion sampling: denoising steps per image.
    sampling_steps: int = 30
    #: Encoders: the task head (None: the one the model's config names in ``architectures``).
    head: Head | None = None
    #: Encoder-decoders (T5, Whisper): label tokens per sample the decoder trains on.
    target_tokens: int = 128
    #: Diffusion pipelines: where the components live (see :data:`Offload`).
    offload: Offload = "none"
    #: Diffusion pipelines: decode the image in tiles (``vae.enable_tiling()``), a free setting
    #: that bounds the decoder's working set.
    vae_tiling: bool = False
    #: Diffusion transformers (SD3.5, FLUX.1): the stored format of the transformer's weights
    #: (one of :data:`DIT_WEIGHTS`; None: the precision's own).
    weights: str | None = None
    #: Several GPUs (FSDP / ZeRO-3): keep the sharded parameters in system RAM and bring each
    #: unit to the GPU as it runs (FSDP ``CPUOffload(offload_params=True)``).
    param_offload: bool = False
    #: fp32 jobs: which kernels PyTorch runs as TF32 (see :data:`Tf32`).
    tf32: Tf32 = "default"
    #: Image generation: the app that runs the pipeline (see :data:`ImageRuntime`). The
    #: estimator's own default is the plain pipeline it was calibrated on; what the CLI and the
    #: window assume is ``rigready.desktop.defaults.DEFAULT_IMAGE_RUNTIME``.
    image_runtime: ImageRuntime = "diffusers"

    @property
    def resolved_precision(self) -> Precision:
        """The precision, with the method's usual default filled in."""
        if self.precision is not None:
            return self.precision
        if self.method == "qlora":
            return "nf4"
        return "amp-bf16" if self.method == "full" else "bf16"

    @property
    def training(self) -> bool:
        """Whether there is a backward pass."""
        return self.method != "inference"

    def check(self) -> None:
        """Reject impossible combinations with one clear sentence.

        Raises:
            EstimateError: a size is zero or negative, or an option does not fit the method.
        """
        for label, value in (("batch size", self.batch), ("sequence length", self.seq_len),
                             ("number of GPUs", self.gpus), ("LoRA rank", self.lora_rank),
                             ("target tokens", self.target_tokens)):
            if value <= 0:
                raise EstimateError(f"{label} must be above zero, got {value}")
        if self.sampling_steps <= 0:
            raise EstimateError(f"sampling steps must be above zero, got {self.sampling_steps}")
        if self.new_tokens < 0:
            raise EstimateError(f"tokens to generate cannot be negative, got {self.new_tokens}")
        if self.image_size is not None and self.image_size <= 0:
            raise EstimateError(f"image size must be above zero, got {self.image_size}")
        choices: tuple[tuple[str, str, tuple[str, ...]], ...] = (
            ("method", self.method, METHODS),
            ("precision", self.resolved_precision, PRECISIONS),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("attention", self.attention, ATTENTIONS), ("offload", self.offload, OFFLOADS),
            ("TF32 mode", self.tf32, TF32_MODES),
            ("image runtime", self.image_runtime, IMAGE_RUNTIMES))
        if self.head is not None:
            choices = (*choices, ("head", self.head, HEADS))
        if self.weights is not None:
            choices = (*choices, ("weights", self.weights, DIT_WEIGHTS))
        for name, choice, allowed in choices:
            if choice not in allowed:
                raise EstimateError(f"unknown {name} {choice!r} (choose from {', '.join(allowed)})")
        p = self.resolved_precision
        if self.method == "full" and p in ("int8", "nf4"):
            raise EstimateError(f"full fine-tuning cannot train {p}-quantized weights; "
                                "use qlora, or a bf16/amp-bf16 precision")
        if self.method == "qlora" and p not in ("nf4", "int8"):
            raise EstimateError("qlora means a 4-bit (nf4) or 8-bit (int8) base; "
                                f"got precision {p}")
        if self.method == "lora" and p in ("int8", "nf4"):
            raise EstimateError(f"LoRA on a {p} base is QLoRA: use --method qlora")
        if not self.lora_targets and self.method in ("lora", "qlora"):
            raise EstimateError("LoRA needs at least one target module (e.g. q_proj,v_proj)")
        if self.param_offload and not self.training:
            raise EstimateError("offloading parameters to the CPU is modelled for training "
                                "with FSDP / ZeRO-3, not for inference")
