"""End to end: each command asks Kolada for the metadata it needs, and no more (issue 12, item 3).

Municipalities and groups as a whole; KPIs by id, those the command names; Kolada's whole KPI catalogue (two pages
of /v3/kpi) only for `kpi search` and the did-you-mean of an id Kolada lacks. Stale metadata is renewed the way
the store holds its KPIs: the whole catalogue again, or the stored KPIs by id.
"""

from __future__ import annotations

import sqlite3

import pytest

from kpijmf.store.db import Store
from tests.emulator import Fault
from tests.support import kpijmf_env, run_kpijmf

LONG_AGO = "2020-01-01T00:00:00Z"


@pytest.fixture
def env(emulator, tmp_path):
    return kpijmf_env(emulator.url, tmp_path / "store")


def _db(tmp_path) -> sqlite3.Connection:
    return sqlite3.connect(tmp_path / "store" / "kpijmf.sqlite")


def _stored_kpis(tmp_path) -> list[str]:
    with _db(tmp_path) as conn:
        return [k for (k,) in conn.execute("SELECT id FROM kpi ORDER BY id")]


def _meta(tmp_path, key: str) -> str | None:
    with _db(tmp_path) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _age_metadata(tmp_path) -> None:
    """Make the stored metadata older than KPIJMF_MAX_AGE_DAYS (the values stay fresh)."""
    with _db(tmp_path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'metadata_fetched_at'", (LONG_AGO,))


def _metadata_requests(emulator) -> list[tuple[str, str | None]]:
    return sorted((r.path, r.query.get("page")) for r in emulator.requests if not r.path.startswith("/v3/data/"))


def _by_id(emulator) -> set[str]:
    """The KPI ids asked for by id (/v3/kpi/<ids>)."""
    paths = [r.path.removeprefix("/v3/kpi/") for r in emulator.requests if r.path.startswith("/v3/kpi/")]
    return {k for path in paths for k in path.split(",")}


def _kolada_renames_n03926_and_drops_n31008(emulator) -> None:
    """Kolada's catalogue moves on (then the emulator's log starts afresh)."""
    with emulator.universe.lock:
        emulator.universe.kpis["N03926"] = {**emulator.universe.kpis["N03926"], "title": "Renamed (%)"}
        del emulator.universe.kpis["N31008"]
    emulator.reset_log()


CATALOGUE = [("/v3/kpi", "1"), ("/v3/kpi", "2")]
UNITS = [("/v3/municipality", None), ("/v3/municipality_groups", None)]


def test_kpi_search_after_a_cold_fetch_fetches_the_catalogue_once(emulator, env, tmp_path):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env).code == 0
    assert _stored_kpis(tmp_path) == ["N03926"]
    assert _meta(tmp_path, "kpi_catalogue_fetched_at") is None
    emulator.reset_log()
    found = run_kpijmf(["kpi", "search", "bistånd"], env)
    assert found.code == 0, found.stderr
    assert "N31008\tNettokostnad ekonomiskt bistånd, kr/inv" in found.stdout.splitlines()
    assert _metadata_requests(emulator) == CATALOGUE  # the two pages, nothing else
    assert len(_stored_kpis(tmp_path)) == 20 and _meta(tmp_path, "kpi_catalogue_fetched_at") is not None
    emulator.reset_log()
    again = run_kpijmf(["kpi", "search", "arbetslös"], env)
    assert again.code == 0, again.stderr
    assert "N03926" in again.stdout
    assert emulator.requests == []


def test_a_cold_kpi_search_stores_the_catalogue_and_the_units(emulator, env, tmp_path):
    found = run_kpijmf(["kpi", "search", "arbetslös"], env)
    assert found.code == 0, found.stderr
    assert _metadata_requests(emulator) == sorted([*CATALOGUE, *UNITS])  # stale metadata: renewed all at once
    emulator.reset_log()
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env).code == 0
    assert _metadata_requests(emulator) == []  # the KPI is stored already


def test_kpi_show_asks_by_id_and_an_id_kolada_lacks_gets_suggestions_from_the_catalogue(emulator, env, tmp_path):
    shown = run_kpijmf(["kpi", "show", "N03927"], env)
    assert shown.code == 0, shown.stderr
    assert shown.stdout.startswith("N03927  Arbetslöshet 16-24 år")
    assert _by_id(emulator) == {"N03927"} and ("/v3/kpi", "1") not in _metadata_requests(emulator)
    emulator.reset_log()
    unknown = run_kpijmf(["kpi", "show", "N03928"], env)
    assert unknown.code == 3
    assert "unknown KPI 'N03928'" in unknown.stderr and "did you mean N03" in unknown.stderr
    assert _metadata_requests(emulator) == sorted([("/v3/kpi/N03928", None), *CATALOGUE])
    assert len(_stored_kpis(tmp_path)) == 20  # stored whole: a later search asks nothing


