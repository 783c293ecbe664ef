"""KPI sets: TOML files that name the KPIs a comparison shows, loaded into frozen dataclasses.

A KPI set is a small UTF-8 TOML file. The built-in ones live in ``kpi_sets/`` (installed as the
package ``kpijmf.kpi_sets``); a user file is given by its path. The format::

    # kpi_sets/arbetsmarknad.toml
    name = "arbetsmarknad"
    title = "Arbetsmarknad och arbetsmarknadsåtgärder"
    description = "Nyckeltal som granskningar av kommunernas arbetsmarknadsåtgärder citerar."

    [[kpi]]
    id = "N40011"
    label = "Nettokostnad arbetsmarknadsåtgärder"
    unit = "kr/inv"            # shown beside numbers: "kr/inv", "%", "antal", ...
    direction = "lower"        # higher | lower | neutral : which way is better (drives ranks)
    note = "optional free text"
    not_comparable_with = ["N03932"]   # optional: ids whose series this one must not be compared with
    replaces = "N17434"                 # optional: the retired id this KPI succeeds
    breaks = [2023]                     # optional: years from which the definition changed
    break_note = "25-64 år t.o.m. 2022, 25-65 år från 2023"   # required with breaks: what changed
    ended = 2023                        # optional: the last year of a discontinued series
    successor = "N18601"                # optional: the id that carries the series on

Top level: ``name`` (defaults to the file name without ``.toml``), ``title`` (defaults to the name),
``description`` (defaults to ""), ``liknande`` (the area of the "liknande kommuner" peer group, e.g.
"ekonomiskt bistånd"; default arbetsmarknad), at least one ``[[kpi]]`` table and optional ``[[target]]``
tables (målvärden, see ``kpijmf.domain.targets``); no other keys.
Each ``[[kpi]]``: ``id`` (required; ``N`` or ``U`` and five digits), ``label`` (required, not empty),
``unit`` (required string, may be ""), ``direction`` (required: higher, lower or neutral) and the
optional ``note`` (string), ``not_comparable_with`` (array of ids), ``replaces`` (an id), ``breaks``
(array of years, with a ``break_note``), ``ended`` (a year) and ``successor`` (an id).
Unknown keys, wrong types and an id listed twice are problems.

``not_comparable_with`` is not only checked: it becomes a remark ("inte jämförbar med N03932") among a
KPI's `remarks`, which outputs show beside its note, the break and the end of the series.

Every problem is reported, all at once, as one ``file: key: message`` line, where ``kpi[N]`` counts
the ``[[kpi]]`` tables from 1 in file order::

    my.toml: kpi[2].direction: must be one of higher, lower, neutral, got 'up'
    my.toml: line 3, column 7: Invalid value

Reading files and package resources is the only I/O here: no network, no knowledge of the store.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from kpijmf.domain.lineage import REMOVED_KPIS, successor_of
from kpijmf.domain.parsing import FIRST_YEAR, LAST_YEAR
from kpijmf.domain.targets import Target, parse_targets, placed
from kpijmf.domain.tomlfile import Problems, describe, parse_toml, read_text
from kpijmf.domain.vocab import DEFAULT_LIKNANDE_AREA, DIRECTIONS
from kpijmf.errors import InvalidFileError, NotFoundError, UsageError

DEFAULT_SET = "arbetsmarknad"
BUILTIN_SOURCE = "built-in"
ADHOC_SOURCE = "command line"

_KPI_ID = re.compile(r"[NU][0-9]{5}")
_TOP_KEYS = ("name", "title", "description", "liknande", "kpi", "target")
_KPI_KEYS = (
    "id", "label", "unit", "direction", "note", "not_comparable_with", "replaces",
    "breaks", "break_note", "ended", "successor",
)  # fmt: skip


@dataclass(frozen=True)
class KpiSpec:
    """One KPI of a set: its id and how to show and rank it."""

    id: str
    label: str
    unit: str
    direction: str
    note: str = ""
    not_comparable_with: tuple[str, ...] = ()
    replaces: str | None = None
    breaks: tuple[int, ...] = ()  # years from which the definition changed: no change across them
    break_note: str = ""  # what changed at the breaks
    ended: int | None = None  # the last year of a discontinued series
    successor: str | None = None  # the id that carries a discontinued series on

    def breaks_between(self, earlier: int, later: int) -> bool:
        """True when a break lies in (earlier, later]: a change from `earlier` to `later` crosses it."""
        return any(earlier < year <= later for year in self.breaks)

    @property
    def remarks(self) -> tuple[str, ...]:
        """What a reader must know beside the numbers, in Swedish, one sentence each (empty when nothing)."""
        lines = []
        if self.breaks:
            years = ", ".join(str(year) for year in self.breaks)
            lines.append(f"Seriebrott {years}: {self.break_note}".rstrip(": "))
        if self.ended is not None:
            lines.append(f"upphörde {self.ended}" + (f"; efterföljare {self.successor}" if self.successor else ""))
        elif self.successor:
            lines.append(f"efterföljare {self.successor}")
        if self.not_comparable_with:
            lines.append(f"inte jämförbar med {', '.join(self.not_comparable_with)}")
        return tuple(lines)


@dataclass(frozen=True)
class KpiSet:
    """A named, ordered list of KPIs; `source` is "built-in", "command line" or the file's path."""

    name: str
    title: str
    description: str
    kpis: tuple[KpiSpec, ...]
    source: str
    targets: tuple[Target, ...] = ()
    liknande: str = DEFAULT_LIKNANDE_AREA  # the area of the set's "liknande kommuner" peer group

    def ids(self) -> list[str]:
        """The KPI ids in file order."""
        return [spec.id for spec in self.kpis]

    def get(self, kpi_id: str) -> KpiSpec | None:
        """The spec for `kpi_id` (case-insensitive), or None if the set does not list it."""
        wanted = kpi_id.strip().upper()
        return next((spec for spec in self.kpis if spec.id == wanted), None)


