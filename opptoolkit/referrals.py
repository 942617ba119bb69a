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
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError

from ._errors import code_and_message, unreachable
from .client import Pacer, get_client, get_opportunities
from .exceptions import OpptoolkitError
from .frame import to_frame
from .quotas import READS_PER_SECOND
from .schema import AWS_PREFIX, Catalog, output_schema, service_model

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "AWS_PREFIX",
    "DAYS_TO_EXPIRY",
    "DECISION",
    "join_aws_summaries",
    "read_aws_summaries",
    "read_invitations",
    "rejection_reasons",
]

_log = logging.getLogger(__name__)

INVITATION_ANSWER = "GetEngagementInvitation"
AWS_SUMMARY = "GetAwsOpportunitySummary"
#: Days from now until the invitation's ExpirationDate (negative once past), computed at read time.
DAYS_TO_EXPIRY = "DaysToExpiry"
#: The triage decision a person writes: ``accept``, ``reject`` (with a ``RejectionReason``) or blank.
DECISION = "Decision"


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
    assert len(values) >= 3, "model text changed: RejectionReason lists no values"
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


def _iter_invitations(client: SellingClient, catalog: Catalog, statuses: list[str]) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"Catalog": catalog, "ParticipantType": "RECEIVER"}
    if statuses:
        params["Status"] = statuses
    for page in client.get_paginator("list_engagement_invitations").paginate(**params):
        yield from (dict(s) for s in page["EngagementInvitationSummaries"])


def _answer(response: Any) -> dict[str, Any]:
    out = dict(response)
    out.pop("ResponseMetadata", None)
    return out


def read_invitations(
    catalog: Catalog,
    *,
    status: str | Iterable[str] | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    reads_per_second: float = READS_PER_SECOND,
    max_workers: int = 4,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Read the engagement invitations AWS sent to the partner into a DataFrame, soonest expiry first.

    ListEngagementInvitations with ``ParticipantType=RECEIVER`` (those sent to this account), then one
    GetEngagementInvitation each for the payload. Reads are paced to ``reads_per_second`` (the
    documented read quota, 10/s) with ``max_workers`` in flight.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"}
        Always explicit.
    status : str or list of str, optional
        Only invitations in these statuses (the model's ``InvitationStatus``: PENDING, ACCEPTED,
        REJECTED, EXPIRED); default all.
    client, boto3_session, endpoint_url
        Which client to use (see :func:`opptoolkit.client.get_client`).
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
    client = get_client(client, boto3_session=boto3_session, endpoint_url=endpoint_url)
    pacer = Pacer(reads_per_second=reads_per_second)

    def fetch(identifier: str) -> dict[str, Any] | None:
        try:
            return _answer(client.get_engagement_invitation(Catalog=catalog, Identifier=identifier))
        except client.exceptions.ResourceNotFoundException:
            return None

    try:
        with pacer.attached(client):
            ids = (s["Id"] for s in _iter_invitations(client, catalog, statuses))
            records, failures = get_opportunities(
                catalog,
                ids,
                client=client,
                max_workers=max_workers,
                progress=progress,
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
    df.attrs["calls"] = dict(pacer.calls)
    if failures:
        _log.warning("%d invitations could not be read; see df.attrs['failures']", len(failures))
    return df


def read_aws_summaries(
    catalog: Catalog,
    identifiers: Iterable[str],
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    reads_per_second: float = READS_PER_SECOND,
    max_workers: int = 4,
) -> pd.DataFrame:
    """Read AWS's view of opportunities (GetAwsOpportunitySummary) into ``Aws.*`` columns.

    One read per opportunity, paced within the read quota. An opportunity AWS has no summary for
    (the service answers ResourceNotFoundException: AWS has not approved or referred it) gets blank
    ``Aws.*`` cells; any other error is listed in ``df.attrs["failures"]``.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"}
        Always explicit.
    identifiers : iterable of str
        Opportunity ``Id`` values.
    client, boto3_session, endpoint_url, progress, reads_per_second, max_workers
        As :func:`read_invitations`.

    Returns
    -------
    DataFrame
        ``Id`` and one ``Aws.<member>`` column per member of the answer (``Aws.LifeCycle.Stage``,
        ``Aws.Insights.EngagementScore``, ``Aws.OpportunityTeam[0].Email``, ...), in the order of
        ``identifiers``. Output-only: nothing here is ever sent back.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     approved = [r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Approved"][:2]
    ...     aws = read_aws_summaries("Sandbox", approved, endpoint_url=sb.endpoint_url, progress=False)
    >>> list(aws["Id"]) == approved, "Aws.Insights.EngagementScore" in aws
    (True, True)
    """
    ids = list(identifiers)
    client = get_client(client, boto3_session=boto3_session, endpoint_url=endpoint_url)
    pacer = Pacer(reads_per_second=reads_per_second)

    def fetch(identifier: str) -> dict[str, Any] | None:
        try:
            return _answer(client.get_aws_opportunity_summary(Catalog=catalog, RelatedOpportunityIdentifier=identifier))
        except client.exceptions.ResourceNotFoundException:
            return {"RelatedOpportunityId": identifier}  # AWS has none: blank cells, not a failure

    with pacer.attached(client):
        records, failures = get_opportunities(
            catalog, ids, client=client, max_workers=max_workers, progress=progress, desc=AWS_SUMMARY, fetch=fetch
        )
    aws = to_frame(records, schema=output_schema(AWS_SUMMARY))
    aws = aws.rename(columns={c: AWS_PREFIX + c for c in aws.columns})
    aws.insert(0, "Id", aws.pop(AWS_PREFIX + "RelatedOpportunityId"))
    order = {ident: i for i, ident in enumerate(ids)}
    aws = aws.sort_values("Id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    aws.attrs["failures"] = failures
    aws.attrs["calls"] = dict(pacer.calls)
    return aws


def join_aws_summaries(df: pd.DataFrame, aws: pd.DataFrame) -> pd.DataFrame:
    """``df`` (an opportunity frame) with ``aws``'s ``Aws.*`` columns after its own, row for row by ``Id``."""
    joined = df.merge(aws.drop(columns=[c for c in ("Aws.Catalog",) if c in aws]), on="Id", how="left", sort=False)
    joined.index = df.index
    joined.attrs = dict(df.attrs)
    return joined
