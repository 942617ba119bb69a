"""Shared fixtures: generated, model-valid records (seeded, so failures are repeatable)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.sandbox import SEED_DAY, Sandbox, SandboxConfig
from opptoolkit.testing import fake_records

N_LAW = 1000  # the round-trip law runs over at least this many generated records

# -- tiers -----------------------------------------------------------------------------------------
# `make quick` runs the tests none of these marks (pyproject.toml registers them); `make test` runs all.
# The marks are given here, by what a test uses, so a new test of a slow kind is marked without a word.
_BY_FILE = {"test_notebooks.py": "notebook", "test_demo.py": "demo", "test_sheets_libreoffice.py": "libreoffice"}
_BY_FIXTURE = {"resave": "libreoffice", "browser": "browser", "page": "browser"}
# a process killed mid-run (SIGKILL, SIGINT) and rerun; a case that asks for `resave` by getfixturevalue
_BY_NAME = {"killed": "crash", "ctrl_c": "crash", "resaved": "libreoffice"}
#: Measured the slowest of the rest (``pytest --durations``): each takes 5 s or more alone on this machine.
SLOW = {
    "README.md::README.md",
    "test_create.py::test_a_row_with_a_crm_id_edited_after_its_create_is_never_created_again",
    "test_referrals.py::test_the_report_has_the_referrals_section_from_invitations_and_the_ledger",
    "test_referrals.py::test_the_report_has_the_partner_vs_aws_view_when_the_frame_has_aws_columns",
    "test_sheets.py::test_csv_read_whole_by_arrow_reads_what_the_csv_module_reads",
    "test_plan.py::test_the_column_wise_plan_is_the_row_by_row_plan",
    "test_report.py::test_cli_report_of_a_mirror_compares_with_the_sync_before",
    "test_report.py::test_cli_report_of_a_mirror_by_its_folder_or_its_file",
    "test_workbook_base.py::test_results_workbook_shows_each_outcome_and_a_push_of_it_sends_only_what_is_pending",
    "test_sandbox.py::test_injected_faults_are_500s_that_retries_absorb",
    "test_pull.py::test_throttled_runs_complete",
    "test_ledger_s3.py::test_a_frozen_push_whose_lease_was_taken_over_sends_nothing_more",
    "test_events.py::test_an_event_for_one_changed_record_syncs_it_with_one_get_end_to_end",
    "test_mirror_table.py::test_the_mirror_on_s3_reads_back_and_duckdb_reads_it_and_an_earlier_version",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path
        marks = set()
        if "browser" in path.parts:
            marks.add("browser")
        if path.name in _BY_FILE:
            marks.add(_BY_FILE[path.name])
        marks |= {mark for fixture, mark in _BY_FIXTURE.items() if fixture in getattr(item, "fixturenames", ())}
        marks |= {mark for word, mark in _BY_NAME.items() if word in item.name}
        if f"{path.name}::{item.name.split('[')[0]}" in SLOW:
            marks.add("slow")
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.fixture(scope="session")
def records() -> list[dict]:
    return fake_records(N_LAW, seed=7)


@pytest.fixture(scope="session")
def frame(records: list[dict]) -> pd.DataFrame:
    return ot.to_frame(records)


@pytest.fixture(scope="session")
def expected_payloads(records: list[dict]) -> list[dict]:
    return [ot.payload_from_record(r) for r in records]


@pytest.fixture
def sb():
    """A fresh sandbox with the seed data and quotas high enough that tests never wait."""
    with Sandbox(config=SandboxConfig.fast(), as_of=SEED_DAY) as s:  # the seed's dates as committed
        yield s


@pytest.fixture(scope="session")
def resave(tmp_path_factory) -> Callable[[Path], Path]:
    """Open a workbook in LibreOffice Calc and save it again, as an analyst's spreadsheet program
    would: ``resave(path)`` returns the re-saved copy (beside it, in ``resaved/``)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is missing in CI: `make test` should have installed it")
        pytest.skip("no LibreOffice (apt-get install libreoffice-calc-nogui)")
    profile = tmp_path_factory.mktemp("lo-profile")

    def run(path: Path) -> Path:
        out = path.parent / "resaved"
        args = ["--headless", "--norestore", f"-env:UserInstallation=file://{profile}", "--convert-to", "xlsx"]
        subprocess.run([soffice, *args, "--outdir", str(out), str(path)], check=True, capture_output=True, timeout=300)
        return out / path.name

    return run


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """A real S3 and SQS API (moto's server, its own process) on 127.0.0.1 for the session; its endpoint URL.

    A process of its own, not a thread of the test's: ``deltalake`` calls S3 from Rust while it holds the GIL.
    """
    import socket
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"moto's server did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh bucket on the local S3 server, reached through boto3's standard settings; its ``s3://`` URI.

    ``AWS_ENDPOINT_URL_S3``/``_SQS`` point boto3 (and so every process the test starts) at the local server,
    as they would at any S3-compatible store; Partner Central's endpoint is untouched.
    """
    import re
    import uuid

    import boto3

    for name, value in {
        "AWS_ENDPOINT_URL_S3": s3_server,
        "AWS_ENDPOINT_URL_SQS": s3_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    bucket = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-") + "-" + uuid.uuid4().hex[:8]
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}"
