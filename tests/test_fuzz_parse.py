"""Fuzz: any body Kolada (or a proxy in front of it) could send gives rows, a value, or the typed ApiBodyError,
never another exception (hypothesis; few examples each, so the suite stays fast)."""

from __future__ import annotations

import gc
import json

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpijmf.errors import ApiBodyError
from kpijmf.kolada import parse
from kpijmf.kolada.parse import (
    DATA_PAGE,
    DataRecord,
    DataRow,
    data_rows,
    envelope,
    next_url,
    parse_retry_after,
    row_page,
)

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
def test_any_data_rows_give_rows_of_kolada_genders_or_the_typed_body_error(rows):
    try:
        found = data_rows(SHOWN, rows)
    except ApiBodyError as exc:
        assert SHOWN in str(exc) and "\n" not in str(exc)
        return
    assert all(isinstance(r, DataRow) and 1000 <= r.year <= 9999 for r in found)
    records = [record for row in found for record in row.records()]
    assert all(isinstance(r, DataRecord) and r.gender in ("T", "K", "M") for r in records)


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


# -- the quick way through a data page (msgspec) gives what the plain way gives, or leaves it to the plain way --


def page_response(rows: object) -> httpx.Response:
    body = json.dumps({"values": rows, "next_url": None}).encode()  # NaN and ±Infinity as JSON's extensions
    return httpx.Response(200, content=body, headers={"content-type": "application/json"})


def plain_way(response: httpx.Response) -> list[DataRow] | ApiBodyError:
    try:
        return data_rows(SHOWN, envelope(response, SHOWN)["values"])
    except ApiBodyError as exc:
        return exc


@FUZZ
@given(st.lists(ROWS | JSON_VALUES, max_size=4))
def test_the_quick_way_accepts_nothing_the_plain_way_refuses_and_reads_the_same(rows):
    response = page_response(rows)
    try:
        quick = DATA_PAGE.decode(response.content).values
    except (ValueError, TypeError):
        quick = None  # refused: row_page goes the plain way
    plain = plain_way(response)
    if quick is not None:
        assert quick == plain
    found = row_page(response, SHOWN) if not isinstance(plain, ApiBodyError) else None
    assert found is None or found == (plain, None)
    assert found is None or next_url(response, SHOWN) is None


GOOD_ENTRIES = st.fixed_dictionaries(
    {"gender": st.sampled_from(["T", "K", "M"])},
    optional={
        "value": st.none() | st.integers(-(10**9), 10**9) | st.floats(allow_nan=False, allow_infinity=False),
        "count": st.none() | st.integers(0, 2**63 - 1),
        "status": st.none() | st.sampled_from(["", "Preliminärt"]),
        "isdeleted": st.none() | st.booleans(),
        # Fields Kolada may add are ignored by both ways (in standard JSON: msgspec refuses NaN anywhere).
        "extra": st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=3),
    },
)
GOOD_ROWS = st.fixed_dictionaries(
    {
        "kpi": st.text(max_size=8),
        "municipality": st.text(max_size=8),
        "period": st.integers(1000, 9999),  # as Kolada sends it; a year in a string goes the plain way
        "values": st.lists(GOOD_ENTRIES, max_size=4),
    }
)


@FUZZ
@given(st.lists(GOOD_ROWS, max_size=6))
def test_the_quick_way_takes_every_well_formed_page(rows):
    response = page_response(rows)
    quick = DATA_PAGE.decode(response.content).values
    assert quick == plain_way(response)


def test_row_page_takes_the_quick_way_on_a_well_formed_page_and_records_put_t_first(monkeypatch):
    row = {"kpi": "N03926", "municipality": "2380", "period": 2021, "values": [{"gender": "M", "value": 2}]}
    row["values"].append({"gender": "T", "value": 1.5, "count": 3, "status": None, "isdeleted": False})
    monkeypatch.setattr(parse, "data_rows", lambda shown, rows: pytest.fail("went the plain way"))
    [found], following = row_page(page_response([row]), SHOWN)
    assert (found.kpi, found.unit_id, found.year) == ("N03926", "2380", 2021)
    assert [e.gender for e in found.entries] == ["M", "T"]  # as they came
    assert found.records() == [
        DataRecord("N03926", "2380", 2021, "T", 1.5, 3, "", False),
        DataRecord("N03926", "2380", 2021, "M", 2.0, None, "", False),
    ]
    assert isinstance(found.entries[0].value, float) and following is None


def test_a_year_in_a_string_goes_the_plain_way_and_reads_the_same_as_a_number():
    row = {"kpi": "N03926", "municipality": "2380", "period": 2021, "values": [{"gender": "K", "value": 4}]}
    as_text = {**row, "period": "2021"}
    with pytest.raises(ValueError):
        DATA_PAGE.decode(page_response([as_text]).content)
    assert row_page(page_response([as_text]), SHOWN) == row_page(page_response([row]), SHOWN)


def test_a_decoded_page_leaves_nothing_per_row_for_the_garbage_collector_to_track():
    entry = {"gender": "T", "value": 1.5, "count": 3, "status": "", "isdeleted": False}
    rows = [{"kpi": "N03926", "municipality": f"{n:04}", "period": 2021, "values": [entry, entry]} for n in range(50)]
    found, _ = row_page(page_response(rows), SHOWN)
    gc.collect()  # a collection untracks tuples that hold only untracked objects

    assert not any(gc.is_tracked(x) for row in found for x in (row, row.entries, *row.entries))
