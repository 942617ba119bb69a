"""The sandbox through a real boto3 client over HTTP: protocol, semantics, quotas, faults, store."""

from __future__ import annotations

import copy
import http.client
import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import opptoolkit as ot
import opptoolkit.sandbox
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.schema import service_model

NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture
def client(sb):
    return sb.client()


def _by_status(sb: Sandbox, status: str, catalog: str = "Sandbox") -> dict:
    return next(r for r in sb.records(catalog) if r["LifeCycle"].get("ReviewStatus") == status)


def _echo_safe_submitted(sb: Sandbox) -> str:
    """A Submitted record whose free text has nothing the service encodes (``&``, ``:``): AWS's
    samples send the raw GetOpportunity answer back, and an encoded value sent back is a change
    (stored as sent, see wire.ENCODED_TEXT), which a Submitted record refuses."""
    from opptoolkit.wire import ENCODED_TEXT, encode_text

    def safe(r: dict) -> bool:
        for path in ENCODED_TEXT:
            v: object = r
            for part in path.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            if isinstance(v, str) and encode_text(v) != v:
                return False
        return True

    return next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"].get("ReviewStatus") == "Submitted" and safe(r))


def _update(client, record: dict, **changes) -> dict:
    """Get -> change -> Update, as a careful user would."""
    payload = ot.payload_from_record(record)
    for path, value in changes.items():
        d = payload
        *parents, key = path.split("__")
        for p in parents:
            d = d.setdefault(p, {})
        if value is None:
            d.pop(key, None)
        else:
            d[key] = value
    return client.update_opportunity(**payload)


# -- protocol ------------------------------------------------------------------------------------


def test_binds_loopback_and_speaks_json_1_0(sb):
    assert sb._server.server_address[0] == "127.0.0.1"
    conn = http.client.HTTPConnection("127.0.0.1", sb.port)
    body = json.dumps({"Catalog": "Sandbox", "Identifier": "O7000000001"})
    headers = {"X-Amz-Target": "AWSPartnerCentralSelling.GetOpportunity", "Content-Type": "application/x-amz-json-1.0"}
    conn.request("POST", "/", body, headers)  # no SigV4 Authorization header
    resp = conn.getresponse()
    assert resp.status == 403
    assert json.loads(resp.read())["__type"] == "AccessDeniedException"
    conn.request(
        "POST",
        "/",
        body,
        {**headers, "Authorization": "AWS4-HMAC-SHA256 Credential=x", "X-Amz-Target": "AWSPartnerCentralSelling.Nope"},
    )
    resp = conn.getresponse()
    assert resp.status == 400 and json.loads(resp.read())["__type"] == "UnknownOperationException"


def test_a_sandbox_client_is_made_as_every_client_is_and_fails_fast_once_the_sandbox_is_gone():
    """Sandbox.client() comes from get_client: a connection that cannot be opened is not retried
    (nothing was sent), so a stopped sandbox is one quick error, not minutes of back-off."""
    from botocore.exceptions import EndpointConnectionError

    sb = Sandbox(config=SandboxConfig.fast()).start()
    client = sb.client()
    sb.stop()
    started = time.monotonic()
    with pytest.raises(EndpointConnectionError):
        client.get_opportunity(Catalog="Sandbox", Identifier="O7000000001")
    assert time.monotonic() - started < 3


def test_an_operation_the_sandbox_does_not_implement_is_a_clear_error(client):
    with pytest.raises(ClientError) as e:
        client.list_opportunity_bulk_jobs(Catalog="Sandbox")  # no recording shows AWS answering it
    assert e.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "not implemented" in e.value.response["Error"]["Message"]


def test_get_returns_the_stored_record_with_parsed_types(sb, client):
    stored = sb.records("Sandbox")[0]
    got = client.get_opportunity(Catalog="Sandbox", Identifier=stored["Id"])
    got.pop("ResponseMetadata")
    # AWS answers the four association lists, empty ones included (the samples' Postman collection,
    # "LeadToOpportunity / GetOpportunity")
    lists = {"AwsMarketplaceOfferSets": [], "AwsMarketplaceOffers": [], "AwsProducts": [], "Solutions": []}
    assert got == {**stored, "RelatedEntityIdentifiers": {**lists, **stored["RelatedEntityIdentifiers"]}}
    assert isinstance(got["LastModifiedDate"], datetime) and got["LastModifiedDate"].tzinfo is not None


