"""Exceptions raised by opptoolkit (one module, one line each, as awswrangler does)."""

from __future__ import annotations

from dataclasses import dataclass

from ._status import is_api_field_code

__all__ = ["OpptoolkitError", "Precondition", "Problem", "ReportError", "ServiceUnreachable", "SheetError"]


@dataclass(frozen=True)
class Problem:
    """One problem with the input, in the API's error vocabulary.

    ``row`` is the spreadsheet row number (header = 1) or the frame's row label; ``field`` the
    column or field path; ``code`` one of the API's ``ValidationExceptionErrorCode`` values where
    one fits (``INVALID_VALUE``, ``REQUIRED_FIELD_MISSING``, ...); ``message`` never holds a
    customer's data.
    """

    row: object
    field: str
    code: str
    message: str

    def __post_init__(self) -> None:
        if not is_api_field_code(self.code):
            raise ValueError(f"{self.code!r} is not one of the API's ValidationExceptionErrorCode values")

    def __str__(self) -> str:
        where = f"row {self.row}, " if self.row is not None else ""
        return f"{where}{self.field}: {self.code}: {self.message}"


class OpptoolkitError(Exception):
    """Base class of opptoolkit's errors."""


class SheetError(OpptoolkitError):
    """A spreadsheet could not be read or written; ``problems`` lists every cell at fault."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        self.problems = problems or []
        shown = "\n".join(f"  - {p}" for p in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{message}\n{shown}{more}" if shown else message)


class Precondition(OpptoolkitError):
    """An S3 conditional write lost: the object was there (If-None-Match) or had changed (If-Match)."""


class ReportError(OpptoolkitError):
    """A report view cannot be computed from this frame (a column it needs is missing, an FX rate).

    ``columns`` names the missing columns, when that is why.
    """

    def __init__(self, message: str, columns: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.columns = columns


class ServiceUnreachable(OpptoolkitError):
    """The service cannot be reached, or not signed for: every further call would fail the same way.

    Connection refused or timed out, no or bad credentials, unknown profile: so the run stops at the first
    one. ``result`` holds the rows recorded before the stop, if any.
    """

    def __init__(self, message: str, result: object = None) -> None:
        self.result = result
        super().__init__(message)
