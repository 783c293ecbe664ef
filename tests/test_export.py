"""Outputs of the comparison frame: CSV, Swedish-Excel CSV, XLSX, JSON and Markdown (the writer: test_sink.py)."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest

from kpijmf.errors import UsageError
from kpijmf.output import files as export
from kpijmf.output import xlsx
from kpijmf.output.colours import QUARTILE_COLOURS
from kpijmf.output.files import (
    FORMATS,
    format_for_path,
    neutralise_formula,
    render,
    render_bytes,
    to_csv,
    to_excel_csv,
    to_json,
    to_markdown,
)
from kpijmf.output.layout import format_sv, wide_frame
from kpijmf.output.xlsx import to_xlsx
from tests.comparison_fixture import COLUMNS, FORMULA_TITLE, MARKUP_TITLE, SIZE_TITLE, sample_frame, two_kommun_frame
from tests.support import kpijmf_env, run_kpijmf

NBSP = "\u00a0"


def read_csv_text(text: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, **kwargs)


def row(table: pd.DataFrame, kpi: str, uid: str, year: str | None = None) -> pd.Series:
    hit = table[(table["kpi"] == kpi) & (table["id"] == uid)]
    if year is not None:
        hit = hit[hit["year"] == year]
    assert len(hit) == 1
    return hit.iloc[0]


# --- long CSV ----------------------------------------------------------------------------------------


def test_long_csv_has_the_frame_columns_in_order_and_one_line_per_row():
    table = read_csv_text(to_csv(sample_frame()))
    assert list(table.columns) == COLUMNS
    assert len(table) == len(sample_frame())


def test_long_csv_round_trips_values_and_keeps_ids_as_strings():
    table = read_csv_text(to_csv(sample_frame()))
    riket = row(table, "N03926", "0000", "2021")
    assert riket["value"] == "2.7"
    assert riket["title"] == "Riket"
    assert row(table, "N40011", "2380", "2019")["value"] == "1456"
    assert set(table["id"]) == {"2380", "G2328", "G30831", "G99999", "egen", "0000"}


def test_long_csv_writes_numbers_without_float_noise():
    frame = sample_frame()
    noisy = frame.loc[(frame["kpi"] == "N03926") & (frame["id"] == "2380") & (frame["year"] == 2021), "diff_alla"]
    assert repr(float(noisy.iloc[0])) != "-0.3"  # the fixture really carries 2.9 − 3.2's noise
    table = read_csv_text(to_csv(frame))
    assert row(table, "N03926", "2380", "2021")["diff_alla"] == "-0.3"
    assert row(table, "N03926", "2380", "2021")["change_prev"] == "-0.2"


def test_long_csv_leaves_missing_cells_empty_and_writes_lowercase_booleans():
    table = read_csv_text(to_csv(sample_frame()))
    gap = row(table, "N03926", "G30831", "2020")
    assert gap["value"] == ""
    assert gap["count"] == ""
    assert row(table, "N03926", "G30831", "2021")["mean_differs"] == "true"
    assert row(table, "N03926", "2380", "2021")["mean_differs"] == "false"
    assert row(table, "N03926", "2380", "2021")["rank"] == "97"  # Int64, not "97.0"


def test_plain_csv_is_utf8_without_bom_with_lf_line_ends():
    text = to_csv(sample_frame())
    assert not text.startswith("\ufeff")
    assert "\r" not in text.replace(FORMULA_TITLE, "")
    assert text.endswith("\n")
    assert "Östersund" in text


# --- wide CSV ----------------------------------------------------------------------------------------


def test_wide_csv_has_one_row_per_kpi_and_unit_with_years_across_and_rank_text():
    table = read_csv_text(to_csv(sample_frame(), wide=True))
    assert list(table.columns) == [
        "kpi",
        "nyckeltal",
        "enhet",
        "id",
        "namn",
        "roll",
        "2019",
        "2020",
        "2021",
        "rang",
        "rang_år",
    ]
    assert len(table) == 12
    kommun = row(table, "N03926", "2380")
    assert (kommun["2019"], kommun["2020"], kommun["2021"]) == ("2.6", "3.1", "2.9")
    assert kommun["rang"] == "97 av 290"
    assert kommun["nyckeltal"] == "Långtidsarbetslöshet 25-64 år"
    assert kommun["enhet"] == "%"
    assert row(table, "N40011", "2380")["2020"] == ""


def test_wide_csv_orders_kommun_first_and_riket_last_within_each_kpi():
    table = read_csv_text(to_csv(sample_frame(), wide=True))
    for _, block in table.groupby("kpi"):
        assert list(block["roll"]) == ["kommun", "alla", "storlek", "grupp", "egen", "riket"]


def test_wide_csv_adds_a_gender_column_only_when_the_frame_has_gender_rows():
    assert "kön" not in read_csv_text(to_csv(sample_frame(), wide=True)).columns
    table = read_csv_text(to_csv(sample_frame(with_gender=True), wide=True))
    kommun = table[(table["kpi"] == "N03926") & (table["id"] == "2380")]
    assert list(kommun["kön"]) == ["T", "K", "M", "K-M"]
    assert list(kommun["2021"]) == ["2.9", "2.7", "3.1", "-0.4"]


def test_wide_frame_refuses_two_rows_for_the_same_cell():
    frame = sample_frame()
    doubled = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    with pytest.raises(ValueError, match="more than one row"):
        wide_frame(doubled)


# --- Excel CSV ---------------------------------------------------------------------------------------


def test_excel_csv_starts_with_bom_and_uses_crlf():
    data = to_excel_csv(sample_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == len(sample_frame()) + 1
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_excel_csv_reads_back_with_semicolon_and_decimal_comma():
    data = to_excel_csv(sample_frame())
    table = pd.read_csv(
        io.BytesIO(data), sep=";", decimal=",", encoding="utf-8-sig", dtype={"id": str, "title": str, "gender": str}
    )
    assert list(table.columns) == COLUMNS
    riket = table[(table["id"] == "0000") & (table["kpi"] == "N03926") & (table["year"] == 2021)].iloc[0]
    assert riket["value"] == pytest.approx(2.7)
    assert ";2,6;" in data.decode("utf-8-sig")


def test_wide_excel_csv_has_decimal_commas_in_year_columns():
    text = to_excel_csv(sample_frame(), wide=True).decode("utf-8-sig")
    assert text.splitlines()[0] == "kpi;nyckeltal;enhet;id;namn;roll;2019;2020;2021;rang;rang_år"
    assert "N03926;Långtidsarbetslöshet 25-64 år;%;2380;Östersund;kommun;2,6;3,1;2,9;97 av 290;2021" in text


# --- formula injection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+46 70", "'+46 70"),
        ("-Egna", "'-Egna"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Östersund", "Östersund"),
        ("K-M", "K-M"),
        ("", ""),
    ],
)
def test_neutralise_formula_prefixes_an_apostrophe_only_to_formula_starts(text, expected):
    assert neutralise_formula(text) == expected


def test_formula_titles_are_neutralised_in_long_and_wide_csv():
    for text, column in ((to_csv(sample_frame()), "title"), (to_csv(sample_frame(), wide=True), "namn")):
        titles = set(read_csv_text(text)[column])
        assert "'" + FORMULA_TITLE in titles
        assert FORMULA_TITLE not in titles


def test_formula_titles_are_neutralised_in_excel_csv():
    for wide in (False, True):
        data = to_excel_csv(sample_frame(), wide=wide)
        table = pd.read_csv(io.BytesIO(data), sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
        assert "'" + FORMULA_TITLE in set(table["namn" if wide else "title"])


def test_negative_numbers_are_left_as_numbers_in_every_spreadsheet_format():
    long_csv = read_csv_text(to_csv(sample_frame()))
    assert row(long_csv, "N03926", "2380", "2021")["change_prev"] == "-0.2"
    excel = to_excel_csv(sample_frame(), wide=True).decode("utf-8-sig")
    gap_row = next(
        line
        for line in to_excel_csv(sample_frame(with_gender=True), wide=True).decode("utf-8-sig").splitlines()
        if ";K-M;" in line
    )
    assert gap_row.endswith(";-0,4;-0,6;-0,4;;2021")
    assert "'-" not in excel
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(sample_frame())))
    data = wb["Data"]
    header = [c.value for c in data[1]]
    change = [r[header.index("change_prev")] for r in data.iter_rows(min_row=2)]
    negatives = [c for c in change if isinstance(c.value, float) and c.value < 0]
    assert negatives
    assert all(c.data_type == "n" for c in negatives)


# --- XLSX --------------------------------------------------------------------------------------------


def load_xlsx(frame: pd.DataFrame | None = None) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(to_xlsx(sample_frame() if frame is None else frame)))


def sheet_rows(ws) -> list[list]:
    return [[c.value for c in r] for r in ws.iter_rows()]


PCT_SHEET, KR_SHEET = "Långtidsarbetslöshet 25-64 år", "Nettokostnad arbetsmarknadsåtg…"


def test_xlsx_has_one_sheet_per_kpi_named_by_its_short_label_then_source_and_data():
    assert load_xlsx().sheetnames == [PCT_SHEET, KR_SHEET, "Källa", "Data"]


def test_xlsx_kpi_sheet_is_in_audit_layout_with_title_header_and_a_row_per_unit():
    ws = load_xlsx()[PCT_SHEET]
    rows = sheet_rows(ws)
    assert rows[0][0] == "Långtidsarbetslöshet 25-64 år (%)"
    assert rows[1][0] == "Kolada-id N03926"
    assert rows[2] == ["Nyckeltal", 2019, 2020, 2021, "Rang 2021", "Av", "Kvartil", "Förändring", "Kolada-id"]
    assert rows[3][:8] == ["Östersund", 2.6, 3.1, 2.9, 97, 290, 2, pytest.approx(-0.2)]
    assert rows[3][8] == "2380"
    assert [r[0] for r in rows[3:9]] == [
        "Östersund",
        "Alla kommuner (ovägt medel)",
        SIZE_TITLE,
        "'" + FORMULA_TITLE,
        MARKUP_TITLE,
        "Riket",
    ]
    assert rows[8][8] == "0000"
    assert ws.freeze_panes == "B4"


def test_xlsx_stores_numbers_as_numbers_with_unit_decimals_and_missing_as_empty():
    wb = load_xlsx()
    pct, kr = wb[PCT_SHEET], wb[KR_SHEET]
    assert pct["B4"].data_type == "n"
    assert pct["B4"].number_format == "#,##0.0"
    assert kr["B4"].value == 1456
    assert kr["B4"].number_format == "#,##0"
    assert kr["C4"].value is None  # Östersund has no N40011 value for 2020
    assert pct["C6"].value is None  # nor the size class for N03926 2020


def test_xlsx_explains_a_disagreeing_mean_in_a_comment_and_a_note():
    ws = load_xlsx()[PCT_SHEET]
    flagged = ws["D6"]  # size class, 2021
    assert flagged.value == 2.8
    assert flagged.comment is not None
    assert "eget medel 3,1 (22 kommuner)" in flagged.comment.text
    texts = [v for r in sheet_rows(ws) for v in r if isinstance(v, str)]
    assert any(t.startswith("* Koladas publicerade medelvärde") for t in texts)


def test_xlsx_source_sheet_names_source_api_version_times_and_citation_rule():
    values = dict((r[0], r[1]) for r in sheet_rows(load_xlsx()["Källa"])[1:])
    assert values["Källa"].startswith("Källa: Kolada (api.kolada.se/v3)")
    assert "egen bearbetning av data från Kolada" in values["Citering"]
    assert values["API"].startswith("https://api.kolada.se/v3/data/kpi/")
    assert values["kpijmf-version"] == "0.1.0"
    assert values["Skapad"] == "2026-03-24T09:30:00+01:00"
    assert values["Hämtad från Kolada"] == "2026-03-21T08:00:00+00:00 – 2026-03-23T08:02:00+00:00"
    assert values["Kommun"] == "Östersund (2380)"


def test_xlsx_every_kpi_sheet_ends_with_the_source_line():
    wb = load_xlsx()
    for name in (PCT_SHEET, KR_SHEET):
        texts = [v for r in sheet_rows(wb[name]) for v in r if isinstance(v, str)]
        assert texts[-1].startswith("Källa: Kolada")


def test_xlsx_data_sheet_holds_the_long_table_with_typed_cells_and_neutralised_text():
    ws = load_xlsx()["Data"]
    rows = sheet_rows(ws)
    assert rows[0] == COLUMNS
    assert len(rows) == len(sample_frame()) + 1
    by_col = [dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]]
    riket = next(r for r in by_col if r["id"] == "0000" and r["year"] == 2021 and r["kpi"] == "N03926")
    assert riket["value"] == 2.7
    assert "'" + FORMULA_TITLE in {r["title"] for r in by_col}
    assert {r["mean_differs"] for r in by_col} == {True, False}
    assert ws.freeze_panes == "A2"


def test_xlsx_sheet_names_are_valid_unique_and_at_most_31_characters():
    names = xlsx._sheet_names(["N03926", "n03926", "Källa", "a/b:c", "X" * 40, "X" * 40])
    assert names[0] == "N03926"
    assert len({n.lower() for n in names} | {"källa", "data"}) == len(names) + 2
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)


def test_xlsx_without_attrs_still_cites_kolada():
    frame = sample_frame()
    frame.attrs = {}
    values = dict((r[0], r[1]) for r in sheet_rows(load_xlsx(frame)["Källa"])[1:])
    assert values["Källa"].startswith("Källa: Kolada")
    assert values["API"] is None


# --- JSON --------------------------------------------------------------------------------------------


def test_json_has_metadata_with_provenance_and_source_and_one_row_per_frame_row():
    doc = json.loads(to_json(sample_frame()))
    assert doc["metadata"]["kommun_id"] == "2380"
    assert doc["metadata"]["years"] == [2019, 2020, 2021]
    assert doc["metadata"]["source"].startswith("Källa: Kolada")
    assert len(doc["rows"]) == len(sample_frame())
    assert list(doc["rows"][0]) == COLUMNS


def test_json_writes_missing_as_null_and_keeps_ids_as_strings():
    doc = json.loads(to_json(sample_frame()))
    gap = next(r for r in doc["rows"] if r["id"] == "G30831" and r["year"] == 2020 and r["kpi"] == "N03926")
    assert gap["value"] is None
    assert gap["rank"] is None
    riket = next(r for r in doc["rows"] if r["id"] == "0000")
    assert riket["id"] == "0000"
    assert riket["count"] is None
    kommun = next(r for r in doc["rows"] if r["id"] == "2380" and r["year"] == 2021)
    assert kommun["rank"] == 97
    assert kommun["diff_alla"] == -0.3


def test_json_is_strict_json_without_nan_tokens():
    text = to_json(sample_frame())
    assert "NaN" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard constant {c}"))


def test_json_without_attrs_still_carries_the_source():
    frame = sample_frame()
    frame.attrs = {}
    assert json.loads(to_json(frame))["metadata"]["source"].startswith("Källa: Kolada")


# --- Markdown ----------------------------------------------------------------------------------------


def test_markdown_has_a_heading_and_table_per_kpi_with_swedish_decimals_and_dash_for_missing():
    md = to_markdown(sample_frame())
    assert "### Långtidsarbetslöshet 25-64 år (%)" in md
    assert "### Nettokostnad arbetsmarknadsåtgärder (kr/inv)" in md
    assert "| Nyckeltal | 2019 | 2020 | 2021 | Rang 2021 |" in md
    assert f"| Östersund | 2,6 | 3,1 | 2,9 | 97{NBSP}av{NBSP}290 |" in md
    assert f"| Östersund | 1{NBSP}456 | – | 1{NBSP}612 | 201{NBSP}av{NBSP}287 |" in md
    assert "2.6" not in md


def test_markdown_puts_the_source_line_under_every_table():
    md = to_markdown(sample_frame())
    blocks = md.split("### ")[1:]
    assert len(blocks) == 2
    for block in blocks:
        assert block.rstrip().splitlines()[-1].startswith("Källa: Kolada (api.kolada.se/v3)")


def test_markdown_escapes_pipes_so_a_title_cannot_split_the_table():
    md = to_markdown(sample_frame())
    line = next(x for x in md.splitlines() if "Egna jämförelsekommuner" in x)
    assert "\\| urval" in line
    assert line.replace("\\|", "").count("|") == 6  # 5 cells → 6 separators


def test_markdown_marks_a_disagreeing_mean_and_explains_it():
    md = to_markdown(sample_frame())
    assert f"| {SIZE_TITLE} | 2,7 | – | 2,8\\* |  |" in md
    assert "eget medel 3,1 (22 kommuner)" in md


def test_markdown_rounds_half_up_like_the_audits():
    assert "| 2,8 | 3,3 | 3,0 |" in to_markdown(sample_frame())  # 2.75, 3.25, 3.0
    assert format_sv(3.05, 1) == "3,1"
    assert format_sv(-0.04, 1) == "0,0"
    assert format_sv(-1234.5, 0) == f"−1{NBSP}235"


# --- dispatch ----------------------------------------------------------------------------------------


def test_render_bytes_dispatches_each_file_format():
    frame = sample_frame()
    assert render_bytes(frame, "csv") == to_csv(frame).encode()
    assert render_bytes(frame, "csv", wide=True) == to_csv(frame, wide=True).encode()
    assert render_bytes(frame, "excel") == to_excel_csv(frame)
    assert render_bytes(frame, "xlsx").startswith(b"PK")
    assert json.loads(render_bytes(frame, "json"))["rows"]
    assert render_bytes(frame, "md").decode().startswith("### ")
    assert set(FORMATS) == {"table", "csv", "excel", "xlsx", "json", "md"}


def test_render_bytes_table_is_plain_text_without_escape_codes():
    text = render_bytes(sample_frame(), "table").decode()
    assert "Långtidsarbetslöshet 25-64 år (%)" in text
    assert "97 av 290" in text
    assert "\x1b" not in text


def test_render_bytes_rejects_an_unknown_format_with_the_choices():
    with pytest.raises(UsageError, match="csv, excel"):
        render_bytes(sample_frame(), "pdf")


def test_outputs_of_an_empty_frame_have_headers_and_the_source():
    empty = sample_frame().iloc[0:0]
    assert to_csv(empty).strip() == ",".join(COLUMNS)
    assert json.loads(to_json(empty))["rows"] == []
    assert "Källa: Kolada" in to_markdown(empty)
    assert load_xlsx(empty).sheetnames == ["Källa", "Data"]


@pytest.mark.parametrize("decimal", [".", ","])
def test_float_columns_are_written_as_single_cells_would_be(decimal):
    """The column-wise fast path for floats gives the text of the general cell writer, e-notation cases included."""
    values = [0.1 + 0.2, -0.0, 3.0, 2.5e-5, 1e-7, 123456.789, 1e17, 2**53 + 2.0, -1.23456789, float("nan"),
              float("inf"), 4.1e-4, 1 / 3, -2.675, 1e16 + 0.5]  # fmt: skip
    for value in values:
        assert export._float_text(value, decimal) == export._csv_cell(value, decimal), value


# --- display rounding (wide CSV, Excel CSV) vs full precision (long CSV, JSON) ---------------------------


def with_long_mean() -> pd.DataFrame:
    """The fixture with an own group mean of many decimals, as kpijmf's mean of 9 members can have."""
    frame = sample_frame()
    at = (frame["kpi"] == "N40011") & (frame["id"] == "egen") & (frame["year"] == 2021)
    frame.loc[at, ["value", "computed_mean"]] = 19504 / 9  # 2167.111…
    return frame


