"""End to end: kpijmf processes at the same time (the emulator answers slowly so that they overlap).

Two fetches or two refreshes: one waits for the other and says what it waits for; the store ends up
exactly as after one run, sound, with no "database is locked" and no traceback anywhere. A `compare
--offline` while a fetch or refresh is writing answers from the store as it was before (or, once the
writer committed, after), never a mix. With KPIJMF_LOCK_TIMEOUT=0.5 the waiting one gives up: exit 7 and
one line naming the process it waited for.
"""

from __future__ import annotations

import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from tests.emulator import EmulatorServer, Fault, full_universe, small_universe
from tests.reliability_support import copy_store, integrity, table
from tests.support import ENTRY_POINT, Run, kpijmf_env, run_kpijmf, store_digest
from tests.test_reliability_crash import write_locked

FETCH = ["fetch", "--kpi", "N03926,U40455,N40011", "--years", "2019-2024", "--kommun", "2380"]
REFRESH = ["refresh"]


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ENTRY_POINT), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen) -> Run:
    stdout, stderr = proc.communicate(timeout=120)
    return Run(proc.returncode, stdout, stderr)


def lock_holder(store: Path) -> str:
    """What the lock file says about the process holding the store ("" when nobody does)."""
    path = store / "kpijmf.lock"
    return path.read_text() if path.exists() else ""


