"""The benchmark's job done with koladapy (a benchmark-only dependency: `pip install -e '.[bench]'`).

Run as its own process, as `kpijmf fetch` is: python benchmarks/koladapy_job.py BASE_URL KPIS YEARS.
koladapy asks sequentially, throttled to 5 requests a second, following its pages. The job is the one
`benchmarks/fetch.py` gives kpijmf: every kommun (from koladapy's municipality list), Riket and G2328, the
given KPIs and years, ending in one tidy DataFrame (kpijmf also stores KPI and group metadata in SQLite).
The ids go in as comma-joined strings, 25 units a call: koladapy sends a Python list as repeated query
parameters (kpi_id=A&kpi_id=B), which the emulator, like a dict, reads as the last one only.
Prints the number of values (kpi × unit × year × gender) it got.
"""

from __future__ import annotations

import sys

import pandas as pd
from koladapy.api import KoladaAPI

MAX_IDS = 25


def main(base_url: str, kpis: str, years: str) -> None:
    """Fetch the job with koladapy and print how many values came back."""
    api = KoladaAPI(base_url=base_url.rstrip("/") + "/")
    kommuner = [m["id"] for m in api.get_municipalities() if m["type"] == "K"]
    units = [*kommuner, "0000", "G2328"]
    frames = [
        api.get_data_as_dataframe(
            kpi_id=kpis,
            municipality_id=",".join(units[i : i + MAX_IDS]),
            years=years,  # type: ignore[arg-type]
        )
        for i in range(0, len(units), MAX_IDS)
    ]
    data = pd.concat(frames, ignore_index=True)
    print(len(data))


if __name__ == "__main__":
    main(*sys.argv[1:4])
