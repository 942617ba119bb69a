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


ROWS = [
    # Id, stage, status, close, industry, type, spend [(amount, currency)], lost reason, last next-steps time
    ("O1", "Prospect", "Approved", "2027-01-15", "Retail", "Net New Business", [("1000.10", "USD")], None, "2026-11-20"),
    ("O2", "Prospect", "Action Required", "2027-01-20", "Retail", "Expansion", [("500", "EUR"), ("250.5", "EUR")], None, None),
    ("O3", "Qualified", "Approved", "2026-10-01", "Gaming", "Net New Business", [("0.20", "USD")], None, "2026-09-01"),
    ("O4", "Launched", "Approved", "2026-05-01", "Gaming", "Expansion", [("300", "USD")], None, None),
    ("O5", "Closed Lost", "Approved", "2026-04-01", "Retail", "Net New Business", [("99", "GBP")], "Price", None),
    ("O6", "Closed Lost", "Rejected", "2026-03-01", "Gaming", "Net New Business", [], "Price", None),
]  # fmt: skip
TODAY = date(2026, 11, 27)


def pipeline(rows=ROWS) -> pd.DataFrame:
    """A frame of the opportunities in ``rows`` (the shape of ROWS), each owned by a team member."""
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
            "Project": {"Title": f"Project {ident}",
                        "ExpectedCustomerSpend": [{"Amount": a, "CurrencyCode": c, "Frequency": "Monthly",
                                                   "TargetCompany": "AWS"} for a, c in spend]},
            "OpportunityTeam": [{"FirstName": "Ana", "LastName": f"Owner{ident[1:]}", "Email": "a@p.example"}],
        })  # fmt: skip
    for r in recs:
        if r["Customer"]["Account"]["WebsiteUrl"] is None:
            del r["Customer"]["Account"]["WebsiteUrl"]
    return ot.to_frame(recs)


def later() -> pd.DataFrame:
    """The pipeline of ROWS a week on: O1 moved to Committed at twice the spend, O2 won, O3's close
    date slipped (no longer overdue), O7 is new."""
    rows = {r[0]: list(r) for r in ROWS}
    rows["O1"][1], rows["O1"][6] = "Committed", [("2000.00", "USD")]
    rows["O2"][1] = "Launched"
    rows["O3"][3] = "2027-03-01"
    rows["O7"] = ["O7", "Prospect", "Pending Submission", "2027-02-01", "Retail", "Net New Business",
                  [("50", "USD")], None, "2026-11-25"]  # fmt: skip
    return pipeline([tuple(r) for r in rows.values()])


@pytest.fixture
def df() -> pd.DataFrame:
    """Six opportunities, two currencies, one with two spend entries, one with none."""
    return pipeline()


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


def test_the_report_of_one_opportunity_says_one(df, tmp_path):
    report.write_report(df.head(1), tmp_path / "r.html", today=TODAY)
    assert "1 opportunity as of" in (tmp_path / "r.html").read_text()


def test_write_report_html_and_xlsx(df, tmp_path):
    views = report.write_report(df, tmp_path / "r.html", xlsx=tmp_path / "r.xlsx", today=TODAY)
    html = (tmp_path / "r.html").read_text()
    assert (
        html.count("<img") == 3
        and "data:image/png;base64," in html
        and "http" not in html.replace("https://x.example", "")
    )
    # every view a table, except the headline (cards), the lost reasons (the chart) and what is empty
    tables = [n for n, v in views.items() if isinstance(v, pd.DataFrame) and not v.empty]
    assert html.count("<table") == len([n for n in tables if n not in ("Headline", "Lost reasons")])
    sheets = pd.read_excel(tmp_path / "r.xlsx", sheet_name=None, engine="openpyxl")
    assert set(sheets) == set(views)
    by_stage = sheets["Pipeline by stage"].set_index("Stage")
    assert by_stage["Opportunities"].drop("Open pipeline (all open stages)").sum() == 6
    assert by_stage.loc["Open pipeline (all open stages)", "Opportunities"] == 3
    assert by_stage.loc["Prospect", "Monthly AWS spend (EUR)"] == 750.5


