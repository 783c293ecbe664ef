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


def test_markdown_report_writes_png_charts_beside_it(env, tmp_path):
    target = tmp_path / "out" / "rapport.md"
    target.parent.mkdir()
    run = run_kpijmf(["report", "--kommun", "Östersund", "--kpi", "N03926,U40455", "--years", "2019-2021",
                      "--output", str(target), "--lang", "en"], env)  # fmt: skip
    assert run.code == 0, run.stderr
    pngs = sorted(p.name for p in target.parent.glob("*.png"))
    assert pngs == ["rapport-N03926-line.png", "rapport-N03926-strip.png", "rapport-U40455-line.png",
                    "rapport-U40455-strip.png"]  # fmt: skip
    text = target.read_text(encoding="utf-8")
    assert "(rapport-N03926-line.png)" in text and "Indicator" in text
    assert all((target.parent / name).read_bytes().startswith(b"\x89PNG") for name in pngs)


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
