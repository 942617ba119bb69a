"""The field catalogue of an Opportunity, read at run time from botocore's service model.

Nothing here names a field, an enum value or a pattern: every path, type, bound, required flag
and sensitive flag comes from the ``partnercentral-selling`` model that the installed botocore
ships. When AWS adds a member, a newer botocore brings it in with no code change.

Paths
-----
A *field path* names a leaf with dots, and ``[]`` for a list of structures:
``Customer.Account.CompanyName``, ``Customer.Contacts[].Email``. A *column* is a field path with
the index filled in: ``Customer.Contacts[0].Email``. Lists of scalars (``PrimaryNeedsFromAws``)
are one leaf holding a Python list.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import botocore
import botocore.session
from botocore.model import ListShape, NoShapeFoundError, ServiceModel, Shape, StructureShape

# The Partner Central catalog a request works in. The model's ``Catalog`` member is a pattern, not
# an enum; its documentation names the two values: "AWS" (real opportunities) and "Sandbox"
# (testing in a secure, isolated environment).
# https://docs.aws.amazon.com/partner-central/latest/selling-api/API_GetOpportunity.html
Catalog = Literal["AWS", "Sandbox"]

__all__ = [
    "SERVICE",
    "Catalog",
    "Field",
    "Schema",
    "StructList",
    "get_schema",
    "in_labels",
    "output_schema",
    "service_model",
    "shape_schema",
]

SERVICE = "partnercentral-selling"
#: The identifier member: GetOpportunity returns ``Id``, UpdateOpportunity takes ``Identifier``.
ID, IDENTIFIER = "Id", "Identifier"

_INDEX_RE = re.compile(r"\[(\d+)\]")
_SHAPE = "shape:"  # Schema(output=...) naming a structure of the model, not an operation
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def template(column: str) -> str:
    """Return the field path of a column: indexes of lists of structures as ``[]``.

    >>> template("Customer.Contacts[2].Email")
    'Customer.Contacts[].Email'
    """
    return _INDEX_RE.sub("[]", column)


@functools.cache
def service_model() -> ServiceModel:
    """Return botocore's ``partnercentral-selling`` service model (cached)."""
    return botocore.session.get_session().get_service_model(SERVICE)


@functools.cache
def _enum_of(shape: str) -> tuple[str, ...]:
    try:
        found = service_model().shape_for(shape)
    except NoShapeFoundError:
        return ()
    return tuple(getattr(found, "enum", None) or ())


def model_lacks(what: str) -> LookupError:
    """Return the error for what the code needs of the installed botocore's model and it lacks (``what`` names it).

    Examples
    --------
    >>> str(model_lacks("'Failed' in TaskStatus"))  # doctest: +ELLIPSIS
    "botocore ...'s partnercentral-selling model has no 'Failed' in TaskStatus: opptoolkit needs it; install a ..."
    """
    return LookupError(
        f"botocore {botocore.__version__}'s {SERVICE} model has no {what}: opptoolkit needs it; "
        "install a botocore whose model has it"
    )


def shape_value(shape: str, value: str) -> str:
    """Return ``value``, checked to be one of the values of the model's enum ``shape``.

    How the code names a value of the model by hand (a status it compares answers with, a value the sandbox
    answers): where it is named, with its shape beside it; by an Opportunity field path the business rules do the
    same (``opptoolkit.rules.model_value``), with the same error. A raise, not an ``assert``, which ``python -O``
    drops: a value the installed model lacks would otherwise never match an answer, silently.

    Parameters
    ----------
    shape : str
        The name of a string shape of the ``partnercentral-selling`` model with an enum (``TaskStatus``).
    value : str
        One of its values, spelled as the model spells it.

    Returns
    -------
    str
        ``value``.

    Raises
    ------
    LookupError
        The installed botocore's model has no such shape, or no such value in its enum: naming both, and the
        botocore version (:func:`model_lacks`).

    Examples
    --------
    >>> shape_value("TaskStatus", "FAILED")
    'FAILED'
    >>> shape_value("TaskStatus", "Failed")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    LookupError: botocore ...'s partnercentral-selling model has no 'Failed' in TaskStatus (its values: ...): ...
    """
    values = _enum_of(shape)
    if value not in values:
        listed = f"its values: {', '.join(values)}" if values else "no enum of that name"
        raise model_lacks(f"{value!r} in {shape} ({listed})")
    return value


