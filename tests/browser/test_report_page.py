"""The HTML report opens offline in a real browser with its tables and charts."""

from __future__ import annotations

import io

from PIL import Image

import opptoolkit as ot
from opptoolkit.sandbox import load_seed

CHARTS = ["Pipeline by stage", "By close month", "Lost reasons"]


def test_report_renders_offline(page, tmp_path):
    df = ot.to_frame([r for r in load_seed() if r["Catalog"] == "Sandbox"])
    views = ot.write_report(df, tmp_path / "report.html")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((tmp_path / "report.html").as_uri())
    assert page.locator("h1").inner_text() == "Partner Central pipeline"
    assert page.locator("table").count() >= 6
    images = page.locator("img")
    assert images.count() == 3
    for i in range(3):  # every chart decoded and drawn (naturalWidth > 0 means it loaded)
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 100
    assert "Prospect" in page.locator("table").first.inner_text()
    assert all(u.startswith(("file:", "data:")) for u in requests), "the report fetched something from the network"
    # what a reader sees: every section's heading, charts laid out at a readable size without
    # horizontal scrolling, and drawn on screen (a screenshot of each holds more than a blank)
    assert page.locator("h2").all_inner_texts() == [*CHARTS, *views]
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.evaluate("document.documentElement.scrollHeight") > 900  # the tables follow the charts
    for i in range(3):
        box = images.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200
        shot = Image.open(io.BytesIO(images.nth(i).screenshot())).convert("RGB")
        assert len(shot.getcolors(maxcolors=1 << 20) or []) > 20, f"chart {CHARTS[i]!r} shows (almost) nothing"
