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
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from . import fields as P
from ._status import Status
from ._values import display, enum_value, is_blank
from .client import fetch_opportunity, get_client
from .exceptions import OpptoolkitError, Problem
from .frame import to_frame, to_payload
from .plan import changes
from .push import push_updates
from .rules import ACTION_REQUIRED, LOCKED_STATUSES, editable_fields, validate_payload
from .schema import ID, Catalog, Field, Schema, get_schema, label_for, split_column

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


class _FieldWidget:
    """One column's widget, its label, live character count and error line."""

    def __init__(self, column: str, f: Field, value: Any, on_change: Callable[[], None]) -> None:
        self.column, self.field = column, f
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
            self.widget = w.Textarea(layout=w.Layout(width="420px", height="80px"), tooltip=tooltip)
        else:
            self.widget = w.Text(layout=layout, tooltip=tooltip, disabled=self.kind == "readonly")
        self.widget.add_class(css_class(column))
        # inside its section a field is named without the section's name ("Title" under Project)
        short = label_for(column.split(".", 1)[1]) if "." in column else label_for(column)
        self.label = w.HTML(f"<b>{html.escape(short)}</b>", layout=w.Layout(width="300px"), tooltip=tooltip)
        self.count = w.HTML("")
        self.error = w.HTML("")
        self.box = w.VBox([w.HBox([self.label, self.widget, self.count]), self.error])
        self.set(value)
        self.on_change = on_change
        self.widget.observe(self._observed, names="value")

    def _observed(self, _: Any) -> None:
        self._count()
        self.on_change()

    def set(self, value: Any) -> None:
        if self.kind == "tags":
            self.widget.value = [] if is_blank(value) else [str(x) for x in list(value)]
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


