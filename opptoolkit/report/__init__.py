"""Pipeline reports from the flattened frame: the views partner teams review every week.

Pure pandas over a frame from :func:`opptoolkit.read_opportunities`, the mirror, or a
spreadsheet export (any subset of columns: a view that lacks its columns says which it needs).
Money is never summed across currencies unless you pass FX rates, and the two kinds of spend entry
are never added together: model, ``ExpectedCustomerSpend.TargetCompany``: "Use AWS for the system's
AWS Monthly Recurring Revenue (MRR) estimate. Use Self for the partner's own deal value entry when
providing Total Contract Value (TCV)" (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_ExpectedCustomerSpend.html).
The pipeline's value is the monthly AWS spend; a partner's ``Self`` contract value is shown apart.

The views are pure pandas (``_views``, ``_referrals`` for the AWS-originated flow, ``_sharing`` for what AWS
sees of the shared opportunities); ``_charts`` draws them, ``_html`` and ``_xlsx`` render them, and
``write_report`` (``_write``) chooses and writes them.
"""

from __future__ import annotations

from ._charts import plot_close_months, plot_funnel, plot_outcomes
from ._referrals import aws_vs_partner, referral_decisions, referrals_by_expiry
from ._sharing import not_seen_by_aws
from ._views import (
    by_close_month,
    funnel,
    headline,
    hygiene,
    moved,
    needs_action,
    outcomes,
    read_fx,
    review_status,
    spend_amounts,
    to_act_on,
)
from ._write import HEADLINE, write_report

__all__ = [
    "HEADLINE",
    "aws_vs_partner",
    "by_close_month",
    "funnel",
    "headline",
    "hygiene",
    "moved",
    "needs_action",
    "not_seen_by_aws",
    "outcomes",
    "plot_close_months",
    "plot_funnel",
    "plot_outcomes",
    "read_fx",
    "referral_decisions",
    "referrals_by_expiry",
    "review_status",
    "spend_amounts",
    "to_act_on",
    "write_report",
]
