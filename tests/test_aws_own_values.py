"""A value AWS answers outside the model's enum survives a round trip: real boto3 against the sandbox over HTTP.

AWS's Sandbox answered PrimaryNeedsFromAws "Do Not Need Support from AWS Sales Rep" after a For Visibility Only
submission of an opportunity that had none (samples' Postman collection, "LeadToOpportunity": #51
StartEngagementFromOpportunityTask, #52 GetOpportunity); the model's PrimaryNeedFromAws enum does not list it.
UpdateOpportunity replaces the whole record, so an analyst's unrelated edit sends it back: the client sends it as
it is and the sandbox takes it; typed anew, the model's enum judges it.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import opptoolkit as ot
from opptoolkit.partner import submit_opportunities
from opptoolkit.rules import submission_problems
from opptoolkit.sandbox import Sandbox
from opptoolkit.sandbox._answers import NO_SUPPORT_NEEDED
from opptoolkit.schema import get_schema

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
READ = dict(reads_per_second=1000, progress=False)
NEEDS, NEXT = "PrimaryNeedsFromAws", "LifeCycle.NextSteps"
AWS_OWN = "Do Not Need Support from AWS Sales Rep"  # #52; not one of the model's values (checked below)
DEAL = "Co-Sell - Deal Support"


def test_the_value_is_outside_the_models_enum():
    assert AWS_OWN not in get_schema()[NEEDS].enum and DEAL in get_schema()[NEEDS].enum
    assert NO_SUPPORT_NEEDED == AWS_OWN  # what the sandbox answers is the recorded value


@pytest.fixture
def answered(sb: Sandbox, tmp_path) -> str:
    """An opportunity AWS answers AWS_OWN for: submitted For Visibility Only with no needs, then approved."""
    ident = next(
        r["Id"] for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and not submission_problems(r)
        and r["LifeCycle"]["Stage"] not in ("Launched", "Closed Lost")
    )  # fmt: skip
    sb.edit("Sandbox", ident, lambda r: r.pop(NEEDS, None))
    out = submit_opportunities([ident], "Sandbox", involvement_type="For Visibility Only", ledger=tmp_path / "s",
                               endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert out["status"].tolist() == ["succeeded"]
    sb.review("Sandbox", ident, "Approved")
    return ident


def test_a_for_visibility_only_submission_answers_awss_value(sb, answered):
    got = sb.client().get_opportunity(Catalog="Sandbox", Identifier=answered)
    assert got[NEEDS] == [AWS_OWN]


def test_an_unrelated_edit_sends_awss_value_back_as_it_is(sb, answered, tmp_path):
    base = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=[answered], **READ)
    assert base.at[0, NEEDS] == [AWS_OWN]
    edited = base.copy()
    edited.at[0, NEXT] = "Call the CFO"
    plan = ot.plan_updates(edited, "Sandbox", base=base)  # not read: the export holds what AWS answered
    assert plan["action"].tolist() == ["update"] and plan["errors"].tolist() == [[]]
    before = sb.service.calls.get("UpdateOpportunity", 0)
    out = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert out["status"].tolist() == ["succeeded"] and out["changed_fields"].tolist() == [[NEXT]]
    assert sb.service.calls["UpdateOpportunity"] == before + 1
    stored = sb.record("Sandbox", answered)
    assert stored[NEEDS] == [AWS_OWN] and stored["LifeCycle"]["NextSteps"] == "Call the CFO"


def test_a_workbook_round_trip_keeps_awss_value(sb, answered, tmp_path):
    base = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=[answered], **READ)
    path = ot.write_sheet(base, tmp_path / "pipeline.xlsx", base=True)
    edited = ot.read_sheet(path)
    assert edited.at[0, NEEDS] == [AWS_OWN]
    edited.at[0, NEXT] = "Send the proposal"
    out = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert out["status"].tolist() == ["succeeded"]
    assert sb.record("Sandbox", answered)[NEEDS] == [AWS_OWN]


def test_a_need_added_beside_awss_value_is_sent_with_it(sb, answered, tmp_path):
    base = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=[answered], **READ)
    edited = base.copy()
    edited.at[0, NEEDS] = [AWS_OWN, DEAL]
    out = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert out["status"].tolist() == ["succeeded"]
    assert sb.record("Sandbox", answered)[NEEDS] == [AWS_OWN, DEAL]


def test_the_value_typed_anew_is_judged_by_the_models_enum(sb, tmp_path):
    ident = next(
        r["Id"] for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission" and r.get(NEEDS)
    )  # fmt: skip
    base = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=[ident], **READ)
    edited = base.copy()
    edited.at[0, NEEDS] = [AWS_OWN]
    out = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert out["status"].tolist() == ["invalid"] and out["error_code"].tolist() == ["INVALID_ENUM_VALUE"]
    assert "UpdateOpportunity" not in sb.service.calls  # no write spent
    # and the sandbox, sent it directly, refuses it as the model says (it holds other needs)
    record = sb.client().get_opportunity(Catalog="Sandbox", Identifier=ident)
    body = {k: v for k, v in record.items() if k in get_schema().update_shape.members}
    with pytest.raises(ClientError) as e:
        sb.client().update_opportunity(**dict(body, Identifier=ident, **{NEEDS: [AWS_OWN]}))
    assert e.value.response["ErrorList"][0]["Code"] == "INVALID_ENUM_VALUE"


def test_the_form_shows_awss_value_and_saves_an_unrelated_edit_with_it(sb, answered, tmp_path):
    form = ot.edit_opportunity(answered, "Sandbox", endpoint_url=sb.endpoint_url, ledger=tmp_path / "l")
    assert form.fields[NEEDS].get() == [AWS_OWN]  # shown (the widget takes it beside the model's values)
    form.set(NEXT, "Call on Monday")
    assert form.problems() == []
    assert form.save().startswith("Saved 1 change.")
    stored = sb.record("Sandbox", answered)
    assert stored[NEEDS] == [AWS_OWN] and stored["LifeCycle"]["NextSteps"] == "Call on Monday"
