"""Flatten Opportunity records into a DataFrame, and rows back into UpdateOpportunity payloads.

The frame has one row per opportunity and one column per leaf of the service model, named by
its dotted path (``Customer.Account.CompanyName``); lists of structures become indexed columns
(``Customer.Contacts[0].Email``), lists of scalars stay Python lists in one cell. Timestamps are
timezone-aware UTC; dates and amounts stay the strings the API sent.

Blank means null: an empty string, an empty list, NaN or None in a cell is *no value*, and is
left out of a payload, exactly as the API treats an omitted member (UpdateOpportunity: "If any
field is omitted, the API assumes that the field is set to null",
https://boto3.amazonaws.com/v1/documentation/api/latest/reference/services/partnercentral-selling/client/update_opportunity.html).
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import functools
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from botocore.model import ListShape, Shape, StructureShape
from dateutil.tz import tzutc

from ._gc import gc_paused
from ._values import NOT_AN_INSTANT, is_blank, to_utc, to_utc_datetime
from .exceptions import Problem
from .schema import ID, IDENTIFIER, Field, Schema, get_schema, split_column

__all__ = [
    "SNAPSHOT_ATTR",
    "payload_from_record",
    "snapshot_time",
    "timestamp_problems",
    "to_frame",
    "to_payload",
    "to_payloads",
]

#: The key in ``DataFrame.attrs`` of the sync time a frame from :func:`opptoolkit.read_mirror` stands for:
#: ISO 8601 text in UTC, as pandas writes ``attrs`` into a Parquet file's metadata as JSON
#: (:func:`snapshot_time` reads it).
SNAPSHOT_ATTR = "opptoolkit.snapshot"

_log = logging.getLogger(__name__)
_SKIP_KEYS = frozenset({"ResponseMetadata"})
_BLOCK = 2048  # rows filled at a time by to_payloads
# The frame's string buffers come from the C allocator rather than pyarrow's default (mimalloc),
# which keeps the memory freed while the builders grow; with the C allocator, and _trim_heap after
# building, the process holds little beyond the frame itself (BENCHMARKS.md has the measurements).
_POOL = pa.system_memory_pool()
_TRIM_ROWS = 5000  # frames at least this long give the C heap's free pages back afterwards
_FIXED_TZ = (type(UTC), tzutc)  # time zones DatetimeIndex converts in C (botocore's tzutc among them)


@functools.cache
def _malloc_trim() -> Any:
    """Glibc's ``malloc_trim`` (from the symbols the interpreter already has), or None on another C library."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


