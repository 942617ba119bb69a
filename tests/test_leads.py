"""Leads and engagements through real boto3 against the sandbox over HTTP: AWS's lead flow in frames and sheets.

AWS's leadToOpportunity sample (Lead_To_Opportunity.md) is the flow: AWS shares a lead as an engagement with a Lead
context and sends a LeadInvitation; the partner accepts it (AcceptEngagementInvitation), reads the engagement,
qualifies the lead (UpdateEngagementContext) and converts it (StartOpportunityFromEngagementTask).
"""

from __future__ import annotations

import pandas as pd
import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.engagements import MEMBERS, RESOURCES, read_engagements
from opptoolkit.referrals import DECISION, push_decisions, read_invitations, read_triage, write_triage
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.schema import output_schema

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
LEAD, REFERRAL = "LeadInvitation", "OpportunityInvitation"


@pytest.fixture
def sb():
    """A sandbox whose seed has AWS's lead invitations (new, expiring, expired) beside the referrals."""
    with Sandbox(config=SandboxConfig.fast(), leads=True) as s:
        yield s


def _conn(sb: Sandbox, **kw) -> ot.Connection:
    return ot.connect("Sandbox", endpoint_url=sb.endpoint_url, **{**FAST, **kw})


# -- (a) reading: lead invitations, engagements ------------------------------------------------------------------


def test_invitations_hold_leads_beside_referrals_with_each_payloads_members_from_the_model(sb):
    conn = _conn(sb)
    both = read_invitations(conn)
    assert both["PayloadType"].value_counts().to_dict() == {REFERRAL: 12, LEAD: 5}
    leads = read_invitations(conn, payload_type=LEAD)
    assert set(leads["PayloadType"]) == {LEAD} and len(leads) == 5
    # the seed's leads are new, expiring and expired, relative to today
    assert set(leads["Status"]) == {"PENDING", "EXPIRED"}
    assert (leads["DaysToExpiry"] < 0).sum() == 1 and ((leads["DaysToExpiry"] >= 0) & (leads["DaysToExpiry"] < 3)).any()
    # each payload's members are columns of GetEngagementInvitation's answer, none typed by hand
    model = set(output_schema("GetEngagementInvitation").columns())
    lead_columns = [c for c in leads.columns if c.startswith(f"Payload.{LEAD}.")]
    assert lead_columns and set(lead_columns) <= model
    assert leads[f"Payload.{LEAD}.Customer.CompanyName"].notna().all()
    assert leads[f"Payload.{LEAD}.Interaction.SourceName"].notna().all()
    # a referral's row has no lead members and the other way round
    referrals = both[both["PayloadType"] == REFERRAL]
    assert referrals[f"Payload.{LEAD}.Customer.CompanyName"].isna().all()
    assert leads[f"Payload.{REFERRAL}.Customer.CompanyName"].isna().all()
    # the one connection's pacer counted every call of the three reads
    assert conn.pacer.calls["GetEngagementInvitation"] == 17 + 5


def test_an_unknown_payload_type_is_refused_before_any_call(sb):
    with pytest.raises(ValueError, match="LeadInvitation"):
        read_invitations(_conn(sb), payload_type="Lead")
    assert sb.service.calls.get("ListEngagementInvitations", 0) == 0


def _accept(sb: Sandbox, payload: str) -> str:
    c = sb.client()
    pending = c.list_engagement_invitations(
        Catalog="Sandbox", ParticipantType="RECEIVER", PayloadType=[payload], Status=["PENDING"]
    )["EngagementInvitationSummaries"]
    if payload == LEAD:
        c.accept_engagement_invitation(Catalog="Sandbox", Identifier=pending[0]["Id"])
    else:
        c.start_engagement_by_accepting_invitation_task(Catalog="Sandbox", Identifier=pending[0]["Id"], ClientToken="t")
    return str(pending[0]["EngagementId"])


