"""Edit many opportunities in a notebook: a grid that plans each edited row as you type.

The grid is ipydatagrid's ``DataGrid`` (Lumino's canvas data grid: the one JupyterLab's CSV viewer draws
with), chosen by measurement (``bench/grid.py``, BENCHMARKS.md). Over it:

* the workbook's **layout and labels** (:func:`opptoolkit.sheets.layout`: the commonly edited columns
  first, the rest by part), a dropdown editor on every enum column (the model's values), a date editor on
  dates, amounts right-aligned;
* **editability** from :func:`opptoolkit.rules.editable_fields`: the cells a record's ``ReviewStatus`` locks
  (or whose change AWS would not apply) are grey, and an edit there is undone with the reason;
* **validation as you type**: each edited row is planned by :func:`opptoolkit.plan.resolve`, the function
  :func:`opptoolkit.plan_updates` plans every row with, against the row as exported; its problems are shown
  beside it in words, the cell marked; a status line counts rows changed, ready and with problems;
* **filters** (stage, review status, owner, close date, text) as the grid's own transforms, besides the
  filter and sort menu of each column header; a row picked opens in :class:`opptoolkit.OpportunityForm`;
* **Plan** (:func:`opptoolkit.plan_updates`) and **Push** (:func:`opptoolkit.push_updates`, ledgered), each
  row coloured by its outcome; the result is a frame (:attr:`OpportunityGrid.result`).

Examples
--------
>>> import opptoolkit as ot
>>> from opptoolkit.sandbox import load_seed
>>> df = ot.to_frame(load_seed())
>>> grid = OpportunityGrid(df, "Sandbox")
>>> pending = df.index[df["LifeCycle.ReviewStatus"] == "Pending Submission"][0]
>>> grid.set(pending, "LifeCycle.Stage", "Prospekt")
>>> grid.problems(pending)  # doctest: +ELLIPSIS
["Stage: 'Prospekt' is not allowed; did you mean 'Prospect'? ..."]
>>> grid.set(pending, "LifeCycle.Stage", "Prospect")
>>> grid.counts()
{'changed': 1, 'ready': 1, 'problems': 0}
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import ipywidgets as w
import numpy as np
import pandas as pd
from ipydatagrid import DataGrid, TextRenderer, VegaExpr

from . import fields as P
from ._status import Status
from ._values import is_blank
from .client import fetch_opportunity
from .connection import Connection, as_connection, takes_connection
from .exceptions import OpptoolkitError, Problem
from .form import OpportunityForm, conflicting_fields, edit_opportunity, problem_sentence
from .frame import to_frame
from .plan import Row, resolve
from .push import plan_updates, push_updates
from .rules import editable_fields
from .schema import ID, Catalog, Field, Schema, get_schema, in_labels, label_for
from .sheets import choices, layout

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_partnercentral_selling import PartnerCentralSellingAPIClient as SellingClient

__all__ = ["OpportunityGrid", "edit_opportunities", "grid_columns"]

_log = logging.getLogger(__name__)

#: The grid's own columns, beside each row: what the row's plan or push came to, and its problems in words.
CHECK, PROBLEMS = "Check", "Problems"
#: The owner a filter offers: the first member of the partner's opportunity team.
OWNER = "OpportunityTeam[0].Email"
#: Columns the grid always shows when the frame has them: the identity, and the status that decides what is
#: editable (its value greys the locked cells).
ALWAYS = (ID, P.REVIEW_STATUS)

# Colours: a cell with a problem; a row by the outcome of its push; a cell no edit may change.
PROBLEM_FILL = "#f4b6b0"
LOCKED_FILL = "#e7e6e6"
OUTCOME_FILL = {
    **dict.fromkeys((Status.SUCCEEDED, Status.CREATED, Status.SKIPPED), "#d9ead3"),
    **dict.fromkeys((Status.CONFLICT, Status.DEFERRED, Status.UNKNOWN), "#fce5cd"),
    **dict.fromkeys((Status.INVALID, Status.NOT_EDITABLE, Status.FAILED, Status.NOT_FOUND, Status.NO_TOKEN), "#f4cccc"),
}
READY, HAS_PROBLEMS = "ready", "problems"
_PX_PER_CHAR = 8  # the grid's 12px sans-serif: digits and capitals, about
_MAX_CHARS = 32  # a column's width at most, in characters (longer text is cut with "…"; the form shows it all)


def grid_columns(columns: Iterable[str], chosen: Sequence[str] | None = None) -> list[str]:
    """Return the frame columns the grid shows, in the workbook's order.

    All of ``columns`` (the commonly edited first, :data:`opptoolkit.sheets.WORK_FIRST`, then the rest
    by part), or the ``chosen`` ones in their order; ``Id`` and the review status always.

    Parameters
    ----------
    columns : iterable of str
        The frame's columns.
    chosen : sequence of str, optional
        The columns to show.

    Returns
    -------
    list of str
        The columns, in the grid's order (before the grid's own Check and Problems columns are added).

    Examples
    --------
    >>> grid_columns(["LastModifiedDate", "Project.Title", "Id", "LifeCycle.Stage"])
    ['Id', 'Project.Title', 'LifeCycle.Stage', 'LastModifiedDate']
    >>> grid_columns(["Id", "Project.Title", "LifeCycle.Stage", "LifeCycle.ReviewStatus"], ["LifeCycle.Stage"])
    ['Id', 'LifeCycle.Stage', 'LifeCycle.ReviewStatus']
    """
    cols = [str(c) for c in columns]
    schema = get_schema()
    if chosen is not None:  # the layout adds the Id (first) and the token (last)
        chosen = [*chosen, *(c for c in ALWAYS[1:] if c in cols and c not in chosen)]
    lay = layout(cols, [schema.field_for(c) for c in cols], chosen)
    return [cols[i] for i in lay.order]


def _cell_text(s: pd.Series, f: Field) -> list[str]:
    """Return the column's cells as the grid shows them: text, lists joined by '; ', times to the minute; blank ""."""
    if f.type == "timestamp":
        return ["" if is_blank(v) else f"{pd.Timestamp(v):%Y-%m-%d %H:%M}" for v in s.tolist()]
    return ["" if is_blank(v) else ("; ".join(map(str, v)) if isinstance(v, list) else str(v)) for v in s.tolist()]


