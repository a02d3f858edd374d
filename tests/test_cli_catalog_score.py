"""``rigready catalog check|list`` and ``rigready score`` through the real CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigready import catalog
from rigready.catalog.paths import user_catalog_dir
from rigready.desktop.cli import main
from rigready.desktop.commands.catalog import LIST_KINDS

PROFILES = Path(__file__).parent / "data" / "profiles"
RTX3060 = PROFILES / "hobbyist" / "desktop-rtx3060-12gb-32gb-ddr4.json"
META = '[meta]\nupdated = 2026-11-23\ndescription = "mine"\n'
MY_GPU = """
[[gpu]]
id = "rtx-3060-12gb"
name = "My RTX 3060"
vendor = "nvidia"
segment = "desktop"
match = ["RTX 3060"]
vram_gib = 12
memory_bandwidth_gb_s = 360
fp32_tflops = 12.7
tgp_w = 170
power_connectors = ["8-pin"]
pcie_gen = 4
launch_year = 2021
street_price_usd = 150
price_date = 2026-11-23
price_source = "my local shop"
spec_source = "box"
"""


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))
    catalog.default_catalog.cache_clear()
    yield
    catalog.default_catalog.cache_clear()


def test_check_builtin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check"]) == 0
    out = capsys.readouterr().out
    assert "Catalog OK" in out
    gpus = len(catalog.load_catalog(None).gpus)
    assert any(line.split() == ["gpus", str(gpus)] for line in out.splitlines())


def test_check_reports_user_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    user_catalog_dir().mkdir(parents=True)
    (user_catalog_dir() / "mine.toml").write_text(META + MY_GPU)
    assert main(["catalog", "check"]) == 0
    out = capsys.readouterr().out
    assert "(1 file(s))" in out
    assert "gpu rtx-3060-12gb: replaced by" in out


def test_check_a_given_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "extra.toml"
    path.write_text(META + MY_GPU.replace('id = "rtx-3060-12gb"', 'id = "my-3060"'))
    assert main(["catalog", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: OK" in out
    assert any(line.split() == ["gpus", "1"] for line in out.splitlines())
    assert "replaced" not in out


def test_check_the_builtin_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check", str(catalog.BUILTIN_DATA_DIR)]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize(("text", "words"), [
    (META + MY_GPU.replace("vram_gib = 12", "vram_gib = -12"), "entry rtx-3060-12gb: vram_gib"),
    (META + MY_GPU.replace("tgp_w = 170", "tgp = 170"), "tgp: unknown key"),
    (META + MY_GPU.replace('price_source = "my local shop"\n', ""), "price_source: missing"),
    (MY_GPU, "meta: missing"),
    ("= broken", "not valid TOML"),
])
def test_check_failure_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         text: str, words: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["catalog", "check", str(path)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith(f"rigready: error: {path}: ")
    assert words in err and "\n" not in err
    assert "Traceback" not in captured.err


def test_check_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "check", "/no/such/catalog.toml"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


@pytest.mark.parametrize("kind", LIST_KINDS)
def test_list_every_kind(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list", kind]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith(("id", "rank")) and set(lines[1]) <= {"-", " "}
    spec = next(k for k in catalog.KINDS if k.plural == kind)
    entries = getattr(catalog.load_catalog(None), spec.attribute)
    assert f"{len(entries)} {kind}" in out
    assert all(e.id in out for e in entries)


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list", "gpus", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    cat = catalog.load_catalog(None)
    assert [d["id"] for d in data] == [g.id for g in cat.gpus]
    h200 = next(d for d in data if d["id"] == cat.gpu("h200").id)
    assert h200["vram_gib"] == cat.gpu("h200").vram_gib and isinstance(h200["match"], list)


def test_list_rejects_unknown_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "list", "monitors"]) == 2
    assert capsys.readouterr().err.startswith("rigready: error: argument KIND: invalid choice")


def test_score_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--profile", str(RTX3060), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"overall_tier", "score", "components", "tasks"}
    assert isinstance(data["score"], int) and 0 <= data["score"] <= 100
    assert set(data["components"]) == {"gpu", "cpu", "ram", "storage"}
    ids = {t.id for t in catalog.load_catalog(None).tiers} | {"below-entry"}
    assert data["overall_tier"] in ids
    assert len(data["tasks"]) == len(catalog.load_catalog(None).tasks)
    for task in data["tasks"]:
        assert set(task) >= {"task", "verdict", "reason", "fix"}
        assert task["verdict"] in ("ready", "limited", "not ready", "unknown")
        assert task["reason"]
        assert (task["fix"] == "") == (task["verdict"] == "ready")


def test_score_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "--profile", str(RTX3060)]) == 0
    out = capsys.readouterr().out
    assert "Score " in out and "/100" in out
    assert "Tier ladder" in out and "<- this PC" in out
    assert "rtx-3060-12gb (high)" in out
    assert "AI tasks (" in out and "why:" in out and "fix:" in out


def test_score_uses_the_user_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    user_catalog_dir().mkdir(parents=True)
    (user_catalog_dir() / "mine.toml").write_text(META + MY_GPU)
    assert main(["score", "--profile", str(RTX3060), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "My RTX 3060" in data["gpu_matches"][0]["reason"]


def test_score_with_broken_user_catalog_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    user_catalog_dir().mkdir(parents=True)
    (user_catalog_dir() / "mine.toml").write_text(META + MY_GPU.replace("12.7", '"fast"'))
    assert main(["score", "--profile", str(RTX3060)]) == 2
    assert "fp32_tflops: must be a number" in capsys.readouterr().err


def test_score_bad_profile_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{}")
    assert main(["score", "--profile", str(bad)]) == 2
    assert capsys.readouterr().err.startswith("rigready: error:")


def _save_cpu_result(db: Path, fingerprint: str, gflops: float) -> None:
    from rigready.assess.bench.cpu_gemm import BlasInfo, CpuGemmResult
    from rigready.assess.bench.gemm import GemmMeasurement
    from rigready.assess.bench.records import result_to_dict
    from rigready.monitor.store import Store

    result = CpuGemmResult(
        measurements=(GemmMeasurement("fp32", 2048, gflops, gflops * 0.9, gflops * 1.1, 5,
                                      0.01),),
        blas=BlasInfo("openblas"), cpu_model="Test CPU", peak_fp32_gflops=None, elapsed_s=1.0)
    with Store(db) as store:
        store.save_bench_result(kind="gemm-cpu", fingerprint=fingerprint, label="cpu",
                                result=result_to_dict(result))


def test_score_uses_saved_benchmarks_of_the_same_machine(
        capsys: pytest.CaptureFixture[str]) -> None:
    from rigready.assess.bench.fingerprint import profile_fingerprint
    from rigready.assess.profile import load_profile
    from rigready.catalog.paths import database_path

    profile = load_profile(RTX3060)
    _save_cpu_result(database_path(), profile_fingerprint(profile), 4321.0)
    _save_cpu_result(database_path(), "another-machine", 9.0)
    assert main(["score", "--profile", str(RTX3060), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    cpu = next(p for p in data["score_parts"] if p["name"] == "CPU speed")
    assert "4,321.0" in cpu["detail"]
    assert any("measured 4,321 GFLOP/s" in r for r in data["reasons"])
    assert main(["score", "--profile", str(RTX3060), "--json", "--no-bench"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert not any("measured 4,321" in r for r in plain["reasons"])
    assert any("CPU speed: theoretical peak" in r for r in plain["reasons"])


def test_no_history_means_no_measurements() -> None:
    from rigready.assess.profile import load_profile
    from rigready.desktop.usecases.readiness import measured_for

    assert measured_for(load_profile(RTX3060)) is None
