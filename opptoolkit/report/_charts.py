"""Charts of the pipeline views (matplotlib, imported on first use)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..rules import CLOSED_STAGES
from ._views import NO_CURRENCY, by_close_month, funnel, model_stages, open_stages, outcomes

_BLUE, _RED, _GREY = "#3b6ea5", "#b5523b", "#9aa3ad"


def _figure(width: float = 12, height: float = 4, ncols: int = 1) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), layout="constrained", squeeze=False)
    for ax in axes[0]:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=11)
    return fig, list(axes[0])


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def plot_funnel(df: pd.DataFrame, **kwargs: Any) -> Any:
    """Bar charts of the funnel: opportunities per stage, and the open pipeline's monthly AWS spend per stage.

    Spend is drawn per currency (or in ``to`` with ``fx``), open stages only: Launched and Closed
    Lost are not pipeline.

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
    'Opportunities by stage'
    """
    f = funnel(df, **kwargs)
    stages = [s for s in model_stages() if s in set(f["stage"])]
    counts = f.groupby("stage", sort=False)["opportunities"].sum().reindex(stages)
    money = f[f["stage"].isin(open_stages()) & (f["currency"] != NO_CURRENCY)]
    currencies = sorted(set(money["currency"]))
    fig, (left, right) = _figure(12, 0.9 + 0.45 * max(len(stages), 3), ncols=2)
    colours = [_GREY if s in CLOSED_STAGES else _BLUE for s in stages]
    left.barh(stages[::-1], counts.to_numpy()[::-1], color=colours[::-1])
    for y, v in enumerate(counts.to_numpy()[::-1]):
        left.text(v, y, f" {v:,}", va="center", fontsize=11)
    _integer_ticks(left.xaxis)
    left.set_xlabel("opportunities")
    left.set_title("Opportunities by stage")
    open_here = [s for s in open_stages() if s in set(money["stage"])] or open_stages()
    pivot = money.pivot_table(index="stage", columns="currency", values="expected_monthly_spend", aggfunc="sum")
    pivot = pivot.reindex(index=open_here[::-1], columns=currencies).fillna(0.0)
    height = 0.8 / max(len(currencies), 1)
    palette = [_BLUE, "#e0a03a", "#5a9e6f", "#8c6bb1", _RED, "#4aa3b5"]
    for k, cur in enumerate(currencies):
        ys = [i + (k - (len(currencies) - 1) / 2) * height for i in range(len(pivot))]
        right.barh(ys, pivot[cur].to_numpy(), height=height, label=cur, color=palette[k % len(palette)])
    right.set_yticks(range(len(pivot)), list(pivot.index))
    right.xaxis.set_major_formatter(_thousands())
    right.set_xlabel("monthly AWS spend")
    right.set_title("Open pipeline by stage, monthly AWS spend")
    if currencies:
        right.legend(title="currency", frameon=False)
    return fig


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    def text(x: float, _: Any) -> str:
        if abs(x) >= 1_000_000:
            return f"{x / 1_000_000:,.1f}M".replace(".0M", "M")
        return f"{x / 1000:,.0f}k" if abs(x) >= 1000 else f"{x:,.0f}"

    return FuncFormatter(text)


def plot_close_months(df: pd.DataFrame, *, currency: str | None = None, **kwargs: Any) -> Any:
    """Stacked bars: the open pipeline's monthly AWS spend by target close month and stage, one panel per currency.

    Every currency gets its panel (or only ``currency``); Launched and Closed Lost are not pipeline
    and are left out.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_sheet`).
    currency : str, optional
        Draw this currency only.
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
    'Open pipeline by target close month (USD)'
    """
    m = by_close_month(df, **kwargs)
    m = m[(m["currency"] != NO_CURRENCY) & m["stage"].isin(open_stages())]
    currencies = [currency] if currency else sorted(set(m["currency"])) or [""]
    fig, axes = _figure(12, 3.6 * len(currencies), ncols=1) if len(currencies) == 1 else _stacked(len(currencies))
    months = sorted(set(m["month"]))
    for ax, cur in zip(axes, currencies, strict=True):
        pivot = m[m["currency"] == cur].pivot_table(
            index="month", columns="stage", values="expected_monthly_spend", aggfunc="sum", fill_value=0.0
        )
        pivot = pivot.reindex(index=months, columns=[s for s in open_stages() if s in pivot.columns]).fillna(0.0)
        if len(pivot.columns):
            pivot.plot.bar(stacked=True, ax=ax, width=0.8, rot=45 if len(months) > 12 else 0)
            ax.legend(title="stage", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        ax.yaxis.set_major_formatter(_thousands())
        ax.set_xlabel("target close month")
        ax.set_ylabel(f"monthly AWS spend ({cur})" if cur else "monthly AWS spend")
        ax.set_title(f"Open pipeline by target close month ({cur})" if cur else "Open pipeline by target close month")
    return fig


def _stacked(n: int) -> Any:
    import matplotlib.pyplot as plt

    with plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(n, 1, figsize=(12, 3.4 * n), layout="constrained", sharex=True, squeeze=False)
    for ax in axes[:, 0]:
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes[:, 0])


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
    fig, (ax,) = _figure(12, 0.9 + 0.28 * max(len(o), 3))
    ax.barh(o["reason"][::-1], o["closed_lost"][::-1], color=_RED)
    for y, v in enumerate(o["closed_lost"].to_numpy()[::-1]):
        ax.text(v, y, f" {v:,}", va="center", fontsize=11)
    _integer_ticks(ax.xaxis)
    ax.set_xlabel("opportunities closed lost")
    ax.set_title("Why opportunities were lost")
    return fig


# -- the report file ------------------------------------------------------------------------------
