"""Benchmark: start-up — ``import opptoolkit``, ``opptoolkit --help`` and ``opptoolkit pull --help``.

Each case is a fresh interpreter, timed from outside (wall clock, median of ``--repeat`` rounds, the cases
interleaved in each round so a busy machine weighs on all alike), and ``import opptoolkit`` also by
``python -X importtime`` (the package's cumulative line). The peers: an interpreter that does nothing,
``import boto3`` and ``import pandas``, the floor any AWS or frame tool stands on. ``--before DIR`` adds the same
cases for another source tree of the package (e.g. ``git archive main | tar -x -C DIR``), found first on
``PYTHONPATH``.

    .venv/bin/python bench/startup.py [--repeat 10] [--before /tmp/base]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _steps import machine

SCRIPT = Path(sys.executable).with_name("opptoolkit")  # the console script of this environment


def _cases(before: str | None) -> dict[str, tuple[list[str], str | None]]:
    cases: dict[str, tuple[list[str], str | None]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "import boto3": ([sys.executable, "-c", "import boto3"], None),
        "import pandas": ([sys.executable, "-c", "import pandas"], None),
    }
    for label, path in [("before", before), ("after", None)] if before else [("", None)]:
        tag = f" ({label})" if label else ""
        cases[f"import opptoolkit{tag}"] = ([sys.executable, "-c", "import opptoolkit"], path)
        cases[f"opptoolkit --help{tag}"] = ([str(SCRIPT), "--help"], path)
        cases[f"opptoolkit pull --help{tag}"] = ([str(SCRIPT), "pull", "--help"], path)
    return cases


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _run(argv: list[str], path: str | None, cwd: str, importtime: bool = False) -> tuple[float, float]:
    """Seconds of one run, wall clock and CPU; with ``importtime``, the package's cumulative import (twice)."""
    env = {**os.environ, "PYTHONPATH": path} if path else {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if importtime:
        out = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, check=True
        )
        line = re.search(r"\|\s+(\d+) \| opptoolkit$", out.stderr, re.MULTILINE)
        assert line, "no opptoolkit line in -X importtime"
        return int(line.group(1)) / 1e6, int(line.group(1)) / 1e6
    t, cpu = time.perf_counter(), _cpu()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t, _cpu() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10, help="rounds (each case once a round)")
    ap.add_argument("--before", help="another source tree of the package, measured alongside")
    args = ap.parse_args()
    print(machine())
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    cases = _cases(args.before)
    imports = {k: v for k, v in cases.items() if k.startswith("import opptoolkit")}
    walls: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    cumulative: dict[str, list[tuple[float, float]]] = {k: [] for k in imports}
    with tempfile.TemporaryDirectory() as cwd:  # never the checkout: its folder would shadow --before
        for argv, path in cases.values():  # a warm-up: the page cache and the .pyc files, not measured
            _run(argv, path, cwd)
        for _ in range(args.repeat):
            for name, (argv, path) in cases.items():
                walls[name].append(_run(argv, path, cwd))
            for name, (argv, path) in imports.items():
                cumulative[name].append(_run(argv, path, cwd, importtime=True))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'case':34s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'CPU median s':>13s}   ({args.repeat} runs)")
    for name, runs in [*walls.items(), ("-X importtime, cumulative:", []), *cumulative.items()]:
        if not runs:
            print(name)
            continue
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"{name:34s} {statistics.median(wall):9.3f} {min(wall):7.3f} {max(wall):7.3f} {statistics.median(cpu):13.3f}"
        )


if __name__ == "__main__":
    main()
