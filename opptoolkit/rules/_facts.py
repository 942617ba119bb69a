"""The facts every rule names: documented values checked against the model, and payload helpers."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .. import fields as P
from .._values import did_you_mean, is_blank, spelling_key
from ..exceptions import OpptoolkitError
from ..schema import ID, Schema, get_schema, model_lacks, service_model
from ..wire import input_shape


def join_path(*parts: str) -> str:
    return ".".join(parts)


def model_value(path: str, value: str, schema: Schema | None = None) -> str:
    """Return a documented enum value, checked against the model (fails loudly if the model drops it).

    :func:`opptoolkit.schema.shape_value` by a field path: the same :func:`opptoolkit.schema.model_lacks` error.
    """
    f = (schema or get_schema())[path]
    if value not in f.enum:
        raise model_lacks(f"{value!r} in {path} (its values: {', '.join(f.enum)})")
    return value


# -- documented rules (values checked against the model at import) --------------------------------
# "UpdateOpportunity page" below is boto3's reference for the operation:
# https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/partnercentral-selling/client/update_opportunity.html

YES = model_value(P.NATIONAL_SECURITY, "Yes")
NO = model_value(P.FUNDING, "No")
GOVERNMENT = model_value(P.INDUSTRY, "Government")
OTHER_INDUSTRY = model_value(P.INDUSTRY, "Other")
OTHER_COMPETITOR = model_value(P.COMPETITOR, "*Other")
CLOSED_LOST = model_value(P.STAGE, "Closed Lost")
# UpdateOpportunity page, LifeCycle.Stage: "Launched: The workload is complete, and AWS has started billing" --
# with Closed Lost, the stages where an opportunity is no longer open.
LAUNCHED = model_value(P.STAGE, "Launched")
CLOSED_STAGES = frozenset({LAUNCHED, CLOSED_LOST})
# UpdateOpportunity page, LifeCycle.ReviewStatus: "Submitted ... (read-only)", "In Review ... (read-only)",
# "Rejected: Disqualified (read-only)".
LOCKED_STATUSES = frozenset(model_value(P.REVIEW_STATUS, s) for s in ("Submitted", "In review", "Rejected"))
ACTION_REQUIRED = model_value(P.REVIEW_STATUS, "Action Required")
# UpdateOpportunity page, Action Required: "After updates, the opportunity re-enters the validation phase."
SUBMITTED = model_value(P.REVIEW_STATUS, "Submitted")
PENDING_SUBMISSION = model_value(P.REVIEW_STATUS, "Pending Submission")
# UpdateOpportunity page: "Pending Submission: ... (editable)", "Approved: ... (editable)".
APPROVED = model_value(P.REVIEW_STATUS, "Approved")
EDITABLE_STATUSES = frozenset({PENDING_SUBMISSION, APPROVED})
# UpdateOpportunity page: "Only the following fields are editable when the Lifecycle.ReviewStatus
# is Action Required"; its Project.ExpectedMonthlyAWSRevenue is the model's
# Project.ExpectedCustomerSpend, as the developer guide's "Working with opportunity updates" lists it:
# https://docs.aws.amazon.com/partner-central/latest/developer-guide/working-with-opportunity-updates.html
ACTION_REQUIRED_EDITABLE = (
    *(
        join_path(P.ACCOUNT, "Address", m)
        for m in ("City", "CountryCode", "PostalCode", "StateOrRegion", "StreetAddress")
    ),
    P.WEBSITE,
    P.TARGET_CLOSE,
    *(f"{P.SPEND}[].{m}" for m in ("Amount", "CurrencyCode", "EstimationUrl", "Frequency", "TargetCompany")),
    join_path("Project", "CustomerBusinessProblem"),
    "PartnerOpportunityIdentifier",
)
# UpdateOpportunity page, LifeCycle: ReviewStatus "is read-only"; NextStepsHistory "Read-only"; ReviewComments
# and ReviewStatusReason are AWS's review feedback.
READ_ONLY = (P.REVIEW_STATUS, P.REVIEW_COMMENTS, P.REVIEW_STATUS_REASON, P.NEXT_STEPS_HISTORY)
# Identifier and Catalog name the record; LastModifiedDate is the concurrency token
# (https://docs.aws.amazon.com/partner-central/latest/developer-guide/best-practices.html, "Implementing
# optimistic locking": "all UpdateOpportunity requests must include the LastModifiedDate parameter ...
# The update succeeds only if LastModifiedDate matches our system"): none of them is an edit.
NOT_EDITS = frozenset({ID, "Catalog", "LastModifiedDate"})
# https://docs.aws.amazon.com/partner-central/latest/selling-api/working-with-opportunity-updates.html
# "After the review process (i.e., when Lifecycle.ReviewStatus is set to Approved), the following
# fields cannot be updated: Customer.Account.Address.Country, Customer.Account.Address.PostalCode,
# Customer.Account.Industry, Customer.Account.WebsiteUrl, Project.CustomerBusinessProblem,
# PartnerOpportunityIdentifier, Project.Title" (the page's Address.Country is the model's CountryCode).
APPROVED_LOCKED = (
    join_path(P.ACCOUNT, "Address", "CountryCode"),
    join_path(P.ACCOUNT, "Address", "PostalCode"),
    P.INDUSTRY,
    P.WEBSITE,
    join_path("Project", "CustomerBusinessProblem"),
    "PartnerOpportunityIdentifier",
    join_path("Project", "Title"),
)
for _p in ACTION_REQUIRED_EDITABLE + APPROVED_LOCKED:
    assert _p in get_schema(), _p


def _documented(path: str, *words: str) -> tuple[str, ...]:
    """Return values a rule takes from a member's documentation, checked against that text.

    It fails loudly when a newer model rewords it, instead of silently keeping a rule AWS dropped.
    """
    doc = get_schema()[path].doc
    for w in words:
        if not re.search(rf"(?<!\w){re.escape(w)}(?!\w)", doc):
            raise AssertionError(f"{w!r} is no longer in the model's documentation of {path}")
    return words


# https://docs.aws.amazon.com/partner-central/latest/developer-guide/associating-disassociating-assigning-opportunities.html
# "To progress the opportunity stage to Committed or Launched, you must associate a valid solution
# or AWS Marketplace product listing with the opportunity." The developer guide's "Working with
# your opportunities" names the kinds: "at least one Partner Solution, AWS Marketplace solution, or
# AWS Marketplace product". Associations are AssociateOpportunity calls; GetOpportunity returns them
# in RelatedEntityIdentifiers, which UpdateOpportunity does not take.
COMMITTED = model_value(P.STAGE, "Committed")
NEEDS_SOLUTION = frozenset({COMMITTED, LAUNCHED})
RELATED = "RelatedEntityIdentifiers"
#: The association column a push edits (AssociateOpportunity / DisassociateOpportunity, each solution a call:
#: https://docs.aws.amazon.com/partner-central/latest/APIReference/API_AssociateOpportunity.html).
ASSOCIATED = f"{RELATED}.Solutions"
#: Every association column a push edits -> the model's RelatedEntityType value it is associated as: each of that
#: enum's values that GetOpportunity answers under RelatedEntityIdentifiers (model, AssociateOpportunity: "You can
#: associate an opportunity with the following entity types"). From the model, so a new kind comes with botocore.
ASSOCIATIONS: dict[str, str] = {
    f"{RELATED}.{kind}": kind
    for kind in service_model().shape_for("RelatedEntityType").enum  # type: ignore[attr-defined]
    if kind in service_model().shape_for(RELATED).members  # type: ignore[attr-defined]
}
assert ASSOCIATED in ASSOCIATIONS, ASSOCIATIONS
#: Where the list of AWS products comes from: the model's text names a file that AWS keeps current on GitHub ("Use
#: the file with the list of Amazon Web Services products hosted on GitHub", RelatedEntityIdentifiers.AwsProducts);
#: the API has no operation that lists them. Read from the model: a newer botocore that moves it moves it here too.
(AWS_PRODUCTS_URL,) = re.findall(
    r'href="([^"]+\.json)"',
    service_model().shape_for(RELATED).members["AwsProducts"].documentation,  # type: ignore[attr-defined]
)
SOLUTION_KINDS = tuple(f"{RELATED}.{k}" for k in ("Solutions", "AwsMarketplaceSolutions", "AwsMarketplaceProducts"))
for _p in SOLUTION_KINDS:
    assert _p in get_schema(), _p
# model, RelatedEntityIdentifiers.Solutions: "when the opportunity reaches the Committed stage or
# beyond, the Other value cannot be used, and a valid solution identifier must be provided."
(OTHER_SOLUTION,) = _documented(SOLUTION_KINDS[0], "Other")

# model, ExpectedCustomerSpend.TargetCompany: "Use AWS for the system's AWS Monthly Recurring Revenue
# (MRR) estimate. Use Self for the partner's own deal value entry ... When ExpectedContractDuration
# is present on the Project, only AWS and Self are accepted. When ExpectedContractDuration is not
# present, only AWS is accepted and any other value will be automatically set to AWS."
SPEND_TARGET = f"{P.SPEND}[].TargetCompany"
SPEND_FREQUENCY = f"{P.SPEND}[].Frequency"
TARGET_COMPANY, SELF = _documented(SPEND_TARGET, "AWS", "Self")
DURATION = join_path("Project", "ExpectedContractDuration")
_documented(SPEND_TARGET, "ExpectedContractDuration")
# model, ExpectedCustomerSpend.Frequency: "Use Monthly for recurring monthly spend (required for
# TargetCompany: "AWS" entries). Use None for one-time deal value entries (required for
# TargetCompany: "Self" entries when providing Total Contract Value)."
MONTHLY = model_value(SPEND_FREQUENCY, "Monthly")
(ONE_TIME,) = _documented(SPEND_FREQUENCY, "None")
FREQUENCY_FOR = {TARGET_COMPANY: MONTHLY, SELF: ONE_TIME}
PARTITION = join_path("Project", "AwsPartition")


#: Patterns of the model that AWS was recorded not enforcing, by operation: a value outside them is accepted.
#: CreateEngagementInvitation with EstimationUrl "www.amazon.com" (the model: ``https://(calculator\.aws|...)``):
#: AWS answered 200 and the invitation carries it (samples' Postman collection, "All API Actions /
#: CreateEngagementInvitation", "Inviting Partner - CreateEngagementInvitation", then "Receiving Partner -
#: GetEngagementInvitation").
UNENFORCED_PATTERNS: dict[str, frozenset[str]] = {
    "CreateEngagementInvitation": frozenset(
        {"Invitation.Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[].EstimationUrl"}
    ),
}


@functools.cache
def accepted_values(path: str) -> tuple[str, ...] | None:
    """Return the subset of an enum that the member's documentation accepts, or None (the whole enum).

    The model documents ``ExpectedCustomerSpend.CurrencyCode`` and ``SoftwareRevenue.Value.CurrencyCode``
    as "Accepted values are USD (US Dollars) and EUR (Euros)" over an enum of 170 currencies.

    >>> accepted_values("Project.ExpectedCustomerSpend[].CurrencyCode")
    ('USD', 'EUR')
    """
    f = get_schema().fields.get(path)
    m = re.search(r"Accepted values are ([^.]*)\.", f.doc) if f is not None and f.enum else None
    if f is None or m is None:
        return None
    words = set(re.findall(r"[\w-]+", m.group(1)))
    return tuple(v for v in f.enum if v in words) or None


@functools.cache
def required_for_partition(path: str) -> tuple[str, str] | None:
    """(partition, value) when the documentation of ``path`` ties its value to an AWS partition.

    "If the AWS Partition is aws-eusc (AWS European Sovereign Cloud), the currency code must be EUR".
    """
    f = get_schema().fields.get(path)
    m = re.search(r"If the AWS Partition is (\S+) .*? must be (\w+)", f.doc) if f is not None else None
    if m is None:
        return None
    assert m.group(1) in get_schema()[PARTITION].enum and m.group(2) in f.enum, m.groups()  # type: ignore[union-attr]
    return m.group(1), m.group(2)


@functools.cache
def documented_values(path: str) -> tuple[str, ...] | None:
    """Return the "Valid values: a | b | ..." list of a member that has no enum, or None.

    Read from the model's documentation (``Project.CustomerUseCase`` has one); None when it has none. A value outside it is a warning, not a refusal: the model itself
    does not restrict it.
    """
    f = get_schema().fields.get(path)
    if f is None or f.enum:
        return None
    m = re.search(r"Valid values: (.*)$", html.unescape(f.doc))
    items = [v.strip().rstrip(".").strip() for v in m.group(1).split(" | ")] if m else []
    return tuple(items) if len(items) >= 3 else None


@functools.cache
def documented_range(path: str) -> tuple[int, int] | None:
    """(lo, hi) of a numeric string documented as "Valid values range from 1 to 144"."""
    f = get_schema().fields.get(path)
    m = re.search(r"Valid values range from (\d+) to (\d+)", f.doc) if f is not None else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def input_value(operation: str, member: str, text: str, what: str) -> str:
    """Return ``text`` as the model spells one value of an operation's input member (an item's, for a list).

    A filter checked before any call is spent on it: spelling aside (``qualified`` is ``Qualified``), a value
    the model does not list is refused with the values it does, and a "did you mean" for a near miss.

    Raises
    ------
    OpptoolkitError
        ``text`` is none of the member's values.

    Examples
    --------
    >>> input_value("ListOpportunities", "LifeCycleStage", "closed lost", "a stage")
    'Closed Lost'
    >>> input_value("ListOpportunities", "LifeCycleStage", "Qualifed", "a stage")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    opptoolkit.exceptions.OpptoolkitError: 'Qualifed' is not a stage: one of Prospect, ...; did you mean 'Qualified'?
    """
    shape: Any = input_shape(operation).members[member]
    allowed: list[str] = list(getattr(shape, "member", shape).enum)
    same = [v for v in allowed if spelling_key(v) == spelling_key(text)]
    if len(same) == 1:
        return same[0]
    hint = did_you_mean(text, allowed)
    raise OpptoolkitError(f"{text!r} is not {what}: one of {', '.join(allowed)}" + (f"; {hint}" if hint else ""))


_SPEND_CURRENCY = f"{P.SPEND}[].CurrencyCode"
assert accepted_values(_SPEND_CURRENCY) and required_for_partition(_SPEND_CURRENCY), "model text changed"
assert documented_values(join_path("Project", "CustomerUseCase")), "model text changed"


# -- helpers --------------------------------------------------------------------------------------


def value_at(payload: Mapping[str, Any], path: str) -> Any:
    cur: Any = payload
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def flatten_payload(payload: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{column: value}`` of a nested payload (lists of structures indexed, lists of scalars kept).

    Parameters
    ----------
    payload : dict
        A nested payload or record.
    prefix : str, default ""
        A path to put before every column (for a sub-structure).

    Returns
    -------
    dict
        ``{column: value}``, columns as :func:`opptoolkit.to_frame` names them.

    Examples
    --------
    >>> flatten_payload({"Customer": {"Contacts": [{"Email": "a@b.co"}]}, "PrimaryNeedsFromAws": ["x"]})
    {'Customer.Contacts[0].Email': 'a@b.co', 'PrimaryNeedsFromAws': ['x']}
    """
    out: dict[str, Any] = {}
    for k, v in payload.items():
        if isinstance(v, Mapping):
            out.update(flatten_payload(v, f"{prefix}{k}."))
        elif isinstance(v, list) and v and isinstance(v[0], Mapping):
            for i, item in enumerate(v):
                out.update(flatten_payload(item, f"{prefix}{k}[{i}]."))
        elif not is_blank(v):
            out[prefix + k] = v
    return out


