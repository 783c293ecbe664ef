"""Jämföraren's quartile colours: one palette and one rule for the table, the xlsx and the HTML report."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kpijmf.output.colours import QUARTILE_COLOURS, luminance, quartile_colour, text_colour


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_best_quartile_is_green_and_worst_magenta_red_whatever_the_direction(direction):
    # compare.py ranks by direction already, so quartile 1 is the best quarter either way
    assert [quartile_colour(q, direction) for q in (1, 2, 3, 4)] == ["#4dac26", "#b8e186", "#f1b6da", "#d01c8b"]


@pytest.mark.parametrize("quartile", [None, math.nan, pd.NA, 0, 5, 2.5, "2", True])
def test_no_colour_without_a_valid_quartile(quartile):
    assert quartile_colour(quartile, "higher") is None


@pytest.mark.parametrize("direction", ["neutral", "", "up"])
def test_a_kpi_without_a_direction_gets_no_colour(direction):
    assert quartile_colour(1, direction) is None


def test_numpy_and_pandas_quartiles_are_accepted():
    frame = pd.DataFrame({"q": pd.array([1, 4], dtype="Int64"), "f": [2.0, 3.0]})
    assert quartile_colour(frame["q"].iloc[1], "lower") == QUARTILE_COLOURS[4]
    assert quartile_colour(frame["f"].iloc[0], "lower") == QUARTILE_COLOURS[2]


def test_palette_runs_from_dark_green_through_light_to_dark_magenta():
    # the ends are darker than the middle, so the scale reads as diverging without hue as well
    lum = [luminance(QUARTILE_COLOURS[q]) for q in (1, 2, 3, 4)]
    assert lum[0] < lum[1] and lum[3] < lum[2]


@pytest.mark.parametrize("quartile", [1, 2, 3, 4])
def test_text_on_each_fill_has_at_least_aa_large_text_contrast(quartile):
    fill = QUARTILE_COLOURS[quartile]
    ink = text_colour(fill)
    a, b = sorted([luminance(fill), luminance(ink)])
    assert (b + 0.05) / (a + 0.05) >= 4.5
