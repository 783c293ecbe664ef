"""Peer resolution over Kolada's real catalogue (snapshot of 2026-03-23): every one of the 290 kommuner."""

from __future__ import annotations

import re
from functools import lru_cache

import pytest

from kpijmf.domain.catalog import Catalog, fold_case
from tests.emulator.snapshot import load_snapshot
from tests.support import kpijmf_env, run_kpijmf

ROLES = ("alla", "storlek", "kommungrupp", "lan")
_NAME_IN_TITLE = re.compile(r"^Liknande kommuner,? [^,]+, (?P<name>.+), (?P<year>\d{4})$")


@lru_cache(maxsize=1)
def real_catalog() -> Catalog:
    snapshot = load_snapshot()
    return Catalog(snapshot["municipalities"], snapshot["groups"], snapshot["kpis"])


KOMMUN_IDS = real_catalog().kommun_ids


def test_the_snapshot_holds_290_kommuner_with_two_that_fold_alike():
    catalog = real_catalog()
    assert len(KOMMUN_IDS) == 290
    assert (catalog.units["0305"].title, catalog.units["0643"].title) == ("Håbo", "Habo")


@pytest.mark.parametrize("kommun_id", KOMMUN_IDS)
def test_every_kommun_gets_its_own_peer_groups(kommun_id):
    catalog = real_catalog()
    kommun = catalog.units[kommun_id]
    assert catalog.find_kommun(kommun.title).id == kommun_id  # found by its own name
    peers, warnings = catalog.resolve_peers(kommun)
    assert warnings == []
    by_role = {p.role: p for p in peers}
    for role in ROLES:
        assert kommun_id in by_role[role].members, (role, by_role[role].title)
    for area, peer in (("arbetsmarknad", by_role["liknande"]), ("övergripande", None)):
        group = catalog.liknande_group(kommun, area) if peer is None else catalog.groups[peer.id]
        match = _NAME_IN_TITLE.match(group["title"])
        assert match and fold_case(match["name"]) == fold_case(kommun.title), group["title"]
        assert match["name"] == kommun.title  # the real titles even keep the case
        assert kommun_id not in group["members"]
    assert by_role["liknande"].year == 2024
    assert by_role["riket"].id == "0000"


def test_habo_and_habo_are_found_by_name_with_their_own_groups():
    catalog = real_catalog()
    assert catalog.find_kommun("Håbo").id == "0305"
    assert catalog.find_kommun("Habo").id == "0643"
    assert catalog.find_kommun("habo").id == "0643"
    assert catalog.liknande_group(catalog.units["0305"])["id"] == "G216172"
    assert catalog.liknande_group(catalog.units["0643"])["id"] == "G216154"
    assert catalog.liknande_group(catalog.units["0305"], "ekonomiskt bistånd")["id"] == "G175982"


def test_the_newer_comma_title_form_is_read():
    catalog = real_catalog()
    group = catalog.liknande_group(catalog.find_kommun("Östersund"), "övergripande")
    assert group["title"] == "Liknande kommuner, övergripande, Östersund, 2025"


def test_kommun_show_habo_end_to_end_against_the_real_catalogue(real_emulator, tmp_path):
    env = kpijmf_env(real_emulator.url, tmp_path / "store")
    run = run_kpijmf(["kommun", "show", "0305"], env)
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "0305\tHåbo"
    liknande = next(line for line in lines if line.strip().startswith("liknande"))
    assert "G216172" in liknande and "Liknande kommuner arbetsmarknad, Håbo, 2024" in liknande
    assert "Habo" not in run.stdout
    for role in ("alla", "storlek", "kommungrupp", "lan", "riket"):
        assert any(line.strip().startswith(role) for line in lines), role

    by_name = run_kpijmf(["kommun", "show", "Habo"], env)
    assert by_name.code == 0, by_name.stderr
    assert by_name.stdout.splitlines()[0] == "0643\tHabo"
    assert "G216154" in by_name.stdout


def test_removed_kpi_exits_3_naming_its_successor(emulator, tmp_path):
    env = kpijmf_env(emulator.url, tmp_path / "store")
    run = run_kpijmf(["compare", "--kommun", "2380", "--kpi", "N17434", "-f", "csv"], env)
    assert run.code == 3
    assert "N17434 is no longer in Kolada; its successor is N18601" in run.stderr
    assert "did you mean" not in run.stderr and run.stdout == ""
    shown = run_kpijmf(["kpi", "show", "n17434"], env)
    assert shown.code == 3 and shown.stderr.count("N18601") == 2  # "successor is N18601 (kpijmf kpi show N18601)"


def test_compare_habo_names_its_own_liknande_group_and_year_in_the_provenance(real_emulator, tmp_path):
    import json

    env = kpijmf_env(real_emulator.url, tmp_path / "store")

    def liknande(*extra: str) -> tuple[dict, set[str]]:
        run = run_kpijmf(["compare", "--kommun", "Håbo", "--years", "2023", "-f", "json", *extra], env)
        assert run.code == 0, run.stderr
        data = json.loads(run.stdout)
        peer = next(p for p in data["metadata"]["peers"] if p["role"] == "liknande")
        return peer, {r["id"] for r in data["rows"] if r["role"] == "liknande"}

    peer, rows = liknande("--kpi", "N03926")
    assert (peer["id"], peer["year"], peer["title"]) == ("G216172", 2024, "Liknande kommuner arbetsmarknad, Håbo, 2024")
    assert rows == {"G216172"}
    peer, _ = liknande("--set", "ekonomiskt_bistand", "--kpi", "N31807")  # the set names its area
    assert (peer["id"], peer["year"]) == ("G175982", 2023)
    peer, _ = liknande("--kpi", "N03926", "--peers", "liknande:övergripande")
    assert (peer["id"], peer["year"]) == ("G37402", 2025)  # the comma title form
