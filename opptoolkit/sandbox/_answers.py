"""The shape of the sandbox's answers, as AWS was recorded answering.

Sources, by example: aws-samples/partner-crm-integration-samples, the Postman collection
``partner-central-api-sample-codes/PostmanCollections/aws_partner_central_api_postman_collections.json`` (its saved
examples, by folder / item) and ``python_preview/leadToOpportunity/Lead_To_Opportunity.md``.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from .. import fields as P
from ..rules import RELATED
from ..wire import output_shape, to_wire

__all__ = ["NO_SUPPORT_NEEDED", "OPPORTUNITY_OWNER", "RELATED_LISTS", "answer_json", "as_answered_record"]

#: The partner user a new opportunity belongs to: every recorded GetOpportunity lists an ``OpportunityOwner`` first
#: in ``OpportunityTeam``, the team the request sent after it ("Inviting Partner - GetOpportunity"; an accepted
#: invitation's opportunity has the owner alone, "Receiving Partner - GetOpportunity"). Opportunity-Fields.csv,
#: Opportunity Owner Email: "Defaults to the email address of the Alliance Lead if no value is provided". The
#: sandbox's alliance lead is flavour text; the title is the model's (Contact.BusinessTitle "supports either
#: PartnerAccountManager or OpportunityOwner").
OPPORTUNITY_OWNER = {
    "BusinessTitle": "OpportunityOwner",
    "Email": "alliance.lead@partner.example",
    "FirstName": "Alliance",
    "LastName": "Lead",
}

#: What AWS's Sandbox answered as PrimaryNeedsFromAws, a value outside the model's PrimaryNeedFromAws enum (a recorded
#: answer, transcribed), in two places of the samples' Postman collection: after a For Visibility Only submission of
#: an opportunity that had none ("LeadToOpportunity": #49 "GetOpportunity" answers null, #51
#: "StartEngagementFromOpportunityTask" with InvolvementType "For Visibility Only", #52 "GetOpportunity" answers
#: this), and for the opportunity accepted from another partner's invitation ("Working with Multipartner
#: Opportunities / Receiving Partner - GetOpportunity", #67).
NO_SUPPORT_NEEDED = "Do Not Need Support from AWS Sales Rep"  # outside the enum: tests/test_aws_own_values.py

#: The association lists a GetOpportunity always answers, ``[]`` when empty ("LeadToOpportunity / GetOpportunity",
#: 2025-12: these four; the model's other kinds are answered when set).
RELATED_LISTS = ("AwsMarketplaceOfferSets", "AwsMarketplaceOffers", "AwsProducts", "Solutions")
#: Lists AWS answers ``[]`` rather than null when empty: GetOpportunity's Customer.Contacts and
#: Project.ExpectedCustomerSpend ("LeadToOpportunity / GetOpportunity"), OpportunityTeam (Lead_To_Opportunity.md,
#: 8_get_opportunity), GetAwsOpportunitySummary's RelatedEntityIds lists ("Receiving Partner -
#: GetAwsOpportunitySummary"). Any other unset list is answered null ("PrimaryNeedsFromAws": null).
_EMPTY_LISTS = frozenset(
    {
        P.CONTACTS,
        P.SPEND,
        "OpportunityTeam",
        *(f"{RELATED}.{k}" for k in RELATED_LISTS),
        "RelatedEntityIds.AwsProducts",
        "RelatedEntityIds.Solutions",
    }
)
#: Structures whose members are answered only when set, apart from the lists above.
_SPARSE = frozenset({RELATED, "RelatedEntityIds"})


def as_answered_record(record: dict[str, Any]) -> dict[str, Any]:
    """Return a stored opportunity as GetOpportunity answers it: with its four association lists."""
    related = {k: v for k, v in (record.get(RELATED) or {}).items() if v}
    return {**record, RELATED: {**{k: [] for k in RELATED_LISTS}, **related}}


def answer_json(operation: str, result: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON body of an answer: every member of the model's answer, null when unset, as AWS answers.

    Every recorded answer carries its shape's members with null values ("Message": null, "NextToken": null,
    "PartnerOpportunityIdentifier": null in CreateOpportunity's); boto3 drops them, a raw-JSON client sees them.
    """
    shape = output_shape(operation)
    return _filled(to_wire(result, shape), shape, "")  # type: ignore[no-any-return]


def _filled(value: Any, shape: Shape, path: str) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        out = dict(value)
        for name, member in shape.members.items():
            sub = f"{path}.{name}" if path else name
            if out.get(name) is not None:
                out[name] = _filled(out[name], member, sub)
            elif sub in _EMPTY_LISTS:
                out[name] = []
            elif path not in _SPARSE:
                out[name] = None
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_filled(v, shape.member, path) for v in value]
    return value
