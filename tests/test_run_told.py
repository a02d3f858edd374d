"""``rigready run`` without ``--model``: the job as the run told it (issue 21, item 6), read from
real captures: ``hf_info`` (CPU, transformers 5.25 at INFO verbosity: the "***** Running
training *****" banner and peft's "trainable params" line), and the TensorBoard arguments and
model config of the CPU and H100 Trainer runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rigready.desktop.commands.run_told import told_job
from rigready.monitor.training.events import RunEvent, RunHints
from rigready.monitor.training.tracker import JobHints
from rigready.monitor.training.watch import RunWatcher
from tests.helpers.training import DATA, H100, replay


def _merged(events: list[RunEvent]) -> JobHints:
    hints = JobHints()
    for event in events:
        if isinstance(event, RunHints):
            hints = hints.merged(event)
    return hints


def _watched(job: str, tmp_path: Path) -> list[RunEvent]:
    pytest.importorskip("tensorboard")
    shutil.copytree(DATA / job / "out" / "runs", tmp_path / "runs")
    watcher = RunWatcher(tmp_path, clock=lambda: 0.0)
    return watcher.poll() + watcher.poll()


def test_the_banner_and_the_peft_line_are_read_from_the_stream() -> None:
    events, _ = replay("hf_info")
    hints = _merged(events)
    assert (hints.num_examples, hints.epochs, hints.batch_per_device, hints.total_batch,
            hints.grad_accum, hints.total_steps) == (320, 1, 8, 8, 1, 40)
    # the evaluation block's "Num examples = 32" is not the training set's
    assert (hints.trainable_params, hints.all_params) == (8192, 205120)
    assert hints.sources == ("peft", "banner")


def test_the_stream_alone_tells_lora_but_not_the_model() -> None:
    events, _ = replay("hf_info")
    told = told_job(_merged(events))
    assert told.method == "lora" and told.shape is None and not told.estimates
    assert "LoRA-style adapters (8,192 of 205,120 parameters trainable, 3.99%)" in told.facts
    assert any(f == "batch 8 per device" for f in told.facts)
    assert any("the model (no logged config" in n for n in told.not_told)
    assert any("sequence length" in n for n in told.not_told)


def test_with_the_logged_config_the_job_is_estimated(tmp_path: Path) -> None:
    stream, _ = replay("hf_info")
    hints = _merged(stream + _watched("hf_info", tmp_path))
    told = told_job(hints)
    assert told.shape is not None and told.shape.num_layers == 2
    assert told.shape.hidden_size == 64 and told.method == "lora"
    ((assumed, est),) = told.estimates
    assert assumed.startswith("lora, batch 8 x sequence 128 assumed")  # the model's maximum
    assert est.memory.total > 0
    lines = told.lines(5 * 2**20)
    assert lines[0].startswith("the job as the run told it: model ")
    assert lines[-1].endswith("vs measured 0.00 GiB")
    record = told.record(5 * 2**20)
    assert record["told_by_run"] and record["method"] == "lora" and record["seq_len"] is None


@pytest.mark.parametrize("job", ["hf_steady", f"{H100}/hf_nan", f"{H100}/hf_steady"])
def test_logged_arguments_alone_give_both_methods(job: str, tmp_path: Path) -> None:
    """No banner (the Trainer logs it at INFO, below its default level), no peft line: the
    method is not told, so LoRA and a full fine-tune are both estimated."""
    told = told_job(_merged(_watched(job, tmp_path)))
    assert told.shape is not None and told.method is None
    assert [a.split(",")[0] for a, _ in told.estimates] == ["lora", "full"]
    lora, full = (e.memory.total for _, e in told.estimates)
    assert full > lora
    assert any(n.startswith("the method") for n in told.not_told)
    if job.startswith(H100):
        assert told.shape.num_layers == 8 and "bf16" in told.facts
        assert "batch 16 per device" in told.facts


def test_history_shows_a_told_job(tmp_path: Path) -> None:
    from rigready.desktop.commands.history import render_run
    from rigready.monitor.store import Store

    told = told_job(_merged(_watched(f"{H100}/hf_nan", tmp_path)))
    with Store(tmp_path / "db.sqlite3") as store:
        session = store.start_session(label="nan", host=None, interval_s=1.0, started=0.0)
        store.start_run(session, label="nan", command=("train",), started=0.0, source="wrapper")
        store.update_run(session, job=told.record(5314183168))
        store.commit()
        (run,) = store.runs()
    text = render_run(run, 0)
    assert "job as the run told it: model llama (its logged config): 8 layers" in text
    assert "not told: the method" in text
    assert text.count("vs measured 4.95 GiB") == 2
