"""The toolkit's own vocabulary for a row's outcome, kept apart from the API's error codes.

``Status`` is what a plan or a push did with a row (the ``action`` / ``status`` columns).
``Reason`` is why the toolkit itself settled a row without the service saying so (the ``reason``
column). The ``error_code`` column holds only what the service or botocore said: one of the
model's ``ValidationExceptionErrorCode`` values for a field problem, or an error's name
(``ConflictException``, ``ThrottlingException``, ...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from botocore.model import StringShape

from .schema import get_schema, in_labels, label_for, service_model

__all__ = [
    "OUTCOME_ORDER",
    "Reason",
    "Status",
    "counted",
    "first_outcome",
    "how_many",
    "in_words",
    "is_api_field_code",
    "joined",
    "said_line",
    "said_problems",
]


class Status(StrEnum):
    """What a plan or a push did with a row.

    Examples
    --------
    >>> Status.SUCCEEDED == "succeeded"
    True
    """

    UPDATE = "update"  # planned: the row will be sent
    CREATE = "create"  # planned: a row without an Id, sent with CreateOpportunity
    UNCHANGED = "unchanged"  # nothing to send
    INVALID = "invalid"  # refused before sending: ``errors`` say why
    NO_TOKEN = "no_token"  # no LastModifiedDate to send, and no base or server read to take it from
    NOT_EDITABLE = "not_editable"  # the ReviewStatus locks the edited fields
    CONFLICT = "conflict"  # the same field changed in the edit and on the server
    NOT_FOUND = "not_found"  # no such record (or not in the base)
    IN_FLIGHT = "in_flight"  # the ledger's intent, written before the call
    SUCCEEDED = "succeeded"
    CREATED = "created"  # CreateOpportunity succeeded: the row has its new Id
    UNKNOWN = "unknown"  # sent, outcome not known: the next run reads the record back
    FAILED = "failed"  # the service refused it
    DEFERRED = "deferred"  # not sent this run (interrupted, daily budget): run again
    SKIPPED = "skipped"  # already succeeded in an earlier run


class Reason(StrEnum):
    """Why the toolkit settled a row itself (the ``reason`` column; never in ``error_code``).

    Examples
    --------
    >>> Reason.DAILY_BUDGET.value
    'DAILY_BUDGET'
    """

    CONFLICT = "CONFLICT"  # changed on both sides since the base: found by the three-way merge
    NOT_IN_BASE = "NOT_IN_BASE"  # the row's Id is not in the base the plan was given
    DAILY_BUDGET = "DAILY_BUDGET"  # the rolling 24 h write quota is used up
    INTERRUPTED = "INTERRUPTED"  # Ctrl-C before this row was sent
    UNREACHABLE = "UNREACHABLE"  # the push stopped at a connection or credential error before this row
    RECONCILED = "RECONCILED"  # an earlier run left the call's outcome unknown: this run read it from the server


#: How a sentence says a status of a number of rows ("2 to update", "1 not editable"); the value elsewhere.
_WORDS: dict[str, str] = {
    Status.UPDATE: "to update",
    Status.CREATE: "to create",
    Status.NO_TOKEN: "without a last-modified date",
    Status.NOT_EDITABLE: "not editable",
    Status.NOT_FOUND: "not found",
    Status.IN_FLIGHT: "in flight",
    Status.UNKNOWN: "of unknown outcome",
    Status.SKIPPED: "already done earlier",
}

#: Problems first (what the analyst must act on), then what was done or is to be done, then what needs nothing:
#: the order of a results sheet, and of every count a sentence gives.
OUTCOME_ORDER = (
    Status.FAILED,
    Status.INVALID,
    Status.CONFLICT,
    Status.NOT_EDITABLE,
    Status.NOT_FOUND,
    Status.NO_TOKEN,
    Status.DEFERRED,
    Status.UNKNOWN,
    Status.IN_FLIGHT,
    Status.UPDATE,
    Status.CREATE,
    Status.SUCCEEDED,
    Status.CREATED,
    Status.SKIPPED,
    Status.UNCHANGED,
)


#: Each status's place in :data:`OUTCOME_ORDER`.
_RANK = {s.value: i for i, s in enumerate(OUTCOME_ORDER)}


def first_outcome(statuses: Iterable[str]) -> str:
    """Return the first of ``statuses`` in :data:`OUTCOME_ORDER` (a status it does not know first: it may need a look).

    What one row says of several outcomes (its own and its association calls'): a problem before what was done.

    Examples
    --------
    >>> first_outcome(["succeeded", "failed", "unchanged"])
    'failed'
    """
    return min(statuses, key=lambda s: _RANK.get(s, -1))


def in_words(status: str) -> str:
    """Return a status as a sentence says it of some rows.

    Examples
    --------
    >>> in_words("not_editable"), in_words("succeeded"), in_words("accepted")
    ('not editable', 'succeeded', 'accepted')
    """
    return _WORDS.get(status, status.replace("_", " "))


def counted(counts: Mapping[Any, int]) -> str:
    """Return counts of statuses as a sentence says them, problems first: ``"1 invalid, 2 to update and 3 unchanged"``.

    Examples
    --------
    >>> counted({"unchanged": 298, "update": 1, "invalid": 1})
    '1 invalid, 1 to update and 298 unchanged'
    >>> counted({}), counted({"succeeded": 1})
    ('nothing', '1 succeeded')
    """
    parts = [f"{n:,} {in_words(str(k))}" for k, n in sorted(counts.items(), key=lambda kv: _RANK.get(kv[0], -1)) if n]
    return joined(parts) or "nothing"


def joined(parts: Iterable[str]) -> str:
    """Return parts as a sentence lists them: ``"a, b and c"``; empty for none.

    Examples
    --------
    >>> joined(["1 update"]), joined(["1 update", "2 rows", "1 new opportunity"]), joined([])
    ('1 update', '1 update, 2 rows and 1 new opportunity', '')
    """
    said = list(parts)
    return ", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1 else "".join(said)


def how_many(n: int, one: str, many: str | None = None) -> str:
    """Return ``n`` with the noun that agrees with it: ``"1 opportunity"``, ``"1,200 opportunities"``.

    ``many`` is the plural where adding "s" (or "y" to "ies") does not make it.

    Examples
    --------
    >>> how_many(1, "opportunity"), how_many(1200, "opportunity"), how_many(0, "row")
    ('1 opportunity', '1,200 opportunities', '0 rows')
    >>> how_many(2, "row of association changes", "rows of association changes")
    '2 rows of association changes'
    """
    if many is None:
        many = one[:-1] + "ies" if one.endswith("y") and one[-2:-1] not in "aeiou" else one + "s"
    return f"{n:,} {one if n == 1 else many}"


@functools.cache
def _field_codes() -> frozenset[str]:
    shape = service_model().shape_for("ValidationExceptionErrorCode")
    assert isinstance(shape, StringShape), shape
    return frozenset(shape.enum)


def is_api_field_code(code: str) -> bool:
    """Whether ``code`` is one of the model's ``ValidationExceptionErrorCode`` values.

    Examples
    --------
    >>> is_api_field_code("INVALID_ENUM_VALUE"), is_api_field_code("CONFLICT")
    (True, False)
    """
    return code in _field_codes()


#: ``CODE: text``, how a problem's line goes on after its field: the code goes beside the text, as errors say it
_CODED = re.compile(r"(?P<code>[A-Z][A-Z_]+[A-Z]): (?P<text>.*)", re.S)


def said_line(line: str) -> str:
    """Return a line a plan wrote (``path: CODE: text``) in the sheet's words: the field by its label, the code last.

    Examples
    --------
    >>> said_line("LifeCycle.Stage: INVALID_ENUM_VALUE: 'Qualifed' is not allowed")
    "Stage: 'Qualifed' is not allowed (INVALID_ENUM_VALUE)"
    >>> said_line("LifeCycle.NextSteps: (blank) → 'Call'"), said_line("ReviewStatus is 'Submitted'")
    ("Next steps: (blank) → 'Call'", "review status is 'Submitted'")
    """
    head, sep, rest = line.partition(": ")
    if not sep:
        return in_labels(line)
    if get_schema().path_for_label(label_for(head)) == head:
        head = label_for(head)
    coded = _CODED.fullmatch(rest)
    said, code = (coded["text"], coded["code"]) if coded else (rest, None)
    return f"{head}: {in_labels(said)}" + (f" ({code})" if code else "")


def said_problems(row: Mapping[Any, Any]) -> list[str]:
    """Return a result row's problems as the sheet names them: the field by its label, the rule, the code beside it.

    From the parallel lists ``error_fields``, ``error_codes`` and ``error_texts`` of a plan or a result (never
    parsed out of a message); a row without them (an outcome of the whole row) says its code and message.

    Examples
    --------
    >>> said_problems({"error_fields": ["Project.Title"], "error_codes": ["REQUIRED_FIELD_MISSING"],
    ...                "error_texts": ["is required"]})
    ['Project title: is required (REQUIRED_FIELD_MISSING)']
    >>> said_problems({"error_fields": [], "error_code": None, "reason": "CONFLICT",
    ...                "error_message": "changed on both sides: Project.Title"})
    ['changed on both sides: project title (CONFLICT)']
    """

    def items(v: Any) -> list[str]:
        return [] if v is None or isinstance(v, (str, float)) else [str(x) for x in v]

    fields, codes, texts = (items(row.get(k)) for k in ("error_fields", "error_codes", "error_texts"))
    if fields and len(fields) == len(codes) == len(texts):
        return [
            f"{label_for(f)}: {in_labels(t)} ({c})" if f else f"{in_labels(t)} ({c})"
            for f, c, t in zip(fields, codes, texts, strict=True)
        ]
    code = next((str(row[k]) for k in ("error_code", "reason") if isinstance(row.get(k), str) and row[k]), "")
    message = row.get("error_message")
    said = said_line(message) if isinstance(message, str) and message else ""
    return [f"{said} ({code})" if said and code else said or code] if said or code else []
