"""Benchmark: ``plan_updates`` on a frame with 1% of its rows edited, against a vectorised pandas
compare of the two frames.

Target (issue 18): 100k rows within 3x the vectorised compare, and linear in the rows (the
per-row cost at 10k and 100k flat). The peer says which cells differ (``ne`` over every column,
blanks on both sides equal); ``plan_updates`` also normalises, merges and validates the changed
rows, which the peer does not.

    .venv/bin/python bench/plan.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from _steps import compare, records, row, run

import opptoolkit as ot

TITLE = "Project.Title"


def edited_copy(base: pd.DataFrame, share: float = 0.01, seed: int = 5) -> pd.DataFrame:
    """``base`` with ``share`` of its rows' titles changed (a field editable in every record the
    generator makes editable; the plan's verdict per row does not matter to its cost)."""
    edited = base.copy()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(base), size=max(1, int(len(base) * share)), replace=False)
    edited.loc[edited.index[rows], TITLE] = [f"Edited title {i}" for i in range(len(rows))]
    return edited


def vectorised_compare(edited: pd.DataFrame, base: pd.DataFrame) -> pd.Series:
    """The peer: per row, whether any cell differs (both blank counts as equal)."""
    changed = edited.ne(base) & ~(edited.isna() & base.isna())
    return changed.any(axis=1)


def case(n: int, repeat: int) -> Iterator[str]:
    base = ot.to_frame(records(n, "realistic"))
    base["Catalog"] = "Sandbox"  # the generator mixes catalogs; a plan is for one
    edited = edited_copy(base)
    assert int(vectorised_compare(edited, base).sum()) == max(1, n // 100)
    r = compare(
        lambda: ot.plan_updates(edited, "Sandbox", base=base, progress=False),
        lambda: vectorised_compare(edited, base),
        repeat,
    )
    yield row(f"plan_updates, 1% edited ({r['ours_best'] / n * 1e6:.0f} us/row)", n, r, "<= 3x, flat per row")
    # rows whose Id the base lacks (issue 27): not_found without building their values or the base's
    stray = edited.assign(Id=[f"O{8_000_000_000 + i}" for i in range(n)])
    r = compare(
        lambda: ot.plan_updates(stray, "Sandbox", base=base, progress=False),
        lambda: vectorised_compare(edited, base),
        repeat,
    )
    yield row("plan_updates, every row not in the base", n, r, "no slower than rows in it")


if __name__ == "__main__":
    run(case, [10_000])
