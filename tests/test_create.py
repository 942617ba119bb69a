"""Rows without an Id are created (CreateOpportunity), exactly once, through a real boto3 client over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import boto3
import openpyxl
import pandas as pd
import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.sandbox import Sandbox, SandboxConfig

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


def new_rows(n: int, prefix: str = "New") -> pd.DataFrame:
    """``n`` new opportunities as an analyst types them into a sheet: no Id, a handful of columns."""
    return pd.DataFrame(
        {
            "Id": [None] * n,
            "Project.Title": [f"{prefix} {i}" for i in range(n)],
            "Customer.Account.CompanyName": [f"Company {i}" for i in range(n)],
            "Customer.Account.WebsiteUrl": ["https://example.com"] * n,
            "LifeCycle.Stage": ["Prospect"] * n,
            "LifeCycle.TargetCloseDate": ["2031-06-30"] * n,
            "Project.CustomerBusinessProblem": ["The customer needs to move its data warehouse to AWS"] * n,
        }
    )


def titled(sb, prefix: str) -> dict[str, int]:
    """How many records of the sandbox have each title starting with ``prefix``."""
    out: dict[str, int] = {}
    for r in sb.records("Sandbox"):
        t = r.get("Project", {}).get("Title", "")
        if t.startswith(prefix):
            out[t] = out.get(t, 0) + 1
    return out


def test_rows_without_an_id_are_planned_as_create_and_numbered_as_the_sheet_numbers_them(sb, tmp_path):
    rows = new_rows(3)
    rows.loc[1, "LifeCycle.Stage"] = "Committed"  # a new record has no solution: AWS refuses Committed
    path = ot.write_sheet(rows, tmp_path / "new.xlsx", headers="path")
    plan = ot.plan_updates(path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    assert plan["row"].tolist() == ["2", "3", "4"]
    assert plan["action"].tolist() == ["create", "invalid", "create"]
    assert any("needs an associated solution" in e for e in plan.loc[1, "errors"])
    assert "Project.Title: (blank) → 'New 0'" in plan.loc[0, "changes"]
    assert sb.service.calls == {}  # a plan of new rows reads nothing and sends nothing


def test_a_push_creates_each_new_row_once_and_a_rerun_sends_nothing(sb, tmp_path):
    rows = new_rows(3)
    before = sb.service.store.count()
    first = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert first["status"].tolist() == ["created"] * 3
    assert first["Id"].str.fullmatch(r"O\d+").all()
    assert first["writes"].tolist() == [1, 1, 1]
    assert first.attrs["calls"] == {"CreateOpportunity": 3}
    for ident, title in zip(first["Id"], rows["Project.Title"], strict=True):
        rec = sb.record("Sandbox", ident)
        assert rec["Project"]["Title"] == title
        assert rec["LifeCycle"]["ReviewStatus"] == "Pending Submission"  # API reference: what create sets
        assert pd.Timestamp(rec["LastModifiedDate"]) == first.set_index("Id").loc[ident, "last_modified_after"]
    book = ot.read_ledger(tmp_path / "l")
    done = book[book["status"] == "created"]
    assert set(done["operation"]) == {"CreateOpportunity"}
    assert done["Id"].tolist() == first["Id"].tolist()
    assert done["last_modified_after"].notna().all()
    again = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert again["status"].tolist() == ["skipped"] * 3
    assert again["Id"].tolist() == first["Id"].tolist()  # the ledger names what the first run created
    assert again.attrs["calls"] == {}
    assert sb.service.store.count() == before + 3


def test_dry_run_plans_creates_without_sending(sb, tmp_path):
    result = ot.push_updates(
        new_rows(2), "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, dry_run=True, **FAST
    )
    assert result["status"].tolist() == ["create", "create"]
    assert sb.service.calls == {}
    assert ot.read_ledger(tmp_path / "l").empty


def test_creates_count_against_the_daily_write_budget(sb, tmp_path):
    rows = new_rows(3, "Budget")
    first = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", daily_write_budget=2,
                            endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert first["status"].tolist() == ["created", "created", "deferred"]
    assert first["reason"].tolist()[2] == "DAILY_BUDGET"
    later = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", daily_write_budget=3,
                            endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert later["status"].tolist() == ["skipped", "skipped", "created"]
    assert titled(sb, "Budget") == {f"Budget {i}": 1 for i in range(3)}


def test_two_rows_with_the_same_cells_are_refused_not_merged(sb, tmp_path):
    rows = pd.concat([new_rows(2), new_rows(1)], ignore_index=True)  # row 2 repeats row 0
    result = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["created", "created", "invalid"]
    assert "the same cells as row 0" in result.loc[2, "error_message"]
    assert titled(sb, "New") == {"New 0": 1, "New 1": 1}


def test_the_sandbox_honours_the_client_token_as_the_model_documents(sb):
    client = boto3.client(
        "partnercentral-selling",
        region_name="us-east-1",
        endpoint_url=sb.endpoint_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}),
    )
    body = {"Catalog": "Sandbox", "Project": {"Title": "Token test"}}
    one = client.create_opportunity(**body, ClientToken="t-1")
    two = client.create_opportunity(**body, ClientToken="t-1")  # a retry: the same opportunity, not a second
    assert one["Id"] == two["Id"]
    assert one["LastModifiedDate"] == two["LastModifiedDate"]
    # model, ClientToken: "If you use the same client token, the API returns the following error: "Conflicting
    # client token submitted for a new request body.""
    other = {"Catalog": "Sandbox", "Project": {"Title": "Another"}}
    with pytest.raises(client.exceptions.ConflictException, match="Conflicting client token"):
        client.create_opportunity(**other, ClientToken="t-1")
    assert titled(sb, "Token test") == {"Token test": 1}
    assert titled(sb, "Another") == {}


def test_a_500_after_commit_never_creates_twice(sb, tmp_path):
    sb.service.config = SandboxConfig.fast(
        fault_after_commit_rate=0.6, fault_operations=frozenset({"CreateOpportunity"})
    )
    rows = new_rows(12, "Fault")
    statuses: list[list[str]] = []
    for _ in range(6):  # botocore retries each 500 with the same token; what stays unknown is sent again
        result = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
        statuses.append(result["status"].tolist())
        if set(statuses[-1]) <= {"created", "skipped"}:
            break
    assert set(statuses[-1]) <= {"created", "skipped"}, statuses
    assert sum(s.count("created") for s in statuses) == 12
    assert titled(sb, "Fault") == {f"Fault {i}": 1 for i in range(12)}  # each row exactly once
    ids = {r["Id"] for r in sb.records("Sandbox") if r["Project"]["Title"].startswith("Fault")}
    assert set(result["Id"]) == ids
    assert sb.service.calls["CreateOpportunity"] > 12  # the faults did fire: retries went out


_PUSH_SCRIPT = """
import sys, pandas as pd, opptoolkit as ot
ot.push_updates(pd.read_parquet(sys.argv[1]), "Sandbox", ledger=sys.argv[2], endpoint_url=sys.argv[3],
                reads_per_second=1000, writes_per_second=1000, progress=False)
