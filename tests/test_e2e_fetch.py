"""End to end: the installed `kpijmf fetch` against the loopback Kolada emulator, checked in the store."""

from __future__ import annotations

import sqlite3

import pytest

from tests.emulator import Fault
from tests.support import kpijmf_env, observations, run_kpijmf, store_digest


@pytest.fixture
def env(emulator, tmp_path):
    return kpijmf_env(emulator.url, tmp_path / "store")


def test_fetch_stores_kommun_values_group_means_riket_and_nulls(emulator, env, tmp_path):
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--kpi", "U40455", "--years", "2019-2021", "--kommun", "2380"], env)
    assert run.code == 0, run.stderr
    assert run.stdout == ""  # talk goes to stderr
    assert "lagrade" in run.stderr  # Swedish by default
    stored = observations(tmp_path / "store")
    assert [stored[("N03926", y, "2380", "T")] for y in (2019, 2020, 2021)] == [2.6, 3.0, 3.2]
    assert stored[("N03926", 2021, "2380", "K")] == 2.8
    assert stored[("N03926", 2021, "0000", "T")] == 3.4  # Riket as published, not a mean
    assert stored[("N03926", 2021, "G33630", "T")] == pytest.approx(23.8 / 7)  # Jämtland, Berg missing
    assert stored[("N03926", 2021, "G30831", "T")] == 3.2  # published override kept as published
    assert ("N03926", 2020, "2303", "T") in stored and stored[("N03926", 2020, "2303", "T")] is None
    assert ("N03926", 2021, "2326", "T") not in stored  # no row at all stays absent, never 0
    units = {u for (_, _, u, _) in stored}
    assert units >= {"G2328", "G30831", "G92790", "G33630", "G216379", "0000"}
    assert len([u for u in units if not u.startswith("G") and u != "0000"]) == 18


def test_fetch_over_several_batches_and_pages_matches_the_emulator(full_emulator, tmp_path):
    full_emulator.page_cap = 200
    env = kpijmf_env(full_emulator.url, tmp_path / "store")
    run = run_kpijmf(["fetch", "--kpi", "N03926,N40011", "--years", "2015-2024"], env)
    assert run.code == 0, run.stderr
    data = full_emulator.data_requests()
    batch_paths = {r.path for r in data}
    assert len(batch_paths) == 12  # 290 kommuner + Riket + G2328 = 292 units, ≤ 25 per request
    assert len(data) > len(batch_paths)  # some batches needed more than one page
    assert all(len(p.split("/municipality/")[1].split("/")[0].split(",")) <= 25 for p in batch_paths)
    stored = observations(tmp_path / "store")
    universe = full_emulator.universe
    expected = 0
    for kommun in universe.kommun_ids():
        for year in range(2015, 2025):
            for kpi in ("N03926", "N40011"):
                cell = universe.cell(kpi, kommun, year)
                if cell is None or cell.deleted:
                    assert (kpi, year, kommun, "T") not in stored
                    continue
                expected += 1
                assert stored[(kpi, year, kommun, "T")] == cell.genders["T"]
    assert expected > 5000


def test_second_fetch_of_fresh_data_makes_no_data_requests(emulator, env):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2019-2021"], env).code == 0
    emulator.reset_log()
    again = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2019-2021"], env)
    assert again.code == 0
    assert emulator.data_requests() == []
    assert "inget att hämta" in again.stderr


@pytest.mark.parametrize(
    "fault",
    [Fault("429", retry_after=1), Fault("503"), Fault("drop")],
    ids=["429-retry-after", "503", "dropped-connection"],
)
def test_transient_faults_are_retried_to_an_identical_store(emulator, tmp_path, fault):
    args = ["fetch", "--kpi", "N03926,U40455", "--years", "2019-2021", "--kommun", "2380"]
    clean = tmp_path / "clean"
    assert run_kpijmf(args, kpijmf_env(emulator.url, clean)).code == 0
    emulator.inject(fault, times=2, path_contains="/data/")
    faulty = tmp_path / "faulty"
    run = run_kpijmf(args, kpijmf_env(emulator.url, faulty))
    assert run.code == 0, run.stderr
    assert store_digest(faulty) == store_digest(clean)


@pytest.mark.parametrize(("kind", "cause"), [("truncated", "invalid JSON"), ("html", "text/html")])
def test_malformed_body_exits_4_with_url_and_keeps_the_store(emulator, env, tmp_path, kind, cause):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2019-2021"], env).code == 0
    before = store_digest(tmp_path / "store")
    emulator.inject(Fault(kind), times=None, path_contains="/data/")
    run = run_kpijmf(["fetch", "--kpi", "N03926,U40455", "--years", "2019-2021", "--refresh"], env)
    assert run.code == 4
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("kpijmf: error: ")
    assert cause in lines[0]
    assert f"{emulator.url}/data/kpi/" in lines[0]
    assert store_digest(tmp_path / "store") == before


