"""The batch updater against the sandbox, through a real boto3 client over HTTP."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.wire import dumps_record

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


@pytest.fixture
def export(sb, pulled):
    """The pipeline as an analyst exports it: a full pull of ``sb``, as a frame (read once a session)."""
    return pulled.copy()


def _editable(df: pd.DataFrame, n: int) -> list[int]:
    open_ = ~df["LifeCycle.Stage"].isin(["Launched", "Closed Lost"])
    # Pending Submission: every field is editable (once Approved, AWS locks the title, among others)
    ok = (df["LifeCycle.ReviewStatus"] == "Pending Submission") & open_
    return list(df.index[ok][:n])


def _wire(sb: Sandbox) -> dict[str, dict]:
    return {r["Id"]: json.loads(dumps_record(r)) for r in sb.records("Sandbox")}


def _strip(wire: dict, *paths: str) -> dict:
    out = json.loads(json.dumps(wire))
    out.pop("LastModifiedDate")
    for p in paths:
        *parents, key = p.split(".")
        d = out
        for part in parents:
            d = d.get(part, {})
        d.pop(key, None)
    return out


def test_only_the_edited_fields_change_and_everything_else_is_byte_identical(sb, export, tmp_path):
    before = _wire(sb)
    edited = export.copy()
    rows = _editable(edited, 3)
    edited.loc[rows[0], "Project.Title"] = "New title"
    edited.loc[rows[1], "LifeCycle.NextSteps"] = "Send the SOW"
    edited.loc[rows[2], "Customer.Account.Address.City"] = "Windhoek"
    result = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "ledger", base=export, endpoint_url=sb.endpoint_url, **FAST
    )
    assert result.set_index("Id").loc[edited.loc[rows, "Id"], "status"].tolist() == ["succeeded"] * 3
    assert (result["status"] == "unchanged").sum() == len(export) - 3
    assert result.attrs["calls"] == {"GetOpportunity": 3, "UpdateOpportunity": 3}
    after = _wire(sb)
    changed = {
        edited.loc[r, "Id"]: p
        for r, p in zip(rows, ["Project.Title", "LifeCycle.NextSteps", "Customer.Account.Address.City"], strict=True)
    }
    for ident, wire in before.items():
        if ident not in changed:
            assert after[ident] == wire  # byte-identical, token included
            continue
        path = changed[ident]
        extra = ["LifeCycle.NextStepsHistory"] if path == "LifeCycle.NextSteps" else []
        assert _strip(after[ident], path, *extra) == _strip(wire, path, *extra)
    assert after[edited.loc[rows[0], "Id"]]["Project"]["Title"] == "New title"
    assert sb.service.applied == {i: 1 for i in changed}


def test_a_subset_of_columns_from_a_sheet_changes_only_those(sb, export, tmp_path):
    rows = _editable(export, 2)
    sheet = export.loc[rows, ["Id", "LastModifiedDate", "Project.Title"]].copy()
    sheet["Project.Title"] = ["A", "B"]
    ot.write_sheet(sheet, tmp_path / "edits.xlsx", headers="label")
    before = _wire(sb)
    result = ot.push_updates(
        tmp_path / "edits.xlsx", "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST
    )
    assert result["status"].tolist() == ["succeeded", "succeeded"]
    after = _wire(sb)
    for ident in sheet["Id"]:
        assert _strip(after[ident], "Project.Title") == _strip(before[ident], "Project.Title")


def test_an_analysts_notes_column_is_kept_and_never_sent(sb, export, tmp_path):
    rows = _editable(export, 2)
    sheet = export.loc[rows, ["Id", "LastModifiedDate", "Project.Title"]].copy()
    sheet["Project.Title"] = ["A", "B"]
    sheet["Notes"] = ["=ask Ana", "Project.Title is wrong"]
    ot.write_sheet(sheet, tmp_path / "edits.xlsx", headers="label")
    edited = ot.read_sheet(tmp_path / "edits.xlsx", extra="keep")
    with pytest.raises(ot.OpptoolkitError, match=r"Notes.*extra=\"keep\""):  # a typo must not pass silently
        ot.plan_updates(edited, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    plan = ot.plan_updates(edited, "Sandbox", extra="keep", endpoint_url=sb.endpoint_url, progress=False)
    assert plan["changed_fields"].tolist() == [["Project.Title"], ["Project.Title"]]
    before = _wire(sb)
    result = ot.push_updates(  # from the sheet itself, read with its extra column
        tmp_path / "edits.xlsx", "Sandbox", extra="keep", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST
    )
    assert result["status"].tolist() == ["succeeded", "succeeded"]
    after = _wire(sb)
    for ident, title in zip(sheet["Id"], ["A", "B"], strict=True):
        assert after[ident]["Project"]["Title"] == title
        assert _strip(after[ident], "Project.Title") == _strip(before[ident], "Project.Title")


@pytest.mark.parametrize("policy", ["keep", "clear"])
def test_blank_cell_policy(sb, export, tmp_path, policy):
    (row,) = _editable(export[export["Project.AdditionalComments"].notna()], 1)
    ident = export.loc[row, "Id"]
    edited = export.loc[[row]].copy()
    edited["Project.AdditionalComments"] = ""
    plan = ot.plan_updates(edited, "Sandbox", base=export, blank=policy)
    ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=export, blank=policy, endpoint_url=sb.endpoint_url, **FAST
    )
    stored = sb.record("Sandbox", ident)["Project"]
    if policy == "keep":
        assert plan["action"].tolist() == ["unchanged"]
        assert stored["AdditionalComments"] == export.loc[row, "Project.AdditionalComments"]
    else:
        assert plan["action"].tolist() == ["update"]
        assert plan["changes"][0] == [
            f"Project.AdditionalComments: {export.loc[row, 'Project.AdditionalComments']!r} → (blank)"
        ]
        assert "AdditionalComments" not in stored


def test_concurrent_edit_to_another_field_is_merged(sb, export, tmp_path):
    (row,) = _editable(export, 1)
    ident = export.loc[row, "Id"]
    sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(NextSteps="Colleague's next step"))
    edited = export.loc[[row]].copy()
    edited["Project.Title"] = "My title"
    result = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST
    )
    assert result["status"].tolist() == ["succeeded"]
    stored = sb.record("Sandbox", ident)
    assert stored["Project"]["Title"] == "My title"
    assert stored["LifeCycle"]["NextSteps"] == "Colleague's next step"  # not overwritten


def test_concurrent_edit_to_the_same_field_is_a_conflict_and_nothing_is_sent(sb, export, tmp_path):
    (row,) = _editable(export, 1)
    ident = export.loc[row, "Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Colleague's title"))
    edited = export.loc[[row]].copy()
    edited["Project.Title"] = "My title"
    result = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST
    )
    assert result["status"].tolist() == ["conflict"]
    assert "Project.Title" in result["error_message"][0]
    # found by the three-way merge, not said by the service: the toolkit's reason, no API code
    assert result["reason"].tolist() == [ot.Reason.CONFLICT] and result["error_code"].isna().all()
    assert "UpdateOpportunity" not in result.attrs["calls"]
    assert sb.record("Sandbox", ident)["Project"]["Title"] == "Colleague's title"


def test_without_a_base_a_stale_export_is_never_overwritten(sb, export, tmp_path):
    (row,) = _editable(export, 1)
    ident = export.loc[row, "Id"]
    sb.edit("Sandbox", ident, lambda r: r["Project"].update(Title="Colleague's title"))
    edited = export.loc[[row]].copy()
    edited["LifeCycle.NextSteps"] = "Mine"
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["conflict"]
    assert sb.record("Sandbox", ident)["Project"]["Title"] == "Colleague's title"


def test_invalid_rows_are_reported_and_never_sent_while_valid_rows_go_through(sb, export, tmp_path):
    rows = _editable(export[export["LifeCycle.Stage"] != "Technical Validation"], 4)
    locked = export.index[export["LifeCycle.ReviewStatus"] == "Submitted"][0]
    edited = export.loc[[*rows, locked]].copy()
    edited.loc[rows[0], "LifeCycle.Stage"] = "Prospekt"
    edited.loc[rows[1], "Customer.Contacts[0].Email"] = "not an email"
    edited.loc[rows[2], "LifeCycle.Stage"] = "technical  validation"  # typed by hand: normalised
    edited.loc[rows[3], "Project.Title"] = "Fine"
    edited.loc[locked, "Project.Title"] = "Locked"
    result = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST
    )
    status = dict(zip(result["Id"], result["status"], strict=True))
    ids = export["Id"]
    assert status[ids[rows[0]]] == "invalid" and status[ids[rows[1]]] == "invalid"
    assert status[ids[rows[2]]] == "succeeded" and status[ids[rows[3]]] == "succeeded"
    assert status[ids[locked]] == "not_editable"
    assert set(sb.service.applied) == {ids[rows[2]], ids[rows[3]]}
    assert sb.record("Sandbox", ids[rows[2]])["LifeCycle"]["Stage"] == "Technical Validation"
    codes = dict(zip(result["Id"], result["error_code"], strict=True))
    assert codes[ids[rows[0]]] == "INVALID_ENUM_VALUE" and codes[ids[rows[1]]] == "INVALID_STRING_FORMAT"
    assert codes[ids[locked]] == "ACTION_NOT_PERMITTED"


def test_plan_lists_changes_and_sends_nothing(sb, export):
    rows = _editable(export, 2)
    edited = export.loc[rows].copy()
    edited["PrimaryNeedsFromAws"] = [["Cosell—Deal Support"], ["Co-Sell - Nonsense"]]
    plan = ot.plan_updates(edited, "Sandbox", base=export)
    assert plan["action"].tolist() == ["update", "invalid"]
    assert plan["changes"][0][0].endswith("→ ['Co-Sell - Deal Support']")  # the docs' old spelling, normalised
    assert "INVALID_ENUM_VALUE" in plan["errors"][1][0]
    assert sb.service.calls.get("UpdateOpportunity") is None
    online = ot.plan_updates(edited, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    assert online["action"].tolist() == ["update", "invalid"]


def test_throttling_and_injected_500s_are_absorbed(export, tmp_path):
    config = SandboxConfig.fast(write_rate=5, write_burst=1, fault_rate=0.2, seed=2)
    with Sandbox(config=config) as sb:
        rows = _editable(export, 10)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = [f"T{i}" for i in range(10)]
        # the client paces at 40 writes/s against a 5/s quota: the server throttles, boto3 retries
        result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                                 reads_per_second=1000, writes_per_second=40, progress=False)  # fmt: skip
        assert result["status"].tolist() == ["succeeded"] * 10
        assert sb.service.throttled > 0
        assert sb.service.applied == {i: 1 for i in edited["Id"]}


def test_a_write_applied_but_answered_500_is_applied_once(export, tmp_path):
    """boto3 retries the 500 with the old token and meets a conflict; the merge sees the change
    already on the server and records success without a second write."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"UpdateOpportunity"}))
    with Sandbox(config=config) as sb:
        (row,) = _editable(export, 1)
        edited = export.loc[[row]].copy()
        edited["Project.Title"] = "Once"
        result = ot.push_updates(
            edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST
        )
        assert result["status"].tolist() == ["succeeded"]
        assert sb.service.applied == {export.loc[row, "Id"]: 1}