def _trim_heap() -> None:
    """Return the C heap's free pages to the OS.

    Building a frame allocates and frees a Python list of pointers per column and the string
    builders' growing buffers; glibc keeps most of what is freed mapped, so without a trim the
    process holds memory well beyond the frame's data (BENCHMARKS.md has the measurements).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _extra_into(extra: dict[str, list[Any]], n: int, d: Mapping[str, Any], known: Any, prefix: str, i: int) -> None:
    """Keep the members of ``d`` not in ``known`` (a record from a newer botocore) as extra columns."""
    for k, v in d.items():
        if k in known:
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
            extra.setdefault(key, [None] * n)[i] = val


def _slow_into(
    extra: dict[str, list[Any]], n: int, d: Mapping[str, Any], known: Mapping[str, list[Any]], prefix: str, i: int
) -> None:
    """Return a dict holding a member the model does not know.

    Known members into their columns, the rest kept as extra columns.
    """
    for k, v in d.items():
        col = known.get(k)
        if col is not None:
            col[i] = v
    _extra_into(extra, n, d, known, prefix, i)


def _items_extra_into(
    extra: dict[str, list[Any]], n: int, lists: list[Any], rows: list[int], shape: StructureShape, base: str
) -> None:
    """Unknown members inside the items of a list of structures, as extra columns."""

    def walk(d: Mapping[str, Any], shape: StructureShape, prefix: str, i: int) -> None:
        _extra_into(extra, n, d, shape.members, prefix, i)
        for name, member in shape.members.items():
            sub = d.get(name)
            if isinstance(member, StructureShape) and sub:
                walk(sub, member, f"{prefix}{name}.", i)

    for i, lst in zip(rows, lists, strict=True):
        for j, item in enumerate(lst):
            walk(item, shape, f"{base}[{j}].", i)


def _item_values(items: list[Any], shape: StructureShape, prefix: str = "") -> tuple[dict[str, list[Any]], bool]:
    """Return the column-wise values of every leaf any item holds (``{"Email": [...], ...}``).

    And whether some item holds a member the model does not know.
    """
    keys: set[str] = set().union(*items)
    unknown = not keys <= shape.members.keys()
    out: dict[str, list[Any]] = {}
    for name, member in shape.members.items():
        if name not in keys:
            continue
        values = [it.get(name) for it in items]
        if isinstance(member, StructureShape):
            sub, sub_unknown = _item_values([v or {} for v in values], member, f"{prefix}{name}.")
            out.update(sub)
            unknown |= sub_unknown
        else:
            out[prefix + name] = values
    return out, unknown


class _Flattener:
    """A flatten function generated from the service model.

    Per record it walks only what the record holds: every present member of a dict is stored
    through a map from member name to its column (sub-structures go to a sink and are walked by
    their own generated block), so absent fields cost nothing. The items of each list of
    structures are gathered in one flat list and turned into indexed columns afterwards, column
    by column (one conversion per member, then one vectorised take, sliced per index).
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._n = 0
        self.maps: list[dict[str, str | None]] = []  # member -> column path, None for a sub-structure
        self.lists: list[tuple[str, StructureShape]] = []  # base path and item shape of F0, F1, ...
        self.list_columns = frozenset(f.path for f in schema if f.is_list)
        body = self._emit(schema.get_shape, "r", "", 2)
        head = ["def _flatten(records, n, extra, M, F, N):"]
        head += [f"    M{k} = M[{k}]" for k in range(len(self.maps))]
        head += [f"    F{k} = F[{k}].extend; N{k} = N[{k}]" for k in range(len(self.lists))]
        src = "\n".join([*head, "    for i, r in enumerate(records):", *body])
        namespace: dict[str, Any] = {"_slow_into": _slow_into}
        exec(compile(src, "<opptoolkit.frame._flatten>", "exec"), namespace)
        self.fn = namespace["_flatten"]

    def _emit(self, shape: StructureShape, var: str, prefix: str, depth: int) -> list[str]:
        """Code storing every member of dict ``var`` (of ``shape``), then walking its sub-structures."""
        pad = "    " * depth
        members: dict[str, str | None] = {k: None for k in _SKIP_KEYS} if var == "r" else {}
        m = f"M{len(self.maps)}"
        self.maps.append(members)
        lines = [
            f"{pad}try:",
            f"{pad}    for k, v in {var}.items(): {m}[k][i] = v",
            f"{pad}except KeyError:",
            f"{pad}    _slow_into(extra, n, {var}, {m}, {prefix!r}, i)",
        ]
        for name, member in shape.members.items():
            path = prefix + name
            members[name] = None
            if isinstance(member, StructureShape):
                self._n += 1
                sub = f"d{self._n}"
                lines += [f"{pad}{sub} = {var}.get({name!r})", f"{pad}if {sub}:"]
                lines += self._emit(member, sub, path + ".", depth + 1)
            elif isinstance(member, ListShape) and isinstance(member.member, StructureShape):
                k = len(self.lists)
                self.lists.append((path, member.member))
                lines += [f"{pad}v = {var}.get({name!r})", f"{pad}if v: F{k}(v); N{k}[i] = len(v)"]
            else:
                members[name] = path
        return lines

    def __call__(self, records: list[Mapping[str, Any]]) -> dict[str, Any]:
        """Columns by name: Python lists for scalar fields, pandas arrays for indexed columns."""
        n = len(records)
        cols: dict[str, Any] = {}
        sink: list[Any] = [None] * n  # sub-structures land here; each is walked by its own block
        maps = [{m: sink if p is None else cols.setdefault(p, [None] * n) for m, p in mp.items()} for mp in self.maps]
        extra: dict[str, list[Any]] = {}
        flats: list[list[Any]] = [[] for _ in self.lists]
        lengths = [[0] * n for _ in self.lists]
        self.fn(records, n, extra, maps, flats, lengths)
        del sink, maps
        for path in self.list_columns & cols.keys():  # an empty list is no value
            if [] in cols[path]:
                cols[path] = [v or None for v in cols[path]]
        for (base, shape), items, lens in zip(self.lists, flats, lengths, strict=True):
            if items:
                cols.update(self._indexed(base, shape, items, np.asarray(lens), extra))
        cols.update(extra)
        return cols

    def _indexed(
        self, base: str, shape: StructureShape, items: list[Any], lens: np.ndarray, extra: dict[str, list[Any]]
    ) -> dict[str, Any]:
        """Return the indexed columns (``base[j].member``) of one list of structures."""
        values, unknown = _item_values(items, shape)
        n, starts = len(lens), np.cumsum(lens) - lens
        if unknown:
            rows = np.flatnonzero(lens).tolist()
            lists = [items[s : s + lens[i]] for i, s in zip(rows, starts[rows].tolist(), strict=True)]
            _items_extra_into(extra, n, lists, rows, shape, base)
        # one take per member for all indexes (index 0's rows, then index 1's, ...), then a
        # zero-copy slice per index: a call per member instead of one per member and index
        depth = int(lens.max())
        idx = np.concatenate([np.where(lens > j, starts + j, -1) for j in range(depth)])
        pa_idx = pa.array(idx, mask=idx < 0)
        out: dict[str, Any] = {}
        for member, vals in values.items():
            arr = _convert(self.schema.fields.get(f"{base}[].{member}"), vals, base + "[]." + member)
            taken = _take(arr, idx, pa_idx)
            for j in range(depth):
                out[f"{base}[{j}].{member}"] = taken[j * n : (j + 1) * n]
        return out


