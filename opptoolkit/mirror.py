"""A mirror of full opportunity records as a Delta Lake table, kept fresh incrementally, local or on S3.

The first sync is a full pull; later ones list only what changed since the mirror's cursor
(``LastModifiedDate.AfterLastModifiedDate``, with an overlap for clock skew), GetOpportunity just
those, flatten only them and replace their rows by ``Id``; a sync that finds nothing new writes
nothing. ``sync_mirror(DIR, ..., identifiers=[...])`` syncs exactly the records named (what an
EventBridge event names, :mod:`opptoolkit.events`), and ``reconcile=True`` lists every summary (no
record read unless it changed) so that a record no longer listed leaves the mirror.

``DIR`` (a folder, or ``s3://bucket/prefix`` through the boto3 session, :mod:`opptoolkit.storage`) is a
Delta Lake table (``DIR/_delta_log/`` and Parquet files): Spark, Athena, Trino, DuckDB
(``delta_scan``) and Polars read it as it is, at its latest version or an earlier one. Each sync
that changes something commits one version that holds the whole mirror, sorted by ``Id``, with the
catalog, the sync cursor and the sync's time in the commit's metadata. A commit is atomic (a
conditional write of the next log entry, on S3 too): readers see the previous version or the new
one, never half, and of two syncs that race, one commits and the other fails without harm.

Each version is one Parquet file written whole rather than a ``MERGE`` of the changed rows: ``deltalake``
writes no deletion vectors, so a merge rewrites every file holding a matched row (the whole mirror once
any of its rows changes) and costs a join on top. The rows a sync replaces are still those whose ``Id`` it
fetched (an upsert by ``Id``); only the file layout differs.

``read_mirror(DIR, as_of=...)`` reads the version of the last sync at or before a time, which is
what a report's "what moved since" compares against; :func:`snapshots` lists the sync times.
:func:`vacuum_mirror` deletes the files of versions older than a retention (default 30 days):
those versions can no longer be read.

``sync_mirror(DIR, ..., aws_summary=True)`` keeps AWS's view of each opportunity beside it, as the
output-only ``Aws.*`` columns of :func:`opptoolkit.read_aws_summaries`: one
GetAwsOpportunitySummary read for each record the sync fetched (new or changed), the last view read
kept for the others. That answer has no modified date, so a change AWS makes alone (its stage, its
team, next best actions) shows only through ``refresh_aws=True``, which reads every opportunity's
view again: one read each against the 100,000 per 24 h read quota.

The table holds the flattened frame (:func:`opptoolkit.to_frame`), one row per opportunity, with
one Arrow type per column taken from the service model (a string is ``large_string``, a timestamp
``timestamp[us, UTC]``, a list of strings ``list<string>``), so a column that no record fills keeps
its type. ``read_mirror(DIR)`` gives the frame back.

A mirror written by opptoolkit before the table (``DIR/opportunities.parquet``, with the syncs it kept
in ``DIR/_history/``; or, older still, one JSON text per record) is read as it is, and the next
:func:`sync_mirror` migrates it: one table version per kept sync, with that sync's time, then the
old files are removed.
"""

from __future__ import annotations

import logging
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
from ._gc import gc_paused
from ._status import how_many
from ._values import is_blank
from .client import get_opportunities, iter_summaries, read_aws_summaries
from .connection import Connection, as_connection, calls_since, takes_connection
from .engagements import RESOURCES, read_engagements, shared_resources
from .exceptions import OpptoolkitError
from .frame import SNAPSHOT_ATTR, to_frame
from .schema import AWS_PREFIX, ID, Catalog, Schema, get_schema, output_schema, split_column
from .storage import arrow_filesystem, delta_options, is_s3
from .wire import loads_record

if TYPE_CHECKING:
    import boto3
    from deltalake import DeltaTable
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = ["SyncResult", "read_mirror", "snapshots", "sync_engagements", "sync_mirror", "vacuum_mirror"]

