"""The mirror's table: the round-trip law through it, its columnar layout, what a sync rewrites,
and the migration of the old layouts. Syncs run through a real boto3 client against the sandbox."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.config import Config
from deltalake import DeltaTable

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.wire import dumps_record

FAST = 1000.0  # reads per second for tests: the sandbox's quota is raised to match


def _sync(sb: Sandbox, d: Path, catalog: str = "Sandbox", **kw) -> ot.SyncResult:
    return ot.sync_mirror(d, catalog, endpoint_url=sb.endpoint_url, progress=False, reads_per_second=FAST, **kw)


def _data_file(d: Path) -> str:
    """The one Parquet file of the mirror's latest version."""
    (file,) = DeltaTable(d).file_uris()
    return file


def _expected(records: list[dict]) -> pd.DataFrame:
    """What read_mirror gives for these records: to_frame of them, sorted by Id."""
    return ot.to_frame(sorted(records, key=lambda r: r["Id"]))


def _assert_same(mirror: pd.DataFrame, records: list[dict]) -> None:
    expected = _expected(records)
    pd.testing.assert_frame_equal(mirror, expected)  # dtypes, columns and values
    assert ot.to_payloads(mirror) == ot.to_payloads(expected)


def test_round_trip_law_through_the_mirror(records, tmp_path):
    """records -> service -> mirror -> frame -> payloads, exact, over the 1,000 generated records."""
    with Sandbox(config=SandboxConfig.fast(), seed=False) as sb:
        sb.store.put_many(records)
        for catalog in ("AWS", "Sandbox"):
            subset = [r for r in records if r["Catalog"] == catalog]
            assert _sync(sb, tmp_path / catalog, catalog).total == len(subset) > 0
            mirror = ot.read_mirror(tmp_path / catalog)
            _assert_same(mirror, subset)
            in_order = sorted(subset, key=lambda r: r["Id"])
            assert ot.to_payloads(mirror) == [ot.payload_from_record(r) for r in in_order]


def test_the_seed_through_the_mirror(sb, tmp_path):
    _sync(sb, tmp_path)
    _assert_same(ot.read_mirror(tmp_path), sb.records("Sandbox"))


def test_cells_that_pandas_likes_to_convert_survive(records, tmp_path):
    """'NA' and 'None' stay text, newlines and unicode stay, an empty list is no value like an
    absent one, and a timestamp keeps its microseconds."""
    base = records[0]
    edge = []
    for i, (needs, text) in enumerate(
        [(["NA"], "NA"), ([], "None"), (None, "line\r\none\n中文 — é"), (["N/A", ""], "")]
    ):
        r = {k: v for k, v in base.items() if k != "PrimaryNeedsFromAws"}
        r["Id"] = f"O{i:010d}"
        r["LastModifiedDate"] = datetime(2026, 1, 2, 3, 4, 5, 123456 + i, tzinfo=UTC)
        r["Project"] = dict(base["Project"], Title=text)
        if needs is not None:
            r["PrimaryNeedsFromAws"] = needs
        edge.append(r)
    with Sandbox(config=SandboxConfig.fast(), seed=False) as sb:
        sb.store.put_many(edge)
        _sync(sb, tmp_path, base["Catalog"])
    mirror = ot.read_mirror(tmp_path)
    _assert_same(mirror, edge)
    assert mirror["Project.Title"].tolist()[:3] == ["NA", "None", "line\r\none\n中文 — é"]
    assert mirror["PrimaryNeedsFromAws"].tolist() == [["NA"], None, None, ["N/A", ""]]
    assert mirror["LastModifiedDate"].iloc[3] == pd.Timestamp("2026-01-02 03:04:05.123459", tz="UTC")