"""


def test_a_push_killed_mid_run_and_rerun_creates_every_row_exactly_once(sb, tmp_path):
    rows = new_rows(30, "Killed")
    rows.to_parquet(tmp_path / "new.parquet")
    ledger = tmp_path / "ledger"
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _PUSH_SCRIPT, str(tmp_path / "new.parquet"), str(ledger),
                             sb.endpoint_url])  # fmt: skip
    deadline = time.monotonic() + 60
    while len(titled(sb, "Killed")) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = titled(sb, "Killed")
    assert 5 <= len(before) < 30, "the push was not killed mid-run"
    sb.service.config.latency = 0.0
    result = ot.push_updates(rows, "Sandbox", ledger=ledger, endpoint_url=sb.endpoint_url, **FAST)
    assert set(result["status"]) <= {"created", "skipped"}
    assert titled(sb, "Killed") == {f"Killed {i}": 1 for i in range(30)}  # each row exactly once
    book = ot.read_ledger(ledger)
    ended = book[book["status"].isin(["created", "skipped"])].groupby("row")["Id"].last()
    assert ended.to_dict() == dict(zip(result["row"], result["Id"], strict=True))


def test_the_results_workbook_carries_the_new_ids_so_the_next_push_updates(sb, pulled, tmp_path):
    export = pulled.copy()  # sb's pipeline, read once a session
    sheet = pd.concat([export.head(2), new_rows(2, "Sheet")], ignore_index=True)
    path = ot.write_sheet(sheet, tmp_path / "pipeline.xlsx", headers="path", base=True)
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["unchanged", "unchanged", "created", "created"]
    assert result["row"].tolist() == ["2", "3", "4", "5"]
    out = ot.write_results(result, path)
    back = ot.read_sheet(out)
    assert back["Id"].tolist() == [*export["Id"].head(2), *result["Id"][2:]]
    assert back["LastModifiedDate"].tolist()[2:] == result["last_modified_after"].tolist()[2:]
    book = openpyxl.load_workbook(out)
    shown = [r[:3] for r in book["Results"].iter_rows(min_row=2, values_only=True) if r[1]]
    assert shown == [(4, result.loc[2, "Id"], "created"), (5, result.loc[3, "Id"], "created")]
    assert [r[:2] for r in book["Unchanged"].iter_rows(min_row=2, values_only=True)] == list(
        zip([2, 3], export["Id"].head(2), strict=True)
    )  # the unchanged rows are counted under the table and listed on their own sheet
    calls = dict(sb.service.calls)
    again = ot.push_updates(out, "Sandbox", ledger=tmp_path / "l2", endpoint_url=sb.endpoint_url, **FAST)
    assert again["status"].tolist() == ["unchanged"] * 4  # a new ledger: only the Ids keep it from creating again
    assert sb.service.calls == calls  # against the base it carries: nothing read, nothing sent
    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    col = [c.value for c in ws[1]].index("Next steps") + 1  # the results workbook has the labels as headers
    ws.cell(5, col).value = "Call the new customer"
    wb.save(out)
    edited = ot.push_updates(out, "Sandbox", ledger=tmp_path / "l2", endpoint_url=sb.endpoint_url, **FAST)
    assert edited["status"].tolist() == ["unchanged", "unchanged", "unchanged", "succeeded"]
    assert edited.attrs["calls"] == {"GetOpportunity": 1, "UpdateOpportunity": 1}
    assert sb.record("Sandbox", result.loc[3, "Id"])["LifeCycle"]["NextSteps"] == "Call the new customer"
    assert titled(sb, "Sheet") == {"Sheet 0": 1, "Sheet 1": 1}


def test_the_cli_push_prints_what_it_created(sb, tmp_path, capsys):
    path = ot.write_sheet(new_rows(2, "Cli"), tmp_path / "new.xlsx", headers="path")
    code = main(["push", str(path), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
                 "--ledger", str(tmp_path / "l"), "--writes-per-second", "1000"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 created" in out
    back = ot.read_sheet(tmp_path / "new.results.xlsx")  # the results workbook has each new row's Id
    assert back["Id"].notna().all()
    for row, ident in zip(("2", "3"), back["Id"], strict=True):
        assert f"row {row}: created {ident}" in out
    assert titled(sb, "Cli") == {"Cli 0": 1, "Cli 1": 1}


def test_a_plan_of_new_rows_alone_needs_no_service():
    plan = ot.plan_updates(new_rows(2), "Sandbox", progress=False)  # no endpoint, no credentials
    assert plan["action"].tolist() == ["create", "create"]


def test_the_sandbox_refuses_an_aws_referral_created_in_the_aws_catalog(sb):
    client = boto3.client("partnercentral-selling", region_name="us-east-1", endpoint_url=sb.endpoint_url,
                          aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    # model, Origin: "For all opportunities created with Catalog: AWS, this field must only be Partner Referral"
    with pytest.raises(client.exceptions.ValidationException, match="Origin"):
        client.create_opportunity(Catalog="AWS", ClientToken="t", Origin="AWS Referral", Project={"Title": "x"})
    made = client.create_opportunity(Catalog="Sandbox", ClientToken="t", Origin="AWS Referral", Project={"Title": "x"})
    assert sb.record("Sandbox", made["Id"])["Project"]["Title"] == "x"  # the Sandbox catalog simulates a referral


def test_a_row_with_a_crm_id_edited_after_its_create_is_never_created_again(sb, tmp_path):
    """The partner's CRM id names the request: an edit after a create (done, or left unknown) is not a new one."""
    rows = new_rows(2, "Crm")
    rows["PartnerOpportunityIdentifier"] = ["CRM-1", "CRM-2"]
    # the created one first: a run after the unknown one would read it back and learn its Id (tested apart)
    done = ot.push_updates(rows.iloc[[0]], "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert done["status"].tolist() == ["created"]
    sb.service.config = SandboxConfig.fast(
        fault_after_commit_rate=1.0, fault_operations=frozenset({"CreateOpportunity"})
    )
    once = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))  # no back-off to wait out
    first = ot.push_updates(rows.iloc[[1]], "Sandbox", ledger=tmp_path / "l", client=once, **FAST)
    assert first["status"].tolist() == ["unknown"]  # created, but every answer was a 500
    sb.service.config = SandboxConfig.fast()
    edited = rows.copy()
    edited["Project.Title"] = ["Crm 0 renamed", "Crm 1 renamed"]
    again = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert again["status"].tolist() == ["skipped", "conflict"]
    assert again.loc[0, "Id"] == done.loc[0, "Id"] and "push the results workbook" in again.loc[0, "error_message"]
    assert "may have created it" in again.loc[1, "error_message"] and again.loc[1, "error_code"] == "ConflictException"
    assert titled(sb, "Crm") == {"Crm 0": 1, "Crm 1": 1}  # one opportunity per CRM id, never a second


