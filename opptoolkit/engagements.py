"""Engagements as frames: their contexts, members and the resources shared in them.

An engagement is what AWS and partners share about a customer (model, GetEngagement: "the engagement's
contexts, members, ..."): a lead AWS sent (a ``Lead`` context), an opportunity submitted to AWS (a
``CustomerProject`` context and a snapshot of the opportunity).

Every frame here comes from the model's shapes (:func:`opptoolkit.to_frame` with
:func:`opptoolkit.schema.output_schema`): a newer botocore brings new members as new columns. All are reads.
The quotas page states no quota for these reads; the pacer keeps them to the read rate
(:func:`opptoolkit.quotas.quota_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from ._errors import code_and_message, unreachable
from ._values import is_blank
from .client import fetch_opportunity, get_opportunities, without_metadata
from .connection import Connection, as_connection, calls_since, takes_connection
from .exceptions import OpptoolkitError
from .frame import to_frame
from .schema import ID, Catalog, output_schema, service_model, shape_value

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = [
    "ENGAGEMENT_ANSWER",
    "MEMBERS",
    "RESOURCES",
    "get_engagements",
    "read_engagements",
    "read_resource_snapshots",
    "read_selling_settings",
    "read_snapshot_jobs",
    "snapshot_health",
]

_log = logging.getLogger(__name__)

ENGAGEMENT_ANSWER = "GetEngagement"
#: The engagement frame's columns of its members (ListEngagementMembers) and of the resources shared in it
#: (ListEngagementResourceAssociations): ``Members[0].CompanyName``, ``ResourceAssociations[0].ResourceId``.
MEMBERS, RESOURCES = "Members", "ResourceAssociations"
_MEMBER_LIST = ("ListEngagementMembers", "EngagementMemberList")
_RUNNING = shape_value("ResourceSnapshotJobStatus", "Running")
_STOPPED = shape_value("ResourceSnapshotJobStatus", "Stopped")
_RESOURCE_LIST = ("ListEngagementResourceAssociations", "EngagementResourceAssociationSummaries")


def _enum(shape: str, values: Iterable[str] | None, what: str) -> list[str]:
    """``values`` checked against a model enum (a did-you-mean comes from the model's own list)."""
    got = list(values or [])
    allowed = service_model().shape_for(shape).enum  # type: ignore[attr-defined]
    wrong = [v for v in got if v not in allowed]
    if wrong:
        raise OpptoolkitError(f"{what} {wrong[0]!r} is not one the model knows: use one of {', '.join(allowed)}")
    return got


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(xform_name(operation)).paginate(**params):
        yield from (dict(item) for item in page[key])


def _failed(what: str, e: Exception) -> OpptoolkitError:
    code, message = code_and_message(e)
    return unreachable(e) or OpptoolkitError(f"{what} failed: {code}: {message}")


def _flat(records: list[dict[str, Any]], operation: str, rename: tuple[str, str] | None = None) -> pd.DataFrame:
    """Flatten answers of ``operation`` with its answer's shape; ``rename`` a list member's prefix."""
    df = to_frame(records, schema=output_schema(operation))
    if rename is not None:
        # a list answer's items, renamed; its other members (NextToken) say nothing about the engagement
        old, new = rename
        df = df.loc[:, [c for c in df.columns if c.startswith(old + "[")]]
        df.columns = [new + c[len(old) :] for c in df.columns]
    return df


@takes_connection
def read_engagements(
    catalog: Catalog | Connection,
    *,
    context_types: Iterable[str] | None = None,
    identifiers: Iterable[str] | None = None,
    members: bool = True,
    resources: bool = True,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    reads_per_second: float | None = None,
    writes_per_second: float | None = None,
    max_workers: int = 4,
    drop_empty: bool = False,
) -> pd.DataFrame:
    """Read the engagements this account is a member of: one row per engagement, newest first.

    ListEngagements (every page), then GetEngagement each for its contexts (leads, customer projects);
    ListEngagementMembers each for its members and one ListEngagementResourceAssociations for the resources
    shared in them (the opportunities whose snapshots the members see).

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit (as :func:`opptoolkit.read_opportunities`): a :class:`~opptoolkit.Connection` brings its
        client, pacing and progress; ``client=`` / ``boto3_session=`` / ``endpoint_url=`` are a convenience for
        one call.
    context_types : list of str, optional
        Only engagements with a context of these types (the model's EngagementContextType: ``Lead``,
        ``CustomerProject``, ...).
    identifiers : list of str, optional
        Only these engagements.
    members, resources : bool
        Read the members (one call per engagement) and the shared resources (one call per page).
    reads_per_second, writes_per_second : float, optional
        Pacing of a connection made here (default: :func:`opptoolkit.connect`'s): the quotas page lists the engagement reads among neither its reads nor
        its writes, and the pacer keeps them to the read rate (:func:`opptoolkit.quotas.quota_of`).
    drop_empty : bool
        Drop the columns no engagement fills (the contexts' shapes are wide).

    Returns
    -------
    DataFrame
        GetEngagement's members as columns (``Id``, ``Title``, ``ModifiedAt``, ``Contexts[0].Type``,
        ``Contexts[0].Payload.Lead.Customer.CompanyName``, ...; a list nested in a context, such as a lead's
        interactions, is one cell), then ``Members[i].*`` and ``ResourceAssociations[i].*``.
        ``attrs["failures"]`` lists the engagements that could not be read, ``attrs["calls"]`` counts the calls.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast(), leads=True) as sb:
    ...     c = sb.client()
    ...     pending = c.list_engagement_invitations(Catalog="Sandbox", ParticipantType="RECEIVER",
    ...                                             PayloadType=["LeadInvitation"], Status=["PENDING"])
    ...     _ = c.accept_engagement_invitation(Catalog="Sandbox",
    ...                                        Identifier=pending["EngagementInvitationSummaries"][0]["Id"])
    ...     df = read_engagements("Sandbox", client=c, reads_per_second=1000, writes_per_second=1000)
    >>> df[["Contexts[0].Type", "MemberCount", "Members[1].CompanyName"]].values.tolist()
    [['Lead', 2, 'Sandbox partner']]
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    c, before = conn.client, dict(conn.pacer.calls)
    with conn.paced():
        records, failures = get_engagements(
            conn, context_types=context_types, identifiers=identifiers, max_workers=max_workers
        )
        try:
            people = [_members(c, conn.catalog, r[ID]) for r in records] if members else None
            shared = shared_resources(c, conn.catalog) if resources else None
        except (ClientError, BotoCoreError) as e:
            raise _failed("reading the engagements", e) from None
    df = _flat(records, ENGAGEMENT_ANSWER)
    parts = [df]
    if people is not None:
        by_id = {r[ID]: p for r, p in zip(records, people, strict=True)} if records else {}
        answers = [{_MEMBER_LIST[1]: by_id.get(r[ID], [])} for r in records]
        parts.append(_flat(answers, _MEMBER_LIST[0], (_MEMBER_LIST[1], MEMBERS)))
    if shared is not None:
        answers = [{_RESOURCE_LIST[1]: shared.get(r[ID], [])} for r in records]
        parts.append(_flat(answers, _RESOURCE_LIST[0], (_RESOURCE_LIST[1], RESOURCES)))
    out = pd.concat(parts, axis=1)
    if drop_empty:
        out = out.loc[:, [col for col in out.columns if out[col].map(lambda v: not _blank(v)).any()]]
    out.attrs["failures"] = failures
    out.attrs["calls"] = calls_since(conn, before)
    return out


def get_engagements(
    conn: Connection,
    *,
    context_types: Iterable[str] | None = None,
    identifiers: Iterable[str] | None = None,
    max_workers: int = 4,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the GetEngagement answers of this account's engagements, newest first, and the reads that failed.

    ListEngagements (filtered by ``context_types``) names them, or ``identifiers`` does; one GetEngagement each,
    through ``conn``'s client and pacer. A failure is ``{"Id", "code", "message"}``.
    """
    c = conn.client
    params: dict[str, Any] = {"Catalog": conn.catalog}
    if context_types:
        params["ContextTypes"] = _enum("EngagementContextType", context_types, "context type")
    ids = list(identifiers or [])

    def fetch(identifier: str) -> dict[str, Any] | None:
        try:
            return without_metadata(c.get_engagement(Catalog=conn.catalog, Identifier=identifier))
        except c.exceptions.ResourceNotFoundException:
            return None

    with conn.paced():
        try:
            listed = ids or (s[ID] for s in _pages(c, "ListEngagements", "EngagementSummaryList", **params))
            records, failures = get_opportunities(
                conn.catalog, listed, client=c, max_workers=max_workers, progress=conn.progress,
                desc=ENGAGEMENT_ANSWER, fetch=fetch,
            )  # fmt: skip
        except (ClientError, BotoCoreError) as e:
            raise _failed("reading the engagements", e) from None
    records.sort(key=lambda r: (r.get("CreatedAt") or datetime.min.replace(tzinfo=UTC), r[ID]), reverse=True)
    return records, failures


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, list) and not v) or (not isinstance(v, list) and is_blank(v))


