"""The results workbook: the outcome of a push (or a plan) written into a copy of the edited workbook."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import replacing
from .._status import Reason, Status
from .._values import is_blank
from ..frame import to_frame
from ..schema import ID, get_schema
from ._base import LMD, BaseRows, add_base, read_base_texts, texts_of_frame
from ._io import encode_sheet, read_sheet
from ._layout import build_workbook
from ._rows import SheetRows

__all__ = ["HEADS", "RESULTS_SHEET", "add_results_sheet", "results_path", "write_results"]

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


def add_results_sheet(wb: Any, results: pd.DataFrame, colours: dict[str, list[int]], header: list[str]) -> None:
    """Add the "Results" sheet (second, after the data sheet) and colour the data sheet's Id cells by outcome.

    ``results`` has the columns :data:`HEADS`; ``colours`` each status's data sheet rows (1-based);
    ``header`` the data sheet's columns as paths.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(RESULTS_SHEET)
    widths = {"A": 8, "B": 16, "C": 14, "D": 80, "E": 40, "F": 28, "G": 30}
    for letter, w in widths.items():
        ws.column_dimensions[letter].width = w
    ws.freeze_panes = "A2"
    heads = HEADS
    bold = Font(bold=True)
    cells = []
    for h in heads:
        c = WriteOnlyCell(ws, value=h)
        c.font = bold
        cells.append(c)
    ws.append(cells)
    wrap = Alignment(wrap_text=True, vertical="top")
    for rec in results.to_dict("records"):
        fill = PatternFill("solid", fgColor=_OUTCOMES.get(rec["Status"], ("", "FFFFFF"))[1])
        row = []
        for h in heads:
            c = WriteOnlyCell(ws, value=rec[h] if rec[h] != "" else None)
            c.fill, c.alignment = fill, wrap
            row.append(c)
        ws.append(row)
    if len(results):
        ws.auto_filter.ref = f"A1:G{len(results) + 1}"
    # the data sheet's Id cells coloured by outcome; a rule (not a cell style) since the data
    # rows are already written
    data = wb._sheets[0]
    if ID in header:
        letter = get_column_letter(header.index(ID) + 1)
        for status, rows in colours.items():
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
        The base the push used when it was not the one the workbook carries (``--base``): a frame, or a
        sheet (a workbook gives the export it remembers). :func:`opptoolkit.write_results` also takes a
        mirror folder or a ``.parquet``.
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
    outcomes = _outcomes(result)
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
        outcome_rows.append(
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
    enc = encode_sheet(df, out.name, xlsx=True, headers="label", columns=None, schema=get_schema())
    with replacing(out) as tmp:
        wb = build_workbook(
            enc.names, enc.columns, enc.fields, SHEET, paths=enc.paths, statuses=enc.statuses, lay=enc.lay
        )
        add_results_sheet(wb, pd.DataFrame(outcome_rows, columns=HEADS), colours, enc.paths)
        if texts:  # the base the next push needs: the export's rows, the pushed ones as pushed
            carry = BaseRows(texts[0], texts[1], overlay, blank == "clear", kept)
            add_base(wb, enc.paths, zip(*enc.columns, strict=True), carry)
        wb.save(tmp)
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
