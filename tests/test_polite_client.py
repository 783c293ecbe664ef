"""End to end: kpijmf is polite to Kolada, as the emulator sees it. It never has more requests in flight
than KPIJMF_CONCURRENCY, waits at least as long as Retry-After says, and
when the API keeps failing it stops once a request's KPIJMF_RETRY_SECONDS are used up (or, where set,
KPIJMF_MAX_TRIES per request and KPIJMF_RETRY_BUDGET in all), so a cron job cannot spin.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.emulator import EmulatorServer, Fault, RequestRecord, full_universe
from tests.reliability_support import copy_store, error_line
from tests.support import kpijmf_env, run_kpijmf

FETCH = ["fetch", "--kpi", "N31807,N31814,U31804", "--years", "2019-2021"]  # 12 batches of ≤ 25 units


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A full-size emulator and a store that already holds its metadata."""
    with EmulatorServer(full_universe()) as emulator:
        store = tmp_path_factory.mktemp("polite") / "store"
        assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], kpijmf_env(emulator.url, store)).code == 0
        yield emulator, store


@pytest.fixture
def emulator(served):
    emulator, _store = served
    emulator.reset_log()
    yield emulator
    emulator.clear_faults()
    emulator.latency = 0.0


def most_in_flight(requests: list[RequestRecord]) -> int:
    """The largest number of requests the server was working on at the same moment."""
    events = sorted([(r.started, 1) for r in requests] + [(r.finished, -1) for r in requests])
    current = peak = 0
    for _when, change in events:  # at equal times the -1 (a finish) sorts first
        current += change
        peak = max(peak, current)
    return peak


@pytest.mark.parametrize("concurrency", [1, 2, None], ids=["1", "2", "default-4"])
def test_never_more_requests_in_flight_than_kpijmf_concurrency(emulator, tmp_path, concurrency):
    emulator.latency = 0.2
    extra = {} if concurrency is None else {"KPIJMF_CONCURRENCY": str(concurrency)}
    run = run_kpijmf([*FETCH, "--refresh"], kpijmf_env(emulator.url, tmp_path / "store", **extra))
    assert run.code == 0, run.stderr
    assert len(emulator.data_requests()) == 12
    assert most_in_flight(emulator.requests) == (concurrency or 4)  # as many as allowed, never more


def test_retry_after_is_waited_for_in_full(emulator, served, tmp_path):
    store = copy_store(served[1], tmp_path / "store")
    emulator.inject(Fault("429", retry_after=1.5), times=1, path_contains="/data/")
    run = run_kpijmf(FETCH, kpijmf_env(emulator.url, store))
    assert run.code == 0, run.stderr
    requests = emulator.data_requests()
    refused = next(r for r in requests if r.status == 429)
    again = next(r for r in requests if r.path == refused.path and r.started > refused.finished)
    assert again.status == 200
    assert again.started - refused.finished >= 1.5  # not the 0.5 s first backoff kpijmf would use on its own


@pytest.mark.parametrize(
    ("tries", "budget", "note"),
    [(3, 30, "gave up after 3 tries"), (5, 2, "retry budget used up")],
    ids=["max-tries", "retry-budget"],
)
def test_persistently_failing_api_is_given_up_on_within_the_limits(emulator, served, tmp_path, tries, budget, note):
    store = copy_store(served[1], tmp_path / "store")
    emulator.inject(Fault("503"), times=None, path_contains="/data/")
    env = kpijmf_env(emulator.url, store, KPIJMF_MAX_TRIES=str(tries), KPIJMF_RETRY_BUDGET=str(budget))
    started = time.monotonic()
    run = run_kpijmf(FETCH, env)
    elapsed = time.monotonic() - started
    assert run.code == 4
    line = error_line(run)
    assert "503 Service Unavailable" in line and note in line
    per_url = Counter((r.path, tuple(sorted(r.query.items()))) for r in emulator.data_requests())
    assert max(per_url.values()) <= tries
    assert sum(per_url.values()) - len(per_url) <= budget  # every request beyond the first of a URL is a retry
    assert len(per_url) <= 12
    assert elapsed < 15


def test_persistently_failing_api_is_given_up_on_when_the_retry_time_is_up(emulator, served, tmp_path):
    store = copy_store(served[1], tmp_path / "store")
    emulator.inject(Fault("503"), times=None, path_contains="/data/")
    env = kpijmf_env(emulator.url, store, KPIJMF_RETRY_SECONDS="3")
    started = time.monotonic()
    run = run_kpijmf(FETCH, env)
    elapsed = time.monotonic() - started
    assert run.code == 4
    lines = run.stderr.strip().splitlines()
    assert all(line.startswith("kpijmf: warning: Kolada svarar 503, försöker igen om ") for line in lines[:-1])
    assert lines[-1].startswith("kpijmf: error: Kolada answered 503 Service Unavailable for ")
    assert "in 3 s (KPIJMF_RETRY_SECONDS)" in lines[-1]
    per_url = Counter((r.path, tuple(sorted(r.query.items()))) for r in emulator.data_requests())
    assert max(per_url.values()) >= 3  # retried by time, not stopped after a count
    assert 3 <= elapsed < 15
