"""Where the storage benchmark may write: checks made before a single byte is written.

The folder must exist, be a writable directory on a real local disk (tmpfs, overlay and network
filesystems give misleading numbers and are refused unless forced), and have room for the test
file plus 10% (CrystalDiskMark's rule). The test file has a fixed, recognisable name with the
owner's pid, so files left by a crashed run are found and removed at the next start, before the
free space is measured (a killed 256 MiB run on a small disk otherwise blocked the next one).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rigready.assess.bench.progress import BenchError

TEST_FILE_PREFIX = ".rigready-bench-"
TEST_FILE_SUFFIX = ".tmp"
_STALE = re.compile(re.escape(TEST_FILE_PREFIX) + r"(\d+)" + re.escape(TEST_FILE_SUFFIX) + "$")
MIB = 1024**2

#: Filesystems that live in memory: the numbers would be RAM speed.
MEMORY_FS = frozenset({"tmpfs", "ramfs", "devtmpfs", "hugetlbfs", "zram"})
#: Layered filesystems (containers, snaps): the disk underneath is hidden.
LAYERED_FS = frozenset({"overlay", "overlayfs", "aufs", "unionfs", "fuse.fuse-overlayfs"})
#: Network and host-shared filesystems: the numbers would be the network's.
NETWORK_FS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "9p", "afs", "lustre",
    "beegfs", "gpfs", "virtiofs", "davfs", "fuse.sshfs", "fuse.rclone", "fuse.s3fs",
    "fuse.gcsfuse", "fuse.glusterfs", "fuse.davfs2",
})


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One line of ``/proc/self/mountinfo``."""

    mount_point: str
    fs_type: str
    source: str


@dataclass(frozen=True, slots=True)
class Target:
    """A checked place for the test file."""

    folder: Path
    file: Path
    size_bytes: int
    fs_type: str | None
    device: str | None
    free_bytes: int
    forced: bool
    warnings: tuple[str, ...] = ()
    #: Test files of earlier runs that were killed, removed before the free space was measured.
    stale_removed: tuple[Path, ...] = ()


def bench_file_name(pid: int) -> str:
    """The test file's name for process ``pid``: ``.rigready-bench-<pid>.tmp``."""
    return f"{TEST_FILE_PREFIX}{pid}{TEST_FILE_SUFFIX}"


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as three octal digits
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[MountEntry]:
    """Mount point, filesystem type and source of each line (malformed lines are skipped)."""
    entries: list[MountEntry] = []
    for line in text.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 7:
            continue
        left, right = line.split(" - ", 1)
        after = right.split()
        if len(after) < 2:
            continue
        entries.append(MountEntry(mount_point=_unescape(left.split()[4]), fs_type=after[0],
                                  source=_unescape(after[1])))
    return entries


def mount_of(path: Path, mounts: list[MountEntry]) -> MountEntry | None:
    """The mount holding ``path`` (the longest matching mount point; the last one wins ties)."""
    target = str(path)
    best: MountEntry | None = None
    for entry in mounts:
        mp = entry.mount_point.rstrip("/") or "/"
        inside = target == mp or target.startswith(mp + "/") or mp == "/"
        if inside and (best is None or len(mp) >= len(best.mount_point.rstrip("/") or "/")):
            best = entry
    return best


def refusal_reason(fs_type: str) -> str | None:
    """Why a benchmark on ``fs_type`` would mislead, or None when it is a local disk."""
    kind = fs_type.lower()
    if kind in MEMORY_FS:
        return f"{fs_type} lives in memory, so it would measure RAM, not a disk"
    if kind in LAYERED_FS:
        return f"{fs_type} is a layered (container) filesystem that hides the disk underneath"
    if kind in NETWORK_FS:
        return f"{fs_type} is a network or host-shared filesystem, so it would measure the link"
    return None


def default_folder(env: Mapping[str, str], home: Path) -> Path:
    """Where models are kept (the Hugging Face cache) when it exists, else the home folder."""
    candidates: list[Path] = []
    if env.get("HF_HUB_CACHE"):
        candidates.append(Path(env["HF_HUB_CACHE"]))
    if env.get("HF_HOME"):
        candidates.append(Path(env["HF_HOME"]) / "hub")
    candidates.append(home / ".cache" / "huggingface" / "hub")
    return next((c for c in candidates if c.is_dir()), home)


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def clean_stale(folder: Path, alive: Callable[[int], bool] = pid_alive) -> list[Path]:
    """Remove test files left in ``folder`` by processes that no longer run; the removed paths."""
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        match = _STALE.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or alive(pid):
            continue
        path = folder / name
        try:
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def check_target(
    folder: Path,
    size_bytes: int,
    force: bool = False,
    mountinfo_text: str | None = None,
    pid: int | None = None,
) -> Target:
    """Validate the folder and size before anything is written.

    Args:
        folder: where the test file goes.
        size_bytes: test file size.
        force: accept memory, layered and network filesystems (the result says so).
        mountinfo_text: ``/proc/self/mountinfo`` contents (read live when None).
        pid: the owner pid in the file name (this process when None).

    Raises:
        BenchError: size not above zero, folder missing / not a folder / not writable, a
            refused filesystem without ``force``, or less free space than size + 10%.
    """
    if size_bytes <= 0:
        raise BenchError(f"the test size must be above zero, got {size_bytes // MIB} MiB")
    try:
        info = folder.stat()
        real = folder.resolve()
    except FileNotFoundError:
        raise BenchError(f"{folder} does not exist") from None
    except (OSError, RuntimeError) as exc:  # a name too long, a file used as a folder, a loop
        raise BenchError(f"{folder}: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise BenchError(f"{folder} is not a folder")
    if not os.access(real, os.W_OK | os.X_OK):
        raise BenchError(f"{folder} is not writable by this user")
    # A test file left by a killed run would count against the free space it needs itself.
    removed = tuple(clean_stale(real))
    warnings: list[str] = []
    if mountinfo_text is None:
        try:
            mountinfo_text = Path("/proc/self/mountinfo").read_text(encoding="utf-8")
        except OSError:
            mountinfo_text = ""
    mount = mount_of(real, parse_mountinfo(mountinfo_text))
    fs_type = mount.fs_type if mount else None
    if fs_type is None:
        warnings.append("filesystem type unknown (no /proc/self/mountinfo): not checked")
    else:
        reason = refusal_reason(fs_type)
        if reason is not None and not force:
            raise BenchError(f"refusing {folder}: {reason} (use --force to measure it anyway)")
        if reason is not None:
            warnings.append(f"forced on {fs_type}: {reason}")
    free = shutil.disk_usage(real).free
    needed = size_bytes + size_bytes // 10
    if free < needed:
        raise BenchError(f"not enough free space in {folder}: the test needs {needed // MIB} MiB "
                         f"(size + 10%), {free // MIB} MiB are free")
    return Target(folder=real, file=real / bench_file_name(pid or os.getpid()),
                  size_bytes=size_bytes, fs_type=fs_type, device=mount.source if mount else None,
                  free_bytes=free, forced=force, warnings=tuple(warnings), stale_removed=removed)


def is_disk_full(exc: OSError) -> bool:
    """Whether ``exc`` means the filesystem ran out of space (or quota)."""
    return exc.errno in (errno.ENOSPC, errno.EDQUOT)
