"""The plan of one row: its three-way merge, payload and validation (:func:`resolve`), or its create.

Also what names a row's request across pushes: the CreateOpportunity ClientToken (:func:`client_token`), the
ledger's intent (:func:`intent`), and what tells a row without an Id that is an existing record
(:func:`existing_record`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from .. import fields as P
from .._status import Reason, Status
from .._values import Blank, display, is_blank, normalise
from ..exceptions import Problem
from ..frame import to_payload
from ..rules import (
    ASSOCIATIONS,
    NOT_EDITS,
    PENDING_SUBMISSION,
    RELATED,
    SPEND_TARGET,
    association_keys,
    edit_ignored,
    is_read_only,
    model_problems,
    payload_warnings,
    related_of_row,
    validate_payload,
)
from ..schema import ID, IDENTIFIER, Catalog, Schema, compile_pattern, get_schema, label_for, split_column, template
from ..wire import input_shape, output_shape
from ._diff import (
    ASSOCIATION_REFUSALS,
    ASSOCIATIONS_ONLY,
    ASSOCIATIONS_SENT,
    NOT_DISASSOCIATED,
    association_edits,
    changes,
    ignored_edits,
    kept_blanks,
    row_values,
    same_value,
)

#: CreateOpportunity's reference page (https://docs.aws.amazon.com/partner-central/latest/APIReference/API_CreateOpportunity.html).
CREATE_PAGE = "https://docs.aws.amazon.com/partner-central/latest/APIReference/API_CreateOpportunity.html"
#: The members CreateOpportunity takes that UpdateOpportunity does not (the frame's output-only OpportunityTeam among them).
CREATE_ONLY = frozenset(input_shape("CreateOpportunity").members) - frozenset(input_shape("UpdateOpportunity").members)
TEAM = "OpportunityTeam"
#: What a conflict says of each field changed on both sides since the base (the three-way merge).
CHANGED_ON_SERVER = "changed on the server too"

NO_TOKEN = (
    "the row has no LastModifiedDate of its own, so a colleague's edit since the export cannot be told apart: "
    "export with LastModifiedDate or pass --base (base=)"
)


def id_problem(ident: str, operation: str = "GetOpportunity") -> Problem | None:
    """Return the model's rule that ``ident`` breaks as the ``Identifier`` of ``operation``, or None.

    A cell that is no opportunity Id is refused on its row (no read, no write), with the rule and never the
    value (it may be anything pasted into the column).

    Examples
    --------
    >>> id_problem("O7000000001") is None, str(id_problem("not an id"))
    (True, "Id: INVALID_STRING_FORMAT: is not in the format AWS accepts for Identifier, for example 'O60530'")
    """
    pattern = compile_pattern(input_shape(operation).members[IDENTIFIER].metadata.get("pattern"))
    if pattern is not None and pattern.fullmatch(ident):
        return None  # the usual Id, at a regular expression's speed
    found = [p for p in model_problems({"Catalog": "AWS", IDENTIFIER: ident}, operation) if p.field == IDENTIFIER]
    return Problem(None, ID, found[0].code, found[0].message) if found else None


def apply(row: dict[str, Any], new_values: dict[str, Any]) -> dict[str, Any]:
    """Return a row with ``new_values`` ({column: new}) applied, in the frame's terms."""
    out = dict(row)
    for col, new in new_values.items():
        out[col] = list(new) if isinstance(new, tuple) else new
    return out


def payload_columns(row: dict[str, Any], columns: Iterable[str], schema: Schema) -> set[str]:
    """``columns`` of ``row`` named as :func:`opptoolkit.to_payload` indexes them, for validation.

    A payload leaves out the wholly blank entries of a list of structures, so the frame's
    ``Contacts[2]`` is the payload's ``Contacts[0]`` when entries 0 and 1 are blank, and the
    rules name the payload's entries. A column of an entry left wholly blank (removed) keeps its
    name: the payload has no entry for it.

    >>> payload_columns({"Customer.Contacts[2].Email": "a@b.co"}, ["Customer.Contacts[2].Email"], get_schema())
    {'Customer.Contacts[0].Email'}
    """
    out: set[str] = set()
    filled: dict[str, list[int]] = {}
    for col in columns:
        base, idx, member = split_column(col)
        if idx is None:
            out.add(col)
            continue
        if base not in filled:
            filled[base] = sorted({j for c, v in row.items() if (j := _entry(c, v, base, schema)) is not None})
        entries = filled[base]
        out.add(f"{base}[{entries.index(idx)}].{member}" if idx in entries else col)
    return out


