"""The sandbox's engagements, leads, snapshots, snapshot jobs, selling-system settings and tags.

Through a real boto3 client over HTTP. "recorded" cites what AWS answered in aws-samples/partner-crm-integration-samples
(partner-central-api-sample-codes/PostmanCollections/aws_partner_central_api_postman_collections.json, folder / item;
python_preview/leadToOpportunity/Lead_To_Opportunity.md, step): the facts are transcribed, nothing is copied.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from opptoolkit.frame import payload_from_record
from opptoolkit.rules import submission_problems
from opptoolkit.sandbox import SEED_DAY, Sandbox, SandboxConfig

CATALOG = "Sandbox"
ME = SandboxConfig().account_id


@pytest.fixture
def client(sb):
    return sb.client()


def _code(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


def _token() -> str:
    return str(uuid.uuid4())


# The lead the samples create as AWS (LeadToOpportunity / CreateEngagement-Lead: a Lead context with the customer and
# one interaction whose contact is named; no InteractionDate, no Id).
LEAD = {
    "Customer": {"CompanyName": "Acme Corp", "Industry": "Aerospace", "Address": {"CountryCode": "US"}},
    "Interactions": [
        {
            "SourceType": "Campaign",
            "CustomerAction": "Completed Form",
            "SourceName": "Recycled Wooden Shirt Campaign - 2025",
            "SourceId": "SQFONL7I",
            "Contact": {
                "BusinessTitle": "Investor Implementation Officer",
                "Email": "test@test.com",
                "FirstName": "Torey",
                "LastName": "Orn",
            },
        }
    ],
}
# Lead_To_Opportunity.md step 4: the qualification the partner sends back
QUALIFIED = {
    "QualificationStatus": "Qualified",
    "Customer": {
        "CompanyName": "Acme Corp",
        "Industry": "Software and Internet",
        "Address": {"CountryCode": "US", "StateOrRegion": "California", "City": "San Francisco"},
        "WebsiteUrl": "https://acmecorp-updated.example.com",
        "MarketSegment": "Enterprise",
        "AwsMaturity": "Single-Account",
    },
    "Interaction": {
        "SourceType": "Campaign",
        "SourceId": "SQFONL7I",
        "SourceName": "Recycled Wooden Shirt Campaign - 2025",
        "CustomerAction": "Completed Form",
        "BusinessProblem": "Need to modernize legacy database infrastructure for better scalability",
        "Usecase": "Database",
        "Contact": {
            "BusinessTitle": "Investor Implementation Officer",
            "Email": "test@test.com",
            "FirstName": "Torey",
            "LastName": "Orn",
        },
    },
}


def _lead_engagement(client: Any) -> str:
    """The samples' first two steps as AWS: CreateEngagement (Lead), then a LeadInvitation to this account."""
    eng = client.create_engagement(
        Catalog=CATALOG,
        ClientToken=_token(),
        Title="visualize Initiative - 1336",
        Description="Lead generated from recent campaign activities",
        Contexts=[{"Type": "Lead", "Payload": {"Lead": LEAD}}],
    )
    return str(eng["Id"])


def _invite_me(client: Any, engagement: str) -> str:
    # LeadToOpportunity / CreateEngagementInvitation: a LeadInvitation payload
    inv = client.create_engagement_invitation(
        Catalog=CATALOG,
        ClientToken=_token(),
        EngagementIdentifier=engagement,
        Invitation={
            "Message": "We have a qualified lead from Acme Corp that matches your expertise. Would you like to collaborate?",
            "Receiver": {"Account": {"AwsAccountId": ME}},
            "Payload": {
                "LeadInvitation": {
                    "Customer": {
                        "CompanyName": "Acme Corp",
                        "Industry": "Software and Internet",
                        "CountryCode": "US",
                        "WebsiteUrl": "https://acmecorp.example.com",
                        "MarketSegment": "Enterprise",
                        "AwsMaturity": "Evaluating",
                    },
                    "Interaction": {
                        "SourceType": "Campaign",
                        "SourceId": "SQFONL7I",
                        "SourceName": "Partner Referral Program - 2025",
                        "ContactBusinessTitle": "Investor Implementation Officer",
                        "Usecase": "Database",
                    },
                }
            },
        },
    )
    return str(inv["Id"])


def _ready_draft(sb: Sandbox) -> str:
    """A partner's draft that AWS would accept at submission."""
    for r in sb.records(CATALOG):
        if not submission_problems(r):
            return str(r["Id"])
    raise AssertionError("no submittable draft in the seed")


def _submit(client: Any, ident: str) -> dict[str, Any]:
    task = client.start_engagement_from_opportunity_task(
        Catalog=CATALOG,
        Identifier=ident,
        ClientToken=_token(),
        AwsSubmission={"InvolvementType": "Co-Sell", "Visibility": "Full"},
    )
    assert task["TaskStatus"] == "COMPLETE", task
    return task  # type: ignore[no-any-return]


