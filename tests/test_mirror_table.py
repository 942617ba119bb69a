"""The mirror as a Delta table, on a local disk and on S3 (moto's S3 server on 127.0.0.1): what engines other
than ours read (DuckDB, at the latest and an earlier version), a sync of exactly the records named, the
records that leave, the migration of a mirror kept in ``_history/``, and the vacuum."""

from __future__ import annotations

import glob
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import opptoolkit as ot
from opptoolkit import mirror as m
from opptoolkit.sandbox import Sandbox

FAST = 1000.0


def _sync(sb: Sandbox, d: str | Path, **kw) -> ot.SyncResult:
    return ot.sync_mirror(d, "Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST, **kw)


def _duckdb():
    """DuckDB with its httpfs and delta extensions from their PyPI packages, and the local S3 server's secret."""
    import duckdb
    import duckdb_extension_delta
    import duckdb_extension_httpfs

    con = duckdb.connect()
    for pkg in (duckdb_extension_httpfs, duckdb_extension_delta):
        (ext,) = glob.glob(os.path.join(os.path.dirname(pkg.__file__), "extensions", "*", "*.duckdb_extension"))
        con.sql(f"LOAD '{ext}'")
    endpoint = os.environ["AWS_ENDPOINT_URL_S3"].removeprefix("http://")
    con.sql(
        "CREATE SECRET (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'us-east-1', "
        f"ENDPOINT '{endpoint}', URL_STYLE 'path', USE_SSL false)"
    )
    return con


def test_the_mirror_on_s3_reads_back_and_duckdb_reads_it_and_an_earlier_version(sb, s3):
    uri = f"{s3}/team/mirror"
    first = _sync(sb, uri)
    assert first.total == 300 and first.version == 0
    pd.testing.assert_frame_equal(
        ot.read_mirror(uri), ot.to_frame(sorted(sb.records("Sandbox"), key=lambda r: r["Id"]))
    )
    ident = sb.records("Sandbox")[5]["Id"]
    before = sb.record("Sandbox", ident)["Project"]["Title"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Renamed on S3"))
    second = _sync(sb, uri)
    assert second.updated == 1 and second.version == 1
    assert ot.read_mirror(uri).set_index("Id").loc[ident, "Project.Title"] == "Renamed on S3"
    times = ot.snapshots(uri)
    assert len(times) == 2
    assert ot.read_mirror(uri, as_of=times[0]).set_index("Id").loc[ident, "Project.Title"] == before

    con = _duckdb()
    sql = f"""SELECT "Project.Title", "LifeCycle.Stage" FROM delta_scan('{uri}') WHERE Id = '{ident}'"""
    assert con.sql(sql).fetchall()[0][0] == "Renamed on S3"
    old = f"""SELECT "Project.Title" FROM delta_scan('{uri}', version => 0) WHERE Id = '{ident}'"""
    assert con.sql(old).fetchall() == [(before,)]
    assert con.sql(f"SELECT count(*) FROM delta_scan('{uri}')").fetchone() == (300,)


def test_an_event_named_record_is_synced_with_one_get(sb, tmp_path):
    _sync(sb, tmp_path)
    ident = sb.records("Sandbox")[9]["Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Changed, and an event says so"))
    res = _sync(sb, tmp_path, identifiers=[ident, ident])  # a duplicate event: one read
    assert res.calls == {"GetOpportunity": 1} and res.updated == 1 and res.total == 300
    assert ot.read_mirror(tmp_path).set_index("Id").loc[ident, "Project.Title"] == "Changed, and an event says so"


def _take_away(sb: Sandbox, ident: str) -> None:
    """AWS no longer answers for the record (reassigned away, an invitation rejected): the sandbox forgets it."""
    sb.store.conn.execute("DELETE FROM opportunity WHERE catalog='Sandbox' AND id=?", (ident,))


def test_a_record_that_is_gone_leaves_the_mirror_and_the_history_keeps_it(sb, tmp_path):
    _sync(sb, tmp_path)
    gone, other = sb.records("Sandbox")[3]["Id"], sb.records("Sandbox")[4]["Id"]
    _take_away(sb, gone)
    res = _sync(sb, tmp_path, identifiers=[gone])
    # GetOpportunity said not found, and a listing of that Id (one call) confirms it
    assert res.removed == [gone] and not res.failures and res.total == 299
    assert res.calls == {"GetOpportunity": 1, "ListOpportunities": 1}
    assert gone not in set(ot.read_mirror(tmp_path)["Id"])
    assert gone in set(ot.read_mirror(tmp_path, as_of=ot.snapshots(tmp_path)[0])["Id"])
    assert DeltaTable(tmp_path).history(1)[0]["opptoolkit.removed"] == "1"

    # the periodic listing (summaries only) finds what no event mentioned
    _take_away(sb, other)
    rec = _sync(sb, tmp_path, reconcile=True)
    assert rec.removed == [other] and rec.fetched == 0 and set(rec.calls) == {"ListOpportunities"}
    assert len(ot.read_mirror(tmp_path)) == 298


def test_an_unknown_id_in_an_event_is_not_added_nor_a_failure(sb, tmp_path):
    _sync(sb, tmp_path)
    res = _sync(sb, tmp_path, identifiers=["O0000000000"])
    assert not res.removed and not res.failures and res.total == 300


def _old_mirror(d: Path, states: list[tuple[datetime, list[dict]]], cursor: datetime) -> None:
    """A mirror in the layout before the table: the file and one history file per sync (what it fetched)."""
    schema = ot.get_schema()
    meta = {b"opptoolkit.layout": b"frame", b"opptoolkit.catalog": b"Sandbox"}
    (d / "_history").mkdir(parents=True)
    for when, fetched in states:
        table = m._table(ot.to_frame(sorted(fetched, key=lambda r: r["Id"])), schema)
        pq.write_table(table.replace_schema_metadata(meta), d / "_history" / f"{when.strftime(m._STAMP)}.parquet")
    latest = {r["Id"]: r for _, fetched in states for r in fetched}
    table = m._table(ot.to_frame(sorted(latest.values(), key=lambda r: r["Id"])), schema)
    pq.write_table(
        table.replace_schema_metadata({**meta, b"opptoolkit.cursor": cursor.isoformat().encode()}), d / m.MIRROR_FILE
    )


def test_a_mirror_with_history_migrates_with_every_kept_sync(sb, tmp_path):
    records = sorted(sb.records("Sandbox"), key=lambda r: r["Id"])
    renamed = {**records[0], "Project": {**records[0]["Project"], "Title": "Renamed then"}}
    t1, t2 = datetime(2026, 11, 1, 9, tzinfo=UTC), datetime(2026, 11, 2, 9, tzinfo=UTC)
    _old_mirror(tmp_path, [(t1, records), (t2, [renamed])], max(r["LastModifiedDate"] for r in records))
    assert ot.snapshots(tmp_path) == [t1, t2]
    res = _sync(sb, tmp_path)
    assert not res.full and not (tmp_path / m.MIRROR_FILE).exists() and not (tmp_path / "_history").exists()
    assert ot.snapshots(tmp_path)[:2] == [t1, t2]
    pd.testing.assert_frame_equal(ot.read_mirror(tmp_path, as_of=t1), ot.to_frame(records))
    assert ot.read_mirror(tmp_path, as_of=t2)["Project.Title"].iloc[0] == "Renamed then"


def test_vacuum_drops_old_versions_after_the_retention_and_keeps_the_latest(sb, tmp_path):
    _sync(sb, tmp_path)
    ident = sb.records("Sandbox")[1]["Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Newer"))
    _sync(sb, tmp_path)
    assert ot.vacuum_mirror(tmp_path) == []  # within the 30 days: nothing goes
    first = ot.snapshots(tmp_path)[0]
    deleted = ot.vacuum_mirror(tmp_path, retention=timedelta(0))
    assert len(deleted) == 1
    assert ot.read_mirror(tmp_path).set_index("Id").loc[ident, "Project.Title"] == "Newer"
    with pytest.raises(ot.OpptoolkitError, match="was vacuumed"):
        ot.read_mirror(tmp_path, as_of=first)


