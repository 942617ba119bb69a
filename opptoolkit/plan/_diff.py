"""What an edit changes: the diff of a row against its base, and the column-wise compare of whole frames.

:func:`changes` is a row's diff (what the merge and the payload start from); :func:`unchanged_cells` finds, over
whole columns at once, the cells that certainly hold no change, so that only the others are diffed row by row;
:func:`kept_blanks` and :func:`emptied_cells` name the cells emptied in the sheet that a blank keeps.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from decimal import Decimal
from itertools import chain, compress
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._values import Blank, is_blank, normalise
from ..exceptions import Problem
from ..frame import to_frame
from ..rules import (
    ASSOCIATIONS,
    AWS_PRODUCTS_URL,
    NOT_EDITS,
    RELATED,
    association_count_problem,
    association_items,
    association_key,
    association_keys,
    association_problem,
    editable_fields,
)
from ..schema import (
    Field,
    Schema,
    get_schema,  # noqa: F401 (the examples use it)
    template,
)


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
        if not same_value(old, new, f):
            out[col] = (old, new)
    return out


#: The association columns (rules.ASSOCIATIONS: solutions, AWS products, AWS Marketplace offers, ...) are sent by the
#: push as association calls (opptoolkit.partner, after the updates and creates): the plan says so rather than "not
#: sent".
ASSOCIATIONS_SENT = "push_updates sends it after the updates as AssociateOpportunity / DisassociateOpportunity calls"
#: The note of a row whose only edits are its association columns: planned ``update``, though it sends no
#: UpdateOpportunity (the push's row rolls its association calls' outcomes up).
ASSOCIATIONS_ONLY = (
    "associations only: sent as AssociateOpportunity / DisassociateOpportunity calls, no UpdateOpportunity"
)
#: Said of an association column whose row lacks an entity the server has, planned without a base: the push never
#: disassociates then (partner.association_calls: without a base, one missing may have been added since the export).
NOT_DISASSOCIATED = (
    "the row lacks one the server has: it is not disassociated without the export the row was edited from (it may"
    " have been associated after the export); push with that export as the base to take it out"
)
#: What only AWS can tell of an association edit, said beside it: the API lists no AWS products, so an identifier is
#: checked against AWS's file only by AWS itself when the call is sent (rules.AWS_PRODUCTS_URL).
ASSOCIATIONS_UNCHECKED = {
    f"{RELATED}.AwsProducts": f"AWS alone tells whether each product is one it knows (its list: {AWS_PRODUCTS_URL})",
}


#: The code of an association the push refuses before any call (:func:`opptoolkit.rules.association_problem`).
ASSOCIATION_REFUSED = "INVALID_STRING_FORMAT"
#: The codes of the association edits the push refuses before any call: an identifier not in its kind's form, more
#: of a kind than the quotas page allows (:func:`opptoolkit.rules.association_count_problem`).
ASSOCIATION_REFUSALS = (ASSOCIATION_REFUSED, "TOO_MANY_VALUES")
REFUSED_BEFORE_ANY_CALL = "the push refuses this association before any call"


def association_edits(
    edit: dict[str, Any], base: dict[str, Any], schema: Schema, blank: Blank, columns: Iterable[str] | None = None
) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """``{column: (old, new)}`` for the association columns whose edit asks for an association call.

    :func:`changes` leaves these columns out (UpdateOpportunity does not take them); the push sends each entity
    added or taken out as an AssociateOpportunity / DisassociateOpportunity call
    (:func:`opptoolkit.partner.association_calls`), comparing what identifies an entity
    (:func:`opptoolkit.rules.association_key`): the same entities in another order, or an offer's ARN for its id,
    are no edit. A blank cell asks for nothing under ``blank="keep"`` and for none of its kind under ``"clear"``.
    ``columns`` as for :func:`changes`.

    >>> association_edits({"RelatedEntityIdentifiers.Solutions": "S-2, S-1"},
    ...                   {"RelatedEntityIdentifiers.Solutions": ["S-1"]}, get_schema(), "keep")
    {'RelatedEntityIdentifiers.Solutions': (('S-1',), ('S-2', 'S-1'))}
    """
    out = {}
    for col in edit if columns is None else columns:
        if col not in ASSOCIATIONS:
            continue
        new = association_items(edit[col])
        if new is None and blank == "keep":
            continue
        old = association_items(base.get(col)) or []
        if association_keys(old) != association_keys(new):
            out[col] = (tuple(old), tuple(new or ()))
    return out


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
    for col, (old, new) in association_edits(edit, base, schema, blank, columns).items():
        # what the push will refuse of it (partner.association_calls), said before the push; the push counts against
        # what the server has, the plan against the base, which it takes the server to have
        if too_many := association_count_problem(col, len(association_keys(new))):
            # none of the column's calls is sent
            out.append(Problem(None, col, "TOO_MANY_VALUES", f"{too_many}: {REFUSED_BEFORE_ANY_CALL}"))
            continue
        # a note, not a refusal: the push sends it, just not in this call
        note = "; ".join(["not part of UpdateOpportunity", ASSOCIATIONS_SENT, *_unchecked(col)])
        out.append(Problem(None, col, "ACTION_NOT_PERMITTED", note))
        had = association_keys(old)
        for item in new or ():
            if association_key(item) not in had and (rule := association_problem(col, item)):
                out.append(Problem(None, col, ASSOCIATION_REFUSED, f"{rule}: {REFUSED_BEFORE_ANY_CALL}"))
    for col, raw in edit.items() if columns is None else ((c, edit[c]) for c in columns):  # columns: as for changes
        f = schema.field_for(col)
        if f.writable or col in NOT_EDITS or col in ASSOCIATIONS:
            continue
        new = normalise(raw, f)
        if new is None and blank == "keep":
            continue
        if not same_value(normalise(base.get(col), f), new, f):
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
    columns, cells, _ = compared_cells(edit, base, schema, blank)
    return columns, cells


def compared_cells(
    edit: pd.DataFrame, base: pd.DataFrame, schema: Schema, blank: Blank
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return :func:`unchanged_cells`' columns and cells, and in the same pass which cells are blank where ``base`` has a value.

    The third array is ``(columns, rows)`` too: a cell emptied in the sheet (under ``blank="keep"`` it sends
    nothing, :func:`emptied_cells`), found from the blanks the compare tells anyway.

    >>> edit = pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["", "B"]})
    >>> base = pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["A", "b"]})
    >>> columns, cells, cleared = compared_cells(edit, base, get_schema(), "keep")
    >>> columns, cells.tolist(), cleared.tolist()
    (['Project.Title'], [[True, False]], [[True, False]])
    """
    columns, cells, cleared = [], [], []
    for col in edit.columns:
        if col in NOT_EDITS:
            continue  # as in changes: never an edit (an output-only member is compared: the plan names its edit)
        columns.append(str(col))
        b = base[col] if col in base.columns else None
        cell, emptied = _unchanged(edit[col], b, blank)
        if b is not None and not cell.all() and (f := _amount(schema, str(col))) is not None:
            cell |= _same_amounts(edit[col], b, f, ~cell)  # 60000 typed over 60000.00: the same number
        cells.append(cell)
        cleared.append(emptied)
    if not cells:
        return columns, np.ones((0, len(edit)), dtype=bool), np.zeros((0, len(edit)), dtype=bool)
    return columns, np.vstack(cells), np.vstack(cleared)


