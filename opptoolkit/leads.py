"""Leads: from AWS's lead invitation to an opportunity submitted to AWS, from one sheet and one push.

AWS shares a lead as an engagement holding a ``Lead`` context and sends the partner a ``LeadInvitation``
(AWS's leadToOpportunity sample, Lead_To_Opportunity.md, and the sales guide's "Leads" page,
https://docs.aws.amazon.com/partner-central/latest/sales-guide/leads.html). The sample takes it to a submitted
opportunity in ten steps of boto3; here each lead is one row of a frame or a workbook (:func:`read_leads`,
:func:`write_leads`), and :func:`push_leads` does what the row asks, in the sample's order:

1. ``Decision`` ``accept``: AcceptEngagementInvitation (the lead's details, the contact among them, are readable
   only once accepted: sales guide, "You must accept an incoming lead before you can view all lead details");
   ``reject`` (with a ``RejectionReason``): RejectEngagementInvitation.
2. an edit of the lead (``QualificationStatus``, ``Customer.*``, ``Interaction.*``): UpdateEngagementContext with
   the latest Lead context merged three-way with the edit and the engagement's ``ModifiedAt`` as
   ``EngagementLastModifiedAt`` (the model's concurrency token); the same field changed on both sides is a
   ``conflict`` and nothing is sent for the row.
3. ``Convert`` ``yes``: StartOpportunityFromEngagementTask, polled until the task is done; its ``OpportunityId``
   is the row's opportunity.
4. ``Solutions``: AssociateOpportunity of each solution with that opportunity.
5. ``Submit`` (an involvement type): StartEngagementFromOpportunityTask, the submission to AWS, polled.

Every write goes through the ledgered executor (:mod:`opptoolkit.execute`): paced, on the daily write budget, the
intent durable before the call, exactly once across crashes, lost answers and reruns of the same ledger (the
operations that take a ClientToken get one derived by the executor; the others are read back before they are sent
again). A later step waits for the earlier one: a row whose accept or update is not known to have landed is not
converted. What can be known to fail is refused before a write is spent (an expired invitation, a disqualified
lead, a value outside the model).

An ``Interaction.*`` edit is sent as the update's ``Interaction``, which the lead then lists among its
interactions (the sample sends a new interaction this way, 4_update_engagement_context.py, and the opportunity it
converts into carries that interaction's business problem, Lead_To_Opportunity.md step 8). The row's
``Interaction.*`` cells start as the lead's latest interaction.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ._errors import code_and_message, unreachable
from ._files import replacing
from ._status import Reason, Status, how_many
from ._values import is_blank, spelling_key
from .client import without_metadata
from .connection import Connection, as_connection, calls_since, takes_connection
from .engagements import get_engagements
from .exceptions import OpptoolkitError, Problem, ServiceUnreachable, SheetError
from .execute import (
    CHECKS,
    RESULT_COLUMNS,
    Call,
    Runner,
    failed_tries,
    list_tasks,
    running,
)
from .frame import to_frame
from .ledger import Ledger
from .partner import SOLUTIONS_COLUMN, association_edit_calls, submit_opportunities
from .quotas import DAILY_WRITES
from .referrals import (
    ACCEPT,
    ACCEPT_LEAD_OP,
    DAYS_FIELD,
    DAYS_TO_EXPIRY,
    DECISION,
    LEAD_INVITATION,
    REJECT,
    decision_calls,
    read_invitations,
    rejection_reasons,
)
from .rules import allowed_message, model_problems
from .schema import Catalog, Field, label_for, output_schema, service_model, shape_schema, shape_value
from .sheets import (
    HEADS,
    SheetRows,
    add_results_sheet,
    frame_catalog,
    how_to_push,
    make_workbook,
    push_command,
    read_base_texts,
    read_workbook,
    results_path,
    sheet_names,
    unguard,
    workbook_problem,
)

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "CONVERT",
    "LEADS_SHEET",
    "OPPORTUNITY_ID",
    "SOLUTIONS",
    "SUBMIT",
    "is_leads_workbook",
    "push_leads",
    "read_leads",
    "read_leads_sheet",
    "write_lead_results",
    "write_leads",
]

_log = logging.getLogger(__name__)

LEAD = shape_value("EngagementContextType", "Lead")
UPDATE, CONVERT_OP = "UpdateEngagementContext", "StartOpportunityFromEngagementTask"
_TASKS = "ListOpportunityFromEngagementTasks"
_PENDING, _ACCEPTED = shape_value("InvitationStatus", "PENDING"), "ACCEPTED"
_IN_PROGRESS, _COMPLETE = shape_value("TaskStatus", "IN_PROGRESS"), shape_value("TaskStatus", "COMPLETE")
#: The model's ReasonCode of a conversion refused for a disqualified lead; the sales guide's "Lead status"
#: names the status (Open, Research, Qualified, Disqualified). The model's QualificationStatus is free text.
DISQUALIFIED_CODE, DISQUALIFIED = shape_value("ReasonCode", "DisqualifiedLeadNotPermitted"), "Disqualified"
#: The lead statuses the sales guide names ("Lead status"): offered in a workbook's dropdown, never enforced
#: (the model takes any text of 1 to 255 characters).
LEAD_STATUSES = ("Open", "Research", "Qualified", DISQUALIFIED)

# -- the leads frame's columns -------------------------------------------------------------------------------------
ENGAGEMENT_ID, CONTEXT_ID, TOKEN = "EngagementId", "ContextId", "EngagementLastModifiedAt"
INVITATION_ID, INVITATION_STATUS, EXPIRATION = "InvitationId", "InvitationStatus", "ExpirationDate"
TITLE, MESSAGE = "EngagementTitle", "InvitationMessage"
OPPORTUNITY_ID, CONVERSION = "OpportunityId", "ConversionStatus"
#: A step's warnings: what the guide asks that AWS was recorded taking without (the submission's, a list per row).
WARNINGS = "warnings"
#: The reason a rejection gives: RejectEngagementInvitation's member, one of the model's documented values.
REJECTION_REASON = "RejectionReason"
#: What a person writes: ``yes`` to convert the lead into an opportunity; the solutions to associate with it
#: (ids, separated by commas or new lines); an involvement type (the model's SalesInvolvementType) to submit it.
CONVERT, SOLUTIONS, SUBMIT = "Convert", "Solutions", "Submit"
ACTIONS = (DECISION, REJECTION_REASON, CONVERT, SOLUTIONS, SUBMIT)
_INTERACTION = "Interaction."
#: The members of a lead a partner edits: UpdateLeadContext's, less the Insights AI generates (model: "Insights
#: that AI generates and associates with the lead").
_EDITABLE = tuple(c for c in shape_schema("UpdateLeadContext").columns() if not c.startswith("Insights."))
_YES = frozenset({"yes", "y", "true", "x", "1", "convert"})
_INVOLVEMENT = tuple(service_model().shape_for("SalesInvolvementType").enum)  # type: ignore[attr-defined]


def _field(column: str) -> Field | None:
    """Return the model's field behind a leads column (a LeadContext member, or the new ``Interaction.*``)."""
    try:
        if column.startswith(_INTERACTION):
            return shape_schema("LeadInteraction").field_for(column[len(_INTERACTION) :])
        return shape_schema("LeadContext").field_for(column)
    except KeyError:
        return None


def _text(value: Any) -> str:
    """Return a cell's text: blank for no value, ISO 8601 (UTC) for a time."""
    if value is None or isinstance(value, (list, dict, tuple, np.ndarray)):
        return "" if value is None or len(value) == 0 else json.dumps(value, default=str)
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).tz_convert(UTC).isoformat() if pd.notna(value) else ""
    if pd.isna(value):
        return ""
    return str(value).strip()


