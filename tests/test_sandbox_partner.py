"""The sandbox's solutions, associations, submission and assignment, through a real boto3 client over HTTP."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from opptoolkit.rules import submission_problems, submission_warnings
from opptoolkit.sandbox import Sandbox


@pytest.fixture
def client(sb):
    return sb.client()


def _first(sb: Sandbox, *, solution: bool) -> str:
    """A draft AWS would take, with a solution or without one (which AWS takes too, and the guide asks for)."""
    for r in sb.records("Sandbox"):
        lacks = "RelatedEntityIdentifiers.Solutions" in [p.field for p in submission_warnings(r)]
        if not submission_problems(r) and lacks != solution:
            return r["Id"]
    raise AssertionError("no such record in the seed")


def test_list_solutions_answers_the_samples_request_and_filters(client):
    # aws-samples/partner-crm-integration-samples, python_preview/src/list_solutions.py: Catalog and MaxResults
    page = client.list_solutions(Catalog="Sandbox", MaxResults=20)
    ids = [s["Id"] for s in page["SolutionSummaries"]]
    assert ids == sorted(ids) and len(ids) == 4 and "NextToken" not in page
    assert {s["Status"] for s in page["SolutionSummaries"]} == {"Active", "Inactive"}
    active = client.list_solutions(Catalog="Sandbox", Status=["Active"])["SolutionSummaries"]
    assert len(active) == 3
    first = client.list_solutions(Catalog="Sandbox", MaxResults=2)
    rest = client.list_solutions(Catalog="Sandbox", MaxResults=2, NextToken=first["NextToken"])
    assert [s["Id"] for s in first["SolutionSummaries"] + rest["SolutionSummaries"]] == ids


def test_associate_and_disassociate_maintain_related_entity_identifiers(sb, client):
    ident = _first(sb, solution=False)
    kw = dict(Catalog="Sandbox", OpportunityIdentifier=ident, RelatedEntityType="Solutions")
    client.associate_opportunity(**kw, RelatedEntityIdentifier="S-0000001")
    client.associate_opportunity(**kw, RelatedEntityIdentifier="S-0000002")
    got = client.get_opportunity(Catalog="Sandbox", Identifier=ident)["RelatedEntityIdentifiers"]
    assert got["Solutions"] == ["S-0000001", "S-0000002"]
    client.disassociate_opportunity(**kw, RelatedEntityIdentifier="S-0000001")
    got = client.get_opportunity(Catalog="Sandbox", Identifier=ident)["RelatedEntityIdentifiers"]
    assert got["Solutions"] == ["S-0000002"]
    with pytest.raises(ClientError) as e:
        client.disassociate_opportunity(**kw, RelatedEntityIdentifier="S-0000001")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        client.associate_opportunity(**kw, RelatedEntityIdentifier="S-0000099")  # not one of the partner's
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(("kind", "cap", "value"), [
    ("AwsProducts", 20, "AmazonProduct{}"),
    ("AwsMarketplaceOffers", 1, "arn:aws:aws-marketplace:us-east-1:999999999999:AWSMarketplace/Offer/offer-{}"),
])  # fmt: skip
def test_association_quotas_per_opportunity(sb, client, kind, cap, value):
    """Quotas page, "Association quotas per opportunity": AWS products 20, private offers 1 (solutions 10)."""
    ident = _first(sb, solution=False)
    kw = dict(Catalog="Sandbox", OpportunityIdentifier=ident, RelatedEntityType=kind)
    for i in range(cap):
        client.associate_opportunity(**kw, RelatedEntityIdentifier=value.format(i))
    with pytest.raises(ClientError) as e:
        client.associate_opportunity(**kw, RelatedEntityIdentifier=value.format(cap))
    assert e.value.response["ErrorList"][0]["Code"] == "TOO_MANY_VALUES"
    assert len(client.get_opportunity(Catalog="Sandbox", Identifier=ident)["RelatedEntityIdentifiers"][kind]) == cap


def test_start_engagement_submits_a_ready_opportunity_and_the_review_takes_it_from_there(sb, client):
    ident = _first(sb, solution=True)
    kw = dict(Catalog="Sandbox", Identifier=ident, ClientToken="tok-1",
              AwsSubmission={"InvolvementType": "Co-Sell", "Visibility": "Full"})  # fmt: skip
    task = client.start_engagement_from_opportunity_task(**kw)
    assert task["TaskStatus"] == "COMPLETE" and task["OpportunityId"] == ident
    assert re.fullmatch(r"task-[0-9a-z]{13}", task["TaskId"])
    assert re.fullmatch(r"eng-[0-9a-z]{14}", task["EngagementId"])
    assert re.fullmatch(r"engi-[0-9a-z]{13}", task["EngagementInvitationId"])
    assert re.fullmatch(r"job-[0-9a-z]{13}", task["ResourceSnapshotJobId"])
    assert sb.record("Sandbox", ident)["LifeCycle"]["ReviewStatus"] == "Submitted"
    again = client.start_engagement_from_opportunity_task(**kw)  # the same ClientToken: the same task
    assert again["TaskId"] == task["TaskId"]
    listed = client.list_engagement_from_opportunity_tasks(Catalog="Sandbox", OpportunityIdentifier=[ident])
    assert [t["TaskId"] for t in listed["TaskSummaries"]] == [task["TaskId"]]
    assert sb.review("Sandbox", ident, "Approved")["LifeCycle"]["ReviewStatus"] == "Approved"


def test_start_engagement_submits_an_opportunity_without_a_solution_as_aws_did(sb, client):
    """AWS's Sandbox completed the task for an opportunity with no solution, which became Submitted (the samples'
    Postman collection, "Inviting Partner - StartEngagementFromOpportunityTask" then "Inviting Partner -
    GetOpportunity"): the guide's "at least one solution" is a warning (rules.submission_warnings)."""
    ident = _first(sb, solution=False)
    task = client.start_engagement_from_opportunity_task(
        Catalog="Sandbox", Identifier=ident, ClientToken="tok-2", AwsSubmission={"InvolvementType": "Co-Sell"}
    )
    assert task["TaskStatus"] == "COMPLETE" and task["EngagementId"].startswith("eng-")
    assert sb.record("Sandbox", ident)["LifeCycle"]["ReviewStatus"] == "Submitted"


