"""Live cloud offers: the real client against a local server that answers as Vast.ai does."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rigready.assess.plan.live import cache_path, fetch_live_offers, parse_offers
from rigready.catalog import load_catalog
from rigready.desktop.cli import main

ANSWER = Path(__file__).parent / "data" / "live" / "vast-bundles.json"
PROFILE = Path(__file__).parent / "data" / "profiles" / "cpu-only-2026-11-22.json"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class Fake:
    url: str
    requests: list[dict[str, object]] = field(default_factory=list)
    delay_s: float = 0.0
    #: Send the body a byte at a time, this many seconds apart (each read stays short).
    drip_s: float = 0.0
    status: int = 200
    body: bytes = b""


@pytest.fixture
def vast() -> Iterator[Fake]:
    fake = Fake("")
    fake.body = ANSWER.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                  "query": json.loads(self.rfile.read(length))})
            if fake.delay_s:
                time.sleep(fake.delay_s)
            # The timeout test's client has hung up by now: a write to it fails, and that is
            # the point, so it must not print a traceback into a later test's captured stderr.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                if fake.drip_s:
                    for byte in fake.body[:20]:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(fake.drip_s)
                    return
                self.wfile.write(fake.body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Join the handler threads on close, so a delayed answer ends inside this test.
    httpd.daemon_threads = False
    httpd.block_on_close = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/v0/bundles/"
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()


def _env(fake: Fake) -> dict[str, str]:
    return {"RIGREADY_VAST_URL": fake.url, "VAST_API_KEY": "test-key"}


def test_offers_are_mapped_to_catalog_gpus_cheapest_first(vast: Fake) -> None:
    cat = load_catalog(None)
    live = fetch_live_offers(cat, now=NOW, env=_env(vast))
    assert vast.requests[0]["auth"] == "Bearer test-key"
    assert vast.requests[0]["path"] == "/api/v0/bundles/"
    query = vast.requests[0]["query"]
    assert isinstance(query, dict) and query["rentable"] == {"eq": True}
    by_id = {o.id: o for o in live.offers}
    one = by_id["vast-live-rtx-4090-1x"]
    assert one.gpu_id == "rtx-4090" and one.usd_per_hour == 0.3347 and not one.spot
    assert by_id["vast-live-rtx-4090-1x-spot"].usd_per_hour == 0.1802  # the lowest bid
    assert by_id["vast-live-h100-sxm-8x"].gpu_count == 8
    assert by_id["vast-live-rtx-3090-2x"].gpu_count == 2  # RTX_3090 (query spelling) matched
    assert "vast-live-rtx-3090-2x-spot" not in by_id  # no bid price given
    assert one.price_date == NOW.date() and "fetched 2026-12-01 12:00 UTC" in one.price_source
    assert "1 rows with GPUs not in the catalog skipped" in live.note
    assert live.fetched_at == NOW


def test_cache_is_used_while_fresh_and_when_the_server_fails(vast: Fake) -> None:
    cat = load_catalog(None)
    fetch_live_offers(cat, now=NOW, env=_env(vast))
    cached = json.loads(cache_path().read_text(encoding="utf-8"))
    assert cached["fetched_at"] == NOW.isoformat()
    again = fetch_live_offers(cat, now=NOW + timedelta(minutes=30), env=_env(vast))
    assert len(vast.requests) == 1 and "cached" in again.note
    vast.status, vast.body = 500, b"oops"
    later = fetch_live_offers(cat, now=NOW + timedelta(hours=3), env=_env(vast))
    assert len(vast.requests) == 2
    assert later.offers and "using the copy fetched 2026-12-01 12:00 UTC" in later.note


def test_timeout_falls_back_to_the_catalog(vast: Fake) -> None:
    vast.delay_s = 2.0
    started = time.monotonic()
    live = fetch_live_offers(load_catalog(None), now=NOW, env=_env(vast), timeout_s=0.5)
    assert time.monotonic() - started < 1.9
    assert live.offers == () and "using the catalog's offers" in live.note
    assert "could not fetch" in live.note


def test_a_server_that_drips_its_answer_is_cut_off_at_the_timeout(vast: Fake) -> None:
    """Each read returned within the socket timeout, so the old client waited for the whole
    body (120 s against a byte every 3 s); the timeout is now for the whole request."""
    vast.drip_s = 0.2  # 20 bytes: 4 s of answer, every read well inside 0.8 s
    started = time.monotonic()
    live = fetch_live_offers(load_catalog(None), now=NOW, env=_env(vast), timeout_s=0.8)
    assert time.monotonic() - started < 1.6
    assert live.offers == () and "within 0.8 s" in live.note, live.note


def test_no_key_no_request(vast: Fake) -> None:
    live = fetch_live_offers(load_catalog(None), now=NOW, env={"RIGREADY_VAST_URL": vast.url})
    assert vast.requests == [] and live.offers == ()
    assert "VAST_API_KEY is not set" in live.note


def test_a_foreign_answer_is_not_understood() -> None:
    with pytest.raises(ValueError, match="no 'offers' list"):
        parse_offers({"instances": []}, load_catalog(None), NOW)


def test_plan_online_uses_live_offers(vast: Fake, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in _env(vast).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RIGREADY_LOCALE", "en_US")
    args = ["plan", "llama-3.1-8b", "--method", "qlora", "--budget", "900",
            "--profile", str(PROFILE), "--online"]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rent"]["offer_id"].startswith("vast-live-")
    assert "Vast.ai marketplace, live offer" in data["rent"]["price_source"]
    assert "Vast.ai offers fetched" in data["prices"]["live_offers"]
    monkeypatch.delenv("VAST_API_KEY")
    cache_path().unlink()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Live cloud offers: VAST_API_KEY is not set" in out
    assert "using the catalog's offers" in out


def test_online_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "online"]) == 0
    assert "Live cloud offers: off" in capsys.readouterr().out
    assert main(["catalog", "online", "on"]) == 0
    assert "Live cloud offers: on" in capsys.readouterr().out