@functools.lru_cache(maxsize=4)
def _flattener(schema: Schema) -> _Flattener:
    return _Flattener(schema)


def _safe_field(schema: Schema, column: str) -> Any:
    try:
        return schema.field_for(column)
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
    schema: Schema | None = None,
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
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.

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
    schema = schema or get_schema()
    records = records if isinstance(records, list) else list(records)
    data = _flattener(schema)(records)
    n = len(records)
    extra = [c for c in data if c not in schema.fields and _safe_field(schema, c) is None]
    if extra:
        _log.debug("columns not in the service model kept at the end: %s", extra)
    columns = schema.columns(_list_sizes(c for c in data if c not in extra)) + extra
    df = _assemble(data, columns, n, schema)
    if n >= _TRIM_ROWS:
        _trim_heap()
    if drop_empty:
        df = df.loc[:, [c for c in df.columns if not _all_blank(df[c])]]
    return df


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype, Arrow large_string


def _convert(f: Field | None, values: list[Any], column: str) -> Any:
    """One column of Python values as a pandas array.

    Strings through Arrow straight into pandas' ``str`` dtype (no copy), timestamps as ``datetime64[us,
    UTC]``, lists of scalars and unknown fields as objects. Values of a type the model does not expect are
    kept as objects.
    """
    try:
        if f is not None and not f.is_list:
            if f.type == "timestamp":
                return _utc(values).array
            arr = pa.array(values, type=pa.large_string(), memory_pool=_POOL)
            return pa.chunked_array([arr])  # made a pandas column by _column_array
    except (pa.ArrowException, ValueError, TypeError):
        _log.debug("column %s kept as objects: values of an unexpected type", column)
    return np.fromiter(values, dtype=object, count=len(values))  # a list stays one cell