def test_daily_budget_defers_and_a_later_run_finishes(sb, export, tmp_path):
    rows = _editable(export, 5)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Budget {i}" for i in range(5)]
    first = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, daily_write_budget=3,
                            endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert first["status"].tolist() == ["succeeded"] * 3 + ["deferred"] * 2
    assert set(first["reason"][3:]) == {"DAILY_BUDGET"}
    again = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, daily_write_budget=3,
                            endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert again["status"].tolist()[3:] == ["deferred"] * 2  # the budget counts the ledger's writes
    later = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, daily_write_budget=5,
                            endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert later["status"].tolist() == ["unchanged"] * 3 + ["succeeded"] * 2
    assert sb.service.applied == {i: 1 for i in edited["Id"]}


_PUSH_SCRIPT = """
import sys, pandas as pd, opptoolkit as ot
edited, base = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
ot.push_updates(edited, "Sandbox", ledger=sys.argv[3], base=base, endpoint_url=sys.argv[4],
                reads_per_second=1000, writes_per_second=1000, progress=False)
"""


def test_a_push_killed_mid_run_and_rerun_applies_every_row_exactly_once(sb, export, tmp_path):
    rows = _editable(export, 40)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Killed {i}" for i in range(len(rows))]
    edited.to_parquet(tmp_path / "edited.parquet")
    export.to_parquet(tmp_path / "base.parquet")
    ledger = tmp_path / "ledger"
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _PUSH_SCRIPT, str(tmp_path / "edited.parquet"),
                             str(tmp_path / "base.parquet"), str(ledger), sb.endpoint_url])  # fmt: skip
    deadline = time.monotonic() + 60
    while len(sb.service.applied) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = dict(sb.service.applied)
    assert 5 <= len(done_before) < len(rows), "the push was not killed mid-run"
    sb.service.config.latency = 0.0
    result = ot.push_updates(edited, "Sandbox", ledger=ledger, base=export, endpoint_url=sb.endpoint_url, **FAST)
    assert sb.service.applied == {i: 1 for i in edited["Id"]}  # every row exactly once
    assert set(result["status"]) <= {"succeeded", "unchanged"}
    for ident, title in zip(edited["Id"], edited["Project.Title"], strict=True):
        assert sb.record("Sandbox", ident)["Project"]["Title"] == title
    ledger_df = ot.read_ledger(ledger)
    final = ledger_df[ledger_df["status"] != "in_flight"].groupby("Id")["status"].last()
    killed_rows = set(edited["Id"]) - set(final.index)
    assert not killed_rows - set(done_before), "a row sent in the rerun has no terminal ledger entry"
    assert set(ledger_df.loc[ledger_df["status"] == "succeeded", "Id"]) >= set(edited["Id"]) - set(done_before)


