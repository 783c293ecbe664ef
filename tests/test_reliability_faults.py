"""End to end, the fault matrix: `fetch`, `compare` (data missing, so it must fetch) and `refresh` (after
Kolada changed) against every way Kolada or the network can fail. There are exactly two outcomes:

- success after bounded retries, with a store identical to a fault-free run's; or
- exit 4 with one stderr line naming the URL and the cause, and the store exactly as it was.

A fault that passes (429 with Retry-After, 503, a connection dropped mid-body, an answer slower than
KPIJMF_TIMEOUT) is retried. The same faults without end, an unreachable host, and faults no retry can
fix (invalid JSON, an HTML page with status 200, 410, 422: not retried at all) exit 4 and leave the store
alone, including the bookkeeping (`refresh_state`) a later refresh starts from, and including batches
that had already arrived. An empty `values` list is a real answer ("no data"): the cells are stored as
fetched without values, and compare says so.

With every setting at its default, a fetch through a mixed storm (429 every 3rd request, 503 every 4th, a
dropped connection every 5th, 500 every 7th) and one through a Kolada restart (every connection refused for
the first seconds) store exactly what a clean fetch stores.

Each case runs against its own emulator (a slow answer still in flight must not leak into the next
case), and the cases run in parallel in one module fixture, so the whole matrix takes well under a minute.
"""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tests.emulator import EmulatorServer, Fault, RequestRecord, small_universe
from tests.reliability_support import copy_store, error_line, integrity, table
from tests.support import Run, kpijmf_env, run_kpijmf, store_digest

BASE_FETCH = ["fetch", "--kpi", "N03926", "--years", "2019-2021"]
REFRESH_BASE_FETCH = ["fetch", "--kpi", "N03926,U40455,N40011", "--years", "2019-2024", "--kommun", "2380"]
COMMANDS = {
    "fetch": ["fetch", "--kpi", "N03926,U40455", "--years", "2019-2021", "--kommun", "2380"],
    "compare": ["compare", "--kommun", "2380", "--kpi", "N03926,U40455", "--years", "2019-2021", "-f", "csv"],
    "refresh": ["refresh"],
}
OFFLINE_COMPARE = [*COMMANDS["compare"], "--offline"]
# Few tries keep the matrix fast; the retry logic is the same as with the defaults.
RETRYING = {"KPIJMF_MAX_TRIES": "3", "KPIJMF_RETRY_BUDGET": "10", "KPIJMF_TIMEOUT": "2"}
GIVING_UP = {"KPIJMF_MAX_TRIES": "2", "KPIJMF_RETRY_BUDGET": "10", "KPIJMF_TIMEOUT": "2"}
SLOW = Fault("slow", seconds=2)
SHORT_TIMEOUT = {"KPIJMF_TIMEOUT": "0.5"}
UNREACHABLE = "http://127.0.0.1:9/v3"
# fetch and compare ask for U40455 for the 20 stored units first, then for both KPIs for the 4 peer groups
LATE_BATCH = "/data/kpi/N03926,U40455/"


# The prepared store was last refreshed ten days ago; Kolada changed things five days ago. A refresh that
# failed but still moved the date forward would make the next one miss those changes.
LAST_REFRESH = date.today() - timedelta(days=10)
CHANGED = date.today() - timedelta(days=5)


def kolada_changes(universe) -> None:
    """What Kolada published since the last refresh: revisions, a withdrawal, a new year."""
    universe.mutate_fraction(0.05, CHANGED, seed=3)
    universe.delete("U40455", "2480", 2022, CHANGED)
    universe.add_year("N40011", 2025, CHANGED)


def universe_for(command: str):
    """The emulator's content for a command: as fetched, or (refresh) changed since."""
    universe = small_universe()
    if command == "refresh":
        kolada_changes(universe)
    return universe


@dataclass(frozen=True)
class Case:
    """A command run once against a fault (`times` None: without end), then `followups` without faults."""

    command: str
    fault: Fault | None = None
    times: int | None = 2
    env: dict[str, str] = field(default_factory=dict)
    api_url: str | None = None  # instead of the emulator's
    path: str = "/data/"
    args: list[str] | None = None  # instead of COMMANDS[command]
    fresh_store: bool = False  # start from no store instead of the prepared one
    followups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Step:
    """One run of a case and what it left: the store's digest, bookkeeping, metadata row counts, integrity,
    and the data requests the emulator saw."""

    run: Run
    digest: str
    bookkeeping: tuple
    metadata_rows: tuple[int, ...]
    integrity: str
    data_requests: list[RequestRecord]


