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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpijmf.domain import vocab
from kpijmf.errors import UsageError
from kpijmf.output.clean import json_text, printable
from kpijmf.output.layout import (
    CITATION_RULE,
    DETAIL_COLUMNS,
    MEAN_NOTE_INTRO,
    MISSING,
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
META_SHEETS = ("Källa", "Data")
_TABLE_WIDTH = 120  # columns for the plain-text "table" format written to a file


def neutralise_formula(value: str) -> str:
    """Prefix "'" to text a spreadsheet would run as a formula; used for every text cell of CSV and XLSX."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


# --- cells -------------------------------------------------------------------------------------------


def plain_value(value: Any) -> bool | int | float | str | None:
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
    v = plain_value(value)
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


def frame_records(frame: pd.DataFrame) -> tuple[list[str], list[tuple]]:
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
    return plain_value(value)


def metadata(frame: pd.DataFrame) -> dict[str, Any]:
    """The frame's provenance attrs, JSON-safe, plus the source line and the citation rule."""
    meta = _json_safe(dict(frame.attrs or {}))
    meta["source"] = source_line(frame.attrs)
    meta["citation"] = CITATION_RULE
    return meta


def to_json(frame: pd.DataFrame) -> str:
    """{"metadata": {...}, "rows": [...]}: one object per frame row, NaN as null, ids as strings."""
    header, rows = frame_records(frame)
    doc = {
        "metadata": metadata(frame),
        "rows": [dict(zip(header, (plain_value(v) for v in row), strict=True)) for row in rows],
    }
    return json_text(json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False)) + "\n"


# --- Markdown ----------------------------------------------------------------------------------------

_MD_SPECIAL = "\\|*_`[]<>"
NBSP = "\u00a0"


def markdown_escape(value: str) -> str:
    """Text safe inside a Markdown table cell or heading: specials escaped, line breaks flattened."""
    flat = " ".join(printable(value).split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in flat)


def kpi_blocks(frame: pd.DataFrame) -> Iterable[tuple[str, pd.DataFrame, list[int]]]:
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
        from kpijmf.output.xlsx import workbook

        data, rows = workbook(frame)
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