def test_no_sensitive_value_reaches_the_ledger_or_the_logs(sb, export, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="opptoolkit")
    rows = _editable(export, 4)
    edited = export.loc[rows].copy()
    edited["Customer.Account.CompanyName"] = ["Secret Co 1", "Secret Co 2", "x" * 200, "Secret Co 4"]
    edited["Customer.Contacts[0].Email"] = [
        "a@secret.example",
        "bad email secret",
        "c@secret.example",
        "d@secret.example",
    ]
    ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST)
    sensitive = ot.get_schema().sensitive_paths
    values = {str(v) for c in edited.columns if ot.get_schema().field_for(c).path in sensitive
              for v in pd.concat([edited[c], export[c]]).dropna() if len(str(v)) > 3}  # fmt: skip
    # the text columns (timestamps and hashes are digits that a postal code could match by chance)
    text_columns = ["row", "Id", "status", "error_code", "error_message", "changed_fields"]
    ledger_text = ot.read_ledger(tmp_path / "l")[text_columns].astype(str).to_string()
    log_text = caplog.text
    assert "INVALID_STRING_FORMAT" in ledger_text  # the ledger does say what was wrong
    tokens = set(re.split(r"[^0-9A-Za-z]+", ledger_text + " " + log_text))
    for v in values:
        if v.isdigit():  # postal codes, DUNS: whole tokens (Ids and times are digits too)
            assert v not in tokens, "a sensitive number is in the ledger or the logs"
            continue
        assert v not in ledger_text, "a sensitive value is in the ledger"
        assert v not in log_text, "a sensitive value is in the logs"


def test_cli_push(sb, export, tmp_path, capsys):
    from opptoolkit.cli import main as cli

    rows = _editable(export, 2)
    ot.write_sheet(export, tmp_path / "export.xlsx")
    edited = export.loc[rows, ["Id", "LastModifiedDate", "Project.Title"]].copy()
    edited["Project.Title"] = ["CLI 1", "CLI 2"]
    edited["Notes"] = ["the analyst's own column", ""]
    ot.write_sheet(edited, tmp_path / "edits.csv")
    args = ["push", str(tmp_path / "edits.csv"), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--ledger", str(tmp_path / "ledger"), "--base", str(tmp_path / "export.xlsx"), "--writes-per-second", "1000"]  # fmt: skip
    assert cli([*args, "--dry-run"]) == 2  # an unknown column is refused, with the way out
    err = capsys.readouterr().err
    assert "Notes" in err and "--extra keep" in err and not sb.service.applied
    args += ["--extra", "keep"]
    assert cli([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "update" in out and "CLI 1" in out and not sb.service.applied
    assert cli(args) == 0
    assert "succeeded" in capsys.readouterr().out
    assert set(sb.service.applied) == set(edited["Id"])


_INTERRUPT_SCRIPT = """
import sys, pandas as pd, opptoolkit as ot
edited, base = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
r = ot.push_updates(edited, "Sandbox", ledger=sys.argv[3], base=base, endpoint_url=sys.argv[4],
                    reads_per_second=1000, writes_per_second=1000, progress=False)
r.to_parquet(sys.argv[5])
"""


def test_ctrl_c_stops_after_the_call_in_flight_and_leaves_a_consistent_ledger(sb, export, tmp_path):
    rows = _editable(export, 30)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Interrupted {i}" for i in range(len(rows))]
    edited.to_parquet(tmp_path / "edited.parquet")
    export.to_parquet(tmp_path / "base.parquet")
    sb.service.config.latency = 0.05
    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPT_SCRIPT, str(tmp_path / "edited.parquet"),
                             str(tmp_path / "base.parquet"), str(tmp_path / "ledger"), sb.endpoint_url,
                             str(tmp_path / "result.parquet")])  # fmt: skip
    deadline = time.monotonic() + 60
    while len(sb.service.applied) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0  # a clean stop, not a KeyboardInterrupt traceback
    result = pd.read_parquet(tmp_path / "result.parquet")
    done = set(sb.service.applied)
    assert 3 <= len(done) < len(rows)
    assert set(result.loc[result["status"] == "succeeded", "Id"]) == done  # every sent row recorded
    deferred = result[result["status"] == "deferred"]
    assert len(deferred) == len(rows) - len(done) and set(deferred["reason"]) == {"INTERRUPTED"}
    ledger = ot.read_ledger(tmp_path / "ledger")
    assert not (set(ledger.loc[ledger["status"] == "in_flight", "Id"]) - done)  # nothing left in flight
    sb.service.config.latency = 0.0
    again = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "ledger", base=export, endpoint_url=sb.endpoint_url, **FAST
    )
    assert sb.service.applied == {i: 1 for i in edited["Id"]}
    assert set(again["status"]) <= {"succeeded", "unchanged"}


# -- push-path holes (issue 16) -------------------------------------------------------------------


def _no_retries(sb: Sandbox, **config):
    from botocore.config import Config

    return sb.client(config=Config(retries={"mode": "standard", "total_max_attempts": 1}, **config))


