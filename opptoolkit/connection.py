"""Reaching Partner Central: a connection (catalog, client, pacing, budget), the client factory, the pacer.

The same code talks to AWS and to the sandbox; only the endpoint differs. A :class:`Connection` is what every
verb that calls the service can take as its one argument: the catalog (always explicit: production is never a
silent default), the boto3 client, one :class:`Pacer` shared by every call made through it (so two verbs in a
row stay within the quotas together), the daily write budget and whether to show progress.
"""

from __future__ import annotations

import functools
import inspect
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypedDict, TypeVar, Unpack, cast, overload

from botocore.config import Config
from botocore.exceptions import BotoCoreError

from ._errors import never_sent, unreachable
from .exceptions import OpptoolkitError
from .quotas import DAILY_WRITES, OWN_RATES, READ, WRITE, TokenBucket, quota_of, rates
from .schema import SERVICE, Catalog

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "Connection",
    "ConnectionKeywords",
    "Pacer",
    "as_connection",
    "bars_disabled",
    "calls_since",
    "connect",
    "get_client",
    "handler_attached",
    "sandbox_session",
    "takes_connection",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


# Throttling and 5xx are retried (standard mode, 11 attempts: the first and 10 retries, unless the user's
# AWS_RETRY_MODE / AWS_MAX_ATTEMPTS or profile's retry_mode / max_attempts say otherwise); a connection that cannot
# even be opened is not: nothing was sent, and against an unreachable endpoint more attempts only delay the one-line
# error. The connect timeout is short for the same reason (botocore's default is 60 s); reads keep botocore's 60 s.
#: Attempts of a call, the first included: what ``AWS_MAX_ATTEMPTS``, a profile's ``max_attempts`` and botocore's
#: ``Config(retries={"total_max_attempts": ...})`` count (its ``max_attempts`` counts retries, one fewer).
_MAX_ATTEMPTS = 11
#: The retry mode unless the user's ``AWS_RETRY_MODE`` or profile's ``retry_mode`` names one (botocore's modes).
_RETRY_MODE = "standard"


def _users(session: boto3.Session, name: str) -> Any:
    """Return the user's setting of botocore's config variable ``name``, None where they set none.

    botocore's own chain (the session's variable, the environment's ``AWS_...``, the profile's) without its default:
    ``get_config_variable`` answers botocore's default for an unset ``retry_mode``, which is not the user's.
    """
    from botocore.configprovider import BOTOCORE_DEFAUT_SESSION_VARIABLES, ConfigChainFactory

    config_name, env_names, _default, convert = BOTOCORE_DEFAUT_SESSION_VARIABLES[name]
    chain = ConfigChainFactory(session=session._session).create_config_chain(
        instance_name=name, env_var_names=env_names, config_property_names=config_name, conversion_func=convert
    )
    return chain.provide()


def _defaults(session: boto3.Session) -> Config:
    """Return the client settings ``get_client`` gives unless ``config`` overrides them.

    The retry mode and the number of attempts are the user's where botocore finds them (``AWS_RETRY_MODE``,
    ``AWS_MAX_ATTEMPTS``, else the profile's ``retry_mode``, ``max_attempts``): an explicit ``Config(retries=...)``
    would win over those, so each is left out then.
    """
    retries: dict[str, Any] = {}
    if _users(session, "retry_mode") is None:
        retries["mode"] = _RETRY_MODE
    if _users(session, "max_attempts") is None:
        retries["total_max_attempts"] = _MAX_ATTEMPTS
    return Config(retries=retries, connect_timeout=5)  # type: ignore[arg-type]


def _no_retry_unreachable(caught_exception: Exception | None = None, **_: Any) -> bool | None:
    """Return a ``needs-retry`` handler that runs before the retry policy.

    False (no retry) when the connection could not be opened, None (let the policy decide) otherwise.
    """
    return False if never_sent(caught_exception) else None


def sandbox_session(region_name: str = "us-east-1") -> boto3.Session:
    """Return a boto3 session with dummy keys, for a sandbox.

    It accepts any key, and no real one need go to a local endpoint.
    """
    import boto3

    return boto3.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox", region_name=region_name)