_log = logging.getLogger(__name__)
#: The mirror's file in its folder before the Delta table (the next sync migrates it).
MIRROR_FILE = "opportunities.parquet"
#: The folder, beside that file, of what each sync fetched (migrated with it).
HISTORY_DIR = "_history"
_STAMP = "%Y%m%dT%H%M%S.%fZ"  # a history file's name: the sync's UTC time, sorting as it reads
_LOG = "_delta_log"  # the Delta table's log, in the mirror's folder
# A sync's commit metadata (Delta's commitInfo): the catalog, the cursor, the sync's time, how many left.
_CATALOG = "opptoolkit.catalog"
_CURSOR = "opptoolkit.cursor"
_SYNCED = "opptoolkit.synced_at"
_REMOVED = "opptoolkit.removed"
# The same, as the old mirror file kept them in its key-value metadata.
_CURSOR_KEY = b"opptoolkit.cursor"
_CATALOG_KEY = b"opptoolkit.catalog"
_LAYOUT = b"opptoolkit.layout"
_FRAME = b"frame"  # the flattened frame; files without the key are the oldest layout
#: What GetOpportunity answers for a record that is gone or no longer the caller's (the model's errors).
_GONE = ("ResourceNotFoundException", "AccessDeniedException")
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

    path: str
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
    #: The records that left the mirror this sync (gone, or no longer the caller's); earlier versions keep them.
    removed: list[str] = field(default_factory=list)
    #: The table version the mirror is at after the sync (None: no mirror).
    version: int | None = None
    #: The events read (:func:`opptoolkit.events.sync_events`).
    events: int = 0
    #: What the mirror holds: opportunities (:func:`sync_mirror`) or engagements (:func:`sync_engagements`).
    kind: str = "opportunity"

    def __repr__(self) -> str:
        kind = "full pull" if self.full else f"{self.events} events" if self.events else "incremental"
        fail = f", {len(self.failures)} failed" if self.failures else ""
        fail += f", {len(self.aws_failures)} AWS views failed" if self.aws_failures else ""
        fail += f", {len(self.removed)} removed" if self.removed else ""
        return (
            f"<SyncResult {kind} of {self.catalog}: listed {self.listed}, fetched {self.fetched} "
            f"({self.added} new, {self.updated} updated{fail}); mirror holds {self.total}; "
            f"{sum(self.calls.values())} calls in {self.seconds:.1f}s>"
        )

    def __str__(self) -> str:
        """Say what the sync did in a sentence (what ``opptoolkit sync`` prints)."""
        how = (
            "a full pull"
            if self.full
            else f"{self.events:,} events"
            if self.events
            else "the changes since the last sync"
        )
        moved = [f"{n:,} {what}" for n, what in ((self.added, "new"), (self.updated, "updated")) if n]
        moved += [f"{len(self.removed):,} removed"] if self.removed else []
        moved += [f"{len(self.failures):,} not read"] if self.failures else []
        moved += [f"{len(self.aws_failures):,} AWS views not read"] if self.aws_failures else []
        done = ", ".join(moved) if moved else "nothing had changed"
        calls = sum(self.calls.values())
        return (
            f"Synced the mirror {self.path} from the {self.catalog} catalog ({how}): {done}; "
            f"it holds {how_many(self.total, self.kind)} ({how_many(calls, 'call')} in {self.seconds:.1f} s)."
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


# -- where the table lives ------------------------------------------------------------------------


def _root(path: str | Path) -> str:
    """Return the table's location: the folder (or ``s3://`` prefix) given, or the folder of an old mirror file."""
    if is_s3(path):
        return str(path).rstrip("/")
    p = Path(path)
    return str(p.parent if p.name == MIRROR_FILE else p)


def _options(root: str, boto3_session: boto3.Session | None) -> dict[str, str] | None:
    return delta_options(boto3_session) if is_s3(root) else None


def _open(root: str, boto3_session: boto3.Session | None, version: int | None = None) -> DeltaTable | None:
    """Return the mirror's Delta table (at ``version``), or None when there is none yet."""
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    if not is_s3(root) and not (Path(root) / _LOG).is_dir():
        return None
    try:
        return DeltaTable(root, version=version, storage_options=_options(root, boto3_session))
    except TableNotFoundError:
        return None


def _read_files(dt: DeltaTable, boto3_session: boto3.Session | None, columns: list[str] | None = None) -> pa.Table:
    """Return the rows of the table's version, read from its Parquet files by pyarrow.

    The log names the files; ``deltalake`` writes no deletion vectors and no column mapping, so the files are
    the version. One file (what a sync writes) is already in the mirror's order; several are merged.
    """
    files = dt.file_uris()
    fs = None
    if files and files[0].startswith("s3://"):
        fs = arrow_filesystem(boto3_session)
        files = [f.removeprefix("s3://") for f in files]
    if not files:
        return _table(to_frame([]), get_schema())
    tables = [_read_table(f, filesystem=fs, columns=columns) for f in files]
    if len(tables) == 1:
        return tables[0]
    table = pa.concat_tables(tables, promote_options="permissive")
    return table.take(pc.sort_indices(table.column(ID))) if columns else _merge([table], get_schema())


def _commits(dt: DeltaTable) -> list[dict[str, Any]]:
    """Return the table's commits made by a sync (newest first): those with the sync's metadata."""
    return [c for c in dt.history() if _SYNCED in c]


def _commit_time(commit: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(commit[_SYNCED]))


# -- the layout before the table (a Parquet file and a folder of what each sync fetched) ----------


def _legacy_file(root: str) -> Path | None:
    if is_s3(root):
        return None
    file = Path(root) / MIRROR_FILE
    return file if file.exists() else None


def _is_old(file: Path, meta: dict[bytes, bytes], names: list[str]) -> bool:
    if meta.get(_LAYOUT) == _FRAME:
        return False
    if _OLD_RECORD in names:
        return True
    raise OpptoolkitError(f"{file} is not an opptoolkit mirror: sync_mirror writes one, or remove the file")


def _read_table(file: Any, **kwargs: Any) -> pa.Table:
    """``pq.read_table`` of a mirror's file; a damaged one is an error that says what to do."""
    try:
        return pq.read_table(file, **kwargs)
    except (pa.ArrowException, OSError) as e:
        raise _damaged(file, e) from None


def _damaged(file: Any, e: Exception) -> OpptoolkitError:
    return OpptoolkitError(
        f"{file} cannot be read as Parquet ({type(e).__name__}): the mirror is damaged; restore it from a "
        "backup, or sync into a new folder (a full pull) and remove this one"
    )


def _read_legacy(file: Path) -> tuple[pa.Table, dict[bytes, bytes]]:
    """Return the old mirror file as the table's rows, and its key-value metadata."""
    table = _read_table(file)
    meta = dict(table.schema.metadata or {})
    if _is_old(file, meta, table.column_names):
        table = _table(to_frame(_old_records(table)), get_schema())
    return table.replace_schema_metadata(None), meta


def _legacy_history(file: Path) -> list[tuple[datetime, Path]]:
    """Return the old history files beside ``file``, oldest first, with their sync times."""
    folder = file.parent / HISTORY_DIR
    out = []
    for part in folder.glob("*.parquet") if folder.is_dir() else []:
        try:
            out.append((datetime.strptime(part.stem, _STAMP).replace(tzinfo=UTC), part))
        except ValueError:
            continue  # not one of ours
    return sorted(out)


def _legacy_states(file: Path) -> Iterator[tuple[datetime, pa.Table]]:
    """Yield the old mirror as it stood after each kept sync, oldest first (each record's latest version then)."""
    state: pa.Table | None = None
    for when, part in _legacy_history(file):
        fetched = _read_table(part).replace_schema_metadata(None)
        if state is not None:
            ids = state.column(ID)
            state = state.filter(pc.invert(pc.is_in(ids, value_set=fetched.column(ID).combine_chunks())))
            fetched = _merge([state, fetched], get_schema())
        state = fetched
        yield when, state


def _legacy_as_of(file: Path, when: datetime) -> tuple[pa.Table, datetime] | None:
    last = None
    for t, state in _legacy_states(file):
        if t > when:
            break
        last = (state, t)
    return last


# -- reading ----------------------------------------------------------------------------------------


def snapshots(path: str | Path, *, boto3_session: boto3.Session | None = None) -> list[datetime]:
    """Return the UTC times of the syncs the mirror in ``path`` keeps, oldest first.

    Parameters
    ----------
    path : str or Path
        The folder (or ``s3://`` prefix) given to :func:`sync_mirror`.
    boto3_session : boto3.Session, optional
        For an ``s3://`` mirror: its credentials, region and endpoint.

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
    root = _root(path)
    dt = _open(root, boto3_session)
    if dt is None:
        file = _legacy_file(root)
        return [when for when, _ in _legacy_history(file)] if file is not None else []
    return sorted(_commit_time(c) for c in _commits(dt))


def _as_of_time(as_of: datetime | date | str) -> datetime:
    """Return the instant ``as_of`` names: a date (or ``YYYY-MM-DD``) means the end of that UTC day."""
    if isinstance(as_of, str):
        as_of = datetime.fromisoformat(as_of) if "T" in as_of or " " in as_of.strip() else date.fromisoformat(as_of)
    if not isinstance(as_of, datetime):
        return datetime.combine(as_of, datetime.max.time(), tzinfo=UTC)
    return as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)


def _no_sync(root: str, when: datetime, kept: list[datetime]) -> OpptoolkitError:
    first = f"its first is {kept[0]:%Y-%m-%d %H:%M} UTC" if kept else "it keeps none yet (the next sync starts them)"
    return OpptoolkitError(f"{root} has no sync at or before {when:%Y-%m-%d %H:%M} UTC: {first}")


def read_mirror(
    path: str | Path,
    *,
    drop_empty: bool = False,
    as_of: datetime | date | str | None = None,
    boto3_session: boto3.Session | None = None,
) -> pd.DataFrame:
    """Return the mirror in ``path`` (a folder, or an ``s3://`` prefix) as a flattened frame.

    Parameters
    ----------
    path : str or Path
        The folder (or ``s3://bucket/prefix``) given to :func:`sync_mirror`. No mirror there gives an
        empty frame with every column of the model.
    drop_empty : bool, default False
        Drop the columns that are empty in every row, as :func:`opptoolkit.to_frame` does.
    as_of : datetime or date or str, optional
        The mirror as it stood after the last sync at or before this time (a date, or
        ``"YYYY-MM-DD"``, means the end of that UTC day): the table's version of that sync;
        :func:`snapshots` lists them. Default: the mirror now.
    boto3_session : boto3.Session, optional
        For an ``s3://`` mirror: its credentials, region and endpoint (default: the default chain).

    Returns
    -------
    pandas.DataFrame
        The frame :func:`opptoolkit.to_frame` gives for the mirrored records, sorted by ``Id``. Its
        ``attrs["opptoolkit.snapshot"]`` is the time of the sync it shows.

    Examples
    --------
    >>> import tempfile
    >>> df = read_mirror(tempfile.mkdtemp())  # no mirror yet: no rows, every column
    >>> len(df), df.columns[0], "Customer.Account.CompanyName" in df.columns
    (0, 'Id', True)
    """
    root = _root(path)
    when: datetime | None = None
    dt = _open(root, boto3_session)
    if dt is not None:
        commits = _commits(dt)
        if as_of is not None:
            at = _as_of_time(as_of)
            earlier = [c for c in commits if _commit_time(c) <= at]
            if not earlier:
                raise _no_sync(root, at, sorted(_commit_time(c) for c in commits))
            commit = max(earlier, key=lambda c: int(c["version"]))
            dt = _open(root, boto3_session, version=int(commit["version"]))
            assert dt is not None  # the version is in the log just read
        else:
            commit = commits[0] if commits else {}
        when = _commit_time(commit) if commit else None
        try:
            table = _read_files(dt, boto3_session)
        except OpptoolkitError:
            if as_of is None:
                raise
            raise OpptoolkitError(
                f"{root}: the version of the sync of {when:%Y-%m-%d %H:%M} UTC was vacuumed (older than the "
                "retention given to vacuum_mirror): its files are gone; ask for a later time"
            ) from None
    elif (file := _legacy_file(root)) is None:
        if as_of is not None:
            raise _no_sync(root, _as_of_time(as_of), [])
        return to_frame([], drop_empty=drop_empty)
    else:
        _log.warning("%s is in the layout before the Delta table; the next sync_mirror migrates it", file)
        if as_of is not None:
            found = _legacy_as_of(file, _as_of_time(as_of))
            if found is None:
                raise _no_sync(root, _as_of_time(as_of), snapshots(root))
            table, when = found
        else:
            table, _ = _read_legacy(file)
            kept = _legacy_history(file)
            when = kept[-1][0] if kept else None
    if drop_empty:
        table = table.select([i for i, col in enumerate(table.columns) if col.null_count < len(col)])
    df = _frame(table)
    if when is not None:
        df.attrs[SNAPSHOT_ATTR] = when.isoformat()
    return df


# -- writing ----------------------------------------------------------------------------------------


def _commit(
    root: str,
    table: pa.Table,
    meta: dict[str, str],
    boto3_session: boto3.Session | None,
    base: DeltaTable | None = None,
) -> int:
    """Commit ``table`` as the mirror's next version (the whole mirror), with the sync's ``meta``; return it.

    ``base`` is the version the sync read: if another sync committed since, this commit fails (no retry onto
    the other's version, whose rows this sync did not read) and nothing of this one is written.
    """
    from deltalake import CommitProperties, write_deltalake
    from deltalake.exceptions import CommitFailedError

    if not is_s3(root):
        Path(root).mkdir(parents=True, exist_ok=True)
    try:
        write_deltalake(
            base if base is not None else root,
            table.replace_schema_metadata(None),
            mode="overwrite",
            schema_mode="overwrite",  # a column the model added, or an indexed column the records outgrew
            storage_options=None if base is not None else _options(root, boto3_session),
            commit_properties=CommitProperties(custom_metadata=meta, max_commit_retries=0),
        )
    except CommitFailedError:
        raise OpptoolkitError(
            f"another sync of {root} committed while this one ran: this one wrote nothing (nothing is lost); "
            "run it again"
        ) from None
    dt = _open(root, boto3_session)
    assert dt is not None  # just written
    return int(dt.version())


def _meta(catalog: str, cursor: datetime | None, when: datetime, removed: int = 0) -> dict[str, str]:
    meta = {_CATALOG: catalog, _SYNCED: when.astimezone(UTC).isoformat()}
    if cursor is not None:
        meta[_CURSOR] = cursor.isoformat()
    if removed:
        meta[_REMOVED] = str(removed)
    return meta


def _migrate(root: str, file: Path) -> None:
    """Commit one table version per sync the old layout kept (with its time), then the current file; then remove them."""
    current, meta = _read_legacy(file)
    catalog = meta.get(_CATALOG_KEY, b"").decode()
    cursor = datetime.fromisoformat(meta[_CURSOR_KEY].decode()) if _CURSOR_KEY in meta else None
    kept = _legacy_history(file)
    versions = list(_legacy_states(file))
    if not versions:  # a mirror from before the history: its file's time stands for its sync
        versions = [(datetime.fromtimestamp(file.stat().st_mtime, UTC), current)]
    for i, (when, state) in enumerate(versions):
        last = i == len(versions) - 1
        _commit(root, current if last else _merge([state], get_schema()), _meta(catalog, cursor, when), None)
    _log.info("%s: migrated to a Delta table (%d versions); the old files are removed", root, len(versions))
    for _, part in kept:
        part.unlink()
    if (file.parent / HISTORY_DIR).is_dir() and not any((file.parent / HISTORY_DIR).iterdir()):
        (file.parent / HISTORY_DIR).rmdir()
    file.unlink()


def vacuum_mirror(
    path: str | Path,
    *,
    retention: timedelta = timedelta(days=30),
    boto3_session: boto3.Session | None = None,
) -> list[str]:
    """Delete the files of mirror versions older than ``retention``; return what was deleted.

    The latest version is never touched; ``read_mirror(path, as_of=t)`` keeps working for every ``t`` within
    the retention, and fails (no such version) for a time before it. Delta's own log entries expire on
    the table's ``delta.logRetentionDuration`` (30 days by default).

    Parameters
    ----------
    path : str or Path
        The mirror's folder or ``s3://`` prefix.
    retention : timedelta, default 30 days
        Versions replaced more than this long ago lose their files.
    boto3_session : boto3.Session, optional
        For an ``s3://`` mirror.

    Returns
    -------
    list of str
        The data files deleted.

    Examples
    --------
    >>> import tempfile
    >>> vacuum_mirror(tempfile.mkdtemp())
    []
    """
    dt = _open(_root(path), boto3_session)
    if dt is None:
        return []
    hours = int(retention.total_seconds() // 3600)
    return list(dt.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=False))


def _gone(failures: list[dict[str, Any]]) -> set[str]:
    """Return the Ids whose GetOpportunity said the record is not there, or not the caller's to read."""
    return {f["Id"] for f in failures if f.get("code") in _GONE}


@takes_connection(keeps=("boto3_session",))  # the session reaches the S3 mirror beside a Connection
def sync_mirror(
    path: str | Path,
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    overlap: timedelta = timedelta(minutes=5),
    reads_per_second: float | None = None,
    max_workers: int = 4,
    progress: bool | None = True,
    full: bool = False,
    aws_summary: bool = False,
    refresh_aws: bool = False,
    identifiers: list[str] | None = None,
    reconcile: bool = False,
) -> SyncResult:
    """Bring the mirror in ``path`` (a folder, or ``s3://bucket/prefix``) up to date with ``catalog``.

    Parameters
    ----------
    path : str or Path
        Folder of the mirror (created if missing), or an S3 prefix reached with ``boto3_session``.
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit. A :class:`~opptoolkit.Connection` brings its client, pacing and progress (and its
        session, for S3).
    boto3_session : boto3.Session, optional
        The session of the Partner Central client (when ``client`` is not given) and of S3 (beside a
        connection: of S3 only).
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
    identifiers : list of str, optional
        Sync exactly these records (the Ids EventBridge events name): one GetOpportunity each, no
        listing of what else changed, the cursor left where it is. A record the service says is not
        there (ResourceNotFoundException) or not the caller's (AccessDeniedException), and that a
        ListOpportunities for it does not list either, leaves the mirror (``removed``); earlier
        versions keep it.
    reconcile : bool
        List every summary (ListOpportunities only, one call per 100 records) instead of those
        modified since the cursor: records whose summary changed are read, and records no longer
        listed (reassigned away, an invitation rejected) leave the mirror (``removed``).

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
    root = _root(path)
    schema = get_schema()
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    catalog, client, progress, before = conn.catalog, conn.client, conn.progress, dict(conn.pacer.calls)
    boto3_session = boto3_session or conn.boto3_session
    if (legacy := _legacy_file(root)) is not None and _open(root, boto3_session) is None:
        _migrate(root, legacy)
    dt = _open(root, boto3_session)
    stored: pa.Table | None = None  # the whole stored table, once read
    keys = _table(to_frame([]), schema).select([ID, _MODIFIED])
    meta: dict[str, Any] = {}
    had_aws = False
    if dt is not None:
        commits = _commits(dt)
        meta = commits[0] if commits else {}
        keys = _read_files(dt, boto3_session, columns=[ID, _MODIFIED])
        had_aws = any(f.name.startswith(AWS_PREFIX) for f in dt.schema().fields)
    if keys.num_rows and meta.get(_CATALOG, catalog) != catalog:
        raise OpptoolkitError(f"{root} mirrors catalog {meta[_CATALOG]}, not {catalog}")
    cursor = datetime.fromisoformat(meta[_CURSOR]) if _CURSOR in meta and not full else None
    named = identifiers is not None
    is_full = cursor is None and not named
    result = SyncResult(root, catalog, is_full)
    known = dict(zip(keys[ID].to_pylist(), keys[_MODIFIED].to_pylist(), strict=True))
    listed: set[str] = set()
    try:
        with conn.paced():
            summaries: list[dict[str, Any]] = []

            def todo() -> Iterator[str]:
                """Yield the Ids new or newer than the mirror's copy (the overlap re-lists some).

                Gets start while the listing goes on.
                """
                if named:
                    yield from dict.fromkeys(identifiers or [])  # each once, in the order named
                    return
                after = None if cursor is None or reconcile else cursor - overlap
                for s in iter_summaries(catalog, client=client, modified_after=after):
                    summaries.append(s)
                    listed.add(s["Id"])
                    if is_full or s["Id"] not in known or s["LastModifiedDate"] != known[s["Id"]]:
                        yield s["Id"]

            fetched, failures = get_opportunities(
                catalog, todo(), client=client, max_workers=max_workers, progress=progress, desc="sync"
            )
            removed: set[str] = set()
            if named and (gone := _gone(failures)):
                # confirmed by the listing: a record the caller may list is not gone, whatever its Get said
                still = {s["Id"] for s in iter_summaries(catalog, client=client, identifiers=sorted(gone))}
                removed = (gone - still) & known.keys()
                failures = [f for f in failures if f["Id"] not in gone - still]
            elif reconcile or (is_full and known):
                removed = known.keys() - listed
    except ClientError as e:
        code, message = code_and_message(e)
        raise OpptoolkitError(f"sync of {catalog} failed, mirror unchanged: {code}: {message}") from None
    failed = {f["Id"] for f in failures}
    fetched = list({r[ID]: r for r in fetched}.values())  # a record listed twice is stored once
    fetched_ids = pa.array([r[ID] for r in fetched], pa.large_string())
    dropped = pa.array(sorted(removed), pa.large_string())

    def keep(ids: pa.ChunkedArray) -> pa.ChunkedArray:
        """Which stored rows stay: all but those fetched again and those removed.

        After a full pull, of the rows not listed again only those that failed stay (no other could be).
        """
        stay = pc.invert(pc.or_(pc.is_in(ids, value_set=fetched_ids), pc.is_in(ids, value_set=dropped)))
        if is_full:
            stay = pc.and_(stay, pc.is_in(ids, value_set=pa.array(sorted(failed | listed), pa.large_string())))
        return stay

    kept = keys.filter(keep(keys[ID]))
    result.added = sum(r[ID] not in known for r in fetched)
    result.updated = len(fetched) - result.added
    stamps = [s for s in (pc.max(kept[_MODIFIED]).as_py(), *(r[_MODIFIED] for r in fetched)) if s is not None]
    new_cursor = cursor if named else max(stamps, default=cursor)
    failed_stamps = [s["LastModifiedDate"] for s in summaries if s["Id"] in failed]
    if failed_stamps and new_cursor is not None:  # hold the cursor back: the next sync lists them again
        new_cursor = min(new_cursor, min(failed_stamps) - timedelta(microseconds=1))
    views = None  # AWS's view of the rows read this sync (aws_summary), an Arrow table by Id
    if aws_summary or refresh_aws:
        every = refresh_aws or not had_aws
        aws_ids = sorted({*kept[ID].to_pylist(), *(r[ID] for r in fetched)}) if every else [r[ID] for r in fetched]
        if aws_ids:
            aws = read_aws_summaries(conn, aws_ids, max_workers=max_workers)
            views, result.aws_failures = _table(aws, schema), aws.attrs["failures"]
    if dt is None or fetched or removed or new_cursor != cursor or views is not None:
        if dt is not None:
            stored = _read_files(dt, boto3_session)
        parts = [] if stored is None else [stored.filter(keep(stored[ID]))]
        if fetched:
            parts.append(_table(to_frame(fetched), schema))
        merged = _merge(parts, schema)
        if views is not None or (had_aws and fetched):
            merged = _aws_merge(merged, stored if had_aws else None, views, schema)
        meta = _meta(catalog, new_cursor, datetime.now(UTC), len(removed))
        result.version = _commit(root, merged, meta, boto3_session, base=dt)
    else:
        _log.debug("%s: nothing new, not rewritten", root)
        result.version = None if dt is None else int(dt.version())
    result.listed, result.fetched, result.failures = len(summaries), len(fetched), failures
    result.removed = sorted(removed)
    result.total, result.cursor, result.calls = kept.num_rows + len(fetched), new_cursor, calls_since(conn, before)
    result.seconds = time.monotonic() - start
    _log.info("%r", result)
    return result


# -- engagements ------------------------------------------------------------------------------------

#: The members of an engagement's summary that say it changed: ListEngagements gives them for every engagement, and
#: GetEngagement answers them too (model: ModifiedAt "the date and time when the Engagement was last modified";
#: MemberCount moves when a partner joins).
_ENGAGEMENT_KEYS = ("ModifiedAt", "MemberCount")


def _engagement_table(df: pd.DataFrame) -> pa.Table:
    """Return an engagements frame as an Arrow table: strings large, a column no row fills as strings."""
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    fields = []
    for f in table.schema:
        t = pa.large_string() if pa.types.is_null(f.type) or pa.types.is_string(f.type) else f.type
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields)).replace_schema_metadata(None)


@takes_connection(keeps=("boto3_session",))  # the session reaches the S3 mirror beside a Connection
def sync_engagements(
    path: str | Path,
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float | None = None,
    progress: bool | None = True,
    full: bool = False,
) -> SyncResult:
    """Bring the engagements' mirror in ``path`` up to date: the engagements this account is a member of.

    The rules of :func:`sync_mirror`, with what ListEngagements offers: it has no modified-after filter, so every
    sync lists every summary and the resources shared in them (ListEngagementResourceAssociations: the model does
    not say that sharing one moves the summary), a call per page each, and reads again only the engagements new
    or changed since the mirror's copy (their summary's ``ModifiedAt`` or ``MemberCount`` moved, or their shared
    resources): GetEngagement, ListEngagementMembers and the shared resources
    (:func:`opptoolkit.engagements.read_engagements`). An engagement no longer listed
    leaves the mirror (``removed``; earlier versions keep it), one that could not be read keeps its old row, and a
    sync that finds nothing new writes nothing. The table is a Delta table of its own (not the opportunities'
    folder): :func:`read_mirror` reads it, at any earlier sync too.

    Parameters
    ----------
    path : str or Path
        Folder of the engagements' mirror (created if missing), or an ``s3://`` prefix.
    catalog : {"AWS", "Sandbox"} or Connection
    full : bool
        Read every engagement again.

    Returns
    -------
    SyncResult
        As :func:`sync_mirror`'s: ``listed``, ``fetched`` (``added``, ``updated``), ``removed``, ``failures``,
        ``total``, ``calls``, ``version``.

    Examples
    --------
    >>> import tempfile
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> d = tempfile.mkdtemp()
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     c = sb.client()
    ...     _ = c.start_engagement_from_opportunity_task(Catalog="Sandbox", Identifier="O7000000014",
    ...         ClientToken="t1", AwsSubmission={"InvolvementType": "Co-Sell"})
    ...     first = sync_engagements(d, "Sandbox", client=c, progress=False, reads_per_second=1000)
    ...     again = sync_engagements(d, "Sandbox", client=c, progress=False, reads_per_second=1000)
    >>> first.added, again.fetched, again.calls
    (1, 0, {'ListEngagements': 1, 'ListEngagementResourceAssociations': 1})
    """
    start = time.monotonic()
    root = _root(path)
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    catalog, before = conn.catalog, dict(conn.pacer.calls)
    boto3_session = boto3_session or conn.boto3_session
    dt = _open(root, boto3_session)
    stored = _frame(_read_files(dt, boto3_session)) if dt is not None else None
    commits = _commits(dt) if dt is not None else []
    mirrored = (commits[0] if commits else {}).get(_CATALOG, catalog)
    if mirrored != catalog:
        raise OpptoolkitError(f"{root} mirrors the engagements of catalog {mirrored}, not {catalog}")
    known: dict[str, tuple[Any, ...]] = {}
    known_shared: dict[str, tuple[tuple[str, ...], ...]] = {}
    if stored is not None and len(stored):
        cols = [stored[k] if k in stored.columns else pd.Series(None, index=stored.index) for k in _ENGAGEMENT_KEYS]
        known = {str(i): _summary_key(vals) for i, *vals in zip(stored[ID], *cols, strict=True)}
        known_shared = _stored_shares(stored)
    result = SyncResult(root, catalog, dt is None or full, kind="engagement")
    try:
        with conn.paced():
            listed: dict[str, tuple[Any, ...]] = {}
            for page in conn.client.get_paginator("list_engagements").paginate(Catalog=catalog):
                for summary in page.get("EngagementSummaryList") or []:
                    found: dict[str, Any] = dict(summary)
                    listed[found[ID]] = _summary_key([found.get(k) for k in _ENGAGEMENT_KEYS])
            # a resource shared in an engagement need not move its summary (the model says nothing of it): the
            # shared resources are listed too (one call per page) and an engagement whose list moved is read again
            shared = _shares(shared_resources(conn.client, catalog)) if known and not full else {}
            changed = [
                i for i, key in listed.items() if full or known.get(i) != key or shared.get(i) != known_shared.get(i)
            ]
            fresh = read_engagements(conn, identifiers=changed) if changed else None
    except ClientError as e:
        code, message = code_and_message(e)
        raise OpptoolkitError(
            f"sync of the engagements of {catalog} failed, mirror unchanged: {code}: {message}"
        ) from None
    removed = sorted(known.keys() - listed.keys())
    failures = list(fresh.attrs.get("failures") or []) if fresh is not None else []
    failed = {str(f[ID]) for f in failures}
    read = [] if fresh is None else [str(i) for i in fresh[ID]]
    result.listed, result.failures, result.removed = len(listed), failures, removed
    result.fetched = len(read)
    result.added = sum(i not in known for i in read)
    result.updated = result.fetched - result.added
    if dt is None or read or removed:
        replaced = (set(read) | set(removed)) - failed
        parts = [] if stored is None else [stored[~stored[ID].astype(str).isin(replaced)]]
        if fresh is not None and len(fresh):
            parts.append(fresh.reset_index(drop=True))
        merged = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame({ID: pd.Series([], dtype=str)})
        merged = merged.sort_values(ID, kind="stable").reset_index(drop=True)
        meta = _meta(catalog, None, datetime.now(UTC), len(removed))
        result.version = _commit(root, _engagement_table(merged), meta, boto3_session, base=dt)
        result.total = len(merged)
    else:
        result.version, result.total = int(dt.version()), 0 if stored is None else len(stored)
    result.calls, result.seconds = calls_since(conn, before), time.monotonic() - start
    _log.info("%r", result)
    return result


def _shares(by_engagement: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each engagement's shared resources as a comparable key: its (type, Id, sharer) triples, sorted."""

    def text(v: Any) -> str:  # a member the answer left out, or the table's null for it: the same
        return "" if is_blank(v) else str(v)

    return {
        str(e): tuple(
            sorted({tuple(text(a.get(k)) for k in ("ResourceType", "ResourceId", "CreatedBy")) for a in items})
        )
        for e, items in by_engagement.items()
        if items
    }


def _stored_shares(stored: pd.DataFrame) -> dict[str, tuple[tuple[str, ...], ...]]:
    """:func:`_shares` of the mirror's engagements, from their ``ResourceAssociations[i].*`` columns."""
    by: dict[str, list[dict[str, Any]]] = {}
    i = 0
    while f"{RESOURCES}[{i}].ResourceId" in stored.columns:
        part = {k: f"{RESOURCES}[{i}].{k}" for k in ("ResourceType", "ResourceId", "CreatedBy")}
        cols = {k: stored[c] if c in stored.columns else pd.Series(None, index=stored.index) for k, c in part.items()}
        for ident, *vals in zip(stored[ID], *cols.values(), strict=True):
            if not is_blank(vals[1]):
                by.setdefault(str(ident), []).append(dict(zip(cols, vals, strict=True)))
        i += 1
    return _shares(by)


def _summary_key(values: Any) -> tuple[Any, ...]:
    """Return the summary's members that say an engagement changed, comparable from the API or the table."""
    out: list[Any] = []
    for v in values:
        if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)):
            out.append(None)
        elif isinstance(v, (datetime, pd.Timestamp)):
            out.append(pd.Timestamp(v).tz_convert("UTC") if pd.Timestamp(v).tzinfo else pd.Timestamp(v, tz="UTC"))
        else:
            out.append(int(v) if isinstance(v, (int, np.integer)) else v)
    return tuple(out)