def _entry(column: str, value: Any, base: str, schema: Schema) -> int | None:
    """Return the index of the entry of ``base`` that ``column`` gives a value to in a payload, or None."""
    b, idx, _ = split_column(column)
    if b != base or idx is None or is_blank(value):
        return None
    if isinstance(value, (list, tuple)) and all(is_blank(x) for x in value):
        return None
    try:
        sent = schema.field_for(column).writable
    except KeyError:
        sent = False  # a column the model does not know: never sent
    return idx if sent else None


def token(row: dict[str, Any]) -> pd.Timestamp | None:
    """Return the row's LastModifiedDate (the concurrency token) as a UTC Timestamp, or None."""
    v = row.get("LastModifiedDate")
    return None if is_blank(v) else normalise(v, get_schema()["LastModifiedDate"])


def intent(ident: str | None, values: Mapping[str, Any]) -> list[Any]:
    """Return a change as the ledger keys it: the Id and each column's new value, normalised, as text.

    The same for the values an update sends (:meth:`Row.intent`) and for those the server holds after it
    (:func:`held_values`), so the next run can tell from a read whether an update whose outcome was unknown
    landed, with no value in the ledger (it holds a keyed hash of this).

    Examples
    --------
    >>> intent("O1", {"Project.Title": "A", "LifeCycle.Stage": "Prospect"})
    ['O1', [('LifeCycle.Stage', "'Prospect'"), ('Project.Title', "'A'")]]
    """
    return [ident, sorted((c, display(n)) for c, n in values.items())]


def held_values(record: dict[str, Any], columns: Iterable[str], schema: Schema) -> dict[str, Any]:
    """Return the server's record's value of each column, normalised as an edit's new value is (:func:`changes`)."""
    row = row_values(record)
    return {c: normalise(row.get(c), schema.field_for(c)) for c in columns}


def sent_values(values: Mapping[str, Any]) -> list[Any]:
    """Return a create's values as the service will hold them, for a keyed fingerprint the next run can look for.

    The new opportunity's Id is not known until the create answers; when it did not, the next run looks among the
    opportunities created about then for the one holding these values. Left out: what the service may replace
    (model, ExpectedCustomerSpend.TargetCompany: "any other value will be automatically set to AWS").

    Examples
    --------
    >>> sent_values({"Project.Title": "A", "Project.ExpectedCustomerSpend[0].TargetCompany": "Partner"})
    [('Project.Title', "'A'")]
    """
    kept: list[Any] = intent(None, {c: n for c, n in values.items() if template(c) != SPEND_TARGET})[1]
    return kept


