"""Opportunity frames to and from ``.xlsx`` / ``.csv``: :func:`write_sheet` and :func:`read_sheet` over the engines."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fields as P
from .._files import replacing
from .._gc import gc_paused
from ..exceptions import Problem, SheetError
from ..schema import Field, Schema, get_schema, label_for
from ._base import add_base, read_exact
from ._codec import (
    EXTRA_POLICIES,
    ILLEGAL_XML,
    Cells,
    Extra,
    Headers,
    Table,
    decode_table,
    encode_column,
    exact_amounts,
    shown,
    table,
    unguard,
)
from ._csv import read_csv, write_csv
from ._layout import Layout, build_workbook, layout
from ._rows import SheetRows
from ._xlsx import read_cells, workbook_problem

__all__ = ["Encoded", "encode_sheet", "read_sheet", "read_texts", "write_sheet"]


@dataclass
class Encoded:
    """A frame as the cells of a sheet: its columns in sheet order, their headers, fields and texts."""

    paths: list[str]  # the frame's column names (field paths, or an analyst's own), in sheet order
    names: list[str]  # the headers written: labels or paths
    fields: list[Field | None]
    columns: list[list[str]]  # each column's texts ("" for blank)
    statuses: list[Any]  # each row's ReviewStatus (None without the column)
    lay: Layout


def encode_sheet(
    df: pd.DataFrame,
    name: str,
    *,
    xlsx: bool,
    headers: Headers,
    columns: Sequence[str] | None,
    schema: Schema,
) -> Encoded:
    """Return ``df``'s cells as a sheet holds them: laid out for the analyst in a workbook (``xlsx``), else in order.

    Raises
    ------
    SheetError
        A text no workbook can store (``name`` names the file).
    """
    paths = [str(c) for c in df.columns]
    fields: list[Field | None] = []
    for c in paths:
        try:
            fields.append(schema.field_for(c))
        except KeyError:
            fields.append(None)
    if xlsx or columns is not None:
        lay = layout(paths, fields, None if columns is None else [str(c) for c in columns])
    else:
        lay = Layout(list(range(len(paths))), 0, [])
    statuses = df[P.REVIEW_STATUS].tolist() if P.REVIEW_STATUS in df.columns else [None] * len(df)
    paths = [paths[i] for i in lay.order]
    fields = [fields[i] for i in lay.order]
    names = [label_for(c) if headers == "label" and f is not None else c for c, f in zip(paths, fields, strict=True)]
    encoded = [encode_column(df.iloc[:, i], f) for i, f in zip(lay.order, fields, strict=True)]
    bad = sorted(
        (r, c)
        for c, column in enumerate(encoded if xlsx else [])
        for r, text in enumerate(column)
        if text and ILLEGAL_XML.search(text)
    )
    problems = [
        Problem(r + 2, names[c], "INVALID_STRING_FORMAT", "contains a control character a spreadsheet cannot store")
        for r, c in bad
    ]
    if problems:
        raise SheetError(f"cannot write {name}", problems)
    return Encoded(paths, names, fields, encoded, statuses, lay)


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
    schema = schema or get_schema()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise SheetError(f"{path.name}: unsupported file type {suffix!r}; use .xlsx or .csv")
    headers = headers or ("label" if suffix == ".xlsx" else "path")
    if headers not in ("path", "label"):
        raise ValueError("headers must be 'path' or 'label'")
    enc = encode_sheet(df, path.name, xlsx=suffix == ".xlsx", headers=headers, columns=columns, schema=schema)
    with replacing(path) as tmp:
        if suffix == ".csv":
            write_csv(tmp, enc.names, enc.columns)
        else:
            wb = build_workbook(
                enc.names,
                enc.columns,
                enc.fields,
                sheet_name,
                paths=enc.paths,
                statuses=enc.statuses,
                lay=enc.lay,
                solutions=solutions,
            )
            if base:  # the export as written, for the next push (very hidden)
                add_base(wb, enc.paths, zip(*enc.columns, strict=True))
            wb.save(tmp)
    return path


def _read_raw(path: Path, sheet_name: str | int) -> Table:
    """Return the header, the columns of the sheet's body and each body row's number in the sheet (header = 1).

    Rows with no value are left out, as a spreadsheet program shows them empty.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise SheetError(f"{path.name}: unsupported file type {suffix!r}; use .xlsx or .csv")
    try:
        if suffix == ".csv":
            got = read_csv(path)
        else:
            if (why := workbook_problem(path)) is not None:
                raise SheetError(f"cannot read {path.name}: {why}")
            got = read_cells(path, sheet_name)
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
    if not isinstance(got, Cells):
        return got
    csv_file = suffix == ".csv"
    return table(
        got, name=path.name, short_rows=csv_file, empty="the file is empty" if csv_file else "its sheet is empty"
    )


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
    df = decode_table(head, body, rows, name=path.name, extra=extra, schema=schema)
    if sheet_name == 0 and path.suffix.lower() != ".csv" and any(_is_amount(c, schema) for c in df.columns):
        # a number cell equal to the text it was written as reads as that text: "60000" typed over
        # "60000.00" is no edit, and the API's "10000.0" comes back as it was
        exact_amounts(df, read_exact(path))
    return df


def _is_amount(column: Any, schema: Schema) -> bool:
    try:
        return schema.field_for(str(column)).is_amount
    except KeyError:
        return False


def read_texts(path: str | Path, sheet_name: str | int = 0) -> pd.DataFrame:
    """Return a sheet's cells as text, one column per header, as any sheet of the toolkit is read.

    A typed cell as the text it shows, the formula guard's ``'`` removed, blank as None; rows left
    wholly empty skipped, and the frame's :class:`SheetRows` say which row each came from. For a sheet
    that is no opportunity sheet (the referrals triage): no field of the model converts its cells.

    Raises
    ------
    SheetError
        An unreadable file or sheet, or cells that are not what they look (error values, merged cells).
    """
    path = Path(path)
    if not path.exists():
        raise SheetError(f"cannot read {path}: no such file")
    head, body, rows = _read_raw(path, sheet_name)
    data = {
        h: [None if v is None or v == "" else unguard(str(shown(v))) for v in cells]
        for h, cells in zip(head, body, strict=True)
    }
    df = pd.DataFrame(data, columns=head, dtype=object)
    ids = data.get("Id", [None] * len(rows))
    return SheetRows(tuple(rows), tuple(ids)).attach(df)
