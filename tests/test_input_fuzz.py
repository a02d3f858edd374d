"""Every input family fuzzed (Hypothesis, derandomized, bounded): profiles, JSON text,
config.json, facts files, CLI options, settings values, parameter counts, HTTP request heads.

Each family must end in its own error type (one readable line) or a valid result, never another
exception; each test counts the inputs it tried and checks the total (12,300 inputs, a
few seconds of CPU). The catalog TOML family is fuzzed in test_catalog_fuzz.py. The bigger sweep of
thousands of real CLI invocations is ``benchmarks/hostile_inputs.py``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rigready.assess.estimate.inputs import EstimateError
from rigready.assess.estimate.language.config import MAX_PARAM_COUNT, parse_param_count
from rigready.assess.estimate.shapes import shape_from_config
from rigready.assess.jsonfile import parse_json_text, read_json_file
from rigready.assess.plan.facts import FactsError, load_facts
from rigready.assess.profile import ProfileError, profile_from_dict, profile_to_dict
from rigready.desktop.cli import build_parser
from rigready.desktop.settings_values import setting_flag, setting_int, setting_number
from rigready.desktop.usecases.errors import UsageError
from rigready.monitor.metrics_server import response_for

PROFILES = Path(__file__).parent / "data" / "profiles"
VALID_PROFILE = json.loads((PROFILES / "hobbyist" / "desktop-rtx3060-12gb-32gb-ddr4.json")
                           .read_text())
def _fuzz(examples: int) -> settings:
    return settings(derandomize=True, deadline=None, database=None, max_examples=examples,
                    suppress_health_check=list(HealthCheck))
#: Inputs each family must try (asserted; their sum is the suite's count).
COUNTS = {"json_text": 1200, "profile": 600, "config": 1000, "facts": 200, "cli": 600,
          "settings": 1500, "params": 500, "http": 700, "mutated_bytes": 6000}

numbers = st.one_of(st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1e300, 1e-300, 2**63, 2**64, float("nan")]))
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=10),
                    st.sampled_from(["64", "abc", "NaN", "Infinity", "", "1e999"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=10)


def _run(name: str, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> None:
    tried: list[None] = []

    @_fuzz(COUNTS[name])
    @given(strategy)
    def one(value: Any) -> None:
        tried.append(None)
        check(value)

    one()
    assert len(tried) >= COUNTS[name]


def _one_line(exc: BaseException) -> None:
    text = str(exc)
    assert text and "Traceback" not in text


def _printed_line(exc: BaseException) -> None:
    """What the CLI prints for ``exc``: one line."""
    import contextlib
    import io

    from rigready.desktop.cli import print_error

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        print_error(exc)
    assert err.getvalue().count("\n") == 1 and err.getvalue().startswith("rigready: error: ")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _mutated_profile(data: st.DataObject) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(VALID_PROFILE))
    for _ in range(data.draw(st.integers(1, 3))):
        section = data.draw(st.sampled_from(["cpu", "memory", "system", "gpus", "storage"]))
        target = doc[section]
        if isinstance(target, list):
            if not target:
                continue
            target = target[data.draw(st.integers(0, len(target) - 1))]
        key = data.draw(st.sampled_from([*sorted(target), "bogus"]))
        target[key] = data.draw(json_values)
    return doc


JSON_TEXTS = st.one_of(
    st.text(max_size=60),
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.integers(1, 6000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 6000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(1, 6000).map(lambda n: "9" * n),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", '{"x": 1e999}', "[1,]", "\ufeff{}"]),
)


def test_json_text() -> None:
    def check(text: str) -> None:
        try:
            value = parse_json_text(text)
        except ValueError as exc:
            _one_line(exc)
            return
        assert _finite(value)

    _run("json_text", JSON_TEXTS, check)


def test_profiles() -> None:
    def check(data: st.DataObject) -> None:
        doc = (_mutated_profile(data) if data.draw(st.booleans(), label="mutate valid")
               else data.draw(json_values))
        try:
            profile = profile_from_dict(doc, "fuzz.json")
        except ProfileError as exc:
            _one_line(exc)
            _printed_line(exc)
            return
        json.dumps(profile_to_dict(profile), allow_nan=False)  # what loads saves as valid JSON

    _run("profile", st.data(), check)


CONFIG_KEYS = ["model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "vocab_size", "intermediate_size", "num_key_value_heads", "head_dim",
               "max_position_embeddings", "num_local_experts", "num_experts_per_tok",
               "tie_word_embeddings", "text_config", "moe_intermediate_size"]
LLAMA = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
         "num_attention_heads": 32, "vocab_size": 32000, "intermediate_size": 11008}


def test_config_json() -> None:
    configs = st.one_of(
        st.dictionaries(st.sampled_from(CONFIG_KEYS), scalars, max_size=8),
        st.dictionaries(st.sampled_from(CONFIG_KEYS[1:]), scalars, max_size=4).map(
            lambda extra: {**LLAMA, **extra}),
    )

    def check(cfg: dict[str, Any]) -> None:
        try:
            shape = shape_from_config(cfg, "fuzz/config.json")
        except EstimateError as exc:
            _one_line(exc)
            return
        assert shape.num_layers > 0 and shape.hidden_size > 0
        assert math.isfinite(float(shape.params))

    _run("config", configs, check)


def test_facts_files(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"

    def check(value: Any) -> None:
        path.write_text(value if isinstance(value, str) else json.dumps(value, allow_nan=True))
        try:
            load_facts(path)
        except FactsError as exc:
            _one_line(exc)

    facts = st.dictionaries(st.sampled_from(["psu_watts", "clearance_mm", "kwh_price",
                                             "hours_per_week", "psu_connectors", "x"]),
                            json_values, max_size=4)
    _run("facts", st.one_of(facts, JSON_TEXTS), check)


OPTION_VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-1", "0", "5", "0.5", "", "abc", "9" * 5000,
                     "99999999999999999999999", "1e3", "0x10", " 7 ", "--", "-", "\x00"]),
    st.text(max_size=8), st.integers().map(str), st.floats().map(str))
COMMANDS = [
    ["estimate", "7B"], ["estimate"], ["plan", "llama-3.2-1b"], ["monitor"], ["history"],
    ["bench", "gemm"], ["bench", "storage"], ["bench", "history"], ["catalog", "list"],
    ["score"], ["detect"], ["gui"], [],
]
OPTIONS = ["--epochs", "--utilisation", "--tflops", "--batch", "--seq", "--gpus", "--n",
           "--seconds", "--size-mib", "--limit", "--session", "--duration", "--interval",
           "--budget", "--psu-watts", "--kwh-price", "--new-tokens", "--lora-rank", "--bogus",
           "--export", "--method", "--precision", "--kind", "--page"]


def test_cli_options() -> None:
    parser = build_parser()
    argvs = st.tuples(st.sampled_from(COMMANDS),
                      st.lists(st.tuples(st.sampled_from(OPTIONS), OPTION_VALUES), max_size=3))

    def check(case: tuple[list[str], list[tuple[str, str]]]) -> None:
        command, options = case
        argv = [*command, *(word for pair in options for word in pair)]
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            _printed_line(exc)
            return
        for value in vars(args).values():
            if isinstance(value, float):
                assert math.isfinite(value)
            if isinstance(value, int):
                assert abs(value) < 2**63

    _run("cli", argvs, check)


class _Settings:
    def __init__(self, raw: object) -> None:
        self.raw = raw

    def value(self, key: str, default: object = None) -> object:
        return self.raw


def test_settings_values() -> None:
    def check(raw: object) -> None:
        s = _Settings(raw)
        value = setting_number(s, "upgrade/seq", 2048.0, 1, 1e6)
        assert math.isfinite(value) and 1 <= value <= 1e6
        assert 0 <= setting_int(s, "upgrade/batch", 1, 0, 4096) <= 4096
        assert isinstance(setting_flag(s, "upgrade/checkpointing", True), bool)

    _run("settings", st.one_of(scalars, json_values, st.text(max_size=20)), check)


def test_parameter_counts() -> None:
    texts = st.one_of(st.text(max_size=12),
                      st.tuples(numbers.map(str), st.sampled_from(["", "B", "m", "k", "T", "x"]))
                      .map("".join))

    def check(text: str) -> None:
        value = parse_param_count(text)
        assert value is None or 1 <= value <= MAX_PARAM_COUNT

    _run("params", texts, check)


def test_http_request_heads() -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    heads = st.one_of(
        st.binary(max_size=80),
        st.tuples(st.sampled_from([b"GET", b"HEAD", b"POST", b"get", b""]),
                  st.sampled_from([b"/metrics", b"/", b"/../../etc/passwd", b"//metrics",
                                   b"/metrics?x", b"http://[::1", b"%00"]),
                  st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"", b"FTP"]))
        .map(lambda t: b" ".join(t) + b"\r\n\r\n"),
    )

    def check(head: bytes) -> None:
        answer = response_for(head, registry)
        status = int(answer.split(b" ", 2)[1])
        assert status in (200, 400, 404, 405, 431)
        assert status != 200 or head.split(b" ")[1].split(b"?")[0] == b"/metrics"

    _run("http", heads, check)


def test_byte_mutations_of_a_valid_profile() -> None:
    """Seeded byte-level damage to a real profile file (cheaper per input than Hypothesis, so
    many more): truncation, flipped bytes, inserted digits, brackets, NaN and huge numbers."""
    import random

    rng = random.Random(16)
    text = (PROFILES / "hobbyist" / "desktop-rtx3060-12gb-32gb-ddr4.json").read_text()
    inserts = ["NaN", "Infinity", "1e999", "9" * 400, "[" * 100, "{", "}", '"', "\\", "-",
               "null", "true", "0", ",", "\u0000"]
    outcomes = {"loaded": 0, "refused": 0}
    for _ in range(COUNTS["mutated_bytes"]):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            kind = rng.random()
            if kind < 0.4:
                chars[at] = rng.choice(inserts)
            elif kind < 0.7:
                chars.insert(at, rng.choice(inserts))
            elif kind < 0.9:
                del chars[at:at + rng.randint(1, 30)]
            else:
                chars = chars[:at]
        damaged = "".join(chars)
        try:
            profile_from_dict(parse_json_text(damaged), "fuzz.json")
            outcomes["loaded"] += 1
        except (ValueError, ProfileError) as exc:  # JSON errors are ValueError; fields Profile
            _one_line(exc)
            outcomes["refused"] += 1
    assert sum(outcomes.values()) == COUNTS["mutated_bytes"] and outcomes["refused"] > 1000


def test_total_inputs_tried() -> None:
    assert sum(COUNTS.values()) >= 10_000


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_profile_from_a_device_is_refused_at_once(device: str) -> None:
    with pytest.raises(ProfileError, match="cannot read a device"):
        read_json_file(Path(device), ProfileError)
