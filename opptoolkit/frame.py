"""Flatten Opportunity records into a DataFrame, and rows back into UpdateOpportunity payloads.

The frame has one row per opportunity and one column per leaf of the service model, named by
its dotted path (``Customer.Account.CompanyName``); lists of structures become indexed columns
(``Customer.Contacts[0].Email``), lists of scalars stay Python lists in one cell. Timestamps are
timezone-aware UTC; dates and amounts stay the strings the API sent.

Blank means null: an empty string, an empty list, NaN or None in a cell is *no value*, and is
left out of a payload, exactly as the API treats an omitted member (``shared/seed``: "If any
field is omitted, the API assumes that the field is set to null").
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from botocore.model import ListShape, Shape, StructureShape

from .model import ID, IDENTIFIER, FieldCatalog, get_catalog, split_column

__all__ = ["payload_from_record", "to_frame", "to_payload", "to_payloads"]

_log = logging.getLogger(__name__)
_SKIP_KEYS = frozenset({"ResponseMetadata"})


def _extra_into(
    cols: dict[str, list[Any]], n: int, d: Mapping[str, Any], prefix: str, known: frozenset[str], i: int
) -> None:
    """Keep members the service model does not know (a record from a newer botocore) as extra columns."""
    for k, v in d.items():
        if k in known or k in _SKIP_KEYS:
            continue
        flat: dict[str, Any] = {}
        stack = [(prefix + k, v)]
        while stack:
            key, val = stack.pop()
            if isinstance(val, dict):
                stack += [(f"{key}.{kk}", vv) for kk, vv in val.items()]
            elif isinstance(val, list) and val and isinstance(val[0], dict):
                stack += [(f"{key}[{j}]", item) for j, item in enumerate(val)]
            elif not (isinstance(val, list) and not val):
                flat[key] = val
        for key, val in flat.items():
            cols.setdefault(key, [None] * n)[i] = val


class _Flattener:
    """A flatten function generated from the service model: one straight-line ``dict.get`` per
    field, no per-value string building. Lists of structures grow indexed columns as needed."""

    def __init__(self, cat: FieldCatalog) -> None:
        self.cat = cat
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {"_extra_into": _extra_into}
        self.scalar_cols: list[str] = []  # column names of c0, c1, ...
        self.lists: list[tuple[str, list[str]]] = []  # (base path, member columns) of sl0, sl1, ...
        self._n = 0
        self._emit_struct(cat.get_shape, "r", "", 2, None)
        head = ["def _flatten(records, n, extra):"]
        head += [f"    c{k} = [None] * n" for k in range(len(self.scalar_cols))]
        head += [f"    sl{k} = []" for k in range(len(self.lists))]
        head += ["    for i, r in enumerate(records):"]
        tail = [
            "    return ([" + ", ".join(f"c{k}" for k in range(len(self.scalar_cols))) + "],"
            " [" + ", ".join(f"sl{k}" for k in range(len(self.lists))) + "])"
        ]
        src = "\n".join(head + self.lines + tail)
        exec(compile(src, "<opptoolkit.frame._flatten>", "exec"), self.consts)
        self.fn = self.consts["_flatten"]

    def _var(self, stem: str) -> str:
        self._n += 1
        return f"{stem}{self._n}"

    def _emit_struct(
        self, shape: StructureShape, var: str, prefix: str, depth: int, item: tuple[str, int] | None
    ) -> None:
        """Emit code reading every member of ``var`` (a dict of ``shape``)."""
        pad = "    " * depth
        known = self._var("K")
        self.consts[known] = frozenset(shape.members)
        prefix_expr = repr(prefix) if item is None else f'f"{item[0]}[{{j}}].{prefix}"'
        self.lines.append(
            f"{pad}if not {var}.keys() <= {known}: _extra_into(extra, n, {var}, {prefix_expr}, {known}, i)"
        )
        for name, member in shape.members.items():
            path = prefix + name
            if isinstance(member, StructureShape):
                sub = self._var("d")
                self.lines.append(f"{pad}{sub} = {var}.get({name!r})")
                self.lines.append(f"{pad}if {sub}:")
                self._emit_struct(member, sub, path + ".", depth + 1, item)
            elif isinstance(member, ListShape) and isinstance(member.member, StructureShape):
                assert item is None, "nested lists of structures"
                k = len(self.lists)
                sl = self.cat.struct_lists[path]
                self.lists.append((path, list(sl.members)))
                lst = self._var("l")
                self.lines += [
                    f"{pad}{lst} = {var}.get({name!r})",
                    f"{pad}if {lst}:",
                    f"{pad}    while len(sl{k}) < len({lst}):",
                    f"{pad}        sl{k}.append([[None] * n for _ in range({len(sl.members)})])",
                    f"{pad}    for j, it in enumerate({lst}):",
                    f"{pad}        cc = sl{k}[j]",
                ]
                self._emit_struct(member.member, "it", "", depth + 2, (path, k))
            else:
                if item is None:
                    col = f"c{len(self.scalar_cols)}"
                    self.scalar_cols.append(path)
                else:
                    col = f"cc[{self.lists[item[1]][1].index(path)}]"
                test = "v" if isinstance(member, ListShape) else "v is not None"
                self.lines += [f"{pad}v = {var}.get({name!r})", f"{pad}if {test}: {col}[i] = v"]

    def __call__(self, records: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
        n = len(records)
        extra: dict[str, list[Any]] = {}
        scalars, lists = self.fn(records, n, extra)
        out = dict(zip(self.scalar_cols, scalars, strict=True))
        for (base, members), per_index in zip(self.lists, lists, strict=True):
            for j, member_cols in enumerate(per_index):
                for m, col in zip(members, member_cols, strict=True):
                    out[f"{base}[{j}].{m}"] = col
        out.update(extra)
        return out


@functools.lru_cache(maxsize=4)
def _flattener(cat: FieldCatalog) -> _Flattener:
    return _Flattener(cat)


def _safe_field(cat: FieldCatalog, column: str) -> Any:
    try:
        return cat.field_for(column)
    except KeyError:
        return None


def _list_sizes(columns: Iterable[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for c in columns:
        base, idx, _ = split_column(c)
        if idx is not None and idx + 1 > sizes.get(base, 0):
            sizes[base] = idx + 1
    return sizes


def to_frame(
    records: Iterable[Mapping[str, Any]],
    *,
    drop_empty: bool = False,
    catalog: FieldCatalog | None = None,
) -> pd.DataFrame:
    """Flatten GetOpportunity responses (or ListOpportunities summaries) into a DataFrame.

    Parameters
    ----------
    records : iterable of dict
        GetOpportunity responses, with or without ``ResponseMetadata``, or the items of
        ``ListOpportunities``' ``OpportunitySummaries``.
    drop_empty : bool, default False
        Drop the columns that are empty in every row (for display). By default every field of
        the model is a column, so frames always share one schema.
    catalog : FieldCatalog, optional
        Defaults to :func:`opptoolkit.get_catalog`.

    Returns
    -------
    pandas.DataFrame
        One row per record, ``Id`` first, then the model's order. Lists of structures have as
        many indexed columns as the longest list needs (at least one set).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> rec = {"Id": "O1", "Catalog": "Sandbox", "LastModifiedDate": datetime(2025, 1, 2, tzinfo=timezone.utc),
    ...        "Customer": {"Account": {"CompanyName": "Acme"},
    ...                     "Contacts": [{"Email": "a@acme.com"}, {"Email": "b@acme.com"}]},
    ...        "PrimaryNeedsFromAws": ["Co-Sell - Deal Support"]}
    >>> df = to_frame([rec])
    >>> df.loc[0, "Customer.Contacts[1].Email"]
    'b@acme.com'
    >>> df.loc[0, "PrimaryNeedsFromAws"]
    ['Co-Sell - Deal Support']
    >>> str(df["LastModifiedDate"].dtype)
    'datetime64[us, UTC]'
    """
    cat = catalog or get_catalog()
    records = records if isinstance(records, list) else list(records)
    data = _flattener(cat)(records)
    n = len(records)
    extra = [c for c in data if c not in cat.fields and _safe_field(cat, c) is None]
    if extra:
        _log.debug("columns not in the service model kept at the end: %s", extra)
    columns = cat.columns(_list_sizes(c for c in data if c not in extra)) + extra
    df = _assemble(data, columns, n, cat)
    if drop_empty:
        df = df.loc[:, [c for c in df.columns if not _all_blank(df[c])]]
    return df


def _assemble(data: dict[str, list[Any]], columns: list[str], n: int, cat: FieldCatalog) -> pd.DataFrame:
    """Columns of Python values to a DataFrame: strings and timestamps through Arrow (fast, and
    pandas' own string dtype), lists of scalars and unknown columns as objects."""
    arrays: dict[str, pa.Array] = {}
    objects: dict[str, list[Any]] = {}
    empty = [None] * n
    for c in columns:
        values = data.pop(c, None)  # drop each list once converted: lower peak memory
        f = _safe_field(cat, c)
        if f is None or f.is_list:
            objects[c] = empty if values is None else values
            continue
        arrow_type = pa.timestamp("us", tz="UTC") if f.type == "timestamp" else pa.large_string()
        if values is None:  # no record has it: no per-row work
            arrays[c] = pa.nulls(n, arrow_type)
            continue
        try:
            arrays[c] = pa.array(values, type=arrow_type)  # large_string: pandas' str dtype, no cast
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # e.g. timestamps given as ISO strings
            objects[c] = values
    df = pa.table(arrays).to_pandas() if arrays else pd.DataFrame(index=range(n))
    for c, values in objects.items():
        f = _safe_field(cat, c)
        if f is not None and f.type == "timestamp":
            df[c] = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
        else:
            df[c] = pd.Series(values, dtype=object)
    return df[columns]


def _all_blank(s: pd.Series) -> bool:
    if s.dtype == object:
        return all(_blank(v) for v in s)
    return bool(s.isna().all())


def _blank(v: Any) -> bool:
    """Blank means null: None, NaN/NaT/pd.NA, "", an empty list or array."""
    if v is None:
        return True
    t = type(v)
    if t is str or t is list:
        return not v
    if t is float:
        return v != v
    if hasattr(v, "__len__") and hasattr(v, "dtype"):  # numpy array (lists read from Parquet)
        return len(v) == 0
    return v is pd.NaT or v is pd.NA


# -- unflatten ------------------------------------------------------------------------------------


class _Node:
    """One structure of the payload: its leaves (column position, key), sub-structures and
    lists of structures (one node per index). ``flag`` is the position of the pseudo column
    telling whether this node has any value in the row (so absent sub-trees cost nothing)."""

    __slots__ = ("children", "flag", "leaves", "lists")

    def __init__(self) -> None:
        self.leaves: list[tuple[int, str]] = []
        self.children: dict[str, _Node] = {}
        # name -> (position of the list-length pseudo column, one node per index)
        self.lists: dict[str, tuple[int, list[_Node]]] = {}
        self.flag = -1

    def child(self, parts: list[str]) -> _Node:
        node = self
        for p in parts:
            node = node.children.setdefault(p, _Node())
        return node

    def source(self, var: str, depth: int, counter: list[int]) -> list[str]:
        """Straight-line Python that fills dict ``var`` for one row ``v`` (see ``_Plan.compile``)."""
        pad = "    " * depth
        lines = []
        for p, k in self.leaves:
            lines += [f"{pad}x = v[{p}]", f"{pad}if x is not None: {var}[{k!r}] = x"]
        for k, node in self.children.items():
            counter[0] += 1
            sub = f"d{counter[0]}"
            lines += [f"{pad}if v[{node.flag}]:", f"{pad}    {sub} = {{}}"]
            lines += node.source(sub, depth + 1, counter)
            lines.append(f"{pad}    {var}[{k!r}] = {sub}")
        for k, (len_pos, items) in self.lists.items():
            counter[0] += 1
            lst = f"l{counter[0]}"
            lines += [f"{pad}n = v[{len_pos}]", f"{pad}if n:", f"{pad}    {lst} = []"]
            for j, node in enumerate(items):
                counter[0] += 1
                e = f"e{counter[0]}"
                lines += [f"{pad}    if n > {j}:", f"{pad}        {e} = {{}}"]
                lines += node.source(e, depth + 2, counter)
                lines.append(f"{pad}        if {e}: {lst}.append({e})")
            lines.append(f"{pad}    if {lst}: {var}[{k!r}] = {lst}")
        return lines

    def positions(self) -> list[int]:
        """Column positions of every leaf at or below this node."""
        out = [p for p, _ in self.leaves]
        for node in self.children.values():
            out += node.positions()
        for _, items in self.lists.values():
            for node in items:
                out += node.positions()
        return out

    def walk(self) -> list[_Node]:
        """Every structure below this node (not list entries, which have length columns)."""
        out = []
        for node in self.children.values():
            out += [node, *node.walk()]
        for _, items in self.lists.values():
            for node in items:
                out += node.walk()
        return out


class _Plan:
    """How a frame's columns map onto the nested UpdateOpportunity payload (one per schema).

    Each list of structures gets a pseudo column after the real ones holding, per row, the
    number of entries to rebuild, so that empty indexes cost nothing per row.
    """

    def __init__(self, columns: tuple[str, ...], cat: FieldCatalog) -> None:
        self.root = _Node()
        self.kinds: list[str | None] = []  # per column: "str", "ts", "list", or None (not sent)
        lists: dict[tuple[str, ...], dict[int, _Node]] = {}
        for pos, col in enumerate(columns):
            kind: str | None = None
            try:
                f = cat.field_for(col)
            except KeyError:
                f = None  # a column the model does not know (e.g. added by the user)
            if col == ID:
                self.root.leaves.append((pos, IDENTIFIER))
                kind = "str"
            elif f is not None and f.writable:
                kind = "ts" if f.type == "timestamp" else "list" if f.is_list else "str"
                if f.struct_list is None:
                    *parents, key = col.split(".")
                    self.root.child(parents).leaves.append((pos, key))
                else:
                    base, idx, member = split_column(col)
                    assert idx is not None
                    *mparents, key = member.split(".")
                    by_idx = lists.setdefault(tuple(base.split(".")), {})
                    by_idx.setdefault(idx, _Node()).child(mparents).leaves.append((pos, key))
            self.kinds.append(kind)
        # pseudo columns after the real ones: per list, its length in the row (from the
        # positions of each index's leaves); per structure, whether it has any value
        self.list_leaves: list[list[list[int]]] = []
        for i, ((*parents, name), by_idx) in enumerate(sorted(lists.items())):
            size = max(by_idx) + 1
            items = [by_idx.get(j, _Node()) for j in range(size)]
            self.root.child(parents).lists[name] = (len(columns) + i, items)
            self.list_leaves.append([node.positions() for node in items])
        self.struct_leaves: list[list[int]] = []
        for node in self.root.walk():
            node.flag = len(columns) + len(self.list_leaves) + len(self.struct_leaves)
            self.struct_leaves.append(node.positions())

    @functools.cached_property
    def build(self) -> Callable[[Any], dict[str, Any]]:
        """The row builder, generated as straight-line code from this plan (about 2x faster than
        walking the tree per row)."""
        lines = ["def build(v):", "    d0 = {}", *self.root.source("d0", 1, [0]), "    return d0"]
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines), "<opptoolkit.frame._Plan.build>", "exec"), namespace)
        fn: Callable[[Any], dict[str, Any]] = namespace["build"]
        return fn

    def derived(self, vals: list[Any]) -> list[Any]:
        """The pseudo columns (list lengths, structure flags) for one row of normalised cells."""
        out: list[Any] = []
        for items in self.list_leaves:
            n = 0
            for j, positions in enumerate(items):
                if any(vals[p] is not None for p in positions):
                    n = j + 1
            out.append(n)
        out += [any(vals[p] is not None for p in positions) for positions in self.struct_leaves]
        return out

    def derived_columns(self, present: list[np.ndarray]) -> list[list[Any]]:
        """The pseudo columns for a whole frame, from each column's presence mask."""
        n = len(present[0]) if present else 0
        out: list[list[Any]] = []
        for items in self.list_leaves:
            length = np.zeros(n, dtype=np.int64)
            for j, positions in enumerate(items):
                mask = np.zeros(n, dtype=bool)
                for p in positions:
                    mask |= present[p]
                length[mask] = j + 1
            out.append(length.tolist())
        for positions in self.struct_leaves:
            mask = np.zeros(n, dtype=bool)
            for p in positions:
                mask |= present[p]
            out.append(mask.tolist())
        return out


