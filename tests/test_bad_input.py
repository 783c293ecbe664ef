"""End to end: a catalogue of bad input across every command. Each case exits with its documented code
and one stderr line `kpijmf: error: …` that says what was wrong (for `sets validate` and `run`, the
problem lines come first), prints nothing on stdout, shows no traceback and leaves the store as it was.

The cases run in parallel in one module fixture (each on its own copy of a prepared store), so the whole
catalogue takes seconds; each case is still its own test.
"""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd
import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.reliability_support import copy_store
from tests.support import Run, kpijmf_env, run_kpijmf, store_digest

PREPARE = ["fetch", "--kpi", "N03926,U40455,N03932", "--years", "2019-2021", "--kommun", "2380"]
CMP = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021"]

FILES = {
    "syntax.toml": 'name = "x\n[[kpi]]\n',
    "types.toml": 'name = 5\n[[kpi]]\nid = "N03926"\nlabel = 7\nunit = "%"\ndirection = "up"\n',
    "unknown.toml": 'name = "x"\ncolour = "red"\n[[kpi]]\nid = "N03926"\nlabel = "A"\nunit = "%"\n'
    'direction = "lower"\nwibble = 1\n',
    "dups.toml": 'name = "x"\n' + '[[kpi]]\nid = "N03926"\nlabel = "A"\nunit = "%"\ndirection = "lower"\n' * 2,
    "run_syntax.toml": 'kommuner = ["2380"\n',
    "run_types.toml": 'kommuner = 2380\nyears = ["2019"]\nrefresh = "yes"\n[[output]]\nformat = "pdf"\npath = 5\n',
    "run_unknown.toml": 'kommuner = ["2380"]\ncolour = "red"\n[[output]]\nformat = "csv"\npath = "out.csv"\nmode = 1\n',
    "run_dups.toml": 'kommuner = ["2380"]\n[[output]]\nformat = "csv"\npath = "out.csv"\n'
    '[[output]]\nformat = "xlsx"\npath = "out.csv"\n',
    "run_kommun.toml": 'kommuner = ["Ostersnd"]\nrefresh = false\nyears = "2019-2021"\n'
    '[[output]]\nformat = "csv"\npath = "out.csv"\n',
}


@dataclass(frozen=True)
class Case:
    """Arguments ("{dir}" is the folder of the files above), environment changes, exit code, error fragment."""

    args: list[str]
    code: int
    fragment: str
    env: dict[str, str] = field(default_factory=dict)
    problem_lines: bool = False  # `sets validate` lists each problem on its own line before the error


