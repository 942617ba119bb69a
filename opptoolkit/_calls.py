"""A ledgered executor for the calls that are not UpdateOpportunity: one call, one row of the result.

A :class:`Call` is one request the toolkit means to make about one opportunity (Associate, Disassociate,
Assign, Submit, StartEngagementFromOpportunityTask, ...), labelled by the row of the sheet it came from.
:func:`run_calls` sends them as :func:`opptoolkit.push_updates` sends updates:

* paced by the client :class:`~opptoolkit.Pacer` (every operation but the quota page's read actions
  on the 1-per-second write bucket) and counted against the rolling 24 h write budget
  (:meth:`opptoolkit.ledger.Ledger.writes_since`);
* the intent (``in_flight``) is in the ledger, fsync'd, before the request goes, the outcome after;
* a rerun skips a call that already succeeded for the same change key; a call left ``in_flight`` (a crash)
  or ``unknown`` (a 5xx or no answer: it may have been applied) is sent again with the same ``ClientToken``
  when the operation takes one (the model's ``idempotencyToken``: the service answers a repeated token
  with the first call's outcome), else reconciled first by reading the record back (a per-operation
  :data:`CHECKS`), and sent only when the read shows it did not land;
* errors are worded as the push words them (:mod:`opptoolkit._errors`), and a connection or credential
  error stops the run with :class:`~opptoolkit.exceptions.ServiceUnreachable`, its ``.result`` holding the
  rows so far.
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import threading
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
from .client import fetch_opportunity, list_opportunities
from .connection import Pacer, get_client, handler_attached
from .exceptions import Problem, ServiceUnreachable
from .ledger import Ledger, LedgerEntry, call_key, with_errors
from .plan import PARTNER_ID, held_values, intent, sent_values
from .quotas import DAILY_WRITES, READS_PER_SECOND, WRITES_PER_SECOND
from .rules import PENDING_SUBMISSION, RELATED, association_key
from .schema import Catalog, get_schema, service_model

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "CHECKS",
    "RESULT_COLUMNS",
    "Attempts",
    "BudgetSpent",
    "Call",
    "CallRunner",
    "call_token",
    "client_token_member",
    "failed_tries",
    "list_bound",
    "list_tasks",
    "request_of",
    "run_calls",
    "settle_earlier",
    "task_failure",
]

_log = logging.getLogger(__name__)

#: The result frame's columns: push_updates' own, with the operation and the service's answer. ``error_codes``,
#: ``error_fields`` and ``error_texts`` list each error apart (:func:`opptoolkit.ledger.with_errors`).
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
    "last_modified_before",
    "last_modified_after",
    "writes",
    "response",
]

#: A check reads the record back after a crash or an unknown outcome: True when the call's effect is on
#: the server (nothing to send), False when it is not (send it), None when the read cannot tell (send it:
#: only operations whose repetition is harmless may answer None).
Check = Callable[[Any, "Call"], bool | None]


@dataclass
class Call:
    """One request about one opportunity.

    Parameters
    ----------
    row : str
        The row's label, as the sheet numbers it (else the frame's label).
    operation : str
        The API operation (``AssociateOpportunity``, ...), a name of the service model.
    id : str
        The opportunity's Id (the ledger's ``Id``).
    params : dict
        The request, without ``ClientToken`` (derived from the ledger for an operation that takes one).
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
    """

    row: str
    operation: str
    id: str
    params: dict[str, Any]
    key: str | None = None
    fields: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    salt: int = 0
    #: the Id is no Id of the operation (a problem says so): the ledger does not keep it (it may hold anything)
    bad_id: bool = False
    #: what a read this call needed answered instead, ``(code, message)``: recorded ``failed``, nothing sent
    failure: tuple[str, str] | None = None


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
    return {association_key(v) for v in (rec.get(RELATED) or {}).get(call.params["RelatedEntityType"]) or []}


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


_INVITED, _REJECTED, _ACCEPTED = "PENDING", "REJECTED", "ACCEPTED"
assert {_INVITED, _REJECTED, _ACCEPTED} <= set(service_model().shape_for("InvitationStatus").enum)  # type: ignore[attr-defined]


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
#: token nor a check is refused by :class:`CallRunner`: sending it again blind could apply it twice.
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

_TASK_FAILED = "FAILED"
assert _TASK_FAILED in service_model().shape_for("TaskStatus").enum  # type: ignore[attr-defined]


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
    an answered 5xx or no answer may have been applied. Shared by this executor and
    :func:`opptoolkit.push_updates`.

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
        self.attempts, self.maybe_applied, self.allowed = 0, False, allowed

    def before_send(self, **_: Any) -> None:
        if self.allowed is not None and self.attempts >= self.allowed:
            raise BudgetSpent

    def on_response(
        self, exception: Exception | None = None, response_dict: dict[str, Any] | None = None, **_: Any
    ) -> None:
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

    What a later run needs to read the call's effect back (the catalog, a solution's id), and no customer value.

    Examples
    --------
    >>> request_of("AssignOpportunity", {"Catalog": "Sandbox", "Identifier": "O1", "Assignee": {"Email": "a@b.co"}})
    '{"Assignee": {}, "Catalog": "Sandbox", "Identifier": "O1"}'
    """
    shape = service_model().operation_model(operation).input_shape
    token = client_token_member(operation)
    body = {k: v for k, v in params.items() if k != token}
    return json.dumps(_sensitive_free(body, shape), sort_keys=True, default=str)


