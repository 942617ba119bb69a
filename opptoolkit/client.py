"""Reading from Partner Central: opportunities (list, get, pull into a frame) and AWS's view of them.

The same code reads from AWS and from the sandbox; only the endpoint differs (:mod:`opptoolkit.connection`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from tqdm.auto import tqdm

from ._errors import code_and_message, unreachable
from ._values import to_utc_datetime
from .connection import Connection, as_connection, bars_disabled, calls_since, takes_connection
from .exceptions import OpptoolkitError
from .frame import to_frame
from .rules import input_value
from .schema import AWS_PREFIX, Catalog, output_schema, service_model
from .wire import decode_text, map_text

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "AWS_SUMMARY",
    "fetch_opportunity",
    "join_aws_summaries",
    "list_opportunities",
    "read_aws_summaries",
    "read_opportunities",
    "without_metadata",
]

_log = logging.getLogger(__name__)

AWS_SUMMARY = "GetAwsOpportunitySummary"


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
    # a stage or review status the model does not list: said with a "did you mean" before any call is spent
    for member, what in (("LifeCycleStage", "a stage"), ("LifeCycleReviewStatus", "a review status")):
        if member in p:
            p[member] = [input_value("ListOpportunities", member, str(v), what) for v in p[member]]
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
    text's encoded colons are decoded exactly once (:func:`opptoolkit.wire.decode_text`), so a record read,
    edited and sent back never goes out encoded (it would be stored encoded) and nothing else it holds changes.

    Parameters
    ----------
    client : partnercentral-selling client
        The client to call (:func:`opptoolkit.get_client`).
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
    ('R&D&amp;colon; AG', 'R&D: AG', None)
    """
    try:
        rec = dict(client.get_opportunity(Catalog=catalog, Identifier=identifier))
    except client.exceptions.ResourceNotFoundException:
        return None
    rec.pop("ResponseMetadata", None)
    return map_text(rec, decode_text)


