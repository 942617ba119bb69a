"""Benchmark: ``read_sheet`` against pandas reading the same file (xlsx and csv).

Targets (issue 18): xlsx within 1.5x ``pd.read_excel(engine="calamine", dtype=str)``; csv within
2x ``pd.read_csv(dtype=str, keep_default_na=False)``. Issue 19: the workbook made for editing
(order, groups, dropdowns, input messages, shading, text format, Read me) written within 1.5x of
the plain workbook ``write_sheet`` wrote before it (the same cells, no dressing), same run; and
``write_results`` after a push of that workbook (it reads the edited workbook and its base, then
writes them again with a Results sheet), against the export itself (``write_sheet(base=True)``):
no target, recorded so a slowdown shows.
The files are written by ``write_sheet`` from realistic model-valid records; ``read_sheet`` also converts every cell back to the model's
types and checks each header, which the peers do not.

    .venv/bin/python bench/sheets.py [--sizes 10000 50000] [--repeat 3]
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import pandas as pd
from _steps import compare, records, row, run

import opptoolkit as ot

PEERS = {
    ".xlsx": (
        "1.5x",
        lambda p: pd.read_excel(p, engine="calamine", dtype=str, keep_default_na=False),
        'pd.read_excel(engine="calamine")',
    ),
    ".csv": ("2x", lambda p: pd.read_csv(p, dtype=str, keep_default_na=False), "pd.read_csv(dtype=str)"),
}


def case(n: int, repeat: int) -> Iterator[str]:
    df = ot.to_frame(records(n, "realistic"))
    for suffix, (target, peer, name) in PEERS.items():
        with tempfile.TemporaryDirectory() as d:
            path = ot.write_sheet(df, Path(d) / f"pipeline{suffix}")
            assert len(peer(path)) == n
            r = compare(lambda: ot.read_sheet(path), lambda: peer(path), repeat)  # noqa: B023 (used at once)
        yield row(f"read_sheet {suffix} vs {name}", n, r, f"<= {target}")


def plain_xlsx(df: pd.DataFrame, path: Path) -> None:
    """The workbook ``write_sheet`` wrote before issue 19: the same encoded cells in a write-only
    workbook, with a bold header carrying each field's documentation, and nothing else."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Font

    from opptoolkit.sheets._codec import encode_column, ooxml_escape

    schema = ot.get_schema()
    fields = [schema.field_for(str(c)) for c in df.columns]
    columns = [encode_column(df.iloc[:, i], f) for i, f in enumerate(fields)]
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Opportunities")
    ws.freeze_panes = "B2"
    header = []
    for c, f in zip(df.columns, fields, strict=True):
        cell = WriteOnlyCell(ws, value=ot.label_for(str(c)))
        cell.font = Font(bold=True)
        cell.comment = Comment(f.doc[:1000], "opptoolkit") if f.doc else None
        header.append(cell)
    ws.append(header)
    for cells in zip(*columns, strict=True):
        ws.append([ooxml_escape(t) if t != "" else None for t in cells])
    wb.save(path)


def write_case(n: int, repeat: int) -> Iterator[str]:
    df = ot.to_frame(records(n, "realistic"))
    with tempfile.TemporaryDirectory() as d:
        rich, plain = Path(d) / "rich.xlsx", Path(d) / "plain.xlsx"
        r = compare(lambda: ot.write_sheet(df, rich), lambda: plain_xlsx(df, plain), repeat)
        assert len(ot.read_sheet(rich)) == len(ot.read_sheet(plain)) == n
    yield row("write_sheet .xlsx for editing vs the plain workbook", n, r, "<= 1.5x")


def results_case(n: int, repeat: int) -> Iterator[str]:
    df = ot.to_frame(records(n, "realistic"))
    with tempfile.TemporaryDirectory() as d:
        export = ot.write_sheet(df, Path(d) / "pipeline.xlsx", base=True)
        # a push of it: 1% updated (a new token each), the rest unchanged
        status = ["succeeded" if i % 100 == 0 else "unchanged" for i in range(n)]
        stamp = pd.Timestamp("2027-01-04T09:00:00Z")
        result = pd.DataFrame(
            {
                "row": [str(i + 2) for i in range(n)],
                "Id": df["Id"],
                "status": status,
                "error_code": None,
                "reason": None,
                "error_message": None,
                "changed_fields": [["Project.Title"] if s == "succeeded" else [] for s in status],
                "last_modified_before": df["LastModifiedDate"],
                "last_modified_after": [stamp if s == "succeeded" else None for s in status],
                "writes": [int(s == "succeeded") for s in status],
            }
        )
        out = Path(d) / "pipeline.results.xlsx"
        r = compare(
            lambda: ot.write_results(result, export, out),
            lambda: ot.write_sheet(df, Path(d) / "again.xlsx", base=True),
            repeat,
        )
        assert len(ot.read_sheet(out)) == n
    yield row("write_results after a push vs the export (write_sheet base=True)", n, r, "none (recorded)")


if __name__ == "__main__":
    run(lambda n, repeat: chain(write_case(n, repeat), results_case(n, repeat), case(n, repeat)), [10_000])
