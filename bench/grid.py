"""Benchmark: the editing grid (``edit_opportunities``) against ipydatagrid's own ``DataGrid(df)``, same run.

Issue 33: a 10,000-row frame opens, scrolls and filters without stalling the kernel; issue 32: the grid
validates as you type. A page (Voilà's, or a notebook in JupyterLab: ``--host``) has buttons that build either
grid over the same frame: the sandbox's records as read (``read_opportunities``), and for more than its 300
rows, copies of them under other Ids. Headless Chromium (Debian's, through Playwright) measures, per grid and
round:

* **first render**: from the click to the grid's canvas drawn in the page (the kernel builds the widget,
  sends its data, the browser draws);
* **kernel**: of that, the time the kernel spent building the widget (the kernel is busy for that long);
* **edit**: a cell typed into (the first spend amount of a record the rules let be edited, wrong then right,
  in turn) from the browser's Enter to the kernel's answer drawn (the editing grid: the row's Check and
  Problems and the message under the grid; the peer: a handler that says which cell changed), and to the
  page quiet again (no frame on the kernel's websocket for a second: every message the edit caused, both
  ways, sent and handled), with the cells the browser drew meanwhile (Lumino's grid paints each cell off
  screen and copies it onto its canvas: the copies counted), the websocket's frames and bytes both ways and
  the kernel's comm messages, bytes and time in its comm handlers;
* **push** (the editing grid): Push of the one row ready, from the click to "Pushed:" drawn, against a
  sandbox in the kernel (``SandboxConfig.fast()``: no server-side throttling; the client paces as a user's);
* **filter**: from the kernel setting the filter (``grid.filter(stage=...)`` / ``DataGrid.transform``)
  to the browser sending back the rows it now shows (``_visible_rows``);
* **scroll**: 20 wheel steps down the grid, until the page answers again.

Both grids show the same columns (the editing grid's, labelled, with its Check and Problems). Figures go to
BENCHMARKS.md with the peer measured in the same run.

    .venv/bin/python bench/grid.py [--rows 10000] [--repeat 3] [--edits 6] [--host voila|lab]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

import nbformat as nbf

ROOT = Path(__file__).parents[1]
CHROMIUM = "/usr/bin/chromium"

PAGE = """
import json
import tempfile
import time

import ipywidgets as w
import pandas as pd
import opptoolkit as ot
from ipydatagrid import DataGrid
from opptoolkit.grid import OpportunityGrid
from opptoolkit.sandbox import Sandbox, SandboxConfig

sandbox = Sandbox(config=SandboxConfig.fast()).start()
client = ot.get_client(endpoint_url=sandbox.endpoint_url)
df = ot.read_opportunities("Sandbox", client=client, progress=False, reads_per_second=1000)
copies = []
while len(df) + sum(map(len, copies)) < {rows}:  # copies under other Ids: never pushed, only shown
    c = df.copy()
    c["Id"] = [f"X{{len(copies)}}{{i[1:]}}" for i in df["Id"]]
    copies.append(c)
df = pd.concat([df, *copies], ignore_index=True).head({rows})
AMOUNT = "Project.ExpectedCustomerSpend[0].Amount"
# the rows edited: in the first screen, every field editable, one spend entry (its amount is the cell typed)
EDITED = [i for i in range(18) if df.at[i, "LifeCycle.ReviewStatus"] == "Pending Submission"
          and isinstance(df.at[i, AMOUNT], str) and pd.isna(df.at[i, "Project.ExpectedCustomerSpend[1].Amount"])][:1]
# the plain grid shows the same columns under the same labels, the Check and Problems columns empty
ours = OpportunityGrid(df.head(1), "Sandbox")
plain = pd.DataFrame({{lb: df[ours._col_of[lb]] if lb in ours._col_of else "" for lb in ours.order}})
stage = ours.labels["LifeCycle.Stage"]
holder = w.VBox()
holder.add_class("holder")
said = w.HTML("")
said.add_class("said")
heard = w.HTML("")
heard.add_class("heard")
stats = w.HTML("")
stats.add_class("stats")
state = {{}}
count = {{"in": 0, "in_s": 0.0, "out": 0, "out_bytes": 0}}


def instrument(comm):
    # the kernel's side of each edit: the comm messages it handles (and the time it spends in them), and
    # the ones it sends with their size (JSON and binary buffers), every widget's
    C = type(comm)
    if getattr(C, "_bench", False):
        return
    publish, handle = C.publish_msg, C.handle_msg

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        count["out"] += 1
        count["out_bytes"] += len(json.dumps(data, default=str)) + sum(memoryview(b).nbytes for b in buffers or ())
        return publish(self, msg_type, data, metadata, buffers, **keys)

    def handle_msg(self, msg):
        t0 = time.perf_counter()
        try:
            return handle(self, msg)
        finally:
            count["in"] += 1
            count["in_s"] += time.perf_counter() - t0

    C.publish_msg, C.handle_msg, C._bench = publish_msg, handle_msg, True


