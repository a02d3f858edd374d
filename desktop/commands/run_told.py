"""The job as the run itself told it, for ``rigready run`` without ``--model`` (issue 21, item 6).

What a run says of its job (:class:`~rigready.monitor.training.tracker.JobHints`): the Trainer's
"***** Running training *****" banner at INFO verbosity (examples, epochs, per-device batch,
gradient accumulation, total optimization steps, trainable parameters), peft's "trainable params:
X || all params: Y" line, and, when the Trainer reports to TensorBoard (``--watch``), its logged
arguments and model config. From these :func:`told_job` describes the job as far as it can be
told, says what could not be, and, when the model's shape is known (the logged config, or a
catalog name), puts the estimator's figure beside the measured peak.

Trainers never print the sequence length, so an estimate here always assumes one and says so;
when the method is not told (no peft line, no trainable-parameter count), both LoRA and a full
fine-tune are estimated. Such an estimate is shown, never saved as a measurement (that needs
``--model``/``--method``: :mod:`.run_link`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rigready.assess.estimate import Estimate, EstimateError, ModelShape, Workload, estimate
from rigready.assess.estimate.gpu import GpuTarget
from rigready.monitor.training.tracker import JobHints

#: Below this share of trainable parameters the run trains adapters (LoRA), above it all.
ADAPTER_SHARE = 0.5
#: The sequence length assumed when the model allows it (no trainer prints its own).
ASSUMED_SEQ = 2048


@dataclass(frozen=True, slots=True)
class ToldJob:
    """What the run told of its job, what it did not, and the estimates it allows."""

    facts: tuple[str, ...]
    not_told: tuple[str, ...]
    #: "lora", "qlora", "full", or None when not told.
    method: str | None
    shape: ModelShape | None
    #: (what was assumed, the estimate), one per method considered.
    estimates: tuple[tuple[str, Estimate], ...]

    def lines(self, measured_peak: int | None) -> list[str]:
        """The closing lines: the job, what was not told, each estimate beside the measured
        peak of the run's own VRAM."""
        out = ["the job as the run told it: " + ("; ".join(self.facts) or "nothing")]
        if self.not_told:
            out.append("not told by the run: " + "; ".join(self.not_told))
        got = "" if not measured_peak else f" vs measured {measured_peak / 2**30:.2f} GiB"
        for assumed, est in self.estimates:
            out.append(f"estimate {est.memory.total / 2**30:.2f} GiB ({assumed}){got}")
        return out

    def record(self, measured_peak: int | None) -> dict[str, Any]:
        """The ``runs.job`` column of a job the run told."""
        first = self.estimates[0][1] if len(self.estimates) == 1 else None
        return {"told_by_run": True, "model": None if self.shape is None else self.shape.name,
                "method": self.method or "?",
                "precision": None if first is None else first.workload.resolved_precision,
                "batch": None if first is None else first.workload.batch,
                "seq_len": None, "facts": list(self.facts), "not_told": list(self.not_told),
                "estimates": [{"assumed": a, "peak_bytes": e.memory.total}
                              for a, e in self.estimates],
                "measured_peak_bytes": measured_peak}


def _shape(hints: JobHints, catalog_models: Any) -> tuple[ModelShape | None, str | None]:
    """The model's shape from the logged config, else from a catalog name; why not."""
    if hints.model_config:
        from rigready.assess.estimate.shapes import shape_from_config

        try:
            config = json.loads(hints.model_config)
            name = hints.model or f"{config.get('model_type', 'model')} (its logged config)"
            return shape_from_config(config, name), None
        except (ValueError, AttributeError, EstimateError) as exc:
            return None, f"the model (its logged config is not one the estimator reads: {exc})"
    if hints.model:
        from rigready.assess.estimate import find_model

        try:
            found = find_model(hints.model, catalog_models)
        except EstimateError:
            found = None
        if isinstance(found, ModelShape):
            return found, None
        return None, (f"the model's shape ({hints.model} is not in the catalog and nothing is "
                      "downloaded during a run; give --model)")
    return None, ("the model (no logged config or name: report_to='tensorboard' with --watch "
                  "logs it, or give --model)")