# --- public API -------------------------------------------------------------------------------------


def list_builtin_sets() -> list[str]:
    """Names of the built-in KPI sets, sorted."""
    return sorted(
        entry.name.removesuffix(".toml")
        for entry in _builtin_dir().iterdir()
        if entry.name.endswith(".toml") and entry.is_file()
    )


def load_set(name_or_path: str | os.PathLike[str]) -> KpiSet:
    """Load a built-in set by name, or a user file by path; raise NotFoundError or InvalidFileError."""
    text = os.fspath(name_or_path)
    if _looks_like_path(text):
        path = Path(text).expanduser() if "\x00" not in text else Path(text)
        return _parse(_read_file(path, where=text), where=text, source=text, default_name=path.stem)
    return _load_builtin(text)


def parse_set(text: str, source: str) -> KpiSet:
    """Parse KPI-set TOML; `source` names it in problems. Raises InvalidFileError with every problem."""
    return _parse(text, where=source, source=source, default_name=Path(source).stem)


def validate_file(path: str | os.PathLike[str]) -> list[str]:
    """Every problem of a KPI-set file as `file: key: message` lines; [] when it is valid.

    A path that does not exist raises NotFoundError (it has no problems to list, it is simply absent).
    """
    where = os.fspath(path)
    try:
        load = Path(where).expanduser() if "\x00" not in where else Path(where)
        _parse(_read_file(load, where=where), where=where, source=where, default_name=load.stem)
    except InvalidFileError as exc:
        return list(exc.problems)
    return []


def adhoc_set(kpi_ids: Sequence[str]) -> KpiSet:
    """A set for `--kpi ID …`: label = id, unit "", direction neutral; the caller fills in titles.

    Ids may also be given comma- or space-separated in one string; they are upper-cased and
    de-duplicated in order. A malformed id raises UsageError (exit 2).
    """
    if isinstance(kpi_ids, str):
        kpi_ids = [kpi_ids]
    ids: list[str] = []
    bad: list[str] = []
    for raw in kpi_ids:
        for part in re.split(r"[,\s]+", raw.strip()):
            if not part:
                continue
            kpi_id = part.upper()
            if not _KPI_ID.fullmatch(kpi_id):
                bad.append(part)
            elif kpi_id not in ids:
                ids.append(kpi_id)
    if bad:
        shown = ", ".join(repr(b) for b in bad)
        raise UsageError(f"--kpi: not a KPI id: {shown} (expected N or U and five digits, e.g. N03926)")
    if not ids:
        raise UsageError("--kpi: no KPI id given (e.g. --kpi N03926)")
    specs = tuple(KpiSpec(id=kpi_id, label=kpi_id, unit="", direction="neutral") for kpi_id in ids)
    return KpiSet(name="adhoc", title="Valda nyckeltal", description="", kpis=specs, source=ADHOC_SOURCE)


# --- locating and reading ---------------------------------------------------------------------------


def _builtin_dir() -> Traversable:
    try:
        return resources.files("kpijmf.kpi_sets")
    except ModuleNotFoundError:
        # A source checkout used without installing: the sets sit beside the package, and only the
        # install's package-dir mapping turns kpi_sets/ into kpijmf.kpi_sets.
        return Path(__file__).resolve().parents[2] / "kpi_sets"


