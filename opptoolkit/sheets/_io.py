"""Opportunity frames to and from ``.xlsx`` / ``.csv``: :func:`write_sheet` and :func:`read_sheet` over the engines."""

from __future__ import annotations

import csv
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fields as P
from .._files import replacing
from .._gc import gc_paused
from ..exceptions import Problem, SheetError
from ..schema import Field, Schema, get_schema, label_for
from ..storage import is_s3
from ._base import BaseRows, add_base, read_exact
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
from ._layout import Layout, build_workbook, layout, push_command
from ._rows import SheetRows
from ._xlsx import read_cells, workbook_problem

__all__ = [
    "Encoded",
    "encode_sheet",
    "frame_catalog",
    "make_workbook",
    "read_sheet",
    "read_texts",
    "read_workbook",
    "write_sheet",
    "write_workbook",
]


@dataclass
class Encoded:
    """A frame as the cells of a sheet: its columns in sheet order, their headers, fields and texts."""

    paths: list[str]  # the frame's column names (field paths, or an analyst's own), in sheet order
    names: list[str]  # the headers written: labels or paths
    fields: list[Field | None]
    columns: list[list[str]]  # each column's texts ("" for blank)
    statuses: list[Any]  # each row's ReviewStatus (None without the column)
    lay: Layout

    def workbook(self, sheet: str, *, push: str, **kw: Any) -> Any:
        """Return the analyst's workbook of these cells, not yet saved (``kw``: ``solutions``, ``marks``).

        See :func:`~._layout.build_workbook`.
        """
        return build_workbook(
            self.names,
            self.columns,
            self.fields,
            sheet,
            paths=self.paths,
            statuses=self.statuses,
            lay=self.lay,
            push=push,
            **kw,
        )


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
    catalog: str | None = None,
    endpoint_url: str | None = None,
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
    catalog, endpoint_url : str, optional
        ``.xlsx`` only: where the rows came from, named in the Read me's push command (default: the frame's
        ``Catalog`` when it holds one; no endpoint: AWS's own).

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
            push = push_command(path.name, catalog or frame_catalog(df), endpoint_url)
            wb = enc.workbook(sheet_name, push=push, solutions=solutions)
            if base:  # the export as written, for the next push (very hidden)
                add_base(wb, enc.paths, zip(*enc.columns, strict=True))
            wb.save(tmp)
    return path


def frame_catalog(df: pd.DataFrame) -> str | None:
    """Return the one catalog a frame's ``Catalog`` column holds, else None (none, or several)."""
    if "Catalog" not in df.columns:
        return None
    found = {str(v) for v in df["Catalog"].dropna().tolist() if str(v)}
    return found.pop() if len(found) == 1 else None