@dataclass
class Row:
    """One edited row on its way through plan -> merge -> push."""

    label: str
    id: str | None
    edit: dict[str, Any]
    action: str = Status.UNCHANGED
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    token: datetime | None = None
    note: str = ""
    #: the column-wise compare (:func:`unchanged_rows`) found no change against the base: the
    #: row is unchanged without more work, and ``edit`` is not built
    same: bool = False
    #: the columns of ``edit`` in which the row may differ from its base, in ``edit``'s order
    #: (:func:`unchanged_cells` found the others certainly unchanged against it); None: any
    maybe: list[str] | None = None
    #: a row without an Id: the CreateOpportunity ClientToken the push derived for it (:func:`client_token`)
    client_token: str | None = None
    #: the edited fields AWS keeps its own value of (:func:`opptoolkit.rules.edit_ignored`), each with why: not in
    #: ``changes``, never sent as changed
    kept: list[Problem] = field(default_factory=list)
    #: the cells emptied in the sheet where the base has a value, which ``blank="keep"`` keeps
    #: (:func:`kept_blanks`): never sent, and said in the row's outcome so that no clear is believed silently
    emptied: list[Problem] = field(default_factory=list)
    #: a row without an Id: its request as the ledger names it (the ledger's keyed change key)
    request_key: str | None = None
    #: refused before planning (its Id is no opportunity Id: :func:`id_problem`): nothing of it is read or sent,
    #: and the ledger does not keep its Id
    refused: bool = False
    #: the association columns edited (:func:`association_edits`), ``{column: (old, new)}``: not in ``changes``
    #: (UpdateOpportunity does not take them), sent after the updates as association calls
    associations: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def intent(self) -> list[Any]:
        """Return the intended change (Id + new values), for the ledger's keyed ``change_key``."""
        return intent(self.id, {c: n for c, (_, n) in self.changes.items()})

    def sent(self) -> list[Any]:
        """Return the values a create sends as the server will hold them (:func:`sent_values`)."""
        return sent_values({c: n for c, (_, n) in self.changes.items()})

    def may_differ(self, column: str) -> bool:
        """Whether the row may differ from its base in ``column`` (not what the column-wise compare cleared)."""
        return not self.same and (self.maybe is None or column in self.maybe)

    def emptied_items(self) -> list[tuple[str, str, str]]:
        """Return the cells a blank kept as an outcome lists its errors apart: ``(code, field's API path, message)``."""
        return [(p.code, p.field, p.message) for p in self.emptied]

    def emptied_note(self) -> str | None:
        """Return what the row's outcome says of the cells a blank kept: each by its label, and how to clear it."""
        return "; ".join(f"{label_for(p.field)}: {p.message}" for p in self.emptied) or None

    def sent_note(self) -> str | None:
        """Return what a sent update says: the edits AWS keeps its own value of, the cells a blank kept (no value)."""
        kept = (
            "sent without these changes: " + "; ".join(f"{p.field}: {p.message}" for p in self.kept)
            if self.kept
            else None
        )
        return "; ".join(t for t in (kept, self.emptied_note()) if t)[:2000] or None

    def plan_row(self) -> dict[str, Any]:
        """Return the row as :func:`opptoolkit.plan_updates` reports it.

        What the push will do with it: its association edits are among its changes (sent as association calls),
        and a row of nothing else is planned ``update`` (``invalid`` when the push refuses one of its
        associations before any call), as the push's row reports its calls.
        """
        action, problems, warnings, note = self.action, self.problems, self.warnings, self.note
        if action == Status.UNCHANGED and self.associations:
            refused = [p for p in warnings if p.field in self.associations and p.code in ASSOCIATION_REFUSALS]
            action = Status.INVALID if refused else Status.UPDATE
            problems, warnings = [*problems, *refused], [w for w in warnings if w not in refused]
            note = "; ".join(t for t in (note, None if refused else ASSOCIATIONS_ONLY) if t)
        shown = {**self.changes, **self.associations}
        return {
            "row": self.label,
            "Id": self.id,
            "action": action,
            "changes": [f"{c}: {display(o)} → {display(n)}" for c, (o, n) in shown.items()],
            "changed_fields": list(shown),
            "errors": [str(p) for p in problems] + [f"{c}: {CHANGED_ON_SERVER}" for c in self.conflicts],
            # each error apart, in parallel: its code (for a filter or a count), the field's API path (the cell to
            # mark; "" for the whole row) and the message alone; ``errors`` keeps them in words
            "error_codes": [p.code for p in problems] + [str(Reason.CONFLICT)] * len(self.conflicts),
            "error_fields": [p.field for p in problems] + list(self.conflicts),
            "error_texts": [p.message for p in problems] + [CHANGED_ON_SERVER] * len(self.conflicts),
            "warnings": [str(p) for p in warnings],
            "note": note,
        }


