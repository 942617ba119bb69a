"""A local Parquet mirror of full opportunity records, kept fresh incrementally.

The first sync is a full pull; later ones list only what changed since the mirror's cursor
(``LastModifiedDate.AfterLastModifiedDate``, with an overlap for clock skew), GetOpportunity just
those, flatten only them and replace their rows by ``Id``; a sync that finds nothing new writes
nothing. The mirror is one Parquet file written to a temporary name, fsynced and renamed, so a
crash at any point leaves the previous snapshot intact.

Each sync that changes something also keeps what it fetched in ``DIR/_history/``, one Parquet file
per sync named by its UTC time, in the same layout (the first sync's file holds every record, later
ones only what changed). ``read_mirror(DIR, as_of=...)`` rebuilds the mirror as it stood after an
earlier sync (each record's latest version up to then), which is what a report's "what moved since"
compares against; :func:`snapshots` lists the sync times. The current file is never read from the
history, so opening the mirror costs what it did.

``sync_mirror(DIR, ..., aws_summary=True)`` keeps AWS's view of each opportunity beside it, as the
output-only ``Aws.*`` columns of :func:`opptoolkit.read_aws_summaries`: one
GetAwsOpportunitySummary read for each record the sync fetched (new or changed), the last view read
kept for the others. That answer has no modified date, so a change AWS makes alone (its stage, its
team, next best actions) shows only through ``refresh_aws=True``, which reads every opportunity's
view again: one read each against the 100,000 per 24 h read quota.

``DIR/opportunities.parquet`` holds the flattened frame (:func:`opptoolkit.to_frame`), one row per
opportunity sorted by ``Id``, with one Arrow type per column taken from the service model (a
string is ``large_string``, a timestamp ``timestamp[us, UTC]``, a list of strings
``list<string>``), so a column that no record fills keeps its type. Plain Parquet types only,
no pandas metadata: DuckDB, Spark or Athena read it as it is. The catalog and the sync cursor
are in the file's key-value metadata. ``read_mirror(DIR)`` gives the frame back.

A mirror written by opptoolkit before this layout (columns ``Catalog``, ``Id``,
``LastModifiedDate`` and ``record``, the GetOpportunity response as the service's JSON) is read by
parsing every record, and rewritten in the columnar layout by the next :func:`sync_mirror`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from ._errors import code_and_message
from ._files import replacing
from ._gc import gc_paused
from .client import get_opportunities, iter_summaries, read_aws_summaries
from .connection import Pacer, get_client
from .exceptions import OpptoolkitError
from .frame import SNAPSHOT_ATTR, to_frame
from .quotas import READS_PER_SECOND
from .schema import AWS_PREFIX, ID, Catalog, Schema, get_schema, output_schema, split_column
from .wire import loads_record

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = ["SyncResult", "read_mirror", "snapshots", "sync_mirror"]

_log = logging.getLogger(__name__)
#: The mirror's file in its folder.
MIRROR_FILE = "opportunities.parquet"
#: The folder, beside the mirror's file, of what each sync fetched.
HISTORY_DIR = "_history"  # a leading underscore: Spark and Hive skip it when they read DIR
_STAMP = "%Y%m%dT%H%M%S.%fZ"  # a history file's name: the sync's UTC time, sorting as it reads
_CURSOR = b"opptoolkit.cursor"
_CATALOG = b"opptoolkit.catalog"
_LAYOUT = b"opptoolkit.layout"
_FRAME = b"frame"  # the flattened frame; files without the key are the old layout
_OLD_RECORD = "record"  # the old layout's column of GetOpportunity responses as JSON
_MODIFIED = "LastModifiedDate"
AWS_SUMMARY = "GetAwsOpportunitySummary"  # the answer behind the ``Aws.*`` columns
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # the frame's string dtype (pandas' default ``str``)
# Arrow type of each botocore scalar type (the model's ``type`` of a leaf): strings are large, as
# the frame's are (read back without a copy); timestamps are UTC to the microsecond, as boto3
# parses them.
_ARROW = {
    "string": pa.large_string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "long": pa.int64(),
    "boolean": pa.bool_(),
    "float": pa.float64(),
    "double": pa.float64(),
    "blob": pa.large_binary(),
}


@dataclass
class SyncResult:
    """What a :func:`sync_mirror` run did."""

    path: Path
    catalog: Catalog
    full: bool
    listed: int = 0
    fetched: int = 0
    added: int = 0
    updated: int = 0
    total: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    #: The AWS views (``aws_summary=True``) that could not be read: those rows keep the view they had.
    aws_failures: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    cursor: datetime | None = None
    seconds: float = 0.0

    def __repr__(self) -> str:
        kind = "full pull" if self.full else "incremental"
        fail = f", {len(self.failures)} failed" if self.failures else ""
        fail += f", {len(self.aws_failures)} AWS views failed" if self.aws_failures else ""
        return (
            f"<SyncResult {kind} of {self.catalog}: listed {self.listed}, fetched {self.fetched} "
            f"({self.added} new, {self.updated} updated{fail}); mirror holds {self.total}; "
            f"{sum(self.calls.values())} calls in {self.seconds:.1f}s>"
        )


def _file(path: str | Path) -> Path:
    p = Path(path)
    return p / MIRROR_FILE if p.suffix != ".parquet" else p


def _read_table(file: Path, **kwargs: Any) -> pa.Table:
    """``pq.read_table`` of a mirror's file; a damaged one is an error that says what to do."""
    try:
        return pq.read_table(file, **kwargs)
    except (pa.ArrowException, OSError) as e:
        raise _damaged(file, e) from None


