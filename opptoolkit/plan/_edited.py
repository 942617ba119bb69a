"""The edited rows of a push or a plan, and their base: which rows may have changed, and the plan of them all.

Pure, on frames already read (:mod:`opptoolkit.push` reads the sheet, the base and the server): the edited
frame checked (:func:`edited_frame`), the base by Id (:class:`Bases`), the rows that may have changed against it
found column by column (:func:`edited_rows`), and the dry run's frame of every row planned (:func:`plan_frame`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import compress, repeat
from typing import Any, cast

import numpy as np
import pandas as pd

from .. import fields as P
from .._gc import gc_paused
from .._status import Status
from .._values import Blank, is_blank
from ..exceptions import OpptoolkitError, SheetError
from ..frame import timestamp_problems
from ..schema import ID, Catalog, Field, Schema
from ..sheets import Extra, SheetRows
from ._diff import blank_cells, blank_notes, blank_or_equal, changes, compared_cells, writable_rows
from ._row import PARTNER_ID, Row, duplicate_creates, existing_record, id_problem, resolve, resolve_create

__all__ = [
    "Bases",
    "Edited",
    "bases_of",
    "edited_frame",
    "edited_rows",
    "ids_of",
    "needs_no_read",
    "plan_frame",
    "plan_new",
    "records",
]


def edited_frame(
    df: pd.DataFrame, schema: Schema, extra: Extra, catalog: Catalog
) -> tuple[pd.DataFrame, list[str | None], list[str]]:
    """Return the edited frame as it is planned, each row's Id (None: blank) and its label.

    A row is labelled by its spreadsheet row number when it came from a sheet (:class:`opptoolkit.sheets.SheetRows`),
    else by the frame's label. A frame without an ``Id`` column is all new rows. The whole input is refused
    (:class:`~opptoolkit.OpptoolkitError`, before any call) when an Id repeats, a column is not in the model
    (``extra="error"``; ``"keep"`` drops it), a time column holds text, or a row's own ``Catalog`` is not
    ``catalog``.

    Examples
    --------
    >>> from opptoolkit import get_schema
    >>> df = pd.DataFrame({"Id": ["O1", None], "Project.Title": ["A", "B"]})
    >>> _, ids, labels = edited_frame(df, get_schema(), "error", "Sandbox")
    >>> ids, labels
    (['O1', None], ['0', '1'])
    """
    if ID not in df.columns:  # every row is new: each is created (its Id comes back from CreateOpportunity)
        df = df.assign(**{ID: pd.Series([None] * len(df), index=df.index, dtype=object)})
    dup = df[ID][df[ID].duplicated() & df[ID].notna()]
    if len(dup):
        raise OpptoolkitError(f"Id appears more than once: {sorted(set(dup))[:5]}")
    unknown = [c for c in df.columns if _field(schema, str(c)) is None]
    if unknown and extra == "error":
        raise OpptoolkitError(
            f"columns not in the service model: {unknown[:5]}; rename them to a field, drop them, or pass "
            'extra="keep" (--extra keep) to keep them out of the push'
        )
    if unknown:  # extra="keep": the analyst's own columns, never sent
        df = df.drop(columns=unknown)
    ids = ids_of(df[ID])
    rows = SheetRows.of(df)  # from read_sheet: each row named as the sheet numbers it; else the frame's labels
    labels = rows.labels(df, ids) if rows is not None else list(map(str, df.index.tolist()))
    if problems := timestamp_problems(df, labels, schema):  # text typed into a frame's time column
        raise SheetError("cannot plan the edited rows", problems)
    if "Catalog" in df.columns:
        wrong = np.flatnonzero(~blank_or_equal(df["Catalog"], catalog))
        if len(wrong):
            first, theirs = labels[wrong[0]], df["Catalog"].iloc[wrong[0]]
            more = f" and {len(wrong) - 1} more" if len(wrong) > 1 else ""
            raise OpptoolkitError(
                f"row {first}{more}, Catalog: INVALID_VALUE: the row is from catalog {theirs!r}, not {catalog!r}; "
                f"push it with --catalog {theirs} (catalog={theirs!r}) or fix the Catalog column (nothing was sent)"
            )
    return df, ids, labels


def edited_rows(
    df: pd.DataFrame,
    ids: list[str | None],
    labels: list[str],
    bases: Bases | None,
    schema: Schema,
    catalog: Catalog,
    blank: Blank = "keep",
) -> Edited:
    """Return the rows of an edited frame (from :func:`edited_frame`): those that may have changed, each a :class:`Row`.

    With ``bases``, the rows that certainly have no change against it (compared column by column,
    :func:`opptoolkit.plan.unchanged_cells`) come back ``same``, without their values; each other row knows
    the columns in which it may differ (``Row.maybe``). A row whose Id is no opportunity Id is refused on its
    row (:func:`opptoolkit.plan.id_problem`); a row whose Id the base lacks gets no values (it is not found,
    whatever it holds). Every row in the base names the cells it emptied that ``blank="keep"`` keeps.

    Examples
    --------
    >>> from opptoolkit import get_schema
    >>> base = bases_of(pd.DataFrame({"Id": ["O1", "O2"], "LastModifiedDate": [pd.Timestamp("2026-01-01", tz="UTC")] * 2,
    ...                               "Project.Title": ["A", "B"]}))
    >>> df, ids, labels = edited_frame(pd.DataFrame({"Id": ["O1", "O2"], "Project.Title": ["A", "C"]}),
    ...                                get_schema(), "error", "Sandbox")
    >>> edit = edited_rows(df, ids, labels, base, get_schema(), "Sandbox")
    >>> edit.same, [(r.id, r.maybe) for r in edit.work]
    ([True, False], [('O2', ['Project.Title'])])
    """
    with gc_paused():
        maybe: dict[int, list[str]] = {}
        emptied: dict[int, list[str]] = {}
        if bases is None:
            same = np.zeros(len(df), dtype=bool)
        else:
            same, maybe, emptied = bases.unchanged(df, ids, schema, catalog, blank)
        work_at = np.flatnonzero(~same)  # the rows that may have changed: only they get a Row
        # an Id that is no opportunity Id is refused on its row, before any read or look at the base
        bad = {p: found for p in work_at.tolist() if ids[p] is not None and (found := id_problem(str(ids[p])))}
        # ... and values, unless their Id is not in the base: such a row is not_found whatever it holds
        valued = [p not in bad and (bases is None or ids[p] is None or ids[p] in bases) for p in work_at.tolist()]
        if bases is not None:
            bases.load(i for p in work_at.tolist() if (i := ids[p]) is not None and p not in bad)
        edits = iter(records(df, work_at[np.array(valued, dtype=bool)]))
        work = [
            Row(
                label=labels[p],
                id=ids[p],
                edit=next(edits) if v else {},
                maybe=maybe.get(p),
                emptied=blank_notes(emptied.get(p, ())),
            )
            for p, v in zip(work_at.tolist(), valued, strict=True)
        ]
        for r, p in zip(work, work_at.tolist(), strict=True):
            if p in bad:
                r.refused, r.action, r.problems, r.note = True, Status.INVALID, [bad[p]], "not an opportunity Id"
    return Edited(labels, ids, same.tolist(), work, emptied)


def ids_of(s: pd.Series) -> list[str | None]:
    """Each row's Id as text, None when blank.

    >>> ids_of(pd.Series(["O1", "", None]))
    ['O1', None, None]
    """
    blank = blank_cells(s)
    values = s.tolist()
    if isinstance(s.dtype, pd.StringDtype) and not blank.any():
        return values  # text already, none blank: the usual Id column
    return [None if b else str(v) for v, b in zip(values, blank.tolist(), strict=True)]


def records(df: pd.DataFrame, at: np.ndarray, *, blanks: bool = True) -> list[dict[str, Any]]:
    """Return the rows of ``df`` at positions ``at`` as ``{column: value}``.

    The values are those ``DataFrame.to_dict`` gives; ``blanks=False`` leaves the blank cells out (an empty
    list stays).

    Taken column by column (``to_dict("list")``), which boxes each value as ``to_dict("records")``
    does but without its per-cell iteration of every Arrow column.
    """
    rows = df.iloc[at]
    lists = rows.to_dict("list")
    names = [str(c) for c in lists]
    if blanks:
        return [dict(zip(names, values, strict=True)) for values in zip(*lists.values(), strict=True)]
    keep = np.array(
        [
            ~blank_cells(s)
            | (np.fromiter(map(isinstance, v, repeat(list)), dtype=bool, count=len(v)) if s.dtype == object else False)
            for (_, s), v in zip(rows.items(), lists.values(), strict=True)
        ]
    ).reshape(len(names), len(at))
    return [
        dict(compress(zip(names, values, strict=True), kept))
        for values, kept in zip(zip(*lists.values(), strict=True), keep.T.tolist(), strict=True)
    ]


@dataclass
class Edited:
    """The edited rows in order.

    Each row's label and Id, whether it is certainly unchanged against its base (``same``), and a :class:`Row`
    for each of the others (``work``).
    """

    labels: list[str]
    ids: list[str | None]
    same: list[bool]
    work: list[Row]
    #: The cells emptied in the sheet that ``blank="keep"`` keeps: ``{position: columns}``.
    emptied: dict[int, list[str]] = field(default_factory=dict)

    def rows(self) -> list[Row]:
        """Return a :class:`Row` for every row, in order (the unchanged ones ``same``, without values).

        An unchanged row still names the cells it emptied (``emptied``): a blank kept is said, never silent.
        """
        work = iter(self.work)
        return [
            Row(label=lb, id=i, same=True, edit={}, emptied=blank_notes(self.emptied.get(p, ()))) if s else next(work)
            for p, (lb, i, s) in enumerate(zip(self.labels, self.ids, self.same, strict=True))
        ]


def _field(schema: Schema, col: str) -> Field | None:
    try:
        return schema.field_for(col)
    except KeyError:
        return None


class Bases(Mapping[str, dict[str, Any]]):
    """The base (the records as exported) by Id.

    A row's ``{column: value}`` (blanks left out, lists kept) is built when asked for, so that only the rows
    that may have changed need one.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame.reset_index(drop=True)
        self.frame.columns = [str(c) for c in self.frame.columns]
        ids = self.frame[ID].astype(str).tolist()
        self.at = dict(zip(ids, range(len(ids)), strict=True))  # the last row of an Id
        self._rows: dict[str, dict[str, Any]] = {}
        self._index: dict[str, dict[str, str]] = {}
        self._title_ids: dict[str, list[str]] | None = None

    def __getitem__(self, ident: str) -> dict[str, Any]:
        if ident not in self._rows:
            self.load([ident])
        return self._rows[ident]

    def load(self, ids: Iterable[str]) -> None:
        """Build the rows of ``ids`` (those in the base) at once: one frame operation, not one per row."""
        ids = [i for i in dict.fromkeys(ids) if i in self.at and i not in self._rows]
        if not ids:
            return
        at = np.array([self.at[i] for i in ids], dtype=np.int64)
        self._rows.update(zip(ids, records(self.frame, at, blanks=False), strict=True))

    def __contains__(self, ident: object) -> bool:
        return ident in self.at

    def find(self, edit: dict[str, Any], schema: Schema) -> tuple[str, str] | None:
        """Return the Id of the base record a row without an Id is, and how it was told; None: none is.

        Its partner CRM id is that record's (``PartnerOpportunityIdentifier``, "the opportunity's unique
        identifier in the partner's CRM system", model), or it is that record cell for cell (the same title,
        and no change against it in any of the row's cells).
        """
        crm = edit.get(PARTNER_ID)
        if not is_blank(crm) and (ident := self._by(PARTNER_ID).get(str(crm).strip())) is not None:
            return ident, f"its {PARTNER_ID} is that of"
        title = edit.get(P.TITLE)
        if is_blank(title):
            return None
        for ident in self._titles().get(str(title), []):
            if not changes(edit, self[ident], schema, "clear"):
                return ident, "its cells are those of"
        return None

    def _by(self, column: str) -> dict[str, str]:
        """Return the Id of the last base row holding each value of ``column`` (text, blanks left out)."""
        if column not in self._index:
            values = self.frame[column] if column in self.frame.columns else pd.Series([], dtype=object)
            keep = ~blank_cells(values)
            texts = values[keep].astype(str).str.strip().tolist()
            self._index[column] = dict(zip(texts, self.frame.loc[keep, ID].astype(str).tolist(), strict=True))
        return self._index[column]

    def _titles(self) -> dict[str, list[str]]:
        """Return the base rows' Ids by title (a row without an Id is compared only with those of its title)."""
        if self._title_ids is None:
            self._title_ids = {}
            if P.TITLE in self.frame.columns:
                keep = ~blank_cells(self.frame[P.TITLE])
                for t, i in zip(
                    self.frame.loc[keep, P.TITLE].astype(str), self.frame.loc[keep, ID].astype(str), strict=True
                ):
                    self._title_ids.setdefault(t, []).append(i)
        return self._title_ids

    def __iter__(self) -> Iterator[str]:
        return iter(self.at)

    def __len__(self) -> int:
        return len(self.at)

    def unchanged(
        self, edit: pd.DataFrame, ids: list[str | None], schema: Schema, catalog: str, blank: Blank
    ) -> tuple[np.ndarray, dict[int, list[str]], dict[int, list[str]]]:
        """Per row of ``edit`` (whose Ids are ``ids``).

        In the base, of ``catalog`` there, and certainly without a change against it
        (:func:`opptoolkit.plan.unchanged_cells`); for each other row in the base, the columns in which it
        may differ (``{position: columns}``); and under ``blank="keep"`` the columns a row emptied where the
        base has a value (:func:`opptoolkit.plan.emptied_cells`).
        """
        at = cast("Callable[[str | None, int], int]", self.at.get)  # None is no Id: never a key
        pos = np.fromiter(map(at, ids, repeat(-1)), dtype=np.int64, count=len(ids))  # -1: not in the base
        found = pos >= 0
        if not found.any():
            return found, {}, {}
        take = np.where(found, pos, 0)  # a row not in the base compares with any: it is not unchanged anyway
        aligned = self.frame[[c for c in map(str, edit.columns) if c in self.frame.columns]]
        if not np.array_equal(take, np.arange(len(self.frame))):  # the usual edit keeps the export's order
            aligned = aligned.iloc[take]
        if "Catalog" in self.frame.columns:
            found &= blank_or_equal(self.frame["Catalog"].iloc[take], catalog)
        columns, cells, cleared = compared_cells(edit, aligned, schema, blank)
        same = found & cells.all(axis=0)
        maybe = np.flatnonzero(found & ~same)
        differ = ~cells[:, maybe]
        emptied: dict[int, list[str]] = {}
        if blank == "keep":  # cells emptied in the sheet: kept, and said so
            names, cleared = writable_rows(columns, cleared, schema)  # as emptied_cells says them, from one pass
            cleared &= found
            for p in np.flatnonzero(cleared.any(axis=0)).tolist():
                emptied[p] = [names[k] for k in np.flatnonzero(cleared[:, p]).tolist()]
        return (
            same,
            {p: [columns[k] for k in np.flatnonzero(differ[:, j]).tolist()] for j, p in enumerate(maybe.tolist())},
            emptied,
        )


