"""What AWS was recorded answering, transcribed as facts: the requests of the recorded flows and AWS's answers.

Source: aws-samples/partner-crm-integration-samples,
``partner-central-api-sample-codes/PostmanCollections/aws_partner_central_api_postman_collections.json``.
Each recorded step cites its saved example: ``#N`` is the example's place among the collection's 97 saved
examples (in the collection's order), ``item`` the folder and item it is saved under. The request is the
example's ``originalRequest`` body, transcribed with its ids written as ``{name}`` (bound from the sandbox's own
earlier answers) and Postman's random variables (``{{$randomCompanyName}}``) as fixed text; AWS's answer is
transcribed as the member names it answered (null-valued ones included) and the values that are the point of
the step. Nothing here is copied whole: bodies are typed as the facts they state.

Steps marked ``recorded=False`` are requests of the same flow that the collection keeps without a saved answer
(or the sandbox's way to the state the recording starts from); they must succeed and are not counted.

The flows replayed are the collection's folders with saved examples, other than "All API Actions" (whose
examples stand alone, with masked ids) and the calls to other services (CloudWatch Logs, EventBridge, the
Marketplace Catalog API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COLLECTION = "partner-central-api-sample-codes/PostmanCollections/aws_partner_central_api_postman_collections.json"


@dataclass(frozen=True)
class Ref:
    """A value the replay takes from an earlier answer (``{name}`` in a request)."""

    name: str


@dataclass(frozen=True)
class Match:
    """A value AWS answered that the sandbox must match as a regular expression (``{name}`` bound first)."""

    pattern: str


@dataclass(frozen=True)
class Contains:
    """A list AWS answered holds an item whose ``key`` is ``value`` (or the value itself, with no key)."""

    value: Any
    key: str | None = None


@dataclass
class Step:
    example: int | None  # the saved example's place in the collection (None: not recorded)
    item: str
    operation: str
    request: dict[str, Any]
    members: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    binds: dict[str, str] = field(default_factory=dict)
    recorded: bool = True
    #: the example this one is an alternative to (the same call saved twice: same answer, same time)
    alternate_of: int | None = None
    note: str = ""


@dataclass
class Flow:
    name: str
    folder: str
    steps: list[Step]
    seed: bool = False  # start from the sandbox's seed (its pending AWS invitations)


def members(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- AWS's answers, as member names (null-valued members included) -------------------------------------------------
#: The members of the recorded GetOpportunity answers (#49, #52, #63, #66, #67, #70, #72, #81, #84, #92, #95, #97),
#: their union: a member one answer lacks is one its data left null (SoftwareRevenue) or its date predates
#: (Project.AwsPartition and RelatedEntityIdentifiers.AwsMarketplaceOfferSets appear from 2025-12 on).
GET_OPPORTUNITY = members("""
    Arn Catalog CreatedDate Id LastModifiedDate NationalSecurity OpportunityType PartnerOpportunityIdentifier
    PrimaryNeedsFromAws
    Customer Customer.Account Customer.Account.Address Customer.Account.Address.City
    Customer.Account.Address.CountryCode Customer.Account.Address.PostalCode Customer.Account.Address.StateOrRegion
    Customer.Account.Address.StreetAddress Customer.Account.AwsAccountId Customer.Account.CompanyName
    Customer.Account.Duns Customer.Account.Industry Customer.Account.OtherIndustry Customer.Account.WebsiteUrl
    Customer.Contacts Customer.Contacts[].BusinessTitle Customer.Contacts[].Email Customer.Contacts[].FirstName
    Customer.Contacts[].LastName Customer.Contacts[].Phone
    LifeCycle LifeCycle.ClosedLostReason LifeCycle.NextSteps LifeCycle.NextStepsHistory LifeCycle.ReviewComments
    LifeCycle.ReviewStatus LifeCycle.ReviewStatusReason LifeCycle.Stage LifeCycle.TargetCloseDate
    Marketing Marketing.AwsFundingUsed Marketing.CampaignName Marketing.Channels Marketing.Source Marketing.UseCases
    OpportunityTeam OpportunityTeam[].BusinessTitle OpportunityTeam[].Email OpportunityTeam[].FirstName
    OpportunityTeam[].LastName OpportunityTeam[].Phone
    Project Project.AdditionalComments Project.ApnPrograms Project.AwsPartition Project.CompetitorName
    Project.CustomerBusinessProblem Project.CustomerUseCase Project.DeliveryModels Project.ExpectedCustomerSpend
    Project.ExpectedCustomerSpend[].Amount Project.ExpectedCustomerSpend[].CurrencyCode
    Project.ExpectedCustomerSpend[].EstimationUrl Project.ExpectedCustomerSpend[].Frequency
    Project.ExpectedCustomerSpend[].TargetCompany Project.OtherCompetitorNames Project.OtherSolutionDescription
    Project.RelatedOpportunityIdentifier Project.SalesActivities Project.Title
    RelatedEntityIdentifiers RelatedEntityIdentifiers.AwsMarketplaceOfferSets RelatedEntityIdentifiers.AwsMarketplaceOffers
    RelatedEntityIdentifiers.AwsProducts RelatedEntityIdentifiers.Solutions
    SoftwareRevenue SoftwareRevenue.DeliveryModel SoftwareRevenue.EffectiveDate SoftwareRevenue.ExpirationDate
    SoftwareRevenue.Value SoftwareRevenue.Value.Amount SoftwareRevenue.Value.CurrencyCode
""")
CREATED = members("Id LastModifiedDate PartnerOpportunityIdentifier")  # #53, #55, #77, #78, #79
UPDATED = members("Id LastModifiedDate")  # #54, #64, #65, #68, #71, #96
#: #56 (StartEngagementFromOpportunityTask)
FROM_OPPORTUNITY_TASK = members("""
    EngagementId EngagementInvitationId Message OpportunityId ReasonCode ResourceSnapshotJobId StartTime TaskArn
    TaskId TaskStatus
""")
#: #62, #91 (StartEngagementByAcceptingInvitationTask)
ACCEPT_TASK = members(
    "EngagementInvitationId Message OpportunityId ReasonCode ResourceSnapshotJobId StartTime TaskArn TaskId TaskStatus"
)
#: #60, #89 (ListEngagementInvitations)
INVITATION_SUMMARIES = (
    "NextToken",
    "EngagementInvitationSummaries",
    *tuple(
        f"EngagementInvitationSummaries[].{m}"
        for m in members(
            """\n        Arn Catalog EngagementId EngagementTitle ExpirationDate Id InvitationDate ParticipantType PayloadType Receiver\n        Receiver.Account Receiver.Account.Alias Receiver.Account.AwsAccountId SenderAwsAccountId SenderCompanyName Status\n    """
        )
    ),
)
#: #61, #90 (GetEngagementInvitation of an opportunity invitation)
INVITATION = members("""
    Arn Catalog EngagementDescription EngagementId EngagementTitle ExistingMembers ExistingMembers[].CompanyName
    ExistingMembers[].WebsiteUrl ExpirationDate Id InvitationDate InvitationMessage PayloadType RejectionReason
    SenderAwsAccountId SenderCompanyName Status Receiver Receiver.Account Receiver.Account.Alias
    Receiver.Account.AwsAccountId
    Payload Payload.OpportunityInvitation Payload.OpportunityInvitation.Customer
    Payload.OpportunityInvitation.Customer.CompanyName Payload.OpportunityInvitation.Customer.CountryCode
    Payload.OpportunityInvitation.Customer.Industry Payload.OpportunityInvitation.Customer.WebsiteUrl
    Payload.OpportunityInvitation.Project Payload.OpportunityInvitation.Project.BusinessProblem
    Payload.OpportunityInvitation.Project.ExpectedCustomerSpend
    Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[].Amount
    Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[].CurrencyCode
    Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[].EstimationUrl
    Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[].Frequency
    Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[].TargetCompany
    Payload.OpportunityInvitation.Project.TargetCompletionDate Payload.OpportunityInvitation.Project.Title
    Payload.OpportunityInvitation.ReceiverResponsibilities Payload.OpportunityInvitation.SenderContacts
    Payload.OpportunityInvitation.SenderContacts[].BusinessTitle Payload.OpportunityInvitation.SenderContacts[].Email
    Payload.OpportunityInvitation.SenderContacts[].FirstName Payload.OpportunityInvitation.SenderContacts[].LastName
    Payload.OpportunityInvitation.SenderContacts[].Phone