def _amount(schema: Schema, column: str) -> Field | None:
    """Return the field of ``column`` when it is an amount (:attr:`~opptoolkit.schema.Field.is_amount`), else None."""
    try:
        f = schema.field_for(column)
    except KeyError:
        return None
    return f if f.is_amount else None


def _same_amounts(e: pd.Series, b: pd.Series, f: Field, at: np.ndarray) -> np.ndarray:
    """Per position, whether ``e`` and ``b`` hold the same amount (:func:`same_value`); looked at only where ``at``."""
    out = np.zeros(len(e), dtype=bool)
    ev, bv = e.tolist(), b.tolist()
    for p in np.flatnonzero(at).tolist():
        out[p] = same_value(normalise(bv[p], f), normalise(ev[p], f), f)
    return out


def same_value(old: Any, new: Any, f: Field) -> bool:
    r"""Whether two values of ``f``, normalised (:func:`opptoolkit._values.normalise`), are the same value.

    Equal once line endings are LF (:func:`eol`), or, for an amount (:attr:`~opptoolkit.schema.Field.is_amount`: a
    decimal number as text), the same number: ``60000``, ``60000.0`` and ``60000.00`` are one value, which a
    spreadsheet that forgot the export's text shows as ``60000``. Only a text the model's pattern takes is read as
    a number: anything else is compared as text (a change, which validation then names).

    Examples
    --------
    >>> spend = get_schema().field_for("Project.ExpectedCustomerSpend[0].Amount")
    >>> same_value("60000.00", "60000", spend), same_value("60000.00", "60000.01", spend)
    (True, False)
    >>> same_value("60000.00", "60,000", spend), same_value("A\r\nB", "A\nB", get_schema()["Project.Title"])
    (False, True)
    """
    a, b = eol(old), eol(new)
    if a == b:
        return True
    return (
        f.is_amount
        and isinstance(a, str)
        and isinstance(b, str)
        and f.matches(a)
        and f.matches(b)
        and Decimal(a) == Decimal(b)
    )


