"""More hostile-input families for ``hostile_inputs.py`` (issue 24): data-pack bombs and junk,
Hub-shaped ids the Hub's client refuses, files the app keeps for itself replaced by FIFOs,
folders, symlinks or nested junk, impossible paths, and configs no model has.

Each case is ``(family, argv, setup)``: ``setup`` (or None) runs just before the command, for
cases that need a fresh rigready home with one hostile file planted in it. Every bomb is built
at run time; nothing here touches the network (the Hub endpoint is a closed local port).
"""

from __future__ import annotations

import json
import os
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.fault import pack_bombs
from tests.fault.hostile_files import KINDS, make

Case = tuple[str, list[str], Callable[[], None] | None]
ROOT = Path(__file__).resolve().parent.parent
PROFILE = ROOT / "tests" / "data" / "rigs" / "profiles" / "rtx4090-desktop.json"


def _packs(folder: Path) -> Iterator[Case]:
    packs = folder / "packs"
    packs.mkdir(exist_ok=True)
    built = [
        pack_bombs.gzip_bomb(packs / "gzip.tar.gz", 64),
        pack_bombs.gzip_bomb(packs / "gzip-bad.tar.gz", 64, right_checksum=False),
        pack_bombs.sparse_bomb(packs / "sparse.tar.gz"),
        pack_bombs.pax_bomb(packs / "pax.tar.gz", 64),
        pack_bombs.nested_manifest(packs / "nested.tar.gz"),
        pack_bombs.many_members(packs / "many.tar.gz", 2000),
        pack_bombs.wrong_checksum(packs / "checksum.tar.gz"),
        pack_bombs.manifest_not_first(packs / "order.tar.gz"),
        pack_bombs.over_total(packs / "total.tar.gz"),
        *(pack_bombs.special_member(packs / f"{k}.tar.gz", k)
          for k in ("symlink", "hardlink", "chardev", "blockdev", "fifo", "dir")),
    ]
    junk = packs / "junk.tar.gz"
    junk.write_bytes(os.urandom(4096))
    empty = packs / "empty.tar.gz"
    empty.write_bytes(b"")
    fifo = packs / "pipe.tar.gz"
    if not fifo.exists():
        os.mkfifo(fifo)
    odd = [junk, empty, fifo, packs, Path("/dev/zero"), Path("/dev/urandom"),
           packs / ("x" * 300), Path("/etc/hostname/x.tar.gz"), packs / "missing.tar.gz"]
    for path in [*built, *odd]:
        yield "packs", ["catalog", "update", str(path)], None
    for path in built[:4]:
        yield "packs", ["catalog", "update", str(path), "--sha256", "0" * 64], None
    for sha in ("", "xyz", "0" * 63, "g" * 64, "0" * 65):
        yield "packs", ["catalog", "update", str(built[0]), "--sha256", sha], None
    for url in ("http://127.0.0.1:9/p.tar.gz", "https://127.0.0.1:9/p.tar.gz", "http://[::1",
                "http://127.0.0.1:99999/p", "ftp://127.0.0.1/p.tar.gz"):
        yield "packs", ["catalog", "update", url], None
    for path in [fifo, Path("/dev/zero"), Path("/dev/null"), packs, packs / ("y" * 300),
                 Path("/etc/hostname/x"), Path("/proc/self/status"), built[0]]:
        yield "catalog check", ["catalog", "check", str(path)], None


def _bad_hub_ids(count: int) -> list[str]:
    rng = random.Random(24)
    fixed = ["a..b/c", "a--b/c", "ab/c.", "a/b-", "-a/b", ".a/b", "a/b.git", "a/" + "b" * 97,
             "a" * 97 + "/b", "a/b c", "a/é", "a/", "/b", "a//b", "a/b/c/d", "a/.", "../..",
             "a/b\n", "a/b\x00", "a/b" + "\u200b"]
    ids = list(fixed)
    alphabet = string.ascii_lowercase[:4] + "._-"
    while len(ids) < count:
        part = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        other = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5)))
        text = f"{part}/{other}"
        if ".." in text or "--" in text or text[0] in ".-" or text[-1] in ".-":
            ids.append(text)
    return ids[:count]


def _hub_ids(quick: bool) -> Iterator[Case]:
    for text in _bad_hub_ids(60 if quick else 200):
        yield "hub ids", ["estimate", text, "--gpu", "rtx-4090"], None
        yield "hub ids", ["plan", text, "--profile", str(PROFILE)], None


def _planted(home: Path, role: str, kind: str) -> Callable[[], None]:
    def setup() -> None:
        os.environ["RIGREADY_HOME"] = str(home)
        from rigready.catalog.paths import (
            cache_dir,
            config_dir,
            data_dir,
            log_dir,
            user_catalog_dir,
        )

        if role == "vast-offers.json":
            config_dir().mkdir(parents=True, exist_ok=True)
            (config_dir() / "prices.json").write_text('{"live_cloud_offers": true}')
        path = {"prices.json": config_dir() / "prices.json",
                "vast-offers.json": cache_dir() / "vast-offers.json",
                "rigready.log": log_dir() / "rigready.log",
                "current.json": data_dir() / "catalog-packs" / "current.json",
                "user catalog": user_catalog_dir() / "extra.toml",
                "price overrides": user_catalog_dir() / "price-overrides.toml"}[role]
        make(path, kind, toml=role in ("user catalog", "price overrides"))

    return setup


