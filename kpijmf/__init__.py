"""kpijmf: Swedish municipal labour-market KPIs from Kolada, stored locally, compared with peer groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from kpijmf.api import compare as compare

__all__ = ["__version__", "compare"]


def __getattr__(name: str) -> Any:
    # Lazy so that `import kpijmf` (and `kpijmf --help`) stays free of pandas and httpx.
    if name == "compare":
        from kpijmf.api import compare

        return compare
    raise AttributeError(f"module 'kpijmf' has no attribute {name!r}")
