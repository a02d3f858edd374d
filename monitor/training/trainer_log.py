"""Hugging Face Trainer / TRL log dicts and start banner, read from printed lines.

The Trainer prints each log through its progress bar: ``{'loss': 1.83, 'grad_norm': 0.41,
'learning_rate': 4e-05, 'epoch': 0.4}``. transformers 5.x formats every float as a *string*
(``{'loss': '1.83', ...}``, seen with transformers 5.25 in tests/data/training); 4.x printed
numbers, and NaN as a bare ``nan``. Evaluations print ``eval_loss`` and friends; the end of
training prints ``train_runtime``, ``train_samples_per_second``, ``train_loss``. The dict is read
with :func:`ast.literal_eval` (never ``eval``) after bare ``nan``/``inf`` become strings, and only
when it is short (:data:`MAX_DICT_CHARS`).

At INFO verbosity the Trainer also prints a banner after ``***** Running training *****``
(``Num examples = 1,000``, ``Num Epochs = 3``, ``Instantaneous batch size per device = 8``,
``Total train batch size (w. parallel, distributed & accumulation) = 8``, ``Gradient
Accumulation steps = 1``, ``Total optimization steps = 300``, ``Number of trainable parameters
= 1,234``), and peft's ``print_trainable_parameters()`` prints ``trainable params: 294,912 ||
all params: 67,403,776 || trainable%: 0.4375``; both are read into :class:`~.events.RunHints`.

Most lines are neither: a flat dict of quoted keys and plain or quoted values (what the Trainer
prints) is read with one regular expression; anything else falls back to ``literal_eval``.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from rigready.monitor.training.events import MetricKind, RunHints, RunMetrics

#: Longer "dicts" are not log records (and literal_eval's cost grows with them).
MAX_DICT_CHARS = 16 * 1024
_BARE = re.compile(r"(?<=[\s:\[,(])(-?)(nan|inf|NaN|Infinity)(?=\s*[,}\])])")
_KNOWN = frozenset({"loss", "eval_loss", "train_runtime", "learning_rate", "grad_norm",
                    "train_loss"})
_BANNER = {
    "total_steps": re.compile(r"Total optimization steps\s*=\s*([0-9,]+)"),
    "batch_per_device": re.compile(r"Instantaneous batch size per device\s*=\s*([0-9,]+)"),
    "trainable_params": re.compile(r"Number of trainable parameters\s*=\s*([0-9,]+)"),
    "epochs": re.compile(r"Num Epochs\s*=\s*([0-9,]+)"),
    "num_examples": re.compile(r"Num examples\s*=\s*([0-9,]+)"),
    "grad_accum": re.compile(r"Gradient Accumulation steps\s*=\s*([0-9,]+)"),
    "total_batch": re.compile(r"Total train batch size[^=]*=\s*([0-9,]+)"),
}
_PEFT = re.compile(r"trainable params:\s*([0-9,]+)\s*\|\|\s*all params:\s*([0-9,]+)")
#: A flat dict as the Trainer prints it: quoted keys, quoted or bare scalar values.
_FLAT_DICT = re.compile(r"\{\s*(?:'[^'\\]*'\s*:\s*(?:'[^'\\]*'|[-+.\w]+)\s*(?:,\s*|(?=\})))*\}")
_FLAT_PAIR = re.compile(r"'([^'\\]*)'\s*:\s*(?:'([^'\\]*)'|([-+.\w]+))")
_THROUGHPUT = (("train_tokens_per_second", "tokens/s"), ("train_samples_per_second", "samples/s"),
               ("eval_samples_per_second", "samples/s"), ("train_steps_per_second", "steps/s"),
               ("tokens_per_second", "tokens/s"))
_MAIN = ("loss", "eval_loss", "learning_rate", "grad_norm", "epoch")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return float(text)
        except ValueError:
            return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf,
                    "infinity": math.inf, "-infinity": -math.inf}.get(text)
    return None


def parse_log_dict(text: str) -> dict[str, float] | None:
    """The numeric fields of a printed Trainer log dict in ``text``; None when there is none."""
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end <= start or end - start > MAX_DICT_CHARS:
        return None
    body = text[start:end + 1]
    if "'" not in body and '"' not in body:
        return None
    if _FLAT_DICT.fullmatch(body) is not None:  # the Trainer's form: no parser needed
        value: Any = {key: (quoted if bare == "" else bare)
                      for key, quoted, bare in _FLAT_PAIR.findall(body)}
    else:
        body = _BARE.sub(lambda m: f"'{m[1]}{m[2]}'", body)
        try:
            value = ast.literal_eval(body)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return None
    if not isinstance(value, dict) or not any(k in value for k in _KNOWN):
        return None
    out: dict[str, float] = {}
    for key, raw in value.items():
        number = _number(raw)
        if isinstance(key, str) and number is not None:
            out[key] = number
    return out


def kind_of(fields: dict[str, float]) -> MetricKind:
    """"summary" (train_runtime...), "eval" (eval_*) or "train"."""
    if "train_runtime" in fields:
        return "summary"
    evaluation = any(k.startswith("eval_") for k in fields) and "loss" not in fields
    if "eval_loss" in fields or evaluation:
        return "eval"
    return "train"


def metrics_from_dict(fields: dict[str, float], now: float, step: int | None) -> RunMetrics:
    """A log dict as a metrics record (``train_loss`` of the summary is its loss)."""
    kind = kind_of(fields)
    throughput, unit = None, None
    for key, name in _THROUGHPUT:
        if key in fields:
            throughput, unit = fields[key], name
            break
    loss = fields.get("loss", fields.get("train_loss") if kind == "summary" else None)
    used = {*_MAIN, "train_loss"} if kind == "summary" else set(_MAIN)
    extra = tuple(sorted((k, v) for k, v in fields.items() if k not in used))
    return RunMetrics(time=now, step=step, kind=kind, loss=loss,
                      eval_loss=fields.get("eval_loss"),
                      learning_rate=fields.get("learning_rate"),
                      grad_norm=fields.get("grad_norm"), epoch=fields.get("epoch"),
                      throughput=throughput, throughput_unit=unit, extra=extra, source="log")


def parse_banner(text: str, now: float) -> RunHints | None:
    """The Trainer's start-banner fact, or peft's trainable-parameters line, on this line."""
    if "trainable params" in text:
        m = _PEFT.search(text)
        if m is not None:
            return RunHints(time=now, trainable_params=_count(m[1]), all_params=_count(m[2]),
                            source="peft")
    if "=" not in text:
        return None
    found: dict[str, int] = {}
    for name, pattern in _BANNER.items():
        m = pattern.search(text)
        if m is not None:
            found[name] = _count(m[1])
    if not found:
        return None
    return RunHints(time=now, total_steps=found.get("total_steps"),
                    batch_per_device=found.get("batch_per_device"),
                    trainable_params=found.get("trainable_params"), epochs=found.get("epochs"),
                    num_examples=found.get("num_examples"), grad_accum=found.get("grad_accum"),
                    total_batch=found.get("total_batch"))


def _count(text: str) -> int:
    return int(text.replace(",", ""))


_OOM = re.compile(r"(?:CUDA|HIP|XPU|MPS backend|NPU) out of memory|OutOfMemoryError|"
                  r"CUBLAS_STATUS_ALLOC_FAILED|out of memory on device", re.IGNORECASE)


def says_out_of_memory(text: str) -> bool:
    """Whether a line reports the accelerator running out of memory."""
    return _OOM.search(text) is not None
