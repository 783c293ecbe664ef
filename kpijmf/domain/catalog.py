"""KPIs, municipalities and groups: lookup by id or name, did-you-mean, and peer-group resolution."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from kpijmf.domain.lineage import successor_of
from kpijmf.domain.vocab import DEFAULT_LIKNANDE_AREA, PEER_KEYWORDS
from kpijmf.errors import NotFoundError, UsageError
from kpijmf.messages import msg

ALLA_ID = "G2328"
RIKET_ID = "0000"
# Known ids (2026) first; titles only as a fallback filter, because titles drift and ids get rebuilt.
SIZE_CLASS_IDS = ("G30823", "G30830", "G30824", "G30826", "G30827", "G30829", "G30831", "G30825", "G30828")
KOMMUNGRUPP_IDS = tuple(f"G9278{i}" for i in range(6, 10)) + tuple(f"G9279{i}" for i in range(5))
COUNTY_IDS = tuple(f"G336{i}" for i in range(12, 33))
_SIZE_TITLE = re.compile(r"^kommuner med .*invanare")
_COUNTY_TITLE = re.compile(r"lans kommuner \(ovagt medel\)$")
# Both of RKA's title forms, matched on the casefolded title (diacritics kept):
# "Liknande kommuner arbetsmarknad, Håbo, 2024" and "Liknande kommuner, övergripande, Östersund, 2025".
_LIKNANDE_TITLE = re.compile(r"^liknande kommuner,? (?P<area>[^,]+), (?P<name>.+), (?P<year>\d{4})$")
_KPI_ID = re.compile(r"^[NU]\d{5}$", re.IGNORECASE)


def is_kpi_id(text: str) -> bool:
    """True for text shaped like a KPI id, upper-case: 'N03926', 'U40455'."""
    return bool(_KPI_ID.match(text)) and text.isupper() and text == text.strip()


def preliminary_year(kpi: dict, today: date) -> int | None:
    """The year whose values are still preliminary: Kolada published them early (prel_publication_date)
    and the final publication_date has not come yet."""
    prel, final, period = kpi.get("prel_publication_date"), kpi.get("publication_date"), kpi.get("publ_period")
    if not prel or not period or not str(period).isdigit() or str(prel)[:10] > today.isoformat():
        return None
    if final and str(final)[:10] <= today.isoformat():
        return None
    return int(period)


@lru_cache(maxsize=16384)
def normalize(text: str) -> str:
    """Casefold, strip diacritics and collapse spaces: 'Östersund ' -> 'ostersund'. Cached: titles recur."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


@lru_cache(maxsize=16384)
def fold_case(text: str) -> str:
    """Casefold and collapse spaces, diacritics kept: ' HÅBO ' -> 'håbo' (Håbo is not Habo)."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def match_name(query: str, titles: dict[str, str]) -> list[str]:
    """The keys of `titles` whose title is `query`: exact matches (case-insensitive, diacritics kept) if any;
    else the diacritic-free match, only when it is unique. The one name rule of kpijmf."""
    wanted = fold_case(query)
    exact = [key for key, title in titles.items() if fold_case(title) == wanted]
    if exact:
        return exact
    plain = normalize(query)
    loose = [key for key, title in titles.items() if normalize(title) == plain]
    return loose if len(loose) == 1 else []


def unit_of(title: str) -> str:
    """Guess a KPI's unit from its Kolada title: '(%)' -> '%', 'kr/inv', 'antal'."""
    lowered = title.lower()
    for marker, unit in (("(%)", "%"), ("kr/inv", "kr/inv"), ("antal", "antal"), ("kr/", "kr")):
        if marker in lowered:
            return unit
    return ""


@dataclass(frozen=True)
class Unit:
    """A kommun, region or Riket."""

    id: str
    title: str
    type: str


@dataclass(frozen=True)
class Peer:
    """One comparison row: a published group (or Riket), or a custom list whose mean kpijmf computes."""

    role: str
    id: str
    title: str
    members: tuple[str, ...] = ()
    published: bool = True
    year: int | None = None  # a liknande group's year, from its title


