"""The AWS-originated flow: engagement invitations (referrals) into a frame, and AWS's view of opportunities.

AWS sends a partner engagement invitations that expire; ``read_invitations`` lists those sent to the
partner (ListEngagementInvitations with ``ParticipantType=RECEIVER``) and reads each one's payload
(GetEngagementInvitation: customer, project, expected spend, AWS contacts, the invitation message).
``read_aws_summaries`` reads AWS's own view of opportunities (GetAwsOpportunitySummary: AWS stage,
AWS team, engagement score, next best actions, involvement type) as output-only ``Aws.*`` columns.

Both are flattened by the same model-driven machinery as opportunities (:func:`opptoolkit.to_frame`
with :func:`opptoolkit.schema.output_schema`): every member of the answer's shape is a column, and a
newer botocore brings new ones with no code change. Both are reads, paced within the read quota.
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ._errors import code_and_message, unreachable
from ._values import did_you_mean, is_blank, spelling_key
from .client import get_opportunities, without_metadata
from .connection import Connection, as_connection, calls_since, takes_connection
from .exceptions import OpptoolkitError, Problem, SheetError
from .execute import Call, failed_tries, run_calls
from .frame import to_frame
from .ledger import Ledger
from .quotas import DAILY_WRITES
from .schema import (
    AWS_PREFIX,
    Catalog,
    Field,
    Schema,
    label_for,
    model_lacks,
    output_schema,
    service_model,
    shape_value,
)
from .sheets import (
    SheetRows,
    frame_catalog,
    how_to_push,
    push_command,
    read_workbook,
    sheet_names,
    workbook_problem,
    write_workbook,
)

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "ACCEPT_LEAD_OP",
    "AWS_PREFIX",
    "DAYS_FIELD",
    "DAYS_TO_EXPIRY",
    "DECISION",
    "OPPORTUNITY_ID",
    "TRIAGE_SHEET",
    "decision_calls",
    "is_triage",
    "push_decisions",
    "read_invitations",
    "read_triage",
    "rejection_reasons",
    "triage_labels",
    "write_triage",
]

_log = logging.getLogger(__name__)

INVITATION_ANSWER = "GetEngagementInvitation"
#: Days from now until the invitation's ExpirationDate (negative once past), computed at read time.
DAYS_TO_EXPIRY = "DaysToExpiry"
#: The triage decision a person writes: ``accept``, ``reject`` (with a ``RejectionReason``) or blank.
DECISION = "Decision"
#: ``DaysToExpiry`` as a sheet holds it: a number of days with 2 decimals, negative once past (the toolkit's own
#: column, not the model's: a field of its own, so that the sheet's layout makes it a number cell as it does the
#: model's amounts).
DAYS_FIELD = Field(
    path=DAYS_TO_EXPIRY,
    type="string",
    pattern=r"-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?",
    writable=False,
    doc="Days from when the invitations were read until the invitation expires (negative once past).",
)


@functools.cache
def rejection_reasons() -> tuple[str, ...]:
    """Return the rejection reasons the model documents for RejectEngagementInvitation.

    The model restricts ``RejectionReason`` by a pattern only; its documentation lists the
    "Acceptable values" (``Customer problem unclear``, ``Next steps unclear``, ...). They are read
    from that text, so a newer botocore's list comes with it.

    Examples
    --------
    >>> "Customer problem unclear" in rejection_reasons()
    True
    """
    shape = service_model().operation_model("RejectEngagementInvitation").input_shape
    assert shape is not None
    member = shape.members["RejectionReason"]
    values = tuple(html.unescape(v).strip() for v in re.findall(r"<i>\s*([^<]+?):?\s*</i>", member.documentation))
    values = tuple(v.rstrip(":").strip() for v in values)
    if len(values) < 3:  # a raise, not an assert: python -O would return an empty list, refusing every reason
        raise model_lacks("list of acceptable values in the text of RejectEngagementInvitation's RejectionReason")
    return values


def _statuses(status: str | Iterable[str] | None) -> list[str]:
    if status is None:
        return []
    values = [status] if isinstance(status, str) else list(status)
    allowed = service_model().shape_for("InvitationStatus").enum  # type: ignore[attr-defined]
    wrong = [s for s in values if s not in allowed]
    if wrong:
        raise ValueError(f"status {wrong} is not an invitation status; the model's are {', '.join(allowed)}")
    return values


def _payload_types(payload_type: str | Iterable[str] | None) -> list[str]:
    values = [] if payload_type is None else [payload_type] if isinstance(payload_type, str) else list(payload_type)
    allowed = service_model().shape_for("EngagementInvitationPayloadType").enum  # type: ignore[attr-defined]
    wrong = [t for t in values if t not in allowed]
    if wrong:
        raise ValueError(
            f"payload type {wrong} is not an invitation payload type; the model's are {', '.join(allowed)}"
        )
    return values


def _iter_invitations(
    client: SellingClient, catalog: Catalog, statuses: list[str], payload_types: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"Catalog": catalog, "ParticipantType": "RECEIVER"}
    if statuses:
        params["Status"] = statuses
    if payload_types:
        params["PayloadType"] = payload_types
    for page in client.get_paginator("list_engagement_invitations").paginate(**params):
        yield from (dict(s) for s in page["EngagementInvitationSummaries"])


@takes_connection
def read_invitations(
    catalog: Catalog | Connection,
    *,
    status: str | Iterable[str] | None = None,
    payload_type: str | Iterable[str] | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    reads_per_second: float | None = None,
    max_workers: int = 4,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Read the engagement invitations AWS sent to the partner into a DataFrame, soonest expiry first.

    ListEngagementInvitations with ``ParticipantType=RECEIVER`` (those sent to this account), then one
    GetEngagementInvitation each for the payload. Reads are paced within the read quota
    (``reads_per_second``: :func:`opptoolkit.connect`) with ``max_workers`` in flight.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit (as :func:`opptoolkit.read_opportunities`): a :class:`~opptoolkit.Connection` brings its
        client, pacing and progress; the keyword forms below are a convenience for one call.
    status : str or list of str, optional
        Only invitations in these statuses (the model's ``InvitationStatus``: PENDING, ACCEPTED,
        REJECTED, EXPIRED); default all.
    payload_type : str or list of str, optional
        Only invitations of these payload types (the model's ``EngagementInvitationPayloadType``:
        ``OpportunityInvitation``, an opportunity AWS refers; ``LeadInvitation``, a lead); default all. Each
        payload's members are columns (``Payload.LeadInvitation.Customer.CompanyName``), and ``PayloadType``
        says which a row holds.
    client, boto3_session, endpoint_url
        Which client to use (see :func:`opptoolkit.get_client`), with a catalog.
    progress : bool
        Show a progress bar (``tqdm.auto``).
    now : datetime, optional
        The instant ``DaysToExpiry`` counts from (default: now).

    Returns
    -------
    DataFrame
        One row per invitation, one column per member of GetEngagementInvitation's answer
        (``Payload.OpportunityInvitation.Customer.CompanyName``, ...), then ``DaysToExpiry``
        (float days to ``ExpirationDate``, negative once past) and an empty ``Decision`` column for
        triage. ``df.attrs["failures"]`` lists the invitations that could not be read,
        ``df.attrs["calls"]`` counts the calls.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = read_invitations("Sandbox", status="PENDING", endpoint_url=sb.endpoint_url, progress=False)
    >>> set(df["Status"]), bool(df["DaysToExpiry"].is_monotonic_increasing)
    ({'PENDING'}, True)
    """
    statuses = _statuses(status)
    types = _payload_types(payload_type)
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    catalog, client, before = conn.catalog, conn.client, dict(conn.pacer.calls)

    def fetch(identifier: str) -> dict[str, Any] | None:
        try:
            return without_metadata(client.get_engagement_invitation(Catalog=catalog, Identifier=identifier))
        except client.exceptions.ResourceNotFoundException:
            return None

    try:
        with conn.paced():
            ids = (s["Id"] for s in _iter_invitations(client, catalog, statuses, types))
            records, failures = get_opportunities(
                catalog,
                ids,
                client=client,
                max_workers=max_workers,
                progress=conn.progress,
                desc=INVITATION_ANSWER,
                fetch=fetch,
            )
    except (ClientError, BotoCoreError) as e:
        code, message = code_and_message(e)
        raise (unreachable(e) or OpptoolkitError(f"ListEngagementInvitations failed: {code}: {message}")) from None
    df = to_frame(records, schema=output_schema(INVITATION_ANSWER))
    stamp = pd.Timestamp(now or datetime.now(UTC))
    df[DAYS_TO_EXPIRY] = ((df["ExpirationDate"] - stamp) / pd.Timedelta(days=1)).round(2)
    df[DECISION] = pd.Series([""] * len(df), dtype=object)
    df = df.sort_values(["ExpirationDate", "Id"], na_position="last", kind="stable").reset_index(drop=True)
    df.attrs["failures"] = failures
    df.attrs["calls"] = calls_since(conn, before)
    if failures:
        _log.warning("%d invitations could not be read; see df.attrs['failures']", len(failures))
    return df


