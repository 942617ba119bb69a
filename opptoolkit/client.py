"""Talking to Partner Central: clients, pacing within the quotas, pulling opportunities.

The same code talks to AWS and to the sandbox; only the endpoint differs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from tqdm.auto import tqdm

from ._errors import code_and_message, never_sent, unreachable
from ._values import to_utc_datetime
from .exceptions import OpptoolkitError, ServiceUnreachable
from .frame import to_frame
from .quotas import READ_ACTIONS, READS_PER_SECOND, WRITES_PER_SECOND, TokenBucket
from .schema import SERVICE, Catalog, service_model
from .wire import decode_text, map_text

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "Pacer",
    "fetch_opportunity",
    "get_client",
    "list_opportunities",
    "read_opportunities",
]

_log = logging.getLogger(__name__)

# Throttling and 5xx are retried (standard mode, 10 attempts); a connection that cannot even be opened is not:
# nothing was sent, and against an unreachable endpoint ten attempts only delay the one-line error. The connect
# timeout is short for the same reason (botocore's default is 60 s); reads keep botocore's 60 s.
_RETRIES = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5)


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

    ``client`` if given, else one made from ``boto3_session`` (or the default credential chain), with standard
    retries (10 attempts) of throttling and server errors, a 5 s connect timeout and no retry of a connection
    that cannot be opened (the first such error raises).

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
    if endpoint_url and session.get_credentials() is None:  # a sandbox accepts any key
        session = sandbox_session(region)
    made = session.client(
        SERVICE,  # type: ignore[call-overload]
        region_name=region,
        endpoint_url=endpoint_url,
        config=_RETRIES.merge(config) if config is not None else _RETRIES,
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


@dataclass
class Pacer:
    """Client-side pacing of Partner Central calls within the quotas, and a count of calls.

    Attach it to a client (``with pacer.attached(client): ...``) and every HTTP attempt (botocore's
    retries included) waits for its bucket first (reads: the quotas page's read actions; writes:
    everything else), at 98% of the rate, so the write quota is not spent on a request the server
    would throttle.

    Parameters
    ----------
    reads_per_second, writes_per_second : float
        Defaults: the documented quotas, 10 and 1.
    read_burst, write_burst : float
        Requests that may start back to back. Writes go one at a time by default, so the
        write quota is never spent on a request the server throttles.

    Examples
    --------
    >>> p = Pacer(reads_per_second=100)
    >>> p
    Pacer(reads_per_second=100, writes_per_second=1.0, read_burst=2.0, write_burst=1.0, calls={})
    """

    reads_per_second: float = READS_PER_SECOND
    writes_per_second: float = WRITES_PER_SECOND
    read_burst: float = 2.0
    write_burst: float = 1.0
    calls: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._read = TokenBucket(self.reads_per_second * _HEADROOM, self.read_burst)
        self._write = TokenBucket(self.writes_per_second * _HEADROOM, self.write_burst)
        self._lock = threading.Lock()

    def before_call(self, model: Any = None, **_: Any) -> None:
        """Count the call (once, whatever its retries)."""
        name = model.name if model is not None else "?"
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def before_send(self, event_name: str = "", **_: Any) -> None:
        """Wait for the operation's token bucket (reads or writes) before each HTTP attempt.

        Each attempt, botocore's retries included (botocore emits ``before-send`` per attempt): paced
        per call, a retry that went out late (after its back-off) left the next call's slot counted from
        the first attempt, so the next call reached the service too soon and was throttled in turn.
        """
        name = event_name.rsplit(".", 1)[-1]
        (self._read if name in READ_ACTIONS else self._write).acquire()

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


def _ts(value: datetime | date | str | None) -> datetime | None:
    return None if value is None else to_utc_datetime(value)


def _date(value: datetime | date | str | None) -> str | None:
    return None if value is None else pd.Timestamp(value).date().isoformat()


def _list_params(
    catalog: Catalog,
    *,
    identifiers: list[str] | None = None,
    stages: list[str] | None = None,
    review_statuses: list[str] | None = None,
    customer_names: list[str] | None = None,
    modified_after: Any = None,
    modified_before: Any = None,
    created_after: Any = None,
    created_before: Any = None,
    close_after: Any = None,
    close_before: Any = None,
    sort_by: str | None = None,
    descending: bool = False,
) -> dict[str, Any]:
    """ListOpportunities kwargs from Python terms (the member names are the model's)."""
    p: dict[str, Any] = {"Catalog": catalog}
    for member, values in (
        ("Identifier", identifiers),
        ("LifeCycleStage", stages),
        ("LifeCycleReviewStatus", review_statuses),
        ("CustomerCompanyName", customer_names),
    ):
        if values:
            p[member] = list(values)
    for member, after, before, conv in (
        ("LastModifiedDate", modified_after, modified_before, _ts),
        ("CreatedDate", created_after, created_before, _ts),
        ("TargetCloseDate", close_after, close_before, _date),
    ):
        rng = {k: conv(v) for k, v in ((f"After{member}", after), (f"Before{member}", before)) if v is not None}
        if rng:
            p[member] = rng
    if sort_by:
        orders = service_model().shape_for("SortOrder").enum  # type: ignore[attr-defined]
        p["Sort"] = {
            "SortBy": sort_by,
            "SortOrder": next(o for o in orders if o.startswith("DESC" if descending else "ASC")),
        }
    return p


def fetch_opportunity(client: SellingClient, catalog: Catalog, identifier: str) -> dict[str, Any] | None:
    """One GetOpportunity, as the person who typed it sees it; None if there is no such record.

    This is the only way opptoolkit reads a record. ``ResponseMetadata`` is dropped and the free
    text the service returns HTML-encoded is decoded exactly once (:func:`opptoolkit.wire.decode_text`),
    so a record read, edited and sent back never goes out encoded (it would be stored
    double-encoded).

    Parameters
    ----------
    client : partnercentral-selling client
        The client to call (:func:`get_client`).
    catalog : {"AWS", "Sandbox"}
        The record's catalog.
    identifier : str
        The opportunity's ``Id``.

    Returns
    -------
    dict or None
        The GetOpportunity response without ``ResponseMetadata``, free text decoded; None when the
        service answers ``ResourceNotFoundException``.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     _ = sb.edit("Sandbox", "O7000000001", lambda r: r["Customer"]["Account"].update(CompanyName="R&D: AG"))
    ...     raw = sb.client().get_opportunity(Catalog="Sandbox", Identifier="O7000000001")
    ...     rec = fetch_opportunity(sb.client(), "Sandbox", "O7000000001")
    ...     missing = fetch_opportunity(sb.client(), "Sandbox", "O1")
    >>> raw["Customer"]["Account"]["CompanyName"], rec["Customer"]["Account"]["CompanyName"], missing
    ('R&amp;D&amp;colon; AG', 'R&D: AG', None)
    """
    try:
        rec = dict(client.get_opportunity(Catalog=catalog, Identifier=identifier))
    except client.exceptions.ResourceNotFoundException:
        return None
    rec.pop("ResponseMetadata", None)
    return map_text(rec, decode_text)


def iter_summaries(
    catalog: Catalog, *, client: SellingClient | None = None, page_size: int = 100, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Yield the ListOpportunities summaries matching ``filters``, page by page (lazily).

    Free text is decoded once, as :func:`fetch_opportunity` does.
    """
    client = get_client(client)
    params = _list_params(catalog, **filters)
    pages = client.get_paginator("list_opportunities").paginate(**params, PaginationConfig={"PageSize": page_size})
    for page in pages:
        for summary in page["OpportunitySummaries"]:
            yield map_text(summary, decode_text)


def list_opportunities(
    catalog: Catalog, *, client: SellingClient | None = None, page_size: int = 100, **filters: Any
) -> list[dict[str, Any]]:
    """Every ListOpportunities summary matching ``filters`` (see :func:`read_opportunities`).

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"}
        The catalog to list.
    client : partnercentral-selling client, optional
        Default: :func:`get_client`.
    page_size : int, default 100
        ``MaxResults`` of each ListOpportunities call.
    **filters
        The filters of :func:`read_opportunities` (``identifiers``, ``stages``, ``review_statuses``,
        ``customer_names``, ``modified_after`` ... ``close_before``).

    Returns
    -------
    list of dict
        The ``OpportunitySummaries`` items, free text decoded.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     summaries = list_opportunities("Sandbox", client=sb.client(), identifiers=["O7000000001"])
    >>> [s["Id"] for s in summaries]
    ['O7000000001']
    """
    return list(iter_summaries(catalog, client=client, page_size=page_size, **filters))


def _error_row(identifier: str, err: Exception) -> dict[str, Any]:
    code, message = code_and_message(err)
    return {"Id": identifier, "code": code, "message": message}


def get_opportunities(
    catalog: Catalog,
    identifiers: Iterable[str],
    *,
    client: SellingClient | None = None,
    max_workers: int = 4,
    progress: bool | None = True,
    desc: str = "GetOpportunity",
    fetch: Callable[[str], dict[str, Any] | None] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """GetOpportunity for each identifier, concurrently; returns (records, failures).

    ``fetch`` reads another resource the same way (one read per identifier, None when it is gone):
    an engagement invitation, AWS's summary of an opportunity; ``desc`` names its operation.

    ``identifiers`` may be lazy (a generator over ListOpportunities pages): Gets start while
    the listing goes on. A record that still fails after boto3's retries is returned in
    ``failures`` (``Id``, ``code``, ``message``), never dropped silently. An error that every
    further call would share (the endpoint cannot be reached, no usable credentials) raises
    :class:`~opptoolkit.exceptions.ServiceUnreachable` at its first occurrence instead. Pace with
    a :class:`Pacer`.
    """
    client = get_client(client)
    failures: list[dict[str, Any]] = []

    def get(identifier: str) -> dict[str, Any] | None:
        return fetch(identifier) if fetch is not None else fetch_opportunity(client, catalog, identifier)

    futures: list[tuple[str, Future[dict[str, Any] | None]]] = []
    stop: list[ServiceUnreachable] = []  # the first error that no further call can avoid

    def done(fut: Future[dict[str, Any] | None]) -> None:
        bar.update(1)
        err = None if fut.cancelled() else fut.exception()
        if err is not None and (u := unreachable(err)) is not None:
            stop.append(u)

    with (
        ThreadPoolExecutor(max_workers=max_workers) as pool,
        tqdm(total=0, desc=desc, unit="opp", disable=None if progress else True) as bar,
    ):
        try:
            try:
                for ident in identifiers:
                    if stop:
                        break
                    fut = pool.submit(get, ident)
                    fut.add_done_callback(done)
                    futures.append((ident, fut))
                    bar.total = len(futures)
                pending = [f for _, f in futures]
                while pending and not stop:
                    pending = list(wait(pending, timeout=0.2).not_done)
            except (ClientError, BotoCoreError) as e:  # the listing itself failed
                if (u := unreachable(e)) is None:
                    raise
                stop.append(u)
            if stop:  # no further call can succeed: stop at the first, record nothing per row
                for _, f in futures:
                    f.cancel()
                raise stop[0]
        except KeyboardInterrupt:
            for _, f in futures:
                f.cancel()
            raise
    records = []
    for ident, fut in futures:
        try:
            rec = fut.result()
        except (ClientError, BotoCoreError) as e:
            failures.append(_error_row(ident, e))
            _log.warning("%s %s failed: %s", desc, ident, failures[-1]["code"])
            continue
        if rec is None:  # listed, then gone before it was read
            failures.append({"Id": ident, "code": "ResourceNotFoundException", "message": "not found"})
            _log.warning("%s %s failed: ResourceNotFoundException", desc, ident)
        else:
            records.append(rec)
    return records, failures


def read_opportunities(
    catalog: Catalog,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    summary_only: bool = False,
    progress: bool | None = True,
    reads_per_second: float = READS_PER_SECOND,
    max_workers: int = 4,
    identifiers: list[str] | None = None,
    stages: list[str] | None = None,
    review_statuses: list[str] | None = None,
    customer_names: list[str] | None = None,
    modified_after: Any = None,
    modified_before: Any = None,
    created_after: Any = None,
    created_before: Any = None,
    close_after: Any = None,
    close_before: Any = None,
    drop_empty: bool = False,
    aws_summary: bool = False,
) -> pd.DataFrame:
    """Pull opportunities into a DataFrame: list them, then GetOpportunity each (full records).

    ListOpportunities returns summaries only, so a full frame costs one read per record; reads
    are paced to ``reads_per_second`` (the documented quota, 10/s) with ``max_workers`` in
    flight, and throttled or failed calls are retried by boto3.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"}
        Always explicit: production (``AWS``) is never a silent default.
    client, boto3_session, endpoint_url
        Which client to use (see :func:`get_client`); ``endpoint_url`` for the sandbox.
    summary_only : bool
        Return the cheap summary frame (list calls only, same columns, fewer filled).
    progress : bool
        Show a progress bar (``tqdm.auto``).
    identifiers, stages, review_statuses, customer_names : list of str
        ListOpportunities filters (``Identifier``, ``LifeCycleStage``, ``LifeCycleReviewStatus``,
        ``CustomerCompanyName``).
    modified_after, modified_before, created_after, created_before : datetime or str
        Timestamp ranges (``LastModifiedDate``, ``CreatedDate``).
    close_after, close_before : date or str
        ``TargetCloseDate`` range.
    aws_summary : bool
        Add AWS's view of each opportunity as output-only ``Aws.*`` columns (one
        GetAwsOpportunitySummary read each, see :func:`opptoolkit.referrals.read_aws_summaries`).

    Returns
    -------
    DataFrame
        One row per opportunity (see :func:`opptoolkit.to_frame`). Records that could not be
        read are listed in ``df.attrs["failures"]`` (dicts of ``Id``, ``code``, ``message``)
        and logged; ``df.attrs["calls"]`` counts the API calls made.

    Raises
    ------
    ServiceUnreachable
        At the first call that cannot reach the endpoint or has no usable credentials.
    OpptoolkitError
        When the listing itself fails.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, stages=["Committed"],
    ...                             progress=False, reads_per_second=1000)
    >>> set(df["LifeCycle.Stage"])
    {'Committed'}
    """
    client = get_client(client, boto3_session=boto3_session, endpoint_url=endpoint_url)
    pacer = Pacer(reads_per_second=reads_per_second)
    filters = dict(
        identifiers=identifiers,
        stages=stages,
        review_statuses=review_statuses,
        customer_names=customer_names,
        modified_after=modified_after,
        modified_before=modified_before,
        created_after=created_after,
        created_before=created_before,
        close_after=close_after,
        close_before=close_before,
    )
    try:
        with pacer.attached(client):
            failures: list[dict[str, Any]] = []
            summaries: list[dict[str, Any]] = []
            if summary_only:
                records = summaries = list_opportunities(catalog, client=client, **filters)
            else:

                def ids() -> Iterator[str]:  # Gets start while the listing goes on
                    for summary in iter_summaries(catalog, client=client, **filters):
                        summaries.append(summary)
                        yield summary["Id"]

                records, failures = get_opportunities(
                    catalog, ids(), client=client, max_workers=max_workers, progress=progress
                )
    except (ClientError, BotoCoreError) as e:
        code, message = code_and_message(e)
        raise (unreachable(e) or OpptoolkitError(f"ListOpportunities failed: {code}: {message}")) from None
    df = to_frame(records, drop_empty=drop_empty)
    df.attrs["failures"] = failures
    df.attrs["calls"] = dict(pacer.calls)
    if aws_summary:
        from .referrals import join_aws_summaries, read_aws_summaries

        aws = read_aws_summaries(
            catalog,
            df["Id"],
            client=client,
            progress=progress,
            reads_per_second=reads_per_second,
            max_workers=max_workers,
        )
        df = join_aws_summaries(df, aws)
        df.attrs["failures"] = failures + aws.attrs["failures"]
        for name, n in aws.attrs["calls"].items():
            df.attrs["calls"][name] = df.attrs["calls"].get(name, 0) + n
    if failures:
        _log.warning(
            "%d of %d opportunities could not be read; see df.attrs['failures']", len(failures), len(summaries)
        )
    return df
