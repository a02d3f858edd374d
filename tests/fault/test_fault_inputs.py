"""Resource bombs through the command line and odd numbers in configs (issue 24, items 12, 13,
15 and 18): a GEMM size that cannot fit or would run for hours, an exporter out of file
descriptors, a stale benchmark file on a nearly full disk, configs no model has."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rigready.assess.bench import storage_target
from rigready.assess.bench.cpu_gemm import run_cpu_gemm
from rigready.assess.bench.gemm_budget import gemm_budgets
from rigready.assess.bench.progress import BenchError
from rigready.assess.hardware import CpuInfo, GpuInfo, MemoryInfo, RigProfile, SystemInfo
from rigready.desktop.cli import main
from rigready.desktop.commands import bench as bench_command

ROOT = Path(__file__).resolve().parents[2]
GIB = 2**30


def _profile(available_gib: float, vram_gib: float | None = None) -> RigProfile:
    gpus = () if vram_gib is None else (GpuInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060",
                                                vram_bytes=int(vram_gib * GIB)),)
    return RigProfile(cpu=CpuInfo(model="Test CPU"),
                      memory=MemoryInfo(total_bytes=int(2 * available_gib * GIB),
                                        available_bytes=int(available_gib * GIB)),
                      storage=(), gpus=gpus, system=SystemInfo())


@pytest.fixture
def small_pc(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 8 GiB-free PC with a 12 GiB RTX 3060 whose CPU does 50/25 GFLOP/s (fp32/fp64)."""
    monkeypatch.setattr(bench_command, "detect_this_pc", lambda: _profile(8, 12))
    monkeypatch.setattr("rigready.assess.bench.cpu_gemm.measured_gflops",
                        lambda dtypes, **_: {"fp32": 50.0, "fp64": 25.0})


