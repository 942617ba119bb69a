"""The export a workbook remembers (its *base*), and the results of a push written back beside it.

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

The texts are decoded by :func:`opptoolkit.read_sheet` itself (through a CSV of them, which it
reads as it reads any export), so the base holds exactly the values an untouched data sheet
reads back as.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._status import Reason, Status
from ._values import is_blank
from .exceptions import OpptoolkitError, SheetError
from .schema import ID, get_schema

__all__ = ["write_results"]

_log = logging.getLogger(__name__)

BASE_SHEET = "opptoolkit base"
FORMAT = "opptoolkit-base/1"
CHUNK = 32000
LMD = "LastModifiedDate"
RESULTS_SHEET = "Results"
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


@dataclass
class _Override:
    """What :func:`write_results` asks of the next :func:`write_base`.

    The base rows to write instead of the data's (by Id, under ``header``), the Ids whose base
    takes the data row's texts, and the results table.
    """

    header: list[str] | None
    rows: dict[str, list[str]]
    overlay: set[str]
    clear: bool
    results: pd.DataFrame
    colours: dict[str, list[int]] = field(default_factory=dict)  # status -> data sheet rows (1-based)
    #: per overlaid Id, the columns AWS kept its own value of (the push's ``kept_fields``): their base stays the
    #: export's, so the next plan names the edit again instead of taking it as landed
    kept: dict[str, set[str]] = field(default_factory=dict)


_OVERRIDE: ContextVar[_Override | None] = ContextVar("opptoolkit_workbook_override", default=None)
_CARRY: ContextVar[bool] = ContextVar("opptoolkit_workbook_carry", default=False)


@contextlib.contextmanager
def carrying(base: bool) -> Iterator[None]:
    """Whether the workbook written inside carries its data as its base (``write_sheet(base=)``)."""
    token = _CARRY.set(bool(base))
    try:
        yield
    finally:
        _CARRY.reset(token)


def _paths(names: Sequence[str]) -> list[str]:
    schema = get_schema()
    return [schema.path_for_label(n) or n for n in names]


def write_base(wb: Any, names: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Add the base sheet to a write-only openpyxl workbook, when asked to.

    The data sheet holds ``rows`` (each row's cell texts as written, "" for blank) under
    ``names`` (paths or labels); asked by :func:`carrying` or :func:`write_results`. Nothing is added when the data has no ``Id``
    or no ``LastModifiedDate`` column (no base could serve a push). Called by
    :func:`opptoolkit.sheets.write_sheet` once the data sheet is written.

    A base is never written unasked: a frame edited before it is written would carry its edits
    as its base, and a push of it would plan "unchanged" without a word.
    """
    over = _OVERRIDE.get()
    header = _paths(names)
    if over is not None:
        _write_results_sheet(wb, over, header)
    if over is None and not _CARRY.get():
        return
    if ID not in header or LMD not in header or (over is not None and over.header is None):
        return  # no base could serve a push (or none to carry: the results of a push without one)
    at_id, at_lmd = header.index(ID), header.index(LMD)
    ws = wb.create_sheet(BASE_SHEET)
    ws.sheet_state = "veryHidden"
    out_header = header if over is None or over.header is None else over.header
    ws.append([FORMAT, _NOTE, *_chunks(_dumps(out_header))])
    if over is None:
        for row in rows:
            ident = row[at_id]
            if ident:
                ws.append([ident, row[at_lmd], *_chunks(_dumps(row))])
        return
    base_at = {c: i for i, c in enumerate(out_header)}
    data_at = [(base_at[c], j) for j, c in enumerate(header) if c in base_at]
    for row in rows:
        ident = row[at_id]
        old = over.rows.get(ident)
        if old is None:
            continue  # not in the base: a push of it is "not in the base", as before
        if ident in over.overlay:  # pushed: the base is now the pushed row, but for what AWS kept
            old, kept = list(old), over.kept.get(ident, set())
            for i, j in data_at:
                if (row[j] != "" or over.clear) and out_header[i] not in kept:
                    old[i] = row[j]
        ws.append([ident, old[base_at[LMD]] if LMD in base_at else "", *_chunks(_dumps(old))])


