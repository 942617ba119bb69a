"""Push edited rows: read, plan, turn the plan into calls, run them on the one runner.

Every UpdateOpportunity replaces the whole record, and writes are scarce (1/s, 10,000/day). The plan of each row
(diff against the base, three-way merge, payload, validation) is :func:`opptoolkit.plan.resolve`; this module
reads the edited rows and the server's records (:func:`plan_updates` is that plan, sending nothing), and
:func:`push_updates` turns each row into a call for :class:`opptoolkit.execute.Runner`, which paces them, checks
the daily write budget before every HTTP attempt, writes each intent to the ledger before the call and its
outcome after, and settles what earlier runs left unknown:

* every row is **validated** (model constraints + documented rules) before it may spend a write; reads are
  prefetched ahead of the 1-write-per-second writer;
* a rerun skips what succeeded and reconciles (reads back) what was in flight when a crash came or whose
  outcome was unknown (a 5xx or a timeout after the request went out);
* a row with no concurrency token of its own (no base, no LastModifiedDate) is never sent;
* a row without an Id is created (CreateOpportunity) with a ClientToken derived from the request
  (:func:`opptoolkit.plan.client_token`), so no retry, crash, rerun or other ledger creates it twice;
* a ConflictException reads the record again and merges again before it sends again;
* then the edited association columns go as AssociateOpportunity / DisassociateOpportunity calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from itertools import compress, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from tqdm.auto import tqdm

from . import fields as P
from ._errors import code_and_message, unreachable
from ._gc import gc_paused
from ._status import Reason, Status
from ._values import Blank, is_blank
from .client import fetch_opportunity
from .connection import Connection, as_connection, takes_connection
from .exceptions import OpptoolkitError, Problem, ServiceUnreachable, SheetError
from .execute import CREATE, UPDATE, Call, Outcome, Runner, request_of, running
from .frame import timestamp_problems, to_frame
from .io import read_frame
from .ledger import Ledger, read_ledger
from .partner import association_edit_calls
from .plan import (
    CHANGED_ON_SERVER,
    PARTNER_ID,
    Row,
    blank_cells,
    blank_notes,
    blank_or_equal,
    changes,
    client_token,
    create_request,
    duplicate_creates,
    emptied_cells,
    existing_record,
    id_problem,
    resolve,
    resolve_create,
    row_values,
    unchanged_cells,
)
from .quotas import DAILY_WRITES, READS_PER_SECOND, WRITES_PER_SECOND
from .rules import ASSOCIATIONS
from .schema import ID, Catalog, Field, Schema, get_schema, label_for
from .sheets import EXTRA_POLICIES, Extra, SheetRows, choose_base, read_sheet

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = ["plan_updates", "push_updates", "read_ledger"]

_log = logging.getLogger(__name__)
BLANK_POLICIES = ("keep", "clear")


# -- inputs -------------------------------------------------------------------------------------


def _edited_rows(
    edited: pd.DataFrame | str | Path,
    schema: Schema,
    extra: Extra,
    catalog: Catalog,
    base: Any = None,
    blank: Blank = "keep",
) -> tuple[_Edited, _Bases | None]:
    """Return the edited rows, each labelled by its spreadsheet row number (else by the frame's label).

    The spreadsheet's row number labels a row that came from a sheet. The whole input is refused when a row's
    own ``Catalog`` is not ``catalog``, before any call.

    With a ``base`` (see :func:`_base_rows`, returned beside the rows), the rows that certainly
    have no change against it (compared column by column, :func:`opptoolkit.plan.unchanged_rows`)
    come back ``same``, without their values.
    """
    if extra not in EXTRA_POLICIES:
        raise ValueError(f"extra must be one of {EXTRA_POLICIES}")
    df = read_sheet(edited, extra=extra) if isinstance(edited, (str, Path)) else edited
    # given, else the export an edited workbook carries (a sheet of new rows only needs none)
    base = choose_base(edited, base, warn=ID in df.columns and any(i is not None for i in _ids(df[ID])))
    if ID not in df.columns:  # every row is new: each is created (its Id comes back from CreateOpportunity)
        df = df.assign(**{ID: pd.Series([None] * len(df), index=df.index, dtype=object)})
    dup = df[ID][df[ID].duplicated() & df[ID].notna()]
    if len(dup):
        raise OpptoolkitError(f"Id appears more than once: {sorted(set(dup))[:5]}")
    unknown = [c for c in df.columns if _field(schema, str(c)) is None]
    if unknown and extra == "error":
        raise OpptoolkitError(
            f"columns not in the service model: {unknown[:5]}; rename them to a field, drop them, or pass "
            'extra="keep" (--extra keep) to keep them out of the push'
        )
    if unknown:  # extra="keep": the analyst's own columns, never sent
        df = df.drop(columns=unknown)
    ids = _ids(df[ID])
    rows = SheetRows.of(df)  # from read_sheet: each row named as the sheet numbers it; else the frame's labels
    labels = rows.labels(df, ids) if rows is not None else list(map(str, df.index.tolist()))
    if problems := timestamp_problems(df, labels, schema):  # text typed into a frame's time column
        raise SheetError("cannot plan the edited rows", problems)
    if "Catalog" in df.columns:
        wrong = np.flatnonzero(~blank_or_equal(df["Catalog"], catalog))
        if len(wrong):
            first, theirs = labels[wrong[0]], df["Catalog"].iloc[wrong[0]]
            more = f" and {len(wrong) - 1} more" if len(wrong) > 1 else ""
            raise OpptoolkitError(
                f"row {first}{more}, Catalog: INVALID_VALUE: the row is from catalog {theirs!r}, not {catalog!r}; "
                f"push it with --catalog {theirs} (catalog={theirs!r}) or fix the Catalog column (nothing was sent)"
            )
    bases = _base_rows(base)
    with gc_paused():
        maybe: dict[int, list[str]] = {}
        emptied: dict[int, list[str]] = {}
        if bases is None:
            same = np.zeros(len(df), dtype=bool)
        else:
            same, maybe, emptied = bases.unchanged(df, ids, schema, catalog, blank)
        work_at = np.flatnonzero(~same)  # the rows that may have changed: only they get a Row
        # an Id that is no opportunity Id is refused on its row, before any read or look at the base
        bad = {p: found for p in work_at.tolist() if ids[p] is not None and (found := id_problem(str(ids[p])))}
        # ... and values, unless their Id is not in the base: such a row is not_found whatever it holds
        valued = [p not in bad and (bases is None or ids[p] is None or ids[p] in bases) for p in work_at.tolist()]
        if bases is not None:
            bases.load(i for p in work_at.tolist() if (i := ids[p]) is not None and p not in bad)
        edits = iter(_records(df, work_at[np.array(valued, dtype=bool)]))
        work = [
            Row(
                label=labels[p],
                id=ids[p],
                edit=next(edits) if v else {},
                maybe=maybe.get(p),
                emptied=blank_notes(emptied.get(p, ())),
            )
            for p, v in zip(work_at.tolist(), valued, strict=True)
        ]
        for r, p in zip(work, work_at.tolist(), strict=True):
            if p in bad:
                r.refused, r.action, r.problems, r.note = True, Status.INVALID, [bad[p]], "not an opportunity Id"
    return _Edited(labels, ids, same.tolist(), work, emptied), bases


def _ids(s: pd.Series) -> list[str | None]:
    """Each row's Id as text, None when blank."""
    blank = blank_cells(s)
    values = s.tolist()
    if isinstance(s.dtype, pd.StringDtype) and not blank.any():
        return values  # text already, none blank: the usual Id column
    return [None if b else str(v) for v, b in zip(values, blank.tolist(), strict=True)]


def _records(df: pd.DataFrame, at: np.ndarray, *, blanks: bool = True) -> list[dict[str, Any]]:
    """Return the rows of ``df`` at positions ``at`` as ``{column: value}``.

    The values are those ``DataFrame.to_dict`` gives; ``blanks=False`` leaves the blank cells out (an empty
    list stays).

    Taken column by column (``to_dict("list")``), which boxes each value as ``to_dict("records")``
    does but without its per-cell iteration of every Arrow column.
    """
    rows = df.iloc[at]
    lists = rows.to_dict("list")
    names = [str(c) for c in lists]
    if blanks:
        return [dict(zip(names, values, strict=True)) for values in zip(*lists.values(), strict=True)]
    keep = np.array(
        [
            ~blank_cells(s)
            | (np.fromiter(map(isinstance, v, repeat(list)), dtype=bool, count=len(v)) if s.dtype == object else False)
            for (_, s), v in zip(rows.items(), lists.values(), strict=True)
        ]
    ).reshape(len(names), len(at))
    return [
        dict(compress(zip(names, values, strict=True), kept))
        for values, kept in zip(zip(*lists.values(), strict=True), keep.T.tolist(), strict=True)
    ]


@dataclass
class _Edited:
    """The edited rows in order.

    Each row's label and Id, whether it is certainly unchanged against its base (``same``), and a :class:`Row`
    for each of the others (``work``).
    """

    labels: list[str]
    ids: list[str | None]
    same: list[bool]
    work: list[Row]
    #: The cells emptied in the sheet that ``blank="keep"`` keeps: ``{position: columns}``.
    emptied: dict[int, list[str]] = field(default_factory=dict)

    def rows(self) -> list[Row]:
        """Return a :class:`Row` for every row, in order (the unchanged ones ``same``, without values).

        An unchanged row still names the cells it emptied (``emptied``): a blank kept is said, never silent.
        """
        work = iter(self.work)
        return [
            Row(label=lb, id=i, same=True, edit={}, emptied=blank_notes(self.emptied.get(p, ()))) if s else next(work)
            for p, (lb, i, s) in enumerate(zip(self.labels, self.ids, self.same, strict=True))
        ]


def _field(schema: Schema, col: str) -> Field | None:
    try:
        return schema.field_for(col)
    except KeyError:
        return None


class _Bases(Mapping[str, dict[str, Any]]):
    """The base (the records as exported) by Id.

    A row's ``{column: value}`` (blanks left out, lists kept) is built when asked for, so that only the rows
    that may have changed need one.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self.frame.columns = [str(c) for c in self.frame.columns]
        ids = self.frame[ID].astype(str).tolist()
        self.at = dict(zip(ids, range(len(ids)), strict=True))  # the last row of an Id
        self._rows: dict[str, dict[str, Any]] = {}
        self._index: dict[str, dict[str, str]] = {}
        self._title_ids: dict[str, list[str]] | None = None

    def __getitem__(self, ident: str) -> dict[str, Any]:
        if ident not in self._rows:
            self.load([ident])
        return self._rows[ident]

    def load(self, ids: Iterable[str]) -> None:
        """Build the rows of ``ids`` (those in the base) at once: one frame operation, not one per row."""
        ids = [i for i in dict.fromkeys(ids) if i in self.at and i not in self._rows]
        if not ids:
            return
        at = np.array([self.at[i] for i in ids], dtype=np.int64)
        self._rows.update(zip(ids, _records(self.frame, at, blanks=False), strict=True))

    def __contains__(self, ident: object) -> bool:
        return ident in self.at

    def find(self, edit: dict[str, Any], schema: Schema) -> tuple[str, str] | None:
        """Return the Id of the base record a row without an Id is, and how it was told; None: none is.

        Its partner CRM id is that record's (``PartnerOpportunityIdentifier``, "the opportunity's unique
        identifier in the partner's CRM system", model), or it is that record cell for cell (the same title,
        and no change against it in any of the row's cells).
        """
        crm = edit.get(PARTNER_ID)
        if not is_blank(crm) and (ident := self._by(PARTNER_ID).get(str(crm).strip())) is not None:
            return ident, f"its {PARTNER_ID} is that of"
        title = edit.get(P.TITLE)
        if is_blank(title):
            return None
        for ident in self._titles().get(str(title), []):
            if not changes(edit, self[ident], schema, "clear"):
                return ident, "its cells are those of"
        return None

    def _by(self, column: str) -> dict[str, str]:
        """Return the Id of the last base row holding each value of ``column`` (text, blanks left out)."""
        if column not in self._index:
            values = self.frame[column] if column in self.frame.columns else pd.Series([], dtype=object)
            keep = ~blank_cells(values)
            texts = values[keep].astype(str).str.strip().tolist()
            self._index[column] = dict(zip(texts, self.frame.loc[keep, ID].astype(str).tolist(), strict=True))
        return self._index[column]

    def _titles(self) -> dict[str, list[str]]:
        """Return the base rows' Ids by title (a row without an Id is compared only with those of its title)."""
        if self._title_ids is None:
            self._title_ids = {}
            if P.TITLE in self.frame.columns:
                keep = ~blank_cells(self.frame[P.TITLE])
                for t, i in zip(
                    self.frame.loc[keep, P.TITLE].astype(str), self.frame.loc[keep, ID].astype(str), strict=True
                ):
                    self._title_ids.setdefault(t, []).append(i)
        return self._title_ids

    def __iter__(self) -> Iterator[str]:
        return iter(self.at)

    def __len__(self) -> int:
        return len(self.at)

    def unchanged(
        self, edit: pd.DataFrame, ids: list[str | None], schema: Schema, catalog: str, blank: Blank
    ) -> tuple[np.ndarray, dict[int, list[str]], dict[int, list[str]]]:
        """Per row of ``edit`` (whose Ids are ``ids``).

        In the base, of ``catalog`` there, and certainly without a change against it
        (:func:`opptoolkit.plan.unchanged_cells`); for each other row in the base, the columns in which it
        may differ (``{position: columns}``); and under ``blank="keep"`` the columns a row emptied where the
        base has a value (:func:`opptoolkit.plan.emptied_cells`).
        """
        at = cast("Callable[[str | None, int], int]", self.at.get)  # None is no Id: never a key
        pos = np.fromiter(map(at, ids, repeat(-1)), dtype=np.int64, count=len(ids))  # -1: not in the base
        found = pos >= 0
        if not found.any():
            return found, {}, {}
        take = np.where(found, pos, 0)  # a row not in the base compares with any: it is not unchanged anyway
        aligned = self.frame[[c for c in map(str, edit.columns) if c in self.frame.columns]]
        if not np.array_equal(take, np.arange(len(self.frame))):  # the usual edit keeps the export's order
            aligned = aligned.iloc[take]
        if "Catalog" in self.frame.columns:
            found &= blank_or_equal(self.frame["Catalog"].iloc[take], catalog)
        columns, cells = unchanged_cells(edit, aligned, schema, blank)
        same = found & cells.all(axis=0)
        maybe = np.flatnonzero(found & ~same)
        differ = ~cells[:, maybe]
        emptied: dict[int, list[str]] = {}
        if blank == "keep":  # cells emptied in the sheet: kept, and said so
            names, cleared = emptied_cells(edit, aligned, schema)
            cleared &= found
            for p in np.flatnonzero(cleared.any(axis=0)).tolist():
                emptied[p] = [names[k] for k in np.flatnonzero(cleared[:, p]).tolist()]
        return (
            same,
            {p: [columns[k] for k in np.flatnonzero(differ[:, j]).tolist()] for j, p in enumerate(maybe.tolist())},
            emptied,
        )


def _base_rows(base: Any) -> _Bases | None:
    """Return ``base`` by Id.

    A frame (``to_frame`` / ``read_sheet``), a mirror folder, a sheet or Parquet export, or a list of
    GetOpportunity records.
    """
    if base is None:
        return None
    if isinstance(base, (str, Path)):
        base = read_frame(base, extra="keep")  # a base gives the edited columns' values: extra columns do no harm
    if not isinstance(base, pd.DataFrame):
        base = to_frame(list(base))
    if "LastModifiedDate" not in base.columns:
        raise OpptoolkitError("the base has no LastModifiedDate column: export all columns, or use a mirror")
    if ID not in base.columns or base[ID].isna().any() or (base[ID].astype(str).str.strip() == "").any():
        raise OpptoolkitError(
            "the base has rows without an Id: a base is the unedited export (or a mirror); export it again"
        )
    return _Bases(base)


# -- public ---------------------------------------------------------------------------------------


def plan_updates(
    edited: pd.DataFrame | str | Path,
    catalog: Catalog | Connection,
    *,
    base: Any = None,
    blank: Blank = "keep",
    extra: Extra = "error",
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    today: date | None = None,
    progress: bool | None = True,
    reads_per_second: float = READS_PER_SECOND,
) -> pd.DataFrame:
    """Dry run: what a push of ``edited`` would do, row by row. Sends nothing.

    Parameters
    ----------
    edited : DataFrame or path
        The edited frame, or a ``.xlsx`` / ``.csv`` sheet; may hold any subset of the columns
        (only those can change). A row with a blank ``Id`` (or every row, without an ``Id``
        column) is a new opportunity: planned as ``create`` (:func:`opptoolkit.plan.resolve_create`).
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: a :class:`~opptoolkit.Connection` brings its client, pacing, write budget, progress
        and session (one pacer for every verb that uses it); the keyword forms (``client``, ``boto3_session``,
        ``endpoint_url``, pacing, ``daily_write_budget``, ``progress``) are a convenience for one call.
    base : DataFrame, path or None
        The records as exported (the frame you edited, an export file, or a mirror folder).
        With a base the plan is computed locally; without one each row's record is read from
        the server (``client`` / ``endpoint_url``) and taken as the base. An ``.xlsx`` written
        by :func:`opptoolkit.write_sheet` and edited in place carries its export: pass its
        path as ``edited`` and leave ``base`` out (a workbook that lost it plans as without a
        base, with a warning). Never the edited file itself.
    blank : {"keep", "clear"}
        A blank cell keeps the server's value (default) or clears it. Every clear is listed.
    extra : {"error", "keep"}
        Columns the model does not know (an analyst's "Notes"): refused (default: a mistyped
        header would otherwise drop its edits silently), or kept out of the push. Passed to
        :func:`opptoolkit.read_sheet` when ``edited`` is a path.
    reads_per_second : float
        Pacing of the reads without a base (default: the documented quota, 10).

    Returns
    -------
    DataFrame
        One row per edited row: ``row`` (the spreadsheet's row number when the rows came
        from a sheet, else the frame's label), ``Id``, ``action`` (update, create, unchanged, invalid,
        no_token, not_editable, conflict, not_found), ``changes`` (``path: old → new``),
        ``changed_fields``, ``errors`` (each ``field: CODE: message``), then each error apart in three
        parallel lists: ``error_codes`` (the API's code, or ``CONFLICT``), ``error_fields`` (the field's
        API path, the cell at fault; "" when the error is about the whole row) and ``error_texts`` (the
        message alone), ``warnings`` (what the model's text says AWS may refuse or replace; the row is
        still sent) and ``note``.

    Raises
    ------
    OpptoolkitError
        Bad input: a repeated Id, an unknown column, a row whose own
        ``Catalog`` is not ``catalog``, a base with a blank Id.


    Examples
    --------
    >>> from opptoolkit import read_opportunities
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=["O7000000001"],
    ...                             progress=False, reads_per_second=1000)
    ...     edit = df.copy()
    ...     edit.loc[0, "LifeCycle.NextSteps"] = "Call the CFO on Monday"
    ...     plan = plan_updates(edit, "Sandbox", endpoint_url=sb.endpoint_url)
    >>> plan[["Id", "action", "changed_fields"]].to_dict("records")
    [{'Id': 'O7000000001', 'action': 'update', 'changed_fields': ['LifeCycle.NextSteps']}]
    """
    if blank not in BLANK_POLICIES:
        raise ValueError(f"blank must be one of {BLANK_POLICIES}")
    schema = get_schema()
    name = catalog.catalog if isinstance(catalog, Connection) else catalog
    edit, bases = _edited_rows(edited, schema, extra, name, base, blank)
    latest: dict[str, dict[str, Any] | None] = {}
    ids = [r.id for r in edit.work if r.id and not r.refused]
    if bases is None and ids:  # new rows alone need no read, and a plan against a base no client (nor its cost)
        latest = _read_many(ids, catalog, client=client, boto3_session=boto3_session, endpoint_url=endpoint_url,
                            reads_per_second=reads_per_second, progress=progress)  # fmt: skip
    with gc_paused():
        return _plan_frame(edit, bases, latest, schema, blank, name, today)


def _plan_frame(
    edit: _Edited,
    bases: _Bases | None,
    latest: dict[str, dict[str, Any] | None],
    schema: Schema,
    blank: Blank,
    catalog: Catalog,
    today: date | None,
) -> pd.DataFrame:
    """Return the plan of :func:`plan_updates`: each row of ``edit`` that may have changed resolved, in a frame."""
    _plan_new([r for r in edit.work if r.id is None], bases, schema, catalog, today)
    for r in edit.work:
        if r.id is None or r.refused:
            continue
        if bases is not None and r.id not in bases:  # before any look at the base: a row of it costs a frame lookup
            r.action, r.note = Status.NOT_FOUND, "not in the base"
            continue
        resolve(r, bases[r.id] if bases is not None else None, latest.get(r.id), schema, blank, catalog, today)
    n = len(edit.labels)
    # an unchanged row as plan_row gives it, without a Row; then the others in their places
    columns: dict[str, list[Any]] = {
        "row": list(edit.labels),
        "Id": list(edit.ids),
        "action": [Status.UNCHANGED] * n,
        "changes": [[] for _ in range(n)],
        "changed_fields": [[] for _ in range(n)],
        "errors": [[] for _ in range(n)],
        "error_codes": [[] for _ in range(n)],
        "error_fields": [[] for _ in range(n)],
        "error_texts": [[] for _ in range(n)],
        "warnings": [[] for _ in range(n)],
        "note": [""] * n,
    }
    for p, r in zip(np.flatnonzero(~np.array(edit.same, dtype=bool)).tolist(), edit.work, strict=True):
        for c, v in r.plan_row().items():
            columns[c][p] = v
    for p, emptied in edit.emptied.items():  # a row the column-wise pass found unchanged: as resolve says the others
        if edit.same[p]:
            columns["warnings"][p] = [str(n) for n in blank_notes(emptied)]
    return pd.DataFrame(columns)


def _plan_new(rows: list[Row], bases: _Bases | None, schema: Schema, catalog: Catalog, today: date | None) -> None:
    """Plan the rows without an Id: each a create, unless it is an existing opportunity or repeats another row.

    A row that carries a trace of an existing record (:func:`opptoolkit.plan.existing_record`), or that the base
    holds (:meth:`_Bases.find`), is refused, never created: deleting the Id column of an export, or clearing
    one Id cell, creates nothing.
    """
    for r in rows:
        resolve_create(r, schema, catalog, today)
        if not existing_record(r) and bases is not None and (known := bases.find(r.edit, schema)) is not None:
            existing_record(r, base_id=known[0], why=known[1])
    duplicate_creates(rows)


def _get(client: SellingClient, catalog: Catalog, ident: str) -> dict[str, Any] | None:

    return fetch_opportunity(client, catalog, ident)


@takes_connection
def _read_many(
    ids: list[str],
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float = READS_PER_SECOND,
    progress: bool | None = True,
) -> dict[str, dict[str, Any] | None]:
    """Return the latest record of each Id: a plan without a base reads them (and only then needs a client)."""
    conn = as_connection(catalog)
    with conn.paced(), ThreadPoolExecutor(max_workers=4) as pool:
        futures = {i: pool.submit(_get, conn.client, conn.catalog, i) for i in ids}
        out = {}
        for i, f in tqdm(futures.items(), desc="read", disable=None if conn.progress else True):
            try:
                out[i] = f.result()
            except (ClientError, BotoCoreError) as e:
                for pending in futures.values():
                    pending.cancel()
                if (u := unreachable(e, unanswered=True)) is not None:
                    raise u from None
                code, msg = code_and_message(e)
                raise OpptoolkitError(f"GetOpportunity {i} failed: {code}: {msg}") from None
        return out


@dataclass
class _Push:
    """One push's planning of its rows into calls and outcomes for the :class:`~opptoolkit.execute.Runner`.

    What every row shares (client, catalog, ledger, base, policy) and the ledger's view of each row: the newest
    update of each Id (``history``) and the newest create of each request (``created``).
    """

    client: Any
    catalog: Catalog
    runner: Runner
    bases: _Bases | None
    blank: Blank
    today: date | None
    attempts: int
    schema: Schema = field(default_factory=get_schema)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def book(self) -> Ledger:
        return self.runner.book

    def resolve(self, r: Row, base: dict[str, Any] | None, latest: dict[str, Any] | None) -> None:
        resolve(r, base, latest, self.schema, self.blank, self.catalog, self.today)

    def plan_creates(self, rows: list[Row]) -> None:
        """Plan every row without an Id, and give each its ClientToken and its change key.

        The token is derived from the CreateOpportunity request alone (:func:`client_token`: the partner's CRM
        id when the row has one, else the payload), so the same row pushed again -- a botocore retry, a rerun
        after a crash or an unknown outcome, another ledger, a colleague -- is the same request, which AWS
        answers with the opportunity it created. The ledger names the request by its keyed hash instead (the
        change key), so it never holds the token. Without a CRM id, a row whose cells changed is a new
        request. Two rows of the same request would be one opportunity: refused.
        """
        new = [r for r in rows if r.id is None and not r.same]
        _plan_new(new, self.bases, self.schema, self.catalog, self.today)
        for r in new:
            if r.payload is not None and r.action == Status.CREATE:
                r.client_token = client_token(r.payload)
                r.request_key = self.book.key([CREATE, *create_request(r.payload)])

    def needs_no_read(self, r: Row) -> bool:
        """No Id, not in the base, or no change against the base: nothing to read or send."""
        if r.same or r.refused or r.id is None or (self.bases is not None and r.id not in self.bases):
            return True
        return self.bases is not None and not changes(r.edit, self.bases[r.id], self.schema, self.blank, r.maybe)

    def key(self, r: Row) -> str | None:
        if r.request_key is not None:
            return r.request_key  # a create: the keyed hash of its request
        return self.book.key(r.intent()) if r.changes else None

    def fingerprint(self, r: Row) -> str | None:
        """Return a create's keyed fingerprint of what it sends, as the server will hold it (else None)."""
        return self.book.key(r.sent()) if r.request_key is not None else None

    def operation(self, r: Row) -> str:
        return CREATE if r.request_key is not None or r.id is None else UPDATE

    def outcome(self, r: Row, status: str, **kw: Any) -> Outcome:
        """Return the row's outcome: its problems, conflicts or note in words when nothing else says why."""
        o = Outcome(
            row=r.label,
            id=r.id,
            operation=self.operation(r),
            status=status,
            fields=list(r.changes),
            key=self.key(r),
            request=request_of(self.operation(r), {"Catalog": self.catalog}),
            bad_id=r.refused,
            kept=[p.field for p in r.kept],
        )
        for name, value in kw.items():
            setattr(o, name, value)
        if r.kept and status in (Status.NOT_EDITABLE, Status.SUCCEEDED) and o.error_code is None:
            # the labels and the rule, never a value (these fields are sensitive): the ledger says what AWS kept
            said = "; ".join(f"{p.field}: {p.message}" for p in r.kept)
            if status == Status.NOT_EDITABLE and r.problems == r.kept:
                o.error_code, o.error_message = r.kept[0].code, f"not sent: {said}"[:2000]
                o.errors = [(p.code, p.field, p.message) for p in r.kept]
            elif status == Status.SUCCEEDED:
                told = [o.error_message, f"sent without these changes: {said}"]
                o.error_message = "; ".join(t for t in told if t)[:2000]
        if r.problems and o.error_code is None:
            o.error_code = r.problems[0].code
            # the dry run's words: a rule's message carries the rule and never a sensitive field's value (nor a
            # "did you mean" near it: opptoolkit.rules words them so), so the ledger and the result may keep it
            o.error_message = "; ".join(f"{p.field}: {p.code}: {p.message}" for p in r.problems)[:2000]
            o.errors = [(p.code, p.field, p.message) for p in r.problems]
        if r.conflicts and o.error_code is None:
            o.reason, o.error_message = Reason.CONFLICT, "changed on both sides: " + ", ".join(r.conflicts)
            o.errors = [(Reason.CONFLICT.value, c, CHANGED_ON_SERVER) for c in r.conflicts]
        if status in (Status.NOT_FOUND, Status.INVALID) and o.error_message is None and r.note:
            o.error_message = r.note
        if r.emptied and (o.errors is not None or status in (Status.UNCHANGED, Status.SUCCEEDED)):
            # the cells a blank kept, after what else the row says (issue #31: clearing is never silent); a row
            # whose one error is about the whole of it (a failed read, an interrupt) says them when pushed again
            o.errors = [*(o.errors or []), *_listed(r.emptied)]
            o.error_message = "; ".join(t for t in (o.error_message, _emptied_note(r)) if t)[:2000]
        return o

    def items(
        self, rows: list[Row], reads: list[Future[dict[str, Any] | None]], ahead: Callable[[int], None]
    ) -> Iterator[Call | Outcome]:
        """Yield each row's call or outcome, in order; ``ahead(i)`` starts the reads of the rows after row ``i``."""
        for i, r in enumerate(rows):
            if self.runner.stop:
                r.note = "interrupted"
                message = self.runner.interrupted_message
                yield self.outcome(r, Status.DEFERRED, reason=Reason.INTERRUPTED, error_message=message)
                continue
            ahead(i)
            if r.id is None:
                yield self.create(r, self.created.get(r.request_key or ""))
                continue
            yield from self.update(r, reads[i], self.history.get(r.id))

    def create(self, r: Row, prior: dict[str, Any] | None) -> Call | Outcome:
        """Return the call or outcome of a row without an Id (planned by :meth:`plan_creates`)."""
        if prior is not None and prior["status"] in (Status.CREATED, Status.SKIPPED) and prior["Id"]:
            # this very request already created its opportunity (the ledger says which): no write
            r.id = str(prior["Id"])
            message = (
                f"already created as {r.id} by an earlier run; to change it, push the results workbook "
                "(it has the Id) or put the Id in this row"
            )
            return self.outcome(
                r, Status.SKIPPED, error_message=message, last_modified_after=prior["last_modified_after"]
            )
        if r.action != Status.CREATE:
            return self.outcome(r, r.action)
        assert r.payload is not None

        def conflicting(call: Call, error: Exception) -> Outcome:
            # the row's CRM id was sent before with other cells (model, ClientToken: "Conflicting client
            # token submitted for a new request body"): that earlier request may have created it
            code, _ = code_and_message(error)
            message = (
                "an earlier push sent this partner opportunity id with other values and may have created it: "
                "find it on Partner Central, put its Id in this row, then push again"
            )
            return self.outcome(
                r, Status.CONFLICT, error_code=code, error_message=message, payload_sha256=call.fingerprint
            )

        return Call(
            r.label,
            CREATE,
            "",
            r.payload,
            key=r.request_key,
            fields=list(r.changes),
            decided=True,
            token=r.client_token,
            fingerprint=self.fingerprint(r),
            planned=Status.CREATE,
            success=Status.CREATED,
            conflict=conflicting,
            answer=False,
            unknown_note=(
                "(the opportunity may have been created: the next run sends the same ClientToken, which AWS answers "
                "with the opportunity it created, never a second one)"
            ),
        )

    def update(
        self, r: Row, read: Future[dict[str, Any] | None], prior: dict[str, Any] | None
    ) -> Iterator[Call | Outcome]:
        """Yield the call or outcome of a row with an Id: its read, its merge, what the ledger says of it."""
        assert r.id is not None
        if r.refused:
            yield self.outcome(r, Status.INVALID)
            return
        unsettled = prior is not None and prior["status"] in _UNSETTLED
        try:
            latest = read.result()
        except (ClientError, BotoCoreError) as e:
            code, msg = code_and_message(e)
            # a read spends no write: an earlier unknown outcome stays unknown
            yield self.outcome(r, Status.UNKNOWN if unsettled else Status.FAILED, error_code=code, error_message=msg)
            if (u := unreachable(e, unanswered=True)) is not None:
                raise ServiceUnreachable(f"row {r.label} ({r.id}): {u}") from None
            return
        if self.bases is not None and r.id not in self.bases:
            r.note = "not in the base"
            yield self.outcome(r, Status.NOT_FOUND, reason=Reason.NOT_IN_BASE, error_message="not in the base")
            return
        if self.bases is not None and latest is None and self.needs_no_read(r):
            yield self.outcome(r, Status.UNCHANGED)  # no change against the base: nothing to read or send
            return
        base = self.bases[r.id] if self.bases is not None else None
        self.resolve(r, base, latest)
        if (
            r.action == Status.UPDATE
            and prior is not None
            and prior["status"] == Status.SUCCEEDED
            and prior["change_key"] == self.key(r)
        ):
            yield self.outcome(r, Status.SKIPPED, error_message="already succeeded in an earlier run")
        elif r.action == Status.UNCHANGED and unsettled:
            # a crash or an unanswered write left this row unsettled, and the server has the change: it landed
            assert prior is not None
            yield self.outcome(
                r,
                Status.SUCCEEDED,
                error_message="reconciled: the server already had the change",
                last_modified_after=latest["LastModifiedDate"] if latest else None,
                key=prior["change_key"],  # that call's outcome: settled here, not again after the push
            )
        elif r.action != Status.UPDATE:
            yield self.outcome(r, r.action, last_modified_before=r.token)
        else:
            yield self.update_call(r, base if base is not None else row_values(latest))

    def update_call(self, r: Row, merge_base: dict[str, Any]) -> Call:
        """Return a row's UpdateOpportunity, which a ConflictException merges again onto the record as it is now."""
        assert r.payload is not None and r.id is not None
        ident = r.id

        def merged_again(call: Call, error: Exception) -> Outcome | None:
            latest = fetch_opportunity(self.client, self.catalog, ident)
            if latest is None:
                return self.outcome(r, Status.NOT_FOUND, error_code="ResourceNotFoundException")
            self.resolve(r, merge_base, latest)
            if r.action == Status.UNCHANGED:  # our change is on the server (an earlier try landed)
                message = "the server already had the change after a conflict"
                return self.outcome(
                    r, Status.SUCCEEDED, last_modified_after=latest["LastModifiedDate"], error_message=message
                )
            if r.action != Status.UPDATE:
                return self.outcome(r, r.action, last_modified_before=r.token)
            assert r.payload is not None
            call.params, call.fields, call.key, call.before = r.payload, list(r.changes), self.key(r), r.token
            call.kept, call.said, call.notes = [p.field for p in r.kept], _said(r), _listed(r.emptied)
            return None

        return Call(
            r.label,
            UPDATE,
            ident,
            r.payload,
            key=self.key(r),
            fields=list(r.changes),
            decided=True,
            before=r.token,
            kept=[p.field for p in r.kept],
            said=_said(r),
            notes=_listed(r.emptied),
            attempts=self.attempts,
            conflict=merged_again,
            answer=False,
            unknown_note="(the write may have been applied: the next run reads the record back)",
        )


@takes_connection
def push_updates(
    edited: pd.DataFrame | str | Path,
    catalog: Catalog | Connection,
    *,
    ledger: str | Path,
    base: Any = None,
    blank: Blank = "keep",
    extra: Extra = "error",
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    writes_per_second: float = WRITES_PER_SECOND,
    reads_per_second: float = READS_PER_SECOND,
    daily_write_budget: int = DAILY_WRITES,
    max_merge_attempts: int = 3,
    lookahead: int = 16,
    today: date | None = None,
    progress: bool | None = True,
) -> pd.DataFrame:
    """Push the changed rows of ``edited`` to Partner Central, recording each in ``ledger``.

    For each row with changes: read the latest record (prefetched ahead of the writer), merge
    the row's changes onto it (three-way against ``base`` when the server moved on), validate,
    and send UpdateOpportunity with the token of the record it was merged onto. A
    ConflictException re-reads and merges again (``max_merge_attempts``). A row without an
    ``Id`` is sent with CreateOpportunity (see :meth:`_Push.plan_creates` for its
    ClientToken); its new ``Id`` and ``LastModifiedDate`` are in the result and the ledger
    (``operation`` CreateOpportunity), and :func:`opptoolkit.write_results` writes them into the
    results workbook, so its next push updates the row. A rerun with the same ledger sends
    nothing for a row already created (``skipped``, with its Id).

    Parameters
    ----------
    edited, catalog, base, blank, extra
        As for :func:`plan_updates`. Without ``base`` every changed row needs its own
        ``LastModifiedDate`` (as exported); a row without one is ``no_token`` and never sent.
    ledger : path
        Folder of the Parquet ledger. Rerunning with the same ledger skips rows that already
        succeeded and reconciles a row that was in flight at a crash or whose outcome was
        ``unknown`` (read back: if the server has the change it is recorded as succeeded, else
        sent). One push at a time: a second push on the same folder is refused.
    dry_run : bool
        Read and merge but send nothing (same result frame, ``status`` = the planned action).
    writes_per_second, reads_per_second : float
        Client-side pacing (documented quotas: 1 and 10).
    daily_write_budget : int
        Write HTTP attempts (UpdateOpportunity, CreateOpportunity) allowed per rolling 24 h (botocore's retries count),
        counted from the ledger (documented: 10,000). When it runs out the remaining rows are
        ``deferred``; run again later.

    Returns
    -------
    DataFrame
        Per row: ``row`` (the spreadsheet's row number when read from a sheet), ``Id``, ``operation``
        (UpdateOpportunity for a row with an Id, CreateOpportunity for one without),
        ``status`` (succeeded, created, unchanged, skipped, invalid, no_token, not_editable, conflict,
        not_found, failed, unknown, deferred: :class:`opptoolkit.Status`), ``error_code`` (what the
        service or botocore said, such as ``ConflictException`` or ``INVALID_ENUM_VALUE``),
        ``reason`` (why the toolkit settled the row itself: :class:`opptoolkit.Reason`),
        ``error_message``, ``error_codes``, ``error_fields``, ``error_texts`` (each error apart, in parallel:
        its code, the field's API path or "" for the whole row, the message alone; a ``ValidationException``
        lists the service's ``ErrorList``), ``changed_fields``, ``kept_fields`` (edited fields AWS keeps its
        own value of once the record is Approved: :func:`opptoolkit.rules.edit_ignored`; never sent as a
        change, and a row of nothing else is ``not_editable``, no write spent), ``last_modified_before``, ``last_modified_after``,
        ``writes``, ``response`` (:data:`opptoolkit.execute.RESULT_COLUMNS`, the ledger's columns of the same
        names; a row's ``response`` is empty: its new Id and LastModifiedDate have their columns). After the
        rows, one row per AssociateOpportunity / DisassociateOpportunity call the association columns asked for
        (``operation`` says which; the same columns). ``attrs`` holds JSON-safe values only: ``calls``
        (requests per operation), ``ledger`` (its folder) and ``settled``: how many calls that earlier runs
        left unknown (in flight at a crash, or a 5xx) this run read back and settled,
        by status (each is in the ledger, with the reason RECONCILED).
        Ctrl-C stops after the call in flight; the rows not reached are ``deferred``.

    Raises
    ------
    ServiceUnreachable
        At the first connection or credential error (the row in hand is recorded: ``failed``
        if nothing was sent, ``unknown`` if it may have been applied); ``.result`` holds the
        rows recorded so far. Rerun the same push once the cause is fixed.


    Examples
    --------
    >>> import tempfile
    >>> from opptoolkit import read_opportunities
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=["O7000000001"],
    ...                             progress=False, reads_per_second=1000)
    ...     edit = df.copy()
    ...     edit.loc[0, "LifeCycle.NextSteps"] = "Call the CFO on Monday"
    ...     result = push_updates(edit, "Sandbox", endpoint_url=sb.endpoint_url, ledger=tempfile.mkdtemp(), progress=False)
    >>> result[["Id", "status"]].to_dict("records"), result.attrs["calls"]
    ([{'Id': 'O7000000001', 'status': 'succeeded'}], {'GetOpportunity': 1, 'UpdateOpportunity': 1})
    """
    if blank not in BLANK_POLICIES:
        raise ValueError(f"blank must be one of {BLANK_POLICIES}")
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    name, client, progress = conn.catalog, conn.client, conn.progress
    edit, bases = _edited_rows(edited, get_schema(), extra, name, base, blank)
    rows = edit.rows()
    book = Ledger(ledger, create=not dry_run, boto3_session=conn.boto3_session)
    runner = Runner(
        client, book, conn.daily_write_budget, dry_run=dry_run, interrupted="push interrupted before this row"
    )
    push = _Push(client, name, runner, bases, blank, today, max_merge_attempts)
    reads: list[Future[dict[str, Any] | None]] = []
    with running(runner, conn, name), ThreadPoolExecutor(max_workers=4) as pool:
        push.history = book.latest()  # under the lock: no other push is writing
        push.created = book.latest(CREATE, by="change_key")  # by the keyed hash of the request
        push.plan_creates(rows)

        def ahead(i: int) -> None:  # reads run ahead of the writer, up to `lookahead` rows
            for r in rows[len(reads) : i + lookahead]:
                reads.append(
                    pool.submit(fetch_opportunity, client, name, r.id or "")
                    if not push.needs_no_read(r)
                    else _done(None)
                )

        try:
            runner.run(push.items(rows, reads, ahead), total=len(rows), progress=progress, desc="push", unit="row")
            if not runner.stop:  # then the edited association columns, as Associate/DisassociateOpportunity calls
                made = {o["row"]: o["Id"] for o in runner.results if o["status"] == Status.CREATED}
                for r in rows:
                    r.id = r.id if r.id is not None else made.get(r.label)
                read = [f.result() if f.done() and not f.cancelled() and not f.exception() else None for f in reads]
                calls = association_edit_calls(
                    # a row the compare found unchanged in those columns has no association edit to look at
                    ((r.label, r.id, r.edit) for r in rows if any(_may_differ(r, c) for c in ASSOCIATIONS)),
                    name,
                    client=client,
                    base=bases,
                    latest={r.id: x for r, x in zip(rows, read, strict=False) if r.id and x is not None},
                )
                runner.run(calls, progress=progress, desc="associations")
        except ServiceUnreachable as e:
            for f in reads:
                f.cancel()
            e.result = runner.frame()
            raise
    return runner.frame()


#: A row whose newest ledger entry is one of these may have been applied: read it back first.
_UNSETTLED = (Status.IN_FLIGHT, Status.UNKNOWN)


def _said(r: Row) -> str | None:
    """Return what a sent update says: the edits AWS keeps its own value of, the cells a blank kept (never a value)."""
    kept = "sent without these changes: " + "; ".join(f"{p.field}: {p.message}" for p in r.kept) if r.kept else None
    return "; ".join(t for t in (kept, _emptied_note(r)) if t)[:2000] or None


def _emptied_note(r: Row) -> str | None:
    """Return what a row's outcome says of the cells a blank kept: each by its label, and how to clear it."""
    return "; ".join(f"{label_for(p.field)}: {p.message}" for p in r.emptied) or None


def _listed(problems: list[Problem]) -> list[tuple[str, str, str]]:
    """Return problems as an outcome lists its errors apart: ``(code, field's API path, message)``."""
    return [(p.code, p.field, p.message) for p in problems]


def _may_differ(r: Row, column: str) -> bool:
    """Whether ``r`` may differ from its base in ``column`` (not what the column-wise compare cleared)."""
    return not r.same and (r.maybe is None or column in r.maybe)


def _done(value: Any) -> Future[Any]:
    f: Future[Any] = Future()
    f.set_result(value)
    return f
