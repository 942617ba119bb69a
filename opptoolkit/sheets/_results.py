"""The results workbook: the outcome of a push (or a plan) written into a copy of the edited workbook."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import replacing
from .._status import Reason, Status, first_outcome, said_line
from .._values import is_blank
from ..frame import to_frame
from ..schema import ID, get_schema, in_labels, label_for
from ._base import LMD, BaseRows, add_base, read_base_texts, texts_of_frame
from ._io import encode_sheet, frame_catalog, read_sheet
from ._layout import FONT, print_setup, push_command, row_height
from ._rows import SheetRows

__all__ = [
    "HEADS",
    "KEPT_NOTE",
    "ORDER",
    "RESULTS_SHEET",
    "UNCHANGED_SHEET",
    "add_results_sheet",
    "human_time",
    "results_path",
    "write_results",
]

RESULTS_SHEET = "Results"
SHEET = "Opportunities"  # the data sheet's name, as write_sheet names it


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


HEADS = ["Row", "Id", "Status", "Message", "Changed fields", "Code", "Last modified"]
_BAD, _KEPT = "FFC7CE", "FFEB9C"  # a marked cell's fill: refused, kept by AWS (Excel's "Bad" and "Neutral")
#: The note on a cell whose edit AWS kept its own value of (a push's ``kept_fields``).
KEPT_NOTE = "AWS keeps its own value of this field: the edit was not applied (the row's message says why)."


def _outcomes(result: pd.DataFrame) -> list[dict[str, Any]]:
    """Put the rows of a push result (``status``) or a plan (``action``) in one shape."""
    out = []
    for r in result.to_dict("records"):
        status = str(r.get("status") or r.get("action") or "")
        if "errors" in r:  # a plan
            details = [*r.get("errors", []), *(f"warning: {said_line(w)}" for w in r.get("warnings", []))]
            if r.get("note"):
                details.insert(0, str(r["note"]))
            # its first problem's code, from its own column (a conflict the plan found is its reason, as a push says)
            codes = r.get("error_codes")
            code = next((str(c) for c in ([] if codes is None else list(codes)) if c != Reason.CONFLICT), "")
            message = "; ".join(details)
        else:
            # the service's (or botocore's) code, else the toolkit's own reason (CONFLICT, DAILY_BUDGET, ...)
            code = next((str(r[k]) for k in ("error_code", "reason") if not is_blank(r.get(k))), "")
            message = "" if is_blank(r.get("error_message")) else str(r["error_message"])
        # each error apart (its field's path, "" for the whole row; its code; its message alone), when the
        # result lists them so: the message then names each field by the sheet's label, and its cell is marked
        fields, texts, codes = (list(_items(r.get(k))) for k in ("error_fields", "error_texts", "error_codes"))
        problems = list(zip(fields, codes, texts, strict=True)) if len(fields) == len(texts) == len(codes) else []
        if problems:
            code = ", ".join(dict.fromkeys(c for _, c, _ in problems))
            notes = [*(f"warning: {said_line(w)}" for w in r.get("warnings", []))] if "errors" in r else []
            if r.get("note"):
                notes.insert(0, str(r["note"]))
            message = "\n".join(notes)
        out.append(
            {
                "row": None if is_blank(r.get("row")) else str(r["row"]),
                "Id": None if is_blank(r.get("Id")) else str(r["Id"]),
                "status": status,
                "code": code,
                "detail": message,
                "problems": problems,
                "changed": list(r.get("changed_fields") or []),
                "kept": list(r.get("kept_fields") or []),
                "before": r.get("last_modified_before"),
                "after": r.get("last_modified_after"),
            }
        )
    return out


def _merged(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold the outcomes of one record (its row's own, then its association calls') into the first of them.

    A push lists a row's AssociateOpportunity / DisassociateOpportunity calls after the rows, under the row's Id:
    the row shows the first of all their statuses in :data:`~opptoolkit._status.OUTCOME_ORDER` (problems first),
    every changed field and every problem, and keeps its own last-modified times (the calls have none).
    """
    first: dict[Any, dict[str, Any]] = {}
    out = []
    for o in outcomes:
        key = o["Id"] if o["Id"] is not None else o["row"] and ("row", o["row"])
        if not key or (into := first.get(key)) is None:
            first[key] = o
            out.append(o)
            continue
        into["status"] = first_outcome([into["status"], o["status"]])
        into["changed"] = list(dict.fromkeys([*into["changed"], *o["changed"]]))
        into["kept"] = list(dict.fromkeys([*into["kept"], *o["kept"]]))
        into["problems"] = [*into["problems"], *o["problems"]]
        into["code"] = ", ".join(dict.fromkeys(c for c in (into["code"], o["code"]) if c))
        into["detail"] = "\n".join(dict.fromkeys(d for d in (into["detail"], o["detail"]) if d))
    return out


