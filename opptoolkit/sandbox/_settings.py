"""The sandbox's selling-system settings and resource tags.

A mixin of :class:`~opptoolkit.sandbox._service.SellingService`, each rule citing its evidence (see
:mod:`._resources`).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ._errors import ServiceError

if TYPE_CHECKING:
    import threading

    from ._store import Store

SETTINGS, TAGS = "selling-system-settings", "tags"
#: model, TaggableResourceArn: ``arn:...:partnercentral:<region>:<12 digits>:catalog/<Catalog>/<type>/<id>``
_TAGGABLE = re.compile(
    r"arn:[^:]+:partnercentral:[^:]*:(?P<account>[0-9]{12}):catalog/(?P<catalog>[a-zA-Z]+)/(?P<kind>[^/]+)/(?P<id>[^/]+)"
)
#: model, ResourceSnapshotJobRoleIdentifier: an IAM role's ARN, or its name alone
_ROLE = re.compile(r"arn:aws:iam::\d{12}:role/.+")


class SettingsMixin:
    """Get/PutSellingSystemSettings and Tag/Untag/ListTagsForResource."""

    store: Store
    config: Any
    _write_lock: threading.Lock

    if TYPE_CHECKING:  # provided by the other mixins of SellingService (for mypy only, see _engagement_ops)

        def _job(self, catalog: str, identifier: str) -> dict[str, Any]: ...

    # -- settings ----------------------------------------------------------------------------------------------
    def role_arn(self, catalog: str) -> str | None:
        """Return the ResourceSnapshotJobRoleArn of ``catalog``: what was put, else the configured one."""
        text = self.store.get_doc(SETTINGS, catalog, "settings")
        if text is not None:
            return json.loads(text).get("ResourceSnapshotJobRoleArn")  # type: ignore[no-any-return]
        role = self.config.snapshot_job_role
        return None if role is None else self._role(role)

    def _role(self, identifier: str) -> str:
        # model, PutSellingSystemSettings: ResourceSnapshotJobRoleIdentifier is an IAM role's ARN or name (its
        # pattern), answered as ResourceSnapshotJobRoleArn (an ARN, its pattern); recorded: an ARN sent is answered
        # as an ARN (All API Actions / PutSellingSystemSettings)
        return identifier if _ROLE.fullmatch(identifier) else f"arn:aws:iam::{self.config.account_id}:role/{identifier}"

    def _GetSellingSystemSettings(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Retrieves the currently set system settings, which include the IAM Role used for resource
        # snapshot jobs"; recorded {Catalog, ResourceSnapshotJobRoleArn} (All API Actions / GetSellingSystemSettings)
        out: dict[str, Any] = {"Catalog": p["Catalog"]}
        role = self.role_arn(p["Catalog"])
        if role is not None:
            out["ResourceSnapshotJobRoleArn"] = role
        return out

    def _PutSellingSystemSettings(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Updates the currently set system settings"; the role is the request's (a request without one
        # sets none: our inference, as UpdateOpportunity treats a member left out)
        catalog = p["Catalog"]
        body: dict[str, Any] = {}
        if p.get("ResourceSnapshotJobRoleIdentifier"):
            body["ResourceSnapshotJobRoleArn"] = self._role(p["ResourceSnapshotJobRoleIdentifier"])
        with self._write_lock:
            self.store.put_doc(SETTINGS, catalog, "settings", json.dumps(body))
        return {"Catalog": catalog, **body}

    # -- tags --------------------------------------------------------------------------------------------------
    def _taggable(self, arn: str) -> tuple[str, str]:
        """Return (catalog, ARN) of the resource ``arn`` names; ResourceNotFoundException when the sandbox has none.

        The resources with an account in their ARN (the model's TaggableResourceArn pattern requires one): this
        account's opportunities and resource snapshot jobs (recorded: tags on a job, All API Actions / TagResource).
        """
        m = _TAGGABLE.fullmatch(arn)
        found: str | None = None
        if m is not None and m["account"] == self.config.account_id:
            catalog = m["catalog"]
            if m["kind"] == "opportunity":
                rec = self.store.get(catalog, m["id"])
                found = rec["Arn"] if rec is not None else None
            elif m["kind"] == "resource-snapshot-job":
                try:
                    found = self._job(catalog, m["id"])["job"]["Arn"]
                except ServiceError:
                    found = None
        if m is None or found != arn:
            raise ServiceError("ResourceNotFoundException", f"no resource {arn} in this account")
        return m["catalog"], arn

    def tags_of(self, arn: str) -> list[dict[str, str]]:
        m = _TAGGABLE.fullmatch(arn)
        text = self.store.get_doc(TAGS, m["catalog"] if m else "", arn)
        return json.loads(text) if text is not None else []

    def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        """Set ``tags`` on the resource ``arn`` (a key already there takes the new value); the caller holds the lock."""
        catalog, arn = self._taggable(arn)
        have = {t["Key"]: t["Value"] for t in self.tags_of(arn)}
        have.update({t["Key"]: t["Value"] for t in tags})
        self.store.put_doc(TAGS, catalog, arn, json.dumps([{"Key": k, "Value": v} for k, v in have.items()]))

    def _TagResource(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Assigns one or more tags (key-value pairs) to the specified resource"
        with self._write_lock:
            self.tag(p["ResourceArn"], p["Tags"])
        return {}

    def _UntagResource(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Removes a tag or tags from a resource"; recorded: TagKeys names them (All API Actions /
        # UntagResource); a key the resource does not have is nothing to remove
        with self._write_lock:
            catalog, arn = self._taggable(p["ResourceArn"])
            keep = [t for t in self.tags_of(arn) if t["Key"] not in set(p["TagKeys"])]
            self.store.put_doc(TAGS, catalog, arn, json.dumps(keep))
        return {}

    def _ListTagsForResource(self, p: dict[str, Any]) -> dict[str, Any]:
        # model: "Returns a list of tags for a resource"; recorded {Tags: [{Key, Value}]} (All API Actions /
        # ListTagsForResource)
        with self._write_lock:
            _, arn = self._taggable(p["ResourceArn"])
            return {"Tags": self.tags_of(arn)}
