"""Slow setup a command starts before it needs it, in a thread of its own, so that it runs beside other work.

Each is here because a benchmark showed it pays (benchmarks/README.md): pandas imported while requests are on the
wire, and the TLS context loaded while a command that may talk to Kolada does its own imports.
"""

from __future__ import annotations

import importlib
import threading


def import_meanwhile(module: str) -> None:
    """Import `module` in a thread of its own, in time the process would spend waiting on the wire (pandas takes
    ~0.3 s on a slow machine). Whoever imports it next waits on Python's import lock for this import rather than
    making a second one; the process waits for the thread before it exits."""
    threading.Thread(target=importlib.import_module, args=(module,), name=f"import {module}").start()


def prepare_network() -> None:
    """Start loading the TLS context Kolada's client will take (`kpijmf.kolada.tls`): 40–90 ms of work that
    otherwise stands between a command's start and its first request."""
    from kpijmf.kolada import tls

    tls.prepare()
