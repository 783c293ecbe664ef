"""End to end: `kpijmf refresh` transfers only what Kolada changed, and `kpijmf revisions` lists it exactly."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pandas as pd
import pytest

from tests.support import kpijmf_env, observations, run_kpijmf

KPIS = ("N03926", "U40455", "N40011")
FETCH = ["fetch", "--kpi", ",".join(KPIS), "--years", "2019-2024", "--kommun", "2380"]
WITHDRAWN = [("N40011", "2303", 2020), ("U40455", "2480", 2022), ("N03926", "0180", 2024)]


@pytest.fixture
def refreshed(emulator, tmp_path):
    """Fetch, let Kolada change 5 %, withdraw three values and publish 2025 of N40011, then refresh."""
    store = tmp_path / "store"
    env = kpijmf_env(emulator.url, store)
    assert run_kpijmf(FETCH, env).code == 0
    cold_bytes = sum(r.body_bytes for r in emulator.data_requests())
    before = observations(store)
    today = date.today()
    universe = emulator.universe
    universe.mutate_fraction(0.05, today, seed=3)
    for kpi, unit, year in WITHDRAWN:
        universe.delete(kpi, unit, year, today)
    universe.add_year("N40011", 2025, today)
    emulator.reset_log()
    run = run_kpijmf(["refresh"], env)
    assert run.code == 0, run.stderr
    return {"env": env, "store": store, "before": before, "cold_bytes": cold_bytes, "run": run}


def test_refresh_asks_for_changes_since_the_day_before_the_last_refresh_then_only_for_aggregates(emulator, refreshed):
    data = emulator.data_requests()
    assert data, "refresh made no data requests"
    feed = [r for r in data if "from_date" in r.query]
    assert feed and all(r.query["from_date"] == (date.today() - timedelta(days=1)).isoformat() for r in feed)
    means = [r for r in data if "from_date" not in r.query]  # group means the feed did not bring
    aggregates = set(emulator.universe.groups) | {"0000"}
    for request in means:
        units = request.path.split("/municipality/")[1].split("/")[0].split(",")
        assert set(units) <= aggregates, request.path
    assert sum(r.body_bytes for r in data) < refreshed["cold_bytes"]


def test_refresh_of_a_full_size_store_moves_at_most_15_percent_of_the_cold_bytes(full_emulator, tmp_path):
    env = kpijmf_env(full_emulator.url, tmp_path / "store")
    assert run_kpijmf(["fetch", "--years", "2015-2024", "--kommun", "2380"], env).code == 0
    cold = sum(r.body_bytes for r in full_emulator.data_requests())
    today = date.today()
    universe = full_emulator.universe
    universe.mutate_fraction(0.05, today, seed=3)
    universe.add_year("N40011", 2025, today)
    for kpi, unit, year in WITHDRAWN:
        universe.delete(kpi, unit, year, today)
    full_emulator.reset_log()
    assert run_kpijmf(["refresh"], env).code == 0
    warm = sum(r.body_bytes for r in full_emulator.data_requests())
    assert warm <= 0.15 * cold, f"refresh moved {warm / cold:.1%} of the cold fetch's bytes"


def test_store_matches_the_emulator_after_refresh(emulator, refreshed):
    after = observations(refreshed["store"])
    universe = emulator.universe
    units = {u for (_, _, u, _) in refreshed["before"]}
    checked = 0
    for kpi in KPIS:
        for year in range(2019, 2026):
            for unit in units:
                for gender in universe.genders_of(kpi):
                    key = (kpi, year, unit, gender)
                    if unit in universe.groups:
                        expected = universe.value(kpi, unit, year, gender)
                        present = universe.group_count(kpi, unit, year, gender) > 0 or key in after
                    else:
                        cell = universe.cell(kpi, unit, year)
                        present = cell is not None and not cell.deleted
                        expected = cell.genders.get(gender) if present else None
                    if not present:
                        assert key not in after, key
                        continue
                    checked += 1
                    assert after[key] == pytest.approx(expected, abs=1e-9), key
    assert checked > 1000
    assert ("N40011", 2025, "2380", "T") in after  # the newly published year
    for kpi, unit, year in WITHDRAWN:
        assert (kpi, year, unit, "T") not in after


def test_revisions_list_exactly_the_changed_values(refreshed):
    before, after = refreshed["before"], observations(refreshed["store"])
    expected = {
        key: (old, after.get(key))
        for key, old in before.items()
        if key not in after or not (after[key] == old or (after[key] is None and old is None))
    }
    assert len(expected) > 20
    run = run_kpijmf(["revisions", "--format", "csv", "--output", "-"], refreshed["env"])
    assert run.code == 0, run.stderr
    listed = pd.read_csv(io.StringIO(run.stdout), dtype={"unit_id": str})
    got = {
        (r.kpi, int(r.year), r.unit_id, r.gender): (
            None if pd.isna(r.old_value) else r.old_value,
            None if pd.isna(r.new_value) else r.new_value,
        )
        for r in listed.itertuples()
    }
    assert got.keys() == expected.keys()
    for key, (old, new) in expected.items():
        assert got[key][0] == pytest.approx(old) if old is not None else got[key][0] is None
        assert got[key][1] == pytest.approx(new) if new is not None else got[key][1] is None
    removed = listed[listed.kind == "removed"]
    assert {(r.kpi, r.unit_id, int(r.year)) for r in removed.itertuples() if r.gender == "T"} >= set(WITHDRAWN)


def test_second_refresh_changes_nothing(emulator, refreshed):
    listed_before = run_kpijmf(["revisions", "-f", "csv"], refreshed["env"]).stdout
    stored_before = observations(refreshed["store"])
    run = run_kpijmf(["refresh"], refreshed["env"])
    assert run.code == 0
    assert "revised" not in run.stderr
    assert run_kpijmf(["revisions", "-f", "csv"], refreshed["env"]).stdout == listed_before
    assert observations(refreshed["store"]) == stored_before


def test_compare_show_revisions_marks_revised_cells(refreshed):
    run = run_kpijmf(
        [
            "compare",
            "--kommun",
            "2380",
            "--kpi",
            ",".join(KPIS),
            "--years",
            "2019-2024",
            "--show-revisions",
            "--offline",
            "-f",
            "csv",
        ],
        refreshed["env"],
    )
    assert run.code == 0, run.stderr
    frame = pd.read_csv(io.StringIO(run.stdout), dtype={"id": str})
    assert "revised" in frame.columns
    marked = {(r.kpi, int(r.year), r.id, r.gender) for r in frame.itertuples() if r.revised}
    before, after = refreshed["before"], observations(refreshed["store"])
    changed = {k for k in before if k in after and after[k] != before[k]}
    shown = {(r.kpi, int(r.year), r.id, r.gender) for r in frame.itertuples()}
    assert marked == changed & shown
    assert marked


@pytest.mark.parametrize("feed_groups", [True, False], ids=["feed-with-group-rows", "feed-without-group-rows"])
def test_compare_after_refresh_equals_a_fresh_fetch_of_the_revised_data(emulator, tmp_path, feed_groups):
    emulator.universe.change_feed_groups = feed_groups
    refreshed, fresh = kpijmf_env(emulator.url, tmp_path / "a"), kpijmf_env(emulator.url, tmp_path / "b")
    assert run_kpijmf(FETCH, refreshed).code == 0
    changes = emulator.universe.mutate_fraction(0.10, date.today(), seed=11)
    assert len(changes) > 100
    assert run_kpijmf(["refresh"], refreshed).code == 0
    assert run_kpijmf(FETCH, fresh).code == 0
    compare = ["compare", "--kommun", "2380", "--kpi", ",".join(KPIS), "--years", "2019-2024", "--offline"]
    tables = []
    for env in (refreshed, fresh):
        run = run_kpijmf([*compare, "-f", "csv"], env)
        assert run.code == 0, run.stderr
        tables.append(pd.read_csv(io.StringIO(run.stdout), dtype={"id": str}).drop(columns="fetched_at"))
    after_refresh, after_fresh_fetch = tables
    assert len(after_refresh) > 100
    pd.testing.assert_frame_equal(after_refresh, after_fresh_fetch)
    stored, expected = observations(tmp_path / "a"), observations(tmp_path / "b")
    assert stored == expected  # every stored value, group and Riket means included
