"""The partner-originated flow after create: solutions, associations, submission to AWS, reassignment.

Every write goes through the ledgered executor (:mod:`opptoolkit.execute`): paced, on the daily write
budget, the intent durable before the call, exactly once across crashes and reruns of the same ledger.

Sources: "associating page" is the developer guide's "Associating, disassociating and assigning opportunities"
(https://docs.aws.amazon.com/partner-central/latest/developer-guide/associating-disassociating-assigning-opportunities.html);
"working page" its "Working with your opportunities"
(https://docs.aws.amazon.com/partner-central/latest/developer-guide/working-with-your-opportunities.html);
"quotas page" https://docs.aws.amazon.com/partner-central/latest/developer-guide/quotas.html.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from botocore.model import StructureShape

from . import fields as P
from ._errors import code_and_message, unreachable
from ._values import is_blank
from .client import fetch_opportunity
from .connection import Connection, as_connection, takes_connection
from .exceptions import OpptoolkitError, Problem, ServiceUnreachable
from .execute import Call, Runner, failed_tries, run_calls, running
from .ledger import Ledger
from .plan import id_problem
from .quotas import ASSOCIATIONS_PER_OPPORTUNITY, DAILY_WRITES
from .rules import (
    ASSOCIATIONS,
    AWS_PRODUCTS_URL,
    RELATED,
    association_count_problem,
    association_items,
    association_key,
    association_keys,
    association_problem,
    model_problems,
    submission_problems,
    submission_warnings,
)
from .schema import ID, Catalog, service_model
from .sheets import SheetRows

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "AWS_PRODUCTS_URL",
    "SOLUTIONS_COLUMN",
    "assign_opportunities",
    "association_calls",
    "association_edit_calls",
    "read_aws_products",
    "read_solutions",
    "submit_opportunities",
]

_log = logging.getLogger(__name__)

#: The opportunity frame's column of associated Partner Solutions (GetOpportunity's RelatedEntityIdentifiers).
SOLUTIONS_COLUMN = f"{RELATED}.Solutions"
START = "StartEngagementFromOpportunityTask"
SUBMIT = "SubmitOpportunity"
#: The ways to submit: the working page's (StartEngagementFromOpportunityTask) and the bare SubmitOpportunity.
SUBMIT_OPERATIONS = (START, SUBMIT)

# -- solutions ------------------------------------------------------------------------------------


@takes_connection
def read_solutions(
    catalog: Catalog | Connection,
    *,
    status: Sequence[str] | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float | None = None,
) -> pd.DataFrame:
    """Return the partner's solutions (ListSolutions, every page) as a frame, one row per solution.

    ListSolutions page: it "is used to generate a list of solutions that an end user selects from for
    association with an opportunity" (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_ListSolutions.html).

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: a :class:`~opptoolkit.Connection` brings its client, pacing, write budget, progress
        and session (one pacer for every verb that uses it); the keyword forms (``client``, ``boto3_session``,
        ``endpoint_url``, pacing, ``daily_write_budget``, ``progress``) are a convenience for one call.
    status : list of str, optional
        Only solutions of these statuses (the model's SolutionStatus: Active, Inactive, Draft).
    client, boto3_session, endpoint_url
        As for :func:`opptoolkit.read_opportunities`.

    Returns
    -------
    DataFrame
        The model's SolutionBase members as columns, in the model's order (Catalog, Id, Arn, Name, Status,
        Category, CreatedDate, ...).

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = read_solutions("Sandbox", endpoint_url=sb.endpoint_url, status=["Active"])
    >>> df[["Id", "Name"]].head(2).to_dict("records")
    [{'Id': 'S-0000001', 'Name': 'Data Lake Accelerator'}, {'Id': 'S-0000002', 'Name': 'Migration Factory'}]
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    shape = service_model().shape_for("SolutionBase")
    assert isinstance(shape, StructureShape)
    params: dict[str, Any] = {"Catalog": conn.catalog}
    if status:
        params["Status"] = list(status)
    rows: list[dict[str, Any]] = []
    with conn.paced():
        try:
            for page in conn.client.get_paginator("list_solutions").paginate(**params):
                rows += [dict(s) for s in page["SolutionSummaries"]]
        except (ClientError, BotoCoreError) as e:
            if (u := unreachable(e, unanswered=True)) is not None:
                raise u from None
            code, msg = code_and_message(e)
            raise OpptoolkitError(f"ListSolutions failed: {code}: {msg}") from None
    df = pd.DataFrame(rows, columns=list(shape.members))
    for name, member in shape.members.items():
        if member.type_name == "string":
            df[name] = df[name].astype("string")
        elif member.type_name == "timestamp":
            df[name] = pd.to_datetime(df[name], utc=True)
    return df


def read_aws_products(source: str | Path | None = None) -> pd.DataFrame:
    """Return the AWS products an opportunity can be associated with, one row per product.

    The API lists none: the model names a JSON file that AWS keeps current on GitHub (:data:`AWS_PRODUCTS_URL`),
    each product's ``Identifier`` (what AssociateOpportunity takes as an AwsProducts identifier), ``Name``,
    ``Family`` and ``Description``. An identifier missing from a copy of the file may still be one AWS knows (the
    file changes as AWS adds products): only AWS can tell, when the association is sent.

    Parameters
    ----------
    source : str or Path, optional
        The file (a path or a URL); default :data:`AWS_PRODUCTS_URL`, read as raw content from GitHub.

    Returns
    -------
    DataFrame
        The file's members as text columns, ``Identifier`` first.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "aws_products.json"
    >>> _ = p.write_text(json.dumps([{"Identifier": "AmazonRedshift", "Name": "Amazon Redshift",
    ...                               "Family": "Analytics", "Description": "Data warehouse"}]))
    >>> read_aws_products(p)["Identifier"].tolist()
    ['AmazonRedshift']
    """
    where = str(source) if source is not None else _raw(AWS_PRODUCTS_URL)
    try:
        df = pd.read_json(where, dtype=False)  # every member text, as the file has it
    except (OSError, ValueError) as e:
        raise OpptoolkitError(f"the list of AWS products could not be read from {where}: {e}") from None
    if "Identifier" not in df.columns:
        raise OpptoolkitError(f"{where} is not a list of AWS products: no Identifier member")
    return df[["Identifier", *(c for c in df.columns if c != "Identifier")]].astype("string")


def _raw(url: str) -> str:
    """Return the address of a github.com file page's raw content (``/blob/`` pages are HTML)."""
    m = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)/blob/(.+)", url)
    return f"https://raw.githubusercontent.com/{m.group(1)}/{m.group(2)}" if m else url


