"""The words of the report and the charts in Swedish and English, numbers per language, and the summary sentences.

Numbers are rounded once, by `kpijmf.output.layout.format_sv` (round half up from the shortest decimal form); English
only swaps the separators, so a value reads the same in both languages. Summaries compare numbers as they are
printed: a kommun and a mean that both show "3,1" are at the same level, whatever the hidden decimals say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kpijmf.errors import UsageError
from kpijmf.output.colours import PALETTE_NAME, QUARTILE_WORDS
from kpijmf.output.layout import CITATION_RULE, MEAN_NOTE_INTRO, MINUS, THIN_GROUP, MeanNote, format_sv, is_missing
from kpijmf.output.notes import COUNT_NOTE, NEUTRAL_NOTE, YEARS_PER_KPI_NOTE

LANGS = ("sv", "en")

CHART_WORDS = {
    "sv": {
        "source": "Källa: Kolada",
        "source_own_means": "Källa: Kolada; egna medelvärden: egen bearbetning av data från Kolada",
        "source_own_ranks": "Källa: Kolada; rang och kvartilgränser: egen bearbetning av data från Kolada",
        "value": "Värde",
        "no_values": "Inga värden",
        "all_kommuner": "alla kommuner {year}",
        "rank": "rang {rank}",
        "quartile": "kvartil {q}",
        "no_kommun_value": "Inga värden för {kommun} {year}",
        "percentiles": ("25 %", "median", "75 %"),
        "better_left": "← bättre",
        "better_right": "bättre →",
        "riket_left_out": "Riket (hela landets antal) visas inte.",
        "target": "Målvärde",
    },
    "en": {
        "source": "Source: Kolada",
        "source_own_means": "Source: Kolada; own means: own processing of data from Kolada",
        "source_own_ranks": "Source: Kolada; rank and quartile boundaries: own processing of data from Kolada",
        "value": "Value",
        "no_values": "No values",
        "all_kommuner": "all municipalities {year}",
        "rank": "rank {rank}",
        "quartile": "quartile {q}",
        "no_kommun_value": "No values for {kommun} in {year}",
        "percentiles": ("25%", "median", "75%"),
        "better_left": "← better",
        "better_right": "better →",
        "riket_left_out": "Riket (the national total) is not shown.",
        "target": "Target",
    },
}

REPORT_WORDS = {
    "sv": {
        "title": "{kommun} jämfört med andra kommuner",
        "subtitle": "Nyckeltal ur Kolada",
        "kpi_set": "KPI-set {name}",
        "contents": "Innehåll",
        "first_column": "Nyckeltal",
        "rank": "Rang {year}",
        "change": "Förändring {span}",
        "kolada_id": "Kolada-id {kpi}",
        "direction_lower": "Lägre värde är bättre.",
        "direction_higher": "Högre värde är bättre.",
        "direction_neutral": "Högre värde är varken bättre eller sämre.",
        "line_chart": "{label}: {kommun} och jämförelsegrupper per år",
        "strip_chart": "{label}: {kommun} bland alla kommuner {year}",
        "quartile": "kvartil {q}",
        "preliminary": "p = preliminärt värde: Kolada publicerar ännu värdena för {years} som preliminära.",
        "mean_intro": MEAN_NOTE_INTRO,
        "revised": "† = reviderat av Kolada sedan en tidigare hämtning (se `kpijmf revisions`).",
        "no_data": "Inga värden att visa.",
        "provenance": "Källor och metod",
        "p_source": "Källhänvisning",
        "p_citation": "Citering",
        "citation": CITATION_RULE,
        "p_charts": "Diagram",
        "charts": (
            "Värdena i diagrammen är Koladas (Källa: Kolada); egna medelvärden, kvartilgränser och rang är "
            "egen bearbetning av data från Kolada."
        ),
        "no_charts": "Rapporten skrevs utan diagram (matplotlib var inte installerat).",
        "p_ranks": "Rang och kvartil",
        "ranks": (
            "Rang 1 = bäst: högst värde, eller lägst där lägre värde är bättre; lika värden delar den bästa rangen. "
            "Rangordningen omfattar alla kommuner med värde det året. Kvartil 1 = den bästa fjärdedelen."
        ),
        "ranks_neutral": "Nyckeltal utan bättre eller sämre riktning (neutrala) får ingen rang, kvartil eller färg.",
        "ranks_none": "Inget av nyckeltalen har en bättre eller sämre riktning: ingen rang, kvartil eller färg.",
        "legend": (
            "Färger: kommunens (och de jämförda kommunernas) värden efter kvartil bland alla kommuner det året "
            "({palette}):"
        ),
        "p_vs": "Jämförda kommuner",
        "palette": PALETTE_NAME,
        "p_api": "API",
        "p_fetched": "Hämtat från Kolada",
        "p_version": "kpijmf-version",
        "p_generated": "Skapad",
        "p_kommun": "Kommun",
        "p_set": "KPI-set",
        "p_years": "År",
        "p_peers": "Jämförelsegrupper",
        "line_alt": "Linjediagram",
        "strip_alt": "Punktdiagram",
    },
    "en": {
        "title": "{kommun} compared with other municipalities",
        "subtitle": "Key figures from Kolada",
        "kpi_set": "KPI set {name}",
        "contents": "Contents",
        "first_column": "Indicator",
        "rank": "Rank {year}",
        "change": "Change {span}",
        "kolada_id": "Kolada id {kpi}",
        "direction_lower": "A lower value is better.",
        "direction_higher": "A higher value is better.",
        "direction_neutral": "A higher value is neither better nor worse.",
        "line_chart": "{label}: {kommun} and peer groups by year",
        "strip_chart": "{label}: {kommun} among all municipalities in {year}",
        "quartile": "quartile {q}",
        "preliminary": "p = preliminary: Kolada still publishes the values for {years} as preliminary.",
        "mean_intro": (
            "* Kolada's published mean differs from kpijmf's own unweighted mean of the members' values "
            "(own processing of data from Kolada):"
        ),
        "revised": "† = revised by Kolada since an earlier fetch (see `kpijmf revisions`).",
        "no_data": "No values to show.",
        "provenance": "Sources and method",
        "p_source": "Source line",
        "p_citation": "Citation",
        "citation": (
            'Values that Kolada publishes are cited "Source: Kolada"; values that kpijmf computed (ranks, '
            'quartiles, own means, differences and changes) are cited "own processing of data from Kolada".'
        ),
        "p_charts": "Charts",
        "charts": (
            "The values in the charts are Kolada's (Source: Kolada); own means, quartile boundaries and ranks are "
            "own processing of data from Kolada."
        ),
        "no_charts": "The report was written without charts (matplotlib was not installed).",
        "p_ranks": "Rank and quartile",
        "ranks": (
            "Rank 1 = best: the highest value, or the lowest where a lower value is better; equal values share the "
            "best rank. Ranks cover every municipality with a value that year. Quartile 1 = the best quarter."
        ),
        "ranks_neutral": "Indicators without a better or worse direction (neutral) get no rank, quartile or colour.",
        "ranks_none": "None of the indicators has a better or worse direction: no rank, quartile or colour.",
        "legend": (
            "Colours: the values of the municipality (and those alongside) by quartile among all municipalities "
            "that year ({palette}):"
        ),
        "p_vs": "Municipalities alongside",
        "palette": "ColorBrewer PiYG, 4 classes (colour-blind safe)",
        "p_api": "API",
        "p_fetched": "Fetched from Kolada",
        "p_version": "kpijmf version",
        "p_generated": "Generated",
        "p_kommun": "Municipality",
        "p_set": "KPI set",
        "p_years": "Years",
        "p_peers": "Peer groups",
        "line_alt": "Line chart",
        "strip_alt": "Strip chart",
    },
}
# The colour legend's words per quartile; Swedish from the palette's own module.
QUARTILE_WORDS_BY_LANG: dict[str, dict[int, str]] = {
    "sv": QUARTILE_WORDS,
    "en": {1: "quartile 1 (best quarter)", 2: "quartile 2", 3: "quartile 3", 4: "quartile 4 (worst quarter)"},
}
# The footnotes of `kpijmf.output.notes` in English: the fixed ones whole, the others by their Swedish frame (what
# they quote from Kolada or a KPI set stays as written); a note matching none stays Swedish rather than be guessed.
_NOTE_FRAMES_EN = (
    (re.compile(r"‡ Brott i serien (.*)\. Ingen förändring beräknas över brottet\."),
     r"‡ Series break \1. No change is computed across the break."),
    (re.compile(r"Serien upphörde (\S+); efterföljare (.*)\."), r"The series ended \1; successor \2."),
    (re.compile(r"Serien upphörde (.*)\."), r"The series ended \1."),
    (re.compile(r"Saknas med status (.*) hos Kolada: (.*)\."), r"Missing, with Kolada's status \1: \2."),
)  # fmt: skip
NOTES_EN = {
    NEUTRAL_NOTE: "No rank or quartile: the indicator has no better or worse direction.",
    COUNT_NOTE: (
        "Count: not compared with means (no difference from all municipalities); Riket (totalt) is the national total."
    ),
    YEARS_PER_KPI_NOTE: (
        "The years are the indicator's own: its latest years with data, which can differ between indicators."
    ),
}

_COUNT = {
    "sv": ("", "ett", "två", "tre", "fyra", "fem", "sex", "sju", "åtta", "nio", "tio", "elva", "tolv"),
    "en": ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
}
_SUMMARY = {
    "sv": {
        "no_values": "Inga värden för {kommun} {years}.",
        "relation": "{kommun} låg {relation} alla kommuners ovägda medel {when}{gap}.",
        "better": "bättre till än",
        "worse": "sämre till än",
        "higher": "högre än",
        "lower": "lägre än",
        "same": "på samma nivå som",
        "one_year": "år {year}",
        "streak": "{n} år i rad ({span})",
        "gap": "; alla kommuners medel saknas för {year}",
        "rank": "Rang {rank} år {year}{quartile}.",
        "quartile": " (kvartil {q})",
        "change": "Förändring {span}: {change}{unit}{judgement}.",
        "points": " procentenheter",
        "improved": " (förbättring)",
        "worsened": " (försämring)",
    },
    "en": {
        "no_values": "No values for {kommun} in {years}.",
        "relation": "{kommun} was {relation} the unweighted mean of all municipalities {when}{gap}.",
        "better": "better than",
        "worse": "worse than",
        "higher": "higher than",
        "lower": "lower than",
        "same": "level with",
        "one_year": "in {year}",
        "streak": "for {n} years running ({span})",
        "gap": "; the mean of all municipalities is missing for {year}",
        "rank": "Rank {rank} in {year}{quartile}.",
        "quartile": " (quartile {q})",
        "change": "Change {span}: {change}{unit}{judgement}.",
        "points": " percentage points",
        "improved": " (improvement)",
        "worsened": " (deterioration)",
    },
}


def note_text(note: str, lang: str) -> str:
    """A block footnote of `kpijmf.output.notes` in the report's language."""
    if lang == "sv":
        return note
    if note in NOTES_EN:
        return NOTES_EN[note]
    for frame, english in _NOTE_FRAMES_EN:
        if frame.fullmatch(note):
            return frame.sub(english, note)
    return note


