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
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ._errors import code_and_message, unreachable
from ._gc import gc_paused
from ._status import Reason, Status, counted, first_outcome
from ._values import Blank
from .client import fetch_opportunity, get_opportunities
from .connection import Connection, as_connection, takes_connection
from .exceptions import ServiceUnreachable
from .execute import CREATE, UPDATE, Call, Outcome, Runner, noted, request_of, running
from .frame import to_frame
from .io import read_frame
from .ledger import Ledger, read_ledger
from .partner import association_edit_calls
from .plan import (
    ASSOCIATIONS_ONLY,
    CHANGED_ON_SERVER,
    Bases,
    Edited,
    Row,
    bases_of,
    client_token,
    create_request,
    edited_frame,
    edited_rows,
    ids_of,
    needs_no_read,
    plan_frame,
    plan_new,
    resolve,
    row_values,
)
from .quotas import DAILY_WRITES
from .rules import ASSOCIATIONS
from .schema import ID, Catalog, Schema, get_schema
from .sheets import EXTRA_POLICIES, Extra, choose_base, read_sheet

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
) -> tuple[Edited, Bases | None]:
    """Read the edited rows and their base, and return the rows that may have changed (:func:`opptoolkit.plan.edited_rows`).

    The sheet (when ``edited`` is a path) and the base (given, else the export an edited workbook carries) are read
    here; what is done with them is the plan's. The whole input is refused before any call when the plan refuses it
    (:func:`opptoolkit.plan.edited_frame`: a repeated Id, an unknown column, a row of another catalog).
    """
    if extra not in EXTRA_POLICIES:
        raise ValueError(f"extra must be one of {EXTRA_POLICIES}")
    df = read_sheet(edited, extra=extra) if isinstance(edited, (str, Path)) else edited
    # given, else the export an edited workbook carries (a sheet of new rows only needs none)
    base = choose_base(edited, base, warn=ID in df.columns and any(i is not None for i in ids_of(df[ID])))
    df, ids, labels = edited_frame(df, schema, extra, catalog)
    bases = _base_rows(base)
    return edited_rows(df, ids, labels, bases, schema, catalog, blank), bases


