"""A headless browser (Debian `chromium`, no network) opens the plugin's data-quality page of a
run with warnings (issue 12): the page renders styled (the warning badge's colour from
report.css is on screen) and does not say "Failed".

The page is rendered by the library (`carbon_assess.report.render_validation_html`, what the
route `/validation/<run_id>` serves) and opened from a file, with every host name unresolvable:
whatever it needs must be inside it. Under CI (env `CI` set; `.ci/run` installs chromium) a
missing browser is a failure; elsewhere the test skips.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from carbon_assess import report
from carbon_assess.report.formatting import quality_verdict
from carbon_assess.report.templating import TEMPLATES

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser")
# No network: background services off, every host name unresolvable, any proxy a dead port.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
    "--force-color-profile=srgb", "--window-size=1200,900",
]


def _chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    message = ("chromium is missing: install the Debian package `chromium` "
               "(.ci/run does: apt-get install -y chromium fonts-noto-cjk)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(profile)}
    proc = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


# ---------------------------------------------------------------------------------- PNG


def _png_rgb(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows (RGB bytes) of an 8-bit RGB or RGBA PNG, decoded with zlib
    and struct only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    assert header, "PNG without IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        else:
            assert kind == 0, f"unknown PNG filter {kind}"
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(
            b for i in range(0, stride, 4) for b in line[i:i + 3]))
    return width, height, rows


def _count_pixels(rows: list[bytes], rgb: tuple[int, int, int], tolerance: int = 3) -> int:
    """Pixels within `tolerance` of `rgb` on every channel."""
    count = 0
    for row in rows:
        for i in range(0, len(row), 3):
            if (abs(row[i] - rgb[0]) <= tolerance and abs(row[i + 1] - rgb[1]) <= tolerance
                    and abs(row[i + 2] - rgb[2]) <= tolerance):
                count += 1
    return count


def _css_colour(selector: str, prop: str = "background") -> tuple[int, int, int]:
    """The colour report.css gives `selector` (e.g. `.warn`), as RGB."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    css = css.split("@media", 1)[0]  # the light scheme, which headless chromium uses
    match = re.search(re.escape(selector) + r"\{[^}]*?" + prop + r":#([0-9a-fA-F]{6})", css)
    assert match, f"no {prop} colour for {selector} in report.css"
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


# ---------------------------------------------------------------------------------- the page


def _page_with_warnings() -> str:
    issues = [
        {"source": "energy_consumption", "expectation": "expect_column_values_to_not_be_null",
         "column": column, "severity": "warning", "success": False, "unexpected_count": n,
         "examples": '[{"province_code": "540000", "year": 2015}]'}
        for column, n in (("kerosene", 31), ("lpg", 2), ("natural_gas", 1))
    ]
    held = [{"source": "gdp", "expectation": "expect_column_values_to_be_between",
             "column": "value", "severity": "error", "success": True, "unexpected_count": 0,
             "examples": None}]
    counts = {"expectations": 4, "passed": 1, "errors": 0, "warnings": 3}
    data: dict[str, Any] = {
        "state": "ok", "message": "", "warehouse": "duckdb:///var/warehouse.duckdb",
        "generated_at": None, "run_id": "20240101T000000Z-abc",
        "run": {"run_id": "20240101T000000Z-abc", "status": "published", "finished_at": None,
                "vintage": "demo", "data_docs": True},
        "validation": {"run_id": "20240101T000000Z-abc", "data_docs": True, "counts": counts,
                       "issues": issues},
        "results": issues + held, "verdict": quality_verdict(counts),
    }
    return report.render_validation_html(data)


def test_data_quality_page_of_a_run_with_warnings_renders_styled_offline(tmp_path):
    browser = _chromium()
    page = _page_with_warnings()
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    html = tmp_path / "validation.html"
    html.write_text(page, encoding="utf-8")
    url = html.resolve().as_uri()

    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", url).stdout
    assert "Data quality of run" in dom, dom[:2000]  # the page itself, not an error page
    assert "passed with warnings" in dom
    assert "Failed" not in dom and "failed" not in dom.lower()

    shot = tmp_path / "shot.png"
    _run(browser, tmp_path / "profile-shot", f"--screenshot={shot}", url)
    width, height, rows = _png_rgb(shot.read_bytes())
    assert (width, height) == (1200, 900)
    warn = _css_colour(".warn")
    assert warn != (255, 255, 255)
    badge_pixels = _count_pixels(rows, warn)
    # verdict, the counts table and three issue rows: several badges of some 100 pixels each
    assert badge_pixels > 300, (
        f"the warning badge colour #{bytes(warn).hex()} is not on screen ({badge_pixels} "
        "pixels): the page's CSS did not apply")
    # the table header background: the rest of report.css applied too
    assert _count_pixels(rows, _css_colour("th")) > 1000


