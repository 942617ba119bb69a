"""A local Partner Central Selling API that the real boto3 client talks to, over HTTP.

The operations it serves (:data:`OPERATIONS`, the service model's operations it has a method for) answer as
AWS was recorded answering (tests/conformance replays the recordings) and otherwise with the service's
documented semantics (full-replace updates, the LastModifiedDate concurrency token, editability by
ReviewStatus, validation in the API's error codes, quotas, AWS's review simulated in the ``Sandbox`` catalog,
see :meth:`Sandbox.review`); any other operation answers ``UnknownOperationException``.

>>> print(", ".join(sorted(OPERATIONS)))  # doctest: +NORMALIZE_WHITESPACE
AcceptEngagementInvitation, AssignOpportunity, AssociateOpportunity, CreateEngagement,
CreateEngagementInvitation, CreateOpportunity, CreateResourceSnapshot, CreateResourceSnapshotJob,
DeleteResourceSnapshotJob, DisassociateOpportunity, GetAwsOpportunitySummary, GetEngagement,
GetEngagementInvitation, GetOpportunity, GetResourceSnapshot, GetResourceSnapshotJob,
GetSellingSystemSettings, ListEngagementByAcceptingInvitationTasks, ListEngagementFromOpportunityTasks,
ListEngagementInvitations, ListEngagementMembers, ListEngagementResourceAssociations, ListEngagements,
ListOpportunities, ListOpportunityFromEngagementTasks, ListResourceSnapshotJobs, ListResourceSnapshots,
ListSolutions, ListTagsForResource, PutSellingSystemSettings, RejectEngagementInvitation,
StartEngagementByAcceptingInvitationTask, StartEngagementFromOpportunityTask,
StartOpportunityFromEngagementTask, StartResourceSnapshotJob, StopResourceSnapshotJob, SubmitOpportunity,
TagResource, UntagResource, UpdateEngagementContext, UpdateOpportunity

Examples
--------
>>> from opptoolkit.sandbox import Sandbox
>>> with Sandbox() as sb:
...     client = sb.client()
...     page = client.list_opportunities(Catalog="Sandbox", MaxResults=5)
...     len(page["OpportunitySummaries"])
5
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..connection import get_client, sandbox_session
from ._engagement_ops import seed_leads
from ._errors import ServiceError
from ._events import EventPublisher
from ._http import SandboxServer
from ._seed import SEED_DAY, SEED_PATH, load_seed, seed_invitations, seed_records, shift_dates, write_seed
from ._service import OPERATIONS, SandboxConfig, SellingService
from ._store import Store

if TYPE_CHECKING:
    from botocore.config import Config

__all__ = [
    "OPERATIONS",
    "SEED_DAY",
    "SEED_PATH",
    "Sandbox",
    "SandboxConfig",
    "ServiceError",
    "load_seed",
    "seed_records",
    "shift_dates",
    "write_seed",
]

_log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _seeded(as_of: date) -> Store:
    """Return a store holding the seed as of ``as_of``: made once per day asked for, copied into each sandbox.

    Reading and storing the seed's 340 records is most of the cost of starting a sandbox; a copy of the
    stored pages is a small part of it.
    """
    store = Store()
    store.put_many(load_seed(as_of=as_of))
    service = SellingService(store)
    for invitation in seed_invitations(as_of=as_of):
        service.put_invitation(invitation)
    return store


class Sandbox:
    """A sandbox server on 127.0.0.1, in a background thread.

    Parameters
    ----------
    db : str or Path
        SQLite file that keeps state across restarts, or ``":memory:"`` (default).
    port : int
        TCP port; 0 picks a free one.
    config : SandboxConfig, optional
        Quotas, faults and latency. Defaults to the documented quotas (10 reads/s, 1 write/s).
    seed : bool
        Load the seed opportunities into an empty store.
    as_of : date, optional
        The day the seed's pipeline should look current on (default: today, UTC): its dates
        move by ``as_of - SEED_DAY`` days, so overdue, stale and recent opportunities keep the
        same mix whenever the sandbox starts. ``SEED_DAY`` gives the dates as committed.
    leads : bool
        Seed AWS's lead invitations too (new, expiring and expired ones, each on an engagement AWS
        holds; see :meth:`send_lead`). Off by default: the referral triage reads opportunity invitations.
    events : str, optional
        An SQS queue URL: each change the sandbox applies sends Partner Central's EventBridge event for it
        there (``sandbox/_events.py``), as a rule on the default bus would.

    Attributes
    ----------
    endpoint_url : str
        ``http://127.0.0.1:PORT``, for ``boto3.client(..., endpoint_url=...)``.
    service : SellingService
        The service behind the server (``service.calls`` counts requests per operation).
    """

    def __init__(
        self,
        db: str | Path = ":memory:",
        *,
        port: int = 0,
        config: SandboxConfig | None = None,
        seed: bool = True,
        as_of: date | None = None,
        leads: bool = False,
        events: str | None = None,
    ) -> None:
        self.store = Store(db)
        self.config = config or SandboxConfig()
        self.service = SellingService(self.store, self.config)
        if seed and self.store.count() == 0:
            self.store.copy_from(_seeded(as_of or datetime.now(UTC).date()))
            for lead in seed_leads(as_of or datetime.now(UTC).date()) if leads else ():
                self.service.send_lead("Sandbox", **lead)
        if events is not None:  # after the seed: the seed is the state before any event
            self.service.events = EventPublisher(events)
        self._server = SandboxServer(port, self.service)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """Return the TCP port the sandbox listens on."""
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        """Return the URL to give boto3 as ``endpoint_url``."""
        return f"http://127.0.0.1:{self.port}"

    def __repr__(self) -> str:
        return f"<Sandbox {self.endpoint_url} db={self.store.path!r} opportunities={self.store.count()}>"

    def start(self) -> Sandbox:
        """Serve in a daemon thread (returns self)."""
        if self._thread is None:
            # the accept loop sees a stop() between two polls: every 10 ms, so stopping takes that long, not 50 ms
            # (a test suite starts and stops hundreds); an idle poll costs microseconds
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.01,), name="opptoolkit-sandbox", daemon=True
            )
            self._thread.start()
            _log.info("sandbox listening on %s", self.endpoint_url)
        return self

    def stop(self) -> None:
        """Stop serving and close the store."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self.store.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, config: Config | None = None) -> Any:
        """Return a real boto3 ``partnercentral-selling`` client pointed at this sandbox.

        It is made as every client of the toolkit is (:func:`opptoolkit.get_client`), signed with dummy
        keys in ``us-east-1`` (requests are SigV4-signed as against AWS; the sandbox accepts any key).

        ``config`` (a ``botocore.config.Config``, e.g. ``Config(retries=...)``) overrides the
        toolkit's retry and timeout settings.
        """
        return get_client(boto3_session=sandbox_session(), endpoint_url=self.endpoint_url, config=config)

    def edit(self, catalog: str, identifier: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Change a stored record out of band, as another user would; returns the new record.

        ``change`` mutates the record (a GetOpportunity response) in place; LastModifiedDate moves on.
        """
        return self.service.edit(catalog, identifier, change)

    def review(
        self,
        catalog: str,
        identifier: str,
        status: str,
        *,
        reason: str | None = None,
        comments: str | None = None,
    ) -> dict[str, Any]:
        """Play AWS's review of a submitted opportunity; returns the new record.

        This sends what a client of AWS's ``Sandbox`` catalog sends to simulate the review (AWS's
        samples ``simulate_approval_api.py``, ``simulate_action_required_api.py``): the latest
        record with ``LifeCycle.ReviewStatus`` set to ``status`` and the reviewer's ``reason``
        (``ReviewStatusReason``) and ``comments`` (``ReviewComments``), through the same
        UpdateOpportunity code, without quota. A record that is ``Submitted`` or ``In review``
        can become ``In review``, ``Approved``, ``Action Required`` or ``Rejected`` (the decision alone
        is applied, as AWS's Sandbox does); another status raises :class:`ServiceError`
        (``ValidationException``). A record not under review raises it too here, where over HTTP the
        member is ignored (AWS answers 200 and keeps the status). Only the ``Sandbox`` catalog has it
        (``ValueError`` otherwise; in ``AWS`` the field is read-only).

        Examples
        --------
        >>> with Sandbox(config=SandboxConfig.fast()) as sb:
        ...     ident = next(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Submitted")
        ...     _ = sb.review("Sandbox", ident, "In review")
        ...     lc = sb.review("Sandbox", ident, "Action Required", reason="Missing customer details",
        ...                    comments="Please add the customer's website.")["LifeCycle"]
        ...     try:
        ...         sb.review("Sandbox", ident, "Approved")  # the partner must update it first
        ...     except ServiceError as e:
        ...         code = e.members["ErrorList"][0]["Code"]
        >>> lc["ReviewStatus"], lc["ReviewStatusReason"], code
        ('Action Required', 'Missing customer details', 'INVALID_RESOURCE_STATE')
        """
        return self.service.review(catalog, identifier, status, reason=reason, comments=comments)

    def send_lead(
        self, catalog: str, lead: dict[str, Any], *, title: str, message: str, **kwargs: Any
    ) -> tuple[str, str]:
        """Play AWS sharing a lead with this partner; return (engagement id, invitation id).

        ``lead`` is a LeadContext (customer, interactions); AWS's engagement holds it, and a LeadInvitation
        showing the customer and the interaction's source (not the contact) is sent to this account, as AWS's
        samples do with CreateEngagement and CreateEngagementInvitation. ``description``, ``sent``,
        ``expires`` and ``insights`` are optional.

        Examples
        --------
        >>> with Sandbox(config=SandboxConfig.fast()) as sb:
        ...     lead = {"Customer": {"CompanyName": "Acme Corp"}, "Interactions": [{"Contact": {
        ...         "BusinessTitle": "CTO", "Email": "cto@acme.example", "FirstName": "Ana", "LastName": "Lima"}}]}
        ...     engagement, invitation = sb.send_lead("Sandbox", lead, title="Acme lead", message="A lead for you")
        ...     inv = sb.client().get_engagement_invitation(Catalog="Sandbox", Identifier=invitation)
        >>> inv["PayloadType"], inv["Status"], inv["EngagementId"] == engagement
        ('LeadInvitation', 'PENDING', True)
        """
        return self.service.send_lead(catalog, lead, title=title, message=message, **kwargs)

    def partner_accepts(self, catalog: str, invitation: str, *, company: str, website: str | None = None) -> str:
        """Play the partner an invitation this account sent accepting it; return their opportunity's Id.

        They join the engagement (ListEngagementMembers) and share a snapshot of their opportunity
        (ListEngagementResourceAssociations, GetResourceSnapshot), as the recorded multi-partner flow shows.
        """
        return self.service.partner_accepts(catalog, invitation, company=company, website=website)

    def set_snapshot_job(
        self, catalog: str, job: str, *, status: str | None = None, failure: str | None = None
    ) -> dict[str, Any]:
        """Stop (``status="Stopped"``) or start a resource snapshot job, or make its runs fail with ``failure``.

        What AWS's side can do to a job that the API does not show happening: a job whose runs fail reports
        ``failure`` as its LastFailure and stops making snapshots; ``failure=None`` lets it succeed again.
        Returns the job as GetResourceSnapshotJob answers it.
        """
        return self.service.set_job(catalog, job, status=status, failure=failure)

    def record(self, catalog: str, identifier: str) -> dict[str, Any] | None:
        """Return the stored record, read directly (no quota)."""
        return self.store.get(catalog, identifier)

    def records(self, catalog: str) -> list[dict[str, Any]]:
        """Every stored record of a catalog, read directly (no quota)."""
        return list(self.store.iter_records(catalog))
