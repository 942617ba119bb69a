"""The one ledgered runner (opptoolkit.execute) with calls of its own, through a real boto3 client over HTTP against the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.exceptions import Problem
from opptoolkit.execute import Call, Runner, run_calls
from opptoolkit.frame import payload_from_record
from opptoolkit.ledger import Ledger
from opptoolkit.sandbox import Sandbox, SandboxConfig

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


def _no_retries(sb: Sandbox, **config):
    return sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **config))


def _drafts(sb: Sandbox, n: int) -> list[str]:
    """Opportunities with no solution yet."""
    return [r["Id"] for r in sb.records("Sandbox") if not r.get("RelatedEntityIdentifiers", {}).get("Solutions")][:n]


def _associate(ident: str, solution: str, row: str = "2") -> Call:
    params = dict(Catalog="Sandbox", OpportunityIdentifier=ident, RelatedEntityType="Solutions",
                  RelatedEntityIdentifier=solution)  # fmt: skip
    return Call(row, "AssociateOpportunity", ident, params, fields=["RelatedEntityIdentifiers.Solutions"])


def _solutions(sb: Sandbox, ident: str) -> list[str]:
    return sb.record("Sandbox", ident).get("RelatedEntityIdentifiers", {}).get("Solutions", [])


def test_calls_are_sent_once_and_a_rerun_skips_them(sb, tmp_path):
    ids = _drafts(sb, 3)
    calls = [_associate(i, "S-0000002", str(n)) for n, i in enumerate(ids, 2)]
    result = run_calls(calls, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["succeeded"] * 3
    assert result["row"].tolist() == ["2", "3", "4"]
    assert result["operation"].tolist() == ["AssociateOpportunity"] * 3
    assert result["writes"].tolist() == [1, 1, 1]
    assert all(_solutions(sb, i) == ["S-0000002"] for i in ids)
    again = run_calls(calls, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert again["status"].tolist() == ["skipped"] * 3
    assert sb.service.calls["AssociateOpportunity"] == 3  # the rerun sent nothing
    log = ot.read_ledger(tmp_path / "l")
    assert log["status"].tolist() == ["in_flight", "succeeded"] * 3
    assert set(log["operation"]) == {"AssociateOpportunity"}
    assert log["row"].tolist() == ["2", "2", "3", "3", "4", "4"]


def test_an_unknown_outcome_is_read_back_and_not_sent_again(tmp_path):
    """A 500 after the association was applied, no retry left: unknown; the rerun reads the record back
    (GetOpportunity's RelatedEntityIdentifiers), finds the solution, and records success without a write."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"AssociateOpportunity"}))
    with Sandbox(config=config) as sb:
        (ident,) = _drafts(sb, 1)
        calls = [_associate(ident, "S-0000001")]
        first = run_calls(calls, ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert first["status"].tolist() == ["unknown"]
        assert first["error_code"].tolist() == ["InternalServerException"]
        assert _solutions(sb, ident) == ["S-0000001"]
        reads = sb.service.calls.get("GetOpportunity", 0)
        again = run_calls(calls, ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert again["status"].tolist() == ["succeeded"]
        assert again["writes"].tolist() == [0]
        assert sb.service.calls["AssociateOpportunity"] == 1
        assert sb.service.calls["GetOpportunity"] == reads + 1


def test_an_unknown_outcome_that_did_not_land_is_sent_again(tmp_path):
    config = SandboxConfig.fast(fault_rate=1.0, fault_operations=frozenset({"AssociateOpportunity"}))
    with Sandbox(config=config) as sb:
        (ident,) = _drafts(sb, 1)
        calls = [_associate(ident, "S-0000001")]
        first = run_calls(calls, ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert first["status"].tolist() == ["unknown"]  # a 500: the client cannot tell it was not applied
        sb.service.config.fault_rate = 0.0
        again = run_calls(calls, ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert again["status"].tolist() == ["succeeded"] and again["writes"].tolist() == [1]
        assert _solutions(sb, ident) == ["S-0000001"]


def test_an_operation_with_a_client_token_is_resent_with_the_same_token(tmp_path):
    """CreateOpportunity takes a ClientToken (the model's idempotencyToken): after a 500-after-commit the
    rerun sends it again with the same token, and the service answers with the opportunity it made."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"CreateOpportunity"}))
    with Sandbox(config=config) as sb:
        template = next(r for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")
        params = payload_from_record(template)
        for k in ("Identifier", "LastModifiedDate"):
            params.pop(k)
        calls = [Call("2", "CreateOpportunity", "", params)]
        before = sb.store.count("Sandbox")
        first = run_calls(calls, ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert first["status"].tolist() == ["unknown"]
        sb.service.config.fault_after_commit_rate = 0.0
        again = run_calls(calls, ledger=tmp_path / "l", client=_no_retries(sb), **FAST)
        assert again["status"].tolist() == ["succeeded"]
        assert sb.store.count("Sandbox") == before + 1  # created once
        assert sb.service.calls["CreateOpportunity"] == 2
        assert again["response"][0]["Id"].startswith("O")


def test_the_daily_budget_defers_and_invalid_calls_spend_nothing(sb, tmp_path):
    ids = _drafts(sb, 3)
    calls = [_associate(i, "S-0000001") for i in ids]
    calls[0].problems = [Problem("2", "RelatedEntityIdentifiers.Solutions", "TOO_MANY_VALUES", "at most 10")]
    result = run_calls(calls, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, daily_write_budget=1, **FAST)
    assert result["status"].tolist() == ["invalid", "succeeded", "deferred"]
    assert result["error_code"][0] == "TOO_MANY_VALUES"
    assert result["reason"][2] == "DAILY_BUDGET"
    assert sb.service.calls["AssociateOpportunity"] == 1


def test_a_refused_call_is_failed_with_the_services_code(sb, tmp_path):
    (ident,) = _drafts(sb, 1)
    result = run_calls([_associate(ident, "S-9999999")], ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["failed"]
    assert result["error_code"].tolist() == ["ResourceNotFoundException"]


def test_an_unreachable_endpoint_stops_with_the_rows_so_far(sb, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ids = _drafts(sb, 2)
    client = ot.get_client(endpoint_url=f"http://127.0.0.1:{port}", config=Config(connect_timeout=1))
    with pytest.raises(ot.ServiceUnreachable, match="cannot reach") as e:
        run_calls([_associate(i, "S-0000001") for i in ids], ledger=tmp_path / "l", client=client, **FAST)
    assert e.value.result["status"].tolist() == ["failed"]  # the first call; nothing was sent


def test_an_operation_that_cannot_be_sent_exactly_once_is_refused(sb, tmp_path):
    call = Call("2", "AssignOpportunity", "O1", {"Catalog": "Sandbox"})
    runner = Runner(sb.client(), Ledger(tmp_path / "l"), checks={})
    with pytest.raises(ValueError, match="exactly once"):
        runner.one(call)


_SCRIPT = """
import sys, json
from opptoolkit.execute import Call, run_calls
ids = json.loads(sys.argv[2])
calls = [Call(str(n), "AssociateOpportunity", i, dict(Catalog="Sandbox", OpportunityIdentifier=i,
         RelatedEntityType="Solutions", RelatedEntityIdentifier="S-0000003")) for n, i in enumerate(ids, 2)]
run_calls(calls, ledger=sys.argv[1], endpoint_url=sys.argv[3], reads_per_second=1000, writes_per_second=1000,
          progress=False)
"""


def test_a_run_killed_mid_way_and_rerun_sends_every_call_exactly_once(sb, tmp_path):
    import json

    ids = _drafts(sb, 30)
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(tmp_path / "l"), json.dumps(ids), sb.endpoint_url])
    deadline = time.monotonic() + 60
    while sb.service.calls.get("AssociateOpportunity", 0) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    sent = sb.service.calls["AssociateOpportunity"]
    assert 5 <= sent < len(ids), "the run was not killed mid-way"
    sb.service.config.latency = 0.0
    calls = [_associate(i, "S-0000003", str(n)) for n, i in enumerate(ids, 2)]
    result = run_calls(calls, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert set(result["status"]) <= {"succeeded", "skipped"}
    assert sb.service.calls["AssociateOpportunity"] == len(ids)  # none sent twice
    assert all(_solutions(sb, i) == ["S-0000003"] for i in ids)
    log = ot.read_ledger(tmp_path / "l")
    assert set(log.loc[log["status"] == "succeeded", "Id"]) == set(ids)


def test_a_task_the_service_settles_as_failed_is_failed_in_the_ledger(sb, tmp_path):
    """StartEngagementFromOpportunityTask answers 200 with TaskStatus FAILED: the call's outcome is failed."""
    # an Approved record: the submission fails (sent here without the readiness check)
    ident = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Approved")
    params = dict(Catalog="Sandbox", Identifier=ident, AwsSubmission={"InvolvementType": "Co-Sell"})
    call = Call("2", "StartEngagementFromOpportunityTask", ident, params)
    out = run_calls([call], ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert (out["status"][0], out["error_code"][0]) == ("failed", "OpportunityValidationFailed")
    assert out["response"][0]["TaskStatus"] == "FAILED"
    log = ot.read_ledger(tmp_path / "l")
    assert log["status"].tolist() == ["in_flight", "failed"] and log["error_code"].tolist()[-1] == (
        "OpportunityValidationFailed"
    )


def test_botocores_retries_of_a_call_stop_at_the_daily_budget(tmp_path):
    config = SandboxConfig.fast(fault_rate=1.0, fault_operations=frozenset({"AssociateOpportunity"}))
    with Sandbox(config=config) as sb:
        ids = _drafts(sb, 2)
        calls = [_associate(i, "S-0000001", str(n)) for n, i in enumerate(ids, 2)]
        result = run_calls(calls, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, daily_write_budget=1, **FAST)
        assert sb.service.calls["AssociateOpportunity"] == 1  # botocore's retry of the 500 did not go
        assert result["status"].tolist() == ["unknown", "deferred"] and result["writes"].tolist() == [1, 0]
        assert ot.read_ledger(tmp_path / "l")["writes"].sum() == 1
