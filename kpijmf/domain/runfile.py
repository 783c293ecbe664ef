"""Run files (`kpijmf run kpijmf.toml`): which kommuner, sets, years and peers, and which outputs to write.

```toml
kommuner = ["2380", "Umeå"]          # ids or names
sets = ["arbetsmarknad"]             # built-in names or .toml paths (relative to this file)
years = "2019-2021"                  # or: last = 4   (default: the 4 latest years with data)
peers = ["alla", "storlek", "kommungrupp", "lan", "liknande", "riket"]   # optional
vs = ["Sundsvall"]                   # optional: kommuner shown one row each
gender = "T"                         # T, K, M or all; optional
refresh = true                       # bring the store up to date first (default true)

[[output]]
format = "xlsx"                      # csv, excel, xlsx, json, md, table; html or md-report for a report
path = "rapporter/{kommun}-{set}.xlsx"   # relative to this file; {kommun}, {kommun_id}, {set}
wide = false                         # csv and excel only: the audit layout
```
Every problem is reported as `file: key: message`. Placeholder values (titles from Kolada) are made safe before
they join a path: no `~` expansion, no `/`, `\\`, `..`, leading dots, control, bidi or NUL characters; the
expanded path must stay inside the output's folder (its folders before the first placeholder), or that one
output fails with its own line while the others are written.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpijmf.domain.parsing import parse_years
from kpijmf.domain.tomlfile import Problems, describe, read_toml
from kpijmf.domain.vocab import FORMATS, GENDER_CHOICES, REPORT_FORMATS
from kpijmf.errors import OutputError, UsageError

OUTPUT_FORMATS = (*FORMATS, *REPORT_FORMATS)
_TOP_KEYS = ("kommuner", "sets", "years", "last", "peers", "vs", "gender", "refresh", "output")
_OUTPUT_KEYS = ("format", "path", "wide")
_PLACEHOLDERS = ("{kommun}", "{kommun_id}", "{set}")
_FIELD = re.compile(r"\{[^{}]*\}")
_MAX_PART = 100  # characters of one placeholder value in a file name


@dataclass(frozen=True)
class Output:
    """One file to write for every kommun × set."""

    format: str
    path: str
    wide: bool = False

    def folder(self, base: Path) -> Path:
        """The folder every file of this output stays in: the path's folders before the first placeholder."""
        parts = Path(_home(self.path)).parts[:-1]
        fixed: list[str] = []
        for part in parts:
            if "{" in part:
                break
            fixed.append(part)
        return base.joinpath(*fixed)

    def target(self, base: Path, kommun_id: str, kommun: str, set_name: str) -> Path:
        """The file for one kommun and set, relative paths taken from the run file's folder; OutputError when
        the filled-in path would leave the output's folder."""
        values = {"{kommun_id}": safe_part(kommun_id), "{kommun}": safe_part(kommun), "{set}": safe_part(set_name)}
        name = _FIELD.sub(lambda field: values.get(field[0], field[0]), _home(self.path))
        path = base / name  # an absolute `name` replaces `base`
        folder = self.folder(base)
        inside = os.path.realpath(path)
        if os.path.commonpath([inside, os.path.realpath(folder)]) != os.path.realpath(folder):
            raise OutputError(f"output {self.path!r} for {kommun!r} would be written outside {folder}; not written")
        return path


def _home(template: str) -> str:
    """`~` at the start of the path as written in the run file (never after placeholders are filled in)."""
    if not template.startswith("~"):
        return template
    try:
        return os.path.expanduser(template)
    except RuntimeError:  # no home folder to expand to
        raise OutputError(f"cannot expand {template!r}: no home folder") from None


def safe_part(value: str) -> str:
    """A placeholder value (a title from Kolada) made safe inside one file name.

    Separators become `_`; control, format (bidi) and NUL characters are dropped; runs of dots become `_`;
    leading dots, spaces and `~` go; what is left is at most 100 characters, or `_` when nothing is."""
    kept = "".join(
        "_" if ch in "/\\" else ch for ch in unicodedata.normalize("NFC", value) if unicodedata.category(ch)[0] != "C"
    )
    kept = re.sub(r"\.{2,}", "_", kept).strip().lstrip(".~ ")
    kept = kept[:_MAX_PART].rstrip(" .")
    return kept or "_"


@dataclass(frozen=True)
class RunSpec:
    """A parsed, checked run file."""

    source: Path
    kommuner: tuple[str, ...]
    sets: tuple[str, ...]
    years: tuple[int, ...] | None
    last: int | None
    peers: tuple[str, ...] | None
    gender: str
    refresh: bool
    outputs: tuple[Output, ...]
    vs: tuple[str, ...] = ()

    @property
    def base(self) -> Path:
        """The folder relative paths are taken from."""
        return self.source.parent


def _has_controls(text: str) -> bool:
    return any(unicodedata.category(ch)[0] == "C" for ch in text)


