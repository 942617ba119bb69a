"""The column-wise plan against the row-by-row one: identical plan frames on 2,500 generated rows
with 500 edits of many kinds (some no change at all once normalised)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit._values import is_blank
from opptoolkit.plan import Row, duplicate_creates, existing_record, resolve, resolve_create
from opptoolkit.schema import ID, get_schema
from opptoolkit.testing import fake_records

TODAY = date(2025, 6, 1)
COLUMNS = [
    "row", "Id", "action", "changes", "changed_fields", "errors", "error_codes", "error_fields", "error_texts",
    "warnings", "note",
]  # fmt: skip


def reference_plan(edited: pd.DataFrame, base: pd.DataFrame, catalog: str, blank: str) -> pd.DataFrame:
    """The plan row by row: every edited row resolved against its base (``plan.resolve``), no
    column-wise shortcut."""
    schema = get_schema()
    bases = {}
    for values in base.to_dict("records"):
        bases[str(values[ID])] = {str(c): v for c, v in values.items() if not is_blank(v) or isinstance(v, list)}
    rows = []
    for label, values in zip(edited.index, edited.to_dict("records"), strict=True):
        ident = None if is_blank(values.get(ID)) else str(values[ID])
        r = Row(label=str(label), id=ident, edit={str(k): v for k, v in values.items()})
        if ident is None:
            resolve_create(r, schema, catalog, TODAY)  # a new row: CreateOpportunity
            existing_record(r)  # ... unless it carries a trace of an existing record (an Id cleared): refused
        elif ident not in bases:
            r.action, r.note = "not_found", "not in the base"
        else:
            resolve(r, bases[ident], None, schema, blank, catalog, TODAY)
        rows.append(r)
    duplicate_creates(rows)
    return pd.DataFrame([r.plan_row() for r in rows], columns=COLUMNS)


def _edit(edited: pd.DataFrame, base: pd.DataFrame, rng: np.random.Generator) -> None:
    """Edits of every kind on a fifth of the rows: respellings, typings and rewrites that are no change
    once normalised, blanks, lists, times in another zone, and new values."""
    n = len(edited)
    for col in ["Project.ExpectedCustomerSpend[0].Amount", "NationalSecurity", "Project.Title"]:
        edited[col] = edited[col].astype(object)  # room for numbers and booleans, as a sheet may give
    stamp = "LifeCycle.NextStepsHistory[0].Time"
    edited[stamp] = edited[stamp].dt.tz_convert("Europe/Paris")  # the same instants in another zone
    kinds = [
        "enum_case", "enum_new", "float", "int_text", "crlf", "blank_title", "empty_title", "blank_list",
        "list_same", "list_reordered", "list_tuple", "list_text", "time_moved", "title_new", "title_same",
        "bool", "spaces",
    ]  # fmt: skip
    for i in rng.choice(n, size=n // 5, replace=False):
        kind = kinds[int(rng.integers(len(kinds)))]
        at = edited.index[i]
        old = base.at[at, "Customer.Account.Industry"]
        if kind == "enum_case":
            edited.at[at, "Customer.Account.Industry"] = old.upper() if isinstance(old, str) else "other"
        elif kind == "enum_new":
            edited.at[at, "Customer.Account.Industry"] = "Gaming" if old != "Gaming" else "Aerospace"
        elif kind == "float":
            amount = base.at[at, "Project.ExpectedCustomerSpend[0].Amount"]
            edited.at[at, "Project.ExpectedCustomerSpend[0].Amount"] = float(amount) if amount else 5.0
        elif kind == "int_text":
            edited.at[at, "Project.ExpectedCustomerSpend[0].Amount"] = 1000
        elif kind == "crlf":
            text = base.at[at, "Project.CustomerBusinessProblem"]
            edited.at[at, "Project.CustomerBusinessProblem"] = (text if isinstance(text, str) else "a\nb").replace(
                "\n", "\r\n"
            )
        elif kind == "blank_title":
            edited.at[at, "Project.Title"] = None
        elif kind == "empty_title":
            edited.at[at, "Project.Title"] = ""
        elif kind == "blank_list":
            edited.at[at, "Project.DeliveryModels"] = []
        elif kind.startswith("list_"):
            models = base.at[at, "Project.DeliveryModels"]
            models = list(models) if isinstance(models, list) else ["SaaS or PaaS"]
            edited.at[at, "Project.DeliveryModels"] = {
                "list_same": list(models),
                "list_reordered": [*models[::-1], "Managed Services"],
                "list_tuple": tuple(models),
                "list_text": models[0],
            }[kind]
        elif kind == "time_moved":
            t = edited.at[at, stamp]
            edited.at[at, stamp] = (t if not pd.isna(t) else pd.Timestamp("2025-01-01", tz="UTC")) + pd.Timedelta("1s")
        elif kind == "title_new":
            edited.at[at, "Project.Title"] = f"New title {i}"
        elif kind == "title_same":
            edited.at[at, "Project.Title"] = str(base.at[at, "Project.Title"])
        elif kind == "bool":
            edited.at[at, "NationalSecurity"] = bool(rng.integers(2))
        elif kind == "spaces":
            edited.at[at, "Customer.Account.Industry"] = f" {old} " if isinstance(old, str) else " "


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    # 2,500 generated records, each once: the reference resolves every row in Python, and copies of a record
    # would only repeat its verdicts (no step of the column-wise plan depends on the frame's length)
    base = ot.to_frame(fake_records(2_500, seed=18))
    base[ID] = [f"O{9_000_000_000 + i}" for i in range(len(base))]
    base["Catalog"] = "Sandbox"
    rng = np.random.default_rng(18)
    edited = base.copy()
    _edit(edited, base, rng)
    foreign = rng.choice(len(base), size=20, replace=False)  # the base says another catalog
    base.loc[base.index[foreign], "Catalog"] = "AWS"
    edited.loc[edited.index[foreign], "Catalog"] = None
    edited.loc[edited.index[[3, 4]], ID] = None  # rows without an Id
    base = base.drop(index=base.index[[10, 11, 12]])  # rows not in the base
    return edited, base


@pytest.mark.parametrize("blank", ["keep", "clear"])
def test_the_column_wise_plan_is_the_row_by_row_plan(frames: tuple[pd.DataFrame, pd.DataFrame], blank: str) -> None:
    edited, base = frames
    got = ot.plan_updates(edited, "Sandbox", base=base, blank=blank, today=TODAY, progress=False)
    want = reference_plan(edited, base, "Sandbox", blank)
    pd.testing.assert_frame_equal(got, want)
    actions = set(got["action"])
    assert {"update", "unchanged", "invalid", "not_found"} <= actions, actions  # the mix is exercised


def test_only_certainly_equal_cells_count_as_unchanged() -> None:
    """``True == 1`` but the cells normalise to "TRUE" and "1"; a blank is no change only under
    ``keep``; a list is not its text: such rows go to the row-by-row compare."""
    from opptoolkit.plan import unchanged_rows

    schema = get_schema()
    base = pd.DataFrame({"Id": ["O1", "O2", "O3", "O4", "O5"], "Project.Title": [1, "A", "A", "A", "A\n"]})
    edit = pd.DataFrame({"Id": ["O1", "O2", "O3", "O4", "O5"], "Project.Title": [True, "A", None, ["A"], "A\r\n"]})
    assert unchanged_rows(edit, base, schema, "keep").tolist() == [False, True, True, False, False]
    assert unchanged_rows(edit, base, schema, "clear").tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("blank", ["keep", "clear"])
def test_the_fast_column_compares_give_the_cell_by_cell_verdicts(blank: str) -> None:
    """Arrow text and lists of text are compared at C speed (a list that is the base's own object
    without looking at it); the same cells as Python objects, or a column with a tuple in it, go
    cell by cell: the verdicts are the same, and no cell called unchanged has a change."""
    from opptoolkit.plan import changes, unchanged_cells

    schema = get_schema()
    shared = ["SaaS or PaaS"]
    ids = ["O1", "O2", "O3", "O4", "O5", "O6"]
    base = pd.DataFrame({
        "Id": ids,
        "Project.Title": ["A", "", None, "B", "C", "D"],
        "Project.DeliveryModels": [shared, ["SaaS or PaaS"], None, [], ["Managed Services"], ["SaaS or PaaS"]],
    })  # fmt: skip
    edit = pd.DataFrame({
        "Id": ids,
        "Project.Title": ["A", None, "", "b", None, "D"],
        "Project.DeliveryModels": [shared, ["SaaS or PaaS"], [], None, ["Managed Services", "SaaS or PaaS"], None],
    })  # fmt: skip
    assert isinstance(edit["Project.Title"].dtype, pd.StringDtype)  # the Arrow path is the one tested
    columns, fast = unchanged_cells(edit, base, schema, blank)
    assert columns == ["Project.Title", "Project.DeliveryModels"]
    keep = blank == "keep"
    assert fast.tolist() == [[True, True, True, False, keep, True], [True, True, True, True, False, keep]]
    _, slow = unchanged_cells(edit.astype(object), base.astype(object).assign(**{
        "Project.DeliveryModels": [*base["Project.DeliveryModels"][:5], ("SaaS or PaaS",)]}), schema, blank)  # fmt: skip
    assert slow[0].tolist() == fast[0].tolist()  # text as Python objects: cell by cell, the same verdicts
    assert slow[1][:5].tolist() == fast[1][:5].tolist()  # a tuple in the column: cell by cell
    # the cells emptied where the base has a value, told in the same pass: as is_blank tells them cell by cell
    from opptoolkit.plan import compared_cells

    emptied = [[is_blank(e) and not is_blank(b) for e, b in zip(edit[c], base[c], strict=True)] for c in columns]
    assert emptied == [[False, False, False, False, True, False], [False, False, False, False, False, True]]
    for e, b in ((edit, base), (edit.astype(object), base.astype(object))):  # the fast paths and cell by cell
        assert compared_cells(e, b, schema, blank)[2].tolist() == emptied
    records = edit.to_dict("records"), base.to_dict("records")
    for j, (e, b) in enumerate(zip(*records, strict=True)):
        kept = {c: v for c, v in b.items() if not is_blank(v) or isinstance(v, list)}  # as a base row holds it
        for k, col in enumerate(columns):
            if fast[k, j]:
                assert col not in changes(e, kept, schema, blank), (j, col)


def test_rows_not_in_the_base_build_no_row_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """A row whose Id the base lacks is not_found whatever it holds: no value of it (nor of the base) is built.

    Building a row's values costs a frame lookup, so done per row it made such rows far slower than rows in the
    base (bench/plan.py times it; here the work is counted, not timed)."""
    from opptoolkit.plan import _edited

    one = ot.to_frame(fake_records(50, seed=3))
    one["Catalog"] = "Sandbox"
    edited = pd.concat([one] * 40, ignore_index=True)
    edited[ID] = [f"O{8_000_000_000 + i}" for i in range(len(edited))]
    built: list[int] = []
    real = _edited.records

    def counted(df: pd.DataFrame, at: np.ndarray, **kw: object) -> list:
        built.append(len(at))
        return real(df, at, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_edited, "records", counted)
    plan = ot.plan_updates(edited, "Sandbox", base=one, progress=False)
    assert set(plan["action"]) == {"not_found"} and len(plan) == 2_000
    assert sum(built) == 0 and 1 <= len(built) <= 2, built  # counted: the patch is where the rows are built
