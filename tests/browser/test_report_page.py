"""The HTML report in a real browser: its headline figures and "what moved" table against values
worked out by hand, human headers, "show all", and charts drawn offline at a readable size."""

from __future__ import annotations

import io
import re

from PIL import Image

import opptoolkit as ot
from opptoolkit.sandbox import load_seed
from tests.test_report import TODAY, later, pipeline

CHARTS = ["Pipeline by stage", "By target close month", "Why opportunities were lost"]


def _cards(page) -> dict[str, tuple[str, str]]:
    """Each headline card's label -> (the figure shown, the comparison line shown)."""
    out = {}
    for card in page.locator(".card").all():
        label = card.locator(".label").inner_text()
        deltas = card.locator(".delta").all_inner_texts()
        out[label] = (card.locator(".value").inner_text(), deltas[0] if deltas else "")
    return out


def _table(section) -> list[dict[str, str]]:
    """The rows of the first table in ``section`` as the reader sees them, by header."""
    table = section.locator("table").first
    headers = table.locator("thead th").all_inner_texts()
    rows = []
    for tr in table.locator("tbody tr").all():
        if tr.is_visible():
            rows.append(dict(zip(headers, tr.locator("td").all_inner_texts(), strict=True)))
    return rows


def test_headline_and_what_moved_against_hand_computed_values(page, tmp_path):
    """The fixture of tests/test_report.py a week on (O1 to Committed at twice the spend, O2 won,
    O3's close date slipped, O7 new), compared with the week before."""
    ot.write_report(later(), tmp_path / "report.html", since=pipeline(), today=TODAY)
    page.goto((tmp_path / "report.html").as_uri())
    cards = _cards(page)
    # open: O1 (Committed), O3 (Qualified), O7 (Prospect); before: O1, O2, O3
    assert cards["Open opportunities"] == ("3", "no change since then")
    # USD: O1 2,000.00 + O3 0.20 + O7 50 = 2,050.20; before: O1 1,000.10 + O3 0.20 = 1,000.30
    assert cards["Open pipeline, monthly AWS spend (USD)"] == ("USD 2,050", "+USD 1,050 since then (was USD 1,000)")
    # O2 (EUR 750.50) was won: EUR leaves the pipeline and is shown at zero, not dropped
    assert cards["Open pipeline, monthly AWS spend (EUR)"] == ("EUR 0", "−EUR 750 since then (was EUR 750)")
    # win rate: Launched O2, O4 of those and Closed Lost O5, O6: 2 of 4; before 1 of 3
    assert cards["Win rate"] == ("50%", "+16.7 pts since then (was 33%)")
    assert cards["Launched"][0] == "2" and cards["Closed Lost"][0] == "2"
    # on 2026-11-27 no open close date has passed (O3's slipped to 2027-03-01); before, O3's had
    assert cards["Overdue close dates"] == ("0", "−1 since then (was 1)")
    assert cards["Action Required"][0] == "1"  # O2, Launched now, still has AWS's request open
    assert cards["Records needing action"] == ("2", "no change since then")  # O2, O3 (no next step since September)

    moved = page.locator("section#what-moved")
    assert "1 new, 1 won, 1 stage changed, 1 close date slipped, 1 value changed" in moved.inner_text()
    rows = _table(moved)
    got = [(r["Change"], r["Id"], r["From"], r["To"]) for r in rows]
    assert got == [
        ("New", "O7", "", "Prospect"),
        ("Won", "O2", "Prospect", "Launched"),
        ("Stage changed", "O1", "Prospect", "Committed"),
        ("Close date slipped", "O3", "2026-10-01", "2027-03-01"),
        ("Value changed", "O1", "USD 1,000.10", "USD 2,000.00"),
    ]
    o1 = rows[2]
    assert (o1["Customer company"], o1["Project title"], o1["Stage"], o1["Owner"]) == (
        "Co O1", "Project O1", "Committed", "Ana Owner1")  # fmt: skip
    assert (o1["Monthly AWS spend"], o1["Target close date"]) == ("2,000.00", "2027-01-15")
    cell = moved.locator("tbody tr").nth(2).locator("td.num").first
    assert cell.evaluate("td => getComputedStyle(td).textAlign") == "right"

    headers = page.locator("th").all_inner_texts()
    assert headers and not [h for h in headers if re.search(r"\w\.\w|\[\d+\]|_", h)], "a header is a field path"