# -- the lead flow, end to end ---------------------------------------------------------------------------------------
def test_a_lead_goes_from_invitation_to_a_submitted_opportunity_as_recorded(sb, client):
    engagement = _lead_engagement(client)
    invitation = _invite_me(client, engagement)

    # Lead_To_Opportunity.md step 1: the invitation names the engagement, its description and members, and shows the
    # lead without the contact
    inv = client.get_engagement_invitation(Catalog=CATALOG, Identifier=invitation)
    assert (inv["PayloadType"], inv["Status"], inv["EngagementId"]) == ("LeadInvitation", "PENDING", engagement)
    assert inv["EngagementTitle"] == "visualize Initiative - 1336"
    assert inv["EngagementDescription"] == "Lead generated from recent campaign activities"
    assert inv["ExistingMembers"] and "test@test.com" not in str(inv["Payload"])

    # step 2: AcceptEngagementInvitation answers nothing
    answer = client.accept_engagement_invitation(Catalog=CATALOG, Identifier=invitation)
    assert set(answer) == {"ResponseMetadata"}
    assert client.get_engagement_invitation(Catalog=CATALOG, Identifier=invitation)["Status"] == "ACCEPTED"
    # recorded (LeadToOpportunity / GetEngagement): two members, the one that invited and the one that accepted
    members = client.list_engagement_members(Catalog=CATALOG, Identifier=engagement)["EngagementMemberList"]
    assert sorted(m["AccountId"] for m in members) == sorted([ME, "aws"])

    # step 3: the engagement with its Lead context "1"; the interaction is dated when it was received
    eng = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    assert {
        "Id",
        "Arn",
        "Title",
        "Description",
        "CreatedAt",
        "CreatedBy",
        "MemberCount",
        "ModifiedAt",
        "ModifiedBy",
        "Contexts",
    } <= set(eng)
    assert eng["Arn"] == f"arn:aws:partnercentral:us-east-1::catalog/{CATALOG}/engagement/{engagement}"
    assert (eng["MemberCount"], eng["ModifiedBy"]) == (2, ME)
    (context,) = eng["Contexts"]
    assert (context["Id"], context["Type"]) == ("1", "Lead")
    lead = context["Payload"]["Lead"]
    assert lead["Interactions"][0]["Contact"]["Email"] == "test@test.com"
    assert abs(lead["Interactions"][0]["InteractionDate"] - eng["CreatedAt"]) < timedelta(seconds=1)

    # step 4: the qualification, with the engagement's ModifiedAt as the token; the answer is the next token
    updated = client.update_engagement_context(
        Catalog=CATALOG,
        EngagementIdentifier=engagement,
        ContextIdentifier="1",
        EngagementLastModifiedAt=eng["ModifiedAt"],
        Type="Lead",
        Payload={"Lead": QUALIFIED},
    )
    assert {"ContextId", "EngagementArn", "EngagementId", "EngagementLastModifiedAt"} <= set(updated)
    assert (updated["ContextId"], updated["EngagementId"]) == ("1", engagement)
    assert updated["EngagementLastModifiedAt"] > eng["ModifiedAt"]
    lead = client.get_engagement(Catalog=CATALOG, Identifier=engagement)["Contexts"][0]["Payload"]["Lead"]
    assert (
        lead["QualificationStatus"] == "Qualified"
        and lead["Customer"]["WebsiteUrl"] == QUALIFIED["Customer"]["WebsiteUrl"]
    )
    assert len(lead["Interactions"]) == 2  # the qualification's interaction is added

    # step 5: the conversion, COMPLETE at once, with a new context "2" and a snapshot job
    task = client.start_opportunity_from_engagement_task(
        Catalog=CATALOG,
        ClientToken=_token(),
        ContextIdentifier="1",
        Identifier=engagement,
        Tags=[{"Key": "Source", "Value": "LeadConversion"}],
    )
    assert (task["TaskStatus"], task["EngagementId"], task["ContextId"]) == ("COMPLETE", engagement, "2")
    assert task["TaskArn"].startswith(
        f"arn:aws:partnercentral:us-east-1::catalog/{CATALOG}/opportunity-from-engagement-task/task-"
    )
    assert task["ResourceSnapshotJobId"].startswith("job-")
    ident = task["OpportunityId"]

    # steps 6-8: the converted opportunity, as recorded
    opp = client.get_opportunity(Catalog=CATALOG, Identifier=ident)
    assert opp["Project"]["Title"] == "Converted from Lead"
    assert opp["Project"]["CustomerBusinessProblem"] == QUALIFIED["Interaction"]["BusinessProblem"]
    assert opp["Project"]["ExpectedCustomerSpend"] == []
    assert opp["Customer"]["Account"]["CompanyName"] == "Acme Corp"
    assert opp["Customer"]["Account"]["Industry"] == "Software and Internet"
    assert opp["Customer"]["Account"]["Address"] == {"CountryCode": "US"}
    assert opp["Customer"]["Contacts"] == []
    assert (opp["OpportunityType"], opp["NationalSecurity"], opp["Marketing"]) == (
        "Net New Business",
        "No",
        {"Source": "None"},
    )
    assert (opp["LifeCycle"]["Stage"], opp["LifeCycle"]["ReviewStatus"]) == ("Prospect", "Pending Submission")
    close = opp["CreatedDate"].date() + timedelta(days=90)
    assert opp["LifeCycle"]["TargetCloseDate"] == close.isoformat()
    assert [m["BusinessTitle"] for m in opp["OpportunityTeam"]] == ["OpportunityOwner"]
    assert client.list_tags_for_resource(ResourceArn=opp["Arn"])["Tags"] == [
        {"Key": "Source", "Value": "LeadConversion"}
    ]
    solution = client.list_solutions(Catalog=CATALOG, Status=["Active"], MaxResults=20)["SolutionSummaries"][0]["Id"]
    client.associate_opportunity(
        Catalog=CATALOG, OpportunityIdentifier=ident, RelatedEntityType="Solutions", RelatedEntityIdentifier=solution
    )

    # step 9: the opportunity completed with what a submission needs
    payload = payload_from_record(client.get_opportunity(Catalog=CATALOG, Identifier=ident))
    payload["Identifier"] = payload.pop("Id", ident)
    payload["Project"].update(
        CustomerUseCase="Migration/Database Migration",
        DeliveryModels=["SaaS or PaaS"],
        SalesActivities=["Conducted POC / Demo"],
        ExpectedCustomerSpend=[
            {"Amount": "12500", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
        ],
    )
    payload["PrimaryNeedsFromAws"] = ["Co-Sell - Architectural Validation"]
    client.update_opportunity(**payload)
    assert submission_problems(sb.record(CATALOG, ident)) == []

    # step 10: the submission goes into the lead's engagement, with an invitation to AWS and a new job
    submitted = _submit(client, ident)
    assert submitted["EngagementId"] == engagement
    assert submitted["EngagementInvitationId"].startswith("engi-")
    assert submitted["ResourceSnapshotJobId"] not in (None, task["ResourceSnapshotJobId"])
    assert client.get_opportunity(Catalog=CATALOG, Identifier=ident)["LifeCycle"]["ReviewStatus"] == "Submitted"
    to_aws = client.get_engagement_invitation(Catalog=CATALOG, Identifier=submitted["EngagementInvitationId"])
    assert (to_aws["EngagementId"], to_aws["Receiver"]["Account"]["AwsAccountId"]) == (engagement, "aws")
    job = client.get_resource_snapshot_job(
        Catalog=CATALOG, ResourceSnapshotJobIdentifier=submitted["ResourceSnapshotJobId"]
    )
    assert (job["Status"], job["EngagementId"], job["ResourceId"]) == ("Running", engagement, ident)


def test_update_engagement_context_is_guarded_by_the_engagements_modified_at(client):
    engagement = _lead_engagement(client)
    eng = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    kw = dict(
        Catalog=CATALOG,
        EngagementIdentifier=engagement,
        ContextIdentifier="1",
        Type="Lead",
        Payload={"Lead": QUALIFIED},
    )
    first = client.update_engagement_context(EngagementLastModifiedAt=eng["ModifiedAt"], **kw)
    # a colleague's update with the token they read earlier: refused, nothing overwritten
    with pytest.raises(ClientError) as e:
        client.update_engagement_context(EngagementLastModifiedAt=eng["ModifiedAt"], **kw)
    assert _code(e) == "ConflictException"
    again = client.update_engagement_context(EngagementLastModifiedAt=first["EngagementLastModifiedAt"], **kw)
    assert again["EngagementLastModifiedAt"] > first["EngagementLastModifiedAt"]
    token = again["EngagementLastModifiedAt"]
    with pytest.raises(ClientError) as e:
        client.update_engagement_context(EngagementLastModifiedAt=token, **{**kw, "ContextIdentifier": "7"})
    assert _code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:  # a Lead context is not updated as a CustomerProject one
        client.update_engagement_context(
            EngagementLastModifiedAt=token,
            **{
                **kw,
                "Type": "CustomerProject",
                "Payload": {
                    "CustomerProject": {
                        "Customer": {
                            "CompanyName": "Acme Corp",
                            "WebsiteUrl": "www.acme.example",
                            "Industry": "Retail",
                            "CountryCode": "US",
                        }
                    }
                },
            },
        )
    assert _code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:  # the Payload must be the Type's
        client.update_engagement_context(EngagementLastModifiedAt=token, **{**kw, "Type": "CustomerProject"})
    assert _code(e) == "ValidationException"


def test_start_opportunity_from_engagement_task_takes_a_client_token_and_fails_as_its_reason_codes_say(client):
    engagement = _lead_engagement(client)
    kw = dict(Catalog=CATALOG, Identifier=engagement, ContextIdentifier="1")
    first = client.start_opportunity_from_engagement_task(ClientToken="lead-1", **kw)
    again = client.start_opportunity_from_engagement_task(ClientToken="lead-1", **kw)
    assert again["TaskId"] == first["TaskId"] and again["OpportunityId"] == first["OpportunityId"]
    with pytest.raises(ClientError) as e:  # the same token with another request
        client.start_opportunity_from_engagement_task(ClientToken="lead-1", **{**kw, "ContextIdentifier": "2"})
    assert _code(e) == "ConflictException"
    missing = client.start_opportunity_from_engagement_task(ClientToken="lead-2", **{**kw, "ContextIdentifier": "9"})
    assert (missing["TaskStatus"], missing["ReasonCode"]) == ("FAILED", "ContextNotFound")
    assert "OpportunityId" not in missing and missing["Message"]
    project = client.start_opportunity_from_engagement_task(ClientToken="lead-3", **{**kw, "ContextIdentifier": "2"})
    assert (project["TaskStatus"], project["ReasonCode"]) == ("FAILED", "CustomerProjectContextNotPermitted")
    eng = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    client.update_engagement_context(
        Catalog=CATALOG,
        EngagementIdentifier=engagement,
        ContextIdentifier="1",
        EngagementLastModifiedAt=eng["ModifiedAt"],
        Type="Lead",
        Payload={"Lead": {**QUALIFIED, "QualificationStatus": "Disqualified"}},
    )
    disqualified = client.start_opportunity_from_engagement_task(ClientToken="lead-4", **kw)
    assert (disqualified["TaskStatus"], disqualified["ReasonCode"]) == ("FAILED", "DisqualifiedLeadNotPermitted")
    listed = client.list_opportunity_from_engagement_tasks(Catalog=CATALOG, EngagementIdentifier=[engagement])[
        "TaskSummaries"
    ]
    assert {t["TaskId"] for t in listed} == {t["TaskId"] for t in (first, missing, project, disqualified)}
    failed = client.list_opportunity_from_engagement_tasks(Catalog=CATALOG, TaskStatus=["FAILED"])["TaskSummaries"]
    assert {t["ReasonCode"] for t in failed} == {
        "ContextNotFound",
        "CustomerProjectContextNotPermitted",
        "DisqualifiedLeadNotPermitted",
    }
    by_opp = client.list_opportunity_from_engagement_tasks(
        Catalog=CATALOG, OpportunityIdentifier=[first["OpportunityId"]]
    )
    assert [t["TaskId"] for t in by_opp["TaskSummaries"]] == [first["TaskId"]]
    with pytest.raises(ClientError) as e:  # the model's bound: at most 10 task ids
        client.list_opportunity_from_engagement_tasks(Catalog=CATALOG, TaskIdentifier=[first["TaskId"]] * 11)
    assert _code(e) == "ValidationException"


def test_create_engagement_answers_a_repeated_token_and_lists_the_callers_engagements(client):
    kw = dict(Catalog=CATALOG, ClientToken="eng-1", Title="Test Engagement16", Description="This is my test")
    contexts = [
        {
            "Type": "CustomerProject",
            "Payload": {
                "CustomerProject": {
                    "Customer": {
                        "CompanyName": "Willms - Wyman",
                        "WebsiteUrl": "wade.name",
                        "Industry": "Retail",
                        "CountryCode": "US",
                    },
                    "Project": {
                        "Title": "Project16",
                        "BusinessProblem": "Historically taken a regional approach to Access Management",
                        "TargetCompletionDate": "2027-05-12",
                    },
                }
            },
        }
    ]
    first = client.create_engagement(Contexts=contexts, **kw)
    assert {"Id", "Arn", "ModifiedAt"} <= set(first)
    again = client.create_engagement(Contexts=contexts, **kw)
    assert (again["Id"], again["ModifiedAt"]) == (first["Id"], first["ModifiedAt"])
    with pytest.raises(ClientError) as e:
        client.create_engagement(Contexts=contexts, **{**kw, "Title": "Another"})
    assert _code(e) == "ConflictException"
    with pytest.raises(ClientError) as e:  # a context whose payload is another type's
        client.create_engagement(Catalog=CATALOG, ClientToken="eng-2", Contexts=[{**contexts[0], "Type": "Lead"}])
    assert _code(e) == "ValidationException"
    eng = client.get_engagement(Catalog=CATALOG, Identifier=first["Arn"])  # an ARN names it too
    assert (eng["MemberCount"], eng["CreatedBy"]) == (1, ME)  # the caller is its member
    assert eng["ModifiedAt"] == eng["CreatedAt"] == first["ModifiedAt"]
    second = client.create_engagement(
        Catalog=CATALOG, ClientToken="eng-3", Title="Lead", Contexts=[{"Type": "Lead", "Payload": {"Lead": LEAD}}]
    )
    listed = client.list_engagements(Catalog=CATALOG, Sort={"SortBy": "CreatedDate", "SortOrder": "DESCENDING"})
    ids = [s["Id"] for s in listed["EngagementSummaryList"]]
    assert ids[:2] == [second["Id"], first["Id"]]
    summary = listed["EngagementSummaryList"][0]
    assert {"Arn", "Id", "Title", "CreatedAt", "CreatedBy", "MemberCount"} <= set(summary)
    leads = client.list_engagements(Catalog=CATALOG, ContextTypes=["Lead"])["EngagementSummaryList"]
    assert second["Id"] in {s["Id"] for s in leads} and first["Id"] not in {s["Id"] for s in leads}
    paged = client.get_paginator("list_engagements").paginate(Catalog=CATALOG, PaginationConfig={"PageSize": 1})
    assert [s["Id"] for p in paged for s in p["EngagementSummaryList"]] == ids


def test_a_lead_is_visible_to_its_receiver_only_once_accepted(sb, client):
    engagement, invitation = sb.service.send_lead(
        CATALOG,
        LEAD,
        title="Acme Initiative",
        description="Lead generated from recent campaign activities",
        message="A lead for you",
    )
    inv = client.get_engagement_invitation(Catalog=CATALOG, Identifier=invitation)
    assert (inv["PayloadType"], inv["SenderAwsAccountId"], inv["Status"]) == ("LeadInvitation", "aws", "PENDING")
    assert inv["Payload"]["LeadInvitation"]["Interaction"]["ContactBusinessTitle"] == "Investor Implementation Officer"
    assert "Torey" not in str(inv)
    with pytest.raises(ClientError) as e:  # sales guide: accept before seeing the lead's details
        client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    assert _code(e) == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        client.list_engagement_members(Catalog=CATALOG, Identifier=engagement)
    assert _code(e) == "AccessDeniedException"
    assert engagement not in {s["Id"] for s in client.list_engagements(Catalog=CATALOG)["EngagementSummaryList"]}
    before = sb.service.engagement_doc(CATALOG, engagement)["engagement"]["ModifiedAt"]
    client.accept_engagement_invitation(Catalog=CATALOG, Identifier=inv["Arn"])
    eng = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    # recorded (LeadToOpportunity / GetEngagement): two members, ModifiedBy the receiver, ModifiedAt the acceptance
    assert (eng["MemberCount"], eng["CreatedBy"], eng["ModifiedBy"]) == (2, "aws", ME)
    assert eng["ModifiedAt"] > before
    members = client.list_engagement_members(Catalog=CATALOG, Identifier=engagement)["EngagementMemberList"]
    assert [m["AccountId"] for m in members] == ["aws", ME]
    assert all({"AccountId", "CompanyName", "WebsiteUrl"} <= set(m) for m in members)
    with pytest.raises(ClientError) as e:  # accepted once
        client.accept_engagement_invitation(Catalog=CATALOG, Identifier=invitation)
    assert _code(e) == "ConflictException"


def test_an_expired_or_rejected_invitation_is_not_accepted(sb, client):
    expired = next(
        i
        for i in client.list_engagement_invitations(Catalog=CATALOG, ParticipantType="RECEIVER", Status=["EXPIRED"])[
            "EngagementInvitationSummaries"
        ]
    )
    with pytest.raises(ClientError) as e:
        client.accept_engagement_invitation(Catalog=CATALOG, Identifier=expired["Id"])
    assert _code(e) == "ValidationException"
    assert e.value.response["ErrorList"][0]["Code"] == "INVALID_RESOURCE_STATE"
    with pytest.raises(ClientError) as e:
        client.accept_engagement_invitation(Catalog=CATALOG, Identifier="engi-0000000000000")
    assert _code(e) == "ResourceNotFoundException"


# -- submission, snapshots and their jobs ----------------------------------------------------------------------------
def test_a_submission_creates_the_engagement_invitation_snapshot_and_job_it_names(sb, client):
    ident = _ready_draft(sb)
    task = _submit(client, ident)
    engagement = task["EngagementId"]
    eng = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    rec = sb.record(CATALOG, ident)
    # model: "CreateEngagement (if it doesn't exist)": a customer project made from the opportunity
    assert (eng["MemberCount"], eng["CreatedBy"], eng["Title"]) == (1, ME, rec["Project"]["Title"][:40])
    (context,) = eng["Contexts"]
    assert context["Type"] == "CustomerProject"
    assert context["Payload"]["CustomerProject"]["Customer"]["CompanyName"] == rec["Customer"]["Account"]["CompanyName"]
    # "CreateEngagementInvitation": to AWS, listed among the invitations this account sent
    sent = client.list_engagement_invitations(Catalog=CATALOG, ParticipantType="SENDER")[
        "EngagementInvitationSummaries"
    ]
    assert task["EngagementInvitationId"] in {i["Id"] for i in sent}
    # "CreateResourceSnapshot, CreateResourceSnapshotJob": revision 1, a Running job that ran
    (snap,) = client.list_resource_snapshots(Catalog=CATALOG, EngagementIdentifier=engagement)[
        "ResourceSnapshotSummaries"
    ]
    assert (snap["ResourceId"], snap["Revision"], snap["CreatedBy"], snap["ResourceSnapshotTemplateName"]) == (
        ident,
        1,
        ME,
        "OpportunitySummaryView",
    )
    got = client.get_resource_snapshot(
        Catalog=CATALOG,
        EngagementIdentifier=engagement,
        ResourceType="Opportunity",
        ResourceIdentifier=ident,
        ResourceSnapshotTemplateIdentifier="OpportunitySummaryView",
    )
    summary = got["Payload"]["OpportunitySummary"]
    assert summary["Lifecycle"]["ReviewStatus"] == "Submitted"
    assert summary["Customer"]["Account"]["CompanyName"] == rec["Customer"]["Account"]["CompanyName"]
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=task["ResourceSnapshotJobId"])
    assert {
        "Arn",
        "Catalog",
        "CreatedAt",
        "EngagementId",
        "Id",
        "ResourceArn",
        "ResourceId",
        "ResourceSnapshotTemplateName",
        "ResourceType",
        "Status",
        "LastSuccessfulExecutionDate",
    } <= set(job)
    assert job["Arn"] == f"arn:aws:partnercentral:us-east-1:{ME}:catalog/{CATALOG}/resource-snapshot-job/{job['Id']}"
    assert (job["Status"], job["ResourceArn"]) == ("Running", rec["Arn"]) and "LastFailure" not in job
    assocs = client.list_engagement_resource_associations(
        Catalog=CATALOG, ResourceType="Opportunity", ResourceIdentifier=ident
    )
    assert assocs["EngagementResourceAssociationSummaries"] == [
        {
            "Catalog": CATALOG,
            "EngagementId": engagement,
            "ResourceType": "Opportunity",
            "ResourceId": ident,
            "CreatedBy": ME,
        }
    ]