# -- deciding in bulk -----------------------------------------------------------------------------

ACCEPT, REJECT = "accept", "reject"
#: RejectionReason as a triage's header names it (a problem names the field so).
_REASON_LABEL = label_for("RejectionReason")
#: The opportunity an accepted invitation created, in push_decisions' result (the task's OpportunityId).
OPPORTUNITY_ID = "OpportunityId"
_ACCEPT_OP, _REJECT_OP = "StartEngagementByAcceptingInvitationTask", "RejectEngagementInvitation"
_PENDING = shape_value("InvitationStatus", "PENDING")
_EXPIRED = shape_value("InvitationStatus", "EXPIRED")
_REJECTED = shape_value("InvitationStatus", "REJECTED")


#: Accepting a lead: AcceptEngagementInvitation (Lead_To_Opportunity.md step 2), read back after a crash by
#: :data:`opptoolkit.execute.CHECKS`; an opportunity invitation is accepted with
#: StartEngagementByAcceptingInvitationTask, which also makes the opportunity.
ACCEPT_LEAD_OP = "AcceptEngagementInvitation"
LEAD_INVITATION = shape_value("EngagementInvitationPayloadType", "LeadInvitation")


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)) else str(value).strip()


def decision_calls(
    df: pd.DataFrame,
    catalog: Catalog,
    *,
    ledger: str | Path | None = None,
    now: datetime | None = None,
    boto3_session: boto3.Session | None = None,
) -> list[Any]:
    """Return the calls a triage frame's ``Decision`` column asks for (see :func:`push_decisions`).

    A row whose decision cannot succeed is a call with its problems (recorded ``invalid``, nothing
    sent): an expired invitation (``Status`` EXPIRED, or ``ExpirationDate`` past as read), one already
    answered, an unknown decision, a rejection reason outside the model's documented values
    (:func:`rejection_reasons`). With ``ledger``, a call it holds as succeeded is left to the runner,
    which skips it; an ``s3://`` ledger is read with ``boto3_session`` (default: the standard chain).
    """
    if DECISION not in df.columns:
        raise OpptoolkitError(f"the triage has no {DECISION} column: write accept or reject in it")
    stamp = pd.Timestamp(now or datetime.now(UTC))
    book = Ledger(ledger, boto3_session=boto3_session) if ledger is not None else None
    done = {op: book.latest_by_key(op) for op in (_ACCEPT_OP, ACCEPT_LEAD_OP, _REJECT_OP)} if book is not None else {}
    # a task settled FAILED answers its ClientToken with the same failure: a rerun salts a fresh one
    tries = failed_tries(book, _ACCEPT_OP) if book is not None else {}
    reasons = rejection_reasons()
    calls = []
    rows = SheetRows.of(df)  # a triage read back: each row as the sheet numbers it
    labels = rows.labels(df) if rows is not None else [str(i) for i in df.index]
    for label, (_, row) in zip(labels, df.iterrows(), strict=True):
        typed = _text(row.get(DECISION))
        decision = typed.lower()
        if not decision:
            continue
        ident = _text(row.get("Id"))
        problems: list[Problem] = []
        lead = _text(row.get("PayloadType")) == LEAD_INVITATION
        if decision == ACCEPT:
            op, params = ACCEPT_LEAD_OP if lead else _ACCEPT_OP, {"Catalog": catalog, "Identifier": ident}
        elif decision == REJECT:
            op, params = _REJECT_OP, {"Catalog": catalog, "Identifier": ident}
            reason = _text(row.get("RejectionReason"))
            # spelling aside (case, spacing), one of the model's documented reasons, as the pipeline's enums
            reason = next((r for r in reasons if spelling_key(r) == spelling_key(reason)), reason) if reason else ""
            if reason:
                params["RejectionReason"] = reason
            if reason not in reasons:
                hint = did_you_mean(reason, reasons) if reason else ""
                said = f"{reason!r} is not one of the reasons AWS documents" if reason else "a rejection needs a reason"
                problems.append(
                    Problem(
                        label,
                        _REASON_LABEL,
                        "INVALID_VALUE",
                        f"{said}: one of {', '.join(reasons)}" + (f"; {hint}" if hint else ""),
                    )
                )
        else:
            op, params = _ACCEPT_OP, {"Catalog": catalog, "Identifier": ident}
            hint = did_you_mean(typed, [ACCEPT, REJECT])
            problems.append(
                Problem(
                    label,
                    DECISION,
                    "INVALID_VALUE",
                    f"{typed!r}: write {ACCEPT} or {REJECT}" + (f"; {hint}" if hint else ""),
                )
            )
        key = book.key([op, ident, params]) if book is not None else None
        prior: dict[str, Any] = done[op].get((ident, key), {}) if book is not None and key is not None else {}
        settled = prior.get("status") in ("succeeded", "skipped")
        status = _text(row.get("Status"))
        expires: Any = pd.to_datetime(row.get("ExpirationDate"), utc=True, errors="coerce")  # type: ignore[call-overload]
        if not settled:
            if status == _EXPIRED or (pd.notna(expires) and expires <= stamp):
                # model, ExpirationDate: "the date on which the engagement invitation will expire if not
                # accepted by the partner": past it, an answer can only fail, so none is sent.
                when = expires.date().isoformat() if pd.notna(expires) else "before this run"
                problems.append(Problem(label, "ExpirationDate", "INVALID_RESOURCE_STATE", f"expired on {when}"))
            elif status and status != _PENDING:
                problems.append(
                    Problem(
                        label,
                        "Status",
                        "INVALID_RESOURCE_STATE",
                        f"already {status}: only a {_PENDING} one can be answered",
                    )
                )
        fields = ["Status"] + (["RejectionReason"] if op == _REJECT_OP else [])
        calls.append(
            Call(
                row=str(label),
                operation=op,
                id=ident,
                params=params,
                key=key,
                fields=fields,
                problems=problems,
                salt=tries.get((ident, key), 0) if key is not None and op == _ACCEPT_OP else 0,
            )
        )
    return calls


