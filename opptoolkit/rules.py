"""Validation of UpdateOpportunity / CreateOpportunity payloads: the model's constraints and the
documented business rules, in the API's own error vocabulary. Shared by the client (plan, form)
and the sandbox server, so both say the same thing about the same payload.

Model constraints (enums, patterns, list bounds, required members) are read from the service
model. Business rules come from the API documentation; each cites its source, and every value
they name is checked against the model when this module loads, so a renamed enum value fails
loudly instead of silently disabling a rule.

Messages never contain the value of a sensitive (PII) field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from . import paths as P
from .exceptions import Problem
from .model import FieldCatalog, get_catalog, length_bounds
from .wire import input_shape

__all__ = [
    "business_problems",
    "changed_columns",
    "check_editable",
    "flatten_payload",
    "model_problems",
    "validate_payload",
]


def _path(*parts: str) -> str:
    return ".".join(parts)


def _enum(path: str, value: str, cat: FieldCatalog | None = None) -> str:
    """A documented enum value, checked against the model (fails loudly if the model drops it)."""
    f = (cat or get_catalog())[path]
    if value not in f.enum:
        raise AssertionError(f"documented value {value!r} of {path} is not in the service model")
    return value


# -- documented rules (values checked against the model at import) --------------------------------

YES = _enum(P.NATIONAL_SECURITY, "Yes")
NO = _enum(P.FUNDING, "No")
GOVERNMENT = _enum(P.INDUSTRY, "Government")
OTHER_INDUSTRY = _enum(P.INDUSTRY, "Other")
OTHER_COMPETITOR = _enum(P.COMPETITOR, "*Other")
CLOSED_LOST = _enum(P.STAGE, "Closed Lost")
# seed page, LifeCycle.Stage: "Launched: The workload is complete, and AWS has started billing" --
# with Closed Lost, the stages where an opportunity is no longer open.
LAUNCHED = _enum(P.STAGE, "Launched")
CLOSED_STAGES = frozenset({LAUNCHED, CLOSED_LOST})
# seed page, LifeCycle.ReviewStatus: "Submitted ... (read-only)", "In Review ... (read-only)",
# "Rejected: Disqualified (read-only)".
LOCKED_STATUSES = frozenset(_enum(P.REVIEW_STATUS, s) for s in ("Submitted", "In review", "Rejected"))
ACTION_REQUIRED = _enum(P.REVIEW_STATUS, "Action Required")
# seed page, Action Required: "After updates, the opportunity re-enters the validation phase."
SUBMITTED = _enum(P.REVIEW_STATUS, "Submitted")
PENDING_SUBMISSION = _enum(P.REVIEW_STATUS, "Pending Submission")
# seed page: "Pending Submission: ... (editable)", "Approved: ... (editable)".
APPROVED = _enum(P.REVIEW_STATUS, "Approved")
EDITABLE_STATUSES = frozenset({PENDING_SUBMISSION, APPROVED})
# seed page + shared/DESIGN.md: "Only the following fields are editable when the
# Lifecycle.ReviewStatus is Action Required" (the seed's Project.ExpectedMonthlyAWSRevenue is
# today's Project.ExpectedCustomerSpend).
ACTION_REQUIRED_EDITABLE = (
    *(_path(P.ACCOUNT, "Address", m) for m in ("City", "CountryCode", "PostalCode", "StateOrRegion", "StreetAddress")),
    P.WEBSITE,
    P.TARGET_CLOSE,
    *(f"{P.SPEND}[].{m}" for m in ("Amount", "CurrencyCode", "EstimationUrl", "Frequency", "TargetCompany")),
    _path("Project", "CustomerBusinessProblem"),
    "PartnerOpportunityIdentifier",
)
# seed page, LifeCycle: ReviewStatus "is read-only"; NextStepsHistory "Read-only"; ReviewComments
# and ReviewStatusReason are AWS's review feedback.
READ_ONLY = (P.REVIEW_STATUS, P.REVIEW_COMMENTS, P.REVIEW_STATUS_REASON, P.NEXT_STEPS_HISTORY)
for _p in ACTION_REQUIRED_EDITABLE:
    assert _p in get_catalog(), _p
# seed page, ExpectedCustomerSpend.TargetCompany: "This field only accepts the value AWS. If any
# other value is provided, the system will automatically set it to AWS."
TARGET_COMPANY = "AWS"


# -- helpers --------------------------------------------------------------------------------------


def _blank(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def _get(payload: Mapping[str, Any], path: str) -> Any:
    cur: Any = payload
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def flatten_payload(payload: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{column: value}`` of a nested payload (lists of structures indexed, lists of scalars kept).

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
        elif not _blank(v):
            out[prefix + k] = v
    return out


def changed_columns(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    """Columns whose value differs between two payloads (blank and absent are the same)."""
    a, b = flatten_payload(old), flatten_payload(new)
    return {c for c in a.keys() | b.keys() if a.get(c) != b.get(c)}


def _template(column: str) -> str:
    return re.sub(r"\[\d+\]", "[]", column)


# -- model constraints ----------------------------------------------------------------------------


def _allowed(enum: tuple[str, ...], value: str, sensitive: bool) -> str:
    hint = difflib.get_close_matches(value, enum, n=1, cutoff=0.6) if isinstance(value, str) else []
    shown = ", ".join(repr(e) for e in enum[:12]) + (f", ... ({len(enum)} values)" if len(enum) > 12 else "")
    said = "value" if sensitive else repr(value)
    return f"{said} is not allowed; " + (f"did you mean {hint[0]!r}? " if hint else "") + f"allowed: {shown}"


def _example(pattern: str) -> str:
    """e.g. 'a value that matches' (generated from the pattern), or "" when none can be made."""
    import random

    from .fake import sample_pattern

    rng = random.Random(7)
    try:
        samples = [sample_pattern(pattern, rng) for _ in range(12)]
    except (ValueError, NotImplementedError, re.error):
        return ""
    fitting = [x for x in samples if 3 <= len(x) <= 40] or [max(samples, key=len)]
    return f" (e.g. {fitting[0]!r})" if fitting[0] else ""


def _check_string(value: Any, path: str, shape: Shape, sensitive: bool, out: list[Problem]) -> None:
    if not isinstance(value, str):
        out.append(Problem(None, path, "INVALID_VALUE", f"must be text, not {type(value).__name__}"))
        return
    enum = getattr(shape, "enum", None)
    if enum and value not in enum:
        out.append(Problem(None, path, "INVALID_ENUM_VALUE", _allowed(tuple(enum), value, sensitive)))
        return
    pattern = shape.metadata.get("pattern")
    if pattern:
        try:
            ok = re.fullmatch(pattern, value) is not None
        except re.error:  # a pattern Python's re cannot run (\p{L}): the server decides
            ok = True
        if not ok:
            bounds = length_bounds(pattern)
            if bounds:
                msg = f"must be {bounds[0]} to {bounds[1]} characters (has {len(value)})"
            else:
                msg = f"does not match the required format {pattern}{_example(pattern)}"
            out.append(Problem(None, path, "INVALID_STRING_FORMAT", msg))
    lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
    if (lo is not None and len(value) < lo) or (hi is not None and len(value) > hi):
        out.append(Problem(None, path, "VALUE_OUT_OF_RANGE", f"must be {lo or 0} to {hi} characters"))


def _check_shape(value: Any, shape: Shape, path: str, sensitive: bool, out: list[Problem]) -> None:
    sensitive = sensitive or bool(shape.metadata.get("sensitive"))
    if isinstance(shape, StructureShape):
        if not isinstance(value, Mapping):
            out.append(Problem(None, path, "INVALID_VALUE", "must be a structure"))
            return
        for req in shape.required_members:
            if _blank(value.get(req)):
                out.append(Problem(None, f"{path}.{req}" if path else req, "REQUIRED_FIELD_MISSING", "is required"))
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            member = shape.members.get(k)
            if member is None:
                out.append(Problem(None, sub, "INVALID_VALUE", "is not a member of this request"))
            elif not _blank(v):
                _check_shape(v, member, sub, sensitive, out)
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
            _check_shape(item, shape.member, f"{path}[{i}]" if nested else path, sensitive, out)
        return
    if shape.type_name == "timestamp":
        if not isinstance(value, datetime):
            out.append(Problem(None, path, "INVALID_VALUE", "must be a date-time"))
        return
    if shape.type_name == "string":
        _check_string(value, path, shape, sensitive, out)
    elif shape.type_name in ("integer", "long"):
        lo, hi = shape.metadata.get("min"), shape.metadata.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            out.append(Problem(None, path, "VALUE_OUT_OF_RANGE", f"must be between {lo} and {hi}"))


# -- business rules -------------------------------------------------------------------------------


def _business(payload: Mapping[str, Any], changed: set[str] | None, today: date, out: list[Problem]) -> None:
    def bad(path: str, code: str, msg: str) -> None:
        out.append(Problem(None, path, code, msg))

    # seed page, Customer.Account.WebsiteUrl: "required in all cases except when the opportunity
    # is related to national security".
    account = _get(payload, P.ACCOUNT)
    if isinstance(account, Mapping) and _blank(_get(payload, P.WEBSITE)) and _get(payload, P.NATIONAL_SECURITY) != YES:
        bad(P.WEBSITE, "REQUIRED_FIELD_MISSING", f"is required unless {P.NATIONAL_SECURITY} is {YES!r}")
    # seed page, NationalSecurity: "only applicable when the industry is Government".
    if _get(payload, P.NATIONAL_SECURITY) == YES and _get(payload, P.INDUSTRY) != GOVERNMENT:
        bad(P.NATIONAL_SECURITY, "INVALID_VALUE", f"{YES!r} is only allowed when {P.INDUSTRY} is {GOVERNMENT!r}")
    # seed page, OtherIndustry: "when the selected value in the Industry field is Other".
    _pair(payload, P.INDUSTRY, OTHER_INDUSTRY, P.OTHER_INDUSTRY, bad)
    # seed page, OtherCompetitorNames: "Only allowed when CompetitorNames has Other selected".
    _pair(payload, P.COMPETITOR, OTHER_COMPETITOR, P.OTHER_COMPETITORS, bad)
    # seed page, ClosedLostReason: "the reason code when an opportunity is marked as Closed Lost".
    _pair(payload, P.STAGE, CLOSED_LOST, P.CLOSED_LOST_REASON, bad)
    # seed page, Marketing.UseCases: "Must be empty when Marketing.AWSFundingUsed = No".
    if _get(payload, P.FUNDING) == NO and not _blank(_get(payload, P.USE_CASES)):
        bad(P.USE_CASES, "INVALID_VALUE", f"must be empty when {P.FUNDING} is {NO!r}")
    # seed page, TargetCloseDate: "Ensure the Target Close Date isn't in the past." Checked when
    # the date is being set or changed, so an old record can still be edited elsewhere.
    tcd = _get(payload, P.TARGET_CLOSE)
    if isinstance(tcd, str) and (changed is None or P.TARGET_CLOSE in changed):
        try:
            if date.fromisoformat(tcd) < today:
                bad(P.TARGET_CLOSE, "INVALID_VALUE", f"must not be in the past (today is {today.isoformat()})")
        except ValueError:
            pass  # the pattern check reports it


def _pair(payload: Mapping[str, Any], field: str, value: str, other: str, bad: Any) -> None:
    """``other`` is required when ``field`` is ``value`` and allowed only then."""
    has_other = not _blank(_get(payload, other))
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
    today: date | None = None,
    catalog: FieldCatalog | None = None,
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
        only for a changed date.
    today : date, optional
        For date rules (default: today, UTC).

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
    """
    return model_problems(payload, operation, catalog=catalog) + business_problems(payload, base=base, today=today)