@functools.lru_cache(maxsize=64)
def _plan(columns: tuple[str, ...], cat: FieldCatalog) -> _Plan:
    return _Plan(columns, cat)


def _cell(v: Any, kind: str | None) -> Any:
    """Normalise one cell: blank -> None, timestamps -> aware datetime, arrays -> lists."""
    if kind is None or _blank(v):
        return None
    if kind == "ts":
        if isinstance(v, str):
            v = pd.Timestamp(v)
        if isinstance(v, pd.Timestamp):
            return (v.tz_localize("UTC") if v.tzinfo is None else v).to_pydatetime()
        return _ts(v)
    if kind == "list":
        items = [x for x in (v if type(v) is list else list(v)) if not _blank(x)]
        return items or None
    return v


def _column(s: pd.Series, kind: str | None) -> list[Any]:
    """One column's normalised cells (vectorised where pandas allows)."""
    if kind is None:
        return [None] * len(s)
    if kind == "str" and isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s.array)  # Arrow does blank -> None and the conversion in C
        return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr).to_pylist()
    if kind == "str" and s.dtype != object:
        keep = s.notna() & (s != "")
        return s.astype(object).where(keep, None).tolist()
    if kind == "ts" and isinstance(s.dtype, pd.DatetimeTZDtype):
        values = s.array.to_pydatetime()  # vectorised; NaT comes back as NaT
        values[s.isna().to_numpy()] = None
        return values.tolist()
    return [_cell(v, kind) for v in s.tolist()]