# -- reading the base ---------------------------------------------------------------------------


def _base_records(path: Path) -> list[list[Any]] | None:
    """Read the base sheet's rows (None when the workbook has none)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    try:
        if BASE_SHEET not in wb.sheet_names:
            return None
        return [list(r) for r in wb.get_sheet_by_name(BASE_SHEET).to_python(skip_empty_area=False)]
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


def _frame_of_texts(header: list[str], rows: Iterable[Sequence[str]]) -> pd.DataFrame:
    """Decode cell texts into the frame :func:`opptoolkit.read_sheet` reads from them: the one decoder."""
    from .sheets import read_sheet

    with tempfile.TemporaryDirectory(prefix="opptoolkit-base-") as tmp:
        p = Path(tmp) / "base.csv"
        with open(p, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(header)
            w.writerows(rows)
        df = read_sheet(p, extra="keep")
    df.attrs = {}  # the CSV's row numbers name nothing; pandas would deep-copy them on every operation
    return df


def _texts_of_frame(df: pd.DataFrame) -> tuple[list[str], dict[str, list[str]]]:
    """Encode a frame's cells as :func:`opptoolkit.write_sheet` writes them: the one encoder."""
    from .sheets import write_sheet

    with tempfile.TemporaryDirectory(prefix="opptoolkit-base-") as tmp:
        p = write_sheet(df, Path(tmp) / "base.csv", headers="path")
        with open(p, encoding="utf-8-sig", newline="") as fh:
            records = list(csv.reader(fh))
    header = records[0] if records else []
    at = header.index(ID) if ID in header else None
    rows = {r[at]: r for r in records[1:] if at is not None and r[at]}
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
        return _frame_of_texts(header, rows.values())
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


# -- results ------------------------------------------------------------------------------------

#: Each outcome in words, and its colour (fills as Excel's "Good", "Neutral" and "Bad" styles).
_OUTCOMES: dict[str, tuple[str, str]] = {
    Status.SUCCEEDED: ("Updated on Partner Central.", "C6EFCE"),
    Status.CREATED: ("Created on Partner Central: the row has its new Id.", "C6EFCE"),
    Status.UPDATE: ("Would be updated (dry run: nothing sent).", "DDEBF7"),
    Status.CREATE: ("Would be created (dry run: nothing sent).", "DDEBF7"),
    Status.UNCHANGED: ("No change: nothing to send.", "FFFFFF"),
    Status.SKIPPED: ("Already updated by an earlier push.", "C6EFCE"),
    Status.INVALID: ("Not sent: fix the cells named here, then push this workbook again.", "FFC7CE"),
    Status.CONFLICT: (
        "Not sent: someone changed the same field on Partner Central since the export. Export again to see "
        "their value, then redo your edit.",
        "FFC7CE",
    ),
    Status.NOT_EDITABLE: ("Not sent: the opportunity's review status does not allow this edit now.", "FFEB9C"),
    Status.NO_TOKEN: ("Not sent: the row has no LastModifiedDate and the workbook no base; export again.", "FFC7CE"),
    Status.NOT_FOUND: ("Not sent: no such opportunity in the export or on Partner Central.", "FFC7CE"),
    Status.FAILED: ("Not sent: the service refused or could not be reached; push this workbook again.", "FFC7CE"),
    Status.UNKNOWN: ("Outcome unknown: the next push reads the record back and finishes it.", "FFEB9C"),
    Status.DEFERRED: ("Not sent yet (the daily write budget or an interrupt): push this workbook again.", "FFEB9C"),
}


_HEADS = ["Row", "Id", "Status", "Message", "Changed fields", "Code", "Last modified"]


