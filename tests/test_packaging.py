"""The wheel: what an analyst's ``pip install`` gets, built and installed in a throwaway venv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from opptoolkit.sandbox import SEED_PATH, load_seed
from opptoolkit.wire import dumps_record

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # builds a wheel and makes a venv (about 20 s)

_READ_SEED = """
import json, opptoolkit.sandbox as s
from opptoolkit.wire import dumps_record
print(json.dumps({"path": str(s.SEED_PATH), "records": [dumps_record(r) for r in s.load_seed()]}))
"""


def test_an_installed_wheel_serves_the_repositorys_seed(tmp_path: Path) -> None:
    # the sources a wheel is built from, copied so the build leaves nothing in the work tree
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "opptoolkit", src / "opptoolkit", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # no build isolation: the dev venv's setuptools (a dev dependency) builds it, with no download
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src], check=True)
    (wheel,) = (tmp_path / "dist").glob("opptoolkit-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)
    # the dependencies come from this venv's site-packages (a plain path: its .pth files, among them the
    # editable install of the work tree, are not read), the package from the wheel
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    out = subprocess.run([python, "-c", _READ_SEED], check=True, capture_output=True, text=True, cwd=tmp_path)
    installed = json.loads(out.stdout)
    assert Path(installed["path"]).is_relative_to(venv)  # the wheel's copy, not the work tree's
    assert Path(installed["path"]).read_bytes() == SEED_PATH.read_bytes()
    assert installed["records"] == [dumps_record(r) for r in load_seed()]
