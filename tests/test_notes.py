"""Footnotes of a KPI block: breaks, ended series, Kolada's status for a gap, neutral KPIs, counts, several kommuner."""

from kpijmf.output.notes import COUNT_NOTE, NEUTRAL_NOTE, YEARS_PER_KPI_NOTE, block_notes, break_years, focus_heading
from tests.comparison_fixture import sample_frame


def test_a_break_and_an_ended_series_are_footnoted_once():
    frame = sample_frame()
    mine = frame.kpi == "N03926"
    frame.loc[mine & (frame.year == 2021), "note"] = "brott i serien 2021: 25-65 år | upphörde 2021; efterföljare N1"
    frame.loc[mine & (frame.year != 2021), "note"] = "upphörde 2021; efterföljare N1"
    assert break_years(frame, "N03926") == {2021}
    assert block_notes(frame, "N03926") == [
        "‡ Brott i serien 2021: 25-65 år. Ingen förändring beräknas över brottet.",
        "Serien upphörde 2021; efterföljare N1.",
    ]
    assert block_notes(frame, "N40011") == []


def test_a_status_that_explains_a_gap_is_footnoted_with_the_cells():
    frame = sample_frame()
    gap = (frame.kpi == "N40011") & (frame.id == "2380") & (frame.year == 2020)
    frame.loc[gap, "status"] = "Uppgift saknas"
    frame.loc[(frame.kpi == "N40011") & (frame.id == "G2328"), "status"] = "X"  # has values: explains nothing
    assert block_notes(frame, "N40011") == ["Saknas med status 'Uppgift saknas' hos Kolada: Östersund 2020."]


def test_neutral_count_and_years_per_kpi_say_so():
    frame = sample_frame()
    frame["direction"] = "neutral"
    frame["kpi_unit"] = "antal"
    frame.attrs["years_per_kpi"] = True
    assert block_notes(frame, "N40011") == [NEUTRAL_NOTE, COUNT_NOTE, YEARS_PER_KPI_NOTE]


def test_each_focus_kommun_is_headed_by_its_name_and_id():
    assert focus_heading(sample_frame(), "2380") == "Östersund (2380)"