def _unchanged(e: pd.Series, b: pd.Series | None, blank: Blank) -> tuple[np.ndarray, np.ndarray]:
    """Per position, whether the cell ``e`` is certainly no change against ``b``, and whether it is emptied.

    Emptied: blank where ``b`` has a value. ``b`` None: the base has no such column.
    """
    if b is not None and _arrow_text(e) and _arrow_text(b):
        return _unchanged_text(pa.array(e.array), pa.array(b.array), blank)
    if b is not None and e.dtype == object and b.dtype == object and (lists := _text_lists(e, b, blank)) is not None:
        return lists
    e = e.reset_index(drop=True)
    e_blank = blank_cells(e)
    if b is None:  # no base value: only a blank is certainly no change (under either policy), and none is emptied
        return e_blank, np.zeros(len(e_blank), dtype=bool)
    b = b.reset_index(drop=True)
    b_blank = blank_cells(b)
    cells = (e_blank & b_blank) | (~e_blank & ~b_blank & _equal(e, b))
    if blank == "keep":
        cells |= e_blank  # a blank cell is no change
    return np.asarray(cells, dtype=bool), np.asarray(e_blank & ~b_blank, dtype=bool)


def _arrow_text(s: pd.Series) -> bool:
    """Whether ``s`` is text held by Arrow (pandas' default ``str`` dtype)."""
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"


def _unchanged_text(e: pa.Array, b: pa.Array, blank: Blank) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_unchanged` for two Arrow text columns, in Arrow's kernels.

    Blank is null or "", and two equal texts are the same value (as pandas' ``eq`` on these arrays decides).
    """
    equal = pc.equal(e, b)  # null where either side is null
    equal = pc.and_kleene(equal, pc.is_valid(equal))  # ... and no null left: False there
    e_blank = pc.or_kleene(pc.is_null(e), pc.equal(e, ""))  # true | null is true: no null left
    b_blank = pc.or_kleene(pc.is_null(b), pc.equal(b, ""))
    if blank == "keep":
        cells = pc.or_(equal, e_blank)  # equal, or a blank cell (no change)
    else:
        cells = pc.or_(equal, pc.and_(e_blank, b_blank))
    cleared = pc.and_(e_blank, pc.invert(b_blank))

    def array(x: pa.Array) -> np.ndarray:
        return np.asarray(x.to_numpy(zero_copy_only=False), dtype=bool)

    return array(cells), array(cleared)


def _text_lists(e: pd.Series, b: pd.Series, blank: Blank) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_unchanged` for two columns whose cells are all None or lists of text, at C speed.

    Those are the frame's list columns, compared with no call per cell: a cell holding the very object of the
    base (a copy of the frame shares its lists) is unchanged; of the others, two lists of text that are equal
    are the same value (:func:`_same`). None when some other cell is anything else: :func:`blank_cells` and
    :func:`_equal` then judge cell by cell.
    """
    ev, bv = e.tolist(), b.tolist()
    n = len(ev)
    other = ~np.fromiter(map(operator.is_, ev, bv), dtype=bool, count=n)
    # the very same object: neither changed nor emptied
    cells, cleared = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
    if not other.any():
        return cells, cleared
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
    cleared[other] = e_blank & ~b_blank
    return cells, cleared


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
    columns, _, cleared = compared_cells(edit, base, schema, "keep")
    return writable_rows(columns, cleared, schema)


def writable_rows(columns: list[str], cells: np.ndarray, schema: Schema) -> tuple[list[str], np.ndarray]:
    """Return the writable ones of ``columns`` (UpdateOpportunity takes them) and their rows of ``cells``."""
    keep = [j for j, c in enumerate(columns) if (f := schema.fields.get(template(c))) is not None and f.writable]
    return [columns[j] for j in keep], cells[keep]


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