@takes_connection
def push_decisions(
    triage: pd.DataFrame | str | Path,
    catalog: Catalog | Connection,
    *,
    ledger: str | Path,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    progress: bool | None = True,
    now: datetime | None = None,
    poll_seconds: float = 2.0,
    timeout: float = 300.0,
    writes_per_second: float | None = None,
    reads_per_second: float | None = None,
    daily_write_budget: int = DAILY_WRITES,
    **kwargs: Any,
) -> pd.DataFrame:
    """Send the triage's decisions: accept or reject each invitation, exactly once, into ``ledger``.

    ``accept`` of a lead (``PayloadType`` LeadInvitation) sends AcceptEngagementInvitation, reconciled after a
    crash by reading the invitation back; ``accept`` of an opportunity invitation starts
    StartEngagementByAcceptingInvitationTask, whose ClientToken is derived from the
    request (the same on every rerun and from any ledger: the service answers a repeated token with the
    first task, so a crash, a rerun or a colleague's push create one opportunity); ``reject`` sends RejectEngagementInvitation with the
    row's ``RejectionReason``, reconciled after a crash by reading the invitation back. Expired or
    already answered invitations are refused before any call (:func:`decision_calls`). Calls go
    through :func:`opptoolkit.execute.run_calls` (paced, daily write budget, intent then outcome in the
    ledger).

    Parameters
    ----------
    triage : DataFrame or path
        A frame from :func:`read_invitations` with ``Decision`` filled, or a workbook from
        :func:`write_triage`.
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: a :class:`~opptoolkit.Connection` brings its client, pacing, write budget, progress
        and session (one pacer for every verb that uses it); the keyword forms (``client``, ``boto3_session``,
        ``endpoint_url``, pacing, ``daily_write_budget``, ``progress``) are a convenience for one call.
    ledger : path
        The ledger folder.
    poll_seconds, timeout : float
        How often and how long to poll an accept's task that the service answered IN_PROGRESS
        (StartEngagementByAcceptingInvitationTask page: the task is asynchronous); one still running at the
        timeout stays IN_PROGRESS, and the next push on the ledger finishes it.
    writes_per_second, reads_per_second, daily_write_budget
        As for :func:`opptoolkit.push_updates` (a connection brings its own).
    **kwargs
        Passed to :func:`opptoolkit.execute.run_calls` (``checks``).

    Returns
    -------
    DataFrame
        One row per decision (``run_calls``' columns) and ``OpportunityId``: the opportunity an
        accepted invitation created. A task that completed as FAILED is ``failed`` (here and in the
        ledger) with its ReasonCode as ``error_code`` and the task's message; a rerun starts one new task
        under a fresh ClientToken (:func:`opptoolkit.execute.task_failure`), it never resends the token
        that answers with the failed one.
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    df = read_triage(triage) if isinstance(triage, (str, Path)) else triage
    ledgered = None if dry_run else ledger
    calls = decision_calls(df, conn.catalog, ledger=ledgered, now=now, boto3_session=conn.boto3_session)
    res = run_calls(
        calls,
        ledger=ledger,
        connection=conn,
        dry_run=dry_run,
        desc="decisions",
        poll_seconds=poll_seconds,
        timeout=timeout,
        **kwargs,
    )
    answers = [r if isinstance(r, dict) else {} for r in res["response"]]
    res[OPPORTUNITY_ID] = [a.get(OPPORTUNITY_ID) for a in answers]
    return res


# -- the triage workbook --------------------------------------------------------------------------

#: The worksheet that marks a triage workbook (``opptoolkit push`` tells it from an opportunity workbook).
TRIAGE_SHEET = "Triage"
#: The columns a person triages by, first; every other column of the frame follows.
_FIRST = (
    DECISION,
    "RejectionReason",
    DAYS_TO_EXPIRY,
    "ExpirationDate",
    "Status",
    "Payload.OpportunityInvitation.Customer.CompanyName",
    "Payload.OpportunityInvitation.Project.Title",
    "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].Amount",
    "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].CurrencyCode",
    "Payload.OpportunityInvitation.SenderContacts[0].Email",
    "PayloadType",
    "Payload.LeadInvitation.Customer.CompanyName",
    "Payload.LeadInvitation.Interaction.Usecase",
    "Payload.LeadInvitation.Interaction.SourceName",
    "InvitationMessage",
    "Id",
)
#: The columns a person writes in; every other one shows the invitation as AWS sent it.
_DECIDED = (DECISION, "RejectionReason")
_PAYLOAD = "Payload."
#: What a payload's members are called in a header, before their own words: an opportunity referral's members
#: are the triage's main subject and read plain ("Customer company name"); a lead's say so ("Lead customer ...").
_PAYLOAD_WORDS = {"OpportunityInvitation": "", LEAD_INVITATION: "Lead"}


def _label(column: str) -> str:
    """Return the header of a triage column: the member's words as the pipeline workbook's (:func:`~.schema.label_for`)."""
    if column.startswith(_PAYLOAD):
        kind, _, member = column[len(_PAYLOAD) :].partition(".")
        words = _PAYLOAD_WORDS.get(kind)
        if words is None:
            words = label_for(kind.removesuffix("Invitation"))
        own = label_for(member)
        return f"{words} {own[:1].lower()}{own[1:]}" if words else own
    return label_for(column)


def triage_labels(columns: Sequence[str]) -> list[str]:
    """Return the headers of a triage's columns: labels, unique (a label two columns share names each by its path).

    Examples
    --------
    >>> triage_labels(["Decision", "DaysToExpiry", "Payload.OpportunityInvitation.Customer.CompanyName",
    ...                "Payload.LeadInvitation.Customer.CompanyName", "SenderContacts[0].Email"])
    ['Decision', 'Days to expiry', 'Customer company name', 'Lead customer company name', 'Sender contacts 1 email']
    """
    labels = [_label(c) for c in columns]
    seen: dict[str, int] = {}
    for label in labels:
        seen[label.casefold()] = seen.get(label.casefold(), 0) + 1
    return [label if seen[label.casefold()] == 1 else label_for(c) for c, label in zip(columns, labels, strict=True)]


@functools.cache
def _triage_columns() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every column a triage may hold (the model's members of the invitation, and the toolkit's own) and its label."""
    columns = (*output_schema(INVITATION_ANSWER).columns(), DAYS_TO_EXPIRY, DECISION)
    return columns, tuple(triage_labels(columns))


