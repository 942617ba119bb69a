"""AWS products and AWS Marketplace offers as workbook columns, pushed as association calls (#30 item 4).

Real boto3 against the sandbox over HTTP; the workbook saved again by LibreOffice Calc. What AWS was recorded doing
with an offer (samples' Postman collection, "Other common opportunity actions / Associating an AWS Marketplace
offer"): AssociateOpportunity with the offer's ARN (#83, as #82's ListEntities gave it), then GetOpportunity answers
the offer's id (#84).
"""

from __future__ import annotations

import http.server
import json
import threading
from functools import partial

import openpyxl
import pytest
from botocore.config import Config

import opptoolkit as ot
from opptoolkit.exceptions import OpptoolkitError
from opptoolkit.partner import read_aws_products
from opptoolkit.quotas import ASSOCIATIONS_PER_OPPORTUNITY
from opptoolkit.rules import ASSOCIATIONS, AWS_PRODUCTS_URL
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.schema import label_for

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)
PRODUCTS, OFFERS = "RelatedEntityIdentifiers.AwsProducts", "RelatedEntityIdentifiers.AwsMarketplaceOffers"
#: The offer of the recording (#82's EntityArn) and another of the same form.
OFFER_ID = "offer-vvk7ddmg2tt2i"
OFFER = f"arn:aws:aws-marketplace:us-east-1:111111111111:AWSMarketplace/Offer/{OFFER_ID}"
OTHER_OFFER = "arn:aws:aws-marketplace:us-east-1:111111111111:AWSMarketplace/Offer/offer-0000000000001"
ASSOCIATE, DISASSOCIATE = "AssociateOpportunity", "DisassociateOpportunity"


def _ids(sb: Sandbox, n: int) -> list[str]:
    """Opportunities a person can edit (Pending Submission), with nothing but solutions associated."""
    return [
        r["Id"] for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission"
        and not any(v for k, v in (r.get("RelatedEntityIdentifiers") or {}).items() if k != "Solutions")
    ][:n]  # fmt: skip


def _export(sb: Sandbox, ids: list[str]):
    return ot.read_opportunities(
        "Sandbox", endpoint_url=sb.endpoint_url, identifiers=ids, reads_per_second=1000, progress=False
    )


def _related(client, ident: str) -> dict[str, list[str]]:
    return client.get_opportunity(Catalog="Sandbox", Identifier=ident)["RelatedEntityIdentifiers"]


def _calls(result):
    return result[result["operation"].isin([ASSOCIATE, DISASSOCIATE])].reset_index(drop=True)


def _set_cells(path, cells: dict[tuple[str, str], str]) -> None:
    """Type into the workbook as a person would: ``{(Id, column): text}``, the columns found by their labels."""
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    for (ident, column), text in cells.items():
        ws.cell(rows[ident], header.index(label_for(column)) + 1).value = text
    wb.save(path)


def test_every_kind_the_model_associates_is_an_editable_column():
    assert set(ASSOCIATIONS.values()) == {"Solutions", "AwsProducts", "AwsMarketplaceOffers",
                                          "AwsMarketplaceOfferSets", "AwsMarketplaceSolutions",
                                          "AwsMarketplaceProducts"}  # fmt: skip
    assert ot.rules.editable_fields("Pending Submission", list(ASSOCIATIONS)) == dict.fromkeys(ASSOCIATIONS)
    assert (
        ASSOCIATIONS_PER_OPPORTUNITY["AwsProducts"] == 20 and ASSOCIATIONS_PER_OPPORTUNITY["AwsMarketplaceOffers"] == 1
    )


