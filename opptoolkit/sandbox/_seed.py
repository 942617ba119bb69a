"""Deterministic, realistic seed data for the sandbox.

Opportunities that satisfy the model and the documented business rules, in varied stages, review statuses,
industries and currencies.

Enum values are drawn from the service model; the names, cities and sentences below are
flavour text, not schema.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from .._address import NO_POSTAL_CODE, example_postal_code, postal_code_fits
from ..rules import (
    ACTION_REQUIRED,
    CLOSED_LOST,
    CLOSED_STAGES,
    FLAT_RENEWAL,
    GOVERNMENT,
    LAUNCHED,
    NEEDS_SOLUTION,
    NO,
    OTHER_COMPETITOR,
    OTHER_INDUSTRY,
    PENDING_SUBMISSION,
    TARGET_COMPANY,
    US,
    YES,
    accepted_values,
)
from ..schema import get_schema, service_model
from ..wire import dumps_record, loads_record, record_shape

__all__ = ["SEED_DAY", "SEED_PATH", "load_seed", "seed_records", "shift_dates", "write_seed"]

#: The seed file, shipped inside the package (package data: an installed wheel serves the same
#: opportunities as the repository), written once by :func:`write_seed`.
SEED_PATH = Path(__file__).with_name("seed.jsonl")
#: The day the committed seed describes: its pipeline has this day's mix of overdue, stale and
#: current opportunities. A sandbox started later moves every date by as many days
#: (:func:`shift_dates`), so the mix does not age.
SEED_DAY = date(2026, 11, 27)
_NOW = datetime(SEED_DAY.year, SEED_DAY.month, SEED_DAY.day, tzinfo=UTC)  # the seed's "now"

_PREFIX = ["North", "Blue", "Silver", "Bright", "Red", "Green", "Iron", "Summit", "Harbor", "Cedar", "Atlas",
           "Nova", "Pioneer", "Crystal", "Granite", "Maple", "Quantum", "Orbit", "Sunrise", "Vertex"]  # fmt: skip
_NOUN = ["wind", "river", "stone", "field", "peak", "bridge", "light", "forge", "wave", "path"]
_SUFFIX = ["Analytics", "Logistics", "Health", "Foods", "Energy", "Bank", "Media", "Robotics", "Retail",
           "Motors", "Labs", "Insurance", "Telecom", "Games", "Airlines"]  # fmt: skip
_LEGAL = ["Inc.", "Ltd", "GmbH", "S.A.", "LLC", "Pty Ltd", "AG", "K.K.", ""]
_FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Elif", "Femi", "Grace", "Hiro", "Inês", "Jamal", "Kai", "Lena",
          "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wei", "Yara", "Zoë"]  # fmt: skip
_LAST = ["Okafor", "Schmidt", "García", "Nakamura", "Dubois", "Kowalski", "O'Brien", "Silva", "Chen", "Haddad",
         "Johansson", "Rossi", "Patel", "Novak", "Murphy", "Kim", "Andersen", "Costa", "Müller", "Singh"]  # fmt: skip
_TITLES = ["CTO", "VP Engineering", "Head of Data", "Cloud Architect", "CIO", "IT Director", "Procurement Lead"]
_CITIES = ["Seattle", "Austin", "London", "Berlin", "Paris", "Bengaluru", "Tokyo", "Sydney", "Toronto",
           "São Paulo", "Windhoek", "Nairobi", "Dublin", "Singapore", "Madrid"]  # fmt: skip
_STATES = ["Washington", "Texas", "California", "New York", "Ohio", "Oregon", "Florida", "Virginia"]
_STREETS = ["Main St", "Market Street", "Harbour Road", "Rue de Rivoli", "Hauptstraße", "King's Road"]
_WORKLOADS = ["data lake", "SAP migration", "contact center", "ML platform", "data center exit",
              "SaaS replatform", "disaster recovery", "genAI assistant", "IoT telemetry", "analytics modernisation"]  # fmt: skip
# each workload's Project.CustomerUseCase and Marketing.UseCases, from the lists the model documents (the seed's
# test finds no payload warning: each value it uses is one of them)
_USE_CASES = {
    "data lake": ("Big Data: Data Warehouse/Data Integration/ETL/Data Lake/BI", "Analytics"),
    "SAP migration": ("Business Applications & SAP Production", "Business Applications"),
    "contact center": ("Business Applications & Contact Center", "Customer Engagement"),
    "ML platform": ("AI Machine Learning and Analytics", "AI/ML"),
    "data center exit": ("Migration/Database Migration", "Migration & Transfer"),
    "SaaS replatform": ("Containers & Serverless", "Containers"),
    "disaster recovery": ("Storage & Backup", "Storage"),
    "genAI assistant": ("AI Machine Learning and Analytics", "AI/ML"),
    "IoT telemetry": ("IOT", "IoT"),
    "analytics modernisation": ("Big Data: Data Warehouse/Data Integration/ETL/Data Lake/BI", "Analytics"),
}
#: The partner's solutions in the seed (model pattern ``S-[0-9]{1,19}``), as ListSolutions would list them.
SOLUTIONS = ("S-0000001", "S-0000002", "S-0000003")
#: What ListSolutions answers for them (the model's SolutionBase: Catalog, Id, Name, Status, Category,
#: CreatedDate). Names and categories are flavour text; the status is the model's. A fourth, inactive one
#: shows a solution that is listed but not offered any more.
SOLUTION_RECORDS = tuple(
    {"Id": sid, "Name": name, "Status": status, "Category": category, "CreatedDate": datetime(2025, 3, n, tzinfo=UTC)}
    for n, (sid, name, status, category) in enumerate(
        [
            (SOLUTIONS[0], "Data Lake Accelerator", "Active", "Software Product"),
            (SOLUTIONS[1], "Migration Factory", "Active", "Consulting Service"),
            (SOLUTIONS[2], "GenAI Assistant Kit", "Active", "Software Product"),
            ("S-0000004", "Legacy Backup Service", "Inactive", "Managed Service"),
        ],
        1,
    )
)
_PROBLEMS = [
    "The customer's on-premises {w} cannot scale for seasonal peaks and hardware is end of life in {y}.",
    "Licensing costs of the current {w} rose 40% this year; the CFO wants a cloud business case by Q{q}.",
    "Regulators require the {w} to run in-region with audited controls; the current host cannot comply.",
    "Time to market for new features on the {w} is 9 months; the customer wants weekly releases.",
]
_NEXT_STEPS = ["Schedule architecture review", "Send pricing proposal", "Run proof of concept",
               "Workshop with the data team", "Security questionnaire", "Agree migration plan", "Sign SOW"]  # fmt: skip
_REVIEW_COMMENTS = "Please add the customer's website and a more specific business problem (at least two sentences)."


def _enum(path: str) -> tuple[str, ...]:
    return get_schema()[path].enum


def _weighted(rng: random.Random, values: tuple[str, ...], weights: list[float]) -> str:
    return rng.choices(values, weights=weights[: len(values)] + [1.0] * (len(values) - len(weights)))[0]


def _ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _record(rng: random.Random, i: int, catalog: str) -> dict[str, Any]:
    company = f"{rng.choice(_PREFIX)}{rng.choice(_NOUN)} {rng.choice(_SUFFIX)} {rng.choice(_LEGAL)}".strip()
    slug = company.split()[0].lower()
    # a live pipeline: created up to 18 months ago, touched in the last three weeks
    created = _ms(_NOW - timedelta(days=rng.randint(20, 540), seconds=rng.randint(0, 86_400)))
    modified = _ms(max(created, _NOW - timedelta(days=rng.randint(0, 19), seconds=rng.randint(0, 86_400))))
    ident = f"O{(7 if catalog == 'Sandbox' else 8)}{i:09d}"
    industry = rng.choice(_enum("Customer.Account.Industry"))
    account: dict[str, Any] = {
        "CompanyName": company,
        "Industry": industry,
        "WebsiteUrl": f"https://www.{slug}.example",
        "Address": {
            "City": rng.choice(_CITIES),
            "CountryCode": rng.choice(_enum("Customer.Account.Address.CountryCode")),
            "PostalCode": f"{rng.randint(0, 99999):05d}",
            "StreetAddress": f"{rng.randint(1, 999)} {rng.choice(_STREETS)}",
        },
    }
    if rng.random() < 0.4:
        account["Address"]["StateOrRegion"] = rng.choice(_STATES)
    if rng.random() < 0.5:
        account["Duns"] = f"{rng.randint(0, 999_999_999):09d}"
    if rng.random() < 0.3:
        account["AwsAccountId"] = f"{rng.randint(0, 10**12 - 1):012d}"
    rec: dict[str, Any] = {"Id": ident, "Catalog": catalog}
    if industry == OTHER_INDUSTRY:
        account["OtherIndustry"] = "Space tourism"
    if industry == GOVERNMENT:
        rec["NationalSecurity"] = rng.choice([YES, NO])
    contacts = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = "".join(c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == "."))
        contacts.append(
            {
                "Email": f"{local}@{slug}.example",
                "FirstName": first,
                "LastName": last,
                "BusinessTitle": rng.choice(_TITLES),
                "Phone": f"+1555{rng.randint(0, 9_999_999):07d}",
            }
        )
    currencies = _enum("Project.ExpectedCustomerSpend[].CurrencyCode")
    # model, CurrencyCode: "Accepted values are USD (US Dollars) and EUR (Euros)": a draw over the
    # model's first currencies (USD, EUR, GBP, ...) keeps USD and EUR, anything else becomes USD
    accepted = accepted_values("Project.ExpectedCustomerSpend[].CurrencyCode") or currencies
    major = [60, 15, 10, 5, 5, 1, 1, 3]
    if rng.random() < 0.95:
        currency = rng.choices(currencies[: len(major)], weights=major)[0]
    else:
        currency = rng.choice(currencies)
    currency = currency if currency in accepted else accepted[0]
    spend = [
        {
            "Amount": f"{rng.choice([500, 1200, 2500, 5000, 8000, 12500, 25000, 60000])}.{rng.choice(['00', '50'])}",
            "CurrencyCode": currency,
            "Frequency": _enum("Project.ExpectedCustomerSpend[].Frequency")[0],
            "TargetCompany": TARGET_COMPANY,
        }
        for _ in range(rng.choice([1, 1, 1, 2]))
    ]
    workload = rng.choice(_WORKLOADS)
    project: dict[str, Any] = {
        "Title": f"{company.split()[0]} {workload}",
        "CustomerBusinessProblem": rng.choice(_PROBLEMS).format(w=workload, y=2027, q=rng.randint(1, 4)),
        "CustomerUseCase": _USE_CASES[workload][0],
        "DeliveryModels": rng.sample(_enum("Project.DeliveryModels"), rng.randint(1, 2)),
        "ExpectedCustomerSpend": spend,
        "SalesActivities": rng.sample(_enum("Project.SalesActivities"), rng.randint(1, 3)),
        "CompetitorName": rng.choice(_enum("Project.CompetitorName")),
    }
    if project["CompetitorName"] == OTHER_COMPETITOR:
        project["OtherCompetitorNames"] = "Regional hosting provider"
    if rng.random() < 0.3:
        project["AdditionalComments"] = "Customer prefers a phased rollout; executive sponsor is the CFO."
    if rng.random() < 0.3:
        project["ExpectedContractDuration"] = {
            "Term": _enum("Project.ExpectedContractDuration.Term")[0],
            "Value": str(rng.choice([12, 24, 36])),
        }
    stages = _enum("LifeCycle.Stage")
    stage = _weighted(rng, stages, [20, 20, 15, 12, 10, 13, 10])
    open_stage = stage not in CLOSED_STAGES
    if open_stage:  # mostly ahead of today, some overdue (as in any real pipeline)
        target = _NOW + timedelta(days=rng.randint(150, 700) - 180)
    else:
        target = modified - timedelta(days=rng.randint(1, 90))
    # next steps over the opportunity's life, most of them recent (some deals go quiet: stale)
    history_times = sorted(_ms(modified - (modified - created) * rng.random() ** 3) for _ in range(rng.randint(0, 4)))
    history = [{"Value": rng.choice(_NEXT_STEPS), "Time": t} for t in history_times]
    lifecycle: dict[str, Any] = {"Stage": stage, "TargetCloseDate": target.date().isoformat()}
    if history:
        lifecycle["NextSteps"] = history[-1]["Value"]
        lifecycle["NextStepsHistory"] = history
    if stage == CLOSED_LOST:
        lifecycle["ClosedLostReason"] = rng.choice(_enum("LifeCycle.ClosedLostReason"))
    statuses = _enum(
        "LifeCycle.ReviewStatus"
    )  # Pending Submission, Submitted, In review, Approved, Rejected, Action Required
    status = _weighted(rng, statuses, [25, 8, 7, 42, 5, 13])
    lifecycle["ReviewStatus"] = status
    if status == ACTION_REQUIRED:
        lifecycle["ReviewComments"] = _REVIEW_COMMENTS
        lifecycle["ReviewStatusReason"] = "Missing customer details"
    sources = _enum("Marketing.Source")
    marketing: dict[str, Any] = {"Source": rng.choice(sources)}
    if marketing["Source"] == sources[0]:  # a marketing activity: campaign, channels, funding
        funded = rng.random() < 0.5
        marketing.update(
            {
                "CampaignName": f"{rng.choice(['Migrate', 'Modernize', 'Build'])} on AWS 2026",
                "Channels": rng.sample(_enum("Marketing.Channels"), rng.randint(1, 2)),
                "AwsFundingUsed": YES if funded else NO,
            }
        )
        if funded:
            marketing["UseCases"] = [_USE_CASES[workload][1]]
    rec.update(
        {
            "Arn": f"arn:aws:partnercentral:us-east-1:123456789012:catalog/{catalog}/opportunity/{ident}",
            "PartnerOpportunityIdentifier": f"CRM-{rng.randint(10_000, 99_999)}",
            "PrimaryNeedsFromAws": rng.sample(_enum("PrimaryNeedsFromAws"), rng.randint(1, 2)),
            "OpportunityType": rng.choice(_enum("OpportunityType")),
            "Customer": {"Account": account, "Contacts": contacts},
            "Project": project,
            "Marketing": marketing,
            "LifeCycle": lifecycle,
            "LastModifiedDate": modified,
            "CreatedDate": created,
            "RelatedEntityIdentifiers": _related(i, stage, status),
            "OpportunityTeam": [
                {
                    "FirstName": "Sam",
                    "LastName": "Partner",
                    "Email": "sam.partner@partner.example",
                    "BusinessTitle": "PartnerAccountManager",
                }
            ],
        }
    )
    if rng.random() < 0.15:
        value = {"Amount": str(rng.choice([10_000, 48_000, 120_000])), "CurrencyCode": currency}
        rec["SoftwareRevenue"] = {
            "DeliveryModel": rng.choice(_enum("SoftwareRevenue.DeliveryModel")),
            "Value": value,
            "EffectiveDate": target.date().isoformat(),
            "ExpirationDate": (target + timedelta(days=365)).date().isoformat(),
        }
    _as_the_field_sheet_says(rec)
    return rec


def _as_the_field_sheet_says(rec: dict[str, Any]) -> None:
    """Make the record what AWS's field sheet asks (rules' field-sheet warnings), drawing nothing from the generator.

    A state only in the US, a postal code only where the country has them and in its format (the generator's
    digits kept), a parent opportunity for a Flat Renewal, an AWS account at Launched: the values are derived
    from the record's own, so the rest of the seed stays as it was drawn.
    """
    account = rec["Customer"]["Account"]
    address = account["Address"]
    country = address["CountryCode"]
    if country != US:
        address.pop("StateOrRegion", None)
    elif not address.get("StateOrRegion"):
        address["StateOrRegion"] = _STATES[int(rec["Id"][1:]) % len(_STATES)]
    if country in NO_POSTAL_CODE:
        address.pop("PostalCode", None)
    elif postal_code_fits(country, address["PostalCode"]) is False:
        address["PostalCode"] = example_postal_code(country, address["PostalCode"])
    if rec["OpportunityType"] == FLAT_RENEWAL:
        # the renewed opportunity: the one before it in the seed (the first renews the last Sandbox one)
        rec["Project"]["RelatedOpportunityIdentifier"] = f"{rec['Id'][:2]}{(int(rec['Id'][2:]) - 1) % 300:09d}"
    if rec["LifeCycle"]["Stage"] == LAUNCHED and not account.get("AwsAccountId"):
        account["AwsAccountId"] = f"{int(rec['Id'][1:]) * 7919 % 10**12:012d}"


def _related(i: int, stage: str, status: str) -> dict[str, Any]:
    """Return the record's associations.

    Developer guide, "Associating, disassociating and assigning opportunities": a submission needs "at least
    one and up to ten Partner Solutions", and "To progress the opportunity stage to Committed or Launched, you
    must associate a valid solution"
    (https://docs.aws.amazon.com/partner-central/latest/developer-guide/associating-disassociating-assigning-opportunities.html).
    So every record submitted for review, or in those stages, has one; drafts have one every other time.
    """
    if stage in NEEDS_SOLUTION or status != PENDING_SUBMISSION or i % 2:
        return {"Solutions": [SOLUTIONS[i % len(SOLUTIONS)]]}
    return {}


def seed_records(n: int = 300, *, seed: int = 2026, aws: int = 40) -> list[dict[str, Any]]:
    """``n`` Sandbox-catalog and ``aws`` AWS-catalog opportunities, the same for the same seed.

    Parameters
    ----------
    n : int, default 300
        How many records of the ``Sandbox`` catalog.
    seed : int, default 2026
        Seed of the generator.
    aws : int, default 40
        How many records of the ``AWS`` catalog.

    Returns
    -------
    list of dict
        GetOpportunity responses that satisfy the model and the documented business rules.

    Examples
    --------
    >>> recs = seed_records(3, aws=1)
    >>> len(recs), sorted({r["Catalog"] for r in recs})
    (4, ['AWS', 'Sandbox'])
    """
    rng = random.Random(seed)
    return [_record(rng, i, "Sandbox") for i in range(n)] + [_record(rng, i, "AWS") for i in range(aws)]


def write_seed(path: Path = SEED_PATH, **kwargs: Any) -> Path:
    """Write the seed file (wire JSON, one record per line) -- run once, committed as :data:`SEED_PATH`.

    Parameters
    ----------
    path : Path, default SEED_PATH
        The file to write.
    **kwargs
        Passed to :func:`seed_records` (``n``, ``seed``, ``aws``).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> path = write_seed(Path(tempfile.mkdtemp()) / "seed.jsonl", n=2, aws=1)
    >>> [r["Id"] for r in load_seed(path)]
    ['O7000000000', 'O7000000001', 'O8000000000']
    """
    lines = [dumps_record(r) for r in seed_records(**kwargs)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_seed(path: Path | None = None, *, as_of: date | None = None) -> list[dict[str, Any]]:
    """Return the seed records, as :func:`write_seed` wrote them (by default the package's :data:`SEED_PATH`).

    ``as_of``: move every date by ``as_of - SEED_DAY`` days (see :func:`shift_dates`); None
    keeps the dates as committed.

    Parameters
    ----------
    path : Path, optional
        A file :func:`write_seed` wrote; default :data:`SEED_PATH`.
    as_of : date, optional
        The day that plays the seed's :data:`SEED_DAY`.

    Returns
    -------
    list of dict
        The GetOpportunity responses.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import timedelta
    >>> path = write_seed(Path(tempfile.mkdtemp()) / "seed.jsonl", n=1, aws=0)
    >>> before = load_seed(path)[0]["LifeCycle"]["TargetCloseDate"]
    >>> after = load_seed(path, as_of=SEED_DAY + timedelta(days=7))[0]["LifeCycle"]["TargetCloseDate"]
    >>> (date.fromisoformat(after) - date.fromisoformat(before)).days
    7
    """
    text = (path or SEED_PATH).read_text(encoding="utf-8")
    recs = [loads_record(line) for line in text.splitlines() if line]
    return recs if as_of is None else shift_dates(recs, (as_of - SEED_DAY).days)


def shift_dates(records: list[dict[str, Any]], days: int) -> list[dict[str, Any]]:
    """Move every timestamp and ``YYYY-MM-DD`` date of ``records`` by ``days`` days (in place).

    Which members are dates comes from the model (timestamp shapes, and strings whose pattern is
    a date), so relations between them (created before modified, history in order) are kept.

    Parameters
    ----------
    records : list of dict
        GetOpportunity responses, changed in place.
    days : int
        How many days to move forward (negative: back).

    Returns
    -------
    list of dict
        ``records``.

    Examples
    --------
    >>> rec = {"LifeCycle": {"TargetCloseDate": "2026-12-30"}, "CreatedDate": datetime(2026, 1, 1, tzinfo=UTC)}
    >>> shift_dates([rec], 3)
    [{'LifeCycle': {'TargetCloseDate': '2027-01-02'}, 'CreatedDate': datetime.datetime(2026, 1, 4, 0, 0, tzinfo=datetime.timezone.utc)}]
    """
    if days:
        shape, fields, delta = record_shape(), get_schema().fields, timedelta(days=days)

        def move(value: Any, shape: Shape, path: str) -> Any:
            if isinstance(shape, StructureShape):
                for k, v in value.items():
                    if k in shape.members:
                        value[k] = move(v, shape.members[k], f"{path}.{k}" if path else k)
                return value
            if isinstance(shape, ListShape):
                return [move(x, shape.member, path + "[]") for x in value]
            if shape.type_name == "timestamp":
                return value + delta
            f = fields.get(path)
            if f is not None and f.is_date and isinstance(value, str):
                return (date.fromisoformat(value) + delta).isoformat()
            return value

        for r in records:
            move(r, shape, "")
    return records


# -- engagement invitations (AWS referrals) -------------------------------------------------------
#: Days from the seed's day to each invitation's expiry: some expire this week, some later, some
#: already did (a pending invitation past its ExpirationDate reads EXPIRED), and one of each answer.
_INVITATION_EXPIRY = (1, 2, 4, 6, 9, 13, 20, 27, -3, -10, 5, 12)
_INVITATION_ANSWER = {10: "ACCEPTED", 11: "REJECTED"}


def seed_invitations(catalog: str = "Sandbox", *, seed: int = 2026, as_of: date | None = None) -> list[dict[str, Any]]:
    """Engagement invitations AWS sent to the partner, as GetEngagementInvitation answers.

    Opportunity invitations with the payload the model describes (customer, project, expected spend,
    AWS sender contacts, the invitation message), sent 2 to 16 days before their expiry, which
    ranges from already past to four weeks ahead of ``as_of`` (default: the seed's day).

    Examples
    --------
    >>> invs = seed_invitations(as_of=SEED_DAY)
    >>> len(invs), sorted({i["Status"] for i in invs})
    (12, ['ACCEPTED', 'PENDING', 'REJECTED'])
    """
    rng = random.Random(seed + 1)
    now = datetime.combine(as_of or SEED_DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    responsibilities = get_schema_shape_enum("ReceiverResponsibility")
    out = []
    for i, days in enumerate(_INVITATION_EXPIRY):
        company = f"{rng.choice(_PREFIX)}{rng.choice(_NOUN)} {rng.choice(_SUFFIX)} {rng.choice(_LEGAL)}".strip()
        slug = company.split()[0].lower()
        workload = rng.choice(_WORKLOADS)
        expires = _ms(now + timedelta(days=days, hours=rng.randint(0, 8)))
        sent = _ms(expires - timedelta(days=rng.randint(2, 16), minutes=rng.randint(0, 600)))
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = "".join(c for c in f"{first}.{last}".lower() if c.isascii() and (c.isalnum() or c == "."))
        ident = f"engi-{i:07d}sandbx"
        inv: dict[str, Any] = {
            "Id": ident,
            "Arn": f"arn:aws:partnercentral:us-east-1::catalog/{catalog}/engagement-invitation/{ident}",
            "Catalog": catalog,
            "PayloadType": "OpportunityInvitation",
            "EngagementId": f"eng-{i:08d}sandbx",
            "EngagementTitle": f"{company.split()[0]} {workload}"[:40],
            "Status": _INVITATION_ANSWER.get(i, "PENDING"),
            "InvitationDate": sent,
            "ExpirationDate": expires,
            "SenderAwsAccountId": "aws",
            "SenderCompanyName": "Amazon Web Services",
            "Receiver": {"Account": {"AwsAccountId": "123456789012", "Alias": "sandbox-partner"}},
            "InvitationMessage": f"AWS would like to co-sell the {workload} at {company} with you.",
            "Payload": {
                "OpportunityInvitation": {
                    "SenderContacts": [
                        {
                            "Email": f"{local}@amazon.example",
                            "FirstName": first,
                            "LastName": last,
                            "BusinessTitle": "AWS Account Manager",
                            "Phone": f"+1206{rng.randint(0, 9_999_999):07d}",
                        }
                    ],
                    "ReceiverResponsibilities": rng.sample(responsibilities[:6], rng.randint(1, 2)),
                    "Customer": {
                        "Industry": rng.choice(_enum("Customer.Account.Industry")),
                        "CompanyName": company,
                        "WebsiteUrl": f"https://www.{slug}.example",
                        "CountryCode": rng.choice(_enum("Customer.Account.Address.CountryCode")),
                    },
                    "Project": {
                        "Title": f"{company.split()[0]} {workload}",
                        "BusinessProblem": rng.choice(_PROBLEMS).format(w=workload, y=2027, q=rng.randint(1, 4)),
                        "TargetCompletionDate": (expires + timedelta(days=rng.randint(60, 240))).date().isoformat(),
                        "ExpectedCustomerSpend": [
                            {
                                "Amount": f"{rng.choice([2500, 8000, 15000, 40000, 90000])}.00",
                                "CurrencyCode": "USD",
                                "Frequency": _enum("Project.ExpectedCustomerSpend[].Frequency")[0],
                                "TargetCompany": TARGET_COMPANY,
                            }
                        ],
                    },
                    "OpportunityType": rng.choice(_enum("OpportunityType")),
                }
            },
        }
        if inv["Status"] == "REJECTED":  # RejectEngagementInvitation keeps the reason, not the payload
            del inv["Payload"]
            inv["RejectionReason"] = "Unable to support"
        out.append(inv)
    return out


def get_schema_shape_enum(shape: str) -> tuple[str, ...]:
    """Return the enum of a named shape of the service model (a shape outside the Opportunity record)."""
    return tuple(service_model().shape_for(shape).enum)  # type: ignore[attr-defined]
