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

Top level: ``name`` (defaults to the file name without ``.toml``), ``title`` (defaults to the name),
``description`` (defaults to ""), at least one ``[[kpi]]`` table and optional ``[[target]]`` tables
(målvärden, see ``kpijmf.domain.targets``); no other keys.
Each ``[[kpi]]``: ``id`` (required; ``N`` or ``U`` and five digits), ``label`` (required, not empty),
``unit`` (required string, may be ""), ``direction`` (required: higher, lower or neutral) and the
optional ``note`` (string), ``not_comparable_with`` (array of ids) and ``replaces`` (an id).
Unknown keys, wrong types and an id listed twice are problems.

Every problem is reported, all at once, as one ``file: key: message`` line, where ``kpi[N]`` counts
the ``[[kpi]]`` tables from 1 in file order::

    my.toml: kpi[2].direction: must be one of higher, lower, neutral, got 'up'
    my.toml: line 3, column 7: Invalid value

Reading files and package resources is the only I/O here: no network, no knowledge of the store.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from kpijmf.domain.targets import Target, parse_targets
from kpijmf.errors import InvalidFileError, NotFoundError, UsageError

DEFAULT_SET = "arbetsmarknad"
DIRECTIONS = ("higher", "lower", "neutral")
BUILTIN_SOURCE = "built-in"
ADHOC_SOURCE = "command line"

_KPI_ID = re.compile(r"[NU][0-9]{5}")
_TOP_KEYS = ("name", "title", "description", "kpi", "target")
_KPI_KEYS = ("id", "label", "unit", "direction", "note", "not_comparable_with", "replaces")
_AT_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")


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
    breaks: tuple[int, ...] = ()
    break_note: str = ""
    ended: int | None = None
    successor: str | None = None


@dataclass(frozen=True)
class KpiSet:
    """A named, ordered list of KPIs; `source` is "built-in", "command line" or the file's path."""

    name: str
    title: str
    description: str
    kpis: tuple[KpiSpec, ...]
    source: str
    targets: tuple[Target, ...] = ()

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
        path = Path(text).expanduser()
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
        load = Path(where).expanduser()
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
        return Path(__file__).resolve().parent.parent / "kpi_sets"


def _looks_like_path(text: str) -> bool:
    separators = {"/", os.sep, os.altsep} - {None}
    return any(sep in text for sep in separators) or text.lower().endswith(".toml") or Path(text).expanduser().is_file()


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
    if not path.exists():
        raise NotFoundError(f"KPI-set file not found: {where}")
    if path.is_dir():
        raise InvalidFileError([f"{where}: is a directory, not a KPI-set file"])
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidFileError([f"{where}: cannot read: {exc.strerror or exc}"]) from exc
    if b"\x00" in data:
        raise InvalidFileError([f"{where}: not a text file (it contains NUL bytes)"])
    try:
        # utf-8-sig: Windows editors like to start UTF-8 files with a BOM, which tomllib rejects.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidFileError(
            [f"{where}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"]
        ) from exc


# --- parsing and validation -------------------------------------------------------------------------


def _parse(text: str, where: str, source: str, default_name: str) -> KpiSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFileError([f"{where}: {_syntax_problem(exc, text)}"]) from exc
    problems = _Problems(where)
    kpiset = _build_set(data, problems, source, default_name)
    if problems or kpiset is None:
        raise InvalidFileError(problems.lines)
    return kpiset


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    # tomllib (3.11) puts the position only inside the message: move it to the front.
    message = str(exc)
    if match := _AT_POSITION.search(message):
        return f"line {match[1]}, column {match[2]}: {message[: match.start()]}"
    if match := _AT_END.search(message):
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
        return f"line {line}, column {column} (end of file): {message[: match.start()]}"
    return f"TOML syntax: {message}"


