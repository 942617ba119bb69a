"""Benchmark: ``read_sheet`` against pandas reading the same file (xlsx and csv).

Targets (issue 18): xlsx within 1.5x ``pd.read_excel(engine="calamine", dtype=str)``; csv within
2x ``pd.read_csv(dtype=str, keep_default_na=False)``. The files are written by ``write_sheet``
from realistic model-valid records; ``read_sheet`` also converts every cell back to the model's
types and checks each header, which the peers do not.

    .venv/bin/python bench/sheets.py [--sizes 10000 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from _steps import HEADER, compare, machine, records, row

import opptoolkit as ot

PEERS = {
    ".xlsx": (
        "1.5x",
        lambda p: pd.read_excel(p, engine="calamine", dtype=str, keep_default_na=False),
        'pd.read_excel(engine="calamine")',
    ),
    ".csv": ("2x", lambda p: pd.read_csv(p, dtype=str, keep_default_na=False), "pd.read_csv(dtype=str)"),
}


def case(n: int, suffix: str, repeat: int) -> str:
    target, peer, name = PEERS[suffix]
    df = ot.to_frame(records(n, "realistic"))
    with tempfile.TemporaryDirectory() as d:
        path = ot.write_sheet(df, Path(d) / f"pipeline{suffix}")
        assert len(peer(path)) == n
        r = compare(lambda: ot.read_sheet(path), lambda: peer(path), repeat)
    return row(f"read_sheet {suffix} vs {name}", n, r, f"<= {target}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--formats", nargs="+", default=list(PEERS), choices=list(PEERS))
    args = ap.parse_args()
    print(machine())
    print(HEADER)
    print("|---|---:|---:|---:|---:|---|")
    for suffix in args.formats:
        for n in args.sizes:
            print(case(n, suffix, args.repeat), flush=True)


if __name__ == "__main__":
    main()
