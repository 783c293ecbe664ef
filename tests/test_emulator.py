"""The Kolada emulator itself, over real sockets with httpx."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest

from tests.emulator import EmulatorServer, Fault, full_universe, small_universe

LATER = date(2025, 6, 1)


@pytest.fixture
def client():
    # verify=False: plain-HTTP loopback only, and it skips loading CA certificates (~50 ms per client).
    with httpx.Client(timeout=10, verify=False) as c:
        yield c


def by_gender(row: dict) -> dict[str, float | None]:
    return {entry["gender"]: entry["value"] for entry in row["values"]}


def rows_of(client: httpx.Client, url: str, **params) -> list[dict]:
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["values"]


def follow(client: httpx.Client, first: str, root: str) -> list[dict]:
    """Every page of a list route, following next_url whether absolute or relative."""
    pages, url = [], first
    while url:
        body = client.get(url if url.startswith("http") else root + url).json()
        assert body["count"] == len(body["values"])
        pages.append(body)
        url = body["next_url"]
    return pages


# ---- metadata routes ----------------------------------------------------------------------------


def test_kpi_list_has_the_20_kpis_in_v3_shape(emulator, client):
    kpis = rows_of(client, f"{emulator.url}/kpi")
    assert len(kpis) == 20
    n40011 = next(k for k in kpis if k["id"] == "N40011")
    assert set(n40011) == {
        "id", "title", "description", "is_divided_by_gender", "municipality_type", "auspice",
        "operating_area", "perspective", "prel_publication_date", "publication_date", "publ_period",
        "has_ou_data",
    }  # fmt: skip
    assert n40011["prel_publication_date"] == "2026-03-31"
    assert [k["id"] for k in rows_of(client, f"{emulator.url}/kpi/N03932,N03927,NOPE")] == ["N03932", "N03927"]


def test_title_and_region_type_filters(emulator, client):
    assert [m["id"] for m in rows_of(client, f"{emulator.url}/municipality", title="östersund")] == ["2380"]
    regions = rows_of(client, f"{emulator.url}/municipality", region_type="L")
    assert [m["id"] for m in regions] == ["0000", "0023", "0024"]
    groups = rows_of(client, f"{emulator.url}/municipality_groups", title="arbetsmarknad, Östersund")
    assert sorted(g["id"] for g in groups) == ["G199001", "G216379"]
    assert "2380" not in {m["member_id"] for m in groups[0]["members"]}
    assert rows_of(client, f"{emulator.url}/kpi", title="(-2023)")[0]["id"] in {"N03932", "N03927"}


# ---- paging and limits --------------------------------------------------------------------------


def test_paging_follows_absolute_next_url_keeping_other_params(emulator, client):
    pages = follow(client, f"{emulator.url}/municipality?per_page=5&region_type=K", emulator.root)
    assert [p["count"] for p in pages] == [5, 5, 5, 3]
    assert pages[0]["next_url"].startswith(f"{emulator.url}/municipality?")
    assert "per_page=5" in pages[0]["next_url"] and "region_type=K" in pages[0]["next_url"]
    assert pages[0]["previous_url"] is None and "page=1" in pages[1]["previous_url"]
    assert pages[-1]["next_url"] is None
    assert len({m["id"] for p in pages for m in p["values"]}) == 18


def test_paging_with_relative_next_url_gives_the_same_rows(emulator, client):
    path = "/v3/data/kpi/N03926,U40455/year/2020,2021"
    whole = rows_of(client, emulator.root + path)
    emulator.relative_next_url = True
    pages = follow(client, f"{emulator.root}{path}?per_page=7&from_date=2025-01-01", emulator.root)
    assert pages[0]["next_url"].startswith("/v3/data/") and "from_date=2025-01-01" in pages[0]["next_url"]
    paged = [r for p in pages for r in p["values"]]
    key = [(r["kpi"], r["municipality"], r["period"]) for r in paged]
    assert key == sorted(key) == [(r["kpi"], r["municipality"], r["period"]) for r in whole]


def test_page_cap_shrinks_pages_below_per_page(emulator, client):
    emulator.page_cap = 4
    pages = follow(client, f"{emulator.url}/municipality?per_page=5000", emulator.root)
    assert [p["count"] for p in pages] == [4, 4, 4, 4, 4, 1]
    assert "per_page=5000" in pages[0]["next_url"]


@pytest.mark.parametrize(
    "path",
    [
        "/municipality?per_page=5001",
        "/kpi/" + ",".join(f"N{i:05d}" for i in range(26)),
        "/data/kpi/N03926/municipality/" + ",".join(f"{i:04d}" for i in range(26)) + "/year/2021",
        "/data/kpi/N03926/year/" + ",".join(str(1990 + i) for i in range(26)),
    ],
)
def test_limits_give_422_json(emulator, client, path):
    answer = client.get(emulator.url + path)
    assert answer.status_code == 422
    assert "error" in answer.json()


def test_25_ids_and_per_page_5000_are_fine(emulator, client):
    ids = ",".join(f"{i:04d}" for i in range(25))
    assert client.get(f"{emulator.url}/data/kpi/N03926/municipality/{ids}/year/2021").status_code == 200
    assert client.get(f"{emulator.url}/kpi", params={"per_page": 5000}).status_code == 200


def test_v2_is_gone_with_410(emulator, client):
    answer = client.get(f"{emulator.root}/v2/data/kpi/N03926/municipality/2380")
    assert answer.status_code == 410
    assert answer.json() == {"error": "This endpoint is deprecated. Please use /v3 instead."}


def test_unknown_path_is_404_json(emulator, client):
    answer = client.get(f"{emulator.url}/nonsense/route")
    assert answer.status_code == 404
    assert answer.json() == {"error": "Not found"}


# ---- data rows ----------------------------------------------------------------------------------


def test_hand_written_values_and_tie(emulator, client):
    rows = rows_of(client, f"{emulator.url}/data/kpi/N03926/municipality/2380,2080/year/2019,2020,2021")
    osd = {r["period"]: by_gender(r)["T"] for r in rows if r["municipality"] == "2380"}
    assert osd == {2019: 2.6, 2020: 3.0, 2021: 3.2}
    falun = next(r for r in rows if r["municipality"] == "2080" and r["period"] == 2021)
    assert by_gender(falun)["T"] == 3.2
    assert {e["count"] for r in rows for e in r["values"]} == {1}


def test_null_row_is_present_and_missing_row_is_absent(emulator, client):
    rows = rows_of(client, f"{emulator.url}/data/kpi/N03926/municipality/2303,2326/year/2020,2021")
    present = {(r["municipality"], r["period"]): by_gender(r) for r in rows}
    assert present[("2303", 2020)] == {"T": None, "K": None, "M": None}
    assert ("2326", 2021) not in present and ("2326", 2020) in present


def test_unknown_units_and_kpis_yield_no_rows(emulator, client):
    assert rows_of(client, f"{emulator.url}/data/kpi/N99999,N03926/municipality/9999/year/2021") == []
    assert rows_of(client, f"{emulator.url}/data/kpi/N99999/municipality/2380") == []


def test_group_mean_is_over_members_with_values(emulator, client):
    rows = rows_of(client, f"{emulator.url}/data/kpi/N03926/municipality/G33630/year/2020,2021")
    t = {r["period"]: next(e for e in r["values"] if e["gender"] == "T") for r in rows}
    assert t[2021]["count"] == 7 and t[2021]["value"] == pytest.approx(23.8 / 7)  # Berg has no row
    assert t[2020]["count"] == 7 and t[2020]["value"] == pytest.approx(23.9 / 7)  # Ragunda is null


def test_override_is_published_instead_of_the_mean(emulator, client):
    row = rows_of(client, f"{emulator.url}/data/kpi/N03926/municipality/G30831/year/2021")[0]
    t = next(e for e in row["values"] if e["gender"] == "T")
    assert (t["value"], t["count"]) == (3.2, 8)
    assert emulator.universe.computed_mean("N03926", "G30831", 2021) == pytest.approx(2.8)


def test_year_route_serves_kommuner_regions_riket_and_groups(emulator, client):
    units = {r["municipality"] for r in rows_of(client, f"{emulator.url}/data/kpi/N03926/year/2021")}
    assert {"2380", "0000", "0023", "G2328", "G216379"} <= units
    assert "2326" not in units
    all_years = rows_of(client, f"{emulator.url}/data/kpi/N03932/municipality/2380")
    assert [r["period"] for r in all_years] == list(range(2015, 2024))


def test_query_form_and_wrong_parameter_names(emulator, client):
    rows = rows_of(client, f"{emulator.url}/data", kpi_id="N03926", municipality_id="2380", year="2021")
    assert by_gender(rows[0])["T"] == 3.2
    assert rows_of(client, f"{emulator.url}/data", kpi="N03926", municipality="2380", year="2021") == []


def test_gender_order_varies_but_values_stay_right(emulator, client):
    orders = set()
    for _ in range(30):
        row = rows_of(client, f"{emulator.url}/data/kpi/U40455/municipality/2380/year/2021")[0]
        orders.add(tuple(e["gender"] for e in row["values"]))
        assert by_gender(row) == {"T": 38.9, "K": 41.3, "M": 36.8}
    assert len(orders) >= 2


def test_mutations_propagate_to_group_means(emulator, client):
    u = emulator.universe
    u.set_value("N03926", "2305", 2021, "T", 11.0, LATER)  # +7.0 on one of 7 contributors
    row = rows_of(client, f"{emulator.url}/data/kpi/N03926/municipality/G33630/year/2021")[0]
    assert next(e["value"] for e in row["values"] if e["gender"] == "T") == pytest.approx(30.8 / 7)


def test_from_date_returns_changed_and_deleted_cells_only(emulator, client):
    u = emulator.universe
    u.set_value("N03926", "2380", 2021, "T", 3.5, LATER)
    u.delete("N03926", "2303", 2021, LATER)
    url = f"{emulator.url}/data/kpi/N03926/year/2021"
    changed = rows_of(client, url, from_date="2025-06-01")
    singles = {r["municipality"]: r for r in changed if not r["municipality"].startswith("G")}
    assert set(singles) == {"2380", "2303"}
    assert by_gender(singles["2380"])["T"] == 3.5
    assert all(e["isdeleted"] and e["value"] is None for e in singles["2303"]["values"])
    members = {g: set(u.member_ids(g)) for g in u.groups}
    assert all(members[r["municipality"]] & {"2380", "2303"} for r in changed if r["municipality"][0] == "G")
    assert "G33630" in {r["municipality"] for r in changed}
    assert "2303" not in {r["municipality"] for r in rows_of(client, url)}
    assert all(not e["isdeleted"] for r in rows_of(client, url) for e in r["values"])


def test_change_feed_without_groups_leaves_group_rows_out_of_from_date_answers(emulator, client):
    u = emulator.universe
    u.change_feed_groups = False
    u.set_value("N03926", "2380", 2021, "T", 3.5, LATER)
    changed = rows_of(client, f"{emulator.url}/data/kpi/N03926/year/2021", from_date="2025-06-01")
    assert [r["municipality"] for r in changed] == ["2380"]
    asked = f"{emulator.url}/data/kpi/N03926/municipality/G33630,G2328,2380/year/2021"
    assert [r["municipality"] for r in rows_of(client, asked, from_date="2025-06-01")] == ["2380"]
    assert [r["municipality"] for r in rows_of(client, asked)] == ["2380", "G2328", "G33630"]  # no from_date
    assert u.copy().change_feed_groups is False


def test_change_feed_with_groups_includes_the_groups_whose_mean_changed(emulator, client):
    assert emulator.universe.change_feed_groups is True
    emulator.universe.set_value("N03926", "2380", 2021, "T", 3.5, LATER)
    asked = f"{emulator.url}/data/kpi/N03926/municipality/G33630,G2328,G33631,2380/year/2021"
    assert [r["municipality"] for r in rows_of(client, asked, from_date="2025-06-01")] == ["2380", "G2328", "G33630"]


# ---- KPI groups ---------------------------------------------------------------------------------


def test_kpi_groups_route_lists_pages_and_filters_by_title(emulator, client):
    groups = rows_of(client, f"{emulator.url}/kpi_groups")
    assert [g["id"] for g in groups] == ["G2KPI900101", "G2KPI900102", "G2KPI900103", "G2KPI900104"]
    pages = follow(client, f"{emulator.url}/kpi_groups?per_page=3", emulator.root)
    assert [p["count"] for p in pages] == [3, 1]
    assert [g["id"] for p in pages for g in p["values"]] == [g["id"] for g in groups]
    found = rows_of(client, f"{emulator.url}/kpi_groups", title="EKONOMISKT bistånd")
    assert [g["title"] for g in found] == ["Öppna jämförelser - Ekonomiskt bistånd"]


def test_kpi_groups_by_id_have_members_shaped_like_municipality_group_members(emulator, client):
    groups = rows_of(client, f"{emulator.url}/kpi_groups/G2KPI900101,G2KPI999999")
    assert [g["id"] for g in groups] == ["G2KPI900101"]
    assert set(groups[0]) == {"id", "title", "members"}
    first = groups[0]["members"][0]
    assert first == {"member_id": "N40011", "member_title": "Nettokostnad arbetsmarknadsåtgärder, kr/inv"}
    municipality_member = rows_of(client, f"{emulator.url}/municipality_groups/G2328")[0]["members"][0]
    assert set(first) == set(municipality_member)


# ---- faults -------------------------------------------------------------------------------------


def test_503_twice_then_normal_only_on_matching_paths(emulator, client):
    emulator.inject(Fault("503"), times=2, path_contains="/data/")
    assert client.get(f"{emulator.url}/kpi").status_code == 200
    data = f"{emulator.url}/data/kpi/N03926/municipality/2380/year/2021"
    assert [client.get(data).status_code for _ in range(3)] == [503, 503, 200]


def test_429_carries_retry_after(emulator, client):
    emulator.inject(Fault("429", retry_after=2))
    answer = client.get(f"{emulator.url}/kpi")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2" and "error" in answer.json()


def test_faults_are_consumed_in_injection_order_and_times_none_lasts(emulator, client):
    emulator.inject(Fault("502"))
    emulator.inject(Fault("html"), times=None)
    statuses = [client.get(f"{emulator.url}/kpi") for _ in range(3)]
    assert [a.status_code for a in statuses] == [502, 200, 200]
    assert all(a.headers["content-type"].startswith("text/html") for a in statuses)
    emulator.clear_faults()
    assert client.get(f"{emulator.url}/kpi").headers["content-type"].startswith("application/json")


def test_drop_raises_a_transport_error(emulator, client):
    emulator.inject(Fault("drop"))
    with pytest.raises(httpx.TransportError):
        client.get(f"{emulator.url}/data/kpi/N03926/year/2021")
    assert client.get(f"{emulator.url}/kpi").status_code == 200  # the client recovers on a new connection


def test_truncated_is_200_with_unparseable_json(emulator, client):
    emulator.inject(Fault("truncated"))
    answer = client.get(f"{emulator.url}/data/kpi/N03926/year/2021")
    assert answer.status_code == 200 and int(answer.headers["content-length"]) == len(answer.content)
    with pytest.raises(json.JSONDecodeError):
        answer.json()


@pytest.mark.parametrize(("kind", "status"), [("504", 504), ("410", 410), ("422", 422), ("empty", 200), ("503", 503)])
def test_status_faults(emulator, client, kind, status):
    emulator.inject(Fault(kind))
    answer = client.get(f"{emulator.url}/data/kpi/N03926/year/2021")
    assert answer.status_code == status
    if kind == "empty":
        assert answer.json() == {"values": [], "count": 0, "next_url": None, "previous_url": None}


def test_slow_waits_then_answers_normally(emulator, client):
    emulator.inject(Fault("slow", seconds=0.3))
    started = time.monotonic()
    assert len(rows_of(client, f"{emulator.url}/kpi")) == 20
    assert time.monotonic() - started >= 0.3


def test_500_answers_internal_server_error_in_json(emulator, client):
    emulator.inject(Fault("500"))
    answer = client.get(f"{emulator.url}/data/kpi/N03926/year/2021")
    assert answer.status_code == 500 and answer.json() == {"error": "Internal server error"}
    assert client.get(f"{emulator.url}/data/kpi/N03926/year/2021").status_code == 200


def test_outage_resets_new_and_keep_alive_connections_then_recovers(emulator, client):
    assert client.get(f"{emulator.url}/kpi/N03926").status_code == 200  # leaves a keep-alive connection
    emulator.start_outage(0.5)
    assert emulator.in_outage
    with pytest.raises(httpx.TransportError):
        client.get(f"{emulator.url}/kpi/N03926")  # on the open connection
    with httpx.Client(timeout=5, verify=False) as fresh, pytest.raises(httpx.TransportError):
        fresh.get(f"{emulator.url}/kpi/N03926")  # a new connection, reset right after accept
    assert emulator.refused == 2
    assert len(emulator.requests) == 1  # refused requests get no answer and no log entry
    while emulator.in_outage:
        time.sleep(0.05)
    assert client.get(f"{emulator.url}/kpi/N03926").status_code == 200


def test_server_built_with_outage_seconds_refuses_from_its_start(client):
    with EmulatorServer(small_universe(), outage_seconds=0.3) as emu:
        with pytest.raises(httpx.TransportError):
            client.get(f"{emu.url}/kpi/N03926")
        time.sleep(0.35)
        assert client.get(f"{emu.url}/kpi/N03926").status_code == 200
        emu.start_outage(30)
        emu.end_outage()
        assert client.get(f"{emu.url}/kpi/N03926").status_code == 200


def test_periodic_storm_gives_each_request_number_its_first_dividing_fault(emulator, client):
    emulator.faults.every({3: Fault("429"), 4: Fault("503"), 5: Fault("drop"), 7: Fault("500")})
    outcomes = []
    for _ in range(30):
        try:
            outcomes.append(client.get(f"{emulator.url}/kpi/N03926").status_code)
        except httpx.TransportError:
            outcomes.append("drop")
    expected = {3: 429, 4: 503, 5: "drop", 7: 500}
    for n, outcome in enumerate(outcomes, start=1):
        first = next((expected[d] for d in (3, 4, 5, 7) if n % d == 0), 200)
        assert outcome == first, f"request {n}"
    assert outcomes[11] == 429 and outcomes[19] == 503 and outcomes[13] == 500  # 12, 20 and 14: dict order wins
    emulator.clear_faults()
    assert [client.get(f"{emulator.url}/kpi").status_code for _ in range(4)] == [200] * 4


def test_armed_faults_go_before_the_schedule_and_still_count(emulator, client):
    emulator.faults.every({2: Fault("503")})
    emulator.inject(Fault("502"))
    assert [client.get(f"{emulator.url}/kpi").status_code for _ in range(4)] == [502, 503, 200, 503]


def test_schedule_keys_must_be_positive_ints(emulator):
    with pytest.raises(ValueError, match="positive ints"):
        emulator.faults.every({0: Fault("503")})


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("teapot")


# ---- transport: keep-alive, concurrency, log ---------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(emulator):
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", "/v3/kpi/N03926")
            answer = connection.getresponse()
            assert answer.status == 200 and json.loads(answer.read())["count"] == 1
    finally:
        connection.close()


def test_four_parallel_requests_overlap_their_latency(emulator):
    emulator.latency = 0.2
    limits = httpx.Limits(max_connections=4)
    with httpx.Client(limits=limits, timeout=10, verify=False) as c, ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        answers = list(pool.map(lambda y: c.get(f"{emulator.url}/data/kpi/N03926/year/{y}"), range(2018, 2022)))
        elapsed = time.monotonic() - started
    assert all(a.status_code == 200 for a in answers)
    assert elapsed < 0.6


def test_request_log_and_bytes_sent(emulator, client):
    client.get(f"{emulator.url}/kpi")
    answer = client.get(f"{emulator.url}/data/kpi/N03926/municipality/2380", params={"per_page": 3})
    assert [r.path for r in emulator.data_requests()] == ["/v3/data/kpi/N03926/municipality/2380"]
    record = emulator.data_requests()[0]
    assert record.query == {"per_page": "3"} and record.status == 200
    assert record.body_bytes == len(answer.content) and record.started <= record.finished
    assert emulator.bytes_sent == sum(r.body_bytes for r in emulator.requests)
    emulator.reset_log()
    assert emulator.requests == [] and emulator.bytes_sent == 0


# ---- universes ----------------------------------------------------------------------------------


def test_universe_edits_are_deterministic_and_served(emulator, client):
    u = emulator.universe
    assert u.mutate_fraction(0.05, LATER, seed=1) == small_universe().mutate_fraction(0.05, LATER, seed=1)
    assert u.add_year("N03926", 2025, LATER, rng_seed=3) == 19  # 18 kommuner + Riket
    rows = rows_of(client, f"{emulator.url}/data/kpi/N03926/year/2025")
    assert {"2380", "0000", "G2328"} <= {r["municipality"] for r in rows}


def test_full_universe_is_big_deterministic_and_serves(full_emulator, client):
    u = full_emulator.universe
    assert len(u.kommun_ids()) == 290 and len(u.municipalities) == 312 and len(u.groups) == 400
    assert len(u.groups["G2328"]["members"]) == 290
    assert u.values == full_universe().values
    rows = rows_of(client, f"{full_emulator.url}/data/kpi/N03926/municipality/G216379,2380/year/2021")
    assert [r["municipality"] for r in rows] == ["2380", "G216379"]
    pages = follow(client, f"{full_emulator.url}/data/kpi/U40455/year/2021?per_page=300", full_emulator.root)
    assert len(pages) == 3 and sum(p["count"] for p in pages) > 600


def test_server_stops_and_hangs_up(client):
    emu = EmulatorServer(small_universe()).start()
    url = emu.url
    assert client.get(f"{url}/kpi").status_code == 200  # leaves an idle keep-alive connection
    emu.stop()
    with pytest.raises(httpx.TransportError):
        client.get(f"{url}/kpi")