def test_engagements_are_a_frame_of_contexts_members_and_shared_resources(sb):
    conn = _conn(sb)
    assert read_engagements(conn).empty  # a lead's engagement is AWS's until its invitation is accepted
    lead = _accept(sb, LEAD)
    c = sb.client()
    task = c.start_engagement_from_opportunity_task(
        Catalog="Sandbox", Identifier="O7000000014", ClientToken="t1", AwsSubmission={"InvolvementType": "Co-Sell"}
    )
    df = read_engagements(conn).set_index("Id")
    assert set(df.index) == {lead, task["EngagementId"]}
    assert df.loc[lead, "Contexts[0].Type"] == "Lead"
    assert df.loc[task["EngagementId"], "Contexts[0].Type"] == "CustomerProject"
    # the lead's customer, as GetEngagement answers it
    answer = c.get_engagement(Catalog="Sandbox", Identifier=lead)
    assert (
        df.loc[lead, "Contexts[0].Payload.Lead.Customer.CompanyName"]
        == answer["Contexts"][0]["Payload"]["Lead"]["Customer"]["CompanyName"]
    )
    # members (ListEngagementMembers): AWS and this partner on the lead
    members = sorted(df.loc[lead, [f"{MEMBERS}[0].AccountId", f"{MEMBERS}[1].AccountId"]])
    assert df.loc[lead, "MemberCount"] == 2 and "aws" in members
    # the opportunity shared in the other (ListEngagementResourceAssociations)
    assert df.loc[task["EngagementId"], f"{RESOURCES}[0].ResourceId"] == "O7000000014"
    assert pd.isna(df.loc[lead, f"{RESOURCES}[0].ResourceId"])
    # the columns are the model's: GetEngagement's answer, then the two lists' items renamed
    model = set(output_schema("GetEngagement").columns())
    assert {c for c in df.reset_index().columns if not c.startswith((MEMBERS, RESOURCES))} <= model
    assert "NextToken" not in df.columns
    # a context type filters in the service (ListEngagements' ContextTypes)
    only = read_engagements(conn, context_types=["Lead"], members=False, resources=False)
    assert only["Id"].tolist() == [lead] and not any(c.startswith(MEMBERS) for c in only.columns)
    with pytest.raises(ot.OpptoolkitError, match="CustomerProject"):
        read_engagements(conn, context_types=["Leads"])


# -- (a) the triage holds leads: accepting one is AcceptEngagementInvitation -------------------------------------


def test_a_triage_of_leads_and_referrals_accepts_each_with_its_operation_once(sb, tmp_path):
    conn = _conn(sb)
    path = write_triage(read_invitations(conn), tmp_path / "triage.xlsx")
    df = read_triage(path)
    pending = df[df["Status"] == "PENDING"]
    lead = pending.index[pending["PayloadType"] == LEAD][0]
    referral = pending.index[pending["PayloadType"] == REFERRAL][0]
    df.loc[[lead, referral], DECISION] = "accept"
    res = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST).set_index("Id")
    lead_id, referral_id = df.loc[lead, "Id"], df.loc[referral, "Id"]
    assert res.loc[lead_id, "operation"] == "AcceptEngagementInvitation"
    assert res.loc[referral_id, "operation"] == "StartEngagementByAcceptingInvitationTask"
    assert res["status"].tolist() == ["succeeded", "succeeded"]
    assert sb.service.calls["AcceptEngagementInvitation"] == 1
    assert sb.service.calls["StartEngagementByAcceptingInvitationTask"] == 1  # the referral's alone
    c = sb.client()
    assert c.get_engagement_invitation(Catalog="Sandbox", Identifier=lead_id)["Status"] == "ACCEPTED"
    # the lead's engagement is now this partner's to read, its Lead context with it
    engagement = df.loc[lead, "EngagementId"]
    assert read_engagements(conn, identifiers=[engagement])["Contexts[0].Type"].tolist() == ["Lead"]
    # a rerun sends nothing
    again = push_decisions(df, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert again["status"].tolist() == ["skipped", "skipped"]
    assert sb.service.calls["AcceptEngagementInvitation"] == 1
    log = ot.read_ledger(tmp_path / "l")
    assert set(log.loc[log["Id"] == lead_id, "operation"]) == {"AcceptEngagementInvitation"}


def test_a_lead_accepted_whose_answer_was_lost_is_read_back_not_sent_again(tmp_path):
    # AcceptEngagementInvitation takes no ClientToken (model): the invitation is read back instead
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"AcceptEngagementInvitation"}))
    with Sandbox(config=config, leads=True) as sb:
        no_retries = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        df = read_invitations(
            "Sandbox", client=no_retries, payload_type=LEAD, status="PENDING", reads_per_second=1000, progress=False
        )
        df.loc[df.index[0], DECISION] = "accept"
        first = push_decisions(df, "Sandbox", ledger=tmp_path / "l", client=no_retries, **FAST)
        assert first["status"].tolist() == ["unknown"]
        ident = df.loc[df.index[0], "Id"]
        assert no_retries.get_engagement_invitation(Catalog="Sandbox", Identifier=ident)["Status"] == "ACCEPTED"
        sb.service.config.fault_after_commit_rate = 0.0
        again = push_decisions(df, "Sandbox", ledger=tmp_path / "l", client=no_retries, **FAST)
        assert again["status"].tolist() == ["succeeded"]
        assert sb.service.calls["AcceptEngagementInvitation"] == 1  # read back, never sent twice
        log = ot.read_ledger(tmp_path / "l")
        assert log["status"].tolist()[-1] == "succeeded"


# -- (b) a lead from invitation to opportunity: one sheet, one push, each step once --------------------------------

from openpyxl import load_workbook  # noqa: E402

