"""The ledger at rest: few Parquet parts, an fsync'd journal between them, and nothing lost or
counted twice at a crash (the push's own crash tests are in test_push.py)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import opptoolkit as ot
from opptoolkit.ledger import LEDGER_SCHEMA, Ledger, LedgerEntry

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _entries(book: Ledger, n: int, start: int = 0) -> list[LedgerEntry]:
    """``n`` entries as a push writes them: an in-flight entry, then its outcome with the same
    ``started_at`` and change key (their order is the order written)."""
    out = []
    for i in range(start, start + n):
        started = T0 + timedelta(seconds=i // 2)
        status = "in_flight" if i % 2 == 0 else "succeeded"
        out.append(LedgerEntry(job_id=book.job_id, row=str(i + 2), Id=f"O{i // 2}", status=status, started_at=started,
                               changed_fields=["Project.Title"], last_modified_before=T0, attempt=1, writes=i % 2,
                               last_modified_after=started if status == "succeeded" else None, change_key=f"k{i // 2}"))  # fmt: skip
    return out


def _expected(entries: list[LedgerEntry]) -> pd.DataFrame:
    """The frame as the one-part-per-entry ledger gave it: every entry, oldest first."""
    df = pa.Table.from_pylist([asdict(e) for e in entries], schema=LEDGER_SCHEMA).to_pandas()
    df = df.sort_values("started_at", kind="stable").reset_index(drop=True)
    df["changed_fields"] = [list(v) for v in df["changed_fields"]]
    return df


def _files(path: Path, pattern: str) -> list[str]:
    return sorted(f.name for f in path.glob(pattern))


def test_a_2500_entry_job_leaves_at_most_one_part_per_1000_entries(tmp_path):
    book = Ledger(tmp_path / "l")
    entries = _entries(book, 2500)
    with book.lock():
        for e in entries[:1500]:
            book.write(e)
        # compacted as the push goes: 1,000 entries in a part, the rest in the journal
        assert [pq.read_metadata(tmp_path / "l" / f).num_rows for f in _files(tmp_path / "l", "part-*")] == [1000]
        (journal,) = _files(tmp_path / "l", "journal-*")
        assert len((tmp_path / "l" / journal).read_bytes().splitlines()) == 500
        for e in entries[1500:]:
            book.write(e)
    parts = _files(tmp_path / "l", "part-*")
    assert len(parts) <= 2500 // 1000 and not _files(tmp_path / "l", "journal-*")
    assert not _files(tmp_path / "l", ".*.tmp")
    pd.testing.assert_frame_equal(ot.read_ledger(tmp_path / "l"), _expected(entries))


def test_small_pushes_are_merged_so_at_most_one_part_is_small(tmp_path):
    written: list[LedgerEntry] = []
    for push in range(5):
        with Ledger(tmp_path / "l") as book:
            written += _entries(book, 2, start=2 * push)
            for e in written[-2:]:
                book.write(e)
    assert len(_files(tmp_path / "l", "part-*")) == 1
    pd.testing.assert_frame_equal(ot.read_ledger(tmp_path / "l"), _expected(written))


def test_read_ledger_is_the_same_from_the_journal_the_parts_or_both_after_a_crash(tmp_path):
    ledger, aside = tmp_path / "l", tmp_path / "aside"
    aside.mkdir()
    book = Ledger(ledger)
    first = _entries(book, 7)
    for e in first:
        book.write(e)
    assert _files(ledger, "part-*") == []  # in the journal only
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(first))
    (journal,) = _files(ledger, "journal-*")
    shutil.copy(ledger / journal, aside)
    book.close()
    assert _files(ledger, "journal-*") == [] and len(_files(ledger, "part-*")) == 1  # in a part only
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(first))
    # a crash after the part was renamed into place, before its journal was removed: both hold the entries
    shutil.copy(aside / journal, ledger)
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(first))

    # the same for a merge of parts: the merged part and the parts it replaced, all present
    (old_part,) = _files(ledger, "part-*")
    shutil.copy(ledger / old_part, aside)
    book = Ledger(ledger)
    second = _entries(book, 4, start=8)  # its own started_at: ties across pushes do not arise
    with book.lock():
        for e in second:
            book.write(e)
    assert old_part not in _files(ledger, "part-*") and _files(ledger, "journal-*") == []
    shutil.copy(aside / old_part, ledger)
    shutil.copy(aside / journal, ledger)
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(first + second))
    clean = Ledger(tmp_path / "clean")  # the same entries, each written once
    for e in first + second:
        clean.write(e)
    assert Ledger(ledger).writes_since(timedelta(days=36500)) == clean.writes_since(timedelta(days=36500)) == 6
    # the next push removes what the merged part replaced
    with Ledger(ledger).lock():
        pass
    assert len(_files(ledger, "part-*")) == 1 and _files(ledger, "journal-*") == []
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(first + second))


_WRITER = """
import sys
from datetime import UTC, datetime
from opptoolkit.ledger import Ledger, LedgerEntry
Ledger.PART_ROWS = 50  # many compactions, so the kill may land in one
book = Ledger(sys.argv[1])
with book.lock():
    for i in range(100000):
        book.write(LedgerEntry(job_id=book.job_id, row=str(i), Id=f"O{i}", status="in_flight"))
        print(i, flush=True)  # after write() returned: the entry is durable