def _items(v: Any) -> Sequence[str]:
    """Return a list cell of a result (a list, a tuple, an array read from Parquet) as its items; blank as none."""
    return [] if is_blank(v) or isinstance(v, str) else [str(x) for x in list(v)]


def _labelled(problems: Sequence[tuple[str, str, str]]) -> list[str]:
    """Each problem as a line naming its fields by the sheet's labels: its own, and any its rule names.

    Its code is in the Code column.
    """
    return [f"{label_for(field)}: {in_labels(text)}" if field else in_labels(text) for field, _, text in problems]


#: The order of the Results sheet: what needs the analyst first, then what was done; unchanged rows are counted.
ORDER = (
    Status.FAILED,
    Status.INVALID,
    Status.CONFLICT,
    Status.NOT_EDITABLE,
    Status.NO_TOKEN,
    Status.NOT_FOUND,
    Status.DEFERRED,
    Status.UNKNOWN,
    Status.SUCCEEDED,
    Status.CREATED,
    Status.UPDATE,
    Status.CREATE,
    Status.SKIPPED,
    Status.UNCHANGED,  # one that says something (a cell emptied that a blank kept); the others are counted
)
#: The outcomes whose listed problems are notes, not refusals: their cells are marked as a kept field's is.
_NOTED = frozenset({Status.SUCCEEDED, Status.CREATED, Status.UPDATE, Status.CREATE, Status.SKIPPED, Status.UNCHANGED})
#: The sheet listing the rows a push had nothing to send for (the Results sheet counts them).
UNCHANGED_SHEET = "Unchanged"
#: A line of the Results sheet's Message column holds this many characters before it wraps (column D's width).
_MESSAGE_WIDTH = 80


def human_time(v: Any) -> str:
    """Return a time as the Results sheet shows it: ``6 Dec 2026 15:48 UTC`` ("" for none).

    >>> human_time("2026-12-06T15:48:26.702000+00:00")
    '6 Dec 2026 15:48 UTC'
    """
    if is_blank(v):
        return ""
    ts = pd.Timestamp(v)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return f"{ts.day} {ts:%b %Y %H:%M} UTC"


