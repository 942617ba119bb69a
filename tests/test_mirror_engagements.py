"""The mirror keeps the engagements too, with the opportunities' incremental rules (#30 item 2).

Real boto3 against the sandbox over HTTP; the table is a real Delta table in a temporary folder.
"""

from __future__ import annotations

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.exceptions import OpptoolkitError
from opptoolkit.mirror import read_mirror, snapshots, sync_engagements
from opptoolkit.sandbox._resources import OPPORTUNITY_TEMPLATE
from tests.test_sandbox_engagements import LEAD, QUALIFIED

FAST = dict(progress=False, reads_per_second=1000)


def _lead(client, n: int) -> str:
    """A Lead engagement this account creates (AWS's samples play AWS so: LeadToOpportunity / CreateEngagement)."""
    return client.create_engagement(
        Catalog="Sandbox", ClientToken=f"lead-{n}", Title=f"Lead {n}", Description="Lead from a campaign",
        Contexts=[{"Type": "Lead", "Payload": {"Lead": LEAD}}],
    )["Id"]  # fmt: skip


def test_a_sync_reads_only_the_engagements_that_changed(sb, tmp_path):
    client = sb.client()
    first, second = _lead(client, 1), _lead(client, 2)
    client.start_engagement_from_opportunity_task(
        Catalog="Sandbox", Identifier="O7000000014", ClientToken="t", AwsSubmission={"InvolvementType": "Co-Sell"}
    )
    conn = ot.connect("Sandbox", client=client, reads_per_second=1000)
    d = tmp_path / "engagements"

    full = sync_engagements(d, conn, **FAST)
    assert (full.full, full.listed, full.added, full.updated, full.removed) == (True, 3, 3, 0, [])
    assert full.calls["GetEngagement"] == 3 and full.calls["ListEngagementMembers"] == 3
    mirrored = read_mirror(d)
    assert mirrored["Id"].tolist() == sorted(mirrored["Id"]) and {first, second} <= set(mirrored["Id"])
    row = mirrored.set_index("Id").loc[first]
    assert row["Contexts[0].Type"] == "Lead" and row["Contexts[0].Payload.Lead.QualificationStatus"] is not None

    # nothing changed: one listing, nothing read, nothing written
    again = sync_engagements(d, conn, **FAST)
    assert (again.fetched, again.version) == (0, full.version)
    assert again.calls == {"ListEngagements": 1, "ListEngagementResourceAssociations": 1}

    # a colleague qualifies one lead: that engagement alone is read again, the others kept as they were
    modified = client.get_engagement(Catalog="Sandbox", Identifier=first)["ModifiedAt"]
    client.update_engagement_context(
        Catalog="Sandbox", EngagementIdentifier=first, ContextIdentifier="1", EngagementLastModifiedAt=modified,
        Type="Lead", Payload={"Lead": QUALIFIED},
    )  # fmt: skip
    third = _lead(client, 3)
    changed = sync_engagements(d, conn, **FAST)
    assert (changed.added, changed.updated, changed.version) == (1, 1, full.version + 1)
    assert changed.calls["GetEngagement"] == 2
    now = read_mirror(d).set_index("Id")
    assert len(now) == 4 and third in now.index
    assert now.loc[first, "Contexts[0].Payload.Lead.QualificationStatus"] == "Qualified"
    assert now.loc[second, "ModifiedAt"] == mirrored.set_index("Id").loc[second, "ModifiedAt"]
    # each sync that changed something is a version of its own: the earlier one still reads as it was
    assert len(snapshots(d)) == 2
    before = read_mirror(d, as_of=snapshots(d)[0]).set_index("Id")
    assert before.loc[first, "Contexts[0].Payload.Lead.QualificationStatus"] != "Qualified"
    assert str(changed).startswith(f"Synced the mirror {d}") and "it holds 4 engagements" in str(changed)


def test_a_resource_shared_later_reaches_the_mirror(sb, tmp_path):
    """An opportunity shared in an engagement changes neither its summary's ModifiedAt nor its MemberCount (the model
    says neither moves; the sandbox leaves both): the next sync still sees it, by listing the shared resources."""
    client = sb.client()
    lead = _lead(client, 1)
    d = tmp_path / "engagements"
    sync_engagements(d, "Sandbox", client=client, **FAST)
    column = "ResourceAssociations[0].ResourceId"
    assert column not in read_mirror(d) or pd.isna(read_mirror(d).set_index("Id").loc[lead, column])

    def summary() -> dict:
        return next(e for e in client.list_engagements(Catalog="Sandbox")["EngagementSummaryList"] if e["Id"] == lead)

    before = summary()
    client.create_resource_snapshot(
        Catalog="Sandbox", EngagementIdentifier=lead, ResourceIdentifier="O7000000015", ResourceType="Opportunity",
        ResourceSnapshotTemplateIdentifier=OPPORTUNITY_TEMPLATE, ClientToken="share-1",
    )  # fmt: skip
    assert summary() == before  # the summary is as it was
    result = sync_engagements(d, "Sandbox", client=client, **FAST)
    assert (result.updated, result.calls["GetEngagement"]) == (1, 1)
    assert read_mirror(d).set_index("Id").loc[lead, column] == "O7000000015"
    # and nothing changed since: one listing of each, nothing read again
    again = sync_engagements(d, "Sandbox", client=client, **FAST)
    assert (again.fetched, again.calls) == (0, {"ListEngagements": 1, "ListEngagementResourceAssociations": 1})


def test_an_engagement_no_longer_listed_leaves_the_mirror(sb, tmp_path):
    client = sb.client()
    keep, gone = _lead(client, 1), _lead(client, 2)
    d = tmp_path / "engagements"
    sync_engagements(d, "Sandbox", client=client, **FAST)
    # the engagement is no longer this account's to list: it is not a member any more (as AWS would remove it)
    doc = sb.service.engagement_doc("Sandbox", gone)
    doc["members"] = [m for m in doc["members"] if m.get("AccountId") != sb.service.config.account_id]
    sb.service._save_engagement(doc)
    result = sync_engagements(d, "Sandbox", client=client, **FAST)
    assert result.removed == [gone] and read_mirror(d)["Id"].tolist() == [keep]
    assert gone in read_mirror(d, as_of=snapshots(d)[0])["Id"].tolist()  # earlier versions keep it


def test_the_engagements_of_one_catalog_only(sb, tmp_path):
    client = sb.client()
    _lead(client, 1)
    d = tmp_path / "engagements"
    sync_engagements(d, "Sandbox", client=client, **FAST)
    with pytest.raises(OpptoolkitError, match="mirrors the engagements of catalog Sandbox, not AWS"):
        sync_engagements(d, "AWS", client=client, **FAST)


def test_the_cli_keeps_the_engagements_beside_the_mirror(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    _lead(sb.client(), 1)
    args = ["sync", str(tmp_path / "mirror"), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--reads-per-second", "1000", "--engagements", str(tmp_path / "engagements")]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "it holds 300 opportunities" in out and "it holds 1 engagement " in out
    assert len(read_mirror(tmp_path / "engagements")) == 1
