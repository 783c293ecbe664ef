"""`kpijmf revisions` as people read it: titles, units, the KPI's decimals, local time, rounding-only changes."""

from __future__ import annotations

import re
from datetime import date

import pytest

from kpijmf.output.revisions import local_time, revision_lines
from tests.emulator import EmulatorServer, small_universe
from tests.support import kpijmf_env, run_kpijmf

KPIS = {"N31008": ("Nettokostnad ekonomiskt bistånd, kr/inv", "kr/inv"), "N03926": ("Långtidsarbetslösa (%)", "%")}


def _row(kpi, unit_id, old, new, kind="changed", seen="2026-09-01T10:15:00+00:00"):
    return {"kpi": kpi, "year": 2021, "unit_id": unit_id, "unit_title": "Alla kommuner (ovägt medel)",
            "gender": "T", "old_value": old, "new_value": new, "kind": kind, "seen_at": seen}  # fmt: skip


def test_values_in_the_kpis_decimals_with_title_and_unit():
    (line,) = revision_lines([_row("N31008", "2380", 2236.0, 2251.0)], KPIS)
    assert (line.old, line.new) == ("2\u00a0236", "2\u00a0251")  # kr: no decimals, not "2 236,00"
    assert line.kpi_title == "Nettokostnad ekonomiskt bistånd, kr/inv" and line.unit == "kr/inv"
    assert not line.rounding and line.note == ""


def test_a_change_beyond_the_shown_decimals_is_marked_avrundning():
    lines = revision_lines([_row("N03926", "G2328", 3.4512, 3.4498), _row("N03926", "G2328", 3.45, 3.55),
                            _row("N03926", "2380", 3.4, None, kind="removed")], KPIS)  # fmt: skip
    assert [(x.old, x.new, x.note) for x in lines] == [("3,5", "3,4", ""), ("3,5", "3,6", ""),
                                                      ("3,4", "återkallat", "")]  # fmt: skip
    (same,) = revision_lines([_row("N03926", "G2328", 3.4512, 3.4549)], KPIS)
    assert (same.old, same.new, same.rounding, same.note) == ("3,5", "3,5", True, "avrundning")


def test_seen_is_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    import time

    time.tzset()
    try:
        assert local_time("2026-09-01T10:15:00+00:00") == "2026-09-01 12:15"  # CEST
        assert local_time("2026-01-15T10:15:00Z") == "2026-01-15 11:15"  # CET
        assert local_time("2026-01-15T10:15:00") == "2026-01-15 11:15"  # stored naive = UTC
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.fixture(scope="module")
def revised(tmp_path_factory):
    """A store where Östersund's N03926 2021 moved by 0.001 (rounding) and 2020 by 0.4 (a real revision)."""
    with EmulatorServer(small_universe()) as emu:
        env = kpijmf_env(emu.url, tmp_path_factory.mktemp("store"), TZ="Europe/Stockholm")
        assert run_kpijmf(["fetch", "--kpi", "N03926", "--years", "2020-2021", "--kommun", "2380"], env).code == 0
        u = emu.universe
        today = date.today()
        u.set_value("N03926", "2380", 2021, "T", u.value("N03926", "2380", 2021) + 0.001, today)
        u.set_value("N03926", "2380", 2020, "T", u.value("N03926", "2380", 2020) + 0.4, today)
        run = run_kpijmf(["refresh", "--kpi", "N03926", "--kommun", "2380"], env)
        assert run.code == 0, run.stderr
        yield env


def test_revisions_table_has_titles_local_time_and_hides_rounding(revised):
    run = run_kpijmf(["revisions"], revised)
    assert run.code == 0, run.stderr
    assert "Nyckeltal" in run.stdout and "Långtidsarbetslös" in run.stdout
    assert "+00:00" not in run.stdout and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", run.stdout)
    table_rows = [line for line in run.stdout.splitlines() if "N03926" in line]
    assert table_rows and all(" 2020 " in line for line in table_rows)  # 2021 moved beyond the decimals only
    assert "avrundning" in run.stderr and "--all" in run.stderr
    everything = run_kpijmf(["revisions", "--all"], revised)
    assert any(" 2021 " in line and "avrundning" in line for line in everything.stdout.splitlines())


def _revised_frame():
    from tests.comparison_fixture import sample_frame

    frame = sample_frame()
    frame["revised"] = (frame["id"] == "2380") & (frame["year"] == 2021) & (frame["kpi"] == "N03926")
    return frame


def test_compare_markdown_marks_revised_cells_with_a_dagger():
    from kpijmf.output.files import render_bytes

    md = render_bytes(_revised_frame(), "md").decode("utf-8")
    kommun_row = next(line for line in md.splitlines() if line.startswith("| Östersund"))
    assert kommun_row.count("†") == 1 and "2,9†" in kommun_row
    assert "† reviderat av Kolada sedan en tidigare hämtning" in md
    assert "†" not in render_bytes(_revised_frame().drop(columns="revised"), "md").decode("utf-8")


def test_compare_xlsx_marks_revised_cells_and_keeps_them_numbers():
    import io

    import openpyxl

    from kpijmf.output.files import render_bytes

    wb = openpyxl.load_workbook(io.BytesIO(render_bytes(_revised_frame(), "xlsx")))
    sheet = wb[wb.sheetnames[0]]
    marked = [c for row in sheet.iter_rows() for c in row if "†" in str(c.number_format)]
    assert len(marked) == 1 and isinstance(marked[0].value, float) and marked[0].value == pytest.approx(2.9)
    assert "reviderat av Kolada" in marked[0].comment.text
    assert any("† reviderat av Kolada" in str(c.value) for row in sheet.iter_rows() for c in row)