def test_a_write_answered_500_is_unknown_and_the_next_run_reconciles_it(export, tmp_path):
    """No retry left after a 500: the outcome is unknown (it was applied), not failed; the rerun
    reads the record back and records success without a second write."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"UpdateOpportunity"}))
    with Sandbox(config=config) as sb:
        rows = _editable(export, 2)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = ["Maybe 1", "Maybe 2"]
        first = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, client=_no_retries(sb), **FAST)
        assert first["status"].tolist() == ["unknown", "unknown"]
        assert set(first["error_code"]) == {"InternalServerException"}
        assert sb.service.applied == {i: 1 for i in edited["Id"]}
        sb.service.config.fault_after_commit_rate = 0.0
        again = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                                **FAST)  # fmt: skip
        assert again["status"].tolist() == ["succeeded", "succeeded"]
        assert "UpdateOpportunity" not in again.attrs["calls"]
        assert sb.service.applied == {i: 1 for i in edited["Id"]}
        final = ot.read_ledger(tmp_path / "l").groupby("Id")["status"].last()
        assert set(final) == {"succeeded"}


def test_retries_are_counted_as_writes_in_the_result_and_the_ledger(export, tmp_path):
    """500 after the commit, botocore's retry meets a conflict: two HTTP attempts, two writes."""
    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"UpdateOpportunity"}))
    with Sandbox(config=config) as sb:
        (row,) = _editable(export, 1)
        edited = export.loc[[row]].copy()
        edited["Project.Title"] = "Counted"
        result = ot.push_updates(
            edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST
        )
        assert result["status"].tolist() == ["succeeded"]
        assert sb.service.calls["UpdateOpportunity"] == 2
        assert result["writes"].tolist() == [2]
        assert ot.read_ledger(tmp_path / "l")["writes"].sum() == 2
        assert ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, daily_write_budget=2,
                               endpoint_url=sb.endpoint_url, **FAST)["status"].tolist() == ["unchanged"]  # fmt: skip


def test_an_in_flight_entry_with_no_outcome_counts_as_one_write(tmp_path):
    from opptoolkit.ledger import Ledger, LedgerEntry

    book = Ledger(tmp_path / "l")
    book.write(LedgerEntry(job_id=book.job_id, row="2", Id="O1", status="in_flight"))
    book.write(LedgerEntry(job_id=book.job_id, row="3", Id="O2", status="in_flight"))
    book.write(LedgerEntry(job_id=book.job_id, row="3", Id="O2", status="succeeded", writes=3))
    assert Ledger(tmp_path / "l").writes_since() == 4


def test_a_read_timeout_after_sending_is_unknown_and_stops_the_push(export, tmp_path):
    with Sandbox(config=SandboxConfig.fast()) as sb:
        rows = _editable(export, 3)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = [f"Slow {i}" for i in range(3)]
        update = sb.service._UpdateOpportunity
        sb.service._UpdateOpportunity = lambda p: (time.sleep(1.0), update(p))[1]  # applied after the client gave up
        with pytest.raises(ot.ServiceUnreachable, match="rerun") as e:
            ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export,
                            client=_no_retries(sb, read_timeout=0.3), **FAST)  # fmt: skip
        assert "\n" not in str(e.value)
        log = ot.read_ledger(tmp_path / "l")
        assert log["Id"].unique().tolist() == [edited["Id"].iloc[0]]  # the first row only, then it stopped
        assert log["status"].tolist() == ["in_flight", "unknown"]
        time.sleep(1.0)
        assert sb.service.applied == {edited["Id"].iloc[0]: 1}
        sb.service._UpdateOpportunity = update
        again = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                                **FAST)  # fmt: skip
        assert again["status"].tolist() == ["succeeded"] * 3
        assert sb.service.applied == {i: 1 for i in edited["Id"]}


def test_an_unreachable_endpoint_stops_at_once_without_a_ledger_entry_per_row(export, tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    rows = _editable(export, 5)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Nowhere {i}" for i in range(5)]
    from botocore.config import Config

    client = ot.get_client(
        endpoint_url=f"http://127.0.0.1:{port}", config=Config(retries={"total_max_attempts": 2}, connect_timeout=1)
    )
    started = time.monotonic()
    with pytest.raises(ot.ServiceUnreachable, match="EndpointConnectionError") as e:
        ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, client=client, **FAST)
    assert time.monotonic() - started < 20
    assert "\n" not in str(e.value)
    log = ot.read_ledger(tmp_path / "l")
    assert len(log) <= 1 and set(log["status"]) <= {"failed"}  # a read that never connected: nothing applied
    with pytest.raises(ot.ServiceUnreachable):
        ot.plan_updates(edited, "Sandbox", client=client, progress=False)


def test_without_a_base_and_without_a_token_nothing_is_sent_blind(sb, export, tmp_path):
    rows = _editable(export, 3)
    for r in rows:
        sb.edit("Sandbox", export.loc[r, "Id"], lambda rec: rec["Project"].update(Title="Colleague's title"))
    edited = export.loc[rows, ["Id", "Project.Title", "LifeCycle.NextSteps"]].copy()
    edited["LifeCycle.NextSteps"] = "Mine"
    plan = ot.plan_updates(edited, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    assert plan["action"].tolist() == ["no_token"] * 3
    assert "export with LastModifiedDate or pass --base" in plan["errors"][0][0]
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["no_token"] * 3
    assert set(result["error_code"]) == {"REQUIRED_FIELD_MISSING"}
    assert not sb.service.applied
    for r in rows:
        assert sb.record("Sandbox", export.loc[r, "Id"])["Project"]["Title"] == "Colleague's title"


def test_a_failing_re_read_after_a_conflict_is_that_rows_outcome_and_the_rest_go_on(export, tmp_path):
    from opptoolkit.sandbox._service import ServiceError

    config = SandboxConfig.fast(fault_after_commit_rate=1.0, fault_operations=frozenset({"UpdateOpportunity"}))
    with Sandbox(config=config) as sb:
        rows = _editable(export, 3)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = [f"Reread {i}" for i in range(3)]
        unlucky = edited["Id"].iloc[0]
        get, reads = sb.service._GetOpportunity, []

        def flaky_get(p):
            reads.append(p["Identifier"])
            if p["Identifier"] == unlucky and reads.count(unlucky) > 1:
                raise ServiceError("AccessDeniedException", "denied")
            return get(p)

        sb.service._GetOpportunity = flaky_get
        result = ot.push_updates(
            edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST
        )
        # its write was answered 500 then conflicted: applied or not, only a read can tell
        assert result["status"].tolist() == ["unknown", "succeeded", "succeeded"]
        assert result["error_code"][0] == "AccessDeniedException"
        final = ot.read_ledger(tmp_path / "l").groupby("Id")["status"].last()
        assert final.to_dict() == dict(zip(edited["Id"], ["unknown", "succeeded", "succeeded"], strict=True))


@pytest.mark.parametrize("with_base", [True, False])
def test_the_sheets_catalog_must_match_the_catalog_pushed_to(sb, export, tmp_path, with_base):
    rows = _editable(export, 2)
    edited = export.loc[rows, ["Id", "Catalog", "LastModifiedDate", "Project.Title"]].copy()
    edited["Project.Title"] = ["Live 1", "Live 2"]
    base = export if with_base else None
    calls = dict(sb.service.calls)  # the export's
    with pytest.raises(ot.OpptoolkitError, match="Catalog") as e:
        ot.push_updates(edited, "AWS", ledger=tmp_path / "l", base=base, endpoint_url=sb.endpoint_url, **FAST)
    assert "'Sandbox'" in str(e.value) and "AWS" in str(e.value)
    with pytest.raises(ot.OpptoolkitError, match="Catalog"):
        ot.plan_updates(edited, "AWS", base=base, endpoint_url=sb.endpoint_url, progress=False)
    assert sb.service.calls == calls


def test_two_pushes_sharing_a_ledger_are_serialised(sb, export, tmp_path):
    import threading

    rows = _editable(export, 6)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Locked {i}" for i in range(6)]
    sb.service.config.latency = 0.1
    outcome: dict[str, object] = {}
    first = threading.Thread(target=lambda: outcome.update(r=ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST)))  # fmt: skip
    first.start()
    deadline = time.monotonic() + 30
    while not sb.service.applied and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(ot.OpptoolkitError, match="another push"):
        ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST)
    first.join()
    assert outcome["r"]["status"].tolist() == ["succeeded"] * 6
    assert sb.service.applied == {i: 1 for i in edited["Id"]}