def test_not_found_and_catalogs_are_separate_stores(sb, client):
    aws_id = sb.records("AWS")[0]["Id"]
    assert client.get_opportunity(Catalog="AWS", Identifier=aws_id)["Id"] == aws_id
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_opportunity(Catalog="Sandbox", Identifier=aws_id)
    ids = {
        s["Id"]
        for p in client.get_paginator("list_opportunities").paginate(Catalog="AWS")
        for s in p["OpportunitySummaries"]
    }
    assert ids == {r["Id"] for r in sb.records("AWS")}


# -- ListOpportunities ---------------------------------------------------------------------------


def _list(client, **kw) -> list[dict]:
    pages = client.get_paginator("list_opportunities").paginate(
        Catalog="Sandbox", PaginationConfig={"PageSize": 17}, **kw
    )
    return [s for p in pages for s in p["OpportunitySummaries"]]


def test_paginator_returns_every_record_once(sb, client):
    ids = [s["Id"] for s in _list(client)]
    assert len(ids) == len(set(ids)) == len(sb.records("Sandbox")) == 300


@pytest.mark.parametrize(
    ("kw", "predicate"),
    [
        ({"LifeCycleStage": ["Qualified", "Committed"]}, lambda r: r["LifeCycle"]["Stage"] in ("Qualified", "Committed")),
        ({"LifeCycleReviewStatus": ["Action Required"]}, lambda r: r["LifeCycle"]["ReviewStatus"] == "Action Required"),
        ({"LastModifiedDate": {"AfterLastModifiedDate": datetime(2026, 11, 17, tzinfo=UTC)}},
         lambda r: r["LastModifiedDate"] > datetime(2026, 11, 17, tzinfo=UTC)),
        ({"CreatedDate": {"BeforeCreatedDate": datetime(2026, 3, 1, tzinfo=UTC)}},
         lambda r: r["CreatedDate"] < datetime(2026, 3, 1, tzinfo=UTC)),
        ({"TargetCloseDate": {"AfterTargetCloseDate": "2026-12-31", "BeforeTargetCloseDate": "2027-06-30"}},
         lambda r: "2026-12-31" < r["LifeCycle"]["TargetCloseDate"] < "2027-06-30"),
        ({"LifeCycleStage": ["Prospect"], "LifeCycleReviewStatus": ["Approved"]},
         lambda r: r["LifeCycle"]["Stage"] == "Prospect" and r["LifeCycle"]["ReviewStatus"] == "Approved"),
    ],
)  # fmt: skip
def test_filters(sb, client, kw, predicate):
    expected = {r["Id"] for r in sb.records("Sandbox") if predicate(r)}
    got = [s["Id"] for s in _list(client, **kw)]
    assert expected and len(got) == len(set(got)) and set(got) == expected


def test_identifier_and_company_filters(sb, client):
    recs = sb.records("Sandbox")[:3]
    assert {s["Id"] for s in _list(client, Identifier=[r["Id"] for r in recs])} == {r["Id"] for r in recs}
    name = recs[0]["Customer"]["Account"]["CompanyName"]
    expected = {r["Id"] for r in sb.records("Sandbox") if r["Customer"]["Account"]["CompanyName"] == name}
    assert {s["Id"] for s in _list(client, CustomerCompanyName=[name])} == expected


@pytest.mark.parametrize("sort_by", service_model().shape_for("OpportunitySortName").enum)
@pytest.mark.parametrize("order", service_model().shape_for("SortOrder").enum)
def test_sort_orders_across_pages(client, sort_by, order):
    """Every sort the model names, each way: the sandbox sorts by each (its table of them is complete)."""
    rows = _list(client, Sort={"SortBy": sort_by, "SortOrder": order})
    key = {
        "Identifier": lambda s: s["Id"],
        "CustomerCompanyName": lambda s: s["Customer"]["Account"]["CompanyName"],
        "TargetCloseDate": lambda s: s["LifeCycle"]["TargetCloseDate"],
    }.get(sort_by, lambda s: s[sort_by])
    values = [key(s) for s in rows]
    assert len(rows) == 300
    assert values == sorted(values, reverse=order == "DESCENDING")


