"""The sandbox's engagement invitations (AWS referrals) and AWS's side of an opportunity.

A mixin of :class:`~opptoolkit.sandbox._service.SellingService`: one method per operation, each rule
citing the AWS text it comes from. "API reference" is
https://docs.aws.amazon.com/partner-central/latest/APIReference/ followed by ``API_<Operation>.html``;
"model" is botocore's service model (the same text as the reference); "samples" is
aws-samples/partner-crm-integration-samples, partner-central-api-sample-codes/python_preview/.

State lives in the store's ``document`` table: an invitation as its GetEngagementInvitation answer
(wire JSON) plus what the service knows beside it (who it was sent to, the opportunity its
acceptance created); an accept task as its ListEngagementByAcceptingInvitationTasks summary; AWS's
view of an opportunity accepted from a referral as its GetAwsOpportunitySummary answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import fields as P
from ..rules import APPROVED
from ..schema import ID, IDENTIFIER, get_schema, service_model, shape_value
from ..wire import from_wire, output_shape, project, to_wire
from ._answers import NO_SUPPORT_NEEDED, OPPORTUNITY_OWNER, RELATED_LISTS
from ._errors import ServiceError, request_digest

if TYPE_CHECKING:
    from ._store import Store

INVITATION, TASK, AWS_VIEW, ACCEPT_TOKEN, INVITE_TOKEN = (
    "invitation",
    "accept-task",
    "aws-view",
    "accept-token",
    "invite-token",
)


def _enum(shape: str) -> tuple[str, ...]:
    return tuple(service_model().shape_for(shape).enum)  # type: ignore[attr-defined]


PENDING = shape_value("InvitationStatus", "PENDING")
ACCEPTED = shape_value("InvitationStatus", "ACCEPTED")
REJECTED = shape_value("InvitationStatus", "REJECTED")
EXPIRED = shape_value("InvitationStatus", "EXPIRED")
RECEIVER = shape_value("ParticipantType", "RECEIVER")
SENDER = shape_value("ParticipantType", "SENDER")
COMPLETE = shape_value("TaskStatus", "COMPLETE")
FAILED = shape_value("TaskStatus", "FAILED")
AWS_REFERRAL = shape_value("OpportunityOrigin", "AWS Referral")
PARTNER_REFERRAL = shape_value("OpportunityOrigin", "Partner Referral")
#: AWS's own account as a sender: the samples' invitation ARNs have an empty account
#: ("arn:aws:partnercentral:us-east-1::catalog/Sandbox/engagement-invitation/engi-0000002isusga",
#: sampleUI/start_engagement_by_accepting_invitation_task.py), and ListEngagementInvitations filters
#: on SenderAwsAccountId, "an AWS account ID or alias" (model: AwsAccount pattern ``[0-9]{12}|\w{1,12}``).
AWS_SENDER = "aws"
#: The members of an accept task's answer that show only once it is done (model: OpportunityId, "the opportunity
#: identifier"; ResourceSnapshotJobId "created as part of this task"; Message and ReasonCode "If the task fails").
ACCEPT_OUTCOME = ("OpportunityId", "ResourceSnapshotJobId", "Message", "ReasonCode")


def _id(prefix: str, *parts: str, n: int = 13) -> str:
    """Return a stable identifier in the model's form (``engi-[0-9a-z]{13}``, ``task-…``, ``job-…``)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    num = int.from_bytes(digest[:16], "big")
    out = []
    for _ in range(n):
        num, r = divmod(num, 36)
        out.append(alphabet[r])
    return prefix + "".join(out)


def invitation_arn(catalog: str, identifier: str, region: str = "us-east-1") -> str:
    """Return the ARN AWS gives an invitation it sends (the samples' form, empty account)."""
    return f"arn:aws:partnercentral:{region}::catalog/{catalog}/engagement-invitation/{identifier}"