def test_wide_csv_rounds_each_kpis_values_to_its_display_decimals():
    table = read_csv_text(to_csv(with_long_mean(), wide=True))
    egen_pct, egen_kr = row(table, "N03926", "egen"), row(table, "N40011", "egen")
    assert (egen_pct["2019"], egen_pct["2020"]) == ("2.8", "3.3")  # 2.75 and 3.25, % shows 1 decimal, half up
    assert (egen_kr["2019"], egen_kr["2021"]) == ("1380", "2167")  # kr/inv shows none
    assert row(table, "N40011", "G99999")["2021"] == "1175"  # 1175.25


def test_excel_csv_rounds_values_means_and_changes_to_the_kpis_decimals():
    for wide in (False, True):
        text = to_excel_csv(with_long_mean(), wide=wide).decode("utf-8-sig")
        assert "2167,1" not in text and "2,75" not in text
    table = pd.read_csv(io.BytesIO(to_excel_csv(with_long_mean())), sep=";", encoding="utf-8-sig", dtype=str)
    egen = table[(table["kpi"] == "N40011") & (table["id"] == "egen") & (table["year"] == "2021")].iloc[0]
    assert (egen["value"], egen["computed_mean"]) == ("2167", "2167")
    pct = table[(table["kpi"] == "N03926") & (table["id"] == "egen") & (table["year"] == "2019")].iloc[0]
    assert pct["value"] == "2,8"
    kommun = table[(table["kpi"] == "N03926") & (table["id"] == "2380") & (table["year"] == "2021")].iloc[0]
    assert (kommun["diff_alla"], kommun["change_prev"], kommun["rank"]) == ("-0,3", "-0,2", "97")


