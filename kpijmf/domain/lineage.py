"""KPI ids Kolada removed, and the id that carries each series on: the one table of successors.

`successor_of` is what every layer asks ("N17434" -> "N18601"), so a removed id used anywhere (`--kpi`, a
KPI set, `kpi show`) names its successor instead of unrelated did-you-mean ids. A KPI set's `replaces` and
`successor` keys must agree with this table (the built-in sets are checked by a test).
"""

from __future__ import annotations

# Removed id -> its successor, with the source of the fact.
REMOVED_KPIS: dict[str, str] = {
    # Kolada v3 dropped N17434 ("Ungdomar etablerade eller studerar 2 år efter fullföljd gymnasieutbildning");
    # N18601 ("… 2 år efter gymnasieexamen") replaces it with a new definition (Kolada README, 2026).
    "N17434": "N18601",
}


def successor_of(kpi_id: str) -> str | None:
    """The id that succeeds a removed KPI id (following chains), or None when the id was not removed."""
    current = kpi_id.strip().upper()
    seen = {current}
    while current in REMOVED_KPIS:
        current = REMOVED_KPIS[current]
        if current in seen:  # a cycle would be a mistake in the table; stop rather than loop
            break
        seen.add(current)
    return None if current == kpi_id.strip().upper() else current