from opptoolkit.leads import (  # noqa: E402
    CONVERT,
    LEADS_SHEET,
    push_leads,
    read_leads,
    write_leads,
)
from opptoolkit.schema import label_for  # noqa: E402


def _edit(path, edits: dict[int, dict[str, str]]) -> None:
    """Write cells as a person would in Excel: ``edits`` maps a sheet row (2 = first lead) to column texts."""
    wb = load_workbook(path)
    ws = wb[LEADS_SHEET]
    head = [c.value for c in ws[1]]  # the columns' labels, as the pipeline workbook's headers
    for row, cells in edits.items():
        for column, text in cells.items():
            ws.cell(row=row, column=head.index(label_for(column)) + 1, value=text)
    wb.save(path)


def _pending_row(leads: pd.DataFrame) -> int:
    """The sheet row of the first pending lead (the frame's order is the sheet's)."""
    return int(leads.index[leads["InvitationStatus"] == "PENDING"][0]) + 2


def test_leads_are_one_row_each_the_contact_readable_once_accepted(sb):
    conn = _conn(sb)
    leads = read_leads(conn)
    assert len(leads) == 5 and leads["Customer.CompanyName"].notna().all()
    # pending first, soonest expiry first; the expired one last
    assert leads["InvitationStatus"].tolist() == ["PENDING"] * 4 + ["EXPIRED"]
    assert leads["ExpirationDate"].iloc[:4].is_monotonic_increasing
    # the invitation shows the source, not the contact (sales guide: accept a lead to view all its details)
    assert leads["Interaction.SourceName"].notna().all() and leads["Interactions[0].Contact.Email"].isna().all()
    engagement = leads.loc[0, "EngagementId"]
    sb.client().accept_engagement_invitation(Catalog="Sandbox", Identifier=leads.loc[0, "InvitationId"])
    after = read_leads(conn).set_index("EngagementId")
    assert after.loc[engagement, "Interactions[0].Contact.Email"].endswith(".example")
    assert pd.notna(after.loc[engagement, "EngagementLastModifiedAt"]) and pd.notna(after.loc[engagement, "ContextId"])


def test_a_lead_is_accepted_qualified_and_converted_from_a_workbook_once(sb, tmp_path):
    conn = _conn(sb)
    leads = read_leads(conn)
    path = write_leads(leads, tmp_path / "leads.xlsx")
    row = _pending_row(leads)
    engagement = leads.loc[row - 2, "EngagementId"]
    _edit(path, {row: {DECISION: "accept", "QualificationStatus": "Qualified", CONVERT: "yes"}})
    before = {r["Id"] for r in sb.records("Sandbox")}
    res = push_leads(path, conn, ledger=tmp_path / "l")
    steps = dict(zip(res["operation"], res["status"], strict=True))
    assert steps == {
        "AcceptEngagementInvitation": "succeeded",
        "UpdateEngagementContext": "succeeded",
        "StartOpportunityFromEngagementTask": "succeeded",
    }
    assert set(res["row"]) == {str(row)}
    created = {r["Id"] for r in sb.records("Sandbox")} - before
    assert len(created) == 1 and set(res["OpportunityId"].dropna()) == created
    opportunity = sb.record("Sandbox", next(iter(created)))
    assert opportunity["Customer"]["Account"]["CompanyName"] == leads.loc[row - 2, "Customer.CompanyName"]
    lead = sb.client().get_engagement(Catalog="Sandbox", Identifier=engagement)["Contexts"][0]["Payload"]["Lead"]
    assert lead["QualificationStatus"] == "Qualified"
    # read again, the lead shows its opportunity
    again = read_leads(conn).set_index("EngagementId")
    assert again.loc[engagement, "OpportunityId"] == next(iter(created))
    assert again.loc[engagement, "ConversionStatus"] == "COMPLETE"
    # the same workbook pushed again sends nothing
    calls = dict(sb.service.calls)
    rerun = push_leads(path, conn, ledger=tmp_path / "l")
    assert set(rerun["status"]) == {"skipped"}
    for op in ("AcceptEngagementInvitation", "UpdateEngagementContext", "StartOpportunityFromEngagementTask"):
        assert sb.service.calls[op] == calls[op] == 1
    assert {r["Id"] for r in sb.records("Sandbox")} - before == created
    # every step in the ledger, no customer value in it
    log = ot.read_ledger(tmp_path / "l")
    assert {"AcceptEngagementInvitation", "UpdateEngagementContext", "StartOpportunityFromEngagementTask"} <= set(
        log["operation"]
    )
    assert leads.loc[row - 2, "Customer.CompanyName"] not in log.to_csv()