# -- tasks: the Start...Task operations and their List...Tasks ------------------------------------------------

IN_PROGRESS = "IN_PROGRESS"
assert IN_PROGRESS in service_model().shape_for("TaskStatus").enum  # type: ignore[attr-defined]
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
    made = list_opportunities(catalog, client=client, created_after=started - _SKEW, created_before=ended + _SKEW)
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


@dataclass
class CallRunner:
    """Sends calls through a client, into a ledger the caller holds (locked) and a pacer it attached.

    ``used`` is the write budget already spent (from :meth:`Ledger.writes_since` when the caller holds the
    lock); :meth:`run` adds each call's HTTP attempts to it.
    """

    client: Any
    book: Ledger
    budget: int = DAILY_WRITES
    used: int = 0
    checks: Mapping[str, Check] = field(default_factory=lambda: CHECKS)
    dry_run: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    stop: bool = False
    #: what the run settled of the calls earlier runs left unknown, by status (:func:`settle_earlier`)
    settled: dict[str, int] = field(default_factory=dict)
    _history: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._seen: set[str] = set()

    def _prior(self, call: Call) -> dict[str, Any] | None:
        if call.operation not in self._seen:
            self._seen.add(call.operation)
            for (ident, key), entry in self.book.latest_by_key(call.operation).items():
                self._history[(call.operation, ident, key)] = entry
        return self._history.get((call.operation, call.id, self.key(call)))

    def key(self, call: Call) -> str:
        if call.key is None:
            call.key = self.book.key([call.operation, call.id, call.params])
        return call.key

    def token(self, call: Call) -> str:
        """Return the call's ClientToken (:func:`call_token`): the same on every rerun, from any ledger."""
        return call_token(call)

    def run(self, calls: Iterable[Call], *, progress: bool | None = True, desc: str = "calls") -> None:
        calls = list(calls)
        with tqdm(total=len(calls), desc=desc, unit="call", disable=None if progress else True) as bar:
            for call in calls:
                self.one(call)
                bar.update(1)
                bar.set_postfix(dict(self.counts), refresh=False)

    def record(
        self,
        call: Call,
        status: str,
        *,
        write: bool = True,
        errors: Iterable[tuple[str, str, str]] | None = None,
        **kw: Any,
    ) -> LedgerEntry:
        """Record a call's outcome; ``errors`` each ``(code, field, message)`` (:func:`opptoolkit.ledger.with_errors`)."""
        self.counts[status] += 1
        entry = LedgerEntry(
            job_id=self.book.job_id,
            row=call.row,
            Id="" if call.bad_id else call.id,
            status=status,
            operation=call.operation,
            changed_fields=list(call.fields),
            change_key=self.key(call),
            request=None if call.bad_id else request_of(call.operation, call.params),
            **kw,
        )
        with_errors(entry, errors)
        if write and not self.dry_run:
            self.book.write(entry)
        self._history[(call.operation, call.id, self.key(call))] = {"status": status, "response": entry.response}
        self.results.append(
            {
                "row": call.row,
                "Id": call.id,
                "operation": call.operation,
                "status": status,
                "error_code": entry.error_code,
                "reason": entry.reason,
                "error_message": entry.error_message,
                "error_codes": entry.error_codes,
                "error_fields": entry.error_fields,
                "error_texts": entry.error_texts,
                "changed_fields": list(call.fields),
                "last_modified_before": entry.last_modified_before,
                "last_modified_after": entry.last_modified_after,
                "writes": entry.writes,
                "response": json.loads(entry.response) if entry.response else None,
            }
        )
        _log.info("row %s %s %s: %s %s", call.row, call.id, call.operation, status, entry.error_code or "")
        return entry

    def invalid(self, call: Call) -> None:
        """Record a call refused before sending (no write spent); messages never hold a sensitive value."""
        self.record(
            call,
            Status.INVALID,
            error_code=call.problems[0].code,
            error_message="; ".join(f"{p.field}: {p.code}: {p.message}" for p in call.problems)[:2000],
            errors=[(p.code, p.field, p.message) for p in call.problems],
        )

    def one(self, call: Call) -> None:
        """Decide and do what one call needs."""
        token = client_token_member(call.operation)
        if token is None and call.operation not in self.checks:
            raise ValueError(
                f"{call.operation} takes no ClientToken and has no read-back check: it cannot be sent exactly once"
            )
        if self.stop:
            self.record(call, Status.DEFERRED, reason=Reason.INTERRUPTED, error_message="interrupted before this call")
            return
        prior = self._prior(call)
        if prior is not None and prior["status"] in (Status.SUCCEEDED, Status.SKIPPED):
            self.record(
                call,
                Status.SKIPPED,
                write=False,
                error_message="already succeeded in an earlier run",
                response=prior["response"] if isinstance(prior.get("response"), str) else None,
            )
            return
        unsettled = prior is not None and prior["status"] in _UNSETTLED
        # a call that may have landed is settled first (resent with its token, or read back): what made it
        # look refused now (an opportunity already Submitted) may be its own doing
        if call.problems and not unsettled:
            self.invalid(call)
            return
        if call.failure is not None and not unsettled:
            self.record(call, Status.FAILED, error_code=call.failure[0], error_message=call.failure[1][:2000])
            return
        if self.dry_run:
            self.record(call, Status.UPDATE, write=False)
            return
        if unsettled and token is None:
            try:
                landed = self.checks[call.operation](self.client, call)
            except (ClientError, BotoCoreError) as e:
                code, msg = code_and_message(e)
                self.record(call, Status.UNKNOWN, error_code=code, error_message=msg)  # a read spends no write
                if (u := unreachable(e, unanswered=True)) is not None:
                    raise ServiceUnreachable(f"row {call.row} ({call.id}): {u}") from None
                return
            if landed:
                self.record(call, Status.SUCCEEDED, error_message="reconciled: the server already had the change")
                return
        if call.problems and not (unsettled and token is not None):
            self.invalid(call)
            return
        if self.used >= self.budget:
            self.deferred(call)
            return
        self.used += self.send(call, token)

    def deferred(self, call: Call, **kw: Any) -> None:
        """Record a call the daily write budget leaves for a later run."""
        self.record(
            call,
            Status.DEFERRED,
            reason=Reason.DAILY_BUDGET,
            error_message=f"daily write budget of {self.budget} used; run again later",
            **kw,
        )

    def send(self, call: Call, token: str | None) -> int:
        """Send one call: the intent first, then the request, then its outcome; returns the HTTP attempts."""
        params = dict(call.params)
        if token is not None:
            params[token] = self.token(call)
        started = datetime.now(UTC)
        self.book.write(
            LedgerEntry(
                job_id=self.book.job_id,
                row=call.row,
                Id=call.id,
                status=Status.IN_FLIGHT,
                operation=call.operation,
                changed_fields=list(call.fields),
                started_at=started,
                payload_sha256=self.book.key(params),
                change_key=self.key(call),
                request=request_of(call.operation, call.params),
            )
        )
        wire = Attempts()
        wire.reset(allowed=self.budget - self.used)
        method = getattr(self.client, _snake(call.operation))
        with wire.attached(self.client, call.operation):
            try:
                out = method(**params)
            except BudgetSpent:
                if not wire.maybe_applied:
                    self.deferred(call, writes=wire.attempts, started_at=started)
                else:
                    self.record(
                        call,
                        Status.UNKNOWN,
                        error_message=BUDGET_UNKNOWN.format(budget=self.budget),
                        writes=wire.attempts,
                        started_at=started,
                    )
                return wire.attempts
            except (ClientError, BotoCoreError) as e:
                code, msg = code_and_message(e)
                status = Status.UNKNOWN if wire.maybe_applied else Status.FAILED
                if status == Status.UNKNOWN:
                    msg = f"{msg} (the call may have been applied: the next run checks it first)"
                self.record(
                    call,
                    status,
                    error_code=code,
                    error_message=msg[:2000],
                    errors=None if status == Status.UNKNOWN else error_items(e),  # unknown: its message says why
                    writes=wire.attempts,
                    started_at=started,
                )
                if (u := unreachable(e, unanswered=True)) is not None:
                    raise ServiceUnreachable(f"row {call.row} ({call.id}): {u}") from None
                return wire.attempts
        answer = _response(call.operation, out)
        failure = task_failure(call.operation, answer)
        self.record(
            call,
            Status.SUCCEEDED if failure is None else Status.FAILED,
            error_code=None if failure is None else failure[0],
            error_message=None if failure is None else failure[1],
            writes=wire.attempts,
            started_at=started,
            last_modified_after=out.get("LastModifiedDate"),
            response=json.dumps(answer, sort_keys=True, default=str) if answer else None,
        )
        return wire.attempts

    def frame(self, pacer: Pacer | None = None) -> pd.DataFrame:
        df = pd.DataFrame(self.results, columns=RESULT_COLUMNS)
        if pacer is not None:
            df.attrs["calls"] = dict(pacer.calls)
        df.attrs["ledger"] = str(self.book.path)
        df.attrs["settled"] = dict(self.settled)
        return df


