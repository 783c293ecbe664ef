"""What Kolada's answers mean: envelopes, error statuses, Retry-After and data rows → DataRecord.

Pure functions of an httpx.Response or decoded JSON, used by `kpijmf.kolada.client` (which owns the HTTP).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from kpijmf.errors import ApiBodyError, ApiError, ApiStatusError

if TYPE_CHECKING:  # pragma: no cover
    import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
V3_HINT = "this is Kolada's retired v2 API; point KPIJMF_API_URL at https://api.kolada.se/v3"
LIMIT_HINT = "limit exceeded? Kolada takes at most 25 ids per list and per_page ≤ 5000"
_GENDER_ORDER = {"T": 0, "K": 1, "M": 2}
_new_tuple = tuple.__new__  # builds a NamedTuple in half the time of calling it with keywords


class DataRecord(NamedTuple):
    """One value: a KPI for one unit, year and gender (T total, K women, M men).

    A NamedTuple rather than a dataclass: a cold fetch builds about 100,000 of them, and this is 4× faster."""

    kpi: str
    unit_id: str
    year: int
    gender: str
    value: float | None
    count: int | None
    status: str
    deleted: bool


@dataclass(frozen=True)
class Failure:
    """An attempt that did not give an envelope: the error to raise and whether a retry may help."""

    kind: type[ApiError]
    message: str
    retry: bool
    status: int | None = None
    retry_after: float | None = None

    def error(self, url: str, note: str = "") -> ApiError:
        message = f"{self.message} ({note})" if note else self.message
        if self.kind is ApiStatusError:
            return ApiStatusError(message, url, status=self.status or 0)
        return self.kind(message, url)


def envelope(response: httpx.Response, shown: str) -> dict[str, Any]:
    """Kolada's {"values": [...], "next_url": ...} from a 2xx response, or ApiBodyError."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise ApiBodyError(f"expected JSON from {shown} but got {media} (a proxy or error page?)", shown)
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise ApiBodyError(
            f"invalid JSON from {shown}: {one_line(str(exc), 200)} (truncated response?)", shown
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get("values"), list):
        raise ApiBodyError(f"unexpected response shape from {shown}: no 'values' list", shown)
    return body


def status_failure(response: httpx.Response, shown: str) -> Failure:
    """What an error status means: retry 429/502/503/504 (after Retry-After), explain the rest."""
    status = response.status_code
    message = f"Kolada answered {status} {response.reason_phrase}".rstrip() + f" for {shown}"
    if status in RETRY_STATUSES:
        wait = parse_retry_after(response.headers.get("retry-after"))
        return Failure(ApiStatusError, message, retry=True, status=status, retry_after=wait)
    retired = "/v2/" in urlsplit(shown).path or "/v2/" in response.url.path
    if status == 410 or (400 <= status < 500 and retired):
        return Failure(ApiStatusError, f"{message}: {V3_HINT}", retry=False, status=status)
    detail = _error_text(response)
    if detail:
        message += f": {detail}"
    if status == 422:
        message += f" ({LIMIT_HINT})"
    return Failure(ApiStatusError, message, retry=False, status=status)


def _error_text(response: httpx.Response) -> str:
    """Kolada's own explanation from an error body ({"error": ...} or FastAPI's {"detail": ...})."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("error", "message", "detail"):
        text = body.get(key)
        if isinstance(text, list):  # FastAPI validation errors: [{"loc": [...], "msg": "..."}]
            text = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in text)
        if text:
            return one_line(str(text), 200)
    return ""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped at 60 s."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def objects(shown: str, values: list) -> list[dict]:
    """Metadata items, checked to be JSON objects."""
    if not all(isinstance(item, dict) for item in values):
        raise ApiBodyError(f"unexpected response shape from {shown}: 'values' holds non-objects", shown)
    return values


def records(shown: str, rows: list) -> list[DataRecord]:
    """One DataRecord per gender entry of each data row; entries are read by their gender field.

    A cold fetch reads ~100,000 values, so rows of the usual types are read inline, checking types by identity
    and building each record directly; any other row goes through `_row_records`, which explains what is wrong.
    """
    out: list[DataRecord] = []
    append, new = out.append, _new_tuple
    row = None
    try:
        for row in rows:
            kpi, unit, year, entries = row["kpi"], row["municipality"], row["period"], row["values"]
            if type(kpi) is not str or type(unit) is not str or type(year) is not int or type(entries) is not list:
                out.extend(_row_records(row))
                continue
            start = len(out)
            for entry in sorted(entries, key=_gender_order) if len(entries) > 1 else entries:
                gender, value, count = entry["gender"], entry.get("value"), entry.get("count")
                status, deleted = entry.get("status", ""), entry.get("isdeleted", False)
                if type(value) is int:  # a whole number written without a point (a bool's type is bool, not int)
                    value = float(value)
                if (
                    type(gender) is not str
                    or (value is not None and type(value) is not float)
                    or (count is not None and type(count) is not int)
                    or type(status) is not str
                    or type(deleted) is not bool
                ):
                    del out[start:]
                    out.extend(_row_records(row))
                    break
                append(new(DataRecord, (kpi, unit, year, gender, value, count, status, deleted)))
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"no {exc}" if isinstance(exc, KeyError) else short_reason(exc)
        raise ApiBodyError(
            f"unexpected data row from {shown}: {reason} in {one_line(json.dumps(row), 160)}", shown
        ) from None
    return out


def _gender_order(entry: dict[str, Any]) -> tuple[int, str]:
    return _GENDER_ORDER.get(entry["gender"], 9), str(entry["gender"])


def _row_records(row: dict[str, Any]) -> Iterator[DataRecord]:
    kpi, unit, period, entries = row["kpi"], row["municipality"], row["period"], row["values"]
    if not isinstance(kpi, str) or not isinstance(unit, str):
        raise TypeError("kpi and municipality must be strings")
    if isinstance(period, bool) or not isinstance(period, int | str):
        raise TypeError("period must be a year")
    if not isinstance(entries, list):
        raise TypeError("'values' must be a list")
    year = int(period)
    ordered = sorted(entries, key=lambda e: (_GENDER_ORDER.get(e["gender"], 9), str(e["gender"])))
    for entry in ordered:
        gender, value, count, status = entry["gender"], entry.get("value"), entry.get("count"), entry.get("status")
        if not isinstance(gender, str):
            raise TypeError("gender must be a string")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise TypeError(f"value {value!r} is not a number")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise TypeError(f"count {count!r} is not an integer")
        yield DataRecord(
            kpi=kpi,
            unit_id=unit,
            year=year,
            gender=gender,
            value=None if value is None else float(value),
            count=count,
            status="" if status is None else str(status),
            deleted=bool(entry.get("isdeleted", False)),
        )


def shown_url(url: str) -> str:
    """The URL as it may appear in a message: any user:password@ removed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def short_reason(exc: BaseException) -> str:
    """A short one-line cause: "connection refused" from "[Errno 111] Connection refused"."""
    text = one_line(re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)), 200) or type(exc).__name__
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        text = text[0].lower() + text[1:]
    return text.rstrip(".")


def one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