def bases_of(frame: pd.DataFrame) -> Bases:
    """Return a base frame (the records as exported) by Id, refused when it cannot be one.

    A base needs its ``LastModifiedDate`` column (each record's concurrency token) and an Id on every row.

    Examples
    --------
    >>> base = bases_of(pd.DataFrame({"Id": ["O1"], "LastModifiedDate": [pd.Timestamp("2026-01-01", tz="UTC")]}))
    >>> "O1" in base, len(base)
    (True, 1)
    """
    if "LastModifiedDate" not in frame.columns:
        raise OpptoolkitError("the base has no LastModifiedDate column: export all columns, or use a mirror")
    if ID not in frame.columns or frame[ID].isna().any() or (frame[ID].astype(str).str.strip() == "").any():
        raise OpptoolkitError(
            "the base has rows without an Id: a base is the unedited export (or a mirror); export it again"
        )
    return Bases(frame)


def needs_no_read(r: Row, bases: Bases | None, schema: Schema, blank: Blank) -> bool:
    """Whether a row needs no read of the server's record: no Id, refused, not in the base, or no change against it."""
    if r.same or r.refused or r.id is None or (bases is not None and r.id not in bases):
        return True
    return bases is not None and not changes(r.edit, bases[r.id], schema, blank, r.maybe)


