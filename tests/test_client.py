"""KoladaClient against httpx.MockTransport fakes (no sockets), plus loopback checks of the built client."""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from urllib.parse import parse_qs

import httpx
import pytest

from kpijmf import __version__
from kpijmf.errors import ApiBodyError, ApiStatusError, ApiTimeoutError, ApiUnreachableError
from kpijmf.kolada.client import ClientStats, DataRecord, DataRow, KoladaClient, RequestEvent

BASE = "https://kolada.test/v3"
Handler = Callable[[httpx.Request], httpx.Response]


# -- fakes ------------------------------------------------------------------------------------------


class Sleeps(list):
    """Records the seconds the client asked to sleep, without sleeping; `clock` is the time slept so far."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    def clock(self) -> float:
        return sum(self)


def ceiling(top: float) -> float:
    """No jitter: the backoff's ceiling itself, so waits can be asserted exactly."""
    return top


def make_client(handler: Handler, **options) -> tuple[KoladaClient, Sleeps]:
    sleeps = Sleeps()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    options.setdefault("sleep", sleeps)
    options.setdefault("clock", sleeps.clock)
    options.setdefault("jitter", ceiling)
    return KoladaClient(BASE, http=http, **options), sleeps


def envelope(values: list, next_url: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"values": values, "count": len(values), "next_url": next_url})


def row(kpi: str, unit: str, year: int, *entries: dict) -> dict:
    return {"kpi": kpi, "municipality": unit, "period": year, "values": list(entries)}


def entry(gender: str, value: float | None, *, deleted: bool | None = None, count: int | None = 1) -> dict:
    item = {"gender": gender, "count": count, "status": "", "value": value}
    if deleted is not None:
        item["isdeleted"] = deleted
    return item


def route_ids(request: httpx.Request) -> tuple[list[str], list[str], list[str] | None]:
    """kpis, units and years from /v3/data/kpi/{k}/municipality/{u}[/year/{y}]."""
    parts = request.url.path.split("/")
    assert parts[:4] == ["", "v3", "data", "kpi"] and parts[5] == "municipality", request.url
    years = parts[8].split(",") if len(parts) > 8 else None
    return parts[4].split(","), parts[6].split(","), years


def fake_data(request: httpx.Request) -> httpx.Response:
    """A Kolada that answers every data route with one T value per kpi × unit × year."""
    kpis, units, years = route_ids(request)
    rows = [row(k, u, int(y), entry("T", 1.0)) for k, u, y in itertools.product(kpis, units, years or ["2020"])]
    return envelope(rows)


def unit_ids(n: int) -> list[str]:
    return [f"{i:04d}" for i in range(n)]


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


# -- batching and routes ----------------------------------------------------------------------------


def test_data_splits_every_id_list_into_batches_of_at_most_25_covering_each_combination_once():
    seen: list[httpx.Request] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            seen.append(request)
        return fake_data(request)

    client, _ = make_client(handler)
    units, kpis, years = unit_ids(60), ["N03926", "U40455"], list(range(1995, 2025))

    records = client.data(kpis, units, years)

    assert len(seen) == 6  # 3 unit chunks × 1 kpi chunk × 2 year chunks
    combos = []
    for request in seen:
        k, u, y = route_ids(request)
        assert max(len(k), len(u), len(y)) <= 25
        assert query(request) == {"per_page": ["5000"]}
        combos += itertools.product(k, u, map(int, y))
    assert sorted(combos) == sorted(itertools.product(kpis, units, years))
    assert len(records) == 2 * 60 * 30


def test_data_without_years_uses_the_all_years_route_and_sends_from_date():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake_data(request)

    client, _ = make_client(handler)

    client.data(["N03926"], ["2380"], None, from_date=dt.date(2024, 5, 1))

    assert seen[0].url.path == "/v3/data/kpi/N03926/municipality/2380"
    assert query(seen[0]) == {"per_page": ["5000"], "from_date": ["2024-05-01"]}


def test_data_with_nothing_to_ask_makes_no_request():
    client, _ = make_client(lambda request: pytest.fail("no request expected"))

    assert client.data([], ["2380"], [2020]) == []
    assert client.data(["N03926"], ["2380"], []) == []
    assert client.stats == ClientStats()


def test_trailing_slash_on_base_url_is_ignored():
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return envelope([])

    http = httpx.Client(transport=httpx.MockTransport(handler))
    KoladaClient(BASE + "/", http=http).municipalities()

    assert paths == ["/v3/municipality"]


def test_kpis_by_id_are_batched_by_25_and_returned_raw_in_order():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = request.url.path.split("/")[3].split(",")
        seen.append(request.url.path)
        return envelope([{"id": i, "title": f"KPI {i}"} for i in ids])

    client, _ = make_client(handler)
    ids = [f"N{i:05d}" for i in range(30)]

    kpis = client.kpis(ids)

    assert [k["id"] for k in kpis] == ids
    assert sorted(len(path.split("/")[3].split(",")) for path in seen) == [5, 25]