def _base_rows(base: Any) -> Bases | None:
    """Return ``base`` by Id (:func:`opptoolkit.plan.bases_of`).

    A frame (``to_frame`` / ``read_sheet``), a mirror folder, a sheet or Parquet export, or a list of
    GetOpportunity records.
    """
    if base is None:
        return None
    if isinstance(base, (str, Path)):
        base = read_frame(base, extra="keep")  # a base gives the edited columns' values: extra columns do no harm
    if not isinstance(base, pd.DataFrame):
        base = to_frame(list(base))
    return bases_of(base)


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
    reads_per_second: float | None = None,
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
    reads_per_second : float, optional
        Pacing of the reads without a base (default: :func:`opptoolkit.connect`'s).

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

    Notes
    -----
    The association columns (:data:`opptoolkit.rules.ASSOCIATIONS`: related solutions, AWS products, AWS
    Marketplace offers, ...) are not fields of UpdateOpportunity: :func:`push_updates` sends their edits as
    AssociateOpportunity / DisassociateOpportunity calls after the updates. A row whose only edits are
    association columns is planned ``update`` all the same, its ``changes`` and ``changed_fields`` those columns,
    its ``note`` "associations only: sent as AssociateOpportunity / DisassociateOpportunity calls, no
    UpdateOpportunity"; one the push would refuse before any call (past a quota, an offer that is not its ARN) is
    ``invalid``, its ``errors`` saying why.

    Examples
    --------
    Against a base the plan is computed here, with no client and no call: a row whose one edit is an AWS
    product is an ``update`` sent as association calls alone.

    >>> base = pd.DataFrame({"Id": ["O1234567"], "LastModifiedDate": ["2026-01-05T10:00:00Z"],
    ...                      "RelatedEntityIdentifiers.AwsProducts": [[]]})
    >>> edit = base.copy()
    >>> edit.at[0, "RelatedEntityIdentifiers.AwsProducts"] = ["AmazonRedshift"]
    >>> plan = plan_updates(edit, "Sandbox", base=base)
    >>> plan.loc[0, "action"], plan.loc[0, "changed_fields"]
    ('update', ['RelatedEntityIdentifiers.AwsProducts'])
    >>> print(plan.loc[0, "note"])
    associations only: sent as AssociateOpportunity / DisassociateOpportunity calls, no UpdateOpportunity

    Without a base each row's record is read from the service first:

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
        return plan_frame(edit, bases, latest, schema, blank, name, today)


@takes_connection
def _read_many(
    ids: list[str],
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float | None = None,
    progress: bool | None = True,
) -> dict[str, dict[str, Any] | None]:
    """Return the latest record of each Id (None: not found); a plan without a base reads them.

    Only then does a plan need a client. The first read that fails stops the plan; an unreachable service stops
    the reads queued behind it (:func:`opptoolkit.client.get_opportunities`).
    """
    conn = as_connection(catalog)

    def read(ident: str) -> dict[str, Any]:  # an Id with no record is an answer here (the row is not_found)
        return fetch_opportunity(conn.client, conn.catalog, ident) or {ID: ident, _GONE: True}

    with conn.paced():
        records, _ = get_opportunities(
            conn.catalog, ids, client=conn.client, progress=conn.progress, fetch=read, stop_at_failure=True
        )
    by_id = {r[ID]: None if r.get(_GONE) else r for r in records}
    return {i: by_id.get(i) for i in ids}


_GONE = "_gone"


@dataclass
class _Push:
    """One push's planning of its rows into calls and outcomes for the :class:`~opptoolkit.execute.Runner`.

    What every row shares (client, catalog, ledger, base, policy) and the ledger's view of each row: the newest
    update of each Id (``history``) and the newest create of each request (``created``).
    """

    client: Any
    catalog: Catalog
    runner: Runner
    bases: Bases | None
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
        plan_new(new, self.bases, self.schema, self.catalog, self.today)
        for r in new:
            if r.payload is not None and r.action == Status.CREATE:
                r.client_token = client_token(r.payload)
                r.request_key = self.book.key([CREATE, *create_request(r.payload)])

    def needs_no_read(self, r: Row) -> bool:
        """No Id, not in the base, or no change against the base: nothing to read or send."""
        return needs_no_read(r, self.bases, self.schema, self.blank)

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
        if r.emptied:  # the cells a blank kept, after what else the row says (issue #31: clearing is never silent)
            noted(o, r.emptied_items(), r.emptied_note())
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
            call.kept, call.said, call.notes = [p.field for p in r.kept], r.sent_note(), r.emptied_items()
            call.noted = r.emptied_note()
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
            said=r.sent_note(),
            notes=r.emptied_items(),
            noted=r.emptied_note(),
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
    writes_per_second: float | None = None,
    reads_per_second: float | None = None,
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

    The association columns (:data:`opptoolkit.rules.ASSOCIATIONS`) go after the updates and creates, as
    AssociateOpportunity / DisassociateOpportunity calls. A row whose only edits are association columns
    (planned ``update``, noted "associations only: sent as AssociateOpportunity / DisassociateOpportunity calls,
    no UpdateOpportunity": :func:`plan_updates`) is pushed as those calls alone. Its row in the result
    (``operation`` UpdateOpportunity, ``writes`` 0: the calls spend the writes) takes the first of its calls'
    statuses (problems first) and their changed fields, and its ``error_message`` opens with that note and
    counts the calls' statuses; a dry run shows it ``update``.

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
    writes_per_second, reads_per_second : float, optional
        Client-side pacing of a connection made here (default: :func:`opptoolkit.connect`'s).
    daily_write_budget : int
        Write HTTP attempts (UpdateOpportunity, CreateOpportunity, Associate/DisassociateOpportunity: one quota)
        allowed per rolling 24 h (botocore's retries count), counted from the ledger (documented: 10,000). When it
        runs out the remaining rows are ``deferred``; run again later.

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
                    ((r.label, r.id, r.edit) for r in rows if any(r.may_differ(c) for c in ASSOCIATIONS)),
                    name,
                    client=client,
                    base=bases,
                    latest={r.id: x for r, x in zip(rows, read, strict=False) if r.id and x is not None},
                    blank=blank,
                )
                runner.run(calls, progress=progress, desc="associations")
                _roll_up(runner.results, len(rows))
        except ServiceUnreachable as e:
            for f in reads:
                f.cancel()
            e.result = runner.frame()
            raise
    return runner.frame()


def _roll_up(results: list[dict[str, Any]], n: int) -> None:
    """Give each of the first ``n`` results (the rows) that sent nothing itself the outcome of its association calls.

    A row whose only edits are its association columns is planned ``update`` (:meth:`opptoolkit.plan.Row.plan_row`);
    its own outcome, decided before the association calls (the results after the rows), is ``unchanged``: it
    takes their outcome, the first of theirs in :data:`~opptoolkit._status.OUTCOME_ORDER` (problems first), and
    their fields, so that a plan's counts and a push's agree. The ledger keeps the calls, each under its own
    operation; the row spent no write of its own.
    """
    calls: dict[str, list[dict[str, Any]]] = {}
    for c in results[n:]:
        calls.setdefault(str(c["row"]), []).append(c)
    for r in results[:n]:
        made = calls.get(str(r["row"]))
        if r["status"] != Status.UNCHANGED or not made:
            continue
        statuses = [str(c["status"]) for c in made]
        r["status"] = first_outcome(statuses)
        r["changed_fields"] = list(dict.fromkeys(f for c in made for f in c["changed_fields"]))
        said = f"{ASSOCIATIONS_ONLY} ({counted(Counter(statuses))}, listed after the rows)"
        r["error_message"] = "; ".join(t for t in (said, r["error_message"]) if t)[:2000]


#: A row whose newest ledger entry is one of these may have been applied: read it back first.
_UNSETTLED = (Status.IN_FLIGHT, Status.UNKNOWN)


def _done(value: Any) -> Future[Any]:
    f: Future[Any] = Future()
    f.set_result(value)
    return f