def _looks_like_path(text: str) -> bool:
    separators = [sep for sep in ("/", os.sep, os.altsep) if sep]
    if "\x00" in text or any(sep in text for sep in separators) or text.lower().endswith(".toml"):
        return True
    try:
        return Path(text).expanduser().is_file()
    except (OSError, RuntimeError):  # no home folder for "~x", a name too long
        return False


def _load_builtin(name: str) -> KpiSet:
    names = list_builtin_sets()
    key = name.strip().casefold().replace("-", "_")
    if key not in names:
        close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise NotFoundError(f"unknown KPI set '{name}'{hint} (built-in: {', '.join(names)})")
    text = (_builtin_dir() / f"{key}.toml").read_text(encoding="utf-8")
    return _parse(text, where=f"{key}.toml (built-in)", source=BUILTIN_SOURCE, default_name=key)


def _read_file(path: Path, where: str) -> str:
    return read_text(path, where, "KPI-set file")


# --- parsing and validation -------------------------------------------------------------------------


def _parse(text: str, where: str, source: str, default_name: str) -> KpiSet:
    data = parse_toml(text, where)
    problems = Problems(where)
    kpiset = _build_set(data, problems, source, default_name)
    if problems or kpiset is None:
        raise InvalidFileError(problems.lines)
    return kpiset


def _build_set(data: dict[str, Any], problems: Problems, source: str, default_name: str) -> KpiSet | None:
    problems.unknown_keys(data, _TOP_KEYS)
    name = _optional_string(data, "name", "name", problems, default=default_name, non_empty=True)
    title = _optional_string(data, "title", "title", problems, default=name, non_empty=True)
    description = _optional_string(data, "description", "description", problems, default="")
    liknande = _optional_string(data, "liknande", "liknande", problems, default=DEFAULT_LIKNANDE_AREA, non_empty=True)

    entries = data.get("kpi")
    specs: list[KpiSpec] = []
    if entries is None or entries == []:
        problems.add("kpi", "at least one [[kpi]] table is required")
    elif isinstance(entries, dict):
        problems.add("kpi", "must be an array of tables written [[kpi]], got a single table (written [kpi]?)")
    elif not isinstance(entries, list):
        problems.add("kpi", f"must be an array of tables written [[kpi]], got {describe(entries)}")
    else:
        first_seen: dict[str, int] = {}
        for number, entry in enumerate(entries, start=1):
            key = f"kpi[{number}]"
            if not isinstance(entry, dict):
                problems.add(key, f"must be a table, got {describe(entry)}")
                continue
            spec = _build_kpi(entry, key, problems)
            kpi_id = entry.get("id")
            if isinstance(kpi_id, str):
                if kpi_id in first_seen:
                    problems.add(f"{key}.id", f"duplicate of kpi[{first_seen[kpi_id]}] ('{kpi_id}')")
                else:
                    first_seen[kpi_id] = number
            if spec is not None:
                specs.append(spec)

    targets = parse_targets(data.get("target"), {spec.id: spec for spec in specs}, problems.add)
    if problems:
        return None
    return KpiSet(
        name=name,
        title=title,
        description=description,
        kpis=tuple(specs),
        source=source,
        targets=placed(targets, problems.where),
        liknande=liknande.strip(),
    )


