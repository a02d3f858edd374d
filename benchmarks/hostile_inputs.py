"""The hostile-input sweep (issues 16 and 24): thousands of CLI invocations with bad input, and
the fault-injection suite, counted together.

Every invocation runs ``rigready.desktop.cli.main(argv)`` in this process (a fresh process per case
would take half an hour), with a 20 s alarm, stderr captured, and the files it was given hashed
before and after. A sample of the file-kind cases also runs as a real subprocess (FIFOs, devices,
exit status, signals). Issue 24's families (``hostile_families.py``: data-pack bombs, Hub-shaped
ids, app files replaced by FIFOs/folders/symlinks/junk, impossible paths, configs no model has)
run the same way. Then the fault-injection suite (``tests/fault``: hostile servers, bombs, locks,
WALs, signals) runs under pytest and its cases are added, per owner (``test_fault_packs``,
``_http``, ``_files``, ``_hub``, ``_inputs`` are this sweep's; the rest the other helper's).
Prints, per family and in total: invocations, ok (exit 0), refused with one ``rigready: error:``
line and exit 2, contract broken (other exit, several lines, ``usage:``), tracebacks (an
exception escaped, or the crash handler spoke), hangs, inputs changed, files left (``*.tmp``),
the subprocess results and the suite's; ``--counts FILE`` writes the one-line total there.

    RIGREADY_FAKE_PROVIDER=1 .venv/bin/python benchmarks/hostile_inputs.py [--quick] [--no-suite]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# rigready.* from a checkout with nothing installed (made by packaging/pkgroot.py)
sys.path.insert(0, str(ROOT / "build" / "pkgroot"))
PROFILE = ROOT / "tests" / "data" / "profiles" / "hobbyist" / "desktop-rtx3060-12gb-32gb-ddr4.json"

from hostile_families import families  # noqa: E402 - after the path set-up (tests.fault)

NUMBERS = ["nan", "inf", "-inf", "1e999", "-1e999", "-1", "0", "0.0", "5", "1e300", "abc", "",
           "9" * 5000, "99999999999999999999999", "1e3", "0x10", "\n", "１", "1_000", "-0"]


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


def _files(folder: Path) -> dict[str, str]:
    out = {}
    for path in folder.rglob("*"):
        if "/home/" in str(path) or "/packs/" in str(path):
            continue  # rigready's own homes and the built bombs: not inputs of the user's
        if path.is_file() and not path.is_symlink():
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _bad_profiles(folder: Path) -> Iterator[Path]:
    valid = json.loads(PROFILE.read_text())
    cases: dict[str, str] = {
        "empty": "", "binary": "\x00\xff\x10", "list": "[]",
        "deep": "[" * 5000 + "]" * 5000, "deep-obj": '{"a":' * 5000 + "1" + "}" * 5000,
        "digits": "9" * 5000, "bom": "\ufeff{}",
    }
    for field, value in [("max_clock_mhz", "NaN"), ("max_clock_mhz", "Infinity"),
                         ("max_clock_mhz", "1e999"), ("physical_cores", "9" * 5000),
                         ("physical_cores", "-4"), ("physical_cores", '"8"'),
                         ("base_clock_mhz", "1e308"), ("logical_cores", "1.5")]:
        cases[f"cpu-{field}-{value[:6]}"] = _set(valid, "cpu", field, value)
    for section, field, value in [("memory", "total_bytes", "1e400"),
                                  ("memory", "total_bytes", "-1"),
                                  ("memory", "total_bytes", str(2**64)),
                                  ("system", "os", "5"), ("memory", "speed_mts", "NaN")]:
        cases[f"{section}-{field}-{value[:6]}"] = _set(valid, section, field, value)
    for name, text in cases.items():
        path = folder / f"profile-{name}.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        yield path
    (folder / "a-folder.json").mkdir(exist_ok=True)
    yield folder / "a-folder.json"
    yield folder / "missing.json"
    yield Path("/dev/null")
    big = folder / "profile-huge.json"
    big.write_text(" " * (9 * 2**20) + "{}")
    yield big


def _set(valid: dict[str, object], section: str, field: str, raw: str) -> str:
    text = json.dumps({**valid, section: {**valid[section], field: "@@"}})  # type: ignore[dict-item]
    return text.replace('"@@"', raw)


def _configs(folder: Path) -> Iterator[Path]:
    base = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 32, "vocab_size": 32000}
    for key in ["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                "intermediate_size", "num_key_value_heads", "head_dim",
                "max_position_embeddings", "num_local_experts"]:
        for raw in ['"64"', '"abc"', "Infinity", "NaN", "1e999", "-5", "0", "1e300", "true",
                    "[]", "9" * 5000, "3.5"]:
            text = json.dumps({**base, key: "@@"}).replace('"@@"', raw)
            path = folder / f"config-{key}-{len(raw)}-{abs(hash(raw)) % 1000}.json"
            path.write_text(text)
            yield path


def _databases(folder: Path) -> Iterator[Path]:
    foreign = folder / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    yield foreign
    junk = folder / "junk.sqlite"
    junk.write_bytes(os.urandom(8192))
    yield junk
    text = folder / "text.sqlite"
    text.write_text("hello")
    yield text
    (folder / "dir.sqlite").mkdir(exist_ok=True)
    yield folder / "dir.sqlite"
    yield folder / "no" / "such" / "db.sqlite"


def _cases(folder: Path, quick: bool) -> Iterator[tuple[str, list[str]]]:
    prof = str(PROFILE)
    options = [("estimate", ["estimate", "7B", "--gpu", "rtx-4090"],
                ["--epochs", "--utilisation", "--tflops", "--batch", "--seq", "--gpus",
                 "--new-tokens", "--lora-rank", "--dataset-tokens", "--image-size",
                 "--electricity-usd-kwh"]),
               ("plan", ["plan", "llama-3.2-1b", "--profile", prof],
                ["--budget", "--psu-watts", "--clearance-mm", "--kwh-price", "--hours-per-week",
                 "--batch", "--seq", "--queries"]),
               ("bench", ["bench", "gemm", "--device", "cpu"], ["--n"]),
               ("bench", ["bench", "storage", "--path", str(folder)], ["--seconds", "--size-mib"]),
               ("bench", ["bench", "history"], ["--limit"]),
               ("monitor", ["monitor", "--db", str(folder / "m.db")], ["--duration"]),
               ("monitor", ["monitor", "--db", str(folder / "m.db"), "--duration", "0.3"],
                ["--interval"]),
               ("history", ["history", "--db", str(folder / "m.db")], ["--session"])]
    long_running = {("--duration", v) for v in ("5", "1e3", "1e300", "99999999999999999999999",
                                                "１", "1_000")}
    long_running |= {("--seconds", v) for v in ("5", "1e3", "１", "1_000")}
    long_running |= {("--size-mib", "1_000")}  # a real 1,000 MiB benchmark
    for family, base, opts in options:
        for opt, value in itertools.product(opts, NUMBERS):
            if (opt, value) in long_running:
                continue  # valid input that just runs long: not what this sweep is about
            yield family, [*base, opt, value]
    for word in ["--bogus", "-x", "--profile", "--json=1", "--method", "--method=quantum"]:
        for name in ["detect", "score", "estimate", "plan", "monitor", "history", "bench",
                     "catalog", "gui", ""]:
            yield "argparse", [w for w in (name, word) if w]
    yield "argparse", ["estimate"]
    yield "argparse", ["plan"]
    yield "argparse", ["no-such-command"]
    for path in _bad_profiles(folder):
        for command in (["detect", "--json"], ["score"], ["estimate", "7B"],
                        ["plan", "llama-3.2-1b"], ["score", "--json", "--no-bench"]):
            yield "profile", [*command, "--profile", str(path)]
    for path in _configs(folder):
        yield "config.json", ["estimate", str(path), "--gpu", "rtx-4090"]
    for db in _databases(folder):
        for command in (["history"], ["history", "--session", "1"], ["bench", "history"],
                        ["monitor", "--duration", "0.2"]):
            yield "database", [*command, "--db", str(db)] if command[0] != "bench" else command
    existing = folder / "mine.csv"
    existing.write_text("precious")
    link = folder / "link.json"
    with contextlib.suppress(FileExistsError):
        link.symlink_to(existing)
    for target in ["", str(folder), str(folder / "no" / "x.json"), str(existing), str(link),
                   str(PROFILE), str(folder) + "/"]:
        yield "output", ["detect", "--profile", prof, "--save", target]
        yield "output", ["plan", "llama-3.2-1b", "--profile", prof, "--markdown", target]
        yield "output", ["history", "--db", str(folder / "m.db"), "--session", "99", "--export",
                         "csv", "--output", target]
    rng = random.Random(16)
    words = ["estimate", "7B", "--gpu", "rtx-4090", "--method", "qlora", "lora", "full",
             "--precision", "nf4", "int8", "--seq", "--batch", "--json", "--checkpointing",
             "--no-checkpointing", "--attn", "eager", "~nosuchuser", "~x/config.json", *NUMBERS]
    for _ in range(300 if quick else 2600):
        yield "random", ["estimate", *rng.sample(words, rng.randint(1, 6))]


def _run_one(argv: list[str]) -> tuple[str, str]:
    from rigready.desktop.cli import main

    err = io.StringIO()
    out = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    except Hang:
        return "hang", "timed out after 20 s"
    except SystemExit as exc:
        code = int(exc.code or 0) if isinstance(exc.code, int) else 2
    except BaseException as exc:  # noqa: BLE001 - exactly what the sweep counts
        return "traceback", f"{type(exc).__name__}: {exc}"[:200]
    finally:
        signal.alarm(0)
    lines = [line for line in err.getvalue().splitlines()
             if line.startswith("rigready:") and not line.startswith("rigready monitor:")]
    text = err.getvalue()
    if "Traceback" in text or "unexpected error" in text:
        return "traceback", text[-200:]
    if code == 0:
        return "ok", ""
    if code == 2 and len(lines) == 1 and lines[0].startswith("rigready: error: ") \
            and "usage:" not in text:
        return "refused", lines[0][:160]
    return "broken", f"exit {code}: {text[-200:]}"


def _subprocess_cases(folder: Path) -> Counter[str]:
    fifo = folder / "pipe.json"
    with contextlib.suppress(FileExistsError):
        os.mkfifo(fifo)
    results: Counter[str] = Counter()
    env = dict(os.environ, RIGREADY_HOME=str(folder / "home"), RIGREADY_FAKE_PROVIDER="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "build" / "pkgroot"), str(ROOT)]))
    for source in [str(fifo), "/dev/zero", "/dev/urandom", "/dev/null", str(folder)]:
        for command in (["score", "--profile", source], ["estimate", source],
                        ["plan", "7B", "--facts", source, "--profile", str(PROFILE)]):
            started = time.monotonic()
            try:
                done = subprocess.run([sys.executable, "-m", "rigready.desktop", *command],
                                      cwd=ROOT,
                                      env=env, capture_output=True, text=True, timeout=30)
            except subprocess.TimeoutExpired:
                results["hang"] += 1
                continue
            lines = done.stderr.strip().splitlines()
            ok = done.returncode == 2 and len(lines) == 1 and lines[0].startswith(
                "rigready: error: ")
            results["refused" if ok else f"broken (exit {done.returncode})"] += 1
            results["slowest_ms"] = max(results["slowest_ms"],
                                        int(1000 * (time.monotonic() - started)))
    return results


def main() -> int:
    """Run the sweep and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 1,100 cases, not 3,400")
    parser.add_argument("--show", type=int, default=3, help="examples shown per problem kind")
    parser.add_argument("--no-suite", dest="suite", action="store_false",
                        help="skip the fault-injection suite (tests/fault)")
    parser.add_argument("--counts", type=Path, help="write the one-line total to this file")
    opts = parser.parse_args()
    os.environ.setdefault("RIGREADY_FAKE_PROVIDER", "1")
    with tempfile.TemporaryDirectory(prefix="rigready-hostile-") as tmp:
        folder = Path(tmp)
        os.environ["RIGREADY_HOME"] = str(folder / "home")
        os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # the Hub is a closed local port
        os.environ["HF_HUB_CACHE"] = str(folder / "home" / "hf")
        cases: list[tuple[Any, ...]] = [*_cases(folder, opts.quick),
                                        *families(folder, opts.quick)]
        before = _files(folder)
        totals: Counter[str] = Counter()
        by_family: dict[str, Counter[str]] = {}
        examples: dict[str, list[str]] = {}
        started = time.monotonic()
        shared_env = dict(os.environ)
        for family, argv, *rest in cases:
            setup = rest[0] if rest else None
            if setup is not None:
                setup()  # a planted file or a hostile environment variable, for this case
            outcome, detail = _run_one(argv)
            if setup is not None:
                os.environ.clear()
                os.environ.update(shared_env)
            totals[outcome] += 1
            by_family.setdefault(family, Counter())[outcome] += 1
            if outcome in ("traceback", "hang", "broken"):
                examples.setdefault(outcome, []).append(f"{argv[:6]} -> {detail}")
        after = _files(folder)
        changed = [p for p, h in before.items() if after.get(p) != h
                   and not p.endswith(("m.db", "m.db-wal", "m.db-shm", "m.db.lock"))
                   and "/home/" not in p]
        left = [p for p in after if p.endswith(".tmp")]
        elapsed = time.monotonic() - started
        print(f"{len(cases)} invocations in {elapsed:.0f} s")
        for family, counts in by_family.items():
            print(f"  {family:<12} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        print("total: " + ", ".join(f"{k} {totals[k]}" for k in
                                    ("ok", "refused", "broken", "traceback", "hang")))
        print(f"inputs changed: {len(changed)}  files left (*.tmp): {len(left)}")
        for path in changed[:opts.show]:
            print(f"  changed: {path}")
        for kind, items in examples.items():
            for item in items[:opts.show]:
                print(f"  {kind}: {item}")
        sub = _subprocess_cases(folder)
        print("subprocess (FIFO, /dev/zero, /dev/urandom, /dev/null, a folder as input): "
              + ", ".join(f"{k} {v}" for k, v in sorted(sub.items())))
    suite = run_suite() if opts.suite else {}
    mine = suite.get("this sweep's", Counter())
    fuzzed = len(cases) + sum(v for k, v in sub.items() if k != "slowest_ms")
    bad = totals["traceback"] + totals["hang"] + sub["hang"] + mine["failed"] + mine["hang"]
    line = (f"hostile: {fuzzed + mine['cases']:,} hostile inputs ({fuzzed:,} fuzzed CLI runs + "
            f"{mine['cases']} fault-suite cases), {totals['traceback']} tracebacks, "
            f"{totals['hang'] + sub['hang'] + mine['hang']} hangs, {mine['failed']} suite "
            f"failures ({date.today().isoformat()})")
    print(line)
    if opts.counts:
        opts.counts.parent.mkdir(parents=True, exist_ok=True)
        opts.counts.write_text(line + "\n", encoding="utf-8")
    return 0 if not bad else 1