def _read_schema(file: Path) -> pa.Schema:
    try:
        return pq.read_schema(file)
    except (pa.ArrowException, OSError) as e:
        raise _damaged(file, e) from None


def _damaged(file: Path, e: Exception) -> OpptoolkitError:
    return OpptoolkitError(
        f"{file} cannot be read as Parquet ({type(e).__name__}): the mirror is damaged; restore it from a "
        "backup, or sync into a new folder (a full pull) and remove this one"
    )


# -- the columnar layout --------------------------------------------------------------------------


def _known(column: str, schema: Schema) -> bool:
    try:
        schema.field_for(column)
    except KeyError:
        return False
    return True


def _arrow_type(column: str, schema: Schema) -> pa.DataType | None:
    """Return the column's Arrow type from the service model; None for a column the model does not know."""
    if not _known(column, schema):
        return None
    f = schema.field_for(column)
    t = _ARROW.get(f.type)
    return None if t is None else pa.list_(t) if f.is_list else t


def _table(df: pd.DataFrame, schema: Schema) -> pa.Table:
    """Return a flattened frame as an Arrow table with the model's type for each column.

    Strings are shared with the frame, not copied.
    """
    arrays = []
    for column in df.columns:
        s, t = df[column], _arrow_type(str(column), schema)
        try:
            arrays.append(pa.array(s.to_numpy() if s.dtype == object else s.array, type=t, from_pandas=True))
        except (pa.ArrowException, ValueError, TypeError):  # the message would show a value: not logged
            raise OpptoolkitError(f"column {column} holds values that are not {t}: it cannot be mirrored") from None
    return pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns])


def _frame(table: pa.Table) -> pd.DataFrame:
    """Return the table as the frame :func:`opptoolkit.to_frame` gives.

    Strings in pandas' ``str`` dtype (wrapping Arrow's buffers), timestamps as ``datetime64[us, UTC]``, lists
    as Python lists.
    """
    n = table.num_rows
    with gc_paused():  # the lists built here form no cycle
        out = {name: _column(col, n) for name, col in zip(table.column_names, table.columns, strict=True)}
    return pd.DataFrame(out, index=pd.RangeIndex(n), columns=table.column_names)


def _column(col: pa.ChunkedArray, n: int) -> Any:
    """One column of the stored table as a column of the frame."""
    if pa.types.is_string(col.type):  # another writer's; the mirror's own strings are large already
        col = col.cast(pa.large_string())
    if pa.types.is_large_string(col.type):
        return pd.arrays.ArrowStringArray(col, dtype=_STR)  # type: ignore[call-arg]  # stubs lack dtype=
    if pa.types.is_timestamp(col.type) and col.type.tz is not None:
        return col.to_pandas().dt.tz_convert("UTC").array
    # lists of values (a Python list per cell, as to_frame has them), or another writer's type
    return np.fromiter(col.to_pylist(), dtype=object, count=n)


