"""What the sandbox's engagement, snapshot and settings operations share: ids, ARNs, ClientTokens, pages.

Below the operation mixins (as :mod:`._errors` is), so each of them uses one definition. Sources cited:
"model" is botocore's service model (its text is the API reference's,
https://docs.aws.amazon.com/partner-central/latest/APIReference/); "recorded" is what AWS answered in
aws-samples/partner-crm-integration-samples, partner-central-api-sample-codes/PostmanCollections/
aws_partner_central_api_postman_collections.json (a folder/item name follows) and
python_preview/leadToOpportunity/Lead_To_Opportunity.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._errors import ServiceError, request_digest

if TYPE_CHECKING:
    from ._store import Store

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str, n: int, *parts: str) -> str:
    """Return an identifier in the model's form (``eng-[0-9a-z]{14}``, ``job-[0-9a-z]{13}``, ``task-…``), stable per ``parts``."""
    num = int.from_bytes(hashlib.sha256("\x1f".join((prefix, *parts)).encode()).digest()[:16], "big")
    out = []
    for _ in range(n):
        num, r = divmod(num, 36)
        out.append(_ALPHABET[r])
    return prefix + "".join(out)


def now_ms() -> datetime:
    """Return the current time in milliseconds, as the service stamps what it changes.

    A concurrency token (``LastModifiedDate``, an engagement's ``ModifiedAt``) must survive boto3's round
    trip exactly: botocore parses answers to microseconds and sends timestamps back as epoch seconds, so
    the sandbox stamps no finer than milliseconds.
    """
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def after(previous: datetime | None) -> datetime:
    """Return :func:`now_ms`, or a millisecond after ``previous`` when the clock has not moved past it."""
    now = now_ms()
    if previous is not None and now <= previous:
        now = previous + timedelta(milliseconds=1)
    return now


# -- ARNs, in the forms AWS answered ----------------------------------------------------------------
# recorded: engagements, their snapshots and the tasks have an empty account
# ("arn:aws:partnercentral:us-east-1::catalog/Sandbox/engagement/eng-m1l0v2mnccwtv4", LeadToOpportunity /
# CreateEngagement-Lead; ".../engagement/eng-eyl04g6b3yz2t6/resource/Opportunity/O1111111/template/Opportunity/
# snapshot/1", All API Actions / CreateResourceSnapshot; ".../opportunity-from-engagement-task/task-dpf02ig3g2uui",
# LeadToOpportunity / StartOpportunityFromEngagementTask); snapshot jobs carry the owner's account
# ("arn:aws:partnercentral:us-east-1:111111111111:catalog/AWS/resource-snapshot-job/job-ib7zo7tu7pau5",
# All API Actions / CreateResourceSnapshotJob).
def engagement_arn(region: str, catalog: str, engagement: str) -> str:
    return f"arn:aws:partnercentral:{region}::catalog/{catalog}/engagement/{engagement}"


def snapshot_arn(region: str, catalog: str, engagement: str, kind: str, resource: str, template: str, rev: int) -> str:
    return (
        f"{engagement_arn(region, catalog, engagement)}/resource/{kind}/{resource}/template/{template}/snapshot/{rev}"
    )


def job_arn(region: str, account: str, catalog: str, job: str) -> str:
    return f"arn:aws:partnercentral:{region}:{account}:catalog/{catalog}/resource-snapshot-job/{job}"


def task_arn(region: str, catalog: str, kind: str, task: str) -> str:
    return f"arn:aws:partnercentral:{region}::catalog/{catalog}/{kind}/{task}"


#: The snapshot templates AWS was recorded answering for an opportunity: "Opportunity" (All API Actions /
#: CreateResourceSnapshot and GetResourceSnapshot) and "OpportunitySummaryView" (All API Actions /
#: CreateResourceSnapshotJob; the job a submission starts, Managing a multipartner opportunity /
#: GetResourceSnapshotJob). Both answer the payload's OpportunitySummary.
OPPORTUNITY_TEMPLATE, SUMMARY_TEMPLATE = "Opportunity", "OpportunitySummaryView"
TEMPLATES = (OPPORTUNITY_TEMPLATE, SUMMARY_TEMPLATE)


def last_part(identifier: str) -> str:
    """Return the id an ARN ends with (the model takes ``arn:.*`` or the bare id wherever it says ArnOrIdentifier)."""
    return identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier


# -- ClientToken ------------------------------------------------------------------------------------
# model, ClientToken (CreateOpportunity): "Required to be unique, and should be unchanging [...] If you use the
# same client token, the API returns the following error: "Conflicting client token submitted for a new request
# body."" and, for the other operations, "to ensure that the request is handled exactly once" (CreateEngagement),
# "helps prevent duplicate job creations" (CreateResourceSnapshotJob), "It helps prevent the same task from being
# performed multiple times" (StartOpportunityFromEngagementTask). So: the same token with the same request is a
# retry and answers with what the first request made; the same token with another request is refused. The model
# does not name the exception; ConflictException is each operation's error for a request that conflicts with state.
CONFLICTING_TOKEN = "Conflicting client token submitted for a new request body."


def replayed(store: Store, operation: str, params: dict[str, Any]) -> str | None:
    """Return what an earlier request with this ClientToken made (its id), or None for a new token.

    Raises ConflictException when the token came with another request. Call it under the service's write lock,
    then :func:`remember` the id once the request has made it.
    """
    text = store.get_doc(f"token:{operation}", params.get("Catalog", ""), params["ClientToken"])
    if text is None:
        return None
    known = json.loads(text)
    if known["digest"] != request_digest(params):
        raise ServiceError("ConflictException", CONFLICTING_TOKEN)
    return str(known["id"])


def remember(store: Store, operation: str, params: dict[str, Any], ident: str) -> None:
    """Record that the request carrying this ClientToken made ``ident``."""
    body = json.dumps({"digest": request_digest(params), "id": ident})
    store.put_doc(f"token:{operation}", params.get("Catalog", ""), params["ClientToken"], body)


# -- pages ------------------------------------------------------------------------------------------
def page(items: list[dict[str, Any]], params: dict[str, Any], key: str, default: int) -> dict[str, Any]:
    """One page of ``items`` (filtered and sorted already) under ``key``, with an opaque NextToken.

    ``default`` is the page size when the request has no MaxResults (the model's text where it says one).
    """
    start = 0
    if params.get("NextToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(params["NextToken"]))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ServiceError(
                "ValidationException",
                "NextToken: not a token this operation gave",
                Reason="REQUEST_VALIDATION_FAILED",
                ErrorList=[
                    {"FieldName": "NextToken", "Message": "not a token this operation gave", "Code": "INVALID_VALUE"}
                ],
            ) from None
    limit = params.get("MaxResults") or default
    out: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        out["NextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode()
    return out


def refused(field: str, code: str, message: str, reason: str = "BUSINESS_VALIDATION_FAILED") -> ServiceError:
    """Return a ValidationException of one field, as the model shapes it (Reason, ErrorList[{FieldName, Message, Code}])."""
    return ServiceError(
        "ValidationException",
        f"{field}: {message}",
        Reason=reason,
        ErrorList=[{"FieldName": field, "Message": message, "Code": code}],
    )
