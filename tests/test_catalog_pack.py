"""Catalog data packs: build, verify, install atomically, prefer a newer pack, refuse bad ones."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from rigready.catalog import BUILTIN_DATA_DIR, load_catalog
from rigready.catalog.loader import shipped_date
from rigready.catalog.overrides import overrides_path, set_price
from rigready.catalog.pack import PackError, build_pack, install_pack, installed_pack, packs_dir
from rigready.desktop.cli import main

FUTURE = date(2099, 1, 1)


def _newer_data(tmp_path: Path) -> Path:
    """A copy of the shipped data with a newer date and one GPU price changed."""
    folder = tmp_path / "data"
    folder.mkdir()
    for path in BUILTIN_DATA_DIR.glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "prices.toml":
            text = text.replace("updated = 2026-12-01", "updated = 2099-01-01")
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return build_pack(_newer_data(tmp_path), tmp_path / "pack.tar.gz", "2099.01.01", FUTURE)


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore[union-attr]


def _repack(members: dict[str, bytes], out: Path) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())
    return out


def test_build_writes_a_manifest_of_checksums(pack: Path) -> None:
    members = _members(pack)
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["format"] == 1 and manifest["version"] == "2099.01.01"
    assert manifest["date"] == "2099-01-01"
    assert set(manifest["files"]) == set(members) == {p.name for p in
                                                      BUILTIN_DATA_DIR.glob("*.toml")}
    for name, data in members.items():
        assert manifest["files"][name] == hashlib.sha256(data).hexdigest()


def test_install_and_loader_prefers_the_newer_pack(pack: Path, rigready_home: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    set_price("rtx-3060-12gb", 150.0, today=date(2026, 12, 1))
    before = overrides_path().read_bytes()
    assert main(["catalog", "update", str(pack)]) == 0
    out = capsys.readouterr().out
    assert "Installed data pack 2099.01.01 (2099-01-01)" in out and "(in use)" in out
    info = installed_pack()
    assert info is not None and info.folder.parent == packs_dir()
    cat = load_catalog()
    assert cat.pack == "2099.01.01 (2099-01-01)"
    assert cat.updated == FUTURE
    assert all(f.startswith(str(info.folder)) for f in cat.files if "price-overrides" not in f)
    # the user's prices are untouched and still applied
    assert overrides_path().read_bytes() == before
    assert cat.gpu("rtx-3060-12gb").price_kind == "yours"
    assert main(["catalog", "check"]) == 0
    assert "data pack 2099.01.01 (2099-01-01) in use" in capsys.readouterr().out
    assert main(["catalog", "update", "--remove"]) == 0
    assert load_catalog().pack == ""


def test_an_older_pack_is_installed_but_not_used(tmp_path: Path, rigready_home: Path) -> None:
    old = build_pack(BUILTIN_DATA_DIR, tmp_path / "old.tar.gz", "2000.01.01", date(2000, 1, 1))
    install_pack(old.read_bytes(), "old")
    assert installed_pack() is not None
    assert load_catalog().pack == ""
    assert shipped_date() > date(2000, 1, 1)


def test_an_older_pack_does_not_replace_a_newer_one(pack: Path, tmp_path: Path,
                                                    rigready_home: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Installing 2000.01.01 over 2099.01.01 exited 0 and deleted the newer pack's data."""
    assert main(["catalog", "update", str(pack)]) == 0
    before = sorted(p.relative_to(packs_dir()) for p in packs_dir().rglob("*"))
    old = build_pack(BUILTIN_DATA_DIR, tmp_path / "old.tar.gz", "2000.01.01", date(2000, 1, 1))
    capsys.readouterr()
    assert main(["catalog", "update", str(old)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "older than the installed 2099.01.01" in err[0], err
    assert sorted(p.relative_to(packs_dir()) for p in packs_dir().rglob("*")) == before
    assert main(["catalog", "update", str(old), "--allow-older"]) == 0
    assert installed_pack().version == "2000.01.01"  # type: ignore[union-attr]


def _bad_packs(pack: Path, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    members = _members(pack)
    manifest = json.loads(members["manifest.json"])
    changed = dict(members)
    changed["gpus.toml"] = members["gpus.toml"].replace(b"vram_gib = 12.0", b"vram_gib = 24.0", 1)
    wrong_version = dict(members)
    wrong_version["manifest.json"] = json.dumps({**manifest, "format": 2}).encode()
    extra = dict(members)
    extra["evil.toml"] = b"[meta]\n"
    missing = {k: v for k, v in members.items() if k != "tiers.toml"}
    invalid = dict(members)
    invalid["psus.toml"] = members["psus.toml"].replace(b"watts = 550.0", b"watts = -1.0", 1)
    invalid_manifest = dict(invalid)
    invalid_manifest["manifest.json"] = json.dumps({**manifest, "files": {
        **manifest["files"], "psus.toml": hashlib.sha256(invalid["psus.toml"]).hexdigest()}}
    ).encode()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(pack.read_bytes()[: len(pack.read_bytes()) // 2])
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tarball at all" * 10)
    return {
        "checksum": (_repack(changed, tmp_path / "changed.tar.gz"), "checksum mismatch"),
        "version": (_repack(wrong_version, tmp_path / "v2.tar.gz"), "pack format 2"),
        "extra": (_repack(extra, tmp_path / "extra.tar.gz"), "not in the manifest"),
        "missing": (_repack(missing, tmp_path / "missing.tar.gz"), "missing: tiers.toml"),
        "schema": (_repack(invalid_manifest, tmp_path / "schema.tar.gz"), "must be above zero"),
        "truncated": (truncated, "not a readable .tar.gz"),
        "corrupt": (garbage, "not a readable .tar.gz"),
    }


@pytest.mark.parametrize("case", ["checksum", "version", "extra", "missing", "schema",
                                  "truncated", "corrupt"])
def test_bad_packs_are_refused_and_nothing_is_installed(
        case: str, pack: Path, tmp_path: Path, rigready_home: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    good = build_pack(BUILTIN_DATA_DIR, tmp_path / "good.tar.gz", "2000.01.01", date(2000, 1, 1))
    install_pack(good.read_bytes(), "good")
    before = sorted(p.relative_to(packs_dir()) for p in packs_dir().rglob("*"))
    path, needle = _bad_packs(pack, tmp_path)[case]
    assert main(["catalog", "update", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rigready: error:") and needle in err[0], err
    assert sorted(p.relative_to(packs_dir()) for p in packs_dir().rglob("*")) == before
    assert installed_pack() is not None and installed_pack().version == "2000.01.01"  # type: ignore[union-attr]
    with pytest.raises(PackError):
        install_pack(path.read_bytes(), case)


@pytest.fixture
def server(pack: Path) -> Iterator[str]:
    body = pack.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/rigready-catalog.tar.gz":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_update_from_a_url(server: str, rigready_home: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "update", f"{server}/rigready-catalog.tar.gz"]) == 0
    assert "2099.01.01" in capsys.readouterr().out
    assert load_catalog().pack.startswith("2099.01.01")
    assert main(["catalog", "update", f"{server}/missing.tar.gz"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot download" in err[0] and "404" in err[0]
