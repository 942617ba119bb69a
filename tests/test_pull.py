"""Pull and sync against the sandbox, through a real boto3 client over HTTP."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pandas as pd
import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.cli import main as cli
from opptoolkit.sandbox import Sandbox, SandboxConfig

FAST = 1000.0  # reads per second for tests: the sandbox's quota is raised to match


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("Id").reset_index(drop=True)


def test_full_pull_equals_the_store(sb):
    df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    expected = ot.to_frame(sb.records("Sandbox"))
    pd.testing.assert_frame_equal(_sorted(df), _sorted(expected))
    assert df.attrs["failures"] == []
    assert df.attrs["calls"] == {"ListOpportunities": 3, "GetOpportunity": 300}


def test_catalog_is_required_and_catalogs_differ(sb):
    with pytest.raises(TypeError):
        ot.read_opportunities(endpoint_url=sb.endpoint_url)  # type: ignore[call-arg]
    aws = ot.read_opportunities("AWS", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    assert set(aws["Catalog"]) == {"AWS"} and len(aws) == 40


@pytest.mark.parametrize(
    ("kw", "predicate"),
    [
        ({"stages": ["Committed", "Launched"]}, lambda r: r["LifeCycle"]["Stage"] in ("Committed", "Launched")),
        ({"review_statuses": ["Action Required"]}, lambda r: r["LifeCycle"]["ReviewStatus"] == "Action Required"),
        ({"modified_after": "2026-11-17"}, lambda r: r["LastModifiedDate"] > datetime(2026, 11, 17, tzinfo=UTC)),
        ({"created_before": datetime(2026, 3, 1, tzinfo=UTC)}, lambda r: r["CreatedDate"] < datetime(2026, 3, 1, tzinfo=UTC)),
        ({"close_after": "2027-01-01", "close_before": "2027-03-01"},
         lambda r: "2027-01-01" < r["LifeCycle"]["TargetCloseDate"] < "2027-03-01"),
    ],
)  # fmt: skip
def test_filters(sb, kw, predicate):
    df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST, **kw)
    expected = {r["Id"] for r in sb.records("Sandbox") if predicate(r)}
    assert expected and set(df["Id"]) == expected


def test_identifier_and_customer_filters(sb):
    recs = sb.records("Sandbox")[5:8]
    df = ot.read_opportunities(
        "Sandbox", endpoint_url=sb.endpoint_url, progress=False, identifiers=[r["Id"] for r in recs]
    )
    assert set(df["Id"]) == {r["Id"] for r in recs}
    name = recs[0]["Customer"]["Account"]["CompanyName"]
    df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, customer_names=[name])
    assert set(df["Customer.Account.CompanyName"]) == {name}


def test_summary_only_is_cheap_and_has_the_same_schema(sb):
    df = ot.read_opportunities(
        "Sandbox", endpoint_url=sb.endpoint_url, progress=False, summary_only=True, reads_per_second=FAST
    )
    assert df.attrs["calls"] == {"ListOpportunities": 3}
    assert len(df) == 300 and set(ot.to_frame([]).columns) <= set(df.columns)  # every field of the model
    assert df["Marketing.Source"].isna().all() and df["LifeCycle.Stage"].notna().all()


def test_throttled_runs_complete():
    """The client paces faster than the sandbox allows: the server throttles, boto3 retries."""
    with Sandbox(config=SandboxConfig.fast(read_rate=10, read_burst=1)) as sb:
        df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=200,
                                   identifiers=[r["Id"] for r in sb.records("Sandbox")[:20]])  # fmt: skip
        assert sb.service.throttled > 0
        assert len(df) == 20 and df.attrs["failures"] == []


def test_a_record_that_still_fails_is_reported_not_dropped(caplog):
    config = SandboxConfig.fast(fault_rate=0.3, fault_operations=frozenset({"GetOpportunity"}), seed=3)
    with Sandbox(config=config) as sb, caplog.at_level(logging.WARNING, logger="opptoolkit"):
        client = sb.client(config=Config(retries={"mode": "standard", "max_attempts": 1}))
        df = ot.read_opportunities("Sandbox", client=client, progress=False, reads_per_second=FAST)
        failed = {f["Id"] for f in df.attrs["failures"]}
        # a library user learns of them from one line, not one per record (the frame holds each)
        assert [r.getMessage() for r in caplog.records] == [f"GetOpportunity: {len(failed)} of 300 reads failed; "
                                                            "each is listed with its error"]  # fmt: skip
        assert failed and {f["code"] for f in df.attrs["failures"]} == {"InternalServerException"}
        assert set(df["Id"]) | failed == {r["Id"] for r in sb.records("Sandbox")}
        assert not set(df["Id"]) & failed


def test_incremental_sync_fetches_only_what_changed(sb, tmp_path):
    first = ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    assert first.full and first.total == 300 and first.calls["GetOpportunity"] == 300
    changed = [r["Id"] for r in sb.records("Sandbox")[::100]]
    for ident in changed:
        sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(NextSteps="Call the CFO"))
    second = ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    assert not second.full
    assert second.calls == {"ListOpportunities": 1, "GetOpportunity": len(changed)}
    assert (second.updated, second.added, second.total) == (len(changed), 0, 300)
    mirror = ot.read_mirror(tmp_path)
    fresh = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    pd.testing.assert_frame_equal(_sorted(mirror), _sorted(fresh))
    third = ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    assert third.fetched == 0 and third.calls == {"ListOpportunities": 1}


def test_sync_picks_up_new_opportunities_and_refuses_another_catalog(sb, tmp_path):
    ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    body = ot.payload_from_record(sb.records("Sandbox")[0])
    for k in ("Identifier", "LastModifiedDate"):
        body.pop(k)
    body["LifeCycle"]["TargetCloseDate"] = "2030-01-31"
    new_id = sb.client().create_opportunity(ClientToken="sync-test", **body)["Id"]
    result = ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    assert result.added == 1 and new_id in set(ot.read_mirror(tmp_path)["Id"])
    with pytest.raises(ot.OpptoolkitError, match="mirrors catalog Sandbox"):
        ot.sync_mirror(tmp_path, "AWS", endpoint_url=sb.endpoint_url, progress=False)


def test_failed_records_hold_the_cursor_back(tmp_path, caplog):
    config = SandboxConfig.fast(fault_rate=0.2, fault_operations=frozenset({"GetOpportunity"}), seed=5)
    with Sandbox(config=config) as sb, caplog.at_level(logging.WARNING, logger="opptoolkit"):
        client = sb.client(config=Config(retries={"mode": "standard", "max_attempts": 1}))
        first = ot.sync_mirror(tmp_path, "Sandbox", client=client, progress=False, reads_per_second=FAST)
        assert first.failures and first.total == 300 - len(first.failures)
        assert len(caplog.records) == 1 and f"{len(first.failures)} of 300 reads failed" in caplog.text
        sb.service.config.fault_rate = 0.0
        second = ot.sync_mirror(tmp_path, "Sandbox", client=client, progress=False, reads_per_second=FAST)
        assert second.total == 300 and not second.failures
        assert {f["Id"] for f in first.failures} <= {r for r in ot.read_mirror(tmp_path)["Id"]}


_SYNC_SCRIPT = """
import sys, opptoolkit as ot
ot.sync_mirror(sys.argv[1], "Sandbox", endpoint_url=sys.argv[2], progress=False, reads_per_second=1000, max_workers=2)
"""


def test_a_sync_killed_mid_run_leaves_the_old_mirror_readable(sb, tmp_path):
    ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    before = ot.read_mirror(tmp_path)
    for r in sb.records("Sandbox"):
        sb.edit("Sandbox", r["Id"], lambda rec: rec["Project"].update(Title="Changed while syncing"))
    sb.service.config.latency = 0.02  # slow enough to kill it mid-run
    proc = subprocess.Popen([sys.executable, "-c", _SYNC_SCRIPT, str(tmp_path), sb.endpoint_url])
    time.sleep(2.0)
    assert proc.poll() is None, "the sync finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    pd.testing.assert_frame_equal(ot.read_mirror(tmp_path), before)  # the old snapshot, intact
    sb.service.config.latency = 0.0
    result = ot.sync_mirror(tmp_path, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    assert result.updated == 300 and set(ot.read_mirror(tmp_path)["Project.Title"]) == {"Changed while syncing"}


def test_cli_pull_and_sync(sb, tmp_path, capsys):
    out = tmp_path / "pipeline.xlsx"
    rc = cli(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--out", str(out),
              "--stage", "Qualified", "--reads-per-second", "1000", "--headers", "label"])  # fmt: skip
    assert rc == 0 and re.match(r"Pulled \d+ opportunities from the Sandbox catalog into ", capsys.readouterr().out)
    df = ot.read_sheet(out)
    assert set(df["LifeCycle.Stage"]) == {"Qualified"}
    rc = cli(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--out", str(tmp_path / "p.parquet"),
              "--reads-per-second", "1000"])  # fmt: skip
    assert rc == 0 and len(pd.read_parquet(tmp_path / "p.parquet")) == 300
    rc = cli(["sync", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--mirror", str(tmp_path / "m"),
              "--reads-per-second", "1000"])  # fmt: skip
    assert rc == 0 and "from the Sandbox catalog (a full pull)" in capsys.readouterr().out


# -- HTML entities: decoded exactly once on every read ------------------------------------------


def _pending_with_entities(sb: Sandbox) -> str:
    ident = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")

    def change(r: dict) -> None:
        r["Customer"]["Account"]["CompanyName"] = "Smith & Sons: Ltd"
        r["Project"]["CustomerBusinessProblem"] = "A literal &amp; and &lt;b&gt; typed by a user, kept exactly."

    sb.edit("Sandbox", ident, change)
    return ident


def test_reads_decode_free_text_once(sb):
    ident = _pending_with_entities(sb)
    stored = sb.record("Sandbox", ident)
    for summary_only in (False, True):
        df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, identifiers=[ident],
                                   summary_only=summary_only)  # fmt: skip
        assert df.loc[0, "Customer.Account.CompanyName"] == "Smith & Sons: Ltd"
    assert df.loc[0, "Project.CustomerBusinessProblem"] != df.loc[0, "Project.CustomerBusinessProblem"]  # NaN: summary
    full = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, identifiers=[ident])
    assert full.loc[0, "Project.CustomerBusinessProblem"] == stored["Project"]["CustomerBusinessProblem"]


def test_pull_edit_push_never_double_encodes(sb, tmp_path):
    ident = _pending_with_entities(sb)
    before = sb.record("Sandbox", ident)
    df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    edited = df.copy()
    edited.loc[edited["Id"] == ident, "Project.Title"] = "An unrelated edit"
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path, base=df, endpoint_url=sb.endpoint_url,
                             progress=False, writes_per_second=FAST)  # fmt: skip
    assert result.set_index("Id").loc[ident, "status"] == "succeeded"
    after = sb.record("Sandbox", ident)
    assert after["Project"]["Title"] == "An unrelated edit"
    for path in ("Customer.Account.CompanyName", "Project.CustomerBusinessProblem", "LifeCycle.NextSteps"):
        a, b = after, before
        for name in path.split("."):
            a, b = a.get(name, {}), b.get(name, {})
        assert a == b, path  # byte-identical: neither encoded once more nor decoded twice
    again = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, identifiers=[ident])
    assert again.loc[0, "Customer.Account.CompanyName"] == "Smith & Sons: Ltd"


def test_the_form_reads_and_reloads_decoded_text(sb, tmp_path):
    ident = _pending_with_entities(sb)
    form = ot.edit_opportunity(ident, "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path)
    assert form.base["Customer.Account.CompanyName"] == "Smith & Sons: Ltd"
    sb.edit("Sandbox", ident, lambda r: r["Customer"]["Account"].update(CompanyName="Jones & Co: GmbH"))
    form.reload(quiet=True)
    assert form.base["Customer.Account.CompanyName"] == "Jones & Co: GmbH"
    with pytest.raises(ot.OpptoolkitError, match="not found"):
        ot.edit_opportunity("O1", "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path)


def test_a_misspelled_filter_is_refused_before_any_call_with_a_did_you_mean(sb):
    """It used to spend a ListOpportunities call and answer a raw ValidationException (issue #31)."""
    with pytest.raises(ot.OpptoolkitError, match=r"'Qualifed' is not a stage: one of .*; did you mean 'Qualified'\?"):
        ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, stages=["Qualifed"], progress=False)
    with pytest.raises(ot.OpptoolkitError, match="did you mean 'Approved'"):
        ot.list_opportunities("Sandbox", client=sb.client(), review_statuses=["Aproved"])
    assert sb.service.calls.get("ListOpportunities", 0) == 0
    df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, stages=["closed lost"], summary_only=True,
                               progress=False, reads_per_second=1000)  # fmt: skip
    assert len(df) and set(df["LifeCycle.Stage"]) == {"Closed Lost"}