def _same(column: str, a: str, b: str) -> bool:
    """Whether two texts of a column are the same value (a time compares as an instant)."""
    if a == b:
        return True
    f = _field(column)
    if f is not None and f.type == "timestamp" and a and b:
        try:
            return bool(pd.Timestamp(a) == pd.Timestamp(b))
        except ValueError:
            return False
    return False


# -- reading ---------------------------------------------------------------------------------------------------------


def _lead_of_invitation(inv: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the LeadContext and the interaction a LeadInvitation shows, in the Lead context's member names.

    The members have the same names in both shapes but two: the invitation's ``Customer.CountryCode`` is the lead's
    ``Customer.Address.CountryCode`` and its ``Interaction.ContactBusinessTitle`` the interaction's
    ``Contact.BusinessTitle`` (Lead_To_Opportunity.md, steps 1 and 3: the same lead as invitation and engagement).
    """
    payload = ((inv.get("Payload") or {}).get(LEAD_INVITATION)) or {}
    customer = dict(payload.get("Customer") or {})
    country = customer.pop("CountryCode", None)
    if country:
        customer["Address"] = {"CountryCode": country}
    interaction = dict(payload.get("Interaction") or {})
    title = interaction.pop("ContactBusinessTitle", None)
    if title:
        interaction["Contact"] = {"BusinessTitle": title}
    lead: dict[str, Any] = {"Customer": customer, "Interactions": []}
    insights = (inv.get("EnrichmentContext") or {}).get("LeadInsights")
    if insights:
        lead["Insights"] = insights
    return lead, interaction


def _conversions(client: Any, catalog: Catalog, engagements: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return the newest opportunity-from-engagement task of each engagement (ListOpportunityFromEngagementTasks).

    At most the model's bound of EngagementIdentifier values per call (:func:`opptoolkit.execute.list_tasks`); a
    COMPLETE task names the opportunity, and wins over a later failed one (the lead was converted).
    """
    out: dict[str, dict[str, Any]] = {}
    for task in list_tasks(client, CONVERT_OP, catalog, EngagementIdentifier=list(engagements)) if engagements else []:
        have = out.get(str(task.get(ENGAGEMENT_ID)))
        rank = (task.get("TaskStatus") == _COMPLETE, str(task.get("StartTime")))
        if have is None or rank > (have.get("TaskStatus") == _COMPLETE, str(have.get("StartTime"))):
            out[str(task.get(ENGAGEMENT_ID))] = dict(task)
    return out


@takes_connection
def read_leads(
    catalog: Catalog | Connection,
    *,
    status: str | Iterable[str] | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    reads_per_second: float | None = None,
    writes_per_second: float | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Read the leads AWS shared with the partner: one row per lead, the pending and expired invitations too.

    The lead invitations (ListEngagementInvitations with PayloadType LeadInvitation, GetEngagementInvitation each),
    the engagements with a Lead context (ListEngagements, GetEngagement each: readable once accepted) and the
    conversions started from them (ListOpportunityFromEngagementTasks). An accepted lead is its engagement's Lead
    context; a lead not accepted is what its invitation shows (the customer, the interaction's source).

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: a :class:`~opptoolkit.Connection` brings its client, pacing and progress; ``client=`` /
        ``boto3_session=`` / ``endpoint_url=`` are a convenience for one call.
    status : str or list of str, optional
        Only the leads whose invitation is in these statuses (the model's InvitationStatus); default all.
    reads_per_second, writes_per_second : float, optional
        Pacing of a connection made here (default: :func:`opptoolkit.connect`'s; the quotas page lists the engagement operations among neither its reads
        nor its writes: :func:`opptoolkit.quotas.quota_of` says how each is paced).
    now : datetime, optional
        The instant ``DaysToExpiry`` counts from.

    Returns
    -------
    DataFrame
        The actions a person writes first (``Decision``, ``RejectionReason``, ``QualificationStatus``,
        ``Convert``, ``Solutions``, ``Submit``), then ``OpportunityId`` (the opportunity the lead was converted
        into) and ``ConversionStatus``, the invitation's ``InvitationStatus``, ``DaysToExpiry`` and
        ``ExpirationDate``, the lead's members as columns of the model's LeadContext (``Customer.CompanyName``,
        ``Interactions[0].Contact.Email``, ``Insights.LeadReadinessScore``, ...), ``Interaction.*`` (the
        interaction to send, starting as the latest), and the keys: ``EngagementId``, ``ContextId``,
        ``InvitationId`` and ``EngagementLastModifiedAt`` (the update's concurrency token). Soonest expiry first,
        then the accepted leads, newest first.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast(), leads=True) as sb:
    ...     leads = read_leads("Sandbox", client=sb.client(), reads_per_second=1000, writes_per_second=1000,
    ...                        progress=False)
    >>> leads[["InvitationStatus", "Customer.CompanyName"]].iloc[[0, 1, -1]].values.tolist()
    [['PENDING', 'Delta Freight'], ['PENDING', 'Corvid Health'], ['EXPIRED', 'Evergreen Learning']]
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    with conn.paced():
        inv = read_invitations(conn, status=status, payload_type=LEAD_INVITATION, now=now)
        engagements, failures = get_engagements(conn, context_types=[LEAD])
        try:
            converted = _conversions(conn.client, conn.catalog, [e["Id"] for e in engagements])
        except (ClientError, BotoCoreError) as e:
            code, message = code_and_message(e)
            raise (unreachable(e) or OpptoolkitError(f"{_TASKS} failed: {code}: {message}")) from None
    records: list[dict[str, Any]] = [{str(k): v for k, v in r.items()} for r in inv.to_dict("records")]
    invitations = {str(r[ENGAGEMENT_ID]): r for r in records if isinstance(r.get(ENGAGEMENT_ID), str)}
    raw = {r["Id"]: r for r in _raw_invitations(inv)}
    rows: list[dict[str, Any]] = []
    leads: list[dict[str, Any]] = []
    latest: list[dict[str, Any]] = []
    wanted = set(inv["Id"].astype(str)) if status is not None else None
    for eng in engagements:
        invitation = invitations.get(eng["Id"])
        if wanted is not None and invitation is None:
            continue  # its invitation is not among the statuses asked for
        for context in eng.get("Contexts") or []:
            if context.get("Type") != LEAD:
                continue
            lead = ((context.get("Payload") or {}).get(LEAD)) or {}
            task = converted.get(eng["Id"], {})
            rows.append(_keys(eng, context, invitation, task))
            leads.append(lead)
            latest.append(dict((lead.get("Interactions") or [{}])[-1]))
    seen = {r[ENGAGEMENT_ID] for r in rows}
    for r in records:
        if r.get(ENGAGEMENT_ID) in seen:
            continue
        lead, interaction = _lead_of_invitation(raw.get(r["Id"], {}))
        rows.append(_keys({"Id": r.get(ENGAGEMENT_ID), "Title": r.get(TITLE)}, None, r, {}))
        leads.append(lead)
        latest.append(interaction)
    df = _frame(rows, leads, latest)
    df.attrs["failures"] = failures + list(inv.attrs.get("failures") or [])
    df.attrs["calls"] = dict(conn.pacer.calls)
    return df


def _raw_invitations(inv: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """Yield the invitations' answers back from the flat frame (payload members by their dotted columns)."""
    prefix = f"Payload.{LEAD_INVITATION}."
    enrich = "EnrichmentContext.LeadInsights."
    for r in inv.to_dict("records"):
        out: dict[str, Any] = {"Id": r["Id"], "Payload": {LEAD_INVITATION: {}}, "EnrichmentContext": {}}
        for column, value in r.items():
            if (isinstance(value, float) and np.isnan(value)) or value is None:
                continue
            for start, into in ((prefix, out["Payload"][LEAD_INVITATION]), (enrich, None)):
                if not str(column).startswith(start):
                    continue
                target = into if into is not None else out["EnrichmentContext"].setdefault("LeadInsights", {})
                _put(target, str(column)[len(start) :], value)
        yield out


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path (``a.b[0].c``) in nested dicts and lists."""
    parts = path.replace("[", ".[").split(".")
    node: Any = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt: Any = [] if not last and parts[i + 1].startswith("[") else {}
        if part.startswith("["):
            n = int(part[1:-1])
            while len(node) <= n:
                node.append({})
            if last:
                node[n] = value
            else:
                node = node[n]
        elif last:
            node[part] = value
        else:
            node = node.setdefault(part, nxt)


def _keys(
    engagement: Mapping[str, Any],
    context: Mapping[str, Any] | None,
    invitation: Mapping[str, Any] | None,
    task: Mapping[str, Any],
) -> dict[str, Any]:
    inv = invitation or {}
    return {
        ENGAGEMENT_ID: engagement.get("Id"),
        CONTEXT_ID: (context or {}).get("Id"),
        TOKEN: engagement.get("ModifiedAt") if context is not None else None,
        TITLE: engagement.get("Title") or inv.get(TITLE),
        INVITATION_ID: inv.get("Id"),
        INVITATION_STATUS: inv.get("Status"),
        EXPIRATION: inv.get(EXPIRATION),
        DAYS_TO_EXPIRY: inv.get(DAYS_TO_EXPIRY),
        MESSAGE: inv.get(MESSAGE),
        OPPORTUNITY_ID: task.get(OPPORTUNITY_ID),
        CONVERSION: task.get("TaskStatus"),
    }


def _frame(rows: list[dict[str, Any]], leads: list[dict[str, Any]], latest: list[dict[str, Any]]) -> pd.DataFrame:
    keys = pd.DataFrame(
        rows,
        columns=[ENGAGEMENT_ID, CONTEXT_ID, TOKEN, TITLE, INVITATION_ID, INVITATION_STATUS, EXPIRATION,
                 DAYS_TO_EXPIRY, MESSAGE, OPPORTUNITY_ID, CONVERSION],
    )  # fmt: skip
    for col in (TOKEN, EXPIRATION):
        keys[col] = pd.to_datetime(keys[col], utc=True)
    keys[DAYS_TO_EXPIRY] = pd.to_numeric(keys[DAYS_TO_EXPIRY], errors="coerce")
    for col in (
        ENGAGEMENT_ID,
        CONTEXT_ID,
        TITLE,
        INVITATION_ID,
        INVITATION_STATUS,
        MESSAGE,
        OPPORTUNITY_ID,
        CONVERSION,
    ):
        keys[col] = keys[col].astype(object).where(keys[col].notna(), None)
    lead = to_frame(leads, schema=shape_schema("LeadContext"))
    interaction = to_frame(latest, schema=shape_schema("LeadInteraction"))
    interaction.columns = [_INTERACTION + c for c in interaction.columns]
    actions = pd.DataFrame({c: [""] * len(keys) for c in ACTIONS}, dtype=object)
    df = pd.concat([actions, keys, lead, interaction], axis=1)
    first = [DECISION, REJECTION_REASON, "QualificationStatus", CONVERT, SOLUTIONS, SUBMIT, OPPORTUNITY_ID, CONVERSION,
             INVITATION_STATUS, DAYS_TO_EXPIRY, EXPIRATION, TITLE]  # fmt: skip
    customer = [c for c in lead.columns if c.startswith("Customer.")]
    new = list(interaction.columns)
    history = [c for c in lead.columns if c.startswith("Interactions[")]
    rest = [c for c in df.columns if c not in {*first, *customer, *new, *history, ENGAGEMENT_ID, CONTEXT_ID,
                                                INVITATION_ID, TOKEN}]  # fmt: skip
    df = df[first + customer + new + [MESSAGE] + history + [c for c in rest if c != MESSAGE]
            + [ENGAGEMENT_ID, CONTEXT_ID, INVITATION_ID, TOKEN]]  # fmt: skip
    pending = df[INVITATION_STATUS].isin([_PENDING]) & df[CONTEXT_ID].isna()
    order = np.where(pending, 0, np.where(df[CONTEXT_ID].notna(), 1, 2))
    df = df.assign(_order=order).sort_values(
        ["_order", EXPIRATION, ENGAGEMENT_ID], na_position="last", kind="stable"
    )  # fmt: skip
    return df.drop(columns="_order").reset_index(drop=True)


# -- the workbook ----------------------------------------------------------------------------------------------------

#: The worksheet that marks a leads workbook (``opptoolkit push`` tells it from the others).
LEADS_SHEET = "Leads"
#: The columns the base remembers: what a push compares the edits with, and the concurrency token.
_BASE_COLUMNS = (*_EDITABLE, TOKEN)
#: The invitation statuses of a lead nothing can be done with any more (unless accepted before).
_CLOSED = (shape_value("InvitationStatus", "EXPIRED"), shape_value("InvitationStatus", "REJECTED"))
#: The columns printed (those a person works with, before the lead's details): the actions and where each lead is.
_PRINTED = (
    *ACTIONS,
    "QualificationStatus",
    OPPORTUNITY_ID,
    CONVERSION,
    INVITATION_STATUS,
    DAYS_TO_EXPIRY,
    EXPIRATION,
    TITLE,
)
#: The column that names a lead to a person: first in the workbook, frozen beside the header.
_NAMED_BY = ("Customer.CompanyName",)
assert set(_NAMED_BY) <= set(shape_schema("LeadContext").columns()), "model changed: a lead names no company"
#: What names a lead in the workbook's base: its engagement and its Lead context (see :func:`_key`).
_BASE_KEY = (ENGAGEMENT_ID, CONTEXT_ID)
_PROMPTS = {
    DECISION: "accept or reject the lead invitation (a rejection needs a reason); blank: decide later.",
    REJECTION_REASON: "Why you reject it: one of the reasons AWS documents (the list). Needed with reject.",
    "QualificationStatus": "The lead's status: Open, Research, Qualified or Disqualified (the sales guide's); "
    "another text is allowed. A Disqualified lead is not converted.",
    CONVERT: "yes: convert the accepted lead into an opportunity (once qualified); blank: not now.",
    SOLUTIONS: "Solution ids to associate with the opportunity the lead becomes (one per line, or separated by "
    "commas).",
    SUBMIT: "An involvement type: submit the opportunity to AWS once converted; blank: not now.",
}


def _key(row: Mapping[str, Any]) -> str:
    return f"{_text(row.get(ENGAGEMENT_ID))}/{_text(row.get(CONTEXT_ID))}"


def _editable_columns(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in ACTIONS or c in _EDITABLE]


def _sheet_field(column: str) -> Field | None:
    """Return the model's field behind a leads sheet column: its cells (a number, a date, a time) and its help."""
    if column == DAYS_TO_EXPIRY:
        return DAYS_FIELD
    if column in (EXPIRATION, INVITATION_STATUS, MESSAGE):
        member = {INVITATION_STATUS: "Status"}.get(column, column)
        return output_schema("GetEngagementInvitation").field_for(member)
    if column == TOKEN:
        return output_schema("GetEngagement").field_for("ModifiedAt")
    return None if column in ACTIONS else _field(column)


@functools.cache
def _sheet_columns() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every column a leads sheet may hold (as :func:`read_leads` names them) and its header."""
    lead = shape_schema("LeadContext").columns()
    new = [_INTERACTION + c for c in shape_schema("LeadInteraction").columns()]
    keys = (ENGAGEMENT_ID, CONTEXT_ID, TOKEN, TITLE, INVITATION_ID, INVITATION_STATUS, EXPIRATION, DAYS_TO_EXPIRY,
            MESSAGE, OPPORTUNITY_ID, CONVERSION)  # fmt: skip
    columns = tuple(dict.fromkeys((*ACTIONS, *keys, *lead, *new)))
    return columns, tuple(label_for(c) for c in columns)


def _choices() -> dict[str, tuple[str, ...]]:
    """Return the leads sheet's columns of a closed set of values (their dropdowns), each with its values."""
    return {DECISION: (ACCEPT, REJECT), REJECTION_REASON: rejection_reasons(), CONVERT: ("yes",), SUBMIT: _INVOLVEMENT}


#: The step a closed column asks for: a row refused for its cell is reported as that step's.
_STEP_OF = {
    DECISION: ACCEPT_LEAD_OP,
    REJECTION_REASON: "RejectEngagementInvitation",
    CONVERT: CONVERT_OP,
    SUBMIT: "StartEngagementFromOpportunityTask",
}


def _closed(df: pd.DataFrame) -> list[bool]:
    """Whether nothing can be done with each lead any more: its invitation expired or rejected, never accepted."""
    status = df[INVITATION_STATUS] if INVITATION_STATUS in df.columns else pd.Series([None] * len(df), index=df.index)
    context = df[CONTEXT_ID] if CONTEXT_ID in df.columns else pd.Series([None] * len(df), index=df.index)
    return [_text(s) in _CLOSED and not _text(c) for s, c in zip(status.tolist(), context.tolist(), strict=True)]


def _read_me(n: int, closed: int, catalog: str | None, push: str) -> list[tuple[str, bool]]:
    where = f"the {catalog} catalog" if catalog else "Partner Central"
    return [
        ("What this is", True),
        (
            f"The {how_many(n, 'lead')} AWS shared with the partner in {where}, made by opptoolkit to take each from its "
            f"invitation to an opportunity submitted to AWS. The sheet '{LEADS_SHEET}' holds one lead per row: those "
            f"waiting for a decision first, then the accepted ones; the {closed:,} expired or rejected last, in grey.",
            False,
        ),
        ("", False),
        ("What to write", True),
        (
            "Decision: accept or reject the invitation (a rejection needs a Rejection reason from its dropdown). "
            "Qualification status, the customer's and the interaction's cells: the lead as you qualify it (the "
            "interaction cells start as its latest interaction; an edit there is sent as a new interaction). "
            "Convert: yes, to make the lead an opportunity. Solutions: the solution ids to associate with it. "
            "Submit: an involvement type, to submit it to AWS.",
            False,
        ),
        (
            "Write only what should change: the workbook remembers each lead as written, and the push sends only "
            "the cells that differ. Grey cells are read from Partner Central and are not sent. Decision, Rejection "
            "reason, Convert and Submit take one of their dropdown's values: another is refused before a write is "
            "spent on it, naming the row (and the nearest value, when one is close). Qualification status offers the "
            "sales guide's statuses and takes any text.",
            False,
        ),
        (
            "The push does each row's steps in order, each once: accept, qualify, convert, associate the solutions, "
            "submit. A step waits for the one before it; an expired invitation is refused before any call.",
            False,
        ),
        ("", False),
        *how_to_push(push),
        (
            "The ledger folder (--ledger, default 'ledger') remembers every step sent: pushing the same workbook "
            "again sends only what is still to do, and a colleague's change to a lead since it was read is merged, "
            "or named as a conflict when you both changed the same cell.",
            False,
        ),
    ]


def write_leads(
    df: pd.DataFrame,
    path: str | Path,
    *,
    solutions: pd.DataFrame | None = None,
    catalog: str | None = None,
    endpoint_url: str | None = None,
) -> Path:
    """Write a leads frame to a workbook to decide, qualify, convert and submit in; push it with :func:`push_leads`.

    The pipeline workbook's layout (:func:`opptoolkit.sheets.write_workbook`): a ``Leads`` sheet headed by
    labels, the columns a person writes white with dropdowns (``Decision``, the model's rejection reasons, the
    sales guide's lead statuses as suggestions, ``Convert``, the model's involvement types for ``Submit``, the
    active solutions when ``solutions`` is given), every other column grey; the expired and rejected leads last
    and grey; dates and numbers as such; a Read me whose push command names ``catalog`` and ``endpoint_url``;
    and a very hidden sheet that remembers each lead as written (:func:`opptoolkit.sheets.add_base`'s), so that
    a push sends only what was edited and merges a colleague's change to another field.

    Returns
    -------
    Path
        ``path``, written whole or not at all.
    """
    path = Path(path)
    wb = _workbook(df, path.name, solutions=solutions, catalog=catalog, endpoint_url=endpoint_url)
    with replacing(path) as tmp:
        wb.save(tmp)
    return path


def _workbook(
    df: pd.DataFrame,
    name: str,
    *,
    solutions: pd.DataFrame | None = None,
    catalog: str | None = None,
    endpoint_url: str | None = None,
    carry: tuple[Sequence[str], Mapping[str, Sequence[str]]] | None = None,
) -> Any:
    """Return the leads workbook of ``df``, not yet saved (see :func:`write_leads`); ``carry``: the base to keep."""
    columns = [c for c in df.columns if c in ACTIONS or c in _EDITABLE or df[c].map(_text).ne("").any()]
    named = [c for c in _NAMED_BY if c in columns]  # first and frozen, as the pipeline's customer company
    columns = named + [c for c in columns if c not in named]
    editable = set(_editable_columns(columns))
    frame = df[columns].copy()
    for c in (ENGAGEMENT_ID, CONTEXT_ID, TOKEN):  # what the base is remembered by, even where every cell is blank
        if c not in frame.columns:
            frame[c] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    columns = list(frame.columns)
    lists: dict[str, Sequence[str]] = {**_choices(), "QualificationStatus": LEAD_STATUSES}
    if solutions is not None and "Id" in solutions:
        active = solutions[solutions["Status"] == "Active"] if "Status" in solutions else solutions
        lists[SOLUTIONS] = tuple(str(i) for i in active["Id"])
    closed = _closed(frame)
    where = catalog or frame_catalog(frame)
    return make_workbook(
        frame,
        name,
        sheet_name=LEADS_SHEET,
        fields=[_sheet_field(c) for c in columns],
        labels=[label_for(c) for c in columns],
        reasons=[None if c in editable else "read from Partner Central: not sent" for c in columns],
        notes=_read_me(len(frame), sum(closed), where, push_command(name, where, endpoint_url)),
        rows_locked=closed,
        lists=lists,
        suggest={"QualificationStatus"},  # the sales guide's statuses: the model takes any text
        prompts=_PROMPTS,
        frozen=len(named),
        base=(_BASE_KEY, TOKEN),
        carry=carry,
        # on paper, what a person works with: the leading columns up to the lead's details
        printed=next((j for j, c in enumerate(columns) if c not in _PRINTED and c not in named), len(columns)),
    )


#: Each step of a lead as the results workbook says it (the operations :func:`push_leads` sends).
_STEPS = {
    ACCEPT_LEAD_OP: "Accept the invitation",
    "RejectEngagementInvitation": "Reject the invitation",
    UPDATE: "Update the lead",
    CONVERT_OP: "Convert into an opportunity",
    "AssociateOpportunity": "Associate a solution",
    "DisassociateOpportunity": "Disassociate a solution",
    "StartEngagementFromOpportunityTask": "Submit to AWS",
}
assert set(_STEPS) <= set(service_model().operation_names), "model changed: a step of the leads flow is gone"
#: What each outcome means for the row, in words.
_DONE: dict[str, str] = {
    Status.SUCCEEDED: "done.",
    Status.SKIPPED: "done already (an earlier push, or on Partner Central): nothing sent.",
    Status.UPDATE: "would be sent (dry run: nothing sent).",
    Status.INVALID: "not sent: fix the cell named here, then push this workbook again.",
    Status.CONFLICT: "not sent: changed on Partner Central since the leads were read, and here.",
    Status.FAILED: "refused by the service: push this workbook again once fixed.",
    Status.UNKNOWN: "outcome unknown: the next push reads it back and finishes it.",
    Status.DEFERRED: "not sent yet: it waits for an earlier step; push this workbook again.",
}
#: The order of the results sheet: what needs a look first, then what was done.
_FIRST_SHOWN = (Status.FAILED, Status.INVALID, Status.CONFLICT, Status.UNKNOWN, Status.DEFERRED, Status.UPDATE)


def write_lead_results(
    result: pd.DataFrame,
    edited: str | Path,
    path: str | Path | None = None,
    *,
    catalog: str | None = None,
    endpoint_url: str | None = None,
) -> Path:
    """Write what :func:`push_leads` did into a copy of the edited leads workbook: ``<name>.results.xlsx``.

    As :func:`opptoolkit.write_results` does for a pushed pipeline workbook: the ``Leads`` sheet again, as
    edited (first, so that it can be fixed and pushed again: the ledger skips every step done, and the copy
    remembers the same leads as the edited workbook did), then a "Results" sheet
    (:func:`opptoolkit.sheets.add_results_sheet`): one line per step sent or refused, what needs a look
    first, each with its row, the step and its outcome in words, the message, the fields it changed and the
    code.

    Parameters
    ----------
    result : DataFrame
        What :func:`push_leads` returned for ``edited``.
    edited : str or Path
        The leads workbook that was pushed.
    path : str or Path, optional
        Where to write; default ``<name>.results.xlsx`` beside ``edited``.
    catalog, endpoint_url : str, optional
        Where the leads came from, named in the Read me's push command.

    Returns
    -------
    Path
        The results workbook.
    """
    edited = Path(edited)
    out = Path(path) if path is not None else results_path(edited)
    frame, _ = read_leads_sheet(edited)
    try:
        carry = read_base_texts(edited)
    except (ValueError, KeyError, IndexError, TypeError):
        carry = None
    rows = []
    for r in result.to_dict("records"):
        status = str(r.get("status") or "")
        step = _STEPS.get(str(r.get("operation")), str(r.get("operation") or ""))
        detail = "" if is_blank(r.get("error_message")) else str(r["error_message"])
        warnings = [f"warning: {w}" for w in (r.get(WARNINGS) or [])]
        code = next((str(r[k]) for k in ("error_code", "reason") if not is_blank(r.get(k))), "")
        rows.append(
            {
                "Row": int(r["row"]) if str(r.get("row") or "").isdigit() else r.get("row"),
                "Id": "" if is_blank(r.get("Id")) else str(r["Id"]),
                "Status": status,
                "Message": " ".join(x for x in [f"{step}: {_DONE.get(status, status)}", detail, *warnings] if x),
                "Changed fields": ", ".join(label_for(str(c)) for c in (r.get("changed_fields") or [])),
                "Code": code,
                "Last modified": "",
            }
        )
    table = pd.DataFrame(rows, columns=HEADS)
    rank = {s: i for i, s in enumerate(_FIRST_SHOWN)}
    table = table.iloc[sorted(range(len(table)), key=lambda i: rank.get(table["Status"].iloc[i], len(rank)))]
    colours: dict[str, list[int]] = {}
    for n, status in zip(table["Row"], table["Status"], strict=True):
        if isinstance(n, int):
            colours.setdefault(status, []).append(n)
    wb = _workbook(frame, out.name, catalog=catalog, endpoint_url=endpoint_url, carry=carry)
    add_results_sheet(wb, table.reset_index(drop=True), colours, [str(c) for c in frame.columns])
    with replacing(out) as tmp:
        wb.save(tmp)
    return out


def is_leads_workbook(path: str | Path) -> bool:
    """Whether ``path`` is a leads workbook (:func:`write_leads`)."""
    p = Path(path)
    if p.suffix.lower() != ".xlsx" or not p.is_file() or workbook_problem(p) is not None:
        return False
    return LEADS_SHEET in sheet_names(p)


def read_leads_sheet(path: str | Path) -> tuple[pd.DataFrame, dict[str, dict[str, str]] | None]:
    """Read a leads workbook back: its cells as text under their columns (row numbers kept), and the base it remembers.

    The base (None: the workbook has none) maps each lead's key to its editable cells' texts as written (see
    :func:`write_leads`).
    """
    p = Path(path)
    if not p.is_file():
        raise SheetError(f"cannot read {p}: no such file")
    if (why := workbook_problem(p)) is not None:
        raise SheetError(f"cannot read {p.name}: {why}")
    if LEADS_SHEET not in sheet_names(p):
        raise SheetError(f"{p.name} is not a leads workbook (no {LEADS_SHEET} sheet): write one with opptoolkit leads")
    columns, labels = _sheet_columns()
    df = read_workbook(p, LEADS_SHEET, columns=columns, labels=labels)
    try:
        found = read_base_texts(p)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        _log.warning("%s: the leads it remembers cannot be read (%s); every filled cell counts as an edit", p.name, e)
        found = None
    if found is None:
        return df, None
    header, rows = found
    at = [(c, header.index(c)) for c in _BASE_COLUMNS if c in header]
    return df, {key: {c: _text(unguard(texts[i])) for c, i in at} for key, texts in rows.items()}


# -- pushing ---------------------------------------------------------------------------------------------------------


def _texts(df: pd.DataFrame) -> pd.DataFrame:
    return df.map(_text) if len(df) else df.astype(object)


def _base_of(base: pd.DataFrame | Mapping[str, Mapping[str, str]] | None) -> dict[str, dict[str, str]] | None:
    if base is None:
        return None
    if isinstance(base, pd.DataFrame):
        records = [{str(k): v for k, v in r.items()} for r in base.to_dict("records")]
        return {_key(r): {c: _text(r.get(c)) for c in _BASE_COLUMNS} for r in records}
    return {k: dict(v) for k, v in base.items()}


def _labels(df: pd.DataFrame) -> list[str]:
    """Name each row by the sheet row it was read from (a frame: by its label)."""
    rows = SheetRows.of(df)
    return rows.labels(df) if rows is not None else [str(i) for i in df.index]


def _lead_texts(lead: Mapping[str, Any]) -> dict[str, str]:
    """Return a Lead context as the leads frame's texts: its members, and its latest interaction as ``Interaction.*``."""
    row = to_frame([dict(lead)], schema=shape_schema("LeadContext")).iloc[0]
    latest = dict((lead.get("Interactions") or [{}])[-1])
    new = to_frame([latest], schema=shape_schema("LeadInteraction")).iloc[0]
    out = {c: _text(row.get(c)) for c in _EDITABLE if not c.startswith(_INTERACTION)}
    out.update({_INTERACTION + c: _text(new.get(c)) for c in new.index})
    return out


def _nested(texts: Mapping[str, str], prefix: str = "") -> dict[str, Any]:
    """Return the UpdateLeadContext members from texts (blank texts left out; a time as a datetime)."""
    out: dict[str, Any] = {}
    for column, text in texts.items():
        if not text or not column.startswith(prefix):
            continue
        f = _field(column)
        value: Any = pd.Timestamp(text).to_pydatetime() if f is not None and f.type == "timestamp" else text
        _put(out, column[len(prefix) :], value)
    return out


class _Row:
    """One lead row being pushed: its texts, what was asked of it, and what has happened to it so far."""

    def __init__(self, label: str, texts: Mapping[str, str], base: Mapping[str, str] | None) -> None:
        self.label = label
        self.t = dict(texts)
        self.base = base
        self.engagement = self.t.get(ENGAGEMENT_ID, "")
        self.context = self.t.get(CONTEXT_ID, "")
        self.opportunity = self.t.get(OPPORTUNITY_ID, "")
        self.blocked: str | None = None  # why the later steps of this row are not sent

    @property
    def edits(self) -> dict[str, str]:
        """The editable cells that differ from the base (all filled ones when there is no base)."""
        out = {}
        for c in _EDITABLE:
            if c not in self.t:
                continue
            was = (self.base or {}).get(c, "")
            if not _same(c, self.t[c], was) and (self.base is not None or self.t[c]):
                out[c] = self.t[c]
        return out

    def asked(self, column: str) -> str:
        return self.t.get(column, "").strip()

    def choice_problems(self) -> list[Problem]:
        """Each filled cell of a closed column (:func:`_choices`) that is none of its values, by the column's label.

        A value spelt otherwise (case, spacing: ``co-sell``) is taken as the value; a near miss gets a "did you
        mean". Checked when the sheet is read, before any call: the steps before the one a cell asks for are not
        sent either.
        """
        out = []
        for column, choices in _choices().items():
            typed = self.asked(column)
            taken = _YES if column == CONVERT else choices
            same = next((c for c in taken if spelling_key(c) == spelling_key(typed)), None)
            if not typed or same is not None:
                if same is not None and column != CONVERT:
                    self.t[column] = same
                continue
            said = allowed_message(choices, typed, sensitive=False)  # the words of the model's enum check
            out.append(Problem(self.label, column, "INVALID_ENUM_VALUE", said))  # the column: its cell is marked
        return out


@takes_connection
def push_leads(
    leads: pd.DataFrame | str | Path,
    catalog: Catalog | Connection,
    *,
    ledger: str | Path,
    base: pd.DataFrame | Mapping[str, Mapping[str, str]] | None = None,
    dry_run: bool = False,
    poll_seconds: float = 2.0,
    timeout: float = 300.0,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float | None = None,
    writes_per_second: float | None = None,
    daily_write_budget: int = DAILY_WRITES,
    progress: bool | None = True,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Do what each lead row asks: accept or reject, qualify, convert, associate solutions, submit.

    See the module's text for the steps, their order and their calls. Each step of a row waits for the one before
    it (an accept that failed, or whose outcome is unknown, leaves the row's later steps ``deferred``: the next
    push, with the same ledger, settles it and goes on).

    Parameters
    ----------
    leads : DataFrame or path
        A frame from :func:`read_leads` (edited), or a workbook from :func:`write_leads`.
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: a :class:`~opptoolkit.Connection` brings its client, pacing, write budget and progress;
        ``client=`` / ``boto3_session=`` / ``endpoint_url=`` are a convenience for one call.
    ledger : path
        The ledger folder (as for :func:`opptoolkit.push_updates`).
    base : DataFrame or mapping, optional
        The leads as read before the edits (:func:`read_leads`' frame); a workbook carries its own. Without one,
        every filled editable cell is an edit, and a field changed on the server since is a conflict.
    dry_run : bool
        Send nothing; each step that would be sent is ``update``.
    poll_seconds, timeout : float
        How often and how long the conversion and submission tasks are polled.
    now : datetime, optional
        The instant an invitation's expiry is judged at.

    Returns
    -------
    DataFrame
        One row per step sent or refused (:data:`opptoolkit.execute.RESULT_COLUMNS`: ``row``, ``Id`` the
        invitation, engagement or opportunity the call is about, ``operation``, ``status``, ``error_code``, ...),
        then ``EngagementId`` and ``OpportunityId`` (the opportunity a conversion made). Conflicts are
        ``conflict`` with the fields; what waits for an earlier step is ``deferred``.
    """
    if isinstance(leads, (str, Path)):
        frame, carried = read_leads_sheet(leads)
        base_texts = _base_of(base) if base is not None else carried
    else:
        frame, base_texts = leads, _base_of(base)
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    texts = _texts(frame)
    records = [{str(k): str(v) for k, v in r.items()} for r in texts.to_dict("records")]
    rows = [
        _Row(label, r, None if base_texts is None else base_texts.get(_key(r), {}))
        for label, r in zip(_labels(frame), records, strict=True)
    ]
    every = list(rows)
    catalog, c = conn.catalog, conn.client
    book = Ledger(ledger, create=not dry_run, boto3_session=conn.boto3_session)
    checks = {**CHECKS, UPDATE: _check_updated}
    runner = Runner(c, book, conn.daily_write_budget, checks=checks, dry_run=dry_run)
    before = dict(conn.pacer.calls)
    # the ledger held, paced by the connection; what earlier runs left unknown is settled once these steps are done
    with running(runner, conn, catalog):
        rows = _refuse_choices(rows, catalog, runner)
        try:
            _decide(rows, catalog, runner, book, now, conn.boto3_session)
            _qualify(rows, catalog, c, runner, book)
            _convert(rows, catalog, c, runner, book, poll_seconds, timeout)
            solution_rows = [
                (r.label, r.opportunity, {SOLUTIONS_COLUMN: r.asked(SOLUTIONS)})
                for r in rows
                if r.asked(SOLUTIONS) and r.opportunity and r.blocked is None
            ]
            if solution_rows:  # the association calls, on the same runner
                start = len(runner.results)
                calls = association_edit_calls(solution_rows, catalog, client=c, base=None)
                runner.run(calls, progress=conn.progress, desc="solutions")
                solved = pd.DataFrame(runner.results[start:], columns=["row", "status"])
                for r in rows:
                    mine = solved[solved["row"] == r.label]
                    if not mine.empty and not mine["status"].isin([Status.SUCCEEDED, Status.SKIPPED]).all():
                        r.blocked = "its solutions were not all associated"
        except ServiceUnreachable as e:
            e.result = _result(runner, every)
            raise
    parts = [_result(runner, every)]
    parts += _submit(rows, conn, ledger, dry_run, poll_seconds, timeout)
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    told = out[WARNINGS] if WARNINGS in out.columns else pd.Series([None] * len(out), index=out.index, dtype=object)
    out[WARNINGS] = [list(w) if isinstance(w, list) else [] for w in told]
    out.attrs = {"ledger": str(book.path), "calls": calls_since(conn, before)}
    return out


def _result(runner: Runner, rows: Sequence[_Row]) -> pd.DataFrame:
    df = runner.frame()
    df.attrs = {}
    return _with_keys(df, rows, [r.get(_MADE) for r in runner.results])


#: The opportunity a result's conversion made (a key of the runner's result dicts; the frame's OpportunityId).
_MADE = "_opportunity"


def _with_keys(df: pd.DataFrame, rows: Sequence[_Row], made: Sequence[Any] | None = None) -> pd.DataFrame:
    by_label = {r.label: r for r in rows}
    df = df.copy()
    df[ENGAGEMENT_ID] = [getattr(by_label.get(str(lb)), "engagement", None) or None for lb in df["row"]]
    made = list(made) if made is not None else [None] * len(df)
    df[OPPORTUNITY_ID] = [
        m or (getattr(by_label.get(str(lb)), "opportunity", None) or None)
        for m, lb in zip(made, df["row"], strict=True)
    ]
    return df


def _refuse_choices(rows: Sequence[_Row], catalog: Catalog, runner: Runner) -> list[_Row]:
    """Record each row with a cell none of its column's values as invalid (nothing sent); return the others."""
    fine = []
    for r in rows:
        problems = r.choice_problems()
        if not problems:
            fine.append(r)
            continue
        column = problems[0].field
        ident = r.t.get(INVITATION_ID, "") if column in (DECISION, REJECTION_REASON) else r.engagement
        call = Call(r.label, _STEP_OF[column], ident or "-", {"Catalog": catalog}, fields=[column])
        call.problems = problems
        runner.record(runner.invalid(call))
    return fine


def _defer(runner: Runner, row: _Row, operation: str, ident: str, why: str) -> None:
    """Record a step not sent because an earlier step of the row did not land (nothing spent)."""
    call = Call(row.label, operation, ident, {"Catalog": "-"}, key=f"deferred:{operation}:{ident}")
    runner.record(runner.outcome(call, Status.DEFERRED, error_message=f"not sent: {why}; push again once it has"))


# 1. decisions --------------------------------------------------------------------------------------------------


def _decide(
    rows: Sequence[_Row],
    catalog: Catalog,
    runner: Runner,
    book: Ledger,
    now: datetime | None,
    boto3_session: boto3.Session | None,
) -> None:
    asked = [r for r in rows if r.asked(DECISION)]
    if not asked:
        return
    fresh = _invitation_status(runner.client, catalog, [r.t.get(INVITATION_ID, "") for r in asked])
    triage = pd.DataFrame(
        [
            {
                "Id": r.t.get(INVITATION_ID, ""),
                "PayloadType": LEAD_INVITATION,
                "Status": fresh.get(r.t.get(INVITATION_ID, ""), r.t.get(INVITATION_STATUS, "")),
                EXPIRATION: r.t.get(EXPIRATION, "") or None,
                DECISION: r.asked(DECISION),
                REJECTION_REASON: r.asked(REJECTION_REASON),
            }
            for r in asked
        ]
    )
    # each decision named by the leads sheet's row, as decision_calls reads a triage's rows
    ids = tuple(None if pd.isna(v) else str(v) for v in triage["Id"])
    SheetRows(tuple(int(r.label) for r in asked), ids).attach(triage)
    calls = decision_calls(
        triage, catalog, ledger=None if runner.dry_run else book.path, now=now, boto3_session=boto3_session
    )
    for r, call in zip(asked, calls, strict=True):
        status = fresh.get(call.id, "")
        if call.operation == ACCEPT_LEAD_OP and status == _ACCEPTED:
            # accepted already (a colleague, another ledger, an earlier run): nothing to send, the row goes on
            call.problems = []
            runner.record(runner.outcome(call, Status.SKIPPED, write=False, error_message="already accepted"))
            continue
        start = len(runner.results)
        runner.one(call)
        outcome = runner.results[start]["status"] if len(runner.results) > start else None
        if call.operation != ACCEPT_LEAD_OP:
            r.blocked = "the lead was rejected" if outcome in (Status.SUCCEEDED, Status.SKIPPED) else "not accepted"
        elif outcome not in (Status.SUCCEEDED, Status.SKIPPED, Status.UPDATE):
            r.blocked = f"its accept is {outcome}"


def _invitation_status(client: Any, catalog: Catalog, ids: Iterable[str]) -> dict[str, str]:
    """Each invitation's Status as the service holds it now (one GetEngagementInvitation each, a read)."""
    out = {}
    for ident in ids:
        if not ident:
            continue
        try:
            out[ident] = str(client.get_engagement_invitation(Catalog=catalog, Identifier=ident).get("Status") or "")
        except (ClientError, BotoCoreError) as e:
            if (u := unreachable(e, unanswered=True)) is not None:
                raise ServiceUnreachable(str(u)) from None
    return out


# 2. qualifying: UpdateEngagementContext ----------------------------------------------------------------------------


def _engagement(client: Any, catalog: Catalog, ident: str) -> dict[str, Any] | None:
    try:
        return without_metadata(client.get_engagement(Catalog=catalog, Identifier=ident))
    except (ClientError, BotoCoreError) as e:
        if (u := unreachable(e, unanswered=True)) is not None:
            raise ServiceUnreachable(str(u)) from None
        code, _ = code_and_message(e)
        if code in ("ResourceNotFoundException", "AccessDeniedException"):
            return None
        raise


def _lead_context(engagement: Mapping[str, Any], context: str) -> dict[str, Any] | None:
    for ctx in engagement.get("Contexts") or []:
        if ctx.get("Type") == LEAD and (not context or ctx.get("Id") == context):
            return dict(ctx)
    return None


def _qualify(rows: Sequence[_Row], catalog: Catalog, client: Any, runner: Runner, book: Ledger) -> None:
    for r in rows:
        edits = r.edits
        if not edits:
            continue
        if r.blocked is not None:
            _defer(runner, r, UPDATE, r.engagement, r.blocked)
            continue
        for attempt in range(2):  # a ConflictException (the engagement changed meanwhile) is merged once more
            outcome = _qualify_one(r, edits, catalog, client, runner, book)
            if outcome != "ConflictException" or attempt == 1:
                break


def _qualify_one(
    r: _Row, edits: Mapping[str, str], catalog: Catalog, client: Any, runner: Runner, book: Ledger
) -> str | None:
    eng = _engagement(client, catalog, r.engagement) if r.engagement else None
    ctx = _lead_context(eng, r.context) if eng is not None else None
    if eng is None or ctx is None:
        call = Call(r.label, UPDATE, r.engagement or "-", {"Catalog": catalog}, fields=sorted(edits))
        why = "accept the invitation first" if eng is None else "the engagement has no such Lead context"
        call.problems = [Problem(r.label, ENGAGEMENT_ID, "INVALID_RESOURCE_STATE", f"cannot read the lead: {why}")]
        runner.record(runner.invalid(call))
        r.blocked = "its lead could not be updated"
        return None
    r.context = str(ctx["Id"])
    theirs = _lead_texts(((ctx.get("Payload") or {}).get(LEAD)) or {})
    merged = dict(theirs)
    clashes = []
    for column, ours in edits.items():
        was = (r.base or {}).get(column, "") if r.base is not None else None
        now = theirs.get(column, "")
        if _same(column, now, ours) or (was is not None and _same(column, now, was)):
            merged[column] = ours
        else:
            clashes.append(column)
    key = book.key(["lead", r.engagement, r.context, sorted(edits.items())])
    prior = book.latest_by_key(UPDATE).get((r.engagement, key), {}).get("status")
    if (
        not clashes
        and prior not in (Status.IN_FLIGHT, Status.UNKNOWN)
        and all(_same(col, theirs.get(col, ""), ours) for col, ours in edits.items())
    ):
        # the lead holds the edit already (an earlier push, another ledger, a colleague): nothing to send
        call = Call(r.label, UPDATE, r.engagement, {"Catalog": catalog}, key=key, fields=sorted(edits))
        held = "the lead already holds these values"
        runner.record(runner.outcome(call, Status.SKIPPED, write=False, error_message=held))
        return None
    new_interaction = any(c.startswith(_INTERACTION) for c in edits if c not in clashes)
    lead: dict[str, Any] = _nested({c: v for c, v in merged.items() if not c.startswith(_INTERACTION)})
    if new_interaction:
        interaction = {c: v for c, v in merged.items() if c.startswith(_INTERACTION)}
        if "Interaction.InteractionDate" not in edits:
            interaction.pop("Interaction.InteractionDate", None)  # a new interaction: the service dates it
        lead["Interaction"] = _nested(interaction, _INTERACTION)
    params = {
        "Catalog": catalog,
        "EngagementIdentifier": r.engagement,
        "ContextIdentifier": r.context,
        "EngagementLastModifiedAt": eng["ModifiedAt"],
        "Type": LEAD,
        "Payload": {LEAD: lead},
    }
    call = Call(r.label, UPDATE, r.engagement, params, key=key, fields=sorted(edits))
    if clashes:
        message = (
            f"changed on the server since the export and in the sheet, to different values: {', '.join(clashes)}; "
            "nothing was sent: read the leads again and redo the edit"
        )
        errors = [(Reason.CONFLICT.value, c, "changed on the server too") for c in clashes]
        runner.record(
            runner.outcome(call, Status.CONFLICT, reason=Reason.CONFLICT, error_message=message, errors=errors)
        )
        r.blocked = "its lead update is a conflict"
        return None
    call.problems = [
        Problem(r.label, p.field.removeprefix(f"Payload.{LEAD}."), p.code, p.message)
        for p in model_problems(params, UPDATE)
    ]
    start = len(runner.results)
    runner.one(call)
    result = runner.results[start] if len(runner.results) > start else {}
    if result.get("status") == Status.FAILED and result.get("error_code") == "ConflictException":
        runner.results.pop(start)  # merged again against the newer engagement (its failure stays in the ledger)
        return "ConflictException"
    if result.get("status") not in (Status.SUCCEEDED, Status.SKIPPED, Status.UPDATE):
        r.blocked = f"its lead update is {result.get('status')}"
    return None


def _check_updated(client: Any, call: Call) -> bool | None:
    """Read an engagement back after a crash or a lost answer: whether its Lead context holds what the call sent.

    UpdateEngagementContext takes no ClientToken; the call landed when the context's qualification status and
    customer are the ones sent and, if it sent an interaction, the lead lists one with the same members (its date
    aside: the service dates a new one). None when the engagement cannot be read or the request is incomplete.
    """
    sent = ((call.params.get("Payload") or {}).get(LEAD)) or {}
    if not sent.get("Customer", {}).get("CompanyName"):
        return None  # a request as the ledger keeps it (no customer value): cannot tell
    eng = _engagement(client, call.params["Catalog"], call.params["EngagementIdentifier"])
    ctx = _lead_context(eng, call.params["ContextIdentifier"]) if eng is not None else None
    if ctx is None:
        return None
    held = ((ctx.get("Payload") or {}).get(LEAD)) or {}
    if sent.get("QualificationStatus") not in (None, held.get("QualificationStatus")):
        return False
    if sent["Customer"] != held.get("Customer"):
        return False
    if "Interaction" in sent:
        want = {k: v for k, v in sent["Interaction"].items() if k != "InteractionDate"}
        return any(
            {k: v for k, v in i.items() if k != "InteractionDate"} == want for i in held.get("Interactions") or []
        )
    return True


# 3. converting: StartOpportunityFromEngagementTask -----------------------------------------------------------------


def _convert(
    rows: Sequence[_Row],
    catalog: Catalog,
    client: Any,
    runner: Runner,
    book: Ledger,
    every: float,
    timeout: float,
) -> None:
    asked = [r for r in rows if r.asked(CONVERT)]
    if not asked:
        return
    known = _conversions(client, catalog, sorted({r.engagement for r in asked if r.engagement}))
    tries = failed_tries(book, CONVERT_OP)
    started: dict[str, tuple[int, Call]] = {}
    for r in asked:
        if r.blocked is not None:
            _defer(runner, r, CONVERT_OP, r.engagement or "-", r.blocked)
            continue
        task = known.get(r.engagement, {})
        params = {"Catalog": catalog, "Identifier": r.engagement, "ContextIdentifier": r.context}
        key = book.key(["convert", r.engagement, r.context])
        call = Call(r.label, CONVERT_OP, r.engagement, params, key=key, fields=[OPPORTUNITY_ID],
                    salt=tries.get((r.engagement, key), 0))  # fmt: skip
        if task.get("TaskStatus") == _COMPLETE and task.get(OPPORTUNITY_ID):
            # converted already (an earlier run, a colleague, the console): the same opportunity, nothing sent
            r.opportunity = str(task[OPPORTUNITY_ID])
            done = f"already converted into {r.opportunity}"
            runner.record(runner.outcome(call, Status.SKIPPED, write=False, error_message=done))
            runner.results[-1][_MADE] = r.opportunity
            continue
        eng = _engagement(client, catalog, r.engagement) if r.engagement else None
        ctx = _lead_context(eng, r.context) if eng is not None else None
        if ctx is None:
            call.problems = [Problem(r.label, ENGAGEMENT_ID, "INVALID_RESOURCE_STATE", "accept the invitation first")]
        else:
            r.context = str(ctx["Id"])
            call.params["ContextIdentifier"] = r.context
            status = str((((ctx.get("Payload") or {}).get(LEAD)) or {}).get("QualificationStatus") or "")
            if status.casefold() == DISQUALIFIED.casefold():
                # the model's ReasonCode DisqualifiedLeadNotPermitted: the task would fail, so no write is spent
                call.problems = [
                    Problem(
                        r.label,
                        "QualificationStatus",
                        "ACTION_NOT_PERMITTED",
                        f"a {DISQUALIFIED} lead is not converted ({DISQUALIFIED_CODE}): qualify it first",
                    )
                ]
        start = len(runner.results)
        runner.one(call)
        result = runner.results[start] if len(runner.results) > start else {}
        answer: dict[str, Any] = result["response"] if isinstance(result.get("response"), dict) else {}
        if result.get("status") in (Status.SUCCEEDED, Status.SKIPPED) and answer.get("TaskStatus") == _IN_PROGRESS:
            started[str(answer["TaskId"])] = (start, call)
        elif result.get("status") in (Status.SUCCEEDED, Status.SKIPPED) and answer.get(OPPORTUNITY_ID):
            r.opportunity = str(answer[OPPORTUNITY_ID])
            result[_MADE] = r.opportunity
        elif result.get("status") != Status.UPDATE:
            r.blocked = f"its conversion is {result.get('status')}"
    if started and not runner.dry_run:
        _settle(runner, list(started.values()), {r.label: r for r in asked}, every, timeout)


def _settle(
    runner: Runner, started: list[tuple[int, Call]], rows: Mapping[str, _Row], every: float, timeout: float
) -> None:
    """Poll the conversions answered IN_PROGRESS to their end, then carry each outcome to its row.

    The one task-polling path (:meth:`opptoolkit.execute.Runner.poll`); a row takes the opportunity its
    conversion made, or why its later steps wait (a task still IN_PROGRESS at the timeout stays so: the next
    push finds it by its engagement and goes on).
    """
    still = set(runner.poll([call for _, call in started], every, timeout))
    for n, call in started:
        row, result = rows[call.row], runner.results[n]
        answer: dict[str, Any] = result["response"] if isinstance(result.get("response"), dict) else {}
        if n in still:
            row.blocked = "its conversion is still in progress"
            _log.info("row %s: conversion still in progress at the timeout", call.row)
        elif result["status"] == Status.FAILED:
            row.blocked = "its conversion failed"
        else:
            row.opportunity = str(answer.get(OPPORTUNITY_ID) or "")
            result[_MADE] = row.opportunity


# 5. submitting --------------------------------------------------------------------------------------------------------


def _submit(
    rows: Sequence[_Row], conn: Connection, ledger: str | Path, dry_run: bool, every: float, timeout: float
) -> list[pd.DataFrame]:
    out = []
    asked = [r for r in rows if r.asked(SUBMIT)]
    by_kind: dict[str, list[_Row]] = {}
    for r in asked:
        if r.blocked is not None or not r.opportunity:
            why = r.blocked or "the lead is not converted into an opportunity (write yes in Convert)"
            out.append(_deferred_frame(r, "StartEngagementFromOpportunityTask", why))
            continue
        by_kind.setdefault(r.asked(SUBMIT), []).append(r)
    for kind, group in by_kind.items():
        ids = pd.DataFrame({"Id": [r.opportunity for r in group]}, index=[r.label for r in group])
        res = submit_opportunities(  # on the same connection: one pacer, one budget, its session for the ledger
            ids, conn, involvement_type=kind, ledger=ledger, dry_run=dry_run, poll_seconds=every, timeout=timeout
        )
        # the submission's warnings (what the guide asks that AWS was recorded taking without) stay beside its rows
        res = res[[c for c in [*RESULT_COLUMNS, WARNINGS] if c in res.columns]]
        out.append(_with_keys(res, group))
    return out


def _deferred_frame(r: _Row, operation: str, why: str) -> pd.DataFrame:
    row = dict.fromkeys(RESULT_COLUMNS)
    row.update(
        row=r.label,
        Id=r.opportunity or r.engagement or None,
        operation=operation,
        status=Status.DEFERRED,
        error_message=f"not sent: {why}; push again once it has",
        error_codes=[],
        error_fields=[],
        error_texts=[],
        changed_fields=[],
        writes=0,
    )
    return _with_keys(pd.DataFrame([row], columns=RESULT_COLUMNS), [r])