def test_kommun_lookups_ask_for_no_kpi(emulator, env, tmp_path):
    run = run_kpijmf(["kommun", "show", "Östersund"], env)
    assert run.code == 0, run.stderr
    assert _metadata_requests(emulator) == UNITS
    assert _stored_kpis(tmp_path) == []


def test_a_stale_store_with_the_whole_catalogue_renews_it_whole(emulator, env, tmp_path):
    assert run_kpijmf(["kpi", "search", "arbetslös"], env).code == 0
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env).code == 0
    _age_metadata(tmp_path)
    _kolada_renames_n03926_and_drops_n31008(emulator)
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env)
    assert run.code == 0, run.stderr
    assert _metadata_requests(emulator) == sorted([*CATALOGUE, *UNITS])
    assert not _by_id(emulator)
    assert "N31008" not in _stored_kpis(tmp_path) and len(_stored_kpis(tmp_path)) == 19  # Kolada's, as it is now
    with _db(tmp_path) as conn:
        assert conn.execute("SELECT title FROM kpi WHERE id = 'N03926'").fetchone() == ("Renamed (%)",)
    assert _meta(tmp_path, "kpi_catalogue_fetched_at") > LONG_AGO


def test_a_stale_store_of_some_kpis_renews_them_by_id_and_keeps_those_kolada_no_longer_has(emulator, env, tmp_path):
    assert run_kpijmf(["fetch", "--kpi", "N03926,N31008", "--years", "2021"], env).code == 0
    _age_metadata(tmp_path)
    _kolada_renames_n03926_and_drops_n31008(emulator)
    run = run_kpijmf(["fetch", "--kpi", "U40455", "--years", "2021"], env)
    assert run.code == 0, run.stderr
    assert _by_id(emulator) == {"N03926", "N31008", "U40455"}  # the stored KPIs and the one now named
    assert not [r for r in emulator.requests if r.path == "/v3/kpi"]
    assert _stored_kpis(tmp_path) == ["N03926", "N31008", "U40455"]  # N31008 kept, as stored before
    with _db(tmp_path) as conn:
        assert conn.execute("SELECT title FROM kpi WHERE id = 'N03926'").fetchone() == ("Renamed (%)",)
    assert _meta(tmp_path, "metadata_fetched_at") > LONG_AGO
    assert _meta(tmp_path, "kpi_catalogue_fetched_at") is None


def test_refresh_option_renews_the_stored_kpis_by_id(emulator, env, tmp_path):
    assert run_kpijmf(["fetch", "--kpi", "N03926,N31008", "--years", "2021"], env).code == 0
    emulator.reset_log()
    run = run_kpijmf(["fetch", "--kpi", "U40455", "--years", "2021", "--refresh"], env)
    assert run.code == 0, run.stderr
    assert _by_id(emulator) == {"N03926", "N31008", "U40455"}
    assert sorted(p for p in _metadata_requests(emulator) if not p[0].startswith("/v3/kpi/")) == UNITS


def test_a_store_of_many_kpis_renews_the_whole_catalogue_rather_than_ask_each_by_id(emulator, env, tmp_path):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env).code == 0
    with Store.open(tmp_path / "store" / "kpijmf.sqlite") as store:  # as a store of an older kpijmf holds them
        store.write_kpis([{"id": f"N9{i:04d}", "title": f"Old {i}"} for i in range(300)])
    _age_metadata(tmp_path)
    emulator.reset_log()
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env)
    assert run.code == 0, run.stderr
    assert _metadata_requests(emulator) == sorted([*CATALOGUE, *UNITS])
    assert len(_stored_kpis(tmp_path)) == 20 and _meta(tmp_path, "kpi_catalogue_fetched_at") is not None


def test_compare_offline_after_a_cold_fetch_has_the_titles_of_the_fetched_kpis(emulator, env, tmp_path):
    fetch = ["fetch", "--kpi", "N03926,U40455", "--years", "2019-2021", "--kommun", "2380"]
    assert run_kpijmf(fetch, env).code == 0
    emulator.reset_log()
    args = ["compare", "--kommun", "2380", "--kpi", "N03926,U40455", "--years", "2019-2021", "--offline", "-f", "csv"]
    run = run_kpijmf(args, env)
    assert run.code == 0, run.stderr
    assert emulator.requests == []
    assert 'N03926,"Långtidsarbetslösa i befolkningen, 25-65 år, andel (%)"' in run.stdout
    assert 'U40455,"Resultat vid avslut' in run.stdout


