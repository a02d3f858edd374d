"""Verifying a catalog data pack while it is streamed to disk (used by :mod:`.pack`).

The archive is read as a stream through a decompressed-size cap (:class:`_Capped`), so neither a
gzip bomb nor tarfile's own header reads (a pax header or a long name that announces gigabytes)
can take more than the cap. The manifest must come first; every other member is then checked
from its header alone (listed in the manifest, a plain file, not sparse, within the per-file and
total limits, not too many members) before any of its data is decompressed, streamed to a file
in chunks while it is hashed, and compared with its checksum before the next member is read.
Finally every file goes through the catalog loader together.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import IO, Any, BinaryIO

from rigready.catalog.errors import CatalogError
from rigready.catalog.userfiles import UserFileError, read_user_bytes
from rigready.catalog.userjson import parse_json_bytes

#: The manifest layout this rigready reads.
PACK_FORMAT = 1
MANIFEST = "manifest.json"
#: A pack larger than this is refused (the catalog is well under 1 MB).
MAX_PACK_BYTES = 16 * 2**20
#: Largest file a pack may unpack to (the largest shipped file, gpus.toml, is about 84 KiB;
#: parsing 1 MiB of TOML made of tiny tables takes about 60 MiB of memory, 4 MiB took 220).
MAX_MEMBER_BYTES = 2**20
#: Largest total a pack may unpack to (the shipped catalog is about 250 KiB).
MAX_UNPACKED_BYTES = 4 * 2**20
MAX_MANIFEST_BYTES = 256 * 1024
#: Most members a pack may have (the shipped catalog has ten files and the manifest).
MAX_MEMBERS = 64
_CHUNK = 64 * 1024
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.toml$")
#: The user tables a pack must not carry (they belong to the user's own folder).
_USER_TABLES = ("price_override",)


class PackError(ValueError):
    """A data pack that cannot be installed; the message says why, in one line."""


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hexadecimal (what the manifest lists)."""
    return hashlib.sha256(data).hexdigest()


class _Capped(io.RawIOBase):
    """The decompressed stream, cut off at ``cap`` bytes: tarfile's own header reads (a pax
    header or a long name announcing gigabytes) and a gzip bomb stop at the cap."""

    def __init__(self, inner: BinaryIO, cap: int, name: str) -> None:
        super().__init__()
        self._inner = inner
        self._left = cap
        self._cap = cap
        self._name = name

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        want = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = self._inner.read(want)
        self._left -= len(data)
        if self._left < 0:
            raise PackError(f"{self._name}: unpacks to more than {self._cap // 2**20} MiB (a "
                            "catalog pack is well under 1 MiB); refused")
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _refuse_member(member: tarfile.TarInfo, name: str, listed: Mapping[str, str] | None,
                   seen: set[str], unpacked: int) -> None:
    """Every check that can be made from the member's header, before its data is read."""
    if member.issparse():
        raise PackError(f"{name}: {member.name!r} is a sparse file; a catalog pack holds only "
                        "plain files")
    if not member.isreg():
        kind = ("a link" if member.issym() or member.islnk() else "a folder" if member.isdir()
                else "a device or pipe" if member.isdev() else "not a plain file")
        raise PackError(f"{name}: {member.name!r} is {kind}; a catalog pack holds only plain "
                        "files")
    if listed is None:
        if member.name != MANIFEST:
            raise PackError(f"{name}: manifest.json must come first (packs from 'make "
                            f"catalog-pack' have it first), found {member.name!r}")
        if member.size > MAX_MANIFEST_BYTES:
            raise PackError(f"{name}: manifest.json is {member.size:,} bytes, more than "
                            f"{MAX_MANIFEST_BYTES:,}")
        return
    if not NAME_RE.match(member.name):
        raise PackError(f"{name}: unexpected member {member.name!r} (only manifest.json and "
                        "*.toml files at the top level)")
    if member.name in seen or member.name == MANIFEST:
        raise PackError(f"{name}: {member.name!r} appears twice")
    if member.name not in listed:
        raise PackError(f"{name}: files not in the manifest: {member.name}")
    if member.size > MAX_MEMBER_BYTES:
        raise PackError(f"{name}: {member.name} unpacks to {member.size:,} bytes, more than "
                        f"the {MAX_MEMBER_BYTES // 2**20} MiB a catalog file in a pack may "
                        "have; refused before unpacking it")
    if unpacked + member.size > MAX_UNPACKED_BYTES:
        raise PackError(f"{name}: unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB "
                        "(a catalog pack is well under 1 MiB); refused")