def resolve(
    row: Row,
    base: dict[str, Any] | None,
    latest: dict[str, Any] | None,
    schema: Schema,
    blank: Blank,
    catalog: Catalog,
    today: date | None,
) -> None:
    """Decide the row's action and build its payload: the latest record + the row's changes.

    ``base`` is the row as exported (``{column: value}``; None: not known, the latest is taken
    as the base); ``latest`` the server's record now (None: not read -- a local dry run).

    Parameters
    ----------
    row : Row
        The row; its ``action``, ``changes``, ``problems``, ``warnings``, ``payload`` and ``token`` are set.
    base : dict or None
        The row as exported, ``{column: value}``.
    latest : dict or None
        The server's record now (a GetOpportunity response).
    schema : Schema
        The schema (:func:`opptoolkit.get_schema`).
    blank : {"keep", "clear"}
        What a blank cell means.
    catalog : {"AWS", "Sandbox"}
        The catalog the push goes to.
    today : date or None
        For the date rules (None: today, UTC).

    Examples
    --------
    >>> from opptoolkit import to_frame
    >>> from opptoolkit.sandbox import load_seed
    >>> latest = next(r for r in load_seed() if r["Id"] == "O7000000001")
    >>> base = to_frame([latest]).iloc[0].to_dict()
    >>> row = Row(label="2", id="O7000000001", edit=dict(base, **{"LifeCycle.NextSteps": "Call the CFO"}))
    >>> resolve(row, base, latest, get_schema(), "keep", "Sandbox", None)
    >>> str(row.action), list(row.changes), row.payload["LifeCycle"]["NextSteps"]
    ('update', ['LifeCycle.NextSteps'], 'Call the CFO')
    """
    latest_row = row_values(latest) if latest is not None else None
    row.kept = []
    if base is None and latest_row is None:
        row.action, row.note = Status.NOT_FOUND, "no such opportunity in the base or on the server"
        return
    base_row = base if base is not None else latest_row
    assert base_row is not None
    if base_row.get("Catalog") not in (None, catalog):
        row.action, row.note = Status.INVALID, f"the row belongs to catalog {base_row.get('Catalog')}, not {catalog}"
        return
    maybe = row.maybe if base is not None else None  # found against this base by the column-wise compare
    row.changes = changes(row.edit, base_row, schema, blank, maybe)
    # without a base the latest record is the base: its output-only members may have moved on
    # since the export (a solution associated), which is no edit of the analyst's
    ignored, row.associations = [], {}
    if base is not None or token(row.edit) == token(base_row):
        ignored = ignored_edits(row.edit, base_row, schema, blank, maybe)
        row.associations = association_edits(row.edit, base_row, schema, blank, maybe)
        if base is None:  # without a base the push only adds (one missing may be one added on the server since)
            lacking = {c for c, (o, n) in row.associations.items() if association_keys(o) - association_keys(n)}
            row.associations = {
                c: (o, n) for c, (o, n) in row.associations.items() if association_keys(n) - association_keys(o)
            }
            # a column with nothing to add sends no call: its note says what becomes of what the row lacks
            ignored = [p for p in ignored if p.field not in lacking - row.associations.keys()]
            ignored += [Problem(None, c, "ACTION_NOT_PERMITTED", NOT_DISASSOCIATED) for c in sorted(lacking)]
    if (
        maybe is None
    ):  # said, never silent (issue #31); with ``maybe`` the column-wise pass found them against this base
        row.emptied = kept_blanks(row.edit, base_row, schema, blank)
    emptied = row.emptied
    row.warnings = ignored + emptied
    if not row.changes:
        row.action = Status.UNCHANGED
        return
    onto = latest_row if latest_row is not None else base_row  # the server's full record when read
    base_token, exported = token(base_row), token(row.edit)
    if (base is None and exported is None) or base_token is None:
        # the row's own token is what tells a colleague's edit from ours; a token read just now
        # would make UpdateOpportunity overwrite whatever changed since the export
        row.action = Status.NO_TOKEN
        row.problems = [Problem(None, "LastModifiedDate", "REQUIRED_FIELD_MISSING", NO_TOKEN)]
        return
    if latest_row is not None and token(latest_row) != base_token:
        # the server moved on since the base: three-way merge, field by field
        remaining = {}
        for col, (old, new) in row.changes.items():
            f = schema.field_for(col)
            server = normalise(latest_row.get(col), f)
            if same_value(server, new, f):
                continue  # already so on the server
            if not same_value(server, old, f):
                row.conflicts.append(col)
            remaining[col] = (old, new)
        if row.conflicts:
            row.action = Status.CONFLICT
            row.note = f"changed on the server since the base ({display(base_token)})"
            return
        if not remaining:
            row.action, row.note = Status.UNCHANGED, "the server already has these values"
            return
        row.changes, onto = remaining, latest_row
    elif base is None and exported is not None and exported != base_token:
        # no base given and the export is older than the server's record: the edits cannot be
        # told apart from stale values, so nothing is sent
        row.action, row.conflicts = Status.CONFLICT, list(row.changes)
        row.note = "the record changed on the server since this export; pass base= (the export or a mirror) to merge"
        return
    status = onto.get(P.REVIEW_STATUS)
    # AWS answers an update of these fields and keeps its own value (edit_ignored): such a change is never sent as
    # one, and a row of nothing else spends no write
    row.kept = [Problem(None, c, "ACTION_NOT_PERMITTED", why) for c in row.changes if (why := edit_ignored(status, c))]
    if row.kept and len(row.kept) == len(row.changes):
        row.action, row.problems = Status.NOT_EDITABLE, list(row.kept)
        row.note = f"ReviewStatus is {status!r}: AWS would keep its own value of every changed field; not sent"
        return
    if row.kept:
        row.changes = {c: v for c, v in row.changes.items() if c not in {k.field for k in row.kept}}
    merged = apply(onto, {c: n for c, (_, n) in row.changes.items()})
    payload = to_payload(merged)
    merged_token = token(onto)
    stamp = None if merged_token is None else merged_token.to_pydatetime()
    payload.update({"Catalog": catalog, "LastModifiedDate": stamp})
    row.payload, row.token = payload, stamp
    # the record's associations: from the server's record when read, else what the base lists
    related = (latest.get("RelatedEntityIdentifiers") or {}) if latest is not None else related_of_row(onto)
    changed = payload_columns(merged, row.changes, schema)
    # the server's record, so that a value AWS answered outside the model's enum is sent back as it is
    # (rules.model_problems' ``stored``); not read, the export holds what AWS answered (built only when needed)
    row.problems = validate_payload(
        payload, changed=changed, review_status=status, related=related, today=today, stored=latest
    )
    if latest is None and any(p.code == "INVALID_ENUM_VALUE" for p in row.problems):
        row.problems = validate_payload(
            payload, changed=changed, review_status=status, related=related, today=today, stored=to_payload(onto)
        )
    row.warnings = (
        ignored
        + emptied
        + row.kept
        + payload_warnings(payload, changed=changed, related=related, review_status=status, stage=onto.get(P.STAGE))
    )
    if any(p.code == "ACTION_NOT_PERMITTED" for p in row.problems):
        row.action = Status.NOT_EDITABLE
        row.note = f"ReviewStatus is {status!r}"
    elif row.problems:
        row.action = Status.INVALID
    else:
        row.action = Status.UPDATE