def test_compare_offline_says_the_store_lacks_a_kpi_never_fetched_rather_than_call_it_unknown(emulator, env):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021", "--kommun", "2380"], env).code == 0
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N40011", "--years", "2021", "--offline"], env)
    assert run.code == 6
    assert "the store lacks N40011 (never fetched" in run.stderr and "unknown" not in run.stderr
    emulator.reset_log()
    on_set = run_kpijmf(["compare", "--kommun", "2380", "--years", "2021", "--offline"], env)  # arbetsmarknad
    assert on_set.code == 6 and "the store lacks N40011, U40800" in on_set.stderr
    assert emulator.requests == []


def test_cold_compare_asks_for_its_kpis_by_id_beside_the_units(emulator, env, tmp_path):
    emulator.latency = 0.05
    args = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2021", "-f", "csv"]
    run = run_kpijmf(args, env)
    assert run.code == 0, run.stderr
    assert _metadata_requests(emulator) == sorted([("/v3/kpi/N03926", None), *UNITS])
    by_id = next(r for r in emulator.requests if r.path == "/v3/kpi/N03926")
    assert by_id.started < min(r.finished for r in emulator.requests if r.path == "/v3/municipality")


def test_cache_info_says_whether_the_store_holds_the_whole_catalogue(emulator, env):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env).code == 0
    by_id = run_kpijmf(["--lang", "en", "cache", "info"], env)
    assert "whole KPI catalogue fetched: never (only the KPIs commands needed, fetched by id)" in by_id.stdout
    assert run_kpijmf(["kpi", "search", "bistånd"], env).code == 0
    whole = run_kpijmf(["--lang", "en", "cache", "info"], env)
    assert "whole KPI catalogue fetched: 20" in whole.stdout


def test_a_set_kpi_kolada_lacks_is_asked_for_once_then_skipped_warm_and_offline(emulator, env, tmp_path):
    set_file = tmp_path / "mine.toml"
    kpis = "".join(
        f'[[kpi]]\nid = "{k}"\nlabel = "{k}"\nunit = "%"\ndirection = "lower"\n' for k in ("N03926", "N99999")
    )
    set_file.write_text(f'name = "mine"\ntitle = "Mine"\n{kpis}', encoding="utf-8")
    assert run_kpijmf(["fetch", "--set", str(set_file), "--years", "2021", "--kommun", "2380"], env).code == 0
    assert "N99999" in _by_id(emulator)
    assert _meta(tmp_path, "kpis_absent") == '["N99999"]'
    compare = ["compare", "--kommun", "2380", "--set", str(set_file), "--years", "2021", "-f", "csv"]
    for extra in ([], ["--offline"]):
        emulator.reset_log()
        run = run_kpijmf([*compare, *extra], env)
        assert run.code == 0, run.stderr
        assert emulator.requests == []  # Kolada lacked it when asked: not asked again until the metadata is renewed
        assert "N99999" in run.stderr and "N03926" in run.stdout and "N99999" not in run.stdout
    _age_metadata(tmp_path)
    emulator.reset_log()
    assert run_kpijmf(compare, env).code == 0
    assert "N99999" in _by_id(emulator)  # renewed metadata asks again


def test_cold_compare_starts_its_data_requests_before_the_kpis_metadata_has_come(emulator, env, tmp_path):
    emulator.inject(Fault("slow", seconds=1.0), times=None, path_contains="/v3/kpi/")  # the KPI's answer comes last
    args = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2021", "-f", "csv"]
    run = run_kpijmf(args, env)
    assert run.code == 0, run.stderr
    assert "N03926" in run.stdout
    by_id = next(r for r in emulator.requests if r.path == "/v3/kpi/N03926")
    assert min(r.started for r in emulator.data_requests()) < by_id.finished
    assert _stored_kpis(tmp_path) == ["N03926"]  # checked, then stored with the values


def test_warm_compare_asks_for_a_new_kpi_beside_its_data_and_stops_on_an_unknown_one(emulator, env, tmp_path):
    compare = ["compare", "--kommun", "2380", "--years", "2021", "-f", "csv", "--kpi"]
    assert run_kpijmf([*compare, "N03926"], env).code == 0
    emulator.reset_log()
    emulator.latency = 0.3
    run = run_kpijmf([*compare, "N03926,U40455"], env)
    assert run.code == 0, run.stderr
    assert "U40455" in run.stdout
    [by_id] = [r for r in emulator.requests if not r.path.startswith("/v3/data")]
    assert by_id.path == "/v3/kpi/U40455"
    assert min(r.started for r in emulator.data_requests()) < by_id.finished
    with _db(tmp_path) as conn:
        before = conn.execute("SELECT COUNT(*) FROM observation").fetchone()[0]
    emulator.latency = 0.0
    unknown = run_kpijmf([*compare, "N03926,N99999"], env)
    assert unknown.code == 3 and "unknown KPI 'N99999'" in unknown.stderr
    with _db(tmp_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM observation").fetchone()[0] == before  # nothing written