def wait_for(condition, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def assert_calm(*runs: Run) -> None:
    """No traceback, no SQLite lock error, no error line in any of the runs."""
    for run in runs:
        assert "Traceback" not in run.stderr, run.stderr
        assert "database is locked" not in run.stderr, run.stderr
        assert "error" not in run.stderr, run.stderr


def kolada_changes(universe) -> None:
    universe.mutate_fraction(0.05, date.today(), seed=3)
    universe.add_year("N40011", 2025, date.today())


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """Digests (and revision counts) after one fetch, and after one refresh of it once Kolada changed."""
    root = tmp_path_factory.mktemp("single")
    with EmulatorServer(small_universe()) as emulator:
        fetched = root / "fetched"
        assert run_kpijmf(FETCH, kpijmf_env(emulator.url, fetched)).code == 0
        fetch_requests = len(emulator.data_requests())
        kolada_changes(emulator.universe)
        refreshed = copy_store(fetched, root / "refreshed")
        assert run_kpijmf(REFRESH, kpijmf_env(emulator.url, refreshed)).code == 0
    return {
        "fetched": fetched,
        "fetch_digest": store_digest(fetched),
        "fetch_requests": fetch_requests,
        "refresh_digest": store_digest(refreshed),
        "refresh_revisions": table(refreshed, "SELECT COUNT(*) FROM revision"),
    }


def test_two_fetches_at_once_end_as_one_fetch(single, tmp_path):
    with EmulatorServer(small_universe(), latency=0.6) as emulator:
        # The data answers take 2 s, so the first holds the lock that long: the second, however late a loaded
        # machine starts it, finds it held rather than the fetch done.
        emulator.inject(Fault("slow", seconds=2.0), times=None, path_contains="/v3/data/")
        env = kpijmf_env(emulator.url, tmp_path / "store")  # no store yet: both create it at once
        runs = [finish(proc) for proc in [start(FETCH, env), start(FETCH, env)]]
        data_requests = len(emulator.data_requests())
    assert [run.code for run in runs] == [0, 0], [run.stderr for run in runs]
    assert_calm(*runs)
    assert any("väntar upp till 60 s på att pid" in run.stderr for run in runs)
    assert sum("inget att hämta" in run.stderr for run in runs) == 1
    assert data_requests == single["fetch_requests"]  # the waiting one did not fetch the same data again
    assert integrity(tmp_path / "store") == "ok"
    assert store_digest(tmp_path / "store") == single["fetch_digest"]


def test_two_refreshes_at_once_end_as_one_refresh(single, tmp_path):
    store = copy_store(single["fetched"], tmp_path / "store")
    universe = small_universe()
    kolada_changes(universe)
    with EmulatorServer(universe, latency=2.0) as emulator:  # the first holds the lock for 2 s
        env = kpijmf_env(emulator.url, store)
        first = start(REFRESH, env)
        wait_for(lambda: "kpijmf refresh" in lock_holder(store))
        second = start(REFRESH, env)
        runs = [finish(first), finish(second)]
    assert [run.code for run in runs] == [0, 0], [run.stderr for run in runs]
    assert_calm(*runs)
    assert f"väntar upp till 60 s på att pid {first.pid} (kpijmf refresh" in runs[1].stderr
    assert integrity(store) == "ok"
    assert store_digest(store) == single["refresh_digest"]
    assert table(store, "SELECT COUNT(*) FROM revision") == single["refresh_revisions"]  # no revision twice


def test_waiting_gives_up_after_kpijmf_lock_timeout_with_exit_7(single, tmp_path):
    store = copy_store(single["fetched"], tmp_path / "store")
    with EmulatorServer(small_universe(), latency=3.0) as emulator:  # the first holds the lock for 3 s
        first = start(["fetch", "--kpi", "N03926", "--years", "2015-2018"], kpijmf_env(emulator.url, store))
        wait_for(lambda: "kpijmf fetch" in lock_holder(store))
        impatient = kpijmf_env(emulator.url, store, KPIJMF_LOCK_TIMEOUT="0.5")
        second, quiet = start(FETCH, impatient), start([*FETCH, "--quiet"], impatient)
        second, quiet = finish(second), finish(quiet)
        done = finish(first)
    assert done.code == 0, done.stderr
    for run in (second, quiet):
        assert run.code == 7
        assert run.stdout == ""
        assert "Traceback" not in run.stderr and "database is locked" not in run.stderr
        *_talk, line = run.stderr.strip().splitlines()
        assert line.startswith("kpijmf: error: the store in ")
        assert f"still in use by pid {first.pid} (kpijmf fetch, since " in line
        assert "after 0.5 s; try again later or raise KPIJMF_LOCK_TIMEOUT" in line
    assert second.stderr.splitlines()[0].startswith(f"kpijmf: warning: väntar upp till 0,5 s på att pid {first.pid}")
    assert len(quiet.stderr.strip().splitlines()) == 1  # --quiet: only the error
    assert integrity(store) == "ok"


# -- readers while a writer writes ------------------------------------------------------------------

OFFLINE = [
    "compare", "--kommun", "2380", "--set", "ekonomiskt_bistand", "--years", "2019-2024", "--offline", "-f", "csv"
]  # fmt: skip
WRITERS = {
    # every batch is written as it arrives, inside one transaction that stays open for the whole download
    "fetch": ["fetch", "--set", "ekonomiskt_bistand", "--years", "2015-2024", "--kommun", "2380", "--refresh"],
    # everything is downloaded first, then written in one transaction
    "refresh": ["refresh", "--kommun", "2480"],
}


@pytest.fixture(scope="module")
def full_store(tmp_path_factory):
    """A store holding one KPI set of the full universe, and its `compare --offline` answer."""
    with EmulatorServer(full_universe()) as emulator:
        store = tmp_path_factory.mktemp("full") / "store"
        assert run_kpijmf(WRITERS["fetch"][:-1], kpijmf_env(emulator.url, store)).code == 0
        answer = run_kpijmf(OFFLINE, kpijmf_env(emulator.url, store))
    assert answer.code == 0, answer.stderr
    return store, answer.stdout


@pytest.mark.parametrize("writer", list(WRITERS))
def test_compare_offline_while_a_writer_writes_sees_the_store_before_or_after(full_store, tmp_path, writer):
    base, before = full_store
    store = copy_store(base, tmp_path / "store")
    universe = full_universe()
    universe.mutate_fraction(0.05, date.today(), seed=3)
    with EmulatorServer(universe, latency=0.4) as emulator:
        env = kpijmf_env(emulator.url, store, KPIJMF_CONCURRENCY="1")  # one batch at a time: a long write
        proc = start(WRITERS[writer], env)
        wait_for(lambda: len(emulator.data_requests()) > 0 and write_locked(store))
        first = run_kpijmf(OFFLINE, env)
        inside = proc.poll() is None and write_locked(store)  # the writer's transaction outlived the reader
        readers = []
        while proc.poll() is None and len(readers) < 3:
            readers.append(start(OFFLINE, env))
            time.sleep(0.3)
        done = finish(proc)
        answers = [first, *(finish(reader) for reader in readers)]
        after = run_kpijmf(OFFLINE, env)
    assert done.code == 0, done.stderr
    assert after.code == 0 and after.stdout != before
    assert_calm(done, *answers)
    for answer in answers:
        assert answer.code == 0, answer.stderr
        assert answer.stdout in (before, after.stdout)
    if writer == "fetch":  # one transaction from the first batch to the end: the reader ran inside it
        assert inside
        assert first.stdout == before
    assert integrity(store) == "ok"
