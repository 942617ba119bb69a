"""``write_report``: the views of a frame, written as an HTML page and/or a workbook."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fields as P
from .._files import replacing
from ..exceptions import ReportError
from ..schema import AWS_PREFIX, label_for
from ._html import render_html
from ._referrals import aws_vs_partner, referral_decisions, referrals_by_expiry
from ._sharing import not_seen_by_aws
from ._views import (
    AMOUNT,
    CURRENCY,
    DECISIONS,
    ID,
    INDUSTRY,
    NO_CURRENCY,
    OPP_TYPE,
    REFERRALS,
    SHARING,
    by_close_month,
    funnel,
    headline,
    hygiene,
    model_stages,
    moved,
    open_stages,
    opportunity_rows,
    outcomes,
    period_start,
    read_fx,
    review_status,
    to_act_on,
)
from ._xlsx import write_xlsx

# -- the report's tables -------------------------------------------------------------------------


def _by_stage(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    """Stages down, one money column per currency across; a last row totals the open stages."""
    f = funnel(df, fx=fx, to=to)
    counts = f.groupby("stage", sort=False)["opportunities"].sum()
    money = f[f["currency"] != NO_CURRENCY].pivot_table(
        index="stage", columns="currency", values="expected_monthly_spend", aggfunc="sum", fill_value=0.0
    )
    present = [s for s in model_stages() if s in counts.index]
    out = pd.DataFrame({"stage": present, "opportunities": counts.reindex(present).to_numpy().astype(int)})
    for cur in money.columns:
        out[f"Monthly AWS spend ({cur})"] = money[cur].reindex(present).fillna(0.0).to_numpy()
    is_open = out["stage"].isin(open_stages())
    if is_open.any():
        total: dict[str, Any] = {"stage": "Open pipeline (all open stages)"}
        total.update({c: out.loc[is_open, c].sum() for c in out.columns if c != "stage"})
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
        out["opportunities"] = out["opportunities"].astype(int)
    return out


def _by_month(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    m = by_close_month(df, fx=fx, to=to)
    m = m[m["stage"].isin(open_stages())]
    counts = m.groupby("month")["opportunities"].sum()
    money = m[m["currency"] != NO_CURRENCY].pivot_table(
        index="month", columns="currency", values="expected_monthly_spend", aggfunc="sum", fill_value=0.0
    )
    out = pd.DataFrame({"month": counts.index, "opportunities": counts.to_numpy().astype(int)})
    for cur in money.columns:
        out[f"Monthly AWS spend ({cur})"] = money[cur].reindex(counts.index).fillna(0.0).to_numpy()
    return out


def _missing(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None, today: date) -> pd.DataFrame:
    h = hygiene(df, today=today)
    h = h[h["issue"] == "missing"][["Id", "field", "detail"]]
    recs = opportunity_rows(df, fx, to).drop(columns=[AMOUNT, CURRENCY])
    return h.merge(recs, on=ID, how="left").reset_index(drop=True)


def _not_shown(e: ReportError) -> str:
    """Say why a view is not shown, in the page's words: the missing columns by their labels."""
    if not e.columns:
        return str(e)
    names = ", ".join(label_for(c) for c in e.columns)
    return (
        f"Not shown: this needs the {names} {'column' if len(e.columns) == 1 else 'columns'}, which the "
        "pipeline reported here does not have (a pull of every column has them)."
    )


#: The first sheet of every report workbook: what tells a report apart from a sheet of opportunities.
HEADLINE = "Headline"


def assemble_views(
    df: pd.DataFrame,
    fx: Mapping[str, float] | None,
    to: str | None,
    since: pd.DataFrame | None,
    today: date,
    invitations: pd.DataFrame | None = None,
    ledger: str | Path | None = None,
    snapshots: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame | str]:
    views: dict[str, pd.DataFrame | str] = {}
    makers: dict[str, Callable[[], pd.DataFrame | str]] = {
        HEADLINE: lambda: headline(df, since=since, fx=fx, to=to, today=today),
        "What moved": lambda: (
            moved(since, df, fx=fx, to=to)
            if since is not None
            else "No earlier snapshot to compare with: a report from the mirror shows what moved since the sync "
            "before (each sync is kept), and a report from a pull can be compared with an earlier pull."
        ),
        "Needs action": lambda: to_act_on(df, fx=fx, to=to, today=today),
        "Pipeline by stage": lambda: _by_stage(df, fx, to),
        "By close month": lambda: _by_month(df, fx, to),
        "Won and lost": lambda: outcomes(df),
        "Outcomes by industry": lambda: outcomes(df, by=INDUSTRY),
        "Outcomes by type": lambda: outcomes(df, by=OPP_TYPE),
        "Lost reasons": lambda: outcomes(df, by="reason"),
        "Review status": lambda: review_status(df),
        "Missing fields": lambda: _missing(df, fx, to, today),
    }
    if AWS_PREFIX + P.STAGE in df.columns:  # read with aws_summary=True: AWS's view beside ours
        makers["Partner vs AWS"] = lambda: aws_vs_partner(df)
    if invitations is not None or ledger is not None:
        # the expiry counts from now on the day of the report, from that day's start on another day
        now = datetime.now(UTC) if today == datetime.now(UTC).date() else datetime.combine(today, time(), UTC)
        makers[REFERRALS] = lambda: (
            referrals_by_expiry(invitations, now=now)
            if invitations is not None
            else "The referral invitations were not given to this report: add the triage workbook to see them here."
        )
        makers[DECISIONS] = lambda: (
            referral_decisions(ledger, since=period_start(since, today), invitations=invitations).rename(
                columns={ID: "invitation"}
            )
            if ledger is not None
            else "The ledger the decisions were pushed into was not given to this report: add it to list them here."
        )
    if snapshots is not None:  # engagements.snapshot_health: is AWS seeing my updates?
        makers[SHARING] = lambda: not_seen_by_aws(snapshots, df)
    for name, make in makers.items():
        try:
            views[name] = make()
        except ReportError as e:
            views[name] = _not_shown(e)
    return views


