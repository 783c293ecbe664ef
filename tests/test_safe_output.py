"""End to end: what Kolada sends cannot be turned against the user. Titles that a spreadsheet would run as
a formula (=, +, -, @, tab, CR) are neutralised in CSV, Excel CSV and XLSX while numbers stay numbers;
rich markup and ESC sequences in titles are shown literally, never interpreted by the terminal; a title
cannot steer a run file's output outside its folder; and HTTPS_PROXY and SSL_CERT_FILE are honoured by the
installed command (no internet is used: the proxy and the server are refused loopback ports).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.support import kpijmf_env, run_kpijmf

KOMMUN_TITLE = '=HYPERLINK("http://x","y")'
GROUP_TITLES = {
    "G30831": "@SUM(A1)",  # size class
    "G92790": "+1+2 [red]x[/red] [link=http://evil]click[/link] :warning:",  # kommungrupp
    "G33630": '-3+4\r=HYPERLINK("http://evil","z")',  # county; a CR that must not start a new CSV row
    "G2328": "\t=cmd|' /C calc'!A0",  # alla kommuner
}
RIKET_TITLE = "\r=1+1"
KPI_TITLE = "=2*3 Långtidsarbetslöshet (%)"
COMPARE = ["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def hostile_universe():
    universe = small_universe()
    universe.municipalities["2380"]["title"] = KOMMUN_TITLE
    universe.municipalities["0000"]["title"] = RIKET_TITLE
    for group, title in GROUP_TITLES.items():
        universe.groups[group]["title"] = title
    universe.kpis["N03926"]["title"] = KPI_TITLE
    return universe


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """An emulator whose titles are formulas and markup, and a store fetched from it."""
    with EmulatorServer(hostile_universe()) as emulator:
        env = kpijmf_env(emulator.url, tmp_path_factory.mktemp("hostile") / "store")
        first = run_kpijmf([*COMPARE, "-f", "csv"], env)  # the titles arrive with the first fetch
        assert first.code == 0, first.stderr
        yield env


TITLES = [KOMMUN_TITLE, RIKET_TITLE, *GROUP_TITLES.values()]


def _neutralised(cells: list[str]) -> None:
    """Every hostile title appears, and only as text prefixed with ', never as a live formula; a CR inside
    a title is a line break inside its (quoted) cell."""
    for title in [*TITLES, KPI_TITLE]:
        assert "'" + title.replace("\r", "\n") in cells, title
    live = [c for c in cells if c.startswith(FORMULA_STARTS) and not _number(c)]
    assert live == []


def _number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


CSV_FORMATS = [("csv", ",", ".", "utf-8"), ("excel", ";", ",", "utf-8-sig")]


@pytest.mark.parametrize(("fmt", "sep", "decimal", "encoding"), CSV_FORMATS, ids=["csv", "excel"])
def test_formula_titles_are_neutralised_in_csv_and_numbers_stay_numbers(hostile, tmp_path, fmt, sep, decimal, encoding):
    out = tmp_path / f"out.{fmt}.csv"
    run = run_kpijmf([*COMPARE, "-f", fmt, "-o", str(out)], hostile)
    assert run.code == 0, run.stderr
    text = out.read_bytes().decode(encoding)
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=sep))
    assert len(rows) == 18  # 6 rows × 3 years: no title split a row in two
    _neutralised([cell for row in rows for cell in row.values()])
    diffs = [row["diff_alla"] for row in rows if row["diff_alla"]]
    negative = [d for d in diffs if d.startswith("-")]
    assert negative, "the fixture has kommuner below the mean"
    assert all(_number(d) and (decimal in d or d.lstrip("-").isdigit()) for d in negative)  # not "'-0.05"
    assert all(_number(row["value"]) for row in rows if row["value"])


def test_formula_titles_are_text_cells_in_xlsx_and_numbers_stay_numbers(hostile, tmp_path):
    out = tmp_path / "out.xlsx"
    run = run_kpijmf([*COMPARE, "-o", str(out)], hostile)
    assert run.code == 0, run.stderr
    workbook = openpyxl.load_workbook(out)
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []  # no formula anywhere
    texts = [c.value for c in cells if isinstance(c.value, str)]
    for title in [KOMMUN_TITLE, RIKET_TITLE, *GROUP_TITLES.values()]:
        assert "'" + title.replace("\r", "\n") in texts, title  # XML reads a CR back as a line feed
    assert all(not t.startswith(FORMULA_STARTS) for t in texts)
    negative = [c.value for c in cells if c.data_type == "n" and isinstance(c.value, float) and c.value < 0]
    assert negative, "negative differences are stored as numbers"


def test_markup_in_titles_is_shown_literally_in_the_table(hostile):
    run = run_kpijmf([*COMPARE, "-f", "table"], hostile)
    assert run.code == 0, run.stderr
    assert "[red]x[/red]" in run.stdout
    assert "[link=http://evil]click[/link]" in run.stdout
    assert ":warning:" in run.stdout  # no emoji either
    assert "\r" not in run.stdout


def test_escape_sequences_in_titles_never_reach_the_terminal(tmp_path):
    universe = small_universe()
    universe.municipalities["2380"]["title"] = "Östersund\x1b[2J\x1b]52;c;ZXZpbA==\x07"  # clear screen, set clipboard
    universe.groups["G92790"]["title"] = "Större stad\x1b[8m"  # hidden text from here on
    with EmulatorServer(universe) as emulator:
        env = kpijmf_env(emulator.url, tmp_path / "store")
        table = run_kpijmf([*COMPARE, "-f", "table"], env)
        show = run_kpijmf(["kommun", "show", "2380"], env)
    for run in (table, show):
        assert run.code == 0, run.stderr
        assert "\x1b" not in run.stdout and "\x07" not in run.stdout
        assert "\x1b" not in run.stderr  # the "no liknande group for <title>" warning
    assert "Östersund\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07" in table.stdout  # shown, visibly escaped
    assert "Större stad\\x1b[8m" in show.stdout
    assert "Östersund\\x1b[2J" in table.stderr


def test_a_title_cannot_steer_a_run_file_output_out_of_its_folder(tmp_path):
    universe = small_universe()
    universe.municipalities["2380"]["title"] = "../../escaped"
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    run_file = folder / "kpijmf.toml"
    run_file.write_text(
        'kommuner = ["2380"]\nrefresh = false\nyears = "2019-2021"\n'
        '[[output]]\nformat = "csv"\npath = "out/{kommun}.csv"\n',
        encoding="utf-8",
    )
    with EmulatorServer(universe) as emulator:
        run = run_kpijmf(["run", str(run_file), "--quiet"], kpijmf_env(emulator.url, tmp_path / "store"))
    assert run.code == 0, run.stderr
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv")]
    assert written == [Path("a/b/out/____escaped.csv")]  # no separators, no "..", no leading dots


# -- TLS and proxies, through the installed command ----------------------------------------------------

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _network_env(api_url: str, store: Path, **extra: str) -> dict[str, str]:
    env = kpijmf_env(api_url, store, KPIJMF_MAX_TRIES="2")
    for name in (*PROXY_VARIABLES, *(v.lower() for v in PROXY_VARIABLES), "SSL_CERT_FILE", "SSL_CERT_DIR"):
        env.pop(name, None)
    env.update(extra)
    return env


def test_unreadable_ssl_cert_file_exits_4_naming_it(tmp_path):
    env = _network_env("https://127.0.0.1:9/v3", tmp_path / "store", SSL_CERT_FILE=str(tmp_path / "missing.pem"))
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env)
    assert run.code == 4
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        f"kpijmf: error: cannot set up HTTPS (SSL_CERT_FILE={tmp_path / 'missing.pem'}): no such file or directory"
    ]


def test_https_proxy_from_the_environment_is_used_and_named(tmp_path):
    # kolada.invalid cannot resolve: only going through the (refused) proxy explains the message
    env = _network_env("https://kolada.invalid/v3", tmp_path / "store", HTTPS_PROXY="http://127.0.0.1:9")
    run = run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2021"], env)
    assert run.code == 4
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("kpijmf: error: cannot reach Kolada at https://kolada.invalid/v3/")
    assert "via proxy http://127.0.0.1:9: connection refused" in lines[0]
