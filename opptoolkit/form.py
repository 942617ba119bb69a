"""An ipywidgets editor for one opportunity, generated from the field catalogue.

Widgets are chosen from the service model (short enums: dropdowns; long enums: a searchable
combobox; lists of enum values: tags limited to the members; dates: a date picker; long text:
a text area with a live character count; lists of structures: entries to add and remove up to
the model's maximum). Validation is the shared rules module, live, next to each field. Save goes
through the batch updater for one row, so conflicts, merges, the ledger and error reporting are
the same as for a bulk push.

Examples
--------
>>> import opptoolkit as ot
>>> from opptoolkit.sandbox import load_seed
>>> row = ot.to_frame(load_seed()[:1]).iloc[0]
>>> form = OpportunityForm.from_row(row)
>>> form.set("Project.Title", "A new title")
>>> form.changes()["Project.Title"][1]
'A new title'
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as w
import pandas as pd

from . import fields as P
from ._status import Reason, Status
from ._values import display, enum_value, is_blank
from .client import fetch_opportunity
from .connection import Connection, as_connection, takes_connection
from .exceptions import OpptoolkitError, Problem
from .frame import to_frame, to_payload
from .mirror import read_mirror
from .plan import changes
from .push import push_updates
from .rules import ACTION_REQUIRED, ASSOCIATIONS, LOCKED_STATUSES, editable_fields, validate_payload
from .schema import ID, Catalog, Field, Schema, derived_label, get_schema, in_labels, label_for, split_column
from .sheets import WORK_FIRST

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = ["OpportunityForm", "edit_opportunity"]

SHORT_ENUM = 12  # at most this many values: a dropdown; more: a searchable combobox
LONG_TEXT = 255  # a maximum length from this on: a text area


def css_class(column: str) -> str:
    """Return the DOM class of a column's widget (for browser tests and styling)."""
    return "ot-" + re.sub(r"[^A-Za-z0-9]+", "-", column).strip("-")


def widget_kind(f: Field) -> str:
    """Return the widget the model calls for: dropdown, combobox, tags, date, textarea, text, readonly."""
    if not f.writable:
        return "readonly"
    if f.is_list:
        return "tags"
    if f.enum:
        return "dropdown" if len(f.enum) <= SHORT_ENUM else "combobox"
    if f.type == "timestamp":
        return "readonly"
    if f.is_date:
        return "date"
    b = f.length
    if b and b[1] >= LONG_TEXT and not f.path.startswith("Customer.Account"):
        return "textarea"
    return "text"


# Section titles: the model's top-level parts, in words (derived_label: "SoftwareRevenue" -> "Software
# revenue"), after the commonly edited fields (the workbook's WORK_FIRST order) and before what no
# edit can change. The three names below are the form's own, not fields.
COMMON = "Commonly edited"
GENERAL = "Opportunity"
READ_ONLY = "Read-only (set by AWS)"


def _section_title(column: str) -> str:
    return derived_label(column.split(".", 1)[0]) if "." in column else GENERAL


def _short_label(column: str, section: str) -> str:
    """Return a field's label inside its section, without the section's words ("Customer company" -> "Company")."""
    label = label_for(column)
    words, lead = label.split(), section.lower().split()
    if len(words) > len(lead) and [x.lower() for x in words[: len(lead)]] == lead:
        rest = " ".join(words[len(lead) :])
        return rest[:1].upper() + rest[1:]
    return label


def problem_sentence(label: str, p: Problem) -> str:
    """Return a problem in plain words, naming the field by its label ("Customer website is required ...")."""
    msg = in_labels(p.message)
    return f"{label} {msg}" if msg[:1].islower() else f"{label}: {msg}"


def conflicting_fields(r: Mapping[Any, Any]) -> list[str]:
    """Return the fields a push's result row names as changed on both sides (its ``error_fields`` of code CONFLICT).

    Examples
    --------
    >>> conflicting_fields({"error_codes": ["CONFLICT", "ConflictException"], "error_fields": ["Project.Title", ""]})
    ['Project.Title']
    """
    codes, fields = r.get("error_codes"), r.get("error_fields")
    if codes is None or fields is None or len(codes) != len(fields):
        return []
    return [f for c, f in zip(codes, fields, strict=True) if c == Reason.CONFLICT and f]


def _problem_html(label: str, p: Problem) -> str:
    """One problem in plain words; the API's error code is its tooltip."""
    return f"<span class='ot-problem' title='{html.escape(p.code)}'>{html.escape(problem_sentence(label, p))}</span>"


def _when(value: Any) -> str:
    if is_blank(value):
        return ""
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d %H:%M} UTC"
    except (TypeError, ValueError):
        return str(value)


