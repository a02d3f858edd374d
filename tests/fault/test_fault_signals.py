"""Every signal sent to a running ``rigready monitor`` ends with no sample lost without a count
(issue 24, item 6).

- Each signal that would end the process stops it like Ctrl-C: the session is closed and holds
  exactly the samples printed. Sent to fresh processes for the issue's signals, and to every
  stop signal of this system (the real-time ones too) through a harness that runs the real
  command in one process, session after session, to keep the suite quick.
- Signals ignored by default leave it running; a pause (SIGSTOP, Ctrl-Z's SIGTSTP, SIGTTIN,
  SIGTTOU) is stored as a gap event with its length and printed.
- What cannot be caught (SIGKILL) or must not be (the fault signals) leaves the session open:
  ``history`` then says it ended without closing and how many samples it holds, and the next
  monitor start says it once.
- A full disk, then SIGKILL: the samples that were waiting in memory are counted at the next
  start. Read-only and full filesystems: one line, nothing changed."""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rigready.desktop.cli import main
from rigready.desktop.commands.monitor import stop_signals
from rigready.monitor.providers.fake import FakeProvider
from rigready.monitor.sampler import Sampler
from rigready.monitor.store import Store
from tests.helpers.monitor_procs import (
    CLOSED,
    env,
    fill,
    monitor,
    small_filesystem,
    stored,
    wait_logging,
    wait_started,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals, Linux mounts")

STOPS = stop_signals() if sys.platform == "linux" else []
IGNORED = [signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH, signal.SIGCONT] \
    if sys.platform == "linux" else []
PAUSES = ["SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU"]
KILLERS = ["SIGKILL", "SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "SIGTRAP", "SIGSYS"]


def _name(number: int) -> str:
    with contextlib.suppress(ValueError):
        return signal.Signals(number).name
    return f"SIGRTMIN+{number - signal.SIGRTMIN}"


# -- a harness: the real command, session after session, in one process -----------------------

HARNESS = """
import sys
from rigready.desktop.cli import main
for line in sys.stdin:
    code = main(["monitor", "--interval", "0.2", "--duration", "30", "--db", line.strip()])
    print(f"harness: exit {code}", file=sys.stderr, flush=True)
"""


@dataclass
class Run:
    """What one monitor session printed and returned."""

    db: Path
    lines: list[str] = field(default_factory=list)
    code: int | None = None
    alive_after_first: bool = True


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HARNESS], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, env=env(tmp_path))
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def _until(self, run: Run, pattern: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return False
            run.lines.append(line)
            found = re.search(r"harness: exit (\d+)", line)
            if found:
                run.code = int(found.group(1))
            if re.search(pattern, line):
                return True
        return False

    def session(self, db: Path, signals: list[int]) -> Run:
        """One session: start it, send ``signals`` 0.3 s apart, wait for its end."""
        run = Run(db)
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{db}\n")
        self.proc.stdin.flush()
        assert self._until(run, r"logging session", 30), run.lines
        time.sleep(0.1)
        for k, number in enumerate(signals):
            self.proc.send_signal(number)
            if k < len(signals) - 1:  # an ignored one: the monitor must still run
                run.alive_after_first = not self._until(run, r"harness: exit", 0.3)
        assert self._until(run, r"harness: exit", 30), run.lines
        return run

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def harness_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every stop signal, and every ignored one followed by SIGTERM, in four harnesses at
    once."""
    tmp = tmp_path_factory.mktemp("harness")
    cases = [(_name(n), [n]) for n in STOPS]
    cases += [(f"{_name(n)} then SIGTERM", [n, signal.SIGTERM]) for n in IGNORED]
    results: dict[str, Run] = {}
    failures: list[BaseException] = []

    def drive(share: list[tuple[str, list[int]]]) -> None:
        harness = Harness(tmp)
        try:
            for name, numbers in share:
                results[name] = harness.session(tmp / f"{name.replace(' ', '-')}.db", numbers)
        except BaseException as exc:  # noqa: BLE001 - reported by the tests
            failures.append(exc)
        finally:
            harness.close()

    threads = [threading.Thread(target=drive, args=(cases[k::4],)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures
    return results


def _closed_with_every_printed_sample(db: Path, lines: list[str]) -> None:
    text = "\n".join(lines)
    assert "Traceback" not in text and "unexpected error" not in text, text
    found = CLOSED.search(text)
    assert found, text
    with Store(db, readonly=True) as store:
        (session,) = store.sessions()
    assert session.ended is not None, text
    assert session.ticks == int(found.group(1)), text


@pytest.mark.parametrize("name", [_name(n) for n in STOPS])
def test_every_stop_signal_closes_the_session(harness_runs: dict[str, Run], name: str) -> None:
    run = harness_runs[name]
    assert run.code == 0, run.lines
    _closed_with_every_printed_sample(run.db, run.lines)
    assert any(f"stopping ({name} received)" in line or "stopping (" in line
               for line in run.lines), run.lines


@pytest.mark.parametrize("name", [_name(n) for n in IGNORED])
def test_signals_ignored_by_default_leave_it_running(harness_runs: dict[str, Run],
                                                     name: str) -> None:
    run = harness_runs[f"{name} then SIGTERM"]
    assert run.alive_after_first, run.lines
    assert run.code == 0, run.lines
    _closed_with_every_printed_sample(run.db, run.lines)


# -- fresh processes ------------------------------------------------------------------------

def _launch(tmp_path: Path, db: Path, duration: float = 60) -> subprocess.Popen[str]:
    return monitor(tmp_path, db, duration=duration)


ISSUE = ["SIGQUIT", "SIGUSR1", "SIGPIPE"]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, str]]:
    """A fresh monitor per signal of the issue, all at once."""
    tmp = tmp_path_factory.mktemp("fresh")
    procs = {name: (tmp / f"{name}.db", _launch(tmp, tmp / f"{name}.db")) for name in ISSUE}
    for db, proc in procs.values():
        wait_started(proc, db)
    for name, (_, proc) in procs.items():
        proc.send_signal(getattr(signal, name))
    out = {}
    for name, (db, proc) in procs.items():
        _, err = proc.communicate(timeout=30)
        out[name] = (db, proc.returncode, err)
    return out


@pytest.mark.parametrize("name", ISSUE)
def test_the_issues_signals_close_the_session_in_a_fresh_process(
        fresh: dict[str, tuple[Path, int, str]], name: str) -> None:
    """SIGQUIT and SIGUSR1 used to end the monitor with the session open and a printed sample
    not stored."""
    db, code, err = fresh[name]
    assert code == 0, err
    _closed_with_every_printed_sample(db, err.splitlines())


@pytest.fixture(scope="module")
def paused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """A monitor per pause signal, paused 1 s at once, resumed, then stopped."""
    tmp = tmp_path_factory.mktemp("paused")
    procs = {}
    for name in PAUSES:
        db = tmp / f"{name}.db"
        # A process group of its own under this test's session: the kernel discards SIGTSTP,
        # SIGTTIN and SIGTTOU sent to an orphaned process group, which a monitor sharing the
        # group of a test runner started without job control can be.
        procs[name] = (db, monitor(tmp, db, duration=60, process_group=0))
    for db, proc in procs.values():
        wait_logging(proc, db, ticks=1)
    before = {name: stored(db) for name, (db, _) in procs.items()}
    for name, (_, proc) in procs.items():
        proc.send_signal(getattr(signal, name))
    time.sleep(1.0)
    for _, proc in procs.values():
        proc.send_signal(signal.SIGCONT)
    for name, (db, proc) in procs.items():  # the sampler has ticked (and so seen the gap)
        wait_logging(proc, db, ticks=before[name] + 2)
    out = {}
    for name, (db, proc) in procs.items():
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        out[name] = (db, err)
    return out


@pytest.mark.parametrize("name", PAUSES)
def test_a_pause_is_a_gap_event_with_its_length(paused: dict[str, tuple[Path, str]],
                                                name: str) -> None:
    db, err = paused[name]
    _closed_with_every_printed_sample(db, err.splitlines())
    assert "warning: no samples for" in err, err
    with Store(db, readonly=True) as store:
        gaps = [e for e in store.events_between(0, 2e10) if e.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].name == "stall", gaps
    assert gaps[0].value is not None and gaps[0].value >= 1.0
    missed = int(re.search(r"about (\d+) missed", gaps[0].message).group(1))  # type: ignore[union-attr]
    assert missed >= 3  # 1 s at one every 0.2 s


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """A monitor per signal that ends it without a word, all at once."""
    tmp = tmp_path_factory.mktemp("killed")
    procs = {}
    for name in KILLERS:
        db = tmp / f"{name}.db"
        procs[name] = (db, _launch(tmp, db))
    for db, proc in procs.values():
        wait_logging(proc, db, ticks=1)
    for name, (_, proc) in procs.items():
        proc.send_signal(getattr(signal, name))
    out = {}
    for name, (db, proc) in procs.items():
        proc.wait(timeout=30)
        out[name] = (db, proc.returncode)
    return out


@pytest.mark.parametrize("name", KILLERS)
def test_a_killed_session_is_reported_by_history_and_the_next_start(
        killed: dict[str, tuple[Path, int]], name: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    db, code = killed[name]
    assert code == -getattr(signal, name)  # it did die of the signal
    with Store(db, readonly=True) as store:
        (session,) = store.sessions()
    monkeypatch.setenv("RIGREADY_HOME", str(db.parent / "home"))
    assert main(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"\b{session.id}\b.*\bunclosed\b", out), out
    assert f"it holds {session.ticks} samples" in out, out
    sampler = Sampler([FakeProvider()], db_path=db, retention=None)
    sampler.open_session("next")
    told = [n for n in sampler.store_notices if "ended without closing" in n]
    sampler.close_session()
    assert len(told) == 1 and f"it holds {session.ticks} samples" in told[0]
    again = Sampler([FakeProvider()], db_path=db, retention=None)
    again.open_session("again")
    again.close_session()
    assert not [n for n in again.store_notices if "ended without closing" in n]  # said once


# -- full and read-only filesystems ---------------------------------------------------------

def test_full_disk_then_sigkill_counts_the_samples_that_were_waiting(tmp_path: Path) -> None:
    """On a full disk samples wait in memory; a SIGKILL then lost them with no count. The
    lock file's status line (rewritten in place, no new space) lets the next start count
    them."""
    with small_filesystem(tmp_path, 24) as mount:
        db = mount / "m.db"
        proc = _launch(tmp_path, db)
        wait_logging(proc, db, ticks=2)
        filler = fill(mount)
        deadline = time.monotonic() + 20
        record = b""
        while time.monotonic() < deadline:  # until a failed commit left a waiting count
            record = Path(f"{db}.lock").read_bytes()
            if re.search(rb"waiting +[1-9]", record):
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        waiting = int(re.search(rb"waiting +(\d+)", record).group(1))  # type: ignore[union-attr]
        assert waiting > 0, record
        filler.unlink()
        sampler = Sampler([FakeProvider()], db_path=db, retention=None)
        sampler.open_session("next")
        sampler.close_session()
        said = " ".join(sampler.store_notices)
        counted = re.search(r"(\d+) samples waiting in memory for a commit", said)
        assert counted and int(counted.group(1)) >= waiting, said


@contextlib.contextmanager
def _read_only_with_a_database(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path, 24, name="ro") as mount:
        db = mount / "m.db"
        sampler = Sampler([FakeProvider()], db_path=db, retention=None)
        sampler.open_session("before")
        for _ in range(3):
            sampler.tick()
        sampler.close_session()
        done = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only: {done.stderr.strip()!r}")
        yield db


RO_CASES = {
    "monitor on a read-only disk": (["monitor", "--duration", "0.2", "--db", "{db}"], 2,
                                    "read-only filesystem"),
    "history on a read-only disk": (["history", "--db", "{db}"], 0, ""),
    "export onto a read-only disk": (["history", "--db", "{db}", "--session", "1", "--export",
                                      "csv", "--output", "{dir}/out.csv"], 2,
                                     "cannot write"),
}


@pytest.mark.parametrize("case", list(RO_CASES))
def test_read_only_filesystem(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_FAKE_PROVIDER", "1")
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))
    with _read_only_with_a_database(tmp_path) as db:
        before = {p.name: p.read_bytes() for p in db.parent.iterdir() if p.is_file()}
        argv, code, words = RO_CASES[case]
        args = [a.format(db=db, dir=db.parent) for a in argv]
        assert main(args) == code
        captured = capsys.readouterr()
        if code:
            last = captured.err.strip().splitlines()[-1]
            assert last.startswith("rigready: error: ") and words in last, captured.err
        else:
            assert "before" in captured.out or "closed" in captured.out, captured
        assert {p.name: p.read_bytes() for p in db.parent.iterdir() if p.is_file()} == before


FULL_CASES = {
    "monitor on a full disk": (["monitor", "--duration", "0.2", "--db", "{db}"], 2, "is full"),
    "history on a full disk": (["history", "--db", "{db}"], 0, ""),
    "export onto a full disk": (["history", "--db", "{db}", "--session", "1", "--export",
                                 "json", "--output", "{dir}/out.json"], 2, "the disk is full"),
}


@pytest.mark.parametrize("case", list(FULL_CASES))
def test_full_filesystem(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGREADY_FAKE_PROVIDER", "1")
    monkeypatch.setenv("RIGREADY_HOME", str(tmp_path / "home"))
    with small_filesystem(tmp_path, 24, name="full") as mount:
        db = mount / "m.db"
        sampler = Sampler([FakeProvider()], db_path=db, retention=None)
        sampler.open_session("before")
        for _ in range(3):
            sampler.tick()
        sampler.close_session()
        fill(mount)
        before = {p.name: p.read_bytes() for p in mount.iterdir()
                  if p.is_file() and p.name != "filler"}
        argv, code, words = FULL_CASES[case]
        assert main([a.format(db=db, dir=mount) for a in argv]) == code
        captured = capsys.readouterr()
        if code:
            last = captured.err.strip().splitlines()[-1]
            assert last.startswith("rigready: error: ") and words in last, captured.err
        else:
            assert "closed" in captured.out, captured
        after = {p.name: p.read_bytes() for p in mount.iterdir()
                 if p.is_file() and p.name != "filler"}
        after.pop("m.db.lock", None)
        before.pop("m.db.lock", None)
        assert after == before  # nothing half-written, nothing changed
