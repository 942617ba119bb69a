"""Benchmark: the sandbox server's memory and threads under a loopback load, bounded against unbounded.

The load is the careless script's: ``--clients`` threads each send GetOpportunity and ListOpportunities for
``--seconds``, opening a new connection for every request and leaving it open (a boto3 client made per call
keeps its pooled connection until it is collected). The server runs in its own process (``opptoolkit sandbox
--fast``); its resident memory and thread count are read from /proc every 5 s. The same load runs against the
server as shipped (connections bounded by ``_http.MAX_CONNECTIONS``) and, as the peer, against the same server
with the bound lifted (one thread per connection, as before the bound). Then the worst CPU time the server
spends on one oversized request: a 200 KB string in each string member of each served operation.

    .venv/bin/python bench/sandbox.py [--seconds 30] [--clients 8]

Linux only (/proc).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from opptoolkit.sandbox import OPERATIONS, _http
from opptoolkit.schema import service_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.test_sandbox_robust import SIGNED, _body, _members  # the request builders of the robustness tests

_SERVER = """
import sys, time
from opptoolkit.sandbox import Sandbox, SandboxConfig
with Sandbox(port=int(sys.argv[1]), config=SandboxConfig.fast()) as sb:
    sb._server.max_connections = int(sys.argv[2])
    print("ready", flush=True)
    time.sleep(3600)
"""


def _status(pid: int) -> tuple[float, int]:
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/task"))


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _server(port: int, bound: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(port), str(bound)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _request(port: int, operation: str, body: dict, keep: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": SIGNED, "X-Amz-Target": _http._TARGET_PREFIX + operation}
    conn.request("POST", "/", body=json.dumps(body), headers=headers)
    conn.getresponse().read()
    keep.append(conn)  # left open


def load(port: int, bound: int, seconds: float, clients: int) -> list[str]:
    proc = _server(port, bound)
    rows = []
    try:
        rss0, threads0 = _status(proc.pid)
        rows.append(f"| {'bounded' if bound < 10**6 else 'unbounded'} | 0 | {rss0:.0f} | {threads0} | 0 |")
        stop, count, kept = time.monotonic() + seconds, [0], []

        def client() -> None:
            i = 0
            while time.monotonic() < stop:
                if i % 2:
                    _request(port, "ListOpportunities", {"Catalog": "Sandbox", "MaxResults": 50}, kept)
                else:
                    _request(port, "GetOpportunity", {"Catalog": "Sandbox", "Identifier": "O7000000001"}, kept)
                count[0] += 1
                i += 1

        workers = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for w in workers:
            w.start()
        started = time.monotonic()
        while time.monotonic() < stop:
            time.sleep(5)
            rss, threads = _status(proc.pid)
            rows.append(
                f"| {'bounded' if bound < 10**6 else 'unbounded'} | {time.monotonic() - started:.0f} "
                f"| {rss:.0f} | {threads} | {count[0]} |"
            )
        for w in workers:
            w.join()
        for conn in kept:
            conn.close()
    finally:
        proc.terminate()
        proc.wait()
    return rows


def oversized(port: int) -> tuple[float, str]:
    """The most CPU the server spends on one request with a 200 KB string in one member."""
    proc = _server(port, _http.MAX_CONNECTIONS)
    worst, where = 0.0, ""
    try:
        for op in sorted(OPERATIONS):
            for path in _members(service_model().operation_model(op).input_shape, "string"):
                before = _cpu(proc.pid)
                _request(port, op, _body(path, "Co-Sell " * 25_000), [])
                spent = _cpu(proc.pid) - before
                if spent > worst:
                    worst, where = spent, f"{op} {'.'.join(map(str, path))}"
    finally:
        proc.terminate()
        proc.wait()
    return worst, where


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--port", type=int, default=18766)
    args = ap.parse_args()
    print(f"{args.clients} clients, a new connection per request left open, {args.seconds:.0f} s\n")
    print("| server | s | RSS MB | threads | requests |\n|---|---|---|---|---|")
    for bound in (_http.MAX_CONNECTIONS, 10**9):
        for row in load(args.port, bound, args.seconds, args.clients):
            print(row)
    worst, where = oversized(args.port)
    print(f"\nworst CPU on one request with a 200 KB string: {worst:.2f} s ({where})")


if __name__ == "__main__":
    main()
