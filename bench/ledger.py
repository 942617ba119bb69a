"""Benchmark: what the ledger of a push leaves at rest — Parquet files per 1,000 attempts.

Target (issue 18): at most one Parquet file per 1,000 attempts, with the crash guarantees kept.
The push runs against the sandbox in its own process (quotas raised: the count does not depend on
the pace), every row an update that succeeds.

    .venv/bin/python bench/ledger.py [--rows 2000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

from _steps import machine
from pull import serve

import opptoolkit as ot
from opptoolkit.sandbox import SandboxConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000, help="rows to update")
    args = ap.parse_args()
    print(machine())
    config = SandboxConfig.fast()
    ctx = multiprocessing.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(ports, stop, config, 6 * args.rows))
    server.start()
    try:
        client = ot.get_client(endpoint_url=f"http://127.0.0.1:{ports.get(timeout=120)}")
        export = ot.read_opportunities("Sandbox", client=client, reads_per_second=1000, progress=False)
        ok = export["LifeCycle.ReviewStatus"].eq("Pending Submission")
        edited = export[ok].head(args.rows).copy()
        assert len(edited) == args.rows, f"only {len(edited)} editable records"
        edited["LifeCycle.NextSteps"] = [f"bench {i}" for i in range(len(edited))]
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            result = ot.push_updates(edited, "Sandbox", ledger=Path(d) / "ledger", base=export, client=client,
                                     writes_per_second=1000, reads_per_second=1000, progress=False)  # fmt: skip
            seconds = time.perf_counter() - t
            files = len(list((Path(d) / "ledger").rglob("*.parquet")))
            attempts = len(ot.read_ledger(Path(d) / "ledger"))
    finally:
        stop.set()
        ports.get(timeout=30)
        server.join(timeout=30)
    assert (result["status"] == "succeeded").all(), result["status"].value_counts()
    print("| push | rows | ledger entries | Parquet files at rest | files per 1,000 entries | seconds | target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(f"| push_updates | {len(result):,} | {attempts:,} | {files:,} | {files / attempts * 1000:.0f} | "
          f"{seconds:.1f} | <= 1 per 1,000 |")  # fmt: skip


if __name__ == "__main__":
    main()