def _lit(values: Iterable[str]) -> str:
    """Return a Vega expression's array literal of text values."""
    return "[" + ",".join("'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values) + "]"


class _DataGrid(DataGrid):  # type: ignore[misc]  # ipydatagrid ships no types
    """ipydatagrid's grid, with the column metadata Lumino's editors read (enum options, dates)."""

    def __init__(self, frame: pd.DataFrame, meta: dict[str, dict[str, Any]], **kwargs: Any) -> None:
        self._meta = meta
        super().__init__(frame, **kwargs)

    def generate_data_object(
        self, dataframe: pd.DataFrame, guid_key: str = "ipydguuid", index_name: str = "key"
    ) -> Any:
        data = DataGrid.generate_data_object(dataframe, guid_key, index_name)
        for f in data["schema"]["fields"]:
            f.update(self._meta.get(f["name"], {}))
        return data

    def set_row_cells(self, row: int, cells: dict[str, Any]) -> list[str]:
        """Set cells of one row, and send the browser the row once if any of them changed.

        ipydatagrid's front end rebuilds its view and redraws every visible cell for each cell or row it is sent
        (``ViewBasedJSONModel.updateCellValue``/``updateRowValue`` reset ``currentView``), and sends each cell
        the kernel sets back as an edit: one row message per answer is one redraw, and a cell the browser already
        shows (the one just typed) is not sent at all.

        Parameters
        ----------
        row : int
            The row's position in the frame the grid was made from.
        cells : dict
            Column label to value.

        Returns
        -------
        list of str
            The labels of the cells that changed (none: nothing was sent).

        Examples
        --------
        >>> g = _DataGrid(pd.DataFrame({"A": ["x", "y"], "B": ["1", "2"]}), {})
        >>> g.set_row_cells(1, {"A": "y", "B": "3"})
        ['B']
        >>> g.set_row_cells(1, {"A": "y", "B": "3"})
        []
        """
        data = self._data["data"]
        changed = [c for c, v in cells.items() if data.at[row, c] != v]
        for c in changed:
            data.at[row, c] = cells[c]
        if changed:  # the row as ipydatagrid's own set_row_value sends it: every column but the key's
            self._notify_row_change(row, [data.at[row, c] for c in self._get_col_headers(self._data)])
        return changed


@dataclass
class _RowState:
    """What the grid knows of one edited row: its plan (action, problems) or its push outcome."""

    action: str = Status.UNCHANGED
    problems: list[Problem] = field(default_factory=list)
    outcome: str | None = None
    said: str = ""