class OpportunityForm:
    """An editor for one opportunity (display it in Jupyter).

    Build it with :func:`edit_opportunity` (against the API) or :meth:`from_row` (a DataFrame
    row, no API: Save writes back into the frame).

    Attributes
    ----------
    fields : dict
        Column -> its field widget (``fields[col].widget`` is the ipywidget).
    status : ipywidgets.HTML
        What the last Save / Reload did, in plain words.
    """

    def __init__(
        self,
        row: Mapping[str, Any] | pd.Series,
        *,
        catalog: Catalog | None = None,
        client: SellingClient | None = None,
        ledger: str | Path = "ledger",
        frame: pd.DataFrame | None = None,
        index: Any = None,
        today: date | None = None,
    ) -> None:
        self.cat: Schema = get_schema()
        self.client, self.ledger, self.frame, self.index, self.today = client, Path(ledger), frame, index, today
        self.base: dict[str, Any] = self._row(row)
        self.catalog_name = catalog or self.base.get("Catalog") or "Sandbox"
        self.fields: dict[str, _FieldWidget] = {}
        self.status = w.HTML("")
        self.banner = w.HTML("")
        self.preview_out = w.HTML("")
        self._list_boxes: dict[str, w.VBox] = {}
        self._building = False
        self.save_button = w.Button(description="Save", button_style="primary", icon="save")
        self.preview_button = w.Button(description="Preview changes", icon="eye")
        self.reload_button = w.Button(description="Reload", icon="refresh", disabled=client is None)
        self.save_button.on_click(lambda _: self.save())
        self.preview_button.on_click(lambda _: self.preview())
        self.reload_button.on_click(lambda _: self.reload())
        self.sections = w.Accordion()
        self.widget = w.VBox(
            [
                self.banner,
                self.sections,
                w.HBox([self.preview_button, self.save_button, self.reload_button]),
                self.preview_out,
                self.status,
            ]
        )
        self.widget.add_class("ot-form")
        self._build()

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_row(
        cls, row: pd.Series | Mapping[str, Any], frame: pd.DataFrame | None = None, **kwargs: Any
    ) -> OpportunityForm:
        """Return a form over a DataFrame row; Save writes the edited values back into ``frame``."""
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
        return self.cat.columns(sizes)

    def _build(self) -> None:
        self._building = True
        self.fields.clear()
        self._list_boxes.clear()
        groups: dict[str, list[w.Widget]] = {}
        lists: dict[str, dict[int, list[w.Widget]]] = {}
        for col in self._columns():
            f = self.cat.field_for(col)
            fw = _FieldWidget(col, f, self.base.get(col), self._changed)
            self.fields[col] = fw
            if not f.writable:
                top = "Read-only"
            else:
                top = col.split(".")[0] if "." in col else "General"
            base, idx, _ = split_column(col)
            if idx is not None and f.writable:
                lists.setdefault(base, {}).setdefault(idx, []).append(fw.box)
            else:
                groups.setdefault(top, []).append(fw.box)
        for base, entries in lists.items():
            top = base.split(".")[0]
            box = w.VBox([self._entry_box(base, i, boxes) for i, boxes in sorted(entries.items())])
            self._list_boxes[base] = box
            sl = self.cat.struct_lists[base]
            add = w.Button(description=f"Add {label_for(base).split()[-1].rstrip('s').lower()}", icon="plus")
            add.add_class(css_class(base + "-add"))
            add.on_click(lambda _, b=base: self.add_entry(b))
            limit = f" (at most {sl.max})" if sl.max else ""
            groups.setdefault(top, []).append(
                w.VBox([w.HTML(f"<b>{html.escape(label_for(base))}</b>{limit}"), box, add])
            )
        order = ["General", *[k for k in groups if k not in ("General", "Read-only")], "Read-only"]
        children, titles = [], []
        for name in order:
            if name in groups:
                children.append(w.VBox(groups[name]))
                titles.append(name)
        self.sections.children = children
        for i, t in enumerate(titles):
            self.sections.set_title(i, t)
        self.sections.selected_index = None
        self._apply_editability()
        self._building = False
        self._changed()

    def _entry_box(self, base: str, index: int, boxes: list[w.Widget]) -> w.Widget:
        remove = w.Button(description="Remove", icon="trash", layout=w.Layout(width="110px"))
        remove.add_class(css_class(f"{base}[{index}]-remove"))
        remove.on_click(lambda _, b=base, i=index: self.remove_entry(b, i))
        return w.VBox(
            [w.HTML(f"<i>#{index + 1}</i>"), *boxes, remove], layout=w.Layout(border="1px solid #ddd", padding="4px")
        )

    def _apply_editability(self) -> None:
        status = self.base.get(P.REVIEW_STATUS)
        self.banner.value = ""
        if status in LOCKED_STATUSES:
            self.banner.value = (
                f"<div style='color:#a60'>ReviewStatus is <b>{html.escape(status)}</b>: nothing is editable.</div>"
            )
        elif status == ACTION_REQUIRED:
            self.banner.value = (
                f"<div style='color:#a60'>ReviewStatus is <b>{html.escape(status)}</b>: only the fields "
                "AWS asked about are editable.</div>"
            )
        # the rules' decision, as the plan and the sandbox make it
        reasons = editable_fields(status, self.fields, schema=self.cat)
        for col, fw in self.fields.items():
            reason = reasons[col]
            fw.disable(reason)
            if reason and fw.kind != "readonly":
                fw.error.value = f"<span style='color:#888;font-size:11px'>{html.escape(reason)}</span>"

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
        return changes(self.values(), self.base, self.cat, "clear")

    def problems(self) -> list[Problem]:
        """Return what the shared rules say of the edited record (empty: it can be saved)."""
        changed = self.changes()
        if not changed:
            return []
        edited = {**self.base, **{c: v for c, (_, v) in changed.items()}, "Catalog": self.catalog_name}
        status = self.base.get(P.REVIEW_STATUS)
        return validate_payload(_untuple(to_payload(edited)), changed=changed, review_status=status, today=self.today)

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
            ps = by_field.get(col, [])
            fw.error.value = "".join(
                f"<div style='color:#b00;font-size:12px'>{html.escape(p.code)}: {html.escape(p.message)}</div>"
                for p in ps
            )
        n = len(self.changes())
        self.save_button.disabled = bool(problems) or n == 0
        self.save_button.description = f"Save {n} change{'s' if n != 1 else ''}" if n else "Save"
        unplaced = [p for p in problems if p.field not in self.fields or self.fields[p.field].widget.disabled]
        self.status.value = "".join(f"<div style='color:#b00'>{html.escape(str(p))}</div>" for p in unplaced)

    def preview(self) -> list[str]:
        """Show and return the changes as ``path: old → new``."""
        lines = [f"{c}: {display(o)} → {display(n)}" for c, (o, n) in self.changes().items()]
        items = "".join(f"<li><code>{html.escape(x)}</code></li>" for x in lines) or "<li>No changes.</li>"
        self.preview_out.value = f"<ul class='ot-preview'>{items}</ul>"
        return lines

    # -- lists of structures ---------------------------------------------------------------------
    def add_entry(self, base: str) -> None:
        """Add an empty entry to a list of structures (up to the model's maximum)."""
        sl = self.cat.struct_lists[base]
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

        Returns the status in plain words.
        """
        problems = self.problems()
        if problems:
            return self._say("Not saved: " + "; ".join(str(p) for p in problems), "#b00")
        changes = self.changes()
        if not changes:
            return self._say("Nothing to save.", "#888")
        if self.client is None:
            return self._save_to_frame(changes)
        edited = pd.DataFrame([self.values()])
        base = pd.DataFrame([self.base])
        result = push_updates(
            edited,
            self.catalog_name,
            ledger=self.ledger,
            base=base,
            blank="clear",
            client=self.client,
            progress=False,
            today=self.today,
        )
        r = result.iloc[0]
        if r["status"] == Status.SUCCEEDED:
            self.reload(quiet=True)
            return self._say(
                f"Saved {len(changes)} change(s). LastModifiedDate is now {display(r['last_modified_after']).strip(chr(39))}.",
                "#070",
            )
        if r["status"] == Status.CONFLICT:
            return self._say(
                f"Not saved: someone changed the same field(s) on the server ({r['error_message']}). "
                "Reload to see their values.",
                "#b00",
            )
        if r["status"] == Status.UNCHANGED:
            self.reload(quiet=True)
            return self._say("The server already had these values.", "#070")
        return self._say(f"Not saved ({r['status']}): {r['error_code'] or r['reason']}: {r['error_message']}", "#b00")

    def _save_to_frame(self, changes: dict[str, tuple[Any, Any]]) -> str:
        if self.frame is not None and self.index is not None:
            for col, (_, new) in changes.items():
                if col not in self.frame.columns:
                    self.frame[col] = None
                self.frame.at[self.index, col] = list(new) if isinstance(new, tuple) else new  # type: ignore[assignment]
        self.base = {**self.base, **{c: (list(n) if isinstance(n, tuple) else n) for c, (_, n) in changes.items()}}
        self._changed()
        return self._say(f"Wrote {len(changes)} change(s) into the frame (nothing sent).", "#070")

    def reload(self, quiet: bool = False) -> str:
        """Read the record from the server again and show it (edits are dropped)."""
        if self.client is None:
            return self._say("No client: this form edits a frame row.", "#888")
        rec = fetch_opportunity(self.client, self.catalog_name, self.base[ID])
        if rec is None:
            return self._say(f"{self.base[ID]} is no longer in the {self.catalog_name} catalog.", "#b00")
        self.base = self._row(to_frame([rec]).iloc[0])
        self._build()
        return "" if quiet else self._say("Reloaded from the server.", "#070")

    def _say(self, text: str, color: str) -> str:
        self.status.value = f"<div class='ot-status' style='color:{color}'>{html.escape(text)}</div>"
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


def edit_opportunity(
    identifier: str,
    catalog: Catalog,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    ledger: str | Path = "ledger",
    today: date | None = None,
) -> OpportunityForm:
    """Load one opportunity from Partner Central into a form (display it in Jupyter).

    Parameters
    ----------
    identifier : str
        The opportunity's ``Id``.
    catalog : {"AWS", "Sandbox"}
        The record's catalog.
    client, boto3_session, endpoint_url
        Which client to use (see :func:`opptoolkit.client.get_client`); ``endpoint_url`` for the sandbox.
    ledger : str or Path, default "ledger"
        The push ledger folder Save records into (see :func:`opptoolkit.push_updates`).
    today : date, optional
        For the date rules (default: today, UTC).

    Returns
    -------
    OpportunityForm
        The form; its ``widget`` is what Jupyter displays.

    Raises
    ------
    OpptoolkitError
        When the catalog holds no such opportunity.

    Examples
    --------
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     form = edit_opportunity("O7000000001", "Sandbox", endpoint_url=sb.endpoint_url)
    >>> form.fields["LifeCycle.Stage"].kind
    'dropdown'
    """
    client = get_client(client, boto3_session=boto3_session, endpoint_url=endpoint_url)
    rec = fetch_opportunity(client, catalog, identifier)
    if rec is None:
        raise OpptoolkitError(f"opportunity {identifier} not found in catalog {catalog} (ResourceNotFoundException)")
    return OpportunityForm(to_frame([rec]).iloc[0], catalog=catalog, client=client, ledger=ledger, today=today)
