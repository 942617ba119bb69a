"""Flatten / unflatten: the round-trip law over generated, model-valid records."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from botocore.validate import ParamValidator

import opptoolkit as ot


def test_round_trip_law_in_memory(records, frame, expected_payloads):
    assert len(records) >= 1000
    payloads = ot.to_payloads(frame)
    mismatches = [i for i, (p, e) in enumerate(zip(payloads, expected_payloads, strict=True)) if p != e]
    assert not mismatches, f"{len(mismatches)} rows differ, first {mismatches[:5]}"


def test_to_payload_of_a_row_equals_the_fast_path(frame, expected_payloads):
    for i in range(0, len(frame), 97):
        assert ot.to_payload(frame.iloc[i]) == expected_payloads[i]


def test_every_payload_passes_botocore_validation(frame):
    shape = ot.get_schema().update_shape
    validator = ParamValidator()
    for payload in ot.to_payloads(frame):
        report = validator.validate(payload, shape)
        assert not report.has_errors(), report.generate_report()


def test_frame_shape(records, frame):
    schema = ot.get_schema()
    assert len(frame) == len(records)
    assert frame.columns[0] == "Id"
    assert frame["Id"].is_unique
    # every field of the model is a column, in the model's order
    templates = list(dict.fromkeys(schema.field_for(c).path for c in frame.columns))
    assert templates == [f.path for f in schema]
    assert isinstance(frame["LastModifiedDate"].dtype, pd.DatetimeTZDtype)
    assert str(frame["LastModifiedDate"].dt.tz) == "UTC"
    assert isinstance(frame["LifeCycle.NextStepsHistory[0].Time"].dtype, pd.DatetimeTZDtype)
    # the longest list decides how many indexed columns there are
    longest = max(len(r.get("LifeCycle", {}).get("NextStepsHistory", [])) for r in records)
    assert f"LifeCycle.NextStepsHistory[{longest - 1}].Value" in frame.columns
    assert f"LifeCycle.NextStepsHistory[{longest}].Value" not in frame.columns


def test_lists_dates_and_amounts_stay_as_given():
    rec = {
        "Id": "O123", "Catalog": "Sandbox", "ResponseMetadata": {"RequestId": "x"},
        "LastModifiedDate": datetime(2025, 3, 1, 12, 0, 0, 123000, tzinfo=UTC),
        "PrimaryNeedsFromAws": ["Co-Sell - Deal Support", "Co-Sell - Pricing Assistance"],
        "LifeCycle": {"TargetCloseDate": "2026-01-31"},
        "Project": {"ExpectedCustomerSpend": [{"Amount": "1000.50", "CurrencyCode": "USD",
                                               "Frequency": "Monthly", "TargetCompany": "AWS"}]},
    }  # fmt: skip
    df = ot.to_frame([rec])
    row = df.iloc[0]
    assert "ResponseMetadata" not in df.columns
    assert row["PrimaryNeedsFromAws"] == ["Co-Sell - Deal Support", "Co-Sell - Pricing Assistance"]
    assert row["LifeCycle.TargetCloseDate"] == "2026-01-31"
    assert row["Project.ExpectedCustomerSpend[0].Amount"] == "1000.50"
    assert row["LastModifiedDate"] == pd.Timestamp("2025-03-01T12:00:00.123Z")
    payload = ot.to_payload(row)
    assert payload["Identifier"] == "O123" and "Id" not in payload
    assert payload["LastModifiedDate"] == rec["LastModifiedDate"]
    assert isinstance(payload["LastModifiedDate"], datetime)


def test_summaries_flatten_to_the_same_schema():
    summary = {
        "Catalog": "AWS", "Id": "O9", "Arn": "arn:aws:partnercentral:us-east-1::opportunity/O9",
        "LifeCycle": {"Stage": "Qualified", "ReviewStatus": "Approved"},
        "Customer": {"Account": {"CompanyName": "Acme"}},
        "LastModifiedDate": datetime(2025, 1, 1, tzinfo=UTC),
    }  # fmt: skip
    df = ot.to_frame([summary])
    full = ot.to_frame([])
    assert list(df.columns) == list(full.columns)
    assert df.loc[0, "LifeCycle.Stage"] == "Qualified"
    assert pd.isna(df.loc[0, "Marketing.Source"])


def test_blank_cells_are_left_out_and_empty_entries_dropped():
    row = pd.Series({
        "Id": "O1", "Catalog": "AWS", "LastModifiedDate": pd.Timestamp("2025-01-01", tz="UTC"),
        "Project.Title": float("nan"), "Project.AdditionalComments": "",
        "Customer.Contacts[0].Email": None, "Customer.Contacts[0].Phone": "",
        "Customer.Contacts[1].Email": "b@example.com",
        "PrimaryNeedsFromAws": [], "Marketing.Channels": ["Email", ""],
        "Arn": "arn:aws:x", "CreatedDate": pd.Timestamp("2024-01-01", tz="UTC"),
        "OpportunityTeam[0].Email": "team@example.com",
    })  # fmt: skip
    p = ot.to_payload(row)
    assert p == {
        "Identifier": "O1", "Catalog": "AWS", "LastModifiedDate": datetime(2025, 1, 1, tzinfo=UTC),
        "Customer": {"Contacts": [{"Email": "b@example.com"}]},
        "Marketing": {"Channels": ["Email"]},
    }  # fmt: skip


def test_drop_empty_keeps_only_filled_columns(frame):
    slim = ot.to_frame([{"Id": "O1", "Catalog": "AWS", "Project": {"Title": "x"}}], drop_empty=True)
    assert list(slim.columns) == ["Id", "Catalog", "Project.Title"]


def test_parquet_round_trip_keeps_the_law(tmp_path, frame, expected_payloads):
    """Lists come back from Parquet as numpy arrays; unflatten must not care."""
    path = tmp_path / "f.parquet"
    frame.to_parquet(path)
    back = pd.read_parquet(path)
    assert ot.to_payloads(back) == expected_payloads


@pytest.mark.parametrize("value", [None, float("nan"), "", [], pd.NaT])
def test_blank_values_are_null(value):
    assert ot.to_payload({"Id": "O1", "Project.Title": value}) == {"Identifier": "O1"}


def test_members_the_model_does_not_know_are_kept_as_extra_columns():
    """A record from a newer service model loses nothing: unknown members (at the top, in a
    structure, inside list items, nested) become extra columns after the model's, and are not
    sent back (UpdateOpportunity of this botocore would reject them)."""
    recs = [
        {"Id": "O1", "Catalog": "AWS", "NewTop": "t", "Customer": {"Account": {"CompanyName": "A", "NewAcc": "x"},
         "Contacts": [{"Email": "a@x.com"}, {"Email": "b@x.com", "NewC": {"Deep": 1}}]}},
        {"Id": "O2", "Catalog": "AWS", "Customer": {"Contacts": [{"Email": "c@x.com", "NewC": {"Deep": 2}}]}},
    ]  # fmt: skip
    df = ot.to_frame(recs)
    extra = ["NewTop", "Customer.Account.NewAcc", "Customer.Contacts[1].NewC.Deep", "Customer.Contacts[0].NewC.Deep"]
    assert sorted(df.columns[-4:]) == sorted(extra)
    assert df["Customer.Contacts[1].NewC.Deep"].tolist() == [1, None]
    assert df["Customer.Contacts[0].NewC.Deep"].tolist() == [None, 2]
    assert df.loc[0, "Customer.Account.CompanyName"] == "A" and pd.isna(df.loc[1, "Customer.Account.CompanyName"])
    assert df["Customer.Contacts[1].Email"].tolist()[0] == "b@x.com"
    assert ot.to_payloads(df)[0]["Customer"] == {
        "Account": {"CompanyName": "A"}, "Contacts": [{"Email": "a@x.com"}, {"Email": "b@x.com"}]}  # fmt: skip


def test_timestamps_in_any_zone_or_as_iso_text_become_utc():
    from dateutil.tz import tzutc  # what botocore's parser attaches

    recs = [
        {"Id": "O1", "LastModifiedDate": datetime(2025, 1, 1, 1, tzinfo=tzutc())},
        {"Id": "O2", "LastModifiedDate": "2025-01-01T03:00:00+02:00"},
        {"Id": "O3", "LastModifiedDate": datetime(2025, 1, 1, 1, tzinfo=UTC)},
        {"Id": "O4"},
    ]
    s = ot.to_frame(recs)["LastModifiedDate"]
    assert str(s.dtype) == "datetime64[us, UTC]"
    assert s.iloc[:3].tolist() == [pd.Timestamp("2025-01-01T01:00Z")] * 3 and pd.isna(s.iloc[3])


@pytest.mark.parametrize("zone", ["tzlocal", "zoneinfo"])
def test_timestamps_in_a_zone_with_summer_time_keep_their_instant(zone, monkeypatch):
    """botocore gives every timestamp a ``tzlocal()`` of its own when the host's zone is UTC;
    zones other than UTC take their own converter (``frame._instants``). Each instant is kept to
    the microsecond, the hour that repeats when clocks go back included; a naive datetime among
    them is read as UTC, as elsewhere."""
    import time
    from importlib.resources import files
    from zoneinfo import ZoneInfo

    from dateutil.tz import tzlocal

    # the zone's file from the tzdata package (a dev dependency): a new machine may lack Debian's tzdata
    monkeypatch.setenv("TZ", f":{files('tzdata') / 'zoneinfo' / 'Europe' / 'Berlin'}")
    time.tzset()
    try:
        tz = tzlocal() if zone == "tzlocal" else ZoneInfo("Europe/Berlin")
        instants = [
            datetime(2025, 10, 26, 0, 30, 0, 123457, tzinfo=UTC),
            datetime(2025, 10, 26, 1, 30, tzinfo=UTC),  # 02:30 in Berlin again, an hour later
            datetime(2025, 7, 1, 12, 0, 0, 999999, tzinfo=UTC),
        ]
        recs: list[dict] = [{"Id": f"O{i}", "LastModifiedDate": t.astimezone(tz)} for i, t in enumerate(instants)]
        walls = [r["LastModifiedDate"].strftime("%H:%M") for r in recs]
        assert walls[:2] == ["02:30", "02:30"] and [r["LastModifiedDate"].fold for r in recs[:2]] == [0, 1]
        df = ot.to_frame([*recs, {"Id": "O8"}])
        s = df["LastModifiedDate"]
        assert str(s.dtype) == "datetime64[us, UTC]"
        assert s.iloc[:3].tolist() == [pd.Timestamp(t) for t in instants] and pd.isna(s.iloc[3])
        assert [p["LastModifiedDate"] for p in ot.to_payloads(df.head(3))] == instants
        naive = ot.to_frame([*recs, {"Id": "O9", "LastModifiedDate": datetime(2025, 1, 1, 1)}])["LastModifiedDate"]
        assert naive.tolist() == [*s.iloc[:3], pd.Timestamp("2025-01-01T01:00Z")]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_to_payloads_leaves_the_garbage_collector_as_it_found_it(frame):
    """to_payloads pauses the cyclic collector while it builds (see frame._gc_paused)."""
    import gc

    assert gc.isenabled()
    ot.to_payloads(frame.head(3))
    assert gc.isenabled()
    gc.disable()
    try:
        ot.to_payloads(frame.head(3))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_editing_one_column_leaves_every_other_as_it_was():
    """The columns of a list no record has, and the indexed columns of one list, are built from
    shared arrays (an all-null one, one take per member); each column must still be its own."""
    recs = [{"Id": f"O{i}", "Catalog": "AWS", "Customer": {"Contacts": [{"Email": f"a{i}@x.com"}, {"Email": "b@x.com"}]}}
            for i in range(3)]  # fmt: skip
    df = ot.to_frame(recs)
    before = df.copy()
    df.loc[0, "Project.Title"] = "T"
    df.loc[1, "Customer.Contacts[0].Email"] = "new@x.com"
    df.loc[2, "OpportunityTeam[0].Email"] = "R"
    changed = (df.astype(object).fillna("") != before.astype(object).fillna("")).to_numpy().nonzero()
    assert sorted(zip(changed[0].tolist(), df.columns[changed[1]], strict=True)) == [
        (0, "Project.Title"), (1, "Customer.Contacts[0].Email"), (2, "OpportunityTeam[0].Email")]  # fmt: skip


def test_payload_lists_are_not_the_frames_lists(frame):
    """Editing a payload must not edit the frame it came from."""
    col = "PrimaryNeedsFromAws"
    i = next(i for i, v in enumerate(frame[col]) if isinstance(v, list) and v)
    payload = ot.to_payloads(frame.iloc[[i]])[0]
    payload[col].append("x")
    assert "x" not in frame[col].iloc[i]


def test_to_payloads_whatever_the_string_dtype(frame, expected_payloads):
    """Frames edited by users hold other string dtypes; the payloads must not change."""
    sub = frame.head(50).copy()
    python_str = pd.StringDtype("python", na_value=float("nan"))  # pandas' str with string_storage="python"
    for c, dtype in (
        ("LifeCycle.Stage", "category"),
        ("Project.Title", "string[python]"),
        ("Catalog", object),
        ("Customer.Account.CompanyName", python_str),
        ("LifeCycle.NextStepsHistory[0].Value", python_str),
    ):
        sub[c] = sub[c].astype(dtype)
    assert ot.to_payloads(sub) == expected_payloads[:50]
    assert ot.to_payloads(frame.iloc[:0]) == []


_HEAP_LEFT = """
import ctypes, os, sys
import opptoolkit as ot
from opptoolkit import frame as frame_module
from opptoolkit.testing import fake_records

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