def test_headline_figures_by_hand(df):
    """Open: O1, O2 (Prospect), O3 (Qualified); O4 launched; O5, O6 lost. On 2026-11-27 O3's
    close date has passed, O2 is in Action Required, O2 (no next step) and O3 (September) are stale."""
    h = report.headline(df, today=TODAY)
    got = {(r.figure, r.unit): r.value for r in h.itertuples()}
    assert got[("Open opportunities", "count")] == 3
    assert got[("Open pipeline, monthly AWS spend", "USD")] == pytest.approx(1000.30)
    assert got[("Open pipeline, monthly AWS spend", "EUR")] == pytest.approx(750.5)
    assert ("Open pipeline, monthly AWS spend", "GBP") not in got  # O5's GBP is closed lost: not pipeline
    assert got[("Average open deal, monthly AWS spend", "USD")] == pytest.approx(500.15)
    assert got[("Win rate", "percent")] == pytest.approx(1 / 3)
    assert got[("Launched", "count")] == 1 and got[("Closed Lost", "count")] == 2
    assert got[("Overdue close dates", "count")] == 1
    assert got[("Action Required", "count")] == 1
    assert got[("Stale next steps", "count")] == 2
    assert got[("Records needing action", "count")] == 2
    assert h["previous"].isna().all() and h["change"].isna().all()  # nothing to compare with


def test_headline_against_an_earlier_snapshot(df):
    h = report.headline(later(), since=df, today=TODAY).set_index(["figure", "unit"])
    assert h.loc[("Open opportunities", "count"), ["value", "previous", "change"]].tolist() == [3, 3, 0]
    assert h.loc[("Launched", "count"), ["value", "previous", "change"]].tolist() == [2, 1, 1]
    assert h.loc[("Win rate", "percent"), "value"] == pytest.approx(0.5)
    assert h.loc[("Win rate", "percent"), "previous"] == pytest.approx(1 / 3)
    assert h.loc[("Overdue close dates", "count"), ["value", "previous"]].tolist() == [0, 1]
    usd = h.loc[("Open pipeline, monthly AWS spend", "USD")]
    assert usd["value"] == pytest.approx(2050.20) and usd["previous"] == pytest.approx(1000.30)
    eur = h.loc[("Open pipeline, monthly AWS spend", "EUR")]  # O2 won: EUR is gone from the pipeline, shown at 0
    assert eur["value"] == 0 and eur["previous"] == pytest.approx(750.5)


def test_what_moved_between_two_snapshots(df):
    m = report.moved(df, later())
    got = [(r.change, r.Id, r._3, r.to) for r in m.itertuples()]  # _3: "from"
    assert got == [
        ("New", "O7", "", "Prospect"),
        ("Won", "O2", "Prospect", "Launched"),
        ("Stage changed", "O1", "Prospect", "Committed"),
        ("Close date slipped", "O3", "2026-10-01", "2027-03-01"),
        ("Value changed", "O1", "USD 1,000.10", "USD 2,000.00"),
    ]
    row = m[m["Id"] == "O1"].iloc[0]
    assert (row["Customer.Account.CompanyName"], row["Project.Title"], row["owner"]) == (
        "Co O1",
        "Project O1",
        "Ana Owner1",
    )
    assert report.moved(df, df).empty


def test_self_contract_value_is_not_added_to_aws_spend(df):
    df = df.copy()
    base = "Project.ExpectedCustomerSpend[2]."
    for k, v in {"Amount": "120000", "CurrencyCode": "USD", "Frequency": "None", "TargetCompany": "Self"}.items():
        df[base + k] = [v if i == "O1" else None for i in df["Id"]]
    got = {(r.figure, r.unit): r.value for r in report.headline(df, today=TODAY).itertuples()}
    assert got[("Open pipeline, monthly AWS spend", "USD")] == pytest.approx(1000.30)
    assert got[("Open pipeline, partner total contract value (Self)", "USD")] == 120000
    assert (
        report.funnel(df).query("stage == 'Prospect' and currency == 'USD'")["expected_monthly_spend"].item() == 1000.10
    )


def test_one_currency_with_fx_rates_from_a_file(df, tmp_path):
    (tmp_path / "fx.csv").write_text("currency,rate\nEUR,2\nGBP,3\n")
    views = report.write_report(df, None, fx=tmp_path / "fx.csv", to="usd", today=TODAY)
    h = views["Headline"]
    assert set(h["unit"]) - {"count", "percent"} == {"USD"}
    assert h.set_index(["figure", "unit"]).loc[("Open pipeline, monthly AWS spend", "USD"), "value"] == pytest.approx(
        1000.30 + 2 * 750.5
    )
    with pytest.raises(ReportError, match="to="):
        report.write_report(df, None, fx={"EUR": 2})
    with pytest.raises(ReportError, match="not a number"):
        report.read_fx({"EUR": "two"})


