"""The HTML report in a real browser (headless Chromium): it renders, shows every table and chart, loads nothing.

Two runs: a screenshot of the report exactly as written (its Content-Security-Policy in force), and a DOM dump
of a test copy that carries a small probe script, allowed by its hash in the copy's CSP, which records table
ids, rendered SVG sizes, every resource the page fetched, and every error or CSP violation.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.comparison_fixture import sample_frame

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (Debian: apt-get install chromium)")

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")  # Pillow comes with matplotlib

from kpijmf.output.html import CSP, build_html  # noqa: E402
from tests.test_report import sample_distribution  # noqa: E402

PROBE = """
(function () {
  var problems = [];
  window.addEventListener("error", function (e) {
    var t = e.target || {};
    problems.push("error: " + (e.message || t.src || t.href || t.tagName || "?"));
  }, true);
  document.addEventListener("securitypolicyviolation", function (e) {
    problems.push("csp: " + e.violatedDirective + " " + e.blockedURI);
  });
  window.addEventListener("load", function () {
    var out = {
      tables: Array.from(document.querySelectorAll("table")).map(function (t) { return t.id; }),
      svgs: Array.from(document.querySelectorAll("svg")).map(function (s) {
        var r = s.getBoundingClientRect();
        return [s.closest("figure").className, Math.round(r.width), Math.round(r.height)];
      }),
      images: Array.from(document.images).map(function (i) { return [i.naturalWidth, i.naturalHeight]; }),
      resources: performance.getEntriesByType("resource").map(function (e) { return e.name; }),
      problems: problems
    };
    var pre = document.createElement("pre");
    pre.id = "kpijmf-probe";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
""".strip()
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--enable-logging=stderr", "--v=0"]  # fmt: skip


def _chromium(tmp: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{name}"
    env = {**os.environ, "HOME": str(tmp)}  # chromium writes caches under HOME; keep them in the test's folder
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, env=env, check=False,
    )  # fmt: skip


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def _probe_copy(page: str) -> str:
    """The report with the probe script, the CSP widened by exactly that script's hash."""
    digest = base64.b64encode(hashlib.sha256(PROBE.encode("utf-8")).digest()).decode("ascii")
    policy = f"{CSP}; script-src 'sha256-{digest}'"
    assert page.count(CSP) == 1
    page = page.replace(CSP, policy)
    return page.replace("</head>", f"<script>{PROBE}</script>\n</head>", 1)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("browser")
    frame = sample_frame(with_gender=True)
    frame["preliminary"] = frame["year"].eq(2021)
    page = build_html(frame, sample_distribution())
    path = tmp / "rapport.html"
    path.write_text(page, encoding="utf-8")
    return path, page


def test_report_renders_in_chromium_with_tables_and_charts(report):
    path, _ = report
    shot = path.parent / "rapport.png"
    done = _chromium(path.parent, "shot", f"--screenshot={shot}", "--window-size=1280,2400", path.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 50_000
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # text, tables and charts, not a blank page
    present = {rgb for _, rgb in colours}
    assert (238, 243, 248) in present  # the kommun row's background: the inline CSS applied under the CSP
    assert (11, 60, 111) in present  # the kommun's line colour: the inline SVG charts were drawn
    assert (184, 225, 134) in present  # quartile 2's fill (#b8e186) on the kommun's cells wins over the row's
    assert (241, 182, 218) in present  # quartile 3's (#f1b6da): N40011's cells
    white = next(n for n, rgb in colours if rgb == (255, 255, 255))
    assert white < 0.95 * image.size[0] * image.size[1]
    assert _console_messages(done.stderr) == []


def test_report_dom_has_every_table_and_sized_charts_and_fetches_nothing(report):
    path, page = report
    copy = path.parent / "rapport-probe.html"
    copy.write_text(_probe_copy(page), encoding="utf-8")
    done = _chromium(path.parent, "dom", "--virtual-time-budget=2000", "--window-size=1280,2400", "--dump-dom",
                     copy.as_uri())  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="kpijmf-probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, "the probe did not run: " + done.stderr[-2000:]
    probe = json.loads(html.unescape(match.group(1)))
    assert probe["tables"] == ["table-N03926", "table-N40011"]
    kinds = sorted(kind for kind, _, _ in probe["svgs"])
    assert kinds == ["line-chart", "line-chart", "strip-chart", "strip-chart"]
    for kind, width, height in probe["svgs"]:
        assert width > 300 and height > 100, (kind, width, height)
    assert all(w > 0 and h > 0 for w, h in probe["images"])
    assert probe["resources"] == []  # self-contained: the browser fetched nothing at all
    assert probe["problems"] == []
    assert _console_messages(done.stderr) == []
    assert "Östersund låg bättre till än alla kommuners ovägda medel tre år i rad (2019–2021)." in done.stdout


def test_report_written_without_matplotlib_renders_with_tables_and_fetches_nothing(tmp_path):
    from tests.emulator import EmulatorServer, small_universe
    from tests.support import kpijmf_env, run_kpijmf
    from tests.test_e2e_report import without_matplotlib

    path = tmp_path / "rapport.html"
    with EmulatorServer(small_universe()) as emu:
        env = without_matplotlib(kpijmf_env(emu.url, tmp_path / "store"), tmp_path / "block")
        run = run_kpijmf(["report", "--kommun", "2380", "--kpi", "N03926,U40455", "--years", "2019-2021",
                          "--output", str(path)], env)  # fmt: skip
    assert run.code == 0, run.stderr
    copy = tmp_path / "rapport-probe.html"
    copy.write_text(_probe_copy(path.read_text(encoding="utf-8")), encoding="utf-8")
    done = _chromium(tmp_path, "bare", "--virtual-time-budget=2000", "--window-size=1280,2400", "--dump-dom",
                     copy.as_uri())  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="kpijmf-probe">(.*?)</pre>', done.stdout, re.DOTALL)
    assert match, "the probe did not run: " + done.stderr[-2000:]
    probe = json.loads(html.unescape(match.group(1)))
    assert probe["tables"] == ["table-N03926", "table-U40455"]
    assert probe["svgs"] == [] and probe["resources"] == [] and probe["problems"] == []
    assert _console_messages(done.stderr) == []
