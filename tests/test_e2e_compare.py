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
import re
from datetime import date

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
    assert sheet.title == "Långtidsarbetslöshet 25-65 år"
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


# ---- years per KPI, --vs, several kommuner, no false ranks (issue 14) ----------------------------------

SUNDSVALL = "2281"


def _plain_rank(universe, kpi, kommun, year, lower=True):
    """Rank 1 = best among every kommun with a value (ties share the best rank), the hand way."""
    values = [universe.value(kpi, k, year) for k in universe.kommun_ids()]
    values = [v for v in values if v is not None]
    mine = universe.value(kpi, kommun, year)
    better = sum(1 for v in values if (v < mine if lower else v > mine))
    return better + 1, len(values)


@pytest.fixture(scope="module")
def served_more():
    """The small universe plus Sundsvall (a kommun only in alla kommuner), and N03926 published for 2025."""
    universe = small_universe()
    universe.municipalities[SUNDSVALL] = {"id": SUNDSVALL, "title": "Sundsvall", "type": "K"}
    universe.add_group("G2328", "Alla kommuner (ovägt medel)", [*universe.member_ids("G2328"), SUNDSVALL])
    for kpi in ("N03926", "N40011", "U40800"):
        for year in range(2015, 2025):
            for gender in universe.genders_of(kpi):
                source = universe.value(kpi, "2482", year, gender)
                if source is not None:
                    universe.set_value(kpi, SUNDSVALL, year, gender, round(source * 0.9, 1), date(2025, 3, 1))
    universe.add_year("N03926", 2025, date(2026, 2, 1))
    with EmulatorServer(universe) as emu:
        yield emu


@pytest.fixture(scope="module")
def env_more(served_more, tmp_path_factory):
    return kpijmf_env(served_more.url, tmp_path_factory.mktemp("store_more"))


def _csv(run):
    assert run.code == 0, run.stderr
    return pd.read_csv(io.StringIO(run.stdout), dtype={"id": str, "kpi": str, "kommun_id": str}, keep_default_na=False,
                       na_values=[""])  # fmt: skip


def test_last_gives_each_kpi_its_own_latest_years(env_more):
    args = ["compare", "--kommun", "2380", "--kpi", "N03926,N40011,N03932", "--last", "2"]
    frame = _csv(run_kpijmf([*args, "-f", "csv"], env_more))
    years = {kpi: sorted(set(block.year)) for kpi, block in frame.groupby("kpi")}
    assert years == {"N03926": [2024, 2025], "N40011": [2023, 2024], "N03932": [2022, 2023]}
    for kpi, block in frame.groupby("kpi"):
        kommun = block[(block.id == "2380") & (block.year == years[kpi][-1])].iloc[0]
        assert not pd.isna(kommun["rank"]), kpi  # rank: the KPI's own latest year
        # change: the KPI's own latest year, except across N03932's declared 2023 series break
        assert pd.isna(kommun["change_prev"]) == (kpi == "N03932"), kpi
    markdown = run_kpijmf([*args, "--offline", "-f", "md"], env_more).stdout
    assert "| Nyckeltal | 2024 | 2025 | Rang 2025 |" in markdown
    assert "| Nyckeltal | 2023 | 2024 | Rang 2024 |" in markdown
    assert "| Nyckeltal | 2022 | 2023‡ | Rang 2023 |" in markdown  # ‡: the declared series break
    assert "| – | – |" not in markdown.split("Östersund")[1].split("\n")[0]  # the kommun's row has its values
    assert "Åren är nyckeltalets egna" in markdown
    table = run_kpijmf([*args, "--offline", "-f", "table"], env_more).stdout
    header_lines = [line.split() for line in table.splitlines() if line.strip().startswith("Nyckeltal")]
    assert [h[1:3] for h in header_lines] == [
        ["2024", "2025"],
        ["2023", "2024"],
        ["2022", "2023‡"],
    ]  # ‡: the declared series break


def test_years_stay_one_range_for_every_kpi(env_more):
    args = ["compare", "--kommun", "2380", "--kpi", "N03926,N03932", "--years", "2022-2024", "-f", "csv"]
    frame = _csv(run_kpijmf(args, env_more))
    assert {kpi: sorted(set(b.year)) for kpi, b in frame.groupby("kpi")} == {
        "N03926": [2022, 2023, 2024],
        "N03932": [2022, 2023, 2024],
    }


