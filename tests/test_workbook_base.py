"""The workbook remembers its export (a very hidden base sheet) and gets the push's results back.

Real boto3 client against the sandbox over HTTP; the workbook is edited in place with openpyxl
(and saved again by LibreOffice Calc), as an analyst's spreadsheet program would."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.schema import get_schema, label_for
from opptoolkit.sheets import BASE_SHEET, RESULTS_SHEET, read_base
from opptoolkit.sheets._results import UNCHANGED_SHEET, human_time

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
TITLE, NEXT, AMOUNT = "Project.Title", "LifeCycle.NextSteps", "Project.ExpectedCustomerSpend[0].Amount"


@pytest.fixture
def export(sb, tmp_path, pulled_workbook):
    """``opptoolkit pull --out pipeline.xlsx``: the whole pipeline of ``sb`` as a workbook (pulled once a session)."""
    path = Path(shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx"))
    return ot.read_sheet(path), path


def _editable(df: pd.DataFrame, n: int) -> list[str]:
    ok = (df["LifeCycle.ReviewStatus"] == "Pending Submission") & ~df["LifeCycle.Stage"].isin(
        ["Launched", "Closed Lost"]
    )
    return df.loc[ok, "Id"].tolist()[:n]


def _edit_in_place(path: Path, edits: dict[tuple[str, str], str | None]) -> None:
    """Type values into the workbook's data sheet by (Id, column path), and save it, as Excel would."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    schema = get_schema()
    cols = {schema.path_for_label(str(c.value)): c.column for c in ws[1]}
    rows = {ws.cell(r, cols["Id"]).value: r for r in range(2, ws.max_row + 1)}
    for (ident, col), value in edits.items():
        ws.cell(rows[ident], cols[col]).value = value
    wb.save(path)


def test_an_export_carries_its_base_in_a_very_hidden_sheet_after_the_data(export):
    df, path = export
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames[0] == "Opportunities" and wb[BASE_SHEET].sheet_state == "veryHidden"
    base = read_base(path)
    assert base is not None
    pd.testing.assert_frame_equal(base, ot.read_sheet(path), check_dtype=False)
    assert base["LastModifiedDate"].notna().all()
    # a CSV stays plain; a sheet without the token carries no base (none could serve a push); and
    # none is written unasked (a frame edited before writing would carry its edits as the base)
    assert read_base(ot.write_sheet(df, path.with_suffix(".csv"), base=True)) is None
    assert read_base(ot.write_sheet(df[["Id", TITLE]], path.with_name("titles.xlsx"), base=True)) is None
    assert read_base(ot.write_sheet(df, path.with_name("edits.xlsx"))) is None


def test_a_workbook_edited_in_place_merges_disjoint_edits_and_reads_only_the_changed_rows(sb, export, tmp_path):
    df, path = export
    mine, disjoint, same = _editable(df, 3)
    sb.edit("Sandbox", disjoint, lambda r: r["LifeCycle"].update(NextSteps="Colleague's next step"))
    sb.edit("Sandbox", same, lambda r: r["Project"].update(Title="Colleague's title"))
    _edit_in_place(path, {(mine, TITLE): "Mine alone", (disjoint, TITLE): "Mine, merged", (same, TITLE): "Mine too"})
    calls = dict(sb.service.calls)

    plan = ot.plan_updates(path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    assert sb.service.calls == calls  # planned against the export it carries: no call at all
    assert plan.set_index("Id").loc[[mine, disjoint, same], "action"].tolist() == ["update"] * 3
    assert (plan["action"] == "unchanged").sum() == len(df) - 3

    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "ledger", endpoint_url=sb.endpoint_url, **FAST)
    status = result.set_index("Id")["status"]
    assert status[mine] == "succeeded" and status[disjoint] == "succeeded" and status[same] == "conflict"
    assert (status == "unchanged").sum() == len(df) - 3
    # one read per changed row (to merge onto the latest record), none for the unchanged ones
    assert result.attrs["calls"] == {"GetOpportunity": 3, "UpdateOpportunity": 2}
    assert sb.service.calls["GetOpportunity"] - calls.get("GetOpportunity", 0) == 3
    merged = sb.record("Sandbox", disjoint)
    assert merged["Project"]["Title"] == "Mine, merged"
    assert merged["LifeCycle"]["NextSteps"] == "Colleague's next step"  # the colleague's edit is kept
    assert sb.record("Sandbox", same)["Project"]["Title"] == "Colleague's title"
    assert "Project.Title" in result.set_index("Id").loc[same, "error_message"]