def _members(client: Any, catalog: Catalog, engagement: str) -> list[dict[str, Any]]:
    try:
        return list(_pages(client, _MEMBER_LIST[0], _MEMBER_LIST[1], Catalog=catalog, Identifier=engagement))
    except client.exceptions.AccessDeniedException:
        return []  # model: "can only be invoked by members of the Engagement"


def shared_resources(client: Any, catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """Return the resources shared in each engagement of this account (model: "where the caller is a member").

    One ListEngagementResourceAssociations over every page, by engagement Id: each association's ``ResourceType``,
    ``ResourceId``, ``CreatedBy``, ... as answered.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for a in _pages(client, _RESOURCE_LIST[0], _RESOURCE_LIST[1], Catalog=catalog):
        out.setdefault(a["EngagementId"], []).append(a)
    return out


# -- snapshots: what the other members of an engagement see -----------------------------------------------------


@takes_connection
def read_selling_settings(
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
) -> dict[str, Any]:
    """Return the catalog's selling-system settings (GetSellingSystemSettings): the snapshot jobs' IAM role.

    ``ResourceSnapshotJobRoleArn`` is absent when no role is set, and then no snapshot job can run
    (multi-partner page: "Without the role, engagement partners won't see your updates").

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast(snapshot_job_role=None)) as sb:
    ...     read_selling_settings("Sandbox", client=sb.client())
    {'Catalog': 'Sandbox'}
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    with conn.paced():
        try:
            return without_metadata(conn.client.get_selling_system_settings(Catalog=conn.catalog))
        except (ClientError, BotoCoreError) as e:
            raise _failed("GetSellingSystemSettings", e) from None