def _old_records(table: pa.Table) -> list[dict[str, Any]]:
    """Return the GetOpportunity responses of a mirror in the old layout (one JSON text per record)."""
    return [loads_record(text) for text in table.column(_OLD_RECORD).to_pylist()]


def _is_old(file: Path, meta: dict[bytes, bytes], names: list[str]) -> bool:
    if meta.get(_LAYOUT) == _FRAME:
        return False
    if _OLD_RECORD in names:
        return True
    raise OpptoolkitError(f"{file} is not an opptoolkit mirror: sync_mirror writes one, or remove the file")


def _merge(parts: list[pa.Table], schema: Schema) -> pa.Table:
    """Rows of several tables in one, sorted by Id: a column one part lacks is null there.

    Indexed columns go as far as the longest list now needs (at least one set), in the model's order.
    """
    if not parts:
        return _table(to_frame([]), schema)
    table = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    sizes: dict[str, int] = {}
    extra: list[str] = []
    aws = False
    for name, col in zip(table.column_names, table.columns, strict=True):
        if not _known(name, schema):
            extra.append(name)  # a column of a newer model: kept at the end, as to_frame does
            continue
        aws = aws or name.startswith(AWS_PREFIX)
        base, idx, _ = split_column(name)
        if idx is not None and col.null_count < len(col):
            sizes[base] = max(sizes.get(base, 0), idx + 1)
    names = schema.columns(sizes) + (_aws_columns(sizes) if aws else []) + extra
    n = table.num_rows
    table = pa.Table.from_arrays(
        [table.column(c) if c in table.column_names else pa.nulls(n, _arrow_type(c, schema)) for c in names],
        names=names,
    )
    return table.take(pc.sort_indices(table.column(ID)))


def _aws_columns(sizes: dict[str, int]) -> list[str]:
    """Return the ``Aws.*`` columns in their answer's order, as :func:`opptoolkit.client.join_aws_summaries` has them."""
    own = {k[len(AWS_PREFIX) :]: n for k, n in sizes.items() if k.startswith(AWS_PREFIX)}
    # read_aws_summaries makes RelatedOpportunityId the row's Id; join_aws_summaries drops the catalog
    return [
        AWS_PREFIX + c for c in output_schema(AWS_SUMMARY).columns(own) if c not in ("Catalog", "RelatedOpportunityId")
    ]


def _with_aws(records: pa.Table, views: pa.Table) -> pa.Table:
    """Return ``records`` with the AWS view of each row (by Id; a row ``views`` lacks gets null cells)."""
    at = pc.index_in(records[ID], value_set=views[ID])
    views = views.take(at).drop_columns([ID])
    return pa.Table.from_arrays([*records.columns, *views.columns], names=records.column_names + views.column_names)


def _aws_merge(merged: pa.Table, stored: pa.Table | None, views: pa.Table | None, schema: Schema) -> pa.Table:
    """Return the merged records with AWS's view of each: ``views`` where this sync read one, else the stored one."""
    records = merged.select([c for c in merged.column_names if not c.startswith(AWS_PREFIX)])
    parts = []
    if stored is not None:
        old = stored.select([ID, *(c for c in stored.column_names if c.startswith(AWS_PREFIX))])
        if views is not None:
            old = old.filter(pc.invert(pc.is_in(old[ID], value_set=views[ID])))
        parts.append(old)
    if views is not None:
        parts.append(views)
    both = pa.concat_tables(parts, promote_options="permissive") if len(parts) > 1 else parts[0]
    return _merge([_with_aws(records, both)], schema)


def _write(path: Path, rows: pa.Table | list[dict[str, Any]], catalog: str, cursor: datetime | None) -> None:
    """Write the mirror: a table from :func:`_merge`, or GetOpportunity records."""
    if isinstance(rows, list):
        rows = _table(to_frame(sorted(rows, key=lambda r: r[ID])), get_schema())
    meta = {_LAYOUT: _FRAME, _CATALOG: catalog.encode()}
    if cursor is not None:
        meta[_CURSOR] = cursor.isoformat().encode()
    table = rows.replace_schema_metadata(meta)
    with replacing(path) as tmp:  # atomic: readers see the old snapshot or the new one, never half
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())