def shown(change):
    state["filtered"] = time.perf_counter() - state["t0"]
    said.value = f"<span class='done'>filter {{state['filtered']:.3f}} kernel {{state['kernel']:.3f}}</span>"


def edited(cell):
    heard.value = f"<span class='edit'>{{cell['row']}} {{cell['column']}} {{cell['value']}}</span>"


def build(which):
    holder.children = []
    # the rows edited as the sandbox holds them now (a round before pushed them): each round's push is not a conflict
    now = ot.read_opportunities("Sandbox", client=client, identifiers=[df.at[i, "Id"] for i in EDITED], progress=False)
    for i, (_, r) in zip(EDITED, now.iterrows()):
        for c in df.columns:
            df.at[i, c] = r.get(c)
    t0 = time.perf_counter()
    if which == "ours":
        g = ot.edit_opportunities(df, "Sandbox", client=client, ledger=tempfile.mkdtemp())
        widget, grid = g.widget, g.grid
        state["filter"] = lambda: g.filter(stage="Qualified")
    else:
        grid = widget = DataGrid(plain, editable=True, layout={{"height": "420px"}})
        grid.on_cell_change(edited)
        state["filter"] = lambda: grid.transform([{{"type": "filter", "column": stage, "operator": "in", "value": ["Qualified"]}}])
    state["kernel"] = time.perf_counter() - t0
    grid.observe(shown, names="_visible_rows")
    widget.add_class("grid-under-test")
    grid.add_class("grid-cells")
    holder.children = [widget]
    instrument(grid.comm)
    # where the cells edited are drawn: the same layout the browser's grid has
    order = ours.order
    label = ours.labels[AMOUNT]
    x = grid.base_row_header_size + sum(grid.column_widths.get(c, grid.base_column_size) for c in order[: order.index(label)])
    x += min(grid.column_widths.get(label, grid.base_column_size), 120) / 2
    ys = [grid.base_column_header_size + grid.base_row_size * (i + 0.5) for i in EDITED]
    where = json.dumps({{"x": x, "ys": ys, "rows": EDITED, "amounts": [df.at[i, AMOUNT] for i in EDITED]}})
    said.value = f"<span class='built' data-where='{{where}}'>kernel {{state['kernel']:.3f}}</span>"


def filt(_):
    said.value = ""
    state["t0"] = time.perf_counter()
    state["filter"]()


def report(_):
    stats.value = f"<span class='counted'>{{json.dumps(count)}}</span>"
    count.update({{"in": -1, "in_s": 0.0, "out": 0, "out_bytes": 0}})  # -1: this click's own message


buttons = [w.Button(description=d) for d in ("ours", "plain", "filter", "stats")]
for b in buttons:
    b.add_class("b-" + b.description)
