"""Report view of "is AWS seeing my updates?": the shared opportunities whose latest change AWS does not see.

Pure pandas over the frame :func:`opptoolkit.engagements.snapshot_health` returns, in the analyst's words: each
reason by what it means and what to do, never the API's names (a person reading the report asks an administrator,
who has ``opptoolkit snapshots`` and the API's words).
"""

from __future__ import annotations

import pandas as pd

from .. import fields as P
from .._values import is_blank
from ..engagements import FAILING, NO_JOB, NO_ROLE, STOPPED, WAITING
from ._views import ID, need_columns

__all__ = ["not_seen_by_aws"]

#: Each reason snapshot_health gives, as the report says it: what is wrong, and what to do. The sharing is what the
#: multi-partner page calls the snapshot job's: "Without the role, engagement partners won't see your updates".
REASONS = {
    NO_ROLE: (
        "No role lets your changes be shared",
        "Ask your Partner Central administrator to set the role that shares opportunity changes with AWS (the "
        "selling-system settings); until then AWS sees none of your changes.",
    ),
    NO_JOB: (
        "Its changes are not shared",
        "AWS sees it as it was when it was shared: ask your administrator to start sharing its changes.",
    ),
    STOPPED: (
        "Sharing is stopped",
        "The sharing of its changes was stopped: ask your administrator to start it again.",
    ),
    FAILING: (
        "Sharing fails",
        "The sharing of its changes fails: ask your administrator to fix it (AWS said: {failure}).",
    ),
    WAITING: (
        "Waiting for the next share",
        "Nothing: AWS sees the change once it is next shared.",
    ),
}


def not_seen_by_aws(health: pd.DataFrame, df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the opportunities whose latest change AWS does not see, one row each, with what to do.

    Parameters
    ----------
    health : DataFrame
        From :func:`opptoolkit.engagements.snapshot_health` (one row per opportunity and engagement).
    df : DataFrame, optional
        The pipeline: each opportunity's customer and title come from it.

    Returns
    -------
    DataFrame
        ``Id``, ``customer``, ``Project.Title``, ``issue`` (what is wrong, in words), ``aws_saw`` (when AWS last
        got a change: blank when never), ``LastModifiedDate`` (the opportunity's last change) and ``todo``;
        the worst reason first. An opportunity shared in two engagements is listed once, by its worst.

    Examples
    --------
    >>> import pandas as pd
    >>> health = pd.DataFrame({"Id": ["O1", "O2"], "aws_sees_latest": [False, True],
    ...                        "problem": ["stopped", ""], "LastFailure": [None, None],
    ...                        "LastSuccessfulExecutionDate": pd.to_datetime(["2026-11-20", "2026-11-26"], utc=True),
    ...                        "LastModifiedDate": pd.to_datetime(["2026-11-25", "2026-11-25"], utc=True)})
    >>> not_seen_by_aws(health)[["Id", "issue"]].values.tolist()
    [['O1', 'Sharing is stopped']]
    """
    need_columns(
        health, "opportunities AWS is not seeing", ID, "aws_sees_latest", "problem", "LastModifiedDate",
        "LastSuccessfulExecutionDate",
    )  # fmt: skip
    order = {p: i for i, p in enumerate(REASONS)}
    unseen = health[~health["aws_sees_latest"].astype(bool)].copy()
    unseen["_order"] = unseen["problem"].map(order).fillna(len(order))
    unseen = unseen.sort_values(["_order", ID], kind="stable").drop_duplicates(ID).reset_index(drop=True)
    named: dict[str, dict[str, object]] = {}
    if df is not None and ID in df.columns:
        for column, name in ((P.COMPANY, "customer"), (P.TITLE, P.TITLE)):
            if column in df.columns:
                named[name] = dict(zip(df[ID].astype(str), df[column], strict=True))

    def todo(problem: str, failure: object) -> str:
        text = REASONS.get(problem, ("", ""))[1]
        return text.format(failure="no reason given" if is_blank(failure) else str(failure).rstrip("."))

    failures = unseen["LastFailure"] if "LastFailure" in unseen.columns else pd.Series(None, index=unseen.index)
    ids = unseen[ID].astype(str)
    return pd.DataFrame(
        {
            ID: ids,
            "customer": [named.get("customer", {}).get(i) for i in ids],
            P.TITLE: [named.get(P.TITLE, {}).get(i) for i in ids],
            "issue": [REASONS.get(p, (str(p), ""))[0] for p in unseen["problem"]],
            "aws_saw": pd.to_datetime(unseen["LastSuccessfulExecutionDate"], utc=True),
            "LastModifiedDate": pd.to_datetime(unseen["LastModifiedDate"], utc=True),
            "todo": [todo(p, f) for p, f in zip(unseen["problem"], failures, strict=True)],
        }
    )