class _FieldWidget:
    """One column's widget, its label, live character count and error line."""

    def __init__(self, column: str, f: Field, value: Any, on_change: Callable[[], None], label: str) -> None:
        self.column, self.field, self.label_text = column, f, label
        self.kind = widget_kind(f)
        layout = w.Layout(width="420px")
        tooltip = f.doc[:600] or None
        if self.kind == "dropdown":
            self.widget: w.DOMWidget = w.Dropdown(options=["", *f.enum], layout=layout, tooltip=tooltip)
        elif self.kind == "combobox":
            self.widget = w.Combobox(
                options=list(f.enum), ensure_option=True, placeholder="type to search", layout=layout, tooltip=tooltip
            )
        elif self.kind == "tags":
            self.widget = w.TagsInput(allowed_tags=list(f.enum), allow_duplicates=False, tooltip=tooltip)
        elif self.kind == "date":
            self.widget = w.DatePicker(layout=w.Layout(width="200px"), tooltip=tooltip)
        elif self.kind == "textarea":
            tall = f.length is not None and f.length[1] > 2 * LONG_TEXT  # a title: two lines; a problem: more
            self.widget = w.Textarea(layout=w.Layout(width="420px", height="80px" if tall else "48px"), tooltip=tooltip)
        else:
            self.widget = w.Text(layout=layout, tooltip=tooltip, disabled=self.kind == "readonly")
        self.widget.add_class(css_class(column))
        self.label = w.HTML(f"<b>{html.escape(label)}</b>", layout=w.Layout(width="300px"), tooltip=tooltip)
        self.count = w.HTML("")
        self.error = w.HTML("")
        self.error.add_class(css_class(column + "-error"))
        self.box = w.VBox([w.HBox([self.label, self.widget, self.count]), self.error])
        self.set(value)
        self.on_change = on_change
        self.widget.observe(self._observed, names="value")

    def _observed(self, _: Any) -> None:
        self._count()
        self.on_change()

    def set(self, value: Any) -> None:
        if self.kind == "tags":
            tags = [] if is_blank(value) else [str(x) for x in list(value)]
            # a value AWS answered outside the model's enum (rules.model_problems' ``stored``) is shown and kept
            self.widget.allowed_tags = [
                *self.widget.allowed_tags,
                *(t for t in tags if t not in self.widget.allowed_tags),
            ]
            self.widget.value = tags
        elif self.kind == "date":
            self.widget.value = None if is_blank(value) else date.fromisoformat(str(value))
        elif self.kind == "readonly":
            self.widget.value = "" if is_blank(value) else display(value).strip("'")
        else:
            text = "" if is_blank(value) else str(value)
            if self.kind == "dropdown" and text not in self.widget.options:
                self.widget.options = [*self.widget.options, text]  # show what the record holds; validation flags it
            self.widget.value = text
        self._count()

    def get(self) -> Any:
        v = self.widget.value
        if self.kind == "tags":
            return list(v) or None
        if self.kind == "date":
            return None if v is None else v.isoformat()
        if self.kind in ("dropdown", "combobox") and v:
            return enum_value(v, self.field)
        return v or None

    def _count(self) -> None:
        b = self.field.length
        if b and self.kind in ("text", "textarea"):
            n = len(self.widget.value or "")
            bad = n > b[1] or (0 < n < b[0])
            self.count.value = f"<span style='color:{'#b00' if bad else '#888'}'>{n}/{b[1]}</span>"

    def disable(self, reason: str | None) -> None:
        self.widget.disabled = reason is not None
        if reason:
            self.label.tooltip = reason


#: Why the form does not edit the association columns (solutions, AWS products, offers...), which the rules count as
#: editable: a push sends them as association calls, one per entity, and the form has no widget for picking them.
_ASSOCIATED_HERE = (
    "associations: edit them in the workbook or the frame (a push sends them as AssociateOpportunity calls)"
)


def _editable(status: str | None, columns: Iterable[str], schema: Schema) -> dict[str, str | None]:
    """Return :func:`opptoolkit.rules.editable_fields`, with the association columns read-only in the form."""
    out = editable_fields(status, columns, schema=schema)
    for column in ASSOCIATIONS.keys() & out.keys():
        out[column] = _ASSOCIATED_HERE
    return out