def test_a_running_job_keeps_the_snapshot_current_a_stopped_or_failing_one_does_not(sb, client):
    ident = _ready_draft(sb)
    task = _submit(client, ident)
    engagement, job_id = task["EngagementId"], task["ResourceSnapshotJobId"]
    kw = dict(
        Catalog=CATALOG,
        EngagementIdentifier=engagement,
        ResourceType="Opportunity",
        ResourceIdentifier=ident,
        ResourceSnapshotTemplateIdentifier="OpportunitySummaryView",
    )
    sb.review(CATALOG, ident, "Approved")
    got = client.get_resource_snapshot(**kw)
    assert (got["Revision"], got["Payload"]["OpportunitySummary"]["Lifecycle"]["ReviewStatus"]) == (2, "Approved")
    assert (
        client.get_resource_snapshot(**kw, Revision=1)["Payload"]["OpportunitySummary"]["Lifecycle"]["ReviewStatus"]
        == "Submitted"
    )
    # a change outside the snapshot's fields runs the job without a new revision
    sb.edit(CATALOG, ident, lambda r: r.setdefault("Marketing", {}).update(Source="None"))
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    assert job["LastSuccessfulExecutionDate"] >= sb.record(CATALOG, ident)["LastModifiedDate"]
    assert client.get_resource_snapshot(**kw)["Revision"] == 2

    client.stop_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    sb.edit(CATALOG, ident, lambda r: r["LifeCycle"].update(Stage="Qualified"))
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    assert job["Status"] == "Stopped"
    assert job["LastSuccessfulExecutionDate"] < sb.record(CATALOG, ident)["LastModifiedDate"]  # AWS has not seen it
    assert client.get_resource_snapshot(**kw)["Revision"] == 2
    stopped = client.list_resource_snapshot_jobs(Catalog=CATALOG, Status="Stopped")["ResourceSnapshotJobSummaries"]
    assert [j["Id"] for j in stopped] == [job_id] and set(stopped[0]) == {"Id", "Arn", "EngagementId", "Status"}
    with pytest.raises(ClientError) as e:  # model: "The job must be started prior to being stopped"
        client.stop_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    assert _code(e) == "ValidationException"
    client.start_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    assert client.get_resource_snapshot(**kw)["Payload"]["OpportunitySummary"]["Lifecycle"]["Stage"] == "Qualified"

    # a job whose runs fail reports it, and the snapshot stays behind
    sb.service.set_job(CATALOG, job_id, failure="AccessDenied: the role cannot read the opportunity")
    sb.edit(CATALOG, ident, lambda r: r["LifeCycle"].update(Stage="Technical Validation"))
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    assert job["LastFailure"] == "AccessDenied: the role cannot read the opportunity"
    assert job["LastSuccessfulExecutionDate"] < sb.record(CATALOG, ident)["LastModifiedDate"]
    assert client.get_resource_snapshot(**kw)["Payload"]["OpportunitySummary"]["Lifecycle"]["Stage"] == "Qualified"
    sb.service.set_job(CATALOG, job_id, failure=None)
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
    assert job["LastSuccessfulExecutionDate"] >= sb.record(CATALOG, ident)["LastModifiedDate"]
    assert job["LastFailure"]  # the most recent failure is kept (model, LastFailure)