class _Problems:
    """Collects `file: key: message` lines."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{self.where}: {key}: {message}")

    def __bool__(self) -> bool:
        return bool(self.lines)


def _build_set(data: dict[str, Any], problems: _Problems, source: str, default_name: str) -> KpiSet | None:
    _unknown_keys(data, _TOP_KEYS, "", problems)
    name = _optional_string(data, "name", "name", problems, default=default_name, non_empty=True)
    title = _optional_string(data, "title", "title", problems, default=name, non_empty=True)
    description = _optional_string(data, "description", "description", problems, default="")

    entries = data.get("kpi")
    specs: list[KpiSpec] = []
    if entries is None or entries == []:
        problems.add("kpi", "at least one [[kpi]] table is required")
    elif isinstance(entries, dict):
        problems.add("kpi", "must be an array of tables written [[kpi]], got a single table (written [kpi]?)")
    elif not isinstance(entries, list):
        problems.add("kpi", f"must be an array of tables written [[kpi]], got {_describe(entries)}")
    else:
        first_seen: dict[str, int] = {}
        for number, entry in enumerate(entries, start=1):
            key = f"kpi[{number}]"
            if not isinstance(entry, dict):
                problems.add(key, f"must be a table, got {_describe(entry)}")
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
        name=name, title=title, description=description, kpis=tuple(specs), source=source, targets=tuple(targets)
    )


def _build_kpi(entry: dict[str, Any], key: str, problems: _Problems) -> KpiSpec | None:
    before = len(problems.lines)
    _unknown_keys(entry, _KPI_KEYS, f"{key}.", problems)

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
        problems.add(f"{key}.not_comparable_with", f"must be an array of KPI ids, got {_describe(others)}")
    else:
        for number, other in enumerate(others, start=1):
            where = f"{key}.not_comparable_with[{number}]"
            if not isinstance(other, str):
                problems.add(where, f"must be a KPI id string, got {_describe(other)}")
            elif _check_id(other, where, problems):
                if other == kpi_id:
                    problems.add(where, "a KPI cannot be not comparable with itself")
                elif other not in not_comparable:
                    not_comparable.append(other)

    replaces = _optional_string(entry, "replaces", f"{key}.replaces", problems, default=None)
    if replaces is not None and _check_id(replaces, f"{key}.replaces", problems) and replaces == kpi_id:
        problems.add(f"{key}.replaces", "a KPI cannot replace itself")

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
    )


def _unknown_keys(table: dict[str, Any], allowed: Iterable[str], prefix: str, problems: _Problems) -> None:
    allowed = list(allowed)
    for key in table:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(allowed)})"
        problems.add(f"{prefix}{key}", f"unknown key{hint}")


def _required_string(table: dict[str, Any], name: str, prefix: str, problems: _Problems) -> str | None:
    if name not in table:
        problems.add(f"{prefix}.{name}", "required key is missing")
        return None
    value = table[name]
    if not isinstance(value, str):
        problems.add(f"{prefix}.{name}", f"must be a string, got {_describe(value)}")
        return None
    return value


def _optional_string(
    table: dict[str, Any],
    name: str,
    key: str,
    problems: _Problems,
    default: Any,
    non_empty: bool = False,
) -> Any:
    if name not in table:
        return default
    value = table[name]
    if not isinstance(value, str):
        problems.add(key, f"must be a string, got {_describe(value)}")
        return default
    if non_empty and not value.strip():
        problems.add(key, "must not be empty")
        return default
    return value


def _check_id(value: str, key: str, problems: _Problems) -> bool:
    if _KPI_ID.fullmatch(value):
        return True
    hint = "; ids are upper-case" if _KPI_ID.fullmatch(value.upper()) else ""
    problems.add(key, f"must be a KPI id, N or U and five digits (e.g. N03926), got {value!r}{hint}")
    return False


def _describe(value: Any) -> str:
    """A TOML type name and a short repr, for `got ...` in messages."""
    if isinstance(value, bool):
        kind = "boolean"
    elif isinstance(value, int):
        kind = "integer"
    elif isinstance(value, float):
        kind = "float"
    elif isinstance(value, str):
        kind = "string"
    elif isinstance(value, list):
        kind = "array"
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, dt.date | dt.time):
        kind = "date/time"
    else:
        kind = type(value).__name__
    shown = repr(value) if not isinstance(value, bool) else str(value).lower()
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}"


def successors() -> dict[str, str]:
    """Retired KPI id -> its successor, from the built-in sets' `replaces` entries."""
    follow: dict[str, str] = {}
    for name in list_builtin_sets():
        for spec in load_set(name).kpis:
            if spec.replaces:
                follow[spec.replaces] = spec.id
    return follow
