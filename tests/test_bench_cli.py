from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rigready.assess.bench.progress import Progress
from rigready.desktop.cli import main
from rigready.desktop.commands.bench import ProgressBar, drive

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: Any) -> Path:
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def leftovers(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(".rigready-bench-")]


@pytest.mark.parametrize(("args", "message"), [
    (["--path", "/definitely/not/here"], "does not exist"),
    (["--size-mib", "0"], "argument --size-mib: must be from 1 to"),
    (["--size-mib", "-5"], "argument --size-mib: must be from 1 to"),
    (["--size-mib", "9" * 5000], "argument --size-mib: 9999"),
    (["--size-mib", str(1024**3)], "not enough free space"),
    (["--seconds", "0"], "argument --seconds: must be in (0, 3600]"),
    (["--seconds", "inf"], "argument --seconds: must be a finite number"),
])
def test_bad_storage_input_is_one_line_exit_2(args: list[str], message: str, tmp_path: Path,
                                               capsys: Any) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    full = ["bench", "storage", *args] if "--path" in args else \
        ["bench", "storage", "--path", str(folder), *args]
    assert main(full) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("rigready: error: ") and message in err[-1]
    assert len([line for line in err if line.startswith("rigready:")]) == 1
    assert leftovers(folder) == []


def test_not_writable_folder_exit_2(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(tmp_path) else
                        real(p, m))
    assert main(["bench", "storage", "--path", str(tmp_path)]) == 2
    assert "not writable" in capsys.readouterr().err


def test_bad_gemm_input(capsys: Any) -> None:
    assert main(["bench", "gemm", "--device", "cpu", "--n", "0"]) == 2
    assert "argument --n: must be from 1 to 65536" in capsys.readouterr().err
    assert main(["bench", "gemm", "--device", "cpu", "--n", "99999999999"]) == 2
    assert "argument --n: must be from 1 to 65536" in capsys.readouterr().err
    assert main(["bench", "gemm", "--device", "cpu", "--sustained"]) == 2
    assert "--sustained measures the GPU" in capsys.readouterr().err


def test_storage_json_and_history(tmp_path: Path, capsys: Any) -> None:
    code = main(["bench", "storage", "--path", str(tmp_path), "--size-mib", "8", "--seconds",
                 "0.05", "--quick", "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    rows = data["results"]
    assert len(rows) == 8
    for row in rows:
        assert {"test", "mb_s", "iops", "latency_us"} <= set(row) and row["mb_s"] > 0
    assert data["saved"] is True
    assert leftovers(tmp_path) == []
    assert main(["bench", "history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert len(history) == 1 and history[0]["record"]["kind"] == "storage"


def test_gemm_cpu_json(capsys: Any) -> None:
    assert main(["bench", "gemm", "--device", "cpu", "--n", "128", "--json", "--no-save"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["dtype"] for r in data["results"]] == ["fp32", "fp64"]
    assert all(r["n"] == 128 and r["gflops"] > 0 for r in data["results"])
    assert data["saved"] is False


def test_gemm_gpu_without_torch_says_so(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert main(["bench", "gemm", "--device", "gpu"]) == 0
    assert "install PyTorch to measure the GPU" in capsys.readouterr().out


def test_progress_bar_on_a_terminal_and_in_a_log() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = ProgressBar(tty, width=10)
    bar.update(Progress(0.5, "half"))
    assert "[#####.....]  50%  half" in tty.getvalue()
    bar.finish()
    log = io.StringIO()
    t = iter([0.0, 0.1, 5.0])
    plain = ProgressBar(log, clock=lambda: next(t))
    for p in (Progress(0.1, "a: 1"), Progress(0.2, "a: 2"), Progress(0.9, "b: x")):
        plain.update(p)
    assert log.getvalue().splitlines() == [" 10%  a: 1", " 90%  b: x"]


def test_drive_closes_the_generator_on_interrupt() -> None:
    closed = []

    def gen() -> Any:
        try:
            while True:
                yield Progress(0.0, "x")
        finally:
            closed.append(True)

    g = gen()

    class Boom(ProgressBar):
        def update(self, p: Progress) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        drive(g, Boom(io.StringIO()))
    assert closed == [True]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_run_removes_the_test_file(sig: int, tmp_path: Path, home: Path) -> None:
    # the caller's PYTHONPATH (a worktree's build/pkgroot) first: ROOT holds no rigready package
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p)
    env = {**os.environ, "RIGREADY_HOME": str(home), "PYTHONPATH": path}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rigready.desktop.cli", "bench", "storage", "--path", str(tmp_path),
         "--size-mib", "8", "--seconds", "30", "--no-save"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(tmp_path), "the test file never appeared"
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode in (130, 143, -sig)
    assert leftovers(tmp_path) == []
    if sig == signal.SIGINT:
        assert b"rigready: interrupted" in err
