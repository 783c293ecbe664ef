"""The comparison frame, checked against hand-computed numbers."""

import math
import random

import pandas as pd
import pytest

from kpijmf.compare import (
    COLUMNS,
    SOURCE_KOLADA,
    SOURCE_OWN,
    Focus,
    KpiInfo,
    build_comparison,
    build_comparisons,
    means_differ,
)
from kpijmf.domain.catalog import Peer, Unit

A, B, C, D, E = "1001", "1002", "1003", "1004", "1005"
KOMMUNER = [A, B, C, D, E]
NAN = math.nan


def obs(rows):
    frame = pd.DataFrame(rows, columns=["kpi", "year", "unit_id", "gender", "value", "count"])
    frame["status"] = ""
    frame["fetched_at"] = "2026-11-23T10:00:00Z"
    return frame


OBSERVATIONS = obs(
    [
        # X: lower is better. 2021: A=3, B=2, C=3 (tie with A), D null, E no row.
        ("X", 2021, A, "T", 3.0, 1), ("X", 2021, B, "T", 2.0, 1), ("X", 2021, C, "T", 3.0, 1),
        ("X", 2021, D, "T", None, 1),
        ("X", 2020, A, "T", 2.5, 1), ("X", 2020, B, "T", 4.0, 1), ("X", 2020, C, "T", 1.0, 1),
        ("X", 2020, D, "T", 2.0, 1), ("X", 2020, E, "T", 3.0, 1),
        ("X", 2021, A, "K", 3.5, 1), ("X", 2021, A, "M", 2.5, 1),
        ("X", 2021, "G2328", "T", 8 / 3, 3), ("X", 2020, "G2328", "T", 2.5, 5),
        ("X", 2021, "G1", "T", 3.0, 2),  # published 3.0, but A and B average 2.5
        ("X", 2021, "0000", "T", 2.8, 1),
        # Y: higher is better. A=10, B=20, C=10.
        ("Y", 2021, A, "T", 10.0, 1), ("Y", 2021, B, "T", 20.0, 1), ("Y", 2021, C, "T", 10.0, 1),
    ]
)  # fmt: skip
KPIS = [
    KpiInfo("X", "Arbetslöshet X", "X-label", "%", "lower", divided_by_gender=True),
    KpiInfo("Y", "Resultat Y", "Y-label", "%", "higher"),
]
PEERS = [
    Peer("alla", "G2328", "Alla kommuner (ovägt medel)", tuple(KOMMUNER)),
    Peer("storlek", "G1", "Storleksklass", (A, B)),
    Peer("egen", "egen", "Egen jämförelsegrupp", (B, C), published=False),
    Peer("riket", "0000", "Riket"),
]


def build(**kwargs):
    options = {"kommun": Unit(A, "Aby", "K"), "peers": PEERS, "kpis": KPIS, "years": [2020, 2021]}
    options.update(kwargs)
    return build_comparison(OBSERVATIONS, kommun_ids=KOMMUNER, **options)


def row(frame, kpi, unit, year, gender="T"):
    found = frame[(frame.kpi == kpi) & (frame.id == unit) & (frame.year == year) & (frame.gender == gender)]
    assert len(found) == 1, found
    return found.iloc[0]


def test_columns_are_the_documented_contract():
    assert list(build().columns) == COLUMNS


def test_rank_is_direction_aware_with_ties_and_ignores_missing_values():
    frame = build()
    x2021 = row(frame, "X", A, 2021)
    assert (x2021["rank"], x2021["rank_of"], x2021["quartile"]) == (2, 3, 3)  # B=1, A=C=2; D null, E absent
    x2020 = row(frame, "X", A, 2020)
    assert (x2020["rank"], x2020["rank_of"], x2020["quartile"]) == (3, 5, 3)  # C, D, A, E, B
    y2021 = row(frame, "Y", A, 2021)
    assert (y2021["rank"], y2021["rank_of"]) == (2, 3)  # higher is better: B=1, A=C=2


def test_published_mean_kept_and_recomputed_mean_flagged_when_they_disagree():
    frame = build()
    alla = row(frame, "X", "G2328", 2021)
    assert alla["value"] == pytest.approx(8 / 3)
    assert alla["count"] == 3
    assert alla["computed_mean"] == pytest.approx(8 / 3)
    assert alla["computed_count"] == 3
    assert not alla["mean_differs"]
    size = row(frame, "X", "G1", 2021)
    assert size["value"] == 3.0
    assert size["computed_mean"] == 2.5
    assert size["mean_differs"]


def test_custom_peer_is_kpijmfs_own_mean_and_labelled_as_such():
    custom = row(build(), "X", "egen", 2021)
    assert custom["value"] == 2.5
    assert custom["count"] == 2
    assert custom["source"] == SOURCE_OWN
    assert row(build(), "X", A, 2021)["source"] == SOURCE_KOLADA


def test_riket_has_no_recomputed_mean():
    riket = row(build(), "X", "0000", 2021)
    assert riket["value"] == 2.8
    assert math.isnan(riket["computed_mean"])


