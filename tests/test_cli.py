"""The ``opptoolkit`` command: one line per error, documented exit codes, never a traceback.

Most tests run ``main([...])`` in-process; a few run ``python -m opptoolkit.cli`` to see the real stderr.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.cli import main
from opptoolkit.referrals import write_triage

FAST = ["--reads-per-second", "1000"]


@pytest.fixture(autouse=True)
def _restore_log_levels():
    """main() sets the levels of a few loggers (as a process entry point does): put them back."""
    names = ["opptoolkit", "botocore", "boto3", "urllib3", "s3transfer"]
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The lists of the tests that watch this process's TCP connections (``connections``).
_WATCHING: list[list[tuple[str, int]]] = []


def _count_connects(event: str, args: tuple) -> None:
    """Python's "socket.connect" audit event: the (host, port) a socket connects to, from any thread."""
    if event == "socket.connect" and isinstance(args[1], tuple):
        for seen in _WATCHING:
            seen.append(args[1][:2])


sys.addaudithook(_count_connects)  # once, at import: an audit hook cannot be removed


@pytest.fixture
def connections() -> Iterator[list[tuple[str, int]]]:
    """The (host, port) of every TCP connection this process (any thread) starts during the test, in order."""
    seen: list[tuple[str, int]] = []
    _WATCHING.append(seen)
    try:
        yield seen
    finally:
        _WATCHING.remove(seen)


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """No credentials anywhere in boto3's chain: no AWS_* variables, empty config files, no instance metadata."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    (tmp_path / "empty").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "empty"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _export(sb, tmp_path: Path, catalog: str = "Sandbox") -> pd.DataFrame:
    df = ot.read_opportunities(catalog, endpoint_url=sb.endpoint_url, progress=False, reads_per_second=1000)
    ot.write_sheet(df, tmp_path / "export.xlsx")
    return df


@pytest.fixture
def export(sb, pulled, tmp_path: Path) -> pd.DataFrame:
    """``_export(sb, tmp_path)``: ``sb``'s pipeline in export.xlsx, from conftest's ``pulled`` (read once a session:
    every ``sb`` starts from the records it holds)."""
    df = pulled.copy()
    ot.write_sheet(df, tmp_path / "export.xlsx")
    return df


def _editable(df: pd.DataFrame, n: int) -> pd.DataFrame:
    ok = df["LifeCycle.ReviewStatus"].isin(["Pending Submission"]) & ~df["LifeCycle.Stage"].isin(
        ["Launched", "Closed Lost"]
    )
    return df[ok].head(n)


def _edits(df: pd.DataFrame, tmp_path: Path, n: int = 2) -> Path:
    edited = _editable(df, n)[["Id", "LastModifiedDate", "Project.Title"]].copy()
    assert len(edited) == n
    edited["Project.Title"] = [f"CLI {i}" for i in range(n)]
    ot.write_sheet(edited, tmp_path / "edits.csv")
    return tmp_path / "edits.csv"


# -- the service cannot be reached ----------------------------------------------------------------


def test_unreachable_endpoint_is_one_line_and_fast(closed_port, connections, tmp_path, capsys):
    code = main(["pull", "--catalog", "Sandbox", "--endpoint-url", f"http://127.0.0.1:{closed_port}",
                 "--out", str(tmp_path / "p.parquet")])  # fmt: skip
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert "endpoint" in line and "check" in line
    assert connections.count(("127.0.0.1", closed_port)) == 1  # one attempt: not ten with back-off
    assert not (tmp_path / "p.parquet").exists()


def test_unreachable_endpoint_stops_the_gets_at_the_first_error(sb, closed_port, connections):
    """The listing works, then the endpoint goes away: the first failed Get stops the pull (no row of failures)."""
    client = ot.get_client(endpoint_url=f"http://127.0.0.1:{closed_port}")
    ids = [r["Id"] for r in sb.records("Sandbox")[:200]]
    tried: list[str] = []  # the Identifier of every HTTP attempt, botocore's retries included
    client.meta.events.register(
        "before-send.partnercentral-selling.GetOpportunity",
        lambda request, **_: tried.append(json.loads(request.body)["Identifier"]),
    )
    # every Get is queued before the first one fails, as on a slow machine: the queued ones must not be sent
    listed = threading.Event()

    def hold(**_: object) -> None:  # returns None: a before-send handler's answer would stand for AWS's
        listed.wait(10)

    client.meta.events.register("before-send.partnercentral-selling.GetOpportunity", hold)

    def listing() -> Iterator[str]:
        yield from ids
        listed.set()

    with pytest.raises(ot.OpptoolkitError, match="endpoint") as e:
        ot.client.get_opportunities("Sandbox", listing(), client=client, progress=False, max_workers=4)
    assert type(e.value).__name__ == "ServiceUnreachable"
    # each Get tried once (no retry of a connection refused), one connection each, and the pull stopped at the
    # first failure: only the Gets already under way (one per worker) were sent
    assert 1 <= len(tried) == len(set(tried)) == connections.count(("127.0.0.1", closed_port)) <= 4


def test_unreachable_endpoint_stops_a_plans_reads_at_the_first_error(pulled, closed_port, connections):
    """A plan without a base reads the latest records: the first unreachable read stops it, however slow the
    machine (every read is queued before the first can fail), with no read queued behind it sent."""
    client = ot.get_client(endpoint_url=f"http://127.0.0.1:{closed_port}")
    edited = pulled.head(200).copy()
    edited["Project.Title"] = "Unreachable"
    first = threading.Event()

    def hold(**_: object) -> None:  # returns None: a before-send handler's answer would stand for AWS's
        first.wait(2)  # every read is queued by then (the plan submits them all at once)

    client.meta.events.register("before-send.partnercentral-selling.GetOpportunity", hold)
    with pytest.raises(ot.OpptoolkitError, match="endpoint") as e:
        ot.plan_updates(edited, "Sandbox", client=client, progress=False, reads_per_second=1000)
    assert type(e.value).__name__ == "ServiceUnreachable"
    assert 1 <= connections.count(("127.0.0.1", closed_port)) <= 4  # only the reads already under way


def test_a_plans_failed_read_stops_its_reads_and_is_said_once(sb, pulled, caplog):
    """A read of a plan without a base that fails for its own reason (not a lost service) stops the plan too: the
    reads queued behind it are not sent, and the failure is said once, as the error (no log line beside it)."""
    from botocore.awsrequest import AWSResponse

    client = sb.client()
    edited = pulled.head(100).copy()
    edited["Project.Title"] = "Read fails"
    bad = str(edited["Id"].iloc[0])
    queued = threading.Event()

    class _Raw:  # what botocore reads an answer's body from
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **_: object):
            yield self.body

    def answer(request, **_: object):  # AWS's answer to the one bad read: a 400 of that request alone
        queued.wait(2)  # every read is queued by then (the plan submits them all at once)
        if json.loads(request.body)["Identifier"] != bad:
            return None
        body = b'{"__type": "ValidationException", "message": "the read was refused"}'
        return AWSResponse(request.url, 400, {"x-amzn-errortype": "ValidationException"}, _Raw(body))

    client.meta.events.register("before-send.partnercentral-selling.GetOpportunity", answer)
    with caplog.at_level(logging.WARNING, logger="opptoolkit"), pytest.raises(ot.OpptoolkitError) as e:
        ot.plan_updates(edited, "Sandbox", client=client, progress=False, reads_per_second=1000)
    assert str(e.value).startswith(f"GetOpportunity {bad} failed: ValidationException")
    assert sb.service.calls["GetOpportunity"] < len(edited) - 4  # the reads queued behind it were not sent
    assert not [r for r in caplog.records if "reads failed" in r.getMessage()]  # said once: the error


def test_unreachable_endpoint_in_a_push_is_one_line(sb, export, closed_port, tmp_path, capsys):
    df = export
    edits = _edits(df, tmp_path, 20)
    code = main(["push", str(edits), "--catalog", "Sandbox", "--endpoint-url", f"http://127.0.0.1:{closed_port}",
                 "--base", str(tmp_path / "export.xlsx"), "--ledger", str(tmp_path / "ledger"), *FAST])  # fmt: skip
    assert code == 2
    assert "endpoint" in _one_line(capsys.readouterr().err)


def test_unreachable_endpoint_subprocess_has_no_traceback(closed_port, tmp_path):
    # no timeout of its own: it waits for the exit, however loaded the machine (pytest-timeout guards
    # against a hang)
    p = subprocess.run(
        [sys.executable, "-m", "opptoolkit.cli", "pull", "--catalog", "Sandbox", "--endpoint-url",
         f"http://127.0.0.1:{closed_port}", "--out", str(tmp_path / "p.xlsx")],
        capture_output=True, text=True, cwd=Path(__file__).parents[1], check=False,
    )  # fmt: skip
    assert p.returncode == 2, p.stderr
    assert _one_line(p.stderr).startswith("error: ")


# -- credentials ------------------------------------------------------------------------------------


def test_no_credentials_is_one_line(no_credentials, tmp_path, capsys):
    # no endpoint: boto3 would sign for AWS, and fails before anything is sent
    assert main(["pull", "--catalog", "AWS", "--out", str(tmp_path / "p.parquet")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "credentials" in line and "aws configure" in line


def test_no_credentials_subprocess_has_no_traceback(no_credentials, tmp_path):
    pd.DataFrame({"Id": ["O1234567890"], "Project.Title": ["x"]}).to_csv(tmp_path / "e.csv", index=False)
    # no timeout of its own: it waits for the exit, however loaded the machine (pytest-timeout guards
    # against a hang)
    p = subprocess.run(
        [sys.executable, "-m", "opptoolkit.cli", "push", str(tmp_path / "e.csv"), "--catalog", "AWS", "--dry-run"],
        capture_output=True, text=True, cwd=Path(__file__).parents[1], check=False,
    )  # fmt: skip
    assert p.returncode == 2
    assert "credentials" in _one_line(p.stderr)


def test_unknown_profile(no_credentials, tmp_path, capsys):
    assert main(["pull", "--catalog", "AWS", "--profile", "nope", "--out", str(tmp_path / "p.parquet")]) == 2
    assert "nope" in _one_line(capsys.readouterr().err)


# -- files and arguments ------------------------------------------------------------------------------


def test_missing_files(sb, export, tmp_path, capsys):
    df = export
    edits = _edits(df, tmp_path)
    push = ["push", str(edits), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--dry-run"]
    for args in (
        ["push", str(tmp_path / "nope.csv"), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--dry-run"],
        [*push, "--base", str(tmp_path / "nope.xlsx")],
        [*push, "--base", str(tmp_path / "nope.parquet")],
        ["report", str(tmp_path / "nope.parquet"), "--html", str(tmp_path / "r.html")],
    ):
        assert main(args) == 2, args
        assert "nope" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["pull", "--catalog", "Sandbox", "--out", "p.parquet", "--modified-after", "yesterday"], "ISO"),
        (["pull", "--catalog", "Prod", "--out", "p.parquet"], "'AWS', 'Sandbox'"),
    ],
)
def test_bad_arguments_are_usage_errors(args, said, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    assert said in capsys.readouterr().err


def test_modified_after_takes_iso_dates(sb, tmp_path, capsys):
    out = tmp_path / "p.parquet"
    assert main(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--out", str(out),
                 "--summary-only", "--modified-after", "2000-01-01", *FAST]) == 0  # fmt: skip
    assert len(pd.read_parquet(out)) == len(sb.records("Sandbox"))


def test_catalog_choices_come_from_the_model():
    from opptoolkit.cli import _catalogs

    assert _catalogs() == ["AWS", "Sandbox"]


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"opptoolkit {ot.__version__}"


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit status" in out and "bad input or usage" in out


def test_sandbox_port_in_use(capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["sandbox", "--port", str(port), "--no-seed"]) == 2
    assert "--port 0" in _one_line(capsys.readouterr().err)


# -- the push's own files ----------------------------------------------------------------------------


def _push_args(sb, tmp_path: Path, edits: Path) -> list[str]:
    return ["push", str(edits), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--base", str(tmp_path / "export.xlsx"), "--writes-per-second", "1000", *FAST]  # fmt: skip


def test_ledger_pointing_at_a_file(sb, export, tmp_path, capsys):
    edits = _edits(export, tmp_path)
    (tmp_path / "ledger").write_text("not a folder")
    assert main([*_push_args(sb, tmp_path, edits), "--ledger", str(tmp_path / "ledger")]) == 2
    assert "ledger" in _one_line(capsys.readouterr().err)
    assert not sb.service.applied


def test_corrupt_ledger_part(sb, export, tmp_path, capsys):
    edits = _edits(export, tmp_path)
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "part-20260101T000000000000-x-000001.parquet").write_bytes(b"not parquet")
    assert main([*_push_args(sb, tmp_path, edits), "--ledger", str(tmp_path / "ledger")]) == 2
    assert "ledger" in _one_line(capsys.readouterr().err)
    assert not sb.service.applied


def test_base_with_a_blank_id(sb, export, tmp_path, capsys):
    df = export
    edits = _edits(df, tmp_path)
    base = df.copy()
    base.loc[base.index[-1], "Id"] = None
    ot.write_sheet(base, tmp_path / "export.xlsx")
    assert main([*_push_args(sb, tmp_path, edits), "--ledger", str(tmp_path / "ledger")]) == 2
    assert "Id" in _one_line(capsys.readouterr().err)
    assert not sb.service.applied


def test_unexpected_errors_are_one_line_too(sb, tmp_path, capsys, monkeypatch):
    import opptoolkit.io

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(opptoolkit.io, "read_frame", broken)
    assert main(["report", "x.parquet"]) == 3
    line = _one_line(capsys.readouterr().err)
    assert "ZeroDivisionError" in line and "a bug" in line


# -- exit codes and confirmation -------------------------------------------------------------------------


def test_dry_run_exits_1_when_rows_would_not_be_sent(sb, export, tmp_path, capsys):
    df = export
    edited = _editable(df, 2)[["Id", "LastModifiedDate", "Project.Title", "LifeCycle.NextSteps"]].copy()
    edited["Project.Title"] = ["fine", "fine too"]
    edited["LifeCycle.NextSteps"] = ["call them", "x" * 5000]  # longer than the model's maximum
    ot.write_sheet(edited, tmp_path / "edits.csv")
    args = [*_push_args(sb, tmp_path, tmp_path / "edits.csv"), "--dry-run"]
    assert main(args) == 1
    assert "Planned 2 rows: 1 invalid and 1 to update." in capsys.readouterr().out
    ot.write_sheet(edited.head(1), tmp_path / "edits.csv")
    assert main(args) == 0  # every row is an update
    assert not sb.service.applied


def test_writes_to_aws_need_a_confirmation(sb, tmp_path, capsys, monkeypatch):
    df = _export(sb, tmp_path, "AWS")
    edits = _edits(df, tmp_path, 1)
    args = ["push", str(edits), "--catalog", "AWS", "--endpoint-url", sb.endpoint_url, "--base",
            str(tmp_path / "export.xlsx"), "--ledger", str(tmp_path / "ledger"), "--writes-per-second", "1000", *FAST]  # fmt: skip
    # stdin is not a terminal here: refused, with the way out
    assert main(args) == 2
    line = _one_line(capsys.readouterr().err)
    assert "1 update to the live AWS catalog" in line and "--yes" in line
    assert not sb.service.applied

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "Planned 1 row: 1 to update." in out
    assert not sb.service.applied

    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(args) == 0
    assert len(sb.service.applied) == 1


def test_the_confirmation_counts_rows_of_association_changes_apart(sb, tmp_path, capsys, monkeypatch):
    """A row whose only edit is Related AWS products sends AssociateOpportunity, no UpdateOpportunity: the question
    counts it as a row of association changes, singular or plural, never as an update."""
    products = "RelatedEntityIdentifiers.AwsProducts"
    df = _export(sb, tmp_path, "AWS")
    rows = _editable(df[df[products].map(lambda v: v is None or len(v) == 0)], 3)
    assert len(rows) == 3
    edited = rows[["Id", "LastModifiedDate", "Project.Title", products]].copy()
    edited[products] = [["AmazonRedshift"], ["AWSCleanRooms"], edited[products].iloc[2]]
    edited["Project.Title"] = [*edited["Project.Title"].iloc[:2], "CLI retitled"]
    args = ["push", str(tmp_path / "edits.xlsx"), "--catalog", "AWS", "--endpoint-url", sb.endpoint_url, "--base",
            str(tmp_path / "export.xlsx"), "--ledger", str(tmp_path / "ledger"), "--writes-per-second", "1000", *FAST]  # fmt: skip

    ot.write_sheet(edited.head(1), tmp_path / "edits.xlsx")
    assert main(args) == 2  # stdin is not a terminal here: refused, the count said
    line = _one_line(capsys.readouterr().err)
    assert line.endswith(
        "1 row of association changes to the live AWS catalog: a confirmation is needed; run in a terminal, or pass "
        "--yes"
    ), line
    assert "update" not in line

    asked: list[str] = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "n")
    # the three kinds together, each counted apart: two retitled, one association row, two new opportunities
    mixed = edited.copy()
    mixed[products] = [["AmazonRedshift"], *rows[products].iloc[1:]]
    mixed["Project.Title"] = [rows["Project.Title"].iloc[0], "CLI retitled", "CLI retitled too"]
    new = pd.DataFrame({
        "Project.Title": ["CLI new 0", "CLI new 1"],
        "Customer.Account.CompanyName": ["Company 0", "Company 1"],
        "Customer.Account.WebsiteUrl": ["https://example.com"] * 2,
        "LifeCycle.Stage": ["Prospect"] * 2,
        "LifeCycle.TargetCloseDate": ["2031-06-30"] * 2,
        "Project.CustomerBusinessProblem": ["The customer needs to move its data warehouse to AWS"] * 2,
    })  # fmt: skip
    ot.write_sheet(pd.concat([mixed, new], ignore_index=True), tmp_path / "edits.xlsx")
    assert main(args) == 1  # declined: nothing sent
    assert asked == [
        "send 2 updates, 1 row of association changes and 2 new opportunities to the live AWS catalog? [y/N] "
    ]
    assert not sb.service.calls.get("UpdateOpportunity") and not sb.service.calls.get("CreateOpportunity")
    capsys.readouterr()

    ot.write_sheet(edited, tmp_path / "edits.xlsx")
    asked.clear()
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    assert main(args) == 0
    assert asked == ["send 1 update and 2 rows of association changes to the live AWS catalog? [y/N] "]
    # as counted: one UpdateOpportunity, the two association rows as AssociateOpportunity calls alone
    assert sb.service.calls.get("UpdateOpportunity") == 1 and sb.service.calls.get("AssociateOpportunity") == 2


def test_yes_skips_the_confirmation(sb, tmp_path, capsys):
    df = _export(sb, tmp_path, "AWS")
    edits = _edits(df, tmp_path, 1)
    args = ["push", str(edits), "--catalog", "AWS", "--endpoint-url", sb.endpoint_url, "--base",
            str(tmp_path / "export.xlsx"), "--ledger", str(tmp_path / "ledger"), "--writes-per-second", "1000",
            "--yes", *FAST]  # fmt: skip
    assert main(args) == 0
    assert len(sb.service.applied) == 1


# -- logging -----------------------------------------------------------------------------------------------


def test_verbose_never_turns_on_botocore_debug(sb, tmp_path, caplog):
    """botocore's DEBUG log prints whole request and response bodies: customer data."""
    caplog.set_level(logging.DEBUG)  # a root logger at DEBUG, as a notebook might have it
    ident = sb.records("Sandbox")[0]["Id"]
    assert main(["-vv", "pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--id", ident,
                 "--out", str(tmp_path / "p.parquet"), *FAST]) == 0  # fmt: skip
    assert not [r for r in caplog.records if r.name.split(".")[0] in {"botocore", "urllib3", "boto3"}]
    assert logging.getLogger("opptoolkit").getEffectiveLevel() == logging.DEBUG