def test_the_file_is_plain_parquet_with_the_models_types(sb, tmp_path):
    _sync(sb, tmp_path)
    file = _data_file(tmp_path)
    arrow_schema = pq.read_schema(file)
    assert b"pandas" not in (arrow_schema.metadata or {})  # nothing pandas-specific is needed to read it
    schema = ot.get_schema()
    for f in arrow_schema:
        assert not isinstance(f.type, pa.ExtensionType), f.name
        field = schema.field_for(f.name)
        scalar = pa.timestamp("us", tz="UTC") if field.type == "timestamp" else pa.large_string()
        assert f.type == (pa.list_(scalar) if field.is_list else scalar), f.name
    # a column no seed record fills keeps the model's type, not Arrow's null
    table = pq.read_table(file)
    empty = [f.name for f in arrow_schema if table.column(f.name).null_count == table.num_rows]
    assert empty and all(not pa.types.is_null(arrow_schema.field(c).type) for c in empty)
    parquet = pq.ParquetFile(file).schema
    stamp = parquet.column(arrow_schema.get_field_index("LastModifiedDate")).logical_type
    assert stamp.type == "TIMESTAMP" and '"isAdjustedToUTC":true' in stamp.to_json() and "micros" in stamp.to_json()


def test_incremental_sync_replaces_rows_and_grows_and_shrinks_columns(sb, tmp_path):
    _sync(sb, tmp_path)
    assert "Customer.Contacts[3].Email" not in ot.read_mirror(tmp_path).columns
    ident = sb.records("Sandbox")[7]["Id"]

    def four_contacts(r: dict) -> None:
        first = r["Customer"].get("Contacts", [{}])[0]
        r["Customer"]["Contacts"] = [dict(first, Email=f"c{i}@example.com") for i in range(4)]

    sb.edit("Sandbox", ident, four_contacts)
    result = _sync(sb, tmp_path)
    assert result.calls == {"ListOpportunities": 1, "GetOpportunity": 1} and result.updated == 1
    mirror = ot.read_mirror(tmp_path)
    assert mirror.set_index("Id").loc[ident, "Customer.Contacts[3].Email"] == "c3@example.com"
    _assert_same(mirror, sb.records("Sandbox"))
    sb.edit("Sandbox", ident, lambda r: r["Customer"].update(Contacts=r["Customer"]["Contacts"][:1]))
    _sync(sb, tmp_path)
    mirror = ot.read_mirror(tmp_path)
    assert "Customer.Contacts[3].Email" not in mirror.columns
    _assert_same(mirror, sb.records("Sandbox"))


def _files(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}


def test_a_sync_with_nothing_new_writes_nothing(sb, tmp_path):
    first = _sync(sb, tmp_path)
    before = _files(tmp_path)
    again = _sync(sb, tmp_path)
    assert again.calls == {"ListOpportunities": 1} and again.fetched == 0 and again.total == 300
    assert again.version == first.version == 0
    assert _files(tmp_path) == before  # not a file added, removed or touched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_delta_log", Path(_data_file(tmp_path)).name]


def test_failed_gets_keep_the_old_copies_and_hold_the_cursor_back(tmp_path):
    config = SandboxConfig.fast(fault_operations=frozenset({"GetOpportunity"}))
    with Sandbox(config=config) as sb:
        client = sb.client(config=Config(retries={"mode": "standard", "max_attempts": 1}))
        first = ot.sync_mirror(tmp_path, "Sandbox", client=client, progress=False, reads_per_second=FAST)
        before = ot.read_mirror(tmp_path)
        changed = [r["Id"] for r in sb.records("Sandbox")[::60]]
        for ident in changed:
            sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Changed"))
        sb.service.config.fault_rate = 1.0
        failing = ot.sync_mirror(tmp_path, "Sandbox", client=client, progress=False, reads_per_second=FAST)
        assert {f["Id"] for f in failing.failures} == set(changed) and failing.total == 300
        pd.testing.assert_frame_equal(ot.read_mirror(tmp_path), before)  # the old copies
        assert failing.cursor is not None and first.cursor is not None
        stamps = [sb.record("Sandbox", i)["LastModifiedDate"] for i in changed]
        assert failing.cursor < min(stamps)  # held back: the next sync lists them again
        sb.service.config.fault_rate = 0.0
        fixed = ot.sync_mirror(tmp_path, "Sandbox", client=client, progress=False, reads_per_second=FAST)
        assert fixed.updated == len(changed) and not fixed.failures
        _assert_same(ot.read_mirror(tmp_path), sb.records("Sandbox"))


