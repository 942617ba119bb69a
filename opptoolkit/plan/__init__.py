"""Pure planning: which edited rows may have changed, then for each diff, three-way merge, payload, validation.

No client and no files: given the edited rows, the base (the rows as exported) and the server's latest records,
the plan decides what a push does with each row and builds the payload it would send. :mod:`opptoolkit.push`
is the flow around it (it reads the sheet, the base and the server, and runs the calls); one module per job:

* ``_diff``: what an edit changes, row by row (:func:`changes`) and column by column over whole frames
  (:func:`unchanged_cells`), and the cells emptied that a blank keeps (:data:`KEPT_BLANK`);
* ``_row``: the plan of one row (:func:`resolve`, :func:`resolve_create`) in a :class:`Row`, and what names its
  request across pushes (:func:`client_token`, :func:`intent`);
* ``_edited``: the edited frame and its base by Id (:class:`Bases`), the rows that may have changed
  (:func:`edited_rows`), and the dry run's frame (:func:`plan_frame`).

Every UpdateOpportunity replaces the whole record, so:

* **changed** is decided against the *base*, and only columns present in the edited data can
  change (:func:`changes`);
* the payload is **the latest server record plus the row's changes**, sent with the
  LastModifiedDate of the record it was merged onto;
* when the server's record moved on since the base, a **three-way merge** keeps changes made on
  either side, and a field changed on both sides to different values makes the row a
  ``conflict`` (nothing is sent for it);
* the merged changes go to validation as they are (:func:`opptoolkit.rules.validate_payload`
  with ``changed=``): the rules about changes judge exactly what the edit changes.
"""

from __future__ import annotations

from ._diff import (
    ASSOCIATION_REFUSALS,
    ASSOCIATIONS_ONLY,
    ASSOCIATIONS_SENT,
    KEPT_BLANK,
    association_edits,
    blank_cells,
    blank_notes,
    blank_or_equal,
    changes,
    compared_cells,
    emptied_cells,
    eol,
    ignored_edits,
    kept_blanks,
    row_values,
    same_value,
    unchanged_cells,
    unchanged_rows,
    writable_rows,
)
from ._edited import (
    Bases,
    Edited,
    bases_of,
    edited_frame,
    edited_rows,
    ids_of,
    needs_no_read,
    plan_frame,
    plan_new,
    records,
)
from ._row import (
    CHANGED_ON_SERVER,
    PARTNER_ID,
    Row,
    client_token,
    create_request,
    duplicate_creates,
    existing_record,
    held_values,
    id_problem,
    intent,
    resolve,
    resolve_create,
    sent_values,
    token,
)

__all__ = [
    "ASSOCIATIONS_ONLY",
    "ASSOCIATIONS_SENT",
    "ASSOCIATION_REFUSALS",
    "CHANGED_ON_SERVER",
    "KEPT_BLANK",
    "PARTNER_ID",
    "Bases",
    "Edited",
    "Row",
    "association_edits",
    "bases_of",
    "blank_cells",
    "blank_notes",
    "blank_or_equal",
    "changes",
    "client_token",
    "compared_cells",
    "create_request",
    "duplicate_creates",
    "edited_frame",
    "edited_rows",
    "emptied_cells",
    "eol",
    "existing_record",
    "held_values",
    "id_problem",
    "ids_of",
    "ignored_edits",
    "intent",
    "kept_blanks",
    "needs_no_read",
    "plan_frame",
    "plan_new",
    "records",
    "resolve",
    "resolve_create",
    "row_values",
    "same_value",
    "sent_values",
    "token",
    "unchanged_cells",
    "unchanged_rows",
    "writable_rows",
]
