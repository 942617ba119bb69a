"""The triage and leads workbooks at the pipeline workbook's standard (issue #31 item 5, #30's sheets).

Labels as headers, numbers and dates as such, the invitations that can no longer be answered last and grey,
a Read me naming where to push, a did-you-mean for a mistyped value, and an exact round trip through LibreOffice.
"""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.leads import LEADS_SHEET, push_leads, read_leads, write_leads
from opptoolkit.referrals import (
    DECISION,
    TRIAGE_SHEET,
    push_decisions,
    read_invitations,
    read_triage,
    rejection_reasons,
    write_triage,
)
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.schema import label_for
from opptoolkit.sheets._layout import LOCKED_FILL

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


@pytest.fixture
def sb():
    with Sandbox(config=SandboxConfig.fast(), leads=True) as s:
        yield s


def _invitations(sb: Sandbox) -> pd.DataFrame:
    return read_invitations("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)


def _column(ws, header: str) -> list:
    at = [c.value for c in ws[1]].index(header) + 1
    return [ws.cell(r, at) for r in range(2, ws.max_row + 1)]


def _grey(cell) -> bool:
    """A cell shaded grey, by its own style or, blank, by its row's (a row locked as a whole is shaded so)."""
    if str(cell.fill.fgColor.rgb).endswith(LOCKED_FILL):
        return True
    row = cell.parent.row_dimensions[cell.row]
    return cell.value is None and not cell.has_style and str(row.fill.fgColor.rgb).endswith(LOCKED_FILL)


def test_the_triage_is_headed_by_labels_and_reads_back_under_the_frames_columns(sb, tmp_path):
    inv = _invitations(sb)
    path = write_triage(inv, tmp_path / "triage.xlsx")
    ws = openpyxl.load_workbook(path)[TRIAGE_SHEET]
    head = [c.value for c in ws[1]]
    assert "Customer company name" in head and "Lead customer company name" in head
    assert not [h for h in head if "." in h]  # no API path
    back = read_triage(path)
    assert set(back.columns) <= set(inv.columns) and len(back.columns) == len(head)
    back = back.set_index("Id")
    want = inv.set_index("Id")
    target = "Payload.OpportunityInvitation.Project.TargetCompletionDate"
    assert back[target].fillna("").to_dict() == want[target].fillna("").to_dict()
    assert back["ExpirationDate"].to_dict() == want["ExpirationDate"].to_dict()


def test_the_triage_has_date_cells_numbers_and_readable_times(sb, tmp_path):
    """As the pipeline workbook's cells (the layout's typed cells): a date, an amount and the days to expiry
    sort, filter and add up in a spreadsheet program, and read back exactly."""
    inv = _invitations(sb)
    path = write_triage(inv, tmp_path / "triage.xlsx")
    ws = openpyxl.load_workbook(path)[TRIAGE_SHEET]
    # the date the model types as YYYY-MM-DD is a date cell
    dates = [c for c in _column(ws, "Project target completion date") if c.value is not None]
    assert dates and all(isinstance(c.value, (date, datetime)) for c in dates) and dates[0].is_date
    # the days to expiry are numbers, negative once past; the expected spend too
    days = [c.value for c in _column(ws, "Days to expiry")]
    assert all(isinstance(v, (int, float)) for v in days) and min(days) < 0
    spend = [c.value for c in _column(ws, "Expected spend 1 amount") if c.value is not None]
    assert spend and all(isinstance(v, (int, float)) for v in spend)
    # the expiry time readable, in UTC
    assert all(str(c.value).endswith(" UTC") for c in _column(ws, "Expiration date"))
    back = read_triage(path).set_index("Id")
    want = inv.set_index("Id")
    for column in (
        "Payload.OpportunityInvitation.Project.TargetCompletionDate",
        "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].Amount",
    ):
        assert back[column].fillna("").to_dict() == want[column].fillna("").to_dict(), column
    assert back["ExpirationDate"].to_dict() == want["ExpirationDate"].to_dict()


def test_a_message_longer_than_its_column_wraps_in_a_row_tall_enough_not_cut_at_the_next_column(sb, tmp_path):
    inv = _invitations(sb)
    leads = read_leads(ot.connect("Sandbox", endpoint_url=sb.endpoint_url, **FAST))
    for path, sheet in ((write_triage(inv, tmp_path / "triage.xlsx"), TRIAGE_SHEET),
                        (write_leads(leads, tmp_path / "leads.xlsx"), LEADS_SHEET)):  # fmt: skip
        ws = openpyxl.load_workbook(path)[sheet]
        cells = _column(ws, label_for("InvitationMessage"))
        letter = cells[0].column_letter
        wide = ws.column_dimensions[letter].width
        long = [c for c in cells if isinstance(c.value, str) and len(c.value) > wide - 2]
        assert long, "the sandbox's messages are longer than a column is wide"
        for c in long:
            assert c.alignment.wrap_text, (sheet, c.coordinate)
            row = ws.row_dimensions[c.row]
            assert row.customHeight and row.ht >= 15 * -(-len(c.value) // (int(wide) - 2))
        short = [c for c in cells if isinstance(c.value, str) and len(c.value) < wide - 2]
        assert all(not ws.row_dimensions[c.row].customHeight for c in short)


def test_expired_invitations_come_last_and_grey_in_the_triage_and_the_leads(sb, tmp_path):
    inv = _invitations(sb)  # soonest expiry first: the expired first
    ws = openpyxl.load_workbook(write_triage(inv, tmp_path / "triage.xlsx"))[TRIAGE_SHEET]
    status = [c.value for c in _column(ws, "Status")]
    expired = [i for i, s in enumerate(status) if s == "EXPIRED"]
    assert expired and expired == list(range(len(status) - len(expired), len(status)))  # last
    open_ = [i for i, s in enumerate(status) if s == "PENDING"]
    assert open_ == list(range(len(open_)))  # those that can be answered first
    ids = _column(ws, "Id")
    assert all(_grey(ids[i]) for i in expired)  # every cell of the row grey
    decision = _column(ws, "Decision")
    assert not any(_grey(decision[i]) for i in open_) and all(_grey(decision[i]) for i in expired)
    # the leads: the expired one last and grey, its Decision cell too
    leads = read_leads("Sandbox", client=sb.client(), **FAST)
    lws = openpyxl.load_workbook(write_leads(leads, tmp_path / "leads.xlsx"))[LEADS_SHEET]
    statuses = [c.value for c in _column(lws, "Invitation status")]
    assert statuses[-1] == "EXPIRED" and "EXPIRED" not in statuses[:-1]
    lead_decision = _column(lws, "Decision")
    assert _grey(lead_decision[-1]) and not _grey(lead_decision[0])


def test_a_misspelled_rejection_reason_gets_a_did_you_mean_naming_the_row_and_the_label(sb, tmp_path):
    inv = _invitations(sb)
    path = write_triage(inv, tmp_path / "triage.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[TRIAGE_SHEET]
    status = [c.value for c in _column(ws, "Status")]
    rows = [i + 2 for i, s in enumerate(status) if s == "PENDING"]
    head = [c.value for c in ws[1]]
    decision, reason = head.index("Decision") + 1, head.index("Rejection reason") + 1
    ws.cell(rows[0], decision).value = "reject"
    ws.cell(rows[0], reason).value = "Customer problem unclaer"
    ws.cell(rows[1], decision).value = "Reject"
    ws.cell(rows[1], reason).value = "next steps UNCLEAR"  # spelling aside, a documented reason
    ws.cell(rows[2], decision).value = "acept"
    wb.save(path)
    res = push_decisions(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    by_row = res.set_index("row")
    bad = by_row.loc[str(rows[0])]
    assert (bad["status"], bad["error_code"]) == ("invalid", "INVALID_VALUE")
    assert bad["error_message"].startswith("Rejection reason: INVALID_VALUE: 'Customer problem unclaer' is not")
    assert bad["error_message"].endswith("did you mean 'Customer problem unclear'?")
    assert by_row.loc[str(rows[1]), "status"] == "succeeded"
    assert "RejectionReason" not in bad["error_message"]  # the field by its label, as the sheet's header
    typo = by_row.loc[str(rows[2])]
    assert typo["status"] == "invalid" and typo["error_message"].endswith("did you mean 'accept'?")
    assert sb.service.calls["RejectEngagementInvitation"] == 1 and "Next steps unclear" in rejection_reasons()


def test_each_workbooks_read_me_names_the_catalog_and_endpoint_it_came_from(sb, tmp_path, capsys, monkeypatch):
    where = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
    push = f"opptoolkit push {{}} --catalog Sandbox --endpoint-url {sb.endpoint_url}"
    for verb, name, sheet in (("referrals", "triage.xlsx", TRIAGE_SHEET), ("leads", "leads.xlsx", LEADS_SHEET)):
        out = tmp_path / name
        assert main([verb, *where, "--out", str(out)]) == 0
        wb = openpyxl.load_workbook(out)
        assert wb.sheetnames[:2] == [sheet, "Read me"]
        lines = [str(r[0]).strip() for r in wb["Read me"].iter_rows(values_only=True) if r and r[0]]
        assert [x for x in lines if x.startswith("opptoolkit push")] == [
            f"{push.format(name)} --dry-run",
            push.format(name),
        ]
    assert push.format("leads.xlsx") in capsys.readouterr().out  # the CLI's own line says the same
    # the command does what it says (run where the workbooks are): a dry run of each, nothing decided
    monkeypatch.chdir(tmp_path)
    for name in ("triage.xlsx", "leads.xlsx"):
        assert main([*push.format(name).split()[1:], "--dry-run"]) == 0


def test_a_libreoffice_resave_of_the_triage_and_the_leads_pushes_only_the_edit(sb, tmp_path, resave):
    inv = _invitations(sb)
    saved = resave(write_triage(inv, tmp_path / "triage.xlsx"))
    back = read_triage(saved)
    assert sorted(back["Id"]) == sorted(inv["Id"]) and back[DECISION].isna().all()
    assert back.set_index("Id").loc[inv["Id"], "ExpirationDate"].tolist() == inv["ExpirationDate"].tolist()
    untouched = push_decisions(saved, "Sandbox", ledger=tmp_path / "t", endpoint_url=sb.endpoint_url, **FAST)
    assert untouched.empty
    wb = openpyxl.load_workbook(saved)
    ws = wb[TRIAGE_SHEET]
    row = [c.value for c in _column(ws, "Status")].index("PENDING") + 2
    ws.cell(row, 1).value = "accept"
    wb.save(saved)
    res = push_decisions(saved, "Sandbox", ledger=tmp_path / "t", endpoint_url=sb.endpoint_url, **FAST)
    assert res["row"].tolist() == [str(row)] and res["status"].tolist() == ["succeeded"]
    # the leads: a re-save changes no lead, an edit after it is the one step sent
    conn = ot.connect("Sandbox", endpoint_url=sb.endpoint_url, **FAST)
    leads = read_leads(conn)
    sb.client().accept_engagement_invitation(Catalog="Sandbox", Identifier=leads.loc[0, "InvitationId"])
    leads = read_leads(conn)
    lsaved = resave(write_leads(leads, tmp_path / "leads.xlsx"))
    untouched = push_leads(lsaved, conn, ledger=tmp_path / "l", dry_run=True)
    assert untouched.empty or set(untouched["status"]) <= {"skipped"}
    accepted = int(leads.index[leads["ContextId"].notna()][0]) + 2
    wb = openpyxl.load_workbook(lsaved)
    ws = wb[LEADS_SHEET]
    head = [c.value for c in ws[1]]
    ws.cell(accepted, head.index(label_for("Customer.WebsiteUrl")) + 1).value = "https://example.com/new"
    wb.save(lsaved)
    res = push_leads(lsaved, conn, ledger=tmp_path / "l")
    assert res["operation"].tolist() == ["UpdateEngagementContext"] and res["status"].tolist() == ["succeeded"]
    assert res["changed_fields"].tolist() == [["Customer.WebsiteUrl"]]


def test_an_older_triage_with_paths_as_headers_still_reads(sb, tmp_path):
    inv = _invitations(sb)
    path = write_triage(inv, tmp_path / "triage.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb[TRIAGE_SHEET]
    columns = read_triage(path).columns
    for cell, column in zip(ws[1], columns, strict=True):
        cell.value = column  # the headers as the triage had them before labels
    wb.save(path)
    assert list(read_triage(path).columns) == list(columns)


def test_the_triage_labels_are_unique_and_read_back_to_their_columns():
    from opptoolkit.referrals import _triage_columns

    columns, labels = _triage_columns()
    assert len({x.casefold() for x in labels}) == len(labels)
    assert len(columns) == len(set(columns))
