"""Amounts as numbers, dates as dates, times readable, in the analyst's workbook (issue 31, item 1).

Every typed cell reads back to exactly the API's text; a number typed over an amount of equal value is no
edit; SUM, ISNUMBER and COUNTIF work after LibreOffice Calc recalculates the workbook; a push of a workbook
re-saved by LibreOffice sends only the real edits (real boto3 client, sandbox over HTTP)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.schema import get_schema
from opptoolkit.sheets import _layout as W
from opptoolkit.sheets import read_base
from opptoolkit.sheets._codec import AMOUNT_FORMAT, DATE_CELL_FORMAT, NOTE_AMOUNT, NOTE_DATE

AMOUNT, SOFTWARE, CLOSE = (
    "Project.ExpectedCustomerSpend[0].Amount",
    "SoftwareRevenue.Value.Amount",
    "LifeCycle.TargetCloseDate",
)
TIMES = ["2026-12-06T15:48:26.702Z", "2026-12-06T15:48:26Z", "2026-01-31T09:30:00.123456Z", None,
         "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"]  # fmt: skip
FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


@pytest.fixture
def edges() -> pd.DataFrame:
    """The API's texts as AWS was recorded answering them (``10000.0``, ``12500``, ``25000.00``) and the edges."""
    return pd.DataFrame(
        {
            "Id": [f"O{i}" for i in range(1, 8)],
            "LastModifiedDate": pd.to_datetime(TIMES, utc=True, format="ISO8601"),
            AMOUNT: ["10000.0", "12500", "25000.00", "0.", "1234567890123456.5", "1,500", None],
            CLOSE: ["2026-12-31", "1899-12-31", "2027-02-30", None, "2030-01-01", "31/12/2026", "1900-03-01"],
            SOFTWARE: ["9999999999999.99", "99999999999999.99", None, "0", "8.39", None, "102.97"],
        }
    )


def _cells(ws, column: str) -> list:
    labels = [c.value for c in ws[1]]
    j = labels.index(ot.label_for(column)) + 1
    return [ws.cell(r, j) for r in range(2, ws.max_row + 1)]


def test_amounts_are_numbers_dates_are_dates_and_times_readable_and_all_read_back_exactly(edges, tmp_path):
    path = ot.write_sheet(edges, tmp_path / "pipeline.xlsx", base=True)
    ws = openpyxl.load_workbook(path).worksheets[0]
    amounts = _cells(ws, AMOUNT)
    assert [c.value for c in amounts] == [10000, 12500, 25000, 0, "1234567890123456.5", "1,500", None]
    assert all(c.number_format == AMOUNT_FORMAT and c.alignment.horizontal == "right" for c in amounts[:6])
    # the space before the next column (a currency code) is the format's own, for a number and a text alike:
    # LibreOffice draws a right-aligned cell's indent only sometimes (60,000.50USD touching)
    assert AMOUNT_FORMAT.split(";")[0].endswith("_)") and AMOUNT_FORMAT.split(";")[-1] == "@_)"
    assert all(not c.alignment.indent for c in amounts[:6])
    # 17 significant digits: a spreadsheet would round it, so it stays text and says why; "1,500" is no amount
    # the API takes (the plan names it), so it stays as typed, without a note
    assert [c.comment.text if c.comment else None for c in amounts] == [None] * 4 + [NOTE_AMOUNT] + [None] * 2
    software = _cells(ws, SOFTWARE)
    assert [c.value for c in software] == [9999999999999.99, "99999999999999.99", None, 0, 8.39, None, 102.97]
    assert software[1].comment.text == NOTE_AMOUNT and software[0].comment is None
    dates = _cells(ws, CLOSE)
    assert [c.value for c in dates] == [
        datetime(2026, 12, 31), "1899-12-31", "2027-02-30", None, datetime(2030, 1, 1), "31/12/2026",
        datetime(1900, 3, 1),
    ]  # fmt: skip
    assert [c.comment.text if c.comment else None for c in dates[:3]] == [None, NOTE_DATE, NOTE_DATE]
    assert dates[0].number_format == DATE_CELL_FORMAT and not dates[0].alignment.indent
    times = [c.value for c in _cells(ws, "LastModifiedDate")]
    assert times[:4] == [
        "2026-12-06 15:48:26.702 UTC",
        "2026-12-06 15:48:26 UTC",
        "2026-01-31 09:30:00.123456 UTC",
        None,
    ]
    # the print setup: landscape, one page wide, the header on every page
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0) and ws.print_title_rows == "$1:$1"
    back = ot.read_sheet(path)
    assert back.attrs["sheet_warnings"] == []
    pd.testing.assert_frame_equal(back[edges.columns], edges, check_dtype=False)
    pd.testing.assert_frame_equal(read_base(path)[edges.columns], edges, check_dtype=False)  # the base: texts
    # a CSV stays text, as the API gives it
    csv = ot.write_sheet(edges, tmp_path / "pipeline.csv")
    assert "10000.0," in csv.read_text() and "2026-12-06T15:48:26.702000+00:00" in csv.read_text()


