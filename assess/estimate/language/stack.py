"""What a language model's memory figure assumes (software stack, recipe, runtime) and how far
it can be off.

The formulas model one stack, the one they were measured on (``tests/data/calibration/``):
PyTorch + Hugging Face Transformers (+ PEFT, + bitsandbytes for QLoRA). Other stacks differ by a
lot (Unsloth's fused kernels, llama.cpp's or vLLM's memory managers), so every estimate says which
one it describes. :data:`ERROR_BANDS` is the estimate's own measured error band: the worst
under-estimate seen on the committed measurements of that kind of job, checked by
``tests/test_estimate_calibration.py``; a fit inside it is only "tight".
"""

from __future__ import annotations

from rigready.assess.estimate.inputs import Workload
from rigready.assess.estimate.language import sharded

#: Library versions the committed measurements were taken with (H100 2026-11-22, H200
#: 2026-12-01).
MEASURED_STACK = {"torch": "2.11", "transformers": "5.17", "peft": "0.21",
                  "bitsandbytes": "0.50.2"}

#: Share by which the estimate may fall short of the measured peak, by kind of job: the worst
#: under-estimate on the committed cases (rounded up), at least 3%.
ERROR_BANDS = {"qlora": 0.05, "lora": 0.05, "full": 0.06, "inference": 0.07}
#: Kinds of job with no measurement behind them get this band.
UNMEASURED_BAND = 0.15
#: Families measured only on the capped runs (a handful of cases each, one held out): T5,
#: Whisper.
FAMILY_BANDS = {"t5": 0.08, "whisper": 0.08}


def _versions(*names: str) -> str:
    labels = {"torch": "PyTorch", "transformers": "Transformers", "peft": "PEFT",
              "bitsandbytes": "bitsandbytes"}
    return " + ".join(f"{labels[n]} {MEASURED_STACK[n]}" for n in names)


def assumptions(wl: Workload, head: str = "", family: str = "") -> dict[str, str]:
    """The stack, recipe and runtime the figure describes (shown by the CLI and the page);
    ``head``: an encoder's task head (:attr:`ModelShape.head`), named when there is one;
    ``family``: the model's family (encoder-decoders and vision-language models say how
    their inputs are fed)."""
    p = wl.resolved_precision
    if wl.training and (wl.gpus > 1 or wl.param_offload):
        stack = _versions("torch", "transformers", "peft") + (
            " + bitsandbytes " + MEASURED_STACK["bitsandbytes"] if wl.method == "qlora" else "")
        recipe = sharded.recipe(wl)
    elif wl.method == "qlora":
        stack = _versions("torch", "transformers", "peft", "bitsandbytes")
        recipe = ("BitsAndBytesConfig(nf4, double quantization, bf16 compute) + "
                  "peft.prepare_model_for_kbit_training (non-quantized weights upcast to fp32, "
                  "gradient checkpointing) + LoRA, bf16 autocast, AdamW")
    elif wl.method == "lora":
        stack = _versions("torch", "transformers", "peft")
        recipe = f"peft LoRA on a {'bf16' if p != 'fp32' else 'fp32'} base, " + (
            "fp32 adapters under autocast" if p.startswith("amp") else f"{p} adapters") + \
            ", AdamW"
    elif wl.method == "full":
        stack = _versions("torch", "transformers")
        recipe = {"amp-bf16": "fp32 weights and AdamW states, bf16 autocast",
                  "amp-fp16": "fp32 weights and AdamW states, fp16 autocast",
                  "fp32": "fp32 weights, gradients and AdamW states"}.get(
            p, f"pure {p} weights, gradients and optimizer states")
    else:
        stack = _versions("torch", "transformers") + (
            " + bitsandbytes " + MEASURED_STACK["bitsandbytes"] if p in ("int8", "nf4") else "")
        recipe = f"{p} weights, KV cache in {'fp32' if p == 'fp32' else 'bf16'}"
    runtime = ("Hugging Face generate() (greedy, dynamic KV cache); llama.cpp and vLLM manage "
               "memory differently" if wl.method == "inference" else
               "one training step of a Hugging Face model (loss from the model, "
               f"{wl.attention.upper()} attention"
               + (", gradient checkpointing" if wl.checkpointing else "") + ")")
    out = {"stack": stack, "recipe": recipe, "runtime": runtime}
    if family in INPUT_TEXT:
        out["recipe"] = f"{recipe}; {INPUT_TEXT[family].format(t=wl.target_tokens)}"
    if head in HEAD_TEXT:
        out["head"] = head
        out["recipe"] = f"{recipe}; {HEAD_TEXT[head]}"
    return out


#: What one sample of an encoder-decoder is (``--seq``, ``--target-tokens``).
INPUT_TEXT = {
    "t5": "T5ForConditionalGeneration: --seq input tokens into the encoder, {t} label tokens "
          "through the decoder",
    "whisper": "WhisperForConditionalGeneration: a 30-second log-mel window (1,500 encoder "
               "positions) and {t} transcript tokens a sample",
}

#: How the output names an encoder's head (``--head``).
HEAD_TEXT = {
    "masked-lm": "masked-LM head (BertForMaskedLM: vocabulary logits and loss for every token)",
    "classification": "sequence-classification head (pooler and classifier, no vocabulary "
                      "logits)",
}


def error_band(wl: Workload, family: str = "") -> float:
    """How far below the measured need this kind of estimate has been (a share of it;
    ``family``: the families measured only on the capped runs have their own band)."""
    if family in FAMILY_BANDS and wl.training:  # their inference was never measured
        return FAMILY_BANDS[family]
    if wl.method == "qlora" and (wl.gpus > 1 or wl.param_offload):
        return ERROR_BANDS["qlora"]  # FSDP+QLoRA: the capped record's ranks, within 2%
    if wl.gpus > 1 or wl.image_size:
        return UNMEASURED_BAND
    if wl.resolved_precision in ("int8", "nf4") and wl.method == "inference":
        return UNMEASURED_BAND
    if wl.optimizer not in ("adamw",) and wl.training:
        return UNMEASURED_BAND
    return ERROR_BANDS.get(wl.method, UNMEASURED_BAND)
