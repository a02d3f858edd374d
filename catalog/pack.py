"""Catalog data packs: the catalog's TOML files as a versioned, checksummed ``.tar.gz``.

A pack holds ``manifest.json`` and the TOML files side by side. The manifest gives the pack
format (:data:`PACK_FORMAT`), the pack's version and date, and the SHA-256 of every file::

    {"format": 1, "version": "2026.12.01", "date": "2026-12-01",
     "files": {"gpus.toml": "3f0c...", ...}}

:func:`opened_pack` reads a pack from a file or downloads it (streamed to a temporary file,
hashed as it goes, bounded in size and in time; with ``--sha256`` the whole pack is checked
before it is opened). :func:`install_pack` then reads the archive as a stream: the manifest
first, and every other member is checked against it from its header (listed, a plain file, not
sparse, within :data:`MAX_MEMBER_BYTES` and :data:`MAX_UNPACKED_BYTES`, at most
:data:`MAX_MEMBERS`) before a byte of it is decompressed; each is streamed to disk in a hidden
folder and its checksum compared, then every file goes through the loader. Only then is the
folder renamed into place and the ``current.json`` pointer switched to it with one atomic rename;
a failure leaves nothing behind. The decompressed stream itself is capped, so a gzip bomb or
tarfile's own header reads stop at the cap: memory stays in the tens of MiB whatever the pack.
The loader uses an installed pack when it is newer than the data shipped with rigready. The
user's own catalog folder (additions, price overrides) is elsewhere and never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from rigready.catalog.netfetch import NetError, TooLargeError, fetch_to
from rigready.catalog.pack_verify import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_PACK_BYTES,
    MAX_UNPACKED_BYTES,
    NAME_RE,
    PACK_FORMAT,
    PackError,
    as_file,
    check_catalog,
    sha256_hex,
    unpack_verified,
    verify_pack,
)
from rigready.catalog.paths import data_dir
from rigready.catalog.userfiles import UserFileError, read_user_bytes
from rigready.catalog.userjson import read_user_json

__all__ = [
    "MANIFEST",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_PACK_BYTES",
    "MAX_UNPACKED_BYTES",
    "PACK_DEADLINE_S",
    "PACK_FORMAT",
    "PackError",
    "PackInfo",
    "build_pack",
    "install_pack",
    "installed_pack",
    "opened_pack",
    "packs_dir",
    "remove_pack",
    "verify_pack",
]

POINTER = "current.json"
#: Longest a download of a pack may take in all (name lookup, connect, every byte).
PACK_DEADLINE_S = 60.0
_CHUNK = 64 * 1024
#: An installed pack's folder: ``<version>-<first 12 hex digits of the pack's sha256>``.
_FOLDER_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}-[0-9a-f]{12}$")

@dataclass(frozen=True, slots=True)
class PackInfo:
    """An installed or checked pack: version, date, where its files are, how many."""

    version: str
    date: date
    folder: Path
    files: tuple[str, ...]

    @property
    def label(self) -> str:
        """``2026.12.01 (2026-12-01)``."""
        return f"{self.version} ({self.date.isoformat()})"


def packs_dir() -> Path:
    """Where installed packs live (the user's data folder, not the settings folder)."""
    return data_dir() / "catalog-packs"


def build_pack(source: Path, out: Path, version: str, pack_date: date) -> Path:
    """Write ``source``'s TOML files as a pack at ``out``; returns ``out``.

    Raises:
        PackError: the folder has no TOML files or they do not load as a catalog.
        OSError: ``out`` cannot be written.
    """
    files = sorted(p for p in source.glob("*.toml") if p.is_file())
    if not files:
        raise PackError(f"{source}: no *.toml files to pack")
    contents = {p.name: p.read_bytes() for p in files}
    check_catalog(contents, str(source))
    manifest = {"format": PACK_FORMAT, "version": version, "date": pack_date.isoformat(),
                "files": {name: sha256_hex(data) for name, data in contents.items()}}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=1).encode()),
                           *contents.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(buffer.getvalue())
    return out