def test_a_number_typed_over_an_amount_of_equal_value_is_no_edit_and_a_different_one_is(edges, tmp_path):
    path = ot.write_sheet(edges, tmp_path / "pipeline.xlsx", base=True)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    amounts, software, dates = _cells(ws, AMOUNT), _cells(ws, SOFTWARE), _cells(ws, CLOSE)
    amounts[0].value = 10000  # over "10000.0": the same value
    amounts[1].value = "12500.00"  # typed as text into a text cell: the same value
    amounts[2].value = 25000.5  # an edit
    amounts[6].value = 42  # a new value where there was none
    software[4].value = 8.390  # over "8.39"
    dates[0].value = date(2027, 1, 15)  # an edit, typed as a date
    dates[4].value = "2030-01-01"  # typed as text: the same day
    wb.save(path)
    back = ot.read_sheet(path)
    assert back.attrs["sheet_warnings"] == []
    assert back[AMOUNT].tolist() == ["10000.0", "12500", "25000.5", "0.", "1234567890123456.5", "1,500", "42"]
    assert back[SOFTWARE].tolist()[4] == "8.39" and back[CLOSE].tolist()[:5:4] == ["2027-01-15", "2030-01-01"]
    base = read_base(path)
    differs = {
        (ident, col)
        for col in (AMOUNT, SOFTWARE, CLOSE)
        for ident, a, b in zip(back["Id"], back[col], base[col], strict=True)
        if not (pd.isna(a) and pd.isna(b)) and a != b
    }
    assert differs == {("O3", AMOUNT), ("O7", AMOUNT), ("O1", CLOSE)}


def test_sum_isnumber_and_countif_work_after_libreoffice_recalculates(resave, pulled, tmp_path):
    """LibreOffice Calc opens the pipeline workbook, recalculates formulas over its columns and saves it: the
    amount column sums to the frame's total, its cells are numbers, the dates compare with a date."""
    df = pulled
    path = ot.write_sheet(df, tmp_path / "pipeline.xlsx", base=True)
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    labels = [c.value for c in ws[1]]
    col = {c: openpyxl.utils.get_column_letter(labels.index(ot.label_for(c)) + 1) for c in (AMOUNT, CLOSE)}
    last = len(df) + 1
    # on paper, the columns an analyst works with (ninety fitted to a page's width could not be read)
    work = [ot.label_for(c) for c in W.WORK_FIRST]
    assert ws.print_area == f"'Opportunities'!$A$1:${openpyxl.utils.get_column_letter(len(work))}${last}"
    assert labels[: len(work)] == work
    a, d = (f"Opportunities!{col[c]}2:{col[c]}{last}" for c in (AMOUNT, CLOSE))
    first = next(r for r in range(2, last + 1) if ws[f"{col[AMOUNT]}{r}"].value is not None)
    check = wb.create_sheet("Check")
    check.append(["sum", f"=SUM({a})"])
    check.append(["count", f"=COUNT({a})"])
    check.append(["isnumber", f"=ISNUMBER(Opportunities!{col[AMOUNT]}{first})"])
    check.append(["before", f'=COUNTIF({d},"<"&DATE(2026,12,1))'])
    check.append(["dates", f"=COUNT({d})"])
    wb.save(path)
    saved = resave(path)
    got = {r[0]: r[1] for r in openpyxl.load_workbook(saved, data_only=True)["Check"].iter_rows(values_only=True)}
    amounts = [Decimal(v) for v in df[AMOUNT].dropna() if v != ""]
    closes = [v for v in df[CLOSE].dropna() if v != ""]
    assert len(amounts) > 100 and len(closes) > 100
    assert got["count"] == len(amounts) and got["isnumber"] is True
    assert got["sum"] == pytest.approx(float(sum(amounts)), abs=0.005)
    assert got["before"] == sum(c < "2026-12-01" for c in closes) and got["dates"] == len(closes)
    assert 0 < got["before"] < len(closes)
    # and the re-saved workbook still reads as the frame, exactly
    back = ot.read_sheet(saved)
    assert back[AMOUNT].tolist() == df[AMOUNT].tolist() and back[CLOSE].tolist() == df[CLOSE].tolist()
    assert back["LastModifiedDate"].tolist() == df["LastModifiedDate"].tolist()


def test_a_push_of_a_workbook_resaved_by_libreoffice_sends_only_the_real_edits(resave, sb, pulled_workbook, tmp_path):
    path = Path(shutil.copy(pulled_workbook, tmp_path / "pipeline.xlsx"))
    df = ot.read_sheet(path)
    ok = (df["LifeCycle.ReviewStatus"] == "Pending Submission") & df[AMOUNT].notna()
    same, edited, moved = df.loc[ok, "Id"].tolist()[:3]
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    rows = {c.value: c.row for c in _cells(ws, "Id")}
    amount = {c.row: c for c in _cells(ws, AMOUNT)}
    close = {c.row: c for c in _cells(ws, CLOSE)}
    amount[rows[same]].value = float(Decimal(df.set_index("Id").loc[same, AMOUNT]))  # the same value, typed
    amount[rows[edited]].value = 12345.6
    close[rows[moved]].value = datetime(2027, 3, 31)
    wb.save(path)
    saved = resave(path)
    result = ot.push_updates(saved, "Sandbox", ledger=tmp_path / "ledger", client=sb.client(), **FAST)
    done = result[result["status"] != "unchanged"]
    assert sorted(done["Id"]) == sorted([edited, moved]) and set(done["status"]) == {"succeeded"}
    assert list(done.set_index("Id").loc[edited, "changed_fields"]) == [AMOUNT]
    assert list(done.set_index("Id").loc[moved, "changed_fields"]) == [CLOSE]
    stored = {i: sb.record("Sandbox", i) for i in (same, edited, moved)}
    assert stored[edited]["Project"]["ExpectedCustomerSpend"][0]["Amount"] == "12345.6"
    assert stored[moved]["LifeCycle"]["TargetCloseDate"] == "2027-03-31"
    assert stored[same]["Project"]["ExpectedCustomerSpend"][0]["Amount"] == df.set_index("Id").loc[same, AMOUNT]
    assert get_schema()[AMOUNT.replace("[0]", "[]")].is_amount