class OpportunityForm:
    """An editor for one opportunity (display it in Jupyter).

    Build it with :func:`edit_opportunity` (against the API) or :meth:`from_row` (a DataFrame
    row, no API: Save writes back into the frame).

    The form opens on a header naming the record, a picker over ``pick_from`` (search by company,
    title or Id, then Open), and the commonly edited fields (the workbook's first columns); the
    other fields follow in one collapsible section per part of the model. A field with a problem
    opens its section, and the line beside Save says why Save is off.

    Attributes
    ----------
    fields : dict
        Column -> its field widget (``fields[col].widget`` is the ipywidget).
    sections : dict
        Section title -> its ``ipywidgets.Accordion`` (``selected_index`` 0: open).
    section_of : dict
        Column -> the title of the section that shows it.
    status : ipywidgets.HTML
        What the last Save / Reload / Open did, in plain words.
    why : ipywidgets.HTML
        Why Save is off, beside the button.
    """

    def __init__(
        self,
        row: Mapping[str, Any] | pd.Series,
        *,
        catalog: Catalog | Connection | None = None,
        client: SellingClient | None = None,
        ledger: str | Path = "ledger",
        frame: pd.DataFrame | None = None,
        index: Any = None,
        today: date | None = None,
        pick_from: pd.DataFrame | None = None,
    ) -> None:
        self.schema: Schema = get_schema()
        self.ledger, self.frame, self.index, self.today = Path(ledger), frame, index, today
        self.base: dict[str, Any] = self._row(row)
        named = catalog or self.base.get("Catalog") or "Sandbox"
        #: What Open, Save and Reload read and write through (its one pacer counts them); None: a frame's row
        self.connection = (
            as_connection(named, client=client, progress=False)
            if client is not None or isinstance(named, Connection)
            else None
        )
        self.catalog_name: Catalog = self.connection.catalog if self.connection is not None else cast("Catalog", named)
        self.pick_from = frame if pick_from is None and self.connection is None else pick_from
        self.fields: dict[str, _FieldWidget] = {}
        self.sections: dict[str, w.Accordion] = {}
        self.section_of: dict[str, str] = {}
        self._seen: set[tuple[str, str]] = set()  # the problems shown last, (field, code)
        self.header = w.HTML("")
        self.header.add_class("ot-header")
        self.status = w.HTML("")
        self.banner = w.HTML("")
        self.why = w.HTML("")
        self.why.add_class("ot-why")
        self.preview_out = w.HTML("")
        self._list_boxes: dict[str, w.VBox] = {}
        self._building = False
        self._pending_open: Any = None
        self.save_button = w.Button(description="Save", button_style="primary", icon="save")
        self.preview_button = w.Button(description="Preview changes", icon="eye")
        self.reload_button = w.Button(description="Reload", icon="refresh", disabled=self.connection is None)
        self.save_button.on_click(lambda _: self.save())
        self.preview_button.on_click(lambda _: self.preview())
        self.reload_button.on_click(lambda _: self.reload())
        self.section_box = w.VBox()
        self.picker = self._picker()
        self.widget = w.VBox(
            [
                self.picker,
                self.header,
                self.banner,
                w.HBox([self.preview_button, self.save_button, self.reload_button, self.why]),
                self.status,
                self.preview_out,
                self.section_box,
            ]
        )
        self.widget.add_class("ot-form")
        self._build()

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_row(
        cls, row: pd.Series | Mapping[str, Any], frame: pd.DataFrame | None = None, **kwargs: Any
    ) -> OpportunityForm:
        """Return a form over a DataFrame row; Save writes the edited values back into ``frame``.

        The picker offers the other rows of ``frame`` (or of ``pick_from=``).
        """
        index = row.name if isinstance(row, pd.Series) else None
        return cls(row, frame=frame, index=index, **kwargs)

    @staticmethod
    def _row(row: Mapping[str, Any] | pd.Series) -> dict[str, Any]:
        items = row.items()
        return {str(k): v for k, v in items if not is_blank(v) or isinstance(v, list)}

    def _columns(self) -> list[str]:
        sizes: dict[str, int] = {}
        for c in self.base:
            base, idx, _ = split_column(c)
            if idx is not None:
                sizes[base] = max(sizes.get(base, 0), idx + 1)
        return self.schema.columns(sizes)

    def _build(self) -> None:
        self._building = True
        self.fields.clear()
        self._list_boxes.clear()
        self.section_of.clear()
        self._seen = set()
        cols = self._columns()
        # what no edit can change, whatever the ReviewStatus: shown apart, lists of it as tables
        fixed = _editable(None, cols, self.schema)
        first = [c for c in WORK_FIRST if c in cols and fixed[c] is None]
        groups: dict[str, list[w.Widget]] = {COMMON: []}
        lists: dict[str, dict[int, list[w.Widget]]] = {}
        tables: dict[str, list[str]] = {}
        for col in first + [c for c in cols if c not in first]:
            f = self.schema.field_for(col)
            base, idx, _ = split_column(col)
            if col in first:
                title, label = COMMON, label_for(col)
            elif fixed[col] is not None:
                title = READ_ONLY if idx is None or "." not in base else _section_title(col)
                label = _short_label(col, READ_ONLY if idx is None else title)
            else:
                title = _section_title(col)
                label = _short_label(col, title)
            fw = _FieldWidget(col, f, self.base.get(col), self._changed, label)
            self.fields[col] = fw
            self.section_of[col] = title
            if idx is not None and col not in first and fixed[col] is not None:
                tables.setdefault(base, []).append(col)
            elif idx is not None and col not in first:
                lists.setdefault(base, {}).setdefault(idx, []).append(fw.box)
            else:
                groups.setdefault(title, []).append(fw.box)
        for base, entries in lists.items():
            box = w.VBox([self._entry_box(base, i, boxes) for i, boxes in sorted(entries.items())])
            self._list_boxes[base] = box
            sl = self.schema.struct_lists[base]
            add = w.Button(description=f"Add {label_for(base).split()[-1].rstrip('s').lower()}", icon="plus")
            add.add_class(css_class(base + "-add"))
            add.on_click(lambda _, b=base: self.add_entry(b))
            limit = f" (at most {sl.max})" if sl.max else ""
            groups.setdefault(_section_title(base + ".x"), []).append(
                w.VBox(
                    [w.HTML(f"<b>{html.escape(_short_label(base, _section_title(base + '.x')))}</b>{limit}"), box, add]
                )
            )
        for base, tcols in tables.items():
            title = READ_ONLY if "." not in base else _section_title(base + ".x")
            groups.setdefault(title, []).append(self._table(base, tcols, title))
        order = [COMMON, *[k for k in groups if k not in (COMMON, READ_ONLY)], READ_ONLY]
        # the same record shown again (after Save, Reload, Add): the sections the user opened stay open
        same = self.sections and getattr(self, "_built_for", None) == self.base.get(ID)
        opened = {k for k, acc in self.sections.items() if acc.selected_index == 0} if same else {COMMON}
        self._built_for = self.base.get(ID)
        self.sections = {}
        for name in order:
            if groups.get(name):
                acc = w.Accordion(children=[w.VBox(groups[name])], titles=(name,))
                acc.add_class("ot-section")
                acc.add_class(css_class("section-" + name))
                acc.selected_index = 0 if name in opened else None
                self.sections[name] = acc
        self.section_box.children = list(self.sections.values())
        self._apply_editability()
        self._header()
        self._building = False
        self._changed()

    def _table(self, base: str, columns: list[str], section: str) -> w.Widget:
        """Show a read-only list of structures (next-steps history, team) as a table: nothing to add or remove."""
        sl = self.schema.struct_lists[base]
        rows: dict[int, dict[str, Any]] = {}
        for c in columns:
            _, idx, member = split_column(c)
            v = self.base.get(c)
            if idx is not None and member and not is_blank(v):
                rows.setdefault(idx, {})[member] = v
        head = "".join(f"<th>{html.escape(label_for(m))}</th>" for m in sl.members)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(display(r.get(m)).strip(chr(39)))}</td>" for m in sl.members) + "</tr>"
            for _, r in sorted(rows.items())
        )
        name = html.escape(_short_label(base, section))
        table = (
            f"<table class='{css_class(base)}' style='border-collapse:collapse;font-size:12px'>"
            f"<tr>{head}</tr>{body}</table>"
            if rows
            else "<i>none</i>"
        )
        return w.HTML(f"<b>{name}</b> <span style='color:#888'>(read-only, set by AWS)</span>{table}")

    def _entry_box(self, base: str, index: int, boxes: list[w.Widget]) -> w.Widget:
        remove = w.Button(description="Remove", icon="trash", layout=w.Layout(width="110px"))
        remove.add_class(css_class(f"{base}[{index}]-remove"))
        remove.on_click(lambda _, b=base, i=index: self.remove_entry(b, i))
        return w.VBox(
            [w.HTML(f"<i>#{index + 1}</i>"), *boxes, remove], layout=w.Layout(border="1px solid #ddd", padding="4px")
        )

    def _header(self) -> None:
        """Name the open record: company and title, then Id, stage, review status and last change."""
        b = self.base
        name = " — ".join(str(b[c]) for c in (P.COMPANY, P.TITLE) if not is_blank(b.get(c))) or "(no name)"
        facts = [
            ("Id", b.get(ID)),
            (label_for(P.STAGE), b.get(P.STAGE)),
            (label_for(P.REVIEW_STATUS), b.get(P.REVIEW_STATUS)),
            ("Last modified", _when(b.get("LastModifiedDate"))),
        ]
        line = " · ".join(
            f"{html.escape(k)}: <b class='{css_class('header-' + k)}'>{html.escape(str(v))}</b>"
            for k, v in facts
            if not is_blank(v) and v != ""
        )
        self.header.value = (
            f"<div style='font-size:18px;font-weight:600;margin-top:6px'>{html.escape(name)}</div>"
            f"<div style='color:#444;margin-bottom:4px'>{line} · {html.escape(self.catalog_name)} catalog</div>"
        )

    def _apply_editability(self) -> None:
        status = self.base.get(P.REVIEW_STATUS)
        self.banner.value = ""
        if status in LOCKED_STATUSES:
            self.banner.value = (
                f"<div style='color:#a60'>Review status is <b>{html.escape(status)}</b>: nothing is editable.</div>"
            )
        # the rules' decision, as the plan and the sandbox make it
        reasons = _editable(status, self.fields, self.schema)
        if status == ACTION_REQUIRED:
            open_ = [c for c, fw in self.fields.items() if reasons[c] is None and fw.kind != "readonly"]
            names = ", ".join(dict.fromkeys(label_for(split_column(c)[0]) for c in open_))  # a list's entries once
            self.banner.value = (
                f"<div style='color:#a60'>Review status is <b>{html.escape(status)}</b>: only the fields "
                f"AWS asks about can be changed: {html.escape(names)}.</div>"
            )
            for col in open_:  # their sections open, under AWS's comments
                acc = self.sections.get(self.section_of.get(col, ""))
                if acc is not None:
                    acc.selected_index = 0
        self.banner.value = self._review_said(status) + self.banner.value
        for col, fw in self.fields.items():
            reason = reasons[col]
            fw.disable(reason)
            if reason and fw.kind != "readonly" and self.section_of.get(col) != READ_ONLY:
                fw.error.value = f"<span style='color:#888;font-size:11px'>{html.escape(in_labels(reason))}</span>"

    def _review_said(self, status: Any) -> str:
        """Return AWS's review of the record (its reason and comments) as the box above the fields, or ``""``."""
        said = [
            (label_for(col), str(self.base[col]))
            for col in (P.REVIEW_STATUS_REASON, P.REVIEW_COMMENTS)
            if not is_blank(self.base.get(col)) and str(self.base[col]).strip()
        ]
        if not said or (status != ACTION_REQUIRED and status not in LOCKED_STATUSES):
            return ""
        lines = "".join(f"<div><b>{html.escape(k)}:</b> {html.escape(v)}</div>" for k, v in said)
        return (
            "<div class='ot-review' style='border-left:4px solid #e8a400;background:#fff8e5;padding:6px 10px;"
            f"margin:6px 0'><div style='font-weight:600'>AWS's review</div>{lines}</div>"
        )

    # -- the picker ------------------------------------------------------------------------------
    def _picker(self) -> w.Widget:
        self.search = w.Text(placeholder="Search company, title or Id", layout=w.Layout(width="300px"))
        self.search.add_class("ot-picker-search")
        self.matches = w.Select(options=[], rows=5, layout=w.Layout(width="620px"))
        self.matches.add_class("ot-picker-list")
        self.open_button = w.Button(description="Open", icon="folder-open")
        self.open_button.add_class("ot-picker-open")
        self.found = w.HTML("")
        if self.pick_from is None or len(self.pick_from) == 0:
            return w.VBox([])
        self.search.observe(lambda _: self._search(), names="value")
        self.open_button.on_click(lambda _: self.open(self.matches.value) if self.matches.value is not None else None)
        self._search()
        return w.HBox([w.VBox([self.search, self.found]), self.matches, self.open_button])

    def _search(self, limit: int = 200) -> None:
        df = self.pick_from
        if df is None:
            return
        text = pd.Series("", index=df.index, dtype=object)
        for c in (ID, P.COMPANY, P.TITLE):
            if c in df.columns:
                text = text + " " + df[c].fillna("").astype(str)
        words = self.search.value.lower().split()
        hit = text.str.lower().map(lambda t: all(x in t for x in words))
        rows = df[hit.astype(bool)]
        options = []
        for _, r in rows.head(limit).iterrows():
            bits = [str(r[c]) for c in (P.COMPANY, P.TITLE) if c in rows.columns and not is_blank(r[c])]
            stage = f", {r[P.STAGE]}" if P.STAGE in rows.columns and not is_blank(r[P.STAGE]) else ""
            options.append((f"{' — '.join(bits) or '(no name)'} ({r[ID]}{stage})", r[ID]))
        self.matches.options = options
        more = f", the first {limit} shown" if len(rows) > limit else ""
        self.found.value = f"<span style='color:#666'>{len(rows)} of {len(df)} opportunities{more}</span>"

    def open(self, identifier: str, *, discard: bool = False) -> str:
        """Show another opportunity: read again from the service (or ``pick_from``'s row, without a client).

        Edits not saved are kept unless the same record is asked for twice (or ``discard``).
        """
        n = len(self.changes())
        if n and not discard and self._pending_open != identifier:
            self._pending_open = identifier
            return self._say(
                f"{n} change{'s' if n != 1 else ''} not saved here. Save, or press Open again to drop "
                f"{'them' if n != 1 else 'it'} and open {identifier}.",
                "#a60",
            )
        self._pending_open = None
        if self.connection is not None:
            rec = self._read(identifier)
            if rec is None:
                return self._say(f"{identifier} is not in the {self.catalog_name} catalog.", "#b00")
            self.base = self._row(to_frame([rec]).iloc[0])
        else:
            source = self.frame if self.frame is not None else self.pick_from
            assert source is not None
            at = source.index[source[ID] == identifier]
            if len(at) == 0:
                return self._say(f"{identifier} is not in this frame.", "#b00")
            self.index = at[0]
            self.base = self._row(source.loc[self.index])
        self.preview_out.value = ""
        self._build()
        return self._say(f"Opened {identifier}.", "#070")

    # -- values, validation, preview ---------------------------------------------------------------
    def set(self, column: str, value: Any) -> None:
        """Set a field's widget as a user would (``value`` in the frame's terms)."""
        self.fields[column].set(value)

    def values(self) -> dict[str, Any]:
        """Return the edited row: ``Id``, the token read, and every editable field's value."""
        out = {c: fw.get() for c, fw in self.fields.items() if fw.field.writable}
        out[ID] = self.base.get(ID)
        out["LastModifiedDate"] = self.base.get("LastModifiedDate")
        out["Catalog"] = self.catalog_name
        return out

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """``{column: (old, new)}`` against the record as loaded."""
        return changes(self.values(), self.base, self.schema, "clear")

    def problems(self) -> list[Problem]:
        """Return what the shared rules say of the edited record (empty: it can be saved)."""
        changed = self.changes()
        if not changed:
            return []
        edited = {**self.base, **{c: v for c, (_, v) in changed.items()}, "Catalog": self.catalog_name}
        status = self.base.get(P.REVIEW_STATUS)
        stored = _untuple(to_payload(self.base))  # what AWS answered goes back as it is (rules.model_problems)
        return validate_payload(
            _untuple(to_payload(edited)), changed=changed, review_status=status, today=self.today, stored=stored
        )

    def label(self, column: str) -> str:
        """Return the field's name as the form shows it outside its section (``Customer website``)."""
        return label_for(column)

    def _changed(self) -> None:
        if self._building:
            return
        problems = self.problems()
        by_field: dict[str, list[Problem]] = {}
        for p in problems:
            by_field.setdefault(p.field, []).append(p)
        for col, fw in self.fields.items():
            if fw.widget.disabled:
                continue
            fw.error.value = "".join(
                f"<div style='color:#b00;font-size:12px'>{_problem_html(fw.label_text, p)}</div>"
                for p in by_field.get(col, [])
            )
        # a section with a problem says so in its title; whenever the problems change (one appears,
        # one is fixed), every section holding one opens, so no reason to refuse Save stays hidden
        count: dict[str, int] = {}
        for col, ps in by_field.items():
            if col in self.section_of and not self.fields[col].widget.disabled:
                count[self.section_of[col]] = count.get(self.section_of[col], 0) + len(ps)
        seen = {(p.field, p.code) for p in problems}
        for name, acc in self.sections.items():
            n = count.get(name, 0)
            acc.set_title(0, f"{name} — {n} problem{'s' if n != 1 else ''}" if n else name)
            if n and seen != self._seen:
                acc.selected_index = 0
        self._seen = seen
        n = len(self.changes())
        self.save_button.disabled = bool(problems) or n == 0
        self.save_button.description = f"Save {n} change{'s' if n != 1 else ''}" if n else "Save"
        if problems:
            k = len(problems)
            items = "".join(f"<li>{_problem_html(self.label(p.field), p)}</li>" for p in problems)
            self.why.value = (
                f"<div style='color:#b00'>Save is off until {'this problem is' if k == 1 else f'these {k} problems are'}"
                f" fixed:<ul style='margin:2px 0'>{items}</ul></div>"
            )
            self.save_button.tooltip = "; ".join(problem_sentence(self.label(p.field), p) for p in problems)
        else:
            self.why.value = "<span style='color:#888'>No changes yet.</span>" if n == 0 else ""
            self.save_button.tooltip = None

    def preview(self) -> list[str]:
        """Show and return the changes as ``field: old → new``."""
        changed = self.changes()
        lines = [f"{self.label(c)}: {display(o)} → {display(n)}" for c, (o, n) in changed.items()]
        items = (
            "".join(f"<li title='{html.escape(c)}'>{html.escape(x)}</li>" for c, x in zip(changed, lines, strict=True))
            or "<li>No changes.</li>"
        )
        self.preview_out.value = f"<ul class='ot-preview'>{items}</ul>"
        return lines

    # -- lists of structures ---------------------------------------------------------------------
    def add_entry(self, base: str) -> None:
        """Add an empty entry to a list of structures (up to the model's maximum)."""
        sl = self.schema.struct_lists[base]
        used = {split_column(c)[1] for c in self.fields if c.startswith(base + "[")}
        n = max((i for i in used if i is not None), default=-1) + 1
        if sl.max is not None and n >= sl.max:
            self.status.value = (
                f"<div style='color:#a60'>{html.escape(label_for(base))}: at most {sl.max} entries.</div>"
            )
            return
        current = self.values()
        self.base, keep = dict(self.base), current
        for m in sl.members:
            self.base.setdefault(f"{base}[{n}].{m}", None)
        self._rebuild_keeping(keep)

    def remove_entry(self, base: str, index: int) -> None:
        """Clear an entry of a list of structures (saved as removed)."""
        for c, fw in self.fields.items():
            if c.startswith(f"{base}[{index}]."):
                fw.set(None)

    def _rebuild_keeping(self, values: dict[str, Any]) -> None:
        base = self.base
        self._build()
        self._building = True
        for c, v in values.items():
            if c in self.fields and self.fields[c].field.writable:
                self.fields[c].set(v)
        self.base = base
        self._building = False
        self._changed()

    # -- save and reload -------------------------------------------------------------------------
    def save(self) -> str:
        """Save through the batch updater (or into the frame for :meth:`from_row`).

        On success the form shows the record as saved: read back from the service (with what
        someone else changed meanwhile, merged), or the frame's row. Returns the status in plain words.
        """
        problems = self.problems()
        if problems:
            return self._say(
                "Not saved: " + "; ".join(problem_sentence(self.label(p.field), p) for p in problems), "#b00"
            )
        mine = self.changes()
        if not mine:
            return self._say("Nothing to save.", "#888")
        if self.connection is None:
            return self._save_to_frame(mine)
        edited = pd.DataFrame([self.values()])
        base = pd.DataFrame([self.base])
        result = push_updates(edited, self.connection, ledger=self.ledger, base=base, blank="clear", today=self.today)
        r = result.iloc[0]
        n = len(mine)
        what = f"{n} change{'s' if n != 1 else ''}"
        if r["status"] in (Status.SUCCEEDED, Status.UNCHANGED, Status.SKIPPED):
            expected = {**self.base, **{c: v for c, (_, v) in mine.items()}}
            self.reload(quiet=True)
            self._update_pick_from()
            theirs = [c for c in changes(self.base, expected, self.schema, "clear") if self.fields[c].field.writable]
            theirs = [c for c in theirs if editable_fields(None, [c], schema=self.schema)[c] is None]
            kept = (
                " Also showing what someone else changed meanwhile (kept, yours merged with it): "
                + ", ".join(self.label(c) for c in theirs)
                + "."
                if theirs
                else ""
            )
            said = {
                Status.SUCCEEDED: f"Saved {what}.",
                Status.UNCHANGED: f"Partner Central already had these {what}; nothing was sent.",
                Status.SKIPPED: f"The ledger ({self.ledger}) shows these {what} saved before; nothing was sent.",
            }[Status(r["status"])]
            return self._say(
                f"{said} This is the record as Partner Central now holds it (last modified "
                f"{_when(self.base.get('LastModifiedDate'))}).{kept}",
                "#070",
            )
        if r["status"] == Status.CONFLICT:
            return self._say(self.conflict_words(r.to_dict()), "#b00", code=str(r["reason"] or r["status"]))
        code = str(r["error_code"] or r["reason"] or r["status"])
        return self._say(f"Not saved: {r['error_message'] or r['status']}", "#b00", code=code)

    def _update_pick_from(self) -> None:
        """Keep the picker's frame in step with a record just saved (its columns only)."""
        df = self.pick_from
        if df is None or ID not in df.columns:
            return
        at = df.index[df[ID] == self.base.get(ID)]
        if len(at) == 0:
            return
        for col in df.columns:
            v = self.base.get(col)
            df.at[at[0], col] = None if is_blank(v) and not isinstance(v, list) else v
        self._search()

    def _save_to_frame(self, changes: dict[str, tuple[Any, Any]]) -> str:
        if self.frame is not None and self.index is not None:
            for col, (_, new) in changes.items():
                if col not in self.frame.columns:
                    self.frame[col] = None
                self.frame.at[self.index, col] = list(new) if isinstance(new, tuple) else new  # type: ignore[assignment]
        self.base = {**self.base, **{c: (list(n) if isinstance(n, tuple) else n) for c, (_, n) in changes.items()}}
        self._header()
        self._changed()
        n = len(changes)
        return self._say(f"Wrote {n} change{'s' if n != 1 else ''} into the frame (nothing sent).", "#070")

    def reload(self, quiet: bool = False) -> str:
        """Read the record from the server again and show it (edits are dropped)."""
        if self.connection is None:
            return self._say("No client: this form edits a frame row.", "#888")
        rec = self._read(self.base[ID])
        if rec is None:
            return self._say(f"{self.base[ID]} is no longer in the {self.catalog_name} catalog.", "#b00")
        self.base = self._row(to_frame([rec]).iloc[0])
        self._build()
        return "" if quiet else self._say("Reloaded from the server.", "#070")

    def _read(self, identifier: str) -> dict[str, Any] | None:
        """Read a record through the form's connection, paced by its pacer."""
        assert self.connection is not None
        with self.connection.paced():
            return fetch_opportunity(self.connection.client, self.connection.catalog, identifier)

    def conflict_words(self, r: Mapping[Any, Any]) -> str:
        """Return a conflicting save's outcome (a row of the push's result) in plain words, naming its fields.

        Examples
        --------
        >>> form = OpportunityForm.from_row(pd.Series({"Id": "O1", "Project.Title": "Lake"}))
        >>> form.conflict_words({"error_codes": ["CONFLICT"], "error_fields": ["Project.Title"]})[:60]
        'Not saved: since you opened this record, someone else change'
        """
        named = ", ".join(self.label(c) if c in self.fields else c for c in conflicting_fields(r)) or "the same fields"
        return (
            f"Not saved: since you opened this record, someone else changed {named} on Partner Central, "
            "and so did you. Your edits are still here; Reload shows their values (and drops your edits)."
        )

    def _say(self, text: str, color: str, code: str | None = None) -> str:
        tip = f" title='{html.escape(code)}'" if code else ""
        self.status.value = f"<div class='ot-status' style='color:{color}'{tip}>{html.escape(text)}</div>"
        return text

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<OpportunityForm {self.base.get(ID)} ({self.catalog_name}): {len(self.fields)} fields, {len(self.changes())} changes>"


