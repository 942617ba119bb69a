"""Shared fixtures: generated, model-valid records (seeded, so failures are repeatable)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import opptoolkit as ot
from opptoolkit.sandbox import SEED_DAY, Sandbox, SandboxConfig
from opptoolkit.testing import fake_records

N_LAW = 1000  # the round-trip law runs over at least this many generated records


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
