"""Every line kpijmf says on stderr, in Swedish and English: one catalogue per language, one language per run.

The language is Swedish unless `--lang en` (the root option, or `report`'s own) or `KPIJMF_LANG=en` says
English; reports follow the same choice. `--help` stays English, and so do errors (raised as exceptions, most
of them by the library). Errors keep their `kpijmf: error:` prefix and warnings `kpijmf: warning:`, so scripts
can grep them in either language.
"""

from __future__ import annotations

import os

from kpijmf.errors import UsageError

LANGS = ("sv", "en")
LANG_ENV = "KPIJMF_LANG"

SV: dict[str, str] = {
    "progress_fetch": "Hämtar från Kolada",
    "progress_refresh": "Uppdaterar",
    "progress_run": "Kör",
    "nothing_to_fetch": "inget att hämta: allt som efterfrågas finns lagrat och är aktuellt (--refresh hämtar igen)",
    "stored": "lagrade {rows} värden för {cells} kpi×år×enhet-celler i {requests} anrop ({data} för data), "
    "{mb} MB, {seconds} s",
    "refreshed": "uppdaterat: {rows} värden i {requests} anrop ({data} för data), {mb} MB, {seconds} s",
    "revised_suffix": "; {changed} reviderade, {removed} tillbakadragna",
    "wrote": "skrev {path}",
    "wrote_rows": "skrev {rows} rader ({fmt}) till {path}",
    "wrote_rows_data": "skrev {rows} rader och {data} på bladet Data ({fmt}) till {path}",
    "wrote_report": "skrev {path} ({kpis} nyckeltal{images})",
    "report_images": ", {n} bilder i {folder}",
    "no_matplotlib": "matplotlib är inte installerat: rapporten får inga diagram. Lägg till dem med: {command}",
    "revisions_count": "{n} revideringar",
    "revisions_since": "{n} revideringar sedan {day}",
    "revisions_rounding": "{n} ändringar bara bortom de visade decimalerna (avrundning) visas inte (--all visar dem)",
    "kpi_removed": "{kpi} finns inte längre i Kolada; efterföljaren är {successor}",
    "more_hits": "… och {n} till (--limit)",
    "hidden_discontinued": "{n} upphörda serier visas inte (--all visar dem)",
    "discontinued_mark": "upphört",
    "kpi_group_members": "{n} nyckeltal",
    "unreachable_hint": "Kontrollera nätverket: en proxy (HTTPS_PROXY), ett eget CA-certifikat (SSL_CERT_FILE) "
    "eller API-adressen (KPIJMF_API_URL).",
}

EN: dict[str, str] = {
    "progress_fetch": "Fetching from Kolada",
    "progress_refresh": "Refreshing",
    "progress_run": "Running",
    "nothing_to_fetch": "nothing to fetch: everything asked for is stored and fresh (use --refresh to fetch again)",
    "stored": "stored {rows} values for {cells} kpi×year×unit cells in {requests} requests ({data} for data), "
    "{mb} MB, {seconds} s",
    "refreshed": "refreshed: {rows} values in {requests} requests ({data} for data), {mb} MB, {seconds} s",
    "revised_suffix": "; {changed} revised, {removed} withdrawn",
    "wrote": "wrote {path}",
    "wrote_rows": "wrote {rows} rows ({fmt}) to {path}",
    "wrote_rows_data": "wrote {rows} rows and {data} on the Data sheet ({fmt}) to {path}",
    "wrote_report": "wrote {path} ({kpis} KPIs{images})",
    "report_images": ", {n} images in {folder}",
    "no_matplotlib": "matplotlib is not installed: the report has no charts. Add them with: {command}",
    "revisions_count": "{n} revisions",
    "revisions_since": "{n} revisions since {day}",
    "revisions_rounding": "{n} changes beyond the shown decimals only (rounding) not shown (--all shows them)",
    "kpi_removed": "{kpi} is no longer in Kolada; its successor is {successor}",
    "more_hits": "… and {n} more (use --limit)",
    "hidden_discontinued": "{n} discontinued series not shown (--all shows them)",
    "discontinued_mark": "discontinued",
    "kpi_group_members": "{n} KPIs",
    "unreachable_hint": "Check the network: a proxy (HTTPS_PROXY), your own CA certificate (SSL_CERT_FILE) "
    "or the API address (KPIJMF_API_URL).",
}

CATALOGUES = {"sv": SV, "en": EN}


def current_lang(lang: str | None = None) -> str:
    """The run's language: `lang` when given, else KPIJMF_LANG, else Swedish; a UsageError for any other."""
    chosen = (lang or os.environ.get(LANG_ENV) or "sv").strip().lower()
    if chosen not in LANGS:
        raise UsageError(f"unknown language {chosen!r}: choose sv or en (--lang or {LANG_ENV})")
    return chosen


def msg(key: str, *, lang: str | None = None, **values: object) -> str:
    """The message `key` in the run's language, numbers in values formatted the language's way."""
    chosen = current_lang(lang)
    shown = {k: _number(v, chosen) if isinstance(v, int | float) and not isinstance(v, bool) else v
             for k, v in values.items()}  # fmt: skip
    return CATALOGUES[chosen][key].format(**shown)


def _number(value: int | float, lang: str) -> str:
    """111504 -> '111 504' (sv) or '111,504' (en); 1.25 -> '1,3' or '1.3' (one decimal for sizes and seconds)."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    if lang == "sv":
        return text.replace(",", "\u00a0").replace(".", ",")
    return text
