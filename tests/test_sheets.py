"""Spreadsheets: exact round trips, formula guard, friendly headers, clear errors."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from datetime import datetime

import openpyxl
import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.exceptions import SheetError


def _write_rows(path, lines) -> None:
    """Cells typed straight into a .csv or .xlsx, as a person or another program would."""
    if path.suffix == ".csv":
        path.write_text("\n".join(",".join(r) for r in lines) + "\n")
    else:
        wb = openpyxl.Workbook()
        for r in lines:
            wb.active.append([v or None for v in r])
        wb.save(path)


def _problem(tmp_path, csv_text: str, **kwargs):
    """The one problem ``read_sheet`` finds in a CSV holding ``csv_text``."""
    (tmp_path / "x.csv").write_text(csv_text)
    with pytest.raises(SheetError) as e:
        ot.read_sheet(tmp_path / "x.csv", **kwargs)
    (p,) = e.value.problems
    return p


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("headers", ["path", "label"])
def test_round_trip_law_through_sheets(tmp_path, frame, expected_payloads, suffix, headers):
    path = ot.write_sheet(frame, tmp_path / f"pipeline{suffix}", headers=headers)
    back = ot.read_sheet(path)
    assert back.attrs["sheet_warnings"] == []
    payloads = ot.to_payloads(back)
    bad = [i for i, (p, e) in enumerate(zip(payloads, expected_payloads, strict=True)) if p != e]
    assert not bad, f"{len(bad)} rows drifted through {suffix}, first {bad[:5]}"


def _spiky_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "Id": ["O1", "O2"],
        "Customer.Account.Address.CountryCode": ["NA", "US"],
        "Customer.Account.Address.PostalCode": ["00501", "02134"],
        "Project.Title": ["=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0"],
        "Project.AdditionalComments": ["@SUM(1)", "-2+3"],
        "LifeCycle.NextSteps": ["'already quoted", "\ttab"],
        "Marketing.UseCases": [["a;b", "line\nbreak", "back\\slash"], ["=x"]],
        "PrimaryNeedsFromAws": [["Co-Sell - Deal Support", "Co-Sell - Pricing Assistance"], None],
    })  # fmt: skip


_TEXT_DTYPES = {  # the text dtypes a frame may hold: pandas' str (to_frame's) in both storages, pd.NA's, objects
    "str": pd.StringDtype("pyarrow", na_value=float("nan")),
    "str-python": pd.StringDtype("python", na_value=float("nan")),
    "string": pd.StringDtype(),
    "object": object,
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("dtype", _TEXT_DTYPES)
def test_spreadsheet_hostile_values_survive_exactly(tmp_path, suffix, dtype):
    df = _spiky_frame()
    text = [c for c in df.columns if not c.startswith(("Marketing", "Primary"))]
    df[text] = df[text].astype(_TEXT_DTYPES[dtype])
    df.loc[1, "Project.AdditionalComments"] = None  # blank in the dtype's own way
    back = ot.read_sheet(ot.write_sheet(df, tmp_path / f"x{suffix}"))
    for c in df.columns:
        assert _values(back[c]) == _values(df[c]), c


def _values(s: pd.Series) -> list:
    """A column's values, each blank (None, NaN, pd.NA) as None."""
    return [None if not isinstance(v, list) and pd.isna(v) else v for v in s]


