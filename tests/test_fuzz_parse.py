"""Fuzz: any body Kolada (or a proxy in front of it) could send gives records, a value, or the typed ApiBodyError,
never another exception (hypothesis; few examples each, so the suite stays fast)."""

from __future__ import annotations

import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from kpijmf.errors import ApiBodyError
from kpijmf.kolada.parse import DataRecord, envelope, parse_retry_after, records

FUZZ = settings(max_examples=150, deadline=None)
SHOWN = "http://127.0.0.1/v3/data/kpi/N03926/year/2021"

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Values that are nearly right: Kolada's fields with plausible and implausible contents.
PERIODS = st.integers() | st.text(max_size=6) | st.sampled_from([2021, "2021", 10**30, -1, True, None, 2021.0])
ENTRIES = st.fixed_dictionaries(
    {"gender": st.sampled_from(["T", "K", "M"]) | JSON_SCALARS},
    optional={
        "value": st.floats() | st.integers() | JSON_SCALARS,
        "count": st.integers() | JSON_SCALARS,
        "status": st.sampled_from(["", "Saknas"]) | JSON_SCALARS,
        "isdeleted": st.booleans() | JSON_SCALARS,
    },
)
ROWS = st.fixed_dictionaries(
    {
        "kpi": st.sampled_from(["N03926"]) | JSON_SCALARS,
        "municipality": st.sampled_from(["2380", "G2328"]) | JSON_SCALARS,
        "period": PERIODS,
        "values": st.lists(ENTRIES, max_size=4) | JSON_VALUES,
    }
)


@FUZZ
@given(st.lists(ROWS | JSON_VALUES, max_size=4))
def test_any_data_rows_give_records_or_the_typed_body_error(rows):
    try:
        found = records(SHOWN, rows)
    except ApiBodyError as exc:
        assert SHOWN in str(exc) and "\n" not in str(exc)
        return
    assert all(isinstance(r, DataRecord) and 1900 <= r.year <= 2200 for r in found)


@FUZZ
@given(st.binary(max_size=300) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_any_body_gives_an_envelope_or_the_typed_body_error(body):
    response = httpx.Response(200, content=body, headers={"content-type": "application/json"})
    try:
        found = envelope(response, SHOWN)
    except ApiBodyError:
        return
    assert isinstance(found["values"], list)


def test_a_body_nested_far_too_deep_is_the_typed_body_error():
    response = httpx.Response(200, content=b"[" * 100_000, headers={"content-type": "application/json"})
    try:
        envelope(response, SHOWN)
    except ApiBodyError as exc:
        assert "nested too deeply" in str(exc)
    else:
        raise AssertionError("a 100,000-deep body was accepted")


@FUZZ
@given(st.none() | st.text(max_size=40))
def test_any_retry_after_header_gives_a_wait_or_none(value):
    wait = parse_retry_after(value)
    assert wait is None or wait >= 0