def test_the_change_key_is_keyed_by_a_secret_of_the_ledger(sb, export, tmp_path):
    import hashlib
    import stat

    (row,) = _editable(export, 1)
    edited = export.loc[[row]].copy()
    edited["LifeCycle.Stage"] = "Prospekt"  # invalid: recorded with its change key, never sent
    keys = []
    for name in ("a", "b", "a"):
        ot.push_updates(edited, "Sandbox", ledger=tmp_path / name, base=export, endpoint_url=sb.endpoint_url, **FAST)
        keys.append(ot.read_ledger(tmp_path / name)["change_key"].iloc[-1])
        secrets = [p for p in (tmp_path / name).iterdir() if "secret" in p.name]
        assert len(secrets) == 1 and stat.S_IMODE(secrets[0].stat().st_mode) == 0o600
    assert keys[0] == keys[2] != keys[1]  # stable within a ledger (reruns skip), unguessable across
    ident = edited["Id"].iloc[0]
    unsalted = hashlib.sha256(json.dumps([ident, [["LifeCycle.Stage", "'Prospekt'"]]], sort_keys=True).encode())
    assert unsalted.hexdigest() not in keys
    assert not sb.service.applied


def test_a_sensitive_fields_message_keeps_the_rule_and_withholds_the_analysts_value(sb, export, tmp_path, capsys):
    """#31 item 2: the push says what the dry run said, in the terminal, the result and the ledger; only the value
    typed into a sensitive field (and a "did you mean" near it, which would give it away) is withheld. The rule --
    here the allowed values -- is kept: it is no customer data."""
    from opptoolkit.cli import main as cli

    (row,) = _editable(export[export["Project.ExpectedCustomerSpend[0].CurrencyCode"].notna()], 1)
    edited = export.loc[[row]].copy()
    edited["Project.ExpectedCustomerSpend[0].CurrencyCode"] = "EUX"
    plan = ot.plan_updates(edited, "Sandbox", base=export)
    said = plan["error_texts"][0][0]  # the dry run's words
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                             **FAST)  # fmt: skip
    assert result["status"].tolist() == ["invalid"]
    log = ot.read_ledger(tmp_path / "l")
    message = log["error_message"][0]
    assert message == f"Project.ExpectedCustomerSpend[0].CurrencyCode: INVALID_ENUM_VALUE: {said}"
    for told in (said, message, result["error_message"][0], result["error_texts"][0][0], log["error_texts"][0][0]):
        assert "EUX" not in told and "did you mean" not in told  # the analyst's value, and a hint near it
        assert "'EUR'" in told and "'USD'" in told  # the rule: what is allowed
    # the terminal lines carry the whole rule too, not a cut one: a misspelled stage's lists every stage
    (other,) = _editable(export.drop(index=row), 1)
    sheet = export.loc[[row, other]].copy()
    sheet.loc[row, "Project.ExpectedCustomerSpend[0].CurrencyCode"] = "EUX"
    sheet.loc[other, "LifeCycle.Stage"] = "Prospekt"
    ot.write_sheet(sheet, tmp_path / "edits.csv")
    ot.write_sheet(export, tmp_path / "export.xlsx")
    args = ["push", str(tmp_path / "edits.csv"), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--ledger", str(tmp_path / "l2"), "--base", str(tmp_path / "export.xlsx")]  # fmt: skip
    assert cli(args) == 1
    err = capsys.readouterr().err
    assert said in err and "EUX" not in err
    stage = next(line for line in err.splitlines() if "] Stage: " in line)  # named by its label, as the sheet does
    assert "did you mean 'Prospect'?" in stage and stage.rstrip().endswith("'Closed Lost' (INVALID_ENUM_VALUE)")


def test_plan_result_and_ledger_name_the_spreadsheets_row(sb, export, tmp_path):
    rows = _editable(export, 3)
    sheet = export.loc[rows, ["Id", "LastModifiedDate", "Project.Title"]].copy()
    sheet["Project.Title"] = ["S1", sheet["Project.Title"].iloc[1], "S3"]
    ot.write_sheet(sheet, tmp_path / "edits.xlsx")
    plan = ot.plan_updates(tmp_path / "edits.xlsx", "Sandbox", base=export)
    assert plan["row"].tolist() == ["2", "3", "4"]
    read = ot.read_sheet(tmp_path / "edits.xlsx")
    assert ot.plan_updates(read.iloc[[2, 0]], "Sandbox", base=export)["row"].tolist() == ["4", "2"]
    result = ot.push_updates(tmp_path / "edits.xlsx", "Sandbox", ledger=tmp_path / "l", base=export,
                             endpoint_url=sb.endpoint_url, **FAST)  # fmt: skip
    assert result["row"].tolist() == ["2", "3", "4"]
    assert set(ot.read_ledger(tmp_path / "l")["row"]) == {"2", "4"}


def test_a_ledger_that_is_a_file_or_holds_a_corrupt_part_is_a_one_line_error(sb, export, tmp_path):
    (row,) = _editable(export, 1)
    edited = export.loc[[row]].copy()
    edited["Project.Title"] = "Ledger"
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ot.OpptoolkitError, match="not a folder"):
        ot.push_updates(edited, "Sandbox", ledger=tmp_path / "file", base=export, endpoint_url=sb.endpoint_url, **FAST)
    with pytest.raises(ot.OpptoolkitError, match="not a folder"):
        ot.read_ledger(tmp_path / "file")
    (tmp_path / "l").mkdir()
    (tmp_path / "l" / "part-20260101T000000000000-x-000001.parquet").write_bytes(b"PAR1 torn")
    with pytest.raises(ot.OpptoolkitError, match=r"part-20260101T000000000000-x-000001\.parquet") as e:
        ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url, **FAST)
    assert "\n" not in str(e.value)
    assert not sb.service.applied