def test_v2_url_is_explained(emulator, tmp_path):
    env = kpijmf_env(emulator.root + "/v2", tmp_path / "store")
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env)
    assert run.code == 4
    assert "410" in run.stderr
    assert "retired v2 API" in run.stderr
    assert "KPIJMF_API_URL" in run.stderr
    assert "Traceback" not in run.stderr


def test_unreachable_api_exits_4_naming_the_host(tmp_path):
    env = kpijmf_env("http://127.0.0.1:9/v3", tmp_path / "store", KPIJMF_MAX_TRIES="2")
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env)
    assert run.code == 4
    assert "cannot reach Kolada at http://127.0.0.1:9/v3" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


# -- no needless waits: data requests overlap the metadata (issue 12, item 3) -------------------------


def test_cold_fetch_asks_its_kpis_by_id_beside_the_units_and_sends_data_before_they_answer(emulator, env, tmp_path):
    emulator.latency = 0.05
    emulator.inject(Fault("slow", seconds=1.5), times=None, path_contains="/v3/kpi/")  # not /v3/data/kpi/
    run = run_kpijmf(["fetch", "--kpi", "N03926,U40455", "--years", "2019-2021"], env)
    assert run.code == 0, run.stderr
    (by_id,) = [r for r in emulator.requests if r.path.startswith("/v3/kpi/")]
    assert sorted(by_id.path.removeprefix("/v3/kpi/").split(",")) == ["N03926", "U40455"]
    assert not [r for r in emulator.requests if r.path == "/v3/kpi"]  # never the whole catalogue
    units = [r for r in emulator.requests if r.path in ("/v3/municipality", "/v3/municipality_groups")]
    assert len(units) == 2 and by_id.started < min(r.finished for r in units)  # asked for at once with them
    data = emulator.data_requests()
    assert min(r.started for r in data) < by_id.finished  # the data did not wait for the KPIs
    assert len({r.path for r in data}) == 1  # 18 kommuner + Riket + G2328: one batch
    stored = observations(tmp_path / "store")
    assert stored[("N03926", 2021, "2380", "T")] == 3.2
    with sqlite3.connect(tmp_path / "store" / "kpijmf.sqlite") as conn:
        assert conn.execute("SELECT id FROM kpi ORDER BY id").fetchall() == [("N03926",), ("U40455",)]
        assert conn.execute("SELECT value FROM meta WHERE key = 'kpi_catalogue_fetched_at'").fetchall() == []


def test_cold_fetch_of_the_benchmark_job_asks_one_batch_of_kpis_by_id_and_never_the_catalogue(emulator, env):
    kpis = "N40011,U40800,U40811,N03932,N03926,N03927,N02797,U40455,U40406,U40409,N00973,N30101,N18601"
    run = run_kpijmf(["fetch", "--kpi", kpis, "--years", "2015-2024"], env)
    assert run.code == 0, run.stderr
    metadata = sorted(r.path for r in emulator.requests if not r.path.startswith("/v3/data/"))
    assert metadata == ["/v3/kpi/" + kpis, "/v3/municipality", "/v3/municipality_groups"]
    assert len(emulator.data_requests()) == 1  # 13 KPIs × 10 years × 20 units: one batch in the small universe


def test_fetch_with_fresh_stored_metadata_asks_only_for_the_kpis_it_lacks_by_id(emulator, env):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2019-2021"], env).code == 0
    emulator.reset_log()
    run = run_kpijmf(["fetch", "--kpi", "N03926,U40455", "--years", "2019-2021", "--kommun", "2380"], env)
    assert run.code == 0, run.stderr
    assert [r.path for r in emulator.requests if not r.path.startswith("/v3/data/")] == ["/v3/kpi/U40455"]
    assert emulator.data_requests()
    emulator.reset_log()
    again = run_kpijmf(["fetch", "--kpi", "U40455,N03926", "--years", "2018", "--kommun", "2380"], env)
    assert again.code == 0, again.stderr
    assert [r.path for r in emulator.requests if not r.path.startswith("/v3/data/")] == []
    assert emulator.data_requests()


@pytest.mark.parametrize(
    ("kpis", "said"),
    [("N03926,N99999", "unknown KPI 'N99999'"), ("N03926,N17434", "its successor is N18601")],
    ids=["unknown", "removed-with-successor"],
)
def test_unknown_kpi_in_a_cold_fetch_exits_3_with_nothing_stored(emulator, env, tmp_path, kpis, said):
    emulator.inject(Fault("slow", seconds=0.5), times=None, path_contains="/v3/kpi")  # data answers first
    run = run_kpijmf(["fetch", "--kpi", kpis, "--years", "2019-2021"], env)
    assert run.code == 3, run.stderr
    assert said in run.stderr
    assert emulator.data_requests()  # asked for on the chance, before the catalogue came ...
    with sqlite3.connect(tmp_path / "store" / "kpijmf.sqlite") as conn:  # ... and nothing of it stored
        for table in ("observation", "coverage", "kpi", "municipality", "fetch_log"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,), table


