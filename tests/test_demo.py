"""``make demo`` is a promise of the README: the scripted session runs end to end."""

from __future__ import annotations

from opptoolkit.demo import run_demo


def test_the_demo_runs_end_to_end(tmp_path, capsys):
    """run_demo raises on any step that does not give the scripted result (3 succeeded, 1 invalid,
    1 conflict; the colleague's change kept); here it must finish and leave its files."""
    assert run_demo(tmp_path / "demo", progress=False) == 0
    out = capsys.readouterr().out
    assert "Done." in out
    for name in ("pipeline.xlsx", "pipeline.results.xlsx", "ledger", "mirror", "report.html", "report.xlsx"):
        assert (tmp_path / "demo" / name).exists(), name