def test_long_csv_json_and_the_xlsx_data_sheet_keep_full_precision():
    frame = with_long_mean()
    long_csv = read_csv_text(to_csv(frame))
    assert row(long_csv, "N40011", "egen", "2021")["value"] == "2167.111111"
    assert row(long_csv, "N03926", "egen", "2019")["value"] == "2.75"
    doc = json.loads(to_json(frame))
    egen = next(r for r in doc["rows"] if r["kpi"] == "N40011" and r["id"] == "egen" and r["year"] == 2021)
    assert egen["value"] == 2167.111111
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(frame)))
    assert wb[KR_SHEET]["D8"].value == pytest.approx(19504 / 9)  # full value under a 0-decimal number format
    assert wb[KR_SHEET]["D8"].number_format == "#,##0"


# --- rows written -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "wide"), [("csv", False), ("csv", True), ("excel", False), ("excel", True)])
def test_rows_written_for_csv_is_the_number_of_lines_after_the_header(fmt, wide):
    frame = sample_frame(with_gender=True)
    done = render(frame, fmt, wide=wide)
    text = done.data.decode("utf-8-sig")
    assert done.rows == len(text.splitlines()) - 1
    assert done.rows == (len(frame) if not wide else len(wide_frame(frame)))


def test_rows_written_for_markdown_table_json_and_xlsx_count_what_they_hold():
    frame = sample_frame()
    md = render(frame, "md")
    body = [line for line in md.data.decode().splitlines() if line.startswith("| ") and "Nyckeltal" not in line]
    assert md.rows == len(body) == 12
    assert render(frame, "table").rows == 12
    assert render(frame, "json").rows == len(json.loads(render(frame, "json").data)["rows"]) == 36
    xlsx = render(frame, "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    ids = [r[8] for name in (PCT_SHEET, KR_SHEET) for r in wb[name].iter_rows(min_row=4, values_only=True) if r[8]]
    assert xlsx.rows == len(ids) == 12
    assert xlsx.data_rows == wb["Data"].max_row - 1 == 36


# --- the --output ending ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt", "chosen"),
    [
        ("r.csv", None, "csv"),
        ("R.XLSX", None, "xlsx"),
        ("r.json", None, "json"),
        ("r.md", None, "md"),
        ("r.txt", None, "table"),
        ("r.csv", "excel", "excel"),
        ("r.xlsx", "xlsx", "xlsx"),
        ("/dev/stdout", None, "csv"),
        ("/dev/stdout", "json", "json"),
        ("-", None, None),
        (None, "md", "md"),
    ],
)
def test_output_ending_picks_or_confirms_the_format(path, fmt, chosen):
    assert format_for_path(path, fmt) == chosen