def test_without_the_snapshot_role_a_job_fails_until_the_role_is_set():
    with Sandbox(config=SandboxConfig.fast(snapshot_job_role=None), as_of=SEED_DAY) as sb:
        client = sb.client()
        assert "ResourceSnapshotJobRoleArn" not in client.get_selling_system_settings(Catalog=CATALOG)
        ident = _ready_draft(sb)
        job_id = _submit(client, ident)["ResourceSnapshotJobId"]
        job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
        assert "ResourceSnapshotJobRole" in job["LastFailure"] and "LastSuccessfulExecutionDate" not in job
        put = client.put_selling_system_settings(
            Catalog=CATALOG, ResourceSnapshotJobRoleIdentifier="PartnerAccountManagementRole"
        )
        assert put["ResourceSnapshotJobRoleArn"] == f"arn:aws:iam::{ME}:role/PartnerAccountManagementRole"
        got = client.get_selling_system_settings(Catalog=CATALOG)
        assert (got["Catalog"], got["ResourceSnapshotJobRoleArn"]) == (CATALOG, put["ResourceSnapshotJobRoleArn"])
        job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=job_id)
        assert job["LastSuccessfulExecutionDate"] >= sb.record(CATALOG, ident)["LastModifiedDate"]
        arn = "arn:aws:iam::111111111111:role/PartnerAccountManagementRole"  # an ARN is kept as sent
        assert (
            client.put_selling_system_settings(Catalog=CATALOG, ResourceSnapshotJobRoleIdentifier=arn)[
                "ResourceSnapshotJobRoleArn"
            ]
            == arn
        )
        with pytest.raises(ClientError) as e:  # the model's pattern
            client.put_selling_system_settings(Catalog=CATALOG, ResourceSnapshotJobRoleIdentifier="no spaces allowed")
        assert _code(e) == "ValidationException"