def test_two_new_rows_with_the_same_crm_id_are_refused(sb, tmp_path):
    rows = new_rows(2, "Twin")
    rows["PartnerOpportunityIdentifier"] = ["CRM-9", "CRM-9"]
    plan = ot.plan_updates(rows, "Sandbox")
    assert plan["action"].tolist() == ["create", "invalid"]
    assert any("the same partner opportunity id as row 0" in e for e in plan.loc[1, "errors"])


def test_a_hand_made_workbook_of_new_rows_plans_without_a_base_warning(tmp_path, caplog):
    """A sheet of new rows has nothing to read back: no "carries no export base" warning."""
    import logging

    path = tmp_path / "new.xlsx"
    new_rows(2).to_excel(path, index=False)  # not written by opptoolkit: no base sheet
    with caplog.at_level(logging.WARNING):
        plan = ot.plan_updates(path, "Sandbox")
    assert plan["action"].tolist() == ["create", "create"]
    assert not [r for r in caplog.records if "carries no export base" in r.getMessage()]


# -- the same create wherever it is pushed from (issue 27) -------------------------------------------


def test_the_same_new_rows_pushed_with_another_ledger_are_created_once(sb, tmp_path):
    """The ClientToken comes from the row, not the ledger: a colleague's ledger (or another folder) sends
    the same token, and AWS answers it with the opportunity it created (model, ClientToken)."""
    rows = new_rows(3, "Elsewhere")
    rows["PartnerOpportunityIdentifier"] = ["CRM-E0", None, None]  # one by its CRM id, two by their cells
    first = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "mine", endpoint_url=sb.endpoint_url, **FAST)
    assert first["status"].tolist() == ["created"] * 3
    theirs = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "theirs", endpoint_url=sb.endpoint_url, **FAST)
    assert theirs["Id"].tolist() == first["Id"].tolist()  # the service's answer to the repeated token
    assert titled(sb, "Elsewhere") == {f"Elsewhere {i}": 1 for i in range(3)}
    # the change keys stay keyed by each ledger's secret: the two ledgers share no key
    mine, other = (set(ot.read_ledger(tmp_path / n)["change_key"].dropna()) for n in ("mine", "theirs"))
    assert mine and other and not mine & other