def _write_old_layout(file: Path, records: list[dict], catalog: str) -> datetime:
    """A mirror as opptoolkit wrote it before the columnar layout; returns its cursor."""
    records = sorted(records, key=lambda r: r["Id"])
    cursor = max(r["LastModifiedDate"] for r in records)
    table = pa.table(
        {
            "Catalog": pa.array([r["Catalog"] for r in records], pa.string()),
            "Id": pa.array([r["Id"] for r in records], pa.string()),
            "LastModifiedDate": pa.array([r["LastModifiedDate"] for r in records], pa.timestamp("us", tz="UTC")),
            "record": pa.array([dumps_record(r) for r in records], pa.string()),
        }
    ).replace_schema_metadata(
        {b"opptoolkit.catalog": catalog.encode(), b"opptoolkit.cursor": cursor.isoformat().encode()}
    )
    file.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, file)
    return cursor


def test_an_old_layout_mirror_is_read_then_migrated_by_the_next_sync(sb, tmp_path, caplog):
    file = tmp_path / "opportunities.parquet"
    _write_old_layout(file, sb.records("Sandbox"), "Sandbox")
    with caplog.at_level(logging.INFO, logger="opptoolkit.mirror"):
        old = ot.read_mirror(tmp_path)
    assert "layout before the Delta table" in caplog.text and "next sync_mirror migrates it" in caplog.text
    _assert_same(old, sb.records("Sandbox"))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="opptoolkit.mirror"):
        result = _sync(sb, tmp_path)
    assert [r.levelno for r in caplog.records if "migrated to a Delta table" in r.getMessage()] == [logging.INFO]
    assert not result.full and result.calls == {"ListOpportunities": 1}  # its cursor is kept
    assert not file.exists() and "record" not in pq.read_schema(_data_file(tmp_path)).names
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="opptoolkit.mirror"):
        _assert_same(ot.read_mirror(tmp_path), sb.records("Sandbox"))
    assert "layout before" not in caplog.text


def test_an_old_layout_mirror_with_changes_is_migrated_with_them(sb, tmp_path):
    file = tmp_path / "opportunities.parquet"
    _write_old_layout(file, sb.records("Sandbox"), "Sandbox")
    ident = sb.records("Sandbox")[3]["Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Changed after the old sync"))
    result = _sync(sb, tmp_path)
    assert result.calls == {"ListOpportunities": 1, "GetOpportunity": 1} and result.updated == 1
    mirror = ot.read_mirror(tmp_path)
    assert mirror.set_index("Id").loc[ident, "Project.Title"] == "Changed after the old sync"
    _assert_same(mirror, sb.records("Sandbox"))


def test_a_parquet_file_that_is_not_a_mirror_is_refused(sb, tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "opportunities.parquet")
    with pytest.raises(ot.OpptoolkitError, match="not an opptoolkit mirror"):
        ot.read_mirror(tmp_path)
    with pytest.raises(ot.OpptoolkitError, match="not an opptoolkit mirror"):
        _sync(sb, tmp_path)


def test_read_mirror_of_nothing_and_drop_empty(sb, tmp_path):
    pd.testing.assert_frame_equal(ot.read_mirror(tmp_path / "none"), ot.to_frame([]))
    _sync(sb, tmp_path)
    records = sorted(sb.records("Sandbox"), key=lambda r: r["Id"])
    shown = ot.read_mirror(tmp_path, drop_empty=True)
    pd.testing.assert_frame_equal(shown, ot.to_frame(records, drop_empty=True))
    assert len(shown.columns) < len(ot.read_mirror(tmp_path).columns)


def test_the_cursor_only_moves_forward_when_nothing_fails(sb, tmp_path):
    first = _sync(sb, tmp_path)
    assert first.cursor == max(r["LastModifiedDate"] for r in sb.records("Sandbox"))
    meta = DeltaTable(tmp_path).history(1)[0]  # the sync's commit
    assert datetime.fromisoformat(meta["opptoolkit.cursor"]) == first.cursor
    ident = sb.records("Sandbox")[0]["Id"]
    new = sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Later"))
    second = _sync(sb, tmp_path, overlap=timedelta(0))
    assert second.cursor == new["LastModifiedDate"] > first.cursor


