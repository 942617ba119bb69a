"""Solutions, submission and assignment through the toolkit, real boto3 against the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.partner import SOLUTIONS_COLUMN, assign_opportunities, read_solutions, submit_opportunities
from opptoolkit.rules import submission_problems, submission_warnings
from opptoolkit.sandbox import Sandbox, SandboxConfig

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


def _drafts(sb: Sandbox, n: int, *, ready: bool) -> list[str]:
    """Drafts AWS would take (with a solution), or that it refuses for one reason: a target close date in the past.

    (AWS takes a draft without a solution too: rules.submission_warnings.)
    """
    want = [] if ready else ["LifeCycle.TargetCloseDate"]
    return [
        r["Id"] for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and [p.field for p in submission_problems(r)] == want
        and not (ready and submission_warnings(r))
    ][:n]  # fmt: skip


def _export(sb: Sandbox, ids: list[str]):
    return ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=ids, progress=False,
                                 reads_per_second=1000)  # fmt: skip


def _solutions(sb: Sandbox, ident: str) -> list[str]:
    return sb.record("Sandbox", ident).get("RelatedEntityIdentifiers", {}).get("Solutions", [])


ASSOCIATIONS = ("AssociateOpportunity", "DisassociateOpportunity")


def _calls(result):
    """The association calls of a push result: its rows of those operations."""
    return result[result["operation"].isin(ASSOCIATIONS)].reset_index(drop=True)


def test_read_solutions_is_a_frame_of_the_models_members(sb):
    df = read_solutions("Sandbox", endpoint_url=sb.endpoint_url)
    assert df.columns.tolist()[:7] == ["Catalog", "Id", "Arn", "Name", "Status", "Category", "CreatedDate"]
    assert df["Id"].tolist() == ["S-0000001", "S-0000002", "S-0000003", "S-0000004"]
    assert str(df["CreatedDate"].dtype) == "datetime64[us, UTC]" or "UTC" in str(df["CreatedDate"].dtype)
    assert read_solutions("Sandbox", endpoint_url=sb.endpoint_url, status=["Inactive"])["Id"].tolist() == ["S-0000004"]


def test_solution_edits_become_the_right_associate_and_disassociate_calls_in_the_push(sb, tmp_path):
    ids = _drafts(sb, 3, ready=True)
    base = _export(sb, ids)
    edited = base.copy()
    before = {i: _solutions(sb, i) for i in ids}
    edited.at[0, SOLUTIONS_COLUMN] = [*before[edited.at[0, "Id"]], "S-0000004"]  # add one
    other = "S-0000001" if before[edited.at[1, "Id"]] != ["S-0000001"] else "S-0000002"
    edited.at[1, SOLUTIONS_COLUMN] = [other]  # replace: associate first, then disassociate
    edited.at[2, "Project.Title"] = "An update alongside"
    result = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    calls = _calls(result)
    assert calls[["Id", "operation", "status"]].values.tolist() == [
        [edited.at[0, "Id"], "AssociateOpportunity", "succeeded"],
        [edited.at[1, "Id"], "AssociateOpportunity", "succeeded"],
        [edited.at[1, "Id"], "DisassociateOpportunity", "succeeded"],
    ]
    assert _solutions(sb, edited.at[0, "Id"]) == [*before[edited.at[0, "Id"]], "S-0000004"]
    assert _solutions(sb, edited.at[1, "Id"]) == [other]
    assert sb.record("Sandbox", edited.at[2, "Id"])["Project"]["Title"] == "An update alongside"
    assert result.attrs["calls"]["AssociateOpportunity"] == 2
    log = ot.read_ledger(tmp_path / "l")
    assert set(log["operation"]) == {"UpdateOpportunity", "AssociateOpportunity", "DisassociateOpportunity"}
    again = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert set(_calls(again)["status"]) <= {"skipped"}  # each call once
    assert sb.service.calls["AssociateOpportunity"] == 2 and sb.service.calls["DisassociateOpportunity"] == 1


def test_a_push_result_with_its_calls_is_one_frame_that_survives_ordinary_pandas(sb, tmp_path):
    """The association calls are rows of the result, each with its operation; attrs hold JSON-safe values only."""
    import json

    import pandas as pd

    ids = _drafts(sb, 2, ready=True)
    base = _export(sb, ids)
    edited = base.copy()
    edited.at[0, SOLUTIONS_COLUMN] = [*_solutions(sb, ids[0]), "S-0000004"]
    edited.at[1, "Project.Title"] = "Only an update"
    result = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result[["Id", "operation", "status"]].values.tolist() == [
        [ids[0], "UpdateOpportunity", "succeeded"],  # its one edit, a solution: its call's outcome (no write)
        [ids[1], "UpdateOpportunity", "succeeded"],
        [ids[0], "AssociateOpportunity", "succeeded"],
    ]
    assert result["writes"].tolist() == [0, 1, 1]
    json.dumps(result.attrs)  # JSON-safe
    result.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert back["operation"].tolist() == result["operation"].tolist() and back.attrs == result.attrs
    result.to_csv(tmp_path / "r.csv")
    assert result.astype(str).shape == result.shape
    assert len(pd.concat([result, result])) == 6
    assert len(result.merge(result[["Id", "operation"]].drop_duplicates(), on=["Id", "operation"])) == 3


def test_the_cli_push_counts_rows_and_calls_apart(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    ids = _drafts(sb, 2, ready=True)
    base = _export(sb, ids)
    path = ot.write_sheet(base, tmp_path / "pipeline.xlsx", headers="path", base=True)
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    col = [c.value for c in ws[1]].index(SOLUTIONS_COLUMN) + 1
    for r in (2, 3):
        ws.cell(r, col).value = "\n".join([*_solutions(sb, ws.cell(r, 1).value), "S-0000004"])
    wb.save(path)
    code = main(["push", str(path), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--ledger",
                 str(tmp_path / "l"), "--writes-per-second", "1000"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    # each row's one edit is a solution: the row is what its call did, as the dry run planned it
    assert "Pushed 2 rows: 2 succeeded; 2 association calls: 2 succeeded." in out


def test_more_solutions_than_the_quota_are_refused_without_a_write(sb, tmp_path):
    (ident,) = _drafts(sb, 1, ready=True)
    base = _export(sb, [ident])
    edited = base.copy()
    edited.at[0, SOLUTIONS_COLUMN] = [f"S-{n:07d}" for n in range(1, 12)]  # 11: the quota is 10
    result = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    calls = _calls(result)
    assert set(calls["status"]) == {"invalid"} and set(calls["error_code"]) == {"TOO_MANY_VALUES"}
    assert "AssociateOpportunity" not in sb.service.calls


def test_without_a_base_a_solution_missing_from_the_row_is_not_removed(sb, tmp_path):
    (ident,) = _drafts(sb, 1, ready=True)
    edited = _export(sb, [ident])
    had = _solutions(sb, ident)
    edited.at[0, SOLUTIONS_COLUMN] = ["S-0000004"]
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert _calls(result)["operation"].tolist() == ["AssociateOpportunity"]
    assert _solutions(sb, ident) == [*had, "S-0000004"]


def test_submit_refuses_what_is_not_ready_without_a_write_and_completes_what_is(sb, tmp_path):
    ready, not_ready = _drafts(sb, 2, ready=True), _drafts(sb, 1, ready=False)
    submitted = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Submitted")
    ids = [*ready, *not_ready, submitted]
    out = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", visibility="Full", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert out["status"].tolist() == ["succeeded", "succeeded", "invalid", "invalid"]
    assert out["task_status"].tolist()[:2] == ["COMPLETE", "COMPLETE"]
    assert out["engagement_id"].str.startswith("eng-").tolist()[:2] == [True, True]
    assert out["error_code"].tolist()[2:] == ["INVALID_VALUE", "INVALID_RESOURCE_STATE"]
    assert "LifeCycle.TargetCloseDate" in out["error_message"][2]
    assert sb.service.calls["StartEngagementFromOpportunityTask"] == 2  # no write spent on a refused one
    assert [sb.record("Sandbox", i)["LifeCycle"]["ReviewStatus"] for i in ready] == ["Submitted"] * 2
    log = ot.read_ledger(tmp_path / "l")
    done = log[(log["operation"] == "StartEngagementFromOpportunityTask") & (log["status"] == "succeeded")]
    assert done["response"].str.contains('"EngagementId": "eng-').sum() == 2
    # the review takes it from there
    assert sb.review("Sandbox", ready[0], "Approved")["LifeCycle"]["ReviewStatus"] == "Approved"
    again = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", visibility="Full", ledger=tmp_path / "l",
                                 endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert again["status"].tolist()[:2] == ["skipped", "skipped"]
    assert again["task_status"].tolist()[:2] == ["COMPLETE", "COMPLETE"]
    assert sb.service.calls["StartEngagementFromOpportunityTask"] == 2


def test_a_submission_answered_500_after_it_landed_is_the_same_task_on_rerun(tmp_path):
    config = SandboxConfig.fast(
        fault_after_commit_rate=1.0, fault_operations=frozenset({"StartEngagementFromOpportunityTask"})
    )
    with Sandbox(config=config) as sb:
        (ident,) = _drafts(sb, 1, ready=True)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        first = submit_opportunities([ident], "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                                     client=client, **FAST)  # fmt: skip
        assert first["status"].tolist() == ["unknown"]
        assert sb.record("Sandbox", ident)["LifeCycle"]["ReviewStatus"] == "Submitted"  # it did land
        sb.service.config.fault_after_commit_rate = 0.0
        again = submit_opportunities([ident], "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                                     client=client, **FAST)  # fmt: skip
        # resent with the same ClientToken: the service answers with the task it started, not a refusal
        assert again["status"].tolist() == ["succeeded"] and again["task_status"].tolist() == ["COMPLETE"]
        assert len(sb.service._tasks()) == 1


def _tasks_end_after_polls(sb: Sandbox, polls: int) -> threading.Event:
    """End the sandbox's tasks once the client has polled them ``polls`` times; set the event returned to stop.

    A task that ends after a set time was COMPLETE at the first poll whenever a loaded machine took that long
    to start it and poll: an event (the polls counted) instead of a clock.
    """
    stop = threading.Event()
    sb.service.task_seconds = 600.0

    def end() -> None:
        while sb.service.calls.get("ListEngagementFromOpportunityTasks", 0) < polls:
            if stop.wait(0.01):
                return
        for task in sb.service._tasks().values():
            task["_done_at"] = 0.0

    threading.Thread(target=end, daemon=True).start()
    return stop


def test_a_task_in_progress_is_polled_until_it_completes(sb, tmp_path):
    (ident,) = _drafts(sb, 1, ready=True)
    stop = _tasks_end_after_polls(sb, 2)
    try:
        out = submit_opportunities([ident], "Sandbox", involvement_type="For Visibility Only", ledger=tmp_path / "l",
                                   endpoint_url=sb.endpoint_url, poll_seconds=0.2, **FAST)  # fmt: skip
    finally:
        stop.set()
    assert out["task_status"].tolist() == ["COMPLETE"]
    assert sb.service.calls["ListEngagementFromOpportunityTasks"] >= 2


def test_submit_opportunity_is_supported_and_read_back_after_a_crash(tmp_path):
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"SubmitOpportunity"}))
    with Sandbox(config=config) as sb:
        (ident,) = _drafts(sb, 1, ready=True)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        kw = dict(involvement_type="Co-Sell", operation="SubmitOpportunity", ledger=tmp_path / "l", client=client)
        assert submit_opportunities([ident], "Sandbox", **kw, **FAST)["status"].tolist() == ["unknown"]
        again = submit_opportunities([ident], "Sandbox", **kw, **FAST)
        assert again["status"].tolist() == ["succeeded"] and again["writes"].tolist() == [0]  # read back
        assert sb.service.calls["SubmitOpportunity"] == 1


def test_a_refused_submission_lists_each_field_at_fault_apart_in_the_result_and_the_ledger(sb, tmp_path):
    (ident,) = _drafts(sb, 1, ready=False)
    out = submit_opportunities([ident], "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert out["status"].tolist() == ["invalid"]
    codes, fields, texts = (list(out[c][0]) for c in ("error_codes", "error_fields", "error_texts"))
    assert "LifeCycle.TargetCloseDate" in fields and len(codes) == len(fields) == len(texts)
    assert codes[0] == out["error_code"][0]
    for code, field, text in zip(codes, fields, texts, strict=True):
        assert f"{field}: {code}: {text}" in out["error_message"][0]  # the message alone, without its prefix
    log = ot.read_ledger(tmp_path / "l")
    assert [list(log[c].iloc[-1]) for c in ("error_codes", "error_fields", "error_texts")] == [codes, fields, texts]


def test_an_involvement_type_the_model_does_not_have_is_refused_before_any_write(sb, tmp_path):
    (ident,) = _drafts(sb, 1, ready=True)
    out = submit_opportunities([ident], "Sandbox", involvement_type="Co-sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert out["status"].tolist() == ["invalid"] and out["error_code"].tolist() == ["INVALID_ENUM_VALUE"]
    assert "StartEngagementFromOpportunityTask" not in sb.service.calls


def test_assign_opportunities_from_a_frame_validates_each_assignee(sb, tmp_path):
    ids = _drafts(sb, 2, ready=True)
    import pandas as pd

    frame = pd.DataFrame({
        "Id": ids,
        "Assignee.Email": ["jane.doe@partner.example", "not an email"],
        "Assignee.FirstName": ["Jane", "Bob"],
        "Assignee.LastName": ["Doe", "Roe"],
        "Assignee.BusinessTitle": ["PartnerAccountManager"] * 2,
    })  # fmt: skip
    out = assign_opportunities(frame, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert out["status"].tolist() == ["succeeded", "invalid"]
    assert out["error_code"][1] == "INVALID_STRING_FORMAT" and "not an email" not in out["error_message"][1]
    assert sb.record("Sandbox", ids[0])["OpportunityTeam"][0]["Email"] == "jane.doe@partner.example"
    again = assign_opportunities(frame, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert again["status"].tolist() == ["skipped", "invalid"] and sb.service.calls["AssignOpportunity"] == 1
    log = ot.read_ledger(tmp_path / "l")
    assert "jane" not in log.to_string().lower()  # no assignee data in the ledger


@pytest.mark.parametrize("operation", ["StartEngagementFromOpportunityTask", "SubmitOpportunity"])
def test_cli_submit(sb, tmp_path, capsys, operation):
    from opptoolkit.cli import main

    ready, not_ready = _drafts(sb, 1, ready=True), _drafts(sb, 1, ready=False)
    code = main(["submit", *ready, *not_ready, "--catalog", "Sandbox", "--involvement-type", "Co-Sell",
                 "--ledger", str(tmp_path / "l"), "--endpoint-url", sb.endpoint_url, "--operation", operation])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1  # one refused
    assert "1 succeeded" in out and "[invalid] Target close date: " in out and "(INVALID_VALUE)" in out


def test_submit_refuses_a_malformed_id_on_its_row_numbered_as_given(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    (ready,) = _drafts(sb, 1, ready=True)
    huge = "O" + "9" * 100_000
    out = submit_opportunities([ready, "not an id", huge], "Sandbox", involvement_type="Co-Sell",
                               ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert out["row"].tolist() == ["1", "2", "3"]  # as given: the first Id is 1
    assert out["status"].tolist() == ["succeeded", "invalid", "invalid"]
    assert out["error_code"].tolist()[1:] == ["INVALID_STRING_FORMAT"] * 2
    assert huge not in out["error_message"].str.cat()
    assert sb.service.calls["GetOpportunity"] == 1  # the malformed ones are not read
    assert huge not in ot.read_ledger(tmp_path / "l").astype(str).to_string()
    code = main(["submit", ready, huge, "--catalog", "Sandbox", "--involvement-type", "Co-Sell", "--ledger",
                 str(tmp_path / "l"), "--endpoint-url", sb.endpoint_url])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 1 and len(printed) < 3_000  # never the 100 kB value
    assert "#1 " in printed and "#2 " in printed and "row 0" not in printed


def test_a_dry_run_of_the_call_flows_writes_nothing(sb, tmp_path):
    (ready,) = _drafts(sb, 1, ready=True)
    submit_opportunities([ready], "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "s", dry_run=True,
                         endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assign_opportunities([ready], "Sandbox", ledger=tmp_path / "a", dry_run=True, endpoint_url=sb.endpoint_url,
                         assignee={"Email": "a@b.example", "FirstName": "A", "LastName": "B",
                                   "BusinessTitle": "PartnerAccountManager"}, **FAST)  # fmt: skip
    assert not (tmp_path / "s").exists() and not (tmp_path / "a").exists()
    assert "StartEngagementFromOpportunityTask" not in sb.service.calls


# -- what an earlier run left unsettled is settled by the next, and submissions beyond 10 (issue 27) --


def _last(ledger, operation: str, ident: str | None = None) -> dict:
    log = ot.read_ledger(ledger)
    log = log[log["operation"] == operation]
    return (log if ident is None else log[log["Id"] == ident]).iloc[-1].to_dict()


def test_a_removal_that_landed_but_answered_500_is_settled_by_the_rerun_that_has_nothing_to_send(tmp_path):
    """DisassociateOpportunity applied, answered 500; botocore's retry met ResourceNotFound: unknown. The rerun
    finds nothing to send for it and reads the record back: the ledger says succeeded (reconciled)."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"DisassociateOpportunity"}))
    with Sandbox(config=config) as sb:
        (ident,) = _drafts(sb, 1, ready=True)
        base = _export(sb, [ident])
        edited = base.copy()
        (dropped,) = _solutions(sb, ident)
        kept = "S-0000004" if dropped != "S-0000004" else "S-0000003"
        edited.at[0, SOLUTIONS_COLUMN] = [kept]  # replace: associate the new one, then remove the old
        first = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url,
                                **FAST)  # fmt: skip
        assert _calls(first)["status"].tolist() == ["succeeded", "unknown"]
        assert _solutions(sb, ident) == [kept]  # it did land
        sb.service.config.fault_after_commit_rate = 0.0
        sent = sb.service.calls["DisassociateOpportunity"]
        again = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url,
                                **FAST)  # fmt: skip
        assert _calls(again).empty and sb.service.calls["DisassociateOpportunity"] == sent  # nothing left to send
        assert again.attrs["settled"] == {"succeeded": 1}
        last = _last(tmp_path / "l", "DisassociateOpportunity")
        assert (last["status"], last["reason"], last["writes"]) == ("succeeded", "RECONCILED", 0)


