"""Report views of the AWS-originated flow: referrals by expiry, the decisions pushed, AWS's view beside ours.

Pure pandas over the frames :func:`opptoolkit.read_invitations` and :func:`opptoolkit.read_opportunities`
(``aws_summary=True``) return, and over the ledger that :func:`opptoolkit.push_decisions` wrote.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .. import fields as P
from ..ledger import read_ledger
from ..referrals import ACCEPT_LEAD_OP as _ACCEPT_LEAD_OP
from ..referrals import LEAD_INVITATION as _LEAD
from ..schema import AWS_PREFIX, service_model, shape_value
from ._views import need_columns

__all__ = ["aws_vs_partner", "referral_decisions", "referrals_by_expiry"]

#: The opportunity an accepted invitation created: a member of the accept task's answer.
OPPORTUNITY_ID = "OpportunityId"
_ACCEPT_OP, _REJECT_OP = "StartEngagementByAcceptingInvitationTask", "RejectEngagementInvitation"
assert OPPORTUNITY_ID in service_model().operation_model(_ACCEPT_OP).output_shape.members  # type: ignore[union-attr]
_PENDING, _EXPIRED = shape_value("InvitationStatus", "PENDING"), shape_value("InvitationStatus", "EXPIRED")


#: Expiry buckets of the referrals view: upper bounds in days (exclusive), and their names.
_BUCKETS = ((0, "expired, not answered"), (7, "within 7 days"), (14, "8 to 14 days"), (30, "15 to 30 days"))
_LATER = "later"
_SPEND_AMOUNT = "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].Amount"
_SPEND_CURRENCY = "Payload.OpportunityInvitation.Project.ExpectedCustomerSpend[0].CurrencyCode"
_COMPANY = "Payload.OpportunityInvitation.Customer.CompanyName"
_LEAD_COMPANY = f"Payload.{_LEAD}.Customer.CompanyName"


def _company(inv: pd.DataFrame) -> pd.Series:
    """Each invitation's customer: a referral's or a lead's, whichever payload it carries."""
    empty = pd.Series([None] * len(inv), index=inv.index, dtype=object)
    referral, lead = inv.get(_COMPANY, empty), inv.get(_LEAD_COMPANY, empty)
    return referral.where(referral.notna(), lead)


def referrals_by_expiry(inv: pd.DataFrame, *, now: datetime | None = None) -> pd.DataFrame:
    """Open referrals by how soon they expire: the invitations never answered, bucketed by days left.

    Parameters
    ----------
    inv : DataFrame
        From :func:`read_invitations`.
    now : datetime, optional
        Default: now. A pending invitation past its ``ExpirationDate`` is counted as expired.

    Returns
    -------
    DataFrame
        One row per bucket that has invitations (``expired, not answered``, ``within 7 days``, ...):
        ``invitations``, ``leads`` (how many of them are AWS's leads, ``PayloadType`` LeadInvitation),
        ``expected_spend`` (a referral's first spend line summed per currency, as text:
        money is never summed across currencies), ``soonest`` (ExpirationDate) and ``customers``.

    Examples
    --------
    >>> import pandas as pd
    >>> now = pd.Timestamp("2026-12-01", tz="UTC")
    >>> inv = pd.DataFrame({"Status": ["PENDING", "PENDING", "ACCEPTED"],
    ...                     "ExpirationDate": pd.to_datetime(["2026-12-03", "2026-12-20", "2026-12-02"], utc=True)})
    >>> referrals_by_expiry(inv, now=now)[["bucket", "invitations"]].values.tolist()
    [['within 7 days', 1], ['15 to 30 days', 1]]
    """
    need_columns(inv, "referrals by expiry", "Status", "ExpirationDate")
    stamp = pd.Timestamp(now or datetime.now(UTC))
    open_ = inv[inv["Status"].isin([_PENDING, _EXPIRED])].copy()  # expired ones were never answered
    days = (open_["ExpirationDate"] - stamp) / pd.Timedelta(days=1)
    open_["_days"] = days.where(open_["Status"] != _EXPIRED, -1.0)

    def bucket(d: float) -> str:
        return next((name for bound, name in _BUCKETS if d < bound), _LATER)

    open_["bucket"] = open_["_days"].map(bucket)
    order = [name for _, name in _BUCKETS] + [_LATER]
    rows = []
    for name in order:
        part = open_[open_["bucket"] == name]
        if part.empty:
            continue
        spend = ""
        if _SPEND_AMOUNT in part and _SPEND_CURRENCY in part:
            amounts = pd.to_numeric(part[_SPEND_AMOUNT], errors="coerce")
            by = amounts.groupby(part[_SPEND_CURRENCY].fillna("?")).sum()
            spend = ", ".join(f"{cur} {total:,.2f}" for cur, total in by.items() if total)
        customers = ", ".join(str(c) for c in _company(part).dropna())
        rows.append(
            {
                "bucket": name,
                "invitations": len(part),
                "leads": int(part["PayloadType"].eq(_LEAD).sum()) if "PayloadType" in part else 0,
                "expected_spend": spend,
                "soonest": part["ExpirationDate"].min(),
                "customers": customers,
            }
        )
    return pd.DataFrame(rows, columns=["bucket", "invitations", "leads", "expected_spend", "soonest", "customers"])


