"""Measure an estimator job on this machine's GPU: the use case behind ``rigready estimate
--measure`` and the "Measure on this GPU" button, and how a measurement corrects the estimate.

The job is turned into a :class:`MeasureSpec` (the model's own ``config.json`` where the user gave
one, else a config written from the estimator's shape), run by
:func:`rigready.assess.measure.launch.run` in a subprocess with a timeout, and summarised as a
:class:`MeasuredRun` for the history.
"""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from rigready.assess.estimate import Estimate
from rigready.assess.estimate.inputs import EstimateError, Head, Workload
from rigready.assess.estimate.language.activations import lora_target_set
from rigready.assess.estimate.language.memory import head_of
from rigready.assess.estimate.language.verdict import judge
from rigready.assess.estimate.model import ModelShape
from rigready.assess.measure import launch
from rigready.assess.measure.result import MeasuredRun, MeasureStatus
from rigready.assess.measure.spec import STACK, MeasureSpec, missing_packages

#: transformers ``model_type`` for each estimator family (``other``: the Llama layout).
MODEL_TYPE = {"llama": "llama", "mistral": "mistral", "mixtral": "mixtral", "qwen2": "qwen2",
              "qwen3": "qwen3", "gemma": "gemma", "gemma2": "gemma2", "phi3": "phi3",
              "gpt2": "gpt2", "bert": "bert", "other": "llama"}
DEFAULT_TIMEOUT_S = 300.0
#: The runner's task for the estimator's head
#: (:func:`rigready.assess.estimate.language.memory.head_of`).
TASKS = {"causal-lm": "causal-lm", "masked-lm": "masked-lm", "classification": "seq-cls"}


_HEAD_OF_TASK: dict[str, Head] = {"masked-lm": "masked-lm", "seq-cls": "classification"}


def head_for_task(task: str) -> Head | None:
    """The estimator's encoder head for a measured record's runner task (None: a causal LM)."""
    return _HEAD_OF_TASK.get(task)


class MeasureError(EstimateError):
    """This job cannot be measured here; the message says why in one sentence."""


def config_for(shape: ModelShape) -> dict[str, Any]:
    """A ``config.json`` dict that builds ``shape`` in transformers (random weights)."""
    model_type = MODEL_TYPE.get(shape.family)
    if model_type is None:
        raise MeasureError(f"{shape.name}: the {shape.family} family cannot be built for a "
                           "measurement")
    if shape.family == "gpt2":
        return {"model_type": "gpt2", "n_embd": shape.hidden_size, "n_layer": shape.num_layers,
                "n_head": shape.num_heads, "n_inner": shape.intermediate_size,
                "n_positions": shape.max_positions or 1024, "vocab_size": shape.vocab_size}
    cfg: dict[str, Any] = {
        "model_type": model_type, "hidden_size": shape.hidden_size,
        "intermediate_size": shape.intermediate_size, "num_hidden_layers": shape.num_layers,
        "num_attention_heads": shape.num_heads, "vocab_size": shape.vocab_size,
        "tie_word_embeddings": shape.tie_word_embeddings,
        "max_position_embeddings": shape.max_positions or 131072}
    if shape.family == "bert":
        cfg["architectures"] = ["BertForMaskedLM" if shape.head == "masked-lm"
                                else "BertForSequenceClassification"]
    else:
        cfg.update(num_key_value_heads=shape.num_kv_heads, head_dim=shape.head_dim,
                   hidden_act=shape.hidden_act)
    if shape.is_moe:
        cfg.update(num_local_experts=shape.num_experts,
                   num_experts_per_tok=shape.experts_per_token)
    return cfg


def spec_for(shape: ModelShape, wl: Workload, config: dict[str, Any] | None = None
             ) -> MeasureSpec:
    """The runner's spec for the estimator's job.

    Raises:
        MeasureError: a job the runner does not build (several GPUs, quantized inference,
            8-bit QLoRA, another optimizer than AdamW, vision inputs).
    """
    wl.check()
    p = wl.resolved_precision
    why = None
    if wl.gpus > 1:
        why = "measuring runs on one GPU; use --gpus 1"
    elif wl.image_size or shape.patch_size:
        why = "vision models are not measured by this runner yet"
    elif wl.method == "inference" and p in ("int8", "nf4"):
        why = "quantized inference is not measured yet; measure bf16 inference"
    elif wl.method == "qlora" and p != "nf4":
        why = "QLoRA is measured with an nf4 base only"
    elif wl.training and wl.optimizer != "adamw":
        why = f"steps are measured with AdamW, not {wl.optimizer}"
    elif wl.precision in ("fp16", "amp-fp16"):
        why = "steps are measured in bf16; choose a bf16 precision"
    if why:
        raise MeasureError(f"cannot measure this job: {why}")
    if any(t.lower() in ("all-linear", "all_linear") for t in wl.lora_targets):
        targets: tuple[str, ...] = ("all-linear",)
    else:
        targets = tuple(sorted(lora_target_set(shape, wl.lora_targets))) or wl.lora_targets
    return MeasureSpec(
        name=shape.name, config=dict(config) if config is not None else config_for(shape),
        method=wl.method, precision=p, batch=wl.batch, seq=wl.seq_len,
        task=TASKS[head_of(shape, wl)],
        new_tokens=wl.new_tokens if wl.method == "inference" else 0,
        checkpointing=wl.checkpointing, lora_rank=wl.lora_rank, lora_targets=targets,
        attn=wl.attention)