def test_calls_left_unknown_are_settled_by_any_later_run_on_the_ledger(tmp_path):
    """An assignment and a submission task answered 500 after they landed, a SubmitOpportunity answered 500 before
    it was done: each next run on the ledger has nothing for the call before, reads it back and settles it."""
    ops = {"AssignOpportunity", "SubmitOpportunity", "StartEngagementFromOpportunityTask"}
    with Sandbox(config=SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset(ops))) as sb:
        a, b, c, d = _drafts(sb, 4, ready=True)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        person = {"Email": "ana@partner.example", "FirstName": "Ana", "LastName": "Lee",
                  "BusinessTitle": "PartnerAccountManager"}  # fmt: skip
        kw = dict(ledger=tmp_path / "l", client=client, **FAST)
        assert assign_opportunities([a], "Sandbox", assignee=person, **kw)["status"].tolist() == ["unknown"]
        sb.service.config.fault_after_commit_rate = 0.0  # each later run settles what the one before left
        sb.service.config.fault_rate = 1.0  # ... and leaves its own call unknown (a 500 before it was done)
        second = submit_opportunities([b], "Sandbox", involvement_type="Co-Sell", operation="SubmitOpportunity", **kw)
        assert second["status"].tolist() == ["unknown"] and second.attrs["settled"] == {"succeeded": 1}
        sb.service.config.fault_rate, sb.service.config.fault_after_commit_rate = 0.0, 1.0
        third = submit_opportunities([c], "Sandbox", involvement_type="Co-Sell", **kw)
        assert third["status"].tolist() == ["unknown"] and third.attrs["settled"] == {"failed": 1}
        sb.service.config.fault_after_commit_rate = 0.0
        later = assign_opportunities([d], "Sandbox", assignee=person, **kw)
        assert later["status"].tolist() == ["succeeded"] and later.attrs["settled"] == {"succeeded": 1}
        assert (
            _last(tmp_path / "l", "SubmitOpportunity")["status"],
            sb.record("Sandbox", b)["LifeCycle"]["ReviewStatus"],
        ) == ("failed", "Pending Submission")  # it never landed: said so, not left unknown
        for op, ident in (("AssignOpportunity", a), ("StartEngagementFromOpportunityTask", c)):
            last = _last(tmp_path / "l", op, ident)
            assert (last["status"], last["reason"]) == ("succeeded", "RECONCILED"), op
        task = json.loads(_last(tmp_path / "l", "StartEngagementFromOpportunityTask")["response"])
        assert task["TaskStatus"] == "COMPLETE" and task["EngagementId"].startswith("eng-")
        assert sb.service.calls["AssignOpportunity"] == 2 and sb.service.calls["SubmitOpportunity"] == 1


