"""Build tests/data/kolada_snapshot.json.gz: Kolada's real v3 metadata (units, groups, KPIs) in one small file.

Reads the reference files of 2026-03-23 in the shared folder (default ../shared/kolada from the repo root) and
writes one gzip file, byte for byte the same on every run (mtime 0, no file name, sorted keys, compact JSON).
Example: python scripts/build_snapshot.py --shared ../shared/kolada
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "data" / "kolada_snapshot.json.gz"
CAPTURED = "2026-03-23"
SOURCE = f"Kolada (RKA), api.kolada.se/v3, metadata captured {CAPTURED}"
MUNICIPALITIES = f"kolada_municipalities_{CAPTURED}.csv"
GROUPS = f"kolada_municipality_groups_{CAPTURED}.json"
KPIS = f"kolada_kpi_catalog_v3_{CAPTURED}.csv"

KPI_FIELDS = (
    "id", "title", "description", "is_divided_by_gender", "municipality_type", "auspice", "operating_area",
    "perspective", "prel_publication_date", "publication_date", "publ_period", "has_ou_data",
)  # fmt: skip
BOOLEAN_FIELDS = frozenset({"is_divided_by_gender", "has_ou_data"})
# Fields the v3 API sends as null when empty (the CSV writes null as an empty cell).
NULLABLE_FIELDS = frozenset({"auspice", "perspective", "prel_publication_date", "publication_date", "publ_period"})


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _boolean(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(f"expected True or False, got {text!r}")
    return text == "True"


def kpi_object(row: dict[str, str]) -> dict:
    """One catalogue row as the v3 KPI object: booleans as booleans, empty nullable fields as null."""
    kpi: dict = {}
    for name in KPI_FIELDS:
        text = row[name]
        if name in BOOLEAN_FIELDS:
            kpi[name] = _boolean(text)
        elif name in NULLABLE_FIELDS and text == "":
            kpi[name] = None
        else:
            kpi[name] = text
    return kpi


def build(shared: Path) -> dict:
    """The snapshot as a dict: source, capture date, municipalities, groups (member ids only) and KPIs."""
    municipalities = [
        {"id": row["id"], "title": row["title"], "type": row["type"]} for row in _read_csv(shared / MUNICIPALITIES)
    ]
    known = {m["id"] for m in municipalities}
    groups = []
    for group in json.loads((shared / GROUPS).read_text(encoding="utf-8")):
        members = [member["id"] for member in group["members"]]
        unknown = sorted(set(members) - known)
        if unknown:
            raise ValueError(f"group {group['id']} has members that are no municipality: {unknown}")
        groups.append({"id": group["id"], "title": group["title"], "members": members})
    kpis = [kpi_object(row) for row in _read_csv(shared / KPIS)]
    return {
        "source": SOURCE,
        "captured": CAPTURED,
        "municipalities": sorted(municipalities, key=lambda m: m["id"]),
        "groups": sorted(groups, key=lambda g: g["id"]),
        "kpis": sorted(kpis, key=lambda k: k["id"]),
    }


def encode(snapshot: dict) -> bytes:
    """Deterministic gzip of compact, key-sorted JSON (no mtime, no file name in the header)."""
    text = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as handle:
        handle.write(text.encode("utf-8"))
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Read the shared reference files and write the snapshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "kolada", help="reference folder")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the .json.gz")
    args = parser.parse_args(argv)
    snapshot = build(args.shared)
    data = encode(snapshot)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    counts = ", ".join(f"{len(snapshot[key])} {key}" for key in ("municipalities", "groups", "kpis"))
    print(f"wrote {args.output} ({len(data) / 1e6:.2f} MB): {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
