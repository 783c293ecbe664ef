"""The comparison frame as files: CSV (plain and Swedish Excel), XLSX, JSON and Markdown, as bytes.

Long outputs (CSV, Excel CSV, JSON, the XLSX "Data" sheet) carry the frame's columns unchanged; the audit
layout (wide CSV, XLSX KPI sheets, Markdown) comes from `kpijmf.output.layout.wide_frame`. Every text cell that
could reach a spreadsheet goes through `neutralise_formula`.

Precision: the long CSV, JSON and the XLSX "Data" sheet keep every value as computed (to 6 decimals, which
only drops float noise); the formats people read (wide CSV, Excel CSV, Markdown, the table) round values,
means, differences and changes to the KPI's display decimals (`layout.kpi_decimals`), and the XLSX KPI
sheets keep the full value under a number format with those decimals. Every text goes through `printable`
(JSON: `json_text`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpijmf.domain import vocab
from kpijmf.errors import UsageError
from kpijmf.output.clean import json_text, printable
from kpijmf.output.colours import (
    COLOURED_ROLES,
    PALETTE_NAME,
    QUARTILE_COLOURS,
    QUARTILE_WORDS,
    quartile_colour,
    text_colour,
)
from kpijmf.output.layout import (
    CITATION_RULE,
    DETAIL_COLUMNS,
    MEAN_NOTE_INTRO,
    MISSING,
    MeanNote,
    RankCell,
    cell_ranks,
    focus_kommuner,
    format_sv,
    is_missing,
    kpi_decimals,
    kpi_heading,
    mean_note_text,
    mean_notes,
    round_shown,
    source_line,
    text,
    wide_frame,
)
from kpijmf.output.notes import BREAK_MARK, break_years, focus_heading
from kpijmf.output.notes import block_notes as kpi_footnotes

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FORMATS = vocab.FORMATS
# The file endings each format writes; `-o` with any other ending is a usage error (`format_for_path`).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "csv": (".csv",),
    "excel": (".csv",),
    "xlsx": (".xlsx",),
    "json": (".json",),
    "md": (".md",),
    "table": (".txt",),
}
# The wide CSV's headers (Swedish throughout); the long CSV keeps the frame's column names (a contract).
WIDE_HEADERS = {"title": "namn", "role": "roll"}
# Columns of the long frame rounded to the KPI's decimals in the Excel CSV (a display format).
_DISPLAY_ROUNDED = ("value", "computed_mean", "diff_alla", "change_prev")

# A spreadsheet reads a cell starting with one of these as a formula (or DDE call): CSV injection.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_META_SHEETS = ("Källa", "Data")
_TABLE_WIDTH = 120  # columns for the plain-text "table" format written to a file


def neutralise_formula(value: str) -> str:
    """Prefix "'" to text a spreadsheet would run as a formula; used for every text cell of CSV and XLSX."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


# --- cells -------------------------------------------------------------------------------------------