def test_a_colleagues_change_to_the_same_field_is_a_conflict_and_nothing_is_sent(sb, tmp_path):
    conn = _conn(sb)
    c = sb.client()
    leads = read_leads(conn)
    inv = leads.loc[0, "InvitationId"]
    c.accept_engagement_invitation(Catalog="Sandbox", Identifier=inv)
    leads = read_leads(conn)
    path = write_leads(leads, tmp_path / "leads.xlsx")
    i = int(leads.index[leads["InvitationId"] == inv][0])
    engagement, context = leads.loc[i, "EngagementId"], leads.loc[i, "ContextId"]
    # a colleague qualifies the lead meanwhile
    eng = c.get_engagement(Catalog="Sandbox", Identifier=engagement)
    lead = eng["Contexts"][0]["Payload"]["Lead"]
    c.update_engagement_context(
        Catalog="Sandbox", EngagementIdentifier=engagement, ContextIdentifier=context,
        EngagementLastModifiedAt=eng["ModifiedAt"], Type="Lead",
        Payload={"Lead": {"QualificationStatus": "Research", "Customer": lead["Customer"]}},
    )  # fmt: skip
    _edit(path, {i + 2: {"QualificationStatus": "Disqualified", CONVERT: "yes"}})
    res = push_leads(path, conn, ledger=tmp_path / "l")
    by_op = res.set_index("operation")
    assert by_op.loc["UpdateEngagementContext", "status"] == "conflict"
    assert "QualificationStatus" in by_op.loc["UpdateEngagementContext", "error_message"]
    assert by_op.loc["StartOpportunityFromEngagementTask", "status"] == "deferred"
    assert sb.service.calls["UpdateEngagementContext"] == 1  # the colleague's alone
    assert sb.service.calls.get("StartOpportunityFromEngagementTask", 0) == 0


def test_a_disqualified_lead_is_not_converted_and_no_write_is_spent_on_it(sb, tmp_path):
    conn = _conn(sb)
    leads = read_leads(conn)
    row = _pending_row(leads)
    path = write_leads(leads, tmp_path / "leads.xlsx")
    _edit(path, {row: {DECISION: "accept", "QualificationStatus": "Disqualified", CONVERT: "yes"}})
    res = push_leads(path, conn, ledger=tmp_path / "l").set_index("operation")
    assert res.loc["UpdateEngagementContext", "status"] == "succeeded"
    convert = res.loc["StartOpportunityFromEngagementTask"]
    assert (convert["status"], convert["error_code"]) == ("invalid", "ACTION_NOT_PERMITTED")
    assert "qualify it first" in convert["error_message"]
    assert sb.service.calls.get("StartOpportunityFromEngagementTask", 0) == 0


def test_a_conversion_answered_in_progress_is_polled_to_its_opportunity(tmp_path):
    # model: the task "is asynchronous"; SandboxConfig.task_seconds keeps it IN_PROGRESS a while, as AWS may
    with Sandbox(config=SandboxConfig.fast(task_seconds=0.5), leads=True) as s:
        conn = _conn(s)
        leads = read_leads(conn)
        row = _pending_row(leads)
        path = write_leads(leads, tmp_path / "leads.xlsx")
        _edit(path, {row: {DECISION: "accept", CONVERT: "yes"}})
        res = push_leads(path, conn, ledger=tmp_path / "l", poll_seconds=0.1).set_index("operation")
        convert = res.loc["StartOpportunityFromEngagementTask"]
        assert convert["status"] == "succeeded" and s.record("Sandbox", convert["OpportunityId"]) is not None
        assert s.service.calls["ListOpportunityFromEngagementTasks"] >= 2  # the push's read, then the poll
        log = ot.read_ledger(tmp_path / "l")
        last = log[log["operation"] == "StartOpportunityFromEngagementTask"].iloc[-1]
        assert last["status"] == "succeeded" and convert["OpportunityId"] in last["response"]


@pytest.mark.parametrize("operation", ["UpdateEngagementContext", "StartOpportunityFromEngagementTask"])
def test_a_lost_answer_is_settled_on_the_rerun_and_applied_once(tmp_path, operation):
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({operation}))
    with Sandbox(config=config, leads=True) as s:
        no_retries = s.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        conn = ot.connect("Sandbox", client=no_retries, **FAST)
        leads = read_leads(conn)
        row = _pending_row(leads)
        engagement = leads.loc[row - 2, "EngagementId"]
        path = write_leads(leads, tmp_path / "leads.xlsx")
        edits = {
            DECISION: "accept",
            "QualificationStatus": "Qualified",
            "Interaction.Usecase": "Migration",
            CONVERT: "yes",
        }
        _edit(path, {row: edits})
        before = s.store.count("Sandbox")
        first = push_leads(path, conn, ledger=tmp_path / "l").set_index("operation")
        assert first.loc[operation, "status"] == "unknown"
        s.service.config.fault_after_commit_rate = 0.0
        again = push_leads(path, conn, ledger=tmp_path / "l").set_index("operation")
        assert again.loc["StartOpportunityFromEngagementTask", "status"] in ("succeeded", "skipped")
        assert again.loc["UpdateEngagementContext", "status"] in ("succeeded", "skipped")
        assert s.store.count("Sandbox") == before + 1  # one opportunity
        assert s.service.calls["UpdateEngagementContext"] == 1  # read back, never sent twice
        interactions = no_retries.get_engagement(Catalog="Sandbox", Identifier=engagement)["Contexts"][0]["Payload"][
            "Lead"
        ]["Interactions"]
        assert [i["Usecase"] for i in interactions].count("Migration") == 1


