"""The analyst's workbook: how :func:`opptoolkit.write_sheet` lays out an ``.xlsx`` for editing (:func:`build_workbook`).

What this adds to the cells ``sheets`` encodes (and reads back unchanged):

* **order** -- the columns an analyst works with first (:data:`WORK_FIRST`), the identifying ones
  frozen with the header; then the rest in the model's order, each top-level part (Customer,
  Project, ...) behind a collapsed outline group whose first column stays visible; the columns
  no edit can change last. ``columns=`` shows only the chosen ones, in the chosen order.
* **editability**, from :func:`opptoolkit.rules.editable_fields` (the one home of it): the
  columns no request may change, and the cells a row's ``ReviewStatus`` locks, are shaded; an
  edit there is still read, and the plan names it.
* **input help** from the service model: a dropdown on every enum column (values from the model,
  on a hidden "Lists" sheet), a short input message (the format in words, how to type several
  values, the model's documentation), text format (``@``) on every text cell so Excel keeps leading
  zeros and long digits as typed, wrap where a cell holds lines, an autofilter.
* **typed cells** (:func:`~._codec.typed_cell`): the amounts as numbers with 2 decimals, right-aligned (SUM,
  sorting and filters work), the dates as dates, the times as readable UTC text; a value a spreadsheet cannot
  hold exactly stays text, with a note. A very hidden sheet keeps the amounts' texts as written
  (:func:`~._base.add_exact`), so they read back exactly.
* **print setup**: landscape, fitted to the page's width, the header row repeated on every page.
* a **"Read me"** sheet after the data sheet.

The data sheet stays the first sheet: :func:`opptoolkit.read_sheet` reads sheet 0.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import fields as P
from .._patterns import describe, example_date
from .._values import is_blank
from ..rules import ASSOCIATED, accepted_values, editable_fields
from ..schema import Field, length_bounds, shape_value
from ._base import add_exact
from ._codec import AMOUNT_FORMAT, DATE_CELL_FORMAT, guard_text, ooxml_escape, time_text, typed_cell

__all__ = [
    "AMOUNT",
    "DATE",
    "LOCKED_FILL",
    "TEXT",
    "WORK_FIRST",
    "Layout",
    "build_workbook",
    "cell_kind",
    "choices",
    "column_reasons",
    "how_to_push",
    "input_message",
    "layout",
    "print_setup",
    "push_command",
    "read_me",
    "row_locks",
    "styled_rows",
    "width",
]

# The columns an analyst works with first, in the order the console's opportunity list shows them
# (a reviewed choice of order, not a list of fields: every one must be a column of the model).
WORK_FIRST = (
    P.ID,
    P.COMPANY,
    P.TITLE,
    P.STAGE,
    P.TARGET_CLOSE,
    P.NEXT_STEPS,
    f"{P.SPEND}[0].Amount",
    f"{P.SPEND}[0].CurrencyCode",
    P.REVIEW_STATUS,
    P.CLOSED_LOST_REASON,
    P.BUSINESS_PROBLEM,
)
#: The leading columns that name the row, frozen beside the header (those of them the sheet has).
IDENTIFYING = (P.ID, P.COMPANY, P.TITLE)
#: Columns the layout keeps whenever the frame has them, even with ``columns=``: a push needs the
#: row's Id, and its LastModifiedDate to tell a colleague's edit from the analyst's.
ALWAYS = (P.ID, "LastModifiedDate")

LOCKED_FILL = "E7E6E6"  # grey: not editable
LOCKED_FONT = "595959"
HEADER_FILL = "DDEBF7"  # light blue: an editable column's header
LOCKED_HEADER_FILL = "C9C9C9"
FONT = "Calibri"  # openpyxl's default font: a Font without a name makes LibreOffice pick a serif one
TEXT = "@"  # the number format "Text" (ECMA-376 Part 1, 18.8.30 numFmt: built-in format 49)
#: The kinds of cell a column holds (:func:`cell_kind`): amounts (numbers), dates, and text (everything else).
AMOUNT, DATE = "amount", "date"
_MAX_WIDTH, _MIN_WIDTH = 50, 8
#: The lines a row of a text wrapped to its column's width shows at most (the rest stays in the cell).
WRAPPED_LINES = 4


@dataclass
class Layout:
    """Where each frame column goes and how the sheet is dressed."""

    order: list[int]  # frame column positions, in sheet order
    frozen: int  # leading columns frozen beside the header
    groups: list[tuple[int, int]]  # (first, last) sheet positions (0-based) of each collapsed group


def _editable_kind(column: str, f: Field | None) -> bool:
    """Whether some edit may change the column (whatever the row's ReviewStatus)."""
    if f is None:
        return True  # an analyst's own column: theirs to edit, never sent
    return editable_fields(None, [column])[column] is None


def layout(columns: Sequence[str], fields: Sequence[Field | None], chosen: Sequence[str] | None) -> Layout:
    """Return the sheet order of a frame's ``columns`` (their ``fields``), or of ``chosen`` ones."""
    at = {c: i for i, c in enumerate(columns)}
    if chosen is not None:
        missing = [c for c in chosen if c not in at]
        if missing:
            raise KeyError(f"columns not in the frame: {missing[:5]}")
        names = [c for c in ALWAYS if c in at and c not in chosen][:1] + list(dict.fromkeys(chosen))
        names += [c for c in ALWAYS[1:] if c in at and c not in names]
        order = [at[c] for c in names]
        return Layout(order, _frozen(names), [])
    first = [c for c in WORK_FIRST if c in at]
    rest = [c for c in columns if c not in first]
    editable = {c: _editable_kind(c, fields[at[c]]) for c in rest}
    rest.sort(key=lambda c: not editable[c])  # stable: the model's order within each kind
    names = first + rest
    groups: list[tuple[int, int]] = []
    start = len(first)
    for j in range(len(first), len(names) + 1):
        if j == len(names) or _section(names[j], editable[names[j]]) != _section(names[start], editable[names[start]]):
            if j - start > 1:
                groups.append((start + 1, j - 1))  # the section's first column stays visible
            start = j
    return Layout([at[c] for c in names], _frozen(names), groups)


def _section(column: str, editable: bool) -> tuple[bool, str]:
    return editable, column.split(".", 1)[0]


def _frozen(names: Sequence[str]) -> int:
    n = 0
    while n < len(names) and names[n] in IDENTIFYING:
        n += 1
    return n


# -- input help -----------------------------------------------------------------------------------


def choices(f: Field) -> tuple[str, ...]:
    """Return the values a dropdown offers.

    The model's enum, or the part of it the member's documentation accepts (``CurrencyCode``: "Accepted values
    are USD ... and EUR").
    """
    return accepted_values(f.path) or f.enum


def _first_sentence(doc: str) -> str:
    doc = re.sub(r"\s+", " ", doc).strip()
    m = re.match(r"(.+?[.!?])(\s|$)", doc)
    return m.group(1) if m else doc


def input_message(f: Field | None, why_locked: str | None) -> str:
    """Return the short help a cell shows when selected, at most 255 characters.

    255 is Excel's limit for a data validation's prompt (ECMA-376 Part 1, 18.3.1.32 dataValidation,
    ``prompt``).
    """
    parts: list[str] = []
    if why_locked is not None:
        parts.append(f"Not editable: {why_locked}; an edit here is not sent (the plan lists it).")
    if f is not None:
        if f.enum:
            parts.append("Pick a value from the list.")
        if f.enum and f.is_list:
            parts.append("Several: one per line (Alt+Enter), or separated by ';'.")
        elif f.is_list:
            parts.append("One item per line (Alt+Enter).")
        words = describe(f.pattern or f.item_pattern)
        if words is not None:
            parts.append(words[0].upper() + words[1:] + ".")
        bounds = length_bounds(f.pattern)
        if bounds is not None:
            lo, hi = bounds
            parts.append(f"{lo} to {hi} characters." if lo else f"Up to {hi} characters.")
        if why_locked is None:
            parts.append("Leave blank to keep the stored value.")
        if f.doc:
            parts.append(_first_sentence(f.doc))
    text = " ".join(parts)
    return text if len(text) <= 255 else text[:254].rsplit(" ", 1)[0] + "…"


#: ListSolutions' SolutionStatus value of a solution that can be associated (the model's enum).
ACTIVE = shape_value("SolutionStatus", "Active")


def solution_rows(solutions: Any) -> list[tuple[str, str, str, str]]:
    """Return ``(id, name, status, category)`` of each solution of a :func:`opptoolkit.read_solutions` frame, active first."""

    def text(v: Any) -> str:
        return "" if is_blank(v) else str(v)

    rows = [
        (text(r.get("Id")), text(r.get("Name")), text(r.get("Status")), text(r.get("Category")))
        for r in solutions.to_dict("records")
    ]
    return sorted(rows, key=lambda r: (r[2] != ACTIVE, r[1].lower()))


def write_solutions(ws: Any, rows: Sequence[tuple[str, str, str, str]]) -> None:
    """Fill the "Solutions" sheet: what an id in the solutions column stands for."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    for letter, width in zip("ABCD", (16, 50, 12, 30), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    header = []
    for text in ("Id", "Name", "Status", "Category"):
        cell = WriteOnlyCell(ws, value=text)
        cell.font, cell.fill = Font(name=FONT, bold=True), PatternFill("solid", fgColor=HEADER_FILL)
        header.append(cell)
    ws.append(header)
    for row in rows:  # text, never a formula: ids and names as ListSolutions gave them
        ws.append([guard_text(v) or None for v in row])


def solutions_message(prompt: str) -> str:
    """Return the solutions column's input message: what to type, then the model's help (at most 255 characters)."""
    text = "Solution ids (one per line); names on the Solutions sheet. The push associates the ids you add. " + prompt
    return text if len(text) <= 255 else text[:254].rsplit(" ", 1)[0] + "…"


def column_reasons(names: Sequence[str], fields: Sequence[Field | None]) -> list[str | None]:
    """Per sheet column: why no edit can change it (output-only, identity, read-only), or None."""
    out: list[str | None] = []
    for c, f in zip(names, fields, strict=True):
        out.append(None if f is None else editable_fields(None, [c])[c])
    return out


def row_locks(
    names: Sequence[str], fields: Sequence[Field | None], statuses: Sequence[Any], always: Sequence[str | None]
) -> list[frozenset[int]]:
    """Per row: the sheet positions its ReviewStatus makes uneditable (besides ``always``)."""
    known = [(j, c) for j, (c, f) in enumerate(zip(names, fields, strict=True)) if f is not None and always[j] is None]
    cache: dict[Any, frozenset[int]] = {}
    out = []
    for s in statuses:
        key = s if isinstance(s, str) else None
        if key not in cache:
            why = editable_fields(key, [c for _, c in known])
            cache[key] = frozenset(j for j, c in known if why[c] is not None)
        out.append(cache[key])
    return out


def cell_kind(f: Field | None) -> str | None:
    """Return what a column's cells are in the analyst's workbook: :data:`AMOUNT`, :data:`DATE`, or None (text)."""
    if f is None or f.is_list:
        return None
    return AMOUNT if f.is_amount else DATE if f.is_date else None


def shown_texts(texts: Sequence[str], f: Field | None) -> list[str]:
    """Return a column's encoded texts as its cells show them (for its width): amounts grouped, times readable."""
    kind = cell_kind(f)
    if kind == AMOUNT:
        out = []
        for t in texts:
            v, _ = typed_cell(t, f)
            out.append(f"{v:,.2f}" if isinstance(v, float) else t)
        return out
    if f is not None and f.type == "timestamp":
        return [time_text(t) for t in texts]
    return list(texts)


def print_setup(ws: Any, columns: int | None = None, rows: int | None = None) -> None:
    """Set a sheet to print landscape, fitted to the page's width, with its header row on every page.

    ``columns``: print only the first ones, down to row ``rows`` (the columns an analyst works with: fitted
    to a page's width, some ninety columns would print too small to read); None prints every column shown.
    """
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    if columns:
        ws.print_area = f"A1:{get_column_letter(columns)}{max(rows or 1, 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0  # as many pages down as it takes
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    else:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"


def width(header: str, texts: Sequence[str]) -> float:
    """Return a column width fitted to its header's longest word and its longest line."""
    longest = max(map(len, texts), default=0)
    if longest > _MAX_WIDTH and any("\n" in t for t in texts):  # the longest line counts, not the whole text
        longest = max((max(map(len, t.split("\n"))) for t in texts if len(t) > _MAX_WIDTH), default=longest)
    word = max((len(w) for w in header.split()), default=0)
    # the header wraps onto at most two or three lines of the header row
    head = min(len(header) + 3, max(word + 3, len(header) // 2 + 3))
    return float(min(max(longest + 2, head, _MIN_WIDTH), _MAX_WIDTH))


def row_height(values: Sequence[Any], widths: Sequence[float | None], most: int | None = None) -> float:
    """Return the height (points) of a row whose text cells wrap in columns of ``widths`` characters (None: no wrap).

    ``most``: the lines shown at most (the rest of a long text stays in its cell, cut at the row's foot).

    Examples
    --------
    >>> row_height(["a" * 100, "short"], [50, 20]), row_height(["a" * 500], [50], most=3)
    (47.0, 47.0)
    """
    lines = 1
    for v, w in zip(values, widths, strict=True):
        if isinstance(v, str) and v and w is not None:
            per = max(int(w) - 2, 8)
            lines = max(lines, sum(max(1, -(-len(line) // per)) for line in v.split("\n")))
    return 15.0 * min(lines, most or lines) + 2


# -- writing --------------------------------------------------------------------------------------


def styled_rows(
    ws: Any,
    rows: Iterable[Sequence[Any]],
    always: Sequence[str | None],
    locks: Sequence[frozenset[int]],
    make_style: Callable[[bool, bool], Any],
    *,
    column_style: Callable[[int, bool, bool], Any] | None = None,
    notes: Mapping[int, Mapping[int, str]] | None = None,
    wrap_at: Sequence[float | None] | None = None,
) -> Iterator[list[Any]]:
    """Return the rows to append to the write-only sheet ``ws``, each cell with its style.

    Text format, shaded when ``always[j]`` or the row's ``locks`` make it uneditable, wrapped when it holds
    lines. A blank cell takes its column's style (``always`` columns are shaded as a whole); a row mostly
    locked is shaded as a row (a row style) and its few editable blank cells are written unshaded, other rows
    write their locked blank cells shaded. A value is a text, None (blank), or a typed value (a number, a
    date) that ``column_style(j, locked, wrap)`` gives the style of (else ``make_style``'s); ``notes[i][j]``
    is a cell's note (0-based body row and column), written as a comment (on a blank cell too). ``wrap_at``:
    each column's width where its text cells longer than it wrap too, their row as tall as :data:`WRAPPED_LINES`
    lines at most (None: a column whose texts wrap only where they hold lines).

    One cell object per column and style is reused row after row, through the write-only sheet's
    hook that turns appended values into cells (openpyxl's ``_values_to_row``): a new styled
    cell per value costs half again the whole write. Without that hook (another openpyxl), each
    row is appended as new styled cells.
    """
    from copy import copy

    from openpyxl.cell import Cell, WriteOnlyCell
    from openpyxl.worksheet.dimensions import RowDimension

    class Pooled(Cell):
        """A cell whose style is fixed: its id in the workbook's styles is looked up once."""

        __slots__ = ("_sid",)
        _sid: int

        @property
        def style_id(self) -> int:
            return self._sid

        @property
        def has_style(self) -> bool:
            return True

    from openpyxl.comments import Comment

    styles = {(lk, wr): make_style(lk, wr) for lk in (False, True) for wr in (False, True)}
    pool: list[dict[tuple[bool, bool], Any]] = []
    for j in range(len(always)):
        per: dict[tuple[bool, bool], Any] = {}
        for key, st in styles.items():
            own = column_style(j, *key) if column_style is not None else None
            c: Any = Pooled(ws, row=1, column=j + 1)
            c._style = copy(own if own is not None else st)
            c._sid = ws.parent._cell_styles.add(c._style)
            per[key] = c
        pool.append(per)
    fixed = [a is not None for a in always]
    free = len(always) - sum(fixed)
    row_style = make_style(True, False)

    no_notes: Mapping[int, str] = {}
    # a text longer than its column is wide, less the cell's margins, wraps
    limits = [float("inf") if w is None else w - 2 for w in (wrap_at or [None] * len(always))]

    def cells(values: Sequence[Any], row_idx: int, locked: frozenset[int], shaded_row: bool) -> Iterator[Any]:
        row_notes = notes.get(row_idx - 2, no_notes) if notes else no_notes
        for j, t in enumerate(values):
            lk = fixed[j] or j in locked
            if t is None:
                if (fixed[j] or lk == shaded_row) and j not in row_notes:
                    continue  # the column's or the row's own style is the cell's
                c = pool[j][(lk, False)]
                c._value, c.data_type = None, "n"
            else:
                c = pool[j][(lk, type(t) is str and ("\n" in t or len(t) > limits[j]))]
                c.value = t
            if j in row_notes:  # a cell of its own: the pooled one would carry the note on
                own: Any = WriteOnlyCell(ws, t)
                own._style = copy(c._style)
                own.column, own.comment = j + 1, Comment(row_notes[j], "opptoolkit", width=300, height=120)
                c = own
            c.row = row_idx
            yield c

    def shade(row_idx: int, locked: frozenset[int], values: Sequence[Any]) -> bool:
        shaded = 2 * len(locked) > free
        wrapped = wrap_at is not None and any(
            type(t) is str and len(t) > limit for t, limit in zip(values, limits, strict=True)
        )
        if not (shaded or wrapped):
            return False
        height = row_height(values, wrap_at, WRAPPED_LINES) if wrap_at is not None and wrapped else None
        dim: Any = RowDimension(ws, index=row_idx, ht=height, customHeight=height is not None)
        if shaded:
            dim._style = copy(row_style)
        ws.row_dimensions[row_idx] = dim
        return shaded

    hook = getattr(ws, "_values_to_row", None)
    if hook is None:  # pragma: no cover - another openpyxl: new cells, the public way
        for n, (values, locked) in enumerate(zip(rows, locks, strict=True), start=2):
            out = []
            for c in cells(values, n, locked, shade(n, locked, values)):
                fresh: Any = WriteOnlyCell(ws, c.value)
                fresh._style = copy(c._style)
                fresh.comment = c.comment
                out.append(fresh)
            yield out
        return
    state: dict[str, Any] = {"locked": frozenset(), "shaded": False}

    def values_to_row(values: Sequence[Any], row_idx: int) -> Iterator[Any]:
        if row_idx == 1:
            yield from hook(values, row_idx)  # the header: cells of its own
        else:
            yield from cells(values, row_idx, state["locked"], state["shaded"])

    ws._values_to_row = values_to_row
    for n, (values, locked) in enumerate(zip(rows, locks, strict=True), start=2):
        state["locked"], state["shaded"] = locked, shade(n, locked, values)
        yield list(values)


def push_command(file: str, catalog: str | None, endpoint_url: str | None = None) -> str:
    """Return the command that pushes ``file`` back where it came from: its catalog, and its endpoint if not AWS's.

    Examples
    --------
    >>> push_command("pipeline.xlsx", "Sandbox", "http://127.0.0.1:8080")
    'opptoolkit push pipeline.xlsx --catalog Sandbox --endpoint-url http://127.0.0.1:8080'
    >>> push_command("pipeline.xlsx", None)
    'opptoolkit push pipeline.xlsx --catalog <AWS or Sandbox: the catalog it was pulled from>'
    """
    where = catalog or "<AWS or Sandbox: the catalog it was pulled from>"
    return f"opptoolkit push {file} --catalog {where}" + (f" --endpoint-url {endpoint_url}" if endpoint_url else "")


def how_to_push(push: str, then: str = "look at what would be sent, then send it") -> list[tuple[str, bool]]:
    """Return a Read me's "How to push" heading and steps, each (text, is a heading): a dry run, then the push.

    ``push`` is the command, from :func:`push_command`; ``then`` says what the dry run shows.

    Examples
    --------
    >>> for text, _ in how_to_push("opptoolkit push leads.xlsx --catalog Sandbox"):
    ...     print(text)
    How to push
    Save the workbook as .xlsx, look at what would be sent, then send it:
        opptoolkit push leads.xlsx --catalog Sandbox --dry-run
        opptoolkit push leads.xlsx --catalog Sandbox
    """
    return [
        ("How to push", True),
        (f"Save the workbook as .xlsx, {then}:", False),
        (f"    {push} --dry-run", False),
        (f"    {push}", False),
    ]


def read_me(
    n_rows: int,
    sheet: str,
    enum_columns: int,
    locked_columns: int,
    has_status: bool,
    push: str | None = None,
) -> list[tuple[str, bool]]:
    """Return the "Read me" sheet's lines, each (text, is a heading).

    What the workbook is, how to edit, what blank means, how to push (``push``: the command, from
    :func:`push_command`, naming the catalog and endpoint the rows came from).
    """
    push = push or push_command("pipeline.xlsx", None)
    status = (
        (
            ", and a row's Review status locks some of its cells (Submitted, In review and Rejected lock the "
            "whole row; Action Required all but the address, website, target close date, expected spend, business "
            "problem and partner identifier; Approved a few)"
        )
        if has_status
        else ""
    )
    return [
        ("What this is", True),
        (
            f"An export of {n_rows:,} AWS Partner Central {'opportunity' if n_rows == 1 else 'opportunities'}, made "
            "by opptoolkit for editing in bulk. "
            f"The sheet '{sheet}' holds one opportunity per row; its first row names the fields.",
            False,
        ),
        ("", False),
        ("How to edit", True),
        (
            "Change the cells you mean to change, and nothing else: only the cells that differ from the export are sent.",
            False,
        ),
        (
            (
                f"{enum_columns} {'column has' if enum_columns == 1 else 'columns have'} a dropdown with the values "
                "AWS accepts: pick one from the list. "
                if enum_columns
                else ""
            )
            + "Where a cell takes several values, put one per line (Alt+Enter) or separate them with ';'.",
            False,
        ),
        (
            "Select a cell to see what its field takes (format, length, what AWS says of it). Amounts are numbers "
            "(at most 2 decimals, e.g. 1500.50): SUM, sorting and filters work on them. Dates are dates: type "
            f"{example_date()}. Times are in UTC. An amount a spreadsheet cannot hold exactly (more than 15 digits) "
            "or a date before March 1900 stays text, with a note on its cell, and is sent exactly as shown.",
            False,
        ),
        (
            f"Grey cells cannot be edited: {locked_columns} "
            f"{'column is set by AWS or names' if locked_columns == 1 else 'columns are set by AWS or name'} the "
            f"record{status}. "
            "An edit in a grey cell is not sent, and the plan lists it.",
            False,
        ),
        (
            "Click + above the column letters to show the other columns of a part (Customer, Project, Marketing, ...).",
            False,
        ),
        (
            "Keep the columns Id and Last modified date: they say which record a row is and which version you edited. "
            "Do not merge rows; you may sort and filter. A row you add without an Id is a new opportunity. A column "
            "of your own (notes) is refused by the push, so that a mistyped header cannot lose its edits: push "
            "with --extra keep (extra='keep' in Python) to keep such columns, never sent.",
            False,
        ),
        ("", False),
        ("What blank means", True),
        (
            "A blank cell keeps the value AWS has. To clear a value, empty the cell and push with --blank clear "
            "(blank='clear' in Python): the plan lists every clear first.",
            False,
        ),
        ("", False),
        *how_to_push(push, "look at the plan, then push"),
        (
            "In Python: opptoolkit.plan_updates(path, catalog), then opptoolkit.push_updates(...). A row "
            "changed on the server since the export is merged field by field; a field changed on both sides is a "
            "conflict, and nothing is sent for that row.",
            False,
        ),
    ]


def ignore_numbers_as_text(ws: Any, ref: str) -> None:
    """Tell Excel that the text cells of ``ref`` holding digits are meant as text.

    So it does not flag each one "Number Stored as Text" (ECMA-376 Part 1, 18.3.1.51 ``ignoredError``,
    ``numberStoredAsText``). openpyxl writes no ``ignoredErrors``; the element goes where the
    schema's order puts it, after the page breaks (CT_Worksheet: ... rowBreaks, colBreaks,
    customProperties, cellWatches, ignoredErrors, smartTags, drawing ...), through the write-only
    sheet's writer, which exists once a row is appended. Without that writer nothing is added.
    """
    from xml.etree.ElementTree import Element, SubElement

    writer: Any = getattr(ws, "_writer", None)
    breaks = getattr(writer, "write_breaks", None)
    if breaks is None:  # pragma: no cover - another openpyxl
        return

    def write_breaks() -> None:
        breaks()
        el = Element("ignoredErrors")
        SubElement(el, "ignoredError", sqref=ref, numberStoredAsText="1")
        writer.xf.send(el)

    writer.write_breaks = write_breaks


# -- the workbook -------------------------------------------------------------------------------------


def build_workbook(
    names: list[str],
    columns: list[list[str]],
    fields: list[Field | None],
    sheet: str,
    *,
    paths: list[str],
    statuses: Sequence[Any],
    lay: Any,
    solutions: pd.DataFrame | None = None,
    marks: Mapping[int, Mapping[int, tuple[str, str]]] | None = None,
    push: str | None = None,
    reasons: Sequence[str | None] | None = None,
    locks: Sequence[frozenset[int]] | None = None,
    lists: Mapping[int, Sequence[str]] | None = None,
    suggest: frozenset[int] = frozenset(),
    prompts: Mapping[int, str] | None = None,
    notes: Sequence[tuple[str, bool]] | None = None,
    printed: int | None = None,
    wrap_long: bool = False,
) -> Any:
    """Return the analyst's workbook, not yet saved: the data sheet (first), "Read me", "Solutions" (when given), the hidden "Lists".

    ``columns`` holds each column's encoded cells ("" for blank), in sheet order. ``marks``: cells to point
    at, ``{body row: {column: (note, fill colour)}}`` (0-based): filled and given the note as a comment (a
    results workbook marks the cells a push refused so). A write-only openpyxl workbook: the caller adds what
    else it carries (:func:`~._base.add_base`, a results sheet), then saves it.

    An opportunity sheet takes the rest from the model and the rules; another sheet of the toolkit (the
    referrals triage, the leads) says, per sheet position: ``reasons`` why a column is read-only (None:
    editable; default :func:`column_reasons`), ``locks`` the positions each row makes read-only (default
    :func:`row_locks` by ``ReviewStatus``), ``lists`` a dropdown's values for a column the model gives
    none (``suggest``: those whose values are suggestions, another text allowed), ``prompts`` a column's
    input message, ``notes`` the Read me's lines (default :func:`read_me` with the ``push`` command),
    ``printed`` how many leading columns go on paper (default: those of :data:`WORK_FIRST`), ``wrap_long``
    whether a text longer than its column is wide wraps (an invitation's message: read to decide) rather than
    being cut where the next column starts.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.properties import Outline

    n = len(columns[0]) if columns else 0
    last = n + 1
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    read_me_sheet = wb.create_sheet("Read me")
    known = solution_rows(solutions) if solutions is not None and ASSOCIATED in paths else None
    if known is not None:
        write_solutions(wb.create_sheet("Solutions"), known)
    lists_sheet = wb.create_sheet("Lists")
    lists_sheet.sheet_state = "hidden"

    always = list(reasons) if reasons is not None else column_reasons(paths, fields)
    if locks is None:
        locks = row_locks(paths, fields, statuses, always)
    dropdowns, prompts = lists or {}, prompts or {}
    grey = PatternFill("solid", fgColor=LOCKED_FILL)
    grey_font = Font(name=FONT, size=11, color=LOCKED_FONT)

    kinds = [cell_kind(f) for f in fields]
    formats = {AMOUNT: AMOUNT_FORMAT, DATE: DATE_CELL_FORMAT}

    def make_style(locked: bool, wrap: bool, kind: str | None = None) -> Any:
        c: Any = WriteOnlyCell(ws)
        c.number_format = formats.get(kind or "", TEXT)
        # amounts and dates right-aligned, as numbers are (one kept as text too, so the column lines up), a
        # space from the next column's text in their own format
        right = kind in (AMOUNT, DATE)
        c.alignment = Alignment(vertical="top", wrap_text=wrap, horizontal="right" if right else None)
        if locked:
            c.fill, c.font = grey, grey_font
        return c._style

    def column_style(j: int, locked: bool, wrap: bool) -> Any:
        return make_style(locked, wrap, kinds[j]) if kinds[j] is not None else None

    # the columns: width, text format (for cells typed into later), shading, outline
    if lay.frozen or n:
        ws.freeze_panes = f"{get_column_letter(lay.frozen + 1)}2"
    ws.sheet_properties.outlinePr = Outline(summaryRight=False)  # the [+] sits over a part's first column
    grouped = {j for a, b in lay.groups for j in range(a, b + 1)}
    starts = {a - 1 for a, _ in lay.groups}
    widths: list[float | None] = []
    for j, (name, texts) in enumerate(zip(names, columns, strict=True)):
        dim = ws.column_dimensions[get_column_letter(j + 1)]
        dim.width = width(name, shown_texts(texts, fields[j])) + (1 if kinds[j] is not None else 0)  # the gap
        widths.append(dim.width if wrap_long and kinds[j] is None else None)
        dim.number_format = formats.get(kinds[j] or "", TEXT)  # what a cell typed into later becomes
        if kinds[j] is not None:
            dim.alignment = Alignment(horizontal="right")
        if always[j] is not None:
            dim.fill, dim.font = grey, grey_font
        if j in grouped:
            dim.outline_level, dim.hidden = 1, True
        elif j in starts:
            dim.collapsed = True
    if names:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{last}"
    ws.row_dimensions[1].height = 45
    # on paper, the columns an analyst works with (all of them when the sheet was given its columns)
    work = next((j for j, c in enumerate(paths) if c not in WORK_FIRST), len(paths))
    print_setup(ws, printed or (work if lay.groups and work else None), last)

    # dropdowns (values on the hidden Lists sheet) and input messages, one validation per column
    list_columns: list[list[str]] = []
    for j, (name, f) in enumerate(zip(names, fields, strict=True)):
        letter = get_column_letter(j + 1)
        ref = f"{letter}2:{letter}{max(last, 2)}"
        prompt = prompts.get(j) or input_message(f, always[j])
        title = name[:32]
        # a dropdown's values (None: no dropdown), whether a value not among them is warned of, and in what words
        values: tuple[str, ...] | None = None
        warn, error = False, ""
        if j in dropdowns:
            values, warn = tuple(dropdowns[j]), j not in suggest
            error = "Not one of the values this column takes: pick one from the list."
        elif known is not None and paths[j] == ASSOCIATED:
            # the ids of the active solutions (the ones AWS associates); their names on the Solutions sheet;
            # several ids in one cell: never refused
            values = tuple(i for i, _, status, _ in known if status == ACTIVE)
            prompt = solutions_message(prompt)
        elif f is not None and f.enum:
            # a column no edit can change lists its values all the same (what each status may be), and its
            # input message says why it is shaded; typing there only warns, and the plan names the edit
            values, warn = choices(f), not f.is_list
            error = (
                "Not one of the values AWS accepts: pick one from the list."
                if always[j] is None
                else "This column is not editable: the push does not send it."
            )
        dv = DataValidation(allow_blank=True, promptTitle=title, prompt=prompt[:255], showInputMessage=True)
        if values is not None:
            list_columns.append([name, *values])
            col = get_column_letter(len(list_columns))
            dv.type, dv.formula1 = "list", f"Lists!${col}$2:${col}${max(len(values), 1) + 1}"
            dv.showErrorMessage = warn
            if error:
                dv.errorStyle, dv.errorTitle, dv.error = "warning", title, error
        dv.add(ref)
        ws.data_validations.append(dv)

    header = []
    for j, (name, f) in enumerate(zip(names, fields, strict=True)):
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(name=FONT, size=11, bold=True, italic=always[j] is not None)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = PatternFill("solid", fgColor=LOCKED_HEADER_FILL if always[j] is not None else HEADER_FILL)
        cell.number_format = TEXT
        if f is not None and f.doc:
            cell.comment = Comment(f.doc[:1000], "opptoolkit")
        header.append(cell)
    ws.append(header)
    if names:
        ignore_numbers_as_text(ws, f"A2:{get_column_letter(len(names))}{max(last, 2)}")
    # texts (openpyxl would take a leading "=" as a formula, which guard_text prevents), and the typed cells
    typed = [
        kind is not None or (f is not None and f.type == "timestamp") for kind, f in zip(kinds, fields, strict=True)
    ]
    noted: dict[int, dict[int, str]] = {}

    def typed_column(j: int, texts: list[str]) -> list[Any]:
        out: list[Any] = []
        for i, t in enumerate(texts):
            v, note = typed_cell(t, fields[j]) if t != "" else (None, None)
            if note is not None:
                noted.setdefault(i, {})[j] = note
            out.append(ooxml_escape(v) if isinstance(v, str) else v)
        return out

    cells_of = [
        typed_column(j, texts) if typed[j] else [ooxml_escape(t) if t != "" else None for t in texts]
        for j, texts in enumerate(columns)
    ]
    rows = (list(row) for row in zip(*cells_of, strict=True))
    fills: dict[str, list[str]] = {}
    for i, marked in (marks or {}).items():
        for j, (note, colour) in marked.items():
            own = noted.setdefault(i, {})
            own[j] = f"{note}\n\n{own[j]}" if j in own else note
            fills.setdefault(colour, []).append(f"{get_column_letter(j + 1)}{i + 2}")
    for colour, refs in fills.items():  # a rule, not a style: over the grey of a locked cell too
        rule = FormulaRule(formula=["TRUE"], fill=PatternFill("solid", bgColor=colour))  # type: ignore[no-untyped-call]
        ws.conditional_formatting.add(" ".join(refs), rule)
    wrap_at = widths if wrap_long else None
    for cells in styled_rows(
        ws, rows, always, locks, make_style, column_style=column_style, notes=noted, wrap_at=wrap_at
    ):
        ws.append(cells)

    read_me_sheet.column_dimensions["A"].width = 100  # before the rows: a write-only sheet writes its columns first
    if notes is None:
        notes_lines = read_me(
            n, sheet, len(list_columns), sum(a is not None for a in always), P.REVIEW_STATUS in paths, push=push
        )
    else:
        notes_lines = list(notes)
    for text, heading in notes_lines:
        # a line per row (no program has to wrap or size a row for it to read); a command stays one line, to copy
        command = text.startswith("    opptoolkit ")
        lines = (
            [text]
            if command
            else textwrap.wrap(
                text, 95, break_on_hyphens=False, subsequent_indent="    " if text.startswith(" ") else ""
            )
        )
        for line in lines or [""]:
            cell = WriteOnlyCell(read_me_sheet, value=line or None)
            cell.font = Font(name=FONT, bold=heading, size=13 if heading else 11)
            read_me_sheet.append([cell])
    height = max((len(c) for c in list_columns), default=0)
    for i in range(height):
        lists_sheet.append([c[i] if i < len(c) else None for c in list_columns])
    add_exact(wb, paths, columns, [k == AMOUNT for k in kinds])
    return wb