def test_a_call_that_did_not_land_is_settled_failed_not_left_unknown(tmp_path):
    config = SandboxConfig.fast(fault_rate=1.0, fault_operations=frozenset({"AssociateOpportunity"}))
    with Sandbox(config=config) as sb:
        (ident,) = _drafts(sb, 1, ready=False)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        base = _export(sb, [ident])
        held = _solutions(sb, ident)
        new = next(s for s in ("S-0000001", "S-0000002", "S-0000003") if s not in held)
        edited = base.copy()
        edited.at[0, SOLUTIONS_COLUMN] = [*held, new]  # one association to add, none to remove
        kw = dict(base=base, ledger=tmp_path / "l", client=client, **FAST)
        assert _calls(ot.push_updates(edited, "Sandbox", **kw))["status"].tolist() == ["unknown"]
        sb.service.config.fault_rate = 0.0
        later = ot.push_updates(base, "Sandbox", **kw)  # the analyst gave up on that edit: nothing to send
        assert later.attrs["settled"] == {"failed": 1}
        last = _last(tmp_path / "l", "AssociateOpportunity")
        assert (last["status"], last["reason"]) == ("failed", "RECONCILED") and "not applied" in last["error_message"]
        assert _solutions(sb, ident) == held


def test_more_than_ten_submissions_are_polled_in_chunks_the_model_allows(sb, tmp_path):
    """ListEngagementFromOpportunityTasks takes at most the model's max TaskIdentifier values (10)."""
    ids = _drafts(sb, 12, ready=True)
    sb.service.task_seconds = 0.3
    out = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, poll_seconds=0.2, timeout=20, **FAST)  # fmt: skip
    assert out["task_status"].tolist() == ["COMPLETE"] * 12
    log = ot.read_ledger(tmp_path / "l")
    final = log[log["operation"] == "StartEngagementFromOpportunityTask"].groupby("Id")["response"].last()
    assert final.str.contains('"TaskStatus": "COMPLETE"').all() and len(final) == 12


