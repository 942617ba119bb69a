"""The analyst's workbook (issue 19): an xlsx made for editing, checked by opening it with
openpyxl as written and after LibreOffice Calc saved it again."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

import opptoolkit as ot
from opptoolkit.rules import accepted_values, edit_refusal, editable_fields, validate_payload
from opptoolkit.sheets import _layout as W
from opptoolkit.sheets._codec import AMOUNT_FORMAT, DATE_CELL_FORMAT

FIRST = ["Id", "Customer company", "Project title", "Stage", "Target close date", "Next steps",
         "Expected spend 1 amount", "Expected spend 1 currency code", "Review status"]  # fmt: skip


@pytest.fixture(scope="module")
def sample(frame) -> pd.DataFrame:
    """Rows of every ReviewStatus, from the generated frame."""
    df = frame[frame["Catalog"] == "Sandbox"].head(80).reset_index(drop=True)
    statuses = set(df["LifeCycle.ReviewStatus"].dropna())
    assert statuses == set(ot.get_schema()["LifeCycle.ReviewStatus"].enum), statuses
    return df


@pytest.fixture(scope="module")
def exported(sample, tmp_path_factory) -> Path:
    return ot.write_sheet(sample, tmp_path_factory.mktemp("wb") / "pipeline.xlsx")


@pytest.fixture(scope="module")
def resaved(exported, resave) -> Path:
    return resave(exported)


def _columns(ws) -> list[str]:
    """The sheet's columns as dotted paths."""
    schema = ot.get_schema()
    return [schema.path_for_label(c.value) for c in next(ws.iter_rows(max_row=1))]


def _shaded(ws, row: int, col: int) -> bool:
    """Whether a cell shows the "not editable" grey: its own style if the file has the cell,
    else its row's style (customFormat), else its column's."""
    cell = ws._cells.get((row, col))
    if cell is not None and cell.has_style:
        fill = cell.fill
    elif ws.row_dimensions[row].customFormat:
        fill = ws.row_dimensions[row].fill
    else:
        fill = _column_dim(ws, col).fill
    return fill is not None and fill.fill_type == "solid" and str(fill.fgColor.rgb)[-6:] == W.LOCKED_FILL


def _column_dim(ws, col: int):
    """The column dimension covering ``col`` (a file may give a range of columns one element)."""
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= col <= (dim.max or dim.min):
            return dim
    return ws.column_dimensions[get_column_letter(col)]


def _text_format(ws, row: int, col: int) -> str:
    cell = ws._cells.get((row, col))
    if cell is not None and cell.has_style:
        return cell.number_format
    if ws.row_dimensions[row].customFormat:
        return ws.row_dimensions[row].number_format
    return _column_dim(ws, col).number_format