def test_products_and_offers_round_trip_through_the_workbook(sb, tmp_path, resave):
    first, second = _ids(sb, 2)
    client = sb.client()
    path = ot.write_sheet(_export(sb, [first, second]), tmp_path / "pipeline.xlsx", base=True)
    _set_cells(path, {
        (first, PRODUCTS): "AmazonRedshift\nAWSAppFabric",
        (first, OFFERS): OFFER,
        (second, PRODUCTS): "AWSCleanRooms",
    })  # fmt: skip
    saved = resave(path)  # LibreOffice Calc opens and saves it, as an analyst's spreadsheet program would

    plan = ot.plan_updates(saved, "Sandbox")  # against the workbook's own export
    notes = [w for ws in plan["warnings"] for w in ws if PRODUCTS in str(w)]
    assert notes and all(AWS_PRODUCTS_URL in str(w) for w in notes)  # only AWS can tell: said, never refused

    result = ot.push_updates(saved, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    calls = _calls(result)
    assert calls[["Id", "operation", "status"]].values.tolist() == [
        [first, ASSOCIATE, "succeeded"],
        [first, ASSOCIATE, "succeeded"],
        [first, ASSOCIATE, "succeeded"],
        [second, ASSOCIATE, "succeeded"],
    ]
    assert calls["changed_fields"].tolist() == [[PRODUCTS], [PRODUCTS], [OFFERS], [PRODUCTS]]
    # read back as AWS answers it: the offer by its id (#84)
    assert _related(client, first)["AwsProducts"] == ["AmazonRedshift", "AWSAppFabric"]
    assert _related(client, first)["AwsMarketplaceOffers"] == [OFFER_ID]
    assert _related(client, second)["AwsProducts"] == ["AWSCleanRooms"]

    # the same workbook again: its ARN is the offer AWS lists by id, nothing is sent twice
    again = ot.push_updates(saved, "Sandbox", ledger=tmp_path / "l2", endpoint_url=sb.endpoint_url, **FAST)
    assert _calls(again).empty and sb.service.calls[ASSOCIATE] == 4

    # a fresh export holds what AWS answered; taking the offer and one product off disassociates them
    path = ot.write_sheet(_export(sb, [first, second]), tmp_path / "again.xlsx", base=True)
    assert ot.plan_updates(resave(path), "Sandbox")["action"].tolist() == ["unchanged"] * 2
    _set_cells(path, {(first, PRODUCTS): "AWSAppFabric", (first, OFFERS): "", (second, PRODUCTS): "AWSCleanRooms"})
    result = ot.push_updates(resave(path), "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    # a blank cell keeps (blank="keep"): the offer stays; the product taken out of a listed cell goes
    assert _calls(result)[["Id", "operation", "status"]].values.tolist() == [[first, DISASSOCIATE, "succeeded"]]
    assert _related(client, first)["AwsProducts"] == ["AWSAppFabric"]
    assert _related(client, first)["AwsMarketplaceOffers"] == [OFFER_ID]


def test_a_blank_association_cell_clears_only_under_blank_clear(sb, tmp_path):
    (ident,) = _ids(sb, 1)
    client = sb.client()
    for kind, value in (("AwsProducts", "AWSAppFabric"), ("AwsMarketplaceOffers", OFFER)):
        client.associate_opportunity(
            Catalog="Sandbox", OpportunityIdentifier=ident, RelatedEntityType=kind, RelatedEntityIdentifier=value
        )
    path = ot.write_sheet(_export(sb, [ident]), tmp_path / "pipeline.xlsx", base=True)
    _set_cells(path, {(ident, PRODUCTS): "", (ident, OFFERS): ""})
    where = dict(ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    # principle 3: a blank keeps by default
    assert _calls(ot.push_updates(path, "Sandbox", **where)).empty
    assert _related(client, ident)["AwsProducts"] == ["AWSAppFabric"]
    # the analyst asked for blanks to clear: both go, by the identifiers AWS answered
    result = ot.push_updates(path, "Sandbox", blank="clear", **where)
    assert sorted(_calls(result)[["operation", "status"]].values.tolist()) == [[DISASSOCIATE, "succeeded"]] * 2
    assert _related(client, ident)["AwsProducts"] == [] and _related(client, ident)["AwsMarketplaceOffers"] == []
    # without a base a blank cell cannot tell a removal from an entity added since the export: nothing goes
    client.associate_opportunity(
        Catalog="Sandbox", OpportunityIdentifier=ident, RelatedEntityType="AwsProducts",
        RelatedEntityIdentifier="AWSAppFabric",
    )  # fmt: skip
    edited = _export(sb, [ident])
    edited.at[0, PRODUCTS] = None
    assert _calls(ot.push_updates(edited, "Sandbox", blank="clear", **{**where, "ledger": tmp_path / "l2"})).empty


def test_an_association_past_the_quota_is_refused_before_any_call(sb, tmp_path):
    first, second = _ids(sb, 2)
    base = _export(sb, [first, second])
    edited = base.copy()
    edited.at[0, PRODUCTS] = [f"Product{n}" for n in range(21)]  # quotas page: AWS products 20 per opportunity
    edited.at[1, OFFERS] = [OFFER, OTHER_OFFER]  # AWS Marketplace private offers 1 per opportunity
    # the plan says it beforehand: both rows' only edits are associations the push refuses, so both are invalid,
    # each with one error naming the column by its label and the quota (not one per entity)
    plan = ot.plan_updates(edited, "Sandbox", base=base)
    assert plan["action"].tolist() == ["invalid", "invalid"]
    assert plan["error_fields"].tolist() == [[PRODUCTS], [OFFERS]]
    errors = [[str(e) for e in row] for row in plan["errors"]]
    assert [len(e) for e in errors] == [1, 1] and all(e[0].split(": ")[1] == "TOO_MANY_VALUES" for e in errors)
    assert errors[0][0].startswith(f"{PRODUCTS}: TOO_MANY_VALUES: an opportunity takes at most 20 (quotas page)")
    assert "would make it 21" in errors[0][0]
    # nothing of the column is sent: no note says a call goes, and the row's note does not either
    assert not [w for w in plan.loc[0, "warnings"] if "sends it" in str(w)] and "sent as" not in plan.loc[0, "note"]
    assert "at most 1 (quotas page)" in errors[1][0] and OFFER_ID not in errors[1][0]
    result = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    calls = _calls(result)
    assert len(calls) == 23 and set(calls["status"]) == {"invalid"} and set(calls["error_code"]) == {"TOO_MANY_VALUES"}
    assert "quotas page" in calls.loc[0, "error_message"]
    assert ASSOCIATE not in sb.service.calls  # no write spent
    assert _rows(result)["status"].tolist() == plan["action"].tolist()  # the dry run counts as the push does
    # a row that sends an update too: the refused associations are a warning beside it (the update goes)
    edited.at[0, "Project.Title"] = "Retitled"
    both = ot.plan_updates(edited, "Sandbox", base=base)
    assert both.loc[0, "action"] == "update" and [w for w in both.loc[0, "warnings"] if "TOO_MANY_VALUES" in str(w)]


def test_replacing_the_one_offer_makes_room_first(sb, tmp_path):
    (ident,) = _ids(sb, 1)
    client = sb.client()
    client.associate_opportunity(
        Catalog="Sandbox", OpportunityIdentifier=ident, RelatedEntityType="AwsMarketplaceOffers",
        RelatedEntityIdentifier=OFFER,
    )  # fmt: skip
    base = _export(sb, [ident])
    assert base.at[0, OFFERS] == [OFFER_ID]
    edited = base.copy()
    edited.at[0, OFFERS] = [OTHER_OFFER]
    result = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    # attaching first would pass the quota of one offer: the old one goes first, by the id AWS answered
    assert _calls(result)[["operation", "status"]].values.tolist() == [
        [DISASSOCIATE, "succeeded"],
        [ASSOCIATE, "succeeded"],
    ]
    log = ot.read_ledger(tmp_path / "l")
    assert json.loads(log[log["operation"] == DISASSOCIATE]["request"].iloc[-1])["RelatedEntityIdentifier"] == OFFER_ID
    assert _related(client, ident)["AwsMarketplaceOffers"] == ["offer-0000000000001"]


def test_an_offer_that_is_not_its_arn_is_refused_before_any_call(sb, tmp_path):
    (ident,) = _ids(sb, 1)
    base = _export(sb, [ident])
    edited = base.copy()
    edited.at[0, OFFERS] = [OFFER_ID]  # the model: "Each value is an Amazon Resource Name (ARN)"
    result = ot.push_updates(edited, "Sandbox", base=base, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    (row,) = _calls(result).to_dict("records")
    assert row["status"] == "invalid" and row["error_code"] == "INVALID_STRING_FORMAT"
    assert (
        "arn:aws:aws-marketplace:us-east-1:999999999999:AWSMarketplace/Offer/offer-sampleOffer32"
        in row["error_message"]
        and "ListEntities" in row["error_message"]
    )  # the model's example and where offers are listed
    assert OFFER_ID not in row["error_message"]  # the rule, never the value typed
    assert ASSOCIATE not in sb.service.calls


def test_a_lost_association_answer_is_settled_once(tmp_path):
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({ASSOCIATE}))
    with Sandbox(config=config) as sb:
        (ident,) = _ids(sb, 1)
        client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
        base = _export(sb, [ident])
        edited = base.copy()
        edited.at[0, OFFERS] = [OFFER]
        kw = dict(base=base, ledger=tmp_path / "l", client=client, **FAST)
        first = ot.push_updates(edited, "Sandbox", **kw)
        assert _calls(first)["status"].tolist() == ["unknown"]  # answered 500 after it was applied
        sb.service.config.fault_after_commit_rate = 0.0
        again = ot.push_updates(edited, "Sandbox", **kw)
        # read back: AWS lists the offer by its id, which is the ARN sent: it landed, the ledger says so, and it is
        # not sent again
        assert _calls(again).empty and again.attrs["settled"] == {"succeeded": 1}
        log = ot.read_ledger(tmp_path / "l")
        assert log[log["operation"] == ASSOCIATE]["status"].tolist() == ["in_flight", "unknown", "succeeded"]
        assert sb.service.calls[ASSOCIATE] == 1
        assert _related(client, ident)["AwsMarketplaceOffers"] == [OFFER_ID]


@pytest.fixture
def products_server(tmp_path):
    """A real local HTTP server holding a file in the form of AWS's list of products."""
    (tmp_path / "aws_products.json").write_text(json.dumps([
        {"Identifier": "AmazonRedshift", "Name": "Amazon Redshift", "Family": "Analytics", "Description": "x"},
        {"Identifier": "AWSAppFabric", "Name": "AWS AppFabric", "Family": "Business Applications", "Description": ""},
    ]))  # fmt: skip
    (tmp_path / "other.json").write_text(json.dumps([{"Name": "no identifier"}]))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_aws_products_come_from_the_file_the_model_names(products_server):
    assert AWS_PRODUCTS_URL.endswith("/resources/aws_products.json")  # from the model's text, not typed here
    df = read_aws_products(f"{products_server}/aws_products.json")
    assert df.columns.tolist() == ["Identifier", "Name", "Family", "Description"]
    assert df["Identifier"].tolist() == ["AmazonRedshift", "AWSAppFabric"]
    with pytest.raises(OpptoolkitError, match="no Identifier"):
        read_aws_products(f"{products_server}/other.json")
    with pytest.raises(OpptoolkitError, match="could not be read"):
        read_aws_products(f"{products_server}/missing.json")


def test_the_plan_says_beforehand_which_association_the_push_refuses(sb):
    (ident,) = _ids(sb, 1)
    base = _export(sb, [ident])
    edited = base.copy()
    edited.at[0, OFFERS] = [OFFER_ID]  # an id where the model asks the ARN
    edited.at[0, PRODUCTS] = ["AmazonRedshift"]
    plan = ot.plan_updates(edited, "Sandbox", base=base)
    # the row's only edits are associations, one of which the push refuses: the row is invalid, as the push's is
    assert plan.loc[0, "action"] == "invalid" and plan.loc[0, "error_fields"] == [OFFERS]
    refused = [str(e) for e in plan.loc[0, "errors"]]
    assert len(refused) == 1 and refused[0].startswith(f"{OFFERS}: INVALID_STRING_FORMAT")
    assert "the push refuses this association before any call" in refused[0] and OFFER_ID not in refused[0]
    assert not [w for w in plan.loc[0, "warnings"] if "INVALID" in str(w)]  # said once, as the error
    edited.at[0, OFFERS] = [OFFER]
    again = ot.plan_updates(edited, "Sandbox", base=base)
    assert again.loc[0, "action"] == "update" and not [w for w in again.loc[0, "warnings"] if "INVALID" in str(w)]
    # a row that sends an update too: the refused association is a warning beside it (the update goes)
    edited.at[0, OFFERS] = [OFFER_ID]
    edited.at[0, "Project.Title"] = "Retitled"
    both = ot.plan_updates(edited, "Sandbox", base=base)
    assert both.loc[0, "action"] == "update"
    assert [w for w in both.loc[0, "warnings"] if "INVALID_STRING_FORMAT" in str(w)]


SOLUTIONS = "RelatedEntityIdentifiers.Solutions"


def test_without_a_base_the_plan_says_a_missing_entity_is_kept(sb, tmp_path):
    """Without the export a row was edited from, the push never disassociates (the one missing may have been added
    on the server since): the plan says so, and does not say a call will be sent."""
    (ident,) = _ids(sb, 1)
    sb.client().associate_opportunity(
        Catalog="Sandbox",
        OpportunityIdentifier=ident,
        RelatedEntityType="Solutions",
        RelatedEntityIdentifier="S-0000003",
    )
    latest = _export(sb, [ident])
    had = list(latest.at[0, SOLUTIONS])
    edited = latest[["Id", "LastModifiedDate", SOLUTIONS]].copy()
    edited.at[0, SOLUTIONS] = had[:-1]  # one solution taken out
    plan = ot.plan_updates(edited, "Sandbox", endpoint_url=sb.endpoint_url, reads_per_second=1000)
    said = [str(w) for w in plan.at[0, "warnings"]]
    assert plan.at[0, "action"] == "unchanged"
    assert not [w for w in said if "sends it" in w], said  # no call is sent for it
    (kept,) = [w for w in said if w.startswith(SOLUTIONS)]
    assert "not disassociated without the export" in kept and had[-1] not in kept
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert _rows(result)["status"].tolist() == ["unchanged"] and "DisassociateOpportunity" not in sb.service.calls
    assert _related(sb.client(), ident)["Solutions"] == had


def _rows(result):
    return result[result["operation"].isin(["UpdateOpportunity", "CreateOpportunity"])].reset_index(drop=True)


def test_a_dry_run_counts_what_the_push_does_with_an_association_only_edit(sb, tmp_path):
    ids = _ids(sb, 3)
    base = _export(sb, ids)
    edited = base.copy()
    had = list(base.at[0, SOLUTIONS] or [])
    edited.at[0, SOLUTIONS] = [*had, "S-0000003"] if "S-0000003" not in had else [*had, "S-0000004"]
    edited.at[1, "Project.Title"] = "Retitled"
    edited.at[1, PRODUCTS] = ["AmazonRedshift"]
    plan = ot.plan_updates(edited, "Sandbox", base=base)
    # the row whose one edit is a solution is sent (as an AssociateOpportunity call): the plan says so
    assert plan["action"].tolist() == ["update", "update", "unchanged"]
    assert plan.loc[0, "changed_fields"] == [SOLUTIONS] and plan.loc[0, "changes"][0].startswith(SOLUTIONS)
    assert "AssociateOpportunity" in plan.loc[0, "note"]
    assert plan.loc[1, "changed_fields"] == ["Project.Title", PRODUCTS]
    dry = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "d", base=base, endpoint_url=sb.endpoint_url,
                          dry_run=True, **FAST)  # fmt: skip
    assert _rows(dry)["status"].tolist() == plan["action"].tolist()
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=base, endpoint_url=sb.endpoint_url, **FAST)
    rows = _rows(result)
    assert rows["status"].tolist() == ["succeeded", "succeeded", "unchanged"]
    assert rows.loc[0, "writes"] == 0 and list(rows.loc[0, "changed_fields"]) == [SOLUTIONS]
    assert _calls(result)[["Id", "operation", "status"]].values.tolist() == [
        [base.at[0, "Id"], ASSOCIATE, "succeeded"],
        [base.at[1, "Id"], ASSOCIATE, "succeeded"],
    ]
    assert _calls(dry)["operation"].tolist() == _calls(result)["operation"].tolist()
    # pushed again: the association is done, the row skipped as an update already done is
    again = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=base, endpoint_url=sb.endpoint_url, **FAST)
    assert _rows(again)["status"].tolist()[0] in ("skipped", "unchanged")


def test_the_results_sheet_keeps_a_rows_update_beside_its_association_call(sb, tmp_path):
    """A row with an update and an association call: the Results sheet lists the update's changed fields and the
    call's, not only the last call's (write_results took the last outcome of an Id)."""
    ids = _ids(sb, 2)
    path = tmp_path / "edit.xlsx"
    ot.write_sheet(_export(sb, ids), path, base=True)
    _set_cells(path, {(ids[0], "Project.Title"): "Retitled", (ids[0], PRODUCTS): "AmazonRedshift"})
    result = ot.push_updates(path, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result[result["Id"] == ids[0]]["operation"].tolist() == ["UpdateOpportunity", ASSOCIATE]
    ws = openpyxl.load_workbook(ot.write_results(result, path))["Results"]
    heads = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[heads.index("Id")] == ids[0])
    assert row[heads.index("Status")] == "succeeded"
    changed = row[heads.index("Changed fields")]
    assert label_for("Project.Title") in changed and label_for(PRODUCTS) in changed
