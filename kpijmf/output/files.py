"""The comparison frame as files: CSV (plain and Swedish Excel), XLSX, JSON and Markdown, as bytes.

Long outputs (CSV, Excel CSV, JSON, the XLSX "Data" sheet) carry the frame's columns unchanged; the audit
layout (wide CSV, XLSX KPI sheets, Markdown) comes from `kpijmf.output.layout.wide_frame`. Every text cell that
could reach a spreadsheet goes through `neutralise_formula`, and every text through `printable` (JSON: `json_text`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from kpijmf.errors import UsageError
from kpijmf.output.clean import json_text, printable
from kpijmf.output.layout import (
    CITATION_RULE,
    MEAN_NOTE_INTRO,
    MISSING,
    format_sv,
    is_missing,
    kpi_heading,
    mean_note_text,
    mean_notes,
    source_line,
    text,
    wide_frame,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FORMATS = ("table", "csv", "excel", "xlsx", "json", "md")

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
    # The csv module quotes a field only for the line terminator's characters: a bare CR in "\n" CSV would
    # stay unquoted, and spreadsheets would start a new row there, whose first cell escapes neutralising.
    return neutralise_formula(printable(v, keep_cr=True)).replace("\r\n", "\n").replace("\r", "\n")


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
    if column.dtype.kind == "f":
        return [_float_text(v, decimal) for v in column.tolist()]
    return [_csv_cell(v, decimal) for v in column.tolist()]


def _records(frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
    return [str(c) for c in frame.columns], list(frame.itertuples(index=False, name=None))


def _csv_text(frame: pd.DataFrame, *, wide: bool, sep: str, decimal: str, newline: str) -> str:
    table = wide_frame(frame) if wide else frame
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralise_formula(printable(str(h))) for h in table.columns])
    writer.writerows(zip(*(_csv_column(table.iloc[:, i], decimal) for i in range(table.shape[1])), strict=True))
    return buf.getvalue()


def to_csv(frame: pd.DataFrame, *, wide: bool = False) -> str:
    """Plain CSV: ',' separator, '.' decimal, '\\n' line ends; long by default, audit layout with wide."""
    return _csv_text(frame, wide=wide, sep=",", decimal=".", newline="\n")


def to_excel_csv(frame: pd.DataFrame, *, wide: bool = False) -> bytes:
    """CSV that Swedish Excel opens by double-click: ';' separator, decimal comma, UTF-8 BOM, CRLF."""
    return _csv_text(frame, wide=wide, sep=";", decimal=",", newline="\r\n").encode("utf-8-sig")


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


def markdown_escape(value: str) -> str:
    """Text safe inside a Markdown table cell or heading: specials escaped, line breaks flattened."""
    flat = " ".join(printable(value).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in flat)


def _blocks(frame: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame, list[int]]]:
    """(kpi, its wide rows, the year columns) per KPI, in the frame's order."""
    wide = wide_frame(frame, detail=True)
    years = [c for c in wide.columns if isinstance(c, int)]
    for kpi, block in wide.groupby("kpi", sort=False):
        yield str(kpi), block, years


def to_markdown(frame: pd.DataFrame) -> str:
    """Per KPI a '### label (unit)' heading, a pipe table in the audit layout, and the source line."""
    notes = mean_notes(frame)
    flagged = {(n.kpi, n.role, n.id, n.gender, n.year) for n in notes}
    src = markdown_escape(source_line(frame.attrs))
    parts: list[str] = []
    for kpi, block, years in _blocks(frame):
        first = block.iloc[0]
        decimals = int(first["decimaler"])
        rank_year = int(first["rang_år"])
        lines = [f"### {markdown_escape(kpi_heading(first['nyckeltal'], first['enhet']))}", ""]
        lines.append("| " + " | ".join(["Nyckeltal", *map(str, years), f"Rang {rank_year}"]) + " |")
        lines.append("|" + "|".join([":---", *["---:"] * len(years), "---:"]) + "|")
        for _, r in block.iterrows():
            cells = [markdown_escape(r["etikett"])]
            for y in years:
                cell = format_sv(r[y], decimals)
                if (kpi, r["role"], r["id"], r["gender"], y) in flagged:
                    cell += "\\*"
                cells.append(cell)
            cells.append(markdown_escape(r["rang"]))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        block_notes = [n for n in notes if n.kpi == kpi]
        if block_notes:
            explained = "; ".join(markdown_escape(mean_note_text(n, decimals)) for n in block_notes)
            lines.append(f"{markdown_escape(MEAN_NOTE_INTRO)} {explained}")
            lines.append("")
        lines.append(src)
        parts.append("\n".join(lines))
    if not parts:
        return f"Inga värden ({MISSING}).\n\n{src}\n"
    return "\n\n".join(parts) + "\n"


# --- XLSX --------------------------------------------------------------------------------------------


def _sheet_names(kpis: Sequence[str]) -> list[str]:
    """A valid, unique (case-insensitively, as Excel compares) sheet name per KPI id, ≤ 31 characters."""
    taken = {name.lower() for name in _META_SHEETS}
    names = []
    for kpi in kpis:
        base = "".join("_" if ch in "[]:*?/\\" else ch for ch in kpi).strip("'") or "KPI"
        name, n = base[:31], 1
        while name.lower() in taken:
            n += 1
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)] + suffix
        taken.add(name.lower())
        names.append(name)
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


