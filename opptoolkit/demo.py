"""The end-to-end demo (``make demo`` / ``opptoolkit demo``) against the embedded sandbox.

Pull the pipeline, export it to a workbook that remembers its export, edit it in place as an
analyst would (one edit invalid, two opportunities edited concurrently by a colleague), show the
plan, push the workbook itself (no separate base), fix the invalid row in the results workbook and
push that, write the ledger, and write the HTML pipeline report. Quotas are the documented ones (10 reads/s, 1 write/s),
unless the environment sets others (:func:`opptoolkit.quotas.rates`): the sandbox enforces them and the client paces at them.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ._status import counted, said_line, said_problems
from .fields import REVIEW_STATUS as REVIEW
from .fields import STAGE
from .io import write_results
from .ledger import read_ledger
from .mirror import read_mirror, snapshots, sync_mirror
from .push import plan_updates, push_updates
from .quotas import READS_PER_SECOND, WRITES_PER_SECOND, rates
from .report import write_report
from .rules import CLOSED_STAGES, PENDING_SUBMISSION
from .sandbox import Sandbox
from .schema import get_schema
from .sheets import read_sheet, write_sheet

__all__ = ["run_demo"]


def _step(n: int, text: str) -> float:
    print(f"\n[{n}] {text}", flush=True)
    return time.monotonic()


def _done(start: float, text: str) -> None:
    print(f"    {text} ({time.monotonic() - start:.1f}s)", flush=True)


def _type_into(path: Path, edits: dict[tuple[str, str], str]) -> None:
    """Type values into a workbook's data sheet by (Id, column) and save it, as a spreadsheet program would."""
    from openpyxl import load_workbook

    schema = get_schema()
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    cols = {schema.path_for_label(str(c.value)): j for j, c in enumerate(ws[1], start=1)}
    rows = {ws.cell(r, cols["Id"]).value: r for r in range(2, ws.max_row + 1)}
    for (ident, column), value in edits.items():
        ws.cell(rows[ident], cols[column]).value = value
    wb.save(path)


