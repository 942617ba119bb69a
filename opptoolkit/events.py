"""Partner Central's EventBridge events, read from an SQS queue or a file, and the records they name synced.

Partner Central sends its events to EventBridge's default bus in us-east-1 with the source
``aws.partnercentral-selling`` (EventBridge reference, "AWS Partner Central Selling events"); a rule sends them
to an SQS queue, which :func:`sync_events` drains. An event carries ids, not records: AWS's recorded events
(the samples' Postman collection, CloudWatch Logs answers of 2025-02-19 and 2026-03-09) have

- ``Opportunity Created`` / ``Opportunity Updated`` (and, by the reference's list, ``Opportunity Accepted`` /
  ``Opportunity Rejected``): ``detail = {schemaVersion, catalog, opportunity: {identifier}}``;
- ``Engagement Resource Snapshot Created``: ``detail.resourceSnapshot`` with ``resourceType`` ``Opportunity``
  and ``resourceId`` the opportunity's Id;
- ``Engagement Invitation Created`` (and ``Accepted`` / ``Rejected`` / ``Expired``):
  ``detail.engagementInvitation`` with the invitation's ``id``, ``arn``, ``engagementId`` and ``payloadType``.

So a sync reads each opportunity an event names once (GetOpportunity, whatever the number or order of events
about it: it reads the record as it is now), and a record that is gone or no longer the caller's leaves the
mirror (:func:`opptoolkit.sync_mirror` with ``identifiers=``). Invitation events name no opportunity of the
mirror: they are counted, and left to :func:`opptoolkit.read_invitations`. EventBridge's delivery is best
effort (the reference says so), hence ``sync_mirror(..., reconcile=True)`` on a schedule, which lists summaries
only. A message is deleted from the queue only once the records it names are in the mirror's new version, so
a crash or a failed read leaves it to be delivered again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .connection import Connection, as_connection, takes_connection
from .exceptions import OpptoolkitError
from .mirror import SyncResult, snapshots, sync_mirror
from .storage import is_s3

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

    from .schema import Catalog

__all__ = ["SOURCE", "EventBatch", "opportunity_ids", "read_events", "sync_events"]

_log = logging.getLogger(__name__)

#: The ``source`` of Partner Central Selling's events.
SOURCE = "aws.partnercentral-selling"
_OPPORTUNITY_EVENTS = ("Opportunity Created", "Opportunity Updated", "Opportunity Accepted", "Opportunity Rejected")
_SNAPSHOT_EVENTS = ("Engagement Resource Snapshot Created", "Resource Snapshot Created")


def _named(event: dict[str, Any]) -> str | None:
    """Return the opportunity Id an event names, or None (an invitation's or an engagement's event)."""
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    if kind in _OPPORTUNITY_EVENTS:
        ident = (detail.get("opportunity") or {}).get("identifier")
        return str(ident) if ident else None
    if kind in _SNAPSHOT_EVENTS:
        snap = detail.get("resourceSnapshot") or {}
        return str(snap["resourceId"]) if snap.get("resourceType") == "Opportunity" and snap.get("resourceId") else None
    return None


def opportunity_ids(events: Iterable[dict[str, Any]], catalog: str | None = None) -> list[str]:
    """Return the opportunity Ids the events name, each once, oldest event first.

    Parameters
    ----------
    events : iterable of dict
        EventBridge events (``detail-type``, ``detail``, ``time``...); events of another source are skipped.
    catalog : {"AWS", "Sandbox"}, optional
        Keep only the events of this catalog (``detail.catalog``).

    Examples
    --------
    >>> e = {"source": SOURCE, "detail-type": "Opportunity Updated", "time": "2025-02-19T04:20:25Z",
    ...      "detail": {"schemaVersion": "1", "catalog": "Sandbox", "opportunity": {"identifier": "O5465588"}}}
    >>> opportunity_ids([e, e], "Sandbox"), opportunity_ids([e], "AWS")
    (['O5465588'], [])
    """
    ordered = sorted(
        (e for e in events if e.get("source") == SOURCE), key=lambda e: str(e.get("time", ""))
    )  # a stable sort: events of one second keep their order
    ids = [_named(e) for e in ordered if catalog is None or (e.get("detail") or {}).get("catalog") == catalog]
    return list(dict.fromkeys(i for i in ids if i))


@dataclass
class EventBatch:
    """Events read from a queue or a file, and how to let the queue go of them."""

    events: list[dict[str, Any]]
    #: SQS messages that held no Partner Central event (deleted with the others: nothing would read them).
    ignored: int = 0
    queue_url: str | None = None
    #: Per SQS message: its receipt handle and the events it held.
    messages: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    sqs: Any = None

    def acknowledge(self, failed: Iterable[str] = ()) -> int:
        """Delete from the queue the messages none of whose opportunities is in ``failed``; return how many."""
        if self.queue_url is None:
            return 0
        bad = set(failed)
        done = [handle for handle, events in self.messages if not bad.intersection(map(_named, events))]
        for start in range(0, len(done), 10):  # DeleteMessageBatch takes 10 at most
            batch = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(done[start : start + 10])]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=batch)
        return len(done)


def _unwrap(body: Any) -> list[dict[str, Any]]:
    """Return the events in one message: an EventBridge event, a list of them, or one inside SNS's envelope."""
    if isinstance(body, list):
        return [e for item in body for e in _unwrap(item)]
    if not isinstance(body, dict):
        return []
    if body.get("Type") == "Notification" and isinstance(body.get("Message"), str):  # through an SNS topic
        return _unwrap(json.loads(body["Message"]))
    return [body] if body.get("source") == SOURCE else []


