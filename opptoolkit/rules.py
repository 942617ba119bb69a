"""Validation of UpdateOpportunity / CreateOpportunity payloads.

The model's constraints and the documented business rules, in the API's own error vocabulary. Shared by the
client (plan, form) and the sandbox server, so both say the same thing about the same payload.

Model constraints (enums, patterns, list bounds, required members) are read from the service
model. Business rules come from the API documentation; each cites its source, and every value
they name is checked against the model when this module loads, so a renamed enum value fails
loudly instead of silently disabling a rule.

Messages never contain the value of a sensitive (PII) field.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from . import fields as P
from ._address import NO_POSTAL_CODE, describe_postal_formats, postal_code_fits
from ._patterns import describe, example, example_date
from ._values import closest, did_you_mean, is_blank, spelling_key
from .exceptions import OpptoolkitError, Problem
from .schema import ID, Schema, compile_pattern, get_schema, is_date_pattern, label_for, length_bounds, template
from .wire import input_shape

__all__ = [
    "business_problems",
    "changed_columns",
    "check_editable",
    "edit_ignored",
    "edit_refusal",
    "editable_fields",
    "flatten_payload",
    "input_value",
    "model_problems",
    "payload_warnings",
    "related_of_row",
    "submission_problems",
    "submission_warnings",
    "validate_payload",
]


def _path(*parts: str) -> str:
    return ".".join(parts)


def _enum(path: str, value: str, schema: Schema | None = None) -> str:
    """Return a documented enum value, checked against the model (fails loudly if the model drops it)."""
    f = (schema or get_schema())[path]
    if value not in f.enum:
        raise AssertionError(f"documented value {value!r} of {path} is not in the service model")
    return value


# -- documented rules (values checked against the model at import) --------------------------------
# "UpdateOpportunity page" below is boto3's reference for the operation:
# https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/partnercentral-selling/client/update_opportunity.html

YES = _enum(P.NATIONAL_SECURITY, "Yes")
NO = _enum(P.FUNDING, "No")
GOVERNMENT = _enum(P.INDUSTRY, "Government")
OTHER_INDUSTRY = _enum(P.INDUSTRY, "Other")
OTHER_COMPETITOR = _enum(P.COMPETITOR, "*Other")
CLOSED_LOST = _enum(P.STAGE, "Closed Lost")
# UpdateOpportunity page, LifeCycle.Stage: "Launched: The workload is complete, and AWS has started billing" --
# with Closed Lost, the stages where an opportunity is no longer open.
LAUNCHED = _enum(P.STAGE, "Launched")
CLOSED_STAGES = frozenset({LAUNCHED, CLOSED_LOST})
# UpdateOpportunity page, LifeCycle.ReviewStatus: "Submitted ... (read-only)", "In Review ... (read-only)",
# "Rejected: Disqualified (read-only)".
LOCKED_STATUSES = frozenset(_enum(P.REVIEW_STATUS, s) for s in ("Submitted", "In review", "Rejected"))
ACTION_REQUIRED = _enum(P.REVIEW_STATUS, "Action Required")
# UpdateOpportunity page, Action Required: "After updates, the opportunity re-enters the validation phase."
SUBMITTED = _enum(P.REVIEW_STATUS, "Submitted")
PENDING_SUBMISSION = _enum(P.REVIEW_STATUS, "Pending Submission")
# UpdateOpportunity page: "Pending Submission: ... (editable)", "Approved: ... (editable)".
APPROVED = _enum(P.REVIEW_STATUS, "Approved")
EDITABLE_STATUSES = frozenset({PENDING_SUBMISSION, APPROVED})
# UpdateOpportunity page: "Only the following fields are editable when the Lifecycle.ReviewStatus
# is Action Required"; its Project.ExpectedMonthlyAWSRevenue is the model's
# Project.ExpectedCustomerSpend, as the developer guide's "Working with opportunity updates" lists it:
# https://docs.aws.amazon.com/partner-central/latest/developer-guide/working-with-opportunity-updates.html
ACTION_REQUIRED_EDITABLE = (
    *(_path(P.ACCOUNT, "Address", m) for m in ("City", "CountryCode", "PostalCode", "StateOrRegion", "StreetAddress")),
    P.WEBSITE,
    P.TARGET_CLOSE,
    *(f"{P.SPEND}[].{m}" for m in ("Amount", "CurrencyCode", "EstimationUrl", "Frequency", "TargetCompany")),
    _path("Project", "CustomerBusinessProblem"),
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
    _path(P.ACCOUNT, "Address", "CountryCode"),
    _path(P.ACCOUNT, "Address", "PostalCode"),
    P.INDUSTRY,
    P.WEBSITE,
    _path("Project", "CustomerBusinessProblem"),
    "PartnerOpportunityIdentifier",
    _path("Project", "Title"),
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
COMMITTED = _enum(P.STAGE, "Committed")
NEEDS_SOLUTION = frozenset({COMMITTED, LAUNCHED})
RELATED = "RelatedEntityIdentifiers"
#: The association column a push edits (AssociateOpportunity / DisassociateOpportunity, each solution a call:
#: https://docs.aws.amazon.com/partner-central/latest/APIReference/API_AssociateOpportunity.html).
ASSOCIATED = f"{RELATED}.Solutions"
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
_FREQUENCY = f"{P.SPEND}[].Frequency"
TARGET_COMPANY, SELF = _documented(SPEND_TARGET, "AWS", "Self")
DURATION = _path("Project", "ExpectedContractDuration")
_documented(SPEND_TARGET, "ExpectedContractDuration")
# model, ExpectedCustomerSpend.Frequency: "Use Monthly for recurring monthly spend (required for
# TargetCompany: "AWS" entries). Use None for one-time deal value entries (required for
# TargetCompany: "Self" entries when providing Total Contract Value)."
MONTHLY = _enum(_FREQUENCY, "Monthly")
(ONE_TIME,) = _documented(_FREQUENCY, "None")
FREQUENCY_FOR = {TARGET_COMPANY: MONTHLY, SELF: ONE_TIME}
PARTITION = _path("Project", "AwsPartition")


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
assert documented_values(_path("Project", "CustomerUseCase")), "model text changed"


# -- helpers --------------------------------------------------------------------------------------


def _get(payload: Mapping[str, Any], path: str) -> Any:
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


# -- model constraints ----------------------------------------------------------------------------


def _allowed(
    enum: tuple[str, ...], value: str, sensitive: bool, verb: str = "is not allowed", what: str = "allowed"
) -> str:
    # a sensitive value is neither shown nor hinted at: the closest value would give it away
    close = isinstance(value, str) and not sensitive
    hint = closest(value, enum) if close else None
    shown = ", ".join(repr(e) for e in enum[:12]) + (f", ... ({len(enum)} values)" if len(enum) > 12 else "")
    said = "value" if sensitive else repr(value)
    return f"{said} {verb}; " + (f"did you mean {hint!r}? " if hint else "") + f"{what}: {shown}"


def _format_message(pattern: str, path: str) -> str:
    """Return what a value that misses the model's pattern should be, in words.

    A regular expression means nothing to the analyst who reads the message, so a date says its form and any
    other field shows a value that fits (made from the pattern).
    """
    words = describe(pattern)  # a date or an amount: its form in words
    if words is not None:
        return f"must be {words}"
    name = path.rsplit(".", 1)[-1].removesuffix("[]")
    shown = example(pattern)  # generated from the pattern, never the analyst's (perhaps sensitive) value
    like = f", for example {shown!r}" if shown else f" (the service model's pattern for {path})"
    return f"is not in the format AWS accepts for {name}{like}"


def _holds(held: Any, value: str) -> bool:
    """Whether the stored record holds ``value`` at this place (the value itself, or an item of its list)."""
    return held == value or (isinstance(held, list) and value in held)


def _check_string(value: Any, path: str, shape: Shape, sensitive: bool, out: list[Problem], held: Any = None) -> None:
    if not isinstance(value, str):
        out.append(Problem(None, path, "INVALID_VALUE", f"must be text, not {type(value).__name__}"))
        return
    enum = getattr(shape, "enum", None)
    if enum and _holds(held, value):
        # A value the record holds is AWS's own, whatever the model's enum lists: AWS answered
        # PrimaryNeedsFromAws "Do Not Need Support from AWS Sales Rep" (samples' Postman collection, #52
        # "LeadToOpportunity / GetOpportunity" after a For Visibility Only submission, #67 "Receiving Partner -
        # GetOpportunity"), a value its field sheet lists (opportunity-samples/Opportunity_-_StandardValues.csv,
        # partnerPrimaryNeedFromAws) and its sample UI sends. UpdateOpportunity replaces the whole record, so any edit
        # of such a record sends the value back; no recording shows AWS refusing it. Sending it back is no error;
        # typing it anew is judged by the model's enum.
        return
    if enum and value not in enum:
        out.append(Problem(None, path, "INVALID_ENUM_VALUE", _allowed(tuple(enum), value, sensitive)))
        return
    t = template(path)
    accepted = accepted_values(t)
    if enum and accepted and value not in accepted:
        # model text, e.g. CurrencyCode: "Accepted values are USD (US Dollars) and EUR (Euros)."
        msg = _allowed(accepted, value, sensitive, "is not accepted", "the model's documentation accepts")
        out.append(Problem(None, path, "INVALID_ENUM_VALUE", msg))
        return
    pattern = shape.metadata.get("pattern")
    if pattern:
        rx = compile_pattern(pattern)  # None: a pattern Python's re cannot run (\p{L}): the server decides
        ok = rx is None or rx.fullmatch(value) is not None
        if ok and is_date_pattern(pattern) and not _calendar_date(value):
            # the pattern takes 2030-02-30; a date member holds a real date (model: "date" members)
            out.append(
                Problem(None, path, "INVALID_VALUE", f"is not a calendar date: use YYYY-MM-DD, e.g. {example_date()}")
            )
        if not ok:
            bounds = length_bounds(pattern)
            if bounds:
                msg = f"must be {bounds[0]} to {bounds[1]} characters (has {len(value)})"
            else:
                msg = _format_message(pattern, t)
            out.append(Problem(None, path, "INVALID_STRING_FORMAT", msg))
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
        out.append(Problem(None, path, "VALUE_OUT_OF_RANGE", f"must be {lo or 0} to {hi} characters"))
    span = documented_range(t)
    if span is not None:
        # model, ExpectedContractDuration.Value: "Valid values range from 1 to 144."
        n = int(value) if value.isascii() and value.isdigit() else None
        if n is None or not span[0] <= n <= span[1]:
            out.append(Problem(None, path, "VALUE_OUT_OF_RANGE", f"must be a whole number from {span[0]} to {span[1]}"))


def _calendar_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_shape(value: Any, shape: Shape, path: str, sensitive: bool, out: list[Problem], held: Any = None) -> None:
    """Check ``value`` against ``shape``; ``held`` is what the stored record has at the same place (None: nothing)."""
    sensitive = sensitive or bool(shape.metadata.get("sensitive"))
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            out.append(Problem(None, path, "INVALID_VALUE", "must be a structure"))
            return
        for req in shape.required_members:
            if is_blank(value.get(req)):
                out.append(Problem(None, f"{path}.{req}" if path else req, "REQUIRED_FIELD_MISSING", "is required"))
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            member = shape.members.get(k)
            if member is None:
                out.append(Problem(None, sub, "INVALID_VALUE", "is not a member of this request"))
            elif not is_blank(v):
                _check_shape(v, member, sub, sensitive, out, held.get(k) if isinstance(held, Mapping) else None)
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            out.append(Problem(None, path, "INVALID_VALUE", "must be a list"))
            return
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if hi is not None and len(value) > hi:
            out.append(Problem(None, path, "TOO_MANY_VALUES", f"at most {hi} entries (has {len(value)})"))
        if lo is not None and len(value) < lo:
            out.append(Problem(None, path, "NOT_ENOUGH_VALUES", f"at least {lo} entries (has {len(value)})"))
        nested = isinstance(shape.member, StructureShape)
        for i, item in enumerate(value):
            # a structure is matched with the stored one at its index; a plain value with the stored list
            was = (held[i] if i < len(held) else None) if nested and isinstance(held, list) else held
            _check_shape(item, shape.member, f"{path}[{i}]" if nested else path, sensitive, out, was)
        return
    if shape.type_name == "timestamp":
        if not isinstance(value, datetime):
            out.append(Problem(None, path, "INVALID_VALUE", "must be a date-time"))
        return
    if shape.type_name == "string":
        _check_string(value, path, shape, sensitive, out, held)
    elif shape.type_name in ("integer", "long"):
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            out.append(Problem(None, path, "VALUE_OUT_OF_RANGE", f"must be between {lo} and {hi}"))


# -- business rules -------------------------------------------------------------------------------


def _business(
    payload: Mapping[str, Any],
    changed: set[str] | None,
    today: date,
    out: list[Problem],
    related: Mapping[str, Any] | None = None,
) -> None:
    def bad(path: str, code: str, msg: str) -> None:
        out.append(Problem(None, path, code, msg))

    # UpdateOpportunity page, Customer.Account.WebsiteUrl: "required in all cases except when the opportunity
    # is related to national security".
    account = _get(payload, P.ACCOUNT)
    if (
        isinstance(account, Mapping)
        and is_blank(_get(payload, P.WEBSITE))
        and _get(payload, P.NATIONAL_SECURITY) != YES
    ):
        bad(P.WEBSITE, "REQUIRED_FIELD_MISSING", f"is required unless {P.NATIONAL_SECURITY} is {YES!r}")
    # UpdateOpportunity page, NationalSecurity: "only applicable when the industry is Government".
    if _get(payload, P.NATIONAL_SECURITY) == YES and _get(payload, P.INDUSTRY) != GOVERNMENT:
        bad(P.NATIONAL_SECURITY, "INVALID_VALUE", f"{YES!r} is only allowed when {P.INDUSTRY} is {GOVERNMENT!r}")
    # UpdateOpportunity page, OtherCompetitorNames: "Only allowed when CompetitorNames has Other selected".
    _pair(payload, P.COMPETITOR, OTHER_COMPETITOR, P.OTHER_COMPETITORS, bad)
    # UpdateOpportunity page, ClosedLostReason: "the reason code when an opportunity is marked as Closed Lost".
    _pair(payload, P.STAGE, CLOSED_LOST, P.CLOSED_LOST_REASON, bad)
    # UpdateOpportunity page, Marketing.UseCases: "Must be empty when Marketing.AWSFundingUsed = No".
    if _get(payload, P.FUNDING) == NO and not is_blank(_get(payload, P.USE_CASES)):
        bad(P.USE_CASES, "INVALID_VALUE", f"must be empty when {P.FUNDING} is {NO!r}")
    # UpdateOpportunity page, TargetCloseDate: "Ensure the Target Close Date isn't in the past." Checked when
    # the date is being set or changed, so an old record can still be edited elsewhere.
    tcd = _get(payload, P.TARGET_CLOSE)
    if isinstance(tcd, str) and (changed is None or P.TARGET_CLOSE in changed):
        try:
            if date.fromisoformat(tcd) < today:
                bad(P.TARGET_CLOSE, "INVALID_VALUE", f"must not be in the past (today is {today.isoformat()})")
        except ValueError:
            pass  # the pattern check reports it
    cols = flatten_payload(payload)
    partition = _get(payload, PARTITION)
    for col, value in cols.items():
        tied = required_for_partition(template(col))
        # model, CurrencyCode: "If the AWS Partition is aws-eusc (AWS European Sovereign Cloud), the
        # currency code must be EUR."
        if tied is not None and partition == tied[0] and value != tied[1]:
            bad(col, "INVALID_VALUE", f"must be {tied[1]!r} when {PARTITION} is {tied[0]!r}")
    has_duration = not is_blank(_get(payload, DURATION))
    for i, spend in enumerate(_get(payload, P.SPEND) or []):
        if not isinstance(spend, Mapping):
            continue
        target, frequency = spend.get("TargetCompany"), spend.get("Frequency")
        at = f"{P.SPEND}[{i}]"
        # model, TargetCompany: "When ExpectedContractDuration is present on the Project, only AWS
        # and Self are accepted." (Without it any other value is set to AWS: a warning.)
        if has_duration and target not in FREQUENCY_FOR:
            bad(f"{at}.TargetCompany", "INVALID_VALUE", f"must be {TARGET_COMPANY!r} or {SELF!r}")
        # model, Frequency: Monthly "required for TargetCompany: "AWS" entries", None "required for
        # TargetCompany: "Self" entries" -- checked where the model's Frequency values can say so.
        want = FREQUENCY_FOR.get(str(target)) if has_duration or target == TARGET_COMPANY else None
        if want is not None and want in get_schema()[_FREQUENCY].enum and frequency != want:
            bad(f"{at}.Frequency", "INVALID_VALUE", f"must be {want!r} for TargetCompany {target!r}")
    stage = _get(payload, P.STAGE)
    moved = changed is None or P.STAGE in changed  # records already there are not re-judged
    if stage in NEEDS_SOLUTION and related is not None and moved and not _has_solution(related):
        bad(
            P.STAGE,
            "INVALID_VALUE",
            f"{stage!r} needs an associated solution (Solutions, AwsMarketplaceSolutions or AwsMarketplaceProducts "
            "in RelatedEntityIdentifiers): associate one with AssociateOpportunity first",
        )


def _has_solution(related: Mapping[str, Any]) -> bool:
    """Whether the record's RelatedEntityIdentifiers hold a valid solution or Marketplace listing."""
    schema = get_schema()
    for path in SOLUTION_KINDS:
        rx = compile_pattern(schema[path].item_pattern)
        for v in related.get(path.split(".", 1)[1]) or []:
            if isinstance(v, str) and v != OTHER_SOLUTION and (rx is None or rx.fullmatch(v)):
                return True
    return False