def run_demo(out: str | Path = "data/demo", *, progress: bool = True) -> int:
    """Run the demo, writing into ``out``; returns 0, or raises on the first failing step.

    Parameters
    ----------
    out : str or Path, default "data/demo"
        The folder for the demo's files (emptied first).
    progress : bool, default True
        Show progress bars.

    Returns
    -------
    int
        0 (the exit status of ``opptoolkit demo``).

    Examples
    --------
    The demo runs at the documented quotas (about 40 s), so this example is not run by the tests;
    ``make demo`` runs it, and ``tests/test_demo.py`` at test rates (``OPPTOOLKIT_READS_PER_SECOND``,
    ``OPPTOOLKIT_WRITES_PER_SECOND``: :func:`opptoolkit.quotas.rates`).

    >>> run_demo("data/demo", progress=False)  # doctest: +SKIP
    opptoolkit demo: embedded sandbox at http://127.0.0.1:... with 300 opportunities ...
    0
    """
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    reads, writes = rates()
    quotas = "documented quotas" if (reads, writes) == (READS_PER_SECOND, WRITES_PER_SECOND) else "quotas"
    with Sandbox() as sb:  # at the rates the client paces at: the documented quotas, or the environment's
        print(
            f"opptoolkit demo: embedded sandbox at {sb.endpoint_url} with {sb.store.count('Sandbox')} opportunities "
            f"({quotas}: {reads:g} reads/s, {writes:g} write/s)"
        )
        client = sb.client()

        t = _step(1, f"Pull the pipeline into a local Parquet mirror (List, then Get each, paced to {reads:g} reads/s)")
        first = sync_mirror(out / "mirror", "Sandbox", client=client, progress=progress)
        if first.failures:
            raise RuntimeError(f"{len(first.failures)} opportunities could not be read")
        df = read_mirror(out / "mirror")
        _done(t, f"{len(df)} opportunities, {df.shape[1]} columns; calls: {first.calls}")

        t = _step(2, "Export to a workbook that remembers its export (a very hidden base sheet)")
        export = write_sheet(df, out / "pipeline.xlsx", headers="label", base=True)
        _done(t, f"wrote {export}")

        t = _step(3, "An analyst edits the workbook in place (and a colleague edits two records meanwhile)")
        sheet = read_sheet(export)
        # Pending Submission: every field is editable (once Approved, AWS locks the title, among others)
        editable = sheet[(sheet[REVIEW] == PENDING_SUBMISSION) & ~sheet[STAGE].isin(CLOSED_STAGES)]["Id"].tolist()
        a, b, c, d, e = editable[:5]
        _type_into(
            export,
            {
                (a, "LifeCycle.NextSteps"): "Executive briefing booked for next week",
                (b, "LifeCycle.Stage"): "business validation",  # typed by hand: normalised
                (c, "Project.Title"): "Data platform modernisation, phase 2",
                (d, "Project.ExpectedCustomerSpend[0].Amount"): "13,750",  # invalid: a comma
                (e, "Project.Title"): "Renamed by the analyst",
            },
        )
        sb.edit("Sandbox", c, lambda r: r["LifeCycle"].update(NextSteps="Colleague: send the TCO study"))
        sb.edit("Sandbox", e, lambda r: r["Project"].update(Title="Renamed by a colleague"))
        _done(t, f"5 rows edited in {export}; a colleague changed {c} (another field) and {e} (the same field)")

        t = _step(4, "Plan (dry run): decided against the export the workbook remembers, no call at all")
        plan = plan_updates(export, "Sandbox")
        for r in plan[plan["action"] != "unchanged"].to_dict("records"):
            print(f"    row {r['row']} {r['Id']} [{r['action']}]")  # as the workbook numbers it
            for line in [
                *map(said_line, r["changes"]),
                *said_problems(r),
                *(f"warning: {said_line(w)}" for w in r["warnings"]),
            ]:
                print(f"        {line}")
        _done(t, counted(plan["action"].value_counts().to_dict()))

        t = _step(
            5, f"Push the workbook: reads only the changed rows, three-way merge, validated, {writes:g} write/s, ledger"
        )
        result = push_updates(export, "Sandbox", ledger=out / "ledger", client=client, progress=progress)
        for r in result[result["status"] != "unchanged"].to_dict("records"):
            print(f"    row {r['row']} {r['Id']} [{r['status']}] {'; '.join(said_problems(r))}".rstrip())
        results = write_results(result, export)
        counts = counted(result["status"].value_counts().to_dict())
        _done(t, f"{counts}; calls: {result.attrs['calls']}; each row's outcome in {results}")
        expected = {"succeeded": 3, "invalid": 1, "conflict": 1}
        got = result["status"].value_counts().to_dict()
        if any(got.get(k) != v for k, v in expected.items()):
            raise RuntimeError(f"unexpected push result {got}, expected {expected}")
        if result.attrs["calls"].get("GetOpportunity") != 5:
            raise RuntimeError(f"expected one read per changed row, got {result.attrs['calls']}")
        merged = sb.record("Sandbox", c)
        if merged is None or merged["LifeCycle"]["NextSteps"] != "Colleague: send the TCO study":
            raise RuntimeError("the colleague's change was lost")

        t = _step(6, "Fix the invalid row in the results workbook and push that file again")
        _type_into(results, {(d, "Project.ExpectedCustomerSpend[0].Amount"): "13750"})
        again = push_updates(results, "Sandbox", ledger=out / "ledger", client=client, progress=progress)
        write_results(again, results)
        pending = again[again["status"] != "unchanged"]
        sent = ", ".join(f"row {r['row']} {r['Id']} {r['status']}" for r in pending.to_dict("records"))
        _done(t, f"{sent}, every other row unchanged (no read); calls: {again.attrs['calls']}")
        if pending["status"].tolist().count("succeeded") != 1:
            raise RuntimeError(f"expected the fixed row alone to be sent, got {pending['status'].tolist()}")

        t = _step(7, "The ledger (Parquet, one entry per attempt, no customer data)")
        ledger = read_ledger(out / "ledger")
        with pd.option_context("display.width", 160, "display.max_columns", 8):
            shown = ledger[["Id", "status", "error_code", "reason", "changed_fields", "writes"]]
            print(shown.astype({"error_code": object, "reason": object}).fillna("").to_string(index=False))
        _done(t, f"{len(ledger)} entries in {out / 'ledger'}")

        t = _step(8, "Meanwhile colleagues win one, lose one, let a close date slip; sync again, then the report")
        still_open = sheet.loc[~sheet[STAGE].isin(CLOSED_STAGES), "Id"]
        w, lost, slip = [i for i in still_open if i not in {a, b, c, d, e}][:3]
        sb.edit("Sandbox", w, lambda r: r["LifeCycle"].update(Stage="Launched"))
        sb.edit("Sandbox", lost, lambda r: r["LifeCycle"].update(Stage="Closed Lost", ClosedLostReason="Price"))
        sb.edit("Sandbox", slip, lambda r: r["LifeCycle"].update(TargetCloseDate=f"{datetime.now(UTC).year + 2}-06-30"))
        sync = sync_mirror(out / "mirror", "Sandbox", client=client, progress=progress)
        before = read_mirror(out / "mirror", as_of=snapshots(out / "mirror")[-2])  # the first sync's mirror
        views: dict[str, Any] = write_report(
            read_mirror(out / "mirror"), out / "report.html", xlsx=out / "report.xlsx", since=before
        )
        moves = views["What moved"]
        _done(t, f"{sync} Report: {out / 'report.html'} and {out / 'report.xlsx'} ({len(moves)} changes since step 1)")
    print(
        f"\nDone. Outputs in {out}/: pipeline.xlsx, pipeline.results.xlsx, ledger/, mirror/, report.html, report.xlsx"
    )
    return 0
