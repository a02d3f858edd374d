"""The cases the calibration benchmark measures (``benchmarks/calibrate_memory.py``).

Grids ``main``, ``extra`` and ``holdout`` were measured on an H100 (2026-11-22); ``qlora``,
``qlora-holdout``, ``h200-lm`` and ``h200-lm-holdout`` on an H200 (2026-12-01); ``all-lm`` is
every language-model grid; ``tiny`` is a smoke test that also runs on a CPU. The ``*holdout``
grids are never used to shape the formulas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rigready.assess.measure.spec import MeasureSpec

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "tests" / "data" / "hf_configs"


@dataclass(frozen=True, slots=True)
class Case:
    """One measured workload: the name of its config file and what the runner runs."""

    config: str
    spec: MeasureSpec

    @property
    def name(self) -> str:
        """The case's name (model, method, precision, sizes)."""
        return self.spec.name

    @property
    def method(self) -> str:
        """inference | full | lora | qlora."""
        return self.spec.method

    def record(self) -> dict[str, Any]:
        """The case as the calibration JSON keeps it (the config by its file name)."""
        out = self.spec.to_dict()
        out["config"] = self.config
        return out


def _c(config: str, method: str, precision: str, batch: int, seq: int, **kw: Any) -> Case:
    ckpt = "-ckpt" if kw.get("checkpointing") else ""
    extra = f"-{kw['attn']}" if kw.get("attn", "sdpa") != "sdpa" else ""
    if method == "inference":
        extra += f"-gen{kw.get('new_tokens', 0)}"
    if method in ("lora", "qlora") and kw.get("lora_targets") == ("all-linear",):
        extra += "-alllin"
    if kw.get("lora_rank", 16) != 16:
        extra += f"-r{kw['lora_rank']}"
    if kw.get("task") == "masked-lm":
        extra += "-mlm"
    if kw.get("target_seq"):
        extra += f"-t{kw['target_seq']}"
    name = f"{Path(config).name}-{method}-{precision}-b{batch}-s{seq}{ckpt}{extra}"
    return Case(config, MeasureSpec(name=name, config=load_config_dict(config), method=method,
                                    precision=precision, batch=batch, seq=seq, **kw))