def test_the_seed_report_reads_offline_and_shows_20_rows_then_all(page, tmp_path):
    from opptoolkit.sandbox._seed import SEED_DAY

    df = ot.to_frame([r for r in load_seed() if r["Catalog"] == "Sandbox"])
    ot.write_report(df, tmp_path / "report.html", today=SEED_DAY)
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((tmp_path / "report.html").as_uri())
    assert page.locator("h1").inner_text() == "Partner Central pipeline"
    assert all(u.startswith(("file:", "data:")) for u in requests), "the report fetched something from the network"
    sections = page.locator("section h2").all_inner_texts()
    assert sections[0] == "Headline figures" and len(sections) == len(set(sections))  # no title twice
    assert page.locator("nav li").all_inner_texts() == sections
    # needs action: 20 rows on screen, the rest behind a plain <details>
    act = page.locator("section#needs-action")
    n = len(ot.report.to_act_on(df, today=SEED_DAY))
    assert n > 20 and len(_table(act)) == 20
    act.locator("summary").click()
    assert len(_table(act)) == n
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    # a reviewer's comments read as lines, not as a column of single words
    comment = act.locator("td.long").first.bounding_box()
    assert comment is not None and comment["width"] > 180, comment
    images = page.locator("img")
    assert images.count() == 3
    for i in range(3):  # every chart decoded, drawn across the page's width, and holding more than a blank
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 100
        box = images.nth(i).bounding_box()
        assert box is not None and box["width"] > 1000 and box["height"] > 250, CHARTS[i]
        shot = Image.open(io.BytesIO(images.nth(i).screenshot())).convert("RGB")
        assert len(shot.getcolors(maxcolors=1 << 20) or []) > 20, f"chart {CHARTS[i]!r} shows (almost) nothing"
    # the seed's currencies are those the API accepts, and the report has both, never another
    assert {c.split()[0] for c in page.locator(".card .value").all_inner_texts() if c[:1].isalpha()} == {"EUR", "USD"}


def _referrals_fixture(tmp_path):
    """Six invitations on TODAY (2026-11-27) and a ledger of the decisions pushed for three of them."""
    import json
    from datetime import UTC, datetime

    import pandas as pd

    from opptoolkit.ledger import Ledger, LedgerEntry

    def utc(text: str) -> pd.Timestamp:
        return pd.Timestamp(text, tz="UTC")

    inv = pd.DataFrame(
        {
            "Id": ["I1", "I2", "I3", "I4", "I5", "I6"],
            "Status": ["PENDING", "PENDING", "PENDING", "EXPIRED", "ACCEPTED", "REJECTED"],
            "ExpirationDate": [utc("2026-11-30 12:00"), utc("2026-12-02"), utc("2026-12-17"), utc("2026-11-25"),
                               utc("2026-12-01"), utc("2026-12-03")],
            "Payload.OpportunityInvitation.Customer.CompanyName": ["Co A", "Co B", "Co C", "Co D", "Co E", None],
            "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].Amount": [
                "1000.00", "500.50", "200.00", "10.00", "99.00", None],
            "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].CurrencyCode": [
                "USD", "USD", "EUR", "USD", "USD", None],
            "RejectionReason": [None, None, None, None, None, "Duplicate of partner referral"],
        }
    )  # fmt: skip
    book = Ledger(tmp_path / "ledger")
    accept, reject = "StartEngagementByAcceptingInvitationTask", "RejectEngagementInvitation"

    def entry(ident: str, op: str, status: str, when: str, **kw) -> None:
        stamp = datetime.fromisoformat(when).replace(tzinfo=UTC)
        book.write(LedgerEntry(job_id="j", row="2", Id=ident, status=status, operation=op, started_at=stamp,
                               finished_at=stamp, **kw))  # fmt: skip

    with book.lock():
        entry("I5", accept, "succeeded", "2026-11-25 10:00",
              response=json.dumps({"OpportunityId": "O9000000001", "TaskStatus": "COMPLETE"}))  # fmt: skip
        entry("I6", reject, "succeeded", "2026-11-24 09:00")
        entry("I7", accept, "failed", "2026-11-26 08:00", error_code="InvitationValidationFailed",
              response=json.dumps({"TaskStatus": "FAILED"}))  # fmt: skip
        entry("I8", accept, "succeeded", "2026-11-10 08:00", response=json.dumps({"OpportunityId": "O9000000002"}))
    return inv, tmp_path / "ledger"


