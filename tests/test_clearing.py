"""Clearing is never silent (issue #31, item 3): a cell emptied where the export had a value is named, with the way to
clear it for real; leaving Closed Lost with its reason emptied says exactly what to do."""

from __future__ import annotations

import shutil

import pytest
from openpyxl import load_workbook

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.plan import KEPT_BLANK
from opptoolkit.sandbox import SEED_DAY

WEBSITE, STAGE, REASON = "Customer.Account.WebsiteUrl", "LifeCycle.Stage", "LifeCycle.ClosedLostReason"


def _row(df, **where):
    ok = df["LifeCycle.ReviewStatus"].isin(["Pending Submission", "Approved"]) & df[WEBSITE].notna()
    for col, value in where.items():
        ok &= df[col] == value
    return df.index[ok][0]


def test_an_emptied_cell_is_named_with_the_way_to_clear_it(pulled):
    edited = pulled.copy()
    at = _row(pulled)
    edited.loc[at, WEBSITE] = ""
    plan = ot.plan_updates(edited, "Sandbox", base=pulled)
    row = plan.iloc[at]
    assert row["action"] == "unchanged"
    assert row["warnings"] == [f"{WEBSITE}: ACTION_NOT_PERMITTED: {KEPT_BLANK}"]
    assert "--blank clear" in KEPT_BLANK
    assert (plan["warnings"].map(len) > 0).sum() == 1  # no other row says anything
    cleared = ot.plan_updates(edited, "Sandbox", base=pulled, blank="clear").iloc[at]
    assert cleared["changed_fields"] == [WEBSITE] and cleared["warnings"] == []


def test_leaving_closed_lost_with_the_reason_emptied_says_what_to_do(pulled):
    edited = pulled.copy()
    at = _row(pulled, **{STAGE: "Closed Lost", "LifeCycle.ReviewStatus": "Pending Submission"})
    edited.loc[at, [STAGE, REASON]] = ["Qualified", ""]
    row = ot.plan_updates(edited, "Sandbox", base=pulled, today=SEED_DAY).iloc[at]
    assert row["action"] == "invalid"
    assert any(e.startswith(f"{REASON}: INVALID_VALUE") for e in row["errors"]), row["errors"]
    assert f"{REASON}: ACTION_NOT_PERMITTED: {KEPT_BLANK}" in row["warnings"]
    cleared = ot.plan_updates(edited, "Sandbox", base=pulled, blank="clear", today=SEED_DAY).iloc[at]
    assert cleared["action"] == "update", cleared["errors"]
    assert set(cleared["changed_fields"]) >= {STAGE, REASON}


