"""Revisions as people read them: the KPI's title and unit, values in the KPI's decimals, the time seen in local
time, and a revision that changed a value only beyond its shown decimals marked `avrundning` (rounding).

Pure: the store's revision rows (with unit titles) and each KPI's (title, unit) in, display rows or a table out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kpijmf.output.clean import printable
from kpijmf.output.layout import decimals_for, format_sv, is_missing

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

ROUNDING = "avrundning"
WITHDRAWN = "återkallat"


@dataclass(frozen=True)
class RevisionLine:
    """One revision as shown: every value already formatted, `rounding` when the shown value did not change."""

    kpi: str
    kpi_title: str
    unit: str
    unit_label: str
    year: int
    gender: str
    old: str
    new: str
    seen: str
    rounding: bool
    note: str


def local_time(stamp: Any) -> str:
    """A stored UTC ISO timestamp in the machine's local time: '2026-09-01T10:15:00+00:00' -> '2026-09-01 12:15'."""
    text = "" if is_missing(stamp) else str(stamp)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:  # a naive stamp is stored UTC
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def revision_lines(rows: Sequence[Mapping[str, Any]], kpis: Mapping[str, tuple[str, str]]) -> list[RevisionLine]:
    """Display rows for `kpijmf revisions`, in the store's order; `kpis` gives each KPI's (title, unit), and the
    decimals are the KPI's as every table shows them (`decimals_for` its unit and values)."""
    decimals_by_kpi: dict[str, int] = {}
    for kpi in {str(r["kpi"]) for r in rows}:
        values = [float(r[c]) for r in rows if r["kpi"] == kpi for c in ("old_value", "new_value")
                  if not is_missing(r[c])]  # fmt: skip
        decimals_by_kpi[kpi] = decimals_for(kpis.get(kpi, ("", ""))[1], values)
    lines = []
    for r in rows:
        kpi = str(r["kpi"])
        title, unit = kpis.get(kpi, ("", ""))
        decimals = decimals_by_kpi[kpi]
        old = format_sv(r["old_value"], decimals)
        removed = r.get("kind") == "removed"
        new = WITHDRAWN if removed else format_sv(r["new_value"], decimals)
        rounding = not removed and old == new
        lines.append(
            RevisionLine(
                kpi=kpi,
                kpi_title=title,
                unit=unit,
                unit_label=f"{r.get('unit_title') or r['unit_id']} ({r['unit_id']})",
                year=int(r["year"]),
                gender=str(r["gender"]),
                old=old,
                new=new,
                seen=local_time(r.get("seen_at")),
                rounding=rounding,
                note=ROUNDING if rounding else "",
            )
        )
    return lines


def render_revision_table(lines: Sequence[RevisionLine], console: Console, *, hidden: int = 0) -> None:
    """Print revisions as a table: KPI with title and unit, kommun or group, year, gender, before → now, when seen
    (local time), and the `avrundning` note."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if not lines:
        console.print(Text("Inga revideringar registrerade." if not hidden else "Inga revideringar att visa."))
        return
    table = Table(box=box.SIMPLE_HEAD, title=Text("Revideringar i Kolada sedan tidigare hämtning", style="bold"))
    for name, justify in (("KPI", "left"), ("Nyckeltal", "left"), ("Enhet", "left"), ("Kommun/grupp", "left"),
                          ("År", "right"), ("Kön", "left"), ("Förut", "right"), ("Nu", "right"),
                          ("Sedd", "left"), ("Not", "left")):  # fmt: skip
        table.add_column(name, justify="right" if justify == "right" else "left", overflow="fold")
    for line in lines:
        table.add_row(
            Text(printable(line.kpi)),
            Text(printable(line.kpi_title)),
            Text(printable(line.unit or "–")),
            Text(printable(line.unit_label)),
            str(line.year),
            line.gender,
            line.old,
            line.new,
            line.seen,
            line.note,
        )
    console.print(table)
