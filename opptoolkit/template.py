"""An empty workbook to create opportunities from: the columns CreateOpportunity takes, what each needs marked.

What a column needs is asked of the push's own planning (:func:`opptoolkit.plan.resolve_create`, which
applies the model's required members and the documented rules of :mod:`opptoolkit.rules`): a column is
*required* when a new row without it is refused, or warned about, while the columns every opportunity has
are filled (the workbook's first columns: customer, title, close date, next steps, spend, business
problem); *required when* another column takes a value that makes the plan ask for it; *required with its
part* when the model requires it once any other column of its part is filled. Nothing is typed here: a
rule added to the plan, or a member the model comes to require, shows in the next template.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import fields as P
from ._files import replacing
from .exceptions import OpptoolkitError
from .plan import Row, resolve_create
from .rules import NOT_EDITS, is_read_only
from .schema import Catalog, get_schema, in_labels, label_for, split_column, template
from .sheets import write_sheet

__all__ = ["Need", "column_needs", "write_template"]

#: The columns every opportunity has, filled in each probe of what the others need: the workbook's first
#: columns that take free text (an enum value could itself make the plan ask for something).
_EVERY_OPPORTUNITY = (
    P.COMPANY,
    P.TITLE,
    P.TARGET_CLOSE,
    P.NEXT_STEPS,
    f"{P.SPEND}[0].Amount",
    P.BUSINESS_PROBLEM,
)
#: How the model's description of a field says it is required (Customer.Account.Industry: "This is a required field.").
_REQUIRED_TEXT = "This is a required field"
REQUIRED_FILL = "F8CBAD"  # orange: a header the push needs filled
CONDITIONAL_FILL = "FFE699"  # yellow: needed when another column says so
_MIN_WIDTH = 18  # an empty column as wide as a typical value, not as its header's longest word
_ROWS = 500  # rows with dropdowns and input messages, ready to type into


@dataclass(frozen=True)
class Need:
    """What a template column needs, ``said`` in words naming fields by their labels.

    ``kind`` is ``"required"``, ``"when"`` (another column's value asks for it) or ``"part"`` (required once any
    other column of its part has a value).
    """

    kind: str
    said: str


def creatable_columns() -> list[str]:
    """Return the columns a new opportunity can be created with, in the model's order (one entry per list).

    Examples
    --------
    >>> cols = creatable_columns()
    >>> "Customer.Account.CompanyName" in cols, "LifeCycle.ReviewStatus" in cols, "Arn" in cols
    (True, False, False)
    """
    schema = get_schema()
    return [
        c
        for c in schema.columns()
        if schema.field_for(c).writable and not is_read_only(template(c)) and c not in NOT_EDITS
    ]


def _asked(row: dict[str, Any]) -> dict[str, str]:
    """Return ``{column: message}`` of what the plan says is missing from a new row (refused or warned)."""
    r = Row(label="2", id=None, edit={"Id": None, **row})
    resolve_create(r, get_schema(), "Sandbox", None)
    return {p.field: p.message for p in [*r.problems, *r.warnings] if p.code == "REQUIRED_FIELD_MISSING"}


def _filled(column: str) -> Any:
    f = get_schema().field_for(column)
    value = f.enum[0] if f.enum else "x"  # the probes look only at what is missing, never at a value's form
    return [value] if f.is_list else value


@functools.cache
def column_needs() -> dict[str, Need]:
    """Return what each column of a new opportunity needs, as the push's planning decides it.

    Returns
    -------
    dict of str to Need
        Column -> its need; columns that need nothing are left out.

    Examples
    --------
    >>> needs = column_needs()
    >>> needs["Customer.Account.CompanyName"].kind
    'required'
    >>> needs["LifeCycle.ClosedLostReason"]
    Need(kind='when', said="Required when stage is 'Closed Lost'.")
    >>> needs["SoftwareRevenue.Value.CurrencyCode"].said
    'Required once any software revenue column is filled.'
    """
    schema = get_schema()
    columns = creatable_columns()
    row = {c: _filled(c) for c in _EVERY_OPPORTUNITY if c in columns}
    while missing := [c for c in _asked(row) if c not in row]:  # what the columns every opportunity has ask for
        row.update({c: _filled(c) for c in missing})
    needs: dict[str, Need] = {}
    for c in row:  # each left out of a row that has all the others
        alone = _asked({k: v for k, v in row.items() if k != c}).get(c)
        if alone is not None:
            needs[c] = Need("required", _sentence(alone))
    base = set(_asked(row))
    for c in columns:  # what a value in each other column asks for besides
        f = schema.field_for(c)
        if c in row:
            continue
        values: tuple[str, ...] = f.enum or ("x",)
        by_value: dict[str, list[str]] = {}
        for v in values:
            for k, message in _asked({**row, c: [v] if f.is_list else v}).items():
                if k not in base and k != c:
                    by_value.setdefault(k, []).append(message)
        for k, said in by_value.items():
            if k in needs:
                continue
            if len(said) == len(values):  # whatever the value: the model requires it once its part has one
                part = label_for(split_column(k)[0] if "[" in k else k.rsplit(".", 1)[0])
                needs[k] = Need("part", f"Required once any {part[:1].lower() + part[1:]} column is filled.")
            else:
                more = len(said) - 1  # a value among many (a country): say how many more ask the same
                other = f" (and {more} other values of {label_for(c)[:1].lower() + label_for(c)[1:]})" if more else ""
                needs[k] = Need("when", _sentence(said[0])[:-1] + other + ".")
    for c in columns:  # what the model's description says is required (Industry: no rule of the plan checks it)
        if c not in needs and _REQUIRED_TEXT in (schema.field_for(c).doc or ""):
            needs[c] = Need("required", "Required (the model's description of the field says so).")
    return {c: needs[c] for c in columns if c in needs}


def _sentence(message: str) -> str:
    """Return a rule's message ("is required unless NationalSecurity is 'Yes'") as the template says it."""
    text = in_labels(message).strip()
    text = text[3:] if text.startswith("is ") else text
    return text[:1].upper() + text[1:].rstrip(".") + "."