@pytest.mark.parametrize(
    ("path", "fmt"), [("rapport.xls", None), ("r.xlsx", "csv"), ("r.csv", "xlsx"), ("r.htm", "md")]
)
def test_output_ending_that_does_not_match_the_format_is_a_usage_error_naming_the_formats(path, fmt):
    with pytest.raises(UsageError) as err:
        format_for_path(path, fmt)
    assert err.value.exit_code == 2
    assert "csv (.csv), excel (.csv), xlsx (.xlsx), json (.json), md (.md), table (.txt)" in str(err.value)


# --- xlsx: ranks, quartile fills, bold kommun row, sheet names, legend -------------------------------------


def fill_of(cell) -> str | None:
    return cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fill_type == "solid" else None


def argb(quartile: int) -> str:
    return "FF" + QUARTILE_COLOURS[quartile].lstrip("#").upper()


def test_xlsx_rank_and_total_are_numbers_with_kvartil_and_forandring_columns():
    wb = load_xlsx()
    pct, kr = wb[PCT_SHEET], wb[KR_SHEET]
    assert [c.value for c in pct[3]][4:8] == ["Rang 2021", "Av", "Kvartil", "Förändring"]
    assert [pct.cell(4, j).data_type for j in (5, 6, 7, 8)] == ["n"] * 4
    assert [c.value for c in kr[4]][4:8] == [201, 287, 3, None]  # no 2020 value, so no change
    assert kr["H5"].value == pytest.approx(1420.1 - 1388.7)  # Alla kommuner's change
    assert kr["H5"].number_format == "+#,##0;-#,##0;#,##0"
    assert [c.value for c in pct[5]][4:7] == [None, None, None]  # peers have no rank