def stack_versions(method: str) -> str:
    """``torch 2.11.0, transformers 5.17.0, ...``: the installed versions the method uses."""
    parts = []
    for name in STACK.get(method, STACK["lora"]):
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (missing)")
    return ", ".join(parts)


def measure(shape: ModelShape, wl: Workload, *, config: dict[str, Any] | None = None,
            estimate_bytes: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
            device: str = "cuda", stop: threading.Event | None = None) -> MeasuredRun:
    """Build the model with random weights and run a few real steps in a subprocess.

    Raises:
        MeasureError: the job cannot be measured by the runner (see :func:`spec_for`).
    """
    spec = spec_for(shape, wl, config)
    base: dict[str, Any] = dict(
        model=shape.name, method=spec.method, precision=spec.precision, batch=spec.batch,
        seq_len=spec.seq, new_tokens=spec.new_tokens, checkpointing=spec.checkpointing,
        lora_rank=spec.lora_rank, lora_targets=spec.lora_targets, estimate_bytes=estimate_bytes,
        stack=stack_versions(spec.method))
    missing = missing_packages(spec.method)
    if missing:
        return MeasuredRun(**base, status="unavailable", gpu_name=None, peak_bytes=None,
                           max_allocated_bytes=None, max_reserved_bytes=None,
                           step_seconds=None, message="needs " + ", ".join(missing))
    nvml = launch.Nvml()
    rec = launch.run(spec, device=device, timeout_s=timeout_s, start="subprocess", nvml=nvml,
                     stop=stop)
    status: MeasureStatus = rec.get("status", "error")
    if status not in ("ok", "oom", "error", "timeout", "crashed", "cancelled"):
        status = "error"
    return MeasuredRun(
        **base, status=status, gpu_name=nvml.facts().get("name"),
        peak_bytes=rec.get("nvml_used_peak_bytes") if status == "ok" else None,
        max_allocated_bytes=rec.get("max_allocated_bytes"),
        max_reserved_bytes=rec.get("max_reserved_bytes"),
        step_seconds=rec.get("step_seconds"), message=str(rec.get("error", ""))[:300])


def _with_total(mem: Any, extra: int) -> Any:
    """The breakdown moved by ``extra`` bytes: more goes to the allocator's reserve; less comes
    out of the reserve, then the activations, then the logits (the parts that vary most)."""
    if extra >= 0:
        return replace(mem, reserve=mem.reserve + extra)
    parts = {"reserve": mem.reserve, "activations": mem.activations, "logits": mem.logits}
    cut = -extra
    for name, value in parts.items():
        take = min(value, cut)
        parts[name] = value - take
        cut -= take
    return replace(mem, **parts)


@dataclass(frozen=True, slots=True)
class Correction:
    """What earlier measurements on this machine say about an estimate."""

    #: Device memory to use instead of the estimate (None: the job ran out of memory).
    total_bytes: int | None
    #: True when the very same job was measured; False when scaled from a similar one.
    exact: bool
    reason: str


def _same_sizes(run: MeasuredRun, wl: Workload) -> bool:
    return (run.batch, run.seq_len, run.checkpointing, run.lora_rank) == (
        wl.batch, wl.seq_len, wl.checkpointing, wl.lora_rank) and (
        wl.method != "inference" or run.new_tokens == wl.new_tokens)


def correction(runs: Iterable[tuple[str, MeasuredRun]], model: str, wl: Workload,
               estimate_bytes: int) -> Correction | None:
    """The correction earlier measurements (``(created, run)``, newest first) give.

    The same job measured: its peak (or "does not fit" after an out-of-memory). The same
    model, method and precision at other sizes: the estimate scaled by the measured ratio, only
    upwards (a smaller measurement elsewhere never turns a verdict into "fits").
    """
    similar: tuple[str, MeasuredRun] | None = None
    for created, run in runs:
        if not run.same_job(model, wl.method, wl.resolved_precision):
            continue
        if _same_sizes(run, wl) and run.status in ("ok", "oom"):
            if run.status == "oom":
                return Correction(None, True, f"measured on this GPU {created[:10]}: out of "
                                  "memory")
            assert run.peak_bytes is not None
            return Correction(run.peak_bytes, True, f"measured on this GPU {created[:10]}: "
                              f"{run.peak_bytes / 2**30:.2f} GiB")
        if similar is None and run.ratio is not None:
            similar = (created, run)
    if similar is not None and similar[1].ratio is not None and similar[1].ratio > 1.0:
        created, run = similar
        ratio = run.ratio or 1.0
        return Correction(int(estimate_bytes * ratio), False, (
            f"raised by {ratio - 1:.0%}: a measurement of the same model on this GPU "
            f"({created[:10]}, batch {run.batch} x {run.seq_len}) was that much above its "
            "estimate"))
    return None


def apply_correction(est: Estimate, corr: Correction | None) -> Estimate:
    """The estimate with a measurement's correction: the total and the verdict follow it."""
    if corr is None:
        return est
    reasons = (*est.reasons, corr.reason)
    if corr.total_bytes is None:
        verdict = est.verdict
        if verdict is not None:
            verdict = replace(verdict, status="no", reasons=(
                "does not fit, measured: this job ran out of memory on this GPU",
                *verdict.reasons))
        return replace(est, verdict=verdict, reasons=reasons)
    extra = corr.total_bytes - est.memory.total
    if not corr.exact and extra <= 0:
        return replace(est, reasons=reasons)
    mem = _with_total(est.memory, extra)
    verdict = est.verdict
    if est.gpu is not None:
        verdict = judge(est.shape, est.workload, mem, est.gpu)
    return replace(est, memory=mem, verdict=verdict, reasons=reasons)
