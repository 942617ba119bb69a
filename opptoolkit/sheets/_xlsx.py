"""The xlsx engine: a workbook's cells read (calamine, openpyxl where calamine misreads), and typed tables written.

:func:`write_tables` is the one writer of the toolkit's workbooks of typed cells (``to_excel``, the
report's workbook): the formula guard on every text, control characters as OOXML
escapes, a bold frozen header, widths, number formats, dropdowns. The analyst's workbook, made for
editing and read back exactly, is :mod:`._layout`'s, over the same codec.
"""

from __future__ import annotations

import contextlib
import json
import math
import posixpath
import re
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from .._files import replacing
from .._values import is_blank, to_utc
from ..exceptions import SheetError
from ..schema import Schema, get_schema
from ._codec import DATE_FORMAT, Cells, guard_text, ooxml_escape, ooxml_unescape

__all__ = ["Table", "read_cells", "sheet_names", "to_excel", "workbook_problem", "write_tables"]


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


def sheet_names(path: Path) -> list[str]:
    """Return the names of a workbook's sheets, in order (hidden ones too)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        return list(wb.sheet_names)
    finally:
        wb.close()


def read_cells(path: Path, sheet_name: str | int) -> Cells:
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
    return Cells(records, {}, merged)


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


def _xlsx_records_openpyxl(path: Path, sheet_name: str | int) -> Cells:
    """:func:`read_cells` through openpyxl, for a sheet calamine would misread.

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
                    row[c["column"] - 1] = ooxml_unescape(v) if isinstance(v, str) else v
                records.append(row)
        from openpyxl.utils.cell import range_boundaries

        merged = []
        for rng in getattr(parser.merged_cells, "mergeCell", None) or []:
            min_col, min_row, _, _ = range_boundaries(rng.ref)
            merged.append((int(min_row or 1), int(min_col or 1) - 1, str(rng.ref)))
    finally:
        wb.close()
    return Cells(records, flagged, merged)


# -- writing --------------------------------------------------------------------------------------


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
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise SheetError(f"{path.name}: to_excel writes .xlsx; use write_sheet for .csv")
    frames = {sheet_name: df} if isinstance(df, pd.DataFrame) else dict(df)
    schema = get_schema()
    tables = []
    for name, frame in frames.items():
        table = frame.reset_index() if index else frame
        heads, columns = [], []
        for c in table.columns:
            zone, cells = _excel_column(table[c], _numeric(str(c), schema))
            heads.append(f"{c}{zone}")
            columns.append(cells)
        widths = [
            min(max(max([len(guard_text(h)), *(_shown_width(v) for v in cells)]) + 2, 8), 60)
            for h, cells in zip(heads, columns, strict=True)
        ]
        rows = [list(values) for values in zip(*columns, strict=True)]
        tables.append(Table(name, heads, rows, widths, autofilter=True, wrap=True))
    return write_tables(path, tables)


#: The number format of a date-time (and :data:`~._codec.DATE_FORMAT` of a date): ISO's order, whatever the
#: reader's locale.
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


@dataclass
class Table:
    """One sheet of typed cells, as :func:`write_tables` writes it.

    ``rows`` hold the values as Excel takes them (None, bool, int, float, ``datetime`` without a zone,
    ``date``, text); the writer guards every text (header included). ``widths`` per column;
    ``formats`` a number format per column (for its numbers and dates), ``cell_formats`` per cell
    (``(row, column)`` of ``rows``, 0-based), winning; a date or date-time without either gets
    :data:`DATE_FORMAT` / :data:`DATETIME_FORMAT`. ``wrap``: a text holding lines wraps. ``dropdowns``:
    a column's values, offered by a list validation on its body; ``fills``: a column's body cells'
    fill colour.
    """

    name: str
    header: list[str]
    rows: list[list[Any]]
    widths: Sequence[float]
    freeze: str | None = "A2"
    autofilter: bool = False
    wrap: bool = False
    formats: Mapping[int, str] = field(default_factory=dict)
    cell_formats: Mapping[tuple[int, int], str] = field(default_factory=dict)
    dropdowns: Mapping[int, Sequence[str]] = field(default_factory=dict)
    fills: Mapping[int, str] = field(default_factory=dict)


def write_tables(path: Path, tables: Sequence[Table]) -> Path:
    """Write ``tables`` to the ``.xlsx`` at ``path``, one sheet each, in order (whole or not at all).

    Every text cell carries the formula guard (:func:`~._codec.guard_text`), so no company name or comment
    is ever evaluated as a formula; a character XML cannot carry is written as OOXML's escape.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook(write_only=True)
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    for t in tables:
        ws = wb.create_sheet(t.name)
        for j, w in enumerate(t.widths, start=1):  # a write-only sheet writes its columns before its rows
            ws.column_dimensions[get_column_letter(j)].width = w
        if t.freeze:
            ws.freeze_panes = t.freeze
        last = len(t.rows) + 1
        if t.autofilter and t.header:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(t.header))}{last}"
        for j, values in t.dropdowns.items():
            letter = get_column_letter(j + 1)
            dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
            dv.add(f"{letter}2:{letter}{max(last, 2)}")
            ws.data_validations.append(dv)
        fills = {j: PatternFill("solid", fgColor=colour) for j, colour in t.fills.items()}
        header = [WriteOnlyCell(ws, value=ooxml_escape(guard_text(h))) for h in t.header]
        for cell in header:
            cell.font = bold
        ws.append(header)
        for i, values in enumerate(t.rows):
            row: list[Any] = []
            for j, v in enumerate(values):
                text = isinstance(v, str)
                fmt = t.cell_formats.get((i, j)) or t.formats.get(j)
                if not text and v is not None and fmt is None and isinstance(v, (datetime, date)):
                    fmt = DATETIME_FORMAT if isinstance(v, datetime) else DATE_FORMAT
                lines = text and t.wrap and "\n" in v
                if not (lines or j in fills or (fmt is not None and v is not None and not text)):
                    row.append(ooxml_escape(guard_text(v)) if text else v)
                    continue
                styled: Any = WriteOnlyCell(ws, value=ooxml_escape(guard_text(v)) if text else v)
                if lines:
                    styled.alignment = wrap
                if j in fills:
                    styled.fill = fills[j]
                if fmt is not None and v is not None and not text:
                    styled.number_format = fmt
                row.append(styled)
            ws.append(row)
    with replacing(path) as tmp:
        wb.save(tmp)
    return path


def _numeric(column: str, schema: Schema) -> bool:
    """Whether ``column`` is a field whose model pattern admits decimal numbers only (the API's amounts, as text)."""
    try:
        return schema.field_for(column).is_amount
    except KeyError:
        return False


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
    if isinstance(v, str):  # as written: guarded, escaped
        return max(len(line) for line in ooxml_escape(guard_text(v)).split("\n"))
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
        return x if math.isfinite(x) else str(v)
    if isinstance(v, datetime):
        if v.tzinfo is not None:  # a cell of its own zone: in UTC (the column's header says so)
            v = to_utc(v)
        return (v.tz_localize(None) if isinstance(v, pd.Timestamp) and v.tz is not None else v).replace(tzinfo=None)
    if isinstance(v, (date, time)):
        return v
    if isinstance(v, (list, tuple, np.ndarray)):
        return "\n".join(str(x) for x in v if not is_blank(x))
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)