buttons[0].on_click(lambda _: build("ours"))
buttons[1].on_click(lambda _: build("plain"))
buttons[2].on_click(filt)
buttons[3].on_click(report)
w.VBox([w.HBox(buttons), said, heard, stats, holder])
"""

# Every frame of the page's websockets (the kernel's), with its time and size; the time of each Enter.
WATCH = """(() => {
  window.__ws = [];
  const Native = window.WebSocket;
  const size = d => typeof d === 'string' ? new Blob([d]).size : (d.byteLength ?? d.size ?? 0);
  class Watched extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => window.__ws.push([performance.now(), 'in', size(e.data)]));
    }
    send(d) { window.__ws.push([performance.now(), 'out', size(d)]); return super.send(d); }
  }
  window.WebSocket = Watched;
  // the cells the canvas grids draw: Lumino's DataGrid paints each cell off screen, then copies it in
  window.__blits = 0;
  const draw = CanvasRenderingContext2D.prototype.drawImage;
  CanvasRenderingContext2D.prototype.drawImage = function (...a) { window.__blits++; return draw.apply(this, a); };
  document.addEventListener('keydown', e => {
    if (e.key === 'Enter') { window.__enter = performance.now(); window.__enterBlits = window.__blits; }
  }, true);
})()"""

RENDER = """async (which) => {
  document.querySelector('.said .built')?.remove();
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

# After an Enter (or a click, t0 given): until the answer's selector holds the text (then two frames: drawn),
# and until no websocket frame for a second (quiet); the frames and bytes both ways in between.
ANSWER = """async ([selector, text, t0]) => {
  const start = t0 ?? window.__enter;
  const blits = t0 == null ? window.__enterBlits : window.__markBlits;
  const frame = () => new Promise(r => requestAnimationFrame(r));
  const has = () => (document.querySelector(selector)?.textContent ?? '').includes(text);
  while (!has()) {
    if (performance.now() - start > 300000) { throw new Error('no answer after 300 s: ' + text); }
    await frame();
  }
  await frame(); await frame();
  const drawn = performance.now() - start;
  const after = () => window.__ws.filter(m => m[0] >= start);
  while (true) {
    const seen = after();
    const last = seen.length ? seen[seen.length - 1][0] : start;
    if (performance.now() - last > 1000) { break; }
    if (performance.now() - start > 300000) { break; }
    await new Promise(r => setTimeout(r, 100));
  }
  const seen = after();
  const quiet = (seen.length ? seen[seen.length - 1][0] : start) - start;
  const sum = d => seen.filter(m => m[1] === d).reduce((a, m) => a + m[2], 0);
  const n = d => seen.filter(m => m[1] === d).length;
  return {drawn, quiet: Math.max(quiet, drawn), cells: window.__blits - blits, in: n('in'), in_bytes: sum('in'), out: n('out'), out_bytes: sum('out')};
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


def _kernel_counts(page: Any) -> dict[str, Any]:
    """The kernel's comm counts since the last call (asked for once the page is quiet: not counted in them)."""
    page.locator(".b-stats").click()
    page.wait_for_selector(".stats .counted", timeout=120_000)
    counted = json.loads(page.locator(".stats .counted").inner_text())
    page.evaluate("document.querySelector('.stats .counted').remove()")
    return dict(counted)


def _edits(page: Any, which: str, n: int, figures: dict[str, list[Any]]) -> None:
    """Type ``n`` values into the amount cell of the first editable row: wrong ("1,2xx"), then right, in turn.

    The values differ from round to round: each round's push sends a change."""
    where = json.loads(page.locator(".said .built").get_attribute("data-where") or "{}")
    page.locator(".holder .grid-cells").scroll_into_view_if_needed()  # in JupyterLab: below the notebook's code
    box = page.locator(".holder .grid-cells").bounding_box()
    assert box is not None and where["rows"], "no grid, or no editable row in the first screen"
    x, y, row = box["x"] + where["x"], box["y"] + where["ys"][0], where["rows"][0]
    _kernel_counts(page)
    first = 200 + 10 * (len(figures.get("edits", [])) // n)  # 200, 210, ... a round
    for k in range(n):
        at = first + k
        value = f"1,{at}" if k % 2 == 0 else f"1{at}"
        page.mouse.dblclick(x, y)
        editor = page.locator(".lm-DataGrid-cellEditorInput")
        editor.wait_for(timeout=60_000)
        editor.fill(value)
        editor.press("Enter")
        if which == "ours":  # the message under the grid is the last thing an edit sets
            answer = ".holder .ot-grid-said", "thousands separator" if k % 2 == 0 else f"Row {row}: ready to push"
        else:
            answer = ".heard .edit", value
        got = page.evaluate(ANSWER, [*answer, None])
        got.update({f"kernel_{k}": v for k, v in _kernel_counts(page).items()})
        figures.setdefault("edits", []).append(got)
        page.mouse.click(box["x"] + 20, box["y"] + 5)  # the cursor off the cell (a header)
        page.wait_for_timeout(200)


def _push(page: Any, figures: dict[str, list[Any]]) -> None:
    _kernel_counts(page)
    t0 = page.evaluate("(window.__markBlits = window.__blits, performance.now())")
    page.locator(".holder button.ot-grid-push").click()
    got = page.evaluate(ANSWER, [".holder .ot-grid-said", "Pushed:", t0])
    assert "1 succeeded" in page.locator(".holder .ot-grid-said").inner_text(), page.locator(".holder").inner_text()
    got.update({f"kernel_{k}": v for k, v in _kernel_counts(page).items()})
    figures.setdefault("push", []).append(got)


def _serve(host: str, notebook: Path, work: Path, port: int, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    if host == "voila":
        cmd = [str(Path(sys.executable).with_name("voila")), str(notebook), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1"]  # fmt: skip
        url = f"http://127.0.0.1:{port}/"
    else:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--IdentityProvider.token=", "--allow-root", f"--ServerApp.root_dir={work}"]  # fmt: skip
        env["JUPYTER_CONFIG_DIR"], env["JUPYTER_RUNTIME_DIR"] = str(work / "config"), str(work / "runtime")
        url = f"http://127.0.0.1:{port}/lab/tree/{notebook.name}"
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), url


def _open(page: Any, host: str, url: str) -> None:
    page.goto(url, timeout=300_000)
    if host == "lab":  # run the notebook's one cell, as a user would
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=300_000)
        page.click(".jp-Notebook")
        page.keyboard.press("Escape")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
    page.wait_for_selector(".b-ours", timeout=300_000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--edits", type=int, default=6, help="cells typed into per grid and round (even: ends right)")
    ap.add_argument("--host", choices=("voila", "lab"), default="voila")
    ap.add_argument("--skip", nargs="*", default=[], choices=("scroll", "filter"), help="steps not measured")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp())
    notebook = work / "grid_bench.ipynb"
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbf.v4.new_code_cell(PAGE.format(rows=args.rows))]
    nbf.write(nb, notebook)
    port = _port()
    with open(work / "server.log", "wb") as log:
        proc, url = _serve(args.host, notebook, work, port, log)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.3)
            figures: dict[str, dict[str, list[Any]]] = {"ours": {}, "plain": {}}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
                # wide enough for the amount column in view beside JupyterLab's side bar and the notebook's margins
                page = browser.new_page(viewport={"width": 1900 if args.host == "voila" else 2400, "height": 1000})
                page.add_init_script(WATCH)
                _open(page, args.host, url)
                try:
                    _rounds(page, args, figures)
                except Exception:
                    page.screenshot(path=work / "failure.png")
                    print(f"failed: the page is in {work / 'failure.png'}, the server's log in {work / 'server.log'}")
                    raise
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    (work / "figures.json").write_text(json.dumps(figures, indent=1))
    _table(figures, args)
    print(f"(every figure: {work / 'figures.json'}; load average {os.getloadavg()[0]:.1f})")


