"""Injectable faults: what a flaky API or proxy does to a client, one request at a time."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from tests.emulator.routes import GONE_BODY, JSON_TYPE, Response, json_response

FAULT_KINDS = frozenset({"429", "500", "502", "503", "504", "drop", "truncated", "html", "slow", "410", "422", "empty"})
# Kinds that still need the normal answer: they delay it, cut it, or drop it halfway.
NEEDS_NORMAL = frozenset({"slow", "drop", "truncated"})
DEFAULT_SLOW_SECONDS = 5.0
HTML_TYPE = "text/html; charset=utf-8"

PROXY_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Proxy Error</title></head>\n"
    "<body><h1>Proxy Error</h1><p>The proxy server received an invalid response from an upstream "
    "server.</p><hr><address>Apache Server at api.kolada.se Port 443</address></body></html>\n"
)
BAD_GATEWAY_PAGE = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
)


@dataclass(frozen=True)
class Fault:
    """One misbehaviour: `kind` is one of FAULT_KINDS; `retry_after` for 429, `seconds` for slow."""

    kind: str
    retry_after: float | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")

    @property
    def delay(self) -> float:
        """Seconds to wait before answering (only "slow" waits)."""
        if self.kind != "slow":
            return 0.0
        return DEFAULT_SLOW_SECONDS if self.seconds is None else self.seconds


@dataclass
class _Armed:
    fault: Fault
    remaining: int | None  # None: until cleared
    path_contains: str | None


class FaultQueue:
    """Armed faults, consumed in injection order by the requests whose path they match, and an optional
    periodic schedule (`every`) for the requests no armed fault took."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._schedule: dict[int, Fault] = {}
        self._counted = 0  # requests seen since the schedule was set

    def add(self, fault: Fault, times: int | None = 1, path_contains: str | None = None) -> None:
        """Arm `fault` for the next `times` matching requests (None: every one until cleared)."""
        if times is not None and times < 1:
            raise ValueError("times must be a positive int or None")
        with self._lock:
            self._armed.append(_Armed(fault, times, path_contains))

    def every(self, schedule: dict[int, Fault]) -> None:
        """From now on the n-th request (counted from 1) gets the fault of the first key, in the dict's
        order, that divides n; e.g. {3: Fault("429"), 4: Fault("503")}: requests 3, 4, 6, 8, 9, 12, ...
        Armed faults (`add`) go first; their requests still count. An empty dict stops the schedule."""
        for divisor, fault in schedule.items():
            if not isinstance(divisor, int) or divisor < 1:
                raise ValueError(f"schedule keys must be positive ints, got {divisor!r}")
            if not isinstance(fault, Fault):
                raise TypeError(f"schedule values must be Fault, got {fault!r}")
        with self._lock:
            self._schedule = dict(schedule)
            self._counted = 0

    def clear(self) -> None:
        """Disarm every fault and stop the periodic schedule."""
        with self._lock:
            self._armed.clear()
            self._schedule = {}
            self._counted = 0

    def take(self, path: str) -> Fault | None:
        """The fault for a request to `path`, using up one of its times; None when none matches."""
        with self._lock:
            self._counted += 1
            for armed in self._armed:
                if armed.path_contains is None or armed.path_contains in path:
                    if armed.remaining is not None:
                        armed.remaining -= 1
                        if armed.remaining == 0:
                            self._armed.remove(armed)
                    return armed.fault
            for divisor, fault in self._schedule.items():
                if self._counted % divisor == 0:
                    return fault
        return None


def fault_response(fault: Fault, normal: Response | None) -> Response:
    """The answer a fault gives instead of (or made from) the normal one."""
    kind = fault.kind
    if kind == "slow":
        assert normal is not None
        return normal
    if kind == "drop":
        assert normal is not None
        return Response(normal.status, normal.body, normal.content_type, drop_after=len(normal.body) // 2)
    if kind == "truncated":
        assert normal is not None
        text = normal.body.decode("utf-8")
        return Response(200, text[: len(text) // 2].encode("utf-8"), JSON_TYPE)
    if kind == "html":
        return Response(200, PROXY_ERROR_PAGE.encode("utf-8"), HTML_TYPE)
    if kind == "429":
        retry_after = 1 if fault.retry_after is None else fault.retry_after
        headers = (("Retry-After", f"{retry_after:g}"),)
        return json_response(429, {"error": "Too many requests, slow down."}, headers=headers)
    if kind == "500":
        return json_response(500, {"error": "Internal server error"})
    if kind == "503":
        return json_response(503, {"error": "Service temporarily unavailable."})
    if kind == "502":
        return Response(502, BAD_GATEWAY_PAGE.encode("utf-8"), HTML_TYPE)
    if kind == "504":
        return Response(504, b"504 Gateway Time-out\n", "text/plain; charset=utf-8")
    if kind == "410":
        return json_response(410, GONE_BODY)
    if kind == "422":
        return json_response(422, {"error": "Unprocessable request."})
    # "empty": a well-formed answer with nothing in it
    empty = {"values": [], "count": 0, "next_url": None, "previous_url": None}
    return Response(200, json.dumps(empty).encode("utf-8"), JSON_TYPE)
