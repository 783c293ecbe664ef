"""The SQLite store: one transaction per write, revisions kept, damaged files reported with a way out."""

import os
import sqlite3

import pytest

from kpijmf.errors import StoreBusyError, StoreError
from kpijmf.kolada.client import DataEntry, DataRow
from kpijmf.store.advice import DamagedStoreError
from kpijmf.store.db import SCHEMA_VERSION, FetchLogEntry, Store, remove_store_files
from kpijmf.store.lock import store_lock
from kpijmf.store.writer import Block

LOG = FetchLogEntry("2026-11-23T10:00:00Z", "fetch", ["N03926"], 2, [2020, 2021], None, 1, 100)
SCOPE = [Block(["N03926"], [2020, 2021], ["2380", "2480"])]


def rec(unit, year, value, gender="T", deleted=False):
    """A data row with one value."""
    return DataRow("N03926", unit, year, (DataEntry(gender, value, 1, "", deleted),))


FIRST = [rec("2380", 2020, 3.0), rec("2380", 2021, 3.2), rec("2480", 2020, 2.0), rec("2480", 2021, None)]


def values(store):
    frame = store.observations(["N03926"])
    return {(r.unit_id, r.year, r.gender): (None if r.value != r.value else r.value) for r in frame.itertuples()}


def test_new_store_is_wal_with_schema_version(store):
    assert store.get_meta("schema_version") == str(SCHEMA_VERSION)
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_metadata_round_trip(store):
    store.write_metadata(
        [{"id": "N03926", "title": "Långtidsarbetslösa", "is_divided_by_gender": True}],
        [{"id": "2380", "title": "Östersund", "type": "K"}],
        [{"id": "G2328", "title": "Alla kommuner", "members": [{"member_id": "2380", "member_title": "Östersund"}]}],
        "2026-11-23T10:00:00Z",
    )
    assert store.kpis()[0]["title"] == "Långtidsarbetslösa"
    assert store.municipalities() == [{"id": "2380", "title": "Östersund", "type": "K"}]
    assert store.groups() == [{"id": "G2328", "title": "Alla kommuner", "members": ("2380",)}]
    assert store.metadata_fetched_at() == "2026-11-23T10:00:00Z"


def test_a_partial_kpi_write_keeps_the_kpis_stored_before(store):
    store.write_metadata(
        [{"id": "N03926", "title": "A"}, {"id": "N40011", "title": "B"}], [], [], "2026-11-23T10:00:00Z"
    )
    store.write_kpis([{"id": "U40455", "title": "C"}, {"id": "N03926", "title": "A, renamed"}])
    store.write_metadata([{"id": "N02797", "title": "D"}], [], [], "2026-11-24T10:00:00Z")
    assert {k["id"]: k["title"] for k in store.kpis()} == {
        "N02797": "D", "N03926": "A, renamed", "N40011": "B", "U40455": "C"
    }  # fmt: skip
    assert store.kpi_catalogue_fetched_at() is None  # only KPIs asked for by id
    assert store.kpi_ids(["N40011", "N99999"]) == {"N40011"} and store.kpi_ids([]) == set()


def test_the_whole_catalogue_replaces_the_stored_kpis_and_is_dated(store):
    store.write_kpis([{"id": "N17434", "title": "Removed since"}])
    store.write_metadata([{"id": "N03926", "title": "A"}], [], [], "2026-11-23T10:00:00Z", catalogue=True)
    assert [k["id"] for k in store.kpis()] == ["N03926"]
    assert store.kpi_catalogue_fetched_at() == "2026-11-23T10:00:00Z"
    assert store.info()["kpi_catalogue_fetched_at"] == "2026-11-23T10:00:00Z"
    store.write_kpis([{"id": "N99998", "title": "Published since"}])  # by id, into the whole catalogue
    assert store.kpi_ids() == {"N03926", "N99998"} and store.kpi_catalogue_fetched_at() == "2026-11-23T10:00:00Z"
    store.clear()
    assert store.kpi_catalogue_fetched_at() is None


