"""End to end: `kpijmf compare` against the emulator's small universe, checked against hand-computed numbers.

Hand computations (N03926, lower is better; values in tests/emulator/universe.py):
- 2021: 17 kommuner have a value (Berg has no row); Östersund 3.2 ties Falun at places 10-11 -> rank 10 of 17.
- 2020: Ragunda is null; Östersund 3.0 ties Alingsås and Skövde at 7-9 -> rank 7 of 17.
- 2019: all 18 have a value; Östersund 2.6 is 10th -> rank 10 of 18.
- Alla kommuner 2021 = 52.6 / 17; Jämtland 2021 = 23.8 / 7; liknande 2021 = 19.7 / 7;
  size class 2021 published 3.2 but its 8 members average 22.4 / 8 = 2.8.
U40455 (higher is better) 2021: Östersund 38.9 is 12th of 17 (Härjedalen has no row).
"""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.support import kpijmf_env, run_kpijmf

YEARS = ["--years", "2019-2021"]
PEER_IDS = ["2380", "G2328", "G30831", "G92790", "G33630", "G216379", "0000"]


@pytest.fixture(scope="module")
def served():
    with EmulatorServer(small_universe()) as emu:
        yield emu


@pytest.fixture(scope="module")
def env(served, tmp_path_factory):
    return kpijmf_env(served.url, tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def long_csv(env):
    run = run_kpijmf(["compare", "--kommun", "2380", *YEARS, "--format", "csv", "--output", "-"], env)
    assert run.code == 0, run.stderr
    return pd.read_csv(io.StringIO(run.stdout), dtype={"id": str, "kpi": str})


def pick(frame, kpi, unit, year, gender="T"):
    rows = frame[(frame.kpi == kpi) & (frame.id == unit) & (frame.year == year) & (frame.gender == gender)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_every_kpi_with_data_has_the_kommun_and_all_six_peers(long_csv, served):
    assert {"kpi", "kpi_title", "year", "gender", "id", "title", "role", "value", "count"} <= set(long_csv.columns)
    for kpi, block in long_csv.groupby("kpi"):
        assert list(dict.fromkeys(block.id)) == PEER_IDS, kpi
        assert set(block.year) == {2019, 2020, 2021}
    # every KPI of the default set that the emulator has 2019-2021 data for
    assert set(long_csv.kpi) >= {"N40011", "U40800", "N03926", "U40455", "N03932", "N03927", "N18601"}
    roles = dict(zip(long_csv.id, long_csv.role, strict=False))
    assert [roles[i] for i in PEER_IDS] == ["kommun", "alla", "storlek", "kommungrupp", "lan", "liknande", "riket"]


def test_values_are_the_emulators(long_csv, served):
    universe = served.universe
    for unit in PEER_IDS:
        for year in (2019, 2020, 2021):
            expected = universe.value("N40011", unit, year)
            got = pick(long_csv, "N40011", unit, year)["value"]
            assert (pd.isna(got) and expected is None) or got == pytest.approx(expected, abs=1e-6)
    assert [pick(long_csv, "N03926", "2380", y)["value"] for y in (2019, 2020, 2021)] == [2.6, 3.0, 3.2]


def test_ranks_with_ties_and_missing_values(long_csv):
    assert [(pick(long_csv, "N03926", "2380", y)["rank"], pick(long_csv, "N03926", "2380", y)["rank_of"])
            for y in (2019, 2020, 2021)] == [(10, 18), (7, 17), (10, 17)]  # fmt: skip
    u40455 = pick(long_csv, "U40455", "2380", 2021)
    assert (u40455["rank"], u40455["rank_of"], u40455["quartile"]) == (12, 17, 3)


def test_published_and_recomputed_means(long_csv):
    alla = pick(long_csv, "N03926", "G2328", 2021)
    assert alla["value"] == pytest.approx(52.6 / 17, abs=1e-6)
    assert (alla["count"], alla["computed_count"]) == (17, 17)
    assert pick(long_csv, "N03926", "G33630", 2021)["computed_mean"] == pytest.approx(23.8 / 7, abs=1e-6)
    assert pick(long_csv, "N03926", "G216379", 2021)["value"] == pytest.approx(19.7 / 7, abs=1e-6)
    size = pick(long_csv, "N03926", "G30831", 2021)
    assert (size["value"], size["computed_mean"], bool(size["mean_differs"])) == (3.2, pytest.approx(2.8), True)
    assert not pick(long_csv, "N03926", "G30831", 2020)["mean_differs"]
    voluntary = long_csv[(long_csv.kpi == "U40800") & (long_csv.id == "G2328") & (long_csv.gender == "T")]
    assert (voluntary["count"] <= 14).all()  # four kommuner never answer the survey


def test_difference_and_change_are_computed(long_csv):
    kommun = pick(long_csv, "N03926", "2380", 2021)
    assert kommun["diff_alla"] == pytest.approx(3.2 - 52.6 / 17, abs=1e-6)
    assert kommun["change_prev"] == pytest.approx(0.2, abs=1e-6)
    assert kommun["source"] == "Källa: Kolada"


def test_excel_csv_opens_with_semicolon_and_decimal_comma(env):
    run = run_kpijmf(["compare", "--kommun", "Östersund", *YEARS, "--offline", "--format", "excel"], env)
    assert run.code == 0, run.stderr
    raw = run_kpijmf(["compare", "--kommun", "Östersund", *YEARS, "--offline", "-f", "excel"], env).stdout
    assert raw.startswith("\ufeff")
    frame = pd.read_csv(io.StringIO(raw.lstrip("\ufeff")), sep=";", decimal=",", dtype={"id": str})
    assert pick(frame, "N03926", "2380", 2020)["value"] == 3.0
    assert pick(frame, "N03926", "0000", 2021)["value"] == 3.4
    assert "2,6" in raw


def test_xlsx_has_a_sheet_per_kpi_with_numbers_and_a_source_sheet(env, tmp_path):
    target = tmp_path / "ostersund.xlsx"
    run = run_kpijmf(["compare", "--kommun", "ostersund", *YEARS, "--offline", "-o", str(target)], env)
    assert run.code == 0, run.stderr
    book = openpyxl.load_workbook(target)
    assert "Källa" in book.sheetnames
    sheet = next(ws for ws in book.worksheets if ws["A2"].value == "Kolada-id N03926")  # named by its label
    assert sheet.title == "Långtidsarbetslöshet 25-64 år"
    rows = {r[0]: r for r in sheet.iter_rows(values_only=True) if r and r[0]}
    assert rows["Östersund"][1:4] == (2.6, 3.0, 3.2)
    text = " ".join(str(c) for r in book["Källa"].iter_rows(values_only=True) for c in r if c)
    assert "Källa: Kolada" in text and "egen bearbetning" in text and "127.0.0.1" in text


def test_json_has_metadata_and_rows(env):
    run = run_kpijmf(["compare", "--kommun", "2380", *YEARS, "--offline", "-f", "json"], env)
    document = json.loads(run.stdout)
    assert document["metadata"]["kommun_id"] == "2380"
    assert document["metadata"]["api_url"].startswith("http://127.0.0.1")
    row = next(r for r in document["rows"] if r["kpi"] == "N03926" and r["id"] == "0000" and r["year"] == 2021)
    assert row["value"] == 3.4


def test_markdown_is_the_audit_table(env):
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", *YEARS, "--offline", "-f", "md"], env)
    assert "| Östersund | 2,6 | 3,0 | 3,2 |" in run.stdout
    assert "Källa: Kolada" in run.stdout


def test_wide_csv_has_years_as_columns(env):
    run = run_kpijmf(["compare", "--kommun", "2380", *YEARS, "--offline", "-f", "csv", "--wide"], env)
    frame = pd.read_csv(io.StringIO(run.stdout), dtype={"id": str})
    row = frame[(frame.kpi == "N03926") & (frame.id == "2380")].iloc[0]
    assert (row["2019"], row["2020"], row["2021"]) == (2.6, 3.0, 3.2)


def test_terminal_table_shows_the_audit_block(env):
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", *YEARS, "--offline", "-f", "table"], env)
    assert run.code == 0
    assert "Långtidsarbetslöshet" in run.stdout
    assert "10 av 17" in run.stdout
    assert "Källa: Kolada" in run.stdout


def test_gender_all_adds_women_men_and_the_gap(env):
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2021", "--gender", "all",
                      "--offline", "-f", "csv"], env)  # fmt: skip
    frame = pd.read_csv(io.StringIO(run.stdout), dtype={"id": str})
    kommun = frame[frame.id == "2380"].set_index("gender")["value"]
    assert (kommun["K"], kommun["M"], kommun["K-M"]) == (2.8, 3.6, pytest.approx(-0.8))


def test_custom_peers_get_kpijmfs_own_mean(env):
    args = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2021", "--peers", "alla,Umeå,2580"]
    frame = pd.read_csv(io.StringIO(run_kpijmf([*args, "--offline", "-f", "csv"], env).stdout), dtype={"id": str})
    own = frame[frame.role == "egen"].iloc[0]
    assert own["value"] == pytest.approx((2.8 + 2.5) / 2)
    assert own["source"] == "egen bearbetning av data från Kolada"


def test_offline_says_exactly_what_is_missing(env):
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2015", "--offline"], env)
    assert run.code == 6
    assert "--offline: the store lacks N03926 2015" in run.stderr


def test_unknown_kommun_exits_3_with_suggestion(env):
    run = run_kpijmf(["compare", "--kommun", "Östersnd", "--offline"], env)
    assert run.code == 3
    assert "did you mean Östersund (2380)" in run.stderr
    assert run.stdout == ""