def test_metadata_routes_ask_for_5000_per_page():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return envelope([{"id": "2380", "title": "Östersund", "type": "K"}])

    client, _ = make_client(handler)

    assert client.municipalities() == [{"id": "2380", "title": "Östersund", "type": "K"}]
    client.groups()
    client.kpis(["N03926"])

    assert [r.url.path for r in seen] == ["/v3/municipality", "/v3/municipality_groups", "/v3/kpi/N03926"]
    assert all(query(r) == {"per_page": ["5000"]} for r in seen)


def test_kpi_catalogue_pages_are_asked_for_at_once_and_the_last_follows_next_url():
    seen: list[tuple[int, float]] = []
    lock = threading.Lock()
    both_asked = threading.Barrier(2, timeout=5)  # page 2 is asked for before page 1 has answered
    catalogue = [{"id": f"N{i:05d}", "title": f"KPI {i}"} for i in range(7)]

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(query(request)["page"][0])
        assert query(request)["per_page"] == ["5000"]
        with lock:
            seen.append((page, time.monotonic()))
        if page <= 2:
            both_asked.wait()
        chunk = catalogue[(page - 1) * 3 : page * 3]  # a server that caps pages at 3 items
        more = page * 3 < len(catalogue)
        return envelope(chunk, f"{BASE}/kpi?per_page=5000&page={page + 1}" if more else None)

    client, _ = make_client(handler)

    kpis = client.kpis()

    assert [k["id"] for k in kpis] == [k["id"] for k in catalogue]
    assert sorted(page for page, _ in seen) == [1, 2, 3]  # page 1's next_url (page 2) is not asked twice


def test_kpi_catalogue_smaller_than_the_pages_asked_for_is_read_once():
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(query(request)["page"][0])
        return envelope([{"id": "N03926", "title": "x"}] if page == 1 else [])

    client, _ = make_client(handler)

    assert [k["id"] for k in client.kpis(pages=3)] == ["N03926"]


# -- paging -----------------------------------------------------------------------------------------


def test_paging_follows_absolute_next_url_without_repeating_query_parameters():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(query(request).get("page", ["1"])[0])
        next_url = f"{BASE}/municipality_groups?page={page + 1}&per_page=5000" if page < 3 else None
        return envelope([{"id": f"G{page}", "title": "g", "members": []}], next_url)

    client, _ = make_client(handler)

    groups = client.groups()

    assert [g["id"] for g in groups] == ["G1", "G2", "G3"]
    assert [query(r) for r in seen[1:]] == [
        {"page": ["2"], "per_page": ["5000"]},
        {"page": ["3"], "per_page": ["5000"]},
    ]


def test_paging_resolves_relative_next_url_against_origin_or_base_path():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = int(query(request).get("page", ["1"])[0])
        next_url = {1: "/v3/data/kpi/N1/municipality/2380?page=2", 2: "data/kpi/N1/municipality/2380?page=3"}
        return envelope([row("N1", "2380", 2000 + page, entry("T", page))], next_url.get(page))

    client, _ = make_client(handler)

    records = client.data(["N1"], ["2380"], None)

    assert [r.year for r in records] == [2001, 2002, 2003]
    assert seen[1:] == [
        "https://kolada.test/v3/data/kpi/N1/municipality/2380?page=2",
        "https://kolada.test/v3/data/kpi/N1/municipality/2380?page=3",
    ]


def test_plain_http_next_url_on_the_https_host_stays_on_https():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        last = "page" in query(request)
        return envelope([], None if last else "http://kolada.test/v3/municipality?page=2&per_page=5000")

    client, _ = make_client(handler)

    client.municipalities()

    assert seen[1] == "https://kolada.test/v3/municipality?page=2&per_page=5000"


def test_next_url_that_loops_back_is_a_body_error():
    client, _ = make_client(lambda request: envelope([], f"{BASE}/municipality?per_page=5000"))

    with pytest.raises(ApiBodyError, match="loops back"):
        client.municipalities()


# -- data rows --------------------------------------------------------------------------------------


def values(rows: list[DataRow]) -> list[DataRecord]:
    """The rows value by value, as the store compares them."""
    return [record for one in rows for record in one.records()]


def test_gender_entries_are_read_by_their_field_not_their_position():
    def handler(request: httpx.Request) -> httpx.Response:
        rows = [
            row("N1", "2380", 2020, entry("M", 3.0), entry("T", 1.0), entry("K", 2.0)),
            row("N1", "2480", 2020, entry("K", 5.0), entry("M", 6.0), entry("T", 4.0)),
        ]
        return envelope(rows)

    client, _ = make_client(handler)

    records = values(client.data(["N1"], ["2380", "2480"], [2020]))

    assert {(r.unit_id, r.gender): r.value for r in records} == {
        ("2380", "T"): 1.0,
        ("2380", "K"): 2.0,
        ("2380", "M"): 3.0,
        ("2480", "T"): 4.0,
        ("2480", "K"): 5.0,
        ("2480", "M"): 6.0,
    }
    assert [r.gender for r in records] == ["T", "K", "M", "T", "K", "M"]


