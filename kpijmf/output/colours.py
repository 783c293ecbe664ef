"""Jämföraren's quartile colours, in one place for the terminal table, the xlsx and the HTML report.

The palette is ColorBrewer's 4-class PiYG (pink–yellow-green), a diverging scheme ColorBrewer marks
colour-blind safe: green for the best quartile, through light green and light pink, to magenta-red for
the worst. Quartile 1 is always the best quarter, because compare.py already ranks by the KPI's direction
(1 = best, lowest first when lower is better); a KPI without a direction (neutral) gets no colour.
"""

from __future__ import annotations

PALETTE_NAME = "ColorBrewer PiYG, 4 klasser (färgblindsäker)"
# Quartile 1 (best) … 4 (worst): hex "#rrggbb".
QUARTILE_COLOURS: dict[int, str] = {1: "#4dac26", 2: "#b8e186", 3: "#f1b6da", 4: "#d01c8b"}
QUARTILE_WORDS: dict[int, str] = {
    1: "kvartil 1 (bästa fjärdedelen)",
    2: "kvartil 2",
    3: "kvartil 3",
    4: "kvartil 4 (sämsta fjärdedelen)",
}
COLOURED_ROLES = ("kommun", "vs")  # the rows Jämföraren colours: the kommun and the named --vs kommuner
_DIRECTED = ("higher", "lower")


def quartile_colour(quartile: object, direction: str) -> str | None:
    """The fill for a value in that quartile ("#rrggbb"), or None: no quartile, or a neutral KPI."""
    if direction not in _DIRECTED or isinstance(quartile, bool):
        return None
    try:
        q = int(quartile)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None  # None, NaN, pd.NA, text
    if q != quartile:
        return None
    return QUARTILE_COLOURS.get(q)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of "#rrggbb"."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def text_colour(fill: str) -> str:
    """Black or white, whichever contrasts more with the fill (WCAG contrast ratio)."""
    lum = luminance(fill)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"
