"""The comparison frame as an XLSX workbook: a sheet per KPI in the audit layout (a block per focus kommun,
quartile fills, numeric ranks, footnotes), the Källa sheet (provenance, colour legend) and the long Data sheet.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpijmf.output.clean import printable
from kpijmf.output.colours import (
    COLOURED_ROLES,
    PALETTE_NAME,
    QUARTILE_COLOURS,
    QUARTILE_WORDS,
    quartile_colour,
    text_colour,
)
from kpijmf.output.files import META_SHEETS, frame_records, kpi_blocks, neutralise_formula, plain_value
from kpijmf.output.layout import (
    CITATION_RULE,
    MEAN_NOTE_INTRO,
    MeanNote,
    RankCell,
    cell_ranks,
    focus_kommuner,
    is_missing,
    kpi_heading,
    mean_note_text,
    mean_notes,
    source_line,
    text,
)
from kpijmf.output.notes import BREAK_MARK, break_years, focus_heading
from kpijmf.output.notes import block_notes as kpi_footnotes

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _fit(name: str, suffix: str = "") -> str:
    """name + suffix in Excel's 31 characters, the name cut with "…" where needed."""
    room = 31 - len(suffix)
    return (name if len(name) <= room else name[: room - 1].rstrip() + "…") + suffix


def _sheet_names(labels: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
    """A sheet name per KPI from its short label: Excel-safe characters, ≤ 31 characters (cut with "…") and
    unique case-insensitively, as Excel compares. Labels that clash (once cut) all get their KPI id appended
    ("Avslutade deltagare so… U40455"); what still clashes, or a reserved or meta sheet's name, gets " (2)"."""
    reserved = {name.lower() for name in (*META_SHEETS, "History")}
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
    v = plain_value(value)
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

    header, rows = frame_records(frame)
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
    return workbook(frame)[0]


def workbook(frame: pd.DataFrame) -> tuple[bytes, int]:
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
    blocks = list(kpi_blocks(frame))
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