def test_a_base_with_a_blank_id_is_a_one_line_error(export):
    base = export.copy()
    base.loc[base.index[3], "Id"] = None
    with pytest.raises(ot.OpptoolkitError, match="Id") as e:
        ot.plan_updates(export.head(2), "Sandbox", base=base)
    assert "\n" not in str(e.value)


def test_no_credentials_stop_the_push_at_the_first_call(sb, export, tmp_path):
    import boto3
    import botocore.session
    from botocore.credentials import CredentialResolver

    session = botocore.session.Session()
    session.register_component("credential_provider", CredentialResolver([]))  # no credentials anywhere
    client = boto3.Session(botocore_session=session, region_name="us-east-1").client(
        "partnercentral-selling", endpoint_url=sb.endpoint_url
    )
    rows = _editable(export, 3)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = ["C1", "C2", "C3"]
    with pytest.raises(ot.ServiceUnreachable, match=r"NoCredentialsError.*--profile") as e:
        ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, client=client, **FAST)
    assert len(e.value.result) == 1 and e.value.result["status"].tolist() == ["failed"]
    assert len(ot.read_ledger(tmp_path / "l")) == 1 and not sb.service.applied


def test_a_problem_carries_only_the_api_field_codes():
    """``Problem.code`` promises the model's ValidationExceptionErrorCode vocabulary."""
    assert ot.Problem(2, "LifeCycle.Stage", "INVALID_ENUM_VALUE", "not a stage").code == "INVALID_ENUM_VALUE"
    with pytest.raises(ValueError, match="ValidationExceptionErrorCode"):
        ot.Problem(2, "LifeCycle.Stage", "CONFLICT", "changed on both sides")


def test_back_to_back_pushes_on_one_ledger_are_paced_as_one_stream_of_writes(tmp_path):
    # the service's write bucket does not reset between two pushes: the second starts where the
    # ledger says the first one's writes left it, and is never throttled (a throttled try spends a write)
    with Sandbox(config=SandboxConfig.fast(write_rate=1.0, write_burst=1.0)) as sb:
        export = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
        rows = _editable(export, 2)
        for i, row in enumerate(rows):
            edited = export.loc[[row]].copy()
            edited["Project.Title"] = f"Back to back {i}"
            result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export,
                                     endpoint_url=sb.endpoint_url, reads_per_second=1000, progress=False)  # fmt: skip
            assert result["status"].tolist() == ["succeeded"]
            assert result["writes"].tolist() == [1]
        assert sb.service.throttled == 0
        assert sum(ot.read_ledger(tmp_path / "l")["writes"]) == 2


class _VirtualTime:
    """The clock of every token bucket (opptoolkit.quotas: the client's pacer and the sandbox's quota alike).

    Time moves only when a bucket waits, by what it waits: a request reaches the sandbox's bucket at the
    instant the client's pacer let it go. On the wall clock a loaded machine delays one request more than the
    next, and the sandbox's bucket (burst 1) then sees two writes closer than the client sent them: a throttle
    that says nothing of the client's pacing. botocore's retry back-off sleeps on the wall clock and moves
    nothing here, so a retry the pacer does not wait for reaches the sandbox at the instant of the attempt
    before it.
    """

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:  # at least a microsecond, as a real sleep: a wait of 1e-14 s would not move 1000.0
            self.now += max(1e-6, seconds)


@pytest.fixture
def virtual_time(monkeypatch):
    import opptoolkit.quotas

    clock = _VirtualTime()
    monkeypatch.setattr(opptoolkit.quotas, "time", clock)
    return clock


def test_a_write_throttled_at_the_quota_is_retried_after_its_slot_and_the_rows_after_it_are_not(tmp_path, virtual_time):
    """A push whose first write meets a ThrottlingException (the service's bucket spent by another client)
    waits for the next slot before the retry, and paces the rows after it from the retry."""
    with Sandbox(config=SandboxConfig.fast(write_rate=2.0, write_burst=1.0)) as sb:
        export = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
        rows = _editable(export, 4)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = [f"Retried {i}" for i in range(len(rows))]
        assert sb.service.writes.take() is None  # another client's write, just now
        result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                                 writes_per_second=2.0, reads_per_second=1000, progress=False)  # fmt: skip
        assert result["status"].tolist() == ["succeeded"] * len(rows)
        assert sb.service.throttled == 1
        assert result["writes"].tolist() == [2] + [1] * (len(rows) - 1)


def test_a_push_paced_at_the_services_write_quota_spends_one_write_per_row(tmp_path, virtual_time):
    """Paced at exactly the quota, each row used to meet a ThrottlingException: a retry that went out
    after its back-off left the next row's slot counted from the first try, so every row after it was
    throttled too, and each retry spent a write. (On the virtual clock: _VirtualTime says why.)"""
    with Sandbox(config=SandboxConfig.fast(write_rate=2.0, write_burst=1.0)) as sb:
        export = ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
        rows = _editable(export, 8)
        edited = export.loc[rows].copy()
        edited["Project.Title"] = [f"Paced {i}" for i in range(len(rows))]
        result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                                 writes_per_second=2.0, reads_per_second=1000, progress=False)  # fmt: skip
        assert result["status"].tolist() == ["succeeded"] * len(rows)
        assert sb.service.throttled == 0
        assert result["writes"].sum() == len(rows)


# -- the daily write budget, per HTTP attempt (issue 27) ------------------------------------------