@dataclass(frozen=True)
class Field:
    """One leaf of the Opportunity record, with its constraints from the service model.

    Attributes
    ----------
    path : str
        Dotted path, ``[]`` marking a list of structures (``Customer.Contacts[].Email``).
    type : str
        The model's leaf type: ``string``, ``timestamp``, ``integer``, ``boolean``, ...
    is_list : bool
        True for a list of scalars (``PrimaryNeedsFromAws``); the cell holds a Python list.
    enum : tuple of str
        Allowed values, empty when free text.
    pattern : str or None
        The model's regular expression; the whole value must match it.
    min, max : int or None
        Bounds from the model: list length for lists, length for strings.
    required : bool
        Required in its parent structure (only checked when the parent is present).
    sensitive : bool
        Marked sensitive in the model: customer PII, never logged.
    writable : bool
        Accepted by UpdateOpportunity.
    struct_list : str or None
        The list-of-structures path this leaf sits in (``Customer.Contacts``), if any.
    doc : str
        The model's documentation, HTML stripped.
    """

    path: str
    type: str
    is_list: bool = False
    enum: tuple[str, ...] = ()
    pattern: str | None = None
    min: int | None = None
    max: int | None = None
    required: bool = False
    sensitive: bool = False
    writable: bool = True
    struct_list: str | None = None
    doc: str = ""
    item_pattern: str | None = None
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @property
    def output_only(self) -> bool:
        """True for members GetOpportunity returns but UpdateOpportunity does not accept."""
        return not self.writable

    @property
    def name(self) -> str:
        """The last segment of the path (``Email``)."""
        return self.path.rsplit(".", 1)[-1].removesuffix("[]")

    @property
    def label(self) -> str:
        """A friendly header derived from the path: ``Customer account company name``."""
        return label_for(self.path)

    @property
    def length(self) -> tuple[int, int] | None:
        """(min, max) characters when the model's pattern is only a length, ``(?s).{a,b}``."""
        return length_bounds(self.pattern)

    @property
    def is_date(self) -> bool:
        """A ``YYYY-MM-DD`` string by its model pattern (``TargetCloseDate``, ``EffectiveDate``)."""
        return is_date_pattern(self.pattern)

    @property
    def is_amount(self) -> bool:
        """A decimal number as text by its model pattern (``ExpectedCustomerSpend.Amount``, ``MonetaryValue.Amount``)."""
        return is_amount_pattern(self.pattern)

    def matches(self, value: str) -> bool:
        """Whether ``value`` fully matches the model's pattern (True when there is none)."""
        rx = self._regex
        return rx is None or rx.fullmatch(value) is not None


@dataclass(frozen=True)
class StructList:
    """A list of structures (``Customer.Contacts``) flattened into indexed columns."""

    path: str
    min: int | None
    max: int | None
    writable: bool
    members: tuple[str, ...]  # leaf paths relative to an item: ("Email", "FirstName", ...)


def _words(segment: str) -> list[str]:
    return [w.lower() for w in _CAMEL_RE.findall(segment)]