def _untuple(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _untuple(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_untuple(x) for x in v]
    return v


@takes_connection
def edit_opportunity(
    identifier: str | None,
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    ledger: str | Path = "ledger",
    today: date | None = None,
    pick_from: pd.DataFrame | str | Path | None = None,
) -> OpportunityForm:
    """Load one opportunity from Partner Central into a form (display it in Jupyter).

    Parameters
    ----------
    identifier : str or None
        The opportunity's ``Id``; None opens the first row of ``pick_from``.
    catalog : {"AWS", "Sandbox"} or Connection
        The record's catalog; a :class:`~opptoolkit.Connection` is what the form's Open, Save and Reload go
        through, each call counted and paced by its one pacer.
    client, boto3_session, endpoint_url
        The keyword forms of a connection (see :func:`opptoolkit.connect`); ``endpoint_url`` for the sandbox.
    ledger : str or Path, default "ledger"
        The push ledger folder Save records into (see :func:`opptoolkit.push_updates`).
    today : date, optional
        For the date rules (default: today, UTC).
    pick_from : DataFrame or path, optional
        The opportunities the form's picker searches (a frame, or a mirror folder read with
        :func:`opptoolkit.read_mirror`). A record picked is read again from the service; after a
        Save the frame's row holds the record as saved (in the frame's columns).

    Returns
    -------
    OpportunityForm
        The form; its ``widget`` is what Jupyter displays.

    Raises
    ------
    OpptoolkitError
        When the catalog holds no such opportunity, or there is nothing to open.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     form = edit_opportunity("O7000000001", "Sandbox", endpoint_url=sb.endpoint_url)
    >>> form.fields["LifeCycle.Stage"].kind
    'dropdown'
    """
    conn = as_connection(catalog)  # @takes_connection made it from the keyword forms when not given one
    frame = read_mirror(pick_from) if isinstance(pick_from, (str, Path)) else pick_from
    if identifier is None:
        if frame is None or len(frame) == 0:
            raise OpptoolkitError("nothing to open: give an opportunity's Id, or pick_from= a frame with rows")
        identifier = str(frame[ID].iloc[0])
    with conn.paced():
        rec = fetch_opportunity(conn.client, conn.catalog, identifier)
    if rec is None:
        raise OpptoolkitError(
            f"opportunity {identifier} not found in catalog {conn.catalog} (ResourceNotFoundException)"
        )
    return OpportunityForm(to_frame([rec]).iloc[0], catalog=conn, ledger=ledger, today=today, pick_from=frame)
