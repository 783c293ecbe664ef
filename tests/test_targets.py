"""Målvärden: parsing and checking targets, and whether a value meets one."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest

from kpijmf.compare import KpiInfo, apply_targets, build_comparison
from kpijmf.domain.catalog import Unit
from kpijmf.domain.kpisets import KpiSpec, parse_set
from kpijmf.domain.targets import MET, NO_DATA, NOT_MET, Target, parse_targets
from kpijmf.errors import InvalidFileError
from tests.support import kpijmf_env, run_kpijmf

SPECS = {
    "U40455": KpiSpec("U40455", "Till arbete eller studier", "%", "higher"),
    "N03926": KpiSpec("N03926", "Långtidsarbetslöshet", "%", "lower"),
    "N40011": KpiSpec("N40011", "Nettokostnad", "kr/inv", "lower"),
    "U40800": KpiSpec("U40800", "Deltagare", "antal", "neutral"),
}


def parse(*tables: dict) -> tuple[list[Target], list[str]]:
    problems: list[str] = []
    targets = parse_targets(list(tables), SPECS, lambda key, message: problems.append(f"{key}: {message}"))
    return targets, problems


def test_comparison_follows_the_kpi_direction():
    targets, problems = parse({"kpi": "U40455", "kommun": "2380", "value": 34},
                              {"kpi": "N03926", "kommun": "Östersund", "value": 3, "years": "2020-2021"})  # fmt: skip
    assert problems == []
    assert [(t.comparison, t.years) for t in targets] == [(">=", None), ("<=", (2020, 2021))]


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"kpi": "U99999", "kommun": "2380", "value": 1}, "target[1].kpi: U99999 is not a KPI of this set"),
        ({"kpi": "U40800", "kommun": "2380", "value": 100}, "target[1].comparison: U40800 has no better direction"),
        ({"kpi": "U40455", "kommun": "2380", "value": 134}, "target[1].value: 134 is not a percentage"),
        ({"kpi": "N40011", "kommun": "2380", "value": -5}, "target[1].value: -5 cannot be negative"),
        ({"kpi": "U40455", "kommun": "2380", "value": "35%"}, "target[1].value: required: a number"),
        ({"kpi": "U40455", "kommun": "2380", "value": 35, "years": "2025-2020"}, "target[1].years:"),
        ({"kpi": "U40455", "kommun": "2380", "value": 35, "comparison": ">"}, "must be '>=' or '<='"),
        ({"kpi": "U40455", "kommun": "2380", "value": 35, "colour": "red"}, "target[1].colour: unknown key"),
        ({"kpi": "U40455", "value": 35}, "target[1].kommun: required"),
    ],
)
def test_bad_targets_are_reported(table, fragment):
    targets, problems = parse(table)
    assert targets == []
    assert any(fragment in p for p in problems), problems


def test_status_met_not_met_no_data_both_directions():
    higher = Target("U40455", "2380", 34, ">=")
    lower = Target("N03926", "2380", 3.0, "<=")
    assert (higher.status(34), higher.status(33.9), higher.status(None)) == (MET, NOT_MET, NO_DATA)
    assert (lower.status(2.6), lower.status(3.2), lower.status(math.nan)) == (MET, NOT_MET, NO_DATA)


def test_a_set_file_carries_targets_and_validation_reports_them():
    text = """
[[kpi]]
id = "U40455"
label = "Till arbete eller studier"
unit = "%"
direction = "higher"

[[target]]
kpi = "U40455"
kommun = "2380"
value = 34

[[target]]
kpi = "N03926"
kommun = "2380"
value = 3
"""
    with pytest.raises(InvalidFileError) as caught:
        parse_set(text, "mitt.toml")
    assert caught.value.problems == ["mitt.toml: target[2].kpi: N03926 is not a KPI of this set"]
    ok = parse_set(text.split('[[target]]\nkpi = "N03926"')[0], "mitt.toml")
    assert ok.targets == (Target("U40455", "2380", 34.0, ">="),)


def test_apply_targets_marks_only_the_kommuns_rows():
    obs = pd.DataFrame(
        [("U40455", 2021, "1", "T", 40.0, 1, "", ""), ("U40455", 2021, "2", "T", 30.0, 1, "", "")],
        columns=["kpi", "year", "unit_id", "gender", "value", "count", "status", "fetched_at"],
    )
    frame = build_comparison(obs, kommun=Unit("1", "Aby", "K"), peers=[], kommun_ids=["1", "2"], years=[2021],
                             kpis=[KpiInfo("U40455", "t", "l", "%", "higher")])  # fmt: skip
    marked = apply_targets(frame, [Target("U40455", "1", 35, ">=")], "1")
    assert marked.loc[marked.id == "1", ["target", "target_status"]].values.tolist() == [[35.0, MET]]


SET_WITH_TARGETS = """
name = "mal"

[[kpi]]
id = "U40455"
label = "Till arbete eller studier"
unit = "%"
direction = "higher"

[[kpi]]
id = "N03926"
label = "Långtidsarbetslöshet"
unit = "%"
direction = "lower"

[[target]]
kpi = "U40455"
kommun = "Östersund"
value = 40

[[target]]
kpi = "N03926"
kommun = "2380"
value = 3.0
years = "2019-2021"