def test_xlsx_fills_the_kommuns_values_with_each_years_quartile_colour_only():
    wb = load_xlsx()
    pct, kr = wb[PCT_SHEET], wb[KR_SHEET]
    assert [fill_of(pct.cell(4, j)) for j in (2, 3, 4, 7)] == [argb(2)] * 4
    assert [fill_of(kr.cell(4, j)) for j in (2, 3, 4, 7)] == [argb(3), None, argb(3), argb(3)]  # 2020: no rank
    peers = [fill_of(c) for ws in (pct, kr) for r in ws.iter_rows(min_row=5, max_row=9) for c in r]
    assert set(peers) == {None}


def test_xlsx_fills_follow_the_quartile_and_a_neutral_kpi_gets_none():
    frame = sample_frame()
    at = (frame["kpi"] == "N03926") & (frame["id"] == "2380")
    frame.loc[at, "quartile"] = [1, 3, 4]
    frame.loc[frame["kpi"] == "N40011", "direction"] = "neutral"
    wb = load_xlsx(frame)
    assert [fill_of(wb[PCT_SHEET].cell(4, j)) for j in (2, 3, 4)] == [argb(1), argb(3), argb(4)]
    assert fill_of(wb[PCT_SHEET]["G4"]) == argb(4)
    assert {fill_of(c) for r in wb[KR_SHEET].iter_rows() for c in r} == {None}


