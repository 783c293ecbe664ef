"""The syncer over a mock transport: what a fetch and a refresh store, ask for and leave alone."""

from __future__ import annotations

import gc
from datetime import date, timedelta

import httpx

from kpijmf.config import Settings
from kpijmf.kolada.client import KoladaClient
from kpijmf.service.sync import Syncer, plan_requests
from kpijmf.store.db import Store
from tests.test_client import entry, envelope, route_ids, row


def test_plan_of_a_product_is_the_product_and_new_units_get_their_own_plan():
    product = [(k, y, u) for k in ("A", "B") for y in (2020, 2021) for u in ("1", "2")]
    assert plan_requests(product) == [(["A", "B"], ["1", "2"], [2020, 2021])]
    extra = [("A", 2021, "3")]
    assert plan_requests(product + extra) == [(["A", "B"], ["1", "2"], [2020, 2021]), (["A"], ["3"], [2021])]


class _Kolada:
    """A mock Kolada: value = unit number + year offset (+ a bump); records whether the collector ran."""

    def __init__(self) -> None:
        self.bump = 0.0
        self.gc_enabled: list[bool] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.gc_enabled.append(gc.isenabled())
        kpis, units, years = route_ids(request)
        return envelope(
            [
                row(k, u, int(y), entry("T", int(u) + int(y) - 2020 + self.bump))
                for k in kpis
                for u in units
                for y in years or []
            ]
        )


def test_first_fetch_then_refetch_stores_values_and_records_what_changed(tmp_path):
    kolada = _Kolada()
    client = KoladaClient("https://kolada.test/v3", http=httpx.Client(transport=httpx.MockTransport(kolada)))
    units = [f"{n:04d}" for n in range(1, 31)]  # two batches of ≤ 25
    with Store.open(tmp_path / "kpijmf.sqlite") as store, Syncer(Settings(), store, client=client) as syncer:
        first = syncer.fetch(["N1"], units, [2020, 2021])
        assert (first.rows, first.cells, first.changed, first.data_requests) == (60, 60, 0, 2)
        assert store.count_covered(["N1"], [2020, 2021], units) == 60
        kolada.bump = 0.5
        again = syncer.fetch(["N1"], units, [2020, 2021], refresh=True)
        assert (again.rows, again.changed) == (60, 60)
        assert len(store.revisions()) == 60
        stored = store.observations(["N1"], [2021], ["0007"])
        assert stored["value"].tolist() == [7 + 1 + 0.5]
    assert kolada.gc_enabled == [True] * 4  # library code leaves the process's garbage collector alone
    assert gc.isenabled()


def test_progress_counts_every_data_request_of_a_fetch_and_ends_at_its_total(tmp_path):
    kolada = _Kolada()
    client = KoladaClient("https://kolada.test/v3", http=httpx.Client(transport=httpx.MockTransport(kolada)))
    units = [f"{n:04d}" for n in range(1, 61)]  # three unit batches
    seen: list[tuple[int, int]] = []
    with (
        Store.open(tmp_path / "kpijmf.sqlite") as store,
        Syncer(Settings(), store, client=client, progress=lambda d, t: seen.append((d, t))) as syncer,
    ):
        syncer.fetch(["N1", "N2"], units[:40], [2020])
        seen.clear()
        result = syncer.fetch(["N1", "N2"], units, [2020, 2021])  # two plans: new units, and a new year
    assert result.data_requests == len(seen) == seen[-1][0] == seen[-1][1]
    assert [d for d, _ in seen] == list(range(1, len(seen) + 1))


