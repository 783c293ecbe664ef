"""The terminal table: one rich Table per KPI in the audit layout, safe against markup in the data."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kpijmf.output.terminal import change_text, render_table
from tests.comparison_fixture import MARKUP_TITLE, SIZE_TITLE, sample_frame

NBSP = "\u00a0"
SIZE_SHORT = f"50{NBSP}000–99{NBSP}999 inv."
RED, GREEN = "\x1b[31m", "\x1b[32m"


@pytest.fixture(autouse=True)
def colour_allowed(monkeypatch):
    """The tests decide about NO_COLOR themselves, whatever the developer's shell exports."""
    monkeypatch.delenv("NO_COLOR", raising=False)


def rendered(frame=None, **console_kwargs) -> str:
    console = Console(record=True, width=160, height=50, **console_kwargs)
    render_table(sample_frame() if frame is None else frame, console)
    return console.export_text()


def coloured(frame=None) -> str:
    console = Console(file=io.StringIO(), width=160, height=50, force_terminal=True, color_system="standard")
    render_table(sample_frame() if frame is None else frame, console)
    return console.file.getvalue()


def line_with(text: str, needle: str, after: str = "") -> str:
    start = text.index(after) if after else 0
    return next(line for line in text[start:].splitlines() if needle in line)


def test_table_shows_each_kpi_label_with_unit_and_id_and_the_years():
    out = rendered()
    assert "Långtidsarbetslöshet 25-64 år (%)  N03926" in out
    assert "Nettokostnad arbetsmarknadsåtgärder (kr/inv)  N40011" in out
    header = line_with(out, "Nyckeltal")
    assert header.split()[1:4] == ["2019", "2020", "2021"]
    assert "Rang 2021" in header
    assert "Förändring" in header


def test_numbers_use_decimal_comma_thousand_spaces_and_dash_for_missing():
    out = rendered()
    kommun_pct = line_with(out, "Östersund")
    assert kommun_pct.split()[1:4] == ["2,6", "3,1", "2,9"]
    kommun_kr = line_with(out, "Östersund", after="N40011")
    assert f"1{NBSP}456" in kommun_kr
    assert "–" in kommun_kr.split()
    assert "2.6" not in out


def test_kommun_comes_first_and_riket_last_in_every_block():
    out = rendered()
    for after in ("N03926", "N40011"):
        block = out[out.index(after) :]
        names = ["Östersund", "Alla kommuner", SIZE_SHORT, "HYPERLINK", "Egen jämförelsegrupp", "Riket"]
        positions = [block.index(n) for n in names]
        assert positions == sorted(positions)


def test_rank_and_quartile_columns_show_the_kommuns_latest_year():
    out = rendered()
    header = line_with(out, "Nyckeltal")
    assert header.split()[-4:] == ["Rang", "2021", "Kv.", "Förändring"]
    assert line_with(out, "Östersund").split()[4:8] == ["97", "av", "290", "2"]
    assert line_with(out, "Östersund", after="N40011").split()[6:10] == ["201", "av", "287", "3"]
    assert "Kv. (kvartil, 1 = bästa fjärdedelen)" in out


def test_change_column_shows_the_last_change_with_an_arrow():
    out = rendered()
    assert line_with(out, "Östersund").rstrip().endswith("−0,2 ↓")
    assert line_with(out, "Riket", after="N40011").rstrip().endswith("+43 ↑")


def test_caption_carries_the_source_line_under_each_table():
    out = rendered()
    assert out.count("Källa: Kolada (api.kolada.se/v3)") == 2
    assert "egen bearbetning av data från Kolada" in out


def test_disagreeing_mean_is_starred_and_explained_in_the_caption():
    out = rendered()
    assert "2,8*" in line_with(out, SIZE_SHORT)
    assert "* Koladas publicerade medelvärde skiljer sig" in out
    assert f"{SIZE_TITLE} 2021: Kolada 2,8, eget medel 3,1 (22 kommuner)" in out


def test_markup_in_a_title_is_shown_literally():
    out = rendered()
    assert MARKUP_TITLE in out


def test_markup_in_a_title_does_not_restyle_the_row():
    raw = coloured()
    row = line_with(raw, "Egna jämförelsekommuner")  # N03926: its change is an improvement, green
    assert "[red]x[/red]" in row
    assert RED not in row


def test_emoji_codes_in_a_title_are_not_replaced():
    frame = sample_frame()
    frame.loc[frame["id"] == "egen", "title"] = "Egna :warning: kommuner"
    assert "Egna :warning: kommuner" in rendered(frame)


def test_improvement_is_green_and_worsening_red_for_a_lower_is_better_kpi():
    raw = coloured()
    assert GREEN in line_with(raw, "Östersund")  # N03926 fell: better
    assert RED in line_with(raw, "Riket", after="N40011")  # costs rose: worse


@pytest.mark.parametrize(
    ("change", "direction", "shown", "style"),
    [
        (-0.2, "lower", "−0,2 ↓", "green"),
        (0.3, "lower", "+0,3 ↑", "red"),
        (0.3, "higher", "+0,3 ↑", "green"),
        (-0.3, "higher", "−0,3 ↓", "red"),
        (0.3, "neutral", "+0,3 ↑", ""),
        (0.01, "lower", "0,0 →", ""),
        (float("nan"), "lower", "–", ""),
    ],
)
def test_change_text_follows_the_kpi_direction(change, direction, shown, style):
    text = change_text(change, 1, direction)
    assert text.plain == shown
    assert str(text.style) == style


def test_no_color_environment_gives_output_without_colours(monkeypatch):
    assert GREEN in coloured()  # the same console does colour without NO_COLOR
    monkeypatch.setenv("NO_COLOR", "1")
    raw = coloured()
    assert "97 av 290" in raw
    assert RED not in raw
    assert GREEN not in raw


def test_gender_rows_are_labelled_under_the_kommun():
    out = rendered(sample_frame(with_gender=True))
    block = out[: out.index("N40011")]
    labels = ["Östersund (kvinnor)", "Östersund (män)", "Östersund (skillnad kvinnor−män)"]
    positions = [block.index(x) for x in labels]
    assert positions == sorted(positions)
    assert block.index("Östersund ") < positions[0] < block.index("Alla kommuner")
    assert line_with(block, "(skillnad").split()[-5:-2] == ["−0,4", "−0,6", "−0,4"]


def test_gender_gap_change_is_not_coloured():
    raw = coloured(sample_frame(with_gender=True))
    gap = line_with(raw, "skillnad kvinnor")
    assert RED not in gap
    assert GREEN not in gap


def test_empty_frame_says_so_and_still_cites_the_source():
    out = rendered(sample_frame().iloc[0:0])
    assert "Inga värden" in out
    assert "Källa: Kolada" in out
