"""The push ledger: one Parquet part file per row attempt, written then renamed.

A crash at any instant leaves every finished row recorded (a part file either exists whole or
not at all). No customer data goes in: field *paths*, codes, timestamps and a hash of the
payload sent, never values.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

__all__ = ["LEDGER_SCHEMA", "Ledger", "LedgerEntry", "read_ledger"]

LEDGER_SCHEMA = pa.schema(
    [
        ("job_id", pa.string()),
        ("row", pa.string()),
        ("Id", pa.string()),
        ("status", pa.string()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("changed_fields", pa.list_(pa.string())),
        ("lmd_before", pa.timestamp("us", tz="UTC")),
        ("lmd_after", pa.timestamp("us", tz="UTC")),
        ("attempt", pa.int32()),
        ("writes", pa.int32()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("payload_sha256", pa.string()),
        ("change_key", pa.string()),
    ]
)


@dataclass
class LedgerEntry:
    """One row attempt. ``status``: in_flight, succeeded, failed, conflict, invalid,
    not_editable, not_found, unchanged, deferred."""

    job_id: str
    row: str
    Id: str
    status: str
    error_code: str | None = None
    error_message: str | None = None
    changed_fields: list[str] = field(default_factory=list)
    lmd_before: datetime | None = None
    lmd_after: datetime | None = None
    attempt: int = 1
    writes: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    payload_sha256: str | None = None
    change_key: str | None = None


class Ledger:
    """A folder of Parquet part files (``part-<time>-<job>-<n>.parquet``)."""

    def __init__(self, path: str | Path, job_id: str | None = None) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.job_id = job_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self._n = 0

    def write(self, entry: LedgerEntry) -> None:
        """Append one entry durably: a part file written to a temporary name, then renamed."""
        if entry.finished_at is None and entry.status != "in_flight":
            entry.finished_at = datetime.now(UTC)
        self._n += 1
        table = pa.Table.from_pylist([asdict(entry)], schema=LEDGER_SCHEMA)
        name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{self.job_id}-{self._n:06d}.parquet"
        tmp = self.path / f".{name}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / name)

    def read(self) -> pd.DataFrame:
        return read_ledger(self.path)

    def writes_since(self, since: timedelta = timedelta(hours=24)) -> int:
        """UpdateOpportunity calls recorded in the last ``since`` (the daily write budget)."""
        df = self.read()
        if df.empty:
            return 0
        recent = df[df["started_at"] >= pd.Timestamp(datetime.now(UTC) - since)]
        return int(recent["writes"].sum())

    def latest(self) -> dict[str, dict[str, Any]]:
        """The newest entry per opportunity Id."""
        df = self.read()
        if df.empty:
            return {}
        df = df.sort_values(["started_at", "finished_at"], na_position="first", kind="stable")
        return {str(r["Id"]): {str(k): v for k, v in r.items()} for r in df.to_dict("records")}


def read_ledger(path: str | Path) -> pd.DataFrame:
    """Every entry of a push ledger, oldest first.

    Examples
    --------
    >>> import tempfile
    >>> read_ledger(tempfile.mkdtemp()).columns[:4].tolist()
    ['job_id', 'row', 'Id', 'status']
    """
    p = Path(path)
    parts = sorted(p.glob("part-*.parquet")) if p.exists() else []
    if not parts:
        return LEDGER_SCHEMA.empty_table().to_pandas()
    table = ds.dataset(p, format="parquet", schema=LEDGER_SCHEMA).to_table()  # skips ".tmp" files
    df = table.to_pandas().sort_values("started_at", kind="stable").reset_index(drop=True)
    df["changed_fields"] = [list(v) for v in df["changed_fields"]]
    return df
