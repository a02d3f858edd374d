"""Malformed catalog input of every shape ends in CatalogError, never in another exception."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rigready import catalog
from rigready.catalog import KINDS, CatalogError, merge, parse_document, parse_file, parse_text

MINI = Path(__file__).parent / "data" / "catalog" / "mini"
VALID_TEXTS = {p.name: p.read_text(encoding="utf-8") for p in sorted(MINI.glob("*.toml"))}
VALID_DOCS = {name: tomllib.loads(text) for name, text in VALID_TEXTS.items()}
FIELD_NAMES = sorted({f.name for k in KINDS for f in dataclasses.fields(k.cls)})
TABLE_NAMES = [k.table for k in KINDS]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.dates(), st.datetimes(), st.times(),
)
keys = st.one_of(st.sampled_from([*FIELD_NAMES, *TABLE_NAMES, "meta", "id"]), st.text(max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(keys, inner, max_size=4)),
    max_leaves=12,
)


def _only_catalog_errors(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except CatalogError as exc:
        assert str(exc)  # a readable one-line message
        assert str(exc).isprintable()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(values, st.dictionaries(keys, values, max_size=5)))
def test_random_structures(doc: Any) -> None:
    _only_catalog_errors(parse_document, doc, "fuzz.toml")


def _mutate(entry: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    out = dict(entry)
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["drop", "replace", "add"]))
        if action == "drop" and out:
            out.pop(data.draw(st.sampled_from(sorted(out))))
        elif action == "replace" and out:
            out[data.draw(st.sampled_from(sorted(out)))] = data.draw(values)
        else:
            out[data.draw(keys)] = data.draw(values)
    return out


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_valid_entries(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(VALID_DOCS)))
    doc: dict[str, Any] = {k: (list(v) if isinstance(v, list) else v)
                           for k, v in VALID_DOCS[name].items()}
    tables = [k for k, v in doc.items() if isinstance(v, list)]
    table = data.draw(st.sampled_from(tables))
    index = data.draw(st.integers(0, len(doc[table]) - 1))
    doc[table][index] = _mutate(doc[table][index], data)
    if data.draw(st.booleans()):
        doc["meta"] = _mutate(doc["meta"], data)
    _only_catalog_errors(parse_document, doc, name)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mangled_toml_text(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(VALID_TEXTS)))
    text = VALID_TEXTS[name]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.text(max_size=20))
    _only_catalog_errors(parse_text, text[:start] + insert + text[end:], name)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_merging_random_valid_files(data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(sorted(VALID_TEXTS)), max_size=4))
    overlay = data.draw(st.lists(st.sampled_from(sorted(VALID_TEXTS)), max_size=3, unique=True))
    base = [parse_text(VALID_TEXTS[n], n) for n in names]
    over = [parse_text(VALID_TEXTS[n], f"user/{n}") for n in overlay]
    _only_catalog_errors(merge, base, over)


@given(st.binary(max_size=200))
def test_random_bytes_in_a_file(blob: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.toml"
        path.write_bytes(blob)
        _only_catalog_errors(parse_file, path)


def test_scalars_of_every_toml_type_are_named() -> None:
    # Each wrong type gets a message, including TOML's time and date-time values.
    for bad in (time(1, 2), datetime(2026, 1, 1, 1, 1), date(2026, 1, 1), [1], {"a": 1}, True):
        doc = dict(VALID_DOCS["gpus.toml"])
        gpu = dict(doc["gpu"][0])
        gpu["vram_gib"] = bad
        doc["gpu"] = [gpu]
        try:
            parse_document(doc, "gpus.toml")
        except CatalogError as exc:
            assert exc.field == "vram_gib"
        else:
            raise AssertionError(f"{bad!r} was accepted as vram_gib")
    assert catalog.CatalogError is CatalogError
