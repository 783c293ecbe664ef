"""End to end: `kpijmf cache clear` keeps the revision history unless --all, and a damaged store is set aside
or reported with its exact reason (exit 6), never deleted unasked."""

from __future__ import annotations

import contextlib
import io
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.reliability_support import copy_store, error_line
from tests.support import kpijmf_env, run_kpijmf

FETCH = ["fetch", "--kpi", "N03926,N40011", "--years", "2019-2022", "--kommun", "2380"]
COMPARE = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "--offline", "-f", "csv"]


@pytest.fixture(scope="module")
def revised(tmp_path_factory):
    """A store fetched, then refreshed after Kolada revised 10% of the values."""
    with EmulatorServer(small_universe()) as emulator:
        base = tmp_path_factory.mktemp("cache") / "base"
        env = kpijmf_env(emulator.url, base)
        assert run_kpijmf(FETCH, env).code == 0
        emulator.universe.mutate_fraction(0.10, date.today(), seed=5)
        assert run_kpijmf(["refresh"], env).code == 0
        yield emulator, base


def _revisions(env: dict[str, str]) -> str:
    """The revisions as CSV, without the unit and KPI titles (metadata that `cache clear` removes)."""
    run = run_kpijmf(["revisions", "-f", "csv"], env)
    assert run.code == 0, run.stderr
    listed = pd.read_csv(io.StringIO(run.stdout), dtype=str)
    return listed.drop(columns=["unit_title", "kpi_title", "kpi_unit"]).to_csv(index=False)


def test_cache_clear_keeps_the_revisions_and_says_what_it_removed(revised, tmp_path):
    emulator, base = revised
    env = kpijmf_env(emulator.url, copy_store(base, tmp_path / "store"))
    listed = _revisions(env)
    assert listed.count("\n") > 10
    cleared = run_kpijmf(["cache", "clear"], env)
    assert cleared.code == 0, cleared.stderr
    assert cleared.stderr.startswith("tog bort ") and " värden" in cleared.stderr
    kept = int(cleared.stderr.split("behöll ")[1].split(" revideringar")[0].replace("\u00a0", ""))
    assert kept == listed.count("\n") - 1  # every listed revision, header aside
    assert _revisions(env) == listed
    assert run_kpijmf(COMPARE, env).code == 6  # the values are gone from the store


def test_cache_clear_all_deletes_the_history_too(revised, tmp_path):
    emulator, base = revised
    store = copy_store(base, tmp_path / "store")
    env = kpijmf_env(emulator.url, store)
    cleared = run_kpijmf(["cache", "clear", "--all"], env)
    assert cleared.code == 0, cleared.stderr
    assert "(revideringshistoriken också)" in cleared.stderr
    assert not (store / "kpijmf.sqlite").exists()
    assert _revisions(env).count("\n") <= 1


def test_cache_clear_moves_a_damaged_store_aside_instead_of_deleting_it(revised, tmp_path):
    emulator, base = revised
    store = copy_store(base, tmp_path / "store")
    path = store / "kpijmf.sqlite"
    _execute(path, "UPDATE meta SET value = 'x' WHERE key = 'schema_version'")
    damaged = path.read_bytes()
    env = kpijmf_env(emulator.url, store)
    cleared = run_kpijmf(["cache", "clear"], env)
    assert cleared.code == 0, cleared.stderr
    (aside,) = store.glob("kpijmf.sqlite.damaged-*")
    assert aside.read_bytes() == damaged and str(aside) in cleared.stderr
    assert run_kpijmf(FETCH, env).code == 0


def _execute(path: Path, sql: str) -> None:
    """Run one statement and close, so SQLite folds the change into the file itself."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(sql)


def _schema_version_not_a_number(path: Path) -> None:
    _execute(path, "UPDATE meta SET value = 'v1' WHERE key = 'schema_version'")


def _path_is_a_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _text_in_observation(path: Path) -> None:
    _execute(path, "UPDATE observation SET t_value = 'n/a' WHERE unit_id = '2380'")


@pytest.mark.parametrize(
    ("harm", "reason"),
    [
        (_schema_version_not_a_number, "its schema_version is 'v1', not a number"),
        (_path_is_a_folder, "is a folder, not a store file"),
        (_text_in_observation, "its observation table holds text where numbers belong"),
    ],
    ids=["schema-version-text", "path-is-a-folder", "observation-text"],
)
def test_damaged_store_exits_6_with_its_exact_reason_in_one_line(revised, tmp_path, harm, reason):
    emulator, base = revised
    store = copy_store(base, tmp_path / "store")
    harm(store / "kpijmf.sqlite")
    run = run_kpijmf(COMPARE, kpijmf_env(emulator.url, store))
    assert run.code == 6
    line = error_line(run)
    assert reason in line and str(store / "kpijmf.sqlite") in line


def test_store_in_the_former_default_cache_dir_moves_to_the_data_dir_with_its_history(revised, tmp_path):
    emulator, base = revised
    former = copy_store(base, tmp_path / "xdg-cache" / "kpijmf")
    pinned = kpijmf_env(emulator.url, former)  # KPIJMF_CACHE_DIR set: the store stays exactly where it is
    listed = _revisions(pinned)
    assert run_kpijmf(["cache", "path"], pinned).stdout.strip() == str(former / "kpijmf.sqlite")
    assert (former / "kpijmf.sqlite").exists()
    env = {k: v for k, v in pinned.items() if k != "KPIJMF_CACHE_DIR"}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "xdg-cache"), "XDG_DATA_HOME": str(tmp_path / "xdg-data")}
    moved_to = tmp_path / "xdg-data" / "kpijmf" / "kpijmf.sqlite"
    assert run_kpijmf(["cache", "path"], env).stdout.strip() == str(moved_to)
    assert moved_to.exists() and not (former / "kpijmf.sqlite").exists()
    assert _revisions(env) == listed
    answer = run_kpijmf(COMPARE, env)
    assert answer.code == 0, answer.stderr
    assert not list(former.glob("kpijmf.sqlite*"))  # nothing left behind, nothing moved back