def _field(schema: Schema, column: str) -> Field | None:
    try:
        return schema.field_for(column)
    except KeyError:
        return None


def _decidable(df: pd.DataFrame, now: datetime | None = None) -> pd.Series:
    """Whether each invitation can still be answered: PENDING and not past its ExpirationDate."""
    stamp = pd.Timestamp(now or datetime.now(UTC))
    status = df["Status"] if "Status" in df.columns else pd.Series([_PENDING] * len(df), index=df.index)
    pending = status.fillna(_PENDING).astype(str).isin(["", _PENDING])
    if "ExpirationDate" not in df.columns:
        return pending
    expires = pd.to_datetime(df["ExpirationDate"], utc=True, errors="coerce")
    return pending & ~(expires <= stamp).fillna(False).astype(bool)


def _triage_order(df: pd.DataFrame, now: datetime | None = None) -> pd.DataFrame:
    """Order the invitations: those that can still be answered first (soonest expiry first), then the answered, the expired last."""
    status = (
        df["Status"].fillna("").astype(str) if "Status" in df.columns else pd.Series([""] * len(df), index=df.index)
    )
    open_ = _decidable(df, now)
    rank = np.where(open_, 0, np.where(status.isin([_EXPIRED, _PENDING, ""]), 2, 1))
    keys = [c for c in ("ExpirationDate", "Id") if c in df.columns]
    ordered = df.assign(_rank=rank).sort_values(["_rank", *keys], na_position="last", kind="stable")
    return ordered.drop(columns="_rank").reset_index(drop=True)


