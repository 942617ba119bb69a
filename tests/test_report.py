"""Pipeline views against hand-computed expectations on a small fixture frame."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit import report
from opptoolkit.exceptions import ReportError

S = "Project.ExpectedCustomerSpend"


@pytest.fixture
def df() -> pd.DataFrame:
    """Six opportunities, two currencies, one with two spend entries, one with none."""
    rows = [
        # Id, stage, status, close, industry, type, spend [(amount, currency)], lost reason, last next-steps time
        ("O1", "Prospect", "Approved", "2027-01-15", "Retail", "Net New Business", [("1000.10", "USD")], None, "2026-11-20"),
        ("O2", "Prospect", "Action Required", "2027-01-20", "Retail", "Expansion", [("500", "EUR"), ("250.5", "EUR")], None, None),
        ("O3", "Qualified", "Approved", "2026-10-01", "Gaming", "Net New Business", [("0.20", "USD")], None, "2026-09-01"),
        ("O4", "Launched", "Approved", "2026-05-01", "Gaming", "Expansion", [("300", "USD")], None, None),
        ("O5", "Closed Lost", "Approved", "2026-04-01", "Retail", "Net New Business", [("99", "GBP")], "Price", None),
        ("O6", "Closed Lost", "Rejected", "2026-03-01", "Gaming", "Net New Business", [], "Price", None),
    ]  # fmt: skip
    recs = []
    for ident, stage, status, close, industry, kind, spend, reason, nxt in rows:
        lc = {"Stage": stage, "ReviewStatus": status, "TargetCloseDate": close}
        if reason:
            lc["ClosedLostReason"] = reason
        if status == "Action Required":
            lc["ReviewComments"] = "Add the website"
        if nxt:
            lc["NextStepsHistory"] = [{"Value": "x", "Time": pd.Timestamp(nxt, tz="UTC").to_pydatetime()}]
        recs.append({
            "Id": ident, "Catalog": "Sandbox", "OpportunityType": kind, "LifeCycle": lc,
            "LastModifiedDate": pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime(),
            "Customer": {"Account": {"CompanyName": f"Co {ident}", "Industry": industry,
                                     "WebsiteUrl": None if ident == "O2" else "https://x.example"}},
            "Project": {"ExpectedCustomerSpend": [{"Amount": a, "CurrencyCode": c, "Frequency": "Monthly",
                                                   "TargetCompany": "AWS"} for a, c in spend]},
        })  # fmt: skip
    for r in recs:
        if r["Customer"]["Account"]["WebsiteUrl"] is None:
            del r["Customer"]["Account"]["WebsiteUrl"]
    return ot.to_frame(recs)


def test_spend_amounts_are_exact_decimals(df):
    s = report.spend_amounts(df)
    assert s["amount"].tolist() == [
        Decimal("1000.10"),
        Decimal("500"),
        Decimal("0.20"),
        Decimal("300"),
        Decimal("99"),
        Decimal("250.5"),
    ]
    assert sum(s["amount"]) == Decimal("2149.80")  # exact, no float drift
    assert s.loc[s["Id"] == "O2", "index"].tolist() == [0, 1]


def test_funnel_never_adds_currencies(df):
    f = report.funnel(df)
    got = {(r.stage, r.currency): (r.opportunities, r.expected_monthly_spend) for r in f.itertuples()}
    assert got == {
        ("Prospect", "EUR"): (1, 750.5),
        ("Prospect", "USD"): (1, 1000.10),
        ("Qualified", "USD"): (1, 0.20),
        ("Launched", "USD"): (1, 300.0),
        ("Closed Lost", "GBP"): (1, 99.0),
        ("Closed Lost", "(none)"): (1, 0.0),
    }
    assert list(dict.fromkeys(f["stage"])) == ["Prospect", "Qualified", "Launched", "Closed Lost"]  # model order


def test_funnel_with_fx_rates(df):
    f = report.funnel(df, fx={"USD": 1, "EUR": 2, "GBP": 3}, to="USD")
    prospect = f[(f["stage"] == "Prospect")]
    assert prospect[["currency", "opportunities", "expected_monthly_spend"]].values.tolist() == [["USD", 2, 2501.10]]
    with pytest.raises(ReportError, match="no FX rate for \\['GBP'\\]"):
        report.funnel(df, fx={"USD": 1, "EUR": 2}, to="USD")
    with pytest.raises(ReportError, match="to="):
        report.funnel(df, fx={"USD": 1, "EUR": 2, "GBP": 3})


def test_by_close_month(df):
    m = report.by_close_month(df)
    jan = m[m["month"] == "2027-01"]
    assert sorted(map(tuple, jan[["stage", "currency", "opportunities", "expected_monthly_spend"]].values.tolist())) == [
        ("Prospect", "EUR", 1, 750.5), ("Prospect", "USD", 1, 1000.1)]  # fmt: skip
    assert set(m["month"]) == {"2026-03", "2026-04", "2026-05", "2026-10", "2027-01"}


def test_review_status_and_needs_action(df):
    r = report.review_status(df)
    assert dict(zip(r["review_status"], r["opportunities"], strict=True)) == {
        "Pending Submission": 0, "Submitted": 0, "In review": 0, "Approved": 4, "Rejected": 1, "Action Required": 1}  # fmt: skip
    a = report.needs_action(df)
    assert a["Id"].tolist() == ["O2"] and a["LifeCycle.ReviewComments"].tolist() == ["Add the website"]


def test_hygiene_names_the_id_and_what_to_fix(df):
    h = report.hygiene(df, today=date(2026, 11, 27), stale_days=30)
    got = {(r.Id, r.issue, r.field) for r in h.itertuples()}
    assert ("O3", "overdue", "LifeCycle.TargetCloseDate") in got  # open stage, date passed
    assert ("O4", "overdue", "LifeCycle.TargetCloseDate") not in got  # launched: not open
    assert ("O3", "stale", "LifeCycle.NextSteps") in got and ("O2", "stale", "LifeCycle.NextSteps") in got
    assert ("O1", "stale", "LifeCycle.NextSteps") not in got  # updated a week ago
    assert ("O2", "missing", "Customer.Account.WebsiteUrl") in got
    assert {i for i, issue, _ in got if issue == "missing"} == {"O2"}


def test_outcomes(df):
    assert report.outcomes(df).to_dict("records") == [
        {"group": "all", "launched": 1, "closed_lost": 2, "win_rate": 1 / 3}
    ]
    by_industry = report.outcomes(df, by="Customer.Account.Industry").set_index("Customer.Account.Industry")
    assert by_industry.loc["Gaming", ["launched", "closed_lost"]].tolist() == [1, 1]
    assert by_industry.loc["Retail", ["launched", "closed_lost"]].tolist() == [0, 1]
    by_type = report.outcomes(df, by="OpportunityType").set_index("OpportunityType")
    assert by_type.loc["Expansion", "win_rate"] == 1.0
    assert report.outcomes(df, by="reason").to_dict("records") == [{"reason": "Price", "closed_lost": 2, "share": 1.0}]


def test_empty_frames_give_empty_views():
    empty = ot.to_frame([])
    assert report.funnel(empty).empty and report.by_close_month(empty).empty and report.hygiene(empty).empty
    assert report.review_status(empty)["opportunities"].sum() == 0
    assert report.outcomes(empty)["launched"].sum() == 0


def test_a_sheet_with_some_columns_says_what_a_view_needs(df, tmp_path):
    ot.write_sheet(df[["Id", "LifeCycle.Stage"]], tmp_path / "slim.csv")
    slim = ot.read_sheet(tmp_path / "slim.csv")
    assert report.funnel(slim)["opportunities"].sum() == 6  # no spend columns: counted under (none)
    with pytest.raises(ReportError, match=re.escape("review_status needs the columns ['LifeCycle.ReviewStatus']")):
        report.review_status(slim)


def test_write_report_html_and_xlsx(df, tmp_path):
    views = report.write_report(df, tmp_path / "r.html", xlsx=tmp_path / "r.xlsx")
    html = (tmp_path / "r.html").read_text()
    assert (
        html.count("<img") == 3
        and "data:image/png;base64," in html
        and "http" not in html.replace("https://x.example", "")
    )
    assert html.count("<table") == sum(1 for v in views.values() if isinstance(v, pd.DataFrame) and not v.empty)
    sheets = pd.read_excel(tmp_path / "r.xlsx", sheet_name=None, engine="openpyxl")
    assert set(sheets) == set(views)
    assert sheets["Funnel"]["opportunities"].sum() == 6


def test_cli_report_of_a_sheet_with_the_analysts_own_columns(df, tmp_path, capsys):
    from opptoolkit.cli import main as cli

    sheet = df.assign(Notes=["call", "", "", "", "", "lost to price"])
    ot.write_sheet(sheet, tmp_path / "pipeline.xlsx", headers="label")
    assert cli(["report", str(tmp_path / "pipeline.xlsx"), "--html", str(tmp_path / "r.html")]) == 0
    assert "report of 6 opportunities" in capsys.readouterr().out
    assert "Prospect" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("given", ["folder", "file"])
def test_cli_report_of_a_mirror_by_its_folder_or_its_file(sb, tmp_path, capsys, given):
    """The mirror's own file holds one JSON record per row: read as a plain Parquet pull it would
    report on four columns; push's --base reads it as the mirror, and so does the report."""
    from opptoolkit.cli import main as cli

    ot.sync_mirror(tmp_path / "m", "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
    path = tmp_path / "m" if given == "folder" else tmp_path / "m" / "opportunities.parquet"
    assert cli(["report", str(path), "--html", str(tmp_path / "r.html")]) == 0
    assert f"report of {len(sb.records('Sandbox'))} opportunities" in capsys.readouterr().out
    assert "Prospect" in (tmp_path / "r.html").read_text()


def test_report_xlsx_neutralises_formula_like_text_as_write_sheet_does(df, tmp_path):
    import openpyxl

    from opptoolkit.sheets import guard_text

    hostile = '=HYPERLINK("http://evil.example","click")'
    df = df.copy()
    df["Customer.Account.CompanyName"] = hostile
    report.write_report(df, None, xlsx=tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")  # formulas as formulas
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # nothing a spreadsheet evaluates
    assert guard_text(hostile) in {c.value for c in cells}  # the company name as write_sheet writes it