def _take(arr: Any, idx: np.ndarray, pa_idx: pa.Array) -> Any:
    """``arr[idx]``, null where ``idx`` is -1 (``pa_idx``: the same as Arrow indices, null there).

    Arrow strings are taken by Arrow itself, without a round trip through pandas.
    """
    if isinstance(arr, pa.ChunkedArray):
        return pc.take(arr, pa_idx, memory_pool=_POOL)
    return pd.api.extensions.take(arr, idx, allow_fill=True)


def _column_array(arr: Any) -> Any:
    """Return what ``_convert``/``_take`` give, as a frame column: Arrow strings become pandas' ``str``."""
    if isinstance(arr, pa.ChunkedArray):  # wraps, no copy (pd.array(arr, dtype=_STR) copies)
        return pd.arrays.ArrowStringArray(arr, dtype=_STR)  # type: ignore[call-arg]  # stubs lack dtype=
    return arr


def _assemble(data: dict[str, Any], columns: list[str], n: int, schema: Schema) -> pd.DataFrame:
    """Return the frame, in ``columns`` order, from columns of Python values (or ready arrays)."""
    out: dict[str, Any] = {}
    nulls: dict[str, Any] = {}  # per kind, one all-null array shared by the columns no record has
    for c in columns:
        values = data.pop(c, None)  # drop each list once converted: lower peak memory
        f = _safe_field(schema, c)
        if values is None:
            kind = "object" if f is None or f.is_list else f.type
            if kind not in nulls:
                nulls[kind] = _convert(f, [None] * n, c)
            out[c] = _column_array(nulls[kind])
        else:
            out[c] = _column_array(_convert(f, values, c) if isinstance(values, list) else values)
    return pd.DataFrame(out, index=pd.RangeIndex(n), columns=columns)


def _utc(values: list[Any]) -> pd.DatetimeIndex:
    """Datetimes (or ISO strings) to ``datetime64[us, UTC]``.

    ``DatetimeIndex`` converts values of one fixed time zone in C, sparse or dense; values in other zones go
    through each one's own ``timestamp()`` (:func:`_instants`), which ``DatetimeIndex`` cannot do in C.
    """
    first = next((v for v in values if v is not None), None)
    if isinstance(first, datetime) and first.tzinfo is not None and type(first.tzinfo) not in _FIXED_TZ:
        with contextlib.suppress(AttributeError, TypeError, ValueError, OverflowError, OSError):
            return _instants(values)
    try:
        idx = pd.DatetimeIndex(values)
    except (ValueError, TypeError):  # several time zones, or naive and aware mixed
        idx = pd.to_datetime(values, utc=True)
    return to_utc(idx).as_unit("us")


def _instants(values: list[Any]) -> pd.DatetimeIndex:
    """Convert aware datetimes (None for none) to ``datetime64[us, UTC]`` through each one's ``timestamp()``.

    Exact whatever its time zone (fold included).

    botocore gives every timestamp a ``tzlocal()`` of its own on a host whose zone is UTC (a
    server, a cloud notebook); ``DatetimeIndex`` compares and converts those one by one in Python,
    with more work per value than ``timestamp()`` does (BENCHMARKS.md has the measurements).
    Raises ValueError for a naive datetime (the caller reads those as UTC) or an instant a float
    cannot carry to the microsecond (after 2112).
    """
    if not all(v is None or v.tzinfo is not None for v in values):
        raise ValueError("naive datetimes")
    us = np.array([np.nan if v is None else v.timestamp() for v in values]) * 1e6
    if np.nanmax(np.abs(us)) >= 2**52:  # beyond, a double's rounding may move it by a microsecond
        raise ValueError("out of exact range")
    return pd.to_datetime(np.rint(us), unit="us", utc=True).as_unit("us")  # NaN -> NaT