def _history(file: Path) -> list[tuple[datetime, Path]]:
    """Return the history files beside the mirror's ``file``, oldest first, with their sync times."""
    folder = file.parent / HISTORY_DIR
    if not folder.is_dir():
        return []
    out = []
    for part in folder.glob("*.parquet"):
        try:
            out.append((datetime.strptime(part.stem, _STAMP).replace(tzinfo=UTC), part))
        except ValueError:
            continue  # not one of ours
    return sorted(out)


def _keep_history(file: Path, table: pa.Table, when: datetime) -> None:
    """Write what one sync fetched (or, for a mirror with no history yet, all it holds) as ``when``'s file."""
    name = file.parent / HISTORY_DIR / f"{when.astimezone(UTC).strftime(_STAMP)}.parquet"
    with replacing(name) as tmp:
        pq.write_table(table.replace_schema_metadata({_LAYOUT: _FRAME}), tmp)


def snapshots(path: str | Path) -> list[datetime]:
    """Return the UTC times of the syncs the mirror in ``path`` keeps, oldest first.

    Parameters
    ----------
    path : str or Path
        The folder given to :func:`sync_mirror` (or its ``opportunities.parquet``).

    Returns
    -------
    list of datetime
        One per sync that changed something; ``read_mirror(path, as_of=t)`` gives the mirror as it was then.

    Examples
    --------
    >>> import tempfile
    >>> snapshots(tempfile.mkdtemp())
    []
    """
    return [when for when, _ in _history(_file(path))]


def _as_of_time(as_of: datetime | date | str) -> datetime:
    """Return the instant ``as_of`` names: a date (or ``YYYY-MM-DD``) means the end of that UTC day."""
    if isinstance(as_of, str):
        as_of = datetime.fromisoformat(as_of) if "T" in as_of or " " in as_of.strip() else date.fromisoformat(as_of)
    if not isinstance(as_of, datetime):
        return datetime.combine(as_of, datetime.max.time(), tzinfo=UTC)
    return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)


def _read_as_of(file: Path, as_of: datetime | date | str) -> tuple[pa.Table, datetime]:
    """Return the mirror as it stood after the last sync at or before ``as_of``, and that sync's time."""
    when = _as_of_time(as_of)
    parts = [(t, p) for t, p in _history(file) if t <= when]
    if not parts:
        kept = snapshots(file)
        first = (
            f"its first is {kept[0]:%Y-%m-%d %H:%M} UTC" if kept else "it keeps none yet (the next sync starts them)"
        )
        raise OpptoolkitError(f"{file.parent} has no sync at or before {when:%Y-%m-%d %H:%M} UTC: {first}")
    seen: set[str] = set()
    tables = []
    for _, part in reversed(parts):  # newest first: a record's latest version up to then wins
        table = _read_table(part)
        ids = table.column(ID)
        if seen:
            table = table.filter(pc.invert(pc.is_in(ids, value_set=pa.array(sorted(seen), ids.type))))
        seen.update(table.column(ID).to_pylist())
        tables.append(table)
    return _merge(tables, get_schema()), parts[-1][0]