def test_summaries_carry_only_summary_members(client):
    s = (
        _list(client, MaxResults=1)[0]
        if False
        else client.list_opportunities(Catalog="Sandbox", MaxResults=1)["OpportunitySummaries"][0]
    )
    assert "Marketing" not in s and "Contacts" not in s["Customer"]
    assert s["Customer"]["Account"]["CompanyName"]


def test_max_results_bounds_are_validated(client):
    with pytest.raises(client.exceptions.ValidationException) as e:
        client.list_opportunities(Catalog="Sandbox", MaxResults=101)
    assert e.value.response["ErrorList"][0]["FieldName"] == "MaxResults"
    assert e.value.response["ErrorList"][0]["Code"] == "VALUE_OUT_OF_RANGE"


# -- UpdateOpportunity ---------------------------------------------------------------------------


def test_update_replaces_the_whole_record(sb, client):
    rec = _by_status(sb, "Pending Submission")  # AWS locks the title once Approved
    assert rec["Project"].get("SalesActivities")
    out = _update(client, rec, Project__SalesActivities=None, Project__Title="Renamed")
    after = sb.record("Sandbox", rec["Id"])
    assert after["Project"]["Title"] == "Renamed"
    assert "SalesActivities" not in after["Project"]  # omitted -> null (UpdateOpportunity page)
    assert after["LastModifiedDate"] == out["LastModifiedDate"] > rec["LastModifiedDate"]
    for kept in ("Arn", "CreatedDate", "OpportunityTeam", "RelatedEntityIdentifiers"):  # output-only: server's
        assert after[kept] == rec[kept]


def test_stale_token_is_a_conflict_and_changes_nothing(sb, client):
    rec = _by_status(sb, "Pending Submission")  # AWS locks the title once Approved
    _update(client, rec, Project__Title="First")
    with pytest.raises(client.exceptions.ConflictException):
        _update(client, rec, Project__Title="Second")  # still carries the old LastModifiedDate
    assert sb.record("Sandbox", rec["Id"])["Project"]["Title"] == "First"


def test_out_of_band_edit_moves_the_token(sb, client):
    rec = _by_status(sb, "Approved")
    sb.edit("Sandbox", rec["Id"], lambda r: r["Project"].update(Title="Edited elsewhere"))
    with pytest.raises(client.exceptions.ConflictException):
        _update(client, rec, Project__AdditionalComments="mine")


@pytest.mark.parametrize("status", ["Submitted", "In review", "Rejected"])
def test_locked_statuses_refuse_changes(sb, client, status):
    rec = _by_status(sb, status)
    with pytest.raises(client.exceptions.ValidationException) as e:
        _update(client, rec, Project__Title="Nope")
    err = e.value.response
    assert err["Reason"] == "BUSINESS_VALIDATION_FAILED"
    assert [(x["FieldName"], x["Code"]) for x in err["ErrorList"]] == [("Project.Title", "ACTION_NOT_PERMITTED")]
    assert sb.record("Sandbox", rec["Id"]) == rec


def test_action_required_allows_only_documented_fields(sb, client):
    rec = _by_status(sb, "Action Required")
    with pytest.raises(client.exceptions.ValidationException) as e:
        _update(client, rec, Project__Title="Nope", Customer__Account__WebsiteUrl="https://fixed.example")
    assert [(x["FieldName"], x["Code"]) for x in e.value.response["ErrorList"]] == [
        ("Project.Title", "ACTION_NOT_PERMITTED")
    ]
    _update(client, rec, Customer__Account__WebsiteUrl="https://fixed.example")
    after = sb.record("Sandbox", rec["Id"])
    assert after["Customer"]["Account"]["WebsiteUrl"] == "https://fixed.example"
    assert after["LifeCycle"]["ReviewStatus"] == "Submitted"  # re-enters validation (UpdateOpportunity page)