def test_the_page_speaks_to_people(df, tmp_path):
    """Human headers (never a dotted path), numbers right-aligned with separators, percents as
    percents, at most 20 rows before a "show all", and a contents list."""
    many = pipeline([(f"O{i:03d}", "Prospect", "Approved", "2026-01-01", "Retail", "Expansion",
                      [("12345.5", "USD")], None, None) for i in range(45)])  # fmt: skip
    report.write_report(pd.concat([df, many], ignore_index=True), tmp_path / "r.html", today=TODAY)
    page = (tmp_path / "r.html").read_text()
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", page)
    assert headers and not [h for h in headers if re.search(r"\w\.\w|\[\d+\]|_", h)]
    assert "Customer company" in headers and "Win rate" in headers
    assert "<td class='num'>12,345.50</td>" in page and "0.333" not in page
    assert re.search(r"<td class='num'>\d+\.\d%</td>", page)
    assert "Show all 47 rows" in page  # needs action: the 45 overdue, O2 and O3
    assert page.count("<nav>") == 1 and "href='#what-moved'" in page


def test_the_page_names_no_code_and_says_why_a_view_is_not_shown(df, tmp_path):
    """No keyword argument, option or function name on the page (issue #31): the reader is an analyst."""
    slim = df.drop(columns=["LifeCycle.ReviewStatus"])
    report.write_report(slim, tmp_path / "r.html", today=TODAY, invitations=None, ledger=tmp_path / "no-ledger")
    page = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", (tmp_path / "r.html").read_text(), flags=re.S)
    for code in ("fx=", "to=", "--fx", "--currency", "since=", "as_of", "read_mirror", "invitations=", "ledger=",
                 "--referrals", "--ledger", "needs the columns", "LifeCycle."):  # fmt: skip
        assert code not in page, code
    assert "Money is shown per currency" in page and "No earlier snapshot to compare with" in page
    assert "Not shown: this needs the Review status column" in page


def test_cli_report_of_a_sheet_with_the_analysts_own_columns(df, tmp_path, capsys):
    from opptoolkit.cli import main as cli

    sheet = df.assign(Notes=["call", "", "", "", "", "lost to price"])
    ot.write_sheet(sheet, tmp_path / "pipeline.xlsx", headers="label")
    assert cli(["report", str(tmp_path / "pipeline.xlsx"), "--html", str(tmp_path / "r.html")]) == 0
    assert "Wrote the report of 6 opportunities" in capsys.readouterr().out
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


def test_report_xlsx_writes_a_control_character_as_write_sheet_does(df, tmp_path):
    """A text holding a control character (a pasted tab-less CRM export) is written as OOXML's escape and
    read back as it was, as write_sheet does, instead of the report stopping on openpyxl's refusal."""
    df = df.copy()
    df["Customer.Account.CompanyName"] = "Acme\x01Corp"
    report.write_report(df, None, xlsx=tmp_path / "r.xlsx", today=TODAY)
    sheets = pd.read_excel(tmp_path / "r.xlsx", sheet_name=None, engine="calamine", dtype=str)
    assert "Acme\x01Corp" in {v for sheet in sheets.values() for v in sheet.to_numpy().ravel().tolist()}


def test_report_xlsx_is_formatted_for_people(df, tmp_path):
    import openpyxl

    report.write_report(later(), None, xlsx=tmp_path / "r.xlsx", since=df, today=TODAY)
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        headers = [c.value for c in ws[1]]
        assert all(c.font.bold for c in ws[1])
        assert not [h for h in headers if re.search(r"\w\.\w|\[\d+\]", str(h))], ws.title
    moved = wb["What moved"]
    headers = [c.value for c in moved[1]]
    close = moved.cell(row=2, column=headers.index("Target close date") + 1)
    assert close.is_date and close.number_format == "yyyy-mm-dd"
    money = moved.cell(row=2, column=headers.index("Monthly AWS spend") + 1)
    assert money.value == 50 and money.number_format == "#,##0.00"
    assert moved.column_dimensions["E"].width >= len("Customer company")
    head = wb["Headline"]
    rows = {(r[0].value, r[1].value): r for r in head.iter_rows(min_row=2)}
    assert rows[("Win rate", "percent")][2].number_format == "0.0%"
    assert rows[("Open opportunities", "count")][2].number_format == "#,##0"