def test_unknown_kpi_wins_over_a_failing_data_request(emulator, env):
    emulator.inject(Fault("slow", seconds=0.5), times=None, path_contains="/v3/kpi")
    emulator.inject(Fault("422"), times=None, path_contains="/v3/data/")
    run = run_kpijmf(["fetch", "--kpi", "N99999", "--years", "2021"], env)
    assert run.code == 3, run.stderr
    assert "unknown KPI 'N99999'" in run.stderr


def test_set_kpis_missing_from_kolada_are_skipped_and_not_marked_fetched(emulator, env, tmp_path):
    set_file = tmp_path / "mine.toml"
    kpis = "".join(
        f'[[kpi]]\nid = "{k}"\nlabel = "{k}"\nunit = "%"\ndirection = "lower"\n' for k in ("N03926", "N99999", "U40455")
    )
    set_file.write_text(f'name = "mine"\ntitle = "Mine"\n{kpis}', encoding="utf-8")
    run = run_kpijmf(["fetch", "--set", str(set_file), "--years", "2021"], env)
    assert run.code == 0, run.stderr
    assert "N99999" in run.stderr  # said to be skipped
    with sqlite3.connect(tmp_path / "store" / "kpijmf.sqlite") as conn:
        covered = {k for (k,) in conn.execute("SELECT DISTINCT kpi FROM coverage")}
        logged = conn.execute("SELECT kpis FROM fetch_log").fetchall()
    assert covered == {"N03926", "U40455"}  # the small universe's two KPIs
    assert logged == [("N03926,U40455",)]


def test_a_kpi_published_since_the_catalogue_was_stored_is_asked_for_by_id_beside_its_data(emulator, env, tmp_path):
    assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env).code == 0
    with emulator.universe.lock:
        emulator.universe.kpis["N99998"] = {**emulator.universe.kpis["N03926"], "id": "N99998", "title": "Ny"}
    emulator.reset_log()
    emulator.latency = 0.5
    run = run_kpijmf(["fetch", "--kpi", "N99998,N03926", "--years", "2021"], env)
    emulator.latency = 0.0
    assert run.code == 0, run.stderr
    [asked] = [r for r in emulator.requests if not r.path.startswith("/v3/data/")]
    assert asked.path == "/v3/kpi/N99998"
    [data] = emulator.data_requests()
    assert data.started < asked.finished  # the data did not wait for the KPI's metadata
    assert "i 2 anrop (1 för data)" in run.stderr  # both counted: one client, built once, served both threads
    with sqlite3.connect(tmp_path / "store" / "kpijmf.sqlite") as conn:
        assert conn.execute("SELECT title FROM kpi WHERE id = 'N99998'").fetchall() == [("Ny",)]
        assert conn.execute("SELECT COUNT(*) FROM kpi").fetchone()[0] > 1  # the rest of the catalogue kept
    emulator.reset_log()
    before = store_digest(tmp_path / "store")
    unknown = run_kpijmf(["fetch", "--kpi", "N99999", "--years", "2021"], env)
    assert unknown.code == 3
    assert "unknown KPI 'N99999'" in unknown.stderr
    assert store_digest(tmp_path / "store") == before  # no value stored, nothing covered
    # by id (its data asked for on the chance, beside it); Kolada lacks it, so the whole catalogue once, for the
    # did-you-mean, and kept although the fetch stopped
    log = [(r.path, r.query.get("page")) for r in emulator.requests if not r.path.startswith("/v3/data/")]
    assert log[0] == ("/v3/kpi/N99999", None) and sorted(log[1:]) == [("/v3/kpi", "1"), ("/v3/kpi", "2")]
    assert len(emulator.data_requests()) <= 1
    with sqlite3.connect(tmp_path / "store" / "kpijmf.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM kpi").fetchone()[0] == 21  # the universe's 20 and N99998
    emulator.reset_log()
    again = run_kpijmf(["fetch", "--kpi", "N99999", "--years", "2021"], env)
    assert again.code == 3 and "unknown KPI 'N99999'" in again.stderr
    # the stored catalogue is whole: by id only (beside the data asked for on the chance), no catalogue page
    assert [r.path for r in emulator.requests if not r.path.startswith("/v3/data/")] == ["/v3/kpi/N99999"]
    assert len(emulator.data_requests()) <= 1
    emulator.reset_log()
    third = run_kpijmf(["fetch", "--kpi", "N99999", "--years", "2021"], env)
    assert third.code == 3 and "unknown KPI 'N99999'" in third.stderr
    assert emulator.requests == []  # remembered as absent: not asked for again until the metadata is renewed