def test_the_daily_budget_is_checked_before_every_attempt_not_once_per_row(sb, export, tmp_path):
    """A row that keeps conflicting (a colleague edits it just before each write) merges and tries again; a
    budget of 1 lets exactly one UpdateOpportunity go, and the row is deferred, not sent three times."""
    (row,) = _editable(export, 1)
    ident = export.loc[row, "Id"]
    client = sb.client()
    n = iter(range(100))

    def colleague(**_):
        sb.edit("Sandbox", ident, lambda r: r["LifeCycle"].update(NextSteps=f"Colleague {next(n)}"))

    client.meta.events.register("before-send.partnercentral-selling.UpdateOpportunity", colleague)
    edited = export.loc[[row]].copy()
    edited["Project.Title"] = "Mine"
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, client=client,
                             daily_write_budget=1, **FAST)  # fmt: skip
    assert sb.service.calls["UpdateOpportunity"] == 1
    assert (result["status"][0], result["reason"][0], result["writes"][0]) == ("deferred", "DAILY_BUDGET", 1)
    assert ot.read_ledger(tmp_path / "l")["writes"].sum() == 1


def test_botocores_retries_stop_at_the_daily_budget(export, tmp_path):
    """A 500 is retried by botocore; with the budget spent by the first attempt the retry does not go, and the
    row is unknown (the 500 may have been applied: the next run reads it back)."""
    config = SandboxConfig.fast(fault_rate=1.0, fault_operations=frozenset({"UpdateOpportunity"}))
    with Sandbox(config=config) as sb:
        (row,) = _editable(export, 1)
        edited = export.loc[[row]].copy()
        edited["Project.Title"] = "Retried"
        result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                                 daily_write_budget=1, **FAST)  # fmt: skip
        assert sb.service.calls["UpdateOpportunity"] == 1
        assert (result["status"][0], result["writes"][0]) == ("unknown", 1)
        assert "daily write budget" in result["error_message"][0]


# -- one malformed Id, a dry run that writes nothing (issue 27) -------------------------------------


def test_a_malformed_id_is_invalid_on_its_row_in_a_plan_a_dry_run_and_a_push(sb, export, tmp_path, capsys):
    from opptoolkit.cli import main as cli

    rows = _editable(export, 3)
    edited = export.loc[rows, ["Id", "LastModifiedDate", "Project.Title"]].reset_index(drop=True)
    edited["Project.Title"] = ["One", "Two", "Three"]
    huge = "O" + "9" * 100_000
    edited.loc[1, "Id"], edited.loc[2, "Id"] = "not an id", huge
    reads = sb.service.calls.get("GetOpportunity", 0)  # none when the export was read once a session
    plan = ot.plan_updates(edited, "Sandbox", endpoint_url=sb.endpoint_url, progress=False)
    assert plan["action"].tolist() == ["update", "invalid", "invalid"]
    assert plan["error_codes"].tolist()[1:] == [["INVALID_STRING_FORMAT"]] * 2
    assert plan.loc[1, "errors"][0].startswith("Id: INVALID_STRING_FORMAT: ") and huge not in str(plan["errors"])
    assert sb.service.calls["GetOpportunity"] == reads + 1  # no read of a malformed Id
    path = ot.write_sheet(edited, tmp_path / "edits.csv")
    args = ["push", str(path), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--ledger",
            str(tmp_path / "l"), "--writes-per-second", "1000"]  # fmt: skip
    assert cli([*args, "--dry-run"]) == 1  # one row would not be sent: the dry run goes on, row by row
    out, err = capsys.readouterr()
    assert "row 3" in out and "row 4" in out and len(out + err) < 5_000  # never the 100 kB value
    assert cli(args) == 1
    out, err = capsys.readouterr()
    assert "row 3" in err and "INVALID_STRING_FORMAT" in err and len(out + err) < 5_000
    log = ot.read_ledger(tmp_path / "l")
    assert huge not in log.astype(str).to_string() and "not an id" not in log.astype(str).to_string()
    assert sb.service.calls["UpdateOpportunity"] == 1


def test_a_dry_run_writes_nothing_not_even_the_ledger_folder(sb, export, tmp_path):
    rows = _editable(export, 1)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = "Dry"
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                             dry_run=True, **FAST)  # fmt: skip
    assert result["status"].tolist() == ["update"]
    assert not (tmp_path / "l").exists()


def test_updates_left_unknown_are_settled_by_a_later_push_of_other_rows(export, tmp_path):
    """One update landed and one did not, both answered 500 (no retry left); the next push on the ledger is of
    another row: both are read back, one succeeded and one failed, and no unknown is left."""
    with Sandbox(config=SandboxConfig.fast(fault_operations=frozenset({"UpdateOpportunity"}))) as sb:
        landed, lost, other = _editable(export, 3)
        client = _no_retries(sb)
        edited = export.loc[[landed, lost]].copy()
        edited["Project.Title"] = ["Landed", "Lost"]
        sb.service.config.fault_after_commit_rate = 1.0
        first = ot.push_updates(edited.loc[[landed]], "Sandbox", ledger=tmp_path / "l", base=export, client=client,
                                **FAST)  # fmt: skip
        sb.service.config.fault_after_commit_rate, sb.service.config.fault_rate = 0.0, 1.0
        second = ot.push_updates(edited.loc[[lost]], "Sandbox", ledger=tmp_path / "l", base=export, client=client,
                                 **FAST)  # fmt: skip
        assert first["status"].tolist() == second["status"].tolist() == ["unknown"]
        assert second.attrs["settled"] == {"succeeded": 1}  # the push after a run settles what that run left
        sb.service.config.fault_rate = 0.0
        later = export.loc[[other]].copy()
        later["Project.Title"] = "Other"
        third = ot.push_updates(later, "Sandbox", ledger=tmp_path / "l", base=export, client=client, **FAST)
        assert third["status"].tolist() == ["succeeded"] and third.attrs["settled"] == {"failed": 1}
        log = ot.read_ledger(tmp_path / "l")
        final = log.groupby("Id")[["status", "reason"]].last()
        ids = export["Id"]
        assert final.loc[ids[landed]].tolist() == ["succeeded", "RECONCILED"]
        assert final.loc[ids[lost]].tolist() == ["failed", "RECONCILED"]
        assert sb.record("Sandbox", ids[lost])["Project"]["Title"] != "Lost"
        assert "unknown" not in set(final["status"])


