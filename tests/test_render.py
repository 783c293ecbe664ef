"""The terminal table: one rich Table per KPI in the audit layout, safe against markup in the data."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from rich.console import Console
from rich.style import Style

from kpijmf.output.colours import QUARTILE_COLOURS
from kpijmf.output.layout import format_sv, short_label, wide_frame
from kpijmf.output.terminal import change_text, render_table
from tests.comparison_fixture import MARKUP_TITLE, SIZE_TITLE, sample_frame
from tests.support import kpijmf_env, run_kpijmf

NBSP = "\u00a0"
SIZE_SHORT = f"50{NBSP}000–99{NBSP}999 inv."
RED, GREEN = "\x1b[31m", "\x1b[32m"


@pytest.fixture(autouse=True)
def colour_allowed(monkeypatch):
    """The tests decide about NO_COLOR themselves, whatever the developer's shell exports."""
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def fresh_rich_styles():
    """rich caches parsed styles and keeps each one's ANSI codes for the first colour system it met, so a
    truecolor console after a 16-colour one would print 16 colours; a process has one console, tests many."""
    Style.parse.cache_clear()
    Style._add.cache_clear()


def rendered(frame=None, width=160, **console_kwargs) -> str:
    console = Console(record=True, width=width, height=50, **console_kwargs)
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


# --- quartile colours ------------------------------------------------------------------------------------


def truecolour(frame=None, width=160, **kwargs) -> str:
    console = Console(
        file=io.StringIO(), width=width, height=50, force_terminal=True, color_system="truecolor", **kwargs
    )
    render_table(sample_frame() if frame is None else frame, console)
    return console.file.getvalue()


