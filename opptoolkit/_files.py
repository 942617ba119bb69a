"""Write a file whole or not at all: a temporary file beside it, renamed over it once complete.

Readers see the old file or the new one, never half of one; a write that fails leaves no temporary
file behind, and its error names the file asked for, not the temporary one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["replacing"]


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path`` (folders made).

    Parameters
    ----------
    path : Path
        The file to write.

    Yields
    ------
    Path
        A hidden file in the same folder (so the rename is atomic), unique to this write.

    Raises
    ------
    IsADirectoryError
        ``path`` is a folder (before anything is written).
    OSError
        The write or the rename failed; ``filename`` is ``path``, and the temporary file is gone.

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "report.html"
    >>> with replacing(out) as tmp:
    ...     _ = tmp.write_text("<p>done</p>")
    >>> out.read_text(), sorted(p.name for p in out.parent.iterdir())
    ('<p>done</p>', ['report.html'])
    """
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.touch(exist_ok=False)  # a name or folder that takes no file fails here, before any writer starts
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        if e.errno is None or str(tmp) not in (str(e.filename), str(e.filename2)):
            raise
        raise OSError(e.errno, e.strerror, str(path)) from None  # the file asked for, never the temporary one
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):  # never there, or its name is what failed
        tmp.unlink()