def test_the_base_given_wins_over_the_one_the_workbook_carries(sb, export, tmp_path):
    df, path = export
    (ident,) = _editable(df, 1)
    _edit_in_place(path, {(ident, TITLE): "Edited"})
    other = df.copy()
    other.loc[other["Id"] == ident, TITLE] = "Edited"  # a base that already has the edit
    plan = ot.plan_updates(path, "Sandbox", base=other)
    assert set(plan["action"]) == {"unchanged"}
    # a workbook named as the base gives the export it remembers, even if its own sheet was edited too
    (ident2,) = _editable(df, 2)[1:]
    shutil.copy(path, tmp_path / "copy.xlsx")
    _edit_in_place(path, {(ident2, TITLE): "Edited too"})
    plan = ot.plan_updates(path, "Sandbox", base=tmp_path / "copy.xlsx").set_index("Id")["action"]
    assert plan[ident] == "update" and plan[ident2] == "update"


def test_the_edited_file_as_its_own_base_is_refused_with_the_way_out(sb, export, capsys):
    df, path = export
    with pytest.raises(ot.OpptoolkitError, match=r"edited file itself.*leave out --base"):
        ot.plan_updates(path, "Sandbox", base=path)
    csv = ot.write_sheet(df, path.with_suffix(".csv"))
    with pytest.raises(ot.OpptoolkitError, match=r"edited file itself.*the export as it was"):
        ot.plan_updates(csv, "Sandbox", base=str(csv))
    from opptoolkit.cli import main as cli

    assert (
        cli(
            [
                "push",
                str(path),
                "--catalog",
                "Sandbox",
                "--endpoint-url",
                sb.endpoint_url,
                "--base",
                str(path),
                "--dry-run",
            ]
        )
        == 2
    )
    assert "edited file itself" in capsys.readouterr().err


def test_a_workbook_whose_base_was_stripped_warns_and_plans_as_before(sb, export, tmp_path, caplog):
    df, path = export
    mine, disjoint = _editable(df, 2)
    wb = openpyxl.load_workbook(path)
    wb.remove(wb[BASE_SHEET])
    wb.save(path)
    sb.edit("Sandbox", disjoint, lambda r: r["LifeCycle"].update(NextSteps="Colleague's next step"))
    _edit_in_place(path, {(mine, TITLE): "Mine", (disjoint, TITLE): "Mine too"})
    calls = sb.service.calls.get("GetOpportunity", 0)
    with caplog.at_level(logging.WARNING, logger="opptoolkit"):
        result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    warned = [r.getMessage() for r in caplog.records if "carries no export base" in r.getMessage()]
    assert len(warned) == 1 and "\n" not in warned[0] and "--base" in warned[0]
    status = result.set_index("Id")["status"]
    assert status[mine] == "succeeded"
    assert status[disjoint] == "conflict"  # today's behaviour: a stale export is never overwritten
    assert sb.service.calls["GetOpportunity"] - calls == len(df)  # every record read back


def test_the_cli_warns_of_a_stripped_base_in_one_line(sb, export):
    _, path = export
    wb = openpyxl.load_workbook(path)
    wb.remove(wb[BASE_SHEET])
    wb.save(path)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "opptoolkit.cli",
            "push",
            str(path),
            "--catalog",
            "Sandbox",
            "--endpoint-url",
            sb.endpoint_url,
            "--dry-run",
            "--reads-per-second",
            "1000",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(ot.__file__).parent.parent,
    )
    assert run.returncode == 0, run.stderr
    err = [line for line in run.stderr.splitlines() if "carries no export base" in line]
    assert len(err) == 1 and err[0].startswith("WARNING") and "--base" in err[0]