def get_client(
    client: SellingClient | None = None,
    *,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    config: Config | None = None,
) -> SellingClient:
    """Return the ``partnercentral-selling`` client to use.

    ``client`` if given, else one made from ``boto3_session`` (or the default credential chain), retrying
    throttling and server errors in botocore's standard mode, 11 attempts in all (the first and 10 retries; unless
    ``AWS_RETRY_MODE``, ``AWS_MAX_ATTEMPTS`` or the profile's ``retry_mode``, ``max_attempts`` set them:
    botocore's own settings, honoured as botocore would), with a 5 s connect timeout and no retry of a
    connection that cannot be opened (the first such error raises).

    ``endpoint_url`` points it at a sandbox (signed with dummy keys when the session has none);
    ``region_name`` defaults to the session's, else ``us-east-1`` (the service's region);
    ``config`` overrides those defaults (botocore's ``Config.merge``: its settings win).

    Parameters
    ----------
    client : partnercentral-selling client, optional
        Returned as is when given.
    boto3_session : boto3.Session, optional
        The session to make the client from; default the default credential chain.
    endpoint_url : str, optional
        A sandbox's URL (:attr:`opptoolkit.sandbox.Sandbox.endpoint_url`).
    region_name : str, optional
        The client's region.
    config : botocore.config.Config, optional
        Settings that win over the defaults above.

    Returns
    -------
    mypy_boto3_partnercentral_selling.PartnerCentralSellingAPIClient
        A boto3 ``partnercentral-selling`` client.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     client = get_client(endpoint_url=sb.endpoint_url)
    ...     page = client.list_opportunities(Catalog="Sandbox", MaxResults=1)
    >>> client.meta.service_model.service_name, len(page["OpportunitySummaries"])
    ('partnercentral-selling', 1)
    """
    if client is not None:
        return client
    import boto3

    session = boto3_session or boto3.Session()
    region = region_name or session.region_name or "us-east-1"
    if endpoint_url is not None:
        _check_endpoint_url(endpoint_url)
    if endpoint_url and session.get_credentials() is None:  # a sandbox accepts any key
        session = sandbox_session(region)
    made = session.client(
        SERVICE,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoint_url,
        config=_defaults(session).merge(config) if config is not None else _defaults(session),
    )
    made.meta.events.register_first(
        f"needs-retry.{made.meta.service_model.service_id.hyphenize()}",
        _no_retry_unreachable,
        unique_id="opptoolkit-no-retry-unreachable",
    )
    return cast("SellingClient", made)


#: The share of a quota the pacer uses. The service counts a request when it arrives, the pacer when it
#: leaves: paced at exactly the quota, a request that reaches the service sooner after its predecessor than
#: it left (network and scheduling jitter) finds the bucket a fraction short and is throttled, and its
#: retry spends a second write. A few percent of the rate is far more than that jitter.
_HEADROOM = 0.98


def _check_endpoint_url(url: str) -> None:
    """Refuse what botocore would refuse as an endpoint (with a ValueError that reads as a bug), in words.

    botocore's own test of an endpoint (``botocore.utils.is_valid_endpoint_url``, and its IPv6 variant) decides;
    the URL is not repeated (it may carry a user name and password).
    """
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    try:
        valid = is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)
    except ValueError:  # urllib's own refusal, e.g. "Invalid IPv6 URL" for http://[::1
        valid = False
    if not valid:
        raise OpptoolkitError(
            "the endpoint URL (--endpoint-url, endpoint_url=) is not a URL: write it as http://HOST:PORT "
            "(a sandbox: http://127.0.0.1:8787), or leave it out for AWS's own endpoint"
        )