def association_calls(
    rows: Iterable[tuple[str, str | None, Mapping[str, Any]]],
    catalog: Catalog,
    current: Mapping[str, Mapping[str, Sequence[str]]],
    base: Mapping[str, Mapping[str, Any]] | None = None,
    blank: str = "keep",
) -> list[Call]:
    """Return the Associate/DisassociateOpportunity calls that take each opportunity to its edited associations.

    Every association column (:data:`opptoolkit.rules.ASSOCIATIONS`: solutions, AWS products, AWS Marketplace
    offers, ..., one per value of the model's RelatedEntityType) is compared by what identifies an entity
    (:func:`opptoolkit.rules.association_key`: AWS answers an offer associated by its ARN with its id).

    Parameters
    ----------
    rows : iterable of (label, Id, {column: value})
        The edited rows; a row without an association column (or with a blank cell) asks for nothing there.
    current : mapping of Id to {RelatedEntityType: list of str}
        What is associated on the server now (GetOpportunity's RelatedEntityIdentifiers).
    base : mapping of Id to {column: value}, optional
        The rows as exported. With it, an entity added or removed since the export on the server is kept as it
        is there unless the edit itself changed it (three-way). Without it a listed entity the server lacks is
        associated, and none is disassociated (one missing from the row may have been added on the server since
        the export: lose nothing).
    blank : {"keep", "clear"}
        What a blank cell asks for, as in :func:`opptoolkit.push_updates`: nothing (``"keep"``), or none of the
        kind (``"clear"``: what the base lists and the server still has is disassociated; without a base, nothing).

    Returns
    -------
    list of Call
        Per opportunity and kind the associations first, then the disassociations: the DisassociateOpportunity
        page says "When you replace an entity, first attach the new entity and then disassociate the one to be
        removed, especially if it's the last remaining entity that's required"
        (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_DisassociateOpportunity.html); where
        attaching first would pass the kind's quota (one AWS Marketplace offer), the disassociations go first. A
        disassociation sends the identifier as the server answered it. A row whose result would exceed the quotas
        page's association quota for a kind (:data:`opptoolkit.quotas.ASSOCIATIONS_PER_OPPORTUNITY`), or that adds
        an identifier not in the form the model gives for its kind, gets calls carrying the problem (recorded
        ``invalid``, no write spent).

    Examples
    --------
    >>> edit = [("2", "O1", {SOLUTIONS_COLUMN: ["S-1", "S-3"]})]
    >>> calls = association_calls(edit, "Sandbox", {"O1": {"Solutions": ["S-1", "S-2"]}},
    ...                           base={"O1": {SOLUTIONS_COLUMN: ["S-1", "S-2"]}})
    >>> [(c.operation, c.params["RelatedEntityIdentifier"]) for c in calls]
    [('AssociateOpportunity', 'S-3'), ('DisassociateOpportunity', 'S-2')]
    """
    out: list[Call] = []
    for label, ident, edit in rows:
        if ident is None:
            continue
        for column, kind in ASSOCIATIONS.items():
            wanted = association_items(edit.get(column)) if column in edit else None
            if wanted is None and blank == "clear" and column in edit:
                wanted = []  # the analyst asked for a blank cell to clear
            if wanted is None:
                continue
            now = list((current.get(ident) or {}).get(kind) or [])
            exported = base is not None and ident in base
            was = (association_items(base[ident].get(column)) or []) if base is not None and exported else now
            want, had, have = association_keys(wanted), association_keys(was), association_keys(now)
            add = [v for v in dict.fromkeys(wanted) if association_key(v) not in had | have]
            # without a base a missing entity may be one added on the server after the export: never removed blind
            drop = [v for v in now if association_key(v) in had - want] if exported else []
            after = len(now) - len(drop) + len(add)
            too_many = association_count_problem(column, after)
            problems = [Problem(label, column, "TOO_MANY_VALUES", too_many)] if too_many else []
            cap = ASSOCIATIONS_PER_OPPORTUNITY.get(kind)
            order = [("AssociateOpportunity", add), ("DisassociateOpportunity", drop)]
            if cap is not None and len(now) + len(add) > cap >= after:
                order.reverse()  # attaching first would pass the quota: make room first
            for operation, items in order:
                for value in items:
                    params = {
                        "Catalog": catalog,
                        "OpportunityIdentifier": ident,
                        "RelatedEntityType": kind,
                        "RelatedEntityIdentifier": value,
                    }
                    found = [Problem(label, p.field or column, p.code, p.message) for p in model_problems(
                        params, operation
                    )]  # fmt: skip
                    if operation == "AssociateOpportunity" and (rule := association_problem(column, value)):
                        found.append(Problem(label, column, "INVALID_STRING_FORMAT", rule))
                    call = Call(label, operation, ident, params, fields=[column], problems=problems + found)
                    # the change: this entity, from the state the edit was made against
                    call.key = f"{operation}:{value}:{','.join(sorted(was))}"
                    out.append(call)
    return out


