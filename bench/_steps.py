"""Shared by the step benchmarks (mirror, plan, sheets, ledger): the data and the timing.

Each step is timed against its pandas peer *interleaved* (ours, peer, ours, peer, ...) in one
process, so both see the same state of this shared, virtualised machine; the table gives the best
and the median of each, and the ratio best against best (in brackets: the median of the rounds'
own ratios).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from flatten import records  # (realistic, model-valid records with values of their own)

__all__ = ["compare", "machine", "records", "row", "run"]


def machine() -> str:
    import opptoolkit as ot

    return (
        f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.processor() or 'cpu'}; "
        f"Python {sys.version.split()[0]}, pandas {pd.__version__}, pyarrow {pa.__version__}, "
        f"opptoolkit {ot.__version__}"
    )


def _once(fn: Callable[[], Any]) -> float:
    gc.collect()
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def compare(ours: Callable[[], Any], peer: Callable[[], Any], repeat: int) -> dict[str, float]:
    """Best and median seconds of ``ours`` and ``peer``, run alternately ``repeat`` times each."""
    a, b = [], []
    for _ in range(repeat):
        a.append(_once(ours))
        b.append(_once(peer))
    return {
        "ours_best": min(a),
        "ours_median": statistics.median(a),
        "peer_best": min(b),
        "peer_median": statistics.median(b),
        "ratio": min(a) / min(b),
        "ratio_median": statistics.median(x / y for x, y in zip(a, b, strict=True)),
    }


HEADER = "| step | rows | ours best (median) s | peer best (median) s | ratio (median of rounds) | target |"


def row(step: str, n: int, r: dict[str, float], target: str) -> str:
    return (
        f"| {step} | {n:,} | {r['ours_best']:.2f} ({r['ours_median']:.2f}) | {r['peer_best']:.2f} "
        f"({r['peer_median']:.2f}) | {r['ratio']:.1f}x ({r['ratio_median']:.1f}x) | {target} |"
    )


def run(case: Callable[[int, int], Iterable[str]], sizes: list[int]) -> None:
    """The script's command line (``--sizes``, ``--repeat``) and its table: one row per line
    ``case(rows, repeat)`` yields."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=sizes)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(machine())
    print(HEADER)
    print("|---|---:|---:|---:|---:|---|")
    for n in args.sizes:
        for line in case(n, args.repeat):
            print(line, flush=True)
