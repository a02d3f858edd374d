"""``/proc/self/mountinfo`` parsing, and which mount points are worth showing to a person."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\([0-7]{3})")
_HIDDEN_PREFIXES = ("/proc", "/sys", "/dev", "/run/credentials", "/snap/", "/var/lib/docker/",
                    "/var/lib/containers/", "/var/snap/")
_FILE_BINDS = {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/localtime"}


@dataclass(frozen=True, slots=True)
class Mount:
    """One line of mountinfo."""

    major_minor: str
    root: str
    mount_point: str
    fs_type: str
    source: str


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse mountinfo (``proc(5)``); lines that do not fit the format are skipped."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 3 or len(fields) < 5:
            continue
        mounts.append(Mount(
            major_minor=fields[2],
            root=_unescape(fields[3]),
            mount_point=_unescape(fields[4]),
            fs_type=fields[dash + 1],
            source=_unescape(fields[dash + 2]),
        ))
    return mounts


def shown_mount_point(mount: Mount) -> bool:
    """False for kernel, container-runtime and single-file bind mounts nobody stores data on."""
    point = mount.mount_point
    if point in _FILE_BINDS:
        return False
    return not any(point == p.rstrip("/") or point.startswith(p.rstrip("/") + "/")
                   for p in _HIDDEN_PREFIXES)
