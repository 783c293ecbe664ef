"""Fuzz: any text given to the TOML readers (sets, targets, run files) and the option parsers gives a result or
a KpijmfError, never another exception (hypothesis; few examples each, so the suite stays fast)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpijmf.cli.options import parse_year_choice
from kpijmf.domain.catalog import Catalog
from kpijmf.domain.kpisets import KpiSpec, adhoc_set, parse_set
from kpijmf.domain.parsing import parse_date, parse_years, split_list
from kpijmf.domain.runfile import Output, load_run_file, safe_part
from kpijmf.domain.targets import load_targets_file
from kpijmf.domain.tomlfile import parse_toml
from kpijmf.errors import KpijmfError

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# TOML-ish text: fragments of the real formats glued with arbitrary text, so the parser gets past line 1.
FRAGMENTS = st.sampled_from([
    "[[kpi]]\n", "[[target]]\n", "[[output]]\n", 'id = "N03926"\n', 'label = "x"\n', 'unit = "%"\n',
    'direction = "lower"\n', "breaks = [2023]\n", 'break_note = "x"\n', "ended = 2023\n", 'successor = "N1"\n',
    'kpi = "N03926"\n', 'kommun = "Håbo"\n', "value = 3\n", 'years = "2019-2021"\n', "last = 4\n",
    'kommuner = ["2380"]\n', 'format = "csv"\n', 'path = "{kommun}/x.csv"\n', 'gender = "all"\n', "wide = true\n",
    "x = [[[[", "]]]]", "{", "}", '"', "'''", "=", "\n", "nan", "inf", "1979-05-27T07:32:00Z", "\x00", "\ufeff",
    'liknande = ""\n', "not_comparable_with = [1]\n", 'replaces = "N17434"\n', 'comparison = "!="\n',
])  # fmt: skip
TOML_TEXT = st.one_of(
    st.text(max_size=200), st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=25).map("".join)
)
SPECS = {"N03926": KpiSpec("N03926", "x", "%", "lower"), "U40800": KpiSpec("U40800", "y", "antal", "neutral")}


def _settles(call) -> None:
    """Run `call`: a result or a KpijmfError is fine; any other exception fails the test."""
    with contextlib.suppress(KpijmfError):
        call()


@FUZZ
@given(TOML_TEXT)
def test_kpi_set_text_gives_a_set_or_a_kpijmf_error(text):
    _settles(lambda: parse_set(text, "fuzz.toml"))
    _settles(lambda: parse_toml(text, "fuzz.toml"))


@FUZZ
@given(st.one_of(TOML_TEXT.map(str.encode), st.binary(max_size=200)))
def test_targets_and_run_files_give_a_result_or_a_kpijmf_error(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.toml"
        path.write_bytes(data)
        _settles(lambda: load_targets_file(path, SPECS))
        _settles(lambda: load_run_file(path))


@FUZZ
@given(st.text(max_size=30), st.one_of(st.none(), st.integers(min_value=-5, max_value=50)))
def test_years_last_and_date_parsers(text, last):
    _settles(lambda: parse_years(text))
    _settles(lambda: parse_year_choice(text, last))
    _settles(lambda: parse_date(text))
    _settles(lambda: adhoc_set([text]))
    assert all(item.strip() == item and item for item in split_list([text]))


UNITS = [
    {"id": "0000", "title": "Riket", "type": "L"},
    {"id": "0305", "title": "Håbo", "type": "K"},
    {"id": "0643", "title": "Habo", "type": "K"},
    {"id": "2380", "title": "Östersund", "type": "K"},
]
GROUPS = [
    {"id": "G2328", "title": "Alla kommuner (ovägt medel)", "members": ["0305", "0643", "2380"]},
    {"id": "G216172", "title": "Liknande kommuner arbetsmarknad, Håbo, 2024", "members": ["2380"]},
]
CATALOG = Catalog(UNITS, GROUPS, [{"id": "N03926", "title": "Långtidsarbetslösa", "description": ""}])
NAMES = st.one_of(st.text(max_size=20), st.sampled_from(["Håbo", "habo", "HÅBO", "Ha\u030abo", "0305", "305", "ö"]))


@FUZZ
@given(NAMES, st.lists(NAMES, max_size=4))
def test_name_lookups_give_a_kommun_or_a_kpijmf_error(name, peers):
    _settles(lambda: CATALOG.find_kommun(name))
    _settles(lambda: CATALOG.find_kpi(name))
    _settles(lambda: CATALOG.resolve_peers(CATALOG.units["0305"], peers))
    _settles(lambda: CATALOG.resolve_peers(CATALOG.units["0305"], [f"liknande:{name}"]))


@FUZZ
@given(st.text(max_size=40), st.sampled_from(["{kommun}.csv", "out/{kommun}/{set}-{kommun_id}.csv"]))
def test_any_title_stays_inside_the_output_folder(title, template):
    base = Path("/srv/run")
    part = safe_part(title)
    assert part and "/" not in part and "\\" not in part and ".." not in part and not part.startswith((".", "~"))
    try:
        target = Output("csv", template).target(base, title, title, title)
    except KpijmfError:
        return
    assert target.is_relative_to(base)


@pytest.mark.parametrize("depth", [17, 1000, 10_000])
def test_nesting_cap_holds_at_every_depth(depth):
    with pytest.raises(KpijmfError, match="nested"):
        parse_toml("x = " + "[" * depth + "]" * depth, "deep.toml")
