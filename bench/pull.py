"""Benchmark: pull and incremental sync against the sandbox with the documented read quota
scaled up 10x (100 reads/s), and the naive boto3 loop a user would write, in the same run.

Targets (issue 4): achieved reads/s >= 0.9 of the quota; an incremental sync after 1% of
records changed costs <= 2% of a full pull's calls.

    .venv/bin/python bench/pull.py [--records 3000] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import tempfile
import time

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox, SandboxConfig, seed_records


def naive_pull(client) -> list[dict]:
    """What a user writes by hand: paginate, then GetOpportunity one by one (boto3 retries throttles)."""
    out = []
    for page in client.get_paginator("list_opportunities").paginate(Catalog="Sandbox"):
        for s in page["OpportunitySummaries"]:
            out.append(client.get_opportunity(Catalog="Sandbox", Identifier=s["Id"]))
    return out


def serve(port_queue, stop, config: SandboxConfig, records: int) -> None:
    """The sandbox in its own process, as a real service is (no GIL shared with the client)."""
    with Sandbox(config=config, seed=False) as sb:
        sb.store.put_many(seed_records(records, aws=0))
        port_queue.put(sb.port)
        stop.wait()
        port_queue.put(sb.service.throttled)


def edit(client, identifier: str) -> None:
    """Another user's edit, through the API."""
    rec = client.get_opportunity(Catalog="Sandbox", Identifier=identifier)
    payload = ot.payload_from_record(rec)
    payload["LifeCycle"]["NextSteps"] = "benchmark edit"
    client.update_opportunity(**payload)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--scale", type=float, default=10.0, help="quota multiplier (reads/s = 10 x scale)")
    ap.add_argument("--latency", type=float, default=0.02, help="seconds of server latency per request")
    args = ap.parse_args()
    quota = 10.0 * args.scale
    config = SandboxConfig(read_rate=quota, read_burst=quota, write_rate=1000, write_burst=1000, latency=args.latency)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
          f"sandbox quota {quota:g} reads/s, latency {args.latency * 1000:g} ms, {args.records} opportunities")  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve, args=(ports, stop, config, args.records))
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{ports.get(timeout=120)}"
        client = ot.get_client(endpoint_url=endpoint)
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            df = ot.read_opportunities("Sandbox", client=client, reads_per_second=quota, max_workers=8, progress=False)
            pull_s = time.perf_counter() - t
            calls = sum(df.attrs["calls"].values())
            rate = calls / pull_s
            t = time.perf_counter()
            naive = naive_pull(client)
            naive_s = time.perf_counter() - t
            assert len(naive) == len(df)
            full = ot.sync_mirror(d, "Sandbox", client=client, reads_per_second=quota, max_workers=8, progress=False)
            editable = df[df["LifeCycle.ReviewStatus"].isin(["Approved", "Pending Submission"])]
            changed = sorted(editable["Id"])[: len(df) // 100]  # 1% of the records
            editor = ot.get_client(endpoint_url=endpoint)
            for ident in changed:
                time.sleep(2 * len(changed) / quota)  # leave the read quota to the syncs
                edit(editor, ident)
            inc = ot.sync_mirror(d, "Sandbox", client=client, reads_per_second=quota, max_workers=8, progress=False)
            full_calls, inc_calls = sum(full.calls.values()), sum(inc.calls.values())
    finally:
        stop.set()
        throttled = ports.get(timeout=30)
        server.join(timeout=30)
    print()
    print("| job | records | calls | seconds | reads/s | of quota |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| read_opportunities (8 workers, paced) | {len(df)} | {calls} | {pull_s:.1f} | {rate:.1f} | {rate / quota:.2f} |"
    )
    n_calls = len(naive) + (len(naive) + 99) // 100
    print(
        f"| naive boto3 loop (sequential) | {len(naive)} | {n_calls} | {naive_s:.1f} | {n_calls / naive_s:.1f} | {n_calls / naive_s / quota:.2f} |"
    )
    print(
        f"| sync_mirror, first (full) | {full.total} | {full_calls} | {full.seconds:.1f} | {full_calls / full.seconds:.1f} | |"
    )
    print(f"| sync_mirror after {len(changed)} edits (1%) | {inc.fetched} fetched | {inc_calls} | {inc.seconds:.2f} | | "
          f"{inc_calls / full_calls:.2%} of a full pull's calls |")  # fmt: skip
    print(f"\nserver-side throttles over the whole run (the naive loop causes them): {throttled}")


if __name__ == "__main__":
    main()
