"""GGUF files as llama.cpp writes them: the size of every tensor for a quantization type.

Bits per weight come from ggml's block layouts (``ggml/src/ggml-common.h``: a Q4_K super-block
of 256 weights is 144 bytes, 4.5 bits; Q8_0 is 34 bytes per 32 weights, 8.5 bits ...). A file
type such as Q4_K_M is a *mix*: ``llama_tensor_get_type_impl`` in ``src/llama-quant.cpp`` keeps
the output head at Q6_K, some attention-V and FFN-down tensors at Q5_K/Q6_K, and falls back to a
legacy type when a row length is not a multiple of the block size. :func:`tensor_types` follows
those rules for the tensors a Llama-like model has, so a model's bits per weight is what the
file holds, not the type's nominal figure. Norms, biases, attention sinks and MoE routers stay
F32, as the converter writes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.model import ModelShape
from rigready.assess.estimate.quant import BLOCKS as BLOCKS
from rigready.assess.estimate.quant import FILE_TYPES as FILE_TYPES
from rigready.assess.estimate.quant import bits_per_weight as bits_per_weight

#: KV-cache types llama.cpp accepts for ``--cache-type-k/-v`` that this estimate knows.
KV_TYPES = ("f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl")

#: When a row is not a multiple of the block, llama-quant falls back to a 32-weight type.
_FALLBACK = {"Q2_K": "Q4_0", "Q3_K": "Q4_0", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0",
             "IQ4_XS": "IQ4_NL"}
#: Converter metadata (vocabulary strings, scores, merges), bytes per vocabulary entry.
_METADATA_BYTES_PER_TOKEN = 40


def tensor_bytes(ggml_type: str, elements: int) -> int:
    """Bytes of a tensor of ``elements`` weights stored as ``ggml_type``."""
    n, size = BLOCKS[ggml_type]
    return math.ceil(elements / n) * size


def normalise_quant(text: str) -> str:
    """``q4_k_m`` -> ``Q4_K_M``.

    Raises:
        EstimateError: not a file type this estimate knows.
    """
    name = text.strip().upper().replace("-", "_")
    if name not in FILE_TYPES:
        raise EstimateError(f"unknown quant type {text!r} (choose from "
                            f"{', '.join(FILE_TYPES)})")
    return name


def kv_bytes_per_element(kv_type: str) -> float:
    """Bytes per cached key or value element for ``--cache-type-k/-v``.

    Raises:
        EstimateError: not a cache type llama.cpp accepts.
    """
    name = kv_type.strip().lower()
    if name not in KV_TYPES:
        raise EstimateError(f"unknown KV-cache type {kv_type!r} (choose from "
                            f"{', '.join(KV_TYPES)})")
    n, size = BLOCKS[name.upper()]
    return size / n


@dataclass(frozen=True, slots=True)
class Tensor:
    """One weight tensor of a GGUF file: llama.cpp's name, its category, shape and layer."""

    name: str
    category: str  # token_embd output attn_q attn_k attn_v attn_output ffn_gate ffn_up ...
    row: int  # ne[0]: the input width, which must be a multiple of the block size
    elements: int
    layer: int | None = None
    #: 3-D expert tensors (``ffn_*_exps``): MXFP4_MOE quantizes only these.
    experts: bool = False
    #: Not quantized: norms, biases, sinks, routers (F32 in the file).
    f32: bool = False


