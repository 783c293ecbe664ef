"""Målvärden: a nämnd's target per KPI and kommun (optionally per year), and whether a value meets it.

Targets are `[[target]]` tables in a KPI-set file, or in a separate targets file (`--targets FILE`)::

    [[target]]
    kpi = "U40455"          # a KPI of the set
    kommun = "2380"         # kommun id or name
    value = 34              # in the KPI's unit
    years = "2023-2025"     # optional: one year or a range; every year when left out
    comparison = ">="       # optional: ">=" or "<="; by default from the KPI's direction (higher: >=, lower: <=)
    gender = "T"            # optional: T, K or M
    note = "Nämndens mål"   # optional

A KPI whose direction is neutral needs an explicit comparison. Percentages must lie within 0–100 and
kr/inv or antal cannot be negative. Every problem is reported as `file: key: message`; a kommun that is
not in Kolada's catalogue is such a problem too (exit 5), found when the targets are matched to a kommun.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpijmf.domain.parsing import parse_years
from kpijmf.domain.tomlfile import Problems, read_toml
from kpijmf.errors import InvalidFileError, NotFoundError, UsageError
from kpijmf.kolada.genders import GENDERS

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.domain.kpisets import KpiSpec

MET, NOT_MET, NO_DATA = "met", "not met", "no data"
COMPARISONS = (">=", "<=")
_KEYS = ("kpi", "kommun", "value", "years", "comparison", "gender", "note")
_NON_NEGATIVE_UNITS = ("kr/inv", "kr", "antal")


@dataclass(frozen=True)
class Target:
    """One målvärde: `value` with `comparison` for a KPI, a kommun (id or name) and some or every year."""

    kpi: str
    kommun: str
    value: float
    comparison: str
    years: tuple[int, ...] | None = None
    gender: str = "T"
    note: str = ""
    where: str = field(default="", compare=False)  # "file: target[N]", for problems found later

    def applies(self, year: int) -> bool:
        """True when the target covers this year."""
        return self.years is None or year in self.years

    def status(self, value: float | None) -> str:
        """'met', 'not met' or 'no data' for a value of the KPI."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return NO_DATA
        met = value >= self.value if self.comparison == ">=" else value <= self.value
        return MET if met else NOT_MET


def parse_targets(
    entries: Any, specs: Mapping[str, KpiSpec] | None, problem: Callable[[str, str], None]
) -> list[Target]:
    """Targets from the `target` array of a parsed TOML file; `problem(key, message)` gets every problem.

    With `specs` (the set's KPIs) a target must name one of them; its unit and direction are checked."""
    if entries is None:
        return []
    if isinstance(entries, dict) or not isinstance(entries, list):
        problem("target", "must be an array of tables written [[target]]")
        return []
    targets = []
    for number, entry in enumerate(entries, start=1):
        key = f"target[{number}]"
        if not isinstance(entry, dict):
            problem(key, "must be a table")
            continue
        target = _target(entry, key, specs, problem)
        if target is not None:
            targets.append(target)
    return targets


