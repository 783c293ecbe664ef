"""The output formats under the name library users have imported since 0.1 (`kpijmf.export.to_xlsx(frame)`).

The code lives in `kpijmf.output`; this module only keeps the old import path working.
"""

from kpijmf.output.files import (
    FORMATS,
    markdown_escape,
    metadata,
    neutralise_formula,
    render_bytes,
    revisions_csv,
    to_csv,
    to_excel_csv,
    to_json,
    to_markdown,
)
from kpijmf.output.sink import write_output
from kpijmf.output.xlsx import to_xlsx

__all__ = [
    "FORMATS",
    "markdown_escape",
    "metadata",
    "neutralise_formula",
    "render_bytes",
    "revisions_csv",
    "to_csv",
    "to_excel_csv",
    "to_json",
    "to_markdown",
    "to_xlsx",
    "write_output",
]