_KILLED = """
import sys
import opptoolkit as ot
from opptoolkit.leads import push_leads
conn = ot.connect("Sandbox", endpoint_url=sys.argv[3], reads_per_second=1000, writes_per_second=1000, progress=False)
push_leads(sys.argv[1], conn, ledger=sys.argv[2])
"""

_STEPS = (
    "AcceptEngagementInvitation",
    "UpdateEngagementContext",
    "StartOpportunityFromEngagementTask",
    "AssociateOpportunity",
    "StartEngagementFromOpportunityTask",
)


@pytest.mark.parametrize("killed_at", _STEPS)
def test_a_lead_reaches_a_submitted_opportunity_once_across_a_kill_at_any_step(sb, tmp_path, killed_at):
    import os
    import signal
    import subprocess
    import sys
    import time

    conn = _conn(sb)
    leads = read_leads(conn)
    row = _pending_row(leads)
    engagement = leads.loc[row - 2, "EngagementId"]
    path = write_leads(leads, tmp_path / "leads.xlsx")
    edits = {DECISION: "accept", "QualificationStatus": "Qualified", CONVERT: "yes", "Solutions": "S-0000002"}
    _edit(path, {row: {**edits, "Submit": "Co-Sell"}})
    before = {r["Id"] for r in sb.records("Sandbox")}
    sb.service.config.latency = 0.4  # the kill lands while the server holds the step's request
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(path), str(tmp_path / "l"), sb.endpoint_url])
    deadline = time.monotonic() + 120
    while sb.service.calls.get(killed_at, 0) < 1 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL and sb.service.calls.get(killed_at, 0) == 1  # killed in that step
    time.sleep(0.5)  # the server finishes the request the killed client left
    sb.service.config.latency = 0.0
    res = push_leads(path, conn, ledger=tmp_path / "l")
    assert set(res["status"]) <= {"succeeded", "skipped"}, res[["operation", "status", "error_message"]]
    created = {r["Id"] for r in sb.records("Sandbox")} - before
    assert len(created) == 1
    opportunity = sb.record("Sandbox", next(iter(created)))
    assert opportunity["LifeCycle"]["ReviewStatus"] == "Submitted"
    assert opportunity["RelatedEntityIdentifiers"]["Solutions"] == ["S-0000002"]
    assert set(res["OpportunityId"].dropna()) == created
    c = sb.client()
    for op in _STEPS:
        assert sb.service.calls[op] == 1, op  # each step sent once: the one in flight at the kill is read back
    tasks = c.list_engagement_from_opportunity_tasks(Catalog="Sandbox", OpportunityIdentifier=sorted(created))
    assert len(tasks["TaskSummaries"]) == 1
    assert (
        sb.client().get_engagement(Catalog="Sandbox", Identifier=engagement)["Contexts"][0]["Payload"]["Lead"][
            "QualificationStatus"
        ]
        == "Qualified"
    )


def test_a_leads_workbook_saved_again_by_libreoffice_sends_only_the_edit(sb, tmp_path, resave):
    conn = _conn(sb)
    c = sb.client()
    leads = read_leads(conn)
    c.accept_engagement_invitation(Catalog="Sandbox", Identifier=leads.loc[0, "InvitationId"])
    leads = read_leads(conn)
    path = write_leads(leads, tmp_path / "leads.xlsx")
    saved = resave(path)
    # nothing edited: a spreadsheet program's save changes no lead (times, blanks, text cells kept as written)
    untouched = push_leads(saved, conn, ledger=tmp_path / "l", dry_run=True)
    assert untouched.empty or set(untouched["status"]) <= {"skipped"}
    accepted = int(leads.index[leads["ContextId"].notna()][0])
    _edit(saved, {accepted + 2: {"QualificationStatus": "Qualified"}})
    res = push_leads(saved, conn, ledger=tmp_path / "l")
    assert res["operation"].tolist() == ["UpdateEngagementContext"] and res["status"].tolist() == ["succeeded"]
    assert res["changed_fields"].tolist() == [["QualificationStatus"]]


# -- (c) is AWS seeing my updates? ---------------------------------------------------------------------------------

from opptoolkit.engagements import read_resource_snapshots, snapshot_health  # noqa: E402