@dataclass(frozen=True)
class Outcome:
    """A case's steps, the emulator URL it used and the store before the first step."""

    url: str
    before: str
    kept: tuple
    steps: list[Step]
    store: Path


def bookkeeping(cache_dir: Path) -> tuple:
    """What a later refresh starts from (per-KPI refresh dates) and how many fetches were logged."""
    if not (cache_dir / "kpijmf.sqlite").exists():
        return ()
    return tuple(table(cache_dir, "SELECT * FROM refresh_state ORDER BY kpi")), table(
        cache_dir, "SELECT COUNT(*) FROM fetch_log"
    )[0][0]


def _step(run: Run, store: Path, emulator: EmulatorServer) -> Step:
    if not (store / "kpijmf.sqlite").exists():
        return Step(run, store_digest(store), (), (), "no store", emulator.data_requests())
    rows = tuple(table(store, f"SELECT COUNT(*) FROM {name}")[0][0] for name in ("kpi", "municipality", "muni_group"))
    return Step(run, store_digest(store), bookkeeping(store), rows, integrity(store), emulator.data_requests())


def _run_case(case: Case, prepared: dict[str, Path], root: Path) -> Outcome:
    with EmulatorServer(universe_for(case.command)) as emulator:
        store = root / "store"
        if not case.fresh_store:
            copy_store(prepared[case.command], store)
        before, kept = store_digest(store), bookkeeping(store)
        if case.fault is not None:
            emulator.inject(case.fault, times=case.times, path_contains=case.path)
        env = kpijmf_env(case.api_url or emulator.url, store, **case.env)
        run = run_kpijmf(case.args or COMMANDS[case.command], env)
        if case.fault is not None and case.fault.kind == "slow":
            # The emulator logs an answer when it sends it; one kpijmf gave up on is sent after kpijmf is done.
            time.sleep(case.fault.delay)
        steps = [_step(run, store, emulator)]
        emulator.clear_faults()
        for args in case.followups:
            emulator.reset_log()
            steps.append(_step(run_kpijmf(list(args), kpijmf_env(emulator.url, store)), store, emulator))
        return Outcome(emulator.url, before, kept, steps, store)


TRANSIENT = {
    "429-retry-after": (Fault("429", retry_after=0.3), {}),
    "503": (Fault("503"), {}),
    "dropped-mid-body": (Fault("drop"), {}),
    "slower-than-timeout": (SLOW, SHORT_TIMEOUT),
}
GIVE_UP = {  # id: fault, times, env, the cause the message names
    "429-without-end": (Fault("429", retry_after=0.3), None, {}, "429 Too Many Requests"),
    "503-without-end": (Fault("503"), None, {}, "503 Service Unavailable"),
    "dropped-without-end": (Fault("drop"), None, {}, "closed connection"),
    "slow-without-end": (SLOW, None, SHORT_TIMEOUT, "timed out after 0.5 s"),
    # Retrying cannot fix these, so even one of them ends the command.
    "truncated-json-once": (Fault("truncated"), 1, {}, "invalid JSON"),
    "html-with-200-once": (Fault("html"), 1, {}, "but got text/html"),
    "410-once": (Fault("410"), 1, {}, "410 Gone"),
    "422-once": (Fault("422"), 1, {}, "422 Unprocessable Entity"),
}
METADATA = {  # id: fault, path (not /v3/data/kpi/…: data requests overlap the metadata), cause
    "groups-503": (Fault("503"), "/v3/municipality_groups", "503 Service Unavailable"),
    "kpis-html": (Fault("html"), "/v3/kpi", "text/html"),
}

CASES: dict[str, Case] = {}
for _command in COMMANDS:
    for _id, (_fault, _env) in TRANSIENT.items():
        CASES[f"transient-{_id}-{_command}"] = Case(_command, _fault, 2, {**RETRYING, **_env})
    for _id, (_fault, _times, _env, _cause) in GIVE_UP.items():
        CASES[f"give-up-{_id}-{_command}"] = Case(_command, _fault, _times, {**GIVING_UP, **_env})
    CASES[f"unreachable-{_command}"] = Case(_command, env=GIVING_UP, api_url=UNREACHABLE)