# The console's short names for the parts of a path, reviewed by hand (labels only: the fields
# themselves still come from the model). A key is a path prefix, as its segments (``[]`` for a
# list of structures); its words replace the words the prefix would give, so every column below
# it reads the same way: LifeCycle.TargetCloseDate -> "Target close date", Customer.Account.
# Address.City -> "Customer city", Customer.Contacts[0].Email -> "Contact 1 email". FieldCatalog
# checks that each key is still a prefix of a path of the model, and that labels stay unique.
SHORT_LABELS = {
    ("LifeCycle",): "",
    ("Customer", "Account"): "Customer",
    ("Customer", "Account", "Address"): "Customer",
    ("Customer", "Account", "CompanyName"): "Customer company",
    ("Customer", "Contacts[]"): "Contact",
    ("Project", "ExpectedCustomerSpend[]"): "Expected spend",
    ("Project", "ExpectedContractDuration"): "Contract duration",
    ("SoftwareRevenue", "Value"): "Software revenue",
    ("RelatedEntityIdentifiers",): "Related",
    ("OpportunityTeam[]",): "Team member",
}
# Words written as the console writes them (case only: headers are matched without case).
_ACRONYMS = {"aws": "AWS", "url": "URL", "apn": "APN", "arn": "ARN", "duns": "DUNS"}


def derived_label(path_or_column: str) -> str:
    """Return the header derived from the path's words alone.

    ``Customer.Contacts[0].Email`` -> ``Customer contacts 1 email`` (indexes shown from 1). Still accepted on
    read.

    >>> derived_label("LifeCycle.Stage"), derived_label("Customer.Contacts[0].Email")
    ('Life cycle stage', 'Customer contacts 1 email')
    """
    words = _label_words(path_or_column.split("."))
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _label_words(segments: list[str]) -> list[str]:
    words: list[str] = []
    for segment in segments:
        m = re.fullmatch(r"(\w+)\[(\d*)\]", segment)
        if m:
            words += _words(m.group(1))
            if m.group(2):
                words.append(str(int(m.group(2)) + 1))
        else:
            words += _words(segment)
    return words


