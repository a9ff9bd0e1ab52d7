"""The report as a reader sees it: ``index.html`` rendered in headless Chromium (Debian's ``chromium``).

A probe script is appended to a copy of the page. After load it opens every collapsed section and
records, into the DOM that ``--dump-dom`` prints: whether every image decoded, every resource the
page fetched (it must fetch nothing but its own files), and every element wider than the 1024 px
viewport. The page is loaded from disk with the network closed off (``--host-resolver-rules`` maps
every host to nothing), so a request to anywhere else also shows up. Skipped with the reason when
Chromium is not installed (``.ci/run`` installs it with apt-get).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.test_reports import ALL_MODELS, rendered

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VIEWPORT = (1024, 900)
PROBE = """
<script>
window.addEventListener("load", () => {
  for (const d of document.querySelectorAll("details")) { d.open = true; }  // every section, as a reader opens it
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > document.documentElement.clientWidth + 1) {
      const where = el.closest("[id]");
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " right=" + Math.round(r.right)
        + (where && where !== el ? " in #" + where.id : ""));
    }
  }
  const images = [...document.images].map(
    (img) => ({src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0}));
  const resources = performance.getEntriesByType("resource").map((e) => e.name);
  const out = document.createElement("pre");
  out.id = "corobench-probe";
  out.textContent = JSON.stringify({
    wide, images, resources, pageWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
  });
  document.body.appendChild(out);
});
</script>
"""

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")


def probe(index: Path) -> dict[str, object]:
    page = index.with_name("browser-probe.html")
    page.write_text(index.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={profile}",
                f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    match = re.search(r'<pre id="corobench-probe">(.*?)</pre>', result.stdout, re.S)
    assert match, f"the probe did not run; chromium said: {result.stderr[-1500:]}"
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return dict(json.loads(text))


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = rendered(ALL_MODELS, tmp_path_factory)
    return probe(out / "index.html")


def test_every_image_loads(seen: dict[str, object]) -> None:
    images = seen["images"]
    assert isinstance(images, list) and images, "the page shows no image"
    assert [img["src"] for img in images if not img["ok"]] == []


def test_nothing_is_fetched_from_the_network(seen: dict[str, object]) -> None:
    resources = seen["resources"]
    assert isinstance(resources, list)
    assert [url for url in resources if not str(url).startswith("file://")] == []


def test_nothing_overflows_at_1024_px(seen: dict[str, object]) -> None:
    assert seen["viewport"] == VIEWPORT[0]
    assert seen["wide"] == []
    assert isinstance(seen["pageWidth"], int) and seen["pageWidth"] <= VIEWPORT[0]


def test_the_probe_sees_an_overflow(tmp_path: Path) -> None:
    """The overflow check can fail: a page with a 2000 px table is caught."""
    page = tmp_path / "index.html"
    page.write_text('<html><body><table id="t" style="width:2000px"><tr><td>x</td></tr></table></body></html>')
    wide = probe(page)["wide"]
    assert isinstance(wide, list) and any(str(w).startswith("table#t right=") for w in wide)


def test_the_probe_sees_a_network_request(tmp_path: Path) -> None:
    """The network check can fail: a stylesheet and a script from elsewhere are listed."""
    page = tmp_path / "index.html"
    page.write_text(
        '<html><head><link rel="stylesheet" href="https://cdn.example.com/a.css">'
        '<script src="https://cdn.example.com/b.js"></script></head><body><p>x</p></body></html>'
    )
    resources = probe(page)["resources"]
    assert isinstance(resources, list) and any("cdn.example.com" in str(url) for url in resources)
