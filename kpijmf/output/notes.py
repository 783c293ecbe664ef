"""Footnotes of a KPI block in the audit layout: series breaks, ended series, Kolada's status for a missing value,
no rank for a neutral KPI, what a count is compared with, years that are the KPI's own; and a focus kommun's
heading when a comparison has several. Read from the comparison frame; shared by the terminal table and Markdown.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from kpijmf.output.layout import is_missing, normalised, row_label, text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


BREAK_MARK = "‡"
COUNT_NOTE = (
    "Antal: jämförs inte med medelvärden (ingen skillnad mot alla kommuner); Riket (totalt) är hela landets antal."
)
NEUTRAL_NOTE = "Ingen rang eller kvartil: nyckeltalet har ingen bättre eller sämre riktning."
YEARS_PER_KPI_NOTE = "Åren är nyckeltalets egna: de senaste åren med data, som kan skilja sig mellan nyckeltalen."


def _first(values: Any) -> str:
    return next((text(v) for v in values if text(v)), "")


def block_rows(frame: pd.DataFrame, kpi: str, kommun_id: str = "") -> pd.DataFrame:
    """The tidy rows of one KPI block (of one focus kommun when the frame has several)."""
    rows = frame[frame["kpi"] == kpi]
    if kommun_id and "kommun_id" in rows.columns:
        rows = rows[rows["kommun_id"] == kommun_id]
    return rows


def break_years(frame: pd.DataFrame, kpi: str) -> set[int]:
    """Years in which a new definition starts (the frame's `note`): no change is computed into them."""
    if "note" not in frame.columns:
        return set()
    rows = frame[(frame["kpi"] == kpi) & frame["note"].fillna("").astype(str).str.contains("brott i serien")]
    return {int(y) for y in rows["year"]}


def block_notes(frame: pd.DataFrame, kpi: str, kommun_id: str = "") -> list[str]:
    """Footnote lines of one KPI block: breaks, an ended series, missing values Kolada gave a status, no rank for
    a neutral KPI, what a count is compared with, and years that are the KPI's own."""
    rows = block_rows(normalised(frame), kpi, kommun_id)
    if rows.empty:
        return []
    lines: list[str] = []
    notes = dict.fromkeys(part for note in rows["note"] if note for part in str(note).split(" | "))
    for note in sorted(notes, key=lambda n: not n.startswith("brott i serien")):  # breaks first
        if note.startswith("brott i serien"):
            said = f"{note[:1].upper()}{note[1:]}".rstrip(".")
            lines.append(f"{BREAK_MARK} {said}. Ingen förändring beräknas över brottet.")
        else:
            lines.append(f"Serien {note}.")
    gaps = rows[[is_missing(v) and bool(text(st)) for v, st in zip(rows["value"], rows["status"], strict=True)]]
    for status, found in gaps.groupby("status", sort=False):
        records: list[dict[Hashable, Any]] = found.to_dict("records")
        labels = (f"{row_label(text(r['title']) or str(r['id']), str(r['gender']))} {int(r['year'])}" for r in records)
        cells = ", ".join(dict.fromkeys(labels))
        lines.append(f"Saknas med status {status!r} hos Kolada: {cells}.")
    if _first(rows["direction"]) not in ("higher", "lower"):
        lines.append(NEUTRAL_NOTE)
    if _first(rows["kpi_unit"]).strip().lower() == "antal":
        lines.append(COUNT_NOTE)
    if (frame.attrs or {}).get("years_per_kpi"):
        lines.append(YEARS_PER_KPI_NOTE)
    return lines


def focus_heading(frame: pd.DataFrame, kommun_id: str) -> str:
    """'Östersund (2380)': the heading of a focus kommun's block when a comparison has several."""
    rows = frame[(frame["kommun_id"] == kommun_id) & (frame["role"] == "kommun")] if kommun_id else frame[:0]
    title = text(rows["title"].iloc[0]) if not rows.empty else ""
    return f"{title} ({kommun_id})" if title else kommun_id