@pytest.mark.parametrize(("status", "to"), [("Approved", "Pending Submission"), ("Submitted", "Approved")])
def test_read_only_members_are_kept_by_the_server_in_the_aws_catalog(sb, client, status, to):
    rec = _by_status(sb, status, catalog="AWS")
    payload = ot.payload_from_record(rec)
    payload["LifeCycle"].update(ReviewStatus=to, ReviewComments="Looks good")
    payload["LifeCycle"].pop("NextStepsHistory", None)
    client.update_opportunity(**payload)
    after = sb.record("AWS", rec["Id"])
    assert after["LifeCycle"]["ReviewStatus"] == status
    assert after["LifeCycle"].get("ReviewComments") == rec["LifeCycle"].get("ReviewComments")
    assert after["LifeCycle"].get("NextStepsHistory") == rec["LifeCycle"].get("NextStepsHistory")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"LifeCycle__Stage": "Prospekt"}, [("LifeCycle.Stage", "INVALID_ENUM_VALUE", "REQUEST_VALIDATION_FAILED")]),
        ({"Customer__Account__CompanyName": "x" * 121}, [("Customer.Account.CompanyName", "INVALID_STRING_FORMAT", "REQUEST_VALIDATION_FAILED")]),
        ({"Customer__Contacts": [{"Email": "Not An Email"}]}, [("Customer.Contacts[0].Email", "INVALID_STRING_FORMAT", "REQUEST_VALIDATION_FAILED")]),
        ({"Project__CustomerBusinessProblem": "short"}, [("Project.CustomerBusinessProblem", "INVALID_STRING_FORMAT", "REQUEST_VALIDATION_FAILED")]),
        ({"LifeCycle__Stage": "Closed Lost"}, [("LifeCycle.ClosedLostReason", "REQUIRED_FIELD_MISSING", "BUSINESS_VALIDATION_FAILED")]),
        ({"Customer__Account__WebsiteUrl": None}, [("Customer.Account.WebsiteUrl", "REQUIRED_FIELD_MISSING", "BUSINESS_VALIDATION_FAILED")]),
        ({"LifeCycle__TargetCloseDate": "2020-01-01"}, [("LifeCycle.TargetCloseDate", "INVALID_VALUE", "BUSINESS_VALIDATION_FAILED")]),
    ],
)  # fmt: skip
def test_validation_errors_name_field_and_code(sb, client, changes, expected):
    rec = next(
        r
        for r in sb.records("Sandbox")
        # Pending Submission: every field is editable, the website too (not waived by NationalSecurity)
        if r["LifeCycle"]["ReviewStatus"] == "Pending Submission"
        and r["LifeCycle"]["Stage"] not in ("Closed Lost", "Launched")
        and r["Customer"]["Account"]["Industry"] != "Government"
    )
    with pytest.raises(client.exceptions.ValidationException) as e:
        _update(client, rec, **changes)
    r = e.value.response
    assert [(x["FieldName"], x["Code"], r["Reason"]) for x in r["ErrorList"]] == expected
    assert sb.record("Sandbox", rec["Id"]) == rec


def test_next_steps_history_gains_an_entry_and_keeps_fifty(sb, client):
    rec = _by_status(sb, "Approved")
    client_rec = rec
    for i in range(52):
        out = _update(client, client_rec, LifeCycle__NextSteps=f"step {i}")
        client_rec = sb.record("Sandbox", rec["Id"])
        assert client_rec["LastModifiedDate"] == out["LastModifiedDate"]
    history = client_rec["LifeCycle"]["NextStepsHistory"]
    assert len(history) == 50
    assert history[-1]["Value"] == "step 51" and history[0]["Value"] == "step 2"


def test_target_company_is_set_to_aws(sb, client):
    rec = _by_status(sb, "Approved")
    payload = ot.payload_from_record(rec)
    payload["Project"]["ExpectedCustomerSpend"][0]["TargetCompany"] = "Partner Co"
    client.update_opportunity(**payload)
    assert sb.record("Sandbox", rec["Id"])["Project"]["ExpectedCustomerSpend"][0]["TargetCompany"] == "AWS"


# -- CreateOpportunity ---------------------------------------------------------------------------


def test_create_is_idempotent_by_client_token(sb, client):
    body = ot.payload_from_record(_by_status(sb, "Approved"))
    for k in ("Identifier", "LastModifiedDate"):
        body.pop(k)
    body["LifeCycle"]["TargetCloseDate"] = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    first = client.create_opportunity(ClientToken="token-1", **body)
    again = client.create_opportunity(ClientToken="token-1", **body)
    assert first["Id"] == again["Id"]
    created = client.get_opportunity(Catalog="Sandbox", Identifier=first["Id"])
    assert created["LifeCycle"]["ReviewStatus"] == "Pending Submission"
    assert created["Arn"].endswith(first["Id"]) and created["CreatedDate"] == created["LastModifiedDate"]
    assert len(sb.records("Sandbox")) == 301


# -- quotas, faults, persistence ------------------------------------------------------------------