# ------------------------------------------------------------- issue 18, step 7: the layout

# Measures the page once laid out (appended to a copy of the page only: the pages run no
# script): its height, whether it scrolls sideways, and every table's box.
MEASURE = """<script>
(function () {
  var doc = document.documentElement, out = {height: doc.scrollHeight,
    scroll_width: doc.scrollWidth, client_width: doc.clientWidth, tables: []};
  document.querySelectorAll("table").forEach(function (t) {
    var box = t.parentElement, notes = [].map.call(t.querySelectorAll("td.note"),
      function (td) { return td.getBoundingClientRect().width; });
    out.tables.push({rows: t.rows.length, height: t.getBoundingClientRect().height,
      width: t.getBoundingClientRect().width, box_width: box.clientWidth,
      box_right: box.getBoundingClientRect().right, box_overflow: getComputedStyle(box).overflowX,
      narrowest_note: notes.length ? Math.min.apply(null, notes) : null});
  });
  document.body.setAttribute("data-measure", JSON.stringify(out));
})();
</script>"""
# Wide enough for one line of any cell but the reasons; a reason and its margin wrap to four
# lines of 14 px x 1.4 plus padding (about 90 px): 110 px a row leaves room for a fifth line.
ROW_WITH_NOTE_PX, ROW_PX = 110, 45
PAGE_TEXT_PX = 1600  # headings, paragraphs, the bar chart (31 bars of 17 px and axes)
AIRFLOW_FRAME_PX = 1180  # the plugin's iframe in the Airflow UI at a 1280 px window (nav bar)


def _measure(browser: str, tmp_path: Path, page: str, width: int) -> dict[str, Any]:
    import html
    import json

    name = f"page-{width}.html"
    (tmp_path / name).write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = _run(browser, tmp_path / f"profile-{width}", f"--window-size={width},900",
                "--dump-dom", (tmp_path / name).resolve().as_uri())
    match = re.search(r'data-measure="([^"]*)"', proc.stdout)
    assert match, proc.stdout[:2000]
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module")
def demo_report_page(tmp_path_factory) -> str:
    """The report page of a warehouse published from the demo data (31 provinces, the 13th FYP,
    the official comparison, the runs, the data quality)."""
    from carbon_assess.demo import write_demo_landing
    from carbon_assess.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("layout")
    write_demo_landing(root / "landing")
    url = f"duckdb:///{root / 'warehouse.duckdb'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CARBON_ASSESS_HOME", str(root / "home"))
        run_pipeline(root / "landing", url, vintage="demo")
    return report.render_report_html(report.load_report(url))


def test_report_page_reads_well_at_1280_px_and_in_the_airflow_frame(tmp_path, demo_report_page):
    """At 1280 px the "reason and margin" column squeezed every row to one word a line (a
    10,390 px page, 262 px a province row) and the table ran past the page's edge. Now: the
    province table fits the window, its rows are a few lines tall, the page is no taller than
    its rows need; inside the Airflow frame no table widens the page (a wide one scrolls in its
    own box)."""
    browser = _chromium()
    wide = _measure(browser, tmp_path, demo_report_page, 1280)
    tables = wide["tables"]
    provinces = tables[0]
    assert provinces["rows"] == 32  # header and the 31 provinces of the demo data
    assert provinces["narrowest_note"] >= 200, provinces  # a column, not a word
    assert provinces["height"] <= provinces["rows"] * ROW_WITH_NOTE_PX, provinces
    bound = PAGE_TEXT_PX + sum(t["rows"] * (ROW_WITH_NOTE_PX if t["narrowest_note"] else ROW_PX)
                               for t in tables)
    assert wide["height"] <= bound, (wide["height"], bound)
    assert wide["scroll_width"] <= wide["client_width"], wide  # no sideways scrolling
    assert provinces["width"] <= provinces["box_width"] + 1, provinces  # fits at 1280

    framed = _measure(browser, tmp_path, demo_report_page, AIRFLOW_FRAME_PX)
    assert framed["scroll_width"] <= framed["client_width"], framed
    for table in framed["tables"]:
        assert table["box_right"] <= framed["client_width"], table
        if table["width"] > table["box_width"] + 1:  # wider than its box: the box scrolls
            assert table["box_overflow"] in ("auto", "scroll"), table