@pytest.mark.parametrize("how", ["workbook", "cli"])
def test_a_dry_run_of_a_workbook_names_the_emptied_cell(pulled_workbook, tmp_path, capsys, how):
    path = shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    head = {c.value: c.column for c in ws[1]}
    label = ot.label_for(WEBSITE)
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, head[label]).value)
    ws.cell(row, head[label]).value = None
    wb.save(path)
    if how == "workbook":
        plan = ot.plan_updates(path, "Sandbox")
        said = plan.loc[plan["row"] == str(row), "warnings"].iloc[0]
        assert said == [f"{WEBSITE}: ACTION_NOT_PERMITTED: {KEPT_BLANK}"]
        return
    assert main(["push", str(path), "--catalog", "Sandbox", "--endpoint-url", "http://127.0.0.1:9", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"  row {row} " in out and "--blank clear" in out and "unchanged" in out
    # the dry run's results workbook lists the row (not only counts it), naming the field by its label
    results = load_workbook(tmp_path / "pipeline.results.xlsx")["Results"]
    heads = [c.value for c in results[1]]
    listed = {r[0]: dict(zip(heads, r, strict=True)) for r in results.iter_rows(min_row=2, values_only=True)}
    assert listed[row]["Status"] == "unchanged"
    assert f"{label}: {KEPT_BLANK} (ACTION_NOT_PERMITTED)" in listed[row]["Message"], listed[row]["Message"]
    assert WEBSITE not in listed[row]["Message"]  # the sheet's label, never the API's path


# -- a real push: the result, the terminal, the results workbook and the ledger say it too -----------------------

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
NEXT = "LifeCycle.NextSteps"
NOTE = ("ACTION_NOT_PERMITTED", WEBSITE, KEPT_BLANK)


def _fills(ws, coordinate: str) -> list[str]:
    """The colours the sheet's conditional formatting fills a cell with (the results workbook marks cells so)."""
    return [
        rule.dxf.fill.bgColor.rgb[-6:]
        for cf in ws.conditional_formatting
        if coordinate in cf.sqref
        for rule in cf.rules
    ]


def _said(row) -> list[tuple[str, str, str]]:
    return list(zip(row["error_codes"], row["error_fields"], row["error_texts"], strict=True))


@pytest.mark.parametrize("with_base", [True, False])
def test_a_push_names_the_emptied_cell_it_keeps(sb, pulled, tmp_path, with_base):
    edited = pulled.copy()
    at = _row(pulled)
    ident, website = pulled.loc[at, "Id"], pulled.loc[at, WEBSITE]
    edited.loc[at, WEBSITE] = ""
    base = {"base": pulled} if with_base else {}
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **base, **FAST)
    row = result.iloc[at]
    assert row["Id"] == ident and row["status"] == "unchanged" and row["writes"] == 0
    assert _said(row) == [NOTE]
    assert ot.label_for(WEBSITE) in row["error_message"] and "--blank clear" in row["error_message"]
    assert website not in row["error_message"]  # the rule, never the value
    assert (result.drop(index=at)["error_fields"].map(len) == 0).all()  # no other row says anything
    assert (result["status"] == "unchanged").all() and not sb.service.applied
    assert sb.record("Sandbox", ident)["Customer"]["Account"]["WebsiteUrl"] == website
    assert len(ot.read_ledger(tmp_path / "l")) == 0  # the ledger holds attempts: an unchanged row is none


def test_a_push_of_a_row_with_an_edit_and_an_emptied_cell_sends_the_edit_and_names_the_cell(sb, pulled, tmp_path):
    edited = pulled.copy()
    at = _row(pulled, **{"LifeCycle.ReviewStatus": "Pending Submission"})
    ident, website = pulled.loc[at, "Id"], pulled.loc[at, WEBSITE]
    edited.loc[at, [NEXT, WEBSITE]] = ["Book the briefing", ""]
    result = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=pulled, endpoint_url=sb.endpoint_url, **FAST
    )
    row = result.iloc[at]
    assert row["status"] == "succeeded" and list(row["changed_fields"]) == [NEXT] and row["writes"] == 1
    assert _said(row) == [NOTE]
    assert ot.label_for(WEBSITE) in row["error_message"] and "--blank clear" in row["error_message"]
    stored = sb.record("Sandbox", ident)
    assert stored["LifeCycle"]["NextSteps"] == "Book the briefing"
    assert stored["Customer"]["Account"]["WebsiteUrl"] == website  # kept, as said
    (entry,) = ot.read_ledger(tmp_path / "l").query("status == 'succeeded'").to_dict("records")
    assert list(entry["error_fields"]) == [WEBSITE] and list(entry["error_texts"]) == [KEPT_BLANK]
    assert "--blank clear" in entry["error_message"] and website not in entry["error_message"]


def test_the_terminal_and_the_results_workbook_name_the_emptied_cell(sb, pulled_workbook, tmp_path, capsys):
    path = shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    head = {c.value: c.column for c in ws[1]}
    label = ot.label_for(WEBSITE)
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, head[label]).value)
    ident = ws.cell(row, head[ot.label_for("Id")]).value
    ws.cell(row, head[label]).value = None
    wb.save(path)
    push = ["push", str(path), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--ledger", str(tmp_path / "l"), "--writes-per-second", "1000"]  # fmt: skip
    assert main(push) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith(f"  row {row} "))
    assert ident in line and "[unchanged]" in line and label in line and "--blank clear" in line
    book = load_workbook(tmp_path / "pipeline.results.xlsx")
    data = book.worksheets[0]
    cell = data.cell(row, [c.value for c in data[1]].index(label) + 1)
    assert cell.comment is not None and "--blank clear" in cell.comment.text
    assert _fills(data, cell.coordinate) == ["FFEB9C"]  # amber, as a field AWS kept: a note, not a refusal
    results = book["Results"]
    heads = [c.value for c in results[1]]
    listed = {r[0]: dict(zip(heads, r, strict=True)) for r in results.iter_rows(min_row=2, values_only=True)}
    assert listed[row]["Status"] == "unchanged" and f"{label}: {KEPT_BLANK}" in listed[row]["Message"]
    assert sum(1 for r in listed if r is not None and isinstance(r, int)) == 1  # the other rows: counted, not listed


