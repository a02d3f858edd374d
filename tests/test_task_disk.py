"""The free disk a task needs follows what it downloads (its model's weights plus a margin);
a generic task keeps the guide's figure."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rigready.assess.profile import load_profile
from rigready.assess.score import assess_readiness
from rigready.assess.task_disk import WORKING_MARGIN_GB, disk_need
from rigready.catalog import Catalog, CatalogError, load_catalog

H100 = Path(__file__).parent / "data" / "profiles" / "h100-2026-11-22.json"
MINI = Path(__file__).parent / "data" / "catalog" / "mini"


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog(None)


def _disk_check(profile_path: Path, cat: Catalog, task_id: str, free_gb: float | None = None):  # type: ignore[no-untyped-def]
    profile = load_profile(profile_path)
    if free_gb is not None:  # the same VM with another amount of free disk
        disk = dataclasses.replace(profile.storage[0], free_bytes=int(free_gb * 1e9))
        profile = dataclasses.replace(profile, storage=(disk,))
    verdict = next(t for t in assess_readiness(profile, cat).tasks if t.task_id == task_id)
    return verdict, next(c for c in verdict.checks if c.component == "Disk space")


def test_a_model_task_needs_its_weights_plus_a_margin(cat: Catalog) -> None:
    need = disk_need(cat.task("llm-13b-inference"), cat)
    params = next(m.params for m in cat.models if m.id == "llama-2-13b")
    assert need.gb == pytest.approx(params * 2 / 1e9 + WORKING_MARGIN_GB)  # 26 GB + 10
    assert "26 GB" in need.reason and "13.0B parameters x 2 bytes" in need.reason
    big = disk_need(cat.task("llm-70b-inference"), cat)
    assert big.gb == pytest.approx(68.98 * 2 * 1.1, rel=0.01)  # 10 % of 138 GB beats 10 GB
    # a generic task (datasets and checkpoints of its kind) keeps the guide's figure
    generic = cat.task("language-model-small")
    assert generic.model is None and disk_need(generic, cat).gb == generic.storage_gb == 100


def test_h100_vm_with_69_gb_free_is_ready_for_13b_but_not_70b(cat: Catalog) -> None:
    verdict, disk = _disk_check(H100, cat, "llm-13b-inference")
    assert disk.verdict == "ready" and "26 GB" in disk.reason
    assert verdict.verdict in ("ready", "limited"), verdict.reason
    _, disk70 = _disk_check(H100, cat, "llm-70b-inference")
    assert disk70.verdict == "not ready" and "138 GB" in disk70.reason


def test_too_little_disk_for_the_download_is_still_not_ready(cat: Catalog) -> None:
    # 30 GB free holds the 26 GB of weights but not the working margin: truth first
    verdict, disk = _disk_check(H100, cat, "llm-13b-inference", free_gb=30)
    assert disk.verdict == "not ready" and verdict.verdict == "not ready"
    assert "free up or add 6 GB" in disk.fix


def _mini_with_task_lines(tmp_path: Path, lines: str) -> None:
    for f in MINI.glob("*.toml"):
        (tmp_path / f.name).write_text(f.read_text())
    tasks = tmp_path / "tasks.toml"
    tasks.write_text(tasks.read_text().replace('notes = "774M"\n', f'notes = "774M"\n{lines}', 1))


def test_catalog_rejects_a_half_or_dangling_model_reference(tmp_path: Path) -> None:
    _mini_with_task_lines(tmp_path, 'model = "gpt2"\n')
    with pytest.raises(CatalogError) as info:
        load_catalog(None, builtin_dir=tmp_path)
    assert info.value.field == "model_weight_bytes" and "together" in info.value.problem
    _mini_with_task_lines(tmp_path, 'model = "gpt-9"\nmodel_weight_bytes = 2.0\n')
    with pytest.raises(CatalogError) as info:
        load_catalog(None, builtin_dir=tmp_path)
    assert (info.value.entry, info.value.field) == ("language-model-gpt2-large", "model")
    _mini_with_task_lines(tmp_path, 'model = "gpt2"\nmodel_weight_bytes = 4.0\n')
    mini = load_catalog(None, builtin_dir=tmp_path)
    assert disk_need(mini.task("language-model-gpt2-large"), mini).gb == pytest.approx(
        124439808 * 4 / 1e9 + WORKING_MARGIN_GB, rel=0.01)
