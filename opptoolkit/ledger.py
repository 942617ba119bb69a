"""The push ledger: an fsync'd journal of row attempts, compacted into Parquet parts.

Each entry is appended to the push's journal (``journal-*.jsonl``, one JSON line, fsync'd) before
``write`` returns, so the intent of a call is durable before the call. Every
:attr:`Ledger.PART_ROWS` entries, and when the push ends, the journal's entries go into one Parquet
part (written under a temporary name, fsync'd, renamed) and only then is the journal removed;
small parts of earlier pushes are merged the same way. Every entry carries a key (its writer and
sequence number), so a crash between writing a part and removing its sources leaves entries that
:func:`read_ledger` counts once. No customer data goes in: field *paths*, codes, timestamps and
keyed hashes (HMAC-SHA256 with a secret kept in the ledger folder, so a value cannot be recovered
by guessing it and hashing), never values. One push at a time writes to a ledger (a lock file).

A ledger can live on S3 (``s3://bucket/prefix``, through boto3's session: :mod:`opptoolkit.storage`), shared by
the analysts of one Partner Central account, so that they spend one daily write budget and none of them sends
a row another already sent. S3 has no append and no ``flock``: each entry is its own journal object, created
with ``If-None-Match: *`` before ``write`` returns; the lock is a :class:`~opptoolkit.storage.Lease` (an
object created with ``If-None-Match``, renewed with ``If-Match``, taken over only once expired), and a push
that cannot renew it stops before its next call. A second push waits for the first (up to
:attr:`Ledger.LEASE_WAIT`), then reads the ledger, with the first's entries in it, before it sends anything.
The secret is an object of the ledger too: limit who may read the ledger's prefix as you would the ledger.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import ClientError

from ._status import Status
from .exceptions import OpptoolkitError
from .storage import Lease, Precondition, S3Place, is_s3

if TYPE_CHECKING:
    import boto3

__all__ = ["FINE", "LEDGER_SCHEMA", "Ledger", "LedgerEntry", "read_ledger", "with_errors"]

_log = logging.getLogger(__name__)

LEDGER_SCHEMA = pa.schema(
    [
        ("job_id", pa.string()),
        ("row", pa.string()),
        ("Id", pa.string()),
        ("operation", pa.string()),
        ("status", pa.string()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("reason", pa.string()),
        ("changed_fields", pa.list_(pa.string())),
        ("error_codes", pa.list_(pa.string())),
        ("error_fields", pa.list_(pa.string())),
        ("error_texts", pa.list_(pa.string())),
        ("last_modified_before", pa.timestamp("us", tz="UTC")),
        ("last_modified_after", pa.timestamp("us", tz="UTC")),
        ("attempt", pa.int32()),
        ("writes", pa.int32()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("payload_sha256", pa.string()),
        ("change_key", pa.string()),
        ("response", pa.string()),
        ("request", pa.string()),
    ]
)


@dataclass
class LedgerEntry:
    """One row attempt.

    ``status``: in_flight, succeeded, unknown (sent, outcome not known: the next run reads it back), failed,
    conflict, invalid, no_token, not_editable, not_found, deferred (:class:`opptoolkit.Status`).
    ``error_code`` is what the service or botocore said; ``reason`` why the toolkit settled the row itself
    (:class:`opptoolkit.Reason`). ``error_codes``, ``error_fields`` and ``error_texts`` list each error apart, in
    parallel: its code, the field's API path ("" when it is about the whole row) and its message alone.
    ``row`` is the spreadsheet's row number when the rows came from a sheet; ``operation`` the API operation the
    entry is about (``UpdateOpportunity`` unless said); ``writes`` its HTTP attempts (botocore's retries included); ``response`` the answer's members that the
    model does not mark sensitive, as JSON (a task's status and the ids it made), for operations other than
    UpdateOpportunity; ``request`` the request's members that the model does not mark sensitive, as JSON, without
    its ClientToken (what the next run needs to read the call's effect back: the catalog, a solution's id).
    """

    job_id: str
    row: str
    Id: str
    status: str
    operation: str = "UpdateOpportunity"
    error_code: str | None = None
    error_message: str | None = None
    reason: str | None = None
    changed_fields: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    error_fields: list[str] = field(default_factory=list)
    error_texts: list[str] = field(default_factory=list)
    last_modified_before: datetime | None = None
    last_modified_after: datetime | None = None
    attempt: int = 1
    writes: int = 0
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    payload_sha256: str | None = None
    change_key: str | None = None
    response: str | None = None
    request: str | None = None


#: The outcomes that are no error: a with_errors entry of these lists none unless told.
FINE = frozenset(
    {Status.SUCCEEDED, Status.CREATED, Status.SKIPPED, Status.UPDATE, Status.CREATE, Status.UNCHANGED, Status.IN_FLIGHT}
)


def with_errors(entry: LedgerEntry, items: Iterable[tuple[str, str, str]] | None = None) -> LedgerEntry:
    """Set the entry's error lists (``error_codes``, ``error_fields``, ``error_texts``) and return it.

    ``items`` are ``(code, field's API path or "", message alone)``; without them, an outcome that is no success
    lists its one error about the whole row: its code (else the toolkit's reason) and its message.

    Examples
    --------
    >>> e = with_errors(LedgerEntry("j", "2", "O1", Status.FAILED, error_code="ThrottlingException",
    ...                             error_message="slow down"))
    >>> e.error_codes, e.error_fields, e.error_texts
    (['ThrottlingException'], [''], ['slow down'])
    """
    listed = list(items or [])
    if not listed and entry.status not in FINE and (code := entry.error_code or entry.reason):
        listed = [(code, "", entry.error_message or "")]
    entry.error_codes = [str(c) for c, _, _ in listed]
    entry.error_fields = [f for _, f, _ in listed]
    entry.error_texts = [t for _, _, t in listed]
    return entry


#: What a part stores beyond the user-facing columns: the entry's key. ``writer`` names the Ledger
#: object that wrote it (unique per object, so two objects given the same ``job_id`` never collide)
#: and ``seq`` its place in that writer's order; a part of the one-file-per-entry layout has
#: neither, and its file name stands in for the writer.
#: The list columns: ``error_codes``, ``error_fields`` and ``error_texts`` are parallel (one item per error: its
#: code, the field's API path or "" for the whole row, the message without the path and code).
_LISTS = [f.name for f in LEDGER_SCHEMA if pa.types.is_list(f.type)]
_KEY = [("writer", pa.string()), ("seq", pa.int64())]
_PART_SCHEMA = pa.schema([*LEDGER_SCHEMA, *_KEY])
#: The journal's line: timestamps as integer microseconds since the epoch (UTC), exact.
_LINE_SCHEMA = pa.schema([pa.field(f.name, pa.int64()) if pa.types.is_timestamp(f.type) else f for f in _PART_SCHEMA])
#: Schema metadata of a part: the files (parts, journals) whose entries it holds.
_SOURCES = b"opptoolkit.sources"
#: Ledgers written by opptoolkit 0.x name two columns differently; read under today's names.
_RENAMED = {"lmd_before": "last_modified_before", "lmd_after": "last_modified_after"}
#: Entries written before the ledger named the operation were all UpdateOpportunity attempts.
_OPERATION = "UpdateOpportunity"
#: A create has no Id until it succeeds: its calls are told apart by their change key alone.
_CREATE = "CreateOpportunity"
#: An outcome not known: the call may have been applied (in flight at a crash, or a 5xx or no answer).
_UNSETTLED = (Status.IN_FLIGHT, Status.UNKNOWN)


def call_key(operation: str, ident: str | None, change_key: str | None) -> tuple[str, str, str]:
    """Return what names one call across the ledger's entries: its operation, Id (none for a create), change key.

    Examples
    --------
    >>> call_key("CreateOpportunity", "O1", "k") == call_key("CreateOpportunity", "", "k")
    True
    """
    return operation, "" if operation == _CREATE else str(ident or ""), str(change_key or "")


class Ledger:
    """A folder of Parquet parts, the journals of pushes writing to it, its secret and its lock file.

    Parts are ``part-*.parquet``; journals ``journal-*.jsonl`` (present while a push runs, or after a crash);
    the secret ``.ledger-secret`` (mode 0600, made once); the lock ``.lock``. ``create=False`` (a dry run)
    makes none of them: the ledger is read as it is, and never written.

    :meth:`close` (called by :meth:`lock` before it lets the ledger go, and by ``with Ledger(...)``)
    compacts what the push wrote.
    """

    SECRET = ".ledger-secret"
    #: Entries per part: a journal this long becomes one part as the push goes.
    PART_ROWS = 1000
    #: An S3 ledger's lease object, how long it lasts unrenewed, and how long a push waits for another's.
    LEASE = ".lease"
    LEASE_TTL = timedelta(seconds=60)
    LEASE_WAIT = timedelta(minutes=10)

    def __init__(
        self,
        path: str | Path,
        job_id: str | None = None,
        *,
        create: bool = True,
        boto3_session: boto3.Session | None = None,
    ) -> None:
        self._place = S3Place(str(path), boto3_session) if is_s3(path) else None
        self._dir = Path(path)  # a local ledger's folder
        self.path: Path | str = str(self._place) if self._place is not None else self._dir
        self._lease: Lease | None = None
        if self._place is None and self._dir.exists() and not self._dir.is_dir():
            raise OpptoolkitError(f"the ledger {self.path} is a file, not a folder: give a folder (made if missing)")
        if self._place is None and create:
            try:
                self._dir.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise OpptoolkitError(
                    f"the ledger {self.path} is a file, not a folder: give a folder (made if missing)"
                ) from None
        self.job_id = job_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        # create=False (a dry run) reads what is there and writes nothing, not even the folder or its secret: a
        # ledger that has none yet has no entry a key could match, so a secret of this object's own will do
        self._secret = self._load_secret(create=create)
        # the entries' key; started_at ties sort by it, so it starts with the time: oldest first
        self._writer = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"
        self._seq = 0
        self._fd: int | None = None
        self._journals: list[Path] = []  # the journal files holding the entries in _pending
        self._objects: list[str] = []  # on S3: the journal objects holding them
        self._pending: list[dict[str, Any]] = []
        self._locked = False
        self._frame: pd.DataFrame | None = None  # read once per push for latest() and writes_since()
        #: the calls this object wrote an entry of (:func:`call_key`): what this run handled
        self.written: set[tuple[str, str, str]] = set()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _load_secret(self, *, create: bool = True) -> bytes:
        """Return the ledger's secret, made on first use (``create=False``: one of this object's own instead).

        Written whole under a temporary name, then linked into place (``os.link`` fails if another process was
        first; its secret wins). On S3: created with ``If-None-Match``, so the first writer's wins there too.
        """
        if self._place is not None:
            found = self._place.get(self.SECRET)
            if found is None and not create:
                return secrets.token_bytes(32)
            if found is None:
                with contextlib.suppress(Precondition):
                    self._place.put(self.SECRET, secrets.token_bytes(32), if_none_match=True)
                found = self._place.get(self.SECRET)
            if found is None:
                raise OpptoolkitError(f"the ledger {self.path}: its secret could not be read back: rerun")
            return found[0]
        final = self._dir / self.SECRET
        if not final.exists() and not create:
            return secrets.token_bytes(32)
        if not final.exists():
            tmp = self._dir / f".{self.SECRET}.{uuid.uuid4().hex}.tmp"
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
        """HMAC-SHA256 of ``obj`` (as canonical JSON) under the ledger's secret.

        Equal for equal changes within this ledger, and no guess of a value can be checked against it.
        """
        text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False).encode()
        return hmac.new(self._secret, text, hashlib.sha256).hexdigest()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the ledger for one push.

        A second push on the same folder is refused (it would count the daily budget from entries still being
        written, and could send a row twice). The push's entries are compacted (:meth:`close`) before the
        ledger is let go. On S3, a push waits up to :attr:`LEASE_WAIT` for another to let the ledger go.
        """
        if self._place is not None:
            with self._leased():
                yield
            return
        import fcntl

        with open(self._dir / ".lock", "a+") as fh:
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
            self._locked = True
            try:
                yield
            finally:
                try:
                    self.close()
                finally:
                    self._locked = False
                    fcntl.flock(fh, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _leased(self) -> Iterator[None]:
        assert self._place is not None
        lease = Lease(self._place, self.LEASE, ttl=self.LEASE_TTL, wait=self.LEASE_WAIT, what=f"the ledger {self.path}")
        lease.acquire()
        self._lease, self._locked, self._frame = lease, True, None  # read again: another push may have ended
        try:
            yield
        finally:
            try:
                self.close()
            finally:
                self._locked, self._lease = False, None
                lease.release()

    def write(self, entry: LedgerEntry) -> None:
        """Append one entry durably: a line in the journal, fsync'd before this returns.

        Every :attr:`PART_ROWS` entries the journal becomes a part.
        """
        if entry.finished_at is None and entry.status != Status.IN_FLIGHT:
            entry.finished_at = datetime.now(UTC)
        self._seq += 1
        row = {**asdict(entry), "writer": self._writer, "seq": self._seq}
        # through Arrow with the ledger's schema: the same types accepted (and refused) as a part's
        line = pa.Table.from_pylist([row], schema=_PART_SCHEMA).cast(_LINE_SCHEMA).to_pylist()[0]
        data = memoryview((json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
        if self._place is not None:
            self._write_object(line, bytes(data))
            return
        if self._fd is None:
            journal = self._dir / f"journal-{self.job_id}-{self._writer}-{self._seq:09d}.jsonl"
            self._fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._journals.append(journal)
            _fsync_dir(self._dir)
        try:
            while data:
                data = data[os.write(self._fd, data) :]
            os.fsync(self._fd)
        except OSError:
            self._close_journal()  # a torn line ends that journal; the next entry starts another
            raise
        self._pending.append(line)
        self._frame = None
        self.written.add(call_key(entry.operation, entry.Id, entry.change_key))
        if len(self._pending) >= self.PART_ROWS:
            self._close_journal()
            try:
                _write_part(self._dir, _table(self._pending), self._journals, f"{self.job_id}-{self._seq:09d}")
            except (pa.ArrowException, OSError) as e:  # the entry is durable all the same: the push goes on
                _log.warning("the ledger %s was not compacted (%s): no entry is lost; tried again later", self.path, e)
                return
            self._pending, self._journals = [], []

    def _write_object(self, line: dict[str, Any], data: bytes) -> None:
        """Write one entry as its own journal object on S3 (durable when S3 answers), compacting every PART_ROWS.

        Under the lease, first check that this push still holds it: one that lost it sends nothing more.
        """
        assert self._place is not None
        if self._lease is not None:
            self._lease.check()
        name = f"journal-{self.job_id}-{self._writer}-{self._seq:09d}.jsonl"
        self._place.put(name, data, if_none_match=True)
        self._objects.append(name)
        self._pending.append(line)
        self._frame = None
        if len(self._pending) >= self.PART_ROWS:
            try:
                _put_part(self._place, _table(self._pending), self._objects, f"{self.job_id}-{self._seq:09d}")
            except (pa.ArrowException, OSError, OpptoolkitError) as e:
                _log.warning("the ledger %s was not compacted (%s): no entry is lost; tried again later", self.path, e)
                return
            self._pending, self._objects = [], []

    def _close_journal(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def close(self) -> None:
        """Compact the push's journal and the ledger's small parts into one part; never raises.

        The push's journal and the ledger's parts of fewer than :attr:`PART_ROWS` entries (and, under the
        lock, journals a crashed push left) become one part, merged into the smallest part under twice that
        size if it is still small: so at rest at most one part holds fewer than :attr:`PART_ROWS` entries.
        Never raises: what cannot be compacted stays where it is, and is read all the same.
        """
        self._close_journal()
        try:
            self._compact_s3() if self._place is not None else self._compact()
        except (pa.ArrowException, OSError, OpptoolkitError, ValueError, ClientError) as e:
            _log.warning(
                "the ledger %s was not compacted (%s): no entry is lost; the next push tries again", self.path, e
            )
        self._pending, self._journals, self._objects = [], [], []

    def _compact_s3(self) -> None:
        """Compact as :meth:`_compact` does, on S3: a part object written whole, then its sources deleted."""
        place = self._place
        assert place is not None
        names = place.list()
        sizes: dict[str, int] = {}
        parts: dict[str, pa.Table] = {}
        for part in (n for n in names if n.startswith("part-") and n.endswith(".parquet")):
            got = place.get(part)
            if got is None:
                continue
            table = pq.read_table(io.BytesIO(got[0]))
            for name in json.loads((table.schema.metadata or {}).get(_SOURCES, b"[]")):
                if name in names:  # a crash came after this part was written but before its sources went
                    place.delete(name)
            parts[part], sizes[part] = table, table.num_rows
        ours = set(self._objects)
        journals = [n for n in names if n.startswith("journal-") and n not in ours] if self._locked else []
        tables = [_table(self._pending)]
        for name in journals:
            got = place.get(name)
            if got is not None:
                tables.append(_parse_journal(name, str(place), got[0]))
        small = [part for part, n in sizes.items() if n < self.PART_ROWS]
        rows = sum(t.num_rows for t in tables) + sum(sizes[part] for part in small)
        if rows and rows < self.PART_ROWS:
            roomy = [part for part, n in sizes.items() if self.PART_ROWS <= n < 2 * self.PART_ROWS]
            small += sorted(roomy, key=sizes.__getitem__)[:1]
        if not self._pending and not journals and len(small) < 2:
            return
        tables += [_keyed(parts[part].replace_schema_metadata(None)) for part in small]
        _put_part(place, pa.concat_tables(tables), [*self._objects, *journals, *small], self.job_id)

    def _compact(self) -> None:
        sizes: dict[Path, int] = {}
        for part in sorted(self._dir.glob("part-*.parquet")):
            meta = pq.read_metadata(part)
            # a crash came after this part was written but before its sources were removed
            for name in json.loads((meta.metadata or {}).get(_SOURCES, b"[]")):
                (self._dir / name).unlink(missing_ok=True)
            sizes[part] = meta.num_rows
        sizes = {part: n for part, n in sizes.items() if part.exists()}
        ours = set(self._journals)
        if self._locked:  # no other push is writing: a temporary part is a crashed push's, never renamed
            for tmp in self._dir.glob(".part-*.tmp"):
                tmp.unlink(missing_ok=True)
        journals = [j for j in sorted(self._dir.glob("journal-*.jsonl")) if j not in ours] if self._locked else []
        tables = [_table(self._pending), *(_read_journal(j) for j in journals)]
        small = [part for part, n in sizes.items() if n < self.PART_ROWS]
        rows = sum(t.num_rows for t in tables) + sum(sizes[part] for part in small)
        if rows and rows < self.PART_ROWS:
            roomy = [part for part, n in sizes.items() if self.PART_ROWS <= n < 2 * self.PART_ROWS]
            small += sorted(roomy, key=sizes.__getitem__)[:1]
        if not self._pending and not journals and len(small) < 2:
            return
        if small:
            tables.append(_read_parts(self._dir, small))
        _write_part(self._dir, pa.concat_tables(tables), [*self._journals, *journals, *small], self.job_id)

    def read(self) -> pd.DataFrame:
        """Return every entry of the ledger (:func:`read_ledger`)."""
        return read_ledger(self._place if self._place is not None else self._dir)

    def _read_once(self) -> pd.DataFrame:
        """Return the ledger as read at the start of a push, kept until the next write."""
        if self._frame is None:
            self._frame = self.read()
        return self._frame

    def writes_since(self, since: timedelta = timedelta(hours=24)) -> int:
        """Write-action HTTP attempts recorded in the last ``since`` (the daily write budget).

        Each outcome's ``writes``, plus 1 for each in-flight entry of a row that has no outcome in that job (a
        crash came while it was sent). Every operation the ledger records draws on the write quota (quotas
        page: Create/Update/Associate/Disassociate/Assign/RejectEngagementInvitation and the Start...Task
        operations are "Write actions", one daily quota).
        """
        df = self._read_once()
        if df.empty:
            return 0
        recent = df[df["started_at"] >= pd.Timestamp(datetime.now(UTC) - since)]
        # an in-flight entry is settled by an outcome of the same call: its job, operation and change key (a
        # create's ClientToken, the change an update or another call sends) and, unless it is a create (whose Id
        # comes with its outcome), its Id; so a crashed call is counted even when another call on that Id ended
        keys = ["job_id", "operation", "change_key"]
        done = recent["status"] != Status.IN_FLIGHT
        recent = recent.assign(change_key=recent["change_key"].fillna(""))
        ended = recent.loc[done, [*keys, "Id"]]
        ended = pd.concat([ended, ended.assign(Id="")]).drop_duplicates()  # a create's outcome has its Id
        flying = recent[~done].merge(ended, on=[*keys, "Id"], how="left", indicator=True)
        return int(recent["writes"].sum()) + int((flying["_merge"] == "left_only").sum())

    def latest(self, operation: str = _OPERATION, by: str = "Id") -> dict[str, dict[str, Any]]:
        """Return the newest entry of ``operation`` per opportunity Id (or per value of the column ``by``).

        ``by="change_key"``: per request, such as a create's ClientToken (a create has no Id until it succeeds).
        """
        df = self._read_once()
        df = df[(df["operation"] == operation) & df[by].notna()]
        if df.empty:
            return {}
        df = df.sort_values(["started_at", "finished_at"], na_position="first", kind="stable")
        return {str(r[by]): {str(k): v for k, v in r.items()} for r in df.to_dict("records")}

    def unsettled(self) -> list[dict[str, Any]]:
        """Return the newest entry of each call whose outcome the ledger does not know, oldest first.

        A call (:func:`call_key`) whose newest entry is in flight (a crash came while it was sent) or unknown (a
        5xx or no answer: it may have been applied), and a task whose newest entry says it was started but is
        still IN_PROGRESS. The next run reads each back from the server and records what it finds.
        """
        df = self._read_once()
        df = df[df["change_key"].notna()]
        if df.empty:
            return []
        df = df.assign(_id=df["Id"].where(df["operation"] != _CREATE, ""))
        df = df.sort_values(["started_at", "finished_at"], na_position="first", kind="stable")
        last = df.groupby(["operation", "_id", "change_key"], sort=False).tail(1)
        running = (last["status"] == Status.SUCCEEDED) & last["response"].str.contains(
            '"TaskStatus": "IN_PROGRESS"', regex=False, na=False
        )
        waiting = last[last["status"].isin(_UNSETTLED) | running].drop(columns="_id")
        return [{str(k): v for k, v in r.items()} for r in waiting.to_dict("records")]

    def last_write(self) -> datetime | None:
        """Return when the newest write the ledger records went (None: none).

        An outcome that spent writes ended at ``finished_at``; an entry still in flight (a crash) went out just
        after its ``started_at``. A push paces its first write from it (the quota's second does not restart).
        """
        df = self._read_once()
        times = pd.concat(
            [df.loc[df["writes"] > 0, "finished_at"], df.loc[df["status"] == Status.IN_FLIGHT, "started_at"]]
        ).dropna()
        return None if times.empty else pd.Timestamp(times.max()).to_pydatetime()

    def latest_by_key(self, operation: str) -> dict[tuple[str, str], dict[str, Any]]:
        """Return the newest entry of ``operation`` per (opportunity Id, change key).

        An opportunity may have several calls of one operation (one AssociateOpportunity per solution): each
        is settled by its own change key.
        """
        df = self._read_once()
        df = df[(df["operation"] == operation) & df["change_key"].notna()]
        if df.empty:
            return {}
        df = df.sort_values(["started_at", "finished_at"], na_position="first", kind="stable")
        return {(str(r["Id"]), str(r["change_key"])): {str(k): v for k, v in r.items()} for r in df.to_dict("records")}


def read_ledger(path: str | Path | S3Place, *, boto3_session: boto3.Session | None = None) -> pd.DataFrame:
    """Every entry of a push ledger, oldest first.

    Its parts and its journals (entries not yet compacted, such as those of a push that crashed), each entry
    once.

    Parameters
    ----------
    path : str or Path
        The ledger folder (or ``s3://`` prefix) given to :func:`opptoolkit.push_updates`. A folder with no
        ledger gives an empty frame with the ledger's columns.
    boto3_session : boto3.Session, optional
        For a ledger on S3: its credentials, region and endpoint.

    Returns
    -------
    pandas.DataFrame
        One row per entry: the job, the row, ``Id``, ``status``, the error, the concurrency tokens
        before and after, the HTTP attempts (``writes``) and the keyed hash of the change.

    Examples
    --------
    >>> import tempfile
    >>> read_ledger(tempfile.mkdtemp()).columns[:5].tolist()
    ['job_id', 'row', 'Id', 'operation', 'status']
    """
    if isinstance(path, S3Place) or is_s3(path):
        tables = _read_s3(path if isinstance(path, S3Place) else S3Place(str(path), boto3_session))
    else:
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise OpptoolkitError(f"the ledger {p} is a file, not a folder: give the ledger's folder")
        parts = sorted(p.glob("part-*.parquet")) if p.exists() else []
        journals = sorted(p.glob("journal-*.jsonl")) if p.exists() else []
        tables = [_read_parts(p, parts)] if parts else []
        tables += [_read_journal(j) for j in journals]
    if not tables:
        empty: pd.DataFrame = LEDGER_SCHEMA.empty_table().to_pandas()
        return empty
    df: pd.DataFrame = pa.concat_tables(tables).to_pandas()
    # a crash between writing a part and removing its sources leaves an entry twice: its key is one
    df = df.drop_duplicates(["writer", "seq"]).sort_values(["started_at", "writer", "seq"], kind="stable")
    df = df[LEDGER_SCHEMA.names].reset_index(drop=True)
    df["operation"] = df["operation"].fillna(_OPERATION)
    for c in _LISTS:  # an entry written before a list column existed has none: an empty list
        df[c] = [[] if v is None else list(v) for v in df[c]]
    return df


def _table(lines: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(lines, schema=_LINE_SCHEMA).cast(_PART_SCHEMA)


def _read_parts(p: Path, parts: list[Path]) -> pa.Table:
    """Return the parts' entries with their keys; a part without keys is keyed by its file name."""
    import pyarrow.dataset as ds  # only reading a ledger back needs Arrow's dataset layer; not paid at import

    try:
        legacy = [f for f in parts if _legacy(pq.read_schema(f).names)]
        current = [f for f in parts if f not in legacy]
        tables = [_read_legacy_part(f) for f in legacy]
        if current:
            tables.append(
                ds.dataset([str(f) for f in current], format="parquet", schema=_PART_SCHEMA).to_table(
                    columns=[*_PART_SCHEMA.names, "__filename"]
                )
            )
        table = pa.concat_tables(tables)
    except (pa.ArrowException, OSError):
        bad = next((f for f in parts if not _readable(f)), parts[0])
        raise OpptoolkitError(
            f"the ledger part {bad.name} in {p} is unreadable (damaged, or not written by opptoolkit): "
            "move it out of the folder, then rerun"
        ) from None
    names = table.column("__filename")
    table = table.drop_columns(["__filename"])
    if table.column("writer").null_count:
        writer = pa.array(
            [w or os.path.basename(n) for w, n in zip(table["writer"].to_pylist(), names.to_pylist(), strict=True)]
        )
        table = table.set_column(table.schema.get_field_index("writer"), "writer", writer)
        table = table.set_column(table.schema.get_field_index("seq"), "seq", table["seq"].fill_null(0))
    return table


def _legacy(names: list[str]) -> bool:
    """Tell whether a part has an older layout: 0.x column names, or no ``operation``."""
    return bool(_RENAMED.keys() & set(names)) or "operation" not in names


def _read_legacy_part(part: Path) -> pa.Table:
    """Return a part of an older layout under today's names and schema (with its file name)."""
    old = pq.read_table(part)
    old = old.rename_columns([_RENAMED.get(n, n) for n in old.column_names])
    columns = [
        old[f.name].cast(f.type) if f.name in old.column_names else pa.nulls(len(old), f.type) for f in _PART_SCHEMA
    ]
    table = pa.Table.from_arrays(columns, schema=_PART_SCHEMA)
    return table.append_column("__filename", pa.array([str(part)] * len(old), pa.string()))


def _read_s3(place: S3Place) -> list[pa.Table]:
    """Return the tables of an S3 ledger's parts (keyed) and journals, as :func:`read_ledger` reads a folder's."""
    tables = []
    for name in place.list():
        got = place.get(name)
        if got is None:  # compacted away since it was listed: its part is listed too, or will be read next time
            continue
        if name.startswith("part-") and name.endswith(".parquet"):
            try:
                tables.append(_keyed(pq.read_table(io.BytesIO(got[0])).replace_schema_metadata(None)))
            except (pa.ArrowException, OSError):
                raise OpptoolkitError(
                    f"the ledger part {name} in {place} is unreadable (damaged, or not written by opptoolkit): "
                    "move it out of the prefix, then rerun"
                ) from None
        elif name.startswith("journal-"):
            tables.append(_parse_journal(name, str(place), got[0]))
    return tables


def _keyed(table: pa.Table) -> pa.Table:
    """Return an S3 part's table in the part schema (with its keys, which every S3 part has).

    A column newer than the part (the error lists) is null in it.
    """
    columns = [
        table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in _PART_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=_PART_SCHEMA)


def _put_part(place: S3Place, table: pa.Table, sources: list[str], tag: str) -> None:
    """Write ``table`` as a new part object recording its ``sources``; then delete the sources."""
    name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{tag}-{uuid.uuid4().hex[:8]}.parquet"
    sink = io.BytesIO()
    pq.write_table(table.replace_schema_metadata({_SOURCES: json.dumps(sources).encode()}), sink)
    place.put(name, sink.getvalue(), if_none_match=True)
    for s in sources:
        place.delete(s)


def _read_journal(journal: Path) -> pa.Table:
    """Return a journal file's entries (:func:`_parse_journal`)."""
    return _parse_journal(journal.name, str(journal.parent), journal.read_bytes())


def _parse_journal(name: str, where: str, data: bytes) -> pa.Table:
    """Return a journal's entries.

    Its last line may be torn (the process died while writing it: that entry was never durable, and nothing
    was sent for it): skipped with a warning; any other unreadable line is an error.
    """
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()
    rows = []
    for i, raw in enumerate(lines, 1):
        try:
            rows.append({_RENAMED.get(k, k): v for k, v in json.loads(raw).items()})
        except ValueError:
            if i < len(lines):
                raise OpptoolkitError(
                    f"the ledger journal {name} in {where} is unreadable at line {i} (damaged, or "
                    "not written by opptoolkit): move it out of the folder, then rerun"
                ) from None
            _log.warning("ledger journal %s: its last line was torn by a crash while it was written; skipped", name)
    try:
        return _table(rows)
    except (pa.ArrowException, TypeError):
        raise OpptoolkitError(
            f"the ledger journal {name} in {where} is unreadable (not written by opptoolkit): "
            "move it out of the folder, then rerun"
        ) from None


def _write_part(p: Path, table: pa.Table, sources: list[Path], tag: str) -> None:
    """Write ``table`` as a new part (temporary name, fsync, rename), recording its ``sources``.

    The sources (the parts and journals it replaces) are removed only once it is in place.
    """
    name = f"part-{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{tag}-{uuid.uuid4().hex[:8]}.parquet"
    table = table.replace_schema_metadata({_SOURCES: json.dumps([s.name for s in sources]).encode()})
    tmp = p / f".{name}.tmp"
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, p / name)
    _fsync_dir(p)
    for s in sources:
        s.unlink(missing_ok=True)
    _fsync_dir(p)


def _fsync_dir(p: Path) -> None:
    """Make a file's creation, rename or removal in ``p`` durable."""
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _readable(part: Path) -> bool:
    try:
        pq.read_table(part, schema=LEDGER_SCHEMA)
    except (pa.ArrowException, OSError):
        return False
    return True
