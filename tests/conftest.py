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

# No test reads instance metadata. Where the metadata address swallows connections, as on some CI hosts, boto3's
# credential chain waits about 2 s (a timeout for the token, one for the keys) each time it finds no keys: each
# client made for a sandbox URL without a session. Every process the suite starts inherits the setting.
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

N_LAW = 1000  # the round-trip law runs over at least this many generated records
#: The environment that runs a notebook, a page or the demo at the fast sandbox's quotas, pacing at them
#: (opptoolkit.quotas.rates: the sandbox a notebook starts enforces them, and every connection paces at them).
TEST_RATES = {
    "OPPTOOLKIT_READS_PER_SECOND": f"{SandboxConfig.fast().read_rate:g}",
    "OPPTOOLKIT_WRITES_PER_SECOND": f"{SandboxConfig.fast().write_rate:g}",
}

# -- tiers -----------------------------------------------------------------------------------------
# `make quick` runs the tests none of these marks (pyproject.toml registers them); `make test` runs all.
# The marks are given here, by what a test uses, so a new test of a slow kind is marked without a word.
_BY_FILE = {"test_notebooks.py": "notebook", "test_demo.py": "demo", "test_sheets_libreoffice.py": "libreoffice"}
_BY_FIXTURE = {"resave": "libreoffice", "browser": "browser", "page": "browser"}
# a process killed mid-run (SIGKILL, SIGINT) and rerun ("killed", "a kill at any step"); a case that asks for
# `resave` by getfixturevalue
_BY_NAME = {"kill": "crash", "ctrl_c": "crash", "resaved": "libreoffice"}
#: The slowest of the rest, measured: 3 s or more each of CPU (the test process's and its children's) and waiting
#: (sleeps: back-off, pacing, polls), the cases of a test summed. Measured so because wall time on this shared
#: 2-core machine is mostly the queue for the CPU; alone a test takes about its CPU plus its waits.
SLOW = {
    "README.md::README.md",
    "engagements.py::opptoolkit.engagements.snapshot_health",
    "test_cli.py::test_bad_input_is_one_line_exit_2",
    "test_create.py::test_two_people_pushing_the_same_sheet_at_once_with_two_ledgers_create_each_row_once",
    "test_form.py::test_the_picker_searches_the_mirror_by_title",
    "test_frame.py::test_large_frames_give_freed_heap_memory_back_on_glibc",
    "test_frames_pandas.py::test_every_frame_goes_to_excel_through_to_excel",
    "test_frames_pandas.py::test_every_frame_survives_ordinary_pandas",
    "test_kept_fields.py::test_a_row_with_other_changes_is_sent_and_its_result_names_the_fields_aws_kept",
    "test_packaging.py::test_an_installed_wheel_serves_the_repositorys_seed",
    "test_pull.py::test_a_record_that_still_fails_is_reported_not_dropped",
    "test_push.py::test_a_read_timeout_after_sending_is_unknown_and_stops_the_push",
    "test_push.py::test_back_to_back_pushes_on_one_ledger_are_paced_as_one_stream_of_writes",
    "test_referrals.py::test_read_invitations_paces_within_the_read_quota",
    "test_rules.py::test_plan_and_sandbox_agree",
    "test_sandbox.py::test_throttling_under_a_tight_quota_then_success_with_retries",
    "test_sandbox_engagements.py::test_tasks_answer_in_progress_first_when_the_sandbox_is_set_so",
    "test_schema.py::test_no_field_path_or_enum_value_typed_by_hand_in_the_library_code",
    "test_tiers.py::test_the_session_workbook_is_the_pull_of_a_fresh_sandbox",
    "test_workbook_base.py::test_a_dry_run_writes_the_results_workbook_and_changes_no_base",
    "test_cli.py::test_unreachable_endpoint_in_a_push_is_one_line",
    "test_create.py::test_a_row_with_a_crm_id_edited_after_its_create_is_never_created_again",
    "test_create.py::test_the_results_workbook_carries_the_new_ids_so_the_next_push_updates",
    "test_form.py::test_lists_of_structures_add_and_remove_up_to_the_model_max",
    "test_ledger.py::test_a_2500_entry_job_leaves_at_most_one_part_per_1000_entries",
    "test_mirror.py::test_cli_sync_with_aws_summary_then_refresh",
    "test_mirror.py::test_round_trip_law_through_the_mirror",
    "test_mirror.py::test_sync_with_aws_summary_reads_aws_view_of_what_it_fetched",
    "test_partner.py::test_submit_refuses_what_is_not_ready_without_a_write_and_completes_what_is",
    "test_plan.py::test_the_column_wise_plan_is_the_row_by_row_plan",
    "test_pull.py::test_cli_pull_and_sync",
    "test_pull.py::test_filters",
    "test_pull.py::test_sync_picks_up_new_opportunities_and_refuses_another_catalog",
    "test_pull.py::test_the_form_reads_and_reloads_decoded_text",
    "test_pull.py::test_throttled_runs_complete",
    "test_ledger_s3.py::test_a_frozen_push_whose_lease_was_taken_over_sends_nothing_more",
    "test_events.py::test_an_event_for_one_changed_record_syncs_it_with_one_get_end_to_end",
    "test_mirror_table.py::test_the_mirror_on_s3_reads_back_and_duckdb_reads_it_and_an_earlier_version",
    "test_push.py::test_a_push_paced_at_the_services_write_quota_spends_one_write_per_row",
    "test_push.py::test_a_write_answered_500_is_unknown_and_the_next_run_reconciles_it",
    "test_push.py::test_an_unreachable_endpoint_stops_at_once_without_a_ledger_entry_per_row",
    "test_push.py::test_no_credentials_stop_the_push_at_the_first_call",
    "test_push.py::test_throttling_and_injected_500s_are_absorbed",
    "test_push.py::test_two_pushes_sharing_a_ledger_are_serialised",
    "test_referrals.py::test_accept_creates_one_opportunity_across_a_lost_answer_and_a_rerun",
    "test_referrals.py::test_aws_summaries_blank_where_aws_has_none",
    "test_referrals.py::test_list_pages_and_filters",
    "test_referrals.py::test_referral_views",
    "test_referrals.py::test_the_report_has_the_partner_vs_aws_view_when_the_frame_has_aws_columns",
    "test_referrals.py::test_the_report_has_the_referrals_section_from_invitations_and_the_ledger",
    "test_report.py::test_cli_report_of_a_mirror_by_its_folder_or_its_file",
    "test_report.py::test_cli_report_of_a_mirror_compares_with_the_sync_before",
    "test_sandbox.py::test_create_is_idempotent_by_client_token",
    "test_sandbox.py::test_filters",
    "test_sandbox.py::test_injected_faults_are_500s_that_retries_absorb",
    "test_sandbox.py::test_sort_orders_across_pages",
    "test_sheets.py::test_csv_read_whole_by_arrow_reads_what_the_csv_module_reads",
    "test_sheets.py::test_round_trip_law_through_sheets",
    "test_workbook_base.py::test_a_workbook_whose_base_was_stripped_warns_and_plans_as_before",
    "test_workbook_base.py::test_after_a_merge_the_results_base_keeps_the_export_token_so_the_colleagues_edit_stays_visible",
    "test_workbook_base.py::test_results_workbook_shows_each_outcome_and_a_push_of_it_sends_only_what_is_pending",
    "test_workbook_base.py::test_the_cli_warns_of_a_stripped_base_in_one_line",
    "test_frames_pandas.py::test_every_report_view_survives_ordinary_pandas",
    "test_clearing.py::test_a_dry_run_of_a_workbook_names_the_emptied_cell",
    "test_events.py::test_a_removed_record_is_marked_removed_and_a_failed_read_stays_on_the_queue",
    "test_results_workbook.py::test_a_cell_whose_edit_aws_kept_is_marked_with_why",
    "test_results_workbook.py::test_the_results_workbook_puts_problems_first_names_fields_by_label_and_marks_the_cells",
    "test_report.py::test_the_cli_keeps_the_snapshot_health_for_the_report",
    "test_pull.py::test_failed_records_hold_the_cursor_back",
    "test_pull.py::test_incremental_sync_fetches_only_what_changed",
    "test_recorded.py::test_recorded_request_answers_as_aws_did",
    "test_kept_fields.py::test_a_row_whose_only_changes_aws_would_keep_spends_no_write",
    "test_workbook_base.py::test_a_push_that_loses_the_service_still_writes_the_results_workbook",
    "test_push.py::test_cli_push",
    "test_sandbox.py::test_validation_errors_name_field_and_code",
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
        if "browser" in marks:  # one worker drives them in turn (`make test`'s -n): each is a heavy page
            item.add_marker(pytest.mark.xdist_group("browser"))


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
    """A fresh sandbox with the seed data and quotas high enough that tests never wait.

    Fresh for each test, on purpose: the tests that take it write to it and assert what it holds or counted
    (``service.calls``, ``applied``), which a shared one would mix up; starting one costs about 0.06 s (the
    seed's store is copied, not read again). A test that needs only what a fresh one holds reads ``pulled``.
    """
    with Sandbox(config=SandboxConfig.fast(), as_of=SEED_DAY) as s:  # the seed's dates as committed
        yield s


@pytest.fixture(scope="session")
def pulled() -> pd.DataFrame:
    """The seed's pipeline as a full pull reads it from a fresh sandbox (``sb``'s records): read once a session.

    Every ``sb`` starts from the same records, so a test that starts from a pull of it may start from a copy
    of this one (``pulled.copy()``); tests/test_tiers.py checks that the two are the same frame.
    """
    with Sandbox(config=SandboxConfig.fast(), as_of=SEED_DAY) as s:
        return ot.read_opportunities("Sandbox", endpoint_url=s.endpoint_url, progress=False, reads_per_second=1000)


@pytest.fixture(scope="session")
def pulled_workbook(tmp_path_factory) -> Path:
    """``opptoolkit pull --out pipeline.xlsx --headers label`` of a fresh sandbox (``sb``'s records): pulled once."""
    from opptoolkit.cli import main

    path = tmp_path_factory.mktemp("pulled") / "pipeline.xlsx"
    with Sandbox(config=SandboxConfig.fast(), as_of=SEED_DAY) as s:
        pull = ["pull", "--catalog", "Sandbox", "--endpoint-url", s.endpoint_url, "--reads-per-second", "1000"]
        assert main([*pull, "--out", str(path), "--headers", "label"]) == 0
    return path


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
