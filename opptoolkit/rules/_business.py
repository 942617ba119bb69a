"""The documented business rules, the plan's warnings and the submission's readiness."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime
from typing import Any

from .. import fields as P
from .._values import is_blank
from ..exceptions import Problem
from ..schema import Schema, compile_pattern, get_schema, shape_value, template
from ..wire import input_shape
from ._editability import check_editable, edit_ignored
from ._facts import (
    ACTION_REQUIRED,
    CLOSED_LOST,
    DURATION,
    FREQUENCY_FOR,
    GOVERNMENT,
    NEEDS_SOLUTION,
    NO,
    ONE_TIME,
    OTHER_COMPETITOR,
    OTHER_INDUSTRY,
    OTHER_SOLUTION,
    PARTITION,
    PENDING_SUBMISSION,
    RELATED,
    SELF,
    SOLUTION_KINDS,
    SPEND_FREQUENCY,
    TARGET_COMPANY,
    YES,
    changed_columns,
    documented_values,
    flatten_payload,
    model_value,
    required_for_partition,
    value_at,
)
from ._model import allowed_message, model_problems
from ._sheet import sheet_warnings

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
    account = value_at(payload, P.ACCOUNT)
    if (
        isinstance(account, Mapping)
        and is_blank(value_at(payload, P.WEBSITE))
        and value_at(payload, P.NATIONAL_SECURITY) != YES
    ):
        bad(P.WEBSITE, "REQUIRED_FIELD_MISSING", f"is required unless {P.NATIONAL_SECURITY} is {YES!r}")
    # UpdateOpportunity page, NationalSecurity: "only applicable when the industry is Government".
    if value_at(payload, P.NATIONAL_SECURITY) == YES and value_at(payload, P.INDUSTRY) != GOVERNMENT:
        bad(P.NATIONAL_SECURITY, "INVALID_VALUE", f"{YES!r} is only allowed when {P.INDUSTRY} is {GOVERNMENT!r}")
    # UpdateOpportunity page, OtherCompetitorNames: "Only allowed when CompetitorNames has Other selected".
    _pair(payload, P.COMPETITOR, OTHER_COMPETITOR, P.OTHER_COMPETITORS, bad)
    # UpdateOpportunity page, ClosedLostReason: "the reason code when an opportunity is marked as Closed Lost".
    _pair(payload, P.STAGE, CLOSED_LOST, P.CLOSED_LOST_REASON, bad)
    # UpdateOpportunity page, Marketing.UseCases: "Must be empty when Marketing.AWSFundingUsed = No".
    if value_at(payload, P.FUNDING) == NO and not is_blank(value_at(payload, P.USE_CASES)):
        bad(P.USE_CASES, "INVALID_VALUE", f"must be empty when {P.FUNDING} is {NO!r}")
    # UpdateOpportunity page, TargetCloseDate: "Ensure the Target Close Date isn't in the past." Checked when
    # the date is being set or changed, so an old record can still be edited elsewhere.
    tcd = value_at(payload, P.TARGET_CLOSE)
    if isinstance(tcd, str) and (changed is None or P.TARGET_CLOSE in changed):
        try:
            if date.fromisoformat(tcd) < today:
                bad(P.TARGET_CLOSE, "INVALID_VALUE", f"must not be in the past (today is {today.isoformat()})")
        except ValueError:
            pass  # the pattern check reports it
    cols = flatten_payload(payload)
    partition = value_at(payload, PARTITION)
    for col, value in cols.items():
        tied = required_for_partition(template(col))
        # model, CurrencyCode: "If the AWS Partition is aws-eusc (AWS European Sovereign Cloud), the
        # currency code must be EUR."
        if tied is not None and partition == tied[0] and value != tied[1]:
            bad(col, "INVALID_VALUE", f"must be {tied[1]!r} when {PARTITION} is {tied[0]!r}")
    has_duration = not is_blank(value_at(payload, DURATION))
    for i, spend in enumerate(value_at(payload, P.SPEND) or []):
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
        if want is not None and want in get_schema()[SPEND_FREQUENCY].enum and frequency != want:
            bad(f"{at}.Frequency", "INVALID_VALUE", f"must be {want!r} for TargetCompany {target!r}")
    stage = value_at(payload, P.STAGE)
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
                    msg = allowed_message(
                        listed,
                        v,
                        sensitive,
                        "is not one of the values the model documents (AWS may refuse it)",
                        "documented",
                    )
                    out.append(Problem(None, col, "INVALID_VALUE", msg))
    has_duration = not is_blank(value_at(payload, DURATION))
    for i, spend in enumerate(value_at(payload, P.SPEND) or []):
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
        elif has_duration and target == SELF and ONE_TIME not in schema[SPEND_FREQUENCY].enum:
            out.append(
                Problem(
                    None,
                    f"{at}.Frequency",
                    "INVALID_VALUE",
                    f"the model's text asks for Frequency {ONE_TIME!r} on {SELF!r} entries, which its Frequency "
                    "values do not offer: AWS may refuse the entry",
                )
            )


def _pair(payload: Mapping[str, Any], field: str, value: str, other: str, bad: Any) -> None:
    """``other`` is required when ``field`` is ``value`` and allowed only then."""
    has_other = not is_blank(value_at(payload, other))
    if value_at(payload, field) == value and not has_other:
        bad(other, "REQUIRED_FIELD_MISSING", f"is required when {field} is {value!r}")
    elif has_other and value_at(payload, field) != value:
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
        status = review_status if review_status is not None or base is None else value_at(base, P.REVIEW_STATUS)
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
    sheet_warnings(payload, cols, stage if stage is not None or base is None else value_at(base, P.STAGE), out)
    status = review_status if review_status is not None or base is None else value_at(base, P.REVIEW_STATUS)
    for col in sorted(cols or ()):
        why = edit_ignored(status, col)
        if why is not None:
            out.append(Problem(None, col, "ACTION_NOT_PERMITTED", why))
    stage = value_at(payload, P.STAGE)
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
AWS_REFERRAL = shape_value(input_shape("CreateOpportunity").members["Origin"].name, "AWS Referral")
MAX_SOLUTIONS = 10
#: model, LifeCycle.Stage, Prospect: "must be matured to Qualified before submission" (checked at import)
PROSPECT, QUALIFIED = model_value(P.STAGE, "Prospect"), model_value(P.STAGE, "Qualified")


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
    status = value_at(record, P.REVIEW_STATUS)
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
    if value_at(record, P.STAGE) == PROSPECT:
        msg = f"the model's text asks to mature a {PROSPECT!r} opportunity to {QUALIFIED!r} before submission"
        out.append(Problem(None, P.STAGE, "INVALID_VALUE", msg))
    return out
