"""The observation table keeps a cell's genders in one row: they merge, go one by one, and a schema 1 store (a row
per gender) is rewritten in place with nothing lost."""

import sqlite3

import pytest

from kpijmf.errors import StoreError
from kpijmf.kolada.client import DataEntry, DataRow
from kpijmf.store.db import SCHEMA_VERSION, FetchLogEntry, Store
from kpijmf.store.writer import Block
from tests.support import observations

LOG = FetchLogEntry("2026-11-23T10:00:00Z", "fetch", ["N03926"], 1, [2021], None, 1, 100)
SCOPE = [Block(["N03926"], [2021], ["2380", "2480"])]
DAY1, DAY2 = "2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z"


def rec(unit, gender, value, *, status="", deleted=False, year=2021):
    """A data row with one value."""
    return DataRow("N03926", unit, year, (DataEntry(gender, value, 7, status, deleted),))


def stored(store):
    frame = store.observations(["N03926"])
    return {
        (r.unit_id, r.gender): (None if r.value != r.value else r.value, r.status, r.fetched_at)
        for r in frame.itertuples()
    }


def rows(store):
    return store._conn.execute("SELECT COUNT(*) FROM observation").fetchone()[0]


@pytest.mark.parametrize("first", [True, False], ids=["first-fetch", "full-fetch"])
def test_a_cells_genders_share_a_row_and_merge_when_they_come_in_separate_rows(store, first):
    records = [rec("2380", "T", 3.0), rec("2480", "T", 1.0), rec("2380", "K", 2.5), rec("2380", "M", None)]
    with store.writer(DAY1, first=first) as writer:
        writer.add(records[:2])
        writer.add(records[2:])
        writer.finish(SCOPE)

    assert stored(store) == {
        ("2380", "T"): (3.0, "", DAY1),
        ("2380", "K"): (2.5, "", DAY1),
        ("2380", "M"): (None, "", DAY1),  # published as null: kept, unlike a gender Kolada did not send
        ("2480", "T"): (1.0, "", DAY1),
    }
    assert rows(store) == 2 and store.info()["counts"]["observation"] == 4


def test_a_change_feed_row_with_one_gender_keeps_the_others_and_its_withdrawal_removes_only_that_one(store):
    store.write_data([rec("2380", "T", 3.0), rec("2380", "K", 2.5), rec("2380", "M", 3.5)], SCOPE, DAY1, LOG)

    store.write_data([rec("2380", "K", 2.6, status="Reviderat")], [], DAY2, LOG, incremental=True)
    assert stored(store) == {
        ("2380", "T"): (3.0, "", DAY2),  # the cell's row came again: its time is the row's
        ("2380", "K"): (2.6, "Reviderat", DAY2),
        ("2380", "M"): (3.5, "", DAY2),
    }

    store.write_data([rec("2380", "M", None, deleted=True)], [], DAY2, LOG, incremental=True)
    assert set(stored(store)) == {("2380", "T"), ("2380", "K")}
    assert [(r["gender"], r["old_value"], r["kind"]) for r in store.revisions()] == [
        ("K", 2.5, "changed"),
        ("M", 3.5, "removed"),
    ]


def test_a_refetch_without_some_genders_removes_them_and_a_cell_left_with_none_is_deleted(store):
    store.write_data([rec("2380", "T", 3.0), rec("2380", "K", 2.5), rec("2480", "T", 1.0)], SCOPE, DAY1, LOG)

    summary = store.write_data([rec("2380", "K", 2.5)], SCOPE, DAY2, LOG)

    assert stored(store) == {("2380", "K"): (2.5, "", DAY2)}
    assert summary.removed == 2 and rows(store) == 1
    assert sorted((r["unit_id"], r["gender"], r["kind"]) for r in store.revisions()) == [
        ("2380", "T", "removed"),
        ("2480", "T", "removed"),
    ]


def test_reading_only_some_genders_leaves_cells_without_them_out(store):
    store.write_data([rec("2380", "K", 2.5), rec("2480", "T", 1.0), rec("2480", "M", 0.5)], SCOPE, DAY1, LOG)

    frame = store.observations(["N03926"], genders=["T"])

    assert list(zip(frame.unit_id, frame.gender, strict=True)) == [("2480", "T")]
    assert store.observations(["N03926"], genders=[]).empty


# -- schema 1 ---------------------------------------------------------------------------------------