def _build_kpi(entry: dict[str, Any], key: str, problems: Problems) -> KpiSpec | None:
    before = len(problems.lines)
    problems.unknown_keys(entry, _KPI_KEYS, f"{key}.")

    kpi_id = _required_string(entry, "id", key, problems)
    if kpi_id is not None and not _check_id(kpi_id, f"{key}.id", problems):
        kpi_id = None
    label = _required_string(entry, "label", key, problems)
    if label is not None and not label.strip():
        problems.add(f"{key}.label", "must not be empty")
    unit = _required_string(entry, "unit", key, problems)
    direction = _required_string(entry, "direction", key, problems)
    if direction is not None and direction not in DIRECTIONS:
        problems.add(f"{key}.direction", f"must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    note = _optional_string(entry, "note", f"{key}.note", problems, default="")

    not_comparable: list[str] = []
    others = entry.get("not_comparable_with", [])
    if not isinstance(others, list):
        problems.add(f"{key}.not_comparable_with", f"must be an array of KPI ids, got {describe(others)}")
    else:
        for number, other in enumerate(others, start=1):
            where = f"{key}.not_comparable_with[{number}]"
            if not isinstance(other, str):
                problems.add(where, f"must be a KPI id string, got {describe(other)}")
            elif _check_id(other, where, problems):
                if other == kpi_id:
                    problems.add(where, "a KPI cannot be not comparable with itself")
                elif other not in not_comparable:
                    not_comparable.append(other)

    replaces = _optional_string(entry, "replaces", f"{key}.replaces", problems, default=None)
    if replaces is not None and _check_id(replaces, f"{key}.replaces", problems):
        if replaces == kpi_id:
            problems.add(f"{key}.replaces", "a KPI cannot replace itself")
        elif replaces in REMOVED_KPIS and kpi_id is not None and successor_of(replaces) != kpi_id:
            problems.add(f"{key}.replaces", f"Kolada's successor of {replaces} is {successor_of(replaces)}")

    breaks = _years(entry, "breaks", key, problems)
    break_note = _optional_string(entry, "break_note", f"{key}.break_note", problems, default="")
    if breaks and not (break_note or "").strip():
        problems.add(f"{key}.break_note", "required with breaks: say what changed (e.g. the age band)")
    if break_note and not breaks:
        problems.add(f"{key}.break_note", "give the years of the break in breaks = [...]")
    ended = _year(entry.get("ended"), f"{key}.ended", problems) if "ended" in entry else None
    if ended is not None and any(year > ended for year in breaks):
        problems.add(f"{key}.breaks", f"a break after the series ended ({ended})")
    successor = _optional_string(entry, "successor", f"{key}.successor", problems, default=None)
    if successor is not None and _check_id(successor, f"{key}.successor", problems) and successor == kpi_id:
        problems.add(f"{key}.successor", "a KPI cannot succeed itself")
    if kpi_id is not None and kpi_id in REMOVED_KPIS:
        problems.add(f"{key}.id", f"{kpi_id} is no longer in Kolada; its successor is {successor_of(kpi_id)}")

    if len(problems.lines) > before:
        return None
    assert kpi_id is not None and label is not None and unit is not None and direction is not None
    return KpiSpec(
        id=kpi_id,
        label=label,
        unit=unit,
        direction=direction,
        note=note or "",
        not_comparable_with=tuple(not_comparable),
        replaces=replaces,
        breaks=breaks,
        break_note=(break_note or "").strip(),
        ended=ended,
        successor=successor,
    )


def _year(value: Any, key: str, problems: Problems) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(key, f"must be a year (a whole number), got {describe(value)}")
        return None
    if not FIRST_YEAR <= value <= LAST_YEAR:
        problems.add(key, f"must be a year from {FIRST_YEAR} to {LAST_YEAR}, got {value}")
        return None
    return value


def _years(entry: dict[str, Any], name: str, key: str, problems: Problems) -> tuple[int, ...]:
    if name not in entry:
        return ()
    value = entry[name]
    if not isinstance(value, list) or not value:
        problems.add(f"{key}.{name}", f"must be a non-empty array of years, e.g. [2023], got {describe(value)}")
        return ()
    years = [_year(item, f"{key}.{name}[{number}]", problems) for number, item in enumerate(value, start=1)]
    if None in years:
        return ()
    found = [year for year in years if year is not None]
    if len(set(found)) != len(found):
        problems.add(f"{key}.{name}", "a year is listed twice")
    return tuple(sorted(set(found)))


def _required_string(table: dict[str, Any], name: str, prefix: str, problems: Problems) -> str | None:
    if name not in table:
        problems.add(f"{prefix}.{name}", "required key is missing")
        return None
    value = table[name]
    if not isinstance(value, str):
        problems.add(f"{prefix}.{name}", f"must be a string, got {describe(value)}")
        return None
    return value


def _optional_string(
    table: dict[str, Any],
    name: str,
    key: str,
    problems: Problems,
    default: Any,
    non_empty: bool = False,
) -> Any:
    if name not in table:
        return default
    value = table[name]
    if not isinstance(value, str):
        problems.add(key, f"must be a string, got {describe(value)}")
        return default
    if non_empty and not value.strip():
        problems.add(key, "must not be empty")
        return default
    return value


def _check_id(value: str, key: str, problems: Problems) -> bool:
    if _KPI_ID.fullmatch(value):
        return True
    hint = "; ids are upper-case" if _KPI_ID.fullmatch(value.upper()) else ""
    problems.add(key, f"must be a KPI id, N or U and five digits (e.g. N03926), got {value!r}{hint}")
    return False


def successors() -> dict[str, str]:
    """Removed KPI id -> its successor: the table in `kpijmf.domain.lineage` (kept for existing callers)."""
    return {kpi_id: successor for kpi_id in REMOVED_KPIS if (successor := successor_of(kpi_id))}
