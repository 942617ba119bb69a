"""botocore's errors in the toolkit's terms: whether any further call can succeed, and what one said.

Every module that calls the service turns errors into words here, so a person reads one vocabulary
whichever command failed.
"""

from __future__ import annotations

from typing import Any

from botocore import exceptions as bex

from .exceptions import ServiceUnreachable
from .schema import get_schema

__all__ = ["WITHHELD", "code_and_message", "error_items", "never_sent", "unreachable"]

#: What an error's text says in place of the service's own message about a field the model marks sensitive (or
#: does not know): the service may quote the value it refused, and a value of such a field is customer data.
WITHHELD = "(the service's message is not kept: it may quote the customer's value)"

# No request reached the service: botocore's ConnectionError (EndpointConnectionError,
# ConnectTimeoutError, ProxyConnectionError, SSLError) is raised while connecting.
_NOT_CONNECTED = (bex.ConnectionError,)
# The request may have gone out: the connection broke or the answer did not come in time
# (ConnectionClosedError, ReadTimeoutError).
_NO_ANSWER = (bex.HTTPClientError,)
_NO_CREDENTIALS = (
    bex.NoCredentialsError,
    bex.PartialCredentialsError,
    bex.ProfileNotFound,
    bex.CredentialRetrievalError,
    bex.TokenRetrievalError,
    bex.SSOError,
    bex.NoAuthTokenError,
    bex.NoRegionError,
)
# Errors common to all AWS services for a request that could not be authenticated, the same for
# every call (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html,
# https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html), plus the names JSON-protocol
# services give an unknown access key and a bad signature (UnrecognizedClientException, InvalidSignatureException).
_AUTH_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignature",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "MissingAuthenticationToken",
    }
)


def never_sent(err: BaseException | None) -> bool:
    """Return True when ``err`` means the request never left: the connection could not be opened."""
    return isinstance(err, _NOT_CONNECTED)


def unreachable(err: BaseException, *, unanswered: bool = False) -> ServiceUnreachable | None:
    """Return ``err`` as a one-line :class:`ServiceUnreachable` saying what to do, or None.

    That is when every further call would fail the same way (no connection, no usable or accepted
    credentials); None for an error of this one request.

    Parameters
    ----------
    err : BaseException
        What a call raised.
    unanswered : bool
        Count a request that got no answer (the connection broke, or the answer timed out after
        botocore's retries) as such an error too. A push stops there, since a write sent may have
        been applied; a pull records that one read as failed and goes on.

    Examples
    --------
    >>> from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
    >>> str(unreachable(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")))[:28]
    'cannot reach Partner Central'
    >>> unreachable(ReadTimeoutError(endpoint_url="http://x")) is None
    True
    """
    if isinstance(err, ServiceUnreachable):
        return err
    name = type(err).__name__
    if isinstance(err, _NOT_CONNECTED):
        why = (
            f"cannot reach Partner Central ({name}: {err}): check the endpoint URL (--endpoint-url), the network"
            " or the proxy, then rerun"
        )
    elif isinstance(err, _NO_ANSWER) and unanswered:
        why = (
            f"Partner Central did not answer ({name}: {err}); a write sent may have been applied: "
            "rerun the same push later (with the same ledger), it reads such rows back first"
        )
    elif isinstance(err, _NO_CREDENTIALS):
        why = (
            f"no usable AWS credentials ({name}: {err}): set them up (aws configure, aws sso login) or name a"
            " profile (--profile, AWS_PROFILE), then rerun"
        )
    elif isinstance(err, bex.ClientError) and err.response.get("Error", {}).get("Code") in _AUTH_CODES:
        e = err.response["Error"]
        why = (
            f"AWS refused the credentials ({e['Code']}: {e.get('Message', '')}): check --profile and the keys'"
            " account and expiry, then rerun"
        )
    else:
        return None
    return ServiceUnreachable(why)


def code_and_message(err: BaseException) -> tuple[str, str]:
    """(code, message) of a failed call, without customer data.

    An API error's code (for a ``ValidationException`` the field paths and their codes only, since its
    messages may quote the values), else the exception's type name.

    Examples
    --------
    >>> from botocore.exceptions import ClientError
    >>> code_and_message(ClientError({"Error": {"Code": "ValidationException", "Message": "bad"},
    ...     "ErrorList": [{"FieldName": "Customer.Account.CompanyName", "Code": "INVALID_VALUE"}]}, "UpdateOpportunity"))
    ('ValidationException', 'Customer.Account.CompanyName: INVALID_VALUE')
    """
    if isinstance(err, bex.ClientError):
        e = err.response.get("Error", {})
        code = e.get("Code", "ClientError")
        if code == "ValidationException":
            items: list[dict[str, Any]] = err.response.get("ErrorList") or []  # type: ignore[assignment]
            listed = "; ".join(f"{i.get('FieldName')}: {i.get('Code')}" for i in items)
            return code, listed or str(err.response.get("Reason"))
        return code, str(e.get("Message") or err)[:500]
    return type(err).__name__, str(err)[:500]


def error_items(err: BaseException) -> list[tuple[str, str, str]]:
    """Each error of a failed call apart: ``(code, field, text)``, without customer data.

    A ``ValidationException`` lists its errors (``ErrorList``): each item's code, the field's API path and the
    service's message -- withheld (:data:`WITHHELD`) for a field the model marks sensitive or does not know,
    since it may quote the value. Any other error is one item about the whole call (field ``""``), as
    :func:`code_and_message` words it.

    Examples
    --------
    >>> from botocore.exceptions import ClientError
    >>> error_items(ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}, "ErrorList": [
    ...     {"FieldName": "LifeCycle.Stage", "Code": "INVALID_ENUM_VALUE", "Message": "not a stage"}]},
    ...     "UpdateOpportunity"))
    [('INVALID_ENUM_VALUE', 'LifeCycle.Stage', 'not a stage')]
    >>> error_items(ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "x"))
    [('ThrottlingException', '', 'slow down')]
    """
    if isinstance(err, bex.ClientError) and err.response.get("Error", {}).get("Code") == "ValidationException":
        listed: list[dict[str, Any]] = err.response.get("ErrorList") or []  # type: ignore[assignment]
        if listed:
            return [(str(i.get("Code") or ""), str(i.get("FieldName") or ""), _vouched(i)) for i in listed]
    code, message = code_and_message(err)
    return [(code, "", message)]


def _vouched(item: dict[str, Any]) -> str:
    """Return an ErrorList item's message when its field is one the model knows and does not mark sensitive."""
    try:
        sensitive = get_schema().field_for(str(item.get("FieldName") or "")).sensitive
    except KeyError:
        sensitive = True
    return WITHHELD if sensitive else str(item.get("Message") or "")[:500]