def write_workbook(df: pd.DataFrame, path: str | Path, **kwargs: Any) -> Path:
    """Write a frame that is no opportunity sheet (the referrals triage, the leads) as the analyst's workbook.

    :func:`make_workbook`'s workbook, saved at ``path`` (whole or not at all); see there for ``kwargs``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    with replacing(path) as tmp:
        make_workbook(df, path.name, **kwargs).save(tmp)
    return path


def make_workbook(
    df: pd.DataFrame,
    name: str,
    *,
    sheet_name: str,
    fields: Sequence[Field | None],
    labels: Sequence[str],
    reasons: Sequence[str | None],
    notes: Sequence[tuple[str, bool]],
    rows_locked: Sequence[bool] | None = None,
    lists: Mapping[str, Sequence[str]] | None = None,
    suggest: Collection[str] = (),
    prompts: Mapping[str, str] | None = None,
    frozen: int = 0,
    base: tuple[str | Sequence[str], str] | None = None,
    carry: tuple[Sequence[str], Mapping[str, Sequence[str]]] | None = None,
    printed: int | None = None,
) -> Any:
    """Return the analyst's workbook of a frame that is no opportunity sheet, not yet saved (``name``: its file's).

    The pipeline workbook's standard (:func:`~._layout.build_workbook`): ``labels`` as headers, widths fitted,
    cells encoded per ``fields`` (the model's field of each column, None for one of the toolkit's own) under
    the formula guard, the read-only columns (``reasons``: why, per column; None where editable) grey, and
    the rows ``rows_locked`` says grey as a whole (``printed``: the leading columns that go on paper); a dropdown per enum field and per ``lists`` column
    (``suggest``: values offered, another text allowed), an input message per column (``prompts``, else from
    the field), a frozen header (and ``frozen`` leading columns), a filter, and the Read me's ``notes``.
    Columns in the frame's order.

    ``base``: remember each row as written (:func:`~._base.add_base`, a very hidden sheet) under its key
    column (or several, joined by ``/``) with its concurrency token column: ``(key, token)``;
    :func:`~._base.read_base_texts` reads it back. ``carry``: the base to remember instead of the rows as
    written (the header and each key's texts :func:`~._base.read_base_texts` gave): a copy of an edited
    sheet (a push's results) keeps the export it was edited from.

    The caller adds what else the workbook holds (:func:`~._results.add_results_sheet`), then saves it.
    """
    columns = [str(c) for c in df.columns]
    at = {c: j for j, c in enumerate(columns)}
    encoded = [encode_column(df.iloc[:, j], f) for j, f in enumerate(fields)]
    bad = [
        (r, j) for j, column in enumerate(encoded) for r, text in enumerate(column) if text and ILLEGAL_XML.search(text)
    ]
    if bad:
        problems = [
            Problem(
                r + 2, labels[j], "INVALID_STRING_FORMAT", "contains a control character a spreadsheet cannot store"
            )
            for r, j in sorted(bad)
        ]
        raise SheetError(f"cannot write {name}", problems)
    locked_row = frozenset(range(len(columns)))
    locks = [locked_row if x else frozenset() for x in (rows_locked or [False] * len(df))]
    key_columns: list[str] = []
    texts = encoded
    if base is not None:
        key, _ = base
        key_columns = [key] if isinstance(key, str) else list(key)
        if len(key_columns) > 1:  # one key cell per row, the columns' texts joined (the base's column A)
            joined = ["/".join(parts) for parts in zip(*(encoded[at[k]] for k in key_columns), strict=True)]
            texts = [*encoded, joined]
    wb = build_workbook(
        list(labels),
        encoded,
        list(fields),
        sheet_name,
        paths=columns,
        statuses=[None] * len(df),
        lay=Layout(list(range(len(columns))), frozen, []),
        reasons=reasons,
        locks=locks,
        lists={at[c]: v for c, v in (lists or {}).items() if c in at},
        suggest=frozenset(at[c] for c in suggest if c in at),
        prompts={at[c]: v for c, v in (prompts or {}).items() if c in at},
        notes=notes,
        printed=printed,
        wrap_long=True,
    )
    if base is not None:
        names = columns + (["/".join(key_columns)] if len(key_columns) > 1 else [])
        kept = (
            None if carry is None else BaseRows(list(carry[0]), {k: list(v) for k, v in carry[1].items()}, set(), False)
        )
        add_base(wb, names, zip(*texts, strict=True), kept, key="/".join(key_columns), token=base[1])
    return wb


def read_workbook(path: str | Path, sheet_name: str, *, columns: Sequence[str], labels: Sequence[str]) -> pd.DataFrame:
    """Read a sheet :func:`write_workbook` wrote (and a person edited) back: its cells as text under their columns.

    ``columns`` are the columns the sheet may hold and ``labels`` their headers, as :func:`write_workbook` got
    them. A header is its column's label (any case and spacing), or the column itself (a sheet written with
    paths as headers); a label with an item number past the first (``Sender contacts 2 email``) names that
    item of the first's column; any other header stays as it is. Cells as :func:`read_texts` reads them (an
    amount cell still equal by value to the text it was written with, as that text), and the frame's
    :class:`SheetRows` say which row each came from.

    Raises
    ------
    SheetError
        An unreadable file or sheet, or cells that are not what they look (error values, merged cells).
    """
    known = {c.casefold(): c for c in columns}
    known.update({" ".join(label.split()).casefold(): c for c, label in zip(columns, labels, strict=True)})

    def column(header: str) -> str:
        text = " ".join(str(header).split())
        if text.casefold() in known:
            return known[text.casefold()]
        words = text.split(" ")
        for i, w in enumerate(words):
            if w.isdigit() and int(w) >= 1:
                first = known.get(" ".join([*words[:i], "1", *words[i + 1 :]]).casefold())
                if first is not None and "[0]" in first:
                    return first.replace("[0]", f"[{int(w) - 1}]", 1)
        return text

    df = read_texts(path, sheet_name)
    rows = SheetRows.of(df)
    df.columns = [column(str(c)) for c in df.columns]
    exact_amounts(df, read_exact(path))  # an amount cell still equal to the text written reads as that text
    if rows is not None:
        ids = tuple(None if v is None else str(v) for v in df["Id"]) if "Id" in df.columns else rows.ids
        SheetRows(rows.numbers, ids).attach(df)
    return df


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
    path = _local(path)
    head, body, rows = _read_raw(path, sheet_name)  # body: one sequence per column
    df = decode_table(head, body, rows, name=path.name, extra=extra, schema=schema)
    if sheet_name == 0 and path.suffix.lower() != ".csv" and any(_is_amount(c, schema) for c in df.columns):
        # a number cell equal to the text it was written as reads as that text: "60000" typed over
        # "60000.00" is no edit, and the API's "10000.0" comes back as it was
        exact_amounts(df, read_exact(path))
    return df


def _local(path: str | Path) -> Path:
    """Return the sheet file to read, or refuse what is none: a missing file, an ``s3://`` URI (never a local path)."""
    if is_s3(path):
        # Path would fold it into a local s3:/ folder; a pushed sheet's results go beside it, on a disk
        raise SheetError(f"cannot read {path}: a sheet is pushed from a local file; copy it here first")
    if not Path(path).exists():
        raise SheetError(f"cannot read {path}: no such file")
    return Path(path)


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
    path = _local(path)
    head, body, rows = _read_raw(path, sheet_name)
    data = {
        h: [None if v is None or v == "" else unguard(str(shown(v))) for v in cells]
        for h, cells in zip(head, body, strict=True)
    }
    df = pd.DataFrame(data, columns=head, dtype=object)
    ids = data.get("Id", [None] * len(rows))
    return SheetRows(tuple(rows), tuple(ids)).attach(df)
