"""The shape of a model: the architecture numbers every family of the estimator reads.

A :class:`ModelShape` comes from a catalog entry, a Hugging Face ``config.json`` or a bare
parameter count (:mod:`rigready.assess.estimate.shapes` picks the family that builds it).
Parameter counts are computed from the architecture (embeddings, attention with grouped KV heads,
gated or plain MLP, norms, biases, experts), so a config gives the exact count transformers
builds. Image models carry their walked architecture in :attr:`ModelShape.image`; the
transformer numbers are then zero.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

#: Families with an RMSNorm on each head's query and key (weights of head_dim each).
QK_NORM_FAMILIES = ("qwen3", "gemma3")
#: Kinds of image classifier (torchvision CNNs and ViTs; the image family also has diffusion).
CLASSIFIER_KINDS = ("vision-cnn", "vision-transformer")

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
    #: Image models: the walked architecture (``image.vision.ImageArch`` or
    #: ``image.memory.DiffusionSpec``); the transformer numbers above are then unused (zero).
    image: Any = None
    #: Gemma-2 caps its final logits with tanh (``final_logit_softcapping``): one more saved
    #: logits-sized tensor in training.
    final_logit_softcap: bool = False
    #: Encoder-decoders (T5, Whisper): their stacks (``language.encdec.EncDec``); the numbers
    #: above then describe one layer's widths, and ``declared_params`` the whole model.
    seq2seq: Any = None
    #: Vision-language models (Gemma 3): the vision tower (``language.vlm.VisionTower``) whose
    #: weights and activations add to the text model's.
    vision: Any = None
    #: Sliding-window attention: the window in tokens (0: none, or switched off as Qwen2's
    #: ``use_sliding_window: false``) and how many layers use it (Gemma 2: every other one).
    sliding_window: int = 0
    sliding_layers: int = 0

    @property
    def kv_dim(self) -> int:
        """Width of the key (and the value) projection: KV heads x head size."""
        return self.num_kv_heads * self.head_dim

    @property
    def q_dim(self) -> int:
        """Width of the query projection: heads x head size."""
        return self.num_heads * self.head_dim

    @property
    def is_image_classifier(self) -> bool:
        """A torchvision image classifier (CNN or ViT)."""
        return self.kind in CLASSIFIER_KINDS

    @property
    def is_moe(self) -> bool:
        """A mixture of experts (more than one expert MLP per layer)."""
        return self.num_experts > 1

    @property
    def norm_kind(self) -> str:
        """``layer`` (LayerNorm: GPT-2, BERT) or ``rms`` (everything Llama-like)."""
        return "layer" if self.family in ("gpt2", "bert", "whisper", "siglip") else "rms"

    @property
    def has_dropout(self) -> bool:
        """GPT-2, BERT and T5 train with dropout (masks are saved); Llama-like models do
        not."""
        return self.family in ("gpt2", "bert", "t5")

    @property
    def params(self) -> int:
        """Total parameters (all experts of a MoE)."""
        return self.declared_params if self.declared_params else self.computed_params

    @property
    def computed_params(self) -> int:
        """Parameters implied by the architecture numbers (a vision tower's included)."""
        tower = int(getattr(self.vision, "params", 0)) if self.vision is not None else 0
        return (self.embedding_params + self.num_layers * self.layer_params + self.head_params
                + tower)

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
        return self.params - self.idle_params

    @property
    def expert_params(self) -> int:
        """Parameters of one routed expert: gate, up and down projections (+ biases in
        gpt-oss)."""
        h, f = self.hidden_size, self.intermediate_size
        params = 3 * h * f
        if self.family == "gpt_oss":
            params += 2 * f + h  # gate_up_proj_bias and down_proj_bias
        return params

    @property
    def idle_params(self) -> int:
        """Parameters a token does not touch: the routed experts it is not sent to, every
        layer (0 for a dense model)."""
        if not self.is_moe:
            return 0
        return (self.num_experts - self.experts_per_token) * self.expert_params * self.num_layers

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
            experts = self.num_experts * self.expert_params
            if self.family == "gpt_oss":
                experts += self.num_experts  # router bias
        return norms + bias + experts

    def linear_modules(self) -> tuple[tuple[str, int, int, int, str], ...]:
        """The nn.Linear modules of one layer: (name, in, out, count, input) with Hugging Face
        names; ``input`` names the tensor it reads (``attn_in``, ``attn_out``, ``mlp_in``,
        ``mlp_mid``). Experts of a MoE are fused 3-D parameters in transformers, not Linears.
        """
        h, f, q, kv = self.hidden_size, self.intermediate_size, self.q_dim, self.kv_dim
        if self.family == "t5":  # an encoder layer's (the decoder adds the cross-attention)
            return (("q", h, q, 1, "attn_in"), ("k", h, q, 1, "attn_in"),
                    ("v", h, q, 1, "attn_in"), ("o", q, h, 1, "attn_out"),
                    ("wi_0", h, f, 1, "mlp_in"), ("wi_1", h, f, 1, "mlp_in"),
                    ("wo", f, h, 1, "mlp_mid"))
        if self.family in ("whisper", "siglip"):
            return (("q_proj", h, q, 1, "attn_in"), ("k_proj", h, q, 1, "attn_in"),
                    ("v_proj", h, q, 1, "attn_in"), ("out_proj", q, h, 1, "attn_out"),
                    ("fc1", h, f, 1, "mlp_in"), ("fc2", f, h, 1, "mlp_mid"))
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


def with_head(shape: ModelShape, head: str | None) -> ModelShape:
    """``shape`` with the encoder head the user chose (None, or a decoder: unchanged)."""
    if head is None or shape.kind != "encoder" or head == shape.head:
        return shape
    return replace(shape, head=head)
