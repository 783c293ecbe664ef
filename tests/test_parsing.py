"""Year ranges and repeatable comma lists."""

from datetime import date

import pytest

from kpijmf.domain.parsing import default_fetch_years, parse_years, split_list
from kpijmf.errors import UsageError

TODAY = date(2026, 11, 23)


def test_single_year_and_range():
    assert parse_years("2021", today=TODAY) == [2021]
    assert parse_years("2019-2021", today=TODAY) == [2019, 2020, 2021]
    assert parse_years(" 2019 – 2020 ", today=TODAY) == [2019, 2020]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2021-2019", "reversed; did you mean 2019-2021"),
        ("2031", "in the future"),
        ("2020-2031", "in the future"),
        ("1980", "no data before 1990"),
        ("twenty", "give one year"),
        ("2019-", "give one year"),
        ("", "give one year"),
    ],
)
def test_bad_years_raise_usage_error(text, fragment):
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(")):
        parse_years(text, today=TODAY)


def test_split_list_flattens_repeats_and_commas_keeping_order():
    assert split_list(["N03926,N40011", " U40455 ", "N03926", ""]) == ["N03926", "N40011", "U40455"]
    assert split_list(None) == []


def test_default_fetch_years_are_the_ten_before_this_year():
    assert default_fetch_years(TODAY) == list(range(2016, 2026))