class _ChangingKolada:
    """A mock Kolada of kommuner 0001–0004, group G1 (0001–0002) and Riket 0000 (all four), whose group and
    Riket values are means of the members'. Its change feed (from_date) carries kommun rows only: the changed
    ones, plus `repeated` unchanged ones (what an overlapping from_date gets again)."""

    KOMMUNER = ("0001", "0002", "0003", "0004")

    def __init__(self) -> None:
        self.members = {"G1": ("0001", "0002"), "0000": self.KOMMUNER}
        self.values = {(u, y): float(int(u) * 10 + y - 2020) for u in self.KOMMUNER for y in (2020, 2021)}
        self.changed: set[tuple[str, int]] = set()
        self.repeated: set[tuple[str, int]] = set()
        self.requests: list[httpx.Request] = []

    def value(self, unit: str, year: int) -> float:
        members = self.members.get(unit)
        if members is None:
            return self.values[(unit, year)]
        return sum(self.values[(m, year)] for m in members) / len(members)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        kpis, units, years = route_ids(request)
        if "from_date" in request.url.params:
            fed = self.changed | self.repeated
            rows = [
                row(k, u, y, entry("T", self.values[(u, y)]))
                for k in kpis
                for u, y in sorted(fed)
                if u in units and str(y) in (years or [])
            ]
        else:
            rows = [
                row(k, u, int(y), entry("T", self.value(u, int(y))))
                for k in kpis
                for u in units
                for y in years or []
                if (u, int(y)) in self.values or u in self.members
            ]
        return envelope(rows)


def _refresh_setup(tmp_path, kolada: _ChangingKolada):
    client = KoladaClient("https://kolada.test/v3", http=httpx.Client(transport=httpx.MockTransport(kolada)))
    store = Store.open(tmp_path / "kpijmf.sqlite")
    store.write_metadata(
        [{"id": "N1", "title": "N1"}],
        [{"id": u, "title": u, "type": "K"} for u in _ChangingKolada.KOMMUNER],
        [{"id": "G1", "title": "G1", "members": [{"member_id": "0001"}, {"member_id": "0002"}]}],
        "2026-11-01T00:00:00Z",
    )
    syncer = Syncer(Settings(), store, client=client, command="refresh")
    syncer.fetch(["N1"], [*_ChangingKolada.KOMMUNER, "G1", "0000"], [2020, 2021])
    kolada.requests.clear()
    return store, syncer


def _stored(store: Store) -> dict[tuple[str, int], float]:
    frame = store.observations(["N1"])
    return {(r.unit_id, r.year): r.value for r in frame.itertuples()}


def test_refresh_refetches_group_and_riket_means_where_a_member_changed_when_the_feed_lacks_them(tmp_path):
    kolada = _ChangingKolada()
    store, syncer = _refresh_setup(tmp_path, kolada)
    with store, syncer:
        kolada.values[("0001", 2021)] += 4.0
        kolada.changed.add(("0001", 2021))
        result = syncer.refresh()
        stored = _stored(store)
        assert stored[("G1", 2021)] == kolada.value("G1", 2021)  # 2 higher: (11+4+12)/2
        assert stored[("0000", 2021)] == kolada.value("0000", 2021)
        assert stored[("G1", 2020)] == kolada.value("G1", 2020)
        # the change, and the two means it moved, are revisions; nothing else is
        assert sorted((r["unit_id"], r["year"]) for r in store.revisions()) == [
            ("0000", 2021),
            ("0001", 2021),
            ("G1", 2021),
        ]
        assert result.changed == 3
        refetch = [r for r in kolada.requests if "from_date" not in r.url.params]
        assert len(refetch) == 1  # one batched request for every aggregate of the changed KPI × year
        _, units, years = route_ids(refetch[0])
        assert sorted(units) == ["0000", "G1"] and years == ["2021"]


def test_refresh_asks_from_the_day_before_the_last_and_values_received_again_are_not_revisions(tmp_path):
    kolada = _ChangingKolada()
    store, syncer = _refresh_setup(tmp_path, kolada)
    with store, syncer:
        last = store.last_refresh("N1")
        assert last is not None
        kolada.repeated = {("0001", 2020), ("0003", 2021)}  # sent again, unchanged: the overlap day
        before = _stored(store)
        result = syncer.refresh()
        assert _stored(store) == before
        assert store.revisions() == []
        assert result.changed == result.removed == 0
        (feed,) = kolada.requests  # no group re-fetch when no member value changed
        expected = (date.fromisoformat(last) - timedelta(days=1)).isoformat()
        assert feed.url.params["from_date"] == expected