def association_edit_calls(
    rows: Iterable[tuple[str, str | None, Mapping[str, Any]]],
    catalog: Catalog,
    *,
    client: Any,
    base: Mapping[str, Mapping[str, Any]] | None,
    latest: Mapping[str, Mapping[str, Any]] | None = None,
    blank: str = "keep",
) -> list[Call]:
    """Return the association calls of the second phase of :func:`opptoolkit.push_updates`: the association columns.

    What the server has now comes from ``latest`` (the records the update phase read, by Id), else from one
    GetOpportunity (a read: the caller paces ``client``) per opportunity with a filled association cell (and, with
    a ``base``, an edited one); ``base`` (Id to the base row's ``{column: value}``) gives what was exported. The
    calls are :func:`association_calls`' (``blank="clear"``: a blank cell asks for none of its kind).
    """

    def asked(edit: Mapping[str, Any]) -> dict[str, list[str]]:
        cells = {c: association_items(edit.get(c)) for c in ASSOCIATIONS if c in edit}
        return {c: v or [] for c, v in cells.items() if v or (blank == "clear" and base is not None)}

    rows = [(label, ident, edit) for label, ident, edit in rows if ident and asked(edit)]
    current: dict[str, dict[str, list[str]]] = {}
    for label, ident, edit in rows:
        assert ident is not None
        if base is not None and ident in base:
            exported = base[ident]
            if all(
                association_keys(v) == association_keys(association_items(exported.get(c)) or [])
                for c, v in asked(edit).items()
            ):
                continue  # no edit of the associations: nothing to read
        if latest is not None and ident in latest:
            current[ident] = dict(latest[ident].get(RELATED) or {})
            continue
        try:
            rec = fetch_opportunity(client, catalog, ident)
        except (ClientError, BotoCoreError) as e:
            if (u := unreachable(e, unanswered=True)) is not None:
                raise ServiceUnreachable(f"row {label} ({ident}): {u}") from None
            continue  # the update phase reported this record's read already
        if rec is not None:
            current[ident] = dict(rec.get(RELATED) or {})
    return association_calls([r for r in rows if r[1] in current], catalog, current, base, blank)