"""


def test_a_writer_killed_mid_write_loses_no_entry_it_wrote(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path / "l")], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    durable = [proc.stdout.readline() for _ in range(420)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    durable += proc.stdout.read().splitlines()
    rows = ot.read_ledger(tmp_path / "l")["row"].astype(int).tolist()
    assert len(rows) == len(set(rows))  # nothing twice
    assert set(int(r) for r in durable) <= set(rows)
    assert rows == list(range(len(rows)))  # oldest first, and no gap
    # the next push compacts what the killed one left
    with Ledger(tmp_path / "l").lock():
        pass
    assert _files(tmp_path / "l", "journal-*") == [] and _files(tmp_path / "l", ".part-*.tmp") == []
    assert ot.read_ledger(tmp_path / "l")["row"].astype(int).tolist() == rows


def test_a_torn_last_journal_line_is_skipped_with_a_warning(tmp_path, caplog):
    book = Ledger(tmp_path / "l")
    entries = _entries(book, 3)
    for e in entries:
        book.write(e)
    (journal,) = (tmp_path / "l").glob("journal-*")
    with open(journal, "ab") as fh:
        fh.write(b'{"job_id":"x","row":"9","Id":"O')  # the process died while writing this line
    with caplog.at_level(logging.WARNING, logger="opptoolkit.ledger"):
        pd.testing.assert_frame_equal(ot.read_ledger(tmp_path / "l"), _expected(entries))
    assert "torn" in caplog.text
    with Ledger(tmp_path / "l").lock():  # compacted without the torn line
        pass
    pd.testing.assert_frame_equal(ot.read_ledger(tmp_path / "l"), _expected(entries))


def test_a_damaged_journal_line_or_part_is_a_one_line_error(tmp_path):
    book = Ledger(tmp_path / "l")
    for e in _entries(book, 3):
        book.write(e)
    (journal,) = (tmp_path / "l").glob("journal-*")
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + b"\x00\x00 not json\n" + lines[2])  # not at the end: not a torn write
    with pytest.raises(ot.OpptoolkitError, match=rf"{journal.name}.*line 2") as e:
        ot.read_ledger(tmp_path / "l")
    assert "\n" not in str(e.value)
    journal.unlink()
    (tmp_path / "l" / "part-20260101T000000000000-x-000001.parquet").write_bytes(b"PAR1 torn")
    with pytest.raises(ot.OpptoolkitError, match=r"part-20260101T000000000000-x-000001\.parquet") as e:
        ot.read_ledger(tmp_path / "l")
    assert "\n" not in str(e.value)


def test_a_ledger_of_one_part_per_entry_reads_the_same_and_is_compacted(tmp_path):
    """The layout before the journal: ``part-<time>-<job>-<n>.parquet``, one entry each."""
    ledger = tmp_path / "l"
    ledger.mkdir()
    entries = _entries(Ledger(ledger, job_id="20260105T090000Z-0ld0ld00"), 30)
    for n, e in enumerate(entries, 1):
        table = pa.Table.from_pylist([asdict(e)], schema=LEDGER_SCHEMA)
        pq.write_table(table, ledger / f"part-20260105T0900{n:02d}000000-{e.job_id}-{n:06d}.parquet")
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(entries))
    with Ledger(ledger).lock():
        pass
    assert len(_files(ledger, "part-*")) == 1
    pd.testing.assert_frame_equal(ot.read_ledger(ledger), _expected(entries))


def test_the_budget_and_the_history_see_each_write(tmp_path):
    book = Ledger(tmp_path / "l")
    assert book.writes_since() == 0 and book.latest() == {}
    book.write(LedgerEntry(job_id=book.job_id, row="2", Id="O1", status="in_flight"))
    assert book.writes_since() == 1 and book.latest()["O1"]["status"] == "in_flight"
    book.write(LedgerEntry(job_id=book.job_id, row="2", Id="O1", status="succeeded", writes=2))
    assert book.writes_since() == 2 and book.latest()["O1"]["status"] == "succeeded"


def test_a_ledger_written_with_the_old_column_names_reads_under_the_new_ones(tmp_path):
    """0.x named two columns ``lmd_before``/``lmd_after``: their values survive, in parts and journals."""
    ledger = tmp_path / "l"
    ledger.mkdir()
    entries = _entries(Ledger(ledger, job_id="20260105T090000Z-0ld0ld00"), 6)
    old = {"last_modified_before": "lmd_before", "last_modified_after": "lmd_after"}
    for n, e in enumerate(entries[:4], 1):
        table = pa.Table.from_pylist([asdict(e)], schema=LEDGER_SCHEMA)
        table = table.rename_columns([old.get(c, c) for c in table.column_names])
        pq.write_table(table, ledger / f"part-20260105T0900{n:02d}000000-{e.job_id}-{n:06d}.parquet")
    book = Ledger(ledger, job_id="20260105T090000Z-0ld0ld01")
    for e in entries[4:]:
        book.write(e)
    journal = next(ledger.glob("journal-*.jsonl"))
    journal.write_text(journal.read_text().replace('"last_modified_', '"lmd_'))
    assert "lmd_after" in journal.read_text()
    got = ot.read_ledger(ledger)
    assert got["last_modified_before"].notna().all()
    assert got["last_modified_after"].notna().sum() == 3
    pd.testing.assert_frame_equal(got, _expected(entries))


def test_entries_written_before_the_ledger_named_the_operation_read_as_updates(tmp_path):
    """Parts and journals without ``operation`` were all UpdateOpportunity attempts; ``latest`` keeps operations apart."""
    ledger = tmp_path / "l"
    ledger.mkdir()
    entries = _entries(Ledger(ledger, job_id="20260105T090000Z-0ld0ld00"), 4)
    for n, e in enumerate(entries[:2], 1):
        table = pa.Table.from_pylist([asdict(e)], schema=LEDGER_SCHEMA).drop_columns(["operation"])
        pq.write_table(table, ledger / f"part-20260105T0900{n:02d}000000-{e.job_id}-{n:06d}.parquet")
    book = Ledger(ledger, job_id="20260105T090000Z-0ld0ld01")
    for e in entries[2:]:
        book.write(e)
    journal = next(ledger.glob("journal-*.jsonl"))
    journal.write_text(journal.read_text().replace('"operation":"UpdateOpportunity",', ""))
    assert "operation" not in journal.read_text()
    got = ot.read_ledger(ledger)
    assert got["operation"].eq("UpdateOpportunity").all()
    pd.testing.assert_frame_equal(got, _expected(entries))
    book.write(
        LedgerEntry(job_id=book.job_id, row="9", Id=entries[0].Id, status="failed", operation="AssignOpportunity")
    )
    book = Ledger(ledger)
    assert book.latest()[entries[0].Id]["operation"] == "UpdateOpportunity"
    assert book.latest("AssignOpportunity")[entries[0].Id]["status"] == "failed"


def test_latest_by_key_keeps_each_call_of_an_operation_apart(tmp_path):
    """One opportunity, two AssociateOpportunity calls (two solutions): each change key has its own newest entry."""
    book = Ledger(tmp_path / "l")
    op = "AssociateOpportunity"
    for key, status in (("a", "in_flight"), ("a", "succeeded"), ("b", "in_flight")):
        book.write(LedgerEntry(job_id=book.job_id, row="2", Id="O1", status=status, operation=op, change_key=key))
    book.write(LedgerEntry(job_id=book.job_id, row="2", Id="O1", status="succeeded", change_key="a"))  # an update
    got = Ledger(tmp_path / "l").latest_by_key(op)
    assert {k: v["status"] for k, v in got.items()} == {("O1", "a"): "succeeded", ("O1", "b"): "in_flight"}


def test_a_part_written_before_the_response_column_reads_it_as_null(tmp_path):
    ledger = tmp_path / "l"
    ledger.mkdir()
    entries = _entries(Ledger(ledger, job_id="20260105T090000Z-0ld0ld00"), 2)
    for n, e in enumerate(entries, 1):  # the layout of that time: one entry per part
        table = pa.Table.from_pylist([asdict(e)], schema=LEDGER_SCHEMA).drop_columns(["response"])
        pq.write_table(table, ledger / f"part-20260105T0900{n:02d}000000-{e.job_id}-{n:06d}.parquet")
    book = Ledger(ledger)
    book.write(LedgerEntry(job_id=book.job_id, row="3", Id="O9", status="succeeded", response='{"TaskId": "t"}'))
    got = ot.read_ledger(ledger)
    assert got["response"].isna().tolist() == [True, True, False]
    assert got["response"].iloc[2] == '{"TaskId": "t"}'


def test_a_crashed_call_counts_against_the_budget_even_when_another_call_on_that_id_ended(tmp_path):
    """Two association calls on one opportunity in one job: the first ended, a crash came while the second was sent."""
    book = Ledger(tmp_path / "l")
    entry = dict(job_id=book.job_id, row="2", Id="O1", operation="AssociateOpportunity")
    book.write(LedgerEntry(**entry, status="in_flight", change_key="first"))
    book.write(LedgerEntry(**entry, status="succeeded", change_key="first", writes=1))
    book.write(LedgerEntry(**entry, status="in_flight", change_key="second"))
    assert Ledger(tmp_path / "l").writes_since() == 2  # the one that ended, and the one that may have gone