@contextlib.contextmanager
def opened_pack(source: str, *, sha256: str | None = None,
                seconds: float | None = None) -> Iterator[tuple[BinaryIO, str]]:
    """The pack at a file path or ``http(s)://`` URL as an open file, and its SHA-256.

    A download streams to a temporary file, hashed as it goes, within :data:`PACK_DEADLINE_S`
    in all and at most :data:`MAX_PACK_BYTES`; a local file must be a regular file within the
    same size. With ``sha256`` the pack must match it before it is opened as an archive.

    Raises:
        PackError: it cannot be read or downloaded (the message names the slow or failing
            server), it is too large, or it does not match ``sha256``.
    """
    if sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", sha256):
        raise PackError(f"--sha256 must be 64 hexadecimal digits, got {sha256[:80]!r}")
    digest = hashlib.sha256()
    with tempfile.TemporaryFile(prefix="rigready-pack-") as spool:
        def keep(chunk: bytes) -> None:
            digest.update(chunk)
            spool.write(chunk)

        if source.startswith(("http://", "https://")):
            try:
                fetch_to(source, keep, seconds=seconds or PACK_DEADLINE_S,
                         max_bytes=MAX_PACK_BYTES)
            except TooLargeError as exc:
                raise PackError(f"cannot download {source}: {exc} (a catalog pack is well "
                                "under 1 MiB)") from None
            except NetError as exc:
                raise PackError(f"cannot download {source}: {exc}") from None
        else:
            try:
                keep(read_user_bytes(source, limit=MAX_PACK_BYTES))
            except UserFileError as exc:
                raise PackError(f"{exc} (a catalog pack is a .tar.gz well under 1 MiB)"
                                if "too large" in str(exc) else str(exc)) from None
        if sha256 is not None and digest.hexdigest() != sha256.lower():
            raise PackError(f"{source}: SHA-256 {digest.hexdigest()} does not match the "
                            f"expected {sha256.lower()}; nothing was unpacked")
        spool.seek(0)
        yield spool, digest.hexdigest()


def install_pack(data: bytes | BinaryIO, name: str = "pack", root: Path | None = None, *,
                 allow_older: bool = False, digest: str | None = None) -> PackInfo:
    """Verify a pack and make it the installed pack; nothing changes unless all checks pass.

    The files are streamed into a hidden folder beside the installed packs while they are
    checked (see :func:`_unpack`), the folder is renamed into place and ``current.json`` is
    switched to it with one atomic rename; on any failure the hidden folder is removed and the
    previous pack stays in force.

    Args:
        data: the pack's bytes or an open file (see :func:`opened_pack`).
        allow_older: Replace an installed pack dated later than this one (without it an older
            pack is refused: installing it deleted the newer data).
        digest: the pack's SHA-256 when the caller has it (it names the folder).

    Raises:
        PackError: a member that is not a plain listed ``*.toml`` file within the size limits,
            a checksum mismatch, a missing file, a file the loader rejects, an older pack, or a
            packs folder in a state rigready did not leave it in.
        OSError: the data folder cannot be written (the previous pack stays in force).
    """
    pack = as_file(data)
    if digest is None:
        digest = _filesha256_hex(pack)
    base = root if root is not None else packs_dir()
    pointer = base / POINTER
    if os.path.lexists(pointer) and not (pointer.is_file() and not pointer.is_symlink()):
        raise PackError(f"{pointer} is not the pointer file rigready writes (a folder or a "
                        "link?); 'rigready catalog update --remove' clears the packs folder")
    current = installed_pack(base)

    def not_older(manifest: dict[str, object]) -> None:
        new_date = date.fromisoformat(str(manifest["date"]))
        if current is not None and new_date < current.date and not allow_older:
            raise PackError(f"{name} is data pack {manifest['version']} of {new_date}, older "
                            f"than the installed {current.label}; nothing was changed "
                            "(--allow-older goes back to it)")

    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=base))
    final: Path | None = None
    try:
        manifest = unpack_verified(pack, staging, name, not_older)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        final = base / f"{manifest['version']}-{digest[:12]}"
        if final.exists() and (current is None or current.folder != final):
            shutil.rmtree(final)  # a leftover of an interrupted install of this very pack
        if final.exists():  # the installed pack again: keep it, nothing to switch
            shutil.rmtree(staging)
        else:
            os.replace(staging, final)
        _write_pointer(base, final.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if final is not None and (current is None or current.folder != final):
            shutil.rmtree(final, ignore_errors=True)
        raise
    _prune(base, keep=final.name)
    files = manifest["files"]
    assert isinstance(files, dict)
    return PackInfo(str(manifest["version"]), date.fromisoformat(str(manifest["date"])), final,
                    tuple(sorted(files)))


def _filesha256_hex(pack: BinaryIO) -> str:
    digest = hashlib.sha256()
    start = pack.tell()
    while chunk := pack.read(_CHUNK):
        digest.update(chunk)
    pack.seek(start)
    return digest.hexdigest()


def _write_pointer(base: Path, folder: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".current.", dir=base)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"folder": folder}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, base / POINTER)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune(base: Path, keep: str) -> None:
    """Remove older pack folders and leftovers of interrupted installs (best effort: a folder
    in use on Windows stays)."""
    for child in base.iterdir():
        if child.name == keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(".current."):
            child.unlink(missing_ok=True)


