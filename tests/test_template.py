"""The template for new opportunities: what each column needs is the plan's, the workbook says it, a push creates from it."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string

import opptoolkit as ot
from opptoolkit import fields as P
from opptoolkit._patterns import example_date
from opptoolkit.cli import main
from opptoolkit.plan import Row, resolve_create
from opptoolkit.schema import get_schema, label_for
from opptoolkit.template import CONDITIONAL_FILL, REQUIRED_FILL, column_needs, creatable_columns, write_template


def _new_row(**over: str) -> dict[str, str]:
    """A new opportunity as an analyst fills the template: every orange column, and a few more."""
    s = get_schema()
    row = {
        "Customer.Account.CompanyName": "Acme Test GmbH",
        "Customer.Account.Industry": s["Customer.Account.Industry"].enum[0],
        "Customer.Account.WebsiteUrl": "https://acme.example.com",
        "Customer.Account.Address.CountryCode": "DE",
        "Customer.Account.Address.PostalCode": "10115",
        "Project.Title": "Data lake for Acme",
        "Project.CustomerBusinessProblem": "Acme's analysts wait days for reports from three separate databases.",
        "Project.ExpectedCustomerSpend[0].Amount": "1500",
        "Project.ExpectedCustomerSpend[0].CurrencyCode": "USD",
        "Project.ExpectedCustomerSpend[0].Frequency": "Monthly",
        "Project.ExpectedCustomerSpend[0].TargetCompany": "AWS",
        "LifeCycle.Stage": "Prospect",
        "LifeCycle.TargetCloseDate": example_date(),
    }
    row.update(over)
    return {k: v for k, v in row.items() if v}


def _plan(row: dict[str, str]) -> Row:
    r = Row(label="2", id=None, edit={"Id": None, **row})
    resolve_create(r, get_schema(), "Sandbox", None)
    return r


def test_each_need_is_what_the_plan_asks_of_a_new_row():
    needs = column_needs()
    assert set(needs) <= set(creatable_columns())
    assert needs["Customer.Account.CompanyName"].kind == "required"
    assert needs["Customer.Account.WebsiteUrl"].said == "Required unless national security is 'Yes'."
    assert needs["LifeCycle.ClosedLostReason"].said == "Required when stage is 'Closed Lost'."
    assert needs["Project.ExpectedContractDuration.Value"].kind == "part"
    assert "Project.Title" not in needs  # the plan creates an opportunity without one
    full = _new_row()
    assert _plan(full).action == "create" and not _plan(full).warnings
    for column, need in needs.items():  # a required column left out: the plan says so, by that column
        if need.kind == "required" and column in full and "description" not in need.said:
            r = _plan({k: v for k, v in full.items() if k != column})
            said = [p for p in [*r.problems, *r.warnings] if p.field == column]
            assert "REQUIRED_FIELD_MISSING" in [p.code for p in said], column
    lost = _plan(_new_row(**{"LifeCycle.Stage": "Closed Lost"}))
    assert [(p.field, p.code) for p in lost.problems] == [("LifeCycle.ClosedLostReason", "REQUIRED_FIELD_MISSING")]


def test_the_template_marks_what_each_column_needs_and_names_the_push(tmp_path):
    out = write_template(tmp_path / "new.xlsx", "Sandbox", endpoint_url="http://127.0.0.1:8787", rows=300)
    wb = load_workbook(out)
    assert wb.sheetnames[:2] == ["Opportunities", "Read me"]
    ws = wb.worksheets[0]
    head = {str(c.value): c for c in ws[1]}
    assert "Id" not in head and "Last modified date" not in head  # every row is new
    needs = column_needs()
    for column in creatable_columns():
        cell = head[label_for(column)]
        need = needs.get(column)
        fill = cell.fill.fgColor.rgb[-6:]
        if need is None:
            assert fill not in (REQUIRED_FILL, CONDITIONAL_FILL), column
        else:
            assert fill == (REQUIRED_FILL if need.kind == "required" else CONDITIONAL_FILL), column
            assert cell.comment.text.startswith(need.said)
    ranges = {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert "A2:A301" in ranges and all(r.endswith("301") for r in ranges), ranges
    stage = next(
        dv for dv in ws.data_validations.dataValidation if dv.type == "list" and "Stage" in (dv.promptTitle or "")
    )
    assert stage.formula1.startswith("Lists!")
    text = " ".join(" ".join(str(r[0]) for r in wb["Read me"].iter_rows(values_only=True) if r[0]).split())
    for column, need in needs.items():
        assert f"{label_for(column)}: {need.said}" in text
    assert "opptoolkit push new.xlsx --catalog Sandbox --endpoint-url http://127.0.0.1:8787 --ledger ledger" in text
    empty = ot.read_sheet(out)
    assert len(empty) == 0 and set(empty.columns) == set(creatable_columns())


def test_the_template_prints_the_columns_every_row_needs_readably(tmp_path):
    # all fifty-odd columns fitted to one page's width print too small to read: on paper, the columns every
    # opportunity has and those the push requires, landscape, the header row on each page
    out = write_template(tmp_path / "new.xlsx", "Sandbox", rows=40)
    ws = load_workbook(out).worksheets[0]
    labels = [str(c.value) for c in ws[1]]
    needs = column_needs()
    required = [label_for(c) for c, n in needs.items() if n.kind == "required"]
    area = str(ws.print_area)
    last = area.rsplit(":", 1)[1].lstrip("$")
    columns = column_index_from_string("".join(ch for ch in last if ch.isalpha()))
    assert 8 <= columns <= 20 and columns < len(labels), area
    assert set(required) <= set(labels[:columns]) and label_for(P.STAGE) in labels[:columns]
    assert (
        last.endswith("41")
        and ws.page_setup.orientation == "landscape"
        and ws.print_title_rows.replace("$", "") == "1:1"
    )
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage


def _fill(path, rows: list[dict[str, str]]) -> None:
    """Type rows into the template as a person would: text into the cells under the labels."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    where = {get_schema().path_for_label(str(c.value)): c.column for c in ws[1]}
    for i, row in enumerate(rows, start=2):
        for column, value in row.items():
            ws.cell(i, where[column], value)
    wb.save(path)


