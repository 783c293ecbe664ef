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
Every problem is reported as `file: key: message`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kpijmf.domain.parsing import parse_years
from kpijmf.errors import InvalidFileError, NotFoundError, UsageError

REPORT_OUTPUTS = ("html", "md-report")  # a report (kpijmf.output.report) rather than a data file
OUTPUT_FORMATS = ("csv", "excel", "xlsx", "json", "md", "table", *REPORT_OUTPUTS)
_TOP_KEYS = {"kommuner", "sets", "years", "last", "peers", "vs", "gender", "refresh", "output"}
_OUTPUT_KEYS = {"format", "path", "wide"}
_PLACEHOLDERS = ("{kommun}", "{kommun_id}", "{set}")


@dataclass(frozen=True)
class Output:
    """One file to write for every kommun × set."""

    format: str
    path: str
    wide: bool = False

    def target(self, base: Path, kommun_id: str, kommun: str, set_name: str) -> Path:
        """The file for one kommun and set, relative paths taken from the run file's folder."""
        kommun_id, kommun, set_name = (_file_part(v) for v in (kommun_id, kommun, set_name))
        name = self.path.replace("{kommun_id}", kommun_id).replace("{kommun}", kommun).replace("{set}", set_name)
        path = Path(name).expanduser()
        return path if path.is_absolute() else base / path


def _file_part(value: str) -> str:
    """A placeholder value (a title from Kolada) made safe inside one file name: no separators, no '..'."""
    part = "".join("_" if ch in "/\\" or not ch.isprintable() else ch for ch in value).strip()
    return part if part.strip(".") else "_"


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


def _strings(value: Any, key: str, problems: list[str], where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: {key}: must be a non-empty list of strings")
        return ()
    return tuple(v.strip() for v in value)


def load_run_file(path: Path) -> RunSpec:
    """Parse and check a run file; raise InvalidFileError listing every problem."""
    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"no such run file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a run file") from None
    except UnicodeDecodeError:
        raise InvalidFileError([f"{where}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFileError([f"{where}: {exc}"]) from None
    problems = [
        f"{where}: {key}: unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})" for key in data.keys() - _TOP_KEYS
    ]
    kommuner = _strings(data.get("kommuner"), "kommuner", problems, where)
    sets = _strings(data.get("sets", ["arbetsmarknad"]), "sets", problems, where)
    sets = tuple(s if "/" not in s and not s.endswith(".toml") else str(path.parent / s) for s in sets)
    years, last = _years(data, problems, where)
    peers = _strings(data["peers"], "peers", problems, where) if "peers" in data else None
    vs = _strings(data["vs"], "vs", problems, where) if "vs" in data else ()
    gender = data.get("gender", "T")
    if not isinstance(gender, str) or gender.upper() not in ("T", "K", "M", "ALL"):
        problems.append(f"{where}: gender: must be T, K, M or all, got {gender!r}")
    refresh = data.get("refresh", True)
    if not isinstance(refresh, bool):
        problems.append(f"{where}: refresh: must be true or false, got {refresh!r}")
    outputs = _outputs(data.get("output"), problems, where)
    if problems:
        raise InvalidFileError(sorted(problems))
    return RunSpec(path, kommuner, sets, years, last, peers, str(gender), bool(refresh), outputs, vs)


def _years(data: dict, problems: list[str], where: str) -> tuple[tuple[int, ...] | None, int | None]:
    if "years" in data and "last" in data:
        problems.append(f"{where}: years: give either years or last, not both")
    years = None
    if "years" in data:
        if not isinstance(data["years"], str | int):
            problems.append(f'{where}: years: must be a year or a range like "2019-2021"')
        else:
            try:
                years = tuple(parse_years(str(data["years"])))
            except UsageError as exc:
                problems.append(f"{where}: years: {exc}")
    last = data.get("last")
    if last is not None and (not isinstance(last, int) or isinstance(last, bool) or not 1 <= last <= 30):
        problems.append(f"{where}: last: must be a whole number from 1 to 30, got {last!r}")
        last = None
    return years, last


def _outputs(value: Any, problems: list[str], where: str) -> tuple[Output, ...]:
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: output: give at least one [[output]] table with format and path")
        return ()
    outputs = []
    for number, table in enumerate(value, start=1):
        key = f"output[{number}]"
        if not isinstance(table, dict):
            problems.append(f"{where}: {key}: must be a table with format and path")
            continue
        problems.extend(
            f"{where}: {key}.{k}: unknown key (allowed: format, path, wide)" for k in table.keys() - _OUTPUT_KEYS
        )
        fmt, target, wide = table.get("format"), table.get("path"), table.get("wide", False)
        if fmt not in OUTPUT_FORMATS:
            problems.append(f"{where}: {key}.format: must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
        if not isinstance(target, str) or not target.strip():
            problems.append(f"{where}: {key}.path: must be a file path")
        if not isinstance(wide, bool):
            problems.append(f"{where}: {key}.wide: must be true or false, got {wide!r}")
        if isinstance(fmt, str) and isinstance(target, str) and isinstance(wide, bool):
            outputs.append(Output(fmt, target, wide))
    paths = [o.path for o in outputs]
    for duplicate in sorted({p for p in paths if paths.count(p) > 1}):
        problems.append(f"{where}: output: the path {duplicate!r} is given twice")
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