def read_mirror(
    path: str | Path, *, drop_empty: bool = False, as_of: datetime | date | str | None = None
) -> pd.DataFrame:
    """Return the mirror in ``path`` (a folder, or its ``opportunities.parquet``) as a flattened frame.

    Parameters
    ----------
    path : str or Path
        The folder given to :func:`sync_mirror`. No mirror there gives an empty frame with
        every column of the model.
    drop_empty : bool, default False
        Drop the columns that are empty in every row, as :func:`opptoolkit.to_frame` does.
    as_of : datetime or date or str, optional
        The mirror as it stood after the last sync at or before this time (a date, or
        ``"YYYY-MM-DD"``, means the end of that UTC day), from the history the syncs keep;
        :func:`snapshots` lists them. Default: the mirror now.

    Returns
    -------
    pandas.DataFrame
        The frame :func:`opptoolkit.to_frame` gives for the mirrored records, sorted by ``Id``. Its
        ``attrs["opptoolkit.snapshot"]`` is the time of the sync it shows (ISO 8601 text in UTC, so the
        frame's ``to_parquet`` keeps it; :func:`opptoolkit.snapshot_time` reads it), when the mirror keeps one.


    Examples
    --------
    >>> import tempfile
    >>> df = read_mirror(tempfile.mkdtemp())  # no mirror yet: no rows, every column
    >>> len(df), df.columns[0], "Customer.Account.CompanyName" in df.columns
    (0, 'Id', True)
    """
    file = _file(path)
    when: datetime | None = None
    if as_of is not None:
        table, when = _read_as_of(file, as_of)
    elif not file.exists():
        return to_frame([], drop_empty=drop_empty)
    else:
        table = _read_table(file)
        kept = _history(file)
        when = kept[-1][0] if kept else None
    if as_of is None and _is_old(file, dict(table.schema.metadata or {}), table.column_names):
        _log.warning(
            "%s is in the old mirror layout (one JSON text per record) and parsing it is slow; "
            "the next sync_mirror rewrites it in the columnar layout",
            file,
        )
        return to_frame(_old_records(table), drop_empty=drop_empty)
    if drop_empty:
        table = table.select([i for i, col in enumerate(table.columns) if col.null_count < len(col)])
    df = _frame(table)
    if when is not None:
        df.attrs[SNAPSHOT_ATTR] = when.isoformat()
    return df


