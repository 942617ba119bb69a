r"""Opportunity frames to and from ``.xlsx`` / ``.csv``, with nothing drifting on the way.

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
* Cells that look blank but were not blank to the analyst are **problems**, never blanks: a CSV
  row with fewer cells than the header, a formula with no saved value, merged cells, an error
  value (``#N/A``, ``#REF!``, ...).
* **Timestamps** are ISO 8601 in UTC (``2025-01-31T09:30:00.123000+00:00``).
* **Headers** are the dotted paths, or with ``headers="label"`` friendly labels derived from the
  paths (``Customer account company name``, ``Customer contacts 1 email``); both are accepted on
  read.
* A sheet may hold any subset of the columns; reading returns just those. Rows left wholly empty
  are skipped; problems name the row number the spreadsheet program shows.

Cells a spreadsheet program converted (a number in a text field, a date typed into a date
field) are converted back and listed in ``df.attrs["sheet_warnings"]`` (each a dict of a
:class:`~opptoolkit.Problem`'s ``row``, ``field``, ``code`` and ``message``: ``attrs`` hold only what
JSON carries, since pandas writes them into a Parquet file's metadata as JSON).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import json
import logging
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import fields as P
from ._files import replacing
from ._gc import gc_paused
from ._values import INSTANTS, NOT_AN_INSTANT, NOT_TIMES, did_you_mean, is_blank, number_text, to_utc
from .exceptions import Problem, SheetError
from .rules import ASSOCIATED
from .schema import ID, Field, Schema, get_schema, label_for

__all__ = ["read_sheet", "to_excel", "write_sheet"]

_log = logging.getLogger(__name__)
Headers = Literal["path", "label"]  # dotted paths, or friendly labels
Extra = Literal["error", "keep"]  # a column the model does not know: refused, or kept as text
EXTRA_POLICIES: tuple[Extra, ...] = get_args(Extra)
_GUARD = ("=", "+", "-", "@", "\t", "\r", "'")
# The error values a cell can hold (ECMA-376 Part 3 primer, "Error values",
# https://c-rex.net/projects/samples/ooxml/e1/Part3/OOXML_P3_Primer_Error_topic_ID0EUQBO.html;
# Excel's ERROR.TYPE adds #GETTING_DATA: https://support.microsoft.com/ja-jp/excel/error-type-function).
_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"})
_ILLEGAL_XML = re.compile(r"[\ufffe\uffff]")
# OOXML's own escape for characters XML cannot carry (or would normalise, like CR): _xHHHH_.
# Excel and LibreOffice write and read it; a literal "_xHHHH_" is escaped as "_x005F_xHHHH_".
_OOXML_LITERAL = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_OOXML_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
_OOXML_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_UNESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "r": "\r"}


# -- cell codec -----------------------------------------------------------------------------------


def guard_text(text: str) -> str:
    """``text`` as a cell no spreadsheet program evaluates (the formula guard).

    >>> guard_text("=1+1"), guard_text("#N/A"), guard_text("Acme")
    ("'=1+1", "'#N/A", 'Acme')
    """
    return "'" + text if text.startswith(_GUARD) or text in _ERRORS else text


def _unguard(text: str) -> str:
    return text[1:] if text.startswith("'") else text


def _ooxml_escape(text: str) -> str:
    if text and not text.strip(" \t\n\r"):  # XML whitespace only: openpyxl omits xml:space="preserve",
        return "".join(f"_x{ord(c):04X}_" for c in text)  # and readers such as calamine drop it
    if "_x" in text:
        text = _OOXML_LITERAL.sub(r"_x005F_\1", text)
    return _OOXML_CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _ooxml_unescape(text: str) -> str:
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


def _encode_column(s: pd.Series, f: Field | None) -> list[str]:
    """``_encode`` for a whole column.

    Text columns of text fields (blank to "", the formula guard) without the per-cell type tests, the rest
    cell by cell.
    """
    if f is not None and not f.is_list and f.type != "timestamp" and isinstance(s.dtype, pd.StringDtype):
        return [guard_text(text) for text in s.to_numpy(dtype=object, na_value="").tolist()]
    return [_encode(v, f) for v in s.tolist()]


def _encode(value: Any, f: Field | None) -> str:
    """One cell as the text written to the sheet ("" for blank)."""
    if is_blank(value):
        return ""
    if f is not None and f.is_list:
        return guard_text(_encode_list(list(value)))
    if isinstance(value, datetime):
        return to_utc(value).isoformat()
    return guard_text(str(value))


# -- writing --------------------------------------------------------------------------------------


def write_sheet(
    df: pd.DataFrame,
    path: str | Path,
    *,
    headers: Headers | None = None,
    sheet_name: str = "Opportunities",
    columns: Sequence[str] | None = None,
    schema: Schema | None = None,
    base: bool = False,
    solutions: pd.DataFrame | None = None,
) -> Path:
    """Write an opportunity frame to ``.xlsx`` or ``.csv`` (by the file's suffix).

    An ``.xlsx`` is made for editing: the columns an analyst works with first (Id, customer
    company, project title, stage, target close date, next steps, expected spend, review status,
    ...), frozen with the header, then the rest grouped by part behind collapsed outlines; a
    dropdown on every enum column; a short input message from the model on every column; the
    cells no edit can change (set by AWS, or locked by the row's ``ReviewStatus``) shaded; every
    cell formatted as text; a "Read me" sheet. A ``.csv`` stays plain. Both read back exactly
    (:func:`read_sheet`).

    Parameters
    ----------
    df : DataFrame
        A frame from :func:`opptoolkit.to_frame` (any subset of its columns).
    path : str or Path
        Destination; ``.xlsx`` or ``.csv``. Written whole or not at all (a temporary file beside it, renamed
        over it once complete; removed if the write fails).
    headers : {"label", "path"}, optional
        Friendly labels as the console names the fields (``Customer company``, ``Stage``;
        the default for ``.xlsx``) or the dotted API paths (the default for ``.csv``).
    sheet_name : str
        Worksheet name for ``.xlsx``.
    columns : list of str, optional
        Only these columns, in this order (``Id`` and ``LastModifiedDate``, which a push needs,
        are kept when the frame has them).
    base : bool, default False
        ``.xlsx`` only: the workbook carries ``df`` as its export (a very hidden sheet), so
        that pushing it after editing it in place plans against what was exported, as
        ``base=`` does (``opptoolkit pull --out x.xlsx`` writes one). Pass True only for the
        records as pulled, never for a frame you edited: its edits would be the base, and plan
        as unchanged.
    solutions : DataFrame, optional
        ``.xlsx`` only: the partner's solutions (:func:`opptoolkit.read_solutions`): a "Solutions"
        sheet lists their ids, names, statuses and categories, and the solutions column gets a
        dropdown of the active ones (``opptoolkit pull --out x.xlsx`` reads them).

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> df = pd.DataFrame({"Id": ["O1"], "Customer.Account.Address.CountryCode": ["NA"],
    ...                    "Project.Title": ["=1+1"]})
    >>> p = write_sheet(df, pathlib.Path(tempfile.mkdtemp()) / "pipeline.csv")
    >>> read_sheet(p).loc[0, ["Customer.Account.Address.CountryCode", "Project.Title"]].tolist()
    ['NA', '=1+1']
    """
    from . import _workbook as W

    schema = schema or get_schema()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise SheetError(f"{path.name}: unsupported file type {suffix!r}; use .xlsx or .csv")
    headers = headers or ("label" if suffix == ".xlsx" else "path")
    if headers not in ("path", "label"):
        raise ValueError("headers must be 'path' or 'label'")
    paths = [str(c) for c in df.columns]
    fields: list[Field | None] = []
    for c in paths:
        try:
            fields.append(schema.field_for(c))
        except KeyError:
            fields.append(None)
    if suffix == ".xlsx" or columns is not None:
        lay = W.layout(paths, fields, None if columns is None else [str(c) for c in columns])
    else:
        lay = W.Layout(list(range(len(paths))), 0, [])
    statuses = df[P.REVIEW_STATUS].tolist() if P.REVIEW_STATUS in df.columns else [None] * len(df)
    paths = [paths[i] for i in lay.order]
    fields = [fields[i] for i in lay.order]
    names = [label_for(c) if headers == "label" and f is not None else c for c, f in zip(paths, fields, strict=True)]
    encoded = [_encode_column(df.iloc[:, i], f) for i, f in zip(lay.order, fields, strict=True)]
    bad = sorted(
        (r, c)
        for c, column in enumerate(encoded if suffix == ".xlsx" else [])
        for r, text in enumerate(column)
        if text and _ILLEGAL_XML.search(text)
    )
    problems = [
        Problem(r + 2, names[c], "INVALID_STRING_FORMAT", "contains a control character a spreadsheet cannot store")
        for r, c in bad
    ]
    if problems:
        raise SheetError(f"cannot write {path.name}", problems)
    with replacing(path) as tmp:
        if suffix == ".csv":
            with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh, lineterminator="\r\n")
                w.writerow(names)
                w.writerows(zip(*encoded, strict=True))
        else:
            from ._workbook_base import carrying

            with carrying(base):
                _write_xlsx(
                    tmp,
                    names,
                    encoded,
                    fields,
                    sheet_name,
                    paths=paths,
                    statuses=statuses,
                    lay=lay,
                    solutions=solutions,
                )
    return path


def _write_xlsx(
    tmp: Path,
    names: list[str],
    columns: list[list[str]],
    fields: list[Field | None],
    sheet: str,
    *,
    paths: list[str],
    statuses: Sequence[Any],
    lay: Any,
    solutions: pd.DataFrame | None = None,
) -> None:
    """Return the workbook: the data sheet (first), "Read me", "Solutions" (when given), the hidden "Lists".

    ``columns`` holds each column's encoded cells ("" for blank), in sheet order.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.properties import Outline

    from . import _workbook as W

    n = len(columns[0]) if columns else 0
    last = n + 1
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    notes = wb.create_sheet("Read me")
    known = W.solution_rows(solutions) if solutions is not None and ASSOCIATED in paths else None
    if known is not None:
        W.write_solutions(wb.create_sheet("Solutions"), known)
    lists = wb.create_sheet("Lists")
    lists.sheet_state = "hidden"

    always = W.column_reasons(paths, fields)
    locks = W.row_locks(paths, fields, statuses, always)
    grey = PatternFill("solid", fgColor=W.LOCKED_FILL)
    grey_font = Font(name=W.FONT, size=11, color=W.LOCKED_FONT)

    def make_style(locked: bool, wrap: bool) -> Any:
        c: Any = WriteOnlyCell(ws)
        c.number_format = W.TEXT
        c.alignment = Alignment(vertical="top", wrap_text=wrap)
        if locked:
            c.fill, c.font = grey, grey_font
        return c._style

    # the columns: width, text format (for cells typed into later), shading, outline
    if lay.frozen or n:
        ws.freeze_panes = f"{get_column_letter(lay.frozen + 1)}2"
    ws.sheet_properties.outlinePr = Outline(summaryRight=False)  # the [+] sits over a part's first column
    grouped = {j for a, b in lay.groups for j in range(a, b + 1)}
    starts = {a - 1 for a, _ in lay.groups}
    for j, (name, texts) in enumerate(zip(names, columns, strict=True)):
        dim = ws.column_dimensions[get_column_letter(j + 1)]
        dim.width = W.width(name, texts)
        dim.number_format = W.TEXT
        if always[j] is not None:
            dim.fill, dim.font = grey, grey_font
        if j in grouped:
            dim.outline_level, dim.hidden = 1, True
        elif j in starts:
            dim.collapsed = True
    if names:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{last}"
    ws.row_dimensions[1].height = 45

    # dropdowns (values on the hidden Lists sheet) and input messages, one validation per column
    list_columns: list[list[str]] = []
    for j, (name, f) in enumerate(zip(names, fields, strict=True)):
        letter = get_column_letter(j + 1)
        ref = f"{letter}2:{letter}{max(last, 2)}"
        prompt = W.input_message(f, always[j])
        title = name[:32]
        if known is not None and paths[j] == ASSOCIATED:
            # the ids of the active solutions (the ones AWS associates); their names on the Solutions sheet
            values = tuple(i for i, _, status, _ in known if status == W.ACTIVE)
            list_columns.append([name, *values])
            col = get_column_letter(len(list_columns))
            dv = DataValidation(
                type="list",
                formula1=f"Lists!${col}$2:${col}${max(len(values), 1) + 1}",
                allow_blank=True,
                showErrorMessage=False,  # several ids in one cell: never refused
                promptTitle=title,
                prompt=W.solutions_message(prompt),
                showInputMessage=True,
            )
        elif f is not None and f.enum:
            # a column no edit can change lists its values all the same (what each status may be), and its
            # input message says why it is shaded; typing there only warns, and the plan names the edit
            values = W.choices(f)
            list_columns.append([name, *values])
            col = get_column_letter(len(list_columns))
            dv = DataValidation(
                type="list",
                formula1=f"Lists!${col}$2:${col}${len(values) + 1}",
                allow_blank=True,
                showErrorMessage=not f.is_list,
                errorStyle="warning",
                errorTitle=title,
                error=(
                    "Not one of the values AWS accepts: pick one from the list."
                    if always[j] is None
                    else "This column is not editable: the push does not send it."
                ),
                promptTitle=title,
                prompt=prompt,
                showInputMessage=True,
            )
        else:
            dv = DataValidation(allow_blank=True, promptTitle=title, prompt=prompt, showInputMessage=True)
        dv.add(ref)
        ws.data_validations.append(dv)

    header = []
    for j, (name, f) in enumerate(zip(names, fields, strict=True)):
        cell = WriteOnlyCell(ws, value=name)
        cell.font = Font(name=W.FONT, size=11, bold=True, italic=always[j] is not None)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = PatternFill("solid", fgColor=W.LOCKED_HEADER_FILL if always[j] is not None else W.HEADER_FILL)
        cell.number_format = W.TEXT
        if f is not None and f.doc:
            cell.comment = Comment(f.doc[:1000], "opptoolkit")
        header.append(cell)
    ws.append(header)
    if names:
        W.ignore_numbers_as_text(ws, f"A2:{get_column_letter(len(names))}{max(last, 2)}")
    # strings only: openpyxl would take a leading "=" as a formula, which guard_text prevents
    rows = ([_ooxml_escape(t) if t != "" else None for t in row] for row in zip(*columns, strict=True))
    for cells in W.styled_rows(ws, rows, always, locks, make_style):
        ws.append(cells)

    notes.column_dimensions["A"].width = 100  # before the rows: a write-only sheet writes its columns first
    for text, heading in W.read_me(
        n, sheet, len(list_columns), sum(a is not None for a in always), P.REVIEW_STATUS in paths
    ):
        # a line per row (no program has to wrap or size a row for it to read)
        for line in textwrap.wrap(
            text, 95, break_on_hyphens=False, subsequent_indent="    " if text.startswith(" ") else ""
        ) or [""]:
            cell = WriteOnlyCell(notes, value=line or None)
            cell.font = Font(name=W.FONT, bold=heading, size=13 if heading else 11)
            notes.append([cell])
    height = max((len(c) for c in list_columns), default=0)
    for i in range(height):
        lists.append([c[i] if i < len(c) else None for c in list_columns])
    from ._workbook_base import write_base

    write_base(wb, paths, zip(*columns, strict=True))  # the export as written, for the next push (very hidden)
    wb.save(tmp)


# -- a plain workbook for Excel ------------------------------------------------------------------------


def to_excel(
    df: pd.DataFrame | Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    sheet_name: str = "Sheet1",
    index: bool = False,
) -> Path:
    """Write any frame of the toolkit to an ``.xlsx`` for reading in Excel: what ``DataFrame.to_excel`` refuses.

    Every time in the toolkit's frames is time-zone aware (UTC, as the API sends it), and pandas refuses
    those ("Excel does not support datetimes with timezones"). Here a column of aware times is written as
    Excel date-times in its own zone (UTC unless you converted it), with the zone in its header
    (``LastModifiedDate (UTC)``), so they sort, filter and subtract in Excel. Numbers stay numbers, and
    so become the API's amounts (text in the frame: a field whose model pattern admits decimal numbers
    only), so that they add up; lists are one item per line; every text carries the formula guard of
    :func:`write_sheet` (a leading ``=`` is shown, never run). Header bold and frozen, with a filter.

    This is a copy to read; the workbook to edit and push back is :func:`write_sheet`'s, whose cells are the
    API's texts and which reads back exactly.

    Parameters
    ----------
    df : DataFrame or mapping of str to DataFrame
        One frame, or several by sheet name (at most 31 characters each, as Excel allows).
    path : str or Path
        The ``.xlsx`` to write (whole or not at all).
    sheet_name : str, default "Sheet1"
        The sheet of a single frame.
    index : bool, default False
        Write the index as the first columns (pandas' ``to_excel`` default is True; the toolkit's frames
        number their rows 0, 1, ...).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> df = pd.DataFrame({"Id": ["O1"], "LastModifiedDate": pd.to_datetime(["2026-01-31T09:30:00Z"]),
    ...                    "Project.Title": ["=1+1"]})
    >>> out = to_excel(df, pathlib.Path(tempfile.mkdtemp()) / "pipeline.xlsx")
    >>> [tuple(r) for r in openpyxl.load_workbook(out).active.iter_rows(values_only=True)]
    [('Id', 'LastModifiedDate (UTC)', 'Project.Title'), ('O1', datetime.datetime(2026, 1, 31, 9, 30), "'=1+1")]
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise SheetError(f"{path.name}: to_excel writes .xlsx; use write_sheet for .csv")
    frames = {sheet_name: df} if isinstance(df, pd.DataFrame) else dict(df)
    schema = get_schema()
    wb = Workbook(write_only=True)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for name, frame in frames.items():
        table = frame.reset_index() if index else frame
        ws = wb.create_sheet(name)
        heads, columns = [], []
        for c in table.columns:
            zone, cells = _excel_column(table[c], _numeric(str(c), schema))
            heads.append(guard_text(f"{c}{zone}"))
            columns.append(cells)
        widths = [max([len(h), *(_shown_width(v) for v in cells)]) for h, cells in zip(heads, columns, strict=True)]
        for j, w in enumerate(widths, start=1):  # a write-only sheet writes its columns before its rows
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        ws.freeze_panes = "A2"
        if heads:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(heads))}{len(table) + 1}"
        header = [WriteOnlyCell(ws, value=h) for h in heads]
        for cell in header:
            cell.font = bold
        ws.append(header)
        for values in zip(*columns, strict=True):
            row: list[Any] = list(values)
            for j, v in enumerate(values):
                if isinstance(v, str) and "\n" in v:  # items on their lines: shown on their lines
                    row[j] = WriteOnlyCell(ws, value=v)
                    row[j].alignment = wrap
                elif isinstance(v, (datetime, date)):  # ISO's order, whatever the reader's locale
                    row[j] = WriteOnlyCell(ws, value=v)  # type: ignore[arg-type]
                    row[j].number_format = "yyyy-mm-dd hh:mm:ss" if isinstance(v, datetime) else "yyyy-mm-dd"
            ws.append(row)
    with replacing(path) as tmp:
        wb.save(tmp)
    return path


def _numeric(column: str, schema: Schema) -> bool:
    """Whether ``column`` is a field whose model pattern admits decimal numbers only (the API's amounts, as text)."""
    try:
        return _numeric_pattern(schema.field_for(column).pattern)
    except KeyError:
        return False


@functools.cache
def _numeric_pattern(pattern: str | None) -> bool:
    if not pattern:
        return False
    full = re.compile(pattern).fullmatch
    return all(full(t) for t in ("0", "12", "12.5")) and not any(full(t) for t in ("a", "1a", "a.com", "1,5"))


def _excel_column(s: pd.Series, numeric: bool = False) -> tuple[str, list[Any]]:
    """Return a column's header suffix (its time zone, if its times have one) and its cells as Excel takes them.

    A ``numeric`` column's texts (the API's amounts) become numbers, so that they add up in Excel.
    """
    if numeric and (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        s = pd.Series([_decimal(v) for v in s.tolist()], index=s.index, dtype=object)
    zone: str | None = None
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        # in the column's zone when it has a name (UTC, or the analyst's Europe/Paris), else in UTC
        tz = s.dtype.tz
        zone = "UTC" if str(tz) in ("UTC", "utc") else getattr(tz, "key", None) or getattr(tz, "zone", None)
        s = (s if zone is not None else s.dt.tz_convert("UTC")).dt.tz_localize(None)
        zone = zone or "UTC"
    elif s.dtype == object and any(isinstance(v, datetime) and v.tzinfo is not None for v in s):
        zone = "UTC"  # aware times cell by cell (botocore's tzlocal(), say): each in UTC
    return (f" ({zone})" if zone is not None else ""), [_excel_cell(v) for v in s.tolist()]


def _decimal(v: Any) -> Any:
    if isinstance(v, str):
        with contextlib.suppress(ArithmeticError):
            return Decimal(v)
    return v


def _shown_width(v: Any) -> int:
    if isinstance(v, str):
        return max(len(line) for line in v.split("\n"))
    if isinstance(v, (datetime, date)):
        return 19 if isinstance(v, datetime) else 10
    return 0 if v is None else len(str(v))


def _excel_cell(v: Any) -> Any:
    """One value as an Excel cell: None for blank, numbers and times as such, everything else as guarded text."""
    if is_blank(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating, Decimal)):
        x = float(v)
        return x if math.isfinite(x) else guard_text(str(v))
    if isinstance(v, datetime):
        if v.tzinfo is not None:  # a cell of its own zone: in UTC (the column's header says so)
            v = to_utc(v)
        return (v.tz_localize(None) if isinstance(v, pd.Timestamp) and v.tz is not None else v).replace(tzinfo=None)
    if isinstance(v, (date, time)):
        return v
    if isinstance(v, (list, tuple, np.ndarray)):
        return _ooxml_escape(guard_text("\n".join(str(x) for x in v if not is_blank(x))))
    if isinstance(v, dict):
        return _ooxml_escape(guard_text(json.dumps(v, ensure_ascii=False, default=str)))
    return _ooxml_escape(guard_text(str(v)))


# -- reading --------------------------------------------------------------------------------------


# The first bytes of the files most often named .xlsx by mistake: an OOXML package is a zip (ECMA-376 Part 2,
# Open Packaging Conventions); Excel 97-2003 .xls files and password-protected workbooks are OLE2 compound files
# ([MS-CFB] 2.2, header signature D0 CF 11 E0 A1 B1 1A E1; [MS-OFFCRYPTO] 2.3.4: an encrypted package is one).
_ZIP, _OLE2, _PDF = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"%PDF"


def workbook_problem(path: Path) -> str | None:
    """Say why the file at ``path`` (named ``.xlsx``) is no workbook a program could open; None when it may be one.

    A first look at its bytes, so that the error says what the file is and what to do, not what the zip
    reader tripped on. None also when the file cannot be opened (the reader then says why).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pipeline.xlsx"
    >>> _ = p.write_bytes(b"%PDF-1.7 ...")
    >>> workbook_problem(p)
    'it is a PDF, not a workbook: export the data from its program as .xlsx'
    """
    import zipfile

    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if not head:
        return "the file is empty (0 bytes): write it again (opptoolkit pull --out, or save it from your program)"
    if head.startswith(_PDF):
        return "it is a PDF, not a workbook: export the data from its program as .xlsx"
    if head.startswith(_OLE2):
        return (
            "it is an Excel 97-2003 workbook (.xls) or a password-protected one: save it as "
            '"Excel Workbook (.xlsx)", without a password'
        )
    if not head.startswith(_ZIP):
        return "it is not a workbook (an .xlsx is a zip package): save it as .xlsx from your spreadsheet program"
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "it is damaged (not a complete zip package): save it again as .xlsx, or export it again"
    if "xl/workbook.xml" not in names and not any(n.endswith("/workbook.xml") for n in names):
        return "it is a zip package but not an Excel workbook (a .docx or .ods renamed?): save it as .xlsx"
    return None


def _read_raw(path: Path, sheet_name: str | int) -> tuple[list[str], list[Sequence[Any]], list[int]]:
    """Return the header, the columns of the sheet's body and each body row's number in the sheet (header = 1).

    Rows with no value are left out, as a spreadsheet program shows them empty.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise SheetError(f"{path.name}: unsupported file type {suffix!r}; use .xlsx or .csv")
    records: list[Sequence[Any]]
    merged: list[tuple[int, int, str]] = []  # (row, column, "B2:C3") of each merged range
    try:
        if suffix == ".csv":
            with open(path, encoding="utf-8-sig", newline="") as fh:
                # Excel saves "CSV" with ";" where the decimal separator is a comma (most of Europe)
                sep = max((",", ";", "\t"), key=fh.readline().count)
                fh.seek(0)
                width = len(next(csv.reader(fh, delimiter=sep), []))
                fast = _csv_columns(_csv_arrow(path, sep, width))
                if fast is not None:
                    return fast
                fh.seek(0)  # the csv module, not read_csv: a row with a cell too many shifts nothing
                records = list(csv.reader(fh, delimiter=sep))
            if records and set(map(len, records)) <= {0, len(records[0])}:  # what Arrow's reader declined
                regular = [r or [""] * len(records[0]) for r in records]
                fast = _csv_columns([pa.array(c, pa.large_string()) for c in zip(*regular, strict=True)])
                if fast is not None:
                    return fast
            flagged = {
                (n, j): f"holds the error value {v}"
                for n, r in enumerate(records, start=1)
                for j, v in enumerate(r)
                if v in _ERRORS
            }
        else:
            if (why := workbook_problem(path)) is not None:
                raise SheetError(f"cannot read {path.name}: {why}")
            records, flagged, merged = _xlsx_records(path, sheet_name)
    except UnicodeDecodeError as e:
        raise SheetError(
            f"cannot read {path.name}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at position {e.start}); "
            'save it as "CSV UTF-8", or use .xlsx'
        ) from None
    except SheetError:
        raise
    except (OSError, ValueError, KeyError, IndexError, csv.Error) as e:
        raise SheetError(f"cannot read {path.name}: {e.__class__.__name__}: {e}") from None
    except Exception as e:  # zipfile.BadZipFile, openpyxl's InvalidFileException, ...
        raise SheetError(f"cannot read {path.name}: not a readable spreadsheet ({e.__class__.__name__})") from None
    head = records[0] if records else ()
    width = max((i + 1 for i, h in enumerate(head) if h not in (None, "")), default=0)
    if not width and not any(any(v not in (None, "") for v in r) for r in records):
        # nothing at all: a file cut short or saved empty, never "a sheet of no rows" that pushes nothing
        empty = "the file is empty" if suffix == ".csv" else "its sheet is empty"
        raise SheetError(f"cannot read {path.name}: {empty}, not even a header row: write or export it again")
    body: list[Sequence[Any]] = []
    rows: list[int] = []
    problems: list[Problem] = []
    names = ["" if h is None else str(h) for h in head[:width]]

    def where(col: int) -> str:
        return (names[col] if col < width and names[col] else None) or f"column {_letter(col)}"

    for n, r in enumerate(records[1:], start=2):
        cells = r if len(r) == width else [*r[:width], *[None] * (width - len(r))]
        if suffix == ".csv" and 0 < len(r) < width and any(v != "" for v in r):
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
        problems.append(Problem(n, where(j), "INVALID_VALUE", f"cell {_letter(j)}{n} {what}: fix it or type the value"))
    for n, j, ref in merged:
        problems.append(
            Problem(
                n, where(j), "INVALID_VALUE", f"cells {ref} are merged: unmerge them, each cell holds its own value"
            )
        )
    if problems:
        raise SheetError(f"cannot read {path.name}", sorted(problems, key=lambda p: (p.row, p.field)))
    columns: list[Sequence[Any]] = list(zip(*body, strict=True)) if body else [()] * width
    return names, columns, rows


def _csv_arrow(path: Path, sep: str, width: int) -> list[Any] | None:
    """Return the CSV's columns, header in row 0, as Arrow's CSV reader reads them (in C, all as text).

    None where its reading could differ from the csv module's, which then reads the file.

    Both read RFC 4180 quoting the same way, and an empty line as a record of empty cells (the
    csv module gives it no cell; either is a row left empty). The reader is refused a row whose
    cells differ in number from the header's (it raises), a file that is not UTF-8 (it raises)
    and a cell longer than the csv module accepts (checked here). The whole file is one block:
    a CRLF inside a quoted cell that straddles two blocks loses its LF
    (https://github.com/apache/arrow/issues/51368); block_size is a 32-bit int.
    """
    import pyarrow.csv as pv

    size = path.stat().st_size
    if not width or size >= 2**31 - 1:
        return None
    try:
        table = pv.read_csv(
            path,
            read_options=pv.ReadOptions(use_threads=False, block_size=size + 1, autogenerate_column_names=True),
            parse_options=pv.ParseOptions(delimiter=sep, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pv.ConvertOptions(column_types={f"f{i}": pa.large_string() for i in range(width)}),
        )
    except pa.ArrowException:
        return None
    columns = [c.chunk(0) if c.num_chunks == 1 else c.combine_chunks() for c in table.columns]
    if len(columns) != width or any(c.type != pa.large_string() for c in columns):
        return None
    limit = csv.field_size_limit()
    if any((pc.max(pc.utf8_length(c)).as_py() or 0) > limit for c in columns):
        return None
    return columns


def _csv_columns(columns: list[Any] | None) -> tuple[list[str], list[Any], list[int]] | None:
    """:func:`_read_raw` of a CSV whose rows all have the header's cells, given as whole Arrow text columns.

    The header is in row 0; the result is the body's columns, rows left wholly empty skipped. None for a file
    with an error value or a last header cell left empty, whose problems the row-by-row reading names. The
    checks run over whole columns at C speed.
    """
    if not columns or not len(columns[0]):
        return None
    head = [str(c[0].as_py()) for c in columns]
    if head[-1] == "":
        return None
    errors = pa.array(sorted(_ERRORS), pa.large_string())
    if any(pc.any(pc.is_in(c, value_set=errors)).as_py() for c in columns):
        return None
    body = [c[1:] for c in columns]
    filled = pc.not_equal(body[0], "")
    for c in body[1:]:
        filled = pc.or_(filled, pc.not_equal(c, ""))
    keep = np.flatnonzero(filled.to_numpy(zero_copy_only=False))
    if len(keep) < len(filled):
        body = [c.filter(filled) for c in body]
    return head, body, (keep + 2).tolist()


def _text_series(texts: Any) -> pd.Series:
    """``pd.Series(texts, dtype="str")`` of an Arrow text array, wrapping its buffers."""
    if texts.type != pa.large_string():
        texts = texts.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(texts), dtype="str")


def _text_column(values: Any) -> Any:
    """Return a text field's Arrow column as the frame's.

    The formula guard's ``'`` removed (as :func:`_unguard`), blank cells missing; all blank as a column of
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
    return _text_series(values)


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col + 1)


def _xlsx_records(
    path: Path, sheet_name: str | int
) -> tuple[list[Sequence[Any]], dict[tuple[int, int], str], list[tuple[int, int, str]]]:
    """Return the cached values of a worksheet, row by row from row 1, and the cells that are not what they look.

    The cells that look blank or like a value but are not (``{(row, column): why}``: error values and formulas
    with no saved value), and the merged ranges.

    calamine reads the values (``_xHHHH_`` already decoded) and the merged ranges, but gives an
    error value, a formula with no saved value or a text of only whitespace as an empty cell. So
    the sheet's XML is first scanned for those (:func:`_calamine_misreads`); a sheet that has any
    is read with openpyxl's worksheet parser instead, which sees each cell's type.
    """
    from openpyxl.utils import get_column_letter
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        names = wb.sheet_names
        name = names[sheet_name] if isinstance(sheet_name, int) else sheet_name
        if name not in names:
            raise KeyError(f"Worksheet {name} does not exist.")
        records: list[Sequence[Any]] = []
        merged: list[tuple[int, int, str]] = []
        failed: Exception | None = None
        # The scan runs beside calamine's reading, which releases the GIL; calamine's values are
        # used only if the scan finds nothing calamine misreads (else they are not, nor its errors).
        with ThreadPoolExecutor(max_workers=1) as pool:
            misreads = pool.submit(_calamine_misreads, path, names.index(name))
            try:
                sheet = wb.get_sheet_by_name(name)
                records = list(sheet.to_python(skip_empty_area=False))
                merged = [
                    (r0 + 1, c0, f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}")
                    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []
                ]
            except Exception as e:  # raised below, unless openpyxl reads the sheet
                failed = e
            if misreads.result():
                return _xlsx_records_openpyxl(path, sheet_name)
        if failed is not None:
            raise failed
    finally:
        wb.close()
    return records, {}, merged


# What calamine reads differently from the cell's type: a formula (<f>), an error cell (<c ... t="e">)
# (ECMA-376 Part 1, SpreadsheetML: the "f" element and the "ST_CellType" values), and a text of only
# whitespace without xml:space="preserve" (openpyxl writes " " so), which calamine reads as empty.
# An element may carry a namespace prefix; no "<" occurs inside text or an attribute value, so a
# match is always markup.
_CALAMINE_MISREADS = re.compile(
    rb"<(?:[\w.-]+:)?f[\s/>]|<(?:[\w.-]+:)?c\s[^>]*?\bt\s*=\s*[\"']e[\"']|<(?:[\w.-]+:)?t>[ \t\r\n]+</"
)
_HINTS = (b"<f", b":f", b'"e"', b"'e'", b"t> ", b"t>\n", b"t>\t", b"t>\r")  # in every match: a cheap first scan


def _misread_at(data: bytes, hint: bytes) -> bool:
    """Whether a markup the hint is part of matches: a match starts at the "<" before the hint."""
    at = data.find(hint)
    while at >= 0:
        start = data.rfind(b"<", 0, at + 1)
        if start >= 0 and _CALAMINE_MISREADS.match(data, start):
            return True
        at = data.find(hint, at + 1)
    return False


def _calamine_misreads(path: Path, index: int) -> bool:
    """Whether the ``index``-th worksheet (workbook order) or the shared strings hold what calamine misreads.

    True when the package is not laid out as usual (openpyxl then reads it).
    """
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    def part(target: str) -> str:
        return target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))

    with zipfile.ZipFile(path) as z:
        try:  # the workbook lists its sheets in order, each by relationship id (ECMA-376 Part 1, SpreadsheetML "sheets" element)
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            sheets = [e for e in book.iter() if e.tag.endswith("}sheet")]
            rid = next(v for k, v in sheets[index].attrib.items() if k.endswith("}id"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            members = [part(str(e.get("Target"))) for e in rels if e.get("Id") == rid]
            members += [part(str(e.get("Target"))) for e in rels if str(e.get("Type")).endswith("/sharedStrings")]
            handles = [z.open(m) for m in members]
        except (KeyError, IndexError, ElementTree.ParseError):
            return True
        if not handles:
            return True
        for fh in handles:
            with fh:
                tail = b""  # the chunks overlap by more than a start tag
                while chunk := fh.read(1 << 20):
                    data = tail + chunk
                    if any(_misread_at(data, h) for h in _HINTS):
                        return True
                    tail = data[-512:]
    return False


def _xlsx_records_openpyxl(
    path: Path, sheet_name: str | int
) -> tuple[list[Sequence[Any]], dict[tuple[int, int], str], list[tuple[int, int, str]]]:
    """:func:`_xlsx_records` through openpyxl, for a sheet calamine would misread.

    openpyxl's read-only ``iter_rows`` gives a formula without a saved value as None and drops
    the merged ranges, so the sheet's XML is read with openpyxl's own worksheet parser, which
    keeps both.
    """
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    flagged: dict[tuple[int, int], str] = {}

    class Parser(WorkSheetParser):
        def parse_cell(self, element: Any) -> dict[str, Any]:
            cell: dict[str, Any] = super().parse_cell(element)
            at = (cell["row"], cell["column"] - 1)
            if cell["data_type"] == "e":
                flagged[at] = f"holds the error value {cell['value']}"
            elif cell["value"] is None and element.find(FORMULA_TAG) is not None:
                flagged[at] = "is a formula with no saved value (saved by a program that does not calculate)"
            return cell

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws: Any = wb.worksheets[sheet_name] if isinstance(sheet_name, int) else wb[sheet_name]
        book: Any = wb  # openpyxl's read-only internals: the parser needs what load_workbook read
        records: list[Sequence[Any]] = []
        with ws._get_source() as src:
            parser = Parser(
                src,
                ws._shared_strings,
                data_only=True,
                epoch=wb.epoch,
                date_formats=book._date_formats,
                timedelta_formats=book._timedelta_formats,
            )
            for n, cells in parser.parse():
                records.extend([] for _ in range(n - 1 - len(records)))  # rows the file leaves out
                row: list[Any] = [None] * max((c["column"] for c in cells), default=0)
                for c in cells:
                    v = c["value"]
                    row[c["column"] - 1] = _ooxml_unescape(v) if isinstance(v, str) else v
                records.append(row)
        from openpyxl.utils.cell import range_boundaries

        merged = []
        for rng in getattr(parser.merged_cells, "mergeCell", None) or []:
            min_col, min_row, _, _ = range_boundaries(rng.ref)
            merged.append((int(min_row or 1), int(min_col or 1) - 1, str(rng.ref)))
    finally:
        wb.close()
    return records, flagged, merged


# The cells read are many small objects and no cycle: every collection while they are built would
# walk all of them, for nothing to collect.
@gc_paused()
def read_sheet(
    path: str | Path,
    *,
    sheet_name: str | int = 0,
    extra: Extra = "error",
    schema: Schema | None = None,
) -> pd.DataFrame:
    """Read an ``.xlsx`` or ``.csv`` written by :func:`write_sheet` (and edited) back to a frame.

    Values are read as text and converted per field from the service model, so the frame equals
    the one written (through :func:`opptoolkit.to_payload`, exactly).

    Parameters
    ----------
    path : str or Path
        The file.
    sheet_name : str or int
        Worksheet of an ``.xlsx`` (default the first).
    extra : {"error", "keep"}, default "error"
        What to do with a column whose header is no field of the model (an analyst's "Notes"
        column): refuse the sheet (a mistyped header would otherwise drop its edits silently),
        or keep it as a text column after the model's columns. Kept columns are never sent:
        :func:`opptoolkit.to_payload` and the batch updater leave out what the model does not
        know. A kept header close to a field's name is listed in ``sheet_warnings``.

    Returns
    -------
    DataFrame
        Only the columns the sheet holds, in the model's order (kept extra columns last, in the
        sheet's order); rows with no value at all are skipped (problems still name the row
        number the sheet shows). Cells a spreadsheet program converted are listed in
        ``df.attrs["sheet_warnings"]`` (a list of dicts: a :class:`Problem`'s ``row``, ``field``,
        ``code`` and ``message``).

    Raises
    ------
    SheetError
        Unreadable file, unknown (with ``extra="error"``) or duplicate column, duplicate
        ``Id``, or a cell of the wrong type; the message lists each problem with its row and
        column.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> df = pd.DataFrame({"Id": ["O1"], "Project.Title": ["Data lake"], "Notes": ["=call Ana first"]})
    >>> p = write_sheet(df, pathlib.Path(tempfile.mkdtemp()) / "pipeline.xlsx")
    >>> read_sheet(p)
    Traceback (most recent call last):
    ...
    opptoolkit.exceptions.SheetError: cannot read pipeline.xlsx: bad header
      - row 1, Notes: INVALID_VALUE: unknown column (keep it with extra="keep", or --extra keep)
    >>> read_sheet(p, extra="keep").loc[0, "Notes"]
    '=call Ana first'
    """
    if extra not in EXTRA_POLICIES:
        raise ValueError(f"extra must be one of {EXTRA_POLICIES}")
    schema = schema or get_schema()
    path = Path(path)
    if not path.exists():
        raise SheetError(f"cannot read {path}: no such file")
    head, body, rows = _read_raw(path, sheet_name)  # body: one sequence per column
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
        raise SheetError(f"cannot read {path.name}: bad header", problems)
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
                texts = _text_series(values)
                stripped, filled = texts.str.strip(), texts != ""
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
            data[col] = [None if v is None or v == "" else _unguard(str(_shown(v))) for v in values]
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
        raise SheetError(f"cannot read {path.name}", problems)
    for w in warnings:
        _log.warning("%s: %s", path.name, w)
    known = schema.sort_columns([c for c in columns if c not in kept])
    df = pd.DataFrame({c: data[c] for c in known + kept}, columns=known + kept)
    for c in known:
        if schema.field_for(c).type == "timestamp":
            df[c] = pd.to_datetime(df[c], utc=True)
    df.attrs["sheet_warnings"] = [dataclasses.asdict(w) for w in warnings]  # JSON-safe, as every attrs value
    # the row number in the sheet of each frame label (0, 1, ...), with its Id so that a frame
    # relabelled since is not misnamed; tuples, as pandas deep-copies attrs on every operation
    df.attrs["sheet_rows"] = (tuple(rows), tuple(data.get(ID, [None] * len(rows))))
    return df


def _shown(v: Any) -> Any:
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
        else _unguard(v)
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
            items = (v[1:] if v[0] == "'" else v).split("\n")  # _unguard, then _decode_list's split
            out.append(items if "" not in items else [x for x in items if x] or None)
    return out


def _decode(v: Any, f: Field, row: int, col: str, problems: list[Problem], warnings: list[Problem]) -> Any:
    """One raw cell (text from CSV; text, number, date or bool from xlsx) to the frame's value."""
    if v is None or v == "":
        return None
    if f.type == "timestamp":
        if isinstance(v, str) and not v.strip():
            return None  # spaces only: blank, as pandas read it
        try:
            return to_utc(v if isinstance(v, datetime) else str(v).strip())
        except ValueError:
            problems.append(Problem(row, col, "INVALID_STRING_FORMAT", NOT_AN_INSTANT))
            return None
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
    v = _shown(v)
    if f.is_list:
        items = _decode_list(_unguard(str(v)), f)
        return items or None
    return _unguard(str(v))