if sys.argv[1] == "untrimmed":
    frame_module._TRIM_ROWS = 10**12  # no frame is large enough to be trimmed
records = fake_records(200, seed=7)
n = 4 * frame_module._TRIM_ROWS if sys.argv[1] == "trimmed" else 20_000
many = [{**r, "Id": f"O{i:012d}"} for i, r in enumerate(records * (n // len(records) + 1))]
df = ot.to_frame(many)
before = rss()
ctypes.CDLL(None).malloc_trim(0)
print(len(df), before - rss())
"""


def _heap_left_after_to_frame(mode: str) -> tuple[int, int]:
    """In a fresh interpreter: the rows of a large frame, and the bytes a ``malloc_trim`` after
    ``to_frame`` still gives back to the OS (what ``to_frame`` left mapped but free)."""
    out = subprocess.run(
        [sys.executable, "-c", _HEAP_LEFT, mode],
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_large_frames_give_freed_heap_memory_back_on_glibc():
    """to_frame trims the C heap after a large frame (BENCHMARKS.md): a trim right after it finds
    nothing left to give back, while the same frame built without the trim leaves megabytes."""
    from opptoolkit import frame as frame_module

    assert frame_module._malloc_trim() is not None
    rows, left = _heap_left_after_to_frame("trimmed")
    assert rows >= frame_module._TRIM_ROWS
    assert left < 1_000_000
    rows, left = _heap_left_after_to_frame("untrimmed")  # the measure sees what an untrimmed build leaves
    assert left > 5_000_000


def test_text_in_a_frames_time_column_is_refused_by_row_and_rule(frame):
    """A plan of a frame whose LastModifiedDate holds text raised pandas' DateParseError quoting the cell."""
    base = frame.head(3).assign(Catalog="Sandbox")
    edited = base.copy()
    edited["LastModifiedDate"] = edited["LastModifiedDate"].astype(object)
    edited.loc[1, "LastModifiedDate"] = "Acme renewal call"
    edited.loc[2, "LastModifiedDate"] = 45000  # a number: pandas would read nanoseconds since 1970
    with pytest.raises(ot.SheetError) as e:
        ot.plan_updates(edited, "Sandbox", base=base)
    problems = e.value.problems
    assert [(p.row, p.field, p.code) for p in problems] == [
        ("1", "LastModifiedDate", "INVALID_STRING_FORMAT"),
        ("2", "LastModifiedDate", "INVALID_STRING_FORMAT"),
    ]
    assert "Acme" not in str(e.value) and "ISO 8601" in str(e.value)
    edited.loc[[1, 2], "LastModifiedDate"] = ["2025-01-31T09:30:00Z", base.loc[2, "LastModifiedDate"]]
    assert len(ot.plan_updates(edited, "Sandbox", base=base)) == 3  # a time as text still plans