for _command in ("fetch", "compare"):  # the second batch fails after the first one was stored
    CASES[f"late-{_command}"] = Case(_command, Fault("503"), None, GIVING_UP, path=LATE_BATCH)
CASES["empty-fetch"] = Case("fetch", Fault("empty"), None, followups=(tuple(COMMANDS["fetch"]), tuple(OFFLINE_COMPARE)))
CASES["empty-compare"] = Case("compare", Fault("empty"), None)
CASES["empty-refresh"] = Case("refresh", Fault("empty"), None)
for _id in ("503", "html"):
    CASES[f"refresh-after-failed-refresh-{_id}"] = Case(
        "refresh", Fault(_id), None, GIVING_UP, followups=(tuple(COMMANDS["refresh"]),)
    )
for _id, (_fault, _path, _cause) in METADATA.items():
    CASES[f"metadata-{_id}"] = Case(
        "fetch", _fault, None, GIVING_UP, path=_path, args=BASE_FETCH, fresh_store=True, followups=(tuple(BASE_FETCH),)
    )


@dataclass(frozen=True)
class Matrix:
    """Every case's outcome, and per command the digest of its prepared store and of a fault-free run."""

    outcomes: dict[str, Outcome]
    base: dict[str, str]
    reference: dict[str, str]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """Prepared stores, the fault-free digest per command, and every case's outcome (run in parallel)."""
    root = tmp_path_factory.mktemp("faults")
    with EmulatorServer(small_universe()) as emulator:
        base, refresh_base = root / "base", root / "refresh-base"
        assert run_kpijmf(BASE_FETCH, kpijmf_env(emulator.url, base)).code == 0
        assert run_kpijmf(REFRESH_BASE_FETCH, kpijmf_env(emulator.url, refresh_base)).code == 0
    with sqlite3.connect(refresh_base / "kpijmf.sqlite") as conn:
        conn.execute("UPDATE refresh_state SET last_refresh = ?", (LAST_REFRESH.isoformat(),))
    prepared = {"fetch": base, "compare": base, "refresh": refresh_base}
    jobs = {f"clean-{command}": Case(command, times=None) for command in COMMANDS} | CASES
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {name: pool.submit(_run_case, case, prepared, root / name) for name, case in jobs.items()}
        outcomes = {name: future.result() for name, future in futures.items()}
    clean = {command: outcomes[f"clean-{command}"] for command in COMMANDS}
    for command, outcome in clean.items():
        assert outcome.steps[0].run.code == 0, outcome.steps[0].run.stderr
        assert outcome.steps[0].digest != outcome.before, f"{command} must change the store to tell outcomes apart"
    return Matrix(
        outcomes,
        {command: outcome.before for command, outcome in clean.items()},
        {command: outcome.steps[0].digest for command, outcome in clean.items()},
    )


def retried(step: Step) -> bool:
    """Some data URL was asked for more than once."""
    urls = [(r.path, tuple(sorted(r.query.items()))) for r in step.data_requests]
    return len(urls) > len(set(urls))


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(TRANSIENT))
def test_transient_fault_is_retried_to_the_fault_free_store(matrix, command, fault):
    step = matrix.outcomes[f"transient-{fault}-{command}"].steps[0]
    assert step.run.code == 0, step.run.stderr
    assert "Traceback" not in step.run.stderr and "error" not in step.run.stderr
    assert retried(step), "the fault never reached kpijmf"
    assert step.digest == matrix.reference[command]
    if command == "compare":
        assert set(pd.read_csv(io.StringIO(step.run.stdout)).kpi) == {"N03926", "U40455"}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("fault", list(GIVE_UP))