def test_kpis_asked_for_by_id_that_kolada_lacked_are_kept_absent_until_found_or_the_catalogue_comes(store):
    store.write_kpis([{"id": "N03926", "title": "A"}], asked=["N03926", "N99998", "N99999"])
    assert store.kpis_absent() == {"N99998", "N99999"}
    store.write_metadata([{"id": "N99998", "title": "Published since"}], [], [], "2026-11-24T10:00:00Z",
                         asked=["N99998"])  # fmt: skip
    assert store.kpis_absent() == {"N99999"} and store.kpi_ids() == {"N03926", "N99998"}
    store.write_kpis([{"id": "N03926", "title": "A"}], catalogue_at="2026-11-25T10:00:00Z")
    assert store.kpis_absent() == set()  # the whole catalogue settles every id
    store.write_kpis([], asked=["N99999"])
    store.clear()
    assert store.kpis_absent() == set()


def test_null_value_is_stored_as_missing_and_cells_are_covered(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    assert values(store)[("2480", 2021, "T")] is None
    assert store.covered_cells(["N03926"], [2020, 2021]) == {
        ("N03926", y, u) for y in (2020, 2021) for u in ("2380", "2480")
    }


def test_full_rewrite_keeps_changed_and_removed_values_as_revisions(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    second = [rec("2380", 2020, 3.0), rec("2380", 2021, 3.4), rec("2480", 2021, None)]
    summary = store.write_data(second, SCOPE, "2026-11-24T10:00:00Z", LOG)
    assert (summary.changed, summary.removed) == (1, 1)
    revisions = {(r["unit_id"], r["year"]): (r["old_value"], r["new_value"], r["kind"]) for r in store.revisions()}
    assert revisions == {("2380", 2021): (3.2, 3.4, "changed"), ("2480", 2020): (2.0, None, "removed")}
    assert ("2480", 2020, "T") not in values(store)


@pytest.mark.parametrize("json_each", [True, False], ids=["json_each", "row by row"])
def test_first_write_inserts_last_of_duplicates_and_covers_every_block_cell(store, monkeypatch, json_each):
    monkeypatch.setattr("kpijmf.store.writer.sqlite_has_json", lambda: json_each)
    blocks = [Block(["N03926"], [2020], ["2380", "2480"]), Block(["N03926", "N03927"], [2021], ["2380"])]
    records = [*FIRST, rec("2380", 2020, 3.5), rec("2480", 2020, 9.0, deleted=True)]
    with store.atomic(), store.writer("2026-11-23T10:00:00Z", first=True) as writer:
        writer.add(records[:3])
        writer.add(records[3:])
        summary = writer.finish(blocks)
    assert values(store)[("2380", 2020, "T")] == 3.5
    assert values(store)[("2480", 2020, "T")] == 2.0  # a full fetch carries no withdrawals: ignored
    assert (summary.changed, summary.removed) == (0, 0)
    assert store.covered_cells(["N03926", "N03927"], [2020, 2021]) == {
        ("N03926", 2020, "2380"), ("N03926", 2020, "2480"), ("N03926", 2021, "2380"), ("N03927", 2021, "2380")
    }  # fmt: skip
    assert store.revisions() == []


def test_first_write_may_cover_its_blocks_ahead_of_the_records_and_finish_covers_only_the_rest(store):
    ahead, later = Block(["N03926"], [2020], ["2380", "2480"]), Block(["N03926"], [2021], ["2380"])
    with store.atomic(), store.writer("2026-11-23T10:00:00Z", first=True) as writer:
        writer.cover_ahead([ahead])
        assert store.covered_cells(["N03926"], [2020, 2021]) == {("N03926", 2020, "2380"), ("N03926", 2020, "2480")}
        writer.add(FIRST)
        writer.finish([ahead, later])
    assert store.covered_cells(["N03926"], [2020, 2021]) == {
        ("N03926", 2020, "2380"), ("N03926", 2020, "2480"), ("N03926", 2021, "2380")
    }  # fmt: skip
    assert values(store)[("2380", 2021, "T")] == 3.2


def test_coverage_waits_for_the_records_outside_first_mode(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    with store.atomic(), store.writer("2026-11-24T10:00:00Z") as writer, pytest.raises(ValueError, match="first"):
        writer.cover_ahead(SCOPE)  # a full rewrite settles removals against the coverage before it is renewed


def test_writes_of_more_rows_than_one_statement_takes_store_every_row(store):
    units = [f"{n:04d}" for n in range(1, 126)]  # 250 values: two statements of 100 rows and one of 50
    records = [rec(u, y, float(n)) for n, (u, y) in enumerate((u, y) for u in units for y in (2020, 2021))]
    for first in (True, False):
        with store.atomic(), store.writer("2026-11-23T10:00:00Z", first=first) as writer:
            writer.add(records)
            summary = writer.finish([Block(["N03926"], [2020, 2021], units)])
        assert summary.rows == 250
        assert len(values(store)) == 250 and values(store)[("0125", 2021, "T")] == 249.0


def test_incremental_write_touches_only_given_keys_and_deletes_withdrawn(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    changes = [rec("2380", 2021, 3.3), rec("2480", 2020, None, deleted=True)]
    store.write_data(changes, [], "2026-11-24T10:00:00Z", LOG, incremental=True)
    stored = values(store)
    assert stored[("2380", 2021, "T")] == 3.3
    assert stored[("2380", 2020, "T")] == 3.0
    assert ("2480", 2020, "T") not in stored
    assert len(store.revisions(since="2026-11-24")) == 2


def test_values_received_again_unchanged_are_not_revisions_nor_touched(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    again = [rec("2380", 2020, 3.0 + 1e-12), rec("2480", 2021, None), rec("2380", 2021, 3.4), rec("0180", 2021, 1.0)]
    with store.writer("2026-11-24T10:00:00Z", incremental=True) as writer:
        writer.add(again)
        summary = writer.finish([])
    assert summary.changed == 1
    assert writer.touched == {("N03926", 2021, "2380"), ("N03926", 2021, "0180")}  # changed, and appeared
    assert [(r["unit_id"], r["year"]) for r in store.revisions()] == [("2380", 2021)]


def test_observations_stamped_for_some_units_keep_every_status(store):
    records = [DataRow("N03926", u, 2020, (DataEntry("T", None, 0, "Missing"),)) for u in ("2380", "2480")]
    store.write_data(records, [Block(["N03926"], [2020], ["2380", "2480"])], "2026-11-23T10:00:00Z", LOG)
    frame = store.observations(["N03926"], stamped=["2380"]).set_index("unit_id")
    assert frame["status"].to_dict() == {"2380": "Missing", "2480": "Missing"}
    assert frame["fetched_at"].to_dict() == {"2380": "2026-11-23T10:00:00Z", "2480": ""}


def test_years_with_data_are_the_latest_with_a_value_down_to_the_oldest_stored(store):
    records = [rec("2380", y, None if y == 2016 else 1.0) for y in (1991, 2015, 2016, 2017)]
    store.write_data(records, [Block(["N03926"], [1991, 2015, 2016, 2017], ["2380"])], "2026-11-23T10:00:00Z", LOG)
    assert store.years_with_data(["N03926"], 2, 2026) == [2015, 2017]
    assert store.years_with_data(["N03926"], 9, 2026) == [1991, 2015, 2017]
    assert store.years_with_data(["N40011"], 4, 2026) == []


def test_failed_write_leaves_previous_content(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    before = values(store)
    broken = [rec("2380", 2021, 9.9), rec("2480", 2021, object())]  # cannot be bound: fails mid-transaction
    with pytest.raises(sqlite3.ProgrammingError):
        store.write_data(broken, SCOPE, "2026-11-24T10:00:00Z", LOG)
    assert values(store) == before
    assert store.revisions() == []


def test_random_bytes_file_gives_store_error_with_recovery(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 200)
    with pytest.raises(StoreError, match="cache clear"):
        Store.open(path)


def test_truncated_store_gives_store_error(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    with Store.open(path) as store:
        store.write_data(FIRST * 1, SCOPE, "2026-11-23T10:00:00Z", LOG)
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(StoreError, match="cache clear"), Store.open(path) as store:
        store.observations(["N03926"])
        store.info()


def test_store_from_a_newer_kpijmf_is_refused(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    with Store.open(path) as store:
        store._conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer kpijmf"):
        Store.open(path)


def test_foreign_sqlite_file_is_not_taken_for_a_store(tmp_path):
    path = tmp_path / "other.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(StoreError, match="not a kpijmf store"):
        Store.open(path)


def test_remove_store_files_works_on_a_corrupt_file(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    path.write_bytes(b"garbage")
    assert remove_store_files(path) == [path]
    assert not path.exists()


def test_empty_store_file_is_reported_not_silently_started_afresh(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=r"empty file \(0 bytes\).*cache clear"):
        Store.open(path)
    assert path.read_bytes() == b""  # left as it was, for the user to inspect or restore


def test_store_interrupted_while_being_created_leaves_nothing_behind(tmp_path):
    class Interrupted(Store):
        def _prepare(self):
            raise KeyboardInterrupt

    path = tmp_path / "kpijmf.sqlite"
    with pytest.raises(KeyboardInterrupt):
        Interrupted.open(path)
    assert list(tmp_path.iterdir()) == []  # no half-made (empty) store that the next run would refuse
    with Store.open(path) as store:
        assert store.integrity_ok()


def test_store_that_cannot_be_written_says_nothing_is_lost_and_not_to_move_it(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    store._conn.execute("PRAGMA query_only = ON")  # SQLite now answers writes as it does for a read-only file
    with pytest.raises(StoreError) as caught:
        store.mark_refreshed(["N03926"], "2026-11-24")
    message = str(caught.value)
    assert "cannot be written" in message and "nothing in the store is lost" in message
    assert "free disk space or fix the permissions" in message
    assert "aside" not in message and "damaged" not in message
    assert not isinstance(caught.value, DamagedStoreError)


def test_schema_version_that_is_not_a_number_is_reported_as_damage(tmp_path):
    path = tmp_path / "kpijmf.sqlite"
    with Store.open(path) as store:
        store._conn.execute("UPDATE meta SET value = 'one' WHERE key = 'schema_version'")
    with pytest.raises(DamagedStoreError, match=r"damaged: its schema_version is 'one', not a number; move .* aside"):
        Store.open(path)


def test_store_path_that_is_a_folder_is_reported_as_such(tmp_path):
    (tmp_path / "kpijmf.sqlite").mkdir()
    with pytest.raises(StoreError, match=r"is a folder, not a store file"):
        Store.open(tmp_path / "kpijmf.sqlite")


def test_text_where_numbers_belong_is_reported_as_damage_on_read_and_on_write(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    store._conn.execute("UPDATE observation SET t_value = 'lots' WHERE unit_id = '2380' AND year = 2020")
    with pytest.raises(DamagedStoreError, match="observation table holds text where numbers belong"):
        store.observations(["N03926"])
    with pytest.raises(DamagedStoreError, match="observation table holds text where numbers belong"):
        store.write_data([rec("2380", 2020, 1.0)], [], "2026-11-24T10:00:00Z", LOG, incremental=True)
    assert values_raw(store)[("2380", 2020)] == "lots"  # rolled back, left for the user to inspect


def values_raw(store):
    return {(u, y): v for u, y, v in store._conn.execute("SELECT unit_id, year, t_value FROM observation")}


def test_clear_keeps_revisions_and_the_fetch_log_and_removes_the_rest(store):
    store.write_data(FIRST, SCOPE, "2026-11-23T10:00:00Z", LOG)
    store.write_data([rec("2380", 2020, 9.0)], [], "2026-11-24T10:00:00Z", LOG, incremental=True)
    store.write_metadata([{"id": "N03926", "title": "x"}], [], [], "2026-11-23T10:00:00Z")
    removed = store.clear()
    assert removed["observation"] == 4 and removed["coverage"] == 4 and removed["kpi"] == 1
    assert [(r["unit_id"], r["old_value"], r["new_value"]) for r in store.revisions()] == [("2380", 3.0, 9.0)]
    assert store.info()["counts"]["fetch_log"] == 2
    assert store.observations(["N03926"]).empty and store.metadata_fetched_at() is None


def test_store_layer_imports_no_upper_layer_and_the_cli_no_store():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "kpijmf"

    def imported(folder: str) -> set[str]:
        names = set()
        for path in (root / folder).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
        return names

    upper = ("kpijmf.domain", "kpijmf.service", "kpijmf.cli", "kpijmf.compare", "kpijmf.output", "kpijmf.api")
    assert not [m for m in imported("store") if m.startswith(upper)]
    assert not [m for m in imported("cli") if m.startswith("kpijmf.store") or m == "sqlite3"]


@pytest.mark.parametrize(
    ("lang", "told"),
    [
        ("sv", "väntar upp till 0,2 s på att pid {pid} (kpijmf fetch, since "),
        ("en", "waiting up to 0.2 s for pid {pid}"),
    ],
)
def test_a_second_writer_is_told_in_the_runs_language_what_it_waits_for(tmp_path, monkeypatch, lang, told):
    monkeypatch.setenv("KPIJMF_LANG", lang)
    heard: list[str] = []
    with (
        store_lock(tmp_path, "fetch", 5),
        pytest.raises(StoreBusyError, match="still in use by pid"),
        store_lock(tmp_path, "refresh", 0.2, heard.append),
    ):
        pass
    assert len(heard) == 1 and heard[0].startswith(told.format(pid=os.getpid()))
