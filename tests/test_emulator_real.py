"""The real universe: Kolada's real metadata snapshot, served with generated values."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import httpx
import pytest

from scripts.build_snapshot import build, encode
from tests.emulator import load_snapshot
from tests.emulator.real import SET_KPIS, _real_template
from tests.emulator.snapshot import SNAPSHOT

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "kolada"


@pytest.fixture
def client():
    with httpx.Client(timeout=10, verify=False) as c:
        yield c


def rows_of(client: httpx.Client, url: str, **params) -> list[dict]:
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["values"]


def t_of(row: dict) -> float | None:
    return next(e["value"] for e in row["values"] if e["gender"] == "T")


# ---- the snapshot -------------------------------------------------------------------------------


def test_snapshot_holds_290_kommuner_3630_groups_and_6099_kpis():
    snapshot = load_snapshot()
    assert snapshot["captured"] == "2026-03-23" and "Kolada" in snapshot["source"]
    types = [m["type"] for m in snapshot["municipalities"]]
    assert types.count("K") == 290 and types.count("L") == 22
    assert len(snapshot["groups"]) == 3630
    assert len(snapshot["kpis"]) == 6099
    n03926 = next(k for k in snapshot["kpis"] if k["id"] == "N03926")
    assert n03926["is_divided_by_gender"] is True and n03926["prel_publication_date"] is None
    assert "Arbetsförmedlingen" in n03926["description"]


def test_snapshot_is_small_and_rebuilds_byte_for_byte():
    assert SNAPSHOT.stat().st_size < 1_500_000
    if not SHARED.is_dir():
        pytest.skip(f"reference files not at {SHARED}")
    assert encode(build(SHARED)) == SNAPSHOT.read_bytes()


def test_set_kpis_are_every_catalogue_kpi_the_builtin_sets_name():
    sets = sorted({*ROOT.glob("kpi_sets/*.toml"), *ROOT.glob("kpijmf/**/kpi_sets/*.toml")})
    assert sets, "no built-in KPI set files found"
    named = {kpi["id"] for path in sets for kpi in tomllib.loads(path.read_text(encoding="utf-8"))["kpi"]}
    catalogue = {k["id"] for k in load_snapshot()["kpis"]}
    assert set(SET_KPIS) == named & catalogue


# ---- the real universe served -------------------------------------------------------------------


def test_real_universe_serves_håbo_and_habo_as_two_kommuner(real_emulator, client):
    units = rows_of(client, f"{real_emulator.url}/municipality/0305,0643")
    assert [(m["id"], m["title"], m["type"]) for m in units] == [("0305", "Håbo", "K"), ("0643", "Habo", "K")]
    assert [m["id"] for m in rows_of(client, f"{real_emulator.url}/municipality", title="håbo")] == ["0305"]
    assert len(rows_of(client, f"{real_emulator.url}/municipality", region_type="K")) == 290


def test_g2328_has_290_members_and_serves_their_unweighted_mean(real_emulator, client):
    group = rows_of(client, f"{real_emulator.url}/municipality_groups/G2328")[0]
    assert len(group["members"]) == 290
    rows = rows_of(client, f"{real_emulator.url}/data/kpi/N03926/year/2021")
    kommuner = {m["member_id"] for m in group["members"]}
    values = [t_of(r) for r in rows if r["municipality"] in kommuner and t_of(r) is not None]
    mean = next(r for r in rows if r["municipality"] == "G2328")["values"]
    t = next(e for e in mean if e["gender"] == "T")
    assert t["count"] == len(values) > 250
    assert t["value"] == pytest.approx(sum(values) / len(values))
    assert len({r["municipality"] for r in rows if r["municipality"].startswith("G")}) > 3000


def test_real_universe_has_the_whole_catalogue_but_values_only_for_set_kpis(real_emulator, client):
    first = client.get(f"{real_emulator.url}/kpi").json()
    assert first["count"] == 5000 and first["next_url"]
    assert client.get(first["next_url"]).json()["count"] == 1099
    assert rows_of(client, f"{real_emulator.url}/kpi", title="(-2023)")
    assert rows_of(client, f"{real_emulator.url}/data/kpi/N00003/municipality/2380") == []
    assert rows_of(client, f"{real_emulator.url}/data/kpi/N30005/municipality/2380")


def test_years_per_kpi_follow_the_catalogue(real_emulator, client):
    rows = rows_of(client, f"{real_emulator.url}/data/kpi/N03941,N40011,N03932,N02797/municipality/0000")
    last = {kpi: max(r["period"] for r in rows if r["kpi"] == kpi) for kpi in ("N03941", "N40011", "N03932", "N02797")}
    assert last == {"N03941": 2025, "N40011": 2024, "N03932": 2023, "N02797": 2023}
    assert min(r["period"] for r in rows) == 2015


def test_real_universe_kpi_groups_name_real_catalogue_kpis(real_emulator, client):
    catalogue = {k["id"]: k["title"] for k in load_snapshot()["kpis"]}
    groups = rows_of(client, f"{real_emulator.url}/kpi_groups")
    assert len(groups) == 4
    assert all(catalogue[m["member_id"]] == m["member_title"] for g in groups for m in g["members"])


def test_real_universe_builds_fast_because_group_means_stay_lazy():
    # CPU time of this thread: the build is single-threaded, and wall time swings on a shared machine.
    started = time.thread_time()
    u = _real_template.__wrapped__(12345)  # uncached: a real build
    elapsed = time.thread_time() - started
    assert all(unit not in u.groups for (_kpi, unit, _year) in u.values)
    assert elapsed < 3.0, f"building the real universe took {elapsed:.2f} s of CPU"