def test_the_ledger_never_holds_the_client_token(sb, tmp_path):
    from opptoolkit.plan import client_token

    rows = new_rows(2, "Tokenless")
    rows["PartnerOpportunityIdentifier"] = ["CRM-T0", "CRM-T1"]
    plan = ot.plan_updates(rows, "Sandbox")
    ot.push_updates(rows, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    tokens = [client_token({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": c}) for c in ("CRM-T0", "CRM-T1")]
    text = ot.read_ledger(tmp_path / "l").astype(str).to_string()
    assert all(t not in text for t in tokens)
    assert plan["action"].tolist() == ["create", "create"]


def test_creates_answered_500_then_pushed_from_another_ledger_are_created_once(tmp_path):
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"CreateOpportunity"}))
    with Sandbox(config=config) as sb:
        rows = new_rows(4, "Faulty")
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        first = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "a", client=client, **FAST)
        assert first["status"].tolist() == ["unknown"] * 4  # every one created, every answer a 500
        sb.service.config.fault_after_commit_rate = 0.0
        other = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "b", endpoint_url=sb.endpoint_url, **FAST)
        assert other["status"].tolist() == ["created"] * 4
        again = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "a", endpoint_url=sb.endpoint_url, **FAST)
        assert again["Id"].tolist() == other["Id"].tolist()
        assert titled(sb, "Faulty") == {f"Faulty {i}": 1 for i in range(4)}