def test_xlsx_fills_vs_rows_like_the_kommun():
    frame = sample_frame()
    vs = frame[frame["id"] == "2380"].copy()
    vs["id"], vs["title"], vs["role"], vs["quartile"] = "2281", "Sundsvall", "vs", 1
    wb = load_xlsx(pd.concat([frame, vs], ignore_index=True))
    sundsvall = next(r for r in wb[PCT_SHEET].iter_rows(min_row=4) if r[0].value == "Sundsvall")
    assert [fill_of(c) for c in sundsvall[1:4]] == [argb(1)] * 3
    assert not sundsvall[0].font.bold


def test_xlsx_bolds_the_kommuns_row_and_nothing_else_in_the_table():
    ws = load_xlsx()[PCT_SHEET]
    assert all(c.font.bold for c in ws[4])
    assert not any(c.font.bold for r in ws.iter_rows(min_row=5, max_row=9) for c in r)


def test_xlsx_source_sheet_has_a_colour_legend_with_the_four_fills():
    ws = load_xlsx()["Källa"]
    legend = [(r[0].value, fill_of(r[0])) for r in ws.iter_rows() if fill_of(r[0])]
    assert legend == [
        ("Kvartil 1 (bästa fjärdedelen)", argb(1)),
        ("Kvartil 2", argb(2)),
        ("Kvartil 3", argb(3)),
        ("Kvartil 4 (sämsta fjärdedelen)", argb(4)),
    ]
    assert any("PiYG" in str(r[1].value) for r in ws.iter_rows())