def _warnings(payload: Mapping[str, Any], changed: set[str] | None, out: list[Problem]) -> None:
    """Add what AWS documents but may not refuse to ``out``: the plan shows it, the row is still sent."""
    schema = get_schema()
    # UpdateOpportunity page, OtherIndustry: "when the selected value in the Industry field is Other". AWS answered
    # 200 to OtherIndustry with Industry "Financial Services" and to Industry "Other" without OtherIndustry (samples'
    # Postman collection, "[Simulate] CreateOpportunity - For Accept" and "CreateOpportunity-EstimationUrl-Amount"):
    # the rule is said, not enforced.
    if changed is None or changed & {P.INDUSTRY, P.OTHER_INDUSTRY}:
        _pair(payload, P.INDUSTRY, OTHER_INDUSTRY, P.OTHER_INDUSTRY, lambda *a: out.append(Problem(None, *a)))
    for col, value in flatten_payload(payload).items():
        if changed is not None and col not in changed:
            continue  # an untouched value is the server's own: not the edit's concern
        t = template(col)
        listed = documented_values(t)
        if listed is not None:
            sensitive = schema[t].sensitive if t in schema else False
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str) and v not in listed:
                    msg = _allowed(
                        listed,
                        v,
                        sensitive,
                        "is not one of the values the model documents (AWS may refuse it)",
                        "documented",
                    )
                    out.append(Problem(None, col, "INVALID_VALUE", msg))
    has_duration = not is_blank(_get(payload, DURATION))
    for i, spend in enumerate(_get(payload, P.SPEND) or []):
        if not isinstance(spend, Mapping):
            continue
        at, target = f"{P.SPEND}[{i}]", spend.get("TargetCompany")
        if changed is not None and not any(
            c.startswith(at + ".") or c == DURATION or c.startswith(DURATION + ".") for c in changed
        ):
            continue
        if not has_duration and not is_blank(target) and target != TARGET_COMPANY:
            # model, TargetCompany: "When ExpectedContractDuration is not present, only AWS is
            # accepted and any other value will be automatically set to AWS."
            out.append(
                Problem(
                    None,
                    f"{at}.TargetCompany",
                    "INVALID_VALUE",
                    f"will be stored as {TARGET_COMPANY!r}: only {TARGET_COMPANY!r} is accepted without {DURATION}",
                )
            )
        elif has_duration and target == SELF and ONE_TIME not in schema[_FREQUENCY].enum:
            out.append(
                Problem(
                    None,
                    f"{at}.Frequency",
                    "INVALID_VALUE",
                    f"the model's text asks for Frequency {ONE_TIME!r} on {SELF!r} entries, which its Frequency "
                    "values do not offer: AWS may refuse the entry",
                )
            )


