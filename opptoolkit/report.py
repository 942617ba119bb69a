"""Pipeline reports from the flattened frame: the views partner teams review every week.

Pure pandas over a frame from :func:`opptoolkit.read_opportunities`, the mirror, or a
spreadsheet export (any subset of columns: a view that lacks its columns says which it needs).
Money is never summed across currencies unless you pass FX rates.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from . import fields as P
from ._values import is_blank
from .exceptions import ReportError
from .frame import to_payloads
from .rules import ACTION_REQUIRED, CLOSED_LOST, CLOSED_STAGES, LAUNCHED, validate_payload
from .schema import get_schema, split_column
from .sheets import guard_text

__all__ = [
    "by_close_month",
    "funnel",
    "hygiene",
    "needs_action",
    "outcomes",
    "plot_close_months",
    "plot_funnel",
    "plot_outcomes",
    "review_status",
    "spend_amounts",
    "write_report",
]


ID, STAGE, REVIEW, COMMENTS, REASON = P.ID, P.STAGE, P.REVIEW_STATUS, P.REVIEW_COMMENTS, P.REVIEW_STATUS_REASON
LOST_REASON, CLOSE, COMPANY, INDUSTRY, OPP_TYPE = (
    P.CLOSED_LOST_REASON,
    P.TARGET_CLOSE,
    P.COMPANY,
    P.INDUSTRY,
    P.OPPORTUNITY_TYPE,
)
NEXT_STEPS, _SPEND, _HISTORY = P.NEXT_STEPS, P.SPEND, P.NEXT_STEPS_HISTORY
NO_CURRENCY = "(none)"


def _need(df: pd.DataFrame, view: str, *cols: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ReportError(f"{view} needs the columns {missing}; this frame has {len(df.columns)} others")


def _stages() -> tuple[str, ...]:
    return get_schema()[STAGE].enum


def _decimal(text: Any) -> Decimal | None:
    if is_blank(text):
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None


# -- money ----------------------------------------------------------------------------------------


def spend_amounts(df: pd.DataFrame) -> pd.DataFrame:
    """Every ``Project.ExpectedCustomerSpend[i]`` entry as a row, amounts as exact Decimals.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).

    Returns
    -------
    DataFrame
        ``Id``, ``index``, ``amount`` (``decimal.Decimal``, exact), ``amount_float``,
        ``currency``, ``frequency``, ``target_company``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1"], "Project.ExpectedCustomerSpend[0].Amount": ["0.10"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["EUR"]})
    >>> spend_amounts(df)[["Id", "amount", "currency"]].to_dict("records")
    [{'Id': 'O1', 'amount': Decimal('0.10'), 'currency': 'EUR'}]
    """
    _need(df, "spend_amounts", ID)
    indexes = sorted(
        {i for c in df.columns if (i := split_column(str(c))[1]) is not None and str(c).startswith(_SPEND)}
    )
    empty = pd.Series(None, index=df.index, dtype=object)
    rows = []
    for i in indexes:
        base = f"{_SPEND}[{i}]."
        part = pd.DataFrame(
            {
                "Id": df[ID],
                "index": i,
                "amount": df.get(base + "Amount", empty).map(_decimal),
                "currency": df.get(base + "CurrencyCode", empty),
                "frequency": df.get(base + "Frequency", empty),
                "target_company": df.get(base + "TargetCompany", empty),
            }
        )
        rows.append(part[part["amount"].notna() | part["currency"].notna()])
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["Id", "index", "amount", "currency"])
    out["amount_float"] = [float(a) if a is not None else float("nan") for a in out["amount"]]
    return out.reset_index(drop=True)


def _spend_by_opportunity(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    """Per opportunity and currency: the expected monthly spend (Decimal), converted if ``fx``."""
    spend = spend_amounts(df)
    spend = spend[spend["amount"].notna()]
    if fx is not None:
        if not to:
            raise ReportError("with fx= rates, say which currency they convert into: to='USD' (for example)")
        missing = sorted(set(spend["currency"].dropna()) - set(fx))
        if missing:
            raise ReportError(f"no FX rate for {missing}; pass fx={{currency: rate to {to}}}")
        spend = spend.assign(
            amount=[a * Decimal(str(fx[c])) for a, c in zip(spend["amount"], spend["currency"], strict=True)],
            currency=to,
        )
    out = spend.groupby(["Id", "currency"], as_index=False)["amount"].agg(lambda s: sum(s, Decimal(0)))  # type: ignore[type-var]
    return pd.DataFrame(out)


def _with_spend(df: pd.DataFrame, keys: list[str], fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    per_opp = _spend_by_opportunity(df, fx, to)
    left = df[[ID, *keys]].drop_duplicates(ID)
    merged = left.merge(per_opp, on=ID, how="left")
    merged["currency"] = merged["currency"].fillna(NO_CURRENCY)
    return merged


def _summarise(merged: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = merged.groupby([*keys, "currency"], dropna=False, observed=True)
    out = grouped.agg(
        opportunities=(ID, "nunique"),
        expected_monthly_spend=("amount", lambda s: float(sum((a for a in s if isinstance(a, Decimal)), Decimal(0)))),
    ).reset_index()
    return out


# -- views ----------------------------------------------------------------------------------------


def funnel(df: pd.DataFrame, *, fx: Mapping[str, float] | None = None, to: str | None = None) -> pd.DataFrame:
    """Opportunities and expected monthly spend by stage (in the model's stage order), per currency.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    fx : mapping, optional
        Rates to convert each currency into ``to`` (``fx={"EUR": 1.08, "USD": 1}, to="USD"``);
        without them, currencies are never added together.
    to : str, optional
        The currency ``fx`` converts into.

    Returns
    -------
    DataFrame
        ``stage``, ``currency``, ``opportunities``, ``expected_monthly_spend``; an
        opportunity with no spend counts under currency ``(none)``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> funnel(df).query("opportunities > 0")[["stage", "opportunities", "expected_monthly_spend"]].to_dict("records")
    [{'stage': 'Qualified', 'opportunities': 1, 'expected_monthly_spend': 1000.0}, {'stage': 'Committed', 'opportunities': 1, 'expected_monthly_spend': 250.5}]
    """
    _need(df, "funnel", ID, STAGE)
    merged = _with_spend(df, [STAGE], fx, to)
    merged[STAGE] = pd.Categorical(merged[STAGE], categories=_stages(), ordered=True)
    out = _summarise(merged, [STAGE]).rename(columns={STAGE: "stage"})
    out = out[out["opportunities"] > 0].sort_values(["stage", "currency"]).reset_index(drop=True)
    out["stage"] = out["stage"].astype(str)
    return out


def by_close_month(df: pd.DataFrame, *, fx: Mapping[str, float] | None = None, to: str | None = None) -> pd.DataFrame:
    """Return the expected monthly spend by target close month (``YYYY-MM``) and stage, per currency.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    fx : mapping, optional
        Rates to convert each currency into ``to``, as for :func:`funnel`.
    to : str, optional
        The currency ``fx`` converts into.

    Returns
    -------
    DataFrame
        ``month``, ``stage``, ``currency``, ``opportunities``, ``expected_monthly_spend``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> by_close_month(df)[["month", "stage", "expected_monthly_spend"]].to_dict("records")
    [{'month': '2026-01', 'stage': 'Qualified', 'expected_monthly_spend': 1000.0}, {'month': '2026-03', 'stage': 'Committed', 'expected_monthly_spend': 250.5}]
    """
    _need(df, "by_close_month", ID, STAGE, CLOSE)
    work = df[df[CLOSE].notna() & (df[CLOSE].astype(str) != "")].copy()
    work["month"] = work[CLOSE].astype(str).str.slice(0, 7)
    merged = _with_spend(work, ["month", STAGE], fx, to)
    merged[STAGE] = pd.Categorical(merged[STAGE], categories=_stages(), ordered=True)
    out = _summarise(merged, ["month", STAGE]).rename(columns={STAGE: "stage"})
    out = out[out["opportunities"] > 0].sort_values(["month", "stage", "currency"]).reset_index(drop=True)
    out["stage"] = out["stage"].astype(str)
    return out


def review_status(df: pd.DataFrame) -> pd.DataFrame:
    """Opportunities per ``LifeCycle.ReviewStatus`` (in the model's order, zeros included).

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).

    Returns
    -------
    DataFrame
        ``review_status``, ``opportunities``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> review_status(df).query("opportunities > 0").to_dict("records")
    [{'review_status': 'Approved', 'opportunities': 1}, {'review_status': 'Action Required', 'opportunities': 1}]
    """
    _need(df, "review_status", REVIEW)
    statuses = get_schema()[REVIEW].enum
    counts = df[REVIEW].value_counts().reindex(statuses, fill_value=0)
    return pd.DataFrame({"review_status": statuses, "opportunities": counts.to_numpy()})


def needs_action(df: pd.DataFrame) -> pd.DataFrame:
    """Return the opportunities in ``Action Required``, with AWS's review comments.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).

    Returns
    -------
    DataFrame
        ``Id`` and, where the frame has them, the company, stage, ``ReviewStatusReason`` and
        ``ReviewComments`` of each opportunity in ``Action Required``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> needs_action(df).to_dict("records")
    [{'Id': 'O2', 'LifeCycle.Stage': 'Committed'}]
    """
    _need(df, "needs_action", ID, REVIEW)
    cols = [c for c in (ID, COMPANY, STAGE, REASON, COMMENTS) if c in df.columns]
    return df.loc[df[REVIEW] == ACTION_REQUIRED, cols].reset_index(drop=True)


def hygiene(df: pd.DataFrame, *, today: date | None = None, stale_days: int = 30) -> pd.DataFrame:
    """Return what to fix, one row per problem: ``Id``, ``issue``, ``field``, ``detail``.

    * ``overdue``: TargetCloseDate in the past on an open stage;
    * ``stale``: no NextStepsHistory entry in ``stale_days`` days (open stages);
    * ``missing``: a field the API requires (model + documented rules) is empty.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    today : date, optional
        The day a close date is overdue after (default: today, UTC).
    stale_days : int, default 30
        How old the last next step may be.

    Returns
    -------
    DataFrame
        ``Id``, ``issue`` (``overdue``, ``stale`` or ``missing``), ``field``, ``detail``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> from datetime import date
    >>> h = hygiene(df, today=date(2026, 2, 1))
    >>> h.loc[h["issue"] == "overdue", ["Id", "field"]].to_dict("records")
    [{'Id': 'O1', 'field': 'LifeCycle.TargetCloseDate'}]
    """
    _need(df, "hygiene", ID)
    today = today or datetime.now(UTC).date()
    out: list[dict[str, Any]] = []
    is_open = ~df[STAGE].isin(CLOSED_STAGES) if STAGE in df.columns else pd.Series(True, index=df.index)
    if CLOSE in df.columns:
        close = pd.to_datetime(df[CLOSE], errors="coerce")
        for ident, when in zip(
            df.loc[is_open & (close < pd.Timestamp(today)), ID],
            close[is_open & (close < pd.Timestamp(today))],
            strict=True,
        ):
            out.append(
                {
                    "Id": ident,
                    "issue": "overdue",
                    "field": CLOSE,
                    "detail": f"target close date {when.date().isoformat()} has passed; move it or close the opportunity",
                }
            )
    times = [c for c in df.columns if c.startswith(f"{_HISTORY}[") and c.endswith("].Time")]
    if times:
        last = df[times].max(axis=1)
        cutoff = pd.Timestamp(today, tz="UTC") - timedelta(days=stale_days)
        stale = is_open & (last.isna() | (last < cutoff))
        for ident, when in zip(df.loc[stale, ID], last[stale], strict=True):
            said = "never" if pd.isna(when) else when.date().isoformat()
            out.append(
                {
                    "Id": ident,
                    "issue": "stale",
                    "field": NEXT_STEPS,
                    "detail": f"next steps last updated {said} (over {stale_days} days ago)",
                }
            )
    for ident, payload in zip(df[ID], to_payloads(df), strict=True):
        payload.setdefault("LastModifiedDate", datetime.now(UTC))
        for p in validate_payload(payload, base=payload, today=today):
            if p.code == "REQUIRED_FIELD_MISSING":
                out.append({"Id": ident, "issue": "missing", "field": p.field, "detail": p.message})
    return pd.DataFrame(out, columns=["Id", "issue", "field", "detail"])


def outcomes(df: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Return Launched vs Closed Lost, overall or ``by`` a column (industry, opportunity type), with the win rate.

    Pass ``by="reason"`` for the Closed Lost reasons.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    by : str, optional
        A column to group by, or ``"reason"``; default one group, ``all``.

    Returns
    -------
    DataFrame
        The group (``group`` or the ``by`` column), ``launched``, ``closed_lost``, ``win_rate``; by
        reason: ``reason``, ``closed_lost``, ``share``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2", "O3"], "LifeCycle.Stage": ["Launched", "Closed Lost", "Closed Lost"],
    ...                    "LifeCycle.ClosedLostReason": [None, "Price", "Price"]})
    >>> outcomes(df).to_dict("records")
    [{'group': 'all', 'launched': 1, 'closed_lost': 2, 'win_rate': 0.3333333333333333}]
    >>> outcomes(df, by="reason").to_dict("records")
    [{'reason': 'Price', 'closed_lost': 2, 'share': 1.0}]
    """
    _need(df, "outcomes", ID, STAGE)
    done = df[df[STAGE].isin(CLOSED_STAGES)]
    if by == "reason":
        _need(df, "outcomes by reason", LOST_REASON)
        lost = done[done[STAGE] == CLOSED_LOST]
        counts = lost[LOST_REASON].fillna("(no reason)").value_counts()
        return pd.DataFrame(
            {"reason": counts.index, "closed_lost": counts.to_numpy(), "share": (counts / max(len(lost), 1)).to_numpy()}
        )
    key = by or "group"
    if by is not None:
        _need(df, f"outcomes by {by}", by)
        groups = done[by].fillna("(blank)")
    else:
        groups = pd.Series("all", index=done.index)
    table = pd.crosstab(groups, done[STAGE]).reindex(columns=[LAUNCHED, CLOSED_LOST], fill_value=0)
    out = pd.DataFrame(
        {key: table.index, "launched": table[LAUNCHED].to_numpy(), "closed_lost": table[CLOSED_LOST].to_numpy()}
    )
    out["win_rate"] = out["launched"] / (out["launched"] + out["closed_lost"])
    return out.sort_values([key]).reset_index(drop=True)


# -- charts ---------------------------------------------------------------------------------------


def _figure(width: float = 8, height: float = 4) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def plot_funnel(df: pd.DataFrame, **kwargs: Any) -> Any:
    """Bar chart of the funnel: opportunities per stage, and spend per currency (top 4).

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    **kwargs
        ``fx`` and ``to``, as for :func:`funnel`.

    Returns
    -------
    matplotlib.figure.Figure
        The chart.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> plot_funnel(df).axes[0].get_title()
    'Pipeline by stage'
    """
    f = funnel(df, **kwargs)
    fig, ax = _figure()
    counts = (
        f.groupby("stage", sort=False)["opportunities"].sum().reindex([s for s in _stages() if s in set(f["stage"])])
    )
    ax.barh(counts.index[::-1], counts.to_numpy()[::-1], color="#3b6ea5")
    ax.set_xlabel("opportunities")
    ax.set_title("Pipeline by stage")
    for y, v in enumerate(counts.to_numpy()[::-1]):
        ax.text(v, y, f" {v}", va="center")
    return fig


def plot_close_months(df: pd.DataFrame, *, currency: str | None = None, **kwargs: Any) -> Any:
    """Stacked bars: expected monthly spend by target close month and stage (one currency).

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    currency : str, optional
        The currency to show; default the one with the most spend.
    **kwargs
        ``fx`` and ``to``, as for :func:`funnel`.

    Returns
    -------
    matplotlib.figure.Figure
        The chart.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"],
    ...                    "LifeCycle.ReviewStatus": ["Approved", "Action Required"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-03-01"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD"]})
    >>> plot_close_months(df).axes[0].get_title()
    'Expected spend by target close month (USD)'
    """
    m = by_close_month(df, **kwargs)
    m = m[m["currency"] != NO_CURRENCY]
    if currency is None:
        currency = str(m.groupby("currency")["expected_monthly_spend"].sum().idxmax()) if len(m) else ""
    pivot = m[m["currency"] == currency].pivot_table(
        index="month", columns="stage", values="expected_monthly_spend", aggfunc="sum", fill_value=0.0
    )
    pivot = pivot.reindex(columns=[s for s in _stages() if s in pivot.columns])
    fig, ax = _figure(10, 4)
    if len(pivot):
        pivot.plot.bar(stacked=True, ax=ax, width=0.8)
        ax.legend(title="stage", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_ylabel(f"expected monthly spend ({currency})")
    ax.set_title(f"Expected spend by target close month ({currency})")
    return fig


def plot_outcomes(df: pd.DataFrame) -> Any:
    """Plot Closed Lost reasons as horizontal bars.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).

    Returns
    -------
    matplotlib.figure.Figure
        The chart.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1"], "LifeCycle.Stage": ["Closed Lost"], "LifeCycle.ClosedLostReason": ["Price"]})
    >>> plot_outcomes(df).axes[0].get_title()
    'Why opportunities were lost'
    """
    o = outcomes(df, by="reason")
    fig, ax = _figure()
    ax.barh(o["reason"][::-1], o["closed_lost"][::-1], color="#b5523b")
    ax.set_xlabel("closed lost")
    ax.set_title("Why opportunities were lost")
    return fig


# -- the report file ------------------------------------------------------------------------------


def _views(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> dict[str, pd.DataFrame | str]:
    views: dict[str, pd.DataFrame | str] = {}
    makers: dict[str, Callable[[], pd.DataFrame]] = {
        "Funnel": lambda: funnel(df, fx=fx, to=to),
        "By close month": lambda: by_close_month(df, fx=fx, to=to),
        "Review status": lambda: review_status(df),
        "Needs action": lambda: needs_action(df),
        "Hygiene": lambda: hygiene(df),
        "Outcomes by industry": lambda: outcomes(df, by=INDUSTRY),
        "Outcomes by type": lambda: outcomes(df, by=OPP_TYPE),
        "Lost reasons": lambda: outcomes(df, by="reason"),
    }
    for name, make in makers.items():
        try:
            views[name] = make()
        except ReportError as e:
            views[name] = str(e)
    return views


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write_report(
    df: pd.DataFrame,
    html_path: str | Path | None = "report.html",
    *,
    xlsx: str | Path | None = None,
    fx: Mapping[str, float] | None = None,
    to: str | None = None,
    title: str = "Partner Central pipeline",
) -> dict[str, pd.DataFrame | str]:
    """Write every view as one self-contained HTML file and, with ``xlsx``, as a workbook.

    The HTML holds tables and embedded charts (it opens offline); the workbook one sheet per view. Returns the
    views.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    html_path : str or Path or None, default "report.html"
        The HTML file; None writes none.
    xlsx : str or Path, optional
        The workbook, one sheet per view; its text cells carry the formula guard of
        :func:`opptoolkit.write_sheet`.
    fx : mapping, optional
        Rates to convert each currency into ``to``, as for :func:`funnel`.
    to : str, optional
        The currency ``fx`` converts into.
    title : str, default "Partner Central pipeline"
        The report's heading.

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
    (['Funnel', 'By close month', 'Review status'], True)
    """
    views = _views(df, fx, to)
    if html_path is not None:
        charts = []
        for name, plot in (
            ("Pipeline by stage", plot_funnel),
            ("By close month", plot_close_months),
            ("Lost reasons", plot_outcomes),
        ):
            try:
                charts.append((name, _png(plot(df))))
            except (ReportError, ValueError, TypeError) as e:
                charts.append((name, f"!{e}"))
        parts = [
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
            "<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
            "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#f3f5f8}"
            "img{max-width:100%}.note{color:#a33}</style></head><body>",
            f"<h1>{html.escape(title)}</h1><p>{len(df)} opportunities; generated "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC by opptoolkit.</p>",
        ]
        for name, data in charts:
            parts.append(f"<h2>{html.escape(name)}</h2>")
            parts.append(
                f"<p class='note'>{html.escape(data[1:])}</p>"
                if data.startswith("!")
                else f"<img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"
            )
        for name, view in views.items():
            parts.append(f"<h2>{html.escape(name)}</h2>")
            if isinstance(view, str):
                parts.append(f"<p class='note'>{html.escape(view)}</p>")
            elif view.empty:
                parts.append("<p>Nothing to show.</p>")
            else:
                parts.append(view.to_html(index=False, border=0, float_format=lambda x: f"{x:,.2f}"))
        parts.append("</body></html>")
        Path(html_path).parent.mkdir(parents=True, exist_ok=True)
        Path(html_path).write_text("\n".join(parts), encoding="utf-8")
    if xlsx is not None:
        Path(xlsx).parent.mkdir(parents=True, exist_ok=True)
        with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
            for name, view in views.items():
                table = pd.DataFrame({"note": [view]}) if isinstance(view, str) else view
                # the formula guard of write_sheet: a company name "=HYPERLINK(...)" stays text
                table = table.rename(columns=lambda c: guard_text(c) if isinstance(c, str) else c)
                table = table.map(lambda v: guard_text(v) if isinstance(v, str) else v)
                table.to_excel(writer, sheet_name=name[:31], index=False)
    return views