def test_verbose_subprocess_logs_no_customer_data(sb, tmp_path):
    rec = sb.records("Sandbox")[0]
    # no timeout of its own: it waits for the exit, however loaded the machine (pytest-timeout guards
    # against a hang)
    p = subprocess.run(
        [sys.executable, "-m", "opptoolkit.cli", "-v", "pull", "--catalog", "Sandbox", "--endpoint-url",
         sb.endpoint_url, "--id", rec["Id"], "--out", str(tmp_path / "p.parquet"), *FAST],
        capture_output=True, text=True, cwd=Path(__file__).parents[1], check=False,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert rec["Customer"]["Account"]["CompanyName"] not in p.stderr + p.stdout
    assert "botocore" not in p.stderr


# -- bad input: one line and exit 2, never "a bug" (issue #27, item 6) -----------------------------------

SECRET = "ACME-SECRET-CUSTOMER"  # in every bad file: no message may repeat what a file holds
_REGEX = ("\\d", "\\w", "\\s", "[^", "(?", ".*", "{1,")


@pytest.fixture
def bad(tmp_path, closed_port):
    """A folder of the files people hand the command by mistake, and an endpoint that answers nothing."""
    (tmp_path / "empty.xlsx").write_bytes(b"")
    (tmp_path / "garbage.xlsx").write_bytes(f"just some text {SECRET}\n".encode() * 20)
    (tmp_path / "torn.xlsx").write_bytes(b"PK\x03\x04" + SECRET.encode() * 10)  # a zip cut short
    (tmp_path / "scan.xlsx").write_bytes(f"%PDF-1.7\n1 0 obj << /Title ({SECRET}) >> endobj\n%%EOF\n".encode())
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "opportunities.parquet").write_bytes(SECRET.encode() * 100)
    (tmp_path / "nothing").mkdir()
    (tmp_path / "a-file").write_text(SECRET)
    (tmp_path / "notes.db").write_text(f"{SECRET}, not a database\n" * 100)
    pd.DataFrame({"Id": ["O1234567890"], "Project.Title": [SECRET]}).to_parquet(tmp_path / "pipeline.parquet")
    ot.write_sheet(pd.DataFrame({"Id": ["O1234567890"], "Project.Title": [SECRET]}), tmp_path / "pipeline.xlsx")
    # the toolkit's own workbooks that are no sheet of opportunities: a report, a triage, a push's results
    ot.write_report(pd.read_parquet(tmp_path / "pipeline.parquet"), tmp_path / "r0.html", xlsx=tmp_path / "report.xlsx")
    write_triage(pd.DataFrame({"Id": ["inv-1"], "Decision": [""], "RejectionReason": [""]}), tmp_path / "triage.xlsx")
    exported = pd.DataFrame({"Id": ["O1234567890"], "LastModifiedDate": pd.to_datetime(["2026-01-01T00:00Z"]),
                             "Project.Title": [SECRET]})  # fmt: skip
    ot.write_sheet(exported, tmp_path / "edited.xlsx", base=True)
    ot.write_results(ot.plan_updates(tmp_path / "edited.xlsx", "Sandbox"), tmp_path / "edited.xlsx")
    return tmp_path, f"http://127.0.0.1:{closed_port}"