def test_a_poll_that_times_out_leaves_in_progress_and_the_next_run_finishes_it(sb, tmp_path):
    ids = _drafts(sb, 12, ready=True)
    sb.service.task_seconds = 600.0  # far longer than a loaded machine takes to start twelve tasks and poll
    out = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, poll_seconds=0.2, timeout=0.5, **FAST)  # fmt: skip
    assert out["task_status"].tolist() == ["IN_PROGRESS"] * 12  # the truth at the timeout, in the ledger too
    log = ot.read_ledger(tmp_path / "l")
    assert not log["response"].dropna().str.contains('"COMPLETE"').any()
    for task in sb.service._tasks().values():  # the twelve tasks end now, as AWS's would later
        task["_done_at"] = 0.0
    sb.service.task_seconds = 0.0
    other = _drafts(sb, 1, ready=True)  # the twelve are Submitted now
    later = submit_opportunities(other, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                                 endpoint_url=sb.endpoint_url, poll_seconds=0.2, timeout=20, **FAST)  # fmt: skip
    assert later["task_status"].tolist() == ["COMPLETE"] and later.attrs["settled"] == {"succeeded": 12}
    log = ot.read_ledger(tmp_path / "l")
    final = log[log["Id"].isin(ids)].groupby("Id")["response"].last()
    assert final.str.contains('"TaskStatus": "COMPLETE"').all() and len(final) == 12
    assert sb.service.calls["StartEngagementFromOpportunityTask"] == 13  # none started twice