_PUSH_TO = """
import sys, pandas as pd, opptoolkit as ot
r = ot.push_updates(pd.read_parquet(sys.argv[1]), "Sandbox", ledger=sys.argv[2], endpoint_url=sys.argv[3],
                    reads_per_second=1000, writes_per_second=1000, progress=False)
r[["status", "Id"]].to_csv(sys.argv[4], index=False)
"""


def test_two_people_pushing_the_same_sheet_at_once_with_two_ledgers_create_each_row_once(sb, tmp_path):
    rows = new_rows(20, "Together")
    rows["PartnerOpportunityIdentifier"] = [f"CRM-{i}" if i % 2 else None for i in range(20)]
    rows.to_parquet(tmp_path / "new.parquet")
    sb.service.config.latency = 0.02
    args = [[sys.executable, "-c", _PUSH_TO, str(tmp_path / "new.parquet"), str(tmp_path / who), sb.endpoint_url,
             str(tmp_path / f"{who}.csv")] for who in ("ana", "ben")]  # fmt: skip
    procs = [subprocess.Popen(a) for a in args]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    ana, ben = (pd.read_csv(tmp_path / f"{who}.csv") for who in ("ana", "ben"))
    assert set(ana["status"]) == set(ben["status"]) == {"created"}
    assert ana["Id"].tolist() == ben["Id"].tolist()
    assert titled(sb, "Together") == {f"Together {i}": 1 for i in range(20)}
    assert sb.service.calls["CreateOpportunity"] == 40  # both sent every row: the token made them one


def test_a_push_killed_mid_run_and_finished_from_another_ledger_creates_each_row_once(sb, tmp_path):
    rows = new_rows(30, "Handover")
    rows.to_parquet(tmp_path / "new.parquet")
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _PUSH_SCRIPT, str(tmp_path / "new.parquet"), str(tmp_path / "a"),
                             sb.endpoint_url])  # fmt: skip
    deadline = time.monotonic() + 60
    while len(titled(sb, "Handover")) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 5 <= len(titled(sb, "Handover")) < 30, "the push was not killed mid-run"
    sb.service.config.latency = 0.0
    other = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "b", endpoint_url=sb.endpoint_url, **FAST)
    assert set(other["status"]) == {"created"}
    mine = ot.push_updates(rows, "Sandbox", ledger=tmp_path / "a", endpoint_url=sb.endpoint_url, **FAST)
    assert set(mine["status"]) <= {"created", "skipped"} and mine["Id"].tolist() == other["Id"].tolist()
    assert titled(sb, "Handover") == {f"Handover {i}": 1 for i in range(30)}


# -- a row that is an existing opportunity is never created (issue 27) -------------------------------


def _pulled(pulled, tmp_path, n: int = 5):
    """A workbook as ``opptoolkit pull --out`` writes it (it remembers its export), and the export.

    ``pulled``: conftest's pull of a fresh sandbox (``sb``'s records), read once a session.
    """
    export = pulled.head(n).reset_index(drop=True)
    return ot.write_sheet(export, tmp_path / "pipeline.xlsx", headers="path", base=True), export


