"""Benchmark: flatten, unflatten and sheet I/O against pandas.json_normalize, in the same run.

Run by hand (``make bench`` or ``.venv/bin/python bench/flatten.py [--sizes 10000 100000]``);
paste the printed tables into BENCHMARKS.md (sheet I/O is timed against plain pandas writing and
reading the same frame; flatten is also timed against :func:`pandas_same_frame`, the same frame
written with pandas). Targets (issue 2): flatten at least 2x faster than
``pandas.json_normalize`` on the same records (lists included), unflatten <= 30 us per row, and a
100k-row frame adds <= 250 MB RSS.

Each case runs in a fresh process (so one case's heap does not flatter the next one's RSS); the
RSS a frame adds is measured across the first call, with its peak on the way (the kernel's
high-water mark, restarted just before the call).
Times are the best of ``--repeat`` runs after a first call (shown apart: it also generates the
flattener and touches fresh memory), ours and the peer's interleaved: this shared, virtualised
machine varies by +-20% from run to run, and the minimum is the least noisy estimate for both.
The speed-up is best against best, and in brackets the median of the rounds' own ratios (each
round's two timings share the machine's state of the moment).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from botocore.utils import parse_timestamp

import opptoolkit as ot
from opptoolkit.sandbox import seed_records
from opptoolkit.testing import fake_records


def rss_mb(key: str = "VmRSS") -> float:
    """The process's resident memory now (``VmHWM``: its peak since :func:`reset_peak`), MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> float:
    """Restart the kernel's peak-RSS count (Linux ``clear_refs`` 5) and return the RSS now."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return rss_mb()


def added(fn: Any, *args: Any) -> tuple[Any, float, float, float]:
    """``fn(*args)``, its seconds, the RSS it added (after a collection) and the peak RSS it
    added on the way."""
    before = reset_peak()
    t = time.perf_counter()
    out = fn(*args)
    seconds = time.perf_counter() - t
    peak = rss_mb("VmHWM") - before
    gc.collect()
    return out, seconds, rss_mb() - before, peak


#: The data sets, heaviest first, with the label the table gives them.
DATA = {
    "tricky": "tricky, lists to max",
    "realistic": "realistic",
    "seed": "seed-shaped",
}


def fresh(value: Any) -> Any:
    """A copy holding new ``str`` and ``datetime`` objects but the same dict keys: what botocore's
    parser gives (each response's values from its own JSON, the keys are the model's member
    names). Repeated records sharing their values would stay in the CPU's cache and skip the
    cost of touching scattered text, which flattered ``to_frame`` by 10-35% (BENCHMARKS.md).

    Timestamps go through botocore's own parser from their wire form, as in a response: on a
    host whose zone is UTC it gives each one a ``tzlocal()`` of its own, elsewhere ``tzutc()``
    (dateutil); pandas converts the first 10x slower than ``datetime.timezone.utc``."""
    t = type(value)
    if t is dict:
        return {k: fresh(v) for k, v in value.items()}
    if t is list:
        return [fresh(v) for v in value]
    if t is str:
        return value.encode().decode()
    if t is datetime:
        return parse_timestamp(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return value


def records(n: int, data: str) -> list[dict]:
    """n model-valid records: 5,000 generated ones, repeated with fresh Ids (generation is slow)
    and values of their own (:func:`fresh`).

    ``tricky``: every optional member 70% present, hostile text, lists as the generator fills
    them (a quarter at the model's maximum: 50 history entries, 10 team members, 10 spends).
    ``realistic``: 60% present, plain text, the same lists but the history cut to 5 entries.
    ``seed``: the sandbox seed's generator, modelled on a live pipeline (1-3 contacts, 1-2
    spends, one team member, up to 4 history entries, the rules' dependent fields).
    """
    if data == "seed":
        base = seed_records(min(n, 5000), aws=0, seed=11)
    else:
        realistic = data == "realistic"
        base = fake_records(min(n, 5000), seed=11, tricky=not realistic, p_present=0.6 if realistic else 0.7)
        if realistic:
            for r in base:
                lc = r.get("LifeCycle", {})
                if "NextStepsHistory" in lc:
                    lc["NextStepsHistory"] = lc["NextStepsHistory"][:5]
    return [fresh({**base[i % len(base)], "Id": f"O{i + 1:012d}"}) for i in range(n)]


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    gc.collect()
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def pandas_same_frame(recs: list[dict]) -> pd.DataFrame:
    """The frame ``to_frame`` gives, written with pandas: ``json_normalize``, then every list of
    structures exploded, normalised in one call and unstacked into indexed columns
    (``Customer.Contacts[1].Email``). The second peer: the issue's peer, ``json_normalize``
    alone, leaves those lists as objects. (A ``json_normalize`` per index was up to 2x slower.)"""
    flat = pd.json_normalize(recs)
    for col in [c for c in flat.columns if flat[c].dtype == object]:
        if not any(type(v) is list and v and type(v[0]) is dict for v in flat[col]):
            continue
        items = flat.pop(col).explode()
        items = items[items.map(lambda v: type(v) is dict).to_numpy()]
        wide = pd.json_normalize(items.tolist())
        wide.index = pd.MultiIndex.from_arrays([items.index, items.groupby(level=0).cumcount().to_numpy()])
        wide = wide.unstack()
        wide.columns = [f"{col}[{j}].{member}" for member, j in wide.columns]
        flat = flat.join(wide)
    return flat


def peer_rss(data: str, n: int) -> tuple[float, float]:
    """RSS added by ``pandas.json_normalize``'s frame of the same records, and its peak, in this
    (fresh) process."""
    recs = records(n, data)
    df, _, rss, peak = added(pd.json_normalize, recs)
    assert len(df) == n
    return rss, peak


def case(data: str, n: int, repeat: int) -> dict[str, Any]:
    """One row of the table, measured in this (fresh) process."""
    recs = records(n, data)
    df, t_first, frame_rss, frame_peak = added(ot.to_frame, recs)  # also generates the flattener
    same, _ = timed(pandas_same_frame, recs)
    assert set(same.columns) <= set(df.columns), set(same.columns) - set(df.columns)
    del same
    flats, norms, sames, unflats = [], [], [], []
    for _ in range(repeat):
        flats.append(timed(ot.to_frame, recs)[1])
        norms.append(timed(pd.json_normalize, recs)[1])
        sames.append(timed(pandas_same_frame, recs)[1])
        unflats.append(timed(ot.to_payloads, df)[1])
    return {
        "cols": df.shape[1],
        "first": t_first,
        "flat": min(flats),
        "norm": min(norms),
        "ratio_median": statistics.median(b / a for a, b in zip(flats, norms, strict=True)),
        "same": min(sames),
        "unflat_us": min(unflats) / n * 1e6,
        "rss": frame_rss,
        "peak": frame_peak,
        "frame_mb": df.memory_usage(deep=False, index=False).sum() / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing; the best is reported")
    ap.add_argument("--sheet-rows", type=int, default=10_000, help="rows for the sheet write/read timings")
    ap.add_argument("--case", nargs=2, metavar=("DATA", "ROWS"), help=argparse.SUPPRESS)  # internal: one case
    ap.add_argument("--peer-rss", action="store_true", help=argparse.SUPPRESS)  # internal: the peer's RSS
    args = ap.parse_args()
    if args.case:
        data, n = args.case[0], int(args.case[1])
        print(json.dumps(peer_rss(data, n) if args.peer_rss else case(data, n, args.repeat)))
        return
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.processor() or 'cpu'}; "
          f"Python {sys.version.split()[0]}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
          f"opptoolkit {ot.__version__}; best of {args.repeat}")  # fmt: skip
    print()
    print("| data | rows | cols | to_frame s (first call) | json_normalize s | speed-up (median of rounds) "
          "| same frame in pandas s | speed-up | to_payloads us/row "
          "| frame MB | RSS added MB (peak) | json_normalize RSS added MB (peak) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for data, kind in DATA.items():
        for n in args.sizes:
            cmd = [sys.executable, __file__, "--case", data, str(n), "--repeat", str(args.repeat)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            peer, peer_peak = json.loads(
                subprocess.run([*cmd, "--peer-rss"], check=True, capture_output=True, text=True).stdout
            )
            print(f"| {kind} | {n:,} | {r['cols']} | {r['flat']:.2f} ({r['first']:.2f}) | {r['norm']:.2f} "
                  f"| {r['norm'] / r['flat']:.1f}x ({r['ratio_median']:.1f}x) "
                  f"| {r['same']:.2f} | {r['same'] / r['flat']:.1f}x "
                  f"| {r['unflat_us']:.1f} | {r['frame_mb']:.0f} | {r['rss']:.0f} ({r['peak']:.0f}) "
                  f"| {peer:.0f} ({peer_peak:.0f}) |")  # fmt: skip
    print()
    # Peer for sheets: plain pandas on the same frame (list cells given as text first, not timed);
    # it neither guards formula-like text nor converts anything back on read.
    print("| sheet | rows | cols | write s | pandas write s | read s | pandas read s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    df = ot.to_frame(records(args.sheet_rows, "realistic"))
    text = df.astype(str)
    peers = {
        ".csv": (lambda p: text.to_csv(p, index=False), lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)),
        ".xlsx": (
            lambda p: text.to_excel(p, index=False),
            lambda p: pd.read_excel(p, dtype=str, keep_default_na=False),
        ),
    }
    with tempfile.TemporaryDirectory() as d:
        for suffix, (pd_write, pd_read) in peers.items():
            path, t_w = timed(ot.write_sheet, df, Path(d) / f"b{suffix}")
            back, t_r = timed(ot.read_sheet, path)
            assert len(back) == len(df)
            peer = Path(d) / f"peer{suffix}"
            _, p_w = timed(pd_write, peer)
            peer_back, p_r = timed(pd_read, peer)
            assert len(peer_back) == len(df)
            print(f"| {suffix} | {len(df):,} | {df.shape[1]} | {t_w:.2f} | {p_w:.2f} | {t_r:.2f} | {p_r:.2f} |")


if __name__ == "__main__":
    main()