def plan_frame(
    edit: Edited,
    bases: Bases | None,
    latest: dict[str, dict[str, Any] | None],
    schema: Schema,
    blank: Blank,
    catalog: Catalog,
    today: date | None,
) -> pd.DataFrame:
    """Return the plan of :func:`opptoolkit.plan_updates`: each row of ``edit`` that may have changed resolved, in a frame."""
    plan_new([r for r in edit.work if r.id is None], bases, schema, catalog, today)
    for r in edit.work:
        if r.id is None or r.refused:
            continue
        if bases is not None and r.id not in bases:  # before any look at the base: a row of it costs a frame lookup
            r.action, r.note = Status.NOT_FOUND, "not in the base"
            continue
        resolve(r, bases[r.id] if bases is not None else None, latest.get(r.id), schema, blank, catalog, today)
    n = len(edit.labels)
    # an unchanged row as plan_row gives it, without a Row; then the others in their places
    columns: dict[str, list[Any]] = {
        "row": list(edit.labels),
        "Id": list(edit.ids),
        "action": [Status.UNCHANGED] * n,
        "changes": [[] for _ in range(n)],
        "changed_fields": [[] for _ in range(n)],
        "errors": [[] for _ in range(n)],
        "error_codes": [[] for _ in range(n)],
        "error_fields": [[] for _ in range(n)],
        "error_texts": [[] for _ in range(n)],
        "warnings": [[] for _ in range(n)],
        "note": [""] * n,
    }
    for p, r in zip(np.flatnonzero(~np.array(edit.same, dtype=bool)).tolist(), edit.work, strict=True):
        for c, v in r.plan_row().items():
            columns[c][p] = v
    for p, emptied in edit.emptied.items():  # a row the column-wise pass found unchanged: as resolve says the others
        if edit.same[p]:
            columns["warnings"][p] = [str(n) for n in blank_notes(emptied)]
    return pd.DataFrame(columns)


def plan_new(rows: list[Row], bases: Bases | None, schema: Schema, catalog: Catalog, today: date | None) -> None:
    """Plan the rows without an Id: each a create, unless it is an existing opportunity or repeats another row.

    A row that carries a trace of an existing record (:func:`opptoolkit.plan.existing_record`), or that the base
    holds (:meth:`Bases.find`), is refused, never created: deleting the Id column of an export, or clearing
    one Id cell, creates nothing.
    """
    for r in rows:
        resolve_create(r, schema, catalog, today)
        if not existing_record(r) and bases is not None and (known := bases.find(r.edit, schema)) is not None:
            existing_record(r, base_id=known[0], why=known[1])
    duplicate_creates(rows)