def test_difference_from_alla_and_change_since_previous_year():
    kommun = row(build(), "X", A, 2021)
    assert kommun["diff_alla"] == pytest.approx(3.0 - 8 / 3)
    assert kommun["change_prev"] == pytest.approx(0.5)
    assert math.isnan(row(build(), "X", A, 2020)["change_prev"])


def test_missing_values_stay_missing_never_zero():
    frame = build(kommun=Unit(E, "Eby", "K"))
    assert math.isnan(row(frame, "X", E, 2021)["value"])
    assert math.isnan(row(frame, "X", E, 2021)["rank"])


def test_gender_rows_and_women_minus_men_gap():
    frame = build(genders=["T", "K", "M"], gap=True)
    assert row(frame, "X", A, 2021, "K")["value"] == 3.5
    gap = row(frame, "X", A, 2021, "K-M")
    assert gap["value"] == pytest.approx(1.0)
    assert gap["source"] == SOURCE_OWN
    assert set(frame[frame.kpi == "Y"].gender) == {"T"}  # Y is not divided by gender


def test_rows_ordered_kommun_first_then_peers_riket_last():
    frame = build()
    ids = list(dict.fromkeys(frame[(frame.kpi == "X") & (frame.gender == "T")].id))
    assert ids == [A, "G2328", "G1", "egen", "0000"]


@pytest.mark.parametrize(
    ("published", "computed", "differs"),
    [(3.0, 3.04, False), (3.0, 3.1, True), (2000.0, 2001.5, False), (2000.0, 2003.0, True), (NAN, 1.0, False)],
)
def test_means_differ_only_beyond_rounding(published, computed, differs):
    assert means_differ(published, computed) is differs


def test_comparison_without_any_peer_still_ranks_the_kommun():
    frame = build(peers=[])
    assert set(frame.id) == {A}
    assert row(frame, "X", A, 2021)["rank"] == 2


def test_no_values_at_all_gives_the_grid_with_every_value_missing():
    frame = build_comparison(OBSERVATIONS.iloc[0:0], kommun=Unit(A, "Aby", "K"), peers=PEERS, kpis=KPIS,
                             years=[2020, 2021], kommun_ids=KOMMUNER)  # fmt: skip
    assert len(frame) == 20
    assert frame["value"].isna().all() and frame["rank"].isna().all() and frame["computed_mean"].isna().all()


@pytest.mark.parametrize("seed", range(5))
def test_ranks_and_means_agree_with_a_plain_groupby_on_random_data(seed):
    """Random values with ties and holes, every kommun in turn: pandas' own rank(method="min") and mean()."""
    rng = random.Random(seed)
    units = [f"{i:04d}" for i in range(30)]
    group = Peer("storlek", "G9", "Grupp", tuple(units[::3]))
    rows = [
        (kpi, year, unit, "T", rng.choice([None, float(rng.randint(1, 6)), rng.uniform(0, 9)]), 1)
        for kpi in ("X", "Y")
        for year in (2020, 2021)
        for unit in units
        if rng.random() > 0.1
    ]
    observations = obs(rows)
    present = observations.dropna(subset=["value"])
    for unit in units[:8]:
        frame = build_comparison(observations, kommun=Unit(unit, unit, "K"), peers=[group], kpis=KPIS,
                                 years=[2020, 2021], kommun_ids=units)  # fmt: skip
        for (kpi, year), values in present.groupby(["kpi", "year"]):
            ranks = values.set_index("unit_id")["value"].rank(method="min", ascending=kpi == "X")
            got = row(frame, kpi, unit, year)
            if unit in ranks.index:
                assert (got["rank"], got["rank_of"]) == (ranks[unit], len(ranks))
                assert got["quartile"] == math.ceil(4 * ranks[unit] / len(ranks))
            else:
                assert math.isnan(got["rank"]) and math.isnan(got["rank_of"])
            members = values[values["unit_id"].isin(group.members)]["value"]
            mean = row(frame, kpi, "G9", year)
            assert mean["computed_count"] == len(members)
            assert mean["computed_mean"] == pytest.approx(members.mean())


def test_gap_change_is_the_change_of_the_gap_not_of_womens_values():
    extra = obs([("X", 2020, A, "K", 2.0, 1), ("X", 2020, A, "M", 2.5, 1)])
    frame = build_comparison(pd.concat([OBSERVATIONS, extra], ignore_index=True), kommun=Unit(A, "Aby", "K"),
                             peers=[], kpis=KPIS, years=[2020, 2021], kommun_ids=KOMMUNER, genders=["T", "K", "M"],
                             gap=True)  # fmt: skip
    assert row(frame, "X", A, 2020, "K-M")["value"] == pytest.approx(-0.5)
    assert row(frame, "X", A, 2021, "K-M")["change_prev"] == pytest.approx(1.0 - -0.5)
    assert row(frame, "X", A, 2021, "K")["change_prev"] == pytest.approx(1.5)
    assert list(frame[frame.kpi == "X"].gender.drop_duplicates()) == ["T", "K", "M", "K-M"]