def installed_pack(root: Path | None = None) -> PackInfo | None:
    """The installed pack, or None when there is none or it is unreadable (then the shipped
    data is used; ``rigready catalog check`` says why)."""
    base = root if root is not None else packs_dir()
    try:
        pointer = read_user_json(base / POINTER, limit=4096)
        name = pointer["folder"] if isinstance(pointer, dict) else None
        if not isinstance(name, str) or not _FOLDER_RE.match(name):
            return None
        folder = base / name
        manifest = read_user_json(folder / MANIFEST, limit=MAX_MANIFEST_BYTES)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            return None
        files = tuple(sorted(str(k) for k in manifest["files"]))
        if not all(NAME_RE.match(f) and (folder / f).is_file() for f in files):
            return None
        return PackInfo(str(manifest["version"]), date.fromisoformat(str(manifest["date"])),
                        folder, files)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_pack(root: Path | None = None) -> bool:
    """Go back to the data shipped with rigready (False when no pack was installed).

    Whatever is in the packs folder goes: the pointer (even a folder or a link someone left in
    its place), every pack folder and the leftovers of interrupted installs.
    """
    base = root if root is not None else packs_dir()
    pointer = base / POINTER
    if not os.path.lexists(pointer):
        return False
    if pointer.is_dir() and not pointer.is_symlink():
        shutil.rmtree(pointer)
    else:
        pointer.unlink()
    _prune(base, keep="")
    return True


def main(argv: list[str] | None = None) -> int:
    """``packaging/build_catalog_pack.py OUT [--version V] [--date YYYY-MM-DD]``: build a pack
    from the shipped data (``make catalog-pack``)."""
    import argparse
    import sys

    from rigready.catalog.loader import BUILTIN_DATA_DIR, shipped_date

    parser = argparse.ArgumentParser(prog="build_catalog_pack.py",
                                     description="Build a catalog data pack from catalog/data.")
    parser.add_argument("out", type=Path, help="the .tar.gz to write")
    parser.add_argument("--source", type=Path, default=BUILTIN_DATA_DIR)
    parser.add_argument("--version", help="pack version (default: the data's date, 2026.12.01)")
    parser.add_argument("--date", help="pack date (default: the newest [meta] updated)")
    args = parser.parse_args(argv)
    try:
        when = date.fromisoformat(args.date) if args.date else shipped_date(args.source)
        version = args.version or when.strftime("%Y.%m.%d")
        build_pack(args.source, args.out, version, when)
    except (PackError, ValueError, OSError) as exc:
        print(f"build_catalog_pack.py: error: {exc}", file=sys.stderr)
        return 2
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} (version {version}, {when.isoformat()})")
    print(f"sha256 {digest} (publish it: 'rigready catalog update URL --sha256 {digest}' checks "
          "the download before unpacking anything)")
    return 0