@takes_connection
def read_snapshot_jobs(
    catalog: Catalog | Connection,
    *,
    engagement: str | None = None,
    status: str | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
) -> pd.DataFrame:
    """Read this account's resource snapshot jobs: ListResourceSnapshotJobs, then GetResourceSnapshotJob each.

    Returns
    -------
    DataFrame
        GetResourceSnapshotJob's members as columns: ``Id``, ``EngagementId``, ``ResourceId`` (the opportunity),
        ``Status`` (Running, Stopped), ``LastSuccessfulExecutionDate``, ``LastFailure``, ...
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    params: dict[str, Any] = {"Catalog": conn.catalog}
    if engagement:
        params["EngagementIdentifier"] = engagement
    if status:
        params["Status"] = _enum("ResourceSnapshotJobStatus", [status], "job status")[0]
    c = conn.client

    def fetch(job: str) -> dict[str, Any] | None:
        try:
            return without_metadata(
                c.get_resource_snapshot_job(Catalog=conn.catalog, ResourceSnapshotJobIdentifier=job)
            )
        except c.exceptions.ResourceNotFoundException:
            return None

    with conn.paced():
        try:
            jobs = (j[ID] for j in _pages(c, "ListResourceSnapshotJobs", "ResourceSnapshotJobSummaries", **params))
            records, failures = get_opportunities(
                conn.catalog, jobs, client=c, progress=conn.progress, desc="GetResourceSnapshotJob", fetch=fetch
            )
        except (ClientError, BotoCoreError) as e:
            raise _failed("reading the resource snapshot jobs", e) from None
    df = _flat(records, "GetResourceSnapshotJob")
    df.attrs["failures"] = failures
    return df


#: Why AWS may not see an opportunity, in the ``problem`` column of :func:`snapshot_health` (most serious first).
NO_ROLE, NO_JOB, STOPPED, FAILING, WAITING = "no_role", "no_job", "stopped", "failing", "waiting"


def _arn_account(arn: Any) -> str | None:
    """Return the account an ARN names (``arn:aws:partnercentral:us-east-1:123456789012:catalog/...``), or None."""
    parts = str(arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


@takes_connection
def snapshot_health(
    catalog: Catalog | Connection,
    *,
    opportunities: pd.DataFrame | None = None,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Whether AWS (and the engagement's other members) see each shared opportunity's latest state.

    For each of this account's opportunities shared in an engagement (its snapshot jobs, and the resources the
    engagements list), the job's ``Status``, ``LastFailure`` and ``LastSuccessfulExecutionDate`` against the
    opportunity's ``LastModifiedDate``, and the selling-system role (GetSellingSystemSettings). The job makes a
    new snapshot revision when its opportunity changes (model, CreateResourceSnapshotJob: "The job creates a new
    snapshot only if the resource state has changed"); a change after its last successful run is a change the
    members do not see yet.

    Parameters
    ----------
    catalog : {"AWS", "Sandbox"} or Connection
    opportunities : DataFrame, optional
        A pull or a mirror (``Id``, ``LastModifiedDate``): each opportunity's last change is taken from it
        instead of one GetOpportunity read per shared opportunity.
    now : datetime, optional
        Only for the message's wording of how long ago (default: now).

    Returns
    -------
    DataFrame
        One row per (opportunity, engagement): ``Id``, ``EngagementId``, ``ResourceSnapshotJobId``,
        ``JobStatus``, ``LastSuccessfulExecutionDate``, ``LastFailure``, ``LastModifiedDate``,
        ``changed_since_snapshot`` (the opportunity changed after the last successful run, or the job never
        ran), ``aws_sees_latest`` (the opposite), ``problem`` (``no_role``, ``no_job``, ``stopped``,
        ``failing``, ``waiting`` or blank) and ``action`` (what to do, in words); the rows AWS does not see
        first. ``attrs["role"]`` is the role's ARN (None: no role).

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     c = sb.client()
    ...     task = c.start_engagement_from_opportunity_task(Catalog="Sandbox", Identifier="O7000000014",
    ...         ClientToken="t1", AwsSubmission={"InvolvementType": "Co-Sell"})
    ...     _ = sb.set_snapshot_job("Sandbox", task["ResourceSnapshotJobId"], status="Stopped")
    ...     _ = sb.edit("Sandbox", "O7000000014", lambda r: r["LifeCycle"].update(NextSteps="Call the CTO"))
    ...     health = snapshot_health("Sandbox", client=c)
    >>> health[["Id", "JobStatus", "aws_sees_latest", "problem"]].values.tolist()
    [['O7000000014', 'Stopped', False, 'stopped']]
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    c = conn.client
    with conn.paced():
        settings = read_selling_settings(conn)
        jobs = read_snapshot_jobs(conn)
        try:
            shared = [a for items in shared_resources(c, conn.catalog).values() for a in items]
        except (ClientError, BotoCoreError) as e:
            raise _failed("ListEngagementResourceAssociations", e) from None
        role = settings.get("ResourceSnapshotJobRoleArn")
        mine = {_arn_account(a) for a in jobs.get("Arn", pd.Series(dtype=object)).tolist()} - {None}
        pairs: dict[tuple[str, str], dict[str, Any]] = {}
        for job in jobs.to_dict("records"):
            pairs.setdefault((str(job["ResourceId"]), str(job["EngagementId"])), {"job": None})
            prior = pairs[(str(job["ResourceId"]), str(job["EngagementId"]))]["job"]
            # the running job first, then the newest: the one that keeps the snapshot current
            if prior is None or (job["Status"] == _RUNNING, job["CreatedAt"]) > (
                prior["Status"] == _RUNNING,
                prior["CreatedAt"],
            ):
                pairs[(str(job["ResourceId"]), str(job["EngagementId"]))]["job"] = job
        known = set(opportunities[ID].astype(str)) if opportunities is not None and ID in opportunities else set()
        for a in shared:
            key = (str(a["ResourceId"]), str(a["EngagementId"]))
            if key in pairs or (mine and a.get("CreatedBy") not in mine) or (known and key[0] not in known):
                continue
            pairs[key] = {"job": None}
        modified = _last_modified(c, conn.catalog, {k[0] for k in pairs}, opportunities)
    rows = []
    stamp = pd.Timestamp(now or datetime.now(UTC))
    for (ident, engagement), found in sorted(pairs.items()):
        if ident not in modified:
            continue  # not this account's opportunity (another member's), or gone
        rows.append(_health_row(ident, engagement, found["job"], modified[ident], role, conn.catalog, stamp))
    columns = [
        ID,
        "EngagementId",
        "ResourceSnapshotJobId",
        "JobStatus",
        "LastSuccessfulExecutionDate",
        "LastFailure",
        "LastModifiedDate",
        "changed_since_snapshot",
        "aws_sees_latest",
        "problem",
        "action",
    ]
    df = pd.DataFrame(rows, columns=columns)
    for col in ("LastSuccessfulExecutionDate", "LastModifiedDate"):
        df[col] = pd.to_datetime(df[col], utc=True)
    for col in ("changed_since_snapshot", "aws_sees_latest"):
        df[col] = df[col].astype(bool)
    order = {p: i for i, p in enumerate((NO_ROLE, NO_JOB, STOPPED, FAILING, WAITING, ""))}
    df = df.sort_values(
        ["aws_sees_latest", "problem", ID], key=lambda s: s.map(order) if s.name == "problem" else s, kind="stable"
    ).reset_index(drop=True)
    df.attrs["role"] = role
    df.attrs["catalog"] = conn.catalog
    return df


def _last_modified(client: Any, catalog: Catalog, ids: set[str], frame: pd.DataFrame | None) -> dict[str, pd.Timestamp]:
    """Each opportunity's LastModifiedDate: from ``frame`` where it has the row, else one GetOpportunity."""
    out: dict[str, pd.Timestamp] = {}
    if frame is not None and {ID, "LastModifiedDate"} <= set(frame.columns):
        for ident, when in zip(frame[ID].astype(str), frame["LastModifiedDate"], strict=True):
            if ident in ids and pd.notna(when):
                out[ident] = pd.Timestamp(when)
    for ident in sorted(ids - set(out)):
        try:
            rec = fetch_opportunity(client, catalog, ident)
        except (ClientError, BotoCoreError) as e:
            if (u := unreachable(e, unanswered=True)) is not None:
                raise u from None
            code, _ = code_and_message(e)
            if code in ("AccessDeniedException", "ResourceNotFoundException"):
                continue  # another member's opportunity
            raise _failed(f"GetOpportunity {ident}", e) from None
        if rec is not None:
            out[ident] = pd.Timestamp(rec["LastModifiedDate"])
    return out


