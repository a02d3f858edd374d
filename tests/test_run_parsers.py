"""Progress bars and Trainer log dicts read from text, against output the real tqdm library
draws (tqdm.format_meter, the function every tqdm bar is printed with, and a live bar)."""

from __future__ import annotations

import io
import math

import pytest
from tqdm import tqdm

from rigready.monitor.training.stream import clean
from rigready.monitor.training.tqdm_parse import clock_seconds, parse_bar, si_number
from rigready.monitor.training.trainer_log import (
    kind_of,
    metrics_from_dict,
    parse_banner,
    parse_log_dict,
    says_out_of_memory,
)

fmt = tqdm.format_meter


@pytest.mark.parametrize(("kwargs", "step", "total", "rate", "unit"), [
    ({"n": 45, "total": 300, "elapsed": 12.3}, 45, 300, 45 / 12.3, "it"),
    ({"n": 45, "total": 300, "elapsed": 12.3, "prefix": "Epoch 3"}, 45, 300, 45 / 12.3, "it"),
    ({"n": 3, "total": 300, "elapsed": 12.0}, 3, 300, 0.25, "it"),  # slow: "4.00s/it"
    ({"n": 1200, "total": 10000, "elapsed": 3.0, "unit_scale": True, "unit": "tok"},
     1200, 10000, 400.0, "tok"),
    ({"n": 7, "total": 50, "elapsed": 1.0, "ncols": 0}, 7, 50, 7.0, "it"),
    ({"n": 7, "total": 50, "elapsed": 3700.0, "ascii": True}, 7, 50, 7 / 3700, "it"),
    ({"n": 7, "total": 50, "elapsed": 2.0, "postfix": "loss=1.25, lr=3e-4"}, 7, 50, 3.5, "it"),
    ({"n": 0, "total": 50, "elapsed": 0.0}, 0, 50, None, "it"),
    ({"n": 327, "total": None, "elapsed": 2.0}, 327, None, 163.5, "it"),
])
def test_bars_drawn_by_tqdm_are_read(kwargs: dict[str, object], step: int, total: int | None,
                                      rate: float | None, unit: str) -> None:
    text = fmt(ncols=kwargs.pop("ncols", 100), **kwargs)
    reading = parse_bar(text, 5.0)
    assert reading is not None, text
    p = reading.progress
    assert (p.step, p.total, p.unit) == (step, total, unit), text
    if rate is None:
        assert p.rate is None
    else:
        assert p.rate is not None and math.isclose(p.rate, rate, rel_tol=0.02), text


def test_postfix_and_time_fields() -> None:
    text = fmt(7, 50, 62.0, ncols=120, prefix="train", postfix="loss=1.25, lr=3e-4")
    reading = parse_bar(text, 1.0)
    assert reading is not None
    assert reading.metrics == {"loss": 1.25, "lr": 3e-4}
    assert reading.progress.elapsed_s == 62.0 and reading.progress.desc == "train"


def test_a_live_bar_written_with_carriage_returns() -> None:
    out = io.StringIO()
    for _ in tqdm(range(20), file=out, mininterval=0, ncols=90, desc="fit"):
        pass
    frames = [f for f in out.getvalue().split("\r") if f.strip()]
    readings = [parse_bar(clean(f.encode()), 0.0) for f in frames]
    assert all(r is not None for r in readings)
    assert readings[-1] is not None and readings[-1].progress.step == 20


def test_lightning_rich_bar() -> None:
    text = "Epoch 1/2  ━━━━━━━━━━━━━╺━━━━━━━━━━━━ 10/20 0:00:01 • 0:00:02 8.31it/s v_num: 0.000 " \
           "train_loss: 248.449"
    reading = parse_bar(text, 0.0)
    assert reading is not None
    p = reading.progress
    assert (p.step, p.total, p.epoch, p.epochs, p.source) == (10, 20, 1, 3, "rich")
    assert reading.metrics["train_loss"] == 248.449


@pytest.mark.parametrize("text", ["", "step 3/10 done", "100%", "[00:01<00:02]", "a/b [c, d]",
                                  "loss=1.0", "x" * 10_000])
def test_other_text_is_not_a_bar(text: str) -> None:
    assert parse_bar(text, 0.0) is None


def test_numbers_and_clocks() -> None:
    assert si_number("1.20k") == 1200 and si_number("3") == 3
    assert clock_seconds("01:02") == 62 and clock_seconds("1:00:05") == 3605
    assert clock_seconds("?") is None and clock_seconds("-:--:--") is None


@pytest.mark.parametrize(("line", "kind", "loss"), [
    ("{'loss': '1.83', 'grad_norm': '0.41', 'learning_rate': '4e-05', 'epoch': '0.4'}",
     "train", 1.83),  # transformers 5.x: strings
    ("{'loss': 1.83, 'grad_norm': 0.41, 'learning_rate': 4e-05, 'epoch': 0.4}", "train", 1.83),
    ("{'loss': nan, 'grad_norm': inf, 'learning_rate': 4e-05, 'epoch': 0.4}", "train", math.nan),
    ("{'eval_loss': '2.1', 'eval_runtime': '0.3', 'epoch': '1'}", "eval", None),
    ("{'train_runtime': '10.6', 'train_samples_per_second': '45.18', 'train_loss': '6.2'}",
     "summary", 6.2),
    ("  \x1b[A{'loss': 0.5, 'mean_token_accuracy': 0.7, 'num_tokens': 1024.0}", "train", 0.5),
])
def test_trainer_log_dicts(line: str, kind: str, loss: float | None) -> None:
    fields = parse_log_dict(clean(line.encode()))
    assert fields is not None
    m = metrics_from_dict(fields, 1.0, 5)
    assert kind_of(fields) == kind and m.kind == kind and m.step == 5
    if loss is None:
        assert m.loss is None
    elif math.isnan(loss):
        assert m.loss is not None and math.isnan(m.loss) and m.non_finite() == ("loss", m.loss)
    else:
        assert m.loss == pytest.approx(loss)


@pytest.mark.parametrize("line", [
    "{'a': 1}", "{}", "{'loss': __import__('os').system('true')}", "not a dict {",
    "{'loss': 1" + ", 'x': 1" * 10_000 + "}", "{1: 2, 'loss': [1, 2]}", "{'loss': 'abc'}"])
def test_other_dicts_and_hostile_text_are_refused_safely(line: str) -> None:
    fields = parse_log_dict(line)
    assert fields is None or "loss" not in fields


def test_trainer_banner_and_out_of_memory() -> None:
    hints = parse_banner("  Total optimization steps = 1,200", 1.0)
    assert hints is not None and hints.total_steps == 1200
    assert parse_banner("  Instantaneous batch size per device = 8", 1.0).batch_per_device == 8  # type: ignore[union-attr]
    assert says_out_of_memory("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate")
    assert not says_out_of_memory("memory use is fine")
