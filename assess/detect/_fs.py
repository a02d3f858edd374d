"""Reading files below a root folder: ``/`` for a live probe, a captured tree in tests.

Every probe reads through :class:`SysRoot`, so the parsers run unchanged against the real
``/proc`` and ``/sys`` of this machine and against the fixture trees under ``tests/data/detect``.
Reads never raise: a file that is missing, unreadable or not text reads as ``None``.
"""

from __future__ import annotations

import os
from pathlib import Path


class SysRoot:
    """Read-only access to ``/proc``, ``/sys``, ``/run``, ``/etc`` below ``root``."""

    __slots__ = ("root",)

    def __init__(self, root: Path | str = "/") -> None:
        self.root = Path(root)

    @property
    def live(self) -> bool:
        """True when probing this machine itself (root is ``/``)."""
        return self.root == Path("/")

    def path(self, rel: str) -> Path:
        """The absolute path of ``rel`` (a path like ``"/sys/block"`` or ``"sys/block"``)."""
        return self.root / rel.lstrip("/")

    def text(self, rel: str) -> str | None:
        """File contents with surrounding white space removed, or None when unreadable."""
        try:
            return self.path(rel).read_text(encoding="utf-8", errors="strict").strip()
        except (OSError, UnicodeDecodeError, ValueError):
            return None

    def raw(self, rel: str) -> str | None:
        """File contents as they are (no stripping), or None when unreadable."""
        try:
            return self.path(rel).read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None

    def int(self, rel: str, base: int = 10) -> int | None:
        """A file holding one integer (``base`` 0 accepts ``0x`` prefixes), or None."""
        value = self.text(rel)
        if value is None:
            return None
        try:
            return int(value.split()[0], base) if value else None
        except ValueError:
            return None

    def exists(self, rel: str) -> bool:
        """Whether the path exists (a dangling link counts as missing)."""
        return self.path(rel).exists()

    def listdir(self, rel: str) -> list[str]:
        """Sorted entry names of a folder; empty when it is missing or unreadable."""
        try:
            return sorted(os.listdir(self.path(rel)))
        except OSError:
            return []

    def resolve(self, rel: str) -> str | None:
        """Where ``rel`` points after following links, as a path inside the root.

        ``/sys/block/vda`` -> ``/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda``.
        Returns None when the path does not exist.
        """
        full = self.path(rel)
        if not full.exists():
            return None
        real = os.path.realpath(full)
        base = os.path.realpath(self.root)
        if base == os.sep:
            return real
        try:
            inside = os.path.relpath(real, base)
        except ValueError:  # pragma: no cover - other drive on Windows
            return None
        if inside.startswith(".."):
            return None
        return "/" + inside.replace(os.sep, "/")
