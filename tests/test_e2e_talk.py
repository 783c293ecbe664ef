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


NO_DATA_AND_NO_LIKNANDE = ["compare", "--kommun", "Krokom", "--kpi", "N03932", "--years", "2024", "-f", "csv"]


def test_library_warnings_are_swedish_by_default(emulator, tmp_path):
    run = run_kpijmf(NO_DATA_AND_NO_LIKNANDE, kpijmf_env(emulator.url, tmp_path))
    assert run.code == 0, run.stderr
    assert run.stderr.splitlines() == [  # from kpijmf.domain.catalog and kpijmf.service.workspace
        "kpijmf: warning: ingen grupp 'liknande (arbetsmarknad)' för Krokom i den lagrade metadatan; hoppas över",
        "kpijmf: warning: inga värden för N03932 under 2024 (N03932: upphörd serie, Kolada uppdaterar den inte "
        "längre); utelämnas",
    ]


@pytest.mark.parametrize("how", ["option", "env"])
def test_library_warnings_are_english_with_lang_en(emulator, tmp_path, how):
    env = kpijmf_env(emulator.url, tmp_path, **({"KPIJMF_LANG": "en"} if how == "env" else {}))
    run = run_kpijmf(["--lang", "en", *NO_DATA_AND_NO_LIKNANDE] if how == "option" else NO_DATA_AND_NO_LIKNANDE, env)
    assert run.code == 0, run.stderr
    assert run.stderr.splitlines() == [
        "kpijmf: warning: no 'liknande (arbetsmarknad)' group for Krokom in the stored metadata; skipped",
        "kpijmf: warning: no data in 2024 for N03932 (N03932: discontinued, Kolada no longer updates it); left out",
    ]


def test_cache_and_kommun_talk_follow_the_language(emulator, tmp_path):
    env = kpijmf_env(emulator.url, tmp_path)
    lan = run_kpijmf(["--lang", "en", "kommun", "search", "--lan", "23"], env)
    assert lan.stderr == "Region Jämtland Härjedalen: 8 kommuner\n"
    assert run_kpijmf(["cache", "info"], env).stdout.startswith("lagringsfil: ")
    assert run_kpijmf(["--lang", "en", "cache", "info"], env).stdout.startswith("store: ")
    english = run_kpijmf(["--lang", "en", "cache", "clear"], env)
    assert english.code == 0, english.stderr
    # a kommun lookup asks Kolada for no KPI: the store held units and groups only
    assert english.stderr.startswith("removed 21 units, 30 groups, ") and "; kept 0 revisions" in english.stderr
    swedish = run_kpijmf(["cache", "clear", "--all"], env)
    assert swedish.stderr == f"tog bort {tmp_path / 'kpijmf.sqlite'} (revideringshistoriken också)\n"
    assert run_kpijmf(["cache", "clear"], env).stderr == f"det finns ingen lagringsfil {tmp_path / 'kpijmf.sqlite'}\n"


def test_a_set_kpi_missing_from_kolada_is_skipped_in_the_runs_language(emulator, tmp_path):
    kpi = '[[kpi]]\nid = "{}"\nlabel = "A"\nunit = "%"\ndirection = "lower"\n'
    (tmp_path / "mitt.toml").write_text('name = "mitt"\n' + kpi.format("N03926") + kpi.format("N99999"))
    args = ["compare", "--kommun", "2380", "--set", str(tmp_path / "mitt.toml"), "--years", "2019-2021", "-f", "csv"]
    env = kpijmf_env(emulator.url, tmp_path / "store")
    swedish = run_kpijmf(args, env)
    assert swedish.code == 0, swedish.stderr
    assert "kpijmf: warning: N99999 (set mitt) finns inte i Koladas katalog; hoppas över\n" in swedish.stderr
    english = run_kpijmf(["--lang", "en", *args], env)
    assert "kpijmf: warning: N99999 (set mitt) is not in Kolada's catalogue; skipped\n" in english.stderr
