"""The HTML report opens offline in a real browser with its tables and charts."""

from __future__ import annotations

import opptoolkit as ot
from opptoolkit.sandbox import load_seed


def test_report_renders_offline(page, tmp_path):
    df = ot.to_frame([r for r in load_seed() if r["Catalog"] == "Sandbox"])
    ot.write_report(df, tmp_path / "report.html")
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
    page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