def test_snapshots_and_jobs_made_directly(sb, client):
    ident = _ready_draft(sb)
    engagement = _submit(client, ident)["EngagementId"]
    kw = dict(Catalog=CATALOG, EngagementIdentifier=engagement, ResourceType="Opportunity", ResourceIdentifier=ident)
    # recorded: All API Actions / CreateResourceSnapshot answers {Arn, Revision}, template "Opportunity"
    first = client.create_resource_snapshot(
        ResourceSnapshotTemplateIdentifier="Opportunity", ClientToken="snap-1", **kw
    )
    assert first["Revision"] == 1
    assert (
        first["Arn"]
        == f"arn:aws:partnercentral:us-east-1::catalog/{CATALOG}/engagement/{engagement}/resource/Opportunity/{ident}/template/Opportunity/snapshot/1"
    )
    assert (
        client.create_resource_snapshot(ResourceSnapshotTemplateIdentifier="Opportunity", ClientToken="snap-1", **kw)[
            "Revision"
        ]
        == 1
    )
    assert (
        client.create_resource_snapshot(ResourceSnapshotTemplateIdentifier="Opportunity", ClientToken="snap-2", **kw)[
            "Revision"
        ]
        == 2
    )
    with pytest.raises(ClientError) as e:
        client.create_resource_snapshot(
            ResourceSnapshotTemplateIdentifier="OpportunitySummaryView", ClientToken="snap-1", **kw
        )
    assert _code(e) == "ConflictException"
    with pytest.raises(ClientError) as e:
        client.create_resource_snapshot(ResourceSnapshotTemplateIdentifier="NoSuchTemplate", ClientToken="snap-3", **kw)
    assert _code(e) == "ValidationException"
    with pytest.raises(ClientError) as e:
        client.get_resource_snapshot(ResourceSnapshotTemplateIdentifier="Opportunity", Revision=3, **kw)
    assert _code(e) == "ResourceNotFoundException"
    got = client.get_resource_snapshot(ResourceSnapshotTemplateIdentifier="Opportunity", **kw)
    assert {
        "Arn",
        "Catalog",
        "CreatedAt",
        "CreatedBy",
        "EngagementId",
        "Payload",
        "ResourceId",
        "ResourceSnapshotTemplateName",
        "ResourceType",
        "Revision",
    } <= set(got)
    assert got["Revision"] == 2
    only = client.list_resource_snapshots(
        Catalog=CATALOG, EngagementIdentifier=engagement, ResourceSnapshotTemplateIdentifier="Opportunity"
    )
    assert [s["Revision"] for s in only["ResourceSnapshotSummaries"]] == [1, 2]

    # recorded: a job made with CreateResourceSnapshotJob answers {Arn, Id} and reads Stopped
    made = client.create_resource_snapshot_job(
        ResourceSnapshotTemplateIdentifier="OpportunitySummaryView",
        ClientToken="job-1",
        Tags=[{"Key": "Environment", "Value": "Production"}],
        **kw,
    )
    assert set(made) - {"ResponseMetadata"} == {"Arn", "Id"}
    assert (
        client.create_resource_snapshot_job(
            ResourceSnapshotTemplateIdentifier="OpportunitySummaryView",
            ClientToken="job-1",
            Tags=[{"Key": "Environment", "Value": "Production"}],
            **kw,
        )["Id"]
        == made["Id"]
    )
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=made["Id"])
    assert job["Status"] == "Stopped" and "LastSuccessfulExecutionDate" not in job
    assert client.list_tags_for_resource(ResourceArn=made["Arn"])["Tags"] == [
        {"Key": "Environment", "Value": "Production"}
    ]
    jobs = client.list_resource_snapshot_jobs(Catalog=CATALOG, EngagementIdentifier=engagement)[
        "ResourceSnapshotJobSummaries"
    ]
    assert jobs[0]["Id"] == made["Id"]  # model: newest first unless sorted otherwise
    client.start_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=made["Id"])
    with pytest.raises(ClientError) as e:  # model: "The job must be in a stopped state before it can be deleted"
        client.delete_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=made["Id"])
    assert _code(e) == "ConflictException"
    client.stop_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=made["Id"])
    client.delete_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=made["Id"])
    with pytest.raises(ClientError) as e:
        client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=made["Id"])
    assert _code(e) == "ResourceNotFoundException"
    assert client.get_resource_snapshot(
        ResourceSnapshotTemplateIdentifier="OpportunitySummaryView", **kw
    )  # snapshots stay