def _delete_column(path, header: str, rows: list[int] | None = None) -> None:
    """Delete a column of the data sheet (or, with ``rows``, clear its cells in those sheet rows)."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = [c.value for c in ws[1]].index(header) + 1
    if rows is None:
        ws.delete_cols(col)
    else:
        for r in rows:
            ws.cell(r, col).value = None
    wb.save(path)


def test_a_pulled_workbook_whose_id_column_is_deleted_creates_nothing(sb, pulled, tmp_path):
    path, export = _pulled(pulled, tmp_path)
    _delete_column(path, "Id")
    plan = ot.plan_updates(path, "Sandbox")
    assert plan["action"].tolist() == ["invalid"] * 5
    assert plan["row"].tolist() == ["2", "3", "4", "5", "6"]
    first = plan.loc[0, "errors"]
    assert len(first) == 1 and first[0].startswith("Id: REQUIRED_FIELD_MISSING: the row has no Id but carries the Arn")
    assert f"restore its Id ({export.loc[0, 'Id']})" in first[0]
    before = sb.store.count("Sandbox")
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["invalid"] * 5
    assert set(result["error_code"]) == {"REQUIRED_FIELD_MISSING"}
    assert sb.store.count("Sandbox") == before and "CreateOpportunity" not in sb.service.calls


def test_clearing_one_id_cell_never_creates(sb, pulled, tmp_path):
    path, export = _pulled(pulled, tmp_path)
    _delete_column(path, "Id", rows=[4])  # the third record, in sheet row 4
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["unchanged", "unchanged", "invalid", "unchanged", "unchanged"]
    assert result.loc[2, "row"] == "4" and f"restore its Id ({export.loc[2, 'Id']})" in result.loc[2, "error_message"]
    assert "CreateOpportunity" not in sb.service.calls


def test_a_row_without_an_id_that_the_base_holds_is_refused(sb, pulled, tmp_path):
    """Without any trace left, the base still tells: the CRM id of an exported record, or its very cells."""
    export = pulled.copy()  # sb's pipeline, read once a session
    gone = ["Id", "Arn", "CreatedDate", "LastModifiedDate"]
    crm = export.head(1).drop(columns=gone).assign(**{"Project.Title": "Renamed"})  # its CRM id is O..'s
    rows = pd.concat([crm, new_rows(1, "Truly new")], ignore_index=True)
    plan = ot.plan_updates(rows, "Sandbox", base=export)
    assert plan["action"].tolist() == ["invalid", "create"]
    assert f"its PartnerOpportunityIdentifier is that of {export.loc[0, 'Id']}" in plan.loc[0, "errors"][0]
    result = ot.push_updates(rows, "Sandbox", base=export, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["invalid", "created"]
    # a base without CRM ids: a copy of an exported row, its Id and traces cleared, is that record cell for cell
    plain = export.drop(columns=["PartnerOpportunityIdentifier"])
    copy = plain.iloc[[1, 2]].drop(columns=gone).reset_index(drop=True)
    copy.loc[1, "Project.Title"] = "A copy made to differ"
    plan = ot.plan_updates(copy, "Sandbox", base=plain)
    assert plan["error_codes"][0] == ["REQUIRED_FIELD_MISSING"]
    assert f"its cells are those of {export.loc[1, 'Id']}" in plan.loc[0, "errors"][0]
    assert not any(e.startswith("Id:") for e in plan.loc[1, "errors"])  # a copy that differs is a new row
    assert sb.service.calls["CreateOpportunity"] == 1


_PUSH_BOOK = """
import sys, opptoolkit as ot
ot.push_updates(sys.argv[1], "Sandbox", ledger=sys.argv[2], endpoint_url=sys.argv[3], reads_per_second=1000,
                writes_per_second=1000, progress=False)