CASES: dict[str, Case] = {
    # fetch
    "fetch-misspelt-kommun": Case(["fetch", "--kommun", "Ostersnd", "--kpi", "N03926", "--years", "2021"], 3,
                                  "no kommun named 'Ostersnd'; did you mean Östersund (2380)"),
    "fetch-unknown-kommun-id": Case(["fetch", "--kommun", "9999", "--kpi", "N03926"], 3, "no kommun with id '9999'"),
    "fetch-region-not-kommun": Case(["fetch", "--kommun", "0023", "--kpi", "N03926"], 3,
                                    "0023 is Region Jämtland Härjedalen, not a kommun"),
    "fetch-reversed-years": Case(["fetch", "--kpi", "N03926", "--years", "2021-2019"], 2,
                                 "the range is reversed; did you mean 2019-2021?"),
    "fetch-future-year": Case(["fetch", "--kpi", "N03926", "--years", "2099"], 2, "2099 is in the future"),
    "fetch-two-digit-year": Case(["fetch", "--kpi", "N03926", "--years", "21"], 2,
                                 "give one year (2021) or a range (2019-2021)"),
    "fetch-year-before-kolada": Case(["fetch", "--kpi", "N03926", "--years", "1980"], 2, "no data before 1990"),
    "fetch-unknown-kpi": Case(["fetch", "--kpi", "N99999", "--years", "2021"], 3, "unknown KPI 'N99999'"),
    "fetch-kpi-name-not-id": Case(["fetch", "--kpi", "arbetslöshet"], 3, "'arbetslöshet' is not a KPI id"),
    "fetch-misspelt-set": Case(["fetch", "--set", "arbetsmarkand"], 3, "did you mean 'arbetsmarknad'?"),
    "fetch-set-syntax": Case(["fetch", "--set", "{dir}/syntax.toml"], 5, "syntax.toml: line 1, column 10"),
    "fetch-set-wrong-types": Case(["fetch", "--set", "{dir}/types.toml"], 5, "kpi[1].label: must be a string"),
    "fetch-set-unknown-keys": Case(["fetch", "--set", "{dir}/unknown.toml"], 5, "kpi[1].wibble: unknown key"),
    "fetch-set-duplicate-ids": Case(["fetch", "--set", "{dir}/dups.toml"], 5, "kpi[2].id: duplicate of kpi[1]"),
    "fetch-set-file-missing": Case(["fetch", "--set", "{dir}/missing.toml"], 3, "KPI-set file not found"),
    "fetch-unknown-option": Case(["fetch", "--offline"], 2, "No such option: --offline"),
    # compare
    "compare-without-kommun": Case(["compare", "--kpi", "N03926"], 2, "Missing option '--kommun'"),
    "compare-empty-kommun": Case(["compare", "--kommun", " ", "--kpi", "N03926"], 2, "an empty kommun name"),
    "compare-ambiguous-kommun": Case(["compare", "--kommun", "S", "--kpi", "N03926"], 3,
                                     "kommun name 'S' is ambiguous: Skellefteå (2482), Skövde (1496)"),
    "compare-unknown-kommun": Case(["compare", "--kommun", "Sundsvall"], 3, "no kommun named 'Sundsvall'"),
    "compare-riket-not-kommun": Case(["compare", "--kommun", "0000"], 3, "0000 is Riket, not a kommun"),
    "compare-unknown-format": Case([*CMP, "--format", "pdf"], 2, "unknown format 'pdf'"),
    "compare-misspelt-peer": Case([*CMP, "--peers", "lään"], 2, "unknown peer 'lään'; did you mean 'lan'?"),
    "compare-unknown-group": Case([*CMP, "--peers", "G999999"], 3, "unknown group 'G999999'"),
    "compare-unknown-gender": Case([*CMP, "--gender", "X"], 2, "unknown gender 'X'"),
    "compare-years-and-last": Case([*CMP, "--last", "3"], 2, "give either --years or --last, not both"),
    "compare-last-0": Case(["compare", "--kommun", "2380", "--last", "0"], 2, "0 is not in the range 1<=x<=30"),
    "compare-reversed-years": Case(["compare", "--kommun", "2380", "--years", "2021-2019"], 2, "reversed"),
    "compare-output-is-a-folder": Case([*CMP, "-o", "{dir}"], 1, "is a directory"),
    "compare-output-in-missing-folder": Case([*CMP, "-o", "{dir}/nowhere/x.csv"], 1, "no such directory"),
    "compare-output-not-writable": Case([*CMP, "-o", "/proc/kpijmf.csv"], 1, "cannot write /proc/kpijmf.csv"),
    "compare-output-empty-name": Case([*CMP, "-o", ""], 1, "cannot write '': empty file name"),
    "compare-offline-lacking-data": Case(["compare", "--kommun", "2380", "--kpi", "N40011", "--years", "2021",
                                          "--offline"], 6, "--offline: the store lacks N40011"),
    # refresh
    "refresh-unknown-kpi": Case(["refresh", "--kpi", "N99999"], 3, "unknown KPI 'N99999'"),
    "refresh-misspelt-kommun": Case(["refresh", "--kommun", "Ostersnd"], 3, "did you mean Östersund (2380)"),
    "refresh-unknown-set": Case(["refresh", "--set", "nosuch"], 3, "unknown KPI set 'nosuch'"),
    "refresh-unknown-option": Case(["refresh", "--years", "2021"], 2, "No such option: --years"),
    # revisions
    "revisions-bad-date": Case(["revisions", "--since", "2026-13-01"], 2, "bad date '2026-13-01': use YYYY-MM-DD"),
    "revisions-unknown-format": Case(["revisions", "--format", "xlsx"], 2, "unknown format 'xlsx'"),
    "revisions-riket-not-kommun": Case(["revisions", "--kommun", "0000"], 3, "0000 is Riket, not a kommun"),
    # run
    "run-missing-file": Case(["run", "{dir}/missing.toml"], 3, "no such run file"),
    "run-syntax": Case(["run", "{dir}/run_syntax.toml"], 5, "run_syntax.toml: line 2, column 1 (end of file)"),
    "run-wrong-types": Case(["run", "{dir}/run_types.toml"], 5, "kommuner: must be a non-empty list of strings"),
    "run-unknown-keys": Case(["run", "{dir}/run_unknown.toml"], 5, "output[1].mode: unknown key"),
    "run-same-output-twice": Case(["run", "{dir}/run_dups.toml"], 5, "the path 'out.csv' is given twice"),
    "run-folder-not-file": Case(["run", "{dir}"], 2, "is a directory, not a run file"),
    "run-misspelt-kommun": Case(["run", "{dir}/run_kommun.toml"], 3, "Ostersnd / arbetsmarknad: no kommun named"),
    # kommun, kpi
    "kommun-search-nothing": Case(["kommun", "search", "zzzz"], 3, "no kommun matches 'zzzz'"),
    "kommun-show-misspelt": Case(["kommun", "show", "Ostersnd"], 3, "did you mean Östersund (2380)"),
    "kommun-show-region": Case(["kommun", "show", "0023"], 3, "not a kommun"),
    "kommun-show-no-argument": Case(["kommun", "show"], 2, "Missing argument 'kommun'"),
    "kpi-search-nothing": Case(["kpi", "search", "zzzzqq"], 3, "no KPI matches 'zzzzqq'"),
    "kpi-show-unknown": Case(["kpi", "show", "N99999"], 3, "unknown KPI 'N99999'"),
    "kpi-show-name-not-id": Case(["kpi", "show", "arbetslos"], 3, "'arbetslos' is not a KPI id"),
    "kpi-search-limit-0": Case(["kpi", "search", "arbets", "--limit", "0"], 2, "0 is not in the range x>=1"),
    # sets
    "sets-show-unknown": Case(["sets", "show", "nosuch"], 3, "unknown KPI set 'nosuch'"),
    "sets-show-syntax": Case(["sets", "show", "{dir}/syntax.toml"], 5, "line 1, column 10"),
    "sets-validate-wrong-types": Case(["sets", "validate", "{dir}/types.toml"], 5,
                                      "kpi[1].direction: must be one of higher, lower, neutral", problem_lines=True),
    "sets-validate-duplicate-ids": Case(["sets", "validate", "{dir}/dups.toml"], 5, "duplicate of kpi[1]",
                                        problem_lines=True),
    "sets-validate-missing": Case(["sets", "validate", "{dir}/missing.toml"], 3, "no such file"),
    "sets-list-extra-argument": Case(["sets", "list", "extra"], 2, "unexpected extra argument"),
    # cache
    "cache-unknown-command": Case(["cache", "bogus"], 2, "No such command 'bogus'"),
    "cache-path-extra-argument": Case(["cache", "path", "extra"], 2, "unexpected extra argument"),
    "cache-clear-unknown-option": Case(["cache", "clear", "--force"], 2, "No such option: --force"),
    "cache-info-no-store": Case(["cache", "info"], 6, "yet: run `kpijmf fetch` first",
                                env={"KPIJMF_CACHE_DIR": "{dir}/no-store"}),
    # environment
    "api-url-without-scheme": Case(["kommun", "show", "2380"], 2, "KPIJMF_API_URL must be an http(s) URL",
                                   env={"KPIJMF_API_URL": "api.kolada.se/v3"}),
    "api-url-ftp": Case(["fetch"], 2, "got 'ftp://x'", env={"KPIJMF_API_URL": "ftp://x"}),
    "timeout-not-a-number": Case(["fetch"], 2, "KPIJMF_TIMEOUT must be a number", env={"KPIJMF_TIMEOUT": "abc"}),
    "concurrency-0": Case(["fetch"], 2, "KPIJMF_CONCURRENCY must be at least 1", env={"KPIJMF_CONCURRENCY": "0"}),
    "api-url-unclosed-ipv6": Case(["fetch"], 2, "got 'http://[::1' (invalid IPv6 URL)",
                                  env={"KPIJMF_API_URL": "http://[::1"}),
    "timeout-nan": Case(["fetch"], 2, "KPIJMF_TIMEOUT must be a finite number", env={"KPIJMF_TIMEOUT": "nan"}),
    "timeout-inf": Case(["compare", "--kommun", "2380"], 2, "KPIJMF_TIMEOUT must be a finite number",
                        env={"KPIJMF_TIMEOUT": "inf"}),
    "timeout-1e308": Case(["refresh"], 2, "KPIJMF_TIMEOUT must be at most 3600", env={"KPIJMF_TIMEOUT": "1e308"}),
    "max-age-inf": Case(["fetch"], 2, "KPIJMF_MAX_AGE_DAYS must be a finite number",
                        env={"KPIJMF_MAX_AGE_DAYS": "inf"}),
    "lock-timeout-nan": Case(["fetch"], 2, "KPIJMF_LOCK_TIMEOUT must be a finite number",
                             env={"KPIJMF_LOCK_TIMEOUT": "nan"}),
    "https-proxy-garbage": Case(["fetch"], 2, "HTTPS_PROXY must be a proxy URL like http://proxy.example:8080",
                                env={"HTTPS_PROXY": "::::garbage"}),
    "cache-dir-is-a-file": Case(["fetch"], 6, "cannot create the store folder",
                                env={"KPIJMF_CACHE_DIR": "{dir}/syntax.toml"}),
    "unknown-command": Case(["bogus"], 2, "No such command 'bogus'"),
}  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    run: Run
    before: str
    after: str


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case run once, in parallel, each on its own copy of a store prepared with a small fetch."""
    root = tmp_path_factory.mktemp("bad-input")
    files = root / "files"
    files.mkdir()
    for name, text in FILES.items():
        (files / name).write_text(text, encoding="utf-8")
    with EmulatorServer(small_universe()) as emulator:
        prepared = root / "prepared"
        assert run_kpijmf(PREPARE, kpijmf_env(emulator.url, prepared)).code == 0

        def run_case(name: str, case: Case) -> Outcome:
            store = copy_store(prepared, root / name)
            before = store_digest(store)
            args = [a.replace("{dir}", str(files)) for a in case.args]
            extra = {k: v.replace("{dir}", str(files)) for k, v in case.env.items()}
            run = run_kpijmf(args, kpijmf_env(emulator.url, store, **extra))
            return Outcome(run, before, store_digest(store))

        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {name: pool.submit(run_case, name, case) for name, case in CASES.items()}
            return {name: future.result() for name, future in futures.items()}


def test_the_catalogue_covers_every_command():
    assert len(CASES) >= 40
    commands = {" ".join(c.args[:2]) if c.args[0] in ("kommun", "kpi", "sets", "cache") else c.args[0]
                for c in CASES.values()}  # fmt: skip
    assert commands >= {"fetch", "compare", "refresh", "revisions", "run", "kommun search", "kommun show",
                        "kpi search", "kpi show", "sets list", "sets show", "sets validate", "cache info",
                        "cache path", "cache clear"}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_its_exit_code_and_one_error_line(outcomes, name):
    case, outcome = CASES[name], outcomes[name]
    run = outcome.run
    assert run.code == case.code, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    *before, line = run.stderr.strip().splitlines()
    assert line.startswith("kpijmf: error: ")
    assert case.fragment in line
    if case.problem_lines:
        assert before and all(problem in line for problem in before)  # the same problems, one per line
    else:
        assert before == [], run.stderr
    assert outcome.after == outcome.before  # the store is as it was


# -- bad-looking input that is not an error ---------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with EmulatorServer(small_universe()) as emulator:
        store = tmp_path_factory.mktemp("store") / "store"
        assert run_kpijmf(PREPARE, kpijmf_env(emulator.url, store)).code == 0
        yield emulator, store


def test_discontinued_kpi_after_its_last_year_is_shown_as_no_data(served):
    """N03932 ("(-2023)") is a valid KPI without values after 2023: an empty answer and a warning saying why."""
    emulator, store = served
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03932", "--years", "2024", "-f", "csv"],
                     kpijmf_env(emulator.url, store))  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stderr.strip().splitlines() == [
        "kpijmf: warning: inga värden för N03932 under 2024 "
        "(N03932: upphörd serie, Kolada uppdaterar den inte längre); utelämnas"
    ]
    assert pd.read_csv(io.StringIO(run.stdout)).empty  # the header, no rows
    earlier = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03932", "--years", "2021", "-f", "csv"],
                         kpijmf_env(emulator.url, store))  # fmt: skip
    assert earlier.code == 0 and earlier.stderr == ""
    assert set(pd.read_csv(io.StringIO(earlier.stdout)).year) == {2021}


def test_empty_kpijmf_api_url_means_the_default(served):
    emulator, store = served
    env = kpijmf_env(emulator.url, store, KPIJMF_API_URL="")
    run = run_kpijmf([*CMP, "--offline", "-f", "json"], env)
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["metadata"]["api_url"] == "https://api.kolada.se/v3"
