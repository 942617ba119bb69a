"""The service model's constraints: types, required members, enums, patterns, bounds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from .._patterns import describe, example, example_date
from .._values import closest, is_blank
from ..exceptions import Problem
from ..quotas import ASSOCIATIONS_PER_OPPORTUNITY
from ..schema import Schema, compile_pattern, get_schema, is_date_pattern, label_for, length_bounds, template
from ..wire import input_shape
from ._facts import ASSOCIATIONS, UNENFORCED_PATTERNS, accepted_values, documented_range

# -- model constraints ----------------------------------------------------------------------------


def allowed_message(
    enum: tuple[str, ...], value: str, sensitive: bool, verb: str = "is not allowed", what: str = "allowed"
) -> str:
    """Return the words for a value none of ``enum``: the value (never a sensitive one), a near miss, the values.

    Examples
    --------
    >>> allowed_message(("Co-Sell", "For Visibility Only"), "Co-Sel", sensitive=False)
    "'Co-Sel' is not allowed; did you mean 'Co-Sell'? allowed: 'Co-Sell', 'For Visibility Only'"
    """
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
        out.append(Problem(None, path, "INVALID_ENUM_VALUE", allowed_message(tuple(enum), value, sensitive)))
        return
    t = template(path)
    accepted = accepted_values(t)
    if enum and accepted and value not in accepted:
        # model text, e.g. CurrencyCode: "Accepted values are USD (US Dollars) and EUR (Euros)."
        msg = allowed_message(accepted, value, sensitive, "is not accepted", "the model's documentation accepts")
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
    >>> from datetime import UTC, datetime
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


def association_problem(column: str, value: str) -> str | None:
    """Return why ``value`` is no identifier of the association column ``column``, or None when it fits its form.

    Each kind's item shape in RelatedEntityIdentifiers has the pattern AWS documents for it (Solutions ``S-`` and
    digits; an AWS Marketplace offer an ARN, model: "Each value is an Amazon Resource Name (ARN)";
    AssociateOpportunity's RelatedEntityIdentifier: "For Amazon Web Services Marketplace entities, provide the
    Amazon Resource Name (ARN)"). The message shows the model's own example where its text has one and the operation
    its text says lists them, never a regular expression nor the value.

    >>> association_problem("RelatedEntityIdentifiers.AwsMarketplaceOffers", "offer-1")  # doctest: +ELLIPSIS
    'is not in the form AWS takes for Related AWS marketplace offers, for example arn:aws:aws-marketplace:...'
    >>> association_problem("RelatedEntityIdentifiers.Solutions", "S-0000001") is None
    True
    """
    f = get_schema()[column]
    rx = compile_pattern(f.item_pattern)
    if rx is None or rx.fullmatch(value):
        return None
    examples = re.findall(r"(?:arn:aws:[^\s\"<]+|S-[0-9]+)", f.doc)
    shown = examples[0] if examples else example(f.item_pattern or "")
    like = f", for example {shown}" if shown else ""
    lists = re.findall(r"\b(List[A-Z]\w+)\b", f.doc)  # the operation the model says lists them
    where = f" ({lists[0]} lists them)" if lists else ""
    return f"is not in the form AWS takes for {label_for(column)}{like}{where}"


def association_count_problem(column: str, count: int) -> str | None:
    """Return why ``count`` entities are more than an opportunity takes in the association column ``column``, or None.

    The message does not name the column: the problem it goes in does (by its label, in a sheet).

    The quotas page's "Association quotas per opportunity" (:data:`opptoolkit.quotas.ASSOCIATIONS_PER_OPPORTUNITY`:
    AWS products 20, Partner Solutions 10, AWS Marketplace private offers 1, ...); a kind it names no quota for is
    never too many.

    >>> association_count_problem("RelatedEntityIdentifiers.AwsProducts", 21)
    'an opportunity takes at most 20 (quotas page) and this would make it 21: keep 20 or fewer'
    >>> association_count_problem("RelatedEntityIdentifiers.AwsProducts", 20) is None
    True
    """
    cap = ASSOCIATIONS_PER_OPPORTUNITY.get(ASSOCIATIONS[column])
    if cap is None or count <= cap:
        return None
    return f"an opportunity takes at most {cap} (quotas page) and this would make it {count}: keep {cap} or fewer"