def _plain(value: Any) -> bool | int | float | str | None:
    """A cell as a plain Python value: None, bool, int, float (no noise, no -0) or str."""
    if isinstance(value, str):
        return value
    if is_missing(value):
        return None
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = round(float(value), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
        return int(x) if x.is_integer() and abs(x) < 2**53 else x
    return str(value)


def _number_text(value: int | float, decimal: str) -> str:
    if isinstance(value, int):
        return str(value)
    import numpy as np

    s = np.format_float_positional(value, trim="-")
    return s.replace(".", decimal) if decimal != "." else s


def _csv_cell(value: Any, decimal: str) -> str:
    v = _plain(value)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _number_text(v, decimal)
    return _csv_text_cell(v)


def _csv_text_cell(value: str) -> str:
    # The csv module quotes a field only for the line terminator's characters: a bare CR in "\n" CSV would
    # stay unquoted, and spreadsheets would start a new row there, whose first cell escapes neutralising.
    return neutralise_formula(printable(value, keep_cr=True)).replace("\r\n", "\n").replace("\r", "\n")


def _float_text(value: float, decimal: str) -> str:
    """`_csv_cell` for a float, without its type dispatch: the same text, faster for whole float columns."""
    if not math.isfinite(value):
        return ""
    x = round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    if x.is_integer() and abs(x) < 2**53:
        return str(int(x))
    s = repr(x)  # the shortest text that reads back as x, as numpy's positional format: but for e-notation
    if "e" in s or s.endswith(".0"):  # and whole numbers beyond 2**53
        return _number_text(x, decimal)
    return s.replace(".", decimal) if decimal != "." else s


def _csv_column(column: pd.Series, decimal: str) -> list[str]:
    """One column's CSV cells, dispatching on its dtype once instead of on every cell."""
    values = column.tolist()
    if column.dtype.kind == "f":
        return [_float_text(v, decimal) for v in values]
    # A column repeats few texts (ids, titles, roles, the source): each distinct one is cleaned once.
    texts: dict[str, str] = {}
    for v in values:
        if type(v) is str and v not in texts:
            texts[v] = _csv_text_cell(v)
    return [texts[v] if type(v) is str else _csv_cell(v, decimal) for v in values]


def _records(frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    return [str(c) for c in frame.columns], list(frame.itertuples(index=False, name=None))


def _wide_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The wide CSV's table: the audit layout with each year's number rounded to the KPI's decimals and
    Swedish headers (`WIDE_HEADERS`)."""
    detail = wide_frame(frame, detail=True)
    years = [c for c in detail.columns if isinstance(c, int)]
    table = detail[[c for c in detail.columns if c not in DETAIL_COLUMNS]].copy()
    for y in years:
        table[y] = [
            round_shown(float(v), int(d)) if not isinstance(v, str) and not is_missing(v) else v
            for v, d in zip(detail[y], detail["decimaler"], strict=True)
        ]
    return table.rename(columns=WIDE_HEADERS)


def _display_rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the long frame with values, means, differences and changes rounded to each KPI's decimals."""
    decimals = kpi_decimals(frame)
    out = frame.copy()
    places = [decimals.get(text(k), 6) for k in frame["kpi"]]
    for column in _DISPLAY_ROUNDED:
        if column in out.columns:
            values = out[column].to_numpy(dtype="float64", na_value=float("nan"))
            out[column] = [round_shown(float(v), d) for v, d in zip(values, places, strict=True)]
    return out


def _csv_text(table: pd.DataFrame, *, sep: str, decimal: str, newline: str) -> tuple[str, int]:
    """The table as CSV text, and how many data rows (lines after the header) it holds."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise_formula(printable(str(h))) for h in table.columns])
    rows = list(zip(*(_csv_column(table.iloc[:, i], decimal) for i in range(table.shape[1])), strict=True))
    writer.writerows(rows)
    return buf.getvalue(), len(rows)


def _plain_csv(frame: pd.DataFrame, wide: bool) -> tuple[str, int]:
    return _csv_text(_wide_table(frame) if wide else frame, sep=",", decimal=".", newline="\n")


def _excel_csv(frame: pd.DataFrame, wide: bool) -> tuple[bytes, int]:
    table = _wide_table(frame) if wide else _display_rounded(frame)
    body, rows = _csv_text(table, sep=";", decimal=",", newline="\r\n")
    return body.encode("utf-8-sig"), rows


def to_csv(frame: pd.DataFrame, *, wide: bool = False) -> str:
    """Plain CSV: ',' separator, '.' decimal, '\\n' line ends; long by default, audit layout with wide."""
    return _plain_csv(frame, wide)[0]


def to_excel_csv(frame: pd.DataFrame, *, wide: bool = False) -> bytes:
    """CSV that Swedish Excel opens by double-click: ';' separator, decimal comma, UTF-8 BOM, CRLF; numbers
    rounded to each KPI's display decimals."""
    return _excel_csv(frame, wide)[0]


# --- JSON --------------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return _plain(value)


def metadata(frame: pd.DataFrame) -> dict[str, Any]:
    """The frame's provenance attrs, JSON-safe, plus the source line and the citation rule."""
    meta = _json_safe(dict(frame.attrs or {}))
    meta["source"] = source_line(frame.attrs)
    meta["citation"] = CITATION_RULE
    return meta


def to_json(frame: pd.DataFrame) -> str:
    """{"metadata": {...}, "rows": [...]}: one object per frame row, NaN as null, ids as strings."""
    header, rows = _records(frame)
    doc = {
        "metadata": metadata(frame),
        "rows": [dict(zip(header, (_plain(v) for v in row), strict=True)) for row in rows],
    }
    return json_text(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)) + "\n"


# --- Markdown ----------------------------------------------------------------------------------------

_MD_SPECIAL = "\\|*_`[]<>"
NBSP = "\u00a0"


def markdown_escape(value: str) -> str:
    """Text safe inside a Markdown table cell or heading: specials escaped, line breaks flattened."""
    flat = " ".join(printable(value).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in flat)


def _blocks(frame: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame, list[int]]]:
    """(kpi, its wide rows, its own year columns) per KPI, in the frame's order (every focus kommun's rows)."""
    wide = wide_frame(frame, detail=True)
    for kpi, block in wide.groupby("kpi", sort=False):
        yield str(kpi), block, list(block.iloc[0]["år"])


