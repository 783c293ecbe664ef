"""Reading the TOML files people write (KPI sets, targets, run files) and collecting their problems.

One reader: a size cap (a 40 MB file or `/dev/zero` is refused after MAX_BYTES), a nesting cap (arrays and
tables nested deeper than MAX_DEPTH), NUL bytes, non-UTF-8 text and unreadable files all become
`InvalidFileError` (exit 5) with one `file: message` line; a missing file is `NotFoundError` (exit 3) and a
path that cannot name a file (a NUL byte in it) is `UsageError` (exit 2). One collector, `Problems`, gathers
every `file: key: message` line of a file so that all of them are reported at once.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kpijmf.errors import InvalidFileError, NotFoundError, UsageError

MAX_BYTES = 1_000_000  # the largest KPI set is 4 kB; a megabyte is room for any file a person writes
MAX_DEPTH = 16  # arrays and tables inside each other; real files use 2 or 3
_AT_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")
_OPENERS = frozenset("[{")


class Problems:
    """Collects `file: key: message` lines; `raise_if_any()` raises them all as one InvalidFileError."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        """Record one problem under a key (`kpi[2].direction`, `output[1].path`)."""
        self.lines.append(f"{self.where}: {key}: {message}")

    def __bool__(self) -> bool:
        return bool(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def raise_if_any(self) -> None:
        """Raise InvalidFileError with every problem, if there is one."""
        if self.lines:
            raise InvalidFileError(list(self.lines))

    def unknown_keys(self, table: dict[str, Any], allowed: Iterable[str], prefix: str = "") -> int:
        """One problem per key of `table` not in `allowed`, with a did-you-mean; returns how many."""
        allowed = list(allowed)
        count = 0
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(allowed)})"
            self.add(f"{prefix}{key}", f"unknown key{hint}")
            count += 1
        return count


def read_toml(path: str | os.PathLike[str], where: str, kind: str, missing: str = "") -> dict[str, Any]:
    """Read and parse a TOML file within the caps; `where` names it in problems, `kind` in messages."""
    return parse_toml(read_text(path, where, kind, missing), where)


def read_text(path: str | os.PathLike[str], where: str, kind: str, missing: str = "") -> str:
    """A file's text, read with the size cap; every failure is a kpijmf error naming the file.

    `missing` is the message for a file that does not exist (default "<kind> not found: <where>")."""
    name = os.fspath(path)
    if "\x00" in name:
        raise UsageError(f"{kind} path {name!r} contains a NUL byte")
    try:
        with Path(name).open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise NotFoundError(missing or f"{kind} not found: {where}") from None
    except IsADirectoryError:
        raise InvalidFileError([f"{where}: is a directory, not a {kind}"]) from None
    except OSError as exc:
        raise InvalidFileError([f"{where}: cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BYTES:
        raise InvalidFileError([f"{where}: larger than {MAX_BYTES // 1_000_000} MB; not a {kind}"])
    if b"\x00" in data:
        raise InvalidFileError([f"{where}: not a text file (it contains NUL bytes)"])
    try:
        # utf-8-sig: Windows editors like to start UTF-8 files with a BOM, which tomllib rejects.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidFileError(
            [f"{where}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"]
        ) from None


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text within the nesting cap; syntax errors as `file: line L, column C: message`."""
    if len(text) > MAX_BYTES:
        raise InvalidFileError([f"{where}: larger than {MAX_BYTES // 1_000_000} MB"])
    depth = _bracket_depth(text)
    if depth > MAX_DEPTH:
        raise InvalidFileError([f"{where}: arrays or tables nested {depth} deep (at most {MAX_DEPTH})"])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidFileError([f"{where}: {syntax_problem(exc, text)}"]) from None
    except RecursionError:  # the bracket count is an upper bound, but keep the promise regardless
        raise InvalidFileError([f"{where}: nested too deeply"]) from None


def _bracket_depth(text: str) -> int:
    """How deep `[` and `{` nest outside strings and comments (an over-estimate is fine: only a cap)."""
    depth = deepest = 0
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote in ('"', '"""'):
                i += 2
                continue
            if text.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def syntax_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """tomllib (3.11) puts the position only inside the message: move it to the front."""
    message = str(exc)
    if match := _AT_POSITION.search(message):
        return f"line {match[1]}, column {match[2]}: {message[: match.start()]}"
    if match := _AT_END.search(message):
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
        return f"line {line}, column {column} (end of file): {message[: match.start()]}"
    return f"TOML syntax: {message}"


def describe(value: Any) -> str:
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
