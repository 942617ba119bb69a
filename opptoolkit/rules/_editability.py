"""Editability: which changes a record's ReviewStatus refuses, and which AWS answers and does not apply."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ..exceptions import Problem
from ..schema import Schema, get_schema, label_for, template
from ._facts import (
    ACTION_REQUIRED,
    ACTION_REQUIRED_EDITABLE,
    APPROVED,
    APPROVED_LOCKED,
    ASSOCIATIONS,
    LOCKED_STATUSES,
    NOT_EDITS,
    READ_ONLY,
)

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
        if col in ASSOCIATIONS:
            out[col] = None  # not an UpdateOpportunity member, but a push sends its edits as association calls
        elif not schema.field_for(col).writable:
            out[col] = "output-only: set by AWS"
        elif col in NOT_EDITS:
            out[col] = "identifies the record"
        else:
            out[col] = edit_refusal(review_status, col) or edit_ignored(review_status, col)
    return out