def to_payload(row: pd.Series | Mapping[str, Any], *, catalog: FieldCatalog | None = None) -> dict[str, Any]:
    """Build the ``client.update_opportunity(**payload)`` kwargs from one flattened row.

    ``Identifier`` comes from ``Id``; ``Catalog`` and ``LastModifiedDate`` (the concurrency
    token, as read) are passed through; output-only members are dropped; blank cells are left
    out; lists of structures are rebuilt in index order, wholly empty entries dropped.

    The payload is the *whole* record, as UpdateOpportunity requires: send it only when the row
    holds the full, latest record (the batch updater merges edits onto the server's record).

    Examples
    --------
    >>> row = {"Id": "O1", "Catalog": "Sandbox", "Customer.Account.CompanyName": "Acme",
    ...        "Customer.Contacts[0].Email": "", "Customer.Contacts[1].Email": "b@acme.com",
    ...        "Arn": "arn:aws:..."}
    >>> p = to_payload(row)
    >>> p["Identifier"], p["Customer"]
    ('O1', {'Account': {'CompanyName': 'Acme'}, 'Contacts': [{'Email': 'b@acme.com'}]})
    """
    cat = catalog or get_catalog()
    if isinstance(row, pd.Series):
        cols = tuple(str(c) for c in row.index)
        values = row.tolist()
    else:
        cols = tuple(row)
        values = list(row.values())
    plan = _plan(cols, cat)
    cells = [_cell(v, k) for v, k in zip(values, plan.kinds, strict=True)]
    return plan.build(cells + plan.derived(cells))