def _outcomes(result: pd.DataFrame) -> list[dict[str, Any]]:
    """Put the rows of a push result (``status``) or a plan (``action``) in one shape."""
    out = []
    for r in result.to_dict("records"):
        status = str(r.get("status") or r.get("action") or "")
        if "errors" in r:  # a plan
            details = [*r.get("errors", []), *(f"warning: {w}" for w in r.get("warnings", []))]
            if r.get("note"):
                details.insert(0, str(r["note"]))
            code = next((str(e).split(": ")[1] for e in r.get("errors", []) if str(e).count(": ") >= 2), "")
            message = "; ".join(details)
        else:
            # the service's (or botocore's) code, else the toolkit's own reason (CONFLICT, DAILY_BUDGET, ...)
            code = next((str(r[k]) for k in ("error_code", "reason") if not is_blank(r.get(k))), "")
            message = "" if is_blank(r.get("error_message")) else str(r["error_message"])
        out.append(
            {
                "row": None if is_blank(r.get("row")) else str(r["row"]),
                "Id": None if is_blank(r.get("Id")) else str(r["Id"]),
                "status": status,
                "code": code,
                "detail": message,
                "changed": list(r.get("changed_fields") or []),
                "kept": list(r.get("kept_fields") or []),
                "before": r.get("last_modified_before"),
                "after": r.get("last_modified_after"),
            }
        )
    return out


