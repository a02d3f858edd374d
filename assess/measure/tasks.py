"""What each runner task builds and feeds: the model class, peft's task type, the inputs of a
step, the allocator cap, the peaks a run reached and what an out-of-memory error says.

Imported by the child (:mod:`rigready.assess.measure.child`) only; torch and transformers are
imported inside the functions, never at import time.

Tasks (``MeasureSpec.task``): ``causal-lm``, ``seq-cls`` and ``masked-lm`` (token ids in, every
token a target); ``seq2seq`` (T5: ``seq`` encoder tokens, ``target_seq`` label tokens);
``speech-seq2seq`` (Whisper: a 30 s log-mel window, ``target_seq`` label tokens);
``image-text`` (Gemma 3 with its vision tower: one image per sample at the config's image
size, its image tokens at the start of ``seq`` tokens; image tokens are not targets).
"""

from __future__ import annotations

import re
from typing import Any

from rigready.assess.measure.spec import MeasureSpec

#: transformers Auto class of each task.
AUTO = {"causal-lm": "AutoModelForCausalLM", "seq-cls": "AutoModelForSequenceClassification",
        "masked-lm": "AutoModelForMaskedLM", "seq2seq": "AutoModelForSeq2SeqLM",
        "speech-seq2seq": "AutoModelForSpeechSeq2Seq", "image-text": "AutoModelForImageTextToText"}
#: peft's task type (None: the plain PeftModel, which passes every input on).
PEFT_TASK = {"seq-cls": "SEQ_CLS", "causal-lm": "CAUSAL_LM", "seq2seq": "SEQ_2_SEQ_LM",
             "image-text": "CAUSAL_LM"}


def auto_class(spec: MeasureSpec) -> Any:
    """The transformers Auto class that builds the spec's task."""
    import transformers

    return getattr(transformers, AUTO.get(spec.task, "AutoModelForCausalLM"))


def text_config(config: Any) -> Any:
    """The language part of a config (a composite one's ``text_config``; else itself)."""
    return getattr(config, "text_config", None) or config


def vocab_size(config: Any) -> int:
    """Vocabulary of the language part (1000 when the config names none)."""
    vocab: Any = getattr(text_config(config), "vocab_size", None)
    return int(vocab or getattr(config, "vocab_size", 1000))


def _dtype(model: Any) -> Any:
    import torch

    for p in model.parameters():
        if p.is_floating_point() and p.dtype != torch.float32:
            return p.dtype
    return torch.float32


def batch(spec: MeasureSpec, model: Any, config: Any, device: str,
          training: bool) -> dict[str, Any]:
    """The keyword inputs of one step (training: with labels)."""
    import torch

    gen = torch.Generator(device="cpu").manual_seed(0)
    vocab = vocab_size(config)
    b, s = spec.batch, spec.seq

    def ids(n: int, length: int) -> Any:
        return torch.randint(0, vocab, (n, length), generator=gen).to(device)

    if spec.task in ("seq2seq", "speech-seq2seq"):
        target = max(1, spec.target_seq)
        out: dict[str, Any] = {}
        if spec.task == "seq2seq":
            out["input_ids"] = ids(b, s)
        else:  # Whisper: num_mel_bins x (2 x max_source_positions) frames = 30 s
            frames = 2 * int(getattr(config, "max_source_positions", 1500))
            mels = int(getattr(config, "num_mel_bins", 80))
            out["input_features"] = torch.randn(b, mels, frames, generator=gen).to(
                device=device, dtype=_dtype(model))
        if training:
            out["labels"] = ids(b, target)
        else:
            out["decoder_input_ids"] = ids(b, 1)
        return out
    if spec.task == "image-text":
        vis = config.vision_config
        size = int(vis.image_size)
        image_tokens = int(getattr(config, "mm_tokens_per_image", 256))
        image_tok: Any = getattr(config, "image_token_id", None)
        image_id = int(image_tok or getattr(config, "image_token_index", 262144))
        text = torch.randint(0, min(vocab, image_id) - 1, (b, s), generator=gen)
        text[:, 1:1 + image_tokens] = image_id
        types = torch.zeros_like(text)
        types[:, 1:1 + image_tokens] = 1
        out = {"input_ids": text.to(device), "token_type_ids": types.to(device),
               "attention_mask": torch.ones_like(text).to(device),
               "pixel_values": torch.randn(b, 3, size, size, generator=gen).to(
                   device=device, dtype=_dtype(model))}
        if training:
            labels = text.clone()
            labels[types == 1] = -100
            out["labels"] = labels.to(device)
        return out
    input_ids = ids(b, s)
    if not training:
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    # causal and masked LM: every token is a target (the masked-LM loss is then taken over
    # every position, the heaviest case of the MLM objective)
    labels = (torch.randint(0, 2, (b,), generator=gen).to(device)
              if spec.task == "seq-cls" else input_ids)
    return {"input_ids": input_ids, "labels": labels}