def referral_decisions(
    ledger: str | Path, *, since: datetime | None = None, invitations: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Referrals accepted and rejected in a period, from the ledger that pushed the decisions.

    Returns one row per succeeded decision since ``since`` (default: the last 7 days): ``when``
    (finished_at), ``decision`` (accepted / rejected), ``kind`` (``lead`` or ``referral``: a lead is accepted
    with AcceptEngagementInvitation; a rejection's kind is known with ``invitations``), the invitation ``Id``
    and the ``OpportunityId`` a referral's acceptance created. A decision that failed (an accept task settled FAILED) is not one. The
    ledger holds no rejection reason (it keeps no free text the request sent): with ``invitations``
    (:func:`read_invitations`, read after the decisions) the rows get the invitation's ``customer``
    and ``RejectionReason`` as the service holds them.
    """
    log = read_ledger(ledger)
    start = pd.Timestamp(since or datetime.now(UTC) - pd.Timedelta(days=7))
    ops = {_ACCEPT_OP: "accepted", _ACCEPT_LEAD_OP: "accepted", _REJECT_OP: "rejected"}
    done = log[log["operation"].isin(list(ops)) & (log["status"] == "succeeded") & (log["finished_at"] >= start)]
    answers = [json.loads(r) if isinstance(r, str) and r else {} for r in done["response"]]
    # what was decided on: an accept says (a lead's has its own operation); a rejection, only the invitation
    kinds = done["operation"].map({_ACCEPT_OP: "referral", _ACCEPT_LEAD_OP: "lead"})
    out = pd.DataFrame(
        {
            "when": done["finished_at"].to_numpy(),
            "decision": done["operation"].map(ops).to_numpy(),
            "kind": kinds.to_numpy(dtype=object),
            "Id": done["Id"].to_numpy(),
            OPPORTUNITY_ID: [a.get(OPPORTUNITY_ID) for a in answers],
        }
    )
    if invitations is not None and "Id" in invitations.columns:
        by_id = invitations.drop_duplicates("Id").set_index("Id")
        if "PayloadType" in by_id.columns:
            told = out["Id"].map(by_id["PayloadType"].map({_LEAD: "lead"}).fillna("referral"))
            out["kind"] = out["kind"].where(out["kind"].notna(), told)
        out.insert(len(out.columns) - 1, "customer", out["Id"].map(_company(by_id)).to_numpy())
        if "RejectionReason" in by_id.columns:
            out.insert(len(out.columns) - 1, "RejectionReason", out["Id"].map(by_id["RejectionReason"]).to_numpy())
    return out.sort_values("when", kind="stable").reset_index(drop=True)


def aws_vs_partner(df: pd.DataFrame) -> pd.DataFrame:
    """Opportunities as AWS sees them beside ours: AWS's stage where it differs first, with AWS's next best actions.

    Parameters
    ----------
    df : DataFrame
        From :func:`opptoolkit.read_opportunities` with ``aws_summary=True``.

    Returns
    -------
    DataFrame
        One row per opportunity AWS has a view of: ``Id``, customer, our stage, AWS's stage,
        ``stage_differs``, AWS's engagement score, next best actions and involvement type; the rows whose
        stages differ first.
    """
    # AWS's view has the same member names as the record for the stage (model: AwsOpportunityLifeCycle)
    aws_stage = AWS_PREFIX + P.STAGE
    need_columns(df, "partner vs AWS", "Id", P.STAGE, aws_stage)
    seen = df[df[aws_stage].notna()]
    cols = {
        "Id": "Id",
        P.COMPANY: "customer",
        P.STAGE: "stage",
        aws_stage: "aws_stage",
        AWS_PREFIX + "Insights.EngagementScore": "engagement_score",
        AWS_PREFIX + "Insights.NextBestActions": "next_best_actions",
        AWS_PREFIX + "InvolvementType": "involvement",
    }
    out = seen[[c for c in cols if c in seen]].rename(columns=cols)
    out.insert(4, "stage_differs", (seen[aws_stage] != seen[P.STAGE]).to_numpy())
    return out.sort_values(["stage_differs", "Id"], ascending=[False, True], kind="stable").reset_index(drop=True)
