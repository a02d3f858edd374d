from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rigready.desktop.cli import main
from rigready.desktop.commands.monitor import format_sample
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sample import Sample


@pytest.fixture(autouse=True)
def fake_hardware(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RIGREADY_FAKE_PROVIDER", "1")
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))


def test_monitor_logs_a_session_and_history_lists_and_exports_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.sqlite3"
    assert main(["monitor", "--interval", "0.2", "--duration", "1", "--db", str(db),
                 "--label", "unit test"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) >= 4 and all("GPU0" in line and "| CPU" in line for line in lines)
    assert "session 1 closed" in err and "% of one core" in err

    assert main(["history", "--db", str(db)]) == 0
    listing = capsys.readouterr().out
    assert "unit test" in listing and "closed" in listing and "0: Fake GPU 24GB" in listing

    assert main(["history", "--db", str(db), "--session", "1"]) == 0
    summary = capsys.readouterr().out
    assert "Session 1: unit test" in summary and "utilisation mean" in summary

    csv_path = tmp_path / "s.csv"
    assert main(["history", "--db", str(db), "--session", "1", "--export", "csv",
                 "--output", str(csv_path)]) == 0
    assert "wrote session 1" in capsys.readouterr().out
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert len(rows) >= len(lines)  # every printed tick was stored (the last may not print)
    assert rows[0]["name"] == "Fake GPU 24GB"

    assert main(["history", "--db", str(db), "--session", "1", "--export", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["session"]["label"] == "unit test" and doc["samples"]


def test_jsonl_output_is_one_object_per_line(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--interval", "0.2", "--duration", "0.7", "--jsonl",
                 "--db", str(tmp_path / "m.sqlite3")]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert objects and all(o["type"] == "sample" for o in objects)
    assert objects[0]["gpus"][0]["name"] == "Fake GPU 24GB"


def test_default_database_is_in_the_data_folder(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--interval", "0.2", "--duration", "0.3"]) == 0
    assert (tmp_path / "home" / "data" / "rigready.sqlite3").is_file()


@pytest.mark.parametrize(("argv", "message"), [
    (["monitor", "--interval", "0.1"], "between 0.2 and 60"),
    (["monitor", "--prometheus", "here:port"], "--prometheus"),
    (["history", "--export", "csv"], "--export needs --session"),
    (["history", "--db", "/nonexistent/m.sqlite3"], "no monitor database"),
])
def test_usage_errors_are_one_line(argv: list[str], message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("rigready: error:") and "Traceback" not in err


def test_unknown_session_and_unwritable_db(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.sqlite3"
    assert main(["monitor", "--interval", "0.2", "--duration", "0.2", "--db", str(db)]) == 0
    assert main(["history", "--db", str(db), "--session", "7"]) == 2
    assert "no session 7" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["monitor", "--duration", "1", "--db", str(blocker / "m.sqlite3")]) == 2
    assert "cannot open" in capsys.readouterr().err


def test_format_sample_line() -> None:
    reading = FakeProvider(gpus=2, clock=lambda: 0.0).read()
    assert reading.host is not None
    line = format_sample(Sample(time=0.0, host=reading.host, gpus=reading.gpus))
    assert "GPU0 90% 40°C 250/350 W 18.0/24.0 GiB SM 1800 MHz" in line
    assert "GPU1" in line and line.endswith("CPU 25% RAM 12.0/32.0 GiB")
    assert "\n" not in line


def test_every_terminating_signal_stops_the_monitor_like_ctrl_c() -> None:
    """Issue 24, item 6: SIGQUIT, SIGUSR1 and friends used to kill it with the session open."""
    import signal

    from rigready.desktop.commands.monitor import stop_signals

    if not hasattr(signal, "SIGQUIT"):
        pytest.skip("POSIX signals")
    stops = set(stop_signals())
    wanted = {"SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGPIPE",
              "SIGALRM", "SIGXCPU", "SIGVTALRM", "SIGPROF"}
    assert {getattr(signal, name) for name in wanted} <= stops
    if hasattr(signal, "SIGRTMIN"):
        assert set(range(signal.SIGRTMIN, signal.SIGRTMAX + 1)) <= stops
    never = {"SIGKILL", "SIGSTOP", "SIGTSTP", "SIGCONT", "SIGCHLD", "SIGWINCH", "SIGSEGV",
             "SIGBUS", "SIGABRT"}
    assert not {getattr(signal, name) for name in never} & stops
    previous = signal.signal(signal.SIGUSR2, signal.SIG_IGN)  # as 'nohup' leaves SIGHUP
    try:
        assert signal.SIGUSR2 not in stop_signals()  # the parent's choice is kept
    finally:
        signal.signal(signal.SIGUSR2, previous)
