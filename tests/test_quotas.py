"""Each operation on the quota the quotas page gives it, in the client's pacer and the sandbox alike.

"Quotas for the AWS Partner Central Selling API" (https://docs.aws.amazon.com/partner-central/latest/developer-guide/
quotas.html): read actions 10 per second, write actions 1 per second, and rows of one operation each
(GetProspectingFromEngagementTask 100, ListProspectingFromEngagementTasks 50, StartProspectingFromEngagementTask 2,
CreateEngagement 15 per second). The engagement operations are on none of its lists: they were paced and throttled
as writes, one per second.
"""

from __future__ import annotations

import threading

import pytest
from botocore.config import Config

from opptoolkit.connection import Pacer, as_connection, connect
from opptoolkit.exceptions import OpptoolkitError
from opptoolkit.quotas import (
    ASSOCIATIONS_PER_OPPORTUNITY,
    OWN_RATES,
    RATE_VARIABLES,
    READ,
    READ_ACTIONS,
    WRITE,
    WRITE_ACTIONS,
    quota_of,
    rates,
)
from opptoolkit.sandbox import SEED_DAY, Sandbox, SandboxConfig
from opptoolkit.schema import service_model

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_every_operation_is_on_the_quota_the_page_gives_it():
    assert OWN_RATES == {
        "GetProspectingFromEngagementTask": 100.0,
        "ListProspectingFromEngagementTasks": 50.0,
        "StartProspectingFromEngagementTask": 2.0,
        "CreateEngagement": 15.0,
    }
    assert {quota_of(op) for op in READ_ACTIONS} == {READ} and {quota_of(op) for op in WRITE_ACTIONS} == {WRITE}
    assert {op: quota_of(op) for op in OWN_RATES} == {op: op for op in OWN_RATES}
    # not on the page: by what the operation does (its name says it only reads), never faster than a stated quota
    unlisted = {op: quota_of(op) for op in service_model().operation_names}
    assert unlisted["GetEngagement"] == unlisted["ListEngagementMembers"] == unlisted["SearchOpportunities"] == READ
    assert unlisted["SubmitOpportunity"] == unlisted["AcceptEngagementInvitation"] == WRITE
    assert unlisted["UpdateEngagementContext"] == unlisted["StartOpportunityFromEngagementTask"] == WRITE


def test_the_page_names_operations_and_kinds_of_the_model():
    # held here, not checked at import: an `assert` there vanishes under `python -O`, and a name the installed
    # botocore lacks is one nobody can call, nothing to refuse an import for
    model = service_model()
    assert (READ_ACTIONS | WRITE_ACTIONS).issubset(model.operation_names)
    assert not READ_ACTIONS & WRITE_ACTIONS
    kinds = model.shape_for("RelatedEntityType").enum  # type: ignore[attr-defined]
    assert set(ASSOCIATIONS_PER_OPPORTUNITY) <= set(kinds)


def _sent(pacer: Pacer, operation: str, times: int, wait: float = 10.0) -> bool:
    """Whether ``times`` HTTP attempts of ``operation`` pass the pacer at once (within ``wait`` seconds)."""
    thread = threading.Thread(
        target=lambda: [pacer.before_send(f"before-send.partnercentral-selling.{operation}") for _ in range(times)],
        daemon=True,
    )
    thread.start()
    thread.join(wait)
    return not thread.is_alive()


@pytest.mark.parametrize(("operation", "times"), [("GetEngagement", 5), ("CreateEngagement", 5)])
def test_the_pacer_does_not_hold_engagement_calls_to_the_write_rate(operation, times):
    # writes at one per 1,000 s: an engagement call paced as a write would wait that long for its second turn
    pacer = Pacer(reads_per_second=1000, writes_per_second=0.001, read_burst=10)
    assert _sent(pacer, operation, times)
    assert not _sent(Pacer(writes_per_second=0.001), "SubmitOpportunity", 2, wait=1.0)  # a write the page omits


