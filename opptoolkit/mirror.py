"""A local Parquet mirror of full opportunity records, kept fresh incrementally.

The first sync is a full pull; later ones list only what changed since the mirror's cursor
(``LastModifiedDate.AfterLastModifiedDate``, with an overlap for clock skew) and GetOpportunity
just those. The mirror is one Parquet file written to a temporary name and renamed, so a crash
at any point leaves the previous snapshot intact.

Layout of ``DIR/opportunities.parquet``: ``Catalog``, ``Id``, ``LastModifiedDate`` and
``record`` (the GetOpportunity response as the service's JSON), plus the sync cursor in the
file's metadata. ``read_mirror(DIR)`` gives the flattened frame.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from ._errors import code_and_message
from .api import Pacer, get_client, get_opportunities, iter_summaries
from .exceptions import OpptoolkitError
from .frame import to_frame
from .quotas import READS_PER_SECOND
from .wire import dumps_record, loads_record

__all__ = ["SyncResult", "read_mirror", "read_mirror_records", "sync_mirror"]

_log = logging.getLogger(__name__)
#: The mirror's file in its folder.
MIRROR_FILE = "opportunities.parquet"
_CURSOR = b"opptoolkit.cursor"
_CATALOG = b"opptoolkit.catalog"


@dataclass
class SyncResult:
    """What a :func:`sync_mirror` run did."""

    path: Path
    catalog: str
    full: bool
    listed: int = 0
    fetched: int = 0
    added: int = 0
    updated: int = 0
    total: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    cursor: datetime | None = None
    seconds: float = 0.0

    def __repr__(self) -> str:
        kind = "full pull" if self.full else "incremental"
        fail = f", {len(self.failures)} failed" if self.failures else ""
        return (
            f"<SyncResult {kind} of {self.catalog}: listed {self.listed}, fetched {self.fetched} "
            f"({self.added} new, {self.updated} updated{fail}); mirror holds {self.total}; "
            f"{sum(self.calls.values())} calls in {self.seconds:.1f}s>"
        )


def _file(path: str | Path) -> Path:
    p = Path(path)
    return p / MIRROR_FILE if p.suffix != ".parquet" else p


def read_mirror_records(path: str | Path) -> tuple[list[dict[str, Any]], dict[bytes, bytes]]:
    """The mirror's records (GetOpportunity responses) and its metadata."""
    f = _file(path)
    if not f.exists():
        return [], {}
    table = pq.read_table(f)
    records = [loads_record(text) for text in table.column("record").to_pylist()]
    return records, dict(table.schema.metadata or {})


def read_mirror(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """The mirror as a flattened frame (``kwargs`` go to :func:`opptoolkit.to_frame`)."""
    records, _ = read_mirror_records(path)
    return to_frame(records, **kwargs)


def _write(path: Path, records: list[dict[str, Any]], catalog: str, cursor: datetime | None) -> None:
    records = sorted(records, key=lambda r: r["Id"])
    table = pa.table(
        {
            "Catalog": pa.array([r["Catalog"] for r in records], pa.string()),
            "Id": pa.array([r["Id"] for r in records], pa.string()),
            "LastModifiedDate": pa.array([r["LastModifiedDate"] for r in records], pa.timestamp("us", tz="UTC")),
            "record": pa.array([dumps_record(r) for r in records], pa.string()),
        }
    )
    meta = {_CATALOG: catalog.encode()}
    if cursor is not None:
        meta[_CURSOR] = cursor.isoformat().encode()
    table = table.replace_schema_metadata(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # atomic: readers see the old snapshot or the new one, never half


def sync_mirror(
    path: str | Path,
    catalog: str,
    *,
    client: Any = None,
    endpoint_url: str | None = None,
    overlap: timedelta = timedelta(minutes=5),
    reads_per_second: float = READS_PER_SECOND,
    max_workers: int = 4,
    progress: bool | None = True,
    full: bool = False,
) -> SyncResult:
    """Bring the Parquet mirror in ``path`` (a folder) up to date with ``catalog``.

    Parameters
    ----------
    path : str or Path
        Folder of the mirror (created if missing).
    catalog : {"AWS", "Sandbox"}
        Always explicit.
    overlap : timedelta
        Re-list records modified this long before the cursor (clock skew, equal timestamps).
    full : bool
        Force a full pull.

    Returns
    -------
    SyncResult
        Counts, failures and the calls made. Records that could not be fetched keep their old
        version and hold the cursor back, so the next sync tries them again.

    Examples
    --------
    >>> import tempfile
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> d = tempfile.mkdtemp()
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     first = sync_mirror(d, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
    ...     again = sync_mirror(d, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
    >>> first.full, first.total, again.full, again.fetched
    (True, 300, False, 0)
    """
    start = time.monotonic()
    file = _file(path)
    client = get_client(client, endpoint_url=endpoint_url)
    old, meta = read_mirror_records(file)
    if old and meta.get(_CATALOG, catalog.encode()).decode() != catalog:
        raise OpptoolkitError(f"{file} mirrors catalog {meta[_CATALOG].decode()}, not {catalog}")
    cursor = datetime.fromisoformat(meta[_CURSOR].decode()) if _CURSOR in meta and not full else None
    is_full = cursor is None
    result = SyncResult(file, catalog, is_full)
    pacer = Pacer(reads_per_second=reads_per_second)
    try:
        with pacer.attached(client):
            known = {r["Id"]: r for r in ([] if is_full else old)}
            summaries: list[dict[str, Any]] = []

            def todo() -> Iterator[str]:
                """New or newer than the mirror's copy (the overlap re-lists some); Gets start
                while the listing goes on."""
                after = None if cursor is None else cursor - overlap
                for s in iter_summaries(catalog, client=client, modified_after=after):
                    summaries.append(s)
                    if s["Id"] not in known or s["LastModifiedDate"] != known[s["Id"]]["LastModifiedDate"]:
                        yield s["Id"]

            fetched, failures = get_opportunities(
                catalog, todo(), client=client, max_workers=max_workers, progress=progress, desc="sync"
            )
    except ClientError as e:
        code, message = code_and_message(e)
        raise OpptoolkitError(f"sync of {catalog} failed, mirror unchanged: {code}: {message}") from None
    failed = {f["Id"] for f in failures}
    merged = dict(known) if not is_full else {r["Id"]: r for r in old if r["Id"] in failed}  # keep old copies
    for rec in fetched:
        result.added += rec["Id"] not in merged
        result.updated += rec["Id"] in merged
        merged[rec["Id"]] = rec
    records = list(merged.values())
    new_cursor = max((r["LastModifiedDate"] for r in records), default=cursor)
    failed_stamps = [s["LastModifiedDate"] for s in summaries if s["Id"] in failed]
    if failed_stamps and new_cursor is not None:  # hold the cursor back: the next sync lists them again
        new_cursor = min(new_cursor, min(failed_stamps) - timedelta(microseconds=1))
    _write(file, records, catalog, new_cursor)
    result.listed, result.fetched, result.failures = len(summaries), len(fetched), failures
    result.total, result.cursor, result.calls = len(records), new_cursor, dict(pacer.calls)
    result.seconds = time.monotonic() - start
    _log.info("%r", result)
    return result
