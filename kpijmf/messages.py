"""Every line kpijmf says to a person, in Swedish and English: one catalogue per language, one language per run.

The CLI's progress and summaries and the library's warnings (`Workspace.on_message`, the Kolada client's
"försöker igen" line) all come from here, so every layer may import this module (it imports only
kpijmf.errors). The language is Swedish unless `--lang en` (the root option, or `report`'s own) or
`KPIJMF_LANG=en` says English; reports follow the same choice. `--help` stays English, and so do errors (raised
as exceptions, most of them by the library). Errors keep their `kpijmf: error:` prefix and warnings
`kpijmf: warning:`, so scripts can grep them in either language.

Values are formatted the language's way when they are numbers (`111 504` / `111,504`): pass years, ids and
spans as strings.
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
    "kommuner_in_lan": "{region}: {n} kommuner",
    "interrupted": "avbrutet",
    # the library's warnings (kpijmf.service, kpijmf.domain)
    "kpi_not_in_catalogue": "{kpi} (set {set}) finns inte i Koladas katalog; hoppas över",
    "kpi_set_successor": "{kpi} (set {set}) finns inte längre i Kolada (efterföljaren är {successor}); hoppas över",
    "no_data": "inga värden för {kpis}{span}{why}; utelämnas",
    "no_data_span": " under {years}",
    "no_data_ended": " ({kpis}: upphörd serie, Kolada uppdaterar den inte längre)",
    "no_peer_group": "ingen grupp '{what}' för {kommun} i den lagrade metadatan; hoppas över",
    # the Kolada client waiting out the API (kpijmf.kolada)
    "kolada_retry": "{what}, försöker igen om {seconds} s",
    "kolada_status": "Kolada svarar {status}",
    "kolada_timeout": "Kolada svarar inte inom {seconds} s",
    "kolada_silent": "Kolada svarar inte",
    "kolada_no_contact": "ingen kontakt med Kolada",
    "kolada_dropped": "Kolada bröt anslutningen",
    # waiting for another kpijmf's write lock on the store (kpijmf.store.lock)
    "lock_wait": "väntar upp till {seconds} s på att {holder} släpper lagret",
    # kpijmf cache info (stdout) and cache clear
    "cache_store": "lagringsfil: {path} ({mb} MB, schemaversion {schema})",
    "cache_metadata": "metadata hämtad: {when}",
    "cache_kpi_catalogue": "hela KPI-katalogen hämtad: {when}",
    "cache_kpis_by_id": "aldrig (bara de nyckeltal kommandona behövt, hämtade efter id)",
    "cache_last_fetch": "senaste hämtning: {when}",
    "cache_never": "aldrig",
    "cache_count": "{table}: {n}",
    "cache_moved_aside": "flyttade den skadade lagringsfilen åt sidan till {path}; tog inte bort något",
    "cache_removed_files": "tog bort {files} (revideringshistoriken också)",
    "cache_cleared": "tog bort {removed} ur {path}; behöll {revisions} revideringar och hämtloggen "
    "(`kpijmf cache clear --all` tar bort dem)",
    "cache_cleared_nothing": "ingenting (den var tom)",
    "cache_rows": "{n} {what}",
    "cache_no_store": "det finns ingen lagringsfil {path}",
    "table_observation": "värden",
    "table_coverage": "täckningsmarkeringar",
    "table_refresh_state": "uppdateringsdatum",
    "table_kpi": "nyckeltal",
    "table_municipality": "enheter",
    "table_muni_group": "grupper",
    "table_group_member": "gruppmedlemskap",
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
    "kommuner_in_lan": "{region}: {n} kommuner",
    "interrupted": "interrupted",
    # the library's warnings (kpijmf.service, kpijmf.domain)
    "kpi_not_in_catalogue": "{kpi} (set {set}) is not in Kolada's catalogue; skipped",
    "kpi_set_successor": "{kpi} (set {set}) is no longer in Kolada (its successor is {successor}); skipped",
    "no_data": "no data{span} for {kpis}{why}; left out",
    "no_data_span": " in {years}",
    "no_data_ended": " ({kpis}: discontinued, Kolada no longer updates it)",
    "no_peer_group": "no '{what}' group for {kommun} in the stored metadata; skipped",
    # the Kolada client waiting out the API (kpijmf.kolada)
    "kolada_retry": "{what}, trying again in {seconds} s",
    "kolada_status": "Kolada answers {status}",
    "kolada_timeout": "Kolada does not answer within {seconds} s",
    "kolada_silent": "Kolada does not answer",
    "kolada_no_contact": "no connection to Kolada",
    "kolada_dropped": "Kolada dropped the connection",
    # waiting for another kpijmf's write lock on the store (kpijmf.store.lock)
    "lock_wait": "waiting up to {seconds} s for {holder} to release the store",
    # kpijmf cache info (stdout) and cache clear
    "cache_store": "store: {path} ({mb} MB, schema {schema})",
    "cache_metadata": "metadata fetched: {when}",
    "cache_kpi_catalogue": "whole KPI catalogue fetched: {when}",
    "cache_kpis_by_id": "never (only the KPIs commands needed, fetched by id)",
    "cache_last_fetch": "last fetch: {when}",
    "cache_never": "never",
    "cache_count": "{table}: {n}",
    "cache_moved_aside": "moved the damaged store aside to {path}; removed nothing",
    "cache_removed_files": "removed {files} (the revision history included)",
    "cache_cleared": "removed {removed} from {path}; kept {revisions} revisions and the fetch log "
    "(`kpijmf cache clear --all` deletes them)",
    "cache_cleared_nothing": "nothing (it was empty)",
    "cache_rows": "{n} {what}",
    "cache_no_store": "no store at {path}",
    "table_observation": "values",
    "table_coverage": "coverage marks",
    "table_refresh_state": "refresh dates",
    "table_kpi": "KPIs",
    "table_municipality": "units",
    "table_muni_group": "groups",
    "table_group_member": "group memberships",
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