def background(colour: str) -> str:
    """The ANSI truecolor background sequence of "#rrggbb"."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"48;2;{r};{g};{b}m"


def test_kommun_values_are_filled_with_their_quartiles_colour_and_peers_are_not():
    raw = truecolour()
    kommun = line_with(raw, "Östersund")
    assert kommun.count(background(QUARTILE_COLOURS[2])) == 4  # three years and the Kv. cell
    for peer in ("Alla kommuner", "Riket"):
        assert "48;2;" not in line_with(raw, peer)
    assert line_with(raw, "Östersund", after="N40011").count(background(QUARTILE_COLOURS[3])) == 3  # no 2020 rank


def test_each_years_value_takes_that_years_quartile_and_neutral_kpis_get_none():
    frame = sample_frame()
    frame.loc[(frame["kpi"] == "N03926") & (frame["id"] == "2380"), "quartile"] = [1, 3, 4]
    frame.loc[frame["kpi"] == "N40011", "direction"] = "neutral"
    raw = truecolour(frame)
    kommun = line_with(raw, "Östersund")
    at = [kommun.index(background(QUARTILE_COLOURS[q])) for q in (1, 3, 4)]
    assert at == sorted(at)
    assert "48;2;" not in raw[raw.index("N40011") :].split("Färg:")[0]


def test_vs_rows_are_coloured_like_the_kommun():
    frame = sample_frame()
    vs = frame[frame["id"] == "2380"].copy()
    vs["id"], vs["title"], vs["role"], vs["quartile"] = "2281", "Sundsvall", "vs", 1
    raw = truecolour(pd.concat([frame, vs], ignore_index=True))
    assert background(QUARTILE_COLOURS[1]) in line_with(raw, "Sundsvall")


def test_colour_legend_names_the_palette_only_when_colours_are_shown(monkeypatch):
    assert "Färg:" in truecolour() and "PiYG" in truecolour()
    assert "Färg:" not in rendered()  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    raw = truecolour()
    assert "Färg:" not in raw
    assert "\x1b[1m" in raw  # bold stays: NO_COLOR is about colour
    assert not re.search(r"\x1b\[[0-9;]*\b(3[0-9]|4[0-9]|9[0-7]|10[0-7])\b", raw)


# --- short labels and narrow terminals -------------------------------------------------------------------


def test_peers_get_short_labels_with_the_full_titles_in_a_legend_below():
    out = rendered()
    for short in ("Alla kommuner", SIZE_SHORT, "Egen jämförelsegrupp", "Riket"):
        assert line_with(out, short).startswith(short)
    assert f"{SIZE_SHORT} = {SIZE_TITLE}" in out
    assert f"Egen jämförelsegrupp = {MARKUP_TITLE}" in out


@pytest.mark.parametrize(
    ("title", "role", "short"),
    [
        ("Alla kommuner (ovägt medel)", "alla", "Alla kommuner"),
        ("Kommuner med 50 000 - 99 999 invånare (ovägt medel)", "storlek", f"50{NBSP}000–99{NBSP}999 inv."),
        ("Kommuner med fler än 200 000 invånare (ovägt medel)", "storlek", f"Fler än 200{NBSP}000 inv."),
        ("Större stad (ovägt medel)", "kommungrupp", "Större stad"),
        ("Jämtlands läns kommuner (ovägt medel)", "lan", "Jämtlands län"),
        ("Liknande kommuner arbetsmarknad, Östersund, 2024", "liknande", "Liknande (arbetsmarknad)"),
        ("Riket", "riket", "Riket"),
        ("Egen jämförelsegrupp (ovägt medel): Umeå, Luleå", "egen", "Egen jämförelsegrupp"),
        ("Landsbygdskommun, ej nära större stad (ovägt medel)", "kommungrupp", "Landsbygdskommun, ej nä…"),
        ("Östersund", "kommun", "Östersund"),
    ],
)
def test_short_label(title, role, short):
    assert short_label(title, role) == short


def numeric_cells(frame) -> list[str]:
    """Every number and rank the table must show whole: formatted values, 'x av N' ranks and changes."""
    wide = wide_frame(frame, detail=True)
    years = [c for c in wide.columns if isinstance(c, int)]
    cells = []
    for _, r in wide.iterrows():
        decimals = int(r["decimaler"])
        cells += [format_sv(r[y], decimals) for y in years if not pd.isna(r[y])]
        cells += [r["rang"]] if r["rang"] else []
        cells += [change_text(r["förändring"], decimals, "lower").plain] if not pd.isna(r["förändring"]) else []
    return cells


def words(line: str) -> list[str]:
    """A line split at ordinary spaces only (str.split would also split "1 456" at its no-break space)."""
    return [w for w in line.split(" ") if w]


def five_years(frame: pd.DataFrame) -> pd.DataFrame:
    """The fixture stretched to 2017–2021: its 2019–2020 rows copied back two years, values nudged."""
    early = frame[frame["year"] < 2021].copy()
    early["year"] -= 2
    early["value"] = early["value"] * 1.1
    out = pd.concat([early, frame], ignore_index=True)
    out.attrs = frame.attrs
    return out


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("shape", ["three years", "with gender", "five years"])
def test_table_fits_the_terminal_and_never_splits_a_number(width, shape):
    frame = sample_frame(with_gender=shape == "with gender")
    frame = five_years(frame) if shape == "five years" else frame
    frame.loc[frame["id"] == "G99999", "title"] = "Landsbygdskommun med besöksnäring, ej nära större stad (ovägt medel)"
    out = rendered(frame, width=width)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    table_lines = [line for line in lines if "  " in line]
    for cell in numeric_cells(frame):
        assert any(cell in line for line in table_lines), f"{cell!r} split or missing at {width} columns"
    # each unit row's numbers stand on the line where its label starts
    assert words(line_with(out, "Östersund"))[-9:-6] == ["2,6", "3,1", "2,9"]
    assert words(line_with(out, "201 av 287"))[-8:-5] == [f"1{NBSP}456", "–", f"1{NBSP}612"]


def test_terminal_width_80_via_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    console = Console(file=io.StringIO(), record=True)
    render_table(sample_frame(with_gender=True), console)
    assert console.width == 80
    assert max(len(line) for line in console.export_text().splitlines()) <= 80


@pytest.mark.parametrize("columns", ["80", "120"])
def test_cli_table_at_a_narrow_terminal_splits_no_number(emulator, tmp_path, columns):
    env = kpijmf_env(emulator.url, tmp_path, COLUMNS=columns)
    args = ["compare", "--kommun", "2380", "--kpi", "N03926,U40800", "--years", "2019-2021", "-f", "table"]
    run = run_kpijmf(args, env)
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert max(len(line) for line in lines) <= int(columns)
    assert words(line_with(run.stdout, "10 av 17"))[:4] == ["Östersund", "2,6", "3,0", "3,2"]
    assert f"1{NBSP}119" in line_with(run.stdout, "Östersund", after="U40800")
    assert (
        "Liknande (arbetsmarknad)" in run.stdout and "= Liknande kommuner arbetsmarknad, Östersund, 2024" in run.stdout
    )
    assert "\x1b[" not in run.stdout  # not a terminal: no colour
