"""Hostile catalog data packs, built at test time (never committed: some would hurt a machine
that unpacked them naively).

Each builder writes a ``.tar.gz`` whose ``manifest.json`` comes first and is valid, so a pack
reader gets past the manifest and meets the hostile member: a gzip bomb (a member of zeros far
larger than any catalog), a GNU sparse member whose declared size is enormous while the archive
is a few KB, thousands of members, links, devices, a deeply nested manifest, a wrong checksum.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from pathlib import Path

#: A small valid-looking TOML member (the bomb's neighbour).
TOML = b"[meta]\nupdated = 2099-01-01\n"


def manifest(files: dict[str, str], version: str = "2099.01.01") -> bytes:
    """A format-1 manifest listing ``files`` (name -> sha256)."""
    return json.dumps({"format": 1, "version": version, "date": "2099-01-01",
                       "files": files}).encode()


def _info(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    info.mode = 0o644
    return info


def _write(out: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    out.write_bytes(buffer.getvalue())
    return out


def gzip_bomb(out: Path, uncompressed_mib: int = 64, *, right_checksum: bool = True) -> Path:
    """A pack whose ``gpus.toml`` is ``uncompressed_mib`` MiB of zeros (about 1,000:1).

    The tar stream is produced chunk by chunk into the gzip compressor, so building a 2 GiB
    bomb needs a few MB of memory and a few seconds of CPU.
    """
    size = uncompressed_mib * 2**20
    zeros = b"\0" * 2**20
    digest = hashlib.sha256()
    for _ in range(uncompressed_mib):
        digest.update(zeros)
    listed = digest.hexdigest() if right_checksum else "0" * 64
    head = io.BytesIO()
    body = manifest({"gpus.toml": listed})
    info = _info("manifest.json", len(body))
    head.write(info.tobuf(tarfile.GNU_FORMAT))
    head.write(body + b"\0" * (-len(body) % 512))
    head.write(_info("gpus.toml", size).tobuf(tarfile.GNU_FORMAT))
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9) as gz:
        gz.write(head.getvalue())
        for _ in range(uncompressed_mib):
            gz.write(zeros)
        gz.write(b"\0" * 1024)  # end-of-archive blocks
    return out


def _octal(value: int) -> bytes:
    """A 12-byte tar number field (11 octal digits and a NUL)."""
    return f"{value:011o}".encode() + b"\0"


def sparse_bomb(out: Path, declared_gib: int = 16) -> Path:
    """A pack whose ``gpus.toml`` is an old-GNU sparse member: 512 stored bytes, a declared
    real size of ``declared_gib`` GiB (holes). The archive is a few KB."""
    body = manifest({"gpus.toml": "0" * 64})
    header = bytearray(_info("gpus.toml", 512).tobuf(tarfile.GNU_FORMAT))
    header[156:157] = tarfile.GNUTYPE_SPARSE
    header[386:398] = _octal(0)      # sparse[0].offset
    header[398:410] = _octal(512)    # sparse[0].numbytes
    header[482:483] = b"\0"                                        # no extension headers
    header[483:495] = _octal(declared_gib * 2**30)  # realsize
    header[148:156] = b"        "
    checksum = sum(header[:512])
    header[148:156] = f"{checksum:06o}\0 ".encode()
    manifest_info = _info("manifest.json", len(body)).tobuf(tarfile.GNU_FORMAT)
    raw = (manifest_info + body + b"\0" * (-len(body) % 512) + bytes(header)
           + TOML.ljust(512, b"\0") + b"\0" * 1024)
    out.write_bytes(gzip.compress(raw, 9))
    return out


def pax_bomb(out: Path, header_mib: int = 64) -> Path:
    """A pack whose second member carries a pax extended header of ``header_mib`` MiB (tarfile
    reads a pax header whole, before any member check can run)."""
    body = manifest({"gpus.toml": hashlib.sha256(TOML).hexdigest()})
    size = header_mib * 2**20
    pax = _info("././@PaxHeader", size, tarfile.XHDTYPE).tobuf(tarfile.GNU_FORMAT)
    raw = io.BytesIO()
    raw.write(_info("manifest.json", len(body)).tobuf(tarfile.GNU_FORMAT))
    raw.write(body + b"\0" * (-len(body) % 512))
    raw.write(pax)
    with out.open("wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=9) as gz:
        gz.write(raw.getvalue())
        record = b"9 a=123\n" + b"\0" * (2**20 - 8)
        for _ in range(header_mib):
            gz.write(record)
        gz.write(_info("gpus.toml", len(TOML)).tobuf(tarfile.GNU_FORMAT))
        gz.write(TOML.ljust(512, b"\0") + b"\0" * 1024)
    return out


def over_total(out: Path, members: int = 5, member_mib: float = 0.9) -> Path:
    """A pack of ``members`` files each within the per-file limit, together over the total."""
    data = b"# filler\n" * int(member_mib * 2**20 / 10)
    digest = hashlib.sha256(data).hexdigest()
    names = [f"part{i}.toml" for i in range(members)]
    body = manifest(dict.fromkeys(names, digest))
    return _write(out, [(_info("manifest.json", len(body)), body),
                        *((_info(n, len(data)), data) for n in names)])


def manifest_not_first(out: Path) -> Path:
    """A pack whose manifest comes after the file it lists."""
    body = manifest({"gpus.toml": hashlib.sha256(TOML).hexdigest()})
    return _write(out, [(_info("gpus.toml", len(TOML)), TOML),
                        (_info("manifest.json", len(body)), body)])


def many_members(out: Path, count: int = 20_000) -> Path:
    """A pack with ``count`` tiny members listed in its manifest."""
    names = [f"f{i:06d}.toml" for i in range(count)]
    digest = hashlib.sha256(TOML).hexdigest()
    body = manifest({n: digest for n in names})
    members: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_info("manifest.json", len(body)), body)]
    members += [(_info(n, len(TOML)), TOML) for n in names]
    return _write(out, members)


def special_member(out: Path, kind: str) -> Path:
    """A pack whose ``gpus.toml`` is a symlink, a hard link, a device, a FIFO or a folder."""
    body = manifest({"gpus.toml": hashlib.sha256(TOML).hexdigest()})
    info = _info("gpus.toml", 0)
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "manifest.json"
    elif kind == "chardev":
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 5
    elif kind == "blockdev":
        info.type, info.devmajor, info.devminor = tarfile.BLKTYPE, 8, 0
    elif kind == "fifo":
        info.type = tarfile.FIFOTYPE
    elif kind == "dir":
        info.type = tarfile.DIRTYPE
    else:  # pragma: no cover - a test's typo
        raise ValueError(kind)
    manifest_info = _info("manifest.json", len(body))
    return _write(out, [(manifest_info, body), (info, None)])


def nested_manifest(out: Path, depth: int = 100_000) -> Path:
    """A pack whose manifest.json is ``depth`` nested arrays."""
    body = b"[" * depth + b"]" * depth
    return _write(out, [(_info("manifest.json", len(body)), body),
                        (_info("gpus.toml", len(TOML)), TOML)])


def wrong_checksum(out: Path) -> Path:
    """A well-formed pack whose one file does not match its manifest checksum."""
    body = manifest({"gpus.toml": "f" * 64})
    return _write(out, [(_info("manifest.json", len(body)), body),
                        (_info("gpus.toml", len(TOML)), TOML)])


def deflate_ratio(path: Path) -> float:
    """Uncompressed / compressed size of a gzip file (streamed, for reports)."""
    stream = zlib.decompressobj(wbits=31)
    total = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            total += len(stream.decompress(chunk, 1 << 20))
            while stream.unconsumed_tail:
                total += len(stream.decompress(stream.unconsumed_tail, 1 << 20))
    return total / max(1, path.stat().st_size)