SCHEMA_1_OBSERVATION = """CREATE TABLE observation (
    kpi TEXT NOT NULL, year INTEGER NOT NULL, unit_id TEXT NOT NULL, gender TEXT NOT NULL,
    value REAL, count INTEGER, status TEXT NOT NULL DEFAULT '', fetched_at TEXT NOT NULL,
    PRIMARY KEY (kpi, year, unit_id, gender)) WITHOUT ROWID"""
SCHEMA_1_ROWS = [
    ("N03926", 2021, "2380", "T", 3.2, 10, "", DAY1),
    ("N03926", 2021, "2380", "K", 2.9, 4, "", DAY2),
    ("N03926", 2021, "2380", "M", None, None, "Saknas", DAY2),
    ("N03926", 2020, "2380", "T", 3.0, None, "", DAY1),
    ("U40455", 2021, "G51948", "T", 38.9, 21, "", DAY1),
]


def schema_1_store(path, rows=SCHEMA_1_ROWS):
    """A store as kpijmf with schema 1 wrote it: today's store with that observation table and version."""
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE observation")
        conn.execute(SCHEMA_1_OBSERVATION)
        conn.executemany("INSERT INTO observation VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute(
            "INSERT INTO revision (kpi, year, unit_id, gender, old_value, new_value, old_fetched_at, seen_at, kind) "
            "VALUES ('N03926', 2021, '2380', 'T', 3.1, 3.2, ?, ?, 'changed')",
            (DAY1, DAY2),
        )
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()


def test_a_schema_1_store_is_rewritten_in_place_with_every_value_and_revision_kept(tmp_path):
    path = tmp_path / "store" / "kpijmf.sqlite"
    schema_1_store(path)

    with Store.open(path) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "2"
        frame = store.observations(["N03926", "U40455"])
        read = {(r.kpi, r.year, r.unit_id, r.gender): (r.value, r.count, r.status, r.fetched_at)
                for r in frame.fillna(-1).itertuples()}  # fmt: skip
        assert [r["new_value"] for r in store.revisions()] == [3.2]
        assert store.info()["counts"]["observation"] == 5

    assert read == {
        ("N03926", 2021, "2380", "T"): (3.2, 10, "", DAY2),  # the cell's newest time
        ("N03926", 2021, "2380", "K"): (2.9, 4, "", DAY2),
        ("N03926", 2021, "2380", "M"): (-1, -1, "Saknas", DAY2),
        ("N03926", 2020, "2380", "T"): (3.0, -1, "", DAY1),
        ("U40455", 2021, "G51948", "T"): (38.9, 21, "", DAY1),
    }
    assert observations(path.parent) == {key[:4]: value for key, value in
                                         ((r[:4], r[4]) for r in SCHEMA_1_ROWS)}  # fmt: skip


def test_a_schema_1_store_with_a_gender_this_kpijmf_cannot_keep_is_left_as_it_was(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    schema_1_store(path, [*SCHEMA_1_ROWS, ("N03926", 2021, "2380", "X", 1.0, None, "", DAY1)])
    before = path.read_bytes()

    refused = r"cannot read the store .*\(schema 1\): it holds values of a gender other than T, K, M \(1\)"
    with pytest.raises(StoreError, match=refused):
        Store.open(path)

    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM observation").fetchone()[0] == 6
    conn.close()


@pytest.mark.parametrize("first", [True, False], ids=["first-fetch", "full-fetch"])
def test_a_data_row_as_kolada_sends_it_is_one_observation_row_and_a_value_sent_twice_counts_once(store, first):
    row = DataRow("N03926", "2380", 2021, (
        DataEntry("M", 3.5, 4, None), DataEntry("T", 3.0, 9, "Preliminärt"), DataEntry("K", None, None, ""),
        DataEntry("T", 3.1, 9, None), DataEntry("K", 9.9, 1, "", deleted=True),
    ))  # fmt: skip
    with store.writer(DAY1, first=first) as writer:
        writer.add([row])
        summary = writer.finish(SCOPE)

    assert stored(store) == {
        ("2380", "T"): (3.1, "", DAY1),  # the later of the two
        ("2380", "K"): (None, "", DAY1),  # a full fetch carries no withdrawals: the mark is ignored
        ("2380", "M"): (3.5, "", DAY1),
    }
    assert summary.rows == 3 and rows(store) == 1
