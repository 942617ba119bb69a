"""Benchmark: ``read_sheet`` against pandas reading the same file (xlsx and csv).

Targets (issue 18): xlsx within 1.5x ``pd.read_excel(engine="calamine", dtype=str)``; csv within
2x ``pd.read_csv(dtype=str, keep_default_na=False)``. The files are written by ``write_sheet``
from realistic model-valid records; ``read_sheet`` also converts every cell back to the model's
types and checks each header, which the peers do not.

    .venv/bin/python bench/sheets.py [--sizes 10000 50000] [--repeat 3]
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
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


if __name__ == "__main__":
    run(case, [10_000])
