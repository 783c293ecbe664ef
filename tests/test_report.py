"""The report: self-contained HTML and Markdown with PNG charts; summaries written from hand-built numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from kpijmf.errors import UsageError
from kpijmf.output.words import YearFacts, format_number, span_text, summary
from tests.comparison_fixture import sample_frame, two_kommun_frame

pytest.importorskip("matplotlib")

from kpijmf.output.html import build_html, inline_svg
from kpijmf.output.markdown import build_markdown
from kpijmf.output.report import report_files

HEADINGS = ("Långtidsarbetslöshet 25-64 år (%)", "Nettokostnad arbetsmarknadsåtgärder (kr/inv)")


def _spread(low: float, high: float, n: int, decimals: int) -> list[float]:
    return [round(low + (high - low) * i / max(n - 1, 1), decimals) for i in range(n)]


def sample_distribution() -> pd.DataFrame:
    """Every kommun's 2021 value for the sample frame's KPIs, placing Östersund where the frame ranks it.

    N03926 (lower is better): 96 kommuner below Östersund's 2,9 and 193 above → 97 av 290.
    N40011 (lower is better): 200 below 1 612 and 86 above → 201 av 287.
    """
    rows = []
    layout = {"N03926": (2.9, _spread(1.0, 2.8, 96, 1) + _spread(3.0, 6.0, 193, 1)),
              "N40011": (1612.0, _spread(500, 1600, 200, 0) + _spread(1620, 3000, 86, 0))}  # fmt: skip
    for kpi, (own, others) in layout.items():
        rows.append((kpi, 2021, "2380", own))
        rows += [(kpi, 2021, f"K{i:03d}", v) for i, v in enumerate(others)]
    return pd.DataFrame(rows, columns=["kpi", "year", "unit_id", "value"])


def _section(page: str, kpi: str) -> str:
    match = re.search(rf'<section class="kpi" id="kpi-{kpi}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no section for {kpi}"
    return match.group(1)


@pytest.fixture(scope="module")
def page() -> str:
    frame = sample_frame(with_gender=True)
    frame["preliminary"] = frame["year"].eq(2021)
    return build_html(frame, sample_distribution())


# --- HTML ------------------------------------------------------------------------------------------


def test_html_has_every_kpis_heading_table_and_both_charts(page):
    for kpi, heading in zip(("N03926", "N40011"), HEADINGS, strict=True):
        section = _section(page, kpi)
        assert f"<h2>{heading}</h2>" in section
        assert f'<table id="table-{kpi}">' in section
        assert section.count("<svg ") == 2
        assert '<figure class="line-chart">' in section and '<figure class="strip-chart">' in section
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_html_table_is_the_audit_layout_with_swedish_numbers(page):
    section = _section(page, "N40011")
    rows = re.findall(r'<tr class="([a-z]+)"><th scope="row">([^<]*)</th>', section)
    assert [r[0] for r in rows] == ["kommun", "alla", "storlek", "grupp", "egen", "riket"]
    q3 = '<td class="q3" title="kvartil 3">'  # the kommun's cells in its quartile's colour; 2020 has no rank
    assert f"{q3}1\u00a0456</td><td>–</td>{q3}1\u00a0612</td>{q3}201 av 287, kvartil 3</td>" in section
    assert "<td>1\u00a0420</td>" in section  # alla kommuner 2021, decimal-free for kr/inv
    assert '<th scope="col">Rang 2021</th>' in section


def test_html_loads_nothing_from_outside(page):
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import", "url(http", "<link",
                    "<script", "<iframe", "<object", "<img"):  # fmt: skip
        assert pattern not in page.lower()
    assert "default-src 'none'" in page  # the CSP forbids every fetch and script
    # "://" only in the provenance footer and in the (escaped) formula title of the fixture's group.
    outside_footer = page.split('<footer id="provenance">')[0]
    leftovers = outside_footer.replace("http://example.inval", "")  # the legend may wrap the long title there
    assert "://" not in leftovers
    assert "https://api.kolada.se/v3/data/kpi/" in page.split('<footer id="provenance">')[1]


def test_html_svg_ids_are_unique_per_chart(page):
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    refs = set(re.findall(r"url\(#([^)]+)\)", page)) | set(re.findall(r'href="#([^"]+)"', page))
    assert refs <= set(ids)


def test_html_escapes_every_text_from_the_data():
    frame = sample_frame()
    evil = "<script>alert('x')</script> & Co"
    frame.loc[frame["id"] == "2380", "title"] = evil
    frame.loc[frame["kpi"] == "N03926", "kpi_label"] = "Rate <b>&</b>"
    frame.attrs["kommun_title"] = evil
    frame.attrs["api_url"] = "https://x.invalid/?a=1&b=<2>"
    page = build_html(frame, sample_distribution())
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; Co" in page
    assert "<h2>Rate &lt;b&gt;&amp;&lt;/b&gt; (%)</h2>" in page
    assert "https://x.invalid/?a=1&amp;b=&lt;2&gt;" in page
    assert "<b>" not in page


def test_html_shows_control_characters_instead_of_emitting_them():
    frame = sample_frame()
    frame.loc[frame["id"] == "G2328", "title"] = "Alla\x1b]52;c;x\x07 kommuner"
    page = build_html(frame, None)
    assert "\x1b" not in page and "\x07" not in page
    assert "Alla\\x1b]52;c;x\\x07 kommuner" in page


def test_html_summary_sentences_come_from_the_numbers(page):
    assert (
        '<p class="summary">Östersund låg bättre till än alla kommuners ovägda medel tre år i rad (2019–2021). '
        "Rang 97 av 290 år 2021 (kvartil 2). Förändring 2020–2021: −0,2 procentenheter (förbättring).</p>"
    ) in _section(page, "N03926")
    assert (
        '<p class="summary">Inga värden för Östersund 2020. '
        "Östersund låg sämre till än alla kommuners ovägda medel år 2021. Rang 201 av 287 år 2021 (kvartil 3).</p>"
    ) in _section(page, "N40011")


def test_html_strip_chart_rank_agrees_with_the_table(page):
    assert "Östersund: 2,9, rang 97 av 290 (kvartil 2)" in _section(page, "N03926")
    assert "Östersund: 1\u00a0612, rang 201 av 287 (kvartil 3)" in _section(page, "N40011")


def test_html_footnotes_mark_preliminary_years_and_differing_means(page):
    section = _section(page, "N03926")
    assert '<th scope="col">2021<sup>p</sup></th>' in section
    assert "<td>2,8<sup>*</sup></td>" in section
    assert "p = preliminärt värde: Kolada publicerar ännu värdena för 2021 som preliminära." in section
    assert "eget medel 3,1 (22 kommuner)" in section
    assert "Källa: Kolada" in section


def test_html_marks_single_preliminary_and_revised_cells():
    frame = sample_frame()
    frame["preliminary"] = frame["year"].eq(2021) & frame["id"].eq("0000")
    frame["revised"] = frame["year"].eq(2020) & frame["id"].eq("2380")
    section = _section(build_html(frame, None), "N03926")
    assert '<th scope="col">2021</th>' in section
    assert "<td>2,7<sup>p</sup></td>" in section  # Riket 2021 only
    assert '<td class="q2" title="kvartil 2">3,1<sup>†</sup></td>' in section
    assert "† = reviderat av Kolada" in section


def test_html_provenance_names_sources_api_fetch_range_and_version(page):
    footer = page.split('<footer id="provenance">')[1]
    assert "<h2>Källor och metod</h2>" in footer
    assert "egen bearbetning av data från Kolada" in footer and "Källa: Kolada" in footer
    assert "<dt>Hämtat från Kolada</dt><dd>2026-03-21T08:00:00+00:00 – 2026-03-23T08:02:00+00:00</dd>" in footer
    assert "<dt>kpijmf-version</dt><dd>0.1.0</dd>" in footer
    assert "<dt>Skapad</dt><dd>2026-03-24T09:30:00+01:00</dd>" in footer


def test_html_in_english_has_english_headings_labels_and_summaries():
    page = build_html(sample_frame(), sample_distribution(), lang="en")
    assert '<html lang="en">' in page
    english = ("Sources and method", "Rank 2021", "Change 2020–2021", "Contents", "Fetched from Kolada",
               "A lower value is better.", "97 of 290, quartile 2", "Source: Kolada",
               "Östersund was better than the unweighted mean of all municipalities for three years")  # fmt: skip
    for words in english:
        assert words in page
    for swedish in ("Källor och metod", "Rang 2021", "Förändring", "Innehåll", "Lägre värde", " av 290",
                    "kvartil", "Inga värden", "låg bättre", "Källa: Kolada (", "egen bearbetning"):  # fmt: skip
        assert swedish not in page
    assert '<td class="q3" title="quartile 3">1,456</td>' in page


def test_html_without_distribution_leaves_strip_charts_out():
    page = build_html(sample_frame(), None)
    assert page.count('<figure class="line-chart">') == 2
    assert '<figure class="strip-chart">' not in page


def test_html_of_an_empty_frame_still_has_provenance():
    frame = sample_frame().iloc[0:0]
    frame.attrs = sample_frame().attrs
    page = build_html(frame, None)
    assert "Inga värden att visa." in page and "Källor och metod" in page


def test_unknown_language_is_a_usage_error():
    with pytest.raises(UsageError, match="language"):
        build_html(sample_frame(), None, lang="de")


def test_inline_svg_prefixes_ids_and_drops_prolog():
    svg = (b'<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg" '
           b'xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt"><metadata>x</metadata><defs>'
           b'<clipPath id="p1"/><path id="m1"/></defs><g clip-path="url(#p1)"><use xlink:href="#m1"/>'
           b'<text>id="fake" &amp; url(#p1)</text></g></svg>')  # fmt: skip
    out = inline_svg(svg, "c-", 'A "chart"')
    assert out.startswith('<svg role="img" aria-label="A &quot;chart&quot;" width="10pt">')
    assert 'id="c-p1"' in out and "url(#c-p1)" in out and 'xlink:href="#c-m1"' in out
    assert '<text>id="fake" &amp; url(#p1)</text>' in out  # text content untouched
    assert "metadata" not in out and "http" not in out


# --- Markdown --------------------------------------------------------------------------------------


def test_markdown_returns_its_pngs_as_bytes_and_links_them_in_the_folder(tmp_path: Path):
    frame = sample_frame()
    frame["preliminary"] = frame["year"].eq(2021)
    built = build_markdown(frame, sample_distribution(), chart_folder="rapport_filer")
    md = built.text
    names = sorted(built.images)
    assert names == ["N03926-line.png", "N03926-strip.png", "N40011-line.png", "N40011-strip.png"]
    assert all(data.startswith(b"\x89PNG") for data in built.images.values())
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(links) == [f"rapport_filer/{name}" for name in names]
    assert not list(tmp_path.iterdir())  # building writes nothing
    assert "## Långtidsarbetslöshet 25-64 år (%)" in md
    assert "| **Östersund** | 2,6 | 3,1 | 2,9 | 97 av 290, kvartil 2 | −0,2 |" in md
    assert "| Nyckeltal | 2019 | 2020 | 2021 (p) | Rang 2021 | Förändring 2020–2021 |" in md
    assert "2,8\\*" in md
    assert "## Källor och metod" in md


def test_markdown_in_english():
    built = build_markdown(sample_frame(), None, lang="en", chart_folder="report_filer")
    md = built.text
    assert "## Sources and method" in md and "| Indicator | 2019 | 2020 | 2021 | Rank 2021 |" in md
    assert sorted(built.images) == ["N03926-line.png", "N40011-line.png"]


def test_report_without_charts_keeps_tables_and_summaries_and_says_so():
    built = build_markdown(sample_frame(), sample_distribution(), charts=False)
    assert built.images == {} and "![" not in built.text
    assert "| **Östersund** | 2,6 | 3,1 | 2,9 | 97 av 290, kvartil 2 | −0,2 |" in built.text
    assert "Rapporten skrevs utan diagram" in built.text
    page = build_html(sample_frame(), sample_distribution(), charts=False)
    assert "<svg" not in page and 'id="table-N03926"' in page and 'class="summary"' in page


def test_report_files_put_markdown_images_in_a_folder_beside_the_file(tmp_path: Path):
    files = report_files(sample_frame(), None, "md-report", tmp_path / "rapport.md")
    assert [f.path.relative_to(tmp_path).as_posix() for f in files] == [
        "rapport_filer/N03926-line.png", "rapport_filer/N40011-line.png", "rapport.md"]  # fmt: skip
    assert "(rapport_filer/N03926-line.png)" in files[-1].data.decode("utf-8")
    (page,) = report_files(sample_frame(), None, "html", tmp_path / "r.html")
    assert page.path == tmp_path / "r.html" and page.data.startswith(b"<!DOCTYPE html>")


# --- summary sentences -----------------------------------------------------------------------------


def _facts(values: dict[int, float | None], alla: dict[int, float | None]) -> list[YearFacts]:
    return [YearFacts(year=y, value=v, alla=alla.get(y)) for y, v in values.items()]


def test_summary_three_years_below_alla_is_better_when_lower_is_better():
    facts = _facts({2019: 2.6, 2020: 3.1, 2021: 2.9}, {2019: 2.9, 2020: 3.4, 2021: 3.2})
    text = summary(facts, kommun="Östersund", direction="lower", decimals=1, unit="%")
    assert text == "Östersund låg bättre till än alla kommuners ovägda medel tre år i rad (2019–2021)."
    assert summary(facts, kommun="Östersund", direction="higher", decimals=1).startswith(
        "Östersund låg sämre till än alla kommuners ovägda medel tre år i rad (2019–2021)"
    )
    assert summary(facts, kommun="Östersund", direction="neutral", decimals=1).startswith(
        "Östersund låg lägre än alla kommuners ovägda medel tre år i rad (2019–2021)"
    )


def test_summary_rank_and_change_sentences():
    facts = [
        YearFacts(2020, 3.0, 3.4),
        YearFacts(2021, 3.2, 3.4, rank=10, rank_of=17, quartile=3, change=0.2000000000000002),
    ]
    text = summary(facts, kommun="Östersund", direction="lower", decimals=1, unit="%")
    assert text == (
        "Östersund låg bättre till än alla kommuners ovägda medel två år i rad (2020–2021). "
        "Rang 10 av 17 år 2021 (kvartil 3). Förändring 2020–2021: +0,2 procentenheter (försämring)."
    )
    text = summary(facts, kommun="Östersund", direction="neutral", decimals=0, unit="kr/inv")
    assert text.endswith("Förändring 2020–2021: 0 kr/inv.")
    counted = [YearFacts(2020, 1255, 1408), YearFacts(2021, 1119, 1380, change=-136.0)]
    text = summary(counted, kommun="Östersund", direction="neutral", decimals=0, unit="antal")
    assert text.endswith("Förändring 2020–2021: \u2212136.")
    text = summary(counted, kommun="Östersund", direction="neutral", decimals=0, unit="antal", lang="en")
    assert text.endswith("Change 2020–2021: \u2212136.")


def test_summary_streak_broken_by_a_gap_counts_only_after_it():
    facts = _facts({2018: 2.0, 2019: 2.0, 2020: None, 2021: 2.0, 2022: 2.0},
                   {2018: 3.0, 2019: 3.0, 2020: 3.0, 2021: 3.0, 2022: 3.0})  # fmt: skip
    assert summary(facts, kommun="Östersund", direction="higher", decimals=1) == (
        "Inga värden för Östersund 2020. Östersund låg sämre till än alla kommuners ovägda medel två år i rad "
        "(2021–2022)."
    )
    facts = _facts({2020: 2.0, 2021: 2.0}, {2020: None, 2021: 3.0})
    assert summary(facts, kommun="Östersund", direction="higher", decimals=1) == (
        "Östersund låg sämre till än alla kommuners ovägda medel år 2021; alla kommuners medel saknas för 2020."
    )


def test_summary_streak_ends_where_the_relation_changes_or_years_skip():
    facts = _facts({2019: 4.0, 2020: 2.0, 2021: 2.0}, {2019: 3.0, 2020: 3.0, 2021: 3.0})
    assert "två år i rad (2020–2021)" in summary(facts, kommun="Ö", direction="lower", decimals=1)
    facts = _facts({2015: 2.0, 2019: 2.0, 2021: 2.0}, {2015: 3.0, 2019: 3.0, 2021: 3.0})
    assert summary(facts, kommun="Ö", direction="lower", decimals=1) == (
        "Ö låg bättre till än alla kommuners ovägda medel år 2021."
    )
    years = range(2008, 2022)
    facts = _facts({y: 2.0 for y in years}, {y: 3.0 for y in years})
    assert "14 år i rad (2008–2021)" in summary(facts, kommun="Ö", direction="lower", decimals=1)
    assert "for 14 years running (2008–2021)" in summary(facts, kommun="Ö", direction="lower", decimals=1, lang="en")


def test_summary_same_level_when_the_printed_numbers_agree():
    facts = _facts({2021: 3.04}, {2021: 2.96})
    assert summary(facts, kommun="Ö", direction="lower", decimals=1) == (
        "Ö låg på samma nivå som alla kommuners ovägda medel år 2021."
    )


def test_summary_without_data_says_so():
    facts = _facts({2019: None, 2020: None, 2021: None}, {})
    assert summary(facts, kommun="Östersund", direction="lower", decimals=1) == ("Inga värden för Östersund 2019–2021.")
    facts = _facts({2019: 2.0, 2020: 2.0, 2021: None}, {2019: 3.0, 2020: 3.0})
    assert summary(facts, kommun="Östersund", direction="lower", decimals=1) == (
        "Inga värden för Östersund 2021. Östersund låg bättre till än alla kommuners ovägda medel två år i rad "
        "(2019–2020)."
    )
    assert summary(facts, kommun="Östersund", direction="lower", decimals=1, lang="en") == (
        "No values for Östersund in 2021. Östersund was better than the unweighted mean of all municipalities "
        "for two years running (2019–2020)."
    )


def test_numbers_and_spans_per_language():
    assert format_number(1456.25, 1, "sv") == "1\u00a0456,3"
    assert format_number(1456.25, 1, "en") == "1,456.3"
    assert format_number(-0.2, 1, "en", signed=True) == "\u22120.2"
    assert span_text([2021, 2019, 2020]) == "2019–2021" and span_text([2019, 2021]) == "2019, 2021"


def _with_target() -> pd.DataFrame:
    from kpijmf.compare import apply_targets
    from kpijmf.domain.targets import Target

    frame = sample_frame()
    kommun_id = frame.loc[frame.role == "kommun", "id"].iloc[0]
    marked = apply_targets(frame, [Target("N03926", kommun_id, 3.0, "<=")], kommun_id)
    marked.attrs = frame.attrs
    return marked


def test_report_marks_the_target_in_table_summary_and_chart():
    html = build_html(_with_target(), sample_distribution())
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Målvärde ≤ 3,0" in plain
    assert "Målvärdet ≤ 3,0: uppfylldes" in plain
    assert 'id="series-target' in html or "series-target" in html


def test_english_report_translates_the_target_row():
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", build_html(_with_target(), None, lang="en")))
    assert "Target ≤ 3.0" in plain
    assert "uppfyllt" not in plain and "Målvärde" not in plain


# --- several kommuner, footnotes, neutral KPIs and counts, --vs rows, colours (issues 11 and 14) ----------------


NAN = float("nan")


def _kommun_section(page: str, kommun_id: str) -> str:
    match = re.search(rf'<section class="kommun" id="kommun-{kommun_id}">(.*?)(?=<section class="kommun"|<footer)',
                      page, re.DOTALL)  # fmt: skip
    assert match, f"no section for {kommun_id}"
    return match.group(1)


def test_facts_for_the_summary_are_one_focus_kommuns_rows_only():
    from kpijmf.output.html import _facts

    facts = _facts(two_kommun_frame(), "N03926", "2480")
    assert [(f.year, f.value) for f in facts] == [(2019, 3.5), (2020, 3.8), (2021, 3.9)]


def test_html_with_several_kommuner_has_one_section_each_with_its_own_blocks_summary_and_charts():
    page = build_html(two_kommun_frame(), sample_distribution())
    assert "<h1>Östersund och Umeå jämfört med andra kommuner</h1>" in page
    assert page.index('id="kommun-2380"') < page.index('id="kommun-2480"')
    ostersund, umea = _kommun_section(page, "2380"), _kommun_section(page, "2480")
    assert "<h2>Östersund (2380)</h2>" in ostersund and "<h2>Umeå (2480)</h2>" in umea
    for kommun_id, section in (("2380", ostersund), ("2480", umea)):
        assert re.findall(r'<table id="([^"]+)"', section) == [f"table-{kommun_id}-N03926", f"table-{kommun_id}-N40011"]
        assert "<h3>Långtidsarbetslöshet 25-64 år (%)</h3>" in section
    assert "Östersund låg bättre till än alla kommuners ovägda medel tre år i rad (2019–2021)." in ostersund
    assert "Umeå låg sämre till än alla kommuners ovägda medel tre år i rad (2019–2021)." in umea
    assert "Rang 250 av 290 år 2021 (kvartil 4)." in umea
    assert "Umeå" not in ostersund and "Östersund" not in umea  # rows, summaries and charts: one kommun each
    assert 'aria-label="Långtidsarbetslöshet 25-64 år: Umeå och jämförelsegrupper per år"' in umea
    assert "<dd>Östersund (2380), Umeå (2480)</dd>" in page


def test_markdown_with_several_kommuner_heads_each_kommun_and_names_charts_by_kommun():
    built = build_markdown(two_kommun_frame(), sample_distribution())
    text = built.text
    assert text.index("## Östersund (2380)") < text.index("### Långtidsarbetslöshet 25-64 år (%)")
    assert text.index("### Långtidsarbetslöshet 25-64 år (%)") < text.index("## Umeå (2480)")
    assert "Umeå låg sämre till än alla kommuners ovägda medel tre år i rad" in text.split("## Umeå (2480)")[1]
    assert "2480-N03926-line.png" in built.images and "2380-N40011-strip.png" in built.images
    assert "(rapport_filer/2480-N03926-line.png)" in text


def _noted_frame() -> pd.DataFrame:
    frame = sample_frame()
    mine = frame.kpi == "N03926"
    frame.loc[mine & (frame.year == 2021), "note"] = "brott i serien 2021: 25-65 år"
    frame.loc[mine & (frame.year == 2021), "change_prev"] = NAN
    gap = (frame.kpi == "N40011") & (frame.id == "2380") & (frame.year == 2020)
    frame.loc[gap, "status"] = "Uppgift saknas"
    return frame


def test_html_and_markdown_report_show_the_tables_footnotes():
    page = build_html(_noted_frame(), None, charts=False)
    n03926 = _section(page, "N03926")
    assert '<th scope="col">2021<sup>‡</sup></th>' in n03926
    assert '<p class="notes">‡ Brott i serien 2021: 25-65 år. Ingen förändring beräknas över brottet.</p>' in n03926
    assert "Saknas med status &#x27;Uppgift saknas&#x27; hos Kolada: Östersund 2020." in _section(page, "N40011")
    text = build_markdown(_noted_frame(), None, charts=False).text
    assert "| Nyckeltal | 2019 | 2020 | 2021‡ |" in text
    assert "‡ Brott i serien 2021: 25-65 år. Ingen förändring beräknas över brottet." in text
    assert "Saknas med status 'Uppgift saknas' hos Kolada: Östersund 2020." in text
    english = build_markdown(_noted_frame(), None, charts=False, lang="en").text
    assert "‡ Series break 2021: 25-65 år. No change is computed across the break." in english
    assert "Missing, with Kolada's status 'Uppgift saknas': Östersund 2020." in english


def test_every_footnote_frame_has_its_english():
    from kpijmf.output.words import note_text

    assert note_text("Serien upphörde 2023; efterföljare N18601.", "en") == "The series ended 2023; successor N18601."
    assert note_text("Serien upphörde 2023.", "en") == "The series ended 2023."
    assert note_text("Serien upphörde 2023.", "sv") == "Serien upphörde 2023."


def _neutral_count_frame() -> pd.DataFrame:
    frame = sample_frame()
    counted = frame.kpi == "N40011"
    frame.loc[counted, "direction"] = "neutral"
    frame.loc[counted, "kpi_unit"] = "antal"
    frame.loc[counted, "diff_alla"] = NAN
    return frame  # ranks left in: the report must not show them for a neutral KPI


def test_a_neutral_count_gets_no_rank_colour_or_comparison_wording():
    page = build_html(_neutral_count_frame(), None, charts=False)
    section = _section(page, "N40011")
    summary_text = re.search(r'<p class="summary">(.*?)</p>', section).group(1)
    for said in ("medel", "bättre", "sämre", "högre", "lägre", "Rang", "kvartil"):
        assert said not in summary_text, said
    assert not re.search(r"kvartil \d", section) and 'class="q' not in section and "201 av 287" not in section
    assert "Ingen rang eller kvartil: nyckeltalet har ingen bättre eller sämre riktning." in section
    assert "Antal: jämförs inte med medelvärden" in section
    assert "neutrala) får ingen rang, kvartil eller färg" in page
    english = build_html(_neutral_count_frame(), None, charts=False, lang="en")
    assert "No rank or quartile: the indicator has no better or worse direction." in english


def test_a_report_of_only_neutral_kpis_never_calls_quartile_1_the_best():
    frame = sample_frame()
    frame["direction"] = "neutral"
    page = build_html(frame, None, charts=False)
    assert "bästa fjärdedelen" not in page and not re.search(r"kvartil \d", page)
    assert "Inget av nyckeltalen har en bättre eller sämre riktning" in page


def _with_vs(frame: pd.DataFrame) -> pd.DataFrame:
    vs = frame[frame["id"] == "2380"].copy()
    vs["id"], vs["title"], vs["role"] = "2281", "Sundsvall", "vs"
    vs["rank"], vs["rank_of"], vs["quartile"] = 5, 290, 1
    out = pd.concat([frame, vs], ignore_index=True)
    out.attrs = {**frame.attrs, "vs": [{"id": "2281", "title": "Sundsvall"}]}
    return out


def test_vs_rows_appear_in_the_report_with_their_own_rank_and_colour():
    page = build_html(_with_vs(sample_frame()), None, charts=False)
    section = _section(page, "N03926")
    row = re.search(r'<tr class="vs"><th scope="row">Sundsvall</th>(.*?)</tr>', section).group(1)
    assert row.count('class="q1" title="kvartil 1 (bästa fjärdedelen)"') == 4 and "5 av 290, kvartil 1" in row
    assert "<dd>Sundsvall (2281)</dd>" in page
    text = build_markdown(_with_vs(sample_frame()), None, charts=False).text
    assert "| Sundsvall | 2,6 | 3,1 | 2,9 | 5 av 290, kvartil 1 |" in text


def test_html_colours_follow_the_palette_with_a_legend_under_the_first_table_only():
    from kpijmf.output.colours import QUARTILE_COLOURS, text_colour

    frame = sample_frame()
    at = (frame["kpi"] == "N03926") & (frame["id"] == "2380")
    frame.loc[at, "quartile"] = [1, 3, 4]
    frame.loc[frame["kpi"] == "N40011", "direction"] = "neutral"
    page = build_html(frame, None, charts=False)
    for q, colour in QUARTILE_COLOURS.items():
        assert f"tbody td.q{q} {{ background: {colour}; color: {text_colour(colour)}; }}" in page
    first, second = _section(page, "N03926"), _section(page, "N40011")
    kommun = re.search(r'<tr class="kommun">(.*?)</tr>', first).group(1)
    assert re.findall(r'<td class="q(\d)"', kommun) == ["1", "3", "4", "4"]  # 2019–2021 and the rank's quartile
    assert 'class="q' not in second  # a neutral KPI is not coloured
    assert page.count('<p class="legend">') == 1
    assert first.index("</table>") < first.index('<p class="legend">')
    assert "ColorBrewer PiYG" in first and '<span class="swatch q4">kvartil 4 (sämsta fjärdedelen)</span>' in first