def _rounds(page: Any, args: argparse.Namespace, figures: dict[str, dict[str, list[Any]]]) -> None:
    for _ in range(args.repeat):
        for which in ("plain", "ours"):
            f = figures[which]
            f.setdefault("render", []).append(page.evaluate(RENDER, which) / 1000)
            kernel = page.locator(".said .built").inner_text().split()[1]
            f.setdefault("kernel", []).append(float(kernel))
            page.wait_for_timeout(500)
            _edits(page, which, args.edits, f)
            if which == "ours":
                _push(page, f)
            if "scroll" not in args.skip:
                f.setdefault("scroll", []).append(page.evaluate(SCROLL) / 1000)
            if "filter" not in args.skip:
                page.locator(".b-filter").click()
                page.wait_for_selector(".said .done", timeout=120_000)
                done = page.locator(".said .done").inner_text()
                f.setdefault("filter", []).append(float(done.split()[1]))


def _table(figures: dict[str, dict[str, list[Any]]], args: argparse.Namespace) -> None:
    def med(xs: list[float], fmt: str = "{:.2f}") -> str:
        return fmt.format(median(xs)) if xs else "–"

    print(f"\n{args.host}, {args.rows:,} rows, median of {args.repeat} rounds")
    print("| grid | first render s | of it, kernel s | filter s | 20 scroll steps s |")
    print("| --- | --- | --- | --- | --- |")
    for which, name in (("ours", "edit_opportunities"), ("plain", "DataGrid(df)")):
        f = figures[which]
        cells = " | ".join(med(f.get(k, [])) for k in ("render", "kernel", "filter", "scroll"))
        print(f"| {name} | {cells} |")
    print(f"\nper edit, median of {args.repeat} × {args.edits}; one-row push, median of {args.repeat}")
    print(
        "| grid | step | answer drawn s | page quiet s | cells drawn | ws frames in/out | ws KB in/out | kernel comm msgs in/out | kernel KB out | kernel s in comm handlers |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for which, name in (("ours", "edit_opportunities"), ("plain", "DataGrid(df)")):
        for step in ("edits", "push"):
            xs = figures[which].get(step, [])
            if not xs:
                continue

            def m(key: str, scale: float = 1.0, fmt: str = "{:.2f}", xs: list[Any] = xs) -> str:
                return med([x[key] / scale for x in xs], fmt)

            print(
                f"| {name} | {'edit' if step == 'edits' else 'push 1 row'} | {m('drawn', 1000)} | {m('quiet', 1000)} | {m('cells', fmt='{:.0f}')} "
                f"| {m('in', fmt='{:.0f}')}/{m('out', fmt='{:.0f}')} "
                f"| {m('in_bytes', 1000, '{:.1f}')}/{m('out_bytes', 1000, '{:.1f}')} "
                f"| {m('kernel_in', fmt='{:.0f}')}/{m('kernel_out', fmt='{:.0f}')} "
                f"| {m('kernel_out_bytes', 1000, '{:.1f}')} | {m('kernel_in_s', fmt='{:.3f}')} |"
            )


if __name__ == "__main__":
    main()
