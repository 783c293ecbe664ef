"""KPI search ranking (kpijmf.domain.search) on Kolada's real KPI list (the emulator's snapshot of 2026-03-23)."""

from __future__ import annotations

import pytest

from kpijmf.domain.search import Match, expand, is_discontinued, kommuner_in_lan, search_kpis
from tests.emulator.snapshot import load_snapshot

FIRST_SCREEN = 20  # what a 24-line terminal shows of `kpi search` (30 hits unless --limit), with room to spare


@pytest.fixture(scope="module")
def kpis() -> list[dict]:
    return list(load_snapshot()["kpis"])


def _ids(hits) -> list[str]:
    return [h.kpi["id"] for h in hits]


def test_arbetsloshet_lists_live_series_first_with_the_bas_series_on_the_first_screen(kpis):
    hits = search_kpis(kpis, "arbetslöshet")
    live = [h for h in hits if not h.discontinued]
    assert hits[: len(live)] == live  # every live series before every discontinued one
    assert any(h.discontinued for h in hits)  # N03932 (-2023) and friends are still found, last
    first = _ids(live[:FIRST_SCREEN])
    assert {"N03941", "N03942", "N03926"} <= set(first)
    assert "N03932" not in first


def test_forsorjningsstod_finds_ekonomiskt_bistand_in_titles(kpis):
    hits = search_kpis(kpis, "försörjningsstöd")
    ids = _ids([h for h in hits if not h.discontinued][:FIRST_SCREEN])
    assert "N31008" in ids  # Nettokostnad ekonomiskt bistånd, kr/inv: a synonym in the title
    n31008 = next(h for h in hits if h.kpi["id"] == "N31008")
    assert n31008.match == Match.WORD and n31008.synonym


def test_whole_word_before_prefix_before_substring_before_description():
    kpis = [
        {"id": "X4", "title": "Något annat", "description": "om arbetslösa"},
        {"id": "X5", "title": "Förarbetslösaregistret"},
        {"id": "X3", "title": "Långtidsarbetslösa, andel"},  # a compound's head: a kind of arbetslösa
        {"id": "X2", "title": "Arbetslösaregistret, antal"},
        {"id": "X1", "title": "Arbetslösa, andel (%)"},
        {"id": "X0", "title": "Arbetslösa, andel (%) (-2023)"},
    ]
    hits = search_kpis(kpis, "arbetslosa")  # no diacritics needed
    assert _ids(hits) == ["X1", "X3", "X2", "X5", "X4", "X0"]
    assert [h.match for h in hits] == [
        Match.WORD, Match.WORD, Match.PREFIX, Match.TITLE, Match.DESCRIPTION, Match.WORD
    ]  # fmt: skip


def test_own_words_rank_before_synonyms_and_an_id_first():
    kpis = [{"id": "N1", "title": "Arbetslösa"}, {"id": "N2", "title": "Arbetslöshet"}, {"id": "N3", "title": "x"}]
    assert _ids(search_kpis(kpis, "arbetslöshet")) == ["N2", "N1"]
    assert _ids(search_kpis(kpis, "n3")) == ["N3"]


def test_synonyms_go_both_ways():
    assert ("ekonomiskt bistand", True) in expand("Försörjningsstöd")
    assert ("forsorjningsstod", True) in expand("ekonomiskt bistånd")
    assert expand("okänt ord") == [("okant ord", False)]


def test_discontinued_is_a_year_in_parentheses_at_the_end():
    assert is_discontinued("Arbetslöshet 16-65 år, andel (%) (-2023)")
    assert not is_discontinued("Arbetslösa av arbetskraften (BAS), 18-65 år, andel (%)")


@pytest.fixture(scope="module")
def units():
    from kpijmf.domain.catalog import Unit

    return [Unit(m["id"], m["title"], m["type"]) for m in load_snapshot()["municipalities"]]


@pytest.mark.parametrize(("name", "region", "count"), [
    ("Jämtland", "Region Jämtland Härjedalen", 8), ("jamtlands lan", "Region Jämtland Härjedalen", 8),
    ("23", "Region Jämtland Härjedalen", 8), ("Västra Götaland", "Västra Götalandsregionen", 49),
    ("Gotland", "Region Gotland", 1), ("Stockholms län", "Region Stockholm", 26),
])  # fmt: skip
def test_kommuner_in_lan_by_name_or_code(units, name, region, count):
    found, kommuner = kommuner_in_lan(units, name)
    assert found.title == region and len(kommuner) == count
    assert all(k.type == "K" and k.id[:2] == found.id[2:] for k in kommuner)


def test_unknown_lan_is_not_found(units):
    from kpijmf.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no län matches 'Atlantis'"):
        kommuner_in_lan(units, "Atlantis")