def _page(items: list[dict[str, Any]], p: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
    """One page of ``items`` (already filtered and sorted) under ``key``, with an opaque NextToken."""
    start = 0
    if p.get("NextToken"):
        try:
            start = int(json.loads(base64.urlsafe_b64decode(p["NextToken"]))["offset"])
        except (ValueError, KeyError, TypeError):
            raise ServiceError(
                "ValidationException",
                "invalid NextToken",
                Reason="REQUEST_VALIDATION_FAILED",
                ErrorList=[{"FieldName": "NextToken", "Message": "invalid", "Code": "INVALID_VALUE"}],
            ) from None
    out: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        out["NextToken"] = base64.urlsafe_b64encode(json.dumps({"offset": start + limit}).encode()).decode()
    return out


def _sorted(items: list[dict[str, Any]], p: dict[str, Any], member: str) -> list[dict[str, Any]]:
    # model: Sort {SortOrder ASCENDING|DESCENDING, SortBy InvitationDate / StartTime}; the default
    # order is not documented: the sandbox answers newest first.
    sort = p.get("Sort") or {"SortOrder": "DESCENDING"}
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(
        items,
        key=lambda x: (x.get(member) or epoch, x.get("Id") or x.get("TaskId")),
        reverse=sort["SortOrder"] == "DESCENDING",
    )


class EngagementsMixin:
    """The engagement-invitation operations and GetAwsOpportunitySummary.

    ListEngagementInvitations, GetEngagementInvitation, RejectEngagementInvitation,
    StartEngagementByAcceptingInvitationTask, ListEngagementByAcceptingInvitationTasks,
    CreateEngagementInvitation and GetAwsOpportunitySummary.
    """

    store: Store
    config: Any

    # -- invitations in the store ------------------------------------------------------------------
    def _put_invitation(self, doc: dict[str, Any]) -> None:
        doc = dict(doc)
        doc["invitation"] = to_wire(doc["invitation"], output_shape("GetEngagementInvitation"))
        inv = doc["invitation"]
        self.store.put_doc(INVITATION, inv["Catalog"], inv["Id"], json.dumps(doc, ensure_ascii=False, sort_keys=True))

    def _invitation_docs(self, catalog: str) -> list[dict[str, Any]]:
        return [self._decode_invitation(text) for text in self.store.docs(INVITATION, catalog)]

    def _decode_invitation(self, text: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(text)
        inv = doc["invitation"] = from_wire(doc["invitation"], output_shape("GetEngagementInvitation"))
        # model, ExpirationDate: "the date on which the engagement invitation will expire if not
        # accepted by the partner"; InvitationStatus has EXPIRED for it. A pending invitation past
        # its date is expired from that moment, whoever looks.
        if inv.get("Status") == PENDING and inv.get("ExpirationDate") and inv["ExpirationDate"] <= datetime.now(UTC):
            inv["Status"] = EXPIRED
        return doc

    def _invitation(self, catalog: str, identifier: str) -> dict[str, Any]:

        # model: Identifier is ``arn:.*`` or ``engi-[0-9a-z]{13}``; the samples send the ARN.
        ident = identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier
        text = self.store.get_doc(INVITATION, catalog, ident)
        if text is None:
            raise ServiceError(
                "ResourceNotFoundException", f"Engagement invitation {identifier} not found in catalog {catalog}"
            )
        return self._decode_invitation(text)

    def put_invitation(self, invitation: dict[str, Any], *, participant: str = RECEIVER) -> None:
        """Store an invitation (a GetEngagementInvitation answer), as AWS sending one would."""
        self._put_invitation({"invitation": invitation, "participant": participant})

    # -- operations --------------------------------------------------------------------------------
    def _ListEngagementInvitations(self, p: dict[str, Any]) -> dict[str, Any]:
        # API reference, ListEngagementInvitations: "Retrieves a list of engagement invitations sent to
        # the partner"; ParticipantType (required) "Specifies the type of participant for which to list
        # engagement invitations": RECEIVER, those sent to this account; SENDER, those it sent.
        shape = output_shape("ListEngagementInvitations").members["EngagementInvitationSummaries"].member  # type: ignore[attr-defined]
        wanted = {
            "Status": set(p.get("Status") or ()),
            "PayloadType": set(p.get("PayloadType") or ()),
            "EngagementId": set(p.get("EngagementIdentifier") or ()),
            "SenderAwsAccountId": set(p.get("SenderAwsAccountId") or ()),
        }
        items = []
        for doc in self._invitation_docs(p["Catalog"]):
            if doc["participant"] != p["ParticipantType"]:
                continue
            inv = doc["invitation"]
            if any(values and inv.get(member) not in values for member, values in wanted.items()):
                continue
            items.append({**project(inv, shape), "ParticipantType": doc["participant"]})
        items = _sorted(items, p, "InvitationDate")
        return _page(items, p, "EngagementInvitationSummaries", p.get("MaxResults") or 20)

    def _GetEngagementInvitation(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._invitation(p["Catalog"], p[IDENTIFIER])["invitation"]  # type: ignore[no-any-return]

    def _not_pending(self, inv: dict[str, Any], action: str) -> Exception:

        # API reference, StartEngagementByAcceptingInvitationTask and RejectEngagementInvitation act on
        # an invitation AWS shared and the partner has not answered; the samples check
        # ``Status == 'PENDING'`` before accepting ("Only PENDING invitations can be accepted",
        # sampleUI/start_engagement_by_accepting_invitation_task.py).
        message = f"cannot {action} invitation {inv['Id']}: it is {inv['Status']}, only {PENDING} invitations can be"
        # model: ValidationException {Message, Reason, ErrorList[{FieldName, Message, Code}]}
        return ServiceError(
            "ValidationException",
            f"Identifier: {message}",
            Reason="BUSINESS_VALIDATION_FAILED",
            ErrorList=[{"FieldName": "Identifier", "Message": message, "Code": "INVALID_RESOURCE_STATE"}],
        )

    def _RejectEngagementInvitation(self, p: dict[str, Any]) -> dict[str, Any]:
        # API reference, RejectEngagementInvitation: "Rejecting an invitation indicates that the partner
        # doesn't want to pursue the opportunity, and all related data will become inaccessible
        # thereafter"; GetEngagementInvitation's RejectionReason: "If the engagement invitation was
        # rejected, this field specifies the reason provided by the partner". So the rejected invitation
        # keeps its summary and reason, and loses its payload. The model restricts the reason only by a
        # pattern; its list of "Acceptable values include" is guidance the client applies.
        with self._write_lock:  # type: ignore[attr-defined]
            doc = self._invitation(p["Catalog"], p[IDENTIFIER])
            inv = doc["invitation"]
            if inv["Status"] != PENDING:
                raise self._not_pending(inv, "reject")
            inv["Status"] = REJECTED
            inv.pop("Payload", None)
            inv.pop("EnrichmentContext", None)
            if p.get("RejectionReason"):
                inv["RejectionReason"] = p["RejectionReason"]
            self._put_invitation(doc)
        return {}

    def _StartEngagementByAcceptingInvitationTask(self, p: dict[str, Any]) -> dict[str, Any]:
        # API reference, StartEngagementByAcceptingInvitationTask: "The task is asynchronous and involves
        # the following steps: accepting the invitation, creating an opportunity in the partner's account
        # from the AWS opportunity, and copying details for tracking." The Sandbox catalog completes such
        # tasks at once (the samples' StartEngagementFromOpportunityTask output is COMPLETE in the same
        # answer). ClientToken (model): "A unique, case-sensitive identifier provided by the client that
        # helps to ensure the idempotency of the request": the same token answers the same task.
        catalog, token = p["Catalog"], p["ClientToken"]
        with self._write_lock:  # type: ignore[attr-defined]
            # the invitation named by its ARN or its Id is the same request (the samples send the ARN)
            p = {**p, IDENTIFIER: p[IDENTIFIER].rsplit("/", 1)[-1]}
            known = _token_doc(self.store.get_doc(ACCEPT_TOKEN, catalog, token), p)
            if known is not None:
                return self._task(catalog, known)
            doc = self._invitation(catalog, p[IDENTIFIER])
            inv = doc["invitation"]
            stamp = datetime.now(UTC)
            task_id = _id("task-", catalog, token)
            task: dict[str, Any] = {
                "TaskId": task_id,
                # the recorded form: no account ("Receiving Partner - StartEngagementByAcceptingInvitationTask")
                "TaskArn": f"arn:aws:partnercentral:{self.config.region}::catalog/{catalog}/engagement-by-accepting-invitation-task/{task_id}",
                "StartTime": stamp,
                "EngagementInvitationId": inv["Id"],
            }
            payload = (inv.get("Payload") or {}).get("OpportunityInvitation")
            if inv["Status"] != PENDING or doc["participant"] != RECEIVER or payload is None:
                # model, ReasonCode InvitationValidationFailed; Message: "If the task fails, this field
                # contains a detailed message describing the failure and possible recovery steps".
                why = (
                    f"the invitation is {inv['Status']}; only a {PENDING} invitation can be accepted"
                    if inv["Status"] != PENDING
                    else "only an opportunity invitation sent to this account can be accepted"
                )
                task.update(TaskStatus=FAILED, ReasonCode="InvitationValidationFailed", Message=why)
            else:
                opportunity = self._opportunity_from_invitation(
                    catalog, inv, payload, stamp, from_partner=bool(doc.get("from_partner"))
                )
                inv["Status"] = ACCEPTED
                doc["opportunity"] = opportunity
                self._put_invitation(doc)
                # recorded: the accepting partner joins the engagement with its own opportunity and a snapshot
                # job (Working with Multipartner Opportunities / Receiving Partner -
                # StartEngagementByAcceptingInvitationTask, then ListEngagementResourceAssociations)
                self.join_engagement(catalog, inv)  # type: ignore[attr-defined]
                task.update(
                    TaskStatus=COMPLETE,
                    OpportunityId=opportunity,
                    ResourceSnapshotJobId=self.start_snapshot_job(catalog, inv["EngagementId"], opportunity),  # type: ignore[attr-defined]
                )
            self.store.put_doc(TASK, catalog, task_id, json.dumps(to_wire(task, _task_shape())))
            self.store.put_doc(ACCEPT_TOKEN, catalog, token, f"{task_id}\x00{request_digest(p)}")
            self.hold_task(catalog, task_id, stamp)  # type: ignore[attr-defined]
        return self._task(catalog, task_id)

    def _task(self, catalog: str, task_id: str) -> dict[str, Any]:
        text = self.store.get_doc(TASK, catalog, task_id)
        assert text is not None, task_id
        # SandboxConfig.task_seconds: IN_PROGRESS until then (the task is asynchronous, as quoted above)
        return self.task_now(catalog, from_wire(json.loads(text), _task_shape()), ACCEPT_OUTCOME)  # type: ignore[attr-defined,no-any-return]

    def _ListEngagementByAcceptingInvitationTasks(self, p: dict[str, Any]) -> dict[str, Any]:
        catalog = p["Catalog"]
        wanted = {
            "TaskStatus": set(p.get("TaskStatus") or ()),
            "OpportunityId": set(p.get("OpportunityIdentifier") or ()),
            "EngagementInvitationId": {i.rsplit("/", 1)[-1] for i in p.get("EngagementInvitationIdentifier") or ()},
            "TaskId": {i.rsplit("/", 1)[-1] for i in p.get("TaskIdentifier") or ()},
        }
        items = [self._task(catalog, json.loads(t)["TaskId"]) for t in self.store.docs(TASK, catalog)]
        items = [t for t in items if not any(v and t.get(m) not in v for m, v in wanted.items())]
        return _page(_sorted(items, p, "StartTime"), p, "TaskSummaries", p.get("MaxResults") or 20)

    def _CreateEngagementInvitation(self, p: dict[str, Any]) -> dict[str, Any]:
        # API reference, CreateEngagementInvitation: "creates an invitation from a sender to a single
        # receiver to join an engagement". The testing-sandbox page grants it in the Sandbox catalog
        # (https://docs.aws.amazon.com/partner-central/latest/APIReference/testing-sandbox.html). In the
        # sandbox an invitation whose receiver is this account is delivered to it, as one AWS sends:
        # that is how a test sends itself a referral. The engagement must be one the sandbox knows.

        catalog, token = p["Catalog"], p["ClientToken"]
        with self._write_lock:  # type: ignore[attr-defined]
            known = _token_doc(self.store.get_doc(INVITE_TOKEN, catalog, token), p)
            if known is not None:
                inv = self._invitation(catalog, known)["invitation"]
                return {ID: inv["Id"], "Arn": inv["Arn"]}
            engagements = {d["invitation"].get("EngagementId"): d["invitation"] for d in self._invitation_docs(catalog)}
            # recorded: an invitation shows its engagement's title, description and members (LeadToOpportunity /
            # GetEngagementInvitation); an engagement the sandbox holds answers them (_engagement_ops)
            view = self.engagement_view(catalog, p["EngagementIdentifier"])  # type: ignore[attr-defined]
            engagement = view or engagements.get(p["EngagementIdentifier"])
            if engagement is None:
                raise ServiceError(
                    "ResourceNotFoundException",
                    f"Engagement {p['EngagementIdentifier']} not found in catalog {catalog}",
                )
            invitation = p["Invitation"]
            receiver = invitation["Receiver"]
            to_me = (receiver.get("Account") or {}).get("AwsAccountId") == self.config.account_id
            ident = _id("engi-", catalog, token)
            now = datetime.now(UTC)
            inv = {
                ID: ident,
                "Arn": invitation_arn(
                    catalog, ident, self.config.region
                ),  # "Inviting Partner - CreateEngagementInvitation"
                "Catalog": catalog,
                "PayloadType": next(iter(invitation["Payload"])),
                "EngagementId": p["EngagementIdentifier"],
                "EngagementTitle": engagement.get("EngagementTitle"),
                "Status": PENDING,
                "InvitationDate": now,
                # no documented lifetime: the sandbox gives the seed's usual fortnight
                "ExpirationDate": now + timedelta(days=14),
                "SenderAwsAccountId": AWS_SENDER if to_me else self.config.account_id,
                "SenderCompanyName": "Amazon Web Services" if to_me else "Sandbox partner",
                "Receiver": receiver,
                "Payload": invitation["Payload"],
                "InvitationMessage": invitation["Message"],
                "EngagementDescription": engagement.get("EngagementDescription"),
                "ExistingMembers": engagement.get("ExistingMembers"),
            }
            self._put_invitation(
                {
                    "invitation": {k: v for k, v in inv.items() if v is not None},
                    "participant": RECEIVER if to_me else SENDER,
                    # a partner's invitation: AWS's own are not made through this API (the seed and
                    # send_lead play AWS); what the opportunity accepted from it answers differs (#67)
                    "from_partner": True,
                }
            )
            self.store.put_doc(INVITE_TOKEN, catalog, token, f"{ident}\x00{request_digest(p)}")
        return {ID: ident, "Arn": inv["Arn"]}

    def _GetAwsOpportunitySummary(self, p: dict[str, Any]) -> dict[str, Any]:
        # API reference, GetAwsOpportunitySummary: "Retrieves a summary of an AWS Opportunity ... It is
        # useful for tracking updates on the AWS opportunity corresponding to an opportunity in the
        # partner's account." AWS has one for an opportunity it referred (accepted invitation) and for a
        # partner referral it approved (samples, src/get_aws_opportunity_summary.py: "Retrieves a summary
        # of an AWS Opportunity. LifeCycle.ReviewStatus=Approved"); for any other it has none.

        catalog, ident = p["Catalog"], p["RelatedOpportunityIdentifier"]
        rec = self.store.get(catalog, ident)
        if rec is None:
            raise ServiceError("ResourceNotFoundException", f"Opportunity {ident} not found in catalog {catalog}")
        text = self.store.get_doc(AWS_VIEW, catalog, ident)
        if text is not None:
            view = from_wire(json.loads(text), output_shape("GetAwsOpportunitySummary"))
        elif rec.get("LifeCycle", {}).get("ReviewStatus") == APPROVED:
            view = _aws_view(rec, PARTNER_REFERRAL, [])
            # what the partner asked for at submission (AwsSubmission), as AWS's view answers it ("Working with
            # deal sizing insights / GetAwsOpportunitySummary": Co-Sell, Full after a Co-Sell, Full submission)
            submitted = self.store.get_doc("submission", catalog, ident)
            if submitted is not None:
                view.update({k: v for k, v in json.loads(submitted).items() if k in ("InvolvementType", "Visibility")})
        else:
            raise ServiceError(
                "ResourceNotFoundException",
                f"AWS has no opportunity for {ident} yet: it has one once it approves a partner referral "
                "or the partner accepts its invitation",
            )
        # what the partner changed since shows through: AWS tracks the same close date and spend
        lc = rec.get("LifeCycle", {})
        if lc.get("TargetCloseDate"):
            view.setdefault("LifeCycle", {})["TargetCloseDate"] = lc["TargetCloseDate"]
        spend = rec.get("Project", {}).get("ExpectedCustomerSpend")
        if spend:
            view.setdefault("Project", {})["ExpectedCustomerSpend"] = spend
        # the recorded summaries carry the customer's contacts and the associations AWS tracks ("Receiving Partner -
        # GetAwsOpportunitySummary", "Working with deal sizing insights / GetAwsOpportunitySummary": the contacts
        # the opportunity was created with; RelatedEntityIds AwsProducts and Solutions)
        contacts = rec.get("Customer", {}).get("Contacts")
        if contacts:
            view["Customer"] = {"Contacts": contacts}
        related = rec.get("RelatedEntityIdentifiers") or {}
        view["RelatedEntityIds"] = {k: list(related.get(k) or []) for k in ("AwsProducts", "Solutions")}
        return view

    def edit_aws_view(self, catalog: str, identifier: str, change: Any) -> dict[str, Any]:
        """Change AWS's view of an opportunity alone, as AWS's seller does (the record does not move).

        ``change`` mutates the GetAwsOpportunitySummary answer in place; returns the new answer. The
        answer has no modified date, so nothing a partner lists shows the change.
        """
        with self._write_lock:  # type: ignore[attr-defined]
            view = self._GetAwsOpportunitySummary({"Catalog": catalog, "RelatedOpportunityIdentifier": identifier})
            change(view)
            shape = output_shape("GetAwsOpportunitySummary")
            self.store.put_doc(AWS_VIEW, catalog, identifier, json.dumps(to_wire(view, shape)))
        return view

    def _opportunity_from_invitation(
        self, catalog: str, inv: dict[str, Any], payload: dict[str, Any], stamp: datetime, *, from_partner: bool
    ) -> str:
        """Create the opportunity the accept task creates "from the AWS opportunity"; return its Id.

        The invitation's payload maps onto the opportunity member for member where the model has the
        same member (customer, project, spend, opportunity type); the AWS contacts go to AWS's view.
        ``from_partner``: the invitation is another partner's (CreateEngagementInvitation), not AWS's.
        """
        cust, proj = payload["Customer"], payload["Project"]
        # the spend as the opportunity answers it: without the invitation's EstimationUrl ("Receiving Partner -
        # GetOpportunity" answered null where the invitation carried one)
        spend = [{k: v for k, v in s.items() if k != "EstimationUrl"} for s in proj["ExpectedCustomerSpend"]]
        record: dict[str, Any] = {
            "Catalog": catalog,
            "Customer": {
                "Account": {
                    "CompanyName": cust["CompanyName"],
                    "Industry": cust["Industry"],
                    "WebsiteUrl": cust["WebsiteUrl"],
                    "Address": {"CountryCode": cust["CountryCode"]},
                }
            },
            "Project": {
                "Title": proj["Title"],
                "CustomerBusinessProblem": proj["BusinessProblem"],
                "ExpectedCustomerSpend": spend,
            },
            # what the recorded accepted opportunities answer beside the payload ("Receiving Partner -
            # GetOpportunity", "Demo Accept AWS-originated Opportunities / GetOpportunity"): no contacts, Marketing
            # Source "None", NationalSecurity "No", the account's owner as the team.
            "Marketing": {"Source": "None"},
            "NationalSecurity": "No",
            "OpportunityTeam": [dict(OPPORTUNITY_OWNER)],
            # AWS validated what it referred (Approved); the partner works it from the model's first
            # stage (Prospect)
            "LifeCycle": {
                "Stage": get_schema()[P.STAGE].enum[0],
                "TargetCloseDate": proj["TargetCompletionDate"],
                "ReviewStatus": APPROVED,
            },
        }
        if payload.get("OpportunityType"):
            record["OpportunityType"] = payload["OpportunityType"]
        if from_partner:
            # recorded: the opportunity accepted from another partner's invitation answers PrimaryNeedsFromAws
            # "Do Not Need Support from AWS Sales Rep" (Postman collection, "Working with Multipartner
            # Opportunities / Receiving Partner - GetOpportunity", #67), a value outside the model's enum. From
            # AWS's invitation it answers the need of AWS's own opportunity ("Demo Accept AWS-originated
            # Opportunities / GetOpportunity", #92), which the invitation's payload does not carry: left unset.
            record[P.PRIMARY_NEEDS] = [NO_SUPPORT_NEEDED]
        rng_id = int(hashlib.sha256(inv["Id"].encode()).hexdigest()[:12], 16)
        ident = f"O{rng_id % 10**10:010d}"
        while self.store.get(catalog, ident) is not None:
            ident = f"O{(int(ident[1:]) + 1) % 10**10:010d}"
        stamp = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)
        record.update(
            {
                ID: ident,
                "Arn": f"arn:aws:partnercentral:{self.config.region}:{self.config.account_id}:catalog/{catalog}/opportunity/{ident}",
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "RelatedEntityIdentifiers": {k: [] for k in RELATED_LISTS},
            }
        )
        self.store.put(record)
        view = _aws_view(record, AWS_REFERRAL, payload.get("SenderContacts") or [])
        self.store.put_doc(
            AWS_VIEW, catalog, ident, json.dumps(to_wire(view, output_shape("GetAwsOpportunitySummary")))
        )
        return ident


def _token_doc(text: str | None, p: dict[str, Any]) -> str | None:
    """Return the id a ClientToken made, or None; the same token with another request is refused.

    As CreateOpportunity refuses it (model, its ClientToken: "Conflicting client token submitted for a new request
    body.").
    """
    if text is None:
        return None
    ident, _, digest = text.partition("\x00")
    if digest and digest != request_digest(p):
        raise ServiceError("ConflictException", "Conflicting client token submitted for a new request body.")
    return ident


def _task_shape() -> Any:
    return output_shape("ListEngagementByAcceptingInvitationTasks").members["TaskSummaries"].member  # type: ignore[attr-defined]


#: What AWS's seller recommends next, flavour text of the sandbox (the model's NextBestActions is free text).
_NEXT_BEST = (
    "Schedule a joint account plan with the AWS account manager",
    "Share the customer's architecture diagram with the AWS solutions architect",
    "Apply for migration acceleration funding",
    "Confirm the customer's decision maker and timeline",
)


def _aws_view(record: dict[str, Any], origin: str, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    """AWS's view of ``record``, deterministic per opportunity: its stage, team and insights.

    Values from the model's enums (AwsOpportunityStage, AwsMemberBusinessTitle, EngagementScore,
    SalesInvolvementType, Visibility); AWS's stage mostly follows the partner's and sometimes lags.
    """
    h = int(hashlib.sha256(record[ID].encode()).hexdigest(), 16)
    stages = _enum("AwsOpportunityStage")
    ours = record.get("LifeCycle", {}).get("Stage")
    stage = ours if ours in stages and h % 4 else stages[(h >> 3) % 3 + 2]  # Prospect, Engaged or Identified
    titles = _enum("AwsMemberBusinessTitle")
    team = [
        {
            k: v
            for k, v in {
                "FirstName": c.get("FirstName"),
                "LastName": c.get("LastName"),
                "Email": c["Email"].lower(),
                "BusinessTitle": titles[j % 2],
            }.items()
            if v
        }
        for j, c in enumerate(contacts)
    ] or [
        {"FirstName": "Alex", "LastName": "Seller", "Email": "alex.seller@amazon.example", "BusinessTitle": titles[0]}
    ]
    return {
        "RelatedOpportunityId": record[ID],
        "Catalog": record["Catalog"],
        "Origin": origin,
        "InvolvementType": _enum("SalesInvolvementType")[1 if origin == AWS_REFERRAL else h % 2],
        "Visibility": _enum("Visibility")[0],
        "LifeCycle": {"Stage": stage, "NextSteps": _NEXT_BEST[h % len(_NEXT_BEST)]},
        "OpportunityTeam": team,
        "Insights": {
            "EngagementScore": _enum("EngagementScore")[(h >> 7) % 3],
            "NextBestActions": _NEXT_BEST[(h >> 11) % len(_NEXT_BEST)],
        },
    }