def test_null_value_stays_none_and_never_becomes_zero():
    client, _ = make_client(lambda request: envelope([row("U40800", "0180", 2021, entry("T", None, count=0))]))

    [record] = values(client.data(["U40800"], ["0180"], [2021]))

    assert record == DataRecord("U40800", "0180", 2021, "T", None, 0, "", False)


def test_isdeleted_entries_come_back_marked_deleted():
    def handler(request: httpx.Request) -> httpx.Response:
        rows = [row("N1", "2380", 2021, entry("T", 7.5, deleted=True), entry("K", 8.0, deleted=False))]
        return envelope(rows)

    client, _ = make_client(handler)

    records = values(client.data(["N1"], ["2380"], [2021], from_date=dt.date(2025, 1, 1)))

    assert [(r.gender, r.deleted) for r in records] == [("T", True), ("K", False)]


def test_period_written_as_a_string_and_whole_numbers_are_read_as_years_and_floats():
    item = {"gender": "T", "count": 3, "status": "Preliminärt", "value": 2, "isdeleted": False}
    client, _ = make_client(lambda request: envelope([row("N1", "2380", "2021", item)]))  # type: ignore[arg-type]

    [record] = values(client.data(["N1"], ["2380"], [2021]))

    assert record == DataRecord("N1", "2380", 2021, "T", 2.0, 3, "Preliminärt", False)
    assert isinstance(record.value, float)


@pytest.mark.parametrize(
    ("field", "bad", "reason"),
    [
        ("value", True, "value True is not a number"),
        ("value", "1.5", "value '1.5' is not a number"),
        ("value", 10**400, "too large"),
        ("count", -1, "count -1 is not a count"),
        ("count", 2**70, "is not a count"),
        ("count", 1.5, "count 1.5 is not a count"),
        ("status", 5, "status must be a string"),
        ("isdeleted", "no", "isdeleted must be true or false"),
        ("gender", None, "gender must be a string"),
        ("gender", "X", "gender 'X' is not T, K or M"),
        ("gender", "t", "gender 't' is not T, K or M"),
    ],
)
def test_entry_field_of_the_wrong_type_is_a_body_error_saying_which(field, bad, reason):
    item = {"gender": "T", "count": 1, "status": "", "value": 1.0, field: bad}
    client, _ = make_client(lambda request: envelope([row("N1", "2380", 2021, entry("K", 1.0), item)]))

    with pytest.raises(ApiBodyError, match=r"unexpected data row from https://kolada\.test/v3/data/kpi/N1") as caught:
        client.data(["N1"], ["2380"], [2021])

    assert reason in str(caught.value) and "\n" not in str(caught.value)


def test_non_finite_value_is_a_body_error_never_a_stored_infinity():
    one = b'{"kpi": "N1", "municipality": "2380", "period": 2021, "values": [{"gender": "T", "value": Infinity}]}'
    body = b'{"values": [' + one + b"]}"
    client, _ = make_client(answers(httpx.Response(200, content=body, headers={"Content-Type": "application/json"})))

    with pytest.raises(ApiBodyError, match="value inf is not a finite number"):
        client.data(["N1"], ["2380"], [2021])


@pytest.mark.parametrize("period", [10**30, -2021, 0, "12345", "20x1", 2021.0, None])
def test_period_that_is_not_a_year_is_a_one_line_body_error(period):
    client, _ = make_client(lambda request: envelope([row("N1", "2380", period, entry("T", 1.0))]))  # type: ignore[arg-type]

    with pytest.raises(ApiBodyError) as caught:
        client.data(["N1"], ["2380"], [2021])

    message = str(caught.value)
    assert message.startswith(f"unexpected data row from {BASE}/data/kpi/N1/municipality/2380/year/2021")
    assert "period" in message and "\n" not in message and len(message) < 400


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_body_nested_thousands_deep_is_a_one_line_body_error(depth):
    deep = b'{"values": [' + b"[" * depth + b"]" * depth + b"]}"
    client, _ = make_client(answers(httpx.Response(200, content=deep, headers={"Content-Type": "application/json"})))

    with pytest.raises(ApiBodyError) as caught:
        client.data(["N1"], ["2380"], [2021])

    assert str(caught.value) == (
        f"invalid JSON from {BASE}/data/kpi/N1/municipality/2380/year/2021?per_page=5000: "
        "nested too deeply to be Kolada's answer"
    )