def layer_tensors(shape: ModelShape, i: int) -> list[Tensor]:
    """The tensors of transformer layer ``i`` with their GGUF categories."""
    h, f, q, kv = shape.hidden_size, shape.intermediate_size, shape.q_dim, shape.kv_dim
    out: list[Tensor] = []

    def add(name: str, cat: str, n_in: int, n_out: int, count: int = 1, **kw: bool) -> None:
        out.append(Tensor(f"blk.{i}.{name}", cat, n_in, n_in * n_out * count, i, **kw))

    if shape.family in ("phi3", "gpt2"):
        add("attn_qkv.weight", "attn_v", h, q + 2 * kv)  # attn_qkv is treated like attn_v
    else:
        add("attn_q.weight", "attn_q", h, q)
        add("attn_k.weight", "attn_k", h, kv)
        add("attn_v.weight", "attn_v", h, kv)
    add("attn_output.weight", "attn_output", q, h)
    if shape.is_moe:
        e = shape.num_experts
        add("ffn_gate_exps.weight", "ffn_gate", h, f, e, experts=True)
        add("ffn_up_exps.weight", "ffn_up", h, f, e, experts=True)
        add("ffn_down_exps.weight", "ffn_down", f, h, e, experts=True)
        add("ffn_gate_inp.weight", "router", h, e, f32=True)
        if shape.shared_expert_size:
            fs = shape.shared_expert_size
            add("ffn_gate_shexp.weight", "ffn_gate", h, fs)
            add("ffn_up_shexp.weight", "ffn_up", h, fs)
            add("ffn_down_shexp.weight", "ffn_down", fs, h)
    elif shape.family == "phi3":
        add("ffn_up.weight", "ffn_up", h, 2 * f)  # gate and up fused
        add("ffn_down.weight", "ffn_down", f, h)
    else:
        if shape.gated_ffn:
            add("ffn_gate.weight", "ffn_gate", h, f)
        add("ffn_up.weight", "ffn_up", h, f)
        add("ffn_down.weight", "ffn_down", f, h)
    # everything else of the layer (norms, biases, sinks, router bias) is small and F32
    linear = sum(t.elements for t in out if not t.f32)
    rest = shape.layer_params - linear - sum(t.elements for t in out if t.f32)
    if rest > 0:
        out.append(Tensor(f"blk.{i}.norms_and_biases", "other", 1, rest, i, f32=True))
    return out


def model_tensors(shape: ModelShape) -> list[Tensor]:
    """Every tensor of the model: embeddings, each layer, final norm and output head."""
    h, v = shape.hidden_size, shape.vocab_size
    tensors = [Tensor("token_embd.weight", "token_embd", h, v * h)]
    for i in range(shape.num_layers):
        tensors.extend(layer_tensors(shape, i))
    extra = shape.embedding_params - v * h  # final norm (and GPT-2's position table)
    if extra > 0:
        tensors.append(Tensor("output_norm.weight", "other", 1, extra, f32=True))
    if not shape.tie_word_embeddings:
        tensors.append(Tensor("output.weight", "output", h, v * h))
    return tensors


def _use_more_bits(i: int, n: int) -> bool:
    # llama-quant.cpp: the first and last eighth of the layers, and every third in between
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def _is_70b(shape: ModelShape) -> bool:
    # llama.cpp names 80-layer grouped-query Llama/Qwen2 models "70B" and bumps their attn_v
    return shape.num_layers == 80 and shape.num_heads != shape.num_kv_heads and \
        shape.family in ("llama", "qwen2", "mistral")


def tensor_type(shape: ModelShape, ftype: str, t: Tensor, imatrix: bool = True) -> str:
    """The ggml type llama-quantize gives tensor ``t`` for file type ``ftype``.

    ``imatrix``: whether an importance matrix was used (bartowski's and unsloth's published
    quants are); it changes a few legacy-type FFN-down tensors.
    """
    base = FILE_TYPES[ftype]
    if t.f32:
        return "F32"
    if base in ("F16", "BF16"):
        return base
    chosen = _mix(shape, ftype, base, t, imatrix)
    return _fallback(chosen, t.row)