def test_a_push_killed_in_flight_is_settled_by_the_next_push_even_of_other_rows(sb, export, tmp_path):
    rows = _editable(export, 20)
    edited = export.loc[rows].copy()
    edited["Project.Title"] = [f"Flying {i}" for i in range(len(rows))]
    edited.to_parquet(tmp_path / "edited.parquet")
    export.to_parquet(tmp_path / "base.parquet")
    sb.service.config.latency = 0.3  # the kill lands while the server holds a request
    proc = subprocess.Popen([sys.executable, "-c", _PUSH_SCRIPT, str(tmp_path / "edited.parquet"),
                             str(tmp_path / "base.parquet"), str(tmp_path / "l"), sb.endpoint_url])  # fmt: skip
    deadline = time.monotonic() + 60
    while sb.service.calls.get("UpdateOpportunity", 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.4)  # the server finishes the request the killed client left
    sb.service.config.latency = 0.0
    log = ot.read_ledger(tmp_path / "l")
    flying = set(log.groupby("Id")["status"].last().loc[lambda s: s == "in_flight"].index)
    assert flying, "nothing was in flight at the kill"
    (other,) = [r for r in _editable(export, 30) if r not in rows][:1]
    later = export.loc[[other]].copy()
    later["Project.Title"] = "Someone else"
    result = ot.push_updates(later, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                             **FAST)  # fmt: skip
    assert result.attrs["settled"] == {"succeeded": len(flying)}
    final = ot.read_ledger(tmp_path / "l").groupby("Id")["status"].last()
    assert set(final.loc[list(flying)]) == {"succeeded"}


def _one_error_each(frame: pd.DataFrame) -> list[tuple[list[str], list[str], list[str]]]:
    cols = ["error_codes", "error_fields", "error_texts"]
    return [tuple(list(r[c]) for c in cols) for r in frame[cols].to_dict("records")]  # type: ignore[misc]


def test_each_error_is_listed_apart_by_field_in_the_plan_the_result_and_the_ledger(sb, export, tmp_path):
    """The cell at fault and its message, without parsing ``field: CODE: message`` (helper cells marks the cell)."""
    bad, clash = _editable(export, 2)
    sb.edit("Sandbox", export.loc[clash, "Id"], lambda r: r["Project"].update(Title="Colleague's title"))
    edited = export.loc[[bad, clash]].copy()
    edited.loc[bad, "LifeCycle.Stage"] = "Prospekt"
    edited.loc[clash, "Project.Title"] = "My title"
    plan = ot.plan_updates(edited, "Sandbox", base=export, endpoint_url=sb.endpoint_url)
    (codes, fields, texts), conflict = _one_error_each(plan)
    assert (codes, fields) == (["INVALID_ENUM_VALUE"], ["LifeCycle.Stage"])
    assert plan["errors"][0] == [f"LifeCycle.Stage: INVALID_ENUM_VALUE: {texts[0]}"]  # the message alone
    assert "Prospect" in texts[0]  # the rule: the allowed values
    # the base knows no conflict yet: the plan reads no server (a base was given); the push finds it
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", base=export, endpoint_url=sb.endpoint_url,
                             **FAST)  # fmt: skip
    assert result["status"].tolist() == ["invalid", "conflict"]
    refused, conflict = _one_error_each(result)
    assert refused == (["INVALID_ENUM_VALUE"], ["LifeCycle.Stage"], [texts[0]])
    assert conflict == (["CONFLICT"], ["Project.Title"], ["changed on the server too"])
    ledger = ot.read_ledger(tmp_path / "l")
    assert _one_error_each(ledger) == [refused, conflict]


def test_an_api_refusal_lists_the_services_errors_by_field_and_withholds_a_sensitive_ones_message(sb, export, tmp_path):
    """A ValidationException's ErrorList, item by item: a sensitive field's message may quote the value."""
    (row,) = _editable(export, 1)
    ident = export.loc[row, "Id"]
    update = sb.service._UpdateOpportunity

    def rejected_meanwhile(p):  # AWS's review rejected the record between the push's read and its write
        stored = sb.service._load("Sandbox", ident)
        stored["LifeCycle"]["ReviewStatus"] = "Rejected"  # the concurrency token stays: no ConflictException
        sb.service.store.put(stored)
        return update(p)

    sb.service._UpdateOpportunity = rejected_meanwhile
    edited = export.loc[[row]].copy()
    edited["Project.Title"] = "Secret title"
    edited["LifeCycle.TargetCloseDate"] = str(pd.Timestamp.now().date() + pd.Timedelta(days=90))
    result = ot.push_updates(edited, "Sandbox", ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    assert result["status"].tolist() == ["failed"] and result["error_code"][0] == "ValidationException"
    ((codes, fields, texts),) = _one_error_each(result)
    assert set(fields) == {"Project.Title", "LifeCycle.TargetCloseDate"} and set(codes) == {"ACTION_NOT_PERMITTED"}
    said = dict(zip(fields, texts, strict=True))
    assert "Secret title" not in said["Project.Title"] and "not kept" in said["Project.Title"]
    # a field the model does not mark sensitive keeps the service's own words
    assert said["LifeCycle.TargetCloseDate"] and "not kept" not in said["LifeCycle.TargetCloseDate"]
    log = ot.read_ledger(tmp_path / "l").tail(1)
    assert _one_error_each(log) == [(codes, fields, texts)]
    # the value AWS's message may quote is withheld everywhere the refusal is told
    assert "Secret title" not in result["error_message"][0] and "Secret title" not in log["error_message"].iloc[0]
    assert sb.service.applied.get(ident) is None


@pytest.fixture
def new_york(monkeypatch):
    """The process's local time zone is New York's (botocore gives parsed times a local zone of their own)."""
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_times_a_push_returns_are_utc_whatever_the_local_zone(sb, export, tmp_path, new_york):
    rows = _editable(export, 2)
    edited = export.loc[rows].copy()
    edited["LifeCycle.NextSteps"] = ["Call the CFO", "Send the SOW"]
    new = edited.iloc[[0]].drop(columns=["Id", "Arn", "CreatedDate", "LastModifiedDate"])
    new["Project.Title"], new["PartnerOpportunityIdentifier"] = "A new deal", "CRM-NY-1"
    new["LifeCycle.Stage"], new["RelatedEntityIdentifiers.Solutions"] = "Prospect", None
    sheet = pd.concat([edited, new], ignore_index=True)
    push = dict(base=export, ledger=tmp_path / "l", endpoint_url=sb.endpoint_url, **FAST)
    first = ot.push_updates(sheet, "Sandbox", **push)
    again = ot.push_updates(sheet, "Sandbox", **push)  # skipped: the times the ledger kept
    assert first["status"].tolist() == ["succeeded", "succeeded", "created"], first["error_message"].tolist()
    assert again["status"].tolist() == ["unchanged", "unchanged", "skipped"]
    times = [v for r in (first, again) for c in ("last_modified_before", "last_modified_after") for v in r[c]]
    times = [v for v in times if not pd.isna(v)]
    assert len(times) == 2 + 3 + 1  # the updates' before; every row's after; the skipped create's, from the ledger
    assert all(str(pd.Timestamp(v).tz) == "UTC" for v in times), times
