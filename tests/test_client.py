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
from kpijmf.kolada.client import ClientStats, DataRecord, KoladaClient, RequestEvent

BASE = "https://kolada.test/v3"
Handler = Callable[[httpx.Request], httpx.Response]


# -- fakes ------------------------------------------------------------------------------------------


class Sleeps(list):
    """Records the seconds the client asked to sleep, without sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(handler: Handler, **options) -> tuple[KoladaClient, Sleeps]:
    sleeps = Sleeps()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    options.setdefault("sleep", sleeps)
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
    client.kpis()

    assert [r.url.path for r in seen] == ["/v3/municipality", "/v3/municipality_groups", "/v3/kpi"]
    assert all(query(r) == {"per_page": ["5000"]} for r in seen)


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


def test_gender_entries_are_read_by_their_field_not_their_position():
    def handler(request: httpx.Request) -> httpx.Response:
        rows = [
            row("N1", "2380", 2020, entry("M", 3.0), entry("T", 1.0), entry("K", 2.0)),
            row("N1", "2480", 2020, entry("K", 5.0), entry("M", 6.0), entry("T", 4.0)),
        ]
        return envelope(rows)

    client, _ = make_client(handler)

    records = client.data(["N1"], ["2380", "2480"], [2020])

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

    [record] = client.data(["U40800"], ["0180"], [2021])

    assert record == DataRecord("U40800", "0180", 2021, "T", None, 0, "", False)


def test_isdeleted_entries_come_back_marked_deleted():
    def handler(request: httpx.Request) -> httpx.Response:
        rows = [row("N1", "2380", 2021, entry("T", 7.5, deleted=True), entry("K", 8.0, deleted=False))]
        return envelope(rows)

    client, _ = make_client(handler)

    records = client.data(["N1"], ["2380"], [2021], from_date=dt.date(2025, 1, 1))

    assert [(r.gender, r.deleted) for r in records] == [("T", True), ("K", False)]


def test_usual_and_unusual_rows_give_the_same_records():
    """The fast path for rows of the usual types agrees with the careful one, and steps aside for the rest."""
    import random

    from kpijmf.kolada.parse import _row_records, records

    rng = random.Random(7)
    choices = {
        "value": [1.5, None, 2, -0.0, 1e300],
        "count": [1, 0, None, "x"],
        "status": ["", "Preliminärt", None, 5],
        "isdeleted": [False, True, None, "no"],
    }
    rows = []
    for _ in range(400):
        genders = rng.sample(["T", "K", "M", "X"], rng.randint(0, 3))
        entries = []
        for gender in genders:
            item = {"gender": gender}
            for field, options in choices.items():
                if rng.random() < 0.8:
                    item[field] = rng.choice(options)
            entries.append(item)
        rows.append({"kpi": "N1", "municipality": "2380", "period": rng.choice([2021, "2021"]), "values": entries})
    for item in rows:
        try:
            careful = list(_row_records(item))
        except (TypeError, ValueError):
            with pytest.raises(ApiBodyError):
                records("u", [item])
        else:
            assert records("u", [item]) == careful
    careful_rows = [item for item in rows if _careful_only(item)]
    assert 20 < len(careful_rows) < 390  # both paths were taken
    assert records("u", [item for item in rows if item not in careful_rows]) == [
        r for item in rows if item not in careful_rows for r in _row_records(item)
    ]


def _careful_only(item: dict) -> bool:
    """A row the fast path hands to `_row_records`: a str period, or an entry field of another type."""
    usual = {"value": (float, int, type(None)), "count": (int, type(None)), "status": (str,), "isdeleted": (bool,)}
    return type(item["period"]) is not int or any(
        field in entry and type(entry[field]) not in types for entry in item["values"] for field, types in usual.items()
    )


def test_status_none_becomes_empty_string():
    item = {"gender": "T", "count": 1, "status": None, "value": 1}
    client, _ = make_client(lambda request: envelope([row("N1", "2380", 2021, item)]))

    [record] = client.data(["N1"], ["2380"], [2021])

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


def test_retry_after_as_http_date_is_honoured_and_capped_at_60_seconds():
    later = format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), usegmt=True)
    client, sleeps = make_client(answers(httpx.Response(503, headers={"Retry-After": later}), OK))

    client.municipalities()

    assert sleeps == [60.0]


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
    client = KoladaClient(BASE, http=http, backoff_base=0.05)
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


@pytest.mark.parametrize("status", [400, 404, 500])
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