def test_a_push_reopening_closed_lost_with_the_reason_emptied_says_to_clear_it(sb, pulled, tmp_path):
    edited = pulled.copy()
    at = _row(pulled, **{STAGE: "Closed Lost", "LifeCycle.ReviewStatus": "Pending Submission"})
    ident = pulled.loc[at, "Id"]
    edited.loc[at, [STAGE, REASON]] = ["Qualified", ""]
    push = dict(ledger=tmp_path / "l", base=pulled, endpoint_url=sb.endpoint_url, today=SEED_DAY, **FAST)
    row = ot.push_updates(edited, "Sandbox", **push).iloc[at]
    assert row["status"] == "invalid" and row["writes"] == 0 and not sb.service.applied
    said = _said(row)
    assert said[0][:2] == ("INVALID_VALUE", REASON)  # the rule the kept reason breaks, then how to clear it
    assert ("ACTION_NOT_PERMITTED", REASON, KEPT_BLANK) in said and "--blank clear" in row["error_message"]
    row = ot.push_updates(edited, "Sandbox", **{**push, "ledger": tmp_path / "l2"}, blank="clear").iloc[at]
    assert row["status"] == "succeeded" and set(row["changed_fields"]) >= {STAGE, REASON}, row["error_message"]
    stored = sb.record("Sandbox", ident)["LifeCycle"]
    assert stored["Stage"] == "Qualified" and "ClosedLostReason" not in stored


@pytest.mark.parametrize("how", ["failed", "deferred"])
def test_a_row_that_fails_or_is_deferred_still_names_the_emptied_cell(sb, pulled, tmp_path, how):
    """The analyst fixes the row once: what stopped it, and the cell a blank kept, both said."""
    from opptoolkit.sandbox._errors import ServiceError

    edited = pulled.copy()
    at = _row(pulled, **{"LifeCycle.ReviewStatus": "Pending Submission"})
    website = pulled.loc[at, WEBSITE]
    edited.loc[at, [NEXT, WEBSITE]] = ["Book the briefing", ""]
    push = dict(ledger=tmp_path / "l", base=pulled, endpoint_url=sb.endpoint_url, **FAST)
    if how == "failed":

        def refused(p):
            raise ServiceError("AccessDeniedException", "the caller may not update this opportunity")

        sb.service._UpdateOpportunity = refused
    else:
        push["daily_write_budget"] = 0
    row = ot.push_updates(edited, "Sandbox", **push).iloc[at]
    assert row["status"] == how
    assert NOTE in _said(row), _said(row)
    assert ot.label_for(WEBSITE) in row["error_message"] and "--blank clear" in row["error_message"]
    assert website not in row["error_message"]
    if how == "failed":  # what the service said comes first
        assert row["error_message"].startswith("the caller may not") and row["error_code"] == "AccessDeniedException"


def test_a_dry_run_push_says_what_the_push_says_of_its_notes(sb, pulled, tmp_path):
    """The cells a blank kept and the edits AWS keeps: the same message and lists, dry run or not."""
    edited = pulled.copy()
    draft = _row(pulled, **{"LifeCycle.ReviewStatus": "Pending Submission"})
    approved = next(
        i for i in pulled.index[(pulled["LifeCycle.ReviewStatus"] == "Approved") & pulled[WEBSITE].notna()]
        if pulled.at[i, STAGE] not in ("Launched", "Closed Lost")
    )  # fmt: skip
    edited.loc[draft, [NEXT, WEBSITE]] = ["Book the briefing", ""]
    edited.loc[approved, [NEXT, "Project.Title"]] = ["Call the CFO", "A title AWS keeps"]
    push = dict(base=pulled, endpoint_url=sb.endpoint_url, **FAST)
    dry = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "d", dry_run=True, **push)
    real = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", **push)
    said = ["error_message", "error_codes", "error_fields", "error_texts", "kept_fields", "changed_fields"]
    for at in (draft, approved):
        assert (dry.at[at, "status"], real.at[at, "status"]) == ("update", "succeeded")
        assert dry.loc[at, said].to_dict() == real.loc[at, said].to_dict()
    assert "--blank clear" in dry.at[draft, "error_message"]
    assert "Project.Title" in dry.at[approved, "error_message"] and dry.at[approved, "kept_fields"] == ["Project.Title"]
