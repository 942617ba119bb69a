"""The sandbox's partner-originated operations: solutions, associations, submission, assignment.

A mixin of :class:`opptoolkit.sandbox._service.SellingService` (``self.store``, ``self._load``,
``self._write_lock``, ``self.config``). Each rule cites the AWS text it comes from:

* "associating page": the developer guide's "Associating, disassociating and assigning opportunities"
  (https://docs.aws.amazon.com/partner-central/latest/developer-guide/associating-disassociating-assigning-opportunities.html);
* "quotas page": https://docs.aws.amazon.com/partner-central/latest/developer-guide/quotas.html;
* "<Operation> page": the API reference, https://docs.aws.amazon.com/partner-central/latest/APIReference/API_<Operation>.html;
* "model": botocore's service model (its documentation strings are the API reference's text).
"""

from __future__ import annotations

import json
import random
import string
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import fields as P
from ..quotas import ASSOCIATIONS_PER_OPPORTUNITY
from ..rules import RELATED, SUBMITTED, association_key, submission_problems
from ..schema import shape_value
from ._answers import NO_SUPPORT_NEEDED
from ._errors import ServiceError, request_digest
from ._seed import SOLUTION_RECORDS

if TYPE_CHECKING:
    import threading

    from ._store import Store


def _refused(field: str, code: str, message: str) -> Exception:
    """Return a ValidationException of one field, as the model shapes it (Reason, ErrorList[{FieldName, Message, Code}])."""
    return ServiceError(
        "ValidationException",
        f"{field}: {message}",
        Reason="BUSINESS_VALIDATION_FAILED",
        ErrorList=[{"FieldName": field, "Message": message, "Code": code}],
    )


#: The model's SalesInvolvementType value of a submission that asks AWS for no co-selling.
VISIBILITY_ONLY = shape_value("SalesInvolvementType", "For Visibility Only")


#: The model's RelatedEntityType of AWS Marketplace private offers.
MARKETPLACE_OFFERS = shape_value("RelatedEntityType", "AwsMarketplaceOffers")


