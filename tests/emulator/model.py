"""The emulator's data model: KPIs, municipalities, groups and values, all plain Python.

A `Universe` is live: the server reads it per request while tests mutate it, so every read and
write goes through `Universe.lock` (re-entrant, so methods may call each other).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

GENDERS = ("T", "K", "M")
BASE_UPDATED = date(2025, 3, 1)

CellKey = tuple[str, str, int]  # (kpi, unit id, year)
OverrideKey = tuple[str, str, int, str]  # (kpi, group id, year, gender)
Change = tuple[str, str, int, str, float, float]  # (kpi, unit, year, gender, old, new)


@dataclass
class Cell:
    """The stored values of one kpi x unit x year: one entry per gender (None = published as null)."""

    genders: dict[str, float | None]
    status: str = ""
    updated: date = BASE_UPDATED
    deleted: bool = False


@dataclass
class Universe:
    """Everything the emulator serves. Mutate only through the methods, or hold `lock` while you do.

    `change_feed_groups`: whether a `from_date` answer includes group rows whose mean changed (True) or
    only kommun and region rows (False); which one Kolada does is not known.
    """

    kpis: dict[str, dict] = field(default_factory=dict)
    municipalities: dict[str, dict] = field(default_factory=dict)
    groups: dict[str, dict] = field(default_factory=dict)
    values: dict[CellKey, Cell] = field(default_factory=dict)
    group_overrides: dict[OverrideKey, float] = field(default_factory=dict)
    kpi_groups: dict[str, dict] = field(default_factory=dict)
    change_feed_groups: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)
    # The server's cache of encoded rows (routes._row), checked against each cell's content on every use.
    encoded: dict[CellKey, tuple] = field(default_factory=dict, repr=False, compare=False)

    # ---- reading ------------------------------------------------------------------------------

    def genders_of(self, kpi: str) -> tuple[str, ...]:
        """The genders a KPI is published for: T, plus K and M when divided by gender."""
        meta = self.kpis.get(kpi)
        return GENDERS if meta and meta["is_divided_by_gender"] else ("T",)

    def kommun_ids(self) -> list[str]:
        """Ids of every type-K municipality, sorted."""
        with self.lock:
            return sorted(mid for mid, m in self.municipalities.items() if m["type"] == "K")

    def member_ids(self, group: str) -> list[str]:
        """Member ids of a group, in the group's order."""
        with self.lock:
            return [m["member_id"] for m in self.groups[group]["members"]]

    def cell(self, kpi: str, unit: str, year: int) -> Cell | None:
        """The live (not deleted) cell of a single unit, or None."""
        with self.lock:
            found = self.values.get((kpi, unit, year))
            return None if found is None or found.deleted else found

    def _contributions(self, kpi: str, group: str, year: int, gender: str) -> list[float]:
        values = []
        for member in self.member_ids(group):
            found = self.cell(kpi, member, year)
            value = None if found is None else found.genders.get(gender)
            if value is not None:
                values.append(value)
        return values

    def group_count(self, kpi: str, group: str, year: int, gender: str = "T") -> int:
        """How many members of a group have a value (they are what the mean is taken over)."""
        with self.lock:
            return len(self._contributions(kpi, group, year, gender))

    def computed_mean(self, kpi: str, group: str, year: int, gender: str = "T") -> float | None:
        """Unweighted mean over the members that have a value, ignoring any override."""
        with self.lock:
            values = self._contributions(kpi, group, year, gender)
            return sum(values) / len(values) if values else None

    def value(self, kpi: str, unit: str, year: int, gender: str = "T") -> float | None:
        """The published value: stored for single units; override or member mean for a group id."""
        with self.lock:
            if unit in self.groups:
                override = self.group_overrides.get((kpi, unit, year, gender))
                return override if override is not None else self.computed_mean(kpi, unit, year, gender)
            found = self.cell(kpi, unit, year)
            return None if found is None else found.genders.get(gender)

    def group_updated(self, kpi: str, group: str, year: int) -> date | None:
        """Newest `updated` among member cells (deleted ones too: a withdrawal changes the mean)."""
        with self.lock:
            dates = [
                self.values[(kpi, member, year)].updated
                for member in self.member_ids(group)
                if (kpi, member, year) in self.values
            ]
            return max(dates) if dates else None

    def years_of(self, kpi: str) -> list[int]:
        """Every year that has a cell (live or deleted) for a KPI."""
        with self.lock:
            return sorted({year for (k, _unit, year) in self.values if k == kpi})

    def copy(self) -> Universe:
        """An independent copy (cells, groups and metadata are copied; nothing is shared)."""
        with self.lock:
            return Universe(
                kpis={k: dict(v) for k, v in self.kpis.items()},
                municipalities={k: dict(v) for k, v in self.municipalities.items()},
                groups={k: {**g, "members": [dict(m) for m in g["members"]]} for k, g in self.groups.items()},
                values={key: Cell(dict(c.genders), c.status, c.updated, c.deleted) for key, c in self.values.items()},
                group_overrides=dict(self.group_overrides),
                kpi_groups={k: {**g, "members": [dict(m) for m in g["members"]]} for k, g in self.kpi_groups.items()},
                change_feed_groups=self.change_feed_groups,
            )

    # ---- writing ------------------------------------------------------------------------------

    def set_value(self, kpi: str, unit: str, year: int, gender: str, value: float | None, updated: date) -> None:
        """Set one gender's value of a single unit (creating or reviving the cell) and stamp `updated`."""
        if gender not in self.genders_of(kpi):
            raise ValueError(f"{kpi} is not published for gender {gender!r}")
        with self.lock:
            if unit in self.groups:
                raise ValueError(f"{unit} is a group: set group_overrides instead")
            found = self.values.get((kpi, unit, year))
            if found is None or found.deleted:
                self.values[(kpi, unit, year)] = Cell({gender: value}, updated=updated)
            else:
                found.genders[gender] = value
                found.updated = updated

    def delete(self, kpi: str, unit: str, year: int, updated: date) -> None:
        """Withdraw a cell: it vanishes from normal answers and shows up as isdeleted under from_date."""
        with self.lock:
            found = self.values[(kpi, unit, year)]
            found.deleted = True
            found.updated = updated

    def add_year(self, kpi: str, year: int, updated: date, rng_seed: int | str = 0) -> int:
        """Publish a new year of `kpi` for every kommun and Riket; returns the number of cells added."""
        from tests.emulator.generate import draw_cell  # generate imports this module

        rng = random.Random(f"{rng_seed}:{kpi}:{year}")
        added = 0
        with self.lock:
            for unit in [*self.kommun_ids(), "0000"]:
                previous = self.cell(kpi, unit, year - 1)
                base = previous.genders.get("T") if previous else None
                genders = draw_cell(self.kpis[kpi], rng, base, riket=unit == "0000")
                self.values[(kpi, unit, year)] = Cell(genders, updated=updated)
                added += 1
        return added

    def mutate_fraction(self, fraction: float, updated: date, seed: int | str = 0) -> list[Change]:
        """Change `fraction` of the live non-null kommun values (deterministic); returns what changed."""
        rng = random.Random(f"mutate:{seed}")
        with self.lock:
            kommuner = set(self.kommun_ids())
            candidates = sorted(
                (kpi, unit, year, gender)
                for (kpi, unit, year), found in self.values.items()
                if unit in kommuner and not found.deleted
                for gender, value in found.genders.items()
                if value is not None
            )
            picked = sorted(rng.sample(candidates, round(len(candidates) * fraction)))
            changes: list[Change] = []
            for kpi, unit, year, gender in picked:
                found = self.values[(kpi, unit, year)]
                old = found.genders[gender]
                assert old is not None  # candidates are non-null values
                new = _nudge(old, rng)
                found.genders[gender] = new
                found.updated = updated
                changes.append((kpi, unit, year, gender, old, new))
            return changes

    def add_group(self, group_id: str, title: str, member_ids: Iterable[str]) -> None:
        """Add (or replace) a municipality group whose members are ids in this universe."""
        with self.lock:
            members = [{"member_id": mid, "member_title": self.municipalities[mid]["title"]} for mid in member_ids]
            self.groups[group_id] = {"id": group_id, "title": title, "members": members}

    def add_kpi_group(self, group_id: str, title: str, kpi_ids: Iterable[str]) -> None:
        """Add (or replace) a KPI group whose members are KPI ids in this universe."""
        with self.lock:
            members = [{"member_id": kid, "member_title": self.kpis[kid]["title"]} for kid in kpi_ids]
            self.kpi_groups[group_id] = {"id": group_id, "title": title, "members": members}


def _nudge(old: float, rng: random.Random) -> float:
    """A new value near `old`, never equal to it, kept non-negative, at the same precision."""
    decimals = 0 if float(old).is_integer() and abs(old) >= 10 else 1
    step = 10.0**-decimals
    delta = max(step, abs(old) * rng.uniform(0.02, 0.15)) * rng.choice((-1, 1))
    new = round(old + delta, decimals)
    if new < 0 or new == old:
        new = round(old + max(step, abs(old) * 0.05), decimals)
    return new