def test_formula_guard_in_the_file(tmp_path):
    df = _spiky_frame()
    ot.write_sheet(df, tmp_path / "x.csv")
    with open(tmp_path / "x.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [c for r in rows[1:] for c in r if c]
    assert not [c for c in cells if c[0] in "=+-@\t\r"], "a cell would be run as a formula"
    ot.write_sheet(df, tmp_path / "x.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    with zipfile.ZipFile(tmp_path / "x.xlsx") as z:
        sheet_xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml


def test_friendly_headers_and_a_subset_of_columns(tmp_path):
    df = _spiky_frame()[["Id", "Customer.Account.Address.PostalCode"]]
    path = ot.write_sheet(df, tmp_path / "x.xlsx", headers="label")
    head = [c.value for c in next(openpyxl.load_workbook(path).active.iter_rows(max_row=1))]
    assert head == ["Id", "Customer postal code"]  # the console's short label
    back = ot.read_sheet(path)
    assert list(back.columns) == ["Id", "Customer.Account.Address.PostalCode"]  # nothing invented
    assert back["Customer.Account.Address.PostalCode"].tolist() == ["00501", "02134"]


def test_mixed_header_styles_and_hand_typed_enum_lists(tmp_path):
    path = tmp_path / "typed.csv"
    path.write_text(
        "id,Customer contacts 2 email,LifeCycle.TargetCloseDate,primary needs from AWS\n"
        "O5,b@example.com,2026-02-01,Co-Sell - Deal Support; Co-Sell - Pricing Assistance\n"
    )
    df = ot.read_sheet(path)
    assert list(df.columns) == ["Id", "PrimaryNeedsFromAws", "Customer.Contacts[1].Email", "LifeCycle.TargetCloseDate"]
    assert df.loc[0, "PrimaryNeedsFromAws"] == ["Co-Sell - Deal Support", "Co-Sell - Pricing Assistance"]


def test_cells_a_spreadsheet_program_converted_come_back_as_text_and_are_flagged(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Id", "Customer.Account.Address.PostalCode", "LifeCycle.TargetCloseDate",
               "Project.ExpectedCustomerSpend[0].Amount", "Customer.Account.Duns"])  # fmt: skip
    ws.append(["O1", 501, datetime(2026, 3, 31), 1200.5, 123456789.0])
    wb.save(tmp_path / "excel.xlsx")
    df = ot.read_sheet(tmp_path / "excel.xlsx")
    row = df.iloc[0]
    assert row["Customer.Account.Address.PostalCode"] == "501"
    assert row["LifeCycle.TargetCloseDate"] == "2026-03-31"
    assert row["Project.ExpectedCustomerSpend[0].Amount"] == "1200.5"
    assert row["Customer.Account.Duns"] == "123456789"
    flagged = {(w["row"], w["field"]) for w in df.attrs["sheet_warnings"]}
    assert (2, "Customer.Account.Address.PostalCode") in flagged
    assert (2, "LifeCycle.TargetCloseDate") not in flagged  # a date in a date field is expected


def test_unknown_column_is_named_with_a_suggestion(tmp_path):
    (tmp_path / "x.csv").write_text("Id,LifeCycle.Stag\nO1,Prospect\n")
    with pytest.raises(SheetError) as e:
        ot.read_sheet(tmp_path / "x.csv")
    msg = str(e.value)
    assert "LifeCycle.Stag" in msg and "unknown column" in msg and "LifeCycle.Stage" in msg
    assert e.value.problems[0].row == 1


def test_an_extra_column_is_refused_by_default_with_the_way_to_keep_it(tmp_path):
    p = _problem(tmp_path, "Id,Notes\nO1,call Ana\n")
    assert (p.row, p.field, p.code) == (1, "Notes", "INVALID_VALUE") and 'extra="keep"' in p.message


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_extra_columns_kept_as_text_and_the_rest_still_round_trips(tmp_path, frame, expected_payloads, suffix):
    df = frame.head(20).copy()
    df["Notes"] = ["=call Ana first", "", "00501", "-2", None, *[f"note {i}" for i in range(15)]]
    df["Owner"] = "Sam"
    path = ot.write_sheet(df, tmp_path / f"x{suffix}", headers="label")
    back = ot.read_sheet(path, extra="keep")
    assert back.columns[-2:].tolist() == ["Notes", "Owner"]  # after the model's columns, in sheet order
    notes = back["Notes"]
    assert notes.iloc[[0, 2, 3, 5]].tolist() == ["=call Ana first", "00501", "-2", "note 0"]
    assert notes.isna().iloc[[1, 4]].all() and (back["Owner"] == "Sam").all()
    assert back.attrs["sheet_warnings"] == []
    assert ot.to_payloads(back) == expected_payloads[:20]  # never sent


def test_a_kept_column_typed_by_hand_comes_back_as_its_text(tmp_path):
    """Numbers, dates and booleans a person types into an extra xlsx column are kept as the
    text the cell shows, and a header close to a field's name is flagged."""
    _write_rows(tmp_path / "x.xlsx", [["Id", "Notes", "Project.Titel"], ["O1", None, "x"], ["O2", None, None]])
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx")
    wb.active["B2"], wb.active["B3"] = 501, datetime(2026, 12, 1)
    wb.save(tmp_path / "x.xlsx")
    back = ot.read_sheet(tmp_path / "x.xlsx", extra="keep")
    assert back["Notes"].tolist() == ["501", "2026-12-01"]  # as a text field's cell reads
    (w,) = back.attrs["sheet_warnings"]
    assert (w["row"], w["field"]) == (1, "Project.Titel") and "Project.Title" in w["message"]
    assert "never sent" in w["message"]


@pytest.mark.parametrize(
    ("header", "code"), [("Id,Notes,Notes", "DUPLICATE_KEY_VALUE"), ("Id,,Notes", "INVALID_VALUE")]
)
def test_keeping_extra_columns_still_refuses_duplicates_and_unnamed_ones(tmp_path, header, code):
    p = _problem(tmp_path, f"{header}\nO1,a,b\n", extra="keep")
    assert (p.row, p.code) == (1, code)


def test_duplicate_ids_name_both_rows(tmp_path):
    p = _problem(tmp_path, "Id,LifeCycle.Stage\nO1,Prospect\nO2,Qualified\nO1,Committed\n")
    assert (p.row, p.field, p.code) == (4, "Id", "DUPLICATE_KEY_VALUE") and "row 2" in p.message


@pytest.mark.parametrize("header", ["Id,LifeCycle.Stage,Life cycle stage", "Id,LifeCycle.Stage,LifeCycle.Stage"])
def test_duplicate_columns_are_refused(tmp_path, header):
    (tmp_path / "x.csv").write_text(f"{header}\nO1,Prospect,Qualified\n")
    with pytest.raises(SheetError, match=r"LifeCycle\.Stage appears twice"):
        ot.read_sheet(tmp_path / "x.csv")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_value_under_no_header_is_refused_not_shifted(tmp_path, suffix):
    """pandas.read_csv would take a row with one cell too many as an index column and shift
    every value left; the sheet names the row and column instead."""
    lines = [["Id", "Project.Title"], ["O1", "Title one", "stray note"], ["O2", "Title two"]]
    path = tmp_path / f"x{suffix}"
    _write_rows(path, lines)
    with pytest.raises(SheetError) as e:
        ot.read_sheet(path)
    (p,) = e.value.problems
    assert (p.row, p.field, p.code) == (2, "column 3", "INVALID_VALUE")


def test_wrong_type_in_a_timestamp_cell(tmp_path):
    p = _problem(tmp_path, "Id,LastModifiedDate\nO1,yesterday\n")
    assert (p.row, p.field, p.code) == (2, "LastModifiedDate", "INVALID_STRING_FORMAT")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_blank_rows_are_skipped_and_errors_name_the_sheets_own_row(tmp_path, suffix):
    """An analyst who clears a row (or leaves an empty line) gets no phantom row, and the
    error below it names the row number the spreadsheet program shows."""
    lines = [["Id", "LifeCycle.Stage", "LastModifiedDate"], ["O1", "Prospect", ""], ["", "", ""], [],
             ["O2", "Qualified", "yesterday"], ["O1", "Committed", ""]]  # fmt: skip
    path = tmp_path / f"x{suffix}"
    _write_rows(path, lines)
    with pytest.raises(SheetError) as e:
        ot.read_sheet(path)
    got = sorted((p.row, p.field, p.code) for p in e.value.problems)
    assert got == [(5, "LastModifiedDate", "INVALID_STRING_FORMAT"), (6, "Id", "DUPLICATE_KEY_VALUE")]
    lines[4][2] = ""
    lines[5] = ["O3", "", ""]
    _write_rows(path, lines)
    assert ot.read_sheet(path)["Id"].tolist() == ["O1", "O2", "O3"]


def test_csv_as_excel_saves_it_in_a_comma_decimal_locale(tmp_path):
    """Excel writes ";"-separated "CSV" where the decimal separator is a comma, and in the
    system code page unless "CSV UTF-8" is chosen: the first reads, the second says what to do."""
    (tmp_path / "semi.csv").write_text('Id;LifeCycle.Stage;Project.Title\r\nO1;Prospect;"a; b, c"\r\n')
    df = ot.read_sheet(tmp_path / "semi.csv")
    assert df.loc[0, ["Id", "LifeCycle.Stage", "Project.Title"]].tolist() == ["O1", "Prospect", "a; b, c"]
    (tmp_path / "ansi.csv").write_bytes("Id,Project.Title\r\nO1,Café\r\n".encode("cp1252"))
    with pytest.raises(SheetError, match=r'not UTF-8 text.*save it as "CSV UTF-8"'):
        ot.read_sheet(tmp_path / "ansi.csv")


@pytest.mark.parametrize("content", [b"\x00\x01garbage", b"PK\x03\x04broken zip"])
def test_unreadable_files_raise_a_sheet_error(tmp_path, content):
    (tmp_path / "x.xlsx").write_bytes(content)
    with pytest.raises(SheetError, match=r"cannot read x\.xlsx"):
        ot.read_sheet(tmp_path / "x.xlsx")
    with pytest.raises(SheetError, match="no such file"):
        ot.read_sheet(tmp_path / "missing.csv")
    with pytest.raises(SheetError, match="unsupported file type"):
        ot.write_sheet(pd.DataFrame({"Id": ["O1"]}), tmp_path / "x.json")


# -- cells that look blank but were not blank to the analyst --------------------------------------


def _problems(path, **kwargs) -> list:
    with pytest.raises(SheetError) as e:
        ot.read_sheet(path, **kwargs)
    return e.value.problems


def test_a_csv_row_with_fewer_cells_than_headers_is_a_problem_not_blanks(tmp_path):
    (tmp_path / "x.csv").write_text("Id,Project.Title,LifeCycle.NextSteps\nO1,T,N\nO2,T2\n")
    (p,) = _problems(tmp_path / "x.csv")
    assert p.row == 3 and p.code == "INVALID_VALUE" and "2 cells" in p.message and "3" in p.message


def test_a_formula_with_no_saved_value_is_a_problem(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["Id", "Project.Title"])
    wb.active.append(["O1", '=A1&"x"'])  # openpyxl saves no cached value, as a script or a web export may
    wb.save(tmp_path / "x.xlsx")
    (p,) = _problems(tmp_path / "x.xlsx")
    assert (p.row, p.field) == (2, "Project.Title") and "B2" in p.message and "formula" in p.message


def test_merged_cells_are_a_problem(tmp_path):
    wb = openpyxl.Workbook()
    for r in (["Id", "Project.Title", "LifeCycle.NextSteps"], ["O1", "T", "N"], ["O2", "T2", None]):
        wb.active.append(r)
    wb.active.merge_cells("B2:C2")
    wb.save(tmp_path / "x.xlsx")
    (p,) = _problems(tmp_path / "x.xlsx")
    assert p.row == 2 and "B2:C2" in p.message and "merged" in p.message


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_excel_error_values_are_problems(tmp_path, suffix):
    _write_rows(tmp_path / f"x{suffix}", [["Id", "Project.Title", "LifeCycle.NextSteps"], ["O1", "#N/A", "ok"],
                                          ["O2", "fine", "#REF!"]])  # fmt: skip
    problems = _problems(tmp_path / f"x{suffix}")
    assert [(p.row, p.field) for p in problems] == [(2, "Project.Title"), (3, "LifeCycle.NextSteps")]
    assert "#N/A" in problems[0].message and "#REF!" in problems[1].message


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_real_value_that_reads_like_an_error_round_trips(tmp_path, suffix):
    df = pd.DataFrame({"Id": ["O1"], "Project.Title": ["#N/A"]})
    assert ot.read_sheet(ot.write_sheet(df, tmp_path / f"x{suffix}")).loc[0, "Project.Title"] == "#N/A"


def test_a_blank_looking_cell_is_never_sent_as_a_clear(sb, pulled, tmp_path):
    df = pulled.copy()  # sb's pipeline, read once a session
    row = df.index[df["LifeCycle.ReviewStatus"].eq("Pending Submission") & df["LifeCycle.NextSteps"].notna()][0]
    sheet = df.loc[[row], ["Id", "LastModifiedDate", "LifeCycle.NextSteps"]].copy()
    ot.write_sheet(sheet, tmp_path / "x.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "x.xlsx")
    wb.active["C2"] = "=VLOOKUP(A2,Other!A:B,2,FALSE)"  # saved by a program that does not compute
    wb.save(tmp_path / "x.xlsx")
    with pytest.raises(SheetError, match="C2"):
        ot.push_updates(tmp_path / "x.xlsx", "Sandbox", ledger=tmp_path / "l", base=df, blank="clear",
                        endpoint_url=sb.endpoint_url, progress=False, writes_per_second=1000)  # fmt: skip
    assert not sb.service.applied


def test_whitespace_only_text_written_by_another_program_is_read_exactly(tmp_path):
    """openpyxl (and so any script using it) writes a text of only spaces without
    xml:space="preserve"; calamine would read it as an empty cell, a clear."""
    wb = openpyxl.Workbook()
    for r in (["Id", "Project.Title", "LifeCycle.NextSteps"], ["O1", " ", "\n"], ["O2", "T", "  "]):
        wb.active.append(r)
    wb.save(tmp_path / "x.xlsx")
    back = ot.read_sheet(tmp_path / "x.xlsx")
    assert back["Project.Title"].tolist() == [" ", "T"] and back["LifeCycle.NextSteps"].tolist() == ["\n", "  "]


def test_formulas_and_errors_are_seen_in_a_workbook_with_a_namespace_prefix(tmp_path):
    """Some writers prefix every element (<x:c>, <x:f>); calamine alone would read both cells as empty."""
    wb = openpyxl.Workbook()
    wb.active.append(["Id", "Project.Title", "LifeCycle.NextSteps"])
    wb.active.append(["O1", '=A1&"x"', "#N/A"])  # openpyxl writes "#N/A" as an error cell
    wb.save(tmp_path / "a.xlsx")
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z, zipfile.ZipFile(tmp_path / "x.xlsx", "w") as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r"<(/?)(?!\?)", r"<\1x:", data.decode()).replace("xmlns=", "xmlns:x=")
                data = text.encode()
            out.writestr(info, data)
    problems = _problems(tmp_path / "x.xlsx")
    assert [(p.row, p.field) for p in problems] == [(2, "LifeCycle.NextSteps"), (2, "Project.Title")]


def test_timestamps_read_whole_columns_keep_the_cell_rules(tmp_path):
    """A column of ISO 8601 cells is parsed at once; a date typed another way, or a typo, still
    reads as it does cell by cell."""
    (tmp_path / "y.csv").write_text("Id,LastModifiedDate\nO1, 2025-01-31T09:30:00+01:00\nO2,\nO3,Jan 31 2025\n")
    back = ot.read_sheet(tmp_path / "y.csv")
    assert back["LastModifiedDate"].tolist()[::2] == [
        pd.Timestamp("2025-01-31T08:30Z"),
        pd.Timestamp("2025-01-31T00:00Z"),
    ]
    assert back["LastModifiedDate"].isna().tolist() == [False, True, False]
    p = _problem(tmp_path, "Id,LastModifiedDate\nO1,2025-01-31T09:30:00+01:00\nO2,yesterday\n")
    assert (p.row, p.field, p.code) == (3, "LastModifiedDate", "INVALID_STRING_FORMAT")


def test_csv_cell_with_a_crlf_where_arrows_reader_would_split_its_blocks(tmp_path):
    """Arrow's CSV reader, reading in blocks of 1 MiB, drops the LF of a quoted CRLF whose CR ends a
    block (https://github.com/apache/arrow/issues/51368)."""
    lines = ["Id,Project.Title"] + [f"O{i},{'x' * 90}" for i in range(10_000)]
    head = "\r\n".join(lines).encode() + b"\r\n"
    head = head[: head.rfind(b"\r\n", 0, (1 << 20) - 200) + 2]  # whole rows up to just before 1 MiB
    before = b'Olast,"' + b"y" * ((1 << 20) - 1 - len(head) - len(b'Olast,"'))  # the CR: byte 2**20 - 1
    (tmp_path / "x.csv").write_bytes(head + before + b'\r\nz"\r\n')
    back = ot.read_sheet(tmp_path / "x.csv")
    assert back["Project.Title"].iloc[-1] == before[7:].decode() + "\r\nz"


def _csv_module_reading(text: str, sep: str):
    """What read_sheet reads from a CSV of rows of the header's width: the header, the columns and
    the row numbers of the rows with a value, by the csv module (the reference)."""
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    if not records or not records[0] or records[0][-1] == "" or {len(r) for r in records} - {0, len(records[0])}:
        return None
    body = [(n, r) for n, r in enumerate(records[1:], start=2) if any(r)]
    columns = [[r[j] for _, r in body] for j in range(len(records[0]))]
    return records[0], columns, [n for n, _ in body]


def test_csv_read_whole_by_arrow_reads_what_the_csv_module_reads(tmp_path):
    """Arrow's reader, where read_sheet uses it, gives the csv module's cells (quotes, doubled
    quotes, CR, LF and CRLF inside and outside quotes, empty lines, a BOM); elsewhere it declines
    and the csv module reads the file."""
    from opptoolkit.sheets._csv import _csv_arrow, _csv_columns

    rng = random.Random(18)
    alphabet = ["a", "b", "é", " ", ",", ";", '"', '""', "\n", "\r", "\r\n", "'"]
    path = tmp_path / "x.csv"
    used = 0
    for _ in range(3000):
        sep = rng.choice([",", ";"])
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        path.write_bytes(("\ufeff" if rng.random() < 0.2 else "").encode() + text.encode())
        expected = _csv_module_reading(text, sep)
        width = len(next(csv.reader(io.StringIO(text, newline=""), delimiter=sep), []))
        got = _csv_columns(_csv_arrow(path, sep, width))
        if got is None:
            continue
        used += 1
        head, columns, rows = got
        assert expected is not None, repr(text)
        assert (head, [c.to_pylist() for c in columns], rows) == expected, repr(text)
    assert used > 300  # the comparison ran on many files


# -- a time column holding no time (issue #27, item 8) --------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize(
    "text",
    ["Acme renewal call", "now", "today", "NaT", "0001-01-01T00:00+14:00", "2025-13-45", "99999-01-01"],
)
def test_text_in_a_time_column_is_a_problem_stating_the_rule_never_the_cell(tmp_path, suffix, text):
    """pandas read "now" and "today" as the current time, and 0001-01-01T00:00+14:00 as a day of 1972; other text
    raised its DateParseError quoting the cell. Every row holds it, so the column's fast path is taken too."""
    path = tmp_path / f"x{suffix}"
    _write_rows(path, [["Id", "LastModifiedDate"], ["O1", text], ["O2", text]])
    problems = _problems(path)
    assert [(p.row, p.field, p.code) for p in problems] == [
        (2, "LastModifiedDate", "INVALID_STRING_FORMAT"),
        (3, "LastModifiedDate", "INVALID_STRING_FORMAT"),
    ]
    assert all("ISO 8601" in p.message and text not in p.message for p in problems)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_times_as_written_and_as_typed_still_read(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    _write_rows(
        path,
        [
            ["Id", "LastModifiedDate"],
            ["O1", "2025-01-31T09:30:00.123000+00:00"],
            ["O2", "2025-01-31T10:30:00+01:00"],
            ["O3", "2025-01-31"],
            ["O4", ""],
        ],
    )
    got = ot.read_sheet(path)["LastModifiedDate"].tolist()
    assert got[:3] == [
        pd.Timestamp("2025-01-31T09:30:00.123", tz="UTC"),
        pd.Timestamp("2025-01-31T09:30:00", tz="UTC"),
        pd.Timestamp("2025-01-31", tz="UTC"),
    ]
    assert pd.isna(got[3])


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_empty_file_is_refused_not_read_as_a_sheet_of_no_rows(tmp_path, suffix):
    """A 0-byte CSV used to read as no rows (a push of it exited 0 and wrote an empty results workbook)."""
    path = tmp_path / f"x{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"")
    else:
        openpyxl.Workbook().save(path)  # one sheet, not a cell on it
    with pytest.raises(SheetError, match="empty"):
        ot.read_sheet(path)
    _write_rows(path, [["Id", "Project.Title"]])  # a header and no row: a sheet of no rows, as before
    assert ot.read_sheet(path).columns.tolist() == ["Id", "Project.Title"]


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "empty (0 bytes)"),
        (b"%PDF-1.7\n", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "97-2003"),
        (b"Id,Project.Title\nO1,x\n", "not a workbook"),
        (b"PK\x03\x04 cut short", "damaged"),
    ],
)
def test_a_file_that_is_no_workbook_says_what_it_is(tmp_path, content, said):
    (tmp_path / "x.xlsx").write_bytes(content)
    with pytest.raises(SheetError) as e:
        ot.read_sheet(tmp_path / "x.xlsx")
    assert said in str(e.value) and "\n" not in str(e.value)


def test_a_zip_that_is_no_workbook_says_so(tmp_path):
    with zipfile.ZipFile(tmp_path / "x.xlsx", "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(SheetError, match="not an Excel workbook"):
        ot.read_sheet(tmp_path / "x.xlsx")
