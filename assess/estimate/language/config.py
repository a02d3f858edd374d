"""Language models' shapes: from a Hugging Face ``config.json``, a catalog entry or a bare
parameter count.

A config gives the exact architecture transformers builds. A bare count (``7e9``, ``7B``) gets a
Llama-like shape whose layer sizes are chosen to match it; the shape says so in ``notes`` and
``exact`` is False.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language import encdec, vlm
from rigready.assess.estimate.model import ModelShape

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
    """Build the shape of a language model from the dict of a Hugging Face ``config.json``
    (image configs are read by :mod:`rigready.assess.estimate.image.shapes` first).

    Raises:
        EstimateError: the model type is not supported or a needed number is missing.
    """
    model_type = str(cfg.get("model_type", "")).lower()
    if model_type in ENCODER_DECODERS:
        return encdec_shape(cfg, name, model_type)
    if model_type == "gemma3" and isinstance(cfg.get("text_config"), dict):
        return _gemma3_vision(cfg, name)
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
    window, sliding = _sliding(cfg, family, layers)
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
        sliding_window=window, sliding_layers=sliding,
    ))


def _sliding(cfg: dict[str, Any], family: str, layers: int) -> tuple[int, int]:
    """(window, layers that use it) of sliding-window attention: ``layer_types`` where the
    config lists them, else Gemma 3's ``sliding_window_pattern``, else every other layer for
    Gemma 2, else every layer; (0, 0) without a window or with ``use_sliding_window: false``
    (Qwen2/Qwen3 configs carry an unused one)."""
    window = cfg.get("sliding_window")
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0 or \
            cfg.get("use_sliding_window") is False:
        return 0, 0
    types = cfg.get("layer_types")
    if isinstance(types, list) and types:
        return window, sum(1 for t in types if t == "sliding_attention")
    pattern = cfg.get("sliding_window_pattern")  # Gemma 3: every n-th layer global
    if isinstance(pattern, int) and not isinstance(pattern, bool) and pattern > 1:
        return window, layers - layers // pattern
    return window, layers // 2 if family == "gemma2" else layers


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


#: transformers' ``Gemma3TextConfig`` defaults: the published Gemma 3 configs name only what
#: differs from them (gemma-3-4b-it: width, FFN, layers, sliding window, RoPE scaling).
GEMMA3_TEXT_DEFAULTS: dict[str, Any] = {
    "vocab_size": 262208, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
    "max_position_embeddings": 131072, "hidden_activation": "gelu_pytorch_tanh",
    "tie_word_embeddings": True, "hidden_size": 2304, "intermediate_size": 9216,
    "num_hidden_layers": 26,
}


def _gemma3_vision(cfg: dict[str, Any], name: str) -> ModelShape:
    """Gemma 3 with its vision tower (``Gemma3ForConditionalGeneration``): the text model from
    ``text_config`` over transformers' defaults, and the SigLIP tower of ``vision_config``."""
    text = {**GEMMA3_TEXT_DEFAULTS, **cfg["text_config"], "model_type": "gemma3_text"}
    shape = shape_from_config(text, name)
    if "vision_config" not in cfg:
        return shape
    tower = vlm.tower_from_config(cfg, shape.hidden_size, name)
    return replace(shape, vision=tower, declared_params=None,
                   source="config.json (gemma3, with its vision tower)",
                   notes=(*shape.notes, f"vision tower: {tower.params / 1e6:,.0f} M parameters; "
                          f"an image is {tower.patches:,} patches in the tower and "
                          f"{tower.tokens_per_image} tokens of the prompt"))


#: Encoder-decoder model types and their family.
ENCODER_DECODERS = {"t5": "t5", "mt5": "t5", "umt5": "t5", "whisper": "whisper"}