def _push(d: Path, url: str, name: str) -> list[str]:
    return ["push", str(d / name), "--catalog", "Sandbox", "--endpoint-url", url, "--dry-run"]


def _report(d: Path, *more: str) -> list[str]:
    return ["report", str(d / "pipeline.parquet"), "--html", str(d / "r.html"), *more]


def _pull(d: Path, url: str, *more: str) -> list[str]:
    return ["pull", "--catalog", "Sandbox", "--endpoint-url", url, "--out", str(d / "p.parquet"), *more]


def _referrals(d: Path, url: str, *more: str) -> list[str]:
    return ["referrals", "--catalog", "Sandbox", "--endpoint-url", url, "--out", str(d / "t.xlsx"), *more]


BAD_INPUT: dict[str, tuple[Callable[[Path, str], list[str]], str]] = {
    "a 0-byte .xlsx": (lambda d, u: _push(d, u, "empty.xlsx"), "empty"),
    "a .xlsx of plain text": (lambda d, u: _push(d, u, "garbage.xlsx"), "not a workbook"),
    "a .xlsx cut short": (lambda d, u: _push(d, u, "torn.xlsx"), "damaged"),
    "a PDF renamed .xlsx": (lambda d, u: _push(d, u, "scan.xlsx"), "PDF"),
    "--endpoint-url not a url": (lambda d, u: _pull(d, "not a url"), "http://HOST:PORT"),
    "--endpoint-url http://[::1": (lambda d, u: _pull(d, "http://[::1"), "http://HOST:PORT"),
    "--reads-per-second -5": (lambda d, u: _pull(d, u, "--reads-per-second", "-5"), "above 0"),
    "--modified-after beyond UTC's range": (
        lambda d, u: _pull(d, u, "--modified-after", "0001-01-01T00:00+14:00"),
        "out of range",
    ),
    "report of a damaged mirror": (lambda d, u: ["report", str(d / "mirror"), "--html", str(d / "r.html")], "damaged"),
    "sync into a damaged mirror": (
        lambda d, u: ["sync", "--catalog", "Sandbox", "--endpoint-url", u, "--mirror", str(d / "mirror")],
        "damaged",
    ),
    "referrals --status BOGUS": (lambda d, u: _referrals(d, u, "--status", "BOGUS"), "PENDING"),
    "referrals --status PENDNG": (lambda d, u: _referrals(d, u, "--status", "PENDNG"), "did you mean 'PENDING'"),
    "report of an empty folder": (
        lambda d, u: ["report", str(d / "nothing"), "--html", str(d / "r.html")],
        "holds no mirror",
    ),
    "--fx with a pair cut short": (
        lambda d, u: _report(d, "--fx", "EUR=1.08,GBP", "--currency", "USD"),
        "CURRENCY=RATE",
    ),
    "--fx with a rate of text": (lambda d, u: _report(d, "--fx", "EUR=abc", "--currency", "USD"), "not a number"),
    "--fx with an infinite rate": (lambda d, u: _report(d, "--fx", "EUR=1e400", "--currency", "USD"), "above 0"),
    "--fx with a negative rate": (lambda d, u: _report(d, "--fx", "EUR=-1", "--currency", "USD"), "above 0"),
    "--referrals of a workbook that is no triage": (
        lambda d, u: _report(d, "--referrals", str(d / "pipeline.xlsx")),
        "not a triage workbook",
    ),
    # files that are the toolkit's own but not what the command reads (issue #31, item 6)
    "push of a report workbook": (lambda d, u: _push(d, u, "report.xlsx"), "is a pipeline report"),
    "push --base of a triage": (
        lambda d, u: [*_push(d, u, "pipeline.xlsx"), "--base", str(d / "triage.xlsx")],
        "--base triage.xlsx is a triage workbook of AWS referrals",
    ),
    "push --base of a report": (
        lambda d, u: [*_push(d, u, "pipeline.xlsx"), "--base", str(d / "report.xlsx")],
        "--base report.xlsx is a pipeline report",
    ),
    "report of a triage": (
        lambda d, u: ["report", str(d / "triage.xlsx"), "--html", str(d / "r.html")],
        "add the referrals with --referrals triage.xlsx",
    ),
    "report of a report": (
        lambda d, u: ["report", str(d / "report.xlsx"), "--html", str(d / "r.html")],
        "report.xlsx is a pipeline report",
    ),
    "report of a push's results": (
        lambda d, u: ["report", str(d / "edited.results.xlsx"), "--html", str(d / "r.html")],
        "is the results of a push",
    ),
    "report --since a report": (lambda d, u: _report(d, "--since", str(d / "report.xlsx")), "is a pipeline report"),
    "sync into a file": (
        lambda d, u: ["sync", str(d / "pipeline.xlsx"), "--catalog", "Sandbox", "--endpoint-url", u],
        "the mirror is a folder",
    ),
    "sandbox --port 70000": (lambda d, u: ["sandbox", "--port", "70000", "--no-seed"], "TCP port"),
    "sandbox --port -1": (lambda d, u: ["sandbox", "--port", "-1", "--no-seed"], "TCP port"),
    "sandbox --db on a folder": (lambda d, u: ["sandbox", "--port", "0", "--db", str(d / "nothing")], "is a folder"),
    "sandbox --db under a file": (
        lambda d, u: ["sandbox", "--port", "0", "--db", str(d / "a-file" / "x.db")],
        "is a file, not a folder",
    ),
    "sandbox --db on a file of text": (
        lambda d, u: ["sandbox", "--port", "0", "--db", str(d / "notes.db")],
        "not a SQLite database",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_exit_2(bad, case, capsys, monkeypatch):
    folder, url = bad
    make, said = BAD_INPUT[case]

    def no_waiting(seconds: float) -> None:  # a sandbox that did start would serve until interrupted
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", no_waiting)
    try:
        code = main(make(folder, url))
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    line = _one_line(capsys.readouterr().err)
    assert code == 2, line
    assert said in line, line
    assert line.startswith("error: ") and "bug" not in line and "Traceback" not in line
    assert SECRET not in line
    assert not any(r in line for r in _REGEX), line


def test_an_invitation_status_is_read_as_the_model_spells_it(sb, tmp_path):
    out = tmp_path / "t.parquet"
    assert main(["referrals", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--status", "pending",
                 "--out", str(out), *FAST]) in (0, 1)  # fmt: skip
    assert set(pd.read_parquet(out)["Status"]) == {"PENDING"}


# -- files that are not what they seem (issue #27, item 8) -------------------------------------------------


def test_a_0_byte_csv_is_refused_and_writes_no_results(closed_port, tmp_path, capsys):
    """It used to push 0 rows, exit 0 and write an empty results workbook."""
    (tmp_path / "edits.csv").write_bytes(b"")
    args = ["push", str(tmp_path / "edits.csv"), "--catalog", "Sandbox",
            "--endpoint-url", f"http://127.0.0.1:{closed_port}", "--ledger", str(tmp_path / "ledger")]  # fmt: skip
    for more in ([], ["--dry-run"]):
        assert main([*args, *more]) == 2
        assert "empty" in _one_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["edits.csv"]


def test_base_on_an_empty_folder_is_refused(sb, export, tmp_path, capsys):
    """It used to plan every row as not_found."""
    edits = _edits(export, tmp_path)
    (tmp_path / "no-mirror").mkdir()
    args = ["push", str(edits), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
            "--base", str(tmp_path / "no-mirror"), "--ledger", str(tmp_path / "ledger"), *FAST]  # fmt: skip
    for more in (["--dry-run"], []):
        assert main([*args, *more]) == 2
        assert "holds no mirror" in _one_line(capsys.readouterr().err)
    assert not sb.service.applied


def test_pull_into_a_folder_is_refused_before_any_read_and_leaves_nothing(sb, tmp_path, capsys):
    """It used to read everything, then fail naming a hidden .tmp file, and leave it there."""
    (tmp_path / "pipeline.xlsx").mkdir()
    before = dict(sb.service.calls)
    code = main(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url,
                 "--out", str(tmp_path / "pipeline.xlsx"), *FAST])  # fmt: skip
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert "pipeline.xlsx is a folder" in line and ".tmp" not in line
    assert dict(sb.service.calls) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipeline.xlsx"]


def test_a_write_that_fails_names_the_file_asked_for_and_leaves_no_temporary_file(sb, tmp_path, capsys):
    """The longest name a folder takes leaves no room for a temporary name beside it: a real failed write."""
    name = "p" * 250 + ".xlsx"  # 255 bytes: the file could be made, its temporary ".<name>.<id>.tmp" cannot
    code = main(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--id", "O7000000001",
                 "--out", str(tmp_path / name), *FAST])  # fmt: skip
    assert code == 2
    line = _one_line(capsys.readouterr().err)
    assert line.endswith(name) and ".tmp" not in line
    assert list(tmp_path.iterdir()) == []