# -- submission -----------------------------------------------------------------------------------


def _ids(opportunities: pd.DataFrame | Iterable[str]) -> list[tuple[str, str]]:
    """(label, Id) of each opportunity: the frame's row labels (a sheet's row numbers), else places from 1."""
    if isinstance(opportunities, pd.DataFrame):
        if ID not in opportunities.columns:
            raise OpptoolkitError("the frame has no Id column: every row must name its opportunity")
        rows = SheetRows.of(opportunities)
        labels = rows.labels(opportunities) if rows is not None else [str(x) for x in opportunities.index.tolist()]
        return [(lb, str(i)) for lb, i in zip(labels, opportunities[ID].tolist(), strict=True) if not is_blank(i)]
    return [(str(n), str(i)) for n, i in enumerate(opportunities, 1)]  # as a person counts what they gave


def _read(
    client: Any, catalog: Catalog, pairs: list[tuple[str, str]]
) -> tuple[dict[str, dict[str, Any] | None], dict[str, tuple[str, str]]]:
    """Read each opportunity: the records (None: not found), and each read that failed, ``(code, message)``."""
    out: dict[str, dict[str, Any] | None] = {}
    failed: dict[str, tuple[str, str]] = {}
    for label, ident in pairs:
        try:
            out[ident] = fetch_opportunity(client, catalog, ident)
        except (ClientError, BotoCoreError) as e:
            if (u := unreachable(e, unanswered=True)) is not None:
                raise ServiceUnreachable(f"row {label} ({ident}): {u}") from None
            code, msg = code_and_message(e)
            failed[ident] = (code, f"GetOpportunity failed: {msg}; nothing was sent: run again")
    return out, failed


