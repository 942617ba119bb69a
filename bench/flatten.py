"""Benchmark: flatten, unflatten and sheet I/O against pandas.json_normalize, in the same run.

Run by hand (``make bench`` or ``.venv/bin/python bench/flatten.py [--sizes 10000 100000]``);
paste the printed table into BENCHMARKS.md. Targets (issue 2): flatten at least 2x faster than
``pandas.json_normalize`` on the same records (lists included), unflatten <= 30 us per row, and a
100k-row frame adds <= 250 MB RSS.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import opptoolkit as ot


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def records(n: int, *, realistic: bool) -> list[dict]:
    """n model-valid records: 5,000 generated ones, repeated with fresh Ids (generation is slow)."""
    base = ot.fake_records(min(n, 5000), seed=11, tricky=not realistic, p_present=0.6 if realistic else 0.7)
    if realistic:  # what a live pipeline looks like: a few contacts and spends, a short history
        for r in base:
            lc = r.get("LifeCycle", {})
            if "NextStepsHistory" in lc:
                lc["NextStepsHistory"] = lc["NextStepsHistory"][:5]
    return [{**base[i % len(base)], "Id": f"O{i + 1:012d}"} for i in range(n)]


def timed(fn, *args, **kwargs):
    gc.collect()
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--sheet-rows", type=int, default=10_000, help="rows for the sheet write/read timings")
    args = ap.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.processor() or 'cpu'}; "
          f"Python {sys.version.split()[0]}, pandas {pd.__version__}, opptoolkit {ot.__version__}")  # fmt: skip
    print()
    print("| data | rows | cols | to_frame s | json_normalize s | speed-up | to_payloads us/row | frame RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for realistic in (False, True):
        for n in args.sizes:
            recs = records(n, realistic=realistic)
            gc.collect()
            before = rss_mb()
            df, t_flat = timed(ot.to_frame, recs)
            gc.collect()
            frame_mb = rss_mb() - before
            norm, t_norm = timed(pd.json_normalize, recs)
            del norm
            _, t_unflat = timed(ot.to_payloads, df)
            kind = "realistic" if realistic else "tricky, lists to max"
            print(f"| {kind} | {n:,} | {df.shape[1]} | {t_flat:.2f} | {t_norm:.2f} | {t_norm / t_flat:.1f}x "
                  f"| {t_unflat / n * 1e6:.1f} | {frame_mb:.0f} |")  # fmt: skip
            del df, recs
    print()
    print("| sheet | rows | cols | write s | read s |")
    print("|---|---:|---:|---:|---:|")
    df = ot.to_frame(records(args.sheet_rows, realistic=True))
    with tempfile.TemporaryDirectory() as d:
        for suffix in (".csv", ".xlsx"):
            path, t_w = timed(ot.write_sheet, df, Path(d) / f"b{suffix}")
            back, t_r = timed(ot.read_sheet, path)
            assert len(back) == len(df)
            print(f"| {suffix} | {len(df):,} | {df.shape[1]} | {t_w:.2f} | {t_r:.2f} |")


if __name__ == "__main__":
    main()