def _validations(ws) -> dict[int, object]:
    """The data validation of each column (by 1-based index) whose range covers the body."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            c0, r0, c1, r1 = range_boundaries(str(rng))
            for c in range(c0, c1 + 1):
                out[c] = (dv, r0, r1)
    return out


def _lists(wb) -> dict[str, list[str]]:
    ws = wb["Lists"]
    cols: dict[str, list[str]] = {}
    for c in ws.iter_cols(values_only=True):
        cols[get_column_letter(len(cols) + 1)] = [v for v in c if v is not None]
    return cols


@pytest.fixture(params=["written", "resaved by LibreOffice"])
def book(request, exported):
    path = exported if request.param == "written" else request.getfixturevalue("resaved")
    wb = openpyxl.load_workbook(path)
    wb.resaved = request.param != "written"
    return wb


def test_the_analysts_columns_come_first_then_the_rest_by_part_behind_collapsed_groups(book, sample):
    ws = book.worksheets[0]
    head = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert head[: len(FIRST)] == FIRST
    assert book.sheetnames[:2] == [ws.title, "Read me"] and book["Lists"].sheet_state == "hidden"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(head))}{len(sample) + 1}"
    columns = _columns(ws)
    assert sorted(columns) == sorted(sample.columns)  # every column, once
    kinds = [editable_fields(None, [c])[c] is None for c in columns[len(FIRST) :]]
    assert kinds == sorted(kinds, reverse=True)  # the columns no edit can change come last
    hidden = {i for i in range(1, len(head) + 1) if _column_dim(ws, i).hidden}
    assert hidden and min(hidden) > len(FIRST) and len(hidden) < len(head) - len(FIRST)
    assert all(_column_dim(ws, i).outline_level == 1 for i in hidden)
    # each part keeps its first column in sight
    first_of_part = {columns[i - 1].split(".")[0] for i in range(len(FIRST) + 1, len(head) + 1) if i not in hidden}
    assert {"Customer", "Project", "Marketing"} <= first_of_part
    if not book.resaved:  # LibreOffice saving without a window has no view to keep the split of
        assert ws.freeze_panes == "D2"  # the header, and Id, customer company, project title


def test_every_enum_column_has_a_dropdown_of_the_models_values(book, sample):
    ws = book.worksheets[0]
    schema = ot.get_schema()
    lists = _lists(book)
    validations = _validations(ws)
    checked = 0
    for i, col in enumerate(_columns(ws), start=1):
        f = schema.field_for(col)
        dv, r0, r1 = validations[i]
        assert (r0, r1) == (2, len(sample) + 1), col
        assert dv.showInputMessage and dv.prompt and len(dv.prompt) <= 255, col
        if not f.enum:
            assert dv.type is None, col
            continue
        locked = editable_fields(None, [col])[col] is not None
        assert ("not editable" in dv.error) is locked, col  # a shaded column says so when typed into
        assert dv.type == "list", col
        sheet, ref = dv.formula1.split("!")
        assert sheet.strip("'") == "Lists"
        letter = ref.split(":")[0].strip("$").rstrip("0123456789").strip("$")
        assert lists[letter][1:] == list(accepted_values(f.path) or f.enum), col  # the model's, in its order
        assert bool(dv.showErrorMessage) is not f.is_list, col  # several values in one cell: no refusal
        if f.is_list:
            assert "one per line" in dv.prompt and "';'" in dv.prompt
        checked += 1
    assert checked >= 15
    assert (
        "LifeCycle.ReviewStatus" in _columns(ws)
        and validations[_columns(ws).index("LifeCycle.ReviewStatus") + 1][0].type == "list"
    )


def test_the_cells_no_edit_can_change_are_shaded_and_every_cell_is_text_but_amounts_and_dates(book, sample):
    """Amounts are numbers with 2 decimals and dates dates (issue 31): an editable blank cell there takes what is
    typed as a number or a date; every other cell is text, so Excel keeps ``00501`` as typed."""
    ws = book.worksheets[0]
    columns = _columns(ws)
    schema = ot.get_schema()
    kind = {c: AMOUNT_FORMAT if schema.field_for(c).is_amount else DATE_CELL_FORMAT if schema.field_for(c).is_date
            else "@" for c in columns}  # fmt: skip
    assert {c for c, k in kind.items() if k != "@"} >= {"LifeCycle.TargetCloseDate", "SoftwareRevenue.Value.Amount"}
    by_id = sample.set_index("Id")
    seen = {"locked": 0, "free": 0}
    for r in range(2, len(sample) + 2):
        ident = ws.cell(r, 1).value
        status = by_id.loc[ident, "LifeCycle.ReviewStatus"]
        why = editable_fields(status, columns)
        for c, col in enumerate(columns, start=1):
            locked = why[col] is not None
            assert _shaded(ws, r, c) is locked, (r, col, status, why[col])
            blank = ws.cell(r, c).value is None
            # a blank locked cell of a shaded row takes the row's (text) style: nothing typed there is sent
            shown = _text_format(ws, r, c).replace("\\", "")  # LibreOffice writes yyyy\-mm\-dd: the same format
            assert shown == kind[col] or (locked and blank), (r, col)
            seen["locked" if locked else "free"] += 1
    assert seen["locked"] and seen["free"]
    # the header marks the columns set by AWS too
    arn = columns.index("Arn") + 1
    assert ws.cell(1, arn).font.i and not ws.cell(1, columns.index("LifeCycle.Stage") + 1).font.i


def test_excel_is_told_the_digits_in_text_cells_are_meant_as_text(exported):
    import zipfile

    with zipfile.ZipFile(exported) as z:
        tail = z.read("xl/worksheets/sheet1.xml")[-3000:].decode()
    assert '<ignoredErrors><ignoredError sqref="A2:' in tail and 'numberStoredAsText="1"' in tail
    assert tail.index("<ignoredErrors>") < tail.index("<legacyDrawing")  # the schema's order


def test_multi_line_cells_wrap(book):
    ws = book.worksheets[0]
    wrapped = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and "\n" in c.value]
    assert wrapped and all(c.alignment.wrap_text for c in wrapped)


def test_the_read_me_says_how_to_edit_what_blank_means_and_how_to_push(book, sample):
    text = " ".join(str(r[0]) for r in book["Read me"].iter_rows(values_only=True) if r and r[0])
    for words in ("What this is", "How to edit", "What blank means", "How to push", "--dry-run", "--blank clear",
                  f"{len(sample):,} AWS Partner Central opportunities"):  # fmt: skip
        assert words in text


def test_what_the_read_me_says_of_columns_of_ones_own_is_what_the_push_does(book, exported, tmp_path):
    """It said "add columns of your own (they are never sent)", which the push then refused (issue #31)."""
    text = " ".join(str(r[0]) for r in book["Read me"].iter_rows(values_only=True) if r and r[0])
    assert "--extra keep" in text and "never sent)" not in text
    wb = openpyxl.load_workbook(exported)
    ws = wb.worksheets[0]
    ws.cell(1, ws.max_column + 1, "My notes")
    ws.cell(2, ws.max_column, "call Ana first")
    wb.save(tmp_path / "with-notes.xlsx")
    with pytest.raises(ot.SheetError, match="My notes: INVALID_VALUE: unknown column"):
        ot.plan_updates(tmp_path / "with-notes.xlsx", "Sandbox")
    plan = ot.plan_updates(tmp_path / "with-notes.xlsx", "Sandbox", extra="keep", base=exported)
    assert set(plan["action"]) == {"unchanged"}


@pytest.mark.parametrize("which", ["written", "resaved"])
def test_the_workbook_still_reads_back_exactly(which, sample, exported, request, expected_payloads):
    path = exported if which == "written" else request.getfixturevalue("resaved")
    back = ot.read_sheet(path)
    assert back.attrs["sheet_warnings"] == []
    assert list(back.columns) == ot.get_schema().sort_columns(list(sample.columns))
    plan = ot.plan_updates(back, "Sandbox", base=sample, blank="clear")
    assert set(plan["action"]) == {"unchanged"}, plan.loc[plan["action"] != "unchanged", ["Id", "changes"]].head()
    if which == "written":
        pd.testing.assert_frame_equal(back, ot.read_sheet(ot.write_sheet(sample, path.with_suffix(".csv"))))


def test_columns_picks_the_columns_and_keeps_what_a_push_needs(sample, tmp_path):
    path = ot.write_sheet(sample, tmp_path / "x.xlsx", columns=["LifeCycle.Stage", "Project.Title"])
    ws = openpyxl.load_workbook(path).worksheets[0]
    assert _columns(ws) == ["Id", "LifeCycle.Stage", "Project.Title", "LastModifiedDate"]
    assert ws.freeze_panes == "B2"
    back = ot.read_sheet(path)
    assert back["LifeCycle.Stage"].tolist() == sample["LifeCycle.Stage"].tolist()
    csv = ot.read_sheet(ot.write_sheet(sample, tmp_path / "x.csv", columns=["Project.Title"]))
    assert list(csv.columns) == ["Id", "Project.Title", "LastModifiedDate"]
    with pytest.raises(KeyError, match="Nope"):
        ot.write_sheet(sample, tmp_path / "y.xlsx", columns=["Nope"])


def test_csv_stays_plain_with_dotted_paths(sample, tmp_path):
    path = ot.write_sheet(sample.head(3), tmp_path / "x.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        assert next(csv.reader(fh)) == list(sample.columns)


# -- headers --------------------------------------------------------------------------------------


def test_headers_read_like_the_console_and_each_maps_back_to_its_field():
    schema = ot.get_schema()
    assert [ot.label_for(p) for p in ("LifeCycle.Stage", "LifeCycle.TargetCloseDate", "Customer.Account.CompanyName",
                                      "Customer.Contacts[1].Email", "PrimaryNeedsFromAws")] == [
        "Stage", "Target close date", "Customer company", "Contact 2 email", "Primary needs from AWS"]  # fmt: skip
    for col in schema.columns({"Customer.Contacts": 3, "Project.ExpectedCustomerSpend": 2}):
        assert schema.path_for_label(ot.label_for(col)) == col
        assert schema.path_for_label(ot.label_for(col).upper()) == col


def test_a_workbook_with_the_earlier_derived_headers_still_reads(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(
        "Id,Life cycle stage,Customer account company name,Customer contacts 2 email\nO1,Prospect,Acme,a@b.co\n"
    )
    df = ot.read_sheet(path)
    assert list(df.columns) == ["Id", "Customer.Account.CompanyName", "Customer.Contacts[1].Email", "LifeCycle.Stage"]


# -- editing what cannot be sent is reported --------------------------------------------------------


def test_an_edit_of_an_output_only_column_is_named_in_the_plan(sample, tmp_path):
    path = ot.write_sheet(sample, tmp_path / "pipeline.xlsx")
    edited = ot.read_sheet(path)
    edited.loc[0, "Arn"] = "arn:aws:partnercentral:us-east-1::catalog/Sandbox/opportunity/O1"
    edited.loc[1, "CreatedDate"] = pd.Timestamp("2020-01-01", tz="UTC")
    plan = ot.plan_updates(edited, "Sandbox", base=sample).set_index("Id")
    first, second = plan.loc[sample.loc[0, "Id"]], plan.loc[sample.loc[1, "Id"]]
    assert first["action"] == "unchanged" and first["row"] == "2"  # the row the sheet shows
    assert first["warnings"] == ["Arn: ACTION_NOT_PERMITTED: output-only: set by AWS; this edit is not sent"]
    assert any(w.startswith("CreatedDate: ACTION_NOT_PERMITTED") for w in second["warnings"])
    assert all(w == [] for w in plan.drop(index=[first.name, second.name])["warnings"])


def test_an_edit_of_a_cell_the_review_status_locks_is_refused_with_its_row_and_field(sample):
    edited = sample.copy()
    at = edited.index[edited["LifeCycle.ReviewStatus"] == "Submitted"][0]
    edited.loc[at, "Project.Title"] = "Renamed"
    row = ot.plan_updates(edited, "Sandbox", base=sample).loc[at]
    assert row["action"] == "not_editable"
    at_title = row["errors"].index(f"Project.Title: ACTION_NOT_PERMITTED: {edit_refusal('Submitted', 'Project.Title')}")
    assert row["error_codes"][at_title] == "ACTION_NOT_PERMITTED"  # the code in its own column too


# -- messages a person can act on -----------------------------------------------------------------


def _payload(**project):
    return {"Catalog": "Sandbox", "Identifier": "O1", "Customer": {"Account": project}}


def test_did_you_mean_only_when_the_suggestion_is_close():
    (far,) = [p for p in validate_payload(_payload(Industry="Banking")) if p.code == "INVALID_ENUM_VALUE"]
    assert "did you mean" not in far.message  # Banking -> Mining is noise
    (near,) = [p for p in validate_payload(_payload(Industry="Helthcare")) if p.code == "INVALID_ENUM_VALUE"]
    assert "did you mean 'Healthcare'" in near.message
    (typo,) = [p for p in validate_payload(_payload(Industry="Manufactoring")) if p.code == "INVALID_ENUM_VALUE"]
    assert "did you mean 'Manufacturing'" in typo.message


def test_dates_and_amounts_are_described_in_words():
    p = {"Catalog": "Sandbox", "Identifier": "O1", "LifeCycle": {"TargetCloseDate": "31/12/2027"},
         "Project": {"ExpectedCustomerSpend": [{"Amount": "12,500.5", "CurrencyCode": "USD", "Frequency": "Monthly",
                                                "TargetCompany": "AWS"}]}}  # fmt: skip
    by_field = {x.field: x for x in validate_payload(p) if x.code == "INVALID_STRING_FORMAT"}
    date, amount = by_field["LifeCycle.TargetCloseDate"], by_field["Project.ExpectedCustomerSpend[0].Amount"]
    assert date.message.startswith("must be a date: use YYYY-MM-DD, e.g. ") and "[" not in date.message
    assert amount.message.startswith("must be a number with at most 2 decimals, for example '1500.50'")


def test_the_input_message_says_the_format_in_words():
    schema = ot.get_schema()
    assert "YYYY-MM-DD" in W.input_message(schema["LifeCycle.TargetCloseDate"], None)
    assert "at most 2 decimals" in W.input_message(schema["Project.ExpectedCustomerSpend[].Amount"], None)
    assert W.input_message(schema["Arn"], "output-only: set by AWS").startswith("Not editable: output-only")
    assert all(len(W.input_message(f, None)) <= 255 for f in schema)