def test_report_of_a_pull_that_matched_nothing_is_an_empty_report(sb, tmp_path, capsys):
    """A pull filtered to no opportunity, then reported: it used to exit 3 (an empty column's dtype)."""
    out = tmp_path / "none.parquet"
    assert main(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--customer", "nobody at all",
                 "--out", str(out), *FAST]) == 0  # fmt: skip
    assert main(["report", str(out), "--html", str(tmp_path / "r.html"), "--xlsx", str(tmp_path / "r.xlsx")]) == 0
    assert "Wrote the report of 0 opportunities" in capsys.readouterr().out
    assert (tmp_path / "r.html").exists() and (tmp_path / "r.xlsx").exists()


# -- sentences, and -v anywhere (issue #31, item 7) --------------------------------------------------------


def test_help_opens_with_a_sentence_about_the_tool(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    first = out.split("\n\n")[1]  # after the usage lines
    assert first.startswith("Your AWS Partner Central opportunities from the command line."), first
    assert "``" not in out


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize(("flag", "level"), [("-v", logging.INFO), ("-vv", logging.DEBUG)])
def test_verbose_before_or_after_the_command(sb, tmp_path, where, flag, level):
    ident = sb.records("Sandbox")[0]["Id"]
    pull = ["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--id", ident,
            "--out", str(tmp_path / "p.parquet"), *FAST]  # fmt: skip
    logging.getLogger("opptoolkit").setLevel(logging.WARNING)
    assert main([flag, *pull] if where == "before" else [*pull, flag]) == 0
    assert logging.getLogger("opptoolkit").getEffectiveLevel() == level
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.WARNING


def test_pull_and_sync_say_what_they_did_in_a_sentence(sb, tmp_path, capsys):
    ident = sb.records("Sandbox")[0]["Id"]
    out = tmp_path / "p.parquet"
    assert main(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--id", ident,
                 "--out", str(out), *FAST]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert said.startswith(f"Pulled 1 opportunity from the Sandbox catalog into {out} (") and said.endswith(".\n")
    sync = ["sync", str(tmp_path / "m"), "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, *FAST]
    assert main(sync) == 0
    said = capsys.readouterr().out.strip()
    assert said.startswith(f"Synced the mirror {tmp_path / 'm'} from the Sandbox catalog (a full pull): 300 new; ")
    assert "it holds 300 opportunities" in said and "<" not in said and said.endswith(" s).")
    assert main(sync) == 0
    said = capsys.readouterr().out
    assert "(the changes since the last sync): nothing had changed; it holds 300 opportunities" in said


def test_reads_that_fail_are_said_a_line_each_and_exit_1(tmp_path, capsys, monkeypatch):
    from opptoolkit.sandbox import Sandbox, SandboxConfig

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # one try: the injected fault stands
    config = SandboxConfig.fast(fault_rate=1.0, fault_operations=frozenset({"GetOpportunity"}))
    with Sandbox(config=config) as sb:
        first, second = (r["Id"] for r in sb.records("Sandbox")[:2])
        where = ["--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, *FAST]
        pull = ["pull", *where, "--id", first, "--id", second, "--out", str(tmp_path / "p.parquet")]
        assert main(pull) == 1
        err = capsys.readouterr().err.splitlines()
        assert sorted(line.split(": ", 2)[:2] for line in err) == [["  not read", first], ["  not read", second]]
        assert all(line.split(": ")[2] == "InternalServerException" for line in err)
        sb.service.config.fault_rate = 0.0  # the mirror read whole, then AWS's view of it refused
        sync = ["sync", str(tmp_path / "m"), *where]
        assert main(sync) == 0
        sb.service.config.fault_rate = 1.0
        sb.service.config.fault_operations = frozenset({"GetAwsOpportunitySummary"})
        assert main([*sync, "--refresh-aws"]) == 1
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 300 and all(line.startswith("  AWS view not read (the old one kept): O") for line in err)


def test_a_failed_read_is_said_once_on_the_terminal(tmp_path):
    """The command's own line per failed read, not a log line per record as well (at most one summary line)."""
    from opptoolkit.sandbox import Sandbox, SandboxConfig

    config = SandboxConfig.fast(fault_rate=1.0, fault_operations=frozenset({"GetOpportunity"}))
    with Sandbox(config=config) as sb:
        ids = [r["Id"] for r in sb.records("Sandbox")[:3]]
        # no timeout of its own: it waits for the exit, however loaded the machine (pytest-timeout guards
        # against a hang)
        p = subprocess.run(
            [sys.executable, "-m", "opptoolkit.cli", "pull", "--catalog", "Sandbox", "--endpoint-url",
             sb.endpoint_url, *(a for i in ids for a in ("--id", i)), "--out", str(tmp_path / "p.parquet"), *FAST],
            capture_output=True, text=True, cwd=Path(__file__).parents[1], check=False,
            env={**os.environ, "AWS_MAX_ATTEMPTS": "1"},  # one try: the injected fault stands
        )  # fmt: skip
    assert p.returncode == 1, p.stderr
    err = p.stderr.splitlines()
    for ident in ids:
        said = [line for line in err if ident in line]
        assert len(said) == 1 and said[0].startswith(f"  not read: {ident}: InternalServerException: "), p.stderr
    # one summary line, before the lines it announces, in words that read right at a terminal
    warned = [i for i, line in enumerate(err) if line.startswith("WARNING")]
    assert [err[i] for i in warned] == [
        "WARNING opptoolkit.client: GetOpportunity: 3 of 3 reads failed; each is listed with its error"
    ], p.stderr
    assert warned[0] < min(i for i, line in enumerate(err) if line.startswith("  not read: ")), p.stderr