def iter_summaries(
    catalog: Catalog, *, client: SellingClient, page_size: int = 100, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Yield the ListOpportunities summaries matching ``filters``, page by page (lazily), through ``client``.

    The listing every reader shares, as :func:`fetch_opportunity` is the one read of a record: the caller paces
    ``client`` (:meth:`Connection.paced`); :func:`list_opportunities` is the verb that does. Free text is decoded
    once, as :func:`fetch_opportunity` does.
    """
    params = _list_params(catalog, **filters)
    pages = client.get_paginator("list_opportunities").paginate(**params, PaginationConfig={"PageSize": page_size})
    for page in pages:
        for summary in page["OpportunitySummaries"]:
            yield map_text(summary, decode_text)


@takes_connection
def list_opportunities(
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float | None = None,
    page_size: int = 100,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Every ListOpportunities summary matching ``filters`` (see :func:`read_opportunities`), each page paced.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        The catalog to list (:func:`read_opportunities` says how a connection and the keyword forms go).
    client, boto3_session, endpoint_url, reads_per_second
        The keyword forms of a connection (:func:`opptoolkit.connect`).
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
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    with conn.paced():
        return list(iter_summaries(conn.catalog, client=conn.client, page_size=page_size, **filters))


def _error_row(identifier: str, err: Exception) -> dict[str, Any]:
    code, message = code_and_message(err)
    return {"Id": identifier, "code": code, "message": message}


def get_opportunities(
    catalog: Catalog,
    identifiers: Iterable[str],
    *,
    client: SellingClient,
    max_workers: int = 4,
    progress: bool | None = True,
    desc: str = "GetOpportunity",
    fetch: Callable[[str], dict[str, Any] | None] | None = None,
    stop_at_failure: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """GetOpportunity for each identifier, concurrently; returns (records, failures).

    ``fetch`` reads another resource the same way (one read per identifier, None when it is gone):
    an engagement invitation, AWS's summary of an opportunity; ``desc`` names its operation.

    ``identifiers`` may be lazy (a generator over ListOpportunities pages): Gets start while
    the listing goes on. A record that still fails after boto3's retries is returned in
    ``failures`` (``Id``, ``code``, ``message``), never dropped silently. An error that every
    further call would share (the endpoint cannot be reached, no usable credentials) raises
    :class:`~opptoolkit.exceptions.ServiceUnreachable` at its first occurrence instead;
    ``stop_at_failure`` stops so at any failed read (an :class:`~opptoolkit.exceptions.OpptoolkitError` naming
    it), for a caller that cannot go on without every record. Either way the reads queued behind it are not
    sent. The caller paces ``client`` (:meth:`Connection.paced`), as for :func:`iter_summaries`.
    """
    failures: list[dict[str, Any]] = []
    futures: list[tuple[str, Future[dict[str, Any] | None]]] = []
    named: dict[Future[dict[str, Any] | None], str] = {}
    stop: list[OpptoolkitError] = []  # the first error that stops the reads

    def get(identifier: str) -> dict[str, Any] | None:
        if stop:  # queued before the first such error: not sent (it is cancelled below)
            raise stop[0]
        return fetch(identifier) if fetch is not None else fetch_opportunity(client, catalog, identifier)

    def done(fut: Future[dict[str, Any] | None]) -> None:
        bar.update(1)
        err = None if fut.cancelled() else fut.exception()
        if err is None or stop:
            return
        if (u := unreachable(err)) is not None:
            stop.append(u)
        elif stop_at_failure and isinstance(err, (ClientError, BotoCoreError)):
            failed = _error_row(named[fut], err)
            stop.append(OpptoolkitError(f"{desc} {failed['Id']} failed: {failed['code']}: {failed['message']}"))

    with (
        ThreadPoolExecutor(max_workers=max_workers) as pool,
        tqdm(total=0, desc=desc, unit="opp", disable=bars_disabled(progress)) as bar,
    ):
        try:
            try:
                for ident in identifiers:
                    if stop:
                        break
                    fut = pool.submit(get, ident)
                    named[fut] = ident
                    fut.add_done_callback(done)
                    futures.append((ident, fut))
                    bar.total = len(futures)
                pending = [f for _, f in futures]
                while pending and not stop:
                    pending = list(wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION).not_done)
            except (ClientError, BotoCoreError) as e:  # the listing itself failed
                if (u := unreachable(e)) is None:
                    raise
                stop.append(u)
            if stop:  # stop at the first such error, record nothing per row
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
        else:
            if rec is not None:
                records.append(rec)
                continue
            # listed, then gone before it was read
            failures.append({"Id": ident, "code": "ResourceNotFoundException", "message": "not found"})
        _log.debug("%s %s failed: %s", desc, ident, failures[-1]["code"])
    if failures:  # one line, not one per record: the caller returns each, and the command says each
        _log.warning("%s: %d of %d reads failed; each is listed with its error", desc, len(failures), len(futures))
    return records, failures


@takes_connection
def read_opportunities(
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    summary_only: bool = False,
    progress: bool | None = True,
    reads_per_second: float | None = None,
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
    are paced within the read quota (:func:`~opptoolkit.connect` says at what rate) with ``max_workers``
    in flight, and throttled or failed calls are retried by boto3.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit: production (``AWS``) is never a silent default. A :class:`~opptoolkit.Connection`
        (:func:`~opptoolkit.connect`) brings its client, pacing and progress, shared with every other verb
        given it; the keyword forms below are a convenience for one call.
    client, boto3_session, endpoint_url
        Which client to use (see :func:`opptoolkit.get_client`); ``endpoint_url`` for the sandbox.
    reads_per_second : float, optional
        The read pacing of a connection made here (default: :func:`~opptoolkit.connect`'s).
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
        GetAwsOpportunitySummary read each, see :func:`read_aws_summaries`).

    Returns
    -------
    DataFrame
        One row per opportunity (see :func:`opptoolkit.to_frame`). Records that could not be
        read are listed in ``df.attrs["failures"]`` (dicts of ``Id``, ``code``, ``message``)
        and counted in one WARNING log line; ``df.attrs["calls"]`` counts the API calls made.

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
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    catalog, client, progress, before = conn.catalog, conn.client, conn.progress, dict(conn.pacer.calls)
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
        with conn.paced():
            failures: list[dict[str, Any]] = []
            if summary_only:
                records = list_opportunities(conn, **filters)
            else:
                ids = (s["Id"] for s in iter_summaries(catalog, client=client, **filters))  # Gets start while listing
                records, failures = get_opportunities(
                    catalog, ids, client=client, max_workers=max_workers, progress=progress
                )
    except (ClientError, BotoCoreError) as e:
        code, message = code_and_message(e)
        raise (unreachable(e) or OpptoolkitError(f"ListOpportunities failed: {code}: {message}")) from None
    df = to_frame(records, drop_empty=drop_empty)
    df.attrs["failures"] = failures
    df.attrs["calls"] = calls_since(conn, before)
    if aws_summary:
        aws = read_aws_summaries(conn, df["Id"], max_workers=max_workers)
        df = join_aws_summaries(df, aws)
        df.attrs["failures"] = failures + aws.attrs["failures"]
        for name, n in aws.attrs["calls"].items():
            df.attrs["calls"][name] = df.attrs["calls"].get(name, 0) + n
    return df


def without_metadata(response: Any) -> dict[str, Any]:
    """Return an answer as a dict without botocore's ``ResponseMetadata``."""
    out = dict(response)
    out.pop("ResponseMetadata", None)
    return out


@takes_connection
def read_aws_summaries(
    catalog: Catalog | Connection,
    identifiers: Iterable[str],
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    reads_per_second: float | None = None,
    max_workers: int = 4,
) -> pd.DataFrame:
    """Read AWS's view of opportunities (GetAwsOpportunitySummary) into ``Aws.*`` columns.

    One read per opportunity, paced within the read quota. An opportunity AWS has no summary for
    (the service answers ResourceNotFoundException: AWS has not approved or referred it) gets blank
    ``Aws.*`` cells; any other error is listed in ``df.attrs["failures"]``.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit (as :func:`read_opportunities`).
    identifiers : iterable of str
        Opportunity ``Id`` values.
    client, boto3_session, endpoint_url, progress, reads_per_second, max_workers
        As :func:`read_opportunities`.

    Returns
    -------
    DataFrame
        ``Id`` and one ``Aws.<member>`` column per member of the answer (``Aws.LifeCycle.Stage``,
        ``Aws.Insights.EngagementScore``, ``Aws.OpportunityTeam[0].Email``, ...), in the order of
        ``identifiers``. Output-only: nothing here is ever sent back.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     approved = [r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Approved"][:2]
    ...     aws = read_aws_summaries("Sandbox", approved, endpoint_url=sb.endpoint_url, progress=False)
    >>> list(aws["Id"]) == approved, "Aws.Insights.EngagementScore" in aws
    (True, True)
    """
    ids = list(identifiers)
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    catalog, client, before = conn.catalog, conn.client, dict(conn.pacer.calls)

    def fetch(identifier: str) -> dict[str, Any] | None:
        try:
            return without_metadata(
                client.get_aws_opportunity_summary(Catalog=catalog, RelatedOpportunityIdentifier=identifier)
            )
        except client.exceptions.ResourceNotFoundException:
            return {"RelatedOpportunityId": identifier}  # AWS has none: blank cells, not a failure

    with conn.paced():
        records, failures = get_opportunities(
            catalog, ids, client=client, max_workers=max_workers, progress=conn.progress, desc=AWS_SUMMARY, fetch=fetch
        )
    aws = to_frame(records, schema=output_schema(AWS_SUMMARY))
    aws = aws.rename(columns={c: AWS_PREFIX + c for c in aws.columns})
    aws.insert(0, "Id", aws.pop(AWS_PREFIX + "RelatedOpportunityId"))
    order = {ident: i for i, ident in enumerate(ids)}
    aws = aws.sort_values("Id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    aws.attrs["failures"] = failures
    aws.attrs["calls"] = calls_since(conn, before)
    return aws


def join_aws_summaries(df: pd.DataFrame, aws: pd.DataFrame) -> pd.DataFrame:
    """``df`` (an opportunity frame) with ``aws``'s ``Aws.*`` columns after its own, row for row by ``Id``."""
    joined = df.merge(aws.drop(columns=[c for c in ("Aws.Catalog",) if c in aws]), on="Id", how="left", sort=False)
    joined.index = df.index
    joined.attrs = dict(df.attrs)
    return joined
