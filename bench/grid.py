"""Benchmark: the editing grid (``edit_opportunities``) against ipydatagrid's own ``DataGrid(df)``, same run.

Issue 33: a 10,000-row frame opens, scrolls and filters without stalling the kernel. Voilà renders a
page whose buttons build either grid over the same frame (model-valid records, ``testing.fake_records``),
and headless Chromium (Debian's, through Playwright) measures, per grid and round:

* **first render**: from the click to the grid's canvas drawn in the page (the kernel builds the widget,
  sends its data, the browser draws);
* **kernel**: of that, the time the kernel spent building the widget (the kernel is busy for that long);
* **filter**: from the kernel setting the filter (``grid.filter(stage=...)`` / ``DataGrid.transform``)
  to the browser sending back the rows it now shows (``_visible_rows``);
* **scroll**: 20 wheel steps down the grid, until the page answers again.

Both grids show the same columns (the editing grid's, labelled, with its Check and Problems). Figures go to
BENCHMARKS.md with the peer measured in the same run.

    .venv/bin/python bench/grid.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import nbformat as nbf

ROOT = Path(__file__).parents[1]
CHROMIUM = "/usr/bin/chromium"

PAGE = """
import time
import ipywidgets as w
import pandas as pd
import opptoolkit as ot
from ipydatagrid import DataGrid
from opptoolkit.grid import OpportunityGrid
from opptoolkit.testing import fake_records

df = ot.to_frame(fake_records({rows}, seed=3))
# the plain grid shows the same columns under the same labels, the Check and Problems columns empty
ours = OpportunityGrid(df.head(1), "Sandbox")
plain = pd.DataFrame({{lb: df[ours._col_of[lb]] if lb in ours._col_of else "" for lb in ours.order}})
stage = ours.labels["LifeCycle.Stage"]
holder = w.VBox()
holder.add_class("holder")
said = w.HTML("")
said.add_class("said")
state = {{}}


def shown(change):
    state["filtered"] = time.perf_counter() - state["t0"]
    said.value = f"<span class='done'>filter {{state['filtered']:.3f}} kernel {{state['kernel']:.3f}}</span>"


def build(which):
    holder.children = []
    t0 = time.perf_counter()
    if which == "ours":
        g = ot.edit_opportunities(df, "Sandbox")
        widget, grid = g.widget, g.grid
        state["filter"] = lambda: g.filter(stage="Qualified")
    else:
        grid = widget = DataGrid(plain, layout={{"height": "420px"}})
        state["filter"] = lambda: grid.transform([{{"type": "filter", "column": stage, "operator": "in", "value": ["Qualified"]}}])
    state["kernel"] = time.perf_counter() - t0
    grid.observe(shown, names="_visible_rows")
    widget.add_class("grid-under-test")
    holder.children = [widget]
    said.value = f"<span class='built'>kernel {{state['kernel']:.3f}}</span>"


def filt(_):
    said.value = ""
    state["t0"] = time.perf_counter()
    state["filter"]()


buttons = [w.Button(description=d) for d in ("ours", "plain", "filter")]
for b in buttons:
    b.add_class("b-" + b.description)
buttons[0].on_click(lambda _: build("ours"))
buttons[1].on_click(lambda _: build("plain"))
buttons[2].on_click(filt)
w.VBox([w.HBox(buttons), said, holder])
"""

RENDER = """async (which) => {
  const t0 = performance.now();
  document.querySelector('.b-' + which).click();
  const frame = () => new Promise(r => requestAnimationFrame(r));
  await frame();
  while (!document.querySelector('.holder .grid-under-test .lm-DataGrid canvas') ||
         !document.querySelector('.said .built')) {
    if (performance.now() - t0 > 300000) { throw new Error('no grid after 300 s'); }
    await frame();
  }
  await frame(); await frame();
  return performance.now() - t0;
}"""

SCROLL = """async () => {
  const t0 = performance.now();
  const g = document.querySelector('.holder .lm-DataGrid');
  const r = g.getBoundingClientRect();
  for (let i = 0; i < 20; i++) {
    g.querySelector('.lm-DataGrid-viewport, canvas').dispatchEvent(new WheelEvent('wheel',
      {deltaY: 400, clientX: r.x + 200, clientY: r.y + 100, bubbles: true}));
    await new Promise(res => requestAnimationFrame(res));
  }
  await new Promise(res => setTimeout(res, 0));
  return performance.now() - t0;
}"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp())
    notebook = work / "grid_bench.ipynb"
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_code_cell(PAGE.format(rows=args.rows))]
    nbf.write(nb, notebook)
    port = _port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    voila = Path(sys.executable).with_name("voila")
    cmd = [str(voila), str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    with open(work / "voila.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.3)
            figures: dict[str, dict[str, list[float]]] = {"ours": {}, "plain": {}}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
                page = browser.new_page(viewport={"width": 1600, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/", timeout=300_000)
                page.wait_for_selector(".b-ours", timeout=300_000)
                for _ in range(args.repeat):
                    for which in ("plain", "ours"):
                        f = figures[which]
                        f.setdefault("render", []).append(page.evaluate(RENDER, which) / 1000)
                        kernel = page.locator(".said .built").inner_text().split()[1]
                        f.setdefault("kernel", []).append(float(kernel))
                        page.wait_for_timeout(500)
                        f.setdefault("scroll", []).append(page.evaluate(SCROLL) / 1000)
                        page.locator(".b-filter").click()
                        page.wait_for_selector(".said .done", timeout=120_000)
                        f.setdefault("filter", []).append(float(page.locator(".said .done").inner_text().split()[1]))
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(
        f"| grid | rows | first render s | of it, kernel s | filter s | 20 scroll steps s |  (median of {args.repeat})"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for which, name in (("ours", "edit_opportunities"), ("plain", "DataGrid(df)")):
        f = figures[which]
        cells = " | ".join(f"{median(f[k]):.2f}" for k in ("render", "kernel", "filter", "scroll"))
        print(f"| {name} | {args.rows:,} | {cells} |")


if __name__ == "__main__":
    main()