def write_template(
    path: str | Path,
    catalog: Catalog,
    *,
    endpoint_url: str | None = None,
    rows: int = _ROWS,
) -> Path:
    """Write an empty workbook to create opportunities from, with what each column needs marked.

    The columns CreateOpportunity takes, labelled as in a pulled workbook (the commonly edited first), with
    a dropdown on every enum column and an input message on every cell for ``rows`` rows; the headers of
    required columns orange, of columns another value asks for yellow, each with a note saying when; a
    "Read me" sheet listing them and the push command. Fill one row per new opportunity and push it: each
    row is created (``opptoolkit push new.xlsx --catalog ...``), and the results workbook has the new Ids.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` to write.
    catalog : {"AWS", "Sandbox"}
        The catalog the Read me's push command names (always explicit).
    endpoint_url : str, optional
        A sandbox endpoint, named in the Read me's push command.
    rows : int
        How many rows get dropdowns and input messages (500).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import opptoolkit as ot
    >>> out = write_template(pathlib.Path(tempfile.mkdtemp()) / "new.xlsx", "Sandbox")
    >>> len(ot.read_sheet(out)), "Customer.Account.CompanyName" in ot.read_sheet(out).columns
    (0, True)
    """
    from openpyxl import load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise OpptoolkitError(f"{path.name}: a template is an .xlsx workbook (name it e.g. new.xlsx)")
    columns = creatable_columns()
    needs = column_needs()
    # what every opportunity has, then what the push needs, then the rest in the model's order
    first = [c for c in (*_EVERY_OPPORTUNITY, P.STAGE) if c in columns]
    first += [c for c, n in needs.items() if n.kind == "required" and c not in first]
    ordered = first + [c for c in columns if c not in first]
    write_sheet(pd.DataFrame({c: pd.Series([], dtype=object) for c in ordered}), path, columns=ordered)
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    last = rows + 1
    by_label = {}
    for j, cell in enumerate(ws[1], start=1):
        column = get_schema().path_for_label(str(cell.value)) or str(cell.value)
        need = needs.get(column)
        by_label[column] = str(cell.value)
        if need is not None:
            cell.fill = PatternFill("solid", fgColor=REQUIRED_FILL if need.kind == "required" else CONDITIONAL_FILL)
            doc = cell.comment.text if cell.comment is not None else ""
            cell.comment = Comment(f"{need.said}\n\n{doc}"[:1000], "opptoolkit")
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, _MIN_WIDTH)
        for dv in ws.data_validations.dataValidation:
            if str(dv.sqref) == f"{letter}2":
                dv.sqref = f"{letter}2:{letter}{last}"
                if need is not None:
                    dv.prompt = f"{need.said} {dv.prompt or ''}"[:255]
    ws.auto_filter.ref = f"A1:{get_column_letter(ws.max_column)}{last}"
    # on paper (landscape, one page wide, the header on each page, as write_sheet set it): the columns every
    # opportunity has and those the push requires; all of them fitted to one page's width print unreadably small
    ws.print_area = f"A1:{get_column_letter(len(first))}{last}"
    notes = wb["Read me"]
    wb.remove(notes)
    notes = wb.create_sheet("Read me", 1)
    notes.column_dimensions["A"].width = 100
    push = f"opptoolkit push {path.name} --catalog {catalog}" + (
        f" --endpoint-url {endpoint_url}" if endpoint_url else ""
    )
    for text, heading in _read_me(needs, by_label, push):
        command = text.startswith("    opptoolkit ")  # one line, to copy whole
        wrapped = [text] if command else textwrap.wrap(text, 95, subsequent_indent="    " * text.startswith(" "))
        for line in wrapped or [""]:
            notes.append([line or None])
            notes.cell(notes.max_row, 1).font = Font(name="Calibri", bold=heading, size=13 if heading else 11)
    with replacing(path) as tmp:
        wb.save(tmp)
    return path


def _read_me(needs: dict[str, Need], labels: dict[str, str], push: str) -> list[tuple[str, bool]]:
    def listed(kind: str) -> list[tuple[str, bool]]:
        return [(f"    {labels.get(c, c)}: {n.said}", False) for c, n in needs.items() if n.kind == kind]

    return [
        ("What this is", True),
        (
            "A workbook to create AWS Partner Central opportunities from, made by opptoolkit: one new opportunity "
            "per row of the first sheet, whose first row names the fields. It has no Id column: every row is new.",
            False,
        ),
        ("", False),
        ("What each opportunity needs", True),
        ("Orange headers: the push refuses a row without them (or warns that AWS may).", False),
        *listed("required"),
        ("Yellow headers: needed when another cell says so.", False),
        *listed("when"),
        *listed("part"),
        (
            "Select a cell to see what its field takes; enum columns have a dropdown with the values AWS accepts. "
            "Dates are YYYY-MM-DD; amounts a plain number with at most 2 decimals.",
            False,
        ),
        ("", False),
        ("How to create them", True),
        ("Save the workbook as .xlsx, look at the plan, then push:", False),
        (f"    {push} --ledger ledger --dry-run", False),
        (f"    {push} --ledger ledger", False),
        (
            "Each row is created once, whatever happens (the ledger remembers it). The push writes a results "
            "workbook beside this one with each new opportunity's Id: edit and push that one from then on.",
            False,
        ),
    ]