def _strings(value: Any, key: str, problems: Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(key, "must be a non-empty list of strings")
        return ()
    if any(_has_controls(v) for v in value):
        problems.add(key, "must not hold control characters (NUL, tabs, escapes)")
        return ()
    return tuple(v.strip() for v in value)


def load_run_file(path: Path) -> RunSpec:
    """Parse and check a run file; raise InvalidFileError listing every problem."""
    where = str(path)
    if "\x00" not in where and os.path.isdir(where):
        raise UsageError(f"{path} is a directory, not a run file")
    data = read_toml(path, where, "run file", missing=f"no such run file: {path}")
    problems = Problems(where)
    problems.unknown_keys(data, _TOP_KEYS)
    kommuner = _strings(data.get("kommuner"), "kommuner", problems)
    sets = _strings(data.get("sets", ["arbetsmarknad"]), "sets", problems)
    sets = tuple(s if "/" not in s and not s.endswith(".toml") else str(path.parent / s) for s in sets)
    years, last = _years(data, problems)
    peers = _strings(data["peers"], "peers", problems) if "peers" in data else None
    vs = _strings(data["vs"], "vs", problems) if "vs" in data else ()
    gender = data.get("gender", "T")
    if not isinstance(gender, str) or gender.strip().casefold() not in {g.casefold() for g in GENDER_CHOICES}:
        problems.add("gender", f"must be T, K, M or all, got {gender!r}")
    refresh = data.get("refresh", True)
    if not isinstance(refresh, bool):
        problems.add("refresh", f"must be true or false, got {refresh!r}")
    outputs = _outputs(data.get("output"), problems)
    if problems:
        problems.lines.sort()
    problems.raise_if_any()
    return RunSpec(path, kommuner, sets, years, last, peers, str(gender).strip(), bool(refresh), outputs, vs)


def _years(data: dict, problems: Problems) -> tuple[tuple[int, ...] | None, int | None]:
    if "years" in data and "last" in data:
        problems.add("years", "give either years or last, not both")
    years = None
    if "years" in data:
        if isinstance(data["years"], bool) or not isinstance(data["years"], str | int):
            problems.add("years", 'must be a year or a range like "2019-2021"')
        else:
            try:
                years = tuple(parse_years(str(data["years"])))
            except UsageError as exc:
                problems.add("years", str(exc))
    last = data.get("last")
    if last is not None and (not isinstance(last, int) or isinstance(last, bool) or not 1 <= last <= 30):
        problems.add("last", f"must be a whole number from 1 to 30, got {describe(last)}")
        last = None
    return years, last


def _outputs(value: Any, problems: Problems) -> tuple[Output, ...]:
    if not isinstance(value, list) or not value:
        problems.add("output", "give at least one [[output]] table with format and path")
        return ()
    outputs = []
    for number, table in enumerate(value, start=1):
        key = f"output[{number}]"
        if not isinstance(table, dict):
            problems.add(key, "must be a table with format and path")
            continue
        for name in table:
            if name not in _OUTPUT_KEYS:
                problems.add(f"{key}.{name}", f"unknown key (allowed: {', '.join(_OUTPUT_KEYS)})")
        fmt, target, wide = table.get("format"), table.get("path"), table.get("wide", False)
        if fmt not in OUTPUT_FORMATS:
            problems.add(f"{key}.format", f"must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
        if not isinstance(target, str) or not target.strip():
            problems.add(f"{key}.path", "must be a file path")
        elif _has_controls(target):
            problems.add(f"{key}.path", "must not hold control characters (NUL, tabs, escapes)")
            target = None
        else:
            unknown = sorted({f for f in _FIELD.findall(target) if f not in _PLACEHOLDERS})
            if unknown:
                problems.add(
                    f"{key}.path", f"unknown placeholder {', '.join(unknown)} (use {', '.join(_PLACEHOLDERS)})"
                )
        if not isinstance(wide, bool):
            problems.add(f"{key}.wide", f"must be true or false, got {wide!r}")
        if isinstance(fmt, str) and isinstance(target, str) and isinstance(wide, bool):
            outputs.append(Output(fmt, target, wide))
    paths = [o.path for o in outputs]
    for duplicate in sorted({p for p in paths if paths.count(p) > 1}):
        problems.add("output", f"the path {duplicate!r} is given twice")
    return tuple(outputs)


def needs_placeholders(spec: RunSpec) -> list[str]:
    """Problems when several kommuner or sets would write to the same file (no placeholder in the path)."""
    problems = []
    for output in spec.outputs:
        if (len(spec.kommuner) > 1 or len(spec.sets) > 1) and not any(p in output.path for p in _PLACEHOLDERS):
            problems.append(
                f"{spec.source}: output.path: {output.path!r} would be overwritten for each kommun and set; "
                "use {kommun} and {set} in it"
            )
    return problems