def resolve_create(row: Row, schema: Schema, catalog: Catalog, today: date | None) -> None:
    """Plan a row without an Id: the CreateOpportunity payload of its filled cells, validated.

    The payload is the row's filled cells of the members UpdateOpportunity also takes (the frame's
    writable fields), with ``Catalog``; the ``ClientToken`` is the push's (:func:`opptoolkit.push_updates`
    derives it from the ledger and the payload). Validated as an update is, by the same rules
    (:func:`opptoolkit.rules.validate_payload`) against CreateOpportunity's input shape, every cell a
    change, and with no association (a new record has none: Committed and Launched need a solution).
    What a create cannot send is named, never dropped silently:

    * ``RelatedEntityIdentifiers``: "cannot be updated using the UpdateOpportunity or CreateOpportunity"
      (model, RelatedEntityIdentifiers); associations are ``AssociateOpportunity`` calls;
    * ``LifeCycle.ReviewStatus`` and the reviewer's members: "Creating an opportunity sets
      Lifecycle.ReviewStatus to Pending Submission" (:data:`CREATE_PAGE`);
    * the other members AWS sets (``Arn``, ``CreatedDate`` ...).

    ``OpportunityTeam``, which CreateOpportunity takes and UpdateOpportunity does not, is sent.

    A row with nothing to send is ``unchanged``.

    Examples
    --------
    >>> row = Row(label="5", id=None, edit={"Id": None, "Project.Title": "New deal", "Arn": "arn:x"})
    >>> resolve_create(row, get_schema(), "Sandbox", None)
    >>> str(row.action), row.payload, [str(w) for w in row.warnings]
    ('create', {'Project': {'Title': 'New deal'}, 'Catalog': 'Sandbox'}, ['Arn: ACTION_NOT_PERMITTED: output-only: set by AWS; not sent by CreateOpportunity'])
    >>> row.changes
    {'Project.Title': (None, 'New deal')}
    """
    send: dict[str, Any] = {}
    team: dict[int, dict[str, Any]] = {}
    dropped: dict[str, str] = {}  # field (a list's entries once) -> why it is not sent
    for col, value in row.edit.items():
        if col in NOT_EDITS or is_blank(value):
            continue
        f = schema.field_for(col)
        base, idx, member = split_column(col)
        if base == TEAM and idx is not None and TEAM in CREATE_ONLY:
            team.setdefault(idx, {})[member] = value  # CreateOpportunity takes it, UpdateOpportunity does not
            row.changes[col] = (None, normalise(value, f))
        elif not f.writable:
            why = (
                "associations are AssociateOpportunity calls, never part of CreateOpportunity (model)"
                + (f"; {ASSOCIATIONS_SENT}" if col in ASSOCIATIONS else "")
                if col.startswith(RELATED)
                else "output-only: set by AWS; not sent by CreateOpportunity"
            )
            dropped.setdefault(base if idx is not None else col, why)
        elif is_read_only(template(col)):
            if P.NEXT_STEPS_HISTORY in (col, base):
                dropped.setdefault(base, "set by AWS from each NextSteps; not sent")
            elif normalise(value, f) != PENDING_SUBMISSION:
                dropped[col] = (
                    f"set by AWS's review: creating an opportunity sets ReviewStatus to {PENDING_SUBMISSION!r} ({CREATE_PAGE}); not sent"
                )
        else:
            send[col] = value
            row.changes[col] = (None, normalise(value, f))
    warnings = [Problem(None, c, "ACTION_NOT_PERMITTED", why) for c, why in dropped.items()]
    row.warnings = warnings
    if not send and not team:
        row.action, row.note = Status.UNCHANGED, "no Id and no value to create an opportunity from"
        return
    payload = to_payload(send)
    payload.pop("Identifier", None)
    if team:
        payload[TEAM] = [team[i] for i in sorted(team)]
    payload["Catalog"] = catalog
    row.payload = payload
    changed = payload_columns(send, row.changes, schema)
    probe = {**payload, "ClientToken": row.client_token or "planned"}  # the model requires one; the push's is valid
    row.problems = validate_payload(probe, operation="CreateOpportunity", changed=changed, related={}, today=today)
    row.warnings = warnings + payload_warnings(payload, changed=changed, related={})
    row.action = Status.INVALID if row.problems else Status.CREATE
    row.note = "new: no Id"