@pytest.mark.usefixtures("small_pc")
@pytest.mark.parametrize(("argv", "needle"), [
    (["--device", "cpu", "--n", "65536"], "more than 80% of the 8.0 GiB of RAM available; "
                                          "at most --n 16384"),
    (["--device", "gpu", "--n", "65536"], "of GPU memory available"),
    (["--device", "cpu", "--n", "12000"], "about 14 min (at the measured 50 GFLOP/s fp32, "
                                          "25 GFLOP/s fp64): longer than 2 min; add "
                                          "--allow-long"),
    (["--n", "16384"], "longer than 2 min"),
])
def test_gemm_sizes_that_cannot_fit_or_run_for_ages_are_refused_first(
        argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Before: --n 65536 on the CPU raised MemoryError (here it filled RAM until killed);
    --n 12000 sat at 0% for minutes with no word of how long it would take."""
    started = time.monotonic()
    assert main(["bench", "gemm", "--no-save", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert time.monotonic() - started < 5  # refused before any matrix was made


@pytest.mark.usefixtures("small_pc")
def test_a_long_run_needs_allow_long_and_a_short_one_says_its_time(
        capsys: pytest.CaptureFixture[str]) -> None:
    budgets = gemm_budgets(12000, _profile(8), "cpu", allow_long=True)
    assert budgets[0].seconds == pytest.approx(4 * 2 * 12000**3 * (1 / 50e9 + 1 / 25e9))
    assert main(["bench", "gemm", "--device", "cpu", "--n", "1024", "--no-save"]) == 0
    err = capsys.readouterr().err
    assert "rigready bench: CPU GEMM n=1024 (fp32, fp64): 0.0 GiB of 8.0 GiB available, " \
           "about 1 s" in err


def test_cancelling_a_gemm_run_still_stops_it() -> None:
    gen = run_cpu_gemm(None, sizes={"fp32": 1024, "fp64": 1024}, budget_s=30, min_repeats=1000)
    next(gen)
    next(gen)
    started = time.monotonic()
    gen.close()  # the GUI's Cancel and the CLI's Ctrl-C both end here
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("sizes", "needle"), [
    ({"num_key_value_heads": 40}, "num_key_value_heads (40) is more than num_attention_heads "
                                  "(32)"),
    ({"num_key_value_heads": 5}, "num_attention_heads (32) is not a multiple of "
                                 "num_key_value_heads (5)"),
    ({"hidden_size": 4100}, "hidden_size (4100) is not divisible by num_attention_heads (32)"),
    ({"num_key_value_heads": 0}, "num_key_value_heads and head_dim must be above zero"),
    ({"head_dim": 0}, "num_key_value_heads and head_dim must be above zero"),
    ({"hidden_size": 1_048_576, "num_hidden_layers": 100_000, "num_attention_heads": 8192},
     "parameters, more than any model"),
    ({"vocab_size": 10**9, "hidden_size": 999_424, "num_attention_heads": 8},
     "parameters, more than any model"),
    ({"num_local_experts": 8, "num_experts_per_tok": 9},
     "num_experts_per_tok (9) must be from 1 to the number of experts (8)"),
])
def test_configs_no_model_has_are_refused_naming_the_fields(
        sizes: dict[str, int], needle: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before: more KV heads than heads, or a hidden size the heads do not divide, were
    accepted and estimated."""
    config = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
              "num_attention_heads": 32, "vocab_size": 32000, "intermediate_size": 11008,
              **sizes}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert main(["estimate", str(path), "--gpu", "rtx-4090"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err


def test_a_stale_bench_file_is_removed_before_the_free_space_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: after a SIGKILL of a 256 MiB run on a 300 MiB filesystem, the next run refused
    for lack of space its own leftover took."""
    dead = next(p for p in range(4_194_000, 4_000_000, -1) if not storage_target.pid_alive(p))
    stale = tmp_path / storage_target.bench_file_name(dead)
    with stale.open("wb") as handle:
        handle.truncate(256 * 2**20)

    class Usage:
        @property
        def free(self) -> int:  # a 300 MiB disk: what the test files leave free
            used = sum(p.stat().st_size for p in tmp_path.iterdir())
            return 300 * 2**20 - used

    monkeypatch.setattr("rigready.assess.bench.storage_target.shutil.disk_usage",
                        lambda _path: Usage())
    target = storage_target.check_target(tmp_path, 256 * 2**20, mountinfo_text="")
    assert target.stale_removed == (stale,) and not stale.exists()
    with pytest.raises(BenchError, match="not enough free space"):
        storage_target.check_target(tmp_path, 290 * 2**20, mountinfo_text="")


_SERVER = """
import resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
from prometheus_client import CollectorRegistry
from rigready.monitor.metrics_server import MetricsServer
server = MetricsServer(CollectorRegistry(), "127.0.0.1", 0, idle_timeout_s=3.0)
server.start()
print(server.port, flush=True)
time.sleep(30)
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and RLIMIT_NOFILE")
def test_the_exporter_backs_off_when_out_of_file_descriptors() -> None:
    """Before: with prlimit --nofile=200 and 260 idle connections it spun at 100% CPU."""
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 256
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, text=True,
                            env=env)
    conns: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        for _ in range(100):  # more than the 64 descriptors the server may hold
            conns.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(0.5)
        before, started = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(2.0)
        share = (_cpu_seconds(proc.pid) - before) / (time.monotonic() - started)
        assert share < 0.25, f"{share:.0%} of a CPU while out of descriptors"
        for conn in conns:
            conn.close()
        conns.clear()
        deadline = time.monotonic() + 15  # idle ones time out, accepting resumes
        answer = b""
        while b"200 OK" not in answer and time.monotonic() < deadline:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as scrape:
                scrape.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                try:
                    answer = scrape.recv(100)
                except (TimeoutError, ConnectionResetError):
                    answer = b""
            time.sleep(0.2)
        assert b"200 OK" in answer
    finally:
        for conn in conns:
            conn.close()
        proc.kill()
        proc.wait(10)