def test_a_report_named_xlsx_is_the_workbook_not_a_page_under_that_name(df, tmp_path):
    import openpyxl

    report.write_report(df, tmp_path / "r.xlsx", today=TODAY)
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "Headline"
    assert not list(tmp_path.glob("*.html"))
    with pytest.raises(ot.ReportError, match="workbook name"):
        report.write_report(df, tmp_path / "a.xlsx", xlsx=tmp_path / "b.xlsx", today=TODAY)


def test_report_xlsx_keeps_its_formats_after_a_libreoffice_save(df, tmp_path, resave):
    import openpyxl

    report.write_report(later(), None, xlsx=tmp_path / "r.xlsx", since=df, today=TODAY)
    wb = openpyxl.load_workbook(resave(tmp_path / "r.xlsx"))
    head = wb["Headline"]
    rows = {(r[0].value, r[1].value): r for r in head.iter_rows(min_row=2)}
    assert rows[("Win rate", "percent")][2].number_format in ("0.0%", "0.0 %")
    moved = wb["What moved"]
    headers = [c.value for c in moved[1]]
    assert "Target close date" in headers and all(c.font.bold for c in moved[1])
    assert moved.cell(row=2, column=headers.index("Target close date") + 1).is_date
    assert not [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_cli_report_of_a_mirror_compares_with_the_sync_before(sb, tmp_path, capsys):
    from opptoolkit.cli import main as cli

    def sync():
        ot.sync_mirror(tmp_path / "m", "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)

    sync()
    ident = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["Stage"] == "Qualified")
    sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(Stage="Committed"))
    sync()
    out = tmp_path / "r.html"
    assert cli(["report", str(tmp_path / "m"), "--html", str(out), "--fx", "EUR=1.1", "--currency", "USD"]) == 0
    assert "compared with" in capsys.readouterr().out
    page = out.read_text()
    assert "1 stage changed" in page and ident in page and "Money in USD at the rates given (EUR 1.1)" in page
    day = ot.snapshots(tmp_path / "m")[0].date().isoformat()
    assert cli(["report", str(tmp_path / "m"), "--html", str(out), "--since", day]) == 0
    assert "nothing changed" in out.read_text()  # a day means its end: its last sync is the latest
    assert cli(["report", str(tmp_path / "m"), "--html", str(out), "--since", "2001-01-01"]) != 0
    assert "no sync at or before 2001-01-01" in capsys.readouterr().err


# -- is AWS seeing your updates? (engagements.snapshot_health in the report) ------------------------------------


def shared_health(stopped: bool = True):
    """A sandbox's snapshot health: three opportunities submitted, then one's sharing stopped, one failing, each
    changed after; and the pipeline they are in. Returns (health, pipeline, ids)."""
    from opptoolkit.connection import connect
    from opptoolkit.engagements import snapshot_health
    from opptoolkit.rules import submission_problems
    from opptoolkit.sandbox import Sandbox, SandboxConfig

    with Sandbox(config=SandboxConfig.fast()) as sb:
        client = sb.client()
        ids = sorted(
            r["Id"] for r in sb.records("Sandbox")
            if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and not submission_problems(r)
        )[:3]  # fmt: skip
        jobs = [
            client.start_engagement_from_opportunity_task(
                Catalog="Sandbox", Identifier=i, ClientToken=f"t-{i}", AwsSubmission={"InvolvementType": "Co-Sell"}
            )["ResourceSnapshotJobId"]
            for i in ids
        ]
        sb.set_snapshot_job("Sandbox", jobs[1], status="Stopped")
        sb.set_snapshot_job("Sandbox", jobs[2], failure="Access denied assuming the role.")
        for i in ids[1:]:
            sb.edit("Sandbox", i, lambda r: r["LifeCycle"].update(NextSteps="Send the proposal"))
        df = ot.read_opportunities("Sandbox", client=client, identifiers=ids, progress=False, reads_per_second=1000)
        health = snapshot_health(connect("Sandbox", client=client, reads_per_second=1000), opportunities=df)
    return health, df, ids


#: What the report must never show an analyst: the API's operation and member names, the frame's codes.
CODE_NAMES = re.compile(r"ResourceSnapshot|SellingSystem|RoleIdentifier|[A-Z][a-z]+[A-Z]\w*\(|\bno_(role|job)\b")