def test_vs_kommuner_get_a_row_each_with_their_own_value_and_rank():
    frame = build(vs=[Unit(B, "Bby", "K"), Unit(C, "Cby", "K")])
    ids = list(dict.fromkeys(frame[(frame.kpi == "X") & (frame.gender == "T")].id))
    assert ids == [A, B, C, "G2328", "G1", "egen", "0000"]
    b, c = row(frame, "X", B, 2021), row(frame, "X", C, 2021)
    assert (b["role"], b["value"], b["rank"], b["rank_of"], b["quartile"]) == ("vs", 2.0, 1, 3, 2)
    assert (c["role"], c["value"], c["rank"]) == ("vs", 3.0, 2)  # ties with A
    assert row(frame, "X", B, 2021)["change_prev"] == pytest.approx(-2.0)


def test_the_kommun_itself_named_with_vs_is_not_repeated():
    frame = build(vs=[Unit(A, "Aby", "K")])
    assert set(frame[frame.role == "vs"].id) == set()


def test_neutral_kpis_get_no_rank_and_no_quartile():
    neutral = [KpiInfo("X", "Arbetslöshet X", "X-label", "%", "neutral"), KPIS[1]]
    frame = build(kpis=neutral)
    assert frame.loc[frame.kpi == "X", ["rank", "rank_of", "quartile"]].isna().all().all()
    assert row(frame, "Y", A, 2021)["rank"] == 2


def test_a_count_has_no_difference_from_alla_and_riket_is_the_national_total():
    counts = [KpiInfo("X", "Deltagare, antal", "Deltagare", "antal", "neutral"), KPIS[1]]
    frame = build(kpis=counts)
    assert frame.loc[frame.kpi == "X", "diff_alla"].isna().all()
    assert row(frame, "X", "0000", 2021)["title"] == "Riket (totalt)"
    assert row(frame, "Y", "0000", 2021)["title"] == "Riket"
    assert row(frame, "X", A, 2021)["value"] == 3.0


def test_years_per_kpi_give_each_kpi_its_own_years_and_change():
    frame = build(years={"X": [2020, 2021], "Y": [2021]})
    assert sorted(set(frame[frame.kpi == "X"].year)) == [2020, 2021]
    assert sorted(set(frame[frame.kpi == "Y"].year)) == [2021]
    assert row(frame, "X", A, 2021)["change_prev"] == pytest.approx(0.5)
    assert math.isnan(row(frame, "Y", A, 2021)["change_prev"])


def test_no_change_across_a_break_and_the_note_says_why():
    broken = [KpiInfo("X", "X", "X", "%", "lower", breaks=(2021,), break_note="25-65 år från 2021"), KPIS[1]]
    frame = build(kpis=broken)
    assert math.isnan(row(frame, "X", A, 2021)["change_prev"])
    assert row(frame, "X", A, 2021)["note"] == "brott i serien 2021: 25-65 år från 2021"
    assert row(frame, "X", A, 2020)["note"] == ""
    assert row(frame, "X", A, 2021)["rank"] == 2  # ranks stay: they compare kommuner within one year


def test_an_ended_series_names_its_successor_on_every_row():
    ended = [KpiInfo("X", "X", "X", "%", "lower", ended=2021, successor="N18601"), KPIS[1]]
    frame = build(kpis=ended)
    assert set(frame[frame.kpi == "X"].note) == {"upphörde 2021; efterföljare N18601"}
    assert set(frame[frame.kpi == "Y"].note) == {""}


def test_missing_values_keep_koladas_status():
    observations = OBSERVATIONS.copy()
    observations.loc[(observations.unit_id == D) & (observations.year == 2021), "status"] = "B"
    frame = build_comparison(observations, kommun=Unit(D, "Dby", "K"), peers=[], kpis=KPIS, years=[2021],
                             kommun_ids=KOMMUNER)  # fmt: skip
    kommun = row(frame, "X", D, 2021)
    assert math.isnan(kommun["value"]) and kommun["status"] == "B"
    assert row(frame, "Y", D, 2021)["status"] == ""


def test_several_focus_kommuner_give_one_block_each_named_by_kommun_id():
    focuses = [Focus(Unit(A, "Aby", "K"), tuple(PEERS)), Focus(Unit(B, "Bby", "K"), tuple(PEERS[:1]))]
    frame = build_comparisons(OBSERVATIONS, focuses, kpis=KPIS, years=[2020, 2021], kommun_ids=KOMMUNER)
    assert list(dict.fromkeys(frame.kommun_id)) == [A, B]
    block_b = frame[frame.kommun_id == B]
    assert list(dict.fromkeys(block_b[block_b.kpi == "X"].id)) == [B, "G2328"]
    b = block_b[(block_b.kpi == "X") & (block_b.id == B) & (block_b.year == 2021)].iloc[0]
    assert (b["role"], b["rank"]) == ("kommun", 1)
    assert set(frame[frame.kommun_id == A].id) == {A, "G2328", "G1", "egen", "0000"}


def test_one_kommun_names_itself_in_kommun_id():
    assert set(build().kommun_id) == {A}
