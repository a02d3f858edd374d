"""Catalog data packs: the catalog's TOML files as a versioned, checksummed ``.tar.gz``.

A pack holds ``manifest.json`` and the TOML files side by side. The manifest gives the pack
format (:data:`PACK_FORMAT`), the pack's version and date, and the SHA-256 of every file::

    {"format": 1, "version": "2026.12.01", "date": "2026-12-01",
     "files": {"gpus.toml": "3f0c...", ...}}

:func:`install_pack` checks everything (format, members, checksums, every file through the
loader) before anything is written, then unpacks into a new folder under the user's data folder
and switches the ``current.json`` pointer to it with one atomic rename. The loader uses an
installed pack when it is newer than the data shipped with rigready. The user's own catalog
folder (additions, price overrides) is elsewhere and never touched.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rigready.catalog.errors import CatalogError
from rigready.catalog.paths import data_dir
from rigready.catalog.userfiles import UserFileError, read_user_bytes

#: The manifest layout this rigready reads.
PACK_FORMAT = 1
MANIFEST = "manifest.json"
#: A pack larger than this is refused (the catalog is well under 1 MB).
MAX_PACK_BYTES = 16 * 2**20
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\.toml$")
#: The user tables a pack must not carry (they belong to the user's own folder).
_USER_TABLES = ("price_override",)


class PackError(ValueError):
    """A data pack that cannot be installed; the message says why, in one line."""


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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    _check_catalog(contents, str(source))
    manifest = {"format": PACK_FORMAT, "version": version, "date": pack_date.isoformat(),
                "files": {name: _sha256(data) for name, data in contents.items()}}
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


def read_source(source: str, timeout_s: float = 10.0) -> bytes:
    """The pack's bytes from a file path or an ``http(s)://`` URL.

    Raises:
        PackError: it cannot be read, or it is larger than :data:`MAX_PACK_BYTES`.
    """
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=timeout_s) as response:
                data: bytes = response.read(MAX_PACK_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise PackError(f"cannot download {source}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise PackError(f"cannot download {source}: {reason}") from None
    else:
        try:
            data = read_user_bytes(source, limit=MAX_PACK_BYTES)
        except UserFileError as exc:
            raise PackError(str(exc)) from None
    if len(data) > MAX_PACK_BYTES:
        raise PackError(f"{source}: larger than {MAX_PACK_BYTES // 2**20} MiB, not a catalog "
                        "pack")
    return data


def verify_pack(data: bytes, name: str = "pack") -> tuple[dict[str, object], dict[str, bytes]]:
    """Check a pack completely; returns its manifest and its files' contents.

    Raises:
        PackError: not a gzip tar, a wrong format version, a member that is not a plain TOML
            file, a file missing from or extra to the manifest, a checksum mismatch, or a file
            the catalog loader rejects.
    """
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    raise PackError(f"{name}: {member.name!r} is not a plain file")
                if member.name != MANIFEST and not _NAME_RE.match(member.name):
                    raise PackError(f"{name}: unexpected member {member.name!r} (only "
                                    "manifest.json and *.toml files at the top level)")
                if member.name in members:
                    raise PackError(f"{name}: {member.name!r} appears twice")
                handle = tar.extractfile(member)
                members[member.name] = handle.read() if handle else b""
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, PackError):
            raise
        raise PackError(f"{name}: not a readable .tar.gz catalog pack "
                        f"({type(exc).__name__}: {exc})") from None
    manifest = _manifest(members.pop(MANIFEST, None), name)
    listed = manifest["files"]
    assert isinstance(listed, dict)
    missing = sorted(set(listed) - set(members))
    extra = sorted(set(members) - set(listed))
    if missing:
        raise PackError(f"{name}: files listed in the manifest are missing: {', '.join(missing)}")
    if extra:
        raise PackError(f"{name}: files not in the manifest: {', '.join(extra)}")
    for file_name, digest in listed.items():
        if _sha256(members[file_name]) != digest:
            raise PackError(f"{name}: {file_name}: checksum mismatch (the file is damaged or "
                            "was changed after the pack was made)")
    _check_catalog(members, name)
    return manifest, members


def _manifest(raw: bytes | None, name: str) -> dict[str, object]:
    if raw is None:
        raise PackError(f"{name}: no manifest.json (not a catalog pack)")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PackError(f"{name}: manifest.json is not valid JSON") from None
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
            or not all(isinstance(k, str) and _NAME_RE.match(k) and isinstance(v, str)
                       and re.match(r"^[0-9a-f]{64}$", v) for k, v in files.items())):
        raise PackError(f"{name}: manifest files must map each NAME.toml to its sha256")
    return manifest


def _check_catalog(contents: Mapping[str, bytes], name: str) -> None:
    from rigready.catalog.loader import merge, parse_text

    parsed = []
    for file_name, data in sorted(contents.items()):
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


def install_pack(data: bytes, name: str = "pack", root: Path | None = None, *,
                 allow_older: bool = False) -> PackInfo:
    """Verify ``data`` and make it the installed pack; nothing changes unless all checks pass.

    Args:
        allow_older: Replace an installed pack dated later than this one (without it an older
            pack is refused: installing it deleted the newer data).

    Raises:
        PackError: the pack fails a check (see :func:`verify_pack`), or it is older than the
            installed one.
        OSError: the data folder cannot be written (the previous pack stays in force).
    """
    manifest, members = verify_pack(data, name)
    base = root if root is not None else packs_dir()
    current = installed_pack(base)
    new_date = date.fromisoformat(str(manifest["date"]))
    if current is not None and new_date < current.date and not allow_older:
        raise PackError(f"{name} is data pack {manifest['version']} of {new_date}, older than "
                        f"the installed {current.label}; nothing was changed (--allow-older "
                        "goes back to it)")
    base.mkdir(parents=True, exist_ok=True)
    version = str(manifest["version"])
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=base))
    try:
        for file_name, content in members.items():
            (staging / file_name).write_bytes(content)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        final = base / f"{version}-{_sha256(data)[:12]}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _write_pointer(base, final.name)
    _prune(base, keep=final.name)
    return PackInfo(version, date.fromisoformat(str(manifest["date"])), final,
                    tuple(sorted(members)))


def _write_pointer(base: Path, folder: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".current.", dir=base)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"folder": folder}, handle)
    os.replace(tmp, base / "current.json")


def _prune(base: Path, keep: str) -> None:
    """Remove older pack folders (best effort: a folder in use on Windows stays)."""
    for child in base.iterdir():
        if child.is_dir() and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def installed_pack(root: Path | None = None) -> PackInfo | None:
    """The installed pack, or None when there is none or it is unreadable (then the shipped
    data is used; ``rigready catalog check`` says why)."""
    base = root if root is not None else packs_dir()
    try:
        pointer = json.loads((base / "current.json").read_text(encoding="utf-8"))
        folder = base / str(pointer["folder"])
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = tuple(sorted(str(k) for k in manifest["files"]))
        if not all((folder / f).is_file() for f in files) or "/" in str(pointer["folder"]):
            return None
        return PackInfo(str(manifest["version"]), date.fromisoformat(str(manifest["date"])),
                        folder, files)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_pack(root: Path | None = None) -> bool:
    """Go back to the data shipped with rigready (False when no pack was installed)."""
    base = root if root is not None else packs_dir()
    pointer = base / "current.json"
    if not pointer.exists():
        return False
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
    print(f"wrote {args.out} (version {version}, {when.isoformat()})")
    return 0