def _all_blank(s: pd.Series) -> bool:
    if s.dtype == object:
        return all(is_blank(v) for v in s)
    return bool(s.isna().all())


# -- unflatten ------------------------------------------------------------------------------------


class _Node:
    """One structure of the payload.

    Its leaves (column position, key), sub-structures and lists of structures (one node per index).
    """

    __slots__ = ("_positions", "children", "leaves", "lists")

    def __init__(self) -> None:
        self.leaves: list[tuple[int, str]] = []
        self.children: dict[str, _Node] = {}
        self.lists: dict[str, list[_Node]] = {}
        self._positions: list[int] | None = None

    def child(self, parts: list[str]) -> _Node:
        node = self
        for p in parts:
            node = node.children.setdefault(p, _Node())
        return node

    def positions(self) -> list[int]:
        """Column positions of every leaf at or below this node (the tree is fixed once planned)."""
        if self._positions is None:
            out = [p for p, _ in self.leaves]
            for node in self.children.values():
                out += node.positions()
            for items in self.lists.values():
                for node in items:
                    out += node.positions()
            self._positions = out
        return self._positions

    def fill(self, dicts: list[Any], job: _Unflatten, lo: int, hi: int) -> None:
        """Fill ``dicts[lo:hi]`` column by column, touching only the cells that hold a value.

        ``dicts`` holds this structure of each row; None where the row has none of it.
        """
        for p, key in self.leaves:
            rows, values = job.cells[p].between(lo, hi)
            for i, x in zip(rows, values, strict=True):
                dicts[i][key] = x
        for name, node in self.children.items():
            rows = job.rows_with(node).between(lo, hi)[0]
            if rows:
                sub = job.scratch(node)
                for i in rows:
                    sub[i] = dicts[i][name] = {}
                node.fill(sub, job, lo, hi)
        for name, items in self.lists.items():
            lists = job.scratch(items)
            for i in range(lo, hi):
                lists[i] = None
            for node in items:  # index order; an entry with no value is not sent
                rows = job.rows_with(node).between(lo, hi)[0]
                if not rows:
                    continue
                sub = job.scratch(node)
                for i in rows:
                    lst = lists[i]
                    if lst is None:
                        lst = lists[i] = dicts[i][name] = []
                    lst.append({})
                    sub[i] = lst[-1]
                node.fill(sub, job, lo, hi)


class _Cells:
    """One column's values ready for a payload.

    The rows holding one (ascending), those values, and for whole columns the same rows as a boolean mask.
    """

    __slots__ = ("mask", "rows", "values")

    def __init__(self, rows: list[int], values: list[Any], mask: np.ndarray | None = None) -> None:
        self.rows = rows
        self.values = values
        self.mask = mask

    @classmethod
    def masked(cls, mask: np.ndarray, values: list[Any]) -> _Cells:
        return cls(np.flatnonzero(mask).tolist(), values, mask)

    def between(self, lo: int, hi: int) -> tuple[list[int], list[Any]]:
        """Return the rows in ``[lo, hi)`` holding a value, and their values."""
        a = bisect.bisect_left(self.rows, lo)
        b = bisect.bisect_left(self.rows, hi, a)
        return self.rows[a:b], self.values[a:b]


_NONE = _Cells([], [])  # a cell without a value, in a single row


