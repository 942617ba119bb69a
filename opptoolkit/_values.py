"""The value policy: what a cell holds in the API's terms, in one place.

Every module that reads, compares, shows or sends a value asks this one:

* **blank** -- :func:`is_blank`: None, NaN, NaT, ``pd.NA``, ``""``, an empty list, tuple, dict or
  array. Blank means null, as the API treats an omitted member (the model's documentation of
  UpdateOpportunity, https://docs.aws.amazon.com/partner-central/latest/APIReference/API_UpdateOpportunity.html:
  "If any field is omitted, the API assumes that the field is set to null").
  A frame cell (NaN from pandas) and a payload member (``{}`` left by pruning) follow the same rule.
* **UTC** -- :func:`to_utc`, :func:`to_utc_datetime`: a naive time is read as UTC, an aware one
  converted; the frame, sheets and payloads hold UTC only.
* **a typed value** -- :func:`normalise`: a cell as the API would hold it (numbers a spreadsheet
  made of text back to text, enum spellings fixed), so an edit is compared, not its typing.
* **enum spelling** -- :func:`enum_value`, :func:`spelling_key`; **a near miss** --
  :func:`closest`, :func:`did_you_mean`.
* **display** -- :func:`display`: a value as a plan or a form shows it.

It stands on the schema alone (a value is read per :class:`~opptoolkit.schema.Field`), so every module above
the schema may use it.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, overload

import pandas as pd

from .schema import Field

_SPELLING = re.compile(r"[\s\-\u2010-\u2015_/]+")
_BLANK_CONTAINERS = (str, list, tuple, dict)

# What a blank cell in an edit means: keep the server's value, or clear it.
Blank = Literal["keep", "clear"]


def is_blank(v: Any) -> bool:
    """Whether ``v`` is no value: None, NaN/NaT/``pd.NA``, ``""``, or an empty list, tuple, dict or array.

    >>> [is_blank(v) for v in (None, float("nan"), pd.NaT, "", [], {}, (), " ", 0, ["x"])]
    [True, True, True, True, True, True, True, False, False, False]
    """
    if v is None:
        return True
    t = type(v)
    if t is str or t is list:  # the usual cells first, without isinstance
        return not v
    if t is float:
        return math.isnan(v)
    if isinstance(v, _BLANK_CONTAINERS):
        return not v
    if isinstance(v, float):  # numpy's float64
        return math.isnan(v)
    if hasattr(v, "__len__") and hasattr(v, "dtype"):  # numpy array (lists read from Parquet)
        return len(v) == 0
    return v is pd.NaT or v is pd.NA


# -- UTC ------------------------------------------------------------------------------------------


@overload
def to_utc(value: pd.DatetimeIndex) -> pd.DatetimeIndex: ...
@overload
def to_utc(value: Any) -> pd.Timestamp: ...
def to_utc(value: Any) -> Any:
    """Return a time (datetime, date, ISO text, Timestamp or DatetimeIndex) in UTC; naive means UTC.

    A text is read as pandas reads it (ISO 8601, or ``Jan 31 2025``), but never as a time nobody typed:
    pandas reads ``now`` and ``today`` as the current time and ``NaT``/``nan`` as no time, and wraps a
    year beyond its range into another one. Each of those is a ValueError (:data:`NOT_AN_INSTANT`, never
    the text itself: a cell may hold a customer's words), as is anything pandas cannot read.

    >>> to_utc("2025-01-31T10:30:00+01:00").isoformat(), to_utc("2025-01-31").isoformat()
    ('2025-01-31T09:30:00+00:00', '2025-01-31T00:00:00+00:00')
    >>> to_utc("now")
    Traceback (most recent call last):
    ...
    ValueError: not a date-time: write it in ISO 8601, e.g. 2025-01-31T09:30:00+00:00
    """
    if isinstance(value, str):
        return _instant(value)
    ts = value if isinstance(value, (pd.DatetimeIndex, pd.Timestamp)) else pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


#: What a timestamp cell that holds no time is told (the rule, never the cell).
NOT_AN_INSTANT = "not a date-time: write it in ISO 8601, e.g. 2025-01-31T09:30:00+00:00"
#: Texts pandas reads as a time (the current one, or none) that no one typed as one.
NOT_TIMES = frozenset({"now", "today", "nat", "nan"})
#: The instants a timestamp may hold: pandas' nanosecond range (1677-09-21 to 2262-04-11), in UTC.
INSTANTS = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))


def _instant(text: str) -> pd.Timestamp:
    """Return a text as a UTC Timestamp within pandas' range; ValueError (:data:`NOT_AN_INSTANT`) else."""
    if text.strip().casefold() in NOT_TIMES:
        raise ValueError(NOT_AN_INSTANT)
    try:
        ts = pd.Timestamp(text)
        ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    except (ValueError, OverflowError):  # pandas' DateParseError and OutOfBoundsDatetime are ValueErrors
        raise ValueError(NOT_AN_INSTANT) from None
    # beyond pandas' nanosecond range a later conversion may wrap it silently (0001-01-01T00:00+14:00 read
    # as a day of 1972); no record of the service is from then
    if not INSTANTS[0] <= ts <= INSTANTS[1]:
        raise ValueError(NOT_AN_INSTANT)
    return ts


def to_utc_datetime(value: Any) -> datetime:
    """:func:`to_utc` as a ``datetime`` (what botocore sends); a ``datetime`` takes no detour."""
    if isinstance(value, datetime) and not isinstance(value, pd.Timestamp):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    out: datetime = to_utc(value).to_pydatetime()
    return out


# -- typed values ---------------------------------------------------------------------------------


def number_text(v: float) -> str:
    """Return a number a spreadsheet typed, as the text it shows: ``5.0`` -> ``"5"``, ``0.1`` -> ``"0.1"``.

    >>> number_text(5.0), number_text(12), number_text(0.1)
    ('5', '12', '0.1')
    """
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, float) else str(v)