def check_lang(lang: str) -> str:
    """The language if kpijmf speaks it, else a UsageError."""
    if lang not in LANGS:
        raise UsageError(f"unknown language {lang!r}; choose one of: {', '.join(LANGS)}")
    return lang


def format_number(value: Any, decimals: int, lang: str, *, signed: bool = False) -> str:
    """format_sv's number; for English with '.' decimals and ',' between thousands (same rounding)."""
    shown = format_sv(value, decimals, signed=signed)
    if lang == "sv":
        return shown
    return shown.replace(",", ".").replace(THIN_GROUP, ",")


def rank_words(rank: Any, rank_of: Any, lang: str) -> str:
    """'10 av 17' / '10 of 17'; '' without a rank."""
    if is_missing(rank):
        return ""
    if is_missing(rank_of):
        return str(int(rank))
    return f"{int(rank)} {'av' if lang == 'sv' else 'of'} {int(rank_of)}"


def span_text(years: Sequence[int]) -> str:
    """'2019–2021' for a run, '2019, 2021' otherwise, '2021' for one year."""
    ys = sorted(set(years))
    if not ys:
        return ""
    if len(ys) > 1 and ys[-1] - ys[0] == len(ys) - 1:
        return f"{ys[0]}–{ys[-1]}"
    return ", ".join(str(y) for y in ys)


