"""Vision-language models: a language model with a vision tower (Gemma 3: SigLIP, 27 layers of
1,152, 896-pixel images in 14-pixel patches, average-pooled to 256 tokens and projected into
the text model's width).

The tower's weights add to the text model's; its activations depend on the image, not on the
prompt: 4,096 patches an image go through every tower layer. Inference keeps none of them
(one layer's live set at a time); LoRA training keeps what the adapted tower layers need for
backward when peft's targets name the tower's Linears too (``q_proj``/``v_proj`` match SigLIP's
attention, as they did in the capped runs: 6,447,104 adapter parameters for Gemma-3-4B, 1.99 M
of them in the tower). The tower's saved tensors are counted with the same rules as the text
layers' (:mod:`rigready.assess.estimate.language.activations`), the tower as a LayerNorm
encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language import activations as act
from rigready.assess.estimate.model import ModelShape


@dataclass(frozen=True, slots=True)
class VisionTower:
    """A SigLIP vision tower and its projector into the text model."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    image_size: int
    patch: int
    #: Tokens one image takes in the text sequence (after pooling).
    tokens_per_image: int
    text_hidden: int

    @property
    def patches(self) -> int:
        """Patches of one image (the tower's sequence)."""
        return (self.image_size // self.patch) ** 2

    @property
    def params(self) -> int:
        """The tower (patch embedding, positions, layers, final LayerNorm) and the projector
        (one matrix and an RMSNorm)."""
        h, f = self.hidden, self.intermediate
        layer = 4 * (h * h + h) + 2 * h * f + f + h + 4 * h
        embed = 3 * self.patch ** 2 * h + h + self.patches * h
        return self.layers * layer + embed + 2 * h + h * self.text_hidden + h


def tower_from_config(cfg: dict[str, Any], text_hidden: int, name: str) -> VisionTower:
    """The tower a composite config's ``vision_config`` describes (SigLIP defaults filled in).

    Raises:
        EstimateError: a number is not a positive whole number.
    """
    vis = cfg.get("vision_config") or {}
    try:
        tower = VisionTower(
            layers=int(vis.get("num_hidden_layers", 27)), hidden=int(vis.get("hidden_size", 1152)),
            intermediate=int(vis.get("intermediate_size", 4304)),
            heads=int(vis.get("num_attention_heads", 16)),
            image_size=int(vis.get("image_size", 896)), patch=int(vis.get("patch_size", 14)),
            tokens_per_image=int(cfg.get("mm_tokens_per_image", 256)), text_hidden=text_hidden)
    except (TypeError, ValueError):
        raise EstimateError(f"{name}: vision_config sizes must be whole numbers") from None
    if min(tower.layers, tower.hidden, tower.heads, tower.image_size, tower.patch) <= 0:
        raise EstimateError(f"{name}: vision_config sizes must be above zero")
    return tower


def tower_shape(tower: VisionTower) -> ModelShape:
    """The tower as an encoder shape, for the activation rules."""
    return ModelShape(name="vision tower", family="siglip", kind="encoder",
                      num_layers=tower.layers, hidden_size=tower.hidden, num_heads=tower.heads,
                      num_kv_heads=tower.heads, head_dim=tower.hidden // tower.heads,
                      intermediate_size=tower.intermediate, vocab_size=0,
                      tie_word_embeddings=False, gated_ffn=False,
                      hidden_act="gelu_pytorch_tanh")


def training_saved_bytes(shape: ModelShape, rg: act.Regime) -> float:
    """Bytes one image's pass through the tower keeps for backward (0 when no adapter or
    weight of the tower trains)."""
    tower: VisionTower | None = shape.vision
    if tower is None:
        return 0.0
    ts = tower_shape(tower)
    names = {m[0] for m in ts.linear_modules()}
    if not rg.full and not rg.targets & names:
        return 0.0  # nothing in the tower trains: autograd keeps nothing of it
    n = tower.patches
    if rg.checkpointing:
        return float(tower.layers * n * rg.residual_bytes * tower.hidden
                     + n * act.layer_saved_bytes(ts, rg, n))
    return float(tower.layers * n * act.layer_saved_bytes(ts, rg, n))


def inference_live_bytes(shape: ModelShape, e: int) -> float:
    """One image's largest live set in the tower (a layer's input, output and MLP)."""
    tower: VisionTower | None = shape.vision
    if tower is None:
        return 0.0
    return float(tower.patches * (3 * tower.hidden + tower.intermediate) * e)