#: The member that names a new row across pushes (model, PartnerOpportunityIdentifier: "the
#: opportunity's unique identifier in the partner's CRM system").
PARTNER_ID = "PartnerOpportunityIdentifier"


def create_request(payload: dict[str, Any]) -> list[Any]:
    """Return what names a new row's CreateOpportunity request: its ClientToken is derived from it.

    The partner's CRM id when the row has one: a row edited after an earlier push created it (or left
    its create unknown) is still the same request, so AWS answers with that opportunity or refuses the
    other body (model, ClientToken: "Conflicting client token submitted for a new request body"), never
    creates a second one. Without it, the whole payload: the same cells are the same request.

    Examples
    --------
    >>> create_request({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": "CRM-1", "Project": {"Title": "A"}})
    ['PartnerOpportunityIdentifier', 'Sandbox', 'CRM-1']
    """
    ident = payload.get(PARTNER_ID)
    return [PARTNER_ID, payload.get("Catalog"), ident] if ident else [payload]


def client_token(payload: dict[str, Any]) -> str:
    """Return the ClientToken of a new row's CreateOpportunity: the same wherever the row is pushed from.

    The model's ClientToken is "Required to be unique, and should be unchanging", and the service answers a
    repeated token with the opportunity it created ("If you use the same client token, the API returns the
    following error: 'Conflicting client token submitted for a new request body.'" for another body). So the
    token is derived from what names the opportunity to the team (:func:`create_request`: the catalog and
    the partner's CRM id, else the row's cells), and from nothing else: the same row pushed from any ledger,
    folder or colleague sends the same token, and AWS creates it once.

    Why a plain SHA-256 and not a keyed hash (as the ledger's change keys are): a key would have to be shared
    by everyone who may push the row, and a secret shared so widely is none (a key per ledger is what made
    two ledgers create a row twice). The token reveals nothing AWS does not get anyway: it travels only in
    the very request that carries the CRM id and the cells it is derived from. It is never written to the
    ledger or a log, where a guessed CRM id could be checked against it: the ledger records the request by
    its keyed change key (:meth:`opptoolkit.ledger.Ledger.key`).

    Examples
    --------
    >>> a = client_token({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": "CRM-1", "Project": {"Title": "A"}})
    >>> b = client_token({"Catalog": "Sandbox", "PartnerOpportunityIdentifier": "CRM-1", "Project": {"Title": "B"}})
    >>> a == b, a.startswith("opptoolkit-"), len(a)
    (True, True, 75)
    """
    return (
        "opptoolkit-" + hashlib.sha256(_canonical(["CreateOpportunity", *create_request(payload)]).encode()).hexdigest()
    )