def to_markdown(frame: pd.DataFrame) -> str:
    """Per KPI a '### label (unit)' heading, a pipe table in the audit layout, and the source line."""
    return _markdown(frame)[0]


def _markdown(frame: pd.DataFrame) -> tuple[str, int]:
    """The Markdown text and how many table rows (units, not headers) it holds."""
    from kpijmf.output.terminal import REVISED_MARK, REVISED_NOTE, revised_cells

    notes = mean_notes(frame)
    flagged = {(n.kpi, n.role, n.id, n.gender, n.year) for n in notes}
    src = markdown_escape(source_line(frame.attrs))
    parts: list[str] = []
    written = 0
    wide = wide_frame(frame, detail=True)
    several = len(focus_kommuner(frame)) > 1
    for (focus, kpi), block in wide.groupby(["kommun_id", "kpi"], sort=False):
        revised = revised_cells(frame, str(kpi))
        first = block.iloc[0]
        years = list(first["år"])
        breaks = break_years(frame, str(kpi))
        decimals = int(first["decimaler"])
        rank_year = int(first["rang_år"])
        lines = []
        if several and block.index[0] == wide.index[wide["kommun_id"] == focus][0]:
            lines += [f"## {markdown_escape(focus_heading(frame, str(focus)))}", ""]
        lines += [f"### {markdown_escape(kpi_heading(first['nyckeltal'], first['enhet']))}", ""]
        heads = [f"{y}{BREAK_MARK}" if y in breaks else str(y) for y in years]
        lines.append("| " + " | ".join(["Nyckeltal", *heads, f"Rang {rank_year}"]) + " |")
        lines.append("|" + "|".join([":---", *["---:"] * len(years), "---:"]) + "|")
        for _, r in block.iterrows():
            cells = [markdown_escape(r["etikett"])]
            for y in years:
                cell = format_sv(r[y], decimals)
                if (kpi, r["role"], r["id"], r["gender"], y) in flagged:
                    cell += "\\*"
                if (r["role"], r["id"], r["gender"], y) in revised:
                    cell += REVISED_MARK
                cells.append(cell)
            cells.append(markdown_escape(r["rang"]).replace(" ", NBSP))  # "4 av 18" never splits
            lines.append("| " + " | ".join(cells) + " |")
            written += 1
        lines.append("")
        block_notes = [n for n in notes if n.kpi == kpi]
        if block_notes:
            explained = "; ".join(markdown_escape(mean_note_text(n, decimals)) for n in block_notes)
            lines.append(f"{markdown_escape(MEAN_NOTE_INTRO)} {explained}")
            lines.append("")
        for note in kpi_footnotes(frame, str(kpi), str(focus)):
            lines += [markdown_escape(note), ""]
        if revised:
            lines += [markdown_escape(REVISED_NOTE), ""]
        lines.append(src)
        parts.append("\n".join(lines))
    if not parts:
        return f"Inga värden ({MISSING}).\n\n{src}\n", 0
    return "\n\n".join(parts) + "\n", written


# --- XLSX --------------------------------------------------------------------------------------------


