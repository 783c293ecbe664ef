"""KPI sets: built-in TOML files, user files, validation messages and ad-hoc sets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kpijmf.domain.kpisets import (
    DEFAULT_SET,
    KpiSet,
    KpiSpec,
    adhoc_set,
    list_builtin_sets,
    load_set,
    parse_set,
    validate_file,
)
from kpijmf.errors import InvalidFileError, NotFoundError, UsageError

AUDIT_IDS = [
    "N40011", "U40800", "U40811", "N03932", "N03926", "N03927", "N02797", "U40455",
    "U40406", "U40409", "N00973", "N30101", "N18601", "N03941", "N03942",
]  # fmt: skip

VALID = """\
name = "mitt"
title = "Mitt urval"
description = "Ett eget urval."

[[kpi]]
id = "N03926"
label = "Långtidsarbetslöshet 25-64 år"
unit = "%"
direction = "lower"
note = "Andel av befolkningen."

[[kpi]]
id = "N03952"
label = "Långtidsarbetslösa 18-65 år"
unit = "%"
direction = "lower"
not_comparable_with = ["N03926"]
"""


def write(tmp_path: Path, text: str, name: str = "my.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Validate `text` saved as my.toml, addressed relatively so problems start with 'my.toml: '."""
    write(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    return validate_file("my.toml")


# --- built-in sets ----------------------------------------------------------------------------------


def test_builtin_sets_are_listed_sorted():
    assert list_builtin_sets() == ["arbetsmarknad", "ekonomiskt_bistand", "unga"]
    assert DEFAULT_SET in list_builtin_sets()


@pytest.mark.parametrize("name", ["arbetsmarknad", "ekonomiskt_bistand", "unga"])
def test_every_builtin_set_loads_clean_with_its_own_name(name):
    kpiset = load_set(name)
    assert kpiset.name == name
    assert kpiset.source == "built-in"
    assert kpiset.title and kpiset.description
    assert kpiset.kpis
    for spec in kpiset.kpis:
        assert spec.label and spec.label != spec.id
        assert spec.unit in {"%", "kr/inv", "antal"}
        assert spec.direction in {"higher", "lower", "neutral"}


@pytest.mark.parametrize("name", ["arbetsmarknad", "ekonomiskt_bistand", "unga"])
def test_every_builtin_file_validates_without_problems(name):
    path = Path(__file__).resolve().parent.parent / "kpi_sets" / f"{name}.toml"
    assert validate_file(path) == []


def test_default_set_has_exactly_the_audit_kpis_in_order():
    assert load_set(DEFAULT_SET).ids() == AUDIT_IDS


def test_default_set_marks_bas_series_as_not_comparable_with_the_discontinued_ones():
    kpiset = load_set(DEFAULT_SET)
    assert kpiset.get("N03941").not_comparable_with == ("N03932",)
    assert kpiset.get("N03942").not_comparable_with == ("N03927",)
    assert "BAS" in kpiset.get("N03941").note


def test_default_set_knows_n18601_replaces_retired_n17434():
    spec = load_set(DEFAULT_SET).get("N18601")
    assert spec.replaces == "N17434"
    assert spec.direction == "higher"
    assert "N17434" in spec.note


def test_default_set_directions_and_units_follow_the_audits():
    kpiset = load_set(DEFAULT_SET)
    assert (kpiset.get("N40011").unit, kpiset.get("N40011").direction) == ("kr/inv", "lower")
    assert (kpiset.get("U40800").unit, kpiset.get("U40800").direction) == ("antal", "neutral")
    assert kpiset.get("U40455").direction == "higher"
    assert kpiset.get("N03926").label == "Långtidsarbetslöshet 25-65 år"
    for discontinued in ("N03932", "N03927"):
        assert kpiset.get(discontinued).ended == 2023


def test_other_builtin_sets_hold_the_agreed_ids():
    assert load_set("ekonomiskt_bistand").ids() == [
        "N31807", "N31816", "N31814", "N31008", "U31804", "N30101", "N30005",
    ]  # fmt: skip
    assert load_set("unga").ids() == ["N02797", "N03927", "N03942", "N18601", "U40811", "U31804", "N03935"]


def test_builtin_name_is_matched_ignoring_case_and_hyphens():
    assert load_set("Ekonomiskt-Bistand").name == "ekonomiskt_bistand"


def test_misspelt_set_name_is_not_found_with_suggestion():
    with pytest.raises(NotFoundError) as caught:
        load_set("arbetsmarknd")
    assert str(caught.value) == (
        "unknown KPI set 'arbetsmarknd'; did you mean 'arbetsmarknad'? "
        "(built-in: arbetsmarknad, ekonomiskt_bistand, unga)"
    )
    assert caught.value.exit_code == 3


def test_unrelated_set_name_lists_builtins_without_a_guess():
    with pytest.raises(NotFoundError) as caught:
        load_set("zzz")
    assert "did you mean" not in str(caught.value)
    assert "(built-in: arbetsmarknad, ekonomiskt_bistand, unga)" in str(caught.value)


# --- KpiSet -----------------------------------------------------------------------------------------


def test_get_returns_none_for_an_id_the_set_does_not_list():
    kpiset = load_set(DEFAULT_SET)
    assert kpiset.get("N99999") is None
    assert kpiset.get("n40011").id == "N40011"


def test_sets_are_frozen():
    kpiset = load_set(DEFAULT_SET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kpiset.name = "x"  # type: ignore[misc]
    assert isinstance(kpiset.kpis, tuple)


# --- user files -------------------------------------------------------------------------------------


def test_user_file_given_by_path_loads_with_its_path_as_source(tmp_path):
    path = write(tmp_path, VALID)
    kpiset = load_set(str(path))
    assert kpiset == KpiSet(
        name="mitt",
        title="Mitt urval",
        description="Ett eget urval.",
        kpis=(
            KpiSpec("N03926", "Långtidsarbetslöshet 25-64 år", "%", "lower", note="Andel av befolkningen."),
            KpiSpec("N03952", "Långtidsarbetslösa 18-65 år", "%", "lower", not_comparable_with=("N03926",)),
        ),
        source=str(path),
    )


def test_bare_file_name_ending_toml_is_a_path_not_a_set_name(tmp_path, monkeypatch):
    write(tmp_path, VALID, name="arbetsmarknad.toml")
    monkeypatch.chdir(tmp_path)
    assert load_set("arbetsmarknad.toml").name == "mitt"


def test_existing_file_without_extension_is_read_as_a_path(tmp_path, monkeypatch):
    write(tmp_path, VALID, name="urval")
    monkeypatch.chdir(tmp_path)
    assert load_set("urval").source == "urval"


def test_name_and_title_default_to_the_file_name(tmp_path):
    body = VALID.split("\n\n", 1)[1]
    kpiset = load_set(str(write(tmp_path, body, name="egna.toml")))
    assert (kpiset.name, kpiset.title, kpiset.description) == ("egna", "egna", "")


def test_missing_file_is_not_found_naming_the_path(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(NotFoundError, match=r"nope\.toml"):
        load_set(str(missing))
    with pytest.raises(NotFoundError, match=r"nope\.toml"):
        validate_file(missing)


def test_invalid_user_file_raises_with_every_problem(tmp_path):
    path = write(tmp_path, VALID.replace('"lower"', '"down"'))
    with pytest.raises(InvalidFileError) as caught:
        load_set(str(path))
    assert caught.value.exit_code == 5
    assert caught.value.problems == [
        f"{path}: kpi[1].direction: must be one of higher, lower, neutral, got 'down'",
        f"{path}: kpi[2].direction: must be one of higher, lower, neutral, got 'down'",
    ]


def test_non_utf8_file_is_invalid_with_line(tmp_path, monkeypatch):
    (tmp_path / "my.toml").write_bytes(b'name = "x"\ntitle = "\xe5r"\n')
    monkeypatch.chdir(tmp_path)
    [problem] = validate_file("my.toml")
    assert problem.startswith("my.toml: line 2: not UTF-8 text")


def test_binary_file_is_invalid(tmp_path, monkeypatch):
    (tmp_path / "my.toml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidFileError) as caught:
        load_set("my.toml")
    assert caught.value.problems == ["my.toml: not a text file (it contains NUL bytes)"]


def test_unreadable_file_is_invalid(tmp_path, monkeypatch):
    write(tmp_path, VALID)
    monkeypatch.chdir(tmp_path)

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    # chmod 0 does not stop root (CI containers), so refuse the read directly.
    monkeypatch.setattr(Path, "open", refuse)
    assert validate_file("my.toml") == ["my.toml: cannot read: Permission denied"]


def test_directory_is_not_a_set_file(tmp_path):
    (tmp_path / "sets.toml").mkdir()
    with pytest.raises(InvalidFileError, match="is a directory"):
        load_set(str(tmp_path / "sets.toml"))


def test_utf8_file_with_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert validate_file(path) == []


# --- validation messages ----------------------------------------------------------------------------


def test_syntax_error_is_reported_with_line_and_column(tmp_path, monkeypatch):
    text = 'name = "x"\ntitle = \n'
    assert problems_of(tmp_path, text, monkeypatch) == ["my.toml: line 2, column 9: Invalid value"]


def test_syntax_error_at_end_of_file_still_names_a_line(tmp_path, monkeypatch):
    [problem] = problems_of(tmp_path, 'name = "x"\ntitle = "open', monkeypatch)
    assert problem == "my.toml: line 2, column 14 (end of file): Unterminated string"


def test_every_problem_is_reported_at_once(tmp_path, monkeypatch):
    text = """\
name = "mitt"
colour = "blå"

[[kpi]]
id = "N03926"
label = 3
unit = "%"
direction = "up"
colour = "röd"

[[kpi]]
label = "Utan id"
unit = "%"
direction = "lower"

[[kpi]]
id = "X123"
label = "Fel id"
unit = "%"
direction = "lower"

[[kpi]]
id = "N03926"
label = "Dubblett"
unit = "%"
direction = "neutral"
"""
    assert problems_of(tmp_path, text, monkeypatch) == [
        "my.toml: colour: unknown key (allowed: name, title, description, liknande, kpi, target)",
        "my.toml: kpi[1].colour: unknown key (allowed: id, label, unit, direction, note, "
        "not_comparable_with, replaces, breaks, break_note, ended, successor)",
        "my.toml: kpi[1].label: must be a string, got integer 3",
        "my.toml: kpi[1].direction: must be one of higher, lower, neutral, got 'up'",
        "my.toml: kpi[2].id: required key is missing",
        "my.toml: kpi[3].id: must be a KPI id, N or U and five digits (e.g. N03926), got 'X123'",
        "my.toml: kpi[4].id: duplicate of kpi[1] ('N03926')",
    ]


def test_misspelt_key_gets_a_suggestion(tmp_path, monkeypatch):
    text = VALID.replace('unit = "%"\ndirection = "lower"\nnote', 'unit = "%"\ndirektion = "lower"\nnote')
    assert problems_of(tmp_path, text, monkeypatch) == [
        "my.toml: kpi[1].direktion: unknown key; did you mean 'direction'?",
        "my.toml: kpi[1].direction: required key is missing",
    ]


def test_empty_kpi_list_is_a_problem(tmp_path, monkeypatch):
    assert problems_of(tmp_path, 'name = "tom"\nkpi = []\n', monkeypatch) == [
        "my.toml: kpi: at least one [[kpi]] table is required",
    ]


def test_file_without_kpi_tables_is_a_problem(tmp_path, monkeypatch):
    assert problems_of(tmp_path, 'name = "tom"\n', monkeypatch) == [
        "my.toml: kpi: at least one [[kpi]] table is required",
    ]


def test_single_kpi_table_instead_of_array_is_explained(tmp_path, monkeypatch):
    text = '[kpi]\nid = "N03926"\nlabel = "x"\nunit = "%"\ndirection = "lower"\n'
    assert problems_of(tmp_path, text, monkeypatch) == [
        "my.toml: kpi: must be an array of tables written [[kpi]], got a single table (written [kpi]?)",
    ]


def test_lower_case_id_is_rejected_with_a_hint(tmp_path, monkeypatch):
    [problem] = problems_of(tmp_path, VALID.replace('id = "N03926"', 'id = "n03926"'), monkeypatch)
    assert problem.startswith("my.toml: kpi[1].id: must be a KPI id")
    assert problem.endswith("got 'n03926'; ids are upper-case")


def test_optional_keys_are_type_checked(tmp_path, monkeypatch):
    text = VALID.replace('not_comparable_with = ["N03926"]', 'not_comparable_with = "N03926"\nreplaces = 17434')
    text = text.replace('note = "Andel av befolkningen."', "note = true")
    text = text.replace('title = "Mitt urval"', "title = 2024-01-01")
    assert problems_of(tmp_path, text, monkeypatch) == [
        "my.toml: title: must be a string, got date/time datetime.date(2024, 1, 1)",
        "my.toml: kpi[1].note: must be a string, got boolean true",
        "my.toml: kpi[2].not_comparable_with: must be an array of KPI ids, got string 'N03926'",
        "my.toml: kpi[2].replaces: must be a string, got integer 17434",
    ]


def test_ids_inside_not_comparable_with_and_replaces_are_checked(tmp_path, monkeypatch):
    text = VALID.replace('not_comparable_with = ["N03926"]', 'not_comparable_with = ["N03952", "bad"]')
    text = text.replace('note = "Andel av befolkningen."', 'replaces = "N03926"')
    assert problems_of(tmp_path, text, monkeypatch) == [
        "my.toml: kpi[1].replaces: a KPI cannot replace itself",
        "my.toml: kpi[2].not_comparable_with[1]: a KPI cannot be not comparable with itself",
        "my.toml: kpi[2].not_comparable_with[2]: must be a KPI id, N or U and five digits (e.g. N03926), got 'bad'",
    ]


def test_empty_label_and_empty_name_are_problems(tmp_path, monkeypatch):
    text = VALID.replace('label = "Långtidsarbetslöshet 25-64 år"', 'label = "  "')
    text = text.replace('name = "mitt"', 'name = ""')
    assert problems_of(tmp_path, text, monkeypatch) == [
        "my.toml: name: must not be empty",
        "my.toml: kpi[1].label: must not be empty",
    ]


def test_empty_unit_is_allowed():
    kpiset = parse_set(VALID.replace('unit = "%"', 'unit = ""', 1), "mine.toml")
    assert kpiset.kpis[0].unit == ""


def test_parse_set_names_its_source_in_problems():
    with pytest.raises(InvalidFileError) as caught:
        parse_set("kpi = 1\n", "from-run-file")
    assert caught.value.problems == [
        "from-run-file: kpi: must be an array of tables written [[kpi]], got integer 1",
    ]


# --- ad-hoc sets ------------------------------------------------------------------------------------


def test_adhoc_set_uses_ids_as_labels_with_neutral_direction():
    kpiset = adhoc_set(["N03926", "U40455"])
    assert kpiset.ids() == ["N03926", "U40455"]
    assert kpiset.get("U40455") == KpiSpec(id="U40455", label="U40455", unit="", direction="neutral")
    assert kpiset.source == "command line"


def test_adhoc_set_accepts_commas_lower_case_and_drops_repeats():
    assert adhoc_set(["n03926,U40455", "N03926"]).ids() == ["N03926", "U40455"]


def test_adhoc_set_rejects_malformed_ids_as_usage_error():
    with pytest.raises(UsageError, match="'N3926'") as caught:
        adhoc_set(["N3926", "N40011"])
    assert caught.value.exit_code == 2


def test_adhoc_set_needs_at_least_one_id():
    with pytest.raises(UsageError):
        adhoc_set([])


# -- series breaks, ended series, successors ---------------------------------------------------------

KOLADA_V3 = Path(__file__).resolve().parents[2] / "shared" / "kolada" / "kolada_kpi_catalog_v3_2026-03-23.csv"


def test_builtin_sets_declare_the_age_band_breaks_kolada_describes():
    kpiset = load_set("arbetsmarknad")
    long_term, unemployment, young = kpiset.get("N03926"), kpiset.get("N03932"), kpiset.get("N03927")
    assert long_term.breaks == (2023,) and "25-64" in long_term.break_note and "25-65" in long_term.break_note
    assert unemployment.breaks == (2023,) and "16-64" in unemployment.break_note
    assert (unemployment.ended, young.ended) == (2023, 2023)
    assert young.breaks == ()  # 16-24 år throughout: Kolada's description names no change
    # Labels say what the latest years mean.
    assert long_term.label == "Långtidsarbetslöshet 25-65 år"
    assert unemployment.label == "Arbetslöshet 16-65 år"
    assert load_set("unga").get("N03927").ended == 2023


@pytest.mark.skipif(not KOLADA_V3.exists(), reason="the shared Kolada catalogue is not beside the repo")
def test_declared_breaks_are_exactly_the_ones_kolada_describes():
    import csv
    import re

    with KOLADA_V3.open(encoding="utf-8") as handle:
        described = {row["id"]: row["description"] for row in csv.DictReader(handle)}
    for name in list_builtin_sets():
        for spec in load_set(name).kpis:
            text = described.get(spec.id, "")
            said = {int(y) + 1 for y in re.findall(r"Till och med (\d{4}) avsåg nyckeltalet", text)}
            said |= {int(y) for y in re.findall(r"data har reviderats från år (\d{4})", text)}
            assert set(spec.breaks) == said, (name, spec.id)


def test_ekonomiskt_bistand_set_names_its_liknande_area():
    assert load_set("ekonomiskt_bistand").liknande == "ekonomiskt bistånd"
    assert load_set("arbetsmarknad").liknande == "arbetsmarknad"


def test_builtin_successors_agree_with_the_table_of_removed_ids():
    from kpijmf.domain.kpisets import successors
    from kpijmf.domain.lineage import successor_of

    assert successors() == {"N17434": "N18601"}
    assert successor_of("n17434 ") == "N18601"
    assert successor_of("N18601") is None
    for name in list_builtin_sets():
        for spec in load_set(name).kpis:
            if spec.replaces:
                assert successor_of(spec.replaces) == spec.id


def test_remarks_name_break_end_successor_and_the_series_not_to_compare_with():
    spec = KpiSpec(
        "N03932", "Arbetslöshet", "%", "lower", not_comparable_with=("N03941",), breaks=(2023,),
        break_note="16-64 år t.o.m. 2022.", ended=2023, successor="N03941",
    )  # fmt: skip
    assert spec.remarks == (
        "Seriebrott 2023: 16-64 år t.o.m. 2022.",
        "upphörde 2023; efterföljare N03941",
        "inte jämförbar med N03941",
    )
    assert KpiSpec("N40011", "x", "", "neutral").remarks == ()
    assert spec.breaks_between(2022, 2023) and spec.breaks_between(2021, 2024)
    assert not spec.breaks_between(2023, 2024) and not spec.breaks_between(2021, 2022)


def test_breaks_ended_and_successor_are_read_from_a_user_file(tmp_path):
    text = VALID.replace(
        'note = "Andel av befolkningen."',
        'note = "Andel av befolkningen."\nbreaks = [2023, 2019]\nbreak_note = "Ny åldersgrupp."\n'
        'ended = 2024\nsuccessor = "N03952"',
    )
    spec = load_set(str(write(tmp_path, text))).get("N03926")
    assert (spec.breaks, spec.break_note, spec.ended, spec.successor) == (
        (2019, 2023),
        "Ny åldersgrupp.",
        2024,
        "N03952",
    )


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("breaks = [2023]", "kpi[1].break_note: required with breaks"),
        ('break_note = "x"', "kpi[1].break_note: give the years of the break"),
        ('breaks = 2023\nbreak_note = "x"', "kpi[1].breaks: must be a non-empty array of years"),
        ('breaks = ["2023"]\nbreak_note = "x"', "kpi[1].breaks[1]: must be a year (a whole number), got string"),
        ('breaks = [1066]\nbreak_note = "x"', "kpi[1].breaks[1]: must be a year from 1990 to 2100, got 1066"),
        ('breaks = [2023, 2023]\nbreak_note = "x"', "kpi[1].breaks: a year is listed twice"),
        ('breaks = [2024]\nbreak_note = "x"\nended = 2023', "kpi[1].breaks: a break after the series ended"),
        ("ended = true", "kpi[1].ended: must be a year (a whole number), got boolean true"),
        ('successor = "N03926"', "kpi[1].successor: a KPI cannot succeed itself"),
        ('successor = "x1"', "kpi[1].successor: must be a KPI id"),
        ('replaces = "N17434"', "kpi[1].replaces: Kolada's successor of N17434 is N18601"),
    ],
)
def test_break_and_successor_keys_are_checked(tmp_path, monkeypatch, lines, problem):
    text = VALID.replace('note = "Andel av befolkningen."', f'note = "Andel av befolkningen."\n{lines}')
    assert any(problem in line for line in problems_of(tmp_path, text, monkeypatch)), problem


def test_a_removed_id_in_a_set_names_its_successor(tmp_path, monkeypatch):
    text = VALID.replace('id = "N03952"', 'id = "N17434"')
    assert "my.toml: kpi[2].id: N17434 is no longer in Kolada; its successor is N18601" in problems_of(
        tmp_path, text, monkeypatch
    )


def test_liknande_area_must_be_a_non_empty_string(tmp_path, monkeypatch):
    assert problems_of(tmp_path, 'liknande = ""\n' + VALID, monkeypatch) == ["my.toml: liknande: must not be empty"]
    assert load_set(str(write(tmp_path, 'liknande = "IFO"\n' + VALID))).liknande == "IFO"


# -- caps: size, nesting, devices ---------------------------------------------------------------------


def test_deeply_nested_file_is_invalid_not_a_recursion_error(tmp_path, monkeypatch):
    problems = problems_of(tmp_path, "x = " + "[" * 10_000, monkeypatch)
    assert problems == ["my.toml: arrays or tables nested 10000 deep (at most 16)"]


def test_huge_file_is_refused_after_the_size_cap(tmp_path, monkeypatch):
    path = tmp_path / "my.toml"
    with path.open("wb") as handle:
        handle.truncate(40_000_000)  # 40 MB, sparse
    monkeypatch.chdir(tmp_path)
    assert validate_file("my.toml") == ["my.toml: larger than 1 MB; not a KPI-set file"]


def test_endless_device_is_refused_without_reading_it_all():
    with pytest.raises(InvalidFileError, match=r"^/dev/zero: larger than 1 MB"):
        load_set("/dev/zero")


def test_nul_byte_in_a_set_path_is_a_usage_error():
    with pytest.raises(UsageError, match="contains a NUL byte"):
        load_set("sets/a\x00b.toml")
