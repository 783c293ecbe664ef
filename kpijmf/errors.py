"""Typed errors, each carrying the process exit code the CLI maps it to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_API = 4
EXIT_INVALID_FILE = 5
EXIT_STORE = 6
EXIT_BUSY = 7
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_ERROR: "other error (e.g. an output file could not be written)",
    EXIT_USAGE: "bad command line: unknown option, bad years, unknown format or peer keyword",
    EXIT_NOT_FOUND: "unknown kommun, KPI, KPI set or group (with a 'did you mean')",
    EXIT_API: "Kolada API unreachable, timed out or answered with an error or a malformed body",
    EXIT_INVALID_FILE: "invalid KPI-set or run file (TOML syntax, wrong types, unknown keys)",
    EXIT_STORE: "local store corrupt, from a newer kpijmf, or missing data with --offline",
    EXIT_BUSY: "another kpijmf process holds the store's lock for longer than the wait allows",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGINT): the store is left as it was before the command",
    EXIT_TERMINATED: "terminated (SIGTERM): the store is left as it was before the command",
}


class KpijmfError(Exception):
    """Base of every expected error; `exit_code` is what the CLI exits with."""

    exit_code = EXIT_ERROR


class UsageError(KpijmfError):
    """An option value that cannot be understood (bad years, unknown format, ...)."""

    exit_code = EXIT_USAGE


class NotFoundError(KpijmfError):
    """An unknown kommun, KPI, set or group; the message carries suggestions."""

    exit_code = EXIT_NOT_FOUND


class ApiError(KpijmfError):
    """Any failure talking to Kolada; the message names the URL and the cause."""

    exit_code = EXIT_API

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ApiUnreachableError(ApiError):
    """Connection refused, DNS failure, dropped connection after all retries."""


class ApiTimeoutError(ApiError):
    """No answer within the timeout, after all retries."""


class ApiStatusError(ApiError):
    """An HTTP status that is an error (after retries where retrying makes sense)."""

    def __init__(self, message: str, url: str | None = None, status: int = 0) -> None:
        super().__init__(message, url)
        self.status = status


class ApiBodyError(ApiError):
    """A body that is not Kolada's JSON envelope (HTML from a proxy, truncated JSON)."""


class InvalidFileError(KpijmfError):
    """A KPI-set or run file that cannot be used; `problems` lists `file: key: message` lines."""

    exit_code = EXIT_INVALID_FILE

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems) if problems else "invalid file")
        self.problems = problems


class StoreError(KpijmfError):
    """The local store cannot be used (corrupt, newer schema) or lacks data offline."""

    exit_code = EXIT_STORE


class StoreBusyError(KpijmfError):
    """Another process held the store lock longer than the configured wait."""

    exit_code = EXIT_BUSY


class OutputError(KpijmfError):
    """An output file could not be written (a directory, no permission, ...)."""

    exit_code = EXIT_ERROR