[[target]]
kpi = "N03926"
kommun = "Berg"
value = 4.0
"""


def test_targets_appear_in_compare_end_to_end(emulator, tmp_path):
    (tmp_path / "mal.toml").write_text(SET_WITH_TARGETS, encoding="utf-8")
    env = kpijmf_env(emulator.url, tmp_path / "store")

    def targets_of(kommun):
        run = run_kpijmf(["compare", "--kommun", kommun, "--set", str(tmp_path / "mal.toml"), "--years", "2019-2021",
                          "-f", "csv"], env)  # fmt: skip
        assert run.code == 0, run.stderr
        frame = pd.read_csv(io.StringIO(run.stdout), dtype={"id": str}, keep_default_na=False)
        rows = frame[frame.target_status != ""]
        return {(r.kpi, r.year): (float(r.target), r.target_status) for r in rows.itertuples()}

    assert targets_of("2380") == {
        ("U40455", 2019): (40.0, MET), ("U40455", 2020): (40.0, MET), ("U40455", 2021): (40.0, NOT_MET),  # higher
        ("N03926", 2019): (3.0, MET), ("N03926", 2020): (3.0, MET), ("N03926", 2021): (3.0, NOT_MET),  # lower
    }  # fmt: skip
    berg = targets_of("Berg")
    assert berg[("N03926", 2021)] == (4.0, NO_DATA)  # Berg has no 2021 row


def test_markdown_report_shows_the_target_row_under_the_kommun(emulator, tmp_path):
    (tmp_path / "mal.toml").write_text(SET_WITH_TARGETS, encoding="utf-8")
    env = kpijmf_env(emulator.url, tmp_path / "store")
    run = run_kpijmf(["compare", "--kommun", "2380", "--set", str(tmp_path / "mal.toml"), "--years", "2019-2021",
                      "-f", "md"], env)  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    kommun = lines.index("| Östersund | 41,9 | 41,5 | 38,9 | 12\u00a0av\u00a017 |")  # no-break: never split
    assert lines[kommun + 1] == "| Målvärde ≥ 40,0 | uppfyllt | uppfyllt | ej uppfyllt |  |"


# -- targets files: names, caps and unreadable files --------------------------------------------------

TARGETS_FILE = """
[[target]]
kpi = "N03926"
kommun = "Håbo"
value = 3

[[target]]
kpi = "N03926"
kommun = "Ingenstans"
value = 3
"""


def catalog_for_targets():
    from kpijmf.domain.catalog import Catalog

    units = [{"id": "0305", "title": "Håbo", "type": "K"}, {"id": "0643", "title": "Habo", "type": "K"}]
    return Catalog(units, [], [])


def test_targets_follow_the_name_rule_and_an_unknown_kommun_is_an_invalid_file(tmp_path):
    from kpijmf.domain.targets import load_targets_file, targets_for

    path = tmp_path / "mal.toml"
    path.write_text(TARGETS_FILE, encoding="utf-8")
    targets = load_targets_file(path, SPECS)
    catalog = catalog_for_targets()
    with pytest.raises(InvalidFileError) as caught:
        targets_for(targets, "0305", catalog.find_kommun)
    assert caught.value.exit_code == 5
    assert caught.value.problems == [f"{path}: target[2].kommun: no kommun named 'Ingenstans'"]
    assert [t.kommun for t in targets_for(targets[:1], "0305", catalog.find_kommun)] == ["Håbo"]
    assert targets_for(targets[:1], "0643", catalog.find_kommun) == []  # Håbo's target is not Habo's


def test_unknown_kommun_in_a_targets_file_exits_5_even_when_quiet(emulator, tmp_path):
    (tmp_path / "mal.toml").write_text(TARGETS_FILE.replace("Håbo", "Östersund"), encoding="utf-8")
    env = kpijmf_env(emulator.url, tmp_path / "store")
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N03926", "--years", "2021", "-f", "csv", "-q",
                      "--targets", str(tmp_path / "mal.toml")], env)  # fmt: skip
    assert run.code == 5
    assert "mal.toml: target[2].kommun: no kommun named 'Ingenstans'" in run.stderr
    assert run.stdout == "" and "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("x = " + "[" * 10_000, "nested 10000 deep"),
        (b"\x00" * 10, "not a text file"),
        (b'[[target]]\nkpi = "\xff"\n', "not UTF-8 text"),
        ("[[target]]\nkpi = 'N03926'\nkommun = '2380'\nvalue = nan\n", "must be a finite number"),
        ("[[target]\n", "line 1, column"),
    ],
)
def test_bad_targets_files_are_invalid_files_not_tracebacks(tmp_path, content, message):
    from kpijmf.domain.targets import load_targets_file

    path = tmp_path / "mal.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(InvalidFileError, match=message):
        load_targets_file(path, SPECS)


def test_unreadable_and_huge_targets_files_are_invalid(tmp_path, monkeypatch):
    from pathlib import Path

    from kpijmf.domain.targets import load_targets_file

    huge = tmp_path / "huge.toml"
    with huge.open("wb") as handle:
        handle.truncate(40_000_000)
    with pytest.raises(InvalidFileError, match="larger than 1 MB"):
        load_targets_file(huge, SPECS)

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)  # chmod 0 does not stop root
    with pytest.raises(InvalidFileError, match="cannot read: Permission denied"):
        load_targets_file(tmp_path / "mal.toml", SPECS)