def _method(hints: JobHints, shape: ModelShape | None) -> tuple[str | None, str | None]:
    """LoRA or full from the trainable share; (method, the fact it rests on)."""
    trainable = hints.trainable_params
    total = hints.all_params or (None if shape is None else shape.params)
    if not trainable or not total:
        return None, None
    share = trainable / total
    quantized = _quantized(hints)
    if share < ADAPTER_SHARE:
        method = "qlora" if quantized else "lora"
        return method, (f"{'QLoRA' if quantized else 'LoRA'}-style adapters ({trainable:,} of "
                        f"{total:,} parameters trainable, {100 * share:.2f}%)")
    return "full", f"a full fine-tune ({trainable:,} of {total:,} parameters trainable)"


def _quantized(hints: JobHints) -> bool:
    if not hints.model_config:
        return False
    try:
        quant = json.loads(hints.model_config).get("quantization_config") or {}
    except (ValueError, AttributeError):
        return False
    return bool(isinstance(quant, dict) and (quant.get("load_in_4bit") or
                                             quant.get("bnb_4bit_quant_type")))


def _facts(hints: JobHints, shape: ModelShape | None) -> list[str]:
    facts = []
    if shape is not None:
        facts.append(f"model {shape.name}: {shape.num_layers} layers, hidden {shape.hidden_size}, "
                     f"{shape.params / 1e6:,.1f}M parameters")
    for value, text in ((hints.num_examples, "{:,} examples"), (hints.epochs, "epochs {}"),
                        (hints.batch_per_device, "batch {} per device"),
                        (hints.grad_accum, "gradient accumulation {}"),
                        (hints.total_batch, "total batch {}"),
                        (hints.total_steps, "{:,} optimization steps"),
                        (hints.precision, "{}"), (hints.learning_rate, "learning rate {:g}")):
        if value is not None:
            facts.append(text.format(value))
    if hints.gradient_checkpointing:
        facts.append("gradient checkpointing")
    return facts


def told_job(hints: JobHints, gpu: GpuTarget | None = None,
             catalog_models: Any = ()) -> ToldJob:
    """Describe the job ``hints`` tell (see the module docstring)."""
    shape, no_model = _shape(hints, catalog_models)
    method, method_fact = _method(hints, shape)
    facts = _facts(hints, shape)
    not_told = [no_model] if no_model else []
    if method_fact:
        facts.insert(1 if shape is not None else 0, method_fact)
    else:
        not_told.append("the method (no peft 'trainable params' line, no Trainer banner at INFO "
                        "level: LoRA and full fine-tune are both estimated)")
    if hints.batch_per_device is None:
        not_told.append("the batch size (1 assumed)")
    not_told.append("the sequence length (no trainer prints it)")
    estimates: list[tuple[str, Estimate]] = []
    if shape is not None:
        seq = min(ASSUMED_SEQ, shape.max_positions or ASSUMED_SEQ)
        for m in ((method,) if method else ("lora", "full")):
            wl = Workload(method=m, precision=_precision(hints.precision, m),  # type: ignore[arg-type]
                          batch=hints.batch_per_device or 1, seq_len=seq,
                          checkpointing=bool(hints.gradient_checkpointing))
            try:
                est = estimate(shape, wl, gpu)
            except EstimateError as exc:
                not_told.append(f"an estimate for {m} ({exc})")
                continue
            rank = ", LoRA rank 16 assumed" if m in ("lora", "qlora") else ""
            estimates.append((f"{m}, batch {wl.batch} x sequence {seq} assumed, "
                              f"{wl.resolved_precision}{rank}", est))
    return ToldJob(tuple(facts), tuple(not_told), method, shape, tuple(estimates))


def _precision(told: str | None, method: str) -> str | None:
    """The estimator's precision for the Trainer's flag (``bf16=True`` is autocast)."""
    if told is None:
        return None
    if method == "full":
        return {"bf16": "amp-bf16", "fp16": "amp-fp16", "fp32": "fp32"}.get(told)
    return told if told in ("bf16", "fp16", "fp32") else None
