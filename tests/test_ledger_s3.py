"""A push ledger shared on S3 (moto's S3 server on 127.0.0.1): the same entries as a folder's, one lease at a
time, and two analysts' processes pushing against one account: every row applied exactly once, the daily
budget kept between them, through kill -9, a frozen process whose lease was taken over, and injected 500s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import boto3
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.ledger import Ledger, LedgerEntry, read_ledger
from opptoolkit.referrals import DECISION
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.storage import Precondition, S3Place

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


def _entries(book: Ledger, n: int) -> list[LedgerEntry]:
    return [
        LedgerEntry(job_id=book.job_id, row=str(i), Id=f"O{i:010d}", status="succeeded", writes=1) for i in range(n)
    ]


def test_the_local_s3_server_honours_conditional_writes(s3):
    """What the lease and the journal rely on: a second create and a stale replace are refused (412)."""
    place = S3Place(f"{s3}/p")
    etag = place.put("x", b"1", if_none_match=True)
    with pytest.raises(Precondition):
        place.put("x", b"2", if_none_match=True)
    with pytest.raises(Precondition):
        place.put("x", b"3", if_match='"not-its-etag"')
    place.put("x", b"4", if_match=etag)
    assert place.get("x") is not None and place.get("x")[0] == b"4"


def test_an_s3_ledger_reads_as_a_folders_and_compacts(s3, tmp_path):
    uri = f"{s3}/ledger"
    Ledger.PART_ROWS, before = 7, Ledger.PART_ROWS
    try:
        for path in (uri, tmp_path / "l"):
            with Ledger(path, job_id="j1") as book, book.lock():
                for e in _entries(book, 10):
                    book.write(e)
        local, remote = read_ledger(tmp_path / "l"), read_ledger(uri)
        cols = ["job_id", "row", "Id", "status", "writes"]
        pd.testing.assert_frame_equal(remote[cols], local[cols])
        names = S3Place(uri).list()
        assert not [n for n in names if n.startswith("journal-")]  # compacted when the push let it go
        assert len([n for n in names if n.startswith("part-")]) == 1 and ".lease" not in names
        assert Ledger(uri).key({"a": 1}) == Ledger(uri).key({"a": 1}) != Ledger(tmp_path / "l").key({"a": 1})
        assert Ledger(uri).writes_since() == 10
    finally:
        Ledger.PART_ROWS = before


def test_a_second_push_waits_for_the_lease_then_gives_up_with_a_plain_message(s3):
    uri = f"{s3}/ledger"
    first, second = Ledger(uri), Ledger(uri)
    second.LEASE_WAIT = timedelta(seconds=0.5)
    match = r"the ledger s3://.* is in use by .*wait for it to finish"
    with first.lock(), pytest.raises(ot.OpptoolkitError, match=match), second.lock():
        pass
    with second.lock():  # let go: the next push takes it at once
        second.write(_entries(second, 1)[0])


@pytest.fixture
def export(sb, pulled):
    """``sb``'s pipeline as a full pull reads it (conftest's ``pulled``, read once a session)."""
    return pulled.copy()


def _editable(df: pd.DataFrame, n: int) -> list[int]:
    ok = (df["LifeCycle.ReviewStatus"] == "Pending Submission") & ~df["LifeCycle.Stage"].isin(
        ["Launched", "Closed Lost"]
    )
    return list(df.index[ok][:n])


# One analyst's push, in a process of its own: the ledger on S3, a short lease so a killed one expires soon.
_PUSH = """
import sys
from datetime import timedelta
import pandas as pd, opptoolkit as ot
from opptoolkit.ledger import Ledger
Ledger.LEASE_TTL, Ledger.LEASE_WAIT = timedelta(seconds=3), timedelta(seconds=120)
edited, base = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
ot.push_updates(edited, "Sandbox", ledger=sys.argv[3], base=base, endpoint_url=sys.argv[4],
                daily_write_budget=int(sys.argv[5]), reads_per_second=1000, writes_per_second=1000, progress=False)
