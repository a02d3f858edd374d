"""Progress bars read from text: tqdm's documented default format, and Lightning's Rich bar.

No maintained library parses tqdm's *output* (the packages that capture tqdm patch it inside the
process, which needs code changes), so this follows tqdm's own ``format_meter``:

- with a total: ``{desc}: {pct:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining},
  {rate_fmt}{postfix}]`` (``ncols=0`` drops the bar: ``{pct}% {n}/{total} [...]``);
- without one: ``{desc}: {n_fmt}{unit} [{elapsed}, {rate_fmt}{postfix}]``;
- ``rate_fmt`` is ``{rate:5.2f}{unit}/s``, or ``{1/rate:5.2f}s/{unit}`` when slower than one per
  second, ``?{unit}/s`` before the first rate; ``unit_scale`` writes SI prefixes (``1.20k``);
- times are ``MM:SS`` or ``H:MM:SS``; ``postfix`` is ``, key=value, ...`` (``set_postfix``).

Lightning's ``RichProgressBar`` (its default where ``rich`` is installed) draws
``Epoch 0/3 ━━━╸━━ 12/50 0:00:02 • 0:00:07 5.31it/s v_num: 0 train_loss: 0.41``.

The text given here has had its terminal escapes removed (:mod:`.stream`); a bar may share its
segment with other text (a warning printed without a newline), so patterns are searched, not
matched whole. Tested against bars drawn by the real tqdm library (tests/test_run_tqdm_parse.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rigready.monitor.training.events import RunMetrics, RunProgress

_SI = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21,
       "Y": 1e24}
_NUM = r"[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?[kMGTPEZY]?"
_TIME = r"-?[0-9]+(?::[0-9]{2}){1,2}"
# rate: "5.32it/s", "1.23s/it", "?it/s", "12.0kB/s"; postfix: ", loss=1.2, lr=3e-4"
_RATE = rf"(?P<rate>\?|{_NUM})(?P<rate_a>[^\s/\],<]*)/(?P<rate_b>[^\s\],]+)"
_TQDM_TOTAL = re.compile(
    rf"(?:(?P<desc>[^|]*?):?\s*)?(?P<pct>[0-9]{{1,3}})%(?:\|[^|]*\||\s)\s*"
    rf"(?P<n>{_NUM})/(?P<total>{_NUM}|\?)\s*"
    rf"\[(?P<elapsed>{_TIME})<(?P<remaining>{_TIME}|\?),\s*{_RATE}(?P<postfix>,[^\]]*)?\]")
_TQDM_OPEN = re.compile(
    rf"(?:(?P<desc>[^\[\]]*?):\s*)?(?P<n>{_NUM})(?P<unit>[A-Za-z_][\w ]*?)?\s"
    rf"\[(?P<elapsed>{_TIME}),\s*{_RATE}(?P<postfix>,[^\]]*)?\]")
_RICH = re.compile(
    r"(?P<desc>\S[^━╸╺╾╼]*?)\s+[━╸╺╾╼─ ]*\s*(?P<n>[0-9]+)/(?P<total>[0-9]+)\s+"
    r"(?P<elapsed>[0-9]+:[0-9]{2}:[0-9]{2}|-:--:--)\s+•\s+"
    r"(?P<remaining>[0-9]+:[0-9]{2}:[0-9]{2}|-:--:--)\s+(?P<rate>[0-9.]+)(?P<unit>\w+)/s"
    r"(?P<metrics>.*)$")
_EPOCH = re.compile(r"Epoch\s+(?P<k>[0-9]+)(?:\s*/\s*(?P<last>[0-9]+))?")
_PAIR_EQ = re.compile(r"([A-Za-z_][\w./-]*)=\s*([-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|nan|inf))",
                      re.IGNORECASE)
_PAIR_COLON = re.compile(r"([A-Za-z_][\w./-]*):\s+([-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|nan|inf))",
                         re.IGNORECASE)
#: ``name: value`` pairs (a Rich bar's metrics).
COLON_PAIRS = _PAIR_COLON
#: Postfix/bar metric names that mean "the training loss" / "the evaluation loss".
LOSS_NAMES = frozenset({"loss", "train_loss", "train/loss", "training_loss", "loss_step",
                        "train_loss_step", "avr_loss", "avg_loss"})
EVAL_LOSS_NAMES = frozenset({"eval_loss", "val_loss", "valid_loss", "validation_loss",
                             "eval/loss", "val/loss"})
LR_NAMES = frozenset({"lr", "learning_rate", "train/learning_rate", "lr-adamw", "lr-adam"})


@dataclass(frozen=True, slots=True)
class BarReading:
    """One bar parsed from a segment, with the metrics its postfix carried."""

    progress: RunProgress
    metrics: dict[str, float]
    #: The metrics as drawn (a Rich bar's tail), for a line that continues them.
    metrics_text: str = ""


def si_number(text: str) -> float:
    """``"1.20k"`` -> 1200.0 (tqdm's ``unit_scale`` prefixes).

    Raises:
        ValueError: Not a number.
    """
    suffix = text[-1] if text and text[-1] in _SI and not text[-1].isdigit() else ""
    return float(text[: len(text) - len(suffix)]) * _SI[suffix]


def clock_seconds(text: str) -> float | None:
    """``"01:02"`` -> 62.0, ``"1:00:05"`` -> 3605.0; ``"?"``/``"-:--:--"`` -> None."""
    if not text or "?" in text or "-:" in text:
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    total = 0.0
    for part in text.lstrip("-").split(":"):
        total = total * 60 + int(part)
    return sign * total


def _rate(number: str, a: str, b: str) -> tuple[float | None, str]:
    """(steps per second, unit) from tqdm's rate parts ("5.3", "it", "s") or ("1.2", "s", "it")."""
    if b == "s":  # "{rate}{unit}/s"
        unit = a or "it"
        return (None if number == "?" else si_number(number)), unit
    if a == "s":  # "{1/rate}s/{unit}": slower than one per second
        if number == "?":
            return None, b
        seconds = si_number(number)
        return (1.0 / seconds if seconds > 0 else None), b
    return None, a or "it"


def postfix_metrics(text: str | None, pattern: re.Pattern[str] = _PAIR_EQ) -> dict[str, float]:
    """``", loss=1.23, lr=3e-4"`` -> {"loss": 1.23, "lr": 0.0003} (non-numbers skipped)."""
    out: dict[str, float] = {}
    if not text:
        return out
    for key, value in pattern.findall(text):
        try:
            out[key] = float(value)
        except ValueError:
            continue
    return out


def _int(value: float) -> int:
    return round(value) if math.isfinite(value) else 0


def parse_bar(text: str, now: float) -> BarReading | None:
    """The first progress bar in ``text`` (escapes already removed), or None."""
    if "/" not in text:
        return None
    if "%" in text and "[" in text:
        m = _TQDM_TOTAL.search(text)
        if m is not None:
            return _tqdm_reading(m, now, with_total=True)
    if "•" in text:
        m = _RICH.search(text)
        if m is not None:
            return _rich_reading(m, now)
    if "[" in text:
        m = _TQDM_OPEN.search(text)
        if m is not None:
            return _tqdm_reading(m, now, with_total=False)
    return None


def _tqdm_reading(m: re.Match[str], now: float, *, with_total: bool) -> BarReading | None:
    try:
        n = si_number(m["n"])
        total = si_number(m["total"]) if with_total and m["total"] != "?" else None
    except ValueError:
        return None
    rate, unit = _rate(m["rate"], m["rate_a"], m["rate_b"])
    if not with_total and m["unit"]:
        unit = m["unit"].strip() or unit
    remaining = clock_seconds(m["remaining"]) if with_total else None
    desc = (m["desc"] or "").strip()
    k, epochs = _epoch(desc)
    progress = RunProgress(time=now, step=_int(n), total=None if total is None else _int(total),
                           rate=rate, unit=unit, elapsed_s=clock_seconds(m["elapsed"]),
                           remaining_s=remaining, desc=desc, epoch=k, epochs=epochs,
                           source="tqdm")
    return BarReading(progress, postfix_metrics(m["postfix"]))


def _rich_reading(m: re.Match[str], now: float) -> BarReading:
    desc = m["desc"].strip()
    k, epochs = _epoch(desc)
    progress = RunProgress(time=now, step=int(m["n"]), total=int(m["total"]),
                           rate=float(m["rate"]) or None, unit=m["unit"],
                           elapsed_s=clock_seconds(m["elapsed"]),
                           remaining_s=clock_seconds(m["remaining"]), desc=desc, epoch=k,
                           epochs=epochs, source="rich")
    return BarReading(progress, postfix_metrics(m["metrics"], _PAIR_COLON), m["metrics"] or "")


def _epoch(desc: str) -> tuple[int | None, int | None]:
    """Lightning's "Epoch 3/9" -> (3, 10); "Epoch 3" -> (3, None); else (None, None)."""
    m = _EPOCH.search(desc)
    if m is None:
        return None, None
    last = m["last"]
    return int(m["k"]), (None if last is None else int(last) + 1)


def metrics_from_bar(reading: BarReading, step: int | None) -> RunMetrics | None:
    """The loss (and lr, eval loss) a bar's postfix showed, as a metrics record; None if none."""
    values = reading.metrics
    loss = next((values[k] for k in values if k.lower() in LOSS_NAMES), None)
    eval_loss = next((values[k] for k in values if k.lower() in EVAL_LOSS_NAMES), None)
    lr = next((values[k] for k in values if k.lower() in LR_NAMES), None)
    if loss is None and eval_loss is None:
        return None
    known = LOSS_NAMES | EVAL_LOSS_NAMES | LR_NAMES | {"v_num"}
    extra = tuple(sorted((k, v) for k, v in values.items() if k.lower() not in known))
    source = "bar" if reading.progress.source == "rich" else "postfix"
    return RunMetrics(time=reading.progress.time, step=step, kind="train", loss=loss,
                      eval_loss=eval_loss, learning_rate=lr, extra=extra, source=source)
