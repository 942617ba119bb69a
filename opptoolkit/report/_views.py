"""The weekly pipeline views: pure pandas over a flattened frame, no file and no chart.

Money is never summed across currencies unless FX rates are given, and the two kinds of spend entry
are never added together (see :mod:`opptoolkit.report`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from .. import fields as P
from .._values import is_blank
from ..exceptions import ReportError
from ..frame import snapshot_time, to_payloads
from ..rules import ACTION_REQUIRED, CLOSED_LOST, CLOSED_STAGES, LAUNCHED, SELF, TARGET_COMPANY, validate_payload
from ..schema import get_schema, split_column

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


def need_columns(df: pd.DataFrame, view: str, *cols: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ReportError(
            f"{view} needs the columns {missing}; this frame has {len(df.columns)} others", tuple(missing)
        )


def model_stages() -> tuple[str, ...]:
    return get_schema()[STAGE].enum


def open_stages() -> list[str]:
    """Return the model's stages that are not closed (Launched and Closed Lost are outcomes, not pipeline)."""
    return [s for s in model_stages() if s not in CLOSED_STAGES]


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
    need_columns(df, "spend_amounts", ID)
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
    need_columns(df, "funnel", ID, STAGE)
    merged = _with_spend(df, [STAGE], fx, to)
    merged[STAGE] = pd.Categorical(merged[STAGE], categories=model_stages(), ordered=True)
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
    need_columns(df, "by_close_month", ID, STAGE, CLOSE)
    work = df[df[CLOSE].notna() & (df[CLOSE].astype(str) != "")].copy()
    work["month"] = work[CLOSE].astype(str).str.slice(0, 7)
    merged = _with_spend(work, ["month", STAGE], fx, to)
    merged[STAGE] = pd.Categorical(merged[STAGE], categories=model_stages(), ordered=True)
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
    need_columns(df, "review_status", REVIEW)
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
    need_columns(df, "needs_action", ID, REVIEW)
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
    need_columns(df, "hygiene", ID)
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
    need_columns(df, "outcomes", ID, STAGE)
    done = df[df[STAGE].isin(CLOSED_STAGES)]
    if by == "reason":
        need_columns(df, "outcomes by reason", LOST_REASON)
        lost = done[done[STAGE] == CLOSED_LOST]
        counts = lost[LOST_REASON].fillna("(no reason)").value_counts()
        return pd.DataFrame(
            {"reason": counts.index, "closed_lost": counts.to_numpy(), "share": (counts / max(len(lost), 1)).to_numpy()}
        )
    key = by or "group"
    if by is not None:
        need_columns(df, f"outcomes by {by}", by)
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
        code = str(currency).strip().upper()
        try:
            value = float(rate)
        except (TypeError, ValueError):
            if out or code.lower() not in {"currency", "code"}:  # a header line
                raise ReportError(f"FX rate for {code!r} is not a number: write it as e.g. {code}=1.08") from None
            continue
        if not (math.isfinite(value) and value > 0):  # a rate of 0, below 0 or infinite converts nothing sensibly
            raise ReportError(f"FX rate for {code!r} is not a number above 0: write it as e.g. {code}=1.08")
        out[code] = value
    return out


def money_rows(
    df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None, target: str = TARGET_COMPANY
) -> pd.DataFrame:
    """Per opportunity and currency: the spend as float (one row per Id and currency)."""
    if ID not in df.columns or not len(df):
        return pd.DataFrame({ID: pd.Series(dtype=object), "currency": pd.Series(dtype=object), "amount": []})
    per = _spend_by_opportunity(df, fx, to, target=target)
    return per.assign(amount=[float(a) for a in per["amount"]])


def open_mask(df: pd.DataFrame) -> pd.Series:
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


def opportunity_rows(df: pd.DataFrame, fx: Mapping[str, float] | None, to: str | None) -> pd.DataFrame:
    """One row per opportunity: what a person needs to recognise it and act on it.

    ``Id``, company, title, stage, review status, monthly AWS spend and its currency (two currencies
    on one record: one line each, joined), target close date, owner.
    """
    money = money_rows(df, fx, to)
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
    is_open = open_mask(df)
    open_ids = df.loc[is_open, ID]
    aws, own = money_rows(df, fx, to), money_rows(df, fx, to, target=SELF)
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
    is_open = open_mask(df)
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
    t1, t0 = snapshot_time(now), snapshot_time(then)
    if t1 is not None and t0 is not None:
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
    need_columns(df, "headline", ID)
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
    need_columns(before, "moved (before)", ID)
    need_columns(after, "moved (after)", ID)
    old = before.drop_duplicates(ID).set_index(ID, drop=False)
    new = after.drop_duplicates(ID).set_index(ID, drop=False)
    spend_old, spend_new = money_rows(before, fx, to), money_rows(after, fx, to)

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
    recs = opportunity_rows(
        pd.concat([after, gone], ignore_index=True) if len(gone) else after, fx, to
    ).drop_duplicates(ID)
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
    need_columns(df, "to_act_on", ID)
    today = today or datetime.now(UTC).date()
    ids = _action_ids(df, today, stale_days)
    words = {"overdue": "close date passed", "review": "Action Required", "stale": f"no next step in {stale_days} days"}
    why = [", ".join(words[k] for k in ("overdue", "review", "stale") if ident in ids[k]) for ident in df[ID]]
    recs = opportunity_rows(df, fx, to)
    recs.insert(0, "why", pd.Series(why, index=recs.index, dtype="str"))  # text even with no row
    if COMMENTS in df.columns:
        recs[COMMENTS] = df[COMMENTS].to_numpy()
    recs = recs[recs["why"] != ""]
    first = recs["why"].str.startswith(words["overdue"]).map({True: 0, False: 1})
    recs = recs.assign(_k=first).sort_values(["_k", CLOSE, ID], kind="stable").drop(columns="_k")
    return recs.reset_index(drop=True)


REFERRALS, DECISIONS = "Referrals by expiry", "Referral decisions"
#: The view of the shared opportunities AWS is not seeing (report._sharing), by its name among the views.
SHARING = "Not seen by AWS"


def period_start(since: pd.DataFrame | None, today: date) -> datetime:
    """Return when "this period" starts: the earlier snapshot's sync, else seven days before ``today``."""
    at = None if since is None else snapshot_time(since)
    return at if at is not None else datetime.combine(today - timedelta(days=7), time(), UTC)
