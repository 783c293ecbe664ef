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


def test_missing_peer_group_is_a_warning_not_an_error_in_the_runs_language(catalog, monkeypatch):
    monkeypatch.delenv("KPIJMF_LANG", raising=False)
    peers, warnings = catalog.resolve_peers(catalog.find_kommun("Krokom"), ["storlek", "lan"])
    assert [p.id for p in peers] == ["G33630"]
    assert warnings == ["ingen grupp 'storlek' för Krokom i den lagrade metadatan; hoppas över"]
    monkeypatch.setenv("KPIJMF_LANG", "en")
    _, warnings = catalog.resolve_peers(catalog.find_kommun("Krokom"), ["storlek", "lan"])
    assert warnings == ["no 'storlek' group for Krokom in the stored metadata; skipped"]


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


# -- a kommun is its id: exact names first (Håbo is not Habo), liknande groups in both title forms ------------

HABO_UNITS = [
    {"id": "0000", "title": "Riket", "type": "L"},
    {"id": "0305", "title": "Håbo", "type": "K"},
    {"id": "0643", "title": "Habo", "type": "K"},
    {"id": "0180", "title": "Stockholm", "type": "K"},
    {"id": "2380", "title": "Östersund", "type": "K"},
    {"id": "2480", "title": "Umeå", "type": "K"},
    {"id": "1440", "title": "Ale", "type": "K"},
]
HABO_GROUPS = [
    # Habo's group is listed first and is newer: a folding match would hand it to Håbo.
    group("G216154", "Liknande kommuner arbetsmarknad, Habo, 2024", "0180", "1440"),
    group("G216172", "Liknande kommuner arbetsmarknad, Håbo, 2023", "2380", "2480"),
    group("G175964", "Liknande kommuner ekonomiskt bistånd, Habo, 2023", "2380"),
    group("G175982", "Liknande kommuner ekonomiskt bistånd, Håbo, 2023", "2480", "1440"),
    group("G37384", "Liknande kommuner, övergripande, Habo, 2025", "0643", "0305"),
    group("G37402", "Liknande kommuner, övergripande, Håbo, 2025", "0643", "2480"),
    # Östersund: the comma form renews the arbetsmarknad series; one group wrongly holds the kommun itself.
    group("G216379", "Liknande kommuner arbetsmarknad, Östersund, 2024", "2480", "0180"),
    group("G300001", "Liknande kommuner, arbetsmarknad, Östersund, 2025", "2480", "1440"),
    group("G300002", "Liknande kommuner, arbetsmarknad, Östersund, 2026", "2380", "2480"),
    # A title naming neither kommun exactly, and ambiguous once folded: it belongs to nobody.
    group("G300003", "Liknande kommuner IFO, HABO, 2024", "2380"),
    group("G300004", "Liknande kommuner IFO, Hàbo, 2025", "2480"),
]


@pytest.fixture
def habo():
    return Catalog(HABO_UNITS, HABO_GROUPS, KPIS)


@pytest.mark.parametrize(
    ("query", "kommun_id"),
    [("Håbo", "0305"), ("håbo", "0305"), ("HÅBO", "0305"), ("Habo", "0643"), ("habo", "0643"), ("HABO", "0643")],
)
def test_names_match_exactly_first_with_diacritics_kept(habo, query, kommun_id):
    assert habo.find_kommun(query).id == kommun_id


def test_decomposed_diacritics_match_the_composed_title(habo):
    assert habo.find_kommun("Ha\u030abo").id == "0305"  # "Håbo" typed as a + combining ring


def test_diacritic_free_name_is_used_only_when_unique(habo):
    assert habo.find_kommun("Ostersund").id == "2380"
    assert habo.find_kommun("umea").id == "2480"
    assert habo.kommun_named("Hàbo") is None  # folds to habo: Håbo and Habo both; no exact match
    assert habo.kommun_named("HABO").id == "0643"


def test_habo_and_habo_get_their_own_liknande_group(habo):
    assert habo.liknande_group(habo.find_kommun("0305"))["id"] == "G216172"
    assert habo.liknande_group(habo.find_kommun("0643"))["id"] == "G216154"


@pytest.mark.parametrize(("kommun_id", "group_id"), [("0305", "G37402"), ("0643", None)])
def test_comma_title_form_is_read_and_a_group_holding_the_kommun_is_not_its_peer(habo, kommun_id, group_id):
    found = habo.liknande_group(habo.find_kommun(kommun_id), "övergripande")
    assert (found["id"] if found else None) == group_id


def test_newest_liknande_group_wins_across_title_forms(habo):
    # 2026 holds Östersund itself, so the 2025 comma-form group beats the 2024 one.
    peer = habo.peer_for_keyword(habo.find_kommun("2380"), "liknande")
    assert (peer.id, peer.year) == ("G300001", 2025)


def test_group_title_naming_no_kommun_exactly_is_nobodys(habo):
    assert habo.liknande_group(habo.find_kommun("0305"), "IFO") is None
    assert habo.liknande_group(habo.find_kommun("0643"), "IFO")["id"] == "G300003"  # "HABO": exact, case aside


def test_liknande_area_from_the_peers_option(habo):
    peers, warnings = habo.resolve_peers(habo.find_kommun("Håbo"), ["liknande:ekonomiskt bistånd"])
    assert [(p.role, p.id, p.year) for p in peers] == [("liknande", "G175982", 2023)]
    assert warnings == []
    peers, _ = habo.resolve_peers(habo.find_kommun("Håbo"), ["liknande:Ekonomiskt bistand"])
    assert peers[0].id == "G175982"


def test_liknande_area_from_the_kpi_set(habo):
    peers, _ = habo.resolve_peers(habo.find_kommun("Habo"), ["liknande"], liknande="ekonomiskt bistånd")
    assert peers[0].id == "G175964"


def test_unknown_liknande_area_is_a_usage_error_with_the_known_areas(habo):
    with pytest.raises(UsageError, match=r"unknown liknande area 'arbetsmarknd'; did you mean 'arbetsmarknad'"):
        habo.resolve_peers(habo.find_kommun("Håbo"), ["liknande:arbetsmarknd"])
    with pytest.raises(UsageError, match="name the area"):
        habo.resolve_peers(habo.find_kommun("Håbo"), ["liknande:"])


def test_custom_peers_by_name_follow_the_same_rule(habo):
    peers, _ = habo.resolve_peers(habo.find_kommun("2380"), ["Håbo", "habo"])
    assert peers[0].members == ("0305", "0643")


def test_removed_kpi_names_its_successor_not_unrelated_ids(catalog):
    with pytest.raises(NotFoundError, match=r"^N17434 is no longer in Kolada; its successor is N18601") as caught:
        catalog.find_kpi("n17434")
    assert "did you mean" not in str(caught.value)