def grid(name: str) -> list[Case]:
    """The named list of cases: ``tiny`` (CPU smoke test), ``main`` and ``extra`` (GPU)."""
    if name == "tiny":
        return [
            _c("tiny-llama", "qlora", "nf4", 2, 64, checkpointing=True, steps=2),
            _c("tiny-qwen2", "qlora", "nf4", 2, 64, steps=2),
            _c("tiny-llama", "full", "amp-bf16", 2, 64, steps=2),
            _c("tiny-llama", "full", "bf16", 2, 64, checkpointing=True, steps=2),
            _c("tiny-llama", "lora", "bf16", 2, 64, steps=2),
            _c("tiny-llama", "inference", "bf16", 2, 32, new_tokens=8),
            _c("tiny-gpt2", "full", "amp-bf16", 2, 64, steps=2),
            _c("tiny-gpt2", "lora", "amp-bf16", 2, 64, lora_targets=("c_attn",), steps=2),
            _c("tiny-bert", "full", "amp-bf16", 2, 64, task="seq-cls", steps=2),
            _c("tiny-bert", "full", "amp-bf16", 2, 64, task="masked-lm", steps=2),
            _c("tiny-mixtral", "full", "bf16", 2, 64, steps=2),
            _c("tiny-mixtral", "lora", "bf16", 2, 64, lora_targets=("all-linear",), steps=2),
        ]
    if name == "main":
        g = [
            _c("gpt2", "full", "amp-bf16", 8, 512),
            _c("gpt2", "full", "amp-bf16", 16, 1024),
            _c("gpt2", "full", "fp32", 8, 512),
            _c("gpt2", "full", "bf16", 16, 1024, checkpointing=True),
            _c("gpt2", "full", "amp-bf16", 8, 1024, attn="eager"),
            _c("gpt2", "lora", "amp-bf16", 8, 1024, lora_targets=("c_attn",)),
            _c("gpt2", "inference", "bf16", 8, 512, new_tokens=128),
            _c("gpt2-medium", "full", "amp-bf16", 8, 1024),
            _c("gpt2-medium", "full", "amp-bf16", 8, 1024, checkpointing=True),
            _c("gpt2-medium", "lora", "bf16", 16, 1024, lora_targets=("c_attn",)),
            _c("bert-base-uncased", "full", "amp-bf16", 32, 512, task="seq-cls"),
            _c("bert-base-uncased", "full", "fp32", 16, 256, task="seq-cls"),
            _c("bert-base-uncased", "lora", "amp-bf16", 32, 512, task="seq-cls",
               lora_targets=("query", "value")),
            _c("qwen2.5-0.5b", "full", "amp-bf16", 4, 1024),
            _c("qwen2.5-0.5b", "full", "bf16", 8, 1024, checkpointing=True),
            _c("qwen2.5-0.5b", "lora", "amp-bf16", 8, 1024),
            _c("qwen2.5-0.5b", "inference", "bf16", 16, 512, new_tokens=128),
            _c("qwen2.5-1.5b", "full", "bf16", 4, 1024),
            _c("qwen2.5-1.5b", "full", "amp-bf16", 2, 2048, checkpointing=True),
            _c("qwen2.5-1.5b", "lora", "bf16", 4, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("llama-3.2-1b", "full", "amp-bf16", 4, 1024),
            _c("llama-3.2-1b", "full", "bf16", 8, 2048, checkpointing=True),
            _c("llama-3.2-1b", "lora", "amp-bf16", 8, 1024),
            _c("llama-3.2-1b", "lora", "bf16", 4, 2048, lora_targets=("all-linear",)),
            _c("llama-3.2-1b", "inference", "bf16", 8, 1024, new_tokens=256),
            _c("llama-3.2-3b", "full", "bf16", 2, 1024),
            _c("llama-3.2-3b", "full", "amp-bf16", 1, 1024, checkpointing=True),
            _c("llama-3.2-3b", "lora", "amp-bf16", 4, 1024),
            _c("llama-3.2-3b", "lora", "bf16", 8, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("llama-3.2-3b", "inference", "bf16", 4, 2048, new_tokens=128),
            _c("mistral-7b-v0.1", "lora", "bf16", 2, 1024),
            _c("mistral-7b-v0.1", "lora", "amp-bf16", 4, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("mistral-7b-v0.1", "inference", "bf16", 4, 1024, new_tokens=128),
            _c("mixtral-shaped-1b", "full", "bf16", 4, 1024),
            _c("mixtral-shaped-1b", "full", "amp-bf16", 4, 1024, checkpointing=True),
            _c("mixtral-shaped-1b", "lora", "bf16", 8, 1024),
            _c("mixtral-shaped-1b", "inference", "bf16", 8, 512, new_tokens=128),
        ]
        return g
    if name == "extra":
        return [
            _c("gpt2", "full", "amp-bf16", 32, 1024),
            _c("gpt2-medium", "inference", "bf16", 16, 1024, new_tokens=256),
            _c("bert-base-uncased", "full", "bf16", 64, 128, task="seq-cls"),
            _c("qwen2.5-0.5b", "full", "fp32", 2, 1024),
            _c("qwen2.5-1.5b", "inference", "bf16", 1, 4096, new_tokens=256),
            _c("llama-3.2-1b", "full", "amp-bf16", 2, 4096, checkpointing=True),
            _c("llama-3.2-1b", "lora", "bf16", 16, 1024, checkpointing=True),
            _c("llama-3.2-3b", "lora", "bf16", 1, 4096),
            _c("mistral-7b-v0.1", "lora", "bf16", 1, 4096, checkpointing=True),
            _c("mistral-7b-v0.1", "full", "bf16", 1, 512, checkpointing=True),
            _c("mixtral-shaped-1b", "lora", "amp-bf16", 4, 2048, checkpointing=True,
               lora_targets=("all-linear",)),
        ]
    if name == "holdout":  # not used to shape the formulas: a check on unseen cases
        return [
            _c("phi-3-mini-4k", "lora", "bf16", 2, 1024, lora_targets=("qkv_proj", "o_proj")),
            _c("phi-3-mini-4k", "inference", "bf16", 4, 1024, new_tokens=128),
            _c("gemma-2b", "lora", "amp-bf16", 4, 1024),
            _c("gemma-2b", "full", "bf16", 2, 1024, checkpointing=True),
            _c("llama-2-7b", "lora", "bf16", 2, 1024, checkpointing=True,
               lora_targets=("all-linear",)),
            _c("llama-2-7b", "inference", "bf16", 8, 512, new_tokens=128),
            _c("gpt2-medium", "inference", "bf16", 16, 512, new_tokens=256),
            _c("qwen2.5-1.5b", "lora", "amp-bf16", 4, 1024, attn="eager"),
            _c("bert-base-uncased", "lora", "bf16", 32, 512, task="seq-cls",
               lora_targets=("query", "value")),
            _c("llama-3.2-1b", "lora", "fp32", 4, 1024),
            _c("llama-3.2-1b", "full", "amp-bf16", 8, 512),
            _c("qwen2.5-0.5b", "full", "bf16", 16, 512),
            _c("mixtral-shaped-1b", "full", "bf16", 8, 1024, checkpointing=True),
            _c("gpt2-medium", "full", "fp32", 4, 1024),
            _c("llama-3.2-3b", "lora", "amp-bf16", 2, 2048, checkpointing=True),
            _c("mistral-7b-v0.1", "lora", "amp-bf16", 8, 512),
        ]
    if name in NEW_GRIDS:
        return NEW_GRIDS[name]()
    raise SystemExit(f"unknown grid {name!r}")


_Q = "qlora", "nf4"
_ALL = ("all-linear",)
_PHI = ("qkv_proj", "o_proj")


def _qlora() -> list[Case]:
    """QLoRA (the standard recipe), the shapes the formulas are fitted on (H200, 2026-12)."""
    return [
        _c("llama-3.1-8b", *_Q, 1, 2048, checkpointing=True),
        _c("llama-3.1-8b", *_Q, 4, 1024, checkpointing=True),
        _c("llama-3.1-8b", *_Q, 1, 4096, checkpointing=True, lora_targets=_ALL, lora_rank=64),
        _c("llama-3.1-8b", *_Q, 2, 512),
        _c("llama-3.2-3b", *_Q, 4, 2048, checkpointing=True),
        _c("llama-3.2-3b", *_Q, 1, 512, checkpointing=True),
        _c("mistral-7b-v0.1", *_Q, 2, 2048, checkpointing=True),
        _c("mistral-7b-v0.1", *_Q, 1, 4096, checkpointing=True, lora_targets=_ALL),
        _c("qwen2.5-7b", *_Q, 1, 2048, checkpointing=True),
        _c("qwen2.5-7b", *_Q, 4, 512),
        _c("qwen3-8b", *_Q, 2, 1024, checkpointing=True),
        _c("qwen3-8b", *_Q, 1, 4096, checkpointing=True),
        _c("gemma-2-2b", *_Q, 2, 1024, checkpointing=True),
        _c("phi-3-mini-4k", *_Q, 2, 2048, checkpointing=True, lora_targets=_PHI),
    ]


def _qlora_holdout() -> list[Case]:
    """QLoRA cases the fitting never sees."""
    return [
        _c("llama-3.1-8b", *_Q, 2, 2048, checkpointing=True, lora_targets=_ALL, steps=3),
        _c("llama-3.2-3b", *_Q, 2, 4096, checkpointing=True, steps=3),
        _c("mistral-7b-v0.1", *_Q, 4, 1024, checkpointing=True, steps=3),
        _c("qwen2.5-7b", *_Q, 2, 4096, checkpointing=True, steps=3),
        _c("qwen3-8b", *_Q, 4, 512, checkpointing=True, lora_targets=_ALL, steps=3),
        _c("gemma-2b", *_Q, 4, 1024, checkpointing=True, steps=3),
        _c("llama-2-7b", *_Q, 1, 512, checkpointing=True, lora_targets=_ALL, lora_rank=64,
           steps=3),
        _c("phi-3-mini-4k", *_Q, 1, 4096, checkpointing=True, lora_targets=_PHI, steps=3),
    ]


def _h200_lm() -> list[Case]:
    """Encoders, inference with a KV cache and half-precision full fine-tuning (fitted)."""
    return [
        _c("bert-base-uncased", "full", "amp-bf16", 32, 512, task="seq-cls"),
        _c("gpt2", "inference", "bf16", 1, 512, new_tokens=128),
        _c("gpt2", "inference", "bf16", 4, 768, new_tokens=256),
        _c("gpt2", "full", "amp-bf16", 8, 1024),
        _c("llama-3.2-1b", "inference", "bf16", 1, 4096, new_tokens=256),
        _c("llama-3.2-1b", "inference", "bf16", 4, 4096, new_tokens=128),
        _c("qwen2.5-1.5b", "full", "bf16", 4, 2048),
        _c("qwen2.5-1.5b", "full", "bf16", 8, 1024),
        _c("gemma-2-2b", "full", "amp-bf16", 2, 1024),
        _c("gemma-2-2b", "full", "amp-bf16", 1, 2048, checkpointing=True),
    ]


def _h200_lm_holdout() -> list[Case]:
    """The same families, cases the fitting never sees."""
    return [
        _c("bert-base-uncased", "full", "amp-bf16", 16, 512, task="seq-cls", steps=3),
        _c("gpt2-medium", "inference", "bf16", 1, 512, new_tokens=64),
        _c("llama-3.2-3b", "inference", "bf16", 1, 4096, new_tokens=64),
        _c("qwen2.5-0.5b", "full", "bf16", 8, 2048, steps=3),
        _c("gemma-2-2b", "lora", "amp-bf16", 4, 1024, steps=3),
    ]


def _mlm() -> list[Case]:
    """BERT as its published config builds it (BertForMaskedLM, every token a target), and one
    sequence-classification case as a control against the earlier records."""
    return [
        _c("bert-base-uncased", "full", "amp-bf16", 32, 512, task="masked-lm"),
        _c("bert-base-uncased", "full", "amp-bf16", 16, 512, task="masked-lm"),
        _c("bert-base-uncased", "full", "bf16", 64, 128, task="masked-lm"),
        _c("bert-base-uncased", "full", "amp-bf16", 32, 512, task="seq-cls"),
    ]


def _all_lm() -> list[Case]:
    return [c for g in ("main", "extra", "holdout", "qlora", "qlora-holdout", "h200-lm",
                        "h200-lm-holdout", "mlm") for c in grid(g)]


NEW_GRIDS = {"qlora": _qlora, "qlora-holdout": _qlora_holdout, "h200-lm": _h200_lm,
             "h200-lm-holdout": _h200_lm_holdout, "mlm": _mlm, "all-lm": _all_lm}
#: Grids whose cases the fitting never sees (their records go to a ``-holdout`` file).
HOLDOUT_GRIDS = ("holdout", "qlora-holdout", "h200-lm-holdout")


TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "tiny-llama": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 160,
                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                   "vocab_size": 500, "tie_word_embeddings": False},
    "tiny-qwen2": {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 160,
                   "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                   "vocab_size": 500, "tie_word_embeddings": True},
    "tiny-gpt2": {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4,
                  "n_positions": 256, "vocab_size": 500},
    "tiny-bert": {"model_type": "bert", "hidden_size": 64, "intermediate_size": 256,
                  "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 500},
    "tiny-mixtral": {"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 96,
                     "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                     "num_local_experts": 4, "num_experts_per_tok": 2, "vocab_size": 500},
    "tiny-t5": {"model_type": "t5", "d_model": 64, "d_ff": 128, "d_kv": 16, "num_heads": 4,
                "num_layers": 2, "num_decoder_layers": 2, "feed_forward_proj": "gated-gelu",
                "vocab_size": 500, "tie_word_embeddings": False, "decoder_start_token_id": 0},
    "tiny-whisper": {"model_type": "whisper", "d_model": 64, "encoder_layers": 2,
                     "decoder_layers": 2, "encoder_attention_heads": 4,
                     "decoder_attention_heads": 4, "encoder_ffn_dim": 128, "decoder_ffn_dim": 128,
                     "num_mel_bins": 80, "max_source_positions": 1500,
                     "max_target_positions": 448, "vocab_size": 500,
                     "decoder_start_token_id": 1, "pad_token_id": 0},
    "tiny-gemma3": {"model_type": "gemma3", "mm_tokens_per_image": 16,
                    "image_token_index": 499, "boi_token_index": 497, "eoi_token_index": 498,
                    "text_config": {"model_type": "gemma3_text", "hidden_size": 64,
                                    "intermediate_size": 128, "num_hidden_layers": 2,
                                    "num_attention_heads": 4, "num_key_value_heads": 2,
                                    "head_dim": 16, "vocab_size": 500, "sliding_window": 32},
                    "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 32,
                                      "intermediate_size": 64, "num_hidden_layers": 1,
                                      "num_attention_heads": 2, "image_size": 56,
                                      "patch_size": 14, "vision_use_head": False}},
}


def load_config_dict(name: str) -> dict[str, Any]:
    """The config dict of a case: a tiny built-in one or a file in tests/data/hf_configs."""
    if name in TINY_CONFIGS:
        return dict(TINY_CONFIGS[name])
    data: dict[str, Any] = json.loads((CONFIG_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}
