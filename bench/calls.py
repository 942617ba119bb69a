"""Benchmark: the ledgered executor (opptoolkit.execute.run_calls) against the loop a user writes (AWS's samples:
one call after another, no ledger), in the same run, on the same sandbox and client.

Both send AssociateOpportunity to ``--calls`` drafts with the write quota scaled to ``--rate`` per second; the
executor also fsyncs an intent and an outcome per call. Target: achieved writes/s >= 0.95 of the quota.

    .venv/bin/python bench/calls.py [--calls 200] [--rate 20] [--burst 1]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

from opptoolkit.execute import Call, run_calls
from opptoolkit.sandbox import Sandbox, SandboxConfig


def _calls(ids: list[str], solution: str) -> list[Call]:
    return [
        Call(
            str(n),
            "AssociateOpportunity",
            i,
            {
                "Catalog": "Sandbox",
                "OpportunityIdentifier": i,
                "RelatedEntityType": "Solutions",
                "RelatedEntityIdentifier": solution,
            },
        )
        for n, i in enumerate(ids, 2)
    ]


def naive(client, calls: list[Call], rate: float) -> None:
    """What the samples do: each call, then sleep to stay under the quota."""
    for c in calls:
        client.associate_opportunity(**c.params)
        time.sleep(1 / rate)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--burst", type=float, help="requests the server's bucket holds (default: one second's)")
    args = ap.parse_args()
    # by default the server's bucket holds one second of the quota, as the sandbox's defaults (and
    # bench/push.py) do; --burst 1 admits one request at a time, the strictest server
    config = SandboxConfig.fast(write_rate=args.rate, write_burst=args.burst or args.rate)
    with Sandbox(config=config) as sb:
        ids = [r["Id"] for r in sb.records("Sandbox")][: args.calls]
        if len(ids) < args.calls:
            raise SystemExit(f"the sandbox holds {len(ids)} opportunities: ask for at most that many calls")
        client = sb.client()
        t = time.perf_counter()
        naive(client, _calls(ids, "S-0000001"), args.rate)
        peer = time.perf_counter() - t
        t = time.perf_counter()
        out = run_calls(_calls(ids, "S-0000002"), ledger=tempfile.mkdtemp(), client=client, progress=False,
                        writes_per_second=args.rate, reads_per_second=1000)  # fmt: skip
        ours = time.perf_counter() - t
        assert set(out["status"]) == {"succeeded"}, out["status"].value_counts()
        throttled = sb.service.throttled
    print(f"{platform.machine()} {platform.python_version()}; {args.calls} calls, quota {args.rate:g} writes/s")
    print("| loop | seconds | writes/s | of quota | ms per call over the quota's pace |")
    print("|---|---:|---:|---:|---:|")
    for name, s in (("run_calls (ledgered)", ours), ("naive loop (samples)", peer)):
        rate = args.calls / s
        over = (s - args.calls / args.rate) / args.calls * 1000
        print(f"| {name} | {s:.2f} | {rate:.1f} | {rate / args.rate:.2f} | {over:.1f} |")
    print(f"throttled by the sandbox: {throttled}")


if __name__ == "__main__":
    main()
