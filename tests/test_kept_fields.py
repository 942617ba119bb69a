"""Edits AWS keeps its own value for: the analyst never believes such an edit landed.

The developer guide ("Working with opportunity updates") says that after approval the address country and postal
code, industry, website, business problem, partner opportunity identifier and title "cannot be updated"; AWS was
recorded answering such an update 200 and keeping its stored values (samples' Postman collection, "Demo Accept
AWS-originated Opportunities": UpdateOpportunity, then "GetOpportunity Check Stage"). A row whose only changes are
such fields spends no write; a row with other changes too is sent, and its result names the fields AWS kept.

A real boto3 client against the sandbox over HTTP.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.schema import get_schema, label_for
from opptoolkit.sheets import RESULTS_SHEET

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
TITLE, WEBSITE, NEXT = "Project.Title", "Customer.Account.WebsiteUrl", "LifeCycle.NextSteps"
RULE = "cannot be updated once ReviewStatus is 'Approved'"


@pytest.fixture
def export(sb, tmp_path):
    """``opptoolkit pull --out pipeline.xlsx``: the whole pipeline as a workbook, and its frame."""
    from opptoolkit.cli import main as cli

    path = tmp_path / "pipeline.xlsx"
    pull = ["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
    assert cli([*pull, "--out", str(path), "--headers", "label"]) == 0
    return ot.read_sheet(path), path


def _approved(df: pd.DataFrame, n: int) -> list[str]:
    ok = (df["LifeCycle.ReviewStatus"] == "Approved") & ~df["LifeCycle.Stage"].isin(["Launched", "Closed Lost"])
    return df.loc[ok, "Id"].tolist()[:n]


def _edit_in_place(path, edits: dict[tuple[str, str], str]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    schema = get_schema()
    cols = {schema.path_for_label(str(c.value)): c.column for c in ws[1]}
    rows = {ws.cell(r, cols["Id"]).value: r for r in range(2, ws.max_row + 1)}
    for (ident, col), value in edits.items():
        ws.cell(rows[ident], cols[col]).value = value
    wb.save(path)


def test_a_row_whose_only_changes_aws_would_keep_spends_no_write(sb, export, tmp_path):
    df, path = export
    (ident,) = _approved(df, 1)
    stored = sb.record("Sandbox", ident)
    _edit_in_place(path, {(ident, TITLE): "A title AWS keeps", (ident, WEBSITE): "https://example.org"})

    plan = ot.plan_updates(path, "Sandbox").set_index("Id")
    assert plan.loc[ident, "action"] == "not_editable"
    errors = sorted(plan.loc[ident, "errors"])
    assert [e.split(": ")[:2] for e in errors] == [[WEBSITE, "ACTION_NOT_PERMITTED"], [TITLE, "ACTION_NOT_PERMITTED"]]
    for e, field in zip(errors, (WEBSITE, TITLE), strict=True):
        assert label_for(field) in e and RULE in e and "keeps its own value" in e  # the label, the rule, the outcome
        assert "A title AWS keeps" not in e and "example.org" not in e

    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    row = result.set_index("Id").loc[ident]
    assert row["status"] == "not_editable" and row["writes"] == 0 and row["error_code"] == "ACTION_NOT_PERMITTED"
    assert "UpdateOpportunity" not in result.attrs["calls"] and not sb.service.applied
    assert sb.record("Sandbox", ident)["LastModifiedDate"] == stored["LastModifiedDate"]
    (entry,) = ot.read_ledger(tmp_path / "l").to_dict("records")
    assert entry["status"] == "not_editable" and entry["writes"] == 0
    # the ledger holds the labels and the rule (these fields are sensitive: never their values)
    assert label_for(TITLE) in entry["error_message"] and RULE in entry["error_message"]
    assert "A title AWS keeps" not in entry["error_message"] and "example.org" not in entry["error_message"]


def test_a_row_with_other_changes_is_sent_and_its_result_names_the_fields_aws_kept(sb, export, tmp_path, capsys):
    from opptoolkit.cli import main as cli

    df, path = export
    (ident,) = _approved(df, 1)
    stored = sb.record("Sandbox", ident)
    _edit_in_place(path, {(ident, TITLE): "A title AWS keeps", (ident, NEXT): "Book the briefing"})

    plan = ot.plan_updates(path, "Sandbox").set_index("Id")
    assert plan.loc[ident, "action"] == "update" and plan.loc[ident, "changed_fields"] == [NEXT]
    (warning,) = plan.loc[ident, "warnings"]
    assert warning.startswith(f"{TITLE}: ACTION_NOT_PERMITTED: ") and label_for(TITLE) in warning and RULE in warning

    push = ["push", str(path), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--ledger", str(tmp_path / "l"), "--writes-per-second", "1000"]  # fmt: skip
    assert cli(push) == 0
    shown = capsys.readouterr()
    assert f"{ident} [succeeded]" in shown.out and label_for(TITLE) in shown.out  # the CLI says it too
    after = sb.record("Sandbox", ident)
    assert after["LifeCycle"]["NextSteps"] == "Book the briefing"
    assert after["Project"]["Title"] == stored["Project"]["Title"]  # AWS kept its own
    assert sb.service.applied == {ident: 1}

    (entry,) = ot.read_ledger(tmp_path / "l").query("status == 'succeeded'").to_dict("records")
    assert list(entry["changed_fields"]) == [NEXT]  # what landed; the kept field is named apart
    assert label_for(TITLE) in entry["error_message"] and RULE in entry["error_message"]
    assert "A title AWS keeps" not in entry["error_message"]

    results = path.with_name("pipeline.results.xlsx")
    res = openpyxl.load_workbook(results)[RESULTS_SHEET]
    head = [c.value for c in res[1]]
    table = {r[1]: dict(zip(head, r, strict=True)) for r in res.iter_rows(min_row=2, values_only=True)}
    assert table[ident]["Status"] == "succeeded" and table[ident]["Changed fields"] == label_for(NEXT)
    assert label_for(TITLE) in table[ident]["Message"] and "keeps its own value" in table[ident]["Message"]
    # the results workbook still shows the analyst's title, and its base the title AWS kept: planned again, the
    # title is named once more, never taken as landed
    again = ot.plan_updates(results, "Sandbox").set_index("Id")
    assert again.loc[ident, "action"] == "not_editable" and again.loc[ident, "errors"][0].startswith(TITLE)
    assert (again.drop(index=ident)["action"] == "unchanged").all()


def test_the_push_frame_lists_the_kept_fields(sb, export, tmp_path):
    df, _ = export
    (ident,) = _approved(df, 1)
    edited = df.copy()
    at = edited.index[edited["Id"] == ident][0]
    edited.loc[at, [TITLE, NEXT]] = ["A title AWS keeps", "Book the briefing"]
    result = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=df, endpoint_url=sb.endpoint_url, **FAST
    ).set_index("Id")
    assert result.loc[ident, "status"] == "succeeded" and result.loc[ident, "kept_fields"] == [TITLE]
    assert result.loc[ident, "changed_fields"] == [NEXT]
    assert (result.drop(index=ident)["kept_fields"].map(len) == 0).all()
