"""End to end: `kpijmf report` and `kpijmf plot` against the emulator."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.emulator import EmulatorServer, small_universe
from tests.support import kpijmf_env, run_kpijmf


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with EmulatorServer(small_universe()) as emu:
        yield kpijmf_env(emu.url, tmp_path_factory.mktemp("store"))


def test_html_report_has_every_kpi_with_data_and_loads_nothing(env, tmp_path):
    target = tmp_path / "rapport.html"
    run = run_kpijmf(["report", "--kommun", "2380", "--years", "2019-2021", "--output", str(target)], env)
    assert run.code == 0, run.stderr
    html = target.read_text(encoding="utf-8")
    compare = run_kpijmf(["compare", "--kommun", "2380", "--years", "2019-2021", "--offline", "-f", "csv"], env)
    kpis = {line.split(",")[0] for line in compare.stdout.splitlines()[1:]}
    assert kpis and all(f'id="table-{kpi.lower()}"' in html.lower() for kpi in kpis)
    assert html.count("<svg") >= 2 * len(kpis)
    assert not re.search(r'(src|href)="https?:|@import|url\(https?:', html)
    assert "Källa: Kolada" in html and "egen bearbetning av data från Kolada" in html


def test_markdown_report_writes_png_charts_in_a_folder_beside_it(env, tmp_path):
    target = tmp_path / "out" / "rapport.md"
    target.parent.mkdir()
    run = run_kpijmf(["report", "--kommun", "Östersund", "--kpi", "N03926,U40455", "--years", "2019-2021",
                      "--output", str(target), "--lang", "en"], env)  # fmt: skip
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in target.parent.iterdir()) == ["rapport.md", "rapport_filer"]
    folder = target.parent / "rapport_filer"
    pngs = sorted(p.name for p in folder.iterdir())
    assert pngs == ["N03926-line.png", "N03926-strip.png", "U40455-line.png", "U40455-strip.png"]
    text = target.read_text(encoding="utf-8")
    assert "(rapport_filer/N03926-line.png)" in text and "Indicator" in text
    assert all((folder / name).read_bytes().startswith(b"\x89PNG") for name in pngs)


@pytest.mark.parametrize(("kind", "name"), [("line", "c.svg"), ("strip", "c.svg"), ("line", "c.png")])
def test_plot_writes_one_chart(env, tmp_path, kind, name):
    target = tmp_path / name
    run = run_kpijmf(["plot", "--kommun", "2380", "--kpi", "U40455", "--years", "2019-2021", "--kind", kind,
                      "--output", str(target)], env)  # fmt: skip
    assert run.code == 0, run.stderr
    if name.endswith(".svg"):
        root = ET.fromstring(target.read_bytes())
        assert root.tag.endswith("svg")
        assert "Östersund" in target.read_text(encoding="utf-8")
    else:
        assert target.read_bytes().startswith(b"\x89PNG")


def test_plot_refuses_an_unknown_file_type(env, tmp_path):
    run = run_kpijmf(["plot", "--kommun", "2380", "--kpi", "U40455", "--output", str(tmp_path / "c.gif")], env)
    assert run.code == 2
    assert ".png, .svg" in run.stderr


def without_matplotlib(env: dict[str, str], folder) -> dict[str, str]:
    """The environment of a kpijmf process in which `import matplotlib` fails, as after a plain `pip install .`."""
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text("import sys\nsys.modules['matplotlib'] = None\n", encoding="utf-8")
    return {**env, "PYTHONPATH": str(folder)}


def test_report_without_matplotlib_writes_tables_and_says_how_to_add_charts(env, tmp_path):
    target = tmp_path / "rapport.html"
    bare = without_matplotlib(env, tmp_path / "block")
    run = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926,U40455", "--years", "2019-2021",
                      "--output", str(target)], bare)  # fmt: skip
    assert run.code == 0, run.stderr
    assert "pip install -e '.[charts]'" in run.stderr  # this checkout is a clone: the editable extra
    page = target.read_text(encoding="utf-8")
    assert 'id="table-N03926"' in page and 'id="table-U40455"' in page
    assert 'class="summary"' in page and "<svg" not in page
    assert "Rapporten skrevs utan diagram" in page
    md = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926", "--years", "2019-2021", "--offline",
                     "--output", str(tmp_path / "r.md")], bare)  # fmt: skip
    assert md.code == 0, md.stderr
    assert not (tmp_path / "r_filer").exists() and "| **Östersund** |" in (tmp_path / "r.md").read_text("utf-8")


RUN_FILE = """
kommuner = ["2380"]
years = "2019-2021"

[[output]]
format = "html"
path = "out/{kommun}.html"

[[output]]
format = "md-report"
path = "out/{kommun}.md"

[[output]]
format = "csv"
path = "out/{kommun}.csv"
"""


def test_run_file_writes_html_and_markdown_reports(env, tmp_path):
    (tmp_path / "kpijmf.toml").write_text(RUN_FILE, encoding="utf-8")
    run = run_kpijmf(["run", str(tmp_path / "kpijmf.toml")], env)
    assert run.code == 0, run.stderr
    out = tmp_path / "out"
    page = (out / "Östersund.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and 'class="summary"' in page
    assert "(%C3%96stersund_filer/" in (out / "Östersund.md").read_text(encoding="utf-8")
    assert any(p.suffix == ".png" for p in (out / "Östersund_filer").iterdir())
    assert (out / "Östersund.csv").read_text(encoding="utf-8").startswith("kpi,")


def test_report_for_two_kommuner_has_a_section_each_with_the_vs_row_and_its_own_charts(env, tmp_path):
    target = tmp_path / "rapport.html"
    run = run_kpijmf(["report", "--kommun", "2380,2480", "--vs", "2482", "--kpi", "N03926", "--years", "2020-2021",
                      "--output", str(target)], env)  # fmt: skip
    assert run.code == 0, run.stderr
    page = target.read_text(encoding="utf-8")
    assert "<h2>Östersund (2380)</h2>" in page and "<h2>Umeå (2480)</h2>" in page
    umea = page[page.index('id="kommun-2480"') : page.index("<footer")]
    ostersund = page[page.index('id="kommun-2380"') : page.index('id="kommun-2480"')]
    assert 'id="table-2380-N03926"' in ostersund and 'id="table-2480-N03926"' in umea
    for section, name in ((ostersund, "Östersund"), (umea, "Umeå")):
        assert re.search(rf'<p class="summary">{name} ', section), name  # the summary speaks of its own kommun
        assert section.count('<tr class="vs">') == 1 and section.count("<svg") == 2
    assert re.search(r'aria-label="[^"]*: Umeå och jämförelsegrupper per år"', umea)  # Umeå's own line chart
    assert "Östersund" not in umea


def test_report_of_a_neutral_count_has_no_rank_quartile_or_mean_wording(env, tmp_path):
    target = tmp_path / "rapport.md"
    run = run_kpijmf(["report", "--kommun", "2380", "--kpi", "U40800", "--years", "2020-2021", "--output",
                      str(target)], env)  # fmt: skip
    assert run.code == 0, run.stderr
    text = target.read_text(encoding="utf-8")
    assert not re.search(r"kvartil \d|\d+ av \d+", text)
    assert "Ingen rang eller kvartil: nyckeltalet har ingen bättre eller sämre riktning." in text
    assert "Antal: jämförs inte med medelvärden" in text and "Riket (totalt)" in text
    assert "medel" not in text.split("## ")[1].split("|")[0]  # the summary above the table sets no mean against it