class PartnerOperations:
    """ListSolutions, Associate/DisassociateOpportunity, the submission operations and AssignOpportunity."""

    store: Store
    _write_lock: threading.Lock
    rng: random.Random
    config: Any
    _task_store: dict[str, dict[str, Any]]
    #: Seconds a StartEngagementFromOpportunityTask stays IN_PROGRESS before it completes (AWS's Sandbox
    #: completes it at once; a test raises this to see a client poll).
    task_seconds: float = 0.0

    def _load(self, catalog: str, identifier: str) -> dict[str, Any]:  # SellingService's
        raise NotImplementedError

    # -- solutions ---------------------------------------------------------------------------------
    def solutions(self, catalog: str) -> list[dict[str, Any]]:
        """Return the partner's solutions in ``catalog`` (the seed's; the same in every catalog of the account)."""
        # the recorded ARN carries the account ("LeadToOpportunity / ListSolutions")
        return [
            {
                "Catalog": catalog,
                "Arn": f"arn:aws:partnercentral:{self.config.region}:{self.config.account_id}:catalog/{catalog}/"
                f"solution/{s['Id']}",
                **s,
            }
            for s in SOLUTION_RECORDS
        ]

    def _ListSolutions(self, p: dict[str, Any]) -> dict[str, Any]:
        # ListSolutions page: "Retrieves a list of Partner Solutions that the partner registered on Partner
        # Central", filtered by Status, Identifier, Category; sorted by the SolutionSort given.
        rows = self.solutions(p["Catalog"])
        for member, key in (("Status", "Status"), ("Identifier", "Id"), ("Category", "Category")):
            if p.get(member):
                rows = [r for r in rows if r[key] in p[member]]
        if p.get("AwsMarketplaceSolutionArn"):
            rows = [r for r in rows if r.get("AwsMarketplaceSolutionArn") in p["AwsMarketplaceSolutionArn"]]
        sort = p.get("Sort") or {"SortBy": "Identifier", "SortOrder": "ASCENDING"}
        key = {"Identifier": "Id"}.get(sort["SortBy"], sort["SortBy"])
        rows.sort(key=lambda r: (r[key], r["Id"]), reverse=sort["SortOrder"] == "DESCENDING")
        start = int(p.get("NextToken") or 0) if str(p.get("NextToken") or "0").isdecimal() else 0
        limit = p.get("MaxResults") or 20
        out: dict[str, Any] = {"SolutionSummaries": rows[start : start + limit]}
        if start + limit < len(rows):
            out["NextToken"] = str(start + limit)
        return out

    # -- associations ------------------------------------------------------------------------------
    def _related_entity(self, p: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
        catalog, kind, entity = p["Catalog"], p["RelatedEntityType"], p["RelatedEntityIdentifier"]
        rec = self._load(catalog, p["OpportunityIdentifier"])
        return rec, kind, entity

    def _AssociateOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:

        with self._write_lock:
            rec, kind, entity = self._related_entity(p)
            # associating page: "To view your existing solutions, use the ListSolutions action"; a solution
            # the partner does not have is not found (the operation's errors include ResourceNotFoundException)
            if kind == "Solutions" and entity not in {s["Id"] for s in self.solutions(p["Catalog"])}:
                raise ServiceError(
                    "ResourceNotFoundException", f"Solution {entity} not found in catalog {p['Catalog']}"
                )
            related = dict(rec.get(RELATED) or {})
            have = list(related.get(kind) or [])
            if association_key(entity) in {association_key(h) for h in have}:
                return {}  # already associated: the association is what the caller asked for
            # quotas page, "Association quotas per opportunity": AWS products 20, Partner Solutions 10,
            # AWS Marketplace private offers 1
            cap = ASSOCIATIONS_PER_OPPORTUNITY.get(kind)
            if cap is not None and len(have) >= cap:
                raise _refused(
                    f"{RELATED}.{kind}",
                    "TOO_MANY_VALUES",
                    f"an opportunity takes at most {cap} {kind} (quotas page); it has {len(have)}: "
                    "disassociate one first",
                )
            # recorded: an AWS Marketplace offer associated by its ARN is answered by its id (samples' Postman
            # collection, "Other common opportunity actions / Associating an AWS Marketplace offer", #83 then #84;
            # rules.association_key); any other kind as it was sent (#84's Solutions, LeadToOpportunity's)
            related[kind] = [*have, association_key(entity) if kind == MARKETPLACE_OFFERS else entity]
            rec[RELATED] = related
            # associating page: RelatedEntityIdentifiers "cannot be updated using the UpdateOpportunity or
            # CreateOpportunity method": the association is its own write; the record's LastModifiedDate is
            # the token of the opportunity's own fields and is left as it is (the docs say nothing of it).
            self.store.put(rec)
        return {}

    def _DisassociateOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:

        with self._write_lock:
            rec, kind, entity = self._related_entity(p)
            related = dict(rec.get(RELATED) or {})
            have = list(related.get(kind) or [])
            # DisassociateOpportunity page: the identifier "could be a simple identifier or an Amazon Resource Name
            # (ARN) for entities managed through Amazon Web Services Marketplace": either names the association
            held = next((h for h in have if association_key(h) == association_key(entity)), None)
            if held is None:
                # DisassociateOpportunity page: it "Allows you to remove an existing association"; there is none
                raise ServiceError(
                    "ResourceNotFoundException",
                    f"{kind} {entity} is not associated with opportunity {p['OpportunityIdentifier']}",
                )
            have.remove(held)
            if have:
                related[kind] = have
            else:
                related.pop(kind)
            rec[RELATED] = related
            self.store.put(rec)
        return {}

    # -- submission --------------------------------------------------------------------------------
    def _tasks(self) -> dict[str, dict[str, Any]]:
        tasks: dict[str, dict[str, Any]] | None = getattr(self, "_task_store", None)
        if tasks is None:
            tasks = {}
            self._task_store = tasks
        return tasks

    def _rid(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits + string.ascii_lowercase) for _ in range(n))

    def _submit(self, catalog: str, identifier: str, involvement: str | None) -> list[Any]:
        """Move a ready opportunity to Submitted; return what AWS would refuse instead (nothing changed then)."""
        rec = self._load(catalog, identifier)
        problems = submission_problems(rec)
        if problems:
            return problems
        if involvement == VISIBILITY_ONLY and not rec.get(P.PRIMARY_NEEDS):
            rec[P.PRIMARY_NEEDS] = [NO_SUPPORT_NEEDED]  # recorded (NO_SUPPORT_NEEDED)
        # "Working with your opportunities": once the engagement is started "the opportunity enters the AWS
        # validation phase, and Lifecycle.ReviewStatus is set to Submitted"; the review (Sandbox.review) takes it
        # from there.
        rec.setdefault("LifeCycle", {})["ReviewStatus"] = SUBMITTED
        rec["LastModifiedDate"] = _after(rec["LastModifiedDate"])
        self.store.put(rec)
        return []

    def _StartEngagementFromOpportunityTask(self, p: dict[str, Any]) -> dict[str, Any]:
        catalog, identifier = p["Catalog"], p["Identifier"]
        tasks = self._tasks()
        with self._write_lock:
            # model, ClientToken: "A unique token provided by the client to help ensure the idempotency of the
            # request. It helps prevent the same task from being performed multiple times."
            key = f"{catalog}\x00{p['ClientToken']}"
            for earlier in tasks.values():
                if earlier["_token"] == key:
                    # the same token with another request is refused, as CreateOpportunity refuses it (model,
                    # CreateOpportunity's ClientToken: "Conflicting client token submitted for a new request body.")
                    if earlier["_request"] != request_digest(p):
                        raise ServiceError(
                            "ConflictException", "Conflicting client token submitted for a new request body."
                        )
                    return self._task_view(earlier)
            self._load(catalog, identifier)  # ResourceNotFoundException for an unknown opportunity
            problems = self._submit(catalog, identifier, (p.get("AwsSubmission") or {}).get("InvolvementType"))
            if not problems and p.get("AwsSubmission"):
                # what AWS's view of the opportunity answers (GetAwsOpportunitySummary: InvolvementType, Visibility)
                self.store.put_doc("submission", catalog, identifier, json.dumps(p["AwsSubmission"]))
            task_id = f"task-{self._rid(13)}"
            task: dict[str, Any] = {
                "_token": key,
                "_request": request_digest(p),
                "_catalog": catalog,
                "_done_at": time.monotonic() + self.task_seconds,
                "TaskId": task_id,
                # the recorded form: no account ("Inviting Partner - StartEngagementFromOpportunityTask")
                "TaskArn": f"arn:aws:partnercentral:{self.config.region}::catalog/{catalog}/"
                f"engagement-from-opportunity-task/{task_id}",
                "StartTime": datetime.now(UTC),
                "OpportunityId": identifier,
            }
            if problems:
                # model, ReasonCode: "Indicates the reason for task failure using an enumerated code"; Message:
                # "If the task fails, this field contains a detailed message describing the failure"
                task["_final"] = {
                    "TaskStatus": "FAILED",
                    "ReasonCode": "OpportunityValidationFailed",
                    "Message": "; ".join(f"{x.field}: {x.code}: {x.message}" for x in problems)[:1000],
                }
            else:
                # model: ResourceSnapshotJobId, EngagementId, EngagementInvitationId "Only populated if
                # TaskStatus is COMPLETE": the engagement, invitation and snapshot job the task made, which are then
                # readable (_engagement_ops.engage_opportunity)
                task["_final"] = {"TaskStatus": "COMPLETE", **self.engage_opportunity(catalog, identifier)}  # type: ignore[attr-defined]
            tasks[task_id] = task
        return self._task_view(task)

    def _task_view(self, task: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in task.items() if not k.startswith("_")}
        if time.monotonic() >= task["_done_at"]:
            out.update(task["_final"])
        else:
            out["TaskStatus"] = "IN_PROGRESS"
        return out

    def _ListEngagementFromOpportunityTasks(self, p: dict[str, Any]) -> dict[str, Any]:
        # ListEngagementFromOpportunityTasks page: "Lists all in-progress, completed, or failed
        # EngagementFromOpportunity tasks that were initiated by the caller's account", filtered by
        # TaskIdentifier, OpportunityIdentifier, EngagementIdentifier and TaskStatus.
        rows = [self._task_view(t) for t in self._tasks().values() if t["_catalog"] == p["Catalog"]]
        for member, key in (
            ("TaskIdentifier", "TaskId"),
            ("OpportunityIdentifier", "OpportunityId"),
            ("EngagementIdentifier", "EngagementId"),
            ("TaskStatus", "TaskStatus"),
        ):
            if p.get(member):
                rows = [r for r in rows if r.get(key) in p[member]]
        sort = p.get("Sort") or {"SortBy": "StartTime", "SortOrder": "DESCENDING"}
        rows.sort(key=lambda r: (r["StartTime"], r["TaskId"]), reverse=sort["SortOrder"] == "DESCENDING")
        start = int(p["NextToken"]) if str(p.get("NextToken") or "").isdecimal() else 0
        limit = p.get("MaxResults") or 20
        out: dict[str, Any] = {"TaskSummaries": rows[start : start + limit]}
        if start + limit < len(rows):
            out["NextToken"] = str(start + limit)
        return out

    def _SubmitOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        # SubmitOpportunity page: "submit an Opportunity that was previously created by partner for AWS review.
        # After you perform this action, the Opportunity becomes non-editable until it is reviewed by AWS". What
        # the task would fail on, this synchronous call refuses (its errors include ValidationException).
        with self._write_lock:
            problems = self._submit(p["Catalog"], p["Identifier"], p.get("InvolvementType"))
        if problems:
            raise ServiceError(
                "ValidationException",
                f"{len(problems)} field(s) failed validation",
                Reason="BUSINESS_VALIDATION_FAILED",
                ErrorList=[{"FieldName": x.field, "Message": x.message, "Code": x.code} for x in problems],
            )
        return {}

    # -- assignment --------------------------------------------------------------------------------
    def _AssignOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        # AssignOpportunity page: "reassign an existing Opportunity to another user within your Partner Central
        # account"; "By default, the opportunity owner is the one who creates it". The model's
        # AssigneeContact.BusinessTitle: "Use the value PartnerAccountManager to update details of the
        # opportunity owner": the owner is the team member of that title, and the assignee takes their place
        # (as given: the sandbox has no user directory to look the names up in, and "there's no API to enumerate
        # the list of available users").
        with self._write_lock:
            rec = self._load(p["Catalog"], p["Identifier"])
            team = [dict(m) for m in rec.get("OpportunityTeam") or []]
            owner = next((i for i, m in enumerate(team) if m.get("BusinessTitle") == OWNER_TITLE), None)
            assignee = dict(p["Assignee"])
            if owner is None:
                team.insert(0, assignee)
            else:
                team[owner] = assignee
            rec["OpportunityTeam"] = team  # not a member UpdateOpportunity takes: its token is left as it is
            self.store.put(rec)
        return {}


#: model, AssigneeContact.BusinessTitle: "Use the value PartnerAccountManager to update details of the
#: opportunity owner".
OWNER_TITLE = "PartnerAccountManager"


def _after(previous: datetime) -> datetime:
    """Return a LastModifiedDate after ``previous``, in milliseconds as the service gives it."""
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if now <= previous:
        now = previous + timedelta(milliseconds=1)
    return now