def changed_columns(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    """Columns whose value differs between two payloads (blank and absent are the same).

    Parameters
    ----------
    old, new : dict
        Two payloads of one record (:func:`opptoolkit.to_payload`).

    Returns
    -------
    set of str
        The columns (``Customer.Contacts[0].Email``) whose values differ.

    Examples
    --------
    >>> changed_columns({"Project": {"Title": "a"}, "LifeCycle": {"NextSteps": ""}}, {"Project": {"Title": "b"}})
    {'Project.Title'}
    """
    a, b = flatten_payload(old), flatten_payload(new)
    return {c for c in a.keys() | b.keys() if a.get(c) != b.get(c)}


#: An AWS Marketplace entity's ARN: ``arn:aws:aws-marketplace:<region>:<account>:AWSMarketplace/<Type>/<id>`` (model,
#: RelatedEntityIdentifiers.AwsMarketplaceOffers: "arn:aws:aws-marketplace:us-east-1:999999999999:AWSMarketplace/
#: Offer/offer-sampleOffer32").
_MARKETPLACE_ARN = re.compile(r"arn:aws:aws-marketplace:[^:]*:[^:]*:AWSMarketplace/[^/]+/(?P<id>[^/]+)")


def association_key(value: str) -> str:
    """Return what identifies an associated entity: an AWS Marketplace ARN's entity id, any other value itself.

    AWS was recorded associating an offer by its ARN and answering its id in RelatedEntityIdentifiers (samples'
    Postman collection, "Other common opportunity actions / Associating an AWS Marketplace offer": #82 ListEntities
    gives the EntityArn, #83 AssociateOpportunity sends it, #84 GetOpportunity answers ``offer-vvk7ddmg2tt2i``): the
    ARN and the id name one association.

    >>> association_key("arn:aws:aws-marketplace:us-east-1:111111111111:AWSMarketplace/Offer/offer-vvk7ddmg2tt2i")
    'offer-vvk7ddmg2tt2i'
    >>> association_key("S-0000001")
    'S-0000001'
    """
    m = _MARKETPLACE_ARN.fullmatch(value.strip())
    return m.group("id") if m else value.strip()


def association_keys(values: Iterable[str] | None) -> set[str]:
    """Return what identifies each of the entities ``values`` (:func:`association_key`); none for None.

    >>> sorted(association_keys(["S-1", " S-1", "arn:aws:aws-marketplace:us-east-1:111111111111:AWSMarketplace/Offer/offer-1"]))
    ['S-1', 'offer-1']
    """
    return {association_key(v) for v in values or ()}


def association_items(value: Any) -> list[str] | None:
    r"""Return an association cell's identifiers: a list, or text of lines or commas; None when the cell is blank.

    >>> association_items("S-0000001\nS-0000002"), association_items(["AmazonRedshift"]), association_items("")
    (['S-0000001', 'S-0000002'], ['AmazonRedshift'], None)
    """
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [v for v in (str(x).strip() for x in value) if v]
    if value is None or is_blank(value):
        return None
    return [v.strip() for v in str(value).replace("\n", ",").split(",") if v.strip()] or None