def _snake(operation: str) -> str:
    """Return the boto3 method name of an operation, as botocore names it (``xform_name``)."""
    return xform_name(operation)


@contextmanager
def _interruptible(runner: CallRunner) -> Iterator[None]:
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
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    checks: Mapping[str, Check] | None = None,
    dry_run: bool = False,
    writes_per_second: float = WRITES_PER_SECOND,
    reads_per_second: float = READS_PER_SECOND,
    daily_write_budget: int = DAILY_WRITES,
    progress: bool | None = True,
    desc: str = "calls",
) -> pd.DataFrame:
    """Send ``calls`` in order, each exactly once across crashes and reruns of the same ``ledger``.

    Parameters
    ----------
    calls : iterable of Call
        The requests, each labelled by its row.
    ledger : path
        The ledger folder (the one :func:`opptoolkit.push_updates` takes); held for the run.
    checks : mapping, optional
        Read-back checks by operation, over :data:`CHECKS`.
    dry_run : bool
        Send nothing; each call's ``status`` is ``update`` (would be sent), ``skipped`` or ``invalid``.
    writes_per_second, reads_per_second, daily_write_budget
        As for :func:`opptoolkit.push_updates`.

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
    client = get_client(client, boto3_session=boto3_session, endpoint_url=endpoint_url)
    book = Ledger(ledger, create=not dry_run, boto3_session=boto3_session)
    pacer = Pacer(reads_per_second=reads_per_second, writes_per_second=writes_per_second)
    runner = CallRunner(client, book, daily_write_budget, checks={**CHECKS, **(checks or {})}, dry_run=dry_run)
    with book.lock() if not dry_run else nullcontext(), pacer.attached(client), _interruptible(runner):
        runner.used = book.writes_since()
        unsettled = book.unsettled()
        try:
            runner.run(calls, progress=progress, desc=desc)
        except ServiceUnreachable as e:
            e.result = runner.frame(pacer)
            raise
        if not dry_run and not runner.stop:
            runner.settled = settle_earlier(runner.client, book, catalog_of(calls), unsettled)
    return runner.frame(pacer)