def _health_row(
    ident: str,
    engagement: str,
    job: Mapping[str, Any] | None,
    modified: pd.Timestamp,
    role: str | None,
    catalog: Catalog,
    now: pd.Timestamp,
) -> dict[str, Any]:
    last = job.get("LastSuccessfulExecutionDate") if job is not None else None
    last = None if last is None or pd.isna(last) else pd.Timestamp(last)
    failure = job.get("LastFailure") if job is not None else None
    failure = None if failure is None or is_blank(failure) else str(failure)
    changed = last is None or modified > last
    since = f"since {last.strftime('%Y-%m-%d %H:%M')} UTC" if last is not None else "ever"
    if role is None:
        problem = NO_ROLE
        action = (
            f"no snapshot-job role is set for the {catalog} catalog, so no job can share the opportunity's changes: "
            "set the IAM role with PutSellingSystemSettings (ResourceSnapshotJobRoleIdentifier)"
        )
    elif job is None:
        problem = NO_JOB
        action = (
            f"no snapshot job keeps engagement {engagement} current: its members see the snapshot made when it "
            "was shared; create and start one (CreateResourceSnapshotJob, StartResourceSnapshotJob)"
        )
    elif job["Status"] != _RUNNING:
        problem = STOPPED
        action = (
            f"job {job[ID]} is {job['Status']}: start it (StartResourceSnapshotJob); AWS has not seen a change {since}"
        )
    elif changed and failure is not None:
        problem = FAILING
        action = f"job {job[ID]}'s runs fail ({failure.rstrip('.')}): fix that; AWS has not seen a change {since}"
    elif changed:
        problem = WAITING
        action = f"job {job[ID]} is running and has not run since the last change: AWS sees it after the next run"
    else:
        problem, action = "", ""
    return {
        ID: ident,
        "EngagementId": engagement,
        "ResourceSnapshotJobId": job[ID] if job is not None else None,
        "JobStatus": job["Status"] if job is not None else None,
        "LastSuccessfulExecutionDate": last,
        "LastFailure": failure,
        "LastModifiedDate": modified,
        "changed_since_snapshot": changed,
        "aws_sees_latest": not changed,
        "problem": problem,
        "action": action,
    }