def test_throttling_under_a_tight_quota_then_success_with_retries():
    config = SandboxConfig.fast(read_rate=2, read_burst=1)
    with Sandbox(config=config) as sb:
        ident = sb.records("Sandbox")[0]["Id"]
        bare = sb.client(config=NO_RETRY)
        with pytest.raises(bare.exceptions.ThrottlingException):
            for _ in range(20):  # at 2 reads/s one of these is throttled
                bare.get_opportunity(Catalog="Sandbox", Identifier=ident)
        retrying = sb.client()
        start = time.monotonic()
        for _ in range(4):
            assert retrying.get_opportunity(Catalog="Sandbox", Identifier=ident)["Id"] == ident
        assert time.monotonic() - start >= 1.0  # the bucket paced them (2/s)


def test_daily_quota():
    with Sandbox(config=SandboxConfig.fast(daily_writes=2)) as sb:
        client = sb.client(config=NO_RETRY)
        rec = _by_status(sb, "Pending Submission")  # AWS locks the title once Approved
        for title in ("a", "b"):
            _update(client, sb.record("Sandbox", rec["Id"]), Project__Title=title)
        with pytest.raises(client.exceptions.ThrottlingException, match="daily quota"):
            _update(client, sb.record("Sandbox", rec["Id"]), Project__Title="c")


def test_injected_faults_are_500s_that_retries_absorb():
    with Sandbox(config=SandboxConfig.fast(fault_rate=0.3, seed=1)) as sb:
        ident = sb.records("Sandbox")[0]["Id"]
        bare = sb.client(config=NO_RETRY)
        failures = 0
        for _ in range(30):
            try:
                bare.get_opportunity(Catalog="Sandbox", Identifier=ident)
            except bare.exceptions.InternalServerException:
                failures += 1
        assert 3 <= failures <= 20
        retrying = sb.client()
        for _ in range(20):
            retrying.get_opportunity(Catalog="Sandbox", Identifier=ident)


def test_latency_is_added():
    with Sandbox(config=SandboxConfig.fast(latency=0.2)) as sb:
        start = time.monotonic()
        sb.client().list_opportunities(Catalog="Sandbox", MaxResults=1)
        assert time.monotonic() - start >= 0.2


def test_file_store_survives_a_restart(tmp_path):
    db = tmp_path / "sandbox.db"
    with Sandbox(db, config=SandboxConfig.fast()) as sb:
        rec = _by_status(sb, "Pending Submission")  # AWS locks the title once Approved
        _update(sb.client(), rec, Project__Title="Persisted")
    with Sandbox(db, config=SandboxConfig.fast()) as sb:
        assert sb.client().get_opportunity(Catalog="Sandbox", Identifier=rec["Id"])["Project"]["Title"] == "Persisted"
        assert len(sb.records("Sandbox")) == 300  # not seeded twice


def test_seed_data_is_valid_and_varied():
    from opptoolkit.rules import business_problems, model_problems

    recs = ot.sandbox.load_seed()
    assert recs == ot.sandbox.seed_records()  # the committed file is the generator's output
    for r in recs:
        p = ot.payload_from_record(r)
        assert model_problems(p) + business_problems(p, base=p) == []
    df = ot.to_frame(recs)
    assert df["LifeCycle.Stage"].nunique() == len(ot.get_schema()["LifeCycle.Stage"].enum)
    assert df["LifeCycle.ReviewStatus"].nunique() == len(ot.get_schema()["LifeCycle.ReviewStatus"].enum)
    assert df["Customer.Account.Industry"].nunique() > 20
    # model, CurrencyCode: "Accepted values are USD (US Dollars) and EUR (Euros)"
    assert set(df["Project.ExpectedCustomerSpend[0].CurrencyCode"]) == {"USD", "EUR"}
    # developer guide: Committed/Launched need an associated solution, and so does a submission
    needs = df["LifeCycle.Stage"].isin(["Committed", "Launched"]) | (
        df["LifeCycle.ReviewStatus"] != "Pending Submission"
    )
    assert needs.sum() > 200 and df.loc[needs, "RelatedEntityIdentifiers.Solutions"].map(len).min() >= 1
    # no warning: each use case the seed names (sandbox/_seed.py's _USE_CASES) is one the model documents
    assert all(
        ot.rules.payload_warnings(ot.payload_from_record(r), related=r["RelatedEntityIdentifiers"]) == [] for r in recs
    )