#: The members only an existing record has: GetOpportunity answers them, CreateOpportunity takes none of them
#: (the service sets them), less the row's own Id and the associations (a new row's solutions column asks for
#: AssociateOpportunity calls after its create). Arn, LastModifiedDate, CreatedDate as the model stands.
TRACES = tuple(
    m
    for m in output_shape("GetOpportunity").members
    if m not in input_shape("CreateOpportunity").members and m not in (ID, RELATED)
)
#: An opportunity's ARN ends in ``opportunity/<Id>`` (the recorded GetOpportunity answers, DESIGN.md).
_ARN_ID = re.compile(r"/opportunity/(O[0-9]+)$")


def existing_record(row: Row, *, base_id: str | None = None, why: str = "") -> bool:
    """Refuse a row without an Id that is an existing opportunity: it is never planned as a create.

    A row is one when it carries a member only an existing record has (:data:`TRACES`: an exported row whose Id
    was cleared, or whose Id column was deleted), or when the caller found it in the base (``base_id``, and
    ``why``: its partner CRM id is that record's, or it is that record cell for cell). The row becomes
    ``invalid`` with one problem saying what to do (restore its Id), so an edit is never sent as a second
    opportunity. Returns whether it was refused.

    Examples
    --------
    >>> row = Row(label="3", id=None, edit={"Id": None, "Project.Title": "A",
    ...           "Arn": "arn:aws:partnercentral:us-east-1:1:catalog/Sandbox/opportunity/O42"})
    >>> resolve_create(row, get_schema(), "Sandbox", None)
    >>> existing_record(row), str(row.action), row.problems[0].code
    (True, 'invalid', 'REQUIRED_FIELD_MISSING')
    >>> row.problems[0].message  # doctest: +ELLIPSIS
    'the row has no Id but carries the Arn of an existing opportunity (O42): restore its Id (O42) to edit it...'
    """
    found = [m for m in TRACES if not is_blank(row.edit.get(m))]
    if not found and base_id is None:
        return False
    ident = base_id
    if ident is None and isinstance(arn := row.edit.get("Arn"), str) and (m := _ARN_ID.search(arn.strip())):
        ident = m.group(1)
    named = f" ({ident})" if ident else ""
    if found:
        what = ", ".join(found[:-1]) + (" and " if len(found) > 1 else "") + found[-1]
        message = (
            f"the row has no Id but carries the {what} of an existing opportunity{named}: restore its Id{named} to "
            f"edit it; to create a new opportunity from it, clear its {what} cells too"
        )
    else:
        message = (
            f"the row has no Id but {why} {ident} in the export: it is that opportunity, not a new one; restore its "
            f"Id ({ident}) to edit it"
        )
    row.problems = [Problem(None, ID, "REQUIRED_FIELD_MISSING", message)]
    row.action, row.note = Status.INVALID, "an existing opportunity without its Id"
    return True


def duplicate_creates(rows: Iterable[Row]) -> None:
    """Refuse each planned create that repeats an earlier row's request: one opportunity would serve both.

    The same partner CRM id, or (rows without one) the same cells: see :func:`create_request`.
    """
    seen: dict[str, str] = {}
    for r in rows:
        if r.action != Status.CREATE or r.payload is None:
            continue
        request = create_request(r.payload)
        digest = _canonical(request)
        if digest in seen:
            what = "partner opportunity id" if request[0] == PARTNER_ID else "cells"
            msg = (
                f"the same {what} as row {seen[digest]}: one opportunity would be created for both; "
                "delete one or make them differ"
            )
            r.problems.append(Problem(None, PARTNER_ID if request[0] == PARTNER_ID else ID, "INVALID_VALUE", msg))
            r.action = Status.INVALID
        else:
            seen[digest] = r.label


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