def test_tags_on_opportunities_and_jobs(sb, client):
    ident = _ready_draft(sb)
    job = client.get_resource_snapshot_job(
        Catalog=CATALOG, ResourceSnapshotJobIdentifier=_submit(client, ident)["ResourceSnapshotJobId"]
    )
    arn = job["Arn"]
    # recorded: All API Actions / TagResource, UntagResource (TagKeys), ListTagsForResource on a job
    tags = [
        {"Key": "Environment", "Value": "Production"},
        {"Key": "Project", "Value": "Alpha"},
        {"Key": "CostCenter", "Value": "123"},
    ]
    client.tag_resource(ResourceArn=arn, Tags=tags)
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "Project", "Value": "Beta"}])
    client.untag_resource(ResourceArn=arn, TagKeys=["CostCenter", "Absent"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "Environment", "Value": "Production"},
        {"Key": "Project", "Value": "Beta"},
    ]
    opp_arn = sb.record(CATALOG, ident)["Arn"]
    client.tag_resource(ResourceArn=opp_arn, Tags=tags[:1])
    assert client.list_tags_for_resource(ResourceArn=opp_arn)["Tags"] == tags[:1]
    for missing in (arn.replace(job["Id"], "job-0000000000000"), opp_arn.replace(ident, "O1")):
        with pytest.raises(ClientError) as e:
            client.list_tags_for_resource(ResourceArn=missing)
        assert _code(e) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:  # an engagement's ARN has no account: the model's pattern refuses it
        client.tag_resource(
            ResourceArn=f"arn:aws:partnercentral:us-east-1::catalog/{CATALOG}/engagement/{job['EngagementId']}",
            Tags=tags,
        )
    assert _code(e) == "ValidationException"


