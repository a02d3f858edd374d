"""A hostile Hugging Face Hub on 127.0.0.1 (``HF_ENDPOINT``) against the real ``huggingface_hub``
client code (issue 24, items 9, 10, 14, 15 and 19): every look-up ends within its deadline, a
config.json that is too large is refused before it is downloaded, a 429 asking for an hour is
not waited for, and every failure is one line saying what the server did."""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import string
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rigready.assess.estimate import EstimateError
from rigready.assess.estimate import hub as hub_module
from rigready.assess.estimate.hub import HubRef, fetch_hub_model, parse_hub_ref, valid_repo_id
from rigready.desktop.cli import main
from tests.fault.hostile_servers import (
    COMMIT,
    Reply,
    Served,
    closed_port,
    hub_file,
    hub_route,
    json_reply,
    serve,
    timed,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (ROOT / "tests" / "data" / "hf_configs" / "qwen2.5-0.5b.json").read_bytes()
INFO = {"id": "acme/model", "safetensors": {"parameters": {"BF16": 494_032_768},
                                           "total": 494_032_768}}
DEADLINE_S = 1.5
MARGIN_S = 3.0
#: Cases where huggingface_hub itself retries a few times a second apart (a broken or
#: unreachable download): they get the real deadline, to show the right message.
SLOW_CASES = {"truncated", "redirect-to-unreachable-host"}


@pytest.fixture(autouse=True)
def _hub(hub_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(hub_module, "HUB_DEADLINE_S", DEADLINE_S)
    yield


@pytest.fixture(name="closed_port")
def closed_port_fixture() -> int:
    return closed_port()


@contextlib.contextmanager
def _serve(route: Callable[[str, str], Reply],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """``serve`` with ``HF_ENDPOINT`` pointed at it."""
    with serve(route) as served:
        monkeypatch.setenv("HF_ENDPOINT", served.url)
        yield served


def _config_cases(closed: int) -> dict[str, tuple[Reply | Callable[[str], Reply], str]]:
    """config.json replies (or a function of the method) and what the line must say."""
    big = b"{" + b" " * (5 * 2**20) + b"}"
    return {
        "drip-body": (hub_file(CONFIG, drip_s=0.3, drip_body_only=True),
                      "did not answer completely within 1.5 s"),
        "drip-head": (hub_file(CONFIG, drip_s=0.3), "did not answer completely within 1.5 s"),
        "never-answers": (Reply(never=True), "did not answer completely within 1.5 s"),
        "429-retry-after-hour": (Reply(429, b"{}", {"Retry-After": "3600"}),
                                 "asks to wait 3600 s"),
        "429-ratelimit-header": (Reply(429, b"{}", {"RateLimit": '"api";r=0;t=3000'}),
                                 "asks to wait 3000 s"),
        "429-on-download-only": (
            lambda m: hub_file(CONFIG) if m == "HEAD" else Reply(429, b"{}",
                                                                 {"Retry-After": "3600"}),
            "asks to wait 3600 s"),
        "500": (Reply(500, b"{}", {"X-Repo-Commit": COMMIT}), "answered 500"),
        "redirect-without-hub-headers": (
            Reply(302, b"", {"Location": f"http://127.0.0.1:{closed}/elsewhere"}),
            "redirected config.json to"),
        "redirect-to-unreachable-host": (
            Reply(302, b"", {"Location": f"http://127.0.0.1:{closed}/cdn", "X-Repo-Commit": COMMIT,
                             "X-Linked-Etag": '"abc"', "X-Linked-Size": "100"}),
            f"redirected to 127.0.0.1:{closed}, which could not be reached"),
        "redirect-loop": (Reply(302, b"", {"Location": "/acme/model/resolve/main/config.json"}),
                          "redirect loop"),
        "truncated": (hub_file(CONFIG, send=100), "cut its answer short"),
        "no-etag": (hub_file(CONFIG, etag=False), "without an ETag"),
        "no-commit-header": (hub_file(CONFIG, commit=False),
                             "does not answer like the Hugging Face Hub"),
        "gibibyte-announced": (hub_file(b"{}", length=2**30, send=2),
                               "says its config.json is 1,073,741,824 bytes"),
        "lying-length": (lambda m: hub_file(b"{}") if m == "HEAD" else hub_file(big, length=-1),
                         "sent more than 4,194,304 bytes"),
        "gzip-despite-identity": (Reply(200, gzip.compress(CONFIG), {
            "Content-Encoding": "gzip", "X-Repo-Commit": COMMIT, "ETag": '"gz"'}),
            "gzip-compressed answer"),
        "malformed-json": (hub_file(b'{"model_type": "qwen2", '), "not a valid config.json"),
        "nested-json": (hub_file(b"[" * 100_000 + b"]" * 100_000), "nested more than 64"),
        "more-kv-heads-than-heads": (
            hub_file(json.dumps({**json.loads(CONFIG), "num_key_value_heads": 28}).encode()),
            "num_key_value_heads (28) is more than num_attention_heads (14)"),
    }


CONFIG_CASES = sorted(_config_cases(9))


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_hostile_config_json(case: str, closed_port: int,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a dripping config.json or headers ran past 90 s, a 429 asking for an hour waited
    an hour, a redirect / truncation / missing ETag said 'no network connection'."""
    if case in SLOW_CASES:
        monkeypatch.setattr(hub_module, "HUB_DEADLINE_S", 10.0)
    reply, needle = _config_cases(closed_port)[case]

    def config_reply(method: str, path: str) -> Reply:
        return reply(method) if callable(reply) else reply

    base = hub_route(CONFIG, INFO)

    def route(method: str, path: str) -> Reply:
        if path.endswith("/config.json"):
            return config_reply(method, path)
        return base(method, path)

    with _serve(route, monkeypatch):
        seconds, result = timed(lambda: fetch_hub_model(HubRef("acme/model")))
    assert isinstance(result, EstimateError), result
    message = str(result)
    assert needle in message and "\n" not in message, message
    assert "no network connection" not in message
    assert seconds < hub_module.HUB_DEADLINE_S + MARGIN_S, f"{case}: {seconds:.1f} s"


def _info_cases() -> dict[str, tuple[Reply, str]]:
    def info(safetensors: object) -> Reply:
        return json_reply({"id": "acme/model", "safetensors": safetensors})

    return {
        "drip": (json_reply(INFO, drip_s=0.3, drip_body_only=True),
                 "did not answer completely within 1.5 s"),
        "never-answers": (Reply(never=True), "did not answer completely within 1.5 s"),
        "429-retry-after-hour": (Reply(429, b"{}", {"Retry-After": "3600"}), "asks to wait"),
        "300-MB-announced": (Reply(200, b"{}", length=300 * 10**6, send=2),
                             "offered 300,000,000 bytes"),
        "endless-body": (Reply(200, b"[" + b"1," * (3 * 2**20) + b"1]", length=-1),
                         "sent more than 4,194,304 bytes"),
        "body-is-a-list": (json_reply([]), "the answer is [], not a JSON object"),
        "no-id": (json_reply({"safetensors": {"total": 5}}), "no safetensors weights"),
        "safetensors-is-a-string": (info("x"), "safetensors is 'x', not an object"),
        "parameters-is-a-list": (info({"parameters": [1, 2], "total": 3}),
                                 "safetensors.parameters is [1, 2]"),
        "count-is-a-string": (info({"parameters": {"BF16": "12"}}),
                              "safetensors.parameters.BF16 is '12'"),
        "count-negative": (info({"parameters": {"BF16": -5}, "total": -5}),
                           "safetensors.parameters.BF16 is -5"),
        "count-zero": (info({"parameters": {"BF16": 0}, "total": 0}),
                       "safetensors.parameters.BF16 is 0"),
        "count-1e30": (info({"parameters": {"BF16": 1e30}, "total": 1e30}),
                       "safetensors.parameters.BF16 is 1e+30"),
        "count-fraction": (info({"parameters": {"BF16": 2.5}}),
                           "safetensors.parameters.BF16 is 2.5"),
        "count-1e400": (Reply(200, b'{"safetensors": {"parameters": {"BF16": 1e400}}}'),
                        "the number 1e400 is too large"),
        "count-NaN": (Reply(200, b'{"safetensors": {"parameters": {"BF16": NaN}}}'),
                      "NaN is not a number JSON allows"),
        "nested": (Reply(200, b"[" * 100_000 + b"]" * 100_000), "nested more than 64"),
        "not-json": (Reply(200, b"<html>"), "not valid JSON"),
    }


@pytest.mark.parametrize("case", sorted(_info_cases()))
def test_hostile_model_info_falls_back_to_the_config_with_a_note(
        case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: safetensors without total, a string, NaN or 1e400 count, parameters as a list,
    safetensors as a string, a body of [] crashed; negative or 1e30 counts gave nonsense."""
    reply, needle = _info_cases()[case]
    with _serve(hub_route(CONFIG, INFO, info_reply=reply), monkeypatch):
        seconds, shape = timed(lambda: fetch_hub_model(HubRef("acme/model")))
    assert not isinstance(shape, Exception), shape
    assert shape.params == shape.computed_params  # type: ignore[attr-defined]
    note = next(n for n in shape.notes  # type: ignore[attr-defined]
                if n.startswith("parameter count computed from config.json"))
    assert needle in note, note
    assert seconds < 2 * DEADLINE_S + MARGIN_S, f"{case}: {seconds:.1f} s"


def test_a_cached_config_serves_when_the_hub_drips(monkeypatch: pytest.MonkeyPatch) -> None:
    with _serve(hub_route(CONFIG, INFO), monkeypatch):
        fetch_hub_model(HubRef("acme/model"))  # fills the cache
    with _serve(hub_route(CONFIG, INFO, config_reply=hub_file(CONFIG, drip_s=0.3),
                          info_reply=Reply(never=True)), monkeypatch):
        seconds, shape = timed(lambda: fetch_hub_model(HubRef("acme/model")))
    assert not isinstance(shape, Exception), shape
    assert seconds < 2 * DEADLINE_S + MARGIN_S


INVALID_IDS = ["a..b/c", "a--b/c", "ab/c.", "a/b-", "-a/b", ".a/b", "a/b.git",
               "a/" + "b" * 97, "a" * 97 + "/b", "a/b c", "a/é", "a_/b_"]


@pytest.mark.parametrize("text", INVALID_IDS)
def test_ids_the_hub_client_refuses_are_not_hub_ids(text: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils._validators import validate_repo_id

    try:
        validate_repo_id(text)
        library_ok = True
    except HFValidationError:
        library_ok = False
    assert valid_repo_id(text) == library_ok
    if not library_ok:
        assert parse_hub_ref(text) is None
        assert parse_hub_ref(f"https://huggingface.co/{text}") is None


def test_the_id_rule_agrees_with_the_library_on_random_names() -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils._validators import validate_repo_id

    rng = random.Random(24)
    alphabet = string.ascii_letters[:6] + string.digits[:3] + "._-"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) + "/" + "".join(
            rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        try:
            validate_repo_id(text)
            expected = True
        except HFValidationError:
            expected = False
        assert valid_repo_id(text) == expected, text


@pytest.mark.parametrize("command", ["estimate", "plan"])
@pytest.mark.parametrize("text", ["a..b/c", "a--b/c", "ab/c.", "a/b-", "a/" + "b" * 97])
def test_cli_with_hub_shaped_bad_ids_and_no_network(
        command: str, text: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before: 'unexpected error: HFValidationError' (44 of 80 fuzzed names), in plan too."""
    profile = ROOT / "tests" / "data" / "rigs" / "profiles" / "rtx4090-desktop.json"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    extra = ["--gpu", "rtx-4090"] if command == "estimate" else ["--profile", str(profile)]
    assert main([command, text, *extra]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rigready: error:"), lines
    assert "HFValidationError" not in lines[0] and "unknown model" in lines[0], lines[0]