def _write_results_sheet(wb: Any, over: _Override, header: list[str]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(RESULTS_SHEET)
    widths = {"A": 8, "B": 16, "C": 14, "D": 80, "E": 40, "F": 28, "G": 30}
    for letter, w in widths.items():
        ws.column_dimensions[letter].width = w
    ws.freeze_panes = "A2"
    heads = _HEADS
    bold = Font(bold=True)
    cells = []
    for h in heads:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        cells.append(c)
    ws.append(cells)
    wrap = Alignment(wrap_text=True, vertical="top")
    for rec in over.results.to_dict("records"):
        fill = PatternFill("solid", fgColor=_OUTCOMES.get(rec["Status"], ("", "FFFFFF"))[1])
        row = []
        for h in heads:
            c = WriteOnlyCell(ws, value=rec[h] if rec[h] != "" else None)
            c.fill, c.alignment = fill, wrap
            row.append(c)
        ws.append(row)
    if len(over.results):
        ws.auto_filter.ref = f"A1:G{len(over.results) + 1}"
    # the data sheet's Id cells coloured by outcome; a rule (not a cell style) since the data
    # rows are already written
    data = wb._sheets[0]
    if ID in header:
        letter = get_column_letter(header.index(ID) + 1)
        for status, rows in over.colours.items():
            colour = _OUTCOMES.get(status, ("", "FFFFFF"))[1]
            if rows and colour != "FFFFFF":
                ref = " ".join(f"{letter}{n}" for n in rows)
                rule = FormulaRule(formula=["TRUE"], fill=PatternFill("solid", bgColor=colour))  # type: ignore[no-untyped-call]
                data.conditional_formatting.add(ref, rule)
    wb._sheets.insert(1, wb._sheets.pop(wb._sheets.index(ws)))  # second, after the data sheet


def results_path(edited: str | Path) -> Path:
    """``pipeline.xlsx`` -> ``pipeline.results.xlsx`` (and a results workbook's own name)."""
    p = Path(edited)
    stem = p.name[: -len(p.suffix)] if p.suffix else p.name
    return p.with_name(f"{stem.removesuffix('.results')}.results.xlsx")


def write_results(
    result: pd.DataFrame,
    edited: str | Path,
    path: str | Path | None = None,
    *,
    base: Any = None,
    blank: str = "keep",
    complete: bool = True,
) -> Path:
    """Write the outcome of a push (or a plan) into a copy of the edited workbook.

    The results workbook is the edited sheet again (first, so it can be edited and pushed
    again), each row's ``Id`` cell coloured by its outcome, then a "Results" sheet: per row the
    outcome, the message in plain words, the changed fields, the code, coloured by status. It
    carries the base the next push needs: the rows a push updated have the pushed values and the
    new ``LastModifiedDate`` as their base (so pushing the results workbook again sends nothing
    for them, and does not conflict with itself), every other row keeps the export's. Fix the
    invalid rows there and push it again: only what is still pending is planned.

    Parameters
    ----------
    result : DataFrame
        What :func:`opptoolkit.push_updates` or :func:`opptoolkit.plan_updates` returned for
        ``edited``.
    edited : str or Path
        The edited ``.xlsx`` / ``.csv`` that was pushed or planned.
    path : str or Path, optional
        Where to write; default ``<name>.results.xlsx`` beside ``edited`` (a results workbook
        pushed again writes its own name).
    base : DataFrame, path or None
        The base the push used when it was not the one the workbook carries (``--base``).
    blank : {"keep", "clear"}
        The push's blank-cell policy: with ``"keep"`` a blank cell of an updated row did not
        clear the server's value, so its base keeps the exported value.
    complete : bool
        False when the push stopped before the end (:class:`opptoolkit.ServiceUnreachable`'s
        ``result``): the rows ``result`` does not hold were not reached, and show as deferred.

    Returns
    -------
    Path
        The results workbook.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl, opptoolkit as ot
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=["O7000000001"],
    ...                                progress=False, reads_per_second=1000)
    >>> export = ot.write_sheet(df, folder / "pipeline.xlsx", headers="path", base=True)
    >>> wb = openpyxl.load_workbook(export)  # the analyst edits the workbook in place
    >>> ws = wb.worksheets[0]
    >>> ws.cell(2, [c.value for c in ws[1]].index("LifeCycle.NextSteps") + 1).value = "Send the SOW"
    >>> wb.save(export)
    >>> plan = ot.plan_updates(export, "Sandbox")  # against the export it carries: no call
    >>> out = write_results(plan, export)
    >>> out.name, [r[:3] for r in openpyxl.load_workbook(out)["Results"].iter_rows(min_row=2, values_only=True)]
    ('pipeline.results.xlsx', [(2, 'O7000000001', 'update')])
    """
    from .io import read_frame
    from .sheets import read_sheet, write_sheet

    edited = Path(edited)
    out = Path(path) if path is not None else results_path(edited)
    df = read_sheet(edited, extra="keep")
    texts: tuple[list[str], dict[str, list[str]]] | None = None
    if base is None:
        texts = _texts_or_none(edited)
    elif isinstance(base, (str, Path)) and (remembered := _texts_or_none(base)) is not None:
        texts = remembered  # a workbook named as the base: the export it remembers (as choose_base)
    else:
        frame = read_frame(base, extra="keep") if isinstance(base, (str, Path)) else base
        if not isinstance(frame, pd.DataFrame):
            from .frame import to_frame

            frame = to_frame(list(frame))
        texts = _texts_of_frame(frame)
    outcomes = _outcomes(result)
    by_id = {o["Id"]: o for o in outcomes if o["Id"] is not None}
    by_row = {o["row"]: o for o in outcomes if o["row"] is not None}  # a new row: its outcome by its row number
    no_id = iter(o for o in outcomes if o["Id"] is None)
    numbers = (df.attrs.get("sheet_rows") or ((), ()))[0]
    ids: list[str | None] = (
        [None if is_blank(v) else str(v) for v in df[ID].tolist()] if ID in df.columns else [None] * len(df)
    )
    new_ids = _created_ids(outcomes, ids, numbers, by_row)
    if new_ids:  # the new rows get their Id (and LastModifiedDate): the next push updates them
        if ID not in df.columns:
            df.insert(0, ID, pd.Series([None] * len(df), index=df.index, dtype=object))
        if LMD not in df.columns:
            df.insert(list(df.columns).index(ID) + 1, LMD, pd.Series([pd.NaT] * len(df), index=df.index))
        column: list[Any] = df[ID].astype(object).tolist()
        for pos, new in new_ids.items():
            column[pos] = ids[pos] = new
        df[ID] = pd.Series(column, index=df.index, dtype=object)
    base_lmd = _base_lmds(texts)
    overlay: set[str] = set()
    kept: dict[str, set[str]] = {}
    table: list[dict[str, Any]] = []
    colours: dict[str, list[int]] = {}
    lmds = df[LMD].tolist() if LMD in df.columns else None
    for pos, ident in enumerate(ids):
        o: dict[str, Any] | None
        if pos in new_ids:
            o = by_row[str(numbers[pos])]
        elif ident is not None:
            o = by_id.get(ident)
        else:
            o = by_row.get(str(numbers[pos])) if pos < len(numbers) and by_row else next(no_id, None)
        if o is None:
            o = {"Id": ident, "status": Status.UNCHANGED, "code": "", "detail": "", "changed": [], "before": None}
            o["after"] = None
            if not complete:
                o["status"], o["code"] = Status.DEFERRED, Reason.UNREACHABLE
                o["detail"] = "The service could not be reached before this row."
        status = o["status"]
        after = o["after"]
        if pos in new_ids and ident is not None:
            # created: the server's record is the row as pushed, so the pushed row is its base
            if lmds is not None and not is_blank(after):
                lmds[pos] = pd.Timestamp(after)
            if texts:
                texts[1][ident] = [""] * len(texts[0])
            overlay.add(ident)
        elif status == Status.SUCCEEDED and ident is not None and not is_blank(after):
            before = base_lmd.get(ident) if texts else _timestamp(lmds[pos] if lmds is not None else None)
            # the server record is the base + the pushed changes only when the push did not merge
            # onto a newer record; after a merge the base keeps the exported LastModifiedDate, so
            # the next push merges three-way again instead of taking stale values as the server's
            merged = before is None or is_blank(o["before"]) or pd.Timestamp(o["before"]) != before
            if not merged and lmds is not None:
                lmds[pos] = pd.Timestamp(after)
            overlay.add(ident)
            kept[ident] = set(o.get("kept") or ())
        colours.setdefault(status, []).append(pos + 2)
        words = _OUTCOMES.get(status, (status, ""))[0]
        table.append(
            {
                "Row": pos + 2,
                "Id": ident or "",
                "Status": status,
                "Message": f"{words} {o['detail']}" if o["detail"] else words,
                "Changed fields": ", ".join(o["changed"]),
                "Code": o["code"],
                "Last modified": "" if is_blank(after) else pd.Timestamp(after).isoformat(),
            }
        )
    if lmds is not None:
        df[LMD] = pd.to_datetime(pd.Series(lmds, index=df.index), utc=True)
    over = _Override(
        header=texts[0] if texts else None,
        rows=texts[1] if texts else {},
        overlay=overlay,
        clear=blank == "clear",
        results=pd.DataFrame(table, columns=_HEADS),
        colours=colours,
        kept=kept,
    )
    with _overriding(over):
        write_sheet(df, out)
    return out


def _created_ids(
    outcomes: list[dict[str, Any]], ids: list[str | None], numbers: Sequence[int], by_row: dict[str, dict[str, Any]]
) -> dict[int, str]:
    """Return ``{position: new Id}`` for each data row without an Id whose outcome gave it one.

    Created, or skipped as created by an earlier push; matched by the sheet's row number.
    """
    out = {}
    for pos, ident in enumerate(ids):
        if ident is not None or pos >= len(numbers):
            continue
        o = by_row.get(str(numbers[pos]))
        if o is not None and o["Id"] is not None and o["status"] in (Status.CREATED, Status.SKIPPED):
            out[pos] = o["Id"]
    return out


def _texts_or_none(path: str | Path) -> tuple[list[str], dict[str, list[str]]] | None:
    try:
        return read_base_texts(path)
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def _timestamp(v: Any) -> pd.Timestamp | None:
    return None if is_blank(v) else pd.Timestamp(v)


def _base_lmds(texts: tuple[list[str], dict[str, list[str]]] | None) -> dict[str, pd.Timestamp]:
    if not texts or LMD not in texts[0]:
        return {}
    at = texts[0].index(LMD)
    out = {}
    for ident, row in texts[1].items():
        with contextlib.suppress(ValueError):
            if row[at]:
                out[ident] = pd.Timestamp(row[at])
    return out


@contextlib.contextmanager
def _overriding(over: _Override) -> Iterator[None]:
    token = _OVERRIDE.set(over)
    try:
        yield
    finally:
        _OVERRIDE.reset(token)
