"""The fields opptoolkit's own logic names: the documented business rules, the reports, the editability of a record.

Each path is checked against the service model when this module loads, so a model change that removes or
renames one fails loudly instead of silently disabling a rule.
"""

from __future__ import annotations

from .schema import get_schema


def _path(*parts: str) -> str:
    """Return a dotted path that the service model has (a leaf, a structure or a list of structures)."""
    path = ".".join(parts)
    schema = get_schema()
    if path not in schema.fields and path not in schema.struct_lists:
        schema.shape_at(path)  # a structure such as Customer.Account; KeyError if the model lacks it
    return path


ID = _path("Id")
OPPORTUNITY_TYPE = _path("OpportunityType")
PRIMARY_NEEDS = _path("PrimaryNeedsFromAws")
NATIONAL_SECURITY = _path("NationalSecurity")
ACCOUNT = _path("Customer", "Account")
COMPANY = _path(ACCOUNT, "CompanyName")
INDUSTRY = _path(ACCOUNT, "Industry")
OTHER_INDUSTRY = _path(ACCOUNT, "OtherIndustry")
WEBSITE = _path(ACCOUNT, "WebsiteUrl")
TITLE = _path("Project", "Title")
COMPETITOR = _path("Project", "CompetitorName")
OTHER_COMPETITORS = _path("Project", "OtherCompetitorNames")
SPEND = _path("Project", "ExpectedCustomerSpend")
CONTACTS = _path("Customer", "Contacts")
STAGE = _path("LifeCycle", "Stage")
CLOSED_LOST_REASON = _path("LifeCycle", "ClosedLostReason")
TARGET_CLOSE = _path("LifeCycle", "TargetCloseDate")
NEXT_STEPS = _path("LifeCycle", "NextSteps")
NEXT_STEPS_HISTORY = _path("LifeCycle", "NextStepsHistory")
REVIEW_STATUS = _path("LifeCycle", "ReviewStatus")
REVIEW_COMMENTS = _path("LifeCycle", "ReviewComments")
REVIEW_STATUS_REASON = _path("LifeCycle", "ReviewStatusReason")
FUNDING = _path("Marketing", "AwsFundingUsed")
USE_CASES = _path("Marketing", "UseCases")
BUSINESS_PROBLEM = _path("Project", "CustomerBusinessProblem")
CUSTOMER_USE_CASE = _path("Project", "CustomerUseCase")