def test_the_history_gives_the_mirror_as_it_was_after_each_sync(sb, tmp_path):
    """Each sync that changes something keeps what it fetched; read_mirror(as_of=) rebuilds the
    mirror as it stood then, record by record, and the current file is still the newest state."""
    _sync(sb, tmp_path)
    first = ot.read_mirror(tmp_path)
    ident = first["Id"].iloc[0]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Renamed after the first sync"))
    _sync(sb, tmp_path)
    assert _sync(sb, tmp_path).fetched == 0  # nothing new: no third snapshot
    times = ot.snapshots(tmp_path)
    assert len(times) == 2 and times[0] < times[1]
    then = ot.read_mirror(tmp_path, as_of=times[0])
    pd.testing.assert_frame_equal(then, first, check_like=False)
    assert then.attrs["opptoolkit.snapshot"] == times[0].isoformat() == first.attrs["opptoolkit.snapshot"]
    assert ot.snapshot_time(then) == times[0]
    now = ot.read_mirror(tmp_path)
    assert now.attrs["opptoolkit.snapshot"] == times[1].isoformat() and ot.snapshot_time(now) == times[1]
    pd.testing.assert_frame_equal(ot.read_mirror(tmp_path, as_of=times[1]), now)
    assert now.loc[now["Id"] == ident, "Project.Title"].item() == "Renamed after the first sync"
    assert ot.read_mirror(tmp_path, as_of=times[1].date().isoformat()).equals(now)  # a date: the end of that day
    with pytest.raises(ot.OpptoolkitError, match="no sync at or before 2020-01-01"):
        ot.read_mirror(tmp_path, as_of="2020-01-01")


def test_a_mirror_from_before_the_history_starts_it_with_what_it_holds(sb, tmp_path):
    _write_old_layout(tmp_path / "opportunities.parquet", sb.records("Sandbox"), "Sandbox")
    before = ot.read_mirror(tmp_path)
    assert "opptoolkit.snapshot" not in before.attrs
    ident = before["Id"].iloc[1]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Changed later"))
    _sync(sb, tmp_path)
    times = ot.snapshots(tmp_path)
    assert len(times) == 2
    pd.testing.assert_frame_equal(ot.read_mirror(tmp_path, as_of=times[0]), before)


# -- AWS's view in the mirror (GetAwsOpportunitySummary) --------------------------------------------

_AWS_CALL = "GetAwsOpportunitySummary"
_NEXT = "Aws.Insights.NextBestActions"


def _approved(sb: Sandbox) -> list[str]:
    return sorted(r["Id"] for r in sb.records("Sandbox") if r["LifeCycle"]["ReviewStatus"] == "Approved")


def _aws_now(sb: Sandbox, ident: str) -> str:
    return sb.client().get_aws_opportunity_summary(Catalog="Sandbox", RelatedOpportunityIdentifier=ident)["Insights"][
        "NextBestActions"
    ]


def test_sync_with_aws_summary_reads_aws_view_of_what_it_fetched(sb, tmp_path):
    first = _sync(sb, tmp_path, aws_summary=True)
    assert first.calls[_AWS_CALL] == first.total == 300  # one read per opportunity, as the first pull
    mirror = ot.read_mirror(tmp_path).set_index("Id")
    approved = _approved(sb)
    assert mirror.loc[approved, "Aws.LifeCycle.Stage"].notna().all()
    assert mirror.loc[approved[0], _NEXT] == _aws_now(sb, approved[0])
    not_seen = mirror.index.difference(approved)
    assert mirror.loc[not_seen, "Aws.LifeCycle.Stage"].isna().all()  # AWS has no view of a draft
    assert ot.read_mirror(tmp_path).columns[-1].startswith("Aws.")  # after the record's own columns

    # nothing new: no summary call, nothing rewritten
    before = _files(tmp_path)
    again = _sync(sb, tmp_path, aws_summary=True)
    assert again.calls == {"ListOpportunities": 1}
    assert _files(tmp_path) == before

    # a changed record's AWS view is read again; another whose AWS view moved alone keeps the old one
    changed, alone = approved[0], approved[1]
    sb.edit("Sandbox", changed, lambda r: r["Project"].update(Title="Data lake, phase 2"))
    for ident in (changed, alone):
        sb.service.edit_aws_view("Sandbox", ident, lambda v: v["Insights"].update(NextBestActions="Call AWS back"))
    old_alone = mirror.loc[alone, _NEXT]
    third = _sync(sb, tmp_path, aws_summary=True)
    assert third.calls == {"ListOpportunities": 1, "GetOpportunity": 1, _AWS_CALL: 1}
    now = ot.read_mirror(tmp_path).set_index("Id")
    assert (now.loc[changed, "Project.Title"], now.loc[changed, _NEXT]) == ("Data lake, phase 2", "Call AWS back")
    assert now.loc[alone, _NEXT] == old_alone != "Call AWS back"
    others = now.index.difference([changed])
    pd.testing.assert_frame_equal(now.loc[others], mirror.loc[others])
    # the history has what this sync fetched, AWS's view with it
    assert ot.read_mirror(tmp_path, as_of=ot.snapshots(tmp_path)[-1]).set_index("Id").loc[changed, _NEXT] == (
        "Call AWS back"
    )

    # the full refresh reads each one: the only way to see what AWS changed alone
    fourth = _sync(sb, tmp_path, aws_summary=True, refresh_aws=True)
    assert fourth.calls == {"ListOpportunities": 1, _AWS_CALL: 300}
    assert ot.read_mirror(tmp_path).set_index("Id").loc[alone, _NEXT] == "Call AWS back"
    assert ot.read_mirror(tmp_path, as_of=ot.snapshots(tmp_path)[-1]).set_index("Id").loc[alone, _NEXT] == (
        "Call AWS back"
    )