def _target(
    entry: dict, key: str, specs: Mapping[str, KpiSpec] | None, problem: Callable[[str, str], None]
) -> Target | None:
    bad = 0
    for name in entry:
        if name not in _KEYS:
            bad += _say(problem, f"{key}.{name}", f"unknown key (allowed: {', '.join(_KEYS)})")
    kpi, kommun, value = entry.get("kpi"), entry.get("kommun"), entry.get("value")
    spec = None
    if not isinstance(kpi, str) or not kpi.strip():
        bad += _say(problem, f"{key}.kpi", "required: the KPI id the target is for")
    else:
        kpi = kpi.strip().upper()
        spec = specs.get(kpi) if specs is not None else None
        if specs is not None and spec is None:
            bad += _say(problem, f"{key}.kpi", f"{kpi} is not a KPI of this set")
    if not isinstance(kommun, str | int) or not str(kommun).strip():
        bad += _say(problem, f"{key}.kommun", "required: a kommun id or name")
    if isinstance(value, bool) or not isinstance(value, int | float):
        bad += _say(problem, f"{key}.value", f"required: a number, got {value!r}")
        value = None
    elif not math.isfinite(value):
        bad += _say(problem, f"{key}.value", f"must be a finite number, got {value!r}")
        value = None
    comparison = entry.get("comparison")
    if comparison is None and spec is not None:
        if spec.direction == "neutral":
            bad += _say(problem, f"{key}.comparison", f"{spec.id} has no better direction: give '>=' or '<='")
        comparison = ">=" if spec.direction == "higher" else "<="
    elif comparison is None:
        comparison = ">="
    elif comparison not in COMPARISONS:
        bad += _say(problem, f"{key}.comparison", f"must be '>=' or '<=', got {comparison!r}")
    if spec is not None and value is not None:
        bad += _check_unit(spec, float(value), f"{key}.value", problem)
    years = None
    if "years" in entry:
        try:
            years = tuple(parse_years(str(entry["years"])))
        except UsageError as exc:
            bad += _say(problem, f"{key}.years", str(exc))
    gender = entry.get("gender", "T")
    if gender not in GENDERS:
        bad += _say(problem, f"{key}.gender", f"must be T, K or M, got {gender!r}")
    note = entry.get("note", "")
    if not isinstance(note, str):
        bad += _say(problem, f"{key}.note", "must be a string")
    if bad or value is None or not isinstance(kpi, str) or not isinstance(comparison, str):
        return None
    return Target(kpi, str(kommun).strip(), float(value), comparison, years, gender, note)


def _say(problem: Callable[[str, str], None], key: str, message: str) -> int:
    problem(key, message)
    return 1


def _check_unit(spec: KpiSpec, value: float, key: str, problem: Callable[[str, str], None]) -> int:
    if spec.unit == "%" and not 0 <= value <= 100:
        return _say(problem, key, f"{value:g} is not a percentage ({spec.id} is in %)")
    if spec.unit in _NON_NEGATIVE_UNITS and value < 0:
        return _say(problem, key, f"{value:g} cannot be negative ({spec.id} is in {spec.unit})")
    return 0


def load_targets_file(path: Path, specs: Mapping[str, KpiSpec]) -> tuple[Target, ...]:
    """A targets file (only `[[target]]` tables), checked against the KPIs of the set in use."""
    where = str(path)
    data = read_toml(path, where, "targets file", missing=f"no such targets file: {path}")
    problems = Problems(where)
    for key in data:
        if key != "target":
            problems.add(key, "unknown key (a targets file holds [[target]] tables)")
    targets = parse_targets(data.get("target"), specs, problems.add)
    if "target" not in data:
        problems.add("target", "no [[target]] tables")
    problems.raise_if_any()
    return placed(targets, where)


def placed(targets: Iterable[Target], where: str) -> tuple[Target, ...]:
    """The targets with `where` set to `file: target[N]` (N counts from 1 in file order)."""
    return tuple(replace(target, where=f"{where}: target[{n}]") for n, target in enumerate(targets, start=1))


def targets_for(targets: Iterable[Target], kommun_id: str, find_kommun: Callable[[str], Any]) -> list[Target]:
    """The targets of one kommun, names read by `find_kommun` (the catalogue's rule). A target naming a kommun
    that is not in the catalogue is an InvalidFileError (exit 5) listing every such target, not a warning."""
    mine: list[Target] = []
    problems: list[str] = []
    for target in targets:
        try:
            unit = find_kommun(target.kommun)
        except (NotFoundError, UsageError) as exc:
            problems.append(f"{target.where or f'target for {target.kpi}'}.kommun: {exc}")
            continue
        if unit.id == kommun_id:
            mine.append(target)
    if problems:
        raise InvalidFileError(problems)
    return mine