# -- AWS's field sheet ------------------------------------------------------------------------------
# aws-samples/partner-crm-integration-samples, opportunity-samples/Opportunity-Fields.csv (with
# CountriesWithoutPostalCode.csv and PostalCodeValidations.csv): AWS's sheet of the opportunity fields, written for
# its CRM integration. No recording shows the Selling API refusing on these rules (the recorded requests keep
# them), so the plan warns and the row is still sent.
_ADDRESS = _path(P.ACCOUNT, "Address")
_COUNTRY, _STATE, _POSTAL = (_path(_ADDRESS, m) for m in ("CountryCode", "StateOrRegion", "PostalCode"))
US = _enum(_COUNTRY, "US")
FLAT_RENEWAL = _enum("OpportunityType", "Flat Renewal")
_PARENT = _path("Project", "RelatedOpportunityIdentifier")
_AWS_ACCOUNT = _path(P.ACCOUNT, "AwsAccountId")
#: Opportunity-Fields.csv, column "Update - After Launched (Closed Won)": the fields it marks "Yes" (DeliveryModel
#: and AdditionalComments for ISV partners, SoftwareRevenue for special programs); every other field "No".
AFTER_LAUNCHED_UPDATABLE = (
    _path("Project", "DeliveryModels"),
    _path("Project", "AdditionalComments"),
    "SoftwareRevenue",
)
for _p in (_STATE, _POSTAL, _PARENT, _AWS_ACCOUNT, *AFTER_LAUNCHED_UPDATABLE[:2]):
    assert _p in get_schema(), _p