APP_FILE_COMMANDS = {
    "prices.json": [["plan", "llama-3.2-1b", "--profile", str(PROFILE)], ["catalog", "online"]],
    "vast-offers.json": [["plan", "llama-3.2-1b", "--profile", str(PROFILE), "--online"]],
    "rigready.log": [["catalog", "list", "tiers"], ["detect", "--profile", str(PROFILE)]],
    "current.json": [["catalog", "update"], ["catalog", "check"]],
    "user catalog": [["catalog", "check"], ["catalog", "price", "list"]],
    "price overrides": [["catalog", "price", "list"], ["estimate", "7B"]],
}


def _app_files(folder: Path) -> Iterator[Case]:
    n = 0
    for role, commands in APP_FILE_COMMANDS.items():
        for kind in KINDS:
            for argv in commands:
                n += 1
                yield ("app files", argv,
                       _planted(folder / "home" / f"planted-{n}", role, kind))


def _paths(folder: Path) -> Iterator[Case]:
    long = str(folder / ("x" * 300))
    for bad in (long, "/etc/hostname/x", str(folder / "loop")):
        for argv in (["history", "--db", f"{bad}.db"], ["catalog", "check", f"{bad}.toml"],
                     ["bench", "storage", "--path", bad], ["estimate", f"{bad}.json"],
                     ["score", "--profile", f"{bad}.json"],
                     ["plan", "7B", "--profile", str(PROFILE), "--facts", f"{bad}.json"],
                     ["plan", "7B", "--profile", str(PROFILE), "--markdown", f"{bad}.md"],
                     ["detect", "--profile", str(PROFILE), "--save", f"{bad}/p.json"],
                     ["catalog", "update", f"{bad}.tar.gz"]):
            yield "paths", argv, None
    loop = folder / "loop"
    if not loop.is_symlink():
        loop.symlink_to(loop)


def _head_configs(folder: Path) -> Iterator[Case]:
    base = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 32, "vocab_size": 32000, "intermediate_size": 11008}
    variations: list[dict[str, object]] = [
        {"num_key_value_heads": kv} for kv in (0, 3, 5, 7, 33, 40, 64, 10**6)]
    variations += [{"hidden_size": h} for h in (1, 31, 4095, 4100, 10**6, 10**9)]
    variations += [{"head_dim": d} for d in (0, 1, 7, 10**6)]
    variations += [{"num_attention_heads": h} for h in (1, 3, 5000, 10**6, 10**9)]
    variations += [{"num_local_experts": e, "num_experts_per_tok": k}
                   for e, k in ((8, 0), (8, 9), (1, 5), (10**6, 2), (2, 10**6))]
    variations += [{"vocab_size": 10**9, "hidden_size": 999_424, "num_attention_heads": 8},
                   {"num_hidden_layers": 10**9}, {"intermediate_size": 10**9},
                   {"text_config": {"hidden_size": 5}}, {"text_config": []}]
    for i, change in enumerate(variations):
        path = folder / f"heads-{i}.json"
        path.write_text(json.dumps({**base, **change}))
        yield "configs (heads)", ["estimate", str(path), "--gpu", "rtx-4090"], None


def _env(**values: str) -> Callable[[], None]:
    def setup() -> None:
        os.environ.update(values)

    return setup


def _environment(folder: Path) -> Iterator[Case]:
    """Hostile settings in the environment: a broken HF_ENDPOINT or RIGREADY_VAST_URL, a
    RIGREADY_HOME that is a file, a FIFO, a /proc folder or an impossible name."""
    for endpoint in ("http://[::1", "http://127.0.0.1:99999", "ftp://x", "not a url", "",
                     "http://127.0.0.1:9/sub/", "https://" + "h" * 300):
        for argv in (["estimate", "acme/x", "--gpu", "rtx-4090"],
                     ["estimate", "https://huggingface.co/acme/x"],
                     ["plan", "acme/x", "--profile", str(PROFILE)]):
            yield "environment", argv, _env(HF_ENDPOINT=endpoint)
    online = folder / "home" / "online"
    (online / "config").mkdir(parents=True, exist_ok=True)
    (online / "config" / "prices.json").write_text('{"live_cloud_offers": true}')
    for url in ("http://[::1", "http://127.0.0.1:99999/x", "file:///etc/passwd", "ftp://x/",
                "http://127.0.0.1:9/", "x" * 5000):
        yield "environment", ["plan", "7B", "--profile", str(PROFILE), "--online"], _env(
            RIGREADY_HOME=str(online), RIGREADY_VAST_URL=url, VAST_API_KEY="k")
    fifo = folder / "home-fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    for home in ("/etc/hostname", str(fifo), "/proc/self", str(folder / ("h" * 300)),
                 "/dev/null", str(folder / "home" / "a\nb")):
        for argv in (["catalog", "check"], ["estimate", "7B"],
                     ["catalog", "update", "--remove"], ["catalog", "online", "on"],
                     ["plan", "7B", "--profile", str(PROFILE)], ["history"],
                     ["bench", "history"]):
            yield "environment", argv, _env(RIGREADY_HOME=home)


def families(folder: Path, quick: bool) -> Iterator[Case]:
    """Every case of the issue-24 families."""
    yield from _packs(folder)
    yield from _hub_ids(quick)
    yield from _app_files(folder)
    yield from _paths(folder)
    yield from _head_configs(folder)
    yield from _environment(folder)