""")
#: #69, #80 (GetAwsOpportunitySummary; #80's Insights.AwsProductsSpendInsightsBySource is the deal-sizing data of
#: its own opportunity, left out)
AWS_SUMMARY = members("""
    Catalog Customer Customer.Contacts Customer.Contacts[].BusinessTitle Customer.Contacts[].Email
    Customer.Contacts[].FirstName Customer.Contacts[].LastName Customer.Contacts[].Phone Insights InvolvementType
    InvolvementTypeChangeReason LifeCycle OpportunityTeam OpportunityTeam[].BusinessTitle OpportunityTeam[].Email
    OpportunityTeam[].FirstName OpportunityTeam[].LastName Origin Project Project.ExpectedCustomerSpend
    Project.ExpectedCustomerSpend[].Amount Project.ExpectedCustomerSpend[].CurrencyCode
    Project.ExpectedCustomerSpend[].EstimationUrl Project.ExpectedCustomerSpend[].Frequency
    Project.ExpectedCustomerSpend[].TargetCompany RelatedEntityIds RelatedEntityIds.AwsProducts
    RelatedEntityIds.Solutions RelatedOpportunityId Visibility
""")
#: #58 (ListEngagementFromOpportunityTasks)
FROM_OPPORTUNITY_TASKS = ("NextToken", "TaskSummaries", *tuple(f"TaskSummaries[].{m}" for m in FROM_OPPORTUNITY_TASK))
#: #93 (ListSolutions)
SOLUTIONS = (
    "NextToken",
    "SolutionSummaries",
    *tuple(f"SolutionSummaries[].{m}" for m in members("Arn Catalog Category CreatedDate Id Name Status")),
)

# -- ARNs in the recorded forms -------------------------------------------------------------------------------------
#: An opportunity's ARN carries the account (#49, #52, #63, #67, #81, #84, #92): arn:aws:partnercentral:us-east-1:
#: <account>:catalog/Sandbox/opportunity/<Id>; tasks and invitations have an empty account (#51, #56, #59, #62, #91).
OPPORTUNITY_ARN = Match(r"arn:aws:partnercentral:us-east-1:[0-9]+:catalog/Sandbox/opportunity/{opportunity}")
FROM_OPPORTUNITY_TASK_ARN = Match(
    r"arn:aws:partnercentral:us-east-1::catalog/Sandbox/engagement-from-opportunity-task/task-[0-9a-z]+"
)
ACCEPT_TASK_ARN = Match(
    r"arn:aws:partnercentral:us-east-1::catalog/Sandbox/engagement-by-accepting-invitation-task/task-[0-9a-z]+"
)
INVITATION_ARN = Match(r"arn:aws:partnercentral:us-east-1::catalog/Sandbox/engagement-invitation/engi-[0-9a-z]+")

# -- the requests the flows send (transcribed once, each use cites its example) ----------------------------------------
#: The "ValidAWSCreate" CreateOpportunity of the partner-originated folders (#55; "Submitting a Partner-originated ACE
#: opportunity / CreateOpportunity" is the same body with Frequency "Annual" and another use case).
CREATE_PARTNER_OPPORTUNITY: dict[str, Any] = {
    "ClientToken": "{token}",
    "Catalog": "Sandbox",
    "Origin": "Partner Referral",
    "Customer": {
        "Account": {
            "Address": {
                "City": None,
                "CountryCode": "US",
                "PostalCode": "10001",
                "StateOrRegion": "New York",
                "StreetAddress": None,
            },
            "AwsAccountId": "111111111111",
            "CompanyName": "ValidAWSCreate",
            "Duns": "111100111",
            "Industry": "Financial Services",
            "OtherIndustry": None,
            "WebsiteUrl": "www.test.com",
        },
        "Contacts": [
            {
                "BusinessTitle": "Executive",
                "Email": "test@test.com",
                "FirstName": "TestContact011",
                "LastName": "MLastName001",
                "Phone": "+14444444444",
            }
        ],
    },
    "LifeCycle": {
        "ClosedLostReason": None,
        "NextSteps": "Next steps on the opportunity. TEST is used to communicate to AWS the next action required, "
        "please update.",
        "NextStepsHistory": None,
        "ReviewComments": None,
        "ReviewStatus": "Pending Submission",
        "ReviewStatusReason": None,
        "Stage": "Prospect",
        "TargetCloseDate": "2029-10-05",
    },
    "Marketing": {
        "AwsFundingUsed": "Yes",
        "CampaignName": "TestCampaignName01",
        "Channels": ["Content Syndication"],
        "Source": "Marketing Activity",
        "UseCases": ["Analytics"],
    },
    "NationalSecurity": "No",
    "OpportunityTeam": [
        {
            "BusinessTitle": "PartnerAccountManager",
            "Email": "testemail@test.com",
            "FirstName": "TestContact001",
            "LastName": "CLastName001",
            "Phone": "+14444444444",
        }
    ],
    "OpportunityType": "Net New Business",
    "PartnerOpportunityIdentifier": None,
    "PrimaryNeedsFromAws": ["Co-Sell - Architectural Validation"],
    "Project": {
        "AdditionalComments": None,
        "ApnPrograms": None,
        "CompetitorName": "On-Prem",
        "CustomerBusinessProblem": "A very important problem goes here ValidAWSCreate",
        "CustomerUseCase": "Security & Compliance",
        "DeliveryModels": ["SaaS or PaaS"],
        "ExpectedCustomerSpend": [
            {"Amount": "12500", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
        ],
        "OtherCompetitorNames": None,
        "OtherSolutionDescription": "TestSolution",
        "RelatedOpportunityIdentifier": None,
        "SalesActivities": ["Conducted POC / Demo"],
        "Title": "New Business Deal - 6118",
    },
    "SoftwareRevenue": {},
}


def simulated_review(status: str, stage: str) -> dict[str, Any]:
    """The "TestAssignEditable1" UpdateOpportunity the collection sends to play AWS's reviewer and to update stages.

    The same body in "[Simulate] Approval from AWS" (#64, #65, #68), "Partner 1 - UpdateOpportunity" (#71),
    "Updating to Technical Validation Stage / UpdateOpportunity" (#54) and "Demo Accept ... / UpdateOpportunity"
    (#96), with ``LifeCycle.ReviewStatus`` and ``LifeCycle.Stage`` as given. Its customer, project and marketing are
    another record's (country AL, title TestAssignEditable1): the collection sends it as is to every opportunity.
    """
    return {
        "Catalog": "Sandbox",
        "Customer": {
            "Account": {
                "Address": {
                    "City": None,
                    "CountryCode": "AL",
                    "PostalCode": "9931",
                    "StateOrRegion": "New York",
                    "StreetAddress": None,
                },
                "AwsAccountId": "111111111111",
                "CompanyName": "TestAssignEditable1",
                "Duns": "111100111",
                "Industry": "Financial Services",
                "OtherIndustry": None,
                "WebsiteUrl": "www.TestAssignEditable1.com",
            },
            "Contacts": [
                {
                    "BusinessTitle": "Executive",
                    "Email": "testnamelast09@test.com",
                    "FirstName": "TestContact011",
                    "LastName": "MLastName001",
                    "Phone": "+14444444444",
                }
            ],
        },
        "Identifier": "{opportunity}",
        "LastModifiedDate": "{lastModified}",
        "LifeCycle": {
            "ClosedLostReason": None,
            "NextSteps": "Next steps on the opportunity. TEST is used to communicate to AWS the next action "
            "required, please update.",
            "NextStepsHistory": None,
            "ReviewComments": None,
            "ReviewStatus": status,
            "ReviewStatusReason": None,
            "Stage": stage,
            "TargetCloseDate": "2029-10-05",
        },
        "Marketing": {
            "AwsFundingUsed": None,
            "CampaignName": None,
            "Channels": None,
            "Source": "None",
            "UseCases": None,
        },
        "NationalSecurity": "No",
        "OpportunityType": "Net New Business",
        "PartnerOpportunityIdentifier": None,
        "PrimaryNeedsFromAws": ["Co-Sell - Architectural Validation"],
        "Project": {
            "AdditionalComments": None,
            "ApnPrograms": None,
            "CompetitorName": "On-Prem",
            "CustomerBusinessProblem": "ProjectDescriptionBusinessNeedLengthGreaterThanFiftyCharacters",
            "CustomerUseCase": "Security & Compliance",
            "DeliveryModels": ["SaaS or PaaS"],
            "ExpectedCustomerSpend": [
                {"Amount": "12500", "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
            ],
            "OtherCompetitorNames": None,
            "OtherSolutionDescription": "TestSolution",
            "RelatedOpportunityIdentifier": None,
            "SalesActivities": ["Conducted POC / Demo"],
            "Title": "TestAssignEditable1",
        },
        "SoftwareRevenue": {
            "DeliveryModel": "Pay-as-you-go",
            "EffectiveDate": "2023-10-31",
            "ExpirationDate": "2024-03-31",
            "Value": {"Amount": "10000.0", "CurrencyCode": "USD"},
        },
    }


GET = {"Catalog": "Sandbox", "Identifier": "{opportunity}"}
SUBMIT = {
    "Catalog": "Sandbox",
    "Identifier": "{opportunity}",
    "ClientToken": "{token}-submit",
    "AwsSubmission": {"InvolvementType": "Co-Sell", "Visibility": "Full"},
}
KEEP_GET = {"opportunity": "Id", "lastModified": "LastModifiedDate"}
KEEP_WRITE = {"lastModified": "LastModifiedDate"}
#: What the documented lock of an Approved record keeps as it was (developer guide, "Working with opportunity
#: updates"; the recordings #96 -> #97 show these unchanged after an update that sent other values)
LOCKED_AFTER_CREATE = {
    "Customer.Account.Address.CountryCode": "US",
    "Customer.Account.Address.PostalCode": "10001",
    "Customer.Account.WebsiteUrl": "www.test.com",
    "Project.CustomerBusinessProblem": "A very important problem goes here ValidAWSCreate",
    "Project.Title": "New Business Deal - 6118",
}


def approved_partner_opportunity(folder: str) -> list[Step]:
    """Steps to an Approved partner opportunity, as the partner-originated folders reach one.

    "Working with Partner-originated Opportunities": CreateOpportunity, StartEngagementFromOpportunityTask,
    "[Simulate] Approval from AWS" (their answers are not saved in those folders; #55, #56 and #64 are the same
    calls saved under "Working with Multipartner Opportunities").
    """
    return [
        Step(
            None,
            f"{folder}: CreateOpportunity",
            "CreateOpportunity",
            CREATE_PARTNER_OPPORTUNITY,
            binds={"opportunity": "Id", **KEEP_WRITE},
            recorded=False,
        ),
        Step(
            None,
            f"{folder}: StartEngagementFromOpportunityTask",
            "StartEngagementFromOpportunityTask",
            SUBMIT,
            recorded=False,
        ),
        Step(None, f"{folder}: GetOpportunity", "GetOpportunity", GET, binds=KEEP_GET, recorded=False),
        Step(
            None,
            f"{folder}: [Simulate] Approval from AWS",
            "UpdateOpportunity",
            simulated_review("Approved", "Qualified"),
            binds=KEEP_WRITE,
            recorded=False,
        ),
    ]


CREATE_AWS_REFERRAL: dict[str, Any] = {
    **CREATE_PARTNER_OPPORTUNITY,
    "Origin": "AWS Referral",
    "Customer": {
        "Account": {
            "Address": {
                "City": "New York",
                "CountryCode": "US",
                "PostalCode": "10001",
                "StateOrRegion": "New York",
                "StreetAddress": "123 Wall Street",
            },
            "AwsAccountId": "123456789012",
            "CompanyName": "Acme Corp",
            "Duns": "987654321",
            "Industry": "Financial Services",
            "OtherIndustry": "Investment Banking",
            "WebsiteUrl": "https://www.acmecorp.com",
        },
        "Contacts": [
            {
                "BusinessTitle": "Chief Financial Officer",
                "Email": "jane.doe@acmecorp.com",
                "FirstName": "Jane",
                "LastName": "Doe",
                "Phone": "+12125551234",
            }
        ],
    },
    "Marketing": {
        "AwsFundingUsed": "Yes",
        "CampaignName": "MKTG-Q1NYC2025-001",
        "Channels": ["Content Syndication"],
        "Source": "Marketing Activity",
        "UseCases": ["Analytics"],
    },
    "SoftwareRevenue": {
        "DeliveryModel": "Pay-as-you-go",
        "EffectiveDate": "2023-10-31",
        "ExpirationDate": "2024-03-31",
        "Value": {"Amount": "10000.0", "CurrencyCode": "USD"},
    },
}


def deal_sizing(amount: str | None, industry: str, estimation_url: bool) -> dict[str, Any]:
    """The CreateOpportunity of "Working with deal sizing insights" (#77, #78, #79).

    Their ``TagKeys``, ``CreatedDate`` and ``PartnerId`` are not members of the model's CreateOpportunity (AWS
    answered 200 with them; boto3 cannot send them): the replay leaves them out.
    """
    spend: dict[str, Any] = {"Amount": amount, "CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}
    if estimation_url:
        spend["EstimationUrl"] = "https://calculator.aws/#/estimate?id=966b45503f2d8e73b62f39eb0ef82abe635db3a0"
    return {
        "ClientToken": "{token}-" + ("url" if estimation_url else "amount"),
        "Catalog": "Sandbox",
        "Origin": "Partner Referral",
        "Customer": {
            "Account": {
                "Address": {
                    "PostalCode": "10003",
                    "City": None,
                    "StateOrRegion": "New York",
                    "CountryCode": "US",
                    "StreetAddress": None,
                },
                "CompanyName": "Cormier Group",
                "Duns": "111100111",
                "Industry": industry,
                "OtherIndustry": None,
                "WebsiteUrl": "www.abc.com",
            },
            "Contacts": [
                {
                    "BusinessTitle": "Executive",
                    "Email": "test@mail.com",
                    "FirstName": "Eleonore",
                    "LastName": "Cormier",
                    "Phone": "+14164208519",
                }
            ],
        },
        "LifeCycle": {
            "ClosedLostReason": None,
            "NextSteps": "NS1",
            "NextStepsHistory": None,
            "ReviewComments": None,
            "ReviewStatus": "Approved",
            "ReviewStatusReason": None,
            "Stage": "Prospect",
            "TargetCloseDate": "2029-10-05",
        },
        "Marketing": {
            "AwsFundingUsed": "Yes",
            "CampaignName": "TestCampaignName01",
            "Channels": [],
            "Source": "Marketing Activity",
            "UseCases": ["Analytics"],
        },
        "NationalSecurity": "No",
        "OpportunityTeam": [
            {
                "BusinessTitle": "PartnerAccountManager",
                "Email": "test@mail.com",
                "FirstName": "Eleonore",
                "LastName": "Cormier",
                "Phone": "+14164208510",
            }
        ],
        "OpportunityType": "Net New Business",
        "PartnerOpportunityIdentifier": None,
        "PrimaryNeedsFromAws": ["Co-Sell - Pricing Assistance"],
        "Project": {
            "AdditionalComments": None,
            "ApnPrograms": ["Migration Acceleration Program"],
            "CustomerUseCase": "AI Machine Learning and Analytics",
            "CompetitorName": "Google Cloud Platform",
            "CustomerBusinessProblem": "This specific use case represents an additional workload which will land on "
            "the Databricks platform running on AWS which will drive incremental revenue to AWS.",
            "ExpectedCustomerSpend": [spend],
            "DeliveryModels": ["SaaS or PaaS"],
            "OtherCompetitorNames": None,
            "OtherSolutionDescription": "OtherSolnDesc",
            "RelatedOpportunityIdentifier": None,
            "SalesActivities": ["Conducted POC / Demo"],
            "Title": "Deal sizing {token}",
        },
    }


#: #82 "List AWS Marketplace Offers" (the Marketplace Catalog API's ListEntities): the offer's EntityArn, which the
#: collection's test script keeps as {{awsMarketplaceOfferId}} for #83.
OFFER_ARN = "arn:aws:aws-marketplace:us-east-1:111111111111:AWSMarketplace/Offer/offer-vvk7ddmg2tt2i"

ACCEPTED_BY_INVITATION = {
    # what an opportunity made by accepting an invitation answers (#67, #92)
    "LifeCycle.ReviewStatus": "Approved",
    "LifeCycle.Stage": "Prospect",
    "NationalSecurity": "No",
    "Arn": OPPORTUNITY_ARN,
    "OpportunityTeam": Contains("OpportunityOwner", key="BusinessTitle"),
}

# -- the flows ------------------------------------------------------------------------------------------------------
FLOWS: list[Flow] = [
    Flow(
        "lead-to-opportunity",
        "LeadToOpportunity",
        [
            Step(
                39,
                "CreateEngagement-Lead",
                "CreateEngagement",
                {
                    "ClientToken": "{token}-lead",
                    "Catalog": "Sandbox",
                    "Title": "New Business Deal - 4974 Initiative",
                    "Description": "Lead generated from recent campaign activities",
                    "Contexts": [
                        {
                            "Type": "Lead",
                            "Payload": {
                                "Lead": {
                                    "Customer": {
                                        "CompanyName": "Acme Corp",
                                        "Industry": "Aerospace",
                                        "Address": {"CountryCode": "US"},
                                    },
                                    "Interactions": [
                                        {
                                            "SourceType": "Campaign",
                                            "CustomerAction": "Completed Form",
                                            "SourceName": "Handcrafted Granite Towels Campaign - 2025",
                                            "SourceId": "TERCRJPJ",
                                            "Contact": {
                                                "BusinessTitle": "Global Data Officer",
                                                "Email": "test@test.com",
                                                "FirstName": "Sarina",
                                                "LastName": "Prosacco",
                                            },
                                        }
                                    ],
                                }
                            },
                        }
                    ],
                },
                members=members("Arn Id ModifiedAt"),
                values={"Arn": Match(r"arn:aws:partnercentral:us-east-1::catalog/Sandbox/engagement/eng-[0-9a-z]+")},
                binds={"engagement": "Id"},
            ),
            Step(
                40,
                "CreateEngagementInvitation",
                "CreateEngagementInvitation",
                {
                    "Catalog": "Sandbox",
                    "ClientToken": "{token}-lead-invite",
                    "EngagementIdentifier": "{engagement}",
                    "Invitation": {
                        "Message": "We have a qualified lead from Balistreri, Kerluke and Green that matches your "
                        "expertise. Would you like to collaborate?",
                        "Receiver": {"Account": {"AwsAccountId": "{account}"}},
                        "Payload": {
                            "LeadInvitation": {
                                "Customer": {
                                    "CompanyName": "Stroman, Littel and Champlin",
                                    "Industry": "Software and Internet",
                                    "CountryCode": "US",
                                    "WebsiteUrl": "https://reese.biz",
                                    "MarketSegment": "Enterprise",
                                    "AwsMaturity": "Evaluating",
                                },
                                "Interaction": {
                                    "SourceType": "Campaign",
                                    "SourceId": "TFTRUZV3",
                                    "SourceName": "Partner Referral Program - 2025",
                                    "ContactBusinessTitle": "Corporate Program Agent",
                                    "Usecase": "Database",
                                },
                            }
                        },
                    },
                },
                members=("Arn", "Id"),
                values={"Arn": INVITATION_ARN},
                binds={"invitation": "Id"},
                note="its SenderAwsAccountId, SenderCompanyName, top-level Receiver, PayloadType and "
                "Insights are not members of the model's request: left out",
            ),
            Step(
                42,
                "GetEngagementInvitation",
                "GetEngagementInvitation",
                {"Catalog": "Sandbox", "Identifier": "{invitation}"},
                members=members("""Arn Catalog EngagementDescription EngagementId EngagementTitle ExistingMembers
                     ExistingMembers[].CompanyName ExistingMembers[].WebsiteUrl ExpirationDate Id InvitationDate
                     InvitationMessage PayloadType Receiver Receiver.Account Receiver.Account.Alias
                     Receiver.Account.AwsAccountId RejectionReason SenderAwsAccountId SenderCompanyName Status
                     Payload Payload.LeadInvitation Payload.LeadInvitation.Customer
                     Payload.LeadInvitation.Customer.AwsMaturity Payload.LeadInvitation.Customer.CompanyName
                     Payload.LeadInvitation.Customer.CountryCode Payload.LeadInvitation.Customer.Industry
                     Payload.LeadInvitation.Customer.MarketSegment Payload.LeadInvitation.Customer.WebsiteUrl
                     Payload.LeadInvitation.Interaction Payload.LeadInvitation.Interaction.ContactBusinessTitle
                     Payload.LeadInvitation.Interaction.SourceId Payload.LeadInvitation.Interaction.SourceName
                     Payload.LeadInvitation.Interaction.SourceType Payload.LeadInvitation.Interaction.Usecase"""),
                values={"Status": "PENDING", "PayloadType": "LeadInvitation", "EngagementId": Ref("engagement")},
            ),
            Step(
                43,
                "AcceptEngagementInvitation",
                "AcceptEngagementInvitation",
                {"Catalog": "Sandbox", "Identifier": "{invitation}"},
            ),
            Step(
                44,
                "GetEngagement",
                "GetEngagement",
                {"Catalog": "Sandbox", "Identifier": "{engagement}"},
                members=members("""Arn Contexts Contexts[].Id Contexts[].Type Contexts[].Payload Contexts[].Payload.Lead
                     Contexts[].Payload.Lead.Customer Contexts[].Payload.Lead.Customer.Address
                     Contexts[].Payload.Lead.Customer.CompanyName Contexts[].Payload.Lead.Customer.Industry
                     Contexts[].Payload.Lead.Interactions Contexts[].Payload.Lead.Interactions[].Contact
                     Contexts[].Payload.Lead.Interactions[].CustomerAction
                     Contexts[].Payload.Lead.Interactions[].InteractionDate
                     Contexts[].Payload.Lead.Interactions[].SourceId Contexts[].Payload.Lead.Interactions[].SourceName
                     Contexts[].Payload.Lead.Interactions[].SourceType Contexts[].Payload.Lead.QualificationStatus
                     CreatedAt CreatedBy Description Id MemberCount ModifiedAt ModifiedBy Title"""),
                values={"Id": Ref("engagement"), "MemberCount": 2, "Contexts[0].Id": "1", "Contexts[0].Type": "Lead"},
                binds={"engagementModified": "ModifiedAt"},
            ),
            Step(
                45,
                "UpdateEngagementContext",
                "UpdateEngagementContext",
                {
                    "Catalog": "Sandbox",
                    "EngagementIdentifier": "{engagement}",
                    "ContextIdentifier": "1",
                    "EngagementLastModifiedAt": "{engagementModified}",
                    "Type": "Lead",
                    "Payload": {
                        "Lead": {
                            "QualificationStatus": "Qualified",
                            "Customer": {
                                "CompanyName": "Boehm, Heaney and Dickinson",
                                "Industry": "Software and Internet",
                                "Address": {"CountryCode": "US", "StateOrRegion": "Arizona", "City": "Tucson"},
                                "WebsiteUrl": "https://frivolous-defendant.org",
                                "MarketSegment": "Enterprise",
                                "AwsMaturity": "Single-Account",
                            },
                            "Interaction": {
                                "SourceType": "Campaign",
                                "SourceId": "TERCRJPJ",
                                "SourceName": "Handcrafted Granite Towels Campaign - 2025",
                                "CustomerAction": "Completed Form",
                                "BusinessProblem": "Ducimus despecto sponte quas deduco.",
                                "Usecase": "Database",
                                "Contact": {
                                    "BusinessTitle": "Global Data Officer",
                                    "Email": "test@test.com",
                                    "FirstName": "Sarina",
                                    "LastName": "Prosacco",
                                },
                            },
                        }
                    },
                },
                members=members("ContextId EngagementArn EngagementId EngagementLastModifiedAt"),
                values={"ContextId": "1", "EngagementId": Ref("engagement")},
                note="its InteractionDate (2025-09-08) is left to the service",
            ),
            Step(
                46,
                "StartOpportunityFromEngagementTask",
                "StartOpportunityFromEngagementTask",
                {
                    "Catalog": "Sandbox",
                    "ClientToken": "{token}-convert",
                    "ContextIdentifier": "1",
                    "Identifier": "{engagement}",
                    "Tags": [{"Key": "Source", "Value": "LeadConversion"}],
                },
                members=members("""ContextId EngagementId Message OpportunityId ReasonCode ResourceSnapshotJobId
                                    StartTime TaskArn TaskId TaskStatus"""),
                values={
                    "TaskStatus": "COMPLETE",
                    "EngagementId": Ref("engagement"),
                    "ContextId": "2",
                    "TaskArn": Match(
                        r"arn:aws:partnercentral:us-east-1::catalog/Sandbox/"
                        r"opportunity-from-engagement-task/task-[0-9a-z]+"
                    ),
                },
                binds={"opportunity": "OpportunityId"},
            ),
            Step(
                47,
                "ListSolutions",
                "ListSolutions",
                {
                    "MaxResults": 2,
                    "Catalog": "Sandbox",
                    "Sort": {"SortBy": "CreatedDate", "SortOrder": "DESCENDING"},
                    "Status": ["Active"],
                },
                members=SOLUTIONS,
                binds={"solution": "SolutionSummaries[0].Id"},
            ),
            Step(
                48,
                "AssociateOpportunity",
                "AssociateOpportunity",
                {
                    "Catalog": "Sandbox",
                    "OpportunityIdentifier": "{opportunity}",
                    "RelatedEntityIdentifier": "{solution}",
                    "RelatedEntityType": "Solutions",
                },
            ),
            Step(
                49,
                "GetOpportunity",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={
                    "LifeCycle.ReviewStatus": "Pending Submission",
                    "LifeCycle.Stage": "Prospect",
                    "Project.Title": "Converted from Lead",
                    "Marketing.Source": "None",
                    "NationalSecurity": "No",
                    "Project.ExpectedCustomerSpend": [],
                    "Customer.Contacts": [],
                    "RelatedEntityIdentifiers.Solutions": [Ref("solution")],
                    "Arn": OPPORTUNITY_ARN,
                },
                binds=KEEP_GET,
            ),
            Step(
                50,
                "UpdateOpportunity",
                "UpdateOpportunity",
                {
                    "Catalog": "Sandbox",
                    "Identifier": "{opportunity}",
                    "LastModifiedDate": "{lastModified}",
                    "Customer": {
                        "Account": {
                            "Address": {
                                "City": None,
                                "CountryCode": "US",
                                "PostalCode": "85718",
                                "StateOrRegion": "Arizona",
                                "StreetAddress": None,
                            },
                            "AwsAccountId": None,
                            "CompanyName": "Boehm, Heaney and Dickinson",
                            "Duns": None,
                            "Industry": "Software and Internet",
                            "OtherIndustry": None,
                            "WebsiteUrl": "https://frivolous-defendant.org",
                        },
                        "Contacts": [],
                    },
                    "LifeCycle": {
                        "ClosedLostReason": None,
                        "NextSteps": None,
                        "NextStepsHistory": None,
                        "ReviewComments": None,
                        "ReviewStatus": "Pending Submission",
                        "ReviewStatusReason": None,
                        "Stage": "Prospect",
                        "TargetCloseDate": "2029-01-15",
                    },
                    "Marketing": {
                        "AwsFundingUsed": None,
                        "CampaignName": None,
                        "Channels": None,
                        "Source": "None",
                        "UseCases": None,
                    },
                    "NationalSecurity": "No",
                    "OpportunityTeam": [],
                    "OpportunityType": "Net New Business",
                    "PartnerOpportunityIdentifier": None,
                    "PrimaryNeedsFromAws": None,
                    "Project": {
                        "AdditionalComments": None,
                        "ApnPrograms": None,
                        "CompetitorName": None,
                        "CustomerBusinessProblem": "Ducimus despecto sponte quas deduco.",
                        "CustomerUseCase": "Security & Compliance",
                        "DeliveryModels": ["SaaS or PaaS"],
                        "ExpectedCustomerSpend": [
                            {
                                "Amount": "12900",
                                "CurrencyCode": "USD",
                                "EstimationUrl": None,
                                "Frequency": "Monthly",
                                "TargetCompany": "AWS",
                            }
                        ],
                        "OtherCompetitorNames": None,
                        "OtherSolutionDescription": None,
                        "RelatedOpportunityIdentifier": None,
                        "SalesActivities": None,
                        "Title": "Converted from Lead",
                    },
                    "RelatedEntityIdentifiers": {
                        "AwsMarketplaceOffers": [],
                        "AwsProducts": [],
                        "Solutions": ["S-0052021"],
                    },
                    "SoftwareRevenue": None,
                },
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                note="OpportunityTeam and RelatedEntityIdentifiers are not members of the model's request (AWS "
                "ignored them: #52 keeps the owner and the associated solution); TargetCloseDate 2026-01-15 as "
                "recorded is past now: 2029-01-15",
            ),
            Step(
                51,
                "StartEngagementFromOpportunityTask",
                "StartEngagementFromOpportunityTask",
                {**SUBMIT, "AwsSubmission": {"InvolvementType": "For Visibility Only", "Visibility": "Full"}},
                members=FROM_OPPORTUNITY_TASK,
                values={
                    "TaskStatus": "COMPLETE",
                    "OpportunityId": Ref("opportunity"),
                    "EngagementId": Ref("engagement"),
                    "TaskArn": FROM_OPPORTUNITY_TASK_ARN,
                },
            ),
            Step(
                52,
                "GetOpportunity",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={
                    "LifeCycle.ReviewStatus": "Submitted",
                    "LifeCycle.Stage": "Prospect",
                    "Project.CustomerUseCase": "Security & Compliance",
                    "RelatedEntityIdentifiers.Solutions": [Ref("solution")],
                    "OpportunityTeam": Contains("OpportunityOwner", key="BusinessTitle"),
                    # submitted For Visibility Only with none: a value outside the model's enum
                    "PrimaryNeedsFromAws": ["Do Not Need Support from AWS Sales Rep"],
                },
            ),
        ],
    ),
    Flow(
        "aws-referral-create",
        "Working with AWS-originated Opportunities / Simulating the creation of AWS originated opportunity",
        [
            Step(
                53,
                "[Simulate] CreateOpportunity - For Accept",
                "CreateOpportunity",
                CREATE_AWS_REFERRAL,
                members=CREATED,
                values={"PartnerOpportunityIdentifier": None},
                note="Origin AWS Referral in the Sandbox catalog; OtherIndustry with Industry Financial Services: "
                "AWS answered 200",
            ),
        ],
    ),
    Flow(
        "technical-validation",
        "Working with Partner-originated Opportunities / Updating to Technical Validation Stage",
        [
            *approved_partner_opportunity("Working with Partner-originated Opportunities"),
            Step(
                54,
                "UpdateOpportunity",
                "UpdateOpportunity",
                simulated_review("Action Required", "Technical Validation"),
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                binds=KEEP_WRITE,
                note="ReviewStatus 'Action Required' on an Approved record: AWS answered 200",
            ),
            Step(
                None,
                "GetOpportunity check stage",
                "GetOpportunity",
                GET,
                recorded=False,
                values={"LifeCycle.Stage": "Technical Validation", "LifeCycle.ReviewStatus": "Approved"},
            ),
        ],
    ),
    Flow(
        "multipartner",
        "Working with Multipartner Opportunities",
        [
            Step(
                55,
                "Inviting Partner - CreateOpportunity",
                "CreateOpportunity",
                CREATE_PARTNER_OPPORTUNITY,
                members=CREATED,
                values={"PartnerOpportunityIdentifier": None},
                binds={"opportunity": "Id", **KEEP_WRITE},
            ),
            Step(
                56,
                "Inviting Partner - StartEngagementFromOpportunityTask",
                "StartEngagementFromOpportunityTask",
                SUBMIT,
                members=FROM_OPPORTUNITY_TASK,
                values={
                    "TaskStatus": "COMPLETE",
                    "OpportunityId": Ref("opportunity"),
                    "Message": None,
                    "ReasonCode": None,
                    "TaskArn": FROM_OPPORTUNITY_TASK_ARN,
                    "EngagementId": Match("eng-[0-9a-z]+"),
                    "EngagementInvitationId": Match("engi-[0-9a-z]+"),
                    "ResourceSnapshotJobId": Match("job-[0-9a-z]+"),
                },
                binds={"task": "TaskId", "engagement": "EngagementId"},
                note="submitted with no solution associated and Stage Prospect: COMPLETE (#63: Submitted)",
            ),
            Step(
                57,
                "Inviting Partner - ListEngagementResourceAssociations",
                "ListEngagementResourceAssociations",
                {"Catalog": "Sandbox", "ResourceType": "Opportunity", "ResourceIdentifier": "{opportunity}"},
                members=(
                    "NextToken",
                    "EngagementResourceAssociationSummaries",
                    *(
                        f"EngagementResourceAssociationSummaries[].{m}"
                        for m in members("Catalog CreatedBy EngagementId ResourceId ResourceType")
                    ),
                ),
                values={"EngagementResourceAssociationSummaries": Contains(Ref("engagement"), key="EngagementId")},
            ),
            Step(
                58,
                "Inviting Partner - ListEngagementFromOpportunityTasks",
                "ListEngagementFromOpportunityTasks",
                {"Catalog": "Sandbox", "TaskIdentifier": ["{task}"]},
                members=FROM_OPPORTUNITY_TASKS,
                values={"TaskSummaries": Contains(Ref("task"), key="TaskId")},
            ),
            Step(
                59,
                "Inviting Partner - CreateEngagementInvitation",
                "CreateEngagementInvitation",
                {
                    "ClientToken": "{token}-invite",
                    "Catalog": "Sandbox",
                    "EngagementIdentifier": "{engagement}",
                    "Invitation": {
                        "Message": "My Test Message",
                        "Receiver": {"Account": {"Alias": "Test20", "AwsAccountId": "{account}"}},
                        "Payload": {
                            "OpportunityInvitation": {
                                "SenderContacts": [
                                    {
                                        "Email": "test20@mytest.com",
                                        "FirstName": "Test",
                                        "LastName": "Testlast1",
                                        "BusinessTitle": "Regional Manager",
                                        "Phone": "+14151231234",
                                    }
                                ],
                                "ReceiverResponsibilities": ["Distributor"],
                                "Customer": {
                                    "Industry": "Agriculture",
                                    "CompanyName": "Company20",
                                    "WebsiteUrl": "marcelina.org",
                                    "CountryCode": "US",
                                },
                                "Project": {
                                    "Title": "Project32",
                                    "BusinessProblem": "This is a very important problem",
                                    "TargetCompletionDate": "2029-10-04",
                                    "ExpectedCustomerSpend": [
                                        {
                                            "Amount": "10000.00",
                                            "TargetCompany": "AWS",
                                            "CurrencyCode": "USD",
                                            "Frequency": "Monthly",
                                            "EstimationUrl": "www.amazon.com",
                                        }
                                    ],
                                },
                            }
                        },
                    },
                },
                members=("Arn", "Id"),
                values={"Arn": INVITATION_ARN},
                binds={"invitation": "Id"},
                note="EstimationUrl www.amazon.com (no scheme, not the model's pattern): AWS answered 200; the "
                "receiver is the sandbox's own account, so the invitation arrives; TargetCompletionDate 2025-10-04 "
                "as recorded is past now: 2029-10-04",
            ),
            Step(
                60,
                "Receiving Partner - ListEngagementInvitations",
                "ListEngagementInvitations",
                {
                    "Catalog": "Sandbox",
                    "MaxResults": 20,
                    "NextToken": None,
                    "ParticipantType": "RECEIVER",
                    "PayloadType": ["OpportunityInvitation"],
                    "Sort": {"SortBy": "InvitationDate", "SortOrder": "DESCENDING"},
                },
                members=INVITATION_SUMMARIES,
                values={"EngagementInvitationSummaries": Contains(Ref("invitation"), key="Id"), "NextToken": None},
            ),
            Step(
                61,
                "Receiving Partner - GetEngagementInvitation",
                "GetEngagementInvitation",
                {"Catalog": "Sandbox", "Identifier": "{invitation}"},
                members=INVITATION,
                values={
                    "Status": "PENDING",
                    "PayloadType": "OpportunityInvitation",
                    "EngagementId": Ref("engagement"),
                    "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].EstimationUrl": "www.amazon.com",
                },
            ),
            Step(
                62,
                "Receiving Partner - StartEngagementByAcceptingInvitationTask",
                "StartEngagementByAcceptingInvitationTask",
                {"Catalog": "Sandbox", "Identifier": "{invitation}", "ClientToken": "{token}-accept"},
                members=ACCEPT_TASK,
                values={
                    "TaskStatus": "COMPLETE",
                    "EngagementInvitationId": Ref("invitation"),
                    "Message": None,
                    "ReasonCode": None,
                    "TaskArn": ACCEPT_TASK_ARN,
                },
                binds={"accepted": "OpportunityId"},
            ),
            Step(
                63,
                "Inviting Partner - GetOpportunity",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={
                    "LifeCycle.ReviewStatus": "Submitted",
                    "LifeCycle.Stage": "Prospect",
                    "Arn": OPPORTUNITY_ARN,
                    "Project.CustomerUseCase": "Security & Compliance",
                    "SoftwareRevenue": None,
                    "LifeCycle.NextStepsHistory": None,
                    "OpportunityTeam": Contains("OpportunityOwner", key="BusinessTitle"),
                },
                binds=KEEP_GET,
            ),
            Step(
                64,
                "[Simulate] Approval from AWS for Inviting Partner Opportunity",
                "UpdateOpportunity",
                simulated_review("Approved", "Qualified"),
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                binds=KEEP_WRITE,
            ),
            Step(
                65,
                "[Simulate] Approval from AWS for Inviting Partner Opportunity - Notebook",
                "UpdateOpportunity",
                simulated_review("Approved", "Qualified"),
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                binds=KEEP_WRITE,
                alternate_of=64,
            ),
            Step(
                68,
                "[Simulate] Approval from AWS for Inviting Partner Opportunity Copy",
                "UpdateOpportunity",
                simulated_review("Approved", "Qualified"),
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                binds=KEEP_WRITE,
                alternate_of=64,
            ),
            Step(
                66,
                "Inviting Partner - GetOpportunity check status",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={
                    "LifeCycle.ReviewStatus": "Approved",
                    "LifeCycle.Stage": "Prospect",
                    "Customer.Account.CompanyName": "ValidAWSCreate",
                    **LOCKED_AFTER_CREATE,
                },
                note="the simulated approval applied ReviewStatus alone: the stage, company and title it sent are "
                "not the record's",
            ),
            Step(
                67,
                "Receiving Partner - GetOpportunity",
                "GetOpportunity",
                {"Catalog": "Sandbox", "Identifier": "{accepted}"},
                members=GET_OPPORTUNITY,
                values={
                    **ACCEPTED_BY_INVITATION,
                    "Arn": Match(OPPORTUNITY_ARN.pattern.replace("{opportunity}", "{accepted}")),
                    "Marketing.Source": "None",
                    "Customer.Contacts": [],
                    "LifeCycle.TargetCloseDate": "2029-10-04",
                    "Project.ExpectedCustomerSpend[0].EstimationUrl": None,
                    "PrimaryNeedsFromAws": ["Do Not Need Support from AWS Sales Rep"],
                },
                note="another partner's invitation accepted: PrimaryNeedsFromAws is a value outside the model's enum "
                "(#92, AWS's invitation accepted, answers the AWS opportunity's own need instead)",
            ),
            Step(
                69,
                "Receiving Partner - GetAwsOpportunitySummary",
                "GetAwsOpportunitySummary",
                {"Catalog": "Sandbox", "RelatedOpportunityIdentifier": "{accepted}"},
                members=AWS_SUMMARY,
                values={
                    "Catalog": "Sandbox",
                    "RelatedOpportunityId": Ref("accepted"),
                    "Visibility": "Full",
                    "InvolvementType": "Co-Sell",
                    "RelatedEntityIds.Solutions": [],
                },
            ),
        ],
    ),
    Flow(
        "multipartner-updates",
        "Managing a multipartner opportunity / Receive partner updates on a multi-partner opportunity",
        [
            *approved_partner_opportunity("Working with Multipartner Opportunities"),
            Step(
                70,
                "Partner 1 - GetOpportunity",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={"LifeCycle.ReviewStatus": "Approved", "LifeCycle.Stage": "Prospect"},
                binds=KEEP_GET,
            ),
            Step(
                71,
                "Partner 1 - UpdateOpportunity",
                "UpdateOpportunity",
                simulated_review("Action Required", "Prospect"),
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                binds=KEEP_WRITE,
                note="ReviewStatus 'Action Required' and another record's country, title and business problem on "
                "an Approved record: AWS answered 200",
            ),
            Step(
                72,
                "Partner 1 - GetOpportunity Check",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={"LifeCycle.ReviewStatus": "Approved", "LifeCycle.Stage": "Prospect", **LOCKED_AFTER_CREATE},
            ),
            Step(
                73,
                "Partner 2 - ListEngagementResourceAssociations",
                "ListEngagementResourceAssociations",
                {"Catalog": "Sandbox", "ResourceType": "Opportunity", "ResourceIdentifier": "{opportunity}"},
                members=(
                    "NextToken",
                    "EngagementResourceAssociationSummaries",
                    *(
                        f"EngagementResourceAssociationSummaries[].{m}"
                        for m in members("Catalog CreatedBy EngagementId ResourceId ResourceType")
                    ),
                ),
            ),
        ],
    ),
    Flow(
        "snapshot-jobs",
        "Managing a multipartner opportunity / Check status of resouce snapshot jobs associated with a multi-partner "
        "opportunity",
        [
            Step(
                None,
                "CreateOpportunity",
                "CreateOpportunity",
                CREATE_PARTNER_OPPORTUNITY,
                binds={"opportunity": "Id"},
                recorded=False,
            ),
            Step(
                None,
                "StartEngagementFromOpportunityTask",
                "StartEngagementFromOpportunityTask",
                SUBMIT,
                binds={"engagement": "EngagementId", "job": "ResourceSnapshotJobId"},
                recorded=False,
            ),
            Step(
                74,
                "ListEngagementResourceAssociations",
                "ListEngagementResourceAssociations",
                {"Catalog": "Sandbox", "ResourceType": "Opportunity", "ResourceIdentifier": "{opportunity}"},
                members=(
                    "NextToken",
                    "EngagementResourceAssociationSummaries",
                    *(
                        f"EngagementResourceAssociationSummaries[].{m}"
                        for m in members("Catalog EngagementId ResourceId ResourceType")
                    ),
                ),
                note="AWS also answered ResourceArn and ResourceOwner, which the model's answer does not have",
            ),
            Step(
                75,
                "ListResourceSnapshotJobs",
                "ListResourceSnapshotJobs",
                {"Catalog": "Sandbox", "EngagementIdentifier": "{engagement}"},
                members=(
                    "NextToken",
                    "ResourceSnapshotJobSummaries",
                    *(f"ResourceSnapshotJobSummaries[].{m}" for m in members("Arn EngagementId Id Status")),
                ),
                values={"ResourceSnapshotJobSummaries": Contains(Ref("job"), key="Id")},
            ),
            Step(
                76,
                "GetResourceSnapshotJob",
                "GetResourceSnapshotJob",
                {"Catalog": "Sandbox", "ResourceSnapshotJobIdentifier": "{job}"},
                members=members("""Arn Catalog CreatedAt EngagementId Id LastFailure LastSuccessfulExecutionDate
                                    ResourceArn ResourceId ResourceSnapshotTemplateName ResourceType Status"""),
                values={
                    "Id": Ref("job"),
                    "ResourceId": Ref("opportunity"),
                    "ResourceType": "Opportunity",
                    "ResourceSnapshotTemplateName": "OpportunitySummaryView",
                },
            ),
        ],
    ),
    Flow(
        "deal-sizing",
        "Working with deal sizing insights",
        [
            Step(
                77,
                "CreateOpportunity-Amount",
                "CreateOpportunity",
                {**deal_sizing("25000.00", "Marketing and Advertising", False), "OpportunityType": "Expansion"},
                members=CREATED,
                values={"PartnerOpportunityIdentifier": None},
            ),
            Step(
                79,
                "CreateOpportunity-EstimationUrl-Amount",
                "CreateOpportunity",
                deal_sizing("25000.00", "Other", True),
                members=CREATED,
                values={"PartnerOpportunityIdentifier": None},
                binds={"opportunity": "Id", **KEEP_WRITE},
                note="Industry Other with no OtherIndustry, and ReviewStatus Approved sent on create: AWS answered "
                "200. #78 (the same with Amount null) is not replayed: its status was not saved, and boto3 cannot "
                "send a null",
            ),
            Step(
                None, "StartEngagementFromOpportunityTask", "StartEngagementFromOpportunityTask", SUBMIT, recorded=False
            ),
            Step(None, "GetOpportunity-beforeUpdate", "GetOpportunity", GET, binds=KEEP_GET, recorded=False),
            Step(
                None,
                "[Simulate] Approval from AWS",
                "UpdateOpportunity",
                simulated_review("Approved", "Qualified"),
                recorded=False,
            ),
            Step(
                80,
                "GetAwsOpportunitySummary",
                "GetAwsOpportunitySummary",
                {"Catalog": "Sandbox", "RelatedOpportunityIdentifier": "{opportunity}"},
                members=AWS_SUMMARY,
                values={
                    "Catalog": "Sandbox",
                    "RelatedOpportunityId": Ref("opportunity"),
                    "Origin": "Partner Referral",
                    "InvolvementType": "Co-Sell",
                    "Visibility": "Full",
                },
            ),
        ],
    ),
    Flow(
        "marketplace-offer",
        "Other common opportunity actions / Associating an AWS Marketplace offer",
        [
            *approved_partner_opportunity("Working with Partner-originated Opportunities"),
            Step(
                81,
                "GetOpportunity",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={"LifeCycle.ReviewStatus": "Approved", "RelatedEntityIdentifiers.AwsMarketplaceOffers": []},
            ),
            Step(
                83,
                "AssociateOpportunity - AWS Marketplace Offer",
                "AssociateOpportunity",
                {
                    "Catalog": "Sandbox",
                    "OpportunityIdentifier": "{opportunity}",
                    "RelatedEntityIdentifier": OFFER_ARN,
                    "RelatedEntityType": "AwsMarketplaceOffers",
                },
                note="the request's {{awsMarketplaceOfferId}} is the EntityArn that #82 (ListEntities, Marketplace "
                "Catalog API) answered, as its test script sets it; #84 answers the offer's id",
            ),
            Step(
                84,
                "GetOpportunityToVerify",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={
                    "RelatedEntityIdentifiers.AwsMarketplaceOffers": ["offer-vvk7ddmg2tt2i"],
                    "RelatedEntityIdentifiers.Solutions": [],
                },
            ),
        ],
    ),
    Flow(
        "accept-aws-referral",
        "Demo Accept AWS-originated Opportunities",
        [
            Step(
                89,
                "ListEngagementInvitations",
                "ListEngagementInvitations",
                {
                    "MaxResults": 20,
                    "Catalog": "Sandbox",
                    "Status": ["PENDING"],
                    "Sort": {"SortBy": "InvitationDate", "SortOrder": "DESCENDING"},
                    "ParticipantType": "RECEIVER",
                },
                members=INVITATION_SUMMARIES,
                values={"NextToken": None},
                binds={"invitation": "EngagementInvitationSummaries[0].Id"},
            ),
            Step(
                90,
                "GetEngagementInvitation",
                "GetEngagementInvitation",
                {"Catalog": "Sandbox", "Identifier": "{invitation}"},
                members=INVITATION,
                values={"Status": "PENDING", "PayloadType": "OpportunityInvitation", "Arn": INVITATION_ARN},
            ),
            Step(
                91,
                "StartEngagementByAcceptingInvitationTask",
                "StartEngagementByAcceptingInvitationTask",
                {"Catalog": "Sandbox", "Identifier": "{invitation}", "ClientToken": "{token}-accept"},
                members=ACCEPT_TASK,
                values={
                    "TaskStatus": "COMPLETE",
                    "EngagementInvitationId": Ref("invitation"),
                    "Message": None,
                    "ReasonCode": None,
                    "TaskArn": ACCEPT_TASK_ARN,
                    "ResourceSnapshotJobId": Match("job-[0-9a-z]+"),
                },
                binds={"opportunity": "OpportunityId"},
            ),
            Step(
                92,
                "GetOpportunity",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={**ACCEPTED_BY_INVITATION, "RelatedEntityIdentifiers.Solutions": []},
                binds=KEEP_GET,
            ),
            Step(
                93,
                "ListSolutions",
                "ListSolutions",
                {
                    "MaxResults": 20,
                    "Catalog": "Sandbox",
                    "Sort": {"SortBy": "CreatedDate", "SortOrder": "DESCENDING"},
                    "Status": ["Active"],
                },
                members=SOLUTIONS,
                values={"NextToken": None},
                binds={"solution": "SolutionSummaries[0].Id"},
            ),
            Step(
                94,
                "AssociateOpportunity",
                "AssociateOpportunity",
                {
                    "Catalog": "Sandbox",
                    "OpportunityIdentifier": "{opportunity}",
                    "RelatedEntityIdentifier": "{solution}",
                    "RelatedEntityType": "Solutions",
                },
            ),
            Step(
                95,
                "GetOpportunity Check Solution",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={"RelatedEntityIdentifiers.Solutions": [Ref("solution")], "LifeCycle.ReviewStatus": "Approved"},
                binds={
                    **KEEP_GET,
                    "country": "Customer.Account.Address.CountryCode",
                    "title": "Project.Title",
                    "website": "Customer.Account.WebsiteUrl",
                },
            ),
            Step(
                96,
                "UpdateOpportunity",
                "UpdateOpportunity",
                simulated_review("Action Required", "Technical Validation"),
                members=UPDATED,
                values={"Id": Ref("opportunity")},
                note="ReviewStatus 'Action Required' on an Approved record, with another record's country, website, "
                "business problem and title: AWS answered 200",
            ),
            Step(
                97,
                "GetOpportunity Check Stage",
                "GetOpportunity",
                GET,
                members=GET_OPPORTUNITY,
                values={
                    "LifeCycle.Stage": "Technical Validation",
                    "LifeCycle.ReviewStatus": "Approved",
                    "Customer.Account.Address.CountryCode": Ref("country"),
                    "Project.Title": Ref("title"),
                    "Customer.Account.WebsiteUrl": Ref("website"),
                },
                note="AWS applied the stage and kept ReviewStatus Approved; the country, title and website it was "
                "sent are not the record's (#95 -> #97)",
            ),
        ],
        seed=True,
    ),
]


def recorded_steps() -> list[tuple[Flow, Step]]:
    """Every recorded step of every flow, in the collection's order of flows."""
    return [(f, s) for f in FLOWS for s in f.steps if s.recorded]