def _mix(shape: ModelShape, ftype: str, base: str, t: Tensor, imatrix: bool) -> str:
    cat = t.category
    n, i = shape.num_layers, t.layer if t.layer is not None else 0
    gqa = shape.num_heads // max(1, shape.num_kv_heads)
    experts8 = shape.num_experts == 8
    if cat == "output" or (cat == "token_embd" and shape.tie_word_embeddings):
        if ftype == "MXFP4_MOE" or t.row % BLOCKS[base][0]:
            return "Q8_0"
        return base if base == "Q8_0" else "Q6_K"
    if ftype == "MXFP4_MOE":
        return "MXFP4" if t.experts else "Q8_0"
    new = base
    if cat == "attn_v":
        if ftype == "Q2_K":
            new = "Q4_K" if gqa >= 4 else "Q3_K"
        elif ftype == "Q3_K_M":
            new = "Q5_K" if i < 2 else "Q4_K"
        elif ftype == "Q3_K_L" or (ftype in ("IQ4_NL", "IQ4_XS") and gqa >= 4):
            new = "Q5_K"
        elif ftype in ("Q4_K_M", "Q5_K_M") and _use_more_bits(i, n):
            new = "Q6_K"
        elif ftype == "Q4_K_S" and i < 4:
            new = "Q5_K"
        if _is_70b(shape) and new in ("Q3_K", "Q4_K"):
            new = "Q5_K"
        if experts8:
            new = "Q8_0"
    elif cat == "attn_k" and experts8:
        new = "Q8_0"
    elif cat == "ffn_down":
        new = _ffn_down(ftype, base, i, n, imatrix)
    elif cat == "attn_output":
        if experts8:
            if ftype in ("Q2_K", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S", "Q4_K_M", "IQ4_XS"):
                new = "Q5_K"
        else:
            new = {"Q2_K": "Q3_K", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K"}.get(ftype, base)
    return new


def _ffn_down(ftype: str, base: str, i: int, n: int, imatrix: bool) -> str:
    if ftype == "Q2_K":
        return "Q3_K"
    if ftype == "Q3_K_M":
        return "Q5_K" if i < n // 16 else "Q4_K"
    if ftype == "Q3_K_L":
        return "Q5_K"
    if ftype == "Q4_K_M":
        return "Q6_K" if _use_more_bits(i, n) else base
    if ftype in ("IQ4_NL", "IQ4_XS") and i < n // 8 and not imatrix:
        return "Q5_K"
    if ftype == "Q5_K_M":
        return "Q6_K" if _use_more_bits(i, n) else base
    if ftype == "Q4_K_S" and i < n // 8:
        return "Q5_K"
    if ftype in ("Q4_0", "Q5_0") and imatrix and i < n // 8:
        return "Q4_1" if ftype == "Q4_0" else "Q5_1"
    return base


def _fallback(ggml_type: str, row: int) -> str:
    block = BLOCKS[ggml_type][0]
    if row % block == 0:
        return ggml_type
    alt = _FALLBACK.get(ggml_type, "F16")
    return alt if row % BLOCKS[alt][0] == 0 else "F16"


@dataclass(frozen=True, slots=True)
class GgufSize:
    """The size of a model's GGUF file for one file type, by part."""

    ftype: str
    total_bytes: int
    #: Bytes of each transformer layer (index = layer), embeddings and head excluded.
    layer_bytes: tuple[int, ...]
    #: Of each layer, the routed-expert tensors (a token reads only its experts' share).
    expert_bytes: tuple[int, ...]
    token_embd_bytes: int
    output_bytes: int  # 0 when tied to the token embeddings
    other_bytes: int  # final norm and metadata
    weights: int  # parameters counted

    @property
    def bits_per_weight(self) -> float:
        """Average bits per parameter of the file (what ``llama.cpp`` prints as BPW)."""
        return 8.0 * (self.total_bytes - self.other_bytes) / max(1, self.weights)


def gguf_size(shape: ModelShape, ftype: str, imatrix: bool = True) -> GgufSize:
    """The GGUF file of ``shape`` quantized as ``ftype`` (a llama-quantize name).

    Raises:
        EstimateError: an unknown file type, or a model that is not a decoder.
    """
    ftype = normalise_quant(ftype)
    if shape.kind != "decoder":
        raise EstimateError(f"{shape.name} is not a decoder language model; llama.cpp GGUF "
                            "estimates cover decoders only")
    layers = [0] * shape.num_layers
    experts = [0] * shape.num_layers
    embd = out = other = 0
    for t in model_tensors(shape):
        size = tensor_bytes(tensor_type(shape, ftype, t, imatrix), t.elements)
        if t.layer is not None:
            layers[t.layer] += size
            if t.experts:
                experts[t.layer] += size
        elif t.category == "token_embd":
            embd = size
        elif t.category == "output":
            out = size
        else:
            other += size
    metadata = _METADATA_BYTES_PER_TOKEN * shape.vocab_size
    total = sum(layers) + embd + out + other + metadata
    return GgufSize(ftype=ftype, total_bytes=total, layer_bytes=tuple(layers),
                    expert_bytes=tuple(experts), token_embd_bytes=embd, output_bytes=out,
                    other_bytes=other + metadata, weights=shape.computed_params)