def mean_note_line(note: MeanNote, decimals: int, lang: str) -> str:
    """'Storlek 2021: Kolada 2,8, eget medel 3,1 (22 kommuner)' in the report's language."""
    from kpijmf.output.layout import mean_note_text

    if lang == "sv":
        return mean_note_text(note, decimals)
    n = f" ({note.computed_count} municipalities)" if note.computed_count is not None else ""
    return (
        f"{note.label} {note.year}: Kolada {format_number(note.published, decimals, lang)}, "
        f"own mean {format_number(note.computed, decimals, lang)}{n}"
    )


@dataclass(frozen=True)
class YearFacts:
    """What the summary needs of the kommun in one year (gender T); None where missing."""

    year: int
    value: float | None
    alla: float | None = None
    rank: float | None = None
    rank_of: float | None = None
    quartile: float | None = None
    change: float | None = None


def _relation(f: YearFacts, direction: str, decimals: int) -> str | None:
    """How the kommun stood against alla kommuner that year, judged on the printed numbers."""
    if f.value is None or f.alla is None:
        return None
    if format_sv(f.value, decimals) == format_sv(f.alla, decimals):
        return "same"
    higher = f.value > f.alla
    if direction in ("higher", "lower"):
        return "better" if higher == (direction == "higher") else "worse"
    return "higher" if higher else "lower"