_SUBMIT = """
import sys, json
from opptoolkit.partner import submit_opportunities
submit_opportunities(json.loads(sys.argv[1]), "Sandbox", involvement_type="Co-Sell", ledger=sys.argv[2],
                     endpoint_url=sys.argv[3], reads_per_second=1000, writes_per_second=1000, progress=False,
                     poll_seconds=0.2)
"""


def test_twelve_submissions_killed_mid_run_and_rerun_start_each_task_once(sb, tmp_path):
    ids = _drafts(sb, 12, ready=True)
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _SUBMIT, json.dumps(ids), str(tmp_path / "l"), sb.endpoint_url])
    deadline = time.monotonic() + 60
    while sb.service.calls.get("StartEngagementFromOpportunityTask", 0) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.2)  # the server finishes the request the killed client left
    started = len(sb.service._tasks())
    assert 4 <= started < 12, "the run was not killed mid-way"
    sb.service.config.latency = 0.0
    out = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "l",
                               endpoint_url=sb.endpoint_url, poll_seconds=0.2, **FAST)  # fmt: skip
    assert set(out["status"]) <= {"succeeded", "skipped"} and out["task_status"].tolist() == ["COMPLETE"] * 12
    assert len(sb.service._tasks()) == 12  # one task each: the one in flight at the kill was answered, not redone
    assert [sb.record("Sandbox", i)["LifeCycle"]["ReviewStatus"] for i in ids] == ["Submitted"] * 12


def test_twelve_submissions_answered_500_after_they_landed_are_settled_once_from_another_ledger(tmp_path):
    config = SandboxConfig.fast(
        fault_after_commit_rate=1.0, fault_operations=frozenset({"StartEngagementFromOpportunityTask"})
    )
    with Sandbox(config=config) as sb:
        ids = _drafts(sb, 12, ready=True)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        first = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "a", client=client,
                                     **FAST)  # fmt: skip
        assert first["status"].tolist() == ["unknown"] * 12
        sb.service.config.fault_after_commit_rate = 0.0
        other = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "b",
                                     client=client, **FAST)  # fmt: skip
        assert set(other["status"]) == {"invalid"}  # another ledger: already Submitted, nothing sent again
        mine = submit_opportunities(ids, "Sandbox", involvement_type="Co-Sell", ledger=tmp_path / "a", client=client,
                                    **FAST)  # fmt: skip
        assert mine["status"].tolist() == ["succeeded"] * 12 and mine["task_status"].tolist() == ["COMPLETE"] * 12
        assert len(sb.service._tasks()) == 12