def apply_cap(spec: MeasureSpec, rec: dict[str, Any]) -> None:
    """Cap the caching allocator at ``spec.cap_bytes`` (a card with that much free)."""
    import torch

    if spec.cap_bytes is None:
        return
    total = int(torch.cuda.get_device_properties(0).total_memory)
    fraction = min(1.0, spec.cap_bytes / total)
    torch.cuda.set_per_process_memory_fraction(fraction)
    rec.update(cap_bytes=int(spec.cap_bytes), cap_fraction=fraction, device_total_bytes=total)


_UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _bytes(text: str, pattern: str) -> int | None:
    m = re.search(pattern + r"\s*([0-9.]+)\s*(B|KiB|MiB|GiB|TiB)", text)
    return int(float(m.group(1)) * _UNITS[m.group(2)]) if m else None


def oom_figures(text: str) -> dict[str, int | None]:
    """The figures of PyTorch's out-of-memory message: what it tried to allocate, what the
    process held, allocated by PyTorch, reserved but unallocated."""
    return {"oom_tried_bytes": _bytes(text, r"[Tt]ried to allocate"),
            "oom_process_in_use_bytes": _bytes(text, r"this process has"),
            "oom_allocated_bytes": _bytes(text, r"Of the allocated memory"),
            "oom_reserved_unallocated_bytes": _bytes(text, r"allocated by PyTorch, and"),
            "oom_allowed_bytes": _allowed(text)}


def _allowed(text: str) -> int | None:
    """The cap the message names ("... 11.18 GiB allowed;") when a fraction is set."""
    m = re.search(r"([0-9.]+)\s*(B|KiB|MiB|GiB|TiB) allowed", text)
    return int(float(m.group(1)) * _UNITS[m.group(2)]) if m else None


def process_used_bytes() -> int | None:
    """GPU memory NVML counts for this process (context + allocator + libraries), or None."""
    import os

    from rigready.gpu.nvml import nvml_door

    door = nvml_door()
    devices = door.devices()
    if not devices:
        return None
    mine = door.processes(devices[0]).find(os.getpid())
    return mine.used_memory_bytes if mine is not None else None


def peaks_after_failure() -> dict[str, Any]:
    """Torch's peaks when a step ran out of memory (under the cap the spec set, if any)."""
    import torch

    if not torch.cuda.is_initialized():
        return {}
    return {"max_allocated_bytes": int(torch.cuda.max_memory_allocated()),
            "max_reserved_bytes": int(torch.cuda.max_memory_reserved()),
            "nvml_process_used_end_bytes": process_used_bytes()}


def record_cuda_peaks(rec: dict[str, Any]) -> None:
    """After the steps: the allocator's peaks, what it holds at the end, its retry and OOM
    counters, and the process's share of the card (into ``rec``)."""
    import torch

    torch.cuda.synchronize()
    rec["max_allocated_bytes"] = int(torch.cuda.max_memory_allocated())
    rec["max_reserved_bytes"] = int(torch.cuda.max_memory_reserved())
    rec["reserved_at_end_bytes"] = int(torch.cuda.memory_reserved())
    stats = torch.cuda.memory_stats()
    rec["allocator"] = {k: int(stats.get(k, 0)) for k in (
        "num_alloc_retries", "num_ooms", "inactive_split_bytes.all.peak",
        "segment.all.peak", "reserved_bytes.large_pool.peak")}
    # the process's share of the card beyond the allocator (context, loaded kernels)
    rec["nvml_process_used_end_bytes"] = process_used_bytes()