def label_for(path_or_column: str) -> str:
    """Return the header of a field path or column, as the console names it.

    The path's words, with the reviewed short names of :data:`SHORT_LABELS` for its leading parts (indexes
    shown from 1).

    Parameters
    ----------
    path_or_column : str
        A field path (``Customer.Account.CompanyName``) or a column (``Customer.Contacts[0].Email``).

    Returns
    -------
    str
        The header :func:`opptoolkit.write_sheet` writes with ``headers="label"``.

    Examples
    --------
    >>> label_for("Customer.Account.CompanyName"), label_for("LifeCycle.TargetCloseDate")
    ('Customer company', 'Target close date')
    >>> label_for("Customer.Contacts[0].Email"), label_for("PrimaryNeedsFromAws")
    ('Contact 1 email', 'Primary needs from AWS')
    """
    segments = path_or_column.split(".")
    words: list[str] = []
    rest = segments
    for n in range(len(segments), 0, -1):
        key = tuple(re.sub(r"\[\d*\]", "[]", s) for s in segments[:n])
        if key in SHORT_LABELS:
            words = SHORT_LABELS[key].split()
            m = re.fullmatch(r"\w+\[(\d+)\]", segments[n - 1])
            if m:
                words.append(str(int(m.group(1)) + 1))
            rest = segments[n:]
            break
    words += _label_words(rest)
    words = [_ACRONYMS.get(w, w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


_PATH_RE = re.compile(r"\b[A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)*\b")


@functools.cache
def _named_paths() -> dict[str, str]:
    """Map the model's paths, and its camel-case leaf names that name one field ("ReviewStatus"), to their paths."""
    paths = {p: p for p in get_schema().fields}
    leaves: dict[str, list[str]] = {}
    for path in paths:
        leaf = path.rsplit(".", 1)[-1]
        if re.fullmatch(r"[A-Z][a-z]+[A-Z]\w*", leaf):
            leaves.setdefault(leaf, []).append(path)
    return {**{k: v[0] for k, v in leaves.items() if len(v) == 1}, **paths}


def in_labels(text: str) -> str:
    """Name the model's fields a message mentions by their labels, as a sheet's header and the form name them.

    Examples
    --------
    >>> in_labels("is required when LifeCycle.Stage is 'Closed Lost'")
    "is required when stage is 'Closed Lost'"
    >>> in_labels("is required unless NationalSecurity is 'Yes'")
    "is required unless national security is 'Yes'"
    """
    named = _named_paths()

    def word(m: re.Match[str]) -> str:
        if m.group(0) not in named:
            return m.group(0)
        label = label_for(named[m.group(0)])  # mid-sentence: lower case, but for an acronym ("AWS account id")
        return label if label.split()[0].isupper() else label[:1].lower() + label[1:]

    return _PATH_RE.sub(word, text)


_LENGTH_ONLY = re.compile(r"\(\?s\)\.\{(\d+),(\d+)\}")


def length_bounds(pattern: str | None) -> tuple[int, int] | None:
    """(min, max) of a pattern that only bounds the length, ``(?s).{a,b}``; else None.

    >>> length_bounds("(?s).{20,2000}"), length_bounds("[0-9]{9}")
    ((20, 2000), None)
    """
    m = _LENGTH_ONLY.fullmatch(pattern or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _strip_html(doc: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", doc or "")).strip()


@functools.cache
def compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    r"""Return a model pattern compiled once, with ASCII semantics.

    None when there is none or Python's ``re`` cannot run it (``\p{L}``: not checkable client-side, the
    server decides).

    The model's patterns are Java/Smithy regular expressions, where ``\d`` and ``\w`` are ASCII
    classes: Python's Unicode defaults would let Arabic-Indic digits into a phone number and
    ``Ä`` into an AWS account id.

    >>> bool(compile_pattern(r"\d{2}").fullmatch("\u0661\u0662")), bool(compile_pattern(r"\w").fullmatch("Ä"))
    (False, False)
    """
    if pattern is None:
        return None
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None


@functools.cache
def is_date_pattern(pattern: str | None) -> bool:
    """Whether a model pattern describes a ``YYYY-MM-DD`` date (it takes 2024-01-31, not 2024-01-3)."""
    rx = compile_pattern(pattern)
    return rx is not None and rx.fullmatch("2024-01-31") is not None and rx.fullmatch("2024-01-3") is None


@functools.cache
def is_amount_pattern(pattern: str | None) -> bool:
    r"""Whether a model pattern takes decimal numbers and only those (the API's amounts, sent as text).

    >>> is_amount_pattern(r"(0|([1-9][0-9]{0,30}))(\.[0-9]{0,2})?"), is_amount_pattern(r"(?s).{0,255}")
    (True, False)
    """
    rx = compile_pattern(pattern)
    return (
        rx is not None
        and all(rx.fullmatch(t) for t in ("0", "12", "12.5"))
        and not any(rx.fullmatch(t) for t in ("a", "1a", "a.com", "1,5", "-"))
    )


def _iter_leaves(
    shape: StructureShape, prefix: str = "", struct_list: str | None = None, nested_cells: bool = False
) -> Iterator[tuple[str, Shape, bool, str | None]]:
    """Yield (path, shape, required, struct_list) for every leaf below ``shape``.

    ``nested_cells``: a list of structures inside another is one leaf (its cell holds the list)
    instead of an error; the Opportunity record has none, AWS's opportunity summary has some.
    """
    for name, member in shape.members.items():
        path = f"{prefix}{name}"
        required = name in shape.required_members
        if isinstance(member, StructureShape):
            yield from _iter_leaves(member, path + ".", struct_list, nested_cells)
        elif isinstance(member, ListShape) and isinstance(member.member, StructureShape):
            if struct_list is not None:
                if nested_cells:
                    yield path, member, required, struct_list
                    continue
                raise NotImplementedError(f"nested lists of structures are not supported: {path}")
            yield path + "[]", member, required, None  # marker for the list itself
            yield from _iter_leaves(member.member, path + "[].", path, nested_cells)
        else:
            yield path, member, required, struct_list


class Schema:
    """Every leaf of GetOpportunity's output and UpdateOpportunity's input, in model order.

    Obtain it with :func:`get_schema`.

    Examples
    --------
    >>> schema = get_schema()
    >>> f = schema["LifeCycle.Stage"]
    >>> f.type, "Prospect" in f.enum, f.writable
    ('string', True, True)
    >>> schema["Arn"].output_only
    True
    >>> schema.field_for("Customer.Contacts[2].Email").path
    'Customer.Contacts[].Email'
    """

    def __init__(
        self, model: ServiceModel, output: str = "GetOpportunity", update: str | None = "UpdateOpportunity"
    ) -> None:
        # Another operation's answer (``output_schema``) has the same kind of catalogue, all of it
        # output-only: nothing of it is ever sent back.
        # ``shape:<Name>`` catalogues one structure of the model (``shape_schema``) rather than an answer
        get_out = (
            model.shape_for(output.removeprefix(_SHAPE))
            if output.startswith(_SHAPE)
            else model.operation_model(output).output_shape
        )
        upd_in = (
            model.operation_model(update).input_shape
            if update
            else StructureShape("None", {"type": "structure", "members": {}})
        )
        assert isinstance(get_out, StructureShape) and isinstance(upd_in, StructureShape)
        self.update_shape: StructureShape = upd_in
        self.get_shape: StructureShape = get_out
        self.operation = output
        writable = {p for p, *_ in _iter_leaves(upd_in)}
        self.fields: dict[str, Field] = {}
        self.struct_lists: dict[str, StructList] = {}
        members: dict[str, list[str]] = {}
        leaves = list(_iter_leaves(get_out, nested_cells=update is None))
        # Id first, then the model's order.
        leaves.sort(key=lambda leaf: leaf[0] != ID)
        for path, shape, required, struct_list in leaves:
            if path.endswith("[]"):
                base = path[:-2]
                members[base] = []
                self.struct_lists[base] = StructList(
                    base, shape.metadata.get("min"), shape.metadata.get("max"), path in writable, ()
                )
                continue
            is_list = isinstance(shape, ListShape)
            leaf = shape.member if isinstance(shape, ListShape) else shape
            pattern = leaf.metadata.get("pattern") if not is_list else None
            item_pattern = leaf.metadata.get("pattern") if is_list else None
            bounds = shape.metadata
            f = Field(
                path=path,
                type=leaf.type_name,
                is_list=is_list,
                enum=tuple(getattr(leaf, "enum", None) or ()),
                pattern=pattern,
                min=bounds.get("min"),
                max=bounds.get("max"),
                required=required,
                sensitive=bool(leaf.metadata.get("sensitive") or shape.metadata.get("sensitive")),
                writable=path in writable,
                struct_list=struct_list,
                doc=_strip_html(shape.documentation or leaf.documentation),
                item_pattern=item_pattern,
                _regex=compile_pattern(pattern or item_pattern),
            )
            self.fields[path] = f
            if struct_list:
                members[struct_list].append(path[len(struct_list) + 3 :])
        for base, names in members.items():
            sl = self.struct_lists[base]
            self.struct_lists[base] = StructList(sl.path, sl.min, sl.max, sl.writable, tuple(names))
        if update is None:  # another answer: labels as derived, no short labels to keep in step
            self._labels: dict[str, str] = {}
            for p, f in self.fields.items():
                self._labels.setdefault(f.label.casefold(), p)
            return
        stale = [k for k in SHORT_LABELS if not any(tuple(p.split("."))[: len(k)] == k for p in self.fields)]
        if stale:
            raise AssertionError(f"SHORT_LABELS names parts the service model no longer has: {stale}")
        self._labels = {f.label.casefold(): p for p, f in self.fields.items()}
        if len(self._labels) != len(self.fields):
            raise AssertionError("friendly labels are not unique; label_for needs a tie-breaker")
        # the labels derived from the path alone (sheets written before the short labels) still read
        for p in self.fields:
            self._labels.setdefault(derived_label(p).casefold(), p)
        if len(set(self._labels.values())) != len(self.fields):
            raise AssertionError("a derived label names another field's short label")

    # -- lookups -------------------------------------------------------------------------------
    def __getitem__(self, path: str) -> Field:
        return self.fields[path]

    def __contains__(self, path: object) -> bool:
        return path in self.fields

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields.values())

    def __len__(self) -> int:
        return len(self.fields)

    def __repr__(self) -> str:
        n_w = sum(f.writable for f in self)
        return (
            f"<Schema {len(self)} fields ({n_w} writable, {len(self) - n_w} output-only), "
            f"{len(self.struct_lists)} lists of structures>"
        )

    @functools.cached_property
    def sensitive_paths(self) -> frozenset[str]:
        """Return the paths of the fields the model flags as sensitive."""
        return frozenset(f.path for f in self if f.sensitive)

    def field_for(self, column: str) -> Field:
        """Return the field a column belongs to (``Customer.Contacts[3].Email`` -> ``...[].Email``).

        In the Opportunity catalogue an ``Aws.`` column is AWS's view of the opportunity
        (GetAwsOpportunitySummary, :func:`opptoolkit.read_aws_summaries`): a field of that
        answer, output-only, so no plan or push ever sends it. Raises ``KeyError`` for an unknown column.
        """
        path = template(column)
        try:
            return self.fields[path]
        except KeyError:
            if self.operation != "GetOpportunity" or not path.startswith(AWS_PREFIX):
                raise
            return _aws_field(path)

    def path_for_label(self, header: str) -> str | None:
        """Resolve a header that is a dotted column or a friendly label to a column name."""
        header = " ".join(str(header).split())
        try:
            self.field_for(header)
            return header
        except KeyError:
            pass
        # Friendly labels of indexed columns carry a 1-based index as a separate word.
        words = header.split(" ")
        for i, w in enumerate(words):
            if w.isdigit():
                unindexed = " ".join(words[:i] + words[i + 1 :]).casefold()
                path = self._label(unindexed)
                if path and "[]" in path:
                    return path.replace("[]", f"[{int(w) - 1}]", 1)
        return self._label(header.casefold())

    def _label(self, key: str) -> str | None:
        """Return the path a casefolded label names; in the Opportunity catalogue, AWS's view's labels last."""
        path = self._labels.get(key)
        if path is None and self.operation == "GetOpportunity":
            path = _aws_labels().get(key)
        return path

    def columns(self, list_sizes: dict[str, int] | None = None, *, min_items: int = 1) -> list[str]:
        """Return all columns in model order, with indexed columns for every list of structures.

        A list of structures has ``list_sizes[path]`` sets (at least ``min_items``).
        """
        sizes = list_sizes or {}
        out: list[str] = []
        done: set[str] = set()
        for f in self:
            if f.struct_list is None:
                out.append(f.path)
            elif f.struct_list not in done:
                done.add(f.struct_list)
                sl = self.struct_lists[f.struct_list]
                for i in range(max(sizes.get(sl.path, 0), min_items)):
                    out.extend(f"{sl.path}[{i}].{m}" for m in sl.members)
        return out

    def sort_columns(self, columns: list[str]) -> list[str]:
        """Order known columns as the model does (index by index for lists of structures)."""
        return sorted(columns, key=self._sort_key)

    def _sort_key(self, c: str) -> tuple[int, int, int, int]:
        if template(c) not in self.fields:  # an ``Aws.`` column: after the record, in its answer's order
            return (1, *output_schema("GetAwsOpportunitySummary")._sort_key(c[len(AWS_PREFIX) :])[1:])
        order = self._order
        f = self.field_for(c)
        if f.struct_list is None:
            return (0, order[f.path], 0, 0)
        m = _INDEX_RE.search(c)
        first = min(order[f"{f.struct_list}[].{n}"] for n in self.struct_lists[f.struct_list].members)
        return (0, first, int(m.group(1)) if m else 0, order[f.path])

    @functools.cached_property
    def _order(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.fields)}

    def shape_at(self, path: str) -> Shape:
        """Return the model shape of an UpdateOpportunity member path such as ``Customer.Account``."""
        shape: Shape = self.update_shape
        for part in path.replace("[]", ".[]").split("."):
            if part == "[]":
                assert isinstance(shape, ListShape)
                shape = shape.member
            else:
                assert isinstance(shape, StructureShape)
                shape = shape.members[part]
        return shape


@functools.cache
def get_schema() -> Schema:
    """Return the Opportunity field catalogue for the installed botocore (cached).

    Examples
    --------
    >>> schema = get_schema()
    >>> "Customer.Account.CompanyName" in schema
    True
    >>> schema["Customer.Account.CompanyName"].sensitive
    True
    """
    return Schema(service_model())


#: The prefix of AWS's view of an opportunity in an opportunity frame (``Aws.LifeCycle.Stage``).
AWS_PREFIX = "Aws."


@functools.cache
def _aws_field(path: str) -> Field:
    """Return the GetAwsOpportunitySummary field behind an ``Aws.`` column, renamed into the frame (output-only)."""
    f = output_schema("GetAwsOpportunitySummary").fields[path[len(AWS_PREFIX) :]]
    struct_list = AWS_PREFIX + f.struct_list if f.struct_list else None
    return dataclasses.replace(f, path=path, struct_list=struct_list, writable=False)


@functools.cache
def _aws_labels() -> dict[str, str]:
    """Casefolded labels of the ``Aws.`` columns (``AWS life cycle stage``) -> their path."""
    return {
        label_for(AWS_PREFIX + p).casefold(): AWS_PREFIX + p for p in output_schema("GetAwsOpportunitySummary").fields
    }


@functools.cache
def output_schema(operation: str) -> Schema:
    """Return the field catalogue of another operation's answer, every field output-only (cached).

    The same model-driven catalogue as :func:`get_schema`, for GetEngagementInvitation or
    GetAwsOpportunitySummary: :func:`opptoolkit.to_frame` flattens those answers with it.

    Examples
    --------
    >>> schema = output_schema("GetEngagementInvitation")
    >>> f = schema["Payload.OpportunityInvitation.Customer.CompanyName"]
    >>> f.sensitive, f.writable
    (True, False)
    """
    return Schema(service_model(), output=operation, update=None)


def split_column(column: str) -> tuple[str, int | None, str]:
    """Split a column into (struct-list path, index, member) or (path, None, "").

    >>> split_column("Customer.Contacts[1].Email")
    ('Customer.Contacts', 1, 'Email')
    >>> split_column("LifeCycle.Stage")
    ('LifeCycle.Stage', None, '')
    """
    m = _INDEX_RE.search(column)
    if not m:
        return column, None, ""
    return column[: m.start()], int(m.group(1)), column[m.end() + 1 :]


@functools.cache
def shape_schema(shape: str) -> Schema:
    """Return the field catalogue of one structure of the model, every field output-only (cached).

    For a structure that no operation answers at the top: a lead engagement's ``LeadContext``, one
    ``LeadInteraction``. Its lists of structures are indexed columns (``Interactions[0].Contact.Email``),
    as an opportunity's contacts are.

    Examples
    --------
    >>> schema = shape_schema("LeadContext")
    >>> schema["Customer.CompanyName"].sensitive, schema.field_for("Interactions[1].Contact.Email").path
    (True, 'Interactions[].Contact.Email')
    """
    return Schema(service_model(), output=_SHAPE + shape, update=None)