def test_a_sync_without_aws_summary_keeps_the_aws_view_it_has(sb, tmp_path):
    _sync(sb, tmp_path, aws_summary=True)
    ident = _approved(sb)[2]
    before = ot.read_mirror(tmp_path).set_index("Id").loc[ident]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Renamed by a colleague"))
    plain = _sync(sb, tmp_path)
    assert _AWS_CALL not in plain.calls
    after = ot.read_mirror(tmp_path).set_index("Id").loc[ident]
    aws = [c for c in after.index if c.startswith("Aws.")]
    assert after["Project.Title"] == "Renamed by a colleague"
    assert after[aws].equals(before[aws])  # the last AWS view read, not blanked


def test_aws_summary_on_a_mirror_that_has_none_reads_every_one(sb, tmp_path):
    _sync(sb, tmp_path)
    assert not [c for c in ot.read_mirror(tmp_path).columns if c.startswith("Aws.")]
    then = _sync(sb, tmp_path, aws_summary=True)
    assert then.calls == {"ListOpportunities": 1, _AWS_CALL: 300}
    mirror = ot.read_mirror(tmp_path).set_index("Id")
    assert mirror.loc[_approved(sb), "Aws.LifeCycle.Stage"].notna().all()


def test_aws_summary_failures_keep_the_old_view(sb, tmp_path):
    _sync(sb, tmp_path, aws_summary=True)
    ident = _approved(sb)[3]
    old = ot.read_mirror(tmp_path).set_index("Id").loc[ident, _NEXT]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Edited while AWS is down"))
    sb.service.edit_aws_view("Sandbox", ident, lambda v: v["Insights"].update(NextBestActions="unseen"))
    sb.service.config.fault_rate = 1.0
    sb.service.config.fault_operations = frozenset({_AWS_CALL})
    client = sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    res = ot.sync_mirror(tmp_path, "Sandbox", client=client, progress=False, reads_per_second=FAST, aws_summary=True)
    assert [f["Id"] for f in res.aws_failures] == [ident] and not res.failures
    row = ot.read_mirror(tmp_path).set_index("Id").loc[ident]
    assert (row["Project.Title"], row[_NEXT]) == ("Edited while AWS is down", old)


def test_cli_sync_with_aws_summary_then_refresh(sb, tmp_path, capsys):
    from opptoolkit.cli import main

    args = ["sync", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--mirror", str(tmp_path)]
    args += ["--reads-per-second", str(FAST)]
    assert main([*args, "--aws-summary"]) == 0
    assert "Aws.LifeCycle.Stage" in ot.read_mirror(tmp_path).columns
    ident = _approved(sb)[4]
    sb.service.edit_aws_view("Sandbox", ident, lambda v: v["Insights"].update(NextBestActions="Call AWS back"))
    assert main([*args, "--aws-summary"]) == 0  # nothing new listed: AWS's change unseen
    assert ot.read_mirror(tmp_path).set_index("Id").loc[ident, _NEXT] != "Call AWS back"
    assert main([*args, "--refresh-aws"]) == 0
    assert ot.read_mirror(tmp_path).set_index("Id").loc[ident, _NEXT] == "Call AWS back"
    assert "301 calls" in capsys.readouterr().out.splitlines()[-1]  # the listing and one read each
