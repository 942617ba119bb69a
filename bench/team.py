"""Benchmark: a sync of a 100k mirror on S3 (moto's S3 server on 127.0.0.1) against the same sync on local disk.

The sandbox holds 100k realistic records (``bench/flatten.py:records``) and both mirrors start from the same
committed version of them (what a first sync leaves); then each round edits 1% of the records and syncs
the S3 mirror, then the local one: the same listing, the same 1,000 GetOpportunity calls, then each
reads its stored table and commits the next version. Opening each mirror is timed too.

    .venv/bin/python bench/team.py [--sizes 100000] [--repeat 2]
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
from _steps import compare, records, row, run

import opptoolkit as ot
from opptoolkit import mirror
from opptoolkit.sandbox import Sandbox, SandboxConfig


def _moto() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto's server did not start")


def case(n: int, repeat: int) -> Iterator[str]:
    proc, url = _moto()
    os.environ.update(
        AWS_ENDPOINT_URL_S3=url,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        boto3.client("s3").create_bucket(Bucket="bench")
        recs = [dict(r, Catalog="Sandbox") for r in records(n, "realistic")]
        schema = ot.get_schema()
        table = mirror._merge([mirror._table(ot.to_frame(recs), schema)], schema)
        cursor = max(r["LastModifiedDate"] for r in recs)
        with tempfile.TemporaryDirectory() as d, Sandbox(config=SandboxConfig.fast(), seed=False) as sb:
            sb.store.put_many(recs)
            ids = [r["Id"] for r in recs]
            del recs
            local, remote = str(Path(d) / "mirror"), "s3://bench/mirror"
            for root in (local, remote):
                mirror._commit(root, table, mirror._meta("Sandbox", cursor, datetime.now(UTC)), None)
            del table
            step = 100  # 1% of the records, spread over the whole mirror
            rounds = iter(range(repeat))

            def edit() -> None:
                k = next(rounds)
                for ident in ids[k % step :: step]:
                    sb.edit(
                        "Sandbox",
                        ident,
                        lambda r, k=k: r.setdefault("Project", {}).update(Title=f"Edited in round {k}"),
                    )

            def sync(root: str) -> ot.SyncResult:
                if root == remote:  # each round: edit, then the S3 sync and the local one see the same edits
                    edit()
                res = ot.sync_mirror(
                    root, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1e6
                )
                assert res.updated == n // step, res
                return res

            r = compare(lambda: sync(remote), lambda: sync(local), repeat)
            yield row(f"sync after 1% edited ({n // step:,} Gets), mirror on S3 vs on local disk", n, r, "report")
            r = compare(lambda: ot.read_mirror(remote), lambda: ot.read_mirror(local), repeat)
            yield row("open the mirror, on S3 vs on local disk", n, r, "report")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    run(case, [100_000])
