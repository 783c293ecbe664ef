"""End to end: one language per run (Swedish by default, English with --lang en or KPIJMF_LANG=en), the
unreachable-API hint, and `kpi search` against the emulator."""

from __future__ import annotations

import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.support import kpijmf_env, run_kpijmf

FETCH = ["fetch", "--kpi", "N03926", "--years", "2019-2021"]


@pytest.fixture(scope="module")
def emulator():
    with EmulatorServer(small_universe()) as emu:
        yield emu


def test_progress_and_summaries_are_swedish_by_default(emulator, tmp_path):
    run = run_kpijmf(FETCH, kpijmf_env(emulator.url, tmp_path))
    assert run.code == 0, run.stderr
    assert run.stderr.startswith("lagrade ") and " värden för " in run.stderr and " anrop " in run.stderr
    assert "stored" not in run.stderr and "requests" not in run.stderr


@pytest.mark.parametrize("how", ["option", "env"])
def test_lang_en_gives_english_summaries(emulator, tmp_path, how):
    env = kpijmf_env(emulator.url, tmp_path, **({"KPIJMF_LANG": "en"} if how == "env" else {}))
    args = ["--lang", "en", *FETCH] if how == "option" else FETCH
    run = run_kpijmf(args, env)
    assert run.code == 0, run.stderr
    assert run.stderr.startswith("stored ") and " requests " in run.stderr and "lagrade" not in run.stderr
    again = run_kpijmf(args, env)
    assert "nothing to fetch" in again.stderr


def test_report_lang_sets_the_talk_too(emulator, tmp_path):
    env = kpijmf_env(emulator.url, tmp_path / "store")
    target = tmp_path / "r.html"
    english = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "--lang", "en",
                          "--output", str(target)], env)  # fmt: skip
    assert english.code == 0, english.stderr
    assert f"wrote {target} (1 KPIs" in english.stderr
    assert '<html lang="en">' in target.read_text(encoding="utf-8")
    swedish = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "--offline",
                          "--output", str(target)], env)  # fmt: skip
    assert f"skrev {target} (1 nyckeltal" in swedish.stderr
    assert '<html lang="sv">' in target.read_text(encoding="utf-8")


def test_unknown_language_is_a_usage_error(emulator, tmp_path):
    run = run_kpijmf(FETCH, kpijmf_env(emulator.url, tmp_path, KPIJMF_LANG="de"))
    assert run.code == 2 and "unknown language 'de'" in run.stderr


def test_unreachable_api_names_proxy_certificate_and_api_url(tmp_path):
    run = run_kpijmf(FETCH, kpijmf_env("http://127.0.0.1:9/v3", tmp_path, KPIJMF_MAX_TRIES="1"))
    assert run.code == 4, run.stderr
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith("kpijmf: error:")
    for name in ("HTTPS_PROXY", "SSL_CERT_FILE", "KPIJMF_API_URL"):
        assert name in line


def test_kpi_search_ranks_and_counts_discontinued_series(emulator, tmp_path):
    env = kpijmf_env(emulator.url, tmp_path)
    run = run_kpijmf(["kpi", "search", "arbetslöshet"], env)
    assert run.code == 0, run.stderr
    ids = [line.split("\t")[0] for line in run.stdout.splitlines()]
    assert ids and "N03932" not in ids  # discontinued: counted in the footer, not listed
    assert "upphörda serier visas inte" in run.stderr
    everything = run_kpijmf(["kpi", "search", "arbetslöshet", "--all"], env)
    listed = everything.stdout.splitlines()
    assert listed[-1].startswith("N03932\t") and listed[-1].endswith("[upphört]")
    assert "N03926" in [line.split("\t")[0] for line in listed]


def test_kommun_search_by_lan(emulator, tmp_path):
    run = run_kpijmf(["kommun", "search", "--lan", "Jämtlands län"], kpijmf_env(emulator.url, tmp_path))
    assert run.code == 0, run.stderr
    listed = dict(line.split("\t") for line in run.stdout.splitlines())
    assert listed.get("2380") == "Östersund" and all(k.startswith("23") for k in listed)
    narrowed = run_kpijmf(["kommun", "search", "oster", "--lan", "23"], kpijmf_env(emulator.url, tmp_path))
    assert narrowed.stdout.splitlines() == ["2380\tÖstersund"]


def test_kpi_groups_list_search_and_show_from_the_store(emulator, tmp_path):
    env = kpijmf_env(emulator.url, tmp_path)
    listed = run_kpijmf(["kpi", "groups"], env)
    assert listed.code == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert ["G2KPI900103", "Kommunens kvalitet i korthet", "4 nyckeltal"] in rows and len(rows) == 4
    emulator.reset_log()
    found = run_kpijmf(["kpi", "groups", "oppna jamforelser"], env)  # no case or diacritics needed
    assert found.stdout.splitlines() == ["G2KPI900102\tÖppna jämförelser - Ekonomiskt bistånd\t5 nyckeltal"]
    assert not [r for r in emulator.requests if "kpi_groups" in r.path]  # read from the store
    shown = run_kpijmf(["kpi", "groups", "show", "g2kpi900104"], env)
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "G2KPI900104  Unga som varken arbetar eller studerar"
    assert [line.split("\t")[0].strip() for line in lines[1:]] == ["N02797", "N03927", "N03942", "U31804", "N18601"]
    assert lines[2].endswith("[upphört]")  # N03927 (-2023)
    missing = run_kpijmf(["kpi", "groups", "show", "G2KPI9"], env)
    assert missing.code == 3 and "no KPI group 'G2KPI9'" in missing.stderr