@dataclass(frozen=True)
class Focus:
    """One block of a comparison: the focus kommun, its peers, and kommuner named with --vs (a row each)."""

    kommun: Unit
    peers: tuple[Peer, ...] = ()
    vs: tuple[Unit, ...] = ()

    def units(self) -> list[tuple[str, str, str]]:
        """(role, id, title) of every row, in table order: the kommun, the --vs kommuner, then the peers."""
        vs = [("vs", u.id, u.title) for u in self.vs if u.id != self.kommun.id]
        return [("kommun", self.kommun.id, self.kommun.title), *vs, *((p.role, p.id, p.title) for p in self.peers)]


def _suggest(query: str, choices: dict[str, str], n: int = 3) -> list[str]:
    """Up to n display names whose normalized form is close to the query."""
    matches = difflib.get_close_matches(normalize(query), list(choices), n=n, cutoff=0.6)
    return [choices[m] for m in matches]


def _did_you_mean(suggestions: Sequence[str]) -> str:
    return f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""


class Catalog:
    """Lookups over the stored metadata."""

    def __init__(self, municipalities: Sequence[dict], groups: Sequence[dict], kpis: Sequence[dict]) -> None:
        self.units = {m["id"]: Unit(m["id"], m["title"], m["type"]) for m in municipalities}
        self.groups = {g["id"]: g for g in groups}
        self.kpis = {k["id"]: k for k in kpis}
        self._liknande: dict[tuple[str, str], list[tuple[int, int, dict]]] | None = None
        self._names: tuple[dict[str, list[str]], dict[str, list[str]]] | None = None

    @classmethod
    def from_kolada(cls, municipalities: Sequence[dict], groups: Sequence[dict], kpis: Sequence[dict]) -> Catalog:
        """A catalogue of the lists as Kolada sends them (before they are stored): group members as id tuples."""
        stored_groups = [
            {
                "id": g["id"],
                "title": g.get("title") or g["id"],
                "members": tuple(m["member_id"] for m in g.get("members") or []),
            }
            for g in groups
        ]
        units = [
            {"id": m["id"], "title": m.get("title") or m["id"], "type": m.get("type") or ""} for m in municipalities
        ]
        return cls(units, stored_groups, kpis)

    @property
    def kommun_ids(self) -> list[str]:
        """Every kommun (type K), sorted by id."""
        return sorted(u.id for u in self.units.values() if u.type == "K")

    # -- kommuner ------------------------------------------------------------------------------------

    def find_kommun(self, query: str) -> Unit:
        """A kommun by id ('2380', '180' -> '0180') or name: exactly first (case-insensitive, diacritics kept: 'Håbo'
        is not 'Habo'), else a unique diacritic-free match ('ostersund'), else a unique start ('Öster')."""
        text = query.strip()
        if not text:
            raise UsageError("an empty kommun name was given")
        if text.isdigit():
            unit = self.units.get(text.zfill(4))
            if unit is None:
                ids = {u.id: f"{u.id} ({u.title})" for u in self.units.values() if u.type == "K"}
                raise NotFoundError(f"no kommun with id {text!r}{_did_you_mean(_suggest(text, ids))}")
            if unit.type != "K":
                raise NotFoundError(
                    f"{unit.id} is {unit.title}, not a kommun (a region or Riket); give a kommun id or name"
                )
            return unit
        kommuner = {u.id: u.title for u in self.units.values() if u.type == "K"}
        found = match_name(text, kommuner)
        if len(found) == 1:
            return self.units[found[0]]
        if not found:  # a unique start of a name: "Öster" (diacritics kept first, as for whole names)
            found = [k for k, title in kommuner.items() if fold_case(title).startswith(fold_case(text))]
            if not found:
                found = [k for k, title in kommuner.items() if normalize(title).startswith(normalize(text))]
            if len(found) == 1:
                return self.units[found[0]]
        if found:
            units = sorted((self.units[k] for k in found), key=lambda u: u.title)
            names = ", ".join(f"{u.title} ({u.id})" for u in units[:6])
            raise NotFoundError(f"kommun name {text!r} is ambiguous: {names}")
        choices = {normalize(title): f"{title} ({k})" for k, title in kommuner.items()}
        raise NotFoundError(f"no kommun named {text!r}{_did_you_mean(_suggest(text, choices))}")

    def kommun_named(self, name: str) -> Unit | None:
        """The kommun a title names (a group's title, say) by the name rule, with no prefix guessing; else None.

        The same rule as `match_name`, over an index of the kommuner's names (thousands of titles are read)."""
        if self._names is None:
            exact: dict[str, list[str]] = {}
            loose: dict[str, list[str]] = {}
            for unit in self.units.values():
                if unit.type == "K":
                    exact.setdefault(fold_case(unit.title), []).append(unit.id)
                    loose.setdefault(normalize(unit.title), []).append(unit.id)
            self._names = (exact, loose)
        exact, loose = self._names
        found = exact.get(fold_case(name)) or loose.get(normalize(name), [])
        return self.units[found[0]] if len(found) == 1 else None

    def search_kommuner(self, text: str) -> list[Unit]:
        """Kommuner whose name or id contains the text (no case or diacritics)."""
        wanted = normalize(text)
        return sorted(
            (u for u in self.units.values() if u.type == "K" and (wanted in normalize(u.title) or wanted in u.id)),
            key=lambda u: u.title,
        )

    # -- KPIs ----------------------------------------------------------------------------------------

    def find_kpi(self, kpi_id: str) -> dict:
        """KPI metadata by id (case-insensitive), or NotFoundError with suggestions."""
        key = kpi_id.strip().upper()
        if key in self.kpis:
            return self.kpis[key]
        successor = successor_of(key)
        if successor is not None:
            raise NotFoundError(
                f"{key} is no longer in Kolada; its successor is {successor} (kpijmf kpi show {successor})"
            )
        if not _KPI_ID.match(key):
            titles = {normalize(k["title"]): f"{k['id']} ({k['title']})" for k in self.kpis.values()}
            hint = _did_you_mean(_suggest(kpi_id, titles))
            raise NotFoundError(f"{kpi_id!r} is not a KPI id (like N03926){hint}")
        ids = {k.lower(): k for k in self.kpis}
        hint = _did_you_mean([f"{s} ({self.kpis[s]['title']})" for s in _suggest(key, ids)])
        raise NotFoundError(f"unknown KPI {key!r}: Kolada has no KPI with that id (removed or misspelt?){hint}")

    def search_kpis(self, text: str) -> list[dict]:
        """KPIs whose id, title or description contains the text; title matches first."""
        wanted = normalize(text)
        in_title = [k for k in self.kpis.values() if wanted in normalize(k["id"]) or wanted in normalize(k["title"])]
        seen = {k["id"] for k in in_title}
        in_text = [
            k for k in self.kpis.values() if k["id"] not in seen and wanted in normalize(k.get("description") or "")
        ]
        return sorted(in_title, key=lambda k: k["id"]) + sorted(in_text, key=lambda k: k["id"])

    # -- groups and peers ----------------------------------------------------------------------------

    def _member_groups(self, kommun: Unit, known_ids: Sequence[str], title_rule: re.Pattern[str]) -> list[dict]:
        groups = [g for g in self.groups.values() if kommun.id in g["members"]]
        known = [g for g in groups if g["id"] in known_ids]
        return known or [g for g in groups if title_rule.search(normalize(g["title"]))]

    def _liknande_index(self) -> dict[tuple[str, str], list[tuple[int, int, dict]]]:
        """(area, kommun id) -> [(year, id number, group)] for every liknande group whose title names a kommun."""
        if self._liknande is None:
            index: dict[tuple[str, str], list[tuple[int, int, dict]]] = {}
            for group in self.groups.values():
                match = _LIKNANDE_TITLE.match(fold_case(group["title"]))
                if not match:
                    continue
                kommun = self.kommun_named(match["name"])
                if kommun is None:
                    continue
                number = int(group["id"][1:]) if group["id"][1:].isdigit() else 0
                entry = (int(match["year"]), number, group)
                index.setdefault((normalize(match["area"]), kommun.id), []).append(entry)
            self._liknande = index
        return self._liknande

    def liknande_group(self, kommun: Unit, area: str = DEFAULT_LIKNANDE_AREA) -> dict | None:
        """The newest liknande group of an area whose title names exactly this kommun and that does not hold it.

        Both title forms count ("Liknande kommuner <område>, <Kommun>, <år>" and "Liknande kommuner, <område>,
        <Kommun>, <år>"); the name in the title is read by the same rule as `--kommun` (Håbo is not Habo). Of
        two groups of the same year, the one with the higher id (made later) wins."""
        candidates = [
            entry
            for entry in self._liknande_index().get((normalize(area), kommun.id), [])
            if kommun.id not in entry[2]["members"]
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda entry: (entry[0], entry[1]))[2]

    def liknande_areas(self) -> list[str]:
        """The areas of every liknande group in the catalogue (folded), sorted."""
        return sorted({area for area, _ in self._liknande_index()})

    def peer_for_keyword(self, kommun: Unit, keyword: str, area: str = DEFAULT_LIKNANDE_AREA) -> Peer | None:
        """Resolve one peer keyword for a kommun (`area`: the liknande area); None when there is no such group."""
        if keyword == "riket":
            riket = self.units.get(RIKET_ID)
            return Peer("riket", RIKET_ID, riket.title if riket else "Riket")
        if keyword == "alla":
            group = self.groups.get(ALLA_ID)
        elif keyword == "liknande":
            group = self.liknande_group(kommun, area)
            if group is not None:
                match = _LIKNANDE_TITLE.match(fold_case(group["title"]))
                year = int(match["year"]) if match else None
                return Peer("liknande", group["id"], group["title"], tuple(group["members"]), year=year)
        else:
            known, rule = {
                "storlek": (SIZE_CLASS_IDS, _SIZE_TITLE),
                "kommungrupp": (KOMMUNGRUPP_IDS, re.compile(r"^$")),
                "lan": (COUNTY_IDS, _COUNTY_TITLE),
            }[keyword]
            found = self._member_groups(kommun, known, rule)
            group = found[0] if found else None
        if group is None:
            return None
        return Peer(keyword, group["id"], group["title"], tuple(group["members"]))

    def resolve_peers(
        self, kommun: Unit, spec: Sequence[str] | None = None, liknande: str | None = None
    ) -> tuple[list[Peer], list[str]]:
        """Peers for `--peers`: keywords, `liknande:<område>`, group ids, or kommun ids/names forming one custom
        group. `liknande` is the area the bare keyword means (a KPI set's choice; default arbetsmarknad).

        Returns the peers in table order and warnings (in the run's language) for keywords that found no group.
        """
        items = [s.strip() for s in (spec or PEER_KEYWORDS) if s.strip()]
        peers: list[Peer] = []
        warnings: list[str] = []
        custom: list[Unit] = []
        for item in items:
            word = normalize(item)
            area = liknande or DEFAULT_LIKNANDE_AREA
            if word.startswith("liknande:"):
                word, area = "liknande", item.split(":", 1)[1].strip()
                if not area:
                    raise UsageError(f"{item!r}: name the area after 'liknande:' (e.g. liknande:IFO)")
                known = self.liknande_areas()
                if known and normalize(area) not in known:
                    close = difflib.get_close_matches(normalize(area), known, n=1, cutoff=0.6)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise UsageError(f"unknown liknande area {area!r}; {hint}(areas: {', '.join(known)})")
            if word in PEER_KEYWORDS:
                peer = self.peer_for_keyword(kommun, word, area)
                if peer is None:
                    what = f"liknande ({area})" if word == "liknande" else word
                    warnings.append(msg("no_peer_group", what=what, kommun=kommun.title))
                else:
                    peers.append(peer)
            elif item.upper().startswith("G") and item[1:].isdigit():
                group = self.groups.get(item.upper())
                if group is None:
                    titles = {g["id"].lower(): f"{g['id']} ({g['title']})" for g in self.groups.values()}
                    raise NotFoundError(f"unknown group {item!r}{_did_you_mean(_suggest(item, titles))}")
                peers.append(Peer("grupp", group["id"], group["title"], tuple(group["members"])))
            else:
                close = difflib.get_close_matches(word, PEER_KEYWORDS, n=1, cutoff=0.7)
                if close:
                    raise UsageError(
                        f"unknown peer {item!r}; did you mean {close[0]!r}? "
                        f"(keywords: {', '.join(PEER_KEYWORDS)}; or group ids G…, or kommun ids/names)"
                    )
                custom.append(self.find_kommun(item))
        if custom:
            members = tuple(dict.fromkeys(u.id for u in custom))
            names = ", ".join(self.units[m].title for m in members)
            peers.append(Peer("egen", "egen", f"Egen jämförelsegrupp (ovägt medel): {names}", members, False))
        order = {k: i for i, k in enumerate(PEER_KEYWORDS)}
        peers.sort(key=lambda p: (p.role == "riket", order.get(p.role, len(order))))
        unique = list({p.id: p for p in peers}.values())
        return unique, warnings
