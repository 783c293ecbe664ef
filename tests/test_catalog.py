"""Lookups by id or name, did-you-mean, and peer groups resolved by membership."""

import pytest

from kpijmf.domain.catalog import Catalog, normalize
from kpijmf.errors import NotFoundError, UsageError

MUNICIPALITIES = [
    {"id": "0000", "title": "Riket", "type": "L"},
    {"id": "0023", "title": "Region Jämtland Härjedalen", "type": "L"},
    {"id": "0114", "title": "Upplands Väsby", "type": "K"},
    {"id": "0139", "title": "Upplands-Bro", "type": "K"},
    {"id": "0180", "title": "Stockholm", "type": "K"},
    {"id": "2309", "title": "Krokom", "type": "K"},
    {"id": "2380", "title": "Östersund", "type": "K"},
    {"id": "2480", "title": "Umeå", "type": "K"},
    {"id": "2580", "title": "Luleå", "type": "K"},
]


def group(gid, title, *members):
    return {"id": gid, "title": title, "members": tuple(members)}


GROUPS = [
    group("G2328", "Alla kommuner (ovägt medel)", "0114", "0139", "0180", "2309", "2380", "2480", "2580"),
    group("G30831", "Kommuner med 50 000 - 99 999 invånare (ovägt medel)", "2380", "2580"),
    group("G30825", "Kommuner med 100 000 - 199 999 invånare (ovägt medel)", "2480"),
    group("G92790", "Större stad (ovägt medel)", "2380", "2480", "2580"),
    group("G33630", "Jämtlands läns kommuner (ovägt medel)", "2309", "2380"),
    group("G199001", "Liknande kommuner arbetsmarknad, Östersund, 2022", "2480", "2580"),
    group("G216379", "Liknande kommuner arbetsmarknad, Östersund, 2024", "2580", "0180"),
    group("G216500", "Liknande kommuner IFO, Östersund, 2025", "2309"),
    group("G114500", "Nätverk Mittsverige (ovägt medel)", "2380", "2480"),
]
KPIS = [
    {"id": "N03926", "title": "Långtidsarbetslösa i befolkningen, 25-65 år, andel (%)", "description": ""},
    {"id": "N40011", "title": "Nettokostnad arbetsmarknadsåtgärder, kr/inv", "description": "sysselsättning"},
]


@pytest.fixture
def catalog():
    return Catalog(MUNICIPALITIES, GROUPS, KPIS)


@pytest.mark.parametrize("query", ["2380", "Östersund", "ostersund", "ÖSTERSUND", " östersund ", "Öster"])
def test_kommun_found_by_id_or_name_without_case_or_diacritics(catalog, query):
    assert catalog.find_kommun(query).id == "2380"


def test_short_id_is_zero_padded(catalog):
    assert catalog.find_kommun("180").title == "Stockholm"


def test_misspelt_kommun_suggests_the_close_name(catalog):
    with pytest.raises(NotFoundError, match=r"did you mean Östersund \(2380\)"):
        catalog.find_kommun("Östersnd")


def test_ambiguous_prefix_lists_the_candidates(catalog):
    with pytest.raises(NotFoundError, match=r"ambiguous: Upplands Väsby .*Upplands-Bro"):
        catalog.find_kommun("upplands")


def test_region_id_is_not_a_kommun(catalog):
    with pytest.raises(NotFoundError, match="0023 is Region Jämtland Härjedalen, not a kommun"):
        catalog.find_kommun("0023")


def test_unknown_kpi_suggests_close_ids(catalog):
    with pytest.raises(NotFoundError, match="did you mean N03926"):
        catalog.find_kpi("N03962")


def test_kpi_lookup_ignores_case(catalog):
    assert catalog.find_kpi("n40011")["id"] == "N40011"


def test_normalize_strips_diacritics():
    assert normalize("  Åre  Östersund ") == "are ostersund"


def test_default_peers_resolved_by_membership_in_table_order(catalog):
    kommun = catalog.find_kommun("2380")
    peers, warnings = catalog.resolve_peers(kommun)
    assert [(p.role, p.id) for p in peers] == [
        ("alla", "G2328"),
        ("storlek", "G30831"),
        ("kommungrupp", "G92790"),
        ("lan", "G33630"),
        ("liknande", "G216379"),
        ("riket", "0000"),
    ]
    assert warnings == []


def test_liknande_takes_the_newest_year_of_the_right_area(catalog):
    assert catalog.liknande_group(catalog.find_kommun("Östersund"))["id"] == "G216379"


def test_missing_peer_group_is_a_warning_not_an_error(catalog):
    peers, warnings = catalog.resolve_peers(catalog.find_kommun("Krokom"), ["storlek", "lan"])
    assert [p.id for p in peers] == ["G33630"]
    assert "no 'storlek' group for Krokom" in warnings[0]


def test_custom_peer_list_of_kommuner_becomes_one_computed_group(catalog):
    peers, _ = catalog.resolve_peers(catalog.find_kommun("2380"), ["alla", "Umeå", "2580", "G114500"])
    custom = next(p for p in peers if p.role == "egen")
    assert custom.members == ("2480", "2580")
    assert not custom.published
    assert any(p.role == "grupp" and p.id == "G114500" for p in peers)


def test_misspelt_peer_keyword_is_a_usage_error_with_suggestion(catalog):
    with pytest.raises(UsageError, match="did you mean 'storlek'"):
        catalog.resolve_peers(catalog.find_kommun("2380"), ["storlk"])


def test_unknown_group_id_is_not_found(catalog):
    with pytest.raises(NotFoundError, match="unknown group 'G999'"):
        catalog.resolve_peers(catalog.find_kommun("2380"), ["G999"])


def test_kpi_search_finds_title_before_description(catalog):
    assert [k["id"] for k in catalog.search_kpis("arbets")] == ["N03926", "N40011"]
    assert [k["id"] for k in catalog.search_kpis("sysselsattning")] == ["N40011"]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2026-03-30", None),  # before the preliminary publication: nothing published for 2025 yet
        ("2026-03-31", 2025),  # preliminary figures for 2025 are out
        ("2026-08-27", 2025),
        ("2026-08-28", None),  # final figures published
    ],
)
def test_preliminary_year_between_preliminary_and_final_publication(today, expected):
    from datetime import date

    from kpijmf.domain.catalog import preliminary_year

    kpi = {"prel_publication_date": "2026-03-31", "publication_date": "2026-08-28", "publ_period": "2025"}
    assert preliminary_year(kpi, date.fromisoformat(today)) == expected
    assert preliminary_year({"publ_period": "2025"}, date.fromisoformat(today)) is None
