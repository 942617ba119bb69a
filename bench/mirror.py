"""Benchmark: open the local mirror as a DataFrame, against ``pd.read_parquet`` of the same frame.

Target (issues 18 and 32): opening a 100k mirror takes at most 2x ``pd.read_parquet`` of the same
flattened frame. The mirror is committed by the mirror's own writer (the Delta table version
``sync_mirror`` leaves on disk), from realistic model-valid records (``bench/flatten.py:records``).

    .venv/bin/python bench/mirror.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from _steps import compare, records, row, run

import opptoolkit as ot
from opptoolkit import mirror


def case(n: int, repeat: int) -> Iterator[str]:
    recs = records(n, "realistic")
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "mirror"
        table = mirror._merge([mirror._table(ot.to_frame(recs), ot.get_schema())], ot.get_schema())
        mirror._commit(str(folder), table, mirror._meta("Sandbox", None, datetime.now(UTC)), None)
        flat = Path(d) / "frame.parquet"
        ot.to_frame(recs).to_parquet(flat)
        del recs
        r = compare(lambda: ot.read_mirror(folder), lambda: pd.read_parquet(flat), repeat)
    yield row("open the mirror (read_mirror vs pd.read_parquet)", n, r, "<= 2x")


if __name__ == "__main__":
    run(case, [10_000])
