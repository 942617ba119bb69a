"""The export a workbook remembers (its *base*).

An ``.xlsx`` written by :func:`opptoolkit.write_sheet` with ``base=True`` (as ``opptoolkit pull
--out x.xlsx`` writes it) carries a very hidden sheet,
:data:`BASE_SHEET`, holding each row as it was exported: the row's ``Id``, its
``LastModifiedDate`` and its cells' texts (exactly the texts the data sheet got, as JSON).
Pushing the workbook after editing it in place then plans against what was exported, as with
``base=``: no read for the rows without a change, and a colleague's edit to another field since
the export is merged three-way instead of being a conflict.

Why a very hidden sheet and not a custom XML part: spreadsheet programs keep every sheet on
save (LibreOffice Calc has no "very hidden" state and saves it as a hidden sheet, which the
tests check), while custom parts of a package are dropped by programs that do not know them.
Why one JSON cell per row and not a copy of the data sheet: a copy doubles the cells, hence the
time to write the export; a row's cells as one text cost a small share of that.

Layout of the sheet (format :data:`FORMAT`):

* row 1: ``A1`` the format, ``B1`` a note for the curious, ``C1...`` the columns' paths (JSON);
* each further row: ``A`` the Id, ``B`` the LastModifiedDate, ``C...`` the row's texts (JSON,
  in the columns' order), cut into cells of at most :data:`CHUNK` characters (a cell holds at
  most 32,767: https://support.microsoft.com/en-us/office/excel-specifications-and-limits-1672b34d-7043-467e-8e27-269d656771c3).

The texts are decoded as the cells of a CSV of them would be (:func:`~._csv.text_cells`, then
:func:`~._codec.decode_table`, as :func:`opptoolkit.read_sheet` decodes any export), so the base holds
exactly the values an untouched data sheet reads back as.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import OpptoolkitError, SheetError
from ..schema import ID, Field, get_schema
from ._codec import Cells, decode_table, encode_column, table, unguard
from ._csv import text_cells

__all__ = [
    "BASE_SHEET",
    "EXACT_SHEET",
    "BaseRows",
    "add_base",
    "add_exact",
    "choose_base",
    "frame_of_texts",
    "paths_of",
    "read_base",
    "read_base_texts",
    "read_exact",
    "remembers_export",
    "texts_of_frame",
]

_log = logging.getLogger(__name__)

BASE_SHEET = "opptoolkit base"
FORMAT = "opptoolkit-base/1"
CHUNK = 32000
LMD = "LastModifiedDate"
#: The texts the analyst's workbook wrote as numbers (the amounts), per Id: a number read back equal to its
#: text is that text again (:func:`~._codec.exact_amounts`). Not a base: it holds the data sheet as written,
#: whether or not the workbook remembers an export, and no push plans against it.
EXACT_SHEET = "opptoolkit cells"
EXACT_FORMAT = "opptoolkit-cells/1"
_EXACT_NOTE = (
    "Written by opptoolkit: the exact text of each number cell (the API's amounts), so that reading the "
    "workbook gives the API's text back. Do not edit."
)
_NOTE = (
    "Written by opptoolkit: each row as it was exported, the base the next push plans against. "
    "Do not edit; to share a workbook without some columns, export only those columns."
)


# -- writing the base ---------------------------------------------------------------------------


def _dumps(texts: Sequence[str]) -> str:
    # OOXML reads "_xHHHH_" in a cell as an escaped character: JSON's own escape of "_" keeps the
    # text literal (ECMA-376 Part 1, 22.9.2.19 ST_Xstring)
    out = json.dumps(list(texts), ensure_ascii=False, separators=(",", ":"))
    return out.replace("_x", "\\u005fx") if "_x" in out else out


def _chunks(text: str) -> list[str]:
    # each chunk between "<" and ">": no cell is whitespace only or starts or ends with a space,
    # which some readers drop
    return [f"<{text[i : i + CHUNK]}>" for i in range(0, max(len(text), 1), CHUNK)]


def _joined(cells: Iterable[Any]) -> str:
    parts = []
    for c in cells:
        if c is None or c == "":
            break
        text = str(c)
        if not (text.startswith("<") and text.endswith(">")):
            raise ValueError("a cell of the base was changed")
        parts.append(text[1:-1])
    return "".join(parts)


@dataclass(frozen=True)
class BaseRows:
    """The base a workbook carries instead of its data rows as written (a results workbook's).

    ``rows``: each Id's texts under ``header`` (paths); ``overlay``: the Ids whose base takes the data
    row's texts (pushed: the server now holds them), a blank data cell clearing the base's text only when
    ``clear`` (``blank="clear"``); a data row whose Id has no base row gets none. ``kept``: per overlaid
    Id, the columns AWS kept its own value of (the push's ``kept_fields``): their base stays the export's,
    so the next plan names the edit again instead of taking it as landed.
    """

    header: list[str]
    rows: dict[str, list[str]]
    overlay: set[str]
    clear: bool
    kept: dict[str, set[str]] = field(default_factory=dict)


def add_base(
    wb: Any,
    names: Sequence[str],
    rows: Iterable[Sequence[str]],
    carry: BaseRows | None = None,
    *,
    key: str = ID,
    token: str = LMD,
) -> None:
    """Add the base sheet to a write-only openpyxl workbook whose data sheet holds ``rows`` under ``names``.

    ``rows`` are each row's cell texts as written ("" for blank), ``names`` the headers (paths or labels).
    The base is the data itself, or what ``carry`` says. Nothing is added when the data has no ``key``
    (``Id``) or no ``token`` (``LastModifiedDate``) column (no base could serve a push). Another sheet than
    opportunities names its own: each row is remembered under its ``key`` column's text
    (:func:`read_base_texts` gives them back so), with its concurrency ``token``.

    Only :func:`opptoolkit.write_sheet` with ``base=True`` and the results workbook ask for one: a frame
    edited before it is written would carry its edits as its base, and a push of it would plan
    "unchanged" without a word.
    """
    header = paths_of(names)
    if key not in header or token not in header:
        return
    at_id, at_lmd = header.index(key), header.index(token)
    ws = wb.create_sheet(BASE_SHEET)
    ws.sheet_state = "veryHidden"
    ws.append([FORMAT, _NOTE, *_chunks(_dumps(header if carry is None else carry.header))])
    if carry is None:
        for row in rows:
            ident = row[at_id]
            if ident:
                ws.append([ident, row[at_lmd], *_chunks(_dumps(row))])
        return
    base_at = {c: i for i, c in enumerate(carry.header)}
    data_at = [(base_at[c], j) for j, c in enumerate(header) if c in base_at]
    for row in rows:
        ident = row[at_id]
        old = carry.rows.get(ident)
        if old is None:
            continue  # not in the base: a push of it is "not in the base", as before
        if ident in carry.overlay:  # pushed: the base is now the pushed row, but for what AWS kept
            old, kept = list(old), carry.kept.get(ident, set())
            for i, j in data_at:
                if (row[j] != "" or carry.clear) and carry.header[i] not in kept:
                    old[i] = row[j]
        ws.append([ident, old[base_at[LMD]] if LMD in base_at else "", *_chunks(_dumps(old))])


def add_exact(wb: Any, paths: Sequence[str], columns: Sequence[Sequence[str]], typed: Sequence[bool]) -> None:
    """Add the very hidden :data:`EXACT_SHEET` to a write-only workbook: the texts of its ``typed`` columns per Id.

    ``paths`` are the data sheet's columns as field paths, ``columns`` their texts as encoded ("" blank).
    Nothing is added without an Id column or a typed column.
    """
    if ID not in paths or not any(typed):
        return
    ids = columns[list(paths).index(ID)]
    kept = [j for j, t in enumerate(typed) if t]
    ws = wb.create_sheet(EXACT_SHEET)
    ws.sheet_state = "veryHidden"
    ws.append([EXACT_FORMAT, _EXACT_NOTE, *_chunks(_dumps([paths[j] for j in kept]))])
    for i, ident in enumerate(ids):
        texts = [unguard(columns[j][i]) for j in kept]  # as the frame holds them
        if ident and any(texts):
            ws.append([ident, "", *_chunks(_dumps(texts))])


def read_exact(path: str | Path) -> dict[str, dict[str, str]]:
    """Return what :func:`add_exact` wrote: per column path, each Id's text; empty when the workbook has none.

    A sheet that cannot be read (changed by hand) gives nothing: the cells then read as their numbers' texts.
    """
    try:
        records = _base_records(Path(path), EXACT_SHEET)
        if not records or records[0][0] != EXACT_FORMAT:
            return {}
        header = json.loads(_joined(records[0][2:]))
        out: dict[str, dict[str, str]] = {str(c): {} for c in header}
        for r in records[1:]:
            if not r or r[0] in (None, ""):
                continue
            texts = json.loads(_joined(r[2:]))
            for c, t in zip(header, texts, strict=True):
                if t:
                    out[str(c)][str(r[0])] = str(t)
    except (ValueError, TypeError, IndexError, KeyError):
        _log.warning("%s: its sheet of exact amounts cannot be read; amounts read as the numbers show", Path(path).name)
        return {}
    except Exception:  # calamine's own errors: read_sheet has read the workbook, so this is no workbook matter
        return {}
    return out


def paths_of(names: Sequence[str]) -> list[str]:
    """Return the field path of each header (a label or a path); a header no field has, as it is."""
    schema = get_schema()
    return [schema.path_for_label(n) or n for n in names]


# -- reading the base ---------------------------------------------------------------------------


def _base_records(path: Path, sheet: str = BASE_SHEET) -> list[list[Any]] | None:
    """Read the base sheet's rows, or another hidden sheet's (None when the workbook has none)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        if sheet not in wb.sheet_names:
            return None
        return [list(r) for r in wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)]
    finally:
        wb.close()


def read_base_texts(path: str | Path) -> tuple[list[str], dict[str, list[str]]] | None:
    """Read the base a workbook carries, as texts.

    Returns the columns' paths and each Id's cell texts; None when it carries none. Raises
    ValueError when the sheet is there but not readable.
    """
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return None
    try:
        records = _base_records(path)
    except Exception as e:  # calamine's own errors: not a workbook it can open (read_sheet says why)
        raise ValueError(f"not a readable workbook ({type(e).__name__})") from None
    if records is None:
        return None
    if not records or records[0][0] != FORMAT:
        raise ValueError(f"the base sheet is not of format {FORMAT}")
    header = json.loads(_joined(records[0][2:]))
    rows: dict[str, list[str]] = {}
    for r in records[1:]:
        if not r or r[0] in (None, ""):
            continue
        texts = json.loads(_joined(r[2:]))
        if len(texts) != len(header):
            raise ValueError("a row of the base does not have the base's columns")
        rows[str(r[0])] = [str(t) for t in texts]
    return header, rows


def remembers_export(path: str | Path) -> bool:
    """Whether ``path`` is a workbook carrying a readable base (the export it remembers)."""
    try:
        return read_base_texts(path) is not None
    except (ValueError, KeyError, IndexError, TypeError):
        return False


def frame_of_texts(header: Sequence[str], rows: Iterable[Sequence[str]], *, name: str) -> pd.DataFrame:
    """Decode cell texts into the frame :func:`opptoolkit.read_sheet` reads from a CSV of them: the one decoder.

    ``name`` names the workbook in errors. The frame carries no ``attrs``: its rows are no sheet's rows.
    """
    cells = text_cells([list(header), *(list(r) for r in rows)])
    head, body, numbers = cells if not isinstance(cells, Cells) else table(cells, name=name, short_rows=True, empty="")
    df = decode_table(head, body, numbers, name=name, extra="keep", schema=get_schema())
    df.attrs = {}
    return df


def texts_of_frame(df: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Encode a frame's cells as :func:`opptoolkit.write_sheet` writes a ``.csv`` of them (paths): the one encoder.

    Returns the columns' paths and each Id's texts.
    """
    schema = get_schema()
    header = [str(c) for c in df.columns]
    fields: list[Field | None] = []
    for c in header:
        try:
            fields.append(schema.field_for(c))
        except KeyError:
            fields.append(None)
    columns = [encode_column(df.iloc[:, i], f) for i, f in enumerate(fields)]
    at = header.index(ID) if ID in header else None
    rows = {r[at]: list(r) for r in zip(*columns, strict=True) if at is not None and r[at]}
    return header, rows


def read_base(path: str | Path) -> pd.DataFrame | None:
    """Read the base a workbook written by :func:`opptoolkit.write_sheet` carries, as a frame.

    As :func:`opptoolkit.read_sheet` reads the export; None when it carries none or it cannot be
    read (logged: the push then works as without a base).
    """
    try:
        found = read_base_texts(path)
    except (ValueError, KeyError, IndexError, TypeError, SheetError) as e:
        _log.warning("%s: its export base cannot be read (%s); planning as without a base", Path(path).name, e)
        return None
    if found is None:
        return None
    header, rows = found
    try:
        return frame_of_texts(header, rows.values(), name=Path(path).name)
    except SheetError as e:
        _log.warning("%s: its export base cannot be read (%s); planning as without a base", Path(path).name, e)
        return None


def _same_file(a: Any, b: Any) -> bool:
    try:
        return isinstance(a, (str, Path)) and isinstance(b, (str, Path)) and Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def choose_base(edited: Any, base: Any, *, warn: bool = True) -> Any:
    """Choose the base a plan or push of ``edited`` uses.

    ``base`` when given (never the edited file itself; a workbook gives the export it
    remembers), else the base an edited ``.xlsx`` carries, else None (each changed row is read
    from the server; a warning says so for a workbook that lost its base, unless ``warn`` is
    false: a sheet of new rows only has nothing to read back).
    """
    if base is not None:
        if _same_file(edited, base):
            own = read_base(edited) is not None
            how = (
                "leave out --base (base=): the workbook remembers its export"
                if own
                else "pass the export as it was before the edits (or a mirror folder), or leave out --base"
            )
            raise OpptoolkitError(
                f"--base {Path(base).name} is the edited file itself, so every row would plan as unchanged; {how}"
            )
        if isinstance(base, (str, Path)):  # a workbook named as the base: the export it remembers, else its data
            remembered = read_base(base)
            if remembered is not None:
                return remembered
        return base
    if not isinstance(edited, (str, Path)) or Path(edited).suffix.lower() not in (".xlsx", ".xlsm"):
        return None
    own_base = read_base(edited)
    if own_base is None and warn and Path(edited).is_file():  # a missing file is read_sheet's one-line error
        _log.warning(
            "%s carries no export base (not written by opptoolkit, or saved by a program that dropped its hidden "
            "sheet): each changed row is read from the server and a colleague's edit since the export is a "
            "conflict; pass --base (base=) the original export to merge",
            Path(edited).name,
        )
    return own_base