def sync_mirror(
    path: str | Path,
    catalog: Catalog,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    overlap: timedelta = timedelta(minutes=5),
    reads_per_second: float = READS_PER_SECOND,
    max_workers: int = 4,
    progress: bool | None = True,
    full: bool = False,
    aws_summary: bool = False,
    refresh_aws: bool = False,
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
    aws_summary : bool
        Keep AWS's view of each opportunity in ``Aws.*`` columns (output-only; see
        :func:`opptoolkit.read_aws_summaries`): GetAwsOpportunitySummary for each record
        this sync fetched (new or changed; all of them when the mirror has no AWS view yet), paced
        with the other reads. The others keep the view last read; so does a sync without this option.
    refresh_aws : bool
        Read AWS's view of every mirrored opportunity again (implies ``aws_summary``). The answer has
        no modified date, so this is the only way to see a change AWS made alone; it costs one read
        per opportunity against the read quota (100,000 per 24 h).

    Returns
    -------
    SyncResult
        Counts, failures and the calls made. Records that could not be fetched keep their old
        version and hold the cursor back, so the next sync tries them again. AWS views that could not
        be read (``aws_failures``) keep the one the mirror had.

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
    schema = get_schema()
    client = get_client(client, boto3_session=boto3_session, endpoint_url=endpoint_url)
    stored: pa.Table | None = None  # the whole stored table, once read
    migrate = False
    meta: dict[bytes, bytes] = {}
    keys = _table(to_frame([]), schema).select([ID, _MODIFIED])
    had_aws = False
    if file.exists():
        stored_schema = _read_schema(file)
        had_aws = any(n.startswith(AWS_PREFIX) for n in stored_schema.names)
        meta = dict(stored_schema.metadata or {})
        if _is_old(file, meta, stored_schema.names):
            _log.info("%s is in the old mirror layout (JSON records): parsed once, rewritten as columns", file)
            stored = _table(to_frame(_old_records(_read_table(file))), schema)
            migrate = True
            keys = stored.select([ID, _MODIFIED])
        else:  # the rows' keys are enough unless something changed
            keys = _read_table(file, columns=[ID, _MODIFIED])
    if keys.num_rows and meta.get(_CATALOG, catalog.encode()).decode() != catalog:
        raise OpptoolkitError(f"{file} mirrors catalog {meta[_CATALOG].decode()}, not {catalog}")
    cursor = datetime.fromisoformat(meta[_CURSOR].decode()) if _CURSOR in meta and not full else None
    is_full = cursor is None
    result = SyncResult(file, catalog, is_full)
    pacer = Pacer(reads_per_second=reads_per_second)
    try:
        with pacer.attached(client):
            known = {} if is_full else dict(zip(keys[ID].to_pylist(), keys[_MODIFIED].to_pylist(), strict=True))
            summaries: list[dict[str, Any]] = []

            def todo() -> Iterator[str]:
                """Yield the Ids new or newer than the mirror's copy (the overlap re-lists some).

                Gets start while the listing goes on.
                """
                after = None if cursor is None else cursor - overlap
                for s in iter_summaries(catalog, client=client, modified_after=after):
                    summaries.append(s)
                    if s["Id"] not in known or s["LastModifiedDate"] != known[s["Id"]]:
                        yield s["Id"]

            fetched, failures = get_opportunities(
                catalog, todo(), client=client, max_workers=max_workers, progress=progress, desc="sync"
            )
    except ClientError as e:
        code, message = code_and_message(e)
        raise OpptoolkitError(f"sync of {catalog} failed, mirror unchanged: {code}: {message}") from None
    failed = {f["Id"] for f in failures}
    fetched = list({r[ID]: r for r in fetched}.values())  # a record listed twice is stored once

    def keep(ids: pa.ChunkedArray) -> pa.ChunkedArray:
        """Which stored rows stay: after a full pull the old copies of what could not be fetched.

        After an incremental sync all but the fetched.
        """
        if is_full:
            return pc.is_in(ids, value_set=pa.array(sorted(failed), ids.type))
        return pc.invert(pc.is_in(ids, value_set=pa.array([r[ID] for r in fetched], ids.type)))

    kept = keys.filter(keep(keys[ID]))
    prior = set(kept[ID].to_pylist()) if is_full else known.keys()
    result.added = sum(r[ID] not in prior for r in fetched)
    result.updated = len(fetched) - result.added
    stamps = [s for s in (pc.max(kept[_MODIFIED]).as_py(), *(r[_MODIFIED] for r in fetched)) if s is not None]
    new_cursor = max(stamps, default=cursor)
    failed_stamps = [s["LastModifiedDate"] for s in summaries if s["Id"] in failed]
    if failed_stamps and new_cursor is not None:  # hold the cursor back: the next sync lists them again
        new_cursor = min(new_cursor, min(failed_stamps) - timedelta(microseconds=1))
    views = None  # AWS's view of the rows read this sync (aws_summary), an Arrow table by Id
    aws_calls: dict[str, int] = {}
    if aws_summary or refresh_aws:
        every = refresh_aws or not had_aws
        aws_ids = sorted({*kept[ID].to_pylist(), *(r[ID] for r in fetched)}) if every else [r[ID] for r in fetched]
        if aws_ids:
            aws = read_aws_summaries(
                catalog,
                aws_ids,
                client=client,
                progress=progress,
                reads_per_second=reads_per_second,
                max_workers=max_workers,
            )
            views, result.aws_failures, aws_calls = _table(aws, schema), aws.attrs["failures"], aws.attrs["calls"]
    if is_full or migrate or fetched or new_cursor != cursor or not file.exists() or views is not None:
        if stored is None and file.exists():
            stored = _read_table(file)
        parts = [] if stored is None else [stored.filter(keep(stored[ID]))]
        if fetched:
            parts.append(_table(to_frame(fetched), schema))
        merged = _merge(parts, schema)
        history = merged if is_full else parts[-1] if fetched else None
        if views is not None or (had_aws and fetched):
            merged = _aws_merge(merged, stored if had_aws else None, views, schema)
            changed = {r[ID] for r in fetched} | set(views[ID].to_pylist() if views is not None else ())
            ids = merged[ID]
            history = merged.filter(pc.is_in(ids, value_set=pa.array(sorted(changed), ids.type)))
        now = datetime.now(UTC)
        if not _history(file) and stored is not None and stored.num_rows:  # a mirror from before the history
            _keep_history(file, stored, datetime.fromtimestamp(file.stat().st_mtime, UTC))
        _write(file, merged, catalog, new_cursor)
        if history is not None:
            _keep_history(file, history, now)
    else:
        _log.debug("%s: nothing new, not rewritten", file)
    result.listed, result.fetched, result.failures = len(summaries), len(fetched), failures
    result.total, result.cursor, result.calls = kept.num_rows + len(fetched), new_cursor, dict(pacer.calls)
    for name, n in aws_calls.items():
        result.calls[name] = result.calls.get(name, 0) + n
    result.seconds = time.monotonic() - start
    _log.info("%r", result)
    return result