def _shared(sb: Sandbox, ident: str = "O7000000014") -> dict:
    """Submit ``ident`` to AWS: an engagement, a snapshot of the opportunity and a running job keeping it current."""
    return sb.client().start_engagement_from_opportunity_task(
        Catalog="Sandbox", Identifier=ident, ClientToken=f"t-{ident}", AwsSubmission={"InvolvementType": "Co-Sell"}
    )


def _ready(sb: Sandbox, n: int) -> list[str]:
    """``n`` drafts that AWS would accept as submitted."""
    from opptoolkit.rules import submission_problems

    recs = sb.records("Sandbox")
    return sorted(
        r["Id"] for r in recs if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and not submission_problems(r)
    )[:n]


def test_snapshot_health_sees_a_running_job_keep_up_and_flags_a_stopped_or_failing_one(sb):
    conn = _conn(sb)
    assert snapshot_health(conn).empty  # nothing shared yet
    one, two, three = _ready(sb, 3)
    first, second, third = (_shared(sb, i) for i in (one, two, three))
    for ident in (one, two, three):
        sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(NextSteps="Call the CTO"))
    health = snapshot_health(conn).set_index("Id")
    assert health["aws_sees_latest"].all() and set(health["problem"]) == {""}  # a running job made a new snapshot
    assert health.loc[one, "ResourceSnapshotJobId"] == first["ResourceSnapshotJobId"]
    # a stopped job: the next change is not seen; a failing one says why
    sb.set_snapshot_job("Sandbox", second["ResourceSnapshotJobId"], status="Stopped")
    sb.set_snapshot_job("Sandbox", third["ResourceSnapshotJobId"], failure="Access denied assuming the role.")
    for ident in (two, three):
        sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(NextSteps="Send the proposal"))
    health = snapshot_health(conn)
    assert health["Id"].tolist()[:2] == [two, three]  # what AWS does not see comes first (stopped, then failing)
    by_id = health.set_index("Id")
    stopped, failing = by_id.loc[two], by_id.loc[three]
    assert (stopped["JobStatus"], stopped["problem"], stopped["aws_sees_latest"]) == ("Stopped", "stopped", False)
    assert "StartResourceSnapshotJob" in stopped["action"]
    assert stopped["LastModifiedDate"] > stopped["LastSuccessfulExecutionDate"]
    assert (failing["problem"], failing["LastFailure"]) == ("failing", "Access denied assuming the role.")
    assert by_id.loc[one, "aws_sees_latest"]
    # a stopped job with nothing changed since its last run: AWS still sees the latest
    sb.set_snapshot_job("Sandbox", first["ResourceSnapshotJobId"], status="Stopped")
    assert snapshot_health(conn).set_index("Id").loc[one, "aws_sees_latest"]


def test_snapshot_health_flags_a_missing_role_for_every_shared_opportunity(tmp_path):
    # multi-partner page: "Without the role, engagement partners won't see your updates"
    with Sandbox(config=SandboxConfig.fast(snapshot_job_role=None)) as s:
        _shared(s)
        health = snapshot_health(_conn(s))
        assert health.attrs["role"] is None
        assert health["problem"].tolist() == ["no_role"] and not health["aws_sees_latest"].any()
        assert "PutSellingSystemSettings" in health.loc[0, "action"]