def test_results_workbook_shows_each_outcome_and_a_push_of_it_sends_only_what_is_pending(sb, export, tmp_path):
    df, path = export
    good, bad, other = _editable(df, 3)
    _edit_in_place(path, {(good, TITLE): "Pushed", (bad, AMOUNT): "12,500", (other, NEXT): "Book the briefing"})
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result.set_index("Id").loc[[good, bad, other], "status"].tolist() == ["succeeded", "invalid", "succeeded"]
    out = ot.write_results(result, path)
    assert out == tmp_path / "pipeline.results.xlsx"

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["Opportunities", RESULTS_SHEET] and wb[BASE_SHEET].sheet_state == "veryHidden"
    res = wb[RESULTS_SHEET]
    head = [c.value for c in res[1]]
    assert head == ["Row", "Id", "Status", "Message", "Changed fields", "Code", "Last modified"]
    table = {r[1]: dict(zip(head, r, strict=True)) for r in res.iter_rows(min_row=2, values_only=True) if r[1]}
    unchanged = [r[1] for r in wb[UNCHANGED_SHEET].iter_rows(min_row=2, values_only=True)]
    assert len(table) + len(unchanged) == len(df) and set(table) | set(unchanged) == set(df["Id"])  # every row
    assert table[bad]["Status"] == "invalid" and table[bad]["Code"] == "INVALID_STRING_FORMAT"
    assert table[bad]["Message"].startswith("Not sent: fix the cells") and label_for(AMOUNT) in table[bad]["Message"]
    assert table[good]["Changed fields"] == label_for(TITLE) and table[good]["Message"] == "Updated on Partner Central."
    stored = sb.record("Sandbox", good)["LastModifiedDate"]
    assert table[good]["Last modified"] == human_time(stored)  # in words; the data sheet has the exact time
    fills = {r[2].value: r[2].fill.fgColor.rgb for r in res.iter_rows(min_row=2)}
    assert fills["succeeded"] != fills["invalid"] and fills["invalid"].endswith("FFC7CE")
    assert wb.worksheets[0].conditional_formatting  # the data sheet's Id cells coloured by outcome
    # the data sheet is the edited one: the invalid row keeps its edit, to fix there
    back = ot.read_sheet(out).set_index("Id")
    assert back.loc[bad, AMOUNT] == "12,500" and back.loc[good, TITLE] == "Pushed"
    assert back.loc[good, "LastModifiedDate"] == pd.Timestamp(stored)

    calls = dict(sb.service.calls)
    plan = ot.plan_updates(out, "Sandbox")
    assert sb.service.calls == calls
    todo = plan[plan["action"] != "unchanged"]
    assert todo["Id"].tolist() == [bad] and todo["action"].tolist() == ["invalid"]  # only what is pending

    _edit_in_place(out, {(bad, AMOUNT): "12500"})  # fixed in the results workbook
    again = ot.push_updates(out, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    status = again.set_index("Id")["status"]
    assert status[bad] == "succeeded" and (status == "unchanged").sum() == len(df) - 1
    assert again.attrs["calls"] == {"GetOpportunity": 1, "UpdateOpportunity": 1}
    second = ot.write_results(again, out)
    assert second == out  # a results workbook pushed again writes its own name
    assert set(ot.plan_updates(second, "Sandbox")["action"]) == {"unchanged"}


def test_after_a_merge_the_results_base_keeps_the_export_token_so_the_colleagues_edit_stays_visible(
    sb, export, tmp_path
):
    df, path = export
    (ident,) = _editable(df, 1)
    sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(NextSteps="Colleague's next step"))
    _edit_in_place(path, {(ident, TITLE): "Mine"})
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist().count("succeeded") == 1
    out = ot.write_results(result, path)
    assert set(ot.plan_updates(out, "Sandbox")["action"]) == {"unchanged"}  # our own push is no change
    # the sheet still shows the exported next step: editing it now is a conflict, never a silent overwrite
    _edit_in_place(out, {(ident, NEXT): "Mine over theirs"})
    again = ot.push_updates(out, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert again.set_index("Id").loc[ident, "status"] == "conflict"
    assert sb.record("Sandbox", ident)["LifeCycle"]["NextSteps"] == "Colleague's next step"


def test_a_dry_run_writes_the_results_workbook_and_changes_no_base(sb, export, tmp_path, capsys):
    df, path = export
    good, bad = _editable(df, 2)
    _edit_in_place(path, {(good, TITLE): "Planned", (bad, AMOUNT): "12,500"})
    from opptoolkit.cli import main as cli

    args = [
        "push",
        str(path),
        "--catalog",
        "Sandbox",
        "--endpoint-url",
        sb.endpoint_url,
        "--ledger",
        str(tmp_path / "l"),
        "--writes-per-second",
        "1000",
    ]
    assert cli([*args, "--dry-run"]) == 1  # a row would not be sent
    out = tmp_path / "pipeline.results.xlsx"
    assert str(out.name) in capsys.readouterr().out and not sb.service.applied
    table = pd.read_excel(out, sheet_name=RESULTS_SHEET, dtype=str, engine="calamine").set_index("Id")
    assert table.loc[good, "Status"] == "update" and table.loc[bad, "Status"] == "invalid"
    read_me = pd.read_excel(out, sheet_name="Read me", header=None, dtype=str, engine="calamine")[0].tolist()
    command = f"opptoolkit push {out.name} --catalog Sandbox --endpoint-url {sb.endpoint_url}"
    assert f"    {command} --dry-run" in read_me  # the push that got here, for the results workbook
    plan = ot.plan_updates(out, "Sandbox")
    assert sorted(plan.loc[plan["action"] != "unchanged", "Id"]) == sorted([good, bad])  # both still pending
    assert cli(args) == 1  # the invalid row is not sent; the results say so
    assert set(sb.service.applied) == {good}
    table = pd.read_excel(out, sheet_name=RESULTS_SHEET, dtype=str, engine="calamine").set_index("Id")
    assert table.loc[good, "Status"] == "succeeded" and table.loc[bad, "Status"] == "invalid"


# -- a real spreadsheet program ----------------------------------------------------------------


def test_the_base_survives_a_libreoffice_save_and_an_untouched_workbook_plans_unchanged(resave, sb, export):
    _, path = export
    again = resave(path)
    wb = openpyxl.load_workbook(again, read_only=True)
    # Calc has no "very hidden" state: it keeps the sheet, hidden
    assert wb.sheetnames[0] == "Opportunities" and wb[BASE_SHEET].sheet_state in ("hidden", "veryHidden")
    base = read_base(again)
    assert base is not None
    pd.testing.assert_frame_equal(base, read_base(path), check_dtype=False)
    calls = dict(sb.service.calls)
    plan = ot.plan_updates(again, "Sandbox", blank="clear")
    assert set(plan["action"]) == {"unchanged"}, plan.loc[plan["action"] != "unchanged", ["Id", "changes"]].head()
    assert sb.service.calls == calls


def test_the_results_workbook_survives_a_libreoffice_save_and_plans_only_what_is_pending(resave, sb, export, tmp_path):
    """Results sheet, outcome colours, dropdowns and base all still there once Calc saved it again."""
    df, path = export
    good, bad = _editable(df, 2)
    _edit_in_place(path, {(good, TITLE): "Pushed", (bad, AMOUNT): "12,500"})
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    again = resave(ot.write_results(result, path))
    wb = openpyxl.load_workbook(again)
    assert wb.sheetnames[:2] == ["Opportunities", RESULTS_SHEET]
    res = wb[RESULTS_SHEET]
    fills = {r[1].value: str(r[2].fill.fgColor.rgb) for r in res.iter_rows(min_row=2)}
    assert fills[bad].endswith("FFC7CE") and fills[good].endswith("C6EFCE")
    assert any(dv.type == "list" for dv in wb.worksheets[0].data_validations.dataValidation)
    calls = dict(sb.service.calls)
    plan = ot.plan_updates(again, "Sandbox")
    assert sb.service.calls == calls  # the base survived: no read
    todo = plan[plan["action"] != "unchanged"]
    assert todo.set_index("Id")["action"].to_dict() == {bad: "invalid"}


def test_a_csv_pushed_with_a_base_gets_a_results_workbook_that_carries_that_base(sb, export, tmp_path):
    df, path = export
    good, bad = _editable(df, 2)
    edits = df[df["Id"].isin([good, bad])][["Id", "LastModifiedDate", TITLE, AMOUNT]].copy()
    edits.loc[edits["Id"] == good, TITLE] = "From a CSV"
    edits.loc[edits["Id"] == bad, AMOUNT] = "12,500"
    csv = ot.write_sheet(edits, tmp_path / "edits.csv")
    result = ot.push_updates(csv, "Sandbox", base=path, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    out = ot.write_results(result, csv, base=path)
    assert out == tmp_path / "edits.results.xlsx"
    calls = dict(sb.service.calls)
    plan = ot.plan_updates(out, "Sandbox")
    assert sb.service.calls == calls
    assert plan.set_index("Id")["action"].to_dict() == {good: "unchanged", bad: "invalid"}


def test_a_missing_workbook_is_one_line_without_a_base_warning(tmp_path, capsys, caplog):
    """A file that does not exist has no base to lose: the only thing said is that it is missing."""
    from opptoolkit.cli import main as cli

    with caplog.at_level(logging.WARNING):
        code = cli(
            [
                "push",
                str(tmp_path / "nope.xlsx"),
                "--catalog",
                "Sandbox",
                "--endpoint-url",
                "http://127.0.0.1:1",
                "--dry-run",
            ]
        )
    assert code == 2
    assert [line for line in capsys.readouterr().err.splitlines() if line] == [
        f"error: cannot read {tmp_path / 'nope.xlsx'}: no such file"
    ]
    assert not [r for r in caplog.records if "carries no export base" in r.getMessage()]


def test_a_push_that_loses_the_service_still_writes_the_results_workbook(sb, export, tmp_path, capsys):
    """The endpoint is gone: the row in hand is failed, the rows not reached are deferred, all in the results."""
    import socket

    from opptoolkit.cli import main as cli

    df, path = export
    first, second = _editable(df, 2)
    _edit_in_place(path, {(first, TITLE): "Pushed", (second, NEXT): "Book the briefing"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    code = cli(["push", str(path), "--catalog", "Sandbox", "--endpoint-url", f"http://127.0.0.1:{closed}",
                "--ledger", str(tmp_path / "l"), "--yes"])  # fmt: skip
    assert code == 2
    assert "Results: " in capsys.readouterr().out
    res = openpyxl.load_workbook(tmp_path / "pipeline.results.xlsx")[RESULTS_SHEET]
    head = [c.value for c in res[1]]
    table = {r[1]: dict(zip(head, r, strict=True)) for r in res.iter_rows(min_row=2, values_only=True)}
    statuses = {table[first]["Status"], table[second]["Status"]}
    assert statuses == {"failed", "deferred"}, statuses  # whichever row the push had in hand failed
    deferred = next(t for t in table.values() if t["Status"] == "deferred" and t["Id"] in (first, second))
    assert deferred["Code"] == "UNREACHABLE" and "could not be reached" in deferred["Message"]
    # the rows before the stop were settled (unchanged) on the way; none after it is called unchanged
    wb = openpyxl.load_workbook(tmp_path / "pipeline.results.xlsx")
    same = {
        r[1]: {"Row": r[0], "Status": "unchanged"} for r in wb[UNCHANGED_SHEET].iter_rows(min_row=2, values_only=True)
    }
    table = {k: v for k, v in table.items() if k is not None} | same
    order = sorted(table, key=lambda i: table[i]["Row"])  # as the data sheet has them
    stop = min(order.index(first), order.index(second))
    assert {table[i]["Status"] for i in order[:stop]} <= {"unchanged"}
    assert {table[i]["Status"] for i in order[stop + 1 :]} == {"deferred"}


def test_a_pulled_workbook_names_the_solutions_its_solutions_column_takes(sb, export):
    """The solutions column is editable (a push associates the ids typed there); a Solutions sheet says what each id is."""
    from opptoolkit.sheets._layout import LOCKED_HEADER_FILL

    _, path = export
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["Opportunities", "Read me", "Solutions"]
    listed = [r for r in wb["Solutions"].iter_rows(min_row=2, values_only=True)]
    seeded = ot.read_solutions("Sandbox", endpoint_url=sb.endpoint_url)
    assert sorted(r[0] for r in listed) == sorted(seeded["Id"])
    assert listed[0][2] == "Active" and {r[2] for r in listed} >= {"Active", "Inactive"}  # the active ones first
    ws = wb.worksheets[0]
    schema = get_schema()
    col = [schema.path_for_label(str(c.value)) for c in ws[1]].index("RelatedEntityIdentifiers.Solutions") + 1
    letter = openpyxl.utils.get_column_letter(col)
    (dv,) = [d for d in ws.data_validations.dataValidation if str(d.sqref).startswith(f"{letter}2")]
    assert dv.type == "list" and "Solutions sheet" in dv.prompt and not dv.showErrorMessage
    ref = dv.formula1.split("!")[1].split(":")[0].strip("$").rstrip("0123456789").strip("$")
    offered = [c.value for c in wb["Lists"][ref][1:] if c.value]
    assert offered == sorted(
        seeded.loc[seeded["Status"] == "Active", "Id"], key=lambda i: next(r[1].lower() for r in listed if r[0] == i)
    )
    assert str(ws.cell(1, col).fill.fgColor.rgb)[-6:] != LOCKED_HEADER_FILL  # not shaded: the push sends it