def test_a_filled_template_creates_opportunities(sb, tmp_path):
    out = write_template(tmp_path / "new.xlsx", "Sandbox")
    _fill(out, [_new_row(), _new_row(**{"Project.Title": "No website", "Customer.Account.WebsiteUrl": ""})])
    result = ot.push_updates(out, "Sandbox", ledger=tmp_path / "ledger", client=sb.client(), progress=False,
                             writes_per_second=1000)  # fmt: skip
    by_row = result.set_index("row")
    assert by_row.loc["2", "status"] == "created"
    assert by_row.loc["3", "status"] == "invalid" and "WebsiteUrl" in by_row.loc["3", "error_message"]
    created = sb.record("Sandbox", by_row.loc["2", "Id"])
    assert created["Project"]["Title"] == "Data lake for Acme"
    assert created["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "1500"


def test_cli_template(tmp_path, capsys):
    assert main(["template", str(tmp_path / "new.xlsx"), "--catalog", "AWS"]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"Wrote {tmp_path / 'new.xlsx'}, a workbook to create opportunities from: ")
    text = " ".join(str(r[0]) for r in load_workbook(tmp_path / "new.xlsx")["Read me"].iter_rows(values_only=True))
    assert "opptoolkit push new.xlsx --catalog AWS --ledger ledger --dry-run" in text and "endpoint" not in text
    assert main(["template", str(tmp_path / "new.csv"), "--catalog", "AWS"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out new.csv") or "new.csv" in err
    assert len(err.strip().splitlines()) == 1


def test_a_template_is_an_xlsx_and_its_catalog_is_explicit(tmp_path):
    with pytest.raises(ot.OpptoolkitError, match=r"a template is an \.xlsx workbook"):
        write_template(tmp_path / "new.csv", "AWS")
    with pytest.raises(TypeError):
        write_template(tmp_path / "new.xlsx")  # type: ignore[call-arg]  # no default catalog


def test_a_template_filled_and_saved_by_libreoffice_plans_its_creates(tmp_path, resave):
    out = write_template(tmp_path / "new.xlsx", "Sandbox")
    _fill(out, [_new_row()])
    again = resave(out)
    plan = ot.plan_updates(again, "Sandbox")
    assert plan["action"].tolist() == ["create"], plan.to_dict("records")
    head = {str(c.value): c for c in load_workbook(again).worksheets[0][1]}
    assert head[label_for("Customer.Account.CompanyName")].fill.fgColor.rgb[-6:] == REQUIRED_FILL
    assert head[label_for("LifeCycle.ClosedLostReason")].fill.fgColor.rgb[-6:] == CONDITIONAL_FILL
