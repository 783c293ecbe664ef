"""The TLS context kpijmf verifies Kolada's HTTPS with, built ahead of need when a command asks.

The trust store is SSL_CERT_FILE if set, else SSL_CERT_DIR, else certifi's bundle: httpx's own default, written
down here because kpijmf hands httpx the context it built. Loading the bundle is 40–90 ms of OpenSSL work that
lets go of the GIL, so a command that may talk to Kolada calls `prepare` first thing, and the loading runs on
the other core beside the command's imports; the client's `context()` takes it. A context prepared ahead is
taken once, and only when the two variables still read as they did: a later client builds its own.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import ssl

__all__ = ["context", "prepare"]

TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")

_lock = threading.Lock()
_ahead: tuple[tuple[str, ...], Future[ssl.SSLContext]] | None = None  # (the variables it read, the context)


def prepare() -> None:
    """Start building the context in a thread of its own, unless one is already waiting to be taken."""
    global _ahead
    with _lock:
        if _ahead is not None:
            return
        future: Future[ssl.SSLContext] = Future()
        _ahead = (_trust_settings(), future)
    # Not a daemon: a command that ends first (a usage error, say) waits the few ms left of the loading, since
    # OpenSSL torn down at exit under a thread still loading crashes the process (seen: SIGSEGV).
    threading.Thread(target=_build_into, args=(future,), name="tls context").start()


def context() -> ssl.SSLContext:
    """A context for a new client: the one prepared ahead, else one built now. Raises OSError or ValueError
    (an unreadable SSL_CERT_FILE, say) as building it does."""
    global _ahead
    with _lock:
        ahead, _ahead = _ahead, None
    if ahead is not None and ahead[0] == _trust_settings():
        return ahead[1].result()
    return _build()


def _trust_settings() -> tuple[str, ...]:
    return tuple(os.environ.get(name, "") for name in TRUST_VARIABLES)


def _build_into(future: Future[ssl.SSLContext]) -> None:
    try:
        future.set_result(_build())
    except Exception as exc:  # handed to whoever takes the context, as if they had built it
        future.set_exception(exc)


def _build() -> ssl.SSLContext:
    import ssl

    cert_file, cert_dir = _trust_settings()
    if cert_file:
        return ssl.create_default_context(cafile=cert_file)
    if cert_dir:
        return ssl.create_default_context(capath=cert_dir)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())