"""


def test_a_push_killed_mid_run_then_pushed_again_without_its_id_column_creates_each_new_row_once(sb, pulled, tmp_path):
    """An export with new rows appended, killed mid-push; the analyst then deletes the Id column and pushes again,
    with the same ledger and with another: the exported rows are refused, each new row is created once."""
    export = pulled.copy()  # sb's pipeline, read once a session
    sheet = pd.concat([export.head(5), new_rows(20, "Appended")], ignore_index=True)
    path = ot.write_sheet(sheet, tmp_path / "pipeline.xlsx", headers="path", base=True)
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _PUSH_BOOK, str(path), str(tmp_path / "l"), sb.endpoint_url])
    deadline = time.monotonic() + 60
    while len(titled(sb, "Appended")) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 4 <= len(titled(sb, "Appended")) < 20, "the push was not killed mid-run"
    sb.service.config.latency = 0.0
    _delete_column(path, "Id")
    for ledger in ("l", "other"):
        result = ot.push_updates(path, "Sandbox", ledger=tmp_path / ledger, endpoint_url=sb.endpoint_url, **FAST)
        assert result["status"].tolist()[:5] == ["invalid"] * 5
        assert set(result["status"][5:]) <= {"created", "skipped"}
    assert titled(sb, "Appended") == {f"Appended {i}": 1 for i in range(20)}
    assert sb.store.count("Sandbox") == len(export) + 20


def test_creates_answered_500_then_pushed_again_without_the_id_column_are_created_once(tmp_path):
    """An export with new rows appended, every create landing but answered 500; the analyst then deletes the Id
    column and pushes again, with the same ledger and with another: the exported rows are refused, each new row is
    created once (the same Ids from both ledgers)."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"CreateOpportunity"}))
    with Sandbox(config=config) as sb:
        export = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
        sheet = pd.concat([export.head(3), new_rows(4, "Lost answer")], ignore_index=True)
        path = ot.write_sheet(sheet, tmp_path / "pipeline.xlsx", headers="path", base=True)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        first = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", client=client, **FAST)
        assert first["status"].tolist() == ["unchanged"] * 3 + ["unknown"] * 4
        assert titled(sb, "Lost answer") == {f"Lost answer {i}": 1 for i in range(4)}  # all landed
        sb.service.config.fault_after_commit_rate = 0.0
        _delete_column(path, "Id")
        ids = []
        for ledger in ("other", "l"):
            result = ot.push_updates(path, "Sandbox", ledger=tmp_path / ledger, endpoint_url=sb.endpoint_url, **FAST)
            assert result["status"].tolist()[:3] == ["invalid"] * 3
            assert set(result["status"][3:]) == {"created"}
            ids.append(result["Id"][3:].tolist())
        assert ids[0] == ids[1]
        assert titled(sb, "Lost answer") == {f"Lost answer {i}": 1 for i in range(4)}
        assert sb.store.count("Sandbox") == len(export) + 4


def test_creates_left_unknown_are_settled_by_a_later_push_without_their_rows(tmp_path):
    """Creates answered 500 (one landed with a CRM id, one landed without, one not at all); the next push on the
    ledger has none of those rows: each is found on the server (or not) and settled, with its Id."""
    with Sandbox(config=SandboxConfig.fast(fault_operations=frozenset({"CreateOpportunity"}))) as sb:
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        rows = new_rows(3, "Orphan")
        rows["PartnerOpportunityIdentifier"] = ["CRM-O0", None, None]
        sb.service.config.fault_after_commit_rate = 1.0
        first = ot.push_updates(rows.iloc[:2], "Sandbox", ledger=tmp_path / "l", client=client, **FAST)
        sb.service.config.fault_after_commit_rate, sb.service.config.fault_rate = 0.0, 1.0
        second = ot.push_updates(rows.iloc[2:], "Sandbox", ledger=tmp_path / "l", client=client, **FAST)
        assert first["status"].tolist() + second["status"].tolist() == ["unknown"] * 3
        assert second.attrs["settled"] == {"created": 2}
        sb.service.config.fault_rate = 0.0
        third = ot.push_updates(new_rows(1, "Unrelated"), "Sandbox", ledger=tmp_path / "l", client=client, **FAST)
        assert third["status"].tolist() == ["created"] and third.attrs["settled"] == {"failed": 1}
        log = ot.read_ledger(tmp_path / "l")
        creates = log[log["operation"] == "CreateOpportunity"]
        made = {
            r["Project"]["Title"]: r["Id"] for r in sb.records("Sandbox") if r["Project"]["Title"].startswith("Orphan")
        }
        assert set(made) == {"Orphan 0", "Orphan 1"}
        settled = creates[creates["reason"] == "RECONCILED"]
        assert sorted(settled["status"]) == ["created", "created", "failed"]
        assert set(settled.loc[settled["status"] == "created", "Id"]) == set(made.values())
        # the ledger now names what the unknown create made: the row edited since is that one, not a new one
        edited = rows.iloc[[0]].assign(**{"Project.Title": "Orphan 0 renamed"})
        again = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", client=client, **FAST)
        assert again["status"].tolist() == ["skipped"] and again.loc[0, "Id"] == made["Orphan 0"]
        assert "push the results workbook" in again.loc[0, "error_message"]
