"""The sandbox's Partner Central Selling semantics, one method per operation.

Each rule cites the AWS text it comes from. "UpdateOpportunity page" is boto3's reference,
https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/partnercentral-selling/client/update_opportunity.html;
"model" is botocore's service model; "quotas" is the AWS Partner Central developer guide's quota
page (see :mod:`opptoolkit.quotas`). The code
never branches on anything the real API would not see: only the request decides what happens.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.validate import ParamValidator

from .. import fields as P
from ..exceptions import Problem
from ..frame import payload_from_record
from ..quotas import (
    DAILY_READS,
    DAILY_WRITES,
    OWN_RATES,
    READ,
    WRITE,
    TokenBucket,
    quota_of,
    rates,
)
from ..rules import (
    ACTION_REQUIRED,
    APPROVED,
    APPROVED_LOCKED,
    PENDING_SUBMISSION,
    READ_ONLY,
    RELATED,
    SUBMITTED,
    business_problems,
    model_problems,
    stored_target_company,
)
from ..schema import ID, IDENTIFIER, get_schema, service_model, shape_value
from ..wire import encode_text, input_shape, map_text, output_shape, project
from ._answers import OPPORTUNITY_OWNER, answer_json, as_answered_record
from ._engagement_ops import EngagementOpsMixin
from ._engagements import EngagementsMixin
from ._errors import ServiceError, request_digest, validation_error
from ._partner import PartnerOperations
from ._settings import SettingsMixin
from ._snapshots import SnapshotsMixin
from ._store import Store, ts_key

if TYPE_CHECKING:
    from ._events import EventPublisher

# Testing in a sandbox (https://docs.aws.amazon.com/partner-central/latest/APIReference/testing-sandbox.html):
# "when it's set to Sandbox, it references sandbox data".
SANDBOX = "Sandbox"


# AWS's review, as the developer guide's "Working with your opportunities" describes it
# (https://docs.aws.amazon.com/partner-central/latest/developer-guide/working-with-your-opportunities.html,
# "Review process", paraphrased): a submitted opportunity is Submitted and cannot be changed until
# the review ends; while AWS validates it, it is In-Review; AWS sets Action Required and says what
# to update in Lifecycle.ReviewComments; a validated one becomes Approved. The model's ReviewStatus
# text: Action Required "re-enters the validation phase" after updates, "until all issues are
# resolved, and the opportunity's Lifecycle.ReviewStatus is set to Approved or Rejected". AWS
# reviews only what was submitted, so a decision applies to a record that is Submitted or In review.
_IN_REVIEW = shape_value("ReviewStatus", "In review")
UNDER_REVIEW = (SUBMITTED, _IN_REVIEW)
REVIEW_DECISIONS = (_IN_REVIEW, APPROVED, ACTION_REQUIRED, shape_value("ReviewStatus", "Rejected"))
#: The members AWS's reviewer writes (model: ReviewStatusReason "Applies when status is Rejected
#: or Action Required"; ReviewComments "detailed feedback from Amazon Web Services").
REVIEW_MEMBERS = tuple(path.split(".", 1)[1] for path in (P.REVIEW_STATUS, P.REVIEW_STATUS_REASON, P.REVIEW_COMMENTS))


@dataclass
class SandboxConfig:
    """Quotas and faults of a sandbox.

    The defaults are the documented quotas (quotas): reads 10 requests/s and 100,000 per rolling 24 h;
    writes 1 request/s and 10,000 per 24 h; the operations with a rate of their own (CreateEngagement 15
    requests/s, ...) at theirs; each operation on the bucket :func:`opptoolkit.quotas.quota_of` names. Tests
    raise them; so do the environment's ``OPPTOOLKIT_READS_PER_SECOND`` and ``OPPTOOLKIT_WRITES_PER_SECOND``
    (:func:`opptoolkit.quotas.rates`: the rates a client paces at too), for the rates and bursts not given.

    Attributes
    ----------
    read_rate, write_rate : float
        Sustained requests per second (token bucket refill).
    read_burst, write_burst : float
        Bucket size (requests that may go at once).
    daily_reads, daily_writes : int
        Requests per rolling 24 hours.
    own_rate : float, optional
        Requests per second of each operation with a rate of its own (:data:`opptoolkit.quotas.OWN_RATES`);
        None: the quotas page's.
    fault_rate : float
        Probability that a request fails with InternalServerException before doing anything.
    fault_after_commit_rate : float
        Probability that a write is applied but answered with InternalServerException (the
        client cannot tell; the case a resumable push must reconcile).
    latency : float
        Seconds added to every request.
    fault_operations : set of str, optional
        Operations the faults apply to (default: all).
    seed : int
        Seed of the fault generator (repeatable runs).
    account_id, region : str
        Used in ARNs.
    task_seconds : float
        Seconds an asynchronous task (StartEngagementByAcceptingInvitationTask,
        StartOpportunityFromEngagementTask) answers IN_PROGRESS before its outcome shows. AWS's Sandbox
        catalog was recorded answering COMPLETE at once (0, the default); the tasks are asynchronous
        (StartEngagementByAcceptingInvitationTask page), so a client must poll: raise it to test that it does.
    snapshot_job_role : str or None
        The IAM role (name or ARN) GetSellingSystemSettings answers until PutSellingSystemSettings sets
        another; None: no role, and resource snapshot jobs fail ("Without the role, engagement partners
        won't see your updates", working-with-multi-partner-opportunities page).
    """

    read_rate: float = field(default_factory=lambda: rates()[0])
    write_rate: float = field(default_factory=lambda: rates()[1])
    read_burst: float = field(default_factory=lambda: rates()[0])
    write_burst: float = field(default_factory=lambda: rates()[1])
    daily_reads: int = DAILY_READS
    daily_writes: int = DAILY_WRITES
    own_rate: float | None = None
    fault_rate: float = 0.0
    fault_after_commit_rate: float = 0.0
    latency: float = 0.0
    fault_operations: frozenset[str] | None = None
    seed: int = 0
    account_id: str = "123456789012"
    region: str = "us-east-1"
    task_seconds: float = 0.0
    snapshot_job_role: str | None = "ResourceSnapshotJobRole"

    @classmethod
    def fast(cls, **overrides: Any) -> SandboxConfig:
        """Quotas high enough that tests never wait (1,000 reads and writes per second)."""
        base: dict[str, Any] = dict(
            read_rate=1000.0,
            write_rate=1000.0,
            read_burst=1000.0,
            write_burst=1000.0,
            daily_reads=10**9,
            daily_writes=10**9,
            own_rate=1000.0,
        )
        base.update(overrides)
        return cls(**base)


_ORIGIN_PARTNER = shape_value("OpportunityOrigin", "Partner Referral")


def _now_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class SellingService(EngagementsMixin, PartnerOperations, EngagementOpsMixin, SnapshotsMixin, SettingsMixin):
    """Partner Central Selling operations over a :class:`Store`."""

    def __init__(self, store: Store, config: SandboxConfig | None = None) -> None:
        self.store = store
        self.config = config or SandboxConfig()
        self.reads = TokenBucket(self.config.read_rate, self.config.read_burst, self.config.daily_reads)
        self.writes = TokenBucket(self.config.write_rate, self.config.write_burst, self.config.daily_writes)
        own = {op: self.config.own_rate or rate for op, rate in OWN_RATES.items()}
        self.buckets = {READ: self.reads, WRITE: self.writes, **{op: TokenBucket(r, r) for op, r in own.items()}}
        self.rng = random.Random(self.config.seed)
        self.validator = ParamValidator()
        self.calls: dict[str, int] = {}
        self.throttled = 0
        self.applied: dict[str, int] = {}  # successful UpdateOpportunity calls per Id
        self.events: EventPublisher | None = None  # the optional EventBridge events (sandbox/_events.py)
        self._write_lock = threading.Lock()

    # -- dispatch --------------------------------------------------------------------------------
    def handle(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation not in OPERATIONS:
            raise ServiceError("UnknownOperationException", f"operation {operation} is not implemented by the sandbox")
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if self.config.latency:
            time.sleep(self.config.latency)
        # quotas: each operation draws on the bucket of its quota (the page's reads, writes, or its own rate)
        why = self.buckets[quota_of(operation)].take()
        if why:
            self.throttled += 1
            raise ServiceError("ThrottlingException", f"Rate exceeded: {why}")
        faulty = self.config.fault_operations is None or operation in self.config.fault_operations
        if faulty and self.config.fault_rate and self.rng.random() < self.config.fault_rate:
            raise ServiceError("InternalServerException", "injected fault (before the request was processed)")
        # model: botocore checks types and required members client-side; a real service does too
        report = self.validator.validate(params, input_shape(operation))
        if report.has_errors():
            raise ServiceError(
                "ValidationException", report.generate_report(), Reason="REQUEST_VALIDATION_FAILED", ErrorList=[]
            )
        # model: enums, patterns, bounds (botocore checks none of these client-side); a value the stored record
        # holds outside the model's enum is AWS's own and comes back in every update (rules.model_problems)
        stored = self.store.get(params["Catalog"], params[IDENTIFIER]) if operation == "UpdateOpportunity" else None
        problems = model_problems(params, operation, stored=stored)
        if problems:
            raise validation_error(problems, "REQUEST_VALIDATION_FAILED")
        result: dict[str, Any] = getattr(self, f"_{operation}")(params)
        if self.events is not None:
            self.events.after(operation, params, result)
        if faulty and quota_of(operation) != READ and self.rng.random() < self.config.fault_after_commit_rate:
            raise ServiceError("InternalServerException", "injected fault (after the write was applied)")
        return result

    # -- helpers ---------------------------------------------------------------------------------
    def _load(self, catalog: str, identifier: str) -> dict[str, Any]:
        rec = self.store.get(catalog, identifier)
        if rec is None:
            raise ServiceError("ResourceNotFoundException", f"Opportunity {identifier} not found in catalog {catalog}")
        return rec

    @staticmethod
    def _next_stamp(previous: datetime | None) -> datetime:
        now = _now_ms()
        if previous is not None and now <= previous:
            now = previous + timedelta(milliseconds=1)
        return now

    def _apply(self, stored: dict[str, Any] | None, body: dict[str, Any], stamp: datetime) -> dict[str, Any]:
        """Return the record after a full replace by ``body`` (an Update/Create payload)."""
        schema = get_schema()
        new: dict[str, Any] = {
            k: v for k, v in body.items() if k in schema.get_shape.members and k != "LastModifiedDate"
        }
        if stored is not None:
            # model: members GetOpportunity returns but UpdateOpportunity does not take are the
            # server's (Id, Arn, CreatedDate, RelatedEntityIdentifiers, OpportunityTeam).
            for k, v in stored.items():
                if k not in schema.update_shape.members:
                    new[k] = v
        old_lc = (stored or {}).get("LifeCycle", {})
        new_lc = _with_read_only(new.get("LifeCycle", {}), old_lc)
        _record_next_steps(new_lc, old_lc.get("NextSteps"), stamp)
        if new_lc:
            new["LifeCycle"] = new_lc
        # model, ExpectedCustomerSpend.TargetCompany: without ExpectedContractDuration "any other
        # value will be automatically set to AWS" (with it, AWS and Self are kept; others refused).
        project = new.get("Project", {})
        for spend in project.get("ExpectedCustomerSpend", []):
            spend["TargetCompany"] = stored_target_company(project, spend.get("TargetCompany"))
        new["LastModifiedDate"] = stamp
        return new

    # -- operations ------------------------------------------------------------------------------
    def _GetOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        # The store keeps what was sent; free text is encoded on the way out only, as the service
        # answers (see wire.encode_text: colons, never "&").
        return as_answered_record(map_text(self._load(p["Catalog"], p[IDENTIFIER]), encode_text))

    def answer(self, operation: str, result: dict[str, Any]) -> dict[str, Any]:
        """Return the JSON body the service answers ``operation`` with: every member, null when unset."""
        return answer_json(operation, result)

    def _UpdateOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        catalog, identifier = p["Catalog"], p[IDENTIFIER]
        with self._write_lock:
            stored = self._load(catalog, identifier)
            # model: LastModifiedDate is required; it is the concurrency token ("The update succeeds only
            # if LastModifiedDate matches our system", https://docs.aws.amazon.com/partner-central/latest/developer-guide/best-practices.html).
            if p["LastModifiedDate"] != stored["LastModifiedDate"]:
                raise ServiceError(
                    "ConflictException",
                    f"Opportunity {identifier} was modified at {stored['LastModifiedDate'].isoformat()}; "
                    f"the request's LastModifiedDate is {p['LastModifiedDate'].isoformat()}. Get it again.",
                )
            decision = _review_decision(catalog, p.get("LifeCycle", {}), stored.get("LifeCycle", {}))
            stamp = self._next_stamp(stored["LastModifiedDate"])
            if decision is not None:
                # AWS's Sandbox applies the simulated decision alone: the rest of the request is not the record's
                # (samples' Postman collection, "Working with Multipartner Opportunities": the "[Simulate] Approval"
                # sent another record's company, title and stage Qualified; "Inviting Partner - GetOpportunity check
                # status" shows Approved with the record's own company, title and stage Prospect).
                lc = stored.setdefault("LifeCycle", {})
                for name in REVIEW_MEMBERS:
                    lc.pop(name, None)
                lc.update(decision)
                stored["LastModifiedDate"] = stamp
                self.store.put(stored)
                self.applied[identifier] = self.applied.get(identifier, 0) + 1
                return {ID: identifier, "LastModifiedDate": stamp}
            base = payload_from_record(stored)
            body = _keep_locked(dict(p), base)
            # RelatedEntityIdentifiers: the stored associations (Committed/Launched need a solution)
            related = stored.get("RelatedEntityIdentifiers") or {}
            problems = business_problems(_without_read_only(body, base), base=base, related=related)
            if problems:
                raise validation_error(problems, "BUSINESS_VALIDATION_FAILED")
            new = self._apply(stored, body, stamp)
            # UpdateOpportunity page, ReviewStatus Action Required: "After updates, the opportunity re-enters the
            # validation phase."
            if stored.get("LifeCycle", {}).get("ReviewStatus") == ACTION_REQUIRED:
                new["LifeCycle"]["ReviewStatus"] = SUBMITTED
            self.store.put(new)
            self.applied[identifier] = self.applied.get(identifier, 0) + 1
        return {ID: identifier, "LastModifiedDate": stamp}

    def _CreateOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        catalog = p["Catalog"]
        problems = business_problems(p, related={})  # a new record has no associations yet
        # model, Origin: "For all opportunities created with Catalog: AWS, this field must only be Partner Referral";
        # AWS Referral simulates a referral in the Sandbox catalog only
        if catalog != SANDBOX and p.get("Origin", _ORIGIN_PARTNER) != _ORIGIN_PARTNER:
            msg = f"Origin must be {_ORIGIN_PARTNER!r} in catalog {catalog}"
            problems.append(Problem(None, "Origin", "INVALID_VALUE", msg))
        if problems:
            raise validation_error(problems, "BUSINESS_VALIDATION_FAILED")
        with self._write_lock:
            # model, ClientToken: "Required to be unique, and should be unchanging, it can be
            # randomly generated or a meaningful string. [...] If you use the same client token, the API
            # returns the following error: "Conflicting client token submitted for a new request body."" So a
            # repeated request (same token, same body: a retry) answers with the opportunity it created, and
            # the same token with another body is refused with that message. The model does not name the
            # exception; ConflictException is the operation's error for a request that conflicts with state.
            body = request_digest(p)
            found = self.store.token(catalog, p["ClientToken"])
            if found:
                existing, stored_body = found
                if stored_body is not None and stored_body != body:
                    raise ServiceError(
                        "ConflictException", "Conflicting client token submitted for a new request body."
                    )
                rec = self._load(catalog, existing)
                return {
                    ID: existing,
                    "PartnerOpportunityIdentifier": rec.get("PartnerOpportunityIdentifier"),
                    "LastModifiedDate": rec["LastModifiedDate"],
                }
            identifier = f"O{self.rng.randrange(10**9, 10**10)}"
            while self.store.get(catalog, identifier) is not None:
                identifier = f"O{self.rng.randrange(10**9, 10**10)}"
            stamp = self._next_stamp(None)
            rec = self._apply(None, p, stamp)
            rec.update(
                {
                    ID: identifier,
                    "Arn": f"arn:aws:partnercentral:{self.config.region}:{self.config.account_id}:catalog/{catalog}/opportunity/{identifier}",
                    "CreatedDate": stamp,
                    RELATED: {},
                    # samples' Postman collection, "Inviting Partner - GetOpportunity": the creating user is the
                    # OpportunityOwner, before the team the request sent (Opportunity-Fields.csv, Opportunity Owner:
                    # "Defaults to the email address of the Alliance Lead if no value is provided")
                    "OpportunityTeam": [dict(OPPORTUNITY_OWNER), *p.get("OpportunityTeam", [])],
                }
            )
            # Opportunity-Fields.csv, NationalSecurity: "If partner does not send a value for this field, the field
            # is automatically set to No"; the recorded answers always carry Marketing, Source "None" when unset.
            rec.setdefault("NationalSecurity", "No")
            rec.setdefault("Marketing", {"Source": "None"})
            if not rec.get("SoftwareRevenue"):
                rec.pop("SoftwareRevenue", None)  # sent as {}, answered null ("Inviting Partner - GetOpportunity")
            lc = rec.setdefault("LifeCycle", {})
            lc.pop("NextStepsHistory", None)  # the recorded Get after a create with NextSteps has none
            # UpdateOpportunity page: "Pending Submission: Not submitted for validation"
            lc["ReviewStatus"] = PENDING_SUBMISSION
            self.store.put(rec)
            self.store.save_token(catalog, p["ClientToken"], identifier, body)
        out = {ID: identifier, "LastModifiedDate": stamp}
        if rec.get("PartnerOpportunityIdentifier"):
            out["PartnerOpportunityIdentifier"] = rec["PartnerOpportunityIdentifier"]
        return out

    # model, OpportunitySortName and ListOpportunities filters; the service's default order is
    # not documented: the sandbox lists newest-modified first.
    _SORT_COLUMNS: ClassVar[dict[str, str]] = {
        "LastModifiedDate": "last_modified",
        "Identifier": "id",
        "CustomerCompanyName": "company",
        "CreatedDate": "created",
        "TargetCloseDate": "target_close",
    }

    def _ListOpportunities(self, p: dict[str, Any]) -> dict[str, Any]:
        where, params = ["catalog = ?"], [p["Catalog"]]

        def any_of(column: str, values: list[str] | None) -> None:
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params.extend(values)

        any_of("id", p.get("Identifier"))
        any_of("stage", p.get("LifeCycleStage"))
        any_of("review_status", p.get("LifeCycleReviewStatus"))
        any_of("company", p.get("CustomerCompanyName"))
        for member, column in (("LastModifiedDate", "last_modified"), ("CreatedDate", "created")):
            rng = p.get(member) or {}
            if rng.get(f"After{member}"):
                where.append(f"{column} > ?")
                params.append(ts_key(rng[f"After{member}"]))
            if rng.get(f"Before{member}"):
                where.append(f"{column} < ?")
                params.append(ts_key(rng[f"Before{member}"]))
        tcd = p.get("TargetCloseDate") or {}
        if tcd.get("AfterTargetCloseDate"):
            where.append("target_close > ?")
            params.append(tcd["AfterTargetCloseDate"])
        if tcd.get("BeforeTargetCloseDate"):
            where.append("target_close < ?")
            params.append(tcd["BeforeTargetCloseDate"])
        sort = p.get("Sort") or {"SortBy": "LastModifiedDate", "SortOrder": "DESCENDING"}
        column = self._SORT_COLUMNS[sort["SortBy"]]
        desc = sort["SortOrder"] == "DESCENDING"
        key = f"coalesce({column}, '')"
        if p.get("NextToken"):
            try:
                last_key, last_id = json.loads(base64.urlsafe_b64decode(p["NextToken"]))
                if not isinstance(last_key, str) or not isinstance(last_id, str):  # not a token this code made
                    raise ValueError(p["NextToken"])
            except (ValueError, TypeError):
                raise ServiceError(
                    "ValidationException",
                    "invalid NextToken",
                    Reason="REQUEST_VALIDATION_FAILED",
                    ErrorList=[{"FieldName": "NextToken", "Message": "invalid", "Code": "INVALID_VALUE"}],
                ) from None
            op = "<" if desc else ">"
            where.append(f"({key} {op} ? OR ({key} = ? AND id {op} ?))")
            params += [last_key, last_key, last_id]
        limit = p.get("MaxResults") or 20
        order = f"{key} {'DESC' if desc else 'ASC'}, id {'DESC' if desc else 'ASC'}"
        rows = self.store.query(" AND ".join(where), params, order, limit + 1)
        summary_shape = output_shape("ListOpportunities").members["OpportunitySummaries"].member  # type: ignore[attr-defined]
        out: dict[str, Any] = {
            "OpportunitySummaries": [project(map_text(r, encode_text), summary_shape) for r in rows[:limit]]
        }
        if len(rows) > limit:
            last = rows[limit - 1]
            value = _sort_value(last, sort["SortBy"])
            out["NextToken"] = base64.urlsafe_b64encode(json.dumps([value, last[ID]]).encode()).decode()
        return out

    # -- out of band -----------------------------------------------------------------------------
    def review(
        self,
        catalog: str,
        identifier: str,
        status: str,
        *,
        reason: str | None = None,
        comments: str | None = None,
    ) -> dict[str, Any]:
        """Play AWS's review of a submitted opportunity.

        The UpdateOpportunity a client of the ``Sandbox`` catalog sends to simulate it (latest record,
        ``LifeCycle.ReviewStatus`` and the reviewer's reason and comments set), through the same code path,
        without quota or faults. Returns the stored record; raises :class:`ServiceError` as the API would.
        """
        if catalog != SANDBOX:
            raise ValueError(f"review simulation exists only in the {SANDBOX} catalog (use edit() for {catalog})")
        stored = self._load(catalog, identifier)
        current = stored.get("LifeCycle", {}).get("ReviewStatus")
        if current not in UNDER_REVIEW:
            # over HTTP the member is ignored on such a record (see _review_decision); the helper says so instead
            under = " or ".join(repr(s) for s in UNDER_REVIEW)
            message = f"cannot become {status!r}: AWS reviews a record that is {under}, this one is {current!r}"
            if current == ACTION_REQUIRED:
                message += " (update it first: it then re-enters validation as 'Submitted')"
            problem = Problem(None, P.REVIEW_STATUS, "INVALID_RESOURCE_STATE", message)
            raise validation_error([problem], "BUSINESS_VALIDATION_FAILED")
        payload = payload_from_record(stored)
        lc = payload.setdefault("LifeCycle", {})
        for name, value in zip(REVIEW_MEMBERS, (status, reason, comments), strict=True):
            lc.pop(name, None)
            if value is not None:
                lc[name] = value
        self._UpdateOpportunity(payload)
        return self._load(catalog, identifier)

    def edit(self, catalog: str, identifier: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Change a stored record as another user would (no quota, no validation); returns it."""
        with self._write_lock:
            stored = self._load(catalog, identifier)
            before = payload_from_record(stored)
            change(stored)
            stamp = self._next_stamp(stored["LastModifiedDate"])
            if "LifeCycle" in stored:
                _record_next_steps(stored["LifeCycle"], before.get("LifeCycle", {}).get("NextSteps"), stamp)
            stored["LastModifiedDate"] = stamp
            self.store.put(stored)
            if self.events is not None:
                self.events.opportunity("Opportunity Updated", catalog, identifier)
            return stored


#: The operations the sandbox serves: the service model's operations it has a method for
#: (``_<OperationName>``); a request for any other is refused as the service refuses an unknown one.
OPERATIONS = frozenset(op for op in service_model().operation_names if hasattr(SellingService, f"_{op}"))


def _sort_value(record: dict[str, Any], sort_by: str) -> str:
    if sort_by == "Identifier":
        return str(record[ID])
    if sort_by == "CustomerCompanyName":
        return str(record.get("Customer", {}).get("Account", {}).get("CompanyName") or "")
    if sort_by == "TargetCloseDate":
        return str(record.get("LifeCycle", {}).get("TargetCloseDate") or "")
    return ts_key(record[sort_by])


def _review_decision(catalog: str, lc: dict[str, Any], stored_lc: dict[str, Any]) -> dict[str, Any] | None:
    """Return the review members an UpdateOpportunity sets when it simulates AWS's review.

    None when it does not (the members are then read-only, see :func:`_with_read_only`).

    Only in the ``Sandbox`` catalog, a request whose ``LifeCycle.ReviewStatus`` differs from the
    stored one is AWS's review decision: AWS's samples simulate approval, Action Required and
    rejection exactly so, with a Get, ``LifeCycle.ReviewStatus`` (and ``ReviewStatusReason``)
    set, and an Update of the whole record (aws-samples/partner-crm-integration-samples,
    partner-central-api-sample-codes/python_preview/sampleUI/simulate_approval_api.py and
    simulate_action_required_api.py,
    privateOfferAutomationAndOpportunityAssociation/3_createOpportunity/aws_simulate_approval_update_opportunity.py,
    opportunityManagement/src/components/SimulateReview.js). On a record that is not under review the member is
    read-only and ignored: AWS answered 200 to ReviewStatus "Action Required" sent to Approved records, applied
    the rest and left them Approved (samples' Postman collection, "Demo Accept AWS-originated Opportunities /
    UpdateOpportunity" then "GetOpportunity Check Stage"; "Managing a multipartner opportunity / Partner 1 -
    UpdateOpportunity"). On a record under review, a status the review does not decide is refused, never
    ignored (the review simulation is never a silent no-op).
    """
    requested, current = lc.get("ReviewStatus"), stored_lc.get("ReviewStatus")
    if catalog != SANDBOX or requested is None or requested == current or current not in UNDER_REVIEW:
        return None
    if requested not in REVIEW_DECISIONS:
        message = (
            f"cannot become {requested!r} from {current!r}: a review decides {', '.join(map(repr, REVIEW_DECISIONS))}"
        )
        raise validation_error(
            [Problem(None, P.REVIEW_STATUS, "ACTION_NOT_PERMITTED", message)], "BUSINESS_VALIDATION_FAILED"
        )
    return {name: lc[name] for name in REVIEW_MEMBERS if lc.get(name) is not None}


def _keep_locked(body: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the fields an Approved record keeps (:data:`~opptoolkit.rules.APPROVED_LOCKED`) as stored.

    The developer guide says they "cannot be updated" after approval; AWS answered 200 to an update of an Approved
    record that sent another country, postal code, website, business problem and title, and kept its own
    (samples' Postman collection, "Demo Accept AWS-originated Opportunities": UpdateOpportunity, then "GetOpportunity
    Check Stage"). So they are not refused: the stored values stay.
    """
    if (base.get("LifeCycle") or {}).get("ReviewStatus") != APPROVED:
        return body
    out = copy.deepcopy(body)
    for path in APPROVED_LOCKED:
        *parents, leaf = path.split(".")
        src: Any = base
        dst: Any = out
        for name in parents:
            src = (src or {}).get(name)
            dst = dst.setdefault(name, {}) if isinstance(dst, dict) else None
        if not isinstance(dst, dict):
            continue
        value = (src or {}).get(leaf) if isinstance(src, dict) else None
        if value is None:
            dst.pop(leaf, None)
        else:
            dst[leaf] = value
    return out


def _with_read_only(lc: dict[str, Any], stored_lc: dict[str, Any]) -> dict[str, Any]:
    """``lc`` with the read-only LifeCycle members taken from the stored record.

    Seed page, LifeCycle: ReviewStatus "is read-only"; NextStepsHistory "Read-only"; ReviewComments and
    ReviewStatusReason are AWS's feedback. They are ignored in a request, not refused: a faithful "Get,
    change, Update" sends them back unchanged.
    """
    out = dict(lc)
    for path in READ_ONLY:
        name = path.split(".", 1)[1]
        out.pop(name, None)
        if name in stored_lc:
            out[name] = stored_lc[name]
    return out


def _record_next_steps(lc: dict[str, Any], previous: str | None, stamp: datetime) -> None:
    """Add an entry to ``NextStepsHistory`` when ``NextSteps`` changed.

    Seed page, LifeCycle.NextStepsHistory: "shows the last 50 values and change dates for the NextSteps
    field".
    """
    if lc.get("NextSteps") and lc["NextSteps"] != previous:
        history = [*lc.get("NextStepsHistory", []), {"Value": lc["NextSteps"], "Time": stamp}]
        lc["NextStepsHistory"] = history[-50:]


def _without_read_only(body: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the read-only LifeCycle members replaced by the stored ones."""
    lc = _with_read_only(body.get("LifeCycle", {}), base.get("LifeCycle", {}))
    return {**body, "LifeCycle": lc} if lc else dict(body)
