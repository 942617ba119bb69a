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


def test_one_connection_for_a_read_then_a_push_paces_and_counts_every_call_on_its_one_pacer(sb, tmp_path):
    """#28 item 4: the write verbs take a Connection too; each counts its own calls, the pacer all of them."""
    conn = ot.connect("Sandbox", endpoint_url=sb.endpoint_url, reads_per_second=1000, writes_per_second=1000,
                      progress=False)  # fmt: skip
    served = dict(sb.service.calls)
    export = ot.read_opportunities(conn)
    read = dict(conn.pacer.calls)
    ready = export[(export["LifeCycle.ReviewStatus"] == "Pending Submission") & ~export["LifeCycle.Stage"].isin(
        ["Launched", "Closed Lost"])]  # fmt: skip
    edited = ready.head(2).copy()
    edited["Project.Title"] = ["One pacer 1", "One pacer 2"]
    plan = ot.plan_updates(edited, conn)  # without a base: it reads each record, through the connection
    assert plan["action"].tolist() == ["update", "update"]
    pushed = ot.push_updates(edited, conn, ledger=tmp_path / "l", base=export)
    assert pushed["status"].tolist() == ["succeeded", "succeeded"]
    assert pushed.attrs["calls"] == {"GetOpportunity": 2, "UpdateOpportunity": 2}  # the push's own
    solutions = ot.read_solutions(conn)
    assigned = ot.assign_opportunities(
        edited[["Id"]], conn, ledger=tmp_path / "l",
        assignee={"Email": "jane.doe@partner.example", "FirstName": "Jane", "LastName": "Doe",
                  "BusinessTitle": "PartnerAccountManager"},
    )  # fmt: skip
    assert assigned["status"].tolist() == ["succeeded", "succeeded"] and len(solutions)
    # the one pacer saw every call: the read's, the plan's two reads, the push's, the solutions', the assignments'
    assert conn.pacer.calls["GetOpportunity"] == read["GetOpportunity"] + 2 + 2
    assert conn.pacer.calls["UpdateOpportunity"] == 2 and conn.pacer.calls["AssignOpportunity"] == 2
    assert conn.pacer.calls["ListSolutions"] >= 1
    # nothing went around it: the sandbox served what the pacer counted
    assert sum(conn.pacer.calls.values()) == sum(sb.service.calls.values()) - sum(served.values())
    with pytest.raises(OpptoolkitError, match="not both"):
        ot.push_updates(edited, conn, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url)


def test_the_users_max_attempts_is_honoured_else_eleven_attempts(sb, tmp_path, monkeypatch):
    """botocore's precedence: a ``config=`` given to get_client, then AWS_MAX_ATTEMPTS, then the profile's
    max_attempts; our default (11 attempts: the first and 10 retries) only where the user set none. Counted by the sandbox: every attempt
    at a ListOpportunities answered 500 reaches it."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    sb.service.config.fault_rate, sb.service.config.fault_operations = 1.0, frozenset({"ListOpportunities"})

    def attempts(**kwargs) -> int:
        before = sb.service.calls.get("ListOpportunities", 0)
        client = ot.get_client(endpoint_url=sb.endpoint_url, boto3_session=boto3.Session(), **kwargs)
        with pytest.raises(ClientError, match="InternalServerException"):
            client.list_opportunities(Catalog="Sandbox", MaxResults=1)
        return sb.service.calls["ListOpportunities"] - before

    for name in ("AWS_MAX_ATTEMPTS", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    # none set: our default (asserted on the client rather than waited for: ten back-offs take half a minute)
    assert ot.get_client(endpoint_url=sb.endpoint_url).meta.config.retries["total_max_attempts"] == 11
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    assert attempts() == 2
    assert attempts(config=Config(retries={"mode": "standard", "total_max_attempts": 1})) == 1  # config= wins
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    (tmp_path / "config").write_text("[default]\nmax_attempts = 3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    assert attempts() == 3
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # the environment wins over the profile
    assert attempts() == 1


def test_the_users_retry_mode_is_honoured_else_standard(sb, tmp_path, monkeypatch):
    """AWS_RETRY_MODE, else the profile's retry_mode, reaches the client (botocore's precedence; ``config=`` wins
    over both); standard only where the user set none. Attempts counted by the sandbox, at a ListOpportunities
    answered 500 every time, in each mode."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    sb.service.config.fault_rate, sb.service.config.fault_operations = 1.0, frozenset({"ListOpportunities"})

    def attempts(**kwargs) -> tuple[str, int]:
        before = sb.service.calls.get("ListOpportunities", 0)
        client = ot.get_client(endpoint_url=sb.endpoint_url, boto3_session=boto3.Session(), **kwargs)
        with pytest.raises(ClientError, match="InternalServerException"):
            client.list_opportunities(Catalog="Sandbox", MaxResults=1)
        return client.meta.config.retries["mode"], sb.service.calls["ListOpportunities"] - before

    for name in ("AWS_RETRY_MODE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")  # three attempts in every mode, so none waits long
    assert attempts() == ("standard", 3)
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    assert attempts() == ("adaptive", 3)
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    assert attempts() == ("legacy", 3)
    assert attempts(config=Config(retries={"mode": "standard"})) == ("standard", 3)  # config= wins
    monkeypatch.delenv("AWS_RETRY_MODE")
    (tmp_path / "config").write_text("[default]\nretry_mode = adaptive\nmax_attempts = 2\n")
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    assert attempts() == ("adaptive", 2)
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")  # the environment wins over the profile
    assert attempts() == ("legacy", 2)
