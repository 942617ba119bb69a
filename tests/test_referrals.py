"""The AWS-originated flow through real boto3 against the sandbox over HTTP: invitations, AWS's view."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.client import fetch_opportunity, read_aws_summaries
from opptoolkit.referrals import DAYS_TO_EXPIRY, DECISION, read_invitations, rejection_reasons
from opptoolkit.rules import APPROVED
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.schema import output_schema


@pytest.fixture
def live():
    """A sandbox seeded for today: the invitations' expiry dates are relative to the real clock."""
    with Sandbox(config=SandboxConfig.fast()) as s:
        yield s


def _pending(client) -> list[dict]:
    page = client.list_engagement_invitations(Catalog="Sandbox", ParticipantType="RECEIVER", Status=["PENDING"])
    return page["EngagementInvitationSummaries"]


# -- the sandbox's semantics --------------------------------------------------------------------


def test_seed_has_invitations_expiring_soon_expired_and_answered(live):
    c = live.client()
    summaries = c.list_engagement_invitations(Catalog="Sandbox", ParticipantType="RECEIVER")
    statuses = {s["Status"] for s in summaries["EngagementInvitationSummaries"]}
    # 12 seeded, one page of the default 20
    assert statuses == {"PENDING", "EXPIRED", "ACCEPTED", "REJECTED"}
    week = datetime.now(UTC) + timedelta(days=7)
    soon = [s for s in _pending(c) if s["ExpirationDate"] < week]
    assert len(soon) >= 3
    # none was sent by this account
    sent = c.list_engagement_invitations(Catalog="Sandbox", ParticipantType="SENDER")
    assert sent["EngagementInvitationSummaries"] == []