@takes_connection
def submit_opportunities(
    opportunities: pd.DataFrame | Iterable[str],
    catalog: Catalog | Connection,
    *,
    involvement_type: str,
    visibility: str | None = None,
    ledger: str | Path,
    operation: str = START,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    poll_seconds: float = 2.0,
    timeout: float = 300.0,
    writes_per_second: float | None = None,
    reads_per_second: float | None = None,
    daily_write_budget: int = DAILY_WRITES,
    progress: bool | None = True,
) -> pd.DataFrame:
    """Submit opportunities to AWS for review, after a readiness check that spends no write on a refused one.

    Each opportunity is read (GetOpportunity) and checked against what AWS refuses at submission
    (:func:`opptoolkit.rules.submission_problems`: ReviewStatus ``Pending Submission``, 1 to 10 associated
    solutions, the documented business rules) and the model (``involvement_type``, ``visibility``); a refused
    one is ``invalid`` with every reason, and nothing is sent for it. The others are sent with
    StartEngagementFromOpportunityTask, the working page's way to submit ("This is when you submit the
    opportunity"), its ClientToken derived from the request (a retry, a crash, a rerun or another ledger start one task), and
    ListEngagementFromOpportunityTasks is polled until each task is COMPLETE or FAILED.

    Parameters
    ----------
    opportunities : DataFrame or iterable of str
        Ids, or a frame with an ``Id`` column (a sheet's row numbers label the results).
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: a :class:`~opptoolkit.Connection` brings its client, pacing, write budget, progress
        and session (one pacer for every verb that uses it); the keyword forms (``client``, ``boto3_session``,
        ``endpoint_url``, pacing, ``daily_write_budget``, ``progress``) are a convenience for one call.
    involvement_type : str
        The model's SalesInvolvementType: ``Co-Sell`` ("Share the opportunity with AWS to receive deal
        assistance and support") or ``For Visibility Only``.
    visibility : str, optional
        ``Full`` (the service's default) or ``Limited``.
    ledger : path
        The ledger folder (as for :func:`opptoolkit.push_updates`).
    operation : {"StartEngagementFromOpportunityTask", "SubmitOpportunity"}
        SubmitOpportunity submits without starting an engagement and takes no ClientToken (a crash is
        settled by reading the record back); see the README for when to prefer it.
    poll_seconds, timeout : float
        How often and how long to poll the tasks; a task still IN_PROGRESS at the timeout is reported so
        (a rerun polls it again, without starting another).

    Returns
    -------
    DataFrame
        :data:`opptoolkit.execute.RESULT_COLUMNS` plus ``task_id``, ``task_status``, ``reason_code``,
        ``engagement_id``, ``engagement_invitation_id``, ``resource_snapshot_job_id``, and ``warnings``
        (after ``error_message``: what the guide asks of a submission that AWS was recorded taking without,
        :func:`opptoolkit.rules.submission_warnings`; the row is still sent). ``status`` is
        ``succeeded`` for a completed task, ``failed`` for a FAILED one (``error_code`` its ReasonCode),
        ``invalid`` for one refused before sending, ``skipped`` when an earlier run submitted it.

    Examples
    --------
    >>> import tempfile
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     out = submit_opportunities(["O7000000002"], "Sandbox", involvement_type="Co-Sell",
    ...                                ledger=tempfile.mkdtemp(), endpoint_url=sb.endpoint_url, progress=False)
    >>> out[["Id", "status", "error_code"]].to_dict("records")  # already Submitted: refused, nothing sent
    [{'Id': 'O7000000002', 'status': 'invalid', 'error_code': 'INVALID_RESOURCE_STATE'}]
    """
    if operation not in SUBMIT_OPERATIONS:
        raise ValueError(f"operation must be one of {SUBMIT_OPERATIONS}")
    pairs = _ids(opportunities)
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    catalog, client = conn.catalog, conn.client
    book = Ledger(ledger, create=not dry_run, boto3_session=conn.boto3_session)
    runner = Runner(client, book, conn.daily_write_budget, dry_run=dry_run)
    with running(runner, conn, catalog):
        warned: dict[str, list[str]] = {}
        try:
            bad = {i: p for _, i in pairs if (p := id_problem(i, operation)) is not None}
            records, unread = _read(client, catalog, [(lb, i) for lb, i in pairs if i not in bad])
            # what the guide asks that AWS was recorded taking without: said beside each row, never refused
            warned = {i: [str(p) for p in submission_warnings(r)] for i, r in records.items() if r is not None}
            failed_before = failed_tries(book, operation)
            calls = []
            for label, ident in pairs:
                if operation == START:
                    submission: dict[str, Any] = {"InvolvementType": involvement_type}
                    if visibility is not None:
                        submission["Visibility"] = visibility
                    params: dict[str, Any] = {"Catalog": catalog, "Identifier": ident, "AwsSubmission": submission}
                else:
                    params = {"Catalog": catalog, "Identifier": ident, "InvolvementType": involvement_type}
                    if visibility is not None:
                        params["Visibility"] = visibility
                key = book.key(["submit", operation, ident, involvement_type, visibility])
                if ident in bad:  # no opportunity Id: refused on its row with the rule, never read nor kept
                    p = bad[ident]
                    problems = [Problem(label, p.field, p.code, p.message)]
                    calls.append(Call(label, operation, ident, params, key=key, problems=problems, bad_id=True))
                    continue
                check = dict(params, ClientToken="t") if operation == START else params
                problems = [Problem(label, p.field, p.code, p.message) for p in model_problems(check, operation)]
                rec = records.get(ident)
                if ident in unread:
                    pass  # the read failed: the call is failed (below), not judged
                elif rec is None:
                    problems.append(Problem(label, ID, "INVALID_VALUE", f"no opportunity {ident} in {catalog}"))
                else:
                    problems += [Problem(label, p.field, p.code, p.message) for p in submission_problems(rec)]
                calls.append(
                    Call(
                        label,
                        operation,
                        ident,
                        params,
                        key=key,
                        fields=[P.REVIEW_STATUS],
                        problems=problems,
                        salt=failed_before.get((ident, key), 0),
                        failure=unread.get(ident),
                    )
                )
            runner.run(calls, progress=conn.progress, desc="submit")
            if operation == START and not dry_run:
                runner.poll(calls, poll_seconds, timeout)  # each task answered IN_PROGRESS, to its end
        except ServiceUnreachable as e:
            e.result = _submission_frame(runner.frame(), warned)
            raise
    return _submission_frame(runner.frame(), warned)


