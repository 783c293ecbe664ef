"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kpijmf.store.db import Store
from tests.emulator import EmulatorServer, full_universe, real_universe, small_universe


@pytest.fixture
def store(tmp_path) -> Iterator[Store]:
    """A new, empty store file of its own."""
    with Store.open(tmp_path / "kpijmf.sqlite") as opened:
        yield opened


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A Kolada emulator over a fresh small_universe(), stopped after the test."""
    with EmulatorServer(small_universe()) as emu:
        yield emu


@pytest.fixture
def full_emulator() -> Iterator[EmulatorServer]:
    """A Kolada emulator over a fresh full_universe() (290 kommuner, ~400 groups)."""
    with EmulatorServer(full_universe()) as emu:
        yield emu


@pytest.fixture
def real_emulator() -> Iterator[EmulatorServer]:
    """A Kolada emulator over a fresh real_universe(): real units, groups and KPI catalogue, generated values."""
    with EmulatorServer(real_universe()) as emu:
        yield emu
