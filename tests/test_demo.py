"""``make demo`` is a promise of the README: the scripted session runs end to end."""

from __future__ import annotations

from opptoolkit.demo import run_demo
from tests.conftest import TEST_RATES


def test_the_demo_runs_end_to_end(tmp_path, capsys, monkeypatch):
    """run_demo raises on any step that does not give the scripted result (3 succeeded, 1 invalid,
    1 conflict; the colleague's change kept); here it must finish and leave its files. At the fast sandbox's
    quotas: its sandbox enforces the environment's rates and its calls pace at them (``make demo``: the
    documented ones)."""
    for name, value in TEST_RATES.items():
        monkeypatch.setenv(name, value)
    assert run_demo(tmp_path / "demo", progress=False) == 0
    out = capsys.readouterr().out
    assert "Done." in out
    assert "(quotas: 1000 reads/s, 1000 write/s)" in out
    for name in ("pipeline.xlsx", "pipeline.results.xlsx", "ledger", "mirror", "report.html", "report.xlsx"):
        assert (tmp_path / "demo" / name).exists(), name
