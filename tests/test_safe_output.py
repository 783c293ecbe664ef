"""End to end: what Kolada sends cannot be turned against the user. Titles that a spreadsheet would run as
a formula (=, +, -, @, tab, CR) are neutralised in CSV, Excel CSV and XLSX while numbers stay numbers;
rich markup, ESC sequences, C1 controls and bidi overrides in titles are shown escaped in every format,
never interpreted by the terminal (JSON keeps them, escaped); a title cannot steer a run file's output outside
its folder; `-o` onto a device, symlink to a device, FIFO, `-` or `/dev/stdout` writes in place, and a full disk
is one error line; and HTTPS_PROXY and SSL_CERT_FILE are honoured by the
installed command (no internet is used: the proxy and the server are refused loopback ports).
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
from pathlib import Path

import openpyxl
import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.support import ENTRY_POINT, kpijmf_env, run_kpijmf

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
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"kpijmf: error: cannot set up HTTPS (SSL_CERT_FILE={tmp_path / 'missing.pem'}): no such file or directory"
    )
    assert "SSL_CERT_FILE" in lines[0].split("no such file or directory")[1]  # the hint names what to check


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


# -- control characters and bidi overrides from the API --------------------------------------------------

ESC_CLEAR, RLO, LRI, PDI, LRM = "\x1b[2J", "\u202e", "\u2066", "\u2069", "\u200e"
HOSTILE_GROUP = f"Större stad{ESC_CLEAR}{RLO}evil{LRI}x{PDI}{LRM}\x9b1m"  # C1 CSI too
HOSTILE_KOMMUN = f"Östersund{RLO}dnusretsÖ"
RAW = ("\x1b", "\x9b", "\x07", RLO, LRI, PDI, LRM, "\u202a", "\u202b", "\u202c", "\u202d", "\u2067", "\u2068",
       "\u200f", "\u061c")  # fmt: skip


def _no_raw(text: str) -> None:
    found = sorted({f"U+{ord(ch):04X}" for ch in text if ch in RAW})
    assert found == [], found


@pytest.fixture(scope="module")
def bidi(tmp_path_factory):
    """An emulator whose kommungrupp title holds ESC[2J, C1 and bidi controls, and a store fetched from it."""
    universe = small_universe()
    universe.groups["G92790"]["title"] = HOSTILE_GROUP
    universe.municipalities["2380"]["title"] = HOSTILE_KOMMUN
    with EmulatorServer(universe) as emulator:
        env = kpijmf_env(emulator.url, tmp_path_factory.mktemp("bidi") / "store")
        first = run_kpijmf([*COMPARE, "-f", "csv"], env)
        assert first.code == 0, first.stderr
        yield env


@pytest.mark.parametrize("fmt", ["csv", "excel", "md", "table"])
def test_controls_and_bidi_in_titles_are_escaped_on_stdout_and_stderr(bidi, fmt):
    run = run_kpijmf([*COMPARE, "-f", fmt], bidi)
    assert run.code == 0, run.stderr
    _no_raw(run.stdout)
    _no_raw(run.stderr)
    shown = r"\x1b[2J\u202eevil\u2066x\u2069\u200e\x9b1m"
    if fmt == "md":  # Markdown escapes the backslash and the bracket; rendered, it reads as above
        shown = r"\\x1b\[2J\\u202eevil\\u2066x\\u2069\\u200e\\x9b1m"
    assert "Större stad" + shown in run.stdout
    assert "Östersund\\u202ednusretsÖ" in run.stderr  # the "no liknande group for <kommun>" warning


def test_kommun_show_escapes_controls_and_bidi(bidi):
    run = run_kpijmf(["kommun", "show", "2380"], bidi)
    assert run.code == 0, run.stderr
    _no_raw(run.stdout + run.stderr)
    assert "Östersund\\u202ednusretsÖ" in run.stdout
    assert "Större stad\\x1b[2J\\u202eevil" in run.stdout


def test_json_keeps_the_title_and_escapes_its_controls(bidi):
    run = run_kpijmf([*COMPARE, "-f", "json"], bidi)
    assert run.code == 0, run.stderr
    _no_raw(run.stdout)
    assert "\\u202e" in run.stdout and "\\u001b[2J" in run.stdout
    titles = {row["title"] for row in json.loads(run.stdout)["rows"]}
    assert HOSTILE_GROUP in titles  # read back, the title is what Kolada sent


def test_xlsx_cells_show_controls_and_bidi_escaped(bidi, tmp_path):
    out = tmp_path / "out.xlsx"
    assert run_kpijmf([*COMPARE, "-o", str(out)], bidi).code == 0
    texts = [c.value for ws in openpyxl.load_workbook(out).worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]  # fmt: skip
    _no_raw("".join(texts))
    assert any("Större stad\\x1b[2J\\u202eevil" in t for t in texts)


def test_html_report_escapes_controls_and_bidi_and_quiet_hides_matplotlib_warnings(bidi, tmp_path):
    out = tmp_path / "rapport.html"
    # an unwritable MPLCONFIGDIR makes matplotlib log two warnings; -q keeps them off stderr
    env = {**bidi, "MPLCONFIGDIR": "/proc/kpijmf-unwritable"}
    run = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "-o", str(out),
                      "-q"], env)  # fmt: skip
    assert run.code == 0, run.stderr
    assert (run.stdout, run.stderr) == ("", "")
    loud = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "-o", str(out)], env)
    assert "MPLCONFIGDIR" in loud.stderr  # what -q hid
    page = out.read_text(encoding="utf-8")
    _no_raw(page)
    assert "Större stad\\x1b[2J\\u202eevil" in page


# -- devices, pipes and full disks -----------------------------------------------------------------------

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")


@needs_root
def test_compare_onto_a_device_node_leaves_it_a_device(hostile, tmp_path):
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    link = tmp_path / "link.csv"
    link.symlink_to(null)
    for target in (null, link):
        run = run_kpijmf([*COMPARE, "-f", "csv", "-o", str(target)], hostile)
        assert run.code == 0, run.stderr
        assert stat.S_ISCHR(null.stat().st_mode) and null.stat().st_rdev == os.makedev(1, 3)
    assert link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["link.csv", "null"]


@pytest.mark.parametrize("target", ["-", "/dev/stdout"])
def test_compare_into_a_pipe_by_name(hostile, target):
    run = run_kpijmf([*COMPARE, "-f", "csv", "-o", target], hostile)  # run_kpijmf's stdout is a pipe
    assert run.code == 0, run.stderr
    assert len(list(csv.DictReader(io.StringIO(run.stdout)))) == 18


def test_compare_into_a_fifo_writes_in_place(hostile, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    run = run_kpijmf([*COMPARE, "-f", "csv", "-o", str(fifo)], hostile)
    out, _ = reader.communicate(timeout=60)
    assert run.code == 0, run.stderr
    assert len(list(csv.DictReader(io.StringIO(out.decode())))) == 18
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_output_onto_a_full_device_is_exit_1_naming_path_and_cause(hostile):
    run = run_kpijmf([*COMPARE, "-f", "csv", "-o", "/dev/full"], hostile)
    assert run.code == 1
    assert run.stderr.splitlines()[-1:] == ["kpijmf: error: cannot write /dev/full: no space left on device"]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    "args",
    [
        [*COMPARE, "-f", "csv"],
        [*COMPARE, "-f", "table"],
        [*COMPARE, "-f", "xlsx", "-o", "-"],
        ["kommun", "show", "2380"],
    ],
    ids=["csv", "table", "xlsx", "kommun-show"],
)
def test_stdout_on_a_full_disk_is_exit_1_and_one_line(hostile, args):
    with open("/dev/full", "wb") as full:
        done = subprocess.run([str(ENTRY_POINT), *args], env=hostile, stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 1
    errors = [line for line in done.stderr.decode().splitlines() if not line.startswith("kpijmf: warning: ")]
    assert errors == ["kpijmf: error: cannot write to stdout: no space left on device"]