def spelling_key(text: str) -> str:
    """``text`` without case, spacing and dash style.

    The docs' 'Cosell—Deal Support' and the model's 'Co-Sell - Deal Support' share a key.
    """
    return _SPELLING.sub("", text).casefold()


def enum_value(value: str, f: Field) -> str:
    """Return the enum member ``value`` unambiguously means, else ``value`` unchanged.

    Validation then reports an unchanged value, with a "did you mean".
    """
    if value in f.enum:
        return value
    key = spelling_key(value)
    matches = [e for e in f.enum if spelling_key(e) == key]
    return matches[0] if len(matches) == 1 else value


def normalise(value: Any, f: Field) -> Any:
    """Return a cell as the API would hold it.

    Blank -> None, lists as tuples, typed numbers as text, enum spellings fixed, timestamps as UTC Timestamps.
    """
    if f.is_list:
        if value is None or (not isinstance(value, (list, tuple)) and not hasattr(value, "__len__")) or is_blank(value):
            return None
        if isinstance(value, str):
            value = [value]
        items = [_scalar(x, f) for x in list(value)]
        items = [x for x in items if x is not None]
        return tuple(items) or None
    return _scalar(value, f)


def _scalar(value: Any, f: Field) -> Any:
    """One value of ``f`` (an item, for a list) as the API would hold it."""
    if is_blank(value):
        return None
    if f.type == "timestamp":
        return to_utc(value)
    if isinstance(value, bool):
        value = "TRUE" if value else "FALSE"
    elif isinstance(value, (int, float)):
        value = number_text(value)
    value = str(value)
    if f.enum:
        value = enum_value(value.strip(), f)
    return value


#: How alike (difflib's ratio, case aside) a choice must be to be offered as "did you mean": a
#: typo (``Qualifed`` -> ``Qualified``: 0.94, ``Yess`` -> ``Yes``: 0.86) is; two words that share
#: a few letters (``Banking`` -> ``Mining``: 0.62, difflib's own default cutoff is 0.6) are not.
CLOSE = 0.75


def closest(value: str, choices: Iterable[str]) -> str | None:
    """Return the choice nearest ``value`` when it is close (:data:`CLOSE`, case aside), or None.

    >>> closest("Qualifed", ["Prospect", "Qualified"]), closest("Banking", ["Mining", "Retail"])
    ('Qualified', None)
    """
    by_key: dict[str, str] = {}
    for c in choices:
        by_key.setdefault(c.casefold(), c)
    hint = difflib.get_close_matches(value.casefold(), list(by_key), n=1, cutoff=CLOSE)
    return by_key[hint[0]] if hint else None


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the choice nearest ``value``, or ``""``.

    >>> did_you_mean("Qualifed", ["Prospect", "Qualified"])
    "did you mean 'Qualified'?"
    """
    hint = closest(value, choices)
    return f"did you mean {hint!r}?" if hint is not None else ""


def display(v: Any) -> str:
    """Return a normalised value as a plan or a form shows it: ``(blank)``, a list in brackets, a time in ISO 8601.

    >>> display(None), display(("a", "b")), display("x")
    ('(blank)', "['a', 'b']", "'x'")
    """
    if v is None:
        return "(blank)"
    if isinstance(v, tuple):
        return "[" + ", ".join(repr(x) for x in v) + "]"
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return repr(v)
