"""Kolada's KPI groups (`/v3/kpi_groups`: Öppna jämförelser, Kommunens kvalitet i korthet, …) kept in the store
like the rest of the metadata: fetched when missing or when the metadata is refreshed, read from the store after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpijmf.domain.catalog import normalize
from kpijmf.errors import NotFoundError, StoreError

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.service.workspace import Workspace


def kpi_groups(space: Workspace, *, refresh: bool = False) -> list[dict]:
    """Every KPI group, fetched once into the store (again with `refresh`; never when offline)."""
    from kpijmf.store.db import utc_now

    stored = space.store.kpi_groups()
    stale = space.store.get_meta("kpi_groups_fetched_at") is None
    if (refresh or stale or not stored) and not space.offline:
        space.store.write_kpi_groups(space.syncer.client.kpi_groups(), utc_now())
        stored = space.store.kpi_groups()
    elif not stored:
        raise StoreError("--offline: the store has no KPI groups yet; run `kpijmf kpi groups` online first")
    return stored


def search_groups(groups: list[dict], text: str = "") -> list[dict]:
    """Groups whose id or title contains the text (no case or diacritics), by title."""
    wanted = normalize(text)
    found = [g for g in groups if wanted in normalize(g["id"]) or wanted in normalize(g["title"])]
    return sorted(found, key=lambda g: normalize(g["title"]))


def find_group(groups: list[dict], group_id: str) -> dict:
    """One group by id (case-insensitive), or NotFoundError naming close titles."""
    wanted = group_id.strip().upper()
    for group in groups:
        if group["id"].upper() == wanted:
            return group
    like = [f"{g['id']} ({g['title']})" for g in search_groups(groups, group_id)[:3]]
    raise NotFoundError(f"no KPI group {group_id!r}" + (f"; did you mean {', '.join(like)}?" if like else ""))