@takes_connection
def read_resource_snapshots(
    catalog: Catalog | Connection,
    *,
    engagements: Iterable[str] | None = None,
    others_only: bool = True,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    progress: bool | None = True,
) -> pd.DataFrame:
    """Read the latest snapshot of each resource shared in this account's engagements (GetResourceSnapshot).

    The other members' opportunities, as they share them with this account: one row per (engagement,
    resource, template) with the snapshot's payload as columns (``Payload.OpportunitySummary.Lifecycle.Stage``,
    ...). ListEngagementResourceAssociations names the resources, ListResourceSnapshots their templates.

    Parameters
    ----------
    engagements : list of str, optional
        Only these engagements.
    others_only : bool
        Leave out the snapshots this account made of its own opportunities (told by the snapshot jobs' account).

    Returns
    -------
    DataFrame
        GetResourceSnapshot's members as columns; ``CreatedBy`` is the account that shared it.
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    c = conn.client
    wanted = set(engagements or [])
    records: list[dict[str, Any]] = []
    with conn.paced():
        try:
            mine: set[str | None] = set()
            if others_only:
                mine = {_arn_account(j["Arn"]) for j in _pages(c, "ListResourceSnapshotJobs",
                                                               "ResourceSnapshotJobSummaries", Catalog=conn.catalog)}  # fmt: skip
                mine.discard(None)
            for engagement, items in sorted(shared_resources(c, conn.catalog).items()):
                if wanted and engagement not in wanted:
                    continue
                for a in items:
                    if others_only and a.get("CreatedBy") in mine:
                        continue
                    summaries = _pages(
                        c,
                        "ListResourceSnapshots",
                        "ResourceSnapshotSummaries",
                        Catalog=conn.catalog,
                        EngagementIdentifier=engagement,
                        ResourceIdentifier=a["ResourceId"],
                        ResourceType=a["ResourceType"],
                    )
                    templates = sorted({s["ResourceSnapshotTemplateName"] for s in summaries})
                    for template in templates:
                        snap = c.get_resource_snapshot(
                            Catalog=conn.catalog,
                            EngagementIdentifier=engagement,
                            ResourceType=a["ResourceType"],
                            ResourceIdentifier=a["ResourceId"],
                            ResourceSnapshotTemplateIdentifier=template,
                        )
                        records.append(without_metadata(snap))
        except (ClientError, BotoCoreError) as e:
            raise _failed("reading the resource snapshots", e) from None
    return _flat(records, "GetResourceSnapshot")