# -- several partners ------------------------------------------------------------------------------------------------
def test_a_multi_partner_engagement_lists_members_resources_and_their_snapshots(sb, client):
    # recorded flow: Working with Multipartner Opportunities (inviting partner submits, invites a partner on the
    # engagement, the receiving partner accepts), then Managing a multipartner opportunity (members, associations,
    # the other partner's snapshot, the jobs)
    ident = _ready_draft(sb)
    task = _submit(client, ident)
    engagement = task["EngagementId"]
    rec = sb.record(CATALOG, ident)
    account = rec["Customer"]["Account"]
    invitation = client.create_engagement_invitation(
        Catalog=CATALOG,
        ClientToken=_token(),
        EngagementIdentifier=engagement,
        Invitation={
            "Message": "My Test Message",
            "Receiver": {"Account": {"Alias": "Test20", "AwsAccountId": "959595959595"}},
            "Payload": {
                "OpportunityInvitation": {
                    "SenderContacts": [
                        {
                            "Email": "test20@mytest.com",
                            "FirstName": "Test",
                            "LastName": "Testlast1",
                            "BusinessTitle": "Regional Manager",
                        }
                    ],
                    "ReceiverResponsibilities": ["Distributor"],
                    "Customer": {
                        "Industry": account["Industry"],
                        "CompanyName": account["CompanyName"],
                        "WebsiteUrl": account["WebsiteUrl"],
                        "CountryCode": "US",
                    },
                    "Project": {
                        "Title": "Project32",
                        "BusinessProblem": "This is a very important problem",
                        "TargetCompletionDate": "2027-10-04",
                        "ExpectedCustomerSpend": [
                            {
                                "Amount": "10000.00",
                                "TargetCompany": "AWS",
                                "CurrencyCode": "USD",
                                "Frequency": "Monthly",
                            }
                        ],
                    },
                }
            },
        },
    )["Id"]
    sent = client.get_engagement_invitation(Catalog=CATALOG, Identifier=invitation)
    assert sent["ExistingMembers"] == [{"CompanyName": "Sandbox partner", "WebsiteUrl": "https://partner.example"}]
    theirs = sb.service.partner_accepts(CATALOG, invitation, company="Test Account", website="https://www.test.example")
    assert client.get_engagement_invitation(Catalog=CATALOG, Identifier=invitation)["Status"] == "ACCEPTED"
    members = client.list_engagement_members(Catalog=CATALOG, Identifier=engagement, MaxResults=1)
    assert [m["AccountId"] for m in members["EngagementMemberList"]] == [ME]
    rest = client.list_engagement_members(Catalog=CATALOG, Identifier=engagement, NextToken=members["NextToken"])
    assert [(m["AccountId"], m["CompanyName"]) for m in rest["EngagementMemberList"]] == [
        ("959595959595", "Test Account")
    ]
    assert client.get_engagement(Catalog=CATALOG, Identifier=engagement)["MemberCount"] == 2
    assocs = client.list_engagement_resource_associations(Catalog=CATALOG, EngagementIdentifier=engagement)
    assert {(a["ResourceId"], a["CreatedBy"]) for a in assocs["EngagementResourceAssociationSummaries"]} == {
        (ident, ME),
        (theirs, "959595959595"),
    }
    only_theirs = client.list_resource_snapshots(
        Catalog=CATALOG, EngagementIdentifier=engagement, CreatedBy="959595959595"
    )
    (snap,) = only_theirs["ResourceSnapshotSummaries"]
    got = client.get_resource_snapshot(
        Catalog=CATALOG,
        EngagementIdentifier=engagement,
        ResourceType="Opportunity",
        ResourceIdentifier=theirs,
        ResourceSnapshotTemplateIdentifier=snap["ResourceSnapshotTemplateName"],
    )
    assert got["Payload"]["OpportunitySummary"]["Customer"]["Account"]["CompanyName"] == account["CompanyName"]
    # their snapshot is not a job of this account's
    assert {j["Id"] for j in client.list_resource_snapshot_jobs(Catalog=CATALOG)["ResourceSnapshotJobSummaries"]} == {
        task["ResourceSnapshotJobId"]
    }


def test_accepting_an_aws_referral_joins_its_engagement_with_a_snapshot_job(client):
    pending = client.list_engagement_invitations(Catalog=CATALOG, ParticipantType="RECEIVER", Status=["PENDING"])
    inv = pending["EngagementInvitationSummaries"][0]
    task = client.start_engagement_by_accepting_invitation_task(
        Catalog=CATALOG, Identifier=inv["Id"], ClientToken=_token()
    )
    assert task["TaskStatus"] == "COMPLETE"
    eng = client.get_engagement(Catalog=CATALOG, Identifier=inv["EngagementId"])
    assert (eng["CreatedBy"], eng["MemberCount"], eng["Title"]) == ("aws", 2, inv["EngagementTitle"])
    job = client.get_resource_snapshot_job(Catalog=CATALOG, ResourceSnapshotJobIdentifier=task["ResourceSnapshotJobId"])
    assert (job["ResourceId"], job["EngagementId"], job["Status"]) == (
        task["OpportunityId"],
        inv["EngagementId"],
        "Running",
    )
    assocs = client.list_engagement_resource_associations(Catalog=CATALOG, ResourceIdentifier=task["OpportunityId"])
    assert [a["EngagementId"] for a in assocs["EngagementResourceAssociationSummaries"]] == [inv["EngagementId"]]


