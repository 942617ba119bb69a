"""The push ledger: one Parquet part file per row attempt, written then renamed.

A crash at any instant leaves every finished row recorded (a part file either exists whole or
not at all). No customer data goes in: field *paths*, codes, timestamps and keyed hashes
(HMAC-SHA256 with a secret kept in the ledger folder, so a value cannot be recovered by
guessing it and hashing), never values. One push at a time writes to a ledger (a lock file).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .exceptions import OpptoolkitError

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
    """One row attempt. ``status``: in_flight, succeeded, unknown (sent, outcome not known:
    the next run reads it back), failed, conflict, invalid, no_token, not_editable, not_found,
    deferred. ``row`` is the spreadsheet's row number when the rows came from a sheet;
    ``writes`` the HTTP attempts of UpdateOpportunity (botocore's retries included)."""

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
    """A folder of Parquet part files (``part-<time>-<job>-<n>.parquet``), its secret
    (``.ledger-secret``, mode 0600, made once) and its lock file (``.lock``)."""

    SECRET = ".ledger-secret"

    def __init__(self, path: str | Path, job_id: str | None = None) -> None:
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise OpptoolkitError(
                f"the ledger {self.path} is a file, not a folder: give a folder (made if missing)"
            ) from None
        self.job_id = job_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self._n = 0
        self._secret = self._load_secret()

    def _load_secret(self) -> bytes:
        """The ledger's secret, made on first use: written whole under a temporary name, then
        linked into place (``os.link`` fails if another process was first; its secret wins)."""
        final = self.path / self.SECRET
        if not final.exists():
            tmp = self.path / f".{self.SECRET}.{uuid.uuid4().hex}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, secrets.token_bytes(32))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, final)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return final.read_bytes()

    def key(self, obj: Any) -> str:
        """HMAC-SHA256 of ``obj`` (as canonical JSON) under the ledger's secret: equal for equal
        changes within this ledger, and no guess of a value can be checked against it."""
        text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
        return hmac.new(self._secret, text, hashlib.sha256).hexdigest()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the ledger for one push: a second push on the same folder is refused (it would
        count the daily budget from entries still being written, and could send a row twice)."""
        import fcntl

        with open(self.path / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                who = fh.read().strip() or "?"
                raise OpptoolkitError(
                    f"another push is using the ledger {self.path} (process {who}): wait for it to finish, then rerun"
                ) from None
            fh.truncate(0)
            fh.write(str(os.getpid()))
            fh.flush()
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

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
        """UpdateOpportunity HTTP attempts recorded in the last ``since`` (the daily write
        budget): each outcome's ``writes``, plus 1 for each in-flight entry of a row that has no
        outcome in that job (a crash came while it was sent)."""
        df = self.read()
        if df.empty:
            return 0
        recent = df[df["started_at"] >= pd.Timestamp(datetime.now(UTC) - since)]
        ended = recent.loc[recent["status"] != "in_flight", ["job_id", "Id"]].drop_duplicates()
        flying = recent[recent["status"] == "in_flight"].merge(ended, on=["job_id", "Id"], how="left", indicator=True)
        return int(recent["writes"].sum()) + int((flying["_merge"] == "left_only").sum())

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
    if p.exists() and not p.is_dir():
        raise OpptoolkitError(f"the ledger {p} is a file, not a folder: give the ledger's folder")
    parts = sorted(p.glob("part-*.parquet")) if p.exists() else []
    if not parts:
        return LEDGER_SCHEMA.empty_table().to_pandas()
    try:
        table = ds.dataset([str(f) for f in parts], format="parquet", schema=LEDGER_SCHEMA).to_table()
    except (pa.ArrowException, OSError):
        bad = next((f for f in parts if not _readable(f)), parts[0])
        raise OpptoolkitError(
            f"the ledger part {bad.name} in {p} is unreadable (damaged, or not written by opptoolkit): "
            "move it out of the folder, then rerun"
        ) from None
    df = table.to_pandas().sort_values("started_at", kind="stable").reset_index(drop=True)
    df["changed_fields"] = [list(v) for v in df["changed_fields"]]
    return df


def _readable(part: Path) -> bool:
    try:
        pq.read_table(part, schema=LEDGER_SCHEMA)
    except (pa.ArrowException, OSError):
        return False
    return True