def test_start_engagement_fails_the_task_of_an_opportunity_aws_refuses(sb, client):
    ident = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Approved")
    task = client.start_engagement_from_opportunity_task(
        Catalog="Sandbox", Identifier=ident, ClientToken="tok-2", AwsSubmission={"InvolvementType": "Co-Sell"}
    )
    assert task["TaskStatus"] == "FAILED" and task["ReasonCode"] == "OpportunityValidationFailed"
    assert "LifeCycle.ReviewStatus" in task["Message"]
    assert "EngagementId" not in task
    assert sb.record("Sandbox", ident)["LifeCycle"]["ReviewStatus"] == "Approved"


def test_a_client_token_reused_for_another_request_is_a_conflict(sb, client):
    """As CreateOpportunity answers it (model, ClientToken: "Conflicting client token submitted for a new request
    body."): the same token and request answer the original task, another request is refused."""
    first, other = _first(sb, solution=True), _first(sb, solution=False)
    kw = dict(Catalog="Sandbox", ClientToken="tok-4", AwsSubmission={"InvolvementType": "Co-Sell"})
    task = client.start_engagement_from_opportunity_task(Identifier=first, **kw)
    assert client.start_engagement_from_opportunity_task(Identifier=first, **kw)["TaskId"] == task["TaskId"]
    with pytest.raises(ClientError) as e:
        client.start_engagement_from_opportunity_task(Identifier=other, **kw)
    assert e.value.response["Error"]["Code"] == "ConflictException"
    assert sb.record("Sandbox", other)["LifeCycle"]["ReviewStatus"] == "Pending Submission"


def test_a_task_in_progress_is_listed_so_until_it_completes(sb, client):
    ident = _first(sb, solution=True)
    sb.service.task_seconds = 0.3
    task = client.start_engagement_from_opportunity_task(
        Catalog="Sandbox", Identifier=ident, ClientToken="tok-3", AwsSubmission={"InvolvementType": "Co-Sell"}
    )
    assert task["TaskStatus"] == "IN_PROGRESS" and "EngagementId" not in task
    import time

    time.sleep(0.35)
    (done,) = client.list_engagement_from_opportunity_tasks(Catalog="Sandbox", TaskIdentifier=[task["TaskId"]])[
        "TaskSummaries"
    ]
    assert done["TaskStatus"] == "COMPLETE" and done["EngagementId"].startswith("eng-")


def test_submit_opportunity_submits_or_refuses_with_the_fields(sb, client):
    ready = _first(sb, solution=True)
    client.submit_opportunity(Catalog="Sandbox", Identifier=ready, InvolvementType="For Visibility Only")
    assert sb.record("Sandbox", ready)["LifeCycle"]["ReviewStatus"] == "Submitted"
    with pytest.raises(ClientError) as e:  # already submitted
        client.submit_opportunity(Catalog="Sandbox", Identifier=ready, InvolvementType="Co-Sell")
    assert e.value.response["ErrorList"][0]["Code"] == "INVALID_RESOURCE_STATE"


def test_assign_opportunity_replaces_the_owner(sb, client):
    ident = _first(sb, solution=True)
    # the sample's request (python_preview/src/assign_opportunity.py), with the owner's title the model names
    assignee = {"BusinessTitle": "PartnerAccountManager", "Email": "jane.doe@partner.example", "FirstName": "Jane",
                "LastName": "Doe"}  # fmt: skip
    client.assign_opportunity(Catalog="Sandbox", Identifier=ident, Assignee=assignee)
    team = client.get_opportunity(Catalog="Sandbox", Identifier=ident)["OpportunityTeam"]
    assert team == [assignee]
    with pytest.raises(ClientError) as e:
        client.assign_opportunity(Catalog="Sandbox", Identifier=ident, Assignee={**assignee, "Email": "not an email"})
    assert e.value.response["Error"]["Code"] == "ValidationException"