def test_refresh_refetches_means_for_a_withdrawn_member_value(tmp_path):
    kolada = _ChangingKolada()
    store, syncer = _refresh_setup(tmp_path, kolada)

    def withdrawing(request: httpx.Request) -> httpx.Response:
        if "from_date" in request.url.params:
            kolada.requests.append(request)
            return envelope([row("N1", "0004", 2020, entry("T", None, deleted=True))])
        return kolada(request)

    syncer.client._http = httpx.Client(transport=httpx.MockTransport(withdrawing))
    with store, syncer:
        del kolada.values[("0004", 2020)]
        kolada.members = {"G1": ("0001", "0002"), "0000": ("0001", "0002", "0003")}
        syncer.refresh()
        stored = _stored(store)
        assert ("0004", 2020) not in stored
        assert stored[("0000", 2020)] == kolada.value("0000", 2020)
        assert stored[("G1", 2020)] == kolada.value("G1", 2020)
        assert {(r["unit_id"], r["kind"]) for r in store.revisions()} == {("0004", "removed"), ("0000", "changed")}
        (refetch,) = [r for r in kolada.requests if "from_date" not in r.url.params]
        assert route_ids(refetch)[1:] == (["0000"], ["2020"])  # G1 does not hold 0004: its mean cannot move


def test_refresh_of_an_empty_store_asks_nothing_and_logs_nothing(tmp_path):
    kolada = _Kolada()
    client = KoladaClient("https://kolada.test/v3", http=httpx.Client(transport=httpx.MockTransport(kolada)))
    with Store.open(tmp_path / "kpijmf.sqlite") as store, Syncer(Settings(), store, client=client) as syncer:
        result = syncer.refresh()
        assert (result.rows, result.requests) == (0, 0)
        assert store.info()["counts"]["fetch_log"] == 0
    assert kolada.gc_enabled == []


class _Metadata:
    """A mock Kolada of two KPIs, one kommun and no groups; records the paths asked for."""

    def __init__(self) -> None:
        self.kpis = {"N03926": {"id": "N03926", "title": "Ett"}, "N40011": {"id": "N40011", "title": "Två"}}
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v3")
        self.paths.append(path)
        if path == "/kpi":
            values = list(self.kpis.values())
        elif path.startswith("/kpi/"):
            values = [self.kpis[k] for k in path.removeprefix("/kpi/").split(",") if k in self.kpis]
        elif path == "/municipality":
            values = [{"id": "0001", "title": "Ett", "type": "K"}]
        else:
            values = []
        return httpx.Response(200, json={"values": values, "count": len(values), "next_url": None})


def _metadata_syncer(tmp_path, kolada: _Metadata) -> tuple[Store, Syncer]:
    client = KoladaClient("https://kolada.test/v3", http=httpx.Client(transport=httpx.MockTransport(kolada)))
    store = Store.open(tmp_path / "kpijmf.sqlite")
    return store, Syncer(Settings(), store, client=client)


def test_ensure_metadata_asks_for_named_kpis_by_id_once_and_the_catalogue_only_when_asked(tmp_path):
    kolada = _Metadata()
    store, syncer = _metadata_syncer(tmp_path, kolada)
    with store, syncer:
        assert syncer.ensure_metadata(["N03926", "N99999", "n03926 "]) is True  # cold: units, groups and the KPIs by id
        assert sorted(kolada.paths) == ["/kpi/N03926,N99999", "/municipality", "/municipality_groups"]
        assert store.kpi_ids() == {"N03926"} and store.kpi_catalogue_fetched_at() is None
        kolada.paths.clear()
        assert syncer.ensure_metadata(["N03926", "N99999", "N17434"]) is False  # N99999 asked once; N17434 was removed
        assert syncer.ensure_metadata(["N40011"]) is True
        assert kolada.paths == ["/kpi/N40011"]
        assert store.kpi_ids() == {"N03926", "N40011"}
        kolada.paths.clear()
        assert syncer.ensure_metadata(catalogue=True) is True
        assert syncer.ensure_metadata(catalogue=True) is False
        assert [p for p in kolada.paths if p != "/kpi"] == [] and kolada.paths
        assert store.kpi_catalogue_fetched_at() is not None
