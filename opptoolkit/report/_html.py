"""The report as one self-contained HTML page: human headers, cards, tables and charts."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from .._status import how_many
from .._values import is_blank
from ..exceptions import ReportError
from ..frame import snapshot_time
from ..schema import get_schema, label_for
from ._charts import plot_close_months, plot_funnel, plot_outcomes
from ._views import AMOUNT, CLOSE, DECISIONS, ID, MOVES, OWNER, REFERRALS, SHARING, money_rows, open_mask, period_start

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
    # Partner vs AWS (report.aws_vs_partner)
    "customer": "Customer",
    "aws_stage": "AWS stage",
    "stage_differs": "Stage differs",
    "engagement_score": "AWS engagement score",
    "next_best_actions": "AWS next best actions",
    "involvement": "AWS involvement",
    # Referrals (referrals.referrals_by_expiry, referral_decisions)
    "bucket": "Expires",
    "invitations": "Invitations",
    "leads": "Of them leads",
    "expected_spend": "Expected monthly spend",
    "soonest": "Soonest expiry",
    "customers": "Customers",
    "when": "When",
    "decision": "Decision",
    "kind": "Referral or lead",
    "invitation": "Invitation",
    "OpportunityId": "Opportunity created",
    "RejectionReason": "Rejection reason",
    # Is AWS seeing your updates? (report.not_seen_by_aws)
    "aws_saw": "AWS last got a change",
    "todo": "What to do",
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


def header(column: Any) -> str:
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


def kind_of(name: str, s: pd.Series) -> str:
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


def cell_text(v: Any, kind: str) -> str:
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
    kinds = [kind_of(str(c), df[c]) for c in df.columns]
    num = {"count", "money", "percent"}
    head = "".join(
        f"<th class='num'>{html.escape(header(c))}</th>" if k in num else f"<th>{html.escape(header(c))}</th>"
        for c, k in zip(df.columns, kinds, strict=True)
    )
    field_col = [str(c) == "field" for c in df.columns]

    def row(values: tuple[Any, ...]) -> str:
        cells = []
        for v, k, is_field in zip(values, kinds, field_col, strict=True):
            text = label_for(str(v)) if is_field and not is_blank(v) else cell_text(v, k)
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


def _sharing_section(view: pd.DataFrame | str) -> str:
    """Return the section of the shared opportunities AWS is not seeing: how many, then the table."""
    if isinstance(view, str) or view.empty:
        return (
            "<p class='note'>Opportunities you share with AWS through an engagement: AWS sees the latest change of "
            "every one.</p>"
            if not isinstance(view, str)
            else _section(view)
        )
    n = view[ID].nunique()
    lead = (
        f"<p>AWS does not see the latest change of {n:,} shared {'opportunity' if n == 1 else 'opportunities'}. "
        "Each row says why and what to do; until then AWS works from what it saw last.</p>"
    )
    return lead + _section(view)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def render_html(
    df: pd.DataFrame,
    views: dict[str, pd.DataFrame | str],
    *,
    fx: Mapping[str, float] | None,
    to: str | None,
    since: pd.DataFrame | None,
    today: date,
    title: str,
) -> str:
    now_at = snapshot_time(df)
    then_at = None if since is None else snapshot_time(since)
    when = f"{then_at:%Y-%m-%d %H:%M} UTC" if then_at is not None else "the earlier snapshot"
    short_when = "then"
    if then_at is not None:  # two syncs the same day are told apart by their time
        same_day = now_at is not None and now_at.date() == then_at.date()
        short_when = f"{then_at:%Y-%m-%d %H:%M}" if same_day else f"{then_at:%Y-%m-%d}"
    kw: dict[str, Any] = {"fx": fx, "to": to}
    money_note = (
        f"Money in {to} at the rates given ({', '.join(f'{c} {r:g}' for c, r in sorted(fx.items()) if c != to)})."
        if fx
        else "Money is shown per currency, never added across currencies; given exchange rates, the report shows "
        "one total in one currency."
    )
    no_spend = int((open_mask(df) & ~df[ID].isin(set(money_rows(df, fx, to)[ID]))).sum()) if ID in df.columns else 0
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
    if REFERRALS in views:  # invitations= or ledger= given
        start = period_start(since, today)
        sections.append(
            (
                "Referrals",
                "<p class='note'>Invitations AWS sent that nobody has answered yet, by how soon they expire "
                "(an expired one can no longer be accepted).</p>"
                + _section(views[REFERRALS], "No open invitation.")
                + f"<h3>Accepted and rejected since {start:%Y-%m-%d %H:%M} UTC</h3>"
                + _section(views[DECISIONS], "No referral was accepted or rejected in this period."),
            )
        )
    if SHARING in views:  # snapshots= given
        sections.append(("Is AWS seeing your updates?", _sharing_section(views[SHARING])))
    contents = "".join(f"<li><a href='#{_slug(n.split(' since ')[0])}'>{html.escape(n)}</a></li>" for n, _ in sections)
    as_of = f"{now_at:%Y-%m-%d %H:%M} UTC" if isinstance(now_at, datetime) else f"{today:%Y-%m-%d}"
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<meta name='viewport' content='width=device-width'><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='meta'>{how_many(len(df), 'opportunity')} as of {as_of}"
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