def _read_me(n: int, open_: int, catalog: str | None, push: str, written: datetime) -> list[tuple[str, bool]]:
    where = f"the {catalog} catalog" if catalog else "Partner Central"
    return [
        ("What this is", True),
        (
            f"The {n:,} engagement invitations AWS sent to the partner in {where} (opportunity referrals and leads), "
            f"made by opptoolkit to decide in bulk: {open_:,} can still be answered. The sheet '{TRIAGE_SHEET}' holds "
            "one invitation per row, those that can be answered first, soonest expiry first; the answered and the "
            "expired ones come last, in grey.",
            False,
        ),
        ("", False),
        ("How to decide", True),
        (
            "Write accept or reject in the Decision column (a dropdown); leave it blank to decide later. A rejection "
            "needs a Rejection reason: pick one of the reasons AWS documents from its dropdown. Only these two "
            "columns are yours to write; the others (grey) show the invitation as AWS sent it: leave them as they "
            "are (the Id says which invitation a decision answers).",
            False,
        ),
        (
            "Accepting an opportunity referral creates the opportunity in your pipeline. Accepting a lead makes it "
            "an engagement to qualify and convert: write the leads workbook next (opptoolkit leads --out leads.xlsx).",
            False,
        ),
        (
            f"Days to expiry counts from when this sheet was written ({written:%Y-%m-%d %H:%M} UTC). An invitation "
            "past its expiry, or answered already, is refused before any call is spent on it; so is a decision or a "
            "reason that is none of its dropdown's values, naming the row (and the nearest value, when one is close).",
            False,
        ),
        ("", False),
        *how_to_push(push),
        (
            "Each decision is sent once, whatever happens: the ledger folder (--ledger, default 'ledger') remembers "
            "what was sent, so pushing the same workbook again sends only what is still pending.",
            False,
        ),
    ]


