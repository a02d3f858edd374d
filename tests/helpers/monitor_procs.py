"""Real ``rigready`` processes for the fault tests: start one with the test-only fake provider,
wait until it logs, count what it stored, and a real small filesystem to fill (loop-mounted
ext4 where this machine allows it, else tmpfs; both need root)."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigready.monitor.store import Store

ROOT = Path(__file__).resolve().parents[2]
#: The monitor's last line: how many samples it took.
CLOSED = re.compile(r"session \d+ closed: (\d+) samples")


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a test process: fake provider, private home, this tree first."""
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p)
    return dict(os.environ, RIGREADY_FAKE_PROVIDER="1", RIGREADY_HOME=str(tmp_path / "home"),
                PYTHONPATH=path, **extra)


def rigready(tmp_path: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    """``rigready ARGS`` as a child process (stdout and stderr piped, text)."""
    kwargs: dict[str, object] = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
                                 "text": True, "env": env(tmp_path), "cwd": ROOT}
    kwargs.update(popen)
    proc: subprocess.Popen[str] = subprocess.Popen(
        [sys.executable, "-m", "rigready.desktop", *args], **kwargs)  # type: ignore[call-overload]
    return proc


def monitor(tmp_path: Path, db: Path | str, duration: float = 60,
            **popen: object) -> subprocess.Popen[str]:
    """``rigready monitor`` at 0.2 s on ``db``."""
    return rigready(tmp_path, "monitor", "--interval", "0.2", "--duration", str(duration),
                    "--db", str(db), **popen)


def stored(db: Path) -> int:
    """Samples of every session in ``db``."""
    with Store(db, readonly=True) as store:
        return sum(s.ticks for s in store.sessions())


def wait_logging(proc: subprocess.Popen[str], db: Path, ticks: int = 3,
                 timeout: float = 30) -> None:
    """Wait until ``db`` holds ``ticks`` samples (the process must stay alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with contextlib.suppress(Exception):
            if stored(db) >= ticks:
                return
        time.sleep(0.1)
    raise AssertionError("the monitor did not start logging")


def wait_started(proc: subprocess.Popen[str], db: Path, timeout: float = 30) -> None:
    """Wait until the monitor's session is open (its lock record names it): it has taken its
    first sample, perhaps not yet committed."""
    from rigready.monitor.store_lock import read_record

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        record = read_record(db)
        if record is not None and record.pid == proc.pid and record.session:
            return
        time.sleep(0.05)
    raise AssertionError("the monitor did not start")


@contextlib.contextmanager
def small_filesystem(tmp_path: Path, size_mib: int, name: str = "small") -> Iterator[Path]:
    """A real filesystem of ``size_mib`` (loop-mounted ext4 as in the issue, else tmpfs)."""
    mount = tmp_path / name
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    image = tmp_path / f"{name}.img"
    attempts = []
    with open(image, "wb") as handle:
        handle.truncate(size_mib * 2**20)
    if subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True).returncode == 0:
        attempts.append(["mount", "-o", "loop", str(image), str(mount)])
    attempts.append(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(mount)])
    for command in attempts:
        try:
            if subprocess.run(command, capture_output=True, timeout=20).returncode == 0:
                break
        except (OSError, subprocess.TimeoutExpired):
            continue
    else:
        pytest.skip("this machine does not allow mounting a small filesystem")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(folder: Path) -> Path:
    """Fill ``folder``'s filesystem with one file; returns it."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for chunk in (2**20, 2**14, 2**9, 1):  # down to the last byte, not the last MiB
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * chunk)
    return filler