@dataclass
class Pacer:
    """Client-side pacing of Partner Central calls within the quotas, and a count of calls.

    Attach it to a client (``with pacer.attached(client): ...``) and every HTTP attempt (botocore's
    retries included) waits for its bucket first (:func:`opptoolkit.quotas.quota_of`: the quotas page's
    reads, its writes, or an operation's rate of its own), at 98% of the rate, so the write quota is not
    spent on a request the server would throttle.

    Parameters
    ----------
    reads_per_second, writes_per_second : float
        Defaults: the documented quotas, 10 and 1, unless the environment sets others
        (``OPPTOOLKIT_READS_PER_SECOND``, ``OPPTOOLKIT_WRITES_PER_SECOND``: :func:`opptoolkit.quotas.rates`).
    read_burst, write_burst : float
        Requests that may start back to back. Writes go one at a time by default, so the
        write quota is never spent on a request the server throttles.

    Examples
    --------
    >>> p = Pacer(reads_per_second=100)
    >>> p
    Pacer(reads_per_second=100, writes_per_second=1.0, read_burst=2.0, write_burst=1.0, calls={})
    """

    reads_per_second: float = field(default_factory=lambda: rates()[0])
    writes_per_second: float = field(default_factory=lambda: rates()[1])
    read_burst: float = 2.0
    write_burst: float = 1.0
    calls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("reads_per_second", "writes_per_second", "read_burst", "write_burst"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        self._read = TokenBucket(self.reads_per_second * _HEADROOM, self.read_burst)
        self._write = TokenBucket(self.writes_per_second * _HEADROOM, self.write_burst)
        # each quota of the page's (quotas.quota_of): the reads, the writes, and its operations of their own rate
        self._buckets = {
            READ: self._read,
            WRITE: self._write,
            **{op: TokenBucket(rate * _HEADROOM, 1.0) for op, rate in OWN_RATES.items()},
        }
        self._lock = threading.Lock()

    def before_call(self, model: Any = None, **_: Any) -> None:
        """Count the call (once, whatever its retries)."""
        name = model.name if model is not None else "?"
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def before_send(self, event_name: str = "", **_: Any) -> None:
        """Wait for the operation's token bucket (:func:`opptoolkit.quotas.quota_of`) before each HTTP attempt.

        Each attempt, botocore's retries included (botocore emits ``before-send`` per attempt): paced
        per call, a retry that went out late (after its back-off) left the next call's slot counted from
        the first attempt, so the next call reached the service too soon and was throttled in turn.
        """
        name = event_name.rsplit(".", 1)[-1]
        self._buckets[quota_of(name)].acquire()

    def wrote_at(self, when: datetime) -> None:
        """Start the write bucket from a write that went at ``when`` (UTC), before this pacer existed.

        The service's bucket is per partner account and does not reset between two runs: a push that starts
        right after another (its ledger says when that one's last write went) waits out the rest of that
        second instead of spending a write on a ThrottlingException.
        """
        self._write.spent((datetime.now(UTC) - when).total_seconds())

    @contextmanager
    def attached(self, client: Any) -> Iterator[Pacer]:
        """Pace every call ``client`` makes inside the block."""
        with (
            handler_attached(client, "before-call", self.before_call),
            handler_attached(client, "before-send", self.before_send),
        ):
            yield self


@contextmanager
def handler_attached(client: Any, event: str, handler: Callable[..., Any], operation: str = "") -> Iterator[None]:
    """Register ``handler`` on botocore's ``event`` of ``client``'s service for the duration of the block.

    With ``operation``, on that operation's event only.
    """
    name = ".".join(x for x in (event, client.meta.service_model.service_id.hyphenize(), operation) if x)
    key = f"opptoolkit-{event}-{id(handler)}"
    client.meta.events.register(name, handler, unique_id=key)
    try:
        yield
    finally:
        client.meta.events.unregister(name, unique_id=key)


@dataclass
class Connection:
    """Partner Central reached one way: a catalog, a client, one pacer for every call, the write budget.

    Make one with :func:`connect`. Every call made through :attr:`client` inside :meth:`paced` waits for
    :attr:`pacer`, however many verbs make them; the pacer's ``calls`` counts them all.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"}
        The catalog every call works in.
    client : partnercentral-selling client
        The boto3 client (:func:`get_client`).
    pacer : Pacer
        The pacing of every call within the quotas.
    daily_write_budget : int
        Write HTTP attempts allowed per rolling 24 h (documented quota: 10,000), counted from a ledger.
    progress : bool or None
        Show progress bars where a terminal or notebook shows them (True or None), or none (False):
        :func:`bars_disabled`.
    boto3_session : boto3.Session or None
        The session the client was made from, if any: the same credentials reach the team's S3 mirror and
        ledger.
    """

    catalog: Catalog
    client: SellingClient
    pacer: Pacer = field(default_factory=Pacer)
    daily_write_budget: int = DAILY_WRITES
    progress: bool | None = True
    boto3_session: boto3.Session | None = None

    def __post_init__(self) -> None:
        self._attached = 0
        self._attach_lock = threading.Lock()
        self._pacing = ExitStack()

    @contextmanager
    def paced(self) -> Iterator[Connection]:
        """Pace every call of :attr:`client` inside the block (re-entrant: nested verbs share the pacer)."""
        with self._attach_lock:
            if self._attached == 0:
                self._pacing.enter_context(self.pacer.attached(self.client))
            self._attached += 1
        try:
            yield self
        finally:
            with self._attach_lock:
                self._attached -= 1
                if self._attached == 0:
                    self._pacing.close()


def connect(
    catalog: Catalog,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    config: Config | None = None,
    reads_per_second: float | None = None,
    writes_per_second: float | None = None,
    daily_write_budget: int = DAILY_WRITES,
    progress: bool | None = True,
) -> Connection:
    """Return a :class:`Connection` to ``catalog``: the one argument every verb that calls the service takes.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"}
        Always explicit.
    client, boto3_session, endpoint_url, region_name, config
        How to reach the service (see :func:`get_client`).
    reads_per_second, writes_per_second : float, optional
        Client-side pacing. Default: the documented quotas, 10 and 1, unless the environment sets others
        (``OPPTOOLKIT_READS_PER_SECOND``, ``OPPTOOLKIT_WRITES_PER_SECOND``: :func:`opptoolkit.quotas.rates`).
    daily_write_budget : int
        Write HTTP attempts allowed per rolling 24 h (documented: 10,000).
    progress : bool or None
        Show progress bars (see :class:`Connection`).

    Returns
    -------
    Connection

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     conn = connect("Sandbox", endpoint_url=sb.endpoint_url, reads_per_second=1000)
    ...     with conn.paced():
    ...         page = conn.client.list_opportunities(Catalog=conn.catalog, MaxResults=1)
    >>> conn.catalog, conn.pacer.calls
    ('Sandbox', {'ListOpportunities': 1})
    """
    made = get_client(
        client, boto3_session=boto3_session, endpoint_url=endpoint_url, region_name=region_name, config=config
    )
    try:
        read_rate, write_rate = rates()
    except ValueError as e:  # the environment's rate is not a number: say which, in one line
        raise OpptoolkitError(str(e)) from None
    pacer = Pacer(
        reads_per_second=read_rate if reads_per_second is None else reads_per_second,
        writes_per_second=write_rate if writes_per_second is None else writes_per_second,
    )
    return Connection(catalog, made, pacer, daily_write_budget, progress, boto3_session)


class ConnectionKeywords(TypedDict, total=False):
    """The keyword forms of a connection a verb may take beside its catalog: :func:`connect`'s, its defaults."""

    client: SellingClient | None
    boto3_session: boto3.Session | None
    endpoint_url: str | None
    reads_per_second: float | None
    writes_per_second: float | None
    daily_write_budget: int
    progress: bool | None


#: The keyword forms' names, in :class:`ConnectionKeywords`' order (:func:`takes_connection` takes them off a verb).
_KEYWORDS = tuple(ConnectionKeywords.__annotations__)

#: The keywords that say how to reach the service (without one, a catalog name is reached as AWS's default).
_REACHES = ("client", "boto3_session", "endpoint_url")


def as_connection(target: Catalog | Connection, **keywords: Unpack[ConnectionKeywords]) -> Connection:
    """Return the :class:`Connection` a verb works through: ``target`` itself, or one made from the keywords.

    The keywords are :func:`connect`'s (:class:`ConnectionKeywords`), with its defaults.

    Every verb that calls the service takes either a :class:`Connection` or a catalog name with the keyword
    forms (a convenience for one call). A connection brings its own client, pacing, budget and progress, so
    the keywords are not mixed with one: a client or endpoint beside a connection is refused rather than
    silently ignored.

    Raises
    ------
    OpptoolkitError
        When ``target`` is a connection and a client, session or endpoint is given too.

    Examples
    --------
    >>> conn = connect("Sandbox", endpoint_url="http://127.0.0.1:1")
    >>> as_connection(conn) is conn
    True
    >>> as_connection("Sandbox", endpoint_url="http://127.0.0.1:1").catalog
    'Sandbox'
    >>> as_connection(conn, endpoint_url="http://127.0.0.1:2")
    Traceback (most recent call last):
    opptoolkit.exceptions.OpptoolkitError: give a Connection or client/boto3_session/endpoint_url, not both
    """
    if isinstance(target, Connection):
        if any(keywords.get(n) is not None for n in _REACHES):
            raise OpptoolkitError("give a Connection or client/boto3_session/endpoint_url, not both")
        return target
    return connect(target, **keywords)


@overload
def takes_connection(verb: Callable[_P, _R], /) -> Callable[_P, _R]: ...


@overload
def takes_connection(
    *, keeps: tuple[str, ...] = (), offline: bool = False
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...


def takes_connection(
    verb: Callable[_P, _R] | None = None, /, *, keeps: tuple[str, ...] = (), offline: bool = False
) -> Callable[_P, _R] | Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Make a verb's ``catalog`` argument the :class:`Connection` it works through (a decorator).

    A verb that calls the service takes ``catalog: Catalog | Connection`` and, as a convenience for one call, the
    keyword forms of a connection it names (``client``, ``boto3_session``, ``endpoint_url``, ``reads_per_second``,
    ``writes_per_second``, ``daily_write_budget``, ``progress``). The verb runs with ``catalog`` the connection
    (:func:`as_connection`: the one given, else one made from those keywords) and those keywords at their
    defaults: inside, ``as_connection(catalog)`` is that connection, and its client, pacer, budget, progress and
    session are the ones to use. A client that cannot be made with the credentials or region at hand is a
    one-line :class:`~opptoolkit.exceptions.ServiceUnreachable` saying what to do.

    ``keeps`` names keywords the verb uses itself too (a mirror's ``boto3_session``, for its S3 files): they reach
    the verb as given, and the connection only when it is made here (beside a given connection they are the
    verb's alone, not refused).

    ``offline`` is for a verb that also works without the service (a grid that plans only): a catalog name given
    with none of ``client``, ``boto3_session``, ``endpoint_url`` reaches it as the name, and no client is made.

    Examples
    --------
    >>> @takes_connection
    ... def catalog_of(catalog, *, endpoint_url=None, progress=True):
    ...     conn = as_connection(catalog)
    ...     return conn.catalog, conn.progress
    >>> catalog_of("Sandbox", endpoint_url="http://127.0.0.1:1", progress=False)
    ('Sandbox', False)
    """

    def decorate(verb: Callable[_P, _R]) -> Callable[_P, _R]:
        signature = inspect.signature(verb)
        names = [n for n in _KEYWORDS if n in signature.parameters]

        @functools.wraps(verb)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            bound = signature.bind(*args, **kwargs)
            target = bound.arguments["catalog"]
            given = {
                n: bound.arguments[n] if n in keeps else bound.arguments.pop(n) for n in names if n in bound.arguments
            }
            if isinstance(target, Connection):
                given = {n: v for n, v in given.items() if n not in keeps}
            elif offline and all(given.get(n) is None for n in _REACHES):
                return cast("Callable[..., _R]", verb)(*bound.args, **bound.kwargs)
            try:
                bound.arguments["catalog"] = as_connection(target, **given)
            except BotoCoreError as e:
                if (u := unreachable(e, unanswered=True)) is not None:
                    raise u from None
                raise
            return cast("Callable[..., _R]", verb)(*bound.args, **bound.kwargs)

        return wrapper

    return decorate if verb is None else decorate(verb)


def bars_disabled(progress: bool | None) -> bool | None:
    """Return tqdm's ``disable`` for a ``progress`` setting: None (a bar where a terminal or notebook shows one).

    Only False turns the bars off: None is a bar on a terminal and none in cron or a container's log, as
    ``disable=None`` is for ``tqdm.auto``, and so is True (forcing one into a log is never wanted).

    Examples
    --------
    >>> bars_disabled(True), bars_disabled(None), bars_disabled(False)
    (None, None, True)
    """
    return True if progress is False else None


def calls_since(conn: Connection, before: dict[str, int]) -> dict[str, int]:
    """Return the calls made through ``conn`` since its pacer counted ``before`` (a verb's own calls).

    Examples
    --------
    >>> conn = connect("Sandbox", endpoint_url="http://127.0.0.1:1")
    >>> conn.pacer.calls.update(ListOpportunities=3, GetOpportunity=2)
    >>> calls_since(conn, {"ListOpportunities": 1})
    {'ListOpportunities': 2, 'GetOpportunity': 2}
    """
    return {k: n - before.get(k, 0) for k, n in conn.pacer.calls.items() if n - before.get(k, 0)}