def _dates(r: dict) -> list:
    lc = r["LifeCycle"]
    return [r["CreatedDate"], r["LastModifiedDate"], date.fromisoformat(lc["TargetCloseDate"]),
            *(h["Time"] for h in lc.get("NextStepsHistory", []))]  # fmt: skip


def test_the_seed_looks_as_current_whenever_the_sandbox_starts():
    """A sandbox started 400 days after the seed's day moves every date by 400 days, so the
    report finds the same overdue and stale opportunities as on the seed's day."""
    from opptoolkit.sandbox import SEED_DAY

    committed = [r for r in ot.sandbox.load_seed() if r["Catalog"] == "Sandbox"]
    later = SEED_DAY + timedelta(days=400)
    with Sandbox(config=SandboxConfig.fast(), as_of=later) as sb:
        moved = {r["Id"]: r for r in sb.records("Sandbox")}
    for r in committed:
        shifts = {b - a for a, b in zip(_dates(r), _dates(moved[r["Id"]]), strict=True)}
        assert shifts == {timedelta(days=400)}
    then = ot.report.hygiene(ot.to_frame(committed), today=SEED_DAY)
    now = ot.report.hygiene(ot.to_frame(list(moved.values())), today=later)
    assert {"overdue", "stale"} <= set(then["issue"])
    assert sorted(map(tuple, then[["Id", "issue"]].values)) == sorted(map(tuple, now[["Id", "issue"]].values))
    with Sandbox(config=SandboxConfig.fast()) as sb:  # by default: as of the day it starts
        first = next(x for x in sb.records("Sandbox") if x["Id"] == committed[0]["Id"])
    shift = (first["CreatedDate"] - committed[0]["CreatedDate"]).days
    assert shift in {(datetime.now(UTC).date() - SEED_DAY).days - d for d in (0, 1)}  # 1: started before midnight


# -- HTML entities -------------------------------------------------------------------------------
# wire.ENCODED_TEXT: the service returns these members HTML-encoded (AWS's sample UI decodes them).


def _set_free_text(sb: Sandbox, ident: str) -> None:
    def change(r: dict) -> None:
        r["Customer"]["Account"]["CompanyName"] = "Smith & Sons: Ltd"
        r["Project"]["Title"] = "R&D: phase 2"  # not one of the encoded members

    sb.edit("Sandbox", ident, change)


def test_free_text_answers_colons_encoded_and_ampersands_plain(sb, client):
    # AWS's recorded answers carry "Security & Compliance" plain; the sample UI's decoder says colons come back as
    # &amp;colon; (opptoolkit.wire.encode_text)
    rec = _by_status(sb, "Pending Submission")
    _set_free_text(sb, rec["Id"])
    got = client.get_opportunity(Catalog="Sandbox", Identifier=rec["Id"])
    assert got["Customer"]["Account"]["CompanyName"] == "Smith & Sons&amp;colon; Ltd"
    assert got["Project"]["Title"] == "R&D: phase 2"
    (summary,) = client.list_opportunities(Catalog="Sandbox", Identifier=[rec["Id"]])["OpportunitySummaries"]
    assert summary["Customer"]["Account"]["CompanyName"] == "Smith & Sons&amp;colon; Ltd"
    assert sb.record("Sandbox", rec["Id"])["Customer"]["Account"]["CompanyName"] == "Smith & Sons: Ltd"


def test_a_value_sent_back_undecoded_keeps_its_ampersands_and_its_encoded_colon(sb, client):
    """Get -> Update without decoding (what AWS's sample UI guards against): "&" comes back as sent; the colon is
    stored as its entity, and answered as stored (no second encoding)."""
    rec = _by_status(sb, "Pending Submission")
    _set_free_text(sb, rec["Id"])
    got = client.get_opportunity(Catalog="Sandbox", Identifier=rec["Id"])
    client.update_opportunity(**ot.payload_from_record(got))
    assert sb.record("Sandbox", rec["Id"])["Customer"]["Account"]["CompanyName"] == "Smith & Sons&amp;colon; Ltd"
    again = client.get_opportunity(Catalog="Sandbox", Identifier=rec["Id"])
    assert again["Customer"]["Account"]["CompanyName"] == "Smith & Sons&amp;colon; Ltd"


# -- AWS's review, simulated in the Sandbox catalog ----------------------------------------------


