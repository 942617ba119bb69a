"""One Connection, given to every read verb: one client, one pacer counting every call, each verb's own count."""

from __future__ import annotations

import pytest

import opptoolkit as ot
from opptoolkit.exceptions import OpptoolkitError


def test_read_verbs_given_one_connection_share_its_pacer_and_count_their_own_calls(sb, tmp_path):
    conn = ot.connect("Sandbox", endpoint_url=sb.endpoint_url, reads_per_second=1000, progress=False)
    ids = [r["Id"] for r in sb.records("Sandbox")][:3]

    df = ot.read_opportunities(conn, identifiers=ids)
    assert sorted(df["Id"]) == sorted(ids)
    assert df.attrs["calls"] == {"ListOpportunities": 1, "GetOpportunity": 3}

    aws = ot.read_aws_summaries(conn, ids)
    assert aws.attrs["calls"] == {"GetAwsOpportunitySummary": 3}

    synced = ot.sync_mirror(tmp_path / "mirror", conn)
    assert synced.total == len(sb.records("Sandbox"))
    assert synced.calls["GetOpportunity"] == synced.total

    # the one pacer saw every call of the three verbs
    assert conn.pacer.calls["GetOpportunity"] == 3 + synced.total
    assert conn.pacer.calls["GetAwsOpportunitySummary"] == 3


def test_a_connection_with_a_client_or_endpoint_beside_it_is_refused(sb):
    conn = ot.connect("Sandbox", endpoint_url=sb.endpoint_url)
    with pytest.raises(OpptoolkitError, match="not both"):
        ot.read_opportunities(conn, endpoint_url=sb.endpoint_url)