def _sheet_warnings(
    payload: Mapping[str, Any], changed: set[str] | None, stored_stage: str | None, out: list[Problem]
) -> None:
    """Add what Opportunity-Fields.csv and its companions say of the changes to ``out``.

    ``stored_stage`` is the record's stage before the edit (None: not known).
    """

    def warn(path: str, code: str, msg: str) -> None:
        out.append(Problem(None, path, code, msg))

    natsec = _get(payload, P.NATIONAL_SECURITY) == YES
    address = _get(payload, _ADDRESS)
    if isinstance(address, Mapping) and (changed is None or any(c.startswith(_ADDRESS + ".") for c in changed)):
        country, state, postal = (address.get(m) for m in ("CountryCode", "StateOrRegion", "PostalCode"))
        # Opportunity-Fields.csv, state: "Conditionally Mandatory", "When country = United States. Not required if
        # NatSec = True"; "Value to this field will be accepted only when country is United States".
        if country == US and is_blank(state) and not natsec:
            warn(_STATE, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks for it when the country is {US!r}")
        elif not is_blank(state) and not is_blank(country) and country != US:
            warn(_STATE, "INVALID_VALUE", f"AWS's field sheet takes it only when the country is {US!r}")
        # Opportunity-Fields.csv, postalCode: "Countries without postal code will no longer take values";
        # "Mandatory", "Exception: Not mandatory for countries without a postal code" (CountriesWithoutPostalCode.csv)
        if isinstance(country, str) and country in NO_POSTAL_CODE:
            if not is_blank(postal):
                warn(_POSTAL, "INVALID_VALUE", f"AWS's field sheet lists {country!r} as a country without postal codes")
        elif not is_blank(country) and is_blank(postal) and not natsec:
            warn(_POSTAL, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks for one in {country!r}")
        elif isinstance(postal, str) and postal_code_fits(str(country), postal) is False:
            # PostalCodeValidations.csv, "The postal code is invalid for country ..." (the value is not shown: PII)
            formats = describe_postal_formats(str(country))
            warn(_POSTAL, "INVALID_STRING_FORMAT", f"AWS's field sheet wants {formats} in {country!r}")
    # Opportunity-Fields.csv, parentOppId: "Conditionally Mandatory", "When Opportunity Type is set to Flat Renewal"
    if (
        _get(payload, "OpportunityType") == FLAT_RENEWAL
        and is_blank(_get(payload, _PARENT))
        and (changed is None or changed & {"OpportunityType", _PARENT})
    ):
        warn(
            _PARENT, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks for it when OpportunityType is {FLAT_RENEWAL!r}"
        )
    stage = _get(payload, P.STAGE)
    moved = changed is None or P.STAGE in changed
    if stage == LAUNCHED and moved and is_blank(_get(payload, _AWS_ACCOUNT)):
        # Opportunity-Fields.csv, Customer.Account.AWSAccountId: "For Consulting Partners, When Stage = Launched"
        warn(
            _AWS_ACCOUNT, "REQUIRED_FIELD_MISSING", f"AWS's field sheet asks consulting partners for it at {LAUNCHED!r}"
        )
    if (stored_stage if moved else stage) == LAUNCHED and changed:
        # Opportunity-Fields.csv, "Update - After Launched (Closed Won)": "No" for every other field (the stage too)
        for col in sorted(changed):
            if not col.startswith(AFTER_LAUNCHED_UPDATABLE) and template(col) not in READ_ONLY and col not in NOT_EDITS:
                warn(col, "ACTION_NOT_PERMITTED", f"AWS's field sheet says it is not updated once {LAUNCHED!r}")


def _pair(payload: Mapping[str, Any], field: str, value: str, other: str, bad: Any) -> None:
    """``other`` is required when ``field`` is ``value`` and allowed only then."""
    has_other = not is_blank(_get(payload, other))
    if _get(payload, field) == value and not has_other:
        bad(other, "REQUIRED_FIELD_MISSING", f"is required when {field} is {value!r}")
    elif has_other and _get(payload, field) != value:
        bad(other, "INVALID_VALUE", f"is only allowed when {field} is {value!r}")


# -- public ---------------------------------------------------------------------------------------


def validate_payload(
    payload: Mapping[str, Any],
    *,
    operation: str = "UpdateOpportunity",
    base: Mapping[str, Any] | None = None,
    changed: Collection[str] | None = None,
    review_status: str | None = None,
    related: Mapping[str, Any] | None = None,
    today: date | None = None,
    schema: Schema | None = None,
    stored: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Every problem the client can know about before sending ``payload``.

    Parameters
    ----------
    payload : dict
        ``update_opportunity`` (or ``create_opportunity``) kwargs.
    operation : str
        The operation whose input shape applies.
    base : dict, optional
        The payload of the record as stored. When given, rules about *changes* apply: the
        editability of the record's ``ReviewStatus`` and "TargetCloseDate not in the past"
        only for a changed date. The changed columns are found by comparing it with ``payload``.
    changed : collection of str, optional
        The columns the edit changes (``Customer.Contacts[0].Email``), when the caller knows them
        (the plan's merge does): the rules about changes apply to these, without a ``base``.
    review_status : str, optional
        The stored record's ``LifeCycle.ReviewStatus``, for editability with ``changed``
        (default: ``base``'s).
    related : dict, optional
        The stored record's ``RelatedEntityIdentifiers`` (GetOpportunity returns them, payloads
        do not carry them): moving ``LifeCycle.Stage`` to Committed or Launched needs an
        associated solution. None: not known, not checked.
    today : date, optional
        For date rules (default: today, UTC).
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.
    stored : dict, optional
        The record as the service holds it (a GetOpportunity answer or its payload; default: ``base``): see
        :func:`model_problems`.

    Returns
    -------
    list of Problem
        Empty when the payload can be sent. Field names are dotted paths with indexes;
        codes are the API's (``REQUIRED_FIELD_MISSING``, ``INVALID_ENUM_VALUE``, ...).

    Examples
    --------
    >>> p = {"Catalog": "Sandbox", "Identifier": "O1", "LifeCycle": {"Stage": "Closed Lost"}}
    >>> [(x.field, x.code) for x in validate_payload(p)]  # doctest: +NORMALIZE_WHITESPACE
    [('LastModifiedDate', 'REQUIRED_FIELD_MISSING'), ('LifeCycle.ClosedLostReason', 'REQUIRED_FIELD_MISSING')]
    >>> [(x.field, x.code) for x in validate_payload(p, changed={"LifeCycle.Stage"}, review_status="Submitted")][-1]
    ('LifeCycle.Stage', 'ACTION_NOT_PERMITTED')
    """
    held = stored if stored is not None else base
    return model_problems(payload, operation, schema=schema, stored=held) + business_problems(
        payload, base=base, changed=changed, review_status=review_status, related=related, today=today
    )


def model_problems(
    payload: Mapping[str, Any],
    operation: str = "UpdateOpportunity",
    *,
    schema: Schema | None = None,
    stored: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """Check the service model's constraints only: types, required members, enums, patterns, bounds.

    Parameters
    ----------
    payload : dict
        ``update_opportunity`` (or ``create_opportunity``) kwargs.
    operation : str, default "UpdateOpportunity"
        The operation whose input shape applies.
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.
    stored : dict, optional
        The record as the service holds it (a GetOpportunity answer, or its payload). A value outside the
        model's enum that the record holds at the same place (an item of the same list, a member of the
        structure at the same index) is AWS's own: AWS answered it, and sending it back is no error.

    Returns
    -------
    list of Problem
        Empty when no rule objects; codes are the API's ``ValidationExceptionErrorCode`` values.

    Examples
    --------
    >>> p = {"Catalog": "Sandbox", "Identifier": "O1", "LifeCycle": {"Stage": "Closed Lost"}}
    >>> [(x.field, x.code) for x in model_problems(p)]
    [('LastModifiedDate', 'REQUIRED_FIELD_MISSING')]
    >>> aws = "Do Not Need Support from AWS Sales Rep"  # AWS answers it; the model's enum does not list it
    >>> p = dict(p, LastModifiedDate=datetime(2026, 1, 1, tzinfo=UTC), PrimaryNeedsFromAws=[aws])
    >>> [x.code for x in model_problems(p)], model_problems(p, stored={"PrimaryNeedsFromAws": [aws]})
    (['INVALID_ENUM_VALUE'], [])
    """
    schema = schema or get_schema()
    shape = schema.update_shape if operation == "UpdateOpportunity" else input_shape(operation)
    out: list[Problem] = []
    _check_shape(payload, shape, "", False, out, stored)
    unenforced = UNENFORCED_PATTERNS.get(operation, ())
    return [p for p in out if not (p.code == "INVALID_STRING_FORMAT" and template(p.field) in unenforced)]


def _changed(
    payload: Mapping[str, Any], base: Mapping[str, Any] | None, changed: Collection[str] | None
) -> set[str] | None:
    """Return the changed columns: as given, else by comparing ``base`` with ``payload``, else None (not known)."""
    if changed is not None:
        return set(changed)
    return changed_columns(base, payload) if base is not None else None


def business_problems(
    payload: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    changed: Collection[str] | None = None,
    review_status: str | None = None,
    related: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> list[Problem]:
    """Check the documented business rules, and (given ``base`` or ``changed``) editability of the changes.

    ``base``, ``changed``, ``review_status`` and ``related``: see :func:`validate_payload`.

    Parameters
    ----------
    payload : dict
        ``update_opportunity`` (or ``create_opportunity``) kwargs.
    base, changed, review_status, related
        As for :func:`validate_payload`.
    today : date, optional
        For date rules (default: today, UTC).

    Returns
    -------
    list of Problem
        Empty when no rule objects; codes are the API's ``ValidationExceptionErrorCode`` values.

    Examples
    --------
    >>> p = {"Catalog": "Sandbox", "Identifier": "O1", "LifeCycle": {"Stage": "Closed Lost"}}
    >>> [(x.field, x.code) for x in business_problems(p)]
    [('LifeCycle.ClosedLostReason', 'REQUIRED_FIELD_MISSING')]
    """
    out: list[Problem] = []
    cols = _changed(payload, base, changed)
    _business(payload, cols, today or datetime.now(UTC).date(), out, related)
    if cols:
        status = review_status if review_status is not None or base is None else _get(base, P.REVIEW_STATUS)
        out += check_editable(status, cols)
    return out


def payload_warnings(
    payload: Mapping[str, Any],
    *,
    base: Mapping[str, Any] | None = None,
    changed: Collection[str] | None = None,
    related: Mapping[str, Any] | None = None,
    review_status: str | None = None,
    stage: str | None = None,
) -> list[Problem]:
    """Report what the model's documentation says of the changes that AWS may not refuse.

    A value outside a documented list (``Project.CustomerUseCase``), a TargetCompany the service will replace.
    The row is still sent; the plan shows these in its ``warnings`` column. A move to Committed or Launched
    whose associations are not known (``related`` None) is one too: it cannot be checked. ``base`` and
    ``changed``: see :func:`validate_payload`.

    Parameters
    ----------
    payload : dict
        ``update_opportunity`` (or ``create_opportunity``) kwargs.
    base, changed, related, review_status
        As for :func:`validate_payload`; a change AWS does not apply to a record in ``review_status``
        (:func:`edit_ignored`) is a warning.
    stage : str, optional
        The stored record's ``LifeCycle.Stage`` (default: ``base``'s; without either, the payload's when the edit
        does not change it): AWS's field sheet says what a Launched record takes.

    Returns
    -------
    list of Problem
        The warnings; empty when there are none.

    Examples
    --------
    >>> p = {"Project": {"CustomerUseCase": "Containers and Serverless"}}
    >>> [(w.field, w.message[:60]) for w in payload_warnings(p)]  # doctest: +NORMALIZE_WHITESPACE
    [('Project.CustomerUseCase', "'Containers and Serverless' is not one of the values the mod")]
    >>> "did you mean 'Containers & Serverless'" in payload_warnings(p)[0].message
    True
    """
    out: list[Problem] = []
    cols = _changed(payload, base, changed)
    _warnings(payload, cols, out)
    _sheet_warnings(payload, cols, stage if stage is not None or base is None else _get(base, P.STAGE), out)
    status = review_status if review_status is not None or base is None else _get(base, P.REVIEW_STATUS)
    for col in sorted(cols or ()):
        why = edit_ignored(status, col)
        if why is not None:
            out.append(Problem(None, col, "ACTION_NOT_PERMITTED", why))
    stage = _get(payload, P.STAGE)
    if related is None and stage in NEEDS_SOLUTION and (cols is None or P.STAGE in cols):
        msg = (
            f"{stage!r} needs an associated solution, and the base does not list the record's "
            f"{RELATED}: AWS refuses the move without one"
        )
        out.append(Problem(None, P.STAGE, "INVALID_VALUE", msg))
    return out


def stored_target_company(project: Mapping[str, Any], value: str | None) -> str | None:
    """Return the TargetCompany the service stores for ``value``.

    Model, TargetCompany: without ExpectedContractDuration "any other value will be automatically set to AWS".
    """
    return value if not is_blank(project.get("ExpectedContractDuration")) else TARGET_COMPANY


def related_of_row(row: Mapping[str, Any]) -> dict[str, list[str]] | None:
    """Return ``RelatedEntityIdentifiers`` from a frame row's columns, or None (not known).

    The columns are such as ``RelatedEntityIdentifiers.Solutions``; None when the row has none of them.

    Parameters
    ----------
    row : mapping
        A frame row, as a Series or ``{column: value}``.

    Returns
    -------
    dict of str to list of str, or None
        The associations by kind (``Solutions``, ...); None when the row has no such column.

    Examples
    --------
    >>> related_of_row({"Id": "O1", "RelatedEntityIdentifiers.Solutions": ["S-1"]})
    {'Solutions': ['S-1']}
    """
    prefix = RELATED + "."
    out: dict[str, list[str]] = {}
    for col, v in row.items():
        if isinstance(col, str) and col.startswith(prefix):
            items = [] if v is None or isinstance(v, (str, float)) else [x for x in v if isinstance(x, str)]
            out[col[len(prefix) :]] = [v] if isinstance(v, str) and v else items
    return out or None


# -- editability ----------------------------------------------------------------------------------


def is_read_only(template: str) -> bool:
    """Whether a field path (``[]`` for indexes) is one AWS sets and no request may change."""
    return any(template == r or template.startswith((r + ".", r + "[")) for r in READ_ONLY)


def edit_refusal(review_status: str | None, column: str) -> str | None:
    """Return why a record whose ReviewStatus is ``review_status`` refuses a change of ``column``, or None.

    None when the change is allowed: the one decision the plan, the form and the sandbox share.

    Parameters
    ----------
    review_status : str or None
        The stored record's ``LifeCycle.ReviewStatus``.
    column : str
        A column or field path.

    Returns
    -------
    str or None
        The reason, in words; None when the change is allowed.

    Examples
    --------
    >>> edit_refusal("Action Required", "LifeCycle.Stage"), edit_refusal("Approved", "LifeCycle.Stage")
    ("not editable while ReviewStatus is 'Action Required'", None)
    """
    t = template(column)
    if is_read_only(t):
        return "is read-only (set by AWS)"
    if review_status in LOCKED_STATUSES:
        return f"no field is editable while ReviewStatus is {review_status!r}"
    if review_status == ACTION_REQUIRED and t not in ACTION_REQUIRED_EDITABLE:
        return f"not editable while ReviewStatus is {review_status!r}"
    return None


def edit_ignored(review_status: str | None, column: str) -> str | None:
    """Return why AWS keeps its stored value of ``column`` whatever a request sends, or None.

    The developer guide says the fields of :data:`APPROVED_LOCKED` "cannot be updated" once a record is Approved;
    AWS was recorded answering 200 to an UpdateOpportunity that sent other values for them and keeping its own
    (samples' Postman collection, "Demo Accept AWS-originated Opportunities": UpdateOpportunity, then "GetOpportunity
    Check Stage"). So such an edit is not refused: it is not applied, and the plan says so.

    The reason names the field by its label and the rule, never the value (most of these fields are sensitive).

    Examples
    --------
    >>> print(edit_ignored("Approved", "Project.Title"))  # doctest: +NORMALIZE_WHITESPACE
    Project title cannot be updated once ReviewStatus is 'Approved' (developer guide, "Working with opportunity
    updates"): AWS answers the update and keeps its own value
    >>> edit_ignored("Approved", "LifeCycle.Stage") is None
    True
    """
    if review_status == APPROVED and template(column) in APPROVED_LOCKED:
        return (
            f"{label_for(column)} cannot be updated once ReviewStatus is {APPROVED!r} (developer guide, "
            '"Working with opportunity updates"): AWS answers the update and keeps its own value'
        )
    return None


def check_editable(review_status: str | None, changed: Collection[str]) -> list[Problem]:
    """``ACTION_NOT_PERMITTED`` for each changed column the record's ReviewStatus does not allow.

    Parameters
    ----------
    review_status : str or None
        The stored record's ``LifeCycle.ReviewStatus``.
    changed : collection of str
        The columns the edit changes.

    Returns
    -------
    list of Problem
        One per column the record does not let change.

    Examples
    --------
    >>> [p.field for p in check_editable("Action Required", {"LifeCycle.Stage", "LifeCycle.TargetCloseDate"})]
    ['LifeCycle.Stage']
    >>> [p.field for p in check_editable("Submitted", {"Project.Title"})]
    ['Project.Title']
    """
    out = []
    for col in sorted(changed):
        why = edit_refusal(review_status, col)
        if why is not None:
            out.append(Problem(None, col, "ACTION_NOT_PERMITTED", why))
    return out


def editable_fields(
    review_status: str | None, columns: Iterable[str], *, schema: Schema | None = None
) -> dict[str, str | None]:
    """``{column: why it cannot be edited, or None}`` for a record whose ReviewStatus is ``review_status``.

    Members UpdateOpportunity does not take, the record's identity and token (:data:`NOT_EDITS`), then
    :func:`edit_refusal`.

    Parameters
    ----------
    review_status : str or None
        The stored record's ``LifeCycle.ReviewStatus``.
    columns : iterable of str
        The columns to decide for.
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.

    Returns
    -------
    dict of str to str or None
        Each column's reason, in words, or None when it can be edited.

    Examples
    --------
    >>> editable_fields("Action Required", ["Arn", "Catalog", "LifeCycle.Stage", "LifeCycle.TargetCloseDate"])
    {'Arn': 'output-only: set by AWS', 'Catalog': 'identifies the record',
     'LifeCycle.Stage': "not editable while ReviewStatus is 'Action Required'", 'LifeCycle.TargetCloseDate': None}
    """
    schema = schema or get_schema()
    out: dict[str, str | None] = {}
    for col in columns:
        if col == ASSOCIATED:
            out[col] = None  # not an UpdateOpportunity member, but a push sends its edits as association calls
        elif not schema.field_for(col).writable:
            out[col] = "output-only: set by AWS"
        elif col in NOT_EDITS:
            out[col] = "identifies the record"
        else:
            out[col] = edit_refusal(review_status, col) or edit_ignored(review_status, col)
    return out


# -- submission ------------------------------------------------------------------------------------
# Developer guide, "Working with your opportunities"
# (https://docs.aws.amazon.com/partner-central/latest/developer-guide/working-with-your-opportunities.html):
# CreateOpportunity "creates an opportunity with the Lifecycle.ReviewStatus set to Pending Submission"; then "you
# must associate at least one Partner Solution, AWS Marketplace solution, or AWS Marketplace product", "1-10
# solutions"; then StartEngagementFromOpportunityTask submits it and ReviewStatus becomes Submitted. The
# associating page adds "An AWS Referral may or may not contain a Partner Solution"
# (https://docs.aws.amazon.com/partner-central/latest/developer-guide/associating-disassociating-assigning-opportunities.html).
# The model's CreateOpportunity text: "opportunities in the Pending Submission state must have complete details".
#: CreateOpportunity's Origin (not a member UpdateOpportunity takes), checked against the model.
AWS_REFERRAL = "AWS Referral"
assert AWS_REFERRAL in input_shape("CreateOpportunity").members["Origin"].enum  # type: ignore[attr-defined]
MAX_SOLUTIONS = 10
#: model, LifeCycle.Stage, Prospect: "must be matured to Qualified before submission" (checked at import)
PROSPECT, QUALIFIED = _enum(P.STAGE, "Prospect"), _enum(P.STAGE, "Qualified")


def submission_problems(record: Mapping[str, Any], *, today: date | None = None) -> list[Problem]:
    """List what AWS refuses when ``record`` (a GetOpportunity response) is submitted for review.

    Its ReviewStatus must be ``Pending Submission``, at most 10 solutions may be associated, and the record as a
    whole must pass the documented business rules (:func:`business_problems`, every field judged, as AWS reviews
    the whole record: a target close date in the past, a Committed stage without a valid solution, ...). What the
    guide asks that AWS was recorded accepting without (a solution) is in :func:`submission_warnings`.

    Examples
    --------
    >>> rec = {"LifeCycle": {"ReviewStatus": "Submitted", "TargetCloseDate": "2099-01-01"},
    ...        "RelatedEntityIdentifiers": {}}
    >>> [(p.field, p.code) for p in submission_problems(rec)]
    [('LifeCycle.ReviewStatus', 'INVALID_RESOURCE_STATE')]
    """
    out: list[Problem] = []
    status = _get(record, P.REVIEW_STATUS)
    if status != PENDING_SUBMISSION:
        out.append(
            Problem(
                None,
                P.REVIEW_STATUS,
                "INVALID_RESOURCE_STATE",
                f"is {status!r}: only an opportunity that is {PENDING_SUBMISSION!r} is submitted (one in "
                f"{ACTION_REQUIRED!r} goes back to review when it is updated)",
            )
        )
    related = record.get(RELATED) or {}
    if len(related.get("Solutions") or []) > MAX_SOLUTIONS:
        out.append(Problem(None, SOLUTION_KINDS[0], "TOO_MANY_VALUES", f"at most {MAX_SOLUTIONS} solutions"))
    out += business_problems(record, related=related, today=today)
    return out


def submission_warnings(record: Mapping[str, Any]) -> list[Problem]:
    """List what the documentation asks of a submission that AWS was recorded accepting without.

    The developer guide asks for "at least one Partner Solution, AWS Marketplace solution, or AWS Marketplace
    product" before submission; AWS's Sandbox completed a StartEngagementFromOpportunityTask for an opportunity with
    none, which became Submitted (samples' Postman collection, "Working with Multipartner Opportunities": "Inviting
    Partner - StartEngagementFromOpportunityTask", then "Inviting Partner - GetOpportunity"). The model's Stage text
    says a Prospect opportunity must be matured to Qualified before submission; the same recording submitted one
    at Prospect. Both are said, not enforced: warnings.

    Examples
    --------
    >>> [(p.field, p.code) for p in submission_warnings({"LifeCycle": {"Stage": "Prospect"}})]
    [('RelatedEntityIdentifiers.Solutions', 'REQUIRED_FIELD_MISSING'), ('LifeCycle.Stage', 'INVALID_VALUE')]
    """
    out: list[Problem] = []
    related = record.get(RELATED) or {}
    listed = [v for path in SOLUTION_KINDS for v in related.get(path.split(".", 1)[1]) or []]
    if not listed and record.get("Origin") != AWS_REFERRAL:
        msg = "no solution is associated: the guide asks for 1 to 10 (ListSolutions, AssociateOpportunity)"
        out.append(Problem(None, SOLUTION_KINDS[0], "REQUIRED_FIELD_MISSING", msg))
    if _get(record, P.STAGE) == PROSPECT:
        msg = f"the model's text asks to mature a {PROSPECT!r} opportunity to {QUALIFIED!r} before submission"
        out.append(Problem(None, P.STAGE, "INVALID_VALUE", msg))
    return out