class _Unflatten:
    """One ``to_payloads`` call.

    The columns' cells, each structure's rows (memoised) and one scratch list per structure (its dict in each
    row of the block being filled).
    """

    def __init__(self, cells: list[_Cells], n: int) -> None:
        self.cells = cells
        self.n = n
        self._rows: dict[int, _Cells] = {}
        self._scratch: dict[int, list[Any]] = {}

    def rows_with(self, node: _Node) -> _Cells:
        """Return the rows in which ``node`` holds at least one value."""
        if id(node) not in self._rows:
            cells = [self.cells[p] for p in node.positions()]
            if all(c.mask is not None for c in cells):  # whole columns: in numpy
                mask = np.zeros(self.n, dtype=bool)
                for c in cells:
                    mask |= c.mask
                self._rows[id(node)] = _Cells.masked(mask, [])
            else:  # a row or a few
                self._rows[id(node)] = _Cells(sorted({i for c in cells for i in c.rows}), [])
        return self._rows[id(node)]

    def scratch(self, key: object) -> list[Any]:
        if id(key) not in self._scratch:
            self._scratch[id(key)] = [None] * self.n
        return self._scratch[id(key)]


class _Plan:
    """How a frame's columns map onto the nested UpdateOpportunity payload (one per schema)."""

    def __init__(self, columns: tuple[str, ...], schema: Schema) -> None:
        self.root = _Node()
        self.kinds: list[str | None] = []  # per column: "str", "ts", "list", or None (not sent)
        lists: dict[tuple[str, ...], dict[int, _Node]] = {}
        for pos, col in enumerate(columns):
            kind: str | None = None
            f = _safe_field(schema, col)  # None: a column the model does not know (e.g. added by the user)
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
        for (*parents, name), by_idx in sorted(lists.items()):
            self.root.child(parents).lists[name] = [by_idx.get(j, _Node()) for j in range(max(by_idx) + 1)]


@functools.lru_cache(maxsize=64)
def _plan(columns: tuple[str, ...], schema: Schema) -> _Plan:
    return _Plan(columns, schema)


def _cell(v: Any, kind: str | None) -> Any:
    """Normalise one cell: blank -> None, timestamps -> aware datetime, arrays -> lists."""
    if kind is None or is_blank(v):
        return None
    if kind == "ts":
        return _ts(v)
    if kind == "list":
        items = [x for x in v if type(x) is str and x]  # the usual case, without a call per item
        if len(items) < len(v):
            items = [x for x in (v if type(v) is list else list(v)) if not is_blank(x)]
        return items or None
    return v


def _cells(s: pd.Series, kind: str | None) -> _Cells:
    """One column's non-blank values (vectorised where pandas and Arrow allow)."""
    if kind is None:
        return _Cells.masked(np.zeros(len(s), dtype=bool), [])
    if kind == "str" and isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        arr = pa.array(s.array)  # blank -> no value, in Arrow
        keep = pc.fill_null(pc.not_equal(arr, ""), False)
        return _Cells.masked(keep.to_numpy(zero_copy_only=False), arr.filter(keep).to_pylist())
    if kind == "ts" and isinstance(s.dtype, pd.DatetimeTZDtype):
        mask = s.notna().to_numpy()
        return _Cells.masked(mask, s[mask].array.to_pydatetime().tolist())
    if kind == "str" and s.dtype != object:
        mask = (s.notna() & (s != "")).to_numpy(dtype=bool)
        return _Cells.masked(mask, s[mask].tolist())
    return _cells_of(s.tolist(), kind)


def _cells_of(values: list[Any], kind: str | None) -> _Cells:
    """``_cells`` for plain Python values, one at a time."""
    values = [None if v is None else _cell(v, kind) for v in values]  # None: the usual empty cell, no call
    mask = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    return _Cells.masked(mask, [v for v in values if v is not None])


