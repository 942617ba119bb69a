"""The batch updater against the sandbox, through a real boto3 client over HTTP."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.wire import dumps_record

FAST = dict(reads_per_second=1000, writes_per_second=1000, progress=False)


@pytest.fixture
def export(sb):
    """The pipeline as an analyst exports it: a full pull, as a frame."""
    return ot.read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)


def _editable(df: pd.DataFrame, n: int) -> list[int]:
    open_ = ~df["LifeCycle.Stage"].isin(["Launched", "Closed Lost"])
    ok = df["LifeCycle.ReviewStatus"].isin(["Approved", "Pending Submission"]) & open_
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
    assert set(first["error_code"][3:]) == {"DAILY_BUDGET"}
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
    sensitive = ot.get_catalog().sensitive_paths
    values = {str(v) for c in edited.columns if ot.get_catalog().field_for(c).path in sensitive
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
    assert len(deferred) == len(rows) - len(done) and set(deferred["error_code"]) == {"INTERRUPTED"}
    ledger = ot.read_ledger(tmp_path / "ledger")
    assert not (set(ledger.loc[ledger["status"] == "in_flight", "Id"]) - done)  # nothing left in flight
    sb.service.config.latency = 0.0
    again = ot.push_updates(
        edited, "Sandbox", ledger=tmp_path / "ledger", base=export, endpoint_url=sb.endpoint_url, **FAST
    )
    assert sb.service.applied == {i: 1 for i in edited["Id"]}
    assert set(again["status"]) <= {"succeeded", "unchanged"}