def test_the_sharing_view_says_in_words_what_aws_is_not_seeing_in_the_sandbox():
    health, df, (_, stopped, failing) = shared_health()
    view = report.not_seen_by_aws(health, df)
    assert view[["Id", "issue"]].values.tolist() == [[stopped, "Sharing is stopped"], [failing, "Sharing fails"]]
    by_id = df.set_index("Id")
    assert view["customer"].tolist() == [by_id.loc[stopped, "Customer.Account.CompanyName"],
                                         by_id.loc[failing, "Customer.Account.CompanyName"]]  # fmt: skip
    assert view["Project.Title"].tolist() == [by_id.loc[stopped, "Project.Title"], by_id.loc[failing, "Project.Title"]]
    assert "ask your administrator to start it again" in view.loc[0, "todo"]
    assert "(AWS said: Access denied assuming the role)" in view.loc[1, "todo"]
    assert (view["LastModifiedDate"] > view["aws_saw"]).all()
    assert not set(view["issue"]) & set(health["problem"])  # the reason in words, never its code
    texts = " ".join(str(v) for v in view.astype(str).to_numpy().ravel())
    assert not CODE_NAMES.search(texts), CODE_NAMES.search(texts)


def test_the_sharing_view_flags_a_missing_role_in_the_sandbox():
    from opptoolkit.connection import connect
    from opptoolkit.engagements import snapshot_health
    from opptoolkit.sandbox import Sandbox, SandboxConfig

    # multi-partner page: "Without the role, engagement partners won't see your updates"
    with Sandbox(config=SandboxConfig.fast(snapshot_job_role=None)) as sb:
        client = sb.client()
        client.start_engagement_from_opportunity_task(
            Catalog="Sandbox", Identifier="O7000000014", ClientToken="t", AwsSubmission={"InvolvementType": "Co-Sell"}
        )
        health = snapshot_health(connect("Sandbox", client=client, reads_per_second=1000))
    view = report.not_seen_by_aws(health)
    assert view[["Id", "issue"]].values.tolist() == [["O7000000014", "No role lets your changes be shared"]]
    assert view.loc[0, "todo"].startswith("Ask your Partner Central administrator to set the role")
    assert not CODE_NAMES.search(view.loc[0, "todo"])


def test_the_report_has_the_sharing_section_only_when_given_the_health(tmp_path):
    health, df, _ = shared_health()
    views = ot.write_report(df, tmp_path / "r.html", xlsx=tmp_path / "r.xlsx", snapshots=health, today=TODAY)
    assert len(views["Not seen by AWS"]) == 2
    page = (tmp_path / "r.html").read_text()
    assert "Is AWS seeing your updates?" in page and "AWS does not see the latest change of 2 shared" in page
    import openpyxl

    assert "Not seen by AWS" in openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames
    assert "Not seen by AWS" not in ot.write_report(df, None, xlsx=tmp_path / "s.xlsx", today=TODAY)
    all_seen = health.assign(aws_sees_latest=True, problem="")
    ot.write_report(df, tmp_path / "seen.html", snapshots=all_seen, today=TODAY)
    assert "AWS sees the latest change of every one" in (tmp_path / "seen.html").read_text()


def test_the_cli_keeps_the_snapshot_health_for_the_report(tmp_path, capsys):
    from opptoolkit.cli import main
    from opptoolkit.sandbox import Sandbox, SandboxConfig

    with Sandbox(config=SandboxConfig.fast()) as sb:
        task = sb.client().start_engagement_from_opportunity_task(
            Catalog="Sandbox", Identifier="O7000000014", ClientToken="t", AwsSubmission={"InvolvementType": "Co-Sell"}
        )
        sb.set_snapshot_job("Sandbox", task["ResourceSnapshotJobId"], status="Stopped")
        sb.edit("Sandbox", "O7000000014", lambda r: r["LifeCycle"].update(NextSteps="Call the CTO"))
        aws = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
        assert main(["snapshots", *aws, "--out", str(tmp_path / "health.csv")]) == 2  # refused before any call
        assert "name a .parquet file" in capsys.readouterr().err
        assert main(["snapshots", *aws, "--out", str(tmp_path / "health.parquet")]) == 1  # AWS is not seeing one
        assert main(["pull", *aws, "--out", str(tmp_path / "pipeline.parquet")]) == 0
    html = tmp_path / "report.html"
    args = [
        "report",
        str(tmp_path / "pipeline.parquet"),
        "--html",
        str(html),
        "--snapshots",
        str(tmp_path / "health.parquet"),
    ]
    assert main(args) == 0
    page = html.read_text()
    assert "Is AWS seeing your updates?" in page and "Sharing is stopped" in page and "O7000000014" in page
