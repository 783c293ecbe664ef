"""A data page's JSON types as a msgspec schema, for the quick way through `kpijmf.kolada.parse.record_page`.

The types `parse._row_records` checks, no more: that function's checks are the rules, and tests/test_fuzz_parse.py
shows on generated rows that this schema accepts nothing they refuse. Imported on the first data page only.
"""

from typing import Annotated, Any

import msgspec

from kpijmf.kolada.parse import MAX_COUNT


class Entry(msgspec.Struct, gc=False):
    """One gender's value in a data row."""

    gender: str
    value: float | None = None
    count: Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)] | None = None
    status: str | None = None
    isdeleted: bool | None = None


class Row(msgspec.Struct, gc=False):
    """One kpi × municipality × period row."""

    kpi: str
    municipality: str
    period: int | str
    values: list[Entry]


class DataPage(msgspec.Struct, gc=False):
    """Kolada's envelope around data rows; next_url as it came (the client checks it)."""

    values: list[Row]
    next_url: Any = None


DECODER = msgspec.json.Decoder(DataPage)