def write_report(
    df: pd.DataFrame,
    html_path: str | Path | None = "report.html",
    *,
    xlsx: str | Path | None = None,
    since: pd.DataFrame | None = None,
    fx: Mapping[str, float] | pd.DataFrame | str | Path | None = None,
    to: str | None = None,
    today: date | None = None,
    title: str = "Partner Central pipeline",
    invitations: pd.DataFrame | None = None,
    ledger: str | Path | None = None,
    snapshots: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame | str]:
    """Write the pipeline review as one self-contained HTML file and, with ``xlsx``, as a workbook.

    The HTML opens with the headline figures, then what moved since ``since``, what needs action,
    the pipeline by stage and by close month (charts and tables), won and lost, review status and
    missing fields; it has a contents list, opens offline and shows at most 20 rows of a table
    before a "show all". The workbook has one sheet per view.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_mirror`).
    html_path : str or Path or None, default "report.html"
        The HTML file; None writes none. A name ending ``.xlsx`` writes the workbook instead (as ``xlsx=``).
    xlsx : str or Path, optional
        The workbook, one sheet per view; its text cells carry the formula guard of
        :func:`opptoolkit.write_sheet`.
    since : pandas.DataFrame, optional
        The pipeline earlier, e.g. ``read_mirror(folder, as_of="2026-11-25")``: each headline figure
        gets its change, and "What moved" lists the changes.
    fx : mapping or DataFrame or path, optional
        Rates into ``to`` (see :func:`read_fx`): all money in one currency. Without them, money is
        shown per currency.
    to : str, optional
        The currency ``fx`` converts into.
    today : date, optional
        The day close dates are overdue after (default: today, UTC).
    title : str, default "Partner Central pipeline"
        The report's heading.
    invitations : pandas.DataFrame, optional
        The referrals, from :func:`opptoolkit.read_invitations` (or a triage workbook read back with
        :func:`opptoolkit.referrals.read_triage`): a "Referrals" section lists the open ones by how
        soon they expire (:func:`opptoolkit.report.referrals_by_expiry`).
    ledger : str or Path, optional
        The ledger the triage decisions were pushed into: the section lists the referrals accepted and
        rejected since the ``since`` snapshot (else the last 7 days), from
        :func:`opptoolkit.report.referral_decisions`.
    snapshots : pandas.DataFrame, optional
        Whether AWS sees each shared opportunity's latest change, from
        :func:`opptoolkit.engagements.snapshot_health`: an "Is AWS seeing your updates?" section lists the
        opportunities it does not see, why and what to do, in words (:func:`opptoolkit.report.not_seen_by_aws`).

    Returns
    -------
    dict of str to DataFrame or str
        Each view by name; a view the frame cannot make (a column missing) is the reason, as text.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> views = write_report(df, None, xlsx=folder / "report.xlsx")  # the workbook only: no charts to draw
    >>> list(views)[:3], (folder / "report.xlsx").exists()
    (['Headline', 'What moved', 'Needs action'], True)
    """
    if html_path is not None and Path(html_path).suffix.lower() in (".xlsx", ".xlsm"):
        # write_report(df, "report.xlsx") means the workbook: an HTML page under that name would not open
        if xlsx is not None:
            raise ReportError(
                f"{Path(html_path).name} is a workbook name: give the page an .html name, or leave it None"
            )
        html_path, xlsx = None, html_path
    rates = None if fx is None else read_fx(fx)
    if rates is not None and not to:
        raise ReportError("with fx= rates, say which currency they convert into: to='USD' (for example)")
    to = to.upper() if to else None
    today = today or datetime.now(UTC).date()
    views = assemble_views(df, rates, to, since, today, invitations, ledger, snapshots)
    if html_path is not None:
        page = render_html(df, views, fx=rates, to=to, since=since, today=today, title=title)
        with replacing(Path(html_path)) as tmp:
            tmp.write_text(page, encoding="utf-8")
    if xlsx is not None:
        write_xlsx(views, Path(xlsx))
    return views
