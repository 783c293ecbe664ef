"""The project's words, written once: output formats, genders, peer roles, directions and the source lines.

Every layer that accepts or prints one of these reads it from here, so a new format or role is added in one
place and the CLI, run files and outputs cannot disagree.
"""

from __future__ import annotations

from kpijmf.errors import UsageError
from kpijmf.kolada.genders import GENDERS

# Output formats of `compare -f` and of a run file's [[output]] (help and messages list them in this order).
FORMATS = ("table", "csv", "excel", "xlsx", "json", "md")
# What a run file's [[output]] may also be: a report (kpijmf.output.report) rather than a data file.
REPORT_FORMATS = ("html", "md-report")

# Kolada's genders (T total, K women, M men) as options: "all" asks for the three plus the K−M gap.
ALL_GENDERS = "all"
GENDER_CHOICES = (*GENDERS, ALL_GENDERS)

# The peer keywords of `--peers`, in table order, and every role a comparison row can have.
PEER_KEYWORDS = ("alla", "storlek", "kommungrupp", "lan", "liknande", "riket")
ROLES = ("kommun", "vs", "alla", "storlek", "kommungrupp", "lan", "liknande", "grupp", "egen", "riket")
DEFAULT_LIKNANDE_AREA = "arbetsmarknad"

# Which way a KPI is better (drives ranks).
DIRECTIONS = ("higher", "lower", "neutral")

# Kolada's terms: unprocessed values are cited "Källa: Kolada"; what kpijmf computed is "egen bearbetning".
SOURCE_KOLADA = "Källa: Kolada"
SOURCE_OWN = "egen bearbetning av data från Kolada"
SOURCE_LINE = (
    "Källa: Kolada (RKA). Rang, egna medelvärden, skillnader och förändringar: egen bearbetning av data från Kolada."
)
SOURCE_LINE_EN = "Source: Kolada (RKA). Ranks, own means, differences and changes: own processing of data from Kolada."


def parse_gender(choice: str) -> tuple[list[str], bool]:
    """'T' -> (['T'], False); 'all' -> (['T', 'K', 'M'], True: with the K−M gap); else UsageError."""
    wanted = choice.strip().upper()
    if wanted == ALL_GENDERS.upper():
        return list(GENDERS), True
    if wanted in GENDERS:
        return [wanted], False
    raise UsageError(f"unknown gender {choice!r}: choose T (total), K (women), M (men) or all")