def test_list_pages_and_filters(live):
    c = live.client()
    ids, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = c.list_engagement_invitations(Catalog="Sandbox", ParticipantType="RECEIVER", MaxResults=5, **kw)
        ids += [s["Id"] for s in page["EngagementInvitationSummaries"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(ids) == len(set(ids)) == 12
    asc = c.list_engagement_invitations(
        Catalog="Sandbox", ParticipantType="RECEIVER", Sort={"SortBy": "InvitationDate", "SortOrder": "ASCENDING"}
    )["EngagementInvitationSummaries"]
    dates = [s["InvitationDate"] for s in asc]
    assert dates == sorted(dates)


def test_accept_creates_the_opportunity_once_per_client_token(live):
    c = live.client()
    inv = _pending(c)[0]
    before = len(live.records("Sandbox"))
    # the samples send the ARN as the identifier
    task = c.start_engagement_by_accepting_invitation_task(Catalog="Sandbox", Identifier=inv["Arn"], ClientToken="t1")
    assert task["TaskStatus"] == "COMPLETE" and task["EngagementInvitationId"] == inv["Id"]
    again = c.start_engagement_by_accepting_invitation_task(Catalog="Sandbox", Identifier=inv["Id"], ClientToken="t1")
    assert (again["TaskId"], again["OpportunityId"]) == (task["TaskId"], task["OpportunityId"])
    assert len(live.records("Sandbox")) == before + 1
    got = c.get_engagement_invitation(Catalog="Sandbox", Identifier=inv["Id"])
    assert got["Status"] == "ACCEPTED"
    opp = fetch_opportunity(c, "Sandbox", task["OpportunityId"])
    payload = got["Payload"]["OpportunityInvitation"]
    assert opp["Customer"]["Account"]["CompanyName"] == payload["Customer"]["CompanyName"]
    assert opp["Project"]["Title"] == payload["Project"]["Title"]
    assert opp["LifeCycle"]["TargetCloseDate"] == payload["Project"]["TargetCompletionDate"]
    # another token for an answered invitation: a failed task, no second opportunity
    other = c.start_engagement_by_accepting_invitation_task(Catalog="Sandbox", Identifier=inv["Id"], ClientToken="t2")
    assert (other["TaskStatus"], other["ReasonCode"]) == ("FAILED", "InvitationValidationFailed")
    assert "OpportunityId" not in other
    assert len(live.records("Sandbox")) == before + 1
    tasks = c.list_engagement_by_accepting_invitation_tasks(
        Catalog="Sandbox", EngagementInvitationIdentifier=[inv["Id"]]
    )
    assert {t["TaskStatus"] for t in tasks["TaskSummaries"]} == {"COMPLETE", "FAILED"}
    done = c.list_engagement_by_accepting_invitation_tasks(
        Catalog="Sandbox", OpportunityIdentifier=[task["OpportunityId"]]
    )
    assert [t["TaskId"] for t in done["TaskSummaries"]] == [task["TaskId"]]
    # AWS's view of the referral it sent
    aws = c.get_aws_opportunity_summary(Catalog="Sandbox", RelatedOpportunityIdentifier=task["OpportunityId"])
    assert aws["Origin"] == "AWS Referral" and aws["InvolvementType"] == "Co-Sell"
    assert aws["OpportunityTeam"][0]["Email"] == payload["SenderContacts"][0]["Email"].lower()


def test_reject_keeps_the_reason_and_drops_the_payload(live):
    c = live.client()
    inv = _pending(c)[0]
    assert c.reject_engagement_invitation(Catalog="Sandbox", Identifier=inv["Id"], RejectionReason="Next steps unclear")
    got = c.get_engagement_invitation(Catalog="Sandbox", Identifier=inv["Id"])
    assert (got["Status"], got["RejectionReason"]) == ("REJECTED", "Next steps unclear")
    assert "Payload" not in got  # "all related data will become inaccessible thereafter"
    with pytest.raises(c.exceptions.ValidationException) as e:
        c.reject_engagement_invitation(Catalog="Sandbox", Identifier=inv["Id"])
    assert e.value.response["ErrorList"][0]["Code"] == "INVALID_RESOURCE_STATE"
    assert live.service.calls["RejectEngagementInvitation"] == 2  # an empty answer is not retried


def test_expired_invitations_read_expired_and_cannot_be_answered(live):
    c = live.client()
    expired = c.list_engagement_invitations(Catalog="Sandbox", ParticipantType="RECEIVER", Status=["EXPIRED"])
    inv = expired["EngagementInvitationSummaries"][0]
    assert inv["ExpirationDate"] < datetime.now(UTC)
    with pytest.raises(c.exceptions.ValidationException):
        c.reject_engagement_invitation(Catalog="Sandbox", Identifier=inv["Id"], RejectionReason="Other")
    task = c.start_engagement_by_accepting_invitation_task(Catalog="Sandbox", Identifier=inv["Id"], ClientToken="x")
    assert task["TaskStatus"] == "FAILED"


def test_create_engagement_invitation_to_this_account_is_a_referral_it_receives(live):
    c = live.client()
    inv = _pending(c)[0]
    full = c.get_engagement_invitation(Catalog="Sandbox", Identifier=inv["Id"])
    body = {
        "Message": "Please co-sell this one with us",
        "Receiver": {"Account": {"AwsAccountId": live.config.account_id}},
        "Payload": {"OpportunityInvitation": full["Payload"]["OpportunityInvitation"]},
    }
    made = c.create_engagement_invitation(
        Catalog="Sandbox", ClientToken="send-1", EngagementIdentifier=inv["EngagementId"], Invitation=body
    )
    again = c.create_engagement_invitation(
        Catalog="Sandbox", ClientToken="send-1", EngagementIdentifier=inv["EngagementId"], Invitation=body
    )
    assert again["Id"] == made["Id"]
    new = c.get_engagement_invitation(Catalog="Sandbox", Identifier=made["Id"])
    assert (new["Status"], new["InvitationMessage"]) == ("PENDING", body["Message"])
    assert made["Id"] in {s["Id"] for s in _pending(c)}
    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.create_engagement_invitation(
            Catalog="Sandbox", ClientToken="send-2", EngagementIdentifier="eng-00000000000000", Invitation=body
        )


def test_aws_summary_only_for_what_aws_approved_or_referred(live):
    c = live.client()
    recs = live.records("Sandbox")
    approved = next(r for r in recs if r["LifeCycle"]["ReviewStatus"] == APPROVED)
    draft = next(r for r in recs if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")
    view = c.get_aws_opportunity_summary(Catalog="Sandbox", RelatedOpportunityIdentifier=approved["Id"])
    assert view["Origin"] == "Partner Referral"
    assert view["LifeCycle"]["TargetCloseDate"] == approved["LifeCycle"]["TargetCloseDate"]
    assert view["Insights"]["EngagementScore"] in {"High", "Medium", "Low"}
    with pytest.raises(c.exceptions.ResourceNotFoundException):
        c.get_aws_opportunity_summary(Catalog="Sandbox", RelatedOpportunityIdentifier=draft["Id"])


# -- read_invitations ---------------------------------------------------------------------------


def test_read_invitations_has_every_model_field_sorted_by_expiry(live):
    now = datetime.now(UTC)
    df = read_invitations("Sandbox", endpoint_url=live.endpoint_url, progress=False, now=now, reads_per_second=1000)
    assert len(df) == 12
    assert set(output_schema("GetEngagementInvitation").columns()) <= set(df.columns)
    assert df["ExpirationDate"].is_monotonic_increasing
    expected = (df["ExpirationDate"] - pd.Timestamp(now)) / pd.Timedelta(days=1)
    assert (df[DAYS_TO_EXPIRY] - expected).abs().max() < 0.01
    assert set(df.loc[df[DAYS_TO_EXPIRY] < 0, "Status"]) <= {"EXPIRED", "ACCEPTED", "REJECTED"}
    assert (df[DECISION] == "").all()
    row = df[df["Status"] == "PENDING"].iloc[0]
    assert row["Payload.OpportunityInvitation.Customer.CompanyName"]
    assert row["Payload.OpportunityInvitation.SenderContacts[0].Email"].endswith("@amazon.example")
    assert float(row["Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].Amount"]) > 0
    assert row["InvitationMessage"]
    assert df.attrs["calls"] == {"ListEngagementInvitations": 1, "GetEngagementInvitation": 12}
    assert df.attrs["failures"] == []
    # timestamps are UTC datetimes, as in the opportunity frame
    assert str(df["ExpirationDate"].dtype) == "datetime64[us, UTC]"


def test_read_invitations_by_status_and_refuses_an_unknown_status(live):
    df = read_invitations(
        "Sandbox", status=["PENDING", "EXPIRED"], endpoint_url=live.endpoint_url, progress=False, reads_per_second=1000
    )
    assert set(df["Status"]) == {"PENDING", "EXPIRED"}
    with pytest.raises(ValueError, match="PENDING"):
        read_invitations(
            "Sandbox", status="OPEN", endpoint_url=live.endpoint_url, progress=False, reads_per_second=1000
        )


def test_read_invitations_paces_within_the_read_quota():
    with Sandbox(config=SandboxConfig(read_rate=10, read_burst=10)) as sb:
        df = read_invitations("Sandbox", endpoint_url=sb.endpoint_url, progress=False)
        assert len(df) == 12 and sb.service.throttled == 0


def test_rejection_reasons_come_from_the_model():
    reasons = rejection_reasons()
    assert reasons[0] == "Customer problem unclear" and "Other" in reasons
    assert all(":" not in r and "<" not in r for r in reasons)


# -- AWS's view in the opportunity frame ----------------------------------------------------------


def test_aws_summary_columns_in_the_frame(live):
    df = ot.read_opportunities(
        "Sandbox",
        endpoint_url=live.endpoint_url,
        progress=False,
        review_statuses=[APPROVED],
        aws_summary=True,
        reads_per_second=1000,
    )
    aws_cols = [c for c in df.columns if c.startswith("Aws.")]
    expected = {"Aws." + c for c in output_schema("GetAwsOpportunitySummary").columns()} - {
        "Aws.RelatedOpportunityId",
        "Aws.Catalog",
    }
    assert expected <= set(aws_cols)
    assert df.columns.tolist()[: -len(aws_cols)] == [c for c in df.columns if not c.startswith("Aws.")]
    assert df["Aws.LifeCycle.Stage"].notna().all()
    assert set(df["Aws.Origin"]) == {"Partner Referral"}
    assert "Aws.Catalog" not in df  # the frame's own Catalog says it
    assert df.attrs["calls"]["GetAwsOpportunitySummary"] == len(df)
    # AWS's stage is mostly ours; some lag behind (the partner-vs-AWS question)
    assert (df["Aws.LifeCycle.Stage"] != df["LifeCycle.Stage"]).any()
    assert (df["Aws.LifeCycle.Stage"] == df["LifeCycle.Stage"]).any()


def test_aws_summaries_blank_where_aws_has_none(live):
    recs = live.records("Sandbox")
    ids = [next(r["Id"] for r in recs if r["LifeCycle"]["ReviewStatus"] == s) for s in ("Pending Submission", APPROVED)]
    aws = read_aws_summaries("Sandbox", ids, endpoint_url=live.endpoint_url, progress=False)
    assert aws["Id"].tolist() == ids
    assert pd.isna(aws.loc[0, "Aws.LifeCycle.Stage"]) and pd.notna(aws.loc[1, "Aws.LifeCycle.Stage"])
    assert aws.attrs["failures"] == []


def test_aws_columns_are_output_only_and_never_sent(live, tmp_path):
    schema = ot.get_schema()
    assert not schema.field_for("Aws.LifeCycle.Stage").writable
    assert schema.field_for("Aws.OpportunityTeam[0].Email").sensitive
    df = ot.read_opportunities(
        "Sandbox",
        endpoint_url=live.endpoint_url,
        progress=False,
        review_statuses=[APPROVED],
        aws_summary=True,
        reads_per_second=1000,
    )
    df = df[df["LifeCycle.Stage"] == "Qualified"].reset_index(drop=True)  # open, editable
    # through a workbook, as an analyst would edit it: the Aws columns read back as fields
    path = tmp_path / "pipeline.xlsx"
    ot.write_sheet(df, path)
    edited = ot.read_sheet(path)
    assert edited["Aws.LifeCycle.Stage"].tolist() == df["Aws.LifeCycle.Stage"].tolist()
    edited.loc[0, "Aws.LifeCycle.Stage"] = "Launched"  # AWS's, not ours: never sent
    edited.loc[1, "Aws.Insights.NextBestActions"] = "ignore me"
    edited.loc[1, "LifeCycle.NextSteps"] = "Call the CFO"
    ident0, ident1 = edited.loc[0, "Id"], edited.loc[1, "Id"]
    before = live.record("Sandbox", ident0)
    res = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "ledger", base=df, endpoint_url=live.endpoint_url, progress=False
    )
    status = dict(zip(res["Id"], res["status"], strict=True))
    assert status[ident0] == "unchanged" and status[ident1] == "succeeded"
    assert live.record("Sandbox", ident0) == before
    assert live.record("Sandbox", ident1)["LifeCycle"]["NextSteps"] == "Call the CFO"
    assert live.service.calls["UpdateOpportunity"] == 1
    assert not any("Aws" in str(c) for c in res.loc[res["Id"] == ident1, "changed_fields"])


# -- deciding in bulk ---------------------------------------------------------------------------

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


def _triage(sb: Sandbox) -> pd.DataFrame:
    return read_invitations("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)


def _no_retries(sb: Sandbox):
    from botocore.config import Config

    return sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def test_accept_two_reject_one_and_refuse_the_expired_before_any_call(live, tmp_path):
    from opptoolkit.referrals import push_decisions

    df = _triage(live)
    pending = df.index[df["Status"] == "PENDING"]
    expired = df.index[df["Status"] == "EXPIRED"][0]
    df.loc[pending[:2], DECISION] = "accept"
    df.loc[pending[2], [DECISION, "RejectionReason"]] = ["reject", "Duplicate of partner referral"]
    df.loc[expired, DECISION] = "accept"
    df.loc[pending[3], [DECISION, "RejectionReason"]] = ["reject", "not a documented reason"]
    before = set(r["Id"] for r in live.records("Sandbox"))
    res = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    by_id = res.set_index("Id")
    ids = df["Id"]
    assert by_id.loc[ids[pending[0]], "status"] == by_id.loc[ids[pending[1]], "status"] == "succeeded"
    assert by_id.loc[ids[pending[2]], "status"] == "succeeded"
    assert (by_id.loc[ids[expired], "status"], by_id.loc[ids[expired], "error_code"]) == (
        "invalid",
        "INVALID_RESOURCE_STATE",
    )
    assert by_id.loc[ids[pending[3]], "error_code"] == "INVALID_VALUE"
    # the expired one and the undocumented reason cost no call
    assert live.service.calls["StartEngagementByAcceptingInvitationTask"] == 2
    assert live.service.calls["RejectEngagementInvitation"] == 1
    created = {r["Id"] for r in live.records("Sandbox")} - before
    assert created == {by_id.loc[ids[pending[0]], "OpportunityId"], by_id.loc[ids[pending[1]], "OpportunityId"]}
    c = live.client()
    rejected = c.get_engagement_invitation(Catalog="Sandbox", Identifier=ids[pending[2]])
    assert rejected["RejectionReason"] == "Duplicate of partner referral"
    # all in the ledger: intent then outcome, the task's answer (the new opportunity's Id) kept
    log = ot.read_ledger(tmp_path / "l")
    ok = log[log["status"] == "succeeded"]
    assert sorted(ok["operation"]) == [
        "RejectEngagementInvitation",
        "StartEngagementByAcceptingInvitationTask",
        "StartEngagementByAcceptingInvitationTask",
    ]
    accepted = ok[ok["operation"] == "StartEngagementByAcceptingInvitationTask"]
    assert all(any(o in r for r in accepted["response"]) for o in created)
    assert "Duplicate of partner referral" not in "".join(log["response"].dropna())  # asked, not answered
    # the new opportunities are in the frame
    frame = ot.read_opportunities(
        "Sandbox", endpoint_url=live.endpoint_url, identifiers=sorted(created), progress=False
    )
    assert set(frame["Id"]) == created
    # a rerun of the same triage sends nothing
    again = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    assert set(again.loc[again["Id"].isin(ids[pending[:3]]), "status"]) == {"skipped"}
    assert live.service.calls["StartEngagementByAcceptingInvitationTask"] == 2


def test_accept_creates_one_opportunity_across_a_lost_answer_and_a_rerun(tmp_path):
    from opptoolkit.referrals import push_decisions

    config = SandboxConfig.fast(
        fault_after_commit_rate=1.0, fault_operations=frozenset({"StartEngagementByAcceptingInvitationTask"})
    )
    with Sandbox(config=config) as sb:
        df = _triage(sb)
        row = df.index[df["Status"] == "PENDING"][0]
        df.loc[row, DECISION] = "accept"
        before = sb.store.count("Sandbox")
        first = push_decisions(df, "Sandbox", ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert first["status"].tolist() == ["unknown"]
        assert sb.store.count("Sandbox") == before + 1  # applied, the answer lost
        sb.service.config.fault_after_commit_rate = 0.0
        again = push_decisions(df, "Sandbox", ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert again["status"].tolist() == ["succeeded"]
        assert sb.store.count("Sandbox") == before + 1  # the same ClientToken: the same task, no second one
        assert sb.service.calls["StartEngagementByAcceptingInvitationTask"] == 2
        assert sb.record("Sandbox", again["OpportunityId"][0]) is not None


def test_an_accept_whose_answer_was_lost_is_the_same_task_from_another_ledger(tmp_path):
    """The task's ClientToken comes from the request, not the ledger: a colleague pushing the same triage with
    their own ledger gets the task that was started, not a failed second one."""
    from opptoolkit.referrals import push_decisions

    config = SandboxConfig.fast(
        fault_after_commit_rate=1.0, fault_operations=frozenset({"StartEngagementByAcceptingInvitationTask"})
    )
    with Sandbox(config=config) as sb:
        df = _triage(sb)
        row = df.index[df["Status"] == "PENDING"][0]
        df.loc[row, DECISION] = "accept"
        before = sb.store.count("Sandbox")
        first = push_decisions(df, "Sandbox", ledger=tmp_path / "mine", client=_no_retries(sb), **FAST)
        assert first["status"].tolist() == ["unknown"]
        sb.service.config.fault_after_commit_rate = 0.0
        theirs = push_decisions(df, "Sandbox", ledger=tmp_path / "theirs", client=_no_retries(sb), **FAST)
        assert theirs["status"].tolist() == ["succeeded"]
        assert sb.store.count("Sandbox") == before + 1
        tasks = sb.client().list_engagement_by_accepting_invitation_tasks(
            Catalog="Sandbox", EngagementInvitationIdentifier=[df.loc[row, "Id"]]
        )["TaskSummaries"]
        assert [t["TaskStatus"] for t in tasks] == ["COMPLETE"]  # one task, never a failed second one


def test_decisions_left_unknown_are_settled_by_the_next_decision_run(tmp_path):
    """A rejection and an acceptance applied but answered 500: each next run on the ledger, whatever it decides,
    reads the one before back (the invitation, the accept task) and settles it, with the new opportunity's Id."""
    from opptoolkit.referrals import push_decisions

    ops = frozenset({"RejectEngagementInvitation", "StartEngagementByAcceptingInvitationTask"})
    with Sandbox(config=SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=ops)) as sb:
        df = _triage(sb)
        pending = list(df.index[df["Status"] == "PENDING"][:3])
        decided = df.copy()
        decided.loc[pending[0], [DECISION, "RejectionReason"]] = ["reject", rejection_reasons()[0]]
        decided.loc[pending[1], DECISION] = "accept"
        decided.loc[pending[2], [DECISION, "RejectionReason"]] = ["reject", rejection_reasons()[1]]
        kw = dict(ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        first = push_decisions(decided.loc[[pending[0]]], "Sandbox", **kw)
        second = push_decisions(decided.loc[[pending[1]]], "Sandbox", **kw)
        assert first["status"].tolist() == second["status"].tolist() == ["unknown"]
        assert second.attrs["settled"] == {"succeeded": 1}  # the rejection, read back
        sb.service.config.fault_after_commit_rate = 0.0
        third = push_decisions(decided.loc[[pending[2]]], "Sandbox", **kw)
        assert third["status"].tolist() == ["succeeded"] and third.attrs["settled"] == {"succeeded": 1}
        log = ot.read_ledger(tmp_path / "l")
        ids = df["Id"]
        for ident in ids[pending[:2]]:
            last = log[log["Id"] == ident].iloc[-1]
            assert (last["status"], last["reason"]) == ("succeeded", "RECONCILED")
        accepted = log[(log["Id"] == ids[pending[1]]) & (log["reason"] == "RECONCILED")]["response"].iloc[0]
        made = json.loads(accepted)["OpportunityId"]
        assert sb.record("Sandbox", made) is not None
        assert sb.service.calls["StartEngagementByAcceptingInvitationTask"] == 1


_KILLED = """
import sys
from opptoolkit.referrals import push_decisions, read_triage
push_decisions(read_triage(sys.argv[1]), "Sandbox", ledger=sys.argv[2], endpoint_url=sys.argv[3],
               reads_per_second=1000, writes_per_second=1000, progress=False)
"""


def test_a_decision_run_killed_in_flight_and_rerun_accepts_each_once(live, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from opptoolkit.referrals import push_decisions, read_triage, write_triage

    df = _triage(live)
    pending = df.index[df["Status"] == "PENDING"][:3]
    df.loc[pending, DECISION] = "accept"
    path = write_triage(df, tmp_path / "triage.xlsx")
    live.service.config.latency = 0.5  # the kill lands while the server holds the first request
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(path), str(tmp_path / "l"), live.endpoint_url])
    deadline = time.monotonic() + 60
    while live.service.calls.get("StartEngagementByAcceptingInvitationTask", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    live.service.config.latency = 0.0
    log = ot.read_ledger(tmp_path / "l")
    assert "in_flight" in set(log["status"]) and "succeeded" not in set(log["status"])
    time.sleep(0.6)  # the server finishes the request the killed client left
    before = live.store.count("Sandbox")
    res = push_decisions(read_triage(path), "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    assert res["status"].tolist() == ["succeeded"] * 3
    assert live.store.count("Sandbox") == before + 2  # the first was created before the kill, once
    assert len(set(res["OpportunityId"])) == 3


def _listed(wb, formula: str) -> list[str]:
    """The values a list validation offers (a range of the hidden Lists sheet, as the pipeline workbook's)."""
    sheet, ref = formula.split("!")
    return [c.value for row in wb[sheet][ref.replace("$", "")] for c in row if c.value is not None]


def test_triage_workbook_round_trip_with_dropdowns(live, tmp_path):
    from openpyxl import load_workbook

    from opptoolkit.referrals import is_triage, read_triage, write_triage

    df = _triage(live)
    path = write_triage(df, tmp_path / "triage.xlsx")
    assert is_triage(path) and not is_triage(tmp_path / "other.xlsx")
    wb = load_workbook(path)
    ws = wb["Triage"]
    head = [c.value for c in ws[1]]
    # the columns' labels, as the pipeline workbook's headers (the paths before issue #31)
    assert head[:3] == ["Decision", "Rejection reason", "Days to expiry"]
    assert list(read_triage(path).columns[:3]) == [DECISION, "RejectionReason", DAYS_TO_EXPIRY]  # read as paths
    at = {str(dv.sqref).split(":")[0].rstrip("0123456789"): dv.formula1 for dv in ws.data_validations.dataValidation}
    lists = {letter: _listed(wb, formula) for letter, formula in at.items() if formula}
    assert lists["A"] == ["accept", "reject"] and "Customer problem unclear" in lists["B"]
    back = read_triage(path)
    # every invitation, each as read (in the sheet those that can be answered come first, the expired last)
    assert sorted(back["Id"]) == sorted(df["Id"])
    assert back.set_index("Id").loc[df["Id"], "ExpirationDate"].tolist() == df["ExpirationDate"].tolist()
    assert ot.sheets.SheetRows.of(back).numbers[0] == 2


def test_triage_workbook_guards_formulas_and_keeps_control_characters(live, tmp_path):
    """The triage workbook is written by the toolkit's one writer: a text that looks like a formula is
    never one, a control character is written as OOXML's escape, and both read back as they were."""
    from openpyxl import load_workbook

    from opptoolkit.referrals import read_triage, write_triage

    df = _triage(live)
    title = next(c for c in df.columns if c.endswith("Project.Title"))
    df.loc[0, title] = '=HYPERLINK("http://evil.example","click")'
    df.loc[1, title] = "Data\x01lake"
    path = write_triage(df, tmp_path / "triage.xlsx")
    ws = load_workbook(path)["Triage"]
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    back = read_triage(path).set_index("Id")  # by Id: the sheet puts the expired invitations last
    assert back.loc[df.loc[0, "Id"], title] == '=HYPERLINK("http://evil.example","click")'
    assert back.loc[df.loc[1, "Id"], title] == "Data\x01lake"


def test_triage_workbook_decided_in_libreoffice_pushes(live, tmp_path, resave):
    """Decisions typed into the workbook survive a LibreOffice re-save and push as typed."""
    from openpyxl import load_workbook

    from opptoolkit.referrals import is_triage, push_decisions, read_triage, write_triage

    df = _triage(live)
    path = write_triage(df, tmp_path / "triage.xlsx")
    wb = load_workbook(path)
    ws = wb["Triage"]
    status = [c.value for c in ws[1]].index("Status") + 1
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, status).value == "PENDING"]
    ws.cell(rows[0], 1).value = "accept"
    ws.cell(rows[1], 1).value = "reject"
    ws.cell(rows[1], 2).value = "Next steps unclear"
    wb.save(path)
    again = resave(path)
    assert is_triage(again)
    back = read_triage(again)
    assert back.set_index("Id").loc[df["Id"], "ExpirationDate"].tolist() == df["ExpirationDate"].tolist()
    assert back.loc[back[DECISION].notna(), DECISION].tolist() == ["accept", "reject"]
    res = push_decisions(again, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    assert res["status"].tolist() == ["succeeded", "succeeded"]
    assert res["row"].tolist() == [str(r) for r in rows[:2]]


def test_cli_referrals_then_push_the_triage_workbook(live, tmp_path, capsys):
    from openpyxl import load_workbook

    from opptoolkit.cli import main

    aws = ["--catalog", "Sandbox", "--endpoint-url", live.endpoint_url, "--reads-per-second", "1000"]
    path = tmp_path / "triage.xlsx"
    assert main(["referrals", *aws, "--out", str(path)]) == 0
    assert "12 invitations" in capsys.readouterr().out
    wb = load_workbook(path)
    ws = wb["Triage"]
    status = [c.value for c in ws[1]].index("Status") + 1
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, status).value == "PENDING"]
    ws.cell(rows[0], 1).value = "accept"
    ws.cell(rows[1], 1).value = "reject"
    ws.cell(rows[1], 2).value = "Unable to support"
    wb.save(path)
    push = ["push", str(path), *aws, "--ledger", str(tmp_path / "l"), "--writes-per-second", "1000"]
    assert main(push) == 0
    out = capsys.readouterr().out
    assert "2 decisions: 2 succeeded." in out and "accepted, opportunity O" in out
    assert main(push) == 0  # the rerun skips both
    assert "2 decisions: 2 already done earlier." in capsys.readouterr().out
    assert live.service.calls["StartEngagementByAcceptingInvitationTask"] == 1


# -- report views -------------------------------------------------------------------------------


def test_referral_views(live, tmp_path):
    from opptoolkit.exceptions import ReportError
    from opptoolkit.referrals import push_decisions
    from opptoolkit.report import aws_vs_partner, referral_decisions, referrals_by_expiry

    now = datetime.now(UTC)
    inv = read_invitations("Sandbox", endpoint_url=live.endpoint_url, progress=False, now=now, reads_per_second=1000)
    view = referrals_by_expiry(inv, now=now)
    assert view["invitations"].sum() == int(inv["Status"].isin(["PENDING", "EXPIRED"]).sum())
    assert view["bucket"].iloc[0] == "expired, not answered"
    week = view.set_index("bucket").loc["within 7 days"]
    assert week["invitations"] == int(((inv["Status"] == "PENDING") & (inv["DaysToExpiry"] < 7)).sum())
    assert week["expected_spend"].startswith("USD ")
    pending = inv.index[inv["Status"] == "PENDING"]
    inv.loc[pending[0], DECISION] = "accept"
    inv.loc[pending[1], [DECISION, "RejectionReason"]] = ["reject", "Other"]
    push_decisions(inv, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    decided = referral_decisions(tmp_path / "l")
    assert sorted(decided["decision"]) == ["accepted", "rejected"]
    assert decided.loc[decided["decision"] == "accepted", "OpportunityId"].iloc[0].startswith("O")
    assert referral_decisions(tmp_path / "l", since=now + timedelta(days=1)).empty
    df = ot.read_opportunities(
        "Sandbox",
        endpoint_url=live.endpoint_url,
        progress=False,
        stages=["Qualified"],
        aws_summary=True,
        reads_per_second=1000,
    )
    both = aws_vs_partner(df)
    assert len(both) == int(df["Aws.LifeCycle.Stage"].notna().sum())
    assert both["stage_differs"].is_monotonic_decreasing
    assert both.loc[both["stage_differs"], "aws_stage"].ne(both.loc[both["stage_differs"], "stage"]).all()
    with pytest.raises(ReportError, match=r"Aws\.LifeCycle\.Stage"):
        aws_vs_partner(df[[c for c in df.columns if not c.startswith("Aws.")]])


def test_the_report_has_the_partner_vs_aws_view_when_the_frame_has_aws_columns(live, tmp_path):
    df = ot.read_opportunities(
        "Sandbox",
        endpoint_url=live.endpoint_url,
        progress=False,
        stages=["Qualified"],
        aws_summary=True,
        reads_per_second=1000,
    )
    views = ot.write_report(df, tmp_path / "report.html")
    both = views["Partner vs AWS"]
    assert isinstance(both, pd.DataFrame) and both["stage_differs"].any()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Partner vs AWS" in page and both.loc[both["stage_differs"], "aws_stage"].iloc[0] in page
    plain = ot.write_report(df[[c for c in df.columns if not c.startswith("Aws.")]], tmp_path / "plain.html")
    assert "Partner vs AWS" not in plain  # no AWS columns, no view (and no message about it)


def test_an_accept_task_that_fails_is_failed_in_the_ledger_and_a_rerun_starts_one_new_task(live, tmp_path):
    from opptoolkit.referrals import push_decisions
    from opptoolkit.report import referral_decisions

    df = _triage(live)
    row = df.index[df["Status"] == "PENDING"][0]
    ident = df.loc[row, "Id"]
    df.loc[row, DECISION] = "accept"
    c = live.client()  # a colleague rejects it after the triage was read: the triage still says PENDING
    c.reject_engagement_invitation(Catalog="Sandbox", Identifier=ident, RejectionReason=rejection_reasons()[0])
    before = live.store.count("Sandbox")
    res = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    got = res.iloc[0]
    assert (got["status"], got["error_code"], got["OpportunityId"]) == ("failed", "InvitationValidationFailed", None)
    assert "REJECTED" in got["error_message"] and "fresh ClientToken" in got["error_message"]
    # the ledger tells the truth: the outcome is failed, with the task's reason, and its answer kept
    log = ot.read_ledger(tmp_path / "l")
    last = log[log["Id"] == ident].iloc[-1]
    assert (last["status"], last["error_code"]) == ("failed", "InvitationValidationFailed")
    assert last["error_message"] == got["error_message"] and '"TaskStatus": "FAILED"' in last["response"]
    assert live.store.count("Sandbox") == before
    assert referral_decisions(tmp_path / "l").empty  # nothing was accepted
    # a rerun does not resend the token that answers this failed task: one new task, failed the same way
    again = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    assert again["status"].tolist() == ["failed"]
    assert live.service.calls["StartEngagementByAcceptingInvitationTask"] == 2
    tasks = c.list_engagement_by_accepting_invitation_tasks(Catalog="Sandbox", EngagementInvitationIdentifier=[ident])
    assert [t["TaskStatus"] for t in tasks["TaskSummaries"]] == ["FAILED", "FAILED"]
    assert len({t["TaskId"] for t in tasks["TaskSummaries"]}) == 2


def test_the_report_has_the_referrals_section_from_invitations_and_the_ledger(live, tmp_path):
    from opptoolkit.cli import main
    from opptoolkit.referrals import push_decisions, write_triage

    df = _triage(live)
    pending = df.index[df["Status"] == "PENDING"]
    df.loc[pending[0], DECISION] = "accept"
    df.loc[pending[1], [DECISION, "RejectionReason"]] = ["reject", "Duplicate of partner referral"]
    df.loc[pending[2], DECISION] = "accept"
    c = live.client()  # answered by a colleague meanwhile: its accept task fails
    c.reject_engagement_invitation(Catalog="Sandbox", Identifier=df.loc[pending[2], "Id"], RejectionReason="Other")
    res = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=live.endpoint_url, **FAST)
    assert res["status"].tolist() == ["succeeded", "succeeded", "failed"]
    after = _triage(live)  # the invitations as the service holds them now
    opps = ot.read_opportunities("Sandbox", endpoint_url=live.endpoint_url, progress=False, reads_per_second=1000)
    views = ot.write_report(opps, tmp_path / "report.html", invitations=after, ledger=tmp_path / "l")
    decided = views["Referral decisions"]
    assert decided[["decision", "invitation"]].values.tolist() == [
        ["accepted", df.loc[pending[0], "Id"]],
        ["rejected", df.loc[pending[1], "Id"]],
    ]  # the failed accept is no decision
    assert decided["RejectionReason"].tolist()[1] == "Duplicate of partner referral"
    assert decided["OpportunityId"].tolist()[0] == res["OpportunityId"][0]
    by_expiry = views["Referrals by expiry"]
    assert by_expiry["invitations"].sum() == int(after["Status"].isin(["PENDING", "EXPIRED"]).sum())
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Referrals</h2>" in page and res["OpportunityId"][0] in page
    # the CLI: the invitations from the workbook `opptoolkit referrals --out` writes, the decisions from the ledger
    write_triage(after, tmp_path / "triage.xlsx")
    opps.to_parquet(tmp_path / "opps.parquet")
    args = ["report", str(tmp_path / "opps.parquet"), "--html", str(tmp_path / "cli.html")]
    assert main([*args, "--referrals", str(tmp_path / "triage.xlsx"), "--ledger", str(tmp_path / "l")]) == 0
    cli_page = (tmp_path / "cli.html").read_text(encoding="utf-8")
    assert "<h2>Referrals</h2>" in cli_page and res["OpportunityId"][0] in cli_page
    assert "within 7 days" in cli_page


def test_an_accept_answered_in_progress_is_polled_to_its_outcome_in_the_result_and_the_ledger(tmp_path):
    # StartEngagementByAcceptingInvitationTask page: "The task is asynchronous"; SandboxConfig.task_seconds makes
    # the sandbox answer IN_PROGRESS first, as AWS may
    from opptoolkit.referrals import push_decisions

    with Sandbox(config=SandboxConfig.fast(task_seconds=1.0)) as sb:
        df = _triage(sb)
        pending = df.index[df["Status"] == "PENDING"][:2]
        df.loc[pending, DECISION] = "accept"
        ok, gone = df.loc[pending[0], "Id"], df.loc[pending[1], "Id"]
        c = sb.client()  # a colleague rejects the second after the triage was read: its task fails
        c.reject_engagement_invitation(Catalog="Sandbox", Identifier=gone, RejectionReason=rejection_reasons()[0])
        before = {r["Id"] for r in sb.records("Sandbox")}
        res = push_decisions(
            df, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, poll_seconds=0.2, **FAST
        )
        by_id = res.set_index("Id")
        created = {r["Id"] for r in sb.records("Sandbox")} - before
        assert (by_id.loc[ok, "status"], by_id.loc[ok, "OpportunityId"]) == ("succeeded", next(iter(created)))
        assert (by_id.loc[gone, "status"], by_id.loc[gone, "error_code"]) == ("failed", "InvitationValidationFailed")
        assert sb.service.calls["ListEngagementByAcceptingInvitationTasks"] >= 1
        # the ledger's last word on each is the task's outcome, not its first IN_PROGRESS answer
        log = ot.read_ledger(tmp_path / "l")
        last = log.groupby("Id").tail(1).set_index("Id")
        assert last.loc[ok, "status"] == "succeeded" and '"TaskStatus": "COMPLETE"' in last.loc[ok, "response"]
        assert by_id.loc[ok, "OpportunityId"] in last.loc[ok, "response"]
        assert (last.loc[gone, "status"], last.loc[gone, "error_code"]) == ("failed", "InvitationValidationFailed")
        # a rerun accepts nothing twice
        again = push_decisions(
            df.loc[[pending[0]]], "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST
        )
        assert again["status"].tolist() == ["skipped"] and again["OpportunityId"].tolist() == [
            by_id.loc[ok, "OpportunityId"]
        ]
        assert sb.service.calls["StartEngagementByAcceptingInvitationTask"] == 2