def _fit(name: str, suffix: str = "") -> str:
    """name + suffix in Excel's 31 characters, the name cut with "…" where needed."""
    room = 31 - len(suffix)
    return (name if len(name) <= room else name[: room - 1].rstrip() + "…") + suffix


def _sheet_names(labels: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
    """A sheet name per KPI from its short label: Excel-safe characters, ≤ 31 characters (cut with "…") and
    unique case-insensitively, as Excel compares. Labels that clash (once cut) all get their KPI id appended
    ("Avslutade deltagare so… U40455"); what still clashes, or a reserved or meta sheet's name, gets " (2)"."""
    reserved = {name.lower() for name in (*_META_SHEETS, "History")}
    bases = [
        " ".join("".join(" " if ch in "[]:*?/\\" else ch for ch in label).split()).strip("'").strip() or "KPI"
        for label in labels
    ]
    fitted = [_fit(base) for base in bases]
    counts: dict[str, int] = {}
    for name in fitted:
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    taken = set(reserved)
    names = []
    for i, base in enumerate(bases):
        name = fitted[i]
        if ids is not None and counts[name.lower()] > 1:
            name = _fit(base, " " + ids[i])
        n, candidate = 1, name
        while candidate.lower() in taken:
            n += 1
            candidate = _fit(base if candidate == fitted[i] else name, f" ({n})")
        taken.add(candidate.lower())
        names.append(candidate)
    return names


def _xlsx_text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return neutralise_formula(ILLEGAL_CHARACTERS_RE.sub("", printable(value, keep_cr=True)))


def _xlsx_value(value: Any) -> Any:
    v = _plain(value)
    return _xlsx_text(v) if isinstance(v, str) else v


def _number_format(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def _fetched_range(frame: pd.DataFrame) -> str:
    stamps = sorted({text(v) for v in frame["fetched_at"]} - {""}) if "fetched_at" in frame.columns else []
    if not stamps:
        return ""
    return stamps[0] if stamps[0] == stamps[-1] else f"{stamps[0]} – {stamps[-1]}"


def _fill(colour: str) -> Any:
    from openpyxl.styles import PatternFill

    argb = "FF" + colour.lstrip("#").upper()
    return PatternFill(fill_type="solid", start_color=argb, end_color=argb)


def _paint(cell: Any, quartile: int | None, direction: str, *, bold: bool) -> None:
    """Fill a kommun's (or vs) cell with its quartile's colour, the text in black or white to contrast."""
    from openpyxl.styles import Font

    fill = quartile_colour(quartile, direction)
    if fill is None:
        return
    cell.fill = _fill(fill)
    cell.font = Font(bold=bold, color="FF" + text_colour(fill).lstrip("#").upper())


def _kpi_sheet(ws: Any, sheet: KpiSheet) -> int:
    """One KPI's audit table, one block per focus kommun (each under a bold 'Östersund (2380)' row when there are
    several) with its footnotes; returns how many unit rows it wrote."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from kpijmf.output.terminal import REVISED_NOTE

    block, years = sheet.block, sheet.years
    first = block.iloc[0]
    decimals = int(first["decimaler"])
    rank_year = int(first["rang_år"])
    kpi_title = text(first["nyckeltal"])
    ws.append([_xlsx_text(kpi_heading(kpi_title, text(first["enhet"])))])
    ws["A1"].font = Font(bold=True, size=12)
    ws.append([_xlsx_text(f"Kolada-id {sheet.kpi}")])
    several = len(sheet.headings) > 1
    written = 0
    for focus, rows in block.groupby("kommun_id", sort=False):
        if several:
            ws.append([_xlsx_text(sheet.headings.get(str(focus), str(focus)))])
            ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
        written += _kpi_table(ws, sheet, rows)
        ws.append([])
        footnotes = sheet.footnotes.get(str(focus), [])
        for line in footnotes:
            ws.append([_xlsx_text(line)])
        if footnotes and several:
            ws.append([])
    if sheet.notes:
        ws.append([_xlsx_text(MEAN_NOTE_INTRO)])
        for mean in sheet.notes:
            ws.append([_xlsx_text(mean_note_text(mean, decimals))])
    if sheet.revised:
        ws.append([_xlsx_text(REVISED_NOTE)])
    ws.append([_xlsx_text(f"Rang, kvartil och förändring avser {rank_year}; färgerna förklaras på bladet Källa.")])
    ws.append([_xlsx_text(sheet.src)])
    ws.freeze_panes = "B3" if several else "B4"
    label_width = max([len(text(v)) for v in block["etikett"]] + [len("Nyckeltal")])
    ws.column_dimensions["A"].width = min(label_width + 2, 60)
    for j in range(2, len(years) + 2):
        ws.column_dimensions[get_column_letter(j)].width = 11
    for j, width in enumerate((11, 6, 8, 12, 11), start=len(years) + 2):
        ws.column_dimensions[get_column_letter(j)].width = width
    return written


def _kpi_table(ws: Any, sheet: KpiSheet, block: pd.DataFrame) -> int:
    """One focus kommun's table of a KPI sheet: the header row (‡ on a break's year) and a row per unit."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font

    from kpijmf.output.terminal import REVISED_MARK, REVISED_NOTE

    years = sheet.years
    first = block.iloc[0]
    decimals = int(first["decimaler"])
    rank_year = int(first["rang_år"])
    fmt = _number_format(decimals)
    change_fmt = f"+{fmt};-{fmt};{fmt}"
    heads = [f"{y}{BREAK_MARK}" if y in sheet.breaks else y for y in years]
    header = ["Nyckeltal", *heads, f"Rang {rank_year}", "Av", "Kvartil", "Förändring", "Kolada-id"]
    ws.append(header)
    for j, cell in enumerate(ws[ws.max_row], start=1):
        cell.font = Font(bold=True)
        if 1 < j < len(header):
            cell.alignment = Alignment(horizontal="right")
    flagged = {(n.role, n.id, n.gender, n.year): n for n in sheet.notes}
    rank_col = len(years) + 2
    written = 0
    for _, r in block.iterrows():
        role, direction = text(r["role"]), text(r["riktning"])
        key = (role, text(r["id"]), text(r["gender"]))
        rank = sheet.ranks.get((sheet.kpi, *key, rank_year))
        quartile = None if is_missing(r["kvartil"]) else int(r["kvartil"])
        ws.append(
            [
                _xlsx_text(r["etikett"]),
                *(_xlsx_value(r[y]) for y in years),
                rank.rank if rank else None,
                rank.of if rank else None,
                quartile,
                _xlsx_value(r["förändring"]),
                _xlsx_text(r["id"]),
            ]
        )
        written += 1
        row = ws.max_row
        bold = role == "kommun"
        if bold:
            for cell in ws[row]:
                cell.font = Font(bold=True)
        painted = role in COLOURED_ROLES
        for j, y in enumerate(years, start=2):
            cell = ws.cell(row=row, column=j)
            cell.number_format = fmt
            note = flagged.get((*key, y))
            said = [mean_note_text(note, decimals)] if note is not None else []
            if (*key, y) in sheet.revised:
                # A number cell stays a number: the † goes in the number format and the comment says what it means.
                cell.number_format = f'{fmt}"{REVISED_MARK}"'
                said.append(REVISED_NOTE)
            if said:
                cell.comment = Comment("\n".join(said), "kpijmf")
            year_rank = sheet.ranks.get((sheet.kpi, *key, y))
            if painted and year_rank is not None:
                _paint(cell, year_rank.quartile, direction, bold=bold)
        if painted:
            _paint(ws.cell(row=row, column=rank_col + 2), quartile, direction, bold=bold)
        ws.cell(row=row, column=rank_col + 3).number_format = change_fmt
    return written


@dataclass(frozen=True)
class KpiSheet:
    """What one KPI sheet shows: the KPI's wide rows and years, its mean notes, ranks and source line."""

    kpi: str
    block: pd.DataFrame
    years: list[int]
    notes: list[MeanNote]
    ranks: dict[tuple[str, str, str, str, int], RankCell]
    src: str
    revised: set[tuple[str, str, str, int]]  # (role, id, gender, year) of cells Kolada revised
    footnotes: dict[str, list[str]] = field(default_factory=dict)  # focus kommun -> `notes.block_notes`
    headings: dict[str, str] = field(default_factory=dict)  # focus kommun -> 'Östersund (2380)'
    breaks: set[int] = field(default_factory=set)  # years a new definition starts: ‡ on their header


def _colour_legend(ws: Any) -> None:
    from openpyxl.styles import Font

    ws.append([])
    ws.append(["Färger", _xlsx_text(f"Kvartil bland alla kommuner; {PALETTE_NAME}")])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    for q, colour in QUARTILE_COLOURS.items():
        ws.append([_xlsx_text(QUARTILE_WORDS[q].capitalize()), _xlsx_text(colour)])
        _paint(ws.cell(row=ws.max_row, column=1), q, "higher", bold=False)
    ws.append(
        [
            "",
            _xlsx_text(
                "Kommunens (och --vs-kommunernas) värden per år färgas efter sin kvartil det året; "
                "nyckeltal utan riktning (neutrala) färgas inte."
            ),
        ]
    )


def _source_sheet(ws: Any, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Alignment, Font

    attrs = frame.attrs or {}
    years = attrs.get("years")
    kommun = " ".join(x for x in (text(attrs.get("kommun_title")), f"({text(attrs.get('kommun_id'))})") if x != "()")
    focuses = [k for k in focus_kommuner(frame) if k]
    if len(focuses) > 1:
        kommun = ", ".join(focus_heading(frame, k) for k in focuses)
    vs = attrs.get("vs")
    named = [v for v in vs if isinstance(v, dict)] if isinstance(vs, list) else []
    rows = [
        ("Källa", source_line(attrs)),
        ("Citering", CITATION_RULE),
        ("API", text(attrs.get("api_url"))),
        ("kpijmf-version", text(attrs.get("kpijmf_version"))),
        ("Skapad", text(attrs.get("generated_at"))),
        ("Hämtad från Kolada", _fetched_range(frame)),
        ("Kommun", kommun.strip()),
        ("Jämförda kommuner", ", ".join(f"{text(v.get('title'))} ({text(v.get('id'))})" for v in named)),
        ("KPI-set", text(attrs.get("kpi_set"))),
        ("År", ", ".join(str(y) for y in years) if isinstance(years, (list, tuple)) else text(years)),
    ]
    ws.append(["Uppgift", "Värde"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for key, value in rows:
        ws.append([_xlsx_text(key), _xlsx_text(value) or None])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    _colour_legend(ws)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 100
    ws.freeze_panes = "A2"


def _data_sheet(ws: Any, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    header, rows = _records(frame)
    ws.append([_xlsx_text(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in header]
    for row in rows:
        values = [_xlsx_value(v) for v in row]
        ws.append(values)
        widths = [max(w, len(str(v)) if v is not None else 0) for w, v in zip(widths, values, strict=True)]
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(w + 2, 50)
    ws.freeze_panes = "A2"
    if header:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{max(ws.max_row, 1)}"


def to_xlsx(frame: pd.DataFrame) -> bytes:
    """A workbook: one audit-layout sheet per KPI, a 'Källa' provenance sheet and the long 'Data' sheet."""
    return _xlsx(frame)[0]


def _xlsx(frame: pd.DataFrame) -> tuple[bytes, int]:
    """The workbook's bytes and how many unit rows its KPI sheets hold."""
    from openpyxl import Workbook

    from kpijmf.output.terminal import revised_cells

    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    wb.properties.creator = "kpijmf"
    notes = mean_notes(frame)
    src = source_line(frame.attrs)
    ranks = cell_ranks(frame)
    blocks = list(_blocks(frame))
    focuses = focus_kommuner(frame)
    labels = [text(block.iloc[0]["nyckeltal"]) or kpi for kpi, block, _ in blocks]
    written = 0
    for name, (kpi, block, years) in zip(_sheet_names(labels, [b[0] for b in blocks]), blocks, strict=True):
        kpi_notes = list(dict.fromkeys(n for n in notes if n.kpi == kpi))  # a group shared by two kommuner: once
        footnotes = {f: kpi_footnotes(frame, kpi, f) for f in focuses}
        headings = {f: focus_heading(frame, f) for f in focuses}
        sheet = KpiSheet(kpi, block, years, kpi_notes, ranks, src, revised_cells(frame, kpi), footnotes=footnotes,
                         headings=headings, breaks=break_years(frame, kpi))  # fmt: skip
        written += _kpi_sheet(wb.create_sheet(name), sheet)
    _source_sheet(wb.create_sheet("Källa"), frame)
    _data_sheet(wb.create_sheet("Data"), frame)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), written


# --- dispatch ----------------------------------------------------------------------------------------


def _table_text(frame: pd.DataFrame) -> tuple[str, int]:
    from rich.console import Console

    from kpijmf.output.terminal import render_table

    console = Console(
        file=io.StringIO(),
        record=True,
        width=_TABLE_WIDTH,
        height=50,
        color_system=None,
        force_terminal=False,
        no_color=True,
    )
    rows = render_table(frame, console)
    return console.export_text(styles=False), rows


@dataclass(frozen=True)
class Rendered:
    """A format's bytes and how many rows of data they hold: CSV lines after the header, JSON row
    objects, Markdown/table rows, XLSX KPI-sheet rows (the long Data sheet holds `data_rows` more)."""

    data: bytes
    fmt: str
    rows: int
    data_rows: int = 0


def render(frame: pd.DataFrame, fmt: str, *, wide: bool = False) -> Rendered:
    """The frame in one of FORMATS, with the count of rows written; `wide` applies to csv and excel."""
    if fmt == "csv":
        body, rows = _plain_csv(frame, wide)
        return Rendered(body.encode("utf-8"), fmt, rows)
    if fmt == "excel":
        data, rows = _excel_csv(frame, wide)
        return Rendered(data, fmt, rows)
    if fmt == "xlsx":
        data, rows = _xlsx(frame)
        return Rendered(data, fmt, rows, data_rows=len(frame))
    if fmt == "json":
        return Rendered(to_json(frame).encode("utf-8"), fmt, len(frame))
    if fmt == "md":
        md, rows = _markdown(frame)
        return Rendered(md.encode("utf-8"), fmt, rows)
    if fmt == "table":
        table, rows = _table_text(frame)
        return Rendered(table.encode("utf-8"), fmt, rows)
    raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def render_bytes(frame: pd.DataFrame, fmt: str, *, wide: bool = False) -> bytes:
    """The frame in one of FORMATS as bytes (text formats UTF-8); `wide` applies to csv and excel."""
    return render(frame, fmt, wide=wide).data


def _formats_help() -> str:
    return ", ".join(f"{fmt} ({'/'.join(ends)})" for fmt, ends in EXTENSIONS.items())


def format_for_path(path: str | None, fmt: str | None) -> str | None:
    """The format for `--output path` (None for stdout): the one `fmt` names or the file ending implies.

    An ending no format writes (`rapport.xls`), or one that is not `fmt`'s (`-f xlsx -o x.csv`), is a
    UsageError naming the formats, so a file never gets content its name does not promise. A name without
    an ending (`/dev/stdout`, a fifo) takes `fmt`, else csv."""
    if path is None or path == "-":
        return fmt
    ending = os.path.splitext(path)[1].lower()
    if fmt is not None and fmt not in EXTENSIONS:
        raise UsageError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if not ending:
        return fmt or "csv"
    if fmt is not None:
        if ending in EXTENSIONS[fmt]:
            return fmt
        raise UsageError(
            f"--output {path!r} does not end in {' or '.join(EXTENSIONS[fmt])}, which --format {fmt} writes; "
            f"formats: {_formats_help()}"
        )
    implied = next((f for f, ends in EXTENSIONS.items() if ending in ends), None)
    if implied is None:
        raise UsageError(f"--output {path!r}: no format writes {ending!r} files; formats: {_formats_help()}")
    return implied


REVISION_COLUMNS = ("kpi", "unit_id", "unit_title", "year", "gender", "old_value", "new_value", "kind",
                    "old_fetched_at", "seen_at", "kpi_title", "kpi_unit")  # fmt: skip


def revisions_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Revisions as plain CSV (`kpijmf revisions --format csv`), text cells neutralised like every export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REVISION_COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column), ".") for column in REVISION_COLUMNS])
    return buffer.getvalue()