def _is_queue(source: str) -> bool:
    return source.startswith(("https://sqs.", "http://", "https://")) and not is_s3(source)


def read_events(
    source: str | Path,
    *,
    boto3_session: boto3.Session | None = None,
    max_messages: int = 10_000,
    wait_seconds: int = 1,
) -> EventBatch:
    """Read Partner Central's events from an SQS queue (its URL) or a file (JSON, or JSON lines).

    Parameters
    ----------
    source : str or Path
        An SQS queue URL (the target of the EventBridge rule), or a file of events: one event, a list of
        them, or one per line.
    boto3_session : boto3.Session, optional
        For a queue: its credentials, region and endpoint (``AWS_ENDPOINT_URL_SQS`` is honoured).
    max_messages : int
        Stop after this many messages (the rest wait for the next run).
    wait_seconds : int
        Long polling: how long an empty queue is waited on before the batch ends.

    Returns
    -------
    EventBatch
        The events; for a queue, the messages stay on it (invisible for the queue's visibility timeout)
        until :meth:`EventBatch.acknowledge`.

    Examples
    --------
    >>> import json, tempfile
    >>> f = tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False)
    >>> _ = f.write(json.dumps({"source": SOURCE, "detail-type": "Opportunity Created", "time": "2025-02-19T03:11:25Z",
    ...     "detail": {"catalog": "Sandbox", "opportunity": {"identifier": "O5465588"}}})); f.close()
    >>> opportunity_ids(read_events(f.name).events)
    ['O5465588']
    """
    text = str(source)
    if not _is_queue(text):
        path = Path(source)
        if not path.is_file():
            raise OpptoolkitError(f"no file of events at {path}: give a file of events or an SQS queue URL")
        raw = path.read_text(encoding="utf-8").strip()
        try:
            bodies = [json.loads(raw)]
        except ValueError:
            try:
                bodies = [json.loads(line) for line in raw.splitlines() if line.strip()]
            except ValueError:
                raise OpptoolkitError(f"{path} is not JSON events (one event, a list, or one per line)") from None
        return EventBatch([e for b in bodies for e in _unwrap(b)])
    import boto3 as _boto3

    session = boto3_session or _boto3.Session()
    sqs = session.client("sqs", region_name=session.region_name or "us-east-1")
    batch = EventBatch([], queue_url=text, sqs=sqs)
    while len(batch.messages) + batch.ignored < max_messages:
        answer = sqs.receive_message(
            QueueUrl=text,
            MaxNumberOfMessages=min(10, max_messages - len(batch.messages) - batch.ignored),
            WaitTimeSeconds=wait_seconds,
        )
        got = answer.get("Messages", [])
        if not got:
            break
        for message in got:
            try:
                events = _unwrap(json.loads(message["Body"]))
            except ValueError:
                events = []
            if not events:
                batch.ignored += 1
            batch.events += events
            batch.messages.append((message["ReceiptHandle"], events))
    _log.info("read %d events in %d messages from %s", len(batch.events), len(batch.messages), text)
    return batch


@takes_connection(keeps=("boto3_session",))  # the session reaches the queue and the S3 mirror beside a Connection
def sync_events(
    path: str | Path,
    catalog: Catalog | Connection,
    events: str | Path,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    reads_per_second: float | None = None,
    progress: bool | None = True,
    **sync: Any,
) -> SyncResult:
    """Sync into the mirror in ``path`` exactly the opportunities that the events in ``events`` name.

    One GetOpportunity per opportunity named (duplicates and the order of events do not matter: the record is
    read as it is now); one ListOpportunities confirms a record that its Get says is gone before it leaves
    the mirror. Messages are deleted from the queue once the mirror holds what they name; those naming a
    record that could not be read stay for the next run.

    Parameters
    ----------
    path : str or Path
        The mirror's folder or ``s3://`` prefix.
    catalog : {"AWS", "Sandbox"} or Connection
        Events of the other catalog are left aside (and deleted from the queue). A connection, or the keyword
        forms (``client``, ``boto3_session``, ``endpoint_url``, ``reads_per_second``, ``progress``), as
        :func:`opptoolkit.sync_mirror` takes them.
    events : str or Path
        An SQS queue URL or a file of events (:func:`read_events`).
    **sync
        More arguments of :func:`opptoolkit.sync_mirror` (``aws_summary``, ``max_workers``...).

    Returns
    -------
    SyncResult
        What :func:`opptoolkit.sync_mirror` did, with ``events`` the number of events read.
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    boto3_session = boto3_session or conn.boto3_session
    batch = read_events(events, boto3_session=boto3_session)
    ids = opportunity_ids(batch.events, conn.catalog)
    # events name changes only: a mirror that has no sync yet starts with a full pull (the events' records in it)
    first = not snapshots(path, boto3_session=boto3_session)
    result = sync_mirror(path, conn, boto3_session=boto3_session, identifiers=None if first else ids, **sync)
    result.events = len(batch.events)
    batch.acknowledge(f["Id"] for f in result.failures)
    return result