def test_a_sync_that_raced_another_commits_nothing(sb, tmp_path):
    """Two syncs of one mirror at once (a cron run overlapping the last): the later commit is refused, whole."""
    _sync(sb, tmp_path)
    stale = DeltaTable(tmp_path)  # what a slow sync read before the other committed
    ident = sb.records("Sandbox")[6]["Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Synced by the faster run"))
    assert _sync(sb, tmp_path).version == 1
    table = m._table(ot.to_frame(sb.records("Sandbox")[:5]), ot.get_schema())
    with pytest.raises(ot.OpptoolkitError, match=r"another sync of .* committed while this one ran"):
        m._commit(str(tmp_path), table, m._meta("Sandbox", None, datetime.now(UTC)), None, base=stale)
    assert DeltaTable(tmp_path).version() == 1 and len(ot.read_mirror(tmp_path)) == 300


def test_a_workbook_and_a_pull_on_s3_are_written_and_read_back(sb, s3, capsys, tmp_path, monkeypatch):
    from opptoolkit.cli import main
    from opptoolkit.io import read_frame, write_frame
    from opptoolkit.storage import download

    monkeypatch.chdir(tmp_path)  # where a Path would fold s3://bucket/... into a local s3:/bucket/...
    out = f"{s3}/team/pipeline.xlsx"
    where = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--reads-per-second", str(FAST)]
    assert main(["pull", *where, "--id", "O7000000001", "--id", "O7000000002", "--out", out]) == 0
    book = read_frame(out)
    assert sorted(book["Id"]) == ["O7000000001", "O7000000002"]
    df = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST)
    write_frame(df, f"{s3}/team/pipeline.parquet")
    pd.testing.assert_frame_equal(read_frame(f"{s3}/team/pipeline.parquet"), pd.read_parquet(_local_copy(s3)))
    # every other file the command line writes goes to S3 too, whole, and says so under its URI
    assert main(["referrals", *where, "--out", f"{s3}/team/triage.xlsx"]) == 0
    assert main(["leads", *where, "--out", f"{s3}/team/leads.xlsx"]) == 0
    assert main(["report", out, "--html", f"{s3}/team/report.html", "--xlsx", f"{s3}/team/report.xlsx"]) == 0
    said = capsys.readouterr().out
    assert (
        f"{s3}/team/triage.xlsx" in said
        and f"{s3}/team/report.html" in said
        and "s3:/" not in said.replace("s3://", "")
    )
    # a workbook on S3 is pushed from a local copy: said under its URI, before any call
    assert main(["push", out, *where, "--dry-run"]) == 2
    assert f"cannot read {out}: " in capsys.readouterr().err
    assert not list(tmp_path.glob("s3:*")), "an s3:// URI was written as a local folder"
    (tmp_path / "back").mkdir()
    for name in ("triage.xlsx", "leads.xlsx", "report.html", "report.xlsx"):
        assert download(f"{s3}/team/{name}", tmp_path / "back").stat().st_size > 0


def _local_copy(s3: str) -> Path:
    import tempfile

    from opptoolkit.storage import download

    return download(f"{s3}/team/pipeline.parquet", Path(tempfile.mkdtemp()))