def to_payloads(df: pd.DataFrame, *, catalog: FieldCatalog | None = None) -> list[dict[str, Any]]:
    """:func:`to_payload` for every row of ``df`` (fast path: columns are normalised once).

    Examples
    --------
    >>> import pandas as pd
    >>> to_payloads(pd.DataFrame({"Id": ["O1"], "Catalog": ["AWS"], "LifeCycle.Stage": ["Qualified"]}))
    [{'Identifier': 'O1', 'Catalog': 'AWS', 'LifeCycle': {'Stage': 'Qualified'}}]
    """
    cat = catalog or get_catalog()
    plan = _plan(tuple(str(c) for c in df.columns), cat)
    columns = [_column(df.iloc[:, i], k) for i, k in enumerate(plan.kinds)]
    needed = {p for items in plan.list_leaves for positions in items for p in positions}
    needed |= {p for positions in plan.struct_leaves for p in positions}
    empty = np.zeros(len(df), dtype=bool)
    present = [
        np.fromiter((v is not None for v in col), bool, len(df)) if i in needed else empty
        for i, col in enumerate(columns)
    ]
    columns += plan.derived_columns(present)
    build = plan.build
    return [build(values) for values in zip(*columns, strict=True)] if columns else []


# -- canonical payload of a record ---------------------------------------------------------------


