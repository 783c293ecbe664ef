"""A local Kolada v3 emulator: a real HTTP server over a live, mutable universe of KPIs and values."""

from tests.emulator.faults import FAULT_KINDS, Fault
from tests.emulator.model import Cell, Universe
from tests.emulator.real import real_universe
from tests.emulator.server import EmulatorServer, RequestRecord
from tests.emulator.snapshot import load_snapshot
from tests.emulator.universe import full_universe, small_universe

__all__ = [
    "FAULT_KINDS",
    "Cell",
    "EmulatorServer",
    "Fault",
    "RequestRecord",
    "Universe",
    "full_universe",
    "load_snapshot",
    "real_universe",
    "small_universe",
]