#: This sweep's files in tests/fault (the rest of the folder is the other helper's).
MINE = ("test_fault_packs", "test_fault_http", "test_fault_files", "test_fault_hub",
        "test_fault_inputs")


def run_suite(timeout_s: float = 900) -> dict[str, Counter[str]]:
    """Run ``tests/fault`` under pytest; cases, failures and hangs per owner."""
    import xml.etree.ElementTree as ET

    with tempfile.TemporaryDirectory(prefix="rigready-suite-") as tmp:
        report = Path(tmp) / "junit.xml"
        started = time.monotonic()
        try:
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                            str(ROOT / "tests" / "fault"), f"--junitxml={report}"],
                           cwd=ROOT, timeout=timeout_s, capture_output=True, check=False)
        except subprocess.TimeoutExpired:
            print(f"fault suite: still running after {timeout_s:.0f} s (counted as a hang)")
            return {"this sweep's": Counter(hang=1)}
        elapsed = time.monotonic() - started
        counts: dict[str, Counter[str]] = {"this sweep's": Counter(), "the other helper's":
                                           Counter()}
        for case in ET.parse(report).getroot().iter("testcase"):
            module = case.get("classname", "").rsplit(".", 1)[-1]
            owner = "this sweep's" if module.startswith(MINE) else "the other helper's"
            counts[owner]["cases"] += 1
            if case.find("failure") is not None or case.find("error") is not None:
                counts[owner]["failed"] += 1
            elif case.find("skipped") is not None:
                counts[owner]["skipped"] += 1
    for owner, c in counts.items():
        print(f"fault suite, {owner} files: {c['cases']} cases, {c['failed']} failed, "
              f"{c['skipped']} skipped")
    print(f"fault suite ran in {elapsed:.0f} s")
    return counts


if __name__ == "__main__":
    sys.exit(main())