def test_fault_that_does_not_pass_exits_4_naming_url_and_cause_and_keeps_the_store(matrix, command, fault):
    outcome = matrix.outcomes[f"give-up-{fault}-{command}"]
    step, (_fault, times, _env, cause) = outcome.steps[0], GIVE_UP[fault]
    assert step.run.code == 4, step.run.stderr
    line = error_line(step.run)
    assert f"{outcome.url}/data/kpi/" in line
    assert cause in line
    if times is None:
        assert "gave up after 2 tries" in line
    else:
        assert not retried(step), "a fault no retry can fix was retried"
    assert step.digest == outcome.before
    assert step.bookkeeping == outcome.kept
    assert step.integrity == "ok"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_unreachable_host_exits_4_naming_it_and_keeps_the_store(matrix, command):
    outcome = matrix.outcomes[f"unreachable-{command}"]
    step = outcome.steps[0]
    assert step.run.code == 4
    line = error_line(step.run)
    # fetch and compare ask for U40455 by id first: the prepared store holds the metadata of N03926 only
    first = "/data/kpi/" if command == "refresh" else "/kpi/U40455?"
    assert f"cannot reach Kolada at {UNREACHABLE}{first}" in line
    assert "connection refused" in line and "gave up after 2 tries" in line
    assert step.digest == outcome.before
    assert step.bookkeeping == outcome.kept


@pytest.mark.parametrize("command", ["fetch", "compare"])
def test_fault_in_a_later_batch_takes_back_the_batches_before_it(matrix, command):
    outcome = matrix.outcomes[f"late-{command}"]
    step = outcome.steps[0]
    assert step.run.code == 4
    assert LATE_BATCH in error_line(step.run)
    assert any(r.status == 200 for r in step.data_requests), "the first batch should have arrived"
    assert step.digest == outcome.before
    assert step.bookkeeping == outcome.kept


@pytest.mark.parametrize("fault", ["503", "html"])
def test_refresh_after_a_failed_refresh_picks_up_every_change(matrix, fault):
    """A failed refresh must not move the from_date the next one starts from, or changes would be lost."""
    failed, again = matrix.outcomes[f"refresh-after-failed-refresh-{fault}"].steps
    assert failed.run.code == 4
    assert again.run.code == 0, again.run.stderr
    assert again.digest == matrix.reference["refresh"]


@pytest.mark.parametrize("fault", list(METADATA))
def test_metadata_fault_stores_no_half_of_the_metadata(matrix, fault):
    outcome = matrix.outcomes[f"metadata-{fault}"]
    failed, again = outcome.steps
    _fault, path, cause = METADATA[fault]
    assert failed.run.code == 4
    line = error_line(failed.run)
    assert f"{outcome.url.removesuffix('/v3')}{path}" in line and cause in line
    assert failed.metadata_rows in ((), (0, 0, 0))  # the two lists that did arrive were not stored either
    assert again.run.code == 0, again.run.stderr
    assert again.digest == matrix.base["fetch"]


# -- an empty `values` list: Kolada's way of saying "no data" ---------------------------------------


def test_empty_answer_is_stored_as_fetched_without_values(matrix):
    outcome = matrix.outcomes["empty-fetch"]
    fetched, again, shown = outcome.steps
    assert fetched.run.code == 0, fetched.run.stderr
    assert "lagrade 0 värden" in fetched.run.stderr
    store = outcome.store
    assert table(store, "SELECT COUNT(*) FROM observation WHERE kpi = 'U40455'") == [(0,)]
    # 2019-2021 asked and answered: stored as fetched, with no values
    assert table(store, "SELECT COUNT(*) FROM coverage WHERE kpi = 'U40455' AND unit_id = '2380'") == [(3,)]
    assert again.run.code == 0 and "inget att hämta" in again.run.stderr
    assert again.data_requests == []  # "no data" is remembered until it is stale, not asked for again
    assert shown.run.code == 0, shown.run.stderr
    assert "inga värden för U40455 under 2019–2021; utelämnas" in shown.run.stderr
    assert set(pd.read_csv(io.StringIO(shown.run.stdout)).kpi) == {"N03926"}


def test_empty_answer_makes_compare_say_no_data_and_show_the_rest(matrix):
    step = matrix.outcomes["empty-compare"].steps[0]
    assert step.run.code == 0, step.run.stderr
    warning = "kpijmf: warning: inga värden för U40455 under 2019–2021; utelämnas"
    assert step.run.stderr.strip().splitlines() == [warning]
    frame = pd.read_csv(io.StringIO(step.run.stdout), dtype={"id": str})
    assert set(frame.kpi) == {"N03926"}
    assert frame[frame.id == "2380"].value.tolist() == [2.6, 3.0, 3.2]
    # the peer groups' N03926 were asked for too and came back empty: shown as missing, never as 0
    assert frame[frame.id == "G30831"].value.isna().all()


