"""The sandbox's errors: what the service answers when it refuses a request.

Its own module, below every operation mixin, so that each of them can raise one without importing the
service that mixes them in.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

__all__ = ["ServiceError", "request_digest", "validation_error"]


class ServiceError(Exception):
    """An error the service answers with: a modeled exception name, HTTP status and members."""

    STATUS: ClassVar[dict[str, int]] = {
        "ValidationException": 400,
        "AccessDeniedException": 403,
        "ResourceNotFoundException": 404,
        "ConflictException": 409,
        "ServiceQuotaExceededException": 402,
        "ThrottlingException": 429,
        "InternalServerException": 500,
    }

    def __init__(self, code: str, message: str, **members: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.members = members
        self.status = self.STATUS.get(code, 400)


def validation_error(problems: list[Any], reason: str) -> ServiceError:
    # model: ValidationException {Message, Reason, ErrorList[{FieldName, Message, Code}]}
    return ServiceError(
        "ValidationException",
        f"{len(problems)} field(s) failed validation: " + "; ".join(str(p) for p in problems[:5]),
        Reason=reason,
        ErrorList=[{"FieldName": p.field, "Message": p.message, "Code": p.code} for p in problems],
    )


def request_digest(params: dict[str, Any]) -> str:
    """Return a digest of a request without its ClientToken: what a repeated token is compared by."""
    body = {k: v for k, v in params.items() if k != "ClientToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
