"""End to end: a `fetch` or `refresh` killed with SIGKILL (while starting, mid-download, or with its write
transaction open) leaves a store that SQLite calls sound and that still answers `compare --offline` with
exactly the data it had; the next run completes the job. A store damaged on disk (truncated, overwritten,
emptied) is reported with exit 6 and a way out, never a traceback, and `kpijmf cache clear` recovers.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from tests.emulator import EmulatorServer, full_universe, small_universe
from tests.reliability_support import copy_store, error_line, integrity
from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf, store_digest

BASE_FETCH = ["fetch", "--set", "ekonomiskt_bistand", "--years", "2015-2024", "--kommun", "2380"]
COMMANDS = {
    # 15 more KPIs for every kommun and group: ~110 000 values, written batch by batch in one transaction
    "fetch": ["fetch", "--set", "arbetsmarknad", "--years", "2015-2024", "--kommun", "2380"],
    # Umeå's peer groups are new units, so every stored KPI is fetched again in full and rewritten
    "refresh": ["refresh", "--kommun", "2480"],
}
OFFLINE = [
    "compare", "--kommun", "2380", "--set", "ekonomiskt_bistand", "--years", "2019-2024", "--offline", "-f", "csv"
]  # fmt: skip


def write_locked(store: Path) -> bool:
    """True while some process holds the store's write lock, i.e. has a write transaction open."""
    conn = sqlite3.connect(store / "kpijmf.sqlite", timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """A full-size emulator, a store holding one KPI set, its `compare --offline` answer, and the digests
    the store has after a clean run of each command (Kolada changed 30 % of the values meanwhile)."""
    root = tmp_path_factory.mktemp("crash")
    with EmulatorServer(full_universe()) as emulator:
        base = root / "base"
        assert run_kpijmf(BASE_FETCH, kpijmf_env(emulator.url, base)).code == 0
        answer = run_kpijmf(OFFLINE, kpijmf_env(emulator.url, base))
        assert answer.code == 0, answer.stderr
        emulator.universe.mutate_fraction(0.3, date.today(), seed=5)  # most batches change
        references = {}
        for command, args in COMMANDS.items():
            clean = copy_store(base, root / f"clean-{command}")
            assert run_kpijmf(args, kpijmf_env(emulator.url, clean)).code == 0
            references[command] = store_digest(clean)
            assert references[command] != store_digest(base)
        yield {"emulator": emulator, "base": base, "answer": answer.stdout, "references": references}


def kill(proc: subprocess.Popen, when: Callable[[], bool], limit: float = 30) -> None:
    """SIGKILL the process as soon as `when()` holds; fail if it ended on its own first."""
    deadline = time.monotonic() + limit
    while not when():
        assert proc.poll() is None, f"kpijmf finished (exit {proc.returncode}) before the kill point"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.005)
    assert proc.poll() is None, f"kpijmf finished (exit {proc.returncode}) before the kill point"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def after(seconds: float) -> Callable[[], bool]:
    started = time.monotonic()
    return lambda: time.monotonic() - started >= seconds


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("point", ["after-0.3s", "after-1s", "while-writing"])
def test_killed_command_leaves_a_sound_store_with_exactly_the_previous_data(full, tmp_path, command, point):
    emulator = full["emulator"]
    store = copy_store(full["base"], tmp_path / "store")
    before = store_digest(store)
    emulator.latency = 0.0 if point == "while-writing" else 0.3
    emulator.reset_log()
    try:
        proc = subprocess.Popen(
            [str(ENTRY_POINT), *COMMANDS[command]],
            env=kpijmf_env(emulator.url, store),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if point == "while-writing":
            # mid-transaction: the write lock is held and at least half the batches have arrived
            kill(proc, lambda: len(emulator.data_requests()) >= 6 and write_locked(store))
        else:
            kill(proc, after(float(point.removeprefix("after-").removesuffix("s"))))
    finally:
        emulator.latency = 0.0
    assert integrity(store) == "ok"
    assert store_digest(store) == before
    answer = run_kpijmf(OFFLINE, kpijmf_env(emulator.url, store))
    assert answer.code == 0, answer.stderr
    assert answer.stdout == full["answer"]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_next_run_after_a_kill_completes_the_job(full, tmp_path, command):
    emulator = full["emulator"]
    store = copy_store(full["base"], tmp_path / "store")
    proc = subprocess.Popen(
        [str(ENTRY_POINT), *COMMANDS[command]],
        env=kpijmf_env(emulator.url, store),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill(proc, lambda: write_locked(store))
    again = run_kpijmf(COMMANDS[command], kpijmf_env(emulator.url, store, KPIJMF_LOCK_TIMEOUT="5"))
    assert again.code == 0, again.stderr
    assert "väntar upp till" not in again.stderr  # the kernel released the dead process's lock
    assert store_digest(store) == full["references"][command]


# -- a store damaged on disk --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    with EmulatorServer(small_universe()) as emulator:
        base = tmp_path_factory.mktemp("damage") / "base"
        assert run_kpijmf(USERS["fetch"], kpijmf_env(emulator.url, base)).code == 0
        yield emulator, base


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated-to-a-third":
        path.write_bytes(data[: len(data) // 3])
    elif how == "random-bytes":
        path.write_bytes(os.urandom(len(data)))
    else:
        path.write_bytes(b"")


DAMAGE = ["truncated-to-a-third", "random-bytes", "zero-length"]
USERS = {
    "compare-offline": ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "--offline"],
    "fetch": ["fetch", "--kpi", "N03926", "--years", "2019-2021", "--kommun", "2380"],
    "cache-info": ["cache", "info"],
}


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_store_exits_6_with_a_way_out_and_no_traceback(small, tmp_path, how, user):
    emulator, base = small
    store = copy_store(base, tmp_path / "store")
    damage(store / "kpijmf.sqlite", how)
    damaged = (store / "kpijmf.sqlite").read_bytes()
    run = run_kpijmf(USERS[user], kpijmf_env(emulator.url, store))
    assert run.code == 6
    line = error_line(run)
    assert str(store / "kpijmf.sqlite") in line
    assert "kpijmf cache clear" in line
    assert (store / "kpijmf.sqlite").read_bytes() == damaged  # left for the user to inspect or restore


@pytest.mark.parametrize("how", DAMAGE)
def test_cache_clear_recovers_from_a_damaged_store(small, tmp_path, how):
    emulator, base = small
    store = copy_store(base, tmp_path / "store")
    damage(store / "kpijmf.sqlite", how)
    cleared = run_kpijmf(["cache", "clear"], kpijmf_env(emulator.url, store))
    assert cleared.code == 0, cleared.stderr
    assert "tog bort " in cleared.stderr or "tog inte bort något" in cleared.stderr
    assert run_kpijmf(USERS["fetch"], kpijmf_env(emulator.url, store)).code == 0
    assert store_digest(store) == store_digest(base)
    answer = run_kpijmf([*USERS["compare-offline"], "-f", "csv"], kpijmf_env(emulator.url, store))
    assert answer.code == 0, answer.stderr


def test_first_fetch_killed_at_any_moment_leaves_what_the_next_fetch_can_use(small, tmp_path):
    """Killed while starting, creating the store, fetching metadata or data: never the empty file exit 6 is for."""
    emulator, _base = small
    store = tmp_path / "store"
    for delay in (0.05, 0.1, 0.2, 0.3, 0.4):
        proc = subprocess.Popen(
            [str(ENTRY_POINT), *USERS["fetch"]], env=kpijmf_env(emulator.url, store), stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        path = store / "kpijmf.sqlite"
        assert not path.exists() or path.stat().st_size > 0
    run = run_kpijmf(USERS["fetch"], kpijmf_env(emulator.url, store))
    assert run.code == 0, run.stderr