def test_empty_answer_to_a_refresh_means_nothing_changed(matrix):
    outcome = matrix.outcomes["empty-refresh"]
    step = outcome.steps[0]
    assert step.run.code == 0, step.run.stderr
    assert "revised" not in step.run.stderr
    assert step.digest == outcome.before


# -- a storm of mixed faults and a Kolada restart, with every setting at its default -----------------

STORM = {3: Fault("429"), 4: Fault("503"), 5: Fault("drop"), 7: Fault("500")}  # the first divisor wins
OUTAGE_SECONDS = 4.0  # the 20 s outage, shortened for CI; it was run by hand at 20 s
WEATHER_FETCH = ["fetch", "--kpi", "N03926,U40455,N40011", "--years", "2017-2022"]


@dataclass(frozen=True)
class Weathered:
    """One fresh-store fetch: what it said, what it stored, what the emulator saw."""

    run: Run
    digest: str
    requests: list[RequestRecord]
    refused: int


def _weather(kind: str, root: Path) -> Weathered:
    """A fetch into an empty store, with no option set, through `kind`: clean, storm or outage."""
    with EmulatorServer(small_universe()) as emulator:
        if kind == "storm":
            emulator.faults.every(STORM)
        if kind == "outage":
            _restart_when_first_refused(emulator)
        env = kpijmf_env(emulator.url, root / kind)
        del env["KPIJMF_TIMEOUT"]  # every setting at its default
        run = run_kpijmf(WEATHER_FETCH, env)
        return Weathered(run, store_digest(root / kind), emulator.requests, emulator.refused)


def _restart_when_first_refused(emulator: EmulatorServer) -> None:
    """Refuse every connection from now until OUTAGE_SECONDS after the first one was refused, so that kpijmf
    meets the whole outage however long it takes to start on a busy machine."""
    emulator.start_outage(3600)

    def end_later() -> None:
        while emulator.refused == 0 and emulator.in_outage:
            time.sleep(0.01)
        time.sleep(OUTAGE_SECONDS)
        emulator.end_outage()

    threading.Thread(target=end_later, daemon=True).start()


@pytest.fixture(scope="module")
def weathered(tmp_path_factory) -> dict[str, Weathered]:
    root = tmp_path_factory.mktemp("weather")
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {kind: pool.submit(_weather, kind, root) for kind in ("clean", "storm", "outage")}
        return {kind: future.result() for kind, future in futures.items()}


def _talk(run: Run) -> tuple[list[str], list[str]]:
    """The "waiting" lines and the rest of stderr."""
    lines = run.stderr.strip().splitlines()
    waiting = [line for line in lines if "försöker igen om" in line]
    return waiting, [line for line in lines if line not in waiting]


def test_fetch_through_a_mixed_storm_stores_exactly_what_a_clean_fetch_stores(weathered):
    clean, storm = weathered["clean"], weathered["storm"]
    assert clean.run.code == 0, clean.run.stderr
    assert storm.run.code == 0, storm.run.stderr
    assert storm.digest == clean.digest != "no store"
    statuses = {r.status for r in storm.requests}
    assert {429, 503, 500} <= statuses  # every kind of fault reached kpijmf (drops are logged as 200s cut short)
    assert len(storm.requests) >= len(clean.requests) + 8
    waiting, rest = _talk(storm.run)
    assert "kpijmf: warning: Kolada svarar 429, försöker igen om 1 s" in waiting
    assert len(rest) == 1 and rest[0].startswith("lagrade ") and "Traceback" not in storm.run.stderr


def test_fetch_through_a_kolada_restart_stores_exactly_what_a_clean_fetch_stores(weathered):
    clean, outage = weathered["clean"], weathered["outage"]
    assert outage.run.code == 0, outage.run.stderr
    assert outage.digest == weathered["clean"].digest
    assert outage.refused >= 3  # it really was turned away, more than once
    waiting, rest = _talk(outage.run)
    assert waiting and all(
        line.startswith(("kpijmf: warning: ingen kontakt med Kolada", "kpijmf: warning: Kolada bröt anslutningen"))
        for line in waiting
    )
    assert len(rest) == 1 and rest[0].startswith("lagrade ") and "Traceback" not in outage.run.stderr
    assert len(outage.requests) == len(clean.requests)  # refused attempts never reached the API