def _copy_member(handle: IO[bytes], target: Path, size: int) -> str:
    """Stream one member to ``target`` (a new file), chunk by chunk; its sha256."""
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o644)
    with os.fdopen(fd, "wb") as out:
        left = size
        while left > 0:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                raise EOFError("member cut short")
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def unpack_verified(pack: BinaryIO, staging: Path, name: str,
            on_manifest: Callable[[dict[str, object]], None] = lambda _m: None,
            ) -> dict[str, object]:
    """Verify ``pack`` while streaming its files into ``staging``; returns the manifest.

    The manifest comes first; every other member is checked against it (listed, a plain file,
    within the size limits) from its header before a byte of it is decompressed, then streamed
    to disk and its checksum compared before the next one is read. ``on_manifest`` runs as soon
    as the manifest is read (the installed-version check), before any other member.
    """
    manifest: dict[str, object] | None = None
    listed: dict[str, str] | None = None
    seen: set[str] = set()
    unpacked = 0
    try:
        stream = _Capped(gzip.GzipFile(fileobj=pack, mode="rb"),  # type: ignore[arg-type]
                         MAX_UNPACKED_BYTES + MAX_MANIFEST_BYTES + 2**20, name)
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for count, member in enumerate(tar, start=1):
                if count > MAX_MEMBERS:
                    raise PackError(f"{name}: more than {MAX_MEMBERS} members (a catalog pack "
                                    "has about a dozen); refused")
                _refuse_member(member, name, listed, seen, unpacked)
                handle = tar.extractfile(member)
                if handle is None:  # pragma: no cover - isreg() members always have one
                    raise PackError(f"{name}: {member.name!r} cannot be read")
                if listed is None:
                    manifest = _manifest(handle.read(MAX_MANIFEST_BYTES + 1), name)
                    listed = manifest["files"]  # type: ignore[assignment]
                    on_manifest(manifest)
                    continue
                seen.add(member.name)
                unpacked += member.size
                if _copy_member(handle, staging / member.name, member.size) != listed[
                        member.name]:
                    raise PackError(f"{name}: {member.name}: checksum mismatch (the file is "
                                    "damaged or was changed after the pack was made)")
    except PackError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise PackError(f"{name}: not a readable .tar.gz catalog pack "
                        f"({type(exc).__name__}: {exc})") from None
    if manifest is None or listed is None:
        raise PackError(f"{name}: no manifest.json (not a catalog pack)")
    missing = sorted(set(listed) - seen)
    if missing:
        raise PackError(f"{name}: files listed in the manifest are missing: {', '.join(missing)}")
    check_catalog({f: staging / f for f in sorted(seen)}, name)
    return manifest


def verify_pack(pack: bytes | BinaryIO, name: str = "pack") -> tuple[dict[str, object],
                                                                    tuple[str, ...]]:
    """Check a pack completely without installing it; its manifest and file names.

    Raises:
        PackError: see :func:`install_pack`.
    """
    with tempfile.TemporaryDirectory(prefix="rigready-pack-") as scratch:
        manifest = unpack_verified(as_file(pack), Path(scratch), name)
    files = manifest["files"]
    assert isinstance(files, dict)
    return manifest, tuple(sorted(files))


def as_file(pack: bytes | BinaryIO) -> BinaryIO:
    """A pack given as bytes, as a file."""
    return io.BytesIO(pack) if isinstance(pack, bytes | bytearray) else pack


def _manifest(raw: bytes, name: str) -> dict[str, object]:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise PackError(f"{name}: manifest.json is larger than {MAX_MANIFEST_BYTES:,} bytes")
    try:
        manifest = parse_json_bytes(raw, "manifest.json")
    except UserFileError as exc:
        raise PackError(f"{name}: {exc}") from None
    if not isinstance(manifest, dict):
        raise PackError(f"{name}: manifest.json must be an object")
    if manifest.get("format") != PACK_FORMAT:
        raise PackError(f"{name}: pack format {manifest.get('format')!r}; this rigready reads "
                        f"format {PACK_FORMAT} (update rigready, or use a matching pack)")
    version = manifest.get("version")
    if not isinstance(version, str) or not re.match(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$",
                                                     version):
        raise PackError(f"{name}: manifest version must be a short string such as 2026.12.01")
    try:
        date.fromisoformat(str(manifest.get("date")))
    except ValueError:
        raise PackError(f"{name}: manifest date must be YYYY-MM-DD") from None
    files = manifest.get("files")
    if (not isinstance(files, dict) or not files
            or not all(isinstance(k, str) and NAME_RE.match(k) and isinstance(v, str)
                       and re.match(r"^[0-9a-f]{64}$", v) for k, v in files.items())):
        raise PackError(f"{name}: manifest files must map each NAME.toml to its sha256")
    if len(files) >= MAX_MEMBERS:
        raise PackError(f"{name}: the manifest lists {len(files):,} files, more than "
                        f"{MAX_MEMBERS - 1} (a catalog pack has about a dozen); refused")
    return manifest


def check_catalog(contents: Mapping[str, bytes | Path], name: str) -> None:
    """Every file (its bytes, or a file of at most :data:`MAX_MEMBER_BYTES`) through the loader,
    together, as a replacement of the whole built-in catalog.

    Raises:
        PackError: a file the loader rejects, overrides in a pack, or no ``[[gpu]]`` entries.
    """
    from rigready.catalog.loader import merge, parse_text

    parsed = []
    for file_name, source in sorted(contents.items()):
        try:
            data = source if isinstance(source, bytes) else read_user_bytes(
                source, limit=MAX_MEMBER_BYTES)
        except UserFileError as exc:
            raise PackError(f"{name}: {exc}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise PackError(f"{name}: {file_name}: not UTF-8 text") from None
        try:
            one = parse_text(text, file_name)
        except CatalogError as exc:
            raise PackError(f"{name}: {exc}") from None
        if any(t in one.entries for t in _USER_TABLES):
            raise PackError(f"{name}: {file_name}: a pack must not carry [[price_override]] "
                            "(your prices stay in your own catalog folder)")
        parsed.append(one)
    try:
        merge(parsed)
    except CatalogError as exc:
        raise PackError(f"{name}: {exc}") from None
    kinds = {t for p in parsed for t in p.entries}
    if "gpu" not in kinds:
        raise PackError(f"{name}: has no [[gpu]] entries; a pack replaces the whole built-in "
                        "catalog, so it must carry every file")