def to_payload(row: pd.Series | Mapping[str, Any], *, schema: Schema | None = None) -> dict[str, Any]:
    """Build the ``client.update_opportunity(**payload)`` kwargs from one flattened row.

    ``Identifier`` comes from ``Id``; ``Catalog`` and ``LastModifiedDate`` (the concurrency
    token, as read) are passed through; output-only members are dropped; blank cells are left
    out; lists of structures are rebuilt in index order, wholly empty entries dropped.

    The payload is the *whole* record, as UpdateOpportunity requires: send it only when the row
    holds the full, latest record (the batch updater merges edits onto the server's record).

    Parameters
    ----------
    row : pandas.Series or dict
        One row of a flattened frame (:func:`to_frame`), as a Series or ``{column: value}``.
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.

    Returns
    -------
    dict
        The keyword arguments of ``UpdateOpportunity``.

    Examples
    --------
    >>> row = {"Id": "O1", "Catalog": "Sandbox", "Customer.Account.CompanyName": "Acme",
    ...        "Customer.Contacts[0].Email": "", "Customer.Contacts[1].Email": "b@acme.com",
    ...        "Arn": "arn:aws:..."}
    >>> p = to_payload(row)
    >>> p["Identifier"], p["Customer"]
    ('O1', {'Account': {'CompanyName': 'Acme'}, 'Contacts': [{'Email': 'b@acme.com'}]})
    """
    keys, values = (row.index.tolist(), row.tolist()) if isinstance(row, pd.Series) else (list(row), list(row.values()))
    plan = _plan(tuple(str(c) for c in keys), schema or get_schema())
    cells = [_cell(v, k) for v, k in zip(values, plan.kinds, strict=True)]
    return _build(plan, [_NONE if x is None else _Cells([0], [x]) for x in cells], 1)[0]


def to_payloads(df: pd.DataFrame, *, schema: Schema | None = None) -> list[dict[str, Any]]:
    """:func:`to_payload` for every row of ``df``, built column by column.

    Only the cells that hold a value cost any Python work.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame (:func:`to_frame`, :func:`opptoolkit.read_sheet`).
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.

    Returns
    -------
    list of dict
        One ``UpdateOpportunity`` payload per row, in the frame's order.

    Examples
    --------
    >>> import pandas as pd
    >>> to_payloads(pd.DataFrame({"Id": ["O1"], "Catalog": ["AWS"], "LifeCycle.Stage": ["Qualified"]}))
    [{'Identifier': 'O1', 'Catalog': 'AWS', 'LifeCycle': {'Stage': 'Qualified'}}]
    """
    schema = schema or get_schema()
    plan = _plan(tuple(str(c) for c in df.columns.tolist()), schema)
    with gc_paused():
        return _build(plan, [_cells(df.iloc[:, i], k) for i, k in enumerate(plan.kinds)], len(df))


def _build(plan: _Plan, cells: list[_Cells], n: int) -> list[dict[str, Any]]:
    """Return the ``n`` payloads from each column's cells."""
    job = _Unflatten(cells, n)
    payloads: list[dict[str, Any]] = [{} for _ in range(n)]
    for lo in range(0, n, _BLOCK):  # a block of rows at a time: its dicts stay in the CPU's cache
        plan.root.fill(payloads, job, lo, min(lo + _BLOCK, n))
    return payloads


# -- canonical payload of a record ---------------------------------------------------------------


def _ts(v: Any) -> Any:
    """Return a timestamp member as botocore sends it: a UTC ``datetime`` (text and Timestamps too)."""
    return to_utc_datetime(v) if isinstance(v, (datetime, str)) else v


def _prune(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape):
        out = {}
        for k, v in value.items():
            member = shape.members.get(k)
            if member is None:
                continue  # output-only member, or not an UpdateOpportunity member
            pv = _prune(v, member)
            if not is_blank(pv):
                out[k] = pv
        return out
    if isinstance(shape, ListShape):
        items = [_prune(x, shape.member) for x in value]
        return [x for x in items if not is_blank(x)]
    if shape.type_name == "timestamp":
        return _ts(value)
    return value


