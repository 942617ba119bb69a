"""Pure planning of one edited row: diff against the base, three-way merge, payload, validation.

No client and no files: given the edited row, the base (the row as exported) and the server's
latest record, :func:`resolve` decides what a push does with the row and builds the payload it
would send. :mod:`opptoolkit.push` is the I/O loop around it (reads, sends, ledger).

Every UpdateOpportunity replaces the whole record, so:

* **changed** is decided against the *base*, and only columns present in the edited data can
  change (:func:`changes`);
* the payload is **the latest server record plus the row's changes**, sent with the
  LastModifiedDate of the record it was merged onto;
* when the server's record moved on since the base, a **three-way merge** keeps changes made on
  either side, and a field changed on both sides to different values makes the row a
  ``conflict`` (nothing is sent for it);
* the merged changes go to validation as they are (:func:`opptoolkit.rules.validate_payload`
  with ``changed=``): the rules about changes judge exactly what the edit changes.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, compress
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import fields as P
from ._status import Reason, Status
from ._values import Blank, display, is_blank, normalise
from .exceptions import Problem
from .frame import to_frame, to_payload
from .rules import (
    ASSOCIATIONS,
    AWS_PRODUCTS_URL,
    NOT_EDITS,
    PENDING_SUBMISSION,
    RELATED,
    SPEND_TARGET,
    association_items,
    association_key,
    association_problem,
    edit_ignored,
    editable_fields,
    is_read_only,
    model_problems,
    payload_warnings,
    related_of_row,
    validate_payload,
)
from .schema import ID, IDENTIFIER, Catalog, Schema, compile_pattern, get_schema, split_column, template
from .wire import input_shape, output_shape

__all__ = [
    "CHANGED_ON_SERVER",
    "KEPT_BLANK",
    "PARTNER_ID",
    "Row",
    "blank_notes",
    "changes",
    "client_token",
    "create_request",
    "duplicate_creates",
    "existing_record",
    "held_values",
    "id_problem",
    "intent",
    "resolve",
    "resolve_create",
    "sent_values",
    "unchanged_cells",
    "unchanged_rows",
]

#: CreateOpportunity's reference page (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_CreateOpportunity.html).
CREATE_PAGE = "https://docs.aws.amazon.com/partner-central/latest/APIReference/API_CreateOpportunity.html"
#: The members CreateOpportunity takes that UpdateOpportunity does not (the frame's output-only OpportunityTeam among them).
CREATE_ONLY = frozenset(input_shape("CreateOpportunity").members) - frozenset(input_shape("UpdateOpportunity").members)
TEAM = "OpportunityTeam"
#: What a conflict says of each field changed on both sides since the base (the three-way merge).
CHANGED_ON_SERVER = "changed on the server too"

NO_TOKEN = (
    "the row has no LastModifiedDate of its own, so a colleague's edit since the export cannot be told apart: "
    "export with LastModifiedDate or pass --base (base=)"
)


def id_problem(ident: str, operation: str = "GetOpportunity") -> Problem | None:
    """Return the model's rule that ``ident`` breaks as the ``Identifier`` of ``operation``, or None.

    A cell that is no opportunity Id is refused on its row (no read, no write), with the rule and never the
    value (it may be anything pasted into the column).

    Examples
    --------
    >>> id_problem("O7000000001") is None, str(id_problem("not an id"))
    (True, "Id: INVALID_STRING_FORMAT: is not in the format AWS accepts for Identifier, for example 'O60530'")
    """
    pattern = compile_pattern(input_shape(operation).members[IDENTIFIER].metadata.get("pattern"))
    if pattern is not None and pattern.fullmatch(ident):
        return None  # the usual Id, at a regular expression's speed
    found = [p for p in model_problems({"Catalog": "AWS", IDENTIFIER: ident}, operation) if p.field == IDENTIFIER]
    return Problem(None, ID, found[0].code, found[0].message) if found else None


def row_values(record: dict[str, Any] | None) -> dict[str, Any]:
    """Return a record as ``{column: value}`` (the flattened frame's row), or {} for None."""
    if record is None:
        return {}
    row = to_frame([record]).iloc[0]
    return {str(c): v for c, v in row.items() if not is_blank(v) or isinstance(v, list)}


def changes(
    edit: dict[str, Any],
    base: dict[str, Any],
    schema: Schema,
    blank: Blank,
    columns: Iterable[str] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """``{column: (old, new)}`` for the edited columns whose value differs from the base.

    ``blank`` is the policy for a blank cell: ``"keep"`` (not a change) or ``"clear"``.
    ``columns``, when given, are the only columns of ``edit`` that may differ (in ``edit``'s
    order; :func:`unchanged_cells` found the others certainly unchanged against this base).

    Parameters
    ----------
    edit, base : dict
        The edited row and the row as exported, ``{column: value}``.
    schema : Schema
        The schema (:func:`opptoolkit.get_schema`).
    blank : {"keep", "clear"}
        What a blank cell means.
    columns : iterable of str, optional
        The only columns that may differ.

    Returns
    -------
    dict of str to (old, new)
        The changes, old and new values normalised (an enum's spelling, a number typed as text).

    Examples
    --------
    >>> changes({"Id": "O1", "Project.Title": "B", "LifeCycle.Stage": "qualified"},
    ...         {"Id": "O1", "Project.Title": "A", "LifeCycle.Stage": "Qualified"}, get_schema(), "keep")
    {'Project.Title': ('A', 'B')}
    """
    out = {}
    for col, raw in edit.items() if columns is None else ((c, edit[c]) for c in columns):
        f = schema.field_for(col)
        if col in NOT_EDITS or not f.writable:
            continue  # the identity, the token, and members UpdateOpportunity does not take
        new = normalise(raw, f)
        old = normalise(base.get(col), f)
        if new is None and blank == "keep":
            continue
        if eol(new) != eol(old):
            out[col] = (old, new)
    return out


#: The association columns (rules.ASSOCIATIONS: solutions, AWS products, AWS Marketplace offers, ...) are sent by the
#: push as association calls (opptoolkit.partner, after the updates and creates): the plan says so rather than "not
#: sent".
ASSOCIATIONS_SENT = "push_updates sends it after the updates as AssociateOpportunity / DisassociateOpportunity calls"
#: What only AWS can tell of an association edit, said beside it: the API lists no AWS products, so an identifier is
#: checked against AWS's file only by AWS itself when the call is sent (rules.AWS_PRODUCTS_URL).
ASSOCIATIONS_UNCHECKED = {
    f"{RELATED}.AwsProducts": f"AWS alone tells whether each product is one it knows (its list: {AWS_PRODUCTS_URL})",
}


def ignored_edits(
    edit: dict[str, Any], base: dict[str, Any], schema: Schema, blank: Blank, columns: Iterable[str] | None = None
) -> list[Problem]:
    """Return a warning for each edited cell that no request can send.

    A member UpdateOpportunity does not take (``Arn``, ``CreatedDate``, ``RelatedEntityIdentifiers``,
    ``OpportunityTeam``), changed against the base. :func:`changes` leaves these out; the plan names them, so
    an edit is never dropped silently.

    >>> [str(p) for p in ignored_edits({"Id": "O1", "Arn": "arn:x"}, {"Id": "O1", "Arn": "arn:y"}, get_schema(), "keep")]
    ['Arn: ACTION_NOT_PERMITTED: output-only: set by AWS; this edit is not sent']
    """
    out = []
    for col, raw in edit.items() if columns is None else ((c, edit[c]) for c in columns):  # columns: as for changes
        f = schema.field_for(col)
        if f.writable or col in NOT_EDITS:
            continue
        new = normalise(raw, f)
        if new is None and blank == "keep":
            continue
        if eol(new) != eol(normalise(base.get(col), f)):
            if col in ASSOCIATIONS:  # a note, not a refusal: the push sends it, just not in this call
                note = "; ".join(["not part of UpdateOpportunity", ASSOCIATIONS_SENT, *_unchecked(col)])
                out.append(Problem(None, col, "ACTION_NOT_PERMITTED", note))
                # what the push will refuse of it (partner.association_calls), said before the push
                had = {association_key(v) for v in association_items(normalise(base.get(col), f)) or []}
                for item in association_items(new) or []:
                    if association_key(item) not in had and (rule := association_problem(col, item)):
                        refused = f"{rule}: the push refuses this association before any call"
                        out.append(Problem(None, col, "INVALID_STRING_FORMAT", refused))
                continue
            why = editable_fields(None, [col], schema=schema)[col]
            out.append(Problem(None, col, "ACTION_NOT_PERMITTED", f"{why}; this edit is not sent"))
    return out


def _unchecked(column: str) -> list[str]:
    return [ASSOCIATIONS_UNCHECKED[column]] if column in ASSOCIATIONS_UNCHECKED else []


def unchanged_rows(edit: pd.DataFrame, base: pd.DataFrame, schema: Schema, blank: Blank) -> np.ndarray:
    """Which rows of ``edit`` certainly have no :func:`changes` against the same position of ``base``.

    Column by column, over whole columns: a cell is certainly unchanged when it is blank under
    ``blank="keep"``, when both cells are blank, or when both are the same raw value (equal, of
    the same type, or the very same object: :func:`normalise` then makes the same of both). Anything else -- an enum
    respelled, a number typed as text, CR LF, a time in another zone -- is left to
    :func:`changes`, row by row: a row this leaves out may still turn out unchanged, a row it
    keeps never has a change. ``base`` is aligned with ``edit`` by position (same length).

    Parameters
    ----------
    edit, base : pandas.DataFrame
        The edited frame and the frame as exported, aligned by position.
    schema : Schema
        The schema (:func:`opptoolkit.get_schema`).
    blank : {"keep", "clear"}
        What a blank cell means.

    Returns
    -------
    numpy.ndarray of bool
        Per row of ``edit``: True when it certainly has no change.

    Examples
    --------
    >>> edit = pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["A", "B"]})
    >>> base = pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["A", "b"]})
    >>> unchanged_rows(edit, base, get_schema(), "keep").tolist()
    [True, False]
    """
    _, cells = unchanged_cells(edit, base, schema, blank)
    return np.asarray(cells.all(axis=0), dtype=bool)


def unchanged_cells(
    edit: pd.DataFrame, base: pd.DataFrame, schema: Schema, blank: Blank
) -> tuple[list[str], np.ndarray]:
    """Return the columns of ``edit`` that can hold an edit, and which of their cells are certainly unchanged.

    The columns are all but the identity and the token (an output-only member too, which :func:`ignored_edits`
    names); for each of them and each row, whether the cell is certainly unchanged against the same position
    of ``base`` (as :func:`unchanged_rows` decides it): a ``(columns, rows)`` array. A row's :func:`changes`
    and :func:`ignored_edits` can only be in the columns whose cell is False.

    Parameters
    ----------
    edit, base : pandas.DataFrame
        The edited frame and the frame as exported, aligned by position.
    schema : Schema
        The schema (:func:`opptoolkit.get_schema`).
    blank : {"keep", "clear"}
        What a blank cell means.

    Returns
    -------
    columns : list of str
        The columns that can hold an edit.
    cells : numpy.ndarray of bool
        ``(columns, rows)``: True where the cell is certainly unchanged.

    Examples
    --------
    >>> edit = pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["A", "B"], "Project.DeliveryModels": [["SaaS or PaaS"], None]})
    >>> base = pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["A", "b"]})
    >>> columns, cells = unchanged_cells(edit, base, get_schema(), "clear")
    >>> columns, cells.tolist()
    (['Project.Title', 'Project.DeliveryModels'], [[True, False], [False, True]])
    """
    columns, cells = [], []
    for col in edit.columns:
        if col in NOT_EDITS:
            continue  # as in changes: never an edit (an output-only member is compared: the plan names its edit)
        columns.append(str(col))
        cells.append(_unchanged(edit[col], base[col] if col in base.columns else None, blank))
    return columns, np.vstack(cells) if cells else np.ones((0, len(edit)), dtype=bool)


def _unchanged(e: pd.Series, b: pd.Series | None, blank: Blank) -> np.ndarray:
    """Per position, whether the cell ``e`` is certainly no change against ``b`` (None: the base has no such column)."""
    if b is not None and _arrow_text(e) and _arrow_text(b):
        return _unchanged_text(pa.array(e.array), pa.array(b.array), blank)
    if b is not None and e.dtype == object and b.dtype == object and (lists := _text_lists(e, b, blank)) is not None:
        return lists
    e = e.reset_index(drop=True)
    e_blank = blank_cells(e)
    if b is None:
        return e_blank  # no base value: only a blank is certainly no change (under either policy)
    b = b.reset_index(drop=True)
    b_blank = blank_cells(b)
    cells = (e_blank & b_blank) | (~e_blank & ~b_blank & _equal(e, b))
    if blank == "keep":
        cells |= e_blank  # a blank cell is no change
    return np.asarray(cells, dtype=bool)


def _arrow_text(s: pd.Series) -> bool:
    """Whether ``s`` is text held by Arrow (pandas' default ``str`` dtype)."""
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"


def _unchanged_text(e: pa.Array, b: pa.Array, blank: Blank) -> np.ndarray:
    """:func:`_unchanged` for two Arrow text columns, in Arrow's kernels.

    Blank is null or "", and two equal texts are the same value (as pandas' ``eq`` on these arrays decides).
    """
    equal = pc.equal(e, b)  # null where either side is null
    equal = pc.and_kleene(equal, pc.is_valid(equal))  # ... and no null left: False there
    e_blank = pc.or_kleene(pc.is_null(e), pc.equal(e, ""))  # true | null is true: no null left
    if blank == "keep":
        cells = pc.or_(equal, e_blank)  # equal, or a blank cell (no change)
    else:
        cells = pc.or_(equal, pc.and_(e_blank, pc.or_kleene(pc.is_null(b), pc.equal(b, ""))))
    return np.asarray(cells.to_numpy(zero_copy_only=False), dtype=bool)


def _text_lists(e: pd.Series, b: pd.Series, blank: Blank) -> np.ndarray | None:
    """:func:`_unchanged` for two columns whose cells are all None or lists of text, at C speed.

    Those are the frame's list columns, compared with no call per cell: a cell holding the very object of the
    base (a copy of the frame shares its lists) is unchanged; of the others, two lists of text that are equal
    are the same value (:func:`_same`). None when some other cell is anything else: :func:`blank_cells` and
    :func:`_equal` then judge cell by cell.
    """
    ev, bv = e.tolist(), b.tolist()
    n = len(ev)
    other = ~np.fromiter(map(operator.is_, ev, bv), dtype=bool, count=n)
    cells = np.ones(n, dtype=bool)
    if not other.any():
        return cells
    ev, bv = list(compress(ev, other.tolist())), list(compress(bv, other.tolist()))
    if not {*map(type, ev), *map(type, bv)} <= _NONE_OR_LIST:
        return None
    if (
        not {*map(type, chain.from_iterable(filter(None, ev))), *map(type, chain.from_iterable(filter(None, bv)))}
        <= _TEXT
    ):
        return None
    m = len(ev)
    e_blank = np.fromiter(map(operator.not_, ev), dtype=bool, count=m)  # None or [] (is_blank)
    b_blank = np.fromiter(map(operator.not_, bv), dtype=bool, count=m)
    equal = np.fromiter(map(operator.eq, ev, bv), dtype=bool, count=m)
    cells[other] = (e_blank & b_blank) | (~e_blank & ~b_blank & equal) | (e_blank if blank == "keep" else False)
    return cells


_NONE_OR_LIST = {type(None), list}


def _stringy(s: pd.Series) -> bool:
    """Whether every value of ``s`` is text or missing."""
    return isinstance(s.dtype, pd.StringDtype) or (
        s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    )


#: What the plan says of a cell emptied in the sheet under ``blank="keep"``: never silent (issue #31).
KEPT_BLANK = (
    "emptied in the sheet, but a blank cell keeps Partner Central's value, so nothing is sent for it; "
    "to clear it, push with --blank clear (blank='clear' in Python)"
)


def kept_blanks(edit: dict[str, Any], base: dict[str, Any], schema: Schema, blank: Blank) -> list[Problem]:
    """Return a warning (:data:`KEPT_BLANK`) for each writable cell of a row emptied where its base has a value.

    Only under ``blank="keep"``, where such a cell sends nothing; the row by row twin of :func:`emptied_cells`.

    >>> [str(p) for p in kept_blanks({"Id": "O1", "Project.Title": ""}, {"Id": "O1", "Project.Title": "A"},
    ...                              get_schema(), "keep")]  # doctest: +ELLIPSIS
    ["Project.Title: ACTION_NOT_PERMITTED: emptied in the sheet, but a blank cell keeps ..."]
    """
    if blank != "keep":
        return []
    out = []
    for col, value in edit.items():
        f = schema.fields.get(template(col))
        if col in NOT_EDITS or f is None or not f.writable or not is_blank(value) or is_blank(base.get(col)):
            continue
        out.append(col)
    return blank_notes(out)


def blank_notes(columns: Iterable[str]) -> list[Problem]:
    """Return the note (:data:`KEPT_BLANK`) of each of ``columns``: cells emptied in the sheet that a blank keeps.

    >>> [p.field for p in blank_notes(["Customer.Account.WebsiteUrl"])]
    ['Customer.Account.WebsiteUrl']
    """
    return [Problem(None, c, "ACTION_NOT_PERMITTED", KEPT_BLANK) for c in columns]


def emptied_cells(edit: pd.DataFrame, base: pd.DataFrame, schema: Schema) -> tuple[list[str], np.ndarray]:
    """Return the writable columns of ``edit`` and which of their cells are blank where ``base`` has a value.

    Under ``blank="keep"`` such a cell sends nothing, which the plan says (:data:`KEPT_BLANK`) rather than let an
    analyst believe the value is gone. ``base`` is aligned with ``edit`` by position.

    Examples
    --------
    >>> edit = pd.DataFrame({"Id": ["O1", "O2"], "Customer.Account.WebsiteUrl": ["", "https://b.example"]})
    >>> base = pd.DataFrame({"Id": ["O1", "O2"], "Customer.Account.WebsiteUrl": ["https://a.example", ""]})
    >>> columns, cells = emptied_cells(edit, base, get_schema())
    >>> columns, cells.tolist()
    (['Customer.Account.WebsiteUrl'], [[True, False]])
    """
    columns, cells = [], []
    for col in edit.columns:
        f = schema.fields.get(template(str(col)))
        if col in NOT_EDITS or col not in base.columns or f is None or not f.writable:
            continue
        columns.append(str(col))
        cells.append(blank_cells(edit[col]) & ~blank_cells(base[col]))
    return columns, np.vstack(cells) if cells else np.zeros((0, len(edit)), dtype=bool)


def blank_cells(s: pd.Series) -> np.ndarray:
    """:func:`is_blank` of each value of ``s``.

    >>> blank_cells(pd.Series(["a", "", None, [], ["x"]])).tolist()
    [False, True, True, True, False]
    """
    if _arrow_text(s):
        a = pa.array(s.array)
        return np.asarray(pc.or_kleene(pc.is_null(a), pc.equal(a, "")).to_numpy(zero_copy_only=False), dtype=bool)
    if _stringy(s):
        return np.asarray(s.isna() | s.eq("").fillna(False), dtype=bool)
    if s.dtype != object:
        return np.asarray(s.isna(), dtype=bool)
    return np.fromiter((is_blank(v) for v in s.tolist()), dtype=bool, count=len(s))


def blank_or_equal(s: pd.Series, value: str) -> np.ndarray:
    """Per value of ``s``: blank (:func:`is_blank`) or equal to ``value``.

    >>> blank_or_equal(pd.Series(["Sandbox", "AWS", None]), "Sandbox").tolist()
    [True, False, True]
    """
    if _stringy(s):
        return np.asarray(blank_cells(s) | np.asarray(s.eq(value).fillna(False), dtype=bool), dtype=bool)
    return np.fromiter((is_blank(v) or v == value for v in s.tolist()), dtype=bool, count=len(s))


def _equal(e: pd.Series, b: pd.Series) -> np.ndarray:
    """Per position, whether ``e`` and ``b`` certainly hold the same raw value (False when unsure)."""
    de, db = e.dtype, b.dtype
    trusted = (
        (_stringy(e) and _stringy(b))
        or (isinstance(de, pd.DatetimeTZDtype) and isinstance(db, pd.DatetimeTZDtype))
        or (isinstance(de, np.dtype) and de == db and de.kind in "biufM")
    )
    if trusted:  # one type on both sides: equal values are the same value
        return np.asarray(e.eq(b).fillna(False), dtype=bool)
    return np.fromiter((_same(x, y) for x, y in zip(e.tolist(), b.tolist(), strict=True)), dtype=bool, count=len(e))


_TEXT = {str}


def _same(x: Any, y: Any) -> bool:
    """Whether two raw cells are certainly the same value: of one type and equal (lists item by item).

    ``True == 1`` and an int equal to a float are not, since :func:`normalise` tells them apart.
    """
    t = type(x)
    if t is not type(y):
        return False
    if t is str:
        return bool(x == y)
    if (t is list or t is tuple) and x == y and {*map(type, x), *map(type, y)} <= _TEXT:
        return True  # the usual list cell: text items, compared at C speed
    if isinstance(x, np.ndarray):
        x, y = x.tolist(), y.tolist()
    if isinstance(x, (list, tuple)):
        return len(x) == len(y) and all(_same(a, c) for a, c in zip(x, y, strict=True))
    if isinstance(x, (str, bool, int, float, pd.Timestamp)):
        try:
            return bool(x == y)
        except (TypeError, ValueError):
            return False
    return False


def eol(value: Any) -> Any:
    """``value`` with line endings as LF, for comparing.

    Spreadsheet programs store line breaks as LF and turn CR LF into LF on save, which is not an edit.
    """
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, tuple):
        return tuple(eol(v) for v in value)
    return value


def apply(row: dict[str, Any], new_values: dict[str, Any]) -> dict[str, Any]:
    """Return a row with ``new_values`` ({column: new}) applied, in the frame's terms."""
    out = dict(row)
    for col, new in new_values.items():
        out[col] = list(new) if isinstance(new, tuple) else new
    return out


def payload_columns(row: dict[str, Any], columns: Iterable[str], schema: Schema) -> set[str]:
    """``columns`` of ``row`` named as :func:`opptoolkit.to_payload` indexes them, for validation.

    A payload leaves out the wholly blank entries of a list of structures, so the frame's
    ``Contacts[2]`` is the payload's ``Contacts[0]`` when entries 0 and 1 are blank, and the
    rules name the payload's entries. A column of an entry left wholly blank (removed) keeps its
    name: the payload has no entry for it.

    >>> payload_columns({"Customer.Contacts[2].Email": "a@b.co"}, ["Customer.Contacts[2].Email"], get_schema())
    {'Customer.Contacts[0].Email'}
    """
    out: set[str] = set()
    filled: dict[str, list[int]] = {}
    for col in columns:
        base, idx, member = split_column(col)
        if idx is None:
            out.add(col)
            continue
        if base not in filled:
            filled[base] = sorted({j for c, v in row.items() if (j := _entry(c, v, base, schema)) is not None})
        entries = filled[base]
        out.add(f"{base}[{entries.index(idx)}].{member}" if idx in entries else col)
    return out


def _entry(column: str, value: Any, base: str, schema: Schema) -> int | None:
    """Return the index of the entry of ``base`` that ``column`` gives a value to in a payload, or None."""
    b, idx, _ = split_column(column)
    if b != base or idx is None or is_blank(value):
        return None
    if isinstance(value, (list, tuple)) and all(is_blank(x) for x in value):
        return None
    try:
        sent = schema.field_for(column).writable
    except KeyError:
        sent = False  # a column the model does not know: never sent
    return idx if sent else None


def token(row: dict[str, Any]) -> pd.Timestamp | None:
    """Return the row's LastModifiedDate (the concurrency token) as a UTC Timestamp, or None."""
    v = row.get("LastModifiedDate")
    return None if is_blank(v) else normalise(v, get_schema()["LastModifiedDate"])


def intent(ident: str | None, values: Mapping[str, Any]) -> list[Any]:
    """Return a change as the ledger keys it: the Id and each column's new value, normalised, as text.

    The same for the values an update sends (:meth:`Row.intent`) and for those the server holds after it
    (:func:`held_values`), so the next run can tell from a read whether an update whose outcome was unknown
    landed, with no value in the ledger (it holds a keyed hash of this).

    Examples
    --------
    >>> intent("O1", {"Project.Title": "A", "LifeCycle.Stage": "Prospect"})
    ['O1', [('LifeCycle.Stage', "'Prospect'"), ('Project.Title', "'A'")]]
    """
    return [ident, sorted((c, display(n)) for c, n in values.items())]


def held_values(record: dict[str, Any], columns: Iterable[str], schema: Schema) -> dict[str, Any]:
    """Return the server's record's value of each column, normalised as an edit's new value is (:func:`changes`)."""
    row = row_values(record)
    return {c: normalise(row.get(c), schema.field_for(c)) for c in columns}


def sent_values(values: Mapping[str, Any]) -> list[Any]:
    """Return a create's values as the service will hold them, for a keyed fingerprint the next run can look for.

    The new opportunity's Id is not known until the create answers; when it did not, the next run looks among the
    opportunities created about then for the one holding these values. Left out: what the service may replace
    (model, ExpectedCustomerSpend.TargetCompany: "any other value will be automatically set to AWS").

    Examples
    --------
    >>> sent_values({"Project.Title": "A", "Project.ExpectedCustomerSpend[0].TargetCompany": "Partner"})
    [('Project.Title', "'A'")]
    """
    kept: list[Any] = intent(None, {c: n for c, n in values.items() if template(c) != SPEND_TARGET})[1]
    return kept


@dataclass
class Row:
    """One edited row on its way through plan -> merge -> push."""

    label: str
    id: str | None
    edit: dict[str, Any]
    action: str = Status.UNCHANGED
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    token: datetime | None = None
    note: str = ""
    #: the column-wise compare (:func:`unchanged_rows`) found no change against the base: the
    #: row is unchanged without more work, and ``edit`` is not built
    same: bool = False
    #: the columns of ``edit`` in which the row may differ from its base, in ``edit``'s order
    #: (:func:`unchanged_cells` found the others certainly unchanged against it); None: any
    maybe: list[str] | None = None
    #: a row without an Id: the CreateOpportunity ClientToken the push derived for it (:func:`client_token`)
    client_token: str | None = None
    #: the edited fields AWS keeps its own value of (:func:`opptoolkit.rules.edit_ignored`), each with why: not in
    #: ``changes``, never sent as changed
    kept: list[Problem] = field(default_factory=list)
    #: the cells emptied in the sheet where the base has a value, which ``blank="keep"`` keeps
    #: (:func:`kept_blanks`): never sent, and said in the row's outcome so that no clear is believed silently
    emptied: list[Problem] = field(default_factory=list)
    #: a row without an Id: its request as the ledger names it (the ledger's keyed change key)
    request_key: str | None = None
    #: refused before planning (its Id is no opportunity Id: :func:`id_problem`): nothing of it is read or sent,
    #: and the ledger does not keep its Id
    refused: bool = False

    def intent(self) -> list[Any]:
        """Return the intended change (Id + new values), for the ledger's keyed ``change_key``."""
        return intent(self.id, {c: n for c, (_, n) in self.changes.items()})

    def sent(self) -> list[Any]:
        """Return the values a create sends as the server will hold them (:func:`sent_values`)."""
        return sent_values({c: n for c, (_, n) in self.changes.items()})

    def plan_row(self) -> dict[str, Any]:
        """Return the row as :func:`opptoolkit.plan_updates` reports it."""
        return {
            "row": self.label,
            "Id": self.id,
            "action": self.action,
            "changes": [f"{c}: {display(o)} → {display(n)}" for c, (o, n) in self.changes.items()],
            "changed_fields": list(self.changes),
            "errors": [str(p) for p in self.problems] + [f"{c}: {CHANGED_ON_SERVER}" for c in self.conflicts],
            # each error apart, in parallel: its code (for a filter or a count), the field's API path (the cell to
            # mark; "" for the whole row) and the message alone; ``errors`` keeps them in words
            "error_codes": [p.code for p in self.problems] + [str(Reason.CONFLICT)] * len(self.conflicts),
            "error_fields": [p.field for p in self.problems] + list(self.conflicts),
            "error_texts": [p.message for p in self.problems] + [CHANGED_ON_SERVER] * len(self.conflicts),
            "warnings": [str(p) for p in self.warnings],
            "note": self.note,
        }


def resolve(
    row: Row,
    base: dict[str, Any] | None,
    latest: dict[str, Any] | None,
    schema: Schema,
    blank: Blank,
    catalog: Catalog,
    today: date | None,
) -> None:
    """Decide the row's action and build its payload: the latest record + the row's changes.

    ``base`` is the row as exported (``{column: value}``; None: not known, the latest is taken
    as the base); ``latest`` the server's record now (None: not read -- a local dry run).

    Parameters
    ----------
    row : Row
        The row; its ``action``, ``changes``, ``problems``, ``warnings``, ``payload`` and ``token`` are set.
    base : dict or None
        The row as exported, ``{column: value}``.
    latest : dict or None
        The server's record now (a GetOpportunity response).
    schema : Schema
        The schema (:func:`opptoolkit.get_schema`).
    blank : {"keep", "clear"}
        What a blank cell means.
    catalog : {"AWS", "Sandbox"}
        The catalog the push goes to.
    today : date or None
        For the date rules (None: today, UTC).

    Examples
    --------
    >>> from opptoolkit import to_frame
    >>> from opptoolkit.sandbox import load_seed
    >>> latest = next(r for r in load_seed() if r["Id"] == "O7000000001")
    >>> base = to_frame([latest]).iloc[0].to_dict()
    >>> row = Row(label="2", id="O7000000001", edit=dict(base, **{"LifeCycle.NextSteps": "Call the CFO"}))
    >>> resolve(row, base, latest, get_schema(), "keep", "Sandbox", None)
    >>> str(row.action), list(row.changes), row.payload["LifeCycle"]["NextSteps"]
    ('update', ['LifeCycle.NextSteps'], 'Call the CFO')
    """
    latest_row = row_values(latest) if latest is not None else None
    row.kept = []
    if base is None and latest_row is None:
        row.action, row.note = Status.NOT_FOUND, "no such opportunity in the base or on the server"
        return
    base_row = base if base is not None else latest_row
    assert base_row is not None
    if base_row.get("Catalog") not in (None, catalog):
        row.action, row.note = Status.INVALID, f"the row belongs to catalog {base_row.get('Catalog')}, not {catalog}"
        return
    maybe = row.maybe if base is not None else None  # found against this base by the column-wise compare
    row.changes = changes(row.edit, base_row, schema, blank, maybe)
    # without a base the latest record is the base: its output-only members may have moved on
    # since the export (a solution associated), which is no edit of the analyst's
    ignored = (
        ignored_edits(row.edit, base_row, schema, blank, maybe)
        if base is not None or token(row.edit) == token(base_row)
        else []
    )
    row.emptied = emptied = kept_blanks(row.edit, base_row, schema, blank)  # said, never silent (issue #31)
    row.warnings = ignored + emptied
    if not row.changes:
        row.action = Status.UNCHANGED
        return
    onto = latest_row if latest_row is not None else base_row  # the server's full record when read
    base_token, exported = token(base_row), token(row.edit)
    if (base is None and exported is None) or base_token is None:
        # the row's own token is what tells a colleague's edit from ours; a token read just now
        # would make UpdateOpportunity overwrite whatever changed since the export
        row.action = Status.NO_TOKEN
        row.problems = [Problem(None, "LastModifiedDate", "REQUIRED_FIELD_MISSING", NO_TOKEN)]
        return
    if latest_row is not None and token(latest_row) != base_token:
        # the server moved on since the base: three-way merge, field by field
        remaining = {}
        for col, (old, new) in row.changes.items():
            server = eol(normalise(latest_row.get(col), schema.field_for(col)))
            if server == eol(new):
                continue  # already so on the server
            if server != eol(old):
                row.conflicts.append(col)
            remaining[col] = (old, new)
        if row.conflicts:
            row.action = Status.CONFLICT
            row.note = f"changed on the server since the base ({display(base_token)})"
            return
        if not remaining:
            row.action, row.note = Status.UNCHANGED, "the server already has these values"
            return
        row.changes, onto = remaining, latest_row
    elif base is None and exported is not None and exported != base_token:
        # no base given and the export is older than the server's record: the edits cannot be
        # told apart from stale values, so nothing is sent
        row.action, row.conflicts = Status.CONFLICT, list(row.changes)
        row.note = "the record changed on the server since this export; pass base= (the export or a mirror) to merge"
        return
    status = onto.get(P.REVIEW_STATUS)
    # AWS answers an update of these fields and keeps its own value (edit_ignored): such a change is never sent as
    # one, and a row of nothing else spends no write
    row.kept = [Problem(None, c, "ACTION_NOT_PERMITTED", why) for c in row.changes if (why := edit_ignored(status, c))]
    if row.kept and len(row.kept) == len(row.changes):
        row.action, row.problems = Status.NOT_EDITABLE, list(row.kept)
        row.note = f"ReviewStatus is {status!r}: AWS would keep its own value of every changed field; not sent"
        return
    if row.kept:
        row.changes = {c: v for c, v in row.changes.items() if c not in {k.field for k in row.kept}}
    merged = apply(onto, {c: n for c, (_, n) in row.changes.items()})
    payload = to_payload(merged)
    merged_token = token(onto)
    stamp = None if merged_token is None else merged_token.to_pydatetime()
    payload.update({"Catalog": catalog, "LastModifiedDate": stamp})
    row.payload, row.token = payload, stamp
    # the record's associations: from the server's record when read, else what the base lists
    related = (latest.get("RelatedEntityIdentifiers") or {}) if latest is not None else related_of_row(onto)
    changed = payload_columns(merged, row.changes, schema)
    # the server's record, so that a value AWS answered outside the model's enum is sent back as it is
    # (rules.model_problems' ``stored``); not read, the export holds what AWS answered (built only when needed)
    row.problems = validate_payload(
        payload, changed=changed, review_status=status, related=related, today=today, stored=latest
    )
    if latest is None and any(p.code == "INVALID_ENUM_VALUE" for p in row.problems):
        row.problems = validate_payload(
            payload, changed=changed, review_status=status, related=related, today=today, stored=to_payload(onto)
        )
    row.warnings = (
        ignored
        + emptied
        + row.kept
        + payload_warnings(payload, changed=changed, related=related, review_status=status, stage=onto.get(P.STAGE))
    )
    if any(p.code == "ACTION_NOT_PERMITTED" for p in row.problems):
        row.action = Status.NOT_EDITABLE
        row.note = f"ReviewStatus is {status!r}"
    elif row.problems:
        row.action = Status.INVALID
    else:
        row.action = Status.UPDATE


def resolve_create(row: Row, schema: Schema, catalog: Catalog, today: date | None) -> None:
    """Plan a row without an Id: the CreateOpportunity payload of its filled cells, validated.

    The payload is the row's filled cells of the members UpdateOpportunity also takes (the frame's
    writable fields), with ``Catalog``; the ``ClientToken`` is the push's (:func:`opptoolkit.push_updates`
    derives it from the ledger and the payload). Validated as an update is, by the same rules
    (:func:`opptoolkit.rules.validate_payload`) against CreateOpportunity's input shape, every cell a
    change, and with no association (a new record has none: Committed and Launched need a solution).
    What a create cannot send is named, never dropped silently:

    * ``RelatedEntityIdentifiers``: "cannot be updated using the UpdateOpportunity or CreateOpportunity"
      (model, RelatedEntityIdentifiers); associations are ``AssociateOpportunity`` calls;
    * ``LifeCycle.ReviewStatus`` and the reviewer's members: "Creating an opportunity sets
      Lifecycle.ReviewStatus to Pending Submission" (:data:`CREATE_PAGE`);
    * the other members AWS sets (``Arn``, ``CreatedDate`` ...).

    ``OpportunityTeam``, which CreateOpportunity takes and UpdateOpportunity does not, is sent.

    A row with nothing to send is ``unchanged``.

    Examples
    --------
    >>> row = Row(label="5", id=None, edit={"Id": None, "Project.Title": "New deal", "Arn": "arn:x"})
    >>> resolve_create(row, get_schema(), "Sandbox", None)
    >>> str(row.action), row.payload, [str(w) for w in row.warnings]
    ('create', {'Project': {'Title': 'New deal'}, 'Catalog': 'Sandbox'}, ['Arn: ACTION_NOT_PERMITTED: output-only: set by AWS; not sent by CreateOpportunity'])
    >>> row.changes
    {'Project.Title': (None, 'New deal')}
    """
    send: dict[str, Any] = {}
    team: dict[int, dict[str, Any]] = {}
    dropped: dict[str, str] = {}  # field (a list's entries once) -> why it is not sent
    for col, value in row.edit.items():
        if col in NOT_EDITS or is_blank(value):
            continue
        f = schema.field_for(col)
        base, idx, member = split_column(col)
        if base == TEAM and idx is not None and TEAM in CREATE_ONLY:
            team.setdefault(idx, {})[member] = value  # CreateOpportunity takes it, UpdateOpportunity does not
            row.changes[col] = (None, normalise(value, f))
        elif not f.writable:
            why = (
                "associations are AssociateOpportunity calls, never part of CreateOpportunity (model)"
                + (f"; {ASSOCIATIONS_SENT}" if col in ASSOCIATIONS else "")
                if col.startswith(RELATED)
                else "output-only: set by AWS; not sent by CreateOpportunity"
            )
            dropped.setdefault(base if idx is not None else col, why)
        elif is_read_only(template(col)):
            if P.NEXT_STEPS_HISTORY in (col, base):
                dropped.setdefault(base, "set by AWS from each NextSteps; not sent")
            elif normalise(value, f) != PENDING_SUBMISSION:
                dropped[col] = (
                    f"set by AWS's review: creating an opportunity sets ReviewStatus to {PENDING_SUBMISSION!r} ({CREATE_PAGE}); not sent"
                )
        else:
            send[col] = value
            row.changes[col] = (None, normalise(value, f))
    warnings = [Problem(None, c, "ACTION_NOT_PERMITTED", why) for c, why in dropped.items()]
    row.warnings = warnings
    if not send and not team:
        row.action, row.note = Status.UNCHANGED, "no Id and no value to create an opportunity from"
        return
    payload = to_payload(send)
    payload.pop("Identifier", None)
    if team:
        payload[TEAM] = [team[i] for i in sorted(team)]
    payload["Catalog"] = catalog
    row.payload = payload
    changed = payload_columns(send, row.changes, schema)
    probe = {**payload, "ClientToken": row.client_token or "planned"}  # the model requires one; the push's is valid
    row.problems = validate_payload(probe, operation="CreateOpportunity", changed=changed, related={}, today=today)
    row.warnings = warnings + payload_warnings(payload, changed=changed, related={})
    row.action = Status.INVALID if row.problems else Status.CREATE
    row.note = "new: no Id"


#: The member that names a new row across pushes (model, PartnerOpportunityIdentifier: "the
#: opportunity's unique identifier in the partner's CRM system").
PARTNER_ID = "PartnerOpportunityIdentifier"


def create_request(payload: dict[str, Any]) -> list[Any]:
    """Return what names a new row's CreateOpportunity request: its ClientToken is derived from it.

    The partner's CRM id when the row has one: a row edited after an earlier push created it (or left
    its create unknown) is still the same request, so AWS answers with that opportunity or refuses the
    other body (model, ClientToken: "Conflicting client token submitted for a new request body"), never
    creates a second one. Without it, the whole payload: the same cells are the same request.

    Examples
    --------
    >>> create_request({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": "CRM-1", "Project": {"Title": "A"}})
    ['PartnerOpportunityIdentifier', 'Sandbox', 'CRM-1']
    """
    ident = payload.get(PARTNER_ID)
    return [PARTNER_ID, payload.get("Catalog"), ident] if ident else [payload]


def client_token(payload: dict[str, Any]) -> str:
    """Return the ClientToken of a new row's CreateOpportunity: the same wherever the row is pushed from.

    The model's ClientToken is "Required to be unique, and should be unchanging", and the service answers a
    repeated token with the opportunity it created ("If you use the same client token, the API returns the
    following error: 'Conflicting client token submitted for a new request body.'" for another body). So the
    token is derived from what names the opportunity to the team (:func:`create_request`: the catalog and
    the partner's CRM id, else the row's cells), and from nothing else: the same row pushed from any ledger,
    folder or colleague sends the same token, and AWS creates it once.

    Why a plain SHA-256 and not a keyed hash (as the ledger's change keys are): a key would have to be shared
    by everyone who may push the row, and a secret shared so widely is none (a key per ledger is what made
    two ledgers create a row twice). The token reveals nothing AWS does not get anyway: it travels only in
    the very request that carries the CRM id and the cells it is derived from. It is never written to the
    ledger or a log, where a guessed CRM id could be checked against it: the ledger records the request by
    its keyed change key (:meth:`opptoolkit.ledger.Ledger.key`).

    Examples
    --------
    >>> a = client_token({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": "CRM-1", "Project": {"Title": "A"}})
    >>> b = client_token({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": "CRM-1", "Project": {"Title": "B"}})
    >>> a == b, a.startswith("opptoolkit-"), len(a)
    (True, True, 75)
    """
    return (
        "opptoolkit-" + hashlib.sha256(_canonical(["CreateOpportunity", *create_request(payload)]).encode()).hexdigest()
    )


#: The members only an existing record has: GetOpportunity answers them, CreateOpportunity takes none of them
#: (the service sets them), less the row's own Id and the associations (a new row's solutions column asks for
#: AssociateOpportunity calls after its create). Arn, LastModifiedDate, CreatedDate as the model stands.
TRACES = tuple(
    m
    for m in output_shape("GetOpportunity").members
    if m not in input_shape("CreateOpportunity").members and m not in (ID, RELATED)
)
#: An opportunity's ARN ends in ``opportunity/<Id>`` (the recorded GetOpportunity answers, DESIGN.md).
_ARN_ID = re.compile(r"/opportunity/(O[0-9]+)$")


def existing_record(row: Row, *, base_id: str | None = None, why: str = "") -> bool:
    """Refuse a row without an Id that is an existing opportunity: it is never planned as a create.

    A row is one when it carries a member only an existing record has (:data:`TRACES`: an exported row whose Id
    was cleared, or whose Id column was deleted), or when the caller found it in the base (``base_id``, and
    ``why``: its partner CRM id is that record's, or it is that record cell for cell). The row becomes
    ``invalid`` with one problem saying what to do (restore its Id), so an edit is never sent as a second
    opportunity. Returns whether it was refused.

    Examples
    --------
    >>> row = Row(label="3", id=None, edit={"Id": None, "Project.Title": "A",
    ...           "Arn": "arn:aws:partnercentral:us-east-1:1:catalog/Sandbox/opportunity/O42"})
    >>> resolve_create(row, get_schema(), "Sandbox", None)
    >>> existing_record(row), str(row.action), row.problems[0].code
    (True, 'invalid', 'REQUIRED_FIELD_MISSING')
    >>> row.problems[0].message  # doctest: +ELLIPSIS
    'the row has no Id but carries the Arn of an existing opportunity (O42): restore its Id (O42) to edit it...'
    """
    found = [m for m in TRACES if not is_blank(row.edit.get(m))]
    if not found and base_id is None:
        return False
    ident = base_id
    if ident is None and isinstance(arn := row.edit.get("Arn"), str) and (m := _ARN_ID.search(arn.strip())):
        ident = m.group(1)
    named = f" ({ident})" if ident else ""
    if found:
        what = ", ".join(found[:-1]) + (" and " if len(found) > 1 else "") + found[-1]
        message = (
            f"the row has no Id but carries the {what} of an existing opportunity{named}: restore its Id{named} to "
            f"edit it; to create a new opportunity from it, clear its {what} cells too"
        )
    else:
        message = (
            f"the row has no Id but {why} {ident} in the export: it is that opportunity, not a new one; restore its "
            f"Id ({ident}) to edit it"
        )
    row.problems = [Problem(None, ID, "REQUIRED_FIELD_MISSING", message)]
    row.action, row.note = Status.INVALID, "an existing opportunity without its Id"
    return True


def duplicate_creates(rows: Iterable[Row]) -> None:
    """Refuse each planned create that repeats an earlier row's request: one opportunity would serve both.

    The same partner CRM id, or (rows without one) the same cells: see :func:`create_request`.
    """
    seen: dict[str, str] = {}
    for r in rows:
        if r.action != Status.CREATE or r.payload is None:
            continue
        request = create_request(r.payload)
        digest = _canonical(request)
        if digest in seen:
            what = "partner opportunity id" if request[0] == PARTNER_ID else "cells"
            msg = (
                f"the same {what} as row {seen[digest]}: one opportunity would be created for both; "
                "delete one or make them differ"
            )
            r.problems.append(Problem(None, PARTNER_ID if request[0] == PARTNER_ID else ID, "INVALID_VALUE", msg))
            r.action = Status.INVALID
        else:
            seen[digest] = r.label


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
