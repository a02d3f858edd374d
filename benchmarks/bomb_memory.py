"""Peak memory of rigready against data-pack bombs and oversized downloads (issue 24, item 7 and
10; target: under 256 MiB whatever the pack or the download).

Every bomb is built at run time in a temporary folder (never committed) and every server runs
on 127.0.0.1. Each case is a fresh ``python -m rigready.desktop`` process; its peak resident
memory comes from ``wait4`` (that child alone). ``--pythonpath`` runs another tree (an older
checkout, to show the before), ``--as-limit`` caps each process's address space so a bomb
cannot take the machine down.

    python benchmarks/bomb_memory.py [--gzip-mib 2048]
    python benchmarks/bomb_memory.py --pythonpath OLD/build/pkgroot --as-limit 3G
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "build" / "pkgroot"))

from tests.fault import pack_bombs  # noqa: E402 - after the path set-up
from tests.fault.hostile_servers import Reply, Served, hub_file, hub_route, serve  # noqa: E402

CONFIG = (ROOT / "tests" / "data" / "hf_configs" / "qwen2.5-0.5b.json").read_bytes()
MIB = 2**20


def _heavy_toml(out: Path) -> Path:
    """A pack at the limits that passes every size check: four TOML files of just under 1 MiB
    made of tiny tables, the costliest shape to parse (the loader parses a file whole before
    checking its content)."""
    import hashlib
    import io
    import tarfile

    lines = [f"[t{i}]\nv = {i}\n".encode() for i in range(100_000)]
    body = b"".join(lines)[: MIB - 4096]
    body = body[: body.rfind(b"\n[") + 1]
    digest = hashlib.sha256(body).hexdigest()
    names = [f"{c}.toml" for c in "abcd"]
    manifest = pack_bombs.manifest(dict.fromkeys(names, digest))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in (("manifest.json", manifest), *((n, body) for n in names)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    out.write_bytes(buffer.getvalue())
    return out


def _update(path: Path) -> Callable[[], list[str]]:
    return lambda: ["catalog", "update", str(path)]


def _endless(total: int, head: bytes = b"") -> Reply:
    return Reply(200, head, length=-1, zeros=total)


def cases(folder: Path, gzip_mib: int) -> Iterator[tuple[str, Callable[[], list[str]],
                                                         Callable[[], AbstractContextManager[
                                                             Served | None]]]]:
    """(name, argv factory, server context) per case; the argv may use the served URL."""
    served: dict[str, Served | None] = {"now": None}

    def url() -> str:
        assert served["now"] is not None
        return served["now"].url

    def with_server(route: Callable[[str, str], Reply]) -> Callable[[], AbstractContextManager[
            Served | None]]:
        return lambda: _remember(serve(route), served)

    def none() -> AbstractContextManager[Served | None]:
        return nullcontext(None)

    bombs = {
        f"gzip bomb ({gzip_mib:,} MiB of zeros)": pack_bombs.gzip_bomb(
            folder / "gzip.tar.gz", gzip_mib),
        f"gzip bomb, wrong checksum ({gzip_mib:,} MiB)": pack_bombs.gzip_bomb(
            folder / "gzip-bad.tar.gz", gzip_mib, right_checksum=False),
        "sparse member (16 GiB declared)": pack_bombs.sparse_bomb(folder / "sparse.tar.gz", 16),
        "pax header of 1 GiB": pack_bombs.pax_bomb(folder / "pax.tar.gz", 1024),
        "manifest nested 100,000 deep": pack_bombs.nested_manifest(folder / "nested.tar.gz"),
        "four 1 MiB TOML files (at the limits)": _heavy_toml(folder / "heavy.tar.gz"),
    }
    yield "baseline: catalog update (nothing to install)", lambda: ["catalog", "update"], none
    for name, path in bombs.items():
        size = path.stat().st_size
        yield f"{name}, {size:,} B file", _update(path), none
    yield ("download of 1 GiB without Content-Length",
           lambda: ["catalog", "update", f"{url()}/pack.tar.gz"],
           with_server(lambda _m, _p: _endless(2**30)))
    yield ("Hub config.json of 1 GiB (HEAD says 2 B)",
           lambda: ["estimate", "acme/model", "--gpu", "rtx-4090"],
           with_server(lambda m, p: (hub_file(b"{}") if m == "HEAD" else
                                     hub_file(b"{", length=-1, zeros=2**30))
                       if p.endswith("config.json") else hub_route(CONFIG, {})(m, p)))
    yield ("Hub model info of 300 MB, no Content-Length",
           lambda: ["estimate", "acme/model", "--gpu", "rtx-4090"],
           with_server(hub_route(CONFIG, {}, info_reply=_endless(
               300 * 10**6, b'{"id": "acme/model", "pad": "'))))


class _remember(AbstractContextManager["Served | None"]):
    def __init__(self, inner: AbstractContextManager[Served], box: dict[str, Served | None]):
        self._inner, self._box = inner, box

    def __enter__(self) -> Served | None:
        self._box["now"] = self._inner.__enter__()
        return self._box["now"]

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(None, None, None)
        self._box["now"] = None


def run_case(argv: list[str], env: dict[str, str], as_limit: int | None,
             ) -> tuple[float, float, int, str]:
    """(peak RSS MiB, seconds, exit status, last stderr line) of one fresh process."""
    def limit() -> None:
        if as_limit:
            resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))

    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "rigready.desktop", *argv], env=env,
                                stdout=subprocess.DEVNULL, stderr=err, preexec_fn=limit)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return (usage.ru_maxrss / 1024, time.monotonic() - started, proc.returncode,
            lines[-1][:150] if lines else "")


def _size(text: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units \
        else int(text)


def main() -> int:
    """Build the bombs, run each case, print a table; exit 1 if any peak is 256 MiB or more."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gzip-mib", type=int, default=2048)
    parser.add_argument("--pythonpath", help="run this tree's rigready (default: this one)")
    parser.add_argument("--as-limit", type=_size, help="address-space cap per process (3G)")
    opts = parser.parse_args()
    pythonpath = opts.pythonpath or str(ROOT / "build" / "pkgroot")
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="rigready-bombs-") as tmp:
        folder = Path(tmp)
        print(f"{'case':<58} {'peak RSS':>10} {'time':>7}  exit  says")
        for name, argv, server in cases(folder, opts.gzip_mib):
            env = dict(os.environ, PYTHONPATH=pythonpath, RIGREADY_HOME=str(folder / "home"),
                       HF_HUB_CACHE=str(folder / "hf"), HF_HOME=str(folder / "hf"),
                       RIGREADY_FAKE_PROVIDER="1")
            with server() as served:
                if served is not None:
                    env["HF_ENDPOINT"] = served.url
                peak, seconds, code, said = run_case(argv(), env, opts.as_limit)
            worst = max(worst, peak)
            print(f"{name:<58} {peak:>7.1f} MiB {seconds:>6.1f}s  {code:>4}  {said}")
    print(f"largest peak: {worst:.1f} MiB (target: under 256 MiB)")
    return 0 if worst < 256 else 1


if __name__ == "__main__":
    sys.exit(main())