def test_the_sandbox_throttles_engagement_reads_as_reads_and_create_engagement_at_its_own_rate():
    config = SandboxConfig(read_rate=10, read_burst=10, write_rate=0.001, write_burst=1)  # a second write: throttled
    with Sandbox(config=config) as sb:
        client = sb.client(config=NO_RETRY)
        created = [
            client.create_engagement(
                Catalog="Sandbox", ClientToken=f"t{n}", Title=f"Engagement {n}", Description="A test engagement"
            )["Id"]
            for n in range(3)
        ]  # CreateEngagement: 15 per second, not the writes' one
        for ident in created:
            client.get_engagement(Catalog="Sandbox", Identifier=ident)  # a read: ten per second
        assert sb.service.throttled == 0
        submit = dict(Catalog="Sandbox", Identifier="O7000000002", InvolvementType="Co-Sell")  # already Submitted
        with pytest.raises(client.exceptions.ValidationException):  # past the quota: refused for what it asks
            client.submit_opportunity(**submit)
        with pytest.raises(client.exceptions.ThrottlingException):  # the writes are still held to their rate
            client.submit_opportunity(**submit)


def test_the_environment_sets_the_rates_a_client_paces_at_and_a_sandbox_started_without_a_config_enforces(
    monkeypatch,
):
    def paced(conn) -> tuple[float, float]:
        return conn.pacer.reads_per_second, conn.pacer.writes_per_second

    endpoint = "http://127.0.0.1:1"
    for name in RATE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # by default: the documented quotas, on both sides
    assert rates() == (10.0, 1.0)
    assert paced(connect("AWS")) == paced(as_connection("Sandbox", endpoint_url=endpoint)) == (10.0, 1.0)
    assert (Pacer().reads_per_second, Pacer().writes_per_second) == (10.0, 1.0)
    config = SandboxConfig()
    assert (config.read_rate, config.read_burst, config.write_rate, config.write_burst) == (10.0, 10.0, 1.0, 1.0)
    # set: every pacer made without rates of its own, and every sandbox config, whatever the endpoint
    monkeypatch.setenv("OPPTOOLKIT_READS_PER_SECOND", "250")
    monkeypatch.setenv("OPPTOOLKIT_WRITES_PER_SECOND", " 20 ")
    assert rates() == (250.0, 20.0)
    assert paced(connect("AWS")) == paced(as_connection("Sandbox", endpoint_url=endpoint)) == (250.0, 20.0)
    assert (Pacer().reads_per_second, Pacer().writes_per_second) == (250.0, 20.0)
    config = SandboxConfig()
    assert (config.read_rate, config.read_burst, config.write_rate, config.write_burst) == (250.0, 250.0, 20.0, 20.0)
    # an explicit rate still wins
    assert paced(connect("Sandbox", endpoint_url=endpoint, reads_per_second=5, writes_per_second=0.5)) == (5, 0.5)
    assert SandboxConfig(read_rate=3).read_rate == 3 and SandboxConfig.fast().write_rate == 1000
    with Sandbox(as_of=SEED_DAY) as sb:
        assert (sb.service.reads.rate, sb.service.writes.rate) == (250.0, 20.0)
    # blank is unset; anything but a positive number is refused, naming the variable
    monkeypatch.setenv("OPPTOOLKIT_WRITES_PER_SECOND", "")
    assert rates() == (250.0, 1.0)
    for wrong in ("0", "-1", "fast", "nan", "inf", "1/s"):
        monkeypatch.setenv("OPPTOOLKIT_WRITES_PER_SECOND", wrong)
        with pytest.raises(ValueError, match=r"^OPPTOOLKIT_WRITES_PER_SECOND must be a positive number"):
            rates()
        with pytest.raises(OpptoolkitError, match=r"^OPPTOOLKIT_WRITES_PER_SECOND must be a positive number"):
            connect("AWS")


def test_the_cli_paces_at_the_environments_rates_unless_told(sb, tmp_path, monkeypatch, capsys):
    """Its --reads-per-second and --writes-per-second default to the environment's (the documented quotas unset)."""
    from opptoolkit.cli import main

    pull = ["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--out", str(tmp_path / "p.parquet")]
    monkeypatch.setenv("OPPTOOLKIT_READS_PER_SECOND", "fast")
    assert main(pull) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "OPPTOOLKIT_READS_PER_SECOND must be a positive number" in err, err
    assert sb.service.calls == {}  # refused before any call
