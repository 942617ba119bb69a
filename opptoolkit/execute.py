"""The one ledgered runner of every write: an update, a create, an association, an assignment, a submission, a decision.

A :class:`Call` is one request the toolkit means to make (UpdateOpportunity, CreateOpportunity, AssociateOpportunity,
StartEngagementFromOpportunityTask, ...), labelled by the row of the sheet it came from; an :class:`Outcome` is what
a flow settled without a call (a row unchanged, invalid, not in the base, already done). A flow plans (reads, merges,
validates) and hands its calls and outcomes to a :class:`Runner`, which alone:

* records every outcome, into the result frame and the ledger, in one schema (:data:`RESULT_COLUMNS`, the
  ledger's columns of the same names);
* writes the intent (``in_flight``) to the ledger, fsync'd, before each HTTP request, and the outcome after;
* paces every request (the :class:`~opptoolkit.connection.Pacer` the flow attached) and checks the rolling 24 h
  write budget (:meth:`opptoolkit.ledger.Ledger.writes_since`) before every HTTP attempt, botocore's retries
  included (:class:`Attempts`): a call past it is ``deferred``;
* resumes by the same rules whoever calls it: a call that succeeded for the same change key is ``skipped``; one
  left ``in_flight`` (a crash) or ``unknown`` (a 5xx or no answer: it may have been applied) is sent again with
  the same ``ClientToken`` when the operation takes one (the model's ``idempotencyToken``: the service answers a
  repeated token with the first call's outcome), else read back first (:data:`CHECKS`) and sent only when the
  read shows it did not land; a flow that weighs the ledger itself (a push's rows, which merge against the
  server's record) marks its calls ``decided``;
* sends an update again after a ConflictException through the flow's merge (:attr:`Call.conflict`);
* stops after the call in flight at Ctrl-C (the rest ``deferred``), and at a connection or credential error
  (:class:`~opptoolkit.exceptions.ServiceUnreachable`, its ``.result`` the rows so far);
* and, at the end of a run, reads back every call an earlier run left unsettled that this one did not handle
  (:func:`settle_earlier`).

Errors are worded as :mod:`opptoolkit._errors` words them, for every flow alike.
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import StructureShape
from tqdm.auto import tqdm

from ._errors import code_and_message, error_items, never_sent, unreachable
from ._status import Reason, Status
from ._values import is_blank, to_utc
from .client import fetch_opportunity, iter_summaries
from .connection import Connection, as_connection, bars_disabled, calls_since, handler_attached
from .exceptions import Problem, ServiceUnreachable
from .ledger import FINE, Ledger, LedgerEntry, call_key, with_errors
from .plan import PARTNER_ID, held_values, intent, sent_values
from .quotas import DAILY_WRITES
from .rules import PENDING_SUBMISSION, RELATED, association_key, association_keys
from .schema import Catalog, get_schema, service_model, shape_value

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "CHECKS",
    "RECORD_OPERATIONS",
    "RESULT_COLUMNS",
    "Attempts",
    "BudgetSpent",
    "Call",
    "Outcome",
    "Runner",
    "call_token",
    "client_token_member",
    "failed_tries",
    "list_bound",
    "list_tasks",
    "noted",
    "request_of",
    "run_calls",
    "running",
    "settle_earlier",
    "task_failure",
]

_log = logging.getLogger(__name__)

#: The one schema of every outcome: the result frame's columns, each the ledger's column of the same name (the
#: ledger adds the job, the attempt, the times, the keyed hashes and the request). The results workbook reads these.
#: ``error_codes``, ``error_fields`` and ``error_texts`` list each error apart (:func:`opptoolkit.ledger.with_errors`).
RESULT_COLUMNS = [
    "row",
    "Id",
    "operation",
    "status",
    "error_code",
    "reason",
    "error_message",
    "error_codes",
    "error_fields",
    "error_texts",
    "changed_fields",
    "kept_fields",
    "last_modified_before",
    "last_modified_after",
    "writes",
    "response",
]

_ERRORS = ("error_codes", "error_fields", "error_texts")

UPDATE, CREATE = "UpdateOpportunity", "CreateOpportunity"
#: The operations whose request is an opportunity record: the ledger keeps no member of it but the catalog (a
#: payload's values are customer data).
RECORD_OPERATIONS = (UPDATE, CREATE)

#: A check reads the record back after a crash or an unknown outcome: True when the call's effect is on
#: the server (nothing to send), False when it is not (send it), None when the read cannot tell (send it:
#: only operations whose repetition is harmless may answer None).
Check = Callable[[Any, "Call"], bool | None]


@dataclass
class Outcome:
    """What became of one row or call, as the result frame and the ledger record it (:data:`RESULT_COLUMNS`).

    A flow hands the :class:`Runner` an outcome for what it settled without a call (a row unchanged, invalid,
    already done); the runner makes the others from its calls. ``write`` False keeps it out of the ledger (the
    ledger holds attempts, never an unchanged row, nor anything of a dry run); ``bad_id`` keeps its Id out (a
    cell that is no Id may hold anything).
    """

    row: str
    id: str | None
    operation: str
    status: str
    fields: list[str] = field(default_factory=list)
    key: str | None = None
    error_code: str | None = None
    reason: str | None = None
    error_message: str | None = None
    last_modified_before: datetime | None = None
    last_modified_after: datetime | None = None
    writes: int = 0
    attempt: int = 1
    payload_sha256: str | None = None
    response: str | None = None
    request: str | None = None
    started_at: datetime | None = None
    bad_id: bool = False
    write: bool = True
    kept: list[str] = field(default_factory=list)
    #: each error apart, ``(code, field's API path or "", message alone)``; None: the outcome's one error about the
    #: whole row, if it is no success (:func:`opptoolkit.ledger.with_errors`)
    errors: list[tuple[str, str, str]] | None = None


def _utc(value: Any) -> pd.Timestamp | None:
    """Return a time as a UTC Timestamp (None for none)."""
    return None if is_blank(value) else to_utc(value)


def noted(o: Outcome, notes: Iterable[tuple[str, str, str]], said: str | None) -> None:
    """Add ``notes`` (and ``said``, them in words) to an outcome, after what it says itself.

    Its own errors stay first: those it lists apart, else its one error about the whole row (its code, else the
    toolkit's reason, as :func:`opptoolkit.ledger.with_errors` lists it). A failed or deferred row still names
    the cells a blank kept, so that the analyst fixes both at once.

    Examples
    --------
    >>> o = Outcome(row="2", id="O1", operation="UpdateOpportunity", status="failed", error_code="AccessDenied",
    ...             error_message="not allowed")
    >>> noted(o, [("ACTION_NOT_PERMITTED", "Project.Title", "kept")], "Project title: kept")
    >>> o.errors, o.error_message
    ([('AccessDenied', '', 'not allowed'), ('ACTION_NOT_PERMITTED', 'Project.Title', 'kept')], 'not allowed; Project title: kept')
    """
    own = o.errors
    if own is None:
        code = o.error_code or o.reason
        own = [(str(code), "", o.error_message or "")] if code and o.status not in FINE else []
    o.errors = [*own, *notes]
    o.error_message = "; ".join(t for t in (o.error_message, said) if t)[:2000] or None


#: What a call whose answer was lost may have done, by what it writes: the note of its ``unknown`` outcome.
MAYBE_APPLIED = "(the call may have been applied: the next run checks it first)"


@dataclass
class Call:
    """One request, about one opportunity (or invitation), labelled by its row.

    Parameters
    ----------
    row : str
        The row's label, as the sheet numbers it (else the frame's label).
    operation : str
        The API operation (``AssociateOpportunity``, ...), a name of the service model.
    id : str
        The opportunity's Id (the ledger's ``Id``; empty for a create until the service names it).
    params : dict
        The request, without ``ClientToken`` (derived by :func:`call_token` for an operation that takes one,
        unless ``token`` gives it).
    key : str, optional
        The change key: a rerun skips a call that succeeded for the same key. Default: the ledger's keyed
        hash of the operation, Id and params.
    fields : list of str
        The field paths the call changes (the result's ``changed_fields``).
    salt : int
        Goes into the ClientToken: the caller raises it for a fresh try of a change whose earlier task the
        service settled as failed (the same token would answer with that failure again).
    problems : list of Problem
        Why the call must not be sent (a readiness check, a quota): recorded ``invalid``, no write spent.
    bad_id : bool
        The Id is malformed: the ledger keeps none for the call.
    failure : (str, str), optional
        A read the call needed failed with this code and message: recorded ``failed``, no write spent.
    decided : bool
        The flow weighed the ledger itself (a push's row, merged against the server's record): the runner
        sends it unless interrupted, a dry run or past the budget.
    token : str, optional
        The ClientToken to send (a create's is derived from the row: :func:`opptoolkit.plan.client_token`).
    fingerprint : str, optional
        The ledger's ``payload_sha256`` (default: the keyed hash of the request sent).
    before : datetime, optional
        The LastModifiedDate the request was built on (an update's concurrency token).
    kept : list of str
        Edited fields the request leaves out because AWS keeps its own value of them (the result's
        ``kept_fields``).
    said : str, optional
        What the outcome says when the service took the call (such as the edits it went without).
    notes : list of (str, str, str)
        What that outcome (and a dry run's) lists apart, each ``(code, field's API path, message)``: such as the
        cells emptied in the sheet that the push kept (the result's ``error_fields``); an outcome that did not go
        through lists them after its own error, so that the analyst fixes both at once.
    noted : str, optional
        The ``notes`` in words: what the message of an outcome that did not go through says of them, after its own.
    planned : str
        The status a dry run records for it (``update``; ``create`` for a create).
    success : str
        The status when the service took it (``succeeded``; ``created`` for a push's create, whose row takes the
        Id of the answer).
    attempts : int
        How many times it may go when each try meets a ConflictException (with ``conflict``).
    conflict : callable, optional
        ``conflict(call, error)`` after a ConflictException: an :class:`Outcome` to record, or None when it
        updated the call to send again (an update merged onto the record as it is now). Without it the
        ConflictException is the call's ``failed``.
    unknown_note : str
        What an ``unknown`` outcome says the next run does about it.
    answer : bool
        Keep the service's answer (its non-sensitive members) as the outcome's ``response``; a push's rows keep
        theirs in their own columns (the Id, the LastModifiedDate).
    """

    row: str
    operation: str
    id: str
    params: dict[str, Any]
    key: str | None = None
    fields: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    salt: int = 0
    bad_id: bool = False
    failure: tuple[str, str] | None = None
    decided: bool = False
    token: str | None = None
    fingerprint: str | None = None
    before: datetime | None = None
    kept: list[str] = field(default_factory=list)
    said: str | None = None
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    noted: str | None = None
    planned: str = Status.UPDATE
    success: str = Status.SUCCEEDED
    attempts: int = 1
    conflict: Callable[[Call, Exception], Outcome | None] | None = None
    unknown_note: str = MAYBE_APPLIED
    answer: bool = True


def client_token_member(operation: str) -> str | None:
    """Return the input member that the model marks ``idempotencyToken`` for ``operation``, or None.

    Examples
    --------
    >>> client_token_member("StartEngagementFromOpportunityTask"), client_token_member("AssociateOpportunity")
    ('ClientToken', None)
    """
    shape = service_model().operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return next((name for name, m in shape.members.items() if m.metadata.get("idempotencyToken")), None)


def call_token(call: Call) -> str:
    """Return the ClientToken of a call: derived from its request (and :attr:`Call.salt`) alone.

    The same call sent again -- a retry, a rerun after a crash, another ledger, a colleague -- carries the
    same token, which the service answers with the task it started (model, ClientToken of the ``Start...Task``
    operations: "helps to ensure the idempotency of the request"). A plain SHA-256 as for a create
    (:func:`opptoolkit.plan.client_token`, which says why): it goes to AWS only, with the request it is
    derived from, and never into the ledger.

    Examples
    --------
    >>> call = Call("2", "StartEngagementFromOpportunityTask", "O1", {"Catalog": "Sandbox", "Identifier": "O1"})
    >>> call_token(call) == call_token(Call("7", call.operation, "O1", dict(call.params))), len(call_token(call))
    (True, 75)
    """
    text = json.dumps([call.operation, call.params, call.salt], sort_keys=True, default=str, ensure_ascii=False)
    return "opptoolkit-" + hashlib.sha256(text.encode()).hexdigest()


def _related(client: Any, call: Call) -> set[str] | None:
    """Return what the opportunity is associated with, of the call's kind, by :func:`~opptoolkit.rules.association_key`."""
    rec = fetch_opportunity(client, call.params["Catalog"], call.id)
    if rec is None:
        return None
    return association_keys((rec.get(RELATED) or {}).get(call.params["RelatedEntityType"]))


def _check_associated(client: Any, call: Call) -> bool | None:
    # GetOpportunity page: RelatedEntityIdentifiers "lists the entities the opportunity is associated with"
    # (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_GetOpportunity.html); an offer
    # associated by its ARN is listed by its id (rules.association_key)
    have = _related(client, call)
    return None if have is None else association_key(call.params["RelatedEntityIdentifier"]) in have


def _check_disassociated(client: Any, call: Call) -> bool | None:
    have = _related(client, call)
    return None if have is None else association_key(call.params["RelatedEntityIdentifier"]) not in have


def _check_submitted(client: Any, call: Call) -> bool | None:
    # SubmitOpportunity page: after it "the Opportunity becomes non-editable until it is reviewed by AWS":
    # a record no longer Pending Submission was submitted
    rec = fetch_opportunity(client, call.params["Catalog"], call.id)
    return None if rec is None else (rec.get("LifeCycle") or {}).get("ReviewStatus") != PENDING_SUBMISSION


def _check_assigned(client: Any, call: Call) -> bool | None:
    # AssignOpportunity page: "The specified user receives the opportunity": the assignee is on its team
    rec = fetch_opportunity(client, call.params["Catalog"], call.id)
    if rec is None:
        return None
    email = str(call.params["Assignee"]["Email"]).lower()
    return any(str(m.get("Email", "")).lower() == email for m in rec.get("OpportunityTeam") or [])


_INVITED = shape_value("InvitationStatus", "PENDING")
_REJECTED = shape_value("InvitationStatus", "REJECTED")
_ACCEPTED = shape_value("InvitationStatus", "ACCEPTED")


def _check_rejected(client: Any, call: Call) -> bool | None:
    """Read the invitation back: rejected already (True), still pending (False), else None (cannot tell)."""
    try:
        inv = client.get_engagement_invitation(Catalog=call.params["Catalog"], Identifier=call.params["Identifier"])
    except client.exceptions.ResourceNotFoundException:
        return None
    return {_REJECTED: True, _INVITED: False}.get(inv.get("Status"))


def _check_accepted(client: Any, call: Call) -> bool | None:
    """Read a lead's invitation back: accepted already (True), still pending (False), else None (cannot tell).

    AcceptEngagementInvitation takes no ClientToken (model): a call that may have landed is read back, never
    sent again blind.
    """
    try:
        inv = client.get_engagement_invitation(Catalog=call.params["Catalog"], Identifier=call.params["Identifier"])
    except client.exceptions.ResourceNotFoundException:
        return None
    return {_ACCEPTED: True, _INVITED: False}.get(inv.get("Status"))


#: The read-back of each operation that takes no ClientToken. A call of an operation with neither a
#: token nor a check is refused by the :class:`Runner`: sending it again blind could apply it twice.
CHECKS: dict[str, Check] = {
    "AssociateOpportunity": _check_associated,
    "DisassociateOpportunity": _check_disassociated,
    "SubmitOpportunity": _check_submitted,
    "AssignOpportunity": _check_assigned,
    "RejectEngagementInvitation": _check_rejected,
    "AcceptEngagementInvitation": _check_accepted,
}

#: A call whose newest ledger entry is one of these may have been applied.
_UNSETTLED = (Status.IN_FLIGHT, Status.UNKNOWN)

_TASK_FAILED = shape_value("TaskStatus", "FAILED")


def task_failure(operation: str, answer: Mapping[str, Any]) -> tuple[str | None, str] | None:
    """Return ``(ReasonCode, message)`` when ``answer`` is a task the service settled as FAILED, else None.

    The ``Start...Task`` operations answer 200 with the task; its TaskStatus FAILED (model: ReasonCode
    "Indicates the reason for task failure using an enumerated code", Message "If the task fails, this
    field contains a detailed message describing the failure and possible recovery steps") means the
    work was not done, so the call's outcome is ``failed``. Any operation whose answer has the model's
    TaskStatus member is such a task (a task summary of a List...Tasks answer is read the same way).
    The same ClientToken answers with the same failed task, so a fresh try needs a fresh token: callers
    salt it with :func:`failed_tries`.

    Examples
    --------
    >>> task_failure("StartEngagementFromOpportunityTask", {"TaskStatus": "FAILED", "ReasonCode": "InternalError",
    ...              "Message": "try again"})[0]
    'InternalError'
    >>> task_failure("StartEngagementFromOpportunityTask", {"TaskStatus": "COMPLETE"}) is None
    True
    """
    shape = service_model().operation_model(operation).output_shape
    if shape is None or "TaskStatus" not in shape.members or answer.get("TaskStatus") != _TASK_FAILED:
        return None
    code = answer.get("ReasonCode")
    why = str(answer.get("Message") or "no message").rstrip(".")
    message = (
        f"the task failed ({code}): {why}. Nothing was done. Fix what it names and run again: the next run "
        "starts a new task with a fresh ClientToken (this one would answer with the same failed task)"
    )
    return code, message[:2000]


def failed_tries(book: Ledger, operation: str) -> dict[tuple[str, str], int]:
    """Return how many times each (Id, change key) of ``operation`` ended ``failed``: a :attr:`Call.salt`.

    A call that failed (refused, or a task settled FAILED) is tried again on a rerun with a ClientToken
    salted by this count, so the service starts a new task rather than answer with the failed one.
    """
    df = book.read()
    df = df[(df["operation"] == operation) & (df["status"] == Status.FAILED) & df["change_key"].notna()]
    counts = df.groupby(["Id", "change_key"]).size()
    return {(str(i), str(k)): int(n) for (i, k), n in zip(counts.index.tolist(), counts.tolist(), strict=True)}


class BudgetSpent(Exception):
    """The daily write budget allows no further HTTP attempt: raised before the attempt goes (nothing sent)."""


class Attempts:
    """The HTTP attempts of the call in hand (botocore's retries included), and whether it may have landed.

    botocore emits ``response-received.<service>.<operation>`` once per HTTP attempt, with the response or the
    exception (botocore/endpoint.py, ``_get_response``); a connection that could not be opened sent nothing, and
    an answered 5xx or no answer may have been applied.

    ``allowed`` is what the daily write budget leaves for the call (:meth:`reset`): before each attempt
    (``before-send``, also once per attempt) an attempt past it raises :class:`BudgetSpent` instead of going,
    so neither a merge after a conflict nor a botocore retry spends a write the budget does not have.
    botocore hands an exception raised there back as the attempt's outcome and retries only its own transient
    errors, so it ends the call.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self.maybe_applied = False
        self.allowed: int | None = None

    def reset(self, allowed: int | None = None) -> None:
        """Start counting a new call, which the budget allows ``allowed`` attempts (None: any)."""
        self.attempts, self.maybe_applied, self.allowed = 0, False, allowed

    def before_send(self, **_: Any) -> None:
        """Refuse an attempt past what the budget allows (botocore's ``before-send``: before each attempt)."""
        if self.allowed is not None and self.attempts >= self.allowed:
            raise BudgetSpent

    def on_response(
        self, exception: Exception | None = None, response_dict: dict[str, Any] | None = None, **_: Any
    ) -> None:
        """Count an attempt that went out, and whether it may have landed (botocore's ``response-received``)."""
        if isinstance(exception, BudgetSpent) or never_sent(exception):
            return  # nothing went out: neither a write spent nor one applied
        self.attempts += 1
        if exception is not None or (response_dict or {}).get("status_code", 0) >= 500:
            self.maybe_applied = True

    @contextmanager
    def attached(self, client: Any, *operations: str) -> Iterator[Attempts]:
        """Count the attempts of ``operations`` that ``client`` makes inside the block, within ``allowed``."""
        with ExitStack() as stack:
            for op in operations:
                stack.enter_context(handler_attached(client, "before-send", self.before_send, op))
                stack.enter_context(handler_attached(client, "response-received", self.on_response, op))
            yield self


#: What the result says of a call the budget stopped after an attempt that may have landed.
BUDGET_UNKNOWN = (
    "the daily write budget of {budget} ran out before botocore could retry; the call may have been applied: "
    "the next run checks it first"
)


def _sensitive_free(value: Any, shape: Any) -> Any:
    """``value`` without the members the model marks sensitive (the ledger holds no customer data)."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            k: _sensitive_free(v, shape.members[k])
            for k, v in value.items()
            if k in shape.members and not shape.members[k].metadata.get("sensitive")
        }
    if shape is not None and shape.type_name == "list" and isinstance(value, list):
        return [_sensitive_free(v, shape.member) for v in value]
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def _response(operation: str, out: Mapping[str, Any]) -> dict[str, Any]:
    shape = service_model().operation_model(operation).output_shape
    body = {k: v for k, v in out.items() if k != "ResponseMetadata"}
    return _sensitive_free(body, shape) if shape is not None else {}


def request_of(operation: str, params: Mapping[str, Any]) -> str:
    """Return a request as the ledger keeps it: the members the model does not mark sensitive, without the token.

    What a later run needs to read the call's effect back (the catalog, a solution's id), and no customer value:
    of an update or a create (:data:`RECORD_OPERATIONS`), the catalog only.

    Examples
    --------
    >>> request_of("AssignOpportunity", {"Catalog": "Sandbox", "Identifier": "O1", "Assignee": {"Email": "a@b.co"}})
    '{"Assignee": {}, "Catalog": "Sandbox", "Identifier": "O1"}'
    >>> request_of("UpdateOpportunity", {"Catalog": "Sandbox", "Identifier": "O1", "Project": {"Title": "A"}})
    '{"Catalog": "Sandbox"}'
    """
    if operation in RECORD_OPERATIONS:
        return json.dumps({"Catalog": params.get("Catalog")})
    shape = service_model().operation_model(operation).input_shape
    token = client_token_member(operation)
    body = {k: v for k, v in params.items() if k != token}
    return json.dumps(_sensitive_free(body, shape), sort_keys=True, default=str)


# -- tasks: the Start...Task operations and their List...Tasks ------------------------------------------------

IN_PROGRESS = shape_value("TaskStatus", "IN_PROGRESS")
#: Each Start...Task operation, the List...Tasks operation that reads its tasks back, and that operation's filter by
#: the object the task is about (the opportunity, the invitation).
TASK_LISTS = {
    "StartEngagementFromOpportunityTask": ("ListEngagementFromOpportunityTasks", "OpportunityIdentifier"),
    "StartEngagementByAcceptingInvitationTask": (
        "ListEngagementByAcceptingInvitationTasks",
        "EngagementInvitationIdentifier",
    ),
    # a lead converted into an opportunity: the task is about the engagement (Identifier)
    "StartOpportunityFromEngagementTask": ("ListOpportunityFromEngagementTasks", "EngagementIdentifier"),
}


def list_bound(operation: str, member: str) -> int:
    """Return the most values a list member of ``operation``'s input takes (the model's ``max``).

    Examples
    --------
    >>> list_bound("ListEngagementFromOpportunityTasks", "TaskIdentifier")
    10
    """
    shape = service_model().operation_model(operation).input_shape
    assert shape is not None
    return int(shape.members[member].metadata["max"])


def list_tasks(client: Any, start: str, catalog: str, **filters: list[str]) -> list[dict[str, Any]]:
    """Return the tasks of ``start`` (a Start...Task operation) that match ``filters``, every page.

    Each filter's values go in chunks of the model's bound for that member (``ListEngagementFromOpportunityTasks``
    takes at most 10 ``TaskIdentifier`` values: more is refused). Each task as the answer's non-sensitive
    members, its ``StartTime`` as ISO text.
    """
    operation = TASK_LISTS[start][0]
    ((member, values),) = filters.items()
    size = list_bound(operation, member)
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), size):
        pages = client.get_paginator(xform_name(operation)).paginate(Catalog=catalog, **{member: values[i : i + size]})
        for page in pages:
            out += [_response(start, task) for task in page["TaskSummaries"]]
    return out


# -- settling what an earlier run left unknown -------------------------------------------------------------

#: How far from the ledger's times a call's effect is looked for on the server: the service's clock is not the
#: client's, and a call ends within botocore's timeouts and retries.
_SKEW = timedelta(minutes=10)


def settle_earlier(client: Any, book: Ledger, catalog: Catalog | None, entries: list[dict[str, Any]]) -> dict[str, int]:
    """Settle, by reading the server, each call an earlier run left unsettled and this run did not handle.

    ``entries`` are :meth:`Ledger.unsettled` as read when the run began (the run's own calls are in
    :attr:`Ledger.written` and left out): calls in flight at a crash or unknown after a 5xx or no answer, for
    every operation, and tasks last seen IN_PROGRESS. Each is read back (:func:`_settle`) and its outcome
    recorded with the reason RECONCILED: ``succeeded`` (``created`` with its Id) when the server holds its
    effect, ``failed`` when it does not (it did not land: a later push sends it again if still wanted). A call
    the read cannot tell about (a task still running, an entry of an older ledger without its request) stays as
    it is; a read that fails leaves it too, and a lost connection ends the settling (the run's own work is done).

    Returns how many were settled, by status (JSON-safe: a result frame's ``attrs["settled"]``).
    """
    todo = [e for e in entries if call_key(e["operation"], e["Id"], e["change_key"]) not in book.written]
    todo = [e for e in todo if _catalog(e, catalog) is not None]
    polled = _poll_started(client, todo, catalog)
    counts: Counter[str] = Counter()
    for e in todo:
        try:
            entry = _settle(client, book, catalog, e, polled)
        except (ClientError, BotoCoreError) as err:
            code, msg = code_and_message(err)
            if unreachable(err, unanswered=True) is not None:
                _log.warning("settling the calls an earlier run left unknown stopped: %s: %s", code, msg)
                break
            _log.warning("row %s %s %s: not settled (%s: %s)", e["row"], e["Id"], e["operation"], code, msg)
            continue
        if entry is not None:
            book.write(with_errors(entry))
            counts[entry.status] += 1
            _log.info("row %s %s %s: settled %s", e["row"], entry.Id, e["operation"], entry.status)
    return dict(counts)


def catalog_of(calls: Iterable[Call]) -> Catalog | None:
    """Return the catalog a run's calls are in (None: no call says): where to settle an entry that names none."""
    return next((cast("Catalog", c.params["Catalog"]) for c in calls if c.params.get("Catalog")), None)


def _catalog(entry: Mapping[str, Any], default: Catalog | None) -> Catalog | None:
    """Return the catalog of an entry's call: its request's, else ``default``."""
    request = json.loads(entry["request"]) if isinstance(entry.get("request"), str) and entry["request"] else {}
    return cast("Catalog | None", request.get("Catalog") or default)


def _poll_started(client: Any, entries: list[dict[str, Any]], default: Catalog | None) -> dict[str, dict[str, Any]]:
    """Return the tasks the entries name (by TaskId): one List...Tasks call per chunk the model allows."""
    out: dict[str, dict[str, Any]] = {}
    for start in TASK_LISTS:
        by_catalog: dict[str, list[str]] = {}
        for e in entries:
            if e["operation"] == start and (task := _answer_of(e).get("TaskId")):
                by_catalog.setdefault(str(_catalog(e, default)), []).append(task)
        for cat, ids in by_catalog.items():
            out.update((t["TaskId"], t) for t in list_tasks(client, start, cat, TaskIdentifier=ids))
    return out


def _answer_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    text = entry.get("response")
    return json.loads(text) if isinstance(text, str) and text else {}


def _settle(
    client: Any, book: Ledger, catalog: Catalog | None, e: Mapping[str, Any], polled: Mapping[str, dict[str, Any]]
) -> LedgerEntry | None:
    """Read one unsettled call back: its outcome as a ledger entry, or None when the read cannot tell."""
    op, ident = str(e["operation"]), str(e["Id"])
    request = json.loads(e["request"]) if isinstance(e.get("request"), str) and e["request"] else {}
    cat = cast("Catalog", _catalog(e, catalog))

    def outcome(status: str, message: str, **kw: Any) -> LedgerEntry:
        fields = {
            "job_id": book.job_id,
            "row": str(e["row"]),
            "Id": ident,
            "operation": op,
            "changed_fields": list(e["changed_fields"]),
            "change_key": e["change_key"],
            "request": e.get("request") if isinstance(e.get("request"), str) else None,
            "reason": Reason.RECONCILED,
            "error_message": message,
        }
        return LedgerEntry(status=status, **{**fields, **kw})

    landed = "reconciled: the server has this call's effect"
    missing = "not applied: the server does not hold this call's effect; push again if it is still wanted"
    if op == "UpdateOpportunity":
        rec = fetch_opportunity(client, cat, ident)
        if rec is None:
            return outcome(Status.NOT_FOUND, "the opportunity no longer exists", error_code="ResourceNotFoundException")
        held = held_values(rec, e["changed_fields"], get_schema())
        if book.key(intent(ident, held)) == e["change_key"]:
            return outcome(Status.SUCCEEDED, landed, last_modified_after=rec["LastModifiedDate"])
        return outcome(Status.FAILED, f"{missing} (it did not land, or the record was changed again since)")
    if op == "CreateOpportunity":
        return _settle_create(client, book, cat, e, outcome)
    if op in TASK_LISTS:
        answer = _answer_of(e)
        if answer.get("TaskId"):
            task = polled.get(answer["TaskId"])
        else:  # started or not: the tasks about its object started since
            member = TASK_LISTS[op][1]
            since = pd.Timestamp(e["started_at"]) - _SKEW
            found = [
                t
                for t in list_tasks(client, op, cat, **{member: [ident]})
                if pd.Timestamp(str(t.get("StartTime"))) >= since
            ]
            task = min(found, key=lambda t: str(t.get("StartTime"))) if found else None
            if task is None:
                return outcome(Status.FAILED, "not started: no task for it on the server; run again to start one")
        if task is None or (task.get("TaskStatus") == IN_PROGRESS and e["status"] == Status.SUCCEEDED):
            return None  # still running (or not listed yet): a later run finishes it
        failure = task_failure(op, task)
        response = json.dumps(task, sort_keys=True, default=str)
        if failure is not None:
            return outcome(Status.FAILED, failure[1], error_code=failure[0], response=response)
        return outcome(Status.SUCCEEDED, f"{landed}: the task is {task.get('TaskStatus')}", response=response)
    if op == "AssignOpportunity":
        rec = fetch_opportunity(client, cat, ident)
        if rec is None:
            return outcome(Status.NOT_FOUND, "the opportunity no longer exists", error_code="ResourceNotFoundException")
        for person in _assignees(rec):
            if book.key([op, ident, {"Catalog": cat, "Identifier": ident, "Assignee": person}]) == e["change_key"]:
                return outcome(Status.SUCCEEDED, landed)
        return outcome(Status.FAILED, f"{missing} (no one on the opportunity's team is the assignee it named)")
    check = CHECKS.get(op)
    if check is None or not request:
        return None  # an operation without a read-back, or an older ledger's entry without its request
    found_ = check(client, Call(str(e["row"]), op, ident, {**request, "Catalog": cat}))
    if found_ is None:
        return None
    return outcome(Status.SUCCEEDED, landed) if found_ else outcome(Status.FAILED, missing)


def _assignees(record: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Each team member as an AssignOpportunity ``Assignee`` could have named them (all members, the required)."""
    shape = service_model().shape_for("AssigneeContact")
    assert isinstance(shape, StructureShape)
    for m in record.get("OpportunityTeam") or []:
        yield {k: m[k] for k in shape.members if k in m}
        yield {k: m[k] for k in shape.required_members if k in m}


def _settle_create(
    client: Any, book: Ledger, catalog: Catalog, e: Mapping[str, Any], outcome: Callable[..., LedgerEntry]
) -> LedgerEntry | None:
    """Look for the opportunity an unsettled create made: among those created about then, the one it names.

    Its partner CRM id (ListOpportunities' summaries carry it; the change key is the ledger's keyed hash of it),
    else the values it sent (its ``payload_sha256``: the keyed hash of :func:`opptoolkit.plan.sent_values`), read
    with one GetOpportunity per opportunity created then without a CRM id.
    """
    if e["payload_sha256"] == e["change_key"]:
        return None  # an older ledger's create: no fingerprint of its values to look for
    started = pd.Timestamp(e["started_at"]).to_pydatetime()
    ended = pd.Timestamp(e["finished_at"]).to_pydatetime() if pd.notna(e.get("finished_at")) else started
    made = list(iter_summaries(catalog, client=client, created_after=started - _SKEW, created_before=ended + _SKEW))
    for s in made:
        crm = s.get(PARTNER_ID)
        if crm and book.key(["CreateOpportunity", PARTNER_ID, catalog, crm]) == e["change_key"]:
            return _created(outcome, s)
    for s in made:
        if s.get(PARTNER_ID):
            continue
        rec = fetch_opportunity(client, catalog, s["Id"])
        if (
            rec is not None
            and book.key(sent_values(held_values(rec, e["changed_fields"], get_schema()))) == e["payload_sha256"]
        ):
            return _created(outcome, rec)
    return outcome(
        Status.FAILED,
        "not created: no opportunity created about then holds what it sent; push the row again to create it (the "
        "same row sends the same ClientToken, which AWS answers with the opportunity if it was created)",
    )


def _created(outcome: Callable[..., LedgerEntry], record: Mapping[str, Any]) -> LedgerEntry:
    return outcome(
        Status.CREATED,
        "reconciled: the server has the opportunity this call created",
        Id=str(record["Id"]),
        last_modified_after=record.get("LastModifiedDate"),
    )


class Runner:
    """Sends calls and records outcomes, each exactly once across crashes and reruns of one ledger.

    Inside :func:`running` (which holds the ledger, attaches the pacer, watches Ctrl-C and settles what earlier
    runs left at the end), :meth:`run` takes a flow's calls and outcomes in order. ``used`` is the write budget
    already spent (:meth:`Ledger.writes_since`); each call's HTTP attempts add to it.

    Parameters
    ----------
    client : partnercentral-selling client
        The client every call goes through.
    book : Ledger
        The ledger (its lock held by :func:`running`, unless a dry run).
    budget : int
        Write HTTP attempts allowed per rolling 24 h.
    checks : mapping, optional
        Read-back checks by operation (default :data:`CHECKS`).
    dry_run : bool
        Send nothing and write nothing: each call is recorded with its planned status.
    interrupted : str
        What an outcome says of a row or call Ctrl-C left unsent.
    """

    def __init__(
        self,
        client: Any,
        book: Ledger,
        budget: int = DAILY_WRITES,
        *,
        checks: Mapping[str, Check] | None = None,
        dry_run: bool = False,
        interrupted: str = "interrupted before this call",
    ) -> None:
        self.client, self.book, self.budget, self.dry_run = client, book, budget, dry_run
        self.checks: Mapping[str, Check] = CHECKS if checks is None else checks
        self.interrupted_message = interrupted
        self.used = 0
        self.stop = False
        self.results: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        #: what the run settled of the calls earlier runs left unknown, by status (:func:`settle_earlier`)
        self.settled: dict[str, int] = {}
        self._history: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._seen: set[str] = set()
        self.wire = Attempts()
        #: the connection a run paces its calls by (:func:`running`), and what its pacer had counted before
        self.connection: Connection | None = None
        self._calls_before: dict[str, int] = {}

    # -- the ledger's view of a call ---------------------------------------------------------------------------

    def _prior(self, call: Call) -> dict[str, Any] | None:
        if call.operation not in self._seen:
            self._seen.add(call.operation)
            for (ident, key), entry in self.book.latest_by_key(call.operation).items():
                self._history[(call.operation, ident, key)] = entry
        return self._history.get((call.operation, call.id, self.key(call)))

    def key(self, call: Call) -> str:
        """Return the call's change key: given, else the ledger's keyed hash of its operation, Id and params."""
        if call.key is None:
            call.key = self.book.key([call.operation, call.id, call.params])
        return call.key

    def token(self, call: Call) -> str:
        """Return the call's ClientToken: given, else :func:`call_token` (the same on every rerun, from any ledger)."""
        return call.token if call.token is not None else call_token(call)

    # -- outcomes ----------------------------------------------------------------------------------------------

    def outcome(self, call: Call, status: str, **kw: Any) -> Outcome:
        """Return an outcome of ``call``: its row, Id, operation, fields, change key and request, and ``kw``."""
        fields: dict[str, Any] = {
            "row": call.row,
            "id": call.id,
            "operation": call.operation,
            "status": status,
            "fields": list(call.fields),
            "kept": list(call.kept),
            "key": self.key(call),
            "bad_id": call.bad_id,
            "request": None if call.bad_id else request_of(call.operation, call.params),
            # what the call's notes list, when it went through (or a dry run plans it); an error lists its own
            "errors": list(call.notes) if call.notes and status in (call.success, call.planned) else None,
        }
        if status == call.planned and call.said:
            fields["error_message"] = call.said  # a dry run says what the push will say when the service takes it
        o = Outcome(**{**fields, **kw})
        if call.notes and status not in (call.success, call.planned):
            noted(o, call.notes, call.noted)
        return o

    def record(self, o: Outcome, at: int | None = None) -> LedgerEntry:
        """Record an outcome: a row of the result frame and, unless it is kept out (see :class:`Outcome`), the ledger.

        ``at``: the result row of the same call that this later outcome settles (a task that ended after its
        start was recorded): that row takes its status, codes, message and answer, and keeps what the call spent.
        """
        self.counts[o.status] += 1
        # in UTC, whatever zone botocore parsed an answer's time into (its own tzlocal() or tzutc())
        o.last_modified_before, o.last_modified_after = _utc(o.last_modified_before), _utc(o.last_modified_after)
        entry = LedgerEntry(
            job_id=self.book.job_id,
            row=o.row,
            Id="" if o.bad_id else (o.id or ""),
            status=o.status,
            operation=o.operation,
            error_code=o.error_code,
            error_message=o.error_message,
            reason=o.reason,
            changed_fields=list(o.fields),
            last_modified_before=o.last_modified_before,
            last_modified_after=o.last_modified_after,
            attempt=o.attempt,
            writes=o.writes,
            payload_sha256=o.payload_sha256,
            change_key=o.key,
            response=o.response,
            request=o.request,
        )
        if o.started_at is not None:
            entry.started_at = o.started_at
        with_errors(entry, o.errors)
        if o.write and not self.dry_run and o.status != Status.UNCHANGED:  # the ledger holds attempts
            self.book.write(entry)
        if o.key is not None:
            self._history[(o.operation, o.id or "", o.key)] = {"status": o.status, "response": o.response}
        row = {
            "row": o.row,
            "Id": o.id,
            "operation": o.operation,
            "status": o.status,
            "error_code": o.error_code,
            "reason": o.reason,
            "error_message": o.error_message,
            "error_codes": entry.error_codes,
            "error_fields": entry.error_fields,
            "error_texts": entry.error_texts,
            "changed_fields": list(o.fields),
            "kept_fields": list(o.kept),
            "last_modified_before": o.last_modified_before,
            "last_modified_after": o.last_modified_after,
            "writes": o.writes,
            "response": json.loads(o.response) if o.response else None,
        }
        if at is None:
            self.results.append(row)
        else:
            self.results[at].update(
                {k: row[k] for k in ("status", "error_code", "reason", "error_message", *_ERRORS, "response")}
            )
        _log.info("row %s %s %s: %s %s", o.row, o.id, o.operation, o.status, o.error_code or "")
        return entry

    def interrupted(self, **kw: Any) -> Outcome:
        """Return the outcome of a row or call Ctrl-C left unsent (``kw``: its row, Id, operation, ...)."""
        return Outcome(status=Status.DEFERRED, reason=Reason.INTERRUPTED, error_message=self.interrupted_message, **kw)

    def deferred(self, call: Call, **kw: Any) -> Outcome:
        """Return the outcome of a call the daily write budget leaves for a later run."""
        message = f"daily write budget of {self.budget} used; run again later"
        return self.outcome(call, Status.DEFERRED, reason=Reason.DAILY_BUDGET, error_message=message, **kw)

    def invalid(self, call: Call) -> Outcome:
        """Return the outcome of a call refused before sending (no write spent); never a sensitive value."""
        message = "; ".join(f"{p.field}: {p.code}: {p.message}" for p in call.problems)[:2000]
        errors = [(p.code, p.field, p.message) for p in call.problems]
        return self.outcome(
            call, Status.INVALID, error_code=call.problems[0].code, error_message=message, errors=errors
        )

    # -- running ------------------------------------------------------------------------------------------------

    def run(
        self,
        items: Iterable[Call | Outcome],
        *,
        total: int | None = None,
        progress: bool | None = True,
        desc: str = "calls",
        unit: str = "call",
    ) -> None:
        """Take each call (decide and do what it needs: :meth:`one`) and each outcome (record it), in order."""
        if total is None:
            items = list(items)
            total = len(items)
        with tqdm(total=total, desc=desc, unit=unit, disable=bars_disabled(progress)) as bar:
            for item in items:
                if isinstance(item, Outcome):
                    self.record(item)
                else:
                    self.one(item)
                bar.update(1)
                bar.set_postfix(dict(self.counts), refresh=False)

    def one(self, call: Call) -> None:
        """Decide and do what one call needs."""
        if self.stop:
            message = self.interrupted_message
            self.record(self.outcome(call, Status.DEFERRED, reason=Reason.INTERRUPTED, error_message=message))
        elif call.decided:
            self._decided(call)
        else:
            self._resumed(call)

    def _decided(self, call: Call) -> None:
        if self.dry_run:
            self.record(self.outcome(call, call.planned, last_modified_before=call.before, write=False))
        elif self.used >= self.budget:
            self.record(self.deferred(call))
        else:
            self.used += self.send(call)

    def _resumed(self, call: Call) -> None:
        """Apply the ledger's rules to a call: skip what succeeded, settle what may have landed, then send."""
        token = client_token_member(call.operation)
        if token is None and call.operation not in self.checks:
            raise ValueError(
                f"{call.operation} takes no ClientToken and has no read-back check: it cannot be sent exactly once"
            )
        prior = self._prior(call)
        if prior is not None and prior["status"] in (Status.SUCCEEDED, Status.SKIPPED):
            previous = prior["response"] if isinstance(prior.get("response"), str) else None
            message = "already succeeded in an earlier run"
            self.record(self.outcome(call, Status.SKIPPED, write=False, error_message=message, response=previous))
            return
        unsettled = prior is not None and prior["status"] in _UNSETTLED
        # a call that may have landed is settled first (resent with its token, or read back): what made it
        # look refused now (an opportunity already Submitted) may be its own doing
        if call.problems and not unsettled:
            self.record(self.invalid(call))
            return
        if call.failure is not None and not unsettled:
            code, message = call.failure
            self.record(self.outcome(call, Status.FAILED, error_code=code, error_message=message[:2000]))
            return
        if self.dry_run:
            self.record(self.outcome(call, call.planned, write=False))
            return
        if unsettled and token is None:
            try:
                landed = self.checks[call.operation](self.client, call)
            except (ClientError, BotoCoreError) as e:
                code, msg = code_and_message(e)
                self.record(self.outcome(call, Status.UNKNOWN, error_code=code, error_message=msg))  # no write spent
                if (u := unreachable(e, unanswered=True)) is not None:
                    raise ServiceUnreachable(f"row {call.row} ({call.id}): {u}") from None
                return
            if landed:
                message = "reconciled: the server already had the change"
                self.record(self.outcome(call, Status.SUCCEEDED, error_message=message))
                return
        if call.problems and not (unsettled and token is not None):
            self.record(self.invalid(call))
            return
        if self.used >= self.budget:
            self.record(self.deferred(call))
            return
        self.used += self.send(call)

    def send(self, call: Call) -> int:
        """Send one call: the intent first, then each HTTP attempt, then its outcome; returns the attempts spent.

        A ConflictException goes to the call's ``conflict`` (an update merged again onto the record as it is now,
        and sent again, up to ``attempts`` times).
        """
        token = client_token_member(call.operation)
        started = datetime.now(UTC)
        wire = self.wire
        wire.reset(allowed=self.budget - self.used)
        method = getattr(self.client, xform_name(call.operation))
        with wire.attached(self.client, call.operation):
            for attempt in range(1, call.attempts + 1):
                params = dict(call.params)
                if token is not None:
                    params[token] = self.token(call)
                digest = call.fingerprint if call.fingerprint is not None else self.book.key(params)
                at: dict[str, Any] = {"attempt": attempt, "payload_sha256": digest, "started_at": started}
                # the intent first: a crash from here on leaves an in-flight entry the next run settles
                self.book.write(
                    LedgerEntry(
                        job_id=self.book.job_id,
                        row=call.row,
                        Id="" if call.bad_id else call.id,
                        status=Status.IN_FLIGHT,
                        operation=call.operation,
                        changed_fields=list(call.fields),
                        last_modified_before=call.before,
                        change_key=self.key(call),
                        request=request_of(call.operation, call.params),
                        **at,
                    )
                )
                try:
                    out = method(**params)
                except BudgetSpent:
                    self.record(self._spent(call, writes=wire.attempts, last_modified_before=call.before, **at))
                    return wire.attempts
                except self.client.exceptions.ConflictException as e:
                    if call.conflict is None:
                        self._failed(call, e, **at)
                        return wire.attempts
                    try:
                        settled = call.conflict(call, e)  # the flow reads the record as it is now and merges again
                    except (ClientError, BotoCoreError) as err:
                        self._failed(call, err, **at)
                        return wire.attempts
                    wire.maybe_applied = False  # the record as it is now is known
                    if settled is not None:
                        settled.writes, settled.attempt, settled.started_at = wire.attempts, attempt, started
                        self.record(settled)
                        return wire.attempts
                    continue
                except (ClientError, BotoCoreError) as e:
                    self._failed(call, e, **at)
                    return wire.attempts
                self.record(self._answered(call, out, writes=wire.attempts, **at))
                return wire.attempts
        message = f"still conflicting after {call.attempts} merges"
        self.record(
            self.outcome(
                call,
                Status.CONFLICT,
                error_code="ConflictException",
                error_message=message,
                last_modified_before=call.before,
                writes=wire.attempts,
                attempt=call.attempts,
                started_at=started,
            )
        )
        return wire.attempts

    def _answered(self, call: Call, out: Mapping[str, Any], **kw: Any) -> Outcome:
        """Return the outcome of a call the service answered: its status (a task's too), its new Id, its answer."""
        answer = _response(call.operation, out)
        failure = task_failure(call.operation, answer)
        keep = answer and call.answer
        o = self.outcome(
            call,
            call.success if failure is None else Status.FAILED,
            error_code=None if failure is None else failure[0],
            error_message=call.said if failure is None else failure[1],
            last_modified_before=call.before,
            last_modified_after=out.get("LastModifiedDate"),
            response=json.dumps(answer, sort_keys=True, default=str) if keep else None,
            **kw,
        )
        if call.success == Status.CREATED:
            o.id = str(out["Id"])  # the row is the opportunity the service made
        return o

    def _spent(self, call: Call, **kw: Any) -> Outcome:
        """Return the outcome of a call whose next HTTP attempt the daily write budget did not allow."""
        if not self.wire.maybe_applied:
            return self.deferred(call, **kw)
        # an earlier attempt of it may have landed (a 500): the next run checks it
        return self.outcome(call, Status.UNKNOWN, error_message=BUDGET_UNKNOWN.format(budget=self.budget), **kw)

    def _failed(self, call: Call, e: Exception, **kw: Any) -> None:
        """Record a call whose request raised ``e``: unknown when it may have landed, else failed.

        Stops the run when no further call can succeed (a lost connection, refused credentials).
        """
        code, msg = code_and_message(e)
        status = Status.UNKNOWN if self.wire.maybe_applied else Status.FAILED
        if status == Status.UNKNOWN:
            msg = f"{msg} {call.unknown_note}"
        self.record(
            self.outcome(
                call,
                status,
                error_code=code,
                error_message=msg[:2000],
                errors=None if status == Status.UNKNOWN else error_items(e),  # unknown: its message says why
                last_modified_before=call.before,
                writes=self.wire.attempts,
                **kw,
            )
        )
        if (u := unreachable(e, unanswered=True)) is not None:
            raise ServiceUnreachable(f"row {call.row} ({call.id or 'new'}): {u}") from None

    def poll(self, calls: Iterable[Call], every: float, timeout: float) -> list[int]:
        """Poll the tasks ``calls`` started (answered IN_PROGRESS) until each is done or ``timeout`` seconds pass.

        Each ``Start...Task`` operation's tasks are read back with its ``List...Tasks`` (:data:`TASK_LISTS`), at
        most the model's bound of TaskIdentifier values per call (:func:`list_tasks`), every ``every`` seconds.
        A task that ends is the call's later outcome (:meth:`record` with ``at``: its result row takes the task's
        status, codes and answer), in the ledger under the call's change key (a read: no write spent); one still
        IN_PROGRESS at the timeout stays so, in the result and the ledger, and the next run on the ledger
        finishes it (:func:`settle_earlier`). A failed List call is retried at the next poll; a lost connection
        stops the run (:class:`~opptoolkit.exceptions.ServiceUnreachable`). Returns the result rows still
        IN_PROGRESS.
        """
        by_row = {(c.row, c.id, c.operation): c for c in calls if c.operation in TASK_LISTS}
        waiting: dict[str, tuple[int, Call]] = {}
        for n, r in enumerate(self.results):
            call = by_row.get((r["row"], r["Id"], r["operation"]))
            answer = r.get("response")
            if (
                call is not None
                and r["status"] in (Status.SUCCEEDED, Status.SKIPPED)
                and isinstance(answer, dict)
                and answer.get("TaskStatus") == IN_PROGRESS
            ):
                waiting[str(answer["TaskId"])] = (n, call)
        deadline = time.monotonic() + timeout
        while waiting:
            groups: dict[tuple[str, str], list[str]] = {}
            for task_id, (_, call) in waiting.items():
                groups.setdefault((call.operation, str(call.params["Catalog"])), []).append(task_id)
            for (operation, catalog), ids in groups.items():
                try:
                    tasks = list_tasks(self.client, operation, catalog, TaskIdentifier=ids)
                except (ClientError, BotoCoreError) as e:
                    if (u := unreachable(e, unanswered=True)) is not None:
                        raise ServiceUnreachable(f"polling the {operation} tasks: {u}") from None
                    code, msg = code_and_message(e)
                    _log.warning("%s failed (%s: %s); polling again", TASK_LISTS[operation][0], code, msg)
                    continue
                for task in tasks:
                    if task.get("TaskStatus") == IN_PROGRESS or str(task.get("TaskId")) not in waiting:
                        continue
                    n, call = waiting.pop(str(task["TaskId"]))
                    failure = task_failure(operation, task)  # as a task the service answered with is read
                    ended = self.outcome(
                        call,
                        Status.SUCCEEDED if failure is None else Status.FAILED,
                        error_code=None if failure is None else failure[0],
                        error_message=None if failure is None else failure[1],
                        response=json.dumps(task, sort_keys=True, default=str),
                    )
                    self.record(ended, at=n)  # the same call's later outcome: in the ledger (a read: no write)
            if not waiting or self.stop or time.monotonic() >= deadline:
                break  # Ctrl-C: what is still running stays IN_PROGRESS, for the next run
            time.sleep(every)
        return sorted(n for n, _ in waiting.values())

    def frame(self) -> pd.DataFrame:
        """Return the result frame: one row per outcome (:data:`RESULT_COLUMNS`); ``attrs`` JSON-safe values only.

        ``attrs["calls"]``: the requests of this run, by operation (inside :func:`running`: those its connection's
        pacer counted since the run began, whatever verbs share the connection).
        """
        df = pd.DataFrame(self.results, columns=RESULT_COLUMNS)
        if self.connection is not None:
            df.attrs["calls"] = calls_since(self.connection, self._calls_before)
        df.attrs["ledger"] = str(self.book.path)
        df.attrs["settled"] = dict(self.settled)
        return df


@contextmanager
def running(runner: Runner, conn: Connection, catalog: Catalog | None) -> Iterator[Runner]:
    """Hold ``runner``'s ledger for a run (unless a dry run), pace it by ``conn``, and settle what earlier runs left.

    Inside the block: the ledger is locked (a second run on it is refused), every call is paced by the
    connection's pacer (:meth:`~opptoolkit.connection.Connection.paced`: shared with every verb that uses the
    connection; its write bucket starts from the ledger's last write: the quota's second does not restart with a
    new run), Ctrl-C stops after the call in flight (the rest ``deferred``), and :attr:`Runner.used` is the
    budget spent in the last 24 h. At the end of a run that was neither a dry run nor interrupted, every call an
    earlier run left unsettled and this one did not handle is read back (:func:`settle_earlier`; ``catalog`` is
    where to read an entry that names none).
    """
    book = runner.book
    runner.connection, runner._calls_before = conn, dict(conn.pacer.calls)
    with (
        book.lock() if not runner.dry_run else nullcontext(),
        conn.paced(),
        _interruptible(runner),
    ):
        unsettled = book.unsettled()  # under the lock: no other run is writing
        runner.used = book.writes_since()
        if (last := book.last_write()) is not None:
            conn.pacer.wrote_at(last)
        yield runner
        if not runner.dry_run and not runner.stop:
            runner.settled = settle_earlier(runner.client, book, catalog, unsettled)


@contextmanager
def _interruptible(runner: Runner) -> Iterator[None]:
    """Ctrl-C stops after the call in flight; the calls not reached are ``deferred``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        runner.stop = True
        _log.warning("interrupt: stopping after the call in flight")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_calls(
    calls: Iterable[Call],
    *,
    ledger: str | Path,
    connection: Connection | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    checks: Mapping[str, Check] | None = None,
    dry_run: bool = False,
    writes_per_second: float | None = None,
    reads_per_second: float | None = None,
    daily_write_budget: int = DAILY_WRITES,
    progress: bool | None = True,
    desc: str = "calls",
    poll_seconds: float = 2.0,
    timeout: float = 300.0,
) -> pd.DataFrame:
    """Send ``calls`` in order, each exactly once across crashes and reruns of the same ``ledger``.

    A task a call started that the service answered IN_PROGRESS (the ``Start...Task`` operations are
    asynchronous) is then polled to its end (:meth:`Runner.poll`).

    Parameters
    ----------
    calls : iterable of Call
        The requests, each labelled by its row.
    ledger : path
        The ledger folder (the one :func:`opptoolkit.push_updates` takes); held for the run.
    connection : Connection, optional
        The connection to call through (its client, pacer, budget, progress and session); without it, one is made
        from ``client`` / ``boto3_session`` / ``endpoint_url`` and the pacing, budget and progress keywords.
    checks : mapping, optional
        Read-back checks by operation, over :data:`CHECKS`.
    dry_run : bool
        Send nothing; each call's ``status`` is ``update`` (would be sent), ``skipped`` or ``invalid``.
    writes_per_second, reads_per_second, daily_write_budget
        As for :func:`opptoolkit.push_updates` (rates: None, the default, is :func:`opptoolkit.quotas.rates`).
    poll_seconds, timeout : float
        How often and how long to poll the tasks answered IN_PROGRESS; one still running at the timeout stays
        IN_PROGRESS (its ``response``), in the result and the ledger, and the next run on the ledger finishes it.

    Returns
    -------
    DataFrame
        One row per call (:data:`RESULT_COLUMNS`): ``status`` as :class:`opptoolkit.Status` (succeeded,
        skipped, invalid, failed, unknown, deferred), ``error_code``, ``reason``, ``error_message``,
        ``writes`` (HTTP attempts), ``response`` (the answer's non-sensitive members).

    Raises
    ------
    ServiceUnreachable
        At a connection or credential error; ``.result`` holds the rows so far.
    """
    calls = list(calls)
    catalog = catalog_of(calls)
    conn = as_connection(
        connection or cast("Catalog", catalog),  # the calls name their catalog; a connection's is only a label
        client=client,
        boto3_session=boto3_session,
        endpoint_url=endpoint_url,
        reads_per_second=reads_per_second,
        writes_per_second=writes_per_second,
        daily_write_budget=daily_write_budget,
        progress=progress,
    )
    runner = Runner(
        conn.client,
        Ledger(ledger, create=not dry_run, boto3_session=conn.boto3_session),
        conn.daily_write_budget,
        checks={**CHECKS, **(checks or {})},
        dry_run=dry_run,
    )
    with running(runner, conn, catalog):
        try:
            runner.run(calls, progress=conn.progress, desc=desc)
            if not dry_run:
                runner.poll(calls, poll_seconds, timeout)  # each task answered IN_PROGRESS, to its end
        except ServiceUnreachable as e:
            e.result = runner.frame()
            raise
    return runner.frame()