def test_row_nested_deep_inside_an_entry_is_a_one_line_body_error():
    deep = "[" * 800 + "]" * 800
    one = '{"kpi": "N1", "municipality": "2380", "period": 2021, "values": [{"gender": ' + deep + "}]}"
    body = '{"values": [' + one + "]}"
    client, _ = make_client(
        answers(httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"}))
    )

    with pytest.raises(ApiBodyError, match="gender must be a string") as caught:
        client.data(["N1"], ["2380"], [2021])

    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


def test_error_body_nested_thousands_deep_still_gives_the_status_error():
    deep = b"[" * 100_000 + b"]" * 100_000
    client, _ = make_client(answers(httpx.Response(422, content=deep, headers={"Content-Type": "application/json"})))

    with pytest.raises(ApiStatusError, match="422"):
        client.municipalities()


def test_status_none_becomes_empty_string():
    item = {"gender": "T", "count": 1, "status": None, "value": 1}
    client, _ = make_client(lambda request: envelope([row("N1", "2380", 2021, item)]))

    [record] = values(client.data(["N1"], ["2380"], [2021]))

    assert record.status == "" and record.value == 1.0 and isinstance(record.value, float)


def test_row_with_numeric_unit_id_is_a_body_error_naming_the_url():
    client, _ = make_client(lambda request: envelope([row("N1", 180, 2021, entry("T", 1.0))]))

    with pytest.raises(ApiBodyError, match=r"unexpected data row from https://kolada\.test/v3/data/kpi/N1"):
        client.data(["N1"], ["0180"], [2021])


def test_row_without_gender_is_a_body_error():
    client, _ = make_client(lambda request: envelope([row("N1", "2380", 2021, {"value": 1.0})]))

    with pytest.raises(ApiBodyError, match="no 'gender'"):
        client.data(["N1"], ["2380"], [2021])


# -- retries ----------------------------------------------------------------------------------------


def answers(*responses: httpx.Response | Exception) -> Handler:
    """A handler giving these answers in turn (an exception is raised), then repeating the last."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


OK = envelope([{"id": "2380", "title": "Östersund", "type": "K"}])


def test_429_honours_retry_after_then_succeeds():
    client, sleeps = make_client(answers(httpx.Response(429, headers={"Retry-After": "3"}), OK))

    assert client.municipalities()[0]["id"] == "2380"
    assert sleeps == [3.0]
    assert client.stats.retries == 1


def test_retry_after_as_http_date_is_honoured_and_capped_at_30_seconds():
    later = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), usegmt=True)
    client, sleeps = make_client(answers(httpx.Response(503, headers={"Retry-After": later}), OK))

    client.municipalities()

    assert sleeps == [30.0]


def test_503_twice_then_success_backs_off_exponentially():
    unavailable = httpx.Response(503)
    client, sleeps = make_client(answers(unavailable, unavailable, OK), backoff_base=0.5)

    assert client.municipalities()[0]["title"] == "Östersund"
    assert sleeps == [0.5, 1.0]
    assert (client.stats.requests, client.stats.retries) == (3, 2)


def test_backoff_is_capped_at_30_seconds():
    client, sleeps = make_client(answers(httpx.Response(502)), max_tries=5, backoff_base=10)

    with pytest.raises(ApiStatusError):
        client.municipalities()

    assert sleeps == [10, 20, 30, 30]


def test_default_sleep_really_waits_between_tries():
    http = httpx.Client(transport=httpx.MockTransport(answers(httpx.Response(503), OK)))
    client = KoladaClient(BASE, http=http, backoff_base=0.05, jitter=ceiling)
    started = time.monotonic()

    client.municipalities()

    assert time.monotonic() - started >= 0.05


def test_dropped_connection_is_retried_then_succeeds():
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    client, sleeps = make_client(answers(dropped, OK))

    assert client.municipalities()[0]["id"] == "2380"
    assert len(sleeps) == 1


def test_retries_stop_after_max_tries_with_a_status_error_naming_the_url():
    client, sleeps = make_client(answers(httpx.Response(503)), max_tries=3)

    with pytest.raises(ApiStatusError) as caught:
        client.municipalities()

    url = f"{BASE}/municipality?per_page=5000"
    assert caught.value.status == 503
    assert caught.value.url == url
    assert str(caught.value).startswith(f"Kolada answered 503 Service Unavailable for {url}")
    assert "\n" not in str(caught.value)
    assert client.stats.requests == 3 and len(sleeps) == 2


def test_retry_budget_is_shared_over_calls_and_then_fails_at_once():
    client, sleeps = make_client(answers(httpx.Response(503)), max_tries=5, retry_budget=2)

    with pytest.raises(ApiStatusError, match="retry budget"):
        client.municipalities()
    assert client.stats.requests == 3

    with pytest.raises(ApiStatusError, match="retry budget"):
        client.groups()
    assert client.stats.requests == 4
    assert client.stats.retries == 2 and len(sleeps) == 2


def test_retry_budget_is_shared_across_concurrent_batches():
    client, _ = make_client(answers(httpx.Response(503)), max_tries=5, retry_budget=3, concurrency=4)

    with pytest.raises(ApiStatusError):
        client.data(["N1"], unit_ids(100), [2020])

    assert client.stats.retries == 3


def test_retries_go_on_until_the_retry_time_is_up_not_for_a_number_of_tries():
    client, sleeps = make_client(answers(httpx.Response(503)), retry_seconds=60)

    with pytest.raises(ApiStatusError) as caught:
        client.municipalities()

    assert sleeps == [0.5, 1, 2, 4, 8, 16, 28.5]  # doubling up to 30 s; the last wait ends at the deadline
    assert client.stats.requests == 8  # a last try at the deadline
    assert str(caught.value).endswith("(gave up after 8 tries in 60 s (KPIJMF_RETRY_SECONDS))")


def test_a_20_second_outage_is_ridden_out_with_the_default_retry_time():
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    sleeps = Sleeps()

    def handler(request: httpx.Request) -> httpx.Response:
        if sleeps.clock() < 20:
            raise refused
        return OK

    client, _ = make_client(handler, sleep=sleeps, clock=sleeps.clock, jitter=None)

    assert client.municipalities()[0]["id"] == "2380"
    assert sum(sleeps) >= 20 and max(sleeps) <= 30
    assert client.stats.retries == len(sleeps)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_statuses_a_retry_can_fix_are_retried(status):
    client, sleeps = make_client(answers(httpx.Response(status), OK))

    assert client.municipalities()[0]["id"] == "2380"
    assert len(sleeps) == 1 and client.stats.retries == 1


def test_backoff_has_full_jitter_below_the_doubling_ceiling():
    client, sleeps = make_client(
        answers(httpx.Response(500)), jitter=None, max_tries=40, backoff_base=1, retry_seconds=10_000
    )

    with pytest.raises(ApiStatusError, match="gave up after 40 tries"):
        client.municipalities()

    ceilings = [min(2**n, 30) for n in range(39)]
    assert all(0 <= wait <= top for wait, top in zip(sleeps, ceilings, strict=True))
    assert len({round(wait, 6) for wait in sleeps}) > 30  # spread out, not the ceiling each time
    assert sum(sleeps) < 0.8 * sum(ceilings)


def test_retry_after_longer_than_the_retry_time_left_gives_up_instead_of_asking_early():
    client, sleeps = make_client(answers(httpx.Response(429, headers={"Retry-After": "20"})), retry_seconds=10)

    with pytest.raises(ApiStatusError, match=r"429 .*Retry-After 20 s outlasts the retry time left"):
        client.municipalities()

    assert sleeps == [] and client.stats.requests == 1


def test_retry_seconds_zero_means_no_retry():
    client, sleeps = make_client(answers(httpx.Response(503)), retry_seconds=0)

    with pytest.raises(ApiStatusError, match=r"gave up after 1 try in 0 s"):
        client.municipalities()

    assert sleeps == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (None, ["Kolada svarar 503, försöker igen om 4 s", "Kolada svarar inte inom 30 s, försöker igen om 2 s",
                "ingen kontakt med Kolada, försöker igen om 4 s"]),
        ("en", ["Kolada answers 503, trying again in 4 s", "Kolada does not answer within 30 s, trying again in 2 s",
                "no connection to Kolada, trying again in 4 s"]),
    ],
    ids=["swedish-by-default", "english"],
)  # fmt: skip
def test_waiting_out_the_api_is_told_in_the_runs_language(monkeypatch, lang, expected):
    monkeypatch.delenv("KPIJMF_LANG", raising=False)
    if lang:
        monkeypatch.setenv("KPIJMF_LANG", lang)
    told: list[str] = []
    timeout = httpx.ReadTimeout("timed out")
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    unavailable = httpx.Response(503, headers={"Retry-After": "4"})
    client, sleeps = make_client(answers(unavailable, timeout, refused, OK), backoff_base=2, on_wait=told.append)

    client.municipalities()

    assert sleeps == [4, 2, 4]  # Retry-After; then the backoff, doubling only for failures without one
    assert told == expected


def test_dropped_connection_is_told_as_such():
    told: list[str] = []
    dropped = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    client, _ = make_client(answers(dropped, OK), backoff_base=1, on_wait=told.append)

    client.municipalities()

    assert told == ["Kolada bröt anslutningen, försöker igen om 1 s"]


def test_short_waits_are_not_told():
    told: list[str] = []
    client, sleeps = make_client(answers(httpx.Response(503), httpx.Response(503), OK), on_wait=told.append)

    client.municipalities()

    assert sleeps == [0.5, 1.0] and told == ["Kolada svarar 503, försöker igen om 1 s"]


def test_concurrency_halves_under_429s_and_grows_back_after_successes():
    """The most requests the fake Kolada sees at once: 4 at first, 1 while it answers 429 (each halves the
    limit), and 4 again after the successes that follow (each adds one)."""
    lock = threading.Lock()
    in_flight = 0
    loads: list[int] = []  # requests in flight when request number i + 1 arrived (itself included)

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        with lock:
            in_flight += 1
            loads.append(in_flight)
            number = len(loads)
        time.sleep(0.02)  # long enough for the others to arrive while this one is answered
        with lock:
            in_flight -= 1
        if 13 <= number <= 28:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return fake_data(request)

    client, _ = make_client(handler, concurrency=4)

    records = client.data(["N1"], unit_ids(25 * 60), [2020])

    assert len(records) == 25 * 60 and len(loads) == 60 + 16
    assert max(loads[:12]) == 4  # as many as configured before any 429 ...
    assert max(loads) == 4  # ... and never more
    assert max(loads[22:28]) == 1  # halved to one while every answer is a 429
    assert max(loads[28:32]) <= 2  # then one more after each success
    assert max(loads[-20:]) == 4  # back up to the maximum
    assert client.concurrency_limit == 4


@pytest.mark.parametrize("status", [400, 404, 501])
def test_other_error_statuses_are_not_retried(status):
    client, sleeps = make_client(answers(httpx.Response(status)))

    with pytest.raises(ApiStatusError) as caught:
        client.municipalities()

    assert caught.value.status == status and client.stats.requests == 1 and sleeps == []
    assert f"{BASE}/municipality" in str(caught.value)


def test_422_is_not_retried_and_quotes_koladas_error_text():
    too_many = httpx.Response(422, json={"error": "Too many ids in list (max 25)"})
    client, sleeps = make_client(answers(too_many))

    with pytest.raises(ApiStatusError) as caught:
        client.data(["N1"], ["2380"], [2020])

    message = str(caught.value)
    assert "422" in message and "Too many ids in list (max 25)" in message and "limit exceeded?" in message
    assert client.stats.requests == 1 and sleeps == []


def test_410_says_v2_is_retired_and_points_at_kpijmf_api_url():
    gone = httpx.Response(410, json={"error": "This endpoint is deprecated. Please use /v3 instead."})
    client, sleeps = make_client(answers(gone))

    with pytest.raises(ApiStatusError) as caught:
        client.municipalities()

    assert "410 Gone" in str(caught.value)
    assert "v2" in str(caught.value) and "KPIJMF_API_URL" in str(caught.value)
    assert "https://api.kolada.se/v3" in str(caught.value)
    assert sleeps == []


def test_404_from_a_v2_url_says_v2_is_retired():
    http = httpx.Client(transport=httpx.MockTransport(answers(httpx.Response(404))))
    client = KoladaClient("https://api.kolada.se/v2", http=http, sleep=Sleeps())

    with pytest.raises(ApiStatusError, match=r"retired v2 API.*KPIJMF_API_URL"):
        client.kpis()


# -- bodies -----------------------------------------------------------------------------------------


def test_html_body_is_a_body_error_naming_the_content_type():
    page = httpx.Response(200, html="<html><body>Proxy login</body></html>")
    client, sleeps = make_client(answers(page))

    with pytest.raises(ApiBodyError) as caught:
        client.municipalities()

    assert str(caught.value) == (
        f"expected JSON from {BASE}/municipality?per_page=5000 but got text/html (a proxy or error page?)"
    )
    assert sleeps == []


def test_truncated_json_is_a_body_error():
    cut = httpx.Response(200, content=b'{"values": [{"id": "2380"', headers={"Content-Type": "application/json"})
    client, _ = make_client(answers(cut))

    with pytest.raises(ApiBodyError, match=r"invalid JSON from .*/municipality.*\(truncated response\?\)"):
        client.municipalities()


def test_envelope_without_values_list_is_a_body_error():
    client, _ = make_client(answers(httpx.Response(200, json={"count": 0, "next_url": None})))

    with pytest.raises(ApiBodyError, match=r"unexpected response shape from .*: no 'values' list"):
        client.municipalities()


# -- transport errors -------------------------------------------------------------------------------


def test_timeout_after_all_tries_is_an_api_timeout_error():
    client, sleeps = make_client(answers(httpx.ReadTimeout("timed out")), max_tries=2)

    with pytest.raises(ApiTimeoutError) as caught:
        client.municipalities()

    assert str(caught.value).startswith(f"timed out after 30 s: {BASE}/municipality?per_page=5000")
    assert sleeps == [0.5]


def test_connection_refused_is_an_api_unreachable_error_with_the_reason():
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    client, sleeps = make_client(answers(refused), max_tries=2)

    with pytest.raises(ApiUnreachableError) as caught:
        client.municipalities()

    assert str(caught.value).startswith(f"cannot reach Kolada at {BASE}/municipality?per_page=5000: connection refused")
    assert len(sleeps) == 1


def test_unexpected_transport_error_is_still_a_typed_error():
    client, _ = make_client(answers(httpx.UnsupportedProtocol("Request URL has an unsupported protocol")))

    with pytest.raises(ApiUnreachableError, match="unsupported protocol"):
        client.municipalities()


# -- concurrency, order, progress, stats ----------------------------------------------------------


def test_concurrency_never_exceeds_the_configured_maximum():
    lock = threading.Lock()
    in_flight = peak = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.03)
        with lock:
            in_flight -= 1
        return fake_data(request)

    client, _ = make_client(handler, concurrency=3)

    client.data(["N1"], unit_ids(25 * 12), [2020])

    assert client.stats.requests == 12
    assert 1 < peak <= 3


def test_results_follow_batch_order_whatever_finishes_first():
    def handler(request: httpx.Request) -> httpx.Response:
        _, units, _ = route_ids(request)
        time.sleep(0.04 if units[0] == "0000" else 0.0)  # the first batch finishes last
        return fake_data(request)

    client, _ = make_client(handler, concurrency=4)
    units = unit_ids(100)
    progress: list[tuple[int, int]] = []

    records = client.data(["N1"], units, [2020], progress=lambda done, total: progress.append((done, total)))

    assert [r.unit_id for r in records] == units
    assert progress == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_failing_batch_stops_the_rest_and_raises_its_error():
    def handler(request: httpx.Request) -> httpx.Response:
        _, units, _ = route_ids(request)
        if units[0] == "0000":
            return httpx.Response(404)
        time.sleep(0.05)
        return fake_data(request)

    client, _ = make_client(handler, concurrency=2)

    with pytest.raises(ApiStatusError, match="404"):
        client.data(["N1"], unit_ids(25 * 10), [2020])

    assert client.stats.requests < 10


def test_stats_and_request_events_count_attempts_bytes_and_retries():
    events: list[RequestEvent] = []
    body = envelope([row("N1", "2380", 2020, entry("T", 1.0))])
    client, _ = make_client(answers(httpx.Response(503), body), on_request=events.append)

    client.data(["N1"], ["2380"], [2020])
    client.municipalities()

    assert client.stats == ClientStats(requests=3, data_requests=2, bytes=2 * len(body.content), retries=1)
    assert [(e.status, e.attempt, e.error is None) for e in events] == [(503, 1, False), (200, 2, True), (200, 1, True)]
    assert events[0].url == f"{BASE}/data/kpi/N1/municipality/2380/year/2020?per_page=5000"
    assert events[1].bytes == len(body.content) and events[1].seconds >= 0


def test_injected_http_client_is_left_open():
    http = httpx.Client(transport=httpx.MockTransport(answers(OK)))

    with KoladaClient(BASE, http=http) as client:
        client.municipalities()

    assert not http.is_closed


# -- the built httpx client: headers, TLS trust and proxies from the environment -------------------

# TEST-ONLY certificates: a throwaway CA and a leaf for 127.0.0.1 it signed (valid 2000-2100).
TEST_CA = """-----BEGIN CERTIFICATE-----
MIIBZjCCAQugAwIBAgIBATAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5rcGlqbWYg
dGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowGTEXMBUG
A1UEAwwOa3Bpam1mIHRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQg
41dM35Ori4J1XXkRuhMIqYAT4srVMjwhuiWsng6i7tOsFXtkJmeDIqNOaq6dPcrH
0uH/21QtoCOAXwvSuurgo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQE
AwIBBjAdBgNVHQ4EFgQUZ3PvSevTxS5NU/Si+CePDhjmyM4wCgYIKoZIzj0EAwID
SQAwRgIhALSlDnmfL5aRHpGV6tmXzMNIkvNFV3UNnwAXlzYyVWVOAiEA2mt2Xayf
3QPTxGy/6U92r793aLNB8Cy/apVpUVdJKPU=
-----END CERTIFICATE-----
"""
TEST_LEAF = """-----BEGIN CERTIFICATE-----
MIIBsTCCAVegAwIBAgIBAjAKBggqhkjOPQQDAjAZMRcwFQYDVQQDDA5rcGlqbWYg
dGVzdCBDQTAgFw0wMDAxMDEwMDAwMDBaGA8yMTAwMDEwMTAwMDAwMFowFDESMBAG
A1UEAwwJMTI3LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEveCjXbeG
kECth+5yvNJuuY8ezxckJNswA0fmKnBhmNXemSmOc398PVity9BF+623FofWm3uH
BytpuzSi3K/E26OBkjCBjzAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDAT
BgNVHSUEDDAKBggrBgEFBQcDATAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3Qw
HQYDVR0OBBYEFERvoUsaXHuSXeO0unWclp2lFuZtMB8GA1UdIwQYMBaAFGdz70nr
08UuTVP0ovgnjw4Y5sjOMAoGCCqGSM49BAMCA0gAMEUCIAtZsc3JBv22TaKIBESn
EFujt1CmGmTiR32mgIqXgYlnAiEA/lmMTE/t/2axw/OtLwSW1+/S4KDlALejeDMb
vFeNihs=
-----END CERTIFICATE-----
"""
TEST_LEAF_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg4B7WN9AdcnC2Mteh
RfuT9Jjn9zimXFzvFzPK73YfcK+hRANCAAS94KNdt4aQQK2H7nK80m65jx7PFyQk
2zADR+YqcGGY1d6ZKY5zf3w9WK3L0EX7rbcWh9abe4cHK2m7NKLcr8Tb
-----END PRIVATE KEY-----
"""

PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy or CA-bundle settings leaking in from the machine running the tests."""
    for name in [*PROXY_VARIABLES, *(v.lower() for v in PROXY_VARIABLES), "SSL_CERT_FILE", "SSL_CERT_DIR"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


class _KoladaOnLoopback(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append({"path": self.path, **dict(self.headers)})
        body = json.dumps({"values": [{"id": "2380", "title": "Östersund", "type": "K"}], "next_url": None})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback(tmp_path) -> Iterator[Callable[[bool], tuple[str, list[dict[str, str]]]]]:
    """Start a one-route Kolada on 127.0.0.1 (plain or TLS with the test leaf); give its base URL."""
    servers: list[http.server.HTTPServer] = []

    def start(tls: bool) -> tuple[str, list[dict[str, str]]]:
        seen: list[dict[str, str]] = []
        handler = type("Handler", (_KoladaOnLoopback,), {"seen": seen})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.handle_error = lambda request, address: None  # a refused TLS handshake is expected
        if tls:
            (tmp_path / "leaf.pem").write_text(TEST_LEAF)
            (tmp_path / "leaf.key").write_text(TEST_LEAF_KEY)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        scheme = "https" if tls else "http"
        return f"{scheme}://127.0.0.1:{server.server_address[1]}/v3", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_built_client_sends_kpijmf_user_agent_and_asks_for_json(clean_environment, loopback):
    base, seen = loopback(False)

    with KoladaClient(base) as client:
        assert client.municipalities()[0]["id"] == "2380"

    assert seen[0]["User-Agent"] == f"kpijmf/{__version__}"
    assert seen[0]["Accept"] == "application/json"
    assert seen[0]["path"] == "/v3/municipality?per_page=5000"


def test_built_client_trusts_the_ca_bundle_named_by_ssl_cert_file(clean_environment, loopback, tmp_path):
    base, seen = loopback(True)
    (tmp_path / "ca.pem").write_text(TEST_CA)
    clean_environment.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))

    with KoladaClient(base) as client:
        assert client.municipalities()[0]["title"] == "Östersund"

    assert len(seen) == 1


def test_built_client_verifies_tls_and_does_not_retry_an_untrusted_certificate(clean_environment, loopback):
    base, seen = loopback(True)
    sleeps = Sleeps()

    with KoladaClient(base, sleep=sleeps) as client, pytest.raises(ApiUnreachableError) as caught:
        client.municipalities()

    assert "TLS certificate verification failed" in str(caught.value)
    assert "SSL_CERT_FILE" in str(caught.value)
    assert sleeps == [] and seen == []


def test_unreadable_ssl_cert_file_is_an_api_error_naming_it(clean_environment, tmp_path):
    clean_environment.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))

    with pytest.raises(ApiUnreachableError, match=r"cannot set up HTTPS \(SSL_CERT_FILE=.*missing\.pem"):
        KoladaClient("https://api.kolada.se/v3")


def test_built_client_goes_through_https_proxy_from_the_environment(clean_environment):
    """A fake proxy on loopback records the CONNECT and refuses it: no DNS or internet needed."""
    listener = socket.create_server(("127.0.0.1", 0))
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    heads: list[bytes] = []

    def refuse_one() -> None:
        connection, _ = listener.accept()
        with connection:
            head = b""
            while b"\r\n\r\n" not in head and (chunk := connection.recv(4096)):
                head += chunk
            heads.append(head)
            connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=refuse_one, daemon=True)
    thread.start()
    clean_environment.setenv("HTTPS_PROXY", proxy)

    with KoladaClient("https://api.kolada.se/v3", timeout=5) as client, pytest.raises(ApiUnreachableError) as caught:
        client.municipalities()

    thread.join(timeout=5)
    listener.close()
    assert heads and heads[0].startswith(b"CONNECT api.kolada.se:443 HTTP/1.1")
    assert f"via proxy {proxy}" in str(caught.value) and "403" in str(caught.value)
