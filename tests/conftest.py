"""Shared fixtures: generated, model-valid records (seeded, so failures are repeatable)."""

from __future__ import annotations

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
