"""The sandbox's engagements: their contexts (leads among them), members, and the tasks that turn them into opportunities.

A mixin of :class:`~opptoolkit.sandbox._service.SellingService`: one method per operation, each rule citing
its evidence, strongest first: what AWS was recorded answering ("recorded", see :mod:`._resources`), the model's
text (the API reference's), the AWS Partner Central sales guide
(https://docs.aws.amazon.com/partner-central/latest/sales-guide/leads.html, "sales guide"), our inference
(said so).

State lives in the store's ``document`` table: an engagement as its GetEngagement answer (wire JSON) with its
members beside it; an opportunity-from-engagement task as its ListOpportunityFromEngagementTasks summary with the
moment its outcome shows (``SandboxConfig.task_seconds``).

The sandbox is one partner account (``SandboxConfig.account_id``). AWS and other partners act in it through
out-of-band methods (:meth:`EngagementOpsMixin.send_lead`, :meth:`EngagementOpsMixin.partner_accepts`), as the
samples play AWS with a second account.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import fields as P
from ..rules import PENDING_SUBMISSION
from ..schema import ID, IDENTIFIER, get_schema, service_model, shape_value
from ..wire import from_wire, output_shape, project, to_wire
from ._answers import OPPORTUNITY_OWNER
from ._engagements import invitation_arn
from ._errors import ServiceError
from ._resources import (
    OPPORTUNITY_TEMPLATE,
    after,
    engagement_arn,
    last_part,
    new_id,
    now_ms,
    page,
    refused,
    remember,
    replayed,
    task_arn,
)

if TYPE_CHECKING:
    import threading

    from ._store import Store

ENGAGEMENT, OPPORTUNITY_TASK, TASK_DUE = "engagement", "opportunity-from-engagement-task", "task-due"
LEAD = shape_value("EngagementContextType", "Lead")
CUSTOMER_PROJECT = shape_value("EngagementContextType", "CustomerProject")
_PENDING = shape_value("InvitationStatus", "PENDING")
_ACCEPTED = shape_value("InvitationStatus", "ACCEPTED")
_RECEIVER = shape_value("ParticipantType", "RECEIVER")
_SENDER = shape_value("ParticipantType", "SENDER")
IN_PROGRESS = shape_value("TaskStatus", "IN_PROGRESS")
_COMPLETE = shape_value("TaskStatus", "COMPLETE")
_FAILED = shape_value("TaskStatus", "FAILED")
#: AWS as an engagement member: recorded ExistingMembers ``{"CompanyName": "AWS", "WebsiteUrl": "www.aws.com"}``
#: (Demo Accept AWS-originated Opportunities / GetEngagementInvitation); its account is "aws", as AWS's
#: invitations name it (SenderAwsAccountId, same item) and the model's AwsAccount pattern allows.
AWS_MEMBER = {"AccountId": "aws", "CompanyName": "AWS", "WebsiteUrl": "www.aws.com"}
#: The sandbox partner's own name as a member and a sender (flavour text, as the seed's alias).
PARTNER_NAME, PARTNER_WEBSITE = "Sandbox partner", "https://partner.example"
#: The model's text on StartOpportunityFromEngagementTask names what the task does; the members its answer
#: carries only once the task is done (model: OpportunityId "populated when the task is completed successfully").
_OUTCOME = ("OpportunityId", "ResourceSnapshotJobId", "ContextId", "Message", "ReasonCode")
#: recorded: the opportunity a lead converts into is due 90 days after its creation (created 2025-11-03, target
#: close 2026-02-01, Lead_To_Opportunity.md step 8; created 2025-12-15, target close 2026-03-15,
#: LeadToOpportunity / GetOpportunity) and is titled "Converted from Lead" (both).
LEAD_CLOSE_DAYS, LEAD_TITLE = 90, "Converted from Lead"
#: sales guide, "Lead status": Open, Research, Qualified, Disqualified; the model's QualificationStatus is free
#: text (pattern only), so the sandbox refuses only what its ReasonCode names: DisqualifiedLeadNotPermitted.
DISQUALIFIED = "Disqualified"


def _first(shape: str) -> str:
    """Return the first value of a model enum (the code names no opportunity enum value by hand)."""
    return str(service_model().shape_for(shape).enum[0])  # type: ignore[attr-defined]


#: recorded: a converted lead is a Prospect, Net New Business (LeadToOpportunity / GetOpportunity): the model's
#: first Stage and first OpportunityType
PROSPECT, NET_NEW = _first("Stage"), _first("OpportunityType")


def engagement_shape() -> Any:
    return output_shape("GetEngagement")


def _opp_task_shape() -> Any:
    return output_shape("ListOpportunityFromEngagementTasks").members["TaskSummaries"].member  # type: ignore[attr-defined]


def outcome_view(task: dict[str, Any], due: datetime | None, outcome: tuple[str, ...]) -> dict[str, Any]:
    """Return the task as it answers now: IN_PROGRESS, without its ``outcome`` members, until ``due``."""
    if due is None or now_ms() >= due:
        return task
    out = {k: v for k, v in task.items() if k not in outcome}
    out["TaskStatus"] = IN_PROGRESS
    return out


class EngagementOpsMixin:
    """The engagement operations.

    CreateEngagement, GetEngagement, ListEngagements, AcceptEngagementInvitation, UpdateEngagementContext,
    StartOpportunityFromEngagementTask, ListOpportunityFromEngagementTasks, ListEngagementMembers,
    ListEngagementResourceAssociations.
    """

    store: Store
    config: Any
    _write_lock: threading.Lock

    if TYPE_CHECKING:  # what the other mixins of SellingService provide (declared for mypy only: a stub here
        # would shadow the real method of a mixin that comes later in the MRO)

        def _invitation(self, catalog: str, identifier: str) -> dict[str, Any]: ...
        def _put_invitation(self, doc: dict[str, Any]) -> None: ...
        def _invitation_docs(self, catalog: str) -> list[dict[str, Any]]: ...
        def _load(self, catalog: str, identifier: str) -> dict[str, Any]: ...
        def start_snapshot_job(
            self, catalog: str, engagement: str, opportunity: str, *, tags: list[dict[str, str]] | None = None
        ) -> str: ...
        def associations(self, catalog: str) -> list[dict[str, Any]]: ...
        def tag(self, arn: str, tags: list[dict[str, str]]) -> None: ...
        def put_partner_snapshot(
            self, catalog: str, engagement: str, resource: str, template: str, summary: dict[str, Any], account: str
        ) -> int: ...

    # -- engagements in the store ----------------------------------------------------------------------------
    def _me(self) -> dict[str, str]:
        return {"AccountId": self.config.account_id, "CompanyName": PARTNER_NAME, "WebsiteUrl": PARTNER_WEBSITE}

    def engagement_doc(self, catalog: str, identifier: str) -> dict[str, Any] | None:
        """Return the engagement (``{"engagement": GetEngagement answer, "members": [...]}``), or None."""
        text = self.store.get_doc(ENGAGEMENT, catalog, last_part(identifier))
        if text is None:
            return None
        doc: dict[str, Any] = json.loads(text)
        doc["engagement"] = from_wire(doc["engagement"], engagement_shape())
        return doc

    def _save_engagement(self, doc: dict[str, Any]) -> None:
        eng = doc["engagement"]
        body = {**doc, "engagement": to_wire(eng, engagement_shape())}
        self.store.put_doc(ENGAGEMENT, doc["catalog"], eng[ID], json.dumps(body, ensure_ascii=False, sort_keys=True))

    def _engagement_docs(self, catalog: str) -> list[dict[str, Any]]:
        out = []
        for text in self.store.docs(ENGAGEMENT, catalog):
            doc = json.loads(text)
            doc["engagement"] = from_wire(doc["engagement"], engagement_shape())
            out.append(doc)
        return out

    def _engagement(self, catalog: str, identifier: str) -> dict[str, Any]:
        doc = self.engagement_doc(catalog, identifier)
        if doc is None:
            raise ServiceError("ResourceNotFoundException", f"Engagement {identifier} not found in catalog {catalog}")
        return doc

    def _is_member(self, doc: dict[str, Any]) -> bool:
        return any(m.get("AccountId") == self.config.account_id for m in doc["members"])

    def _member_only(self, doc: dict[str, Any]) -> dict[str, Any]:
        # model, ListEngagementMembers: "This operation can only be invoked by members of the Engagement"; sales
        # guide, "Accepting a lead": "You must accept an incoming lead before you can view all lead details". The
        # engagement's data is the members': a partner that has not joined is denied (the operations' errors
        # include AccessDeniedException).
        if not self._is_member(doc):
            eng = doc["engagement"]
            raise ServiceError(
                "AccessDeniedException",
                f"this account is not a member of engagement {eng[ID]}: accept its invitation first",
            )
        return doc

    def new_engagement(
        self,
        catalog: str,
        ident: str,
        *,
        title: str | None,
        description: str | None,
        contexts: list[dict[str, Any]],
        created_by: str,
        members: list[dict[str, str]],
        stamp: datetime,
    ) -> dict[str, Any]:
        """Store a new engagement and return its document (the caller holds the write lock)."""
        eng: dict[str, Any] = {
            ID: ident,
            "Arn": engagement_arn(self.config.region, catalog, ident),
            # model, CreateEngagement's ModifiedAt: "For newly created engagements, this value matches the creation
            # timestamp"
            "CreatedAt": stamp,
            "CreatedBy": created_by,
            "ModifiedAt": stamp,
            "ModifiedBy": created_by,
            "Contexts": [],
        }
        if title is not None:
            eng["Title"] = title
        if description is not None:
            eng["Description"] = description
        doc = {"catalog": catalog, "engagement": eng, "members": members}
        for context in contexts:
            self._add_context(doc, context, stamp)
        self._save_engagement(doc)
        return doc

    @staticmethod
    def _add_context(doc: dict[str, Any], context: dict[str, Any], stamp: datetime) -> str:
        """Append ``context`` with the next Id; return the Id.

        recorded: a context sent without an Id is answered with Id "1" (LeadToOpportunity / CreateEngagement-Lead,
        then GetEngagement), the next one made by a task is "2" (StartOpportunityFromEngagementTask's ContextId);
        a lead interaction sent without an InteractionDate is answered with the moment it was received
        (2025-12-15T19:58:11.517Z, the engagement created at 19:58:11.520Z, same items).
        """
        contexts = doc["engagement"].setdefault("Contexts", [])
        taken = {c.get(ID) for c in contexts}
        ident = context.get(ID) or str(len(contexts) + 1)
        n = len(contexts) + 1
        while ident in taken:
            n += 1
            ident = str(n)
        context = json.loads(json.dumps(context, default=str)) | {ID: ident}
        for interaction in ((context.get("Payload") or {}).get(LEAD) or {}).get("Interactions") or []:
            interaction.setdefault("InteractionDate", stamp.isoformat())
        # round-trip through the model's shape: timestamps sent as text become timestamps again
        shape = engagement_shape().members["Contexts"].member
        contexts.append(from_wire(to_wire(context, shape), shape))
        return ident

    def _touch(self, doc: dict[str, Any], by: str) -> datetime:
        eng = doc["engagement"]
        eng["ModifiedAt"] = after(eng.get("ModifiedAt"))
        eng["ModifiedBy"] = by
        return eng["ModifiedAt"]  # type: ignore[no-any-return]

    def engagement_view(self, catalog: str, identifier: str) -> dict[str, Any] | None:
        """Return what an invitation to ``identifier`` shows of it: EngagementTitle, EngagementDescription, ExistingMembers.

        recorded: GetEngagementInvitation answers these from the engagement (LeadToOpportunity /
        GetEngagementInvitation: the engagement's description and its two members' CompanyName and WebsiteUrl).
        """
        doc = self.engagement_doc(catalog, identifier)
        if doc is None:
            return None
        eng = doc["engagement"]
        view: dict[str, Any] = {
            "ExistingMembers": [{k: m[k] for k in ("CompanyName", "WebsiteUrl") if m.get(k)} for m in doc["members"]]
        }
        if eng.get("Title") is not None:
            view["EngagementTitle"] = eng["Title"]
        if eng.get("Description") is not None:
            view["EngagementDescription"] = eng["Description"]
        return view

    # -- asynchronous tasks -----------------------------------------------------------------------------------
    def hold_task(self, catalog: str, task_id: str, start: datetime) -> None:
        """Keep a task just started IN_PROGRESS for ``SandboxConfig.task_seconds`` (the caller holds the lock)."""
        if self.config.task_seconds:
            due = start + timedelta(seconds=self.config.task_seconds)
            self.store.put_doc(TASK_DUE, catalog, task_id, due.isoformat())

    def task_now(self, catalog: str, task: dict[str, Any], outcome: tuple[str, ...]) -> dict[str, Any]:
        """Return the task as it answers now (see :func:`outcome_view`)."""
        due = self.store.get_doc(TASK_DUE, catalog, task["TaskId"])
        return outcome_view(task, datetime.fromisoformat(due) if due else None, outcome)

    # -- operations --------------------------------------------------------------------------------------------
    def _CreateEngagement(self, p: dict[str, Any]) -> dict[str, Any]:
        catalog = p["Catalog"]
        for n, context in enumerate(p.get("Contexts") or []):
            _check_payload(context.get("Type"), context.get("Payload"), f"Contexts[{n}]")
        with self._write_lock:
            known = replayed(self.store, "CreateEngagement", p)
            if known is None:
                ident = new_id("eng-", 14, catalog, "CreateEngagement", p["ClientToken"])
                # model: "This action automatically adds the caller's AWS account as an active member of the newly
                # created Engagement"
                doc = self.new_engagement(
                    catalog,
                    ident,
                    title=p.get("Title"),
                    description=p.get("Description"),
                    contexts=p.get("Contexts") or [],
                    created_by=self.config.account_id,
                    members=[self._me()],
                    stamp=now_ms(),
                )
                remember(self.store, "CreateEngagement", p, ident)
            else:
                doc = self._engagement(catalog, known)
        eng = doc["engagement"]
        # recorded: {Arn, Id, ModifiedAt} (LeadToOpportunity / CreateEngagement-Lead); a retry answers the same
        return {ID: eng[ID], "Arn": eng["Arn"], "ModifiedAt": eng["CreatedAt"]}

    def _GetEngagement(self, p: dict[str, Any]) -> dict[str, Any]:
        doc = self._member_only(self._engagement(p["Catalog"], p[IDENTIFIER]))
        # model, MemberCount: "the current count of members participating in the Engagement"
        return {**doc["engagement"], "MemberCount": len(doc["members"])}

    def _ListEngagements(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "retrieve a list of Engagement records"; ContextTypes/ExcludeContextTypes "Filters engagements to
        # include only those containing the specified context types" (and the opposite); CreatedBy and
        # ExcludeCreatedBy by account. Only the caller's engagements are listed (its members' data, see _member_only).
        wanted = {last_part(i) for i in p.get("EngagementIdentifier") or ()}
        rows = []
        for doc in self._engagement_docs(p["Catalog"]):
            eng = doc["engagement"]
            types = list(dict.fromkeys(c["Type"] for c in eng.get("Contexts") or []))
            if not self._is_member(doc) or (wanted and eng[ID] not in wanted):
                continue
            if p.get("CreatedBy") and eng["CreatedBy"] not in p["CreatedBy"]:
                continue
            if p.get("ExcludeCreatedBy") and eng["CreatedBy"] in p["ExcludeCreatedBy"]:
                continue
            if p.get("ContextTypes") and not set(types) & set(p["ContextTypes"]):
                continue
            if p.get("ExcludeContextTypes") and set(types) & set(p["ExcludeContextTypes"]):
                continue
            summary = {**eng, "MemberCount": len(doc["members"]), "ContextTypes": types}
            rows.append(project(summary, output_shape("ListEngagements").members["EngagementSummaryList"].member))  # type: ignore[attr-defined]
        # model, EngagementSort: SortBy CreatedDate; no default order is documented: newest first, as recorded
        # (All API Actions / ListEngagements asked CreatedDate DESCENDING)
        sort = p.get("Sort") or {"SortOrder": "DESCENDING"}
        rows.sort(key=lambda r: (r["CreatedAt"], r[ID]), reverse=sort["SortOrder"] == "DESCENDING")
        return page(rows, p, "EngagementSummaryList", 20)

    def _AcceptEngagementInvitation(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "accept an engagement invitation shared by AWS. Accepting the invitation indicates your willingness
        # to participate in the engagement, granting you access to all engagement-related data". recorded: the
        # answer has no members (LeadToOpportunity / AcceptEngagementInvitation; content-length 0 in
        # Lead_To_Opportunity.md step 2); the engagement then counts the partner as a member, ModifiedBy it
        # (LeadToOpportunity / GetEngagement: MemberCount 2, ModifiedBy the receiver, ModifiedAt the acceptance).
        catalog = p["Catalog"]
        with self._write_lock:
            doc = self._invitation(catalog, p[IDENTIFIER])
            inv = doc["invitation"]
            if doc["participant"] != _RECEIVER:
                raise ServiceError(
                    "AccessDeniedException",
                    f"invitation {inv[ID]} was sent by this account: only its receiver accepts it",
                )
            if inv["Status"] == _ACCEPTED:
                # our inference: the operation's errors include ConflictException; an accepted invitation is not
                # accepted twice (a client retrying a lost answer reads the invitation back)
                raise ServiceError("ConflictException", f"invitation {inv[ID]} is already {_ACCEPTED}")
            if inv["Status"] != _PENDING:
                raise refused(
                    IDENTIFIER,
                    "INVALID_RESOURCE_STATE",
                    f"invitation {inv[ID]} is {inv['Status']}: only a {_PENDING} invitation can be accepted",
                )
            inv["Status"] = _ACCEPTED
            self._put_invitation(doc)
            self.join_engagement(catalog, inv)
        return {}

    def join_engagement(self, catalog: str, inv: dict[str, Any]) -> dict[str, Any]:
        """Make this account a member of the engagement an accepted invitation belongs to; return the engagement.

        An engagement the sandbox has no record of (an invitation stored directly, as the seed's referrals are) is
        AWS's: it is made from what the invitation shows (model: an engagement "is a resource owned by AWS" in
        AWS-originated opportunities, working-with-multi-partner-opportunities page). The caller holds the lock.
        """
        doc = self.engagement_doc(catalog, inv["EngagementId"])
        stamp = now_ms()
        if doc is None:
            sender = inv.get("SenderAwsAccountId") or AWS_MEMBER["AccountId"]
            owner = (
                AWS_MEMBER
                if sender == AWS_MEMBER["AccountId"]
                else {"AccountId": sender, "CompanyName": inv.get("SenderCompanyName") or sender}
            )
            invited_at = inv.get("InvitationDate") or stamp
            doc = self.new_engagement(
                catalog,
                inv["EngagementId"],
                title=inv.get("EngagementTitle"),
                description=inv.get("EngagementDescription"),
                contexts=[],
                created_by=sender,
                members=[dict(owner)],
                stamp=invited_at.replace(microsecond=invited_at.microsecond // 1000 * 1000),
            )
        # the sender of an invitation is a member of its engagement (recorded: the invitation's ExistingMembers name
        # the sender's company, LeadToOpportunity / GetEngagementInvitation); the sandbox delivers an invitation it
        # sends itself as AWS's (CreateEngagementInvitation), so AWS is then the member that invited it, and the
        # engagement counts two members once accepted, as recorded (LeadToOpportunity / GetEngagement: MemberCount 2)
        sender = inv.get("SenderAwsAccountId")
        if sender and all(m.get("AccountId") != sender for m in doc["members"]):
            doc["members"].append(
                dict(AWS_MEMBER)
                if sender == AWS_MEMBER["AccountId"]
                else {"AccountId": sender, "CompanyName": inv.get("SenderCompanyName") or sender}
            )
        if not self._is_member(doc):
            doc["members"].append(self._me())
        self._touch(doc, self.config.account_id)
        self._save_engagement(doc)
        return doc

    def _UpdateEngagementContext(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Updates the context information for an existing engagement with new or modified data";
        # EngagementLastModifiedAt "used for optimistic concurrency control. This helps prevent conflicts when
        # multiple users attempt to update the same engagement simultaneously"; Type "determines the structure and
        # content of the context payload being modified".
        catalog = p["Catalog"]
        _check_payload(p["Type"], p["Payload"], "Payload")
        with self._write_lock:
            doc = self._member_only(self._engagement(catalog, p["EngagementIdentifier"]))
            eng = doc["engagement"]
            context = next((c for c in eng.get("Contexts") or [] if c.get(ID) == p["ContextIdentifier"]), None)
            if context is None:
                raise ServiceError(
                    "ResourceNotFoundException",
                    f"Context {p['ContextIdentifier']} not found in engagement {eng[ID]}",
                )
            if context["Type"] != p["Type"]:
                raise refused(
                    "Type",
                    "INVALID_VALUE",
                    f"context {context[ID]} is a {context['Type']} context, not {p['Type']}",
                    "REQUEST_VALIDATION_FAILED",
                )
            if p["EngagementLastModifiedAt"] != eng["ModifiedAt"]:
                raise ServiceError(
                    "ConflictException",
                    f"Engagement {eng[ID]} was modified at {eng['ModifiedAt'].isoformat()}; the request's "
                    f"EngagementLastModifiedAt is {p['EngagementLastModifiedAt'].isoformat()}. Get it again.",
                )
            payload = context.setdefault("Payload", {})
            update = p["Payload"][p["Type"]]
            if p["Type"] == LEAD:
                _update_lead(payload.setdefault(LEAD, {}), update, now_ms())
            else:
                payload[p["Type"]] = update
            stamp = self._touch(doc, self.config.account_id)
            self._save_engagement(doc)
        # recorded: {ContextId, EngagementArn, EngagementId, EngagementLastModifiedAt} (LeadToOpportunity /
        # UpdateEngagementContext), the new token the next update sends
        return {
            "EngagementId": eng[ID],
            "EngagementArn": eng["Arn"],
            "EngagementLastModifiedAt": stamp,
            "ContextId": context[ID],
        }

    # -- leads into opportunities ------------------------------------------------------------------------------
    def _StartOpportunityFromEngagementTask(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "creates an opportunity from an existing engagement context. The task is asynchronous and
        # orchestrates the process of converting engagement contextual information into a structured opportunity
        # record within the partner's account"; ReasonCode names what it fails on (ContextNotFound,
        # CustomerProjectContextNotPermitted, DisqualifiedLeadNotPermitted, EngagementAccessDenied).
        catalog, op = p["Catalog"], "StartOpportunityFromEngagementTask"
        with self._write_lock:
            known = replayed(self.store, op, p)
            if known is not None:
                return self._opportunity_task(catalog, known)
            doc = self._engagement(catalog, p[IDENTIFIER])
            eng = doc["engagement"]
            stamp = now_ms()
            task_id = new_id("task-", 13, catalog, op, p["ClientToken"])
            task: dict[str, Any] = {
                "TaskId": task_id,
                "TaskArn": task_arn(self.config.region, catalog, "opportunity-from-engagement-task", task_id),
                "StartTime": stamp,
                "EngagementId": eng[ID],
            }
            context = next((c for c in eng.get("Contexts") or [] if c.get(ID) == p["ContextIdentifier"]), None)
            lead = ((context or {}).get("Payload") or {}).get(LEAD) or {}
            failure = None
            if not self._is_member(doc):
                failure = ("EngagementAccessDenied", f"this account is not a member of engagement {eng[ID]}")
            elif context is None:
                failure = ("ContextNotFound", f"engagement {eng[ID]} has no context {p['ContextIdentifier']}")
            elif context["Type"] == CUSTOMER_PROJECT:
                failure = (
                    "CustomerProjectContextNotPermitted",
                    f"context {context[ID]} is a {CUSTOMER_PROJECT} context: an opportunity is made from a lead",
                )
            elif str(lead.get("QualificationStatus") or "").casefold() == DISQUALIFIED.casefold():
                failure = (
                    "DisqualifiedLeadNotPermitted",
                    f"the lead in context {context[ID]} is {DISQUALIFIED}: qualify it before converting it",
                )
            if failure is not None:
                task.update(TaskStatus=_FAILED, ReasonCode=failure[0], Message=failure[1])
            else:
                assert context is not None
                opportunity = self._opportunity_from_lead(catalog, task_id, lead, stamp)
                # recorded: the task answers a new context Id ("2" after the lead's "1") and a snapshot job
                # (LeadToOpportunity / StartOpportunityFromEngagementTask); the new context describes the customer
                # project the opportunity is (our inference: the type a partner's engagement carries)
                new_context = self._add_context(
                    doc, _project_context(self.store.get(catalog, opportunity) or {}), stamp
                )
                self._touch(doc, self.config.account_id)
                self._save_engagement(doc)
                job = self.start_snapshot_job(catalog, eng[ID], opportunity)
                if p.get("Tags"):
                    rec = self.store.get(catalog, opportunity) or {}
                    self.tag(rec["Arn"], p["Tags"])
                task.update(
                    TaskStatus=_COMPLETE, OpportunityId=opportunity, ResourceSnapshotJobId=job, ContextId=new_context
                )
            self.store.put_doc(OPPORTUNITY_TASK, catalog, task_id, json.dumps(to_wire(task, _opp_task_shape())))
            self.hold_task(catalog, task_id, stamp)
            remember(self.store, op, p, task_id)
        return self._opportunity_task(catalog, task_id)

    def _opportunity_task(self, catalog: str, task_id: str) -> dict[str, Any]:
        text = self.store.get_doc(OPPORTUNITY_TASK, catalog, task_id)
        assert text is not None, task_id
        return self.task_now(catalog, from_wire(json.loads(text), _opp_task_shape()), _OUTCOME)

    def _ListOpportunityFromEngagementTasks(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Lists all in-progress, completed, or failed opportunity creation tasks from engagements that were
        # initiated by the caller's account", filtered by TaskStatus, TaskIdentifier, OpportunityIdentifier,
        # EngagementIdentifier and ContextIdentifier.
        catalog = p["Catalog"]
        wanted = {
            "TaskStatus": set(p.get("TaskStatus") or ()),
            "TaskId": {last_part(i) for i in p.get("TaskIdentifier") or ()},
            "OpportunityId": set(p.get("OpportunityIdentifier") or ()),
            "EngagementId": {last_part(i) for i in p.get("EngagementIdentifier") or ()},
            "ContextId": set(p.get("ContextIdentifier") or ()),
        }
        rows = [
            self._opportunity_task(catalog, json.loads(t)["TaskId"]) for t in self.store.docs(OPPORTUNITY_TASK, catalog)
        ]
        rows = [r for r in rows if not any(v and r.get(m) not in v for m, v in wanted.items())]
        sort = p.get("Sort") or {"SortOrder": "DESCENDING"}
        rows.sort(key=lambda r: (r["StartTime"], r["TaskId"]), reverse=sort["SortOrder"] == "DESCENDING")
        return page(rows, p, "TaskSummaries", 20)

    def _opportunity_from_lead(self, catalog: str, task_id: str, lead: dict[str, Any], stamp: datetime) -> str:
        """Create the opportunity a lead converts into, as recorded; return its Id.

        recorded (LeadToOpportunity / GetOpportunity after the conversion; Lead_To_Opportunity.md step 8): the
        customer's company, industry and website and the address's country come from the lead, the business
        problem from its interaction; no contacts; Title "Converted from Lead"; OpportunityType Net New Business;
        Marketing.Source None; NationalSecurity No; Stage Prospect, ReviewStatus Pending Submission, the target
        close date 90 days on; no expected spend. A lead's text a field's model does not allow (an industry outside
        the enum, a website or problem outside the pattern) is left out: the partner fills it in (our inference:
        the opportunity must stay one UpdateOpportunity accepts back).
        """
        schema = get_schema()
        customer = lead.get("Customer") or {}
        account: dict[str, Any] = {"CompanyName": customer.get("CompanyName")}
        if customer.get("Industry") in schema[P.INDUSTRY].enum:
            account["Industry"] = customer["Industry"]
        if customer.get("WebsiteUrl") and schema[P.WEBSITE].matches(customer["WebsiteUrl"]):
            account["WebsiteUrl"] = customer["WebsiteUrl"]
        country = (customer.get("Address") or {}).get("CountryCode")
        if country in service_model().shape_for("CountryCode").enum:  # type: ignore[attr-defined]
            account["Address"] = {"CountryCode": country}
        project: dict[str, Any] = {"Title": LEAD_TITLE, "ExpectedCustomerSpend": []}
        problems = [i.get("BusinessProblem") for i in lead.get("Interactions") or [] if i.get("BusinessProblem")]
        if problems and schema[P.BUSINESS_PROBLEM].matches(problems[-1]):
            project["CustomerBusinessProblem"] = problems[-1]
        digits = int(hashlib.sha256(f"{catalog}\x1f{task_id}".encode()).hexdigest()[:12], 16)
        ident = f"O{digits % 10**8:08d}"
        while self.store.get(catalog, ident) is not None:
            ident = f"O{(int(ident[1:]) + 1) % 10**8:08d}"
        record: dict[str, Any] = {
            ID: ident,
            "Arn": f"arn:aws:partnercentral:{self.config.region}:{self.config.account_id}:catalog/{catalog}/opportunity/{ident}",
            "Catalog": catalog,
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "Customer": {"Account": account, "Contacts": []},
            "Project": project,
            "OpportunityType": NET_NEW,
            "Marketing": {"Source": shape_value("MarketingSource", "None")},
            "NationalSecurity": shape_value("NationalSecurity", "No"),
            # recorded: one team member, the partner user, as OpportunityOwner (LeadToOpportunity / GetOpportunity)
            "OpportunityTeam": [dict(OPPORTUNITY_OWNER)],
            "LifeCycle": {
                "Stage": PROSPECT,
                "ReviewStatus": PENDING_SUBMISSION,
                "TargetCloseDate": (stamp + timedelta(days=LEAD_CLOSE_DAYS)).date().isoformat(),
            },
            "RelatedEntityIdentifiers": {},
        }
        self.store.put(record)
        return ident

    # -- partner-originated opportunities into engagements -----------------------------------------------------
    def engage_opportunity(self, catalog: str, opportunity: str) -> dict[str, str]:
        """Do what a StartEngagementFromOpportunityTask does after the submission checks; return its ids.

        model, StartEngagementFromOpportunityTask: "It automatically executes a sequence of operations including
        GetOpportunity, CreateEngagement (if it doesn't exist), CreateResourceSnapshot, CreateResourceSnapshotJob,
        CreateEngagementInvitation (if not already invited/accepted), and SubmitOpportunity"; its answer's
        EngagementId, EngagementInvitationId and ResourceSnapshotJobId name them. recorded: an opportunity already in
        an engagement (a converted lead) is submitted into it, with a new invitation and a new job (LeadToOpportunity
        / StartEngagementFromOpportunityTask: the lead's EngagementId); a new engagement is titled after the project
        and described by the business problem (Working with Multipartner Opportunities / Receiving Partner -
        GetEngagementInvitation: EngagementTitle "New Business Deal - 6118", EngagementDescription the problem).
        The invitation is to AWS. The caller holds the write lock.
        """
        rec = self._load(catalog, opportunity)
        stamp = now_ms()
        mine = [
            a["EngagementId"]
            for a in self.associations(catalog)
            if a["ResourceId"] == opportunity and a["CreatedBy"] == self.config.account_id
        ]
        if mine:
            doc = self._engagement(catalog, mine[0])
        else:
            project_ = rec.get("Project") or {}
            doc = self.new_engagement(
                catalog,
                new_id("eng-", 14, catalog, "StartEngagementFromOpportunityTask", opportunity),
                title=(project_.get("Title") or "")[:40] or None,
                description=(project_.get("CustomerBusinessProblem") or "")[:255] or None,
                contexts=[_project_context(rec)],
                created_by=self.config.account_id,
                members=[self._me()],
                stamp=stamp,
            )
        engagement = doc["engagement"][ID]
        job = self.start_snapshot_job(catalog, engagement, opportunity)
        invitations = [
            d["invitation"]
            for d in self._invitation_docs(catalog)
            if d["participant"] == _SENDER
            and d["invitation"].get("EngagementId") == engagement
            and d["invitation"].get("Receiver", {}).get("Account", {}).get("AwsAccountId") == AWS_MEMBER["AccountId"]
            and d["invitation"].get("Status") in (_PENDING, _ACCEPTED)
        ]
        if invitations:
            invitation = invitations[0][ID]
        else:
            invitation = new_id("engi-", 13, catalog, "to-aws", engagement, opportunity)
            self._put_invitation(
                {
                    "invitation": {
                        ID: invitation,
                        "Arn": invitation_arn(catalog, invitation, self.config.region),
                        "Catalog": catalog,
                        "PayloadType": "OpportunityInvitation",
                        "EngagementId": engagement,
                        "Status": _PENDING,
                        "InvitationDate": stamp,
                        "SenderAwsAccountId": self.config.account_id,
                        "SenderCompanyName": PARTNER_NAME,
                        "Receiver": {
                            "Account": {"AwsAccountId": AWS_MEMBER["AccountId"], "Alias": AWS_MEMBER["CompanyName"]}
                        },
                        "Payload": {"OpportunityInvitation": _invitation_payload(rec)},
                        **(self.engagement_view(catalog, engagement) or {}),
                    },
                    "participant": _SENDER,
                }
            )
        return {"EngagementId": engagement, "EngagementInvitationId": invitation, "ResourceSnapshotJobId": job}

    # -- members and resources ---------------------------------------------------------------------------------
    def _ListEngagementMembers(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Retrieves the details of member partners in an Engagement. This operation can only be invoked by
        # members of the Engagement"; recorded members: AccountId, CompanyName, WebsiteUrl (All API Actions /
        # ListEngagementMembers). MemberPageSize is 1 to 10; no default is documented: 10.
        doc = self._member_only(self._engagement(p["Catalog"], p[IDENTIFIER]))
        return page([dict(m) for m in doc["members"]], p, "EngagementMemberList", 10)

    def _ListEngagementResourceAssociations(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Lists the associations between resources and engagements where the caller is a member and has at
        # least one snapshot in the engagement"; recorded members: Catalog, EngagementId, ResourceId, ResourceType,
        # CreatedBy (Working with Multipartner Opportunities / Inviting Partner - ListEngagementResourceAssociations).
        catalog = p["Catalog"]
        mine = {d["engagement"][ID] for d in self._engagement_docs(catalog) if self._is_member(d)}
        rows = [a for a in self.associations(catalog) if a["EngagementId"] in mine]
        for member, key in (
            ("EngagementIdentifier", "EngagementId"),
            ("ResourceType", "ResourceType"),
            ("ResourceIdentifier", "ResourceId"),
            ("CreatedBy", "CreatedBy"),
        ):
            if p.get(member):
                rows = [r for r in rows if r[key] == p[member]]
        return page(rows, p, "EngagementResourceAssociationSummaries", 20)

    # -- AWS and other partners, out of band -------------------------------------------------------------------
    def send_lead(
        self,
        catalog: str,
        lead: dict[str, Any],
        *,
        title: str,
        description: str | None = None,
        message: str,
        sent: datetime | None = None,
        expires: datetime | None = None,
        insights: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Play AWS sharing a lead; return (engagement id, invitation id).

        AWS creates an engagement with ``lead`` as its Lead context, and sends a LeadInvitation to this account.

        As the samples do it with CreateEngagement and CreateEngagementInvitation from a second account
        (leadToOpportunity/0_1 and 0_2); the invitation shows what Lead_To_Opportunity.md step 1 shows: the
        customer's company, industry, website, country, maturity and segment, and the interaction's source,
        use case and the contact's title, not the contact (sales guide: "You must accept an incoming lead before
        you can view all lead details including contact information").
        """
        sent = sent or now_ms()
        with self._write_lock:
            ident = new_id("eng-", 14, catalog, "lead", title, sent.isoformat())
            context: dict[str, Any] = {"Type": LEAD, "Payload": {LEAD: lead}}
            doc = self.new_engagement(
                catalog,
                ident,
                title=title[:40],
                description=description,
                contexts=[context],
                created_by=AWS_MEMBER["AccountId"],
                members=[dict(AWS_MEMBER)],
                stamp=sent,
            )
            stored = doc["engagement"]["Contexts"][0]["Payload"][LEAD]
            customer, interaction = stored["Customer"], (stored.get("Interactions") or [{}])[-1]
            payload = {
                "Customer": {
                    **{
                        k: customer[k]
                        for k in ("Industry", "CompanyName", "WebsiteUrl", "AwsMaturity", "MarketSegment")
                        if customer.get(k)
                    },
                    **(
                        {"CountryCode": customer["Address"]["CountryCode"]}
                        if (customer.get("Address") or {}).get("CountryCode")
                        else {}
                    ),
                },
                "Interaction": {
                    **{
                        k: interaction[k]
                        for k in ("SourceType", "SourceId", "SourceName", "Usecase")
                        if interaction.get(k)
                    },
                    "ContactBusinessTitle": (interaction.get("Contact") or {}).get("BusinessTitle", ""),
                },
            }
            inv_id = new_id("engi-", 13, catalog, "lead-invitation", ident)
            view = self.engagement_view(catalog, ident) or {}
            inv: dict[str, Any] = {
                ID: inv_id,
                "Arn": f"arn:aws:partnercentral:{self.config.region}::catalog/{catalog}/engagement-invitation/{inv_id}",
                "Catalog": catalog,
                "PayloadType": "LeadInvitation",
                "EngagementId": ident,
                "Status": _PENDING,
                "InvitationDate": sent,
                "SenderAwsAccountId": AWS_MEMBER["AccountId"],
                "SenderCompanyName": AWS_MEMBER["CompanyName"],
                "Receiver": {"Account": {"AwsAccountId": self.config.account_id}},
                "Payload": {"LeadInvitation": payload},
                "InvitationMessage": message,
                **view,
            }
            if expires is not None:
                inv["ExpirationDate"] = expires
            if insights:
                stored["Insights"] = insights
                self._save_engagement(doc)
            self._put_invitation({"invitation": inv, "participant": _RECEIVER})
        return ident, inv_id

    def partner_accepts(
        self, catalog: str, invitation: str, *, company: str, website: str | None = None, opportunity: str | None = None
    ) -> str:
        """Play the partner an invitation this account sent accepting it; return their opportunity's Id.

        recorded (Working with Multipartner Opportunities): the receiving partner accepts with
        StartEngagementByAcceptingInvitationTask, gets its own opportunity in the engagement with a snapshot job,
        and the inviting partner then lists it among the engagement's resources (ListEngagementResourceAssociations)
        and members. The receiving partner's opportunity is shared as a snapshot of it (GetResourceSnapshot), made
        from the invitation's payload.
        """
        with self._write_lock:
            doc = self._invitation(catalog, invitation)
            inv = doc["invitation"]
            if doc["participant"] != _SENDER or inv["Status"] != _PENDING:
                raise ValueError(f"invitation {inv[ID]} is not a pending one this account sent")
            account = inv["Receiver"]["Account"]["AwsAccountId"]
            inv["Status"] = _ACCEPTED
            self._put_invitation(doc)
            eng = self._engagement(catalog, inv["EngagementId"])
            member = {"AccountId": account, "CompanyName": company}
            if website:
                member["WebsiteUrl"] = website
            if all(m.get("AccountId") != account for m in eng["members"]):
                eng["members"].append(member)
            self._touch(eng, account)
            self._save_engagement(eng)
            ident = opportunity or f"O{int(hashlib.sha256(inv[ID].encode()).hexdigest()[:10], 16) % 10**8:08d}"
            payload = (inv.get("Payload") or {}).get("OpportunityInvitation") or {}
            self.put_partner_snapshot(
                catalog, inv["EngagementId"], ident, OPPORTUNITY_TEMPLATE, _summary_of_invitation(payload), account
            )
        return ident


def _check_payload(kind: str | None, payload: dict[str, Any] | None, field: str) -> None:
    """Refuse a context whose Payload is not the member its Type names.

    model: the payload's "structure ... varies based on the context type specified in the Type field";
    EngagementContextPayload is a union.
    """
    if payload and set(payload) != {kind}:
        raise refused(
            f"{field}.Payload",
            "INVALID_VALUE",
            f"a {kind} context carries a {kind} payload, not {', '.join(sorted(payload))}",
            "REQUEST_VALIDATION_FAILED",
        )


def _update_lead(stored: dict[str, Any], update: dict[str, Any], stamp: datetime) -> None:
    """Apply an UpdateLeadContext to a stored LeadContext.

    recorded (Lead_To_Opportunity.md step 4; LeadToOpportunity / UpdateEngagementContext): the request sends the
    qualification status, the whole customer (model: Customer is required) and one Interaction; the interaction
    the sample sends is a new one (dated a day after the last, 4_update_engagement_context.py), and the business
    problem it carries is the one the converted opportunity then has (step 8). So: QualificationStatus and Customer
    replace the stored ones, the Interaction is added to the lead's Interactions (model: at most 10,
    LeadInteractionList), and members the request leaves out (Insights, which AWS generates) stay as they were
    (our inference).
    """
    if update.get("QualificationStatus") is not None:
        stored["QualificationStatus"] = update["QualificationStatus"]
    stored["Customer"] = update["Customer"]
    if update.get("Insights") is not None:
        stored["Insights"] = update["Insights"]
    if update.get("Interaction") is not None:
        interactions = list(stored.get("Interactions") or [])
        limit = service_model().shape_for("LeadInteractionList").metadata["max"]
        if len(interactions) >= limit:
            raise ServiceError(
                "ServiceQuotaExceededException",
                f"a lead keeps at most {limit} interactions (model, LeadContext.Interactions); this one has {len(interactions)}",
            )
        interaction = dict(update["Interaction"])
        interaction.setdefault("InteractionDate", stamp)
        stored["Interactions"] = [*interactions, interaction]


def _project_context(record: dict[str, Any]) -> dict[str, Any]:
    """Return a CustomerProject context describing an opportunity.

    model, CustomerProjectsContext: the customer's company, website, industry and country; the project's title,
    business problem and target completion date.
    """
    account = (record.get("Customer") or {}).get("Account") or {}
    customer = {
        k: v
        for k, v in {
            "CompanyName": account.get("CompanyName"),
            "WebsiteUrl": account.get("WebsiteUrl"),
            "Industry": account.get("Industry"),
            "CountryCode": (account.get("Address") or {}).get("CountryCode"),
        }.items()
        if v
    }
    project = {
        k: v
        for k, v in {
            "Title": (record.get("Project") or {}).get("Title"),
            "BusinessProblem": (record.get("Project") or {}).get("CustomerBusinessProblem"),
            "TargetCompletionDate": (record.get("LifeCycle") or {}).get("TargetCloseDate"),
        }.items()
        if v
    }
    return {"Type": CUSTOMER_PROJECT, "Payload": {CUSTOMER_PROJECT: {"Customer": customer, "Project": project}}}


def _invitation_payload(record: dict[str, Any]) -> dict[str, Any]:
    """Return the OpportunityInvitation payload an opportunity's submission sends AWS.

    model, OpportunityInvitationPayload: its customer, project, expected spend and the sender's contacts.
    """
    context = _project_context(record)["Payload"][CUSTOMER_PROJECT]
    project_ = dict(context["Project"])
    project_["ExpectedCustomerSpend"] = (record.get("Project") or {}).get("ExpectedCustomerSpend") or []
    payload: dict[str, Any] = {"Customer": context["Customer"], "Project": project_}
    contacts = [
        {k: m[k] for k in ("Email", "FirstName", "LastName", "BusinessTitle", "Phone") if m.get(k)}
        for m in record.get("OpportunityTeam") or []
        if m.get("Email")
    ]
    if contacts:
        payload["SenderContacts"] = contacts[:3]  # model, SenderContactList: at most 3
    if record.get("OpportunityType"):
        payload["OpportunityType"] = record["OpportunityType"]
    return payload


def _summary_of_invitation(payload: dict[str, Any]) -> dict[str, Any]:
    """Return the OpportunitySummary a partner's snapshot shows, from the invitation it accepted."""
    customer, proj = payload.get("Customer") or {}, payload.get("Project") or {}
    account = {k: customer[k] for k in ("CompanyName", "Industry", "WebsiteUrl") if customer.get(k)}
    if customer.get("CountryCode"):
        account["Address"] = {"CountryCode": customer["CountryCode"]}
    summary: dict[str, Any] = {
        "Customer": {"Account": account, "Contacts": []},
        "Lifecycle": {"Stage": PROSPECT, "ReviewStatus": PENDING_SUBMISSION},
        "Project": {"ExpectedCustomerSpend": proj.get("ExpectedCustomerSpend") or []},
    }
    if proj.get("TargetCompletionDate"):
        summary["Lifecycle"]["TargetCloseDate"] = proj["TargetCompletionDate"]
    if payload.get("OpportunityType"):
        summary["OpportunityType"] = payload["OpportunityType"]
    return summary


# -- the seed's leads ----------------------------------------------------------------------------------------------
#: Days from the seed's day to each seeded lead invitation's expiry: two new ones, two expiring within two days, one
#: already expired (a pending invitation past its ExpirationDate reads EXPIRED). recorded: a lead invitation
#: expires 15 days after it is sent (Lead_To_Opportunity.md step 1: InvitationDate 2025-11-03, ExpirationDate
#: 2025-11-18).
_LEAD_EXPIRY = (15, 12, 2, 1, -2)
_LEAD_LIFETIME = 15
# flavour text of the sandbox: customers, sources and people of its leads
_LEAD_COMPANIES = (
    ("Acme Corp", "https://acme.example"),
    ("Bluewave Retail", "https://bluewave.example"),
    ("Corvid Health", "https://corvid.example"),
    ("Delta Freight", "https://deltafreight.example"),
    ("Evergreen Learning", "https://evergreen.example"),
)
_LEAD_SOURCES = (
    ("Campaign", "Data modernization campaign - 2026", "Database", "Completed Form"),
    ("Webinar", "Generative AI webinar", "AI/ML", "Attended Webinar"),
    ("Event", "AWS Summit", "Migration", "Visited Booth"),
    ("Campaign", "Analytics campaign - 2026", "Analytics", "Downloaded Whitepaper"),
    ("Website", "Partner solution page", "Security", "Requested Contact"),
)
_LEAD_PEOPLE = (
    ("Torey", "Orn", "Head of Data"),
    ("Mira", "Holt", "CTO"),
    ("Jonas", "Weber", "IT Director"),
    ("Ana", "Lima", "VP Engineering"),
    ("Kofi", "Mensah", "Cloud Architect"),
)


def seed_leads(as_of: date) -> list[dict[str, Any]]:
    """Return the leads the seed has AWS send (keyword arguments of :meth:`EngagementOpsMixin.send_lead`).

    New, expiring and expired lead invitations relative to ``as_of``, each on its own engagement whose Lead context
    has the customer and one interaction with a named contact.

    Examples
    --------
    >>> from opptoolkit.sandbox import SEED_DAY
    >>> leads = seed_leads(SEED_DAY)
    >>> len(leads), [(lead["expires"].date() - SEED_DAY).days for lead in leads]
    (5, [15, 12, 2, 1, -2])
    """
    base = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    rng = random.Random(2026)
    industries = service_model().shape_for("Industry").enum  # type: ignore[attr-defined]
    countries = service_model().shape_for("CountryCode").enum[:40]  # type: ignore[attr-defined]
    out = []
    for n, days in enumerate(_LEAD_EXPIRY):
        company, website = _LEAD_COMPANIES[n]
        industry, country = rng.choice(industries), rng.choice(countries)
        kind, source, usecase, action = _LEAD_SOURCES[n]
        first, last, title = _LEAD_PEOPLE[n]
        expires = base + timedelta(days=days, hours=n)
        sent = expires - timedelta(days=_LEAD_LIFETIME)
        lead = {
            "Customer": {
                "CompanyName": company,
                "Industry": industry,
                "WebsiteUrl": website,
                "Address": {"CountryCode": country},
                "AwsMaturity": "Evaluating",
                "MarketSegment": "Enterprise" if n % 2 == 0 else "Mid-Market",
            },
            "Interactions": [
                {
                    "SourceType": kind,
                    "SourceId": f"SRC{n:05d}",
                    "SourceName": source,
                    "Usecase": usecase,
                    "CustomerAction": action,
                    "InteractionDate": sent - timedelta(hours=2),
                    "Contact": {
                        "BusinessTitle": title,
                        "Email": f"{first.lower()}.{last.lower()}@{website.split('//')[1]}",
                        "FirstName": first,
                        "LastName": last,
                    },
                }
            ],
        }
        out.append(
            {
                "lead": lead,
                "title": f"{company.split()[0]} {usecase} lead"[:40],
                "description": f"Lead from {source}",
                "message": f"We have a lead from {company} that matches your expertise. Would you like to collaborate?",
                "sent": sent,
                "expires": expires,
            }
        )
    return out