def _review(client, record: dict, status: str, **members: str) -> dict:
    """What AWS's samples send to simulate a review: the whole record, ReviewStatus changed."""
    payload = ot.payload_from_record(record)
    payload["LifeCycle"].update(ReviewStatus=status, **members)
    return client.update_opportunity(**payload)


_DECISIONS = [
    ("Approved", {}),
    ("Action Required", {"ReviewStatusReason": "Missing customer details", "ReviewComments": "Add the website."}),
    ("Rejected", {"ReviewStatusReason": "Duplicate"}),
    ("In review", {}),
]


@pytest.mark.parametrize(
    ("start", "status", "members"),
    [(start, *d) for start in ("Submitted", "In review") for d in _DECISIONS if d[0] != start],
)
def test_a_review_decision_over_boto3(sb, client, start, status, members):
    rec = next(
        r for r in sb.records("Sandbox")
        if r["LifeCycle"]["ReviewStatus"] == start and not r["LifeCycle"].get("ReviewComments")
    )  # fmt: skip
    out = _review(client, rec, status, **members)
    after = sb.record("Sandbox", rec["Id"])
    assert out["LastModifiedDate"] == after["LastModifiedDate"] > rec["LastModifiedDate"]
    assert {k: after["LifeCycle"].get(k) for k in ("ReviewStatus", "ReviewStatusReason", "ReviewComments")} == {
        "ReviewStatus": status,
        "ReviewStatusReason": members.get("ReviewStatusReason"),
        "ReviewComments": members.get("ReviewComments"),
    }
    assert payload_without_review(after) == payload_without_review(rec)  # nothing else moved


def payload_without_review(record: dict) -> dict:
    payload = ot.payload_from_record(record)
    for name in ("ReviewStatus", "ReviewStatusReason", "ReviewComments", "NextStepsHistory"):
        payload["LifeCycle"].pop(name, None)
    payload.pop("LastModifiedDate")
    return payload


@pytest.mark.parametrize(
    ("start", "status", "after"),
    [
        ("Pending Submission", "Approved", "Pending Submission"),  # not submitted: nothing to review
        ("Approved", "Action Required", "Approved"),  # recorded: "Demo Accept AWS-originated Opportunities"
        ("Approved", "Rejected", "Approved"),
        ("Rejected", "Approved", "Rejected"),
        ("Action Required", "Approved", "Submitted"),  # the update re-enters validation
    ],
)
def test_review_status_sent_to_a_record_not_under_review_is_ignored(sb, client, start, status, after):
    """AWS answered 200 to ReviewStatus "Action Required" sent to Approved records and left them Approved (the
    samples' Postman collection, "Demo Accept AWS-originated Opportunities" and "Managing a multipartner
    opportunity"): the member is read-only outside a review."""
    rec = _by_status(sb, start)
    _review(client, rec, status)
    assert sb.record("Sandbox", rec["Id"])["LifeCycle"]["ReviewStatus"] == after


@pytest.mark.parametrize(("start", "status", "code"), [("Submitted", "Pending Submission", "ACTION_NOT_PERMITTED")])
def test_a_review_outside_the_flow_is_refused_not_ignored(sb, client, start, status, code):
    rec = _by_status(sb, start)
    with pytest.raises(client.exceptions.ValidationException) as e:
        _review(client, rec, status)
    err = e.value.response
    assert err["Reason"] == "BUSINESS_VALIDATION_FAILED"
    assert [(x["FieldName"], x["Code"]) for x in err["ErrorList"]] == [("LifeCycle.ReviewStatus", code)]
    assert repr(start) in err["ErrorList"][0]["Message"]
    assert sb.record("Sandbox", rec["Id"]) == rec


def test_a_review_applies_the_decision_alone(sb, client):
    """The recorded "[Simulate] Approval" sent another record's title and stage; AWS approved the record and kept its
    own ("Working with Multipartner Opportunities": the approval, then "Inviting Partner - GetOpportunity check
    status")."""
    rec = _by_status(sb, "Submitted")
    payload = ot.payload_from_record(rec)
    payload["LifeCycle"].update(
        ReviewStatus="Approved", Stage="Qualified" if rec["LifeCycle"]["Stage"] != "Qualified" else "Prospect"
    )
    payload["Project"]["Title"] = "Changed during review"
    client.update_opportunity(**payload)
    after = sb.record("Sandbox", rec["Id"])
    assert after["LifeCycle"]["ReviewStatus"] == "Approved"
    assert payload_without_review(after) == payload_without_review(rec)