def _count(n: int, lang: str) -> str:
    return _COUNT[lang][n] if n < len(_COUNT[lang]) else str(n)


def _relation_sentence(facts: list[YearFacts], kommun: str, direction: str, decimals: int, lang: str) -> str:
    w = _SUMMARY[lang]
    relations = [_relation(f, direction, decimals) for f in facts]
    known = [i for i, r in enumerate(relations) if r is not None]
    if not known:
        return ""
    end = known[-1]
    start = end
    while start > 0 and facts[start - 1].year == facts[start].year - 1 and relations[start - 1] == relations[end]:
        start -= 1
    n = end - start + 1
    if n == 1:
        when = w["one_year"].format(year=facts[end].year)
    else:
        when = w["streak"].format(n=_count(n, lang), span=f"{facts[start].year}–{facts[end].year}")
    gap = ""
    before = start - 1
    # A missing kommun value is already told ("Inga värden …"); a missing mean is said here.
    if (
        before >= 0
        and facts[before].year == facts[start].year - 1
        and facts[before].value is not None
        and facts[before].alla is None
    ):
        gap = w["gap"].format(year=facts[before].year)
    return w["relation"].format(kommun=kommun, relation=w[str(relations[end])], when=when, gap=gap)


def _change_sentence(f: YearFacts, direction: str, decimals: int, unit: str, lang: str) -> str:
    w = _SUMMARY[lang]
    shown = format_number(f.change, decimals, lang, signed=True)
    judgement = ""
    if shown.startswith(("+", MINUS)) and direction in ("higher", "lower") and f.change is not None:
        judgement = w["improved"] if (f.change > 0) == (direction == "higher") else w["worsened"]
    plain = unit.strip()
    # "+0,2 procentenheter" for a share, "+24 kr/inv" for an amount, a bare "−136" for a count ("antal").
    suffix = w["points"] if plain == "%" else "" if plain.lower() in ("", "antal", "st", "st.") else f" {plain}"
    return w["change"].format(span=f"{f.year - 1}–{f.year}", change=shown, unit=suffix, judgement=judgement)