class OpportunityGrid:
    """An editable grid over a frame of opportunities (display it in Jupyter or Voilà).

    Build it with :func:`edit_opportunities`. Edits go into :attr:`edited` (a copy of the frame); the frame
    given stays as exported (:attr:`base`), and every plan and push is decided against it.

    Attributes
    ----------
    base, edited : pandas.DataFrame
        The frame as exported, and as edited in the grid.
    grid : ipydatagrid.DataGrid
        The grid (headers are the columns' labels).
    columns : list of str
        The frame columns the grid shows, in order.
    status : ipywidgets.HTML
        The line counting rows changed, ready and with problems, and what the last action did.
    result : pandas.DataFrame or None
        The last push's result (:func:`opptoolkit.push_updates`).
    widget : ipywidgets.VBox
        What Jupyter displays.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        catalog: Catalog | Connection,
        *,
        client: SellingClient | None = None,
        ledger: str | Path = "ledger",
        columns: Sequence[str] | None = None,
        today: date | None = None,
        height: str = "420px",
    ) -> None:
        if not frame.index.is_unique:
            raise OpptoolkitError("the frame's index has repeated labels: reset_index(drop=True) first")
        if ID not in frame.columns:
            raise OpptoolkitError("the frame has no Id column: the grid edits opportunities read from the service")
        self.schema: Schema = get_schema()
        #: What Push, its read back and the form go through (its one pacer counts them); None: the grid plans only
        self.connection = (
            as_connection(catalog, client=client) if client is not None or isinstance(catalog, Connection) else None
        )
        self.catalog: Catalog = self.connection.catalog if self.connection is not None else cast("Catalog", catalog)
        self.ledger, self.today = Path(ledger), today
        self.base = frame.copy()
        self.edited = frame.copy()
        self.columns = grid_columns(frame.columns, columns)
        self.labels = {c: label_for(c) for c in self.columns}
        self._col_of = {lb: c for c, lb in self.labels.items()}
        self._rows: list[Any] = list(frame.index)  # grid row (position in the frame) -> frame label
        self._at = {label: i for i, label in enumerate(self._rows)}
        self._states: dict[Any, _RowState] = {}
        self._marks: dict[str, set[str]] = {}  # column -> the Ids of the rows with a problem there
        self.result: pd.DataFrame | None = None
        self.plan: pd.DataFrame | None = None
        self.form: OpportunityForm | None = None
        self._picked: Any = None
        self._quiet = False
        self._filtered: set[str] = set()  # the grid columns the filter controls set a transform on
        self._exprs: dict[str, VegaExpr] = {}  # grid column -> its cells' colour expression
        self._statuses = self.schema.field_for(P.REVIEW_STATUS).enum
        self.grid = self._make_grid(height)
        self.grid.on_cell_change(self._on_cell_change)
        self.grid.on_cell_click(self._on_cell_click)
        self.grid.add_class("ot-grid")
        self.status = w.HTML("")
        self.status.add_class("ot-grid-status")
        self.message = w.HTML("")
        self.message.add_class("ot-grid-message")
        self.details = w.HTML("")
        self.details.add_class("ot-grid-details")
        self.progress = w.Output()
        self.form_box = w.VBox()
        self.filters = self._make_filters()
        self.plan_button = w.Button(description="Plan", icon="list", tooltip="What a push would send, row by row")
        self.push_button = w.Button(description="Push", button_style="primary", icon="upload")
        self.open_button = w.Button(description="Open in form", icon="edit", disabled=True)
        self.plan_button.add_class("ot-grid-plan")
        self.push_button.add_class("ot-grid-push")
        self.open_button.add_class("ot-grid-open")
        self.plan_button.on_click(lambda _: self._guarded(self.show_plan))
        self.push_button.on_click(lambda _: self._guarded(self.push))
        self.open_button.on_click(lambda _: self._guarded(self.open_form))
        self.widget = w.VBox(
            [
                self.filters,
                self.grid,
                w.HBox([self.plan_button, self.push_button, self.open_button, self.status]),
                self.message,
                self.progress,
                self.details,
                self.form_box,
            ]
        )
        self.widget.add_class("ot-grid-box")
        self._say_counts()

    # -- the grid ------------------------------------------------------------------------------------
    def _field(self, column: str) -> Field:
        return self.schema.field_for(column)

    def _fixed(self, column: str) -> str | None:
        """Why no edit of ``column`` is sent whatever the row's status (or None), for the grid."""
        why = editable_fields(None, [column], schema=self.schema)[column]
        if why is None and self._field(column).is_list:
            return "a list: open the row in the form to edit it"
        return why

    def _make_grid(self, height: str) -> DataGrid:
        shown = {CHECK: [""] * len(self._rows), PROBLEMS: [""] * len(self._rows)}
        data: dict[str, list[Any]] = {}
        widths: dict[str, int] = {}
        meta: dict[str, dict[str, Any]] = {}
        for c in self.columns:
            f = self._field(c)
            texts = _cell_text(self.edited[c], f)
            data[self.labels[c]] = texts
            longest = max(map(len, texts[:500]), default=0)  # the header is one line: it fits too
            widths[self.labels[c]] = _PX_PER_CHAR * min(max(longest + 2, len(self.labels[c]) + 4), _MAX_CHARS)
            if self._fixed(c) is None:
                if f.enum:
                    meta[self.labels[c]] = {"type": "string", "constraint": {"enum": ["", *choices(f)]}}
                elif f.is_date:
                    meta[self.labels[c]] = {"type": "date"}
        order = [self.labels[self.columns[0]], CHECK, PROBLEMS, *(self.labels[c] for c in self.columns[1:])]
        self.order = order
        df = pd.DataFrame({**data, **shown}, index=pd.Index(self._rows, name="Row"), dtype=object)[order]
        widths[CHECK], widths[PROBLEMS] = 80, 280
        grid = _DataGrid(
            df,
            meta,
            editable=True,
            selection_mode="cell",
            column_widths=widths,
            base_row_header_size=56,
            layout={"height": height},
        )
        grid.renderers = {lb: self._renderer(lb) for lb in order}
        return grid

    def _renderer(self, label: str) -> TextRenderer:
        column = self._col_of.get(label)
        f = self._field(column) if column is not None else None
        self._exprs[label] = VegaExpr(self._colour(label))
        return TextRenderer(
            background_color=self._exprs[label],
            horizontal_alignment="right" if f is not None and f.is_amount else "left",
            text_color=VegaExpr(f"cell.metadata.data['{CHECK}'] == '{HAS_PROBLEMS}' ? '#b00' : '#222'")
            if label == PROBLEMS
            else "#222",
        )

    def _colour(self, label: str) -> str:
        """Return the Vega expression of a column's cell colour: problem, then the row's outcome, then locked."""
        column = self._col_of.get(label)
        status = f"cell.metadata.data['{self.labels.get(P.REVIEW_STATUS, '')}']"
        expr = "default_value"
        if column is not None:
            fixed = self._fixed(column)
            locked = [s for s in self._statuses if editable_fields(s, [column], schema=self.schema)[column] is not None]
            if fixed is not None:
                expr = f"'{LOCKED_FILL}'"
            elif locked and P.REVIEW_STATUS in self.labels:
                expr = f"(indexof({_lit(locked)}, {status}) >= 0 ? '{LOCKED_FILL}' : default_value)"
        check = f"cell.metadata.data['{CHECK}']"
        by_colour: dict[str, list[str]] = {}
        for outcome, colour in OUTCOME_FILL.items():
            by_colour.setdefault(colour, []).append(str(outcome))
        for colour, outcomes in by_colour.items():
            expr = f"(indexof({_lit(outcomes)}, {check}) >= 0 ? '{colour}' : {expr})"
        marked = self._marks.get(column or label)
        if marked:
            ident = f"cell.metadata.data['{self.labels[ID]}']"
            expr = f"(indexof({_lit(sorted(marked))}, {ident}) >= 0 ? '{PROBLEM_FILL}' : {expr})"
        elif label == PROBLEMS:
            expr = f"({check} == '{HAS_PROBLEMS}' ? '{PROBLEM_FILL}' : {expr})"
        return expr

    def _show(self, label: Any, columns: Iterable[str] | None = None) -> None:
        """Show a row's cells (the frame's ``columns``, else all shown) and its Check and Problems in the grid.

        Only what differs from what the browser shows is sent, as one row (:meth:`_DataGrid.set_row_cells`).
        """
        row = self.edited.loc[label]
        cells = {
            self.labels[c]: _cell_text(pd.Series([row[c]]), self._field(c))[0]
            for c in (self.columns if columns is None else columns)
        }
        state = self._states.get(label, _RowState())
        cells[CHECK] = state.outcome or (
            "" if state.action == Status.UNCHANGED else HAS_PROBLEMS if state.problems else READY
        )
        cells[PROBLEMS] = state.said
        self.grid.set_row_cells(self._at[label], cells)

    # -- editing -------------------------------------------------------------------------------------
    def _on_cell_change(self, cell: dict[str, Any]) -> None:
        label = cell["column"]
        column = self._col_of.get(label)
        pos = int(cell["row"])
        if column is None:  # Check or Problems: the grid's own words
            self._show(self._rows[pos], [])
            return
        value = cell["value"]
        try:
            self.set(self._rows[pos], column, value, _from_grid=True)
        except OpptoolkitError as e:
            self._show(self._rows[pos], [column])  # the cell as it was
            self._say(str(e), "#b00")

    def set(self, row: Any, column: str, value: Any, *, _from_grid: bool = False) -> None:
        """Edit one cell as a user would: refused when the record does not allow it, else planned at once.

        Parameters
        ----------
        row : label
            The frame's row label.
        column : str
            The frame column (a field path such as ``LifeCycle.Stage``).
        value : Any
            The new value, as typed (text; blank clears).

        Raises
        ------
        OpptoolkitError
            When the cell cannot be edited: the message says why, naming the row and the field.
        """
        if column not in self.labels:
            raise OpptoolkitError(f"{column} is not a column of this grid")
        status = self.base.at[row, P.REVIEW_STATUS] if P.REVIEW_STATUS in self.base.columns else None
        why = self._fixed(column) or editable_fields(None if is_blank(status) else str(status), [column])[column]
        if why is not None:
            raise OpptoolkitError(
                f"row {row}, {self.labels[column]}: not editable: {in_labels(why)} (ACTION_NOT_PERMITTED)"
            )
        new = None if is_blank(value) else str(value).strip() or None
        self.edited.at[row, column] = new
        self._check(row)
        self._show(row, [] if _from_grid else [column])
        self._say_counts()
        state = self._states.get(row)
        if state is None:
            self._say(f"Row {row}: as exported, nothing to send.", "#666")
        elif state.problems:
            self._say(f"Row {row}: {state.said}", "#b00")
        else:
            self._say(f"Row {row}: ready to push.", "#070")

    def _check(self, row: Any) -> None:
        """Plan one row against its export: the function :func:`opptoolkit.plan_updates` plans each row with."""
        edit = {str(c): v for c, v in self.edited.loc[row].items()}
        base = {str(c): v for c, v in self.base.loc[row].items() if not is_blank(v) or isinstance(v, list)}
        r = Row(label=str(row), id=str(edit[ID]), edit=edit)
        resolve(r, base, None, self.schema, "clear", self.catalog, self.today)
        problems = list(r.problems) + [
            Problem(None, c, "INVALID_VALUE", "changed on the server too") for c in r.conflicts
        ]
        state = _RowState(action=r.action, problems=problems)
        state.said = "; ".join(problem_sentence(label_for(p.field), p) for p in problems)
        if r.action == Status.UNCHANGED:
            self._states.pop(row, None)
        else:
            self._states[row] = state
        self._mark(row, {p.field for p in problems})

    def _mark(self, row: Any, fields: AbstractSet[str]) -> None:
        """Mark the cells of ``fields`` in ``row`` (and unmark its others): a new colour expression per column touched."""
        ident = str(self.edited.at[row, ID])
        touched: list[str] = []
        for column, ids in self._marks.items():
            if ident in ids and column not in fields:
                ids.discard(ident)
                touched.append(column)
        for column in fields:
            if column in self.labels and ident not in self._marks.setdefault(column, set()):
                self._marks[column].add(ident)
                touched.append(column)
        for column in touched:  # a new expression redraws the grid: the cells need not be sent again
            self._exprs[self.labels[column]].value = self._colour(self.labels[column])

    def problems(self, row: Any) -> list[str]:
        """Return the row's problems in plain words (empty: none, or not edited).

        Parameters
        ----------
        row : label
            The frame's row label.

        Returns
        -------
        list of str
            One sentence per problem, naming the field by its label.
        """
        state = self._states.get(row)
        return [problem_sentence(label_for(p.field), p) for p in state.problems] if state else []

    def counts(self) -> dict[str, int]:
        """Return how many rows are changed, ready to push, and with problems.

        Returns
        -------
        dict
            ``{"changed": n, "ready": n, "problems": n}``.
        """
        planned = [s for s in self._states.values() if s.outcome is None]
        bad = sum(1 for s in planned if s.problems)
        return {"changed": len(planned), "ready": len(planned) - bad, "problems": bad}

    def changed_rows(self) -> list[Any]:
        """Return the labels of the rows edited and not pushed yet, in the frame's order."""
        return [r for r in self._rows if r in self._states and self._states[r].outcome is None]

    def _say_counts(self) -> None:
        n = self.counts()
        text = (
            f"{n['changed']} row{'s' if n['changed'] != 1 else ''} changed · {n['ready']} ready · "
            f"{n['problems']} with problems"
        )
        colour = "#b00" if n["problems"] else "#070" if n["changed"] else "#666"
        self.status.value = f"<span class='ot-grid-counts' style='color:{colour}'>{html.escape(text)}</span>"
        self.push_button.disabled = n["ready"] == 0

    def _guarded(self, action: Any) -> None:
        """Run a button's action; what stops it is said under the grid (a widget callback's error is seen nowhere)."""
        try:
            action()
        except OpptoolkitError as e:
            self._say(f"Not done: {e}", "#b00")
        except Exception as e:
            _log.exception("grid: %s failed", getattr(action, "__name__", "an action"))
            self._say(f"Not done: an unexpected error ({type(e).__name__}); the log has the details.", "#b00")
        finally:
            self._say_counts()

    def _say(self, text: str, colour: str = "#333") -> str:
        self.message.value = f"<div class='ot-grid-said' style='color:{colour}'>{html.escape(text)}</div>"
        return text

    # -- filters -------------------------------------------------------------------------------------
    def _options(self, column: str) -> list[str]:
        if column not in self.edited.columns:
            return []
        f = self._field(column)
        present = {str(v) for v in self.edited[column].dropna().tolist()}
        order = list(f.enum) if f.enum else sorted(present)
        return [v for v in order if v in present]

    def _make_filters(self) -> w.HBox:
        def dropdown(column: str, title: str) -> w.Dropdown:
            d = w.Dropdown(options=[("any", ""), *[(v, v) for v in self._options(column)]], description=title)
            d.layout.width = "230px"
            d.style.description_width = "auto"
            d.add_class("ot-grid-filter-" + title.lower().replace(" ", "-"))
            d.observe(self._filter_changed, names="value")
            return d

        self.stage_filter = dropdown(P.STAGE, "Stage")
        self.review_filter = dropdown(P.REVIEW_STATUS, "Review status")
        self.owner_filter = dropdown(OWNER, "Owner")
        self.close_from = w.DatePicker(description="Close from", layout=w.Layout(width="190px"))
        self.close_to = w.DatePicker(description="to", layout=w.Layout(width="150px"))
        self.search = w.Text(placeholder="search Id, company, title", layout=w.Layout(width="220px"))
        self.search.add_class("ot-grid-search")
        for x in (self.close_from, self.close_to):
            x.style.description_width = "auto"
        for x in (self.close_from, self.close_to, self.search):
            x.observe(self._filter_changed, names="value")
        return w.HBox(
            [self.stage_filter, self.review_filter, self.owner_filter, self.close_from, self.close_to, self.search],
            layout=w.Layout(flex_flow="row wrap"),
        )

    def _filter_changed(self, _: Any) -> None:
        if not self._quiet:
            self.filter()

    def filter(
        self,
        *,
        stage: str | None = None,
        review_status: str | None = None,
        owner: str | None = None,
        close_from: date | str | None = None,
        close_to: date | str | None = None,
        text: str | None = None,
    ) -> int:
        """Show only the rows that match (the filter controls' values where an argument is None).

        Each filter is the grid's own transform on its column, applied in the browser; text is searched in the
        Id, company and title here, and shown as a filter of the Ids. The sorts and filters set from the
        column headers on other columns stay.

        Returns
        -------
        int
            How many rows match.
        """
        self._quiet = True  # setting the controls below must not filter once per control
        try:
            for ctl, v in (
                (self.stage_filter, stage),
                (self.review_filter, review_status),
                (self.owner_filter, owner),
                (self.search, text),
            ):
                if v is not None:
                    ctl.value = v
            for ctl, d in ((self.close_from, close_from), (self.close_to, close_to)):
                if d is not None:
                    ctl.value = date.fromisoformat(d) if isinstance(d, str) else d
        finally:
            self._quiet = False
        df, mask = self.edited, np.ones(len(self.edited), dtype=bool)
        ours: list[dict[str, Any]] = []

        def keep(column: str, values: list[str]) -> None:
            nonlocal mask
            mask &= df[column].isin(values).to_numpy()
            ours.append({"type": "filter", "column": self.labels[column], "operator": "in", "value": values})

        for column, ctl in (
            (P.STAGE, self.stage_filter),
            (P.REVIEW_STATUS, self.review_filter),
            (OWNER, self.owner_filter),
        ):
            if ctl.value and column in self.labels:
                keep(column, [ctl.value])
        lo, hi = self.close_from.value, self.close_to.value
        if (lo or hi) and P.TARGET_CLOSE in self.labels:
            close = df[P.TARGET_CLOSE].astype(object).where(df[P.TARGET_CLOSE].notna(), "")
            lo_s, hi_s = (lo.isoformat() if lo else "0000"), (hi.isoformat() if hi else "9999")
            hit = close.map(lambda v: bool(v) and lo_s <= str(v) <= hi_s).to_numpy(dtype=bool)
            keep(P.TARGET_CLOSE, sorted({str(v) for v in close[hit]}))
        if self.search.value.strip():
            needle = self.search.value.strip().lower()
            hit = np.zeros(len(df), dtype=bool)
            for column in (ID, P.COMPANY, P.TITLE):
                if column in df.columns:
                    hit |= (
                        df[column]
                        .astype(object)
                        .fillna("")
                        .astype(str)
                        .str.lower()
                        .str.contains(needle, regex=False)
                        .to_numpy()
                    )
            keep(ID, [str(v) for v in df.loc[hit & mask, ID]])
        mine = {t["column"] for t in ours}
        others = [
            t for t in self.grid._transforms if t.get("column") not in mine and t.get("column") not in self._filtered
        ]
        self._filtered = mine
        self.grid.transform(others + ours)
        n = int(mask.sum())
        self._say(f"{n} of {len(df)} rows shown.", "#333")
        return n

    # -- pick, form ----------------------------------------------------------------------------------
    def _on_cell_click(self, cell: dict[str, Any]) -> None:
        if cell.get("region") != "body" or cell.get("primary_key_row") is None:
            return
        self.pick(self._rows[int(cell["primary_key_row"])])

    def pick(self, row: Any) -> None:
        """Pick a row (as a click on it does): Open in form then opens it.

        Parameters
        ----------
        row : label
            The frame's row label.
        """
        self._picked = row
        self.open_button.disabled = False
        self.open_button.description = f"Open {self.edited.at[row, ID]!s} in form"

    def open_form(self, row: Any = None) -> OpportunityForm:
        """Open the picked row (or ``row``) in the one-record form, below the grid; its Save shows in the grid.

        With a connection the form reads the record from the service and saves through the ledgered push, both
        through the grid's connection; without one it edits this grid's frame row (Save writes into the grid).

        Returns
        -------
        OpportunityForm
            The form.
        """
        row = self._picked if row is None else row
        if row is None:
            raise OpptoolkitError("pick a row first: click one of its cells")
        ident = str(self.edited.at[row, ID])
        if self.connection is not None:
            form = edit_opportunity(ident, self.connection, ledger=self.ledger, today=self.today)
        else:
            form = OpportunityForm.from_row(
                self.edited.loc[row], frame=self.edited, catalog=self.catalog, today=self.today
            )
        form.status.observe(lambda _: self._saved_in_form(row, form), names="value")
        self.form = form
        self.form_box.children = [w.HTML(f"<b>{html.escape(ident)}</b> in the form:"), form.widget]
        return form

    def _saved_in_form(self, row: Any, form: OpportunityForm) -> None:
        """Take a record the form saved into the grid (as the service now holds it, or the form's row)."""
        if self.connection is not None:  # saved: the form shows the record as the service now holds it
            token = form.base.get("LastModifiedDate")
            if is_blank(token) or token == self.base.at[row, "LastModifiedDate"]:
                return  # nothing saved yet
            for c in self.base.columns:
                v = form.base.get(c)
                self.base.at[row, c] = self.edited.at[row, c] = None if is_blank(v) and not isinstance(v, list) else v
        self._check(row)  # without a client the form wrote into this grid's frame: planned as any edit
        if self.connection is not None:
            self._states[row] = _RowState(outcome=Status.SUCCEEDED, said="saved in the form")
        self._show(row)
        self._say_counts()

    # -- plan and push -------------------------------------------------------------------------------
    def show_plan(self) -> pd.DataFrame:
        """Plan the changed rows with :func:`opptoolkit.plan_updates` and show what would be sent, row by row.

        Returns
        -------
        pandas.DataFrame
            The plan of the changed rows.
        """
        rows = self.changed_rows()
        if not rows:
            self.details.value = "<i>No changes to plan.</i>"
            self.plan = None
            return pd.DataFrame()
        plan = plan_updates(
            self.edited.loc[rows],
            self.catalog,
            base=self.base.loc[rows],
            blank="clear",
            today=self.today,
            progress=False,
        )
        self.plan = plan
        items = []
        for r in plan.to_dict("records"):
            changes = [_labelled(x) for x in r["changes"]]
            errors = [_labelled(x) for x in r["errors"]]
            verb = "sends" if r["action"] == Status.UPDATE else f"is {r['action']}: not sent"
            body = "".join(f"<li>{html.escape(x)}</li>" for x in changes)
            body += "".join(f"<li style='color:#b00'>{html.escape(x)}</li>" for x in errors)
            items.append(
                f"<li><b>Row {html.escape(str(r['row']))}</b> ({html.escape(str(r['Id']))}) {verb}<ul>{body}</ul></li>"
            )
        self.details.value = f"<div class='ot-grid-plan-out'><b>Plan</b><ul>{''.join(items)}</ul></div>"
        return plan

    def push(self) -> pd.DataFrame:
        """Push the rows that are ready with :func:`opptoolkit.push_updates` (ledgered), and colour each by its outcome.

        Rows with problems are not sent. A row that succeeded is read again and shows the record as the
        service holds it (a colleague's change merged with yours); the next edits are planned against it.

        Returns
        -------
        pandas.DataFrame
            The push's result (also :attr:`result`).
        """
        if self.connection is None:
            raise OpptoolkitError("no client: give edit_opportunities a client (or endpoint_url) to push")
        rows = [r for r in self.changed_rows() if not self._states[r].problems]
        if not rows:
            self._say("Nothing ready to push.", "#666")
            return pd.DataFrame()
        self.push_button.disabled = True
        self._say(f"Pushing {len(rows)} row{'s' if len(rows) != 1 else ''}…", "#333")
        self.progress.clear_output()
        with self.progress:
            result = push_updates(
                self.edited.loc[rows],
                self.connection,
                ledger=self.ledger,
                base=self.base.loc[rows],
                blank="clear",
                today=self.today,
            )
        by_id = {str(self.edited.at[r, ID]): r for r in rows}
        words: list[str | None] = []
        for r in (dict(zip(map(str, result.columns), x, strict=True)) for x in result.itertuples(index=False)):
            label = by_id.get(str(r["Id"]))
            if label is None or ("operation" in r and r["operation"] not in (None, "UpdateOpportunity")):
                words.append(None)  # an association call of the push (the solutions column): its own row
                continue
            said = self._outcome_words(label, r)
            words.append(said)
            saved = r["status"] == Status.SUCCEEDED
            if saved:
                self._reread(label)
            self._states[label] = _RowState(outcome=str(r["status"]), said=said)
            self._mark(label, set())
            self._show(label, None if saved else [])  # read back: the cells whose text moved are sent
        result["said"] = words
        self.result = result
        counts = result["status"].value_counts().to_dict()
        self._say("Pushed: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + ".", "#070")
        self._say_counts()
        return result

    def _outcome_words(self, label: Any, r: dict[str, Any]) -> str:
        """Return a row's push outcome in plain words."""
        status = r["status"]
        if status == Status.SUCCEEDED:
            before, exported = r.get("last_modified_before"), self.base.at[label, "LastModifiedDate"]
            merged = (
                not is_blank(before)
                and not is_blank(exported)
                and pd.Timestamp(str(before)) != pd.Timestamp(str(exported))
            )
            return (
                "saved; merged with a change someone made on Partner Central since your export (both kept)"
                if merged
                else "saved"
            )
        if status == Status.CONFLICT:
            both = conflicting_fields(r)
            named = (
                ", ".join(label_for(c) if c in self.schema.fields or "[" in c else c for c in both) or "the same fields"
            )
            return (
                f"not sent: since your export someone changed {named} on Partner Central, and so did you; "
                "nothing was overwritten"
            )
        if status in (Status.SKIPPED, Status.UNCHANGED):
            return "already so on Partner Central: nothing sent"
        message = in_labels(str(r.get("error_message") or status))
        code = r.get("error_code") or r.get("reason")
        return f"{status}: {message}" + (f" ({code})" if code else "")

    def _reread(self, label: Any) -> None:
        """Replace a pushed row by the record as the service holds it now (its base too)."""
        conn = self.connection
        assert conn is not None
        with conn.paced():
            rec = fetch_opportunity(conn.client, conn.catalog, str(self.edited.at[label, ID]))
        if rec is None:
            return
        now = to_frame([rec]).iloc[0]
        for c in self.base.columns:
            v = now.get(c) if c in now.index else None
            self.base.at[label, c] = v
            self.edited.at[label, c] = v

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        n = self.counts()
        return f"<OpportunityGrid {len(self._rows)} rows ({self.catalog}): {n['changed']} changed, {n['problems']} with problems>"


def _labelled(text: str) -> str:
    """Return a plan's ``path: ...`` line with the field's label for its path."""
    path, sep, rest = text.partition(": ")
    if not sep:
        return text
    try:
        return f"{label_for(path)}: {rest}"
    except KeyError:
        return text


@takes_connection(offline=True)
def edit_opportunities(
    frame: pd.DataFrame,
    catalog: Catalog | Connection,
    *,
    client: SellingClient | None = None,
    boto3_session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    ledger: str | Path = "ledger",
    columns: Sequence[str] | None = None,
    today: date | None = None,
    height: str = "420px",
) -> OpportunityGrid:
    """Open a frame of opportunities in an editable grid that plans each edit as you type (display it).

    Parameters
    ----------
    frame : pandas.DataFrame
        The opportunities as read (:func:`opptoolkit.read_opportunities`, a mirror, a sheet): the export
        every plan and push of the grid is decided against.
    catalog : {"AWS", "Sandbox"} or Connection
        Always explicit. A :class:`~opptoolkit.Connection` is what Push, its read back and the form go through,
        each call counted and paced by its one pacer; a catalog name alone: the grid plans only.
    client, boto3_session, endpoint_url
        The keyword forms of a connection (see :func:`opptoolkit.connect`).
    ledger : str or Path, default "ledger"
        The push ledger folder (see :func:`opptoolkit.push_updates`).
    columns : sequence of str, optional
        The columns to show (``Id`` and the review status always); default: all, the commonly edited first.
    today : date, optional
        For the date rules (default: today, UTC).
    height : str, default "420px"
        The grid's height.

    Returns
    -------
    OpportunityGrid
        The grid; its ``widget`` is what Jupyter displays.

    Examples
    --------
    >>> import opptoolkit as ot
    >>> from opptoolkit.sandbox import load_seed
    >>> grid = edit_opportunities(ot.to_frame(load_seed()[:3]), "Sandbox")
    >>> grid.columns[:4]
    ['Id', 'Customer.Account.CompanyName', 'Project.Title', 'LifeCycle.Stage']
    """
    return OpportunityGrid(frame, catalog, ledger=ledger, columns=columns, today=today, height=height)