def test_xlsx_sheet_names_come_from_short_labels_and_are_excel_safe_and_unique():
    names = xlsx._sheet_names(
        [
            "Långtidsarbetslöshet",
            "långtidsarbetslöshet",
            "Källa",
            "History",
            "a/b:c [x]?",
            "'Citat'",
            "X" * 40,
            "X" * 40,
            "",
        ]
    )
    assert names[:6] == ["Långtidsarbetslöshet", "långtidsarbetslöshet (2)", "Källa (2)", "History (2)", "a b c x",
                         "Citat"]  # fmt: skip
    assert names[6] == "X" * 30 + "…"
    assert names[7] == "X" * 26 + "… (2)"
    assert names[8] == "KPI"
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert len({n.lower() for n in names} | {"källa", "data"}) == len(names) + 2


# --- end to end: the CLI's --output checks and its talk line --------------------------------------------


def test_cli_refuses_an_output_ending_no_format_writes_with_exit_2(tmp_path):
    env = kpijmf_env("http://127.0.0.1:9", tmp_path)  # never reached: the name is checked first
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", "-o", str(tmp_path / "rapport.xls")], env)
    assert run.code == 2
    assert run.stdout == ""
    assert "no format writes '.xls' files" in run.stderr
    assert "xlsx (.xlsx)" in run.stderr and "excel (.csv)" in run.stderr
    assert not (tmp_path / "rapport.xls").exists()


