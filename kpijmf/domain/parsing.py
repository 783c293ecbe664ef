"""Parse option values shared by the CLI and run files: year ranges and repeatable comma lists."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from kpijmf.errors import UsageError

FIRST_YEAR = 1990
LAST_YEAR = 2100  # a sanity bound for years written in files (breaks, ended)
_RANGE = re.compile(r"^\s*([0-9]{4})\s*(?:(?:-|–|\.\.)\s*([0-9]{4})\s*)?$")


def split_list(values: Iterable[str] | None) -> list[str]:
    """Flatten repeated and comma-separated option values, dropping blanks and duplicates, keeping order."""
    items: list[str] = []
    for value in values or ():
        items.extend(part.strip() for part in value.split(","))
    return list(dict.fromkeys(item for item in items if item))


def parse_years(text: str, *, today: date | None = None) -> list[int]:
    """'2021' -> [2021]; '2019-2021' -> [2019, 2020, 2021]; bad, reversed or future ranges raise UsageError."""
    if not (text or "").strip():
        raise UsageError("no years given: give one year (2021) or a range (2019-2021)")
    match = _RANGE.match(text)
    if not match:
        raise UsageError(f"bad years {text!r}: give one year (2021) or a range (2019-2021)")
    first = int(match[1])
    last = int(match[2]) if match[2] else first
    if first > last:
        raise UsageError(f"bad years {text!r}: the range is reversed; did you mean {last}-{first}?")
    this_year = (today or date.today()).year
    if first < FIRST_YEAR:
        raise UsageError(f"bad years {text!r}: Kolada has no data before {FIRST_YEAR}")
    if last > this_year:
        raise UsageError(f"bad years {text!r}: {last} is in the future (Kolada has data up to {this_year} at most)")
    return list(range(first, last + 1))


def default_fetch_years(today: date | None = None) -> list[int]:
    """The ten calendar years before this one: what `fetch` stores when no --years is given."""
    this_year = (today or date.today()).year
    return list(range(this_year - 10, this_year))


def parse_date(text: str) -> str:
    """'2026-09-01' -> the same, checked; anything else raises UsageError."""
    if not text.strip():
        raise UsageError("no date given: use YYYY-MM-DD")
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise UsageError(f"bad date {text!r}: use YYYY-MM-DD") from None