def test_the_whole_review_cycle_with_the_python_helper(sb, client):
    ident = _by_status(sb, "Submitted")["Id"]
    assert sb.review("Sandbox", ident, "In review")["LifeCycle"]["ReviewStatus"] == "In review"
    rec = sb.review("Sandbox", ident, "Action Required", reason="Missing customer details", comments="Add the website.")
    assert (rec["LifeCycle"]["ReviewStatusReason"], rec["LifeCycle"]["ReviewComments"]) == (
        "Missing customer details",
        "Add the website.",
    )
    _update(client, rec, Customer__Account__WebsiteUrl="https://fixed.example")  # the partner's fix
    assert sb.record("Sandbox", ident)["LifeCycle"]["ReviewStatus"] == "Submitted"  # re-enters validation
    assert sb.review("Sandbox", ident, "Approved")["LifeCycle"]["ReviewStatus"] == "Approved"
    assert sb.service.calls == {"UpdateOpportunity": 1}  # the helper spends no quota
    with pytest.raises(opptoolkit.sandbox.ServiceError) as e:
        sb.review("Sandbox", ident, "Rejected")
    assert e.value.members["ErrorList"][0]["Code"] == "INVALID_RESOURCE_STATE"
    aws = _by_status(sb, "Submitted", catalog="AWS")
    with pytest.raises(ValueError, match="only in the Sandbox catalog"):
        sb.review("AWS", aws["Id"], "Approved")
    assert sb.record("AWS", aws["Id"]) == aws


@pytest.mark.parametrize(
    ("status", "reason"), [("Approved", None), ("Action Required", "Additional information needed")]
)
def test_aws_samples_simulating_review_are_answered_as_the_sandbox_catalog_does(sb, client, status, reason):
    """The request body AWS's samples build (aws-samples/partner-crm-integration-samples,
    python_preview/sampleUI/simulate_approval_api.py and simulate_action_required_api.py): the
    raw GetOpportunity answer, ResponseMetadata dropped, Id renamed Identifier, only the members
    their list allows, ReviewStatus (and a reason) set, None values dropped."""
    ident = _echo_safe_submitted(sb)
    body = copy.deepcopy(client.get_opportunity(Catalog="Sandbox", Identifier=ident))
    del body["ResponseMetadata"]
    body["Identifier"] = body.pop("Id")
    allowed = {"Catalog", "Customer", "Identifier", "LastModifiedDate", "LifeCycle", "Marketing", "NationalSecurity",
               "OpportunityType", "PartnerOpportunityIdentifier", "PrimaryNeedsFromAws", "Project",
               "SoftwareRevenue", "Origin"}  # fmt: skip
    body = {k: v for k, v in body.items() if k in allowed}
    body["LifeCycle"]["ReviewStatus"] = status
    if reason:
        body["LifeCycle"]["ReviewStatusReason"] = reason
    client.update_opportunity(**_without_none(body))
    after = client.get_opportunity(Catalog="Sandbox", Identifier=ident)["LifeCycle"]
    assert (after["ReviewStatus"], after.get("ReviewStatusReason")) == (status, reason)


def test_aws_private_offer_sample_approval_is_answered(sb, client):
    """privateOfferAutomationAndOpportunityAssociation/3_createOpportunity/
    aws_simulate_approval_update_opportunity.py: the raw answer less ResponseMetadata, Id as
    Identifier, CreatedDate, OpportunityTeam, RelatedEntityIdentifiers and Arn removed, and
    ReviewStatus Submitted changed to Approved."""
    ident = _echo_safe_submitted(sb)
    body = dict(client.get_opportunity(Catalog="Sandbox", Identifier=ident))
    del body["ResponseMetadata"]
    body["Identifier"] = body.pop("Id")
    for member in ("CreatedDate", "OpportunityTeam", "RelatedEntityIdentifiers", "Arn"):
        body.pop(member, None)
    assert body["LifeCycle"]["ReviewStatus"] == "Submitted"
    body["LifeCycle"]["ReviewStatus"] = "Approved"
    out = client.update_opportunity(**body)
    assert out["Id"] == ident
    assert client.get_opportunity(Catalog="Sandbox", Identifier=ident)["LifeCycle"]["ReviewStatus"] == "Approved"


def _without_none(value):
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value