_TASK_COLUMNS = {
    "task_id": "TaskId",
    "task_status": "TaskStatus",
    "reason_code": "ReasonCode",
    "engagement_id": "EngagementId",
    "engagement_invitation_id": "EngagementInvitationId",
    "resource_snapshot_job_id": "ResourceSnapshotJobId",
}


def _submission_frame(df: pd.DataFrame, warned: Mapping[str, list[str]]) -> pd.DataFrame:
    df.insert(list(df.columns).index("error_message") + 1, "warnings", [list(warned.get(i, [])) for i in df["Id"]])
    for column, member in _TASK_COLUMNS.items():
        df[column] = pd.array([r.get(member) if isinstance(r, dict) else None for r in df["response"]], dtype="string")
    return df


# -- assignment -----------------------------------------------------------------------------------

#: The assignee columns of a frame: ``Assignee.<member>`` for each member of the model's AssigneeContact.
_ASSIGNEE = service_model().shape_for("AssigneeContact")
assert isinstance(_ASSIGNEE, StructureShape)
ASSIGNEE_COLUMNS = tuple(f"Assignee.{m}" for m in _ASSIGNEE.members)


@takes_connection
def assign_opportunities(
    assignments: pd.DataFrame | Iterable[str],
    catalog: Catalog | Connection,
    *,
    ledger: str | Path,
    assignee: Mapping[str, str] | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    writes_per_second: float | None = None,
    reads_per_second: float | None = None,
    daily_write_budget: int = DAILY_WRITES,
    progress: bool | None = True,
) -> pd.DataFrame:
    """Reassign opportunities to other users of the partner's account (AssignOpportunity), each exactly once.

    The model: "Currently, there's no API to enumerate the list of available users", so the assignee is
    taken as given and validated by the model's AssigneeContact (Email, FirstName, LastName and
    BusinessTitle required; patterns); the BusinessTitle ``PartnerAccountManager`` is the owner's ("Use the
    value PartnerAccountManager to update details of the opportunity owner").

    Parameters
    ----------
    assignments : DataFrame or iterable of str
        A frame with ``Id`` and the ``Assignee.<member>`` columns (:data:`ASSIGNEE_COLUMNS`; one assignee
        per row), or Ids given one ``assignee``.
    assignee : mapping, optional
        The AssigneeContact for every Id (``{"Email": ..., "FirstName": ..., ...}``); it fills the blank
        assignee cells of a frame too.

    Returns
    -------
    DataFrame
        :data:`opptoolkit.execute.RESULT_COLUMNS`; ``invalid`` rows say which member the model refuses (never
        its value: the members are sensitive).
    """
    pairs = _ids(assignments)
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    given = dict(assignee or {})
    per_row: list[dict[str, str]] = []
    if isinstance(assignments, pd.DataFrame):
        frame = assignments[assignments[ID].map(lambda v: not is_blank(v))]
        for _, r in frame.iterrows():
            person = dict(given)
            for col in ASSIGNEE_COLUMNS:
                if col in frame.columns and not is_blank(r[col]):
                    person[col.split(".", 1)[1]] = str(r[col])
            per_row.append(person)
    else:
        per_row = [dict(given) for _ in pairs]
    calls = []
    for (label, ident), person in zip(pairs, per_row, strict=True):
        params = {"Catalog": conn.catalog, "Identifier": ident, "Assignee": person}
        problems = [Problem(label, p.field, p.code, p.message) for p in model_problems(params, "AssignOpportunity")]
        bad = id_problem(ident, "AssignOpportunity") is not None  # never kept in the ledger: it may hold anything
        calls.append(
            Call(label, "AssignOpportunity", ident, params, fields=["OpportunityTeam"], problems=problems, bad_id=bad)
        )
    return run_calls(calls, ledger=ledger, connection=conn, dry_run=dry_run, desc="assign")
