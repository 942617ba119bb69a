"""A pipeline frame from and to a path: a Parquet pull, a mirror, an ``.xlsx`` / ``.csv`` sheet."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from ._files import replacing
from .exceptions import OpptoolkitError
from .mirror import MIRROR_FILE, read_mirror
from .sheets import Extra, Headers, read_sheet, remembers_export, write_sheet
from .sheets import write_results as write_results_workbook
from .storage import download, is_s3, written

__all__ = ["read_frame", "write_frame", "write_results"]


def read_frame(path: str | Path, *, extra: Extra = "keep") -> pd.DataFrame:
    """Return the frame stored at ``path``.

    A mirror (its folder, its ``s3://`` prefix or its old ``opportunities.parquet``), a ``.parquet`` pull, or an ``.xlsx`` / ``.csv``
    sheet.

    Parameters
    ----------
    path : str or Path
        Where the frame is.
    extra : {"keep", "error"}
        A sheet's columns that no field has (an analyst's "Notes"): kept (default; reading sends
        nothing), or refused (see :func:`opptoolkit.read_sheet`).

    Returns
    -------
    DataFrame
        One row per opportunity, columns as :func:`opptoolkit.to_frame` names them.

    Raises
    ------
    OpptoolkitError
        A folder with no mirror, or a file that cannot be read (:class:`opptoolkit.SheetError` for a sheet).

    Examples
    --------
    >>> import tempfile
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> from opptoolkit.client import read_opportunities
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:
    ...     df = read_opportunities("Sandbox", endpoint_url=sb.endpoint_url, identifiers=["O7000000001"],
    ...                             progress=False, reads_per_second=1000)
    >>> out = Path(tempfile.mkdtemp()) / "pipeline.csv"
    >>> _ = write_frame(df, out)
    >>> read_frame(out)["Id"].tolist()
    ['O7000000001']
    """
    text = str(path)
    if is_s3(text) and Path(text).suffix.lower() in (".parquet", ".xlsx", ".csv") and not text.endswith(MIRROR_FILE):
        with tempfile.TemporaryDirectory() as d:  # a workbook or a pull on S3: read from a local copy
            return read_frame(download(text, Path(d)), extra=extra)
    if is_s3(path):
        return read_mirror(path)
    p = Path(path)
    if p.is_dir() and not (p / MIRROR_FILE).is_file() and not (p / "_delta_log").is_dir():
        # read_mirror gives a folder with no mirror yet every column and no row: as a base, every row
        # would be "not found"; as a report, a report of nothing
        raise OpptoolkitError(
            f"{p} holds no mirror (no _delta_log): sync one there first (opptoolkit sync {p} --catalog ...), "
            "or give an exported file (.parquet, .xlsx, .csv)"
        )
    if p.is_dir() or p.name == MIRROR_FILE:
        return read_mirror(p)
    if p.suffix.lower() == ".parquet":
        try:
            return pd.read_parquet(p)
        except (pa.ArrowException, OSError) as e:
            if isinstance(e, FileNotFoundError):
                raise
            raise OpptoolkitError(f"{p} cannot be read as Parquet ({type(e).__name__}): export it again") from None
    return read_sheet(p, extra=extra)


def write_frame(
    df: pd.DataFrame,
    path: str | Path,
    *,
    headers: Headers | None = None,
    base: bool = False,
    solutions: pd.DataFrame | None = None,
    catalog: str | None = None,
    endpoint_url: str | None = None,
) -> Path | str:
    """Write ``df`` to ``path`` (a file, or ``s3://bucket/key``).

    ``.parquet`` as is (folders created), else a sheet (:func:`opptoolkit.write_sheet`, with ``headers``
    ``"path"`` or ``"label"``); returns the path. An ``s3://`` path is written locally, then uploaded whole.

    Parameters
    ----------
    df : pandas.DataFrame
        A flattened frame.
    path : str or Path
        ``.parquet``, ``.xlsx`` or ``.csv``.
    headers : {"label", "path"}, optional
        A sheet's headers: friendly labels (:func:`opptoolkit.label_for`) or field paths; by
        default labels in ``.xlsx`` and paths in ``.csv``, as :func:`opptoolkit.write_sheet` does.
    base : bool, default False
        An ``.xlsx`` that carries ``df`` as its export (:func:`opptoolkit.write_sheet`): only
        for the records as pulled.
    solutions : pandas.DataFrame, optional
        An ``.xlsx``'s Solutions sheet and dropdown (:func:`opptoolkit.write_sheet`).
    catalog, endpoint_url : str, optional
        Where the rows came from: an ``.xlsx``'s Read me names them in its push command
        (:func:`opptoolkit.write_sheet`).

    Returns
    -------
    Path or str
        The file written (its ``s3://`` URI for S3).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> out = write_frame(pd.DataFrame({"Id": ["O1"], "Catalog": ["Sandbox"]}), Path(tempfile.mkdtemp()) / "a.parquet")
    >>> pd.read_parquet(out)["Id"].tolist()
    ['O1']
    """
    if is_s3(path):
        with written(path) as local:
            write_frame(
                df, local, headers=headers, base=base, solutions=solutions, catalog=catalog, endpoint_url=endpoint_url
            )
        return str(path)
    p = Path(path)
    if p.suffix.lower() != ".parquet":
        xlsx = p.suffix.lower() == ".xlsx"
        return write_sheet(
            df,
            p,
            headers=headers,
            base=base,
            solutions=solutions if xlsx else None,
            catalog=catalog if xlsx else None,
            endpoint_url=endpoint_url if xlsx else None,
        )
    with replacing(p) as tmp:
        df.to_parquet(tmp)
    return p


def write_results(
    result: pd.DataFrame,
    edited: str | Path,
    path: str | Path | None = None,
    *,
    base: Any = None,
    blank: str = "keep",
    complete: bool = True,
    catalog: str | None = None,
    endpoint_url: str | None = None,
) -> Path:
    """Write the outcome of a push (or a plan) into a copy of the edited workbook: ``<name>.results.xlsx``.

    :func:`opptoolkit.sheets.write_results`, with ``base`` also any path :func:`read_frame` reads (a mirror
    folder, a ``.parquet``); see there for the workbook and the other parameters.

    Parameters
    ----------
    result : DataFrame
        What :func:`opptoolkit.push_updates` or :func:`opptoolkit.plan_updates` returned for ``edited``.
    edited : str or Path
        The edited ``.xlsx`` / ``.csv`` that was pushed or planned.
    path : str or Path, optional
        Where to write; default ``<name>.results.xlsx`` beside ``edited``.
    base : DataFrame, path or None
        The base the push used when it was not the one the workbook carries (``--base``).
    blank : {"keep", "clear"}
        The push's blank-cell policy.
    complete : bool
        False when the push stopped before the end.
    catalog, endpoint_url : str, optional
        Where the push went, for the push command the workbook's Read me gives.

    Returns
    -------
    Path
        The results workbook.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> folder = Path(tempfile.mkdtemp())
    >>> df = pd.DataFrame({"Id": ["O1"], "LastModifiedDate": pd.to_datetime(["2026-01-31T09:30:00Z"]),
    ...                    "Project.Title": ["Data lake"]})
    >>> _ = write_frame(df, folder / "export.parquet")
    >>> edited = write_frame(df.assign(**{"Project.Title": ["Data lake, phase 2"]}), folder / "edits.csv")
    >>> plan = pd.DataFrame({"row": ["2"], "Id": ["O1"], "action": ["update"], "note": [""], "changes": [[]],
    ...                      "errors": [[]], "warnings": [[]]})
    >>> write_results(plan, edited, base=folder / "export.parquet").name
    'edits.results.xlsx'
    """
    if isinstance(base, (str, Path)) and not remembers_export(base):  # a mirror, a .parquet, a plain sheet
        base = read_frame(base, extra="keep")
    return write_results_workbook(
        result, edited, path, base=base, blank=blank, complete=complete, catalog=catalog, endpoint_url=endpoint_url
    )