def encdec_shape(cfg: dict[str, Any], name: str, model_type: str) -> ModelShape:
    """A T5 / Whisper shape from its config: the widths in the usual fields, the stacks in
    ``seq2seq``, the exact parameter count declared.

    Raises:
        EstimateError: a needed number is missing or not a whole number.
    """
    family = ENCODER_DECODERS[model_type]
    need = "d_model, layers, heads, FFN width and vocab_size are needed"
    h = _size(cfg, name, "d_model", missing=need)
    vocab = _size(cfg, name, "vocab_size", missing=need)
    if family == "t5":
        enc = _size(cfg, name, "num_layers", missing=need)
        dec = _size(cfg, name, "num_decoder_layers", default=enc)
        heads = _size(cfg, name, "num_heads", missing=need)
        head_dim = _size(cfg, name, "d_kv", default=max(1, h // max(1, heads)))
        f = _size(cfg, name, "d_ff", missing=need)
        gated = "gated" in str(cfg.get("feed_forward_proj", ""))
        act_name = str(cfg.get("dense_act_fn") or "relu")
        ed = encdec.EncDec("t5", enc, dec)
        max_pos = _size(cfg, name, "n_positions", default=512)
    else:
        enc = _size(cfg, name, "encoder_layers", "num_hidden_layers", missing=need)
        dec = _size(cfg, name, "decoder_layers", default=enc)
        heads = _size(cfg, name, "encoder_attention_heads", missing=need)
        head_dim = max(1, h // max(1, heads))
        f = _size(cfg, name, "encoder_ffn_dim", missing=need)
        gated, act_name = False, str(cfg.get("activation_function") or "gelu")
        ed = encdec.EncDec("whisper", enc, dec,
                           source_positions=_size(cfg, name, "max_source_positions",
                                                  default=1500),
                           mel_bins=_size(cfg, name, "num_mel_bins", default=80))
        max_pos = _size(cfg, name, "max_target_positions", default=448)
    if min(h, vocab, enc, dec, heads, f) <= 0:
        raise EstimateError(f"{name}: sizes must be above zero")
    shape = ModelShape(
        name=name, family=family, kind="encoder-decoder", num_layers=dec, hidden_size=h,
        num_heads=heads, num_kv_heads=heads, head_dim=head_dim, intermediate_size=f,
        vocab_size=vocab, tie_word_embeddings=True, gated_ffn=gated, hidden_act=act_name,
        max_positions=max_pos, seq2seq=ed, source=f"config.json ({model_type})")
    notes = ("Whisper: a 30-second window (1,500 encoder positions) per sample; --seq is "
             "unused, --target-tokens is the transcript's length",) if family == "whisper" \
        else ("T5: --seq is the input's tokens, --target-tokens the labels'",)
    return replace(shape, declared_params=encdec.params(shape, ed), notes=notes)


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


def shape_from_entry(entry: Any) -> ModelShape:
    """Build the shape of a catalog ``ModelEntry`` of a language model (read by field name, so
    any object with the catalog's fields works); image entries are built by
    :mod:`rigready.assess.estimate.image.shapes`.

    Raises:
        EstimateError: the entry is not a transformer the estimator models.
    """
    family = str(getattr(entry, "family", "other"))
    kind = str(getattr(entry, "kind", "decoder"))
    if kind == "encoder-decoder" and family not in ENCODER_DECODERS:
        raise EstimateError(f"{entry.id} is an encoder-decoder model ({family}); the estimator "
                            "walks T5 and Whisper among them, so its memory is unknown")
    if kind == "encoder-decoder":
        return _encdec_entry(entry, family)
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
        vision=_gemma3_tower(entry, h) if mapped == "gemma3" else None,
    )


def _gemma3_tower(entry: Any, text_hidden: int) -> vlm.VisionTower | None:
    """A Gemma 3 entry that gives an image size carries Gemma 3's SigLIP tower (the same
    so400m tower at every size: 27 layers of 1152, FFN 4304, 16 heads, 14-pixel patches)."""
    side = getattr(entry, "image_size", None)
    if not side:
        return None
    return vlm.tower_from_config({"vision_config": {
        "image_size": int(side), "patch_size": int(getattr(entry, "patch_size", None) or 14)}},
        text_hidden, str(entry.id))


def _encdec_entry(entry: Any, family: str) -> ModelShape:
    """A catalog T5 / Whisper entry through the config path (its stacks are as deep as
    ``num_layers`` each, as the catalog format says)."""
    h, layers = int(entry.hidden_size), int(entry.num_layers)
    heads, ffn = int(entry.num_attention_heads), int(entry.intermediate_size)
    if family == "t5":
        cfg: dict[str, Any] = {
            "d_model": h, "num_layers": layers, "num_decoder_layers": layers,
            "num_heads": heads, "d_kv": int(getattr(entry, "head_dim", None) or h // heads),
            "d_ff": ffn, "vocab_size": int(entry.vocab_size),
            "feed_forward_proj": "gated-gelu" if getattr(entry, "gated_ffn", False) else "relu",
            "dense_act_fn": str(getattr(entry, "hidden_act", None) or "relu")}
    else:
        cfg = {"d_model": h, "encoder_layers": layers, "decoder_layers": layers,
               "encoder_attention_heads": heads, "encoder_ffn_dim": ffn,
               "vocab_size": int(entry.vocab_size),
               "max_target_positions": int(getattr(entry, "max_position_embeddings", None)
                                           or 448)}
    shape = encdec_shape(cfg, str(entry.id), family)
    return replace(shape, declared_params=int(entry.params),
                   source=str(getattr(entry, "source", "catalog")))


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