def payload_from_record(record: Mapping[str, Any], *, schema: Schema | None = None) -> dict[str, Any]:
    """Return the UpdateOpportunity payload that re-sends a GetOpportunity record unchanged.

    ``Id`` becomes ``Identifier``; members UpdateOpportunity does not take (``Arn``,
    ``CreatedDate``, ``RelatedEntityIdentifiers``, ``OpportunityTeam``, ``ResponseMetadata``)
    are dropped, as the service model says; blank values are dropped (blank means null).

    Parameters
    ----------
    record : dict
        A GetOpportunity response.
    schema : Schema, optional
        Defaults to :func:`opptoolkit.get_schema`.

    Returns
    -------
    dict
        The keyword arguments of ``UpdateOpportunity``.

    Examples
    --------
    >>> payload_from_record({"Id": "O1", "Catalog": "AWS", "Arn": "arn:x", "Project": {"Title": ""}})
    {'Catalog': 'AWS', 'Identifier': 'O1'}
    """
    schema = schema or get_schema()
    rec = dict(record)
    if ID in rec:
        rec[IDENTIFIER] = rec.pop(ID)
    out: dict[str, Any] = _prune(rec, schema.update_shape)
    return out


def timestamp_problems(df: pd.DataFrame, labels: Iterable[object], schema: Schema | None = None) -> list[Problem]:
    """Return the cells of ``df``'s timestamp columns that hold no time, each named by its row's label.

    A frame from the toolkit holds times; one an analyst edited may hold text typed into such a column
    (``LastModifiedDate`` set to a note). The toolkit's one rule for a time as text decides (an ISO 8601
    date or date-time), and the problem states it, never the cell's text.

    Parameters
    ----------
    df : pandas.DataFrame
        An edited frame.
    labels : iterable
        Each row's name in the problems (a sheet's row number, else the frame's label).
    schema : Schema, optional
        Default: :func:`opptoolkit.get_schema`.

    Returns
    -------
    list of Problem
        ``INVALID_STRING_FORMAT`` per cell.

    Examples
    --------
    >>> df = pd.DataFrame({"Id": ["O1", "O2"], "LastModifiedDate": ["2025-01-31T09:30:00Z", "call Ana"]})
    >>> [str(p) for p in timestamp_problems(df, ["2", "3"])]
    ['row 3, LastModifiedDate: INVALID_STRING_FORMAT: not a date-time: write it in ISO 8601, e.g. 2025-01-31T09:30:00+00:00']
    """
    schema = schema or get_schema()
    rows = list(labels)
    out: list[Problem] = []
    for c in df.columns:
        try:
            f = schema.field_for(str(c))
        except KeyError:
            continue
        s = df[c]
        if f.type != "timestamp" or pd.api.types.is_datetime64_any_dtype(s.dtype):
            continue
        for label, v in zip(rows, s.tolist(), strict=True):
            if is_blank(v) or isinstance(v, (datetime, date)):
                continue
            try:
                if not isinstance(v, str):  # a number is no time: pandas would read it as nanoseconds since 1970
                    raise ValueError(NOT_AN_INSTANT)
                to_utc(v.strip())
            except ValueError:
                out.append(Problem(label, str(c), "INVALID_STRING_FORMAT", NOT_AN_INSTANT))
    return out


def snapshot_time(df: pd.DataFrame) -> datetime | None:
    """Return the UTC time of the sync a frame from :func:`opptoolkit.read_mirror` shows; None for any other frame.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame from :func:`opptoolkit.read_mirror` (or one that kept its ``attrs``, e.g. through ``to_parquet``).

    Returns
    -------
    datetime or None
        The sync's time, aware, in UTC.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame()
    >>> df.attrs[SNAPSHOT_ATTR] = "2026-11-25T08:30:00+00:00"
    >>> snapshot_time(df)
    datetime.datetime(2026, 11, 25, 8, 30, tzinfo=datetime.timezone.utc)
    >>> snapshot_time(pd.DataFrame()) is None
    True
    """
    when = df.attrs.get(SNAPSHOT_ATTR)
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            return None
    if not isinstance(when, datetime):
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)
