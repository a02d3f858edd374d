"""Encoder heads: masked LM (vocabulary logits for every token) or sequence classification,
chosen from the config's ``architectures``, the catalog, or ``--head``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from rigready.assess.estimate import EstimateError, Workload, estimate
from rigready.assess.estimate.estimator import memory
from rigready.assess.estimate.language.config import config_head
from rigready.assess.estimate.shapes import shape_from_config, shape_from_config_file
from rigready.assess.measure.workload import config_for, spec_for
from rigready.desktop.cli import main

BERT = Path(__file__).parent / "data" / "hf_configs" / "bert-base-uncased.json"
GIB = 2**30
AMP = Workload(method="full", precision="amp-bf16", batch=32, seq_len=512)


@pytest.mark.parametrize(("architectures", "head"), [
    (["BertForMaskedLM"], "masked-lm"),
    (["BertForPreTraining"], "masked-lm"),
    (["BertForSequenceClassification"], "classification"),
    (["RobertaForSequenceClassification"], "classification"),
    (None, "masked-lm"),  # none named: the larger head, never the low estimate
])
def test_head_follows_the_configs_architectures(architectures: list[str] | None,
                                                 head: str) -> None:
    cfg = json.loads(BERT.read_text(encoding="utf-8"))
    cfg["architectures"] = architectures
    assert config_head(cfg) == head
    assert shape_from_config(cfg, "bert").head == head


def test_published_bert_config_and_catalog_entry_are_masked_lm() -> None:
    assert shape_from_config_file(BERT).head == "masked-lm"
    assert estimate(shape_from_config_file(BERT), AMP).shape.head == "masked-lm"
    decoder = shape_from_config_file(BERT.parent / "gpt2.json")
    assert decoder.head == ""


def test_masked_lm_adds_the_vocabulary_logits_and_loss() -> None:
    shape = shape_from_config_file(BERT)
    mlm = memory(shape, AMP)
    cls = memory(shape, replace(AMP, head="classification"))
    v, t = shape.vocab_size, AMP.batch * AMP.seq_len
    # fp32 log-softmax plus its two fp32 gradient buffers appear only with the MLM head
    assert cls.logits == 0 and mlm.logits >= 12 * v * t * 0.95
    assert mlm.total - cls.total > 5 * GIB
    assert mlm.peak_phase == cls.peak_phase == "start of backward"


def test_parameters_follow_the_head() -> None:
    shape = shape_from_config_file(BERT)
    cls = estimate(shape, Workload(method="full", head="classification"), search=False)
    mlm = estimate(shape, Workload(method="full", head="masked-lm"), search=False)
    h, v = shape.hidden_size, shape.vocab_size
    # MLM: no pooler (h*h + h) and no classifier (2h + 2); transform (h*h + 3h) and the bias v
    assert mlm.shape.params - cls.shape.params == (h * h + 3 * h + v) - (h * h + h + 2 * h + 2)


def test_unknown_head_is_refused() -> None:
    with pytest.raises(EstimateError, match="unknown head 'foo'"):
        Workload(head="foo").check()  # type: ignore[arg-type]


def test_measure_task_follows_the_head() -> None:
    shape = shape_from_config_file(BERT)
    assert spec_for(shape, AMP).task == "masked-lm"
    assert spec_for(shape, replace(AMP, head="classification")).task == \
        "seq-cls"
    assert config_for(shape)["architectures"] == ["BertForMaskedLM"]
    assert spec_for(shape_from_config_file(BERT.parent / "gpt2.json"), AMP).task == "causal-lm"


def test_cli_head_flag_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["estimate", str(BERT), "--method", "full", "--batch", "32", "--seq", "512",
            "--gpu", "H200"]
    assert main([*base, "--json"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert default["head"] == "masked-lm" and default["assumes"]["head"] == "masked-lm"
    assert main([*base, "--head", "classification", "--json"]) == 0
    cls = json.loads(capsys.readouterr().out)
    assert cls["head"] == "classification" and cls["breakdown_gib"]["logits"] == 0
    assert default["total_gib"] - cls["total_gib"] > 5
    # the vocabulary projection and the logits' traffic cost time too (H200: 57 vs 39 ms)
    assert default["step_seconds"] > 1.15 * cls["step_seconds"]
    assert main([*base, "--head", "classification"]) == 0
    out = capsys.readouterr().out
    assert "sequence-classification head" in out.split("Assumes", 1)[1]


def test_cli_bad_head_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(BERT), "--head", "foo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error:") and "foo" in err[0]