def _ts(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    if isinstance(v, str):
        return pd.Timestamp(v).tz_convert("UTC").to_pydatetime()
    return v


def _prune(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape):
        out = {}
        for k, v in value.items():
            member = shape.members.get(k)
            if member is None:
                continue  # output-only member, or not an UpdateOpportunity member
            pv = _prune(v, member)
            if not _blank(pv) and pv != {}:
                out[k] = pv
        return out
    if isinstance(shape, ListShape):
        items = [_prune(x, shape.member) for x in value]
        return [x for x in items if not _blank(x) and x != {}]
    if shape.type_name == "timestamp":
        return _ts(value)
    return value


def payload_from_record(record: Mapping[str, Any], *, catalog: FieldCatalog | None = None) -> dict[str, Any]:
    """The UpdateOpportunity payload that re-sends a GetOpportunity record unchanged.

    ``Id`` becomes ``Identifier``; members UpdateOpportunity does not take (``Arn``,
    ``CreatedDate``, ``RelatedEntityIdentifiers``, ``OpportunityTeam``, ``ResponseMetadata``)
    are dropped, as the service model says; blank values are dropped (blank means null).

    Examples
    --------
    >>> payload_from_record({"Id": "O1", "Catalog": "AWS", "Arn": "arn:x", "Project": {"Title": ""}})
    {'Catalog': 'AWS', 'Identifier': 'O1'}
    """
    cat = catalog or get_catalog()
    rec = dict(record)
    if ID in rec:
        rec[IDENTIFIER] = rec.pop(ID)
    out: dict[str, Any] = _prune(rec, cat.update_shape)
    return out