def _kpi_sheet(ws: Any, kpi: str, block: pd.DataFrame, years: list[int], notes: list, src: str) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    first = block.iloc[0]
    decimals = int(first["decimaler"])
    fmt = _number_format(decimals)
    kpi_title = text(first["nyckeltal"])
    ws.append([_xlsx_text(kpi_heading(kpi_title, text(first["enhet"])))])
    ws["A1"].font = Font(bold=True, size=12)
    ws.append([_xlsx_text(f"Kolada-id {kpi}")])
    header = ["Nyckeltal", *years, f"Rang {int(first['rang_år'])}", "Kolada-id"]
    ws.append(header)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        if isinstance(cell.value, int):
            cell.alignment = Alignment(horizontal="right")
    flagged = {(n.role, n.id, n.gender, n.year): n for n in notes}
    for _, r in block.iterrows():
        ws.append(
            [
                _xlsx_text(r["etikett"]),
                *(_xlsx_value(r[y]) for y in years),
                _xlsx_text(r["rang"]) or None,
                _xlsx_text(r["id"]),
            ]
        )
        row = ws.max_row
        for j, y in enumerate(years, start=2):
            cell = ws.cell(row=row, column=j)
            cell.number_format = fmt
            note = flagged.get((r["role"], r["id"], r["gender"], y))
            if note is not None:
                cell.comment = Comment(mean_note_text(note, decimals), "kpijmf")
        ws.cell(row=row, column=len(years) + 2).alignment = Alignment(horizontal="right")
    ws.append([])
    if notes:
        ws.append([_xlsx_text(MEAN_NOTE_INTRO)])
        for note in notes:
            ws.append([_xlsx_text(mean_note_text(note, decimals))])
    ws.append([_xlsx_text(src)])
    ws.freeze_panes = "B4"
    label_width = max([len(text(v)) for v in block["etikett"]] + [len("Nyckeltal")])
    ws.column_dimensions["A"].width = min(label_width + 2, 60)
    for j in range(2, len(years) + 2):
        ws.column_dimensions[get_column_letter(j)].width = 11
    ws.column_dimensions[get_column_letter(len(years) + 2)].width = 13
    ws.column_dimensions[get_column_letter(len(years) + 3)].width = 11


def _source_sheet(ws: Any, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Alignment, Font

    attrs = frame.attrs or {}
    years = attrs.get("years")
    kommun = " ".join(x for x in (text(attrs.get("kommun_title")), f"({text(attrs.get('kommun_id'))})") if x != "()")
    rows = [
        ("Källa", source_line(attrs)),
        ("Citering", CITATION_RULE),
        ("API", text(attrs.get("api_url"))),
        ("kpijmf-version", text(attrs.get("kpijmf_version"))),
        ("Skapad", text(attrs.get("generated_at"))),
        ("Hämtad från Kolada", _fetched_range(frame)),
        ("Kommun", kommun.strip()),
        ("KPI-set", text(attrs.get("kpi_set"))),
        ("År", ", ".join(str(y) for y in years) if isinstance(years, (list, tuple)) else text(years)),
    ]
    ws.append(["Uppgift", "Värde"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for key, value in rows:
        ws.append([_xlsx_text(key), _xlsx_text(value) or None])
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 20
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
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "kpijmf"
    notes = mean_notes(frame)
    src = source_line(frame.attrs)
    blocks = list(_blocks(frame))
    for name, (kpi, block, years) in zip(_sheet_names([b[0] for b in blocks]), blocks, strict=True):
        _kpi_sheet(wb.create_sheet(name), kpi, block, years, [n for n in notes if n.kpi == kpi], src)
    _source_sheet(wb.create_sheet("Källa"), frame)
    _data_sheet(wb.create_sheet("Data"), frame)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- dispatch ----------------------------------------------------------------------------------------


def _table_text(frame: pd.DataFrame) -> str:
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
    render_table(frame, console)
    return console.export_text(styles=False)


def render_bytes(frame: pd.DataFrame, fmt: str, *, wide: bool = False) -> bytes:
    """The frame in one of FORMATS as bytes (text formats UTF-8); `wide` applies to csv and excel."""
    if fmt == "csv":
        return to_csv(frame, wide=wide).encode("utf-8")
    if fmt == "excel":
        return to_excel_csv(frame, wide=wide)
    if fmt == "xlsx":
        return to_xlsx(frame)
    if fmt == "json":
        return to_json(frame).encode("utf-8")
    if fmt == "md":
        return to_markdown(frame).encode("utf-8")
    if fmt == "table":
        return _table_text(frame).encode("utf-8")
    raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")


REVISION_COLUMNS = ("kpi", "unit_id", "unit_title", "year", "gender", "old_value", "new_value", "kind",
                    "old_fetched_at", "seen_at")  # fmt: skip


def revisions_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Revisions as plain CSV (`kpijmf revisions --format csv`), text cells neutralised like every export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REVISION_COLUMNS)
    for row in rows:
        writer.writerow([_csv_cell(row.get(column), ".") for column in REVISION_COLUMNS])
    return buffer.getvalue()
