"""The syncer over a mock transport: what a first fetch and a refetch store, and the paused garbage collector."""

from __future__ import annotations

import gc

import httpx
import pytest

from kpijmf.config import Settings
from kpijmf.kolada.client import KoladaClient
from kpijmf.service.sync import Syncer, paused_gc, plan_requests
from kpijmf.store.db import Store
from tests.test_client import entry, envelope, route_ids, row


def test_paused_gc_restores_the_state_it_found_even_after_an_error():
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner one found it paused and leaves it so
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # not switched on behind the back of whoever switched it off
    finally:
        gc.enable()


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
    assert kolada.gc_enabled == [False] * 4  # paused while fetching and storing
    assert gc.isenabled()