def write_triage(
    df: pd.DataFrame,
    path: str | Path,
    *,
    catalog: str | None = None,
    endpoint_url: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write an invitation frame to a triage workbook: a ``Decision`` and ``Rejection reason`` dropdown per row.

    The pipeline workbook's layout (:func:`opptoolkit.sheets.write_workbook`): the columns a person decides by
    first (decision, reason, days to expiry, customer, project, spend, AWS contact, message), then every other
    non-empty column, each headed by its label (the model's member names in words, as the pipeline's headers);
    the invitations that can still be answered first, the answered and the expired last and grey; every column
    but the two a person writes grey and read-only; dropdowns of the model's values; a Read me whose push
    command names ``catalog`` (default: the frame's ``Catalog``) and ``endpoint_url``. Push it with
    :func:`push_decisions` (``opptoolkit push triage.xlsx``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> inv = pd.DataFrame({"Id": ["inv-1"], "Status": ["PENDING"], DECISION: ["accept"]})
    >>> path = write_triage(inv, pathlib.Path(tempfile.mkdtemp()) / "triage.xlsx", catalog="Sandbox")
    >>> read_triage(path)[[DECISION, "Status", "Id"]].values.tolist()
    [['accept', 'PENDING', 'inv-1']]
    """
    written = pd.Timestamp(now or datetime.now(UTC))
    df = _triage_order(df, written)
    for c in _DECIDED:
        if c not in df.columns:
            df[c] = pd.Series([None] * len(df), index=df.index, dtype=object)
    first = [c for c in _FIRST if c in df.columns]
    rest = [c for c in df.columns if c not in first and df[c].map(lambda v: not is_blank(v)).any()]
    columns = first + rest
    schema = output_schema(INVITATION_ANSWER)
    fields = [DAYS_FIELD if c == DAYS_TO_EXPIRY else None if c in _DECIDED else _field(schema, c) for c in columns]
    reasons: list[str | None] = [
        None
        if c in _DECIDED
        else "computed when the invitations were read"
        if f is None
        else "the invitation as AWS sent it"
        for c, f in zip(columns, fields, strict=True)
    ]
    open_ = _decidable(df, written)
    return write_workbook(
        df[columns],
        path,
        sheet_name=TRIAGE_SHEET,
        fields=fields,
        labels=triage_labels(columns),
        reasons=reasons,
        notes=_read_me(
            len(df),
            int(open_.sum()),
            catalog or frame_catalog(df),
            push_command(Path(path).name, catalog or frame_catalog(df), endpoint_url),
            written.to_pydatetime(),
        ),
        rows_locked=(~open_).tolist(),
        lists={DECISION: [ACCEPT, REJECT], "RejectionReason": list(rejection_reasons())},
        prompts={
            DECISION: "accept or reject (a rejection needs a reason); blank: decide later.",
            "RejectionReason": "Why you reject it: one of the reasons AWS documents (the list). Needed with reject.",
        },
        frozen=len(_DECIDED),
        printed=len(first),  # on paper, the columns a person decides by
    )


def is_triage(path: str | Path) -> bool:
    """Whether ``path`` is a triage workbook (:func:`write_triage`), not an opportunity workbook."""
    if Path(path).suffix.lower() != ".xlsx" or not Path(path).is_file() or workbook_problem(Path(path)) is not None:
        return False  # reading it as a sheet says what is wrong with it
    return TRIAGE_SHEET in sheet_names(Path(path))


def read_triage(path: str | Path) -> pd.DataFrame:
    """Read a triage workbook back: its columns as text under their paths (``ExpirationDate`` as UTC), row numbers kept.

    Headers are the labels :func:`write_triage` writes (or the paths an older triage had); a header no column
    of the model has is kept as it is.
    """
    path = Path(path)
    if not path.is_file():
        raise SheetError(f"cannot read {path}: no such file")
    if (why := workbook_problem(path)) is not None:
        raise SheetError(f"cannot read {path.name}: {why}")
    if TRIAGE_SHEET not in sheet_names(path):
        raise SheetError(
            f"{path.name} is not a triage workbook (it has no {TRIAGE_SHEET} sheet): "
            "write one with opptoolkit referrals --out triage.xlsx (write_triage)"
        )
    columns, labels = _triage_columns()
    df = read_workbook(path, TRIAGE_SHEET, columns=columns, labels=labels)
    if "ExpirationDate" in df:
        df["ExpirationDate"] = pd.to_datetime(df["ExpirationDate"], utc=True, errors="coerce")
    return df
