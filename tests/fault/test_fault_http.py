"""Slow and hostile HTTP servers on 127.0.0.1 against the data-pack download and the live
cloud offers (issue 24, items 9, 10 and 19): the real client code runs, every call ends within
its stated deadline (asserted with a margin), every failure is one line naming the server and
what it did, and nothing is installed or cached from a bad answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date

import pytest

from rigready.assess.plan import live
from rigready.catalog import BUILTIN_DATA_DIR, default_catalog
from rigready.catalog import pack as pack_module
from rigready.catalog.netfetch import fetch_bytes
from rigready.catalog.pack import build_pack, installed_pack, packs_dir
from rigready.desktop.cli import main
from tests.fault.hostile_servers import Reply, closed_port, serve, timed

#: Short deadlines so the suite stays fast; the asserted bound adds a generous margin.
DEADLINE_S = 1.5
MARGIN_S = 3.0


def behaviours(good: bytes, over_limit: int) -> dict[str, tuple[Callable[[str], Reply], str]]:
    """Hostile replies (built from the served URL's base) and what the one line must say."""
    closed = closed_port()
    return {
        "drip-body": (lambda _b: Reply(200, good, drip_s=0.3, drip_body_only=True),
                      "did not answer completely within"),
        "drip-head": (lambda _b: Reply(200, good, drip_s=0.3), "did not answer completely within"),
        "never-answers": (lambda _b: Reply(never=True), "did not answer completely within"),
        "429-retry-after-hour": (lambda _b: Reply(429, b"", {"Retry-After": "3600"}),
                                 "answered HTTP 429"),
        "500": (lambda _b: Reply(500, b"oops"), "answered HTTP 500"),
        "redirect-loop": (lambda _b: Reply(302, b"", {"Location": "/loop"}), "answered HTTP 302"),
        "redirect-unreachable": (
            lambda _b: Reply(302, b"", {"Location": f"http://127.0.0.1:{closed}/x"}),
            f"cannot reach 127.0.0.1:{closed} (where"),
        "truncated": (lambda _b: Reply(200, good, send=len(good) // 2), "cut its answer short"),
        "huge-content-length": (lambda _b: Reply(200, b"x", length=10**12, send=1),
                                "offered 1,000,000,000,000 bytes"),
        "endless-without-length": (lambda _b: Reply(200, b"\0" * (over_limit + 4096), length=-1),
                                   "sent more than"),
    }


# -- data packs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_pack(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("pack")
    return build_pack(BUILTIN_DATA_DIR, folder / "p.tar.gz", "2099.01.01",
                      date(2099, 1, 1)).read_bytes()


PACK_CASES = [*sorted(behaviours(b"", pack_module.MAX_PACK_BYTES)), "not-a-pack"]


@pytest.mark.parametrize("case", PACK_CASES)
def test_catalog_update_url_against_a_hostile_server(
        case: str, good_pack: bytes, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before: a server dripping a byte every 3 s held 'catalog update URL' past 120 s."""
    monkeypatch.setattr(pack_module, "PACK_DEADLINE_S", DEADLINE_S)
    table = behaviours(good_pack, pack_module.MAX_PACK_BYTES)
    table["not-a-pack"] = (lambda _b: Reply(200, b"<html>hello</html>" * 10),
                           "not a readable .tar.gz")
    make, needle = table[case]
    with serve(lambda _m, _p: make("")) as served:
        seconds, code = timed(lambda: main(["catalog", "update", f"{served.url}/p.tar.gz"]))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, (case, err)
    assert len(err) == 1 and err[0].startswith("rigready: error: "), err
    assert needle in err[0], err
    assert seconds < DEADLINE_S + MARGIN_S, f"{case}: {seconds:.1f} s"
    assert installed_pack() is None
    assert not packs_dir().exists() or not any(packs_dir().iterdir())


def test_a_redirect_to_a_good_pack_installs_it(good_pack: bytes) -> None:
    def route(_method: str, path: str) -> Reply:
        if path == "/p.tar.gz":
            return Reply(302, b"", {"Location": "/real.tar.gz"})
        return Reply(200, good_pack)

    with serve(route) as served:
        assert main(["catalog", "update", f"{served.url}/p.tar.gz"]) == 0
    assert installed_pack() is not None


def test_the_whole_pack_checksum_is_checked_while_streaming(
        good_pack: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    with serve(lambda _m, _p: Reply(200, good_pack)) as served:
        assert main(["catalog", "update", f"{served.url}/p.tar.gz", "--sha256", "0" * 64]) == 2
    assert "does not match the expected" in capsys.readouterr().err
    assert installed_pack() is None


# -- live cloud offers ----------------------------------------------------------------------

OFFERS = b'{"offers": []}'
OFFER_CASES = [*sorted(behaviours(OFFERS, live._MAX_BYTES)), "malformed-json", "nested-json",
               "not-the-marketplace"]


@pytest.mark.parametrize("case", OFFER_CASES)
def test_live_offers_against_a_hostile_server(case: str) -> None:
    """Before: a FIFO cache or 100,000 brackets crashed or hung 'plan --online'; a dripping
    server was bounded only by a thread of its own (now the shared deadline)."""
    table = behaviours(OFFERS, live._MAX_BYTES)
    table["malformed-json"] = (lambda _b: Reply(200, b'{"offers": [1, 2'), "not valid JSON")
    table["nested-json"] = (lambda _b: Reply(200, b"[" * 100_000 + b"]" * 100_000),
                            "nested more than 64 levels deep")
    table["not-the-marketplace"] = (lambda _b: Reply(200, b'{"hello": 1}'), "no 'offers' list")
    make, needle = table[case]
    with serve(lambda _m, _p: make("")) as served:
        env = {live.KEY_ENV: "test-key", live.URL_ENV: f"{served.url}/bundles/"}
        seconds, result = timed(lambda: live.fetch_live_offers(
            default_catalog(), env=env, timeout_s=DEADLINE_S))
    assert isinstance(result, live.LiveOffers), result
    assert result.offers == ()
    assert needle in result.note and "using the catalog's offers" in result.note, result.note
    assert seconds < DEADLINE_S + MARGIN_S, f"{case}: {seconds:.1f} s"
    assert not live.cache_path().exists()


def test_the_deadline_is_total_not_per_read() -> None:
    """A byte every 0.2 s never trips a 10 s read timeout; the 1 s deadline still holds."""
    with serve(lambda _m, _p: Reply(200, b"x" * 100, drip_s=0.2)) as served:
        seconds, result = timed(lambda: fetch_bytes(served.url, seconds=1.0, max_bytes=1000))
    assert "did not answer completely within 1 s" in str(result)
    assert seconds < 1.0 + MARGIN_S


def test_an_abandoned_download_stops_reading() -> None:
    """The thread left behind at the deadline stops at its next read instead of running on."""
    with serve(lambda _m, _p: Reply(200, b"x" * 400, drip_s=0.05, drip_body_only=True)) as served:
        _, result = timed(lambda: fetch_bytes(served.url, seconds=0.5, max_bytes=10_000))
        assert "did not answer completely" in str(result)
        deadline = time.monotonic() + 3
        while _net_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _net_threads() == []  # while the server would still drip for 20 s


def _net_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rigready-net")]
