"""Client-side validation: model constraints and documented business rules, in the API's codes."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from opptoolkit.rules import check_editable, validate_payload

TODAY = date(2026, 11, 27)


def valid() -> dict:
    return {
        "Catalog": "Sandbox",
        "Identifier": "O1234",
        "LastModifiedDate": datetime(2026, 1, 1, tzinfo=UTC),
        "Customer": {"Account": {"CompanyName": "Acme", "Industry": "Retail", "WebsiteUrl": "https://acme.example",
                                 "Address": {"CountryCode": "NA", "PostalCode": "00501"}},
                     "Contacts": [{"Email": "jane@acme.example", "Phone": "+14155550100"}]},
        "Project": {"Title": "Data lake", "CustomerBusinessProblem": "x" * 20,
                    "ExpectedCustomerSpend": [{"Amount": "100.50", "CurrencyCode": "USD", "Frequency": "Monthly",
                                               "TargetCompany": "AWS"}]},
        "LifeCycle": {"Stage": "Qualified", "TargetCloseDate": "2027-01-31"},
        "Marketing": {"Source": "None"},
    }  # fmt: skip


def with_(path: str, value) -> dict:
    p = copy.deepcopy(valid())
    *parents, key = path.split(".")
    d = p
    for part in parents:
        if part.endswith("]"):
            name, idx = part[:-1].split("[")
            d = d[name][int(idx)]
        else:
            d = d.setdefault(part, {})
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value
    return p


def test_a_valid_payload_has_no_problems():
    assert validate_payload(valid(), today=TODAY) == []


INVALID = [
    # (path, value, expected field, expected code)
    ("LifeCycle.Stage", "Prospekt", "LifeCycle.Stage", "INVALID_ENUM_VALUE"),
    ("Customer.Account.Address.CountryCode", "XX", "Customer.Account.Address.CountryCode", "INVALID_ENUM_VALUE"),
    ("Customer.Contacts[0].Email", "not-an-email", "Customer.Contacts[0].Email", "INVALID_STRING_FORMAT"),
    ("Customer.Contacts[0].Phone", "555-0100", "Customer.Contacts[0].Phone", "INVALID_STRING_FORMAT"),
    ("Project.ExpectedCustomerSpend[0].Amount", "1,000", "Project.ExpectedCustomerSpend[0].Amount", "INVALID_STRING_FORMAT"),
    ("Project.CustomerBusinessProblem", "too short", "Project.CustomerBusinessProblem", "INVALID_STRING_FORMAT"),
    ("Project.Title", "t" * 256, "Project.Title", "INVALID_STRING_FORMAT"),
    ("Customer.Account.CompanyName", None, "Customer.Account.CompanyName", "REQUIRED_FIELD_MISSING"),
    ("Project.ExpectedCustomerSpend[0].CurrencyCode", None, "Project.ExpectedCustomerSpend[0].CurrencyCode", "REQUIRED_FIELD_MISSING"),
    ("Project.ExpectedCustomerSpend", [{"CurrencyCode": "USD", "Frequency": "Monthly", "TargetCompany": "AWS"}] * 11,
     "Project.ExpectedCustomerSpend", "TOO_MANY_VALUES"),
    ("LifeCycle.TargetCloseDate", "2026-02-30x", "LifeCycle.TargetCloseDate", "INVALID_STRING_FORMAT"),
    ("PrimaryNeedsFromAws", ["Co-Sell - Deal Support", "Cosell-Deal Support"], "PrimaryNeedsFromAws", "INVALID_ENUM_VALUE"),
    # business rules
    ("Customer.Account.WebsiteUrl", None, "Customer.Account.WebsiteUrl", "REQUIRED_FIELD_MISSING"),
    ("NationalSecurity", "Yes", "NationalSecurity", "INVALID_VALUE"),
    ("Customer.Account.Industry", "Other", "Customer.Account.OtherIndustry", "REQUIRED_FIELD_MISSING"),
    ("Customer.Account.OtherIndustry", "Robotics", "Customer.Account.OtherIndustry", "INVALID_VALUE"),
    ("Project.CompetitorName", "*Other", "Project.OtherCompetitorNames", "REQUIRED_FIELD_MISSING"),
    ("Project.OtherCompetitorNames", "Foo", "Project.OtherCompetitorNames", "INVALID_VALUE"),
    ("LifeCycle.Stage", "Closed Lost", "LifeCycle.ClosedLostReason", "REQUIRED_FIELD_MISSING"),
    ("LifeCycle.ClosedLostReason", "Price", "LifeCycle.ClosedLostReason", "INVALID_VALUE"),
    ("Marketing.AwsFundingUsed", "No", None, None),  # valid alone ...
    ("LifeCycle.TargetCloseDate", "2026-11-26", "LifeCycle.TargetCloseDate", "INVALID_VALUE"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "value", "field", "code"), INVALID, ids=[f"{c[0]}={c[1]!r}"[:60] for c in INVALID])
def test_each_invalid_value_is_reported_with_field_and_code(path, value, field, code):
    problems = validate_payload(with_(path, value), today=TODAY)
    if field is None:
        assert problems == []
    else:
        assert [(p.field, p.code) for p in problems] == [(field, code)]


def test_use_cases_must_be_empty_without_funding():
    p = with_("Marketing.AwsFundingUsed", "No")
    p["Marketing"]["UseCases"] = ["Analytics"]
    assert [(x.field, x.code) for x in validate_payload(p, today=TODAY)] == [("Marketing.UseCases", "INVALID_VALUE")]


def test_national_security_waives_the_website():
    p = with_("Customer.Account.WebsiteUrl", None)
    p["NationalSecurity"] = "Yes"
    p["Customer"]["Account"]["Industry"] = "Government"
    assert validate_payload(p, today=TODAY) == []


def test_sensitive_values_never_appear_in_messages():
    p = with_("Customer.Account.Address.CountryCode", "Secretland")
    p["Customer"]["Contacts"][0]["Email"] = "private.person@@example"
    msgs = " ".join(str(x) for x in validate_payload(p, today=TODAY))
    assert "Secretland" not in msgs and "private.person" not in msgs
    assert "INVALID_ENUM_VALUE" in msgs  # still says what is wrong


def test_enum_message_suggests_the_closest_value():
    (p,) = validate_payload(with_("LifeCycle.Stage", "Qualifed"), today=TODAY)
    assert "did you mean 'Qualified'" in p.message


def test_past_target_close_date_only_matters_when_changed():
    base = with_("LifeCycle.TargetCloseDate", "2025-01-31")
    edited = copy.deepcopy(base)
    edited["Project"]["Title"] = "Renamed"
    assert validate_payload(edited, base=base, today=TODAY) == []
    edited["LifeCycle"]["TargetCloseDate"] = "2025-02-28"
    assert [p.code for p in validate_payload(edited, base=base, today=TODAY)] == ["INVALID_VALUE"]


@pytest.mark.parametrize("status", ["Submitted", "In review", "Rejected"])
def test_locked_review_statuses_allow_no_change(status):
    problems = check_editable(status, {"Project.Title"})
    assert [(p.field, p.code) for p in problems] == [("Project.Title", "ACTION_NOT_PERMITTED")]
    assert check_editable(status, set()) == []


def test_action_required_allows_only_the_documented_fields():
    allowed = {"Customer.Account.Address.City", "Customer.Account.WebsiteUrl", "LifeCycle.TargetCloseDate",
               "Project.ExpectedCustomerSpend[3].Amount", "Project.CustomerBusinessProblem", "PartnerOpportunityIdentifier"}  # fmt: skip
    assert check_editable("Action Required", allowed) == []
    assert [p.field for p in check_editable("Action Required", allowed | {"Project.Title"})] == ["Project.Title"]
    assert check_editable("Pending Submission", allowed | {"Project.Title"}) == []
    assert check_editable("Pending Submission", {"Project.Title"}) == []


def test_read_only_fields_are_refused_in_any_status():
    problems = check_editable("Approved", {"LifeCycle.ReviewStatus", "LifeCycle.NextStepsHistory[0].Value"})
    assert {p.code for p in problems} == {"ACTION_NOT_PERMITTED"} and len(problems) == 2
