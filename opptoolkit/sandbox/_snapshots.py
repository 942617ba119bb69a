"""The sandbox's resource snapshots and the jobs that keep them current.

A mixin of :class:`~opptoolkit.sandbox._service.SellingService`, each rule citing its evidence (see
:mod:`._resources` for "recorded" and "model"). The working-with-multi-partner-opportunities page
(https://docs.aws.amazon.com/partner-central/latest/APIReference/working-with-multi-partner-opportunities.html,
"multi-partner page") says what they are for: "Engagement members share progress through snapshots—point in time,
immutable copies of specific fields from an underlying resource such as an opportunity [...] AWS provides snapshot
jobs—customer-owned jobs that automatically create new revisions when the resource changes. Once shared, snapshots
remain permanently accessible to engagement members", and that the jobs run with the role the selling-system
settings name: "Without the role, engagement partners won't see your updates."

A job runs when something reads what it keeps (a snapshot or a job is read): if its opportunity changed since its
last run, it makes a revision (only when the snapshot's fields changed: model, CreateResourceSnapshotJob, "The job
creates a new snapshot only if the resource state has changed") and records the run, or records why it could not.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..schema import service_model, shape_value
from ..wire import from_wire, output_shape, project, to_wire
from ._errors import ServiceError
from ._resources import (
    SUMMARY_TEMPLATE,
    TEMPLATES,
    job_arn,
    new_id,
    now_ms,
    page,
    refused,
    remember,
    replayed,
    snapshot_arn,
)

if TYPE_CHECKING:
    import threading

    from ._store import Store

SNAPSHOT, HEAD, JOB = "snapshot", "snapshot-head", "resource-snapshot-job"
RUNNING = shape_value("ResourceSnapshotJobStatus", "Running")
STOPPED = shape_value("ResourceSnapshotJobStatus", "Stopped")
OPPORTUNITY = shape_value("ResourceType", "Opportunity")
#: The sandbox's words for a run without the role (AWS's own wording was not recorded).
MISSING_ROLE = (
    "No ResourceSnapshotJobRole is set for this catalog: the job cannot create snapshots. "
    "Set it with PutSellingSystemSettings."
)


def summary_view(record: dict[str, Any]) -> dict[str, Any]:
    """Return the OpportunitySummary a snapshot holds of ``record`` (a GetOpportunity answer), model-driven.

    model, OpportunitySummaryView: the members the snapshot copies; recorded: GetResourceSnapshot answers them
    under ``Payload.OpportunitySummary`` with the life cycle as ``Lifecycle`` (All API Actions / GetResourceSnapshot),
    the name the view's shape gives it.
    """
    shape = service_model().shape_for("OpportunitySummaryView")
    source = {("Lifecycle" if k == "LifeCycle" else k): v for k, v in record.items()}
    return project(source, shape)  # type: ignore[no-any-return]


def _key(engagement: str, resource: str, template: str) -> str:
    return f"{engagement}/{OPPORTUNITY}/{resource}/{template}"


def _digest(summary: dict[str, Any]) -> str:
    """Return a digest of a snapshot's payload (what a job compares to decide whether the resource changed)."""
    text = json.dumps(summary, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _snapshot_shape() -> Any:
    return output_shape("GetResourceSnapshot")


def _job_shape() -> Any:
    return output_shape("GetResourceSnapshotJob")


class SnapshotsMixin:
    """Create/Get/ListResourceSnapshot(s) and Create/Get/List/Start/Stop/DeleteResourceSnapshotJob(s)."""

    store: Store
    config: Any
    _write_lock: threading.Lock

    if TYPE_CHECKING:  # provided by the other mixins of SellingService (for mypy only, see _engagement_ops)

        def _engagement(self, catalog: str, identifier: str) -> dict[str, Any]: ...
        def _member_only(self, doc: dict[str, Any]) -> dict[str, Any]: ...
        def _load(self, catalog: str, identifier: str) -> dict[str, Any]: ...
        def role_arn(self, catalog: str) -> str | None: ...
        def tag(self, arn: str, tags: list[dict[str, str]]) -> None: ...

    # -- snapshots in the store --------------------------------------------------------------------------------
    # Each revision is a document keyed by engagement, resource, template and revision; beside them a "head" per
    # (engagement, resource, template) holds the latest revision, who made it and a digest of its payload, so a
    # job's run, a Get and the associations read one small document instead of every snapshot.
    def _snapshots(self, catalog: str) -> list[dict[str, Any]]:
        return [from_wire(json.loads(t), _snapshot_shape()) for t in self.store.docs(SNAPSHOT, catalog)]

    def _heads(self, catalog: str) -> list[dict[str, Any]]:
        return [json.loads(t) for t in self.store.docs(HEAD, catalog)]

    def _head(self, catalog: str, engagement: str, resource: str, template: str) -> dict[str, Any] | None:
        text = self.store.get_doc(HEAD, catalog, _key(engagement, resource, template))
        return json.loads(text) if text is not None else None

    def _revision(self, catalog: str, engagement: str, resource: str, template: str, rev: int) -> dict[str, Any] | None:
        text = self.store.get_doc(SNAPSHOT, catalog, f"{_key(engagement, resource, template)}/{rev:09d}")
        return from_wire(json.loads(text), _snapshot_shape()) if text is not None else None

    def _put_snapshot(
        self, catalog: str, engagement: str, resource: str, template: str, summary: dict[str, Any], account: str
    ) -> int:
        """Store the next revision of a resource's snapshot in an engagement; return its revision.

        model, Revision: "a positive integer that is sequential and unique within the context of a resource view";
        recorded: the first is 1 (All API Actions / CreateResourceSnapshot).
        """
        head = self._head(catalog, engagement, resource, template)
        rev = 1 + (head["revision"] if head else 0)
        snap = {
            "Catalog": catalog,
            "Arn": snapshot_arn(self.config.region, catalog, engagement, OPPORTUNITY, resource, template, rev),
            "CreatedBy": account,
            "CreatedAt": now_ms(),
            "EngagementId": engagement,
            "ResourceType": OPPORTUNITY,
            "ResourceId": resource,
            "ResourceSnapshotTemplateName": template,
            "Revision": rev,
            "Payload": {"OpportunitySummary": summary},
        }
        key = _key(engagement, resource, template)
        self.store.put_doc(
            SNAPSHOT, catalog, f"{key}/{rev:09d}", json.dumps(to_wire(snap, _snapshot_shape()), ensure_ascii=False)
        )
        head = {
            "engagement": engagement,
            "resource": resource,
            "template": template,
            "created_by": account,
            "revision": rev,
            "digest": _digest(summary),
        }
        self.store.put_doc(HEAD, catalog, key, json.dumps(head))
        return rev

    def snapshot_of(self, catalog: str, engagement: str, opportunity: str, template: str) -> int:
        """Snapshot this account's opportunity in an engagement now (the caller holds the lock); return the revision."""
        return self._put_snapshot(
            catalog,
            engagement,
            opportunity,
            template,
            summary_view(self._load(catalog, opportunity)),
            self.config.account_id,
        )

    def put_partner_snapshot(
        self, catalog: str, engagement: str, resource: str, template: str, summary: dict[str, Any], account: str
    ) -> int:
        """Store another member's snapshot of their own resource, as their job would (the caller holds the lock)."""
        return self._put_snapshot(catalog, engagement, resource, template, summary, account)

    def associations(self, catalog: str) -> list[dict[str, Any]]:
        """Each (engagement, resource) that has a snapshot, as ListEngagementResourceAssociations summarises it."""
        seen: dict[tuple[str, str, str], dict[str, Any]] = {}
        for h in self._heads(catalog):
            key = (h["engagement"], h["resource"], h["created_by"])
            seen.setdefault(
                key,
                {
                    "Catalog": catalog,
                    "EngagementId": h["engagement"],
                    "ResourceType": OPPORTUNITY,
                    "ResourceId": h["resource"],
                    "CreatedBy": h["created_by"],
                },
            )
        return [seen[k] for k in sorted(seen)]

    def _template(self, template: str) -> str:
        # model, ResourceSnapshotTemplateIdentifier: "Must correspond to an existing and valid template for the
        # specified ResourceType"; the templates are the recorded ones (see _resources.TEMPLATES)
        if template not in TEMPLATES:
            raise refused(
                "ResourceSnapshotTemplateIdentifier",
                "INVALID_VALUE",
                f"{template!r} is not a template of an Opportunity: use {' or '.join(TEMPLATES)}",
                "REQUEST_VALIDATION_FAILED",
            )
        return template

    # -- snapshot operations -----------------------------------------------------------------------------------
    def _CreateResourceSnapshot(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "create an immutable snapshot of a specific resource, such as an opportunity, within the context
        # of an engagement"; recorded answer {Arn, Revision} (All API Actions / CreateResourceSnapshot)
        catalog, op = p["Catalog"], "CreateResourceSnapshot"
        template = self._template(p["ResourceSnapshotTemplateIdentifier"])
        with self._write_lock:
            known = replayed(self.store, op, p)
            if known is None:
                self._member_only(self._engagement(catalog, p["EngagementIdentifier"]))
                rev = self.snapshot_of(catalog, p["EngagementIdentifier"], p["ResourceIdentifier"], template)
                remember(self.store, op, p, str(rev))
            else:
                rev = int(known)
        arn = snapshot_arn(
            self.config.region, catalog, p["EngagementIdentifier"], OPPORTUNITY, p["ResourceIdentifier"], template, rev
        )
        return {"Arn": arn, "Revision": rev}

    def _GetResourceSnapshot(self, p: dict[str, Any]) -> dict[str, Any]:
        # model, Revision: "If omitted returns the latest revision"
        catalog = p["Catalog"]
        with self._write_lock:
            engagement, resource = p["EngagementIdentifier"], p["ResourceIdentifier"]
            template = p["ResourceSnapshotTemplateIdentifier"]
            self._member_only(self._engagement(catalog, engagement))
            self.run_jobs(catalog, engagement)
            head = self._head(catalog, engagement, resource, template)
            rev = p.get("Revision") or (head["revision"] if head else 0)
            found = self._revision(catalog, engagement, resource, template, rev) if head else None
        if found is None:
            raise ServiceError(
                "ResourceNotFoundException",
                f"no snapshot of {p['ResourceIdentifier']} ({p['ResourceSnapshotTemplateIdentifier']}"
                + (f", revision {p['Revision']}" if p.get("Revision") else "")
                + f") in engagement {p['EngagementIdentifier']}",
            )
        return found

    def _ListResourceSnapshots(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: snapshots of an engagement, filtered by ResourceType, ResourceIdentifier, template and CreatedBy
        # ("resources owned by the specified AWS account"); recorded summary members: Arn, CreatedBy, ResourceId,
        # ResourceSnapshotTemplateName, ResourceType, Revision (All API Actions / ListResourceSnapshots)
        catalog = p["Catalog"]
        with self._write_lock:
            self._member_only(self._engagement(catalog, p["EngagementIdentifier"]))
            self.run_jobs(catalog, p["EngagementIdentifier"])
            rows = [s for s in self._snapshots(catalog) if s["EngagementId"] == p["EngagementIdentifier"]]
        for member, key in (
            ("ResourceType", "ResourceType"),
            ("ResourceIdentifier", "ResourceId"),
            ("ResourceSnapshotTemplateIdentifier", "ResourceSnapshotTemplateName"),
            ("CreatedBy", "CreatedBy"),
        ):
            if p.get(member):
                rows = [r for r in rows if r[key] == p[member]]
        shape = output_shape("ListResourceSnapshots").members["ResourceSnapshotSummaries"].member  # type: ignore[attr-defined]
        return page([project(r, shape) for r in rows], p, "ResourceSnapshotSummaries", 20)

    # -- jobs in the store -------------------------------------------------------------------------------------
    def _job_docs(self, catalog: str) -> list[dict[str, Any]]:
        out = []
        for text in self.store.docs(JOB, catalog):
            doc = json.loads(text)
            if not doc.get("deleted"):
                doc["job"] = from_wire(doc["job"], _job_shape())
                out.append(doc)
        return out

    def _job(self, catalog: str, identifier: str) -> dict[str, Any]:
        text = self.store.get_doc(JOB, catalog, identifier)
        doc = json.loads(text) if text is not None else None
        if doc is None or doc.get("deleted"):
            raise ServiceError(
                "ResourceNotFoundException", f"Resource snapshot job {identifier} not found in catalog {catalog}"
            )
        doc["job"] = from_wire(doc["job"], _job_shape())
        return doc  # type: ignore[no-any-return]

    def _save_job(self, doc: dict[str, Any]) -> None:
        job = doc["job"]
        body = {**doc, "job": to_wire(job, _job_shape())}
        self.store.put_doc(JOB, job["Catalog"], job["Id"], json.dumps(body, ensure_ascii=False, sort_keys=True))

    def _new_job(
        self, catalog: str, engagement: str, opportunity: str, template: str, status: str, ident: str
    ) -> dict[str, Any]:
        rec = self._load(catalog, opportunity)  # ResourceNotFoundException for an opportunity it does not have
        job = {
            "Catalog": catalog,
            "Id": ident,
            "Arn": job_arn(self.config.region, self.config.account_id, catalog, ident),
            "EngagementId": engagement,
            "ResourceType": OPPORTUNITY,
            "ResourceId": opportunity,
            "ResourceArn": rec["Arn"],
            "ResourceSnapshotTemplateName": template,
            "CreatedAt": now_ms(),
            "Status": status,
        }
        doc = {"job": job, "failure": None}
        self._save_job(doc)
        return doc

    def start_snapshot_job(
        self, catalog: str, engagement: str, opportunity: str, *, tags: list[dict[str, str]] | None = None
    ) -> str:
        """Snapshot an opportunity in an engagement and start the job that keeps it current; return the job's Id.

        What the tasks do (the caller holds the lock): model, StartEngagementFromOpportunityTask, "CreateResourceSnapshot,
        CreateResourceSnapshotJob"; recorded, the job of a submission is Running, template OpportunitySummaryView, and
        ran a few seconds after it was created (Managing a multipartner opportunity / GetResourceSnapshotJob).
        """
        self.snapshot_of(catalog, engagement, opportunity, SUMMARY_TEMPLATE)
        n = sum(1 for _ in self.store.docs(JOB, catalog))
        ident = new_id("job-", 13, catalog, "task-job", engagement, opportunity, str(n))
        doc = self._new_job(catalog, engagement, opportunity, SUMMARY_TEMPLATE, RUNNING, ident)
        self._run(doc)
        if tags:
            self.tag(doc["job"]["Arn"], tags)
        return ident

    def run_jobs(self, catalog: str, engagement: str | None = None) -> None:
        """Run every Running job (of ``engagement``) whose opportunity changed since its last run (the caller holds the lock)."""
        for doc in self._job_docs(catalog):
            if doc["job"]["Status"] == RUNNING and engagement in (None, doc["job"]["EngagementId"]):
                self._run(doc)

    def _run(self, doc: dict[str, Any]) -> None:
        job = doc["job"]
        rec = self.store.get(job["Catalog"], job["ResourceId"])
        last = job.get("LastSuccessfulExecutionDate")
        if rec is None or (last is not None and rec["LastModifiedDate"] <= last):
            return
        # model, LastFailure: "If the job has encountered any failures, this field contains the error message from
        # the most recent failure"; multi-partner page: "Without the role, engagement partners won't see your updates"
        failure = doc.get("failure") or (None if self.role_arn(job["Catalog"]) else MISSING_ROLE)
        if failure is not None:
            if job.get("LastFailure") != failure:
                job["LastFailure"] = failure
                self._save_job(doc)
            return
        head = self._head(job["Catalog"], job["EngagementId"], job["ResourceId"], job["ResourceSnapshotTemplateName"])
        view = summary_view(rec)
        if head is None or head["digest"] != _digest(view):
            self._put_snapshot(
                job["Catalog"],
                job["EngagementId"],
                job["ResourceId"],
                job["ResourceSnapshotTemplateName"],
                view,
                self.config.account_id,
            )
        job["LastSuccessfulExecutionDate"] = now_ms()
        self._save_job(doc)

    # -- job operations ----------------------------------------------------------------------------------------
    def _CreateResourceSnapshotJob(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "create a job to generate a snapshot of the specified resource within an engagement"; recorded
        # answer {Arn, Id} (All API Actions / CreateResourceSnapshotJob). A created job is Stopped until started
        # (model, StartResourceSnapshotJob: "Starts a resource snapshot job that has been previously created";
        # recorded: the created job reads Stopped, All API Actions / GetResourceSnapshotJob).
        catalog, op = p["Catalog"], "CreateResourceSnapshotJob"
        template = self._template(p["ResourceSnapshotTemplateIdentifier"])
        with self._write_lock:
            known = replayed(self.store, op, p)
            if known is None:
                self._member_only(self._engagement(catalog, p["EngagementIdentifier"]))
                ident = new_id("job-", 13, catalog, op, p["ClientToken"])
                doc = self._new_job(
                    catalog, p["EngagementIdentifier"], p["ResourceIdentifier"], template, STOPPED, ident
                )
                if p.get("Tags"):
                    self.tag(doc["job"]["Arn"], p["Tags"])
                remember(self.store, op, p, ident)
            else:
                doc = self._job(catalog, known)
        return {"Id": doc["job"]["Id"], "Arn": doc["job"]["Arn"]}

    def _GetResourceSnapshotJob(self, p: dict[str, Any]) -> dict[str, Any]:
        with self._write_lock:
            doc = self._job(p["Catalog"], p["ResourceSnapshotJobIdentifier"])
            if doc["job"]["Status"] == RUNNING:
                self._run(doc)
        return doc["job"]  # type: ignore[no-any-return]

    def _ListResourceSnapshotJobs(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Lists resource snapshot jobs owned by the customer", filtered by engagement and status; Sort "If
        # omitted, results are sorted by CreatedDate in descending order"; MaxResults "If omitted, defaults to 50"
        catalog = p["Catalog"]
        with self._write_lock:
            self.run_jobs(catalog)
            rows = [d["job"] for d in self._job_docs(catalog)]
        if p.get("EngagementIdentifier"):
            rows = [r for r in rows if r["EngagementId"] == p["EngagementIdentifier"]]
        if p.get("Status"):
            rows = [r for r in rows if r["Status"] == p["Status"]]
        sort = p.get("Sort") or {}
        rows.sort(key=lambda r: (r["CreatedAt"], r["Id"]), reverse=sort.get("SortOrder", "DESCENDING") == "DESCENDING")
        shape = output_shape("ListResourceSnapshotJobs").members["ResourceSnapshotJobSummaries"].member  # type: ignore[attr-defined]
        return page([project(r, shape) for r in rows], p, "ResourceSnapshotJobSummaries", 50)

    def _StartResourceSnapshotJob(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Starts a resource snapshot job that has been previously created"; starting a running one changes
        # nothing (no rule refuses it)
        with self._write_lock:
            doc = self._job(p["Catalog"], p["ResourceSnapshotJobIdentifier"])
            if doc["job"]["Status"] != RUNNING:
                doc["job"]["Status"] = RUNNING
                self._save_job(doc)
            self._run(doc)
        return {}

    def _StopResourceSnapshotJob(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Stops a resource snapshot job. The job must be started prior to being stopped."
        with self._write_lock:
            doc = self._job(p["Catalog"], p["ResourceSnapshotJobIdentifier"])
            if doc["job"]["Status"] != RUNNING:
                raise refused(
                    "ResourceSnapshotJobIdentifier",
                    "INVALID_RESOURCE_STATE",
                    f"job {doc['job']['Id']} is {doc['job']['Status']}: the job must be started before it is stopped",
                )
            doc["job"]["Status"] = STOPPED
            self._save_job(doc)
        return {}

    def _DeleteResourceSnapshotJob(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "deletes a previously created resource snapshot job. The job must be in a stopped state before it
        # can be deleted" (the operation's errors include ConflictException: a running job conflicts). The
        # snapshots it made stay (multi-partner page: "Once shared, snapshots remain permanently accessible").
        with self._write_lock:
            doc = self._job(p["Catalog"], p["ResourceSnapshotJobIdentifier"])
            job = doc["job"]
            if job["Status"] != STOPPED:
                raise ServiceError(
                    "ConflictException", f"job {job['Id']} is {job['Status']}: stop it before deleting it"
                )
            self.store.put_doc(JOB, job["Catalog"], job["Id"], json.dumps({"deleted": True}))
        return {}

    # -- out of band -------------------------------------------------------------------------------------------
    def set_job(
        self, catalog: str, identifier: str, *, status: str | None = None, failure: str | None = None
    ) -> dict[str, Any]:
        """Stop or start a job, or make its runs fail with ``failure`` (None: they succeed again); return the job.

        As AWS's side or an administrator might; the job as GetResourceSnapshotJob answers it.
        """
        with self._write_lock:
            doc = self._job(catalog, identifier)
            if status is not None:
                doc["job"]["Status"] = shape_value("ResourceSnapshotJobStatus", status)
            doc["failure"] = failure
            if failure is not None:
                doc["job"]["LastFailure"] = failure  # its next run fails so; the answer shows it at once
            self._save_job(doc)
        return doc["job"]  # type: ignore[no-any-return]
