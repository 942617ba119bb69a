"""The sandbox's partner-originated operations: solutions, associations, submission, assignment.

A mixin of :class:`opptoolkit.sandbox._service.SellingService` (``self.store``, ``self._load``,
``self._write_lock``, ``self.config``). Each rule cites the AWS text it comes from:

* "associating page": the developer guide's "Associating, disassociating and assigning opportunities"
  (https://docs.aws.amazon.com/partner-central/latest/developer-guide/associating-disassociating-assigning-opportunities.html);
* "quotas page": https://docs.aws.amazon.com/partner-central/latest/developer-guide/quotas.html;
* "<Operation> page": the API reference, https://docs.aws.amazon.com/partner-central/latest/APIReference/API_<Operation>.html;
* "model": botocore's service model (its documentation strings are the API reference's text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..quotas import ASSOCIATIONS_PER_OPPORTUNITY
from ..rules import RELATED
from ._seed import SOLUTION_RECORDS

if TYPE_CHECKING:
    import threading

    from ._store import Store


def _refused(field: str, code: str, message: str) -> Exception:
    """Return a ValidationException of one field, as the model shapes it (Reason, ErrorList[{FieldName, Message, Code}])."""
    from ._service import ServiceError

    return ServiceError(
        "ValidationException",
        f"{field}: {message}",
        Reason="BUSINESS_VALIDATION_FAILED",
        ErrorList=[{"FieldName": field, "Message": message, "Code": code}],
    )


class PartnerOperations:
    """ListSolutions, AssociateOpportunity and DisassociateOpportunity."""

    store: Store
    _write_lock: threading.Lock

    def _load(self, catalog: str, identifier: str) -> dict[str, Any]:  # SellingService's
        raise NotImplementedError

    # -- solutions ---------------------------------------------------------------------------------
    def solutions(self, catalog: str) -> list[dict[str, Any]]:
        """Return the partner's solutions in ``catalog`` (the seed's; the same in every catalog of the account)."""
        return [{"Catalog": catalog, **s} for s in SOLUTION_RECORDS]

    def _ListSolutions(self, p: dict[str, Any]) -> dict[str, Any]:
        # ListSolutions page: "Retrieves a list of Partner Solutions that the partner registered on Partner
        # Central", filtered by Status, Identifier, Category; sorted by the SolutionSort given.
        rows = self.solutions(p["Catalog"])
        for member, key in (("Status", "Status"), ("Identifier", "Id"), ("Category", "Category")):
            if p.get(member):
                rows = [r for r in rows if r[key] in p[member]]
        if p.get("AwsMarketplaceSolutionArn"):
            rows = [r for r in rows if r.get("AwsMarketplaceSolutionArn") in p["AwsMarketplaceSolutionArn"]]
        sort = p.get("Sort") or {"SortBy": "Identifier", "SortOrder": "ASCENDING"}
        key = {"Identifier": "Id"}.get(sort["SortBy"], sort["SortBy"])
        rows.sort(key=lambda r: (r[key], r["Id"]), reverse=sort["SortOrder"] == "DESCENDING")
        start = int(p.get("NextToken") or 0) if str(p.get("NextToken") or "0").isdigit() else 0
        limit = p.get("MaxResults") or 20
        out: dict[str, Any] = {"SolutionSummaries": rows[start : start + limit]}
        if start + limit < len(rows):
            out["NextToken"] = str(start + limit)
        return out

    # -- associations ------------------------------------------------------------------------------
    def _related_entity(self, p: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
        catalog, kind, entity = p["Catalog"], p["RelatedEntityType"], p["RelatedEntityIdentifier"]
        rec = self._load(catalog, p["OpportunityIdentifier"])
        return rec, kind, entity

    def _AssociateOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        from ._service import ServiceError

        with self._write_lock:
            rec, kind, entity = self._related_entity(p)
            # associating page: "To view your existing solutions, use the ListSolutions action"; a solution
            # the partner does not have is not found (the operation's errors include ResourceNotFoundException)
            if kind == "Solutions" and entity not in {s["Id"] for s in self.solutions(p["Catalog"])}:
                raise ServiceError(
                    "ResourceNotFoundException", f"Solution {entity} not found in catalog {p['Catalog']}"
                )
            related = dict(rec.get(RELATED) or {})
            have = list(related.get(kind) or [])
            if entity in have:
                return {}  # already associated: the association is what the caller asked for
            # quotas page, "Association quotas per opportunity": AWS products 20, Partner Solutions 10,
            # AWS Marketplace private offers 1
            cap = ASSOCIATIONS_PER_OPPORTUNITY.get(kind)
            if cap is not None and len(have) >= cap:
                raise _refused(
                    f"{RELATED}.{kind}",
                    "TOO_MANY_VALUES",
                    f"an opportunity takes at most {cap} {kind} (quotas page); it has {len(have)}: "
                    "disassociate one first",
                )
            related[kind] = [*have, entity]
            rec[RELATED] = related
            # associating page: RelatedEntityIdentifiers "cannot be updated using the UpdateOpportunity or
            # CreateOpportunity method": the association is its own write; the record's LastModifiedDate is
            # the token of the opportunity's own fields and is left as it is (the docs say nothing of it).
            self.store.put(rec)
        return {}

    def _DisassociateOpportunity(self, p: dict[str, Any]) -> dict[str, Any]:
        from ._service import ServiceError

        with self._write_lock:
            rec, kind, entity = self._related_entity(p)
            related = dict(rec.get(RELATED) or {})
            have = list(related.get(kind) or [])
            if entity not in have:
                # DisassociateOpportunity page: it "Allows you to remove an existing association"; there is none
                raise ServiceError(
                    "ResourceNotFoundException",
                    f"{kind} {entity} is not associated with opportunity {p['OpportunityIdentifier']}",
                )
            have.remove(entity)
            if have:
                related[kind] = have
            else:
                related.pop(kind)
            rec[RELATED] = related
            self.store.put(rec)
        return {}