def test_vs_gives_each_named_kommun_its_own_row_value_and_rank(env_more, served_more):
    args = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2020-2021", "--vs", "Sundsvall", "--vs",
            "2480", "-f", "csv"]  # fmt: skip
    frame = _csv(run_kpijmf(args, env_more))
    universe = served_more.universe
    vs = frame[(frame.role == "vs") & (frame.gender == "T")]
    assert list(dict.fromkeys(vs.id)) == [SUNDSVALL, "2480"]
    for unit in (SUNDSVALL, "2480"):
        row = pick(frame, "N03926", unit, 2021)
        assert row["value"] == pytest.approx(universe.value("N03926", unit, 2021))
        assert (row["rank"], row["rank_of"]) == _plain_rank(universe, "N03926", unit, 2021)
        expected_change = universe.value("N03926", unit, 2021) - universe.value("N03926", unit, 2020)
        assert row["change_prev"] == pytest.approx(expected_change)
    ids = list(dict.fromkeys(frame[frame.gender == "T"].id))
    assert ids[:3] == ["2380", SUNDSVALL, "2480"]  # right under the kommun, before the peers
    assert "G2328" in ids  # --peers keeps its meaning: the default groups are still there


def test_several_kommuner_give_one_block_each_and_a_kommun_id_column(env_more):
    args = ["compare", "--kommun", "2380,2480", "--kpi", "N03926", "--years", "2021"]
    frame = _csv(run_kpijmf([*args, "-f", "csv"], env_more))
    assert list(dict.fromkeys(frame.kommun_id)) == ["2380", "2480"]
    for kommun in ("2380", "2480"):
        block = frame[frame.kommun_id == kommun]
        assert block[block.role == "kommun"].id.unique().tolist() == [kommun]
    assert set(frame[frame.kommun_id == "2480"].id) >= {"G2328", "G216333", "0000"}  # Umeå's own peers
    markdown = run_kpijmf([*args, "--offline", "-f", "md"], env_more).stdout
    assert markdown.index("## Östersund (2380)") < markdown.index("## Umeå (2480)")
    table = run_kpijmf([*args, "--offline", "-f", "table"], env_more).stdout
    assert "Östersund (2380)" in table and "Umeå (2480)" in table


def test_one_kommun_also_names_itself_in_kommun_id(long_csv):
    assert set(long_csv.kommun_id.astype(str)) == {"2380"}
    assert {"status", "note"} <= set(long_csv.columns)


def test_a_neutral_count_has_no_rank_no_quartile_and_no_difference_from_alla(long_csv, env):
    u40800 = long_csv[(long_csv.kpi == "U40800") & (long_csv.gender == "T")]
    assert u40800[["rank", "rank_of", "quartile", "diff_alla"]].isna().all().all()
    assert set(u40800[u40800.id == "0000"].title) == {"Riket (totalt)"}
    table = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "U40800", *YEARS, "--offline", "-f", "table"], env)
    assert not re.search(r"\d+ av \d+", table.stdout)
    assert "kvartil" not in table.stdout.replace("Ingen rang eller kvartil", "")
    assert "Riket (totalt)" in table.stdout


def test_a_break_leaves_the_change_into_its_year_empty_and_says_why(env_more):
    """N03926 declared with a break in 2023 (as the built-in set declares it): the 2022→2023 change is empty,
    the long CSV's note and the Markdown footnote say why, and the year column is marked."""
    from dataclasses import replace

    from kpijmf.config import load_settings
    from kpijmf.output.files import render_bytes
    from kpijmf.service.workspace import Selection, Workspace

    with Workspace(load_settings(env_more), command="compare") as space:
        chosen = space.select_kpis(None, ["N03926"])
        spec = replace(chosen.specs[0], breaks=(2023,), break_note="åldersgruppen 25-65 år från 2023")
        selection = Selection(chosen.kpi_set, (spec,), ())
        focuses = space.select_focuses("2380")
        units = space.data_units(focuses)
        years = {"N03926": [2021, 2022, 2023, 2024]}
        space.ensure_data(["N03926"], units, years["N03926"])
        frame = space.comparison(space.load(["N03926"], years, units, ["T"], focuses), focuses, selection, years)
    kommun = frame[frame.id == "2380"].set_index("year")
    assert pd.isna(kommun.loc[2023, "change_prev"])
    assert kommun.loc[2022, "change_prev"] == pytest.approx(kommun.loc[2022, "value"] - kommun.loc[2021, "value"])
    assert kommun.loc[2024, "change_prev"] == pytest.approx(kommun.loc[2024, "value"] - kommun.loc[2023, "value"])
    assert kommun.loc[2023, "note"] == "brott i serien 2023: åldersgruppen 25-65 år från 2023"
    assert kommun.loc[2022, "note"] == ""
    markdown = render_bytes(frame, "md").decode()
    assert "| 2023‡ |" in markdown
    assert "‡ Brott i serien 2023: åldersgruppen 25-65 år från 2023. Ingen förändring beräknas över brottet." in (
        markdown
    )