def test_the_referrals_section_against_a_fixture(page, tmp_path):
    inv, ledger = _referrals_fixture(tmp_path)
    ot.write_report(pipeline(), tmp_path / "report.html", today=TODAY, invitations=inv, ledger=ledger)
    page.goto((tmp_path / "report.html").as_uri())
    section = page.locator("section#referrals")
    assert page.locator("nav a[href='#referrals']").inner_text() == "Referrals"
    # open ones only (PENDING, and EXPIRED: never answered), by days left from 2026-11-27 00:00 UTC;
    # spend summed per currency, never across
    assert _table(section) == [
        {"Expires": "expired, not answered", "Invitations": "1", "Of them leads": "0", "Expected monthly spend": "USD 10.00",
         "Soonest expiry": "2026-11-25", "Customers": "Co D"},
        {"Expires": "within 7 days", "Invitations": "2", "Of them leads": "0", "Expected monthly spend": "USD 1,500.50",
         "Soonest expiry": "2026-11-30", "Customers": "Co A, Co B"},
        {"Expires": "15 to 30 days", "Invitations": "1", "Of them leads": "0", "Expected monthly spend": "EUR 200.00",
         "Soonest expiry": "2026-12-17", "Customers": "Co C"},
    ]  # fmt: skip
    assert "Accepted and rejected since 2026-11-20 00:00 UTC" in section.locator("h3").inner_text()
    decided = section.locator("table").nth(1)
    headers = decided.locator("thead th").all_inner_texts()
    rows = [dict(zip(headers, tr.locator("td").all_inner_texts(), strict=True))
            for tr in decided.locator("tbody tr").all()]  # fmt: skip
    # the failed accept (I7) is no decision; I8 was decided before the period
    assert rows == [
        {"When": "2026-11-24", "Decision": "rejected", "Referral or lead": "", "Invitation": "I6", "Customer": "",
         "Rejection reason": "Duplicate of partner referral", "Opportunity created": ""},
        {"When": "2026-11-25", "Decision": "accepted", "Referral or lead": "referral", "Invitation": "I5", "Customer": "Co E",
         "Rejection reason": "", "Opportunity created": "O9000000001"},
    ]  # fmt: skip
    count = section.locator("tbody tr").first.locator("td").nth(1)
    assert count.evaluate("td => getComputedStyle(td).textAlign") == "right"
    section.screenshot(path=str(tmp_path / "referrals.png"))
    assert Image.open(tmp_path / "referrals.png").size[0] >= 600


def test_the_partner_vs_aws_section_reads_yes_and_no(page, tmp_path):
    df = pipeline()
    df["Aws.LifeCycle.Stage"] = ["Qualified" if s == "Qualified" else "Prospect" for s in df["LifeCycle.Stage"]]
    ot.write_report(df, tmp_path / "report.html", today=TODAY)
    page.goto((tmp_path / "report.html").as_uri())
    rows = _table(page.locator("section#partner-vs-aws"))
    assert {r["Stage differs"] for r in rows} <= {"yes", "no"} and rows[0]["Stage differs"] == "yes"
    assert rows[0]["AWS stage"] == "Prospect" != rows[0]["Stage"]


def test_the_sharing_section_says_what_aws_is_not_seeing_and_what_to_do(page, tmp_path):
    from tests.test_report import shared_health

    health, df, (_, stopped, failing) = shared_health()
    ot.write_report(df, tmp_path / "report.html", snapshots=health, today=TODAY)
    page.goto((tmp_path / "report.html").as_uri())
    section = page.locator("section#is-aws-seeing-your-updates")
    assert page.locator("nav a[href='#is-aws-seeing-your-updates']").inner_text() == "Is AWS seeing your updates?"
    assert "AWS does not see the latest change of 2 shared opportunities" in section.locator("p").first.inner_text()
    rows = _table(section)
    assert [(r["Id"], r["Issue"]) for r in rows] == [(stopped, "Sharing is stopped"), (failing, "Sharing fails")]
    assert list(rows[0]) == ["Id", "Customer", "Project title", "Issue", "AWS last got a change", "Last modified date",
                             "What to do"]  # fmt: skip
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[0]["AWS last got a change"])
    assert rows[1]["What to do"].endswith("(AWS said: Access denied assuming the role).")
    section.screenshot(path=str(tmp_path / "sharing.png"))
    assert Image.open(tmp_path / "sharing.png").size[0] >= 600
