"""A real HTTP/1.1 server on 127.0.0.1 that answers like Kolada v3, with latency and faults on demand."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.emulator.faults import NEEDS_NORMAL, Fault, FaultQueue, fault_response
from tests.emulator.model import Universe
from tests.emulator.routes import Response, route

HOST = "127.0.0.1"


@dataclass(frozen=True)
class RequestRecord:
    """One request as served. Times are time.monotonic(): arrival, when the answer was made, and when it was
    sent after the latency wait (logged just before sending, so a client holding its answer finds the record)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body_bytes: int
    started: float
    finished: float
    made: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server_version = "KoladaEmulator/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK add ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.emulator._serve(self)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests and the CLI own stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, emulator: EmulatorServer, port: int) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)

    def track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def verify_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> bool:
        """Refuse (reset) a new connection during an outage; accept it otherwise."""
        assert isinstance(request, socket.socket)
        return not self.emulator._refused_now(request)

    def close_connections(self) -> None:
        """Hang up on idle keep-alive clients so their handler threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class EmulatorServer:
    """Serves a live `Universe` as Kolada v3 on http://127.0.0.1:PORT/v3 from a background thread.

    `outage_seconds`: the server starts in an outage of that length (see `start_outage`)."""

    def __init__(self, universe: Universe, latency: float = 0.0, port: int = 0, outage_seconds: float = 0.0) -> None:
        self.universe = universe
        self.latency = latency
        self.relative_next_url = False
        self.page_cap: int | None = None  # at most this many items per page, whatever per_page asks
        self._port = port
        self._faults = FaultQueue()
        self._outage_seconds = outage_seconds
        self._outage_until = 0.0  # time.monotonic() when the current outage ends
        self._refused = 0
        self._log_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._bytes_sent = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ----------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = _Server(self, self._port)
        if self._outage_seconds > 0:
            self.start_outage(self._outage_seconds)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, hang up on open connections and free the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- addresses ----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the free one picked when constructed with port=0)."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server.server_address[1]

    @property
    def root(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL kpijmf uses: http://127.0.0.1:PORT/v3"""
        return f"{self.root}/v3"

    # ---- request log --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served so far, oldest first (a snapshot)."""
        with self._log_lock:
            return list(self._requests)

    def data_requests(self) -> list[RequestRecord]:
        """The requests whose path starts with /v3/data."""
        return [r for r in self.requests if r.path.startswith("/v3/data")]

    @property
    def bytes_sent(self) -> int:
        """Total response body bytes written."""
        with self._log_lock:
            return self._bytes_sent

    def reset_log(self) -> None:
        """Forget the requests and byte count so far."""
        with self._log_lock:
            self._requests.clear()
            self._bytes_sent = 0

    # ---- faults -------------------------------------------------------------------------------

    def inject(self, fault: Fault, times: int | None = 1, path_contains: str | None = None) -> None:
        """Answer the next `times` requests whose path contains `path_contains` with `fault`."""
        self._faults.add(fault, times, path_contains)

    def clear_faults(self) -> None:
        """Disarm every injected fault and stop any periodic schedule."""
        self._faults.clear()

    @property
    def faults(self) -> FaultQueue:
        """The fault queue itself: `add`, `every` (a periodic schedule) and `clear`."""
        return self._faults

    def start_outage(self, seconds: float) -> None:
        """For the next `seconds`, reset every connection right after accept (and every request on an open
        keep-alive connection) without an HTTP answer, as a restarting server behind a load balancer does.
        Refused requests are not logged, not counted by a fault schedule, and counted in `refused`."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        with self._log_lock:
            self._outage_until = time.monotonic() + seconds

    def end_outage(self) -> None:
        """End the outage now."""
        with self._log_lock:
            self._outage_until = 0.0

    @property
    def in_outage(self) -> bool:
        """Whether connections are being refused right now."""
        with self._log_lock:
            return time.monotonic() < self._outage_until

    @property
    def refused(self) -> int:
        """Connections and requests reset during outages so far."""
        with self._log_lock:
            return self._refused

    def _refused_now(self, connection: socket.socket) -> bool:
        """During an outage: reset `connection` (RST, no FIN, no answer) and return True."""
        with self._log_lock:
            if time.monotonic() >= self._outage_until:
                return False
            self._refused += 1
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.close()
        return True

    # ---- serving (handler threads) -------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        if self._refused_now(handler.connection):  # a keep-alive connection opened before the outage
            handler.close_connection = True
            return
        started = time.monotonic()
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        fault = self._faults.take(path)
        normal = None
        if fault is None or fault.kind in NEEDS_NORMAL:
            next_base = "" if self.relative_next_url else f"http://{HOST}:{handler.server.server_address[1]}"
            normal = route(self.universe, path, pairs, next_base, self.page_cap)
        # Latency is the time from the request to its answer, the answer's making included (as on a real
        # server, whose work is part of the delay a client sees); a longer making delays the answer further.
        made = time.monotonic()
        if self.latency > made - started:
            time.sleep(self.latency - (made - started))
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        response = normal if fault is None else fault_response(fault, normal)
        assert response is not None
        body = response.body if response.drop_after is None else response.body[: response.drop_after]
        record = RequestRecord("GET", path, dict(pairs), response.status, len(body), started, time.monotonic(), made)
        with self._log_lock:
            self._requests.append(record)
            self._bytes_sent += len(body)
        self._write(handler, response, body)

    def _write(self, handler: _Handler, response: Response, body: bytes) -> None:
        """Send the status, headers (Content-Length of the full body) and `body`."""
        try:
            handler.send_response(response.status)
            handler.send_header("Content-Type", response.content_type)
            handler.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:  # the client went away mid-answer
            handler.close_connection = True
            return
        if response.drop_after is not None:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