def test_cli_reports_the_rows_it_wrote(emulator, tmp_path):
    env = kpijmf_env(emulator.url, tmp_path / "store")
    base = ["compare", "--kommun", "2380", "--kpi", "N03926,N40011", "--years", "2019-2021"]
    for name, extra in (("long.csv", []), ("wide.csv", ["--wide"])):
        target = tmp_path / name
        run = run_kpijmf([*base, *extra, "-o", str(target)], env)
        assert run.code == 0, run.stderr
        lines = target.read_text(encoding="utf-8").splitlines()
        assert f"skrev {len(lines) - 1} rader (csv) till {target}" in run.stderr


def test_xlsx_labels_that_clash_once_cut_are_told_apart_by_their_kolada_ids():
    labels = ["Avslutade deltagare som börjat arbeta eller studera"] * 2 + ["Arbetslöshet", "arbetslöshet"]
    names = xlsx._sheet_names(labels, ["U40455", "U40456", "N03920", "N03921"])
    assert names == [
        "Avslutade deltagare som… U40455",
        "Avslutade deltagare som… U40456",
        "Arbetslöshet N03920",
        "arbetslöshet N03921",
    ]
    assert all(len(n) <= 31 for n in names)


# --- xlsx: one block per focus kommun, footnotes under each (issues 11 and 14) ---------------------------------


def test_xlsx_with_several_kommuner_has_a_headed_block_for_each_on_every_kpi_sheet():
    frame = two_kommun_frame()
    gap = (frame.kpi == "N03926") & (frame.id == "2480") & (frame.year == 2019)
    frame.loc[gap, ["value", "status"]] = [float("nan"), "Uppgift saknas"]
    rendered = render(frame, "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(rendered.data))[PCT_SHEET]
    rows = sheet_rows(ws)
    labels = [r[0] for r in rows]
    ostersund, umea = labels.index("Östersund (2380)"), labels.index("Umeå (2480)")
    assert ostersund == 2 and ostersund < umea  # row 3, under the KPI's title and id
    for at in (ostersund, umea):
        assert ws.cell(at + 1, 1).font.bold
        assert rows[at + 1][:4] == ["Nyckeltal", 2019, 2020, 2021]  # each block has its own header row
    assert rows[ostersund + 2][:4] == ["Östersund", 2.6, 3.1, 2.9]
    assert rows[umea + 2][:4] == ["Umeå", None, 3.8, 3.9]
    assert "Umeå" not in labels[ostersund:umea] and "Östersund" not in labels[umea:]
    mean_lines = [label for label in labels if "2021: Kolada 2,8, eget medel" in str(label)]
    assert len(mean_lines) == 1  # the size class's disagreeing mean, shared by both blocks, is explained once
    source = dict((r[0], r[1]) for r in sheet_rows(openpyxl.load_workbook(io.BytesIO(rendered.data))["Källa"]))
    assert source["Kommun"] == "Östersund (2380), Umeå (2480)"
    status_note = "Saknas med status 'Uppgift saknas' hos Kolada: Umeå 2019."
    assert labels.index(status_note) > umea  # the footnote sits under Umeå's block, not Östersund's
    assert fill_of(ws.cell(umea + 3, 3)) == argb(4)  # Umeå's values in its own quartile's colour
    assert rendered.rows == 2 * 2 * 6  # two KPI sheets, two kommun blocks each, six units per block


def test_xlsx_marks_a_break_year_and_footnotes_neutral_counts_and_years_per_kpi():
    frame = sample_frame()
    mine = frame.kpi == "N03926"
    frame.loc[mine & (frame.year == 2021), "note"] = "brott i serien 2021: 25-65 år"
    frame.loc[frame.kpi == "N40011", ["direction", "kpi_unit"]] = ["neutral", "antal"]
    frame.attrs["years_per_kpi"] = True
    wb = load_xlsx(frame)
    pct = sheet_rows(wb[PCT_SHEET])
    assert pct[2][:4] == ["Nyckeltal", 2019, 2020, "2021‡"]
    assert [r[0] for r in pct if str(r[0]).startswith("‡")] == [
        "‡ Brott i serien 2021: 25-65 år. Ingen förändring beräknas över brottet."
    ]
    kr = [r[0] for r in sheet_rows(wb[KR_SHEET])]
    assert "Ingen rang eller kvartil: nyckeltalet har ingen bättre eller sämre riktning." in kr
    assert any(str(v).startswith("Antal: jämförs inte med medelvärden") for v in kr)
    assert any(str(v).startswith("Åren är nyckeltalets egna") for v in kr)
    assert "Östersund (2380)" not in kr  # one kommun: no heading row, the table starts on row 3 as before
