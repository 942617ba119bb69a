"""The sandbox's EventBridge events, sent to an SQS queue as an EventBridge rule would deliver them.

Optional: a sandbox made with ``events=QUEUE_URL`` sends, after each change it applies, the event Partner
Central sends for it, in the envelope and detail shape of AWS's recorded events (the samples' Postman
collection, CloudWatch Logs answers: ``version`` "0", ``source`` ``aws.partnercentral-selling``, ``region``
us-east-1, ``resources`` [] for an opportunity's event, ``detail = {schemaVersion, catalog, opportunity:
{identifier}}``; an invitation's event names its ARN in ``resources`` and carries ``engagementInvitation``
with ``id``, ``arn`` and ``engagementId``). Which operations send which event follows the EventBridge
reference's list: a created opportunity "Opportunity Created", any other change to one (an update, an
association, an assignment, a change made out of band as by another user) "Opportunity Updated"; an accepted
or rejected invitation "Engagement Invitation Accepted" / "Rejected".
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

__all__ = ["EventPublisher"]

_log = logging.getLogger(__name__)

_SOURCE = "aws.partnercentral-selling"
_ACCOUNT = "123456789012"  # the sandbox's account, as in the ARNs it answers
_UPDATED = (
    "UpdateOpportunity",
    "AssociateOpportunity",
    "DisassociateOpportunity",
    "AssignOpportunity",
    "StartEngagementFromOpportunityTask",
)
_INVITATION = {
    "AcceptEngagementInvitation": "Engagement Invitation Accepted",
    "RejectEngagementInvitation": "Engagement Invitation Rejected",
}


class EventPublisher:
    """Send the events of the sandbox's changes to one SQS queue (its URL), through boto3's standard settings."""

    def __init__(self, queue_url: str) -> None:
        import boto3

        self.queue_url = queue_url
        self.sqs = boto3.Session().client("sqs", region_name="us-east-1")
        self.sent = 0

    def _send(self, kind: str, catalog: str, detail: dict[str, Any], resources: list[str]) -> None:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": kind,
            "source": _SOURCE,
            "account": _ACCOUNT,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": resources,
            "detail": {"schemaVersion": "1", "catalog": catalog, **detail},
        }
        try:
            self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))
            self.sent += 1
        except Exception as e:  # EventBridge's delivery is best effort: a lost event never fails the call
            _log.warning("sandbox: the %s event was not sent (%s)", kind, e)

    def opportunity(self, kind: str, catalog: str, identifier: str) -> None:
        """Send an opportunity's event (``Opportunity Created`` / ``Opportunity Updated``)."""
        self._send(kind, catalog, {"opportunity": {"identifier": identifier}}, [])

    def after(self, operation: str, params: dict[str, Any], result: dict[str, Any]) -> None:
        """Send the event of an operation the sandbox applied (nothing for a read)."""
        catalog = str(params.get("Catalog", ""))
        if operation == "CreateOpportunity" and result.get("Id"):
            self.opportunity("Opportunity Created", catalog, str(result["Id"]))
        elif operation in _UPDATED:
            ident = params.get("Identifier") or params.get("OpportunityIdentifier")
            if ident:
                self.opportunity("Opportunity Updated", catalog, str(ident))
        elif operation in _INVITATION and params.get("Identifier"):
            ident = str(params["Identifier"])
            arn = f"arn:aws:partnercentral:us-east-1::catalog/{catalog}/engagement-invitation/{ident}"
            detail = {"engagementInvitation": {"id": ident, "arn": arn, **_engagement(result)}}
            self._send(_INVITATION[operation], catalog, detail, [arn])


def _engagement(result: dict[str, Any]) -> dict[str, str]:
    ident = result.get("EngagementId")
    return {"engagementId": str(ident)} if ident else {}