def summary(
    facts: Sequence[YearFacts], *, kommun: str, direction: str, decimals: int, unit: str = "", lang: str = "sv"
) -> str:
    """A few sentences on the kommun from its numbers: missing years, its streak against alla kommuner, rank, change.

    A count (unit antal) is not set against the mean; a neutral KPI gets neither rank nor better/worse.

    'Östersund låg bättre till än alla kommuners ovägda medel tre år i rad (2019–2021). Rang 10 av 17 år 2021
    (kvartil 3). Förändring 2020–2021: +0,2 procentenheter (försämring).'
    """
    check_lang(lang)
    w = _SUMMARY[lang]
    ordered = sorted(facts, key=lambda f: f.year)
    if not ordered:
        return ""
    missing = [f.year for f in ordered if f.value is None]
    if len(missing) == len(ordered):
        return w["no_values"].format(kommun=kommun, years=span_text(missing))
    sentences = []
    if missing:
        sentences.append(w["no_values"].format(kommun=kommun, years=span_text(missing)))
    from kpijmf.output.charts import is_count

    # A count is not compared with means; a neutral KPI has no rank (compare.py gives it none: said once more here).
    relation = "" if is_count(unit) else _relation_sentence(ordered, kommun, direction, decimals, lang)
    if relation:
        sentences.append(relation)
    ranked = [f for f in ordered if f.rank is not None and direction in ("higher", "lower")]
    if ranked:
        f = ranked[-1]
        quartile = w["quartile"].format(q=int(f.quartile)) if f.quartile is not None else ""
        sentences.append(w["rank"].format(rank=rank_words(f.rank, f.rank_of, lang), year=f.year, quartile=quartile))
    changed = [f for f in ordered if f.change is not None]
    if changed:
        sentences.append(_change_sentence(changed[-1], direction, decimals, unit, lang))
    return " ".join(sentences)


_TARGET_EN = (("ej uppfyllt", "not met"), ("uppfyllt", "met"), ("inga data", "no data"), ("Målvärde", "Target"))


def target_text_en(value: str) -> str:
    """A målvärde row's Swedish words and decimal commas in English: 'Målvärde ≥ 40,0' -> 'Target ≥ 40.0'."""
    for swedish, english in _TARGET_EN:
        value = value.replace(swedish, english)
    return re.sub(r"(\d),(\d)", r"\1.\2", value)


def target_sentence(row: Any, years: list[int], lang: str) -> str:
    """'Målvärdet ≥ 40,0 uppfylldes 2019, 2020; inte 2021.' from a målvärde row of the wide layout."""
    goal = str(row["title"]).replace("Målvärde", "").strip()
    met = [str(y) for y in years if row[y] == "uppfyllt"]
    missed = [str(y) for y in years if row[y] == "ej uppfyllt"]
    if lang == "en":
        goal = target_text_en(goal)
        parts = [f"met in {', '.join(met)}" if met else "", f"not met in {', '.join(missed)}" if missed else ""]
        said = "; ".join(p for p in parts if p) or "no data to judge it"
        return f"The target {goal}: {said}.".replace("  ", " ")
    parts = [f"uppfylldes {', '.join(met)}" if met else "", f"uppfylldes inte {', '.join(missed)}" if missed else ""]
    said = "; ".join(p for p in parts if p) or "kan inte bedömas (inga värden)"
    return f"Målvärdet {goal}: {said}.".replace("  ", " ")
