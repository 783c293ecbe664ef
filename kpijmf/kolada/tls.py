"""The TLS context kpijmf verifies Kolada's HTTPS with, loaded in a thread beside the client's other start-up.

The trust store is SSL_CERT_FILE if set, else SSL_CERT_DIR, else certifi's bundle: httpx's own default, written
down here because kpijmf hands httpx the context it built. Loading the bundle is 40–90 ms of OpenSSL work that
lets go of the GIL, so the client starts it (`loading`) before importing httpx and its transport, and takes the
result after (benchmarks/README.md).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import ssl

__all__ = ["context", "loading"]


def loading() -> Future[ssl.SSLContext]:
    """Start loading the context in a thread of its own: the future's result, or what loading it raised (OSError or
    ValueError for an unreadable SSL_CERT_FILE, say). Not a daemon thread: a process that ends while it loads waits
    for it (a daemon still loading was seen to crash the process in OpenSSL's teardown at exit)."""
    future: Future[ssl.SSLContext] = Future()
    threading.Thread(target=_load_into, args=(future,), name="tls context").start()
    return future


def context() -> ssl.SSLContext:
    """The context, loaded in the calling thread."""
    import ssl

    cert_file, cert_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cert_file:
        return ssl.create_default_context(cafile=cert_file)
    if cert_dir:
        return ssl.create_default_context(capath=cert_dir)
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _load_into(future: Future[ssl.SSLContext]) -> None:
    try:
        future.set_result(context())
    except Exception as exc:  # handed to whoever waits for the context, as if they had loaded it
        future.set_exception(exc)
