"""The shape of a model: what the estimator needs to know, from a catalog entry, a Hugging Face
``config.json`` or a bare parameter count.

Parameter counts are computed from the architecture (embeddings, attention with grouped KV heads,
gated or plain MLP, norms, biases, experts), so a config gives the exact count transformers builds.
A bare count (``7e9``, ``7B``) gets a Llama-like shape whose layer sizes are chosen to match it; the
shape says so in ``notes`` and ``exact`` is False.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rigready.assess.estimate import moe
from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.jsonfile import read_json_file
from rigready.catalog.userfiles import path_exists

#: Families whose decoder layer is the Llama layout (RMSNorm, rotary, gated MLP, no dropout).
LLAMA_LIKE = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi3",
              "llama4", "gpt_oss", "other")
SUPPORTED_FAMILIES = (*LLAMA_LIKE, "gpt2", "bert")

_MODEL_TYPE_FAMILY = {
    "llama": "llama", "mistral": "mistral", "mixtral": "mixtral", "qwen2": "qwen2",
    "qwen2_moe": "qwen2", "qwen3": "qwen3", "qwen3_moe": "qwen3", "gemma": "gemma",
    "gemma2": "gemma2", "gemma3": "gemma3", "gemma3_text": "gemma3", "phi3": "phi3",
    "llama4": "llama4", "llama4_text": "llama4", "gpt_oss": "gpt_oss", "smollm3": "llama",
    "mistral3": "mistral", "gpt2": "gpt2", "bert": "bert", "roberta": "bert",
}
#: Families with an RMSNorm on each head's query and key (weights of head_dim each).
QK_NORM_FAMILIES = ("qwen3", "gemma3")


@dataclass(frozen=True, slots=True)
class ModelShape:
    """Architecture numbers of one model (names as in transformers' configs)."""

    name: str
    family: str
    kind: str  # decoder | encoder
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    tie_word_embeddings: bool
    gated_ffn: bool = True
    hidden_act: str = "silu"
    max_positions: int | None = None
    num_experts: int = 1
    experts_per_token: int = 1
    #: FFN width of the shared expert every token runs besides its routed ones (0: none).
    shared_expert_size: int = 0
    #: Qwen2-MoE gates its shared expert with a Linear(hidden, 1).
    shared_expert_gate: bool = False
    #: Parameters as published (catalog) or None to use :attr:`computed_params`.
    declared_params: int | None = None
    #: Encoders: the task head (``masked-lm`` or ``classification``); empty for decoders, whose
    #: head is always the causal-LM one.
    head: str = ""
    #: Vision models: default input side in pixels and patch size (tokens = (side/patch)^2).
    image_size: int | None = None
    patch_size: int | None = None
    #: Whether the numbers describe the real architecture (False: shape guessed from a count).
    exact: bool = True
    source: str = ""
    notes: tuple[str, ...] = ()
    #: Image models: the walked architecture (``vision.ImageArch`` or ``image.DiffusionSpec``);
    #: the transformer numbers above are then unused (zero).
    image: Any = None
    #: Gemma-2 caps its final logits with tanh (``final_logit_softcapping``): one more saved
    #: logits-sized tensor in training.
    final_logit_softcap: bool = False

    @property
    def kv_dim(self) -> int:
        """Width of the key (and the value) projection: KV heads x head size."""
        return self.num_kv_heads * self.head_dim

    @property
    def q_dim(self) -> int:
        """Width of the query projection: heads x head size."""
        return self.num_heads * self.head_dim

    @property
    def is_moe(self) -> bool:
        """A mixture of experts (more than one expert MLP per layer)."""
        return self.num_experts > 1

    @property
    def norm_kind(self) -> str:
        """``layer`` (LayerNorm: GPT-2, BERT) or ``rms`` (everything Llama-like)."""
        return "layer" if self.family in ("gpt2", "bert") else "rms"

    @property
    def has_dropout(self) -> bool:
        """GPT-2 and BERT train with dropout (masks are saved); Llama-like models do not."""
        return self.family in ("gpt2", "bert")

    @property
    def params(self) -> int:
        """Total parameters (all experts of a MoE)."""
        return self.declared_params if self.declared_params else self.computed_params

    @property
    def computed_params(self) -> int:
        """Parameters implied by the architecture numbers."""
        return self.embedding_params + self.num_layers * self.layer_params + self.head_params

    @property
    def embedding_params(self) -> int:
        """Token (and position/type) embeddings plus the final norm."""
        h = self.hidden_size
        n = self.vocab_size * h
        if self.family == "gpt2":
            n += (self.max_positions or 1024) * h + 2 * h  # wpe, ln_f
        elif self.family == "bert":
            n += (self.max_positions or 512) * h + 2 * h + 2 * h  # position, type, LayerNorm
            if self.head != "masked-lm":  # BertForMaskedLM is built without the pooler
                n += h * h + h
        else:
            n += h  # final RMSNorm
        return n

    @property
    def head_params(self) -> int:
        """The output head (0 when tied to the input embeddings; BERT's classifier is tiny;
        BERT's masked-LM head: dense + LayerNorm, the decoder's bias, its weight tied)."""
        if self.family == "bert":
            h = self.hidden_size
            if self.head == "masked-lm":
                decoder = 0 if self.tie_word_embeddings else self.vocab_size * h
                return h * h + 3 * h + self.vocab_size + decoder
            return 2 * h + 2
        return 0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size

    @property
    def layer_params(self) -> int:
        """Parameters of one transformer layer."""
        linear = sum(n_in * n_out * count for _, n_in, n_out, count, _ in self.linear_modules())
        return linear + self._layer_extra_params()

    @property
    def active_params(self) -> int:
        """Parameters used per token (a MoE runs only its routed experts)."""
        return self.params - moe.idle_params(self)

    def _layer_extra_params(self) -> int:
        h, f = self.hidden_size, self.intermediate_size
        if self.family == "gpt2":
            return 3 * h + h + f + h + 4 * h  # biases of c_attn, c_proj, c_fc, c_proj; 2 LNs
        if self.family == "bert":
            return 4 * h + f + h + 4 * h  # biases of q, k, v, o, fc, out; 2 LayerNorms
        norms = 4 * h if self.family in ("gemma2", "gemma3") else 2 * h
        if self.family in QK_NORM_FAMILIES:
            norms += 2 * self.head_dim
        bias = self.q_dim + 2 * self.kv_dim if self.family == "qwen2" else 0
        if self.family == "gpt_oss":  # q/k/v/o biases and one attention sink per head
            bias = self.q_dim + 2 * self.kv_dim + h + self.num_heads
        experts = 0
        if self.is_moe:
            experts = self.num_experts * moe.expert_params(self)
            if self.family == "gpt_oss":
                experts += self.num_experts  # router bias
        return norms + bias + experts

    def linear_modules(self) -> tuple[tuple[str, int, int, int, str], ...]:
        """The nn.Linear modules of one layer: (name, in, out, count, input) with Hugging Face
        names; ``input`` names the tensor it reads (``attn_in``, ``attn_out``, ``mlp_in``,
        ``mlp_mid``). Experts of a MoE are fused 3-D parameters in transformers, not Linears.
        """
        h, f, q, kv = self.hidden_size, self.intermediate_size, self.q_dim, self.kv_dim
        if self.family == "gpt2":
            return (("c_attn", h, 3 * h, 1, "attn_in"), ("c_proj", h, h, 1, "attn_out"),
                    ("c_fc", h, f, 1, "mlp_in"), ("c_proj", f, h, 1, "mlp_mid"))
        if self.family == "bert":
            return (("query", h, h, 1, "attn_in"), ("key", h, h, 1, "attn_in"),
                    ("value", h, h, 1, "attn_in"), ("dense", h, h, 1, "attn_out"),
                    ("dense", h, f, 1, "mlp_in"), ("dense", f, h, 1, "mlp_mid"))
        if self.family == "phi3":
            attn: tuple[tuple[str, int, int, int, str], ...] = (
                ("qkv_proj", h, q + 2 * kv, 1, "attn_in"), ("o_proj", q, h, 1, "attn_out"))
        else:
            attn = (("q_proj", h, q, 1, "attn_in"), ("k_proj", h, kv, 1, "attn_in"),
                    ("v_proj", h, kv, 1, "attn_in"), ("o_proj", q, h, 1, "attn_out"))
        if self.is_moe:
            shared: tuple[tuple[str, int, int, int, str], ...] = ()
            if self.shared_expert_size:
                fs = self.shared_expert_size
                shared = (("gate_proj", h, fs, 1, "mlp_in"), ("up_proj", h, fs, 1, "mlp_in"),
                          ("down_proj", fs, h, 1, "mlp_mid"))
            if self.shared_expert_gate:
                shared = (*shared, ("shared_expert_gate", h, 1, 1, "mlp_in"))
            return (*attn, ("gate", h, self.num_experts, 1, "mlp_in"), *shared)
        if self.family == "phi3":
            return (*attn, ("gate_up_proj", h, 2 * f, 1, "mlp_in"),
                    ("down_proj", f, h, 1, "mlp_mid"))
        if not self.gated_ffn:
            return (*attn, ("up_proj", h, f, 1, "mlp_in"), ("down_proj", f, h, 1, "mlp_mid"))
        return (*attn, ("gate_proj", h, f, 1, "mlp_in"), ("up_proj", h, f, 1, "mlp_in"),
                ("down_proj", f, h, 1, "mlp_mid"))

    @property
    def linear_weight_params(self) -> int:
        """Parameters held in Linear weights (cast per step under autocast), head included."""
        per_layer = sum(n_in * n_out * c for _, n_in, n_out, c, _ in self.linear_modules())
        if self.is_moe:
            per_layer += self.num_experts * 3 * self.hidden_size * self.intermediate_size
        head = 0 if self.family == "bert" else self.vocab_size * self.hidden_size
        return per_layer * self.num_layers + head

    @property
    def largest_matrix_params(self) -> int:
        """The biggest single weight matrix (the embedding, for language models)."""
        mats = [n_in * n_out for _, n_in, n_out, _, _ in self.linear_modules()]
        return max([self.vocab_size * self.hidden_size, *mats])


def _get(cfg: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for key in keys:
        if key in cfg and cfg[key] is not None:
            return cfg[key]
    return default


#: Largest size a config.json field may give (no model dimension comes near 10^9).
MAX_CONFIG_SIZE = 10**9


def _size(cfg: dict[str, Any], name: str, *keys: str, default: int | None = None,
          missing: str = "") -> int:
    """A whole, positive config.json number (``64``, or ``64.0``), else one clear error.

    Strings (``"64"``), booleans, fractions, NaN/infinity and absurd sizes are refused with the
    field's name rather than converted or passed on to overflow later.
    """
    key = next((k for k in keys if cfg.get(k) is not None), None)
    if key is None:
        if default is None:
            raise EstimateError(f"{name}: {missing or keys[0] + ' is missing'}")
        return default
    value = cfg[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EstimateError(f"{name}: {key} must be a whole number, found {str(value)[:40]!r}")
    if not 0 <= value <= MAX_CONFIG_SIZE:
        raise EstimateError(f"{name}: {key} must be from 0 to {MAX_CONFIG_SIZE:,}, "
                            f"found {value}")
    return value


def shape_from_config(cfg: dict[str, Any], name: str = "config.json") -> ModelShape:
    """Build a shape from the dict of a Hugging Face ``config.json``.

    Raises:
        EstimateError: the model type is not supported or a needed number is missing.
    """
    image = _image_config(cfg, name)
    if image is not None:
        return image
    if isinstance(cfg.get("text_config"), dict) and "hidden_size" not in cfg:
        cfg = {**cfg["text_config"],
               "model_type": cfg["text_config"].get("model_type") or cfg.get("model_type", "")}
    model_type = str(cfg.get("model_type", "")).lower()
    family = _MODEL_TYPE_FAMILY.get(model_type)
    if family is None:
        supported = ", ".join(sorted(_MODEL_TYPE_FAMILY))
        raise EstimateError(f"{name}: model_type {model_type or '(missing)'!r} is not supported "
                            f"(supported: {supported})")
    need = ("hidden size, layers, heads and vocab_size are needed (hidden_size/n_embd, "
            "num_hidden_layers/n_layer, num_attention_heads/n_head, vocab_size)")
    h = _size(cfg, name, "hidden_size", "n_embd", "d_model", missing=need)
    layers = _size(cfg, name, "num_hidden_layers", "n_layer", "num_layers", missing=need)
    heads = _size(cfg, name, "num_attention_heads", "n_head", missing=need)
    vocab = _size(cfg, name, "vocab_size", missing=need)
    if min(h, layers, heads, vocab) <= 0:
        raise EstimateError(f"{name}: sizes must be above zero")
    f = _size(cfg, name, "intermediate_size", "n_inner", "ffn_dim", default=4 * h)
    kv = _size(cfg, name, "num_key_value_heads", default=heads)
    head_dim = _size(cfg, name, "head_dim", default=max(1, h // heads))
    _check_heads(cfg, name, h, heads, kv, head_dim)
    act = str(_get(cfg, "hidden_activation", "hidden_act", "activation_function",
                   default="gelu_new" if family == "gpt2" else "silu"))
    tied_default = family in ("gpt2", "bert", "gemma", "gemma2", "gemma3")
    experts = _size(cfg, name, "num_local_experts", "num_experts", "n_routed_experts", default=1)
    shared, shared_gate = (_shared_expert(cfg, model_type, f, name) if experts > 1
                           else (0, False))
    if experts > 1 and (_size(cfg, name, "interleave_moe_layer_step", "decoder_sparse_step",
                              default=1) != 1 or _get(cfg, "mlp_only_layers", default=[])):
        raise EstimateError(f"{name}: dense and mixture-of-experts layers alternate in this "
                            "model (e.g. Llama 4 Maverick); that layout is not modelled yet")
    moe_f = _size(cfg, name, "moe_intermediate_size", default=f)
    per_token = _size(cfg, name, "num_experts_per_tok", "experts_per_token", default=1)
    if experts > 1 and not 1 <= per_token <= experts:
        raise EstimateError(f"{name}: num_experts_per_tok ({per_token}) must be from 1 to the "
                            f"number of experts ({experts})")
    max_positions = _size(cfg, name, "max_position_embeddings", "n_positions", default=0)
    return _plausible(ModelShape(
        name=name, family=family, kind="encoder" if family == "bert" else "decoder",
        num_layers=layers, hidden_size=h, num_heads=heads, num_kv_heads=kv, head_dim=head_dim,
        intermediate_size=moe_f if experts > 1 else f,
        vocab_size=vocab, tie_word_embeddings=bool(cfg.get("tie_word_embeddings", tied_default)),
        gated_ffn=family not in ("gpt2", "bert"), hidden_act=act,
        max_positions=max_positions or None,
        num_experts=experts, experts_per_token=per_token,
        shared_expert_size=shared, shared_expert_gate=shared_gate,
        source=f"config.json ({model_type})", notes=family_notes(family),
        final_logit_softcap=bool(cfg.get("final_logit_softcapping")),
        head=config_head(cfg) if family == "bert" else "",
    ))


def _check_heads(cfg: dict[str, Any], name: str, hidden: int, heads: int, kv: int,
                 head_dim: int) -> None:
    """Attention sizes that no model has are refused with the fields named: more KV heads than
    heads, heads not a multiple of the KV heads (grouped-query attention shares each KV head by
    a whole group), or a hidden size the heads do not divide when no head_dim is given."""
    if kv <= 0 or head_dim <= 0:
        raise EstimateError(f"{name}: num_key_value_heads and head_dim must be above zero")
    if kv > heads:
        raise EstimateError(f"{name}: num_key_value_heads ({kv}) is more than "
                            f"num_attention_heads ({heads})")
    if heads % kv:
        raise EstimateError(f"{name}: num_attention_heads ({heads}) is not a multiple of "
                            f"num_key_value_heads ({kv})")
    if _get(cfg, "head_dim") is None and hidden % heads:
        raise EstimateError(f"{name}: hidden_size ({hidden}) is not divisible by "
                            f"num_attention_heads ({heads}) and no head_dim is given")


def _plausible(shape: ModelShape) -> ModelShape:
    """The shape, unless its sizes add up to more parameters than any model has (absurd but
    individually valid fields, such as a hidden size of 10^9)."""
    if shape.computed_params > MAX_PARAM_COUNT:
        raise EstimateError(f"{shape.name}: these sizes make {shape.computed_params:.3g} "
                            f"parameters, more than any model ({MAX_PARAM_COUNT:.0e}); check "
                            "hidden_size, num_hidden_layers, intermediate_size and vocab_size")
    return shape


def config_head(cfg: dict[str, Any]) -> str:
    """The encoder head a config's ``architectures`` names: ``BertForMaskedLM`` (and the
    pre-training model, which has the same vocabulary logits) give ``masked-lm``, a
    ``*ForSequenceClassification`` gives ``classification``. A config that names neither is
    taken as masked LM, the larger of the two, so the estimate is never the low one."""
    names = [str(a) for a in cfg.get("architectures") or () if isinstance(a, str)]
    if any(n.endswith("ForSequenceClassification") for n in names) and not any(
            n.endswith(("ForMaskedLM", "ForPreTraining")) for n in names):
        return "classification"
    return "masked-lm"


def with_head(shape: ModelShape, head: str | None) -> ModelShape:
    """``shape`` with the encoder head the user chose (None, or a decoder: unchanged)."""
    if head is None or shape.kind != "encoder" or head == shape.head:
        return shape
    return replace(shape, head=head)


def family_notes(family: str) -> tuple[str, ...]:
    """What the estimate of a family should say about itself."""
    if family == "gpt_oss":
        return ("gpt-oss ships its experts in MXFP4 (4.25 bits a weight): transformers keeps "
                "them so only where its MXFP4 kernels run (recent NVIDIA GPUs with triton), "
                "else it loads them as bf16, which is what this estimate assumes; llama.cpp's "
                "MXFP4_MOE file keeps them (--runtime llama.cpp --quant MXFP4_MOE)",)
    return ()


def _shared_expert(cfg: dict[str, Any], model_type: str, ffn: int,
                   name: str = "config.json") -> tuple[int, bool]:
    """Width of the shared expert and whether it has its own gate, from a MoE config."""
    if model_type.startswith("llama4"):
        return ffn, False  # one shared expert as wide as a routed one
    width = _size(cfg, name, "shared_expert_intermediate_size", default=0)
    if not width and _get(cfg, "n_shared_experts"):
        width = (_size(cfg, name, "n_shared_experts", default=0)
                 * _size(cfg, name, "moe_intermediate_size", default=ffn))
    return width, model_type == "qwen2_moe" and width > 0


#: diffusers model classes that are not walked (their memory would come from the wrong family).
_UNMODELLED_DIFFUSERS = ("SD3Transformer2DModel", "FluxTransformer2DModel",
                         "PixArtTransformer2DModel", "UNet2DModel", "UNetMotionModel",
                         "AutoencoderKL")


def _image_config(cfg: dict[str, Any], name: str) -> ModelShape | None:
    """A diffusers UNet or a transformers ViT/ResNet/ConvNeXt config; None for others.

    Raises:
        EstimateError: an image architecture that is not modelled.
    """
    from rigready.assess.estimate import catalog_images as ci
    from rigready.assess.estimate import vision

    cls = str(cfg.get("_class_name", ""))
    if cls == "UNet2DConditionModel":
        return ci.shape_from_unet_config(cfg, name)
    if cls in _UNMODELLED_DIFFUSERS or cls.endswith(("Transformer2DModel", "Pipeline")):
        raise EstimateError(f"{name}: {cls} is not modelled (the estimator walks Stable "
                            "Diffusion 1.x/XL UNets; SD 3, FLUX and others are unknown)")
    mt = str(cfg.get("model_type", "")).lower()
    if mt not in ("vit", "resnet", "convnext"):
        return None
    try:
        if mt == "vit":
            arch = vision.ImageArch(name, "vit", (int(cfg["num_hidden_layers"]),),
                                    (int(cfg["hidden_size"]),), patch=int(cfg["patch_size"]),
                                    heads=int(cfg["num_attention_heads"]),
                                    mlp=int(cfg["intermediate_size"]),
                                    default_image=int(cfg.get("image_size", 224)))
        else:
            depths = tuple(int(d) for d in cfg["depths"])
            sizes = tuple(int(h) for h in cfg["hidden_sizes"])
            bottleneck = cfg.get("layer_type", "bottleneck") == "bottleneck"
            widths = tuple(h // 4 for h in sizes) if mt == "resnet" and bottleneck else sizes
            arch = vision.ImageArch(name, mt, depths, widths, bottleneck=bottleneck)
    except (KeyError, TypeError, ValueError):
        raise EstimateError(f"{name}: a {mt} config needs its layer sizes (num_hidden_layers, "
                            "hidden_size, ... or depths, hidden_sizes)") from None
    kind = "vision-transformer" if mt == "vit" else "vision-cnn"
    params = vision.walk(arch, arch.default_image).params
    return ModelShape(name=name, family=mt, kind=kind, num_layers=0, hidden_size=0,
                      num_heads=1, num_kv_heads=1, head_dim=0, intermediate_size=0,
                      vocab_size=0, tie_word_embeddings=False, declared_params=params,
                      image_size=arch.default_image, image=arch,
                      source=f"config.json ({mt}), walked as the torchvision layout")


def shape_from_config_file(path: str | Path) -> ModelShape:
    """Read a ``config.json`` (or a folder holding one).

    Raises:
        EstimateError: the file cannot be read, is not JSON, or describes an unsupported model.
    """
    p = Path(path)
    if path_exists(p, folder=True):
        p = p / "config.json"
    name = p.parent.name if p.name == "config.json" and p.parent.name else p.stem
    return shape_from_config(read_config_file(p), name)


def read_config_file(p: Path) -> dict[str, Any]:
    """The dict of a ``config.json`` file, read with the shared size-limited strict reader (the
    one path for a user's file and a Hub download alike).

    Raises:
        EstimateError: the file cannot be read, is not JSON, or is not a JSON object.
    """

    def error(where: str, _field: str, problem: str) -> EstimateError:
        problem = problem.replace("not valid JSON", "not a valid config.json")
        return EstimateError(f"{where}: {problem}")

    data = read_json_file(p, error)
    if not isinstance(data, dict):
        raise EstimateError(f"{p}: not a valid config.json (expected a JSON object)")
    return data


def shape_from_entry(entry: Any) -> ModelShape:
    """Build a shape from a catalog ``ModelEntry`` (read by field name, so any object with the
    catalog's fields works).

    Raises:
        EstimateError: the entry is not a transformer the estimator models.
    """
    family = str(getattr(entry, "family", "other"))
    kind = str(getattr(entry, "kind", "decoder"))
    if kind in ("vision-cnn", "vision-transformer", "diffusion"):
        from rigready.assess.estimate.catalog_images import image_shape, unknown_image_model

        arch = getattr(entry, "arch", None)
        if not arch:
            raise unknown_image_model(entry)
        return replace(image_shape(str(entry.id), str(arch), str(getattr(entry, "source", ""))),
                       declared_params=int(entry.params))
    if kind == "encoder-decoder":
        raise EstimateError(f"{entry.id} is an encoder-decoder model ({family}); the estimator "
                            "models decoders, encoders and image models, so its memory is "
                            "unknown")
    mapped = _MODEL_TYPE_FAMILY.get(family, "other" if family == "other" else None)
    params = int(entry.params)
    layers = getattr(entry, "num_layers", None)
    if mapped is None or layers is None:
        shape = shape_from_param_count(params, name=str(entry.id))
        note = (f"{entry.id} is a {getattr(entry, 'kind', 'model')} ({family}); memory is "
                "estimated from its parameter count with a transformer-like shape")
        return replace(shape, notes=(*shape.notes, note), declared_params=params,
                       image_size=getattr(entry, "image_size", None),
                       patch_size=getattr(entry, "patch_size", None))
    h = int(entry.hidden_size)
    heads = int(entry.num_attention_heads)
    experts = getattr(entry, "num_experts", None) or 1
    gated = getattr(entry, "gated_ffn", None)
    ffn = getattr(entry, "moe_intermediate_size", None) or getattr(entry, "intermediate_size", None)
    return ModelShape(
        name=str(entry.id), family=mapped, kind="encoder" if mapped == "bert" else "decoder",
        num_layers=int(layers), hidden_size=h, num_heads=heads,
        num_kv_heads=int(getattr(entry, "num_key_value_heads", None) or heads),
        head_dim=int(getattr(entry, "head_dim", None) or h // heads),
        intermediate_size=int(ffn or 4 * h),
        vocab_size=int(getattr(entry, "vocab_size", None) or 32000),
        tie_word_embeddings=bool(getattr(entry, "tie_word_embeddings", False)),
        gated_ffn=bool(gated) if gated is not None else mapped not in ("gpt2", "bert"),
        hidden_act=str(getattr(entry, "hidden_act", None) or "silu"),
        final_logit_softcap=bool(getattr(entry, "final_logit_softcapping", None)),
        max_positions=getattr(entry, "max_position_embeddings", None),
        num_experts=int(experts),
        experts_per_token=int(getattr(entry, "num_experts_per_tok", None) or 1),
        shared_expert_size=int(getattr(entry, "shared_expert_intermediate_size", None) or 0),
        shared_expert_gate=mapped == "qwen2" and bool(
            getattr(entry, "shared_expert_intermediate_size", None)),
        declared_params=params, image_size=getattr(entry, "image_size", None),
        patch_size=getattr(entry, "patch_size", None),
        source=str(getattr(entry, "source", "catalog")), notes=family_notes(mapped),
        # the published configs of the catalog's BERT models name BertForMaskedLM
        head="masked-lm" if mapped == "bert" else "",
    )


_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_SUFFIX = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


MIN_PARAMS_COUNT = 1
#: Largest parameter count accepted (100 trillion; the largest published models are ~2 T).
MAX_PARAM_COUNT = 1e14


def parse_param_count(text: str) -> int | None:
    """``"7e9"``, ``"7B"``, ``"1.5b"``, ``"350M"`` -> an integer count; None if not a count."""
    m = _COUNT.match(text)
    if not m:
        return None
    value = float(m.group(1)) * _SUFFIX[m.group(2).lower()]
    if not MIN_PARAMS_COUNT <= value <= MAX_PARAM_COUNT:  # 1e999 is inf: no such model
        return None
    return int(value)


def shape_from_param_count(params: int, name: str | None = None) -> ModelShape:
    """A Llama-like shape with about ``params`` parameters (vocab 32000, head size 128,
    MLP 3.5x wide, grouped KV heads from 8B up), for a bare count.

    Raises:
        EstimateError: the count is not above zero.
    """
    if params <= 0:
        raise EstimateError(f"a parameter count must be above zero, got {params}")
    vocab = 32000
    best: ModelShape | None = None
    for layers in (12, 16, 22, 24, 28, 32, 40, 48, 60, 80, 96, 126):
        # per layer: 4h^2 (attention) + 3 * 3.5h * h (MLP) = 14.5 h^2; embeddings 2 V h
        a, b, c = 14.5 * layers, 2.0 * vocab, -float(params)
        h = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
        h = max(128, round(h / 128) * 128)
        heads = max(1, h // 128)
        kv = heads if params < 6e9 else max(1, heads // 4)
        shape = ModelShape(
            name=name or f"{params / 1e9:g}B parameters", family="other", kind="decoder",
            num_layers=layers, hidden_size=h, num_heads=heads, num_kv_heads=kv,
            head_dim=h // heads, intermediate_size=int(round(3.5 * h / 128) * 128),
            vocab_size=vocab, tie_word_embeddings=False, declared_params=params, exact=False,
            source="parameter count",
            notes=("shape guessed from the parameter count (Llama-like); give a config.json "
                   "for exact activation and KV-cache figures",),
        )
        # prefer the depth whose width/depth ratio is closest to real models (~100-160)
        if best is None or abs(h / layers - 128) < abs(best.hidden_size / best.num_layers - 128):
            best = shape
    assert best is not None
    return best