def model_problems(
    payload: Mapping[str, Any], operation: str = "UpdateOpportunity", *, catalog: FieldCatalog | None = None
) -> list[Problem]:
    """The service model's constraints only: types, required members, enums, patterns, bounds."""
    cat = catalog or get_catalog()
    shape = cat.update_shape if operation == "UpdateOpportunity" else input_shape(operation)
    out: list[Problem] = []
    _check_shape(payload, shape, "", False, out)
    return out


def business_problems(
    payload: Mapping[str, Any], *, base: Mapping[str, Any] | None = None, today: date | None = None
) -> list[Problem]:
    """The documented business rules, and (given ``base``) editability of the changes."""
    out: list[Problem] = []
    changed = changed_columns(base, payload) if base is not None else None
    _business(payload, changed, today or datetime.now(UTC).date(), out)
    if base is not None and changed:
        out += check_editable(_get(base, P.REVIEW_STATUS), changed)
    return out


def is_read_only(template: str) -> bool:
    """Whether a field path (``[]`` for indexes) is one AWS sets and no request may change."""
    return any(template == r or template.startswith((r + ".", r + "[")) for r in READ_ONLY)


def check_editable(review_status: str | None, changed: set[str]) -> list[Problem]:
    """``ACTION_NOT_PERMITTED`` for each changed column the record's ReviewStatus does not allow.

    >>> [p.field for p in check_editable("Action Required", {"LifeCycle.Stage", "LifeCycle.TargetCloseDate"})]
    ['LifeCycle.Stage']
    """
    out = []
    for col in sorted(changed):
        t = _template(col)
        if is_read_only(t):
            out.append(Problem(None, col, "ACTION_NOT_PERMITTED", "is read-only (set by AWS)"))
        elif review_status in LOCKED_STATUSES:
            out.append(
                Problem(
                    None, col, "ACTION_NOT_PERMITTED", f"no field is editable while ReviewStatus is {review_status!r}"
                )
            )
        elif review_status == ACTION_REQUIRED and t not in ACTION_REQUIRED_EDITABLE:
            out.append(
                Problem(None, col, "ACTION_NOT_PERMITTED", f"not editable while ReviewStatus is {review_status!r}")
            )
    return out
