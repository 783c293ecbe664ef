"""KPI search that ranks: the hit an analyst wants on the first screen, discontinued series last.

Pure: a list of KPI dicts (Kolada's shape) and a query in, ranked hits out. The order, best first:
1. live series before discontinued ones (a title ending in '(-2023)');
2. how the query (or a synonym of it) meets the title: the id itself, a whole word (or the last part of a Swedish
   compound: "långtidsarbetslösa" is a kind of "arbetslösa"), the start of a word, anywhere in the title, then
   only in the description;
3. the query's own words before a synonym's;
4. the id.
Matching ignores case and diacritics (`catalog.normalize`), so "arbetsloshet" finds "Arbetslöshet".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from kpijmf.domain.catalog import Unit, normalize

# Words a Swedish analyst types and the words Kolada's titles use instead; each group is searched as one.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("försörjningsstöd", "ekonomiskt bistånd", "socialbidrag"),
    ("arbetslöshet", "arbetslösa", "arbetslös"),
    ("långtidsarbetslöshet", "långtidsarbetslösa"),
    ("invandrare", "utrikes födda"),
    ("nyanlända", "etableringsuppdraget", "etablering"),
    ("ungdomar", "unga"),
    ("äldreboende", "särskilt boende"),
    ("barnomsorg", "förskola"),
    ("sjukfrånvaro", "sjuktal"),
    ("hemlöshet", "hemlösa"),
    ("skatt", "skattesats"),
)


class Match(IntEnum):
    """How a query meets a KPI, best first."""

    ID = 0
    WORD = 1
    PREFIX = 2
    TITLE = 3
    DESCRIPTION = 4


@dataclass(frozen=True)
class Hit:
    """One KPI found: how it matched, whether the series is discontinued, whether only a synonym found it."""

    kpi: dict
    match: Match
    discontinued: bool
    synonym: bool

    @property
    def key(self) -> tuple[bool, int, bool, str]:
        """The sort key: live first, then the match, own words before synonyms, then the id."""
        return (self.discontinued, int(self.match), self.synonym, str(self.kpi["id"]))


def is_discontinued(title: str) -> bool:
    """A title ending in '(-2023)' (any year) marks a series Kolada no longer updates."""
    return re.search(r"\(-\d{4}\)\s*$", title) is not None


def expand(query: str) -> list[tuple[str, bool]]:
    """The normalised query and its synonyms: (phrase, is a synonym), the query first."""
    wanted = normalize(query)
    phrases = [(wanted, False)]
    for group in SYNONYMS:
        words = [normalize(w) for w in group]
        if wanted in words:
            phrases += [(w, True) for w in words if w != wanted]
    return phrases


def _title_match(phrase: str, title: str) -> Match | None:
    # A Swedish compound's head is its last part, so a word ending in the phrase names a kind of it.
    if re.search(rf"{re.escape(phrase)}(?!\w)", title):
        return Match.WORD
    if re.search(rf"(?<!\w){re.escape(phrase)}", title):
        return Match.PREFIX
    if phrase in title:
        return Match.TITLE
    return None


def _best(kpi: dict, phrases: Sequence[tuple[str, bool]]) -> tuple[Match, bool] | None:
    title = normalize(str(kpi.get("title") or ""))
    description: str | None = None
    best: tuple[Match, bool] | None = None
    for phrase, synonym in phrases:
        if not phrase:
            continue
        found: Match | None
        if normalize(str(kpi["id"])) == phrase:
            found = Match.ID
        elif normalize(str(kpi["id"])).startswith(phrase) and not synonym:
            found = Match.PREFIX
        else:
            found = _title_match(phrase, title)
        if found is None:
            description = description if description is not None else normalize(str(kpi.get("description") or ""))
            found = Match.DESCRIPTION if phrase in description else None
        if found is not None and (best is None or (found, synonym) < best):
            best = (found, synonym)
    return best


def search_kpis(kpis: Iterable[dict], query: str) -> list[Hit]:
    """Every KPI the query (or a synonym of it) finds in its id, title or description, best first."""
    phrases = expand(query)
    hits = []
    for kpi in kpis:
        best = _best(kpi, phrases)
        if best is not None:
            hits.append(Hit(kpi, best[0], is_discontinued(str(kpi.get("title") or "")), best[1]))
    return sorted(hits, key=lambda h: h.key)


def _lan_words(text: str) -> str:
    """'Stockholms län' -> 'stockholm', 'Region Jämtland Härjedalen' -> 'jamtland harjedalen'."""
    words = normalize(text).replace("regionen", "").split()
    words = [w for w in words if w not in ("region", "lan", "lans")]
    plain = " ".join(words)
    return plain[:-1] if plain.endswith("s") and len(plain) > 3 else plain


def kommuner_in_lan(units: Iterable[Unit], name: str) -> tuple[Unit, list[Unit]]:
    """The region (län) a name or id points at and its kommuner, by name: kommun ids begin with the län's code
    (SCB), so 'Jämtland', 'Jämtlands län' and '23' all give Region Jämtland Härjedalen's eight kommuner."""
    from kpijmf.errors import NotFoundError, UsageError

    every = list(units)
    regions = [u for u in every if u.type == "L" and u.id != "0000"]
    wanted = _lan_words(name)
    if wanted.isdigit():
        found = [r for r in regions if r.id[2:] == wanted.zfill(2)]
    else:
        exact = [r for r in regions if _lan_words(r.title) == wanted]
        words = [r for r in regions if wanted and re.search(rf"(?<!\w){re.escape(wanted)}", _lan_words(r.title))]
        found = exact or words
    if not found:
        raise NotFoundError(f"no län matches {name!r} (e.g. Jämtland, Västra Götaland, 23)")
    if len(found) > 1:
        raise UsageError(f"{name!r} matches several län: {', '.join(r.title for r in found)}")
    region = found[0]
    kommuner = sorted((u for u in every if u.type == "K" and u.id[:2] == region.id[2:]), key=lambda u: u.title)
    return region, kommuner