"""


def _push(tmp_path, uri: str, sb: Sandbox, budget: int) -> subprocess.Popen:
    args = [str(tmp_path / "edited.parquet"), str(tmp_path / "base.parquet"), uri, sb.endpoint_url, str(budget)]
    return subprocess.Popen([sys.executable, "-c", _PUSH, *args], stderr=subprocess.PIPE, text=True)


def _wait_for(cond, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_two_analysts_through_one_s3_ledger_apply_each_row_once_within_one_budget_one_killed(sb, export, s3, tmp_path):
    uri = f"{s3}/team/ledger"
    rows = _editable(export, 30)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Team {i}" for i in range(len(rows))]
    edited.to_parquet(tmp_path / "edited.parquet")
    export.to_parquet(tmp_path / "base.parquet")
    sb.service.config.latency = 0.05
    budget = 20

    killed = _push(tmp_path, uri, sb, budget)
    _wait_for(lambda: len(sb.service.applied) >= 5)
    os.kill(killed.pid, signal.SIGKILL)  # mid-push: its lease stays until it expires, an entry may be in flight
    killed.wait()
    assert 5 <= len(sb.service.applied) < budget, "the push was not killed mid-run"
    # two analysts start the same push at once, against the same account and the same ledger
    a, b = _push(tmp_path, uri, sb, budget), _push(tmp_path, uri, sb, budget)
    assert a.wait(timeout=180) == 0, a.stderr.read() if a.stderr else ""
    assert b.wait(timeout=180) == 0, b.stderr.read() if b.stderr else ""
    applied = dict(sb.service.applied)
    assert set(applied.values()) == {1}  # never a row twice
    writes = sb.service.calls.get("UpdateOpportunity", 0)
    assert len(applied) <= writes <= budget  # together within the one daily budget
    ledger = read_ledger(uri)
    assert ot.ledger.Ledger(uri).writes_since() >= writes  # the ledger counts every write sent (a crash's too)
    assert set(ledger.loc[ledger["status"] == "deferred", "reason"]) == {"DAILY_BUDGET"}

    # the next day's budget: everything left goes, once; nothing is lost
    sb.service.config.latency = 0.0
    last = ot.push_updates(edited, "Sandbox", ledger=uri, base=export, endpoint_url=sb.endpoint_url,
                           daily_write_budget=100, **FAST)  # fmt: skip
    assert set(last["status"]) <= {"succeeded", "unchanged"}
    assert sb.service.applied == {i: 1 for i in edited["Id"]}
    for ident, title in zip(edited["Id"], edited["Project.Title"], strict=True):
        assert sb.record("Sandbox", ident)["Project"]["Title"] == title


def test_a_frozen_push_whose_lease_was_taken_over_sends_nothing_more(sb, export, s3, tmp_path):
    """A laptop that sleeps mid-push (SIGSTOP past the lease): another push takes the expired lease; the frozen
    one, woken (SIGCONT), finds it lost its lease at its next write and stops before sending."""
    uri = f"{s3}/ledger"
    rows = _editable(export, 25)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Frozen {i}" for i in range(len(rows))]
    edited.to_parquet(tmp_path / "edited.parquet")
    export.to_parquet(tmp_path / "base.parquet")
    sb.service.config.latency = 0.1
    frozen = _push(tmp_path, uri, sb, 100)
    _wait_for(lambda: len(sb.service.applied) >= 3)
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        time.sleep(4)  # past its 3 s lease
        sb.service.config.latency = 0.0
        taker = _push(tmp_path, uri, sb, 100)
        assert taker.wait(timeout=120) == 0, taker.stderr.read() if taker.stderr else ""
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    frozen.wait(timeout=60)
    assert sb.service.applied == {i: 1 for i in edited["Id"]}
    assert "lost its lease" in (frozen.stderr.read() if frozen.stderr else "")


def test_writes_answered_500_after_they_landed_are_applied_once_through_an_s3_ledger(export, s3, tmp_path):
    config = SandboxConfig.fast(fault_after_commit_rate=0.5, fault_operations=frozenset({"UpdateOpportunity"}), seed=3)
    with Sandbox(config=config) as sb:
        rows = _editable(export, 8)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = [f"Faulty {i}" for i in range(len(rows))]
        result = ot.push_updates(edited, "Sandbox", ledger=f"{s3}/l", base=export, endpoint_url=sb.endpoint_url, **FAST)
        assert set(result["status"]) == {"succeeded"}
        assert sb.service.applied == {i: 1 for i in edited["Id"]}


@pytest.fixture
def team(s3, tmp_path, monkeypatch) -> boto3.Session:
    """A named profile, the only credentials there are: the default chain finds none."""
    creds = tmp_path / "credentials"
    creds.write_text("[team]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    (tmp_path / "config").write_text("[profile team]\nregion = us-east-1\n")
    for name, value in {
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    return boto3.Session(profile_name="team")


def test_every_write_verb_reaches_an_s3_ledger_with_its_own_session(sb, export, s3, team, tmp_path):
    """push, submit, assign and the referral decisions open an s3:// ledger with the session they were given
    (``--profile``), not the default credential chain, which has none here."""
    uri = f"{s3}/ledger"
    edited = export.loc[_editable(export, 2)].copy()
    edited["LifeCycle.NextSteps"] = ["Call the CFO", "Send the proposal"]
    kw = dict(ledger=uri, endpoint_url=sb.endpoint_url, boto3_session=team, **FAST)
    assert set(ot.push_updates(edited, "Sandbox", base=export, **kw)["status"]) == {"succeeded"}
    pending = [r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission"]
    assert len(ot.submit_opportunities(pending[:1], "Sandbox", involvement_type="Co-Sell", **kw)) == 1
    person = {
        "Email": "ana@partner.example",
        "FirstName": "Ana",
        "LastName": "Lee",
        "BusinessTitle": "OpportunityOwner",
    }
    assert len(ot.assign_opportunities(pending[1:2], "Sandbox", assignee=person, **kw)) == 1
    triage = ot.read_invitations("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
    triage.loc[triage.index[triage["Status"] == "PENDING"][:1], DECISION] = "accept"
    assert len(ot.push_decisions(triage, "Sandbox", **kw)) == 1
    operations = read_ledger(uri, boto3_session=team)["operation"]
    assert {"UpdateOpportunity", "StartEngagementFromOpportunityTask", "AssignOpportunity"} <= set(operations)
    assert "AcceptEngagementInvitation" in set(operations) or "StartEngagementByAcceptingInvitationTask" in set(
        operations
    )


def test_the_cli_push_reaches_an_s3_ledger_with_its_profile(sb, export, s3, team, tmp_path, capsys):
    edited = export.loc[_editable(export, 1)].copy()
    edited["LifeCycle.NextSteps"] = "Call the CFO"
    path = ot.write_sheet(edited, tmp_path / "edited.xlsx", headers="path")
    export.to_parquet(tmp_path / "base.parquet")
    code = main(["push", str(path), "--base", str(tmp_path / "base.parquet"), "--catalog", "Sandbox", "--endpoint-url",
                 sb.endpoint_url, "--profile", "team", "--ledger", f"{s3}/ledger", "--writes-per-second", "1000",
                 "--reads-per-second", "1000"])  # fmt: skip
    assert code == 0, capsys.readouterr()
    assert read_ledger(f"{s3}/ledger", boto3_session=team)["status"].tolist()[-1] == "succeeded"


def test_a_lead_pushed_into_an_s3_ledger_uses_the_connections_session(s3, team, tmp_path):
    """push_leads opens the s3:// ledger with the connection's session at every step (the accept's decision calls
    and the submission read it too), not the default credential chain, which has none here."""
    from opptoolkit.leads import push_leads, read_leads

    with Sandbox(config=SandboxConfig.fast(), leads=True) as s:
        conn = ot.connect("Sandbox", boto3_session=team, endpoint_url=s.endpoint_url, **FAST)
        leads = read_leads(conn)
        edited = leads.copy()
        row = edited.index[edited["InvitationStatus"] == "PENDING"][0]
        edited.loc[row, ["Decision", "Convert", "Solutions", "Submit"]] = ["accept", "yes", "S-0000002", "Co-Sell"]
        res = push_leads(edited, conn, base=leads, ledger=f"{s3}/ledger")
        assert set(res["status"]) == {"succeeded"} and len(res) == 4
        assert set(read_ledger(f"{s3}/ledger", boto3_session=team)["operation"]) >= {
            "AcceptEngagementInvitation",
            "StartEngagementFromOpportunityTask",
        }
