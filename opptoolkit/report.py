"""Pipeline reports from the flattened frame: the views partner teams review every week.

Pure pandas over a frame from :func:`opptoolkit.read_opportunities`, the mirror, or a
spreadsheet export (any subset of columns: a view that lacks its columns says which it needs).
Money is never summed across currencies unless you pass FX rates, and the two kinds of spend entry
are never added together: model, ``ExpectedCustomerSpend.TargetCompany``: "Use AWS for the system's
AWS Monthly Recurring Revenue (MRR) estimate. Use Self for the partner's own deal value entry when
providing Total Contract Value (TCV)" (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_ExpectedCustomerSpend.html).
The pipeline's value is the monthly AWS spend; a partner's ``Self`` contract value is shown apart.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from . import fields as P
from ._values import is_blank
from .exceptions import ReportError
from .frame import to_payloads
from .rules import ACTION_REQUIRED, CLOSED_LOST, CLOSED_STAGES, LAUNCHED, SELF, TARGET_COMPANY, validate_payload
from .schema import AWS_PREFIX, get_schema, label_for, split_column
from .sheets import guard_text

__all__ = [
    "by_close_month",
    "funnel",
    "headline",
    "hygiene",
    "moved",
    "needs_action",
    "outcomes",
    "plot_close_months",
    "plot_funnel",
    "plot_outcomes",
    "read_fx",
    "review_status",
    "spend_amounts",
    "to_act_on",
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


def _is_aws(target: Any) -> bool:
    """Whether a spend entry is the monthly AWS spend estimate (a blank TargetCompany is stored as AWS)."""
    # model, TargetCompany: "When ExpectedContractDuration is not present, only AWS is accepted and
    # any other value will be automatically set to AWS"
    return is_blank(target) or target == TARGET_COMPANY


def _spend_by_opportunity(
    df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None, *, target: str = TARGET_COMPANY
) -> pd.DataFrame:
    """Per opportunity and currency: the spend (Decimal) of ``target``'s entries, converted if ``fx``.

    ``target`` ``AWS`` gives the expected monthly AWS spend; ``Self`` the partner's total contract value.
    """
    spend = spend_amounts(df)
    spend = spend[spend["amount"].notna()]
    if "target_company" in spend.columns:
        aws = spend["target_company"].map(_is_aws).astype(bool)
        spend = spend[aws] if target == TARGET_COMPANY else spend[~aws & (spend["target_company"] == target)]
    elif target != TARGET_COMPANY:
        spend = spend.iloc[0:0]
    if fx is not None:
        if not to:
            raise ReportError("with fx= rates, say which currency they convert into: to='USD' (for example)")
        fx = {to: 1.0, **fx}
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
    """Opportunities and expected monthly AWS spend by stage (in the model's stage order), per currency.

    Only the ``TargetCompany`` ``AWS`` entries (monthly AWS spend) count; a partner's ``Self`` total
    contract value is another number (see the module's notes).

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


# -- records, the headline and what moved ---------------------------------------------------------

OWNER = "owner"
AMOUNT, CURRENCY = "monthly_aws_spend", "currency"
_TEAM = "OpportunityTeam[0]."


def read_fx(fx: Mapping[str, float] | pd.DataFrame | str | Path) -> dict[str, float]:
    """Return FX rates as ``{currency: rate}`` from a mapping, a two-column table, or a ``.json`` / ``.csv`` file.

    A rate converts one unit of the currency into the report's currency (``to=``): with
    ``to="USD"``, ``{"EUR": 1.08}`` means 1 EUR is 1.08 USD.

    Parameters
    ----------
    fx : mapping or DataFrame or path
        ``{"EUR": 1.08}``; a frame whose first two columns are currency and rate; a JSON object file;
        a CSV file of ``currency,rate`` lines (a header line is optional).

    Returns
    -------
    dict of str to float
        The rates.

    Examples
    --------
    >>> read_fx({"EUR": "1.08"})
    {'EUR': 1.08}
    """
    if isinstance(fx, pd.DataFrame):
        pairs = list(zip(fx.iloc[:, 0], fx.iloc[:, 1], strict=True))
    elif isinstance(fx, str | Path):
        path = Path(fx)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            raise ReportError(f"cannot read the FX rates {path}: {e.strerror}") from None
        if path.suffix.lower() == ".json":
            import json

            pairs = list(json.loads(text).items())
        else:
            rows = [line.replace(";", ",").split(",") for line in text.splitlines() if line.strip()]
            pairs = [(r[0], r[1]) for r in rows if len(r) >= 2]
    else:
        pairs = list(fx.items())
    out: dict[str, float] = {}
    for currency, rate in pairs:
        try:
            out[str(currency).strip().upper()] = float(rate)
        except (TypeError, ValueError):
            if out or str(currency).strip().lower() not in {"currency", "code"}:  # a header line
                raise ReportError(f"FX rate for {currency!r} is not a number: {rate!r}") from None
    return out


def _money(
    df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None, target: str = TARGET_COMPANY
) -> pd.DataFrame:
    """Per opportunity and currency: the spend as float (one row per Id and currency)."""
    if ID not in df.columns or not len(df):
        return pd.DataFrame({ID: pd.Series(dtype=object), "currency": pd.Series(dtype=object), "amount": []})
    per = _spend_by_opportunity(df, fx, to, target=target)
    return per.assign(amount=[float(a) for a in per["amount"]])


def _is_open(df: pd.DataFrame) -> pd.Series:
    if STAGE not in df.columns:
        return pd.Series(True, index=df.index)
    return ~df[STAGE].isin(CLOSED_STAGES) & df[STAGE].notna()


def _col(df: pd.DataFrame, column: str) -> pd.Series:
    return df[column] if column in df.columns else pd.Series(None, index=df.index, dtype=object)


def _owner(df: pd.DataFrame) -> pd.Series:
    """Return the partner's owner of each record: its first OpportunityTeam member (name, else e-mail)."""
    first, last, email = (_col(df, _TEAM + k) for k in ("FirstName", "LastName", "Email"))
    names = [
        " ".join(str(x) for x in (f, la) if not is_blank(x)) or ("" if is_blank(e) else str(e))
        for f, la, e in zip(first, last, email, strict=True)
    ]
    return pd.Series(names, index=df.index, dtype=object)


def _records(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    """One row per opportunity: what a person needs to recognise it and act on it.

    ``Id``, company, title, stage, review status, monthly AWS spend and its currency (two currencies
    on one record: one line each, joined), target close date, owner.
    """
    money = _money(df, fx, to)
    by_id: dict[str, list[tuple[str, float]]] = {}
    for ident, cur, amount in zip(money[ID], money["currency"], money["amount"], strict=True):
        by_id.setdefault(ident, []).append((str(cur), amount))
    amounts = [by_id.get(i, []) for i in df[ID]]
    out = pd.DataFrame(
        {
            ID: df[ID].to_numpy(),
            COMPANY: _col(df, COMPANY).to_numpy(),
            P.TITLE: _col(df, P.TITLE).to_numpy(),
            STAGE: _col(df, STAGE).to_numpy(),
            REVIEW: _col(df, REVIEW).to_numpy(),
            AMOUNT: [a[0][1] if len(a) == 1 else float("nan") for a in amounts],
            CURRENCY: ["/".join(c for c, _ in a) if a else "" for a in amounts],
            CLOSE: _col(df, CLOSE).to_numpy(),
            OWNER: _owner(df).to_numpy(),
        }
    )
    many = [len(a) > 1 for a in amounts]
    if any(many):  # never add currencies: the record's amounts as text, one per currency
        out[AMOUNT] = out[AMOUNT].astype(object)
        for i in [k for k, m in enumerate(many) if m]:
            out.at[i, AMOUNT] = " + ".join(f"{c} {x:,.2f}" for c, x in amounts[i])
            out.at[i, CURRENCY] = ""
    return out


def _totals(money: pd.DataFrame, ids: pd.Series | None = None) -> dict[str, float]:
    if ids is not None:
        money = money[money[ID].isin(set(ids))]
    return {str(c): float(v) for c, v in money.groupby("currency")["amount"].sum().items()}


def _figures(
    df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None, today: date, stale_days: int
) -> list[tuple[str, str, float, str]]:
    """Return the headline figures of one frame: ``(figure, unit, value, note)``; unit a currency, ``count`` or ``percent``."""
    is_open = _is_open(df)
    open_ids = df.loc[is_open, ID]
    aws, own = _money(df, fx, to), _money(df, fx, to, target=SELF)
    rows: list[tuple[str, str, float, str]] = [("Open opportunities", "count", float(is_open.sum()), "")]
    pipeline = _totals(aws, open_ids)
    with_spend = aws[aws[ID].isin(set(open_ids))].groupby("currency")[ID].nunique()
    for cur, value in sorted(pipeline.items()):
        rows.append(("Open pipeline, monthly AWS spend", cur, value, ""))
    for cur, value in sorted(pipeline.items()):
        n = int(with_spend.get(cur, 0))
        rows.append(("Average open deal, monthly AWS spend", cur, value / n if n else 0.0, f"over {n:,} opportunities"))
    for cur, value in sorted(_totals(own, open_ids).items()):
        rows.append(("Open pipeline, partner total contract value (Self)", cur, value, "not added to AWS spend"))
    stage = _col(df, STAGE)
    won, lost = int((stage == LAUNCHED).sum()), int((stage == CLOSED_LOST).sum())
    rows.append(
        (
            "Win rate",
            "percent",
            won / (won + lost) if won + lost else float("nan"),
            f"{won:,} launched, {lost:,} closed lost",
        )
    )
    rows.append(("Launched", "count", float(won), ""))
    rows.append(("Closed Lost", "count", float(lost), ""))
    action = _action_ids(df, today, stale_days)
    rows.append(("Overdue close dates", "count", float(len(action["overdue"])), "open, target close date passed"))
    rows.append(("Action Required", "count", float(len(action["review"])), "AWS asks for changes"))
    rows.append(("Stale next steps", "count", float(len(action["stale"])), f"open, none in {stale_days} days"))
    need = action["overdue"] | action["review"] | action["stale"]
    rows.append(("Records needing action", "count", float(len(need)), "any of the three above"))
    return rows


def _action_ids(df: pd.DataFrame, today: date, stale_days: int) -> dict[str, set[str]]:
    """Ids in Action Required, open with a past close date, open with no next step in ``stale_days``."""
    is_open = _is_open(df)
    out: dict[str, set[str]] = {"review": set(), "overdue": set(), "stale": set()}
    if REVIEW in df.columns:
        out["review"] = set(df.loc[df[REVIEW] == ACTION_REQUIRED, ID])
    if CLOSE in df.columns:
        close = pd.to_datetime(df[CLOSE], errors="coerce")
        out["overdue"] = set(df.loc[is_open & (close < pd.Timestamp(today)), ID])
    times = [c for c in df.columns if c.startswith(f"{_HISTORY}[") and c.endswith("].Time")]
    if times:
        last = df[times].max(axis=1)
        cutoff = pd.Timestamp(today, tz="UTC") - timedelta(days=stale_days)
        out["stale"] = set(df.loc[is_open & (last.isna() | (last < cutoff)), ID])
    return out


def _snapshot_day(now: pd.DataFrame, then: pd.DataFrame, today: date) -> date:
    """Return the day an earlier snapshot's figures are computed as of: ``today`` less the time between the two syncs."""
    t1, t0 = now.attrs.get("opptoolkit.snapshot"), then.attrs.get("opptoolkit.snapshot")
    if isinstance(t1, datetime) and isinstance(t0, datetime):
        return today - (t1.date() - t0.date())
    return today


def headline(
    df: pd.DataFrame,
    *,
    since: pd.DataFrame | None = None,
    fx: Mapping[str, float] | None = None,
    to: str | None = None,
    today: date | None = None,
    stale_days: int = 30,
) -> pd.DataFrame:
    """Return the figures a pipeline review opens with, each beside its value in an earlier snapshot.

    Open opportunities (stage neither Launched nor Closed Lost), the open pipeline's monthly AWS
    spend per currency (or in ``to`` with ``fx``) and its average per opportunity, a partner's
    ``Self`` total contract value apart, the win rate (Launched of Launched + Closed Lost), Launched,
    Closed Lost, overdue close dates, Action Required, stale next steps and the records needing
    any of those.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`opptoolkit.read_opportunities`, :func:`opptoolkit.read_mirror`).
    since : pandas.DataFrame, optional
        The same pipeline earlier, e.g. ``read_mirror(folder, as_of="2026-11-25")``; its figures are
        computed as of its own snapshot day when it has one.
    fx : mapping, optional
        Rates into ``to``, as for :func:`funnel`.
    to : str, optional
        The currency ``fx`` converts into.
    today : date, optional
        The day close dates are overdue after (default: today, UTC).
    stale_days : int, default 30
        How old the last next step may be.

    Returns
    -------
    DataFrame
        ``figure``, ``unit`` (a currency, ``count`` or ``percent``), ``value``, ``previous`` and
        ``change`` (NaN without ``since``), ``note``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2", "O3"], "LifeCycle.Stage": ["Qualified", "Launched", "Closed Lost"],
    ...                    "Project.ExpectedCustomerSpend[0].Amount": ["1000.00", "250.50", "10"],
    ...                    "Project.ExpectedCustomerSpend[0].CurrencyCode": ["USD", "USD", "USD"]})
    >>> h = headline(df).set_index("figure")
    >>> h.loc["Open pipeline, monthly AWS spend", "value"], h.loc["Win rate", "value"]
    (np.float64(1000.0), np.float64(0.5))
    """
    _need(df, "headline", ID)
    today = today or datetime.now(UTC).date()
    rows = _figures(df, fx, to, today, stale_days)
    out = pd.DataFrame(rows, columns=["figure", "unit", "value", "note"])
    out["previous"] = float("nan")
    if since is not None:
        then = {(f, u): v for f, u, v, _ in _figures(since, fx, to, _snapshot_day(df, since, today), stale_days)}
        out["previous"] = [
            then.get((f, u), 0.0 if u not in ("percent",) else float("nan"))
            for f, u in zip(out["figure"], out["unit"], strict=True)
        ]
        # a currency the earlier snapshot had and this one has not: shown at zero, not dropped
        for (f, u), v in then.items():
            if (f, u) not in set(zip(out["figure"], out["unit"], strict=True)) and u not in ("count", "percent"):
                out.loc[len(out)] = {"figure": f, "unit": u, "value": 0.0, "note": "", "previous": v}
        order = {f: len(rows) for f, _ in then} | {f: i for i, (f, *_) in enumerate(rows)}
        out = out.sort_values(
            ["figure", "unit"], key=lambda s: s.map(order) if s.name == "figure" else s, kind="stable"
        )
    out["change"] = out["value"] - out["previous"]
    return out[["figure", "unit", "value", "previous", "change", "note"]].reset_index(drop=True)


#: The kinds of change :func:`moved` reports, in its order.
MOVES = (
    "New",
    "Won",
    "Lost",
    "Stage changed",
    "Close date slipped",
    "Close date pulled in",
    "Value changed",
    "Review status changed",
    "No longer listed",
)


def _spend_text(amounts: Mapping[str, float]) -> str:
    return " + ".join(f"{c} {v:,.2f}" for c, v in sorted(amounts.items())) or "none"


def moved(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    fx: Mapping[str, float] | None = None,
    to: str | None = None,
) -> pd.DataFrame:
    """Return what changed between two snapshots of the pipeline, one row per change.

    New opportunities, won (stage became Launched), lost (became Closed Lost), other stage changes,
    target close dates moved later (slipped) or earlier, monthly AWS spend changed, review status
    changed, and records in ``before`` that ``after`` no longer has.

    Parameters
    ----------
    before, after : pandas.DataFrame
        Two flattened frames of the same pipeline, e.g. ``read_mirror(folder, as_of="2026-11-25")``
        and ``read_mirror(folder)``.
    fx : mapping, optional
        Rates into ``to``, as for :func:`funnel`.
    to : str, optional
        The currency ``fx`` converts into.

    Returns
    -------
    DataFrame
        ``change`` (one of :data:`MOVES`), ``from``, ``to``, then the record as it is in ``after``:
        ``Id``, company, title, stage, review status, monthly AWS spend, currency, close date, owner.

    Examples
    --------
    >>> import pandas as pd
    >>> before = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Committed"]})
    >>> after = pd.DataFrame({"Id": ["O1", "O2", "O3"], "LifeCycle.Stage": ["Committed", "Launched", "Prospect"]})
    >>> moved(before, after)[["change", "Id", "from", "to"]].to_dict("records")
    [{'change': 'New', 'Id': 'O3', 'from': '', 'to': 'Prospect'}, {'change': 'Won', 'Id': 'O2', 'from': 'Committed', 'to': 'Launched'}, {'change': 'Stage changed', 'Id': 'O1', 'from': 'Qualified', 'to': 'Committed'}]
    """
    _need(before, "moved (before)", ID)
    _need(after, "moved (after)", ID)
    old = before.drop_duplicates(ID).set_index(ID, drop=False)
    new = after.drop_duplicates(ID).set_index(ID, drop=False)
    spend_old, spend_new = _money(before, fx, to), _money(after, fx, to)

    def amounts(money: pd.DataFrame) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for ident, cur, amount in zip(money[ID], money["currency"], money["amount"], strict=True):
            out.setdefault(ident, {})[str(cur)] = out.get(ident, {}).get(str(cur), 0.0) + amount
        return out

    a_old, a_new = amounts(spend_old), amounts(spend_new)
    changes: list[tuple[str, str, str, str]] = []  # change, Id, from, to

    def cell(frame: pd.DataFrame, ident: str, column: str) -> str:
        if column not in frame.columns:
            return ""
        v = frame.at[ident, column]
        return "" if is_blank(v) else str(v)

    for ident in new.index:
        if ident not in old.index:
            changes.append(("New", ident, "", cell(new, ident, STAGE)))
            continue
        s0, s1 = cell(old, ident, STAGE), cell(new, ident, STAGE)
        if s0 != s1:
            kind = "Won" if s1 == LAUNCHED else "Lost" if s1 == CLOSED_LOST else "Stage changed"
            changes.append((kind, ident, s0, s1))
        c0, c1 = cell(old, ident, CLOSE)[:10], cell(new, ident, CLOSE)[:10]
        if c0 != c1:
            kind = "Close date slipped" if (c0 and c1 and c1 > c0) or (c0 and not c1) else "Close date pulled in"
            changes.append((kind, ident, c0, c1))
        m0, m1 = a_old.get(ident, {}), a_new.get(ident, {})
        if {k: round(v, 2) for k, v in m0.items()} != {k: round(v, 2) for k, v in m1.items()}:
            changes.append(("Value changed", ident, _spend_text(m0), _spend_text(m1)))
        r0, r1 = cell(old, ident, REVIEW), cell(new, ident, REVIEW)
        if r0 != r1:
            changes.append(("Review status changed", ident, r0, r1))
    for ident in old.index.difference(new.index):
        changes.append(("No longer listed", ident, cell(old, ident, STAGE), ""))
    table = pd.DataFrame(changes, columns=["change", ID, "from", "to"])
    gone = old.loc[old.index.difference(new.index)]
    recs = _records(pd.concat([after, gone], ignore_index=True) if len(gone) else after, fx, to).drop_duplicates(ID)
    out = table.merge(recs, on=ID, how="left")
    rank = {k: i for i, k in enumerate(MOVES)}
    out = out.sort_values(["change", ID], key=lambda s: s.map(rank) if s.name == "change" else s, kind="stable")
    return out.reset_index(drop=True)


def to_act_on(
    df: pd.DataFrame,
    *,
    fx: Mapping[str, float] | None = None,
    to: str | None = None,
    today: date | None = None,
    stale_days: int = 30,
) -> pd.DataFrame:
    """Return one row per record needing action, with why: Action Required, overdue close date, stale next steps.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame.
    fx : mapping, optional
        Rates into ``to``, as for :func:`funnel`.
    to : str, optional
        The currency ``fx`` converts into.
    today : date, optional
        The day close dates are overdue after (default: today, UTC).
    stale_days : int, default 30
        How old the last next step may be.

    Returns
    -------
    DataFrame
        ``why``, then ``Id``, company, title, stage, review status, monthly AWS spend, currency,
        close date, owner, and AWS's review comments where the frame has them; overdue first.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LifeCycle.Stage": ["Qualified", "Launched"],
    ...                    "LifeCycle.TargetCloseDate": ["2026-01-15", "2026-01-15"]})
    >>> to_act_on(df, today=date(2026, 2, 1))[["why", "Id"]].to_dict("records")
    [{'why': 'close date passed', 'Id': 'O1'}]
    """
    _need(df, "to_act_on", ID)
    today = today or datetime.now(UTC).date()
    ids = _action_ids(df, today, stale_days)
    words = {"overdue": "close date passed", "review": "Action Required", "stale": f"no next step in {stale_days} days"}
    why = [", ".join(words[k] for k in ("overdue", "review", "stale") if ident in ids[k]) for ident in df[ID]]
    recs = _records(df, fx, to)
    recs.insert(0, "why", why)
    if COMMENTS in df.columns:
        recs[COMMENTS] = df[COMMENTS].to_numpy()
    recs = recs[recs["why"] != ""]
    first = recs["why"].str.startswith(words["overdue"]).map({True: 0, False: 1})
    recs = recs.assign(_k=first).sort_values(["_k", CLOSE, ID], kind="stable").drop(columns="_k")
    return recs.reset_index(drop=True)


# -- charts ---------------------------------------------------------------------------------------

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


def _open_stages() -> list[str]:
    return [s for s in _stages() if s not in CLOSED_STAGES]


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
    stages = [s for s in _stages() if s in set(f["stage"])]
    counts = f.groupby("stage", sort=False)["opportunities"].sum().reindex(stages)
    money = f[f["stage"].isin(_open_stages()) & (f["currency"] != NO_CURRENCY)]
    currencies = sorted(set(money["currency"]))
    fig, (left, right) = _figure(12, 0.9 + 0.45 * max(len(stages), 3), ncols=2)
    colours = [_GREY if s in CLOSED_STAGES else _BLUE for s in stages]
    left.barh(stages[::-1], counts.to_numpy()[::-1], color=colours[::-1])
    for y, v in enumerate(counts.to_numpy()[::-1]):
        left.text(v, y, f" {v:,}", va="center", fontsize=11)
    _integer_ticks(left.xaxis)
    left.set_xlabel("opportunities")
    left.set_title("Opportunities by stage")
    open_here = [s for s in _open_stages() if s in set(money["stage"])] or _open_stages()
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
    m = m[(m["currency"] != NO_CURRENCY) & m["stage"].isin(_open_stages())]
    currencies = [currency] if currency else sorted(set(m["currency"])) or [""]
    fig, axes = _figure(12, 3.6 * len(currencies), ncols=1) if len(currencies) == 1 else _stacked(len(currencies))
    months = sorted(set(m["month"]))
    for ax, cur in zip(axes, currencies, strict=True):
        pivot = m[m["currency"] == cur].pivot_table(
            index="month", columns="stage", values="expected_monthly_spend", aggfunc="sum", fill_value=0.0
        )
        pivot = pivot.reindex(index=months, columns=[s for s in _open_stages() if s in pivot.columns]).fillna(0.0)
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

#: Headers of the views' own columns; a field's column is headed by :func:`opptoolkit.schema.label_for`.
HEADERS = {
    "stage": "Stage",
    "currency": "Currency",
    "opportunities": "Opportunities",
    "expected_monthly_spend": "Monthly AWS spend",
    AMOUNT: "Monthly AWS spend",
    "month": "Target close month",
    "review_status": "Review status",
    "launched": "Launched",
    "closed_lost": "Closed Lost",
    "win_rate": "Win rate",
    "reason": "Reason lost",
    "share": "Share",
    "group": "Group",
    "issue": "Issue",
    "field": "Field",
    "detail": "What to fix",
    OWNER: "Owner",
    "why": "Why",
    "change": "Change",
    "from": "From",
    "to": "To",
    "figure": "Figure",
    "unit": "Unit",
    "value": "Now",
    "previous": "Before",
    "note": "Note",
    # Partner vs AWS (referrals.aws_vs_partner)
    "customer": "Customer",
    "aws_stage": "AWS stage",
    "stage_differs": "Stage differs",
    "engagement_score": "AWS engagement score",
    "next_best_actions": "AWS next best actions",
    "involvement": "AWS involvement",
    # Referrals (referrals.referrals_by_expiry, referral_decisions)
    "bucket": "Expires",
    "invitations": "Invitations",
    "expected_spend": "Expected monthly spend",
    "soonest": "Soonest expiry",
    "customers": "Customers",
    "when": "When",
    "decision": "Decision",
    "invitation": "Invitation",
    "OpportunityId": "Opportunity created",
    "RejectionReason": "Rejection reason",
}
_PERCENT = {"win_rate", "share"}
ROWS_SHOWN = 20
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1240px;padding:1.5em 2em;
color:#1f2328;line-height:1.4}
h1{margin:.2em 0}h2{margin-top:2em;border-bottom:1px solid #d8dee4;padding-bottom:.2em}h3{margin:1.4em 0 .4em}
.meta{color:#57606a}nav ol{columns:2;margin:.4em 0 0;padding-left:1.4em}nav a{color:#0a58ca}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px;margin:1em 0}
.card{border:1px solid #d8dee4;border-radius:8px;padding:10px 14px;background:#f8fafc}
.card .label{font-size:13px;color:#57606a}.card .value{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.card .delta{font-size:13px;color:#57606a}.chg{color:#1f2328;font-weight:600}
.tbl{display:flex;flex-direction:column;align-items:flex-start;margin:.6em 0;overflow-x:auto}.tbl details{order:2;margin-top:.3em}
.tbl details summary{cursor:pointer;color:#0a58ca}.tbl details:not([open]) ~ table tbody.more{display:none}
table{border-collapse:collapse;font-size:13px;min-width:50%;max-width:100%}th,td{border-bottom:1px solid #e5e8eb;padding:4px 8px;
text-align:left;vertical-align:top;max-width:320px}th{background:#f3f5f8;position:sticky;top:0}td.num,th.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}td.date{white-space:nowrap}td.long{min-width:13em}td.mid{min-width:7em}
img{width:100%;height:auto;display:block}.note{color:#57606a}.warn{color:#a33}
"""


def _header(column: Any) -> str:
    name = str(column)
    if name in HEADERS:
        return HEADERS[name]
    if "." in name or "[" in name:
        return label_for(name)
    try:
        get_schema().field_for(name)
    except KeyError:
        return name
    return label_for(name)


def _kind(name: str, s: pd.Series) -> str:
    if name in _PERCENT:
        return "percent"
    if name in {CLOSE, "month"} or (name in get_schema().fields and get_schema()[name].is_date):
        return "date"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date"
    if pd.api.types.is_bool_dtype(s):
        return "text"
    if pd.api.types.is_integer_dtype(s):
        return "count"
    if pd.api.types.is_float_dtype(s) or name == AMOUNT:
        return "money"
    return "text"


def _cell(v: Any, kind: str) -> str:
    if is_blank(v):
        return ""
    if isinstance(v, bool) or type(v).__name__ == "bool_":  # numpy's bool too: a reader reads yes / no
        return "yes" if v else "no"
    if kind == "percent" and isinstance(v, int | float):
        return f"{v:.1%}"
    if kind == "count" and isinstance(v, int | float):
        return f"{int(v):,}"
    if kind == "money" and isinstance(v, int | float):
        return f"{v:,.2f}"
    if kind == "date":
        return v.date().isoformat() if isinstance(v, datetime | pd.Timestamp) else str(v)[:10]
    return str(v)


def _table_html(df: pd.DataFrame, limit: int = ROWS_SHOWN) -> str:
    """Return an HTML table: human headers, numbers right-aligned; past ``limit`` rows, the rest behind "show all"."""
    kinds = [_kind(str(c), df[c]) for c in df.columns]
    num = {"count", "money", "percent"}
    head = "".join(
        f"<th class='num'>{html.escape(_header(c))}</th>" if k in num else f"<th>{html.escape(_header(c))}</th>"
        for c, k in zip(df.columns, kinds, strict=True)
    )
    field_col = [str(c) == "field" for c in df.columns]

    def row(values: tuple[Any, ...]) -> str:
        cells = []
        for v, k, is_field in zip(values, kinds, field_col, strict=True):
            text = label_for(str(v)) if is_field and not is_blank(v) else _cell(v, k)
            # a long text (a reviewer's comments, a row's reasons) gets room to read as lines, not a column of words
            wide = " class='long'" if len(text) > 60 else " class='mid'" if len(text) > 24 else ""
            cls = " class='num'" if k in num else " class='date'" if k == "date" else wide
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        return "<tr>" + "".join(cells) + "</tr>"

    rows = [row(r) for r in df.itertuples(index=False, name=None)]
    shown, rest = rows[:limit], rows[limit:]
    more = f"<tbody class='more'>{''.join(rest)}</tbody>" if rest else ""
    show_all = f"<details><summary>Show all {len(rows):,} rows</summary></details>" if rest else ""
    return (
        f"<div class='tbl'>{show_all}<table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(shown)}</tbody>{more}</table></div>"
    )


def _figure_text(value: float, unit: str) -> str:
    if pd.isna(value):
        return "–"
    if unit == "percent":
        return f"{value:.0%}"
    if unit == "count":
        return f"{int(value):,}"
    return f"{unit} {value:,.0f}"


def _delta_text(change: float, previous: float, unit: str, when: str) -> str:
    if pd.isna(previous):
        return ""
    if pd.isna(change) or abs(change) < 1e-9:
        return f"no change since {when}"
    sign = "+" if change > 0 else "−"
    size = f"{abs(change) * 100:.1f} pts" if unit == "percent" else _figure_text(abs(change), unit)
    return f"<span class='chg'>{sign}{html.escape(size)}</span> since {when} (was {html.escape(_figure_text(previous, unit))})"


def _cards(h: pd.DataFrame, when: str) -> str:
    cards = []
    for figure, unit, value, previous, change, note_text in h[
        ["figure", "unit", "value", "previous", "change", "note"]
    ].itertuples(index=False, name=None):
        label = figure if unit in ("count", "percent") else f"{figure} ({unit})"
        note = f"<div class='delta'>{html.escape(str(note_text))}</div>" if note_text else ""
        delta = _delta_text(float(change), float(previous), str(unit), when)
        cards.append(
            f"<div class='card'><div class='label'>{html.escape(str(label))}</div>"
            f"<div class='value'>{html.escape(_figure_text(float(value), str(unit)))}</div>"
            + (f"<div class='delta'>{delta}</div>" if delta else "")
            + note
            + "</div>"
        )
    return "<div class='cards'>" + "".join(cards) + "</div>"


def _by_stage(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    """Stages down, one money column per currency across; a last row totals the open stages."""
    f = funnel(df, fx=fx, to=to)
    counts = f.groupby("stage", sort=False)["opportunities"].sum()
    money = f[f["currency"] != NO_CURRENCY].pivot_table(
        index="stage", columns="currency", values="expected_monthly_spend", aggfunc="sum", fill_value=0.0
    )
    stages = [s for s in _stages() if s in counts.index]
    out = pd.DataFrame({"stage": stages, "opportunities": counts.reindex(stages).to_numpy().astype(int)})
    for cur in money.columns:
        out[f"Monthly AWS spend ({cur})"] = money[cur].reindex(stages).fillna(0.0).to_numpy()
    is_open = out["stage"].isin(_open_stages())
    if is_open.any():
        total: dict[str, Any] = {"stage": "Open pipeline (all open stages)"}
        total.update({c: out.loc[is_open, c].sum() for c in out.columns if c != "stage"})
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
        out["opportunities"] = out["opportunities"].astype(int)
    return out


def _by_month(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    m = by_close_month(df, fx=fx, to=to)
    m = m[m["stage"].isin(_open_stages())]
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
    recs = _records(df, fx, to).drop(columns=[AMOUNT, CURRENCY])
    return h.merge(recs, on=ID, how="left").reset_index(drop=True)


_REFERRALS, _DECISIONS = "Referrals by expiry", "Referral decisions"


def _period_start(since: pd.DataFrame | None, today: date) -> datetime:
    """Return when "this period" starts: the earlier snapshot's sync, else seven days before ``today``."""
    at = None if since is None else since.attrs.get("opptoolkit.snapshot")
    return at if isinstance(at, datetime) else datetime.combine(today - timedelta(days=7), time(), UTC)


def _views(
    df: pd.DataFrame,
    fx: Mapping[str, float] | None,
    to: str | None,
    since: pd.DataFrame | None,
    today: date,
    invitations: pd.DataFrame | None = None,
    ledger: str | Path | None = None,
) -> dict[str, pd.DataFrame | str]:
    views: dict[str, pd.DataFrame | str] = {}
    makers: dict[str, Callable[[], pd.DataFrame | str]] = {
        "Headline": lambda: headline(df, since=since, fx=fx, to=to, today=today),
        "What moved": lambda: (
            moved(since, df, fx=fx, to=to)
            if since is not None
            else "No earlier snapshot to compare with: sync the mirror again later (each sync is kept), "
            "or pass since= (e.g. read_mirror(folder, as_of='2026-11-25'))."
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
        from .referrals import aws_vs_partner

        makers["Partner vs AWS"] = lambda: aws_vs_partner(df)
    if invitations is not None or ledger is not None:
        from .referrals import referral_decisions, referrals_by_expiry

        # the expiry counts from now on the day of the report, from that day's start on another day
        now = datetime.now(UTC) if today == datetime.now(UTC).date() else datetime.combine(today, time(), UTC)
        makers[_REFERRALS] = lambda: (
            referrals_by_expiry(invitations, now=now)
            if invitations is not None
            else "Pass the invitations (invitations=read_invitations(...), --referrals triage.xlsx) to see them here."
        )
        makers[_DECISIONS] = lambda: (
            referral_decisions(ledger, since=_period_start(since, today), invitations=invitations).rename(
                columns={ID: "invitation"}
            )
            if ledger is not None
            else "Pass the ledger the decisions were pushed into (ledger=, --ledger) to list them here."
        )
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


def _chart(plot: Callable[[], Any], name: str) -> str:
    try:
        return f"<img alt='{html.escape(name)}' src='data:image/png;base64,{_png(plot())}'>"
    except (ReportError, ValueError, TypeError) as e:
        return f"<p class='warn'>{html.escape(name)}: {html.escape(str(e))}</p>"


def _section(view: pd.DataFrame | str, empty: str = "Nothing to show.") -> str:
    if isinstance(view, str):
        return f"<p class='note'>{html.escape(view)}</p>"
    if view.empty:
        return f"<p class='note'>{html.escape(empty)}</p>"
    return _table_html(view)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _html(
    df: pd.DataFrame,
    views: dict[str, pd.DataFrame | str],
    *,
    fx: Mapping[str, float] | None,
    to: str | None,
    since: pd.DataFrame | None,
    today: date,
    title: str,
) -> str:
    now_at = df.attrs.get("opptoolkit.snapshot")
    then_at = None if since is None else since.attrs.get("opptoolkit.snapshot")
    when = f"{then_at:%Y-%m-%d %H:%M} UTC" if isinstance(then_at, datetime) else "the earlier snapshot"
    short_when = "then"
    if isinstance(then_at, datetime):  # two syncs the same day are told apart by their time
        same_day = isinstance(now_at, datetime) and now_at.date() == then_at.date()
        short_when = f"{then_at:%Y-%m-%d %H:%M}" if same_day else f"{then_at:%Y-%m-%d}"
    kw: dict[str, Any] = {"fx": fx, "to": to}
    money_note = (
        f"Money in {to} at the rates given ({', '.join(f'{c} {r:g}' for c, r in sorted(fx.items()) if c != to)})."
        if fx
        else "Money per currency: pass FX rates (fx=, --fx) and a currency (to=, --currency) for one total."
    )
    no_spend = int((_is_open(df) & ~df[ID].isin(set(_money(df, fx, to)[ID]))).sum()) if ID in df.columns else 0
    sections: list[tuple[str, str]] = []
    h = views["Headline"]
    sections.append(("Headline figures", _cards(h, short_when) if isinstance(h, pd.DataFrame) else _section(h)))
    mv = views["What moved"]
    if isinstance(mv, pd.DataFrame):
        counts = mv["change"].value_counts()
        summary = ", ".join(f"{counts[k]:,} {k.lower()}" for k in MOVES if k in counts) or "nothing changed"
        body = f"<p>Since {html.escape(when)}: {html.escape(summary)}.</p>" + _section(mv, "Nothing moved.")
    else:
        body = _section(mv)
    sections.append((f"What moved since {short_when}" if then_at else "What moved", body))
    sections.append(
        (
            "Needs action",
            "<p class='note'>Open records whose target close date has passed, that AWS sent back as Action "
            "Required, or with no next step in 30 days.</p>" + _section(views["Needs action"], "Nothing needs action."),
        )
    )
    stage_note = f"<p class='note'>{html.escape(money_note)}"
    if no_spend:
        stage_note += f" {no_spend:,} open opportunities have no monthly AWS spend entry (counted, no value)."
    stage_note += " Launched and Closed Lost are counted but are not pipeline value.</p>"
    sections.append(
        (
            "Pipeline by stage",
            _chart(lambda: plot_funnel(df, **kw), "Pipeline by stage")
            + stage_note
            + _section(views["Pipeline by stage"]),
        )
    )
    sections.append(
        (
            "By target close month",
            _chart(lambda: plot_close_months(df, **kw), "By target close month")
            + "<p class='note'>Open stages only, every currency in its own panel.</p>"
            + _section(views["By close month"]),
        )
    )
    won = "".join(
        f"<h3>{html.escape(heading)}</h3>" + _section(views[name])
        for name, heading in (  # the lost reasons are the chart's
            ("Won and lost", "Overall"),
            ("Outcomes by industry", "By industry"),
            ("Outcomes by type", "By opportunity type"),
        )
    )
    sections.append(("Won and lost", _chart(lambda: plot_outcomes(df), "Why opportunities were lost") + won))
    sections.append(("Review status", _section(views["Review status"])))
    sections.append(
        (
            "Missing required fields",
            "<p class='note'>Fields the API requires that these records leave empty.</p>"
            + _section(views["Missing fields"], "No required field is missing."),
        )
    )
    if "Partner vs AWS" in views:  # the frame has AWS's view (aws_summary=True)
        note = "<p class='note'>AWS's view of each opportunity: where AWS's stage differs from ours first.</p>"
        sections.append(("Partner vs AWS", note + _section(views["Partner vs AWS"], "AWS has no view of these.")))
    if _REFERRALS in views:  # invitations= or ledger= given
        start = _period_start(since, today)
        sections.append(
            (
                "Referrals",
                "<p class='note'>Invitations AWS sent that nobody has answered yet, by how soon they expire "
                "(an expired one can no longer be accepted).</p>"
                + _section(views[_REFERRALS], "No open invitation.")
                + f"<h3>Accepted and rejected since {start:%Y-%m-%d %H:%M} UTC</h3>"
                + _section(views[_DECISIONS], "No referral was accepted or rejected in this period."),
            )
        )
    contents = "".join(f"<li><a href='#{_slug(n.split(' since ')[0])}'>{html.escape(n)}</a></li>" for n, _ in sections)
    as_of = f"{now_at:%Y-%m-%d %H:%M} UTC" if isinstance(now_at, datetime) else f"{today:%Y-%m-%d}"
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<meta name='viewport' content='width=device-width'><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{len(df):,} opportunities as of {as_of}"
        + (f", compared with {html.escape(when)}" if since is not None else "")
        + f". {html.escape(money_note)} Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by opptoolkit.</p>",
        f"<nav><strong>Contents</strong><ol>{contents}</ol></nav>",
    ]
    parts += [
        f"<section id='{_slug(n.split(' since ')[0])}'><h2>{html.escape(n)}</h2>{body}</section>"
        for n, body in sections
    ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _xlsx(views: dict[str, pd.DataFrame | str], path: Path) -> None:
    """One sheet per view: human headers in bold, frozen, columns sized, numbers and dates typed and formatted.

    Every text cell carries the formula guard of :func:`opptoolkit.write_sheet`, so no company name
    or comment is ever evaluated as a formula.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)  # type: ignore[arg-type]
    formats = {"count": "#,##0", "money": "#,##0.00", "percent": "0.0%", "date": "yyyy-mm-dd"}
    for name, view in views.items():
        ws = wb.create_sheet(name[:31])
        table = pd.DataFrame({"note": [view]}) if isinstance(view, str) else view
        kinds = [_kind(str(c), table[c]) for c in table.columns]
        headers = [guard_text(_header(c)) for c in table.columns]
        ws.append(headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        widths = [len(h) for h in headers]
        units = list(table["unit"]) if name == "Headline" and "unit" in table.columns else None
        for i, values in enumerate(table.itertuples(index=False, name=None)):
            out: list[Any] = []
            for j, (v, k) in enumerate(zip(values, kinds, strict=True)):
                if is_blank(v):
                    out.append(None)
                elif k == "date":
                    d = pd.to_datetime(v, errors="coerce", utc=True)
                    out.append(d.date() if not pd.isna(d) and str(table.columns[j]) != "month" else guard_text(str(v)))
                elif isinstance(v, str):
                    out.append(guard_text(label_for(v) if str(table.columns[j]) == "field" else v))
                elif isinstance(v, Decimal):
                    out.append(float(v))
                else:
                    out.append(v.item() if hasattr(v, "item") else v)
                widths[j] = max(widths[j], len(_cell(v, k)) if not isinstance(v, str) else len(v))
            ws.append(out)
            for j, k in enumerate(kinds):
                c = ws.cell(row=i + 2, column=j + 1)
                fmt = formats.get(k)
                if units is not None and str(table.columns[j]) in ("value", "previous", "change"):
                    fmt = (
                        formats["count"]
                        if units[i] == "count"
                        else formats["percent"]
                        if units[i] == "percent"
                        else formats["money"]
                    )
                if fmt and c.value is not None and not isinstance(c.value, str):
                    c.number_format = fmt
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(max(w + 2, 8), 60)
        ws.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


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
        soon they expire (:func:`opptoolkit.referrals.referrals_by_expiry`).
    ledger : str or Path, optional
        The ledger the triage decisions were pushed into: the section lists the referrals accepted and
        rejected since the ``since`` snapshot (else the last 7 days), from
        :func:`opptoolkit.referrals.referral_decisions`.

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
    views = _views(df, rates, to, since, today, invitations, ledger)
    if html_path is not None:
        page = _html(df, views, fx=rates, to=to, since=since, today=today, title=title)
        Path(html_path).parent.mkdir(parents=True, exist_ok=True)
        Path(html_path).write_text(page, encoding="utf-8")
    if xlsx is not None:
        _xlsx(views, Path(xlsx))
    return views