def test_the_cli_says_which_opportunities_aws_is_not_seeing_and_what_to_do(sb, capsys):
    from opptoolkit.cli import main

    task = _shared(sb)
    args = ["snapshots", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
    assert main(args) == 0
    assert "AWS sees the latest of all" in capsys.readouterr().out
    sb.set_snapshot_job("Sandbox", task["ResourceSnapshotJobId"], status="Stopped")
    sb.edit("Sandbox", "O7000000014", lambda r: r["LifeCycle"].update(NextSteps="Call the CTO"))
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "AWS is not seeing the latest of 1" in out
    assert f"O7000000014 (engagement {task['EngagementId']}): job {task['ResourceSnapshotJobId']} is Stopped" in out


def test_another_partners_snapshot_of_a_shared_opportunity_reads_as_a_row(sb):
    c = sb.client()
    task = _shared(sb)
    invitation = c.create_engagement_invitation(
        Catalog="Sandbox",
        ClientToken="invite-1",
        EngagementIdentifier=task["EngagementId"],
        Invitation={
            "Message": "Join us on this one",
            "Receiver": {"Account": {"Alias": "Other", "AwsAccountId": "959595959595"}},
            "Payload": {
                "OpportunityInvitation": {
                    "ReceiverResponsibilities": ["Distributor"],
                    "Customer": {"Industry": "Other", "CompanyName": "Acme", "WebsiteUrl": "https://acme.example",
                                 "CountryCode": "US"},
                    "Project": {
                        "Title": "Shared",
                        "BusinessProblem": "A problem worth twenty characters",
                        "TargetCompletionDate": "2027-10-04",
                        "ExpectedCustomerSpend": [
                            {"Amount": "100.00", "TargetCompany": "AWS", "CurrencyCode": "USD", "Frequency": "Monthly"}
                        ],
                    },
                    "SenderContacts": [{"Email": "a@partner.example"}],
                }
            },
        },
    )["Id"]  # fmt: skip
    theirs = sb.service.partner_accepts("Sandbox", invitation, company="Other Partner", website="https://other.example")
    snaps = read_resource_snapshots(_conn(sb))
    assert snaps["ResourceId"].tolist() == [theirs]  # not this account's own snapshot
    assert snaps.loc[0, "CreatedBy"] == "959595959595"
    assert snaps.loc[0, "EngagementId"] == task["EngagementId"]
    model = set(output_schema("GetResourceSnapshot").columns())
    assert set(snaps.columns) <= model and "Payload.OpportunitySummary.Lifecycle.Stage" in snaps.columns
    both = read_resource_snapshots(_conn(sb), others_only=False)
    assert set(both["ResourceId"]) == {theirs, "O7000000014"}


# -- (e) the command line ----------------------------------------------------------------------------------------


def test_the_cli_writes_the_leads_workbook_and_pushes_it(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    where = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
    path = tmp_path / "leads.xlsx"
    assert main(["leads", *where, "--out", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5 leads from Sandbox" in out and "4 waiting for a decision" in out and "opptoolkit push leads.xlsx" in out
    _edit(path, {2: {DECISION: "accept", "QualificationStatus": "Qualified", CONVERT: "yes"}})
    push = ["push", str(path), *where, "--writes-per-second", "1000", "--ledger", str(tmp_path / "l")]
    assert main(push) == 0
    out = capsys.readouterr().out
    assert "3 lead steps: 3 succeeded." in out
    (made,) = {r["Id"] for r in sb.records("Sandbox") if r["Project"].get("Title") == "Converted from Lead"}
    assert f"row 2: opportunity {made}" in out
    assert main(push) == 0
    assert "3 lead steps: 3 already done earlier." in capsys.readouterr().out
    # an expired lead accepted: refused before a call, said on one line with the row
    _edit(path, {6: {DECISION: "accept"}})
    assert main(push) == 1
    err = capsys.readouterr().err
    assert "row 6 AcceptEngagementInvitation [invalid] " in err and "(INVALID_RESOURCE_STATE)" in err
    assert "expired on" in err and len(err.splitlines()) == 1


def test_a_misspelled_choice_is_refused_before_any_call_by_row_and_label_with_a_did_you_mean(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    conn = _conn(sb)
    leads = read_leads(conn)
    row = _pending_row(leads)
    path = write_leads(leads, tmp_path / "leads.xlsx")
    edits = {DECISION: "accept", "QualificationStatus": "Qualified", CONVERT: "yes", "Solutions": "S-0000002"}
    _edit(path, {row: {**edits, "Submit": "Co-Sel"}, row + 1: {DECISION: "acept"}})
    calls = dict(sb.service.calls)
    res = push_leads(path, conn, ledger=tmp_path / "l")
    assert dict(sb.service.calls) == calls  # neither the accept nor the convert before the submission is sent
    assert res[["row", "status", "error_code"]].values.tolist() == [
        [str(row), "invalid", "INVALID_ENUM_VALUE"], [str(row + 1), "invalid", "INVALID_ENUM_VALUE"]
    ]  # fmt: skip
    submit, decision = res["error_message"].tolist()
    assert submit.startswith(f"{label_for('Submit')}: ") and "did you mean 'Co-Sell'?" in submit
    assert "AwsSubmission" not in submit
    assert decision.startswith(f"{label_for(DECISION)}: ") and "did you mean 'accept'?" in decision
    # the command line says it on one line with the row
    where = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--ledger", str(tmp_path / "l2")]
    assert main(["push", str(path), *where]) == 1
    err = capsys.readouterr().err
    assert f"row {row} " in err and "did you mean 'Co-Sell'?" in err
    assert dict(sb.service.calls) == calls


def _readme_actions() -> set[str]:
    """The IAM actions README's "Leads" section lists for its steps."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Leads: from AWS", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z][A-Za-z]+)`", section.split("The IAM actions", 1)[1]))


def test_the_readme_names_the_iam_action_of_every_call_the_flow_makes(sb, tmp_path):
    from opptoolkit.schema import service_model

    actions = _readme_actions()
    assert actions and actions <= set(service_model().operation_names)
    conn = _conn(sb)
    leads = read_leads(conn)
    path = write_leads(leads, tmp_path / "leads.xlsx")
    edits = {DECISION: "accept", "QualificationStatus": "Qualified", CONVERT: "yes", "Solutions": "S-0000002"}
    _edit(path, {_pending_row(leads): {**edits, "Submit": "Co-Sell"}})
    res = push_leads(path, conn, ledger=tmp_path / "l")
    # a converted lead is a Prospect: AWS was recorded taking its submission, the guide asks otherwise
    (warned,) = res.loc[res["operation"] == "StartEngagementFromOpportunityTask", "warnings"]
    assert [w.split(":")[0] for w in warned] == ["LifeCycle.Stage"]
    assert res.loc[res["operation"] != "StartEngagementFromOpportunityTask", "warnings"].map(len).eq(0).all()
    snapshot_health(conn)
    read_engagements(conn)
    read_resource_snapshots(conn)
    assert set(sb.service.calls) - actions == set()


def test_the_reports_referrals_section_counts_leads(sb, tmp_path):
    from opptoolkit.report import referral_decisions, referrals_by_expiry

    inv = read_invitations(_conn(sb))
    view = referrals_by_expiry(inv)
    assert view["leads"].sum() == 5 and view["invitations"].sum() == int(
        inv["Status"].isin(["PENDING", "EXPIRED"]).sum()
    )
    expired = view.set_index("bucket").loc["expired, not answered"]
    assert expired["leads"] == 1 and "Evergreen Learning" in expired["customers"]  # a lead's customer named too
    pending = inv[inv["Status"] == "PENDING"]
    lead, referral = (pending.index[pending["PayloadType"] == t][0] for t in (LEAD, REFERRAL))
    inv.loc[[lead, referral], DECISION] = "accept"
    push_decisions(inv, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    decided = referral_decisions(tmp_path / "l", invitations=inv).set_index("Id")
    assert decided.loc[inv.loc[lead, "Id"], ["decision", "kind"]].tolist() == ["accepted", "lead"]
    assert decided.loc[inv.loc[referral, "Id"], ["decision", "kind"]].tolist() == ["accepted", "referral"]
    assert decided.loc[inv.loc[lead, "Id"], "customer"] == inv.loc[lead, f"Payload.{LEAD}.Customer.CompanyName"]
    frame = ot.read_opportunities(_conn(sb), identifiers=["O7000000014"])
    views = ot.write_report(frame, tmp_path / "report.html", invitations=inv, ledger=tmp_path / "l")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert ">Of them leads<" in page and views["Referrals by expiry"]["leads"].sum() == 5


def test_a_leads_push_writes_a_results_workbook_to_work_from(sb, tmp_path, capsys):
    """As a pipeline push does: the sheet again (to fix and push again), then a Results sheet, problems first."""
    from opptoolkit.cli import main
    from opptoolkit.leads import write_lead_results
    from opptoolkit.sheets import HEADS, RESULTS_SHEET

    where = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", "1000"]
    path = tmp_path / "leads.xlsx"
    assert main(["leads", *where, "--out", str(path)]) == 0
    _edit(path, {2: {DECISION: "accept", "QualificationStatus": "Qualified"}, 6: {DECISION: "accept"}})
    push = ["push", str(path), *where, "--writes-per-second", "1000", "--ledger", str(tmp_path / "l")]
    assert main(push) == 1  # the expired lead's accept is refused
    assert f"results: {tmp_path / 'leads.results.xlsx'}" in capsys.readouterr().out
    wb = load_workbook(tmp_path / "leads.results.xlsx")
    assert wb.sheetnames[:3] == [LEADS_SHEET, RESULTS_SHEET, "Read me"]
    table = list(wb[RESULTS_SHEET].iter_rows(values_only=True))
    assert list(table[0]) == HEADS
    lines = [dict(zip(HEADS, r, strict=True)) for r in table[1:] if r[0] is not None]
    assert [(x["Row"], x["Status"]) for x in lines] == [(6, "invalid"), (2, "succeeded"), (2, "succeeded")]
    assert lines[0]["Message"].startswith("Accept the invitation: not sent: fix the cell named here")
    assert "expired on" in lines[0]["Message"] and lines[0]["Code"] == "INVALID_RESOURCE_STATE"
    assert lines[2]["Message"] == "Update the lead: done." and lines[2]["Changed fields"] == "Qualification status"
    # the results workbook is the sheet again: pushed, every step done is skipped and nothing is sent twice
    calls = dict(sb.service.calls)
    again = ot.push_leads(tmp_path / "leads.results.xlsx", "Sandbox", ledger=tmp_path / "l",
                          endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert set(again.loc[again["row"] == "2", "status"]) == {"skipped"}
    assert sb.service.calls["AcceptEngagementInvitation"] == calls["AcceptEngagementInvitation"] == 1
    assert sb.service.calls["UpdateEngagementContext"] == calls["UpdateEngagementContext"] == 1
    # the Python verb writes the same workbook
    out = write_lead_results(again, tmp_path / "leads.results.xlsx", tmp_path / "again.xlsx")
    assert load_workbook(out).sheetnames[:2] == [LEADS_SHEET, RESULTS_SHEET]
