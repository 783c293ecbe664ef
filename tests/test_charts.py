"""Charts: line chart of the kommun and its peers, strip chart of all kommuner; SVG checked as XML."""

from __future__ import annotations

import math
import sys
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from kpijmf.errors import NotFoundError, UsageError
from tests.comparison_fixture import sample_frame

pytest.importorskip("matplotlib")

from kpijmf.output import charts
from kpijmf.output.charts import (
    Rank,
    frame_rank,
    kpi_charts,
    legend_title,
    line_chart,
    quartile_boundaries,
    strip_chart,
    tick_decimals,
)

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def _svg(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def _group(root: ET.Element, gid: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    assert found, f"no <g id={gid!r}> in the SVG"
    return found[0]


def _markers(group: ET.Element) -> int:
    return sum(1 for _ in group.iter(f"{SVG}use"))


def _line_path(group: ET.Element) -> str:
    return next(p.get("d") for p in group.iter(f"{SVG}path") if "clip-path" in p.attrib)


def _distribution(values: dict[str, float], kpi: str = "N03926", year: int = 2021) -> pd.DataFrame:
    return pd.DataFrame(
        [(kpi, year, unit, value) for unit, value in values.items()], columns=["kpi", "year", "unit_id", "value"]
    )


SEVENTEEN = {f"{i:04d}": float(i) for i in range(1, 18) if i != 8} | {"2380": 8.0}


# --- line chart ------------------------------------------------------------------------------------


def test_line_chart_svg_parses_and_names_every_unit_in_legend():
    root = _svg(line_chart(sample_frame(), "N03926"))
    texts = _texts(root)
    shown = " ".join(texts)  # a wrapped legend name is one text per line
    for title in ("Östersund", "Alla kommuner", "Kommuner med 50 000 - 99 999 invånare", "Riket"):
        assert title in shown
    assert "Långtidsarbetslöshet 25-64 år" in texts  # the KPI label as title
    assert "%" in texts  # the unit as y label
    assert any(t.startswith("Källa: Kolada") for t in texts)


def test_line_chart_numbers_are_swedish():
    texts = _texts(_svg(line_chart(sample_frame(), "N03926")))
    assert "3,0" in texts and "3.0" not in texts


def test_line_chart_missing_year_is_a_gap_not_a_zero():
    # Östersund has N40011 for 2019 and 2021 but not 2020: two points, no segment through 2020.
    root = _svg(line_chart(sample_frame(), "N40011"))
    kommun = _group(root, "series-2380")
    assert _markers(kommun) == 2
    path = _line_path(kommun)
    assert path.count("M") == 2 and "L" not in path
    # The size class lacks N03926 2020: its three-year line breaks into two pieces.
    size = _group(_svg(line_chart(sample_frame(), "N03926")), "series-G30831")
    assert _markers(size) == 2
    assert _line_path(size).count("M") == 2


def test_line_chart_points_equal_values_present():
    frame = sample_frame()
    root = _svg(line_chart(frame, "N03926"))
    rows = frame[(frame["kpi"] == "N03926")]
    for unit, values in rows.groupby("id")["value"]:
        assert _markers(_group(root, f"series-{unit}")) == int(values.notna().sum())


def test_line_chart_kommun_is_bold_and_riket_dashed():
    root = _svg(line_chart(sample_frame(), "N03926"))
    kommun_style = _group(root, "series-2380").find(f"{SVG}path").get("style")
    riket_style = _group(root, "series-0000").find(f"{SVG}path").get("style")
    alla_style = _group(root, "series-G2328").find(f"{SVG}path").get("style")
    assert "stroke-width: 3" in kommun_style and "stroke-width: 1.5" in alla_style
    assert "stroke-dasharray" in riket_style and "stroke-dasharray" not in alla_style


def test_line_chart_cites_own_processing_when_it_shows_own_means():
    texts = _texts(_svg(line_chart(sample_frame(), "N03926")))
    assert "Källa: Kolada; egna medelvärden: egen bearbetning av data från Kolada" in texts
    frame = sample_frame()
    texts = _texts(_svg(line_chart(frame[frame["role"] != "egen"], "N03926")))
    assert "Källa: Kolada" in texts


def test_line_chart_wraps_long_titles_whole_and_keeps_markup_and_dollars_literal():
    frame = sample_frame()
    title = "Costs in $ and $ <b>bold</b> & more, a very long group title indeed"
    frame.loc[frame["id"] == "G2328", "title"] = title
    texts = _texts(_svg(line_chart(frame, "N03926")))
    shown = legend_title(title)
    assert "\n" in shown and shown.replace("\n", " ") == title  # wrapped, every word kept
    assert all(line in " ".join(texts) for line in shown.splitlines())
    assert legend_title("Alla kommuner (ovägt medel)") == "Alla kommuner"
    peer = "Liknande kommuner arbetsmarknad, Östersund, 2025"
    assert legend_title(peer).replace("\n", " ") == peer


def _figure_of(monkeypatch, draw) -> object:
    """The matplotlib Figure a chart function drew, caught where it is saved."""
    caught = []
    real_save = charts._save
    monkeypatch.setattr(charts, "_save", lambda fig, fmt: caught.append(fig) or real_save(fig, fmt))
    draw()
    return caught[0]


def _label_value(label: str, lang: str = "sv") -> float:
    """A tick label read as a number: '1 000,5' and '−2,5' in Swedish, '1,000.5' in English."""
    plain = label.replace("\u2212", "-").replace("\u202f", "").replace("\xa0", "").replace("\u2009", "")
    return float(plain.replace(",", ".") if lang == "sv" else plain.replace(",", ""))


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(("low", "high"), [(32.5, 47.5), (0.12, 0.61), (3.01, 3.04), (1200.0, 2400.0), (-3.0, 4.5)])
def test_tick_labels_read_back_equal_the_tick_positions(monkeypatch, lang, low, high):
    frame = sample_frame()
    rows = frame["kpi"] == "N03926"
    lo, hi = frame.loc[rows, "value"].min(), frame.loc[rows, "value"].max()
    frame.loc[rows, "value"] = low + (frame.loc[rows, "value"] - lo) * (high - low) / (hi - lo)
    fig = _figure_of(monkeypatch, lambda: line_chart(frame, "N03926", lang=lang))
    ax = fig.axes[0]
    ticks = list(ax.get_yticks())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(ticks) == len(labels) >= 3
    decimals = tick_decimals(ticks)
    for tick, label in zip(ticks, labels, strict=True):
        assert _label_value(label, lang) == pytest.approx(tick, abs=1e-9 * max(1.0, abs(tick)))
        point = "," if lang == "sv" else "."
        shown_decimals = len(label.rsplit(point, 1)[1]) if point in label else 0
        assert shown_decimals == decimals, label
        if lang == "sv":
            assert "." not in label
        else:  # a comma only between thousands
            assert all(len(group) == 3 for group in label.split(".")[0].split(",")[1:]), label


def test_tick_decimals_are_the_fewest_that_print_every_tick_exactly():
    assert tick_decimals([30.0, 35.0, 40.0]) == 0
    assert tick_decimals([32.5, 35.0, 37.5]) == 1
    assert tick_decimals([0.25, 0.5, 0.75]) == 2
    assert tick_decimals([0.1 + 0.2, 0.4]) == 1  # float noise is not a decimal
    assert tick_decimals([]) == 0


def test_strip_chart_tick_labels_read_back_equal_the_tick_positions(monkeypatch):
    values = {f"{i:04d}": 32.5 + i * 0.9 for i in range(17)}
    fig = _figure_of(monkeypatch, lambda: strip_chart(_distribution(values), "N03926", kommun_id="0001", year=2021,
                                                      direction="lower"))  # fmt: skip
    ax = fig.axes[0]
    for tick, label in zip(ax.get_xticks(), [t.get_text() for t in ax.get_xticklabels()], strict=True):
        assert _label_value(label) == pytest.approx(tick)


def test_line_chart_legend_lies_inside_the_figure(monkeypatch):
    frame = sample_frame()
    frame.loc[frame["id"] == "G2328", "title"] = "Liknande kommuner arbetsmarknad, Östersund, 2025 (ovägt medel)"
    fig = _figure_of(monkeypatch, lambda: line_chart(frame, "N03926", fmt="png"))
    renderer = fig.canvas.get_renderer()
    box = fig.axes[0].get_legend().get_window_extent(renderer)
    width, height = fig.bbox.width, fig.bbox.height
    assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= width and box.y1 <= height


def test_line_chart_control_characters_in_titles_keep_the_svg_valid():
    frame = sample_frame()
    frame.loc[frame["id"] == "G2328", "title"] = "Alla\x1b[31m kommuner\x00"
    frame.loc[frame["kpi"] == "N03926", "kpi_label"] = "Rate\x07"
    texts = _texts(_svg(line_chart(frame, "N03926")))  # parses: no raw control character in the XML
    assert "Alla\\x1b[31m kommuner\\x00" in texts and "Rate\\x07" in texts


def test_line_chart_of_a_count_leaves_riket_out_and_says_so():
    frame = sample_frame()
    frame.loc[frame["kpi"] == "N40011", "kpi_unit"] = "antal"
    root = _svg(line_chart(frame, "N40011"))
    assert not [g for g in root.iter(f"{SVG}g") if g.get("id") == "series-0000"]
    assert "Riket" not in _texts(root)
    assert (
        "Källa: Kolada; egna medelvärden: egen bearbetning av data från Kolada. Riket (hela landets antal) visas inte."
        in _texts(root)
    )
    assert _group(_svg(line_chart(sample_frame(), "N40011")), "series-0000") is not None


def test_line_chart_english_labels_and_png():
    texts = _texts(_svg(line_chart(sample_frame(), "N40011", lang="en")))
    assert any(t.startswith("Source: Kolada") for t in texts)
    assert "1,400" in texts
    assert line_chart(sample_frame(), "N40011", fmt="png").startswith(b"\x89PNG\r\n\x1a\n")


def test_line_chart_is_deterministic():
    assert line_chart(sample_frame(), "N03926") == line_chart(sample_frame(), "N03926")


def test_line_chart_unknown_kpi_or_format_is_an_error():
    with pytest.raises(NotFoundError, match="N99999"):
        line_chart(sample_frame(), "N99999")
    with pytest.raises(UsageError, match="format"):
        line_chart(sample_frame(), "N03926", fmt="gif")
    with pytest.raises(UsageError, match="language"):
        line_chart(sample_frame(), "N03926", lang="de")


# --- strip chart -----------------------------------------------------------------------------------


def test_strip_chart_marks_quartiles_and_the_kommun_with_its_rank():
    svg = strip_chart(_distribution(SEVENTEEN), "N03926", kommun_id="2380", year=2021, direction="lower",
                      rank=Rank(8, 17, 2), label="Långtidsarbetslöshet", unit="%",
                      kommun_title="Östersund")  # fmt: skip
    root = _svg(svg)
    for i in (1, 2, 3):
        _group(root, f"quartile-{i}")
    assert _group(root, "kommun") is not None
    texts = _texts(root)
    assert "Östersund: 8,0, rang 8 av 17 (kvartil 2)" in texts
    assert {"25 %", "median", "75 %"} <= set(texts)
    assert "← bättre" in texts
    assert "Långtidsarbetslöshet, alla kommuner 2021" in texts


def test_strip_chart_shows_the_rank_it_is_given_and_the_direction():
    svg = strip_chart(_distribution(SEVENTEEN), "N03926", kommun_id="2380", year=2021, direction="higher",
                      rank=Rank(10, 17, 3), kommun_title="Östersund", lang="en")  # fmt: skip
    texts = _texts(_svg(svg))
    assert "Östersund: 8, rank 10 of 17 (quartile 3)" in texts
    assert "better →" in texts
    unranked = strip_chart(_distribution(SEVENTEEN), "N03926", kommun_id="2380", year=2021, direction="higher",
                           kommun_title="Östersund", lang="en")  # fmt: skip
    assert "Östersund: 8" in _texts(_svg(unranked))


def test_charts_read_the_rank_from_the_comparison_frame():
    frame = sample_frame()  # Östersund N03926 2021: rank 97 of 290, quartile 2 (the comparison's numbers)
    assert frame_rank(frame, "N03926", 2021) == Rank(97, 290, 2)
    assert frame_rank(frame, "N40011", 2020) is None  # no rank that year
    distribution = _distribution(SEVENTEEN)  # a distribution where 2380 would rank 8 of 17
    svg = kpi_charts(frame, distribution, "N03926", kinds=("strip",))["strip"]
    texts = _texts(_svg(svg))
    assert any(t.endswith("rang 97 av 290 (kvartil 2)") for t in texts), texts
    assert not any("8 av 17" in t for t in texts)


def test_strip_chart_without_the_kommuns_value_says_so():
    values = {k: v for k, v in SEVENTEEN.items() if k != "2380"}
    svg = strip_chart(_distribution(values), "N03926", kommun_id="2380", year=2021, direction="lower",
                      kommun_title="Östersund")  # fmt: skip
    root = _svg(svg)
    assert "Inga värden för Östersund 2021" in _texts(root)
    assert not [g for g in root.iter(f"{SVG}g") if g.get("id") == "kommun"]


def test_strip_chart_ignores_other_years_kpis_and_genders():
    d = _distribution(SEVENTEEN)
    d["gender"] = "T"
    noise = d.assign(gender="K", value=d["value"] + 100)
    other = _distribution({"2380": 1.0, "0001": 2.0}, year=2020)
    other["gender"] = "T"
    svg = strip_chart(pd.concat([d, noise, other]), "N03926", kommun_id="2380", year=2021, direction="lower")
    assert "2380: 8" in _texts(_svg(svg))
    assert len(_group(_svg(svg), "kommuner").findall(f".//{SVG}use")) == 16  # the other 2021 T kommuner


def test_quartile_boundaries_split_kommuner_by_rank_quartile():
    values = [float(v) for v in range(1, 18)]
    assert quartile_boundaries(values, "lower") == [4.5, 8.5, 12.5]
    assert quartile_boundaries(values, "higher") == [5.5, 9.5, 13.5]
    assert quartile_boundaries([1.0, 2.0, 3.0], "lower") == []
    series = pd.Series({f"u{i}": v for i, v in enumerate(values)})
    for direction in ("lower", "higher"):
        bounds = quartile_boundaries(values, direction)
        # compare's rule: rank as pandas' rank(method="min"), best first; quartile = ceil(4 · rank / n)
        ranks = series.rank(method="min", ascending=direction == "lower")
        for unit, value in series.items():
            quartile = math.ceil(4 * ranks[unit] / len(series))
            below = sum(value > b for b in bounds)  # boundaries left of the dot
            assert quartile == (below + 1 if direction == "lower" else 4 - below)


# --- matplotlib missing ----------------------------------------------------------------------------


def test_missing_matplotlib_is_a_usage_error(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # None in sys.modules: import raises ImportError
    with pytest.raises(UsageError, match=r"pip install (-e '\.|'kpijmf)\[charts\]'"):
        line_chart(sample_frame(), "N03926")
    with pytest.raises(UsageError, match="charts need matplotlib"):
        strip_chart(_distribution(SEVENTEEN), "N03926", kommun_id="2380", year=2021, direction="lower")


def test_nan_values_in_distribution_are_not_dots():
    values = dict(SEVENTEEN) | {"9999": math.nan}
    svg = strip_chart(_distribution(values), "N03926", kommun_id="2380", year=2021, direction="lower")
    assert "2380: 8" in _texts(_svg(svg))
    assert len(_group(_svg(svg), "kommuner").findall(f".//{SVG}use")) == 16
