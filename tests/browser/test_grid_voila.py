"""The grid in a real browser: Voilà renders notebooks/pipeline_workspace.ipynb against the sandbox;
Playwright opens the "Edit many" tab, filters to one record, types a wrong amount into its cell, sees the
problem beside the row, fixes it, pushes, and sees the row succeeded; the sandbox holds the value."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import opptoolkit as ot
from opptoolkit.grid import OUTCOME_FILL, PROBLEM_FILL
from opptoolkit.sandbox import Sandbox, SandboxConfig
from tests.browser.conftest import load_voila

ROOT = Path(__file__).parents[2]
NOTEBOOK = ROOT / "notebooks" / "pipeline_workspace.ipynb"
SHOTS = ROOT / "docs"
AMOUNT = "Project.ExpectedCustomerSpend[0].Amount"


@pytest.fixture
def voila(jupyter_server, tmp_path):
    with Sandbox(config=SandboxConfig.fast()) as sb:
        # Pending Submission: every field editable; one spend entry, in USD (the amount is the cell edited)
        record = next(r for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission"
                      and len(r["Project"].get("ExpectedCustomerSpend") or []) == 1)  # fmt: skip
        voila = [str(Path(sys.executable).with_name("voila")), str(NOTEBOOK), "--no-browser", "--port={port}",
                 "--Voila.ip=127.0.0.1"]  # fmt: skip
        port = jupyter_server(voila, sb.endpoint_url, log=tmp_path / "voila.log")
        yield f"http://127.0.0.1:{port}/", sb, record


def _cell(page, grid, label: str, row: int = 0) -> tuple[float, float]:
    """The page position of a body cell of the canvas grid: the same layout the kernel's grid has."""
    box = page.locator(".ot-grid").bounding_box()
    order = grid.order
    widths = grid.grid.column_widths
    x = box["x"] + grid.grid.base_row_header_size + sum(widths[c] for c in order[: order.index(label)])
    y = box["y"] + grid.grid.base_column_header_size + grid.grid.base_row_size * row
    return x + min(widths[label], 120) / 2, y + grid.grid.base_row_size / 2


def _shot(page, path: Path) -> None:
    """A screenshot of the grid's tab: the filters, the grid, the buttons and what they said."""
    box = page.locator(".ot-grid-box").bounding_box()
    page.screenshot(path=path, clip={"x": box["x"], "y": box["y"], "width": min(box["width"], 1500), "height": 460})


def _has_colour(page, x: float, y: float, hex_colour: str) -> bool:
    """Whether the pixels around (x, y) hold the colour (the canvas draws cells, so colour is what can be read)."""
    from io import BytesIO

    from PIL import Image

    png = page.screenshot(clip={"x": x - 20, "y": y - 6, "width": 40, "height": 12})
    want = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    data = Image.open(BytesIO(png)).convert("RGB").tobytes()  # r, g, b per pixel (getdata is deprecated)
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    return sum(1 for p in pixels if max(abs(a - b) for a, b in zip(p, want, strict=True)) <= 3) > 50


def test_filter_edit_see_the_problem_fix_push_and_see_it_succeeded(page, voila, tmp_path):
    from playwright.sync_api import expect

    url, sb, record = voila
    page.set_viewport_size({"width": 1800, "height": 900})  # the spend amount's column in view
    load_voila(page, url, tmp_path / "voila.log")
    page.locator(".lm-TabBar-tab", has_text="Edit many").click()
    page.wait_for_selector(".ot-grid .lm-DataGrid", state="visible", timeout=30_000)
    # the same grid, built here from the same (full) records: where its cells are drawn
    df = ot.read_opportunities("Sandbox", client=sb.client(), progress=False, reads_per_second=1000)
    mine = ot.edit_opportunities(df, "Sandbox")
    # filter: the record's stage, pending submission; the rows shown are those of the frame, in its order
    stage = record["LifeCycle"]["Stage"]
    page.locator(".ot-grid-filter-stage select").select_option(stage)
    page.locator(".ot-grid-filter-review-status select").select_option("Pending Submission")
    shown = df[(df["LifeCycle.Stage"] == stage) & (df["LifeCycle.ReviewStatus"] == "Pending Submission")]
    expect(page.locator(".ot-grid-message")).to_contain_text(f"{len(shown)} of {len(df)} rows shown", timeout=20_000)
    at = shown["Id"].tolist().index(record["Id"])
    other = next(i for i, a in enumerate(shown[AMOUNT].tolist()) if i != at and isinstance(a, str) and a)
    amount = mine.labels[AMOUNT]
    page.wait_for_timeout(500)  # the grid draws the filtered rows on its next frame

    def type_into(label: str, text: str, row: int) -> None:
        page.mouse.dblclick(*_cell(page, mine, label, row))
        editor = page.locator(".lm-DataGrid-cellEditorInput")
        editor.wait_for(timeout=10_000)
        editor.fill(text)
        editor.press("Enter")

    # a wrong value: a thousands separator
    type_into(amount, "1,200", at)
    counts = page.locator(".ot-grid-counts")
    expect(counts).to_contain_text("1 row changed · 0 ready · 1 with problems", timeout=20_000)
    page.wait_for_timeout(500)
    assert mine.order[:3] == [mine.labels["Id"], "Check", "Problems"]
    _shot(page, tmp_path / "grid-problem.png")
    # the problem is beside the row: its Problems cell (canvas) -- read back from the kernel through Plan
    expect(page.locator(".ot-grid-message")).to_contain_text("no currency sign or thousands separator")
    page.mouse.click(*_cell(page, mine, mine.labels["Customer.Account.CompanyName"], at))  # the cursor off the cell
    page.wait_for_timeout(300)
    x, y = _cell(page, mine, "Problems", at)
    assert _has_colour(page, x, y, PROBLEM_FILL), "the Problems cell beside the row is not marked"
    x, y = _cell(page, mine, amount, at)
    assert _has_colour(page, x, y, PROBLEM_FILL), "the amount's cell is not marked"
    page.locator("button.ot-grid-plan").click()
    plan = page.locator(".ot-grid-plan-out")
    expect(plan).to_contain_text("Row ", timeout=20_000)
    expect(plan).to_contain_text("is invalid: not sent")
    expect(plan).to_contain_text("thousands separator")
    assert page.locator("button.ot-grid-push").is_disabled()
    # fix it, push
    type_into(amount, "1200", at)
    expect(counts).to_contain_text("1 row changed · 1 ready · 0 with problems", timeout=20_000)
    type_into(amount, "1,500.5.0", other)  # another row, left wrong: not pushed
    expect(counts).to_contain_text("2 rows changed · 1 ready · 1 with problems", timeout=20_000)
    page.locator("button.ot-grid-push").click()
    expect(page.locator(".ot-grid-message")).to_contain_text("Pushed: 1 succeeded", timeout=120_000)
    page.wait_for_timeout(800)
    page.mouse.click(*_cell(page, mine, mine.labels["Customer.Account.CompanyName"], at))
    page.wait_for_timeout(300)
    _shot(page, tmp_path / "grid-pushed.png")
    x, y = _cell(page, mine, "Check", at)
    assert _has_colour(page, x, y, OUTCOME_FILL["succeeded"]), "the row is not coloured as succeeded"
    stored = sb.record("Sandbox", record["Id"])
    assert stored["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "1200"
    assert sb.service.applied == {record["Id"]: 1}
