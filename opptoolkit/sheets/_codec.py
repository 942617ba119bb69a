r"""The cell codec: a frame's values as the texts of a sheet's cells, and back (pure: no file).

Conventions (documented in the README, stable across versions):

* Every cell is written as **text**; on read everything is read as text (``dtype=str``,
  ``keep_default_na=False``) and converted per field from the service model. ``NA`` stays
  Namibia, ``00501`` keeps its zeros, amounts stay the API's strings.
* **Lists of scalars** (``PrimaryNeedsFromAws``) are one cell, one item per line. Inside an item
  a backslash is written ``\\``, a line feed ``\n`` and a carriage return ``\r``. When reading a list of enum values,
  a cell without line breaks may also separate items with ``;`` (easier to type).
* **Formula guard**: a text that starts with ``=``, ``+``, ``-``, ``@``, tab, carriage return or
  ``'``, or that is an error value's name (``#N/A``, ``#REF!``, ...), is written with one extra
  leading ``'`` so no spreadsheet program evaluates it; reading removes exactly one leading ``'``.
  Every workbook the toolkit writes (the analyst's, the results, the triage, the report, ``to_excel``)
  guards its text so.
* **Timestamps** are ISO 8601 in UTC (``2025-01-31T09:30:00.123000+00:00``); the analyst's workbook shows
  them as ``2025-01-31 09:30:00.123 UTC`` (:func:`time_text`), which reads back to the same instant.
* **Typed cells** (the analyst's workbook only, :func:`typed_cell`): an amount (a field whose model pattern
  takes decimal numbers only, :attr:`~opptoolkit.schema.Field.is_amount`) is a number cell when a spreadsheet
  holds it exactly (at most :data:`DIGITS` significant digits), a ``YYYY-MM-DD`` date a date cell; anything
  else stays text, with a note saying why. A number read back is the API's text again: the text the workbook
  was written with when the values are equal (:func:`exact_amounts`), else the number's shortest text.
* **Headers** are the dotted paths, or with ``headers="label"`` friendly labels derived from the
  paths (``Customer account company name``, ``Customer contacts 1 email``); both are accepted on
  read.

Cells a spreadsheet program converted (a number in a text field, a date typed into a date
field) are converted back and listed in ``df.attrs["sheet_warnings"]`` (each a dict of a
:class:`~opptoolkit.Problem`'s ``row``, ``field``, ``code`` and ``message``: ``attrs`` hold only what
JSON carries, since pandas writes them into a Parquet file's metadata as JSON).
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import logging
import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any, Literal, NamedTuple, get_args

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._values import INSTANTS, NOT_AN_INSTANT, NOT_TIMES, did_you_mean, is_blank, number_text, to_utc
from ..exceptions import Problem, SheetError
from ..schema import ID, Field, Schema
from ._rows import SheetRows

__all__ = [
    "AMOUNT_FORMAT",
    "DATE_CELL_FORMAT",
    "DATE_FORMAT",
    "DIGITS",
    "ERRORS",
    "EXTRA_POLICIES",
    "ILLEGAL_XML",
    "Cells",
    "Extra",
    "Headers",
    "Table",
    "amount_text",
    "decode_table",
    "encode_cell",
    "encode_column",
    "exact_amounts",
    "guard_text",
    "letter",
    "ooxml_escape",
    "ooxml_unescape",
    "shown",
    "table",
    "text_series",
    "time_text",
    "typed_cell",
    "unguard",
]

_log = logging.getLogger(__name__)
Headers = Literal["path", "label"]  # dotted paths, or friendly labels
Extra = Literal["error", "keep"]  # a column the model does not know: refused, or kept as text
EXTRA_POLICIES: tuple[Extra, ...] = get_args(Extra)
_GUARD = ("=", "+", "-", "@", "\t", "\r", "'")
# The error values a cell can hold (ECMA-376 Part 3 primer, "Error values",
# https://c-rex.net/projects/samples/ooxml/e1/Part3/OOXML_P3_Primer_Error_topic_ID0EUQBO.html;
# Excel's ERROR.TYPE adds #GETTING_DATA: https://support.microsoft.com/ja-jp/excel/error-type-function).
ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
ILLEGAL_XML = re.compile(r"[\ufffe\uffff]")
# OOXML's own escape for characters XML cannot carry (or would normalise, like CR): _xHHHH_.
# Excel and LibreOffice write and read it; a literal "_xHHHH_" is escaped as "_x005F_xHHHH_".
_OOXML_LITERAL = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_OOXML_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_OOXML_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
#: A spreadsheet's number formats: an amount with 2 decimals and grouped thousands, a date in ISO's order
#: whatever the reader's locale (both are built into Excel and LibreOffice). An amount's format ends in a space
#: as wide as ")" (``_)``), in its text section too (an amount kept as text): the gap before the next column, a
#: currency code, which a right-aligned cell's indent gives in Excel but LibreOffice draws only sometimes (its
#: indent is no use for the gap: a column of indented numbers comes out ragged).
AMOUNT_FORMAT, DATE_FORMAT = "#,##0.00_);-#,##0.00_);0.00_);@_)", "yyyy-mm-dd"
#: A date cell of the analyst's workbook: the same gap before the next column as an amount's.
DATE_CELL_FORMAT = f"{DATE_FORMAT}_)"
#: The significant digits a spreadsheet keeps of a number: Excel's specifications ("Number precision: 15
#: digits", https://support.microsoft.com/en-us/office/excel-specifications-and-limits-1672b34d-7043-467e-8e27-269d656771c3);
#: LibreOffice saves a number with as many. An amount with more stays text.
DIGITS = 15
#: The first day both programs number alike: Excel counts a 29 February 1900 that never was, so its serial
#: numbers of earlier days differ from LibreOffice's by one (ECMA-376 Part 1, 18.17.4.1, "1900 date base").
FIRST_DAY = date(1900, 3, 1)
NOTE_AMOUNT = (
    "Kept as text: a spreadsheet holds a number to 15 significant digits, and this amount has more. "
    "It is sent exactly as shown, but SUM does not count it."
)
NOTE_DATE = "Kept as text: a spreadsheet cannot hold this date as a date (before March 1900, or no such day)."
_UTC = " UTC"
_UNESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "r": "\r"}


# -- encoding ----------------------------------------------------------------------------------------


def guard_text(text: str) -> str:
    """``text`` as a cell no spreadsheet program evaluates (the formula guard).

    >>> guard_text("=1+1"), guard_text("#N/A"), guard_text("Acme")
    ("'=1+1", "'#N/A", 'Acme')
    """
    return "'" + text if text.startswith(_GUARD) or text in ERRORS else text


def unguard(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def ooxml_escape(text: str) -> str:
    if text and not text.strip(" \t\n\r"):  # XML whitespace only: openpyxl omits xml:space="preserve",
        return "".join(f"_x{ord(c):04X}_" for c in text)  # and readers such as calamine drop it
    if "_x" in text:
        text = _OOXML_LITERAL.sub(r"_x005F_\1", text)
    return _OOXML_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def ooxml_unescape(text: str) -> str:
    return _OOXML_ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _encode_list(items: Any) -> str:
    parts = [str(x).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") for x in items if not is_blank(x)]
    return "\n".join(parts)


def _decode_list(text: str, f: Field) -> list[str]:
    lines = re.split(r"\r?\n", text) if "\r" in text else text.split("\n")
    if len(lines) == 1 and ";" in text and f.enum and not any(";" in e for e in f.enum):
        lines = [p.strip() for p in text.split(";")]
    items = [_UNESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), x) if "\\" in x else x for x in lines]
    return [x for x in items if x != ""]


def encode_column(s: pd.Series, f: Field | None) -> list[str]:
    """``encode_cell`` for a whole column.

    Text columns of text fields (blank to "", the formula guard) without the per-cell type tests, the rest
    cell by cell.
    """
    if f is not None and not f.is_list and f.type != "timestamp" and isinstance(s.dtype, pd.StringDtype):
        return [guard_text(text) for text in s.to_numpy(dtype=object, na_value="").tolist()]
    return [encode_cell(v, f) for v in s.tolist()]


def encode_cell(value: Any, f: Field | None) -> str:
    """One cell as the text written to the sheet ("" for blank)."""
    if is_blank(value):
        return ""
    if f is not None and f.is_list:
        return guard_text(_encode_list(list(value)))
    if isinstance(value, datetime):
        return to_utc(value).isoformat()
    return guard_text(str(value))


def time_text(iso: str) -> str:
    """Return a timestamp cell's ISO text (UTC, as :func:`encode_cell` writes it) as the analyst's workbook shows it.

    The date, the time to the digits it has (none, milliseconds or more) and ``UTC``: it reads back to the same
    instant, and sorts as the times do. Any other text is returned unchanged.

    >>> time_text("2026-12-06T15:48:26.702000+00:00"), time_text("2026-12-06T15:48:26+00:00")
    ('2026-12-06 15:48:26.702 UTC', '2026-12-06 15:48:26 UTC')
    """
    if len(iso) < 25 or iso[10] != "T" or not iso.endswith("+00:00"):
        return iso
    clock = iso[11:-6]
    whole, _, fraction = clock.partition(".")
    fraction = fraction.rstrip("0")
    fraction += "0" * (-len(fraction) % 3)  # milliseconds, microseconds or nanoseconds: in groups of 3
    return f"{iso[:10]} {whole}{'.' + fraction if fraction else ''}{_UTC}"


def _significant(d: decimal.Decimal) -> int:
    return len(d.normalize().as_tuple().digits)


def typed_cell(text: str, f: Field | None) -> tuple[Any, str | None]:
    """Return an encoded cell text (:func:`encode_cell`) as the analyst's workbook writes it, and a note for the cell.

    An amount the model's pattern takes as a number cell, if a spreadsheet holds it exactly (at most
    :data:`DIGITS` significant digits; else text, with a note); a date as a date cell (text with a note before
    :data:`FIRST_DAY` or for a day no calendar has); a timestamp as :func:`time_text`; anything else as it is.
    A text the pattern refuses stays text, without a note: the plan names it.

    >>> from opptoolkit.schema import get_schema
    >>> amount = get_schema()["Project.ExpectedCustomerSpend[].Amount"]
    >>> typed_cell("60000.00", amount), typed_cell("1,500", amount)
    ((60000.0, None), ('1,500', None))
    >>> typed_cell("1234567890123456.5", amount)[1][:40]
    'Kept as text: a spreadsheet holds a numb'
    """
    if not text or f is None or f.is_list:
        return text, None
    if f.type == "timestamp":
        return time_text(text), None
    if f.is_amount:
        number = unguard(text)  # a signed number carries the formula guard as text
        if not f.matches(number):
            return text, None
        try:
            d = decimal.Decimal(number)  # the pattern admits a decimal number only
        except decimal.InvalidOperation:
            return text, None
        return (float(d), None) if d.is_finite() and _significant(d) <= DIGITS else (text, NOTE_AMOUNT)
    if f.is_date and f.matches(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return text, NOTE_DATE
        return (day, None) if day >= FIRST_DAY else (text, NOTE_DATE)
    return text, None


def amount_text(v: float) -> str:
    """Return a number cell of an amount column as the text of its value.

    The digits a spreadsheet shows (:data:`DIGITS` significant ones), without exponent or trailing zeros.

    >>> amount_text(60000.0), amount_text(1200.5), amount_text(0.1 + 0.2), amount_text(1e20)
    ('60000', '1200.5', '0.3', '100000000000000000000')
    """
    d = decimal.Decimal(format(v, f".{DIGITS}g"))
    return format(d.normalize() if d != d.to_integral_value() else d.quantize(decimal.Decimal(1)), "f")


def _value(text: Any) -> decimal.Decimal | None:
    if not isinstance(text, str):
        return None
    try:
        d = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        return None
    return d if d.is_finite() else None


def exact_amounts(df: pd.DataFrame, written: dict[str, dict[str, str]]) -> None:
    """Put back, in place, the text an amount cell was written with, where the cell still holds that value.

    ``written``: per column, each ``Id``'s text as the workbook was written (:func:`opptoolkit.sheets._base.
    add_exact`). A spreadsheet gives a number (``60000``) for the API's text (``60000.00``, or ``10000.0``):
    equal by value, the cell reads as the text written, so that only a real edit differs from the export.
    """
    if ID not in df.columns:
        return
    ids = df[ID].tolist()
    for col, texts in written.items():
        if col not in df.columns or not texts:
            continue
        values = df[col].tolist()
        changed = False
        for i, (ident, v) in enumerate(zip(ids, values, strict=True)):
            old = texts.get(ident) if isinstance(ident, str) else None
            if old is None or v == old or is_blank(v):
                continue
            a, b = _value(v), _value(old)
            if a is not None and a == b:
                values[i], changed = old, True
        if changed:
            df[col] = pd.Series(values, index=df.index, dtype=df[col].dtype)


# -- a sheet's cells as columns -----------------------------------------------------------------------


class Cells(NamedTuple):
    """What an engine read of a sheet, row by row from the header (row 1).

    ``flagged``: the cells that look blank or like a value but are not (``{(row, column): why}``: error
    values, formulas with no saved value); ``merged``: ``(row, column, "B2:C3")`` of each merged range.
    """

    records: list[Sequence[Any]]
    flagged: dict[tuple[int, int], str]
    merged: list[tuple[int, int, str]]


#: A sheet as :func:`decode_table` takes it: the header, one sequence per column of the body, each body
#: row's number in the sheet (header = 1).
Table = tuple[list[str], list[Sequence[Any]], list[int]]


def table(read: Cells, *, name: str, short_rows: bool, empty: str) -> Table:
    """Return the header, the columns of the sheet's body and each body row's number in the sheet (header = 1).

    Rows with no value are left out, as a spreadsheet program shows them empty. ``short_rows``: a row with
    fewer cells than the header is a problem (a CSV's missing separator); ``empty`` says what a sheet
    without even a header is (refused).

    Raises
    ------
    SheetError
        No header, a value under no header, a short row, a flagged cell, merged cells.
    """
    records, flagged, merged = read
    head = records[0] if records else ()
    width = max((i + 1 for i, h in enumerate(head) if h not in (None, "")), default=0)
    if not width and not any(any(v not in (None, "") for v in r) for r in records):
        # nothing at all: a file cut short or saved empty, never "a sheet of no rows" that pushes nothing
        raise SheetError(f"cannot read {name}: {empty}, not even a header row: write or export it again")
    body: list[Sequence[Any]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    names = ["" if h is None else str(h) for h in head[:width]]

    def where(col: int) -> str:
        return (names[col] if col < width and names[col] else None) or f"column {letter(col)}"

    for n, r in enumerate(records[1:], start=2):
        cells = r if len(r) == width else [*r[:width], *[None] * (width - len(r))]
        if short_rows and 0 < len(r) < width and any(v != "" for v in r):
            problems.append(
                Problem(
                    n,
                    where(len(r)),
                    "INVALID_VALUE",
                    f"the row has {len(r)} cells, the header {width}: a separator or a quote is missing; fix the row",
                )
            )
        if any(cells) or any(v not in (None, "") for v in cells):  # the second for a row of 0s
            body.append(cells)
            rows.append(n)
        stray = next((j for j in range(width, len(r)) if r[j] not in (None, "")), None)
        if stray is not None:
            problems.append(
                Problem(
                    n, f"column {stray + 1}", "INVALID_VALUE", "a value under no header: name the column or clear it"
                )
            )
    for (n, j), what in sorted(flagged.items()):
        problems.append(Problem(n, where(j), "INVALID_VALUE", f"cell {letter(j)}{n} {what}: fix it or type the value"))
    for n, j, ref in merged:
        problems.append(
            Problem(
                n, where(j), "INVALID_VALUE", f"cells {ref} are merged: unmerge them, each cell holds its own value"
            )
        )
    if problems:
        raise SheetError(f"cannot read {name}", sorted(problems, key=lambda p: (p.row, p.field)))
    columns: list[Sequence[Any]] = list(zip(*body, strict=True)) if body else [()] * width
    return names, columns, rows


def letter(col: int) -> str:
    """Return the letters of the 0-based column ``col`` (``0`` -> ``A``)."""
    from openpyxl.utils import get_column_letter

    return get_column_letter(col + 1)


# -- decoding ----------------------------------------------------------------------------------------


def decode_table(
    head: Sequence[str],
    body: Sequence[Sequence[Any]],
    rows: list[int],
    *,
    name: str,
    extra: Extra,
    schema: Schema,
) -> pd.DataFrame:
    """Return the frame a sheet's cells stand for: the header mapped to fields, each column decoded per field.

    ``body`` holds one sequence per column (an Arrow text array, or a list of the cells an engine read), ``rows``
    each body row's number in the sheet (header = 1); ``name`` names the sheet in errors and logs. What the
    frame carries besides: ``attrs["sheet_warnings"]`` and its rows' :class:`SheetRows`.

    Raises
    ------
    SheetError
        Unknown (with ``extra="error"``) or duplicate column, duplicate ``Id``, or a cell of the wrong type.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    columns: list[str] = []
    kept: list[str] = []  # extra columns, kept as text
    for i, h in enumerate(head):
        col = schema.path_for_label(h) if h.strip() else None
        if col is None:
            mean = did_you_mean(h, [*schema.fields, *(f.label for f in schema)])
            if extra == "keep" and h.strip():
                col = h
                kept.append(h)  # twice: refused below as a duplicate
                if mean:
                    warnings.append(Problem(1, h, "INVALID_VALUE", f"kept as an extra column, never sent; {mean}"))
            else:
                how = f"; {mean}" if mean else ' (keep it with extra="keep", or --extra keep)' if h.strip() else ""
                problems.append(Problem(1, h or f"column {i + 1}", "INVALID_VALUE", "unknown column" + how))
        if col is not None and col in columns:
            problems.append(Problem(1, h, "DUPLICATE_KEY_VALUE", f"column {col} appears twice"))
        columns.append(col or h)
    if problems:
        raise SheetError(f"cannot read {name}: bad header", problems)
    data: dict[str, Any] = {}
    for col, cells in zip(columns, body, strict=True):
        values = cells  # an Arrow array or a list of cells, made one or the other below
        f = None if col in kept else schema.field_for(col)
        text_field = f is not None and col != ID and f.type != "timestamp" and not f.is_list
        if text_field and not isinstance(values, pa.Array):  # an xlsx column: whole if all its cells are text
            with contextlib.suppress(pa.ArrowTypeError, pa.ArrowInvalid):  # a typed cell: converted, with a warning
                values = pa.array(values, pa.large_string())
        if isinstance(values, pa.Array):  # a column of text, read whole
            if text_field:
                data[col] = _text_column(values)
                continue
            if f is not None and f.type == "timestamp":
                texts = text_series(values)
                stripped, filled = texts.str.strip().str.removesuffix(_UTC), texts != ""
                # ISO 8601, as written; anything else (spaces only, "now", a year pandas cannot hold) is
                # parsed or refused cell by cell below, by the one rule of to_utc
                if not ((stripped == "") & filled).any() and not stripped.str.casefold().isin(NOT_TIMES).any():
                    try:
                        parsed = pd.to_datetime(stripped.where(filled), utc=True, format="ISO8601")
                        if parsed.dropna().between(*INSTANTS).all():
                            data[col] = parsed
                            continue
                    except (ValueError, TypeError):
                        pass
            values = values.to_pylist()
        if f is None:  # a header the model does not know: its cells as text
            data[col] = [None if v is None or v == "" else unguard(str(shown(v))) for v in values]
        else:
            data[col] = _decode_column(values, rows, f, col, problems, warnings)
    if ID in data:
        seen: dict[str, int] = {}
        for row, v in zip(rows, data[ID], strict=True):
            if v is None:
                continue
            if v in seen:
                problems.append(Problem(row, ID, "DUPLICATE_KEY_VALUE", f"Id {v} also on row {seen[v]}"))
            else:
                seen[v] = row
    if problems:
        raise SheetError(f"cannot read {name}", problems)
    for w in warnings:
        _log.warning("%s: %s", name, w)
    known = schema.sort_columns([c for c in columns if c not in kept])
    df = pd.DataFrame({c: data[c] for c in known + kept}, columns=known + kept)
    for c in known:
        if schema.field_for(c).type == "timestamp":
            df[c] = pd.to_datetime(df[c], utc=True)
    df.attrs["sheet_warnings"] = [dataclasses.asdict(w) for w in warnings]  # JSON-safe, as every attrs value
    # the row number in the sheet of each frame label (0, 1, ...), with its Id so that a frame
    # relabelled since is not misnamed
    return SheetRows(tuple(rows), tuple(data.get(ID, [None] * len(rows)))).attach(df)


def text_series(texts: Any) -> pd.Series:
    """``pd.Series(texts, dtype="str")`` of an Arrow text array, wrapping its buffers."""
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(texts), dtype="str")


def _text_column(values: Any) -> Any:
    """Return a text field's Arrow column as the frame's.

    The formula guard's ``'`` removed (as :func:`unguard`), blank cells missing; all blank as a column of
    None, as cell by cell.
    """
    blank = pc.equal(values, "")
    if values.null_count:
        blank = pc.fill_null(blank, True)
    if pc.all(blank).as_py():
        return [None] * len(values)
    guarded = pc.starts_with(values, "'")
    if pc.any(guarded).as_py():
        values = pc.if_else(guarded, pc.utf8_slice_codeunits(values, 1), values)
    if pc.any(blank).as_py():
        values = pc.if_else(blank, pa.scalar(None, values.type), values)
    return text_series(values)


def shown(v: Any) -> Any:
    """Return a typed xlsx cell (bool, number, date) as the text it shows.

    Numbers without ``.0``, a date at midnight as ``YYYY-MM-DD``; anything else as it is.
    """
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return number_text(v)
    if isinstance(v, (datetime, date)) and (not isinstance(v, datetime) or v.time() == time(0)):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, (datetime, time)):
        return v.isoformat()
    return v


def _decode_column(
    values: Sequence[Any], rows: list[int], f: Field, col: str, problems: list[Problem], warnings: list[Problem]
) -> list[Any]:
    """``_decode`` for a whole column; a text cell of a text field (the usual cell) only needs unguarding."""
    if f.is_list:
        return _decode_lists(values, rows, f, col, problems, warnings)
    if f.type == "timestamp":
        return [
            None if v is None or v == "" else _decode(v, f, rows[i], col, problems, warnings)
            for i, v in enumerate(values)
        ]
    return [
        None
        if v is None or v == ""
        else unguard(v)
        if type(v) is str
        else _decode(v, f, rows[i], col, problems, warnings)
        for i, v in enumerate(values)
    ]


def _decode_lists(
    values: Sequence[Any], rows: list[int], f: Field, col: str, problems: list[Problem], warnings: list[Problem]
) -> list[Any]:
    """``_decode`` for a column of a list field.

    The usual cell (text, items on their own lines, no escape, no CR, no ";" to split on) split here, any
    other by :func:`_decode`.
    """
    semicolons = bool(f.enum) and not any(";" in e for e in f.enum)
    out: list[Any] = []
    for i, v in enumerate(values):
        if v is None or v == "":
            out.append(None)
        elif type(v) is not str or "\\" in v or "\r" in v or (semicolons and ";" in v and "\n" not in v):
            out.append(_decode(v, f, rows[i], col, problems, warnings))
        else:
            items = (v[1:] if v[0] == "'" else v).split("\n")  # unguard, then _decode_list's split
            out.append(items if "" not in items else [x for x in items if x] or None)
    return out


def _decode(v: Any, f: Field, row: int, col: str, problems: list[Problem], warnings: list[Problem]) -> Any:
    """One raw cell (text from CSV; text, number, date or bool from xlsx) to the frame's value."""
    if v is None or v == "":
        return None
    if f.type == "timestamp":
        if isinstance(v, str) and not v.strip():
            return None  # spaces only: blank, as pandas read it
        try:  # ISO 8601, or as the analyst's workbook shows it (time_text)
            return to_utc(v if isinstance(v, datetime) else str(v).strip().removesuffix(_UTC))
        except ValueError:
            problems.append(Problem(row, col, "INVALID_STRING_FORMAT", NOT_AN_INSTANT))
            return None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and f.is_amount and math.isfinite(v):
        return amount_text(v)  # an amount column holds numbers
    if isinstance(v, bool):
        warnings.append(Problem(row, col, "INVALID_VALUE", "a TRUE/FALSE cell was read as text"))
    elif isinstance(v, (int, float)):
        warnings.append(
            Problem(
                row, col, "INVALID_VALUE", "a number cell in a text field was read as text (leading zeros may be lost)"
            )
        )
    elif isinstance(v, (datetime, date, time)) and not f.is_date:
        warnings.append(Problem(row, col, "INVALID_VALUE", "a date cell in a text field was read as text"))
    v = shown(v)
    if f.is_list:
        items = _decode_list(unguard(str(v)), f)
        return items or None
    return unguard(str(v))
