"""The outputs of a push on 10,000 rows, made from the sandbox with fixed seeds, to compare two versions.

Writes into OUT the plan, the results of a push and of its rerun, the ledger and both results workbooks, each
with what depends on the clock or the ledger's secret masked (times, keyed hashes, job ids): run it on two
versions of the toolkit and compare the folders (``--compare A B``). The push meets what the executor must
handle: updates, creates (with and without a CRM id, a duplicate), solutions added and replaced, invalid and
locked rows, conflicts and merges with a colleague's edits, rows not in the base, malformed Ids, injected 500s
before and after the commit, the daily budget, and a rerun that skips, reconciles and settles.

    PYTHONPATH=. .venv/bin/python bench/compare_push.py OUT [--rows 10000]
    .venv/bin/python bench/compare_push.py --compare OUT_BEFORE OUT_AFTER [--ignore COLUMN ...]

``--ignore`` leaves columns out of the comparison of the frames (the plan, the results, the ledger): the columns
one version adds that the other does not have.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox, SandboxConfig, seed_records

FAST = dict(reads_per_second=100_000, writes_per_second=100_000, progress=False)
WRITES = frozenset({"UpdateOpportunity", "CreateOpportunity", "AssociateOpportunity", "DisassociateOpportunity"})
# ISO times, and the results workbook's human ones ("7 Dec 2026 03:08 UTC")
_TIME = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?|\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d(:\d\d(\.\d+)?)? UTC"
)


def _mask(value: Any) -> Any:
    """A value with what depends on the clock replaced by a mark."""
    if isinstance(value, (pd.Timestamp, datetime)):
        return "<time>"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _TIME.sub("<time>", value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_mask(v) for v in value]
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    return value


def _records(df: pd.DataFrame, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [{k: _mask(v) for k, v in r.items() if k not in drop} for r in df.to_dict("records")]


def _workbook(path: Path) -> dict[str, list[list[Any]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [[_mask(c) for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def make(out: Path, rows: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    config = SandboxConfig.fast(fault_rate=0.03, fault_after_commit_rate=0.03, fault_operations=WRITES, seed=3)
    with Sandbox(config=config, seed=False) as sb:
        sb.store.put_many(seed_records(rows, aws=0))
        client = sb.client()
        export = (
            ot.read_opportunities("Sandbox", client=client, reads_per_second=100_000, progress=False)
            .sort_values("Id")
            .reset_index(drop=True)
        )
        rng = np.random.default_rng(5)
        edited = export.copy()
        at = rng.permutation(len(export))
        take = iter(np.array_split(at[:1600], 8))
        titles, stages, nexts, solutions, conflicts, merges, stray, malformed = (list(next(take)) for _ in range(8))
        edited.loc[titles, "Project.Title"] = [f"Edited title {i}" for i in range(len(titles))]
        edited.loc[stages, "LifeCycle.Stage"] = "Prospekt"
        edited.loc[nexts, "LifeCycle.NextSteps"] = [f"Next step {i}" for i in range(len(nexts))]
        current = edited.loc[solutions, "RelatedEntityIdentifiers.Solutions"]
        edited.loc[solutions, "RelatedEntityIdentifiers.Solutions"] = pd.Series(
            [["S-0000004"] if i % 2 else [*(s if isinstance(s, list) else []), "S-0000003"] for i, s in
             enumerate(current)], index=current.index, dtype=object)  # fmt: skip
        edited.loc[conflicts + merges, "Project.Title"] = [f"Mine {i}" for i in range(len(conflicts + merges))]
        edited.loc[stray, "Id"] = [f"O{9_900_000_000 + i}" for i in range(len(stray))]
        edited.loc[malformed, "Id"] = [f"not an id {i}" for i in range(len(malformed))]
        new = export.loc[at[1600:1700]].drop(columns=["Id", "Arn", "CreatedDate", "LastModifiedDate"]).copy()
        new["Project.Title"] = [f"New {i}" for i in range(len(new))]
        new["PartnerOpportunityIdentifier"] = [f"CRM-N{i}" if i % 3 else None for i in range(len(new))]
        new["RelatedEntityIdentifiers.Solutions"] = [["S-0000001"] if i % 4 == 0 else None for i in range(len(new))]
        cleared = export.loc[at[1700:1720]].copy()
        cleared["Id"] = None  # an exported row whose Id was cleared: refused
        sheet = pd.concat([edited, new, new.head(3), cleared], ignore_index=True)  # the head again: duplicates
        path = out / "edited.csv"
        ot.write_sheet(sheet, path)
        plan = ot.plan_updates(path, "Sandbox", base=export)
        for i, pos in enumerate(conflicts):  # a colleague's edit of the same field, then of another
            sb.edit("Sandbox", export.loc[pos, "Id"], lambda r, i=i: r["Project"].update(Title=f"Theirs {i}"))
        for pos in merges:
            sb.edit("Sandbox", export.loc[pos, "Id"], lambda r: r["LifeCycle"].update(NextSteps="Theirs"))
        ledger = out / "ledger"
        first = ot.push_updates(path, "Sandbox", base=export, ledger=ledger, client=client, daily_write_budget=900,
                                **FAST)  # fmt: skip
        ot.write_results(first, path, out / "results1.xlsx", base=export)
        sb.service.config.fault_rate = sb.service.config.fault_after_commit_rate = 0.0
        again = ot.push_updates(path, "Sandbox", base=export, ledger=ledger, client=client, **FAST)
        ot.write_results(again, path, out / "results2.xlsx", base=export)
        book = ot.read_ledger(ledger)
    secret = ("job_id", "started_at", "finished_at", "change_key", "payload_sha256")
    found = {
        "plan": _records(plan),
        "push": _records(first),
        "push_attrs": _mask({k: v for k, v in first.attrs.items() if k != "ledger"}),
        "rerun": _records(again),
        "rerun_attrs": _mask({k: v for k, v in again.attrs.items() if k != "ledger"}),
        "ledger": _records(book, secret),
        "results1": _workbook(out / "results1.xlsx"),
        "results2": _workbook(out / "results2.xlsx"),
    }
    for name, value in found.items():
        (out / f"{name}.json").write_text(json.dumps(value, indent=1, sort_keys=True, default=str))
    counts = {k: pd.Series([r["status"] for r in found[k]]).value_counts().to_dict() for k in ("push", "rerun")}
    print(json.dumps({"plan": plan["action"].value_counts().to_dict(), **counts, "ledger": len(book)}))


def _without(value: Any, ignore: frozenset[str]) -> Any:
    if isinstance(value, list):
        return [_without(v, ignore) for v in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ignore}
    return value


def compare(a: Path, b: Path, ignore: frozenset[str] = frozenset()) -> int:
    """Return 0 when every output of ``a`` equals ``b``'s, else 1 (saying where they differ first)."""
    bad = 0
    for f in sorted(a.glob("*.json")):
        x, y = json.loads(f.read_text()), json.loads((b / f.name).read_text())
        x, y = _without(x, ignore), _without(y, ignore)
        if x == y:
            print(f"{f.name}: identical")
            continue
        bad = 1
        if isinstance(x, list) and isinstance(y, list):
            diff = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))
            print(f"{f.name}: {len(x)} vs {len(y)} entries; first difference at {diff}:")
            print("  ", x[diff] if diff < len(x) else None, "\n  ", y[diff] if diff < len(y) else None)
        else:
            print(f"{f.name}: differs")
    return bad


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--compare", nargs=2, type=Path)
    ap.add_argument("--ignore", nargs="*", default=[])
    args = ap.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare, ignore=frozenset(args.ignore)))
    make(args.out, args.rows)