def add_results_sheet(
    wb: Any,
    results: pd.DataFrame,
    colours: dict[str, list[int]],
    header: list[str],
    unchanged: pd.DataFrame | None = None,
) -> None:
    """Add the "Results" sheet (second, after the data sheet: the workbook's first) and colour its Id cells by outcome.

    ``results`` has the columns :data:`HEADS`, the rows in :data:`ORDER`; ``colours`` each status's data sheet
    rows (1-based); ``header`` the data sheet's columns as paths. ``unchanged`` (``Row`` and ``Id``): the rows
    with nothing to send, counted on one line under the table and listed on the :data:`UNCHANGED_SHEET` sheet
    (third); None when ``results`` holds them.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.dimensions import RowDimension
    from openpyxl.worksheet.hyperlink import Hyperlink

    data = wb._sheets[0]  # the data sheet ("Opportunities", or a leads workbook's "Leads"): the rows link to it
    ws = wb.create_sheet(RESULTS_SHEET)
    widths = {"A": 8, "B": 16, "C": 14, "D": _MESSAGE_WIDTH, "E": 40, "F": 28, "G": 24}
    for letter, w in widths.items():
        ws.column_dimensions[letter].width = w
    ws.freeze_panes = "A2"
    print_setup(ws)  # before the rows: a write-only sheet writes its properties with the first one
    heads = HEADS
    bold = Font(name=FONT, bold=True)  # a Font without a name makes LibreOffice pick a serif one
    cells = []
    for h in heads:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        cells.append(c)
    ws.append(cells)
    wrap = Alignment(wrap_text=True, vertical="top")
    for n, rec in enumerate(results.to_dict("records"), start=2):
        fill = PatternFill("solid", fgColor=_OUTCOMES.get(rec["Status"], ("", "FFFFFF"))[1])
        values = [rec[h] if rec[h] != "" else None for h in heads]
        ws.row_dimensions[n] = RowDimension(
            ws, index=n, ht=row_height(values, list(widths.values())), customHeight=True
        )
        row = []
        for h, v in zip(heads, values, strict=True):
            c = WriteOnlyCell(ws, value=v)
            c.fill, c.alignment = fill, wrap
            if h == "Row" and v is not None:  # to the row on the data sheet (a link within the workbook)
                c.hyperlink = Hyperlink(ref="", location=f"'{data.title}'!A{v}", display=str(v))
                c.hyperlink.ref = f"A{n}"  # a write-only cell does not know its place yet
            row.append(c)
        ws.append(row)
    if len(results):
        ws.auto_filter.ref = f"A1:G{len(results) + 1}"
    if unchanged is not None and len(unchanged) > 0:
        ws.append([])
        many = len(unchanged) != 1
        line = WriteOnlyCell(
            ws,
            value=f"{len(unchanged):,} {'rows' if many else 'row'} unchanged: nothing to send "
            f"({'they are' if many else 'it is'} listed on the sheet '{UNCHANGED_SHEET}').",
        )
        line.font = Font(name=FONT, italic=True)
        ws.append([None, None, None, line])
    listed = unchanged if unchanged is not None and len(unchanged) > 0 else None
    if listed is not None:
        rest = wb.create_sheet(UNCHANGED_SHEET)
        rest.column_dimensions["A"].width, rest.column_dimensions["B"].width = 8, 16
        rest.freeze_panes = "A2"
        head = []
        for h in listed.columns:
            c = WriteOnlyCell(rest, value=h)
            c.font = bold
            head.append(c)
        rest.append(head)
        for r in listed.itertuples(index=False):
            rest.append([None if is_blank(v) or v == "" else v for v in r])
        rest.auto_filter.ref = f"A1:{get_column_letter(len(listed.columns))}{len(listed) + 1}"
    # the data sheet's Id cells coloured by outcome; a rule (not a cell style) since the data
    # rows are already written
    if ID in header:
        letter = get_column_letter(header.index(ID) + 1)
        for status, rows in colours.items():
            colour = _OUTCOMES.get(status, ("", "FFFFFF"))[1]
            if rows and colour != "FFFFFF":
                ref = " ".join(f"{letter}{n}" for n in rows)
                rule = FormulaRule(formula=["TRUE"], fill=PatternFill("solid", bgColor=colour))  # type: ignore[no-untyped-call]
                data.conditional_formatting.add(ref, rule)
    wb._sheets.insert(1, wb._sheets.pop(wb._sheets.index(ws)))  # second, after the data sheet
    if listed is not None:
        wb._sheets.insert(2, wb._sheets.pop(wb._sheets.index(rest)))


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
    catalog: str | None = None,
    endpoint_url: str | None = None,
) -> Path:
    """Write the outcome of a push (or a plan) into a copy of the edited workbook.

    The results workbook is the edited sheet again (first, so it can be edited and pushed
    again), each row's ``Id`` cell coloured by its outcome and each cell a problem names marked
    (filled, the message in its comment), then a "Results" sheet: the rows that need a look first
    (failed, invalid, conflict, not editable, deferred, unknown, ...), then those done, each with
    the outcome, the message in plain words naming the fields by the sheet's labels, the changed
    fields, the code and the time in words, coloured by status, its row number a link to the row;
    a line under the table counts the unchanged rows, listed on an "Unchanged" sheet. It
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
        The base the push used when it was not the one the workbook carries (``--base``): a frame, or a
        sheet (a workbook gives the export it remembers). :func:`opptoolkit.write_results` also takes a
        mirror folder or a ``.parquet``.
    blank : {"keep", "clear"}
        The push's blank-cell policy: with ``"keep"`` a blank cell of an updated row did not
        clear the server's value, so its base keeps the exported value.
    complete : bool
        False when the push stopped before the end (:class:`opptoolkit.ServiceUnreachable`'s
        ``result``): the rows ``result`` does not hold were not reached, and show as deferred.
    catalog, endpoint_url : str, optional
        Where the push went: the Read me's push command names them (the catalog defaults to the one the
        rows' ``Catalog`` column holds).

    Returns
    -------
    Path
        The results workbook.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> import opptoolkit as ot
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
    edited = Path(edited)
    out = Path(path) if path is not None else results_path(edited)
    df = read_sheet(edited, extra="keep")
    texts: tuple[list[str], dict[str, list[str]]] | None = None
    if base is None:
        texts = _texts_or_none(edited)
    elif isinstance(base, (str, Path)) and (remembered := _texts_or_none(base)) is not None:
        texts = remembered  # a workbook named as the base: the export it remembers (as choose_base)
    else:
        frame = read_sheet(base, extra="keep") if isinstance(base, (str, Path)) else base
        texts = texts_of_frame(frame if isinstance(frame, pd.DataFrame) else to_frame(list(frame)))
    outcomes = _merged(_outcomes(result))
    by_id = {o["Id"]: o for o in outcomes if o["Id"] is not None}
    by_row = {o["row"]: o for o in outcomes if o["row"] is not None}  # a new row: its outcome by its row number
    no_id = iter(o for o in outcomes if o["Id"] is None)
    rows = SheetRows.of(df)
    numbers = rows.numbers if rows is not None else ()
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
    outcome_rows: list[dict[str, Any]] = []
    colours: dict[str, list[int]] = {}
    lmds = df[LMD].tolist() if LMD in df.columns else None
    # per row: its problems, its kept fields, and whether its problems are notes (the row went through, or had
    # nothing to send: a cell emptied that a blank kept)
    faults: dict[int, tuple[list[tuple[str, str, str]], list[str], bool]] = {}
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
        problems = o.get("problems") or []
        detail = "\n".join([*_labelled(problems), *([o["detail"]] if o["detail"] else [])])
        if problems or o.get("kept"):
            faults[pos] = (problems, list(o.get("kept") or ()), status in _NOTED)
        outcome_rows.append(
            {
                "Row": pos + 2,
                "Id": ident or "",
                "Status": status,
                "Message": f"{words}\n{detail}" if detail else words,
                "Changed fields": ", ".join(label_for(c) for c in o["changed"]),
                "Code": o["code"],
                "Last modified": human_time(after),
            }
        )
    if lmds is not None:
        df[LMD] = pd.to_datetime(pd.Series(lmds, index=df.index), utc=True)
    enc = encode_sheet(df, out.name, xlsx=True, headers="label", columns=None, schema=get_schema())
    marks = _marks(faults, {c: j for j, c in enumerate(enc.paths)})
    table = pd.DataFrame(outcome_rows, columns=HEADS)
    rank = {str(s): i for i, s in enumerate(ORDER)}  # a status it does not know first: it may need a look
    table = table.iloc[sorted(range(len(table)), key=lambda i: (rank.get(str(table.at[i, "Status"]), -1), i))]
    same = (table["Status"] == Status.UNCHANGED) & (table["Message"] == _OUTCOMES[Status.UNCHANGED][0])
    with replacing(out) as tmp:
        wb = enc.workbook(SHEET, push=push_command(out.name, catalog or frame_catalog(df), endpoint_url), marks=marks)
        add_results_sheet(wb, table[~same], colours, enc.paths, unchanged=table.loc[same, ["Row", "Id"]])
        if texts:  # the base the next push needs: the export's rows, the pushed ones as pushed
            carry = BaseRows(texts[0], texts[1], overlay, blank == "clear", kept)
            add_base(wb, enc.paths, zip(*enc.columns, strict=True), carry)
        wb.save(tmp)
    return out


def _marks(
    faults: dict[int, tuple[list[tuple[str, str, str]], list[str], bool]], at: dict[str, int]
) -> dict[int, dict[int, tuple[str, str]]]:
    """Return the data sheet's cells to mark: per row, each column a problem names (its messages) or AWS kept.

    ``at``: each column path's place on the sheet. A problem about the whole row (no field) marks no cell: the
    row's Id is coloured by its outcome. The problems of a row that went through (or had nothing to send) are
    notes, marked as a kept field is.
    """
    marks: dict[int, dict[int, tuple[str, str]]] = {}
    for pos, (problems, kept, noted) in faults.items():
        mark: dict[int, tuple[str, str]] = {}
        for field, code, text in problems:
            if field in at:
                note = f"{in_labels(text)} ({code})" if code else in_labels(text)
                j = at[field]
                mark[j] = (f"{mark[j][0]}\n{note}" if j in mark else note, _KEPT if noted else _BAD)
        for field in kept:
            if field in at and at[field] not in mark:
                mark[at[field]] = (KEPT_NOTE, _KEPT)
        if mark:
            marks[pos] = mark
    return marks


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
