"""Partner Central's EventBridge events: the sandbox sends them to an SQS queue on moto's server (127.0.0.1),
and a sync reads exactly the records they name; duplicates, reordering, removed records, failures that leave
their message on the queue, and the scheduled command."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.events import SOURCE, opportunity_ids, read_events, sync_events
from opptoolkit.sandbox import Sandbox, SandboxConfig

FAST = 1000.0


def _event(kind: str, detail: dict, time: str = "2025-02-19T04:20:25Z", catalog: str = "Sandbox") -> dict:
    """An event in the envelope of AWS's recorded ones (Postman collection, CloudWatch Logs answers)."""
    return {
        "version": "0",
        "id": f"{kind}-{time}",
        "detail-type": kind,
        "source": SOURCE,
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [],
        "detail": {"schemaVersion": "1", "catalog": catalog, **detail},
    }


def _opportunity(kind: str, ident: str, time: str = "2025-02-19T04:20:25Z", catalog: str = "Sandbox") -> dict:
    return _event(kind, {"opportunity": {"identifier": ident}}, time, catalog)


def test_the_recorded_shapes_name_their_opportunities():
    snapshot = _event(
        "Engagement Resource Snapshot Created",
        {"resourceSnapshot": {"engagementId": "eng-1", "resourceId": "O5465588", "resourceType": "Opportunity"}},
    )
    invitation = _event(
        "Engagement Invitation Created",
        {"engagementInvitation": {"id": "engi-1", "engagementId": "eng-2", "payloadType": "LeadInvitation"}},
    )
    other = {**_opportunity("Opportunity Updated", "O1"), "source": "aws.s3"}
    events = [
        _opportunity("Opportunity Updated", "O2", "2025-02-19T04:20:25Z"),
        _opportunity("Opportunity Created", "O2", "2025-02-19T03:11:25Z"),  # arrives after, happened before
        snapshot,
        invitation,
        other,
        _opportunity("Opportunity Updated", "O3", catalog="AWS"),
    ]
    assert opportunity_ids(events, "Sandbox") == ["O2", "O5465588"]
    assert opportunity_ids(events, "AWS") == ["O3"]


@pytest.fixture
def queue(s3) -> str:
    """An SQS queue on the local server (the ``s3`` fixture points boto3's SQS there too)."""
    return boto3.client("sqs").create_queue(QueueName=s3.removeprefix("s3://")[:70])["QueueUrl"]


def _queued(queue: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_an_event_for_one_changed_record_syncs_it_with_one_get_end_to_end(queue, s3, tmp_path):
    mirror = f"{s3}/mirror"
    with Sandbox(config=SandboxConfig.fast(), events=queue) as sb:
        first = sync_events(mirror, "Sandbox", queue, endpoint_url=sb.endpoint_url, progress=False,
                            reads_per_second=FAST)  # fmt: skip
        assert first.full and first.total == 300  # no mirror yet: the first sync is a full pull
        ident = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Pending Submission")
        client = sb.client()
        record = client.get_opportunity(Catalog="Sandbox", Identifier=ident)
        payload = ot.payload_from_record(record)
        payload["Project"]["Title"] = "Changed by a colleague"
        client.update_opportunity(**payload)
        sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="And again"))  # a second event, same record
        assert sb.service.events is not None and sb.service.events.sent == 2
        res = sync_events(mirror, "Sandbox", queue, endpoint_url=sb.endpoint_url, progress=False,
                          reads_per_second=FAST)  # fmt: skip
    assert res.events == 2 and res.calls == {"GetOpportunity": 1} and res.updated == 1
    assert ot.read_mirror(mirror).set_index("Id").loc[ident, "Project.Title"] == "And again"
    assert _queued(queue) == 0  # acknowledged once the mirror held them


def test_a_removed_record_is_marked_removed_and_a_failed_read_stays_on_the_queue(queue, s3, tmp_path):
    mirror = tmp_path / "mirror"
    config = SandboxConfig.fast(fault_operations=frozenset({"GetOpportunity"}))
    with Sandbox(config=config) as sb:
        ot.sync_mirror(mirror, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
        gone, flaky = sb.records("Sandbox")[0]["Id"], sb.records("Sandbox")[1]["Id"]
        sb.store.conn.execute("DELETE FROM opportunity WHERE catalog='Sandbox' AND id=?", (gone,))
        sqs = boto3.client("sqs")
        for e in (_opportunity("Opportunity Updated", gone), _opportunity("Opportunity Updated", flaky)):
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(e))
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "1"})
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        sb.service.config.fault_rate = 1.0
        res = sync_events(mirror, "Sandbox", queue, client=client, progress=False, reads_per_second=FAST)
        assert res.removed == [] and {f["Id"] for f in res.failures} == {gone, flaky}
        assert _queued(queue) == 2  # nothing acknowledged: both come back
        sb.service.config.fault_rate = 0.0
        again = sync_events(mirror, "Sandbox", queue, client=client, progress=False, reads_per_second=FAST)
        assert again.removed == [gone] and not again.failures and again.total == 299
    assert gone not in set(ot.read_mirror(mirror)["Id"])
    assert gone in set(ot.read_mirror(mirror, as_of=ot.snapshots(mirror)[0])["Id"])  # history keeps it
    assert _queued(queue) == 0


def test_a_file_of_events_and_the_scheduled_command(sb, tmp_path, capsys, monkeypatch):
    from opptoolkit.cli import main

    mirror = tmp_path / "mirror"
    base = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", str(FAST)]
    assert main(["sync", str(mirror), *base]) == 0
    ident = sb.records("Sandbox")[2]["Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="From a file of events"))
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(_opportunity("Opportunity Updated", ident)) for _ in range(3)) + "\n")
    assert len(read_events(events).events) == 3
    capsys.readouterr()
    assert main(["sync", str(mirror), *base, "--events", str(events)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "(3 events)" in out[0] and "(1 call in" in out[0]  # one summary line
    assert main(["sync", str(mirror), *base, "--events", str(events)]) == 0  # idempotent
    assert ot.read_mirror(mirror).set_index("Id").loc[ident, "Project.Title"] == "From a file of events"
    sb.service.config.fault_rate, sb.service.config.fault_operations = 1.0, frozenset({"GetOpportunity"})
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Unread"))
    capsys.readouterr()
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # the user's setting: a Get answered 500 every time is tried twice
    before = sb.service.calls["GetOpportunity"]
    assert main(["sync", str(mirror), *base, "--events", str(events)]) == 1  # a partial failure: non-zero
    assert sb.service.calls["GetOpportunity"] - before == 2
    assert "not read" in capsys.readouterr().err