# -- asynchrony ------------------------------------------------------------------------------------------------------
def test_tasks_answer_in_progress_first_when_the_sandbox_is_set_so():
    with Sandbox(config=SandboxConfig.fast(task_seconds=3.0), as_of=SEED_DAY) as sb:
        client = sb.client()
        inv = client.list_engagement_invitations(Catalog=CATALOG, ParticipantType="RECEIVER", Status=["PENDING"])[
            "EngagementInvitationSummaries"
        ][0]
        first = client.start_engagement_by_accepting_invitation_task(
            Catalog=CATALOG, Identifier=inv["Id"], ClientToken="accept-1"
        )
        assert first["TaskStatus"] == "IN_PROGRESS" and "OpportunityId" not in first
        listed = client.list_engagement_by_accepting_invitation_tasks(Catalog=CATALOG, TaskIdentifier=[first["TaskId"]])
        assert [t["TaskStatus"] for t in listed["TaskSummaries"]] == ["IN_PROGRESS"]
        engagement = _lead_engagement(client)
        lead = client.start_opportunity_from_engagement_task(
            Catalog=CATALOG, ClientToken="lead-1", Identifier=engagement, ContextIdentifier="1"
        )
        assert lead["TaskStatus"] == "IN_PROGRESS" and "OpportunityId" not in lead
        time.sleep(3.1)  # the IN_PROGRESS checks above take well under the 3 s
        done = client.list_engagement_by_accepting_invitation_tasks(Catalog=CATALOG, TaskIdentifier=[first["TaskId"]])[
            "TaskSummaries"
        ][0]
        assert done["TaskStatus"] == "COMPLETE" and done["OpportunityId"]
        again = client.start_engagement_by_accepting_invitation_task(
            Catalog=CATALOG, Identifier=inv["Id"], ClientToken="accept-1"
        )
        assert (again["TaskStatus"], again["OpportunityId"]) == ("COMPLETE", done["OpportunityId"])
        converted = client.list_opportunity_from_engagement_tasks(Catalog=CATALOG, TaskIdentifier=[lead["TaskId"]])[
            "TaskSummaries"
        ][0]
        assert converted["TaskStatus"] == "COMPLETE" and client.get_opportunity(
            Catalog=CATALOG, Identifier=converted["OpportunityId"]
        )


def test_a_file_backed_sandbox_keeps_engagements_snapshots_jobs_settings_and_tags(tmp_path):
    db = tmp_path / "sandbox.db"
    with Sandbox(db, config=SandboxConfig.fast(), as_of=SEED_DAY) as sb:
        client = sb.client()
        ident = _ready_draft(sb)
        task = _submit(client, ident)
        engagement = _lead_engagement(client)
        client.put_selling_system_settings(Catalog=CATALOG, ResourceSnapshotJobRoleIdentifier="KeptRole")
        job = client.get_resource_snapshot_job(
            Catalog=CATALOG, ResourceSnapshotJobIdentifier=task["ResourceSnapshotJobId"]
        )
        client.tag_resource(ResourceArn=job["Arn"], Tags=[{"Key": "Kept", "Value": "yes"}])
        before = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
    with Sandbox(db, config=SandboxConfig.fast(), as_of=SEED_DAY) as sb:
        client = sb.client()
        after = client.get_engagement(Catalog=CATALOG, Identifier=engagement)
        assert after == {**before, "ResponseMetadata": after["ResponseMetadata"]}
        assert (
            client.get_resource_snapshot_job(
                Catalog=CATALOG, ResourceSnapshotJobIdentifier=task["ResourceSnapshotJobId"]
            )["Status"]
            == "Running"
        )
        assert client.get_selling_system_settings(Catalog=CATALOG)["ResourceSnapshotJobRoleArn"].endswith(
            ":role/KeptRole"
        )
        assert client.list_tags_for_resource(ResourceArn=job["Arn"])["Tags"] == [{"Key": "Kept", "Value": "yes"}]
        with pytest.raises(ClientError) as e:  # its ClientToken is remembered too
            client.create_engagement(Catalog=CATALOG, ClientToken="eng-x", Title="x")
            client.create_engagement(Catalog=CATALOG, ClientToken="eng-x", Title="y")
        assert _code(e) == "ConflictException"


def test_the_seed_can_hold_new_expiring_and_expired_lead_invitations():
    with Sandbox(config=SandboxConfig.fast(), leads=True) as sb:  # dated from today: expiry is judged by the clock
        client = sb.client()
        listed = client.list_engagement_invitations(
            Catalog=CATALOG, ParticipantType="RECEIVER", PayloadType=["LeadInvitation"]
        )
        leads = listed["EngagementInvitationSummaries"]
        now = datetime.now(UTC)
        assert sorted(i["Status"] for i in leads) == ["EXPIRED", "PENDING", "PENDING", "PENDING", "PENDING"]
        assert all(i["SenderAwsAccountId"] == "aws" for i in leads)
        expiring = [i for i in leads if i["Status"] == "PENDING" and i["ExpirationDate"] - now < timedelta(days=2)]
        assert expiring, "an invitation that expires within two days of the seed's day"
        new = next(i for i in leads if i["Status"] == "PENDING" and i not in expiring)
        client.accept_engagement_invitation(Catalog=CATALOG, Identifier=new["Id"])
        lead = client.get_engagement(Catalog=CATALOG, Identifier=new["EngagementId"])["Contexts"][0]["Payload"]["Lead"]
        assert lead["Interactions"][0]["Contact"]["Email"]  # the contact shows once accepted
        task = client.start_opportunity_from_engagement_task(
            Catalog=CATALOG, ClientToken=_token(), Identifier=new["EngagementId"], ContextIdentifier="1"
        )
        opp = client.get_opportunity(Catalog=CATALOG, Identifier=task["OpportunityId"])
        assert opp["Customer"]["Account"]["CompanyName"] == lead["Customer"]["CompanyName"]
        expired = next(i for i in leads if i["Status"] == "EXPIRED")
        with pytest.raises(ClientError) as e:
            client.accept_engagement_invitation(Catalog=CATALOG, Identifier=expired["Id"])
        assert _code(e) == "ValidationException"
    with Sandbox(config=SandboxConfig.fast(), as_of=SEED_DAY) as sb:  # by default, opportunity invitations only
        types = {
            i["PayloadType"]
            for i in sb.client().list_engagement_invitations(Catalog=CATALOG, ParticipantType="RECEIVER")[
                "EngagementInvitationSummaries"
            ]
        }
        assert types == {"OpportunityInvitation"}
